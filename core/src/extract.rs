//! Evidence extraction: the original frames of chosen calls (SIP including every TCP segment and IP fragment that
//! carried it, their RTP and RTCP) written to a pcapng file with original timestamps and link types, and a comment
//! naming the source file and its SHA-256. Reads the capture again — or every file of a one-point case, in case
//! order (each packet's comment names its file and frame; each file's SHA-256 is checked and named). May import: `capture`, `case` (its `Source`), `net`,
//! `transport`, `model`, `pipeline`, and the pure parsers `media::demux` and `media::rtp` (leaves that import nothing).
//!
//! Two passes over the read-only capture: the first verifies the file's SHA-256 against the analysis and selects
//! frames into a bit set (one bit per frame: memory is bounded by the frame count, never by packet bytes); the second
//! writes the selected frames, in capture order, to a temporary file beside `out`, which is renamed to `out` at the
//! end. Media is matched the way the media stage recognised it: RTP by (source, destination, SSRC, carrier) between
//! the stream's first and last frame, after IP reassembly (every fragment of a matched datagram is kept) and TURN
//! unwrapping (ChannelData and Send/Data indications over UDP).
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::Endianness;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};

use crate::capture::CaptureFile;
use crate::case::Source;
use crate::media::demux::{self, PayloadClass};
use crate::media::rtp;
use crate::model::{Analysis, FrameNo, MediaCarrier, StreamKind};
use crate::net::defrag::{DefragLimits, DefragOutcome, Defragmenter};
use crate::net::{self, L4, NetOutcome, NetPacket};

/// What an extraction wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Enhanced Packet Blocks written.
    pub frames_written: u64,
    /// Frames of the calls' SIP messages (every TCP segment and IP fragment that carried them).
    pub sip_frames: u64,
    /// Frames carrying the calls' RTP (IP fragments of a datagram included; TURN-wrapped over UDP included).
    pub rtp_frames: u64,
    /// Frames carrying RTCP on the streams' port+1 pairs or multiplexed on the RTP ports.
    pub rtcp_frames: u64,
    /// Frames of the calls' T.38 (UDPTL) streams.
    pub t38_frames: u64,
    /// TCP segments of TURN-over-TCP connections that carried the calls' media (the whole connection between the
    /// stream's first and last frame: the stream is cut from the byte stream, so every segment is kept).
    pub turn_tcp_frames: u64,
    /// Selected frames that could not be written (timestamp before 1970, which pcapng cannot hold): never expected.
    pub frames_not_written: u64,
    /// Interface Description Blocks written: one per (link type, timestamp resolution) used.
    pub interfaces: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Capture(#[from] crate::CaptureError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no call with Call-ID {0:?} in the analysis")]
    NoSuchCall(String),
    #[error("no Call-ID given: nothing to extract to {0}")]
    NoCalls(PathBuf),
    #[error(
        "{path} is not the analysed capture: its SHA-256 is {actual}, the analysis was made from {expected}"
    )]
    NotTheAnalysedCapture {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("the output {0} is the input capture; choose another file")]
    OutputIsInput(PathBuf),
    #[error("extraction to {0} cancelled")]
    Cancelled(PathBuf),
    #[error(
        "the case has {0} capture points: a per-call extract is cut from one point's files (analyse that point's \
         files as a case of their own)"
    )]
    SeveralCapturePoints(usize),
}

/// Settings of an extraction.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Set to true from another thread to stop; the temporary file is removed and `Cancelled` returned.
    pub cancel: Option<Arc<AtomicBool>>,
    /// The keys the analysis decrypted TLS with: the key log lines of the TLS sessions that carried the calls'
    /// SIP go into a Decryption Secrets Block, so the extract opens in Wireshark (and Earshot) without them.
    pub keys: Option<Arc<crate::tls::Keys>>,
}

/// Write the frames of the calls `call_ids` of `analysis` (made from `capture`) to `out` as pcapng.
pub fn write_calls_pcapng(
    capture: &Path,
    analysis: &Analysis,
    call_ids: &[&str],
    out: &Path,
) -> Result<ExtractSummary, ExtractError> {
    write_calls_pcapng_with(
        capture,
        analysis,
        call_ids,
        out,
        &ExtractOptions::default(),
        &mut |_, _| {},
    )
}

