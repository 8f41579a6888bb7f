//! The whole pipeline on a capture built from the input: link → tunnels → IP → UDP/TCP/SCTP, defragmentation, TCP
//! and WebSocket reassembly, SIP, calls, media, findings (password cracking off: it is bounded but slow).
//!
//! Input format (scripts/fuzz.sh writes seeds in it from real captures): byte 0 picks the link type, then frames
//! as `len (2 bytes, big endian) ‖ bytes`, timestamps 20 ms apart. A trailing partial frame is taken as it is.
#![no_main]

use std::borrow::Cow;

use earshot_core::capture::RawFrame;
use earshot_core::model::CaptureInfo;
use earshot_core::pipeline::{AnalyzeOptions, Analyzer};
use libfuzzer_sys::fuzz_target;

/// Ethernet, raw IP (DLT 101 and 228/229), BSD loopback, Linux SLL and SLL2.
const LINK_TYPES: [u32; 7] = [1, 101, 228, 229, 0, 113, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(sel) % LINK_TYPES.len()];
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (len, body) = match rest {
            [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
            _ => (rest.len(), rest),
        };
        let take = len.min(body.len());
        let (frame, tail) = body.split_at(take);
        let number = frames.len() as u64 + 1;
        frames.push(RawFrame {
            number,
            ts_nanos: 1_700_000_000_000_000_000 + number as i64 * 20_000_000,
            interface: 0,
            link_type,
            orig_len: frame.len() as u32,
            data: Cow::Borrowed(frame),
            file_offset: 0,
        });
        rest = tail;
    }
    let mut opts = AnalyzeOptions {
        threads: Some(1),
        ..AnalyzeOptions::default()
    };
    opts.rules.crack_passwords = false;
    let mut analyzer = Analyzer::new(opts);
    // Two batches, so that state carried between batches is exercised too.
    let mid = frames.len() / 2;
    analyzer.push_frames(&frames[..mid]);
    let snapshot = analyzer.snapshot(CaptureInfo::default());
    analyzer.push_frames(&frames[mid..]);
    let analysis = analyzer.finish(CaptureInfo::default());
    assert_eq!(analysis.counters.frames, frames.len() as u64);
    // The JSON writer must take whatever the analysis holds.
    let json = serde_json::to_string(&analysis).map(|s| s.len());
    std::hint::black_box((snapshot.summary.packets, json.ok()));
});
