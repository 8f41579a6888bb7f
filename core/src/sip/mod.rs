//! SIP and SDP decoding: bytes of one SIP message → [`crate::model::SipMessage`]. `rsip` first; where it rejects a
//! message a real endpoint would accept (odd spacing, compact headers, missing optional parts), a tolerant parser
//! extracts the same fields. Pure functions, no state. May import: `model`.
//!
//! Design: one linear scanner ([`scan`]) splits every message into start line, headers (unfolded, bounded) and
//! body, and one extractor ([`fields`]) turns those headers into the model fields, so both paths give identical
//! fields by construction. `rsip` is the strict judge: it parses the same bytes, and the message counts as
//! [`SipParser::Rsip`] only when rsip accepts it *and* agrees with the scanner on the start line, every header
//! (name and value) and where the body starts. Anything else is [`SipParser::Tolerant`] with a warning saying why
//! (rsip's error text, shortened, or the disagreement).

pub mod fields;
mod scan;
pub mod sdp;

use crate::model::{SipMessage, SipParser, StartLine};

pub use scan::{ScannedMessage, scan_message};

/// Bounds applied while parsing one message (attacker-controlled sizes).
#[derive(Debug, Clone)]
pub struct SipLimits {
    pub max_headers: usize,
    pub max_header_value_bytes: usize,
    pub max_body_bytes: usize,
}

impl Default for SipLimits {
    fn default() -> Self {
        SipLimits {
            max_headers: 256,
            max_header_value_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("not a SIP start line: {0}")]
    NotSip(String),
    #[error("malformed SIP message: {0}")]
    Malformed(String),
}

/// Messages larger than this are not handed to rsip (its error values copy the remaining input, and nothing
/// legitimate is this big); they go straight to the tolerant parser.
pub const RSIP_MAX_BYTES: usize = 256 * 1024;

/// Longest excerpt of an rsip error kept in a warning (rsip error texts quote the rest of the input).
const RSIP_ERROR_EXCERPT: usize = 160;

/// At most this many entries are kept in each of the Via, Contact and P-Asserted-Identity lists.
pub const MAX_LIST_ENTRIES: usize = 64;

/// Parse one SIP message (exactly one: framing is the transport's job).
pub fn parse_message(data: &[u8], limits: &SipLimits) -> Result<SipMessage, SipError> {
    let scanned = scan_message(data, limits)?;
    let verdict = rsip_verdict(data, &scanned);
    let mut msg = scanned.into_message(limits);
    match verdict {
        Ok(()) => msg.parser = SipParser::Rsip,
        Err(why) => {
            msg.parser = SipParser::Tolerant;
            msg.warnings.insert(0, why);
        }
    }
    Ok(msg)
}

/// Run rsip on the message and check it agrees with the scanner. `Err` carries the reason for falling back.
pub fn rsip_verdict(data: &[u8], scanned: &ScannedMessage) -> Result<(), String> {
    if data.len() > RSIP_MAX_BYTES {
        return Err(format!(
            "not given to rsip: {} bytes exceed {RSIP_MAX_BYTES}",
            data.len()
        ));
    }
    if scanned.dropped_headers > 0 || scanned.truncated_values > 0 {
        return Err("not given to rsip: message exceeds header limits".into());
    }
    let parsed = match rsip::SipMessage::try_from(data) {
        Ok(m) => m,
        Err(e) => {
            return Err(format!(
                "rsip rejected the message: {}",
                excerpt(&e.to_string())
            ));
        }
    };
    let (headers, body_len) = match &parsed {
        rsip::SipMessage::Request(r) => {
            let StartLine::Request { method, .. } = &scanned.start else {
                return Err("rsip disagrees: request vs response".into());
            };
            if !r.method.to_string().eq_ignore_ascii_case(method) {
                return Err(format!("rsip disagrees on the method ({})", r.method));
            }
            (&r.headers, r.body.len())
        }
        rsip::SipMessage::Response(r) => {
            let StartLine::Response { code, .. } = &scanned.start else {
                return Err("rsip disagrees: response vs request".into());
            };
            if r.status_code.code() != *code {
                return Err(format!(
                    "rsip disagrees on the status code ({})",
                    r.status_code.code()
                ));
            }
            (&r.headers, r.body.len())
        }
    };
    let mut count = 0usize;
    for (header, (name, value)) in headers.iter().zip(scanned.headers.iter()) {
        count = count.saturating_add(1);
        let text = header.to_string();
        let (rname, rvalue) = text.split_once(':').unwrap_or((text.as_str(), ""));
        if !same_header_name(rname, name) || rvalue.trim() != value {
            return Err(format!(
                "rsip disagrees on header {count} ({})",
                excerpt(rname)
            ));
        }
    }
    let rsip_count = headers.iter().count();
    if rsip_count != scanned.headers.len() || count != rsip_count {
        return Err(format!(
            "rsip disagrees on the header count ({rsip_count} vs {})",
            scanned.headers.len()
        ));
    }
    if body_len != data.len().saturating_sub(scanned.body_offset) {
        return Err("rsip disagrees on where the body starts".into());
    }
    Ok(())
}

/// Header names compared as rsip prints them (canonical spelling) vs as written: case and `-` ignored.
fn same_header_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .bytes()
            .filter(|b| *b != b'-')
            .map(|b| b.to_ascii_lowercase())
            .collect::<Vec<u8>>()
    };
    norm(a) == norm(b)
}

/// A short, single-line excerpt of `s` for diagnostics.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(RSIP_ERROR_EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(RSIP_ERROR_EXCERPT).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
