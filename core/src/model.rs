//! The shared analysis model: what the pipeline produces and what findings, reports, the CLI and the GUI read.
//!
//! Everything here is plain data. Maps that reach output are ordered (`BTreeMap`) and vectors are sorted by frame
//! number, so the same capture and settings always serialise to the same bytes. Times are integer nanoseconds since
//! the Unix epoch (`*_ts_nanos`); the capture's precision is kept in [`CaptureInfo::ts_precision_digits`] so output
//! shows exactly the digits the capture has.

use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// Version of the JSON contract described in `docs/json.md`. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// 1-based frame number, equal to Wireshark's "No." column. In a case of several files it names (file, frame):
/// `file × CASE_FILE_STRIDE + frame`, where `file` is the file's 1-based number in [`CaseInfo::files`] and `frame`
/// is Wireshark's number within that file (see [`case_frame`], [`split_frame`]). A single capture is file 0, so its
/// frame numbers are Wireshark's unchanged.
pub type FrameNo = u64;

/// The decimal stride between the files of a case in [`FrameNo`]: file 3, frame 1234 is `30000001234`, readable by
/// eye and split exactly by integer division. No capture holds 10¹⁰ frames (each record takes at least 16 bytes and
/// gzip input is capped at 16 GiB).
pub const CASE_FILE_STRIDE: u64 = 10_000_000_000;

/// The frame number of frame `frame` of case file `file` (1-based; 0 for a capture analysed alone).
pub fn case_frame(file: u32, frame: u64) -> FrameNo {
    u64::from(file)
        .saturating_mul(CASE_FILE_STRIDE)
        .saturating_add(frame)
}

/// (case file number, frame within that file): `(0, n)` for a capture analysed alone.
pub fn split_frame(n: FrameNo) -> (u32, u64) {
    (
        u32::try_from(n / CASE_FILE_STRIDE).unwrap_or(u32::MAX),
        n % CASE_FILE_STRIDE,
    )
}

/// A frame reference as people read it: `1234` alone, `3:1234` (file 3, frame 1234) in a case.
pub fn frame_label(n: FrameNo) -> String {
    match split_frame(n) {
        (0, f) => f.to_string(),
        (file, f) => format!("{file}:{f}"),
    }
}

/// Where and when one packet was seen: what every stage is handed with the packet's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// The frame (1-based, as Wireshark numbers them) that carried the packet, or completed it.
    pub frame: FrameNo,
    /// Its capture time (UTC nanoseconds).
    pub ts_nanos: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

/// Transport a SIP message (or other application payload) travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
    Sctp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
            Transport::Sctp => "sctp",
        }
    }
}

/// Where a packet was seen on the wire, beyond its addresses: VLAN tags (outermost first) and how many tunnel
/// layers (IP-in-IP, GRE, IPv6-in-IPv4, PPPoE does not count) were removed to reach the innermost IP header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Encapsulation {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vlan_ids: Vec<u16>,
    #[serde(skip_serializing_if = "is_zero_u8")]
    pub tunnel_depth: u8,
}

fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}

/// The layer at which something went wrong, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Capture,
    Link,
    Ip,
    Defrag,
    Udp,
    Tcp,
    Websocket,
    Sctp,
    Tls,
    Sip,
    Sdp,
    Rtp,
    /// Gateway and phone control protocols other than SIP (MGCP, MEGACO/H.248, ...).
    Signal,
    Analysis,
}

/// How serious a diagnostic is. `Warning` and `Error` make `earshot analyze` exit with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagLevel {
    /// Worth knowing, not a data problem (e.g. "snaplen cut 3 frames" is a warning, "non-IP frame" is info).
    Info,
    /// Some data could not be analysed fully; the result is still sound for the rest.
    Warning,
    /// Data was lost or the input is damaged.
    Error,
}

/// A problem found in the input, with where it was found. Analysis continues after every diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based frame number, or `None` for file-level problems.
    pub frame: Option<FrameNo>,
    pub layer: Layer,
    pub level: DiagLevel,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        frame: Option<FrameNo>,
        layer: Layer,
        level: DiagLevel,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            frame,
            layer,
            level,
            message: message.into(),
        }
    }
}

/// A SIP URI or name-addr, reduced to what analysis needs. Every string is as found on the wire (attacker
/// controlled: escape before showing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameAddr {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The full URI, e.g. `sip:alice@example.com;transport=tcp`.
    pub uri: String,
    /// The user part of the URI (`alice`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The host part of the URI (`example.com`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The `tag` parameter (From/To).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// First line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { code: u16, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CSeq {
    pub seq: u32,
    pub method: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Via {
    /// `UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`, as written.
    pub transport: String,
    /// host[:port] as written.
    pub sent_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rport: Option<String>,
}

/// Which header a digest credential or challenge came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHeader {
    WwwAuthenticate,
    ProxyAuthenticate,
    Authorization,
    ProxyAuthorization,
}

/// A parsed `Authorization`/`Proxy-Authorization` (credentials) or `WWW-Authenticate`/`Proxy-Authenticate`
/// (challenge) header. Parameters are kept in order as written, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthField {
    pub header: AuthHeader,
    /// `Digest`, `Basic`, ...
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl AuthField {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for credentials (`Authorization`, `Proxy-Authorization`), false for challenges.
    pub fn is_credentials(&self) -> bool {
        matches!(
            self.header,
            AuthHeader::Authorization | AuthHeader::ProxyAuthorization
        )
    }
}

/// Which parser understood a SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SipParser {
    /// `rsip` accepted the message.
    Rsip,
    /// `rsip` rejected it; the tolerant parser extracted the fields.
    Tolerant,
}

impl SipParser {
    /// As serialised: `rsip`, `tolerant`.
    pub fn as_str(self) -> &'static str {
        match self {
            SipParser::Rsip => "rsip",
            SipParser::Tolerant => "tolerant",
        }
    }
}

/// A SIP message as decoded from bytes, before it is placed in a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SipMessage {
    pub start: StartLine,
    pub call_id: Option<String>,
    pub from: Option<NameAddr>,
    pub to: Option<NameAddr>,
    pub cseq: Option<CSeq>,
    pub via: Vec<Via>,
    pub contact: Vec<NameAddr>,
    pub user_agent: Option<String>,
    pub server: Option<String>,
    pub p_asserted_identity: Vec<NameAddr>,
    pub auth: Vec<AuthField>,
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub max_forwards: Option<u32>,
    /// Every header as (name, value) in wire order, names as written (compact forms kept). Bounded by the parser.
    pub headers: Vec<(String, String)>,
    /// The body bytes (after the blank line), cut to Content-Length when present.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The SDP body, when the content type is `application/sdp` (or a multipart part is) and it parsed.
    pub sdp: Option<Sdp>,
    pub parser: SipParser,
    /// What the tolerant parser had to forgive (empty for clean messages).
    pub warnings: Vec<String>,
    /// A parser cap turned part of it away: headers beyond the limit, header values cut, SDP media sections beyond
    /// the limit (the pipeline counts such messages for the caps summary; `warnings` says which).
    #[serde(skip)]
    pub cut: bool,
}

impl SipMessage {
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Request { .. } => None,
            StartLine::Response { code, .. } => Some(*code),
        }
    }
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }
}

