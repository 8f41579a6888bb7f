//! Header-value parsers shared by both paths: name-addr, URI parts, Via, CSeq, digest credentials/challenges and
//! comma splitting. Everything here works on one header value (already bounded by the scanner) in linear time.

use crate::model::{AuthField, AuthHeader, CSeq, NameAddr, Via};

/// Compact header forms (RFC 3261 §7.3.3 and extensions) → canonical name.
pub fn expand_compact(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    Some(match c.to_ascii_lowercase() {
        'i' => "Call-ID",
        'f' => "From",
        't' => "To",
        'm' => "Contact",
        'v' => "Via",
        'l' => "Content-Length",
        'c' => "Content-Type",
        'k' => "Supported",
        's' => "Subject",
        'e' => "Content-Encoding",
        'o' => "Event",
        'u' => "Allow-Events",
        'r' => "Refer-To",
        'b' => "Referred-By",
        'x' => "Session-Expires",
        'a' => "Accept-Contact",
        'j' => "Reject-Contact",
        'd' => "Request-Disposition",
        _ => return None,
    })
}

/// The canonical spelling of a header name for comparisons: compact forms expanded, otherwise as given.
pub fn canonical_name(name: &str) -> &str {
    expand_compact(name).unwrap_or(name)
}

/// True when `name` (as written, possibly compact) denotes the header `canonical` (case-insensitive).
pub fn is_header(name: &str, canonical: &str) -> bool {
    canonical_name(name).eq_ignore_ascii_case(canonical)
}

/// Split a header value at top-level commas: not inside double quotes (with backslash escapes) nor inside `<>`.
/// Empty items are dropped; items are trimmed.
pub fn split_commas(value: &str) -> Vec<&str> {
    split_top_level(value, b',')
}

/// Split at `sep` outside quotes and angle brackets; trimmed, empty parts dropped.
fn split_top_level(value: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    let mut start = 0usize;
    for (i, b) in value.bytes().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' => angle = true,
            b'>' => angle = false,
            _ if b == sep && !angle => {
                if let Some(part) = value.get(start..i) {
                    let part = part.trim();
                    if !part.is_empty() {
                        out.push(part);
                    }
                }
                start = i.saturating_add(1);
            }
            _ => {}
        }
    }
    if let Some(part) = value.get(start..) {
        let part = part.trim();
        if !part.is_empty() {
            out.push(part);
        }
    }
    out
}

/// Parse a quoted string starting at the opening quote of `s`. Returns the unescaped content and the rest after
/// the closing quote (or an empty rest if the quote is never closed).
fn parse_quoted(s: &str) -> (String, &str) {
    let body = s.strip_prefix('"').unwrap_or(s);
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let rest = body.get(i.saturating_add(1)..).unwrap_or("");
            return (out, rest);
        } else {
            out.push(c);
        }
    }
    (out, "")
}

/// `;name=value;flag` header parameters → (name, value) pairs (value unquoted, empty for flags).
fn header_params(s: &str) -> Vec<(String, String)> {
    split_top_level(s, b';')
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), unquote(v.trim())),
            None => (p.trim().to_string(), String::new()),
        })
        .collect()
}

fn unquote(v: &str) -> String {
    if v.starts_with('"') {
        parse_quoted(v).0
    } else {
        v.to_string()
    }
}

/// Parse a name-addr (`"Display" <uri>;params`, `Display <uri>`) or a bare addr-spec (`sip:a@b;tag=x`, where
/// the parameters belong to the header). Returns `None` for an empty value.
pub fn parse_name_addr(value: &str) -> Option<NameAddr> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut display_name = None;
    let uri;
    let params;
    let after_display = if value.starts_with('"') {
        let (name, rest) = parse_quoted(value);
        display_name = Some(name);
        Some(rest.trim_start())
    } else {
        None
    };
    let search = after_display.unwrap_or(value);
    if let Some(lt) = search.find('<') {
        if display_name.is_none() {
            let name = search.get(..lt).unwrap_or("").trim();
            if !name.is_empty() {
                display_name = Some(name.to_string());
            }
        }
        let inner = search.get(lt.saturating_add(1)..).unwrap_or("");
        let (u, rest) = inner.split_once('>').unwrap_or((inner, ""));
        uri = u.trim();
        params = rest;
    } else {
        // addr-spec: parameters after the first ';' are header parameters.
        let (u, rest) = search.split_once(';').unwrap_or((search, ""));
        uri = u.trim();
        params = rest;
    }
    let tag = header_params(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("tag"))
        .map(|(_, v)| v);
    let (user, host) = uri_user_host(uri);
    Some(NameAddr {
        display_name,
        uri: uri.to_string(),
        user,
        host,
        tag,
    })
}

