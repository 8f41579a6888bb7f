//! RTCP (RFC 3550 6): compound packets with SR, RR, SDES, BYE, APP, and XR (RFC 3611) including the VoIP metrics
//! block; round-trip time from LSR/DLSR.

/// One report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// 24-bit signed cumulative loss, sign-extended.
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

/// RFC 3611 4.7 VoIP Metrics Report Block, fields as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrVoipMetrics {
    pub ssrc: u32,
    pub loss_rate: u8,
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    pub burst_duration: u16,
    pub gap_duration: u16,
    pub round_trip_delay: u16,
    pub end_system_delay: u16,
    pub signal_level: i8,
    pub noise_level: i8,
    pub rerl: u8,
    pub gmin: u8,
    pub r_factor: u8,
    pub ext_r_factor: u8,
    pub mos_lq: u8,
    pub mos_cq: u8,
    pub rx_config: u8,
    pub jb_nominal: u16,
    pub jb_maximum: u16,
    pub jb_abs_max: u16,
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        /// 64-bit NTP timestamp.
        ntp: u64,
        rtp_ts: u32,
        packet_count: u32,
        octet_count: u32,
        reports: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        reports: Vec<ReportBlock>,
    },
    /// SDES chunks: (SSRC/CSRC, items as (type, text)). Text is attacker-controlled (lossy UTF-8, bounded).
    Sdes {
        chunks: Vec<(u32, Vec<(u8, String)>)>,
    },
    Bye {
        ssrcs: Vec<u32>,
        reason: Option<String>,
    },
    App {
        ssrc: u32,
        name: [u8; 4],
    },
    Xr {
        ssrc: u32,
        voip_metrics: Vec<XrVoipMetrics>,
    },
    /// Any other packet type (205/206 feedback, ...): type and length only.
    Other {
        packet_type: u8,
        len: usize,
    },
}

/// Why bytes are not (entirely) valid RTCP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet of {len} bytes is shorter than the 4-byte common header")]
    TooShort { len: usize },
    #[error("RTCP version {0} (must be 2)")]
    BadVersion(u8),
    #[error(
        "RTCP packet type {packet_type} at offset {offset} claims {claimed} bytes but {available} remain"
    )]
    LengthPastEnd {
        packet_type: u8,
        offset: usize,
        claimed: usize,
        available: usize,
    },
    #[error("RTCP packet type {packet_type} at offset {offset}: {what}")]
    Malformed {
        packet_type: u8,
        offset: usize,
        what: String,
    },
}

/// Parse a compound RTCP packet leniently: every sub-packet that parses is returned, and the first error (if any)
/// stops parsing and is returned beside them. Never panics.
pub fn parse_rtcp(_data: &[u8]) -> (Vec<RtcpPacket>, Option<RtcpError>) {
    (Vec::new(), Some(RtcpError::TooShort { len: 0 }))
}

/// The middle 32 bits of the NTP timestamp (the LSR unit, 1/65536 s) for a Unix time in nanoseconds.
pub fn ntp_middle32(_unix_nanos: i64) -> u32 {
    0
}

/// Round-trip time in milliseconds per RFC 3550 6.4.1: `arrival − LSR − DLSR` (all in 1/65536 s), where `arrival`
/// is [`ntp_middle32`] of when the report block arrived. `None` when LSR is 0 (no SR received yet) or the result
/// is negative/implausible (> 60 s).
pub fn rtt_ms(_arrival_middle32: u32, _lsr: u32, _dlsr: u32) -> Option<f64> {
    None
}
