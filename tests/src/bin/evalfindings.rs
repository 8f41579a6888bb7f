//! `evalfindings`: the findings evaluation (`earshot_e2e::eval`) as a table. Exit 0 when every rule reaches the
//! thresholds on the corpus and the shared captures and no benign capture has a high/critical finding; 1 when
//! not; 2 when the labels or captures cannot be read.
//!
//! `evalfindings [--corpus DIR]... [--shared-labels DIR] [--shared DIR]` (defaults: tests/eval/corpus,
//! tests/tls/captures and tests/dtls/captures; tests/eval/shared; ../shared/captures or $EARSHOT_CAPTURES).
//! `--corpus` replaces the default corpus folders; repeat it for several.

use std::path::PathBuf;
use std::process::ExitCode;

use earshot_e2e::eval::{self, Set, THRESHOLD};

fn main() -> ExitCode {
    let mut corpus_given: Vec<PathBuf> = Vec::new();
    let mut corpus = PathBuf::new();
    let mut shared_labels = eval::eval_dir().join("shared");
    let mut shared = earshot_e2e::captures_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().map(PathBuf::from);
        let slot = match a.as_str() {
            "--corpus" => &mut corpus,
            "--shared-labels" => &mut shared_labels,
            "--shared" => &mut shared,
            _ => {
                eprintln!(
                    "usage: evalfindings [--corpus DIR]... [--shared-labels DIR] [--shared DIR]"
                );
                return ExitCode::from(2);
            }
        };
        match value() {
            Some(v) => *slot = v,
            None => {
                eprintln!("evalfindings: {a} needs a folder");
                return ExitCode::from(2);
            }
        }
        if a == "--corpus" {
            corpus_given.push(std::mem::take(&mut corpus));
        }
    }
    if corpus_given.is_empty() {
        corpus_given = eval::corpus_dirs();
    }
    let cases = match eval::cases(&corpus_given, &shared_labels, &shared) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("evalfindings: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match eval::run(&cases) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("evalfindings: {e}");
            return ExitCode::from(2);
        }
    };
    for (set, title) in [
        (Some(Set::Corpus), "Corpus (captures made with real tools)"),
        (Some(Set::Shared), "Shared real-world captures"),
        (None, "Both"),
    ] {
        let n: u32 = match set {
            Some(s) => report.captures.get(&s).copied().unwrap_or(0),
            None => report.captures.values().sum(),
        };
        println!("## {title}: {n} captures\n\n{}", report.table(set));
    }
    if !report.misses.is_empty() {
        println!("## Mistakes\n\n{}", report.miss_list());
    }
    let failures = report.failures(None);
    if failures.is_empty() {
        println!(
            "All rules at precision and recall >= {THRESHOLD}; no high/critical finding on benign captures."
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "Below the thresholds (precision and recall >= {THRESHOLD}, nothing high on benign captures):"
        );
        for f in failures {
            println!("- {f}");
        }
        ExitCode::from(1)
    }
}
