//! Call signalling other than SIP: MGCP (`mgcp`), MEGACO/H.248 text (`megaco`) and IAX2 (`iax2`). Each parser turns a datagram into
//! [`ParsedSignal`]s; [`SignalTracker`] places them in the capture as [`SignalRecord`]s (matching responses to
//! their requests, flagging retransmissions, binding their session descriptions to media) and [`calls`] builds
//! the protocol's calls from them when the analysis is read. May import: `model`, `sip::sdp`.
//!
//! Bounds (attacker controlled, listed in ARCHITECTURE.md): [`SignalLimits`] (records kept, open transactions),
//! [`MAX_LIST`] entries per list of a message, [`MAX_DIGITS`] digits per message, [`megaco::MAX_DEPTH`] and
//! [`megaco::MAX_ITEMS`] per MEGACO message, [`SIGNAL_TEXT_BYTES`] of text kept per record.

pub mod calls;
pub mod iax2;
pub mod megaco;
pub mod mgcp;

use foldhash::HashMap;
use std::net::SocketAddr;

use crate::model::{
    FrameNo, PacketMeta, Protocol, SIGNAL_TEXT_BYTES, Sdp, SignalCommand, SignalKind, SignalMedia,
    SignalRecord, SignalSdp, Transport,
};

/// Entries kept per list of one message (commands, events, signals, descriptors, piggybacked messages).
pub const MAX_LIST: usize = 64;
/// Digits kept per message.
pub const MAX_DIGITS: usize = 64;

/// MGCP's UDP ports: gateways listen on 2427, call agents on 2727.
pub const MGCP_PORTS: [u16; 2] = [2427, 2727];
/// MEGACO's ports: 2944 (text), 2945 (binary).
pub const MEGACO_PORTS: [u16; 2] = [2944, 2945];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("malformed {0}")]
    Malformed(String),
}

/// One message as a parser read it, before it is placed in the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignal {
    pub kind: SignalKind,
    pub summary: String,
    pub transaction: Option<String>,
    pub status: Option<u16>,
    pub commands: Vec<SignalCommand>,
    pub context: Option<String>,
    pub connections: Vec<String>,
    pub digits: String,
    pub events: Vec<String>,
    pub signals: Vec<String>,
    pub caller_id: Option<String>,
    pub sdp: Vec<SignalSdp>,
    pub agent: Option<String>,
    /// IAX2: the source and destination call numbers.
    pub call_numbers: Option<[u16; 2]>,
    /// The message says it is a retransmission (IAX2's R bit).
    pub resent: bool,
    pub text: String,
    pub size: usize,
    pub warnings: Vec<String>,
}

impl Default for ParsedSignal {
    fn default() -> Self {
        ParsedSignal {
            kind: SignalKind::Request,
            summary: String::new(),
            transaction: None,
            status: None,
            commands: Vec::new(),
            context: None,
            connections: Vec::new(),
            digits: String::new(),
            events: Vec::new(),
            signals: Vec::new(),
            caller_id: None,
            sdp: Vec::new(),
            agent: None,
            call_numbers: None,
            resent: false,
            text: String::new(),
            size: 0,
            warnings: Vec::new(),
        }
    }
}

/// Which protocol a UDP payload speaks, if it is one of ours: IAX2 on its port (binary: nothing in its bytes
/// would tell it elsewhere, as for TShark), MEGACO text anywhere (its first bytes say so), MGCP commands anywhere,
/// MGCP responses on MGCP's ports only (`200 1234 OK` is not distinctive). Cheap: media packets are turned away
/// by their first byte.
pub fn sniff_udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Option<Protocol> {
    if (src_port == iax2::IAX2_PORT || dst_port == iax2::IAX2_PORT)
        && iax2::frame_kind(payload).is_some()
    {
        return Some(Protocol::Iax2);
    }
    let first = *payload.first()?;
    if !(first.is_ascii_alphanumeric() || first == b'!') {
        return None;
    }
    if megaco::starts_like_megaco(payload) {
        return Some(Protocol::Megaco);
    }
    if mgcp::starts_like_command(payload) {
        return Some(Protocol::Mgcp);
    }
    let mgcp_port = MGCP_PORTS.contains(&src_port) || MGCP_PORTS.contains(&dst_port);
    (mgcp_port && mgcp::starts_like_response(payload)).then_some(Protocol::Mgcp)
}

/// Parses a payload of `protocol`.
pub fn parse(protocol: Protocol, payload: &[u8]) -> Result<Vec<ParsedSignal>, SignalError> {
    match protocol {
        Protocol::Mgcp => mgcp::parse(payload),
        Protocol::Megaco => megaco::parse(payload),
        Protocol::Iax2 => iax2::parse(payload),
        other => Err(SignalError::Malformed(format!(
            "{}: no parser",
            other.label()
        ))),
    }
}

