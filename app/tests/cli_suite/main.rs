//! The binary's integration tests, one test binary.

// The crate's no-panic lints guard the binary; in these tests a helper that cannot run its tool is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli;
mod export_audio;
mod live_capture;
mod report_cli;
mod store_cli;

use std::path::PathBuf;
use std::process::Command;

/// This test process's audit log: the binary appends to it instead of the developer's own log.
pub fn audit_log() -> PathBuf {
    std::env::temp_dir().join(format!("earshot-cli-audit-{}.jsonl", std::process::id()))
}

/// The `earshot` binary, its audit log sent to [`audit_log`].
pub fn earshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.env("EARSHOT_AUDIT_LOG", audit_log());
    c
}

pub use earshot_e2e::sha256sum;

/// Cuts `capture` with `editcap -c packets` into `dir/<name>` pieces (editcap numbers them); returns them sorted.
pub fn editcap_split(
    capture: &std::path::Path,
    packets: u32,
    dir: &std::path::Path,
    name: &str,
) -> Vec<PathBuf> {
    let st = Command::new("editcap")
        .args(["-c", &packets.to_string()])
        .arg(capture)
        .arg(dir.join(name))
        .status()
        .expect("editcap (scripts/setup.sh installs it)");
    assert!(st.success());
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    parts.sort();
    parts
}
