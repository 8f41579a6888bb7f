//! SIP over TLS and WSS decrypted with the keys the real TLS stacks wrote (`tests/tls/captures/`: OpenSSL through
//! Python's ssl and kamailio, GnuTLS, `openssl s_client`), checked against TShark decrypting the same capture with
//! the same key log (`-o tls.keylog_file:`): every SIP message at the same frame with the same Call-ID, method and
//! status, the same Call-IDs, the suite TShark reads from the ServerHello. Then the pcapng key log (DSB), RSA key
//! exchange with the server's PEM key, and what bad or missing keys say.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use earshot_core::model::{Analysis, Transport};
use earshot_core::tls::Keys;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::tshark_fields;

/// A scratch directory of this test process.
fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-tls-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tls")
}

/// Every capture of `tests/tls/captures`, with the eval corpus's TLS 1.3 call.
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(tls_dir().join("captures"))
        .expect("tests/tls/captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    v.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/corpus/benign-tls-call.pcap"));
    assert!(v.len() >= 17, "the TLS captures are missing: {v:?}");
    v
}

fn analyze(path: &Path, keys: Option<Keys>) -> Analysis {
    let opts = AnalyzeOptions {
        keys: keys.map(Arc::new),
        ..AnalyzeOptions::default()
    };
    analyze_file(path, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keylog(path: &Path) -> Keys {
    let mut k = Keys::new();
    k.load_keylog(&path.with_extension("keys"))
        .expect("key log");
    k
}

/// (frame, Call-ID, method or status code) of every SIP message.
fn ours(a: &Analysis) -> Vec<(u64, String, String)> {
    let mut v: Vec<_> = a
        .messages
        .iter()
        .map(|m| {
            let what = match (m.message.method(), m.message.status()) {
                (Some(method), _) => method.to_string(),
                (None, Some(code)) => code.to_string(),
                _ => String::new(),
            };
            (m.frame, m.message.call_id.clone().unwrap_or_default(), what)
        })
        .collect();
    v.sort();
    v
}

fn theirs(path: &Path, opts: &[&str]) -> Vec<(u64, String, String)> {
    let mut v = Vec::new();
    for row in tshark_fields(
        path,
        opts,
        "sip",
        &[
            "frame.number",
            "sip.Call-ID",
            "sip.Method",
            "sip.Status-Code",
        ],
    ) {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        let frame: u64 = field(0).parse().expect("frame number");
        // Several messages in one frame: TShark lists each field's values comma-separated, in order.
        let ids: Vec<String> = field(1).split(',').map(str::to_string).collect();
        let methods: Vec<String> = field(2).split(',').map(str::to_string).collect();
        let codes: Vec<String> = field(3).split(',').map(str::to_string).collect();
        let (mut mi, mut ci) = (0, 0);
        for id in ids {
            // A message is a request or a response; TShark omits the other field.
            let what = if methods.get(mi).is_some_and(|m| !m.is_empty())
                && codes.iter().all(|c| c.is_empty())
            {
                mi += 1;
                methods.get(mi - 1).cloned().unwrap_or_default()
            } else if codes.get(ci).is_some_and(|c| !c.is_empty())
                && methods.iter().all(|m| m.is_empty())
            {
                ci += 1;
                codes.get(ci - 1).cloned().unwrap_or_default()
            } else {
                // Mixed requests and responses in one frame: compare Call-IDs only for those.
                String::from("*")
            };
            v.push((frame, id, what));
        }
    }
    v.sort();
    v
}

fn same(ours: &[(u64, String, String)], theirs: &[(u64, String, String)]) -> bool {
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(theirs)
            .all(|(a, b)| a.0 == b.0 && a.1 == b.1 && (b.2 == "*" || a.2 == b.2))
}

#[test]
fn every_tls_capture_decrypts_to_the_sip_tshark_decrypts() {
    for path in captures() {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let keys_path = path.with_extension("keys");
        let pem = path.with_extension("server-key.pem");
        // The RSA key-exchange capture is opened with the server's key alone.
        let (keys, how) = if pem.is_file() {
            let mut k = Keys::new();
            k.load_rsa_key(&pem).expect("PEM");
            (k, "rsa-key")
        } else {
            (keylog(&path), "keylog")
        };
        let a = analyze(&path, Some(keys));
        let opt = format!("tls.keylog_file:{}", keys_path.display());
        let t = theirs(&path, &["-o", &opt]);
        let o = ours(&a);
        assert!(
            t.len() >= 8,
            "{name}: TShark decrypts only {} SIP messages",
            t.len()
        );
        assert!(same(&o, &t), "{name}: Earshot {o:#?}\nTShark {t:#?}");
        // Dialogs: the same Call-IDs, one call each.
        let mut ids: Vec<&String> = t.iter().map(|x| &x.1).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(a.calls.len(), ids.len(), "{name}: calls");
        for m in &a.messages {
            assert!(
                matches!(m.transport, Transport::Tls | Transport::Wss),
                "{name}: frame {} travelled as {:?}",
                m.frame,
                m.transport
            );
        }
        // Each TLS connection: decrypted, by the key given, with the suite TShark reads from the ServerHello.
        let suites = tshark_fields(
            &path,
            &[],
            "tls.handshake.type == 2",
            &["tls.handshake.ciphersuite"],
        );
        assert_eq!(a.tls.len(), suites.len(), "{name}: connections");
        for (s, row) in a.tls.iter().zip(&suites) {
            let id = u16::from_str_radix(row[0].trim_start_matches("0x"), 16).expect("suite");
            assert_eq!(
                s.cipher_suite.as_deref(),
                earshot_core::tls::suite_name(id),
                "{name}"
            );
            assert!(s.decrypted, "{name}: {:?}", s.not_decrypted);
            let used = s.key_source.as_ref().expect("key source");
            // A session resumed from one the RSA key opened is opened with that session's master secret.
            let expect = if s.resumed && how == "rsa-key" {
                "resumed"
            } else {
                how
            };
            assert_eq!(used.how, expect, "{name}");
            assert_eq!(s.not_decrypted, None, "{name}");
        }
        assert_eq!(a.key_sources.len(), 1, "{name}");
        let (sha, _) = earshot_core::hash::sha256_hex(
            std::fs::File::open(if how == "rsa-key" { &pem } else { &keys_path })
                .expect("key file"),
        )
        .expect("hash");
        assert_eq!(
            a.key_sources[0].sha256, sha,
            "{name}: the key file's SHA-256"
        );
        let d: Vec<_> = a
            .diagnostics
            .iter()
            .filter(|d| d.level >= earshot_core::model::DiagLevel::Warning)
            .collect();
        assert!(d.is_empty(), "{name}: {d:?}");
    }
}

/// What each capture's handshake negotiated, as TShark reads it: TLS 1.3 via `supported_versions`, encrypt-then-
/// MAC and extended master secret only when the ServerHello carries them, resumption when the second connection's
/// ServerHello echoes the session ID.
#[test]
fn handshake_facts_match_tshark() {
    for path in captures() {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let a = analyze(&path, None);
        let rows = tshark_fields(
            &path,
            &[],
            "tls.handshake.type == 2",
            &[
                "tls.handshake.extensions.supported_version",
                "tls.handshake.extension.type",
                "tls.handshake.version",
            ],
        );
        assert_eq!(a.tls.len(), rows.len(), "{name}");
        for (s, row) in a.tls.iter().zip(&rows) {
            let v13 = row[0] == "0x0304";
            let version = match (v13, row[2].as_str()) {
                (true, _) => "TLS 1.3",
                (false, "0x0303") => "TLS 1.2",
                (false, "0x0302") => "TLS 1.1",
                (false, "0x0301") => "TLS 1.0",
                (false, other) => panic!("{name}: version {other}"),
            };
            assert_eq!(s.version, version, "{name}");
            let exts: Vec<&str> = row[1].split(',').collect();
            assert_eq!(
                s.encrypt_then_mac,
                !v13 && exts.contains(&"22"),
                "{name}: encrypt-then-MAC"
            );
            assert_eq!(
                s.extended_master_secret,
                !v13 && exts.contains(&"23"),
                "{name}: EMS"
            );
            // Without keys nothing is decrypted and nothing is claimed about it.
            assert!(
                !s.decrypted && s.not_decrypted.is_none() && s.key_source.is_none(),
                "{name}"
            );
        }
        assert!(a.messages.is_empty(), "{name}: SIP without keys");
    }
    let a = analyze(&tls_dir().join("captures/tls12-resumption.pcap"), None);
    assert_eq!(
        a.tls.iter().map(|s| s.resumed).collect::<Vec<_>>(),
        [false, true]
    );
    let a = analyze(&tls_dir().join("captures/tls12-rsa-kx.pcap"), None);
    assert!(a.tls[0].rsa_key_exchange);
    let a = analyze(&tls_dir().join("captures/tls12-ecdhe-aes128gcm.pcap"), None);
    assert!(!a.tls[0].rsa_key_exchange);
}

/// `editcap --inject-secrets` puts the key log into the pcapng (a Decryption Secrets Block): the same messages
/// without `--keylog`.
#[test]
fn key_log_inside_the_pcapng_decrypts_without_keys() {
    let dir = scratch();
    for name in ["tls13-chacha20", "tls12-cbc-sha-etm"] {
        let src = tls_dir().join("captures").join(format!("{name}.pcap"));
        let out = dir.join(format!("{name}.pcapng"));
        let st = std::process::Command::new("editcap")
            .arg("--inject-secrets")
            .arg(format!("tls,{}", src.with_extension("keys").display()))
            .arg(&src)
            .arg(&out)
            .status()
            .expect("editcap (scripts/setup.sh installs it with tshark)");
        assert!(st.success());
        let with_dsb = analyze(&out, None);
        let with_keylog = analyze(&src, Some(keylog(&src)));
        assert_eq!(ours(&with_dsb), ours(&with_keylog), "{name}");
        assert!(ours(&with_dsb).len() >= 8);
        assert_eq!(with_dsb.key_sources.len(), 1);
        assert_eq!(with_dsb.key_sources[0].kind, "pcapng-dsb");
        assert_eq!(
            with_dsb.tls[0]
                .key_source
                .as_ref()
                .map(|k| k.source.as_str()),
            Some("pcapng secrets block 1")
        );
        // And TShark reads the same file the same way with no key log option.
        assert!(same(&ours(&with_dsb), &theirs(&out, &[])), "{name}");
    }
}

#[test]
fn a_wrong_rsa_key_says_it_does_not_match() {
    let path = tls_dir().join("captures/tls12-rsa-kx.pcap");
    let mut k = Keys::new();
    k.load_rsa_key(&tls_dir().join("unrelated-rsa-key.pem"))
        .expect("PEM");
    let a = analyze(&path, Some(k));
    assert!(a.messages.is_empty());
    let why = a.tls[0].not_decrypted.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("the key does not match the server certificate"),
        "{why}"
    );
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("not decrypted: the key does not match"))
    );
}