/// A session description (RFC 4566/8866).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sdp {
    /// `o=` line: username, session id, version, address.
    pub origin: Option<SdpOrigin>,
    pub session_name: Option<String>,
    /// Session-level `c=` address.
    pub connection: Option<IpAddr>,
    /// Session-level direction attribute, if any (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub direction: Option<String>,
    pub media: Vec<SdpMedia>,
    /// Session-level `a=fingerprint` values.
    pub fingerprints: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SdpOrigin {
    pub username: String,
    pub session_id: String,
    pub version: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SdpMedia {
    /// `audio`, `video`, `image`, `application`, ...
    pub media: String,
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, `udptl`, ...
    pub proto: String,
    /// Format list as written (payload type numbers for RTP, `t38` for udptl).
    pub formats: Vec<String>,
    /// Media-level `c=` address, else inherited from the session level by the consumer.
    pub connection: Option<IpAddr>,
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp:` lines as (payload type, parameters).
    pub fmtps: Vec<(u8, String)>,
    pub direction: Option<String>,
    /// `a=crypto:` lines (SDES).
    pub crypto: Vec<SdpCrypto>,
    /// Media-level `a=fingerprint:` values.
    pub fingerprints: Vec<String>,
    /// `a=rtcp:` port (and address) if present.
    pub rtcp_port: Option<u16>,
    pub rtcp_mux: bool,
    pub ptime_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate_hz: u32,
    pub channels: Option<u8>,
}

/// One `a=crypto` line: `tag suite key-params [session-params]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SdpCrypto {
    pub tag: u32,
    pub suite: String,
    /// The key parameters as written, e.g. `inline:BASE64|2^20|1:4`. This is secret material.
    pub key_params: String,
}

/// A SIP message placed in the capture: where and when it was seen, and what it said.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRecord {
    /// Index of this message in [`Analysis::messages`].
    pub index: usize,
    /// The frame the message completed in (for TCP/fragments: the last segment/fragment, as Wireshark shows it).
    pub frame: FrameNo,
    /// Every frame that carried a part of the message, ascending (TCP segments, IP fragments).
    pub frames: Vec<FrameNo>,
    pub ts_nanos: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: Transport,
    pub encapsulation: Encapsulation,
    /// A UDP retransmission of an earlier message (same Call-ID, CSeq, method/status, addresses), as TShark's
    /// "resent" flag; it is listed but not counted twice in call state.
    pub retransmission: bool,
    /// Frame of the message this one repeats, when it is a retransmission.
    pub retransmission_of: Option<FrameNo>,
    pub message: SipMessage,
    /// Size on the wire of the SIP message in bytes (headers and body).
    pub size: usize,
}

/// A call signalling protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Sip,
    Mgcp,
    Megaco,
    Sccp,
    Iax2,
    H323,
}

impl Protocol {
    /// `sip`, `mgcp`, `megaco`, `sccp`, `iax2`, `h323` (JSON and CSV).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sip => "sip",
            Protocol::Mgcp => "mgcp",
            Protocol::Megaco => "megaco",
            Protocol::Sccp => "sccp",
            Protocol::Iax2 => "iax2",
            Protocol::H323 => "h323",
        }
    }

    /// The name people write: `SIP`, `MGCP`, `MEGACO`, `SCCP`, `IAX2`, `H.323`.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Sip => "SIP",
            Protocol::Mgcp => "MGCP",
            Protocol::Megaco => "MEGACO",
            Protocol::Sccp => "SCCP",
            Protocol::Iax2 => "IAX2",
            Protocol::H323 => "H.323",
        }
    }
}

/// Whether a signalling message asks or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// A command or transaction request (MGCP `CRCX`, MEGACO `Transaction`).
    Request,
    /// A response or reply (MGCP `200`, MEGACO `Reply`).
    Response,
    /// An acknowledgement or pending notice (MGCP `000` response acks, MEGACO `TransactionResponseAck`,
    /// `Pending`).
    Ack,
}

/// One command of a signalling message: its canonical name and what it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalCommand {
    /// `CRCX`, `MDCX`, `NTFY`, ... (MGCP); `Add`, `Modify`, `Subtract`, `Notify`, ... (MEGACO).
    pub name: String,
    /// The MGCP endpoint (`aaln/1@gw.example.net`) or MEGACO termination (`RTP/1727`, `$` for choose).
    pub target: String,
    /// The connection mode set by the command (`sendrecv`, `recvonly`, ...), when it sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// A session description carried by a signalling message: which side's it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalSdp {
    /// `local` or `remote` (MEGACO descriptors; MGCP: `local` in a response, `remote` in a command).
    pub role: &'static str,
    /// The termination or endpoint it belongs to.
    pub target: String,
    pub sdp: Sdp,
}

/// A message of another signalling protocol (MGCP, MEGACO, ...) placed in the capture. Every string is as found on
/// the wire (attacker controlled: escape before showing).
#[derive(Debug, Clone, Serialize)]
pub struct SignalRecord {
    /// Index of this record in [`Analysis::signals`].
    pub index: usize,
    pub protocol: Protocol,
    pub frame: FrameNo,
    #[serde(rename = "ts_ns")]
    pub ts_nanos: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: Transport,
    /// Bytes of this message on the wire.
    pub size: usize,
    pub kind: SignalKind,
    /// One line for the ladder: `CRCX aaln/1@gw`, `200 OK`, `Add DS/4/24, Add RTP/$`.
    pub summary: String,
    /// The transaction identifier responses are matched by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// Response code (MGCP) or error code (MEGACO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub commands: Vec<SignalCommand>,
    /// The MGCP CallId (`C:`) or MEGACO context id (`-` null, `$` choose, `*` all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// MGCP connection ids (`I:`) this message names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<String>,
    /// Digits the message reports dialled, in order ("" when none).
    pub digits: String,
    /// Observed events (`L/hd`, `ctyp/dtone{dtt=ANS}`), bounded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Signals requested of the endpoint (`L/rg`, `cg/rt`, caller-id `ci(...)`), bounded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<String>,
    /// Caller ID delivered to the endpoint (MGCP/NCS `ci` signal: number, name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// Session descriptions in the message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sdp: Vec<SignalSdp>,
    /// The sender's message identifier (MEGACO `mId`: `[10.23.1.42]:2944`, `<mgc.example>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// IAX2: the source and destination call numbers of the frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_numbers: Option<[u16; 2]>,
    /// For a response: the index (into [`Analysis::signals`]) of the request it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<usize>,
    /// A repeat of an earlier message (same transaction, direction and text).
    pub retransmission: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmission_of: Option<FrameNo>,
    /// The message text, cut at [`SIGNAL_TEXT_BYTES`] (the packet view shows it).
    pub text: String,
    /// What the parser had to forgive or cut.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SignalRecord {
    /// The first command's name (`CRCX`, `Add`, IAX2's `NEW`, `ANSWER`...), "" when there is none.
    pub fn command(&self) -> &str {
        self.commands.first().map_or("", |c| c.name.as_str())
    }

