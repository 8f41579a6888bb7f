//! `earshot report FILE`: evidence-grade exports (PDF, CSV, JSON, per-call pcap, ladders, blocklists) through
//! core's report writers. The capture is analysed once; `--redact` pseudonymises identities in every export made
//! from the analysis (pcaps hold the original packets and are refused with it).
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use earshot_core::audio::safe_file_stem;
use earshot_core::case::{CaseError, Source};
use earshot_core::findings::Settings;
use earshot_core::model::{Analysis, DiagLevel};
use earshot_core::report::{
    ExportRecord, ReportMeta, csv as csv_report, manifest, pdf, redact, terminal_safe,
};
use earshot_core::{AnalyzeOptions, CaptureError, extract};

use crate::audit::now_nanos;

#[derive(Args)]
pub struct ReportArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); several files, folders or quoted glob patterns
    /// make a case, reported as one (every file's SHA-256 in every export).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub case: crate::case_args::CaseArgs,
    /// Write the PDF report here (written last, so it lists the other files of this run).
    #[arg(long, value_name = "OUT.pdf")]
    pub pdf: Option<PathBuf>,
    /// Write calls.csv, streams.csv, messages.csv and findings.csv into this directory.
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    /// Write the full analysis as JSON.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
    /// Write the original frames (SIP, RTP, RTCP) of the --call calls to this pcapng file.
    #[arg(long, value_name = "OUT.pcapng")]
    pub pcap: Option<PathBuf>,
    /// Write the ladder diagram of the --call calls; the extension chooses the format: .svg, .png or .txt.
    #[arg(long, value_name = "OUT.{svg,png,txt}")]
    pub ladder: Option<PathBuf>,
    /// Write earshot-blocklist.nft (nftables sets) and earshot-blocklist.txt (one address per line) of the
    /// offenders the rules found, trusted networks left out, into this directory.
    #[arg(long, value_name = "DIR")]
    pub blocklist: Option<PathBuf>,
    /// Write one pcapng per call (INVITE dialog) into this directory, named after its Call-ID (sanitised).
    #[arg(long, value_name = "DIR")]
    pub all_calls_pcap: Option<PathBuf>,
    /// A call to extract, draw, or give its own page in the PDF (repeatable).
    #[arg(long = "call", value_name = "CALL-ID")]
    pub calls: Vec<String>,
    /// Replace phone numbers, user names, display names, IP addresses and Call-IDs by stable pseudonyms in every
    /// export (not possible with --pcap, --all-calls-pcap or --blocklist, which need the real packets/addresses).
    #[arg(long)]
    pub redact: bool,
    /// Show cracked passwords in the exports (masked by default).
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Case identifier printed on the PDF cover.
    #[arg(long, value_name = "ID")]
    pub case_id: Option<String>,
    /// Analyst name printed on the PDF cover.
    #[arg(long, value_name = "NAME")]
    pub analyst: Option<String>,
    /// Free notes printed on the PDF cover.
    #[arg(long, value_name = "TEXT")]
    pub notes: Option<String>,
    /// Rule thresholds and lists (TOML; unset fields keep their defaults, see docs/findings.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Worker threads for decoding (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
}

/// Exit codes as `analyze`: 0 everything written; 1 written, but some output failed or the analysis has warnings;
/// 2 nothing written (bad arguments, unusable input, every output failed).
pub fn run(args: &ReportArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

use crate::files::LadderKind as LadderFormat;

fn ladder_format(path: &Path) -> Result<LadderFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg") => Ok(LadderFormat::Svg),
        Some("png") => Ok(LadderFormat::Png),
        Some("txt") => Ok(LadderFormat::Text),
        _ => bail!(
            "--ladder {}: the file name must end in .svg, .png or .txt",
            path.display()
        ),
    }
}

/// Argument checks that need no analysis.
fn validate(args: &ReportArgs) -> Result<()> {
    let any_output = args.pdf.is_some()
        || args.csv.is_some()
        || args.json.is_some()
        || args.pcap.is_some()
        || args.ladder.is_some()
        || args.blocklist.is_some()
        || args.all_calls_pcap.is_some();
    if !any_output {
        bail!(
            "nothing to write: give at least one of --pdf, --csv, --json, --pcap, --ladder, --blocklist, \
             --all-calls-pcap"
        );
    }
    if args.redact {
        if args.pcap.is_some() || args.all_calls_pcap.is_some() {
            bail!(
                "--redact cannot apply to --pcap/--all-calls-pcap: a pcap holds the original packets and cannot be \
                 redacted; export the pcap without --redact, or drop it"
            );
        }
        if args.blocklist.is_some() {
            bail!(
                "--redact cannot apply to --blocklist: a blocklist of pseudonymised addresses blocks nobody"
            );
        }
        if args.reveal_secrets {
            bail!("--redact and --reveal-secrets contradict each other: choose one");
        }
    }
    if (args.pcap.is_some() || args.ladder.is_some()) && args.calls.is_empty() {
        bail!("--pcap and --ladder need the calls to export: add --call CALL-ID (repeatable)");
    }
    if let Some(l) = &args.ladder {
        ladder_format(l)?;
    }
    Ok(())
}

