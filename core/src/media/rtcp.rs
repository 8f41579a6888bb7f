//! RTCP (RFC 3550 6): compound packets with SR, RR, SDES, BYE, APP, and XR (RFC 3611) including the VoIP metrics
//! block; round-trip time from LSR/DLSR.

/// One report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// 24-bit signed cumulative loss, sign-extended.
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

/// RFC 3611 4.7 VoIP Metrics Report Block, fields as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrVoipMetrics {
    pub ssrc: u32,
    pub loss_rate: u8,
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    pub burst_duration: u16,
    pub gap_duration: u16,
    pub round_trip_delay: u16,
    pub end_system_delay: u16,
    pub signal_level: i8,
    pub noise_level: i8,
    pub rerl: u8,
    pub gmin: u8,
    pub r_factor: u8,
    pub ext_r_factor: u8,
    pub mos_lq: u8,
    pub mos_cq: u8,
    pub rx_config: u8,
    pub jb_nominal: u16,
    pub jb_maximum: u16,
    pub jb_abs_max: u16,
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        /// 64-bit NTP timestamp.
        ntp: u64,
        rtp_ts: u32,
        packet_count: u32,
        octet_count: u32,
        reports: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        reports: Vec<ReportBlock>,
    },
    /// SDES chunks: (SSRC/CSRC, items as (type, text)). Text is attacker-controlled (lossy UTF-8, bounded).
    Sdes {
        chunks: Vec<(u32, Vec<(u8, String)>)>,
    },
    Bye {
        ssrcs: Vec<u32>,
        reason: Option<String>,
    },
    App {
        ssrc: u32,
        name: [u8; 4],
    },
    Xr {
        ssrc: u32,
        voip_metrics: Vec<XrVoipMetrics>,
    },
    /// Any other packet type (205/206 feedback, ...): type and length only.
    Other {
        packet_type: u8,
        len: usize,
    },
}

/// Why bytes are not (entirely) valid RTCP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet of {len} bytes is shorter than the 4-byte common header")]
    TooShort { len: usize },
    #[error("RTCP version {0} (must be 2)")]
    BadVersion(u8),
    #[error(
        "RTCP packet type {packet_type} at offset {offset} claims {claimed} bytes but {available} remain"
    )]
    LengthPastEnd {
        packet_type: u8,
        offset: usize,
        claimed: usize,
        available: usize,
    },
    #[error("RTCP packet type {packet_type} at offset {offset}: {what}")]
    Malformed {
        packet_type: u8,
        offset: usize,
        what: String,
    },
}

/// The RTCP packet types this module decodes.
pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
pub const PT_APP: u8 = 204;
pub const PT_XR: u8 = 207;
/// RFC 3611 4.7 VoIP Metrics Report Block type.
pub const XR_BT_VOIP_METRICS: u8 = 7;

/// Size of one report block (RFC 3550 6.4.1).
const REPORT_BLOCK_LEN: usize = 24;
/// Size of the SR sender info (SSRC, NTP, RTP timestamp, packet and octet counts).
const SENDER_INFO_LEN: usize = 24;
/// Size of an XR VoIP Metrics block after its 4-byte block header.
const VOIP_METRICS_BODY_LEN: usize = 32;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..)?
        .first_chunk::<2>()
        .map(|x| u16::from_be_bytes(*x))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..)?
        .first_chunk::<4>()
        .map(|x| u32::from_be_bytes(*x))
}

