//! Link layer, tunnels and IP: turns one captured frame into an IP packet with its transport header, stateless so
//! frames decode in parallel. Owns: link types (Ethernet, SLL, SLL2, null/loopback, raw IP), 802.1Q/QinQ, PPPoE,
//! PPP, GRE (incl. 0x6558 TEB and PPTP enhanced GRE), IP-in-IP, IPv6-in-IPv4, IPv4/IPv6 headers and extension
//! headers, UDP/TCP/SCTP headers. IP fragments are handed to [`defrag`] (stateful, sequential).
//! May import: `model` only.

pub mod defrag;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::Encapsulation;

/// Link-layer type numbers (LINKTYPE_*) we decode.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// Human name of a link type for reports (`ethernet`, `linux-sll`, ...; `linktype-N` when unknown).
pub fn link_type_name(link_type: u32) -> String {
    match link_type {
        linktype::NULL => "null".into(),
        linktype::ETHERNET => "ethernet".into(),
        linktype::RAW => "raw-ip".into(),
        linktype::LOOP => "loop".into(),
        linktype::LINUX_SLL => "linux-sll".into(),
        linktype::IPV4 => "ipv4".into(),
        linktype::IPV6 => "ipv6".into(),
        linktype::LINUX_SLL2 => "linux-sll2".into(),
        other => format!("linktype-{other}"),
    }
}

/// A TCP segment's header fields and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub ack_flag: bool,
    pub payload: Cow<'a, [u8]>,
}

/// An IPv4 or IPv6 fragment, to be given to [`defrag::Defragmenter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Protocol of the reassembled payload (IPv4 protocol / IPv6 next header after the fragment header).
    pub protocol: u8,
    /// Offset of this fragment's data in the reassembled payload, in bytes.
    pub offset: u32,
    pub more_fragments: bool,
    pub data: Cow<'a, [u8]>,
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4<'a> {
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: Cow<'a, [u8]>,
    },
    Tcp(TcpSegment<'a>),
    /// SCTP common header ports and the chunk bytes that follow it (not parsed here).
    Sctp {
        src_port: u16,
        dst_port: u16,
        chunks: Cow<'a, [u8]>,
    },
    /// An IP fragment: the pipeline reassembles it and then calls [`decode_ip_payload`] on the result.
    Fragment(Fragment<'a>),
    /// Any other protocol (ICMP, ESP, ...), counted and skipped.
    Other {
        protocol: u8,
    },
}

/// An IP packet (the innermost one, after tunnels) with its transport layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPacket<'a> {
    pub encapsulation: Encapsulation,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4<'a>,
}

/// What decoding one frame gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutcome<'a> {
    Packet(NetPacket<'a>),
    /// A frame that carries no IP (ARP, LLDP, STP, ...): counted, not a problem. The string names what it was.
    NotIp(String),
    /// The frame is damaged or truncated at some layer; the string says what and where (layer and offset).
    Malformed(String),
}

/// Most tunnel layers (IP-in-IP, IPv6-in-IP, GRE) decoded in one frame before it is declared malformed.
pub const MAX_TUNNEL_NESTING: u8 = 8;
/// Most VLAN tags accepted in one frame (all layers together).
pub const MAX_VLAN_TAGS: usize = 8;
/// Most IPv6 extension headers walked before the packet is declared malformed.
const MAX_IPV6_EXT_HEADERS: usize = 16;

/// Decode a captured frame of the given link type down to the innermost IP packet and its transport header.
///
/// Unknown link types give [`NetOutcome::NotIp`] (`unsupported link type N`).
pub fn decode_frame(link_type: u32, data: &[u8]) -> NetOutcome<'_> {
    let mut d = Decoder::new(Encapsulation::default());
    d.link(link_type, data)
}

