//! The pipeline: drives capture → net → defrag → transport → sip → calls and assembles the [`Analysis`].
//!
//! Parallel design: frames are read sequentially (cheap: slicing a memory map) into batches; each batch is decoded
//! in parallel with rayon (link layer, tunnels, IP, UDP/TCP headers, and SIP parsing of UDP payloads — the costly
//! part); results come back in frame order (`par_iter().map().collect()` keeps order) and are merged sequentially
//! by frame number through the stateful stages (defragmentation, TCP/SCTP reassembly, retransmission detection,
//! dialogs). Same input → same output, whatever the thread count. [`Analyzer`] is the incremental form (feed
//! frames, read a snapshot) used for live capture and for showing calls while a file loads.
//! May import every lower stage and `model`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::calls::{CallLimits, CallTracker};
use crate::capture::{CaptureFile, RawFrame};
use crate::error::CaptureError;
use crate::media::tracker::{
    Classified, MediaLimits, MediaTracker, RtpTap, SeriesOut, t38_outcome,
};
use crate::model::ANALYSIS_LIMITED_PREFIX as LIMITED_PREFIX;
use crate::model::{
    Analysis, CapHit, CaptureInfo, Counters, DiagLevel, Diagnostic, Encapsulation, FrameNo, Layer,
    MessageRecord, PacketMeta, Protocol, SCHEMA_VERSION, SipMessage, StreamKind, Summary, ToolInfo,
    Transport, UNPARSED_EXCERPT_BYTES, UnparsedSip,
};
use crate::net::defrag::{DefragLimits, DefragOutcome, Defragmenter};
use crate::net::{self, L4, NetOutcome, NetPacket};
use crate::sip::{self, SipError, SipLimits};
use crate::transport::sctp::SctpReassembler;
use crate::transport::tcp::{TcpLimits, TcpReassembler};
use crate::transport::{self, AppMessage};

/// Every cap that bounds memory, in one place (documented in ARCHITECTURE.md).
#[derive(Debug, Clone)]
pub struct Limits {
    pub defrag: DefragLimits,
    pub tcp: TcpLimits,
    pub sip: SipLimits,
    pub calls: CallLimits,
    pub media: MediaLimits,
    /// Records and transactions of the other signalling protocols (MGCP, MEGACO).
    pub signal: crate::signal::SignalLimits,
    /// Diagnostics stored; further ones are counted in `diagnostics_dropped`.
    pub max_diagnostics: usize,
    /// SIP messages stored with their parsed fields; further ones are counted but not stored.
    pub max_messages: usize,
    /// Estimated memory of the stored SIP messages ([`message_cost`]); past it, further ones are counted but not
    /// stored (a flood of small messages reaches this long before `max_messages`).
    pub max_message_bytes: usize,
    /// Unparseable SIP messages kept raw; further ones are counted in `sip_parse_failures`.
    pub max_unparsed_sip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            defrag: DefragLimits::default(),
            tcp: TcpLimits::default(),
            sip: SipLimits::default(),
            calls: CallLimits::default(),
            media: MediaLimits::default(),
            signal: crate::signal::SignalLimits::default(),
            max_diagnostics: 10_000,
            max_messages: 5_000_000,
            max_message_bytes: 2 * 1024 * 1024 * 1024,
            max_unparsed_sip: 10_000,
        }
    }
}

/// Settings of one analysis run.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Worker threads for the parallel stage; `None` = one per core.
    pub threads: Option<usize>,
    /// Frames decoded per parallel batch.
    pub batch_frames: usize,
    pub limits: Limits,
    /// Set to true from another thread to stop; `analyze_file` then returns [`CaptureError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Thresholds and lists of the findings rules.
    pub rules: crate::findings::Settings,
    /// Called with a snapshot of the analysis so far at most this often while a file loads (for views that show
    /// calls before loading ends). Runs on the analysing thread.
    pub snapshots: Option<SnapshotSink>,
    /// Compute the SHA-256 of the capture (on its own thread, during the same pass). Off only for quick triage:
    /// `capture.sha256` is then empty, and evidence exports that check it cannot.
    pub hash_capture: bool,
    /// Keys to decrypt TLS with (key log files, RSA server keys), read by the caller with [`crate::tls::Keys`];
    /// key logs in the capture's pcapng Decryption Secrets Blocks are added to them automatically.
    pub keys: Option<Arc<crate::tls::Keys>>,
    /// The analyst's decisions on proposed leg links: (Call-ID, Call-ID, confirmed), applied after linking
    /// (`calls::legs::apply_decisions`), so reports record them.
    pub leg_decisions: Vec<(String, String, bool)>,
    /// STIR/SHAKEN: the investigator's certificate folder and trust anchors, read by the caller with
    /// [`crate::identity::CertStore::load`]; without them Identity tokens are still decoded and their claims checked.
    pub identity: Option<Arc<crate::identity::CertStore>>,
}

/// Where progressive snapshots go, and how often.
#[derive(Clone)]
pub struct SnapshotSink {
    pub every: std::time::Duration,
    pub sink: Arc<dyn Fn(Analysis) + Send + Sync>,
}

impl std::fmt::Debug for SnapshotSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SnapshotSink(every {:?})", self.every)
    }
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            threads: None,
            batch_frames: 4096,
            limits: Limits::default(),
            cancel: None,
            rules: crate::findings::Settings::default(),
            snapshots: None,
            hash_capture: true,
            keys: None,
            identity: None,
            leg_decisions: Vec::new(),
        }
    }
}

/// Progress of a file analysis, reported after each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub frames: u64,
    pub sip_messages: u64,
    pub calls: u64,
}

/// What the parallel stage produces for one frame.
struct Decoded<'a> {
    outcome: NetOutcome<'a>,
    /// What the parallel stage made of the UDP payload, if any.
    udp: UdpPre,
}

