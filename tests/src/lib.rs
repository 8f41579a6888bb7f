//! Support for Earshot's end-to-end tests and the deterministic capture generator (`samplegen`):
//! - [`truth`]: reads the TShark ground truth in `../shared/captures/truth/`;
//! - [`pcapw`]: writes pcap/pcapng files and builds Ethernet/IPv4/IPv6/UDP/TCP frames byte by byte;
//! - [`gen`]: synthesises realistic SIP + RTP traffic (benchmark captures, sample scenarios);
//! - [`eval`]: scores the findings against labelled captures (precision and recall per rule).

pub mod adversarial;
pub mod eval;
pub mod r#gen;
pub mod pcapw;
pub mod samples;
pub mod signal;
pub mod srtp;
pub mod truth;

use std::path::{Path, PathBuf};

/// The shared real-world captures: `$EARSHOT_CAPTURES`, else `../shared/captures` beside the checkout.
pub fn captures_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("EARSHOT_CAPTURES") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.join("..").join("..").join("shared").join("captures")
}

/// `sha256sum FILE` (coreutils): a hash computed independently of Earshot's.
pub fn sha256sum(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum (coreutils)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The project's own sample captures.
pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("sample-captures")
}

/// Every capture file in the shared directory, sorted by name.
pub fn shared_captures() -> Vec<PathBuf> {
    let dir = captures_dir();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        panic!(
            "shared captures not found at {} (set EARSHOT_CAPTURES to their directory)",
            dir.display()
        );
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "pcap" | "pcapng" | "cap"))
        })
        .collect();
    v.sort();
    v
}

/// UDP payloads of a capture as TShark reads them (an independent reader): (frame, source, destination, bytes)
/// for every frame matching the display `filter`.
pub fn tshark_udp_payloads(
    path: &std::path::Path,
    filter: &str,
) -> Vec<(u64, std::net::SocketAddr, std::net::SocketAddr, Vec<u8>)> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", filter, "-T", "fields"])
        .args(["-e", "frame.number", "-e", "ip.src", "-e", "udp.srcport"])
        .args(["-e", "ip.dst", "-e", "udp.dstport", "-e", "udp.payload"])
        .output()
        .expect("tshark must be installed (scripts/setup.sh installs it)");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let sock = |ip: &str, port: &str| {
                Some(std::net::SocketAddr::new(
                    ip.parse().ok()?,
                    port.parse().ok()?,
                ))
            };
            let hex = f.get(5)?.replace(':', "");
            let bytes = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            Some((
                f.first()?.parse().ok()?,
                sock(f.get(1)?, f.get(2)?)?,
                sock(f.get(3)?, f.get(4)?)?,
                bytes,
            ))
        })
        .collect()
}

/// A WAV file read back by symphonia (a reader independent of Earshot's writer): (rate, channels, per-channel samples).
pub fn read_wav(path: &std::path::Path) -> (u32, usize, Vec<Vec<i16>>) {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let f = std::fs::File::open(path).expect("readable WAV");
    let mss = MediaSourceStream::new(Box::new(f), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .expect("readable WAV");
    let mut format = probed.format;
    let track = format.default_track().expect("readable WAV").clone();
    let rate = track.codec_params.sample_rate.expect("readable WAV");
    let ch = track.codec_params.channels.expect("readable WAV").count();
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .expect("readable WAV");
    let mut chans = vec![Vec::new(); ch];
    while let Ok(p) = format.next_packet() {
        let buf = dec.decode(&p).expect("readable WAV");
        let mut sb = SampleBuffer::<i16>::new(buf.capacity() as u64, *buf.spec());
        sb.copy_interleaved_ref(buf);
        for (i, v) in sb.samples().iter().enumerate() {
            chans[i % ch].push(*v);
        }
    }
    (rate, ch, chans)
}

/// `tshark -r FILE [opts] -Y FILTER -T fields -e FIELDS...`, one Vec per frame.
pub fn tshark_fields(
    path: &Path,
    opts: &[&str],
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut c = std::process::Command::new("tshark");
    c.arg("-r").arg(path).args(opts);
    if !filter.is_empty() {
        c.args(["-Y", filter]);
    }
    c.args(["-T", "fields", "-E", "separator=\t"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark -r {} -Y {filter}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The timestamp of the signalling record (MGCP, MEGACO, IAX2) in `frame`.
pub fn signal_ts(a: &earshot_core::model::Analysis, frame: u64) -> i64 {
    a.signals
        .iter()
        .find(|r| r.frame == frame)
        .expect("a signalling record in that frame")
        .ts_nanos
}
