//! Per-stream statistics, defined exactly as Wireshark's RTP Stream Analysis in TShark 4.0 (`ui/tap-rtp-analysis.c`,
//! the numbers `tshark -z rtp,streams` prints), so an analyst can check Earshot against the tool the court already
//! knows. The shared captures' ground truth was made with TShark 4.0.17; every figure below matches it.
//!
//! - **Lost** = expected − received, where expected = (last packet's seq + 65536 × wrap cycles) − first seq + 1.
//!   It is negative when duplicates outnumber losses.
//! - **Delta** = arrival time − arrival time of the previous in-time-order packet (ms). Min/mean/max delta and
//!   min/mean/max jitter only count "regular" packets: not the first, not marked (M bit), not comfort noise or the
//!   packet after it, not one whose timestamp went backwards.
//! - **In time sequence**: the packet's timestamp is less than 2^31 after the first packet's (mod 2^32). Packets
//!   that are not do not update the reference arrival time and are not regular.
//! - **Jitter** (RFC 3550 A.8): D = |arrival − (reference arrival + (nominal − last nominal))|, J = J + (D − J)/16,
//!   where nominal = (ts − first ts) / clock and "last nominal" is that of the last packet with a known clock while
//!   the reference arrival is that of the last in-sequence packet of any payload type — so a talk-spurt of
//!   telephone-event or unknown-clock packets in between shows up as jitter, as TShark reports it. The clock rate comes from the static payload table for payload types below 96, and from
//!   the SDP rtpmap (or the well-known name's clock) for dynamic ones; telephone-event packets and dynamic payload
//!   types without a clock rate are not used for jitter (Wireshark prints 0 there; Earshot reports "unknown").
//!   As in Wireshark, the clock is converted with an integer kHz (`clock / 1000`).
//! - **Mean jitter / mean delta** are Wireshark's running means (divided by the packet count so far, not by the
//!   number of regular packets), reproduced as-is so the figures match.
//! - **Skew** = nominal time − arrival time, both relative to the first packet; the max keeps its sign.
//!
//! Beyond Wireshark: duplicates and out-of-order packets (from an extended sequence number and a 1024-packet
//! window), payload-type changes, marker count, bytes and mean bandwidth, and a per-packet series for plots.

use crate::model::{FrameNo, SeriesPoint};

/// Series flags ([`SeriesPoint::flags`]).
pub const FLAG_FIRST: u8 = 1;
pub const FLAG_MARKER: u8 = 2;
pub const FLAG_WRONG_SEQ: u8 = 4;
pub const FLAG_PT_CHANGE: u8 = 8;
/// Comfort noise (payload type 13 or 19).
pub const FLAG_CN: u8 = 16;
pub const FLAG_WRONG_TIMESTAMP: u8 = 32;
pub const FLAG_DUPLICATE: u8 = 64;
pub const FLAG_EVENT: u8 = 128;

const PT_CN: u8 = 13;
const PT_CN_OLD: u8 = 19;

/// RTP clock rates of the static payload types, as Wireshark's table (RFC 3551; G.722's RTP clock is 8000 Hz).
pub fn static_clock_rate(pt: u8) -> Option<u32> {
    Some(match pt {
        0..=5 | 7..=9 | 12 | 13 | 15 | 18 | 19 => 8000,
        6 => 16000,
        10 | 11 => 44100,
        16 => 11025,
        17 => 22050,
        14 | 25 | 26 | 28 | 31 | 32 | 33 | 34 => 90000,
        _ => return None,
    })
}

/// Clock rates of well-known dynamic payload names (IANA media subtypes), used when an rtpmap gives none.
pub fn named_clock_rate(name: &str) -> Option<u32> {
    const TABLE: &[(&str, u32)] = &[
        ("AMR-WB", 16000),
        ("AMR", 8000),
        ("EVRCWB", 16000),
        ("EVRC", 8000),
        ("EVS", 16000),
        ("G7221", 16000),
        ("G726", 8000),
        ("G729", 8000),
        ("GSM-EFR", 8000),
        ("H263", 90000),
        ("H264", 90000),
        ("H265", 90000),
        ("VP8", 90000),
        ("VP9", 90000),
        ("MP4V-ES", 90000),
        ("opus", 48000),
        ("red", 1000),
        ("t140", 1000),
        ("telephone-event", 8000),
    ];
    TABLE
        .iter()
        .find(|(n, _)| {
            name.get(..n.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(n))
        })
        .map(|(_, c)| *c)
}

