//! Behavioural findings (brute-force, challenge-flood, extension-enumeration, flood) on a real REGISTER brute force
//! with counts checked against TShark, on a scanner capture without answers, on synthetic captures whose content
//! is known exactly, and on the clean sample (no false findings).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::model::{Analysis, Finding, Severity};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::pcapw::{self, Frame};
use earshot_e2e::{captures_dir, samples_dir};

const RULES: [&str; 4] = [
    "brute-force",
    "challenge-flood",
    "extension-enumeration",
    "flood",
];
const SCANNER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// TShark takes UDP port 1293 for PKTC; in SIP-Bruteforce-Single-IP.pcap frames 1975-1979 are SIP on that port.
const DECODE_AS: [&str; 2] = ["-d", "udp.port==1293,sip"];
const T0: i64 = 1_700_000_000_000_000_000;

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn of<'a>(a: &'a Analysis, rule: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.rule_id == rule).collect()
}

/// Frame numbers TShark shows for a display filter (an independent reader).
fn tshark_frames(path: &Path, filter: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(DECODE_AS)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(name: &str, frames: &[Frame]) -> Analysis {
    analyse(&tmp(name, &pcapw::pcap_bytes(1, frames)))
}

fn frame(ms: i64, from_scanner: bool, text: &str) -> Frame {
    let (s, d) = if from_scanner {
        (SCANNER, SERVER)
    } else {
        (SERVER, SCANNER)
    };
    Frame::new(
        T0 + ms * 1_000_000,
        pcapw::eth_udp4(s, 5060, d, 5060, text.as_bytes()),
    )
}

fn request(method: &str, to: &str, call: &str, from: &str) -> String {
    format!(
        "{method} sip:{to}@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK{call}\r\n\
         From: <sip:{from}@192.0.2.10>;tag=s{call}\r\nTo: <sip:{to}@192.0.2.10>\r\nCall-ID: {call}@203.0.113.9\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn response(code: u16, reason: &str, method: &str, to: &str, call: &str, from: &str) -> String {
    let challenge = if code == 401 {
        "WWW-Authenticate: Digest realm=\"test\", nonce=\"abc123\", algorithm=MD5\r\n"
    } else {
        ""
    };
    format!(
        "SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK{call}\r\n\
         From: <sip:{from}@192.0.2.10>;tag=s{call}\r\nTo: <sip:{to}@192.0.2.10>;tag=r{call}\r\n\
         Call-ID: {call}@203.0.113.9\r\nCSeq: 1 {method}\r\n{challenge}Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn register_brute_force_from_one_ip_matches_tshark() {
    let path = captures_dir().join("SIP-Bruteforce-Single-IP.pcap");
    let a = analyse(&path);
    let bf = of(&a, "brute-force");
    assert_eq!(bf.len(), 1, "{bf:#?}");
    let f = bf[0];
    let attacker: IpAddr = "199.105.226.32".parse().unwrap();
    assert_eq!(f.sources, [attacker]);

    // TShark (with port 1293 decoded as SIP): all 1626 REGISTERs come from the attacker, 613 of them with
    // credentials (none a resend); no 2xx at all, so the guessing did not succeed.
    assert_eq!(
        tshark_frames(
            &path,
            "sip.Method == \"REGISTER\" && ip.src == 199.105.226.32"
        )
        .len(),
        1626
    );
    let credentialed = tshark_frames(
        &path,
        "sip.Method == \"REGISTER\" && sip.Authorization && sip.resend == 0",
    );
    assert_eq!(credentialed.len(), 613);
    assert!(tshark_frames(&path, "sip.Status-Code >= 200 && sip.Status-Code < 300").is_empty());
    assert!(
        f.details.contains("613 requests with credentials"),
        "{}",
        f.details
    );
    assert_eq!(f.severity, Severity::High);
    assert!(f.details.contains("did not succeed"), "{}", f.details);

    // Failures: every 401/403 (first transmissions) to the attacker answering a credentialed REGISTER (same
    // Call-ID and CSeq number), cross-checked with TShark's fields.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(DECODE_AS)
        .args([
            "-Y",
            "sip.resend == 0",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "sip.Status-Code",
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.CSeq.seq",
            "-e",
            "sip.Authorization",
        ])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut cred = std::collections::HashSet::new();
    let (mut f401, mut f403) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let c: Vec<&str> = l.split('\t').collect();
        let (frame, code, call, seq, auth) = (c[0], c[1], c[2], c[3], c.get(4).unwrap_or(&""));
        if code.is_empty() {
            if !auth.is_empty() {
                cred.insert((call.to_string(), seq.to_string()));
            }
        } else if cred.contains(&(call.to_string(), seq.to_string())) {
            let n: u64 = frame.parse().unwrap();
            match code {
                "401" => f401.push(n),
                "403" => f403.push(n),
                _ => {}
            }
        }
    }
    // 399 re-challenges (401) and 41 rejections (403): the 42nd 403 (frame 36) answers a REGISTER that is not
    // in the capture.
    assert_eq!((f401.len(), f403.len()), (399, 41));
    assert_eq!(tshark_frames(&path, "sip.Status-Code == 401").len(), 808);
    assert_eq!(tshark_frames(&path, "sip.Status-Code == 403").len(), 42);
    let failures = f401.len() + f403.len();
    assert!(
        f.details
            .contains(&format!("{failures} failed (399× 401, 41× 403)")),
        "{}",
        f.details
    );
    // Evidence frames are the first failing requests and responses, all of them TShark frames.
    let failing: std::collections::BTreeSet<u64> = f401.iter().chain(&f403).copied().collect();
    assert!(f.evidence_frames.iter().any(|n| failing.contains(n)));
    assert_eq!(f.evidence_frames_total, 2 * failures as u64);
}

#[test]
fn sipvicious_options_without_answers_is_no_brute_force_or_enumeration() {
    let a = analyse(&captures_dir().join("BadUserAgent-sipvicious.pcap"));
    assert!(of(&a, "brute-force").is_empty());
    assert!(of(&a, "extension-enumeration").is_empty());
}

#[test]
fn synthetic_enumeration_lists_the_revealed_extensions() {
    let revealed = ["101", "205", "333"];
    let mut exts: Vec<String> = (0..27).map(|i| format!("{}", 400 + i)).collect();
    exts.extend(revealed.iter().map(|s| s.to_string()));
    let mut frames = Vec::new();
    for (i, e) in exts.iter().enumerate() {
        let ms = i as i64 * 2_000;
        let call = format!("enum{i}");
        frames.push(frame(ms, true, &request("REGISTER", e, &call, e)));
        let (code, reason) = if revealed.contains(&e.as_str()) {
            (401, "Unauthorized")
        } else {
            (404, "Not Found")
        };
        frames.push(frame(
            ms + 5,
            false,
            &response(code, reason, "REGISTER", e, &call, e),
        ));
    }
    let a = run("enum.pcap", &frames);
    let en = of(&a, "extension-enumeration");
    assert_eq!(en.len(), 1, "{:#?}", a.findings);
    assert_eq!(en[0].users, ["101", "205", "333"]);
    assert_eq!(en[0].severity, Severity::High);
    assert!(en[0].details.contains("probed 30 distinct extensions"));
    assert!(en[0].details.contains("27 were answered 404"));
    assert!(of(&a, "brute-force").is_empty());
    assert!(of(&a, "flood").is_empty());
    // 3 challenges left unanswered over 60 s: below the challenge-flood threshold of 5 in 360 s.
    assert!(of(&a, "challenge-flood").is_empty());
}

#[test]
fn synthetic_options_burst_is_a_flood_with_the_peak() {
    let frames: Vec<Frame> = (0..150)
        .map(|i| {
            frame(
                i * 66,
                true,
                &request("OPTIONS", "100", &format!("opt{i}"), "scan"),
            )
        })
        .collect();
    let a = run("flood.pcap", &frames);
    let fl = of(&a, "flood");
    assert_eq!(fl.len(), 1, "{:#?}", a.findings);
    assert_eq!(fl[0].sources, [IpAddr::V4(SCANNER)]);
    assert!(
        fl[0]
            .details
            .contains("sent 150 INVITE/REGISTER/OPTIONS requests within 60 s")
    );
    assert_eq!(fl[0].evidence_frames_total, 150);
    assert_eq!(fl[0].severity, Severity::Medium);
}

#[test]
fn synthetic_unanswered_challenges_are_a_challenge_flood() {
    let mut frames = Vec::new();
    for i in 0..6i64 {
        let call = format!("chal{i}");
        let user = format!("20{i}");
        frames.push(frame(
            i * 10_000,
            true,
            &request("INVITE", "100", &call, &user),
        ));
        frames.push(frame(
            i * 10_000 + 3,
            false,
            &response(401, "Unauthorized", "INVITE", "100", &call, &user),
        ));
    }
    let a = run("challenge.pcap", &frames);
    let cf = of(&a, "challenge-flood");
    assert_eq!(cf.len(), 1, "{:#?}", a.findings);
    assert_eq!(cf[0].sources, [IpAddr::V4(SCANNER)]);
    assert!(
        cf[0]
            .details
            .contains("left 6 authentication challenges unanswered")
    );
    assert_eq!(cf[0].evidence_frames_total, 12);
    assert_eq!(cf[0].severity, Severity::Medium);
}

#[test]
fn clean_call_raises_none_of_the_behavioural_rules() {
    let a = analyse(&samples_dir().join("clean-call/clean-call.pcap"));
    for r in RULES {
        assert!(of(&a, r).is_empty(), "{r}: {:#?}", of(&a, r));
    }
}