/// [`write_calls_pcapng`], keeping the TLS key log lines of the calls' decrypted sessions in the file (a pcapng
/// Decryption Secrets Block) when `keys` is given.
pub fn write_calls_pcapng_keyed(
    capture: &Path,
    analysis: &Analysis,
    call_ids: &[&str],
    out: &Path,
    keys: Option<Arc<crate::tls::Keys>>,
) -> Result<ExtractSummary, ExtractError> {
    write_calls_pcapng_with(
        capture,
        analysis,
        call_ids,
        out,
        &ExtractOptions { cancel: None, keys },
        &mut |_, _| {},
    )
}

/// The key log text (NSS lines) of the TLS sessions that carried the SIP of calls `ids`.
fn calls_key_log(analysis: &Analysis, ids: &BTreeSet<&str>, keys: &crate::tls::Keys) -> String {
    let mut flows: HashSet<(SocketAddr, SocketAddr)> = HashSet::new();
    for c in analysis
        .calls
        .iter()
        .filter(|c| ids.contains(c.call_id.as_str()))
    {
        for m in c.messages.iter().filter_map(|&i| analysis.messages.get(i)) {
            if matches!(
                m.transport,
                crate::model::Transport::Tls | crate::model::Transport::Wss
            ) {
                flows.insert((m.src, m.dst));
            }
        }
    }
    let mut text = String::new();
    // DTLS-SRTP sessions on the calls' media flows.
    let media: HashSet<(SocketAddr, SocketAddr)> = analysis
        .calls
        .iter()
        .filter(|c| ids.contains(c.call_id.as_str()))
        .flat_map(|c| c.streams.iter())
        .filter_map(|&i| analysis.streams.iter().find(|s| s.index == i))
        .filter_map(|s| Some(unordered(s.src?, s.dst?)))
        .collect();
    for d in analysis
        .dtls
        .iter()
        .filter(|d| d.srtp_keys_derived && media.contains(&unordered(d.client, d.server)))
    {
        if let Some(cr) = d.client_random.as_deref() {
            text.push_str(&keys.keylog_text(cr));
        }
    }
    for t in analysis.tls.iter().filter(|t| {
        t.decrypted
            && (flows.contains(&(t.client, t.server)) || flows.contains(&(t.server, t.client)))
    }) {
        if let Some(line) = &t.derived_key_log {
            // Opened with an RSA key or by resumption: the master secret found, as a key log line.
            text.push_str(line);
        } else if let Some(cr) = t.client_random.as_deref() {
            text.push_str(&keys.keylog_text(cr));
        }
    }
    text
}

