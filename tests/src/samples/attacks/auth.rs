//! Registration and authentication attacks: enumeration, password guessing, weak passwords, challenge floods and a
//! hijacked registration.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use super::wire::{Cap, MS, PBX, Req, Rng, SEC, T0, authorization, challenge, sdp};

const REALM: &str = "asterisk";

/// A REGISTER for `user` at the PBX from `ip`.
fn register(user: &str, ip: Ipv4Addr, branch: &str, tag: &str, call_id: &str, cseq: u32) -> Req {
    let mut r = Req::new(
        "REGISTER",
        "sip:10.0.0.1",
        &format!("SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{branch};rport"),
        &format!("<sip:{user}@10.0.0.1>;tag={tag}"),
        &format!("<sip:{user}@10.0.0.1>"),
        call_id,
    )
    .hdr("Contact", &format!("<sip:{user}@{ip}:5060>"))
    .hdr("Expires", "3600");
    r.cseq = cseq;
    r
}

/// 203.0.113.51 walks extensions 100-199 with REGISTER (sipvicious svwar style); the PBX answers 404 except for
/// 101, 120 and 150, which exist and are challenged.
pub fn extension_enumeration(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x51);
    let atk = Ipv4Addr::new(203, 0, 113, 51);
    let start = T0 + 4 * 3600 * SEC;
    for (i, ext) in (100..200u32).enumerate() {
        let ts = start + i as i64 * 700 * MS;
        let user = ext.to_string();
        let r = register(
            &user,
            atk,
            &rng.hex(10),
            &rng.hex(8),
            &format!("{}", rng.next() % 10_000_000_000),
            1,
        )
        .hdr("User-Agent", "friendly-scanner");
        cap.sip(ts, atk, PBX, &r.text());
        let resp = if matches!(ext, 101 | 120 | 150) {
            r.reply(
                401,
                "Unauthorized",
                Some(&rng.hex(8)),
                &format!(
                    "WWW-Authenticate: {}\r\nServer: Asterisk PBX\r\n",
                    challenge(REALM, &rng.hex(8))
                ),
            )
        } else {
            r.reply(
                404,
                "Not Found",
                Some(&rng.hex(8)),
                "Server: Asterisk PBX\r\n",
            )
        };
        cap.sip(ts + 2 * MS, PBX, atk, &resp);
    }
    cap.write(out)
}

/// The wrong passwords the guesser tries, in order (80 of them).
fn guesses() -> Vec<String> {
    let base = [
        "123456", "password", "2001", "1234", "12345", "admin", "qwerty", "111111", "000000",
        "1111", "abc123", "secret", "pass", "voip", "sip", "asterisk", "letmein", "welcome",
        "changeme", "default",
    ];
    (0..80)
        .map(|i| match i / base.len() {
            0 => base[i].to_string(),
            k => format!("{}{k}", base[i % base.len()]),
        })
        .collect()
}

