//! The store's eight tables, built from one [`Analysis`]: which rows each holds and its columns, in the order
//! `docs/store.md` lists them (a test keeps the two equal). Column names follow the JSON contract
//! (`docs/json.md`); where the store holds something else under a JSON name, it has a name of its own
//! (`message_count` for the JSON's list of message indices).

use std::collections::HashMap;
use std::net::SocketAddr;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

use super::columns::{Batch, int};
use crate::model::{
    Analysis, Call, CaseFileStatus, DtmfEvent, ExposedCredential, Finding, FrameNo, LegLink,
    MediaStream, MessageRecord, Severity, StartLine,
};

/// The tables, in the order they are written; `captures` last, because its partition is the commit record of a
/// capture (a capture is in the store when its `captures` partition is).
pub const TABLES: [&str; 8] = [
    "calls",
    "legs",
    "messages",
    "streams",
    "findings",
    "dtmf",
    "credentials",
    "captures",
];

/// Rows per record batch (and Parquet row group): bounds the memory one batch of a large capture takes.
pub const BATCH_ROWS: usize = 65_536;

/// What the tables need besides the analysis.
pub struct Context<'a> {
    pub sha256: &'a str,
    /// Absolute paths of the analysed files, by case file number (index 0 for a capture alone).
    pub paths: &'a [String],
}

/// Every record batch of `table` (at least one, possibly empty, so the partition's file carries the schema).
pub fn batches(
    a: &Analysis,
    ctx: &Context<'_>,
    table: &str,
) -> Result<Vec<RecordBatch>, ArrowError> {
    match table {
        "calls" => chunked(&a.calls, |rows| calls(a, ctx, rows)),
        "legs" => chunked(&a.legs, |rows| legs(a, ctx, rows)),
        "messages" => chunked(&a.messages, |rows| messages(ctx, rows)),
        "streams" => chunked(&a.streams, |rows| streams(ctx, rows)),
        "findings" => {
            let rows: Vec<(usize, &Finding)> = a.findings.iter().enumerate().collect();
            chunked(&rows, |rows| findings(ctx, rows))
        }
        "dtmf" => {
            let rows: Vec<(&Call, &DtmfEvent)> = a
                .calls
                .iter()
                .flat_map(|c| c.dtmf_events.iter().map(move |e| (c, e)))
                .collect();
            chunked(&rows, |rows| dtmf(ctx, rows))
        }
        "credentials" => {
            let rows = credential_rows(a);
            chunked(&rows, |rows| credentials(ctx, rows))
        }
        _ => {
            let rows = capture_rows(a, ctx);
            chunked(&rows, |rows| captures(a, ctx, rows))
        }
    }
}

fn chunked<R>(
    rows: &[R],
    build: impl Fn(&[R]) -> Result<RecordBatch, ArrowError>,
) -> Result<Vec<RecordBatch>, ArrowError> {
    if rows.is_empty() {
        return Ok(vec![build(rows)?]);
    }
    rows.chunks(BATCH_ROWS).map(build).collect()
}

fn addr(a: &SocketAddr) -> String {
    a.to_string()
}

fn ip(a: &SocketAddr) -> String {
    a.ip().to_string()
}