/// [`write_calls_pcapng`] with a cancel flag, and `progress(bytes_done, bytes_total)` over both passes
/// (`bytes_total` is twice the capture's size).
pub fn write_calls_pcapng_with(
    capture: &Path,
    analysis: &Analysis,
    call_ids: &[&str],
    out: &Path,
    opts: &ExtractOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ExtractSummary, ExtractError> {
    write_calls_pcapng_from(
        &Source::File(capture.to_path_buf()),
        analysis,
        call_ids,
        out,
        opts,
        progress,
    )
}

/// [`write_calls_pcapng_with`] from a capture or a case of one capture point (rotated files: the calls' frames
/// from every file, each packet's comment naming its file and frame, every file's SHA-256 checked against the
/// analysis and named in the section comment).
pub fn write_calls_pcapng_from(
    source: &Source,
    analysis: &Analysis,
    call_ids: &[&str],
    out: &Path,
    opts: &ExtractOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ExtractSummary, ExtractError> {
    let ids: BTreeSet<&str> = call_ids.iter().copied().collect();
    if ids.is_empty() {
        return Err(ExtractError::NoCalls(out.to_path_buf()));
    }
    let inputs = inputs_of(source, analysis)?;
    if inputs.iter().any(|i| same_file(&i.path, out)) {
        return Err(ExtractError::OutputIsInput(out.to_path_buf()));
    }
    let sel = Selection::new(analysis, &ids)?;
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    let sizes: Vec<u64> = inputs
        .iter()
        .map(|i| std::fs::metadata(&i.path).map_or(0, |m| m.len()))
        .collect();
    let total = sizes.iter().sum::<u64>().saturating_mul(2).max(1);

    // Pass 1: hash each file (on its own thread) and select frames.
    let mut picked = Picked::default();
    for &f in &sel.sip_frames {
        picked.insert(f, Kind::Sip);
    }
    // The capture is scanned for media, and for the segments of TLS connections (their handshake) a call used.
    let scan = !(sel.rtp.is_empty() && sel.t38.is_empty() && sel.tls_tcp.is_empty());
    let mut defrag = Defragmenter::new(DefragLimits::default());
    let mut shas = Vec::with_capacity(inputs.len());
    let mut done: u64 = 0;
    for (input, size) in inputs.iter().zip(&sizes) {
        let file = CaptureFile::open(&input.path)?;
        let (ok, sha) = std::thread::scope(|scope| {
            let hasher = scope.spawn(|| file.sha256_hex());
            let ok = if scan {
                select_frames(
                    &file,
                    input,
                    &sel,
                    &mut picked,
                    &mut defrag,
                    &cancelled,
                    &mut |d, t| progress(done + size.saturating_mul(d) / t.max(1), total),
                )
            } else {
                Ok(true)
            };
            (ok, hasher.join().ok())
        });
        if !ok? {
            return Err(ExtractError::Cancelled(out.to_path_buf()));
        }
        // `None`: the hashing thread panicked; hash here instead.
        let sha = sha.unwrap_or_else(|| file.sha256_hex())?;
        if !input.expected_sha256.is_empty() && !input.expected_sha256.eq_ignore_ascii_case(&sha) {
            return Err(ExtractError::NotTheAnalysedCapture {
                path: input.path.clone(),
                expected: input.expected_sha256.clone(),
                actual: sha,
            });
        }
        shas.push(sha);
        done += size;
    }

    // Pass 2: write the selected frames to a temporary file beside `out`, then rename.
    let tmp = temp_path(out);
    let key_log = opts
        .keys
        .as_deref()
        .map(|k| calls_key_log(analysis, &ids, k))
        .unwrap_or_default();
    let result = write_frames(
        &inputs,
        &shas,
        &ids,
        &picked,
        &tmp,
        &key_log,
        &cancelled,
        &mut |d, _| progress(done + d, total),
    );
    match result {
        Ok(Some(summary)) => {
            std::fs::rename(&tmp, out).map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                ExtractError::Write {
                    path: out.to_path_buf(),
                    source,
                }
            })?;
            progress(total, total);
            Ok(summary)
        }
        Ok(None) => {
            let _ = std::fs::remove_file(&tmp);
            Err(ExtractError::Cancelled(out.to_path_buf()))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A pcapng writer over `f` whose section header carries `comment` and names Earshot as the writing application
/// (the per-call extract's and the decrypted view's).
pub(crate) fn evidence_writer(
    f: File,
    comment: String,
) -> Result<PcapNgWriter<BufWriter<File>>, pcap_file::PcapError> {
    let shb = SectionHeaderBlock {
        endianness: Endianness::Little,
        major_version: 1,
        minor_version: 0,
        section_length: -1,
        options: vec![
            SectionHeaderOption::Comment(comment.into()),
            SectionHeaderOption::UserApplication(
                format!("Earshot {}", env!("CARGO_PKG_VERSION")).into(),
            ),
        ],
    };
    PcapNgWriter::with_section_header(BufWriter::with_capacity(1 << 20, f), shb)
}

/// True when both paths name the same existing file.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `.<name>.<pid>.earshot-tmp` beside `out`.
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "extract.pcapng".into());
    out.with_file_name(format!(".{name}.{}.earshot-tmp", std::process::id()))
}

/// Why a frame was picked (the first reason wins; each frame is counted once).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Sip,
    Rtp,
    Rtcp,
    T38,
    TurnTcp,
}