fn byte(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// Lossy UTF-8 text of an SDES item or BYE reason, without trailing NULs (some stacks send C strings; Wireshark
/// shows the text up to the NUL too). The one-byte length field bounds it at 255 bytes.
fn text(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != 0)
        .map_or(0, |i| i.saturating_add(1));
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

/// A sub-packet-level failure: what went wrong (the caller adds the packet type and offset).
type BodyResult<T> = Result<T, String>;

fn parse_report_blocks(body: &[u8], start: usize, count: u8) -> BodyResult<Vec<ReportBlock>> {
    let needed = start.saturating_add(usize::from(count).saturating_mul(REPORT_BLOCK_LEN));
    if needed > body.len() {
        return Err(format!(
            "report count {count} needs {needed} bytes after the header but the packet has {}",
            body.len()
        ));
    }
    let blocks = body.get(start..needed).unwrap_or_default();
    Ok(blocks
        .chunks_exact(REPORT_BLOCK_LEN)
        .filter_map(|b| {
            let &[fraction_lost, c0, c1, c2] = b.get(4..)?.first_chunk::<4>()?;
            // 24-bit two's complement, sign-extended: place it in the top 24 bits and shift back arithmetically.
            let cumulative_lost = i32::from_be_bytes([c0, c1, c2, 0]) >> 8;
            Some(ReportBlock {
                ssrc: be32(b, 0)?,
                fraction_lost,
                cumulative_lost,
                highest_seq: be32(b, 8)?,
                jitter: be32(b, 12)?,
                lsr: be32(b, 16)?,
                dlsr: be32(b, 20)?,
            })
        })
        .collect())
}

fn parse_sr(body: &[u8], count: u8) -> BodyResult<RtcpPacket> {
    if body.len() < SENDER_INFO_LEN {
        return Err(format!(
            "sender info needs {SENDER_INFO_LEN} bytes after the header but the packet has {}",
            body.len()
        ));
    }
    let (
        Some(ssrc),
        Some(ntp_hi),
        Some(ntp_lo),
        Some(rtp_ts),
        Some(packet_count),
        Some(octet_count),
    ) = (
        be32(body, 0),
        be32(body, 4),
        be32(body, 8),
        be32(body, 12),
        be32(body, 16),
        be32(body, 20),
    )
    else {
        return Err("sender info truncated".to_owned());
    };
    Ok(RtcpPacket::SenderReport {
        ssrc,
        ntp: (u64::from(ntp_hi) << 32) | u64::from(ntp_lo),
        rtp_ts,
        packet_count,
        octet_count,
        reports: parse_report_blocks(body, SENDER_INFO_LEN, count)?,
    })
}

fn parse_rr(body: &[u8], count: u8) -> BodyResult<RtcpPacket> {
    let Some(ssrc) = be32(body, 0) else {
        return Err(format!(
            "receiver report needs 4 bytes of SSRC after the header but the packet has {}",
            body.len()
        ));
    };
    Ok(RtcpPacket::ReceiverReport {
        ssrc,
        reports: parse_report_blocks(body, 4, count)?,
    })
}

fn parse_sdes(body: &[u8], count: u8) -> BodyResult<RtcpPacket> {
    let mut chunks = Vec::with_capacity(usize::from(count));
    let mut pos = 0usize;
    for chunk_no in 1..=count {
        let Some(ssrc) = be32(body, pos) else {
            return Err(format!(
                "source count {count} but chunk {chunk_no} at body offset {pos} does not fit in {} bytes",
                body.len()
            ));
        };
        pos = pos.saturating_add(4);
        let mut items = Vec::new();
        loop {
            let Some(item_type) = byte(body, pos) else {
                return Err(format!(
                    "chunk {chunk_no} (SSRC {ssrc:#010x}): items not terminated by a null item before the end"
                ));
            };
            if item_type == 0 {
                // The null item, then padding up to the next 32-bit boundary (the body starts on one).
                pos = pos.saturating_add(1).next_multiple_of(4);
                break;
            }
            let Some(item_len) = byte(body, pos.saturating_add(1)) else {
                return Err(format!(
                    "chunk {chunk_no} (SSRC {ssrc:#010x}): item type {item_type} has no length byte"
                ));
            };
            let start = pos.saturating_add(2);
            let end = start.saturating_add(usize::from(item_len));
            let Some(value) = body.get(start..end) else {
                return Err(format!(
                    "chunk {chunk_no} (SSRC {ssrc:#010x}): item type {item_type} of {item_len} bytes runs past the end"
                ));
            };
            items.push((item_type, text(value)));
            pos = end;
        }
        chunks.push((ssrc, items));
    }
    Ok(RtcpPacket::Sdes { chunks })
}

fn parse_bye(body: &[u8], count: u8) -> BodyResult<RtcpPacket> {
    let list_end = usize::from(count).saturating_mul(4);
    let Some(list) = body.get(..list_end) else {
        return Err(format!(
            "source count {count} needs {list_end} bytes after the header but the packet has {}",
            body.len()
        ));
    };
    let ssrcs = list
        .chunks_exact(4)
        .filter_map(|c| c.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)))
        .collect();
    let reason = match byte(body, list_end) {
        None | Some(0) => None,
        Some(len) => {
            let start = list_end.saturating_add(1);
            let Some(r) = body.get(start..start.saturating_add(usize::from(len))) else {
                return Err(format!("reason of {len} bytes runs past the end"));
            };
            Some(text(r))
        }
    };
    Ok(RtcpPacket::Bye { ssrcs, reason })
}

fn parse_app(body: &[u8]) -> BodyResult<RtcpPacket> {
    let (Some(ssrc), Some(name)) = (
        be32(body, 0),
        body.get(4..).and_then(|b| b.first_chunk::<4>()),
    ) else {
        return Err(format!(
            "APP needs 8 bytes (SSRC, name) after the header but the packet has {}",
            body.len()
        ));
    };
    Ok(RtcpPacket::App { ssrc, name: *name })
}

fn parse_voip_metrics(b: &[u8]) -> Option<XrVoipMetrics> {
    let &[
        s0,
        s1,
        s2,
        s3,
        loss_rate,
        discard_rate,
        burst_density,
        gap_density,
        bd0,
        bd1,
        gd0,
        gd1,
        rt0,
        rt1,
        es0,
        es1,
        signal_level,
        noise_level,
        rerl,
        gmin,
        r_factor,
        ext_r_factor,
        mos_lq,
        mos_cq,
        rx_config,
        _reserved,
        jn0,
        jn1,
        jm0,
        jm1,
        ja0,
        ja1,
    ] = b.first_chunk::<VOIP_METRICS_BODY_LEN>()?;
    Some(XrVoipMetrics {
        ssrc: u32::from_be_bytes([s0, s1, s2, s3]),
        loss_rate,
        discard_rate,
        burst_density,
        gap_density,
        burst_duration: u16::from_be_bytes([bd0, bd1]),
        gap_duration: u16::from_be_bytes([gd0, gd1]),
        round_trip_delay: u16::from_be_bytes([rt0, rt1]),
        end_system_delay: u16::from_be_bytes([es0, es1]),
        signal_level: i8::from_be_bytes([signal_level]),
        noise_level: i8::from_be_bytes([noise_level]),
        rerl,
        gmin,
        r_factor,
        ext_r_factor,
        mos_lq,
        mos_cq,
        rx_config,
        jb_nominal: u16::from_be_bytes([jn0, jn1]),
        jb_maximum: u16::from_be_bytes([jm0, jm1]),
        jb_abs_max: u16::from_be_bytes([ja0, ja1]),
    })
}

