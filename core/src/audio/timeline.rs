//! One stream's packets → PCM on a timeline, in the three timing modes Wireshark's RTP player offers.
//!
//! - **Jitter buffer** (`JitterBuffer { ms }`): a packet is played at the arrival time of the stream's first packet
//!   plus its RTP-timestamp offset; a packet that arrives more than `ms` after that moment would have missed its
//!   turn in a receiver's buffer of that size, so it is dropped (marked `Late`) and concealed, as a phone would.
//! - **RTP timestamp** (`RtpTimestamp`): every packet at its RTP-timestamp position, however late it came.
//! - **Uninterrupted** (`Uninterrupted`): decoded audio back to back, silences and losses removed.
//!
//! In the first two modes a gap in sequence numbers is a loss (concealed by the codec for up to
//! [`MAX_CONCEAL_MS`], then silence, and marked `Lost`); a timestamp gap without a sequence gap is silence
//! suppression (silence, or comfort noise after a CN packet). RFC 4733 events and redundancy are never played as
//! sound. A timestamp jump that arrival times contradict (a sender restarting its clock) re-anchors the timeline on
//! arrival time instead of inserting hours of silence. Output length is bounded by `max_samples`.

use std::collections::BTreeMap;

use crate::codec::{self, CodecSpec, ComfortNoise, Decoder, NoDecoder, PayloadKind};
use crate::media::rtp;

/// How packets are placed in time (Wireshark's RTP player modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingMode {
    JitterBuffer { ms: u32 },
    RtpTimestamp,
    Uninterrupted,
}

impl Default for TimingMode {
    fn default() -> Self {
        TimingMode::JitterBuffer { ms: 50 }
    }
}

impl std::str::FromStr for TimingMode {
    type Err = String;

    /// `jitter` (50 ms), `jitter:MS`, `rtp`, `uninterrupted`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "rtp" | "timestamp" | "rtp-timestamp" => Ok(TimingMode::RtpTimestamp),
            "uninterrupted" | "continuous" => Ok(TimingMode::Uninterrupted),
            "jitter" | "jitter-buffer" => Ok(TimingMode::default()),
            _ => match s.split_once(':') {
                Some(("jitter" | "jitter-buffer", ms)) => ms
                    .parse::<u32>()
                    .ok()
                    .filter(|m| *m <= 10_000)
                    .map(|ms| TimingMode::JitterBuffer { ms })
                    .ok_or_else(|| format!("bad jitter buffer size `{ms}` (0-10000 ms)")),
                _ => Err(format!(
                    "unknown timing mode `{s}` (jitter[:MS], rtp, uninterrupted)"
                )),
            },
        }
    }
}

/// Concealment by the codec covers at most this much of a loss; the rest of a longer gap is silence.
pub const MAX_CONCEAL_MS: u64 = 100;

/// What happened at a point of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkKind {
    /// Packets missing from the sequence (concealed, then silence).
    Lost { packets: u64 },
    /// A packet dropped because it arrived after its jitter-buffer deadline.
    Late { frame: u64 },
    /// A payload that did not decode (played as concealment).
    DecodeError { frame: u64 },
    /// A packet whose SRTP authentication failed (not played).
    AuthFailed { frame: u64 },
    /// Packets of a payload type with no decoder (not played).
    NoDecoder { frame: u64, payload_type: u8 },
    /// A DTMF (RFC 4733) event starts here.
    Dtmf { frame: u64 },
    /// Comfort noise starts here.
    ComfortNoise { frame: u64 },
    /// The RTP timestamp jumped against arrival times; the timeline was re-anchored.
    Resync { frame: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Sample index in the stream's output.
    pub sample: usize,
    pub kind: MarkKind,
}

/// Counts of what the timeline did with the packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineStats {
    pub packets: u64,
    pub decoded: u64,
    pub lost: u64,
    pub late_dropped: u64,
    pub duplicates: u64,
    pub decode_errors: u64,
    pub auth_failures: u64,
    pub undecodable: u64,
    pub dtmf_packets: u64,
    pub cn_packets: u64,
    pub other_packets: u64,
    pub malformed: u64,
    pub resyncs: u64,
    /// Samples not produced because the output reached `max_samples`.
    pub samples_cut: u64,
}

