//! What a media-path UDP payload is: RFC 7983 first-byte demultiplexing (STUN 0-3, ZRTP 16-19, DTLS 20-63, TURN
//! ChannelData 64-79, RTP/RTCP 128-191), STUN/TURN parsing deep enough to unwrap relayed media (ChannelData, Send
//! and Data indications, Channel-Bind), DTLS record and ZRTP recognition, UDPTL (T.38) headers, and the framing of
//! STUN/ChannelData over TCP (RFC 6544 / RFC 8656 11.5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// STUN magic cookie (RFC 5389 6).
pub const STUN_MAGIC_COOKIE: u32 = 0x2112_A442;
/// ZRTP magic cookie (RFC 6189 5).
pub const ZRTP_MAGIC_COOKIE: u32 = 0x5A52_5450;

/// STUN attribute types read by [`parse_stun`].
pub const ATTR_USERNAME: u16 = 0x0006;
pub const ATTR_CHANNEL_NUMBER: u16 = 0x000C;
pub const ATTR_XOR_PEER_ADDRESS: u16 = 0x0012;
pub const ATTR_DATA: u16 = 0x0013;

/// Longest USERNAME kept (RFC 5389 15.3: fewer than 513 bytes).
pub const MAX_USERNAME_BYTES: usize = 512;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// `n` rounded up to a multiple of 4.
fn pad4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

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
pub fn classify(data: &[u8]) -> PayloadClass {
    let Some(&first) = data.first() else {
        return PayloadClass::Unknown;
    };
    let ok = |yes: bool, class: PayloadClass| if yes { class } else { PayloadClass::Unknown };
    match first {
        0..=3 => ok(stun_header_fits(data), PayloadClass::Stun),
        16..=19 => ok(
            data.len() >= 12 && be32(data, 4) == Some(ZRTP_MAGIC_COOKIE),
            PayloadClass::Zrtp,
        ),
        20..=63 => ok(dtls_content_type(data).is_some(), PayloadClass::Dtls),
        64..=79 => ok(channel_data_fills(data), PayloadClass::TurnChannel),
        128..=191 => match data.get(1) {
            // RFC 5761 4: packet types 192-223 are RTCP (RTP payload types 64-95 are not used).
            Some(192..=223) => ok(rtcp_header_fits(data), PayloadClass::Rtcp),
            Some(_) => ok(rtp_header_fits(data), PayloadClass::Rtp),
            None => PayloadClass::Unknown,
        },
        _ => PayloadClass::Unknown,
    }
}

/// ChannelData that is the whole datagram: its application data plus at most the padding to a multiple of 4
/// (RFC 8656 12.5: optional over UDP). Random bytes starting 0x40-0x4F (QUIC short headers) would otherwise pass
/// whenever their length field happened to fit, and their "inner" bytes be taken for relayed media.
fn channel_data_fills(data: &[u8]) -> bool {
    let Some(cd) = parse_channel_data(data) else {
        return false;
    };
    let len = cd.data.len();
    data.len() <= 4 + len.next_multiple_of(4)
}

/// A STUN header with the magic cookie, a length that is a multiple of 4, and the message within `data`.
fn stun_header_fits(data: &[u8]) -> bool {
    let (Some(len), Some(cookie)) = (be16(data, 2), be32(data, 4)) else {
        return false;
    };
    let len = usize::from(len);
    data.len() >= 20
        && cookie == STUN_MAGIC_COOKIE
        && len.is_multiple_of(4)
        && 20 + len <= data.len()
}

/// RTCP: a 4-byte header and an SSRC, and the first packet's length (in 32-bit words minus one) within `data`.
fn rtcp_header_fits(data: &[u8]) -> bool {
    let Some(words) = be16(data, 2) else {
        return false;
    };
    let len = (usize::from(words) + 1) * 4;
    data.len() >= 8 && len <= data.len()
}

