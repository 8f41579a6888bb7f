//! `earshot analyze` as a user runs it: exit codes, the summary, JSON and CSV files read back independently.

use std::path::PathBuf;
use std::process::Command;

use crate::{earshot, sha256sum};

/// A shared capture: `$EARSHOT_CAPTURES`, else `../shared/captures` beside the checkout (as the e2e tests).
fn shared(name: &str) -> PathBuf {
    std::env::var_os("EARSHOT_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures"))
        .join(name)
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn clean_capture_exits_0_with_summary_json_and_csv() {
    let dir = tmpdir("clean");
    let json_path = dir.join("a.json");
    let out = earshot()
        .args(["analyze"])
        .arg(shared("SIP_DTMF2.cap"))
        .arg("--json")
        .arg(&json_path)
        .arg("--csv")
        .arg(dir.join("csv"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cda1e4673d334eea7c86546076a3e0a4427227493aef9de620d1ed2b635697a9"));
    assert!(stdout.contains("SIP messages 29"), "{stdout}");
    assert!(stdout.contains("25672@192.168.105.110"));

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["capture"]["packets"], 1360);
    assert_eq!(v["capture"]["first_ts"], "2005-09-09T12:02:25.330945Z");
    assert_eq!(v["summary"]["sip_messages"], 29);
    assert_eq!(v["summary"]["call_ids"], 5);
    assert_eq!(v["summary"]["invite_dialogs"], 2);
    assert_eq!(v["summary"]["answered_calls"], 1);
    let calls = v["calls"].as_array().unwrap();
    let declined = calls
        .iter()
        .find(|c| c["call_id"] == "5514@192.168.105.110")
        .unwrap();
    assert_eq!(declined["state"], "rejected");
    assert_eq!(declined["final_status"], 603);
    assert_eq!(declined["end_reason"], "603 Decline");
    assert_eq!(declined["ended_by"], "callee");
    let answered = calls
        .iter()
        .find(|c| c["call_id"] == "25672@192.168.105.110")
        .unwrap();
    assert_eq!(answered["answered"], true);
    assert_eq!(answered["from_user"], "2502");
    assert_eq!(answered["to_user"], "2504");
    assert!(
        answered["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "PCMA")
    );
    for key in [
        "call_id",
        "from",
        "to",
        "state",
        "answered",
        "start_ts",
        "duration_secs",
        "user_agents",
        "frames",
    ] {
        assert!(answered.get(key).is_some(), "calls[] lacks {key}");
    }

    // Streams: the JSON contract of the RTP issue, values from TShark's truth (section 2) for this capture.
    assert_eq!(answered["dtmf"], "6789123");
    assert_eq!(declined["dtmf"], "");
    assert_eq!(v["summary"]["rtp_streams"], 2);
    let streams = v["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    for st in streams {
        for key in [
            "call_id",
            "ssrc",
            "src",
            "dst",
            "payload_type",
            "codec",
            "clock_rate_hz",
            "packets",
            "lost",
            "max_jitter_ms",
            "mean_jitter_ms",
            "max_delta_ms",
            "mos",
            "signalled",
            "encryption",
        ] {
            assert!(st.get(key).is_some(), "streams[] lacks {key}");
        }
        assert_eq!(st["call_id"], "25672@192.168.105.110");
        assert_eq!(st["signalled"], true);
        assert_eq!(st["encryption"], "none");
        assert_eq!(st["clock_rate_hz"], 8000);
    }
    let ev = streams.iter().find(|s| s["ssrc"] == 0x5711BF84u32).unwrap();
    assert_eq!(ev["src"], "192.168.105.172:4376");
    assert_eq!(ev["packets"], 666);
    assert_eq!(ev["lost"], 0);
    assert!((ev["max_jitter_ms"].as_f64().unwrap() - 15.767).abs() < 0.01);
    let other = streams.iter().find(|s| s["ssrc"] == 0x9A7B5382u32).unwrap();
    assert_eq!(other["packets"], 665);
    assert_eq!(other["lost"], 2);
    assert_eq!(other["codec"], "PCMA");
    assert_eq!(other["payload_type"], 8);
    assert!(stdout.contains("DTMF      6789123"), "{stdout}");

    // CSV read back with the csv crate: header plus one row per call / stream / message, constant column count.
    for (file, rows) in [("calls.csv", 5), ("streams.csv", 2), ("messages.csv", 29)] {
        let mut r = csv::Reader::from_path(dir.join("csv").join(file)).unwrap();
        let width = r.headers().unwrap().len();
        let records: Vec<_> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(records.len(), rows, "{file}");
        assert!(
            records.iter().all(|rec| rec.len() == width),
            "{file}: ragged rows"
        );
    }
}

#[test]
fn damaged_capture_exits_1_with_partial_result() {
    let dir = tmpdir("damaged");
    let bytes = std::fs::read(shared("SIP_DTMF2.cap")).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let out = earshot()
        .arg("analyze")
        .arg(&cut)
        .arg("--json")
        .arg("-")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["capture"]["packets"], 1359);
    // Frame 1360 (the lost one) is itself a SIP message (truth: Call-ID 18585 ends at frame 1360).
    assert_eq!(v["summary"]["sip_messages"], 28);
    let diag = &v["diagnostics"][0];
    assert_eq!(diag["frame"], 1360);
    assert!(diag["message"].as_str().unwrap().contains("truncated"));
    // The summary went to stderr because stdout carries the JSON.
    assert!(String::from_utf8_lossy(&out.stderr).contains("Diagnostics"));
}

#[test]
fn unusable_input_exits_2_with_a_clear_message() {
    let dir = tmpdir("bad");
    let notcap = dir.join("notes.txt");
    std::fs::write(&notcap, "hello, this is not a capture").unwrap();
    let folder = dir.join("a-folder.pcap");
    std::fs::create_dir_all(&folder).unwrap();
    for (path, expect) in [
        (notcap, "not a pcap or pcapng capture"),
        (dir.join("missing.pcap"), "cannot open capture"),
        // A folder is a case of the captures inside it; an empty one says so.
        (folder, "holds no capture files"),
    ] {
        let out = earshot().arg("analyze").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{err}");
        // Each thing said once: the OS reason is not repeated by the error chain.
        for reason in ["No such file or directory", "os error"] {
            assert!(err.matches(reason).count() <= 1, "said twice: {err}");
        }
        assert!(!err.contains("No such device"), "{err}");
        assert!(
            err.contains(&*path.file_name().unwrap().to_string_lossy()),
            "names the file: {err}"
        );
    }
}

/// A capture holding only a TLS connection: the summary names it (client, server, version) and says no finding
/// fired, checked against TShark's reading of the ServerHello — on the generated TLS 1.2 sample and on a real TLS 1.3
/// call (kamailio's TLS module, tests/eval/corpus/benign-tls-call.pcap).
#[test]
fn tls_only_capture_has_a_tls_line_and_a_findings_line() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for path in [
        root.join("sample-captures/srtp-over-tls/srtp-over-tls.pcap"),
        root.join("tests/eval/corpus/benign-tls-call.pcap"),
    ] {
        let shark = Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args([
                "-Y",
                "tls.handshake.type == 2",
                "-T",
                "fields",
                "-e",
                "ip.dst",
                "-e",
                "tcp.dstport",
                "-e",
                "ip.src",
                "-e",
                "tcp.srcport",
                "-e",
                "tls.handshake.version",
                "-e",
                "tls.handshake.extensions.supported_version",
            ])
            .output()
            .expect("tshark (scripts/setup.sh installs it)");
        let shark = String::from_utf8_lossy(&shark.stdout);
        let f: Vec<&str> = shark.trim_end_matches(['\n', '\r']).split('\t').collect();
        assert_eq!(f.len(), 6, "{shark}");
        let (client, server) = (format!("{}:{}", f[0], f[1]), format!("{}:{}", f[2], f[3]));
        // TLS 1.3 says so in supported_versions; the legacy field stays 0x0303.
        let version = match (f[4], f[5]) {
            (_, "0x0304") => "TLS 1.3",
            ("0x0303", _) => "TLS 1.2",
            other => panic!("unexpected ServerHello versions {other:?}"),
        };
        let out = earshot().arg("analyze").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", path.display());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("TLS       1 connection(s)"), "{stdout}");
        assert!(
            stdout.contains(&format!("{client} -> {server}  {version}")),
            "{stdout}"
        );
        assert!(stdout.contains("Findings  none"), "{stdout}");
    }
}

