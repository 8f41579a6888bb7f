//! Tests for `parse_message`: realistic messages, which parser accepts them, identical fields on both paths,
//! bounds, and a no-panic sweep over prefixes and mutations.

use super::*;
use crate::model::{AuthHeader, CSeq, NameAddr, Via};

fn parse(text: &str) -> SipMessage {
    match parse_message(text.as_bytes(), &SipLimits::default()) {
        Ok(m) => m,
        Err(e) => unreachable!("should parse: {e}\n{text}"),
    }
}

/// The scanner + extractor alone (what the tolerant path produces), for comparison with the rsip path.
fn tolerant_fields(data: &[u8]) -> SipMessage {
    let limits = SipLimits::default();
    match scan_message(data, &limits) {
        Ok(s) => s.into_message(&limits),
        Err(e) => unreachable!("should scan: {e}"),
    }
}

/// Fields only (parser and warnings are allowed to differ).
fn fields_eq(a: &SipMessage, b: &SipMessage) {
    let strip = |m: &SipMessage| {
        let mut m = m.clone();
        m.parser = SipParser::Rsip;
        m.warnings.clear();
        m
    };
    assert_eq!(strip(a), strip(b));
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

const SDP_BODY: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n\
t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

fn invite() -> String {
    format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n\
User-Agent: Earshot-Test/1.0\r\n\
P-Asserted-Identity: \"Alice A\" <sip:+15551230000@atlanta.example.com;user=phone>, <tel:+15551230000>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP_BODY}",
        SDP_BODY.len()
    )
}

const OK_200: &str = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bKnashds8;received=192.0.2.3\r\n\
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:bob@192.0.2.4>\r\n\
Server: Bob-PBX 2.1\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn invite_with_sdp_takes_rsip_path() {
    let text = invite();
    let m = parse(&text);
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(
        m.start,
        StartLine::Request {
            method: "INVITE".into(),
            uri: "sip:bob@biloxi.example.com".into()
        }
    );
    assert_eq!(m.method(), Some("INVITE"));
    assert_eq!(
        m.call_id.as_deref(),
        Some("a84b4c76e66710@pc33.atlanta.example.com")
    );
    let from = m.from.clone().unwrap_or_default();
    assert_eq!(from.display_name.as_deref(), Some("Alice"));
    assert_eq!(from.user.as_deref(), Some("alice"));
    assert_eq!(from.host.as_deref(), Some("atlanta.example.com"));
    assert_eq!(from.tag.as_deref(), Some("1928301774"));
    let to = m.to.clone().unwrap_or_default();
    assert_eq!(to.display_name.as_deref(), Some("Bob"));
    assert_eq!(to.tag, None);
    assert_eq!(
        m.cseq,
        Some(CSeq {
            seq: 314159,
            method: "INVITE".into()
        })
    );
    assert_eq!(
        m.via,
        vec![Via {
            transport: "UDP".into(),
            sent_by: "pc33.atlanta.example.com:5060".into(),
            branch: Some("z9hG4bK776asdhds".into()),
            received: None,
            rport: Some(String::new()),
        }]
    );
    assert_eq!(m.contact.len(), 1);
    assert_eq!(
        m.contact.first().and_then(|c| c.host.as_deref()),
        Some("192.0.2.10")
    );
    assert_eq!(m.user_agent.as_deref(), Some("Earshot-Test/1.0"));
    assert_eq!(m.max_forwards, Some(70));
    assert_eq!(m.p_asserted_identity.len(), 2);
    assert_eq!(
        m.p_asserted_identity
            .first()
            .and_then(|p| p.user.as_deref()),
        Some("+15551230000")
    );
    assert_eq!(
        m.p_asserted_identity
            .get(1)
            .map(|p| (p.uri.as_str(), p.user.as_deref())),
        Some(("tel:+15551230000", Some("+15551230000")))
    );
    assert_eq!(m.content_type.as_deref(), Some("application/sdp"));
    assert_eq!(m.content_length, Some(SDP_BODY.len()));
    assert_eq!(m.body, SDP_BODY.as_bytes());
    assert_eq!(m.headers.len(), 11);
    assert_eq!(m.headers.first().map(|(n, _)| n.as_str()), Some("Via"));
    let sdp = m.sdp.clone().unwrap_or_default();
    let media = sdp.media.first().cloned().unwrap_or_default();
    let codecs: Vec<_> = media.rtpmaps.iter().map(|r| r.encoding.as_str()).collect();
    assert_eq!(codecs, vec!["PCMU", "PCMA", "telephone-event"]);
    fields_eq(&m, &tolerant_fields(text.as_bytes()));
}

