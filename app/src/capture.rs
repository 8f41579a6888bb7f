//! `earshot capture -i IFACE -w evidence.pcapng`: live capture that saves every packet to an evidence file first
//! and analyses it with the same incremental pipeline (`crate::live`). Ctrl+C (SIGINT) or SIGTERM stops cleanly:
//! the evidence is flushed, the analysis finished and the summary printed like `earshot analyze`.
//!
//! Exit codes: 0 finished cleanly; 1 finished, with diagnostics worth attention (drops, packets not analysed live,
//! damaged frames); 2 could not capture (no permission: the message says what is missing and how to grant it; no
//! such interface; bad filter; evidence file not writable) or the capture stopped on an error.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use earshot_core::AnalyzeOptions;
use earshot_core::model::DiagLevel;
use earshot_core::report::json;

use crate::live::evidence::Ring;
use crate::live::{self, LiveConfig, LiveError, safe};

#[derive(Args)]
pub struct CaptureArgs {
    /// Interface to capture on (see --list-interfaces).
    #[arg(short = 'i', long, required_unless_present = "list_interfaces")]
    pub interface: Option<String>,
    /// Capture filter (libpcap/BPF syntax, as tcpdump). Without it every packet is captured.
    #[arg(short = 'f', long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Evidence file (pcapng) every packet is written to before it is analysed. It must not exist yet.
    #[arg(
        short = 'w',
        long,
        value_name = "PATH",
        required_unless_present = "list_interfaces"
    )]
    pub write: Option<PathBuf>,
    /// Ring buffer: start a new file (NAME_00001.pcapng, NAME_00002.pcapng...) every SIZE_MB megabytes and keep
    /// only the newest COUNT files. The analysis runs across rotations.
    #[arg(long, value_name = "SIZE_MB,COUNT", value_parser = parse_ring)]
    pub ring: Option<Ring>,
    /// Stop after this many seconds (otherwise Ctrl+C or SIGTERM stops).
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Write the full analysis as JSON to this path when the capture stops.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Print neither the live counters nor the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// List the interfaces that can be captured on (name, description, addresses, flags) and exit.
    #[arg(long)]
    pub list_interfaces: bool,
    /// Rule thresholds and lists (TOML; see docs/findings.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

fn parse_ring(s: &str) -> Result<Ring, String> {
    let (size, count) = s
        .split_once(',')
        .ok_or_else(|| "expected SIZE_MB,COUNT, e.g. 100,10".to_string())?;
    let size: u64 = size
        .trim()
        .parse()
        .map_err(|_| format!("SIZE_MB is not a whole number: {size}"))?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("COUNT is not a whole number: {count}"))?;
    if size == 0 || count == 0 {
        return Err("SIZE_MB and COUNT must be at least 1".into());
    }
    Ok(Ring {
        size_bytes: size.saturating_mul(1_000_000),
        count,
    })
}

