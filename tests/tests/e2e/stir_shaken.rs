//! STIR/SHAKEN verified offline on `sample-captures/stir-shaken/` (a PKI and PASSporTs made by OpenSSL, INVITEs
//! sent by SIPp, captured by tcpdump). Every call's verdict, attestation, orig and signer equal the hand-written
//! labels (`calls.toml`, decided from the scenarios); every signature Earshot checked agrees with `openssl dgst
//! -verify` on the same token (the headers read by TShark); the findings name exactly the labelled calls; without
//! the certificates or the anchors the claims are still checked and nothing is called valid.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use earshot_core::identity::CertStore;
use earshot_core::model::{Analysis, IdentityVerdict, SignatureCheck};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::{samples_dir, tshark_fields};
use serde::Deserialize;
use sha2::Digest as _;

#[derive(Deserialize)]
struct Labels {
    call: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    call_id: String,
    verdict: String,
    attestation: String,
    orig: Option<String>,
    signer_spc: Option<String>,
    source: String,
}

fn dir() -> PathBuf {
    samples_dir().join("stir-shaken")
}

fn pcap() -> PathBuf {
    dir().join("stir-shaken.pcap")
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(dir().join("calls.toml")).expect("calls.toml");
    let l: Labels = toml::from_str(&text).expect("labels parse");
    assert_eq!(l.call.len(), 19);
    l.call
}

fn analyse(certs: bool, anchors: bool) -> Analysis {
    let store = CertStore::load(
        certs.then(|| dir().join("certs")).as_deref(),
        anchors.then(|| dir().join("sti-pa-roots.pem")).as_deref(),
    )
    .expect("certificates load");
    assert!(store.problems.is_empty(), "{:?}", store.problems);
    let opts = AnalyzeOptions {
        identity: (certs || anchors).then(|| Arc::new(store)),
        ..AnalyzeOptions::default()
    };
    analyze_file(&pcap(), &opts, &mut |_| {}).expect("analyse")
}

#[test]
fn every_call_has_its_labelled_verdict() {
    let a = analyse(true, true);
    for l in labels() {
        let c = a
            .calls
            .iter()
            .find(|c| c.call_id == l.call_id)
            .unwrap_or_else(|| panic!("{} missing", l.call_id));
        let invite = c
            .messages
            .iter()
            .map(|&i| &a.messages[i])
            .find(|m| m.message.method() == Some("INVITE"))
            .expect("INVITE");
        assert_eq!(
            invite.src.ip(),
            l.source.parse::<IpAddr>().unwrap(),
            "{}",
            l.call_id
        );
        if l.verdict == "none" {
            assert!(c.identity.is_none(), "{}", l.call_id);
            continue;
        }
        let id = c
            .identity
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no identity", l.call_id));
        assert_eq!(
            id.verdict.as_str(),
            l.verdict,
            "{}: {:?}",
            l.call_id,
            id.reasons
        );
        assert_eq!(
            id.attestation.as_deref().unwrap_or(""),
            l.attestation,
            "{}",
            l.call_id
        );
        let main = id
            .passports
            .iter()
            .find(|p| p.ppt == "shaken")
            .expect("shaken PASSporT");
        assert_eq!(main.orig, l.orig, "{}", l.call_id);
        assert_eq!(
            id.signer.as_ref().and_then(|s| s.spc.clone()),
            l.signer_spc,
            "{}",
            l.call_id
        );
        assert_eq!(id.frame, invite.frame);
        // Valid calls have no reasons; every other verdict says why.
        assert_eq!(
            id.reasons.is_empty(),
            id.verdict == IdentityVerdict::Valid,
            "{}",
            l.call_id
        );
    }
    // The malformed token is a diagnostic with its frame, counted in the summary.
    let d = a
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("Identity header"))
        .expect("diagnostic");
    let malformed = a
        .calls
        .iter()
        .find(|c| c.call_id == "stir-malformed@sp1.test")
        .unwrap();
    assert_eq!(d.frame, malformed.identity.as_ref().map(|i| i.frame));
    assert_eq!(
        a.summary.diagnostics,
        a.diagnostics.len() as u64 + a.diagnostics_dropped
    );
    // The diverted call: two PASSporTs, the div one signed by the diverting provider and chained.
    let div = a
        .calls
        .iter()
        .find(|c| c.call_id == "stir-diverted@sp1.test")
        .unwrap();
    let id = div.identity.as_ref().unwrap();
    assert_eq!(id.passports.len(), 2);
    assert_eq!(id.passports[1].ppt, "div");
    assert_eq!(id.passports[1].div.as_deref(), Some("12025550199"));
    assert_eq!(id.passports[1].verdict, IdentityVerdict::Valid);
}

