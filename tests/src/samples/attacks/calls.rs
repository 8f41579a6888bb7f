//! Call-level attacks: toll fraud at night, forged and hostile INVITEs, an INVITE flood, a voicemail PIN typed in
//! clear, and routing loops.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use super::wire::{Cap, MS, PBX, Req, Rng, SEC, T0, rtp, sdp, tone};

/// An answered or rejected call from `ip` (user `from_user`) to `number` through the PBX: INVITE → 100 → 180 →
/// 200 → ACK … BYE → 200, or INVITE → 100 → 180 → `reject` → ACK. No media.
#[allow(clippy::too_many_arguments)]
fn pbx_call(
    cap: &mut Cap,
    rng: &mut Rng,
    ts: i64,
    ip: Ipv4Addr,
    from_user: &str,
    number: &str,
    talk_secs: Option<i64>,
    reject: (u16, &str),
) {
    let uri = format!("sip:{number}@10.0.0.1");
    let tag = rng.hex(8);
    let call_id = format!("{}@{ip}", rng.hex(16));
    let inv = Req::new(
        "INVITE",
        &uri,
        &format!("SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{}", rng.hex(10)),
        &format!("\"{from_user}\" <sip:{from_user}@10.0.0.1>;tag={tag}"),
        &format!("<{uri}>"),
        &call_id,
    )
    .hdr("Contact", &format!("<sip:{from_user}@{ip}:5060>"))
    .sdp(sdp(
        ip,
        11_000 + (rng.next() % 1000) as u16 * 2,
        rng.next() % 100_000,
    ));
    cap.sip(ts, ip, PBX, &inv.text());
    cap.sip(ts + 3 * MS, PBX, ip, &inv.reply(100, "Trying", None, ""));
    let totag = rng.hex(8);
    cap.sip(
        ts + 700 * MS,
        PBX,
        ip,
        &inv.reply(180, "Ringing", Some(&totag), ""),
    );
    let Some(talk) = talk_secs else {
        let t = ts + 9 * SEC;
        cap.sip(t, PBX, ip, &inv.reply(reject.0, reject.1, Some(&totag), ""));
        cap.sip(t + 20 * MS, ip, PBX, &inv.ack(&totag));
        return;
    };
    let t = ts + 4 * SEC;
    cap.sip(
        t,
        PBX,
        ip,
        &inv.reply_body(
            200,
            "OK",
            Some(&totag),
            &format!("Contact: <{uri}:5060>\r\n"),
            Some((
                "application/sdp".into(),
                sdp(
                    PBX,
                    18_000 + (rng.next() % 1000) as u16 * 2,
                    rng.next() % 100_000,
                ),
            )),
        ),
    );
    let dialog = |method: &str, cseq: u32, branch: String| {
        let mut r = Req::new(
            method,
            &format!("{uri}:5060"),
            &format!("SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{branch}"),
            &format!("\"{from_user}\" <sip:{from_user}@10.0.0.1>;tag={tag}"),
            &format!("<{uri}>;tag={totag}"),
            &call_id,
        );
        r.cseq = cseq;
        r
    };
    cap.sip(t + 25 * MS, ip, PBX, &dialog("ACK", 1, rng.hex(10)).text());
    let bye = dialog("BYE", 2, rng.hex(10));
    cap.sip(t + talk * SEC, ip, PBX, &bye.text());
    cap.sip(
        t + talk * SEC + 3 * MS,
        PBX,
        ip,
        &bye.reply(200, "OK", None, ""),
    );
}

/// At 02:00 UTC account 2005 (10.0.0.25) places 12 calls in 4.5 minutes to a satellite number and two premium
/// 0900 numbers; 8 are answered for 60-120 s.
pub fn toll_fraud_night(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x2005);
    let phone = Ipv4Addr::new(10, 0, 0, 25);
    let start = T0 + 2 * 3600 * SEC;
    let numbers = [
        "+88213000111",
        "0900123456",
        "+88213000111",
        "+88213000111",
        "0900765432",
        "+88213000111",
        "+88213000111",
        "0900123456",
        "+88213000111",
        "0900765432",
        "+88213000111",
        "0900123456",
    ];
    for (i, n) in numbers.iter().enumerate() {
        let i = i as i64;
        let talk = (!matches!(i, 2 | 6 | 9 | 11)).then_some(60 + (i * 17) % 61);
        let reject = if i % 2 == 0 {
            (486, "Busy Here")
        } else {
            (480, "Temporarily Unavailable")
        };
        pbx_call(
            &mut cap,
            &mut rng,
            start + i * 24 * SEC,
            phone,
            "2005",
            n,
            talk,
            reject,
        );
    }
    cap.write(out)
}

