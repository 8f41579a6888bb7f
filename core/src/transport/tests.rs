//! Tests across the transport module: SIP start lines and framing, TLS records, TCP reassembly (plain SIP,
//! WebSocket, TLS), a no-panic fuzz loop, and real captures read with a tiny test-only pcap decoder.

use std::borrow::Cow;
use std::net::SocketAddr;

use super::sctp::SctpReassembler;
use super::tcp::{TcpLimits, TcpReassembler};
use super::websocket::{self, build_frame};
use super::*;
use crate::model::{DiagLevel, Diagnostic, Layer};
use crate::net::TcpSegment;

// ---------------------------------------------------------------------------------------------------------------
// starts_like_sip / frame_sip / tls_record_version

#[test]
fn starts_like_sip_positives() {
    for s in [
        "INVITE sip:bob@example.com SIP/2.0\r\n",
        "REGISTER sips:example.com SIP/2.0\r\nVia: x\r\n",
        "OPTIONS tel:+12025550100 SIP/2.0\r\n",
        "MESSAGE urn:service:sos SIP/2.0\n",
        "X-CUSTOM.method sip:a@b SIP/2.0\r\n",
        "SIP/2.0 200 OK\r\n",
        "SIP/2.0 100 Trying\r\nVia: x\r\n",
        "SIP/2.0 407\r\n",
        "sip/2.0 180 Ringing\r\n",
    ] {
        assert!(starts_like_sip(s.as_bytes()), "{s:?}");
    }
}

#[test]
fn starts_like_sip_negatives() {
    let long_line = format!("INVITE sip:{} SIP/2.0\r\n", "a".repeat(3000));
    for s in [
        "",
        "INVITE",
        "INVITE sip:bob@example.com SIP/2.0", // no line end yet
        "HTTP/1.1 200 OK\r\n",
        "GET / HTTP/1.1\r\n",
        "GET /sip SIP/3.0\r\n",
        "INVITE  sip:bob SIP/2.0\r\n", // empty URI
        "INVITE sip:bob SIP/2.0 extra\r\n",
        " INVITE sip:bob SIP/2.0\r\n",
        "\r\nINVITE sip:bob SIP/2.0\r\n",
        "IN(VITE sip:bob SIP/2.0\r\n",
        "SIP/2.0 20 OK\r\n",
        "SIP/2.0 2000 OK\r\n",
        "SIP/2.0 abc OK\r\n",
        "SIP/2.0200 OK\r\n",
        "\x16\x03\x01\x00\x05hello",
        &long_line,
    ] {
        assert!(!starts_like_sip(s.as_bytes()), "{s:?}");
    }
}

const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP a\r\nCall-ID: 1\r\nContent-Length: 5\r\n\r\nhello";
const OK: &[u8] = b"SIP/2.0 200 OK\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n";
const ACK: &[u8] = b"ACK sip:bob@example.com SIP/2.0\r\nCall-ID: 1\r\n\r\n";

