//! The audit log: one JSON object per line (`audit.jsonl`), appended for every capture opened, audio played, export
//! written and settings change, so an analyst can show what was done with the evidence and when. It lives beside
//! eframe's persisted settings (`eframe::storage_dir("earshot")`, e.g. `~/.local/share/earshot/audit.jsonl`);
//! `EARSHOT_AUDIT_LOG=PATH` puts it elsewhere.
//!
//! Each line has `time` (ISO 8601 UTC, milliseconds) and `action` (`open`, `play`, `export`, `settings`), then
//! what the action concerns: `file` (the capture) and its `sha256`, and for exports the `kind`, the `path` written
//! and that file's own `path_sha256`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Map, Value};

/// Environment variable that overrides where the log is written.
pub const ENV: &str = "EARSHOT_AUDIT_LOG";

/// Where audit lines go (`None`: nowhere, e.g. when there is no home directory).
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    pub path: Option<PathBuf>,
}

/// The log's path: the override if set (and not empty), else `audit.jsonl` in the settings directory.
pub fn resolve(env: Option<std::ffi::OsString>, storage_dir: Option<PathBuf>) -> Option<PathBuf> {
    env.filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| storage_dir.map(|d| d.join("audit.jsonl")))
}

/// Now, UTC nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl AuditLog {
    /// The app's log: `EARSHOT_AUDIT_LOG`, else beside eframe's settings.
    #[cfg_attr(test, allow(dead_code))]
    pub fn from_env() -> Self {
        AuditLog {
            path: resolve(std::env::var_os(ENV), eframe::storage_dir("earshot")),
        }
    }

    /// A log at `path` (tests).
    #[cfg(test)]
    pub fn at(path: &Path) -> Self {
        AuditLog {
            path: Some(path.to_path_buf()),
        }
    }

    /// Appends one line: `time`, `action`, then `fields` in the order given.
    pub fn record(&self, action: &str, fields: &[(&str, Value)]) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut obj = Map::new();
        obj.insert(
            "time".into(),
            Value::from(earshot_core::time::format_utc(now_nanos(), 3)),
        );
        obj.insert("action".into(), Value::from(action));
        for (k, v) in fields {
            obj.insert((*k).to_string(), v.clone());
        }
        let mut line =
            serde_json::to_string(&Value::Object(obj)).context("cannot encode the audit record")?;
        line.push('\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the audit log's folder {}", dir.display())
            })?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        // One write per line: concurrent appenders (two app windows) never interleave within a line.
        f.write_all(line.as_bytes())
            .with_context(|| format!("cannot write the audit log {}", path.display()))
    }
}

/// SHA-256 of a file, lower-case hex (for exports in the audit log).
pub fn file_sha256(path: &Path) -> Result<String> {
    earshot_core::report::manifest::file_sha256(path)
        .map(|(hex, _)| hex)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// The command line's log, set once by `main`: the app's log, or none under `--no-audit`.
static CLI_LOG: std::sync::OnceLock<AuditLog> = std::sync::OnceLock::new();

/// Turns the command line's audit log on (the same file as the app's) or off (`--no-audit`).
pub fn init_cli(enabled: bool) {
    let _ = CLI_LOG.set(if enabled {
        AuditLog::from_env()
    } else {
        AuditLog::default()
    });
}

/// Appends a command-line action about the capture `file` (with its SHA-256 when known), marked `"via": "cli"`.
/// A log that cannot be written is said on standard error and does not fail the command.
pub fn cli_record(action: &str, file: &Path, sha256: &str, fields: Vec<(&str, Value)>) {
    let Some(log) = CLI_LOG.get() else {
        return;
    };
    let mut all = vec![
        ("via", Value::from("cli")),
        ("file", Value::from(file.display().to_string())),
    ];
    if !sha256.is_empty() {
        all.push(("sha256", Value::from(sha256)));
    }
    all.extend(fields);
    if let Err(e) = log.record(action, &all) {
        eprintln!("earshot: {e:#}");
    }
}

/// Records a file the command line wrote from the capture `file`: its kind, path and own SHA-256.
pub fn cli_exported(file: &Path, sha256: &str, kind: &str, path: &Path) {
    let hash = file_sha256(path).unwrap_or_default();
    cli_record(
        "export",
        file,
        sha256,
        vec![
            ("kind", Value::from(kind)),
            ("path", Value::from(path.display().to_string())),
            ("path_sha256", Value::from(hash)),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_prefers_the_override() {
        let dir = Some(PathBuf::from("/home/u/.local/share/earshot"));
        assert_eq!(
            resolve(Some("/tmp/a.jsonl".into()), dir.clone()),
            Some(PathBuf::from("/tmp/a.jsonl"))
        );
        assert_eq!(
            resolve(Some("".into()), dir.clone()),
            Some(PathBuf::from("/home/u/.local/share/earshot/audit.jsonl"))
        );
        assert_eq!(resolve(None, None), None);
    }

    #[test]
    fn record_appends_json_lines_and_hashes_files() {
        let dir = std::env::temp_dir().join(format!("earshot-audit-{}", std::process::id()));
        let path = dir.join("sub/audit.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
        let log = AuditLog::at(&path);
        log.record("open", &[("file", Value::from("/x/y.pcap"))])
            .unwrap();
        log.record("play", &[("call_id", Value::from("a\"b"))])
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "open");
        assert_eq!(lines[0]["file"], "/x/y.pcap");
        assert_eq!(lines[1]["call_id"], "a\"b");
        let t = lines[0]["time"].as_str().unwrap();
        assert!(
            t.ends_with('Z') && t.len() == "2026-01-01T00:00:00.000Z".len(),
            "{t}"
        );
        // sha256("abc") from FIPS 180-2.
        let f = dir.join("abc");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(
            file_sha256(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
