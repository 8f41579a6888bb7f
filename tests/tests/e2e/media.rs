//! Media stage end to end on synthetic captures whose content is known exactly: SIP INFO DTMF, malformed RTP and
//! RTCP on an SDP-bound endpoint (a diagnostic with the frame, no panic, the stream goes on), the heuristic's
//! refusal of inconsistent RTP-looking datagrams, and re-INVITE port changes.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use earshot_core::model::{Analysis, Layer};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::pcapw::{self, Frame};

const CALLER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CALLEE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const T0: i64 = 1_700_000_000_000_000_000;

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(name: &str, frames: &[Frame]) -> Analysis {
    analyze_file(
        &tmp(name, &pcapw::pcap_bytes(1, frames)),
        &AnalyzeOptions::default(),
        &mut |_| {},
    )
    .unwrap()
}

fn sip(ms: i64, from_caller: bool, text: &str) -> Frame {
    let (s, d) = if from_caller {
        (CALLER, CALLEE)
    } else {
        (CALLEE, CALLER)
    };
    Frame::new(
        T0 + ms * 1_000_000,
        pcapw::eth_udp4(s, 5060, d, 5060, text.as_bytes()),
    )
}

fn request(method: &str, cseq: u32, body: Option<(&str, &str)>) -> String {
    let (ct, b) = body.unwrap_or(("", ""));
    let ct_line = if ct.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ct}\r\n")
    };
    format!(
        "{method} sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{method}{cseq}\r\n\
         From: <sip:alice@10.0.0.1>;tag=a1\r\nTo: <sip:bob@10.0.0.2>\r\nCall-ID: media-test@10.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n{ct_line}Content-Length: {}\r\n\r\n{b}",
        b.len()
    )
}

fn response(code: u16, reason: &str, method: &str, cseq: u32, sdp: Option<&str>) -> String {
    let b = sdp.unwrap_or("");
    let ct = if sdp.is_some() {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    format!(
        "SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{method}{cseq}\r\n\
         From: <sip:alice@10.0.0.1>;tag=a1\r\nTo: <sip:bob@10.0.0.2>;tag=b1\r\nCall-ID: media-test@10.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n{ct}Content-Length: {}\r\n\r\n{b}",
        b.len()
    )
}

fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 8 101\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
}

fn rtp(ms: i64, sport: u16, dport: u16, seq: u16, ts: u32, ssrc: u32, payload_len: usize) -> Frame {
    let mut p = vec![0x80, 8];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(0xD5, payload_len));
    Frame::new(
        T0 + ms * 1_000_000,
        pcapw::eth_udp4(CALLER, sport, CALLEE, dport, &p),
    )
}

/// A run of 20 ms RTP packets caller → callee: sequence number `seq` is sent at `base_ms + 20·seq` with timestamp
/// `160·seq`.
fn rtp_run(
    base_ms: i64,
    sport: u16,
    dport: u16,
    seqs: std::ops::Range<u16>,
    ssrc: u32,
    payload_len: usize,
) -> impl Iterator<Item = Frame> {
    seqs.map(move |i| {
        rtp(
            base_ms + i64::from(i) * 20,
            sport,
            dport,
            i,
            u32::from(i) * 160,
            ssrc,
            payload_len,
        )
    })
}

fn raw_udp(ms: i64, sport: u16, dport: u16, payload: &[u8]) -> Frame {
    Frame::new(
        T0 + ms * 1_000_000,
        pcapw::eth_udp4(CALLER, sport, CALLEE, dport, payload),
    )
}

/// A call: INVITE with SDP (caller 10.0.0.1:4000), 200 with SDP (callee 10.0.0.2:6000), ACK.
fn call_setup() -> Vec<Frame> {
    let offer = sdp("10.0.0.1", 4000);
    let answer = sdp("10.0.0.2", 6000);
    vec![
        sip(
            0,
            true,
            &request("INVITE", 1, Some(("application/sdp", &offer))),
        ),
        sip(10, false, &response(200, "OK", "INVITE", 1, Some(&answer))),
        sip(20, true, &request("ACK", 1, None)),
    ]
}

