//! The case store (`earshot analyze --store`, `earshot query`): the shared captures written as one store, every
//! table's row count and every saved hunt's answer compared with what the JSON of each capture says (aggregated
//! here), and read back by two independent Parquet readers, DuckDB and pyarrow (Python), which must give the same
//! counts and, for the hunts' SQL, the same rows. Then the bad inputs: a damaged partition, an interrupted
//! write, a newer schema, SQL that writes, SQL that does not parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use earshot_core::AnalyzeOptions;
use earshot_core::report::json::to_json_string;
use earshot_e2e::shared_captures;
use serde_json::Value;

use crate::earshot;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-store-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(args: &[&str]) -> Output {
    earshot().args(args).output().unwrap()
}

/// The rows of `earshot query --format json` output (one JSON object per line; nulls are absent keys).
fn json_rows(out: &Output) -> Vec<serde_json::Map<String, Value>> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        })
        .collect()
}

/// `earshot query STORE SQL --format json`: the rows, and the command's output.
fn query(store: &Path, sql: &str) -> (Vec<serde_json::Map<String, Value>>, Output) {
    let out = run(&["query", store.to_str().unwrap(), sql, "--format", "json"]);
    (json_rows(&out), out)
}

fn count(store: &Path, table: &str) -> u64 {
    let (rows, out) = query(store, &format!("SELECT count(*) AS n FROM {table}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rows[0]["n"].as_u64().unwrap()
}

/// Runs Python with DuckDB and pyarrow over the store: per table the row count from each reader, and every hunt's
/// rows by DuckDB (values as JSON).
fn python_reads(store: &Path, hunts: &Value) -> Value {
    let script = r#"
import json, sys
import duckdb, pyarrow.dataset as ds
store, hunts = sys.argv[1], json.load(sys.stdin)
tables = ["captures", "calls", "legs", "messages", "streams", "findings", "dtmf", "credentials"]
con = duckdb.connect()
out = {"duckdb": {}, "pyarrow": {}, "hunts": {}}
for t in tables:
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{store}/{t}/*/*.parquet', hive_partitioning = true)")
    out["duckdb"][t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
    out["pyarrow"][t] = ds.dataset(f"{store}/{t}", format="parquet", partitioning="hive").count_rows()
for h in hunts:
    cur = con.execute(h["sql"])
    cols = [d[0] for d in cur.description]
    out["hunts"][h["name"]] = [dict(zip(cols, [v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for v in r])) for r in cur.fetchall()]
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, store.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 must be installed");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(hunts.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 with duckdb and pyarrow (scripts/setup.sh installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// clear-credentials per (user, realm): (captures, sources, responses, cracked, proven).
type CredKey = (String, String);
type CredSets = (BTreeSet<String>, BTreeSet<String>, u64, bool, bool);
type CredCounts = (u64, u64, u64, bool, bool);

/// What each capture's JSON says, for the counts and hunts the store must reproduce.
#[derive(Default)]
struct Expected {
    counts: BTreeMap<&'static str, u64>,
    /// Calls per file (absolute path), as each file's own JSON has them.
    calls_per_file: BTreeMap<String, u64>,
    /// repeat-attackers: source → captures it attacked in.
    attackers: BTreeMap<String, BTreeSet<String>>,
    /// clear-credentials: (user, realm) → (captures, sources, responses, cracked, proven).
    creds: BTreeMap<CredKey, CredSets>,
    /// toll-fraud-destinations: prefix → calls.
    prefixes: BTreeMap<String, u64>,
    /// low-mos-routes: (src_ip, dst_ip) → calls.
    low_mos: BTreeMap<(String, String), u64>,
}

const ATTACK_RULES: &[&str] = &[
    "scanner",
    "brute-force",
    "extension-enumeration",
    "flood",
    "challenge-flood",
    "registration-hijack",
    "toll-fraud",
];

fn ip_of(addr: &str) -> String {
    addr.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

fn expected_from_json(files: &[PathBuf]) -> Expected {
    let mut e = Expected::default();
    let opts = AnalyzeOptions::default();
    for f in files {
        let a = earshot_core::analyze_file(f, &opts, &mut |_| {}).unwrap();
        let j: Value = serde_json::from_str(&to_json_string(&a)).unwrap();
        let sha = j["capture"]["sha256"].as_str().unwrap().to_string();
        let arr = |k: &str| j[k].as_array().cloned().unwrap_or_default();
        let calls = arr("calls");
        let streams = arr("streams");
        let messages = arr("messages");
        let findings = arr("findings");
        let dtmf: usize = calls
            .iter()
            .map(|c| c["dtmf_events"].as_array().unwrap().len())
            .sum();
        let creds = j["exposure"]["credentials"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        e.calls_per_file.insert(
            std::fs::canonicalize(f).unwrap().display().to_string(),
            calls.len() as u64,
        );
        for (t, n) in [
            ("captures", 1),
            ("calls", calls.len()),
            ("legs", arr("legs").len()),
            ("messages", messages.len()),
            ("streams", streams.len()),
            ("findings", findings.len()),
            ("dtmf", dtmf),
            ("credentials", creds.len()),
        ] {
            *e.counts.entry(t).or_default() += n as u64;
        }
        for fd in &findings {
            let rule = fd["rule_id"].as_str().unwrap();
            if let Some(src) = fd["sources"].as_array().unwrap().first()
                && ATTACK_RULES.contains(&rule)
            {
                e.attackers
                    .entry(src.as_str().unwrap().to_string())
                    .or_default()
                    .insert(sha.clone());
            }
        }
        for c in &creds {
            let user = c["username"].as_str().unwrap().to_string();
            let realm = c["realm"].as_str().unwrap().to_string();
            let cracking: Vec<&Value> = findings
                .iter()
                .filter(|f| {
                    f["rule_id"] == "weak-password"
                        && f["users"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|u| u.as_str() == Some(&user))
                })
                .collect();
            let entry = e.creds.entry((user, realm)).or_default();
            entry.0.insert(sha.clone());
            entry.1.insert(c["source"].as_str().unwrap().to_string());
            entry.2 += c["responses"].as_u64().unwrap();
            entry.3 |= !cracking.is_empty();
            entry.4 |= cracking.iter().any(|f| f["severity"] == "critical");
        }
        for c in calls.iter().filter(|c| c["kind"] == "call") {
            if let Some(to) = c["to_user"].as_str() {
                let rest = ["+", "00", "011"].iter().find_map(|p| to.strip_prefix(p));
                if let Some(rest) = rest {
                    *e.prefixes
                        .entry(rest.chars().take(3).collect())
                        .or_default() += 1;
                }
            }
            let mos = c["streams"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| streams[i.as_u64().unwrap() as usize]["mos"].as_f64())
                .fold(f64::INFINITY, f64::min);
            if mos < 3.0 {
                let first = &messages[c["messages"][0].as_u64().unwrap() as usize];
                let route = (
                    ip_of(first["src"].as_str().unwrap()),
                    ip_of(first["dst"].as_str().unwrap()),
                );
                *e.low_mos.entry(route).or_default() += 1;
            }
        }
    }
    e
}

/// `earshot analyze FLAG --store STORE FILES…` (FLAG: `--each`, or `--quiet` for one capture or case); the
/// command's output, asserted not refused (exit code 2).
fn write_store(store: &Path, flag: &str, files: &[PathBuf]) -> Output {
    let mut args: Vec<String> = vec![
        "analyze".into(),
        flag.into(),
        "--store".into(),
        store.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = earshot().args(&args).output().unwrap();
    assert!(
        out.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn hunt_rows(store: &Path, name: &str) -> Vec<serde_json::Map<String, Value>> {
    let out = run(&[
        "query",
        store.to_str().unwrap(),
        "--hunt",
        name,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "hunt {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_rows(&out)
}

/// A row's value as JSON, with an absent key (null) as null and integers as floats (readers differ there).
fn cell(row: &serde_json::Map<String, Value>, key: &str) -> Value {
    match row.get(key) {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Number(n)) => serde_json::json!(n.as_f64().unwrap()),
        Some(Value::Bool(b)) => serde_json::json!(if *b { 1.0 } else { 0.0 }),
        Some(v) => v.clone(),
    }
}

#[test]
fn the_shared_captures_as_one_store_agree_with_their_json_and_with_duckdb_and_pyarrow() {
    let files = shared_captures();
    assert!(files.len() >= 20, "the shared captures: {}", files.len());
    let store = scratch("shared");
    let out = write_store(&store, "--each", &files);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        files.len()
    );

    let e = expected_from_json(&files);
    // Writing the same captures again replaces them: no row is counted twice.
    let again = write_store(&store, "--each", &files);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .lines()
            .all(|l| l.ends_with("replaced"))
    );

    let list = run(&["query", ".", "--list-hunts", "--format", "json"]);
    let hunts: Vec<Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hunts.len(), 5);
    let py = python_reads(&store, &Value::Array(hunts.clone()));
    for (table, n) in &e.counts {
        assert_eq!(count(&store, table), *n, "earshot query: rows of {table}");
        assert_eq!(
            py["duckdb"][table].as_u64(),
            Some(*n),
            "DuckDB: rows of {table}"
        );
        assert_eq!(
            py["pyarrow"][table].as_u64(),
            Some(*n),
            "pyarrow: rows of {table}"
        );
    }
    assert!(
        e.counts["calls"] > 500 && e.counts["findings"] > 20,
        "{:?}",
        e.counts
    );

    // Each hunt: Earshot's answer equals DuckDB's running the same SQL, row for row.
    for h in &hunts {
        let name = h["name"].as_str().unwrap();
        let mine = hunt_rows(&store, name);
        let duck = py["hunts"][name].as_array().unwrap();
        assert_eq!(
            mine.len(),
            duck.len(),
            "hunt {name}: rows, Earshot vs DuckDB"
        );
        for (m, d) in mine.iter().zip(duck) {
            let d = d.as_object().unwrap();
            for k in d.keys() {
                let (a, b) = (cell(m, k), cell(d, k));
                match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "hunt {name} {k}: {x} vs {y}"
                    ),
                    _ => assert_eq!(a, b, "hunt {name}, column {k}"),
                }
            }
        }
    }

    // And the hunts' answers equal what the JSON of each capture says.
    let attackers: Vec<(String, u64)> = hunt_rows(&store, "repeat-attackers")
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["captures"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, u64)> = e
        .attackers
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(s, c)| (s.clone(), c.len() as u64))
        .collect();
    let mut got = attackers.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "repeat-attackers");

    let creds: BTreeMap<CredKey, CredCounts> = hunt_rows(&store, "clear-credentials")
        .iter()
        .map(|r| {
            (
                (
                    r["username"].as_str().unwrap().to_string(),
                    r["realm"].as_str().unwrap().to_string(),
                ),
                (
                    r["captures"].as_u64().unwrap(),
                    r["sources"].as_u64().unwrap(),
                    r["responses"].as_u64().unwrap(),
                    r["cracked"].as_u64() == Some(1),
                    r["proven"].as_u64() == Some(1),
                ),
            )
        })
        .collect();
    let want: BTreeMap<CredKey, CredCounts> = e
        .creds
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (v.0.len() as u64, v.1.len() as u64, v.2, v.3, v.4),
            )
        })
        .collect();
    assert_eq!(creds, want, "clear-credentials");
    assert!(
        !want.is_empty(),
        "the shared captures hold digest credentials"
    );

    let prefixes: BTreeMap<String, u64> = hunt_rows(&store, "toll-fraud-destinations")
        .iter()
        .map(|r| {
            (
                r["prefix"].as_str().unwrap_or("").to_string(),
                r["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(prefixes, e.prefixes, "toll-fraud-destinations");

    let low: BTreeMap<(String, String), u64> = hunt_rows(&store, "low-mos-routes")
        .iter()
        .map(|r| {
            (
                (
                    r["src_ip"].as_str().unwrap().to_string(),
                    r["dst_ip"].as_str().unwrap().to_string(),
                ),
                r["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(low, e.low_mos, "low-mos-routes");
    let _ = std::fs::remove_dir_all(&store);

    // The same files as one case (one capture of the store, a `file` number each): the calls of each file equal
    // that file's own JSON, through Earshot's engine and through DuckDB.
    let case = scratch("shared-case");
    write_store(&case, "--quiet", &files);
    let per_file = "SELECT p.path AS path, count(c.call_id) AS n FROM captures p \
                    LEFT JOIN calls c ON c.capture_sha256 = p.capture_sha256 AND c.file = p.file \
                    GROUP BY p.path ORDER BY p.path";
    let (rows, out) = query(&case, per_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mine: BTreeMap<String, u64> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mine, e.calls_per_file,
        "calls per file of the case, Earshot's engine"
    );
    let duck = Command::new("python3")
        .args([
            "-c",
            "import duckdb, sys, json\n\
             s = sys.argv[1]\n\
             con = duckdb.connect()\n\
             for t in ('captures', 'calls'):\n\
             \x20   con.execute(f\"CREATE VIEW {t} AS SELECT * FROM read_parquet('{s}/{t}/*/*.parquet')\")\n\
             print(json.dumps(dict(con.execute(sys.argv[2]).fetchall())))",
        ])
        .arg(&case)
        .arg(per_file)
        .output()
        .unwrap();
    assert!(
        duck.status.success(),
        "{}",
        String::from_utf8_lossy(&duck.stderr)
    );
    let duck: BTreeMap<String, u64> = serde_json::from_slice(&duck.stdout).unwrap();
    assert_eq!(duck, e.calls_per_file, "calls per file of the case, DuckDB");
    assert_eq!(count(&case, "captures"), files.len() as u64);
    let _ = std::fs::remove_dir_all(&case);
}