/// The user (without password) and host (without port, IPv6 brackets removed) of a URI. `tel:` URIs give the
/// number as user and no host.
pub fn uri_user_host(uri: &str) -> (Option<String>, Option<String>) {
    let uri = uri.trim();
    let (scheme, rest) = match uri.split_once(':') {
        Some((s, r)) if is_scheme(s) => (Some(s), r),
        _ => (None, uri),
    };
    let non_empty = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    if let Some(s) = scheme
        && s.eq_ignore_ascii_case("tel")
    {
        let number = rest.split([';', '?']).next().unwrap_or("");
        return (non_empty(number), None);
    }
    let sip_like =
        scheme.is_none_or(|s| s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips"));
    if !sip_like {
        return (None, None);
    }
    let (userinfo, hostport) = match rest.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    if scheme.is_none() && userinfo.is_none() {
        return (None, None);
    }
    let user = userinfo.and_then(|u| non_empty(u.split_once(':').map_or(u, |(user, _pw)| user)));
    (user, host_of(hostport))
}

/// URI schemes are ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// host[:port][;params][?headers] → host (IPv6 reference without brackets).
fn host_of(hostport: &str) -> Option<String> {
    let hp = hostport.trim_start();
    let host = if let Some(v6) = hp.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        let hostport = hp.split([';', '?', '>', ' ', '\t']).next().unwrap_or("");
        bare_ipv6(hostport).unwrap_or_else(|| hostport.split(':').next().unwrap_or(""))
    };
    let host = host.trim();
    (!host.is_empty()).then(|| host.to_string())
}

/// An IPv6 address written without brackets (seen in the wild: `sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060`),
/// with or without a trailing `:port`.
fn bare_ipv6(hostport: &str) -> Option<&str> {
    if hostport.bytes().filter(|b| *b == b':').count() < 2 {
        return None;
    }
    if hostport.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some(hostport);
    }
    let (addr, port) = hostport.rsplit_once(':')?;
    (port.parse::<u16>().is_ok() && addr.parse::<std::net::Ipv6Addr>().is_ok()).then_some(addr)
}

/// `CSeq: 4711 INVITE` (any amount of whitespace).
pub fn parse_cseq(value: &str) -> Option<CSeq> {
    let mut parts = value.split_whitespace();
    let seq = parts.next()?.parse::<u32>().ok()?;
    let method = parts.next()?.to_string();
    Some(CSeq { seq, method })
}

/// One Via value: `SIP/2.0/UDP host:port;branch=..;received=..;rport`. Tolerates spaces around `/`.
pub fn parse_via(value: &str) -> Option<Via> {
    let (proto_name, rest) = value.split_once('/')?;
    if !proto_name.trim().eq_ignore_ascii_case("SIP") {
        return None;
    }
    let (_version, rest) = rest.split_once('/')?;
    let rest = rest.trim_start();
    let transport_len = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
        .unwrap_or(rest.len());
    let transport = rest.get(..transport_len)?;
    if transport.is_empty() {
        return None;
    }
    let rest = rest.get(transport_len..).unwrap_or("");
    let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
    // Drop a trailing comment, e.g. `host:5060 (proxy)`.
    let sent_by = sent_by.split('(').next().unwrap_or("").trim();
    // "host : 5060" → "host:5060"
    let sent_by: String = sent_by.chars().filter(|c| !c.is_whitespace()).collect();
    let mut via = Via {
        transport: transport.to_string(),
        sent_by,
        ..Via::default()
    };
    for (k, v) in header_params(params) {
        if k.eq_ignore_ascii_case("branch") && via.branch.is_none() {
            via.branch = Some(v);
        } else if k.eq_ignore_ascii_case("received") && via.received.is_none() {
            via.received = Some(v);
        } else if k.eq_ignore_ascii_case("rport") && via.rport.is_none() {
            via.rport = Some(v);
        }
    }
    Some(via)
}

/// Which auth header (if any) a header name is.
pub fn auth_header_kind(name: &str) -> Option<AuthHeader> {
    let n = canonical_name(name);
    if n.eq_ignore_ascii_case("WWW-Authenticate") {
        Some(AuthHeader::WwwAuthenticate)
    } else if n.eq_ignore_ascii_case("Proxy-Authenticate") {
        Some(AuthHeader::ProxyAuthenticate)
    } else if n.eq_ignore_ascii_case("Authorization") {
        Some(AuthHeader::Authorization)
    } else if n.eq_ignore_ascii_case("Proxy-Authorization") {
        Some(AuthHeader::ProxyAuthorization)
    } else {
        None
    }
}

/// `Digest realm="x", nonce="a,b", qop=auth, ...` → scheme and unquoted params in order. A parameter without `=`
/// (e.g. a Basic token68) is kept with an empty value.
pub fn parse_auth(header: AuthHeader, value: &str) -> Option<AuthField> {
    let value = value.trim();
    let scheme_len = value
        .bytes()
        .position(|b| b.is_ascii_whitespace() || b == b',')
        .unwrap_or(value.len());
    let scheme = value.get(..scheme_len)?;
    if scheme.is_empty() || scheme.contains('=') {
        return None;
    }
    let rest = value.get(scheme_len..).unwrap_or("");
    let params = split_commas(rest)
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), unquote(v.trim())),
            None => (p.to_string(), String::new()),
        })
        .collect();
    Some(AuthField {
        header,
        scheme: scheme.to_string(),
        params,
    })
}