/// `p` made absolute and free of `..` and links, also when it does not exist yet (its directory is resolved).
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(p.file_name()?))
}

/// Refuse an output path that is the input capture.
fn check_not_input(input: &Path, out: &Path) -> Result<()> {
    if resolved(out).as_deref() == Some(input) {
        bail!(
            "refusing to write {}: it is the input capture",
            out.display()
        );
    }
    Ok(())
}

/// One pcapng path per call in `dir`: the sanitised Call-ID (`audio::safe_file_stem`), with `-2`, `-3`... when two
/// Call-IDs sanitise to the same name. Every path is a direct child of `dir`.
pub fn call_pcap_paths(dir: &Path, call_ids: &[&str]) -> Vec<PathBuf> {
    let mut used: HashSet<String> = HashSet::new();
    call_ids
        .iter()
        .map(|id| {
            let stem = safe_file_stem(id);
            let mut name = format!("{stem}.pcapng");
            let mut n = 1u32;
            while !used.insert(name.to_ascii_lowercase()) {
                n += 1;
                name = format!("{stem}-{n}.pcapng");
            }
            dir.join(name)
        })
        .collect()
}

/// Collects what was written (for the PDF's export list and the exit code) and prints one line per file.
#[derive(Default)]
struct Outputs {
    records: Vec<ExportRecord>,
    failures: usize,
    /// The capture and its SHA-256, for the audit log's export lines.
    capture: PathBuf,
    sha256: String,
}

impl Outputs {
    fn wrote(&mut self, kind: &str, path: &Path) {
        let size = std::fs::metadata(path).map(|m| m.len());
        match size {
            Ok(size) => {
                println!(
                    "{kind:<9} {} ({size} bytes)",
                    terminal_safe(&path.display().to_string(), 400)
                );
                self.records.push(ExportRecord {
                    time_nanos: now_nanos(),
                    kind: kind.to_string(),
                    path: path.display().to_string(),
                });
                crate::audit::cli_exported(&self.capture, &self.sha256, kind, path);
            }
            Err(e) => self.failed(anyhow::anyhow!(
                "the {kind} writer reported success but {} cannot be read: {e}",
                path.display()
            )),
        }
    }

    fn failed(&mut self, e: anyhow::Error) {
        eprintln!("earshot: {e:#}");
        self.failures += 1;
    }

    fn attempt(&mut self, kind: &str, paths: Result<Vec<PathBuf>>) {
        match paths {
            Ok(paths) => {
                for p in paths {
                    self.wrote(kind, &p);
                }
            }
            Err(e) => self.failed(e),
        }
    }
}

/// The files and folders the command writes whatever the capture holds (each is refused if it is an input).
fn fixed_outputs(args: &ReportArgs) -> Vec<PathBuf> {
    let mut fixed_outputs: Vec<PathBuf> = Vec::new();
    fixed_outputs.extend(args.pdf.iter().cloned());
    fixed_outputs.extend(args.json.iter().cloned());
    fixed_outputs.extend(args.pcap.iter().cloned());
    fixed_outputs.extend(args.ladder.iter().cloned());
    if let Some(dir) = &args.csv {
        fixed_outputs.push(dir.clone());
        for name in ["calls.csv", "streams.csv", "messages.csv", "findings.csv"] {
            fixed_outputs.push(dir.join(name));
        }
    }
    if let Some(dir) = &args.blocklist {
        fixed_outputs.push(dir.clone());
        fixed_outputs.push(dir.join("earshot-blocklist.nft"));
        fixed_outputs.push(dir.join("earshot-blocklist.txt"));
    }
    fixed_outputs.extend(args.all_calls_pcap.iter().cloned());
    fixed_outputs
}