#[test]
fn ok_200_two_via_headers() {
    let m = parse(OK_200);
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 200,
            reason: "OK".into()
        }
    );
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.via.len(), 2);
    assert_eq!(
        m.via.get(1).and_then(|v| v.received.as_deref()),
        Some("192.0.2.2")
    );
    assert_eq!(
        m.to.as_ref().and_then(|t| t.tag.as_deref()),
        Some("a6c85cf")
    );
    assert_eq!(m.server.as_deref(), Some("Bob-PBX 2.1"));
    assert_eq!(m.content_length, Some(0));
    assert!(m.body.is_empty());
    assert!(m.sdp.is_none());
    fields_eq(&m, &tolerant_fields(OK_200.as_bytes()));
}

#[test]
fn multiple_vias_in_one_header_equal_separate_headers() {
    let one = OK_200.replace(
        "branch=z9hG4bKnashds8;received=192.0.2.3\r\nVia: ",
        "branch=z9hG4bKnashds8;received=192.0.2.3 , ",
    );
    let m1 = parse(&one);
    let m2 = parse(OK_200);
    assert_eq!(m1.via, m2.via);
    assert_eq!(m1.parser, SipParser::Rsip);
}

const REGISTER_AUTH: &str = "REGISTER sip:sip.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-reg-2;rport\r\n\
From: <sip:1001@sip.example.com>;tag=reg1\r\n\
To: <sip:1001@sip.example.com>\r\n\
Call-ID: reg-7f3a@192.0.2.20\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:1001@192.0.2.20:5060>;expires=3600\r\n\
Authorization: Digest username=\"1001\",realm=\"sip.example.com\",nonce=\"5f2b,c1=\",uri=\"sip:sip.example.com\",\
response=\"a2bbc9e14cb9a54ba5c5c2b1c8e6e3f0\",algorithm=MD5,cnonce=\"0a4f113b\",qop=auth,nc=00000001\r\n\
Max-Forwards: 70\r\n\
User-Agent: Nero SIPPS IP Phone Version 2.0.51.16\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn register_with_digest_authorization() {
    let m = parse(REGISTER_AUTH);
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
    assert_eq!(m.auth.len(), 1);
    let a = m.auth.first().cloned();
    let Some(a) = a else { unreachable!() };
    assert_eq!(a.header, AuthHeader::Authorization);
    assert_eq!(a.scheme, "Digest");
    assert_eq!(a.param("username"), Some("1001"));
    assert_eq!(a.param("nonce"), Some("5f2b,c1="));
    assert_eq!(a.param("qop"), Some("auth"));
    assert_eq!(a.param("nc"), Some("00000001"));
    assert_eq!(a.param("algorithm"), Some("MD5"));
    assert_eq!(a.params.len(), 9);
    assert_eq!(m.from.as_ref().and_then(|f| f.tag.as_deref()), Some("reg1"));
    fields_eq(&m, &tolerant_fields(REGISTER_AUTH.as_bytes()));
}

