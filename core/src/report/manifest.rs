//! The manifest of an export set: which tool and version made it and when, the evidence it was made from (file,
//! SHA-256, size), the rule settings, whether identities were redacted, and every exported file with its SHA-256 and
//! size. A directory export holds `manifest.json`; a file export has `FILE.manifest.json` beside it ([`beside`]).
//! Each manifest lists every file of the run, so any one of them describes the whole set.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{ExportRecord, ReportError};
use crate::model::Analysis;
use crate::time::format_utc;

/// Where the manifest of an export goes: `DIR/manifest.json` for a directory, `FILE.manifest.json` for a file.
pub fn beside(export: &Path) -> PathBuf {
    if export.is_dir() {
        return export.join("manifest.json");
    }
    let mut name = export.file_name().unwrap_or_default().to_os_string();
    name.push(".manifest.json");
    export.with_file_name(name)
}

#[derive(Serialize)]
struct Manifest<'a> {
    manifest_version: u32,
    tool: &'a str,
    tool_version: &'a str,
    generated_at: String,
    evidence: Evidence<'a>,
    redacted: bool,
    settings: &'a serde_json::Value,
    files: Vec<FileEntry>,
}

#[derive(Serialize)]
struct Evidence<'a> {
    file: &'a str,
    sha256: &'a str,
    size_bytes: u64,
    packets: u64,
    /// A case's files (`sha256` above is then the digest of their `sha256sum` lines, in this order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    case_files: Vec<CaseEvidence<'a>>,
}

#[derive(Serialize)]
struct CaseEvidence<'a> {
    number: u32,
    file: &'a str,
    sha256: &'a str,
    size_bytes: u64,
    status: &'a crate::model::CaseFileStatus,
}

#[derive(Serialize)]
struct FileEntry {
    kind: String,
    path: String,
    sha256: String,
    size_bytes: u64,
}

/// SHA-256 of a file, lower-case hex, and its size.
pub fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    crate::hash::sha256_hex(std::fs::File::open(path)?)
}

/// Writes the manifest of `exports` (files; a directory entry stands for the regular files directly inside it,
/// manifests excepted) to `path`. Every file is hashed as it is on disk now: one that cannot be read fails the
/// manifest rather than being left out.
pub fn write_manifest(
    path: &Path,
    analysis: &Analysis,
    exports: &[ExportRecord],
    generated_at_nanos: i64,
    redacted: bool,
) -> Result<(), ReportError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| ReportError::Io { path: p, error }
    };
    let mut files = Vec::new();
    for e in exports {
        let p = Path::new(&e.path);
        let mut members = Vec::new();
        if p.is_dir() {
            for entry in std::fs::read_dir(p).map_err(io(p))? {
                let m = entry.map_err(io(p))?.path();
                let is_manifest = m
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("manifest.json"));
                if m.is_file() && !is_manifest {
                    members.push(m);
                }
            }
            members.sort();
        } else {
            members.push(p.to_path_buf());
        }
        for m in members {
            let (sha256, size_bytes) = file_sha256(&m).map_err(io(&m))?;
            files.push(FileEntry {
                kind: e.kind.clone(),
                path: m.display().to_string(),
                sha256,
                size_bytes,
            });
        }
    }
    let c = &analysis.capture;
    let m = Manifest {
        manifest_version: 1,
        tool: &analysis.tool.name,
        tool_version: &analysis.tool.version,
        generated_at: format_utc(generated_at_nanos, 3),
        evidence: Evidence {
            file: &c.file,
            sha256: &c.sha256,
            size_bytes: c.size_bytes,
            packets: c.packets,
            case_files: analysis
                .case
                .iter()
                .flat_map(|k| &k.files)
                .map(|f| CaseEvidence {
                    number: f.number,
                    file: &f.file,
                    sha256: &f.sha256,
                    size_bytes: f.size_bytes,
                    status: &f.status,
                })
                .collect(),
        },
        redacted,
        settings: &analysis.rules,
        files,
    };
    let mut text = serde_json::to_string_pretty(&m).map_err(|e| ReportError::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e),
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(io(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn manifest_lists_every_file_with_its_hash() {
        let dir = std::env::temp_dir().join(format!("earshot-manifest-{}", std::process::id()));
        let csv = dir.join("csv");
        std::fs::create_dir_all(&csv).unwrap();
        std::fs::write(csv.join("calls.csv"), b"a,b\n").unwrap();
        std::fs::write(csv.join("manifest.json"), b"old").unwrap();
        let wav = dir.join("call.wav");
        std::fs::write(&wav, b"RIFF").unwrap();
        assert_eq!(beside(&csv), csv.join("manifest.json"));
        assert_eq!(beside(&wav), dir.join("call.wav.manifest.json"));
        let mut a = Analysis::default();
        a.tool.name = "earshot".into();
        a.capture.sha256 = "ab".repeat(32);
        a.rules = serde_json::json!({ "brute_force_failures": 50 });
        let exports = [
            ExportRecord {
                time_nanos: 0,
                kind: "csv".into(),
                path: csv.display().to_string(),
            },
            ExportRecord {
                time_nanos: 0,
                kind: "wav".into(),
                path: wav.display().to_string(),
            },
        ];
        let out = beside(&wav);
        write_manifest(&out, &a, &exports, 1_767_225_600_000_000_000, false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(v["generated_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(v["evidence"]["sha256"], "ab".repeat(32));
        assert_eq!(v["settings"]["brute_force_failures"], 50);
        let files = v["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "the old manifest is not listed: {files:?}");
        // SHA-256("a,b\n") and SHA-256("RIFF"), computed independently (sha256sum).
        assert_eq!(files[0]["sha256"], sha256sum(&csv.join("calls.csv")));
        assert_eq!(
            files[0]["path"],
            csv.join("calls.csv").display().to_string()
        );
        assert_eq!(files[1]["sha256"], sha256sum(&wav));
        assert_eq!(files[1]["size_bytes"], 4);
        // A file that vanished fails the manifest instead of being left out.
        std::fs::remove_file(&wav).unwrap();
        assert!(write_manifest(&out, &a, &exports, 0, false).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    /// `sha256sum FILE`'s hash (coreutils, an independent implementation).
    fn sha256sum(p: &Path) -> String {
        let out = std::process::Command::new("sha256sum")
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}
