//! The project's own sample captures: regenerating them gives the committed bytes (or, for a sample whose payloads
//! a floating-point encoder made, the committed layout and the same analysis), and each analyses to what its README
//! promises.

use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::r#gen::{BenchSpec, write_bench};
use earshot_e2e::pcapw::compare_layout;
use earshot_e2e::samples::Reproduce;
use earshot_e2e::samples_dir;

#[test]
fn sample_captures_regenerate_identically() {
    let spec = BenchSpec {
        calls: 1,
        talk_secs: 10,
        stagger_ms: 0,
        dns_every_ms: 0,
        srtp: false,
        mix: false,
        accounts: 0,
    };
    let mut bytes = Vec::new();
    write_bench(&spec, &mut bytes).unwrap();
    let committed = std::fs::read(samples_dir().join("clean-call/clean-call.pcap")).unwrap();
    assert!(
        bytes == committed,
        "samplegen clean-call no longer reproduces sample-captures/clean-call/clean-call.pcap"
    );
    let mut bytes = Vec::new();
    write_bench(&BenchSpec { srtp: true, ..spec }, &mut bytes).unwrap();
    let committed =
        std::fs::read(samples_dir().join("srtp-sdes-call/srtp-sdes-call.pcap")).unwrap();
    assert!(
        bytes == committed,
        "samplegen srtp-sdes-call no longer reproduces sample-captures/srtp-sdes-call/srtp-sdes-call.pcap"
    );
}

#[test]
fn clean_call_shows_what_its_readme_says() {
    let a = analyze_file(
        &samples_dir().join("clean-call/clean-call.pcap"),
        &AnalyzeOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(a.summary.packets, 1007);
    assert_eq!(a.summary.sip_messages, 7);
    assert_eq!(a.summary.sip_retransmissions, 0);
    assert_eq!(a.calls.len(), 1);
    let c = &a.calls[0];
    assert_eq!(c.state.map(|s| s.as_str()), Some("completed"));
    assert!(c.answered);
    assert_eq!(c.end_reason.as_deref(), Some("bye"));
    assert_eq!(c.ended_by.map(|p| p.as_str()), Some("caller"));
    assert!(
        (c.setup_time_secs.unwrap() - 1.570).abs() < 1e-9,
        "{:?}",
        c.setup_time_secs
    );
    assert_eq!(c.codecs, vec!["PCMU", "telephone-event"]);
    assert_eq!(
        c.from.as_ref().and_then(|f| f.user.as_deref()),
        Some("1000")
    );
    assert_eq!(c.to.as_ref().and_then(|f| f.user.as_deref()), Some("5000"));
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
}

#[test]
fn srtp_sdes_call_shows_what_its_readme_says() {
    let a = analyze_file(
        &samples_dir().join("srtp-sdes-call/srtp-sdes-call.pcap"),
        &AnalyzeOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(a.calls.len(), 1);
    assert!(a.calls[0].answered);
    assert_eq!(a.streams.len(), 2);
    for s in &a.streams {
        assert_eq!(s.packets, 500);
        assert_eq!(s.encryption.as_str(), "srtp");
        assert_eq!(
            s.encryption_evidence.as_deref(),
            Some("SDP RTP/SAVP with a=crypto AES_CM_128_HMAC_SHA1_80 (SDES keys in the SDP)")
        );
    }
}

#[test]
fn generated_samples_regenerate_identically_and_raise_their_findings() {
    for sample in earshot_e2e::samples::all() {
        let mut bytes = Vec::new();
        (sample.write)(&mut bytes).unwrap();
        let path = samples_dir()
            .join(sample.name)
            .join(format!("{}.pcap", sample.name));
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run samplegen samples sample-captures)",
                path.display()
            )
        });
        match sample.reproduce {
            Reproduce::Bytes => assert!(
                bytes == committed,
                "samplegen sample {} no longer reproduces {}",
                sample.name,
                path.display()
            ),
            Reproduce::Layout { float_pt } => {
                if let Err(e) = compare_layout(&bytes, &committed, float_pt) {
                    panic!(
                        "samplegen sample {} no longer reproduces the layout of {}: {e}",
                        sample.name,
                        path.display()
                    );
                }
                // What this CPU's encoder made must analyse the same as the committed file (its audio is checked
                // by media_samples::opus_call_regenerated_here_decodes_to_its_tones).
                let here = std::env::temp_dir().join(format!(
                    "earshot-sample-{}-{}.pcap",
                    sample.name,
                    std::process::id()
                ));
                std::fs::write(&here, &bytes).unwrap();
                let a = analyze_file(&here, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
                let b = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
                let _ = std::fs::remove_file(&here);
                let shape = |a: &earshot_core::model::Analysis| {
                    (
                        a.calls.len(),
                        a.streams
                            .iter()
                            .map(|s| (s.packets, s.lost))
                            .collect::<Vec<_>>(),
                        a.findings
                            .iter()
                            .map(|f| f.rule_id.clone())
                            .collect::<Vec<_>>(),
                        a.diagnostics.len(),
                    )
                };
                assert_eq!(shape(&a), shape(&b), "{}", sample.name);
            }
        }
        assert!(
            samples_dir().join(sample.name).join("README.md").exists(),
            "{} has no README",
            sample.name
        );
        let a = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        let raised: std::collections::BTreeSet<&str> =
            a.findings.iter().map(|f| f.rule_id.as_str()).collect();
        for want in sample.findings {
            assert!(
                raised.contains(want),
                "{}: {want} not raised ({raised:?})",
                sample.name
            );
        }
    }
}