#[test]
fn challenges_401_and_407() {
    let r401 = "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-reg-1;rport=5060;received=198.51.100.7\r\n\
From: <sip:1001@sip.example.com>;tag=reg1\r\nTo: <sip:1001@sip.example.com>;tag=as1\r\nCall-ID: reg-7f3a@192.0.2.20\r\n\
CSeq: 1 REGISTER\r\nWWW-Authenticate: Digest algorithm=MD5, realm=\"sip.example.com\", nonce=\"4c3a9d1e\", qop=\"auth,auth-int\"\r\n\
Content-Length: 0\r\n\r\n";
    let m = parse(r401);
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
    let a = m.auth.first();
    assert_eq!(a.map(|a| a.header), Some(AuthHeader::WwwAuthenticate));
    assert_eq!(a.and_then(|a| a.param("qop")), Some("auth,auth-int"));
    assert_eq!(a.and_then(|a| a.param("realm")), Some("sip.example.com"));
    assert_eq!(m.via.first().and_then(|v| v.rport.as_deref()), Some("5060"));

    let r407 = r401
        .replace("401 Unauthorized", "407 Proxy Authentication Required")
        .replace("WWW-Authenticate", "Proxy-Authenticate");
    let m = parse(&r407);
    assert_eq!(
        m.auth.first().map(|a| a.header),
        Some(AuthHeader::ProxyAuthenticate)
    );
    assert_eq!(m.status(), Some(407));
    // rsip has no typed Proxy-Authenticate parse here, but accepts the header.
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);

    let proxy_authz = REGISTER_AUTH.replace("Authorization:", "Proxy-Authorization:");
    let m = parse(&proxy_authz);
    assert_eq!(
        m.auth.first().map(|a| a.header),
        Some(AuthHeader::ProxyAuthorization)
    );
}

#[test]
fn compact_headers_give_the_same_fields() {
    let compact = invite()
        .replace("Via:", "v:")
        .replace("To:", "t:")
        .replace("From:", "f:")
        .replace("Call-ID:", "i:")
        .replace("Contact:", "m:")
        .replace("Content-Type:", "c:")
        .replace("Content-Length:", "l:");
    let m = parse(&compact);
    let full = parse(&invite());
    assert_eq!(m.headers.first().map(|(n, _)| n.as_str()), Some("v"));
    let mut expected = full.clone();
    expected.headers = m.headers.clone();
    fields_eq(&m, &expected);
    // rsip accepts compact names (as unknown headers); the values still come out of the shared extractor.
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
}

#[test]
fn folding_lf_only_and_odd_spacing_fall_back_with_same_fields() {
    let clean = parse(OK_200);
    // Header folding.
    let folded = OK_200.replace(
        "Via: SIP/2.0/UDP server10.biloxi.example.com;",
        "Via: SIP/2.0/UDP\r\n   server10.biloxi.example.com;",
    );
    let m = parse(&folded);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert!(
        m.warnings.iter().any(|w| w.contains("folded")),
        "{:?}",
        m.warnings
    );
    assert!(
        m.warnings.iter().any(|w| w.contains("rsip")),
        "{:?}",
        m.warnings
    );
    fields_eq(&m, &clean);

    // Bare LF line ends.
    let lf = OK_200.replace("\r\n", "\n");
    let m = parse(&lf);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert!(
        m.warnings.iter().any(|w| w.contains("bare LF")),
        "{:?}",
        m.warnings
    );
    fields_eq(&m, &clean);

    // Whitespace before colons, lower-case names, extra spaces in the start line.
    let odd = OK_200
        .replace("SIP/2.0 200 OK", "SIP/2.0  200  OK")
        .replace("Call-ID:", "call-id   :")
        .replace("CSeq: 314159 INVITE", "CSEQ:314159    INVITE")
        .replace("To: ", "To:\t");
    let m = parse(&odd);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(m.call_id, clean.call_id);
    assert_eq!(m.cseq, clean.cseq);
    assert_eq!(m.to, clean.to);
    assert_eq!(m.start, clean.start);
    assert_eq!(m.via, clean.via);
}

