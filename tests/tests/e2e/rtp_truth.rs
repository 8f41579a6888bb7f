//! Every shared capture: RTP streams against TShark's ground truth — section 2 (streams announced by SDP) and
//! section 7 (heuristic RTP on). Packets and lost must be equal, max and mean jitter within 0.01 ms or 1 %.
//! Differences are listed in `EXCEPTIONS`, each proven from the capture's bytes by a test below.

use std::net::SocketAddr;

use earshot_core::model::{Analysis, Encryption, MediaStream, StreamKind};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::shared_captures;
use earshot_e2e::truth::{RtpStreamTruth, Truth};

fn analyze(name: &str) -> Analysis {
    let path = earshot_e2e::captures_dir().join(name);
    analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

fn find<'a>(a: &'a Analysis, t: &RtpStreamTruth) -> Option<&'a MediaStream> {
    a.streams.iter().find(|s| {
        s.kind == StreamKind::Rtp
            && s.ssrc == t.ssrc
            && s.src == Some(addr(&t.src, t.src_port))
            && s.dst == Some(addr(&t.dst, t.dst_port))
    })
}

/// (file, SSRC): streams where TShark is provably wrong; see the named tests.
const EXCEPTIONS: &[(&str, u32, &str)] = &[(
    "FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
    0x0EAF0EAF,
    "fax_stream_continues_as_rtp_where_tshark_decodes_t38",
)];

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 0.01_f64.max(theirs.abs() * 0.01)
}

fn check_row(file: &str, a: &Analysis, t: &RtpStreamTruth, section: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let Some(s) = find(a, t) else {
        return vec![format!(
            "{file} §{section}: no stream {}:{} -> {}:{} SSRC 0x{:08X}",
            t.src, t.src_port, t.dst, t.dst_port, t.ssrc
        )];
    };
    if EXCEPTIONS
        .iter()
        .any(|(f, ssrc, _)| *f == file && *ssrc == t.ssrc)
    {
        return errs;
    }
    let what = format!("{file} §{section} SSRC 0x{:08X}", t.ssrc);
    if s.packets != t.packets {
        errs.push(format!("{what}: packets {} vs {}", s.packets, t.packets));
    }
    if s.lost != t.lost {
        errs.push(format!("{what}: lost {} vs {}", s.lost, t.lost));
    }
    match (s.max_jitter_ms, s.mean_jitter_ms) {
        (Some(max), Some(mean)) => {
            if !close(max, t.max_jitter_ms) {
                errs.push(format!("{what}: max jitter {max} vs {}", t.max_jitter_ms));
            }
            if !close(mean, t.mean_jitter_ms) {
                errs.push(format!(
                    "{what}: mean jitter {mean} vs {}",
                    t.mean_jitter_ms
                ));
            }
        }
        _ => {
            // Unknown clock rate: only acceptable where TShark had none either (dynamic payload type, no SDP) and
            // printed 0.000.
            let dynamic_without_sdp = !s.signalled && s.payload_types.iter().all(|pt| *pt >= 96);
            if !(dynamic_without_sdp && t.max_jitter_ms == 0.0 && t.mean_jitter_ms == 0.0) {
                errs.push(format!(
                    "{what}: jitter unknown, TShark {}",
                    t.max_jitter_ms
                ));
            }
        }
    }
    if !close(s.max_delta_ms, t.max_delta_ms) {
        errs.push(format!(
            "{what}: max delta {} vs {}",
            s.max_delta_ms, t.max_delta_ms
        ));
    }
    if section == "2" && !s.signalled {
        errs.push(format!("{what}: announced by SDP but not bound to a call"));
    }
    errs
}