/// One hostile INVITE: Via value (without branch), From (without tag), Call-ID, extra headers.
type Case = (String, String, String, Vec<(&'static str, String)>);

/// Forged and hostile INVITEs from 203.0.113.70, each rejected by the PBX.
pub fn spoofing_injection(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x70);
    let atk = Ipv4Addr::new(203, 0, 113, 70);
    let start = T0 + 14 * 3600 * SEC;
    let own_via = "SIP/2.0/UDP 203.0.113.70:5060";
    // (Via sent-by, From, Call-ID, extra header lines)
    let long = "A".repeat(2000);
    let cases: Vec<Case> = vec![
        // A request forged to look as if the PBX sent it to itself, with a loopback Contact.
        (
            "SIP/2.0/UDP 10.0.0.1:5060".into(),
            "\"1000\" <sip:1000@10.0.0.1>".into(),
            "forged-via-1".into(),
            vec![("Contact", "<sip:1000@127.0.0.1:5060>".into())],
        ),
        // An authority's name as the display name.
        (
            own_via.into(),
            "\"Police Department\" <sip:110@203.0.113.70>".into(),
            "police-2".into(),
            vec![],
        ),
        // From and P-Asserted-Identity disagree.
        (
            own_via.into(),
            "\"Bank Security\" <sip:+4930555000@203.0.113.70>".into(),
            "pai-3".into(),
            vec![(
                "P-Asserted-Identity",
                "<sip:+4930999888@carrier.example>".into(),
            )],
        ),
        // SQL injection in the display name.
        (
            own_via.into(),
            "\"x' OR '1'='1\" <sip:100@203.0.113.70>".into(),
            "sqli-4".into(),
            vec![],
        ),
        // Script in the User-Agent.
        (
            own_via.into(),
            "<sip:101@203.0.113.70>".into(),
            "xss-5".into(),
            vec![(
                "User-Agent",
                "<script>alert(document.cookie)</script>".into(),
            )],
        ),
        // A format string in Subject.
        (
            own_via.into(),
            "<sip:102@203.0.113.70>".into(),
            "fmt-6".into(),
            vec![("Subject", "%s%s%s%s%n".into())],
        ),
        // Shell command substitution in the display name.
        (
            own_via.into(),
            "\"$(reboot)\" <sip:103@203.0.113.70>".into(),
            "shell-7".into(),
            vec![],
        ),
        // A right-to-left override: shown as "Admin exe.txt" style reversal.
        (
            own_via.into(),
            "\"Invoice\u{202e}fdp.exe\" <sip:104@203.0.113.70>".into(),
            "bidi-8".into(),
            vec![],
        ),
        // ANSI escapes that clear and recolour a terminal showing the log.
        (
            own_via.into(),
            "\"\u{1b}[2J\u{1b}[31mSYSTEM\" <sip:105@203.0.113.70>".into(),
            "ansi-9".into(),
            vec![],
        ),
        // A 2000-character header value.
        (
            own_via.into(),
            "<sip:106@203.0.113.70>".into(),
            "long-10".into(),
            vec![("X-Padding", long)],
        ),
        // Call-IDs aimed at file paths and shells.
        (
            own_via.into(),
            "<sip:107@203.0.113.70>".into(),
            "../../../../etc/passwd".into(),
            vec![],
        ),
        (
            own_via.into(),
            "<sip:108@203.0.113.70>".into(),
            "abc;reboot;@203.0.113.70".into(),
            vec![],
        ),
    ];
    for (i, (via, from, call_id, extra)) in cases.into_iter().enumerate() {
        let ts = start + i as i64 * 2 * SEC;
        let callee = 2000 + i;
        let mut inv = Req::new(
            "INVITE",
            &format!("sip:{callee}@10.0.0.1"),
            &format!("{via};branch=z9hG4bK{}", rng.hex(10)),
            &format!("{from};tag={}", rng.hex(8)),
            &format!("<sip:{callee}@10.0.0.1>"),
            &call_id,
        );
        let mut contact = false;
        for (name, value) in &extra {
            contact |= *name == "Contact";
            inv = inv.hdr(name, value);
        }
        if !contact {
            inv = inv.hdr("Contact", "<sip:attacker@203.0.113.70:5060>");
        }
        cap.sip(ts, atk, PBX, &inv.text());
        let tag = rng.hex(8);
        cap.sip(
            ts + 3 * MS,
            PBX,
            atk,
            &inv.reply(403, "Forbidden", Some(&tag), ""),
        );
    }
    cap.write(out)
}

/// 203.0.113.77 sends 600 INVITEs in the first second, then 150 per second for 5 s; every one answered 503.
pub fn invite_flood(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x77);
    let atk = Ipv4Addr::new(203, 0, 113, 77);
    let start = T0 + 23 * 3600 * SEC;
    let mut times = Vec::new();
    for i in 0..600i64 {
        times.push(start + i * SEC / 600);
    }
    for s in 1..=5i64 {
        for i in 0..150i64 {
            times.push(start + s * SEC + i * SEC / 150);
        }
    }
    for (n, ts) in times.into_iter().enumerate() {
        let ext = 1000 + n % 500;
        let r = Req::new(
            "INVITE",
            &format!("sip:{ext}@10.0.0.1"),
            &format!("SIP/2.0/UDP 203.0.113.77:5060;branch=z9hG4bK{}", rng.hex(8)),
            &format!("<sip:{n}@203.0.113.77>;tag={}", rng.hex(6)),
            &format!("<sip:{ext}@10.0.0.1>"),
            &format!("{}", rng.next() % 1_000_000_000_000),
        )
        .hdr("Contact", &format!("<sip:{n}@203.0.113.77:5060>"));
        cap.sip(ts, atk, PBX, &r.text());
        cap.sip(
            ts + 700_000,
            PBX,
            atk,
            &r.reply(503, "Service Unavailable", Some(&rng.hex(6)), ""),
        );
    }
    cap.write(out)
}

