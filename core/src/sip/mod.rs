//! SIP and SDP decoding: bytes of one SIP message → [`crate::model::SipMessage`]. `rsip` first; where it rejects a
//! message a real endpoint would accept (odd spacing, compact headers, missing optional parts), a tolerant parser
//! extracts the same fields. Pure functions, no state. May import: `model`.

pub mod sdp;

use crate::model::SipMessage;

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

/// Parse one SIP message (exactly one: framing is the transport's job).
pub fn parse_message(data: &[u8], limits: &SipLimits) -> Result<SipMessage, SipError> {
    let _ = (data, limits);
    Err(SipError::Malformed(
        "sip::parse_message not implemented".into(),
    ))
}