/// RTP: the 12-byte fixed header and the CSRC list within `data`.
fn rtp_header_fits(data: &[u8]) -> bool {
    let Some(&b0) = data.first() else {
        return false;
    };
    let csrc = usize::from(b0 & 0x0F) * 4;
    data.len() >= 12 + csrc
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
///
/// The two most significant bits of the message type are not checked (RFC 7983 first-byte demultiplexing, as
/// [`classify`] does, rejects them). The message length need not be a multiple of 4; every attribute value must lie
/// within it (the padding after the last one may be missing).
pub fn parse_stun(data: &[u8]) -> Result<StunMessage<'_>, StunError> {
    let available = data.len();
    let (Some(msg_type), Some(msg_len), Some(cookie), Some(tid)) =
        (be16(data, 0), be16(data, 2), be32(data, 4), data.get(8..20))
    else {
        return Err(StunError::TooShort { len: available });
    };
    if cookie != STUN_MAGIC_COOKIE {
        return Err(StunError::NoMagicCookie);
    }
    let mut transaction_id = [0u8; 12];
    transaction_id.copy_from_slice(tid);
    let claimed = 20 + usize::from(msg_len);
    let Some(body) = data.get(20..claimed) else {
        return Err(StunError::LengthPastEnd { claimed, available });
    };
    // Class bits C1 (0x0100) and C0 (0x0010); method bits M0-M3, M4-M6, M7-M11 around them (RFC 5389 6).
    let class = match ((msg_type >> 7) & 0x2) | ((msg_type >> 4) & 0x1) {
        0 => StunClass::Request,
        1 => StunClass::Indication,
        2 => StunClass::Success,
        _ => StunClass::Error,
    };
    let method = (msg_type & 0x000F) | ((msg_type >> 1) & 0x0070) | ((msg_type >> 2) & 0x0F80);
    let mut msg = StunMessage {
        class,
        method,
        transaction_id,
        data: None,
        peer: None,
        channel: None,
        username: None,
        len: claimed,
    };
    let mut off = 0usize;
    while off < body.len() {
        let offset = 20 + off;
        let attr =
            be16(body, off).unwrap_or_else(|| u16::from(body.get(off).copied().unwrap_or(0)) << 8);
        let Some(alen) = be16(body, off + 2) else {
            return Err(StunError::AttributePastEnd { attr, offset });
        };
        let start = off + 4;
        let end = start + usize::from(alen);
        let Some(value) = body.get(start..end) else {
            return Err(StunError::AttributePastEnd { attr, offset });
        };
        match attr {
            ATTR_DATA if msg.data.is_none() => msg.data = Some(value),
            ATTR_XOR_PEER_ADDRESS if msg.peer.is_none() => {
                msg.peer = xor_address(value, &transaction_id);
            }
            ATTR_CHANNEL_NUMBER if msg.channel.is_none() => msg.channel = be16(value, 0),
            ATTR_USERNAME if msg.username.is_none() => {
                let bounded = value
                    .get(..value.len().min(MAX_USERNAME_BYTES))
                    .unwrap_or_default();
                msg.username = Some(String::from_utf8_lossy(bounded).into_owned());
            }
            _ => {}
        }
        off = start + pad4(usize::from(alen));
    }
    Ok(msg)
}

/// Decode an XOR-MAPPED-ADDRESS style value (RFC 5389 15.2): reserved, family, X-Port, X-Address.
fn xor_address(value: &[u8], transaction_id: &[u8; 12]) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let port = be16(value, 2)? ^ (STUN_MAGIC_COOKIE >> 16) as u16;
    let ip = match family {
        0x01 => IpAddr::V4(Ipv4Addr::from(be32(value, 4)? ^ STUN_MAGIC_COOKIE)),
        0x02 => {
            let x = value.get(4..20)?;
            let key = STUN_MAGIC_COOKIE
                .to_be_bytes()
                .into_iter()
                .chain(transaction_id.iter().copied());
            let mut addr = [0u8; 16];
            for ((a, &b), k) in addr.iter_mut().zip(x).zip(key) {
                *a = b ^ k;
            }
            IpAddr::V6(Ipv6Addr::from(addr))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// TURN ChannelData message (RFC 8656 12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
}

/// Parse ChannelData; `None` when the channel number is out of 0x4000-0x7FFF or the length runs past the end.
/// The data excludes any padding after it.
pub fn parse_channel_data(data: &[u8]) -> Option<ChannelData<'_>> {
    let channel = be16(data, 0)?;
    if !(0x4000..=0x7FFF).contains(&channel) {
        return None;
    }
    let len = usize::from(be16(data, 2)?);
    Some(ChannelData {
        channel,
        data: data.get(4..4 + len)?,
    })
}

