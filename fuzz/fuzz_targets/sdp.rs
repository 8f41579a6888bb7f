//! SDP body parsing (sessions, media lines, rtpmap/fmtp, crypto attributes) and the codec helpers over its output.
#![no_main]

use earshot_core::sip::sdp::parse_sdp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = parse_sdp(data) {
        std::hint::black_box(&sdp);
        let _ = std::hint::black_box(serde_json::to_string(&sdp));
    }
});
