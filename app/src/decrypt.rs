//! `earshot decrypt FILE --keylog K -o plain.pcapng`: the capture with its TLS-protected SIP as plaintext packets.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use earshot_core::report::terminal_safe;
use earshot_core::{AnalyzeOptions, analyze_file};

#[derive(Args)]
pub struct DecryptArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed).
    pub file: PathBuf,
    /// Output pcapng: every frame as captured, except the TCP segments of the TLS connections the keys open,
    /// replaced by their SIP as plaintext TCP packets (same addresses, ports and timestamps).
    #[arg(long, short, value_name = "OUT.pcapng")]
    pub output: PathBuf,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
    /// Worker threads for the analysis (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

pub fn run(args: &DecryptArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &DecryptArgs) -> Result<ExitCode> {
    let keys = args.keys.load()?;
    let mut opts = AnalyzeOptions {
        threads: args.threads,
        keys: keys.clone(),
        ..Default::default()
    };
    opts.limits.media.max_series_points = 0;
    opts.rules.crack_passwords = false;
    let analysis = analyze_file(&args.file, &opts, &mut |_| {})
        .with_context(|| format!("analysing {}", args.file.display()))?;
    if analysis.key_sources.is_empty() {
        bail!(
            "no keys: give --keylog FILE or --tls-key PEM (the capture holds no key log of its own)"
        );
    }
    for d in analysis
        .diagnostics
        .iter()
        .filter(|d| d.layer == earshot_core::model::Layer::Tls)
    {
        eprintln!("earshot: {}", terminal_safe(&d.message, 300));
    }
    let s = earshot_core::decrypted::write_decrypted_pcapng(
        &args.file,
        &analysis,
        keys.unwrap_or_default(),
        &args.output,
    )?;
    crate::audit::cli_record(
        "decrypt",
        &args.file,
        &analysis.capture.sha256,
        vec![
            (
                "output",
                serde_json::Value::from(args.output.display().to_string()),
            ),
            ("sip_messages", serde_json::Value::from(s.sip_messages)),
        ],
    );
    println!(
        "{}: {} of {} TLS connections decrypted; {} SIP messages written as {} plaintext packets in place of {} \
         TLS segments; {} other frames copied as captured",
        args.output.display(),
        s.connections,
        analysis.tls.len(),
        s.sip_messages,
        s.plaintext_packets,
        s.tls_frames_replaced,
        s.frames_copied
    );
    Ok(if s.connections < analysis.tls.len() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