/// One packet, already unprotected when it was SRTP.
#[derive(Debug, Clone)]
pub struct PlainPacket<'a> {
    pub frame: u64,
    pub ts_nanos: i64,
    /// The whole RTP packet (header and payload; borrowed when it was not encrypted), or `None` when SRTP
    /// authentication failed.
    pub data: Option<std::borrow::Cow<'a, [u8]>>,
}

/// A decoded stream.
#[derive(Debug, Clone, Default)]
pub struct DecodedStream {
    pub rate_hz: u32,
    /// Capture time of sample 0 (arrival of the first packet).
    pub start_ts_nanos: i64,
    pub samples: Vec<i16>,
    pub marks: Vec<Mark>,
    pub stats: TimelineStats,
    /// Codecs with no decoder met in this stream (the reason shown to the user).
    pub no_decoder: Vec<NoDecoder>,
    /// Names of the codecs decoded.
    pub codecs: Vec<String>,
}

impl DecodedStream {
    /// True when some audio was decoded.
    pub fn has_audio(&self) -> bool {
        self.stats.decoded > 0
    }
}

/// Settings of one timeline.
#[derive(Debug, Clone)]
pub struct TimelineOptions {
    pub mode: TimingMode,
    /// Hard cap on output samples (a hostile timestamp cannot make the output huge).
    pub max_samples: usize,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            mode: TimingMode::default(),
            // Four hours at 48 kHz.
            max_samples: 4 * 3600 * 48_000,
        }
    }
}

struct PtState {
    spec: Option<CodecSpec>,
    kind: PayloadKind,
    decoder: Option<Box<dyn Decoder>>,
}

/// A multiplicative hash for extended sequence numbers (SipHash's DoS resistance is not needed for a set whose
/// keys an attacker can only make sparse, and it costs more than the rest of the bookkeeping).
#[derive(Default, Clone, Copy)]
struct SeqHash;

impl std::hash::BuildHasher for SeqHash {
    type Hasher = SeqHasher;
    fn build_hasher(&self) -> SeqHasher {
        SeqHasher(0)
    }
}

struct SeqHasher(u64);

impl std::hash::Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// Extends 16-bit sequence numbers and 32-bit timestamps across wraps.
#[derive(Default)]
struct Unwrap {
    last_seq: Option<(u16, i64)>,
    last_ts: Option<(u32, i64)>,
}

impl Unwrap {
    fn seq(&mut self, s: u16) -> i64 {
        let ext = match self.last_seq {
            None => i64::from(s),
            Some((prev, ext)) => ext + i64::from(s.wrapping_sub(prev) as i16),
        };
        if self.last_seq.is_none_or(|(_, e)| ext > e) {
            self.last_seq = Some((s, ext));
        }
        ext
    }

    fn ts(&mut self, t: u32) -> i64 {
        let ext = match self.last_ts {
            None => i64::from(t),
            Some((prev, ext)) => ext + i64::from(t.wrapping_sub(prev) as i32),
        };
        if self.last_ts.is_none_or(|(_, e)| ext > e) {
            self.last_ts = Some((t, ext));
        }
        ext
    }
}

