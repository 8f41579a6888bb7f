//! RFC 6455 WebSocket framing as used by SIP over WebSocket (RFC 7118).

/// One decoded WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFrame {
    pub fin: bool,
    pub opcode: u8,
    /// Payload, unmasked.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsParse {
    /// A frame of this many bytes (header + payload) is complete at the start of the buffer.
    Complete(usize),
    Incomplete,
    Invalid,
}

/// Parse the frame at the start of `buf`; on `Complete(n)` the frame is returned through `frame`.
pub fn parse_frame(buf: &[u8], max_payload: usize, frame: &mut Option<WsFrame>) -> WsParse {
    let _ = (buf, max_payload, frame);
    WsParse::Invalid
}
