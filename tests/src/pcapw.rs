//! Writing captures byte by byte: classic pcap (µs or ns, either byte order), pcapng, and frame builders.
//! Checksums are computed so that tshark and Wireshark accept the frames as they would real traffic.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

/// A frame to write: capture time in nanoseconds since the epoch and the link-layer bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub ts_nanos: i64,
    pub data: Vec<u8>,
    /// Original length when the frame was cut (snaplen); `None` = `data.len()`.
    pub orig_len: Option<u32>,
}

impl Frame {
    pub fn new(ts_nanos: i64, data: Vec<u8>) -> Frame {
        Frame {
            ts_nanos,
            data,
            orig_len: None,
        }
    }
}

/// Classic pcap writer.
pub struct PcapWriter<W: Write> {
    out: W,
    nanos: bool,
    big_endian: bool,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W, link_type: u32, nanos: bool, big_endian: bool) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        let put32 = |h: &mut Vec<u8>, v: u32| {
            h.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        let put16 = |h: &mut Vec<u8>, v: u16| {
            h.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        put32(&mut h, magic);
        put16(&mut h, 2);
        put16(&mut h, 4);
        put32(&mut h, 0);
        put32(&mut h, 0);
        put32(&mut h, 262_144);
        put32(&mut h, link_type);
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            nanos,
            big_endian,
        })
    }

    pub fn write(&mut self, f: &Frame) -> io::Result<()> {
        let secs = f.ts_nanos.div_euclid(1_000_000_000) as u32;
        let frac_ns = f.ts_nanos.rem_euclid(1_000_000_000) as u32;
        let frac = if self.nanos { frac_ns } else { frac_ns / 1000 };
        let incl = f.data.len() as u32;
        let orig = f.orig_len.unwrap_or(incl);
        for v in [secs, frac, incl, orig] {
            let b = if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.out.write_all(&b)?;
        }
        self.out.write_all(&f.data)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Write a whole classic pcap (µs, little-endian) into a vector.
pub fn pcap_bytes(link_type: u32, frames: &[Frame]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link_type, false, false).expect("vec write");
    for f in frames {
        w.write(f).expect("vec write");
    }
    w.finish().expect("vec write")
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// A pcapng block with the given type and body (padded), little-endian.
pub fn pcapng_block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    pad4(&mut b);
    let total = (b.len() + 12) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&b);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

/// Section header block (little-endian, version 1.0, unknown section length).
pub fn pcapng_shb() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    pcapng_block(0x0a0d_0d0a, &body)
}

/// Interface description block with an optional `if_tsresol`.
pub fn pcapng_idb(link_type: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&link_type.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&262_144u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    pcapng_block(1, &body)
}

/// Enhanced packet block; `ticks` in the interface's resolution.
pub fn pcapng_epb(interface: u32, ticks: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&interface.to_le_bytes());
    body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ticks as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&orig_len.to_le_bytes());
    body.extend_from_slice(data);
    pcapng_block(6, &body)
}

/// Simple packet block.
pub fn pcapng_spb(data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    pcapng_block(3, &body)
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_bytes(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// Ethernet II header.
pub fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01,
    ];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 header (no options) around `payload`, with id and fragment fields.
pub fn ipv4_with(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    frag_field: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag_field.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum_fold(sum_bytes(&h));
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(src, dst, proto, 0x1234, 0x4000, payload)
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut p = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
        }
        _ => {}
    }
    sum_bytes(&p)
}

/// UDP header with a correct checksum.
pub fn udp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut c = checksum_fold(pseudo_sum(src, dst, 17, len).wrapping_add(sum_bytes(&u)));
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// TCP segment (PSH|ACK unless `flags` says otherwise) with a correct checksum.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags]);
    t.extend_from_slice(&65_535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = checksum_fold(pseudo_sum(src, dst, 6, t.len()).wrapping_add(sum_bytes(&t)));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// A whole Ethernet/IPv4/UDP frame.
pub fn eth_udp4(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let u = udp(IpAddr::V4(src), sport, IpAddr::V4(dst), dport, payload);
    ethernet(0x0800, &ipv4(src, dst, 17, &u))
}

/// A whole Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn eth_tcp4(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let t = tcp(
        IpAddr::V4(src),
        sport,
        IpAddr::V4(dst),
        dport,
        seq,
        ack,
        flags,
        payload,
    );
    ethernet(0x0800, &ipv4(src, dst, 6, &t))
}

/// Compares two classic pcap files of Ethernet/IPv4/UDP frames by layout: the same file header, the same number
/// of records with the same timestamps, and each pair of frames either identical or both RTP of payload type
/// `float_pt` with the same Ethernet header, addresses, IP id, ports and 12-byte RTP header (only the payload and
/// the lengths and checksums that follow from it may differ). For samples whose payloads a floating-point encoder
/// made ([`crate::samples::Reproduce::Layout`]). The error names the first record (1-based) that differs and how.
pub fn compare_layout(a: &[u8], b: &[u8], float_pt: u8) -> Result<(), String> {
    const ETH: usize = 14;
    const UDP_AT: usize = ETH + 20;
    const RTP_AT: usize = UDP_AT + 8;
    if a.get(..24) != b.get(..24) {
        return Err("file headers differ".into());
    }
    let record = |f: &[u8], at: usize| -> Option<(u64, usize)> {
        let h = f.get(at..at + 16)?;
        let ts = u64::from_le_bytes(h.get(..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(h.get(8..12)?.try_into().ok()?) as usize;
        Some((ts, len))
    };
    let (mut pa, mut pb, mut n) = (24usize, 24usize, 0u64);
    loop {
        n += 1;
        let (ra, rb) = (record(a, pa), record(b, pb));
        let ((ts_a, len_a), (ts_b, len_b)) = match (ra, rb) {
            (None, None) if pa == a.len() && pb == b.len() => return Ok(()),
            (Some(x), Some(y)) => (x, y),
            _ => {
                return Err(format!(
                    "record {n}: one file ends or is cut here, the other does not"
                ));
            }
        };
        if ts_a != ts_b {
            return Err(format!("record {n}: timestamps differ"));
        }
        let fa = a
            .get(pa + 16..pa + 16 + len_a)
            .ok_or(format!("record {n}: cut short"))?;
        let fb = b
            .get(pb + 16..pb + 16 + len_b)
            .ok_or(format!("record {n}: cut short"))?;
        if fa != fb {
            let rtp_of = |f: &[u8]| {
                f.get(..ETH).is_some()
                    && f.get(ETH) == Some(&0x45)
                    && f.get(ETH + 9) == Some(&17)
                    && f.get(RTP_AT + 1).map(|b| b & 0x7f) == Some(float_pt)
            };
            let same = |r: std::ops::Range<usize>| {
                fa.get(r.clone()).is_some() && fa.get(r.clone()) == fb.get(r)
            };
            let layout_same = rtp_of(fa)
                && rtp_of(fb)
                && same(0..ETH)
                && same(ETH + 4..ETH + 6) // IP id
                && same(ETH + 12..ETH + 20) // addresses
                && same(UDP_AT..UDP_AT + 4) // ports
                && same(RTP_AT..RTP_AT + 12); // RTP header
            if !layout_same {
                return Err(format!(
                    "record {n}: frames differ outside the RTP payload of payload type {float_pt}"
                ));
            }
        }
        pa += 16 + len_a;
        pb += 16 + len_b;
    }
}
