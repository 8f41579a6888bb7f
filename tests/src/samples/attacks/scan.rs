//! Reconnaissance and exposed management: an OPTIONS sweep by a scanning tool, and management, database and
//! provisioning traffic next to the PBX.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use super::wire::{Cap, MS, PBX, Req, Rng, SEC, T0, Tcp};

/// 203.0.113.50 sweeps 10.20.0.1-30 with sipvicious `friendly-scanner` OPTIONS; four hosts answer 200 and name
/// their software.
pub fn scanner_sweep(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x50);
    let atk = Ipv4Addr::new(203, 0, 113, 50);
    let start = T0 + 3 * 3600 * SEC + 12 * 60 * SEC;
    for h in 1..=30u8 {
        let host = Ipv4Addr::new(10, 20, 0, h);
        let ts = start + i64::from(h) * 40 * MS;
        let r = Req::new(
            "OPTIONS",
            &format!("sip:100@{host}"),
            &format!(
                "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bK-{};rport",
                rng.next() % 10_000_000_000
            ),
            &format!("\"sipvicious\"<sip:100@1.1.1.1>;tag={}", rng.hex(24)),
            "\"sipvicious\"<sip:100@1.1.1.1>",
            &format!("{}", rng.next() % 10_000_000_000),
        )
        .hdr("Contact", "<sip:100@203.0.113.50:5060>")
        .hdr("Accept", "application/sdp")
        .hdr("User-Agent", "friendly-scanner");
        cap.sip(ts, atk, host, &r.text());
        if matches!(h, 4 | 12 | 23 | 27) {
            cap.sip(
                ts + 3 * MS,
                host,
                atk,
                &r.reply(
                    200,
                    "OK",
                    Some(&rng.hex(8)),
                    "Server: Asterisk PBX 16.2.1\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, \
                     NOTIFY, INFO, PUBLISH, MESSAGE\r\nSupported: replaces, timer\r\nAccept: application/sdp\r\n",
                ),
            );
        }
    }
    cap.write(out)
}

/// A MySQL wire packet: 3-byte little-endian length, sequence number, payload.
fn mysql(seq: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut p = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8, seq];
    p.extend_from_slice(payload);
    p
}

/// Asterisk AMI logged into from 203.0.113.90 (credentials and an Originate in clear), the PBX's realtime
/// configuration read from MySQL at 10.0.0.5, and a phone fetching its configuration over TFTP.
pub fn management_ports(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let start = T0 + 13 * 3600 * SEC;

    // AMI from the internet.
    let mut ami = Tcp::new(
        Ipv4Addr::new(203, 0, 113, 90),
        51_234,
        PBX,
        5038,
        0x1000_0001,
    );
    let t = start;
    ami.open(&mut cap, t);
    ami.send(
        &mut cap,
        t + 5 * MS,
        false,
        b"Asterisk Call Manager/5.0.1\r\n",
    );
    ami.send(
        &mut cap,
        t + 60 * MS,
        true,
        b"Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: amp111\r\n\r\n",
    );
    ami.send(
        &mut cap,
        t + 70 * MS,
        false,
        b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n",
    );
    ami.send(
        &mut cap,
        t + 400 * MS,
        true,
        b"Action: Originate\r\nActionID: 2\r\nChannel: SIP/trunk/0088213000111\r\nContext: from-internal\r\n\
          Exten: 2000\r\nPriority: 1\r\nAsync: true\r\n\r\n",
    );
    ami.send(
        &mut cap,
        t + 410 * MS,
        false,
        b"Response: Success\r\nActionID: 2\r\nMessage: Originate successfully queued\r\n\r\n",
    );
    ami.send(
        &mut cap,
        t + 900 * MS,
        true,
        b"Action: Logoff\r\nActionID: 3\r\n\r\n",
    );
    ami.send(
        &mut cap,
        t + 905 * MS,
        false,
        b"Response: Goodbye\r\nActionID: 3\r\nMessage: Thanks for all the fish.\r\n\r\n",
    );
    ami.close(&mut cap, t + 910 * MS);

    // The PBX reads SIP peers (with their secrets) from MySQL in clear.
    let db = Ipv4Addr::new(10, 0, 0, 5);
    let mut my = Tcp::new(PBX, 42_100, db, 3306, 0x2000_0002);
    let t = start + 20 * SEC;
    my.open(&mut cap, t);
    let mut greet = vec![10u8];
    greet.extend_from_slice(b"5.5.68-MariaDB\0");
    greet.extend_from_slice(&42u32.to_le_bytes());
    greet.extend_from_slice(b"Kx3#p9Qa\0");
    greet.extend_from_slice(&[0xff, 0xf7, 0x08, 0x02, 0x00, 0x0f, 0xa0, 21]);
    greet.extend_from_slice(&[0; 10]);
    greet.extend_from_slice(b"m2Zr8Lw4Vn7e\0mysql_native_password\0");
    my.send(&mut cap, t + 2 * MS, false, &mysql(0, &greet));
    let mut login = Vec::new();
    login.extend_from_slice(&0x000a_a20du32.to_le_bytes());
    login.extend_from_slice(&16_777_216u32.to_le_bytes());
    login.push(8);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(b"asterisk\0");
    login.push(20);
    let mut rng = Rng::new(0x3306);
    for _ in 0..20 {
        login.push(rng.next() as u8);
    }
    login.extend_from_slice(b"asterisk\0");
    my.send(&mut cap, t + 5 * MS, true, &mysql(1, &login));
    my.send(
        &mut cap,
        t + 8 * MS,
        false,
        &mysql(2, &[0, 0, 0, 2, 0, 0, 0]),
    );
    let mut q = vec![3u8];
    q.extend_from_slice(b"SELECT name, secret, context FROM sippeers WHERE name = '2001'");
    my.send(&mut cap, t + 10 * MS, true, &mysql(0, &q));
    my.send(
        &mut cap,
        t + 13 * MS,
        false,
        &mysql(1, &[0, 0, 0, 2, 0, 0, 0]),
    );
    my.send(&mut cap, t + 15 * MS, true, &mysql(0, &[1]));
    my.close(&mut cap, t + 16 * MS);

    // A phone fetches its configuration over TFTP.
    let phone = Ipv4Addr::new(10, 0, 0, 31);
    let t = start + 40 * SEC;
    let mut rrq = vec![0u8, 1];
    rrq.extend_from_slice(b"SEP001122334455.cnf.xml\0octet\0");
    cap.udp(t, phone, 49_152, db, 69, &rrq);
    let xml = b"<device><sipProfile><sipLines><line><featureLabel>2031</featureLabel><name>2031</name>\
<authName>2031</authName><authPassword>2031secret</authPassword><proxy>10.0.0.1</proxy></line></sipLines>\
</sipProfile></device>\n";
    let mut data = vec![0u8, 3, 0, 1];
    data.extend_from_slice(xml);
    cap.udp(t + 2 * MS, db, 50_000, phone, 49_152, &data);
    cap.udp(t + 3 * MS, phone, 49_152, db, 50_000, &[0, 4, 0, 1]);
    cap.write(out)
}
