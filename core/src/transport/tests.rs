//! Tests across the transport module (unit tests of `mod.rs` and real-capture tests).