fn calls(a: &Analysis, ctx: &Context<'_>, rows: &[Call]) -> Result<RecordBatch, ArrowError> {
    let first = |c: &Call| c.messages.first().and_then(|&i| a.messages.get(i));
    let mos_min = |c: &Call| {
        c.streams
            .iter()
            .filter_map(|&i| a.streams.get(i)?.mos)
            .min_by(f64::total_cmp)
    };
    Batch::new(rows, ctx.sha256, |c: &Call| c.frames.first().copied())
        .text("call_id", |c| &c.call_id)
        .text("kind", |c| c.kind.as_str())
        .opt_text("from", |c| c.from.as_ref().map(|n| n.uri.as_str()))
        .opt_text("from_user", |c| {
            c.from.as_ref().and_then(|n| n.user.as_deref())
        })
        .opt_text("from_display", |c| {
            c.from.as_ref().and_then(|n| n.display_name.as_deref())
        })
        .opt_text("to", |c| c.to.as_ref().map(|n| n.uri.as_str()))
        .opt_text("to_user", |c| c.to.as_ref().and_then(|n| n.user.as_deref()))
        .opt_text("to_display", |c| {
            c.to.as_ref().and_then(|n| n.display_name.as_deref())
        })
        .opt_text("asserted_identity", |c| {
            c.asserted_identity.as_ref().map(|n| n.uri.as_str())
        })
        .opt_text("state", |c| c.state.map(|s| s.as_str()))
        .boolean("answered", |c| c.answered)
        .ts("start_ts", |c| Some(c.start_ts_nanos))
        .int("start_ts_ns", |c| Some(c.start_ts_nanos))
        .ts("end_ts", |c| Some(c.end_ts_nanos))
        .int("end_ts_ns", |c| Some(c.end_ts_nanos))
        .int("ringing_ts_ns", |c| c.ringing_ts_nanos)
        .int("answer_ts_ns", |c| c.answer_ts_nanos)
        .int("ended_ts_ns", |c| c.ended_ts_nanos)
        .float("setup_time_secs", |c| c.setup_time_secs)
        .float("post_dial_delay_secs", |c| c.post_dial_delay_secs)
        .float("duration_secs", |c| c.duration_secs)
        .opt_text("end_reason", |c| c.end_reason.as_deref())
        .opt_text("ended_by", |c| c.ended_by.map(|p| p.as_str()))
        .int("final_status", |c| c.final_status.map(i64::from))
        .texts("user_agents", |c| &c.user_agents)
        .texts("codecs", |c| &c.codecs)
        .texts("transports", |c| c.transports.iter().map(|t| t.as_str()))
        .texts("endpoints", |c| c.endpoints.iter().map(addr))
        .int("dialogs", |c| Some(int(c.dialogs)))
        .texts("methods", |c| &c.methods)
        .int("retransmissions", |c| Some(int(c.retransmissions)))
        .int("message_count", |c| Some(int(c.messages.len())))
        .opt_text("dtmf", |c| Some(c.dtmf.as_str()))
        .int("stream_count", |c| Some(int(c.streams.len())))
        .opt_text("t38", |c| c.t38.as_deref())
        .string("src", |c| first(c).map(|m| addr(&m.src)))
        .string("dst", |c| first(c).map(|m| addr(&m.dst)))
        .string("src_ip", |c| first(c).map(|m| ip(&m.src)))
        .string("dst_ip", |c| first(c).map(|m| ip(&m.dst)))
        .float("mos_min", mos_min)
        .finish()
}

fn legs(a: &Analysis, ctx: &Context<'_>, rows: &[LegLink]) -> Result<RecordBatch, ArrowError> {
    let first_frame: HashMap<&str, FrameNo> = a
        .calls
        .iter()
        .filter_map(|c| Some((c.call_id.as_str(), *c.frames.first()?)))
        .collect();
    Batch::new(rows, ctx.sha256, |l: &LegLink| {
        first_frame.get(l.a.as_str()).copied()
    })
    .text("a", |l| &l.a)
    .text("b", |l| &l.b)
    .text("method", |l| l.method.as_str())
    .opt_text("header", |l| l.header.as_deref())
    .float("score", |l| Some(l.score))
    .texts("evidence", |l| &l.evidence)
    .text("status", |l| l.status.as_str())
    .finish()
}

fn start(m: &MessageRecord) -> (Option<&str>, Option<i64>, Option<&str>) {
    match &m.message.start {
        StartLine::Request { method, uri } => (Some(method), None, Some(uri)),
        StartLine::Response { code, .. } => (None, Some(i64::from(*code)), None),
    }
}

