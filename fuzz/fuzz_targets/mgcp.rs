//! MGCP text from the wire, as the pipeline hands it over (see `signal_common.rs`).
#![no_main]

include!("signal_common.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(Protocol::Mgcp, data));
