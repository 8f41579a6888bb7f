//! The classes of false or missing findings seen on unseen real captures (issue 17), each reproduced on a capture
//! made with the real tool (`tests/eval/corpus/`, `tests/eval/make-corpus.sh`) and checked against TShark's reading
//! of the same bytes where TShark says something.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use earshot_core::model::{Analysis, Confidence, Encryption, Finding, Severity};
use earshot_core::{AnalyzeOptions, analyze_file};

fn corpus(name: &str) -> PathBuf {
    earshot_e2e::eval::eval_dir()
        .join("corpus")
        .join(format!("{name}.pcap"))
}

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn of<'a>(a: &'a Analysis, rule: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.rule_id == rule).collect()
}

/// `tshark -r FILE -Y FILTER -T fields -e …`, one row a frame.
fn tshark(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    earshot_e2e::tshark_fields(path, &[], filter, fields)
}

/// Per TShark's fields: credentialed REGISTERs and the final status each got, paired by the top Via branch.
fn credentialed_outcomes(path: &Path) -> (usize, BTreeMap<String, usize>) {
    let rows = tshark(
        path,
        "sip",
        &[
            "frame.number",
            "sip.Method",
            "sip.Status-Code",
            "sip.Via.branch",
            "sip.Authorization",
        ],
    );
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    let mut sent = 0;
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let (method, status, branch, auth) =
            (&r[1], &r[2], r[3].split(',').next().unwrap_or(""), &r[4]);
        if method == "REGISTER" && !auth.is_empty() {
            sent += 1;
            *waiting.entry(branch.to_string()).or_default() += 1;
        } else if !status.is_empty()
            && status.parse::<u16>().unwrap() >= 200
            && let Some(n) = waiting.get_mut(branch).filter(|n| **n > 0)
        {
            *n -= 1;
            *answers.entry(status.clone()).or_default() += 1;
        }
    }
    (sent, answers)
}

/// Class 2: SIPVicious 0.3.8 `svcrack` sends every guess under one Call-ID and CSeq. TShark calls 118 of the 122
/// messages retransmissions; the guesses carry different Authorization headers, so they are new attempts, and
/// every one counts as a failed authentication.
#[test]
fn svcrack_guesses_under_one_cseq_are_attempts_not_retransmissions() {
    for name in ["svcrack-noqop-fail", "svcrack-qop-fail"] {
        let path = corpus(name);
        let (sent, answers) = credentialed_outcomes(&path);
        let resent_by_tshark = tshark(&path, "sip.resend == 1", &["frame.number"]).len();
        // What makes them look like retransmissions: one Call-ID and CSeq for all guesses.
        let cseqs: BTreeSet<Vec<String>> = tshark(
            &path,
            "sip.Method == \"REGISTER\" && sip.Authorization",
            &["sip.Call-ID", "sip.CSeq"],
        )
        .into_iter()
        .collect();
        assert_eq!(cseqs.len(), 1, "{name}: {cseqs:?}");
        assert!(
            resent_by_tshark > 50,
            "{name}: TShark's resend count {resent_by_tshark}"
        );
        let a = analyse(&path);
        assert_eq!(a.summary.sip_retransmissions, 0, "{name}");
        let bf = of(&a, "brute-force");
        assert_eq!(bf.len(), 1, "{name}");
        let rejected = answers.get("401").copied().unwrap_or(0);
        assert_eq!(rejected, sent, "{name}: every guess rejected ({answers:?})");
        assert!(
            bf[0]
                .details
                .contains(&format!("{rejected} failed ({rejected}× 401)")),
            "{name}: {}",
            bf[0].details
        );
        assert_eq!(
            bf[0].severity,
            Severity::High,
            "{name}: the guessing did not succeed"
        );
        // Class 1: no guess the server rejected is anybody's password.
        assert!(of(&a, "weak-password").is_empty(), "{name}");
    }
}

