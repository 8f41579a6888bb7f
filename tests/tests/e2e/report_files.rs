//! Report files written from the model: blocklists (checked against TShark and loaded by `nft -c`), CSV exports
//! (parsed by Python's csv module, formula cells neutralised) and ladder diagrams (SVG parsed by Python's XML
//! parser, message rows counted by TShark, PNG header read back).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::model::Analysis;
use earshot_core::report::{blocklist, csv as csv_report, ladder};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::pcapw::{self, Frame};
use earshot_e2e::{captures_dir, samples_dir};

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "earshot-report-files-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tshark_lines(path: &Path, filter: &str, field: &str) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", filter, "-T", "fields", "-e", field])
        .output()
        .expect("tshark");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `nft -c -f FILE` (check only): `Some(true)` when nft accepts it, `None` when nft is missing or not permitted.
fn nft_check(path: &Path) -> Option<bool> {
    let out = match Command::new("nft").arg("-c").arg("-f").arg(path).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipping the nft check: cannot run nft ({e})");
            return None;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("Operation not permitted") || err.contains("Permission denied"))
    {
        eprintln!(
            "skipping the nft check: nft lacks permission ({})",
            err.trim()
        );
        return None;
    }
    if !out.status.success() {
        eprintln!("nft rejected {}:\n{err}", path.display());
    }
    Some(out.status.success())
}

#[test]
fn brute_force_source_is_blocklisted_and_nft_loads_it() {
    let a = analyse(&captures_dir().join("SIP-Bruteforce-Single-IP.pcap"));
    let offenders = blocklist::offenders(&a, &|_| false);
    let ip: IpAddr = "199.105.226.32".parse().unwrap();
    let o = offenders
        .iter()
        .find(|o| o.ip == ip)
        .expect("199.105.226.32 listed");
    assert!(
        o.rule_ids.iter().any(|r| r == "brute-force"),
        "{:?}",
        o.rule_ids
    );
    // TShark: every offender sent SIP requests in the capture (no victim or server is listed).
    let senders: BTreeSet<String> = tshark_lines(
        &captures_dir().join("SIP-Bruteforce-Single-IP.pcap"),
        "sip.Method",
        "ip.src",
    )
    .into_iter()
    .collect();
    for o in &offenders {
        assert!(
            senders.contains(&o.ip.to_string()),
            "{} sent no request",
            o.ip
        );
    }
    // Trusting it removes it.
    assert!(
        blocklist::offenders(&a, &|i| i == ip)
            .iter()
            .all(|o| o.ip != ip)
    );

    let plain = blocklist::plain(&offenders);
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("199.105.226.32 # ") && l.contains("brute-force"))
    );
    let nft = blocklist::nftables(&offenders, "earshot_block");
    let dir = tmp_dir("nft");
    let path = dir.join("block.nft");
    std::fs::write(&path, &nft).unwrap();
    if let Some(ok) = nft_check(&path) {
        assert!(ok, "nft -c rejected:\n{nft}");
    }
    // A file with both families and an IPv6 element loads too.
    let both = vec![
        blocklist::Offender {
            ip: "203.0.113.5".parse().unwrap(),
            rule_ids: vec!["flood".into(), "scanner".into()],
        },
        blocklist::Offender {
            ip: "2001:db8::7".parse().unwrap(),
            rule_ids: vec!["brute-force".into()],
        },
    ];
    let path = dir.join("both.nft");
    std::fs::write(&path, blocklist::nftables(&both, "voip")).unwrap();
    if let Some(ok) = nft_check(&path) {
        assert!(ok);
    }
}

#[test]
fn sipvicious_scanner_sources_match_tshark() {
    let path = captures_dir().join("BadUserAgent-sipvicious.pcap");
    let a = analyse(&path);
    let offenders = blocklist::offenders(&a, &|_| false);
    let scanners: BTreeSet<String> = offenders
        .iter()
        .filter(|o| o.rule_ids.iter().any(|r| r == "scanner"))
        .map(|o| o.ip.to_string())
        .collect();
    let tshark: BTreeSet<String> = tshark_lines(
        &path,
        r#"sip.User-Agent contains "friendly-scanner""#,
        "ip.src",
    )
    .into_iter()
    .collect();
    assert_eq!(tshark.len(), 10);
    assert!(
        tshark.is_subset(&scanners),
        "tshark {tshark:?} vs ours {scanners:?}"
    );
    // Anything else listed as a scanner also sent SIP requests (the one Zeeko OPTIONS, per MANIFEST).
    let senders: BTreeSet<String> = tshark_lines(&path, "sip.Method", "ip.src")
        .into_iter()
        .collect();
    assert!(scanners.is_subset(&senders));
}

