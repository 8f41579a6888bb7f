//! Tests for `net`: frames built byte by byte, a no-panic loop, and the real captures in `../shared/captures`.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------------------------
// Frame builders.

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const C4: [u8; 4] = [192, 0, 2, 1];
const D4: [u8; 4] = [192, 0, 2, 2];

fn a6() -> [u8; 16] {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets()
}
fn b6() -> [u8; 16] {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets()
}

fn ip4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}
fn ip6(a: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Ethernet II with optional tags (tpid, vlan id), outermost first.
fn eth_tagged(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (tpid, id) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(0x2000 | id).to_be_bytes()); // priority 1, to check masking
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    eth_tagged(&[], ethertype, payload)
}

fn ipv4_hdr(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    frag: u16,
    payload_len: usize,
) -> Vec<u8> {
    let total = (20 + payload_len) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &ipv4_hdr(src, dst, proto, 0x1234, 0x4000, payload.len()),
        payload,
    ])
}

fn ipv4_frag(id: u16, offset: u16, more: bool, proto: u8, data: &[u8]) -> Vec<u8> {
    let frag = (offset / 8) | if more { 0x2000 } else { 0 };
    cat(&[&ipv4_hdr(A4, B4, proto, id, frag, data.len()), data])
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sp.to_be_bytes());
    h.extend_from_slice(&dp.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut h = Vec::new();
    h.extend_from_slice(&sp.to_be_bytes());
    h.extend_from_slice(&dp.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&ack.to_be_bytes());
    h.push((((20 + options.len()) / 4) as u8) << 4);
    h.push(flags);
    h.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    h.extend_from_slice(options);
    h.extend_from_slice(payload);
    h
}

fn sctp(sp: u16, dp: u16, chunks: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sp.to_be_bytes());
    h.extend_from_slice(&dp.to_be_bytes());
    h.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    h.extend_from_slice(chunks);
    h
}

/// GRE version 0 with optional checksum, key and sequence number.
fn gre0(checksum: bool, key: Option<u32>, seq: Option<u32>, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut flags = 0u16;
    if checksum {
        flags |= 0x8000;
    }
    if key.is_some() {
        flags |= 0x2000;
    }
    if seq.is_some() {
        flags |= 0x1000;
    }
    let mut h = Vec::new();
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&proto.to_be_bytes());
    if checksum {
        h.extend_from_slice(&[0xab, 0xcd, 0, 0]);
    }
    if let Some(k) = key {
        h.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        h.extend_from_slice(&s.to_be_bytes());
    }
    h.extend_from_slice(payload);
    h
}

/// PPTP enhanced GRE (version 1) carrying PPP.
fn gre1(seq: Option<u32>, ack: Option<u32>, ppp_payload: &[u8]) -> Vec<u8> {
    let mut flags = 0x2001u16;
    if seq.is_some() {
        flags |= 0x1000;
    }
    if ack.is_some() {
        flags |= 0x0080;
    }
    let mut h = Vec::new();
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&0x880bu16.to_be_bytes());
    h.extend_from_slice(&(ppp_payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&0x4242u16.to_be_bytes()); // call id
    if let Some(s) = seq {
        h.extend_from_slice(&s.to_be_bytes());
    }
    if let Some(a) = ack {
        h.extend_from_slice(&a.to_be_bytes());
    }
    h.extend_from_slice(ppp_payload);
    h
}

/// PPP frame: optional address/control, protocol compressed to 1 byte or not.
fn ppp(addr_ctl: bool, compressed: bool, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    if addr_ctl {
        h.extend_from_slice(&[0xff, 0x03]);
    }
    if compressed {
        h.push(proto as u8);
    } else {
        h.extend_from_slice(&proto.to_be_bytes());
    }
    h.extend_from_slice(payload);
    h
}

fn pppoe_session(ppp_frame: &[u8]) -> Vec<u8> {
    let mut h = vec![0x11, 0x00, 0x12, 0x34];
    h.extend_from_slice(&(ppp_frame.len() as u16).to_be_bytes());
    h.extend_from_slice(ppp_frame);
    h
}

fn sll(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    h.extend_from_slice(&proto.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn sll2(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&proto.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 6, 2, 0, 0, 0, 0, 1, 0]);
    h.extend_from_slice(payload);
    h
}

