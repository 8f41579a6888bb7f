//! IPv4 and IPv6 fragment reassembly, keyed by (src, dst, protocol, id), bounded in memory and time.
//! Overlapping fragments and datagrams that never complete become diagnostics. May import: `model`, `net`.

use std::net::IpAddr;

use crate::model::{Diagnostic, FrameNo};
use crate::net::Fragment;

/// Bounds on reassembly state. Defaults are documented in ARCHITECTURE.md.
#[derive(Debug, Clone)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once; the oldest is dropped (with a diagnostic) past this.
    pub max_pending: usize,
    /// Largest reassembled datagram in bytes (IPv4 maximum is 65535).
    pub max_datagram_bytes: usize,
    /// Total bytes held in pending fragments.
    pub max_total_bytes: usize,
    /// A datagram whose first fragment is older than this (capture time) is expired as incomplete.
    pub timeout_nanos: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_pending: 4096,
            max_datagram_bytes: 65_535 + 8,
            max_total_bytes: 64 * 1024 * 1024,
            timeout_nanos: 30_000_000_000,
        }
    }
}

/// A reassembled datagram's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub protocol: u8,
    pub payload: Vec<u8>,
    /// Frames of all fragments, ascending.
    pub frames: Vec<FrameNo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefragOutcome {
    /// More fragments are needed.
    Incomplete,
    Complete(Reassembled),
    /// The fragment was rejected (e.g. over the size bound); a diagnostic was pushed.
    Dropped,
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    pub limits: DefragLimits,
}

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter { limits }
    }

    /// Add one fragment seen in `frame` at `ts_nanos`. Diagnostics (overlap, expiry, caps) go to `diags`.
    pub fn push(
        &mut self,
        frame: FrameNo,
        ts_nanos: i64,
        src: IpAddr,
        dst: IpAddr,
        fragment: &Fragment<'_>,
        diags: &mut Vec<Diagnostic>,
    ) -> DefragOutcome {
        let _ = (frame, ts_nanos, src, dst, fragment, diags);
        DefragOutcome::Dropped
    }

    /// At the end of the capture: report every datagram still incomplete, and return how many there were.
    pub fn finish(&mut self, diags: &mut Vec<Diagnostic>) -> u64 {
        let _ = diags;
        0
    }
}
