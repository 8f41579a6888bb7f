//! Bad input: every case gives a clear error or a partial result with diagnostics, never a panic.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use earshot_core::model::{DiagLevel, Layer};
use earshot_core::{AnalyzeOptions, CaptureError, analyze_file};
use earshot_e2e::pcapw::{self, Frame};

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn sip_frame(i: u32) -> Frame {
    let text = format!(
        "OPTIONS sip:100@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{i}\r\n\
         From: <sip:probe@10.0.0.2>;tag={i}\r\nTo: <sip:100@10.0.0.1>\r\nCall-ID: bad-{i}\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Frame::new(
        1_700_000_000_000_000_000 + i64::from(i) * 1_000_000,
        pcapw::eth_udp4(
            Ipv4Addr::new(10, 0, 0, 2),
            5060,
            Ipv4Addr::new(10, 0, 0, 1),
            5060,
            text.as_bytes(),
        ),
    )
}

fn good_pcap(n: u32) -> Vec<u8> {
    let frames: Vec<Frame> = (0..n).map(sip_frame).collect();
    pcapw::pcap_bytes(1, &frames)
}

fn run(name: &str, bytes: &[u8]) -> Result<earshot_core::Analysis, CaptureError> {
    analyze_file(&tmp(name, bytes), &AnalyzeOptions::default(), &mut |_| {})
}

#[test]
fn empty_file_is_a_clear_error() {
    let e = run("empty.pcap", b"").unwrap_err();
    assert!(matches!(e, CaptureError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn wrong_magic_is_a_clear_error() {
    let e = run("wrong.pcap", b"GIF89a this is not a capture at all").unwrap_err();
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e}");
    assert!(e.to_string().contains("magic"), "{e}");
}

#[test]
fn truncated_header_is_a_clear_error() {
    let full = good_pcap(1);
    let e = run("trunc-header.pcap", &full[..12]).unwrap_err();
    assert!(matches!(e, CaptureError::BadHeader { .. }), "{e}");
}

#[test]
fn header_only_capture_has_no_packets() {
    let full = good_pcap(0);
    let a = run("header-only.pcap", &full).unwrap();
    assert_eq!(a.summary.packets, 0);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("no packets"))
    );
}

#[test]
fn truncated_last_packet_keeps_the_rest() {
    let full = good_pcap(5);
    let cut = &full[..full.len() - 30];
    let a = run("trunc-last.pcap", cut).unwrap();
    assert_eq!(a.summary.packets, 4);
    assert_eq!(a.summary.sip_messages, 4);
    let d = a
        .diagnostics
        .iter()
        .find(|d| d.layer == Layer::Capture && d.level == DiagLevel::Error)
        .expect("a truncation diagnostic");
    assert_eq!(d.frame, Some(5));
    assert!(d.message.contains("truncated"), "{}", d.message);
}

#[test]
fn snaplen_cut_packets_are_counted_and_partial_sip_reported() {
    let mut frames: Vec<Frame> = (0..3).map(sip_frame).collect();
    // Frame 2 cut to 100 bytes: inside the SIP headers.
    let orig = frames[1].data.len() as u32;
    frames[1].data.truncate(100);
    frames[1].orig_len = Some(orig);
    let a = run("snaplen.pcap", &pcapw::pcap_bytes(1, &frames)).unwrap();
    assert_eq!(a.summary.packets, 3);
    assert_eq!(a.capture.truncated_frames, 1);
    // Frames 1 and 3 are whole; frame 2's cut message is either parsed partially or reported with its frame.
    assert!(a.summary.sip_messages >= 2);
    assert!(a.messages.iter().any(|m| m.frame == 1) && a.messages.iter().any(|m| m.frame == 3));
}

#[test]
fn random_bytes_never_panic() {
    // Deterministic xorshift: random files, and random bytes after a valid pcap header.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let header = &good_pcap(0)[..24];
    for i in 0..200 {
        let len = (next() % 4096) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 {
            let mut b = header.to_vec();
            b.extend_from_slice(&bytes);
            bytes = b;
        }
        let _ = run(&format!("random-{i}.pcap"), &bytes);
    }
    // Every prefix of a valid file too.
    let full = good_pcap(3);
    for cut in 0..full.len() {
        let _ = run("prefix.pcap", &full[..cut]);
    }
}

