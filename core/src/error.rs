//! Errors that stop analysis of a whole input. Everything smaller is a [`crate::model::Diagnostic`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    // The I/O error is said in the message and is not also the error's source (a field named `source` would be):
    // `{:#}` chains would say it twice.
    #[error("cannot open capture {path}: {error}")]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read capture {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is {what}, not a capture file")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("capture {path} is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path} is not a pcap or pcapng capture: {reason}")]
    NotACapture { path: PathBuf, reason: String },
    #[error("capture {path} has an unusable header: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("analysis of {path} was cancelled")]
    Cancelled { path: PathBuf },
}