/// Decodes one stream's packets (in capture order). `specs` maps payload types to codecs (from SDP or the static
/// table); a payload type missing from it has no decoder.
pub fn decode_stream(
    packets: &[PlainPacket<'_>],
    specs: &BTreeMap<u8, CodecSpec>,
    opts: &TimelineOptions,
) -> DecodedStream {
    let mut t = Timeline::new(output_rate(packets, specs), opts, packets.len());
    let mut pts: BTreeMap<u8, PtState> = BTreeMap::new();
    for p in packets {
        t.packet(p, specs, &mut pts);
    }
    t.out
}

/// The output rate: the decoder rate of the first decodable audio payload type in the stream (8 kHz if none).
fn output_rate(packets: &[PlainPacket<'_>], specs: &BTreeMap<u8, CodecSpec>) -> u32 {
    let mut pt_order: Vec<u8> = Vec::new();
    for h in packets
        .iter()
        .filter_map(|p| p.data.as_deref())
        .filter_map(|d| rtp::parse_rtp(d).ok())
    {
        if !pt_order.contains(&h.payload_type) {
            pt_order.push(h.payload_type);
        }
    }
    pt_order
        .iter()
        .find_map(|pt| {
            let spec = specs.get(pt)?;
            if codec::payload_kind(&spec.name) != PayloadKind::Audio {
                return None;
            }
            codec::decoder_for(spec).ok().map(|d| d.sample_rate_hz())
        })
        .unwrap_or(8000)
        .max(1)
}

/// (ext timestamp, clock rate, output sample index, arrival ns) of the packet that fixed the timeline.
type Anchor = (i64, u32, i64, i64);

/// Where an audio packet goes on the timeline ([`Timeline::place`]).
enum Placement {
    /// Uninterrupted mode: after what is there.
    Next,
    /// At this output sample (by RTP timestamp, or by arrival after a resync).
    At(i64),
    /// Too late for the jitter buffer: decoded (so the decoder follows the stream) but not played.
    Late,
}

/// The state of one stream's decoding: the output so far and what placing the next packet needs.
struct Timeline<'o> {
    opts: &'o TimelineOptions,
    rate: u32,
    /// Packets in the stream (sizes the output once the first packet has decoded).
    packets: usize,
    out: DecodedStream,
    unwrap: Unwrap,
    cn: ComfortNoise,
    cn_active: bool,
    seen: std::collections::HashSet<i64, SeqHash>,
    anchor: Option<Anchor>,
    last_ext_seq: Option<i64>,
    pcm: Vec<i16>,
    first_arrival: Option<i64>,
    /// A packet was dropped as late since the last one played: its slot is concealed like a loss.
    late_pending: bool,
}

impl<'o> Timeline<'o> {
    fn new(rate: u32, opts: &'o TimelineOptions, packets: usize) -> Self {
        Timeline {
            opts,
            rate,
            packets,
            out: DecodedStream {
                rate_hz: rate,
                ..DecodedStream::default()
            },
            unwrap: Unwrap::default(),
            cn: ComfortNoise::default(),
            cn_active: false,
            seen: std::collections::HashSet::default(),
            anchor: None,
            last_ext_seq: None,
            pcm: Vec::with_capacity(4096),
            first_arrival: None,
            late_pending: false,
        }
    }

    /// The highest extended sequence number seen moves up to `ext_seq`.
    fn advance_seq(&mut self, ext_seq: i64) {
        self.last_ext_seq = Some(self.last_ext_seq.map_or(ext_seq, |l| l.max(ext_seq)));
    }

    /// One packet: counted, de-duplicated, and handled by its payload kind (events and comfort noise marked,
    /// audio decoded onto the timeline).
    fn packet(
        &mut self,
        p: &PlainPacket<'_>,
        specs: &BTreeMap<u8, CodecSpec>,
        pts: &mut BTreeMap<u8, PtState>,
    ) {
        self.out.stats.packets += 1;
        if self.first_arrival.is_none() {
            self.first_arrival = Some(p.ts_nanos);
            self.out.start_ts_nanos = p.ts_nanos;
        }
        let Some(data) = p.data.as_deref() else {
            self.out.stats.auth_failures += 1;
            push_mark(&mut self.out, MarkKind::AuthFailed { frame: p.frame });
            return;
        };
        let Ok(h) = rtp::parse_rtp(data) else {
            self.out.stats.malformed += 1;
            return;
        };
        let payload = rtp::payload(data, &h);
        let ext_seq = self.unwrap.seq(h.seq);
        if !self.seen.insert(ext_seq) {
            self.out.stats.duplicates += 1;
            return;
        }
        if self.last_ext_seq.is_some_and(|l| ext_seq < l) {
            // A reordered packet counted lost when the sequence jumped past it: it is not lost after all.
            self.out.stats.lost = self.out.stats.lost.saturating_sub(1);
        }
        let ext_ts = self.unwrap.ts(h.timestamp);
        let st = pts.entry(h.payload_type).or_insert_with(|| {
            let spec = specs.get(&h.payload_type).cloned();
            let kind = spec
                .as_ref()
                .map_or(PayloadKind::Audio, |s| codec::payload_kind(&s.name));
            PtState {
                spec,
                kind,
                decoder: None,
            }
        });
        match st.kind {
            PayloadKind::TelephoneEvent => {
                self.out.stats.dtmf_packets += 1;
                if h.marker || self.last_ext_seq.is_none_or(|l| ext_seq != l + 1) {
                    let at = position(self.anchor, ext_ts, self.rate, self.out.samples.len());
                    self.out.marks.push(Mark {
                        sample: at,
                        kind: MarkKind::Dtmf { frame: p.frame },
                    });
                }
                self.advance_seq(ext_seq);
            }
            PayloadKind::Redundancy | PayloadKind::NotAudio => self.out.stats.other_packets += 1,
            PayloadKind::ComfortNoise => {
                self.out.stats.cn_packets += 1;
                if self.cn.update(payload).is_err() {
                    self.out.stats.decode_errors += 1;
                }
                if !self.cn_active {
                    push_mark(&mut self.out, MarkKind::ComfortNoise { frame: p.frame });
                }
                self.cn_active = true;
                self.advance_seq(ext_seq);
            }
            PayloadKind::Audio => {
                let Some((dec, clock)) = self.decoder(st, p.frame, h.payload_type) else {
                    return;
                };
                let placement = self.place(dec, p, payload, ext_ts, clock);
                let target = match placement {
                    Placement::Late => {
                        self.advance_seq(ext_seq);
                        return;
                    }
                    Placement::Next => None,
                    Placement::At(t) => Some(t),
                };
                self.fill_gap(dec, ext_seq, target);
                self.play(dec, p.frame, payload, target);
            }
        }
    }

    /// The payload type's decoder (made at its first packet) and clock rate, or `None` (counted undecodable, the
    /// reason noted once) when it has none.
    fn decoder<'s>(
        &mut self,
        st: &'s mut PtState,
        frame: u64,
        payload_type: u8,
    ) -> Option<(&'s mut dyn Decoder, u32)> {
        let Some(spec) = st.spec.as_ref() else {
            self.out.stats.undecodable += 1;
            note_no_decoder(
                &mut self.out,
                NoDecoder {
                    codec: format!("payload type {payload_type}"),
                    reason: "no decoder (dynamic payload type without SDP; give the codec by hand)"
                        .into(),
                },
                frame,
                payload_type,
            );
            return None;
        };
        if st.decoder.is_none() {
            match codec::decoder_for(spec) {
                Ok(d) => {
                    st.decoder = Some(d);
                    if !self.out.codecs.contains(&spec.name) {
                        self.out.codecs.push(spec.name.clone());
                    }
                }
                Err(e) => {
                    self.out.stats.undecodable += 1;
                    note_no_decoder(&mut self.out, e, frame, payload_type);
                    return None;
                }
            }
        }
        let clock = spec.clock_rate_hz.max(1);
        let dec = st.decoder.as_deref_mut()?;
        Some((dec, clock))
    }

    /// Where an audio packet belongs: by its RTP timestamp from the anchor (re-anchored on arrival when the two
    /// disagree by more than 10 s), or dropped as late by the jitter buffer.
    fn place(
        &mut self,
        dec: &mut dyn Decoder,
        p: &PlainPacket<'_>,
        payload: &[u8],
        ext_ts: i64,
        clock: u32,
    ) -> Placement {
        let rate = self.rate;
        let arrival = p.ts_nanos;
        match self.opts.mode {
            TimingMode::Uninterrupted => Placement::Next,
            TimingMode::RtpTimestamp | TimingMode::JitterBuffer { .. } => {
                let (a_ts, a_clock, a_sample, a_arrival) =
                    *self.anchor.get_or_insert((ext_ts, clock, 0, arrival));
                let by_ts = a_sample + (ext_ts - a_ts) * i64::from(rate) / i64::from(a_clock);
                let by_arrival =
                    a_sample + (arrival - a_arrival) / 1_000_000 * i64::from(rate) / 1000;
                // A timestamp that disagrees with arrival by more than 10 s (either way) is a clock restart.
                if (by_ts - by_arrival).abs() > 10 * i64::from(rate) {
                    self.out.stats.resyncs += 1;
                    let here = self.out.samples.len() as i64;
                    let at = by_arrival.max(here);
                    self.anchor = Some((ext_ts, clock, at, arrival));
                    self.out.marks.push(Mark {
                        sample: usize::try_from(at).unwrap_or(0),
                        kind: MarkKind::Resync { frame: p.frame },
                    });
                    return Placement::At(at);
                }
                if let TimingMode::JitterBuffer { ms } = self.opts.mode {
                    let expected = a_arrival + (ext_ts - a_ts) * 1_000_000_000 / i64::from(a_clock);
                    if arrival - expected > i64::from(ms) * 1_000_000 {
                        self.out.stats.late_dropped += 1;
                        push_mark(&mut self.out, MarkKind::Late { frame: p.frame });
                        // The decoder still sees the packet so its state follows the stream.
                        self.pcm.clear();
                        let _ = dec.decode(payload, &mut self.pcm);
                        self.late_pending = true;
                        return Placement::Late;
                    }
                }
                Placement::At(by_ts)
            }
        }
    }

    /// The gap before a packet placed at `target`: a sequence gap is a loss (marked, concealed by the codec up to
    /// [`MAX_CONCEAL_MS`], then silence); a timestamp gap alone is silence suppression (comfort noise after a CN
    /// packet, else silence).
    fn fill_gap(&mut self, dec: &mut dyn Decoder, ext_seq: i64, target: Option<i64>) {
        let (rate, dec_rate) = (self.rate, dec.sample_rate_hz().max(1));
        let lost_packets = match self.last_ext_seq {
            Some(l) if ext_seq > l + 1 => (ext_seq - l - 1) as u64,
            _ => 0,
        };
        if lost_packets > 0 {
            self.out.stats.lost += lost_packets;
            push_mark(
                &mut self.out,
                MarkKind::Lost {
                    packets: lost_packets,
                },
            );
        }
        if let Some(t) = target {
            let here = self.out.samples.len() as i64;
            if t > here {
                let gap = usize::try_from(t - here).unwrap_or(0);
                let room = self.opts.max_samples.saturating_sub(self.out.samples.len());
                let gap_n = gap.min(room);
                if lost_packets > 0 || self.late_pending {
                    let conceal_max =
                        usize::try_from(MAX_CONCEAL_MS * u64::from(rate) / 1000).unwrap_or(0);
                    let c = gap_n.min(conceal_max);
                    self.pcm.clear();
                    dec.conceal(c * dec_rate as usize / rate as usize, &mut self.pcm);
                    append_resampled(&mut self.out.samples, &self.pcm, dec_rate, rate, c);
                    self.out
                        .samples
                        .resize(self.out.samples.len() + (gap_n - c), 0);
                } else if self.cn_active {
                    self.cn.fill(gap_n, rate, &mut self.out.samples);
                } else {
                    self.out.samples.resize(self.out.samples.len() + gap_n, 0);
                }
                self.out.stats.samples_cut += (gap - gap_n) as u64;
            }
        }
        self.cn_active = false;
        self.late_pending = false;
        self.advance_seq(ext_seq);
    }

    /// Decodes a packet's payload and writes it at `target` (over concealment or silence when it came late),
    /// concealing its duration when it does not decode.
    fn play(&mut self, dec: &mut dyn Decoder, frame: u64, payload: &[u8], target: Option<i64>) {
        let (rate, dec_rate) = (self.rate, dec.sample_rate_hz().max(1));
        let max_samples = self.opts.max_samples;
        let out = &mut self.out;
        // The common case — same rate, in order, room left — decodes straight into the output.
        let here = out.samples.len();
        if dec_rate == rate && target.is_none_or(|t| t == here as i64) && here < max_samples {
            let before = out.samples.len();
            if dec.decode(payload, &mut out.samples).is_ok() {
                out.stats.decoded += 1;
                let n = out.samples.len() - before;
                if out.stats.decoded == 1 {
                    // Size the output once from the first packet instead of doubling it many times.
                    let want = self.packets.saturating_mul(n).min(max_samples);
                    out.samples.reserve(want.saturating_sub(out.samples.len()));
                }
                if out.samples.len() > max_samples {
                    out.stats.samples_cut += (out.samples.len() - max_samples) as u64;
                    out.samples.truncate(max_samples);
                }
                return;
            }
            out.samples.truncate(before);
        }
        let pcm = &mut self.pcm;
        pcm.clear();
        match dec.decode(payload, pcm) {
            Ok(_) => out.stats.decoded += 1,
            Err(_) => {
                out.stats.decode_errors += 1;
                push_mark(out, MarkKind::DecodeError { frame });
                // Conceal the packet's duration (from the timestamp step when known, else 20 ms).
                let n = 20 * dec_rate as usize / 1000;
                pcm.clear();
                dec.conceal(n, pcm);
            }
        }
        let n_out = if dec_rate == rate {
            pcm.len()
        } else {
            pcm.len() * rate as usize / dec_rate as usize
        };
        let room = max_samples.saturating_sub(out.samples.len());
        match target {
            Some(t) if t < 0 => {
                // Reordered before the stream's first packet: nowhere to play it.
                out.stats.late_dropped += 1;
            }
            Some(t) if (t as usize) < out.samples.len() => {
                // A late (reordered) packet: write over what was concealed or silent at its place.
                let start = usize::try_from(t).unwrap_or(0);
                let mut tmp = Vec::with_capacity(n_out);
                append_resampled(&mut tmp, pcm, dec_rate, rate, n_out);
                let end = (start + tmp.len()).min(max_samples);
                if end > out.samples.len() {
                    out.samples.resize(end, 0);
                }
                if let (Some(dst), Some(src)) = (
                    out.samples.get_mut(start..end),
                    tmp.get(..end.saturating_sub(start)),
                ) {
                    dst.copy_from_slice(src);
                }
            }
            _ => {
                let n = n_out.min(room);
                append_resampled(&mut out.samples, pcm, dec_rate, rate, n);
                out.stats.samples_cut += (n_out - n) as u64;
            }
        }
    }
}

