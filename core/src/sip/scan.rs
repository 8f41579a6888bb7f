//! The tolerant scanner: start line, headers and body of one SIP message, in one linear pass, with every
//! forgiveness recorded as a warning; and the extraction of the model fields from the scanned headers.

use super::fields::{
    auth_header_kind, canonical_name, is_header, mime_param, mime_type, parse_auth, parse_cseq,
    parse_name_addr, parse_via, split_commas,
};
use super::sdp::{MAX_MEDIA, parse_sdp_counted};
use super::{MAX_LIST_ENTRIES, SipError, SipLimits, excerpt};
use crate::model::{Sdp, SipMessage, SipParser, StartLine};

/// One message split into parts, before field extraction.
#[derive(Debug, Clone)]
pub struct ScannedMessage {
    pub start: StartLine,
    /// (name as written, value trimmed and unfolded), at most `max_headers`.
    pub headers: Vec<(String, String)>,
    /// Header lines beyond `max_headers`.
    pub dropped_headers: usize,
    /// Header values cut at `max_header_value_bytes`.
    pub truncated_values: usize,
    /// Offset of the first body byte in the input (the input length when there is no body).
    pub body_offset: usize,
    /// The raw body (after the blank line), not yet cut to Content-Length; at most `max_body_bytes`.
    pub raw_body: Vec<u8>,
    /// Length of the whole raw body in the input.
    pub raw_body_len: usize,
    pub warnings: Vec<String>,
}

/// Longest header name accepted (longer "names" are garbage lines).
const MAX_NAME_BYTES: usize = 256;

/// Lines of `data`, each without its line end, with the offset just past it and whether it ended in bare LF.
struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
}

struct Line<'a> {
    text: &'a [u8],
    next: usize,
    bare_lf: bool,
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;
    fn next(&mut self) -> Option<Line<'a>> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (raw, consumed, has_lf) = match rest.iter().position(|b| *b == b'\n') {
            Some(nl) => (rest.get(..nl).unwrap_or(&[]), nl.saturating_add(1), true),
            None => (rest, rest.len(), false),
        };
        let (text, bare_lf) = match raw.strip_suffix(b"\r") {
            Some(t) => (t, false),
            None => (raw, has_lf),
        };
        self.pos = self.pos.saturating_add(consumed);
        Some(Line {
            text,
            next: self.pos,
            bare_lf,
        })
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Lossy UTF-8 of at most `limit` bytes of `raw` (cut on a character boundary). Returns (text, was_cut, was_lossy).
fn bounded_lossy(raw: &[u8], limit: usize) -> (String, bool, bool) {
    let cut = raw.len() > limit;
    let slice = raw.get(..limit.min(raw.len())).unwrap_or(raw);
    let lossy = std::str::from_utf8(slice).is_err();
    let mut s = String::from_utf8_lossy(slice).into_owned();
    if cut {
        // The cut may have split a multi-byte character into a replacement char; drop it.
        if s.ends_with('\u{FFFD}') && std::str::from_utf8(slice).is_err() {
            s.pop();
        }
    }
    (s, cut, lossy)
}

/// Parse the start line. `Err(NotSip)` when it is neither a request line nor a status line.
fn parse_start_line(line: &str, warnings: &mut Vec<String>) -> Result<StartLine, SipError> {
    let trimmed = line.trim();
    let mut parts = trimmed.split_whitespace();
    let first = parts.next().unwrap_or("");
    if first.len() >= 4
        && first
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        if !first.eq_ignore_ascii_case("SIP/2.0") {
            return Err(SipError::NotSip(excerpt(trimmed)));
        }
        let after_version = trimmed.get(first.len()..).unwrap_or("").trim_start();
        let code_len = after_version.bytes().take_while(u8::is_ascii_digit).count();
        let code_str = after_version.get(..code_len).unwrap_or("");
        let rest = after_version.get(code_len..).unwrap_or("");
        let code = match code_str.parse::<u16>() {
            Ok(c) if code_len == 3 && (100..=699).contains(&c) => c,
            _ => {
                return Err(SipError::Malformed(format!(
                    "bad status line: {}",
                    excerpt(trimmed)
                )));
            }
        };
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return Err(SipError::Malformed(format!(
                "bad status line: {}",
                excerpt(trimmed)
            )));
        }
        let reason = rest.trim().to_string();
        if reason.is_empty() {
            warnings.push("status line has no reason phrase".into());
        }
        return Ok(StartLine::Response { code, reason });
    }
    let (Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SipError::NotSip(excerpt(trimmed)));
    };
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(SipError::NotSip(excerpt(trimmed)));
    }
    if first.is_empty() || !first.bytes().all(is_token_byte) {
        return Err(SipError::Malformed(format!(
            "bad method in request line: {}",
            excerpt(trimmed)
        )));
    }
    if line != format!("{first} {uri} {version}") {
        warnings.push("odd spacing in the request line".into());
    }
    Ok(StartLine::Request {
        method: first.to_string(),
        uri: uri.to_string(),
    })
}

