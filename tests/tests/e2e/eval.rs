//! The findings evaluation (`earshot_e2e::eval`, `scripts/eval-findings.sh`) holds: every rule at precision and
//! recall ≥ 0.95 over the labelled corpus made with real tools and the labelled shared captures, and no high or
//! critical finding on a benign capture.

use earshot_e2e::eval::{self, Set};

#[test]
fn every_rule_meets_the_thresholds_on_the_labelled_captures() {
    let cases = eval::cases(
        &eval::corpus_dirs(),
        &eval::eval_dir().join("shared"),
        &earshot_e2e::captures_dir(),
    )
    .unwrap();
    let corpus = cases.iter().filter(|c| c.set == Set::Corpus).count();
    let shared = cases.iter().filter(|c| c.set == Set::Shared).count();
    assert!(corpus >= 10, "only {corpus} corpus captures");
    assert_eq!(
        shared,
        earshot_e2e::shared_captures().len(),
        "every shared capture is labelled"
    );
    let report = eval::run(&cases).unwrap();
    println!("{}\n{}", report.table(None), report.miss_list());
    let failures = report.failures(None);
    assert!(failures.is_empty(), "{failures:#?}\n{}", report.miss_list());
}
