//! `weak-password` end to end: synthetic REGISTER → 401 → REGISTER with a digest response computed here (with an
//! MD5 written in this file, independent of core and of the md-5 crate) → 200 OK; the password is cracked and
//! masked unless the settings reveal it; a 6-digit PIN is cracked; a strong password is not; the real capture
//! aaa.pcap is reported, not asserted.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use earshot_core::findings::Settings;
use earshot_core::model::{Analysis, Finding, Severity};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::captures_dir;
use earshot_e2e::pcapw::{self, Frame};

const PHONE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PBX: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const T0: i64 = 1_700_000_000_000_000_000;
const REALM: &str = "asterisk";
const NONCE: &str = "5f3c1a9e7b2d";
const CNONCE: &str = "0a4f113b";

/// RFC 1321 MD5.
fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    // libm's sine: the same bits on every CPU (the nearest of the 64 products is 0.015 from an integer anyway).
    let k: Vec<u32> = (0..64)
        .map(|i| (libm::sin(f64::from(i) + 1.0).abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[(i / 16) * 4 + i % 4]));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_mut(4).zip(h) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn md5_hex(s: &str) -> String {
    md5(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn crack_md5_reference_vectors() {
    assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        md5_hex("The quick brown fox jumps over the lazy dog"),
        "9e107d9d372bb6826bd81d3542a419d6"
    );
    // RFC 2617 §3.5.
    let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
    let ha2 = md5_hex("GET:/dir/index.html");
    assert_eq!(
        md5_hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        )),
        "6629fae49393a05397450978507c4ef1"
    );
}

/// RFC 2617 qop=auth response for a REGISTER.
fn response(user: &str, password: &str, uri: &str) -> String {
    let ha1 = md5_hex(&format!("{user}:{REALM}:{password}"));
    let ha2 = md5_hex(&format!("REGISTER:{uri}"));
    md5_hex(&format!("{ha1}:{NONCE}:00000001:{CNONCE}:auth:{ha2}"))
}

fn sip(ms: i64, from_phone: bool, text: &str) -> Frame {
    let (s, d) = if from_phone {
        (PHONE, PBX)
    } else {
        (PBX, PHONE)
    };
    Frame::new(
        T0 + ms * 1_000_000,
        pcapw::eth_udp4(s, 5060, d, 5060, text.as_bytes()),
    )
}

/// REGISTER → 401 → REGISTER with credentials → 200 OK, written to a temporary pcap.
fn capture(name: &str, user: &str, password: &str) -> PathBuf {
    capture_answered(name, user, password, Some("200 OK"))
}

/// The same exchange with `answer` as the final response to the credentialed REGISTER (`None`: not captured).
fn capture_answered(name: &str, user: &str, password: &str, answer: Option<&str>) -> PathBuf {
    write_capture(name, &exchange(user, password, answer, 0))
}

fn write_capture(name: &str, frames: &[Frame]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-crack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, pcapw::pcap_bytes(1, frames)).unwrap();
    p
}

/// REGISTER → 401 → REGISTER with credentials → `answer`, starting `at_ms` into the capture.
fn exchange(user: &str, password: &str, answer: Option<&str>, at_ms: i64) -> Vec<Frame> {
    let uri = "sip:10.0.0.2";
    let common = |cseq: u32, branch: &str| {
        format!(
            "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{branch}\r\nFrom: <sip:{user}@10.0.0.2>;tag=f1\r\n\
             To: <sip:{user}@10.0.0.2>\r\nCall-ID: reg-{user}@10.0.0.1\r\nCSeq: {cseq} REGISTER\r\n"
        )
    };
    let register1 = format!(
        "REGISTER {uri} SIP/2.0\r\n{}Contact: <sip:{user}@10.0.0.1:5060>\r\nMax-Forwards: 70\r\n\
         Expires: 3600\r\nContent-Length: 0\r\n\r\n",
        common(1, "r1")
    );
    let challenge = format!(
        "SIP/2.0 401 Unauthorized\r\n{}WWW-Authenticate: Digest algorithm=MD5, realm=\"{REALM}\", \
         nonce=\"{NONCE}\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n",
        common(1, "r1")
    );
    let register2 = format!(
        "REGISTER {uri} SIP/2.0\r\n{}Contact: <sip:{user}@10.0.0.1:5060>\r\nMax-Forwards: 70\r\n\
         Authorization: Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{NONCE}\", uri=\"{uri}\", \
         response=\"{}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{CNONCE}\"\r\n\
         Expires: 3600\r\nContent-Length: 0\r\n\r\n",
        common(2, "r2"),
        response(user, password, uri)
    );
    let mut frames = vec![
        sip(at_ms, true, &register1),
        sip(at_ms + 5, false, &challenge),
        sip(at_ms + 10, true, &register2),
    ];
    if let Some(status) = answer {
        let ok = format!(
            "SIP/2.0 {status}\r\n{}Contact: <sip:{user}@10.0.0.1:5060>;expires=3600\r\nContent-Length: 0\r\n\r\n",
            common(2, "r2")
        );
        frames.push(sip(at_ms + 15, false, &ok));
    }
    frames
}

