//! The case store from the command line: `earshot analyze … --store DIR` (one capture, or `--each` file alone)
//! and `earshot query DIR "SQL"` / `--hunt NAME`.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use earshot_core::AnalyzeOptions;
use earshot_core::model::Analysis;
use earshot_core::report::terminal_safe;
use earshot_core::store::Store;

/// Write one analysis into the store at `dir` and say so on stderr.
pub fn write(dir: &Path, a: &Analysis, paths: &[String], file: &Path) -> Result<()> {
    let store = Store::create(dir)?;
    let w = store
        .write(a, paths)
        .with_context(|| format!("writing {} into the store", file.display()))?;
    eprintln!(
        "store: {} {} ({} calls) in {}",
        if w.replaced { "replaced" } else { "added" },
        terminal_safe(&a.capture.file, 200),
        w.rows_of("calls"),
        dir.display()
    );
    crate::audit::cli_record(
        "store",
        file,
        &a.capture.sha256,
        vec![("store", serde_json::Value::from(dir.display().to_string()))],
    );
    Ok(())
}

/// `earshot analyze --each --store DIR INPUTS…`: every file analysed alone and written as its own capture.
/// A file that cannot be analysed is reported and the others go on (exit code 1); none analysed is code 2.
pub fn analyze_each(args: &crate::analyze::AnalyzeArgs, opts: &AnalyzeOptions) -> Result<ExitCode> {
    let Some(dir) = &args.store else {
        bail!("--each needs --store DIR");
    };
    let store = Store::create(dir)?;
    let files = earshot_core::case::expand_inputs(&args.files)?;
    let mut failed = 0usize;
    let mut out = std::io::stdout().lock();
    for path in &files {
        let a = match earshot_core::pipeline::analyze_file(path, opts, &mut |_| {}) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("earshot: {}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let paths = earshot_core::case::Source::File(path.clone()).numbered_paths();
        let w = store
            .write(&a, &paths)
            .with_context(|| format!("writing {} into the store", path.display()))?;
        crate::audit::cli_record(
            "store",
            path,
            &a.capture.sha256,
            vec![("store", serde_json::Value::from(dir.display().to_string()))],
        );
        if !args.quiet {
            let _ = writeln!(
                out,
                "{}\t{}\t{} calls\t{} streams\t{} findings\t{}",
                terminal_safe(&path.display().to_string(), 300),
                a.capture.sha256,
                w.rows_of("calls"),
                w.rows_of("streams"),
                w.rows_of("findings"),
                if w.replaced { "replaced" } else { "added" }
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else if failed == files.len() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    })
}

#[derive(Args)]
pub struct QueryArgs {
    /// The store folder (made by `earshot analyze --store DIR`, or by the Spark job of scale/spark/).
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The SQL to run (read-only: SELECT, WITH, EXPLAIN, SHOW, DESCRIBE). Tables: captures, calls, legs, messages,
    /// streams, findings, dtmf, credentials (docs/store.md).
    #[arg(value_name = "SQL", required_unless_present_any = ["hunt", "list_hunts", "pull"])]
    pub sql: Option<String>,
    /// Run a saved hunt instead of SQL (`--list-hunts` names them).
    #[arg(long, value_name = "NAME", conflicts_with = "sql")]
    pub hunt: Option<String>,
    /// List the saved hunts with their SQL.
    #[arg(long)]
    pub list_hunts: bool,
    /// Output format: a text table (default on a terminal), csv or json (one object per row).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Rows to print at most (0 = all).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub limit: usize,
    /// Instead of SQL: cut this call's frames out of its original capture file(s) into a pcapng (-o), when the
    /// paths the store recorded are reachable and still hold the same bytes (SHA-256 checked).
    #[arg(long, value_name = "CALL_ID", conflicts_with_all = ["sql", "hunt", "list_hunts"], requires = "output")]
    pub pull: Option<String>,
    /// With --pull: the capture (SHA-256) the call is in, when the Call-ID is in several.
    #[arg(long, value_name = "SHA256", requires = "pull")]
    pub capture: Option<String>,
    /// With --pull: the pcapng to write.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn query(args: &QueryArgs) -> ExitCode {
    match query_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn query_inner(args: &QueryArgs) -> Result<ExitCode> {
    use earshot_core::store::query::{self, HUNTS};
    if args.list_hunts {
        let mut out = std::io::stdout().lock();
        for h in HUNTS {
            let _ = if args.format.as_deref() == Some("json") {
                let v = serde_json::json!({"name": h.name, "title": h.title, "sql": h.sql()});
                writeln!(out, "{v}")
            } else {
                writeln!(out, "{}\t{}\n{}\n", h.name, h.title, h.sql())
            };
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(call_id) = &args.pull {
        return pull(args, call_id);
    }
    let sql = match (&args.hunt, &args.sql) {
        (Some(name), _) => match HUNTS.iter().find(|h| h.name == name.as_str()) {
            Some(h) => h.sql(),
            None => bail!(
                "no saved hunt {name:?}; the hunts are: {}",
                HUNTS.iter().map(|h| h.name).collect::<Vec<_>>().join(", ")
            ),
        },
        (None, Some(sql)) => sql.clone(),
        (None, None) => bail!("give the SQL to run, or --hunt NAME"),
    };
    let format = match args.format.as_deref() {
        Some(f @ ("table" | "csv" | "json")) => f.to_string(),
        Some(f) => bail!("--format {f:?}: expected table, csv or json"),
        None if std::io::stdout().is_terminal() => "table".into(),
        None => "csv".into(),
    };
    let result = query::run(&args.store, &sql)?;
    for p in &result.skipped {
        eprintln!("earshot: {}", terminal_safe(p, 400));
    }
    let mut out = std::io::stdout().lock();
    let limit = if args.limit == 0 {
        usize::MAX
    } else {
        args.limit
    };
    let text = match format.as_str() {
        "csv" => result.to_csv(limit),
        "json" => result.to_json_lines(limit),
        _ => result.to_table(limit),
    };
    // A closed pipe (`| head`) is not a failure.
    let _ = out.write_all(text.as_bytes());
    Ok(if result.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `earshot query STORE --pull CALL_ID -o FILE`: the call's evidence pcapng from the original capture.
fn pull(args: &QueryArgs, call_id: &str) -> Result<ExitCode> {
    use earshot_core::store::{pull, query};
    let Some(out) = &args.output else {
        bail!("--pull needs -o FILE");
    };
    let capture = match &args.capture {
        Some(c) => c.clone(),
        None => {
            let sql = format!(
                "SELECT DISTINCT capture_sha256 FROM calls WHERE call_id = '{}' ORDER BY capture_sha256",
                call_id.replace('\'', "''")
            );
            let r = query::run(&args.store, &sql)?;
            let found: Vec<String> = r
                .cells(usize::MAX)
                .into_iter()
                .filter_map(|row| row.into_iter().next().flatten())
                .collect();
            match found.as_slice() {
                [one] => one.clone(),
                [] => bail!(
                    "no call with Call-ID {:?} in the store",
                    terminal_safe(call_id, 200)
                ),
                many => bail!(
                    "Call-ID {:?} is in {} captures; choose one with --capture: {}",
                    terminal_safe(call_id, 200),
                    many.len(),
                    many.join(", ")
                ),
            }
        }
    };
    let store = Store::open(&args.store)?;
    let summary = pull::pull_call(&store, &capture, call_id, out, &AnalyzeOptions::default())?;
    eprintln!(
        "wrote {} ({} frames: {} SIP, {} RTP, {} RTCP) from capture {capture}",
        out.display(),
        summary.frames_written,
        summary.sip_frames,
        summary.rtp_frames,
        summary.rtcp_frames
    );
    crate::audit::cli_record(
        "export",
        &args.store,
        &capture,
        vec![("pcapng", serde_json::Value::from(out.display().to_string()))],
    );
    Ok(ExitCode::SUCCESS)
}
