//! The media stage the pipeline feeds, in capture order: SIP messages (for SDP bindings and INFO DTMF), UDP payloads,
//! and STUN/TURN frames cut from TCP. It owns every media table and bounds each one.
//!
//! The route of a payload (SDP bindings, its class, TURN, unsignalled-RTP candidates) is `route`'s
//! (`tracker/route.rs`), in one pass; this module owns what the route feeds: per-stream state (statistics queued
//! per batch and done in parallel by [`MediaTracker::flush`]), RTCP per source, DTMF, and the streams built from
//! them.
//!
//! **Encryption.** SDP `RTP/SAVP(F)` with `a=crypto` → SRTP (SDES); `a=fingerprint` or DTLS records on the media
//! flow → DTLS-SRTP; ZRTP packets on the flow → ZRTP; for unsignalled G.711 a constant 4- or 10-byte trailer beyond
//! the samples the timestamps account for is an SRTP authentication tag → SRTP.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use crate::calls::static_payload_name;
use crate::model::Party;
use crate::model::{
    DiagLevel, Diagnostic, DtmfEvent, Encryption, FrameNo, Layer, MediaCarrier, MediaCounters,
    MediaStream, MessageRecord, RtcpReportSummary, RtcpSummary, RtcpXrVoip, Sdp, SeriesPoint,
    StreamKind,
};

mod route;

pub use route::Classified;
use route::{BindKind, Binding, Candidate, Datagram};

use super::dtmf::DtmfTracker;
use super::quality::QualityAccumulator;
use super::rtcp::{self, ReportBlock, RtcpPacket};
use super::stream::{ClockInfo, FLAG_CN, PacketInfo, StreamStats, static_clock_rate};

/// Caps on every media table (documented in ARCHITECTURE.md).
#[derive(Debug, Clone)]
pub struct MediaLimits {
    pub max_streams: usize,
    pub max_candidates: usize,
    pub max_bindings: usize,
    /// Per-packet series points kept over all streams (0 = keep none).
    pub max_series_points: usize,
    /// Packets an unsignalled RTP candidate needs before it is a stream.
    pub min_run: usize,
    pub max_rtcp_sources: usize,
    pub max_flows: usize,
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_streams: 100_000,
            max_candidates: 100_000,
            max_bindings: 400_000,
            max_series_points: 4_000_000,
            min_run: 4,
            max_rtcp_sources: 200_000,
            max_flows: 400_000,
        }
    }
}

fn unbound_clock(pt: u8, want_name: bool) -> (ClockInfo, Option<String>) {
    if pt < 96 {
        (
            static_clock_rate(pt).map_or(ClockInfo::Unknown, ClockInfo::Rate),
            static_payload_name(pt)
                .filter(|_| want_name)
                .map(str::to_string),
        )
    } else {
        (ClockInfo::Unknown, None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct StreamKey {
    src: SocketAddr,
    dst: SocketAddr,
    ssrc: u32,
    carrier: MediaCarrier,
    kind: StreamKind,
}

/// Unordered address pair + carrier: one media flow (both directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FlowKey(SocketAddr, SocketAddr, MediaCarrier);

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr, c: MediaCarrier) -> Self {
        if a <= b {
            FlowKey(a, b, c)
        } else {
            FlowKey(b, a, c)
        }
    }
}

#[derive(Debug, Clone, Default)]
struct FlowInfo {
    dtls_first: Option<FrameNo>,
    dtls_last: FrameNo,
    dtls_records: u64,
    zrtp_first: Option<FrameNo>,
    zrtp_packets: u64,
    /// STUN (ICE connectivity checks, TURN) on the media flow: a WebRTC-style path.
    stun_first: Option<FrameNo>,
    stun_packets: u64,
    /// SSRCs seen per direction (src → list), bounded, for SSRC changes.
    ssrcs: BTreeMap<SocketAddr, Vec<u32>>,
    /// TURN channel → peer (from Channel-Bind requests).
    channels: Vec<(u16, SocketAddr)>,
}

struct StreamState {
    key: StreamKey,
    call_id: Option<String>,
    sender: Option<Party>,
    binding: Option<Binding>,
    relay_peer: Option<SocketAddr>,
    stats: StreamStats,
    quality: Option<QualityAccumulator>,
    pt_counts: BTreeMap<u8, u64>,
    pt_names: BTreeMap<u8, String>,
    dtmf: Option<DtmfTracker>,
    series: Vec<SeriesPoint>,
    malformed: u64,
    /// SRTP trailer evidence: (checks, hits, trailer length).
    trailer_checks: u64,
    trailer_hits: u64,
    trailer_len: i64,
    /// Codec-frame evidence: the distinct first payload bytes (a 256-bit set) over the first
    /// [`FIRST_BYTE_SAMPLE`] packets with a payload, and how many were looked at.
    first_bytes: [u64; 4],
    first_bytes_seen: u32,
    /// Fingerprints of the stream's first varied payloads ([`payload_print`]): the same audio relayed by a B2BUA
    /// onto another leg carries the same payloads under other headers (`calls::legs`).
    payload_prints: Vec<(u64, i64)>,
    prev_ext_ts: Option<i64>,
    /// The clock of the last payload type seen, and the bindings generation it was looked up under: every packet
    /// of a stream needs its clock, and the lookup (two address hashes and an rtpmap search) rarely changes.
    clock_cache: Option<(u8, u64, ClockInfo)>,
    /// Metrics work of this batch's packets, done by [`MediaTracker::flush`] in parallel across streams.
    queue: Vec<Deferred>,
}

/// One packet's metrics work (sequence and jitter statistics, quality, SRTP trailer evidence, plot series): it
/// depends only on the stream's own earlier packets, so it is queued on the stream during the sequential routing
/// and done in parallel across streams at the end of each batch, in each stream's packet order.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    info: PacketInfo,
    clock: ClockInfo,
    now_ms: f64,
    work: Work,
}

#[derive(Debug, Clone, Copy)]
enum Work {
    /// RTP: the full work, with a plot point if the series budget allowed (decided in packet order).
    Rtp { keep_series: bool },
    /// T.38: sequence statistics only.
    SequenceOnly,
}