/// Cracking uses every core: analyses run one at a time so the timings measure one analysis, not several.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Analyses with these settings; returns the analysis and how long `analyze_file` took.
fn analyse(path: &std::path::Path, rules: Settings) -> (Analysis, Duration) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let opts = AnalyzeOptions {
        rules,
        ..Default::default()
    };
    let t = Instant::now();
    let a = analyze_file(path, &opts, &mut |_| {}).unwrap();
    (a, t.elapsed())
}

fn weak(a: &Analysis) -> Vec<&Finding> {
    a.findings
        .iter()
        .filter(|f| f.rule_id == "weak-password")
        .collect()
}

/// Timing is asserted only in optimised builds; dev builds just print it.
fn check_time(what: &str, took: Duration) {
    println!("{what}: analyze_file took {took:?}");
    if !cfg!(debug_assertions) {
        assert!(took < Duration::from_secs(1), "{what}: {took:?}");
    }
}

#[test]
fn crack_register_password_1234_masked_unless_revealed() {
    let path = capture("pin1234.pcap", "2001", "1234");
    let (a, took) = analyse(&path, Settings::default());
    check_time("password 1234", took);
    let w = weak(&a);
    assert_eq!(w.len(), 1, "{:#?}", a.findings);
    let f = w[0];
    assert_eq!(f.title, "Weak SIP password for 2001");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.users, ["2001"]);
    assert_eq!(f.sources, [std::net::IpAddr::V4(PHONE)]);
    // The credentialed REGISTER and the 200 OK that proves the password.
    assert_eq!(f.evidence_frames, [3, 4]);
    assert_eq!(f.confidence, earshot_core::model::Confidence::High);
    assert!(f.details.contains("2xx in frame 4"), "{}", f.details);
    assert!(f.details.contains("1•••"), "{}", f.details);
    assert!(!f.details.contains("1234"), "{}", f.details);

    let reveal = Settings {
        reveal_passwords_in_exports: true,
        ..Default::default()
    };
    let (a, _) = analyse(&path, reveal);
    let w = weak(&a);
    assert_eq!(w.len(), 1);
    assert!(w[0].details.contains("\"1234\""), "{}", w[0].details);
    assert!(!w[0].details.contains('•'), "{}", w[0].details);

    let off = Settings {
        crack_passwords: false,
        ..Default::default()
    };
    let (a, _) = analyse(&path, off);
    assert!(weak(&a).is_empty());
    assert!(a.findings.iter().any(|f| f.rule_id == "digest-exposed"));
}

#[test]
fn crack_six_digit_pin() {
    let path = capture("pin739184.pcap", "3105", "739184");
    let reveal = Settings {
        reveal_passwords_in_exports: true,
        ..Default::default()
    };
    let (a, took) = analyse(&path, reveal);
    check_time("6-digit PIN 739184", took);
    let w = weak(&a);
    assert_eq!(w.len(), 1, "{:#?}", a.findings);
    assert_eq!(w[0].users, ["3105"]);
    assert!(w[0].details.contains("\"739184\""), "{}", w[0].details);
    assert!(
        w[0].details.contains("Found in the numeric PINs"),
        "{}",
        w[0].details
    );
}

#[test]
fn crack_strong_password_is_not_found() {
    let path = capture("strong.pcap", "4002", "vQ7#nR2!xK9@tLp4");
    let (a, took) = analyse(&path, Settings::default());
    check_time("strong password (every candidate tried)", took);
    assert!(weak(&a).is_empty(), "{:#?}", weak(&a));
    assert!(a.findings.iter().any(|f| f.rule_id == "digest-exposed"));
}

