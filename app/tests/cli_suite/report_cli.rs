//! `earshot report` from the command line: deterministic JSON (two runs, one or two threads), CSV tables that
//! Python's csv module reads with the row counts TShark gives, `--redact` leaving no original address, argument
//! checks (pcap with redaction, outputs over the input, missing --call), and per-call pcap names from hostile
//! Call-IDs.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::earshot;

use earshot_e2e::pcapw::{self, Frame};
use earshot_e2e::{captures_dir, samples_dir};

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-cli-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn brute() -> PathBuf {
    samples_dir().join("brute-force-success/brute-force-success.pcap")
}

fn report(args: &[&std::ffi::OsStr]) -> Output {
    earshot().arg("report").args(args).output().unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Distinct values of one TShark field over the SIP packets of `path`.
fn tshark_distinct(path: &Path, field: &str) -> BTreeSet<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", "sip", "-T", "fields", "-e", field])
        .output()
        .expect("tshark runs (scripts/setup.sh installs it)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| l.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn json_is_identical_across_runs_and_thread_counts() {
    let dir = tmp_dir("json");
    let mut outputs = Vec::new();
    for (n, threads) in ["1", "2", "2"].iter().enumerate() {
        let path = dir.join(format!("{n}.json"));
        let o = report(&[
            brute().as_os_str(),
            os("--json"),
            path.as_os_str(),
            os("--threads"),
            os(threads),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // One line per file written, with its size.
        let size = std::fs::metadata(&path).unwrap().len();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains(&format!("{} ({size} bytes)", path.display())),
            "{stdout}"
        );
        outputs.push(std::fs::read(&path).unwrap());
    }
    assert!(outputs[0].len() > 10_000);
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[1], outputs[2]);
    // The same analysis as `analyze --json`.
    let analyze_json = dir.join("analyze.json");
    let o = earshot()
        .arg("analyze")
        .arg(brute())
        .arg("-q")
        .arg("--json")
        .arg(&analyze_json)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read(&analyze_json).unwrap(), outputs[0]);
}

/// Rows (header excluded) of each CSV file as Python's csv module reads them, checking every row has the header's
/// width.
fn python_csv_rows(path: &Path) -> usize {
    let script = "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],newline='',encoding='utf-8')))\n\
                  w=len(rows[0])\nbad=[i for i,r in enumerate(rows) if len(r)!=w]\n\
                  assert not bad, bad[:5]\nprint(len(rows)-1)";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{path:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn csv_tables_parse_with_python_and_count_what_tshark_sees() {
    for (name, capture) in [
        ("brute", brute()),
        ("dtmf2", captures_dir().join("SIP_DTMF2.cap")),
    ] {
        let dir = tmp_dir(&format!("csv-{name}"));
        let o = report(&[capture.as_os_str(), os("--csv"), dir.as_os_str()]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        let call_ids = tshark_distinct(&capture, "sip.Call-ID");
        assert_eq!(
            python_csv_rows(&dir.join("calls.csv")),
            call_ids.len(),
            "{name}"
        );
        let frames = tshark_distinct(&capture, "frame.number");
        assert_eq!(
            python_csv_rows(&dir.join("messages.csv")),
            frames.len(),
            "{name}"
        );
        python_csv_rows(&dir.join("streams.csv"));
        assert!(python_csv_rows(&dir.join("findings.csv")) > 0);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            stdout.lines().filter(|l| l.starts_with("csv")).count(),
            6,
            "{stdout}"
        );
    }
}

/// `needle` standing alone in `hay` (no digit or letter around it).
fn has_whole(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let b = hay.as_bytes();
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + needle.len()).copied();
        let word = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        !word(before) && !word(after)
    })
}