/// The parallel stage's work on a UDP payload, so the sequential merge neither parses nor (for media) reads it.
enum UdpPre {
    /// Not a UDP packet, or not looked at (decoded in the merge).
    None,
    /// SIP parsed from a payload that starts like SIP. Boxed: a parsed message is large, and every frame's
    /// `Decoded` is moved through the merge (unboxed, those moves were a tenth of the run time).
    Sip(Box<Result<SipMessage, SipError>>),
    /// Not SIP: its media class (and RTP header), the one classification the media route uses.
    Media(Classified),
}

fn decode_borrowed<'a>(frame: &'a RawFrame<'_>, sip_limits: &SipLimits) -> Decoded<'a> {
    decode_data(frame.link_type, &frame.data, sip_limits)
}

/// Decodes a frame whose bytes borrow from the capture itself (not from the `RawFrame`), so the result can
/// outlive the batch vector that held the frame; `None` for frames that own their bytes (decoded in the merge).
fn decode_detached<'a>(frame: &RawFrame<'a>, sip_limits: &SipLimits) -> Option<Decoded<'a>> {
    match frame.data {
        std::borrow::Cow::Borrowed(data) => Some(decode_data(frame.link_type, data, sip_limits)),
        std::borrow::Cow::Owned(_) => None,
    }
}

fn decode_data<'a>(link_type: u32, data: &'a [u8], sip_limits: &SipLimits) -> Decoded<'a> {
    let outcome = net::decode_frame(link_type, data);
    let udp = match &outcome {
        NetOutcome::Packet(NetPacket {
            l4: L4::Udp { payload, .. },
            ..
        }) => {
            if transport::starts_like_sip(payload) {
                UdpPre::Sip(Box::new(sip::parse_message(payload, sip_limits)))
            } else {
                UdpPre::Media(Classified::of(payload))
            }
        }
        _ => UdpPre::None,
    };
    Decoded { outcome, udp }
}

/// The incremental analyzer: feed frames in capture order, read the analysis at any time.
pub struct Analyzer {
    opts: AnalyzeOptions,
    pool: Option<rayon::ThreadPool>,
    counters: Counters,
    defrag: Defragmenter,
    tcp: TcpReassembler,
    sctp: SctpReassembler,
    calls: CallTracker,
    media: MediaTracker,
    /// MGCP and MEGACO messages.
    signals: crate::signal::SignalTracker,
    messages: Vec<MessageRecord>,
    unparsed_sip: Vec<UnparsedSip>,
    messages_not_stored: u64,
    sip_total: u64,
    retransmissions: u64,
    diagnostics: Vec<Diagnostic>,
    diagnostics_dropped: u64,
    link_types: BTreeSet<u32>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    truncated_frames: u64,
    app_buf: Vec<AppMessage>,
    /// One bit per port in `opts.rules.management_ports`.
    notable_ports: Vec<u64>,
    services: std::collections::HashMap<(SocketAddr, bool), crate::model::ServiceContact>,
    /// Packets to or from a notable port not recorded because the services table was full.
    services_dropped: u64,
    /// SIP messages cut by the header caps (`SipLimits`).
    sip_messages_cut: u64,
    /// [`message_cost`] of the stored messages.
    message_bytes: usize,
    /// Unparseable SIP messages counted but not kept (`max_unparsed_sip`).
    unparsed_not_stored: u64,
    /// The keys in use: the caller's, plus key logs found in the capture.
    keys: Arc<crate::tls::Keys>,
    /// DTLS associations on UDP (DTLS-SRTP).
    dtls: crate::tls::dtls::DtlsTracker,
    /// Caps reported when first reached (with the frame that reached them), besides those counted at the end.
    cap_notes: Vec<CapHit>,
}

/// Estimated memory one stored message costs over the whole analysis: the record, the text it was parsed from
/// (kept about three times: header strings, parsed fields, the Call-ID in the call tables), the allocations of each
/// header and list entry, and its share of the call and retransmission tables. Calibrated against the peak RSS of
/// `adversarial.rs`'s Call-ID flood (THREAT_MODEL.md); an estimate, not an allocator count.
pub fn message_cost(rec: &MessageRecord) -> usize {
    let m = &rec.message;
    let entries = m.headers.len() + m.via.len() + m.contact.len() + m.warnings.len() + m.auth.len();
    std::mem::size_of::<MessageRecord>()
        .saturating_add(rec.size.saturating_mul(3))
        .saturating_add(entries.saturating_mul(200))
        .saturating_add(rec.frames.len().saturating_mul(8))
        .saturating_add(1024)
}

/// Entries of the services table (notable-port contacts).
const MAX_SERVICES: usize = 10_000;