#[test]
fn pcapng_unknown_block_is_skipped() {
    let sip = sip_frame(1).data;
    let mut f = pcapw::pcapng_shb();
    f.extend(pcapw::pcapng_idb(1, None));
    f.extend(pcapw::pcapng_block(0x0BAD_F00D, b"who knows what this is"));
    f.extend(pcapw::pcapng_epb(
        0,
        1_700_000_000_000_000,
        &sip,
        sip.len() as u32,
    ));
    f.extend(pcapw::pcapng_block(0x0000_0bad, &[1, 2, 3, 4, 5, 6, 7, 8]));
    f.extend(pcapw::pcapng_epb(
        0,
        1_700_000_000_000_001,
        &sip,
        sip.len() as u32,
    ));
    let a = run("unknown-block.pcapng", &f).unwrap();
    assert_eq!(a.summary.packets, 2);
    assert_eq!(a.summary.sip_messages, 2);
    assert_eq!(a.capture.format, "pcapng");
}

#[test]
fn pcapng_if_tsresol_and_multiple_interfaces() {
    let sip = sip_frame(1).data;
    let mut f = pcapw::pcapng_shb();
    f.extend(pcapw::pcapng_idb(1, None)); // µs
    f.extend(pcapw::pcapng_idb(1, Some(9))); // ns
    f.extend(pcapw::pcapng_epb(
        0,
        1_700_000_000_123_456,
        &sip,
        sip.len() as u32,
    ));
    f.extend(pcapw::pcapng_epb(
        1,
        1_700_000_000_123_456_789,
        &sip,
        sip.len() as u32,
    ));
    f.extend(pcapw::pcapng_spb(&sip));
    let a = run("tsresol.pcapng", &f).unwrap();
    assert_eq!(a.summary.packets, 3);
    assert_eq!(a.capture.interfaces, 2);
    assert_eq!(a.capture.ts_precision_digits, 9);
    assert_eq!(a.messages[0].ts_nanos, 1_700_000_000_123_456_000);
    assert_eq!(a.messages[1].ts_nanos, 1_700_000_000_123_456_789);
    // The simple packet block has no timestamp: it takes the previous packet's.
    assert_eq!(a.messages[2].ts_nanos, 1_700_000_000_123_456_789);
}

#[test]
fn big_endian_and_nanosecond_pcap() {
    let frames: Vec<Frame> = (0..2).map(sip_frame).collect();
    let mut w = pcapw::PcapWriter::new(Vec::new(), 1, true, true).unwrap();
    for f in &frames {
        w.write(f).unwrap();
    }
    let bytes = w.finish().unwrap();
    let a = run("be-ns.pcap", &bytes).unwrap();
    assert_eq!(a.capture.format, "pcap-nsec");
    assert_eq!(a.capture.ts_precision_digits, 9);
    assert_eq!(a.summary.sip_messages, 2);
    assert_eq!(a.messages[1].ts_nanos, frames[1].ts_nanos);
}

#[test]
fn gzip_capture_is_read_and_hashed_as_stored() {
    use std::io::Write;
    let raw = good_pcap(3);
    let mut gz = flate2_free_gzip(&raw);
    gz.flush().unwrap();
    let path = tmp("c.pcap.gz", gz.get_ref());
    let a = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(a.summary.sip_messages, 3);
    assert_eq!(a.capture.format, "pcap+gzip");
    let out = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(a.capture.sha256, expected);
}

/// Compress with the system's gzip (an independent implementation).
fn flate2_free_gzip(raw: &[u8]) -> std::io::Cursor<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    std::io::Cursor::new(out.stdout)
}

#[test]
fn unparseable_sip_is_kept_raw_with_a_diagnostic() {
    let bad = b"SIP/2.0 099 Not A Real Status\r\nCall-ID: x\r\n\r\n";
    let frames = vec![
        sip_frame(1),
        Frame::new(
            1_700_000_000_500_000_000,
            pcapw::eth_udp4(
                Ipv4Addr::new(10, 0, 0, 1),
                5060,
                Ipv4Addr::new(10, 0, 0, 2),
                5060,
                bad,
            ),
        ),
    ];
    let a = run("unparseable.pcap", &pcapw::pcap_bytes(1, &frames)).unwrap();
    assert_eq!(a.summary.sip_messages, 1);
    assert_eq!(a.counters.sip_parse_failures, 1);
    assert_eq!(a.unparsed_sip.len(), 1);
    let u = &a.unparsed_sip[0];
    assert_eq!(u.frame, 2);
    assert_eq!(u.excerpt.as_bytes(), bad);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.frame == Some(2) && d.layer == Layer::Sip)
    );
}
