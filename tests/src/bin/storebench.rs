//! `storebench CAPTURE STORE COPIES`: the query side of the store benchmark (scripts/bench.sh --store). Analyses
//! CAPTURE once, writes it into STORE under COPIES distinct capture names (a store of COPIES × its calls, all real
//! analysis rows), then times `SELECT count(*) FROM calls` and every saved hunt through Earshot's engine (the
//! median of 5 runs, each opening the store afresh as `earshot query` does). Prints one JSON object per line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use earshot_core::store::Store;
use earshot_core::store::query::{HUNTS, run};
use earshot_core::{AnalyzeOptions, analyze_file};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [capture, store, copies] = args.as_slice() else {
        eprintln!("usage: storebench CAPTURE STORE COPIES");
        return ExitCode::from(2);
    };
    let Ok(copies) = copies.parse::<u32>() else {
        eprintln!("storebench: COPIES must be a number");
        return ExitCode::from(2);
    };
    let capture = PathBuf::from(capture);
    let mut a = match analyze_file(&capture, &AnalyzeOptions::default(), &mut |_| {}) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("storebench: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = std::fs::remove_dir_all(store);
    let st = match Store::create(std::path::Path::new(store)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("storebench: {e}");
            return ExitCode::from(2);
        }
    };
    let t = Instant::now();
    for i in 0..copies {
        // Distinct capture names: the copy number in the hash's first 8 hex digits.
        a.capture.sha256 = format!("{i:08x}{}", a.capture.sha256.get(8..).unwrap_or_default());
        if let Err(e) = st.write(&a, &[capture.display().to_string()]) {
            eprintln!("storebench: {e}");
            return ExitCode::from(2);
        }
    }
    println!(
        "{{\"copies\":{copies},\"calls\":{},\"messages\":{},\"write_secs\":{:.3}}}",
        u64::from(copies) * a.calls.len() as u64,
        u64::from(copies) * a.messages.len() as u64,
        t.elapsed().as_secs_f64()
    );
    let mut queries: Vec<(String, String)> =
        vec![("count-calls".into(), "SELECT count(*) FROM calls".into())];
    queries.extend(HUNTS.iter().map(|h| (h.name.to_string(), h.sql())));
    for (name, sql) in queries {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let t = Instant::now();
            match run(std::path::Path::new(store), &sql) {
                Ok(r) => rows = r.rows,
                Err(e) => {
                    eprintln!("storebench: {name}: {e}");
                    return ExitCode::from(2);
                }
            }
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"query\":\"{name}\",\"rows\":{rows},\"median_secs\":{:.3},\"max_secs\":{:.3}}}",
            times.get(2).copied().unwrap_or_default(),
            times.last().copied().unwrap_or_default()
        );
    }
    ExitCode::SUCCESS
}