fn position(anchor: Option<Anchor>, ext_ts: i64, rate: u32, here: usize) -> usize {
    match anchor {
        Some((a_ts, a_clock, a_sample, _)) => {
            let p = a_sample + (ext_ts - a_ts) * i64::from(rate) / i64::from(a_clock.max(1));
            usize::try_from(p).unwrap_or(0)
        }
        None => here,
    }
}

fn push_mark(out: &mut DecodedStream, kind: MarkKind) {
    // Bounded: a hostile stream cannot grow the mark list without limit.
    if out.marks.len() < 1_000_000 {
        let sample = out.samples.len();
        out.marks.push(Mark { sample, kind });
    }
}

fn note_no_decoder(out: &mut DecodedStream, e: NoDecoder, frame: u64, payload_type: u8) {
    if !out.no_decoder.contains(&e) {
        out.no_decoder.push(e);
        push_mark(
            out,
            MarkKind::NoDecoder {
                frame,
                payload_type,
            },
        );
    }
}

/// Appends exactly `n` samples made from `pcm` (at `from` Hz) at `to` Hz: a copy when the rates match, else linear
/// interpolation (a payload type switch to another rate mid-stream is rare; quality there is secondary).
pub(crate) fn append_resampled(dst: &mut Vec<i16>, pcm: &[i16], from: u32, to: u32, n: usize) {
    if from == to {
        let take = n.min(pcm.len());
        dst.extend_from_slice(pcm.get(..take).unwrap_or(&[]));
        dst.resize(dst.len() + (n - take), 0);
        return;
    }
    for i in 0..n {
        let pos = i as f64 * f64::from(from) / f64::from(to);
        let i0 = pos.floor() as usize;
        let f = pos - i0 as f64;
        let a = f64::from(pcm.get(i0).copied().unwrap_or(0));
        let b = f64::from(
            pcm.get(i0 + 1)
                .copied()
                .unwrap_or(pcm.get(i0).copied().unwrap_or(0)),
        );
        dst.push((a + (b - a) * f).round() as i16);
    }
}