    /// The value of the `name=value` entry of [`SignalRecord::events`] (IAX2 information elements:
    /// `called number`, `username`, `authmethods`...).
    pub fn element(&self, name: &str) -> Option<&str> {
        self.events
            .iter()
            .find_map(|e| e.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    }
}

/// Bytes of a signalling message's text kept in [`SignalRecord::text`].
pub const SIGNAL_TEXT_BYTES: usize = 8 * 1024;

/// A message that started like SIP but could not be parsed: kept raw (an excerpt) so the analyst can see it.
#[derive(Debug, Clone, Serialize)]
pub struct UnparsedSip {
    pub frame: FrameNo,
    pub ts_nanos: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: Transport,
    pub size: usize,
    /// Why the parser refused it.
    pub error: String,
    /// The first bytes of the message (at most [`UNPARSED_EXCERPT_BYTES`]), invalid UTF-8 replaced. Hostile text.
    pub excerpt: String,
}

/// Prefix of the diagnostics that say a memory cap was reached (`pipeline::Limits`), written from the
/// [`CapHit`]s.
pub const ANALYSIS_LIMITED_PREFIX: &str = "analysis limited: ";

/// A memory cap that turned data away, as the stage that owns the cap reports it: which cap, its limit, how much
/// it turned away, and the sentence the diagnostic and the `analysis-limited` finding show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapHit {
    /// The cap's name (`TCP flow cap`, `Call-ID cap`, ...).
    pub cap: &'static str,
    /// The limit as configured, in the cap's own unit.
    pub limit: u64,
    /// What was turned away (datagrams, directions, messages, packets...).
    pub count: u64,
    /// The whole sentence, e.g. `TCP flow cap (65536 directions): 3 directions evicted`.
    pub text: String,
}

impl CapHit {
    pub fn new(cap: &'static str, limit: usize, count: u64, text: String) -> CapHit {
        CapHit {
            cap,
            limit: limit as u64,
            count,
            text,
        }
    }
}

/// How much of an unparseable SIP message is kept.
pub const UNPARSED_EXCERPT_BYTES: usize = 1024;

/// State of an INVITE dialog (a call) at the end of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallState {
    /// INVITE sent, no response yet.
    Calling,
    /// Provisional response (1xx) seen, no final.
    Ringing,
    /// 2xx answered; no BYE seen.
    InCall,
    /// Answered and ended with BYE.
    Completed,
    /// Cancelled by the caller before answer.
    Cancelled,
    /// Rejected with a final non-2xx (busy, declined, unavailable, ...).
    Rejected,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Calling => "calling",
            CallState::Ringing => "ringing",
            CallState::InCall => "in-call",
            CallState::Completed => "completed",
            CallState::Cancelled => "cancelled",
            CallState::Rejected => "rejected",
        }
    }
}

/// One SDP offer or answer seen in a call.
#[derive(Debug, Clone, Serialize)]
pub struct SdpExchange {
    pub frame: FrameNo,
    pub message_index: usize,
    /// `offer` or `answer`.
    pub role: &'static str,
    /// The request or status that carried it (e.g. `INVITE`, `200`).
    pub carried_by: String,
    /// The media as negotiated: (media, address, port, proto, codecs).
    pub media: Vec<SdpMediaSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SdpMediaSummary {
    pub media: String,
    pub address: Option<IpAddr>,
    pub port: u16,
    pub proto: String,
    pub codecs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub crypto: bool,
    pub fingerprint: bool,
}

/// A party of a call: who sends a stream, who ended the call. Serialised lower-case (`caller`, `callee`,
/// `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    Caller,
    Callee,
    /// Said of who ended a call when neither tag nor address tells.
    Unknown,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Caller => "caller",
            Party::Callee => "callee",
            Party::Unknown => "unknown",
        }
    }
}

/// What a Call-ID's messages are. Serialised as its [`CallKind::as_str`] text (`call`, `register`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum CallKind {
    /// The Call-ID carries an INVITE request: a call.
    Call,
    /// Non-INVITE traffic: the first request's method, lower-cased (`register`, `options`, ...).
    Method(String),
    /// Responses only: no request of this Call-ID is in the capture.
    #[default]
    Unknown,
}

impl CallKind {
    /// `call`, the method lower-cased, or `unknown`.
    pub fn as_str(&self) -> &str {
        match self {
            CallKind::Call => "call",
            CallKind::Method(m) => m,
            CallKind::Unknown => "unknown",
        }
    }

    /// An INVITE dialog.
    pub fn is_call(&self) -> bool {
        matches!(self, CallKind::Call)
    }

    /// Non-INVITE traffic whose first request is `method` (case-insensitive).
    pub fn is_method(&self, method: &str) -> bool {
        matches!(self, CallKind::Method(m) if m.eq_ignore_ascii_case(method))
    }
}

impl std::fmt::Display for CallKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CallKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A Call-ID's worth of SIP: an INVITE dialog (call) or non-INVITE traffic (REGISTER, OPTIONS, ...).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Call {
    /// The call's key: the SIP Call-ID, or for other protocols a key made from theirs (`crate::signal`:
    /// `mgcp:<CallId>`, `megaco:<gateway>/<context>`, ...).
    pub call_id: String,
    /// The signalling protocol of the call (`sip` unless `crate::signal` built it).
    pub protocol: Protocol,
    /// `call` when the Call-ID carries an INVITE request, otherwise the first request's method lower-cased
    /// (`register`, `options`, `subscribe`, `message`, ...), or `unknown` for responses only.
    pub kind: CallKind,
    /// URI of the From header of the first request (the caller for calls).
    pub from: Option<NameAddr>,
    pub to: Option<NameAddr>,
    /// P-Asserted-Identity of the initial INVITE, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asserted_identity: Option<NameAddr>,
    pub state: Option<CallState>,
    pub answered: bool,
    pub start_ts_nanos: i64,
    pub end_ts_nanos: i64,
    /// Time of the first 180/183 after the INVITE.
    pub ringing_ts_nanos: Option<i64>,
    /// Time of the 2xx to the initial INVITE.
    pub answer_ts_nanos: Option<i64>,
    /// Time the call ended (BYE, CANCEL, final failure).
    pub ended_ts_nanos: Option<i64>,
    /// Seconds from the initial INVITE to its 2xx answer (Wireshark's "setup time").
    pub setup_time_secs: Option<f64>,
    /// Seconds from the initial INVITE to the first 180/183 (or the answer when there was no ringing).
    pub post_dial_delay_secs: Option<f64>,
    /// Seconds from answer to BYE (or to the last message when no BYE was seen).
    pub duration_secs: Option<f64>,
    /// Why the call ended: `bye`, `cancel`, `404 Not Found`, ... or `none` when still up at capture end.
    pub end_reason: Option<String>,
    /// Who ended it: `caller`, `callee`, or `unknown`.
    pub ended_by: Option<Party>,
    /// Final status of the initial INVITE transaction, if any.
    pub final_status: Option<u16>,
    pub user_agents: Vec<String>,
    /// Payload format names agreed in SDP (answer formats when there was an answer, else offer).
    pub codecs: Vec<String>,
    pub transports: Vec<Transport>,
    /// Signalling endpoints (IP:port) in order of appearance.
    pub endpoints: Vec<SocketAddr>,
    /// Distinct From/To tag pairs seen: more than one dialog per Call-ID means forking.
    pub dialogs: usize,
    pub sdp: Vec<SdpExchange>,
    /// Message indices (into [`Analysis::messages`]) in frame order.
    pub messages: Vec<usize>,
    /// For calls of other protocols: indices into [`Analysis::signals`] in frame order (empty for SIP).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<usize>,
    /// Frame numbers of the messages, ascending.
    pub frames: Vec<FrameNo>,
    pub retransmissions: usize,
    pub methods: Vec<String>,
    /// DTMF digits in time order (RFC 4733 events from the call's streams and SIP INFO bodies), "" when none.
    pub dtmf: String,
    /// Every DTMF event behind [`Call::dtmf`], in time order.
    pub dtmf_events: Vec<DtmfEvent>,
    /// Indices (into [`Analysis::streams`]) of the media streams bound to this call.
    pub streams: Vec<usize>,
    /// Media the signalling protocol carries itself (IAX2 mini frames), one entry per direction: counted, not yet
    /// decoded into streams.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signal_media: Vec<SignalMedia>,
    /// T.38 fax negotiation seen in SDP: `offered`, `accepted`, `rejected <status>`; `None` when never offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t38: Option<String>,
    /// STIR/SHAKEN: the initial INVITE's `Identity` headers verified offline (`identity`); `None` when it carried
    /// none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<CallIdentity>,
}

