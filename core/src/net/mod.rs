//! Link layer, tunnels and IP: turns one captured frame into an IP packet with its transport header, stateless so
//! frames decode in parallel. Owns: link types (Ethernet, SLL, SLL2, null/loopback, raw IP), 802.1Q/QinQ, PPPoE,
//! PPP, GRE (incl. 0x6558 TEB and PPTP enhanced GRE), IP-in-IP, IPv6-in-IPv4, IPv4/IPv6 headers and extension
//! headers, UDP/TCP/SCTP headers. IP fragments are handed to [`defrag`] (stateful, sequential).
//! May import: `model` only.

pub mod defrag;

use std::borrow::Cow;
use std::net::IpAddr;

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

/// Decode a captured frame of the given link type down to the innermost IP packet and its transport header.
pub fn decode_frame(link_type: u32, data: &[u8]) -> NetOutcome<'_> {
    let _ = (link_type, data);
    NetOutcome::Malformed("net::decode_frame not implemented".into())
}

/// Continue decoding after reassembly: `payload` is the reassembled payload of an IP datagram with the given
/// protocol number between `src` and `dst` (which may itself be a tunnel: IP-in-IP, GRE, IPv6-in-IPv4).
/// `encapsulation` is what the fragments' outer layers recorded.
pub fn decode_ip_payload(
    encapsulation: Encapsulation,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &[u8],
) -> NetOutcome<'_> {
    let _ = (encapsulation, src, dst, protocol, payload);
    NetOutcome::Malformed("net::decode_ip_payload not implemented".into())
}
