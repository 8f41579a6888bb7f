//! The PDF report (issue 7): cover with case fields and evidence identity, executive summary, findings, call
//! table, per-call pages, diagnostics appendix. Reads only the model.
//!
//! Typesetting is done by typst, used as a library: the template (`report.typ`, compiled in) reads every value
//! from a virtual `data.json` with `json(...)` and places it as plain text, so attacker-controlled strings (SIP
//! headers, Call-IDs, user agents, finding details) are never parsed as typst markup. The ladder diagrams and
//! the jitter/loss charts (plotters, SVG backend) are further virtual files. Fonts are only the bundled DejaVu
//! fonts ([`super::fonts::ALL`]); nothing is read from the system or fetched. The document date and typst's
//! `today()` come from [`ReportMeta::generated_at_nanos`], so the same analysis and meta give the same bytes.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use serde::Serialize;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::model::{Analysis, Call, MediaStream, SeriesPoint, Severity};
use crate::time::{format_utc, secs_between};

use super::{ReportError, ReportMeta, terminal_safe};

/// Findings printed in full; the rest are counted.
pub const MAX_FINDINGS: usize = 200;
/// Rows of the call table; the rest are counted and the reader is pointed to `calls.csv`.
pub const MAX_CALL_ROWS: usize = 2000;
/// Calls that get their own page (selected calls first, then calls with findings).
pub const MAX_CALL_PAGES: usize = 50;
/// Streams shown (table and chart) per call page.
pub const MAX_STREAMS_PER_CALL: usize = 8;
/// Diagnostics listed in the appendix.
pub const MAX_DIAGNOSTICS: usize = 300;
/// Evidence frames printed per finding.
const MAX_EVIDENCE_PRINTED: usize = 40;
/// Points per chart line: longer series are reduced to per-bucket maxima.
const MAX_CHART_POINTS: usize = 1500;

const TEMPLATE: &str = include_str!("report.typ");

/// Render the report to PDF bytes.
pub fn render_pdf(analysis: &Analysis, meta: &ReportMeta) -> Result<Vec<u8>, ReportError> {
    let mut files: BTreeMap<String, Bytes> = BTreeMap::new();
    let data = build_data(analysis, meta, &mut files);
    let json = serde_json::to_vec(&data).map_err(|e| ReportError::Pdf(format!("data: {e}")))?;
    files.insert("data.json".into(), Bytes::new(json));

    let today = datetime_of(meta.generated_at_nanos);
    let world = ReportWorld::new(files, today)?;
    let warned = typst::compile::<PagedDocument>(&world);
    let document = warned.output.map_err(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.message.to_string()).collect();
        ReportError::Pdf(msgs.join("; "))
    })?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!(
            "earshot-{}-{}",
            analysis.capture.sha256, meta.generated_at_nanos
        )),
        creator: Smart::Custom(Some(format!(
            "{} {}",
            analysis.tool.name, analysis.tool.version
        ))),
        timestamp: today.map(typst_pdf::Timestamp::new_utc),
        ..Default::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.message.to_string()).collect();
        ReportError::Pdf(msgs.join("; "))
    });
    // typst memoises across compilations; a library must not keep every report's layout alive.
    typst::comemo::evict(0);
    pdf
}

/// Render the report and write it to `path`.
pub fn write_pdf(analysis: &Analysis, meta: &ReportMeta, path: &Path) -> Result<(), ReportError> {
    let bytes = render_pdf(analysis, meta)?;
    std::fs::write(path, bytes).map_err(|error| ReportError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// The bundled fonts, parsed once.
static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    super::fonts::ALL
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect()
});

static LIBRARY: LazyLock<LazyHash<Library>> =
    LazyLock::new(|| LazyHash::new(<Library as LibraryExt>::default()));

/// The virtual world the template is compiled in: the template, `data.json`, SVG images, bundled fonts.
struct ReportWorld {
    book: LazyHash<FontBook>,
    main: Source,
    main_id: FileId,
    files: BTreeMap<String, Bytes>,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(files: BTreeMap<String, Bytes>, today: Option<Datetime>) -> Result<Self, ReportError> {
        let main_id = file_id("report.typ")?;
        if FONTS.is_empty() {
            return Err(ReportError::Pdf(
                "the bundled fonts could not be read".into(),
            ));
        }
        Ok(ReportWorld {
            book: LazyHash::new(FontBook::from_fonts(FONTS.iter())),
            main: Source::new(main_id, TEMPLATE.to_string()),
            main_id,
            files,
            today,
        })
    }
}