impl StreamState {
    fn drain_queue(&mut self) {
        let queue = std::mem::take(&mut self.queue);
        for d in &queue {
            match d.work {
                Work::Rtp { keep_series } => {
                    self.apply_rtp(&d.info, d.clock, d.now_ms, keep_series)
                }
                Work::SequenceOnly => self.stats.push(&d.info, d.clock, d.now_ms),
            }
        }
        self.queue = queue;
        self.queue.clear();
    }

    fn apply_rtp(&mut self, info: &PacketInfo, clock: ClockInfo, now_ms: f64, keep_series: bool) {
        let s = self;
        s.stats.push(info, clock, now_ms);
        let ext_ts = s.stats.last_ext_ts();
        let ext_seq = s.stats.last_ext_seq();
        // Quality: started at the first packet with a known clock rate.
        let media = s.stats.flags & FLAG_CN == 0 && matches!(clock, ClockInfo::Rate(_));
        if s.quality.is_none()
            && let ClockInfo::Rate(r) = clock
            && media
        {
            let codec = s
                .pt_names
                .get(&info.payload_type)
                .cloned()
                .unwrap_or_default();
            s.quality = Some(QualityAccumulator::new(Some(r), &codec));
        }
        if let Some(q) = s.quality.as_mut() {
            q.push(info.ts_nanos, ext_seq, ext_ts, media);
        }
        if let Some(b) = info.first_payload_byte
            && s.first_bytes_seen < FIRST_BYTE_SAMPLE
            && s.stats.flags & FLAG_CN == 0
        {
            s.first_bytes_seen += 1;
            if let Some(w) = s.first_bytes.get_mut(usize::from(b >> 6)) {
                *w |= 1u64 << (b & 63);
            }
        }
        // SRTP trailer evidence on G.711: payload bytes beyond the samples the timestamp advanced.
        if matches!(info.payload_type, 0 | 8) {
            if let Some(prev) = s.prev_ext_ts {
                let dts = ext_ts.saturating_sub(prev);
                if (1..=4000).contains(&dts) {
                    s.trailer_checks += 1;
                    let extra = i64::try_from(info.payload_len)
                        .unwrap_or(0)
                        .saturating_sub(dts);
                    if extra == 4 || extra == 10 {
                        s.trailer_hits += 1;
                        s.trailer_len = extra;
                    }
                }
            }
            s.prev_ext_ts = Some(ext_ts);
        }
        if keep_series {
            s.series
                .push(s.stats.point(info.frame, info.ts_nanos, info.seq));
        }
    }
}

/// SRTCP's layout (RFC 3711 §3.4): a first RTCP header in clear (SR or RR) that the datagram outlasts, then
/// ciphertext, then the E flag and 31-bit index and a 10- or 4-byte authentication tag, with E set (encrypted).
fn srtcp_layout(p: &[u8]) -> bool {
    let (Some(&b0), Some(&pt), Some(&l0), Some(&l1)) = (p.first(), p.get(1), p.get(2), p.get(3))
    else {
        return false;
    };
    if b0 >> 6 != 2 || !matches!(pt, 200 | 201) {
        return false;
    }
    let first = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
    // What follows the first packet is ciphertext, not another RTCP header.
    let next_is_rtcp = p.get(first).is_some_and(|b| b >> 6 == 2)
        && p.get(first + 1).is_some_and(|t| (192..=223).contains(t));
    !next_is_rtcp
        && [10usize, 4].iter().any(|tag| {
            p.len()
                .checked_sub(tag + 4)
                .is_some_and(|at| at >= first && p.get(at).is_some_and(|e| e & 0x80 != 0))
        })
}

/// Payload fingerprints kept per stream.
pub const MAX_PAYLOAD_PRINTS: usize = 64;

/// A fingerprint of an RTP payload varied enough to tell one stream's audio from another's (at least 32 bytes and
/// 8 distinct byte values among them: silence and comfort noise, alike in every call, give none).
pub fn payload_print(payload: &[u8]) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let head = payload.get(..32)?;
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in head {
        if let Some(s) = seen.get_mut(usize::from(b))
            && !*s
        {
            *s = true;
            distinct += 1;
        }
    }
    if distinct < 8 {
        return None;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    payload.hash(&mut h);
    Some(h.finish())
}

/// Packets whose first payload byte is sampled for the codec-frame evidence (per stream).
const FIRST_BYTE_SAMPLE: u32 = 256;

/// The stream's most used payload type.
fn self_payload_type(s: &StreamState) -> Option<u8> {
    s.pt_counts
        .iter()
        .max_by_key(|(pt, n)| (**n, std::cmp::Reverse(**pt)))
        .map(|(pt, _)| *pt)
}

#[derive(Debug, Default, Clone)]
struct RtcpState {
    packets: u64,
    sender_reports: u64,
    cname: Option<String>,
    bye: bool,
    bye_reason: Option<String>,
    sr_packet_count: Option<u32>,
    /// Recent SRs: (NTP middle 32 bits, capture time).
    recent_srs: VecDeque<(u32, i64)>,
    reports: u64,
    last_fraction: u8,
    max_fraction: u8,
    cumulative_lost: i64,
    max_jitter_units: Option<u32>,
    rtts_ms: Vec<f64>,
    xr: Option<rtcp::XrVoipMetrics>,
}

/// Identifies one RTP stream to pull out of a capture again (the fields of a [`MediaStream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TapKey {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub ssrc: u32,
    pub carrier: MediaCarrier,
}

impl TapKey {
    /// The key of an RTP stream of an analysis (`None` for T.38 or a stream without addresses).
    pub fn of(s: &MediaStream) -> Option<TapKey> {
        if s.kind != StreamKind::Rtp {
            return None;
        }
        Some(TapKey {
            src: s.src?,
            dst: s.dst?,
            ssrc: s.ssrc,
            carrier: s.carrier,
        })
    }
}

/// One RTP packet as it was on the wire (SRTP still protected), with its frame and capture time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TappedPacket {
    pub frame: FrameNo,
    pub ts_nanos: i64,
    pub data: Vec<u8>,
}

/// The packets of the streams asked for, in capture order, bounded by `max_bytes`.
#[derive(Debug, Clone, Default)]
pub struct RtpTap {
    pub keys: std::collections::BTreeSet<TapKey>,
    pub packets: BTreeMap<TapKey, Vec<TappedPacket>>,
    pub bytes: usize,
    pub max_bytes: usize,
    /// Packets not kept because `max_bytes` was reached.
    pub dropped: u64,
}

