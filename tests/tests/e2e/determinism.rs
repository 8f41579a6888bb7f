//! Same input and settings → byte-identical JSON and CSV, across runs and thread counts.

use earshot_core::report::{csv as csv_report, json};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::shared_captures;

#[test]
fn json_and_csv_identical_across_runs_and_threads() {
    for path in shared_captures() {
        let run = |threads: usize, batch: usize| {
            let opts = AnalyzeOptions {
                threads: Some(threads),
                batch_frames: batch,
                ..Default::default()
            };
            let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
            let mut calls = Vec::new();
            csv_report::write_calls(&a, &mut calls).unwrap();
            let mut msgs = Vec::new();
            csv_report::write_messages(&a, &mut msgs).unwrap();
            (json::to_json_string(&a), calls, msgs)
        };
        let one = run(1, 4096);
        let two = run(2, 4096);
        let small_batches = run(2, 7);
        let name = path.display();
        assert!(one == two, "{name}: output differs between 1 and 2 threads");
        assert!(
            one == small_batches,
            "{name}: output differs with batch size 7"
        );
        assert!(
            one == run(1, 4096),
            "{name}: output differs between two runs"
        );
    }
}

/// The incremental analyzer (live capture's path), fed one frame at a time, gives the same analysis as the file
/// path; a snapshot taken half-way already shows the calls seen so far.
#[test]
fn incremental_analyzer_matches_file_analysis() {
    use earshot_core::Analyzer;
    use earshot_core::capture::CaptureFile;
    for name in [
        "SIP_DTMF2.cap",
        "sip_tcp_websocket.pcap",
        "gre_sip.pcapng",
        "sip-body-large.pcap",
    ] {
        let path = earshot_e2e::captures_dir().join(name);
        let whole = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        let file = CaptureFile::open(&path).unwrap();
        let mut reader = file.frames().unwrap();
        let mut an = Analyzer::new(AnalyzeOptions::default());
        let half = whole.summary.packets / 2;
        let mut mid_calls = None;
        while let Some(f) = reader.next_frame() {
            an.push_frame(&f);
            if f.number == half {
                mid_calls = Some(an.snapshot(Default::default()).calls.len());
            }
        }
        let live = an.finish(whole.capture.clone());
        let strip = |a: &earshot_core::Analysis| {
            let mut v: serde_json::Value = serde_json::from_str(&json::to_json_string(a)).unwrap();
            v.as_object_mut().unwrap().remove("capture");
            v
        };
        assert_eq!(strip(&live), strip(&whole), "{name}");
        let mid = mid_calls.unwrap();
        assert!(mid <= whole.calls.len());
        if name == "SIP_DTMF2.cap" {
            assert!(
                mid >= 4,
                "half-way through SIP_DTMF2 four Call-IDs have been seen, got {mid}"
            );
        }
    }
}