/// RFC 4733 telephone-event packets for one key press: start (marker) and updates every 20 ms, then three end
/// packets (the caller stamps them all with the event's start timestamp).
fn dtmf_packets(event: u8, updates: u16) -> Vec<(bool, Vec<u8>)> {
    let mut v = Vec::new();
    for k in 1..=updates {
        let d = k * 160;
        v.push((k == 1, vec![event, 0x0a, (d >> 8) as u8, d as u8]));
    }
    let d = updates * 160;
    for _ in 0..3 {
        v.push((false, vec![event, 0x8a, (d >> 8) as u8, d as u8]));
    }
    v
}

/// Phone 10.0.0.30 calls voicemail `*97`, types the PIN 1357 and `#` as RFC 4733 events and then 9 in a SIP INFO.
pub fn voicemail_pin(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x97);
    let phone = Ipv4Addr::new(10, 0, 0, 30);
    let (pport, xport) = (16_000u16, 18_000u16);
    let start = T0 + 9 * 3600 * SEC + 15 * 60 * SEC;
    let uri = "sip:*97@10.0.0.1";
    let tag = rng.hex(8);
    let call_id = format!("{}@10.0.0.30", rng.hex(16));
    let agent = "Grandstream GXP2170 1.0.11.3";
    let inv = Req::new(
        "INVITE",
        uri,
        &format!("SIP/2.0/UDP 10.0.0.30:5060;branch=z9hG4bK{}", rng.hex(10)),
        &format!("\"2030\" <sip:2030@10.0.0.1>;tag={tag}"),
        &format!("<{uri}>"),
        &call_id,
    )
    .hdr("Contact", "<sip:2030@10.0.0.30:5060>")
    .hdr("User-Agent", agent)
    .sdp(sdp(phone, pport, 2030));
    cap.sip(start, phone, PBX, &inv.text());
    cap.sip(
        start + 3 * MS,
        PBX,
        phone,
        &inv.reply(100, "Trying", None, ""),
    );
    let totag = rng.hex(8);
    let answer = start + 200 * MS;
    cap.sip(
        answer,
        PBX,
        phone,
        &inv.reply_body(
            200,
            "OK",
            Some(&totag),
            "Contact: <sip:*97@10.0.0.1:5060>\r\n",
            Some(("application/sdp".into(), sdp(PBX, xport, 9700))),
        ),
    );
    let dialog = |method: &str, cseq: u32, branch: String| {
        let mut r = Req::new(
            method,
            "sip:*97@10.0.0.1:5060",
            &format!("SIP/2.0/UDP 10.0.0.30:5060;branch=z9hG4bK{branch}"),
            &format!("\"2030\" <sip:2030@10.0.0.1>;tag={tag}"),
            &format!("<{uri}>;tag={totag}"),
            &call_id,
        );
        r.cseq = cseq;
        r.hdr("User-Agent", agent)
    };
    cap.sip(
        answer + 20 * MS,
        phone,
        PBX,
        &dialog("ACK", 1, rng.hex(10)).text(),
    );

    // Media: 8 s each way from answer + 40 ms. The PBX plays a prompt (a 440 Hz tone); the phone sends quiet
    // audio, replaced by telephone-events while a key is held.
    let media = answer + 40 * MS;
    let packets = 400u32;
    let (ssrc_p, ssrc_x) = (0x2030_0001u32, 0x9700_0002u32);
    for n in 0..packets {
        let ts = media + i64::from(n) * 20 * MS + 7 * MS;
        let p = rtp(
            0,
            n == 0,
            3000 + n as u16,
            80_000 + n * 160,
            ssrc_x,
            &tone(n, 440.0, 6000.0),
        );
        cap.udp(ts, PBX, xport, phone, pport, &p);
    }
    // Keys: 1 3 5 7 # (events 1, 3, 5, 7, 11) starting at packets 100, 130, 160, 190, 220; held 100 ms.
    let keys: [(u8, u32); 5] = [(1, 100), (3, 130), (5, 160), (7, 190), (11, 220)];
    let mut seq = 5000u16;
    let mut n = 0u32;
    while n < packets {
        let ts = media + i64::from(n) * 20 * MS;
        if let Some(&(event, _)) = keys.iter().find(|k| k.1 == n) {
            let event_ts = 40_000 + n * 160;
            let pk = dtmf_packets(event, 5);
            for (k, (marker, payload)) in pk.iter().enumerate() {
                let t = ts + (k.min(4) as i64) * 20 * MS + (k.saturating_sub(4) as i64) * 5 * MS;
                cap.udp(
                    t,
                    phone,
                    pport,
                    PBX,
                    xport,
                    &rtp(101, *marker, seq, event_ts, ssrc_p, payload),
                );
                seq = seq.wrapping_add(1);
            }
            n += 5;
            continue;
        }
        let p = rtp(
            0,
            n == 0,
            seq,
            40_000 + n * 160,
            ssrc_p,
            &tone(n, 300.0, 200.0),
        );
        cap.udp(ts, phone, pport, PBX, xport, &p);
        seq = seq.wrapping_add(1);
        n += 1;
    }
    // A digit by SIP INFO (dtmf-relay) at 5.5 s.
    let info = dialog("INFO", 2, rng.hex(10));
    let mut info = info;
    info.body = Some((
        "application/dtmf-relay".into(),
        "Signal=9\r\nDuration=160\r\n".into(),
    ));
    let t = media + 5500 * MS;
    cap.sip(t, phone, PBX, &info.text());
    cap.sip(t + 4 * MS, PBX, phone, &info.reply(200, "OK", None, ""));
    let bye = dialog("BYE", 3, rng.hex(10));
    let t = media + i64::from(packets) * 20 * MS + 30 * MS;
    cap.sip(t, phone, PBX, &bye.text());
    cap.sip(t + 4 * MS, PBX, phone, &bye.reply(200, "OK", None, ""));
    cap.write(out)
}

