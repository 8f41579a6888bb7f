//! Call signalling other than SIP, checked against TShark's decoding of the same captures:
//! - MEGACO/H.248 text in `FAX-Call-t38-CA-TDM-SIP-FB-1.pcap` (130 frames from a real media gateway and its
//!   controller): every message's transaction, context, commands and terminations; the one context's call and the
//!   RTP streams its Local/Remote descriptors name.
//! - MGCP/NCS in `sample-captures/mgcp-call/` (every message sent by SIPp, the media by ffmpeg): every message's
//!   transaction, verb or code, endpoint and CallId, response matching and the retransmission; the call, its
//!   digits, streams and state; the abandoned second attempt.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use earshot_core::model::{Analysis, CallState, Protocol, SignalKind, SignalRecord};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::{captures_dir, samples_dir, signal_ts, tshark_fields};

fn analyse(path: &std::path::Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).expect("capture analyses")
}

fn fax() -> PathBuf {
    captures_dir().join("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap")
}

fn mgcp() -> PathBuf {
    samples_dir().join("mgcp-call").join("mgcp-call.pcap")
}

/// TShark's context numbers: 0 is the null context (`-`), 0xFFFFFFFF all (`*`), 0xFFFFFFFE choose (`$`).
fn tshark_context(c: &str) -> String {
    match c {
        "0" => "-".into(),
        "4294967295" => "*".into(),
        "4294967294" => "$".into(),
        c => c.into(),
    }
}

/// (frame, request?, transid, context, commands, terminations) of each MEGACO frame, as TShark reads them.
type MegacoRow = (u64, bool, String, String, Vec<String>, Vec<String>);

fn tshark_megaco() -> Vec<MegacoRow> {
    tshark_fields(
        &fax(),
        &[],
        "megaco",
        &[
            "frame.number",
            "megaco.transaction",
            "megaco.transid",
            "megaco.context",
            "megaco.command",
            "megaco.termid",
        ],
    )
    .into_iter()
    .map(|f| {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        (
            f[0].parse().expect("frame"),
            f[1] == "Request",
            f[2].clone(),
            // One context per transaction in this capture: TShark repeats it per descriptor.
            tshark_context(f[3].split(',').next().unwrap_or("")),
            list(&f[4]),
            list(&f[5]),
        )
    })
    .collect()
}

/// An RTP stream: (source, destination, SSRC).
type RtpFlow = (SocketAddr, SocketAddr, u32);

/// TShark's RTP streams of a capture (with `opts`, e.g. `-d` decode-as rules).
fn tshark_rtp(path: &std::path::Path, opts: &[&str]) -> BTreeSet<RtpFlow> {
    tshark_fields(
        path,
        opts,
        "rtp",
        &["ip.src", "udp.srcport", "ip.dst", "udp.dstport", "rtp.ssrc"],
    )
    .into_iter()
    .filter_map(|f| {
        Some((
            SocketAddr::new(f[0].parse().ok()?, f[1].parse().ok()?),
            SocketAddr::new(f[2].parse().ok()?, f[3].parse().ok()?),
            u32::from_str_radix(f[4].trim_start_matches("0x"), 16).ok()?,
        ))
    })
    .collect()
}

/// Earshot's RTP streams of a call, as [`RtpFlow`]s.
fn rtp_flows(a: &Analysis, call: &earshot_core::model::Call) -> BTreeSet<RtpFlow> {
    call.streams
        .iter()
        .filter_map(|&i| a.streams.get(i))
        .filter(|s| s.kind == earshot_core::model::StreamKind::Rtp)
        .filter_map(|s| Some((s.src?, s.dst?, s.ssrc)))
        .collect()
}

fn megaco_records(a: &Analysis) -> Vec<&SignalRecord> {
    a.signals
        .iter()
        .filter(|r| r.protocol == Protocol::Megaco)
        .collect()
}