/// Class 1: only the guess the server accepted is the account's password; the rejected ones are the attacker's
/// guesses, listed (masked) in the brute-force finding.
#[test]
fn only_the_accepted_guess_is_the_password() {
    let path = corpus("svcrack-qop-success");
    let ok = tshark(&path, "sip.Status-Code == 200", &["frame.number"]);
    assert_eq!(ok.len(), 1);
    let ok_frame: u64 = ok[0][0].parse().unwrap();
    let a = analyse(&path);
    let w = of(&a, "weak-password");
    assert_eq!(w.len(), 1, "{:#?}", a.findings);
    assert_eq!(w[0].severity, Severity::Critical);
    assert_eq!(w[0].confidence, Confidence::High);
    assert_eq!(w[0].users, ["1000"]);
    assert!(w[0].evidence_frames.contains(&ok_frame));
    assert!(
        w[0].details.contains(&format!("2xx in frame {ok_frame}")),
        "{}",
        w[0].details
    );
    // welcome123, masked: the first character and nine bullets.
    assert!(w[0].details.contains("w•••••••••"), "{}", w[0].details);
    let bf = of(&a, "brute-force");
    assert_eq!(bf.len(), 1);
    assert_eq!(bf[0].severity, Severity::Critical);
    assert!(
        bf[0].details.contains("Guesses the attacker tried"),
        "{}",
        bf[0].details
    );
    assert!(!bf[0].details.contains("welcome123"), "masked by default");

    // svcrack's no-qop answers lack nc/cnonce: kamailio rejects even the right password, so nothing is proven.
    let a = analyse(&corpus("svcrack-noqop-success"));
    assert!(
        of(&a, "weak-password").is_empty(),
        "{:#?}",
        of(&a, "weak-password")
    );
}

/// Class 5: a proxy that relays an attacker's scan and guesses is named as a relay, never as the attacker.
#[test]
fn the_relay_is_not_blamed_for_the_attacker() {
    let a = analyse(&corpus("relayed-scan"));
    let attacker: IpAddr = "203.0.113.66".parse().unwrap();
    for rule in ["scanner", "brute-force", "extension-enumeration"] {
        let fs = of(&a, rule);
        assert_eq!(fs.len(), 1, "{rule}: {fs:#?}");
        assert_eq!(fs[0].sources, [attacker], "{rule}");
    }
    assert!(
        of(&a, "scanner")[0]
            .details
            .contains("relayed by 10.77.0.1")
    );
    assert!(
        of(&a, "brute-force")[0]
            .details
            .contains("relayed by 10.77.0.1")
    );
}

/// Class 6: a Contact at loopback is ordinary on a call that runs on loopback; from outside it is forged.
#[test]
fn loopback_contact_is_only_suspicious_from_outside() {
    let a = analyse(&corpus("benign-loopback-contact"));
    assert!(of(&a, "caller-id-spoofing").is_empty(), "{:#?}", a.findings);
    let a = analyse(&corpus("sipp-spoof-inject"));
    let s = of(&a, "caller-id-spoofing");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].severity, Severity::High);
    assert!(
        s[0].details
            .contains("Contact points at 127.0.0.1 while the packet came from 203.0.113.66"),
        "{}",
        s[0].details
    );
    // A client on loopback behind a TLS relay that does not rewrite headers (the SIP is read with the key log):
    // Via and Contact at 127.0.0.1 from 10.77.0.2, and nothing else contradicting: not spoofing.
    let path = corpus("benign-tls-call");
    let mut keys = earshot_core::tls::Keys::new();
    keys.load_keylog(&path.with_extension("keys")).unwrap();
    let opts = AnalyzeOptions {
        keys: Some(std::sync::Arc::new(keys)),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
    assert_eq!(a.messages.len(), 22);
    assert!(a.messages.iter().any(|m| {
        m.message
            .via
            .first()
            .is_some_and(|v| v.sent_by.starts_with("127.0.0.1"))
    }));
    assert!(of(&a, "caller-id-spoofing").is_empty(), "{:#?}", a.findings);
    // svwar's INVITEs name the target itself in their Contact: forged, high.
    let a = analyse(&corpus("svwar-invite-enum"));
    let s = of(&a, "caller-id-spoofing");
    assert_eq!(s[0].severity, Severity::High);
}