/// Media type of a Content-Type value, lower-cased, parameters dropped (`application/sdp`).
pub fn mime_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a Content-Type value (e.g. `boundary`), unquoted.
pub fn mime_param(content_type: &str, name: &str) -> Option<String> {
    let (_, params) = content_type.split_once(';')?;
    header_params(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = parse_name_addr(r#""Alice \"Al\" Smith" <sip:alice:secret@example.com:5070;transport=tcp?Subject=hi>;tag=abc"#)
            .unwrap_or_default();
        assert_eq!(n.display_name.as_deref(), Some(r#"Alice "Al" Smith"#));
        assert_eq!(
            n.uri,
            "sip:alice:secret@example.com:5070;transport=tcp?Subject=hi"
        );
        assert_eq!(n.user.as_deref(), Some("alice"));
        assert_eq!(n.host.as_deref(), Some("example.com"));
        assert_eq!(n.tag.as_deref(), Some("abc"));

        let n = parse_name_addr("sip:a@b;tag=x").unwrap_or_default();
        assert_eq!(n.uri, "sip:a@b");
        assert_eq!(n.tag.as_deref(), Some("x"));
        assert_eq!(n.display_name, None);

        let n = parse_name_addr("Bob <tel:+15551234;phone-context=x>").unwrap_or_default();
        assert_eq!(n.display_name.as_deref(), Some("Bob"));
        assert_eq!(n.user.as_deref(), Some("+15551234"));
        assert_eq!(n.host, None);

        let n = parse_name_addr("<sip:[2001:db8::1]:5060>").unwrap_or_default();
        assert_eq!(n.host.as_deref(), Some("2001:db8::1"));
        assert_eq!(n.user, None);

        let n =
            parse_name_addr("<sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0:5060>").unwrap_or_default();
        assert_eq!(n.host.as_deref(), Some("fe80:0:0:0:21a:a0ff:fe07:32e0"));
        assert_eq!(n.user.as_deref(), Some("9876"));
        let n = parse_name_addr("sip:fe80::1;tag=t").unwrap_or_default();
        assert_eq!(n.host.as_deref(), Some("fe80::1"));
        let n = parse_name_addr("<sip:u@host.example:5060>").unwrap_or_default();
        assert_eq!(n.host.as_deref(), Some("host.example"));

        let n = parse_name_addr(r#""a,b <c>" <sip:x@y>"#).unwrap_or_default();
        assert_eq!(n.display_name.as_deref(), Some("a,b <c>"));
        assert_eq!(n.host.as_deref(), Some("y"));
        assert_eq!(parse_name_addr("  "), None);
        let n = parse_name_addr("*").unwrap_or_default();
        assert_eq!(n.uri, "*");
    }

    #[test]
    fn comma_splitting() {
        assert_eq!(
            split_commas(r#""x, y" <sip:a@b>, <sip:c@d?h=1,2>;q=0.5 , sip:e@f"#),
            vec![r#""x, y" <sip:a@b>"#, "<sip:c@d?h=1,2>;q=0.5", "sip:e@f"]
        );
    }

    #[test]
    fn via_forms() {
        let v =
            parse_via("SIP / 2.0 / UDP 10.0.0.1 : 5060 ;branch=z9hG4bK1;received=1.2.3.4;rport")
                .unwrap_or_default();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.sent_by, "10.0.0.1:5060");
        assert_eq!(v.branch.as_deref(), Some("z9hG4bK1"));
        assert_eq!(v.received.as_deref(), Some("1.2.3.4"));
        assert_eq!(v.rport.as_deref(), Some(""));
        let v = parse_via("SIP/2.0/TLS [2001:db8::1]:5061;rport=5062").unwrap_or_default();
        assert_eq!(v.sent_by, "[2001:db8::1]:5061");
        assert_eq!(v.rport.as_deref(), Some("5062"));
        assert!(parse_via("garbage").is_none());
    }

    #[test]
    fn auth_forms() {
        let a = parse_auth(
            AuthHeader::Authorization,
            r#"Digest username="bob",realm="biloxi.com", nonce="a,b=c", uri="sip:x", qop=auth, nc=00000001, cnonce="0a4f", response="6629", algorithm=MD5"#,
        );
        let Some(a) = a else {
            unreachable!("auth must parse")
        };
        assert_eq!(a.scheme, "Digest");
        assert_eq!(a.param("nonce"), Some("a,b=c"));
        assert_eq!(a.param("QOP"), Some("auth"));
        assert_eq!(a.param("nc"), Some("00000001"));
        assert_eq!(a.params.len(), 9);
        assert!(parse_auth(AuthHeader::Authorization, "").is_none());
    }

    #[test]
    fn compact_names() {
        assert_eq!(canonical_name("i"), "Call-ID");
        assert_eq!(canonical_name("V"), "Via");
        assert!(is_header("l", "content-length"));
        assert_eq!(canonical_name("Xy"), "Xy");
    }
}
