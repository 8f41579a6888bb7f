//! The decrypted view of a capture (`earshot decrypt`): every frame as captured, except the TCP segments of the TLS
//! connections the keys opened, which are replaced by the SIP they carried as ordinary plaintext TCP segments
//! (original addresses, ports and timestamps; each packet's comment names the frames of the records it came from),
//! so that sngrep, Wireshark and Earshot read the signalling without keys. Written to a temporary file beside
//! `out`, renamed at the end. May import: `capture`, `net`, `transport`, `tls`, `model`, `extract` (its errors).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};

use crate::capture::CaptureFile;
use crate::extract::ExtractError;
use crate::model::{Analysis, PacketMeta, Transport};
use crate::net::{self, L4, NetOutcome};
use crate::tls::Keys;
use crate::transport::tcp::{TcpLimits, TcpReassembler};

/// What the decrypted view holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptedSummary {
    /// Frames copied as captured.
    pub frames_copied: u64,
    /// TCP segments of decrypted TLS connections left out (their content is in the plaintext packets).
    pub tls_frames_replaced: u64,
    /// Plaintext packets written: one per decrypted SIP message (split when longer than one packet can hold).
    pub plaintext_packets: u64,
    /// SIP messages those packets carry.
    pub sip_messages: u64,
    /// TLS connections decrypted.
    pub connections: usize,
}

/// Largest TCP payload per synthesised packet (an IPv4 datagram holds at most 65535 bytes).
const MAX_SEGMENT: usize = 60_000;

/// Ones'-complement sum of 16-bit words.
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            acc = acc.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [b] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*b) << 8);
    }
    acc
}

/// Write `v` big-endian at `at` (the header was built with room for it).
fn put16(buf: &mut [u8], at: usize, v: u16) {
    if let Some(d) = buf.get_mut(at..at.saturating_add(2)) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An Ethernet frame carrying one TCP segment (PSH, ACK) from `src` to `dst`.
fn tcp_packet(src: SocketAddr, dst: SocketAddr, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let tcp_len = tcp.len() as u32;
    let mut f = Vec::with_capacity(14 + 40 + tcp.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + tcp.len()) as u16;
            let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
            put16(&mut ip, 2, total);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let c = fold(sum16(&ip, 0));
            put16(&mut ip, 10, c);
            let mut pseudo = Vec::with_capacity(12);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            let c = fold(sum16(&tcp, sum16(&pseudo, 0)));
            put16(&mut tcp, 16, c);
            f.extend_from_slice(&ip);
        }
        (s, d) => {
            let to6 = |a: IpAddr| match a {
                IpAddr::V4(v) => v.to_ipv6_mapped(),
                IpAddr::V6(v) => v,
            };
            let (s, d) = (to6(s), to6(d));
            f.extend_from_slice(&[0x86, 0xdd]);
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            ip.extend_from_slice(&[6, 64]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&tcp_len.to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
            let c = fold(sum16(&tcp, sum16(&pseudo, 0)));
            put16(&mut tcp, 16, c);
            f.extend_from_slice(&ip);
        }
    }
    f.extend_from_slice(&tcp);
    f
}