/// 198.51.100.23 guesses user 2001's password (80 wrong digest answers, then the right one), then calls a
/// satellite number through the PBX with the cracked account.
pub fn brute_force_success(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x23);
    let atk = Ipv4Addr::new(198, 51, 100, 23);
    let start = T0 + 3600 * SEC;
    let mut passwords = guesses();
    passwords.push("2001pass".into());
    let mut ts = start;
    for (i, pw) in passwords.iter().enumerate() {
        let right = i + 1 == passwords.len();
        let call_id = format!("{}@198.51.100.23", rng.hex(16));
        let tag = rng.hex(8);
        let r1 = register("2001", atk, &rng.hex(10), &tag, &call_id, 1);
        cap.sip(ts, atk, PBX, &r1.text());
        let nonce = rng.hex(8);
        cap.sip(
            ts + 2 * MS,
            PBX,
            atk,
            &r1.reply(
                401,
                "Unauthorized",
                Some(&rng.hex(8)),
                &format!("WWW-Authenticate: {}\r\n", challenge(REALM, &nonce)),
            ),
        );
        let auth = authorization(
            "2001",
            REALM,
            pw,
            "REGISTER",
            "sip:10.0.0.1",
            &nonce,
            &rng.hex(8),
        );
        let r2 = register("2001", atk, &rng.hex(10), &tag, &call_id, 2).hdr("Authorization", &auth);
        cap.sip(ts + 40 * MS, atk, PBX, &r2.text());
        let resp = if right {
            r2.reply(
                200,
                "OK",
                Some(&rng.hex(8)),
                "Contact: <sip:2001@198.51.100.23:5060>;expires=3600\r\n",
            )
        } else if i % 4 == 3 {
            r2.reply(403, "Forbidden", Some(&rng.hex(8)), "")
        } else {
            r2.reply(
                401,
                "Unauthorized",
                Some(&rng.hex(8)),
                &format!("WWW-Authenticate: {}\r\n", challenge(REALM, &rng.hex(8))),
            )
        };
        cap.sip(ts + 42 * MS, PBX, atk, &resp);
        ts += 1500 * MS;
    }
    // The call: INVITE → 401 → ACK → INVITE with credentials → 100 → 180 → 200 → ACK; BYE after 95 s.
    let ts = ts + 20 * SEC;
    let number = "+8821600123456";
    let uri = format!("sip:{number}@10.0.0.1");
    let call_id = format!("{}@198.51.100.23", rng.hex(16));
    let tag = rng.hex(8);
    let mut inv = Req::new(
        "INVITE",
        &uri,
        &format!(
            "SIP/2.0/UDP 198.51.100.23:5060;branch=z9hG4bK{}",
            rng.hex(10)
        ),
        &format!("\"2001\" <sip:2001@10.0.0.1>;tag={tag}"),
        &format!("<{uri}>"),
        &call_id,
    )
    .hdr("Contact", "<sip:2001@198.51.100.23:5060>")
    .sdp(sdp(atk, 10_000, 1));
    cap.sip(ts, atk, PBX, &inv.text());
    let nonce = rng.hex(8);
    let t401 = rng.hex(8);
    cap.sip(
        ts + 3 * MS,
        PBX,
        atk,
        &inv.reply(
            401,
            "Unauthorized",
            Some(&t401),
            &format!("WWW-Authenticate: {}\r\n", challenge(REALM, &nonce)),
        ),
    );
    cap.sip(ts + 40 * MS, atk, PBX, &inv.ack(&t401));
    inv.cseq = 2;
    inv.vias = vec![format!(
        "SIP/2.0/UDP 198.51.100.23:5060;branch=z9hG4bK{}",
        rng.hex(10)
    )];
    inv = inv.hdr(
        "Authorization",
        &authorization(
            "2001",
            REALM,
            "2001pass",
            "INVITE",
            &uri,
            &nonce,
            &rng.hex(8),
        ),
    );
    let t = ts + 80 * MS;
    cap.sip(t, atk, PBX, &inv.text());
    cap.sip(t + 5 * MS, PBX, atk, &inv.reply(100, "Trying", None, ""));
    let totag = rng.hex(8);
    cap.sip(
        t + 900 * MS,
        PBX,
        atk,
        &inv.reply(180, "Ringing", Some(&totag), ""),
    );
    cap.sip(
        t + 6 * SEC,
        PBX,
        atk,
        &inv.reply_body(
            200,
            "OK",
            Some(&totag),
            "Contact: <sip:+8821600123456@10.0.0.1:5060>\r\n",
            Some(("application/sdp".into(), sdp(PBX, 18_000, 2))),
        ),
    );
    let dialog = |method: &str, cseq: u32, branch: String| {
        let mut r = Req::new(
            method,
            "sip:+8821600123456@10.0.0.1:5060",
            &format!("SIP/2.0/UDP 198.51.100.23:5060;branch=z9hG4bK{branch}"),
            &format!("\"2001\" <sip:2001@10.0.0.1>;tag={tag}"),
            &format!("<{uri}>;tag={totag}"),
            &call_id,
        );
        r.cseq = cseq;
        r
    };
    cap.sip(
        t + 6 * SEC + 30 * MS,
        atk,
        PBX,
        &dialog("ACK", 2, rng.hex(10)).text(),
    );
    let bye = dialog("BYE", 3, rng.hex(10));
    cap.sip(t + 101 * SEC, atk, PBX, &bye.text());
    cap.sip(
        t + 101 * SEC + 4 * MS,
        PBX,
        atk,
        &bye.reply(200, "OK", None, ""),
    );
    cap.write(out)
}

