//! Live capture with libpcap (the `pcap` crate), shared by `earshot capture` and the desktop app's Capture window.
//!
//! Two threads. The capture thread reads packets and writes every one to the evidence pcapng first
//! ([`evidence::EvidenceWriter`]), then hands it on in batches over a bounded channel; the caller's thread feeds the
//! batches to core's incremental [`Analyzer`] (frame numbers 1-based in capture order, interface 0, the
//! interface's link type) and reports counters and a snapshot about once a second. Nothing is analysed that is not
//! saved; if the analysis falls behind and the channel stays full, packets are still saved and the frames the
//! live analysis skipped are counted (`not_analysed`, plus a diagnostic), never silently lost. Nothing here grows
//! per packet: the packet index is the evidence file, the analysis tables are capped by core's `Limits`.

pub mod evidence;
pub mod privilege;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime};

use earshot_core::capture::RawFrame;
use earshot_core::model::{Analysis, CaptureInfo, DiagLevel, Diagnostic, Layer};
use earshot_core::{AnalyzeOptions, Analyzer};
use evidence::{EvidenceFile, EvidenceHeader, EvidenceWriter, Ring};

/// The Capture window's default filter: all UDP (SIP on any UDP port, RTP/RTCP, STUN), SIP over TCP and TLS.
pub const DEFAULT_FILTER: &str =
    "udp or tcp port 5060 or tcp port 5061 or (udp portrange 10000-65535)";

/// Bytes kept of each packet (libpcap's usual maximum).
pub const SNAPLEN: u32 = 262_144;

/// Frames per batch handed to the analysis, and bytes; a batch also goes out after 100 ms.
const BATCH_FRAMES: usize = 512;
const BATCH_BYTES: usize = 4 << 20;
/// Batches in flight (bounds memory: at most this many × BATCH_BYTES, plus one batch held back).
const CHANNEL_BATCHES: usize = 64;

/// What to capture and where to save it.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub interface: String,
    /// BPF filter (libpcap syntax); None captures everything.
    pub filter: Option<String>,
    /// The evidence file (with a ring: the base name of the numbered files).
    pub evidence: PathBuf,
    pub ring: Option<Ring>,
    /// Stop by itself after this long.
    pub duration: Option<Duration>,
    pub promisc: bool,
}

/// Why a capture could not start (or stopped).
#[derive(Debug)]
pub enum LiveError {
    /// Not allowed to capture: the full user-facing message (what is missing, how to grant it).
    Permission(String),
    Other(anyhow::Error),
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::Permission(m) => f.write_str(m),
            LiveError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for LiveError {}

/// Counters of a running capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets written to the evidence.
    pub packets: u64,
    /// Captured bytes of those packets.
    pub bytes: u64,
    /// libpcap's statistics: received by the filter, dropped by the kernel (buffer full), dropped by the interface.
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
    /// Packets saved but not analysed live because the analysis fell behind.
    pub not_analysed: u64,
    /// Bytes written to evidence files.
    pub evidence_bytes: u64,
    pub elapsed_ms: u64,
}

#[derive(Default)]
struct Shared {
    packets: AtomicU64,
    bytes: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    if_dropped: AtomicU64,
    not_analysed: AtomicU64,
    evidence_bytes: AtomicU64,
}