fn sip_udp4() -> Vec<u8> {
    ipv4(
        A4,
        B4,
        17,
        &udp(5060, 5061, b"OPTIONS sip:x SIP/2.0\r\n\r\n"),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Assertion helpers.

fn packet(out: NetOutcome<'_>) -> NetPacket<'_> {
    match out {
        NetOutcome::Packet(p) => p,
        other => panic!("expected a packet, got {other:?}"),
    }
}

/// Asserts a UDP packet and returns (ports, payload, encapsulation, src, dst).
#[allow(clippy::type_complexity)]
fn udp_of(out: NetOutcome<'_>) -> ((u16, u16), Vec<u8>, Encapsulation, IpAddr, IpAddr) {
    let p = packet(out);
    match p.l4 {
        L4::Udp {
            src_port,
            dst_port,
            payload,
        } => (
            (src_port, dst_port),
            payload.to_vec(),
            p.encapsulation,
            p.src,
            p.dst,
        ),
        other => panic!("expected UDP, got {other:?}"),
    }
}

fn enc(vlans: &[u16], depth: u8) -> Encapsulation {
    Encapsulation {
        vlan_ids: vlans.to_vec(),
        tunnel_depth: depth,
    }
}

fn malformed_msg(out: NetOutcome<'_>) -> String {
    match out {
        NetOutcome::Malformed(m) => m,
        other => panic!("expected malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Link types.

#[test]
fn ethernet_ipv4_udp_borrows_payload() {
    let frame = eth(0x0800, &sip_udp4());
    let p = packet(decode_frame(linktype::ETHERNET, &frame));
    assert_eq!(p.encapsulation, Encapsulation::default());
    assert_eq!((p.src, p.dst), (ip4(A4), ip4(B4)));
    match p.l4 {
        L4::Udp {
            src_port: 5060,
            dst_port: 5061,
            payload: Cow::Borrowed(b),
        } => assert_eq!(b, b"OPTIONS sip:x SIP/2.0\r\n\r\n"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn linux_sll_and_sll2() {
    let (ports, payload, e, ..) =
        udp_of(decode_frame(linktype::LINUX_SLL, &sll(0x0800, &sip_udp4())));
    assert_eq!(ports, (5060, 5061));
    assert!(payload.starts_with(b"OPTIONS"));
    assert_eq!(e, Encapsulation::default());
    let v6 = ipv6(a6(), b6(), 17, &udp(1, 2, b"x"));
    let (_, _, _, src, _) = udp_of(decode_frame(linktype::LINUX_SLL2, &sll2(0x86dd, &v6)));
    assert_eq!(src, ip6(a6()));
    // VLAN tag carried in the SLL protocol field.
    let tagged = sll(0x8100, &cat(&[&[0x00, 0x07, 0x08, 0x00], &sip_udp4()]));
    let (_, _, e, ..) = udp_of(decode_frame(linktype::LINUX_SLL, &tagged));
    assert_eq!(e.vlan_ids, vec![7]);
    assert!(
        matches!(decode_frame(linktype::LINUX_SLL, &sll(0x0806, &[0; 28])), NetOutcome::NotIp(n) if n == "arp")
    );
    assert!(matches!(
        decode_frame(linktype::LINUX_SLL, &[0; 15]),
        NetOutcome::Malformed(_)
    ));
    assert!(matches!(
        decode_frame(linktype::LINUX_SLL2, &[0; 19]),
        NetOutcome::Malformed(_)
    ));
}

#[test]
fn null_and_loop_families_in_both_byte_orders() {
    let v4 = sip_udp4();
    let v6 = ipv6(a6(), b6(), 17, &udp(1, 2, b"y"));
    for family_bytes in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
        let f = cat(&[&family_bytes, &v4]);
        assert_eq!(udp_of(decode_frame(linktype::NULL, &f)).3, ip4(A4));
    }
    for af in [10u8, 24, 28, 30] {
        for family_bytes in [[af, 0, 0, 0], [0, 0, 0, af]] {
            let f = cat(&[&family_bytes, &v6]);
            assert_eq!(
                udp_of(decode_frame(linktype::NULL, &f)).3,
                ip6(a6()),
                "AF {af}"
            );
        }
    }
    assert_eq!(
        udp_of(decode_frame(linktype::LOOP, &cat(&[&[0, 0, 0, 2], &v4]))).3,
        ip4(A4)
    );
    assert_eq!(
        udp_of(decode_frame(linktype::LOOP, &cat(&[&[0, 0, 0, 24], &v6]))).3,
        ip6(a6())
    );
    // LOOP is always network order: little-endian 2 is not AF_INET there.
    assert!(matches!(
        decode_frame(linktype::LOOP, &cat(&[&[2, 0, 0, 0], &v4])),
        NetOutcome::NotIp(_)
    ));
    assert!(matches!(
        decode_frame(linktype::NULL, &cat(&[&[7, 0, 0, 0], &v4])),
        NetOutcome::NotIp(_)
    ));
    assert!(matches!(
        decode_frame(linktype::NULL, &[2, 0]),
        NetOutcome::Malformed(_)
    ));
}

#[test]
fn raw_ip_link_types() {
    let v4 = sip_udp4();
    let v6 = ipv6(a6(), b6(), 17, &udp(1, 2, b"z"));
    assert_eq!(udp_of(decode_frame(linktype::RAW, &v4)).3, ip4(A4));
    assert_eq!(udp_of(decode_frame(linktype::RAW, &v6)).3, ip6(a6()));
    assert_eq!(udp_of(decode_frame(linktype::IPV4, &v4)).3, ip4(A4));
    assert_eq!(udp_of(decode_frame(linktype::IPV6, &v6)).3, ip6(a6()));
    assert!(malformed_msg(decode_frame(linktype::RAW, &[0x50; 40])).contains("version 5"));
    assert!(malformed_msg(decode_frame(linktype::IPV4, &v6)).starts_with("ipv4: version 6"));
    assert!(matches!(decode_frame(147, &v4), NetOutcome::NotIp(n) if n.contains("147")));
}

// ---------------------------------------------------------------------------------------------------------------
// VLAN, PPPoE, non-IP.

#[test]
fn vlan_and_qinq_ids_outermost_first() {
    let inner = sip_udp4();
    type Case<'a> = (&'a [(u16, u16)], &'a [u16]);
    let cases: &[Case] = &[
        (&[(0x8100, 142)], &[142]),
        (&[(0x88a8, 155), (0x8100, 1)], &[155, 1]),
        (&[(0x9100, 300), (0x8100, 4095)], &[300, 4095]),
        (&[(0x8100, 10), (0x8100, 20), (0x8100, 30)], &[10, 20, 30]),
    ];
    for (tags, ids) in cases {
        let (_, payload, e, ..) = udp_of(decode_frame(
            linktype::ETHERNET,
            &eth_tagged(tags, 0x0800, &inner),
        ));
        assert_eq!(e.vlan_ids, ids.to_vec());
        assert!(payload.starts_with(b"OPTIONS"));
    }
    let too_many = vec![(0x8100u16, 1u16); MAX_VLAN_TAGS + 1];
    assert!(
        malformed_msg(decode_frame(
            linktype::ETHERNET,
            &eth_tagged(&too_many, 0x0800, &inner)
        ))
        .contains("vlan")
    );
}

#[test]
fn pppoe_session_ipv4_and_ipv6() {
    let f = eth_tagged(
        &[(0x8100, 5)],
        0x8864,
        &pppoe_session(&ppp(false, false, 0x0021, &sip_udp4())),
    );
    let (ports, _, e, ..) = udp_of(decode_frame(linktype::ETHERNET, &f));
    assert_eq!(ports, (5060, 5061));
    assert_eq!(e, enc(&[5], 0), "PPPoE is not a tunnel");
    let v6 = ipv6(a6(), b6(), 17, &udp(7, 8, b"v6"));
    let f = eth(0x8864, &pppoe_session(&ppp(false, false, 0x0057, &v6)));
    assert_eq!(udp_of(decode_frame(linktype::ETHERNET, &f)).3, ip6(a6()));
    let lcp = eth(
        0x8864,
        &pppoe_session(&ppp(false, false, 0xc021, &[1, 1, 0, 4])),
    );
    assert!(
        matches!(decode_frame(linktype::ETHERNET, &lcp), NetOutcome::NotIp(n) if n == "ppp-lcp")
    );
    assert!(matches!(
        decode_frame(linktype::ETHERNET, &eth(0x8863, &[0x11, 9, 0, 0, 0, 0])),
        NetOutcome::NotIp(_)
    ));
}

#[test]
fn non_ip_frames_are_named() {
    let cases: &[(u16, &str)] = &[(0x0806, "arp"), (0x88cc, "lldp"), (0x8035, "rarp")];
    for (et, name) in cases {
        assert_eq!(
            decode_frame(linktype::ETHERNET, &eth(*et, &[0; 46])),
            NetOutcome::NotIp((*name).into())
        );
    }
    // 802.3 length field with STP LLC.
    let stp = eth(38, &cat(&[&[0x42, 0x42, 0x03], &[0; 35]]));
    assert_eq!(
        decode_frame(linktype::ETHERNET, &stp),
        NetOutcome::NotIp("stp".into())
    );
    assert_eq!(
        decode_frame(linktype::ETHERNET, &eth(100, &[0xf0; 46])),
        NetOutcome::NotIp("llc".into())
    );
    assert!(
        matches!(decode_frame(linktype::ETHERNET, &eth(0x1234, &[])), NetOutcome::NotIp(n) if n.contains("0x1234"))
    );
}

#[test]
fn mpls_label_stack() {
    let f = eth(
        0x8847,
        &cat(&[&[0, 0x01, 0x00, 0x40], &[0, 0x02, 0x01, 0x40], &sip_udp4()]),
    );
    assert_eq!(udp_of(decode_frame(linktype::ETHERNET, &f)).0, (5060, 5061));
}

// ---------------------------------------------------------------------------------------------------------------
// Tunnels.

#[test]
fn gre_v0_with_key_checksum_and_sequence() {
    let inner = ipv4(C4, D4, 17, &udp(5060, 5060, b"INVITE"));
    for (csum, key, seq) in [
        (false, Some(0xdead_beef), None),
        (true, Some(1), Some(2)),
        (false, None, None),
        (true, None, None),
        (false, None, Some(9)),
    ] {
        let f = eth(
            0x0800,
            &ipv4(A4, B4, 47, &gre0(csum, key, seq, 0x0800, &inner)),
        );
        let (ports, payload, e, src, dst) = udp_of(decode_frame(linktype::ETHERNET, &f));
        assert_eq!((ports, payload.as_slice()), ((5060, 5060), &b"INVITE"[..]));
        assert_eq!((src, dst), (ip4(C4), ip4(D4)), "innermost addresses");
        assert_eq!(e, enc(&[], 1));
    }
    // IPv6 inside GRE over IPv6.
    let inner6 = ipv6(b6(), a6(), 17, &udp(1, 2, b"g6"));
    let f = eth(
        0x86dd,
        &ipv6(a6(), b6(), 47, &gre0(false, Some(5), None, 0x86dd, &inner6)),
    );
    let (_, _, e, src, _) = udp_of(decode_frame(linktype::ETHERNET, &f));
    assert_eq!((e.tunnel_depth, src), (1, ip6(b6())));
    // Unknown GRE payload: the outer packet, as "other protocol 47".
    let f = eth(
        0x0800,
        &ipv4(A4, B4, 47, &gre0(false, None, None, 0x88be, &[0; 20])),
    );
    let p = packet(decode_frame(linktype::ETHERNET, &f));
    assert_eq!((p.l4, p.src), (L4::Other { protocol: 47 }, ip4(A4)));
    // Bad version.
    let mut bad = gre0(false, None, None, 0x0800, &inner);
    bad[1] = 3;
    assert!(
        malformed_msg(decode_frame(linktype::IPV4, &ipv4(A4, B4, 47, &bad)))
            .starts_with("gre: version 3")
    );
}

#[test]
fn gre_transparent_ethernet_bridging() {
    let inner_eth = eth_tagged(
        &[(0x8100, 77)],
        0x0800,
        &ipv4(C4, D4, 17, &udp(5060, 5062, b"REGISTER")),
    );
    let f = eth_tagged(
        &[(0x8100, 3)],
        0x0800,
        &ipv4(A4, B4, 47, &gre0(false, Some(7), None, 0x6558, &inner_eth)),
    );
    let (ports, payload, e, src, _) = udp_of(decode_frame(linktype::ETHERNET, &f));
    assert_eq!(
        (ports, payload.as_slice(), src),
        ((5060, 5062), &b"REGISTER"[..], ip4(C4))
    );
    assert_eq!(e, enc(&[3, 77], 1));
}

#[test]
fn enhanced_gre_v1_ppp_variants() {
    let inner = ipv4(C4, D4, 17, &udp(5060, 5060, b"BYE"));
    for (addr_ctl, compressed) in [(true, false), (false, false), (true, true), (false, true)] {
        for (seq, ack) in [
            (Some(1), Some(2)),
            (Some(1), None),
            (None, Some(3)),
            (None, None),
        ] {
            let g = gre1(seq, ack, &ppp(addr_ctl, compressed, 0x0021, &inner));
            let f = eth_tagged(&[(0x8100, 142)], 0x0800, &ipv4(A4, B4, 47, &g));
            let (_, payload, e, src, _) = udp_of(decode_frame(linktype::ETHERNET, &f));
            assert_eq!(
                (payload.as_slice(), src),
                (&b"BYE"[..], ip4(C4)),
                "{addr_ctl} {compressed} {seq:?} {ack:?}"
            );
            assert_eq!(e, enc(&[142], 1));
        }
    }
    // Acknowledgement-only packet (payload length 0): the outer packet.
    let f = ipv4(A4, B4, 47, &gre1(None, Some(9), &[]));
    assert_eq!(
        packet(decode_frame(linktype::IPV4, &f)).l4,
        L4::Other { protocol: 47 }
    );
    // Version 1 without the key bit.
    let mut g = gre1(None, None, &ppp(true, false, 0x0021, &inner));
    g[0] = 0;
    assert!(
        malformed_msg(decode_frame(linktype::IPV4, &ipv4(A4, B4, 47, &g))).contains("without key")
    );
    // PPP inside GRE is cut to the GRE payload length (trailing junk ignored).
    let mut g = gre1(Some(1), None, &ppp(true, false, 0x0021, &inner));
    g.extend_from_slice(&[0xee; 5]);
    assert_eq!(
        udp_of(decode_frame(linktype::IPV4, &ipv4(A4, B4, 47, &g))).1,
        b"BYE"
    );
}

#[test]
fn qinq_pppoe_gre_ppp_like_gre_sip_frame_1() {
    let inner = ipv4(C4, D4, 17, &udp(5097, 5060, b"OPTIONS"));
    let outer_ip = ipv4(
        A4,
        B4,
        47,
        &gre1(Some(0x74a1), None, &ppp(true, false, 0x0021, &inner)),
    );
    let f = eth_tagged(
        &[(0x8100, 155), (0x8100, 1)],
        0x8864,
        &pppoe_session(&ppp(false, false, 0x0021, &outer_ip)),
    );
    let (ports, _, e, src, dst) = udp_of(decode_frame(linktype::ETHERNET, &f));
    assert_eq!((ports, src, dst), ((5097, 5060), ip4(C4), ip4(D4)));
    assert_eq!(e, enc(&[155, 1], 1));
}

#[test]
fn ip_in_ip_and_ipv6_in_ipv4_depth() {
    let inner = ipv4(
        C4,
        D4,
        6,
        &tcp(5090, 33093, 1, 2, 0x18, &[], b"SIP/2.0 200 OK"),
    );
    let f = eth(0x0800, &ipv4(A4, B4, 4, &inner));
    let p = packet(decode_frame(linktype::ETHERNET, &f));
    assert_eq!((p.src, p.encapsulation.tunnel_depth), (ip4(C4), 1));
    assert!(matches!(p.l4, L4::Tcp(ref t) if &*t.payload == b"SIP/2.0 200 OK"));

    let v6 = ipv6(a6(), b6(), 17, &udp(5060, 5060, b"6in4"));
    let (_, payload, e, src, _) = udp_of(decode_frame(
        linktype::ETHERNET,
        &eth(0x0800, &ipv4(A4, B4, 41, &v6)),
    ));
    assert_eq!(
        (payload.as_slice(), src, e.tunnel_depth),
        (&b"6in4"[..], ip6(a6()), 1)
    );

    let v6in6 = ipv6(b6(), a6(), 41, &v6);
    assert_eq!(
        udp_of(decode_frame(linktype::IPV6, &v6in6)).2.tunnel_depth,
        1
    );
    let v4in6 = ipv6(b6(), a6(), 4, &sip_udp4());
    assert_eq!(
        udp_of(decode_frame(linktype::IPV6, &v4in6)).2.tunnel_depth,
        1
    );

    // Nested: IPv4 in GRE in IPv4 in IPv4.
    let nested = ipv4(
        A4,
        B4,
        4,
        &ipv4(B4, C4, 47, &gre0(false, None, None, 0x0800, &sip_udp4())),
    );
    assert_eq!(
        udp_of(decode_frame(linktype::IPV4, &nested)).2.tunnel_depth,
        2
    );
}

#[test]
fn tunnel_nesting_is_bounded() {
    let mut pkt = sip_udp4();
    for _ in 0..MAX_TUNNEL_NESTING {
        pkt = ipv4(A4, B4, 4, &pkt);
    }
    assert_eq!(
        udp_of(decode_frame(linktype::IPV4, &pkt)).2.tunnel_depth,
        MAX_TUNNEL_NESTING
    );
    let deeper = ipv4(A4, B4, 4, &pkt);
    assert!(malformed_msg(decode_frame(linktype::IPV4, &deeper)).contains("nesting deeper than 8"));
    // Deep GRE/TEB chains as well.
    let mut f = eth(0x0800, &sip_udp4());
    for _ in 0..20 {
        f = eth(
            0x0800,
            &ipv4(A4, B4, 47, &gre0(false, None, None, 0x6558, &f)),
        );
    }
    assert!(malformed_msg(decode_frame(linktype::ETHERNET, &f)).contains("nesting"));
}

// ---------------------------------------------------------------------------------------------------------------
// IP details: trailers, snaplen, options, extension headers, fragments.

#[test]
fn ethernet_padding_is_not_payload() {
    let mut f = eth(0x0800, &ipv4(A4, B4, 17, &udp(1, 2, b"hi")));
    assert!(f.len() < 60);
    f.resize(60, 0xaa); // Ethernet minimum frame padding
    f.extend_from_slice(&[1, 2, 3, 4]); // and an FCS-like trailer
    assert_eq!(udp_of(decode_frame(linktype::ETHERNET, &f)).1, b"hi");
    let mut f6 = eth(
        0x86dd,
        &ipv6(a6(), b6(), 6, &tcp(1, 2, 3, 4, 0x10, &[], b"t")),
    );
    f6.extend_from_slice(&[0xbb; 8]);
    match packet(decode_frame(linktype::ETHERNET, &f6)).l4 {
        L4::Tcp(t) => assert_eq!(&*t.payload, b"t"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn snaplen_truncated_packet_keeps_what_is_there() {
    let body = vec![b'x'; 300];
    let full = eth(0x0800, &ipv4(A4, B4, 17, &udp(5060, 5060, &body)));
    let cut = &full[..100];
    let (_, payload, ..) = udp_of(decode_frame(linktype::ETHERNET, cut));
    assert_eq!(payload.len(), 100 - 14 - 20 - 8);
    let tcp_full = eth(0x0800, &ipv4(A4, B4, 6, &tcp(1, 2, 3, 4, 0x18, &[], &body)));
    match packet(decode_frame(linktype::ETHERNET, &tcp_full[..80])).l4 {
        L4::Tcp(t) => assert_eq!(t.payload.len(), 80 - 14 - 20 - 20),
        other => panic!("{other:?}"),
    }
    // A fragment cut short would corrupt reassembly: malformed instead.
    let frag_full = eth(0x0800, &ipv4_frag(5, 0, true, 17, &body));
    let msg = malformed_msg(decode_frame(linktype::ETHERNET, &frag_full[..100]));
    assert_eq!(
        msg,
        "ipv4: fragment (capture cut short) truncated (86 of 320 bytes) at offset 14"
    );
    let f6 = cat(&[&frag6(17, 0, true, 1), &body]);
    let full6 = ipv6(a6(), b6(), 44, &f6);
    assert!(
        malformed_msg(decode_frame(linktype::IPV6, &full6[..100]))
            .starts_with("ipv6: fragment (capture cut short)")
    );
    // Cut inside the UDP header: malformed, with layer and offset.
    let msg = malformed_msg(decode_frame(linktype::ETHERNET, &full[..14 + 20 + 5]));
    assert_eq!(msg, "udp: header truncated (5 of 8 bytes) at offset 34");
}

#[test]
fn ipv4_options_tcp_options_and_flags() {
    let seg = tcp(
        5060,
        40000,
        100,
        200,
        0x12,
        &[2, 4, 5, 0xb4, 1, 1, 1, 0],
        b"",
    );
    let mut ip = ipv4_hdr(A4, B4, 6, 1, 0, seg.len() + 4);
    ip[0] = 0x46; // IHL 6: one option word
    ip.extend_from_slice(&[1, 1, 1, 0]);
    ip.extend_from_slice(&seg);
    match packet(decode_frame(linktype::IPV4, &ip)).l4 {
        L4::Tcp(t) => {
            assert_eq!(
                (t.src_port, t.dst_port, t.seq, t.ack),
                (5060, 40000, 100, 200)
            );
            assert!(t.syn && t.ack_flag && !t.fin && !t.rst);
            assert!(t.payload.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let fin_rst = ipv4(A4, B4, 6, &tcp(1, 2, 0, 0, 0x05, &[], b"d"));
    match packet(decode_frame(linktype::IPV4, &fin_rst)).l4 {
        L4::Tcp(t) => assert!(t.fin && t.rst && !t.syn && !t.ack_flag),
        other => panic!("{other:?}"),
    }
    let mut bad = ipv4(A4, B4, 6, &tcp(1, 2, 0, 0, 0, &[], b""));
    bad[32] = 0x40; // data offset 16
    assert!(malformed_msg(decode_frame(linktype::IPV4, &bad)).starts_with("tcp: data offset 16"));
    let mut bad_ihl = sip_udp4();
    bad_ihl[0] = 0x44;
    assert!(
        malformed_msg(decode_frame(linktype::IPV4, &bad_ihl)).starts_with("ipv4: header length 16")
    );
}

#[test]
fn sctp_and_other_protocols() {
    let chunks = [0u8, 3, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let pkt = ipv4(A4, B4, 132, &sctp(5060, 5061, &chunks));
    let p = packet(decode_frame(linktype::IPV4, &pkt));
    assert_eq!(
        p.l4,
        L4::Sctp {
            src_port: 5060,
            dst_port: 5061,
            chunks: Cow::Borrowed(&chunks[..])
        }
    );
    let pkt = ipv4(A4, B4, 1, &[8, 0, 0, 0]);
    let p = packet(decode_frame(linktype::IPV4, &pkt));
    assert_eq!(p.l4, L4::Other { protocol: 1 });
    assert!(
        malformed_msg(decode_frame(linktype::IPV4, &ipv4(A4, B4, 132, &[0; 11])))
            .starts_with("sctp:")
    );
}

#[test]
fn udp_length_zero_and_bad_lengths() {
    let mut u = udp(1, 2, b"rest");
    u[4] = 0;
    u[5] = 0;
    assert_eq!(
        udp_of(decode_frame(linktype::IPV4, &ipv4(A4, B4, 17, &u))).1,
        b"rest"
    );
    u[5] = 5;
    assert!(
        malformed_msg(decode_frame(linktype::IPV4, &ipv4(A4, B4, 17, &u)))
            .starts_with("udp: length 5")
    );
    u[5] = 10; // shorter than the IP payload: cut to the UDP length
    assert_eq!(
        udp_of(decode_frame(linktype::IPV4, &ipv4(A4, B4, 17, &u))).1,
        b"re"
    );
}

#[test]
fn ipv4_fragments_are_handed_over() {
    let f = ipv4_frag(0xbeef, 1480, true, 17, &[7; 16]);
    let p = packet(decode_frame(linktype::IPV4, &f));
    assert_eq!(
        p.l4,
        L4::Fragment(Fragment {
            id: 0xbeef,
            protocol: 17,
            offset: 1480,
            more_fragments: true,
            data: Cow::Borrowed(&[7u8; 16][..]),
        })
    );
    let first = ipv4_frag(1, 0, true, 17, &udp(1, 2, b"abcdefgh"));
    assert!(matches!(
        packet(decode_frame(linktype::IPV4, &first)).l4,
        L4::Fragment(Fragment { offset: 0, .. })
    ));
    let last = ipv4_frag(1, 16, false, 17, b"tail");
    assert!(matches!(
        packet(decode_frame(linktype::IPV4, &last)).l4,
        L4::Fragment(Fragment {
            offset: 16,
            more_fragments: false,
            ..
        })
    ));
}

fn ext(next: u8, len_units: u8, total: usize) -> Vec<u8> {
    let mut h = vec![next, len_units];
    h.resize(total, 0);
    h
}

#[test]
fn ipv6_extension_headers() {
    // Hop-by-hop (8) → routing (24) → destination options (16) → AH (12) → UDP.
    let u = udp(5060, 5060, b"ext");
    let mut chain = ext(43, 0, 8);
    chain.extend(ext(60, 2, 24));
    chain.extend(ext(51, 1, 16));
    chain.extend(ext(17, 1, 12));
    chain.extend_from_slice(&u);
    let (ports, payload, ..) = udp_of(decode_frame(linktype::IPV6, &ipv6(a6(), b6(), 0, &chain)));
    assert_eq!((ports, payload.as_slice()), ((5060, 5060), &b"ext"[..]));
    // Truncated extension header.
    let short = ipv6(a6(), b6(), 0, &[17, 3, 0, 0]);
    assert!(
        malformed_msg(decode_frame(linktype::IPV6, &short))
            .starts_with("ipv6: extension header truncated")
    );
    // No next header.
    assert_eq!(
        packet(decode_frame(linktype::IPV6, &ipv6(a6(), b6(), 59, &[]))).l4,
        L4::Other { protocol: 59 }
    );
}

fn frag6(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut h = vec![next, 0];
    h.extend_from_slice(&(offset | u16::from(more)).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

#[test]
fn ipv6_fragment_header() {
    let data = [9u8; 24];
    let body = cat(&[&ext(44, 0, 8), &frag6(17, 1232, true, 0x1234_5678), &data]);
    let pkt = ipv6(a6(), b6(), 0, &body);
    let p = packet(decode_frame(linktype::IPV6, &pkt));
    assert_eq!(p.src, ip6(a6()));
    assert_eq!(
        p.l4,
        L4::Fragment(Fragment {
            id: 0x1234_5678,
            protocol: 17,
            offset: 1232,
            more_fragments: true,
            data: Cow::Borrowed(&data[..]),
        })
    );
    // Atomic fragment: offset 0 and no more fragments → decoded as a whole packet.
    let atomic = cat(&[&frag6(17, 0, false, 5), &udp(1, 2, b"atomic")]);
    assert_eq!(
        udp_of(decode_frame(linktype::IPV6, &ipv6(a6(), b6(), 44, &atomic))).1,
        b"atomic"
    );
}

#[test]
fn decode_ip_payload_after_reassembly() {
    let e = enc(&[9], 0);
    let u = udp(5060, 5060, b"reassembled");
    let (ports, payload, got, ..) = udp_of(decode_ip_payload(e.clone(), ip4(A4), ip4(B4), 17, &u));
    assert_eq!(
        (ports, payload.as_slice(), got),
        ((5060, 5060), &b"reassembled"[..], e.clone())
    );
    // The reassembled payload is a GRE tunnel.
    let g = gre0(false, Some(1), None, 0x0800, &sip_udp4());
    let (_, _, got, src, _) = udp_of(decode_ip_payload(e.clone(), ip4(C4), ip4(D4), 47, &g));
    assert_eq!((got, src), (enc(&[9], 1), ip4(A4)));
    let t = tcp(1, 2, 3, 4, 0x18, &[], b"tcp");
    assert!(matches!(
        decode_ip_payload(e.clone(), ip4(A4), ip4(B4), 6, &t),
        NetOutcome::Packet(_)
    ));
    assert!(
        malformed_msg(decode_ip_payload(e, ip4(A4), ip4(B4), 17, &[1, 2])).contains("at offset 0")
    );
}

#[test]
fn link_type_names() {
    assert_eq!(link_type_name(linktype::LINUX_SLL2), "linux-sll2");
    assert_eq!(link_type_name(9999), "linktype-9999");
}

// ---------------------------------------------------------------------------------------------------------------
// No panic on any input.

use crate::testutil::XorShift;

const ALL_LINK_TYPES: [u32; 9] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    42,
];

fn sample_frames() -> Vec<(u32, Vec<u8>)> {
    let inner = ipv4(
        C4,
        D4,
        17,
        &udp(5060, 5060, b"INVITE sip:a@b SIP/2.0\r\n\r\n"),
    );
    let v6 = ipv6(
        a6(),
        b6(),
        0,
        &cat(&[&ext(44, 0, 8), &frag6(17, 8, true, 1), &[1; 16]]),
    );
    vec![
        (linktype::ETHERNET, eth(0x0800, &sip_udp4())),
        (
            linktype::ETHERNET,
            eth_tagged(&[(0x88a8, 1), (0x8100, 2)], 0x86dd, &v6),
        ),
        (
            linktype::ETHERNET,
            eth_tagged(
                &[(0x8100, 155), (0x8100, 1)],
                0x8864,
                &pppoe_session(&ppp(
                    false,
                    false,
                    0x21,
                    &ipv4(
                        A4,
                        B4,
                        47,
                        &gre1(Some(1), Some(2), &ppp(true, false, 0x21, &inner)),
                    ),
                )),
            ),
        ),
        (
            linktype::ETHERNET,
            eth(
                0x0800,
                &ipv4(
                    A4,
                    B4,
                    47,
                    &gre0(true, Some(1), Some(2), 0x6558, &eth(0x0800, &inner)),
                ),
            ),
        ),
        (
            linktype::ETHERNET,
            eth(
                0x0800,
                &ipv4(
                    A4,
                    B4,
                    4,
                    &ipv4(
                        B4,
                        C4,
                        41,
                        &ipv6(a6(), b6(), 6, &tcp(1, 2, 3, 4, 0x18, &[1, 1, 1, 0], b"x")),
                    ),
                ),
            ),
        ),
        (
            linktype::LINUX_SLL,
            sll(
                0x0800,
                &ipv4(A4, B4, 132, &sctp(1, 2, &[0, 3, 0, 8, 1, 2, 3, 4])),
            ),
        ),
        (
            linktype::LINUX_SLL2,
            sll2(0x8847, &cat(&[&[0, 0, 1, 0x40], &sip_udp4()])),
        ),
        (
            linktype::NULL,
            cat(&[&[30, 0, 0, 0], &ipv6(a6(), b6(), 17, &udp(1, 2, b"n"))]),
        ),
        (linktype::RAW, ipv4_frag(3, 8, false, 17, b"frag")),
    ]
}

#[test]
fn no_panic_on_prefixes_and_random_bytes() {
    let frames = sample_frames();
    for (lt, f) in &frames {
        assert!(
            matches!(decode_frame(*lt, f), NetOutcome::Packet(_)),
            "sample decodes: {lt} {f:02x?}"
        );
        for n in 0..=f.len() {
            for link in ALL_LINK_TYPES {
                let _ = decode_frame(link, &f[..n]);
            }
            for proto in [4u8, 6, 17, 41, 47, 132] {
                let _ =
                    decode_ip_payload(Encapsulation::default(), ip4(A4), ip4(B4), proto, &f[n..]);
            }
        }
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        // Mutate a valid frame (a few random bytes changed, maybe cut) or draw pure noise.
        let (lt, mut f) = frames[rng.below(frames.len())].clone();
        if rng.below(4) == 0 {
            let len = rng.below(120);
            f = (0..len).map(|_| rng.next() as u8).collect();
        } else {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(f.len());
                f[i] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                f.truncate(rng.below(f.len() + 1));
            }
        }
        let link = if rng.below(2) == 0 {
            lt
        } else {
            ALL_LINK_TYPES[rng.below(ALL_LINK_TYPES.len())]
        };
        let _ = decode_frame(link, &f);
        let _ = decode_ip_payload(
            Encapsulation::default(),
            ip4(A4),
            ip4(B4),
            rng.next() as u8,
            &f,
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Real captures (read-only, from `../shared/captures` beside the project checkout).

fn captures_dir() -> std::path::PathBuf {
    crate::testutil::captures_dir()
}

/// (link type, captured bytes) per frame, read with the crate's own capture reader.
fn read_frames(name: &str) -> Vec<(u32, Vec<u8>)> {
    let path = captures_dir().join(name);
    let file = crate::capture::CaptureFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = file.frames().unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame() {
        out.push((f.link_type, f.data.into_owned()));
    }
    assert!(
        reader.diagnostics.is_empty(),
        "{name}: {:?}",
        reader.diagnostics
    );
    out
}

#[test]
fn real_gre_sip_pcapng() {
    let frames = read_frames("gre_sip.pcapng");
    assert_eq!(frames.len(), 36);
    // UDP lengths from TShark (`-e udp.length`).
    let udp_lengths = [
        420, 877, 306, 512, 895, 553, 571, 544, 1034, 332, 538, 436, 514, 498, 386, 877, 306, 512,
        338, 488, 472, 483, 942, 312, 518, 396, 494, 478, 366, 877, 306, 512, 895, 553, 569, 542,
    ];
    let inside = [ip4([192, 168, 103, 40]), ip4([192, 168, 10, 210])];
    for (i, (lt, data)) in frames.iter().enumerate() {
        assert_eq!(*lt, linktype::ETHERNET);
        let (ports, payload, e, src, dst) = udp_of(decode_frame(*lt, data));
        assert_eq!(payload.len() + 8, udp_lengths[i], "frame {}", i + 1);
        assert_eq!(e.tunnel_depth, 1, "frame {}", i + 1);
        if i == 0 {
            assert_eq!(e.vlan_ids, vec![155, 1]);
            assert_eq!(
                (src, dst),
                (ip4([212, 83, 179, 0]), ip4([192, 200, 144, 148]))
            );
            assert_eq!(ports, (5097, 5060));
            assert!(payload.starts_with(b"OPTIONS sip:100@192.200.144.148 SIP/2.0\r\n"));
        } else {
            assert_eq!(e.vlan_ids, vec![142], "frame {}", i + 1);
            assert!(
                inside.contains(&src) && inside.contains(&dst),
                "frame {}",
                i + 1
            );
            assert_eq!(ports, (5060, 5060));
            assert!(payload.ends_with(b"\r\n"), "frame {}", i + 1);
        }
    }
}

#[test]
fn real_ipip_pcap() {
    let frames = read_frames("ipip.pcap");
    assert_eq!(frames.len(), 4);
    let expect = [
        (0u8, 5090u16, 33093u16, 1103usize),
        (1, 33093, 5090, 621),
        (1, 33093, 5090, 616),
        (0, 5090, 33093, 409),
    ];
    for ((lt, data), (depth, sp, dp, len)) in frames.iter().zip(expect) {
        let p = packet(decode_frame(*lt, data));
        assert_eq!(p.encapsulation, enc(&[], depth));
        match p.l4 {
            L4::Tcp(t) => assert_eq!((t.src_port, t.dst_port, t.payload.len()), (sp, dp, len)),
            other => panic!("{other:?}"),
        }
        if depth == 1 {
            assert_eq!(
                (p.src, p.dst),
                (ip4([10, 15, 193, 31]), ip4([10, 15, 197, 103]))
            );
        }
    }
}

#[test]
fn real_sip_sctp_linux_sll() {
    let frames = read_frames("sip_sctp.pcap");
    assert_eq!(frames.len(), 5);
    let ip_lens = [1500usize, 360, 416, 508, 488];
    let ports = [
        (57098, 5060),
        (57098, 5060),
        (5060, 5060),
        (5060, 5060),
        (57098, 5060),
    ];
    for (i, (lt, data)) in frames.iter().enumerate() {
        assert_eq!(*lt, linktype::LINUX_SLL);
        let p = packet(decode_frame(*lt, data));
        match p.l4 {
            L4::Sctp {
                src_port,
                dst_port,
                chunks,
            } => {
                assert_eq!((src_port, dst_port), ports[i]);
                assert_eq!(chunks.len(), ip_lens[i] - 20 - 12);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn real_sip_body_large_null_tcp() {
    let frames = read_frames("sip-body-large.pcap");
    assert_eq!(frames.len(), 16);
    let lens = [
        0usize, 0, 0, 0, 16332, 16332, 16332, 16332, 465, 0, 207, 0, 0, 0, 0, 0,
    ];
    let lo = ip4([127, 0, 0, 1]);
    for (i, (lt, data)) in frames.iter().enumerate() {
        assert_eq!(*lt, linktype::NULL);
        let p = packet(decode_frame(*lt, data));
        assert_eq!((p.src, p.dst), (lo, lo));
        match p.l4 {
            L4::Tcp(t) => {
                assert_eq!(t.payload.len(), lens[i], "frame {}", i + 1);
                assert!([5060, 59809].contains(&t.src_port));
                assert_eq!(t.syn, i < 2);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn real_sip_ipv6_udp() {
    let frames = read_frames("sip_ipv6_udp.pcap");
    assert_eq!(frames.len(), 6);
    let lens = [718usize, 456, 633, 503, 503, 449];
    let a: IpAddr = "fe80::21a:a0ff:fe07:32e0".parse().unwrap();
    let b: IpAddr = "fec0::216:d3ff:fe0d:22c".parse().unwrap();
    for (i, (lt, data)) in frames.iter().enumerate() {
        let (ports, payload, e, src, dst) = udp_of(decode_frame(*lt, data));
        assert_eq!(
            (ports, payload.len() + 8, e),
            ((5060, 5060), lens[i], Encapsulation::default())
        );
        assert!((src, dst) == (a, b) || (src, dst) == (b, a));
    }
}

/// Every frame of every capture decodes to a packet or a named non-IP frame (never malformed); the non-IP
/// counts match TShark (`-Y 'not (ip or ipv6)'`).
#[test]
fn real_captures_all_decode() {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".cap"))
        .collect();
    names.sort();
    assert!(names.len() >= 25, "{names:?}");
    for name in names {
        let mut not_ip = Vec::new();
        for (i, (lt, data)) in read_frames(&name).iter().enumerate() {
            match decode_frame(*lt, data) {
                NetOutcome::Packet(_) => {}
                NetOutcome::NotIp(what) => not_ip.push(what),
                NetOutcome::Malformed(m) => panic!("{name} frame {}: {m}", i + 1),
            }
        }
        let expected_arp = match name.as_str() {
            "aaa.pcap" => 44,
            "sip_ipv4_tcp_retrans.pcap" => 2,
            _ => 0,
        };
        assert_eq!(not_ip.len(), expected_arp, "{name}: {not_ip:?}");
        assert!(not_ip.iter().all(|w| w == "arp"), "{name}: {not_ip:?}");
    }
}