/// One digest registration: REGISTER → 401 → REGISTER with credentials → 200.
fn digest_register(
    cap: &mut Cap,
    rng: &mut Rng,
    ts: i64,
    user: &str,
    password: &str,
    ip: Ipv4Addr,
    agent: &str,
) {
    let call_id = format!("{}@{ip}", rng.hex(12));
    let tag = rng.hex(8);
    let r1 = register(user, ip, &rng.hex(10), &tag, &call_id, 1).hdr("User-Agent", agent);
    cap.sip(ts, ip, PBX, &r1.text());
    let nonce = rng.hex(8);
    cap.sip(
        ts + 2 * MS,
        PBX,
        ip,
        &r1.reply(
            401,
            "Unauthorized",
            Some(&rng.hex(8)),
            &format!("WWW-Authenticate: {}\r\n", challenge(REALM, &nonce)),
        ),
    );
    let auth = authorization(
        user,
        REALM,
        password,
        "REGISTER",
        "sip:10.0.0.1",
        &nonce,
        &rng.hex(8),
    );
    let r2 = register(user, ip, &rng.hex(10), &tag, &call_id, 2)
        .hdr("User-Agent", agent)
        .hdr("Authorization", &auth);
    cap.sip(ts + 30 * MS, ip, PBX, &r2.text());
    cap.sip(
        ts + 33 * MS,
        PBX,
        ip,
        &r2.reply(
            200,
            "OK",
            Some(&rng.hex(8)),
            &format!("Contact: <sip:{user}@{ip}:5060>;expires=3600\r\n"),
        ),
    );
}

/// Phone 10.0.0.21 registers 2002 with the password `1234`; phone 10.0.0.22 registers 2004 with a strong one.
pub fn weak_password(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x21);
    let start = T0 + 8 * 3600 * SEC;
    digest_register(
        &mut cap,
        &mut rng,
        start,
        "2002",
        "1234",
        Ipv4Addr::new(10, 0, 0, 21),
        "Yealink SIP-T46S 66.86.0.15",
    );
    digest_register(
        &mut cap,
        &mut rng,
        start + 5 * SEC,
        "2004",
        "Xk9#vT2!pQw7",
        Ipv4Addr::new(10, 0, 0, 22),
        "Yealink SIP-T46S 66.86.0.15",
    );
    cap.write(out)
}

/// 198.51.100.9 sends 40 REGISTERs in 60 s, each challenged, never answering a challenge.
pub fn challenge_flood(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x09);
    let atk = Ipv4Addr::new(198, 51, 100, 9);
    let start = T0 + 5 * 3600 * SEC;
    for i in 0..40i64 {
        let ts = start + i * 1500 * MS;
        let r = register(
            "100",
            atk,
            &rng.hex(10),
            &rng.hex(8),
            &format!("{}@198.51.100.9", rng.hex(16)),
            1,
        );
        cap.sip(ts, atk, PBX, &r.text());
        cap.sip(
            ts + 2 * MS,
            PBX,
            atk,
            &r.reply(
                401,
                "Unauthorized",
                Some(&rng.hex(8)),
                &format!("WWW-Authenticate: {}\r\n", challenge(REALM, &rng.hex(8))),
            ),
        );
    }
    cap.write(out)
}

