//! TCP reassembly for SIP (and SIP over WebSocket): one buffer per direction of each connection, bounded.

use std::net::SocketAddr;

use crate::model::{Diagnostic, FrameNo};
use crate::net::TcpSegment;
use crate::transport::AppMessage;

#[derive(Debug, Clone)]
pub struct TcpLimits {
    /// Connections (directions) tracked at once; the least recently used is dropped past this.
    pub max_flows: usize,
    /// Bytes buffered per direction waiting for a message to complete.
    pub max_buffer_bytes: usize,
    /// Out-of-order segments held per direction.
    pub max_out_of_order: usize,
    /// Largest SIP header block accepted.
    pub max_header_bytes: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_flows: 65_536,
            max_buffer_bytes: 1024 * 1024,
            max_out_of_order: 256,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Counters the reassembler keeps (copied into [`crate::model::Counters`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpStats {
    pub retransmitted_segments: u64,
    pub bytes_skipped: u64,
    pub websocket_frames: u64,
    pub tls_records: u64,
}

#[derive(Debug, Default)]
pub struct TcpReassembler {
    pub limits: TcpLimits,
    pub stats: TcpStats,
}

impl TcpReassembler {
    pub fn new(limits: TcpLimits) -> Self {
        TcpReassembler {
            limits,
            stats: TcpStats::default(),
        }
    }

    /// Feed one segment (in capture order). Complete SIP messages (from plain TCP, or unwrapped from WebSocket
    /// frames after an HTTP Upgrade) are pushed to `out`; TLS streams are recognised and counted, not decoded.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        frame: FrameNo,
        ts_nanos: i64,
        src: SocketAddr,
        dst: SocketAddr,
        segment: &TcpSegment<'_>,
        out: &mut Vec<AppMessage>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let _ = (frame, ts_nanos, src, dst, segment, out, diags);
    }

    /// End of capture: report streams left with partial messages.
    pub fn finish(&mut self, diags: &mut Vec<Diagnostic>) {
        let _ = diags;
    }

    /// TLS-protected connections seen: (client, server, record version), sorted.
    pub fn tls_connections(&self) -> Vec<(SocketAddr, SocketAddr, u16)> {
        Vec::new()
    }
}
