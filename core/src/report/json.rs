//! The JSON contract (`docs/json.md`): a stable, documented view of the [`Analysis`] for scripts.
//!
//! Times appear twice: `*_ts` as UTC ISO 8601 strings with the capture's precision, and `*_ts_ns` as integer
//! nanoseconds since the Unix epoch. Output is deterministic: the same analysis always gives the same bytes.

use std::io::Write;

use serde::Serialize;

use crate::model::Party;
use crate::model::{
    Analysis, CaptureInfo, Counters, Diagnostic, DtmfEvent, MediaStream, MessageRecord, NameAddr,
    SdpExchange, SipMessage, StartLine, Summary, ToolInfo,
};
use crate::time::format_utc;

#[derive(Serialize)]
struct JsonAnalysis<'a> {
    schema_version: u32,
    tool: &'a ToolInfo,
    capture: JsonCapture<'a>,
    /// The rule settings the findings were evaluated with.
    settings: &'a serde_json::Value,
    summary: &'a Summary,
    counters: &'a Counters,
    calls: Vec<JsonCall<'a>>,
    streams: Vec<JsonStream<'a>>,
    messages: Vec<JsonMessage<'a>>,
    /// MGCP and MEGACO messages; present only when the capture has some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signals: Vec<JsonSignal<'a>>,
    unparsed_sip: Vec<JsonUnparsed<'a>>,
    diagnostics: &'a [Diagnostic],
    diagnostics_dropped: u64,
    findings: &'a [crate::model::Finding],
    tls: &'a [crate::model::TlsSession],
    /// Present only when the capture has DTLS.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dtls: &'a [crate::model::DtlsSession],
    /// Present only when keys were given or found in the capture.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    key_sources: &'a [crate::tls::KeySource],
    exposure: &'a crate::model::Exposure,
    services: &'a [crate::model::ServiceContact],
    /// Present only when some calls are legs of one another (B2BUA, SBC).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    legs: &'a [crate::model::LegLink],
    /// Present only for a case (several files analysed as one).
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    /// How frame numbers name (file, frame): `file × frame_stride + frame`.
    frame_stride: u64,
    files: Vec<JsonCaseFile<'a>>,
    points: Vec<JsonCapturePoint<'a>>,
    duplicate_frames: u64,
    duplicate_table_overflows: u64,
    clock_offsets: Vec<JsonClockOffset>,
}

#[derive(Serialize)]
struct JsonCaseFile<'a> {
    number: u32,
    file: &'a str,
    point: usize,
    size_bytes: u64,
    sha256: &'a str,
    format: &'a str,
    packets: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    first_ts_ns: Option<i64>,
    last_ts_ns: Option<i64>,
    offset_ns: i64,
    status: &'a crate::model::CaseFileStatus,
    /// Present when each pcapng interface of the file is a capture point of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<u32>,
}

#[derive(Serialize)]
struct JsonCapturePoint<'a> {
    name: &'a str,
    files: &'a [u32],
    packets: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
}

#[derive(Serialize)]
struct JsonClockOffset {
    a: usize,
    b: usize,
    median_secs: f64,
    min_secs: f64,
    max_secs: f64,
    median_ns: i64,
    samples: u64,
}

