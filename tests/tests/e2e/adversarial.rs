//! Hostile captures (tests/src/adversarial.rs): every analysis finishes, the tables stay at or under their caps
//! (`pipeline::Limits`), each cap hit is said by an `analysis limited: …` diagnostic with its count and by the
//! `analysis-limited` finding, peak memory stays under the caps documented in THREAT_MODEL.md, and time grows
//! linearly with the input. Exports of hostile headers are neutralised.
//!
//! Each analysis runs in a child process (this test binary again, test `child_analyze`, with
//! `EARSHOT_ADV_CHILD` = the capture) so that its peak RSS (`VmHWM` in /proc/self/status) is its own. Children run
//! one at a time (a lock), so that the timings do not share the CPU with each other.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use earshot_core::model::{ANALYSIS_LIMITED_PREFIX, Analysis};
use earshot_core::pipeline::Limits;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::adversarial::{self, Generated};
use serde_json::{Value, json};

const MIB: u64 = 1024 * 1024;

static CHILD_LOCK: Mutex<()> = Mutex::new(());

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-adversarial-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the child reports about one analysis.
struct Run {
    summary: Value,
    secs: f64,
    peak_rss_bytes: u64,
}

impl Run {
    fn u(&self, key: &str) -> u64 {
        self.summary[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} missing in {}", self.summary))
    }