fn parse_xr(body: &[u8]) -> BodyResult<RtcpPacket> {
    let Some(ssrc) = be32(body, 0) else {
        return Err(format!(
            "XR needs 4 bytes of SSRC after the header but the packet has {}",
            body.len()
        ));
    };
    let mut voip_metrics = Vec::new();
    let mut pos = 4usize;
    while pos < body.len() {
        let (Some(block_type), Some(words)) = (byte(body, pos), be16(body, pos.saturating_add(2)))
        else {
            return Err(format!(
                "XR block header at body offset {pos} does not fit in {} bytes",
                body.len()
            ));
        };
        let start = pos.saturating_add(4);
        let block_len = usize::from(words).saturating_mul(4);
        let end = start.saturating_add(block_len);
        let Some(block) = body.get(start..end) else {
            return Err(format!(
                "XR block type {block_type} at body offset {pos} claims {block_len} bytes but {} remain",
                body.len().saturating_sub(start)
            ));
        };
        if block_type == XR_BT_VOIP_METRICS {
            let Some(m) = parse_voip_metrics(block) else {
                return Err(format!(
                    "XR VoIP metrics block at body offset {pos} has {block_len} bytes, needs {VOIP_METRICS_BODY_LEN}"
                ));
            };
            voip_metrics.push(m);
        }
        pos = end;
    }
    Ok(RtcpPacket::Xr { ssrc, voip_metrics })
}

/// Parse a compound RTCP packet leniently: every sub-packet that parses is returned, and the first error (if any)
/// stops parsing and is returned beside them. Never panics.
///
/// Each sub-packet is delimited by its common header's length; its padding (P bit, normally only on the last one)
/// is removed before the body is decoded, and bytes after the parts this module decodes (profile extensions, APP
/// data, unknown XR blocks) are skipped. A bad version on the first sub-packet is [`RtcpError::BadVersion`]; on a
/// later one (or trailing bytes too short for a header) it is [`RtcpError::Malformed`], which carries the offset.
pub fn parse_rtcp(data: &[u8]) -> (Vec<RtcpPacket>, Option<RtcpError>) {
    let mut packets = Vec::new();
    if data.len() < 4 {
        return (packets, Some(RtcpError::TooShort { len: data.len() }));
    }
    let mut offset = 0usize;
    while offset < data.len() {
        let rest = data.get(offset..).unwrap_or_default();
        let Some(&[b0, packet_type, l0, l1]) = rest.first_chunk::<4>() else {
            let what = format!(
                "{} trailing bytes, shorter than the 4-byte common header",
                rest.len()
            );
            return (
                packets,
                Some(RtcpError::Malformed {
                    packet_type: 0,
                    offset,
                    what,
                }),
            );
        };
        let version = b0 >> 6;
        if version != 2 {
            let err = if offset == 0 {
                RtcpError::BadVersion(version)
            } else {
                RtcpError::Malformed {
                    packet_type,
                    offset,
                    what: format!("version {version} (must be 2)"),
                }
            };
            return (packets, Some(err));
        }
        let padded = b0 & 0x20 != 0;
        let count = b0 & 0x1f;
        let claimed =
            (usize::from(u16::from_be_bytes([l0, l1])).saturating_add(1)).saturating_mul(4);
        let Some(packet) = rest.get(..claimed) else {
            return (
                packets,
                Some(RtcpError::LengthPastEnd {
                    packet_type,
                    offset,
                    claimed,
                    available: rest.len(),
                }),
            );
        };
        let malformed = |what: String| RtcpError::Malformed {
            packet_type,
            offset,
            what,
        };
        let mut body = packet.get(4..).unwrap_or_default();
        if padded {
            let pad = usize::from(body.last().copied().unwrap_or(0));
            if pad == 0 || pad > body.len() {
                let what = format!(
                    "padding of {pad} bytes in a packet with {} bytes after the header",
                    body.len()
                );
                return (packets, Some(malformed(what)));
            }
            body = body
                .get(..body.len().saturating_sub(pad))
                .unwrap_or_default();
        }
        let parsed = match packet_type {
            PT_SR => parse_sr(body, count),
            PT_RR => parse_rr(body, count),
            PT_SDES => parse_sdes(body, count),
            PT_BYE => parse_bye(body, count),
            PT_APP => parse_app(body),
            PT_XR => parse_xr(body),
            _ => Ok(RtcpPacket::Other {
                packet_type,
                len: claimed,
            }),
        };
        match parsed {
            Ok(p) => packets.push(p),
            Err(what) => return (packets, Some(malformed(what))),
        }
        offset = offset.saturating_add(claimed);
    }
    (packets, None)
}

/// The middle 32 bits of the NTP timestamp (the LSR unit, 1/65536 s) for a Unix time in nanoseconds.
pub fn ntp_middle32(unix_nanos: i64) -> u32 {
    const NANOS: i64 = 1_000_000_000;
    const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
    let secs = unix_nanos.div_euclid(NANOS);
    // 0 ≤ nanos < 10^9, so nanos × 2^32 < 2^62 fits; the quotient is < 2^32.
    let nanos = u64::try_from(unix_nanos.rem_euclid(NANOS)).unwrap_or(0);
    let fraction = nanos.checked_shl(32).unwrap_or(0) / 1_000_000_000;
    let ntp_secs = secs.wrapping_add(NTP_UNIX_OFFSET);
    let low16_secs = u32::try_from(ntp_secs & 0xffff).unwrap_or(0);
    let high16_fraction = u32::try_from((fraction >> 16) & 0xffff).unwrap_or(0);
    (low16_secs << 16) | high16_fraction
}