#[test]
fn streams_match_tshark_on_every_capture() {
    let mut errs = Vec::new();
    let mut checked = 0;
    for path in shared_captures() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let truth = Truth::for_capture(&path);
        let a = analyze_file(&path, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
        for t in &truth.sdp_streams {
            errs.extend(check_row(&file, &a, t, "2"));
            checked += 1;
        }
        for t in &truth.heuristic_streams {
            errs.extend(check_row(&file, &a, t, "7"));
            checked += 1;
        }
        // No stream TShark's heuristic did not find: the heuristic must not turn SIP, DNS, STUN or DTLS into RTP.
        let rtp: Vec<_> = a
            .streams
            .iter()
            .filter(|s| s.kind == StreamKind::Rtp)
            .collect();
        for s in &rtp {
            let known = truth.heuristic_streams.iter().any(|t| {
                s.ssrc == t.ssrc
                    && s.src == Some(addr(&t.src, t.src_port))
                    && s.dst == Some(addr(&t.dst, t.dst_port))
            });
            if !known {
                errs.push(format!(
                    "{file}: extra stream {:?} -> {:?} SSRC 0x{:08X} ({} packets)",
                    s.src, s.dst, s.ssrc, s.packets
                ));
            }
        }
        assert_eq!(
            a.summary.rtp_streams as usize,
            rtp.len(),
            "{file}: summary count"
        );
    }
    assert_eq!(
        checked, 46,
        "truth rows checked (21 in section 2, 25 in section 7)"
    );
    assert!(
        errs.is_empty(),
        "{} differences:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// TShark decodes frames 3106-7205 of the fax capture as T.38 (all "malformed") because a re-INVITE bound the port
/// to UDPTL (and was answered 488). The bytes are RTP version 2, payload type 8, SSRC 0x0EAF0EAF, the same stream
/// that ran before: Earshot counts them in it.
#[test]
fn fax_stream_continues_as_rtp_where_tshark_decodes_t38() {
    let a = analyze("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
    let s = a
        .streams
        .iter()
        .find(|s| s.ssrc == 0x0EAF0EAF)
        .expect("stream");
    // Independent reading by TShark: every UDP payload from 10.35.60.100:15580 is RTP version 2 with SSRC
    // 0x0EAF0EAF, including the 2010 frames TShark's own dissector calls T.38.
    let path = earshot_e2e::captures_dir().join("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
    let is_this_rtp = |p: &Vec<u8>| {
        p.first().is_some_and(|b| b >> 6 == 2)
            && p.get(8..12) == Some(&[0x0E, 0xAF, 0x0E, 0xAF][..])
    };
    let all = earshot_e2e::tshark_udp_payloads(&path, "ip.src==10.35.60.100 && udp.srcport==15580");
    let as_t38 = earshot_e2e::tshark_udp_payloads(&path, "t38 && ip.src==10.35.60.100");
    assert_eq!(as_t38.len(), 2010, "frames TShark decodes as T.38");
    assert!(as_t38.iter().all(|(_, _, _, p)| is_this_rtp(p)));
    assert_eq!(all.len(), 3848);
    assert!(all.iter().all(|(_, _, _, p)| is_this_rtp(p)));
    assert_eq!(
        all.len() - as_t38.len(),
        1838,
        "TShark's count for the stream (truth section 2)"
    );
    assert_eq!(s.packets, 3848);
    assert!(s.signalled);
    // T.38 was offered in re-INVITEs and refused: the call says so; no UDPTL stream exists.
    let call = a
        .calls
        .iter()
        .find(|c| c.streams.contains(&s.index))
        .unwrap();
    assert_eq!(call.t38.as_deref(), Some("rejected 488"));
    assert_eq!(a.counters.media.udptl_packets, 0);
}

#[test]
fn encryption_labels() {
    let a = analyze("stun_dtls_rtp.pcapng");
    let s = a.streams.iter().find(|s| s.ssrc == 0x6D1C3CFA).unwrap();
    assert_eq!(
        s.encryption,
        Encryption::DtlsSrtp,
        "{:?}",
        s.encryption_evidence
    );
    assert!(!s.signalled);
    let a = analyze("marseillaise-srtp.pcap");
    assert_eq!(a.streams.len(), 1);
    let s = &a.streams[0];
    assert_eq!(
        s.encryption,
        Encryption::Srtp,
        "{:?}",
        s.encryption_evidence
    );
    assert!(!s.signalled && s.call_id.is_none());
    // 170-byte payloads carrying 160 samples: a 10-byte HMAC-SHA1-80 tag.
    assert!(
        s.encryption_evidence
            .as_deref()
            .unwrap()
            .starts_with("10-byte trailer")
    );
    // Plain G.711 stays plain.
    let a = analyze("sip-rtp-g711.pcap");
    assert!(a.streams.iter().all(|s| s.encryption == Encryption::None));
}

#[test]
fn dtmf_digits_of_sip_dtmf2() {
    let a = analyze("SIP_DTMF2.cap");
    let with: Vec<_> = a.calls.iter().filter(|c| !c.dtmf.is_empty()).collect();
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].dtmf, "6789123");
    let frames: Vec<u64> = with[0].dtmf_events.iter().map(|e| e.frame).collect();
    assert_eq!(frames, [339, 441, 473, 503, 543, 577, 615]);
    assert!(
        with[0]
            .dtmf_events
            .iter()
            .all(|e| e.ssrc == Some(0x5711BF84))
    );
}

#[test]
fn clean_g711_scores_high_mos() {
    let a = analyze("sip-rtp-g711.pcap");
    assert_eq!(a.streams.len(), 2);
    for s in &a.streams {
        let mos = s.mos.expect("MOS for G.711 with SDP");
        assert!(mos >= 4.3, "MOS {mos}");
        assert_eq!(s.lost, 0);
    }
}

/// RTCP in sip_ipv4_tcp.pcap, as TShark decodes it: frame 14 is an SR+SDES from 0x42F433D4 (CNAME "c0"), frame 17
/// an SR from 0x5A3361B3 whose report block about 0x42F433D4 echoes that SR (LSR 153432162) after DLSR 1048/65536 s.
/// Round trip on the capture's clock = (4.416142 − 4.398772) s − 1048/65536 s.
#[test]
fn rtcp_summary_and_round_trip() {
    let a = analyze("sip_ipv4_tcp.pcap");
    assert_eq!(a.counters.media.rtcp_packets, 2);
    let s = a.streams.iter().find(|s| s.ssrc == 0x42F433D4).unwrap();
    let r = s.rtcp.as_ref().unwrap();
    assert_eq!(r.cname.as_deref(), Some("c0"));
    assert_eq!(r.sender_reports, 1);
    let rx = r.received.as_ref().unwrap();
    assert_eq!(rx.reports, 1);
    assert_eq!(rx.cumulative_lost, 0);
    let want = (4.416142 - 4.398772) * 1000.0 - 1048.0 * 1000.0 / 65536.0;
    assert!((rx.mean_rtt_ms.unwrap() - want).abs() < 1e-6, "{rx:?}");
    let other = a.streams.iter().find(|s| s.ssrc == 0x5A3361B3).unwrap();
    assert_eq!(other.rtcp.as_ref().unwrap().cname.as_deref(), Some("c0"));
    assert!(other.rtcp.as_ref().unwrap().received.is_none());
}
