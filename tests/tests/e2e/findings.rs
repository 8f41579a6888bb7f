//! Findings on the shared captures and the project's samples, with counts checked against TShark where a count is
//! asserted: scanners (also inside QinQ/PPPoE/GRE), exposed digests, plaintext signalling and media, SRTP keys in
//! plaintext SDP, no false findings on TLS-only and DTLS-SRTP captures, and settings from a TOML file.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use earshot_core::findings::Settings;
use earshot_core::model::{Analysis, Finding, Severity};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::{captures_dir, samples_dir};

fn analyse_with(path: &Path, rules: Settings) -> Analysis {
    let opts = AnalyzeOptions {
        rules,
        ..Default::default()
    };
    analyze_file(path, &opts, &mut |_| {}).unwrap()
}

fn analyse(name: &str) -> Analysis {
    analyse_with(&captures_dir().join(name), Settings::default())
}

fn rules(a: &Analysis) -> BTreeSet<&str> {
    a.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

fn of<'a>(a: &'a Analysis, rule: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.rule_id == rule).collect()
}

/// Frame numbers TShark shows for a display filter (an independent reader).
fn tshark_frames(path: &Path, filter: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn sipvicious_scan_is_a_scanner_per_source() {
    let a = analyse("BadUserAgent-sipvicious.pcap");
    let s = of(&a, "scanner");
    // 26 OPTIONS: 25 as friendly-scanner, 1 as Zeeko (MANIFEST); every one is evidence of a scanner.
    let frames: u64 = s.iter().map(|f| f.evidence_frames_total).sum();
    assert_eq!(frames, 26);
    let top = s
        .iter()
        .find(|f| f.sources == ["7.17.254.165".parse::<std::net::IpAddr>().unwrap()])
        .unwrap();
    let path = captures_dir().join("BadUserAgent-sipvicious.pcap");
    assert_eq!(
        top.evidence_frames,
        tshark_frames(
            &path,
            "ip.src == 7.17.254.165 && sip.User-Agent contains \"friendly-scanner\""
        )
    );
    assert_eq!(top.severity, Severity::High);
    assert!(top.details.contains("`friendly-scanner`"));
    assert!(rules(&a).contains("plaintext-sip"));
}

#[test]
fn friendly_scanner_inside_qinq_pppoe_gre_is_found() {
    let a = analyse("gre_sip.pcapng");
    let s = of(&a, "scanner");
    assert_eq!(s.len(), 1);
    let path = captures_dir().join("gre_sip.pcapng");
    assert_eq!(
        s[0].evidence_frames,
        tshark_frames(&path, "sip.User-Agent contains \"friendly-scanner\"")
    );
    assert_eq!(
        s[0].sources,
        ["212.83.179.0".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn digest_credentials_in_clear_are_exposed() {
    let a = analyse("aaa.pcap");
    let d = of(&a, "digest-exposed");
    assert_eq!(d.len(), 1);
    let path = captures_dir().join("aaa.pcap");
    let frames = tshark_frames(&path, "sip.Authorization || sip.Proxy-Authorization");
    assert_eq!(d[0].evidence_frames, frames);
    assert_eq!(d[0].users, ["voi18062", "voi18063"]);
    assert!(d[0].details.contains("sip.cybercity.dk"));

    let a = analyse("SIP-Bruteforce-Single-IP.pcap");
    let d = of(&a, "digest-exposed");
    assert_eq!(
        d[0].sources,
        ["199.105.226.32".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(d[0].users.len(), 45);
}

#[test]
fn plain_calls_expose_signalling_and_media() {
    for name in [
        "sip-rtp-g711.pcap",
        "sip-rtp-g722.pcap",
        "sip-rtp-g729a.pcap",
        "sip-rtp-gsm.pcap",
        "sip-rtp-ilbc.pcap",
        "sip-rtp-opus.pcap",
        "sip-rtp-speex.pcap",
    ] {
        let a = analyse(name);
        let r = rules(&a);
        assert!(
            r.contains("plaintext-sip") && r.contains("unencrypted-media"),
            "{name}: {r:?}"
        );
        assert!(
            !r.contains("scanner") && !r.contains("digest-exposed"),
            "{name}: {r:?}"
        );
        let m = &of(&a, "unencrypted-media")[0];
        assert_eq!(m.streams.len(), a.streams.len(), "{name}");
        assert_eq!(m.severity, Severity::High, "{name}: the audio plays back");
    }
}

#[test]
fn encrypted_captures_raise_no_plaintext_findings() {
    // TLS-only signalling: nothing readable, so no plaintext-sip.
    let a = analyse("tlssaved.pcap");
    assert!(!rules(&a).contains("plaintext-sip"), "{:?}", rules(&a));
    // DTLS-SRTP media: encrypted, so no unencrypted-media.
    let a = analyse("stun_dtls_rtp.pcapng");
    assert!(!rules(&a).contains("unencrypted-media"), "{:?}", rules(&a));
}

#[test]
fn samples_raise_what_their_readmes_say() {
    let a = analyse_with(
        &samples_dir().join("clean-call/clean-call.pcap"),
        Settings::default(),
    );
    assert_eq!(
        rules(&a),
        BTreeSet::from(["plaintext-sip", "unencrypted-media"]),
        "a clean plaintext call raises no attack finding"
    );
    let a = analyse_with(
        &samples_dir().join("srtp-sdes-call/srtp-sdes-call.pcap"),
        Settings::default(),
    );
    assert_eq!(
        rules(&a),
        BTreeSet::from(["plaintext-sip", "srtp-keys-exposed"])
    );
    let k = &of(&a, "srtp-keys-exposed")[0];
    // The INVITE (frame 1) and the 200 OK (frame 4) carry the keys; both streams are the ones they protect.
    assert_eq!(k.evidence_frames, [1, 4]);
    assert_eq!(k.streams, [0, 1]);
    assert_eq!(k.severity, Severity::High);
}

#[test]
fn settings_come_from_a_toml_file() {
    let dir = std::env::temp_dir().join(format!("earshot-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("rules.toml");
    std::fs::write(
        &p,
        "scanner_user_agents = [\"zeeko\"]\ndisabled_rules = [\"plaintext-sip\"]\n",
    )
    .unwrap();
    let s = Settings::from_toml_file(&p).unwrap();
    let a = analyse_with(&captures_dir().join("BadUserAgent-sipvicious.pcap"), s);
    let sc = of(&a, "scanner");
    // The one `Zeeko` source by its name; the friendly-scanner ones (name no longer listed) by svmap's headers.
    assert_eq!(sc.len(), 11);
    assert_eq!(
        sc.iter().filter(|f| f.details.contains("`Zeeko`")).count(),
        1
    );
    assert_eq!(
        sc.iter()
            .filter(|f| f.details.contains("svmap header pattern"))
            .count(),
        10
    );
    assert!(!rules(&a).contains("plaintext-sip"));
    // Unknown keys are refused with the file named.
    std::fs::write(&p, "scaner_user_agents = []\n").unwrap();
    let e = Settings::from_toml_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("rules.toml") && e.contains("scaner_user_agents"),
        "{e}"
    );
    // The defaults round-trip through their TOML form.
    let d: Settings = toml_roundtrip(&Settings::defaults_toml(), &dir);
    assert_eq!(d, Settings::default());
}

fn toml_roundtrip(text: &str, dir: &Path) -> Settings {
    let p = dir.join("defaults.toml");
    std::fs::write(&p, text).unwrap();
    Settings::from_toml_file(&p).unwrap()
}

#[test]
fn metasploit_spoofed_invite_is_caller_id_spoofing() {
    let a = analyse("metasploit-sip-invite-spoof.pcap");
    let s = of(&a, "caller-id-spoofing");
    assert_eq!(s.len(), 1);
    // Frame 1: from 10.0.1.199, Via sent-by 10.0.1.45 (the target itself), Contact 127.0.0.1.
    assert_eq!(s[0].evidence_frames, [1]);
    assert_eq!(s[0].severity, Severity::High);
    assert!(
        s[0].details
            .contains("Via claims 10.0.1.45 while the packet came from 10.0.1.199")
    );
    assert!(s[0].details.contains("Contact points at 127.0.0.1"));
}

#[test]
fn dtmf_in_clear_is_a_secret_and_non_digit_events_are_not() {
    let a = analyse("SIP_DTMF2.cap");
    let d = of(&a, "dtmf-secret");
    assert_eq!(d.len(), 1);
    assert!(d[0].details.contains("6789123"), "{}", d[0].details);
    assert_eq!(d[0].evidence_frames_total, 7);
    // The fax call's only telephone-event is event 194, not a digit.
    let a = analyse("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
    assert!(of(&a, "dtmf-secret").is_empty());
}

const T0: i64 = 1_767_225_600_000_000_000;

fn sip_frame(ms: i64, src: [u8; 4], dst: [u8; 4], text: &str) -> earshot_e2e::pcapw::Frame {
    earshot_e2e::pcapw::Frame::new(
        T0 + ms * 1_000_000,
        earshot_e2e::pcapw::eth_udp4(src.into(), 5060, dst.into(), 5060, text.as_bytes()),
    )
}

fn invite(call: &str, from: &str, to: &str, extra: &str) -> String {
    format!(
        "INVITE sip:{to}@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-{call}\r\n\
         From: {from};tag=a\r\nTo: <sip:{to}@10.0.0.1>\r\nCall-ID: {call}\r\nCSeq: 1 INVITE\r\n\
         Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn response(call: &str, code: u16, reason: &str, method: &str) -> String {
    format!(
        "SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-{call}\r\n\
         From: <sip:x@10.0.0.1>;tag=a\r\nTo: <sip:y@10.0.0.1>;tag=b\r\nCall-ID: {call}\r\nCSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn hostile_headers_loops_emergency_and_anonymous_calls() {
    let atk = [10, 9, 9, 9];
    let pbx = [10, 0, 0, 1];
    let frames = vec![
        // 1: SQL injection in the display name; 2: a script tag in User-Agent; 3: bidi override in From.
        sip_frame(
            0,
            atk,
            pbx,
            &invite("c1", "\"x' OR '1'='1\" <sip:100@10.9.9.9>", "200", ""),
        ),
        sip_frame(
            10,
            atk,
            pbx,
            &invite(
                "c2",
                "<sip:101@10.9.9.9>",
                "201",
                "User-Agent: <script>alert(1)</script>\r\n",
            ),
        ),
        sip_frame(
            20,
            atk,
            pbx,
            &invite("c3", "\"abc\u{202e}gnp.exe\" <sip:102@10.9.9.9>", "202", ""),
        ),
        // 4-5: a loop answered 483.
        sip_frame(30, atk, pbx, &invite("c4", "<sip:103@10.9.9.9>", "300", "")),
        sip_frame(
            31,
            pbx,
            atk,
            &response("c4", 483, "Too Many Hops", "INVITE"),
        ),
        // 6: an emergency call from a source that never registered; 7: an anonymous call.
        sip_frame(40, atk, pbx, &invite("c5", "<sip:104@10.9.9.9>", "112", "")),
        sip_frame(
            50,
            atk,
            pbx,
            &invite(
                "c6",
                "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
                "203",
                "",
            ),
        ),
        // 8: a display name impersonating the police.
        sip_frame(
            60,
            atk,
            pbx,
            &invite("c7", "\"City Police\" <sip:110@10.9.9.9>", "204", ""),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("earshot-findings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hostile.pcap");
    std::fs::write(&path, earshot_e2e::pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse_with(&path, Settings::default());

    let h = of(&a, "header-injection");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].evidence_frames, [1, 2, 3]);
    assert!(
        h[0].details.contains("SQL injection") && h[0].details.contains("script/HTML injection")
    );
    assert!(h[0].details.contains("bidi override characters"));
    // Shown escaped: the override character itself never reaches the report.
    assert!(!h[0].details.contains('\u{202e}') && h[0].details.contains("\\u{202e}"));

    let l = of(&a, "routing-loop");
    assert_eq!((l.len(), l[0].evidence_frames.as_slice()), (1, &[5u64][..]));

    let e: Vec<_> = of(&a, "emergency-call");
    let emergency = e.iter().find(|f| f.title == "Emergency calls").unwrap();
    assert_eq!(emergency.evidence_frames, [6]);
    assert_eq!(
        emergency.severity,
        Severity::High,
        "the source never registered"
    );
    let anon = e.iter().find(|f| f.title == "Anonymous calls").unwrap();
    assert_eq!(anon.evidence_frames, [7]);

    let s = of(&a, "caller-id-spoofing");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].evidence_frames, [8]);
    assert!(s[0].details.contains("impersonates `police`"));
}

#[test]
fn international_calls_are_toll_fraud_candidates() {
    let a = analyse("aaa.pcap");
    let t = of(&a, "toll-fraud");
    assert_eq!(t.len(), 1);
    // First INVITE of each Call-ID dialling 00… (TShark), daytime, unanswered: low.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(captures_dir().join("aaa.pcap"))
        .args([
            "-Y",
            "sip.Method == \"INVITE\" && sip.to.user matches \"^00\"",
            "-T",
            "fields",
        ])
        .args(["-e", "frame.number", "-e", "sip.Call-ID"])
        .output()
        .unwrap();
    let mut first: std::collections::BTreeMap<String, u64> = Default::default();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = l.split('\t');
        let (Some(n), Some(c)) = (f.next(), f.next()) else {
            continue;
        };
        let n: u64 = n.parse().unwrap();
        let e = first.entry(c.to_string()).or_insert(n);
        *e = (*e).min(n);
    }
    let mut want: Vec<u64> = first.into_values().collect();
    want.sort_unstable();
    assert_eq!(t[0].evidence_frames, want);
    assert_eq!(t[0].users, ["0097239287044"]);
    assert_eq!(t[0].severity, Severity::Low);
}

fn register(call: &str, aor: &str, contact: &str, seq: u32) -> String {
    format!(
        "REGISTER sip:10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {contact}:5060;branch=z9hG4bK-{call}-{seq}\r\n\
         From: <sip:{aor}@10.0.0.1>;tag=r\r\nTo: <sip:{aor}@10.0.0.1>\r\nCall-ID: {call}\r\nCSeq: {seq} REGISTER\r\n\
         Contact: <sip:{aor}@{contact}:5060>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn ok_register(call: &str, seq: u32) -> String {
    format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-{call}-{seq}\r\n\
         From: <sip:x@10.0.0.1>;tag=r\r\nTo: <sip:x@10.0.0.1>;tag=s\r\nCall-ID: {call}\r\nCSeq: {seq} REGISTER\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn toll_burst_at_night_and_a_moved_registration() {
    let pbx = [10, 0, 0, 1];
    let phone = [10, 0, 0, 5];
    let outsider = [198, 51, 100, 7];
    let mut frames = vec![
        // 2026-01-01 00:00 UTC: the phone registers 2001, then an outside host registers 2001 — accepted unchallenged.
        sip_frame(0, phone, pbx, &register("r1", "2001", "10.0.0.5", 1)),
        sip_frame(5, pbx, phone, &ok_register("r1", 1)),
        sip_frame(
            1000,
            outsider,
            pbx,
            &register("r2", "2001", "198.51.100.7", 1),
        ),
        sip_frame(1005, pbx, outsider, &ok_register("r2", 1)),
    ];
    // Then 8 calls to one premium-rate international number within 2 minutes, at 00:01 UTC.
    for i in 0..8 {
        frames.push(sip_frame(
            60_000 + i * 15_000,
            outsider,
            pbx,
            &invite(
                &format!("t{i}"),
                "<sip:2001@198.51.100.7>",
                "+88213000111",
                "",
            ),
        ));
    }
    let dir = std::env::temp_dir().join(format!("earshot-findings-toll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("toll.pcap");
    std::fs::write(&path, earshot_e2e::pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse_with(&path, Settings::default());

    let t = of(&a, "toll-fraud");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].severity, Severity::Critical, "{}", t[0].details);
    assert!(t[0].details.contains("+88213000111 ×8"), "{}", t[0].details);
    assert!(
        t[0].details.contains("8 outside office hours"),
        "{}",
        t[0].details
    );
    assert_eq!(t[0].evidence_frames, [5, 6, 7, 8, 9, 10, 11, 12]);

    let h = of(&a, "registration-hijack");
    assert_eq!(h.len(), 1);
    assert!(
        h[0].details.contains("10.0.0.5 → 198.51.100.7"),
        "{}",
        h[0].details
    );
    assert_eq!(h[0].evidence_frames, [3, 4]);
    let u = of(&a, "unauthenticated-accepted");
    assert_eq!(
        u.len(),
        1,
        "only the outsider's REGISTER: the phone is on a trusted network"
    );
    assert_eq!(u[0].evidence_frames, [3, 4]);
}

#[test]
fn tls_versions_come_from_the_handshake_or_the_records() {
    // tlssaved: two SIP/TLS connections to 5061, application data only, TLS 1.0 records.
    let a = analyse("tlssaved.pcap");
    assert_eq!(a.tls.len(), 2);
    assert!(
        a.tls
            .iter()
            .all(|t| t.version == "TLS 1.0" && t.version_source == "record layer")
    );
    assert!(a.tls.iter().all(|t| t.server.port() == 5061));
    let o = of(&a, "outdated-tls");
    assert_eq!(o.len(), 1);
    assert!(
        o[0].details.contains("2 TLS connections"),
        "{}",
        o[0].details
    );
    // sip_ipv4_tcp_retrans: HTTPS beside the SIP; TShark reads the ServerHellos (frames 63, 74) as TLS 1.2.
    let path = captures_dir().join("sip_ipv4_tcp_retrans.pcap");
    let a = analyse_with(&path, Settings::default());
    let from_hello: Vec<_> = a
        .tls
        .iter()
        .filter(|t| t.version_source == "ServerHello")
        .collect();
    assert_eq!(
        from_hello.len(),
        tshark_frames(&path, "tls.handshake.type == 2").len()
    );
    assert!(from_hello.iter().all(|t| t.version == "TLS 1.2"));
    assert!(of(&a, "outdated-tls").is_empty());
}

#[test]
fn the_eavesdropper_summary_says_what_leaked() {
    let a = analyse("SIP_DTMF2.cap");
    let x = &a.exposure;
    assert_eq!(x.plaintext_sip_messages, 29);
    assert_eq!(x.call_graph.len(), 1);
    assert_eq!(
        (x.call_graph[0].from.as_str(), x.call_graph[0].to.as_str()),
        ("2502", "2504")
    );
    assert_eq!((x.call_graph[0].calls, x.call_graph[0].answered), (2, 1));
    assert_eq!(x.reconstructable_streams, 2);
    assert_eq!(x.dtmf.len(), 1);
    assert_eq!(x.dtmf[0].digits, "6789123");
    let a = analyse("aaa.pcap");
    let users: BTreeSet<&str> = a
        .exposure
        .credentials
        .iter()
        .map(|c| c.username.as_str())
        .collect();
    assert_eq!(users, BTreeSet::from(["voi18062", "voi18063"]));
    assert_eq!(
        a.exposure
            .credentials
            .iter()
            .map(|c| c.responses)
            .sum::<u64>(),
        12
    );
    assert_eq!(a.exposure.devices.len(), 3);
    let a = analyse_with(
        &samples_dir().join("srtp-sdes-call/srtp-sdes-call.pcap"),
        Settings::default(),
    );
    assert_eq!(a.exposure.srtp_keys_exposed, 2);
    assert_eq!(
        a.exposure.reconstructable_streams, 2,
        "SRTP with its keys in the SDP plays back"
    );
}

#[test]
fn management_ports_on_the_wire() {
    // aaa.pcap: an FTP session from the LAN phone's host to a public server (TShark counts the packets).
    let path = captures_dir().join("aaa.pcap");
    let a = analyse_with(&path, Settings::default());
    let m = of(&a, "management-port");
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].severity,
        Severity::Medium,
        "the peer is inside the trusted networks"
    );
    let svc = &a.services[0];
    assert_eq!((svc.server.port(), svc.service.as_str()), (21, "FTP"));
    assert_eq!(
        svc.packets as usize,
        tshark_frames(&path, "tcp.port == 21").len()
    );

    // Asterisk AMI reached from the internet: high.
    let outsider = [203, 0, 113, 9];
    let pbx = [10, 0, 0, 1];
    let frames: Vec<_> = (0..4)
        .map(|i| {
            earshot_e2e::pcapw::Frame::new(
                T0 + i * 1_000_000,
                earshot_e2e::pcapw::eth_udp4(
                    outsider.into(),
                    40_000,
                    pbx.into(),
                    5038,
                    b"Action: Login\r\nUsername: admin\r\nSecret: amp111\r\n\r\n",
                ),
            )
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("earshot-findings-ami-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("ami.pcap");
    std::fs::write(&p, earshot_e2e::pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse_with(&p, Settings::default());
    let m = of(&a, "management-port");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].severity, Severity::High);
    assert!(
        m[0].title
            .contains("Asterisk AMI reachable at 10.0.0.1:5038")
    );
    assert_eq!(m[0].evidence_frames, [1, 4]);
}

#[test]
fn an_options_sweep_is_a_scanner_without_a_tool_name() {
    let src = [192, 0, 2, 66];
    let frames: Vec<_> = (1..=12u8)
        .map(|h| {
            let text = format!(
                "OPTIONS sip:100@10.1.0.{h} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK-{h}\r\n\
                 From: <sip:probe@192.0.2.66>;tag=x\r\nTo: <sip:100@10.1.0.{h}>\r\nCall-ID: sweep-{h}\r\n\
                 CSeq: 1 OPTIONS\r\nUser-Agent: Linphone/5.2\r\nContent-Length: 0\r\n\r\n"
            );
            sip_frame(i64::from(h) * 100, src, [10, 1, 0, h], &text)
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("earshot-findings-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("sweep.pcap");
    std::fs::write(&p, earshot_e2e::pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse_with(&p, Settings::default());
    let s = of(&a, "scanner");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].confidence, earshot_core::model::Confidence::Medium);
    assert!(
        s[0].details.contains("a sweep of 12 addresses"),
        "{}",
        s[0].details
    );
    assert_eq!(s[0].evidence_frames_total, 12);
    // With a threshold above the 12 hosts probed, no sweep.
    let a = analyse_with(
        &p,
        Settings {
            scan_min_hosts: 13,
            ..Settings::default()
        },
    );
    assert!(of(&a, "scanner").is_empty());
}

#[test]
fn svmap_requests_are_recognised_by_their_headers_alone() {
    // Without any tool name in the settings, sipvicious' From = To / Contact / hex-tag shape still gives it away.
    let s = Settings {
        scanner_user_agents: vec![],
        ..Settings::default()
    };
    let a = analyse_with(&captures_dir().join("BadUserAgent-sipvicious.pcap"), s);
    let sc = of(&a, "scanner");
    assert_eq!(sc.iter().map(|f| f.evidence_frames_total).sum::<u64>(), 26);
    assert!(
        sc.iter()
            .all(|f| f.details.contains("svmap header pattern"))
    );
}

#[test]
fn undialable_caller_ids_and_toll_calls_after_password_guessing() {
    let atk = [203, 0, 113, 40];
    let pbx = [10, 0, 0, 1];
    let frames = vec![sip_frame(
        0,
        atk,
        pbx,
        &invite("u1", "<sip:+1555CALLNOW@203.0.113.40>", "200", ""),
    )];
    let dir = std::env::temp_dir().join(format!("earshot-findings-dial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("dial.pcap");
    std::fs::write(&p, earshot_e2e::pcapw::pcap_bytes(1, &frames)).unwrap();
    let a = analyse_with(&p, Settings::default());
    let s = of(&a, "caller-id-spoofing");
    assert_eq!(s.len(), 1);
    assert!(
        s[0].details.contains("is not a dialable number"),
        "{}",
        s[0].details
    );

    // The brute-force sample's attacker then calls a satellite number with the guessed account: critical.
    let a = analyse_with(
        &samples_dir().join("brute-force-success/brute-force-success.pcap"),
        Settings::default(),
    );
    let t = of(&a, "toll-fraud");
    assert_eq!(t[0].severity, Severity::Critical);
    assert!(
        t[0].details
            .contains("198.51.100.23 — a source whose credentials the server had rejected")
    );
}