/// Round-trip time in milliseconds per RFC 3550 6.4.1: `arrival − LSR − DLSR` (all in 1/65536 s), where `arrival`
/// is [`ntp_middle32`] of when the report block arrived. `None` when LSR is 0 (no SR received yet) or the result
/// is negative/implausible (> 60 s).
pub fn rtt_ms(arrival_middle32: u32, lsr: u32, dlsr: u32) -> Option<f64> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival_middle32.wrapping_sub(lsr).wrapping_sub(dlsr);
    if rtt >= 1 << 31 {
        return None;
    }
    let ms = f64::from(rtt) * 1000.0 / 65536.0;
    (ms <= 60_000.0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{XorShift, hex};

    /// aaa.pcap frame 633: SR (no report blocks) + SDES (CNAME, TOOL) + BYE with a reason. tshark:
    /// SR SSRC 0x3796cb71, NTP MSW 1120470986 LSW 1593492995, RTP ts 9411, 9 packets, 1548 octets;
    /// SDES chunk 0x3796cb71: CNAME "11894297-4432a9f8@192.168.1.2", TOOL "SIPPS"; BYE 0x3796cb71
    /// "session shutdown".
    const AAA_FRAME633: &str = "80c800063796cb7142c907ca5efac603000024c3000000090000060c81ca000b3796cb71011d3131\
        3839343239372d3434333261396638403139322e3136382e312e3206055349505053000081cb00063796cb711073657373696f6e\
        2073687574646f776e000000";

    /// sip_ipv4_tcp.pcap frame 14: SR (no report blocks) + SDES. tshark: SR SSRC 0x42f433d4, NTP MSW 2099493
    /// LSW 811748763, RTP ts 1884819849, 1 packet, 160 octets; SDES CNAME "c0" (length 3: the text has a NUL).
    const TCP_FRAME14: &str =
        "80c8000642f433d40020092530624d9b7058118900000001000000a081ca000342f433d40103633000000000";

    /// sip_ipv4_tcp.pcap frame 17: SR with one report block + SDES. tshark: SR SSRC 0x5a3361b3, NTP MSW 2508829
    /// LSW 2572685233, RTP ts 95878790, 1 packet, 160 octets; block SSRC 0x42f433d4, fraction 0, cumulative 0,
    /// extended highest seq 54340, jitter 0, LSR 153432162 (0x09253062), DLSR 1048; SDES CNAME "c0".
    const TCP_FRAME17: &str = "81c8000c5a3361b30026481d99580fb105b6fe8600000001000000a042f433d4000000000000d444\
        00000000092530620000041881ca00035a3361b30103633000000000";

    /// Common header + body (body length must be a multiple of 4).
    fn pkt(b0: u8, pt: u8, body: &[u8]) -> Vec<u8> {
        assert_eq!(body.len() % 4, 0);
        let words = u16::try_from(body.len() / 4).unwrap();
        let mut p = vec![b0, pt];
        p.extend_from_slice(&words.to_be_bytes());
        p.extend_from_slice(body);
        p
    }

    fn report_block(
        ssrc: u32,
        fraction: u8,
        cum: [u8; 3],
        seq: u32,
        jitter: u32,
        lsr: u32,
        dlsr: u32,
    ) -> Vec<u8> {
        let mut b = ssrc.to_be_bytes().to_vec();
        b.push(fraction);
        b.extend_from_slice(&cum);
        for v in [seq, jitter, lsr, dlsr] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b
    }

    fn voip_metrics_block() -> Vec<u8> {
        let mut b = vec![7, 0, 0, 8];
        b.extend_from_slice(&0x1122_3344u32.to_be_bytes());
        b.extend_from_slice(&[5, 6, 7, 8]); // loss, discard, burst density, gap density
        b.extend_from_slice(&[0x01, 0x2c, 0x0b, 0xb8]); // burst 300 ms, gap 3000 ms
        b.extend_from_slice(&[0x00, 0x28, 0x00, 0x50]); // round trip 40, end system 80
        b.extend_from_slice(&[0xec, 0xb5, 0x7f, 16]); // signal -20, noise -75, RERL 127, Gmin 16
        b.extend_from_slice(&[93, 127, 42, 41]); // R 93, ext R 127 (unavailable), MOS-LQ 4.2, MOS-CQ 4.1
        b.extend_from_slice(&[0x43, 0x00, 0x00, 0x3c]); // RX config, reserved, JB nominal 60
        b.extend_from_slice(&[0x00, 0x78, 0x00, 0xc8]); // JB max 120, JB abs max 200
        assert_eq!(b.len(), 36);
        b
    }

    fn expected_voip_metrics() -> XrVoipMetrics {
        XrVoipMetrics {
            ssrc: 0x1122_3344,
            loss_rate: 5,
            discard_rate: 6,
            burst_density: 7,
            gap_density: 8,
            burst_duration: 300,
            gap_duration: 3000,
            round_trip_delay: 40,
            end_system_delay: 80,
            signal_level: -20,
            noise_level: -75,
            rerl: 127,
            gmin: 16,
            r_factor: 93,
            ext_r_factor: 127,
            mos_lq: 42,
            mos_cq: 41,
            rx_config: 0x43,
            jb_nominal: 60,
            jb_maximum: 120,
            jb_abs_max: 200,
        }
    }

    /// A compound packet with one of every decoded type plus a 205 and padding on the last packet.
    fn compound() -> Vec<u8> {
        let mut sr = Vec::new();
        sr.extend_from_slice(&0xaaaa_aaaau32.to_be_bytes());
        sr.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        sr.extend_from_slice(&1000u32.to_be_bytes());
        sr.extend_from_slice(&50u32.to_be_bytes());
        sr.extend_from_slice(&8000u32.to_be_bytes());
        sr.extend(report_block(
            0xbbbb_bbbb,
            25,
            [0xff, 0xff, 0xfe],
            0x0001_0005,
            37,
            0x1234_5678,
            0x0001_8000,
        ));
        sr.extend(report_block(0xcccc_cccc, 0, [0x7f, 0xff, 0xff], 9, 0, 0, 0));
        let mut p = pkt(0x82, 200, &sr);

        let mut rr = 0xdddd_ddddu32.to_be_bytes().to_vec();
        rr.extend(report_block(
            0xeeee_eeee,
            255,
            [0x80, 0x00, 0x00],
            1,
            2,
            3,
            4,
        ));
        p.extend(pkt(0x81, 201, &rr));

        // SDES: chunk 1 with CNAME "ab" (4+2+2 = 8, null item + 3 padding -> 12), chunk 2 with NAME "xyz" and
        // TOOL "" (4+5+2 = 11, null item -> 12).
        let mut sdes = 0x0000_0001u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 2, b'a', b'b', 0, 0, 0, 0]);
        sdes.extend_from_slice(&0x0000_0002u32.to_be_bytes());
        sdes.extend_from_slice(&[2, 3, b'x', b'y', b'z', 6, 0, 0]);
        p.extend(pkt(0x82, 202, &sdes));

        let mut bye = 0x0000_0001u32.to_be_bytes().to_vec();
        bye.extend_from_slice(&0x0000_0002u32.to_be_bytes());
        bye.extend_from_slice(&[3, b'b', b'y', b'e']);
        p.extend(pkt(0x82, 203, &bye));

        let mut app = 0x0000_0009u32.to_be_bytes().to_vec();
        app.extend_from_slice(b"TEST");
        app.extend_from_slice(&[1, 2, 3, 4]);
        p.extend(pkt(0x83, 204, &app));

        let mut xr = 0x0000_0005u32.to_be_bytes().to_vec();
        xr.extend_from_slice(&[4, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]); // receiver reference time: skipped
        xr.extend(voip_metrics_block());
        p.extend(pkt(0x80, 207, &xr));

        // 205 (transport feedback) with P: 8 bytes of body then 4 bytes of padding.
        p.extend(pkt(0xa1, 205, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4]));
        p
    }

    #[test]
    fn real_aaa_frame633_matches_tshark() {
        let (pkts, err) = parse_rtcp(&hex(AAA_FRAME633));
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::SenderReport {
                    ssrc: 0x3796_cb71,
                    ntp: (1_120_470_986u64 << 32) | 1_593_492_995,
                    rtp_ts: 9411,
                    packet_count: 9,
                    octet_count: 1548,
                    reports: vec![],
                },
                RtcpPacket::Sdes {
                    chunks: vec![(
                        0x3796_cb71,
                        vec![
                            (1, "11894297-4432a9f8@192.168.1.2".to_owned()),
                            (6, "SIPPS".to_owned())
                        ]
                    )]
                },
                RtcpPacket::Bye {
                    ssrcs: vec![0x3796_cb71],
                    reason: Some("session shutdown".to_owned())
                },
            ]
        );
    }

    #[test]
    fn real_sip_tcp_frame14_matches_tshark() {
        let (pkts, err) = parse_rtcp(&hex(TCP_FRAME14));
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::SenderReport {
                    ssrc: 0x42f4_33d4,
                    ntp: (2_099_493u64 << 32) | 811_748_763,
                    rtp_ts: 1_884_819_849,
                    packet_count: 1,
                    octet_count: 160,
                    reports: vec![],
                },
                RtcpPacket::Sdes {
                    chunks: vec![(0x42f4_33d4, vec![(1, "c0".to_owned())])]
                },
            ]
        );
    }

    #[test]
    fn real_sip_tcp_frame17_matches_tshark() {
        let (pkts, err) = parse_rtcp(&hex(TCP_FRAME17));
        assert_eq!(err, None);
        assert_eq!(pkts.len(), 2);
        let RtcpPacket::SenderReport {
            ssrc,
            ntp,
            rtp_ts,
            packet_count,
            octet_count,
            reports,
        } = &pkts[0]
        else {
            panic!("not an SR: {:?}", pkts[0]);
        };
        assert_eq!(*ssrc, 0x5a33_61b3);
        assert_eq!(*ntp, (2_508_829u64 << 32) | 2_572_685_233);
        assert_eq!((*rtp_ts, *packet_count, *octet_count), (95_878_790, 1, 160));
        assert_eq!(
            reports,
            &vec![ReportBlock {
                ssrc: 0x42f4_33d4,
                fraction_lost: 0,
                cumulative_lost: 0,
                highest_seq: 54340,
                jitter: 0,
                lsr: 153_432_162,
                dlsr: 1048,
            }]
        );
        // The LSR is the middle 32 bits of frame 14's SR NTP timestamp (0x00200925_30624d9b).
        let frame14 = parse_rtcp(&hex(TCP_FRAME14)).0;
        let RtcpPacket::SenderReport { ntp: ntp14, .. } = frame14[0] else {
            panic!()
        };
        assert_eq!(((ntp14 >> 16) & 0xffff_ffff) as u32, reports[0].lsr);
        assert_eq!(
            pkts[1],
            RtcpPacket::Sdes {
                chunks: vec![(0x5a33_61b3, vec![(1, "c0".to_owned())])]
            }
        );
    }

    #[test]
    fn every_packet_type_of_a_compound_packet() {
        let (pkts, err) = parse_rtcp(&compound());
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::SenderReport {
                    ssrc: 0xaaaa_aaaa,
                    ntp: 0x0102_0304_0506_0708,
                    rtp_ts: 1000,
                    packet_count: 50,
                    octet_count: 8000,
                    reports: vec![
                        ReportBlock {
                            ssrc: 0xbbbb_bbbb,
                            fraction_lost: 25,
                            cumulative_lost: -2,
                            highest_seq: 0x0001_0005,
                            jitter: 37,
                            lsr: 0x1234_5678,
                            dlsr: 0x0001_8000,
                        },
                        ReportBlock {
                            ssrc: 0xcccc_cccc,
                            fraction_lost: 0,
                            cumulative_lost: 8_388_607,
                            highest_seq: 9,
                            jitter: 0,
                            lsr: 0,
                            dlsr: 0,
                        },
                    ],
                },
                RtcpPacket::ReceiverReport {
                    ssrc: 0xdddd_dddd,
                    reports: vec![ReportBlock {
                        ssrc: 0xeeee_eeee,
                        fraction_lost: 255,
                        cumulative_lost: -8_388_608,
                        highest_seq: 1,
                        jitter: 2,
                        lsr: 3,
                        dlsr: 4,
                    }],
                },
                RtcpPacket::Sdes {
                    chunks: vec![
                        (1, vec![(1, "ab".to_owned())]),
                        (2, vec![(2, "xyz".to_owned()), (6, String::new())]),
                    ]
                },
                RtcpPacket::Bye {
                    ssrcs: vec![1, 2],
                    reason: Some("bye".to_owned())
                },
                RtcpPacket::App {
                    ssrc: 9,
                    name: *b"TEST"
                },
                RtcpPacket::Xr {
                    ssrc: 5,
                    voip_metrics: vec![expected_voip_metrics()]
                },
                RtcpPacket::Other {
                    packet_type: 205,
                    len: 16
                },
            ]
        );
    }

    #[test]
    fn cumulative_lost_sign_extension() {
        for (bytes, want) in [
            ([0x00, 0x00, 0x00], 0),
            ([0x00, 0x00, 0x01], 1),
            ([0xff, 0xff, 0xff], -1),
            ([0x7f, 0xff, 0xff], 8_388_607),
            ([0x80, 0x00, 0x00], -8_388_608),
            ([0x01, 0x02, 0x03], 0x01_0203),
        ] {
            let mut rr = 1u32.to_be_bytes().to_vec();
            rr.extend(report_block(2, 0, bytes, 0, 0, 0, 0));
            let (pkts, err) = parse_rtcp(&pkt(0x81, 201, &rr));
            assert_eq!(err, None);
            let RtcpPacket::ReceiverReport { reports, .. } = &pkts[0] else {
                panic!()
            };
            assert_eq!(reports[0].cumulative_lost, want, "{bytes:02x?}");
        }
    }

    #[test]
    fn bye_without_reason_and_empty_rr() {
        let mut p = pkt(0x80, 201, &7u32.to_be_bytes());
        p.extend(pkt(0x81, 203, &8u32.to_be_bytes()));
        p.extend(pkt(0x80, 203, &[]));
        let (pkts, err) = parse_rtcp(&p);
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::ReceiverReport {
                    ssrc: 7,
                    reports: vec![]
                },
                RtcpPacket::Bye {
                    ssrcs: vec![8],
                    reason: None
                },
                RtcpPacket::Bye {
                    ssrcs: vec![],
                    reason: None
                },
            ]
        );
    }

    #[test]
    fn sdes_text_is_lossy_and_trailing_nuls_trimmed() {
        let mut sdes = 3u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 4, b'a', 0xff, b'b', 0, 0, 0]); // 4+6+1 null = 11 -> 12
        let (pkts, err) = parse_rtcp(&pkt(0x81, 202, &sdes));
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![RtcpPacket::Sdes {
                chunks: vec![(3, vec![(1, "a\u{fffd}b".to_owned())])]
            }]
        );
        // A 255-byte item (the maximum the length byte allows).
        let mut sdes = 3u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 255]);
        sdes.extend(std::iter::repeat_n(b'q', 255));
        sdes.push(0); // 4+2+255+1 = 262 -> 264
        sdes.extend_from_slice(&[0, 0]);
        let (pkts, err) = parse_rtcp(&pkt(0x81, 202, &sdes));
        assert_eq!(err, None);
        let RtcpPacket::Sdes { chunks } = &pkts[0] else {
            panic!()
        };
        assert_eq!(chunks[0].1[0].1, "q".repeat(255));
    }

    #[test]
    fn xr_without_voip_metrics_and_with_two() {
        let mut xr = 5u32.to_be_bytes().to_vec();
        xr.extend_from_slice(&[6, 0, 0, 0]); // empty unknown block
        xr.extend(voip_metrics_block());
        xr.extend(voip_metrics_block());
        let (pkts, err) = parse_rtcp(&pkt(0x80, 207, &xr));
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![RtcpPacket::Xr {
                ssrc: 5,
                voip_metrics: vec![expected_voip_metrics(), expected_voip_metrics()]
            }]
        );
        let (pkts, err) = parse_rtcp(&pkt(0x80, 207, &5u32.to_be_bytes()));
        assert_eq!(err, None);
        assert_eq!(
            pkts,
            vec![RtcpPacket::Xr {
                ssrc: 5,
                voip_metrics: vec![]
            }]
        );
    }

    #[test]
    fn short_and_bad_version() {
        let p = compound();
        for n in 0..4 {
            assert_eq!(
                parse_rtcp(&p[..n]),
                (vec![], Some(RtcpError::TooShort { len: n }))
            );
        }
        for v in [0u8, 1, 3] {
            let p = pkt(v << 6, 201, &1u32.to_be_bytes());
            assert_eq!(parse_rtcp(&p), (vec![], Some(RtcpError::BadVersion(v))));
        }
        // A bad version on a later sub-packet keeps the earlier ones and names the offset.
        let mut p = pkt(0x80, 201, &1u32.to_be_bytes());
        p.extend(pkt(0x40, 201, &2u32.to_be_bytes()));
        let (pkts, err) = parse_rtcp(&p);
        assert_eq!(pkts.len(), 1);
        assert_eq!(
            err,
            Some(RtcpError::Malformed {
                packet_type: 201,
                offset: 8,
                what: "version 1 (must be 2)".to_owned()
            })
        );
    }

    #[test]
    fn length_past_end_keeps_earlier_packets() {
        let mut p = pkt(0x80, 201, &1u32.to_be_bytes());
        p.extend_from_slice(&[0x80, 200, 0x00, 0x06, 0, 0, 0, 1]);
        let (pkts, err) = parse_rtcp(&p);
        assert_eq!(
            pkts,
            vec![RtcpPacket::ReceiverReport {
                ssrc: 1,
                reports: vec![]
            }]
        );
        assert_eq!(
            err,
            Some(RtcpError::LengthPastEnd {
                packet_type: 200,
                offset: 8,
                claimed: 28,
                available: 8
            })
        );
        assert_eq!(
            err.unwrap().to_string(),
            "RTCP packet type 200 at offset 8 claims 28 bytes but 8 remain"
        );
    }

    #[test]
    fn trailing_bytes_shorter_than_a_header() {
        let mut p = pkt(0x80, 201, &1u32.to_be_bytes());
        p.extend_from_slice(&[0x80, 201]);
        let (pkts, err) = parse_rtcp(&p);
        assert_eq!(pkts.len(), 1);
        assert!(matches!(
            err,
            Some(RtcpError::Malformed {
                packet_type: 0,
                offset: 8,
                ..
            })
        ));
    }

    fn malformed(data: &[u8]) -> (usize, u8, usize, String) {
        let (pkts, err) = parse_rtcp(data);
        match err {
            Some(RtcpError::Malformed {
                packet_type,
                offset,
                what,
            }) => (pkts.len(), packet_type, offset, what),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn report_count_claiming_more_blocks_than_fit() {
        // RR claims 31 blocks but has 1.
        let mut rr = 1u32.to_be_bytes().to_vec();
        rr.extend(report_block(2, 0, [0, 0, 0], 0, 0, 0, 0));
        let (n, pt, off, what) = malformed(&pkt(0x9f, 201, &rr));
        assert_eq!((n, pt, off), (0, 201, 0));
        assert_eq!(
            what,
            "report count 31 needs 748 bytes after the header but the packet has 28"
        );
        // SR claims 2 blocks, has 1, after a valid RR.
        let mut p = pkt(0x80, 201, &1u32.to_be_bytes());
        let mut sr = vec![0; 24];
        sr.extend(report_block(2, 0, [0, 0, 0], 0, 0, 0, 0));
        p.extend(pkt(0x82, 200, &sr));
        let (n, pt, off, what) = malformed(&p);
        assert_eq!((n, pt, off), (1, 200, 8));
        assert!(what.starts_with("report count 2 needs 72 bytes"), "{what}");
        // SR without a full sender info.
        let (_, pt, _, what) = malformed(&pkt(0x80, 200, &[0; 20]));
        assert_eq!(pt, 200);
        assert!(what.starts_with("sender info needs 24 bytes"), "{what}");
        // RR without an SSRC.
        let (_, pt, _, _) = malformed(&pkt(0x80, 201, &[]));
        assert_eq!(pt, 201);
    }

    #[test]
    fn sdes_errors() {
        // Unterminated items: the item list runs to the end without a null item.
        let mut sdes = 1u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 2, b'a', b'b']);
        let (n, pt, off, what) = malformed(&pkt(0x81, 202, &sdes));
        assert_eq!((n, pt, off), (0, 202, 0));
        assert!(what.contains("not terminated"), "{what}");
        // An item whose length runs past the end.
        let mut sdes = 1u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 9, b'a', b'b']);
        let (_, _, _, what) = malformed(&pkt(0x81, 202, &sdes));
        assert!(what.contains("runs past the end"), "{what}");
        // A type byte with no length byte.
        let mut sdes = 1u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[1, 1, b'a', 1]);
        let (_, _, _, what) = malformed(&pkt(0x81, 202, &sdes));
        assert!(what.contains("no length byte"), "{what}");
        // Source count 3 with one chunk.
        let mut sdes = 1u32.to_be_bytes().to_vec();
        sdes.extend_from_slice(&[0, 0, 0, 0]);
        let (_, _, _, what) = malformed(&pkt(0x83, 202, &sdes));
        assert!(what.contains("chunk 2"), "{what}");
    }

    #[test]
    fn bye_and_app_errors() {
        let (_, pt, _, what) = malformed(&pkt(0x83, 203, &[0; 8]));
        assert_eq!(pt, 203);
        assert!(what.starts_with("source count 3 needs 12 bytes"), "{what}");
        let mut bye = 1u32.to_be_bytes().to_vec();
        bye.extend_from_slice(&[9, b'a', b'b', b'c']);
        let (_, _, _, what) = malformed(&pkt(0x81, 203, &bye));
        assert_eq!(what, "reason of 9 bytes runs past the end");
        let (_, pt, _, _) = malformed(&pkt(0x80, 204, &[0; 4]));
        assert_eq!(pt, 204);
    }

    #[test]
    fn xr_errors() {
        // Block length past the end.
        let mut xr = 5u32.to_be_bytes().to_vec();
        xr.extend_from_slice(&[7, 0, 0, 8, 0, 0, 0, 0]);
        let (n, pt, off, what) = malformed(&pkt(0x80, 207, &xr));
        assert_eq!((n, pt, off), (0, 207, 0));
        assert_eq!(
            what,
            "XR block type 7 at body offset 4 claims 32 bytes but 4 remain"
        );
        // VoIP metrics block too short for its fields.
        let mut xr = 5u32.to_be_bytes().to_vec();
        xr.extend_from_slice(&[7, 0, 0, 1, 0, 0, 0, 0]);
        let (_, _, _, what) = malformed(&pkt(0x80, 207, &xr));
        assert!(what.contains("needs 32"), "{what}");
        // XR without SSRC.
        let (_, pt, _, _) = malformed(&pkt(0x80, 207, &[]));
        assert_eq!(pt, 207);
    }

    #[test]
    fn padding() {
        // Padding on the last packet is removed before decoding: an RR with 4 padding bytes decodes as an RR with
        // no report blocks, and a BYE's reason does not swallow the padding.
        let mut p = pkt(0x80, 201, &1u32.to_be_bytes());
        let mut bye = 2u32.to_be_bytes().to_vec();
        bye.extend_from_slice(&[2, b'o', b'k', 0, 0, 0, 0, 0, 0, 0, 0, 8]);
        p.extend(pkt(0xa1, 203, &bye));
        let (pkts, err) = parse_rtcp(&p);
        assert_eq!(err, None);
        assert_eq!(
            pkts[1],
            RtcpPacket::Bye {
                ssrcs: vec![2],
                reason: Some("ok".to_owned())
            }
        );
        // Report block count checked against the unpadded length: count 1 but the block is padding.
        let mut rr = 1u32.to_be_bytes().to_vec();
        rr.extend(std::iter::repeat_n(0, 23));
        rr.push(24);
        let (_, pt, _, what) = malformed(&pkt(0xa1, 201, &rr));
        assert_eq!(pt, 201);
        assert!(what.contains("has 4"), "{what}");
        // Padding count 0, and larger than the packet.
        let (_, _, _, what) = malformed(&pkt(0xa0, 201, &[0, 0, 0, 1, 0, 0, 0, 0]));
        assert!(what.starts_with("padding of 0 bytes"), "{what}");
        let (_, _, _, what) = malformed(&pkt(0xa0, 201, &[0, 0, 0, 1, 0, 0, 0, 9]));
        assert!(what.starts_with("padding of 9 bytes"), "{what}");
    }

    #[test]
    fn ntp_middle32_values() {
        // Unix epoch = NTP 2208988800 = 0x83aa7e80 s.
        assert_eq!(ntp_middle32(0), 0x7e80_0000);
        assert_eq!(ntp_middle32(1_500_000_000), 0x7e81_8000);
        assert_eq!(ntp_middle32(-1), 0x7e7f_ffff);
        // sip_ipv4_tcp.pcap frame 17's arrival time, 1311857690.972317 s.
        assert_eq!(ntp_middle32(1_311_857_690_972_317_000), 0xda9a_f8e9);
        // Extremes do not overflow.
        let _ = ntp_middle32(i64::MIN);
        let _ = ntp_middle32(i64::MAX);
    }

    #[test]
    fn rtt_values() {
        // 0x1000 units = 62.5 ms.
        assert_eq!(rtt_ms(0x0001_1000, 0x0001_0000, 0), Some(62.5));
        assert_eq!(rtt_ms(0x0002_1000, 0x0001_0000, 0x0001_0000), Some(62.5));
        assert_eq!(rtt_ms(0x0001_0000, 0x0001_0000, 0), Some(0.0));
        // Wrapping across the 32-bit boundary.
        assert_eq!(rtt_ms(0x0000_0800, 0xffff_f800, 0), Some(62.5));
        // No SR yet.
        assert_eq!(rtt_ms(0x1234_5678, 0, 0), None);
        // Negative.
        assert_eq!(rtt_ms(0x0001_0000, 0x0001_0000, 1), None);
        // Exactly 60 s accepted, just above rejected.
        assert_eq!(rtt_ms(60 * 65536 + 1, 1, 0), Some(60_000.0));
        assert_eq!(rtt_ms(60 * 65536 + 2, 1, 0), None);
        // The real frame 17 report block: DLSR 1048 units = 15.99 ms; an arrival 66 units (~1 ms) after LSR+DLSR.
        let lsr = 153_432_162;
        let dlsr = 1048;
        let rtt = rtt_ms(lsr + dlsr + 66, lsr, dlsr).unwrap();
        assert!((rtt - 66.0 * 1000.0 / 65536.0).abs() < 1e-9);
    }

    #[test]
    fn no_panic_sweep() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let types = [200u8, 201, 202, 203, 204, 205, 207];
        for _ in 0..20_000 {
            let len = rng.below(160);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Make most inputs look like RTCP (V=2, a known type, a length roughly matching) to reach the bodies.
            if rng.below(4) != 0 && buf.len() >= 4 {
                buf[0] = (buf[0] & 0x3f) | 0x80;
                buf[1] = types[rng.below(types.len())];
                let words = (buf.len() / 4)
                    .saturating_sub(1)
                    .saturating_add(rng.below(2)) as u16;
                buf[2..4].copy_from_slice(&words.to_be_bytes());
            }
            let (pkts, _) = parse_rtcp(&buf);
            assert!(pkts.len() <= buf.len() / 4);
        }
        let valid = [
            hex(AAA_FRAME633),
            hex(TCP_FRAME14),
            hex(TCP_FRAME17),
            compound(),
        ];
        for p in &valid {
            assert_eq!(parse_rtcp(p).1, None);
            for n in 0..=p.len() {
                let _ = parse_rtcp(&p[..n]);
            }
        }
        for _ in 0..10_000 {
            let _ = rtt_ms(rng.next() as u32, rng.next() as u32, rng.next() as u32);
            let _ = ntp_middle32(rng.next() as i64);
        }
    }
}
