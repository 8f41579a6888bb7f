//! `earshot capture -i IFACE`: live capture that saves every packet to an evidence file first and analyses it
//! with the same incremental pipeline.
use std::process::ExitCode;

use clap::Args;

#[derive(Args)]
pub struct CaptureArgs {
    /// Interface to capture on.
    #[arg(short = 'i', long)]
    pub interface: String,
}

pub fn run(_args: &CaptureArgs) -> ExitCode {
    eprintln!("earshot capture: not built yet");
    ExitCode::from(2)
}