#[test]
fn quoted_display_names_and_uri_forms() {
    let text = crlf(
        "MESSAGE sip:[2001:db8::1]:5060 SIP/2.0
Via: SIP/2.0/TCP [2001:db8::2]:5070;branch=z9hG4bK-6;received=2001:db8::99
From: \"Smith, \\\"Bob\\\" <x>\" <sip:bob:s3cret@[2001:db8::2]:5070;transport=tcp?Subject=hi>;tag=98asjd8
To: sip:alice@example.com;tag=bare-tag
Call-ID: msg-1
CSeq: 7 MESSAGE
Contact: Bob <sip:bob@[2001:db8::2]:5070>, \"Bob, mobile\" <tel:+4930123;phone-context=example.com>;q=0.1
Content-Type: text/plain
Content-Length: 5

hello",
    );
    let m = parse(&text);
    let from = m.from.clone().unwrap_or_default();
    assert_eq!(from.display_name.as_deref(), Some("Smith, \"Bob\" <x>"));
    assert_eq!(from.user.as_deref(), Some("bob"));
    assert_eq!(from.host.as_deref(), Some("2001:db8::2"));
    assert_eq!(from.tag.as_deref(), Some("98asjd8"));
    assert_eq!(
        from.uri,
        "sip:bob:s3cret@[2001:db8::2]:5070;transport=tcp?Subject=hi"
    );
    assert_eq!(
        m.to,
        Some(NameAddr {
            display_name: None,
            uri: "sip:alice@example.com".into(),
            user: Some("alice".into()),
            host: Some("example.com".into()),
            tag: Some("bare-tag".into()),
        })
    );
    assert_eq!(m.contact.len(), 2);
    assert_eq!(
        m.contact.get(1).map(|c| (
            c.display_name.as_deref(),
            c.user.as_deref(),
            c.host.as_deref()
        )),
        Some((Some("Bob, mobile"), Some("+4930123"), None))
    );
    assert_eq!(
        m.via.first().map(|v| v.sent_by.as_str()),
        Some("[2001:db8::2]:5070")
    );
    assert_eq!(
        m.via.first().and_then(|v| v.received.as_deref()),
        Some("2001:db8::99")
    );
    assert_eq!(m.body, b"hello");
    assert!(m.sdp.is_none());
    if let StartLine::Request { uri, .. } = &m.start {
        assert_eq!(uri, "sip:[2001:db8::1]:5060");
    }
    fields_eq(&m, &tolerant_fields(text.as_bytes()));
}

#[test]
fn multipart_sdp() {
    let body = "--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\n".to_string()
        + SDP_BODY
        + "\r\n--unique-boundary-1\r\nContent-Type: application/isup; version=itu-t92+\r\nContent-Disposition: signal; handling=optional\r\n\r\n\x01\x10\x00\r\n--unique-boundary-1--\r\n";
    let text = format!(
        "INVITE sip:+4930555@gw.example.com;user=phone SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKmp\r\n\
From: <sip:100@10.1.1.1>;tag=1\r\nTo: <sip:+4930555@gw.example.com;user=phone>\r\nCall-ID: mp@10.1.1.1\r\n\
CSeq: 1 INVITE\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"unique-boundary-1\"\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let m = parse(&text);
    let sdp = m.sdp.clone().unwrap_or_default();
    assert_eq!(sdp.media.len(), 1, "{:?}", m.warnings);
    assert_eq!(sdp.media.first().map(|x| x.port), Some(49170));
    assert_eq!(
        m.to.as_ref().and_then(|t| t.user.as_deref()),
        Some("+4930555")
    );
    // LF-only multipart works too.
    let m = parse(&text.replace("\r\n", "\n").replace(
        &format!("Content-Length: {}", body.len()),
        "Content-Length: 9999",
    ));
    assert_eq!(m.sdp.map(|s| s.media.len()), Some(1));
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("shorter than Content-Length"))
    );
}

