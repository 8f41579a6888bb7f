//! Cases: a capture split into pieces by `editcap` (an independent tool) and analysed as a case gives the same
//! calls, messages, streams, DTMF, TLS and findings as the whole capture, once each (file, frame) reference is
//! mapped back to the whole capture's frame number. The splits cut through calls, TCP connections and RTP
//! streams.

use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::case::{CaseOptions, Grouping, Source};
use earshot_core::model::{CASE_FILE_STRIDE, CaseFileStatus};
use earshot_core::report::json::to_json_string;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::{captures_dir, sha256sum};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-case-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Splits `capture` with `editcap` (`-c N` packets or `-i SECONDS` per file) into `dir`; the pieces, by name.
fn split(capture: &Path, dir: &Path, how: &str, arg: &str) -> Vec<PathBuf> {
    let st = Command::new("editcap")
        .arg(how)
        .arg(arg)
        .arg(capture)
        .arg(dir.join("part.pcapng"))
        .status()
        .expect("editcap must be installed (scripts/setup.sh installs it with tshark)");
    assert!(st.success(), "editcap {how} {arg} {}", capture.display());
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part_"))
        })
        .collect();
    parts.sort();
    parts
}

const FRAME_KEYS: &[&str] = &[
    "frame",
    "frames",
    "first_frame",
    "last_frame",
    "max_delta_frame",
    "evidence_frames",
    "retransmission_of",
];

/// Maps every (file, frame) of the case back to the whole capture's number: frame `n` of file `k` is
/// `base[k] + n`, where `base[k]` counts the packets of the files before `k`.
struct Mapper {
    base: Vec<u64>,
    label: regex::Regex,
}

impl Mapper {
    fn frame(&self, n: u64) -> u64 {
        let (file, frame) = (n / CASE_FILE_STRIDE, n % CASE_FILE_STRIDE);
        assert!(file >= 1, "case frame {n} names no file");
        self.base[file as usize - 1] + frame
    }

    fn value(&self, v: &mut Value, key: Option<&str>, in_counts: bool) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    let counts = matches!(k.as_str(), "counters" | "capture" | "summary");
                    self.value(x, Some(k), in_counts || counts);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x, key, in_counts)),
            Value::Number(n) if !in_counts && key.is_some_and(|k| FRAME_KEYS.contains(&k)) => {
                *v = Value::from(self.frame(n.as_u64().unwrap()));
            }
            Value::String(s) => {
                let out = self.label.replace_all(s, |c: &regex::Captures<'_>| {
                    let file: usize = c[2].parse().unwrap_or(0);
                    let n: u64 = c[3].parse().unwrap_or(0);
                    // Anything else that looks like `a:b` (a time of day) is left alone.
                    match file.checked_sub(1).and_then(|i| self.base.get(i)) {
                        Some(b) => format!("{}{}", &c[1], b + n),
                        None => c[0].to_string(),
                    }
                });
                *s = out.into_owned();
            }
            _ => {}
        }
    }
}

/// The parts of an analysis a case must reproduce.
const COMPARED: &[&str] = &[
    "summary",
    "counters",
    "calls",
    "messages",
    "streams",
    "unparsed_sip",
    "findings",
    "tls",
    "dtls",
    "exposure",
    "services",
];