/// An INVITE looping between proxies 10.0.0.1 and 10.0.0.2 until Max-Forwards is spent (483 back along the
/// chain), and a second INVITE that returns to 10.0.0.1 with its own Via on it (482).
pub fn routing_loop(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x483);
    let p1 = PBX;
    let p2 = Ipv4Addr::new(10, 0, 0, 2);
    let start = T0 + 11 * 3600 * SEC;

    // Call 1: the phone 10.0.0.40 → 10.0.0.1 → 10.0.0.2 → 10.0.0.1 → … (each hop adds a Via, Max-Forwards − 1).
    let phone = Ipv4Addr::new(10, 0, 0, 40);
    let mut inv = Req::new(
        "INVITE",
        "sip:5555@example.org",
        &format!("SIP/2.0/UDP 10.0.0.40:5060;branch=z9hG4bK{}", rng.hex(10)),
        &format!("\"2040\" <sip:2040@example.org>;tag={}", rng.hex(8)),
        "<sip:5555@example.org>",
        &format!("{}@10.0.0.40", rng.hex(16)),
    )
    .hdr("Contact", "<sip:2040@10.0.0.40:5060>");
    let mut path = vec![phone];
    let mut ts = start;
    let mut hops = Vec::new();
    cap.sip(ts, phone, p1, &inv.text());
    hops.push(inv.clone());
    let mut at = p1;
    while inv.max_forwards > 0 {
        let next = if at == p1 { p2 } else { p1 };
        inv.max_forwards -= 1;
        inv.vias.insert(
            0,
            format!("SIP/2.0/UDP {at}:5060;branch=z9hG4bK{}", rng.hex(10)),
        );
        ts += 2 * MS;
        cap.sip(ts, at, next, &inv.text());
        hops.push(inv.clone());
        path.push(at);
        at = next;
    }
    // `at` received Max-Forwards: 0 and answers 483; each hop passes it back.
    let tag = rng.hex(8);
    let mut from = at;
    for (req, to) in hops.iter().rev().zip(path.iter().rev()) {
        ts += 2 * MS;
        cap.sip(
            ts,
            from,
            *to,
            &req.reply(483, "Too Many Hops", Some(&tag), ""),
        );
        from = *to;
    }
    ts += 20 * MS;
    cap.sip(ts, phone, p1, &hops[0].ack(&tag));

    // Call 2: 10.0.0.41 → 10.0.0.1 → 10.0.0.2 → back to 10.0.0.1, which finds its own branch on top-but-one: 482.
    let phone2 = Ipv4Addr::new(10, 0, 0, 41);
    let ts = start + 30 * SEC;
    let a = Req::new(
        "INVITE",
        "sip:6000@example.org",
        &format!("SIP/2.0/UDP 10.0.0.41:5060;branch=z9hG4bK{}", rng.hex(10)),
        &format!("\"2041\" <sip:2041@example.org>;tag={}", rng.hex(8)),
        "<sip:6000@example.org>",
        &format!("{}@10.0.0.41", rng.hex(16)),
    )
    .hdr("Contact", "<sip:2041@10.0.0.41:5060>");
    let own = format!("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{}", rng.hex(10));
    let mut b = a.clone();
    b.max_forwards = 69;
    b.vias.insert(0, own);
    let mut c = b.clone();
    c.max_forwards = 68;
    c.vias.insert(
        0,
        format!("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{}", rng.hex(10)),
    );
    cap.sip(ts, phone2, p1, &a.text());
    cap.sip(ts + 2 * MS, p1, p2, &b.text());
    cap.sip(ts + 4 * MS, p2, p1, &c.text());
    let tag = rng.hex(8);
    cap.sip(
        ts + 6 * MS,
        p1,
        p2,
        &c.reply(482, "Loop Detected", Some(&tag), ""),
    );
    cap.sip(
        ts + 8 * MS,
        p2,
        p1,
        &b.reply(482, "Loop Detected", Some(&tag), ""),
    );
    cap.sip(
        ts + 10 * MS,
        p1,
        phone2,
        &a.reply(482, "Loop Detected", Some(&tag), ""),
    );
    cap.sip(ts + 30 * MS, phone2, p1, &a.ack(&tag));
    cap.write(out)
}
