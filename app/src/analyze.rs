//! `earshot analyze FILE...`: headless analysis of a capture or a case, with a terminal summary, JSON and CSV
//! output.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use earshot_core::case::CaseError;
use earshot_core::model::frame_label;
use earshot_core::model::{Analysis, DiagLevel, IdentityVerdict};
use earshot_core::report::{ExportRecord, csv as csv_report, json, manifest, terminal_safe};
use earshot_core::time::format_utc;
use earshot_core::{AnalyzeOptions, CaptureError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); several files, folders or quoted glob patterns
    /// make a case, analysed as one.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub case: crate::case_args::CaseArgs,
    /// Write the full analysis as JSON to this path (`-` for standard output; the summary then goes to stderr).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write calls.csv, streams.csv and messages.csv into this directory.
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    /// Worker threads for decoding (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not print the summary and call table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Rows of the call table to print (0 = all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_rows: usize,
    /// Rule thresholds and lists (TOML; unset fields keep their defaults, see docs/findings.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Skip the capture's SHA-256 (quick triage: the JSON's capture.sha256 is then empty).
    #[arg(long)]
    pub no_hash: bool,
    /// Keep only the calls that match a filter expression in the call table, JSON `calls[]` and calls.csv
    /// (`from ~ "^\+882" && mos < 3 && file == "eth1_0042.pcap"`; docs/filter.md). The other tables are whole.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Also write the analysis into the case store at DIR (Parquet tables, docs/store.md; created when missing).
    /// The store holds the whole analysis: --filter does not apply to it. Query it with `earshot query DIR`.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// With --store: analyse every input file as a capture of its own (one partition each) instead of as one
    /// case; folders and patterns are expanded first. One line per file is printed.
    #[arg(long, requires = "store", conflicts_with_all = ["json", "csv", "filter"])]
    pub each: bool,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
}