#[test]
fn clean_call_has_no_offenders() {
    let a = analyse(&samples_dir().join("clean-call").join("clean-call.pcap"));
    assert!(!a.calls.is_empty());
    let offenders = blocklist::offenders(&a, &|_| false);
    assert!(offenders.is_empty(), "{offenders:?}");
    assert_eq!(blocklist::plain(&offenders), "");
}

const FORMULA: &str = "=cmd|' /C calc'!A0";

/// An INVITE whose From display name, User-Agent and Subject carry a spreadsheet formula, answered 403.
fn formula_capture() -> Vec<u8> {
    let attacker = Ipv4Addr::new(203, 0, 113, 66);
    let pbx = Ipv4Addr::new(10, 0, 0, 1);
    let invite = format!(
        "INVITE sip:100@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.66:5060;branch=z9hG4bKf1\r\n\
         From: \"{FORMULA}\" <sip:-1@203.0.113.66>;tag=f1\r\nTo: <sip:100@10.0.0.1>\r\nCall-ID: @formula-1\r\n\
         CSeq: 1 INVITE\r\nUser-Agent: {FORMULA}\r\nSubject: {FORMULA}\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let reply = "SIP/2.0 403 Forbidden\r\nVia: SIP/2.0/UDP 203.0.113.66:5060;branch=z9hG4bKf1\r\n\
                 From: <sip:-1@203.0.113.66>;tag=f1\r\nTo: <sip:100@10.0.0.1>;tag=p1\r\nCall-ID: @formula-1\r\n\
                 CSeq: 1 INVITE\r\nServer: PBX\r\nContent-Length: 0\r\n\r\n";
    let t0 = 1_767_225_600_123_456_000; // 2026-01-01T00:00:00.123456Z
    pcapw::pcap_bytes(
        1,
        &[
            Frame::new(
                t0,
                pcapw::eth_udp4(attacker, 5060, pbx, 5060, invite.as_bytes()),
            ),
            Frame::new(
                t0 + 20_000_000,
                pcapw::eth_udp4(pbx, 5060, attacker, 5060, reply.as_bytes()),
            ),
        ],
    )
}

/// Python: per file, the header width, whether every row has it, the row count; then every cell containing "cmd|".
const CSV_CHECK: &str = r#"
import csv, sys, os
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    with open(os.path.join(d, name), newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    width = len(rows[0])
    print(name, width, all(len(r) == width for r in rows), len(rows) - 1)
    for r in rows[1:]:
        for h, c in zip(rows[0], r):
            if 'cmd|' in c or h in ('start_ts', 'ts', 'from_user', 'call_id'):
                print('CELL', name, h, repr(c))
"#;

#[test]
fn csv_files_parse_and_neutralise_formulas() {
    let dir = tmp_dir("csv");
    let pcap = dir.join("formula.pcap");
    std::fs::write(&pcap, formula_capture()).unwrap();
    let a = analyse(&pcap);
    let out = dir.join("out");
    let written = csv_report::write_csv_dir(&a, &out).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "calls.csv",
            "streams.csv",
            "messages.csv",
            "findings.csv",
            "dtmf.csv",
            "tls.csv"
        ]
    );
    let report = python(CSV_CHECK, &[&out]);
    let lines: Vec<&str> = report.lines().collect();
    // Header widths as documented in docs/csv.md, every row the same width, row counts.
    for (file, width, rows) in [
        ("calls.csv", 32, 1),
        ("dtmf.csv", 12, 0),
        ("tls.csv", 17, 0),
        ("messages.csv", 19, 2),
        ("streams.csv", 38, 0),
    ] {
        assert!(
            lines.contains(&format!("{file} {width} True {rows}").as_str()),
            "{file}: {report}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("findings.csv ") && l.contains(" True ")),
        "{report}"
    );
    let neutral = format!("\"'{FORMULA}\"");
    for (file, column) in [
        ("calls.csv", "from_display"),
        ("messages.csv", "from_display"),
        ("messages.csv", "user_agent"),
        ("messages.csv", "subject"),
    ] {
        let want = format!("CELL {file} {column} {neutral}");
        assert!(lines.contains(&want.as_str()), "missing {want}\n{report}");
    }
    // No cell anywhere starts with the raw formula.
    assert!(
        !report.contains(" \"=cmd") && !report.contains(" '=cmd"),
        "{report}"
    );
    assert!(
        lines.contains(&format!("CELL calls.csv user_agents \"'{FORMULA} | PBX\"").as_str()),
        "{report}"
    );
    // Text cells from the capture starting with '@' or '-' are neutralised too; our times are ISO 8601 UTC at the
    // capture's microsecond precision.
    assert!(
        lines.contains(&"CELL calls.csv call_id \"'@formula-1\""),
        "{report}"
    );
    assert!(
        lines.contains(&"CELL calls.csv from_user \"'-1\""),
        "{report}"
    );
    assert!(
        lines.contains(&"CELL calls.csv start_ts '2026-01-01T00:00:00.123456Z'"),
        "{report}"
    );
    assert!(
        lines.contains(&"CELL messages.csv ts '2026-01-01T00:00:00.143456Z'"),
        "{report}"
    );
}

#[test]
fn dtmf_csv_lists_the_digits_tshark_sees() {
    let path = captures_dir().join("SIP_DTMF2.cap");
    let a = analyse(&path);
    let dir = tmp_dir("dtmf");
    csv_report::write_csv_dir(&a, &dir).unwrap();
    let report = python(
        r#"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
print(''.join(r['digit'] for r in rows if r['source'] == 'rfc4733'))
print(' '.join(r['frame'] for r in rows if r['source'] == 'rfc4733'))
print(set(r['stream'] != '' and r['call_id'] != '' for r in rows))
"#,
        &[&dir.join("dtmf.csv")],
    );
    // TShark: one key press per RFC 4733 event (SSRC, RTP timestamp), in order of its first packet.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            "rtpevent",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "rtp.ssrc",
        ])
        .args(["-e", "rtp.timestamp", "-e", "rtpevent.event_id"])
        .output()
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut seq = String::new();
    let mut first_frames = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() == 4 && seen.insert((f[1].to_string(), f[2].to_string())) {
            let d: u8 = f[3].parse().unwrap();
            seq.push(match d {
                0..=9 => (b'0' + d) as char,
                10 => '*',
                11 => '#',
                _ => '?',
            });
            first_frames.push(f[0].to_string());
        }
    }
    assert_eq!(seq, "6789123"); // MANIFEST
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], seq, "dtmf.csv digits vs tshark");
    assert_eq!(
        lines[1],
        first_frames.join(" "),
        "first frames of each press"
    );
    // Every RFC 4733 row names its call and its stream.
    assert_eq!(lines[2], "{True}");
}