/// Every CSV, pcapng and blocklist export gets the run's manifest beside it (tool, evidence SHA-256, settings, each
/// file's SHA-256), so the set describes itself.
fn write_manifests(args: &ReportArgs, view: &Analysis, out: &mut Outputs) {
    let targets: Vec<PathBuf> = [&args.csv, &args.blocklist, &args.all_calls_pcap, &args.pcap]
        .into_iter()
        .flatten()
        .filter(|p| p.exists())
        .map(|p| manifest::beside(p))
        .collect();
    let records = out.records.clone();
    for t in targets {
        match manifest::write_manifest(&t, view, &records, now_nanos(), args.redact) {
            Ok(()) => out.wrote("manifest", &t),
            Err(e) => out.failed(anyhow::Error::new(e)),
        }
    }
}

fn run_inner(args: &ReportArgs) -> Result<ExitCode> {
    validate(args)?;
    let source = args.case.source(&args.files)?;
    let file = source.first_path();
    let mut inputs = Vec::new();
    for p in source.paths() {
        inputs.push(
            p.canonicalize()
                .with_context(|| format!("cannot open capture {}", p.display()))?,
        );
    }
    let fixed_outputs = fixed_outputs(args);
    for out in &fixed_outputs {
        for input in &inputs {
            check_not_input(input, out)?;
        }
    }

    let mut settings = match &args.rules {
        Some(path) => Settings::from_toml_file(path)?,
        None => Settings::default(),
    };
    if args.reveal_secrets {
        settings.reveal_passwords_in_exports = true;
    }
    let mut opts = AnalyzeOptions {
        threads: args.threads,
        rules: settings.clone(),
        keys: args.keys.load()?,
        identity: args.keys.load_identity()?,
        leg_decisions: args.case.leg_decisions(),
        ..Default::default()
    };
    // Per-packet series are for plots: reports do not use them.
    opts.limits.media.max_series_points = 0;
    let analysis = match source.analyze(&opts, &mut |_| {}) {
        Ok(a) => a,
        Err(CaseError::Capture(e @ (CaptureError::Open { .. } | CaptureError::Read { .. }))) => {
            return Err(anyhow::Error::new(e));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("unusable input")),
    };
    for id in &args.calls {
        if !analysis.calls.iter().any(|c| &c.call_id == id) {
            bail!(
                "no call with Call-ID {:?} in {}",
                terminal_safe(id, 200),
                file.display()
            );
        }
    }

    // Redaction keeps the calls in order, so the chosen Call-IDs map to their pseudonyms by position.
    let redacted;
    let (view, selected): (&Analysis, Vec<String>) = if args.redact {
        redacted = redact::redact(&analysis);
        let selected = args
            .calls
            .iter()
            .filter_map(|id| {
                let i = analysis.calls.iter().position(|c| &c.call_id == id)?;
                redacted.calls.get(i).map(|c| c.call_id.clone())
            })
            .collect();
        (&redacted, selected)
    } else {
        (&analysis, args.calls.clone())
    };
    let selected_refs: Vec<&str> = selected.iter().map(String::as_str).collect();
    let original_refs: Vec<&str> = args.calls.iter().map(String::as_str).collect();

    crate::audit::cli_record(
        "analyze",
        &file,
        &analysis.capture.sha256,
        vec![("packets", serde_json::Value::from(analysis.summary.packets))],
    );
    let mut out = Outputs {
        capture: file.clone(),
        sha256: analysis.capture.sha256.clone(),
        ..Default::default()
    };
    if let Some(path) = &args.json {
        out.attempt("json", write_json(view, path).map(|()| vec![path.clone()]));
    }
    if let Some(dir) = &args.csv {
        out.attempt(
            "csv",
            csv_report::write_csv_dir(view, dir).map_err(anyhow::Error::new),
        );
    }
    if let Some(path) = &args.ladder {
        out.attempt(
            "ladder",
            write_ladder(view, &selected_refs, path).map(|()| vec![path.clone()]),
        );
    }
    if let Some(path) = &args.pcap {
        // Never reached with --redact (refused above): the pcap is cut from the original capture.
        out.attempt(
            "pcap",
            extract::write_calls_pcapng_from(
                &source,
                &analysis,
                &original_refs,
                path,
                &extract::ExtractOptions {
                    cancel: None,
                    keys: opts.keys.clone(),
                },
                &mut |_, _| {},
            )
            .with_context(|| format!("cannot write the call pcap {}", path.display()))
            .map(|_| vec![path.clone()]),
        );
    }
    if let Some(dir) = &args.all_calls_pcap {
        write_all_calls(
            &source,
            &inputs,
            &analysis,
            dir,
            opts.keys.clone(),
            &mut out,
        );
    }
    if let Some(dir) = &args.blocklist {
        out.attempt("blocklist", write_blocklist(view, &settings, dir));
    }
    if let Some(path) = &args.pdf {
        let meta = ReportMeta {
            case_id: args.case_id.clone(),
            analyst: args.analyst.clone(),
            notes: args.notes.clone(),
            generated_at_nanos: now_nanos(),
            settings_toml: settings
                .to_toml()
                .context("cannot write the rule settings as TOML")?,
            redacted: args.redact,
            selected_calls: selected.clone(),
            exports: out.records.clone(),
        };
        out.attempt(
            "pdf",
            pdf::write_pdf(view, &meta, path)
                .with_context(|| format!("cannot write the PDF report {}", path.display()))
                .map(|()| vec![path.clone()]),
        );
    }

    if out.records.is_empty() {
        return Ok(ExitCode::from(2));
    }
    write_manifests(args, view, &mut out);
    let attention = view
        .diagnostics
        .iter()
        .any(|d| d.level >= DiagLevel::Warning);
    Ok(if out.failures > 0 || attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_json(a: &Analysis, path: &Path) -> Result<()> {
    crate::files::json_file(a, path)
}

fn write_ladder(a: &Analysis, calls: &[&str], path: &Path) -> Result<()> {
    crate::files::ladder_file(a, calls, ladder_format(path)?, path)
}

fn write_blocklist(a: &Analysis, settings: &Settings, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the blocklist directory {}", dir.display()))?;
    crate::files::blocklist_files(
        a,
        &settings.trusted_networks,
        &dir.join("earshot-blocklist.nft"),
        &dir.join("earshot-blocklist.txt"),
    )
}

fn write_all_calls(
    source: &Source,
    inputs: &[PathBuf],
    a: &Analysis,
    dir: &Path,
    keys: Option<std::sync::Arc<earshot_core::tls::Keys>>,
    out: &mut Outputs,
) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        out.failed(anyhow::anyhow!(
            "cannot create the directory {}: {e}",
            dir.display()
        ));
        return;
    }
    let ids: Vec<&str> = a
        .calls
        .iter()
        .filter(|c| c.kind.is_call())
        .map(|c| c.call_id.as_str())
        .collect();
    for (id, path) in ids.iter().zip(call_pcap_paths(dir, &ids)) {
        if let Some(e) = inputs.iter().find_map(|i| check_not_input(i, &path).err()) {
            out.failed(e);
            continue;
        }
        let opts = extract::ExtractOptions {
            cancel: None,
            keys: keys.clone(),
        };
        let r = extract::write_calls_pcapng_from(source, a, &[*id], &path, &opts, &mut |_, _| {})
            .with_context(|| format!("cannot write the call pcap {}", path.display()))
            .map(|_| vec![path.clone()]);
        out.attempt("pcap", r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_call_ids_stay_inside_the_directory_and_never_collide() {
        let dir = Path::new("/tmp/out");
        let ids = [
            "../../etc/passwd",
            "..",
            "/abs",
            "a\x1b[31m\nb",
            "a/b",
            "a_b",
            "A_B",
            "",
        ];
        let paths = call_pcap_paths(dir, &ids);
        assert_eq!(paths.len(), ids.len());
        let mut names = HashSet::new();
        for p in &paths {
            assert_eq!(p.parent(), Some(dir), "{p:?}");
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(
                !name.starts_with('.') && name.ends_with(".pcapng"),
                "{name}"
            );
            assert!(name.chars().all(|c| c.is_ascii_graphic()), "{name:?}");
            assert!(names.insert(name.to_ascii_lowercase()), "{name} twice");
        }
        assert_eq!(paths[0], dir.join("_._.._etc_passwd.pcapng"));
        assert_eq!(paths[4], dir.join("a_b.pcapng"));
        assert_eq!(paths[5], dir.join("a_b-2.pcapng"));
        assert_eq!(paths[6], dir.join("A_B-3.pcapng"));
    }

    #[test]
    fn ladder_format_comes_from_the_extension() {
        assert!(matches!(
            ladder_format(Path::new("x.SVG")),
            Ok(LadderFormat::Svg)
        ));
        assert!(matches!(
            ladder_format(Path::new("x.png")),
            Ok(LadderFormat::Png)
        ));
        assert!(matches!(
            ladder_format(Path::new("x.txt")),
            Ok(LadderFormat::Text)
        ));
        assert!(ladder_format(Path::new("x.pdf")).is_err());
        assert!(ladder_format(Path::new("x")).is_err());
    }
}
