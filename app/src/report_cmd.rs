//! `earshot report FILE`: evidence-grade exports (PDF, CSV, JSON, per-call pcap, ladders, blocklists) through
//! core's report writers.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args)]
pub struct ReportArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed).
    pub file: PathBuf,
}

pub fn run(_args: &ReportArgs) -> ExitCode {
    eprintln!("earshot report: not built yet");
    ExitCode::from(2)
}