    fn limited(&self) -> Vec<String> {
        self.summary["limited"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// The `analysis limited` diagnostic for `cap`, which must exist.
    fn limited_with(&self, cap: &str) -> String {
        self.limited()
            .into_iter()
            .find(|m| m.contains(cap))
            .unwrap_or_else(|| {
                panic!(
                    "no `analysis limited` diagnostic for {cap:?}: {:?}",
                    self.limited()
                )
            })
    }

    fn finding_details(&self) -> Option<String> {
        self.summary["analysis_limited_finding"]
            .as_str()
            .map(str::to_string)
    }

    /// The tables in the model are at or under their caps (the defaults).
    fn assert_tables_capped(&self) {
        let l = Limits::default();
        assert!(self.u("calls") <= l.calls.max_calls as u64);
        assert!(self.u("streams") <= l.media.max_streams as u64);
        assert!(self.u("messages") <= l.max_messages as u64);
        assert!(self.u("unparsed_sip") <= l.max_unparsed_sip as u64);
        // The diagnostics cap, plus the one-per-cap summary lines that are always kept.
        assert!(
            self.u("diagnostics") <= l.max_diagnostics as u64 + self.limited().len() as u64,
            "{} diagnostics",
            self.u("diagnostics")
        );
    }

    /// Every cap hit is named in the finding's details.
    fn assert_finding_names(&self, caps: &[&str]) {
        let details = self.finding_details().unwrap_or_else(|| {
            panic!("no analysis-limited finding; limited: {:?}", self.limited())
        });
        for cap in caps {
            assert!(
                details.contains(cap),
                "finding does not name {cap:?}: {details}"
            );
        }
    }
}

/// Number in `text` right after `after`, e.g. `count_after("…): 50000 SIP", "): ")`.
fn count_after(text: &str, after: &str) -> u64 {
    let rest = &text[text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in {text:?}"))
        + after.len()..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {after:?} in {text:?}"))
}

/// Analyse `path` in a child process (default limits, or `max_calls` Call-IDs) and read what it reports.
fn analyse_in_child(path: &Path) -> Run {
    analyse_in_child_with(path, None)
}

fn analyse_in_child_with(path: &Path, max_calls: Option<usize>) -> Run {
    let _one_at_a_time = CHILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out_path = path.with_extension("result.json");
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "adversarial::child_analyze",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("EARSHOT_ADV_CHILD", path)
    .env("EARSHOT_ADV_OUT", &out_path);
    if let Some(n) = max_calls {
        cmd.env("EARSHOT_ADV_MAX_CALLS", n.to_string());
    }
    let status = cmd.status().unwrap();
    assert!(
        status.success(),
        "child analysis of {} failed: {status}",
        path.display()
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let run = Run {
        secs: v["secs"].as_f64().unwrap(),
        peak_rss_bytes: v["vm_hwm_kib"].as_u64().unwrap() * 1024,
        summary: v,
    };
    eprintln!(
        "{}: {:.2} s, peak RSS {} MiB, {} frames",
        path.file_name().unwrap().to_string_lossy(),
        run.secs,
        run.peak_rss_bytes / MIB,
        run.u("frames")
    );
    run
}

/// Not a test of its own: the body of the child process (does nothing when run normally).
#[test]
fn child_analyze() {
    let Some(path) = std::env::var_os("EARSHOT_ADV_CHILD") else {
        return;
    };
    let out = std::env::var_os("EARSHOT_ADV_OUT").unwrap();
    let mut opts = AnalyzeOptions::default();
    if let Some(n) = std::env::var("EARSHOT_ADV_MAX_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        opts.limits.calls.max_calls = n;
    }
    let start = Instant::now();
    let a = analyze_file(Path::new(&path), &opts, &mut |_| {}).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap();
    let summary = summarise(&a, secs, hwm);
    std::fs::write(out, serde_json::to_vec(&summary).unwrap()).unwrap();
}

fn summarise(a: &Analysis, secs: f64, vm_hwm_kib: u64) -> Value {
    let c = &a.counters;
    json!({
        "secs": secs,
        "vm_hwm_kib": vm_hwm_kib,
        "frames": c.frames,
        "sip_messages": a.summary.sip_messages,
        "messages": a.messages.len(),
        "calls": a.calls.len(),
        "streams": a.streams.len(),
        "unparsed_sip": a.unparsed_sip.len(),
        "diagnostics": a.diagnostics.len(),
        "diagnostics_dropped": a.diagnostics_dropped,
        "malformed_frames": c.malformed_frames,
        "ip_fragments": c.ip_fragments,
        "incomplete_datagrams": c.incomplete_datagrams,
        "reassembled_datagrams": c.reassembled_datagrams,
        "tcp_segments": c.tcp_segments,
        "tcp_bytes_skipped": c.tcp_bytes_skipped,
        "rtp_packets": c.media.rtp_packets,
        "rtcp_packets": c.media.rtcp_packets,
        "streams_dropped": c.media.streams_dropped,
        "rtp_packets_untracked": c.media.rtp_packets_untracked,
        "call_ids": a.calls.iter().map(|c| c.call_id.clone()).filter(|c| !c.starts_with("flood-")).collect::<Vec<_>>(),
        "limited": a.diagnostics.iter()
            .filter(|d| d.message.starts_with(ANALYSIS_LIMITED_PREFIX))
            .map(|d| d.message.clone())
            .collect::<Vec<_>>(),
        "diagnostic_samples": a.diagnostics.iter().take(20).map(|d| d.message.clone()).collect::<Vec<_>>(),
        "analysis_limited_finding": a.findings.iter()
            .find(|f| f.rule_id == "analysis-limited")
            .map(|f| f.details.clone()),
    })
}

fn generate(
    name: &str,
    f: impl FnOnce(&Path) -> std::io::Result<Generated>,
) -> (PathBuf, Generated) {
    let p = dir().join(name);
    let g = f(&p).unwrap();
    (p, g)
}

/// Peak RSS caps (THREAT_MODEL.md): the measured value with headroom for allocator and thread-count variation.
fn assert_rss(run: &Run, cap_mib: u64) {
    assert!(
        run.peak_rss_bytes < cap_mib * MIB,
        "peak RSS {} MiB over the documented {cap_mib} MiB",
        run.peak_rss_bytes / MIB
    );
}

#[test]
fn a_million_call_ids_hit_the_message_and_call_caps_in_linear_time() {
    let l = Limits::default();
    let full_n = l.calls.max_calls as u64 + 50_000;
    let quarter_n = full_n / 4;
    // A quarter, with the Call-ID cap lowered to 200 000 so that it is reached before the message budget.
    let (quarter_path, _) = generate("callids-quarter.pcap", |p| {
        adversarial::call_id_flood(p, quarter_n)
    });
    let quarter = analyse_in_child_with(&quarter_path, Some(200_000));
    std::fs::remove_file(&quarter_path).ok();
    // The whole flood with the default limits: the stored-message budget (`max_message_bytes`) is reached first.
    let (full_path, g) = generate("callids-full.pcap", |p| {
        adversarial::call_id_flood(p, full_n)
    });
    let full = analyse_in_child(&full_path);
    std::fs::remove_file(&full_path).ok();

    assert_eq!(full.u("frames"), g.frames);
    // Every message is counted; those over the budget are not stored (nor grouped: each stored one is a call).
    assert_eq!(full.u("sip_messages"), full_n);
    let stored = full.u("messages");
    assert!(
        stored > 100_000 && stored < full_n,
        "{stored} messages stored"
    );
    assert_eq!(full.u("calls"), stored);
    full.assert_tables_capped();
    let d = full.limited_with("SIP message cap (5000000 messages, 2147483648 bytes)");
    assert_eq!(count_after(&d, "): "), full_n - stored, "{d}");
    full.assert_finding_names(&["SIP message cap"]);

    assert_eq!(quarter.u("sip_messages"), quarter_n);
    assert_eq!(quarter.u("calls"), 200_000);
    let d = quarter.limited_with("Call-ID cap (200000)");
    assert_eq!(count_after(&d, "): "), quarter_n - 200_000, "{d}");
    quarter.assert_finding_names(&["Call-ID cap (200000)"]);

    assert_rss(&full, 4608);
    assert!(
        full.secs < 8.0 * quarter.secs,
        "time not linear: {:.2} s for {full_n} vs {:.2} s for {quarter_n}",
        full.secs,
        quarter.secs
    );
}

#[test]
fn fragment_floods_are_bounded_and_reported() {
    let (path, g) = generate("fragments.pcap", |p| {
        adversarial::fragment_flood(p, 20_000, 1_200)
    });
    let run = analyse_in_child(&path);
    std::fs::remove_file(&path).ok();
    assert_eq!(run.u("frames"), g.frames);
    assert_eq!(
        run.u("reassembled_datagrams"),
        0,
        "nothing in the flood completes"
    );
    run.assert_tables_capped();
    let evicted = run.limited_with("IP reassembly cap (4096 datagrams");
    // 20 000 tiny + 1200 big + 1 + 10 + 2000 IPv6 datagrams started; at most 4096 pending at the end.
    assert!(
        count_after(&evicted, "): ") >= 20_000 + 1_200 - 4_096,
        "{evicted}"
    );
    let dropped = run.limited_with("fragments per datagram");
    assert!(count_after(&dropped, "): ") >= 1, "{dropped}");
    // Everything started is accounted for: evicted by the caps, dropped or reported incomplete at the end.
    assert!(run.u("incomplete_datagrams") > 0);
    run.assert_finding_names(&["IP reassembly cap", "diagnostics cap"]);
    assert_rss(&run, 512);
}

#[test]
fn tcp_floods_overlaps_and_windows_are_bounded() {
    let flows = 70_000;
    let (path, g) = generate("tcp.pcap", |p| adversarial::tcp_chaos(p, flows));
    let run = analyse_in_child(&path);
    std::fs::remove_file(&path).ok();
    assert_eq!(run.u("frames"), g.frames);
    assert_eq!(run.u("tcp_segments"), g.frames);
    run.assert_tables_capped();
    let evicted = run.limited_with("TCP flow cap (65536 directions)");
    assert!(count_after(&evicted, "): ") >= flows - 65_536, "{evicted}");
    run.limited_with("TCP out-of-order cap (256 segments");
    run.limited_with("TCP buffer cap (1048576 bytes");
    // The whole messages of the overlapping stream are still read (first-seen bytes kept).
    let ids = run.summary["call_ids"].as_array().unwrap();
    let overlap = ids
        .iter()
        .filter(|c| c.as_str().unwrap().starts_with("overlap-"))
        .count();
    assert!(
        overlap >= 400,
        "only {overlap} of the 500 overlapping-stream messages read"
    );
    run.assert_finding_names(&["TCP flow cap", "TCP out-of-order cap", "TCP buffer cap"]);
    assert_rss(&run, 768);
}

#[test]
fn tcp_buffers_are_bounded_over_all_flows() {
    // Small caps so that the capture stays small: 40 directions × 400 kB held against a 4 MiB total.
    let (path, g) = generate("tcp-memory.pcap", |p| {
        adversarial::tcp_memory(p, 40, 400_000)
    });
    let mut opts = AnalyzeOptions::default();
    opts.limits.tcp.max_total_buffer_bytes = 4 * MIB as usize;
    let a = analyze_file(&path, &opts, &mut |_| {}).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(a.counters.frames, g.frames);
    let d = a
        .diagnostics
        .iter()
        .find(|d| {
            d.message
                .starts_with("analysis limited: TCP memory cap (4194304 bytes")
        })
        .unwrap_or_else(|| {
            panic!(
                "no TCP memory cap diagnostic: {:?}",
                a.diagnostics.iter().take(5).collect::<Vec<_>>()
            )
        });
    // At most 10 directions of 400 kB fit in 4 MiB: at least 30 of the 40 were evicted.
    assert!(count_after(&d.message, "): ") >= 30, "{}", d.message);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("evicted (memory limit 4194304 bytes"))
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.rule_id == "analysis-limited")
        .expect("analysis-limited finding");
    assert!(f.details.contains("TCP memory cap"), "{}", f.details);
}

#[test]
fn a_ten_megabyte_header_is_cut_in_linear_time() {
    let (small_path, _) = generate("header-2.5m.pcap", |p| {
        adversarial::huge_header(p, 2_500_000)
    });
    let small = analyse_in_child(&small_path);
    std::fs::remove_file(&small_path).ok();
    let (big_path, g) = generate("header-10m.pcap", |p| {
        adversarial::huge_header(p, 10_000_000)
    });
    let big = analyse_in_child(&big_path);
    std::fs::remove_file(&big_path).ok();
    assert_eq!(big.u("frames"), g.frames);
    big.assert_tables_capped();
    // The UDP messages over the header caps are parsed, cut and counted.
    let cut = big.limited_with("SIP header caps (256 headers, 16384 bytes per value");
    assert_eq!(count_after(&cut, "): "), 2, "{cut}");
    let ids = big.summary["call_ids"].as_array().unwrap();
    for id in ["many-headers", "long-value", "after-huge"] {
        assert!(ids.iter().any(|c| c == id), "{id} not analysed: {ids:?}");
    }
    big.assert_finding_names(&["SIP header caps"]);
    assert_rss(&big, 512);
    assert!(
        big.secs < 8.0 * small.secs.max(0.05),
        "time not linear: {:.2} s for 10 MB vs {:.2} s for 2.5 MB",
        big.secs,
        small.secs
    );
}

#[test]
fn thousands_of_sdp_media_lines_and_bindings_are_capped() {
    let (path, g) = generate("sdp.pcap", |p| adversarial::sdp_flood(p, 10, 5_000, 6_300));
    let run = analyse_in_child(&path);
    std::fs::remove_file(&path).ok();
    assert_eq!(run.u("frames"), g.frames);
    assert_eq!(run.u("sip_messages"), 10 + 6_300);
    run.assert_tables_capped();
    let cut = run.limited_with("SIP header caps");
    assert_eq!(
        count_after(&cut, "): "),
        10,
        "the 10 SDPs over 64 media sections: {cut}"
    );
    // 6300 × 64 = 403 200 endpoints, plus the 64 kept of each big SDP, over a cap of 400 000.
    let bind = run.limited_with("SDP binding cap (400000)");
    assert!(count_after(&bind, "): ") >= 403_200 - 400_000, "{bind}");
    run.assert_finding_names(&["SDP binding cap"]);
    assert_rss(&run, 1024);
}

#[test]
fn two_hundred_thousand_ssrcs_hit_the_stream_and_candidate_caps() {
    let ssrcs = 200_000;
    let (path, g) = generate("ssrc.pcap", |p| adversarial::ssrc_flood(p, ssrcs));
    let run = analyse_in_child(&path);
    std::fs::remove_file(&path).ok();
    let l = Limits::default();
    assert_eq!(run.u("frames"), g.frames);
    run.assert_tables_capped();
    assert_eq!(run.u("streams"), l.media.max_streams as u64);
    assert!(run.u("streams_dropped") >= u64::from(ssrcs) - l.media.max_streams as u64);
    run.limited_with("media stream cap (100000)");
    let cand = run.limited_with("unsignalled-RTP candidate cap (100000)");
    assert_eq!(
        count_after(&cand, "): "),
        u64::from(ssrcs) - l.media.max_candidates as u64,
        "{cand}"
    );
    run.assert_finding_names(&["media stream cap", "unsignalled-RTP candidate cap"]);
    assert_rss(&run, 1536);
}

#[test]
fn many_calls_with_many_streams_stay_linear() {
    let (quarter_path, _) = generate("media-quarter.pcap", |p| {
        adversarial::calls_with_media(p, 10_000, 2)
    });
    let quarter = analyse_in_child(&quarter_path);
    std::fs::remove_file(&quarter_path).ok();
    let (full_path, g) = generate("media-full.pcap", |p| {
        adversarial::calls_with_media(p, 40_000, 2)
    });
    let full = analyse_in_child(&full_path);
    std::fs::remove_file(&full_path).ok();
    assert_eq!(full.u("frames"), g.frames);
    assert_eq!(full.u("calls"), 40_000);
    assert_eq!(full.u("streams"), 40_000);
    assert_eq!(quarter.u("streams"), 10_000);
    full.assert_tables_capped();
    assert!(full.limited().is_empty(), "{:?}", full.limited());
    assert_rss(&full, 1024);
    // Attaching streams to calls was calls × streams; 4× the calls and streams must not take 16× the time.
    assert!(
        full.secs < 8.0 * quarter.secs,
        "time not linear: {:.2} s for 40 000 calls vs {:.2} s for 10 000",
        full.secs,
        quarter.secs
    );
}

#[test]
fn fifty_deep_tunnels_and_vlan_stacks_are_refused_not_followed() {
    let (path, g) = generate("tunnels.pcap", |p| {
        adversarial::nested_tunnels(p, 50, 4_000)
    });
    let run = analyse_in_child(&path);
    std::fs::remove_file(&path).ok();
    assert_eq!(run.u("frames"), g.frames);
    // The three shallow frames are analysed (2 tunnels, 2 tags); the 12 000 deep ones are malformed.
    assert_eq!(run.u("sip_messages"), 3);
    assert_eq!(run.u("malformed_frames"), 12_000);
    let samples: Vec<&str> = run.summary["diagnostic_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        samples.iter().any(|m| m.contains("nesting deeper than 8")),
        "{samples:?}"
    );
    assert!(
        samples.iter().any(|m| m.contains("more than 8 tags")),
        "{samples:?}"
    );
    run.assert_tables_capped();
    let d = run.limited_with("diagnostics cap (10000)");
    assert_eq!(count_after(&d, "): "), 12_000 - 10_000, "{d}");
    run.assert_finding_names(&["diagnostics cap"]);
    assert_rss(&run, 256);
}

#[test]
fn hostile_header_exports_are_neutralised() {
    use earshot_core::audio::safe_file_stem;
    use earshot_core::report::{csv::safe_cell, json::to_json_string, terminal_safe};

    let (path, _) = generate("hostile.pcap", adversarial::hostile_headers);
    let a = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();

    // JSON: valid, and the hostile strings come back byte for byte (escaping is the reader's job).
    let v: Value = serde_json::from_str(&to_json_string(&a)).unwrap();
    let json_ids: Vec<&str> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    for id in adversarial::HOSTILE_CALL_IDS {
        assert!(
            json_ids.contains(&id),
            "{id:?} not intact in the JSON: {json_ids:?}"
        );
    }

    // CSV: every file written, read back by Python's csv module (an independent reader); no cell may start a
    // formula unless it is a plain number.
    let csv_dir = dir().join("hostile-csv");
    std::fs::create_dir_all(&csv_dir).unwrap();
    let files = earshot_core::report::csv::write_csv_dir(&a, &csv_dir).unwrap();
    assert!(!files.is_empty());
    let script = r#"
import csv, sys
bad = 0
seen = 0
for path in sys.argv[1:]:
    with open(path, newline='', encoding='utf-8') as f:
        for row in csv.reader(f):
            for cell in row:
                if 'calc' in cell or 'HYPERLINK' in cell or 'SUM(' in cell:
                    seen += 1
                if cell[:1] in ('=', '+', '-', '@', '\t', '\r'):
                    try:
                        float(cell)
                    except ValueError:
                        print('formula cell:', repr(cell)); bad += 1
print('hostile cells', seen)
sys.exit(1 if bad or seen == 0 else 0)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "CSV not neutralised: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    assert_eq!(safe_cell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");

    for call in &a.calls {
        // Terminal: no control or bidi character survives, and nothing is silently lost (escapes are visible).
        let t = terminal_safe(&call.call_id, 200);
        assert!(
            !t.chars().any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "{t:?}"
        );
        if call.call_id.contains('\u{1b}') {
            assert!(t.contains("\\u{1b}[2J"), "{t:?}");
        }
        if call.call_id.contains('\u{202e}') {
            assert!(t.contains("\\u{202e}"), "{t:?}");
        }
        // File names: no separator, no leading dot, only portable characters.
        let stem = safe_file_stem(&call.call_id);
        assert!(
            !stem.is_empty()
                && !stem.starts_with('.')
                && !stem.contains('/')
                && !stem.contains('\\'),
            "{stem:?}"
        );
        assert!(
            stem.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            "{stem:?}"
        );
        let joined = csv_dir.join(format!("{stem}.wav"));
        assert_eq!(
            joined.parent(),
            Some(csv_dir.as_path()),
            "{stem:?} escapes the export directory"
        );
    }
    assert_eq!(a.calls.len(), adversarial::HOSTILE_CALL_IDS.len());
    // The header-injection rule sees them too.
    assert!(a.findings.iter().any(|f| f.rule_id == "header-injection"));
}
