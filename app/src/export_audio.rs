//! `earshot export-audio FILE --call ID | --stream N …`: decode a call's (or chosen streams') audio to WAV.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use earshot_core::AnalyzeOptions;
use earshot_core::audio::{
    self, AudioRequest, ManualKey, StreamAudio, TimelineOptions, TimingMode, safe_file_stem, wav,
};
use earshot_core::codec::CodecSpec;
use earshot_core::model::Analysis;
use earshot_core::report::terminal_safe;

#[derive(Args, Clone)]
pub struct AudioArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); several files, folders or quoted glob patterns
    /// make a case (a call whose packets span rotated files is decoded whole).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub case: crate::case_args::CaseArgs,
    /// Call-ID of the call whose streams to decode.
    #[arg(long, value_name = "CALL-ID", required_unless_present = "stream")]
    pub call: Option<String>,
    /// Stream index (as in `earshot analyze --json`'s `streams[].index`); repeatable.
    #[arg(long, value_name = "N")]
    pub stream: Vec<usize>,
    /// Timing: `jitter[:MS]` (jitter buffer, default 50 ms: late packets are dropped), `rtp` (by RTP timestamp),
    /// `uninterrupted` (back to back, silences removed).
    #[arg(long, default_value = "jitter:50", value_name = "MODE")]
    pub timing: TimingMode,
    /// SRTP key by hand: `SSRC:SUITE:KEY` (SSRC as 0x1234ABCD, or `stream=N`, or `*`), e.g.
    /// `*:AES_CM_128_HMAC_SHA1_80:aSBrbm93...`. Keys in plaintext SDP (`a=crypto`) are used without this.
    #[arg(long = "srtp-key", value_name = "TARGET:SUITE:KEY")]
    pub srtp_keys: Vec<ManualKey>,
    /// Codec of a payload type the SDP does not describe: `PT=NAME/RATE[/CHANNELS]`, e.g. `111=opus/48000/2`.
    #[arg(long = "payload-type", value_name = "PT=NAME/RATE", value_parser = parse_pt)]
    pub payload_types: Vec<(u8, CodecSpec)>,
    /// Worker threads for reading the capture (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print how long each phase took (analysis, re-reading the packets, decoding, writing) on stderr.
    #[arg(long)]
    pub timings: bool,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
}

#[derive(Args)]
pub struct ExportAudioArgs {
    #[command(flatten)]
    pub audio: AudioArgs,
    /// One stereo WAV: caller left, callee right (the default).
    #[arg(long, conflicts_with = "per_stream")]
    pub stereo: bool,
    /// One mono WAV per stream, named OUT-s<INDEX>-<SSRC>.wav, each aligned on the call's timeline (leading
    /// silence until the stream starts) so the files line up in an audio editor.
    #[arg(long)]
    pub per_stream: bool,
    /// Output WAV (default: the Call-ID, made safe as a file name, in the current directory).
    #[arg(long, short, value_name = "OUT.wav")]
    pub output: Option<PathBuf>,
}

fn parse_pt(s: &str) -> Result<(u8, CodecSpec), String> {
    let (pt, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("expected PT=NAME/RATE, got `{s}`"))?;
    let pt: u8 = pt
        .trim()
        .parse()
        .ok()
        .filter(|p| *p < 128)
        .ok_or_else(|| format!("bad payload type `{pt}` (0-127)"))?;
    let mut it = rest.split('/');
    let name = it.next().unwrap_or_default().trim().to_string();
    let rate: u32 = it
        .next()
        .and_then(|r| r.trim().parse().ok())
        .ok_or_else(|| format!("missing or bad clock rate in `{s}`"))?;
    let channels: u8 = match it.next() {
        Some(c) => c
            .trim()
            .parse()
            .map_err(|_| format!("bad channel count in `{s}`"))?,
        None => 1,
    };
    if name.is_empty() {
        return Err(format!("missing codec name in `{s}`"));
    }
    Ok((
        pt,
        CodecSpec {
            name,
            clock_rate_hz: rate,
            channels,
            fmtp: None,
        },
    ))
}

/// Analyses the capture and decodes the asked streams (shared with `earshot play`).
pub fn decode(args: &AudioArgs) -> Result<(Analysis, Vec<StreamAudio>)> {
    let mut opts = AnalyzeOptions {
        threads: args.threads,
        keys: args.keys.load()?,
        identity: args.keys.load_identity()?,
        ..Default::default()
    };
    opts.limits.media.max_series_points = 0;
    // Only the calls and streams matter here: no password cracking before decoding.
    opts.rules.crack_passwords = false;
    let t0 = Instant::now();
    let source = args.case.source(&args.files)?;
    let analysis = source
        .analyze(&opts, &mut |_| {})
        .with_context(|| format!("cannot analyse {}", source.first_path().display()))?;
    let t_analysis = t0.elapsed();
    let mut streams = args.stream.clone();
    if let Some(call) = &args.call {
        streams.extend(audio::call_streams(&analysis, call)?);
    }
    streams.sort_unstable();
    streams.dedup();
    let req = AudioRequest {
        streams,
        timeline: TimelineOptions {
            mode: args.timing,
            ..Default::default()
        },
        keys: args.srtp_keys.clone(),
        payload_types: args.payload_types.clone(),
        max_packet_bytes: 0,
    };
    let t1 = Instant::now();
    let tap = audio::collect_packets_from(&source, &analysis, &req, &opts, &mut |_| {})?;
    let t_collect = t1.elapsed();
    let t2 = Instant::now();
    let decoded = audio::decode_collected(&analysis, &req, &tap);
    if args.timings {
        eprintln!(
            "timings: analysis {:.3} s, re-reading {} packets {:.3} s, decoding {:.3} s",
            t_analysis.as_secs_f64(),
            tap.packets.values().map(Vec::len).sum::<usize>(),
            t_collect.as_secs_f64(),
            t2.elapsed().as_secs_f64()
        );
    }
    Ok((analysis, decoded))
}

