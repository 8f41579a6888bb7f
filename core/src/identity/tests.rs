use super::*;

#[test]
fn numbers_compare_canonically() {
    assert!(same_number("12025550101", "12025550101"));
    assert!(same_number("2025550101", "12025550101"));
    assert!(!same_number("12025550101", "12025550102"));
    assert!(!same_number("101", "1101"));
    assert_eq!(
        uri_user("sip:+12025550177@127.0.0.20;user=phone").as_deref(),
        Some("+12025550177")
    );
    assert_eq!(
        uri_user("tel:+12025550177;npdi").as_deref(),
        Some("+12025550177")
    );
    assert_eq!(uri_user("sip:example.com"), None);
}

use base64::Engine as _;

/// An INVITE from +12025550101 to +12025550199 at Unix time 1_800_000_000 carrying `identity` headers.
fn invite(identity: &[String]) -> MessageRecord {
    let mut text = String::from(
        "INVITE sip:+12025550199@example.net;user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: <sip:+12025550101@example.com;user=phone>;tag=1\r\n\
         To: <sip:+12025550199@example.net;user=phone>\r\n\
         Call-ID: id-test@192.0.2.1\r\n\
         CSeq: 1 INVITE\r\n",
    );
    for v in identity {
        text.push_str(&format!("Identity: {v}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    let msg = crate::sip::parse_message(text.as_bytes(), &Default::default()).unwrap();
    MessageRecord {
        ts_nanos: 1_800_000_000_000_000_000,
        ..crate::testutil::sip_record("192.0.2.1:5060", "198.51.100.1:5060", msg)
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// A token with these header and claims JSON and a 64-byte (not valid) signature.
fn token(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.{};info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken",
        b64(header),
        b64(claims),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

const HEADER: &str =
    r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example/sp.pem"}"#;
const CLAIMS: &str = r#"{"attest":"A","dest":{"tn":["12025550199"]},"iat":1800000000,"orig":{"tn":"12025550101"},"origid":"x"}"#;

fn check(values: &[String]) -> CallIdentity {
    let m = invite(values);
    let headers: Vec<String> = m
        .message
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("identity"))
        .map(|(_, v)| v.clone())
        .collect();
    check_call(&m, &headers, None, &HashMap::new()).0
}

#[test]
fn without_certificates_a_sound_token_is_unknown_not_valid() {
    let id = check(&[token(HEADER, CLAIMS)]);
    assert_eq!(id.verdict, IdentityVerdict::CertificateUnknown);
    assert_eq!(id.attestation.as_deref(), Some("A"));
    assert_eq!(id.passports[0].signature, SignatureCheck::Unchecked);
}

#[test]
fn bad_tokens_get_their_verdicts_not_panics() {
    let es384 = HEADER.replace("ES256", "ES384");
    let id = check(&[token(&es384, CLAIMS).replace("alg=ES256", "alg=ES384")]);
    assert_eq!(id.verdict, IdentityVerdict::Unsupported, "{:?}", id.reasons);
    assert!(id.reasons[0].contains("ES384"));
    let no_iat = CLAIMS.replace(r#""iat":1800000000,"#, "");
    assert_eq!(
        check(&[token(HEADER, &no_iat)]).verdict,
        IdentityVerdict::Malformed
    );
    let bad_attest = CLAIMS.replace(r#""attest":"A""#, r#""attest":"Z""#);
    assert_eq!(
        check(&[token(HEADER, &bad_attest)]).verdict,
        IdentityVerdict::Malformed
    );
    let stale = CLAIMS.replace("1800000000", "1799999000");
    let id = check(&[token(HEADER, &stale)]);
    assert_eq!(id.verdict, IdentityVerdict::Stale);
    assert!(id.reasons[0].contains("1000 s before"), "{:?}", id.reasons);
    let wrong_dest = CLAIMS.replace("12025550199", "12025550777");
    assert_eq!(
        check(&[token(HEADER, &wrong_dest)]).verdict,
        IdentityVerdict::ClaimsMismatch
    );
    // The compact form is decoded as such and said to be unverified.
    let compact = check(&["..c2ln;info=<https://x/y.pem>;alg=ES256".to_string()]);
    assert_eq!(compact.verdict, IdentityVerdict::Unsupported);
    // Garbage, an empty value, huge numbers and nesting: verdicts, never panics.
    for v in [
        "",
        ";;;",
        "a.b.c",
        "....",
        "\u{202e}.\u{0}.x",
        &"A".repeat(20_000),
    ] {
        let id = check(&[v.to_string()]);
        assert_eq!(id.verdict, IdentityVerdict::Malformed, "{v:.20}");
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_eq!(
        check(&[token(HEADER, &deep)]).verdict,
        IdentityVerdict::Malformed
    );
    let huge = CLAIMS.replace("1800000000", "99999999999999999999999");
    assert_eq!(
        check(&[token(HEADER, &huge)]).verdict,
        IdentityVerdict::Malformed
    );
    // More headers than are checked: the rest are named.
    let many: Vec<String> = (0..10).map(|_| token(HEADER, CLAIMS)).collect();
    let id = check(&many);
    assert_eq!(id.passports.len(), MAX_PASSPORTS);
    assert!(
        id.reasons.iter().any(|r| r.contains("10 Identity headers")),
        "{:?}",
        id.reasons
    );
}

#[test]
fn a_diversion_must_chain_to_the_original() {
    let div_header = HEADER.replace("shaken", "div");
    let div = |orig: &str, div: &str| {
        token(
            &div_header,
            &format!(r#"{{"dest":{{"tn":["12025550199"]}},"div":{{"tn":"{div}"}},"iat":1800000000,"orig":{{"tn":"{orig}"}}}}"#),
        )
        .replace("ppt=shaken", "ppt=div")
    };
    let original = token(HEADER, CLAIMS);
    let chained = check(&[original.clone(), div("12025550101", "12025550199")]);
    assert_eq!(
        chained.passports[1].verdict,
        IdentityVerdict::CertificateUnknown
    );
    let broken = check(&[original, div("12025550666", "12025550199")]);
    assert_eq!(broken.passports[1].verdict, IdentityVerdict::ClaimsMismatch);
    assert!(
        broken
            .reasons
            .iter()
            .any(|r| r.starts_with("div: the diversion PASSporT")),
        "{:?}",
        broken.reasons
    );
}