impl RtpTap {
    pub fn new(keys: impl IntoIterator<Item = TapKey>, max_bytes: usize) -> Self {
        RtpTap {
            keys: keys.into_iter().collect(),
            max_bytes,
            ..RtpTap::default()
        }
    }

    fn offer(&mut self, key: &StreamKey, frame: FrameNo, ts_nanos: i64, data: &[u8]) {
        let k = TapKey {
            src: key.src,
            dst: key.dst,
            ssrc: key.ssrc,
            carrier: key.carrier,
        };
        if !self.keys.contains(&k) {
            return;
        }
        if self.bytes.saturating_add(data.len()) > self.max_bytes {
            self.dropped += 1;
            return;
        }
        self.bytes += data.len();
        self.packets.entry(k).or_default().push(TappedPacket {
            frame,
            ts_nanos,
            data: data.to_vec(),
        });
    }
}

/// What [`MediaTracker::build`] does with the streams' plot series.
pub enum SeriesOut {
    /// None (snapshots while a file loads: the finished analysis brings them).
    Empty,
    /// Copies (live views, which have no finished analysis).
    Cloned,
    /// The series from [`MediaTracker::take_series`] (the finished analysis: no copy).
    Moved(Vec<Vec<SeriesPoint>>),
}

/// The media stage.
pub struct MediaTracker {
    /// Streams whose packets are kept for audio decoding (set only when re-reading a capture for audio).
    pub tap: Option<RtpTap>,
    limits: MediaLimits,
    epoch_ns: Option<i64>,
    bindings: HashMap<SocketAddr, Binding>,
    /// Bumped whenever `bindings` changes: a stream's cached clock is valid while this is unchanged.
    bindings_generation: u64,
    bindings_full_reported: bool,
    /// Some SDP bound T.38: only then does every UDP datagram need the T.38 endpoint check.
    any_t38_binding: bool,
    callers: HashMap<String, SocketAddr>,
    streams: Vec<StreamState>,
    index: HashMap<StreamKey, usize>,
    candidates: HashMap<StreamKey, Candidate>,
    flows: HashMap<FlowKey, FlowInfo>,
    rtcp: HashMap<u32, RtcpState>,
    info_dtmf: Vec<(String, DtmfEvent)>,
    series_points: usize,
    /// Streams with queued metrics work (flush does them all in parallel, or the only one directly).
    dirty: Vec<usize>,
    pub counters: MediaCounters,
    /// How often each table cap turned an entry away (for the pipeline's "analysis limited" summary).
    pub caps: MediaCapHits,
    diags: Vec<Diagnostic>,
}

/// Entries turned away by the media tables' caps ([`MediaLimits`]); the stream cap is `counters.streams_dropped`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaCapHits {
    /// New unsignalled-RTP candidates refused (`max_candidates`).
    pub candidates: u64,
    /// SDP media endpoints not bound (`max_bindings`).
    pub bindings: u64,
    /// New flows whose DTLS/ZRTP/TURN evidence was not kept (`max_flows`).
    pub flows: u64,
    /// RTCP sources not followed (`max_rtcp_sources`).
    pub rtcp_sources: u64,
}

impl MediaTracker {
    /// The caps this stage reached.
    pub fn cap_hits(&self) -> Vec<crate::model::CapHit> {
        use crate::model::CapHit;
        let (l, m, c) = (&self.limits, &self.counters, &self.caps);
        [
            (
                "media stream cap",
                l.max_streams,
                m.streams_dropped,
                format!(
                    "media stream cap ({}): {} streams not tracked ({} RTP packets)",
                    l.max_streams, m.streams_dropped, m.rtp_packets_untracked
                ),
            ),
            (
                "unsignalled-RTP candidate cap",
                l.max_candidates,
                c.candidates,
                format!(
                    "unsignalled-RTP candidate cap ({}): {} packets of new candidates turned away",
                    l.max_candidates, c.candidates
                ),
            ),
            (
                "SDP binding cap",
                l.max_bindings,
                c.bindings,
                format!(
                    "SDP binding cap ({}): {} media endpoints or callers not bound to calls",
                    l.max_bindings, c.bindings
                ),
            ),
            (
                "media flow cap",
                l.max_flows,
                c.flows,
                format!(
                    "media flow cap ({}): evidence of {} packets on new flows not kept",
                    l.max_flows, c.flows
                ),
            ),
            (
                "RTCP source cap",
                l.max_rtcp_sources,
                c.rtcp_sources,
                format!(
                    "RTCP source cap ({}): {} reports of new sources not followed",
                    l.max_rtcp_sources, c.rtcp_sources
                ),
            ),
            (
                "per-packet series cap",
                l.max_series_points,
                m.series_points_dropped,
                format!(
                    "per-packet series cap ({} points): {} points not stored",
                    l.max_series_points, m.series_points_dropped
                ),
            ),
        ]
        .into_iter()
        .filter(|h| h.2 > 0)
        .map(|(cap, limit, count, text)| CapHit::new(cap, limit, count, text))
        .collect()
    }
}

impl MediaTracker {
    pub fn new(limits: MediaLimits) -> Self {
        MediaTracker {
            tap: None,
            limits,
            epoch_ns: None,
            bindings: HashMap::new(),
            bindings_generation: 0,
            bindings_full_reported: false,
            any_t38_binding: false,
            callers: HashMap::new(),
            streams: Vec::new(),
            index: HashMap::new(),
            candidates: HashMap::new(),
            flows: HashMap::new(),
            rtcp: HashMap::new(),
            info_dtmf: Vec::new(),
            series_points: 0,
            dirty: Vec::new(),
            counters: MediaCounters::default(),
            caps: MediaCapHits::default(),
            diags: Vec::new(),
        }
    }

    /// Time of the capture's first frame: Wireshark's relative times (and so its jitter rounding) start there.
    pub fn set_epoch(&mut self, ts_nanos: i64) {
        if self.epoch_ns.is_none() {
            self.epoch_ns = Some(ts_nanos);
        }
    }

