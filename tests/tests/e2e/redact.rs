//! Redaction end to end: after `report::redact::redact`, not one IP address, SIP user part, display name or digest
//! user name that TShark finds in the capture appears in the JSON or CSV output; the counts of calls, streams,
//! messages and findings are unchanged; pseudonyms are stable (two runs give the same bytes) and consistent (the
//! same address has the same pseudonym in messages, calls, streams and findings; Call-IDs keep linking).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::findings::Settings;
use earshot_core::model::Analysis;
use earshot_core::report::{csv, json, redact::redact};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::{captures_dir, samples_dir};

fn analyse(path: &Path, settings: Settings) -> Analysis {
    let opts = AnalyzeOptions {
        rules: settings,
        ..Default::default()
    };
    analyze_file(path, &opts, &mut |_| {}).unwrap()
}

/// Identities TShark sees in the SIP of `path`: (IP addresses, users/numbers, display names).
fn tshark_identities(path: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let fields = [
        "ip.src",
        "ip.dst",
        "ipv6.src",
        "ipv6.dst",
        "sip.from.user",
        "sip.to.user",
        "sip.r-uri.user",
        "sip.contact.user",
        "sip.auth.username",
        "sip.from.display.info",
        "sip.to.display.info",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-Y", "sip", "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    cmd.args(["-E", "separator=/t", "-E", "aggregator=/t"]);
    let out = cmd
        .output()
        .expect("tshark runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut ips, mut ids) = (BTreeSet::new(), BTreeSet::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        for v in line.split('\t') {
            let v = v.trim().trim_matches('"').trim();
            if v.is_empty() {
                continue;
            }
            if v.parse::<IpAddr>().is_ok() {
                ips.insert(v.to_string());
            } else {
                ids.insert(v.to_string());
            }
        }
    }
    (ips, ids)
}

