//! Per-call evidence extraction (`extract::write_calls_pcapng`), read back by independent tools: TShark counts the
//! SIP messages of the extract and, on the original file, those with the call's Call-ID; it counts the RTP of the
//! extract and, on the original, the packets of each stream's 5-tuple and SSRC; every extracted frame's timestamp
//! (mapped through its "source frame N" comment) equals TShark's for that frame of the original; `capinfos` shows the
//! section comment with the SHA-256 it computes itself on the original and the timestamp precision of the source.
//! The extract is then analysed again by Earshot and must give the same call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::extract::{ExtractError, write_calls_pcapng};
use earshot_core::model::{Analysis, Call, StreamKind};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::pcapw::{self, Frame, PcapWriter};
use earshot_e2e::tshark_fields;
use earshot_e2e::{captures_dir, samples_dir};

fn have_tools() -> bool {
    let ok = |t: &str| {
        Command::new(t)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok("tshark") && ok("capinfos") {
        return true;
    }
    println!(
        "SKIPPED: tshark/capinfos not installed (scripts/setup.sh installs them; CI runs these checks)"
    );
    false
}

fn analyze(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn out_path(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-extract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{tag}.pcapng"))
}

fn tshark_count(path: &Path, opts: &[&str], filter: &str) -> usize {
    tshark_fields(path, opts, filter, &["frame.number"]).len()
}

fn capinfos(path: &Path) -> String {
    let out = Command::new("capinfos")
        .arg(path)
        .output()
        .expect("capinfos runs");
    assert!(out.status.success(), "capinfos {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn addr_filter(prefix: &str, a: SocketAddr) -> String {
    let ip = match a.ip() {
        IpAddr::V4(_) => "ip",
        IpAddr::V6(_) => "ipv6",
    };
    format!(
        "{ip}.{prefix} == {} && udp.{prefix}port == {}",
        a.ip(),
        a.port()
    )
}

const RTP_HEUR: [&str; 2] = ["-o", "rtp.heuristic_rtp:TRUE"];

/// What one extraction is checked against.
struct Expect {
    /// RTCP frames the extract must hold (counted by TShark on the original where the file holds only this call).
    rtcp: Option<usize>,
    /// Timestamp precision of the source as capinfos names it.
    precision: &'static str,
}

/// Extracts `call_id` from `capture` and checks the result with TShark, capinfos and a second analysis.
fn check_extract(capture: &Path, call_id: &str, tag: &str, expect: &Expect) {
    let a = analyze(capture);
    let call: &Call = a
        .calls
        .iter()
        .find(|c| c.call_id == call_id)
        .unwrap_or_else(|| panic!("{tag}: no call {call_id}"));
    let out = out_path(tag);
    let summary = write_calls_pcapng(capture, &a, &[call_id], &out)
        .unwrap_or_else(|e| panic!("{tag}: extraction failed: {e}"));

    // Every frame written, and TShark reads them all.
    let all = tshark_fields(
        &out,
        &[],
        "",
        &["frame.number", "frame.comment", "frame.time_epoch"],
    );
    assert_eq!(all.len() as u64, summary.frames_written, "{tag}: frames");
    assert_eq!(summary.frames_not_written, 0, "{tag}");

    // SIP: the extract's SIP messages = the analysis's = TShark's count by Call-ID on the original.
    let sip_out = tshark_count(&out, &[], "sip");
    let sip_orig = tshark_count(capture, &[], &format!("sip.Call-ID == {}", quoted(call_id)));
    assert_eq!(
        sip_out,
        call.messages.len(),
        "{tag}: SIP messages in the extract"
    );
    assert_eq!(
        sip_orig,
        call.messages.len(),
        "{tag}: SIP messages by Call-ID in the original"
    );

    // RTP: per stream, TShark counts the stream's 5-tuple and SSRC in the original within its frame range; the sum
    // must equal the analysis's packets and the extract's RTP count.
    let streams: Vec<_> = call
        .streams
        .iter()
        .map(|i| a.streams.iter().find(|s| s.index == *i).unwrap())
        .filter(|s| s.kind == StreamKind::Rtp)
        .collect();
    let analysed: u64 = streams.iter().map(|s| s.packets).sum();
    let mut orig_rtp = 0usize;
    for s in &streams {
        let f = format!(
            "rtp && !rtcp && rtp.ssrc == 0x{:08x} && {} && {} && frame.number >= {} && frame.number <= {}",
            s.ssrc,
            addr_filter("src", s.src.unwrap()),
            addr_filter("dst", s.dst.unwrap()),
            s.first_frame,
            s.last_frame
        );
        orig_rtp += tshark_count(capture, &RTP_HEUR, &f);
    }
    let out_rtp = tshark_count(&out, &RTP_HEUR, "rtp && !rtcp");
    assert_eq!(
        orig_rtp as u64, analysed,
        "{tag}: RTP by TShark on the original vs the analysis"
    );
    assert_eq!(out_rtp as u64, analysed, "{tag}: RTP in the extract");

    // RTCP, where the capture holds it.
    if let Some(n) = expect.rtcp {
        let out_rtcp = tshark_count(&out, &["-o", "rtcp.heuristic_rtcp:TRUE"], "rtcp");
        assert_eq!(out_rtcp, n, "{tag}: RTCP in the extract");
        assert_eq!(summary.rtcp_frames as usize, n, "{tag}: RTCP counted");
    }

    // Timestamps: each extracted frame's time equals TShark's time of its source frame in the original.
    let orig_times: BTreeMap<u64, String> =
        tshark_fields(capture, &[], "", &["frame.number", "frame.time_epoch"])
            .into_iter()
            .map(|r| (r[0].parse().unwrap(), r[1].clone()))
            .collect();
    let mut last_source = 0u64;
    for r in &all {
        let source: u64 = r[1]
            .strip_prefix("source frame ")
            .unwrap_or_else(|| panic!("{tag}: comment {:?}", r[1]))
            .parse()
            .unwrap();
        assert!(
            source > last_source,
            "{tag}: capture order kept ({source} after {last_source})"
        );
        last_source = source;
        assert_eq!(
            &r[2], &orig_times[&source],
            "{tag}: time of source frame {source}"
        );
    }
    let first = call.frames.iter().min().unwrap();
    assert!(
        all.iter().any(|r| r[1] == format!("source frame {first}")),
        "{tag}: first SIP frame"
    );

    // capinfos: section comment with the SHA-256 capinfos computes on the original, the application, precision.
    let info_orig = capinfos(capture);
    let sha = info_orig
        .lines()
        .find_map(|l| l.strip_prefix("SHA256:"))
        .unwrap()
        .trim()
        .to_string();
    let info = capinfos(&out);
    let comment = info
        .lines()
        .find(|l| l.starts_with("Capture comment:"))
        .unwrap_or_else(|| panic!("{tag}: no capture comment in {info}"));
    assert!(comment.contains(&sha), "{tag}: {comment}");
    assert!(comment.contains(&quoted(call_id)), "{tag}: {comment}");
    let name = capture.file_name().unwrap().to_string_lossy();
    assert!(comment.contains(&*name), "{tag}: {comment}");
    assert!(
        info.contains("Capture application: Earshot "),
        "{tag}: {info}"
    );
    assert!(
        info.contains(&format!("File timestamp precision:  {}", expect.precision)),
        "{tag}: {info}"
    );

    // Earshot again on the extract: the same call, messages and stream packets.
    let b = analyze(&out);
    let again = b.calls.iter().find(|c| c.call_id == call_id).unwrap();
    assert_eq!(
        again.messages.len(),
        call.messages.len(),
        "{tag}: re-analysed messages"
    );
    let packets = |x: &Analysis, c: &Call| {
        let mut v: Vec<(u32, u64)> = c
            .streams
            .iter()
            .filter_map(|i| x.streams.iter().find(|s| s.index == *i))
            .filter(|s| s.kind == StreamKind::Rtp)
            .map(|s| (s.ssrc, s.packets))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        packets(&b, again),
        packets(&a, call),
        "{tag}: re-analysed streams"
    );
    std::fs::remove_file(&out).ok();
}

/// The call of `a` with the most messages among those with RTP streams (else with the most messages).
fn busiest_call(a: &Analysis) -> String {
    a.calls
        .iter()
        .max_by_key(|c| (!c.streams.is_empty(), c.messages.len()))
        .unwrap()
        .call_id
        .clone()
}

#[test]
fn sip_dtmf2_answered_call() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("SIP_DTMF2.cap");
    let a = analyze(&p);
    let id = busiest_call(&a);
    let call = a.calls.iter().find(|c| c.call_id == id).unwrap();
    assert!(
        call.answered && !call.streams.is_empty(),
        "the answered call with RTP"
    );
    check_extract(
        &p,
        &id,
        "dtmf2",
        &Expect {
            rtcp: None,
            precision: "microseconds (6)",
        },
    );
}

#[test]
fn sip_over_tcp_with_rtcp() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("sip_ipv4_tcp.pcap");
    let a = analyze(&p);
    let id = busiest_call(&a);
    // The capture holds this one call: all its RTCP (TShark's heuristic count on the whole original) belongs to it.
    let rtcp = tshark_count(&p, &["-o", "rtcp.heuristic_rtcp:TRUE"], "rtcp");
    assert!(rtcp > 0);
    check_extract(
        &p,
        &id,
        "tcp",
        &Expect {
            rtcp: Some(rtcp),
            precision: "microseconds (6)",
        },
    );
}

#[test]
fn sip_tcp_segments_over_null_link() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("sip-body-large.pcap");
    let a = analyze(&p);
    let id = busiest_call(&a);
    let segments: usize = a.calls[0]
        .messages
        .iter()
        .map(|m| a.messages[*m].frames.len())
        .sum();
    assert!(segments > 2, "the INVITE spans several segments");
    check_extract(
        &p,
        &id,
        "tcp-large",
        &Expect {
            rtcp: None,
            precision: "microseconds (6)",
        },
    );
}