/// Split one message into start line, headers and body. Linear in the input; bounded by `limits`.
pub fn scan_message(data: &[u8], limits: &SipLimits) -> Result<ScannedMessage, SipError> {
    let mut warnings = Vec::new();
    let mut lines = Lines { data, pos: 0 };
    let mut bare_lf = false;
    let mut lossy = false;
    let mut skipped_leading = 0usize;
    // The start line: skip leading empty lines (keep-alive CRLFs), but look at no more than a few.
    let start_line = loop {
        let Some(line) = lines.next() else {
            return Err(SipError::NotSip("empty message".into()));
        };
        bare_lf |= line.bare_lf;
        if line.text.iter().all(u8::is_ascii_whitespace) {
            skipped_leading = skipped_leading.saturating_add(1);
            if skipped_leading > 16 {
                return Err(SipError::NotSip("only empty lines".into()));
            }
            continue;
        }
        break line;
    };
    if skipped_leading > 0 {
        warnings.push(format!(
            "{skipped_leading} empty line(s) before the start line"
        ));
    }
    // A start line is short; a huge one is not SIP.
    let (start_text, _, start_lossy) =
        bounded_lossy(start_line.text, limits.max_header_value_bytes.max(1024));
    lossy |= start_lossy;
    let start = parse_start_line(&start_text, &mut warnings)?;

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut dropped_headers = 0usize;
    let mut truncated_values = 0usize;
    let mut folded = 0usize;
    let mut no_colon = 0usize;
    let mut bad_names = 0usize;
    let mut space_before_colon = 0usize;
    // Whether continuation lines currently extend the last kept header.
    let mut current_kept = false;
    let mut current_truncated = false;
    let mut body_offset = None;
    let value_limit = limits.max_header_value_bytes;
    for line in lines.by_ref() {
        bare_lf |= line.bare_lf;
        if line.text.is_empty() {
            body_offset = Some(line.next);
            break;
        }
        if line.text.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            folded = folded.saturating_add(1);
            if current_kept
                && !current_truncated
                && let Some((_, value)) = headers.last_mut()
            {
                let room = value_limit.saturating_sub(value.len().saturating_add(1));
                let (more, cut, l) = bounded_lossy(line.text.trim_ascii(), room);
                lossy |= l;
                let more = more.trim();
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
                if cut || value.len() > value_limit {
                    truncate_on_char(value, value_limit);
                    current_truncated = true;
                    truncated_values = truncated_values.saturating_add(1);
                }
            }
            continue;
        }
        let Some(colon) = line.text.iter().position(|b| *b == b':') else {
            no_colon = no_colon.saturating_add(1);
            current_kept = false;
            continue;
        };
        let raw_name = line.text.get(..colon).unwrap_or(&[]);
        let raw_value = line.text.get(colon.saturating_add(1)..).unwrap_or(&[]);
        let name_trimmed = raw_name.trim_ascii();
        if name_trimmed.is_empty()
            || name_trimmed.len() > MAX_NAME_BYTES
            || !name_trimmed.iter().all(|b| is_token_byte(*b))
        {
            bad_names = bad_names.saturating_add(1);
            current_kept = false;
            continue;
        }
        if name_trimmed.len() != raw_name.len() {
            space_before_colon = space_before_colon.saturating_add(1);
        }
        if headers.len() >= limits.max_headers {
            dropped_headers = dropped_headers.saturating_add(1);
            current_kept = false;
            continue;
        }
        let name = String::from_utf8_lossy(name_trimmed).into_owned();
        let raw_value = raw_value.trim_ascii();
        let (mut value, cut, l) = bounded_lossy(raw_value, value_limit);
        lossy |= l;
        if cut {
            truncated_values = truncated_values.saturating_add(1);
        }
        let trimmed_len = value.trim_end().len();
        value.truncate(trimmed_len);
        headers.push((name, value));
        current_kept = true;
        current_truncated = cut;
    }
    let body_offset = match body_offset {
        Some(o) => o,
        None => {
            warnings.push("no blank line after the headers".into());
            data.len()
        }
    };
    if bare_lf {
        warnings.push("bare LF line endings".into());
    }
    if lossy {
        warnings.push("bytes that are not UTF-8 were replaced".into());
    }
    if folded > 0 {
        warnings.push(format!("{folded} folded header continuation line(s)"));
    }
    if no_colon > 0 {
        warnings.push(format!("{no_colon} header line(s) without a colon ignored"));
    }
    if bad_names > 0 {
        warnings.push(format!(
            "{bad_names} header line(s) with an invalid name ignored"
        ));
    }
    if space_before_colon > 0 {
        warnings.push(format!(
            "{space_before_colon} header(s) with whitespace before the colon"
        ));
    }
    if dropped_headers > 0 {
        warnings.push(format!(
            "{dropped_headers} header(s) beyond the limit of {} ignored",
            limits.max_headers
        ));
    }
    if truncated_values > 0 {
        warnings.push(format!(
            "{truncated_values} header value(s) cut at {} bytes",
            limits.max_header_value_bytes
        ));
    }
    let raw_body = data.get(body_offset..).unwrap_or(&[]);
    // Never copy more than max_body_bytes of attacker-sized input.
    let keep = raw_body.len().min(limits.max_body_bytes);
    Ok(ScannedMessage {
        start,
        headers,
        dropped_headers,
        truncated_values,
        body_offset,
        raw_body_len: raw_body.len(),
        raw_body: raw_body.get(..keep).unwrap_or(&[]).to_vec(),
        warnings,
    })
}

