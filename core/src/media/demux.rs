//! What a media-path UDP payload is: RFC 7983 first-byte demultiplexing (STUN 0-3, ZRTP 16-19, DTLS 20-63, TURN
//! ChannelData 64-79, RTP/RTCP 128-191), STUN/TURN parsing deep enough to unwrap relayed media (ChannelData, Send
//! and Data indications, Channel-Bind), DTLS record and ZRTP recognition, UDPTL (T.38) headers, and the framing of
//! STUN/ChannelData over TCP (RFC 6544 / RFC 8656 11.5).

use std::net::SocketAddr;

/// First-byte class of a payload (RFC 7983 section 7), refined with each format's own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadClass {
    /// A STUN message (magic cookie checked).
    Stun,
    /// A ZRTP packet (first byte 0x10, magic cookie 0x5A525450 at offset 4).
    Zrtp,
    /// A DTLS record (content type 20-25 and a DTLS version 0xFEFF/0xFEFD/0xFEFC).
    Dtls,
    /// TURN ChannelData (channel 0x4000-0x7FFF, length fits).
    TurnChannel,
    /// RTCP (version 2, packet type 192-223 in the second byte, RFC 5761 4).
    Rtcp,
    /// RTP (version 2, any other payload type).
    Rtp,
    Unknown,
}

/// Classify a UDP (or unwrapped) payload. Never panics.
pub fn classify(_data: &[u8]) -> PayloadClass {
    PayloadClass::Unknown
}

/// STUN message class (RFC 5389 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunClass {
    Request,
    Indication,
    Success,
    Error,
}

/// The parts of a STUN/TURN message that media analysis needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunMessage<'a> {
    pub class: StunClass,
    /// Method: 0x001 Binding, 0x003 Allocate, 0x004 Refresh, 0x006 Send, 0x007 Data, 0x008 CreatePermission,
    /// 0x009 ChannelBind.
    pub method: u16,
    pub transaction_id: [u8; 12],
    /// DATA attribute (Send/Data indications): the relayed payload.
    pub data: Option<&'a [u8]>,
    /// XOR-PEER-ADDRESS, decoded.
    pub peer: Option<SocketAddr>,
    /// CHANNEL-NUMBER (Channel-Bind).
    pub channel: Option<u16>,
    /// USERNAME, lossy UTF-8 (attacker-controlled).
    pub username: Option<String>,
    /// Total bytes of the message (20 + length).
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    #[error("STUN message of {len} bytes is shorter than the 20-byte header")]
    TooShort { len: usize },
    #[error("STUN magic cookie missing")]
    NoMagicCookie,
    #[error("STUN length {claimed} runs past the {available} bytes available")]
    LengthPastEnd { claimed: usize, available: usize },
    #[error("STUN attribute 0x{attr:04x} at offset {offset} runs past the end")]
    AttributePastEnd { attr: u16, offset: usize },
}

/// Parse a STUN message (attributes walked with bounds checks; unknown attributes skipped).
pub fn parse_stun(_data: &[u8]) -> Result<StunMessage<'_>, StunError> {
    Err(StunError::TooShort { len: 0 })
}

/// TURN ChannelData message (RFC 8656 12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
}

/// Parse ChannelData; `None` when the channel number is out of 0x4000-0x7FFF or the length runs past the end.
pub fn parse_channel_data(_data: &[u8]) -> Option<ChannelData<'_>> {
    None
}

/// Bytes of the first STUN message or ChannelData frame at the start of a TCP byte stream, including ChannelData
/// padding to a multiple of 4 (RFC 8656 12.5). `None` when `buf` does not start with either, `Some(Err(need))`
/// when it does but more bytes are needed (`need` = total frame length).
pub fn tcp_frame_len(_buf: &[u8]) -> Option<Result<usize, usize>> {
    None
}

/// Is `data` a DTLS record (content type 20-25, DTLS version, length fits)? Returns the content type.
pub fn dtls_content_type(_data: &[u8]) -> Option<u8> {
    None
}

/// Is `data` a ZRTP packet? Returns the ZRTP message type (e.g. `Hello   `, `Commit  `) when present.
pub fn zrtp_message_type(_data: &[u8]) -> Option<[u8; 8]> {
    None
}

/// UDPTL (T.38 over UDP, ITU-T T.38 Annex / ASN.1 PER) packet: sequence number and primary IFP length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdptlHeader {
    pub seq: u16,
    pub ifp_len: usize,
}

/// Parse the start of a UDPTL packet: 16-bit sequence number then a length-prefixed primary IFP packet. `None` when
/// the lengths do not fit.
pub fn parse_udptl(_data: &[u8]) -> Option<UdptlHeader> {
    None
}