/// Bytes of the first STUN message or ChannelData frame at the start of a TCP byte stream, including ChannelData
/// padding to a multiple of 4 (RFC 8656 12.5). `None` when `buf` does not start with either, `Some(Err(need))`
/// when it does but more bytes are needed (`need` = total frame length, or the header length while the length
/// field has not arrived). A STUN message is recognised by its first byte (0-3), a length that is a multiple of 4
/// and, once 8 bytes are there, the magic cookie; ChannelData by its first byte (0x40-0x7F, channels
/// 0x4000-0x7FFF). An empty `buf` needs more bytes.
pub fn tcp_frame_len(buf: &[u8]) -> Option<Result<usize, usize>> {
    let Some(&first) = buf.first() else {
        return Some(Err(4));
    };
    let need = |total: usize| {
        if buf.len() >= total {
            Ok(total)
        } else {
            Err(total)
        }
    };
    match first {
        0..=3 => {
            let Some(len) = be16(buf, 2) else {
                return Some(Err(20));
            };
            let len = usize::from(len);
            if !len.is_multiple_of(4) {
                return None;
            }
            match be32(buf, 4) {
                Some(STUN_MAGIC_COOKIE) | None => Some(need(20 + len)),
                Some(_) => None,
            }
        }
        0x40..=0x7F => {
            let Some(len) = be16(buf, 2) else {
                return Some(Err(4));
            };
            Some(need(4 + pad4(usize::from(len))))
        }
        _ => None,
    }
}

/// Length of the ChannelData frame at the start of `frame` without its TCP padding (`frame` as cut by
/// [`tcp_frame_len`]); the whole `frame` for a STUN message.
pub fn tcp_frame_unpadded_len(frame: &[u8]) -> usize {
    match (frame.first(), be16(frame, 2)) {
        (Some(0x40..=0x7F), Some(len)) => (4 + usize::from(len)).min(frame.len()),
        _ => frame.len(),
    }
}

/// Is `data` a DTLS record (content type 20-25, DTLS version, length fits)? Returns the content type.
pub fn dtls_content_type(data: &[u8]) -> Option<u8> {
    let content_type = *data.first()?;
    if !(20..=25).contains(&content_type) {
        return None;
    }
    if !matches!(be16(data, 1)?, 0xFEFF | 0xFEFD | 0xFEFC) {
        return None;
    }
    // type(1) version(2) epoch(2) sequence(6) length(2).
    let len = usize::from(be16(data, 11)?);
    data.get(13..13 + len)?;
    Some(content_type)
}

/// Is `data` a ZRTP packet? Returns the ZRTP message type (e.g. `Hello   `, `Commit  `) when present.
///
/// The packet is `0x10`, an unused byte, a sequence number (2), the magic cookie (4) and the SSRC (4); the message
/// that follows starts with the preamble 0x505A, its length in 32-bit words (preamble, length and type block
/// included) and the 8-byte type block; the message and the 4-byte CRC must fit.
pub fn zrtp_message_type(data: &[u8]) -> Option<[u8; 8]> {
    if *data.first()? != 0x10 || be32(data, 4)? != ZRTP_MAGIC_COOKIE || be16(data, 12)? != 0x505A {
        return None;
    }
    let words = usize::from(be16(data, 14)?);
    if words < 3 || data.len() < 12 + words * 4 + 4 {
        return None;
    }
    let mut kind = [0u8; 8];
    kind.copy_from_slice(data.get(16..24)?);
    Some(kind)
}

/// UDPTL (T.38 over UDP, ITU-T T.38 Annex / ASN.1 PER) packet: sequence number and primary IFP length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdptlHeader {
    pub seq: u16,
    pub ifp_len: usize,
}