fn truncate_on_char(s: &mut String, limit: usize) {
    if s.len() <= limit {
        return;
    }
    let mut cut = limit;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut = cut.saturating_sub(1);
    }
    s.truncate(cut);
}

impl ScannedMessage {
    /// Extract the model fields from the scanned headers (the same code for both parsers).
    pub fn into_message(self, limits: &SipLimits) -> SipMessage {
        let ScannedMessage {
            start,
            headers,
            raw_body,
            raw_body_len,
            mut warnings,
            dropped_headers,
            truncated_values,
            ..
        } = self;
        let mut msg = SipMessage {
            start,
            call_id: None,
            from: None,
            to: None,
            cseq: None,
            via: Vec::new(),
            contact: Vec::new(),
            user_agent: None,
            server: None,
            p_asserted_identity: Vec::new(),
            auth: Vec::new(),
            content_type: None,
            content_length: None,
            max_forwards: None,
            headers: Vec::new(),
            body: Vec::new(),
            sdp: None,
            parser: SipParser::Tolerant,
            warnings: Vec::new(),
            cut: dropped_headers > 0 || truncated_values > 0,
        };
        let mut list_overflow = false;
        for (name, value) in &headers {
            let canonical = canonical_name(name);
            let is = |h: &str| canonical.eq_ignore_ascii_case(h);
            if is("Call-ID") {
                if msg.call_id.is_none() && !value.is_empty() {
                    msg.call_id = Some(value.clone());
                }
            } else if is("From") {
                if msg.from.is_none() {
                    msg.from = parse_name_addr(value);
                }
            } else if is("To") {
                if msg.to.is_none() {
                    msg.to = parse_name_addr(value);
                }
            } else if is("CSeq") {
                if msg.cseq.is_none() {
                    msg.cseq = parse_cseq(value);
                    if msg.cseq.is_none() {
                        warnings.push(format!("unparsable CSeq: {}", excerpt(value)));
                    }
                }
            } else if is("Via") {
                for item in split_commas(value) {
                    match parse_via(item) {
                        Some(v) if msg.via.len() < MAX_LIST_ENTRIES => msg.via.push(v),
                        Some(_) => list_overflow = true,
                        None => warnings.push(format!("unparsable Via: {}", excerpt(item))),
                    }
                }
            } else if is("Contact") {
                push_name_addrs(&mut msg.contact, value, &mut list_overflow);
            } else if is("P-Asserted-Identity") {
                push_name_addrs(&mut msg.p_asserted_identity, value, &mut list_overflow);
            } else if is("User-Agent") {
                if msg.user_agent.is_none() {
                    msg.user_agent = Some(value.clone());
                }
            } else if is("Server") {
                if msg.server.is_none() {
                    msg.server = Some(value.clone());
                }
            } else if is("Content-Type") {
                if msg.content_type.is_none() {
                    msg.content_type = Some(value.clone());
                }
            } else if is("Content-Length") {
                if msg.content_length.is_none() {
                    msg.content_length = value.trim().parse::<usize>().ok();
                    if msg.content_length.is_none() {
                        warnings.push(format!("unparsable Content-Length: {}", excerpt(value)));
                    }
                }
            } else if is("Max-Forwards") {
                if msg.max_forwards.is_none() {
                    msg.max_forwards = value.trim().parse::<u32>().ok();
                }
            } else if let Some(kind) = auth_header_kind(name)
                && msg.auth.len() < MAX_LIST_ENTRIES
                && let Some(a) = parse_auth(kind, value)
            {
                msg.auth.push(a);
            }
        }
        if list_overflow {
            warnings.push(format!(
                "more than {MAX_LIST_ENTRIES} Via/Contact/P-Asserted-Identity entries; rest ignored"
            ));
        }
        // Body: cut to Content-Length, bounded by max_body_bytes.
        let mut effective = raw_body_len;
        if let Some(cl) = msg.content_length {
            if cl < raw_body_len {
                warnings.push(format!(
                    "{} byte(s) after Content-Length ignored",
                    raw_body_len.saturating_sub(cl)
                ));
                effective = cl;
            } else if cl > raw_body_len {
                warnings.push(format!(
                    "body shorter than Content-Length ({raw_body_len} of {cl} bytes)"
                ));
            }
        }
        if effective > limits.max_body_bytes {
            warnings.push(format!("body cut at {} bytes", limits.max_body_bytes));
        }
        let mut body = raw_body;
        body.truncate(effective.min(limits.max_body_bytes));
        let mut sdp_cut = false;
        msg.sdp = msg
            .content_type
            .as_deref()
            .and_then(|ct| sdp_of_body(ct, &body, &mut warnings, &mut sdp_cut));
        msg.cut |= sdp_cut;
        msg.body = body;
        msg.headers = headers;
        msg.warnings = warnings;
        msg
    }
}

