//! Calls of the other signalling protocols, built from the [`SignalRecord`]s each time the analysis is read.
//!
//! - MEGACO: a call is a context on a media gateway (`megaco:<gateway IP>/<context>`). A request that asks the
//!   gateway to choose (`C=$`) belongs to the context its reply names. The gateway is the side commands are sent
//!   to (Notify and ServiceChange go the other way). Null-context and audit traffic forms one `control` group per
//!   gateway.
//! - MGCP: a call is a CallId (`C:`, `mgcp:<CallId>`); responses inherit their command's. Messages without a CallId
//!   (NTFY with the digits dialled, RQNT ringing the phone) join the call their endpoint is in, or the call it
//!   joins next (off-hook and digits come before the call agent creates the connection). After a DLCX, the next
//!   off-hook starts afresh. Endpoint traffic that never joins a call is a call attempt when it dialled or went
//!   off-hook, else one control group per endpoint (audits, restarts).
//!
//! - IAX2: a call starts with a `NEW` (destination call number 0) and is `iax2:<caller>/<call number>#<frame>`;
//!   every frame whose destination call number names one side of it, or whose source call number one side sent,
//!   joins it (the callee's number is learnt from its first reply). Registrations and pokes are groups of their own.
//!   Ringing, answer and end are the `RINGING`, `ANSWER`, `HANGUP`/`REJECT` frames; the caller and callee numbers
//!   and names are the `NEW`'s; DTMF are the DTMF frames; the mini frames are counted per direction.
//!
//! What the records prove sets each field: answered means a connection was set to send and receive with the far
//! side's session description known; ended means a DLCX or Subtract; nothing is claimed beyond.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;

use crate::model::{
    Call, CallKind, CallState, DtmfEvent, MediaStream, NameAddr, Party, Protocol, SignalKind,
    SignalMedia, SignalRecord, Transport,
};

/// The calls of `records`, in order of their first message. `media` is the IAX2 media tally
/// ([`super::SignalTracker::media`]).
pub fn build(
    records: &[SignalRecord],
    media: &foldhash::HashMap<(SocketAddr, u16), SignalMedia>,
    streams: &[MediaStream],
    capture_end: i64,
) -> Vec<Call> {
    let mut groups: Groups = Groups::default();
    megaco_groups(records, &mut groups);
    mgcp_groups(records, &mut groups);
    iax2_groups(records, &mut groups);
    let mut list: Vec<(String, Group)> = groups.map.into_iter().collect();
    list.sort_by_key(|(key, g)| {
        (
            g.records.iter().min().copied().unwrap_or(usize::MAX),
            key.clone(),
        )
    });
    list.into_iter()
        .filter_map(|(key, g)| match g.protocol {
            Protocol::Iax2 => iax2_call(key, g, records, media, capture_end),
            _ => make_call(key, g, records, streams, capture_end),
        })
        .collect()
}

/// Frames that start an IAX2 call or exchange (sent with destination call number 0).
fn iax2_starts(verb: &str) -> bool {
    matches!(verb, "NEW" | "REGREQ" | "REGREL" | "POKE")
}

/// Frames that belong to a call rather than to registration or link upkeep.
fn iax2_call_frame(verb: &str) -> bool {
    !matches!(
        verb,
        "REGREQ"
            | "REGAUTH"
            | "REGACK"
            | "REGREJ"
            | "REGREL"
            | "POKE"
            | "PING"
            | "PONG"
            | "LAGRQ"
            | "LAGRP"
            | "ACK"
            | "INVAL"
            | "CALLTOKEN"
    )
}