fn case_view<'a>(c: &'a crate::model::CaseInfo, ts: &dyn Fn(i64) -> String) -> JsonCase<'a> {
    JsonCase {
        frame_stride: crate::model::CASE_FILE_STRIDE,
        files: c
            .files
            .iter()
            .map(|f| JsonCaseFile {
                number: f.number,
                file: &f.file,
                point: f.point,
                size_bytes: f.size_bytes,
                sha256: &f.sha256,
                format: &f.format,
                packets: f.packets,
                first_ts: f.first_ts_nanos.map(ts),
                last_ts: f.last_ts_nanos.map(ts),
                first_ts_ns: f.first_ts_nanos,
                last_ts_ns: f.last_ts_nanos,
                offset_ns: f.offset_nanos,
                status: &f.status,
                interface: f.interface,
            })
            .collect(),
        points: c
            .points
            .iter()
            .map(|p| JsonCapturePoint {
                name: &p.name,
                files: &p.files,
                packets: p.packets,
                first_ts: p.first_ts_nanos.map(ts),
                last_ts: p.last_ts_nanos.map(ts),
            })
            .collect(),
        duplicate_frames: c.duplicate_frames,
        duplicate_table_overflows: c.duplicate_table_overflows,
        clock_offsets: c
            .clock_offsets
            .iter()
            .map(|o| JsonClockOffset {
                a: o.a,
                b: o.b,
                median_secs: o.median_nanos as f64 / 1e9,
                min_secs: o.min_nanos as f64 / 1e9,
                max_secs: o.max_nanos as f64 / 1e9,
                median_ns: o.median_nanos,
                samples: o.samples,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct JsonCapture<'a> {
    file: &'a str,
    size_bytes: u64,
    sha256: &'a str,
    format: &'a str,
    packets: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    first_ts_ns: Option<i64>,
    last_ts_ns: Option<i64>,
    duration_secs: Option<f64>,
    ts_precision_digits: u8,
    link_types: &'a [String],
    interfaces: usize,
    truncated_frames: u64,
}

#[derive(Serialize)]
struct JsonCall<'a> {
    call_id: &'a str,
    /// `sip`, `mgcp`, `megaco`, ...
    protocol: &'static str,
    kind: &'a str,
    from: Option<&'a str>,
    from_user: Option<&'a str>,
    from_display: Option<&'a str>,
    to: Option<&'a str>,
    to_user: Option<&'a str>,
    to_display: Option<&'a str>,
    asserted_identity: Option<&'a str>,
    state: Option<&'a str>,
    answered: bool,
    start_ts: String,
    start_ts_ns: i64,
    end_ts: String,
    ringing_ts: Option<String>,
    answer_ts: Option<String>,
    ended_ts: Option<String>,
    setup_time_secs: Option<f64>,
    post_dial_delay_secs: Option<f64>,
    duration_secs: Option<f64>,
    end_reason: Option<&'a str>,
    ended_by: Option<&'a str>,
    final_status: Option<u16>,
    user_agents: &'a [String],
    codecs: &'a [String],
    transports: Vec<&'static str>,
    endpoints: Vec<String>,
    dialogs: usize,
    sdp: &'a [SdpExchange],
    methods: &'a [String],
    retransmissions: usize,
    frames: &'a [u64],
    messages: &'a [usize],
    /// Indices into `signals` (calls of other protocols only).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    signals: &'a [usize],
    /// DTMF digits in time order ("" when none).
    dtmf: &'a str,
    dtmf_events: &'a [DtmfEvent],
    /// Indices into `streams`.
    streams: &'a [usize],
    /// Media carried by the signalling protocol itself (IAX2 mini frames), per direction: counted, not decoded.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    signal_media: &'a [crate::model::SignalMedia],
    #[serde(skip_serializing_if = "Option::is_none")]
    t38: Option<&'a str>,
    /// STIR/SHAKEN verification of the initial INVITE's Identity headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a crate::model::CallIdentity>,
}

#[derive(Serialize)]
struct JsonSignal<'a> {
    ts: String,
    #[serde(flatten)]
    record: &'a crate::model::SignalRecord,
}

#[derive(Serialize)]
struct JsonStream<'a> {
    /// SSRC as Wireshark prints it (`0x5711BF84`); the number is in `ssrc`.
    ssrc_hex: String,
    first_ts: String,
    last_ts: String,
    #[serde(flatten)]
    stream: &'a MediaStream,
}

#[derive(Serialize)]
struct JsonMessage<'a> {
    index: usize,
    frame: u64,
    frames: &'a [u64],
    ts: String,
    ts_ns: i64,
    src: String,
    dst: String,
    transport: &'static str,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    vlan_ids: &'a [u16],
    #[serde(skip_serializing_if = "is_zero")]
    tunnel_depth: u8,
    size: usize,
    retransmission: bool,
    retransmission_of: Option<u64>,
    /// `METHOD` for requests, `NNN reason` for responses.
    summary: String,
    call_id: Option<&'a str>,
    sip: &'a SipMessage,
}

#[derive(Serialize)]
struct JsonUnparsed<'a> {
    frame: u64,
    ts: String,
    src: String,
    dst: String,
    transport: &'static str,
    size: usize,
    error: &'a str,
    excerpt: &'a str,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

fn uri(n: &Option<NameAddr>) -> Option<&str> {
    n.as_ref().map(|n| n.uri.as_str())
}

/// One-line summary of a SIP message: `INVITE sip:bob@x` or `200 OK`.
pub fn message_summary(m: &SipMessage) -> String {
    match &m.start {
        StartLine::Request { method, .. } => method.clone(),
        StartLine::Response { code, reason } => format!("{code} {reason}").trim_end().to_string(),
    }
}