impl Analyzer {
    pub fn new(opts: AnalyzeOptions) -> Self {
        let opts_ports: Vec<u16> = opts.rules.management_ports.keys().copied().collect();
        let pool = opts.threads.and_then(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .thread_name(|i| format!("earshot-decode-{i}"))
                .build()
                .ok()
        });
        let keys = opts.keys.clone().unwrap_or_default();
        let mut tcp = TcpReassembler::new(opts.limits.tcp.clone());
        tcp.set_keys(keys.clone());
        Analyzer {
            keys,
            dtls: crate::tls::dtls::DtlsTracker::new(),
            cap_notes: Vec::new(),
            defrag: Defragmenter::new(opts.limits.defrag.clone()),
            tcp,
            sctp: SctpReassembler::default(),
            calls: CallTracker::new(opts.limits.calls.clone()),
            media: MediaTracker::new(opts.limits.media.clone()),
            signals: crate::signal::SignalTracker::new(opts.limits.signal.clone()),
            opts,
            pool,
            counters: Counters::default(),
            messages: Vec::new(),
            unparsed_sip: Vec::new(),
            messages_not_stored: 0,
            sip_total: 0,
            retransmissions: 0,
            diagnostics: Vec::new(),
            diagnostics_dropped: 0,
            link_types: BTreeSet::new(),
            first_ts: None,
            last_ts: None,
            truncated_frames: 0,
            app_buf: Vec::new(),
            notable_ports: {
                let mut bits = vec![0u64; 1024];
                for &p in opts_ports.iter() {
                    if let Some(w) = bits.get_mut(usize::from(p) / 64) {
                        *w |= 1 << (p % 64);
                    }
                }
                bits
            },
            services: std::collections::HashMap::new(),
            services_dropped: 0,
            sip_messages_cut: 0,
            message_bytes: 0,
            unparsed_not_stored: 0,
        }
    }

    fn notable(&self, port: u16) -> bool {
        self.notable_ports
            .get(usize::from(port) / 64)
            .is_some_and(|w| w & (1 << (port % 64)) != 0)
    }

    /// A packet between `src` and `dst`: counted when one side is on a notable port (bounded table).
    fn note_service(
        &mut self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        tcp: bool,
    ) {
        let (server, client) = if self.notable(dst.port()) {
            (dst, src)
        } else if self.notable(src.port()) {
            (src, dst)
        } else {
            return;
        };
        let key = (server, tcp);
        if !self.services.contains_key(&key) && self.services.len() >= MAX_SERVICES {
            self.services_dropped += 1;
            return;
        }
        let name = self
            .opts
            .rules
            .management_ports
            .get(&server.port())
            .cloned()
            .unwrap_or_default();
        let e = self
            .services
            .entry(key)
            .or_insert_with(|| crate::model::ServiceContact {
                server,
                transport: if tcp { "tcp" } else { "udp" }.into(),
                service: name,
                clients: Vec::new(),
                packets: 0,
                first_frame: frame,
                last_frame: frame,
                first_ts_nanos: ts,
                last_ts_nanos: ts,
            });
        e.packets += 1;
        e.last_frame = frame;
        e.last_ts_nanos = ts;
        if e.clients.len() < 100 && !e.clients.contains(&client.ip()) {
            e.clients.push(client.ip());
        }
    }

    /// Feed a batch of frames (in capture order). Decoding runs in parallel; merging is sequential.
    pub fn push_frames(&mut self, frames: &[RawFrame<'_>]) {
        let sip_limits = self.opts.limits.sip.clone();
        let run = || -> Vec<Decoded<'_>> {
            frames
                .par_iter()
                .with_min_len(64)
                .map(|f| decode_borrowed(f, &sip_limits))
                .collect()
        };
        let decoded = match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        };
        self.merge_batch(frames, decoded);
    }

    /// Merges a decoded batch in frame order, then does its per-stream metrics in parallel across streams (work
    /// idle workers can steal).
    fn merge_batch<'d>(
        &mut self,
        frames: &[RawFrame<'_>],
        decoded: impl IntoIterator<Item = Decoded<'d>>,
    ) {
        for (frame, d) in frames.iter().zip(decoded) {
            self.merge(frame, d);
        }
        self.media.flush();
    }

    /// Feed one frame (live capture).
    pub fn push_frame(&mut self, frame: &RawFrame<'_>) {
        let d = decode_borrowed(frame, &self.opts.limits.sip);
        self.merge(frame, d);
        self.media.flush();
    }

    /// A TLS key log found in the capture (a pcapng Decryption Secrets Block): used for every later record.
    pub fn add_capture_secrets(&mut self, block: usize, text: &[u8]) {
        let keys = Arc::make_mut(&mut self.keys);
        keys.add_keylog(
            "pcapng-dsb",
            &format!("pcapng secrets block {block}"),
            text,
            false,
        );
        self.tcp.set_keys(self.keys.clone());
    }

    /// Add diagnostics (from the stages, or found outside the analyzer, e.g. by the capture reader).
    pub fn add_diagnostics(&mut self, diags: impl IntoIterator<Item = Diagnostic>) {
        for d in diags {
            self.diag(d);
        }
    }

    fn diag(&mut self, d: Diagnostic) {
        if self.diagnostics.len() < self.opts.limits.max_diagnostics {
            self.diagnostics.push(d);
        } else {
            self.diagnostics_dropped += 1;
        }
    }

    /// Keep the packets of the streams `tap` asks for (audio re-reads); [`Analyzer::take_tap`] returns them.
    pub(crate) fn set_tap(&mut self, tap: RtpTap) {
        self.media.tap = Some(tap);
    }

    pub(crate) fn take_tap(&mut self) -> RtpTap {
        self.media.tap.take().unwrap_or_default()
    }

    pub fn frames_seen(&self) -> u64 {
        self.counters.frames
    }

    pub fn sip_messages_seen(&self) -> u64 {
        self.sip_total
    }

    pub fn calls_seen(&self) -> usize {
        self.calls.len()
    }

    fn merge(&mut self, frame: &RawFrame<'_>, d: Decoded<'_>) {
        if self.counters.frames == 0 {
            self.media.set_epoch(frame.ts_nanos);
        }
        self.counters.frames += 1;
        self.counters.bytes += frame.data.len() as u64;
        if (frame.data.len() as u64) < u64::from(frame.orig_len) {
            self.truncated_frames += 1;
        }
        self.link_types.insert(frame.link_type);
        self.first_ts = Some(
            self.first_ts
                .map_or(frame.ts_nanos, |t| t.min(frame.ts_nanos)),
        );
        self.last_ts = Some(
            self.last_ts
                .map_or(frame.ts_nanos, |t| t.max(frame.ts_nanos)),
        );
        match d.outcome {
            NetOutcome::NotIp(_) => self.counters.non_ip_frames += 1,
            NetOutcome::Malformed(m) => {
                self.counters.malformed_frames += 1;
                let cut = if (frame.data.len() as u64) < u64::from(frame.orig_len) {
                    " (frame was cut by the capture's snapshot length)"
                } else {
                    ""
                };
                self.diag(Diagnostic::new(
                    Some(frame.number),
                    Layer::Link,
                    DiagLevel::Warning,
                    format!("{m}{cut}"),
                ));
            }
            NetOutcome::Packet(p) => {
                self.handle_packet(frame.number, frame.ts_nanos, p, d.udp, None, 0);
                let media_diags = self.media.take_diagnostics();
                self.add_diagnostics(media_diags);
            }
        }
    }

    fn handle_packet(
        &mut self,
        frame_no: FrameNo,
        ts: i64,
        p: NetPacket<'_>,
        pre: UdpPre,
        frames: Option<Vec<FrameNo>>,
        depth: u8,
    ) {
        let NetPacket {
            encapsulation,
            src,
            dst,
            l4,
        } = p;
        let meta = |src: SocketAddr, dst: SocketAddr| PacketMeta {
            frame: frame_no,
            ts_nanos: ts,
            src,
            dst,
        };
        match l4 {
            L4::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                self.counters.udp_packets += 1;
                self.note_service(
                    frame_no,
                    ts,
                    SocketAddr::new(src, src_port),
                    SocketAddr::new(dst, dst_port),
                    false,
                );
                let (parsed, media_pre) = match pre {
                    UdpPre::Sip(r) => (Some(*r), None),
                    UdpPre::Media(m) => (None, Some(m)),
                    UdpPre::None if transport::starts_like_sip(&payload) => (
                        Some(sip::parse_message(&payload, &self.opts.limits.sip)),
                        None,
                    ),
                    UdpPre::None => (None, None),
                };
                if let Some(parsed) = parsed {
                    let s = SocketAddr::new(src, src_port);
                    let d = SocketAddr::new(dst, dst_port);
                    let frames = frames.unwrap_or_else(|| vec![frame_no]);
                    self.record_sip(
                        meta(s, d),
                        frames,
                        Transport::Udp,
                        encapsulation,
                        parsed,
                        &payload,
                    );
                } else if let Some(protocol) =
                    crate::signal::sniff_udp(src_port, dst_port, &payload)
                {
                    let m = meta(
                        SocketAddr::new(src, src_port),
                        SocketAddr::new(dst, dst_port),
                    );
                    self.record_signal(protocol, m, Transport::Udp, &payload);
                } else {
                    let s = SocketAddr::new(src, src_port);
                    let d = SocketAddr::new(dst, dst_port);
                    if crate::media::demux::dtls_content_type(&payload).is_some() {
                        self.dtls.push(frame_no, s, d, &payload);
                    }
                    // Classified here only when the parallel stage did not see the payload (reassembled
                    // datagrams, frames that own their bytes).
                    let class = media_pre.unwrap_or_else(|| Classified::of(&payload));
                    self.media.on_udp(frame_no, ts, s, d, &payload, class);
                }
            }
            L4::Tcp(seg) => {
                self.counters.tcp_segments += 1;
                let s = SocketAddr::new(src, seg.src_port);
                let d = SocketAddr::new(dst, seg.dst_port);
                self.note_service(frame_no, ts, s, d, true);
                let mut out = std::mem::take(&mut self.app_buf);
                let mut diags = Vec::new();
                self.tcp.push(meta(s, d), &seg, &mut out, &mut diags);
                self.add_diagnostics(diags);
                self.emit_app_messages(&mut out, &encapsulation);
                self.app_buf = out;
            }
            L4::Sctp {
                src_port,
                dst_port,
                chunks,
            } => {
                self.counters.sctp_packets += 1;
                let s = SocketAddr::new(src, src_port);
                let d = SocketAddr::new(dst, dst_port);
                let mut out = std::mem::take(&mut self.app_buf);
                let mut diags = Vec::new();
                self.sctp.push(meta(s, d), &chunks, &mut out, &mut diags);
                self.add_diagnostics(diags);
                self.emit_app_messages(&mut out, &encapsulation);
                self.app_buf = out;
            }
            L4::Fragment(f) => {
                self.counters.ip_fragments += 1;
                let mut diags = Vec::new();
                let outcome = self.defrag.push(frame_no, ts, src, dst, &f, &mut diags);
                self.add_diagnostics(diags);
                if let DefragOutcome::Complete(r) = outcome {
                    self.counters.reassembled_datagrams += 1;
                    if depth >= 4 {
                        self.diag(Diagnostic::new(
                            Some(frame_no),
                            Layer::Defrag,
                            DiagLevel::Warning,
                            "fragments nested more than 4 levels deep; inner datagram skipped",
                        ));
                        return;
                    }
                    match net::decode_ip_payload(encapsulation, src, dst, r.protocol, &r.payload) {
                        NetOutcome::Packet(inner) => self.handle_packet(
                            frame_no,
                            ts,
                            inner,
                            UdpPre::None,
                            Some(r.frames.clone()),
                            depth + 1,
                        ),
                        NetOutcome::NotIp(_) => self.counters.non_ip_frames += 1,
                        NetOutcome::Malformed(m) => {
                            self.counters.malformed_frames += 1;
                            self.diag(Diagnostic::new(
                                Some(frame_no),
                                Layer::Defrag,
                                DiagLevel::Warning,
                                format!("reassembled datagram: {m}"),
                            ));
                        }
                    }
                }
            }
            L4::Other { .. } => self.counters.other_ip_packets += 1,
        }
    }

    fn emit_app_messages(&mut self, out: &mut Vec<AppMessage>, encapsulation: &Encapsulation) {
        for m in out.drain(..) {
            if m.proto == transport::AppProto::Stun {
                self.media
                    .on_stun_tcp(m.frame, m.ts_nanos, m.src, m.dst, &m.data);
                continue;
            }
            let parsed = sip::parse_message(&m.data, &self.opts.limits.sip);
            let meta = PacketMeta {
                frame: m.frame,
                ts_nanos: m.ts_nanos,
                src: m.src,
                dst: m.dst,
            };
            self.record_sip(
                meta,
                m.frames,
                m.transport,
                encapsulation.clone(),
                parsed,
                &m.data,
            );
        }
    }

    fn record_sip(
        &mut self,
        meta: PacketMeta,
        frames: Vec<FrameNo>,
        transport: Transport,
        encapsulation: Encapsulation,
        parsed: Result<SipMessage, SipError>,
        raw: &[u8],
    ) {
        let PacketMeta {
            frame,
            ts_nanos: ts,
            src,
            dst,
        } = meta;
        let size = raw.len();
        let message = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.counters.sip_parse_failures += 1;
                self.diag(Diagnostic::new(
                    Some(frame),
                    Layer::Sip,
                    DiagLevel::Warning,
                    format!(
                        "{e} ({size} bytes from {src} to {dst} over {})",
                        transport.as_str()
                    ),
                ));
                if self.unparsed_sip.len() < self.opts.limits.max_unparsed_sip {
                    let cut = raw.get(..UNPARSED_EXCERPT_BYTES).unwrap_or(raw);
                    self.unparsed_sip.push(UnparsedSip {
                        frame,
                        ts_nanos: ts,
                        src,
                        dst,
                        transport,
                        size,
                        error: e.to_string(),
                        excerpt: String::from_utf8_lossy(cut).into_owned(),
                    });
                } else {
                    self.unparsed_not_stored += 1;
                }
                return;
            }
        };
        if message.parser == crate::model::SipParser::Tolerant {
            self.counters.sip_tolerant_parses += 1;
        }
        if message.cut {
            self.sip_messages_cut += 1;
        }
        self.sip_total += 1;
        let mut rec = MessageRecord {
            index: self.messages.len(),
            frame,
            frames,
            ts_nanos: ts,
            src,
            dst,
            transport,
            encapsulation,
            retransmission: false,
            retransmission_of: None,
            message,
            size,
        };
        let mut diags = Vec::new();
        if let Some(orig) = self.calls.check_resend(&rec, &mut diags) {
            rec.retransmission = true;
            rec.retransmission_of = Some(orig);
            self.retransmissions += 1;
        }
        let cost = message_cost(&rec);
        if self.messages.len() >= self.opts.limits.max_messages
            || self.message_bytes.saturating_add(cost) > self.opts.limits.max_message_bytes
        {
            self.messages_not_stored += 1;
            if self.messages_not_stored == 1 {
                let text = format!(
                    "more than {} SIP messages or {} bytes of them; further messages are counted but not stored",
                    self.opts.limits.max_messages, self.opts.limits.max_message_bytes
                );
                diags.push(Diagnostic::new(
                    Some(frame),
                    Layer::Analysis,
                    DiagLevel::Warning,
                    format!("{LIMITED_PREFIX}{text}"),
                ));
                self.cap_notes.push(CapHit::new(
                    "SIP message cap",
                    self.opts.limits.max_messages,
                    1,
                    text,
                ));
            }
        } else {
            self.calls.add(&rec, &mut diags);
            if !rec.retransmission {
                self.media.on_sip(&rec);
            }
            self.message_bytes = self.message_bytes.saturating_add(cost);
            self.messages.push(rec);
        }
        self.add_diagnostics(diags);
    }

    /// An MGCP or MEGACO payload: parsed, placed, and its session descriptions bound to media.
    fn record_signal(
        &mut self,
        protocol: crate::model::Protocol,
        meta: PacketMeta,
        transport: Transport,
        payload: &[u8],
    ) {
        if protocol == crate::model::Protocol::Iax2 && self.signals.push_iax2_media(meta, payload) {
            return;
        }
        match crate::signal::parse(protocol, payload) {
            Ok(parsed) => {
                for i in self.signals.push(protocol, meta, transport, parsed) {
                    let Some(rec) = self.signals.records.get(i) else {
                        continue;
                    };
                    if let Some(key) = crate::signal::calls::bind_key(rec, &self.signals.records) {
                        for s in &rec.sdp {
                            self.media.bind_signal_sdp(&key, &s.sdp);
                        }
                    }
                    if !rec.warnings.is_empty() {
                        let text = format!("{}: {}", protocol.label(), rec.warnings.join("; "));
                        self.diag(Diagnostic::new(
                            Some(meta.frame),
                            Layer::Signal,
                            DiagLevel::Info,
                            text,
                        ));
                    }
                }
            }
            Err(e) => {
                self.signals.parse_failures += 1;
                self.diag(Diagnostic::new(
                    Some(meta.frame),
                    Layer::Signal,
                    DiagLevel::Warning,
                    format!(
                        "{} {e} ({} bytes from {} to {} over {})",
                        protocol.label(),
                        payload.len(),
                        meta.src,
                        meta.dst,
                        transport.as_str()
                    ),
                ));
            }
        }
    }

    fn fill_counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.tcp_retransmitted_segments = self.tcp.stats.retransmitted_segments;
        c.tcp_bytes_skipped = self.tcp.stats.bytes_skipped;
        c.websocket_frames = self.tcp.stats.websocket_frames;
        c.tls_records = self.tcp.stats.tls_records;
        c.media = self.media.counters.clone();
        c
    }

    /// The analysis as it stands. `complete` is false for snapshots taken while frames still arrive: their findings
    /// skip the password cracking (up to a second of work), which runs once on the finished analysis.
    fn build(
        &self,
        mut capture: CaptureInfo,
        extra_diags: Vec<Diagnostic>,
        limited: Vec<CapHit>,
        complete: bool,
        owned: Option<(Vec<MessageRecord>, Vec<crate::model::SignalRecord>)>,
        series: SeriesOut,
    ) -> Analysis {
        let (owned_messages, owned_signals) = owned.unzip();
        let messages: &[MessageRecord] = owned_messages.as_deref().unwrap_or(&self.messages);
        let signals: &[crate::model::SignalRecord] =
            owned_signals.as_deref().unwrap_or(&self.signals.records);
        let mut calls = self.calls.calls(self.last_ts.unwrap_or(0));
        let (mut streams, mut dtmf) = self.media.build(series);
        let mut status = crate::codec::status::StatusCache::default();
        let dtls = self.dtls.sessions(Some(&self.keys));
        let keyed: std::collections::HashSet<(SocketAddr, SocketAddr)> = dtls
            .iter()
            .filter(|d| d.srtp_keys.is_some())
            .flat_map(|d| [(d.client, d.server), (d.server, d.client)])
            .collect();
        for s in &mut streams {
            let has_keys = s.src.zip(s.dst).is_some_and(|flow| keyed.contains(&flow));
            s.audio = crate::codec::status::audio_status_keyed(s, &mut status, has_keys);
        }
        // Streams by Call-ID in one pass (a scan of every stream per call would be calls × streams).
        let mut by_call: std::collections::HashMap<&str, Vec<usize>> =
            std::collections::HashMap::new();
        for s in &streams {
            if let Some(c) = s.call_id.as_deref() {
                by_call.entry(c).or_default().push(s.index);
            }
        }
        for call in &mut calls {
            call.streams = by_call.remove(call.call_id.as_str()).unwrap_or_default();
            if let Some(events) = dtmf.remove(&call.call_id) {
                call.dtmf = crate::model::dtmf_digits(&events);
                call.dtmf_events = events;
            }
            let msgs: Vec<&MessageRecord> = call
                .messages
                .iter()
                .filter_map(|i| messages.get(*i))
                .collect();
            call.t38 = t38_outcome(&msgs);
        }
        // The other protocols' calls follow SIP's, each bound to the streams its session descriptions name.
        let mut other = crate::signal::calls::build(
            signals,
            &self.signals.media,
            &streams,
            self.last_ts.unwrap_or(0),
        );
        for call in &mut other {
            if let Some(mut events) = dtmf.remove(&call.call_id) {
                call.dtmf_events.append(&mut events);
                call.dtmf_events.sort_by_key(|e| (e.ts_nanos, e.frame));
                call.dtmf = crate::model::dtmf_digits(&call.dtmf_events);
            }
        }
        let sip_calls = calls.iter().filter(|c| c.protocol == Protocol::Sip);
        let (call_ids, invite_dialogs, answered_calls) =
            sip_calls.fold((0u64, 0u64, 0u64), |(n, i, a), c| {
                (
                    n + 1,
                    i + u64::from(c.kind.is_call()),
                    a + u64::from(c.kind.is_call() && c.answered),
                )
            });
        let signal_calls = other.iter().filter(|c| c.kind.is_call()).count() as u64;
        let signal_answered = other
            .iter()
            .filter(|c| c.kind.is_call() && c.answered)
            .count() as u64;
        calls.append(&mut other);
        let mut diagnostics = self.diagnostics.clone();
        let mut dropped = self.diagnostics_dropped;
        for d in extra_diags {
            if diagnostics.len() < self.opts.limits.max_diagnostics {
                diagnostics.push(d);
            } else {
                dropped += 1;
            }
        }
        let mut limits_hit = self.cap_notes.clone();
        if dropped > 0 {
            let text = format!(
                "diagnostics cap ({}): {dropped} diagnostics counted but not stored",
                self.opts.limits.max_diagnostics
            );
            diagnostics.push(Diagnostic::new(
                None,
                Layer::Analysis,
                DiagLevel::Warning,
                format!("{LIMITED_PREFIX}{text}"),
            ));
            limits_hit.push(CapHit::new(
                "diagnostics cap",
                self.opts.limits.max_diagnostics,
                dropped,
                text,
            ));
        }
        for h in limited {
            diagnostics.push(Diagnostic::new(
                None,
                Layer::Analysis,
                DiagLevel::Warning,
                format!("{LIMITED_PREFIX}{}", h.text),
            ));
            limits_hit.push(h);
        }
        // Deterministic order: by frame (file-level first), then as found.
        diagnostics.sort_by_key(|d| d.frame.unwrap_or(0));
        capture.packets = self.counters.frames;
        capture.first_ts_nanos = self.first_ts;
        capture.last_ts_nanos = self.last_ts;
        capture.truncated_frames = self.truncated_frames;
        if capture.link_types.is_empty() {
            capture.link_types = self
                .link_types
                .iter()
                .map(|l| net::link_type_name(*l))
                .collect();
        }
        let summary = Summary {
            packets: self.counters.frames,
            sip_messages: self.sip_total,
            sip_retransmissions: self.retransmissions,
            call_ids,
            invite_dialogs,
            answered_calls,
            rtp_streams: streams.iter().filter(|s| s.kind == StreamKind::Rtp).count() as u64,
            findings: 0,
            diagnostics: diagnostics.len() as u64 + dropped,
            signal_messages: self.signals.total,
            signal_calls,
            signal_answered,
        };
        let mut analysis = Analysis {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "earshot".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            capture,
            summary,
            counters: self.fill_counters(),
            calls,
            streams,
            messages: owned_messages.unwrap_or_else(|| self.messages.clone()),
            signals: owned_signals.unwrap_or_else(|| self.signals.records.clone()),
            unparsed_sip: self.unparsed_sip.clone(),
            diagnostics,
            diagnostics_dropped: dropped,
            findings: Vec::new(),
            tls: self.tcp.tls_sessions(),
            dtls,
            limits_hit,
            key_sources: self.keys.sources.clone(),
            exposure: Default::default(),
            services: {
                let mut v: Vec<crate::model::ServiceContact> =
                    self.services.values().cloned().collect();
                v.sort_by(|a, b| {
                    (a.server.port(), a.server, &a.transport).cmp(&(
                        b.server.port(),
                        b.server,
                        &b.transport,
                    ))
                });
                v
            },
            rules: serde_json::Value::Null,
            legs: Vec::new(),
            case: None,
        };
        analysis.legs = crate::calls::legs::link_legs(&analysis);
        crate::calls::legs::apply_decisions(&mut analysis.legs, &self.opts.leg_decisions);
        if complete {
            crate::identity::attach(&mut analysis, self.opts.identity.as_deref());
            // Unreadable tokens are diagnostics too.
            analysis.summary.diagnostics =
                analysis.diagnostics.len() as u64 + analysis.diagnostics_dropped;
        }
        analysis.exposure = crate::findings::exposure(&analysis);
        analysis.findings = if complete {
            crate::findings::evaluate(&analysis, &self.opts.rules)
        } else {
            let rules = crate::findings::Settings {
                crack_passwords: false,
                ..self.opts.rules.clone()
            };
            crate::findings::evaluate(&analysis, &rules)
        };
        crate::calls::legs::extend_findings(&analysis.legs, &mut analysis.findings);
        analysis.summary.findings = analysis.findings.len() as u64;
        analysis.rules = crate::findings::settings_json(&self.opts.rules);
        analysis
    }

    /// The analysis as it stands (for live views). Reassembly state still pending is not reported.
    pub fn snapshot(&self, capture: CaptureInfo) -> Analysis {
        self.build(
            capture,
            Vec::new(),
            Vec::new(),
            false,
            None,
            SeriesOut::Cloned,
        )
    }

    /// A snapshot without the streams' plot series: for views of a file still loading, whose finished analysis
    /// brings them (copying every series into every snapshot was most of the app's memory on a big capture).
    pub fn snapshot_without_series(&self, capture: CaptureInfo) -> Analysis {
        self.build(
            capture,
            Vec::new(),
            Vec::new(),
            false,
            None,
            SeriesOut::Empty,
        )
    }

    /// End of input: flush reassembly state (reporting what stayed incomplete) and build the analysis.
    pub fn finish(mut self, capture: CaptureInfo) -> Analysis {
        let mut diags = Vec::new();
        self.counters.incomplete_datagrams += self.defrag.finish(&mut diags);
        self.tcp.finish(&mut diags);
        diags.extend(self.keys.diagnostics.iter().cloned());
        if let Some(store) = &self.opts.identity {
            diags.extend(crate::identity::store_diagnostics(store));
        }
        diags.extend(self.tcp.tls_diagnostics());
        if self.dtls.dropped > 0 {
            diags.push(Diagnostic::new(
                None,
                Layer::Tls,
                DiagLevel::Warning,
                format!(
                    "{} DTLS datagrams of associations beyond the first {} were not followed",
                    self.dtls.dropped,
                    crate::tls::dtls::MAX_ASSOCIATIONS
                ),
            ));
        }
        self.media.finish();
        diags.extend(self.media.take_diagnostics());
        let limited = self.cap_hits();
        // The analyzer ends here: its messages move into the analysis instead of being copied (they are most of
        // the memory of a big capture).
        let messages = std::mem::take(&mut self.messages);
        let signals = std::mem::take(&mut self.signals.records);
        let series = SeriesOut::Moved(self.media.take_series());
        self.build(
            capture,
            diags,
            limited,
            true,
            Some((messages, signals)),
            series,
        )
    }

    /// Every cap that turned something away, as each stage reports its own (the pipeline's own caps between
    /// them), in a fixed order: one diagnostic each, kept even when the diagnostics cap is full (there are at most
    /// a couple of dozen).
    fn cap_hits(&self) -> Vec<CapHit> {
        let l = &self.opts.limits;
        let own = |cap: &'static str, limit: usize, count: u64, text: String| {
            (count > 0).then(|| CapHit::new(cap, limit, count, text))
        };
        let mut v = self.defrag.cap_hits();
        v.extend(self.tcp.cap_hits());
        v.extend(own(
            "SIP header caps",
            l.sip.max_headers,
            self.sip_messages_cut,
            format!(
                "SIP header caps ({} headers, {} bytes per value, {} SDP media sections): {} messages cut",
                l.sip.max_headers,
                l.sip.max_header_value_bytes,
                crate::sip::sdp::MAX_MEDIA,
                self.sip_messages_cut
            ),
        ));
        v.extend(self.calls.cap_hits());
        v.extend(own(
            "SIP message cap",
            l.max_messages,
            self.messages_not_stored,
            format!(
                "SIP message cap ({} messages, {} bytes): {} SIP messages counted but not stored",
                l.max_messages, l.max_message_bytes, self.messages_not_stored
            ),
        ));
        v.extend(own(
            "unparsed-SIP cap",
            l.max_unparsed_sip,
            self.unparsed_not_stored,
            format!(
                "unparsed-SIP cap ({}): {} unparseable messages counted but not kept",
                l.max_unparsed_sip, self.unparsed_not_stored
            ),
        ));
        v.extend(self.media.cap_hits());
        v.extend(own(
            "signalling record cap",
            l.signal.max_records,
            self.signals.not_stored,
            format!(
                "signalling record cap ({} records, {} bytes): {} MGCP/MEGACO/IAX2 messages counted but not stored",
                l.signal.max_records, l.signal.max_record_bytes, self.signals.not_stored
            ),
        ));
        v.extend(own(
            "signalling transaction cap",
            l.signal.max_transactions,
            self.signals.transactions_refused,
            format!(
                "signalling transaction cap ({}): {} MGCP/MEGACO/IAX2 messages not matched to their transaction",
                l.signal.max_transactions, self.signals.transactions_refused
            ),
        ));
        v.extend(own(
            "IAX2 media tally cap",
            l.signal.max_media_calls,
            self.signals.media_untallied,
            format!(
                "IAX2 media tally cap ({} calls): {} mini frames counted but not tallied per call",
                l.signal.max_media_calls, self.signals.media_untallied
            ),
        ));
        v.extend(own(
            "management-port table cap",
            MAX_SERVICES,
            self.services_dropped,
            format!(
                "management-port table cap ({MAX_SERVICES} services): {} packets not recorded",
                self.services_dropped
            ),
        ));
        v
    }
}