#[test]
fn content_length_handling() {
    // Missing Content-Length: the rest is the body.
    let no_cl = invite().replace(&format!("Content-Length: {}\r\n", SDP_BODY.len()), "");
    let m = parse(&no_cl);
    assert_eq!(m.content_length, None);
    assert_eq!(m.body, SDP_BODY.as_bytes());
    assert!(m.sdp.is_some());
    assert_eq!(m.parser, SipParser::Rsip);

    // Content-Length larger than the body: keep what is there and say so.
    let long = invite().replace(
        &format!("Content-Length: {}", SDP_BODY.len()),
        "Content-Length: 4000",
    );
    let m = parse(&long);
    assert_eq!(m.body, SDP_BODY.as_bytes());
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("shorter than Content-Length"))
    );
    assert!(m.sdp.is_some());

    // Content-Length shorter than the data: the body is cut.
    let short = OK_200.replace("Content-Length: 0", "Content-Length: 3") + "abcdef";
    let m = parse(&short);
    assert_eq!(m.body, b"abc");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("after Content-Length"))
    );

    // max_body_bytes bounds the body.
    let limits = SipLimits {
        max_body_bytes: 10,
        ..SipLimits::default()
    };
    let m = parse_message(invite().as_bytes(), &limits);
    assert_eq!(m.as_ref().map(|m| m.body.len()).ok(), Some(10));
    assert!(m.is_ok_and(|m| m.warnings.iter().any(|w| w.contains("body cut"))));

    // application/sdp with an empty body (ACK, some 200s): no SDP, no warning.
    let empty = OK_200.replace(
        "Content-Length: 0",
        "Content-Type: application/sdp\r\nContent-Length: 0",
    );
    let m = parse(&empty);
    assert!(m.sdp.is_none());
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    // Invalid SDP: warning, no sdp.
    let bad = OK_200.replace(
        "Content-Length: 0",
        "Content-Type: application/SDP; charset=x\r\nContent-Length: 5",
    ) + "hello";
    let m = parse(&bad);
    assert!(m.sdp.is_none());
    assert!(m.warnings.iter().any(|w| w.contains("SDP")));
}

#[test]
fn response_without_reason_and_odd_methods() {
    let m = parse(&OK_200.replace("SIP/2.0 200 OK", "SIP/2.0 200"));
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 200,
            reason: String::new()
        }
    );
    assert_eq!(
        m.call_id.as_deref(),
        Some("a84b4c76e66710@pc33.atlanta.example.com")
    );
    fields_eq(
        &m,
        &SipMessage {
            start: m.start.clone(),
            ..parse(OK_200)
        },
    );

    // An extension method rsip does not know.
    let m = parse(&REGISTER_AUTH.replace("REGISTER sip", "KDMQ sip"));
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(m.method(), Some("KDMQ"));
    assert_eq!(m.auth.len(), 1);

    // Unknown status code.
    let m = parse(&OK_200.replace("200 OK", "299 Whatever Happened"));
    assert_eq!(m.status(), Some(299));
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 299,
            reason: "Whatever Happened".into()
        }
    );
}

#[test]
fn not_sip() {
    let http = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert!(matches!(
        parse_message(http, &SipLimits::default()),
        Err(SipError::NotSip(_))
    ));
    let get = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    assert!(matches!(
        parse_message(get, &SipLimits::default()),
        Err(SipError::NotSip(_))
    ));
    for junk in [
        &b""[..],
        b"\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01",
        b"hello",
        b"SIP/3.0 200 OK\r\n",
    ] {
        assert!(
            matches!(
                parse_message(junk, &SipLimits::default()),
                Err(SipError::NotSip(_))
            ),
            "{junk:?}"
        );
    }
    assert!(matches!(
        parse_message(b"SIP/2.0 2000 OK\r\n\r\n", &SipLimits::default()),
        Err(SipError::Malformed(_))
    ));
}

#[test]
fn no_blank_line_and_non_utf8() {
    // Headers end without a blank line: rsip would take all but the first header as body; we do not.
    let text = OK_200.trim_end_matches("\r\n").to_string() + "\r\n";
    let m = parse(&text);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(m.headers.len(), 9);
    assert!(
        m.warnings.iter().any(|w| w.contains("no blank line")),
        "{:?}",
        m.warnings
    );

    let mut bytes = OK_200.as_bytes().to_vec();
    let pos = OK_200.find("Bob-PBX").unwrap_or(0);
    if let Some(b) = bytes.get_mut(pos) {
        *b = 0xff;
    }
    let m = parse_message(&bytes, &SipLimits::default());
    let Ok(m) = m else { unreachable!() };
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(m.server.as_deref(), Some("\u{FFFD}ob-PBX 2.1"));
}