fn sip_with_body(body_len: usize) -> Vec<u8> {
    let mut m = format!(
        "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: big\r\nContent-Type: text/plain\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    m.extend((0..body_len).map(|i| b'a' + (i % 26) as u8));
    m
}

#[test]
fn frame_sip_content_length_forms() {
    assert_eq!(frame_sip(INVITE, 4096), SipFraming::Complete(INVITE.len()));
    assert_eq!(frame_sip(OK, 4096), SipFraming::Complete(OK.len()));
    // No Content-Length: empty body; trailing bytes belong to the next message.
    let mut two = ACK.to_vec();
    two.extend_from_slice(OK);
    assert_eq!(frame_sip(&two, 4096), SipFraming::Complete(ACK.len()));
    // Compact form, odd case and spacing, bare LF line ends.
    let compact = b"SIP/2.0 200 OK\nCall-ID: 1\n  L  :   3 \n\nabcXYZ";
    assert_eq!(
        frame_sip(compact, 4096),
        SipFraming::Complete(compact.len() - 3)
    );
    let mixed = b"MESSAGE sip:a@b SIP/2.0\r\ncontent-LENGTH:2\r\n\r\nhi";
    assert_eq!(frame_sip(mixed, 4096), SipFraming::Complete(mixed.len()));
    // A header whose name merely ends in "l" is not Content-Length.
    let url = b"SIP/2.0 200 OK\r\nCall: 9\r\nl: 1\r\n\r\nxy";
    assert_eq!(frame_sip(url, 4096), SipFraming::Complete(url.len() - 1));
    // Malformed lengths.
    assert_eq!(
        frame_sip(b"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n", 4096),
        SipFraming::Invalid
    );
    assert_eq!(
        frame_sip(
            b"SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            4096
        ),
        SipFraming::Invalid
    );
    assert_eq!(
        frame_sip(b"SIP/2.0 200 OK\r\nl: -1\r\n\r\n", 4096),
        SipFraming::Invalid
    );
}

#[test]
fn frame_sip_incremental_and_invalid() {
    // Every proper prefix is Incomplete; the whole message is Complete.
    for n in 0..INVITE.len() {
        assert_eq!(
            frame_sip(&INVITE[..n], 4096),
            SipFraming::Incomplete,
            "prefix {n}"
        );
    }
    let big = sip_with_body(10_000);
    assert_eq!(frame_sip(&big[..5000], 4096), SipFraming::Incomplete);
    assert_eq!(frame_sip(&big, 4096), SipFraming::Complete(big.len()));
    assert_eq!(sip_total_len(&big[..200], 4096), Some(big.len()));
    // Not SIP.
    assert_eq!(
        frame_sip(b"GET / HTTP/1.1\r\n\r\n", 4096),
        SipFraming::Invalid
    );
    assert_eq!(frame_sip(b"\x00\x01\x02", 4096), SipFraming::Invalid);
    assert_eq!(frame_sip(b"\r\n\r\nINVITE", 4096), SipFraming::Invalid);
    // Oversized header block.
    let mut huge = b"SIP/2.0 200 OK\r\n".to_vec();
    huge.extend(
        std::iter::repeat_n(
            b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".as_slice(),
            200,
        )
        .flatten(),
    );
    assert_eq!(frame_sip(&huge, 1024), SipFraming::Invalid);
    assert_eq!(frame_sip(&huge, 64 * 1024), SipFraming::Incomplete);
    huge.extend_from_slice(b"\r\n");
    assert_eq!(
        frame_sip(&huge, 64 * 1024),
        SipFraming::Complete(huge.len())
    );
}

#[test]
fn keepalives_are_skipped_by_the_caller() {
    let mut buf = b"\r\n\r\n".to_vec();
    buf.extend_from_slice(OK);
    assert_eq!(keepalive_len(&buf), 4);
    assert_eq!(keepalive_len(b"\r\n"), 2);
    assert_eq!(keepalive_len(OK), 0);
    assert_eq!(frame_sip(&buf[4..], 4096), SipFraming::Complete(OK.len()));
}

#[test]
fn frame_sip_is_linear_on_large_buffers() {
    // A 4 MB buffer with no blank line: bounded by max_header_bytes, so this must be instant.
    let mut buf = b"SIP/2.0 200 OK\r\n".to_vec();
    buf.resize(4 << 20, b'a');
    let t = std::time::Instant::now();
    for _ in 0..100 {
        assert_eq!(frame_sip(&buf, 64 * 1024), SipFraming::Invalid);
    }
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn tls_record_detection() {
    assert_eq!(tls_record_version(&[0x16, 3, 1, 0, 0x50, 1]), Some(0x0301));
    assert_eq!(tls_record_version(&[0x17, 3, 3, 0x40, 0x00]), Some(0x0303));
    assert_eq!(tls_record_version(&[0x17, 3, 3, 0x48, 0x01]), None); // too long
    assert_eq!(tls_record_version(&[0x16, 3, 1, 0, 0]), None); // empty
    assert_eq!(tls_record_version(&[0x19, 3, 1, 0, 5]), None); // content type
    assert_eq!(tls_record_version(&[0x16, 2, 0, 0, 5]), None); // SSLv2-ish
    assert_eq!(tls_record_version(&[0x16, 3, 1, 0]), None); // short
    assert_eq!(tls_record_version(b"INVITE sip:a SIP/2.0\r\n"), None);
}

// ---------------------------------------------------------------------------------------------------------------
// TCP reassembly

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:5060";

#[derive(Default)]
struct Harness {
    r: TcpReassembler,
    out: Vec<AppMessage>,
    diags: Vec<Diagnostic>,
}

#[derive(Clone, Copy, Default)]
struct Flags {
    syn: bool,
    fin: bool,
    rst: bool,
    ack: Option<u32>,
}

impl Harness {
    fn with_limits(limits: TcpLimits) -> Self {
        Harness {
            r: TcpReassembler::new(limits),
            ..Default::default()
        }
    }

    fn seg_f(&mut self, frame: u64, src: &str, dst: &str, seq: u32, payload: &[u8], f: Flags) {
        let (src, dst) = (sa(src), sa(dst));
        let s = TcpSegment {
            src_port: src.port(),
            dst_port: dst.port(),
            seq,
            ack: f.ack.unwrap_or(0),
            syn: f.syn,
            fin: f.fin,
            rst: f.rst,
            ack_flag: f.ack.is_some(),
            payload: Cow::Borrowed(payload),
        };
        let meta = crate::model::PacketMeta {
            frame,
            ts_nanos: frame as i64 * 1000,
            src,
            dst,
        };
        self.r.push(meta, &s, &mut self.out, &mut self.diags);
    }

    /// Client → server data segment.
    fn c(&mut self, frame: u64, seq: u32, payload: &[u8]) {
        self.seg_f(frame, CLIENT, SERVER, seq, payload, Flags::default());
    }

    /// Server → client data segment.
    fn s(&mut self, frame: u64, seq: u32, payload: &[u8]) {
        self.seg_f(frame, SERVER, CLIENT, seq, payload, Flags::default());
    }

    fn datas(&self) -> Vec<&[u8]> {
        self.out.iter().map(|m| m.data.as_slice()).collect()
    }
}

#[test]
fn tcp_two_messages_in_one_segment() {
    let mut h = Harness::default();
    h.seg_f(
        1,
        CLIENT,
        SERVER,
        999,
        b"",
        Flags {
            syn: true,
            ..Default::default()
        },
    );
    let mut p = INVITE.to_vec();
    p.extend_from_slice(ACK);
    h.c(3, 1000, &p);
    assert_eq!(h.datas(), vec![INVITE, ACK]);
    for m in &h.out {
        assert_eq!(m.transport, Transport::Tcp);
        assert_eq!(m.frame, 3);
        assert_eq!(m.frames, vec![3]);
        assert_eq!((m.src, m.dst), (sa(CLIENT), sa(SERVER)));
        assert_eq!(m.ts_nanos, 3000);
    }
    assert!(h.diags.is_empty());
}

#[test]
fn tcp_one_message_over_five_segments_with_keepalives() {
    let mut h = Harness::default();
    let mut stream = b"\r\n\r\n".to_vec(); // RFC 5626 ping first
    stream.extend_from_slice(INVITE);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(OK);
    // INVITE split in 5 pieces, then the pong + OK.
    let cut = |i: usize| 4 + INVITE.len() * i / 5;
    let mut seq = 7u32;
    for i in 0..5 {
        let (a, b) = (if i == 0 { 0 } else { cut(i) }, cut(i + 1));
        h.c(10 + i as u64, seq, &stream[a..b]);
        seq += (b - a) as u32;
        if i < 4 {
            assert!(h.out.is_empty());
        }
    }
    assert_eq!(h.datas(), vec![INVITE]);
    assert_eq!(h.out[0].frames, vec![10, 11, 12, 13, 14]);
    assert_eq!(h.out[0].frame, 14);
    h.c(20, seq, &stream[cut(5)..]);
    assert_eq!(h.datas(), vec![INVITE, OK]);
    assert_eq!(h.out[1].frames, vec![20]);
    assert!(h.diags.is_empty());
}

#[test]
fn tcp_frames_list_only_the_message_bytes() {
    // Segment 1: INVITE head; segment 2: rest of INVITE + start of OK; segment 3: rest of OK.
    let mut h = Harness::default();
    let mut stream = INVITE.to_vec();
    stream.extend_from_slice(OK);
    let (a, b) = (INVITE.len() - 10, INVITE.len() + 10);
    h.c(1, 0, &stream[..a]);
    h.c(2, a as u32, &stream[a..b]);
    h.c(3, b as u32, &stream[b..]);
    assert_eq!(h.datas(), vec![INVITE, OK]);
    assert_eq!(h.out[0].frames, vec![1, 2]);
    assert_eq!(h.out[1].frames, vec![2, 3]);
    assert_eq!(h.out[1].frame, 3);
}

#[test]
fn tcp_out_of_order_segments() {
    let mut h = Harness::default();
    let mut stream = INVITE.to_vec();
    stream.extend_from_slice(OK);
    let (a, b) = (30usize, 80usize);
    h.c(1, 100, &stream[..a]);
    h.c(2, 100 + b as u32, &stream[b..]); // arrives early
    assert!(h.out.is_empty());
    h.c(3, 100 + a as u32, &stream[a..b]); // fills the gap
    assert_eq!(h.datas(), vec![INVITE, OK]);
    assert_eq!(h.out[0].frame, 3);
    assert_eq!(h.out[1].frames, vec![2]);
    assert_eq!(h.r.stats.bytes_skipped, 0);
    assert!(h.diags.is_empty());
}

#[test]
fn tcp_retransmission_counted_once_no_duplicate() {
    let mut h = Harness::default();
    h.c(1, 500, INVITE);
    h.s(2, 9000, OK);
    h.s(3, 9000, OK); // retransmitted 200 OK
    assert_eq!(h.datas(), vec![INVITE, OK]);
    assert_eq!(h.r.stats.retransmitted_segments, 1);
    // Partial overlap: the new bytes are used, the old ones trimmed.
    let mut more = OK[OK.len() - 5..].to_vec();
    more.extend_from_slice(OK);
    h.s(4, 9000 + OK.len() as u32 - 5, &more);
    assert_eq!(h.datas(), vec![INVITE, OK, OK]);
    assert_eq!(h.r.stats.retransmitted_segments, 2);
}

#[test]
fn tcp_sequence_wraparound() {
    let mut h = Harness::default();
    let mut stream = INVITE.to_vec();
    stream.extend_from_slice(OK);
    let start = u32::MAX - 20;
    h.seg_f(
        1,
        CLIENT,
        SERVER,
        start.wrapping_sub(1),
        b"",
        Flags {
            syn: true,
            ..Default::default()
        },
    );
    h.c(2, start, &stream[..40]);
    h.c(3, start.wrapping_add(40), &stream[40..90]);
    h.c(4, start.wrapping_add(40), &stream[40..90]); // retransmission across the wrap
    h.c(5, start.wrapping_add(90), &stream[90..]);
    assert_eq!(h.datas(), vec![INVITE, OK]);
    assert_eq!(h.r.stats.retransmitted_segments, 1);
}

#[test]
fn tcp_gap_skip_and_resync_via_out_of_order_limit() {
    let mut h = Harness::with_limits(TcpLimits {
        max_out_of_order: 2,
        ..Default::default()
    });
    // Stream: INVITE | OK | ACK | OK. The segment carrying the end of INVITE and start of OK is lost.
    let mut stream = INVITE.to_vec();
    stream.extend_from_slice(OK);
    stream.extend_from_slice(ACK);
    stream.extend_from_slice(OK);
    let lost = (40usize, INVITE.len() + 10);
    let after = lost.1;
    h.c(1, 0, &stream[..lost.0]);
    let rest = &stream[after..];
    let third = rest.len() / 3;
    h.c(3, after as u32, &rest[..third]);
    h.c(4, (after + third) as u32, &rest[third..2 * third]);
    assert!(h.out.is_empty());
    h.c(5, (after + 2 * third) as u32, &rest[2 * third..]); // third held segment: over the limit
    assert_eq!(h.datas(), vec![ACK, OK]);
    assert_eq!(
        h.r.stats.bytes_skipped as usize,
        stream.len() - ACK.len() - OK.len()
    );
    let d = h.diags.iter().find(|d| d.layer == Layer::Tcp).unwrap();
    assert_eq!(d.level, DiagLevel::Warning);
    assert_eq!(d.frame, Some(5));
}

#[test]
fn tcp_gap_skip_when_peer_acknowledged_it() {
    let mut h = Harness::default();
    h.c(1, 0, &INVITE[..20]);
    // The rest of the INVITE is missing from the capture; an OK follows in the next segment.
    let after = INVITE.len() as u32;
    h.c(3, after, OK);
    assert!(h.out.is_empty());
    // The server acknowledges everything: the gap will never be filled.
    h.seg_f(
        4,
        SERVER,
        CLIENT,
        1,
        b"",
        Flags {
            ack: Some(after + OK.len() as u32),
            ..Default::default()
        },
    );
    assert_eq!(h.datas(), vec![OK]);
    assert_eq!(h.out[0].frame, 3); // attributed to its own frame, not the ACK
    assert_eq!(h.r.stats.bytes_skipped as usize, INVITE.len());
    assert!(
        h.diags
            .iter()
            .any(|d| d.layer == Layer::Tcp && d.frame == Some(4))
    );
    // Later data with the ACK already known is skipped immediately.
    h.c(5, after + OK.len() as u32 + 100, ACK);
    h.seg_f(
        6,
        SERVER,
        CLIENT,
        1,
        b"",
        Flags {
            ack: Some(after + 500),
            ..Default::default()
        },
    );
    assert_eq!(h.datas(), vec![OK, ACK]);
}

#[test]
fn tcp_capture_started_mid_stream_resyncs() {
    let mut h = Harness::default();
    let mut p = b"tail of a body from before the capture\r\n".to_vec();
    p.extend_from_slice(OK);
    h.c(1, 12345, &p);
    // The direction started with unknown bytes; a later segment starting with SIP is picked up.
    assert!(h.out.is_empty());
    h.c(2, 12345 + p.len() as u32, INVITE);
    assert_eq!(h.datas(), vec![INVITE]);
}

#[test]
fn tcp_garbage_inside_sip_stream_resyncs_on_next_start_line() {
    let mut h = Harness::default();
    let mut p = OK.to_vec();
    p.extend_from_slice(b"\x00\x01garbage line\r\nmore junk\r\n");
    p.extend_from_slice(INVITE);
    h.c(1, 0, &p);
    assert_eq!(h.datas(), vec![OK, INVITE]);
    assert!(h.r.stats.bytes_skipped > 0);
    assert!(h.diags.iter().any(|d| d.layer == Layer::Tcp));
}

#[test]
fn tcp_many_invalid_messages_stay_linear() {
    // ~1 MB of start lines with malformed Content-Length in one stream, fed in 1 KB and 64 KB segments: every
    // message is invalid and must be skipped without rescanning the buffer for each (no quadratic behaviour).
    let bad = b"INVITE sip:a@b SIP/2.0\r\nl: x\r\n\r\n";
    let stream: Vec<u8> = bad.iter().copied().cycle().take(1_000_000).collect();
    let t = std::time::Instant::now();
    for size in [1024, 65_536] {
        let mut h = Harness::default();
        let mut seq = 0u32;
        for (i, chunk) in stream.chunks(size).enumerate() {
            h.c(i as u64 + 1, seq, chunk);
            seq += chunk.len() as u32;
        }
        h.c(10_000, seq, OK);
        assert_eq!(h.datas(), vec![OK]);
        assert!(h.r.stats.bytes_skipped >= 990_000);
    }
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}

#[test]
fn tcp_many_small_segments_one_big_message() {
    // A 200 KB message in 1-byte segments: per-segment work must not grow with the buffered bytes.
    let msg = sip_with_body(200_000);
    let t = std::time::Instant::now();
    let mut h = Harness::default();
    for (i, b) in msg.iter().enumerate() {
        h.c(i as u64 + 1, i as u32, std::slice::from_ref(b));
    }
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].frames.len(), msg.len());
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}