impl Shared {
    fn stats(&self, started: Instant) -> LiveStats {
        LiveStats {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            if_dropped: self.if_dropped.load(Ordering::Relaxed),
            not_analysed: self.not_analysed.load(Ordering::Relaxed),
            evidence_bytes: self.evidence_bytes.load(Ordering::Relaxed),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The result of a finished capture.
pub struct LiveOutcome {
    pub analysis: Analysis,
    pub stats: LiveStats,
    /// Evidence files still on disk, oldest first, with their hashes and frame ranges.
    pub files: Vec<EvidenceFile>,
    /// Ring files deleted during the capture.
    pub files_removed: u64,
    /// Why the capture stopped early (a read or write error), if it did.
    pub error: Option<String>,
}

struct OwnedFrame {
    number: u64,
    ts_nanos: i64,
    orig_len: u32,
    offset: u64,
    data: Vec<u8>,
}

enum Msg {
    Batch(Vec<OwnedFrame>),
    End {
        files: Vec<EvidenceFile>,
        files_removed: u64,
        error: Option<String>,
    },
}

/// Text from the system or the user shown on a terminal or in the window.
pub fn safe(s: &str) -> String {
    earshot_core::report::terminal_safe(s, 200)
}

/// [`safe`] line by line, for messages of several lines.
pub fn safe_multiline(s: &str) -> String {
    earshot_core::report::terminal_safe_lines(s, 20, 300)
}

/// One interface as listed to the user.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<std::net::IpAddr>,
    pub up: bool,
    pub loopback: bool,
}

/// The interfaces libpcap can open (listing needs no privilege).
pub fn list_interfaces() -> anyhow::Result<Vec<InterfaceInfo>> {
    let devs = pcap::Device::list()
        .map_err(|e| anyhow::anyhow!("cannot list the network interfaces: {e}"))?;
    Ok(devs
        .into_iter()
        .map(|d| InterfaceInfo {
            up: d.flags.is_up(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// What the capture thread says once the interface is open (or why it is not).
struct Opened {
    link_type: u32,
}

/// Runs a capture until `stop` is set, `cfg.duration` passes or the capture fails. `on_tick` is called about once a
/// second (less often when building a snapshot is slow) with the counters and a snapshot of the analysis.
pub fn run(
    cfg: &LiveConfig,
    opts: AnalyzeOptions,
    stop: Arc<AtomicBool>,
    on_tick: &mut dyn FnMut(&LiveStats, &Arc<Analysis>),
) -> Result<LiveOutcome, LiveError> {
    if let Err(detail) = privilege::check() {
        return Err(LiveError::Permission(privilege::permission_message(
            &cfg.interface,
            &detail,
        )));
    }
    let shared = Arc::new(Shared::default());
    let (ready_tx, ready_rx) = sync_channel::<Result<Opened, LiveError>>(1);
    let (tx, rx) = sync_channel::<Msg>(CHANNEL_BATCHES);
    let started = Instant::now();
    let thread = {
        let cfg = cfg.clone();
        let shared = shared.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("earshot-capture".into())
            .spawn(move || capture_thread(cfg, shared, stop, ready_tx, tx))
            .map_err(|e| {
                LiveError::Other(anyhow::anyhow!("cannot start the capture thread: {e}"))
            })?
    };
    let opened = match ready_rx.recv() {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            return Err(LiveError::Other(anyhow::anyhow!(
                "the capture thread ended before opening {}",
                safe(&cfg.interface)
            )));
        }
    };
    let outcome = analyse(cfg, opts, &opened, &shared, started, rx, on_tick);
    let _ = thread.join();
    Ok(outcome)
}

fn capture_info(cfg: &LiveConfig, link_type: u32, evidence_bytes: u64) -> CaptureInfo {
    CaptureInfo {
        file: cfg.evidence.to_string_lossy().into_owned(),
        size_bytes: evidence_bytes,
        format: "pcapng".into(),
        ts_precision_digits: 9,
        link_types: vec![earshot_core::net::link_type_name(link_type)],
        interfaces: 1,
        ..CaptureInfo::default()
    }
}

fn analyse(
    cfg: &LiveConfig,
    opts: AnalyzeOptions,
    opened: &Opened,
    shared: &Shared,
    started: Instant,
    rx: Receiver<Msg>,
    on_tick: &mut dyn FnMut(&LiveStats, &Arc<Analysis>),
) -> LiveOutcome {
    let mut analyzer = Analyzer::new(opts);
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    let (files, files_removed, error) = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Batch(batch)) => {
                let frames: Vec<RawFrame<'_>> = batch
                    .iter()
                    .map(|f| RawFrame {
                        number: f.number,
                        ts_nanos: f.ts_nanos,
                        interface: 0,
                        link_type: opened.link_type,
                        orig_len: f.orig_len,
                        data: std::borrow::Cow::Borrowed(&f.data),
                        file_offset: f.offset,
                    })
                    .collect();
                analyzer.push_frames(&frames);
            }
            Ok(Msg::End {
                files,
                files_removed,
                error,
            }) => break (files, files_removed, error),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break (
                    Vec::new(),
                    0,
                    Some("the capture thread ended unexpectedly".to_string()),
                );
            }
        }
        if Instant::now() >= next_tick {
            let stats = shared.stats(started);
            let t = Instant::now();
            let mut info = capture_info(cfg, opened.link_type, stats.evidence_bytes);
            info.packets = analyzer.frames_seen();
            let snap = Arc::new(analyzer.snapshot(info));
            // A snapshot of a large analysis takes a while: never spend more than a tenth of the time on them.
            let tick_every = (t.elapsed() * 10).max(Duration::from_secs(1));
            on_tick(&stats, &snap);
            next_tick = Instant::now() + tick_every;
        }
    };
    let stats = shared.stats(started);
    let mut diags = Vec::new();
    if stats.not_analysed > 0 {
        diags.push(Diagnostic::new(
            None,
            Layer::Capture,
            DiagLevel::Warning,
            format!(
                "{} packets were saved to the evidence but not analysed live (the analysis fell behind); \
                 analyse the evidence file offline for the complete result",
                stats.not_analysed
            ),
        ));
    }
    if stats.dropped > 0 || stats.if_dropped > 0 {
        diags.push(Diagnostic::new(
            None,
            Layer::Capture,
            DiagLevel::Warning,
            format!(
                "libpcap reports {} packets dropped by the kernel and {} by the interface: they are not in the evidence",
                stats.dropped, stats.if_dropped
            ),
        ));
    }
    if let Some(e) = &error {
        diags.push(Diagnostic::new(
            None,
            Layer::Capture,
            DiagLevel::Error,
            format!("the capture stopped early: {e}"),
        ));
    }
    if analyzer.frames_seen() == 0 {
        diags.push(Diagnostic::new(
            None,
            Layer::Capture,
            DiagLevel::Info,
            "the capture holds no packets",
        ));
    }
    analyzer.add_diagnostics(diags);
    let mut info = capture_info(cfg, opened.link_type, stats.evidence_bytes);
    // One file holding the whole capture: its hash is the evidence's hash.
    if cfg.ring.is_none()
        && let [only] = files.as_slice()
    {
        info.sha256 = only.sha256.clone();
    }
    let analysis = analyzer.finish(info);
    LiveOutcome {
        analysis,
        stats,
        files,
        files_removed,
        error,
    }
}

fn open_capture(cfg: &LiveConfig) -> Result<pcap::Capture<pcap::Active>, LiveError> {
    let map = |e: pcap::Error| {
        let text = e.to_string();
        if privilege::is_permission_error(&text) {
            LiveError::Permission(privilege::permission_message(
                &cfg.interface,
                &format!("libpcap says \"{}\"", safe(&text)),
            ))
        } else {
            LiveError::Other(anyhow::anyhow!(
                "cannot capture on {}: {}",
                safe(&cfg.interface),
                safe(&text)
            ))
        }
    };
    let mut cap = pcap::Capture::from_device(cfg.interface.as_str())
        .map_err(map)?
        .promisc(cfg.promisc)
        .snaplen(SNAPLEN as i32)
        .timeout(200)
        .immediate_mode(true)
        .buffer_size(32 << 20)
        .precision(pcap::Precision::Nano)
        .open()
        .map_err(map)?
        // Non-blocking: libpcap's read timeout is not honoured in immediate mode on Linux, and the thread must
        // notice Stop and flush the evidence even when no packet arrives.
        .setnonblock()
        .map_err(map)?;
    if let Some(f) = &cfg.filter {
        cap.filter(f, true).map_err(|e| {
            LiveError::Other(anyhow::anyhow!(
                "invalid capture filter \"{}\": {}",
                safe(f),
                safe(&e.to_string())
            ))
        })?;
    }
    Ok(cap)
}

fn capture_thread(
    cfg: LiveConfig,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    ready: SyncSender<Result<Opened, LiveError>>,
    tx: SyncSender<Msg>,
) {
    let mut cap = match open_capture(&cfg) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let dlt = u32::try_from(cap.get_datalink().0).unwrap_or(0);
    let start = now_nanos();
    let header = EvidenceHeader {
        interface: cfg.interface.clone(),
        filter: cfg.filter.clone(),
        link_type: dlt,
        snaplen: SNAPLEN,
        comment: format!(
            "Live capture by Earshot {} on host {}, interface {}, filter {}, started {}",
            env!("CARGO_PKG_VERSION"),
            host_name(),
            cfg.interface,
            cfg.filter.as_deref().unwrap_or("(none: every packet)"),
            earshot_core::time::format_utc(start, 9)
        ),
    };
    let mut writer = match EvidenceWriter::create(&cfg.evidence, cfg.ring, header) {
        Ok(w) => w,
        Err(e) => {
            let _ = ready.send(Err(LiveError::Other(e)));
            return;
        }
    };
    if ready
        .send(Ok(Opened {
            link_type: writer.file_link_type(),
        }))
        .is_err()
    {
        return;
    }
    let started = Instant::now();
    let mut batch: Vec<OwnedFrame> = Vec::with_capacity(BATCH_FRAMES);
    let mut batch_bytes = 0usize;
    let mut last_send = Instant::now();
    let mut last_flush = Instant::now();
    let mut number = 0u64;
    let mut error: Option<String> = None;
    let mut analysis_gone = false;
    loop {
        if stop.load(Ordering::Relaxed) || cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        match cap.next_packet() {
            Ok(p) => {
                number += 1;
                // time_t / suseconds_t are i64 here but narrower on some platforms.
                #[allow(clippy::useless_conversion)]
                let (sec, nsec) = (
                    i64::from(p.header.ts.tv_sec),
                    i64::from(p.header.ts.tv_usec),
                );
                let ts = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
                // The evidence first: a packet that cannot be saved is not analysed either.
                let offset = match writer.write(number, ts, p.header.len, p.data) {
                    Ok(o) => o,
                    Err(e) => {
                        error = Some(format!("{e:#}"));
                        break;
                    }
                };
                shared.packets.store(number, Ordering::Relaxed);
                shared
                    .bytes
                    .fetch_add(p.data.len() as u64, Ordering::Relaxed);
                if !analysis_gone {
                    batch_bytes += p.data.len();
                    batch.push(OwnedFrame {
                        number,
                        ts_nanos: ts,
                        orig_len: p.header.len,
                        offset,
                        data: p.data.to_vec(),
                    });
                }
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing waiting in the kernel buffer (32 MiB): look again shortly.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                error = Some(format!(
                    "reading from {} failed: {}",
                    safe(&cfg.interface),
                    safe(&e.to_string())
                ));
                break;
            }
        }
        if !batch.is_empty()
            && (batch.len() >= BATCH_FRAMES
                || batch_bytes >= BATCH_BYTES
                || last_send.elapsed() >= Duration::from_millis(100))
        {
            match tx.try_send(Msg::Batch(std::mem::take(&mut batch))) {
                Ok(()) => {
                    batch_bytes = 0;
                    last_send = Instant::now();
                }
                Err(TrySendError::Full(Msg::Batch(b))) => {
                    // Hold on to it for a while; past four batches' worth, give up on analysing these frames
                    // (they are in the evidence).
                    batch = b;
                    if batch.len() >= 4 * BATCH_FRAMES || batch_bytes >= 4 * BATCH_BYTES {
                        shared
                            .not_analysed
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        batch.clear();
                        batch_bytes = 0;
                    }
                }
                Err(_) => {
                    analysis_gone = true;
                    batch.clear();
                }
            }
        }
        if last_flush.elapsed() >= Duration::from_secs(1) {
            last_flush = Instant::now();
            if let Err(e) = writer.flush() {
                error = Some(format!("{e:#}"));
                break;
            }
            update_pcap_stats(&mut cap, &shared);
        }
        shared_evidence_bytes(&shared, &writer);
    }
    update_pcap_stats(&mut cap, &shared);
    // Whatever the analysis has not had yet goes now (blocking: the analysis thread is draining the channel).
    if !batch.is_empty() && !analysis_gone {
        let _ = tx.send(Msg::Batch(batch));
    }
    let total = writer.total_bytes();
    let removed = writer.files_removed;
    let (files, error) = match writer.finish() {
        Ok(f) => (f, error),
        Err(e) => (Vec::new(), Some(error.unwrap_or_else(|| format!("{e:#}")))),
    };
    shared.evidence_bytes.store(total, Ordering::Relaxed);
    let _ = tx.send(Msg::End {
        files,
        files_removed: removed,
        error,
    });
}

fn shared_evidence_bytes(shared: &Shared, writer: &EvidenceWriter) {
    shared
        .evidence_bytes
        .store(writer.total_bytes(), Ordering::Relaxed);
}

fn update_pcap_stats(cap: &mut pcap::Capture<pcap::Active>, shared: &Shared) {
    if let Ok(s) = cap.stats() {
        shared
            .received
            .store(u64::from(s.received), Ordering::Relaxed);
        shared
            .dropped
            .store(u64::from(s.dropped), Ordering::Relaxed);
        shared
            .if_dropped
            .store(u64::from(s.if_dropped), Ordering::Relaxed);
    }
}