#[test]
fn garbage_header_lines_are_skipped() {
    let text = OK_200.replace(
        "Server:",
        &format!(
            "no colon here\r\n{}: x\r\n<bad>: y\r\nServer:",
            "N".repeat(300)
        ),
    );
    let m = parse(&text);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert_eq!(m.headers.len(), 9);
    assert_eq!(m.server.as_deref(), Some("Bob-PBX 2.1"));
    assert!(
        m.warnings.iter().any(|w| w.contains("without a colon")),
        "{:?}",
        m.warnings
    );
    assert!(
        m.warnings.iter().any(|w| w.contains("invalid name")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn header_limits() {
    let limits = SipLimits {
        max_headers: 5,
        max_header_value_bytes: 20,
        max_body_bytes: 1024,
    };
    let m = parse_message(OK_200.as_bytes(), &limits);
    let Ok(m) = m else { unreachable!() };
    assert_eq!(m.headers.len(), 5);
    assert!(m.headers.iter().all(|(_, v)| v.len() <= 20));
    assert!(m.warnings.iter().any(|w| w.contains("beyond the limit")));
    assert!(m.warnings.iter().any(|w| w.contains("cut at 20")));
    assert_eq!(m.parser, SipParser::Tolerant);
    // The cut is a typed fact (the pipeline counts it), not only a warning's text.
    assert!(m.cut);
    assert!(!parse(OK_200).cut);
    // Only the header cap, and only the value cap, each set it.
    let headers_only = SipLimits {
        max_headers: 5,
        ..SipLimits::default()
    };
    let Ok(m) = parse_message(OK_200.as_bytes(), &headers_only) else {
        unreachable!()
    };
    assert!(m.cut);
    let values_only = SipLimits {
        max_header_value_bytes: 20,
        ..SipLimits::default()
    };
    let Ok(m) = parse_message(OK_200.as_bytes(), &values_only) else {
        unreachable!()
    };
    assert!(m.cut);
}

#[test]
fn huge_inputs_are_linear_and_bounded() {
    let limits = SipLimits::default();
    // One 10 MB header line.
    let mut big = OK_200.replace("Content-Length: 0\r\n", "");
    big.truncate(big.len().saturating_sub(2));
    big.push_str("X-Big: ");
    big.push_str(&"a".repeat(10 * 1024 * 1024));
    big.push_str("\r\n\r\n");
    let t = std::time::Instant::now();
    let m = parse_message(big.as_bytes(), &limits);
    let Ok(m) = m else { unreachable!() };
    assert!(
        m.headers
            .iter()
            .all(|(_, v)| v.len() <= limits.max_header_value_bytes)
    );
    assert_eq!(
        m.call_id.as_deref(),
        Some("a84b4c76e66710@pc33.atlanta.example.com")
    );
    assert_eq!(m.parser, SipParser::Tolerant);

    // 100 000 headers, also a 100 000-value Via header and a huge folded header.
    let mut many = String::from("OPTIONS sip:x@y SIP/2.0\r\nCall-ID: many\r\n");
    for i in 0..100_000 {
        many.push_str(&format!("Via: SIP/2.0/UDP h{i};branch=z9hG4bK{i}\r\n"));
    }
    many.push_str("Contact: ");
    many.push_str(&"<sip:a@b>,".repeat(100_000));
    many.push_str("\r\nX-Fold: a\r\n");
    many.push_str(&" b\r\n".repeat(1_000_000));
    many.push_str("\r\n");
    let m = parse_message(many.as_bytes(), &limits);
    let Ok(m) = m else { unreachable!() };
    assert_eq!(m.headers.len(), limits.max_headers);
    assert_eq!(m.via.len(), MAX_LIST_ENTRIES);
    assert_eq!(m.call_id.as_deref(), Some("many"));
    // The whole test runs in well under a few seconds even unoptimised; a quadratic path would take minutes.
    assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());

    // Contact with 100 000 entries inside the header limit.
    let contacts = format!(
        "OPTIONS sip:x@y SIP/2.0\r\nContact: {}\r\n\r\n",
        "<sip:a@b>,".repeat(1500)
    );
    let m = parse(&contacts);
    assert_eq!(m.contact.len(), MAX_LIST_ENTRIES);
    assert!(m.warnings.iter().any(|w| w.contains("entries")));
}

/// Real-world style messages (shortened excerpts of the kinds seen in public captures).
#[test]
fn real_world_quirks() {
    // sipvicious "friendly-scanner" OPTIONS: clean, rsip accepts.
    let sipvicious = "OPTIONS sip:100@131.243.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-1617330148;rport\r\n\
Content-Length: 0\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>; tag=6435396533346462313363340131363834333238333036\r\n\
Accept: application/sdp\r\nUser-agent: friendly-scanner\r\nTo: \"sipvicious\"<sip:100@1.1.1.1>\r\nContact: sip:100@127.0.1.1:5060\r\n\
CSeq: 1 OPTIONS\r\nCall-ID: 1234567890\r\nMax-Forwards: 70\r\n\r\n";
    let m = parse(sipvicious);
    assert_eq!(m.user_agent.as_deref(), Some("friendly-scanner"));
    assert_eq!(
        m.from.as_ref().and_then(|f| f.tag.as_deref()),
        Some("6435396533346462313363340131363834333238333036")
    );
    assert_eq!(
        m.from.as_ref().and_then(|f| f.display_name.as_deref()),
        Some("sipvicious")
    );
    assert_eq!(
        m.contact.first().map(|c| c.uri.as_str()),
        Some("sip:100@127.0.1.1:5060")
    );
    assert_eq!(m.parser, SipParser::Rsip, "{:?}", m.warnings);
    fields_eq(&m, &tolerant_fields(sipvicious.as_bytes()));
}

use crate::testutil::XorShift as Rng;

fn corpus() -> Vec<Vec<u8>> {
    vec![
        invite().into_bytes(),
        OK_200.as_bytes().to_vec(),
        REGISTER_AUTH.as_bytes().to_vec(),
        OK_200.replace("\r\n", "\n").into_bytes(),
        invite()
            .replace(
                "Content-Type: application/sdp",
                "Content-Type: multipart/mixed;boundary=b",
            )
            .into_bytes(),
    ]
}

#[test]
fn no_panic_on_prefixes_and_mutations() {
    let limits = SipLimits {
        max_headers: 8,
        max_header_value_bytes: 64,
        max_body_bytes: 128,
    };
    for msg in corpus() {
        for end in 0..=msg.len() {
            let prefix = msg.get(..end).unwrap_or(&[]);
            let _ = parse_message(prefix, &SipLimits::default());
            let _ = parse_message(prefix, &limits);
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let specials = b"\r\n \t:;,<>\"\\@[]=/\0\xff\xc3";
    for msg in corpus() {
        for _ in 0..1500 {
            let mut m = msg.clone();
            for _ in 0..=rng.below(8) {
                let pos = rng.below(m.len());
                match rng.below(4) {
                    0 => {
                        if let Some(b) = m.get_mut(pos) {
                            *b = specials
                                .get(rng.below(specials.len()))
                                .copied()
                                .unwrap_or(0);
                        }
                    }
                    1 => {
                        if pos < m.len() {
                            m.remove(pos);
                        }
                    }
                    2 => m.insert(
                        pos.min(m.len()),
                        specials
                            .get(rng.below(specials.len()))
                            .copied()
                            .unwrap_or(0),
                    ),
                    _ => {
                        if let Some(b) = m.get_mut(pos) {
                            *b = u8::try_from(rng.below(256)).unwrap_or(0);
                        }
                    }
                }
            }
            let a = parse_message(&m, &SipLimits::default());
            let _ = parse_message(&m, &limits);
            let _ = sdp::parse_sdp(&m);
            // Whenever rsip agreed, the scanner alone must give exactly the same fields.
            if let Ok(a) = a
                && a.parser == SipParser::Rsip
            {
                fields_eq(&a, &tolerant_fields(&m));
            }
        }
    }
}

/// Speed of rsip vs the scanner on a typical INVITE. Run with
/// `cargo test --release -p earshot-core sip::tests::rsip_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn rsip_speed() {
    let text = invite();
    let n = 10_000u32;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(rsip::SipMessage::try_from(std::hint::black_box(
            text.as_bytes(),
        )));
    }
    let rsip_time = t.elapsed();
    let limits = SipLimits::default();
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(
            scan_message(std::hint::black_box(text.as_bytes()), &limits)
                .map(|s| s.into_message(&limits)),
        );
    }
    let scan_time = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(parse_message(
            std::hint::black_box(text.as_bytes()),
            &limits,
        ));
    }
    let full_time = t.elapsed();
    println!(
        "{n} INVITEs: rsip {rsip_time:?}, scanner+extractor {scan_time:?}, parse_message {full_time:?}"
    );
}