#[test]
fn megaco_messages_equal_tshark() {
    let a = analyse(&fax());
    let ours = megaco_records(&a);
    let theirs = tshark_megaco();
    assert_eq!(theirs.len(), 130, "the capture's MEGACO frames");
    assert_eq!(ours.len(), theirs.len(), "one record per transaction here");
    assert_eq!(a.summary.signal_messages, 130);
    for (r, (frame, request, tid, ctx, cmds, terms)) in ours.iter().zip(&theirs) {
        assert_eq!(r.frame, *frame);
        assert_eq!(r.kind == SignalKind::Request, *request, "frame {frame}");
        assert_eq!(
            r.transaction.as_deref(),
            Some(tid.as_str()),
            "frame {frame}"
        );
        assert_eq!(r.context.as_deref(), Some(ctx.as_str()), "frame {frame}");
        let names: Vec<&str> = r.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, *cmds, "frame {frame}");
        let targets: Vec<&str> = r.commands.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(targets, *terms, "frame {frame}");
        assert!(r.agent.is_some(), "frame {frame}: mId");
    }
    // Every reply answers the request with its transaction id sent the other way.
    for r in ours.iter().filter(|r| r.kind == SignalKind::Response) {
        let req = r
            .answers
            .and_then(|i| a.signals.get(i))
            .expect("reply matched");
        assert_eq!(req.transaction, r.transaction);
        assert_eq!((req.src, req.dst), (r.dst, r.src));
    }
    // SIP is counted as before: the MEGACO context is not a SIP Call-ID.
    assert_eq!(a.summary.call_ids, 3);
    assert_eq!(a.summary.invite_dialogs, 2);
}

#[test]
fn megaco_context_is_a_call_with_the_capture_rtp() {
    let a = analyse(&fax());
    let theirs = tshark_megaco();
    // The context's frames: those TShark puts in context 191, and the `$` request its reply put there.
    let mut frames: BTreeSet<u64> = theirs
        .iter()
        .filter(|t| t.3 == "191")
        .map(|t| t.0)
        .collect();
    let choose: Vec<u64> = theirs
        .iter()
        .filter(|t| t.3 == "$" && theirs.iter().any(|u| u.2 == t.2 && u.3 == "191"))
        .map(|t| t.0)
        .collect();
    assert_eq!(choose, vec![21]);
    frames.extend(choose);
    let calls: Vec<_> = a
        .calls
        .iter()
        .filter(|c| c.protocol == Protocol::Megaco && c.kind.is_call())
        .collect();
    assert_eq!(calls.len(), 1, "one context");
    let call = calls[0];
    assert_eq!(call.call_id, "megaco:10.23.1.42/191");
    assert_eq!(call.frames.iter().copied().collect::<BTreeSet<_>>(), frames);
    assert_eq!(a.summary.signal_calls, 1);

    // The media the descriptors name, as TShark decodes their SDP: every (address, port) pair within a frame.
    let mut named: BTreeSet<SocketAddr> = BTreeSet::new();
    for f in tshark_fields(
        &fax(),
        &[],
        "megaco && sdp",
        &[
            "frame.number",
            "sdp.connection_info.address",
            "sdp.media.port",
        ],
    ) {
        if !frames.contains(&f[0].parse::<u64>().expect("frame")) {
            continue;
        }
        for addr in f[1].split(',').filter_map(|x| x.parse::<IpAddr>().ok()) {
            for port in f[2].split(',').filter_map(|x| x.parse::<u16>().ok()) {
                if port != 0 {
                    named.insert(SocketAddr::new(addr, port));
                }
            }
        }
    }
    assert!(named.contains(&"10.23.1.52:16756".parse().expect("addr")));
    assert!(named.contains(&"10.35.60.100:15580".parse().expect("addr")));
    // TShark's RTP streams with an end the context names.
    let expected: BTreeSet<RtpFlow> = tshark_rtp(&fax(), &[])
        .into_iter()
        .filter(|(s, d, _)| named.contains(s) || named.contains(d))
        .collect();
    assert_eq!(expected.len(), 2, "the capture's two RTP streams");
    let ours = rtp_flows(&a, call);
    assert_eq!(ours, expected);
    // The same streams stay bound to the SIP call that negotiated them.
    for &i in &call.streams {
        let s = &a.streams[i];
        if s.kind == earshot_core::model::StreamKind::Rtp {
            let sip = s.call_id.as_deref().expect("bound");
            assert!(
                a.calls
                    .iter()
                    .any(|c| c.call_id == sip && c.protocol == Protocol::Sip),
                "{sip}"
            );
        }
    }
    // Answered when the RTP termination was set to send and receive with the far side's description (frame 56),
    // ended by the Subtract (frame 7201).
    let ts = |frame: u64| signal_ts(&a, frame);
    assert_eq!(call.answer_ts_nanos, Some(ts(56)));
    assert_eq!(call.ended_ts_nanos, Some(ts(7201)));
    assert_eq!(call.state, Some(CallState::Completed));
    assert_eq!(call.end_reason.as_deref(), Some("subtract"));
}