#[test]
fn sip_info_dtmf_in_order() {
    let mut f = call_setup();
    f.push(sip(
        100,
        true,
        &request(
            "INFO",
            2,
            Some(("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")),
        ),
    ));
    f.push(sip(110, false, &response(200, "OK", "INFO", 2, None)));
    f.push(sip(
        300,
        true,
        &request(
            "INFO",
            3,
            Some(("application/dtmf-relay", "Signal= #\r\nDuration= 250\r\n")),
        ),
    ));
    f.push(sip(
        500,
        true,
        &request("INFO", 4, Some(("application/dtmf; charset=x", "9\r\n"))),
    ));
    let a = run("info.pcap", &f);
    assert_eq!(a.calls.len(), 1);
    let c = &a.calls[0];
    assert_eq!(c.dtmf, "5#9");
    let frames: Vec<u64> = c.dtmf_events.iter().map(|e| e.frame).collect();
    assert_eq!(frames, [4, 6, 7]);
    assert_eq!(c.dtmf_events[0].duration_ms, Some(160.0));
    assert_eq!(c.dtmf_events[1].duration_ms, Some(250.0));
    assert!(c.dtmf_events.iter().all(|e| e.source == "sip-info"));
}

#[test]
fn malformed_rtp_and_rtcp_on_a_bound_endpoint_are_diagnosed() {
    let mut f = call_setup();
    // 20 good packets caller → callee's announced port, then malformed ones.
    let good = 20;
    f.extend(rtp_run(100, 4000, 6000, 0..20, 0xABCD, 160));
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("short header", vec![0x80, 8, 0, 1, 0, 0]),
        (
            "CSRC count past the end",
            vec![0x8F, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 1, 2],
        ),
        (
            "extension past the end",
            vec![
                0x90, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0xBE, 0xDE, 0x00, 0x10, 1,
            ],
        ),
        (
            "padding larger than the payload",
            vec![0xA0, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 1, 2, 0xFF],
        ),
        (
            "RTCP length past the end",
            vec![0x80, 200, 0x00, 0x40, 0, 0, 0xAB, 0xCD],
        ),
    ];
    let first_bad_frame = f.len() as u64 + 1;
    for (i, (_, bytes)) in bad.iter().enumerate() {
        f.push(raw_udp(600 + i as i64, 4000, 6000, bytes));
    }
    let a = run("malformed.pcap", &f);
    assert_eq!(a.streams.len(), 1);
    let s = &a.streams[0];
    assert_eq!(s.packets, good);
    assert_eq!(s.call_id.as_deref(), Some("media-test@10.0.0.1"));
    assert_eq!(s.sender.map(|p| p.as_str()), Some("caller"));
    assert_eq!(a.counters.media.rtp_malformed, 4);
    assert_eq!(a.counters.media.rtcp_malformed, 1);
    let rtp_diags: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.layer == Layer::Rtp)
        .collect();
    assert_eq!(rtp_diags.len(), bad.len(), "{rtp_diags:#?}");
    for (i, d) in rtp_diags.iter().enumerate() {
        assert_eq!(d.frame, Some(first_bad_frame + i as u64), "{}", bad[i].0);
    }
}

#[test]
fn heuristic_needs_a_consistent_run() {
    // Unbound ports. 1: a clean 10-packet run → a stream. 2: RTP-looking datagrams whose sequence numbers jump
    // around (like random bytes) → no stream, all counted as rejected. 3: three packets only → rejected.
    let mut f = Vec::new();
    for i in 0..10u16 {
        f.push(rtp(
            i64::from(i) * 20,
            7000,
            7002,
            100 + i,
            u32::from(i) * 160,
            0x1111,
            160,
        ));
    }
    for (i, seq) in [5u16, 900, 77, 30000, 12, 4000].iter().enumerate() {
        f.push(rtp(
            300 + i as i64 * 20,
            7100,
            7102,
            *seq,
            i as u32 * 160,
            0x2222,
            160,
        ));
    }
    f.extend(rtp_run(600, 7200, 7202, 0..3, 0x3333, 160));
    let a = run("heuristic.pcap", &f);
    assert_eq!(a.streams.len(), 1);
    assert_eq!(a.streams[0].ssrc, 0x1111);
    assert_eq!(a.streams[0].packets, 10);
    assert!(!a.streams[0].signalled);
    assert_eq!(a.counters.media.rtp_candidates_rejected, 6 + 3);
}