fn iax2_groups(records: &[SignalRecord], groups: &mut Groups) {
    // (peer address, its call number) -> group key.
    let mut sides: HashMap<(SocketAddr, u16), String> = HashMap::new();
    let learn =
        |sides: &mut HashMap<(SocketAddr, u16), String>, k: (SocketAddr, u16), key: &str| {
            if k.1 != 0 && (sides.len() < 1_000_000 || sides.contains_key(&k)) {
                sides.insert(k, key.to_string());
            }
        };
    for r in records.iter().filter(|r| r.protocol == Protocol::Iax2) {
        let Some([source, dest]) = r.call_numbers else {
            continue;
        };
        let verb = r.command();
        let key = if dest == 0 && !r.retransmission && iax2_starts(verb) {
            format!(
                "iax2:{}/{source}#{}",
                r.src,
                crate::model::frame_label(r.frame)
            )
        } else if let Some(k) = (dest != 0)
            .then(|| sides.get(&(r.dst, dest)))
            .flatten()
            .or_else(|| sides.get(&(r.src, source)))
        {
            k.clone()
        } else {
            // A call whose start is not in the capture: named by both sides.
            let (a, b) = if (r.src, source) <= (r.dst, dest) {
                ((r.src, source), (r.dst, dest))
            } else {
                ((r.dst, dest), (r.src, source))
            };
            format!("iax2:{}/{}-{}/{}", a.0, a.1, b.0, b.1)
        };
        learn(&mut sides, (r.src, source), &key);
        learn(&mut sides, (r.dst, dest), &key);
        groups.add(key, Protocol::Iax2, iax2_call_frame(verb), r.index);
    }
}

fn iax2_call(
    key: String,
    g: Group,
    records: &[SignalRecord],
    media: &foldhash::HashMap<(SocketAddr, u16), SignalMedia>,
    capture_end: i64,
) -> Option<Call> {
    let recs: Vec<&SignalRecord> = g.records.iter().filter_map(|i| records.get(*i)).collect();
    let first = recs.first()?;
    let mut call = Call {
        call_id: key,
        protocol: Protocol::Iax2,
        start_ts_nanos: first.ts_nanos,
        end_ts_nanos: recs
            .iter()
            .map(|r| r.ts_nanos)
            .max()
            .unwrap_or(first.ts_nanos),
        signals: recs.iter().map(|r| r.index).collect(),
        frames: super::frames_of(&recs),
        retransmissions: recs.iter().filter(|r| r.retransmission).count(),
        transports: vec![Transport::Udp],
        kind: if g.call {
            CallKind::Call
        } else {
            CallKind::Method(first.command().to_ascii_lowercase())
        },
        ..Call::default()
    };
    // Both sides and their call numbers.
    let mut sides: Vec<(SocketAddr, u16)> = Vec::new();
    for r in &recs {
        for a in [r.src, r.dst] {
            if !call.endpoints.contains(&a) && call.endpoints.len() < 64 {
                call.endpoints.push(a);
            }
        }
        if let Some([source, _]) = r.call_numbers
            && !sides.contains(&(r.src, source))
            && sides.len() < 16
        {
            sides.push((r.src, source));
        }
        let v = r.command();
        if !r.retransmission && !call.methods.iter().any(|m| m == v) && call.methods.len() < 32 {
            call.methods.push(v.to_string());
        }
    }
    let mut tallies: Vec<SignalMedia> =
        sides.iter().filter_map(|k| media.get(k).cloned()).collect();
    tallies.sort_by_key(|m| (m.first_frame, m.src));
    if let Some(last) = tallies.iter().map(|m| m.last_ts_nanos).max() {
        call.end_ts_nanos = call.end_ts_nanos.max(last);
    }
    call.signal_media = tallies;
    if !g.call {
        return Some(call);
    }
    let new = recs
        .iter()
        .find(|r| r.command() == "NEW" && r.call_numbers.is_some_and(|[_, d]| d == 0));
    let caller = new.map(|r| r.src);
    let ie = |r: &SignalRecord, name: &str| r.element(name).map(str::to_string);
    if let Some(n) = new {
        let user = ie(n, "username");
        let number = ie(n, "calling number");
        call.from = Some(NameAddr {
            display_name: ie(n, "calling name"),
            uri: format!(
                "iax2:{}@{}",
                user.clone().or_else(|| number.clone()).unwrap_or_default(),
                n.src.ip()
            ),
            user: number.or(user),
            host: Some(n.src.ip().to_string()),
            tag: None,
        });
        let called = ie(n, "called number");
        call.to = Some(NameAddr {
            display_name: None,
            uri: format!("iax2:{}/{}", n.dst.ip(), called.clone().unwrap_or_default()),
            user: called,
            host: Some(n.dst.ip().to_string()),
            tag: None,
        });
    }
    // The format in use: the ACCEPT's, else the NEW's.
    let format = recs
        .iter()
        .filter(|r| !r.retransmission)
        .find(|r| r.command() == "ACCEPT")
        .and_then(|r| ie(r, "format"))
        .or_else(|| new.and_then(|n| ie(n, "format")));
    call.codecs = format
        .map(|f| f.split(',').map(str::to_string).take(32).collect())
        .unwrap_or_default();
    let (mut ringing, mut answer, mut ended, mut busy) = (None, None, None, false);
    for r in recs.iter().filter(|r| !r.retransmission) {
        match r.command() {
            "RINGING" => {
                ringing.get_or_insert(r.ts_nanos);
            }
            "ANSWER" => {
                answer.get_or_insert(r.ts_nanos);
            }
            "BUSY" | "CONGESTION" => busy = true,
            "HANGUP" | "REJECT" if ended.is_none() => ended = Some(*r),
            "DTMF" if call.dtmf_events.len() < 1024 => {
                for d in r.digits.chars() {
                    call.dtmf_events.push(digit_event(d, "iax2", r));
                }
            }
            _ => {}
        }
    }
    call.dtmf = crate::model::dtmf_digits(&call.dtmf_events);
    call.answered = answer.is_some();
    call.answer_ts_nanos = answer;
    call.ringing_ts_nanos = ringing;
    call.ended_ts_nanos = ended.map(|r| r.ts_nanos);
    call.end_reason =
        Some(ended.map_or_else(|| "none".into(), |r| r.command().to_ascii_lowercase()));
    call.final_status = ended.and_then(|r| r.status);
    let by_caller = ended.and_then(|r| caller.map(|c| r.src == c));
    call.ended_by = ended.map(|_| match by_caller {
        Some(true) => Party::Caller,
        Some(false) => Party::Callee,
        None => Party::Unknown,
    });
    call.state = Some(match (answer.is_some(), ended.map(SignalRecord::command)) {
        (true, Some(_)) => CallState::Completed,
        (true, None) => CallState::InCall,
        (false, Some(v)) if v == "REJECT" || busy || by_caller == Some(false) => {
            CallState::Rejected
        }
        (false, Some(_)) => CallState::Cancelled,
        (false, None) if ringing.is_some() => CallState::Ringing,
        (false, None) => CallState::Calling,
    });
    call.setup_time_secs = answer.map(|a| crate::time::secs_between(first.ts_nanos, a));
    call.post_dial_delay_secs = ringing
        .or(answer)
        .map(|t| crate::time::secs_between(first.ts_nanos, t));
    call.duration_secs = answer.map(|a| {
        crate::time::secs_between(
            a,
            call.ended_ts_nanos
                .unwrap_or(capture_end.max(call.end_ts_nanos)),
        )
    });
    Some(call)
}