#[test]
fn mgcp_messages_equal_tshark() {
    let a = analyse(&mgcp());
    let ours: Vec<&SignalRecord> = a
        .signals
        .iter()
        .filter(|r| r.protocol == Protocol::Mgcp)
        .collect();
    let theirs = tshark_fields(
        &mgcp(),
        &[],
        "mgcp",
        &[
            "frame.number",
            "mgcp.transid",
            "mgcp.req.verb",
            "mgcp.rsp.rspcode",
            "mgcp.req.endpoint",
            "mgcp.param.callid",
            "mgcp.reqframe",
            "mgcp.req.dup.frame",
        ],
    );
    assert_eq!(theirs.len(), 35);
    assert_eq!(ours.len(), theirs.len());
    for (r, t) in ours.iter().zip(&theirs) {
        let frame: u64 = t[0].parse().expect("frame");
        assert_eq!(r.frame, frame);
        assert_eq!(
            r.transaction.as_deref(),
            Some(t[1].as_str()),
            "frame {frame}"
        );
        if t[2].is_empty() {
            assert_eq!(r.kind, SignalKind::Response, "frame {frame}");
            assert_eq!(
                r.status.map(|c| c.to_string()).as_deref(),
                Some(t[3].as_str())
            );
            let req = r
                .answers
                .and_then(|i| a.signals.get(i))
                .map(|q| q.frame.to_string());
            assert_eq!(
                req.as_deref(),
                Some(t[6].as_str()),
                "frame {frame}: its command"
            );
        } else {
            assert_eq!(r.kind, SignalKind::Request, "frame {frame}");
            assert_eq!(r.commands[0].name, t[2], "frame {frame}");
            assert_eq!(r.commands[0].target, t[4], "frame {frame}");
            // A response's CallId is its command's; TShark shows it on commands only.
            assert_eq!(r.context.as_deref().unwrap_or(""), t[5], "frame {frame}");
        }
        let dup_of = r
            .retransmission_of
            .map(|f| f.to_string())
            .unwrap_or_default();
        assert_eq!(dup_of, t[7], "frame {frame}: retransmission");
    }
    assert_eq!(a.summary.signal_messages, 35);
}