/// Places where `needle` stands in `hay` as a whole token (no letter or digit right before or after it).
fn whole_occurrences(hay: &str, needle: &str) -> Vec<String> {
    let lower = hay.to_ascii_lowercase();
    let needle_l = needle.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut out = Vec::new();
    for (i, _) in lower.match_indices(&needle_l) {
        let end = i + needle_l.len();
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(end).copied();
        let word = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !word(before) && !word(after) {
            let context: String = hay[..i]
                .chars()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let after_text: String = hay[i..].chars().take(needle.chars().count() + 40).collect();
            out.push(format!("{context}{after_text}"));
        }
    }
    out
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-redact-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// JSON and every CSV table of `a`, as text.
fn exports(a: &Analysis, name: &str) -> Vec<(String, String)> {
    let mut out = vec![("json".to_string(), json::to_json_string(a))];
    let dir = tmp_dir(name);
    for p in csv::write_csv_dir(a, &dir).unwrap() {
        out.push((
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    out
}

fn check_capture(path: &Path, name: &str) {
    let (ips, ids) = tshark_identities(path);
    assert!(
        !ips.is_empty() && !ids.is_empty(),
        "tshark found nothing in {path:?}"
    );
    let original = analyse(path, Settings::default());
    // Before redaction the identities are there (so the check below can fail).
    let plain = json::to_json_string(&original);
    for t in ips.iter().chain(&ids) {
        assert!(
            !whole_occurrences(&plain, t).is_empty(),
            "{t} not in the unredacted JSON"
        );
    }

    let red = redact(&original);
    for (file, text) in exports(&red, name) {
        for t in ips.iter().chain(&ids) {
            let hits = whole_occurrences(&text, t);
            assert!(hits.is_empty(), "{t} left in {file}: {hits:#?}");
        }
    }

    // Same shape.
    assert_eq!(red.calls.len(), original.calls.len());
    assert_eq!(red.streams.len(), original.streams.len());
    assert_eq!(red.messages.len(), original.messages.len());
    assert_eq!(red.findings.len(), original.findings.len());
    for (a, b) in original.findings.iter().zip(&red.findings) {
        assert_eq!(
            (&a.rule_id, &a.evidence_frames, a.severity),
            (&b.rule_id, &b.evidence_frames, b.severity)
        );
        assert_eq!(a.sources.len(), b.sources.len());
        assert_eq!(a.call_ids.len(), b.call_ids.len());
    }
    for (a, b) in original.calls.iter().zip(&red.calls) {
        assert_eq!((a.frames.clone(), a.state), (b.frames.clone(), b.state));
    }
    assert_eq!(red.capture.sha256, original.capture.sha256);

    // Stable: a second run gives the same bytes.
    assert_eq!(
        json::to_json_string(&redact(&original)),
        json::to_json_string(&red)
    );

    // Consistent: one pseudonym per address everywhere, and distinct addresses stay distinct.
    let mut map: HashMap<IpAddr, IpAddr> = HashMap::new();
    let mut pair = |o: IpAddr, r: IpAddr| {
        let prev = map.insert(o, r);
        assert!(
            prev.is_none_or(|p| p == r),
            "{o} redacted as {prev:?} and {r}"
        );
    };
    for (a, b) in original.messages.iter().zip(&red.messages) {
        pair(a.src.ip(), b.src.ip());
        pair(a.dst.ip(), b.dst.ip());
        assert_eq!((a.src.port(), a.frame), (b.src.port(), b.frame));
    }
    for (a, b) in original.calls.iter().zip(&red.calls) {
        for (x, y) in a.endpoints.iter().zip(&b.endpoints) {
            pair(x.ip(), y.ip());
        }
    }
    for (a, b) in original.streams.iter().zip(&red.streams) {
        if let (Some(x), Some(y)) = (a.src, b.src) {
            pair(x.ip(), y.ip());
        }
    }
    for (a, b) in original.findings.iter().zip(&red.findings) {
        for (x, y) in a.sources.iter().zip(&b.sources) {
            pair(*x, *y);
        }
    }
    let distinct: BTreeSet<_> = map.values().collect();
    assert_eq!(distinct.len(), map.len(), "two addresses share a pseudonym");
    for (o, r) in &map {
        assert_ne!(o, r);
        assert!(!ips.contains(&r.to_string()), "{r} is an original address");
    }

    // Call-IDs keep linking calls, streams, messages and findings.
    let call_map: HashMap<&str, &str> = original
        .calls
        .iter()
        .zip(&red.calls)
        .map(|(a, b)| (a.call_id.as_str(), b.call_id.as_str()))
        .collect();
    for (a, b) in original.streams.iter().zip(&red.streams) {
        assert_eq!(
            a.call_id.as_deref().map(|c| call_map[c]),
            b.call_id.as_deref()
        );
    }
    for (a, b) in original.messages.iter().zip(&red.messages) {
        assert_eq!(
            a.message.call_id.as_deref().map(|c| call_map[c]),
            b.message.call_id.as_deref()
        );
    }
    for (a, b) in original.findings.iter().zip(&red.findings) {
        let mapped: Vec<&str> = a.call_ids.iter().map(|c| call_map[c.as_str()]).collect();
        assert_eq!(mapped, b.call_ids);
    }
}

#[test]
fn dtmf_capture_has_no_identity_left() {
    check_capture(&captures_dir().join("SIP_DTMF2.cap"), "dtmf2");
}

#[test]
fn brute_force_capture_has_no_identity_left() {
    check_capture(
        &samples_dir().join("brute-force-success/brute-force-success.pcap"),
        "brute",
    );
}

#[test]
fn cracked_password_is_masked_unless_revealed() {
    // The sample's README: the attacker's 81st guess, `2001pass`, is accepted.
    let path = samples_dir().join("brute-force-success/brute-force-success.pcap");
    let masked = analyse(&path, Settings::default());
    let weak = masked
        .findings
        .iter()
        .find(|f| f.rule_id == "weak-password");
    assert!(weak.is_some(), "no weak-password finding");
    let red = json::to_json_string(&redact(&masked));
    for text in [json::to_json_string(&masked), red] {
        assert!(!text.contains("2001pass"), "password shown");
    }
    let revealed = analyse(
        &path,
        Settings {
            reveal_passwords_in_exports: true,
            ..Default::default()
        },
    );
    assert!(json::to_json_string(&revealed).contains("\\\"2001pass\\\""));
}