/// A key log for other sessions: "no key for session" with the client random TShark reads from the ClientHello.
#[test]
fn keys_for_another_session_name_the_client_random() {
    let path = tls_dir().join("captures/tls12-ecdhe-aes128gcm.pcap");
    let other = tls_dir().join("captures/tls13-aes128gcm.pcap");
    let a = analyze(&path, Some(keylog(&other)));
    assert!(a.messages.is_empty());
    let random = &tshark_fields(
        &path,
        &[],
        "tls.handshake.type == 1",
        &["tls.handshake.random"],
    )[0][0];
    let want = format!("no key for session (client random {random})");
    assert_eq!(a.tls[0].not_decrypted.as_deref(), Some(want.as_str()));
    let path13 = tls_dir().join("captures/tls13-chacha20.pcap");
    let a = analyze(&path13, Some(keylog(&other)));
    assert!(a.messages.is_empty());
    assert!(
        a.tls[0]
            .not_decrypted
            .as_deref()
            .unwrap_or_default()
            .starts_with("no key for session")
    );
}

/// Malformed key log lines: each a diagnostic with its line number; the good lines still decrypt.
#[test]
fn malformed_key_log_lines_are_diagnosed_and_the_rest_used() {
    let path = tls_dir().join("captures/tls13-aes256gcm.pcap");
    let good = std::fs::read_to_string(path.with_extension("keys")).expect("key log");
    let dir = scratch();
    let bad = dir.join("mixed.keys");
    let mut text = String::from("CLIENT_RANDOM 00 11\nthis is not a key log line\n");
    text.push_str(&good);
    text.push_str("SERVER_TRAFFIC_SECRET_0 zz zz\n");
    std::fs::write(&bad, &text).expect("write");
    let mut k = Keys::new();
    k.load_keylog(&bad).expect("readable");
    let a = analyze(&path, Some(k));
    let t = theirs(
        &path,
        &[
            "-o",
            &format!("tls.keylog_file:{}", path.with_extension("keys").display()),
        ],
    );
    assert!(same(&ours(&a), &t));
    let lines: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with("mixed.keys line "))
        .map(|d| d.message.as_str())
        .collect();
    let last = text.lines().count();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("mixed.keys line 1:"));
    assert!(lines[1].starts_with("mixed.keys line 2:"));
    assert!(lines[2].starts_with(&format!("mixed.keys line {last}:")));
    assert_eq!(a.key_sources[0].bad_lines, 3);
}