fn sample(name: &str) -> PathBuf {
    earshot_e2e::samples_dir()
        .join(name)
        .join(format!("{name}.pcap"))
}

#[test]
fn bad_stores_and_bad_sql_are_reported_and_the_rest_is_queried() {
    let store = scratch("bad");
    let s = store.to_str().unwrap();
    let a = sample("brute-force-success");
    let b = sample("voicemail-pin");
    let c = sample("toll-fraud-night");
    for f in [&a, &b, &c] {
        let out = run(&["analyze", "--quiet", "--store", s, f.to_str().unwrap()]);
        assert!(
            out.status.code() != Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sha = |p: &Path| earshot_e2e::sha256sum(p);
    let calls_of = |p: &Path| {
        let (rows, _) = query(
            &store,
            &format!(
                "SELECT count(*) AS n FROM calls WHERE capture_sha256 = '{}'",
                sha(p)
            ),
        );
        rows[0]["n"].as_u64().unwrap()
    };
    let total = count(&store, "calls");
    let (in_b, in_c) = (calls_of(&b), calls_of(&c));
    assert!(in_b > 0 && in_c > 0);

    // A damaged partition: named on stderr, exit code 1, the rest queried.
    let damaged = store
        .join("calls")
        .join(format!("capture={}", sha(&b)))
        .join("part-0.parquet");
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let (rows, out) = query(&store, "SELECT count(*) AS n FROM calls");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("calls/capture={}", sha(&b))) && err.contains("damaged"),
        "{err}"
    );
    assert_eq!(rows[0]["n"].as_u64(), Some(total - in_b));

    // A sound footer over damaged pages (the footer check cannot see it): reading the pages fails as this query's
    // error or is read as found; never a crash (a panic would exit 101, a signal with no code).
    let pages = store
        .join("messages")
        .join(format!("capture={}", sha(&a)))
        .join("part-0.parquet");
    let mut bytes = std::fs::read(&pages).unwrap();
    let half = bytes.len() / 2;
    for b in bytes.iter_mut().take(half).skip(4) {
        *b ^= 0x5a;
    }
    std::fs::write(&pages, &bytes).unwrap();
    let (_, out) = query(&store, "SELECT * FROM messages");
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(pages.parent().unwrap()).unwrap();

    // An interrupted write (a capture without its captures partition): its partitions are left out, and said so.
    std::fs::remove_dir_all(store.join("captures").join(format!("capture={}", sha(&c)))).unwrap();
    let (rows, out) = query(&store, "SELECT count(*) AS n FROM calls");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&sha(&c)) && err.contains("interrupted"),
        "{err}"
    );
    assert_eq!(rows[0]["n"].as_u64(), Some(total - in_b - in_c));
    // Writing the capture again completes it.
    let out = run(&["analyze", "--quiet", "--store", s, c.to_str().unwrap()]);
    assert!(out.status.code() != Some(2));
    let (rows, _) = query(&store, "SELECT count(*) AS n FROM calls");
    assert_eq!(rows[0]["n"].as_u64(), Some(total - in_b));

    // Read-only: statements that write or change the session are refused with the engine's message.
    for sql in [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO calls SELECT * FROM calls",
        "COPY calls TO '/tmp/earshot-should-not-exist.csv'",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE calls",
    ] {
        let (_, out) = query(&store, sql);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sql}: {err}");
        assert!(
            err.contains("not allowed") || err.contains("not supported"),
            "{sql}: {err}"
        );
    }
    assert!(!Path::new("/tmp/earshot-should-not-exist.csv").exists());
    // SQL that does not parse, or names a column that does not exist: the engine's message.
    let (_, out) = query(&store, "SELEC 1");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SQL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, out) = query(&store, "SELECT no_such_column FROM calls");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_column"));
    let out = run(&["query", s, "--hunt", "no-such-hunt"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("repeat-attackers"));

    // A store of a newer schema: refused, naming both versions.
    std::fs::write(
        store.join("_earshot_store.json"),
        "{\"format\": \"earshot-store\", \"schema_version\": 9}",
    )
    .unwrap();
    let (_, out) = query(&store, "SELECT 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("schema version 9") && err.contains("version 1"),
        "{err}"
    );
    // A folder that is no store at all.
    let (_, out) = query(&std::env::temp_dir(), "SELECT 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an Earshot store"));
    // --no-hash leaves the capture without a name in the store: refused before anything is written.
    let fresh = scratch("nohash");
    let out = run(&[
        "analyze",
        "--quiet",
        "--no-hash",
        "--store",
        fresh.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-hash"));
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&fresh);
}