/// DER of an ECDSA signature from the JWS r‖s (two 32-byte big-endian integers).
fn der_signature(raw: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let mut v: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| *b >= 0x80) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let body: Vec<u8> = [int(&raw[..32]), int(&raw[32..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// The certificate file the folder holds for `url`: by the URL's SHA-256 or its `_`-sanitized form.
fn cert_file(url: &str) -> Option<PathBuf> {
    let hash: String = sha2::Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sanitized: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    [hash, sanitized].iter().find_map(|base| {
        ["", ".pem", ".der", ".cer", ".crt"]
            .iter()
            .map(|e| dir().join("certs").join(format!("{base}{e}")))
            .find(|p| p.exists())
    })
}

/// `openssl dgst -sha256 -verify` of one token with the leaf key of its certificate file.
fn openssl_verifies(token: &str, url: &str, scratch: &Path) -> Option<bool> {
    let file = cert_file(url)?;
    let parts: Vec<&str> = token.split('.').collect();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts.get(2)?)
        .ok()
        .filter(|s| s.len() == 64)?;
    let der = file.extension().is_some_and(|e| e == "der");
    let mut x509 = Command::new("openssl");
    x509.args(["x509", "-pubkey", "-noout", "-in"]).arg(&file);
    if der {
        x509.args(["-inform", "DER"]);
    }
    let out = x509.output().expect("openssl runs");
    assert!(out.status.success(), "openssl x509 {}", file.display());
    let (key, sigf, input) = (
        scratch.join("pub.pem"),
        scratch.join("sig.der"),
        scratch.join("input"),
    );
    std::fs::write(&key, out.stdout).unwrap();
    std::fs::write(&sigf, der_signature(&sig)).unwrap();
    std::fs::write(&input, format!("{}.{}", parts[0], parts[1])).unwrap();
    let st = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&key)
        .arg("-signature")
        .arg(&sigf)
        .arg(&input)
        .output()
        .expect("openssl runs");
    Some(st.status.success())
}

#[test]
fn signatures_agree_with_openssl() {
    let a = analyse(true, true);
    let scratch = std::env::temp_dir().join(format!("earshot-stir-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let rows = tshark_fields(
        &pcap(),
        &[],
        "sip.Method == \"INVITE\" && sip.Identity",
        &["sip.Call-ID", "sip.Identity"],
    );
    let mut checked = (0, 0, 0);
    for row in &rows {
        let call_id = &row[0];
        let c = a
            .calls
            .iter()
            .find(|c| &c.call_id == call_id)
            .expect("call");
        let id = c.identity.as_ref().expect("identity");
        let headers: Vec<&str> = row[1].split(',').collect();
        assert_eq!(headers.len(), id.passports.len(), "{call_id}");
        for (h, p) in headers.iter().zip(&id.passports) {
            let token = h.split(';').next().unwrap().trim();
            let url = h
                .split(';')
                .find_map(|x| x.trim().strip_prefix("info=<"))
                .and_then(|x| x.strip_suffix('>'))
                .unwrap_or_default();
            let theirs = openssl_verifies(token, url, &scratch);
            let expected = match theirs {
                Some(true) => SignatureCheck::Verified,
                Some(false) => SignatureCheck::Failed,
                None => SignatureCheck::Unchecked,
            };
            assert_eq!(p.signature, expected, "{call_id} {}", p.ppt);
            match expected {
                SignatureCheck::Verified => checked.0 += 1,
                SignatureCheck::Failed => checked.1 += 1,
                SignatureCheck::Unchecked => checked.2 += 1,
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    // 18 headers: one forged, one without a certificate, one malformed, 15 that verify.
    assert_eq!(checked, (15, 1, 2));
}

#[test]
fn findings_name_the_labelled_calls() {
    let a = analyse(true, true);
    let labels = labels();
    let calls_with = |verdicts: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = labels
            .iter()
            .filter(|l| verdicts.contains(&l.verdict.as_str()))
            .map(|l| l.call_id.clone())
            .collect();
        v.sort();
        v
    };
    let finding = |title_start: &str| {
        let f: Vec<_> = a
            .findings
            .iter()
            .filter(|f| f.rule_id == "stir-shaken" && f.title.starts_with(title_start))
            .collect();
        assert_eq!(f.len(), 1, "{title_start}");
        f[0]
    };
    let forged = finding("Forged or altered caller identity");
    assert_eq!(
        forged.call_ids,
        calls_with(&["invalid-signature", "claims-mismatch"])
    );
    assert_eq!(forged.severity.as_str(), "high");
    let replayed = finding("STIR/SHAKEN token replayed");
    assert_eq!(replayed.call_ids, calls_with(&["replayed"]));
    assert_eq!(
        replayed.severity.as_str(),
        "high",
        "one token on three calls"
    );
    assert_eq!(
        finding("Stale STIR/SHAKEN").call_ids,
        calls_with(&["stale"])
    );
    assert_eq!(
        finding("Caller identity signed by an untrusted").call_ids,
        calls_with(&["certificate-expired", "certificate-untrusted"])
    );
    assert_eq!(
        finding("Authority name without full attestation").call_ids,
        vec!["stir-authority-c@sp1.test"]
    );
    let unsigned = finding("Unsigned calls from a signing trunk");
    assert_eq!(
        unsigned.call_ids,
        vec!["stir-unsigned@sp1.test"],
        "not the other trunk's call"
    );
    assert_eq!(unsigned.severity.as_str(), "info");
    // caller-id-spoofing takes the verdict in: the forged calls are among its evidence.
    let spoof = a
        .findings
        .iter()
        .find(|f| f.rule_id == "caller-id-spoofing")
        .expect("spoofing");
    for c in calls_with(&["invalid-signature", "claims-mismatch"]) {
        assert!(spoof.call_ids.contains(&c), "{c}");
    }
    assert_eq!(spoof.severity.as_str(), "high");
}

#[test]
fn without_certificates_nothing_is_valid_and_claims_still_count() {
    let labels = labels();
    for (certs, anchors) in [(false, false), (true, false)] {
        let a = analyse(certs, anchors);
        for l in labels.iter().filter(|l| l.verdict != "none") {
            let c = a.calls.iter().find(|c| c.call_id == l.call_id).unwrap();
            let id = c.identity.as_ref().unwrap();
            assert_ne!(id.verdict, IdentityVerdict::Valid, "{}", l.call_id);
            // What the token itself proves does not need the certificates.
            if matches!(l.verdict.as_str(), "stale" | "replayed" | "malformed") {
                assert_eq!(
                    id.verdict.as_str(),
                    l.verdict,
                    "{} certs={certs}",
                    l.call_id
                );
            }
            if l.call_id == "stir-wrong-orig@sp1.test" {
                assert_eq!(id.verdict, IdentityVerdict::ClaimsMismatch);
            }
            if l.verdict == "valid" {
                let expected = if certs {
                    IdentityVerdict::CertificateUntrusted
                } else {
                    IdentityVerdict::CertificateUnknown
                };
                assert_eq!(id.verdict, expected, "{} certs={certs}", l.call_id);
            }
        }
    }
}

#[test]
fn bad_certificate_inputs_are_errors_or_diagnostics() {
    let scratch = std::env::temp_dir().join(format!("earshot-stir-bad-{}", std::process::id()));
    let certs = scratch.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(
        certs.join("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(certs.join("random.der"), [0x30, 0x82, 0xff, 0xff, 1, 2, 3]).unwrap();
    std::fs::write(certs.join("big.pem"), vec![b'A'; (1 << 20) + 1]).unwrap();
    let store = CertStore::load(Some(&certs), None).expect("the folder loads");
    assert_eq!(store.problems.len(), 3, "{:?}", store.problems);
    assert!(
        store
            .problems
            .iter()
            .any(|p| p.contains("big.pem") && p.contains("larger than"))
    );
    let missing = CertStore::load(Some(&scratch.join("nope")), None).unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
    let no_anchor = CertStore::load(None, Some(&certs.join("garbage.pem"))).unwrap_err();
    assert!(
        no_anchor.to_string().contains("trust anchors"),
        "{no_anchor}"
    );
    // Problems reach the analysis as file-level diagnostics.
    let opts = AnalyzeOptions {
        identity: Some(Arc::new(store)),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&pcap(), &opts, &mut |_| {}).unwrap();
    assert_eq!(
        a.diagnostics
            .iter()
            .filter(|d| d.frame.is_none() && d.message.contains("certificate file"))
            .count(),
        3
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn redaction_removes_the_numbers_and_tokens() {
    let a = analyse(true, true);
    let r = earshot_core::report::redact::redact(&a);
    let json = serde_json::to_string(&r).unwrap();
    for number in ["2025550101", "2025550199", "2025550177", "2025550300"] {
        let at = json.find(number).unwrap_or(0);
        assert!(
            !json.contains(number),
            "{number} survived redaction: {}",
            &json[at.saturating_sub(200)..(at + 50).min(json.len())]
        );
    }
    // The tokens (base64url JSON, `eyJ`) are gone from the headers, the certificate URLs too (one may name a
    // number); the verdicts stay.
    assert!(!json.contains("eyJ"), "a PASSporT survived redaction");
    assert!(!json.contains("https://cert.sp1.test/shaken/1234.pem"));
    assert!(json.contains("[redacted PASSporT];info=<"));
    let verdicts = |a: &Analysis| -> Vec<Option<IdentityVerdict>> {
        a.calls
            .iter()
            .map(|c| c.identity.as_ref().map(|i| i.verdict))
            .collect()
    };
    assert_eq!(verdicts(&r), verdicts(&a));
}

/// The benign interconnect of the findings corpus (`tests/eval/corpus/benign-shaken-trunk`, OpenSSL and SIPp): 12
/// signed calls (A/B/C, two diverted with a div PASSporT, one under the TN certificate) are all valid, the signing
/// trunk's and the unsigned trunk's calls raise no `stir-shaken` finding.
#[test]
fn a_benign_signing_trunk_is_all_valid() {
    let corpus = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/corpus");
    let store = CertStore::load(
        Some(&dir().join("certs")),
        Some(&dir().join("sti-pa-roots.pem")),
    )
    .unwrap();
    let opts = AnalyzeOptions {
        identity: Some(Arc::new(store)),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&corpus.join("benign-shaken-trunk.pcap"), &opts, &mut |_| {}).unwrap();
    let signed: Vec<_> = a.calls.iter().filter_map(|c| c.identity.as_ref()).collect();
    assert_eq!(signed.len(), 12);
    assert!(
        signed.iter().all(|i| i.verdict == IdentityVerdict::Valid),
        "{signed:?}"
    );
    assert_eq!(signed.iter().map(|i| i.passports.len()).sum::<usize>(), 14);
    let mut attest: Vec<&str> = signed
        .iter()
        .filter_map(|i| i.attestation.as_deref())
        .collect();
    attest.sort();
    assert_eq!(attest.concat(), "AAAAAABBBBCC");
    assert_eq!(a.calls.iter().filter(|c| c.identity.is_none()).count(), 4);
    assert!(!a.findings.iter().any(|f| f.rule_id == "stir-shaken"));
}