/// Media frames one side of a call sent inside its signalling protocol (IAX2 mini frames).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalMedia {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The sender's call number.
    pub call_number: u16,
    pub frames: u64,
    /// Media bytes (after the 4-byte mini-frame header).
    pub bytes: u64,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    #[serde(rename = "first_ts_ns")]
    pub first_ts_nanos: i64,
    #[serde(rename = "last_ts_ns")]
    pub last_ts_nanos: i64,
}

/// What the `Identity` headers (RFC 8224) of a call's initial INVITE prove about its caller ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallIdentity {
    /// The SHAKEN attestation (`A`, `B`, `C`) of the `shaken` PASSporT; `None` when there is none or it is
    /// unreadable.
    pub attestation: Option<String>,
    /// The call's verdict: the worst of its PASSporTs' (and of the diversion chain).
    pub verdict: IdentityVerdict,
    /// Every reason behind the verdict, in words (empty for `valid`).
    pub reasons: Vec<String>,
    /// The signer of the main PASSporT, when its certificate was found.
    pub signer: Option<Signer>,
    /// The INVITE frame the headers came from.
    pub frame: FrameNo,
    /// Each PASSporT in header order (at most [`crate::identity::MAX_PASSPORTS`]).
    pub passports: Vec<PassportCheck>,
}

/// The certificate that signed a PASSporT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// The certificate's subject (RFC 4514 string).
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// The Service Provider Code of its TNAuthList (RFC 8226), when it has one.
    pub spc: Option<String>,
    /// Telephone numbers and ranges of its TNAuthList (`12025550300`, `12025550300+100`).
    pub tns: Vec<String>,
    /// SHA-256 of the certificate's DER, hex.
    pub sha256: String,
}

impl Signer {
    /// The subject, with the SPC when the certificate has one: `CN=SHAKEN 1234 (SPC 1234)`.
    pub fn label(&self) -> String {
        match &self.spc {
            Some(spc) => format!("{} (SPC {spc})", self.subject),
            None => self.subject.clone(),
        }
    }
}

impl CallIdentity {
    /// `signed by <signer label>`, or `signer unknown` when the certificate was not found.
    pub fn signed_by(&self) -> String {
        self.signer.as_ref().map_or_else(
            || "signer unknown".to_string(),
            |s| format!("signed by {}", s.label()),
        )
    }
}

/// One PASSporT (RFC 8225) and what was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassportCheck {
    /// `shaken`, `div`, `rcd`, ... or `""` for a base PASSporT.
    pub ppt: String,
    /// The certificate URL (`info` parameter, else the header's `x5u`).
    pub x5u: Option<String>,
    pub attest: Option<String>,
    pub orig: Option<String>,
    pub dest: Vec<String>,
    /// The `div` claim's number (diversion PASSporTs, RFC 8946).
    pub div: Option<String>,
    pub iat: Option<i64>,
    pub origid: Option<String>,
    /// The ES256 signature: `verified`, `failed`, or `unchecked` (no usable certificate or token).
    pub signature: SignatureCheck,
    pub verdict: IdentityVerdict,
    pub reasons: Vec<String>,
}

/// Whether a PASSporT's signature verified with its certificate's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureCheck {
    Verified,
    Failed,
    Unchecked,
}

/// The verdict on a call's identity, in decreasing order of what it proves against the caller ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityVerdict {
    /// The signature does not verify with the certificate's key: the token was forged or altered.
    InvalidSignature,
    /// The claims do not match the call (orig/dest numbers, the certificate's numbers, the diversion chain).
    ClaimsMismatch,
    /// The same token was seen on an earlier call.
    Replayed,
    /// `iat` is more than 60 s from the INVITE's capture time.
    Stale,
    /// The token could not be read.
    Malformed,
    /// The certificate was not valid at the call's time.
    CertificateExpired,
    /// The certificate does not chain to a given trust anchor (or no anchors were given).
    CertificateUntrusted,
    /// No certificate for the token's URL in the certificate folder (x5u is never fetched).
    CertificateUnknown,
    /// An algorithm or form Earshot does not verify (not ES256, the compact form).
    Unsupported,
    /// Signature, certificate chain, validity and claims all hold.
    Valid,
}

impl IdentityVerdict {
    /// As serialised: `valid`, `invalid-signature`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityVerdict::InvalidSignature => "invalid-signature",
            IdentityVerdict::ClaimsMismatch => "claims-mismatch",
            IdentityVerdict::Replayed => "replayed",
            IdentityVerdict::Stale => "stale",
            IdentityVerdict::Malformed => "malformed",
            IdentityVerdict::CertificateExpired => "certificate-expired",
            IdentityVerdict::CertificateUntrusted => "certificate-untrusted",
            IdentityVerdict::CertificateUnknown => "certificate-unknown",
            IdentityVerdict::Unsupported => "unsupported",
            IdentityVerdict::Valid => "valid",
        }
    }
}

impl std::fmt::Display for IdentityVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a media stream's payload is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Encryption {
    /// Plain RTP: anyone on the path can listen.
    #[default]
    None,
    /// SRTP keyed by SDES (`a=crypto` in SDP), or SRTP recognised from the packets (authentication tag).
    Srtp,
    /// ZRTP key agreement seen on the media path.
    Zrtp,
    /// DTLS-SRTP: `a=fingerprint` in SDP or a DTLS handshake on the media path.
    DtlsSrtp,
    /// Not known: no SDP in the capture and nothing in the packets that shows clear or encrypted media
    /// (`encryption_evidence` says what was looked at).
    Unknown,
}

impl Encryption {
    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::Srtp => "srtp",
            Encryption::Zrtp => "zrtp",
            Encryption::DtlsSrtp => "dtls-srtp",
            Encryption::Unknown => "unknown",
        }
    }
}

/// What carried a media stream's packets to the capture point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MediaCarrier {
    #[default]
    Udp,
    /// TURN ChannelData or Send/Data indication over UDP.
    TurnUdp,
    /// TURN ChannelData or Send/Data indication over TCP.
    TurnTcp,
}

