//! The `Identity` header (RFC 8224) and the PASSporT it carries (RFC 8225, SHAKEN RFC 8588, diversion RFC 8946):
//! `<header>.<claims>.<signature>;info=<url>;alg=ES256;ppt=shaken`, each part base64url JSON (signature: the raw
//! 64-byte ES256 r‖s).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

/// base64url with or without padding (RFC 7515 omits it; some signers keep it).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `Identity` header value, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader {
    /// `<header>.<claims>` exactly as sent: the bytes the signature covers.
    pub signing_input: String,
    pub header_b64: String,
    pub claims_b64: String,
    pub signature_b64: String,
    /// The `info` parameter without its angle brackets.
    pub info: Option<String>,
    pub alg: Option<String>,
    pub ppt: Option<String>,
}

/// Splits an `Identity` header value; `Err` says what is wrong with it.
pub fn parse_header(value: &str) -> Result<IdentityHeader, String> {
    let value = value.trim();
    let (token, params) = match value.find(';') {
        Some(i) => (
            value.get(..i).unwrap_or_default(),
            value.get(i + 1..).unwrap_or_default(),
        ),
        None => (value, ""),
    };
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not three dot-separated parts".into());
    };
    let mut out = IdentityHeader {
        signing_input: format!("{h}.{c}"),
        header_b64: h.to_string(),
        claims_b64: c.to_string(),
        signature_b64: s.to_string(),
        info: None,
        alg: None,
        ppt: None,
    };
    for p in params.split(';').take(32) {
        let (k, v) = match p.find('=') {
            Some(i) => (
                p.get(..i).unwrap_or_default(),
                p.get(i + 1..).unwrap_or_default(),
            ),
            None => (p, ""),
        };
        let v = v.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "info" => {
                out.info = Some(
                    v.strip_prefix('<')
                        .and_then(|x| x.strip_suffix('>'))
                        .unwrap_or(v)
                        .to_string(),
                );
            }
            "alg" => out.alg = Some(v.to_string()),
            "ppt" => out.ppt = Some(v.to_string()),
            _ => {}
        }
    }
    Ok(out)
}

/// A PASSporT's decoded header and claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passport {
    pub alg: Option<String>,
    pub ppt: Option<String>,
    pub typ: Option<String>,
    pub x5u: Option<String>,
    pub attest: Option<String>,
    pub orig: Option<String>,
    pub dest: Vec<String>,
    pub div: Option<String>,
    pub iat: Option<i64>,
    pub origid: Option<String>,
    /// The raw signature bytes.
    pub signature: Vec<u8>,
}

/// Decodes the three parts. The compact form (header and claims left out, RFC 8225 §7) is `Err("compact")`.
pub fn decode(h: &IdentityHeader) -> Result<Passport, String> {
    if h.header_b64.is_empty() && h.claims_b64.is_empty() {
        return Err("compact".into());
    }
    let json = |part: &str, what: &str| -> Result<Value, String> {
        let bytes = B64URL
            .decode(part)
            .map_err(|e| format!("the PASSporT's {what} part is not base64url: {e}"))?;
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| format!("the PASSporT's {what} part is not JSON: {e}"))
    };
    let header = json(&h.header_b64, "header")?;
    let claims = json(&h.claims_b64, "claims")?;
    let signature = B64URL
        .decode(&h.signature_b64)
        .map_err(|e| format!("the signature is not base64url: {e}"))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    // orig/dest/div carry `tn` (a number) or `uri`; dest's are arrays.
    let party = |v: Option<&Value>| -> Option<String> {
        let v = v?;
        text(v, "tn").or_else(|| text(v, "uri"))
    };
    let parties = |v: Option<&Value>| -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        ["tn", "uri"]
            .iter()
            .filter_map(|k| v.get(*k))
            .flat_map(|x| match x {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .take(32)
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            })
            .collect()
    };
    Ok(Passport {
        alg: text(&header, "alg"),
        ppt: text(&header, "ppt"),
        typ: text(&header, "typ"),
        x5u: text(&header, "x5u"),
        attest: text(&claims, "attest"),
        orig: party(claims.get("orig")),
        dest: parties(claims.get("dest")),
        div: party(claims.get("div")),
        iat: claims.get("iat").and_then(Value::as_i64),
        origid: text(&claims, "origid"),
        signature,
    })
}

/// A telephone number in the form RFC 8224 §8.3 compares: visual separators and a leading `+` removed; `None` for
/// anything that is not a number (a name, a URI with letters).
pub fn canonical_tn(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix("tel:").unwrap_or(s);
    let s = s.split(';').next().unwrap_or_default();
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits).to_string();
    (!digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#'))
    .then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parameters_and_parts() {
        let h = parse_header(
            "eyJhIjoxfQ.eyJiIjoyfQ.c2ln ; info=<https://cert.example.org/p.cer>;alg=ES256;ppt=\"shaken\"",
        )
        .unwrap();
        assert_eq!(h.signing_input, "eyJhIjoxfQ.eyJiIjoyfQ");
        assert_eq!(h.info.as_deref(), Some("https://cert.example.org/p.cer"));
        assert_eq!(h.alg.as_deref(), Some("ES256"));
        assert_eq!(h.ppt.as_deref(), Some("shaken"));
        assert!(parse_header("abc.def").is_err());
        assert!(parse_header("a.b.c.d;info=<x>").is_err());
        assert_eq!(
            decode(&parse_header("..c2ln;info=<x>").unwrap()),
            Err("compact".into())
        );
    }

    #[test]
    fn claims_decoded() {
        let enc = |v: &str| B64URL.encode(v);
        let token = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://x/c.pem"}"#),
            enc(
                r#"{"attest":"A","dest":{"tn":["12025550199","12025550198"]},"iat":1700000000,"orig":{"tn":"12025550101"},"origid":"u-1"}"#
            ),
            enc("sig")
        );
        let p = decode(&parse_header(&token).unwrap()).unwrap();
        assert_eq!(p.attest.as_deref(), Some("A"));
        assert_eq!(p.orig.as_deref(), Some("12025550101"));
        assert_eq!(p.dest, vec!["12025550199", "12025550198"]);
        assert_eq!(p.iat, Some(1_700_000_000));
        assert_eq!(p.x5u.as_deref(), Some("https://x/c.pem"));
        assert_eq!(p.signature, b"sig");
        let bad = parse_header("eyJhIjoxfQ.!!!.AAAA").unwrap();
        assert!(
            decode(&bad)
                .unwrap_err()
                .contains("claims part is not base64url")
        );
        let not_json = parse_header(&format!("{}.{}.AAAA", enc("{"), enc("{}"))).unwrap();
        assert!(
            decode(&not_json)
                .unwrap_err()
                .contains("header part is not JSON")
        );
    }

    #[test]
    fn numbers_canonical() {
        assert_eq!(
            canonical_tn("+1 (202) 555-0101").as_deref(),
            Some("12025550101")
        );
        assert_eq!(
            canonical_tn("tel:+12025550101;phone-context=x").as_deref(),
            Some("12025550101")
        );
        assert_eq!(canonical_tn("alice"), None);
        assert_eq!(canonical_tn(""), None);
    }
}