#[derive(Default)]
struct Group {
    protocol: Protocol,
    call: bool,
    records: Vec<usize>,
}

#[derive(Default)]
struct Groups {
    map: HashMap<String, Group>,
}

impl Groups {
    fn add(&mut self, key: String, protocol: Protocol, call: bool, index: usize) {
        let g = self.map.entry(key).or_insert_with(|| Group {
            protocol,
            call,
            records: Vec::new(),
        });
        g.call |= call;
        g.records.push(index);
    }
}

fn real_context(c: Option<&str>) -> Option<&str> {
    c.filter(|c| !matches!(*c, "$" | "-" | "*") && !c.is_empty())
}

fn megaco_groups(records: &[SignalRecord], groups: &mut Groups) {
    // The reply of each request (for `C=$`).
    let mut reply_of: HashMap<usize, usize> = HashMap::new();
    for r in records {
        if let Some(req) = r.answers {
            reply_of.entry(req).or_insert(r.index);
        }
    }
    // Pending and acknowledgements by transaction, to the group of their request.
    let mut by_tid: HashMap<(SocketAddr, SocketAddr, String), String> = HashMap::new();
    for r in records.iter().filter(|r| r.protocol == Protocol::Megaco) {
        let gateway = megaco_gateway(r);
        let context = match r.context.as_deref() {
            Some("$") => reply_of
                .get(&r.index)
                .and_then(|i| records.get(*i))
                .and_then(|reply| reply.context.clone()),
            c => c.map(str::to_string),
        };
        let pair = if r.src <= r.dst {
            (r.src, r.dst)
        } else {
            (r.dst, r.src)
        };
        let (key, call) = match real_context(context.as_deref()) {
            Some(c) => (format!("megaco:{}/{c}", gateway.ip()), true),
            None if r.kind == SignalKind::Ack && r.commands.is_empty() => {
                match r
                    .transaction
                    .as_ref()
                    .and_then(|t| by_tid.get(&(pair.0, pair.1, t.clone())))
                {
                    Some(k) => (k.clone(), false),
                    None => (format!("megaco:{}/control", gateway.ip()), false),
                }
            }
            None => (format!("megaco:{}/control", gateway.ip()), false),
        };
        if let Some(t) = &r.transaction
            && by_tid.len() < 1_000_000
        {
            by_tid.insert((pair.0, pair.1, t.clone()), key.clone());
        }
        groups.add(key, Protocol::Megaco, call, r.index);
    }
}