pub fn run(args: &AnalyzeArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &AnalyzeArgs) -> Result<ExitCode> {
    let mut opts = AnalyzeOptions {
        threads: args.threads,
        hash_capture: !args.no_hash,
        keys: args.keys.load()?,
        identity: args.keys.load_identity()?,
        leg_decisions: args.case.leg_decisions(),
        ..Default::default()
    };
    // Per-packet series are for plots: the headless form does not keep them.
    opts.limits.media.max_series_points = 0;
    if let Some(path) = &args.rules {
        opts.rules = earshot_core::findings::Settings::from_toml_file(path)?;
    }
    let filter = args
        .filter
        .as_deref()
        .map(earshot_core::filter::Filter::parse)
        .transpose()?;
    if args.each {
        return crate::store_cmd::analyze_each(args, &opts);
    }
    let source = args.case.source(&args.files)?;
    let file = source.first_path();
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let show_progress = std::io::stderr().is_terminal() && !args.quiet;
    let analysis = source.analyze(&opts, &mut |p| {
        if !show_progress {
            return;
        }
        // Only files that take more than a moment get a progress bar.
        if bar.is_none() && started.elapsed() > Duration::from_millis(400) {
            let b =
                ProgressBar::with_draw_target(Some(p.bytes_total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar = Some(b);
        }
        if let Some(b) = &bar {
            b.set_position(p.bytes_done);
            b.set_message(format!(
                "{} frames, {} SIP, {} Call-IDs",
                p.frames, p.sip_messages, p.calls
            ));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let analysis = match analysis {
        Ok(a) => a,
        Err(CaseError::Capture(e @ (CaptureError::Open { .. } | CaptureError::Read { .. }))) => {
            return Err(anyhow::Error::new(e));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("unusable input")),
    };
    if let Some(dir) = &args.store {
        crate::store_cmd::write(dir, &analysis, &source.numbered_paths(), &file)?;
    }
    let analysis = match &filter {
        Some(f) => {
            let keep = f.select(&analysis);
            let mut a = analysis;
            let mut i = 0;
            a.calls.retain(|_| {
                let k = keep.binary_search(&i).is_ok();
                i += 1;
                k
            });
            a
        }
        None => analysis,
    };
    let elapsed = started.elapsed();
    let sha = analysis.capture.sha256.clone();
    crate::audit::cli_record(
        "analyze",
        &file,
        &sha,
        vec![("packets", serde_json::Value::from(analysis.summary.packets))],
    );

    let json_to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
    if let Some(path) = &args.json {
        if json_to_stdout {
            json::write_json(&analysis, std::io::stdout().lock())
                .context("writing JSON to standard output")?;
        } else {
            let f = File::create(path)
                .with_context(|| format!("cannot create JSON output {}", path.display()))?;
            json::write_json(&analysis, BufWriter::new(f))
                .with_context(|| format!("writing JSON to {}", path.display()))?;
            crate::audit::cli_exported(&file, &sha, "json", path);
        }
    }
    if let Some(dir) = &args.csv {
        let files = csv_report::write_csv_dir(&analysis, dir)?;
        // The CSV folder describes itself: manifest.json with the evidence SHA-256, the settings and each file's
        // SHA-256 (and the JSON's, when one was written to a file).
        let now = crate::audit::now_nanos();
        let mut records: Vec<ExportRecord> = files
            .iter()
            .map(|p| ExportRecord {
                time_nanos: now,
                kind: "csv".into(),
                path: p.display().to_string(),
            })
            .collect();
        if let Some(path) = args.json.as_ref().filter(|_| !json_to_stdout) {
            records.push(ExportRecord {
                time_nanos: now,
                kind: "json".into(),
                path: path.display().to_string(),
            });
        }
        manifest::write_manifest(&manifest::beside(dir), &analysis, &records, now, false)?;
        for f in &files {
            crate::audit::cli_exported(&file, &sha, "csv", f);
        }
        crate::audit::cli_exported(&file, &sha, "manifest", &manifest::beside(dir));
    }
    if !args.quiet {
        let text = render_summary(&analysis, args.max_rows, elapsed);
        if json_to_stdout {
            eprint!("{text}");
        } else {
            let mut out = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an analysis failure.
            let _ = out.write_all(text.as_bytes());
        }
    }
    let attention = analysis
        .diagnostics
        .iter()
        .any(|d| d.level >= DiagLevel::Warning);
    Ok(if attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A case's files (number, capture point, packets, SHA-256, what became of each), its capture points and the clock
/// offsets estimated between them.
fn render_case(s: &mut String, case: &earshot_core::model::CaseInfo, digits: u8) {
    use earshot_core::model::CaseFileStatus;
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "Case      {} files, {} capture point(s); frames are shown as file:frame",
        case.files.len(),
        case.points.len()
    );
    for f in &case.files {
        let point = case.points.get(f.point).map_or("", |p| p.name.as_str());
        let state = match &f.status {
            CaseFileStatus::Analysed => format!("{} packets", f.packets),
            CaseFileStatus::DuplicateOf { file } => format!("same bytes as file {file}: read once"),
            CaseFileStatus::Unreadable { reason } => {
                format!("NOT ANALYSED: {}", terminal_safe(reason, 200))
            }
        };
        let first = f
            .first_ts_nanos
            .map(|t| format_utc(t, digits))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:>4} {}  [{}]  {}  {}  {}",
            f.number,
            terminal_safe(&f.file, 120),
            terminal_safe(point, 60),
            first,
            state,
            if f.sha256.is_empty() { "-" } else { &f.sha256 }
        );
    }
    if case.duplicate_frames > 0 {
        let _ = writeln!(
            s,
            "  {} frames were the same packet seen at a second capture point (analysed once)",
            case.duplicate_frames
        );
    }
    for o in &case.clock_offsets {
        let name = |i: usize| case.points.get(i).map_or("?", |p| p.name.as_str());
        let _ = writeln!(
            s,
            "  clock: {} sees shared packets {:+.6} s after {} (median of {}, range {:+.6}..{:+.6} s; not applied)",
            terminal_safe(name(o.b), 60),
            o.median_nanos as f64 / 1e9,
            terminal_safe(name(o.a), 60),
            o.samples,
            o.min_nanos as f64 / 1e9,
            o.max_nanos as f64 / 1e9
        );
    }
}

/// The terminal summary: capture facts, counts, the call table and the first diagnostics.
pub fn render_summary(a: &Analysis, max_rows: usize, elapsed: Duration) -> String {
    let mut s = String::new();
    render_capture(&mut s, a);
    render_counts(&mut s, a, elapsed);
    render_calls(&mut s, a, max_rows);
    render_streams(&mut s, a, max_rows);
    render_fax_and_dtmf(&mut s, a);
    render_identity(&mut s, a, max_rows);
    render_tls(&mut s, a, max_rows);
    render_dtls(&mut s, a, max_rows);
    render_keys(&mut s, a);
    render_exposure(&mut s, a);
    render_findings(&mut s, a, max_rows);
    render_diagnostics(&mut s, a);
    s
}

/// Capture facts: file, hash, format, time span, the case's files and the legs.
fn render_capture(s: &mut String, a: &Analysis) {
    use std::fmt::Write as _;
    let digits = a.capture.ts_precision_digits;
    let c = &a.capture;
    let _ = writeln!(s, "File      {}", terminal_safe(&c.file, 200));
    let sha = if c.sha256.is_empty() {
        "not computed (--no-hash)"
    } else {
        &c.sha256
    };
    let _ = writeln!(s, "SHA-256   {sha}");
    let _ = writeln!(
        s,
        "Format    {} ({}), {} bytes, {} interface(s)",
        c.format,
        c.link_types.join(", "),
        c.size_bytes,
        c.interfaces
    );
    if let (Some(f), Some(l)) = (c.first_ts_nanos, c.last_ts_nanos) {
        let _ = writeln!(
            s,
            "Time      {} .. {} (UTC)",
            format_utc(f, digits),
            format_utc(l, digits)
        );
    }
    if let Some(case) = &a.case {
        render_case(s, case, digits);
    }
    for l in a.legs.iter().take(50) {
        let how = match (&l.header, l.method) {
            (Some(h), _) => format!("by {}", terminal_safe(h, 60)),
            (None, m) => format!("{} {:.2}", m.as_str(), l.score),
        };
        let _ = writeln!(
            s,
            "Legs      {} <-> {}  {} ({})",
            terminal_safe(&l.a, 80),
            terminal_safe(&l.b, 80),
            l.status.as_str(),
            how
        );
    }
    if a.legs.len() > 50 {
        let _ = writeln!(s, "Legs      ... {} more (--json)", a.legs.len() - 50);
    }
}

/// Packet, message and call counts, and the analysis speed.
fn render_counts(s: &mut String, a: &Analysis, elapsed: Duration) {
    use std::fmt::Write as _;
    let m = &a.summary;
    let _ = writeln!(
        s,
        "Packets   {}   SIP messages {} ({} retransmitted)   Call-IDs {}   calls {} ({} answered)",
        m.packets,
        m.sip_messages,
        m.sip_retransmissions,
        m.call_ids,
        m.invite_dialogs,
        m.answered_calls
    );
    if m.signal_messages > 0 {
        let mut per: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for r in &a.signals {
            *per.entry(r.protocol.label()).or_default() += 1;
        }
        let per: Vec<String> = per.iter().map(|(p, n)| format!("{p} {n}")).collect();
        let _ = writeln!(
            s,
            "Gateway   messages {} ({})   calls {} ({} answered)",
            m.signal_messages,
            per.join(", "),
            m.signal_calls,
            m.signal_answered
        );
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        s,
        "Analysed  in {:.3} s ({:.1} MB/s)",
        secs,
        a.capture.size_bytes as f64 / 1e6 / secs
    );
    let _ = writeln!(s);
}

/// The call table (`max_rows` rows; 0: all).
fn render_calls(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    let calls: Vec<_> = a.calls.iter().collect();
    if !calls.is_empty() {
        let _ = writeln!(
            s,
            "{:<24} {:<9} {:<10} {:<24} {:<24} {:>8} {:<16} Call-ID",
            "start (UTC)", "kind", "state", "from", "to", "dur s", "end"
        );
        let shown = if max_rows == 0 {
            calls.len()
        } else {
            max_rows.min(calls.len())
        };
        for call in calls.iter().take(shown) {
            let user = |n: &Option<earshot_core::model::NameAddr>| {
                n.as_ref()
                    .map(|n| n.user.clone().unwrap_or_else(|| n.uri.clone()))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                s,
                "{:<24} {:<9} {:<10} {:<24} {:<24} {:>8} {:<16} {}",
                format_utc(call.start_ts_nanos, 3),
                terminal_safe(call.kind.as_str(), 9),
                call.state.map(|st| st.as_str()).unwrap_or("-"),
                terminal_safe(&user(&call.from), 24),
                terminal_safe(&user(&call.to), 24),
                call.duration_secs
                    .map(|d| format!("{d:.1}"))
                    .unwrap_or_else(|| "-".into()),
                terminal_safe(call.end_reason.as_deref().unwrap_or("-"), 16),
                terminal_safe(&call.call_id, 80),
            );
        }
        if shown < calls.len() {
            let _ = writeln!(
                s,
                "... {} more (use --max-rows 0 or --json)",
                calls.len() - shown
            );
        }
        let _ = writeln!(s);
    }
}

/// The stream table (`max_rows` rows; 0: all).
fn render_streams(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    if !a.streams.is_empty() {
        let unsignalled = a.streams.iter().filter(|st| !st.signalled).count();
        let _ = writeln!(
            s,
            "Streams   {} ({} unsignalled)",
            a.streams.len(),
            unsignalled
        );
        let _ = writeln!(
            s,
            "{:<4} {:<7} {:<45} {:<10} {:<16} {:<9} {:>7} {:>6} {:>9} {:>5}  Call-ID",
            "#", "from", "src -> dst", "SSRC", "codec", "enc", "packets", "lost", "max jit", "MOS"
        );
        let shown = if max_rows == 0 {
            a.streams.len()
        } else {
            max_rows.min(a.streams.len())
        };
        for st in a.streams.iter().take(shown) {
            let addr =
                |x: Option<std::net::SocketAddr>| x.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(
                s,
                "{:<4} {:<7} {:<45} 0x{:08X} {:<16} {:<9} {:>7} {:>6} {:>9} {:>5}  {}",
                st.index,
                st.sender.map_or("-", |p| p.as_str()),
                format!("{} -> {}", addr(st.src), addr(st.dst)),
                st.ssrc,
                terminal_safe(&st.codecs.join(","), 16),
                st.encryption.as_str(),
                st.packets,
                st.lost,
                st.max_jitter_ms
                    .map(|j| format!("{j:.2}"))
                    .unwrap_or_else(|| "-".into()),
                st.mos
                    .map(|m| format!("{m:.2}"))
                    .unwrap_or_else(|| "-".into()),
                st.call_id
                    .as_deref()
                    .map(|c| terminal_safe(c, 60))
                    .unwrap_or_else(|| "(unsignalled)".into()),
            );
        }
        if shown < a.streams.len() {
            let _ = writeln!(s, "... {} more", a.streams.len() - shown);
        }
        let _ = writeln!(s);
    }
}

/// T.38 and DTMF seen on calls.
fn render_fax_and_dtmf(s: &mut String, a: &Analysis) {
    use std::fmt::Write as _;
    let noted: Vec<_> = a
        .calls
        .iter()
        .filter(|c| !c.dtmf.is_empty() || c.t38.is_some())
        .collect();
    if !noted.is_empty() {
        for c in noted.iter().filter(|c| c.t38.is_some()) {
            let _ = writeln!(
                s,
                "T.38      {}  ({})",
                c.t38.as_deref().unwrap_or_default(),
                terminal_safe(&c.call_id, 80)
            );
        }
        for c in noted.iter().filter(|c| !c.dtmf.is_empty()) {
            let _ = writeln!(
                s,
                "DTMF      {}  ({})",
                terminal_safe(&c.dtmf, 100),
                terminal_safe(&c.call_id, 80)
            );
        }
        let _ = writeln!(s);
    }
}

/// STIR/SHAKEN: each signed call's attestation, verdict and signer.
fn render_identity(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    let signed: Vec<&earshot_core::model::Call> =
        a.calls.iter().filter(|c| c.identity.is_some()).collect();
    if signed.is_empty() {
        return;
    }
    let valid = signed
        .iter()
        .filter(|c| {
            c.identity
                .as_ref()
                .is_some_and(|i| i.verdict == IdentityVerdict::Valid)
        })
        .count();
    let _ = writeln!(
        s,
        "Identity  {} call(s) signed (STIR/SHAKEN), {valid} valid",
        signed.len()
    );
    let shown = if max_rows == 0 {
        signed.len()
    } else {
        max_rows.min(signed.len())
    };
    for c in signed.iter().take(shown) {
        let Some(id) = &c.identity else { continue };
        let signer = id.signer.as_ref().map_or_else(
            || "signer unknown".into(),
            earshot_core::model::Signer::label,
        );
        let _ = writeln!(
            s,
            "  {}  attest {}  {}  {}  frame {}",
            terminal_safe(&c.call_id, 48),
            id.attestation
                .as_deref()
                .map_or("-".to_string(), |x| terminal_safe(x, 4)),
            id.verdict,
            terminal_safe(&signer, 60),
            frame_label(id.frame)
        );
        for r in id.reasons.iter().take(4) {
            let _ = writeln!(s, "      {}", terminal_safe(r, 160));
        }
    }
    if shown < signed.len() {
        let _ = writeln!(s, "  ... {} more", signed.len() - shown);
    }
    let _ = writeln!(s);
}

/// TLS connections and whether the keys opened them.
fn render_tls(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    if !a.tls.is_empty() {
        let decrypted = a.tls.iter().filter(|t| t.decrypted).count();
        let _ = writeln!(
            s,
            "TLS       {} connection(s), {}",
            a.tls.len(),
            if decrypted > 0 {
                format!("{decrypted} decrypted with the keys given")
            } else {
                "content not readable in this capture".to_string()
            }
        );
        let shown = if max_rows == 0 {
            a.tls.len()
        } else {
            max_rows.min(a.tls.len())
        };
        for t in a.tls.iter().take(shown) {
            let state = match (&t.key_source, &t.not_decrypted) {
                (Some(k), _) if t.decrypted => format!(
                    "decrypted ({} {}, {} records)",
                    k.how,
                    terminal_safe(&k.source, 60),
                    t.records_decrypted
                ),
                (_, Some(why)) => format!("not decrypted: {}", terminal_safe(why, 120)),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} -> {}  {} {} (from the {})  {} records, frames {}-{}  {state}",
                t.client,
                t.server,
                terminal_safe(&t.version, 20),
                terminal_safe(t.cipher_suite.as_deref().unwrap_or(""), 60),
                terminal_safe(&t.version_source, 20),
                t.records,
                frame_label(t.first_frame),
                frame_label(t.last_frame)
            );
        }
        if shown < a.tls.len() {
            let _ = writeln!(s, "  ... {} more", a.tls.len() - shown);
        }
        let _ = writeln!(s);
    }
}

/// DTLS associations and their SRTP keys.
fn render_dtls(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    if !a.dtls.is_empty() {
        let _ = writeln!(s, "DTLS      {} association(s)", a.dtls.len());
        for d in a
            .dtls
            .iter()
            .take(if max_rows == 0 { usize::MAX } else { max_rows })
        {
            let state = match (&d.key_source, &d.not_decrypted) {
                (Some(k), _) if d.srtp_keys_derived => {
                    format!("SRTP keys derived ({})", terminal_safe(&k.source, 60))
                }
                (_, Some(why)) => format!("not decrypted: {}", terminal_safe(why, 120)),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} -> {}  {} {} SRTP {}  frames {}-{}  {state}",
                d.client,
                d.server,
                terminal_safe(&d.version, 20),
                terminal_safe(d.cipher_suite.as_deref().unwrap_or(""), 60),
                terminal_safe(d.srtp_profile.as_deref().unwrap_or("none"), 40),
                frame_label(d.first_frame),
                frame_label(d.last_frame)
            );
        }
        let _ = writeln!(s);
    }
}

/// The key files given, with their SHA-256 (keys are evidence).
fn render_keys(s: &mut String, a: &Analysis) {
    use std::fmt::Write as _;
    if !a.key_sources.is_empty() {
        let _ = writeln!(
            s,
            "Keys      {} source(s) (keys are evidence: their SHA-256)",
            a.key_sources.len()
        );
        for k in &a.key_sources {
            let _ = writeln!(
                s,
                "  {} {}  {} sessions, {} unusable lines  sha256 {}",
                terminal_safe(&k.kind, 20),
                terminal_safe(&k.name, 80),
                k.entries,
                k.bad_lines,
                k.sha256
            );
        }
        let _ = writeln!(s);
    }
}

/// What an eavesdropper learns.
fn render_exposure(s: &mut String, a: &Analysis) {
    use std::fmt::Write as _;
    let x = &a.exposure;
    if x.plaintext_sip_messages > 0 || x.reconstructable_streams > 0 {
        let _ = writeln!(s, "What an eavesdropper learns");
        let _ = writeln!(
            s,
            "  {} SIP messages in clear, {} TLS connections; {} calls between {} pairs of parties",
            x.plaintext_sip_messages,
            x.tls_connections,
            x.call_graph.iter().map(|e| e.calls).sum::<u64>(),
            x.call_graph.len()
        );
        for e in x.call_graph.iter().take(5) {
            let _ = writeln!(
                s,
                "    {} -> {}: {} calls, {} answered, {:.0} s",
                terminal_safe(&e.from, 40),
                terminal_safe(&e.to, 40),
                e.calls,
                e.answered,
                e.talk_secs
            );
        }
        let _ = writeln!(
            s,
            "  audio that plays back: {} streams, {:.0} s; digest credentials: {} accounts; SRTP keys in clear: {}; \
             devices: {}",
            x.reconstructable_streams,
            x.reconstructable_audio_secs,
            x.credentials.len(),
            x.srtp_keys_exposed,
            x.devices.len()
        );
        for d in &x.dtmf {
            let _ = writeln!(
                s,
                "  DTMF typed to {}: {}",
                terminal_safe(&d.to, 40),
                terminal_safe(&d.digits, 60)
            );
        }
        let _ = writeln!(s);
    }
}

/// Findings, most severe first as the analysis orders them.
fn render_findings(s: &mut String, a: &Analysis, max_rows: usize) {
    use std::fmt::Write as _;
    if a.findings.is_empty() {
        let _ = writeln!(s, "Findings  none\n");
    } else {
        let _ = writeln!(s, "Findings  {}", a.findings.len());
        for f in a
            .findings
            .iter()
            .take(if max_rows == 0 { usize::MAX } else { max_rows })
        {
            let _ = writeln!(
                s,
                "  {:<8} {:<20} {}",
                f.severity.as_str(),
                f.rule_id,
                terminal_safe(&f.title, 100)
            );
        }
        let _ = writeln!(s);
    }
}

/// Diagnostics worth attention (the first ten).
fn render_diagnostics(s: &mut String, a: &Analysis) {
    use std::fmt::Write as _;
    let worth = a
        .diagnostics
        .iter()
        .filter(|d| d.level >= DiagLevel::Warning)
        .count();
    let _ = writeln!(
        s,
        "Diagnostics {} ({} worth attention{})",
        a.summary.diagnostics,
        worth,
        if a.diagnostics_dropped > 0 {
            format!(", {} not stored", a.diagnostics_dropped)
        } else {
            String::new()
        }
    );
    for d in a
        .diagnostics
        .iter()
        .filter(|d| d.level >= DiagLevel::Warning)
        .take(10)
    {
        let frame = d
            .frame
            .map(|f| format!("frame {}", frame_label(f)))
            .unwrap_or_else(|| "file".into());
        let _ = writeln!(
            s,
            "  {:?} {} [{:?}]: {}",
            d.level,
            frame,
            d.layer,
            terminal_safe(&d.message, 200)
        );
    }
}
