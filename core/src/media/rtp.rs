//! RTP fixed header (RFC 3550 5.1), CSRC list, header extension (5.3.1) and padding.

/// A parsed RTP header. Offsets index into the packet given to [`parse_rtp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub padding: bool,
    pub extension: bool,
    pub csrc_count: u8,
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Header extension profile (the 16 bits before the length), when `extension`.
    pub extension_profile: Option<u16>,
    /// Offset of the payload (12 + 4×CC + extension).
    pub payload_offset: usize,
    /// Payload length without padding.
    pub payload_len: usize,
    /// Padding bytes (the last byte's value) when `padding`, else 0.
    pub padding_len: usize,
}

/// Why bytes are not a valid RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    TooShort { len: usize },
    #[error("RTP version {0} (must be 2)")]
    BadVersion(u8),
    #[error("RTP CSRC count {count} needs {needed} bytes but the packet has {len}")]
    CsrcPastEnd {
        count: u8,
        needed: usize,
        len: usize,
    },
    #[error("RTP header extension needs {needed} bytes but the packet has {len}")]
    ExtensionPastEnd { needed: usize, len: usize },
    #[error("RTP padding of {padding} bytes is larger than the {available} bytes after the header")]
    BadPadding { padding: usize, available: usize },
}

/// Parse an RTP packet. Never panics; every length is checked.
pub fn parse_rtp(_data: &[u8]) -> Result<RtpHeader, RtpError> {
    Err(RtpError::TooShort { len: 0 })
}

/// The payload bytes (no padding) of a packet parsed by [`parse_rtp`].
pub fn payload<'a>(data: &'a [u8], h: &RtpHeader) -> &'a [u8] {
    data.get(h.payload_offset..h.payload_offset.saturating_add(h.payload_len))
        .unwrap_or_default()
}