impl MediaCarrier {
    /// As serialised: `udp`, `turn-udp`, `turn-tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaCarrier::Udp => "udp",
            MediaCarrier::TurnUdp => "turn-udp",
            MediaCarrier::TurnTcp => "turn-tcp",
        }
    }
}

/// One DTMF key press.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DtmfEvent {
    /// `0`-`9`, `*`, `#`, `A`-`D`, `flash`, or `event-N` for other RFC 4733 event codes.
    pub digit: String,
    /// RFC 4733 event code (0-255); for SIP INFO the code the digit maps to.
    pub event: u8,
    /// `rfc4733` or `sip-info`.
    pub source: &'static str,
    /// Frame of the first packet (or the INFO request) of the event.
    pub frame: FrameNo,
    pub ts_nanos: i64,
    /// Duration in milliseconds (from the event's duration field and clock rate, or the INFO `Duration=`).
    pub duration_ms: Option<f64>,
    /// An end-of-event packet was seen (RFC 4733 E bit). Always true for SIP INFO.
    pub ended: bool,
    /// RFC 4733 volume (0-63, -dBm0), when present.
    pub volume: Option<u8>,
    /// SSRC of the stream carrying the event (RFC 4733 only).
    pub ssrc: Option<u32>,
    /// Packets that carried this event (retransmitted end packets included); 1 for SIP INFO.
    pub packets: u32,
}

/// The DTMF digits (`0`-`9`, `*`, `#`, `A`-`D`: event codes 0-15) of `events`, in their order; flash and other
/// RFC 4733 events (fax tones, ...) are left out.
pub fn dtmf_digits(events: &[DtmfEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event <= 15)
        .map(|e| e.digit.as_str())
        .collect()
}

/// A simulated jitter buffer. Serialised as its [`JitterBuffer::as_str`] name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JitterBuffer {
    /// Fixed, 50 ms deep.
    Fixed50,
    /// Fixed, 200 ms deep.
    Fixed200,
    /// Adaptive, at most 500 ms.
    Adaptive500,
}

impl JitterBuffer {
    /// `fixed-50`, `fixed-200`, `adaptive-500`.
    pub fn as_str(self) -> &'static str {
        match self {
            JitterBuffer::Fixed50 => "fixed-50",
            JitterBuffer::Fixed200 => "fixed-200",
            JitterBuffer::Adaptive500 => "adaptive-500",
        }
    }

    pub fn is_adaptive(self) -> bool {
        matches!(self, JitterBuffer::Adaptive500)
    }
}

impl std::fmt::Display for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JitterBuffer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Quality of one jitter-buffer scenario, per ITU-T G.107 (E-model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JitterBufferQuality {
    /// `fixed-50`, `fixed-200`, `adaptive-500`.
    pub buffer: JitterBuffer,
    /// Packets lost in the network (never arrived).
    pub lost: u64,
    /// Packets that arrived too late for this buffer and were discarded.
    pub discarded: u64,
    /// (lost + discarded) / expected, percent.
    pub effective_loss_pct: f64,
    /// Mean one-way delay added by the buffer plus packetisation, milliseconds.
    pub delay_ms: f64,
    pub r_factor: f64,
    pub mos: f64,
}

/// MOS and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StreamQuality {
    /// Codec name used for the E-model's equipment impairment (Ie) and robustness (Bpl).
    pub codec: String,
    pub ie: f64,
    pub bpl: f64,
    /// True when ITU-T G.113 lists no (Ie, Bpl) for this codec and a documented stand-in was used: the MOS then
    /// rests on an assumption, and reports say so.
    pub ie_assumed: bool,
    /// Where Ie and Bpl come from.
    pub ie_basis: String,
    /// One result per simulated jitter buffer.
    pub buffers: Vec<JitterBufferQuality>,
    /// Loss bursts: `loss_bursts[n]` = how many times exactly n+1 consecutive packets were lost (the last bucket
    /// counts bursts of that length or longer).
    pub loss_bursts: Vec<u64>,
    /// Inter-arrival delta histogram: (upper bound ms, count); the last bound is `f64::INFINITY` written as null.
    pub delta_histogram: Vec<(Option<f64>, u64)>,
}

/// An RTCP report block (RFC 3550 6.4.1) as seen on the wire, about one stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtcpReportSummary {
    /// Reports (SR/RR blocks) about this stream's SSRC.
    pub reports: u64,
    /// Last reported fraction lost, percent.
    pub last_fraction_lost_pct: f64,
    pub max_fraction_lost_pct: f64,
    /// Last reported cumulative number of packets lost (24-bit signed).
    pub cumulative_lost: i64,
    /// Largest reported interarrival jitter, milliseconds (timestamp units over the stream's clock rate).
    pub max_jitter_ms: Option<f64>,
    /// Round-trip time from LSR/DLSR (RFC 3550 6.4.1), milliseconds, when the capture saw both ends.
    pub min_rtt_ms: Option<f64>,
    pub mean_rtt_ms: Option<f64>,
    pub max_rtt_ms: Option<f64>,
}

/// RTCP XR VoIP metrics block (RFC 3611 4.7), the last one seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtcpXrVoip {
    pub loss_rate_pct: f64,
    pub discard_rate_pct: f64,
    pub round_trip_delay_ms: u16,
    pub end_system_delay_ms: u16,
    /// 127 = unavailable.
    pub r_factor: u8,
    /// MOS-LQ ×10 in the block; here as a MOS value, `None` when 127 (unavailable).
    pub mos_lq: Option<f64>,
    pub mos_cq: Option<f64>,
    pub jb_nominal_ms: u16,
    pub jb_maximum_ms: u16,
}

/// RTCP seen for a stream: what its source said (SR, SDES, BYE) and what receivers reported about it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RtcpSummary {
    /// RTCP packets (compound) that mention this SSRC.
    pub packets: u64,
    pub sender_reports: u64,
    /// SDES CNAME of the source.
    pub cname: Option<String>,
    /// BYE received from the source, with reason if any.
    pub bye: bool,
    pub bye_reason: Option<String>,
    /// Sender's own packet count from its last SR.
    pub sr_packet_count: Option<u32>,
    /// What receivers reported about this stream.
    pub received: Option<RtcpReportSummary>,
    pub xr_voip: Option<RtcpXrVoip>,
}

/// One point of a stream's per-packet series (compact; kept for plotting).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct SeriesPoint {
    pub frame: FrameNo,
    /// Arrival time relative to the stream's first packet, microseconds.
    pub t_us: i64,
    pub delta_ms: f32,
    pub jitter_ms: f32,
    pub skew_ms: f32,
    pub seq: u16,
    /// Bit flags: see `media::stream::FLAG_*`.
    pub flags: u8,
}

/// What kind of media a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    #[default]
    Rtp,
    /// T.38 fax over UDPTL.
    T38,
}

impl StreamKind {
    /// As serialised: `rtp`, `t38`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Rtp => "rtp",
            StreamKind::T38 => "t38",
        }
    }
}

