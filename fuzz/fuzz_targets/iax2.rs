//! IAX2 frames from the wire, as the pipeline hands them over (see `signal_common.rs`).
#![no_main]

include!("signal_common.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(Protocol::Iax2, data));