/// The session descriptions in `text`: one per `v=` line (MEGACO descriptors list alternatives one after the
/// other), those with nothing usable left out.
pub(crate) fn parse_sdp_alternatives(text: &str) -> Vec<Sdp> {
    let mut parts: Vec<String> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        if l.starts_with("v=") || parts.is_empty() {
            if parts.len() >= MAX_LIST {
                break;
            }
            parts.push(String::new());
        }
        if let Some(p) = parts.last_mut() {
            p.push_str(l);
            p.push('\n');
        }
    }
    parts
        .iter()
        .filter_map(|p| crate::sip::sdp::parse_sdp(p.as_bytes()).ok())
        .filter(|s| !s.media.is_empty() || s.connection.is_some())
        .collect()
}

/// A message's text as kept: cut at [`SIGNAL_TEXT_BYTES`] on a character boundary.
pub(crate) fn text_of(s: &str) -> String {
    if s.len() <= SIGNAL_TEXT_BYTES {
        return s.to_string();
    }
    let mut end = SIGNAL_TEXT_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// At most 120 characters of `s`, for messages and lists.
pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(120).collect()
}

pub(crate) fn push_bounded(v: &mut Vec<String>, item: String) {
    if v.len() < MAX_LIST {
        v.push(item);
    }
}

/// Caps on what [`SignalTracker`] keeps.
#[derive(Debug, Clone)]
pub struct SignalLimits {
    /// Records kept; further messages are counted, not stored.
    pub max_records: usize,
    /// Estimated memory of the kept records ([`record_cost`]); past it, further messages are counted, not stored
    /// (a flood of 8 KiB messages reaches this long before `max_records`).
    pub max_record_bytes: usize,
    /// Transactions remembered for response matching and retransmission detection (and IAX2 frames that
    /// retransmissions are matched to).
    pub max_transactions: usize,
    /// IAX2 calls whose media frames are counted apiece.
    pub max_media_calls: usize,
}