/// 2003 registers from its phone (digest), then from 203.0.113.66 without any challenge; the PBX then sends 2003's
/// next call to the outsider. An outside host calls 112 without registering, and an anonymous call arrives.
pub fn registration_hijack(out: &mut dyn Write) -> io::Result<()> {
    let mut cap = Cap::new();
    let mut rng = Rng::new(0x66);
    let phone = Ipv4Addr::new(10, 0, 0, 23);
    let atk = Ipv4Addr::new(203, 0, 113, 66);
    let start = T0 + 10 * 3600 * SEC;
    digest_register(
        &mut cap,
        &mut rng,
        start,
        "2003",
        "s7Fq!29xLm",
        phone,
        "Snom D735 10.1.54.13",
    );
    // The hijack: accepted at once.
    let t = start + 600 * SEC;
    let r = register(
        "2003",
        atk,
        &rng.hex(10),
        &rng.hex(8),
        &format!("{}@203.0.113.66", rng.hex(12)),
        1,
    );
    cap.sip(t, atk, PBX, &r.text());
    cap.sip(
        t + 2 * MS,
        PBX,
        atk,
        &r.reply(
            200,
            "OK",
            Some(&rng.hex(8)),
            "Contact: <sip:2003@203.0.113.66:5060>;expires=3600\r\n",
        ),
    );
    // 2003's next incoming call goes to the outsider, who answers it.
    let t = t + 120 * SEC;
    let call_id = format!("{}@10.0.0.1", rng.hex(12));
    let inv = Req::new(
        "INVITE",
        "sip:2003@203.0.113.66:5060",
        &format!("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{}", rng.hex(10)),
        &format!("\"Reception\" <sip:2000@10.0.0.1>;tag={}", rng.hex(8)),
        "<sip:2003@10.0.0.1>",
        &call_id,
    )
    .hdr("Contact", "<sip:2000@10.0.0.1:5060>")
    .sdp(sdp(PBX, 18_100, 3));
    cap.sip(t, PBX, atk, &inv.text());
    let tt = rng.hex(8);
    cap.sip(
        t + 60 * MS,
        atk,
        PBX,
        &inv.reply(180, "Ringing", Some(&tt), ""),
    );
    cap.sip(
        t + 3 * SEC,
        atk,
        PBX,
        &inv.reply_body(
            200,
            "OK",
            Some(&tt),
            "Contact: <sip:2003@203.0.113.66:5060>\r\n",
            Some(("application/sdp".into(), sdp(atk, 30_000, 4))),
        ),
    );
    let via = |rng: &mut Rng| format!("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{}", rng.hex(10));
    let ack = inv.in_dialog("ACK", Some(&tt), via(&mut rng));
    cap.sip(t + 3 * SEC + 20 * MS, PBX, atk, &ack.text());
    let mut bye = ack.in_dialog("BYE", None, via(&mut rng));
    bye.cseq = 2;
    cap.sip(t + 48 * SEC, PBX, atk, &bye.text());
    cap.sip(
        t + 48 * SEC + 50 * MS,
        atk,
        PBX,
        &bye.reply(200, "OK", None, ""),
    );

    // An emergency call from an outside host that never registered: accepted without a challenge.
    let caller = Ipv4Addr::new(198, 51, 100, 77);
    let t = start + 900 * SEC;
    let e = Req::new(
        "INVITE",
        "sip:112@10.0.0.1",
        &format!(
            "SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bK{}",
            rng.hex(10)
        ),
        &format!("<sip:5550100@198.51.100.77>;tag={}", rng.hex(8)),
        "<sip:112@10.0.0.1>",
        &format!("{}@198.51.100.77", rng.hex(12)),
    )
    .hdr("Contact", "<sip:5550100@198.51.100.77:5060>")
    .sdp(sdp(caller, 40_000, 5));
    cap.sip(t, caller, PBX, &e.text());
    cap.sip(t + 4 * MS, PBX, caller, &e.reply(100, "Trying", None, ""));
    let et = rng.hex(8);
    cap.sip(
        t + 2 * SEC,
        PBX,
        caller,
        &e.reply_body(
            200,
            "OK",
            Some(&et),
            "Contact: <sip:112@10.0.0.1:5060>\r\n",
            Some(("application/sdp".into(), sdp(PBX, 18_200, 6))),
        ),
    );
    let via = |rng: &mut Rng| {
        format!(
            "SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bK{}",
            rng.hex(10)
        )
    };
    let eack = e.in_dialog("ACK", Some(&et), via(&mut rng));
    cap.sip(t + 2 * SEC + 40 * MS, caller, PBX, &eack.text());
    let mut ebye = eack.in_dialog("BYE", None, via(&mut rng));
    ebye.cseq = 2;
    cap.sip(t + 14 * SEC, caller, PBX, &ebye.text());
    cap.sip(
        t + 14 * SEC + 4 * MS,
        PBX,
        caller,
        &ebye.reply(200, "OK", None, ""),
    );

    // An anonymous call from the hijacker's address, rejected.
    let t = start + 1000 * SEC;
    let a = Req::new(
        "INVITE",
        "sip:2000@10.0.0.1",
        &format!(
            "SIP/2.0/UDP 203.0.113.66:5060;branch=z9hG4bK{}",
            rng.hex(10)
        ),
        &format!(
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag={}",
            rng.hex(8)
        ),
        "<sip:2000@10.0.0.1>",
        &format!("{}@203.0.113.66", rng.hex(12)),
    )
    .hdr("Contact", "<sip:anonymous@203.0.113.66:5060>")
    .hdr("Privacy", "id")
    .sdp(sdp(atk, 30_002, 7));
    cap.sip(t, atk, PBX, &a.text());
    cap.sip(t + 4 * MS, PBX, atk, &a.reply(100, "Trying", None, ""));
    let at = rng.hex(8);
    cap.sip(
        t + 900 * MS,
        PBX,
        atk,
        &a.reply(433, "Anonymity Disallowed", Some(&at), ""),
    );
    cap.sip(t + 940 * MS, atk, PBX, &a.ack(&at));
    cap.write(out)
}
