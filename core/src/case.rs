//! Cases: several capture files analysed as one investigation.
//!
//! A case is planned ([`plan_case`]) from the files, folders and glob patterns the analyst gives
//! ([`expand_inputs`]): every file is numbered, grouped into capture points (the rotated files of one tap, by name,
//! or as the analyst says) and put in time order by its first packet. Files with the same bytes are read once;
//! files that cannot be read become diagnostics and the rest is analysed.
//!
//! [`analyze_case`] streams the whole case through one [`Analyzer`], so calls, TCP connections, IP fragments and
//! RTP streams that cross a file boundary stay one. Frame references name (file, frame)
//! ([`crate::model::case_frame`]). One capture point is read file after file, its frames borrowed from the mapped
//! file as for a single capture. Several points are read in parallel (a thread each) and merged in time order; a
//! packet that a second point saw too (same addresses, ports and transport payload within a time window) is
//! recognised, counted and not analysed twice, and the time differences of those shared packets estimate the
//! clock offsets between points, which are reported and never applied. Memory does not grow with the number of
//! files: one file per point is open at a time.
//!
//! May import: `capture`, `net`, `pipeline`, `model`, `error`, `hash`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::capture::{CaptureFile, FrameReader, RawFrame};
use crate::error::CaptureError;
use crate::media::tracker::RtpTap;
use crate::model::{
    Analysis, CaptureInfo, CapturePoint, CaseFile, CaseFileStatus, CaseInfo, ClockOffset,
    DiagLevel, Diagnostic, Layer,
};
use crate::net::{self, L4, NetOutcome};
use crate::pipeline::{AnalyzeOptions, Analyzer, Progress};

/// Most files in one case (a folder of rotated files beyond this is refused with a message, not half read).
pub const MAX_CASE_FILES: usize = 100_000;
/// Deepest folder level searched for captures.
const MAX_FOLDER_DEPTH: usize = 16;
/// Packets remembered for recognising the same packet at two capture points (within the time window).
pub const MAX_DEDUP_ENTRIES: usize = 1_000_000;
/// Shared-packet time differences kept per pair of capture points for the clock offset estimate.
const MAX_OFFSET_SAMPLES: usize = 100_000;
/// Interfaces of one pcapng file made capture points of their own, at most (a file with more is one point).
pub const MAX_INTERFACE_POINTS: usize = 64;
/// Consecutive files of one capture point may overlap by this much before it is flagged (packets a little out of
/// time order, as multi-queue capture writes them).
const OVERLAP_TOLERANCE_NANOS: i64 = 1_000_000_000;
/// Bytes of a compressed file decompressed to find its first packet's time.
const HEAD_BYTES: u64 = 1 << 20;

/// How files are grouped into capture points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// By folder and file name with the rotation suffix removed (`eth1_00042_20261201120000.pcap`,
    /// `trace.pcap3`, `sbc-0042.pcapng` belong to `eth1`, `trace.pcap`, `sbc`).
    #[default]
    Auto,
    /// Every file is its own capture point.
    PerFile,
    /// All files are one capture point (one stream in time order).
    Single,
    /// As `Auto`, and each interface of a pcapng file with several (`dumpcap -i eth0 -i eth1`) is a capture point
    /// of its own.
    Interface,
}

impl Grouping {
    pub fn parse(s: &str) -> Option<Grouping> {
        match s {
            "auto" => Some(Grouping::Auto),
            "file" | "per-file" => Some(Grouping::PerFile),
            "one" | "single" => Some(Grouping::Single),
            "interface" | "interfaces" => Some(Grouping::Interface),
            _ => None,
        }
    }
}

/// How a case is put together.
#[derive(Debug, Clone)]
pub struct CaseOptions {
    pub grouping: Grouping,
    /// Clock corrections (nanoseconds added to every timestamp) for files, by path as given.
    pub offsets: Vec<(PathBuf, i64)>,
    /// The same packet seen at two capture points is recognised within this time difference.
    pub dedup_window_nanos: i64,
}

impl Default for CaseOptions {
    fn default() -> Self {
        CaseOptions {
            grouping: Grouping::Auto,
            offsets: Vec::new(),
            dedup_window_nanos: 2_000_000_000,
        }
    }
}

/// Inputs that could not make a case.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no file matches {pattern}")]
    NoMatch { pattern: String },
    #[error("bad pattern {pattern}: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("cannot read folder {path}: {error}")]
    Folder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("folder {path} holds no capture files (pcap, pcapng or gzip)")]
    EmptyFolder { path: PathBuf },
    #[error("the case has more than {MAX_CASE_FILES} files")]
    TooManyFiles,
    #[error("no file of the case could be read (first: {first})")]
    NothingReadable { first: String },
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Turns the paths given into capture files: a folder gives the capture files inside it (by their magic number, in
/// path order, searched recursively), a pattern with `*`, `?` or `[` that names no file is expanded as a glob, and
/// anything else is kept as given (a missing file is reported when the case is planned).
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, CaseError> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = out.len();
            walk(input, 0, &mut out)?;
            if out.len() == before {
                return Err(CaseError::EmptyFolder {
                    path: input.clone(),
                });
            }
            out.get_mut(before..).map(<[PathBuf]>::sort);
        } else if !input.exists() && input.to_string_lossy().contains(['*', '?', '[']) {
            let pattern = input.to_string_lossy().into_owned();
            let paths = glob::glob(&pattern).map_err(|e| CaseError::BadPattern {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(CaseError::NoMatch { pattern });
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(input.clone());
        }
        if out.len() > MAX_CASE_FILES {
            return Err(CaseError::TooManyFiles);
        }
    }
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), CaseError> {
    if depth > MAX_FOLDER_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|error| CaseError::Folder {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        // Symbolic links to folders are not followed (no cycles); links to files are.
        let is_link_dir =
            std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) && p.is_dir();
        if p.is_dir() && !is_link_dir {
            walk(&p, depth + 1, out)?;
        } else if p.is_file() && looks_like_capture(&p) {
            out.push(p);
            if out.len() > MAX_CASE_FILES {
                return Err(CaseError::TooManyFiles);
            }
        }
    }
    Ok(())
}