/// Continue decoding after reassembly: `payload` is the reassembled payload of an IP datagram with the given
/// protocol number between `src` and `dst` (which may itself be a tunnel: IP-in-IP, GRE, IPv6-in-IPv4).
/// `encapsulation` is what the fragments' outer layers recorded.
///
/// Offsets in [`NetOutcome::Malformed`] messages are relative to `payload`.
pub fn decode_ip_payload(
    encapsulation: Encapsulation,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &[u8],
) -> NetOutcome<'_> {
    let mut d = Decoder::new(encapsulation);
    d.ip_payload(protocol, payload, 0, src, dst)
}

/// Big-endian u16 at `off`, if the bytes are there.
fn be16(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Big-endian u32 at `off`, if the bytes are there.
fn be32(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

fn byte(d: &[u8], off: usize) -> Option<u8> {
    d.get(off).copied()
}

/// `d[from..]`, or an empty slice when `from` is past the end.
fn tail(d: &[u8], from: usize) -> &[u8] {
    d.get(from..).unwrap_or_default()
}

/// `d[..len]`, or all of `d` when it is shorter (snaplen).
fn head(d: &[u8], len: usize) -> &[u8] {
    d.get(..len).unwrap_or(d)
}

fn truncated<'a>(layer: &str, what: &str, need: usize, have: usize, at: usize) -> NetOutcome<'a> {
    NetOutcome::Malformed(format!(
        "{layer}: {what} truncated ({have} of {need} bytes) at offset {at}"
    ))
}

fn malformed<'a>(layer: &str, what: impl std::fmt::Display, at: usize) -> NetOutcome<'a> {
    NetOutcome::Malformed(format!("{layer}: {what} at offset {at}"))
}

/// Per-frame decoding state: what the outer layers recorded so far.
struct Decoder {
    enc: Encapsulation,
    /// Tunnel layers entered in this decode (bounded by [`MAX_TUNNEL_NESTING`]); starts at the given
    /// encapsulation's depth so reassembled payloads stay bounded too.
    nesting: u8,
}

impl Decoder {
    fn new(enc: Encapsulation) -> Self {
        let nesting = enc.tunnel_depth;
        Decoder { enc, nesting }
    }

    /// Enter one more tunnel layer; `Err` once the nesting bound is passed.
    fn enter_tunnel<'a>(&mut self, at: usize) -> Result<(), NetOutcome<'a>> {
        self.nesting = self.nesting.saturating_add(1);
        if self.nesting > MAX_TUNNEL_NESTING {
            return Err(malformed(
                "tunnel",
                format_args!("nesting deeper than {MAX_TUNNEL_NESTING} layers"),
                at,
            ));
        }
        self.enc.tunnel_depth = self.enc.tunnel_depth.saturating_add(1);
        Ok(())
    }

    fn link<'a>(&mut self, link_type: u32, data: &'a [u8]) -> NetOutcome<'a> {
        match link_type {
            linktype::ETHERNET => self.ethernet(data, 0),
            linktype::LINUX_SLL => {
                if data.len() < 16 {
                    return truncated("linux-sll", "header", 16, data.len(), 0);
                }
                if be16(data, 2) == Some(ARPHRD_NETLINK) {
                    return NetOutcome::NotIp("netlink".into());
                }
                let Some(proto) = be16(data, 14) else {
                    return truncated("linux-sll", "header", 16, data.len(), 0);
                };
                self.ethertype(proto, tail(data, 16), 16)
            }
            linktype::LINUX_SLL2 => {
                if data.len() < 20 {
                    return truncated("linux-sll2", "header", 20, data.len(), 0);
                }
                if be16(data, 8) == Some(ARPHRD_NETLINK) {
                    return NetOutcome::NotIp("netlink".into());
                }
                let Some(proto) = be16(data, 0) else {
                    return truncated("linux-sll2", "header", 20, data.len(), 0);
                };
                self.ethertype(proto, tail(data, 20), 20)
            }
            linktype::NULL | linktype::LOOP => {
                let name = if link_type == linktype::NULL {
                    "null"
                } else {
                    "loop"
                };
                let Some(raw) = data.get(..4) else {
                    return truncated(name, "header", 4, data.len(), 0);
                };
                let bytes = [
                    raw.first().copied().unwrap_or(0),
                    raw.get(1).copied().unwrap_or(0),
                    raw.get(2).copied().unwrap_or(0),
                    raw.get(3).copied().unwrap_or(0),
                ];
                let be = u32::from_be_bytes(bytes);
                let family = if link_type == linktype::LOOP {
                    be
                } else {
                    // The capturing host's byte order: the family is a small number, so whichever order gives
                    // one is the right one.
                    let le = u32::from_le_bytes(bytes);
                    if le <= 0xff { le } else { be }
                };
                let payload = tail(data, 4);
                match family {
                    2 => self.ipv4(payload, 4),
                    10 | 24 | 28 | 30 => self.ipv6(payload, 4),
                    other => NetOutcome::NotIp(format!("{name} address family {other}")),
                }
            }
            linktype::RAW => match byte(data, 0).map(|b| b >> 4) {
                Some(4) => self.ipv4(data, 0),
                Some(6) => self.ipv6(data, 0),
                Some(v) => malformed("raw-ip", format_args!("IP version {v}"), 0),
                None => truncated("raw-ip", "header", 1, 0, 0),
            },
            linktype::IPV4 => self.ipv4(data, 0),
            linktype::IPV6 => self.ipv6(data, 0),
            other => NetOutcome::NotIp(format!("unsupported link type {other}")),
        }
    }

    /// An Ethernet II / 802.3 frame starting at `base` in the outermost buffer.
    fn ethernet<'a>(&mut self, d: &'a [u8], base: usize) -> NetOutcome<'a> {
        let Some(et) = be16(d, 12) else {
            return truncated("ethernet", "header", 14, d.len(), base);
        };
        self.ethertype(et, tail(d, 14), base + 14)
    }

    /// Dispatch on an EtherType; `d` starts right after the type field, at `base`.
    fn ethertype<'a>(&mut self, mut et: u16, mut d: &'a [u8], mut base: usize) -> NetOutcome<'a> {
        loop {
            match et {
                ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                    let (Some(tci), Some(next)) = (be16(d, 0), be16(d, 2)) else {
                        return truncated("vlan", "tag", 4, d.len(), base);
                    };
                    if self.enc.vlan_ids.len() >= MAX_VLAN_TAGS {
                        return malformed(
                            "vlan",
                            format_args!("more than {MAX_VLAN_TAGS} tags"),
                            base,
                        );
                    }
                    self.enc.vlan_ids.push(tci & 0x0fff);
                    et = next;
                    d = tail(d, 4);
                    base += 4;
                }
                ETH_IPV4 => return self.ipv4(d, base),
                ETH_IPV6 => return self.ipv6(d, base),
                ETH_PPPOE_SESSION => return self.pppoe(d, base),
                ETH_MPLS | ETH_MPLS_MC => return self.mpls(d, base),
                ETH_ARP => return NetOutcome::NotIp("arp".into()),
                ETH_RARP => return NetOutcome::NotIp("rarp".into()),
                ETH_LLDP => return NetOutcome::NotIp("lldp".into()),
                ETH_PPPOE_DISCOVERY => return NetOutcome::NotIp("pppoe-discovery".into()),
                0x888e => return NetOutcome::NotIp("eapol".into()),
                0x8809 => return NetOutcome::NotIp("slow-protocols".into()),
                0x88f7 => return NetOutcome::NotIp("ptp".into()),
                0x9000 => return NetOutcome::NotIp("loopback".into()),
                t if t < 0x0600 => {
                    // 802.3 length field: LLC follows (STP, CDP, ...).
                    let name = match (byte(d, 0), byte(d, 1)) {
                        (Some(0x42), Some(0x42)) => "stp",
                        (Some(0xaa), Some(0xaa)) => "llc-snap",
                        _ => "llc",
                    };
                    return NetOutcome::NotIp(name.into());
                }
                other => return NetOutcome::NotIp(format!("ethertype 0x{other:04x}")),
            }
        }
    }

    /// PPPoE session header (6 bytes), then PPP.
    fn pppoe<'a>(&mut self, d: &'a [u8], base: usize) -> NetOutcome<'a> {
        let (Some(vt), Some(code), Some(len)) = (byte(d, 0), byte(d, 1), be16(d, 4)) else {
            return truncated("pppoe", "header", 6, d.len(), base);
        };
        if vt != 0x11 {
            return malformed("pppoe", format_args!("version/type 0x{vt:02x}"), base);
        }
        if code != 0 {
            return malformed(
                "pppoe",
                format_args!("session packet with code 0x{code:02x}"),
                base + 1,
            );
        }
        let payload = head(tail(d, 6), usize::from(len));
        self.ppp(payload, base + 6)
    }

    /// PPP: optional address/control (0xFF 0x03), then a 1-byte (compressed, odd) or 2-byte protocol.
    fn ppp<'a>(&mut self, mut d: &'a [u8], mut base: usize) -> NetOutcome<'a> {
        if d.first() == Some(&0xff) && d.get(1) == Some(&0x03) {
            d = tail(d, 2);
            base += 2;
        }
        let Some(first) = byte(d, 0) else {
            return truncated("ppp", "protocol", 1, 0, base);
        };
        let (proto, len) = if first & 1 == 1 {
            (u16::from(first), 1)
        } else {
            match be16(d, 0) {
                Some(p) => (p, 2),
                None => return truncated("ppp", "protocol", 2, d.len(), base),
            }
        };
        let payload = tail(d, len);
        let at = base + len;
        match proto {
            0x0021 => self.ipv4(payload, at),
            0x0057 => self.ipv6(payload, at),
            0xc021 => NetOutcome::NotIp("ppp-lcp".into()),
            0x8021 => NetOutcome::NotIp("ppp-ipcp".into()),
            0x8057 => NetOutcome::NotIp("ppp-ipv6cp".into()),
            0xc023 => NetOutcome::NotIp("ppp-pap".into()),
            0xc223 => NetOutcome::NotIp("ppp-chap".into()),
            0x80fd => NetOutcome::NotIp("ppp-ccp".into()),
            0x00fd => NetOutcome::NotIp("ppp-compressed".into()),
            other => NetOutcome::NotIp(format!("ppp protocol 0x{other:04x}")),
        }
    }

    /// MPLS label stack (4 bytes per label until bottom of stack), then IP guessed from the version nibble.
    fn mpls<'a>(&mut self, mut d: &'a [u8], mut base: usize) -> NetOutcome<'a> {
        for _ in 0..MAX_MPLS_LABELS {
            let Some(entry) = be32(d, 0) else {
                return truncated("mpls", "label", 4, d.len(), base);
            };
            d = tail(d, 4);
            base += 4;
            if entry & 0x100 != 0 {
                return match byte(d, 0).map(|b| b >> 4) {
                    Some(4) => self.ipv4(d, base),
                    Some(6) => self.ipv6(d, base),
                    _ => NetOutcome::NotIp("mpls payload".into()),
                };
            }
        }
        malformed(
            "mpls",
            format_args!("more than {MAX_MPLS_LABELS} labels"),
            base,
        )
    }

    fn ipv4<'a>(&mut self, d: &'a [u8], base: usize) -> NetOutcome<'a> {
        let Some(hdr) = d.get(..20) else {
            return truncated("ipv4", "header", 20, d.len(), base);
        };
        let vihl = byte(hdr, 0).unwrap_or(0);
        if vihl >> 4 != 4 {
            return malformed("ipv4", format_args!("version {}", vihl >> 4), base);
        }
        let ihl = usize::from(vihl & 0x0f) * 4;
        if ihl < 20 {
            return malformed("ipv4", format_args!("header length {ihl}"), base);
        }
        if d.len() < ihl {
            return truncated("ipv4", "header with options", ihl, d.len(), base);
        }
        let total = usize::from(be16(hdr, 2).unwrap_or(0));
        // Total length 0 is what segmentation offload leaves in locally captured packets: take the rest.
        let end = if total == 0 {
            d.len()
        } else if total < ihl {
            return malformed(
                "ipv4",
                format_args!("total length {total} below header length {ihl}"),
                base + 2,
            );
        } else {
            // Cut Ethernet padding; keep what the snaplen left when the capture is short.
            total.min(d.len())
        };
        let id = be16(hdr, 4).unwrap_or(0);
        let frag = be16(hdr, 6).unwrap_or(0);
        let proto = byte(hdr, 9).unwrap_or(0);
        let src = ipv4_addr(hdr, 12);
        let dst = ipv4_addr(hdr, 16);
        let payload = d.get(ihl..end).unwrap_or_default();
        let more = frag & 0x2000 != 0;
        let offset = u32::from(frag & 0x1fff) * 8;
        if more || offset != 0 {
            if total > d.len() {
                // A partial fragment would make reassembly produce wrong bytes: refuse it.
                return truncated("ipv4", "fragment (capture cut short)", total, d.len(), base);
            }
            return self.packet(
                src,
                dst,
                L4::Fragment(Fragment {
                    id: u32::from(id),
                    protocol: proto,
                    offset,
                    more_fragments: more,
                    data: Cow::Borrowed(payload),
                }),
            );
        }
        self.ip_payload(proto, payload, base + ihl, src, dst)
    }

    fn ipv6<'a>(&mut self, d: &'a [u8], base: usize) -> NetOutcome<'a> {
        let Some(hdr) = d.get(..40) else {
            return truncated("ipv6", "header", 40, d.len(), base);
        };
        let version = byte(hdr, 0).unwrap_or(0) >> 4;
        if version != 6 {
            return malformed("ipv6", format_args!("version {version}"), base);
        }
        let plen = usize::from(be16(hdr, 4).unwrap_or(0));
        let mut next = byte(hdr, 6).unwrap_or(0);
        let src = ipv6_addr(hdr, 8);
        let dst = ipv6_addr(hdr, 24);
        let body = tail(d, 40);
        // Payload length 0 is a jumbogram (or offload): take the rest. Otherwise cut trailers.
        let mut p = if plen == 0 { body } else { head(body, plen) };
        let mut at = base + 40;
        for _ in 0..MAX_IPV6_EXT_HEADERS {
            match next {
                IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS | IPPROTO_AH => {
                    let (Some(nh), Some(hlen)) = (byte(p, 0), byte(p, 1)) else {
                        return truncated("ipv6", "extension header", 2, p.len(), at);
                    };
                    let len = if next == IPPROTO_AH {
                        (usize::from(hlen) + 2) * 4
                    } else {
                        (usize::from(hlen) + 1) * 8
                    };
                    if p.len() < len {
                        return truncated("ipv6", "extension header", len, p.len(), at);
                    }
                    next = nh;
                    p = tail(p, len);
                    at += len;
                }
                IPV6_FRAGMENT => {
                    let (Some(nh), Some(off_flags), Some(id)) =
                        (byte(p, 0), be16(p, 2), be32(p, 4))
                    else {
                        return truncated("ipv6", "fragment header", 8, p.len(), at);
                    };
                    let offset = u32::from(off_flags >> 3) * 8;
                    let more = off_flags & 1 != 0;
                    p = tail(p, 8);
                    at += 8;
                    if offset == 0 && !more {
                        // Atomic fragment (RFC 6946): not fragmented at all.
                        next = nh;
                        continue;
                    }
                    if plen > body.len() {
                        // A partial fragment would make reassembly produce wrong bytes: refuse it.
                        return truncated(
                            "ipv6",
                            "fragment (capture cut short)",
                            plen + 40,
                            d.len(),
                            base,
                        );
                    }
                    return self.packet(
                        src,
                        dst,
                        L4::Fragment(Fragment {
                            id,
                            protocol: nh,
                            offset,
                            more_fragments: more,
                            data: Cow::Borrowed(p),
                        }),
                    );
                }
                _ => return self.ip_payload(next, p, at, src, dst),
            }
        }
        malformed(
            "ipv6",
            format_args!("more than {MAX_IPV6_EXT_HEADERS} extension headers"),
            at,
        )
    }

    /// The payload of an (unfragmented or reassembled) IP packet with the given protocol, at `base`.
    fn ip_payload<'a>(
        &mut self,
        proto: u8,
        d: &'a [u8],
        base: usize,
        src: IpAddr,
        dst: IpAddr,
    ) -> NetOutcome<'a> {
        match proto {
            IPPROTO_UDP => {
                let (Some(sp), Some(dp), Some(len)) = (be16(d, 0), be16(d, 2), be16(d, 4)) else {
                    return truncated("udp", "header", 8, d.len(), base);
                };
                if d.len() < 8 {
                    return truncated("udp", "header", 8, d.len(), base);
                }
                let len = usize::from(len);
                let end = match len {
                    // Length 0: jumbogram / offload; take the rest.
                    0 => d.len(),
                    1..=7 => return malformed("udp", format_args!("length {len}"), base + 4),
                    _ => len.min(d.len()),
                };
                let payload = d.get(8..end).unwrap_or_default();
                self.packet(
                    src,
                    dst,
                    L4::Udp {
                        src_port: sp,
                        dst_port: dp,
                        payload: Cow::Borrowed(payload),
                    },
                )
            }
            IPPROTO_TCP => {
                let Some(hdr) = d.get(..20) else {
                    return truncated("tcp", "header", 20, d.len(), base);
                };
                let doff = usize::from(byte(hdr, 12).unwrap_or(0) >> 4) * 4;
                if doff < 20 {
                    return malformed("tcp", format_args!("data offset {doff}"), base + 12);
                }
                let Some(payload) = d.get(doff..) else {
                    return truncated("tcp", "header with options", doff, d.len(), base);
                };
                let flags = byte(hdr, 13).unwrap_or(0);
                let seg = TcpSegment {
                    src_port: be16(hdr, 0).unwrap_or(0),
                    dst_port: be16(hdr, 2).unwrap_or(0),
                    seq: be32(hdr, 4).unwrap_or(0),
                    ack: be32(hdr, 8).unwrap_or(0),
                    fin: flags & 0x01 != 0,
                    syn: flags & 0x02 != 0,
                    rst: flags & 0x04 != 0,
                    ack_flag: flags & 0x10 != 0,
                    payload: Cow::Borrowed(payload),
                };
                self.packet(src, dst, L4::Tcp(seg))
            }
            IPPROTO_SCTP => {
                let (Some(sp), Some(dp), Some(chunks)) = (be16(d, 0), be16(d, 2), d.get(12..))
                else {
                    return truncated("sctp", "common header", 12, d.len(), base);
                };
                self.packet(
                    src,
                    dst,
                    L4::Sctp {
                        src_port: sp,
                        dst_port: dp,
                        chunks: Cow::Borrowed(chunks),
                    },
                )
            }
            IPPROTO_IPIP => match self.enter_tunnel(base) {
                Ok(()) => self.ipv4(d, base),
                Err(e) => e,
            },
            IPPROTO_IPV6 => match self.enter_tunnel(base) {
                Ok(()) => self.ipv6(d, base),
                Err(e) => e,
            },
            IPPROTO_GRE => self.gre(d, base, src, dst),
            other => self.packet(src, dst, L4::Other { protocol: other }),
        }
    }

    /// GRE (RFC 2784/2890, RFC 1701 routing) version 0, and PPTP enhanced GRE (RFC 2637) version 1.
    /// A GRE packet whose payload we do not decode is reported as the outer packet with `L4::Other { 47 }`.
    fn gre<'a>(&mut self, d: &'a [u8], base: usize, src: IpAddr, dst: IpAddr) -> NetOutcome<'a> {
        let (Some(flags), Some(proto)) = (be16(d, 0), be16(d, 2)) else {
            return truncated("gre", "header", 4, d.len(), base);
        };
        let version = flags & 0x0007;
        let checksum = flags & 0x8000 != 0;
        let routing = flags & 0x4000 != 0;
        let key = flags & 0x2000 != 0;
        let seq = flags & 0x1000 != 0;
        let mut off = 4usize;
        let mut payload_len: Option<usize> = None;
        match version {
            0 => {
                if checksum || routing {
                    off += 4;
                }
                if key {
                    off += 4;
                }
                if seq {
                    off += 4;
                }
                if routing {
                    // Source route entries until the NULL SRE (family 0, length 0).
                    loop {
                        let (Some(af), Some(len)) = (be16(d, off), byte(d, off + 3)) else {
                            return truncated(
                                "gre",
                                "source route entry",
                                4,
                                d.len().saturating_sub(off),
                                base + off,
                            );
                        };
                        off += 4 + usize::from(len);
                        if af == 0 && len == 0 {
                            break;
                        }
                    }
                }
            }
            1 => {
                if !key {
                    return malformed("gre", "enhanced GRE (v1) without key field", base);
                }
                if proto != GRE_PPP {
                    return malformed(
                        "gre",
                        format_args!("enhanced GRE (v1) protocol 0x{proto:04x}"),
                        base + 2,
                    );
                }
                let Some(plen) = be16(d, 4) else {
                    return truncated("gre", "key", 8, d.len(), base);
                };
                payload_len = Some(usize::from(plen));
                off += 4;
                if seq {
                    off += 4;
                }
                if flags & 0x0080 != 0 {
                    off += 4; // acknowledgement number
                }
            }
            v => return malformed("gre", format_args!("version {v}"), base),
        }
        let Some(mut payload) = d.get(off..) else {
            return truncated("gre", "header", off, d.len(), base);
        };
        if let Some(plen) = payload_len {
            if plen == 0 {
                // PPTP acknowledgement without payload.
                return self.packet(
                    src,
                    dst,
                    L4::Other {
                        protocol: IPPROTO_GRE,
                    },
                );
            }
            payload = head(payload, plen);
        }
        let at = base + off;
        match proto {
            ETH_IPV4 | ETH_IPV6 | GRE_TEB | GRE_PPP | ETH_MPLS => {
                if let Err(e) = self.enter_tunnel(base) {
                    return e;
                }
                match proto {
                    ETH_IPV4 => self.ipv4(payload, at),
                    ETH_IPV6 => self.ipv6(payload, at),
                    GRE_TEB => self.ethernet(payload, at),
                    GRE_PPP => self.ppp(payload, at),
                    _ => self.mpls(payload, at),
                }
            }
            _ => self.packet(
                src,
                dst,
                L4::Other {
                    protocol: IPPROTO_GRE,
                },
            ),
        }
    }

    fn packet<'a>(&mut self, src: IpAddr, dst: IpAddr, l4: L4<'a>) -> NetOutcome<'a> {
        NetOutcome::Packet(NetPacket {
            encapsulation: std::mem::take(&mut self.enc),
            src,
            dst,
            l4,
        })
    }
}