#[test]
fn mgcp_call_from_off_hook_to_hang_up() {
    let a = analyse(&mgcp());
    let calls: Vec<_> = a
        .calls
        .iter()
        .filter(|c| c.protocol == Protocol::Mgcp)
        .collect();
    let call = calls
        .iter()
        .find(|c| c.call_id == "mgcp:A3C47F21456789F0")
        .expect("the CallId's call");
    let frame_of = |tid: &str, request: bool| -> u64 {
        a.signals
            .iter()
            .find(|r| {
                r.transaction.as_deref() == Some(tid) && (r.kind == SignalKind::Request) == request
            })
            .map(|r| r.frame)
            .expect("message")
    };
    // flow.py: gw1 goes off-hook (NTFY 3002), gets dial tone and the digit map (RQNT 1002), dials (NTFY 3003); the
    // call agent connects both lines (CRCX 1003, 1004 sent twice, MDCX 1005, 1006); gw2 answers (NTFY 4001) and
    // hangs up (4002); both connections are deleted (DLCX 1007, 1008); gw1 goes on-hook (NTFY 3004).
    let mut expected: BTreeSet<u64> = BTreeSet::new();
    for tid in [
        "3002", "1002", "3003", "1003", "1004", "1005", "4001", "1006", "4002", "1007", "1008",
        "3004",
    ] {
        expected.insert(frame_of(tid, true));
        expected.insert(frame_of(tid, false));
    }
    // The retransmitted CRCX.
    let resent: Vec<u64> = a
        .signals
        .iter()
        .filter(|r| r.retransmission)
        .map(|r| r.frame)
        .collect();
    assert_eq!(resent.len(), 1);
    expected.extend(&resent);
    assert_eq!(
        call.frames.iter().copied().collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(call.retransmissions, 1);
    // The digits came before the answer: they dialled the number, they are not DTMF in the call.
    assert_eq!(call.dtmf, "");
    assert!(call.dtmf_events.is_empty());
    assert!(call.answered);
    // Answered when the rung line went off-hook (NTFY 4001), not when gw2's connection was created sendrecv while
    // it rang (CRCX 1004).
    let ts_of = |frame: u64| signal_ts(&a, frame);
    assert_eq!(call.answer_ts_nanos, Some(ts_of(frame_of("4001", true))));
    assert_eq!(call.ringing_ts_nanos, Some(ts_of(frame_of("1004", true))));
    assert_eq!(call.state, Some(CallState::Completed));
    assert_eq!(call.end_reason.as_deref(), Some("dlcx"));
    assert_eq!(call.codecs, vec!["PCMU"]);
    let from = call.from.as_ref().expect("caller");
    assert_eq!(from.uri, "aaln/1@gw1.example.net");
    let to = call.to.as_ref().expect("callee");
    assert_eq!(to.uri, "aaln/1@gw2.example.net");
    assert_eq!(to.user.as_deref(), Some("5550123"));
    // The media, against TShark's RTP streams (decoded as RTP by the ports the SDP names).
    let rtp = tshark_rtp(
        &mgcp(),
        &["-d", "udp.port==4000,rtp", "-d", "udp.port==5000,rtp"],
    );
    assert_eq!(rtp.len(), 2);
    let ours = rtp_flows(&a, call);
    assert_eq!(ours, rtp);
    for &i in &call.streams {
        assert_eq!(
            a.streams[i].call_id.as_deref(),
            Some("mgcp:A3C47F21456789F0")
        );
        assert_eq!(a.streams[i].codec, "PCMU");
    }

    // gw2's second off-hook dialled 900555 and hung up: an attempt of its own, never answered.
    let attempt = calls
        .iter()
        .find(|c| c.call_id.starts_with("mgcp:aaln/1@gw2.example.net#"))
        .expect("the abandoned attempt");
    assert_eq!(attempt.dtmf, "");
    assert_eq!(
        attempt.to.as_ref().and_then(|t| t.user.as_deref()),
        Some("900555")
    );
    assert!(!attempt.answered);
    assert_eq!(attempt.end_reason.as_deref(), Some("on-hook"));
    assert_eq!(
        attempt.state, None,
        "nothing says how it ended beyond going on-hook"
    );
    assert_eq!(attempt.frames.len(), 6, "three NTFY and their responses");
    // The restart and the first event request of gw1 are its control traffic, not the call.
    let control = calls
        .iter()
        .find(|c| c.call_id == "mgcp:aaln/1@gw1.example.net")
        .expect("gw1's control group");
    assert_eq!(control.kind.as_str(), "rsip");
    assert_eq!(control.frames.len(), 4);
    assert_eq!(a.summary.signal_calls, 2);
    assert_eq!(a.summary.signal_answered, 1);
    assert_eq!(a.summary.call_ids, 0, "no SIP here");
}

#[test]
fn the_filter_selects_by_protocol() {
    let a = analyse(&fax());
    let f =
        earshot_core::filter::Filter::parse("protocol == megaco && kind == call").expect("filter");
    let ids: Vec<&str> = f
        .select(&a)
        .into_iter()
        .map(|i| a.calls[i].call_id.as_str())
        .collect();
    assert_eq!(ids, ["megaco:10.23.1.42/191"]);
    let sip = earshot_core::filter::Filter::parse("protocol == sip").expect("filter");
    assert_eq!(sip.select(&a).len() as u64, a.summary.call_ids);
}

/// A redacted analysis keeps the call and its commands but not the number dialled, the caller ID or the text.
#[test]
fn redaction_removes_dialled_digits_and_caller_id() {
    let a = analyse(&mgcp());
    let plain = serde_json::to_string(&a).expect("serialises");
    assert!(plain.contains("5550123") && plain.contains("Alice Example"));
    let r = earshot_core::report::redact::redact(&a);
    let red = serde_json::to_string(&r).expect("serialises");
    for secret in ["5550123", "555-0123", "Alice Example", "900555"] {
        assert!(!red.contains(secret), "{secret} survived redaction");
    }
    assert_eq!(r.signals.len(), a.signals.len());
    assert!(
        r.signals
            .iter()
            .all(|s| !s.commands.is_empty() || s.kind != SignalKind::Request)
    );
}
