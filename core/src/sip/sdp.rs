//! SDP (RFC 8866) parsing into [`crate::model::Sdp`].

use crate::model::Sdp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("malformed SDP: {0}")]
    Malformed(String),
}

/// Parse an SDP body. Unknown lines are ignored; a body with no `v=`/`m=` structure is an error.
pub fn parse_sdp(body: &[u8]) -> Result<Sdp, SdpError> {
    let _ = body;
    Err(SdpError::Malformed("sdp::parse_sdp not implemented".into()))
}