/// Class 7: toll fraud dialled through a PBX's outside-line digit, and shell/encoded-CRLF injection.
#[test]
fn outside_line_toll_calls_and_shell_injection_are_found() {
    let path = corpus("sipp-toll-fraud");
    let dialled: BTreeSet<String> = tshark(&path, "sip.Method == \"INVITE\"", &["sip.to.user"])
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(dialled.contains("9011442079460000"), "{dialled:?}");
    let a = analyse(&path);
    let t = of(&a, "toll-fraud");
    assert_eq!(t.len(), 1);
    for n in &dialled {
        assert!(t[0].users.contains(n), "{n} not in {:?}", t[0].users);
    }
    assert!(
        t[0].details
            .contains("outside line `9` + international access `011`"),
        "{}",
        t[0].details
    );

    let a = analyse(&corpus("sipp-spoof-inject"));
    let h = of(&a, "header-injection");
    assert_eq!(h.len(), 1);
    for kind in [
        "shell function definition (shellshock)",
        "encoded CR/LF (header splitting)",
        "shell metacharacters",
    ] {
        assert!(h[0].details.contains(kind), "{kind}: {}", h[0].details);
    }
}

/// Class 3: SRTP between ICE peers with no SDP in the capture (a WebRTC call) is encrypted, with the evidence said;
/// its SRTCP is not read as broken RTCP.
#[test]
fn webrtc_srtp_without_sdp_is_not_called_unencrypted() {
    let path = corpus("benign-srtp-webrtc");
    let stun = tshark(&path, "stun", &["frame.number"]).len();
    let srtcp = tshark(
        &path,
        "udp && !stun && udp.payload[1] == 0xc8",
        &["frame.number"],
    )
    .len();
    assert!(stun > 0 && srtcp > 0, "{stun} STUN, {srtcp} SRTCP");
    let a = analyse(&path);
    assert!(of(&a, "unencrypted-media").is_empty(), "{:#?}", a.findings);
    assert!(of(&a, "dtmf-secret").is_empty());
    assert_eq!(a.streams.len(), 2);
    for s in &a.streams {
        assert_eq!(
            s.encryption,
            Encryption::Srtp,
            "{:?}",
            s.encryption_evidence
        );
        assert!(
            s.encryption_evidence
                .as_deref()
                .is_some_and(|e| e.contains("WebRTC-style media path") && e.contains("RFC 8827")),
            "{:?}",
            s.encryption_evidence
        );
    }
    assert!(
        a.diagnostics
            .iter()
            .all(|d| d.level < earshot_core::model::DiagLevel::Warning),
        "{:#?}",
        a.diagnostics
    );
    assert_eq!(a.summary.findings, 0);
}