/// What to look for, built from the analysis.
struct Selection {
    sip_frames: Vec<FrameNo>,
    /// (src, dst, ssrc, carrier) → (first frame, last frame) of an RTP stream.
    rtp: HashMap<(SocketAddr, SocketAddr, u32, MediaCarrier), (FrameNo, FrameNo)>,
    /// (src, dst) of a T.38 stream → frame range.
    t38: HashMap<(SocketAddr, SocketAddr), (FrameNo, FrameNo)>,
    /// Unordered TURN-over-TCP connections → frame range.
    turn_tcp: HashMap<(SocketAddr, SocketAddr), (FrameNo, FrameNo)>,
    /// Unordered TLS connections that carried the calls' SIP → from the connection's first frame (its handshake:
    /// without it the records cannot be opened) to the calls' last message on it (TLS sequence numbers need every
    /// record in between, so earlier traffic on that connection comes too, still encrypted).
    tls_tcp: HashMap<(SocketAddr, SocketAddr), (FrameNo, FrameNo)>,
    /// Unordered media flows of the calls' DTLS-SRTP streams: their DTLS handshake datagrams come along (without
    /// them the SRTP keys cannot be exported again from the extract).
    dtls_flows: HashSet<(SocketAddr, SocketAddr)>,
    /// RTCP endpoints: each stream end with port+1, and `a=rtcp` ports from the calls' SDP.
    rtcp_ends: HashSet<SocketAddr>,
    /// Unordered (src, dst) of UDP RTP streams (RTCP multiplexed on the RTP ports, RFC 5761), and of TURN flows
    /// (RTCP inside the same relay).
    rtcp_mux: HashSet<(SocketAddr, SocketAddr, MediaCarrier)>,
    /// Frames between which RTCP is taken: from the calls' first frame to their last (SIP or media)...
    rtcp_window: (FrameNo, FrameNo),
    /// ... and then up to [`RTCP_GRACE_NANOS`] after the time of that last frame.
    last_ts: i64,
}

/// RTCP accepted after a call's last frame: one nominal RTCP interval (RFC 3550 6.2), for the last reports and BYE.
const RTCP_GRACE_NANOS: i64 = 5_000_000_000;