/// True when the file starts with a pcap, pcapng or gzip magic number.
pub fn looks_like_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    let m = u32::from_be_bytes(head);
    head.starts_with(&[0x1f, 0x8b])
        || [0xa1b2_c3d4, 0xa1b2_3c4d, 0x0a0d_0d0a].contains(&m)
        || [0xa1b2_c3d4, 0xa1b2_3c4d].contains(&m.swap_bytes())
}

/// A planned case: every file numbered and placed, before any packet is analysed.
#[derive(Debug, Clone, Default)]
pub struct CasePlan {
    /// In case order: capture point after capture point, each point's files in time order.
    pub files: Vec<PlannedFile>,
    pub points: Vec<String>,
    /// What planning had to decide that the analyst should know (said as diagnostics).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub number: u32,
    pub path: PathBuf,
    pub point: usize,
    pub size_bytes: u64,
    pub first_ts_nanos: Option<i64>,
    pub offset_nanos: i64,
    /// SHA-256 when it was needed to tell duplicates apart (files of equal size).
    pub sha256: Option<String>,
    pub status: CaseFileStatus,
    /// With [`Grouping::Interface`]: only this pcapng interface's frames are read from the file (each interface
    /// is a case file of its own, numbered on its own; its frames keep the file's frame numbers).
    pub interface: Option<u32>,
}