/// Every rule fires on at least one of the project's own samples (outdated TLS is shown on the shared
/// tlssaved.pcap instead: the samples' TLS is 1.2).
#[test]
fn the_samples_cover_every_rule() {
    let mut covered: std::collections::BTreeSet<&str> = earshot_e2e::samples::all()
        .iter()
        .flat_map(|s| s.findings.iter().copied())
        .collect();
    // clean-call and srtp-sdes-call come from the bench generator (their findings are asserted in findings.rs);
    // tls-keylog-call is a real-tool sample (real_tool_samples_show_what_their_readmes_say).
    covered.extend([
        "plaintext-sip",
        "unencrypted-media",
        "srtp-keys-exposed",
        "sdes-keys-in-tls",
        // stir-shaken is a real-tool sample (OpenSSL and SIPp), its findings asserted in stir_shaken.rs.
        "stir-shaken",
    ]);
    for rule in earshot_core::findings::all_rules() {
        // outdated-tls: shared tlssaved.pcap; analysis-limited: the adversarial captures (tests/tests/e2e/adversarial.rs),
        // far too big for a sample.
        if rule.id() == "outdated-tls" || rule.id() == "analysis-limited" {
            continue;
        }
        // Rules that need the keys of a real TLS/DTLS stack: the labelled captures of tests/tls and tests/dtls
        // (tests/tests/e2e/eval.rs) and the real-tool samples tls-keylog-call and dtls-srtp-call
        // (real_tool_samples_show_what_their_readmes_say).
        if matches!(
            rule.id(),
            "no-forward-secrecy" | "dtls-fingerprint-mismatch"
        ) {
            continue;
        }
        assert!(
            covered.contains(rule.id()),
            "no sample raises {}",
            rule.id()
        );
    }
    assert!(covered.contains("unauthenticated-accepted"));
}

/// The two samples made with real TLS/DTLS stacks (not by samplegen: their keys differ at every run, so they are
/// committed as made, with the script that made them): without keys what an eavesdropper sees, with the key log
/// beside them the whole call — SIP, findings, and audio that matches the WAVs that were sent (read back with
/// symphonia, correlation ≥ 0.99).
#[test]
fn real_tool_samples_show_what_their_readmes_say() {
    use std::sync::Arc;
    for (name, call_id, sip, findings_with_keys) in [
        (
            "tls-keylog-call",
            "1-8365@10.77.0.2",
            7usize,
            vec!["sdes-keys-in-tls", "version-disclosure"],
        ),
        (
            "dtls-srtp-call",
            "27f5d23a17cd53ee2c0b@192.0.2.10",
            6,
            vec!["plaintext-sip", "unauthenticated-accepted"],
        ),
    ] {
        let dir = samples_dir().join(name);
        let path = dir.join(format!("{name}.pcap"));
        let plain = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        let mut keys = earshot_core::tls::Keys::new();
        keys.load_keylog(&path.with_extension("keys")).unwrap();
        let opts = AnalyzeOptions {
            keys: Some(Arc::new(keys)),
            ..AnalyzeOptions::default()
        };
        let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
        assert_eq!(a.summary.sip_messages as usize, sip, "{name}");
        let c = a
            .calls
            .iter()
            .find(|c| c.call_id == call_id)
            .expect("the call");
        assert!(c.answered, "{name}");
        assert_eq!(c.streams.len(), 2, "{name}");
        let mut ids: Vec<&str> = a.findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, findings_with_keys, "{name}");
        if name == "tls-keylog-call" {
            assert_eq!(plain.summary.sip_messages, 0);
            assert!(plain.findings.is_empty());
            assert!(a.tls[0].decrypted);
        } else {
            assert!(a.dtls[0].srtp_keys_derived);
            assert!(!plain.dtls[0].srtp_keys_derived);
        }
        let req = earshot_core::audio::AudioRequest {
            streams: c.streams.clone(),
            ..Default::default()
        };
        let out = earshot_core::audio::decode_streams(&path, &a, &req, &opts, &mut |_| {}).unwrap();
        for s in &out {
            let st = &a.streams[s.stream_index];
            let srtp = s.srtp.as_ref().expect("decrypted");
            assert_eq!(srtp.auth_failures, 0, "{name}: {}", s.status);
            let wav = match st.sender.map(|p| p.as_str()) {
                Some("caller") => dir.join("caller.wav"),
                _ => dir.join("callee.wav"),
            };
            let (_, _, sent) = earshot_e2e::read_wav(&wav);
            let r = earshot_e2e::signal::correlation(&s.decoded.samples, &sent[0]);
            assert!(r >= 0.99, "{name} {}: correlation {r:.4}", wav.display());
        }
    }
}