/// Analyse a capture file. `progress` is called after every batch.
pub fn analyze_file(
    path: &Path,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Analysis, CaptureError> {
    let file = CaptureFile::open(path)?;
    let mut reader = file.frames()?;

    // The SHA-256 of the file as stored (compressed bytes for gzip input) is computed on its own thread while the
    // frames are analysed, read through the file handle (not the map, whose pages would count as resident).
    let (analysis, sha) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| opts.hash_capture.then(|| file.sha256_hex()));
        let mut analyzer = Analyzer::new(opts.clone());
        if !feed_all(&mut reader, &mut analyzer, opts, progress, Some(&file)) {
            return (Err(()), hasher.join().ok());
        }
        let capture = CaptureInfo {
            file: path.to_string_lossy().into_owned(),
            size_bytes: file.file_size,
            sha256: String::new(),
            format: if file.gzip {
                format!("{}+gzip", reader.format_name)
            } else {
                reader.format_name.to_string()
            },
            packets: 0,
            first_ts_nanos: None,
            last_ts_nanos: None,
            ts_precision_digits: reader.ts_precision_digits,
            link_types: {
                let mut l = reader.link_types.clone();
                l.sort_unstable();
                l.iter().map(|t| net::link_type_name(*t)).collect()
            },
            interfaces: reader.interfaces_seen,
            truncated_frames: 0,
        };
        if analyzer.frames_seen() == 0 {
            analyzer.add_diagnostics([Diagnostic::new(
                None,
                Layer::Capture,
                DiagLevel::Info,
                "the capture holds no packets",
            )]);
        }
        (Ok(analyzer.finish(capture)), hasher.join().ok())
    });
    let Ok(mut analysis) = analysis else {
        return Err(CaptureError::Cancelled {
            path: path.to_path_buf(),
        });
    };
    // `None`: the hashing thread panicked; hash here instead.
    let sha = match sha {
        Some(sha) => sha,
        None => opts.hash_capture.then(|| file.sha256_hex()),
    };
    if let Some(sha) = sha {
        analysis.capture.sha256 = sha?;
    }
    Ok(analysis)
}