fn ipv4_addr(hdr: &[u8], off: usize) -> IpAddr {
    let mut a = [0u8; 4];
    if let Some(b) = hdr.get(off..off + 4) {
        a.copy_from_slice(b);
    }
    IpAddr::V4(Ipv4Addr::from(a))
}

fn ipv6_addr(hdr: &[u8], off: usize) -> IpAddr {
    let mut a = [0u8; 16];
    if let Some(b) = hdr.get(off..off + 16) {
        a.copy_from_slice(b);
    }
    IpAddr::V6(Ipv6Addr::from(a))
}

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_RARP: u16 = 0x8035;
const ETH_VLAN: u16 = 0x8100;
const ETH_IPV6: u16 = 0x86dd;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_DISCOVERY: u16 = 0x8863;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_QINQ: u16 = 0x88a8;
const ETH_LLDP: u16 = 0x88cc;
const ETH_QINQ_OLD: u16 = 0x9100;
const GRE_TEB: u16 = 0x6558;
const GRE_PPP: u16 = 0x880b;
const ARPHRD_NETLINK: u16 = 824;
const MAX_MPLS_LABELS: usize = 8;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IPV6: u8 = 41;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPPROTO_GRE: u8 = 47;
const IPPROTO_AH: u8 = 51;
const IPV6_DEST_OPTS: u8 = 60;
const IPPROTO_SCTP: u8 = 132;