/// Class 4: severity follows the amount of evidence — a handful of packets is not "high: call audio is not
/// encrypted", and a single DTMF digit is not a PIN.
#[test]
fn severity_follows_the_amount_of_evidence() {
    use earshot_e2e::pcapw::{self, Frame};
    let (a_ip, b_ip) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let t0 = 1_767_225_600_000_000_000i64;
    let sdp = |port: u16| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.{}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
             a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
            if port == 4000 { 1 } else { 2 }
        )
    };
    let msg = |first: &str, cseq: &str, body: &str| {
        format!(
            "{first}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKsev1\r\nFrom: <sip:1000@10.0.0.1>;tag=a\r\n\
             To: <sip:8500@10.0.0.2>{}\r\nCall-ID: sev@10.0.0.1\r\nCSeq: {cseq}\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            if first.starts_with("SIP/2.0") {
                ";tag=b"
            } else {
                ""
            },
            body.len()
        )
    };
    let ip = |x: [u8; 4]| std::net::Ipv4Addr::from(x);
    let mut frames = vec![
        Frame::new(
            t0,
            pcapw::eth_udp4(
                ip(a_ip),
                5060,
                ip(b_ip),
                5060,
                msg("INVITE sip:8500@10.0.0.2 SIP/2.0", "1 INVITE", &sdp(4000)).as_bytes(),
            ),
        ),
        Frame::new(
            t0 + 10_000_000,
            pcapw::eth_udp4(
                ip(b_ip),
                5060,
                ip(a_ip),
                5060,
                msg("SIP/2.0 200 OK", "1 INVITE", &sdp(6000)).as_bytes(),
            ),
        ),
    ];
    // Two 20 ms G.711 packets (0.02 s of audio), then one DTMF digit ("5") as RFC 4733 events.
    for n in 0..2u16 {
        let mut rtp = vec![0x80, 0, 0, n as u8, 0, 0, 0, (n * 160) as u8, 0, 0, 0, 7];
        rtp[2..4].copy_from_slice(&n.to_be_bytes());
        rtp[4..8].copy_from_slice(&(u32::from(n) * 160).to_be_bytes());
        rtp.extend(std::iter::repeat_n(0xffu8, 160));
        frames.push(Frame::new(
            t0 + 20_000_000 * (i64::from(n) + 2),
            pcapw::eth_udp4(ip(a_ip), 4000, ip(b_ip), 6000, &rtp),
        ));
    }
    for k in 0..3u16 {
        let seq = 2 + k;
        let end = k == 2;
        let mut rtp = vec![0x80, 101];
        rtp.extend_from_slice(&seq.to_be_bytes());
        rtp.extend_from_slice(&320u32.to_be_bytes());
        rtp.extend_from_slice(&7u32.to_be_bytes());
        rtp.extend_from_slice(&[5, if end { 0x8a } else { 0x0a }, 0, (160 * (k + 1)) as u8]);
        frames.push(Frame::new(
            t0 + 100_000_000 + 20_000_000 * i64::from(k),
            pcapw::eth_udp4(ip(a_ip), 4000, ip(b_ip), 6000, &rtp),
        ));
    }
    let dir = std::env::temp_dir().join(format!("earshot-classes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("short.pcap");
    std::fs::write(&p, pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse(&p);
    let m = of(&a, "unencrypted-media");
    assert_eq!(m.len(), 1, "{:#?}", a.findings);
    assert!(
        m[0].severity < Severity::High,
        "{:?}: {}",
        m[0].severity,
        m[0].details
    );
    let d = of(&a, "dtmf-secret");
    assert_eq!(d.len(), 1, "{:#?}", a.findings);
    assert_eq!(d[0].severity, Severity::Low, "{}", d[0].details);
    assert!(
        d[0].details.contains("too few digits for a PIN"),
        "{}",
        d[0].details
    );
}

/// A registration taken over from outside while the phone's binding still lives (the registrar's 200 lists both) is
/// a high finding; a phone that re-registers from a new LAN address after its binding expired stays a medium,
/// low-confidence suggestion.
#[test]
fn a_takeover_is_told_from_a_roaming_phone() {
    let path = corpus("sipp-registration-hijack");
    // TShark: the attacker's 200 OK carries two Contact bindings.
    let ok = tshark(
        &path,
        "sip.Status-Code == 200 && ip.dst == 203.0.113.66",
        &["frame.number", "sip.Contact"],
    );
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0][1].split(',').count(), 2, "{ok:?}");
    let a = analyse(&path);
    let h = of(&a, "registration-hijack");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].severity, Severity::High, "{}", h[0].details);
    assert_eq!(h[0].confidence, Confidence::Medium);
    assert!(
        h[0].details.contains(&format!(
            "the registrar's 2xx in frame {} lists both bindings",
            ok[0][0]
        )),
        "{}",
        h[0].details
    );
    let a = analyse(&corpus("benign-roaming-phone"));
    let h = of(&a, "registration-hijack");
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].severity, h[0].confidence),
        (Severity::Medium, Confidence::Low)
    );
}

/// An emergency number probed by an extension scan (svwar INVITEs to 110-119, each rejected 404) is not an
/// emergency call that reached anyone: low, where a real unregistered call to 911 that rang is high.
#[test]
fn emergency_numbers_probed_by_a_scan_are_not_emergency_calls() {
    let path = corpus("svwar-invite-enum");
    let probes = tshark(
        &path,
        "sip.Status-Code == 404 && (sip.to.user == \"112\" || sip.to.user == \"110\")",
        &["frame.number"],
    );
    assert_eq!(probes.len(), 2, "{probes:?}");
    let a = analyse(&path);
    let e = of(&a, "emergency-call");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Low, "{}", e[0].details);
    assert!(
        e[0].details.contains("rejected without ringing"),
        "{}",
        e[0].details
    );
    let path = corpus("sipp-emergency-call");
    let rang = tshark(&path, "sip.Status-Code == 180", &["frame.number"]);
    assert!(!rang.is_empty());
    let a = analyse(&path);
    let e = of(&a, "emergency-call");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::High, "{}", e[0].details);
}
