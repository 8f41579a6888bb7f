//! The binary's integration tests, one test binary.

mod cli;
mod export_audio;
mod live_capture;
mod report_cli;
