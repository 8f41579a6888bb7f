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
    assert_eq!(sc.len(), 1);
    assert!(sc[0].details.contains("`Zeeko`"));
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
