//! The files an export writes, once for the desktop app's Export window and the `report` command: JSON, ladder
//! (SVG, PNG or text by kind), the blocklist pair, a call's stereo WAV. Each says which file failed and why.
//! Where the files go (the app's unique names in a folder, the command's paths) stays with the caller.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use earshot_core::AnalyzeOptions;
use earshot_core::audio::{self, AudioRequest, wav};
use earshot_core::findings::in_networks;
use earshot_core::model::Analysis;
use earshot_core::report::{blocklist, json, ladder};

/// The nftables set both the app and the command name.
pub const BLOCKLIST_SET: &str = "earshot_offenders";

/// How a ladder is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LadderKind {
    Svg,
    Png,
    Text,
}

pub fn json_file(a: &Analysis, path: &Path) -> Result<()> {
    let f = File::create(path)
        .with_context(|| format!("cannot create JSON output {}", path.display()))?;
    json::write_json(a, BufWriter::new(f))
        .with_context(|| format!("cannot write JSON to {}", path.display()))
}

pub fn ladder_file(a: &Analysis, calls: &[&str], kind: LadderKind, path: &Path) -> Result<()> {
    let bytes = match kind {
        LadderKind::Svg => ladder::ladder_svg(a, calls).into_bytes(),
        LadderKind::Text => ladder::ladder_text(a, calls).into_bytes(),
        LadderKind::Png => ladder::ladder_png(a, calls, 2.0)
            .with_context(|| format!("cannot render the ladder {}", path.display()))?,
    };
    std::fs::write(path, bytes)
        .with_context(|| format!("cannot write the ladder {}", path.display()))
}

/// The attackers of `a` (outside `trusted_networks`) as an nftables set file and a plain list.
pub fn blocklist_files(
    a: &Analysis,
    trusted_networks: &[String],
    nft: &Path,
    txt: &Path,
) -> Result<Vec<PathBuf>> {
    let trusted = |ip: std::net::IpAddr| in_networks(ip, trusted_networks);
    let offenders = blocklist::offenders(a, &trusted);
    std::fs::write(nft, blocklist::nftables(&offenders, BLOCKLIST_SET))
        .with_context(|| format!("cannot write the blocklist {}", nft.display()))?;
    std::fs::write(txt, blocklist::plain(&offenders))
        .with_context(|| format!("cannot write the blocklist {}", txt.display()))?;
    Ok(vec![nft.to_path_buf(), txt.to_path_buf()])
}

/// A call's audio as a stereo WAV (caller left, callee right); an error naming each stream's reason when none of
/// them could be decoded.
pub fn call_wav(
    source: &earshot_core::case::Source,
    analysis: &Analysis,
    call_id: &str,
    path: &Path,
) -> Result<()> {
    let streams = audio::call_streams(analysis, call_id)?;
    let req = AudioRequest {
        streams,
        ..Default::default()
    };
    let tap = audio::collect_packets_from(
        source,
        analysis,
        &req,
        &AnalyzeOptions::default(),
        &mut |_| {},
    )?;
    let decoded = audio::decode_collected(analysis, &req, &tap);
    if !decoded.iter().any(|s| s.playable) {
        let why: Vec<String> = decoded
            .iter()
            .map(|s| format!("stream {}: {}", s.stream_index, s.status))
            .collect();
        return Err(anyhow!(
            "no stream of the call could be decoded ({})",
            why.join("; ")
        ));
    }
    let mixed = audio::mix(decoded);
    wav::write_path(path, |w| wav::write_stereo(w, &mixed))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use earshot_core::{AnalyzeOptions, analyze_file};

    /// The app's export and the report command write the same blocklist: one nftables set name, the scanner's
    /// address in both files.
    #[test]
    fn the_blocklist_is_the_same_from_the_app_and_the_command() {
        let cap = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sample-captures/scanner-sweep/scanner-sweep.pcap"
        ));
        let a = analyze_file(cap, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        let dir = std::env::temp_dir().join(format!("earshot-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (nft, txt) = (dir.join("b.nft"), dir.join("b.txt"));
        let written = super::blocklist_files(&a, &[], &nft, &txt).unwrap();
        assert_eq!(written, vec![nft.clone(), txt.clone()]);
        let n = std::fs::read_to_string(&nft).unwrap();
        let t = std::fs::read_to_string(&txt).unwrap();
        assert!(n.contains(super::BLOCKLIST_SET), "{n}");
        let first = t
            .lines()
            .find(|l| !l.starts_with('#') && !l.is_empty())
            .expect("an address");
        assert!(
            n.contains(first.split_whitespace().next().unwrap()),
            "{n}\n{t}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
