//! `samplegen`: writes Earshot's deterministic generated captures.
//!
//! `samplegen bench [--calls N] [--talk-secs S] [--stagger-ms M] [--dns-every-ms D] [--srtp] [--mix] [--accounts N] -o FILE`
//!   writes a benchmark capture (SIP calls with two-way G.711 RTP and DNS noise) and prints what it contains as
//!   JSON on standard output, so the benchmark can check Earshot's counts.
//! `samplegen clean-call -o FILE`
//!   writes the bundled clean G.711 sample (one answered call, 10 s of two-way tones, BYE).
//! `samplegen srtp-sdes-call -o FILE`
//!   the same call with SRTP whose SDES keys travel in the plaintext SDP (`a=crypto`).
//! `--srtp` makes any `bench` capture SRTP (SDES keys in the SDP). `--mix` adds the performance issue's realistic
//! mix: RTP loss, RFC 4733 digits, RTCP, a SIP scanner, QUIC-like, NTP and random-ID DNS noise. `--accounts N` adds N
//! accounts registering with digest authentication (random passwords: the password cracker's worst case).

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use earshot_e2e::r#gen::{BenchSpec, write_bench};

fn usage() -> ExitCode {
    eprintln!(
        "usage: samplegen bench [--calls N] [--talk-secs S] [--stagger-ms M] [--dns-every-ms D] [--srtp] [--mix] [--accounts N] -o FILE\n       samplegen clean-call|srtp-sdes-call -o FILE"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    if cmd == "sample" || cmd == "samples" || cmd == "--list" {
        return samples_cmd(&args);
    }
    let mut spec = match cmd.as_str() {
        "bench" => BenchSpec::default(),
        "clean-call" => BenchSpec {
            calls: 1,
            talk_secs: 10,
            stagger_ms: 0,
            dns_every_ms: 0,
            srtp: false,
            mix: false,
            accounts: 0,
        },
        "srtp-sdes-call" => BenchSpec {
            calls: 1,
            talk_secs: 10,
            stagger_ms: 0,
            dns_every_ms: 0,
            srtp: true,
            mix: false,
            accounts: 0,
        },
        _ => return usage(),
    };
    let mut out = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Option<u32> {
            let v = it.next()?.parse().ok();
            if v.is_none() {
                eprintln!("samplegen: {what} needs a number");
            }
            v
        };
        match a.as_str() {
            "--calls" => spec.calls = num("--calls").unwrap_or(spec.calls),
            "--talk-secs" => spec.talk_secs = num("--talk-secs").unwrap_or(spec.talk_secs),
            "--stagger-ms" => spec.stagger_ms = num("--stagger-ms").unwrap_or(spec.stagger_ms),
            "--dns-every-ms" => {
                spec.dns_every_ms = num("--dns-every-ms").unwrap_or(spec.dns_every_ms)
            }
            "--srtp" => spec.srtp = true,
            "--mix" => spec.mix = true,
            "--accounts" => spec.accounts = num("--accounts").unwrap_or(spec.accounts),
            "-o" => out = it.next().cloned(),
            _ => return usage(),
        }
    }
    let Some(out) = out else {
        return usage();
    };
    let file = match File::create(&out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("samplegen: cannot create {out}: {e}");
            return ExitCode::from(2);
        }
    };
    match write_bench(&spec, BufWriter::with_capacity(1 << 20, file)) {
        Ok(exp) => {
            println!(
                "{{\"frames\":{},\"bytes\":{},\"calls\":{},\"answered\":{},\"sip_messages\":{},\"rtp_streams\":{},\"rtp_packets\":{},\"dns_packets\":{},\"rtp_lost\":{},\"dtmf_events\":{},\"rtcp_packets\":{},\"scan_probes\":{},\"noise_packets\":{},\"registrations\":{}}}",
                exp.frames,
                exp.bytes,
                exp.calls,
                exp.answered,
                exp.sip_messages,
                exp.rtp_streams,
                exp.rtp_packets,
                exp.dns_packets,
                exp.rtp_lost,
                exp.dtmf_events,
                exp.rtcp_packets,
                exp.scan_probes,
                exp.noise_packets,
                exp.registrations
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("samplegen: writing {out}: {e}");
            ExitCode::from(2)
        }
    }
}

/// `samplegen sample NAME -o FILE`, `samplegen samples DIR` (every sample into DIR/NAME/NAME.pcap),
/// `samplegen --list`.
fn samples_cmd(args: &[String]) -> ExitCode {
    use earshot_e2e::samples;
    let write_one = |s: &samples::Sample, path: &std::path::Path| -> ExitCode {
        let file = match File::create(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("samplegen: cannot create {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let mut w = BufWriter::new(file);
        match (s.write)(&mut w).and_then(|()| std::io::Write::flush(&mut w)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("samplegen: writing {}: {e}", path.display());
                ExitCode::from(2)
            }
        }
    };
    match args {
        [c] if c == "--list" => {
            for s in samples::all() {
                println!("{:<28} {}", s.name, s.summary);
            }
            ExitCode::SUCCESS
        }
        [c, name, o, out] if c == "sample" && o == "-o" => match samples::by_name(name) {
            Some(s) => write_one(s, std::path::Path::new(out)),
            None => {
                eprintln!("samplegen: no sample `{name}` (see samplegen --list)");
                ExitCode::from(2)
            }
        },
        [c, dir] if c == "samples" => {
            for s in samples::all() {
                let d = std::path::Path::new(dir).join(s.name);
                if let Err(e) = std::fs::create_dir_all(&d) {
                    eprintln!("samplegen: cannot create {}: {e}", d.display());
                    return ExitCode::from(2);
                }
                let code = write_one(s, &d.join(format!("{}.pcap", s.name)));
                if code != ExitCode::SUCCESS {
                    return code;
                }
            }
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}
