//! DTLS-SRTP media made with real DTLS stacks (`tests/dtls/captures/`: GnuTLS 3.7.9 and OpenSSL 3.0 handshakes with
//! `use_srtp`, key logs the stacks wrote, SRTP protected by libsrtp with the keys the stacks exported): Earshot
//! derives the SRTP keys from the key log alone and the decoded audio matches the WAV that was sent (correlation
//! ≥ 0.99, read back with symphonia); the handshake facts match TShark's reading; the fingerprint check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use earshot_core::audio::{self, AudioRequest};
use earshot_core::model::{Analysis, Encryption};
use earshot_core::tls::Keys;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::signal::correlation;
use earshot_e2e::{read_wav, tshark_fields};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dtls/captures")
}

fn opts(path: &Path, with_keys: bool) -> AnalyzeOptions {
    let keys = with_keys.then(|| {
        let mut k = Keys::new();
        k.load_keylog(&path.with_extension("keys"))
            .expect("key log");
        Arc::new(k)
    });
    AnalyzeOptions {
        keys,
        ..AnalyzeOptions::default()
    }
}

fn analyze(path: &Path, with_keys: bool) -> Analysis {
    analyze_file(path, &opts(path, with_keys), &mut |_| {}).expect("analysis")
}

const CASES: [(&str, &str); 4] = [
    ("dtls-srtp-aes128cm", "AES_CM_128_HMAC_SHA1_80"),
    ("dtls-srtp-aeadgcm", "AEAD_AES_128_GCM"),
    ("dtls-srtp-aead256gcm", "AEAD_AES_256_GCM"),
    ("dtls-srtp-interop", "AES_CM_128_HMAC_SHA1_80"),
];

#[test]
fn dtls_srtp_media_decrypts_to_the_audio_that_was_sent() {
    for (name, profile) in CASES {
        let path = dir().join(format!("{name}.pcap"));
        let a = analyze(&path, true);
        assert_eq!(a.dtls.len(), 1, "{name}");
        let d = &a.dtls[0];
        assert_eq!(d.srtp_profile.as_deref(), Some(profile), "{name}");
        assert!(d.srtp_keys_derived, "{name}: {:?}", d.not_decrypted);
        assert_eq!(a.streams.len(), 2, "{name}");
        for s in &a.streams {
            assert_eq!(s.encryption, Encryption::DtlsSrtp, "{name}");
        }
        let req = AudioRequest {
            streams: (0..a.streams.len()).collect(),
            ..Default::default()
        };
        let out = audio::decode_streams(&path, &a, &req, &opts(&path, true), &mut |_| {})
            .expect("decode");
        for s in &out {
            let st = a.streams.get(s.stream_index).expect("stream");
            let srtp = s
                .srtp
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: {}", s.status));
            assert_eq!(srtp.suite, profile, "{name}");
            assert_eq!(
                (srtp.verified, srtp.auth_failures),
                (150, 0),
                "{name}: {}",
                s.status
            );
            assert!(
                srtp.key_source.starts_with("DTLS-SRTP"),
                "{}",
                srtp.key_source
            );
            // A -> B (the DTLS client's media) carries NAME.wav, B -> A NAME.b2a.wav.
            let from_client = st.src == Some(d.client);
            let wav = if from_client {
                path.with_extension("wav")
            } else {
                dir().join(format!("{name}.b2a.wav"))
            };
            let (rate, _, sent) = read_wav(&wav);
            assert_eq!(rate, s.decoded.rate_hz);
            let c = correlation(&s.decoded.samples, &sent[0]);
            assert!(
                c >= 0.99,
                "{name} {}: correlation {c:.4} ({})",
                wav.display(),
                s.status
            );
        }
    }
}