/// What the analysis needs of one RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    pub frame: FrameNo,
    pub ts_nanos: i64,
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload_type: u8,
    /// Length of the whole RTP packet (header + payload + padding), Wireshark's `info_data_len`.
    pub rtp_len: usize,
    /// Payload bytes (no padding).
    pub payload_len: usize,
    /// The payload's first byte (a codec's frame header, such as Opus's TOC; random under SRTP).
    pub first_payload_byte: Option<u8>,
    pub ipv6: bool,
}

/// How the jitter computation must treat a packet's payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockInfo {
    /// Known clock rate in Hz.
    Rate(u32),
    /// RFC 4733 telephone-event: timestamps do not advance, skip jitter.
    TelephoneEvent,
    /// Unknown (dynamic payload type without SDP).
    Unknown,
}

/// Running statistics of one stream.
#[derive(Debug, Clone)]
pub struct StreamStats {
    // Wireshark's state (tap_rtp_stat_t).
    first_packet: bool,
    start_seq_nr: u16,
    stop_seq_nr: u16,
    seq_num: u32,
    under: bool,
    pub seq_cycles: u64,
    pub sequence_errors: u64,
    first_timestamp: u32,
    start_time_ms: f64,
    time_ms: f64,
    last_nominal: f64,
    pt: u8,
    delta: f64,
    jitter: f64,
    pub max_delta: f64,
    pub max_delta_frame: Option<FrameNo>,
    pub min_delta: Option<f64>,
    pub mean_delta: f64,
    pub max_jitter: f64,
    pub min_jitter: Option<f64>,
    pub mean_jitter: f64,
    /// A packet with a known clock rate was seen (jitter is meaningful).
    pub jitter_known: bool,
    pub max_skew: f64,
    pub skew_known: bool,
    pub total_nr: u64,
    // Timestamp unwrapping.
    ext_ts: i64,
    // Earshot's additions.
    max_ext_seq: i64,
    last_ext_seq: i64,
    /// Bitmap of the last 1024 extended sequence numbers (ring), for duplicates.
    seen: Box<[u64; 16]>,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub markers: u64,
    pub payload_type_changes: u64,
    pub payload_types: Vec<u8>,
    pub bytes: u64,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    pub first_ts_nanos: i64,
    pub last_ts_nanos: i64,
    /// Flags of the last packet pushed.
    pub flags: u8,
    /// Skew of the last packet pushed (ms), for the series.
    pub skew: f64,
}

impl Default for StreamStats {
    fn default() -> Self {
        StreamStats {
            first_packet: true,
            start_seq_nr: 0,
            stop_seq_nr: 0,
            seq_num: 0,
            under: false,
            seq_cycles: 0,
            sequence_errors: 0,
            first_timestamp: 0,
            start_time_ms: 0.0,
            time_ms: 0.0,
            last_nominal: 0.0,
            pt: 0,
            delta: 0.0,
            jitter: 0.0,
            max_delta: 0.0,
            max_delta_frame: None,
            min_delta: None,
            mean_delta: 0.0,
            max_jitter: 0.0,
            min_jitter: None,
            mean_jitter: 0.0,
            jitter_known: false,
            max_skew: 0.0,
            skew_known: false,
            total_nr: 0,
            ext_ts: 0,
            max_ext_seq: 0,
            last_ext_seq: 0,
            seen: Box::new([0; 16]),
            duplicates: 0,
            out_of_order: 0,
            markers: 0,
            payload_type_changes: 0,
            payload_types: Vec::new(),
            bytes: 0,
            first_frame: 0,
            last_frame: 0,
            first_ts_nanos: 0,
            last_ts_nanos: 0,
            flags: 0,
            skew: 0.0,
        }
    }
}

/// Extend a 16-bit value against the previous extended one: the candidate closest to `prev` (RFC 3550 A.1 style).
fn extend16(prev: i64, v: u16) -> i64 {
    let low = prev.rem_euclid(65536);
    let d = i64::from(v) - low;
    let d = if d > 32768 {
        d - 65536
    } else if d < -32768 {
        d + 65536
    } else {
        d
    };
    prev.saturating_add(d)
}