fn messages(ctx: &Context<'_>, rows: &[MessageRecord]) -> Result<RecordBatch, ArrowError> {
    let auth = |m: &MessageRecord, p: &str| -> Option<String> {
        m.message
            .auth
            .iter()
            .find_map(|f| f.param(p))
            .map(str::to_string)
    };
    Batch::new(rows, ctx.sha256, |m: &MessageRecord| Some(m.frame))
        .int("index", |m| Some(int(m.index)))
        .ints("frames", |m| m.frames.iter().map(|&f| int(f)))
        .ts("ts", |m| Some(m.ts_nanos))
        .int("ts_ns", |m| Some(m.ts_nanos))
        .string("src", |m| Some(addr(&m.src)))
        .string("dst", |m| Some(addr(&m.dst)))
        .string("src_ip", |m| Some(ip(&m.src)))
        .string("dst_ip", |m| Some(ip(&m.dst)))
        .text("transport", |m| m.transport.as_str())
        .int("size", |m| Some(int(m.size)))
        .boolean("retransmission", |m| m.retransmission)
        .int("retransmission_of", |m| m.retransmission_of.map(int))
        .string("summary", |m| {
            Some(crate::report::json::message_summary(&m.message))
        })
        .opt_text("call_id", |m| m.message.call_id.as_deref())
        .opt_text("method", |m| start(m).0)
        .int("status", |m| start(m).1)
        .opt_text("request_uri", |m| start(m).2)
        .opt_text("from", |m| m.message.from.as_ref().map(|n| n.uri.as_str()))
        .opt_text("from_user", |m| {
            m.message.from.as_ref().and_then(|n| n.user.as_deref())
        })
        .opt_text("from_tag", |m| {
            m.message.from.as_ref().and_then(|n| n.tag.as_deref())
        })
        .opt_text("to", |m| m.message.to.as_ref().map(|n| n.uri.as_str()))
        .opt_text("to_user", |m| {
            m.message.to.as_ref().and_then(|n| n.user.as_deref())
        })
        .opt_text("to_tag", |m| {
            m.message.to.as_ref().and_then(|n| n.tag.as_deref())
        })
        .int("cseq_seq", |m| {
            m.message.cseq.as_ref().map(|c| i64::from(c.seq))
        })
        .opt_text("cseq_method", |m| {
            m.message.cseq.as_ref().map(|c| c.method.as_str())
        })
        .opt_text("user_agent", |m| m.message.user_agent.as_deref())
        .opt_text("server", |m| m.message.server.as_deref())
        .opt_text("contact", |m| {
            m.message.contact.first().map(|n| n.uri.as_str())
        })
        .opt_text("content_type", |m| m.message.content_type.as_deref())
        .boolean("has_sdp", |m| m.message.sdp.is_some())
        .string("auth_username", |m| auth(m, "username"))
        .string("auth_realm", |m| auth(m, "realm"))
        .text("parser", |m| m.message.parser.as_str())
        .texts("headers", |m| {
            m.message.headers.iter().map(|(n, v)| format!("{n}: {v}"))
        })
        .finish()
}

fn streams(ctx: &Context<'_>, rows: &[MediaStream]) -> Result<RecordBatch, ArrowError> {
    Batch::new(rows, ctx.sha256, |s: &MediaStream| Some(s.first_frame))
        .int("index", |s| Some(int(s.index)))
        .text("kind", |s| s.kind.as_str())
        .opt_text("call_id", |s| s.call_id.as_deref())
        .boolean("signalled", |s| s.signalled)
        .opt_text("sender", |s| s.sender.map(|p| p.as_str()))
        .int("ssrc", |s| Some(i64::from(s.ssrc)))
        .string("ssrc_hex", |s| Some(format!("0x{:08X}", s.ssrc)))
        .string("src", |s| s.src.as_ref().map(addr))
        .string("dst", |s| s.dst.as_ref().map(addr))
        .string("src_ip", |s| s.src.as_ref().map(ip))
        .string("dst_ip", |s| s.dst.as_ref().map(ip))
        .text("carrier", |s| s.carrier.as_str())
        .string("relay_peer", |s| s.relay_peer.as_ref().map(addr))
        .int("payload_type", |s| Some(i64::from(s.payload_type)))
        .text("codec", |s| &s.codec)
        .texts("codecs", |s| &s.codecs)
        .int("clock_rate_hz", |s| s.clock_rate_hz.map(i64::from))
        .text("encryption", |s| s.encryption.as_str())
        .opt_text("encryption_evidence", |s| s.encryption_evidence.as_deref())
        .text("audio", |s| &s.audio)
        .int("first_frame", |s| Some(int(s.first_frame)))
        .int("last_frame", |s| Some(int(s.last_frame)))
        .ts("first_ts", |s| Some(s.first_ts_nanos))
        .int("first_ts_ns", |s| Some(s.first_ts_nanos))
        .int("last_ts_ns", |s| Some(s.last_ts_nanos))
        .int("packets", |s| Some(int(s.packets)))
        .int("expected", |s| Some(int(s.expected)))
        .int("lost", |s| Some(s.lost))
        .float("lost_pct", |s| Some(s.lost_pct))
        .int("seq_errors", |s| Some(int(s.seq_errors)))
        .int("duplicates", |s| Some(int(s.duplicates)))
        .int("out_of_order", |s| Some(int(s.out_of_order)))
        .int("seq_wraps", |s| Some(int(s.seq_wraps)))
        .float("min_delta_ms", |s| s.min_delta_ms)
        .float("mean_delta_ms", |s| Some(s.mean_delta_ms))
        .float("max_delta_ms", |s| Some(s.max_delta_ms))
        .float("min_jitter_ms", |s| s.min_jitter_ms)
        .float("mean_jitter_ms", |s| s.mean_jitter_ms)
        .float("max_jitter_ms", |s| s.max_jitter_ms)
        .float("max_skew_ms", |s| s.max_skew_ms)
        .int("markers", |s| Some(int(s.markers)))
        .int("bytes", |s| Some(int(s.bytes)))
        .float("mean_bandwidth_kbps", |s| Some(s.mean_bandwidth_kbps))
        .float("mos", |s| s.mos)
        .float("r_factor", |s| s.r_factor)
        .int("rtcp_packets", |s| s.rtcp.as_ref().map(|r| int(r.packets)))
        .int("malformed", |s| Some(int(s.malformed)))
        .finish()
}