/// The answered call of SIP_DTMF2.cap (the one with RTP and DTMF).
fn answered_call_id(a: &Analysis) -> String {
    a.calls
        .iter()
        .find(|c| c.kind.is_call() && c.answered)
        .unwrap()
        .call_id
        .clone()
}

#[test]
fn ladder_of_dtmf_call_matches_tshark() {
    let path = captures_dir().join("SIP_DTMF2.cap");
    let a = analyse(&path);
    let id = answered_call_id(&a);
    let svg = ladder::ladder_svg(&a, &[&id]);
    let dir = tmp_dir("ladder");
    let svg_path = dir.join("ladder.svg");
    std::fs::write(&svg_path, &svg).unwrap();
    // Python's XML parser: well-formed SVG; count arrows (lines + self-loop polylines) and header boxes.
    let report = python(
        r#"
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
print(root.tag == ns + 'svg', root.get('font-family'))
msgs = [e for e in root.iter() if e.tag in (ns + 'line', ns + 'polyline') and e.get('stroke-width') == '1.5']
print(len(msgs), sum(1 for e in msgs if e.get('stroke-dasharray')))
print(sum(1 for e in root.iter(ns + 'rect') if e.get('fill') == '#eef2f6'))
"#,
        &[&svg_path],
    );
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "True DejaVu Sans");
    let filter = format!(r#"sip.Call-ID == "{id}""#);
    let frames = tshark_lines(&path, &filter, "frame.number");
    let retrans = tshark_lines(
        &path,
        &format!("{filter} && sip.resend == 1"),
        "frame.number",
    );
    assert_eq!(lines[1], format!("{} {}", frames.len(), retrans.len()));
    // Columns: the distinct SIP endpoints TShark sees in the call plus the RTP endpoints.
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    for l in tshark_lines(&path, &filter, "ip.src") {
        hosts.insert(l);
    }
    assert!(lines[2].parse::<usize>().unwrap() >= hosts.len());

    // Text ladder: one line per message with its frame number, an arrow, terminal-safe.
    let text = ladder::ladder_text(&a, &[&id]);
    for f in &frames {
        let tag = format!("#{f} ");
        assert!(
            text.lines().any(|l| l.contains(&tag)
                && (l.contains("->") || l.contains("<-") || l.contains(">|") || l.contains("|<"))),
            "frame {f} missing from\n{text}"
        );
    }
    assert!(text.contains("INVITE") && text.contains("RTP"));

    // PNG: signature and the size the SVG declares (scale 1).
    let png = ladder::ladder_png(&a, &[&id], 1.0).unwrap();
    std::fs::write(dir.join("ladder.png"), &png).unwrap();
    std::fs::write(dir.join("ladder.txt"), &text).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    let declared = |attr: &str| -> u32 {
        let k = svg.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3;
        svg[k..].split('"').next().unwrap().parse().unwrap()
    };
    assert_eq!((w, h), (declared("width"), declared("height")));
    // Same input, same bytes.
    assert_eq!(svg, ladder::ladder_svg(&a, &[&id]));
}