    /// Diagnostics found since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diags)
    }

    /// A warning about a media packet at `frame` (analysis goes on).
    fn warn(&mut self, frame: FrameNo, message: String) {
        self.diags.push(Diagnostic::new(
            Some(frame),
            Layer::Rtp,
            DiagLevel::Warning,
            message,
        ));
    }

    fn rel_ms(&self, ts: i64) -> f64 {
        let rel = ts.saturating_sub(self.epoch_ns.unwrap_or(ts));
        let secs = rel.div_euclid(1_000_000_000);
        let nsecs = rel.rem_euclid(1_000_000_000);
        secs as f64 * 1000.0 + nsecs as f64 / 1_000_000.0
    }

    fn new_stream(
        &mut self,
        key: StreamKey,
        bound: Option<(Binding, bool)>,
        peer: Option<SocketAddr>,
    ) -> Option<usize> {
        if self.streams.len() >= self.limits.max_streams {
            self.counters.streams_dropped += 1;
            return None;
        }
        let (call_id, sender, binding) = match bound {
            Some((b, by_dst)) => {
                let sender = b.owner_is_caller.map(|owner_caller| {
                    // Packets to the announced address come from the other party.
                    let caller_sends = if by_dst { !owner_caller } else { owner_caller };
                    if caller_sends {
                        Party::Caller
                    } else {
                        Party::Callee
                    }
                });
                (Some(b.call_id.clone()), sender, Some(b))
            }
            None => (None, None, None),
        };
        let carrier = key.carrier;
        let ssrc = key.ssrc;
        if let Some(f) = self.flow(key.src, key.dst, carrier) {
            let list = f.ssrcs.entry(key.src).or_default();
            if !list.contains(&ssrc) && list.len() < 64 {
                list.push(ssrc);
            }
        }
        let i = self.streams.len();
        self.streams.push(StreamState {
            key,
            call_id,
            sender,
            binding,
            relay_peer: peer,
            stats: StreamStats::new(),
            quality: None,
            pt_counts: BTreeMap::new(),
            pt_names: BTreeMap::new(),
            dtmf: None,
            series: Vec::new(),
            malformed: 0,
            trailer_checks: 0,
            trailer_hits: 0,
            trailer_len: 0,
            first_bytes: [0; 4],
            payload_prints: Vec::new(),
            first_bytes_seen: 0,
            prev_ext_ts: None,
            clock_cache: None,
            queue: Vec::new(),
        });
        self.index.insert(key, i);
        Some(i)
    }

    /// The payload's clock and, the first time the stream sees this payload type, its name.
    fn clock_for(&mut self, i: usize, pt: u8) -> (ClockInfo, Option<String>) {
        let generation = self.bindings_generation;
        if let Some(s) = self.streams.get(i)
            && let Some((cached_pt, cached_gen, clock)) = s.clock_cache
            && cached_pt == pt
            && cached_gen == generation
        {
            // Same payload type under the same bindings: the same clock, and its name was offered already.
            return (clock, None);
        }
        let (clock, name) = self.clock_lookup(i, pt);
        if let Some(s) = self.streams.get_mut(i) {
            s.clock_cache = Some((pt, generation, clock));
        }
        (clock, name)
    }

    fn clock_lookup(&self, i: usize, pt: u8) -> (ClockInfo, Option<String>) {
        let Some(s) = self.streams.get(i) else {
            return unbound_clock(pt, true);
        };
        let want_name = !s.pt_names.contains_key(&pt);
        // The binding current at this packet (re-INVITEs may change the payload map), else the stream's own.
        match self
            .lookup(s.key.src, s.key.dst)
            .filter(|(b, _)| b.kind == BindKind::Rtp)
            .map(|(b, _)| b)
            .or(s.binding.as_ref())
        {
            Some(b) => b.clock(pt, want_name),
            None => unbound_clock(pt, want_name),
        }
    }

    fn feed(&mut self, i: usize, info: &PacketInfo, payload: &[u8]) {
        let (clock, name) = self.clock_for(i, info.payload_type);
        if clock == ClockInfo::TelephoneEvent
            && let Some(s) = self.streams.get_mut(i)
        {
            let rate = match s
                .binding
                .as_ref()
                .and_then(|b| b.rtpmaps.iter().find(|(p, _, _)| *p == info.payload_type))
            {
                Some((_, _, r)) if *r > 0 => *r,
                _ => 8000,
            };
            let tracker = s.dtmf.get_or_insert_with(DtmfTracker::default);
            if let Err(e) = tracker.push(
                info.frame,
                info.ts_nanos,
                s.key.ssrc,
                info.timestamp,
                info.marker,
                payload,
                rate,
            ) {
                s.malformed += 1;
                self.warn(info.frame, e.to_string());
            }
        }
        if let Some(s) = self.streams.get_mut(i)
            && s.payload_prints.len() < MAX_PAYLOAD_PRINTS
            && let Some(p) = payload_print(payload)
        {
            s.payload_prints.push((p, info.ts_nanos));
        }
        self.feed_with(i, info, clock, name);
    }

    fn feed_with(&mut self, i: usize, info: &PacketInfo, clock: ClockInfo, name: Option<String>) {
        let now_ms = self.rel_ms(info.ts_nanos);
        let keep_series = self.series_points < self.limits.max_series_points;
        let Some(s) = self.streams.get_mut(i) else {
            return;
        };
        *s.pt_counts.entry(info.payload_type).or_insert(0) += 1;
        if let Some(n) = name
            && s.pt_names.len() < 128
        {
            s.pt_names.entry(info.payload_type).or_insert(n);
        }
        self.enqueue(
            i,
            Deferred {
                info: *info,
                clock,
                now_ms,
                work: Work::Rtp { keep_series },
            },
        );
        if keep_series {
            self.series_points += 1;
        } else if self.limits.max_series_points > 0 {
            self.counters.series_points_dropped += 1;
        }
    }

    /// Queues a packet's metrics work on stream `i` (done by [`Self::flush`]).
    fn enqueue(&mut self, i: usize, work: Deferred) {
        if let Some(s) = self.streams.get_mut(i) {
            if s.queue.is_empty() {
                self.dirty.push(i);
            }
            s.queue.push(work);
        }
    }

    /// Does the metrics work queued on the streams ([`Deferred`]), in parallel across streams (on the current
    /// rayon pool). The pipeline calls it after each batch; [`Self::build`] sees only flushed streams.
    pub fn flush(&mut self) {
        match self.dirty.as_slice() {
            [] => {}
            [one] => {
                if let Some(s) = self.streams.get_mut(*one) {
                    s.drain_queue();
                }
            }
            _ => self
                .streams
                .par_iter_mut()
                .with_min_len(8)
                .filter(|s| !s.queue.is_empty())
                .for_each(StreamState::drain_queue),
        }
        self.dirty.clear();
    }

    fn t38_packet(&mut self, d: &Datagram<'_>, seq: u16) {
        let key = StreamKey {
            src: d.src,
            dst: d.dst,
            ssrc: 0,
            carrier: d.carrier,
            kind: StreamKind::T38,
        };
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let bound = self.lookup(d.src, d.dst).map(|(b, by)| (b.clone(), by));
                match self.new_stream(key, bound, None) {
                    Some(i) => i,
                    None => return,
                }
            }
        };
        let info = PacketInfo {
            frame: d.frame,
            ts_nanos: d.ts,
            seq,
            timestamp: 0,
            marker: false,
            payload_type: 0,
            rtp_len: d.payload.len(),
            payload_len: d.payload.len(),
            first_payload_byte: None,
            ipv6: d.src.is_ipv6(),
        };
        let now_ms = self.rel_ms(d.ts);
        self.enqueue(
            i,
            Deferred {
                info,
                clock: ClockInfo::Unknown,
                now_ms,
                work: Work::SequenceOnly,
            },
        );
    }

    fn rtcp_packet(&mut self, d: &Datagram<'_>) {
        // SRTCP when the flow is keyed (DTLS, ZRTP), a WebRTC path (STUN), signalled as SAVP, or laid out as SRTCP.
        let (packets, err) = rtcp::parse_rtcp(d.payload);
        let encrypted = self
            .flows
            .get(&FlowKey::new(d.src, d.dst, d.carrier))
            .is_some_and(|f| f.dtls_records > 0 || f.zrtp_packets > 0 || f.stun_packets > 0)
            || self
                .lookup(d.src, d.dst)
                .is_some_and(|(b, _)| b.proto.to_ascii_uppercase().contains("SAVP"))
            || (err.is_some() && srtcp_layout(d.payload));
        if encrypted {
            // SRTCP: only the first header is in clear; the rest is ciphertext plus an index and a tag.
            self.counters.rtcp_packets += 1;
            if let Some(ssrc) = packets.first().and_then(first_ssrc)
                && let Some(s) = self.rtcp_state(ssrc)
            {
                s.packets += 1;
            }
            return;
        }
        if packets.is_empty() {
            let bound = self.lookup(d.src, d.dst).is_some();
            if bound && let Some(e) = err {
                self.counters.rtcp_malformed += 1;
                self.warn(d.frame, format!("{e} ({} → {})", d.src, d.dst));
            } else {
                self.counters.udp_unclassified += 1;
            }
            return;
        }
        self.counters.rtcp_packets += 1;
        if let Some(e) = err {
            self.counters.rtcp_malformed += 1;
            self.warn(d.frame, format!("{e} ({} → {})", d.src, d.dst));
        }
        for p in packets {
            match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    ntp,
                    packet_count,
                    reports,
                    ..
                } => {
                    if let Some(s) = self.rtcp_state(ssrc) {
                        s.packets += 1;
                        s.sender_reports += 1;
                        s.sr_packet_count = Some(packet_count);
                        let middle = ((ntp >> 16) & 0xFFFF_FFFF) as u32;
                        if s.recent_srs.len() >= 16 {
                            s.recent_srs.pop_front();
                        }
                        s.recent_srs.push_back((middle, d.ts));
                    }
                    for b in reports {
                        self.report_block(&b, d.ts);
                    }
                }
                RtcpPacket::ReceiverReport { ssrc, reports } => {
                    if let Some(s) = self.rtcp_state(ssrc) {
                        s.packets += 1;
                    }
                    for b in reports {
                        self.report_block(&b, d.ts);
                    }
                }
                RtcpPacket::Sdes { chunks } => {
                    for (ssrc, items) in chunks {
                        if let Some(s) = self.rtcp_state(ssrc)
                            && let Some((_, cname)) = items.into_iter().find(|(t, _)| *t == 1)
                        {
                            s.cname = Some(cname);
                        }
                    }
                }
                RtcpPacket::Bye { ssrcs, reason } => {
                    for ssrc in ssrcs {
                        if let Some(s) = self.rtcp_state(ssrc) {
                            s.bye = true;
                            s.bye_reason = reason.clone();
                        }
                    }
                }
                RtcpPacket::Xr { voip_metrics, .. } => {
                    for m in voip_metrics {
                        if let Some(s) = self.rtcp_state(m.ssrc) {
                            s.xr = Some(m);
                        }
                    }
                }
                RtcpPacket::App { .. } | RtcpPacket::Other { .. } => {}
            }
        }
    }

    fn rtcp_state(&mut self, ssrc: u32) -> Option<&mut RtcpState> {
        if !self.rtcp.contains_key(&ssrc) && self.rtcp.len() >= self.limits.max_rtcp_sources {
            self.caps.rtcp_sources += 1;
            return None;
        }
        Some(self.rtcp.entry(ssrc).or_default())
    }

    fn report_block(&mut self, b: &ReportBlock, ts: i64) {
        let Some(s) = self.rtcp_state(b.ssrc) else {
            return;
        };
        s.reports += 1;
        s.last_fraction = b.fraction_lost;
        s.max_fraction = s.max_fraction.max(b.fraction_lost);
        s.cumulative_lost = i64::from(b.cumulative_lost);
        s.max_jitter_units = Some(s.max_jitter_units.map_or(b.jitter, |m| m.max(b.jitter)));
        // RTT measured on the capture's clock: time from the SR this block echoes (LSR) to the block, minus the
        // receiver's holding time (DLSR). Exact when the capture is taken at the SR's sender.
        if b.lsr != 0
            && let Some(&(_, sr_ts)) = s.recent_srs.iter().rev().find(|(m, _)| *m == b.lsr)
        {
            let rtt = ts.saturating_sub(sr_ts) as f64 / 1e6 - f64::from(b.dlsr) * 1000.0 / 65536.0;
            if (0.0..60_000.0).contains(&rtt) && s.rtts_ms.len() < 100_000 {
                s.rtts_ms.push(rtt);
            }
        }
    }

    /// DTMF events of every call (RTP events of its streams and SIP INFO), in time order.
    fn call_dtmf(&self, streams: &[MediaStream]) -> BTreeMap<String, Vec<DtmfEvent>> {
        let mut out: BTreeMap<String, Vec<DtmfEvent>> = BTreeMap::new();
        for s in streams {
            if let Some(c) = &s.call_id {
                out.entry(c.clone())
                    .or_default()
                    .extend(s.dtmf.iter().cloned());
            }
        }
        for (c, e) in &self.info_dtmf {
            out.entry(c.clone()).or_default().push(e.clone());
        }
        for v in out.values_mut() {
            v.sort_by_key(|e| (e.ts_nanos, e.frame));
        }
        out
    }

    /// The streams as they stand, ordered by first frame, plus each call's DTMF events.
    pub fn build(&self, series: SeriesOut) -> (Vec<MediaStream>, BTreeMap<String, Vec<DtmfEvent>>) {
        debug_assert!(
            self.dirty.is_empty(),
            "build() before flush(): queued metrics work"
        );
        let series_clone = matches!(series, SeriesOut::Cloned);
        let mut moved: Vec<Option<Vec<SeriesPoint>>> = match series {
            SeriesOut::Moved(v) => v.into_iter().map(Some).collect(),
            _ => Vec::new(),
        };
        let mut out: Vec<MediaStream> = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let series = if series_clone {
                    s.series.clone()
                } else {
                    moved.get_mut(i).and_then(Option::take).unwrap_or_default()
                };
                self.build_stream(s, series)
            })
            .collect();
        out.sort_by(|a, b| {
            (a.first_frame, a.ssrc, a.src, a.dst).cmp(&(b.first_frame, b.ssrc, b.src, b.dst))
        });
        for (i, s) in out.iter_mut().enumerate() {
            s.index = i;
        }
        let dtmf = self.call_dtmf(&out);
        (out, dtmf)
    }

    /// Every stream's plot series, in stream order, moved out (the end of an analysis: [`SeriesOut::Moved`]).
    pub fn take_series(&mut self) -> Vec<Vec<SeriesPoint>> {
        self.streams
            .iter_mut()
            .map(|s| std::mem::take(&mut s.series))
            .collect()
    }

    fn build_stream(&self, s: &StreamState, series: Vec<SeriesPoint>) -> MediaStream {
        let st = &s.stats;
        let main_pt = s
            .pt_counts
            .iter()
            .filter(|(pt, _)| {
                !matches!(**pt, 13 | 19)
                    && !s
                        .pt_names
                        .get(*pt)
                        .is_some_and(|n| n.eq_ignore_ascii_case("telephone-event"))
            })
            .max_by_key(|(pt, n)| (**n, std::cmp::Reverse(**pt)))
            .map(|(pt, _)| *pt)
            .or_else(|| st.payload_types.first().copied())
            .unwrap_or(0);
        let name_of = |pt: u8| -> String {
            s.pt_names
                .get(&pt)
                .cloned()
                .unwrap_or_else(|| format!("PT{pt}"))
        };
        let (codec, codecs, clock) = match s.key.kind {
            StreamKind::T38 => ("t38".to_string(), vec!["t38".to_string()], None),
            StreamKind::Rtp => {
                let clock = match self.clock_for_stream(s, main_pt) {
                    ClockInfo::Rate(r) => Some(r),
                    _ => None,
                };
                (
                    name_of(main_pt),
                    st.payload_types.iter().map(|p| name_of(*p)).collect(),
                    clock,
                )
            }
        };
        let (encryption, evidence) = self.encryption(s);
        let expected = st.expected();
        let lost = st.lost();
        let duration_s = (st.last_ts_nanos.saturating_sub(st.first_ts_nanos)) as f64 / 1e9;
        let quality = s.quality.as_ref().and_then(QualityAccumulator::finish);
        let adaptive = quality
            .as_ref()
            .and_then(|q| q.buffers.iter().find(|b| b.buffer.is_adaptive()));
        let flow = self
            .flows
            .get(&FlowKey::new(s.key.src, s.key.dst, s.key.carrier));
        let ssrc_changes = flow
            .and_then(|f| f.ssrcs.get(&s.key.src))
            .map_or(0, |l| l.len().saturating_sub(1) as u64);
        let rtcp = self.rtcp.get(&s.key.ssrc).map(|r| {
            let clock_f = clock.map(f64::from);
            RtcpSummary {
                packets: r.packets,
                sender_reports: r.sender_reports,
                cname: r.cname.clone(),
                bye: r.bye,
                bye_reason: r.bye_reason.clone(),
                sr_packet_count: r.sr_packet_count,
                received: (r.reports > 0).then(|| {
                    let n = r.rtts_ms.len();
                    RtcpReportSummary {
                        reports: r.reports,
                        last_fraction_lost_pct: f64::from(r.last_fraction) * 100.0 / 256.0,
                        max_fraction_lost_pct: f64::from(r.max_fraction) * 100.0 / 256.0,
                        cumulative_lost: r.cumulative_lost,
                        max_jitter_ms: r
                            .max_jitter_units
                            .zip(clock_f)
                            .map(|(j, c)| f64::from(j) * 1000.0 / c),
                        min_rtt_ms: r.rtts_ms.iter().copied().reduce(f64::min),
                        mean_rtt_ms: (n > 0).then(|| r.rtts_ms.iter().sum::<f64>() / n as f64),
                        max_rtt_ms: r.rtts_ms.iter().copied().reduce(f64::max),
                    }
                }),
                xr_voip: r.xr.map(|x| RtcpXrVoip {
                    loss_rate_pct: f64::from(x.loss_rate) * 100.0 / 256.0,
                    discard_rate_pct: f64::from(x.discard_rate) * 100.0 / 256.0,
                    round_trip_delay_ms: x.round_trip_delay,
                    end_system_delay_ms: x.end_system_delay,
                    r_factor: x.r_factor,
                    mos_lq: (x.mos_lq != 127).then(|| f64::from(x.mos_lq) / 10.0),
                    mos_cq: (x.mos_cq != 127).then(|| f64::from(x.mos_cq) / 10.0),
                    jb_nominal_ms: x.jb_nominal,
                    jb_maximum_ms: x.jb_maximum,
                }),
            }
        });
        MediaStream {
            payload_prints: s.payload_prints.clone(),
            index: 0,
            kind: s.key.kind,
            call_id: s.call_id.clone(),
            signalled: s.call_id.is_some(),
            sender: s.sender,
            ssrc: s.key.ssrc,
            src: Some(s.key.src),
            dst: Some(s.key.dst),
            carrier: s.key.carrier,
            relay_peer: s.relay_peer,
            payload_type: st.payload_types.first().copied().unwrap_or(0),
            payload_types: st.payload_types.clone(),
            codec,
            codecs,
            clock_rate_hz: clock,
            encryption,
            encryption_evidence: evidence,
            first_frame: st.first_frame,
            last_frame: st.last_frame,
            first_ts_nanos: st.first_ts_nanos,
            last_ts_nanos: st.last_ts_nanos,
            packets: st.total_nr,
            expected: u64::try_from(expected).unwrap_or(0),
            lost,
            lost_pct: if expected > 0 {
                lost as f64 * 100.0 / expected as f64
            } else {
                0.0
            },
            seq_errors: st.sequence_errors,
            duplicates: st.duplicates,
            out_of_order: st.out_of_order,
            seq_wraps: st.seq_cycles,
            min_delta_ms: st.min_delta,
            mean_delta_ms: st.mean_delta,
            max_delta_ms: st.max_delta,
            max_delta_frame: st.max_delta_frame,
            min_jitter_ms: st.jitter_known.then_some(st.min_jitter).flatten(),
            mean_jitter_ms: st.jitter_known.then_some(st.mean_jitter),
            max_jitter_ms: st.jitter_known.then_some(st.max_jitter),
            max_skew_ms: st.skew_known.then_some(st.max_skew),
            markers: st.markers,
            payload_type_changes: st.payload_type_changes,
            ssrc_changes,
            bytes: st.bytes,
            mean_bandwidth_kbps: if duration_s > 0.0 {
                st.bytes as f64 * 8.0 / 1000.0 / duration_s
            } else {
                0.0
            },
            mos: adaptive.map(|b| b.mos),
            r_factor: adaptive.map(|b| b.r_factor),
            quality,
            rtcp,
            dtmf: s.dtmf.as_ref().map(DtmfTracker::events).unwrap_or_default(),
            malformed: s.malformed,
            audio: String::new(),
            series,
        }
    }

    fn clock_for_stream(&self, s: &StreamState, pt: u8) -> ClockInfo {
        match &s.binding {
            Some(b) => b.clock(pt, false).0,
            None => unbound_clock(pt, false).0,
        }
    }

    fn encryption(&self, s: &StreamState) -> (Encryption, Option<String>) {
        if let Some(b) = &s.binding {
            let proto = b.proto.to_ascii_uppercase();
            if proto.contains("SAVP") {
                if let Some(suite) = b.crypto_suites.first() {
                    return (
                        Encryption::Srtp,
                        Some(format!(
                            "SDP {} with a=crypto {suite} (SDES keys in the SDP)",
                            b.proto
                        )),
                    );
                }
                if b.fingerprint {
                    return (
                        Encryption::DtlsSrtp,
                        Some(format!("SDP {} with a=fingerprint", b.proto)),
                    );
                }
                return (Encryption::Srtp, Some(format!("SDP profile {}", b.proto)));
            }
        }
        let flow = self
            .flows
            .get(&FlowKey::new(s.key.src, s.key.dst, s.key.carrier));
        if let Some(f) = flow {
            if let Some(first) = f.zrtp_first {
                return (
                    Encryption::Zrtp,
                    Some(format!(
                        "{} ZRTP packets on the media flow from frame {}",
                        f.zrtp_packets,
                        crate::model::frame_label(first)
                    )),
                );
            }
            if let Some(first) = f.dtls_first {
                return (
                    Encryption::DtlsSrtp,
                    Some(format!(
                        "{} DTLS records on the media flow, frames {}-{}",
                        f.dtls_records,
                        crate::model::frame_label(first),
                        crate::model::frame_label(f.dtls_last)
                    )),
                );
            }
        }
        if s.trailer_checks >= 4 && s.trailer_hits * 10 >= s.trailer_checks * 9 {
            return (
                Encryption::Srtp,
                Some(format!(
                    "{}-byte trailer beyond the G.711 samples on {} of {} packets (SRTP authentication tag)",
                    s.trailer_len, s.trailer_hits, s.trailer_checks
                )),
            );
        }
        if s.binding.is_some() {
            // Signalled RTP/AVP in clear SDP: the endpoints agreed on plain RTP.
            return (Encryption::None, None);
        }
        // No SDP in the capture: "no encryption" must be shown by the packets, or it is not said.
        if let Some(f) = flow
            && let Some(first) = f.stun_first
        {
            return (
                Encryption::Srtp,
                Some(format!(
                    "WebRTC-style media path: {} STUN/TURN packets on the flow from frame {} and no SDP in \
                     the capture; RFC 8827 makes SRTP mandatory for such media",
                    f.stun_packets,
                    crate::model::frame_label(first)
                )),
            );
        }
        let distinct: u32 = s.first_bytes.iter().map(|w| w.count_ones()).sum();
        let pt = self_payload_type(s);
        if s.trailer_checks >= 4 && s.trailer_hits == 0 && matches!(pt, Some(0 | 8)) {
            return (
                Encryption::None,
                Some(format!(
                    "no SDP; each of {} packets carries exactly the G.711 samples its timestamp advances (no SRTP \
                     authentication tag)",
                    s.trailer_checks
                )),
            );
        }
        if s.first_bytes_seen >= 16 && distinct <= 4 {
            return (
                Encryption::None,
                Some(format!(
                    "no SDP; the first payload byte takes {distinct} value(s) over {} packets: a codec frame header \
                     in clear (SRTP would scramble it)",
                    s.first_bytes_seen
                )),
            );
        }
        if s.first_bytes_seen >= 64 && distinct >= 48 {
            return (
                Encryption::Unknown,
                Some(format!(
                    "no SDP; the first payload byte takes {distinct} values over {} packets: no codec frame header, \
                     as under SRTP (or a headerless codec)",
                    s.first_bytes_seen
                )),
            );
        }
        (
            Encryption::Unknown,
            Some("no SDP in the capture and no evidence in the packets either way".to_string()),
        )
    }

    /// Streams tracked so far.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// End of input: candidates that never formed a stream are counted as rejected.
    pub fn finish(&mut self) {
        self.flush();
        let held: usize = self.candidates.values().map(|c| c.held.len()).sum();
        self.counters.rtp_candidates_rejected += held as u64;
        self.candidates.clear();
    }
}

