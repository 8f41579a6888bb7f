//! pcap and pcapng reading: any bytes as a capture file (records, blocks, interfaces, timestamps, lengths).
#![no_main]

use std::path::Path;

use earshot_core::capture::FrameReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = FrameReader::from_bytes(Path::new("fuzz-input"), data) else {
        return;
    };
    let mut frames = 0u64;
    let mut bytes = 0usize;
    while let Some(f) = reader.next_frame() {
        frames += 1;
        bytes = bytes.wrapping_add(f.data.len());
        assert!(reader.offset() <= reader.total(), "offset past the end");
        // A capture of n bytes cannot hold more than n frames (every record has a header).
        assert!(frames <= data.len() as u64, "more frames than bytes");
    }
    std::hint::black_box((bytes, &reader.diagnostics, &reader.link_types));
});