/// Prints one line per stream: what was decoded, or exactly why not.
pub fn print_status(decoded: &[StreamAudio]) {
    for s in decoded {
        let d = &s.decoded;
        let secs = d.samples.len() as f64 / f64::from(d.rate_hz.max(1));
        eprintln!(
            "stream {}: {} — {}{}",
            s.stream_index,
            terminal_safe(&s.label, 200),
            terminal_safe(&s.status, 400),
            if s.playable {
                format!(", {secs:.2} s at {} Hz", d.rate_hz)
            } else {
                String::new()
            }
        );
    }
}

pub fn run(args: &ExportAudioArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &ExportAudioArgs) -> Result<ExitCode> {
    let (analysis, decoded) = decode(&args.audio)?;
    print_status(&decoded);
    if !decoded.iter().any(|s| s.playable) {
        bail!("nothing to export: no stream could be decoded (see the lines above)");
    }
    let out = match &args.output {
        Some(p) => p.clone(),
        None => {
            let stem = match &args.audio.call {
                Some(c) => safe_file_stem(c),
                None => "streams".to_string(),
            };
            PathBuf::from(format!("{stem}.wav"))
        }
    };
    let t_write = Instant::now();
    let partial = decoded.iter().any(|s| !s.playable);
    let ssrcs: Vec<u32> = decoded
        .iter()
        .filter(|s| s.playable)
        .map(|s| s.ssrc)
        .collect();
    let call = audio::mix(decoded);
    let out_for_manifest = out.clone();
    let mut written = Vec::new();
    if args.per_stream {
        for (t, ssrc) in call.tracks.iter().zip(ssrcs) {
            let p = sibling(
                &out,
                &format!("-s{}-{ssrc:08x}", t.stream_index.unwrap_or(0)),
            );
            wav::write_path(&p, |w| wav::write_track(w, call.rate_hz, t))?;
            written.push(p);
        }
    } else {
        wav::write_path(&out, |w| wav::write_stereo(w, &call))?;
        written.push(out);
    }
    if args.audio.timings {
        eprintln!(
            "timings: mixing and writing {:.3} s",
            t_write.elapsed().as_secs_f64()
        );
    }
    // The WAV set describes itself: OUT.wav.manifest.json (evidence SHA-256, settings, each file's SHA-256).
    let now = crate::audit::now_nanos();
    let records: Vec<earshot_core::report::ExportRecord> = written
        .iter()
        .map(|p| earshot_core::report::ExportRecord {
            time_nanos: now,
            kind: "wav".into(),
            path: p.display().to_string(),
        })
        .collect();
    let manifest_path = earshot_core::report::manifest::beside(&out_for_manifest);
    earshot_core::report::manifest::write_manifest(
        &manifest_path,
        &analysis,
        &records,
        now,
        false,
    )?;
    written.push(manifest_path);
    for p in &written {
        let kind = if p.extension().is_some_and(|e| e == "wav") {
            "wav"
        } else {
            "manifest"
        };
        crate::audit::cli_exported(
            &args.audio.files.first().cloned().unwrap_or_default(),
            &analysis.capture.sha256,
            kind,
            p,
        );
        println!("{}", p.display());
    }
    Ok(if partial {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `dir/name.wav` + suffix → `dir/name<suffix>.wav`.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audio".into());
    out.with_file_name(format!("{stem}{suffix}.wav"))
}

#[derive(Args)]
pub struct PlayArgs {
    #[command(flatten)]
    pub audio: AudioArgs,
    /// Start this many seconds into the call.
    #[arg(long, default_value_t = 0.0, value_name = "SECS")]
    pub from: f64,
    /// Play at most this many seconds.
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<f64>,
}

/// `earshot play`: decode as `export-audio` does and play through the default audio output.
pub fn run_play(args: &PlayArgs) -> ExitCode {
    let res = (|| -> Result<()> {
        let (analysis, decoded) = decode(&args.audio)?;
        print_status(&decoded);
        if !decoded.iter().any(|s| s.playable) {
            bail!("nothing to play: no stream could be decoded (see the lines above)");
        }
        crate::audit::cli_record(
            "play",
            &args.audio.files.first().cloned().unwrap_or_default(),
            &analysis.capture.sha256,
            vec![(
                "call",
                serde_json::Value::from(args.audio.call.clone().unwrap_or_default()),
            )],
        );
        let call = std::sync::Arc::new(audio::mix(decoded));
        let total = call.len_samples() as f64 / f64::from(call.rate_hz.max(1));
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        crate::player::play_blocking(call, args.from, args.seconds, |pos| {
            if tty {
                eprint!("\r▶ {pos:7.2} / {total:.2} s ");
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        if tty {
            eprintln!();
        }
        Ok(())
    })();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("earshot: {e:#}");
            ExitCode::from(2)
        }
    }
}