#[test]
fn redacted_exports_contain_no_original_address() {
    let capture = captures_dir().join("SIP_DTMF2.cap");
    let mut ips = tshark_distinct(&capture, "ip.src");
    ips.extend(tshark_distinct(&capture, "ip.dst"));
    assert!(ips.len() >= 2, "{ips:?}");
    let dir = tmp_dir("redact");
    let json = dir.join("r.json");
    let o = report(&[
        capture.as_os_str(),
        os("--redact"),
        os("--json"),
        json.as_os_str(),
        os("--csv"),
        dir.join("csv").as_os_str(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let mut files = vec![json.clone()];
    for e in std::fs::read_dir(dir.join("csv")).unwrap() {
        files.push(e.unwrap().path());
    }
    // r.json + calls, messages, streams, findings, dtmf, tls + the manifest (which must leak nothing either)
    assert_eq!(files.len(), 8);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for ip in &ips {
            assert!(!has_whole(&text, ip), "{ip} in {f:?}");
        }
    }
    // Without --redact the same addresses are there (the check above can fail).
    let plain = dir.join("plain.json");
    let o = report(&[capture.as_os_str(), os("--json"), plain.as_os_str()]);
    assert!(matches!(o.status.code(), Some(0 | 1)));
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(ips.iter().all(|ip| has_whole(&text, ip)));
}

#[test]
fn argument_errors_exit_2_and_write_nothing() {
    let dir = tmp_dir("args");
    let pcap = dir.join("x.pcapng");
    let b = brute();
    let b = b.as_os_str();
    let (all, gif, j) = (dir.join("all"), dir.join("l.gif"), dir.join("j.json"));
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec![
                b,
                os("--redact"),
                os("--pcap"),
                pcap.as_os_str(),
                os("--call"),
                os("x"),
            ],
            "cannot be redacted",
        ),
        (
            vec![b, os("--redact"), os("--all-calls-pcap"), all.as_os_str()],
            "cannot be redacted",
        ),
        (vec![b, os("--pcap"), pcap.as_os_str()], "--call"),
        (vec![b], "nothing to write"),
        (
            vec![b, os("--ladder"), gif.as_os_str(), os("--call"), os("x")],
            ".svg, .png or .txt",
        ),
        (
            vec![
                b,
                os("--json"),
                j.as_os_str(),
                os("--call"),
                os("no-such-call"),
            ],
            "no call with Call-ID",
        ),
    ];
    for (args, expect) in cases {
        let o = report(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "something was written"
    );
}

#[test]
fn outputs_never_overwrite_the_input_capture() {
    let dir = tmp_dir("overwrite");
    let capture = dir.join("c.pcap");
    std::fs::copy(brute(), &capture).unwrap();
    let before = std::fs::read(&capture).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let other_spelling = dir.join("sub/../c.pcap");
    for flag in ["--json", "--pdf", "--ladder"] {
        let o = report(&[
            capture.as_os_str(),
            os(flag),
            other_spelling.as_os_str(),
            os("--call"),
            os("x"),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert!(
            err.contains("is the input capture") || err.contains(".svg, .png or .txt"),
            "{err}"
        );
    }
    // A CSV directory is fine, but not one that holds the input under a table's name.
    let as_calls_csv = dir.join("calls.csv");
    std::fs::copy(brute(), &as_calls_csv).unwrap();
    let o = report(&[as_calls_csv.as_os_str(), os("--csv"), dir.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is the input capture"));
    assert_eq!(std::fs::read(&capture).unwrap(), before);
    assert_eq!(std::fs::read(&as_calls_csv).unwrap(), before);
}

/// An INVITE/200 dialog with Call-ID `call_id`.
fn dialog(call_id: &str, t: i64) -> Vec<Frame> {
    let a = Ipv4Addr::new(192, 0, 2, 10);
    let b = Ipv4Addr::new(192, 0, 2, 20);
    let invite = format!(
        "INVITE sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{t}\r\n\
         From: <sip:alice@192.0.2.10>;tag=a{t}\r\nTo: <sip:bob@192.0.2.20>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{t}\r\n\
         From: <sip:alice@192.0.2.10>;tag=a{t}\r\nTo: <sip:bob@192.0.2.20>;tag=b{t}\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:bob@192.0.2.20>\r\nContent-Length: 0\r\n\r\n"
    );
    vec![
        Frame::new(t, pcapw::eth_udp4(a, 5060, b, 5060, invite.as_bytes())),
        Frame::new(
            t + 1_000_000,
            pcapw::eth_udp4(b, 5060, a, 5060, ok.as_bytes()),
        ),
    ]
}

const HOSTILE: [&str; 4] = [
    "../../escape-1",
    "/tmp/escape-2",
    "..",
    "a\x1b[31mb\u{202e}c",
];

fn hostile_capture(dir: &Path) -> PathBuf {
    let mut frames = Vec::new();
    for (n, id) in HOSTILE.iter().enumerate() {
        frames.extend(dialog(
            id,
            1_700_000_000_000_000_000 + n as i64 * 1_000_000_000,
        ));
    }
    let path = dir.join("hostile.pcap");
    std::fs::write(&path, pcapw::pcap_bytes(1, &frames)).unwrap();
    path
}

#[test]
fn hostile_call_ids_name_files_inside_the_directory() {
    let dir = tmp_dir("hostile");
    let capture = hostile_capture(&dir);
    let out = dir.join("calls");
    let o = report(&[capture.as_os_str(), os("--all-calls-pcap"), out.as_os_str()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "_..pcapng",
            "_._.._escape-1.pcapng",
            "_tmp_escape-2.pcapng",
            "a__31mb_c.pcapng",
            "manifest.json"
        ]
    );
    // Nothing outside the directory: only the capture and the directory are next to it.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    assert!(!Path::new("/tmp/escape-2.pcapng").exists());
    // Each file holds its dialog's two frames (tshark reads it back); the manifest lists the four.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"].as_array().unwrap().len(), 4);
    for n in names.iter().filter(|n| n.ends_with(".pcapng")) {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(out.join(n))
            .args(["-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2, "{n}");
    }
}

#[test]
fn hostile_call_ids_are_analysed_as_separate_calls() {
    // The capture the test above uses is what it claims to be: four dialogs with the hostile Call-IDs.
    let dir = tmp_dir("hostile-json");
    let capture = hostile_capture(&dir);
    let json = dir.join("h.json");
    let o = report(&[capture.as_os_str(), os("--json"), json.as_os_str()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let ids: Vec<&str> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, HOSTILE);
}

#[test]
fn pdf_lists_the_case_and_the_exports_of_the_run() {
    let dir = tmp_dir("pdf");
    let pdf = dir.join("r.pdf");
    let json = dir.join("r.json");
    let o = report(&[
        brute().as_os_str(),
        os("--json"),
        json.as_os_str(),
        os("--pdf"),
        pdf.as_os_str(),
        os("--case-id"),
        os("CASE-4711"),
        os("--analyst"),
        os("J. Doe"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("CASE-4711") && text.contains("J. Doe"),
        "{text}"
    );
    assert!(text.contains("r.json"), "exports not listed: {text}");
}

#[test]
fn ladders_in_three_formats() {
    let dir = tmp_dir("ladder");
    for ext in ["svg", "png", "txt"] {
        let path = dir.join(format!("l.{ext}"));
        let o = report(&[
            samples_dir().join("clean-call/clean-call.pcap").as_os_str(),
            os("--ladder"),
            path.as_os_str(),
            os("--call"),
            os("gen-0@example.org"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let bytes = std::fs::read(&path).unwrap();
        match ext {
            "png" => assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n"),
            "svg" => assert!(String::from_utf8_lossy(&bytes).contains("INVITE")),
            _ => assert!(String::from_utf8_lossy(&bytes).contains("INVITE")),
        }
    }
}

#[test]
fn blocklist_names_the_attacker_not_the_trusted_pbx() {
    // README: 198.51.100.23 attacks the PBX 10.0.0.1 (inside the default trusted 10.0.0.0/8).
    let dir = tmp_dir("blocklist");
    let o = report(&[brute().as_os_str(), os("--blocklist"), dir.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let txt = std::fs::read_to_string(dir.join("earshot-blocklist.txt")).unwrap();
    let nft = std::fs::read_to_string(dir.join("earshot-blocklist.nft")).unwrap();
    assert!(txt.lines().any(|l| l.starts_with("198.51.100.23")), "{txt}");
    assert!(!txt.contains("10.0.0.1") && !nft.contains("10.0.0.1"));
    assert!(nft.contains("198.51.100.23"));
}

#[test]
fn call_pcap_holds_the_frames_tshark_finds_for_the_call() {
    let dir = tmp_dir("pcap");
    let capture = samples_dir().join("clean-call/clean-call.pcap");
    let pcap = dir.join("c.pcapng");
    let o = report(&[
        capture.as_os_str(),
        os("--pcap"),
        pcap.as_os_str(),
        os("--call"),
        os("gen-0@example.org"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sip = |p: &Path| {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(p)
            .args([
                "-Y",
                "sip.Call-ID == \"gen-0@example.org\"",
                "-T",
                "fields",
                "-e",
                "sip.CSeq",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(sip(&pcap), sip(&capture));
}