fn push_name_addrs(list: &mut Vec<crate::model::NameAddr>, value: &str, overflow: &mut bool) {
    for item in split_commas(value) {
        if list.len() >= MAX_LIST_ENTRIES {
            *overflow = true;
            return;
        }
        if let Some(n) = parse_name_addr(item) {
            list.push(n);
        }
    }
}

/// Longest multipart boundary looked for (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 200;
/// At most this many multipart parts are examined.
const MAX_PARTS: usize = 64;

/// The SDP of a body: directly for `application/sdp`, or the first `application/sdp` part of a multipart body.
/// `cut` is set when media sections beyond the limit were ignored.
fn sdp_of_body(
    content_type: &str,
    body: &[u8],
    warnings: &mut Vec<String>,
    cut: &mut bool,
) -> Option<Sdp> {
    let mime = mime_type(content_type);
    if body.iter().all(u8::is_ascii_whitespace) {
        // e.g. an ACK or 200 with `Content-Type: application/sdp` and `Content-Length: 0`.
        return None;
    }
    if mime == "application/sdp" {
        return match parse_sdp_counted(body) {
            Ok((s, ignored)) => {
                warn_media_ignored(ignored, warnings, cut);
                Some(s)
            }
            Err(e) => {
                warnings.push(format!("SDP: {e}"));
                None
            }
        };
    }
    if !mime.starts_with("multipart/") {
        return None;
    }
    let Some(boundary) = mime_param(content_type, "boundary") else {
        warnings.push("multipart body without a boundary".into());
        return None;
    };
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        warnings.push("multipart boundary empty or too long".into());
        return None;
    }
    let delimiter = format!("--{boundary}");
    let parts = split_multipart(body, delimiter.as_bytes());
    for part in parts.into_iter().take(MAX_PARTS) {
        let Some((part_ct, part_body)) = multipart_part(part) else {
            continue;
        };
        if mime_type(&part_ct) == "application/sdp" {
            return match parse_sdp_counted(part_body) {
                Ok((s, ignored)) => {
                    warn_media_ignored(ignored, warnings, cut);
                    Some(s)
                }
                Err(e) => {
                    warnings.push(format!("SDP in multipart body: {e}"));
                    None
                }
            };
        }
        if mime_type(&part_ct).starts_with("multipart/") {
            // One level of nesting only (bounded work).
            continue;
        }
    }
    warnings.push("multipart body without an application/sdp part".into());
    None
}