#[test]
fn crack_user_wordlist() {
    let path = capture("wordlist.pcap", "5001", "Correct Horse 42");
    let list = path.with_extension("txt");
    std::fs::write(&list, "alpha\r\nCorrect Horse 42\r\nomega\n").unwrap();
    let s = Settings {
        wordlist: Some(list.clone()),
        ..Default::default()
    };
    let (a, _) = analyse(&path, s);
    let w = weak(&a);
    assert_eq!(w.len(), 1, "{:#?}", a.findings);
    assert!(w[0].details.contains("C•••"), "{}", w[0].details);
    assert!(
        w[0].details.contains(&list.display().to_string()),
        "{}",
        w[0].details
    );
}

#[test]
fn crack_aaa_capture_report() {
    let path = captures_dir().join("aaa.pcap");
    if !path.exists() {
        println!("aaa.pcap not found, skipped");
        return;
    }
    let (a, took) = analyse(&path, Settings::default());
    println!("aaa.pcap: analyze_file took {took:?}");
    for f in weak(&a) {
        println!("aaa.pcap: {} — {}", f.title, f.details);
    }
    println!("aaa.pcap: {} weak-password findings", weak(&a).len());
}

/// Only a response the server accepted proves the password: unanswered, or answered with something other than a
/// rejection, the cracked digest is the password the client used (medium, low confidence); rejected, it is a
/// wrong guess and never a weak-password finding.
#[test]
fn only_an_accepted_digest_proves_the_password() {
    for (name, answer, expect) in [
        ("unanswered.pcap", None, Some("no answer in the capture")),
        ("notfound.pcap", Some("404 Not Found"), Some("404")),
        ("busy.pcap", Some("503 Service Unavailable"), Some("503")),
        ("rejected.pcap", Some("403 Forbidden"), None),
        ("rechallenged.pcap", Some("401 Unauthorized"), None),
    ] {
        let path = capture_answered(name, "2001", "1234", answer);
        let (a, _) = analyse(&path, Settings::default());
        let w = weak(&a);
        match expect {
            Some(said) => {
                assert_eq!(w.len(), 1, "{name}: {:#?}", a.findings);
                let f = w[0];
                assert_eq!(f.severity, Severity::Medium, "{name}");
                assert_eq!(f.confidence, earshot_core::model::Confidence::Low, "{name}");
                assert_eq!(
                    f.title,
                    "Password a client used for 2001 (acceptance not captured)"
                );
                assert!(f.details.contains(said), "{name}: {}", f.details);
                assert!(
                    f.details.contains("not that it is the account's"),
                    "{}",
                    f.details
                );
            }
            None => assert!(w.is_empty(), "{name}: {w:#?}"),
        }
    }
}

/// Many cracked accounts are one finding with a row each, not one finding per account.
#[test]
fn many_weak_accounts_are_one_finding_with_a_row_each() {
    let users = [
        ("3001", "1111"),
        ("3002", "2222"),
        ("3003", "3333"),
        ("3004", "4444"),
    ];
    let frames: Vec<Frame> = users
        .iter()
        .enumerate()
        .flat_map(|(i, (u, p))| exchange(u, p, Some("200 OK"), i as i64 * 100))
        .collect();
    let path = write_capture("four.pcap", &frames);
    let (a, _) = analyse(&path, Settings::default());
    let w = weak(&a);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].title, "Weak SIP passwords for 4 accounts");
    assert_eq!(w[0].severity, Severity::Critical);
    assert_eq!(w[0].users, ["3001", "3002", "3003", "3004"]);
    // Each account's credentialed REGISTER and its 200 OK (frames 3-4, 7-8, 11-12, 15-16).
    assert_eq!(w[0].evidence_frames, [3, 4, 7, 8, 11, 12, 15, 16]);
    for (i, (u, p)) in users.iter().enumerate() {
        let masked: String = std::iter::once(p.chars().next().unwrap())
            .chain(std::iter::repeat_n('•', p.len() - 1))
            .collect();
        let row = format!(
            "`{u}` (realm \"{REALM}\"): {masked}, accepted (2xx in frame {})",
            4 * i + 4
        );
        assert!(w[0].details.contains(&row), "{row}: {}", w[0].details);
    }
}
