//! `earshot`: the desktop app and the headless subcommands over `earshot-core`.

mod analyze;
mod audit;
mod capture;
mod case_args;
mod decrypt;
mod export_audio;
mod files;
mod gui;
mod keys;
mod live;
mod player;
mod report_cmd;
mod store_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "earshot",
    version,
    about = "Forensic analyzer for VoIP packet captures"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Capture to open in the desktop app (without a subcommand); several files or a folder open as a case; a
    /// case store (`analyze --store`) opens in the Store window.
    #[arg(value_name = "FILE")]
    files: Vec<std::path::PathBuf>,
    /// Keys for the desktop app's session (key logs and RSA keys, as File > Keys...).
    #[command(flatten)]
    keys: keys::KeyArgs,
    /// Do not append this command's actions (captures analysed, files written, audio played) to the audit log
    /// the app also writes (`EARSHOT_AUDIT_LOG`, else ~/.local/share/earshot/audit.jsonl).
    #[arg(long, global = true)]
    no_audit: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a capture: print a summary and the call table; optionally write JSON and CSV.
    ///
    /// Exit codes: 0 analysis finished cleanly; 1 analysis finished but found diagnostics worth attention
    /// (warnings or errors: damaged frames, truncated file, unparseable SIP, limits hit); 2 unusable input
    /// (missing file, not a capture, unreadable header) or an output that could not be written.
    Analyze(analyze::AnalyzeArgs),
    /// Decode a call's audio (or chosen streams) to WAV: stereo with caller left and callee right, or one file
    /// per stream. SRTP is decrypted when its keys are in the capture's SDP or given with --srtp-key.
    ///
    /// Exit codes: 0 every stream decoded; 1 written, but some stream could not be decoded (the reason is
    /// printed); 2 nothing could be written.
    ExportAudio(export_audio::ExportAudioArgs),
    /// Play a call's audio (or chosen streams) on the default audio output, caller left and callee right.
    /// Without an output device it says "no audio output device" and exits with 2.
    Play(export_audio::PlayArgs),
    /// Write evidence-grade exports: PDF report, CSV tables, JSON, per-call pcapng, ladder images, blocklists.
    Report(report_cmd::ReportArgs),
    /// Capture live from an interface into an evidence file while analysing it.
    Capture(capture::CaptureArgs),
    /// Write the capture with its TLS-protected SIP decrypted into plaintext packets (for sngrep, Wireshark, or
    /// Earshot without keys), using a key log or the server's RSA key.
    ///
    /// Exit codes: 0 every TLS connection decrypted; 1 written, but some connection could not be decrypted (the
    /// reason is printed); 2 nothing written.
    Decrypt(decrypt::DecryptArgs),
    /// Run read-only SQL (or a saved hunt) over a case store written by `earshot analyze --store DIR`.
    ///
    /// Exit codes: 0 the query ran over the whole store; 1 it ran, but some partitions were left out (damaged,
    /// newer schema, interrupted write: each is named on stderr); 2 the store or the SQL was refused.
    Query(store_cmd::QueryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_some() {
        audit::init_cli(!cli.no_audit);
    }
    match cli.command {
        Some(Command::Analyze(args)) => analyze::run(&args),
        Some(Command::ExportAudio(args)) => export_audio::run(&args),
        Some(Command::Play(args)) => export_audio::run_play(&args),
        Some(Command::Report(args)) => report_cmd::run(&args),
        Some(Command::Capture(args)) => capture::run(&args),
        Some(Command::Decrypt(args)) => decrypt::run(&args),
        Some(Command::Query(args)) => store_cmd::query(&args),
        None => match gui::run(
            cli.files,
            cli.keys
                .keylog
                .iter()
                .chain(&cli.keys.tls_key)
                .cloned()
                .collect(),
            (cli.keys.certs.clone(), cli.keys.sti_roots.clone()),
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("earshot: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}