#[test]
fn tcp_flow_limit_evicts_least_recently_used() {
    let mut h = Harness::with_limits(TcpLimits {
        max_flows: 2,
        ..Default::default()
    });
    h.seg_f(
        1,
        "10.0.0.1:1000",
        SERVER,
        0,
        &INVITE[..30],
        Flags::default(),
    );
    h.seg_f(
        2,
        "10.0.0.2:1000",
        SERVER,
        0,
        &INVITE[..30],
        Flags::default(),
    );
    h.seg_f(
        3,
        "10.0.0.1:1000",
        SERVER,
        30,
        &INVITE[30..40],
        Flags::default(),
    ); // touch flow 1
    h.seg_f(4, "10.0.0.3:1000", SERVER, 0, OK, Flags::default()); // evicts flow 2
    assert_eq!(h.r.flow_count(), 2);
    assert!(
        h.diags
            .iter()
            .any(|d| d.message.contains("10.0.0.2:1000") && d.frame == Some(4))
    );
    h.seg_f(
        5,
        "10.0.0.1:1000",
        SERVER,
        40,
        &INVITE[40..],
        Flags::default(),
    );
    assert_eq!(h.datas(), vec![OK, INVITE]);
    assert_eq!(h.out[1].frames, vec![1, 3, 5]);
}

#[test]
fn tcp_large_body_64k() {
    let mut h = Harness::default();
    let msg = sip_with_body(65_536);
    let mut seq = 1u32;
    for (i, chunk) in msg.chunks(16_384).enumerate() {
        h.c(i as u64 + 1, seq, chunk);
        seq += chunk.len() as u32;
    }
    let n = msg.len().div_ceil(16_384) as u64;
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].data, msg);
    assert_eq!(h.out[0].frame, n);
    assert_eq!(h.out[0].frames, (1..=n).collect::<Vec<_>>());
}

#[test]
fn tcp_buffer_limit_flushes_with_diagnostic() {
    let mut h = Harness::with_limits(TcpLimits {
        max_buffer_bytes: 4096,
        ..Default::default()
    });
    let big = sip_with_body(10_000);
    let mut seq = 0u32;
    for (i, chunk) in big.chunks(1000).enumerate() {
        h.c(i as u64 + 1, seq, chunk);
        seq += chunk.len() as u32;
    }
    h.c(100, seq, OK);
    assert_eq!(h.datas(), vec![OK]);
    assert!(h.diags.iter().any(|d| d.message.contains("buffer limit")));
    assert!(h.r.stats.bytes_skipped >= 4000);
}