fn file_id(name: &str) -> Result<FileId, ReportError> {
    let vpath = VirtualPath::new(format!("/{name}"))
        .map_err(|e| ReportError::Pdf(format!("virtual path {name}: {e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main_id
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main_id {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if !matches!(id.root(), VirtualRoot::Project) {
            return Err(FileError::AccessDenied);
        }
        self.files
            .get(id.vpath().get_without_slash())
            .cloned()
            .ok_or(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today.map(|t| match t {
            Datetime::Datetime(dt) => Datetime::Date(dt.date()),
            other => other,
        })
    }
}

/// `ts_nanos` as a typst date-time (UTC, whole seconds).
fn datetime_of(ts_nanos: i64) -> Option<Datetime> {
    // format_utc(.., 0) is `YYYY-MM-DDTHH:MM:SSZ` for years 0..=9999.
    let s = format_utc(ts_nanos, 0);
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u16>().ok());
    let year = i32::from(num(0..4)?);
    let mo = u8::try_from(num(5..7)?).ok()?;
    let d = u8::try_from(num(8..10)?).ok()?;
    let h = u8::try_from(num(11..13)?).ok()?;
    let mi = u8::try_from(num(14..16)?).ok()?;
    let se = u8::try_from(num(17..19)?).ok()?;
    Datetime::from_ymd_hms(year, mo, d, h, mi, se)
}

/// Attacker text for a table cell or paragraph: control and bidi characters escaped, cut to `max` characters,
/// and long unbroken runs (Call-IDs, tokens) given zero-width break opportunities so they wrap in narrow cells.
fn text(s: &str, max: usize) -> String {
    let safe = terminal_safe(s, max);
    let mut out = String::with_capacity(safe.len() + 8);
    let mut run = 0usize;
    for c in safe.chars() {
        if c.is_whitespace() {
            run = 0;
        } else {
            run += 1;
            if run > 24 && run % 16 == 9 {
                out.push('\u{200b}');
            }
        }
        out.push(c);
    }
    out
}

fn opt_text(s: Option<&str>, max: usize) -> Option<String> {
    match s {
        Some(s) if !s.trim().is_empty() => Some(text(s, max)),
        _ => None,
    }
}

/// A byte count people read: `1 614 105 bytes (1.6 MB)`.
fn size_text(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let human = if n >= 1_000_000_000 {
        format!(" ({:.1} GB)", n as f64 / 1e9)
    } else if n >= 1_000_000 {
        format!(" ({:.1} MB)", n as f64 / 1e6)
    } else if n >= 1000 {
        format!(" ({:.1} kB)", n as f64 / 1e3)
    } else {
        String::new()
    };
    format!("{grouped} bytes{human}")
}

fn party(n: Option<&crate::model::NameAddr>) -> String {
    let Some(n) = n else {
        return String::from("—");
    };
    let who = match (&n.user, &n.host) {
        (Some(u), Some(h)) => format!("{u}@{h}"),
        (Some(u), None) => u.clone(),
        _ => n.uri.clone(),
    };
    match &n.display_name {
        Some(d) if !d.trim().is_empty() => format!("\"{d}\" {who}"),
        _ => who,
    }
}

fn secs_text(s: Option<f64>) -> String {
    match s {
        Some(s) if s.is_finite() => format!("{s:.1} s"),
        _ => String::from("—"),
    }
}

fn f_text(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => String::from("—"),
    }
}

/// Everything `report.typ` reads from `data.json`, in the report's parts. Each part is flattened into one JSON
/// object (the template reads `d.summary`, `d.findings`, ...); every string in it is already made safe to print.
#[derive(Serialize)]
struct ReportData {
    #[serde(flatten)]
    cover: Cover,
    #[serde(flatten)]
    case: CaseSection,
    #[serde(flatten)]
    summary: SummarySection,
    #[serde(flatten)]
    exposure: ExposureSection,
    #[serde(flatten)]
    findings: FindingsSection,
    #[serde(flatten)]
    calls: CallTable,
    #[serde(flatten)]
    pages: CallPages,
    #[serde(flatten)]
    appendix: Appendix,
}

/// The cover: report title, tool, date, the case fields the analyst gave, and the evidence file's identity.
#[derive(Serialize)]
struct Cover {
    title: &'static str,
    tool: String,
    generated: String,
    redacted: bool,
    case: CaseFields,
    evidence: Evidence,
}

#[derive(Serialize)]
struct CaseFields {
    id: Option<String>,
    analyst: Option<String>,
    notes: Option<String>,
}

#[derive(Serialize)]
struct Evidence {
    file: String,
    size: String,
    sha256: String,
    format: String,
    link_types: String,
    precision: String,
    packets: String,
    truncated: String,
    span: Option<Span>,
}

#[derive(Serialize)]
struct Span {
    first: String,
    last: String,
    secs: String,
}

/// A case's files, capture points and clock offsets (empty for a single capture).
#[derive(Serialize)]
struct CaseSection {
    case_files: Vec<CaseFileRow>,
    case_points: usize,
    case_offsets: Vec<String>,
}

#[derive(Serialize)]
struct CaseFileRow {
    number: String,
    file: String,
    point: String,
    packets: String,
    sha256: String,
    state: String,
}

/// The executive summary: counts, and findings per severity.
#[derive(Serialize)]
struct SummarySection {
    summary: Vec<(&'static str, String)>,
    severity: Vec<SeverityCount>,
}

#[derive(Serialize)]
struct SeverityCount {
    name: &'static str,
    count: usize,
}

/// What the capture exposes: the counts, then at most 20 rows of each table with its total.
#[derive(Serialize)]
struct ExposureSection {
    exposure: Vec<(&'static str, String)>,
    call_graph: Vec<[String; 5]>,
    call_graph_total: usize,
    devices: Vec<[String; 3]>,
    devices_total: usize,
    credentials: Vec<[String; 4]>,
    credentials_total: usize,
    dtmf: Vec<[String; 3]>,
    dtmf_total: usize,
}

/// The findings printed in full (at most [`MAX_FINDINGS`]).
#[derive(Serialize)]
struct FindingsSection {
    findings: Vec<FindingEntry>,
    findings_total: usize,
    findings_more: usize,
}

#[derive(Serialize)]
struct FindingEntry {
    title: String,
    rule: String,
    severity: &'static str,
    confidence: String,
    time: String,
    details: String,
    risk: String,
    remediation: String,
    practice: String,
    evidence: String,
    calls: usize,
    sources: Option<String>,
}

/// The call table (at most [`MAX_CALL_ROWS`] rows) and the legs linked across calls.
#[derive(Serialize)]
struct CallTable {
    calls: Vec<[String; 10]>,
    calls_total: usize,
    invite_calls: usize,
    legs: Vec<[String; 5]>,
}

/// The per-call pages (at most [`MAX_CALL_PAGES`]) and why some calls have none.
#[derive(Serialize)]
struct CallPages {
    call_pages: Vec<CallPage>,
    call_pages_note: Vec<String>,
}

#[derive(Serialize)]
struct CallPage {
    title: String,
    facts: Vec<(&'static str, String)>,
    /// Virtual file name of the ladder SVG.
    ladder: String,
    streams: Vec<[String; 11]>,
    more_streams: usize,
    charts: Vec<Chart>,
    dtmf_digits: String,
    dtmf: Vec<[String; 5]>,
}

#[derive(Serialize)]
struct Chart {
    label: String,
    /// Virtual file name of the chart SVG (`None` when the stream has no series).
    file: Option<String>,
}

/// The appendix: diagnostics, exports, encrypted connections and key sources, the settings used.
#[derive(Serialize)]
struct Appendix {
    diagnostics: Vec<[String; 4]>,
    diagnostics_total: u64,
    diagnostics_more: u64,
    exports: Vec<[String; 3]>,
    encrypted: Vec<[String; 5]>,
    encrypted_total: usize,
    key_sources: Vec<[String; 4]>,
    settings: String,
}

/// The data handed to the template; the SVGs it names (ladders, charts) are added to `files`.
fn build_data(
    analysis: &Analysis,
    meta: &ReportMeta,
    files: &mut BTreeMap<String, Bytes>,
) -> ReportData {
    let digits = analysis.capture.ts_precision_digits;
    let when = |ts: i64| format_utc(ts, digits);
    let findings_by_call = findings_by_call(analysis);
    ReportData {
        cover: cover(analysis, meta, &when),
        case: CaseSection {
            case_files: case_files(analysis),
            case_points: analysis.case.as_ref().map_or(0, |c| c.points.len()),
            case_offsets: case_offsets(analysis),
        },
        summary: summary_section(analysis),
        exposure: exposure_section(analysis),
        findings: findings_section(analysis, &when),
        calls: call_table(analysis, &findings_by_call, &when),
        pages: call_pages(analysis, meta, &findings_by_call, files, &when),
        appendix: appendix(analysis, meta),
    }
}

/// Findings per Call-ID (a finding naming a call twice counts once), for the call table and the call pages.
fn findings_by_call(analysis: &Analysis) -> BTreeMap<&str, usize> {
    let mut by_call: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &analysis.findings {
        let distinct: BTreeSet<&str> = f.call_ids.iter().map(String::as_str).collect();
        for c in distinct {
            *by_call.entry(c).or_default() += 1;
        }
    }
    by_call
}

fn cover(analysis: &Analysis, meta: &ReportMeta, when: &dyn Fn(i64) -> String) -> Cover {
    let cap = &analysis.capture;
    let span = match (cap.first_ts_nanos, cap.last_ts_nanos) {
        (Some(a), Some(b)) => Some(Span {
            first: when(a),
            last: when(b),
            secs: format!("{:.3} s", secs_between(a, b)),
        }),
        _ => None,
    };
    Cover {
        title: "VoIP capture analysis report",
        tool: format!(
            "{} {}",
            terminal_safe(&analysis.tool.name, 80),
            terminal_safe(&analysis.tool.version, 80)
        ),
        generated: format_utc(meta.generated_at_nanos, 0),
        redacted: meta.redacted,
        case: CaseFields {
            id: opt_text(meta.case_id.as_deref(), 200),
            analyst: opt_text(meta.analyst.as_deref(), 200),
            notes: opt_text(meta.notes.as_deref(), 4000),
        },
        evidence: Evidence {
            file: text(file_name(&cap.file), 300),
            size: size_text(cap.size_bytes),
            sha256: terminal_safe(&cap.sha256, 128),
            format: terminal_safe(&cap.format, 40),
            link_types: terminal_safe(&cap.link_types.join(", "), 200),
            precision: format!("{} digits after the second", cap.ts_precision_digits),
            packets: cap.packets.to_string(),
            truncated: cap.truncated_frames.to_string(),
            span,
        },
    }
}

fn summary_section(analysis: &Analysis) -> SummarySection {
    let s = &analysis.summary;
    let mut summary = vec![
        ("Packets", s.packets.to_string()),
        (
            "SIP messages (retransmissions included)",
            format!(
                "{} ({} retransmissions)",
                s.sip_messages, s.sip_retransmissions
            ),
        ),
        (
            "Call-IDs (SIP dialogs and transactions)",
            analysis.calls.len().to_string(),
        ),
        ("Calls (INVITE dialogs)", s.invite_dialogs.to_string()),
        ("Answered calls", s.answered_calls.to_string()),
        ("Media streams", s.rtp_streams.to_string()),
        ("Findings", analysis.findings.len().to_string()),
        (
            "Diagnostics",
            format!(
                "{} ({} not stored)",
                analysis.diagnostics.len(),
                analysis.diagnostics_dropped
            ),
        ),
    ];
    let signed: Vec<&crate::model::CallIdentity> = analysis
        .calls
        .iter()
        .filter_map(|c| c.identity.as_ref())
        .collect();
    if !signed.is_empty() {
        let mut by_verdict: std::collections::BTreeMap<crate::model::IdentityVerdict, usize> =
            std::collections::BTreeMap::new();
        for id in &signed {
            *by_verdict.entry(id.verdict).or_default() += 1;
        }
        summary.push((
            "Calls with caller identity (STIR/SHAKEN)",
            format!(
                "{}: {}",
                signed.len(),
                by_verdict
                    .iter()
                    .map(|(v, n)| format!("{n} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let severity = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .map(|sev| SeverityCount {
        name: sev.as_str(),
        count: analysis
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .count(),
    })
    .collect();
    SummarySection { summary, severity }
}

fn exposure_section(analysis: &Analysis) -> ExposureSection {
    let ex = &analysis.exposure;
    let exposure = vec![
        (
            "SIP messages readable in plaintext",
            ex.plaintext_sip_messages.to_string(),
        ),
        (
            "TLS connections",
            match analysis.tls.iter().filter(|t| t.decrypted).count() {
                0 => format!("{} (content hidden)", ex.tls_connections),
                n => format!("{} ({n} decrypted with the keys given)", ex.tls_connections),
            },
        ),
        (
            "Streams whose audio can be replayed",
            format!(
                "{} ({:.1} s of audio)",
                ex.reconstructable_streams, ex.reconstructable_audio_secs
            ),
        ),
        (
            "Accounts with crackable digest responses",
            ex.credentials.len().to_string(),
        ),
        (
            "SRTP keys seen in plaintext SDP",
            ex.srtp_keys_exposed.to_string(),
        ),
        (
            "Devices and software versions announced",
            ex.devices.len().to_string(),
        ),
        ("Calls with readable DTMF digits", ex.dtmf.len().to_string()),
    ];
    let call_graph = ex
        .call_graph
        .iter()
        .take(20)
        .map(|e| {
            [
                text(&e.from, 80),
                text(&e.to, 80),
                e.calls.to_string(),
                e.answered.to_string(),
                format!("{:.0} s", e.talk_secs),
            ]
        })
        .collect();
    let devices = ex
        .devices
        .iter()
        .take(20)
        .map(|d| {
            let addrs: Vec<String> = d.addresses.iter().take(5).map(|a| a.to_string()).collect();
            let more = d.addresses.len().saturating_sub(5);
            let mut a = addrs.join(", ");
            if more > 0 {
                a.push_str(&format!(" (+{more})"));
            }
            [text(&d.product, 120), a, d.messages.to_string()]
        })
        .collect();
    let credentials = ex
        .credentials
        .iter()
        .take(20)
        .map(|c| {
            [
                text(&c.username, 80),
                text(&c.realm, 80),
                c.source.to_string(),
                c.responses.to_string(),
            ]
        })
        .collect();
    let dtmf = ex
        .dtmf
        .iter()
        .take(20)
        .map(|d| [text(&d.call_id, 80), text(&d.to, 80), text(&d.digits, 200)])
        .collect();
    ExposureSection {
        exposure,
        call_graph,
        call_graph_total: ex.call_graph.len(),
        devices,
        devices_total: ex.devices.len(),
        credentials,
        credentials_total: ex.credentials.len(),
        dtmf,
        dtmf_total: ex.dtmf.len(),
    }
}

fn findings_section(analysis: &Analysis, when: &dyn Fn(i64) -> String) -> FindingsSection {
    let findings = analysis
        .findings
        .iter()
        .take(MAX_FINDINGS)
        .map(|f| {
            let ev: Vec<String> = f
                .evidence_frames
                .iter()
                .take(MAX_EVIDENCE_PRINTED)
                .map(|n| n.to_string())
                .collect();
            let total = f.evidence_frames_total.max(f.evidence_frames.len() as u64);
            let printed = ev.len() as u64;
            let mut evidence = ev.join(", ");
            if total > printed {
                evidence.push_str(&format!(
                    " … and {} more ({} total)",
                    total - printed,
                    total
                ));
            }
            let time = match (f.first_ts_nanos, f.last_ts_nanos) {
                (Some(a), Some(b)) if a != b => format!("{} – {}", when(a), when(b)),
                (Some(a), _) => when(a),
                _ => String::from("—"),
            };
            let sources: Vec<String> = f.sources.iter().take(10).map(|a| a.to_string()).collect();
            let mut sources = sources.join(", ");
            if f.sources.len() > 10 {
                sources.push_str(&format!(" … and {} more", f.sources.len() - 10));
            }
            FindingEntry {
                title: text(&f.title, 300),
                rule: text(&f.rule_id, 80),
                severity: f.severity.as_str(),
                confidence: format!("{:?}", f.confidence).to_lowercase(),
                time,
                details: text(&f.details, 4000),
                risk: text(&f.risk, 2000),
                remediation: text(&f.remediation, 2000),
                practice: text(&f.practice, 1000),
                evidence: if evidence.is_empty() {
                    String::from("—")
                } else {
                    evidence
                },
                calls: f.call_ids.len(),
                sources: (!sources.is_empty()).then_some(sources),
            }
        })
        .collect();
    FindingsSection {
        findings,
        findings_total: analysis.findings.len(),
        findings_more: analysis.findings.len().saturating_sub(MAX_FINDINGS),
    }
}

fn call_table(
    analysis: &Analysis,
    findings_by_call: &BTreeMap<&str, usize>,
    when: &dyn Fn(i64) -> String,
) -> CallTable {
    let calls = analysis
        .calls
        .iter()
        .take(MAX_CALL_ROWS)
        .map(|c| {
            let streams: Vec<&MediaStream> = c
                .streams
                .iter()
                .filter_map(|i| analysis.streams.get(*i))
                .collect();
            let enc: BTreeSet<&str> = streams.iter().map(|s| s.encryption.as_str()).collect();
            let mos = streams
                .iter()
                .filter_map(|s| s.mos)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))));
            let transports: Vec<&str> = c.transports.iter().map(|t| t.as_str()).collect();
            let state = match c.state {
                Some(st) => st.as_str().to_string(),
                None => c.kind.to_string(),
            };
            [
                when(c.start_ts_nanos),
                text(&party(c.from.as_ref()), 120),
                text(&party(c.to.as_ref()), 120),
                text(&state, 40),
                secs_text(c.duration_secs),
                text(&c.codecs.join(", "), 80),
                transports.join(", "),
                if streams.is_empty() {
                    String::from("—")
                } else {
                    enc.into_iter().collect::<Vec<_>>().join(", ")
                },
                f_text(mos, 2),
                findings_by_call
                    .get(c.call_id.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            ]
        })
        .collect();
    let legs = analysis
        .legs
        .iter()
        .take(MAX_CALL_ROWS)
        .map(|l| {
            let how = match (&l.header, l.method) {
                (Some(h), _) => format!("header {}", text(h, 60)),
                (None, m) => format!("{} {:.2}", m.as_str(), l.score),
            };
            [
                text(&l.a, 200),
                text(&l.b, 200),
                how,
                l.status.as_str().to_string(),
                text(&l.evidence.join("; "), 1000),
            ]
        })
        .collect();
    CallTable {
        calls,
        calls_total: analysis.calls.len(),
        invite_calls: analysis.calls.iter().filter(|c| c.kind.is_call()).count(),
        legs,
    }
}

/// Per-call pages: selected calls first, then calls with findings, at most [`MAX_CALL_PAGES`].
fn call_pages(
    analysis: &Analysis,
    meta: &ReportMeta,
    findings_by_call: &BTreeMap<&str, usize>,
    files: &mut BTreeMap<String, Bytes>,
    when: &dyn Fn(i64) -> String,
) -> CallPages {
    let mut page_calls: Vec<&Call> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut selected_missing = 0usize;
    for id in &meta.selected_calls {
        match analysis.calls.iter().find(|c| &c.call_id == id) {
            Some(c) if seen.insert(c.call_id.as_str()) => page_calls.push(c),
            Some(_) => {}
            None => selected_missing += 1,
        }
    }
    for c in analysis
        .calls
        .iter()
        .filter(|c| findings_by_call.contains_key(c.call_id.as_str()))
    {
        if seen.insert(c.call_id.as_str()) {
            page_calls.push(c);
        }
    }
    let wanted = page_calls.len();
    page_calls.truncate(MAX_CALL_PAGES);
    let mut call_pages_note = Vec::new();
    if wanted > page_calls.len() {
        call_pages_note.push(format!(
            "{} calls are selected or have findings; the first {} get their own pages (the limit), {} do not.",
            wanted,
            page_calls.len(),
            wanted - page_calls.len()
        ));
    }
    if selected_missing > 0 {
        call_pages_note.push(format!(
            "{selected_missing} selected Call-IDs are not in this analysis."
        ));
    }
    let call_pages = page_calls
        .iter()
        .enumerate()
        .map(|(i, c)| call_page(analysis, c, i, findings_by_call, files, when))
        .collect();
    CallPages {
        call_pages,
        call_pages_note,
    }
}

fn appendix(analysis: &Analysis, meta: &ReportMeta) -> Appendix {
    let diagnostics = analysis
        .diagnostics
        .iter()
        .take(MAX_DIAGNOSTICS)
        .map(|d| {
            [
                d.frame.map_or(String::from("—"), |f| f.to_string()),
                format!("{:?}", d.layer).to_lowercase(),
                format!("{:?}", d.level).to_lowercase(),
                text(&d.message, 600),
            ]
        })
        .collect();
    let exports = meta
        .exports
        .iter()
        .map(|e| {
            [
                format_utc(e.time_nanos, 3),
                text(&e.kind, 40),
                text(&e.path, 400),
            ]
        })
        .collect();
    let mut encrypted = encrypted_connections(analysis);
    let encrypted_total = encrypted.len();
    encrypted.truncate(200);
    let key_sources = analysis
        .key_sources
        .iter()
        .map(|k| {
            [
                text(&k.kind, 20),
                text(&k.name, 200),
                k.entries.to_string(),
                terminal_safe(&k.sha256, 64),
            ]
        })
        .collect();
    Appendix {
        diagnostics,
        diagnostics_total: (analysis.diagnostics.len() as u64)
            .saturating_add(analysis.diagnostics_dropped),
        diagnostics_more: (analysis.diagnostics.len().saturating_sub(MAX_DIAGNOSTICS) as u64)
            .saturating_add(analysis.diagnostics_dropped),
        exports,
        encrypted,
        encrypted_total,
        key_sources,
        // Our own TOML, but kept printable all the same.
        settings: super::terminal_safe_lines(&meta.settings_toml, 2000, 300),
    }
}

/// Encrypted connections, TLS then DTLS (all of them: the caller cuts the table to 200 rows).
fn encrypted_connections(analysis: &Analysis) -> Vec<[String; 5]> {
    let how = |decrypted: bool, k: Option<&crate::model::TlsKeyUse>, why: Option<&str>| -> String {
        match (decrypted, k, why) {
            (true, Some(k), _) => format!("decrypted ({}: {})", k.how, k.source),
            (_, _, Some(w)) => format!("not decrypted: {w}"),
            _ => "content hidden (no key given)".to_string(),
        }
    };
    let tls = analysis.tls.iter().map(|t| {
        [
            "TLS".to_string(),
            text(&format!("{} → {}", t.client, t.server), 100),
            text(
                &format!("{} {}", t.version, t.cipher_suite.as_deref().unwrap_or("")),
                120,
            ),
            t.first_frame.to_string(),
            text(
                &how(
                    t.decrypted,
                    t.key_source.as_ref(),
                    t.not_decrypted.as_deref(),
                ),
                300,
            ),
        ]
    });
    let dtls = analysis.dtls.iter().map(|d| {
        [
            "DTLS".to_string(),
            text(&format!("{} → {}", d.client, d.server), 100),
            text(
                &format!(
                    "{} {} SRTP {}",
                    d.version,
                    d.cipher_suite.as_deref().unwrap_or(""),
                    d.srtp_profile.as_deref().unwrap_or("none")
                ),
                160,
            ),
            d.first_frame.to_string(),
            text(
                &how(
                    d.srtp_keys_derived,
                    d.key_source.as_ref(),
                    d.not_decrypted.as_deref(),
                ),
                300,
            ),
        ]
    });
    tls.chain(dtls).collect()
}

/// A case's files: number, name, capture point, packets, SHA-256 and what became of each.
fn case_files(analysis: &Analysis) -> Vec<CaseFileRow> {
    let Some(case) = &analysis.case else {
        return Vec::new();
    };
    case.files
        .iter()
        .map(|f| {
            let state = match &f.status {
                crate::model::CaseFileStatus::Analysed => "analysed".to_string(),
                crate::model::CaseFileStatus::DuplicateOf { file } => {
                    format!("same bytes as file {file}")
                }
                crate::model::CaseFileStatus::Unreadable { reason } => {
                    format!("not analysed: {}", text(reason, 300))
                }
            };
            CaseFileRow {
                number: f.number.to_string(),
                file: text(file_name(&f.file), 200),
                point: text(
                    case.points.get(f.point).map_or("", |p| file_name(&p.name)),
                    100,
                ),
                packets: f.packets.to_string(),
                sha256: terminal_safe(&f.sha256, 128),
                state,
            }
        })
        .collect()
}

/// The clock offsets estimated between a case's capture points, one sentence each.
fn case_offsets(analysis: &Analysis) -> Vec<String> {
    let Some(case) = &analysis.case else {
        return Vec::new();
    };
    let name = |i: usize| text(case.points.get(i).map_or("?", |p| file_name(&p.name)), 100);
    let mut v: Vec<String> = case
        .clock_offsets
        .iter()
        .map(|o| {
            format!(
                "Packets seen at both {} and {} ({}) appear {:+.6} s later at the second (median; {:+.6} to {:+.6} s): \
                 transit time plus clock difference, estimated, not applied.",
                name(o.a),
                name(o.b),
                o.samples,
                o.median_nanos as f64 / 1e9,
                o.min_nanos as f64 / 1e9,
                o.max_nanos as f64 / 1e9
            )
        })
        .collect();
    if case.duplicate_frames > 0 {
        v.push(format!(
            "{} frames were the same packet seen at a second capture point and were analysed once.",
            case.duplicate_frames
        ));
    }
    v
}

/// The last path component (the capture file name as given may carry directories).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn call_page(
    analysis: &Analysis,
    c: &Call,
    page: usize,
    findings_by_call: &BTreeMap<&str, usize>,
    files: &mut BTreeMap<String, Bytes>,
    when: &dyn Fn(i64) -> String,
) -> CallPage {
    let ladder_name = format!("ladder-{page}.svg");
    let svg = crate::report::ladder::ladder_svg(analysis, &[c.call_id.as_str()]);
    files.insert(ladder_name.clone(), Bytes::new(svg.into_bytes()));

    let streams: Vec<&MediaStream> = c
        .streams
        .iter()
        .filter_map(|i| analysis.streams.get(*i))
        .collect();
    let stream_rows = streams
        .iter()
        .take(MAX_STREAMS_PER_CALL)
        .map(|s| {
            [
                s.index.to_string(),
                format!("0x{:08x}", s.ssrc),
                format!(
                    "{} → {}",
                    s.src.map_or(String::from("?"), |a| a.to_string()),
                    s.dst.map_or(String::from("?"), |a| a.to_string())
                ),
                text(&s.codec, 30),
                s.encryption.as_str().to_string(),
                s.packets.to_string(),
                format!("{} ({:.1} %)", s.lost, s.lost_pct),
                f_text(Some(s.max_delta_ms), 1),
                f_text(s.mean_jitter_ms, 2),
                f_text(s.max_jitter_ms, 2),
                f_text(s.mos, 2),
            ]
        })
        .collect();
    let charts = streams
        .iter()
        .take(MAX_STREAMS_PER_CALL)
        .enumerate()
        .map(|(j, s)| {
            let label = format!(
                "Stream {} (SSRC 0x{:08x}, {}): jitter and cumulative loss over time",
                s.index,
                s.ssrc,
                text(&s.codec, 30)
            );
            let svg = if s.series.is_empty() {
                None
            } else {
                chart_svg(&s.series)
            };
            let file = svg.map(|svg| {
                let name = format!("chart-{page}-{j}.svg");
                files.insert(name.clone(), Bytes::new(svg.into_bytes()));
                name
            });
            Chart { label, file }
        })
        .collect();
    let dtmf = c
        .dtmf_events
        .iter()
        .take(200)
        .map(|e| {
            [
                when(e.ts_nanos),
                e.frame.to_string(),
                text(&e.digit, 20),
                e.source.to_string(),
                f_text(e.duration_ms, 0),
            ]
        })
        .collect();
    let mut facts = vec![
        ("Call-ID", text(&c.call_id, 400)),
        ("Kind", text(c.kind.as_str(), 40)),
        ("From", text(&party(c.from.as_ref()), 300)),
        ("To", text(&party(c.to.as_ref()), 300)),
        (
            "Caller identity (STIR/SHAKEN)",
            identity_text(c.identity.as_ref()),
        ),
        (
            "State",
            c.state
                .map_or(String::from("—"), |s| s.as_str().to_string()),
        ),
        (
            "Start – end",
            format!("{} – {}", when(c.start_ts_nanos), when(c.end_ts_nanos)),
        ),
        ("Setup time", secs_text(c.setup_time_secs)),
        ("Duration", secs_text(c.duration_secs)),
        (
            "End reason",
            c.end_reason
                .as_deref()
                .map_or(String::from("—"), |r| text(r, 100)),
        ),
        ("User agents", text(&c.user_agents.join(" | "), 400)),
        ("Codecs", text(&c.codecs.join(", "), 200)),
        (
            "Messages",
            format!(
                "{} ({} retransmissions), frames {}–{}",
                c.messages.len(),
                c.retransmissions,
                crate::model::frame_label(c.frames.first().copied().unwrap_or(0)),
                crate::model::frame_label(c.frames.last().copied().unwrap_or(0))
            ),
        ),
        (
            "Findings",
            findings_by_call
                .get(c.call_id.as_str())
                .copied()
                .unwrap_or(0)
                .to_string(),
        ),
    ];
    if let Some(id) = c.identity.as_ref().filter(|i| !i.reasons.is_empty()) {
        facts.insert(5, ("Identity check", text(&id.reasons.join("; "), 600)));
    }
    CallPage {
        title: text(
            &format!("{} → {}", party(c.from.as_ref()), party(c.to.as_ref())),
            200,
        ),
        facts,
        ladder: ladder_name,
        streams: stream_rows,
        more_streams: streams.len().saturating_sub(MAX_STREAMS_PER_CALL),
        charts,
        dtmf_digits: text(&c.dtmf, 200),
        dtmf,
    }
}

/// A jitter (ms) and cumulative-loss chart of one stream's per-packet series, as SVG (plotters, no fonts read:
/// the text is placed by the SVG reader with the report's fonts).
fn chart_svg(series: &[SeriesPoint]) -> Option<String> {
    use plotters::prelude::*;

    // Jitter per point, and cumulative loss from sequence gaps (a forward jump of n > 1 means n − 1 lost).
    let mut jitter: Vec<(f64, f64)> = Vec::with_capacity(series.len());
    let mut loss: Vec<(f64, f64)> = Vec::with_capacity(series.len());
    let mut lost = 0u64;
    let mut prev: Option<u16> = None;
    for p in series {
        let t = p.t_us as f64 / 1e6;
        if let Some(q) = prev {
            let gap = p.seq.wrapping_sub(q);
            if gap > 1 && gap < 0x8000 {
                lost = lost.saturating_add(u64::from(gap - 1));
            }
        }
        if prev.is_none_or(|q| {
            let d = p.seq.wrapping_sub(q);
            d > 0 && d < 0x8000
        }) {
            prev = Some(p.seq);
        }
        let j = f64::from(p.jitter_ms);
        jitter.push((t, if j.is_finite() { j } else { 0.0 }));
        loss.push((t, lost as f64));
    }
    let jitter = reduce(&jitter);
    let loss = reduce(&loss);
    let t_max = jitter.iter().map(|p| p.0).fold(0.0f64, f64::max).max(0.001);
    let j_max = jitter.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0) * 1.1;
    let l_max = (lost as f64).max(1.0) * 1.1;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 300)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let (top, bottom) = root.split_vertically(170);
        let mut c1 = ChartBuilder::on(&top)
            .margin(6)
            .x_label_area_size(18)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..t_max, 0.0..j_max)
            .ok()?;
        c1.configure_mesh()
            .y_desc("jitter ms")
            .x_labels(10)
            .y_labels(5)
            .label_style(("sans-serif", 11))
            .draw()
            .ok()?;
        c1.draw_series(LineSeries::new(jitter, &BLUE)).ok()?;
        let mut c2 = ChartBuilder::on(&bottom)
            .margin(6)
            .x_label_area_size(30)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..t_max, 0.0..l_max)
            .ok()?;
        c2.configure_mesh()
            .y_desc("lost (cum.)")
            .x_desc("seconds from the stream's first packet")
            .x_labels(10)
            .y_labels(4)
            .label_style(("sans-serif", 11))
            .draw()
            .ok()?;
        c2.draw_series(LineSeries::new(loss, &RED)).ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

/// At most [`MAX_CHART_POINTS`] points: the maximum of each bucket of consecutive points.
fn reduce(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_CHART_POINTS {
        return points.to_vec();
    }
    let per = points.len().div_ceil(MAX_CHART_POINTS);
    points
        .chunks(per)
        .filter_map(|chunk| {
            let t = chunk.first()?.0;
            let v = chunk.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            Some((t, v))
        })
        .collect()
}

/// A call's STIR/SHAKEN verdict in one line: attestation, verdict, signer.
fn identity_text(id: Option<&crate::model::CallIdentity>) -> String {
    let Some(id) = id else {
        return "not signed (no Identity header)".into();
    };
    let signer = id.signed_by();
    text(
        &format!(
            "attestation {} · {} · {signer} · frame {}",
            id.attestation.as_deref().unwrap_or("none"),
            id.verdict,
            crate::model::frame_label(id.frame)
        ),
        300,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn long_tokens_get_break_opportunities_and_controls_are_escaped() {
        let t = text(&"a".repeat(60), 200);
        assert!(t.contains('\u{200b}'));
        assert_eq!(t.replace('\u{200b}', ""), "a".repeat(60));
        assert_eq!(text("x\u{202e}y", 10), "x\\u{202e}y");
        assert_eq!(text("short words stay", 100), "short words stay");
    }

    #[test]
    fn datetime_from_nanos() {
        let d = datetime_of(1_126_267_345_330_945_000).unwrap();
        assert_eq!(d, Datetime::from_ymd_hms(2005, 9, 9, 12, 2, 25).unwrap());
    }

    #[test]
    fn sizes_are_grouped() {
        assert_eq!(size_text(1_614_105), "1 614 105 bytes (1.6 MB)");
        assert_eq!(size_text(694), "694 bytes");
    }
}