/// Without the key log: recognised as DTLS-SRTP, facts from the clear handshake, nothing played.
#[test]
fn without_keys_the_handshake_is_read_and_nothing_plays() {
    for (name, profile) in CASES {
        let path = dir().join(format!("{name}.pcap"));
        let a = analyze(&path, false);
        let d = &a.dtls[0];
        assert!(!d.srtp_keys_derived && d.not_decrypted.is_none() && d.srtp_keys.is_none());
        assert_eq!(d.srtp_profile.as_deref(), Some(profile));
        // TShark's reading of the clear handshake: suite, and both certificates.
        let suite = &tshark_fields(
            &path,
            &["-o", "sdp.establish_conversation:FALSE"],
            "dtls.handshake.type == 2",
            &["dtls.handshake.ciphersuite"],
        )[0][0];
        let id = u16::from_str_radix(suite.trim_start_matches("0x"), 16).expect("suite");
        assert_eq!(
            d.cipher_suite.as_deref(),
            earshot_core::tls::suite_name(id),
            "{name}"
        );
        let req = AudioRequest {
            streams: vec![0],
            ..Default::default()
        };
        let out = audio::decode_streams(&path, &a, &req, &opts(&path, false), &mut |_| {})
            .expect("decode");
        assert!(!out[0].playable, "{name}: {}", out[0].status);
    }
}

/// The certificates each side presents, as SHA-256 of their DER, equal the fingerprints `openssl x509` computed
/// when the capture was made (recorded in NAME.txt by the generator).
#[test]
fn certificate_fingerprints_are_those_of_the_certificates_presented() {
    for (name, _) in CASES
        .iter()
        .chain([("dtls-fingerprint-mismatch", "")].iter())
    {
        let path = dir().join(format!("{name}.pcap"));
        let a = analyze(&path, false);
        let d = &a.dtls[0];
        let facts = std::fs::read_to_string(path.with_extension("txt")).expect("facts");
        for fp in [&d.client_certificate_sha256, &d.server_certificate_sha256] {
            let fp = fp.as_deref().expect("certificate");
            let colon: String = fp
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).to_uppercase())
                .collect::<Vec<_>>()
                .join(":");
            assert!(
                facts.contains(&colon),
                "{name}: {colon} not in {}",
                path.with_extension("txt").display()
            );
        }
    }
}

/// A key log for another session: said, with the client random, and no keys.
#[test]
fn a_key_log_of_another_session_derives_nothing() {
    let path = dir().join("dtls-srtp-aes128cm.pcap");
    let mut k = Keys::new();
    k.load_keylog(&dir().join("dtls-srtp-aeadgcm.keys"))
        .expect("key log");
    let o = AnalyzeOptions {
        keys: Some(Arc::new(k)),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&path, &o, &mut |_| {}).expect("analysis");
    let d = &a.dtls[0];
    assert!(!d.srtp_keys_derived);
    let random = &tshark_fields(
        &path,
        &["-o", "sdp.establish_conversation:FALSE"],
        "dtls.handshake.type == 1",
        &["dtls.handshake.random"],
    )[0][0];
    assert_eq!(
        d.not_decrypted.as_deref(),
        Some(format!("no key for session (client random {random})").as_str())
    );
}

/// A per-call extract of a DTLS-SRTP call made with the key log: the DTLS handshake on the media flow and the
/// session's key log line (a pcapng secrets block) come along, so the extract alone derives the SRTP keys and plays.
#[test]
fn per_call_extract_keeps_the_dtls_handshake_and_its_key() {
    let path = dir().join("dtls-srtp-aes128cm.pcap");
    let a = analyze(&path, true);
    let id = a.calls[0].call_id.clone();
    let out = std::env::temp_dir().join(format!(
        "earshot-dtls-extract-{}.pcapng",
        std::process::id()
    ));
    earshot_core::extract::write_calls_pcapng_keyed(
        &path,
        &a,
        &[id.as_str()],
        &out,
        opts(&path, true).keys,
    )
    .unwrap();
    let b = analyze_file(&out, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(b.key_sources.len(), 1);
    assert_eq!(b.key_sources[0].kind, "pcapng-dsb");
    assert!(b.dtls[0].srtp_keys_derived, "{:?}", b.dtls[0].not_decrypted);
    let req = AudioRequest {
        streams: (0..b.streams.len()).collect(),
        ..Default::default()
    };
    let decoded =
        audio::decode_streams(&out, &b, &req, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert!(decoded.iter().all(|s| {
        s.srtp
            .as_ref()
            .is_some_and(|x| x.verified == 150 && x.auth_failures == 0)
    }));
    let _ = std::fs::remove_file(&out);
}