fn first_ssrc(p: &RtcpPacket) -> Option<u32> {
    match p {
        RtcpPacket::SenderReport { ssrc, .. }
        | RtcpPacket::ReceiverReport { ssrc, .. }
        | RtcpPacket::App { ssrc, .. }
        | RtcpPacket::Xr { ssrc, .. } => Some(*ssrc),
        RtcpPacket::Sdes { chunks } => chunks.first().map(|(s, _)| *s),
        RtcpPacket::Bye { ssrcs, .. } => ssrcs.first().copied(),
        RtcpPacket::Other { .. } => None,
    }
}

/// T.38 negotiation of a call from its messages: `accepted` when an answer kept `m=image` with a port, `rejected
/// <status>` when the offer's transaction failed, `offered` otherwise; `None` when T.38 was never offered.
pub fn t38_outcome(messages: &[&MessageRecord]) -> Option<String> {
    let has_t38 = |sdp: &Sdp| {
        sdp.media
            .iter()
            .any(|m| m.port != 0 && m.proto.to_ascii_lowercase().contains("udptl"))
    };
    let mut offered_cseqs: Vec<u32> = Vec::new();
    let mut accepted = false;
    let mut rejected: Option<u16> = None;
    for rec in messages.iter().filter(|r| !r.retransmission) {
        let m = &rec.message;
        let Some(cseq) = m.cseq.as_ref() else {
            continue;
        };
        if m.is_request() {
            if m.sdp.as_ref().is_some_and(has_t38) && offered_cseqs.len() < 64 {
                offered_cseqs.push(cseq.seq);
            }
        } else if offered_cseqs.contains(&cseq.seq)
            && let Some(code) = m.status()
        {
            if (200..300).contains(&code) && m.sdp.as_ref().is_some_and(has_t38) {
                accepted = true;
            } else if code >= 300 {
                rejected = Some(code);
            }
        } else if m.sdp.as_ref().is_some_and(has_t38) && m.status().is_some_and(|c| c < 300) {
            // T.38 offered by the answerer side in a response (late offer).
            accepted = true;
        }
    }
    if accepted {
        Some("accepted".into())
    } else if let Some(code) = rejected {
        Some(format!("rejected {code}"))
    } else if !offered_cseqs.is_empty() {
        Some("offered".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn srtcp_is_recognised_by_its_layout() {
        // RFC 3711 §3.4: SR header (len 6 = 28 bytes) in clear, ciphertext, E|index, 10-byte tag.
        let mut p = vec![0x80, 200, 0, 6];
        p.extend_from_slice(&[0xAB; 24]);
        p.extend_from_slice(&[0x5c, 0x13, 0xe7, 0x91, 0x02, 0x33, 0x48, 0x70]); // encrypted SDES, garbled
        p.extend_from_slice(&[0x80, 0, 0, 1]); // E = 1, index 1
        p.extend_from_slice(&[0x11; 10]);
        assert!(srtcp_layout(&p));
        // E = 0 (not encrypted): a plain compound would have parsed.
        let at = p.len() - 14;
        p[at] = 0;
        assert!(!srtcp_layout(&p));
        p[at] = 0x80;
        // A second RTCP header right after the first packet: plain RTCP, damaged further on.
        p[28] = 0x81;
        p[29] = 202;
        assert!(!srtcp_layout(&p));
        // RTP, or too short.
        assert!(!srtcp_layout(&[0x80, 0x00, 0, 1]));
        assert!(!srtcp_layout(&[0x80, 200]));
    }

    /// RTP (PCMU, 160 bytes) number `n` of SSRC 0x1234 wrapped in TURN ChannelData on channel 0x4001.
    fn channel_data_rtp(n: u16) -> Vec<u8> {
        let mut rtp = vec![0x80, 0x00];
        rtp.extend_from_slice(&(1000 + n).to_be_bytes());
        rtp.extend_from_slice(&(u32::from(n) * 160).to_be_bytes());
        rtp.extend_from_slice(&0x1234u32.to_be_bytes());
        rtp.extend_from_slice(&[0xff; 160]);
        let mut p = vec![0x40, 0x01];
        p.extend_from_slice(&(rtp.len() as u16).to_be_bytes());
        p.extend_from_slice(&rtp);
        p
    }

    fn run(packets: u16) -> (Vec<MediaStream>, MediaCounters) {
        let mut t = MediaTracker::new(MediaLimits::default());
        let client: SocketAddr = "10.0.0.2:50000".parse().unwrap();
        let turn: SocketAddr = "10.0.0.9:3478".parse().unwrap();
        for n in 0..packets {
            let ts = 1_000_000_000 + i64::from(n) * 20_000_000;
            let p = channel_data_rtp(n);
            t.on_udp(u64::from(n) + 1, ts, client, turn, &p, Classified::of(&p));
        }
        t.finish();
        let (streams, _) = t.build(SeriesOut::Empty);
        (streams, t.counters.clone())
    }

    #[test]
    fn relayed_rtp_on_an_unbound_channel_needs_the_candidate_run() {
        // One datagram on a channel no Channel-Bind announced: not a stream (random bytes looked like this).
        let (streams, counters) = run(1);
        assert!(streams.is_empty(), "{streams:?}");
        assert_eq!(counters.rtp_candidates_rejected, 1);
        // A consistent run of them is relayed media.
        let (streams, _) = run(6);
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].carrier, MediaCarrier::TurnUdp);
        assert_eq!(streams[0].ssrc, 0x1234);
        assert_eq!(streams[0].packets, 6);
        assert_eq!(streams[0].lost, 0);
    }
}