#[derive(Default)]
struct EndpointState {
    /// The call the endpoint is in.
    current: Option<String>,
    /// The call was torn down (DLCX): the next off-hook starts another.
    closed: bool,
    /// Requests since the endpoint went off-hook, waiting for the call they lead to.
    pending: Vec<usize>,
}

fn is_event(events: &[String], name: &str) -> bool {
    events.iter().any(|e| {
        let e = e.split('@').next().unwrap_or(e);
        let e = e.split('(').next().unwrap_or(e);
        let short = e.rsplit('/').next().unwrap_or(e);
        short.eq_ignore_ascii_case(name)
    })
}

/// MGCP requests are placed first (by CallId, or by their endpoint's state); responses then join their command's
/// group.
fn mgcp_groups(records: &[SignalRecord], groups: &mut Groups) {
    let mut endpoints: BTreeMap<String, EndpointState> = BTreeMap::new();
    let mut placed: HashMap<usize, (String, bool)> = HashMap::new();
    let flush =
        |name: &str, pending: &mut Vec<usize>, placed: &mut HashMap<usize, (String, bool)>| {
            let Some(&first) = pending.first() else {
                return;
            };
            let frame = records.get(first).map(|r| r.frame).unwrap_or(0);
            let key = format!("mgcp:{name}#{}", crate::model::frame_label(frame));
            for i in pending.drain(..) {
                placed.insert(i, (key.clone(), true));
            }
        };
    for r in records
        .iter()
        .filter(|r| r.protocol == Protocol::Mgcp && r.kind == SignalKind::Request)
    {
        let endpoint = r
            .commands
            .first()
            .map(|c| c.target.to_ascii_lowercase())
            .unwrap_or_default();
        if endpoints.len() >= 100_000 && !endpoints.contains_key(&endpoint) {
            placed.insert(r.index, (format!("mgcp:{endpoint}"), false));
            continue;
        }
        let st = endpoints.entry(endpoint.clone()).or_default();
        let verb = r.command();
        if r.retransmission {
            // A repeat goes where its original went (placed below, with the responses).
            continue;
        }
        if let Some(c) = r.context.as_deref().filter(|c| !c.is_empty()) {
            let key = format!("mgcp:{c}");
            for i in st.pending.drain(..) {
                placed.insert(i, (key.clone(), true));
            }
            placed.insert(r.index, (key.clone(), true));
            if st.current.as_deref() != Some(key.as_str()) {
                st.current = Some(key);
            }
            st.closed = verb == "DLCX";
            continue;
        }
        let off_hook = is_event(&r.events, "hd");
        // Going off-hook after the call was torn down starts the next call.
        if st.closed && off_hook {
            st.current = None;
            st.closed = false;
        }
        match &st.current {
            Some(key) => {
                placed.insert(r.index, (key.clone(), true));
            }
            None if off_hook || !st.pending.is_empty() || !r.digits.is_empty() => {
                if st.pending.len() >= 1024 {
                    flush(&endpoint, &mut st.pending, &mut placed);
                }
                st.pending.push(r.index);
                // Back on-hook without a call: the attempt ends here.
                if is_event(&r.events, "hu") {
                    flush(&endpoint, &mut st.pending, &mut placed);
                }
            }
            // Restarts, audits and event requests of an idle endpoint.
            None => {
                placed.insert(r.index, (format!("mgcp:{endpoint}"), false));
            }
        }
        if verb == "DLCX" {
            st.closed = true;
        }
    }
    for (name, st) in &mut endpoints {
        flush(name, &mut st.pending, &mut placed);
    }
    // Retransmissions with their original, responses with their command.
    let mut originals: HashMap<u64, usize> = HashMap::new();
    for r in records.iter().filter(|r| r.protocol == Protocol::Mgcp) {
        if !r.retransmission {
            originals.entry(r.frame).or_insert(r.index);
        }
    }
    for r in records.iter().filter(|r| r.protocol == Protocol::Mgcp) {
        let target = if let Some(p) = placed.get(&r.index) {
            Some(p.clone())
        } else {
            let source = match (r.retransmission_of, r.answers) {
                (Some(f), _) if r.kind == SignalKind::Request => originals.get(&f).copied(),
                (_, Some(req)) => Some(req),
                (Some(f), None) => originals
                    .get(&f)
                    .and_then(|o| records.get(*o))
                    .and_then(|o| o.answers),
                _ => None,
            };
            source.and_then(|i| placed.get(&i).cloned())
        };
        let (key, call) = target.unwrap_or_else(|| {
            // A response whose command is not in the capture.
            let pair = if r.src <= r.dst {
                (r.src, r.dst)
            } else {
                (r.dst, r.src)
            };
            (format!("mgcp:{}-{}", pair.0, pair.1), false)
        });
        groups.add(key, Protocol::Mgcp, call, r.index);
    }
}