fn check_split(capture: &Path, opts: &AnalyzeOptions, how: &str, arg: &str) {
    let name = capture.file_name().unwrap().to_string_lossy().into_owned();
    let dir = scratch(&format!("{name}{how}{arg}"));
    let parts = split(capture, &dir, how, arg);
    assert!(
        parts.len() >= 3,
        "{name}: editcap {how} {arg} gave {} pieces",
        parts.len()
    );
    let whole = analyze_file(capture, opts, &mut |_| {}).unwrap();
    let source = Source::from_inputs(&parts, CaseOptions::default()).unwrap();
    let case = source.analyze(opts, &mut |_| {}).unwrap();
    let info = case.case.as_ref().expect("several files make a case");
    assert_eq!(
        info.points.len(),
        1,
        "{name}: the pieces of one capture are one capture point"
    );
    assert_eq!(info.files.len(), parts.len());
    let mut base = Vec::new();
    let mut total = 0;
    for (i, f) in info.files.iter().enumerate() {
        assert_eq!(f.number as usize, i + 1);
        assert_eq!(f.status, CaseFileStatus::Analysed, "{name}: {}", f.file);
        assert_eq!(f.sha256.len(), 64, "{name}: every file's SHA-256");
        base.push(total);
        total += f.packets;
    }
    assert_eq!(
        total, whole.summary.packets,
        "{name}: every packet read once"
    );
    let mapper = Mapper {
        base,
        label: regex::Regex::new(r"(frames? |, |-|#)(\d+):(\d+)").unwrap(),
    };
    let mut c: Value = serde_json::from_str(&to_json_string(&case)).unwrap();
    let w: Value = serde_json::from_str(&to_json_string(&whole)).unwrap();
    mapper.value(&mut c, None, false);
    for key in COMPARED {
        assert_eq!(
            c.get(key),
            w.get(key),
            "{name} split by editcap {how} {arg} into {} pieces: `{key}` differs from the whole capture's",
            parts.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn shared(name: &str) -> PathBuf {
    captures_dir().join(name)
}

#[test]
fn split_udp_call_with_rtp_equals_whole() {
    let c = shared("sip-rtp-g711.pcap");
    check_split(&c, &AnalyzeOptions::default(), "-c", "150");
    check_split(&c, &AnalyzeOptions::default(), "-i", "3");
}

#[test]
fn split_dtmf_call_equals_whole() {
    check_split(
        &shared("SIP_DTMF2.cap"),
        &AnalyzeOptions::default(),
        "-c",
        "200",
    );
}

#[test]
fn split_tcp_sip_equals_whole() {
    // SIP over TCP with retransmissions and a cracked digest password: segments and messages cut between files.
    check_split(
        &shared("sip_ipv4_tcp_retrans.pcap"),
        &AnalyzeOptions::default(),
        "-c",
        "25",
    );
    check_split(
        &shared("sip_ipv4_tcp.pcap"),
        &AnalyzeOptions::default(),
        "-c",
        "7",
    );
    check_split(
        &shared("sip_tcp_websocket.pcap"),
        &AnalyzeOptions::default(),
        "-c",
        "9",
    );
}

#[test]
fn split_brute_force_findings_equal_whole() {
    check_split(
        &shared("SIP-Bruteforce-Single-IP.pcap"),
        &AnalyzeOptions::default(),
        "-c",
        "400",
    );
}

#[test]
fn split_srtp_and_dtls_equal_whole() {
    check_split(
        &shared("marseillaise-srtp.pcap"),
        &AnalyzeOptions::default(),
        "-c",
        "2000",
    );
    check_split(
        &shared("stun_dtls_rtp.pcapng"),
        &AnalyzeOptions::default(),
        "-c",
        "20",
    );
}

#[test]
fn split_tls_with_key_log_equals_whole() {
    // SIP over TLS decrypted with a key log: records of one connection land in different files.
    let dir = earshot_e2e::samples_dir().join("tls-keylog-call");
    let capture = dir.join("tls-keylog-call.pcap");
    let mut keys = earshot_core::tls::Keys::new();
    keys.load_keylog(&dir.join("tls-keylog-call.keys")).unwrap();
    let opts = AnalyzeOptions {
        keys: Some(std::sync::Arc::new(keys)),
        ..AnalyzeOptions::default()
    };
    let whole = analyze_file(&capture, &opts, &mut |_| {}).unwrap();
    assert!(whole.tls.iter().any(|t| t.decrypted), "the sample decrypts");
    let n = whole.summary.packets;
    check_split(&capture, &opts, "-c", &(n / 5).max(1).to_string());
}

#[test]
fn split_rotated_files_order_by_name_and_flag_duplicates_and_damage() {
    let c = shared("sip-rtp-g711.pcap");
    let dir = scratch("bad");
    let mut parts = split(&c, &dir, "-c", "300");
    // The same bytes twice, and a damaged file: read once, and said so; the rest analysed.
    let dup = dir.join("copy-of-first.pcapng");
    std::fs::copy(&parts[0], &dup).unwrap();
    let bad = dir.join("broken.pcap");
    std::fs::write(&bad, b"this is not a capture").unwrap();
    parts.push(dup);
    parts.push(bad);
    let case = Source::from_inputs(&parts, CaseOptions::default())
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let whole = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        case.summary.packets, whole.summary.packets,
        "the copy is read once"
    );
    assert_eq!(case.calls.len(), whole.calls.len());
    let info = case.case.as_ref().unwrap();
    let status = |suffix: &str| {
        info.files
            .iter()
            .find(|f| f.file.ends_with(suffix))
            .map(|f| f.status.clone())
            .unwrap()
    };
    // One of the two copies is read, the other is named a duplicate of it.
    let (copy, first) = (
        status("copy-of-first.pcapng"),
        status(&parts[0].file_name().unwrap().to_string_lossy()),
    );
    assert!(
        matches!(
            (&copy, &first),
            (CaseFileStatus::DuplicateOf { .. }, CaseFileStatus::Analysed)
        ) || matches!(
            (&copy, &first),
            (CaseFileStatus::Analysed, CaseFileStatus::DuplicateOf { .. })
        ),
        "{copy:?} {first:?}"
    );
    assert!(matches!(
        status("broken.pcap"),
        CaseFileStatus::Unreadable { .. }
    ));
    assert!(
        case.diagnostics
            .iter()
            .any(|d| d.message.contains("same bytes"))
    );
    assert!(
        case.diagnostics
            .iter()
            .any(|d| d.message.contains("was not analysed"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn per_file_points_keep_files_apart_and_count_shared_packets_once() {
    // The same capture with its clock 1.5 s ahead (editcap -t): as a second capture point every packet is
    // recognised as seen at both, analysed once, and the offset between the points is estimated from them.
    let c = shared("sip-rtp-g711.pcap");
    let dir = scratch("points");
    let b = dir.join("point-b.pcap");
    let st = Command::new("editcap")
        .args(["-t", "1.5"])
        .arg(&c)
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success());
    let opts = CaseOptions {
        grouping: Grouping::PerFile,
        dedup_window_nanos: 3_000_000_000,
        ..CaseOptions::default()
    };
    let case = Source::from_inputs(&[c.clone(), b], opts)
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let whole = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    let info = case.case.as_ref().unwrap();
    assert_eq!(info.points.len(), 2);
    assert_eq!(info.duplicate_frames, whole.summary.packets);
    assert_eq!(case.summary.packets, whole.summary.packets);
    assert_eq!(case.calls.len(), whole.calls.len());
    assert_eq!(case.streams.len(), whole.streams.len());
    let o = info.clock_offsets.first().expect("an offset estimate");
    assert_eq!((o.a, o.b), (0, 1));
    assert_eq!(o.median_nanos, 1_500_000_000);
    assert_eq!(o.samples, whole.summary.packets);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_report_of_a_case_names_each_file_and_its_sha256() {
    let c = shared("sip-rtp-g711.pcap");
    let dir = scratch("report");
    let parts = split(&c, &dir, "-c", "300");
    let a = Source::from_inputs(&parts, CaseOptions::default())
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let shas: Vec<String> = parts.iter().map(|p| sha256sum(p)).collect();
    // The case digest is `sha256sum FILES | sha256sum` over the files as given, in case order.
    let lines: String = parts
        .iter()
        .zip(&shas)
        .map(|(p, s)| format!("{s}  {}\n", p.display()))
        .collect();
    let listed = dir.join("sums.txt");
    std::fs::write(&listed, lines).unwrap();
    assert_eq!(a.capture.sha256, sha256sum(&listed));
    // JSON: every file with its SHA-256.
    let json: Value = serde_json::from_str(&to_json_string(&a)).unwrap();
    let files = json["case"]["files"].as_array().unwrap();
    for (f, sha) in files.iter().zip(&shas) {
        assert_eq!(f["sha256"].as_str().unwrap(), sha);
    }
    // CSV: files.csv, and frame references as file:frame.
    let csv = dir.join("csv");
    earshot_core::report::csv::write_csv_dir(&a, &csv).unwrap();
    let files_csv = std::fs::read_to_string(csv.join("files.csv")).unwrap();
    for sha in &shas {
        assert!(files_csv.contains(sha.as_str()), "files.csv lists {sha}");
    }
    let messages = std::fs::read_to_string(csv.join("messages.csv")).unwrap();
    let first_invite = messages.lines().nth(1).unwrap();
    assert!(first_invite.starts_with("1:"), "{first_invite}");
    // PDF, read back with pdftotext.
    if Command::new("pdftotext").arg("-v").output().is_ok() {
        let meta = earshot_core::report::ReportMeta {
            generated_at_nanos: 1_795_000_000_000_000_000,
            ..Default::default()
        };
        let pdf = dir.join("case.pdf");
        earshot_core::report::pdf::write_pdf(&a, &meta, &pdf).unwrap();
        let out = Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\u{200b}', "");
        for sha in &shas {
            assert!(text.contains(sha.as_str()), "the PDF lists {sha}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn case_capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("case")
        .join("captures")
        .join(name)
}

#[test]
fn split_through_ip_fragments_equals_whole() {
    // A real call (SIPp over a 576-byte-MTU veth, tests/case): its INVITE is five IPv4 fragments (frames 1-5)
    // and its 200 OK four (8-11). Cut every 3 frames, the fragments of both land in different files; cut every
    // 250, the call's signalling and media do.
    let c = case_capture("frag-call.pcap");
    let whole = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    // What tshark says of this capture (tests/case/README.md): 9 fragments, 2 reassembled, 7 SIP messages.
    assert_eq!(whole.counters.ip_fragments, 9);
    assert_eq!(whole.counters.reassembled_datagrams, 2);
    assert_eq!(whole.summary.sip_messages, 7);
    check_split(&c, &AnalyzeOptions::default(), "-c", "3");
    check_split(&c, &AnalyzeOptions::default(), "-c", "250");
}

#[test]
fn the_same_calls_at_two_capture_points_are_counted_once() {
    // Three real calls routed through a namespace and captured on both of its interfaces at once (tcpdump,
    // tests/case): every one of the 1995 packets of each file is the same packet as one of the other (TTL,
    // MACs and checksums differ; pcap µs against pcapng ns). As two capture points: each packet analysed once,
    // the calls and streams of one side alone, and the offset between the two taps (transit through the router)
    // well under a millisecond.
    let a = case_capture("twopoint-a.pcap");
    let b = case_capture("twopoint-b.pcapng");
    let one = analyze_file(&a, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(one.summary.packets, 1995);
    let case = Source::from_inputs(&[a, b], CaseOptions::default())
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let info = case.case.as_ref().unwrap();
    assert_eq!(info.points.len(), 2, "different names: two capture points");
    assert_eq!(
        info.files.iter().map(|f| f.packets).collect::<Vec<_>>(),
        [1995, 1995]
    );
    assert_eq!(info.duplicate_frames, 1995);
    assert_eq!(case.summary.packets, 1995);
    assert_eq!(case.summary.sip_messages, 21);
    assert_eq!(case.calls.len(), 3);
    let streams = |x: &earshot_core::model::Analysis| -> Vec<(u32, u64, u64)> {
        let mut v: Vec<_> = x
            .streams
            .iter()
            .map(|s| (s.ssrc, s.packets, s.lost.max(0) as u64))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(streams(&case), streams(&one));
    assert_eq!(streams(&case).iter().map(|s| s.1).sum::<u64>(), 1974);
    let o = info
        .clock_offsets
        .first()
        .expect("an offset from the shared packets");
    assert_eq!(o.samples, 1995);
    assert!(o.median_nanos.abs() < 1_000_000, "{o:?}");
}

/// Call-IDs of the SIP messages tshark's display filter `filter` selects (an independent reading).
fn tshark_call_ids(capture: &Path, filter: &str) -> std::collections::BTreeSet<String> {
    // The brute-force capture's client port 1293 is PacketCable's to tshark; it is SIP.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-d", "udp.port==1293,sip"])
        .args(["-Y", filter, "-T", "fields", "-e", "sip.Call-ID"])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn filter_expressions_select_what_tshark_sees() {
    use earshot_core::filter::Filter;
    let c = shared("SIP-Bruteforce-Single-IP.pcap");
    let a = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    let ids = |f: &str| -> std::collections::BTreeSet<String> {
        Filter::parse(f)
            .unwrap()
            .select(&a)
            .into_iter()
            .map(|i| a.calls[i].call_id.clone())
            .collect()
    };
    // The Call-IDs that got a 403, and those that got a 401 but no 403.
    let got_403 = tshark_call_ids(&c, "sip.Status-Code == 403");
    assert!(!got_403.is_empty());
    assert_eq!(ids("response == 403"), got_403);
    let only_401: std::collections::BTreeSet<String> =
        tshark_call_ids(&c, "sip.Status-Code == 401")
            .difference(&got_403)
            .cloned()
            .collect();
    assert_eq!(ids("response == 401 && response != 403"), only_401);
    // A regular expression on the From user, and its negation, split the Call-IDs between them.
    let from_1 = tshark_call_ids(&c, "sip.from.user matches \"^1\"");
    assert_eq!(ids("from ~ \"^1\" && kind == register"), from_1);
    let all: std::collections::BTreeSet<String> =
        a.calls.iter().map(|c| c.call_id.clone()).collect();
    let not_1: std::collections::BTreeSet<String> = all.difference(&from_1).cloned().collect();
    assert_eq!(ids("!(from ~ \"^1\")"), not_1);
}

#[test]
fn a_file_filter_picks_the_calls_in_that_file() {
    use earshot_core::filter::Filter;
    let c = shared("SIP_DTMF2.cap");
    let dir = scratch("filter");
    let parts = split(&c, &dir, "-c", "500");
    let a = Source::from_inputs(&parts, CaseOptions::default())
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let third = parts[2].file_name().unwrap().to_string_lossy().into_owned();
    let picked: std::collections::BTreeSet<String> = Filter::parse(&format!("file == \"{third}\""))
        .unwrap()
        .select(&a)
        .into_iter()
        .map(|i| a.calls[i].call_id.clone())
        .collect();
    // tshark on the whole capture: SIP from frame 1001 on, or RTP of a call running past it (the second call's
    // media ends after frame 1000).
    let late = tshark_call_ids(&c, "sip && frame.number > 1000");
    assert!(
        late.iter().all(|id| picked.contains(id)),
        "{late:?} ⊆ {picked:?}"
    );
    let whole = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    for call in &whole.calls {
        let media_late = whole
            .streams
            .iter()
            .any(|s| s.call_id.as_deref() == Some(&call.call_id) && s.last_frame > 1000);
        assert_eq!(
            picked.contains(&call.call_id),
            late.contains(&call.call_id) || media_late,
            "{}",
            call.call_id
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// (time, length, addresses, ports) of every frame of a capture, as tshark reads it.
fn tshark_frames(capture: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"])
        .args([
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
            "-e",
            "tcp.seq_raw",
        ])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_calls_evidence_cut_from_rotated_files_equals_the_cut_from_the_whole_capture() {
    // Each call of these captures crosses a file boundary (SIP over TCP, fragments, RTP); the per-call pcapng
    // from the case holds the frames the whole capture's extract holds, as tshark reads both, each with a comment
    // naming its file and frame.
    use earshot_core::extract::{ExtractOptions, write_calls_pcapng_from};
    for (name, per) in [
        ("sip-rtp-g711.pcap", "150"),
        ("sip_ipv4_tcp_retrans.pcap", "25"),
        ("frag-call.pcap", "3"),
    ] {
        let c = if name == "frag-call.pcap" {
            case_capture(name)
        } else {
            shared(name)
        };
        let dir = scratch(&format!("extract-{name}"));
        let parts = split(&c, &dir, "-c", per);
        let whole = analyze_file(&c, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        let source = Source::from_inputs(&parts, CaseOptions::default()).unwrap();
        let case = source
            .analyze(&AnalyzeOptions::default(), &mut |_| {})
            .unwrap();
        // Calls, or the registrations of the TCP capture (it has no INVITE): the first ten Call-IDs.
        let calls: Vec<_> = whole.calls.iter().take(10).collect();
        assert!(!calls.is_empty(), "{name} has Call-IDs");
        for call in calls {
            let a = dir.join("whole.pcapng");
            let b = dir.join("case.pcapng");
            let (_, _) = (std::fs::remove_file(&a), std::fs::remove_file(&b));
            earshot_core::extract::write_calls_pcapng(&c, &whole, &[&call.call_id], &a).unwrap();
            write_calls_pcapng_from(
                &source,
                &case,
                &[&call.call_id],
                &b,
                &ExtractOptions::default(),
                &mut |_, _| {},
            )
            .unwrap();
            let fa = tshark_frames(&a);
            assert!(!fa.is_empty());
            assert_eq!(fa, tshark_frames(&b), "{name} {}", call.call_id);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_extract_is_not_cut_across_capture_points() {
    use earshot_core::extract::{ExtractError, ExtractOptions, write_calls_pcapng_from};
    let source = Source::from_inputs(
        &[
            case_capture("twopoint-a.pcap"),
            case_capture("twopoint-b.pcapng"),
        ],
        CaseOptions::default(),
    )
    .unwrap();
    let a = source
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let out = scratch("twopoint-extract").join("x.pcapng");
    let id = a.calls[0].call_id.clone();
    let e = write_calls_pcapng_from(
        &source,
        &a,
        &[&id],
        &out,
        &ExtractOptions::default(),
        &mut |_, _| {},
    );
    assert!(
        matches!(e, Err(ExtractError::SeveralCapturePoints(2))),
        "{e:?}"
    );
    assert!(!out.exists());
}

#[test]
fn each_interface_of_a_pcapng_can_be_a_capture_point() {
    // mergecap (an independent tool) writes the two router taps into one pcapng with an interface each, as
    // `dumpcap -i ra -i rb` would: by interface, two capture points whose shared packets count once, as the two
    // files did; grouped by file, one point where every packet counts twice.
    let dir = scratch("interfaces");
    let both = dir.join("both.pcapng");
    let st = Command::new("mergecap")
        .arg("-w")
        .arg(&both)
        .arg(case_capture("twopoint-a.pcap"))
        .arg(case_capture("twopoint-b.pcapng"))
        .status()
        .expect("mergecap (scripts/setup.sh installs it with tshark)");
    assert!(st.success());
    let opts = CaseOptions {
        grouping: Grouping::Interface,
        ..CaseOptions::default()
    };
    let source = Source::from_inputs(std::slice::from_ref(&both), opts).unwrap();
    let a = source
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    let info = a.case.as_ref().expect("one file by interface is a case");
    assert_eq!(info.points.len(), 2);
    assert_eq!(
        info.files.iter().map(|f| f.interface).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    assert_eq!(
        info.files.iter().map(|f| f.packets).collect::<Vec<_>>(),
        [1995, 1995]
    );
    assert_eq!(info.duplicate_frames, 1995);
    assert_eq!(a.summary.packets, 1995);
    assert_eq!(a.calls.len(), 3);
    // Frame numbers are the merged file's own: tshark's frame N of both.pcapng is file 1 or 2, frame N.
    let sip_frames: std::collections::BTreeSet<u64> = a
        .messages
        .iter()
        .map(|m| m.frame % CASE_FILE_STRIDE)
        .collect();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&both)
        .args(["-Y", "sip", "-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    let tshark: std::collections::BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(!sip_frames.is_empty());
    assert!(sip_frames.is_subset(&tshark), "{sip_frames:?} ⊆ {tshark:?}");
    let whole = analyze_file(&both, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(whole.summary.packets, 2 * 1995);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mixed_link_types_and_overlapping_files_of_one_point() {
    // Ethernet, BSD loopback and Linux cooked captures made one stream: every packet and call of each, the link
    // types of all (as capinfos names them); and two files of one point that overlap in time are flagged.
    let files = [
        shared("sip-rtp-g711.pcap"),
        shared("sip-body-large.pcap"),
        shared("sip_sctp.pcap"),
    ];
    let one = |p: &Path| analyze_file(p, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    let alone: Vec<_> = files.iter().map(|f| one(f)).collect();
    let opts = CaseOptions {
        grouping: Grouping::Single,
        ..CaseOptions::default()
    };
    let case = Source::from_inputs(&files, opts.clone())
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(
        case.summary.packets,
        alone.iter().map(|a| a.summary.packets).sum::<u64>()
    );
    assert_eq!(
        case.calls.len(),
        alone.iter().map(|a| a.calls.len()).sum::<usize>()
    );
    let mut types: Vec<String> = case.capture.link_types.clone();
    types.sort();
    assert_eq!(types, ["ethernet", "linux-sll", "null"]);
    assert!(
        !case
            .diagnostics
            .iter()
            .any(|d| d.message.contains("overlap"))
    );
    // The two router taps as one point overlap for their whole length.
    let taps = [
        case_capture("twopoint-a.pcap"),
        case_capture("twopoint-b.pcapng"),
    ];
    let both = Source::from_inputs(&taps, opts)
        .unwrap()
        .analyze(&AnalyzeOptions::default(), &mut |_| {})
        .unwrap();
    assert!(
        both.diagnostics
            .iter()
            .any(|d| d.message.contains("overlap in time")),
        "{:?}",
        both.diagnostics
    );
    assert_eq!(
        both.capture.ts_precision_digits, 9,
        "µs and ns files: the finer precision"
    );
}