/// The warning for SDP `m=` sections beyond [`MAX_MEDIA`] (the pipeline counts these in its caps summary).
fn warn_media_ignored(ignored: usize, warnings: &mut Vec<String>, cut: &mut bool) {
    if ignored > 0 {
        *cut = true;
        warnings.push(format!(
            "SDP: {ignored} media section(s) beyond the limit of {MAX_MEDIA} ignored"
        ));
    }
}

/// The parts between delimiter lines (`--boundary` at the start of a line), preamble and epilogue dropped.
fn split_multipart<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut starts = Vec::new();
    let mut i = 0usize;
    let Some(first) = delimiter.first() else {
        return Vec::new();
    };
    while i < body.len() {
        let Some(off) = body
            .get(i..)
            .and_then(|r| r.iter().position(|b| b == first))
        else {
            break;
        };
        let at = i.saturating_add(off);
        let at_line_start = at == 0 || body.get(at.saturating_sub(1)) == Some(&b'\n');
        if at_line_start && body.get(at..).is_some_and(|r| r.starts_with(delimiter)) {
            starts.push(at);
            if starts.len() > MAX_PARTS {
                break;
            }
            i = at.saturating_add(delimiter.len());
        } else {
            i = at.saturating_add(1);
        }
    }
    let mut parts = Vec::new();
    for pair in starts.windows(2) {
        let (Some(&a), Some(&b)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let content_start = a.saturating_add(delimiter.len());
        let Some(mut part) = body.get(content_start..b) else {
            continue;
        };
        // Drop the rest of the delimiter line and the line end that belongs to the next delimiter.
        part = match part.iter().position(|b| *b == b'\n') {
            Some(nl) => part.get(nl.saturating_add(1)..).unwrap_or(&[]),
            None => &[],
        };
        part = part.strip_suffix(b"\n").unwrap_or(part);
        part = part.strip_suffix(b"\r").unwrap_or(part);
        parts.push(part);
    }
    parts
}

/// A multipart part's Content-Type and body.
fn multipart_part(part: &[u8]) -> Option<(String, &[u8])> {
    let mut lines = Lines { data: part, pos: 0 };
    let mut ct = None;
    let mut body_start = part.len();
    for line in lines.by_ref() {
        if line.text.is_empty() {
            body_start = line.next;
            break;
        }
        let text = String::from_utf8_lossy(line.text);
        if let Some((name, value)) = text.split_once(':')
            && is_header(name.trim(), "Content-Type")
        {
            ct = Some(value.trim().to_string());
        }
    }
    Some((ct?, part.get(body_start..).unwrap_or(&[])))
}