fn findings(ctx: &Context<'_>, rows: &[(usize, &Finding)]) -> Result<RecordBatch, ArrowError> {
    Batch::new(rows, ctx.sha256, |(_, f): &(usize, &Finding)| {
        f.evidence_frames.first().copied()
    })
    .int("index", |(i, _)| Some(int(*i)))
    .text("rule_id", |(_, f)| &f.rule_id)
    .text("title", |(_, f)| &f.title)
    .text("severity", |(_, f)| f.severity.as_str())
    .text("confidence", |(_, f)| f.confidence.as_str())
    .ts("first_ts", |(_, f)| f.first_ts_nanos)
    .int("first_ts_ns", |(_, f)| f.first_ts_nanos)
    .int("last_ts_ns", |(_, f)| f.last_ts_nanos)
    .ints("evidence_frames", |(_, f)| {
        f.evidence_frames.iter().map(|&n| int(n))
    })
    .int("evidence_frames_total", |(_, f)| {
        Some(int(f.evidence_frames_total))
    })
    .texts("call_ids", |(_, f)| &f.call_ids)
    .ints("streams", |(_, f)| f.streams.iter().map(|&i| int(i)))
    .texts("users", |(_, f)| &f.users)
    .texts("sources", |(_, f)| {
        f.sources.iter().map(|ip| ip.to_string())
    })
    .string("source", |(_, f)| {
        f.sources.first().map(|ip| ip.to_string())
    })
    .text("details", |(_, f)| &f.details)
    .text("risk", |(_, f)| &f.risk)
    .text("remediation", |(_, f)| &f.remediation)
    .text("practice", |(_, f)| &f.practice)
    .finish()
}

fn dtmf(ctx: &Context<'_>, rows: &[(&Call, &DtmfEvent)]) -> Result<RecordBatch, ArrowError> {
    Batch::new(rows, ctx.sha256, |(_, e): &(&Call, &DtmfEvent)| {
        Some(e.frame)
    })
    .text("call_id", |(c, _)| &c.call_id)
    .opt_text("to_user", |(c, _)| {
        c.to.as_ref().and_then(|n| n.user.as_deref())
    })
    .text("digit", |(_, e)| &e.digit)
    .int("event", |(_, e)| Some(i64::from(e.event)))
    .text("source", |(_, e)| e.source)
    .ts("ts", |(_, e)| Some(e.ts_nanos))
    .int("ts_ns", |(_, e)| Some(e.ts_nanos))
    .float("duration_ms", |(_, e)| e.duration_ms)
    .boolean("ended", |(_, e)| e.ended)
    .int("volume", |(_, e)| e.volume.map(i64::from))
    .int("ssrc", |(_, e)| e.ssrc.map(i64::from))
    .int("packets", |(_, e)| Some(i64::from(e.packets)))
    .finish()
}

/// One account whose digest responses were captured, with what the `weak-password` rule made of it.
pub struct CredentialRow<'a> {
    cred: &'a ExposedCredential,
    /// The first message carrying this user's digest response (from this source).
    frame: Option<FrameNo>,
    cracked: bool,
    proven: bool,
}

fn credential_rows(a: &Analysis) -> Vec<CredentialRow<'_>> {
    let mut first: HashMap<(&str, &str, std::net::IpAddr), FrameNo> = HashMap::new();
    for m in &a.messages {
        for f in &m.message.auth {
            if let (Some(u), Some(r)) = (f.param("username"), f.param("realm")) {
                first.entry((u, r, m.src.ip())).or_insert(m.frame);
            }
        }
    }
    a.exposure
        .credentials
        .iter()
        .map(|c| {
            let cracking = a.findings.iter().filter(|f| {
                f.rule_id == "weak-password" && f.users.iter().any(|u| u == &c.username)
            });
            CredentialRow {
                cred: c,
                frame: first
                    .get(&(c.username.as_str(), c.realm.as_str(), c.source))
                    .copied(),
                cracked: cracking.clone().next().is_some(),
                proven: cracking.clone().any(|f| f.severity == Severity::Critical),
            }
        })
        .collect()
}

