//! The transports in the shared captures, checked message by message against what TShark shows for them
//! (`tshark -r FILE -Y sip -T fields -e frame.number -e vlan.id -e ip.src -e ipv6.src -e sip.Method ...`).

use earshot_core::model::{Analysis, MessageRecord, Transport};
use earshot_core::report::json::message_summary;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::captures_dir;

fn analyze(name: &str) -> Analysis {
    analyze_file(
        &captures_dir().join(name),
        &AnalyzeOptions::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn by_frame(a: &Analysis, frame: u64) -> &MessageRecord {
    a.messages
        .iter()
        .find(|m| m.frame == frame)
        .unwrap_or_else(|| panic!("no SIP message completes in frame {frame}"))
}

#[test]
fn tcp_64k_body_over_null_link_type() {
    let a = analyze("sip-body-large.pcap");
    assert_eq!(a.capture.link_types, vec!["null"]);
    assert_eq!(a.summary.sip_messages, 2);
    let invite = by_frame(&a, 9);
    assert_eq!(message_summary(&invite.message), "INVITE");
    assert_eq!(invite.transport, Transport::Tcp);
    assert_eq!(invite.message.content_length, Some(65_536));
    assert_eq!(invite.message.body.len(), 65_536);
    assert_eq!(invite.size, 65_793, "TShark: reassembled 65793 bytes");
    assert!(
        invite.frames.len() > 1,
        "carried by several segments: {:?}",
        invite.frames
    );
    assert_eq!(*invite.frames.last().unwrap(), 9);
    assert_eq!(message_summary(&by_frame(&a, 11).message), "100 Trying");
}

#[test]
fn tcp_retransmitted_segment_counted_once_over_sll() {
    let a = analyze("sip_ipv4_tcp_retrans.pcap");
    assert_eq!(a.capture.link_types, vec!["linux-sll"]);
    assert_eq!(a.summary.sip_messages, 8);
    let tcp: Vec<u64> = a
        .messages
        .iter()
        .filter(|m| m.transport == Transport::Tcp)
        .map(|m| m.frame)
        .collect();
    assert_eq!(tcp, vec![28, 32, 33, 36]);
    assert!(a.counters.tcp_retransmitted_segments >= 1);
    assert!(
        !a.messages.iter().any(|m| m.frame == 38),
        "frame 38 is a TCP retransmission of frame 36"
    );
}

#[test]
fn sip_over_websocket() {
    let a = analyze("sip_tcp_websocket.pcap");
    assert_eq!(a.summary.sip_messages, 39);
    let ws = a
        .messages
        .iter()
        .filter(|m| m.transport == Transport::Ws)
        .count();
    assert_eq!(ws, 11);
    assert!(a.counters.websocket_frames >= 11);
    let invite = by_frame(&a, 11);
    assert_eq!(message_summary(&invite.message), "INVITE");
    assert_eq!(invite.transport, Transport::Ws);
    assert_eq!(invite.src.ip().to_string(), "10.243.17.55");
    assert_eq!(
        message_summary(&by_frame(&a, 13).message),
        "407 Proxy Authentication Required"
    );
}

#[test]
fn sip_over_sctp_in_linux_cooked() {
    let a = analyze("sip_sctp.pcap");
    assert_eq!(a.capture.link_types, vec!["linux-sll"]);
    let got: Vec<(u64, String)> = a
        .messages
        .iter()
        .map(|m| (m.frame, message_summary(&m.message)))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "INVITE".to_string()),
            (3, "100 Giving a try".to_string()),
            (4, "403 The reason is nocallee".to_string()),
            (5, "ACK".to_string())
        ]
    );
    assert!(a.messages.iter().all(|m| m.transport == Transport::Sctp));
    assert_eq!(a.calls[0].state.map(|s| s.as_str()), Some("rejected"));
    assert_eq!(a.calls[0].final_status, Some(403));
}

#[test]
fn ip_in_ip_tunnel_depth() {
    let a = analyze("ipip.pcap");
    assert_eq!(a.summary.sip_messages, 4);
    let depth: Vec<u8> = a
        .messages
        .iter()
        .map(|m| m.encapsulation.tunnel_depth)
        .collect();
    assert_eq!(depth, vec![0, 1, 1, 0]);
    assert_eq!(
        by_frame(&a, 2).src.ip().to_string(),
        "10.15.193.31",
        "innermost source"
    );
    assert!(a.messages.iter().all(|m| m.transport == Transport::Tcp));
}

#[test]
fn gre_vlan_qinq_pppoe_in_pcapng_with_nine_interfaces() {
    let a = analyze("gre_sip.pcapng");
    assert_eq!(a.capture.format, "pcapng");
    assert_eq!(a.capture.interfaces, 9);
    assert_eq!(a.summary.sip_messages, 36);
    let first = by_frame(&a, 1);
    assert_eq!(message_summary(&first.message), "OPTIONS");
    assert_eq!(first.encapsulation.vlan_ids, vec![155, 1]);
    assert_eq!(first.encapsulation.tunnel_depth, 1);
    assert_eq!(first.src.ip().to_string(), "212.83.179.0");
    assert_eq!(
        first.message.user_agent.as_deref(),
        Some("friendly-scanner")
    );
    let invite = by_frame(&a, 2);
    assert_eq!(invite.encapsulation.vlan_ids, vec![142]);
    assert_eq!(invite.encapsulation.tunnel_depth, 1);
    assert_eq!(invite.src.ip().to_string(), "192.168.103.40");
    assert!(
        a.messages
            .iter()
            .skip(1)
            .all(|m| m.encapsulation.vlan_ids == vec![142])
    );
}

#[test]
fn ipv6_udp_call() {
    let a = analyze("sip_ipv6_udp.pcap");
    let got: Vec<String> = a
        .messages
        .iter()
        .map(|m| message_summary(&m.message))
        .collect();
    assert_eq!(
        got,
        ["INVITE", "100 Trying", "200 OK", "ACK", "BYE", "200 OK"]
    );
    assert_eq!(
        by_frame(&a, 1).src.ip().to_string(),
        "fe80::21a:a0ff:fe07:32e0"
    );
    let call = &a.calls[0];
    assert_eq!(call.state.map(|s| s.as_str()), Some("completed"));
    assert_eq!(call.end_reason.as_deref(), Some("bye"));
    let sdp = &call.sdp[0];
    assert!(sdp.media[0].address.is_some_and(|ip| ip.is_ipv6()));
}

#[test]
fn nanosecond_pcap_keeps_nanoseconds() {
    let a = analyze("BadUserAgent-sipvicious.pcap");
    assert_eq!(a.capture.format, "pcap-nsec");
    assert_eq!(a.capture.ts_precision_digits, 9);
    let json = earshot_core::report::json::to_json_string(&a);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = v["capture"]["first_ts"].as_str().unwrap();
    // 9 fractional digits: YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
    assert_eq!(first.len(), 30, "{first}");
}