fn view<'a>(a: &'a Analysis) -> JsonAnalysis<'a> {
    let digits = a.capture.ts_precision_digits;
    let ts = |t: i64| format_utc(t, digits);
    let c: &CaptureInfo = &a.capture;
    JsonAnalysis {
        schema_version: a.schema_version,
        tool: &a.tool,
        settings: &a.rules,
        capture: JsonCapture {
            file: &c.file,
            size_bytes: c.size_bytes,
            sha256: &c.sha256,
            format: &c.format,
            packets: c.packets,
            first_ts: c.first_ts_nanos.map(ts),
            last_ts: c.last_ts_nanos.map(ts),
            first_ts_ns: c.first_ts_nanos,
            last_ts_ns: c.last_ts_nanos,
            duration_secs: match (c.first_ts_nanos, c.last_ts_nanos) {
                (Some(f), Some(l)) => Some(crate::time::secs_between(f, l)),
                _ => None,
            },
            ts_precision_digits: digits,
            link_types: &c.link_types,
            interfaces: c.interfaces,
            truncated_frames: c.truncated_frames,
        },
        summary: &a.summary,
        counters: &a.counters,
        calls: a
            .calls
            .iter()
            .map(|call| JsonCall {
                call_id: &call.call_id,
                protocol: call.protocol.as_str(),
                kind: call.kind.as_str(),
                from: uri(&call.from),
                from_user: call.from.as_ref().and_then(|n| n.user.as_deref()),
                from_display: call.from.as_ref().and_then(|n| n.display_name.as_deref()),
                to: uri(&call.to),
                to_user: call.to.as_ref().and_then(|n| n.user.as_deref()),
                to_display: call.to.as_ref().and_then(|n| n.display_name.as_deref()),
                asserted_identity: uri(&call.asserted_identity),
                state: call.state.map(|s| s.as_str()),
                answered: call.answered,
                start_ts: ts(call.start_ts_nanos),
                start_ts_ns: call.start_ts_nanos,
                end_ts: ts(call.end_ts_nanos),
                ringing_ts: call.ringing_ts_nanos.map(ts),
                answer_ts: call.answer_ts_nanos.map(ts),
                ended_ts: call.ended_ts_nanos.map(ts),
                setup_time_secs: call.setup_time_secs,
                post_dial_delay_secs: call.post_dial_delay_secs,
                duration_secs: call.duration_secs,
                end_reason: call.end_reason.as_deref(),
                ended_by: call.ended_by.map(Party::as_str),
                final_status: call.final_status,
                user_agents: &call.user_agents,
                codecs: &call.codecs,
                transports: call.transports.iter().map(|t| t.as_str()).collect(),
                endpoints: call.endpoints.iter().map(|e| e.to_string()).collect(),
                dialogs: call.dialogs,
                sdp: &call.sdp,
                methods: &call.methods,
                retransmissions: call.retransmissions,
                frames: &call.frames,
                messages: &call.messages,
                signals: &call.signals,
                dtmf: &call.dtmf,
                dtmf_events: &call.dtmf_events,
                streams: &call.streams,
                signal_media: &call.signal_media,
                t38: call.t38.as_deref(),
                identity: call.identity.as_ref(),
            })
            .collect(),
        streams: a
            .streams
            .iter()
            .map(|s| JsonStream {
                ssrc_hex: format!("0x{:08X}", s.ssrc),
                first_ts: ts(s.first_ts_nanos),
                last_ts: ts(s.last_ts_nanos),
                stream: s,
            })
            .collect(),
        messages: a.messages.iter().map(|m| message_view(m, digits)).collect(),
        signals: a
            .signals
            .iter()
            .map(|r| JsonSignal {
                ts: ts(r.ts_nanos),
                record: r,
            })
            .collect(),
        unparsed_sip: a
            .unparsed_sip
            .iter()
            .map(|u| JsonUnparsed {
                frame: u.frame,
                ts: format_utc(u.ts_nanos, digits),
                src: u.src.to_string(),
                dst: u.dst.to_string(),
                transport: u.transport.as_str(),
                size: u.size,
                error: &u.error,
                excerpt: &u.excerpt,
            })
            .collect(),
        diagnostics: &a.diagnostics,
        diagnostics_dropped: a.diagnostics_dropped,
        findings: &a.findings,
        tls: &a.tls,
        dtls: &a.dtls,
        key_sources: &a.key_sources,
        exposure: &a.exposure,
        services: &a.services,
        legs: &a.legs,
        case: a.case.as_ref().map(|c| case_view(c, &ts)),
    }
}

fn message_view(m: &MessageRecord, digits: u8) -> JsonMessage<'_> {
    JsonMessage {
        index: m.index,
        frame: m.frame,
        frames: &m.frames,
        ts: format_utc(m.ts_nanos, digits),
        ts_ns: m.ts_nanos,
        src: m.src.to_string(),
        dst: m.dst.to_string(),
        transport: m.transport.as_str(),
        vlan_ids: &m.encapsulation.vlan_ids,
        tunnel_depth: m.encapsulation.tunnel_depth,
        size: m.size,
        retransmission: m.retransmission,
        retransmission_of: m.retransmission_of,
        summary: message_summary(&m.message),
        call_id: m.message.call_id.as_deref(),
        sip: &m.message,
    }
}

/// Write the analysis as pretty-printed JSON (with a trailing newline).
pub fn write_json<W: Write>(analysis: &Analysis, mut out: W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, &view(analysis)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The analysis as a JSON string.
pub fn to_json_string(analysis: &Analysis) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail for I/O reasons; serialisation of these types cannot fail either.
    let _ = write_json(analysis, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