#[test]
fn tcp_fin_and_finish_report_partial_messages() {
    let mut h = Harness::default();
    h.c(1, 0, &INVITE[..50]);
    h.s(2, 0, &OK[..10]);
    h.seg_f(
        3,
        CLIENT,
        SERVER,
        50,
        b"",
        Flags {
            fin: true,
            ..Default::default()
        },
    );
    assert_eq!(h.diags.len(), 1);
    assert_eq!(h.diags[0].frame, Some(3));
    // Retransmission after FIN: counted, nothing emitted.
    h.c(4, 0, &INVITE[..50]);
    assert_eq!(h.r.stats.retransmitted_segments, 1);
    let mut diags = Vec::new();
    h.r.finish(&mut diags);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].frame, Some(2));
    assert!(diags[0].message.contains(SERVER));
    assert!(h.out.is_empty());
}

#[test]
fn tcp_new_connection_on_same_ports_after_syn() {
    let mut h = Harness::default();
    h.seg_f(
        1,
        CLIENT,
        SERVER,
        99,
        b"",
        Flags {
            syn: true,
            ..Default::default()
        },
    );
    h.c(2, 100, INVITE);
    h.seg_f(
        3,
        CLIENT,
        SERVER,
        5000,
        b"",
        Flags {
            syn: true,
            ..Default::default()
        },
    );
    h.c(4, 5001, INVITE);
    assert_eq!(h.out.len(), 2);
    assert_eq!(h.r.stats.retransmitted_segments, 0);
}

const WS_REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: proxy\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
const WS_RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";

#[test]
fn websocket_upgrade_then_sip_end_to_end() {
    let mut h = Harness::default();
    h.c(1, 0, WS_REQ);
    h.s(2, 0, WS_RESP);
    let mut c = WS_REQ.len() as u32;
    // Masked client INVITE in one text frame, split over two segments.
    let f = build_frame(true, websocket::OP_TEXT, INVITE, Some([1, 2, 3, 4]));
    h.c(3, c, &f[..20]);
    h.c(4, c + 20, &f[20..]);
    c += f.len() as u32;
    // Unmasked server reply in a binary frame, preceded by a ping (control frames are ignored).
    let mut p = build_frame(true, websocket::OP_PING, b"x", None);
    p.extend(build_frame(true, websocket::OP_BINARY, OK, None));
    h.s(5, WS_RESP.len() as u32, &p);
    // A fragmented client ACK: text (no FIN) + continuation + continuation(FIN), with a pong in between.
    let mut p = build_frame(false, websocket::OP_TEXT, &ACK[..10], Some([9, 8, 7, 6]));
    p.extend(build_frame(
        false,
        websocket::OP_CONTINUATION,
        &ACK[10..20],
        Some([5, 5, 5, 5]),
    ));
    p.extend(build_frame(
        true,
        websocket::OP_PONG,
        b"",
        Some([1, 1, 1, 1]),
    ));
    let p2 = build_frame(
        true,
        websocket::OP_CONTINUATION,
        &ACK[20..],
        Some([0, 0, 0, 1]),
    );
    h.c(6, c, &p);
    h.c(7, c + p.len() as u32, &p2);
    assert_eq!(h.datas(), vec![INVITE, OK, ACK]);
    assert!(h.out.iter().all(|m| m.transport == Transport::Ws));
    assert_eq!(h.out[0].frames, vec![3, 4]);
    assert_eq!(h.out[2].frames, vec![6, 7]);
    assert_eq!(h.out[2].frame, 7);
    assert_eq!(h.r.stats.websocket_frames, 7);
    assert!(h.diags.is_empty(), "{:?}", h.diags);
}

#[test]
fn websocket_sixteen_and_sixty_four_bit_frames_through_tcp() {
    let mut h = Harness::default();
    h.s(1, 0, WS_RESP);
    let m16 = sip_with_body(1000);
    let m64 = sip_with_body(70_000);
    let mut p = build_frame(true, websocket::OP_TEXT, &m16, None);
    p.extend(build_frame(true, websocket::OP_TEXT, &m64, None));
    let mut seq = WS_RESP.len() as u32;
    for (i, chunk) in p.chunks(1448).enumerate() {
        h.s(2 + i as u64, seq, chunk);
        seq += chunk.len() as u32;
    }
    assert_eq!(h.datas(), vec![m16.as_slice(), m64.as_slice()]);
}

#[test]
fn websocket_recognised_when_capture_missed_the_upgrade() {
    let mut h = Harness::default();
    let f1 = build_frame(true, websocket::OP_TEXT, INVITE, Some([7, 7, 7, 7]));
    let f2 = build_frame(true, websocket::OP_TEXT, ACK, Some([1, 2, 3, 4]));
    h.c(1, 5000, &f1);
    h.c(2, 5000 + f1.len() as u32, &f2);
    assert_eq!(h.datas(), vec![INVITE, ACK]);
    assert!(h.out.iter().all(|m| m.transport == Transport::Ws));
    // Also after unrelated bytes first.
    let mut h = Harness::default();
    h.s(1, 0, &[0x82, 3, 1, 2, 3]);
    let f3 = build_frame(true, websocket::OP_BINARY, OK, None);
    h.s(2, 5, &f3);
    assert_eq!(h.datas(), vec![OK]);
}

#[test]
fn http_without_upgrade_is_ignored() {
    let mut h = Harness::default();
    h.c(1, 0, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    h.s(2, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    assert!(h.out.is_empty());
    assert_eq!(h.r.stats.websocket_frames, 0);
}

#[test]
fn tls_streams_counted_not_decoded() {
    let mut h = Harness::default();
    h.seg_f(
        1,
        CLIENT,
        "10.0.0.2:5061",
        0,
        b"",
        Flags {
            syn: true,
            ..Default::default()
        },
    );
    let mut hello = vec![0x16, 3, 1, 0, 4, 1, 0, 0, 0];
    hello.extend_from_slice(&[0x17, 3, 3, 0, 3]); // record split over segments
    h.seg_f(2, CLIENT, "10.0.0.2:5061", 1, &hello, Flags::default());
    h.seg_f(
        3,
        CLIENT,
        "10.0.0.2:5061",
        1 + hello.len() as u32,
        b"abc",
        Flags::default(),
    );
    h.seg_f(
        4,
        "10.0.0.2:5061",
        CLIENT,
        77,
        &[0x17, 3, 3, 0, 2, 0xaa, 0xbb],
        Flags::default(),
    );
    assert!(h.out.is_empty());
    assert_eq!(h.r.stats.tls_records, 3);
    assert_eq!(
        h.r.tls_connections(),
        vec![(sa(CLIENT), sa("10.0.0.2:5061"), 0x0301)]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// No panics on any input

use crate::testutil::XorShift;

fn mutate(rng: &mut XorShift, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = rng.next() as u8;
            }
            1 if !d.is_empty() => {
                let i = rng.below(d.len());
                d.truncate(i);
            }
            2 => {
                let i = rng.below(d.len() + 1);
                d.insert(
                    i,
                    [b'\r', b'\n', b':', b' ', 0xff, 0x7e, b'0'][rng.below(7)],
                );
            }
            _ if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 0x80;
            }
            _ => {}
        }
    }
    d
}