/// Feeds every frame of `reader` to `analyzer` in parallel batches; false when cancelled.
pub(crate) fn feed_all<'a>(
    reader: &mut crate::capture::FrameReader<'a>,
    analyzer: &mut Analyzer,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(&Progress),
    map: Option<&CaptureFile>,
) -> bool {
    let bytes_total = reader.total();
    let batch = opts.batch_frames.max(1);
    let is_cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    let sip_limits = opts.limits.sip.clone();
    // Reads the next batch into `frames` and decodes it in parallel into `decoded` (both empty, their capacity
    // reused from batch to batch: allocating them on one thread and freeing them on another grew the heap).
    type Batch<'a> = (Vec<RawFrame<'a>>, Vec<Option<Decoded<'a>>>);
    let read_and_decode = |reader: &mut crate::capture::FrameReader<'a>,
                           (frames, decoded): &mut Batch<'a>| {
        while frames.len() < batch {
            match reader.next_frame() {
                Some(f) => frames.push(f),
                None => break,
            }
        }
        frames
            .par_iter()
            .with_min_len(64)
            .map(|f| decode_detached(f, &sip_limits))
            .collect_into_vec(decoded);
    };
    // Two batches in flight: while batch N is merged (sequential and stateful), batch N+1 is read and decoded on
    // the other threads. The merge still sees every frame in file order, so the result does not depend on the
    // thread count.
    let pool = analyzer.pool.take();
    let install = |f: &mut (dyn FnMut() + Send)| match &pool {
        Some(p) => p.install(f),
        None => f(),
    };
    let mut last_snapshot = std::time::Instant::now();
    let mut sent_first_calls = false;
    let mut cancelled = false;
    let mut cur: Batch<'a> = (Vec::with_capacity(batch), Vec::with_capacity(batch));
    let mut next: Batch<'a> = (Vec::with_capacity(batch), Vec::with_capacity(batch));
    install(&mut || read_and_decode(reader, &mut cur));
    for (block, text) in reader.secrets.drain(..) {
        analyzer.add_capture_secrets(block, &text);
    }
    while !cur.0.is_empty() {
        {
            let (frames, decoded) = &mut cur;
            let (reader, analyzer, next) = (&mut *reader, &mut *analyzer, &mut next);
            let read_and_decode = &read_and_decode;
            install(&mut || {
                rayon::join(
                    || read_and_decode(reader, next),
                    || {
                        // Frames `decode_detached` left (they own their bytes) are decoded here.
                        let decoded = frames
                            .iter()
                            .zip(decoded.drain(..))
                            .map(|(f, d)| d.unwrap_or_else(|| decode_borrowed(f, &sip_limits)));
                        analyzer.merge_batch(frames, decoded)
                    },
                );
            });
        }
        std::mem::swap(&mut cur, &mut next);
        next.0.clear();
        next.1.clear();
        // Everything before the batch now in flight has been merged: its mapped pages can go.
        if let (Some(m), Some(first)) = (map, cur.0.first()) {
            m.release_before(first.file_offset);
        }
        analyzer.add_diagnostics(reader.diagnostics.drain(..));
        // Key logs read with the batch now in flight apply before it is merged.
        for (block, text) in reader.secrets.drain(..) {
            analyzer.add_capture_secrets(block, &text);
        }
        progress(&Progress {
            bytes_done: reader.offset(),
            bytes_total,
            frames: analyzer.frames_seen(),
            sip_messages: analyzer.sip_messages_seen(),
            calls: analyzer.calls_seen() as u64,
        });
        if is_cancelled() {
            cancelled = true;
            break;
        }
        // A snapshot as soon as the first Call-ID is known (so even a small file shows its calls before it has
        // finished loading), then at most every `snap.every`.
        let first_calls = !sent_first_calls && analyzer.calls_seen() > 0;
        if let Some(snap) = &opts.snapshots
            && (first_calls || last_snapshot.elapsed() >= snap.every)
        {
            sent_first_calls |= analyzer.calls_seen() > 0;
            (snap.sink)(analyzer.snapshot_without_series(CaptureInfo {
                packets: analyzer.frames_seen(),
                ts_precision_digits: reader.ts_precision_digits,
                ..CaptureInfo::default()
            }));
            last_snapshot = std::time::Instant::now();
        }
    }
    analyzer.pool = pool;
    if cancelled {
        return false;
    }
    analyzer.add_diagnostics(reader.diagnostics.drain(..));
    true
}

/// Reads a capture again and returns the packets of the RTP streams `tap` asks for (for audio decoding: an
/// analysis never holds payloads). Runs the whole pipeline, so defragmented, TURN-relayed and TCP-carried media
/// come out exactly as the analysis saw them.
pub fn collect_rtp(
    path: &Path,
    opts: &AnalyzeOptions,
    tap: RtpTap,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RtpTap, CaptureError> {
    let file = CaptureFile::open(path)?;
    let mut reader = file.frames()?;
    let mut analyzer = Analyzer::new(opts.clone());
    analyzer.media.tap = Some(tap);
    if !feed_all(&mut reader, &mut analyzer, opts, progress, Some(&file)) {
        return Err(CaptureError::Cancelled {
            path: path.to_path_buf(),
        });
    }
    Ok(analyzer.media.tap.take().unwrap_or_default())
}