/// Scripted work is on the record: `analyze` appends what it read and wrote to the audit log the app writes
/// (hashes checked with sha256sum), and `--no-audit` appends nothing.
#[test]
fn the_command_line_appends_to_the_audit_log_unless_told_not_to() {
    let dir = tmpdir("audit");
    let log = dir.join("audit.jsonl");
    let capture = shared("SIP_DTMF2.cap");
    let run = |extra: &[&str]| {
        let out = earshot()
            .env("EARSHOT_AUDIT_LOG", &log)
            .arg("analyze")
            .arg(&capture)
            .arg("--json")
            .arg(dir.join("a.json"))
            .arg("--csv")
            .arg(dir.join("csv"))
            .arg("--quiet")
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sha = sha256sum(&capture);
    assert_eq!(lines[0]["action"], "analyze");
    assert_eq!(lines[0]["via"], "cli");
    assert_eq!(lines[0]["sha256"], sha.as_str());
    assert_eq!(lines[0]["packets"], 1360);
    let exports: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["action"] == "export").collect();
    // a.json, six CSV tables, the CSV folder's manifest.
    assert_eq!(exports.len(), 8, "{exports:?}");
    for e in &exports {
        assert_eq!(e["sha256"], sha.as_str());
        let p = PathBuf::from(e["path"].as_str().unwrap());
        assert_eq!(e["path_sha256"], sha256sum(&p).as_str(), "{p:?}");
    }
    assert!(exports.iter().any(|e| e["kind"] == "manifest"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("csv/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["evidence"]["sha256"], sha.as_str());
    assert_eq!(
        manifest["files"].as_array().unwrap().len(),
        7,
        "six tables and the JSON"
    );
    let before = std::fs::read(&log).unwrap();
    run(&["--no-audit"]);
    assert_eq!(std::fs::read(&log).unwrap(), before);
}

#[test]
fn a_folder_a_glob_or_several_files_analyse_as_one_case() {
    // The pieces `editcap -c` cuts a capture into: the same calls and packets as the whole, from a folder, a
    // quoted pattern or the files listed; frames as file:frame; each file's SHA-256 (sha256sum) in the JSON.
    let dir = tmpdir("case");
    let whole = shared("sip-rtp-g711.pcap");
    let parts = crate::editcap_split(&whole, 300, &dir, "tap.pcapng");
    assert_eq!(parts.len(), 3);
    let read = |args: &[std::ffi::OsString]| -> serde_json::Value {
        let out = earshot()
            .arg("analyze")
            .args(args)
            .args(["--json", "-", "-q"])
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let pattern = dir.join("tap_*.pcapng");
    for args in [
        vec![dir.clone().into_os_string()],
        vec![pattern.into_os_string()],
        parts.iter().map(|p| p.clone().into_os_string()).collect(),
    ] {
        let v = read(&args);
        let files = v["case"]["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        for (f, p) in files.iter().zip(&parts) {
            assert_eq!(f["sha256"].as_str().unwrap(), sha256sum(p));
        }
        assert_eq!(v["summary"]["packets"], 852);
        assert_eq!(v["calls"].as_array().unwrap().len(), 2);
        // The first message is frame 1 of file 1.
        assert_eq!(v["messages"][0]["frame"], 10_000_000_001u64);
    }
    // A bad --points or --offset is refused, naming the argument.
    for (flag, value, says) in [
        ("--points", "sideways", "--points"),
        ("--offset", "nonsense", "FILE=SECONDS"),
        ("--offset", "other.pcap=1", "not a file of this case"),
    ] {
        let out = earshot()
            .arg("analyze")
            .arg(&dir)
            .args([flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

/// `earshot analyze --certs DIR --sti-roots PEM` on the STIR/SHAKEN sample: the summary lists the signed calls, the
/// JSON carries `calls[].identity` with the labelled verdicts (`sample-captures/stir-shaken/calls.toml`), and a
/// missing folder or an unusable anchor bundle is a clear error (exit 2) that names it.
#[test]
fn analyze_verifies_stir_shaken_with_the_given_certificates() {
    let dir = earshot_e2e::samples_dir().join("stir-shaken");
    let out_dir = std::env::temp_dir().join(format!("earshot-cli-stir-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let json = out_dir.join("a.json");
    let out = earshot()
        .arg("analyze")
        .arg(dir.join("stir-shaken.pcap"))
        .arg("--certs")
        .arg(dir.join("certs"))
        .arg("--sti-roots")
        .arg(dir.join("sti-pa-roots.pem"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The malformed token is a warning diagnostic: exit 1.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Identity  17 call(s) signed (STIR/SHAKEN), 7 valid"),
        "{stdout}"
    );
    assert!(stdout.contains(
        "stir-bad-signature@sp1.test  attest A  invalid-signature  CN=SHAKEN 1234 (SPC 1234)"
    ));
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let verdict = |id: &str| {
        a["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["call_id"] == id)
            .map(|c| c["identity"]["verdict"].clone())
            .unwrap()
    };
    assert_eq!(verdict("stir-replay-2@sp1.test"), "replayed");
    assert_eq!(verdict("stir-tn-covered@sp1.test"), "valid");
    assert_eq!(verdict("stir-unsigned@sp1.test"), serde_json::Value::Null);
    for (flag, path, says) in [
        (
            "--certs",
            out_dir.join("no-such-folder"),
            "certificate folder",
        ),
        ("--sti-roots", dir.join("calls.toml"), "trust anchors"),
    ] {
        let out = earshot()
            .arg("analyze")
            .arg(dir.join("stir-shaken.pcap"))
            .arg(flag)
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains(&*path.to_string_lossy()),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