/// Write the decrypted view of `capture` (analysed as `analysis` with `keys`) to `out` (pcapng).
pub fn write_decrypted_pcapng(
    capture: &Path,
    analysis: &Analysis,
    mut keys: Arc<Keys>,
    out: &Path,
) -> Result<DecryptedSummary, ExtractError> {
    if crate::extract::same_file(capture, out) {
        return Err(ExtractError::OutputIsInput(out.to_path_buf()));
    }
    let pairs: BTreeSet<(SocketAddr, SocketAddr)> = analysis
        .tls
        .iter()
        .filter(|t| t.decrypted)
        .flat_map(|t| [(t.client, t.server), (t.server, t.client)])
        .collect();
    let file = CaptureFile::open(capture)?;
    let tmp = out.with_extension("pcapng.part");
    let werr = |source: std::io::Error| ExtractError::Write {
        path: tmp.clone(),
        source,
    };
    let perr = |e: pcap_file::PcapError| ExtractError::Write {
        path: tmp.clone(),
        source: match e {
            pcap_file::PcapError::IoError(io) => io,
            other => std::io::Error::other(other.to_string()),
        },
    };
    let name = capture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let key_list: Vec<String> = analysis
        .key_sources
        .iter()
        .map(|k| format!("{:?} (SHA-256 {})", k.name, k.sha256))
        .collect();
    let comment = format!(
        "Earshot decrypted view of {name:?} (SHA-256 {}): the TCP segments of {} decrypted TLS connections are \
         replaced by the SIP they carried, as plaintext TCP segments with the original addresses, ports and \
         timestamps (each such packet's comment names the source frames of its TLS records); every other frame is \
         as captured, with its source frame number in its comment. Keys: {}.",
        analysis.capture.sha256,
        pairs.len() / 2,
        key_list.join(", ")
    );
    // Everything from here writes `tmp`: on any error it is removed, so a failed run leaves no half file.
    let result = (|| -> Result<DecryptedSummary, ExtractError> {
        let f = File::create(&tmp).map_err(werr)?;
        let mut w = crate::extract::evidence_writer(f, comment).map_err(perr)?;
        let mut summary = DecryptedSummary {
            connections: pairs.len() / 2,
            ..DecryptedSummary::default()
        };
        let mut tcp = TcpReassembler::new(TcpLimits::default());
        tcp.set_keys(keys.clone());
        let mut interfaces: HashMap<(u32, u8), u32> = HashMap::new();
        let mut seqs: HashMap<(SocketAddr, SocketAddr), u32> = HashMap::new();
        let mut reader = file.frames()?;
        let mut app = Vec::new();
        let mut diags = Vec::new();
        while let Some(frame) = reader.next_frame() {
            reader.diagnostics.clear();
            // Key logs inside the capture, as the analysis used them.
            for (block, text) in reader.secrets.drain(..) {
                Arc::make_mut(&mut keys).add_keylog(
                    "pcapng-dsb",
                    &format!("pcapng secrets block {block}"),
                    &text,
                    false,
                );
                tcp.set_keys(keys.clone());
            }
            let digits = reader.interface_ts_digits(frame.interface);
            let Ok(ts) = u64::try_from(frame.ts_nanos) else {
                continue;
            };
            let ticks = if digits == 9 { ts } else { ts / 1000 };
            let mut iface = |link: u32, digits: u8, w: &mut PcapNgWriter<BufWriter<File>>| {
                let next = u32::try_from(interfaces.len()).unwrap_or(u32::MAX);
                if let Some(&id) = interfaces.get(&(link, digits)) {
                    return Ok(id);
                }
                let idb = InterfaceDescriptionBlock {
                    linktype: DataLink::from(link),
                    snaplen: 0,
                    options: vec![InterfaceDescriptionOption::IfTsResol(digits)],
                };
                w.write_pcapng_block(idb)?;
                interfaces.insert((link, digits), next);
                Ok(next)
            };
            let mut replaced = false;
            if let NetOutcome::Packet(p) = net::decode_frame(frame.link_type, &frame.data)
                && let L4::Tcp(seg) = &p.l4
            {
                let s = SocketAddr::new(p.src, seg.src_port);
                let d = SocketAddr::new(p.dst, seg.dst_port);
                if pairs.contains(&(s, d)) {
                    replaced = true;
                    let meta = PacketMeta {
                        frame: frame.number,
                        ts_nanos: frame.ts_nanos,
                        src: s,
                        dst: d,
                    };
                    tcp.push(meta, seg, &mut app, &mut diags);
                    diags.clear();
                }
            }
            if replaced {
                summary.tls_frames_replaced += 1;
            } else {
                let id = iface(frame.link_type, digits, &mut w).map_err(perr)?;
                w.write_pcapng_block(EnhancedPacketBlock {
                    interface_id: id,
                    timestamp: Duration::from_nanos(ticks),
                    original_len: frame.orig_len,
                    data: frame.data.clone(),
                    options: vec![EnhancedPacketOption::Comment(
                        format!("source frame {}", frame.number).into(),
                    )],
                })
                .map_err(perr)?;
                summary.frames_copied += 1;
            }
            for m in app.drain(..) {
                if !matches!(m.transport, Transport::Tls | Transport::Wss) {
                    continue;
                }
                summary.sip_messages += 1;
                let frames: Vec<String> = m.frames.iter().map(u64::to_string).collect();
                let ack = seqs.get(&(m.dst, m.src)).copied().unwrap_or(1);
                for chunk in m.data.chunks(MAX_SEGMENT) {
                    let seq = seqs.entry((m.src, m.dst)).or_insert(1);
                    let pkt = tcp_packet(m.src, m.dst, *seq, ack, chunk);
                    *seq = seq.wrapping_add(chunk.len() as u32);
                    let id = iface(1, 9, &mut w).map_err(perr)?;
                    w.write_pcapng_block(EnhancedPacketBlock {
                    interface_id: id,
                    timestamp: Duration::from_nanos(u64::try_from(m.ts_nanos).unwrap_or(ts)),
                    original_len: pkt.len() as u32,
                    data: pkt.into(),
                    options: vec![EnhancedPacketOption::Comment(
                        format!(
                            "SIP over {} decrypted by Earshot from the TLS records of source frames {}",
                            if m.transport == Transport::Wss { "WSS" } else { "TLS" },
                            frames.join(", ")
                        )
                        .into(),
                    )],
                })
                .map_err(perr)?;
                    summary.plaintext_packets += 1;
                }
            }
        }
        let mut buf = w.into_inner();
        buf.flush().map_err(werr)?;
        let f = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        f.sync_all().map_err(werr)?;
        drop(f);
        Ok(summary)
    })();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ExtractError::Write {
            path: out.to_path_buf(),
            source,
        }
    })?;
    Ok(summary)
}
