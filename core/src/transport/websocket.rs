//! RFC 6455 WebSocket framing as used by SIP over WebSocket (RFC 7118).

/// Continuation frame opcode.
pub const OP_CONTINUATION: u8 = 0x0;
/// Text frame opcode (SIP over WebSocket uses text or binary frames).
pub const OP_TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const OP_BINARY: u8 = 0x2;
/// Connection close control frame.
pub const OP_CLOSE: u8 = 0x8;
/// Ping control frame.
pub const OP_PING: u8 = 0x9;
/// Pong control frame.
pub const OP_PONG: u8 = 0xA;

/// One decoded WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFrame {
    pub fin: bool,
    pub opcode: u8,
    /// Payload, unmasked.
    pub payload: Vec<u8>,
}

impl WsFrame {
    /// Close, ping or pong.
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsParse {
    /// A frame of this many bytes (header + payload) is complete at the start of the buffer.
    Complete(usize),
    Incomplete,
    Invalid,
}

/// Parse the frame at the start of `buf`; on `Complete(n)` the frame is returned through `frame`.
///
/// `Invalid` for reserved opcodes, control frames that are fragmented or longer than 125 bytes, 64-bit lengths
/// with the top bit set, and payloads longer than `max_payload`. RSV bits are accepted (extensions such as
/// permessage-deflate set them; such payloads are returned as found).
pub fn parse_frame(buf: &[u8], max_payload: usize, frame: &mut Option<WsFrame>) -> WsParse {
    *frame = None;
    let [b0, b1, rest @ ..] = buf else {
        return WsParse::Incomplete;
    };
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return WsParse::Invalid;
    }
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    let is_control = opcode & 0x8 != 0;
    if is_control && (!fin || len7 > 125) {
        return WsParse::Invalid;
    }
    let (payload_len, rest): (u64, &[u8]) = match len7 {
        126 => {
            let Some((ext, rest)) = rest.split_first_chunk::<2>() else {
                return WsParse::Incomplete;
            };
            (u64::from(u16::from_be_bytes(*ext)), rest)
        }
        127 => {
            let Some((ext, rest)) = rest.split_first_chunk::<8>() else {
                return WsParse::Incomplete;
            };
            let n = u64::from_be_bytes(*ext);
            if n >> 63 != 0 {
                return WsParse::Invalid;
            }
            (n, rest)
        }
        n => (u64::from(n), rest),
    };
    let Ok(payload_len) = usize::try_from(payload_len) else {
        return WsParse::Invalid;
    };
    if payload_len > max_payload {
        return WsParse::Invalid;
    }
    let (key, rest) = if masked {
        let Some((key, rest)) = rest.split_first_chunk::<4>() else {
            return WsParse::Incomplete;
        };
        (Some(*key), rest)
    } else {
        (None, rest)
    };
    let header_len = buf.len().saturating_sub(rest.len());
    let Some(payload) = rest.get(..payload_len) else {
        return WsParse::Incomplete;
    };
    let mut payload = payload.to_vec();
    if let Some(key) = key {
        for (b, k) in payload.iter_mut().zip(key.iter().cycle()) {
            *b ^= k;
        }
    }
    *frame = Some(WsFrame {
        fin,
        opcode,
        payload,
    });
    WsParse::Complete(header_len.saturating_add(payload_len))
}

/// Build a frame (tests and tools): `mask` masks the payload with that key (as a client does).
pub fn build_frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len().saturating_add(14));
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0F));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> (WsParse, Option<WsFrame>) {
        let mut f = None;
        let r = parse_frame(buf, 1 << 20, &mut f);
        (r, f)
    }

    #[test]
    fn unmasked_small_frame() {
        let b = build_frame(true, OP_TEXT, b"hello", None);
        assert_eq!(b, [0x81, 5, b'h', b'e', b'l', b'l', b'o']);
        let (r, f) = parse(&b);
        assert_eq!(r, WsParse::Complete(7));
        assert_eq!(
            f,
            Some(WsFrame {
                fin: true,
                opcode: OP_TEXT,
                payload: b"hello".to_vec()
            })
        );
    }

    #[test]
    fn masked_frame_rfc6455_example() {
        // RFC 6455 section 5.7: a masked "Hello".
        let b = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (r, f) = parse(&b);
        assert_eq!(r, WsParse::Complete(11));
        assert_eq!(f.map(|f| f.payload), Some(b"Hello".to_vec()));
        assert_eq!(
            build_frame(true, OP_TEXT, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
            b
        );
    }

    #[test]
    fn sixteen_and_sixty_four_bit_lengths() {
        let p16 = vec![b'a'; 300];
        let b = build_frame(true, OP_BINARY, &p16, Some([1, 2, 3, 4]));
        assert_eq!(b.get(1), Some(&(0x80 | 126)));
        let (r, f) = parse(&b);
        assert_eq!(r, WsParse::Complete(2 + 2 + 4 + 300));
        assert_eq!(f.map(|f| f.payload), Some(p16));

        let p64 = vec![b'z'; 70_000];
        let b = build_frame(false, OP_TEXT, &p64, None);
        assert_eq!(b.get(1), Some(&127));
        let (r, f) = parse(&b);
        assert_eq!(r, WsParse::Complete(2 + 8 + 70_000));
        let f = f.unwrap_or(WsFrame {
            fin: true,
            opcode: 0xF,
            payload: vec![],
        });
        assert!(!f.fin);
        assert_eq!(f.payload.len(), 70_000);
        // Bound on the payload.
        let mut none = None;
        assert_eq!(parse_frame(&b, 65_535, &mut none), WsParse::Invalid);
    }

    #[test]
    fn incomplete_and_invalid() {
        let b = build_frame(true, OP_TEXT, &[b'x'; 200], Some([9, 9, 9, 9]));
        for n in 0..b.len() {
            assert_eq!(
                parse(b.get(..n).unwrap_or_default()).0,
                WsParse::Incomplete,
                "prefix {n}"
            );
        }
        assert_eq!(parse(&[0x83, 0]).0, WsParse::Invalid); // reserved opcode
        assert_eq!(parse(&[0x09, 0]).0, WsParse::Invalid); // fragmented ping
        assert_eq!(parse(&[0x89, 126, 0, 200]).0, WsParse::Invalid); // long ping
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse(&huge).0, WsParse::Invalid);
    }

    #[test]
    fn control_frames_parse() {
        let b = build_frame(true, OP_PING, b"p", Some([1, 1, 1, 1]));
        let (r, f) = parse(&b);
        assert_eq!(r, WsParse::Complete(b.len()));
        assert!(f.is_some_and(|f| f.is_control()));
    }
}