/// One media stream: packets from one source address/port to one destination with one SSRC (Wireshark's
/// definition), bound to the call whose SDP announced it, or unsignalled (found by the RTP heuristic).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct MediaStream {
    /// Index in [`Analysis::streams`].
    pub index: usize,
    /// Fingerprints of the first varied payloads (`media::tracker::payload_print`) with their capture times, to
    /// recognise the same audio on two legs of a call. Not part of the JSON contract.
    #[serde(skip)]
    pub payload_prints: Vec<(u64, i64)>,
    pub kind: StreamKind,
    /// Call-ID of the call whose SDP announced the endpoint; `None` when unsignalled.
    pub call_id: Option<String>,
    pub signalled: bool,
    /// `caller` or `callee` (who sends it) when bound to a call, else `None`.
    pub sender: Option<Party>,
    pub ssrc: u32,
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    pub carrier: MediaCarrier,
    /// TURN peer address when the media was relayed (Send/Data indications, ChannelData after Channel-Bind).
    pub relay_peer: Option<SocketAddr>,
    /// Payload type of the first packet, and every payload type seen in order of first appearance.
    pub payload_type: u8,
    pub payload_types: Vec<u8>,
    /// Codec name of the main payload type (from SDP rtpmap or the static table), e.g. `PCMA`, `opus`.
    pub codec: String,
    /// Every payload type's name, e.g. `PCMA`, `telephone-event`, `CN`.
    pub codecs: Vec<String>,
    /// Clock rate used for jitter; `None` when unknown (dynamic payload type without SDP).
    pub clock_rate_hz: Option<u32>,
    pub encryption: Encryption,
    /// Why `encryption` was decided (e.g. `a=crypto AES_CM_128_HMAC_SHA1_80`, `DTLS handshake in frames 3-11`,
    /// `10-byte trailer on every packet (SRTP authentication tag)`).
    pub encryption_evidence: Option<String>,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    pub first_ts_nanos: i64,
    pub last_ts_nanos: i64,
    pub packets: u64,
    /// Expected packets from the sequence numbers (Wireshark: highest extended seq − first seq + 1).
    pub expected: u64,
    /// expected − packets: negative when duplicates outnumber losses, as in Wireshark.
    pub lost: i64,
    pub lost_pct: f64,
    /// Packets whose sequence number was not the expected next one (Wireshark's "sequence errors").
    pub seq_errors: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub seq_wraps: u64,
    pub min_delta_ms: Option<f64>,
    pub mean_delta_ms: f64,
    pub max_delta_ms: f64,
    /// Frame that arrived after the largest delta.
    pub max_delta_frame: Option<FrameNo>,
    pub min_jitter_ms: Option<f64>,
    pub mean_jitter_ms: Option<f64>,
    pub max_jitter_ms: Option<f64>,
    pub max_skew_ms: Option<f64>,
    pub markers: u64,
    pub payload_type_changes: u64,
    /// Other SSRCs seen on the same address/port pair (an SSRC change mid-flow).
    pub ssrc_changes: u64,
    /// IP+UDP+RTP bytes (Wireshark's bandwidth basis: RTP length + 28, or + 48 for IPv6).
    pub bytes: u64,
    pub mean_bandwidth_kbps: f64,
    /// MOS of the adaptive-buffer scenario (the one a modern phone approximates); `None` when not computable.
    pub mos: Option<f64>,
    pub r_factor: Option<f64>,
    pub quality: Option<StreamQuality>,
    pub rtcp: Option<RtcpSummary>,
    /// RFC 4733 events carried in this stream.
    pub dtmf: Vec<DtmfEvent>,
    /// Malformed packets on this stream's flow (bad padding, CSRC/extension past the end...).
    pub malformed: u64,
    /// Whether the audio can be played, or exactly why not (`decodable (PCMA)`, `G729: no decoder`,
    /// `encrypted (DTLS-SRTP): keys not in the capture`...).
    pub audio: String,
    /// Per-packet series for plotting (bounded: see `counters.media.series_points_dropped`). Not in JSON.
    #[serde(skip)]
    pub series: Vec<SeriesPoint>,
}

/// Facts about the capture file itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureInfo {
    /// The file name as given (not canonicalised, so reports do not leak the analyst's directory layout).
    pub file: String,
    pub size_bytes: u64,
    pub sha256: String,
    /// `pcap`, `pcap-nsec`, `pcapng`, optionally with `+gzip`.
    pub format: String,
    pub packets: u64,
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
    /// Digits after the second in timestamps: 6 (µs) or 9 (ns), from the file header / if_tsresol.
    pub ts_precision_digits: u8,
    /// Link-layer types by name (`ethernet`, `linux-sll`, ...), one per distinct type, ascending by number.
    pub link_types: Vec<String>,
    pub interfaces: usize,
    /// Frames whose captured length was less than their original length.
    pub truncated_frames: u64,
}

/// Counters for data the pipeline saw but did not use, so nothing is dropped silently.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub frames: u64,
    pub bytes: u64,
    pub non_ip_frames: u64,
    pub malformed_frames: u64,
    pub ip_fragments: u64,
    pub reassembled_datagrams: u64,
    pub incomplete_datagrams: u64,
    pub udp_packets: u64,
    pub tcp_segments: u64,
    pub sctp_packets: u64,
    pub other_ip_packets: u64,
    pub tcp_retransmitted_segments: u64,
    pub tcp_bytes_skipped: u64,
    pub websocket_frames: u64,
    pub tls_records: u64,
    pub sip_parse_failures: u64,
    pub sip_tolerant_parses: u64,
    /// What the media stage saw (flattened into this object in JSON).
    #[serde(flatten)]
    pub media: MediaCounters,
}

/// Counters of the media stage: UDP payloads recognised as RTP / RTCP / STUN-TURN / DTLS / ZRTP / T.38, malformed
/// RTP or RTCP, and what the heuristic and the caps left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MediaCounters {
    pub rtp_packets: u64,
    pub rtcp_packets: u64,
    pub stun_packets: u64,
    pub dtls_records: u64,
    pub zrtp_packets: u64,
    pub udptl_packets: u64,
    pub rtp_malformed: u64,
    pub rtcp_malformed: u64,
    /// RTP-looking packets that never formed a stream (the heuristic needs a run of consistent packets).
    pub rtp_candidates_rejected: u64,
    /// UDP payloads that were none of the above.
    pub udp_unclassified: u64,
    /// Streams not tracked because the stream cap was reached (their packets are counted here too).
    pub streams_dropped: u64,
    pub rtp_packets_untracked: u64,
    /// Per-packet series points not stored (cap reached).
    pub series_points_dropped: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub packets: u64,
    /// Every SIP message decoded, retransmissions included (TShark's "Number of SIP messages").
    pub sip_messages: u64,
    pub sip_retransmissions: u64,
    pub call_ids: u64,
    /// Call-IDs that carry an INVITE request.
    pub invite_dialogs: u64,
    /// Of those, Call-IDs where a 2xx answered an INVITE.
    pub answered_calls: u64,
    pub rtp_streams: u64,
    pub findings: u64,
    pub diagnostics: u64,
    /// Messages of the other signalling protocols (MGCP, MEGACO, ...), retransmissions included; `call_ids`,
    /// `invite_dialogs` and `answered_calls` count SIP only (as TShark's SIP statistics do).
    pub signal_messages: u64,
    /// Calls of the other signalling protocols (MGCP connections, MEGACO contexts, ...) and, of those, the
    /// answered ones.
    pub signal_calls: u64,
    pub signal_answered: u64,
}