impl Default for SignalLimits {
    fn default() -> Self {
        SignalLimits {
            max_records: 1_000_000,
            max_record_bytes: 512 * 1024 * 1024,
            max_transactions: 1_000_000,
            max_media_calls: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TxKey {
    protocol: Protocol,
    src: SocketAddr,
    dst: SocketAddr,
    tid: String,
    request: bool,
}

/// Places parsed messages in the capture, in frame order.
#[derive(Debug, Default)]
pub struct SignalTracker {
    limits: SignalLimits,
    pub records: Vec<SignalRecord>,
    /// The last message of each (direction, transaction, request or response): its record and text hash.
    transactions: HashMap<TxKey, (usize, u64)>,
    /// IAX2: the last frame sent by (sender, receiver, source call number, summary), for the frame a retransmission
    /// (R bit) repeats.
    resendable: HashMap<(SocketAddr, SocketAddr, u16, String), FrameNo>,
    /// IAX2 media frames (mini frames, trunk entries, meta video) per (sender, its call number).
    pub media: HashMap<(SocketAddr, u16), SignalMedia>,
    /// Media frames not tallied per call (`max_media_calls`).
    pub media_untallied: u64,
    /// Messages counted but not stored (`max_records`, `max_record_bytes`).
    pub not_stored: u64,
    /// [`record_cost`] of the kept records.
    pub record_bytes: usize,
    /// Messages whose transaction was not remembered (`max_transactions`).
    pub transactions_refused: u64,
    /// Every message seen, stored or not, retransmissions included.
    pub total: u64,
    pub retransmissions: u64,
    pub parse_failures: u64,
}

impl SignalTracker {
    pub fn new(limits: SignalLimits) -> Self {
        SignalTracker {
            limits,
            ..Default::default()
        }
    }

    /// Adds the messages of one payload. Returns the indices of the new records whose session descriptions
    /// should be bound to media (not retransmissions).
    pub fn push(
        &mut self,
        protocol: Protocol,
        meta: PacketMeta,
        transport: Transport,
        parsed: Vec<ParsedSignal>,
    ) -> Vec<usize> {
        let mut fresh = Vec::new();
        for p in parsed {
            self.total += 1;
            let cost = parsed_cost(&p);
            if self.records.len() >= self.limits.max_records
                || self.record_bytes.saturating_add(cost) > self.limits.max_record_bytes
            {
                self.not_stored += 1;
                continue;
            }
            self.record_bytes = self.record_bytes.saturating_add(cost);
            let index = self.records.len();
            let mut rec = SignalRecord {
                index,
                protocol,
                frame: meta.frame,
                ts_nanos: meta.ts_nanos,
                src: meta.src,
                dst: meta.dst,
                transport,
                size: p.size,
                kind: p.kind,
                summary: p.summary,
                transaction: p.transaction,
                status: p.status,
                commands: p.commands,
                context: p.context,
                connections: p.connections,
                digits: p.digits,
                events: p.events,
                signals: p.signals,
                caller_id: p.caller_id,
                sdp: p.sdp,
                agent: p.agent,
                call_numbers: p.call_numbers,
                answers: None,
                retransmission: p.resent,
                retransmission_of: None,
                text: p.text,
                warnings: p.warnings,
            };
            if let Some(tid) = rec.transaction.clone() {
                self.transaction(&mut rec, tid);
            } else if let Some([source, _]) = rec.call_numbers {
                let key = (rec.src, rec.dst, source, rec.summary.clone());
                if rec.retransmission {
                    rec.retransmission_of = self.resendable.get(&key).copied();
                } else if self.resendable.len() < self.limits.max_transactions
                    || self.resendable.contains_key(&key)
                {
                    self.resendable.insert(key, rec.frame);
                } else {
                    self.transactions_refused += 1;
                }
            }
            if rec.retransmission {
                self.retransmissions += 1;
            } else {
                fresh.push(index);
            }
            self.records.push(rec);
        }
        fresh
    }

    /// Tallies the media of an IAX2 mini or meta frame under its sender and call number(s); `false` for a full
    /// frame (a message, for [`parse`]) or one too short to be any.
    pub fn push_iax2_media(&mut self, meta: PacketMeta, payload: &[u8]) -> bool {
        match iax2::frame_kind(payload) {
            Some(iax2::FrameKind::Mini { source_call }) => {
                self.push_media(meta, source_call, payload.len().saturating_sub(4));
                true
            }
            Some(iax2::FrameKind::Meta) => {
                for (call, bytes) in iax2::meta_entries(payload) {
                    self.push_media(meta, call, bytes);
                }
                true
            }
            Some(iax2::FrameKind::Full) | None => false,
        }
    }

    fn push_media(&mut self, meta: PacketMeta, call: u16, bytes: usize) {
        let key = (meta.src, call);
        if self.media.len() >= self.limits.max_media_calls && !self.media.contains_key(&key) {
            self.media_untallied += 1;
            return;
        }
        let t = self.media.entry(key).or_insert(SignalMedia {
            src: meta.src,
            dst: meta.dst,
            call_number: call,
            frames: 0,
            bytes: 0,
            first_frame: meta.frame,
            last_frame: meta.frame,
            first_ts_nanos: meta.ts_nanos,
            last_ts_nanos: meta.ts_nanos,
        });
        t.frames += 1;
        t.bytes = t.bytes.saturating_add(bytes as u64);
        t.last_frame = meta.frame;
        t.last_ts_nanos = meta.ts_nanos;
    }

    fn transaction(&mut self, rec: &mut SignalRecord, tid: String) {
        let request = rec.kind == SignalKind::Request;
        let hash = text_hash(&rec.text);
        let key = TxKey {
            protocol: rec.protocol,
            src: rec.src,
            dst: rec.dst,
            tid,
            request,
        };
        // A response answers the request of the same transaction sent the other way.
        if !request {
            let req_key = TxKey {
                protocol: rec.protocol,
                src: rec.dst,
                dst: rec.src,
                tid: key.tid.clone(),
                request: true,
            };
            if let Some(&(req, _)) = self.transactions.get(&req_key) {
                rec.answers = Some(req);
                if let Some(r) = self.records.get(req) {
                    // MGCP responses do not repeat the command or its CallId: they inherit them.
                    if rec.commands.is_empty() {
                        rec.commands = r
                            .commands
                            .iter()
                            .map(|c| SignalCommand {
                                mode: None,
                                ..c.clone()
                            })
                            .collect();
                        for s in &mut rec.sdp {
                            if s.target.is_empty()
                                && let Some(c) = r.commands.first()
                            {
                                s.target = c.target.clone();
                            }
                        }
                    }
                    if rec.context.is_none() {
                        rec.context = r.context.clone();
                    }
                }
            }
        }
        match self.transactions.get_mut(&key) {
            Some((first, h)) if *h == hash && rec.kind != SignalKind::Ack => {
                rec.retransmission = true;
                rec.retransmission_of = self.records.get(*first).map(|r| r.frame);
            }
            Some(entry) => *entry = (rec.index, hash),
            None => {
                if self.transactions.len() < self.limits.max_transactions {
                    self.transactions.insert(key, (rec.index, hash));
                } else {
                    self.transactions_refused += 1;
                }
            }
        }
    }
}

/// Estimated memory a record costs: the record, its text (kept once, read once more into its fields), and each
/// list entry with its allocation. An estimate, not an allocator count.
pub fn record_cost(r: &SignalRecord) -> usize {
    cost(
        &r.text,
        r.commands.len() + r.events.len() + r.signals.len() + r.connections.len(),
        r.sdp.len(),
    )
}

fn parsed_cost(p: &ParsedSignal) -> usize {
    cost(
        &p.text,
        p.commands.len() + p.events.len() + p.signals.len() + p.connections.len(),
        p.sdp.len(),
    )
}

fn cost(text: &str, entries: usize, sdps: usize) -> usize {
    std::mem::size_of::<SignalRecord>()
        .saturating_add(text.len().saturating_mul(2))
        .saturating_add(entries.saturating_mul(64))
        .saturating_add(sdps.saturating_mul(std::mem::size_of::<Sdp>() + 256))
}

fn text_hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Frames of the records, for a call.
pub(crate) fn frames_of(records: &[&SignalRecord]) -> Vec<FrameNo> {
    let mut f: Vec<FrameNo> = records.iter().map(|r| r.frame).collect();
    f.sort_unstable();
    f.dedup();
    f
}