/// A digit a signalling message reports, as a DTMF event of the call.
fn digit_event(d: char, source: &'static str, r: &SignalRecord) -> DtmfEvent {
    DtmfEvent {
        digit: d.to_string(),
        event: dtmf_code(d),
        source,
        frame: r.frame,
        ts_nanos: r.ts_nanos,
        duration_ms: None,
        ended: true,
        volume: None,
        ssrc: None,
        packets: 1,
    }
}

fn dtmf_code(d: char) -> u8 {
    match d {
        '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => d as u8 - b'A' + 12,
        _ => 0,
    }
}

fn make_call(
    key: String,
    g: Group,
    records: &[SignalRecord],
    streams: &[MediaStream],
    capture_end: i64,
) -> Option<Call> {
    let recs: Vec<&SignalRecord> = {
        let mut v: Vec<&SignalRecord> = g.records.iter().filter_map(|i| records.get(*i)).collect();
        v.sort_by_key(|r| (r.ts_nanos, r.frame, r.index));
        v
    };
    let first = recs.first()?;
    let last_ts = recs
        .iter()
        .map(|r| r.ts_nanos)
        .max()
        .unwrap_or(first.ts_nanos);
    let mut call = Call {
        call_id: key,
        protocol: g.protocol,
        start_ts_nanos: first.ts_nanos,
        end_ts_nanos: last_ts,
        signals: recs.iter().map(|r| r.index).collect(),
        frames: super::frames_of(&recs),
        retransmissions: recs.iter().filter(|r| r.retransmission).count(),
        ..Call::default()
    };
    call.kind = if g.call {
        CallKind::Call
    } else {
        CallKind::Method(
            recs.iter()
                .find(|r| r.kind == SignalKind::Request)
                .and_then(|r| r.commands.first())
                .map(|c| c.name.to_ascii_lowercase())
                .unwrap_or_else(|| "control".into()),
        )
    };
    let mut transports: Vec<Transport> = Vec::new();
    let mut endpoints: Vec<SocketAddr> = Vec::new();
    let mut agents: Vec<String> = Vec::new();
    let mut media: HashSet<SocketAddr> = HashSet::new();
    let mut remote_known: HashSet<String> = HashSet::new();
    let mut codecs: Vec<String> = Vec::new();
    let mut ringing = None;
    let mut answer = None;
    let mut ended = None;
    let mut end_reason = None;
    let mut caller_endpoint: Option<String> = None;
    let mut called_endpoint: Option<String> = None;
    let mut caller_id: Option<String> = None;
    let mut dialled = String::new();
    let mut hung_up = None;
    let mut rung: HashSet<String> = HashSet::new();
    for r in &recs {
        for a in [r.src, r.dst] {
            if !endpoints.contains(&a) && endpoints.len() < 64 {
                endpoints.push(a);
            }
        }
        if !transports.contains(&r.transport) {
            transports.push(r.transport);
        }
        if let Some(a) = &r.agent
            && !agents.contains(a)
            && agents.len() < 16
        {
            agents.push(a.clone());
        }
        if r.kind == SignalKind::Request
            && !r.retransmission
            && let Some(c) = r.commands.first()
            && !call.methods.contains(&c.name)
            && call.methods.len() < 32
        {
            call.methods.push(c.name.clone());
        }
        for s in &r.sdp {
            if s.role == "remote" {
                remote_known.insert(s.target.to_ascii_lowercase());
            }
            for m in &s.sdp.media {
                if let Some(addr) = m.connection.or(s.sdp.connection)
                    && m.port != 0
                    && !addr.is_unspecified()
                    && media.len() < 256
                {
                    media.insert(SocketAddr::new(addr, m.port));
                }
                if m.port != 0 && codecs.len() < 32 {
                    for f in m.formats.iter().take(32) {
                        let name = crate::calls::format_name(m, f);
                        if !codecs.contains(&name) && codecs.len() < 32 {
                            codecs.push(name);
                        }
                    }
                }
            }
        }
        if r.retransmission {
            continue;
        }
        if r.kind == SignalKind::Request {
            if ringing.is_none()
                && r.signals.iter().any(|s| {
                    let short = s.split(['(', '{']).next().unwrap_or(s);
                    let short = short.rsplit('/').next().unwrap_or(short);
                    matches!(
                        short.to_ascii_lowercase().as_str(),
                        "rg" | "rt" | "rs" | "r0"
                    )
                })
            {
                ringing = Some(r.ts_nanos);
                if called_endpoint.is_none()
                    && r.signals.iter().any(|s| {
                        s.to_ascii_lowercase().ends_with("rg")
                            || s.to_ascii_lowercase().contains("/rg")
                    })
                {
                    called_endpoint = r.commands.first().map(|c| c.target.clone());
                }
            }
            if let Some(cid) = &r.caller_id {
                caller_id.get_or_insert_with(|| cid.clone());
                if called_endpoint.is_none() {
                    called_endpoint = r.commands.first().map(|c| c.target.clone());
                }
            }
            if !r.digits.is_empty() && caller_endpoint.is_none() {
                caller_endpoint = r.commands.first().map(|c| c.target.clone());
            }
            // The answer: a rung line going off-hook (MGCP), or a connection modified to send and receive with the
            // far side known. A connection created sendrecv is not one: the called side's often is while it rings.
            let target = r.commands.first().map(|c| c.target.to_ascii_lowercase());
            if answer.is_none()
                && is_event(&r.events, "hd")
                && target.as_ref().is_some_and(|t| rung.contains(t))
            {
                answer = Some(r.ts_nanos);
            }
            if r.signals
                .iter()
                .any(|s| is_event(std::slice::from_ref(s), "rg"))
                && let Some(t) = target
                && rung.len() < 64
            {
                rung.insert(t);
            }
            for c in &r.commands {
                let remote = remote_known.contains(&c.target.to_ascii_lowercase())
                    || r.sdp.iter().any(|s| s.role == "remote");
                if answer.is_none()
                    && matches!(c.name.as_str(), "MDCX" | "Modify")
                    && c.mode.as_deref() == Some("sendrecv")
                    && remote
                {
                    answer = Some(r.ts_nanos);
                }
                if matches!(c.name.as_str(), "DLCX" | "Subtract") {
                    ended = Some(r.ts_nanos);
                    end_reason = Some(c.name.to_ascii_lowercase());
                }
            }
        }
        if !r.digits.is_empty() && r.kind == SignalKind::Request {
            // Digits before the answer dial the number; after it they are DTMF in the call (a PIN, a menu choice).
            let in_call = answer.is_some_and(|a| r.ts_nanos >= a);
            for d in r.digits.chars() {
                if !in_call {
                    if dialled.len() < crate::signal::MAX_DIGITS {
                        dialled.push(d);
                    }
                    continue;
                }
                if call.dtmf_events.len() >= 1024 {
                    break;
                }
                let source = match g.protocol {
                    Protocol::Megaco => "megaco",
                    _ => "mgcp",
                };
                call.dtmf_events.push(digit_event(d, source, r));
            }
        }
        // Back on-hook ends a call no DLCX ended (an abandoned attempt).
        if r.kind == SignalKind::Request && ended.is_none() && is_event(&r.events, "hu") {
            hung_up.get_or_insert(r.ts_nanos);
        }
    }
    if ended.is_none()
        && let Some(t) = hung_up
    {
        ended = Some(t);
        end_reason = Some("on-hook".into());
    }
    if g.call {
        call.answered = answer.is_some();
        call.answer_ts_nanos = answer;
        call.ringing_ts_nanos = ringing;
        call.ended_ts_nanos = ended;
        call.end_reason = Some(end_reason.unwrap_or_else(|| "none".into()));
        call.state = match (answer.is_some(), ended.is_some()) {
            (true, true) => Some(CallState::Completed),
            (true, false) => Some(CallState::InCall),
            (false, false) if ringing.is_some() => Some(CallState::Ringing),
            (false, false) => Some(CallState::Calling),
            (false, true) => None,
        };
        call.setup_time_secs = answer.map(|a| crate::time::secs_between(first.ts_nanos, a));
        call.post_dial_delay_secs = ringing
            .or(answer)
            .map(|t| crate::time::secs_between(first.ts_nanos, t));
        call.duration_secs =
            answer.map(|a| crate::time::secs_between(a, ended.unwrap_or(capture_end.max(last_ts))));
        call.codecs = codecs;
        call.dtmf = crate::model::dtmf_digits(&call.dtmf_events);
        let digits = dialled;
        let addr = |uri: String, user: Option<String>, display: Option<String>| NameAddr {
            display_name: display,
            host: uri.split_once('@').map(|(_, h)| h.to_string()),
            uri,
            user,
            tag: None,
        };
        if let Some(ep) = caller_endpoint.clone().or_else(|| {
            caller_id
                .as_ref()
                .map(|c| c.split(' ').next().unwrap_or(c).to_string())
        }) {
            let (number, display) = match &caller_id {
                Some(c) if caller_endpoint.is_none() => {
                    let (n, d) = c.split_once(' ').unwrap_or((c, ""));
                    (
                        Some(n.to_string()),
                        (!d.is_empty()).then(|| d.trim_matches('"').to_string()),
                    )
                }
                _ => (None, None),
            };
            call.from = Some(addr(ep, number, display));
        }
        if let Some(ep) = called_endpoint {
            call.to = Some(addr(ep, (!digits.is_empty()).then(|| digits.clone()), None));
        } else if !digits.is_empty() {
            call.to = Some(addr(digits.clone(), Some(digits), None));
        }
    }
    call.transports = transports;
    call.endpoints = endpoints;
    call.user_agents = agents;
    call.streams = streams
        .iter()
        .filter(|s| {
            s.src.is_some_and(|a| media.contains(&a)) || s.dst.is_some_and(|a| media.contains(&a))
        })
        .map(|s| s.index)
        .collect();
    Some(call)
}