/// The whole analysis of a capture.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analysis {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub capture: CaptureInfo,
    pub summary: Summary,
    pub counters: Counters,
    pub calls: Vec<Call>,
    /// Media streams (RTP and T.38), ordered by first frame.
    pub streams: Vec<MediaStream>,
    pub messages: Vec<MessageRecord>,
    /// Messages of the other signalling protocols (MGCP, MEGACO, ...), in frame order (`crate::signal`).
    pub signals: Vec<SignalRecord>,
    /// Messages that looked like SIP but could not be parsed (bounded; the rest are counted in
    /// `counters.sip_parse_failures`).
    pub unparsed_sip: Vec<UnparsedSip>,
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics were not stored because the cap was reached (they are still counted here).
    pub diagnostics_dropped: u64,
    /// What an eavesdropper or attacker could exploit, most severe first (see `findings`).
    pub findings: Vec<Finding>,
    /// TLS connections seen (SIP over TLS and others), by (client, server).
    pub tls: Vec<TlsSession>,
    /// DTLS associations on UDP (DTLS-SRTP), by (client, server).
    pub dtls: Vec<DtlsSession>,
    /// The memory caps that turned data away (each also a diagnostic); the `analysis-limited` finding lists them.
    #[serde(skip)]
    pub limits_hit: Vec<CapHit>,
    /// The keys the analysis was given or found (key log files, RSA keys, pcapng secrets blocks): names and
    /// SHA-256, never the keys.
    pub key_sources: Vec<crate::tls::KeySource>,
    /// What an eavesdropper learns from this capture (the summary trainers show).
    pub exposure: Exposure,
    /// Traffic to management, database and provisioning ports (`findings::Settings::management_ports`).
    pub services: Vec<ServiceContact>,
    /// The rule settings the findings were evaluated with (`findings::Settings` as JSON: every threshold and list),
    /// so an exported analysis says how its findings were reached.
    pub rules: serde_json::Value,
    /// Call-IDs that are legs of one call (B2BUA, SBC): linked by a correlation header, or proposed by score for
    /// the analyst to confirm (`calls::legs`).
    pub legs: Vec<LegLink>,
    /// The files, capture points and clock offsets of a case (several captures analysed as one); `None` for a
    /// capture analysed alone.
    pub case: Option<CaseInfo>,
}

/// Two Call-IDs that are legs of one call: `a`'s INVITE came first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegLink {
    pub a: String,
    pub b: String,
    pub method: LinkMethod,
    /// The header that links them (`X-Orig-Call-ID`, `Session-ID`, `P-Charging-Vector icid-value`).
    pub header: Option<String>,
    /// 1 for a header; for a proposal, the weight of its evidence (0..1, at least `calls::legs::PROPOSE_AT`).
    pub score: f64,
    /// What links them, in words.
    pub evidence: Vec<String>,
    pub status: LinkStatus,
}

/// How two legs were linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMethod {
    /// A correlation header in the capture names the link: proven by the bytes.
    Header,
    /// Scored from numbers, timing and SDP: a proposal.
    Score,
    /// Linked by the analyst.
    Analyst,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    /// Proven by a header.
    Linked,
    /// Scored, not yet decided by the analyst.
    Proposed,
    Confirmed,
    Rejected,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Linked => "linked",
            LinkStatus::Proposed => "proposed",
            LinkStatus::Confirmed => "confirmed",
            LinkStatus::Rejected => "rejected",
        }
    }
}

impl LinkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::Header => "header",
            LinkMethod::Score => "score",
            LinkMethod::Analyst => "analyst",
        }
    }
}

/// Several capture files analysed as one investigation (`case::analyze_case`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaseInfo {
    /// Every file given, in case order (numbered from 1; frame references name these numbers).
    pub files: Vec<CaseFile>,
    pub points: Vec<CapturePoint>,
    /// Frames recognised as the same packet already seen at another capture point, and so not analysed twice.
    pub duplicate_frames: u64,
    /// Duplicates that could not be recognised because the table of recent packets was full.
    pub duplicate_table_overflows: u64,
    /// Clock offsets between capture points estimated from packets seen at both (never applied).
    pub clock_offsets: Vec<ClockOffset>,
}

impl CaseInfo {
    /// The case files holding a call's frames, ascending: its SIP messages' files and, for each of its media
    /// streams, every file of the stream's capture point from its first frame's file to its last's.
    pub fn call_files(&self, call: &Call, streams: &[MediaStream]) -> Vec<u32> {
        let mut files: Vec<u32> = call.frames.iter().map(|f| split_frame(*f).0).collect();
        for s in call.streams.iter().filter_map(|&i| streams.get(i)) {
            let (fa, fb) = (split_frame(s.first_frame).0, split_frame(s.last_frame).0);
            let point = self.point_of(fa);
            files.extend(
                self.files
                    .iter()
                    .filter(|f| {
                        f.number >= fa.min(fb) && f.number <= fa.max(fb) && Some(f.point) == point
                    })
                    .map(|f| f.number),
            );
            files.push(fb);
        }
        files.sort_unstable();
        files.dedup();
        files
    }

    /// The capture point (index into `points`) of case file `file`.
    pub fn point_of(&self, file: u32) -> Option<usize> {
        self.files
            .iter()
            .find(|f| f.number == file)
            .map(|f| f.point)
    }

    /// A capture point's name without its folders.
    pub fn point_label(&self, point: usize) -> &str {
        let name = self.points.get(point).map_or("?", |p| p.name.as_str());
        name.rsplit(['/', '\\']).next().unwrap_or(name)
    }

    /// Where `files` were captured, by capture point: `sbc 3,4; pbx 7` (points in case order).
    pub fn seen_at(&self, files: &[u32]) -> String {
        let mut by_point: std::collections::BTreeMap<usize, Vec<u32>> = Default::default();
        for &n in files {
            if let Some(p) = self.point_of(n) {
                by_point.entry(p).or_default().push(n);
            }
        }
        by_point
            .iter()
            .map(|(p, files)| {
                let list: Vec<String> = files.iter().map(u32::to_string).collect();
                format!("{} {}", self.point_label(*p), list.join(","))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One file of a case.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaseFile {
    /// 1-based number: frame `n` of this file is referenced as `number:n` (`FrameNo` `number × 10¹⁰ + n`).
    pub number: u32,
    /// The path as given.
    pub file: String,
    /// Index into [`CaseInfo::points`].
    pub point: usize,
    pub size_bytes: u64,
    /// SHA-256 of the file as stored (empty when the file could not be read).
    pub sha256: String,
    pub format: String,
    pub packets: u64,
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
    /// Clock correction the analyst set for this file (added to every timestamp).
    pub offset_nanos: i64,
    pub status: CaseFileStatus,
    /// The pcapng interface this case file stands for, when each interface of a file is its own capture point.
    pub interface: Option<u32>,
}

/// What became of one file of a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaseFileStatus {
    #[default]
    Analysed,
    /// The same bytes (same SHA-256) as an earlier file of the case: read once.
    DuplicateOf { file: u32 },
    /// The file could not be opened or is not a capture; the rest of the case was analysed.
    Unreadable { reason: String },
}

/// A place where packets were captured: one stream of files in time order (rotated files of one tap).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CapturePoint {
    pub name: String,
    /// Numbers of its files, in time order.
    pub files: Vec<u32>,
    pub packets: u64,
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
}

/// How far capture point `b`'s clock is ahead of point `a`'s, from the packets both saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClockOffset {
    pub a: usize,
    pub b: usize,
    /// Median of (time at `b` − time at `a`) over the shared packets: transit time plus clock difference.
    pub median_nanos: i64,
    pub min_nanos: i64,
    pub max_nanos: i64,
    pub samples: u64,
}

/// Traffic to a port worth noting (management, database, provisioning) seen in the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceContact {
    /// The service's address (the side on the notable port).
    pub server: SocketAddr,
    /// `tcp` or `udp`.
    pub transport: String,
    /// What usually listens there, e.g. `Asterisk AMI`, `MySQL`.
    pub service: String,
    /// Peers seen talking to it (at most 100).
    pub clients: Vec<IpAddr>,
    pub packets: u64,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    pub first_ts_nanos: i64,
    pub last_ts_nanos: i64,
}