#[test]
fn sip_over_ipv6() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("sip_ipv6_udp.pcap");
    let id = busiest_call(&analyze(&p));
    check_extract(
        &p,
        &id,
        "ipv6",
        &Expect {
            rtcp: None,
            precision: "microseconds (6)",
        },
    );
}

#[test]
fn pcapng_with_tunnels_and_several_interfaces() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("gre_sip.pcapng");
    let id = busiest_call(&analyze(&p));
    check_extract(
        &p,
        &id,
        "gre",
        &Expect {
            rtcp: None,
            precision: "microseconds (6)",
        },
    );
}

#[test]
fn clean_call_sample() {
    if !have_tools() {
        return;
    }
    let p = samples_dir().join("clean-call").join("clean-call.pcap");
    let a = analyze(&p);
    let id = busiest_call(&a);
    assert_eq!(
        a.calls
            .iter()
            .find(|c| c.call_id == id)
            .unwrap()
            .streams
            .len(),
        2
    );
    check_extract(
        &p,
        &id,
        "clean",
        &Expect {
            rtcp: None,
            precision: "microseconds (6)",
        },
    );
}

/// A nanosecond capture made here: two calls on different ports; call A's INVITE and some of its RTP packets are IP
/// fragments (the first fragment of one arrives after the second), with RTCP on port+1 and odd nanoseconds.
fn fragmented_capture(path: &Path) {
    let (c, s) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let base: i64 = 1_767_225_600_000_000_000 + 123_456_789;
    let mut frames = Vec::new();
    let mut t = base;
    let mut push = |frames: &mut Vec<Frame>, data: Vec<u8>| {
        t += 1_000_037;
        frames.push(Frame::new(t, data));
    };
    let sdp = |ip: Ipv4Addr, port: u16| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{}",
            "a=x-pad:0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
                .repeat(20)
        )
    };
    let sip = |first: &str, id: &str, body: &str| {
        format!(
            "{first}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{id}\r\nFrom: <sip:a@10.0.0.1>;tag=1\r\nTo: <sip:b@10.0.0.2>\r\nCall-ID: {id}\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let fragments = |payload: &[u8], src: Ipv4Addr, dst: Ipv4Addr, id: u16, swap: bool| {
        let cut = 1200usize;
        let a = pcapw::ethernet(
            0x0800,
            &pcapw::ipv4_with(src, dst, 17, id, 0x2000, &payload[..cut]),
        );
        let b = pcapw::ethernet(
            0x0800,
            &pcapw::ipv4_with(src, dst, 17, id, (cut / 8) as u16, &payload[cut..]),
        );
        if swap { vec![b, a] } else { vec![a, b] }
    };
    for (call, port) in [("call-A@test", 20_000u16), ("call-B@test", 30_000u16)] {
        let invite = sip("INVITE sip:b@10.0.0.2 SIP/2.0", call, &sdp(c, port));
        let udp = pcapw::udp(IpAddr::V4(c), 5060, IpAddr::V4(s), 5060, &invite);
        assert!(udp.len() > 1300);
        for f in fragments(&udp, c, s, port, false) {
            push(&mut frames, f);
        }
        let ok = sip("SIP/2.0 200 OK", call, &sdp(s, port + 2));
        let udp = pcapw::udp(IpAddr::V4(s), 5060, IpAddr::V4(c), 5060, &ok);
        for f in fragments(&udp, s, c, port + 1, false) {
            push(&mut frames, f);
        }
        for i in 0..20u16 {
            let mut rtp = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
            rtp[2..4].copy_from_slice(&i.to_be_bytes());
            rtp[4..8].copy_from_slice(&(u32::from(i) * 160).to_be_bytes());
            rtp[8..12].copy_from_slice(&u32::from(port).to_be_bytes());
            // Every fifth packet is large enough to be fragmented; one of them arrives out of order.
            let big = i % 5 == 2;
            rtp.extend(std::iter::repeat_n(0xffu8, if big { 1600 } else { 160 }));
            let udp = pcapw::udp(IpAddr::V4(c), port, IpAddr::V4(s), port + 2, &rtp);
            if big {
                for f in fragments(&udp, c, s, 1000 + i, i == 7) {
                    push(&mut frames, f);
                }
            } else {
                push(&mut frames, pcapw::eth_udp4(c, port, s, port + 2, &rtp));
            }
            if i % 10 == 9 {
                // RTCP receiver report on port+1 from the callee.
                let mut rr = vec![0x80, 201, 0, 1];
                rr.extend_from_slice(&u32::from(port + 9).to_be_bytes());
                push(&mut frames, pcapw::eth_udp4(s, port + 3, c, port + 1, &rr));
            }
        }
    }
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), 1, true, false).unwrap();
    for f in &frames {
        w.write(f).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn fragmented_sip_and_rtp_at_nanosecond_precision() {
    if !have_tools() {
        return;
    }
    let p = out_path("fragmented-source").with_extension("pcap");
    fragmented_capture(&p);
    let a = analyze(&p);
    assert_eq!(a.calls.len(), 2);
    let call = a.calls.iter().find(|c| c.call_id == "call-A@test").unwrap();
    assert_eq!(call.streams.len(), 1);
    assert_eq!(a.streams[call.streams[0]].packets, 20);
    // Independent RTCP count: TShark on the original, call A's port pair.
    let rtcp = tshark_count(
        &p,
        &["-o", "rtcp.heuristic_rtcp:TRUE"],
        "rtcp && udp.port == 20001",
    );
    assert_eq!(rtcp, 2);
    check_extract(
        &p,
        "call-A@test",
        "fragmented",
        &Expect {
            rtcp: Some(rtcp),
            precision: "nanoseconds (9)",
        },
    );
    // Every fragment came along: 2 per SIP message, 4 large RTP packets in 2 fragments, 16 small, 2 RTCP.
    let out = out_path("fragmented-count");
    let s = write_calls_pcapng(&p, &a, &["call-A@test"], &out).unwrap();
    assert_eq!((s.sip_frames, s.rtp_frames, s.rtcp_frames), (4, 16 + 8, 2));
    assert_eq!(s.frames_written, 30);
    let times = tshark_fields(&out, &[], "", &["frame.time_epoch"]);
    // The first frame's time as written by the generator: sub-microsecond digits kept.
    assert_eq!(times[0][0], "1767225600.124456826");
    std::fs::remove_file(&out).ok();
    std::fs::remove_file(&p).ok();
}

#[test]
fn nanosecond_capture_register_dialog() {
    if !have_tools() {
        return;
    }
    let p = captures_dir().join("SIP-Bruteforce-Single-IP.pcap");
    let a = analyze(&p);
    let id = a
        .calls
        .iter()
        .max_by_key(|c| c.messages.len())
        .unwrap()
        .call_id
        .clone();
    check_extract(
        &p,
        &id,
        "nsec",
        &Expect {
            rtcp: None,
            precision: "nanoseconds (9)",
        },
    );
}

#[test]
fn refusals_leave_nothing_behind() {
    let p = captures_dir().join("SIP_DTMF2.cap");
    let a = analyze(&p);
    let before = std::fs::read(&p).unwrap();
    let out = out_path("refused");
    std::fs::remove_file(&out).ok();
    let err = write_calls_pcapng(&p, &a, &["no-such-call"], &out).unwrap_err();
    assert!(matches!(err, ExtractError::NoSuchCall(_)), "{err}");
    let err = write_calls_pcapng(&p, &a, &[], &out).unwrap_err();
    assert!(matches!(err, ExtractError::NoCalls(_)), "{err}");
    let id = busiest_call(&a);
    // The analysis of another file: the frame numbers would be wrong.
    let other = captures_dir().join("sip-rtp-g711.pcap");
    let err = write_calls_pcapng(&other, &a, &[&id], &out).unwrap_err();
    assert!(
        matches!(err, ExtractError::NotTheAnalysedCapture { .. }),
        "{err}"
    );
    // Writing over the input is refused.
    let err = write_calls_pcapng(&p, &a, &[&id], &p).unwrap_err();
    assert!(matches!(err, ExtractError::OutputIsInput(_)), "{err}");
    assert!(!out.exists());
    let dir = out.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("earshot-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // An existing output is replaced whole; the input is unchanged.
    std::fs::write(&out, b"old").unwrap();
    let s = write_calls_pcapng(&p, &a, &[&id], &out).unwrap();
    assert!(s.frames_written > 0);
    assert_eq!(
        &std::fs::read(&out).unwrap()[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a]
    );
    assert_eq!(std::fs::read(&p).unwrap(), before);
    std::fs::remove_file(&out).ok();
}