/// A TCP segment missing from the capture: the gap is diagnosed, the records after it are found again by their
/// sequence numbers, and every SIP message TShark decrypts in the complete capture outside the lost frame is
/// still decrypted.
#[test]
fn a_lost_segment_costs_only_its_own_messages() {
    let path = tls_dir().join("captures/tls12-ecdhe-aes128gcm.pcap");
    let full = analyze(&path, Some(keylog(&path)));
    let o = ours(&full);
    // Lose the segment of the third SIP message.
    let lost = o[2].0;
    let dir = scratch();
    let cut = dir.join("cut.pcap");
    let st = std::process::Command::new("editcap")
        .arg(&path)
        .arg(&cut)
        .arg(lost.to_string())
        .status()
        .expect("editcap");
    assert!(st.success());
    let a = analyze(&cut, Some(keylog(&path)));
    // Frames after the deleted one are renumbered down by one.
    let want: Vec<(u64, String, String)> = o
        .iter()
        .filter(|m| m.0 != lost)
        .map(|m| {
            (
                if m.0 > lost { m.0 - 1 } else { m.0 },
                m.1.clone(),
                m.2.clone(),
            )
        })
        .collect();
    assert_eq!(ours(&a), want);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("bytes missing from the capture"))
    );
}

/// A resumed TLS 1.2 session whose own key log line is missing: opened with the master secret of the session it
/// resumes (the first connection of the capture), as the key log gives it.
#[test]
fn a_resumed_session_is_opened_with_the_earlier_sessions_master_secret() {
    let path = tls_dir().join("captures/tls12-resumption.pcap");
    let randoms: Vec<String> = tshark_fields(
        &path,
        &[],
        "tls.handshake.type == 1",
        &["tls.handshake.random"],
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(randoms.len(), 2);
    let text = std::fs::read_to_string(path.with_extension("keys")).expect("key log");
    let first_only: String = text
        .lines()
        .filter(|l| !l.contains(randoms[1].as_str()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(first_only.contains(randoms[0].as_str()));
    let mut k = Keys::new();
    k.add_keylog("keylog", "first.keys", first_only.as_bytes(), false);
    let a = analyze(&path, Some(k));
    let t = theirs(
        &path,
        &[
            "-o",
            &format!("tls.keylog_file:{}", path.with_extension("keys").display()),
        ],
    );
    assert!(same(&ours(&a), &t));
    let how: Vec<&str> = a
        .tls
        .iter()
        .filter_map(|s| s.key_source.as_ref().map(|k| k.how.as_str()))
        .collect();
    assert_eq!(how, ["keylog", "resumed"]);
}

/// `earshot decrypt`: the decrypted view reads as plaintext SIP in TShark without any key — the same messages (Call-ID,
/// method, status, in order) TShark decrypts from the original with the key log; every other frame is copied.
#[test]
fn the_decrypted_view_is_plaintext_sip_for_tshark() {
    let dir = scratch();
    for name in ["tls13-aes128gcm", "wss-tls13"] {
        let path = tls_dir().join("captures").join(format!("{name}.pcap"));
        let keys = Arc::new(keylog(&path));
        let opts = AnalyzeOptions {
            keys: Some(keys.clone()),
            ..AnalyzeOptions::default()
        };
        let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
        let out = dir.join(format!("{name}-plain.pcapng"));
        let s = earshot_core::decrypted::write_decrypted_pcapng(&path, &a, keys, &out).unwrap();
        let orig = theirs(
            &path,
            &[
                "-o",
                &format!("tls.keylog_file:{}", path.with_extension("keys").display()),
            ],
        );
        let plain = tshark_fields(
            &out,
            &[],
            "sip",
            &["sip.Call-ID", "sip.Method", "sip.Status-Code"],
        );
        assert_eq!(plain.len() as u64, s.sip_messages, "{name}");
        assert_eq!(plain.len(), orig.len(), "{name}");
        let ids = |v: Vec<String>| {
            let mut v = v;
            v.sort();
            v
        };
        assert_eq!(
            ids(plain.iter().map(|r| r[0].clone()).collect()),
            ids(orig.iter().map(|r| r.1.clone()).collect()),
            "{name}"
        );
        let total = tshark_fields(&path, &[], "", &["frame.number"]).len() as u64;
        assert_eq!(s.frames_copied + s.tls_frames_replaced, total, "{name}");
        // Each plaintext packet names the frames of its TLS records.
        let comments = tshark_fields(&out, &[], "sip", &["frame.comment"]);
        assert!(
            comments.iter().all(
                |c| c[0].contains("decrypted by Earshot from the TLS records of source frames")
            )
        );
    }
}

/// A per-call evidence pcapng of a call that travelled in TLS: the connection's frames from its handshake, and the
/// key log lines of that session in a Decryption Secrets Block — Earshot and TShark both read the call's SIP from
/// the extract without being given any key.
#[test]
fn per_call_extract_keeps_the_tls_session_and_its_key_log() {
    let dir = scratch();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sample-captures/tls-keylog-call/tls-keylog-call.pcap");
    let keys = Arc::new(keylog(&path));
    let opts = AnalyzeOptions {
        keys: Some(keys.clone()),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
    let id = a.calls[0].call_id.clone();
    let out = dir.join("tls-call.pcapng");
    earshot_core::extract::write_calls_pcapng_keyed(&path, &a, &[id.as_str()], &out, Some(keys))
        .unwrap();
    let b = analyze(&out, None);
    assert_eq!(b.key_sources.len(), 1);
    assert_eq!(b.key_sources[0].kind, "pcapng-dsb");
    assert_eq!(b.calls.len(), 1);
    assert_eq!(b.calls[0].call_id, id);
    assert_eq!(b.messages.len(), a.messages.len());
    let t = tshark_fields(&out, &[], "sip", &["sip.Call-ID"]);
    assert_eq!(t.len(), a.messages.len());
    assert!(t.iter().all(|r| r[0] == id));
    // Without keys the extract has no secrets block, and no SIP can be read from it.
    let plain = dir.join("tls-call-nokeys.pcapng");
    earshot_core::extract::write_calls_pcapng_keyed(&path, &a, &[id.as_str()], &plain, None)
        .unwrap();
    assert!(analyze(&plain, None).messages.is_empty());
}

/// One byte of one application-data record changed (its authentication tag no longer verifies): that SIP message
/// is missing — never shown garbled — a diagnostic says a record failed authentication, and every other message
/// still decrypts.
#[test]
fn a_tampered_record_is_dropped_not_shown_garbled() {
    let path = tls_dir().join("captures/tls13-chacha20.pcap");
    let full = analyze(&path, Some(keylog(&path)));
    let victim = full.messages[2].frame;
    // Classic pcap: 24-byte file header, then 16-byte record headers; flip the frame's last byte (inside the tag).
    let mut bytes = std::fs::read(&path).unwrap();
    let mut off = 24usize;
    let mut n = 0u64;
    while off + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        n += 1;
        if n == victim {
            bytes[off + 16 + incl - 1] ^= 0x01;
            break;
        }
        off += 16 + incl;
    }
    let cut = scratch().join("tampered.pcap");
    std::fs::write(&cut, &bytes).unwrap();
    let a = analyze(&cut, Some(keylog(&path)));
    let want: Vec<_> = ours(&full).into_iter().filter(|m| m.0 != victim).collect();
    assert_eq!(ours(&a), want);
    assert_eq!(
        a.tls[0].not_decrypted.as_deref(),
        Some(
            "a record failed authentication with the key given (wrong key, or records missing from the capture)"
        )
    );
}

/// A call opened only with the server's RSA key: its per-call extract carries the master secret that key opened as
/// a `CLIENT_RANDOM` line (never the RSA key), so the extract decrypts without any key — in Earshot and in TShark.
#[test]
fn per_call_extract_of_an_rsa_session_opens_without_the_rsa_key() {
    let path = tls_dir().join("captures/tls12-rsa-kx.pcap");
    let mut k = Keys::new();
    k.load_rsa_key(&path.with_extension("server-key.pem"))
        .unwrap();
    let keys = Arc::new(k);
    let opts = AnalyzeOptions {
        keys: Some(keys.clone()),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
    let id = a.calls[0].call_id.clone();
    let out = scratch().join("rsa-call.pcapng");
    earshot_core::extract::write_calls_pcapng_keyed(&path, &a, &[id.as_str()], &out, Some(keys))
        .unwrap();
    let b = analyze(&out, None);
    assert_eq!(
        b.tls[0].key_source.as_ref().map(|k| k.how.as_str()),
        Some("keylog")
    );
    let want = a.calls[0].messages.len();
    assert_eq!(b.messages.len(), want);
    assert_eq!(
        tshark_fields(&out, &[], "sip", &["sip.Call-ID"]).len(),
        want
    );
    // The secrets block holds a CLIENT_RANDOM line, not a PEM key.
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("CLIENT_RANDOM "));
    assert!(!text.contains("PRIVATE KEY"));
}

#[test]
fn a_failed_decrypted_view_leaves_no_half_file() {
    // The input opens but is no capture: the error is said and neither the output nor its `.part` is left.
    let dir = std::env::temp_dir().join(format!("earshot-decrypt-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("notes.pcap");
    std::fs::write(&input, b"not a capture at all, only text").unwrap();
    let out = dir.join("plain.pcapng");
    let keys = std::sync::Arc::new(earshot_core::tls::Keys::new());
    let r =
        earshot_core::decrypted::write_decrypted_pcapng(&input, &Default::default(), keys, &out);
    assert!(r.is_err());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.pcap"], "nothing but the input");
    let _ = std::fs::remove_dir_all(&dir);
}
