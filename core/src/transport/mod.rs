//! Stream and message transports for SIP: TCP reassembly (several SIP messages per segment, one message over many
//! segments framed by Content-Length, retransmitted segments counted once), SIP over WebSocket (RFC 7118 / RFC 6455
//! framing, masked frames, fragmented messages), SIP in SCTP DATA chunks, and TLS record recognition on any port.
//! It hands whole application messages (bytes of one SIP message) to the pipeline. May import: `model`, `net`.

pub mod sctp;
pub mod tcp;
pub mod websocket;

use std::net::SocketAddr;

use crate::model::{FrameNo, Transport};

/// One application-level message cut from a transport: for SIP, the bytes of exactly one SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMessage {
    pub transport: Transport,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The frame in which the message became complete (Wireshark shows reassembled PDUs there).
    pub frame: FrameNo,
    /// Capture time of that frame.
    pub ts_nanos: i64,
    /// All frames that carried bytes of this message, ascending.
    pub frames: Vec<FrameNo>,
    pub data: Vec<u8>,
}

/// Quick test: does `data` start like a SIP request line or status line (`SIP/2.0 `)? Used to recognise SIP by
/// content on any port and to find message starts in streams.
pub fn starts_like_sip(data: &[u8]) -> bool {
    let _ = data;
    false
}

/// How much of `buf` (which starts at a SIP message) is the first complete SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipFraming {
    /// The first `n` bytes are one whole message (headers, blank line, Content-Length body).
    Complete(usize),
    /// Headers or body not complete yet; more bytes are needed.
    Incomplete,
    /// Not a SIP message start, or a header block over the size bound.
    Invalid,
}

/// Frame the first SIP message in a stream buffer using the blank line and Content-Length (`l:` compact form too;
/// a missing Content-Length on a stream means an empty body).
pub fn frame_sip(buf: &[u8], max_header_bytes: usize) -> SipFraming {
    let _ = (buf, max_header_bytes);
    SipFraming::Invalid
}

/// Does `data` start with a TLS record header (content type 20..=24, version 3.x, sane length)? Returns the record
/// version (e.g. 0x0301) when it does.
pub fn tls_record_version(data: &[u8]) -> Option<u16> {
    let _ = data;
    None
}
