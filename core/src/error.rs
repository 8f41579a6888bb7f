//! Errors that stop analysis of a whole input. Everything smaller is a [`crate::model::Diagnostic`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open capture {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read capture {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("capture {path} is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path} is not a pcap or pcapng capture: {reason}")]
    NotACapture { path: PathBuf, reason: String },
    #[error("capture {path} has an unusable header: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("analysis of {path} was cancelled")]
    Cancelled { path: PathBuf },
}
