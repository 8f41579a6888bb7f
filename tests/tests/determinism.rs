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