#[test]
fn ladder_of_hostile_headers_stays_well_formed() {
    let path = samples_dir()
        .join("spoofing-injection")
        .join("spoofing-injection.pcap");
    let a = analyse(&path);
    let ids: Vec<&str> = a.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids.len(), 12);
    let svg = ladder::ladder_svg(&a, &ids);
    let dir = tmp_dir("hostile");
    let svg_path = dir.join("hostile.svg");
    std::fs::write(&svg_path, &svg).unwrap();
    let report = python(
        r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(sum(1 for e in root.iter() if e.tag.endswith('script')))
print(len([e for e in root.iter() if e.get('stroke-width') == '1.5']))
"#,
        &[&svg_path],
    );
    // No element injected, 24 messages drawn (TShark: 12 INVITE + 12 x 403).
    assert_eq!(report, "0\n24\n");
    assert!(!svg.contains('\u{1b}') && !svg.contains('\u{202e}'));
    let text = ladder::ladder_text(&a, &ids);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    assert_eq!(text.matches("403 Forbidden").count(), 12);
    assert!(ladder::ladder_png(&a, &ids, 0.5).is_ok());
}

/// Offenders of a sample, as (address, rule ids).
fn sample_offenders(name: &str) -> Vec<(String, Vec<String>)> {
    let a = analyse(&samples_dir().join(name).join(format!("{name}.pcap")));
    blocklist::offenders(&a, &|_| false)
        .into_iter()
        .map(|o| (o.ip.to_string(), o.rule_ids))
        .collect()
}

#[test]
fn toll_fraud_and_hijack_list_the_attacker_not_the_victim() {
    // README: account 2005 on 10.0.0.25 dials premium numbers through the PBX 10.0.0.1 (which is not blamed).
    let toll = sample_offenders("toll-fraud-night");
    assert!(
        toll.iter()
            .any(|(ip, r)| ip == "10.0.0.25" && r.iter().any(|r| r == "toll-fraud")),
        "{toll:?}"
    );
    assert!(toll.iter().all(|(ip, _)| ip != "10.0.0.1"), "{toll:?}");
    // README: 203.0.113.66 takes over 2003's registration from the phone 10.0.0.23 (the victim, not listed).
    let hijack = sample_offenders("registration-hijack");
    assert!(
        hijack
            .iter()
            .any(|(ip, r)| ip == "203.0.113.66" && r.iter().any(|r| r == "registration-hijack")),
        "{hijack:?}"
    );
    assert!(
        hijack
            .iter()
            .all(|(ip, _)| ip != "10.0.0.23" && ip != "10.0.0.1"),
        "{hijack:?}"
    );
}
