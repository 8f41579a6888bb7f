//! Calls: groups SIP messages by Call-ID into calls (INVITE dialogs) and non-INVITE traffic (REGISTER, OPTIONS,
//! SUBSCRIBE/NOTIFY, MESSAGE, ...), flags UDP retransmissions the way Wireshark does, and follows each INVITE
//! dialog through ringing, answer and end (BYE, CANCEL, final failure) with offer/answer SDP and forking.
//! State is fed in frame order by the pipeline. May import: `model`.

pub mod legs;

use foldhash::HashMap;
use std::net::SocketAddr;

use crate::model::{
    Call, CallKind, CallState, DiagLevel, Diagnostic, FrameNo, Layer, MessageRecord, NameAddr,
    Party, Sdp, SdpExchange, SdpMediaSummary, Transport,
};

/// Caps on per-Call-ID state (attacker-controlled: every packet can carry a new Call-ID).
#[derive(Debug, Clone)]
pub struct CallLimits {
    /// Distinct Call-IDs tracked; messages with further new Call-IDs are kept but not grouped.
    pub max_calls: usize,
    /// Retransmission-detection entries (Call-ID × address pair).
    pub max_resend_keys: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            max_calls: 1_000_000,
            max_resend_keys: 2_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxState {
    Nothing,
    Request,
    Provisional,
    Final,
}

#[derive(Debug, Clone)]
struct ResendState {
    cseq: u32,
    method: String,
    state: TxState,
    response_code: u16,
    frame: FrameNo,
    /// [`request_content`] of the last new request.
    content: u64,
    /// New requests of this CSeq in this direction not yet given a final response (a tool may send many before
    /// any answer); final responses in the other direction count them down.
    unanswered: u32,
}

/// What a retransmitted request repeats besides its transaction: the Request-URI, the credentials and the body.
/// Two requests with the same Call-ID and CSeq but other content are two attempts (SIPVicious `svcrack` sends every
/// password guess under one Call-ID and CSeq to a server that offers no `qop`), not a retransmission.
fn request_content(m: &crate::model::SipMessage) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same value on every run (the result is only compared within one capture).
    let mut h = std::hash::DefaultHasher::new();
    if let crate::model::StartLine::Request { uri, .. } = &m.start {
        uri.hash(&mut h);
    }
    for (name, value) in &m.headers {
        if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            value.hash(&mut h);
        }
    }
    m.body.hash(&mut h);
    h.finish()
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResendKey {
    call_id: String,
    src: SocketAddr,
    dst: SocketAddr,
}

/// Builds calls from messages fed in frame order.
#[derive(Debug, Default)]
pub struct CallTracker {
    limits: CallLimits,
    resend: HashMap<ResendKey, ResendState>,
    index: HashMap<String, usize>,
    calls: Vec<CallBuilder>,
    resend_cap_hit: bool,
    call_cap_hit: bool,
    /// Messages whose Call-ID could not be tracked because of the cap.
    pub untracked_messages: u64,
    /// Messages whose retransmission state was not kept because `max_resend_keys` was reached.
    pub resend_keys_refused: u64,
}

#[derive(Debug, Clone, Default)]
struct CallBuilder {
    call_id: String,
    first_request_method: Option<String>,
    from: Option<NameAddr>,
    to: Option<NameAddr>,
    asserted_identity: Option<NameAddr>,
    has_invite: bool,
    start_ts: i64,
    last_ts: i64,
    /// The current initial INVITE (no To tag): CSeq, time, From tag, source.
    invite_cseq: Option<u32>,
    invite_ts: Option<i64>,
    invite_from_tag: Option<String>,
    invite_src: Option<SocketAddr>,
    ringing_ts: Option<i64>,
    answer_ts: Option<i64>,
    answered: bool,
    final_status: Option<u16>,
    final_reason: Option<String>,
    cancelled: bool,
    bye_ts: Option<i64>,
    ended_ts: Option<i64>,
    ended_by: Option<Party>,
    end_reason: Option<String>,
    user_agents: Vec<String>,
    transports: Vec<Transport>,
    endpoints: Vec<SocketAddr>,
    dialog_tags: Vec<(String, String)>,
    sdp: Vec<SdpExchange>,
    /// CSeq numbers of transactions whose request carried an offer.
    offers_in_request: Vec<u32>,
    messages: Vec<usize>,
    frames: Vec<FrameNo>,
    retransmissions: usize,
    methods: Vec<String>,
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

impl CallTracker {
    pub fn new(limits: CallLimits) -> Self {
        CallTracker {
            limits,
            ..Default::default()
        }
    }