fn extend32(prev: i64, v: u32) -> i64 {
    let low = prev.rem_euclid(1 << 32);
    let d = i64::from(v) - low;
    let d = if d > (1 << 31) {
        d - (1 << 32)
    } else if d < -(1 << 31) {
        d + (1 << 32)
    } else {
        d
    };
    prev.saturating_add(d)
}

impl StreamStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended sequence number of the last packet pushed.
    pub fn last_ext_seq(&self) -> i64 {
        self.last_ext_seq
    }

    /// The extended RTP timestamp of the last packet pushed.
    pub fn last_ext_ts(&self) -> i64 {
        self.ext_ts
    }

    /// Expected packets (Wireshark's definition).
    pub fn expected(&self) -> i64 {
        let stop = i64::from(self.stop_seq_nr);
        let cycles = i64::try_from(self.seq_cycles)
            .unwrap_or(i64::MAX / 65536)
            .saturating_mul(65536);
        stop.saturating_add(cycles) - i64::from(self.start_seq_nr) + 1
    }

    pub fn lost(&self) -> i64 {
        self.expected()
            .saturating_sub(i64::try_from(self.total_nr).unwrap_or(i64::MAX))
    }

    fn mark_seen(&mut self, ext_seq: i64) -> bool {
        let slot = ext_seq.rem_euclid(1024) as usize;
        let (word, bit) = (slot / 64, slot % 64);
        let Some(w) = self.seen.get_mut(word) else {
            return false;
        };
        let was = *w & (1u64 << bit) != 0;
        *w |= 1u64 << bit;
        was
    }

    fn clear_seen_range(&mut self, from: i64, to: i64) {
        // Clear slots for sequence numbers (from, to] that are new (ring reuse).
        let span = (to - from).clamp(0, 1024);
        for k in 1..=span {
            let slot = (from + k).rem_euclid(1024) as usize;
            if let Some(w) = self.seen.get_mut(slot / 64) {
                *w &= !(1u64 << (slot % 64));
            }
        }
    }

    /// Feed one packet, `now_ms` being its arrival time in ms relative to the capture's first frame (Wireshark's
    /// `rel_ts`). Packets must come in capture order.
    pub fn push(&mut self, p: &PacketInfo, clock: ClockInfo, now_ms: f64) {
        let overhead = if p.ipv6 { 48 } else { 28 };
        self.bytes = self
            .bytes
            .saturating_add((p.rtp_len as u64).saturating_add(overhead));
        if p.marker {
            self.markers += 1;
        }
        if !self.payload_types.contains(&p.payload_type) && self.payload_types.len() < 128 {
            self.payload_types.push(p.payload_type);
        }
        self.last_frame = p.frame;
        self.last_ts_nanos = p.ts_nanos;

        if self.first_packet {
            self.first_packet = false;
            self.start_seq_nr = p.seq;
            self.stop_seq_nr = p.seq;
            self.seq_num = u32::from(p.seq);
            self.ext_ts = i64::from(p.timestamp);
            self.first_timestamp = p.timestamp;
            self.start_time_ms = now_ms;
            self.time_ms = now_ms;
            self.last_nominal = 0.0;
            self.pt = p.payload_type;
            self.total_nr = 1;
            self.flags = FLAG_FIRST | if p.marker { FLAG_MARKER } else { 0 };
            self.first_frame = p.frame;
            self.first_ts_nanos = p.ts_nanos;
            self.max_ext_seq = i64::from(p.seq);
            self.last_ext_seq = self.max_ext_seq;
            self.mark_seen(self.max_ext_seq);
            return;
        }
        self.flags = 0;

        // Duplicates / out of order (Earshot's own bookkeeping on an extended sequence number).
        let ext_seq = extend16(self.last_ext_seq, p.seq);
        self.last_ext_seq = ext_seq;
        if ext_seq > self.max_ext_seq {
            self.clear_seen_range(self.max_ext_seq, ext_seq);
            self.max_ext_seq = ext_seq;
            self.mark_seen(ext_seq);
        } else if self.max_ext_seq - ext_seq >= 1024 || self.mark_seen(ext_seq) {
            self.duplicates += u64::from(self.max_ext_seq - ext_seq < 1024);
            if self.max_ext_seq - ext_seq < 1024 {
                self.flags |= FLAG_DUPLICATE;
            } else {
                self.out_of_order += 1;
            }
        } else {
            self.out_of_order += 1;
        }

        let ext_ts = extend32(self.ext_ts, p.timestamp);
        self.ext_ts = ext_ts;

        // In time sequence: the timestamp is at most half the 32-bit range after the first packet's (TShark 4.0).
        let in_time_sequence = p.timestamp.wrapping_sub(self.first_timestamp) < 0x8000_0000;
        if !in_time_sequence {
            self.flags |= FLAG_WRONG_TIMESTAMP;
        }

        // Sequence cycles, as Wireshark counts them.
        let wrapped = p.seq < self.start_seq_nr || (p.seq == 0 && self.stop_seq_nr == 65535);
        if wrapped && in_time_sequence && !self.under {
            self.seq_cycles += 1;
            self.under = true;
        } else if p.seq > self.start_seq_nr && in_time_sequence && self.under {
            self.under = false;
        }

        // Sequence errors (Wireshark's u32 arithmetic on a 16-bit sequence number).
        let seq = u32::from(p.seq);
        let next = self.seq_num.wrapping_add(1) == seq || (self.seq_num == 65535 && seq == 0);
        if in_time_sequence && next {
            self.seq_num = seq;
        } else if in_time_sequence
            && (self.seq_num.wrapping_add(1) < seq || self.seq_num.wrapping_sub(seq) > 0xFF00)
        {
            self.seq_num = seq;
            self.sequence_errors += 1;
            self.flags |= FLAG_WRONG_SEQ;
        } else if self.seq_num.wrapping_add(1) > seq {
            self.sequence_errors += 1;
            self.flags |= FLAG_WRONG_SEQ;
        }

        // Payload type.
        let cn = p.payload_type == PT_CN || p.payload_type == PT_CN_OLD;
        let follows_cn = self.pt == PT_CN || self.pt == PT_CN_OLD;
        if cn {
            self.flags |= FLAG_CN;
        }
        if p.payload_type != self.pt {
            self.flags |= FLAG_PT_CHANGE;
            self.payload_type_changes += 1;
        }
        self.pt = p.payload_type;

        let clock_rate = match clock {
            ClockInfo::Rate(r) if r > 0 => Some(r),
            ClockInfo::TelephoneEvent => {
                self.flags |= FLAG_EVENT;
                None
            }
            _ => None,
        };

        if in_time_sequence {
            let arrival = now_ms - self.start_time_ms;
            let nominal_units = f64::from(p.timestamp.wrapping_sub(self.first_timestamp));
            if let Some(rate) = clock_rate {
                self.jitter_known = true;
                // Wireshark divides by the integer kHz.
                let nominal = nominal_units / f64::from((rate / 1000).max(1));
                let expected = self.time_ms + (nominal - self.last_nominal);
                let current_diff = (now_ms - expected).abs();
                self.jitter = (15.0 * self.jitter + current_diff) / 16.0;
                self.delta = now_ms - self.time_ms;
                self.last_nominal = nominal;
                self.skew = nominal - arrival;
                self.skew_known = true;
                if self.skew.abs() > self.max_skew.abs() {
                    self.max_skew = self.skew;
                }
            } else {
                self.delta = now_ms - self.time_ms;
            }
        }

        if p.marker {
            self.flags |= FLAG_MARKER;
        }
        let regular =
            self.flags & (FLAG_MARKER | FLAG_CN | FLAG_WRONG_TIMESTAMP) == 0 && !follows_cn;
        if regular {
            if self.delta > self.max_delta {
                self.max_delta = self.delta;
                self.max_delta_frame = Some(p.frame);
            }
            self.min_delta = Some(match self.min_delta {
                Some(m) if m <= self.delta => m,
                _ => self.delta,
            });
            let n = self.total_nr as f64;
            self.mean_delta = (self.mean_delta * (n - 1.0) + self.delta) / n;
            if clock_rate.is_some() {
                if self.jitter > self.max_jitter {
                    self.max_jitter = self.jitter;
                }
                self.mean_jitter = (self.mean_jitter * (n - 1.0) + self.jitter) / n;
                self.min_jitter = Some(match self.min_jitter {
                    Some(m) if m <= self.jitter => m,
                    _ => self.jitter,
                });
            }
        }

        if in_time_sequence {
            self.time_ms = now_ms;
        }
        self.stop_seq_nr = p.seq;
        self.total_nr += 1;
    }

    /// A series point for the packet just pushed.
    pub fn point(&self, frame: FrameNo, ts_nanos: i64, seq: u16) -> SeriesPoint {
        SeriesPoint {
            frame,
            t_us: ts_nanos.saturating_sub(self.first_ts_nanos) / 1000,
            delta_ms: self.delta as f32,
            jitter_ms: self.jitter as f32,
            skew_ms: self.skew as f32,
            seq,
            flags: self.flags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(frame: u64, t_ms: f64, seq: u16, ts: u32) -> (PacketInfo, f64) {
        (
            PacketInfo {
                frame,
                ts_nanos: (t_ms * 1e6) as i64,
                seq,
                timestamp: ts,
                marker: false,
                payload_type: 0,
                rtp_len: 172,
                payload_len: 160,
                first_payload_byte: None,
                ipv6: false,
            },
            t_ms,
        )
    }

    #[test]
    fn perfect_stream_has_no_jitter_or_loss() {
        let mut s = StreamStats::new();
        for i in 0..100u16 {
            let (p, t) = pkt(u64::from(i) + 1, f64::from(i) * 20.0, i, u32::from(i) * 160);
            s.push(&p, ClockInfo::Rate(8000), t);
        }
        assert_eq!(s.total_nr, 100);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.max_jitter, 0.0);
        assert_eq!(s.max_delta, 20.0);
        assert_eq!(s.min_delta, Some(20.0));
        assert_eq!(s.bytes, 100 * 200);
    }

    #[test]
    fn jitter_follows_rfc3550() {
        // Second packet 5 ms late: D = 5, J = 5/16; third on time relative to the second's arrival: D = 5 again
        // (expected = previous arrival + 20), J = (15 J + 5)/16.
        let mut s = StreamStats::new();
        let (p, t) = pkt(1, 0.0, 1, 0);
        s.push(&p, ClockInfo::Rate(8000), t);
        let (p, t) = pkt(2, 25.0, 2, 160);
        s.push(&p, ClockInfo::Rate(8000), t);
        assert!((s.jitter - 5.0 / 16.0).abs() < 1e-12);
        let (p, t) = pkt(3, 40.0, 3, 320);
        s.push(&p, ClockInfo::Rate(8000), t);
        let j = (15.0 * (5.0 / 16.0) + 5.0) / 16.0;
        assert!((s.jitter - j).abs() < 1e-12);
        assert!((s.max_jitter - j).abs() < 1e-12);
        // Running mean of J as TShark: divided by the packet count so far.
        let m2 = 5.0 / 16.0;
        let m3 = (m2 * 1.0 + j) / 2.0;
        assert!((s.mean_jitter - m3).abs() < 1e-12);
    }

    #[test]
    fn loss_wrap_and_duplicates() {
        let mut s = StreamStats::new();
        let seqs: [u16; 8] = [65533, 65534, 65535, 1, 2, 2, 4, 3];
        for (i, q) in seqs.iter().enumerate() {
            let (p, t) = pkt(i as u64 + 1, i as f64 * 20.0, *q, i as u32 * 160);
            s.push(&p, ClockInfo::Rate(8000), t);
        }
        // Wireshark: last seq 3, one cycle, first 65533: expected = 3 + 65536 − 65533 + 1 = 7; received 8.
        assert_eq!(s.expected(), 7);
        assert_eq!(s.lost(), -1);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.out_of_order, 1);
        assert_eq!(s.seq_cycles, 1);
        // 0 missing (error), duplicate 2 (error), 4 skips 3 (error), late 3 (error).
        assert_eq!(s.sequence_errors, 4);
    }

    #[test]
    fn telephone_event_and_unknown_clock_skip_jitter() {
        let mut s = StreamStats::new();
        for i in 0..5u16 {
            let (p, t) = pkt(u64::from(i) + 1, f64::from(i) * 23.0, i, 1000);
            s.push(&p, ClockInfo::TelephoneEvent, t);
        }
        assert!(!s.jitter_known);
        assert_eq!(s.max_jitter, 0.0);
        assert_eq!(s.max_delta, 23.0);
    }

    #[test]
    fn extended_timestamp_wraps() {
        assert_eq!(extend32(u32::MAX as i64 - 10, 5), u32::MAX as i64 + 6);
        assert_eq!(extend16(65535, 0), 65536);
        assert_eq!(extend16(65536, 65535), 65535);
        assert_eq!(static_clock_rate(9), Some(8000));
        assert_eq!(named_clock_rate("OPUS"), Some(48000));
        assert_eq!(named_clock_rate("speex"), None);
    }
}