/// What an eavesdropper on this capture's path learns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exposure {
    pub plaintext_sip_messages: u64,
    pub tls_connections: u64,
    /// Who called whom (from plaintext signalling), heaviest first.
    pub call_graph: Vec<CallEdge>,
    /// Devices and software versions announced in User-Agent/Server headers.
    pub devices: Vec<Device>,
    /// Streams whose audio can be played back from the capture (clear, or SRTP with keys in the SDP).
    pub reconstructable_streams: u64,
    pub reconstructable_audio_secs: f64,
    /// Accounts whose digest responses were captured (offline-crackable).
    pub credentials: Vec<ExposedCredential>,
    /// SDES keys seen in plaintext SDP.
    pub srtp_keys_exposed: u64,
    /// DTMF digits readable per call.
    pub dtmf: Vec<DtmfSeen>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEdge {
    pub from: String,
    pub to: String,
    pub calls: u64,
    pub answered: u64,
    pub talk_secs: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub product: String,
    pub addresses: Vec<IpAddr>,
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposedCredential {
    pub username: String,
    pub realm: String,
    pub source: IpAddr,
    pub responses: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DtmfSeen {
    pub call_id: String,
    pub to: String,
    pub digits: String,
}

/// A TLS connection seen on TCP (SIP over TLS, or anything else TLS): who, which version, how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSession {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// `TLS 1.2`, `TLS 1.3`, `TLS 1.0`...
    pub version: String,
    /// `ServerHello` when the handshake was captured, else `record layer` (the records' version field, which is
    /// the negotiated version up to TLS 1.2).
    pub version_source: String,
    pub records: u64,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    pub first_ts_nanos: i64,
    pub last_ts_nanos: i64,
    /// The ClientHello's random (hex): the key log's session identifier. `None` without a captured ClientHello.
    pub client_random: Option<String>,
    /// The suite the ServerHello chose (IANA name, or hex when unknown); `None` without a captured ServerHello.
    pub cipher_suite: Option<String>,
    /// TLS 1.2 encrypt-then-MAC (RFC 7366) and extended master secret (RFC 7627) as negotiated.
    pub encrypt_then_mac: bool,
    pub extended_master_secret: bool,
    /// TLS 1.2 abbreviated handshake (session ID or ticket of an earlier session).
    pub resumed: bool,
    /// TLS 1.2 RSA key transport: whoever obtains the server's key decrypts every recorded session.
    pub rsa_key_exchange: bool,
    /// SHA-256 of the server's leaf certificate (DER), when the handshake showed it.
    pub server_certificate_sha256: Option<String>,
    /// Records opened with a key (tags and MACs verified).
    pub decrypted: bool,
    pub records_decrypted: u64,
    /// Application-data bytes recovered.
    pub plaintext_bytes: u64,
    /// The key that opened it: which file or block (by name and SHA-256), and how (`keylog`, `rsa-key`,
    /// `resumed`). Never the key itself.
    pub key_source: Option<TlsKeyUse>,
    /// Why it was not decrypted, when keys were given (no key for the session, unsupported suite, ...).
    pub not_decrypted: Option<String>,
    /// The key log line that opens this session (`CLIENT_RANDOM <random> <master secret>` for TLS 1.2 sessions
    /// opened with an RSA key or by resumption), for the secrets block of an evidence export. Never reported.
    #[serde(skip)]
    pub derived_key_log: Option<String>,
}

/// A DTLS association on UDP (DTLS-SRTP media keying, WebRTC), by (client, server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DtlsSession {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// `DTLS 1.2`, `DTLS 1.0`, `DTLS 1.3`.
    pub version: String,
    /// The ClientHello's random (hex): the key log's session identifier.
    pub client_random: Option<String>,
    pub cipher_suite: Option<String>,
    /// The `use_srtp` profile the server chose (SDES name, e.g. `AES_CM_128_HMAC_SHA1_80`, `AEAD_AES_128_GCM`).
    pub srtp_profile: Option<String>,
    /// SHA-256 of each side's certificate (DER), to compare with the SDP `a=fingerprint`.
    pub client_certificate_sha256: Option<String>,
    pub server_certificate_sha256: Option<String>,
    pub records: u64,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    /// The SRTP keys were exported from the handshake with a key the investigator gave.
    pub srtp_keys_derived: bool,
    pub key_source: Option<TlsKeyUse>,
    /// Why not, when keys were given.
    pub not_decrypted: Option<String>,
    /// (client write, server write) SRTP master keys: used to play the media, never reported.
    #[serde(skip)]
    pub srtp_keys: Option<(crate::media::srtp::SrtpKey, crate::media::srtp::SrtpKey)>,
}

/// Which key source opened a TLS connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsKeyUse {
    /// `keylog` (a key log line for this client random), `rsa-key` (the server's RSA key opened the pre-master
    /// secret), `resumed` (the master secret of an earlier session in the capture).
    pub how: String,
    pub source: String,
    pub source_sha256: String,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// How sure the rule is (a fingerprint match is high; a behavioural guess lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// As serialised: `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Evidence frames kept per finding; the total is in `evidence_frames_total`.
pub const MAX_EVIDENCE_FRAMES: usize = 1000;

/// One thing an eavesdropper or attacker could exploit, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id (`plaintext-sip`, `scanner`, ...), documented in docs/findings.md.
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
    /// 1-based frame numbers, ascending, at most [`MAX_EVIDENCE_FRAMES`].
    pub evidence_frames: Vec<FrameNo>,
    pub evidence_frames_total: u64,
    pub call_ids: Vec<String>,
    /// Indices into `Analysis::streams`.
    pub streams: Vec<usize>,
    pub users: Vec<String>,
    /// IP addresses involved (sources of the behaviour, or the exposed endpoints).
    pub sources: Vec<IpAddr>,
    /// What was seen, specific to this capture.
    pub details: String,
    /// What an attacker can do with it, in plain words.
    pub risk: String,
    pub remediation: String,
    /// The hardening practice it maps to.
    pub practice: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}