    /// Decide whether `rec` is a retransmission (Wireshark's rule: UDP only; same Call-ID and address/port pair;
    /// a request with the same CSeq number and method as the last request seen, except ACK and CANCEL; or a final
    /// response with the same CSeq, method and status as the last final response). Returns the original frame.
    pub fn check_resend(
        &mut self,
        rec: &MessageRecord,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<FrameNo> {
        if rec.transport != Transport::Udp {
            return None;
        }
        let msg = &rec.message;
        let (Some(call_id), Some(cseq)) = (msg.call_id.as_ref(), msg.cseq.as_ref()) else {
            return None;
        };
        // A final response that answers a request still waiting (the request direction's entry counts them) is
        // new, whatever its code: a tool's many attempts under one CSeq each get their own answer.
        let fresh_answer = msg.status().is_some_and(|code| code >= 200) && {
            let reverse = ResendKey {
                call_id: call_id.clone(),
                src: rec.dst,
                dst: rec.src,
            };
            match self.resend.get_mut(&reverse) {
                Some(r) if r.cseq == cseq.seq && r.method == cseq.method && r.unanswered > 0 => {
                    r.unanswered -= 1;
                    true
                }
                _ => false,
            }
        };
        let key = ResendKey {
            call_id: call_id.clone(),
            src: rec.src,
            dst: rec.dst,
        };
        let len = self.resend.len();
        let entry = match self.resend.get_mut(&key) {
            Some(e) => e,
            None => {
                if len >= self.limits.max_resend_keys {
                    self.resend_keys_refused += 1;
                    if !self.resend_cap_hit {
                        self.resend_cap_hit = true;
                        diags.push(Diagnostic::new(
                            Some(rec.frame),
                            Layer::Analysis,
                            DiagLevel::Warning,
                            format!(
                                "analysis limited: more than {} Call-ID/address pairs; retransmission detection \
                                 is off for new pairs from here on",
                                self.limits.max_resend_keys
                            ),
                        ));
                    }
                    return None;
                }
                self.resend.entry(key).or_insert(ResendState {
                    cseq: cseq.seq,
                    method: cseq.method.clone(),
                    state: TxState::Nothing,
                    response_code: 0,
                    frame: 0,
                    content: 0,
                    unanswered: 0,
                })
            }
        };
        let same = entry.cseq == cseq.seq
            && entry.method == cseq.method
            && entry.state != TxState::Nothing;
        let mut result = None;
        match msg.status() {
            None => {
                let content = request_content(msg);
                if same
                    && entry.state == TxState::Request
                    && cseq.method != "ACK"
                    && cseq.method != "CANCEL"
                    && content == entry.content
                {
                    result = Some(entry.frame);
                }
                if result.is_none() {
                    // A new attempt of the same CSeq adds to those waiting for an answer; a new CSeq starts afresh.
                    entry.unanswered = if same {
                        entry.unanswered.saturating_add(1)
                    } else {
                        1
                    };
                    entry.frame = rec.frame;
                    entry.content = content;
                }
                entry.state = TxState::Request;
            }
            Some(code) => {
                if same
                    && entry.state == TxState::Final
                    && code >= 200
                    && code == entry.response_code
                    && !fresh_answer
                {
                    result = Some(entry.frame);
                }
                if code >= 200 {
                    entry.response_code = code;
                    entry.state = TxState::Final;
                    if result.is_none() {
                        entry.frame = rec.frame;
                    }
                } else {
                    entry.state = TxState::Provisional;
                }
            }
        }
        entry.cseq = cseq.seq;
        entry.method.clone_from(&cseq.method);
        result
    }

    /// Add a message (already flagged for retransmission) to its call.
    pub fn add(&mut self, rec: &MessageRecord, diags: &mut Vec<Diagnostic>) {
        let msg = &rec.message;
        let Some(call_id) = msg.call_id.as_ref() else {
            return;
        };
        let idx = match self.index.get(call_id) {
            Some(i) => *i,
            None => {
                if self.calls.len() >= self.limits.max_calls {
                    self.untracked_messages += 1;
                    if !self.call_cap_hit {
                        self.call_cap_hit = true;
                        diags.push(Diagnostic::new(
                            Some(rec.frame),
                            Layer::Analysis,
                            DiagLevel::Warning,
                            format!(
                                "analysis limited: more than {} distinct Call-IDs; messages with new Call-IDs are \
                                 listed but not grouped into calls",
                                self.limits.max_calls
                            ),
                        ));
                    }
                    return;
                }
                let i = self.calls.len();
                self.index.insert(call_id.clone(), i);
                self.calls.push(CallBuilder {
                    call_id: call_id.clone(),
                    start_ts: rec.ts_nanos,
                    ..Default::default()
                });
                i
            }
        };
        let Some(call) = self.calls.get_mut(idx) else {
            return;
        };
        call.add(rec);
    }

    /// Number of calls tracked so far.
    /// The caps this stage reached.
    pub fn cap_hits(&self) -> Vec<crate::model::CapHit> {
        use crate::model::CapHit;
        let l = &self.limits;
        let mut v = Vec::new();
        if self.untracked_messages > 0 {
            v.push(CapHit::new(
                "Call-ID cap",
                l.max_calls,
                self.untracked_messages,
                format!(
                    "Call-ID cap ({}): {} SIP messages not grouped into calls",
                    l.max_calls, self.untracked_messages
                ),
            ));
        }
        if self.resend_keys_refused > 0 {
            v.push(CapHit::new(
                "retransmission-key cap",
                l.max_resend_keys,
                self.resend_keys_refused,
                format!(
                    "retransmission-key cap ({}): {} SIP messages not checked for retransmission",
                    l.max_resend_keys, self.resend_keys_refused
                ),
            ));
        }
        v
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls as they stand, in order of their first message. `capture_end_ts` is the last frame's time: an
    /// answered call with no BYE was still up then, so its duration runs to it.
    pub fn calls(&self, capture_end_ts: i64) -> Vec<Call> {
        self.calls.iter().map(|c| c.build(capture_end_ts)).collect()
    }
}

impl CallBuilder {
    fn add(&mut self, rec: &MessageRecord) {
        let msg = &rec.message;
        self.last_ts = self.last_ts.max(rec.ts_nanos);
        self.messages.push(rec.index);
        self.frames.push(rec.frame);
        push_unique(&mut self.transports, rec.transport);
        push_unique(&mut self.endpoints, rec.src);
        push_unique(&mut self.endpoints, rec.dst);
        for ua in [&msg.user_agent, &msg.server].into_iter().flatten() {
            let ua = ua.trim();
            if !ua.is_empty() && self.user_agents.len() < 16 {
                push_unique(&mut self.user_agents, ua.to_string());
            }
        }
        if let (Some(f), Some(t)) = (
            msg.from.as_ref().and_then(|f| f.tag.clone()),
            msg.to.as_ref().and_then(|t| t.tag.clone()),
        ) && self.dialog_tags.len() < 64
        {
            push_unique(&mut self.dialog_tags, (f, t));
        }
        if rec.retransmission {
            self.retransmissions += 1;
            return;
        }
        let cseq = msg.cseq.as_ref();
        let cseq_method = cseq.map(|c| c.method.as_str()).unwrap_or("");
        let cseq_no = cseq.map(|c| c.seq);

        if let Some(method) = msg.method() {
            if self.methods.len() < 32 {
                push_unique(&mut self.methods, method.to_string());
            }
            if self.first_request_method.is_none() {
                self.first_request_method = Some(method.to_string());
                self.from.clone_from(&msg.from);
                self.to.clone_from(&msg.to);
            }
            let has_to_tag = msg.to.as_ref().is_some_and(|t| t.tag.is_some());
            match method {
                "INVITE" => {
                    if !self.has_invite {
                        // The caller is whoever sent the first INVITE, even if another request came first.
                        self.from.clone_from(&msg.from);
                        self.to.clone_from(&msg.to);
                        self.asserted_identity = msg.p_asserted_identity.first().cloned();
                    }
                    self.has_invite = true;
                    if !has_to_tag && !self.answered {
                        // A new initial INVITE (e.g. re-sent with credentials after 401/407): the attempt restarts.
                        self.invite_cseq = cseq_no;
                        self.invite_ts.get_or_insert(rec.ts_nanos);
                        self.invite_from_tag = msg.from.as_ref().and_then(|f| f.tag.clone());
                        self.invite_src = Some(rec.src);
                        self.final_status = None;
                        self.final_reason = None;
                    }
                }
                "CANCEL" if !self.answered => {
                    self.cancelled = true;
                    if self.ended_ts.is_none() {
                        self.ended_ts = Some(rec.ts_nanos);
                        self.end_reason = Some("cancel".into());
                        self.ended_by = Some(Party::Caller);
                    }
                }
                "BYE" if self.bye_ts.is_none() => {
                    self.bye_ts = Some(rec.ts_nanos);
                    self.ended_ts = Some(rec.ts_nanos);
                    self.end_reason = Some("bye".into());
                    let from_tag = msg.from.as_ref().and_then(|f| f.tag.clone());
                    self.ended_by =
                        Some(if from_tag.is_some() && from_tag == self.invite_from_tag {
                            Party::Caller
                        } else if from_tag.is_some() {
                            Party::Callee
                        } else if Some(rec.src) == self.invite_src {
                            Party::Caller
                        } else {
                            Party::Unknown
                        });
                }
                _ => {}
            }
            if let Some(sdp) = &msg.sdp {
                let role = if method == "ACK" { "answer" } else { "offer" };
                if role == "offer"
                    && let Some(n) = cseq_no
                    && self.offers_in_request.len() < 256
                {
                    self.offers_in_request.push(n);
                }
                self.push_sdp(rec, sdp, role, method.to_string());
            }
        } else if let Some(code) = msg.status() {
            if cseq_method == "INVITE" {
                let for_initial = cseq_no.is_some() && cseq_no == self.invite_cseq;
                if (180..=183).contains(&code) && self.ringing_ts.is_none() {
                    self.ringing_ts = Some(rec.ts_nanos);
                }
                if (200..300).contains(&code) {
                    if !self.answered {
                        self.answer_ts = Some(rec.ts_nanos);
                    }
                    self.answered = true;
                    if for_initial || self.final_status.is_none() {
                        self.final_status.get_or_insert(code);
                    }
                } else if code >= 300
                    && for_initial
                    && !self.answered
                    && self.final_status.is_none()
                {
                    self.final_status = Some(code);
                    let reason = match &msg.start {
                        crate::model::StartLine::Response { reason, .. } => reason.clone(),
                        crate::model::StartLine::Request { .. } => String::new(),
                    };
                    self.final_reason = Some(format!("{code} {reason}").trim().to_string());
                }
            }
            if let Some(sdp) = &msg.sdp {
                let answered_offer = cseq_no.is_some_and(|n| self.offers_in_request.contains(&n));
                let role = if answered_offer { "answer" } else { "offer" };
                self.push_sdp(rec, sdp, role, code.to_string());
            }
        }
    }

    fn push_sdp(&mut self, rec: &MessageRecord, sdp: &Sdp, role: &'static str, carried_by: String) {
        if self.sdp.len() >= 256 {
            return;
        }
        let media = sdp
            .media
            .iter()
            .take(64)
            .map(|m| SdpMediaSummary {
                media: m.media.clone(),
                address: m.connection.or(sdp.connection),
                port: m.port,
                proto: m.proto.clone(),
                codecs: m
                    .formats
                    .iter()
                    .take(32)
                    .map(|f| format_name(m, f))
                    .collect(),
                direction: m.direction.clone().or_else(|| sdp.direction.clone()),
                crypto: !m.crypto.is_empty(),
                fingerprint: !m.fingerprints.is_empty() || !sdp.fingerprints.is_empty(),
            })
            .collect();
        self.sdp.push(SdpExchange {
            frame: rec.frame,
            message_index: rec.index,
            role,
            carried_by,
            media,
        });
    }

    fn build(&self, capture_end_ts: i64) -> Call {
        let is_call = self.has_invite;
        let kind = if is_call {
            CallKind::Call
        } else {
            self.first_request_method
                .as_ref()
                .map_or(CallKind::Unknown, |m| {
                    CallKind::Method(m.to_ascii_lowercase())
                })
        };
        let state = is_call.then(|| {
            if self.answered {
                if self.bye_ts.is_some() {
                    CallState::Completed
                } else {
                    CallState::InCall
                }
            } else if self.cancelled {
                CallState::Cancelled
            } else if self.final_status.is_some_and(|s| s >= 300) {
                CallState::Rejected
            } else if self.ringing_ts.is_some() {
                CallState::Ringing
            } else {
                CallState::Calling
            }
        });
        let (mut ended_ts, mut end_reason, mut ended_by) =
            (self.ended_ts, self.end_reason.clone(), self.ended_by);
        if is_call
            && !self.answered
            && !self.cancelled
            && self.final_status.is_some_and(|s| s >= 300)
        {
            // Rejected by the callee side (or a proxy on its behalf).
            end_reason = self.final_reason.clone();
            ended_by = Some(Party::Callee);
            ended_ts = ended_ts.or(Some(self.last_ts));
        }
        if is_call && self.answered && self.bye_ts.is_none() {
            end_reason = Some("none".into());
            ended_by = None;
            ended_ts = None;
        }
        let setup_time_secs = match (self.invite_ts, self.answer_ts) {
            (Some(i), Some(a)) => Some(crate::time::secs_between(i, a)),
            _ => None,
        };
        let post_dial_delay_secs = match (self.invite_ts, self.ringing_ts.or(self.answer_ts)) {
            (Some(i), Some(r)) => Some(crate::time::secs_between(i, r)),
            _ => None,
        };
        let duration_secs = self.answer_ts.map(|a| {
            crate::time::secs_between(a, self.bye_ts.unwrap_or(capture_end_ts.max(self.last_ts)))
        });
        // Codecs: the last answer's audio formats, else the last offer's.
        let codecs = self
            .sdp
            .iter()
            .rev()
            .find(|x| x.role == "answer")
            .or_else(|| self.sdp.last())
            .map(|x| {
                let mut v: Vec<String> = Vec::new();
                for m in &x.media {
                    for c in &m.codecs {
                        push_unique(&mut v, c.clone());
                    }
                }
                v
            })
            .unwrap_or_default();
        Call {
            call_id: self.call_id.clone(),
            protocol: crate::model::Protocol::Sip,
            signals: Vec::new(),
            signal_media: Vec::new(),
            kind,
            from: self.from.clone(),
            to: self.to.clone(),
            asserted_identity: self.asserted_identity.clone(),
            state,
            answered: self.answered,
            start_ts_nanos: self.start_ts,
            end_ts_nanos: self.last_ts,
            ringing_ts_nanos: self.ringing_ts,
            answer_ts_nanos: self.answer_ts,
            ended_ts_nanos: ended_ts,
            setup_time_secs,
            post_dial_delay_secs,
            duration_secs,
            end_reason: if is_call { end_reason } else { None },
            ended_by: if is_call { ended_by } else { None },
            final_status: self.final_status,
            user_agents: self.user_agents.clone(),
            codecs,
            transports: self.transports.clone(),
            endpoints: self.endpoints.clone(),
            dialogs: self.dialog_tags.len(),
            sdp: self.sdp.clone(),
            messages: self.messages.clone(),
            frames: self.frames.clone(),
            retransmissions: self.retransmissions,
            dtmf: String::new(),
            dtmf_events: Vec::new(),
            streams: Vec::new(),
            t38: None,
            identity: None,
            methods: self.methods.clone(),
        }
    }
}

/// Name of a payload format in an m= line: the rtpmap encoding, or the static RTP payload table (RFC 3551).
pub fn format_name(m: &crate::model::SdpMedia, fmt: &str) -> String {
    let Ok(pt) = fmt.parse::<u8>() else {
        return fmt.to_string();
    };
    if let Some(map) = m.rtpmaps.iter().find(|r| r.payload_type == pt) {
        return map.encoding.clone();
    }
    static_payload_name(pt)
        .map(str::to_string)
        .unwrap_or_else(|| format!("PT{pt}"))
}

/// RFC 3551 static payload types.
pub fn static_payload_name(pt: u8) -> Option<&'static str> {
    Some(match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        5 | 6 => "DVI4",
        7 => "LPC",
        8 => "PCMA",
        9 => "G722",
        10 | 11 => "L16",
        12 => "QCELP",
        13 => "CN",
        14 => "MPA",
        15 => "G728",
        16 | 17 => "DVI4",
        18 => "G729",
        25 => "CelB",
        26 => "JPEG",
        28 => "nv",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        _ => return None,
    })
}
