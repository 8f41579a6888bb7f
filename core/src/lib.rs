//! `earshot-core`: turns a VoIP packet capture into calls, messages, streams and findings.
//!
//! Pipeline (see ARCHITECTURE.md): [`capture`] → [`net`] (+ [`net::defrag`]) → [`transport`] → [`sip`] →
//! [`calls`] → [`media`] → [`codec`] → [`report`]. [`pipeline`] drives the stages; [`model`] is the shared result
//! every stage writes and every consumer reads; [`audio`] decodes calls on demand. No GUI, audio-device or CLI
//! dependency.

pub mod audio;
pub mod calls;
pub mod capture;
pub mod case;
pub mod codec;
pub mod decrypted;
pub mod error;
pub mod extract;
pub mod filter;
pub mod findings;
pub mod hash;
pub mod identity;
pub mod md5x;
pub mod media;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod report;
pub mod signal;
pub mod sip;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod time;
pub mod tls;
pub mod transport;

pub use error::CaptureError;
pub use model::Analysis;
pub use pipeline::{AnalyzeOptions, Analyzer, Progress, SnapshotSink, analyze_file};