/// The gateway a MEGACO record talks to or from: commands go to it, Notify and ServiceChange come from it.
pub fn megaco_gateway(r: &SignalRecord) -> SocketAddr {
    let from_gateway = r
        .commands
        .iter()
        .any(|c| c.name == "Notify" || c.name == "ServiceChange");
    match (r.kind, from_gateway) {
        (SignalKind::Request, false) | (SignalKind::Response | SignalKind::Ack, true) => r.dst,
        _ => r.src,
    }
}

/// The call key a record's session descriptions are bound to media under while frames arrive (the call
/// [`build`] later gives it, where the record alone says): `mgcp:<CallId>`, `megaco:<gateway>/<context>`.
pub fn bind_key(r: &SignalRecord, records: &[SignalRecord]) -> Option<String> {
    match r.protocol {
        Protocol::Mgcp => r
            .context
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| format!("mgcp:{c}")),
        Protocol::Megaco => {
            let ctx = match r.context.as_deref() {
                Some("$") => None,
                c => c,
            }
            .or_else(|| {
                // A reply to a `$` request names the context itself; a request only through its reply.
                r.answers
                    .and_then(|i| records.get(i))
                    .and_then(|q| real_context(q.context.as_deref()))
            });
            real_context(ctx).map(|c| format!("megaco:{}/{c}", megaco_gateway(r).ip()))
        }
        _ => None,
    }
}