#[test]
fn reinvite_moves_media_to_a_new_port() {
    let mut f = call_setup();
    f.extend(rtp_run(100, 4000, 6000, 0..10, 0xAAAA, 160));
    // Re-INVITE from the callee side moving the callee to port 6100; media follows to the new port.
    let offer = sdp("10.0.0.2", 6100);
    f.push(sip(400, false, &{
        let mut r = request("INVITE", 2, Some(("application/sdp", &offer)));
        r = r.replace("Via: SIP/2.0/UDP 10.0.0.1", "Via: SIP/2.0/UDP 10.0.0.2");
        r
    }));
    f.extend(rtp_run(500, 4000, 6100, 10..20, 0xAAAA, 160));
    let a = run("reinvite.pcap", &f);
    assert_eq!(a.streams.len(), 2);
    assert!(a.streams.iter().all(|s| s.signalled && s.packets == 10));
    assert_eq!(a.calls[0].streams, [0, 1]);
}

#[test]
fn t38_fax_over_udptl_is_a_stream_and_the_call_says_accepted() {
    let t38 = |ip: &str, port: u16| {
        format!(
            "v=0\r\no=- 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=image {port} udptl t38\r\n\
             a=T38FaxVersion:0\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
        )
    };
    let mut f = call_setup();
    let offer = t38("10.0.0.1", 4010);
    let answer = t38("10.0.0.2", 6010);
    f.push(sip(
        200,
        true,
        &request("INVITE", 2, Some(("application/sdp", &offer))),
    ));
    f.push(sip(
        210,
        false,
        &response(200, "OK", "INVITE", 2, Some(&answer)),
    ));
    // 12 UDPTL packets caller → callee: sequence number, a 3-byte primary IFP (length-prefixed), then an empty
    // redundancy section. Sequence 5 is missing: 11 packets, 1 lost.
    for seq in (0u16..12).filter(|s| *s != 5) {
        let mut p = seq.to_be_bytes().to_vec();
        p.extend_from_slice(&[0x03, 0x06, 0xD0, 0x00, 0x00, 0x00]);
        f.push(raw_udp(300 + i64::from(seq) * 30, 4010, 6010, &p));
    }
    let a = run("t38.pcap", &f);
    assert_eq!(a.calls[0].t38.as_deref(), Some("accepted"));
    assert_eq!(a.counters.media.udptl_packets, 11);
    let s = a
        .streams
        .iter()
        .find(|s| s.kind == earshot_core::model::StreamKind::T38)
        .expect("a T.38 stream");
    assert_eq!(s.packets, 11);
    assert_eq!(s.lost, 1);
    assert_eq!(s.codec, "t38");
    assert!(s.signalled);
}

#[test]
fn zrtp_on_the_media_flow_labels_the_stream() {
    let mut f = call_setup();
    // ZRTP Hello (RFC 6189 5): 0x10 0x00, sequence, magic cookie "ZRTP", SSRC, then the message (preamble 0x505A,
    // length in words, "Hello   ", version ...) and a CRC-32.
    let mut hello = vec![
        0x10, 0x00, 0x00, 0x01, b'Z', b'R', b'T', b'P', 0, 0, 0xAB, 0xCD,
    ];
    hello.extend_from_slice(&[0x50, 0x5A, 0x00, 0x1D]);
    hello.extend_from_slice(b"Hello   1.10");
    hello.extend(std::iter::repeat_n(0u8, 100));
    hello.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    f.push(raw_udp(90, 4000, 6000, &hello));
    f.extend(rtp_run(100, 4000, 6000, 0..10, 0xABCD, 170));
    let a = run("zrtp.pcap", &f);
    assert_eq!(a.counters.media.zrtp_packets, 1);
    assert_eq!(a.streams.len(), 1);
    assert_eq!(
        a.streams[0].encryption,
        earshot_core::model::Encryption::Zrtp,
        "{:?}",
        a.streams[0].encryption_evidence
    );
}

#[test]
fn sdes_srtp_from_sdp_labels_the_stream() {
    let savp = |ip: &str, port: u16| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/SAVP 8\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
        )
    };
    let (offer, answer) = (savp("10.0.0.1", 4000), savp("10.0.0.2", 6000));
    let mut f = vec![
        sip(
            0,
            true,
            &request("INVITE", 1, Some(("application/sdp", &offer))),
        ),
        sip(10, false, &response(200, "OK", "INVITE", 1, Some(&answer))),
    ];
    f.extend(rtp_run(100, 4000, 6000, 0..5, 0xABCD, 170));
    let a = run("sdes.pcap", &f);
    let s = &a.streams[0];
    assert_eq!(s.encryption, earshot_core::model::Encryption::Srtp);
    assert!(
        s.encryption_evidence
            .as_deref()
            .unwrap()
            .contains("AES_CM_128_HMAC_SHA1_80"),
        "{:?}",
        s.encryption_evidence
    );
}