#[test]
fn a_case_is_one_capture_of_the_store_with_a_row_per_file() {
    let dir = scratch("case");
    std::fs::create_dir_all(&dir).unwrap();
    let whole = sample("brute-force-success");
    let parts = crate::editcap_split(&whole, 40, &dir, "part.pcap");
    let store = dir.join("store");
    write_store(&store, "--quiet", &parts);
    let (rows, _) = query(
        &store,
        "SELECT file, sha256, path FROM captures ORDER BY file",
    );
    assert_eq!(rows.len(), parts.len());
    for (i, (r, p)) in rows.iter().zip(&parts).enumerate() {
        assert_eq!(r["file"].as_u64(), Some(i as u64 + 1));
        assert_eq!(
            r["sha256"].as_str(),
            Some(earshot_e2e::sha256sum(p).as_str())
        );
        assert_eq!(
            r["path"].as_str(),
            Some(std::fs::canonicalize(p).unwrap().to_str().unwrap())
        );
    }
    // Every call row names the file its first frame is in: the frame exists there (tshark reads it as SIP).
    let (rows, _) = query(
        &store,
        "SELECT file, frame, call_id FROM calls ORDER BY file, frame LIMIT 3",
    );
    assert!(!rows.is_empty());
    for r in rows {
        let file = &parts[r["file"].as_u64().unwrap() as usize - 1];
        let frame = r["frame"].as_u64().unwrap();
        let ids = earshot_e2e::tshark_fields(
            file,
            &[],
            &format!("frame.number == {frame}"),
            &["sip.Call-ID"],
        );
        assert!(
            ids.iter()
                .flatten()
                .any(|v| v.as_str() == r["call_id"].as_str().unwrap()),
            "file {} frame {frame}: {ids:?}",
            file.display()
        );
    }

    // The call's evidence pulled from the original files: every SIP frame tshark finds for its Call-ID in the
    // pieces is in the pcapng.
    let (rows, _) = query(&store, "SELECT call_id FROM calls WHERE kind = 'call'");
    let id = rows[0]["call_id"].as_str().unwrap().to_string();
    let pull = |out: &std::path::Path| {
        run(&[
            "query",
            store.to_str().unwrap(),
            "--pull",
            &id,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let out = dir.join("call.pcapng");
    let pulled = pull(&out);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let filter = format!("sip.Call-ID == \"{id}\"");
    let in_parts: usize = parts
        .iter()
        .map(|p| earshot_e2e::tshark_fields(p, &[], &filter, &["frame.number"]).len())
        .sum();
    let in_pull = earshot_e2e::tshark_fields(&out, &[], &filter, &["frame.number"]).len();
    assert!(in_parts > 0);
    assert_eq!(in_pull, in_parts);
    // A piece changed since the store was written: refused, naming it.
    let changed = &parts[0];
    let mut bytes = std::fs::read(changed).unwrap();
    bytes.push(0);
    std::fs::write(changed, &bytes).unwrap();
    let refused = pull(&dir.join("again.pcapng"));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is no longer the analysed file")
            && err.contains(std::fs::canonicalize(changed).unwrap().to_str().unwrap()),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