/// Parse the start of a UDPTL packet: 16-bit sequence number then a length-prefixed primary IFP packet. `None` when
/// the lengths do not fit. The length is an ASN.1 PER length determinant: one byte below 128, two bytes when the
/// top bits are `10` (14-bit length); fragmented lengths (`11`) and empty IFP packets are rejected.
pub fn parse_udptl(data: &[u8]) -> Option<UdptlHeader> {
    let seq = be16(data, 0)?;
    let b = *data.get(2)?;
    let (ifp_len, header) = match b {
        0x00..=0x7F => (usize::from(b), 3),
        0x80..=0xBF => ((usize::from(b & 0x3F) << 8) | usize::from(*data.get(3)?), 4),
        _ => return None,
    };
    if ifp_len == 0 || data.len() < header + ifp_len {
        return None;
    }
    Some(UdptlHeader { seq, ifp_len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// RFC 5769 2.1: sample request (Binding, USERNAME "evtj:h6vY", MESSAGE-INTEGRITY, FINGERPRINT).
    const RFC5769_REQUEST: [u8; 108] = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
        0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74,
        0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e,
        0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
        0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20,
        0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
        0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5,
        0x7a, 0x3b, 0xcf,
    ];

    /// RFC 5769 2.2: sample IPv4 response (XOR-MAPPED-ADDRESS 192.0.2.1:32853).
    const RFC5769_RESPONSE: [u8; 80] = [
        0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
        0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76,
        0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1,
        0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
        0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00,
        0x04, 0xc0, 0x7d, 0x4c, 0x96,
    ];

    const TID: [u8; 12] = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];
    /// XOR'd address values of RFC 5769 2.2 and 2.3 (with [`TID`]): 192.0.2.1:32853 and
    /// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    const XOR_V4: [u8; 8] = [0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43];
    const XOR_V6: [u8; 20] = [
        0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4,
        0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    ];

    /// A STUN message with the given type and attributes (each padded to 4 bytes with zeros).
    fn stun(msg_type: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in attrs {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            while !body.len().is_multiple_of(4) {
                body.push(0);
            }
        }
        let mut m = Vec::new();
        m.extend_from_slice(&msg_type.to_be_bytes());
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        m.extend_from_slice(&TID);
        m.extend_from_slice(&body);
        m
    }

    fn v4() -> SocketAddr {
        "192.0.2.1:32853".parse().unwrap()
    }

    fn v6() -> SocketAddr {
        "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap()
    }

    /// ChannelData over TCP: channel 0x4001, "hello" and 3 bytes of padding.
    const CHANNEL_DATA: [u8; 12] = [
        0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o', 0, 0, 0,
    ];

    /// A DTLS 1.2 handshake record (epoch 0, sequence 1) with a 4-byte body.
    const DTLS_RECORD: [u8; 17] = [
        0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x01, 0x02,
        0x03, 0x04,
    ];

    /// A ZRTP Hello (RFC 6189 5.2): header, preamble, length 22 words, "Hello   ", version "1.10", padding, CRC.
    fn zrtp_hello() -> Vec<u8> {
        let mut p = vec![
            0x10, 0x00, 0x00, 0x01, 0x5a, 0x52, 0x54, 0x50, 0xde, 0xad, 0xbe, 0xef,
        ];
        p.extend_from_slice(&[0x50, 0x5a, 0x00, 22]);
        p.extend_from_slice(b"Hello   ");
        p.extend_from_slice(b"1.10");
        p.resize(12 + 22 * 4, 0x55);
        p.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        p
    }

    /// UDPTL: sequence 0x0102, primary IFP of 3 bytes (t30-indicator), then an empty redundancy part.
    const UDPTL: [u8; 8] = [0x01, 0x02, 0x03, 0x00, 0x01, 0x80, 0x00, 0x00];

    #[test]
    fn binding_request_rfc5769() {
        let m = parse_stun(&RFC5769_REQUEST).unwrap();
        assert_eq!(m.class, StunClass::Request);
        assert_eq!(m.method, 0x001);
        assert_eq!(m.transaction_id, TID);
        assert_eq!(m.username.as_deref(), Some("evtj:h6vY"));
        assert_eq!(m.len, 108);
        assert_eq!((m.data, m.peer, m.channel), (None, None, None));
        assert_eq!(classify(&RFC5769_REQUEST), PayloadClass::Stun);
        assert_eq!(tcp_frame_len(&RFC5769_REQUEST), Some(Ok(108)));
    }

    #[test]
    fn binding_response_rfc5769() {
        let m = parse_stun(&RFC5769_RESPONSE).unwrap();
        assert_eq!(m.class, StunClass::Success);
        assert_eq!(m.method, 0x001);
        assert_eq!(m.len, 80);
        // XOR-MAPPED-ADDRESS (0x0020) is not the peer address.
        assert_eq!(m.peer, None);
        assert_eq!(m.username, None);
        assert_eq!(classify(&RFC5769_RESPONSE), PayloadClass::Stun);
        // Binding error response 0x0111 and an Allocate error 0x0113.
        let e_msg = stun(0x0113, &[]);

        let e = parse_stun(&e_msg).unwrap();
        assert_eq!((e.class, e.method, e.len), (StunClass::Error, 0x003, 20));
    }

    #[test]
    fn send_indication_ipv4() {
        let m = stun(0x0016, &[(0x0012, &XOR_V4), (0x0013, b"hello")]);
        assert_eq!(m.len(), 20 + 12 + 12);
        let s = parse_stun(&m).unwrap();
        assert_eq!(s.class, StunClass::Indication);
        assert_eq!(s.method, 0x006);
        assert_eq!(s.peer, Some(v4()));
        assert_eq!(s.data, Some(&b"hello"[..]));
        assert_eq!(s.len, 44);
    }

    #[test]
    fn data_indication_ipv6() {
        let rtp = [
            0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0xaa,
        ];
        let m = stun(
            0x0017,
            &[(0x0012, &XOR_V6), (0x8022, b"sw"), (0x0013, &rtp)],
        );
        let s = parse_stun(&m).unwrap();
        assert_eq!(s.class, StunClass::Indication);
        assert_eq!(s.method, 0x007);
        assert_eq!(s.peer, Some(v6()));
        assert_eq!(s.data, Some(&rtp[..]));
        assert_eq!(classify(s.data.unwrap()), PayloadClass::Rtp);
    }

    #[test]
    fn real_data_indication_peer() {
        // Frame 82 of stun_dtls_rtp.pcapng: XOR-PEER-ADDRESS 25f9 / 2b1fa470 is 10.13.0.50:1259 (TShark).
        let peer = [0x00, 0x01, 0x25, 0xf9, 0x2b, 0x1f, 0xa4, 0x70];
        let s_msg = stun(0x0017, &[(0x0012, &peer)]);

        let s = parse_stun(&s_msg).unwrap();
        assert_eq!(s.peer, Some("10.13.0.50:1259".parse().unwrap()));
    }

    #[test]
    fn channel_bind_request_and_response() {
        let req = stun(
            0x0009,
            &[
                (0x000C, &[0x40, 0x01, 0x00, 0x00]),
                (0x0012, &XOR_V4),
                (0x0006, b"user\xffname"),
            ],
        );
        let s = parse_stun(&req).unwrap();
        assert_eq!((s.class, s.method), (StunClass::Request, 0x009));
        assert_eq!(s.channel, Some(0x4001));
        assert_eq!(s.peer, Some(v4()));
        assert_eq!(s.username.as_deref(), Some("user\u{fffd}name"));
        let ok_msg = stun(0x0109, &[]);

        let ok = parse_stun(&ok_msg).unwrap();
        assert_eq!(
            (ok.class, ok.method, ok.channel),
            (StunClass::Success, 0x009, None)
        );
    }

    #[test]
    fn unknown_attributes_skipped_username_bounded() {
        let long = vec![b'a'; 700];
        let m = stun(
            0x0001,
            &[(0x7fff, b"xyz"), (0xc057, &[1, 2, 3, 4]), (0x0006, &long)],
        );
        let s = parse_stun(&m).unwrap();
        assert_eq!(s.username.map(|u| u.len()), Some(MAX_USERNAME_BYTES));
    }

    #[test]
    fn channel_data() {
        let c = parse_channel_data(&CHANNEL_DATA).unwrap();
        assert_eq!(c.channel, 0x4001);
        assert_eq!(c.data, b"hello");
        assert_eq!(classify(&CHANNEL_DATA), PayloadClass::TurnChannel);
        // Over TCP the frame is padded to a multiple of 4.
        assert_eq!(tcp_frame_len(&CHANNEL_DATA), Some(Ok(12)));
        assert_eq!(tcp_frame_unpadded_len(&CHANNEL_DATA), 9);
        assert_eq!(tcp_frame_len(&CHANNEL_DATA[..9]), Some(Err(12)));
        // Over UDP the padding may be absent.
        assert_eq!(
            parse_channel_data(&CHANNEL_DATA[..9]).unwrap().data,
            b"hello"
        );
        // Channel 0x7fff is valid, 0x8000 and 0x3fff are not.
        assert!(parse_channel_data(&[0x7f, 0xff, 0, 0]).is_some());
        assert_eq!(parse_channel_data(&[0x80, 0x00, 0, 0]), None);
        assert_eq!(parse_channel_data(&[0x3f, 0xff, 0, 0]), None);
    }

    #[test]
    fn udp_channel_data_must_fill_its_datagram() {
        // Unpadded (9 bytes) and padded (12) both fill the datagram.
        assert_eq!(classify(&CHANNEL_DATA[..9]), PayloadClass::TurnChannel);
        assert_eq!(classify(&CHANNEL_DATA), PayloadClass::TurnChannel);
        // More than the padding after the data: not ChannelData (a QUIC short header whose bytes 2-3 happen to be
        // a small length looks like this).
        let mut longer = CHANNEL_DATA.to_vec();
        longer.push(0);
        assert_eq!(classify(&longer), PayloadClass::Unknown);
        let mut quic = vec![0x45, 0x9a, 0x00, 0x0c];
        quic.extend_from_slice(&[0x80; 60]);
        assert_eq!(classify(&quic), PayloadClass::Unknown);
        // A length beyond the datagram is not ChannelData either.
        assert_eq!(classify(&CHANNEL_DATA[..8]), PayloadClass::Unknown);
    }

    #[test]
    fn dtls_record() {
        assert_eq!(dtls_content_type(&DTLS_RECORD), Some(22));
        assert_eq!(classify(&DTLS_RECORD), PayloadClass::Dtls);
        // Application data, DTLS 1.0 version.
        let mut r = DTLS_RECORD;
        r[0] = 23;
        r[1..3].copy_from_slice(&[0xfe, 0xff]);
        assert_eq!(dtls_content_type(&r), Some(23));
        // Two records in one datagram: the first one's length is checked.
        let mut two = DTLS_RECORD.to_vec();
        two.extend_from_slice(&DTLS_RECORD);
        assert_eq!(dtls_content_type(&two), Some(22));
    }

    #[test]
    fn zrtp_hello_message() {
        let p = zrtp_hello();
        assert_eq!(zrtp_message_type(&p), Some(*b"Hello   "));
        assert_eq!(classify(&p), PayloadClass::Zrtp);
        // Without its CRC the message does not fit; a bad preamble is not ZRTP.
        assert_eq!(zrtp_message_type(&p[..p.len() - 1]), None);
        let mut bad = p.clone();
        bad[12] = 0x51;
        assert_eq!(zrtp_message_type(&bad), None);
        let mut cookie = p;
        cookie[7] = 0;
        assert_eq!(zrtp_message_type(&cookie), None);
        assert_eq!(classify(&cookie), PayloadClass::Unknown);
    }

    #[test]
    fn udptl() {
        assert_eq!(
            parse_udptl(&UDPTL),
            Some(UdptlHeader {
                seq: 0x0102,
                ifp_len: 3
            })
        );
        // Two-byte length form: 0x81 0x00 = 256 bytes.
        let mut long = vec![0x00, 0x07, 0x81, 0x00];
        long.resize(4 + 256, 0xd0);
        assert_eq!(
            parse_udptl(&long),
            Some(UdptlHeader {
                seq: 7,
                ifp_len: 256
            })
        );
        assert_eq!(parse_udptl(&long[..long.len() - 1]), None);
        assert_eq!(parse_udptl(&UDPTL[..5]), None);
        // Fragmented length determinant and empty IFP.
        assert_eq!(parse_udptl(&[0, 1, 0xc1, 0, 0, 0]), None);
        assert_eq!(parse_udptl(&[0, 1, 0x00]), None);
    }

    #[test]
    fn rtp_and_rtcp() {
        let mut rtp = vec![0x80, 0x00, 0x12, 0x34, 0, 0, 0, 160, 0xca, 0xfe, 0xba, 0xbe];
        rtp.extend_from_slice(&[0xff; 160]);
        assert_eq!(classify(&rtp), PayloadClass::Rtp);
        // Marker with PT 96 (second byte 224) is RTP, not RTCP.
        rtp[1] = 0xe0;
        assert_eq!(classify(&rtp), PayloadClass::Rtp);
        // Two CSRCs that are not there.
        assert_eq!(
            classify(&[0x82, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]),
            PayloadClass::Unknown
        );
        // RTCP receiver report without blocks (length 1 word) and sender report types 192-223.
        let rr = [0x80, 201, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44];
        assert_eq!(classify(&rr), PayloadClass::Rtcp);
        let mut xr = rr;
        xr[1] = 207;
        assert_eq!(classify(&xr), PayloadClass::Rtcp);
        // RTCP length past the end.
        let mut long = rr;
        long[3] = 2;
        assert_eq!(classify(&long), PayloadClass::Unknown);
        // Version 1 / version 3 first bytes are outside 128-191.
        assert_eq!(classify(&[0x40; 12]), PayloadClass::Unknown);
        assert_eq!(classify(&[0xc0; 12]), PayloadClass::Unknown);
    }

    #[test]
    fn first_byte_ranges() {
        for b in [4u8, 15, 26, 63, 80, 127, 192, 255] {
            let mut p = vec![b; 64];
            p[4..8].copy_from_slice(&STUN_MAGIC_COOKIE.to_be_bytes());
            assert_eq!(classify(&p), PayloadClass::Unknown, "first byte {b}");
        }
        assert_eq!(classify(&[]), PayloadClass::Unknown);
    }

    #[test]
    fn malformed_stun() {
        assert_eq!(
            parse_stun(&RFC5769_REQUEST[..19]),
            Err(StunError::TooShort { len: 19 })
        );
        assert_eq!(parse_stun(&[]), Err(StunError::TooShort { len: 0 }));
        assert_eq!(classify(&RFC5769_REQUEST[..19]), PayloadClass::Unknown);
        let mut bad = RFC5769_REQUEST;
        bad[5] = 0x13;
        assert_eq!(parse_stun(&bad), Err(StunError::NoMagicCookie));
        assert_eq!(classify(&bad), PayloadClass::Unknown);
        assert_eq!(tcp_frame_len(&bad), None);
        assert_eq!(
            parse_stun(&RFC5769_REQUEST[..100]),
            Err(StunError::LengthPastEnd {
                claimed: 108,
                available: 100
            })
        );
        assert_eq!(classify(&RFC5769_REQUEST[..100]), PayloadClass::Unknown);
        // Length not a multiple of 4: not STUN for the demultiplexer.
        let mut odd = RFC5769_REQUEST.to_vec();
        odd[3] = 0x57;
        assert_eq!(classify(&odd), PayloadClass::Unknown);
        assert_eq!(tcp_frame_len(&odd), None);
        // An attribute whose value runs past the message length.
        let mut m = stun(0x0016, &[(0x0012, &XOR_V4), (0x0013, b"hello")]);
        m[34..36].copy_from_slice(&[0x00, 0x09]);
        assert_eq!(
            parse_stun(&m),
            Err(StunError::AttributePastEnd {
                attr: 0x0013,
                offset: 32
            })
        );
        // A truncated attribute header (2 bytes left inside the message).
        let mut t = stun(0x0001, &[(0x0006, b"ab")]);
        t.extend_from_slice(&[0x00, 0x13, 0x00, 0x00]);
        t[3] = 10;
        assert_eq!(
            parse_stun(&t[..30]),
            Err(StunError::AttributePastEnd {
                attr: 0x0013,
                offset: 28
            })
        );
        // Malformed XOR-PEER-ADDRESS values are ignored, not errors.
        let short_msg = stun(0x0016, &[(0x0012, &XOR_V4[..6])]);

        let short = parse_stun(&short_msg).unwrap();
        assert_eq!(short.peer, None);
        let fam_msg = stun(0x0016, &[(0x0012, &[0, 3, 0, 0, 0, 0, 0, 0])]);

        let fam = parse_stun(&fam_msg).unwrap();
        assert_eq!(fam.peer, None);
    }

    #[test]
    fn malformed_channel_data_and_dtls() {
        // ChannelData length past the end.
        assert_eq!(parse_channel_data(&CHANNEL_DATA[..8]), None);
        assert_eq!(classify(&CHANNEL_DATA[..8]), PayloadClass::Unknown);
        assert_eq!(parse_channel_data(&CHANNEL_DATA[..3]), None);
        // DTLS record length past the end, bad version, content type out of range, short header.
        assert_eq!(dtls_content_type(&DTLS_RECORD[..16]), None);
        assert_eq!(classify(&DTLS_RECORD[..16]), PayloadClass::Unknown);
        let mut v = DTLS_RECORD;
        v[2] = 0xfb;
        assert_eq!(dtls_content_type(&v), None);
        let mut tls = DTLS_RECORD;
        tls[1..3].copy_from_slice(&[0x03, 0x03]);
        assert_eq!(dtls_content_type(&tls), None);
        let mut ct = DTLS_RECORD;
        ct[0] = 26;
        assert_eq!(dtls_content_type(&ct), None);
        assert_eq!(classify(&ct), PayloadClass::Unknown);
        assert_eq!(dtls_content_type(&DTLS_RECORD[..12]), None);
    }

    #[test]
    fn tcp_framing() {
        // Need more bytes vs not STUN.
        assert_eq!(tcp_frame_len(&[]), Some(Err(4)));
        assert_eq!(tcp_frame_len(&[0x00]), Some(Err(20)));
        assert_eq!(tcp_frame_len(&RFC5769_REQUEST[..4]), Some(Err(108)));
        assert_eq!(tcp_frame_len(&RFC5769_REQUEST[..8]), Some(Err(108)));
        assert_eq!(tcp_frame_len(&RFC5769_REQUEST[..107]), Some(Err(108)));
        assert_eq!(
            tcp_frame_len(b"INVITE sip:a@b SIP/2.0\r\n"),
            Some(Err(4 + 0x564c))
        );
        assert_eq!(tcp_frame_len(b"\x16\x03\x01\x00\x05"), None);
        assert_eq!(tcp_frame_len(&[0x80, 0, 0, 0]), None);
        assert_eq!(tcp_frame_len(&[0x40]), Some(Err(4)));
        // A stream: STUN message, ChannelData (padded), ChannelData of 0 bytes.
        let mut s = RFC5769_REQUEST.to_vec();
        s.extend_from_slice(&CHANNEL_DATA);
        s.extend_from_slice(&[0x40, 0x02, 0x00, 0x00]);
        let mut pos = 0;
        let mut lens = Vec::new();
        while let Some(Ok(n)) = tcp_frame_len(&s[pos..]) {
            lens.push((n, tcp_frame_unpadded_len(&s[pos..pos + n])));
            pos += n;
        }
        assert_eq!(lens, vec![(108, 108), (12, 9), (4, 4)]);
        assert_eq!(pos, s.len());
    }

    fn samples() -> Vec<Vec<u8>> {
        vec![
            RFC5769_REQUEST.to_vec(),
            RFC5769_RESPONSE.to_vec(),
            stun(0x0016, &[(0x0012, &XOR_V4), (0x0013, b"hello")]),
            stun(0x0017, &[(0x0012, &XOR_V6), (0x0013, &[0x80; 20])]),
            stun(0x0009, &[(0x000C, &[0x40, 0x01, 0, 0]), (0x0006, b"u")]),
            CHANNEL_DATA.to_vec(),
            DTLS_RECORD.to_vec(),
            zrtp_hello(),
            UDPTL.to_vec(),
        ]
    }

    fn exercise(d: &[u8]) {
        let _ = classify(d);
        let _ = parse_stun(d);
        let _ = parse_channel_data(d);
        if let Some(Ok(n)) = tcp_frame_len(d) {
            assert!(n <= d.len());
            assert!(tcp_frame_unpadded_len(&d[..n]) <= n);
        }
        let _ = dtls_content_type(d);
        let _ = zrtp_message_type(d);
        let _ = parse_udptl(d);
    }

    #[test]
    fn no_panic_random_and_truncated() {
        for s in samples() {
            for n in 0..=s.len() {
                exercise(&s[..n]);
            }
        }
        let mut rng = XorShift(0x5eed_1234_abcd_0001);
        let samples = samples();
        for i in 0..20_000 {
            let len = rng.below(160);
            let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            match i % 4 {
                // Plausible headers with random lengths and attributes.
                0 if len >= 8 => {
                    d[0] = rng.below(4) as u8;
                    d[4..8].copy_from_slice(&STUN_MAGIC_COOKIE.to_be_bytes());
                }
                1 if len >= 13 => {
                    d[0] = 20 + rng.below(6) as u8;
                    d[1..3].copy_from_slice(&[0xfe, 0xfd]);
                }
                2 => {
                    let s = &samples[rng.below(samples.len())];
                    d = s.clone();
                    for _ in 0..=rng.below(4) {
                        let at = rng.below(d.len());
                        d[at] = rng.next() as u8;
                    }
                    d.truncate(rng.below(d.len() + 1));
                }
                _ => {}
            }
            exercise(&d);
        }
    }
}