fn unordered(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

fn widen(r: &mut (FrameNo, FrameNo), first: FrameNo, last: FrameNo) {
    r.0 = r.0.min(first);
    r.1 = r.1.max(last);
}

impl Selection {
    fn new(analysis: &Analysis, ids: &BTreeSet<&str>) -> Result<Selection, ExtractError> {
        let mut sel = Selection {
            sip_frames: Vec::new(),
            rtp: HashMap::new(),
            t38: HashMap::new(),
            turn_tcp: HashMap::new(),
            tls_tcp: HashMap::new(),
            dtls_flows: HashSet::new(),
            rtcp_ends: HashSet::new(),
            rtcp_mux: HashSet::new(),
            rtcp_window: (FrameNo::MAX, 0),
            last_ts: i64::MIN,
        };
        for id in ids {
            let Some(call) = analysis.calls.iter().find(|c| c.call_id == *id) else {
                return Err(ExtractError::NoSuchCall((*id).to_string()));
            };
            for &m in &call.messages {
                let Some(rec) = analysis.messages.get(m) else {
                    continue;
                };
                sel.sip_frames.extend(rec.frames.iter().copied());
                sel.sip_frames.push(rec.frame);
                if matches!(
                    rec.transport,
                    crate::model::Transport::Tls | crate::model::Transport::Wss
                ) && let Some(t) = analysis
                    .tls
                    .iter()
                    .find(|t| unordered(t.client, t.server) == unordered(rec.src, rec.dst))
                {
                    let last = rec
                        .frames
                        .last()
                        .copied()
                        .unwrap_or(rec.frame)
                        .max(rec.frame);
                    let r = sel
                        .tls_tcp
                        .entry(unordered(rec.src, rec.dst))
                        .or_insert((t.first_frame, last));
                    widen(r, t.first_frame, last);
                }
                if let (Some(&f), Some(&l)) = (rec.frames.first(), rec.frames.last()) {
                    widen(&mut sel.rtcp_window, f.min(rec.frame), l.max(rec.frame));
                    sel.last_ts = sel.last_ts.max(rec.ts_nanos);
                }
                if let Some(sdp) = &rec.message.sdp {
                    for media in &sdp.media {
                        if let (Some(port), Some(ip)) =
                            (media.rtcp_port, media.connection.or(sdp.connection))
                        {
                            sel.rtcp_ends.insert(SocketAddr::new(ip, port));
                        }
                    }
                }
            }
            for &i in &call.streams {
                let Some(s) = analysis.streams.iter().find(|s| s.index == i) else {
                    continue;
                };
                let (Some(src), Some(dst)) = (s.src, s.dst) else {
                    continue;
                };
                let range = (s.first_frame, s.last_frame);
                widen(&mut sel.rtcp_window, s.first_frame, s.last_frame);
                sel.last_ts = sel.last_ts.max(s.last_ts_nanos);
                if s.kind == StreamKind::T38 {
                    let r = sel.t38.entry((src, dst)).or_insert(range);
                    widen(r, range.0, range.1);
                    continue;
                }
                let r = sel
                    .rtp
                    .entry((src, dst, s.ssrc, s.carrier))
                    .or_insert(range);
                widen(r, range.0, range.1);
                if s.encryption == crate::model::Encryption::DtlsSrtp
                    && s.carrier == MediaCarrier::Udp
                {
                    sel.dtls_flows.insert(unordered(src, dst));
                }
                match s.carrier {
                    MediaCarrier::TurnTcp => {
                        let r = sel.turn_tcp.entry(unordered(src, dst)).or_insert(range);
                        widen(r, range.0, range.1);
                    }
                    MediaCarrier::Udp | MediaCarrier::TurnUdp => {
                        let (a, b) = unordered(src, dst);
                        sel.rtcp_mux.insert((a, b, s.carrier));
                        if s.carrier == MediaCarrier::Udp {
                            for end in [src, dst] {
                                if let Some(p) = end.port().checked_add(1) {
                                    sel.rtcp_ends.insert(SocketAddr::new(end.ip(), p));
                                }
                            }
                        }
                    }
                }
            }
        }
        sel.sip_frames.sort_unstable();
        sel.sip_frames.dedup();
        Ok(sel)
    }

    fn in_rtcp_window(&self, frame: FrameNo, ts: i64) -> bool {
        frame >= self.rtcp_window.0
            && (frame <= self.rtcp_window.1 || ts <= self.last_ts.saturating_add(RTCP_GRACE_NANOS))
    }

    /// Classifies one UDP datagram (carried by `frame`, whose number the media stage used).
    fn udp(
        &self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Option<Kind> {
        let in_range = |r: &(FrameNo, FrameNo)| (r.0..=r.1).contains(&frame);
        if !self.t38.is_empty() && self.t38.get(&(src, dst)).is_some_and(in_range) {
            return Some(Kind::T38);
        }
        match demux::classify(payload) {
            PayloadClass::Dtls if self.dtls_flows.contains(&unordered(src, dst)) => Some(Kind::Rtp),
            PayloadClass::Rtp => self.rtp(frame, src, dst, payload, MediaCarrier::Udp),
            PayloadClass::Rtcp => self.rtcp(frame, ts, src, dst, MediaCarrier::Udp),
            PayloadClass::TurnChannel => {
                let cd = demux::parse_channel_data(payload)?;
                self.inner(frame, ts, src, dst, cd.data)
            }
            PayloadClass::Stun => {
                let m = demux::parse_stun(payload).ok()?;
                self.inner(frame, ts, src, dst, m.data?)
            }
            _ => {
                // A damaged RTCP packet on an RTP endpoint is still counted by the media stage as RTCP.
                let looks_rtcp = payload.first().is_some_and(|b| b >> 6 == 2)
                    && payload.get(1).is_some_and(|b| (192..=223).contains(b));
                if looks_rtcp {
                    self.rtcp(frame, ts, src, dst, MediaCarrier::Udp)
                } else {
                    None
                }
            }
        }
    }

    /// A payload unwrapped from TURN over UDP.
    fn inner(
        &self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
    ) -> Option<Kind> {
        match demux::classify(data) {
            PayloadClass::Rtp => self.rtp(frame, src, dst, data, MediaCarrier::TurnUdp),
            PayloadClass::Rtcp => self.rtcp(frame, ts, src, dst, MediaCarrier::TurnUdp),
            _ => None,
        }
    }

    fn rtp(
        &self,
        frame: FrameNo,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
        carrier: MediaCarrier,
    ) -> Option<Kind> {
        let h = rtp::parse_rtp(data).ok()?;
        let r = self.rtp.get(&(src, dst, h.ssrc, carrier))?;
        (r.0..=r.1).contains(&frame).then_some(Kind::Rtp)
    }

    fn rtcp(
        &self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        carrier: MediaCarrier,
    ) -> Option<Kind> {
        if !self.in_rtcp_window(frame, ts) {
            return None;
        }
        let (a, b) = unordered(src, dst);
        let pair = carrier == MediaCarrier::Udp
            && self.rtcp_ends.contains(&src)
            && self.rtcp_ends.contains(&dst);
        (pair || self.rtcp_mux.contains(&(a, b, carrier))).then_some(Kind::Rtcp)
    }

    fn tcp(&self, frame: FrameNo, src: SocketAddr, dst: SocketAddr) -> Option<Kind> {
        if self.turn_tcp.is_empty() && self.tls_tcp.is_empty() {
            return None;
        }
        let key = unordered(src, dst);
        if let Some(r) = self.tls_tcp.get(&key)
            && (r.0..=r.1).contains(&frame)
        {
            return Some(Kind::Sip);
        }
        let r = self.turn_tcp.get(&key)?;
        (r.0..=r.1).contains(&frame).then_some(Kind::TurnTcp)
    }
}

/// One bit per frame number, with the count of each kind (a frame is counted under its first kind).
#[derive(Default)]
struct Picked {
    /// One bit per frame, per case file (file 0 for a capture alone): frame numbers name (file, frame).
    bits: HashMap<u32, Vec<u64>>,
    counts: [u64; 5],
    total: u64,
}

impl Picked {
    fn insert(&mut self, frame: FrameNo, kind: Kind) {
        let (file, n) = crate::model::split_frame(frame);
        let Ok(word) = usize::try_from(n / 64) else {
            return;
        };
        let bits = self.bits.entry(file).or_default();
        if word >= bits.len() {
            bits.resize(word + 1, 0);
        }
        let Some(w) = bits.get_mut(word) else {
            return;
        };
        let bit = 1u64 << (n % 64);
        if *w & bit == 0 {
            *w |= bit;
            self.total += 1;
            if let Some(c) = self.counts.get_mut(kind as usize) {
                *c += 1;
            }
        }
    }

    fn contains(&self, frame: FrameNo) -> bool {
        let (file, n) = crate::model::split_frame(frame);
        usize::try_from(n / 64)
            .ok()
            .and_then(|w| self.bits.get(&file)?.get(w))
            .is_some_and(|w| w & (1u64 << (n % 64)) != 0)
    }
}

/// One file to read: the capture alone (file 0), or a file of a case with its number and clock correction, and
/// the SHA-256 the analysis recorded for it.
struct Input {
    number: u32,
    path: PathBuf,
    offset_nanos: i64,
    expected_sha256: String,
}

/// The files an extraction reads: the capture, or every analysed file of a one-point case in case order.
fn inputs_of(source: &Source, analysis: &Analysis) -> Result<Vec<Input>, ExtractError> {
    match source {
        Source::File(p) => Ok(vec![Input {
            number: 0,
            path: p.clone(),
            offset_nanos: 0,
            expected_sha256: analysis.capture.sha256.clone(),
        }]),
        Source::Case { plan, .. } => {
            let analysed: Vec<_> = plan
                .files
                .iter()
                .filter(|f| f.status == crate::model::CaseFileStatus::Analysed)
                .collect();
            let mut points: Vec<usize> = analysed.iter().map(|f| f.point).collect();
            points.sort_unstable();
            points.dedup();
            if points.len() > 1 {
                return Err(ExtractError::SeveralCapturePoints(points.len()));
            }
            Ok(analysed
                .iter()
                .map(|f| Input {
                    number: f.number,
                    path: f.path.clone(),
                    offset_nanos: f.offset_nanos,
                    expected_sha256: analysis
                        .case
                        .as_ref()
                        .and_then(|c| c.files.iter().find(|x| x.number == f.number))
                        .map(|x| x.sha256.clone())
                        .unwrap_or_default(),
                })
                .collect())
        }
    }
}

/// Pass 1 over one input: its frames that belong to the calls go into `picked` (`defrag` carries datagrams cut
/// between files). `Ok(false)` when cancelled.
#[allow(clippy::too_many_arguments)]
fn select_frames(
    file: &CaptureFile,
    input: &Input,
    sel: &Selection,
    picked: &mut Picked,
    defrag: &mut Defragmenter,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<bool, ExtractError> {
    let mut reader = file.frames()?;
    reader.set_case_file(input.number, input.offset_nanos);
    let total = reader.total();
    let mut diags = Vec::new();
    let mut n: u64 = 0;
    while let Some(frame) = reader.next_frame() {
        n += 1;
        if n.is_multiple_of(16384) {
            progress(reader.offset(), total);
            if cancelled() {
                return Ok(false);
            }
        }
        // Reading and reassembly problems are the analysis's diagnostics already; they are not repeated here.
        diags.clear();
        reader.diagnostics.clear();
        if let NetOutcome::Packet(p) = net::decode_frame(frame.link_type, &frame.data) {
            visit(
                sel,
                picked,
                defrag,
                &mut diags,
                frame.number,
                frame.ts_nanos,
                p,
                None,
                0,
            );
        }
    }
    progress(reader.offset(), total);
    Ok(true)
}

/// Matches one IP packet (recursing into reassembled datagrams as the pipeline does).
#[allow(clippy::too_many_arguments)]
fn visit(
    sel: &Selection,
    picked: &mut Picked,
    defrag: &mut Defragmenter,
    diags: &mut Vec<crate::model::Diagnostic>,
    frame: FrameNo,
    ts: i64,
    p: NetPacket<'_>,
    fragments: Option<&[FrameNo]>,
    depth: u8,
) {
    let NetPacket {
        encapsulation,
        src,
        dst,
        l4,
    } = p;
    let mark = |picked: &mut Picked, kind: Kind| match fragments {
        Some(frames) => frames.iter().for_each(|&f| picked.insert(f, kind)),
        None => picked.insert(frame, kind),
    };
    match l4 {
        L4::Udp {
            src_port,
            dst_port,
            payload,
        } => {
            let (s, d) = (
                SocketAddr::new(src, src_port),
                SocketAddr::new(dst, dst_port),
            );
            if let Some(kind) = sel.udp(frame, ts, s, d, &payload) {
                mark(picked, kind);
            }
        }
        L4::Tcp(seg) => {
            let (s, d) = (
                SocketAddr::new(src, seg.src_port),
                SocketAddr::new(dst, seg.dst_port),
            );
            if let Some(kind) = sel.tcp(frame, s, d) {
                mark(picked, kind);
            }
        }
        L4::Fragment(f) => {
            if let DefragOutcome::Complete(r) = defrag.push(frame, ts, src, dst, &f, diags)
                && depth < 4
                && let NetOutcome::Packet(inner) =
                    net::decode_ip_payload(encapsulation, src, dst, r.protocol, &r.payload)
            {
                visit(
                    sel,
                    picked,
                    defrag,
                    diags,
                    frame,
                    ts,
                    inner,
                    Some(&r.frames),
                    depth + 1,
                );
            }
        }
        L4::Sctp { .. } | L4::Other { .. } => {}
    }
}

/// Pass 2: the pcapng file. `Ok(None)` when cancelled.
#[allow(clippy::too_many_arguments)]
fn write_frames(
    inputs: &[Input],
    shas: &[String],
    ids: &BTreeSet<&str>,
    picked: &Picked,
    tmp: &Path,
    key_log: &str,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<ExtractSummary>, ExtractError> {
    let werr = |source: std::io::Error| ExtractError::Write {
        path: tmp.to_path_buf(),
        source,
    };
    let perr = |e: pcap_file::PcapError| ExtractError::Write {
        path: tmp.to_path_buf(),
        source: match e {
            pcap_file::PcapError::IoError(io) => io,
            other => std::io::Error::other(other.to_string()),
        },
    };
    let f = File::options()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(werr)?;
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let [sip, rtp, rtcp, t38, turn_tcp] = picked.counts;
    let source = match (inputs, shas) {
        ([one], [sha]) if one.number == 0 => format!("{:?} (SHA-256 {sha})", name_of(&one.path)),
        _ => format!(
            "a case of {} files ({})",
            inputs.len(),
            inputs
                .iter()
                .zip(shas)
                .map(|(i, sha)| format!("file {} {:?} SHA-256 {sha}", i.number, name_of(&i.path)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let mut comment = format!(
        "Earshot per-call extract of {source}: {} frames ({sip} SIP, {rtp} RTP, {rtcp} RTCP, \
         {t38} T.38, {turn_tcp} TURN/TCP) in original order with original timestamps; each packet's comment gives \
         its frame number in the source. Call-IDs:",
        picked.total
    );
    for id in ids {
        // Debug formatting escapes quotes and control characters: a Call-ID cannot forge lines in a reader.
        comment.push_str(&format!(" {id:?}"));
    }
    let mut writer = evidence_writer(f, comment).map_err(perr)?;
    if !key_log.is_empty() {
        // Decryption Secrets Block (pcapng §4.7): secrets type TLSK, length, the key log, padding.
        let mut body = Vec::with_capacity(key_log.len() + 12);
        body.extend_from_slice(&0x544c_534bu32.to_le_bytes());
        body.extend_from_slice(&(key_log.len() as u32).to_le_bytes());
        body.extend_from_slice(key_log.as_bytes());
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        writer
            .write_block(&pcap_file::pcapng::Block::Unknown(
                pcap_file::pcapng::blocks::unknown::UnknownBlock::new(0x0000_000a, len, &body),
            ))
            .map_err(perr)?;
    }
    let mut summary = ExtractSummary {
        sip_frames: sip,
        rtp_frames: rtp,
        rtcp_frames: rtcp,
        t38_frames: t38,
        turn_tcp_frames: turn_tcp,
        ..ExtractSummary::default()
    };
    let mut interfaces: HashMap<(u32, u8), u32> = HashMap::new();
    let mut remaining = picked.total;
    let mut base: u64 = 0;
    for input in inputs {
        if remaining == 0 {
            break;
        }
        let file = CaptureFile::open(&input.path)?;
        let mut reader = file.frames()?;
        reader.set_case_file(input.number, input.offset_nanos);
        let mut n: u64 = 0;
        while remaining > 0
            && let Some(frame) = reader.next_frame()
        {
            n += 1;
            if n.is_multiple_of(16384) {
                progress(base.saturating_add(reader.offset()), 0);
                if cancelled() {
                    return Ok(None);
                }
            }
            reader.diagnostics.clear();
            if !picked.contains(frame.number) {
                continue;
            }
            remaining -= 1;
            let digits = reader.interface_ts_digits(frame.interface);
            // The file's own time (a clock correction set for the analysis is not written into evidence).
            let Ok(ts) = u64::try_from(frame.ts_nanos.saturating_sub(input.offset_nanos)) else {
                summary.frames_not_written += 1;
                continue;
            };
            let ticks = if digits == 9 { ts } else { ts / 1000 };
            let next_id = u32::try_from(interfaces.len()).unwrap_or(u32::MAX);
            let id = match interfaces.get(&(frame.link_type, digits)) {
                Some(&id) => id,
                None => {
                    let idb = InterfaceDescriptionBlock {
                        linktype: DataLink::from(frame.link_type),
                        snaplen: 0,
                        options: vec![
                            InterfaceDescriptionOption::IfDescription(
                                format!(
                                    "frames of link type {} ({}) at 10^-{digits} s resolution from the source capture",
                                    frame.link_type,
                                    net::link_type_name(frame.link_type)
                                )
                                .into(),
                            ),
                            InterfaceDescriptionOption::IfTsResol(digits),
                        ],
                    };
                    writer.write_pcapng_block(idb).map_err(perr)?;
                    interfaces.insert((frame.link_type, digits), next_id);
                    next_id
                }
            };
            let source = match crate::model::split_frame(frame.number) {
                (0, f) => format!("source frame {f}"),
                (file, f) => format!("source file {file} {:?} frame {f}", name_of(&input.path)),
            };
            let epb = EnhancedPacketBlock {
                interface_id: id,
                // pcap-file writes the Duration's nanoseconds as the raw tick count of the interface's resolution.
                timestamp: Duration::from_nanos(ticks),
                original_len: frame.orig_len,
                data: frame.data.clone(),
                options: vec![EnhancedPacketOption::Comment(source.into())],
            };
            writer.write_pcapng_block(epb).map_err(perr)?;
            summary.frames_written += 1;
        }
        base = base.saturating_add(file.file_size);
    }
    summary.frames_not_written += remaining;
    summary.interfaces = interfaces.len() as u64;
    let mut buf = writer.into_inner();
    buf.flush().map_err(werr)?;
    let f = buf.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(Some(summary))
}