fn credentials(ctx: &Context<'_>, rows: &[CredentialRow<'_>]) -> Result<RecordBatch, ArrowError> {
    Batch::new(rows, ctx.sha256, |r: &CredentialRow<'_>| r.frame)
        .text("username", |r| &r.cred.username)
        .text("realm", |r| &r.cred.realm)
        .string("source", |r| Some(r.cred.source.to_string()))
        .int("responses", |r| Some(int(r.cred.responses)))
        .boolean("cracked", |r| r.cracked)
        .boolean("proven", |r| r.proven)
        .finish()
}

/// One analysed file of the capture (the capture itself when it was analysed alone).
pub struct CaptureRow<'a> {
    number: u32,
    file: &'a str,
    path: Option<&'a str>,
    sha256: &'a str,
    size_bytes: u64,
    format: &'a str,
    packets: u64,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    point: Option<usize>,
    status: String,
}

fn capture_rows<'a>(a: &'a Analysis, ctx: &Context<'a>) -> Vec<CaptureRow<'a>> {
    let path = |n: u32| ctx.paths.get(n as usize).map(String::as_str);
    match &a.case {
        None => vec![CaptureRow {
            number: 0,
            file: &a.capture.file,
            path: path(0),
            sha256: &a.capture.sha256,
            size_bytes: a.capture.size_bytes,
            format: &a.capture.format,
            packets: a.capture.packets,
            first_ts: a.capture.first_ts_nanos,
            last_ts: a.capture.last_ts_nanos,
            point: None,
            status: "analysed".into(),
        }],
        Some(case) => case
            .files
            .iter()
            .map(|f| CaptureRow {
                number: f.number,
                file: &f.file,
                path: path(f.number),
                sha256: &f.sha256,
                size_bytes: f.size_bytes,
                format: &f.format,
                packets: f.packets,
                first_ts: f.first_ts_nanos,
                last_ts: f.last_ts_nanos,
                point: Some(f.point),
                status: match &f.status {
                    CaseFileStatus::Analysed => "analysed".into(),
                    CaseFileStatus::DuplicateOf { file } => format!("duplicate_of {file}"),
                    CaseFileStatus::Unreadable { reason } => format!("unreadable: {reason}"),
                },
            })
            .collect(),
    }
}

fn captures(
    a: &Analysis,
    ctx: &Context<'_>,
    rows: &[CaptureRow<'_>],
) -> Result<RecordBatch, ArrowError> {
    let point_name = |r: &CaptureRow<'_>| {
        let c = a.case.as_ref()?;
        Some(c.point_label(r.point?).to_string())
    };
    let settings = crate::hash::sha256_hex(a.rules.to_string().as_bytes())
        .map(|(h, _)| h)
        .unwrap_or_default();
    Batch::with_file(rows, ctx.sha256, |r: &CaptureRow<'_>| (r.number, None))
        .int("schema_version", |_| Some(i64::from(super::SCHEMA_VERSION)))
        .text("tool_version", |_| &a.tool.version)
        .text("capture", |_| &a.capture.file)
        .text("file_name", |r| r.file)
        .opt_text("path", |r| r.path)
        .text("sha256", |r| r.sha256)
        .int("size_bytes", |r| Some(int(r.size_bytes)))
        .text("format", |r| r.format)
        .int("packets", |r| Some(int(r.packets)))
        .ts("first_ts", |r| r.first_ts)
        .int("first_ts_ns", |r| r.first_ts)
        .int("last_ts_ns", |r| r.last_ts)
        .int("ts_precision_digits", |_| {
            Some(i64::from(a.capture.ts_precision_digits))
        })
        .int("point", |r| r.point.map(int))
        .string("point_name", point_name)
        .string("status", |r| Some(r.status.clone()))
        .int("calls", |_| Some(int(a.calls.len())))
        .int("streams", |_| Some(int(a.streams.len())))
        .int("messages", |_| Some(int(a.messages.len())))
        .int("findings", |_| Some(int(a.findings.len())))
        .text("settings_sha256", |_| &settings)
        .finish()
}