/// Numbers, groups and orders the files of a case. Each file's first packet is read (for gzip input, from the
/// first MiB decompressed); files of equal size are hashed to find duplicates.
pub fn plan_case(paths: &[PathBuf], opts: &CaseOptions) -> CasePlan {
    struct Probe {
        path: PathBuf,
        key: String,
        size: u64,
        first: Option<i64>,
        offset: i64,
        sha: Option<String>,
        status: CaseFileStatus,
        interface: Option<u32>,
    }
    let mut probes: Vec<Probe> = Vec::with_capacity(paths.len());
    let mut notes = Vec::new();
    for path in paths {
        let offset = opts
            .offsets
            .iter()
            .find(|(p, _)| p == path)
            .map_or(0, |(_, o)| *o);
        let key = match opts.grouping {
            Grouping::Auto | Grouping::Interface => point_key(path),
            Grouping::PerFile => path.to_string_lossy().into_owned(),
            Grouping::Single => String::from("case"),
        };
        let (size, first, interfaces, status) = match probe(path) {
            Ok((size, first, n)) => (
                size,
                first.map(|t| t.saturating_add(offset)),
                n,
                CaseFileStatus::Analysed,
            ),
            Err(e) => (
                std::fs::metadata(path).map_or(0, |m| m.len()),
                None,
                0,
                CaseFileStatus::Unreadable {
                    reason: e.to_string(),
                },
            ),
        };
        // Each interface of a multi-interface pcapng its own capture point (its own case file).
        let split = opts.grouping == Grouping::Interface
            && interfaces > 1
            && interfaces <= MAX_INTERFACE_POINTS;
        if opts.grouping == Grouping::Interface && interfaces > MAX_INTERFACE_POINTS {
            notes.push(format!(
                "{} has {interfaces} interfaces, more than {MAX_INTERFACE_POINTS}: read as one capture point",
                path.display()
            ));
        }
        let parts: Vec<Option<u32>> = if split {
            (0..u32::try_from(interfaces).unwrap_or(0))
                .map(Some)
                .collect()
        } else {
            vec![None]
        };
        for interface in parts {
            probes.push(Probe {
                path: path.clone(),
                key: match interface {
                    Some(i) => format!("{key}#if{i}"),
                    None => key.clone(),
                },
                size,
                first,
                offset,
                sha: None,
                status: status.clone(),
                interface,
            });
        }
    }
    // Duplicates: only files of equal size can be; those are hashed.
    let mut by_size: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, p) in probes.iter().enumerate() {
        if p.status == CaseFileStatus::Analysed {
            by_size.entry(p.size).or_default().push(i);
        }
    }
    for group in by_size.values().filter(|g| g.len() > 1) {
        for &i in group {
            if let Some(p) = probes.get_mut(i) {
                p.sha = std::fs::File::open(&p.path)
                    .ok()
                    .and_then(|f| crate::hash::sha256_hex(f).ok())
                    .map(|(h, _)| h);
            }
        }
    }
    // Points in order of their first packet; files in a point by first packet, then path.
    let mut keys: BTreeMap<&str, Option<i64>> = BTreeMap::new();
    for p in &probes {
        let e = keys.entry(p.key.as_str()).or_insert(p.first);
        *e = match (*e, p.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut point_order: Vec<(&str, Option<i64>)> = keys.into_iter().collect();
    point_order.sort_by(|a, b| (a.1.is_none(), a.1, a.0).cmp(&(b.1.is_none(), b.1, b.0)));
    let points: Vec<String> = point_order.iter().map(|(k, _)| (*k).to_string()).collect();
    let point_of: HashMap<String, usize> = point_order
        .iter()
        .enumerate()
        .map(|(i, (k, _))| ((*k).to_string(), i))
        .collect();
    let mut order: Vec<usize> = (0..probes.len()).collect();
    order.sort_by(|&a, &b| {
        let (Some(pa), Some(pb)) = (probes.get(a), probes.get(b)) else {
            return std::cmp::Ordering::Equal;
        };
        let ka = point_of.get(&pa.key).copied().unwrap_or(usize::MAX);
        let kb = point_of.get(&pb.key).copied().unwrap_or(usize::MAX);
        match (opts.grouping, ka.cmp(&kb)) {
            // Rotated files of one tap: their names carry the rotation index or time (`_00042`, `.pcap3`,
            // `-20261201120000`), which orders them even when packet times inside a file are not monotonic.
            (Grouping::Auto | Grouping::Interface, std::cmp::Ordering::Equal) => {
                natural_key(&pa.path).cmp(&natural_key(&pb.path))
            }
            (_, std::cmp::Ordering::Equal) => (pa.first.is_none(), pa.first, &pa.path).cmp(&(
                pb.first.is_none(),
                pb.first,
                &pb.path,
            )),
            (_, o) => o,
        }
    });
    let mut files: Vec<PlannedFile> = Vec::with_capacity(order.len());
    let mut first_by_sha: HashMap<(String, Option<u32>), (u32, PathBuf)> = HashMap::new();
    for (n, i) in order.into_iter().enumerate() {
        let Some(p) = probes.get(i) else { continue };
        let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let mut status = p.status.clone();
        if let Some(sha) = &p.sha {
            // The interfaces of one file share its bytes: only another file is a duplicate.
            let key = (sha.clone(), p.interface);
            match first_by_sha.get(&key) {
                Some((first, path)) if path != &p.path => {
                    status = CaseFileStatus::DuplicateOf { file: *first }
                }
                Some(_) => {}
                None => {
                    first_by_sha.insert(key, (number, p.path.clone()));
                }
            }
        }
        files.push(PlannedFile {
            number,
            path: p.path.clone(),
            point: point_of.get(&p.key).copied().unwrap_or(0),
            size_bytes: p.size,
            first_ts_nanos: p.first,
            offset_nanos: p.offset,
            sha256: p.sha.clone(),
            status,
            interface: p.interface,
        });
    }
    CasePlan {
        files,
        points,
        notes,
    }
}

/// Size and first packet time of a capture file (reading only its start).
fn probe(path: &Path) -> Result<(u64, Option<i64>, usize), CaptureError> {
    let meta = std::fs::metadata(path).map_err(|error| CaptureError::Open {
        path: path.to_path_buf(),
        error,
    })?;
    if !meta.is_file() {
        return Err(CaptureError::NotAFile {
            path: path.to_path_buf(),
            what: "not a regular file",
        });
    }
    let mut f = std::fs::File::open(path).map_err(|error| CaptureError::Open {
        path: path.to_path_buf(),
        error,
    })?;
    let mut head = Vec::new();
    (&mut f)
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(|error| CaptureError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        let whole = std::fs::File::open(path).map_err(|error| CaptureError::Open {
            path: path.to_path_buf(),
            error,
        })?;
        // A truncated stream still gives its first bytes; the error is the analysis's to report.
        let _ = flate2::read::MultiGzDecoder::new(whole)
            .take(HEAD_BYTES)
            .read_to_end(&mut raw);
        head = raw;
    }
    let mut reader = FrameReader::from_bytes(path, &head)?;
    let first = reader.next_frame().map(|f| f.ts_nanos);
    // Interfaces described in the head (pcapng writers put their IDBs first).
    while reader.next_frame().is_some() {}
    Ok((meta.len(), first, reader.interfaces_seen))
}

/// The capture point a file belongs to by its name: its folder and its name without the compression and capture
/// extensions and without rotation suffixes (`_00042`, `_00042_20261201120000`, `-0042`, tcpdump's `.pcap3`).
pub fn point_key(path: &Path) -> String {
    let dir = path
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(s) = name.strip_suffix(".gz") {
        name = s.to_string();
    }
    // tcpdump -C appends the file count to the whole name: `trace.pcap`, `trace.pcap1`, ...
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0
        && let Some(stem) = name.get(..name.len() - digits)
        && [".pcap", ".pcapng", ".cap"]
            .iter()
            .any(|e| stem.ends_with(e))
    {
        name = stem.to_string();
    }
    for ext in [".pcapng", ".pcap", ".cap", ".dmp", ".trc"] {
        if let Some(s) = name.strip_suffix(ext) {
            name = s.to_string();
            break;
        }
    }
    // Rotation suffixes: a separator followed by digits, as often as they come (dumpcap: `_00042_20261201120000`).
    loop {
        let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = name.len() - trimmed.len();
        if digits == 0
            || !(trimmed.ends_with('_') || trimmed.ends_with('-') || trimmed.ends_with('.'))
        {
            break;
        }
        let Some(stem) = trimmed.get(..trimmed.len() - 1) else {
            break;
        };
        if stem.is_empty() {
            break;
        }
        name = stem.to_string();
    }
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// A path's name as runs of text and numbers, numbers compared by value (`trace.pcap2` before `trace.pcap10`).
fn natural_key(path: &Path) -> Vec<(String, u128)> {
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u128::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}

/// Progress of a case: the files' sizes stand for their share of the work.
struct CaseProgress {
    total: u64,
    done: u64,
}

/// What an analysis reads: one capture, or a case of several.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Case {
        plan: CasePlan,
        options: CaseOptions,
    },
}