#[test]
fn no_panic_on_prefixes_and_mutations() {
    let mut ws_stream = WS_REQ.to_vec();
    ws_stream.extend(build_frame(
        true,
        websocket::OP_TEXT,
        INVITE,
        Some([1, 2, 3, 4]),
    ));
    ws_stream.extend(build_frame(false, websocket::OP_TEXT, OK, None));
    ws_stream.extend(build_frame(true, websocket::OP_CONTINUATION, ACK, None));
    let mut sip_stream = b"\r\n\r\n".to_vec();
    sip_stream.extend_from_slice(INVITE);
    sip_stream.extend_from_slice(OK);
    sip_stream.extend_from_slice(b"SIP/2.0 180 Ringing\nl: 2\n\nab");
    let mut sctp_pkt = vec![0u8, 3, 0, (16 + OK.len()) as u8];
    sctp_pkt.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    sctp_pkt.extend_from_slice(OK);
    let tls = [0x16u8, 3, 1, 0, 2, 1, 1, 0x17, 3, 3, 0, 1, 9];
    let stun_stream = turn_stream();
    let inputs: [&[u8]; 5] = [&ws_stream, &sip_stream, &sctp_pkt, &tls, &stun_stream];

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let limits = TcpLimits {
        max_flows: 4,
        max_buffer_bytes: 300,
        max_out_of_order: 3,
        max_header_bytes: 200,
        max_total_buffer_bytes: 900,
    };
    let mut tcp = TcpReassembler::new(limits);
    let mut sctp = SctpReassembler::default();
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let mut frame = 0u64;
    for input in inputs {
        let mut cases: Vec<Vec<u8>> = (0..=input.len()).map(|n| input[..n].to_vec()).collect();
        cases.extend((0..600).map(|_| mutate(&mut rng, input)));
        for case in &cases {
            let _ = starts_like_sip(case);
            let _ = frame_sip(case, 200);
            let _ = sip_total_len(case, 200);
            let _ = tls_record_version(case);
            let mut f = None;
            let _ = websocket::parse_frame(case, 500, &mut f);
            frame += 1;
            let src = sa(&format!("10.0.0.{}:{}", rng.below(3), 1000 + rng.below(3)));
            let dst = sa(SERVER);
            let meta = crate::model::PacketMeta {
                frame,
                ts_nanos: 0,
                src,
                dst,
            };
            sctp.push(meta, case, &mut out, &mut diags);
            // Feed the case as segments with random sizes, sequence numbers and flags.
            let mut seq = rng.next() as u32;
            let mut rest = case.as_slice();
            while !rest.is_empty() || rng.below(3) == 0 {
                let n = rng.below(rest.len() + 1);
                let (chunk, tail) = rest.split_at(n);
                let jitter = match rng.below(6) {
                    0 => rng.below(40) as u32,
                    1 => 0u32.wrapping_sub(rng.below(40) as u32),
                    _ => 0,
                };
                let s = TcpSegment {
                    src_port: src.port(),
                    dst_port: dst.port(),
                    seq: seq.wrapping_add(jitter),
                    ack: rng.next() as u32,
                    syn: rng.below(20) == 0,
                    fin: rng.below(20) == 0,
                    rst: rng.below(40) == 0,
                    ack_flag: rng.below(2) == 0,
                    payload: Cow::Borrowed(chunk),
                };
                frame += 1;
                let meta = crate::model::PacketMeta {
                    frame,
                    ts_nanos: 0,
                    src,
                    dst,
                };
                tcp.push(meta, &s, &mut out, &mut diags);
                let s = TcpSegment {
                    payload: Cow::Borrowed(&[]),
                    ..s
                };
                let meta = crate::model::PacketMeta {
                    frame,
                    ts_nanos: 0,
                    src: dst,
                    dst: src,
                };
                tcp.push(meta, &s, &mut out, &mut diags);
                seq = seq.wrapping_add(n as u32);
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            out.clear();
            diags.clear();
        }
        assert!(tcp.flow_count() <= 4);
    }
    tcp.finish(&mut diags);
}

// ---------------------------------------------------------------------------------------------------------------
// Real captures (read-only, `../shared/captures` beside the checkout), read with the real capture and net stages.

#[derive(Default)]
struct CaptureResult {
    tcp: Vec<AppMessage>,
    udp_sip: usize,
    sctp: Vec<AppMessage>,
    diags: Vec<Diagnostic>,
    stats: super::tcp::TcpStats,
    tls: Vec<(SocketAddr, SocketAddr, u16)>,
    /// (frame, payload) of every UDP datagram.
    udp: Vec<(u64, Vec<u8>)>,
}

/// Run a capture through the transport stage (IP fragments are not needed by these captures and are skipped).
fn run_capture(name: &str) -> Option<CaptureResult> {
    let path = crate::testutil::captures_dir().join(name);
    let file = crate::capture::CaptureFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = file.frames().unwrap_or_else(|e| panic!("{e}"));
    let mut r = TcpReassembler::default();
    let mut sctp = SctpReassembler::default();
    let mut res = CaptureResult::default();
    while let Some(f) = reader.next_frame() {
        let crate::net::NetOutcome::Packet(p) = crate::net::decode_frame(f.link_type, &f.data)
        else {
            continue;
        };
        match &p.l4 {
            crate::net::L4::Tcp(seg) => {
                let (src, dst) = (
                    SocketAddr::new(p.src, seg.src_port),
                    SocketAddr::new(p.dst, seg.dst_port),
                );
                let meta = crate::model::PacketMeta {
                    frame: f.number,
                    ts_nanos: f.ts_nanos,
                    src,
                    dst,
                };
                r.push(meta, seg, &mut res.tcp, &mut res.diags);
            }
            crate::net::L4::Udp { payload, .. } => {
                if starts_like_sip(payload) {
                    res.udp_sip += 1;
                }
                res.udp.push((f.number, payload.to_vec()));
            }
            crate::net::L4::Sctp {
                src_port,
                dst_port,
                chunks,
            } => {
                let (src, dst) = (
                    SocketAddr::new(p.src, *src_port),
                    SocketAddr::new(p.dst, *dst_port),
                );
                let meta = crate::model::PacketMeta {
                    frame: f.number,
                    ts_nanos: f.ts_nanos,
                    src,
                    dst,
                };
                sctp.push(meta, chunks, &mut res.sctp, &mut res.diags);
            }
            _ => {}
        }
    }
    r.finish(&mut res.diags);
    res.stats = r.stats.clone();
    res.tls = r.tls_connections();
    Some(res)
}

fn frames_of(msgs: &[AppMessage]) -> Vec<u64> {
    msgs.iter().map(|m| m.frame).collect()
}

#[test]
fn capture_sip_ipv4_tcp() {
    let Some(res) = run_capture("sip_ipv4_tcp.pcap") else {
        return;
    };
    assert_eq!(res.tcp.len() + res.udp_sip, 7);
    assert_eq!(res.tcp.len(), 7);
    assert!(
        res.tcp
            .iter()
            .all(|m| frame_sip(&m.data, 64 * 1024) == SipFraming::Complete(m.data.len()))
    );
    assert!(res.diags.is_empty(), "{:?}", res.diags);
}

#[test]
fn capture_sip_ipv4_tcp_retrans() {
    let Some(res) = run_capture("sip_ipv4_tcp_retrans.pcap") else {
        return;
    };
    // TShark: 8 SIP messages, frames 28, 32, 33, 36 over TCP; the retransmitted 200 OK (frame 38) is not one.
    assert_eq!(res.tcp.len() + res.udp_sip, 8);
    assert_eq!(frames_of(&res.tcp), vec![28, 32, 33, 36]);
    assert!(res.stats.retransmitted_segments >= 1);
    assert!(res.stats.tls_records > 0);
    assert!(
        !res.tls.is_empty() && res.tls.iter().all(|t| t.1.port() == 443),
        "{:?}",
        res.tls
    );
}

#[test]
fn capture_sip_body_large() {
    let Some(res) = run_capture("sip-body-large.pcap") else {
        return;
    };
    assert_eq!(res.tcp.len() + res.udp_sip, 2);
    assert_eq!(res.tcp.len(), 2);
    let invite = res
        .tcp
        .iter()
        .find(|m| m.data.starts_with(b"INVITE"))
        .unwrap();
    assert_eq!(invite.data.len(), 65_793);
    assert!(invite.frames.len() >= 5);
    assert_eq!(invite.frames.last(), Some(&invite.frame));
    assert!(res.diags.is_empty(), "{:?}", res.diags);
}

#[test]
fn capture_sip_tcp_websocket() {
    let Some(res) = run_capture("sip_tcp_websocket.pcap") else {
        return;
    };
    assert_eq!(res.tcp.len() + res.udp_sip, 39);
    assert!(res.tcp.iter().all(|m| m.transport == Transport::Ws));
    assert_eq!(
        frames_of(&res.tcp),
        vec![11, 13, 15, 18, 19, 24, 34, 46, 49, 52, 56]
    );
    assert!(res.stats.websocket_frames >= 11);
    assert_eq!(res.udp_sip, 28);
    assert!(res.diags.is_empty(), "{:?}", res.diags);
}

#[test]
fn capture_sip_sctp() {
    let Some(res) = run_capture("sip_sctp.pcap") else {
        return;
    };
    assert_eq!(res.sctp.len() + res.udp_sip, 4);
    assert!(res.sctp.iter().all(|m| m.transport == Transport::Sctp));
    assert!(res.diags.is_empty(), "{:?}", res.diags);
}

#[test]
fn capture_tlssaved() {
    let Some(res) = run_capture("tlssaved.pcap") else {
        return;
    };
    // SIP over TLS without handshake: recognised, counted, never decoded.
    assert!(res.tcp.is_empty());
    assert!(res.stats.tls_records >= 12);
    let servers: Vec<u16> = res.tls.iter().map(|t| t.1.port()).collect();
    assert!(
        !servers.is_empty() && servers.iter().all(|&p| p == 5061),
        "{:?}",
        res.tls
    );
    assert!(res.tls.iter().all(|t| t.2 == 0x0301));
}

// ---------------------------------------------------------------------------------------------------------------
// STUN/TURN over TCP (RFC 6544 / RFC 8656)

use crate::media::demux::{self, PayloadClass, StunClass};

/// A STUN message: type, transaction id byte, attributes (padded with zeros).
fn stun_msg(msg_type: u16, tid: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
    }
    let mut m = msg_type.to_be_bytes().to_vec();
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
    m.extend_from_slice(&[tid; 12]);
    m.extend_from_slice(&body);
    m
}