/// Parse every `*.bin` payload in `$SIP_DUMP_DIR` (dumped from captures, never committed) and print the path
/// taken and the warnings.
#[test]
#[ignore]
fn dump_dir() {
    let Ok(dir) = std::env::var("SIP_DUMP_DIR") else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    for p in names {
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        match parse_message(&data, &SipLimits::default()) {
            Ok(m) => println!(
                "{} {:?} {:?} sdp={} {:?}\tFIELDS\t{}\t{}\t{}\t{}\t{}",
                p.display(),
                m.parser,
                m.start,
                m.sdp.is_some(),
                m.warnings,
                m.call_id.unwrap_or_default(),
                m.from.and_then(|f| f.tag).unwrap_or_default(),
                m.to.and_then(|f| f.user).unwrap_or_default(),
                m.cseq.map(|c| c.seq).unwrap_or_default(),
                m.via
                    .first()
                    .and_then(|v| v.branch.clone())
                    .unwrap_or_default(),
            ),
            Err(e) => println!("{} ERR {e}", p.display()),
        }
    }
}

/// Unbracketed IPv6 hosts (an excerpt of the kind found in `sip_ipv6_udp.pcap`): rsip rejects the request-URI,
/// the tolerant path still extracts everything.
#[test]
fn unbracketed_ipv6_falls_back() {
    let text = crlf(
        "INVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0
Call-ID: c3eF6f58-363323Cd-8058EB88-10300252@fe80:0:0:0:21a:a0ff:fe07:32e0
Contact: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0:5060>
CSeq: 1 INVITE
From: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>;tag=a3bhg
To: <sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c>
Via: SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060;branch=z9hG4bKkdjuw8376
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: 108

v=0
o=Valid8.com-UserAgent 8521 32 IN IP6 fe80:0:0:0:21a:a0ff:fe07:32e0
s=SIP-Call
m=audio 5008 RTP/AVP 0
",
    );
    let m = parse(&text);
    assert_eq!(m.parser, SipParser::Tolerant);
    assert!(
        m.warnings
            .first()
            .is_some_and(|w| w.starts_with("rsip rejected")),
        "{:?}",
        m.warnings
    );
    assert_eq!(
        m.from.as_ref().and_then(|f| f.host.as_deref()),
        Some("fe80:0:0:0:21a:a0ff:fe07:32e0")
    );
    assert_eq!(
        m.from.as_ref().and_then(|f| f.tag.as_deref()),
        Some("a3bhg")
    );
    assert_eq!(
        m.to.as_ref().and_then(|f| f.host.as_deref()),
        Some("fec0:0:0:0:216:d3ff:fe0d:22c")
    );
    assert_eq!(
        m.via.first().map(|v| v.sent_by.as_str()),
        Some("fe80:0:0:0:21a:a0ff:fe07:32e0:5060")
    );
    assert_eq!(m.sdp.as_ref().map(|s| s.media.len()), Some(1));
    assert_eq!(
        m.sdp.and_then(|s| s.origin).map(|o| o.address),
        Some("fe80:0:0:0:21a:a0ff:fe07:32e0".to_string())
    );
}