impl Source {
    /// One capture for a single file given as such; a case for several paths, a folder or a pattern (a folder or
    /// pattern that gives one file is that file alone).
    pub fn from_inputs(inputs: &[PathBuf], options: CaseOptions) -> Result<Source, CaseError> {
        // By interface, even one file may be a case (one capture point per interface).
        let by_interface = options.grouping == Grouping::Interface;
        if let [one] = inputs
            && !by_interface
            && !one.is_dir()
            && (one.exists() || !one.to_string_lossy().contains(['*', '?', '[']))
        {
            return Ok(Source::File(one.clone()));
        }
        let paths = expand_inputs(inputs)?;
        if let [one] = paths.as_slice()
            && !by_interface
        {
            return Ok(Source::File(one.clone()));
        }
        let plan = plan_case(&paths, &options);
        if let [one] = plan.files.as_slice()
            && one.interface.is_none()
        {
            return Ok(Source::File(one.path.clone()));
        }
        Ok(Source::Case { plan, options })
    }

    /// The capture, or the case's first file (for messages that name one path).
    pub fn first_path(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Case { plan, .. } => plan
                .files
                .first()
                .map(|f| f.path.clone())
                .unwrap_or_default(),
        }
    }

    /// Every file read (a capture alone: itself).
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            Source::File(p) => vec![p.clone()],
            Source::Case { plan, .. } => plan.files.iter().map(|f| f.path.clone()).collect(),
        }
    }

    /// Every file's absolute path (as given when it cannot be resolved), indexed by its case file number: index 0
    /// is a capture analysed alone; in a case, numbers start at 1 and index 0 is empty.
    pub fn numbered_paths(&self) -> Vec<String> {
        let abs = |p: &Path| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        match self {
            Source::File(p) => vec![abs(p)],
            Source::Case { plan, .. } => {
                let n = plan
                    .files
                    .iter()
                    .map(|f| f.number as usize)
                    .max()
                    .unwrap_or(0);
                let mut out = vec![String::new(); n.saturating_add(1)];
                for f in &plan.files {
                    if let Some(slot) = out.get_mut(f.number as usize) {
                        *slot = abs(&f.path);
                    }
                }
                out
            }
        }
    }

    pub fn analyze(
        &self,
        opts: &AnalyzeOptions,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Analysis, CaseError> {
        match self {
            Source::File(p) => Ok(crate::pipeline::analyze_file(p, opts, progress)?),
            Source::Case { plan, options } => analyze_case(plan, opts, options, progress),
        }
    }

    /// Reads the capture or case again and returns the packets of the RTP streams `tap` asks for.
    pub fn collect_rtp(
        &self,
        opts: &AnalyzeOptions,
        tap: RtpTap,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<RtpTap, CaseError> {
        match self {
            Source::File(p) => Ok(crate::pipeline::collect_rtp(p, opts, tap, progress)?),
            Source::Case { plan, options } => {
                let mut analyzer = Analyzer::new(opts.clone());
                analyzer.set_tap(tap);
                run_case(plan, &mut analyzer, opts, options, progress)?;
                Ok(analyzer.take_tap())
            }
        }
    }
}

/// What streaming a case through an analyzer learnt about its files.
struct CaseRun {
    files: Vec<CaseFile>,
    meta: ReadMeta,
    dedup: Dedup,
}

/// Streams every readable file of the case through `analyzer`.
fn run_case(
    plan: &CasePlan,
    analyzer: &mut Analyzer,
    opts: &AnalyzeOptions,
    case_opts: &CaseOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CaseRun, CaseError> {
    let mut files: Vec<CaseFile> = plan
        .files
        .iter()
        .map(|f| CaseFile {
            number: f.number,
            file: f.path.to_string_lossy().into_owned(),
            point: f.point,
            size_bytes: f.size_bytes,
            sha256: f.sha256.clone().unwrap_or_default(),
            format: String::new(),
            packets: 0,
            first_ts_nanos: None,
            last_ts_nanos: None,
            offset_nanos: f.offset_nanos,
            status: f.status.clone(),
            interface: f.interface,
        })
        .collect();
    let readable: Vec<&PlannedFile> = plan
        .files
        .iter()
        .filter(|f| f.status == CaseFileStatus::Analysed)
        .collect();
    if readable.is_empty() {
        return Err(CaseError::NothingReadable {
            first: plan
                .files
                .first()
                .map(|f| f.path.display().to_string())
                .unwrap_or_default(),
        });
    }
    let mut points_used: Vec<usize> = readable.iter().map(|f| f.point).collect();
    points_used.sort_unstable();
    points_used.dedup();
    let mut meta = ReadMeta::default();
    let mut prog = CaseProgress {
        total: readable.iter().map(|f| f.size_bytes).sum::<u64>().max(1),
        done: 0,
    };
    let mut dedup = Dedup::new(case_opts.dedup_window_nanos);
    if points_used.len() <= 1 {
        for f in &readable {
            let out = read_one_file(f, analyzer, opts, &mut prog, &mut meta, progress)?;
            apply_outcome(&mut files, f.number, out, analyzer);
        }
    } else {
        merge_points(
            plan, &readable, analyzer, opts, &mut prog, &mut meta, &mut dedup, &mut files, progress,
        )?;
    }
    Ok(CaseRun { files, meta, dedup })
}

/// Analyses a planned case as one capture. Frame references name (file, frame).
pub fn analyze_case(
    plan: &CasePlan,
    opts: &AnalyzeOptions,
    case_opts: &CaseOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Analysis, CaseError> {
    let mut analyzer = Analyzer::new(opts.clone());
    let CaseRun { files, meta, dedup } = run_case(plan, &mut analyzer, opts, case_opts, progress)?;
    // File-level diagnostics: planning notes, duplicates, unreadable files, overlapping files of one point.
    let mut diags: Vec<Diagnostic> = plan
        .notes
        .iter()
        .map(|n| Diagnostic::new(None, Layer::Capture, DiagLevel::Warning, n.clone()))
        .collect();
    for f in &files {
        match &f.status {
            CaseFileStatus::DuplicateOf { file } => diags.push(Diagnostic::new(
                None,
                Layer::Capture,
                DiagLevel::Info,
                format!(
                    "case file {} ({}) has the same bytes as file {file}: read once",
                    f.number, f.file
                ),
            )),
            CaseFileStatus::Unreadable { reason } => diags.push(Diagnostic::new(
                None,
                Layer::Capture,
                DiagLevel::Error,
                format!("case file {} was not analysed: {reason}", f.number),
            )),
            CaseFileStatus::Analysed => {}
        }
    }
    let mut points: Vec<CapturePoint> = plan
        .points
        .iter()
        .map(|name| CapturePoint {
            name: name.clone(),
            ..CapturePoint::default()
        })
        .collect();
    for f in &files {
        let Some(p) = points.get_mut(f.point) else {
            continue;
        };
        p.files.push(f.number);
        if f.status != CaseFileStatus::Analysed {
            continue;
        }
        p.packets += f.packets;
        p.first_ts_nanos = min_opt(p.first_ts_nanos, f.first_ts_nanos);
        p.last_ts_nanos = max_opt(p.last_ts_nanos, f.last_ts_nanos);
    }
    for p in &points {
        let mut prev: Option<&CaseFile> = None;
        for n in &p.files {
            let Some(f) = files
                .iter()
                .find(|f| f.number == *n && f.status == CaseFileStatus::Analysed)
            else {
                continue;
            };
            if let (Some(a), Some(last), Some(first)) =
                (prev, prev.and_then(|a| a.last_ts_nanos), f.first_ts_nanos)
                && last.saturating_sub(first) > OVERLAP_TOLERANCE_NANOS
            {
                diags.push(Diagnostic::new(
                    None,
                    Layer::Capture,
                    DiagLevel::Warning,
                    format!(
                        "case files {} and {} of capture point {} overlap in time by {:.6} s: rotated files of one \
                         capture do not (beyond packets a little out of order); if they come from different \
                         places, give them as separate capture points (--points file)",
                        a.number,
                        f.number,
                        p.name,
                        crate::time::secs_between(first, last)
                    ),
                ));
            }
            prev = Some(f);
        }
    }
    analyzer.add_diagnostics(diags);
    let analysed: Vec<&CaseFile> = files
        .iter()
        .filter(|f| f.status == CaseFileStatus::Analysed)
        .collect();
    let mut formats: Vec<String> = analysed.iter().map(|f| f.format.clone()).collect();
    formats.sort();
    formats.dedup();
    let mut link_types: Vec<u32> = meta.link_types.clone();
    link_types.sort_unstable();
    link_types.dedup();
    let capture = CaptureInfo {
        file: case_label(&files),
        size_bytes: analysed.iter().map(|f| f.size_bytes).sum(),
        sha256: case_digest(&analysed),
        format: formats.join(","),
        packets: 0,
        first_ts_nanos: None,
        last_ts_nanos: None,
        ts_precision_digits: meta.ts_precision_digits.max(6),
        link_types: link_types.iter().map(|t| net::link_type_name(*t)).collect(),
        interfaces: meta.interfaces,
        truncated_frames: 0,
    };
    let mut analysis = analyzer.finish(capture);
    analysis.case = Some(CaseInfo {
        files,
        points,
        duplicate_frames: dedup.duplicates,
        duplicate_table_overflows: dedup.overflows,
        clock_offsets: dedup.offsets(),
    });
    Ok(analysis)
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// `3 files in evidence/rotated` (the folder they share), or `3 files` when they share none.
fn case_label(files: &[CaseFile]) -> String {
    let mut common: Option<PathBuf> = None;
    for f in files {
        let dir = Path::new(&f.file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        common = Some(match common {
            None => dir,
            Some(c) => c
                .components()
                .zip(dir.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    match common {
        Some(c) if !c.as_os_str().is_empty() => format!("{} files in {}", files.len(), c.display()),
        _ => format!("{} files", files.len()),
    }
}

/// SHA-256 of the analysed files' `sha256sum` lines (`<sha256>  <file>\n`, in case order): `sha256sum FILES |
/// sha256sum` over the same files in the same order gives the same digest.
fn case_digest(files: &[&CaseFile]) -> String {
    if files.iter().any(|f| f.sha256.is_empty()) {
        return String::new();
    }
    let text: String = files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.file))
        .collect();
    crate::hash::sha256_hex(text.as_bytes())
        .map(|(h, _)| h)
        .unwrap_or_default()
}

/// What the readers learnt about the capture as a whole.
#[derive(Default)]
struct ReadMeta {
    link_types: Vec<u32>,
    ts_precision_digits: u8,
    interfaces: usize,
}

/// What reading one file gave.
enum FileOutcome {
    Read {
        sha256: String,
        format: String,
        packets: u64,
        first: Option<i64>,
        last: Option<i64>,
    },
    Unreadable(String),
}

fn apply_outcome(files: &mut [CaseFile], number: u32, out: FileOutcome, analyzer: &mut Analyzer) {
    let Some(f) = files.iter_mut().find(|f| f.number == number) else {
        return;
    };
    match out {
        FileOutcome::Read {
            sha256,
            format,
            packets,
            first,
            last,
        } => {
            f.sha256 = sha256;
            f.format = format;
            f.packets = packets;
            f.first_ts_nanos = first;
            f.last_ts_nanos = last;
            if packets == 0 {
                analyzer.add_diagnostics([Diagnostic::new(
                    None,
                    Layer::Capture,
                    DiagLevel::Info,
                    format!("case file {number} ({}) holds no packets", f.file),
                )]);
            }
        }
        FileOutcome::Unreadable(reason) => f.status = CaseFileStatus::Unreadable { reason },
    }
}

fn format_name(file: &CaptureFile, reader: &FrameReader<'_>) -> String {
    if file.gzip {
        format!("{}+gzip", reader.format_name)
    } else {
        reader.format_name.to_string()
    }
}

/// Streams one file of a single-point case through the analyzer (frames borrowed from the map).
fn read_one_file(
    f: &PlannedFile,
    analyzer: &mut Analyzer,
    opts: &AnalyzeOptions,
    prog: &mut CaseProgress,
    meta: &mut ReadMeta,
    progress: &mut dyn FnMut(&Progress),
) -> Result<FileOutcome, CaseError> {
    let file = match CaptureFile::open(&f.path) {
        Ok(file) => file,
        Err(e) => return Ok(FileOutcome::Unreadable(e.to_string())),
    };
    let mut reader = match file.frames() {
        Ok(r) => r,
        Err(e) => return Ok(FileOutcome::Unreadable(e.to_string())),
    };
    reader.set_case_file(f.number, f.offset_nanos);
    let (done, total) = (prog.done, prog.total);
    let size = f.size_bytes;
    let (ok, sha) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| opts.hash_capture.then(|| file.sha256_hex()));
        let ok = crate::pipeline::feed_all(
            &mut reader,
            analyzer,
            opts,
            &mut |p| {
                let part = size.saturating_mul(p.bytes_done) / p.bytes_total.max(1);
                progress(&Progress {
                    bytes_done: done.saturating_add(part),
                    bytes_total: total,
                    ..*p
                });
            },
            Some(&file),
        );
        (ok, hasher.join().ok().flatten())
    });
    if !ok {
        return Err(CaseError::Capture(CaptureError::Cancelled {
            path: f.path.clone(),
        }));
    }
    prog.done = prog.done.saturating_add(size);
    meta.link_types.extend(reader.link_types.iter().copied());
    meta.ts_precision_digits = meta.ts_precision_digits.max(reader.ts_precision_digits);
    meta.interfaces = meta.interfaces.max(reader.interfaces_seen);
    let sha256 = match sha {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Ok(FileOutcome::Unreadable(e.to_string())),
        None => String::new(),
    };
    Ok(FileOutcome::Read {
        sha256,
        format: format_name(&file, &reader),
        packets: reader.frames_read(),
        first: reader.first_ts_nanos,
        last: reader.last_ts_nanos,
    })
}

/// What a capture point's reader thread sends to the merge.
enum PointMsg {
    /// Frames in file order, each with the key that recognises the same packet at another point.
    Frames(Vec<(RawFrame<'static>, Option<u64>)>),
    Secrets(Vec<(usize, Vec<u8>)>),
    Diagnostics(Vec<Diagnostic>),
    FileDone {
        number: u32,
        outcome: FileOutcome,
        link_types: Vec<u32>,
        ts_precision_digits: u8,
        interfaces: usize,
    },
}

/// Frames a reader thread sends at a time.
const CHUNK_FRAMES: usize = 1024;

/// Reads the files of one capture point in order, sending owned frames (a reader thread per point).
fn read_point(files: &[&PlannedFile], tx: &SyncSender<PointMsg>, hash: bool) {
    for f in files {
        let unreadable = |e: CaptureError| PointMsg::FileDone {
            number: f.number,
            outcome: FileOutcome::Unreadable(e.to_string()),
            link_types: Vec::new(),
            ts_precision_digits: 0,
            interfaces: 0,
        };
        let file = match CaptureFile::open(&f.path) {
            Ok(file) => file,
            Err(e) => {
                let _ = tx.send(unreadable(e));
                continue;
            }
        };
        let mut reader = match file.frames() {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(unreadable(e));
                continue;
            }
        };
        reader.set_case_file(f.number, f.offset_nanos);
        // One interface of the file (the others are read as case files of their own): its frames, its times;
        // the file's diagnostics and secrets are reported once, with its first interface.
        let (mut packets, mut first, mut last) = (0u64, None::<i64>, None::<i64>);
        let reports = f.interface.is_none_or(|i| i == 0);
        let mut chunk = Vec::with_capacity(CHUNK_FRAMES);
        while let Some(frame) = reader.next_frame() {
            if f.interface.is_some_and(|i| i != frame.interface) {
                continue;
            }
            packets += 1;
            first = Some(first.map_or(frame.ts_nanos, |t| t.min(frame.ts_nanos)));
            last = Some(last.map_or(frame.ts_nanos, |t| t.max(frame.ts_nanos)));
            let key = packet_key(&frame);
            let owned = RawFrame {
                data: std::borrow::Cow::Owned(frame.data.into_owned()),
                ..frame
            };
            chunk.push((owned, key));
            if !reports {
                reader.secrets.clear();
            }
            if chunk.len() >= CHUNK_FRAMES {
                if !reader.secrets.is_empty()
                    && tx
                        .send(PointMsg::Secrets(std::mem::take(&mut reader.secrets)))
                        .is_err()
                {
                    return;
                }
                if tx
                    .send(PointMsg::Frames(std::mem::take(&mut chunk)))
                    .is_err()
                {
                    return;
                }
                file.release_before(reader.offset());
            }
        }
        if !reports {
            reader.secrets.clear();
            reader.diagnostics.clear();
        }
        let mut msgs = vec![
            PointMsg::Secrets(std::mem::take(&mut reader.secrets)),
            PointMsg::Frames(chunk),
            PointMsg::Diagnostics(std::mem::take(&mut reader.diagnostics)),
        ];
        let sha = if hash {
            file.sha256_hex().map_err(|e| e.to_string())
        } else {
            Ok(String::new())
        };
        msgs.push(PointMsg::FileDone {
            number: f.number,
            outcome: match sha {
                Ok(sha256) => FileOutcome::Read {
                    sha256,
                    format: format_name(&file, &reader),
                    packets,
                    first,
                    last,
                },
                Err(e) => FileOutcome::Unreadable(e),
            },
            link_types: reader.link_types.clone(),
            ts_precision_digits: reader.ts_precision_digits,
            interfaces: reader.interfaces_seen,
        });
        for m in msgs {
            if tx.send(m).is_err() {
                return;
            }
        }
    }
}

/// Recognises the same packet at two capture points: addresses, transport, ports and payload (TCP: also sequence
/// and acknowledgement numbers and flags; fragments: identification and offset). Link layers and IP TTLs differ
/// between points and are left out; frames without IP have no key.
fn packet_key(frame: &RawFrame<'_>) -> Option<u64> {
    let NetOutcome::Packet(p) = net::decode_frame(frame.link_type, &frame.data) else {
        return None;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.src.hash(&mut h);
    p.dst.hash(&mut h);
    match &p.l4 {
        L4::Udp {
            src_port,
            dst_port,
            payload,
        } => (17u8, src_port, dst_port, payload.as_ref()).hash(&mut h),
        L4::Tcp(t) => (
            6u8,
            t.src_port,
            t.dst_port,
            t.seq,
            t.ack,
            t.syn,
            t.fin,
            t.rst,
            t.payload.as_ref(),
        )
            .hash(&mut h),
        L4::Sctp {
            src_port,
            dst_port,
            chunks,
        } => (132u8, src_port, dst_port, chunks.as_ref()).hash(&mut h),
        L4::Fragment(f) => (
            44u8,
            f.id,
            f.protocol,
            f.offset,
            f.more_fragments,
            f.data.as_ref(),
        )
            .hash(&mut h),
        L4::Other { protocol } => (255u8, protocol, frame.data.len()).hash(&mut h),
    }
    Some(h.finish())
}

/// Recent packets by key, for recognising a packet a second capture point saw too.
struct Dedup {
    window: i64,
    recent: HashMap<u64, Vec<(usize, i64, bool)>>,
    order: VecDeque<(i64, u64)>,
    duplicates: u64,
    overflows: u64,
    samples: BTreeMap<(usize, usize), Vec<i64>>,
}

impl Dedup {
    fn new(window: i64) -> Dedup {
        Dedup {
            window: window.max(0),
            recent: HashMap::new(),
            order: VecDeque::new(),
            duplicates: 0,
            overflows: 0,
            samples: BTreeMap::new(),
        }
    }

    /// True when the packet was already seen at another point within the window (it is then not analysed).
    fn seen(&mut self, key: u64, point: usize, ts: i64) -> bool {
        while let Some(&(t, k)) = self.order.front() {
            if ts.saturating_sub(t) <= self.window {
                break;
            }
            self.order.pop_front();
            if let Some(v) = self.recent.get_mut(&k) {
                if !v.is_empty() {
                    v.remove(0);
                }
                if v.is_empty() {
                    self.recent.remove(&k);
                }
            }
        }
        if let Some(v) = self.recent.get_mut(&key)
            && let Some(e) = v
                .iter_mut()
                .find(|e| e.0 != point && !e.2 && ts.saturating_sub(e.1).abs() <= self.window)
        {
            e.2 = true;
            self.duplicates += 1;
            let (a, b, d) = if e.0 < point {
                (e.0, point, ts.saturating_sub(e.1))
            } else {
                (point, e.0, e.1.saturating_sub(ts))
            };
            let s = self.samples.entry((a, b)).or_default();
            if s.len() < MAX_OFFSET_SAMPLES {
                s.push(d);
            }
            return true;
        }
        if self.order.len() >= MAX_DEDUP_ENTRIES {
            self.overflows += 1;
            return false;
        }
        self.recent.entry(key).or_default().push((point, ts, false));
        self.order.push_back((ts, key));
        false
    }

    fn offsets(&self) -> Vec<ClockOffset> {
        self.samples
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(&(a, b), s)| {
                let mut s = s.clone();
                s.sort_unstable();
                ClockOffset {
                    a,
                    b,
                    median_nanos: s.get(s.len() / 2).copied().unwrap_or(0),
                    min_nanos: s.first().copied().unwrap_or(0),
                    max_nanos: s.last().copied().unwrap_or(0),
                    samples: s.len() as u64,
                }
            })
            .collect()
    }
}

/// Reads every point on its own thread and merges their frames in time order (ties: the earlier point first).
#[allow(clippy::too_many_arguments)]
fn merge_points(
    plan: &CasePlan,
    readable: &[&PlannedFile],
    analyzer: &mut Analyzer,
    opts: &AnalyzeOptions,
    prog: &mut CaseProgress,
    meta: &mut ReadMeta,
    dedup: &mut Dedup,
    files: &mut [CaseFile],
    progress: &mut dyn FnMut(&Progress),
) -> Result<(), CaseError> {
    let n_points = plan.points.len();
    let batch_size = opts.batch_frames.max(1);
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    std::thread::scope(|scope| -> Result<(), CaseError> {
        let mut rxs: Vec<Option<Receiver<PointMsg>>> = Vec::with_capacity(n_points);
        for p in 0..n_points {
            let mine: Vec<&PlannedFile> =
                readable.iter().copied().filter(|f| f.point == p).collect();
            if mine.is_empty() {
                rxs.push(None);
                continue;
            }
            let (tx, rx) = sync_channel::<PointMsg>(4);
            let hash = opts.hash_capture;
            scope.spawn(move || read_point(&mine, &tx, hash));
            rxs.push(Some(rx));
        }
        let mut heads: Vec<VecDeque<(RawFrame<'static>, Option<u64>)>> =
            (0..n_points).map(|_| VecDeque::new()).collect();
        let mut batch: Vec<RawFrame<'static>> = Vec::with_capacity(batch_size);
        let mut bytes_done: u64 = 0;
        loop {
            // Every live point has a frame at its head (or has ended).
            for (p, rx_slot) in rxs.iter_mut().enumerate() {
                let Some(head) = heads.get_mut(p) else {
                    continue;
                };
                while head.is_empty() {
                    let Some(rx) = rx_slot.as_ref() else { break };
                    match rx.recv() {
                        Ok(PointMsg::Frames(v)) => head.extend(v),
                        Ok(PointMsg::Secrets(s)) => {
                            for (block, text) in s {
                                analyzer.add_capture_secrets(block, &text);
                            }
                        }
                        Ok(PointMsg::Diagnostics(d)) => analyzer.add_diagnostics(d),
                        Ok(PointMsg::FileDone {
                            number,
                            outcome,
                            link_types,
                            ts_precision_digits,
                            interfaces,
                        }) => {
                            meta.link_types.extend(link_types);
                            meta.ts_precision_digits =
                                meta.ts_precision_digits.max(ts_precision_digits);
                            meta.interfaces = meta.interfaces.max(interfaces);
                            let size = readable
                                .iter()
                                .find(|f| f.number == number)
                                .map_or(0, |f| f.size_bytes);
                            bytes_done = bytes_done.saturating_add(size);
                            apply_outcome(files, number, outcome, analyzer);
                        }
                        Err(_) => *rx_slot = None,
                    }
                }
            }
            let next = heads
                .iter()
                .enumerate()
                .filter_map(|(p, h)| h.front().map(|(f, _)| (f.ts_nanos, p)))
                .min();
            let Some((_, p)) = next else { break };
            let Some((frame, key)) = heads.get_mut(p).and_then(VecDeque::pop_front) else {
                break;
            };
            if let Some(k) = key
                && dedup.seen(k, p, frame.ts_nanos)
            {
                continue;
            }
            batch.push(frame);
            if batch.len() >= batch_size {
                analyzer.push_frames(&batch);
                batch.clear();
                progress(&Progress {
                    bytes_done: bytes_done.min(prog.total),
                    bytes_total: prog.total,
                    frames: analyzer.frames_seen(),
                    sip_messages: analyzer.sip_messages_seen(),
                    calls: analyzer.calls_seen() as u64,
                });
                if cancelled() {
                    // Dropping the receivers ends the reader threads at their next send.
                    rxs.clear();
                    return Err(CaseError::Capture(CaptureError::Cancelled {
                        path: readable.first().map(|f| f.path.clone()).unwrap_or_default(),
                    }));
                }
            }
        }
        if !batch.is_empty() {
            analyzer.push_frames(&batch);
        }
        prog.done = prog.total;
        Ok(())
    })
}
