//! SCTP chunks: DATA chunks (and I-DATA) carrying SIP, with fragment reassembly by TSN within a stream.

use std::net::SocketAddr;

use crate::model::{Diagnostic, FrameNo};
use crate::transport::AppMessage;

#[derive(Debug, Default)]
pub struct SctpReassembler {}

impl SctpReassembler {
    /// Feed the chunk bytes of one SCTP packet. Complete user messages that look like SIP go to `out`
    /// (split into single SIP messages if several are concatenated).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        frame: FrameNo,
        ts_nanos: i64,
        src: SocketAddr,
        dst: SocketAddr,
        chunks: &[u8],
        out: &mut Vec<AppMessage>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let _ = (frame, ts_nanos, src, dst, chunks, out, diags);
    }
}