/// ChannelData as sent over TCP: header, data, zero padding to a multiple of 4.
fn channel_data_tcp(channel: u16, data: &[u8]) -> Vec<u8> {
    let mut f = channel.to_be_bytes().to_vec();
    f.extend_from_slice(&(data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    while !f.len().is_multiple_of(4) {
        f.push(0);
    }
    f
}

/// An RTP packet (version 2, PT 0) of `len` bytes with the given SSRC and sequence number.
fn rtp(ssrc: u32, seq: u16, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 160]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.resize(len.max(12), 0xd5);
    p
}

/// (SSRC, sequence number) of an RTP header.
fn rtp_id(p: &[u8]) -> (u32, u16) {
    (
        u32::from_be_bytes(p[8..12].try_into().unwrap()),
        u16::from_be_bytes(p[2..4].try_into().unwrap()),
    )
}

/// Allocate request, Channel-Bind request, then ChannelData frames of odd sizes (padded).
fn turn_stream() -> Vec<u8> {
    let mut s = stun_msg(0x0003, 1, &[(0x0019, &[17, 0, 0, 0])]);
    s.extend(stun_msg(
        0x0009,
        2,
        &[
            (0x000C, &[0x40, 0x00, 0, 0]),
            (0x0012, &[0, 1, 0x25, 0xf9, 0x2b, 0x1f, 0xa4, 0x70]),
        ],
    ));
    for (i, len) in [13usize, 172, 31, 12].into_iter().enumerate() {
        s.extend(channel_data_tcp(
            0x4000,
            &rtp(0x1234_5678, 100 + i as u16, len),
        ));
    }
    s
}

#[test]
fn stun_over_tcp_messages_and_channel_data_any_segmentation() {
    let stream = turn_stream();
    // Every split into two segments, and segments of 7 bytes.
    let mut splits: Vec<Vec<usize>> = (0..=stream.len()).map(|i| vec![i]).collect();
    splits.push((7..stream.len()).step_by(7).collect());
    for cuts in splits {
        let mut h = Harness::default();
        let mut prev = 0;
        for (i, &cut) in cuts.iter().chain([stream.len()].iter()).enumerate() {
            h.c(i as u64 + 1, prev as u32, &stream[prev..cut]);
            prev = cut;
        }
        assert_eq!(h.out.len(), 6, "cuts {cuts:?}");
        assert!(
            h.out
                .iter()
                .all(|m| m.proto == AppProto::Stun && m.transport == Transport::Tcp)
        );
        assert_eq!(h.r.stats.stun_frames, 6);
        let alloc = demux::parse_stun(&h.out[0].data).unwrap();
        assert_eq!((alloc.class, alloc.method), (StunClass::Request, 0x003));
        let bind = demux::parse_stun(&h.out[1].data).unwrap();
        assert_eq!(bind.channel, Some(0x4000));
        assert_eq!(bind.peer, Some(sa("10.13.0.50:1259")));
        // ChannelData: padding removed, RTP inside.
        let lens: Vec<usize> = h.out[2..].iter().map(|m| m.data.len()).collect();
        assert_eq!(lens, vec![4 + 13, 4 + 172, 4 + 31, 4 + 12]);
        for (i, m) in h.out[2..].iter().enumerate() {
            let cd = demux::parse_channel_data(&m.data).unwrap();
            assert_eq!(cd.channel, 0x4000);
            assert_eq!(demux::classify(cd.data), PayloadClass::Rtp);
            assert_eq!(rtp_id(cd.data), (0x1234_5678, 100 + i as u16));
        }
        assert!(h.diags.is_empty(), "{:?}", h.diags);
        assert_eq!(h.r.stats.bytes_skipped, 0);
    }
}

#[test]
fn stun_over_tcp_frames_and_retransmission() {
    let a = stun_msg(0x0001, 7, &[]);
    let b = channel_data_tcp(0x4001, &rtp(1, 1, 21));
    let mut h = Harness::default();
    let mut seg = a.clone();
    seg.extend_from_slice(&b[..10]);
    h.c(1, 0, &seg);
    // Retransmission of the first segment, then the rest of the ChannelData frame.
    h.c(2, 0, &seg);
    h.c(3, seg.len() as u32, &b[10..]);
    assert_eq!(h.datas(), vec![&a[..], &b[..25]]);
    assert_eq!(frames_of(&h.out), vec![1, 3]);
    assert_eq!(h.out[1].frames, vec![1, 3]);
    assert_eq!(h.r.stats.retransmitted_segments, 1);
    assert_eq!(h.r.stats.stun_frames, 2);
}

#[test]
fn channel_data_first_needs_a_plausible_next_frame() {
    let f1 = channel_data_tcp(0x4000, &rtp(9, 1, 40));
    let f2 = channel_data_tcp(0x4000, &rtp(9, 2, 40));
    let mut h = Harness::default();
    // One whole frame is not enough to call the stream TURN.
    h.c(1, 0, &f1);
    assert!(h.out.is_empty());
    h.c(2, f1.len() as u32, &f2[..8]);
    assert_eq!(h.datas(), vec![&f1[..]]);
    h.c(3, (f1.len() + 8) as u32, &f2[8..]);
    assert_eq!(h.datas(), vec![&f1[..], &f2[..]]);
    assert!(h.out.iter().all(|m| m.proto == AppProto::Stun));

    // A ChannelData-looking header followed by something that is not a frame: not TURN.
    let mut h = Harness::default();
    let mut bad = f1.clone();
    bad.extend_from_slice(&[0xff; 8]);
    h.c(1, 0, &bad);
    h.c(2, bad.len() as u32, &stun_msg(0x0001, 1, &[]));
    assert!(h.out.is_empty());
    assert_eq!(h.r.stats.stun_frames, 0);

    // Text lines starting with ChannelData-range bytes ('@'-'\x7f') are not TURN.
    let mut h = Harness::default();
    h.c(1, 0, b"Hello there\r\n");
    h.c(2, 13, INVITE);
    assert_eq!(h.datas(), vec![INVITE]);
    assert_eq!(h.out[0].proto, AppProto::Sip);
}

#[test]
fn stun_over_tcp_garbage_resyncs_on_next_message() {
    let a = stun_msg(0x0016, 1, &[(0x0013, b"abc")]);
    let b = stun_msg(0x0017, 2, &[(0x0013, b"defg")]);
    let mut h = Harness::default();
    let mut seg = a.clone();
    seg.extend_from_slice(&[0xee; 13]);
    seg.extend_from_slice(&b);
    h.c(1, 0, &seg);
    assert_eq!(h.datas(), vec![&a[..], &b[..]]);
    assert_eq!(h.r.stats.bytes_skipped, 13);
    assert_eq!(h.diags.len(), 1);
    assert!(
        h.diags[0].message.contains("does not frame as STUN"),
        "{:?}",
        h.diags
    );
    assert_eq!(
        demux::parse_stun(&h.out[1].data).unwrap().data,
        Some(&b"defg"[..])
    );
}

#[test]
fn stun_over_tcp_gap_resyncs_on_channel_data_segment() {
    let a = stun_msg(0x0001, 1, &[]);
    let f1 = channel_data_tcp(0x4000, &rtp(5, 1, 30));
    let f2 = channel_data_tcp(0x4000, &rtp(5, 2, 30));
    let f3 = channel_data_tcp(0x4000, &rtp(5, 3, 30));
    let mut h = Harness::default();
    h.c(1, 0, &a);
    // f1 is missing from the capture; the peer acknowledges past it.
    let mut tail = f2.clone();
    tail.extend_from_slice(&f3);
    let s2 = (a.len() + f1.len()) as u32;
    h.c(3, s2, &tail);
    h.seg_f(
        4,
        SERVER,
        CLIENT,
        0,
        b"",
        Flags {
            ack: Some(s2 + tail.len() as u32),
            ..Default::default()
        },
    );
    assert_eq!(h.datas(), vec![&a[..], &f2[..34], &f3[..34]]);
    assert_eq!(h.r.stats.bytes_skipped, f1.len() as u64);
    assert!(
        h.diags
            .iter()
            .any(|d| d.message.contains("missing from the capture"))
    );
}

#[test]
fn stun_over_tcp_gives_up_on_endless_garbage() {
    let mut h = Harness::with_limits(TcpLimits {
        max_buffer_bytes: 1000,
        ..Default::default()
    });
    let a = stun_msg(0x0001, 1, &[]);
    h.c(1, 0, &a);
    let mut seq = a.len() as u32;
    // More than the largest possible frame (and the 1000-byte buffer limit) without a STUN message: 7 bytes are
    // kept between segments (a STUN header may be split), so 393 + 400 * i bytes are skipped after segment i.
    for i in 0..170u64 {
        let junk = vec![0xaa; 400];
        h.c(2 + i, seq, &junk);
        seq += 400;
        let gave_up = h
            .diags
            .iter()
            .filter(|d| d.message.contains("rest of the stream ignored"))
            .count();
        assert_eq!(gave_up, usize::from(i >= 163), "segment {i}");
    }
    assert_eq!(h.datas(), vec![&a[..]]);
    assert!(
        h.diags
            .iter()
            .any(|d| d.message.contains("rest of the stream ignored")),
        "{:?}",
        h.diags
    );
    // Ignored from then on, even for STUN; SIP still switches the stream back.
    h.c(200, seq, &a);
    assert_eq!(h.out.len(), 1);
    h.c(201, seq + a.len() as u32, OK);
    assert_eq!(h.datas(), vec![&a[..], OK]);
}

#[test]
fn stun_over_tcp_buffer_limit() {
    let mut h = Harness::with_limits(TcpLimits {
        max_buffer_bytes: 500,
        ..Default::default()
    });
    let small = stun_msg(0x0001, 1, &[]);
    let big = channel_data_tcp(0x4000, &rtp(1, 1, 1200));
    let mut seq = 0u32;
    h.c(1, seq, &small);
    seq += small.len() as u32;
    for (i, chunk) in big.chunks(300).enumerate() {
        h.c(2 + i as u64, seq, chunk);
        seq += chunk.len() as u32;
    }
    h.c(20, seq, &small);
    assert_eq!(h.datas(), vec![&small[..], &small[..]], "{:?}", h.diags);
    assert!(h.diags.iter().any(|d| d.message.contains("buffer limit")));
    assert!(h.r.stats.bytes_skipped >= 900);
}

#[test]
fn stun_over_tcp_fin_reports_partial_frame() {
    let a = stun_msg(0x0001, 1, &[(0x0006, b"user")]);
    let mut h = Harness::default();
    h.c(1, 0, &a[..a.len() - 3]);
    h.seg_f(
        2,
        CLIENT,
        SERVER,
        (a.len() - 3) as u32,
        b"",
        Flags {
            fin: true,
            ..Default::default()
        },
    );
    assert!(h.out.is_empty());
    assert!(
        h.diags.iter().any(|d| d
            .message
            .contains(&format!("{} bytes of an incomplete", a.len() - 3))),
        "{:?}",
        h.diags
    );
}

/// TShark (`-Y 'tcp && stun' -e frame.number -e tcp.srcport -e stun.type`): the STUN messages of the TURN-over-TCP
/// connection 192.168.12.182:50221 <-> 142.250.82.249:3478, one per segment, none retransmitted.
const TSHARK_CLIENT_STUN: [(u64, u16); 15] = [
    (44, 0x0003),
    (47, 0x0003),
    (51, 0x0008),
    (52, 0x0016),
    (53, 0x0016),
    (58, 0x0009),
    (59, 0x0016),
    (61, 0x0016),
    (65, 0x0016),
    (69, 0x0016),
    (72, 0x0016),
    (77, 0x0016),
    (80, 0x0016),
    (90, 0x0016),
    (91, 0x0009),
];
const TSHARK_SERVER_STUN: [(u64, u16); 24] = [
    (46, 0x0113),
    (48, 0x0103),
    (50, 0x0017),
    (54, 0x0108),
    (57, 0x0017),
    (63, 0x0017),
    (66, 0x0017),
    (67, 0x0017),
    (71, 0x0017),
    (74, 0x0017),
    (75, 0x0017),
    (79, 0x0017),
    (82, 0x0017),
    (83, 0x0017),
    (85, 0x0017),
    (86, 0x0017),
    (87, 0x0017),
    (89, 0x0017),
    (92, 0x0017),
    (96, 0x0017),
    (97, 0x0017),
    (98, 0x0017),
    (99, 0x0017),
    (100, 0x0017),
];
/// TShark with `-o rtp.heuristic_rtp:TRUE`: the RTP packets inside the Data indications' DATA attributes.
const TSHARK_RTP_IN_DATA: [(u64, u32, u16); 11] = [
    (82, 0x321d_28bb, 24211),
    (83, 0x2f69_6c70, 31404),
    (85, 0x321d_28bb, 24212),
    (87, 0x2f69_6c70, 31405),
    (89, 0x321d_28bb, 24213),
    (92, 0x321d_28bb, 24214),
    (96, 0x321d_28bb, 24215),
    (97, 0x321d_28bb, 24216),
    (98, 0x321d_28bb, 24217),
    (99, 0x321d_28bb, 24218),
    (100, 0x321d_28bb, 24219),
];

#[test]
fn capture_stun_dtls_rtp_turn_over_tcp() {
    let Some(res) = run_capture("stun_dtls_rtp.pcapng") else {
        return;
    };
    assert!(res.diags.is_empty(), "{:?}", res.diags);
    assert_eq!(res.stats.bytes_skipped, 0);
    assert!(
        res.tcp
            .iter()
            .all(|m| m.proto == AppProto::Stun && m.transport == Transport::Tcp)
    );
    let client = sa("192.168.12.182:50221");
    let server = sa("142.250.82.249:3478");
    let dir_of = |src: SocketAddr, dst: SocketAddr| -> Vec<&AppMessage> {
        res.tcp
            .iter()
            .filter(|m| m.src == src && m.dst == dst)
            .collect()
    };
    let msg_types = |msgs: &[&AppMessage]| -> Vec<(u64, u16)> {
        msgs.iter()
            .map(|m| (m.frame, u16::from_be_bytes([m.data[0], m.data[1]])))
            .collect()
    };
    let up = dir_of(client, server);
    let down = dir_of(server, client);
    // Per direction: every STUN message TShark shows, in order, at the same frames; and no ChannelData (TShark's
    // `stun.channel` filter matches nothing in this capture: media is relayed in Send/Data indications).
    assert_eq!(msg_types(&up), TSHARK_CLIENT_STUN.to_vec());
    assert_eq!(msg_types(&down), TSHARK_SERVER_STUN.to_vec());
    assert_eq!(res.tcp.len(), 15 + 24);
    assert_eq!(res.stats.stun_frames, 39);
    assert!(
        res.tcp
            .iter()
            .all(|m| demux::classify(&m.data) == PayloadClass::Stun && m.frames == vec![m.frame])
    );
    let channel_data = res
        .tcp
        .iter()
        .filter(|m| demux::parse_channel_data(&m.data).is_some())
        .count();
    assert_eq!(channel_data, 0);

    // Parsed fields against TShark: Channel-Bind channel 0x4000 (frames 58, 91), peer 10.13.0.50:1259 in every
    // Send/Data indication, CreatePermission and Channel-Bind, USERNAME of the authenticated requests.
    let parsed: Vec<(u64, demux::StunMessage<'_>)> = res
        .tcp
        .iter()
        .map(|m| (m.frame, demux::parse_stun(&m.data).unwrap()))
        .collect();
    for (frame, s) in &parsed {
        let relay = matches!(s.method, 0x006 | 0x007) && s.class == StunClass::Indication;
        let with_peer = relay || [51, 58, 91].contains(frame);
        assert_eq!(s.peer.is_some(), with_peer, "frame {frame}");
        if with_peer {
            assert_eq!(s.peer, Some(sa("10.13.0.50:1259")), "frame {frame}");
        }
        assert_eq!(s.data.is_some(), relay, "frame {frame}");
        assert_eq!(
            s.channel.is_some(),
            [58, 91].contains(frame),
            "frame {frame}"
        );
        assert_eq!(
            s.len,
            res.tcp
                .iter()
                .find(|m| m.frame == *frame)
                .unwrap()
                .data
                .len()
        );
    }
    assert_eq!(
        parsed
            .iter()
            .filter_map(|(_, s)| s.channel)
            .collect::<Vec<_>>(),
        vec![0x4000, 0x4000]
    );
    let users: Vec<u64> = parsed
        .iter()
        .filter(|(_, s)| {
            s.username.as_deref() == Some("COjv4K8GEgYUyLSpSGoY5vz/h7MLIICjBTABSNG+tiQ")
        })
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(users, vec![47, 51, 58, 91]);

    // The relayed payloads: RTP headers as TShark decodes them, and what the rest is.
    let inner: Vec<(u64, PayloadClass, &[u8])> = parsed
        .iter()
        .filter_map(|(f, s)| s.data.map(|d| (*f, demux::classify(d), d)))
        .collect();
    let rtp_ids: Vec<(u64, u32, u16)> = inner
        .iter()
        .filter(|(_, c, _)| *c == PayloadClass::Rtp)
        .map(|(f, _, d)| {
            let (ssrc, seq) = rtp_id(d);
            (*f, ssrc, seq)
        })
        .collect();
    assert_eq!(rtp_ids, TSHARK_RTP_IN_DATA.to_vec());
    let of_class = |c: PayloadClass| -> Vec<u64> {
        inner
            .iter()
            .filter(|(_, k, _)| *k == c)
            .map(|(f, _, _)| *f)
            .collect()
    };
    // First bytes of TShark's `stun.value`: 0x00/0x01 STUN, 0x16/0x17 DTLS, frame 90 0xaf 0xcd (RTCP PT 205).
    assert_eq!(
        of_class(PayloadClass::Stun),
        vec![50, 52, 53, 57, 61, 65, 66, 74]
    );
    assert_eq!(
        of_class(PayloadClass::Dtls),
        vec![59, 63, 67, 69, 71, 72, 75, 77, 79, 80, 86]
    );
    assert_eq!(of_class(PayloadClass::Rtcp), vec![90]);
    assert_eq!(inner.len(), 8 + 11 + 11 + 1);
}

#[test]
fn capture_stun_dtls_rtp_udp_classes() {
    let Some(res) = run_capture("stun_dtls_rtp.pcapng") else {
        return;
    };
    // TShark (`-d udp.port==19305,data`, then its dissection of the same frames): STUN Binding requests and
    // responses 1, 2, 5, 7; DTLS records 3, 4, 6, 8-23, 25, 26, 31, 39; SRTCP (XR) 24; SRTP 27-38 except 31.
    let class_of = |n: u64| {
        let (_, p) = res.udp.iter().find(|(f, _)| *f == n).unwrap();
        demux::classify(p)
    };
    assert_eq!(res.udp.len(), 39);
    let mut dtls: Vec<u64> = vec![3, 4, 6, 25, 26, 31, 39];
    dtls.extend(8..=23);
    let rtp: Vec<u64> = (27..=38).filter(|&n| n != 31).collect();
    for n in 1..=39u64 {
        let want = if [1, 2, 5, 7].contains(&n) {
            PayloadClass::Stun
        } else if dtls.contains(&n) {
            PayloadClass::Dtls
        } else if rtp.contains(&n) {
            PayloadClass::Rtp
        } else {
            assert_eq!(n, 24);
            PayloadClass::Rtcp
        };
        assert_eq!(class_of(n), want, "frame {n}");
    }
    // STUN over UDP: Binding requests with USERNAME, success responses.
    let (_, req) = res.udp.iter().find(|(f, _)| *f == 1).unwrap();
    let req = demux::parse_stun(req).unwrap();
    assert_eq!((req.class, req.method), (StunClass::Request, 0x001));
    assert_eq!(
        req.username.as_deref(),
        Some("ea3Wt_9aASooegoKAAiKAiADEA:8jb6")
    );
    let (_, resp) = res.udp.iter().find(|(f, _)| *f == 7).unwrap();
    let resp = demux::parse_stun(resp).unwrap();
    assert_eq!((resp.class, resp.method), (StunClass::Success, 0x001));
    // DTLS content types: handshake (22) for 3, 4, 6, 9, 10, 11; application data (23) for the rest.
    let ct: Vec<(u64, u8)> = res
        .udp
        .iter()
        .filter_map(|(f, p)| demux::dtls_content_type(p).map(|c| (*f, c)))
        .filter(|&(_, c)| c == 22)
        .collect();
    assert_eq!(
        ct,
        vec![(3, 22), (4, 22), (6, 22), (9, 22), (10, 22), (11, 22)]
    );
}