pub fn run(args: &CaptureArgs) -> ExitCode {
    if args.list_interfaces {
        return match list() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("earshot: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run_inner(args) {
        Ok(code) => code,
        Err(LiveError::Permission(m)) => {
            eprintln!("earshot capture: {m}");
            ExitCode::from(2)
        }
        Err(LiveError::Other(e)) => {
            eprintln!("earshot capture: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn list() -> Result<()> {
    let mut out = std::io::stdout().lock();
    for d in live::list_interfaces()? {
        let mut flags = Vec::new();
        flags.push(if d.up { "up" } else { "down" });
        if d.loopback {
            flags.push("loopback");
        }
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            out,
            "{:<16} {:<14} {:<40} {}",
            safe(&d.name),
            flags.join(","),
            addrs.join(" "),
            d.description.as_deref().map(safe).unwrap_or_default()
        );
    }
    Ok(())
}

fn run_inner(args: &CaptureArgs) -> Result<ExitCode, LiveError> {
    let (Some(interface), Some(evidence)) = (&args.interface, &args.write) else {
        return Err(LiveError::Other(anyhow::anyhow!(
            "-i INTERFACE and -w FILE are required"
        )));
    };
    let mut opts = AnalyzeOptions::default();
    // Per-packet series are for plots: the headless form does not keep them (and they grow with the capture).
    opts.limits.media.max_series_points = 0;
    if let Some(path) = &args.rules {
        opts.rules = earshot_core::findings::Settings::from_toml_file(path)
            .map_err(|e| LiveError::Other(e.into()))?;
    }
    let duration = match args.duration {
        Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
        Some(d) => {
            return Err(LiveError::Other(anyhow::anyhow!(
                "--duration must be a positive number of seconds, not {d}"
            )));
        }
        None => None,
    };
    let cfg = LiveConfig {
        interface: interface.clone(),
        filter: args.filter.clone().filter(|f| !f.trim().is_empty()),
        evidence: evidence.clone(),
        ring: args.ring,
        duration,
        promisc: !args.no_promisc,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("cannot install the Ctrl+C / SIGTERM handler")
            .map_err(LiveError::Other)?;
    }
    let tty = std::io::stderr().is_terminal();
    if !args.quiet {
        eprintln!(
            "earshot capture: capturing on {} into {}{}; Ctrl+C stops",
            safe(interface),
            safe(&evidence.display().to_string()),
            match &cfg.filter {
                Some(f) => format!(" (filter: {})", safe(f)),
                None => String::new(),
            }
        );
    }
    let started = Instant::now();
    let quiet = args.quiet;
    let outcome = live::run(&cfg, opts, stop, &mut |st, snap| {
        if quiet {
            return;
        }
        let line = format!(
            "{:>6.0} s  packets {}  bytes {}  dropped {}  calls {}  streams {}  findings {}",
            st.elapsed_ms as f64 / 1000.0,
            st.packets,
            st.bytes,
            st.dropped + st.if_dropped,
            snap.summary.invite_dialogs,
            snap.streams.len(),
            snap.findings.len()
        );
        if tty {
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    })?;
    if tty && !quiet {
        eprintln!();
    }
    let a = &outcome.analysis;
    if let Some(path) = &args.json {
        let f = File::create(path)
            .with_context(|| format!("cannot create JSON output {}", path.display()))
            .map_err(LiveError::Other)?;
        json::write_json(a, BufWriter::new(f))
            .with_context(|| format!("writing JSON to {}", path.display()))
            .map_err(LiveError::Other)?;
    }
    if !quiet {
        let mut text = crate::analyze::render_summary(a, 50, started.elapsed());
        let s = &outcome.stats;
        text.push_str(&format!(
            "\nCapture   {} packets saved ({} bytes); libpcap: {} received, {} dropped by the kernel, {} by the \
             interface; {} not analysed live\n",
            s.packets, s.bytes, s.received, s.dropped, s.if_dropped, s.not_analysed
        ));
        text.push_str("Evidence  ");
        if outcome.files.is_empty() {
            text.push_str("(no file)\n");
        }
        for (i, f) in outcome.files.iter().enumerate() {
            if i > 0 {
                text.push_str("          ");
            }
            let range = match (f.first_frame, f.last_frame) {
                (Some(a), Some(b)) => format!("frames {a}-{b}"),
                _ => "no packets".into(),
            };
            text.push_str(&format!(
                "{}  {} packets ({range}), {} bytes, SHA-256 {}\n",
                safe(&f.path.display().to_string()),
                f.packets,
                f.bytes,
                f.sha256
            ));
        }
        if args.ring.is_some() {
            text.push_str(&format!(
                "          ({} older ring files deleted; frame numbers above count from the start of the capture, \
                 each file numbers its own packets from 1)\n",
                outcome.files_removed
            ));
        }
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
    if let Some(e) = &outcome.error {
        eprintln!("earshot capture: the capture stopped early: {e}");
        return Ok(ExitCode::from(2));
    }
    let attention = a.diagnostics.iter().any(|d| d.level >= DiagLevel::Warning);
    Ok(if attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_argument() {
        assert_eq!(
            parse_ring("100,10"),
            Ok(Ring {
                size_bytes: 100_000_000,
                count: 10
            })
        );
        assert!(parse_ring("100").is_err());
        assert!(parse_ring("0,3").is_err());
        assert!(parse_ring("x,3").is_err());
    }
}
