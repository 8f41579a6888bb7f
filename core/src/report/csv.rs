//! CSV exports (RFC 4180 quoting by the `csv` crate, UTC ISO 8601 times at the capture's precision): `calls.csv`,
//! `streams.csv`, `messages.csv`, `findings.csv`, `dtmf.csv` (columns in `docs/csv.md`). Every text cell that came
//! from the capture goes through [`safe_cell`] so that a spreadsheet shows it as text, never as a formula. Cells we
//! format ourselves (numbers such as a negative `lost`, times, addresses, enum values) are written as they are: they
//! cannot carry a formula and an apostrophe would turn `-3` into text.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::Party;
use crate::model::{Analysis, CaseFileStatus, NameAddr, frame_label};
use crate::report::json::message_summary;
use crate::time::format_utc;

/// Neutralise spreadsheet formula injection: a cell starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading
/// apostrophe (OWASP's recommendation), so `=cmd|' /C calc'!A0` is shown as text.
pub fn safe_cell(s: &str) -> String {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn opt(s: Option<&str>) -> String {
    s.map(safe_cell).unwrap_or_default()
}

fn name_uri(n: &Option<NameAddr>) -> String {
    opt(n.as_ref().map(|n| n.uri.as_str()))
}

fn name_display(n: &Option<NameAddr>) -> String {
    opt(n.as_ref().and_then(|n| n.display_name.as_deref()))
}

fn name_user(n: &Option<NameAddr>) -> String {
    opt(n.as_ref().and_then(|n| n.user.as_deref()))
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn secs(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_default()
}

/// Errors while writing CSV files.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

/// Write `calls.csv` to any writer.
pub fn write_calls<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let digits = a.capture.ts_precision_digits;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "call_id",
        "kind",
        "start_ts",
        "from",
        "from_user",
        "from_display",
        "to",
        "to_user",
        "asserted_identity",
        "state",
        "answered",
        "setup_time_secs",
        "post_dial_delay_secs",
        "duration_secs",
        "end_reason",
        "ended_by",
        "final_status",
        "user_agents",
        "codecs",
        "transports",
        "messages",
        "retransmissions",
        "first_frame",
        "last_frame",
        "streams",
        "dtmf",
        "t38",
        "identity_attestation",
        "identity_verdict",
        "identity_signer",
        "identity_reasons",
        "protocol",
    ])?;
    for c in &a.calls {
        w.write_record([
            safe_cell(&c.call_id),
            safe_cell(c.kind.as_str()),
            format_utc(c.start_ts_nanos, digits),
            name_uri(&c.from),
            name_user(&c.from),
            name_display(&c.from),
            name_uri(&c.to),
            name_user(&c.to),
            name_uri(&c.asserted_identity),
            c.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
            c.answered.to_string(),
            secs(c.setup_time_secs),
            secs(c.post_dial_delay_secs),
            secs(c.duration_secs),
            opt(c.end_reason.as_deref()),
            opt(c.ended_by.map(Party::as_str)),
            num(c.final_status),
            safe_cell(&c.user_agents.join(" | ")),
            safe_cell(&c.codecs.join(" ")),
            c.transports
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            (c.messages.len() + c.signals.len()).to_string(),
            c.retransmissions.to_string(),
            c.frames
                .first()
                .map(|f| frame_label(*f))
                .unwrap_or_default(),
            c.frames.last().map(|f| frame_label(*f)).unwrap_or_default(),
            c.streams.len().to_string(),
            safe_cell(&c.dtmf),
            opt(c.t38.as_deref()),
            opt(c.identity.as_ref().and_then(|i| i.attestation.as_deref())),
            opt(c.identity.as_ref().map(|i| i.verdict.as_str())),
            safe_cell(
                &c.identity
                    .as_ref()
                    .and_then(|i| i.signer.as_ref())
                    .map(crate::model::Signer::label)
                    .unwrap_or_default(),
            ),
            safe_cell(
                &c.identity
                    .as_ref()
                    .map(|i| i.reasons.join(" | "))
                    .unwrap_or_default(),
            ),
            c.protocol.as_str().to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// One row per media stream (RTP or T.38), with Wireshark's RTP stream columns and Earshot's MOS.
pub fn write_streams<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let digits = a.capture.ts_precision_digits;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "index",
        "kind",
        "call_id",
        "signalled",
        "sender",
        "src",
        "dst",
        "ssrc",
        "carrier",
        "payload_type",
        "codec",
        "codecs",
        "clock_rate_hz",
        "encryption",
        "audio",
        "first_frame",
        "last_frame",
        "start_ts",
        "end_ts",
        "packets",
        "expected",
        "lost",
        "lost_pct",
        "seq_errors",
        "duplicates",
        "out_of_order",
        "min_delta_ms",
        "mean_delta_ms",
        "max_delta_ms",
        "max_delta_frame",
        "mean_jitter_ms",
        "max_jitter_ms",
        "max_skew_ms",
        "markers",
        "mean_bandwidth_kbps",
        "r_factor",
        "mos",
        "dtmf",
    ])?;
    for s in &a.streams {
        w.write_record([
            s.index.to_string(),
            format!("{:?}", s.kind).to_lowercase(),
            opt(s.call_id.as_deref()),
            s.signalled.to_string(),
            opt(s.sender.map(Party::as_str)),
            num(s.src),
            num(s.dst),
            format!("0x{:08X}", s.ssrc),
            format!("{:?}", s.carrier).to_lowercase(),
            s.payload_type.to_string(),
            safe_cell(&s.codec),
            safe_cell(&s.codecs.join(" ")),
            num(s.clock_rate_hz),
            s.encryption.as_str().to_string(),
            safe_cell(&s.audio),
            frame_label(s.first_frame),
            frame_label(s.last_frame),
            format_utc(s.first_ts_nanos, digits),
            format_utc(s.last_ts_nanos, digits),
            s.packets.to_string(),
            s.expected.to_string(),
            s.lost.to_string(),
            format!("{:.2}", s.lost_pct),
            s.seq_errors.to_string(),
            s.duplicates.to_string(),
            s.out_of_order.to_string(),
            ms(s.min_delta_ms),
            ms(Some(s.mean_delta_ms)),
            ms(Some(s.max_delta_ms)),
            s.max_delta_frame.map(frame_label).unwrap_or_default(),
            ms(s.mean_jitter_ms),
            ms(s.max_jitter_ms),
            ms(s.max_skew_ms),
            s.markers.to_string(),
            format!("{:.1}", s.mean_bandwidth_kbps),
            s.r_factor.map(|r| format!("{r:.1}")).unwrap_or_default(),
            s.mos.map(|m| format!("{m:.2}")).unwrap_or_default(),
            safe_cell(&crate::model::dtmf_digits(&s.dtmf)),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Write `messages.csv` to any writer.
pub fn write_messages<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let digits = a.capture.ts_precision_digits;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "frame",
        "ts",
        "src",
        "dst",
        "transport",
        "vlan_ids",
        "tunnel_depth",
        "summary",
        "request_uri",
        "call_id",
        "cseq",
        "from",
        "from_display",
        "to",
        "user_agent",
        "subject",
        "retransmission",
        "size",
        "parser",
    ])?;
    for m in &a.messages {
        let s = &m.message;
        let request_uri = match &s.start {
            crate::model::StartLine::Request { uri, .. } => safe_cell(uri),
            crate::model::StartLine::Response { .. } => String::new(),
        };
        w.write_record([
            frame_label(m.frame),
            format_utc(m.ts_nanos, digits),
            m.src.to_string(),
            m.dst.to_string(),
            m.transport.as_str().to_string(),
            m.encapsulation
                .vlan_ids
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            m.encapsulation.tunnel_depth.to_string(),
            safe_cell(&message_summary(s)),
            request_uri,
            opt(s.call_id.as_deref()),
            s.cseq
                .as_ref()
                .map(|c| safe_cell(&format!("{} {}", c.seq, c.method)))
                .unwrap_or_default(),
            name_uri(&s.from),
            name_display(&s.from),
            name_uri(&s.to),
            opt(s.user_agent.as_deref().or(s.server.as_deref())),
            opt(s
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("subject") || n.eq_ignore_ascii_case("s"))
                .map(|(_, v)| v.as_str())),
            m.retransmission.to_string(),
            m.size.to_string(),
            match s.parser {
                crate::model::SipParser::Rsip => "rsip".to_string(),
                crate::model::SipParser::Tolerant => "tolerant".to_string(),
            },
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Write `findings.csv` to any writer.
pub fn write_findings<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let digits = a.capture.ts_precision_digits;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "rule_id",
        "severity",
        "confidence",
        "title",
        "first_ts",
        "last_ts",
        "evidence_frames",
        "evidence_frames_total",
        "sources",
        "users",
        "call_ids",
        "streams",
        "details",
        "risk",
        "remediation",
    ])?;
    let join = |v: Vec<String>| safe_cell(&v.join(" "));
    for f in &a.findings {
        w.write_record([
            f.rule_id.clone(),
            f.severity.as_str().to_string(),
            format!("{:?}", f.confidence).to_lowercase(),
            safe_cell(&f.title),
            f.first_ts_nanos
                .map(|t| format_utc(t, digits))
                .unwrap_or_default(),
            f.last_ts_nanos
                .map(|t| format_utc(t, digits))
                .unwrap_or_default(),
            join(f.evidence_frames.iter().map(|n| frame_label(*n)).collect()),
            f.evidence_frames_total.to_string(),
            join(f.sources.iter().map(|i| i.to_string()).collect()),
            join(f.users.clone()),
            join(f.call_ids.clone()),
            join(f.streams.iter().map(usize::to_string).collect()),
            safe_cell(&f.details),
            safe_cell(&f.risk),
            safe_cell(&f.remediation),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Write `dtmf.csv` to any writer: one row per DTMF event (RFC 4733 or SIP INFO) of every call, then the RFC 4733
/// events of streams bound to no call, in time order within each.
pub fn write_dtmf<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let digits = a.capture.ts_precision_digits;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "call_id",
        "stream",
        "digit",
        "event",
        "source",
        "start_ts",
        "duration_ms",
        "frame",
        "packets",
        "ended",
        "volume",
        "ssrc",
    ])?;
    let mut row = |call_id: Option<&str>, stream: Option<usize>, e: &crate::model::DtmfEvent| {
        w.write_record([
            opt(call_id),
            num(stream),
            safe_cell(&e.digit),
            e.event.to_string(),
            e.source.to_string(),
            format_utc(e.ts_nanos, digits),
            e.duration_ms.map(|d| format!("{d:.1}")).unwrap_or_default(),
            frame_label(e.frame),
            e.packets.to_string(),
            e.ended.to_string(),
            num(e.volume),
            e.ssrc.map(|s| format!("0x{s:08X}")).unwrap_or_default(),
        ])
    };
    for c in &a.calls {
        for e in &c.dtmf_events {
            // The stream that carried an RFC 4733 event: the call's stream with that SSRC holding that frame.
            let stream = e.ssrc.and_then(|ssrc| {
                c.streams.iter().copied().find(|&s| {
                    a.streams.get(s).is_some_and(|st| {
                        st.ssrc == ssrc && st.dtmf.iter().any(|d| d.frame == e.frame)
                    })
                })
            });
            row(Some(&c.call_id), stream, e)?;
        }
    }
    for s in a.streams.iter().filter(|s| s.call_id.is_none()) {
        for e in &s.dtmf {
            row(None, Some(s.index), e)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write `tls.csv` to any writer: one row per TLS connection (TCP), then per DTLS association (UDP), in
/// (client, server) order: what was negotiated, whether and with which key source (name and SHA-256, never the
/// key) it was decrypted, or why not.
pub fn write_tls<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "protocol",
        "client",
        "server",
        "version",
        "cipher_suite",
        "srtp_profile",
        "first_frame",
        "last_frame",
        "records",
        "resumed",
        "rsa_key_exchange",
        "server_certificate_sha256",
        "decrypted",
        "key_how",
        "key_source",
        "key_source_sha256",
        "not_decrypted",
    ])?;
    for t in &a.tls {
        let k = t.key_source.as_ref();
        w.write_record([
            "tls".to_string(),
            t.client.to_string(),
            t.server.to_string(),
            t.version.clone(),
            opt(t.cipher_suite.as_deref()),
            String::new(),
            frame_label(t.first_frame),
            frame_label(t.last_frame),
            t.records.to_string(),
            t.resumed.to_string(),
            t.rsa_key_exchange.to_string(),
            opt(t.server_certificate_sha256.as_deref()),
            t.decrypted.to_string(),
            opt(k.map(|k| k.how.as_str())),
            safe_cell(k.map_or("", |k| k.source.as_str())),
            opt(k.map(|k| k.source_sha256.as_str())),
            safe_cell(t.not_decrypted.as_deref().unwrap_or("")),
        ])?;
    }
    for d in &a.dtls {
        let k = d.key_source.as_ref();
        w.write_record([
            "dtls".to_string(),
            d.client.to_string(),
            d.server.to_string(),
            d.version.clone(),
            opt(d.cipher_suite.as_deref()),
            opt(d.srtp_profile.as_deref()),
            frame_label(d.first_frame),
            frame_label(d.last_frame),
            d.records.to_string(),
            String::new(),
            String::new(),
            opt(d.server_certificate_sha256.as_deref()),
            d.srtp_keys_derived.to_string(),
            opt(k.map(|k| k.how.as_str())),
            safe_cell(k.map_or("", |k| k.source.as_str())),
            opt(k.map(|k| k.source_sha256.as_str())),
            safe_cell(d.not_decrypted.as_deref().unwrap_or("")),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Write `legs.csv` to any writer: one row per link between two legs of a call (Call-IDs `a` then `b`, how,
/// score, status, evidence). Written only when there are links.
pub fn write_legs<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["a", "b", "method", "header", "score", "status", "evidence"])?;
    for l in &a.legs {
        w.write_record([
            safe_cell(&l.a),
            safe_cell(&l.b),
            l.method.as_str().to_string(),
            safe_cell(l.header.as_deref().unwrap_or("")),
            format!("{:.2}", l.score),
            l.status.as_str().to_string(),
            safe_cell(&l.evidence.join("; ")),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Write `files.csv` to any writer: one row per file of a case (its number, which frame references name as
/// `number:frame`; capture point; SHA-256; what became of it). Only a case has one.
pub fn write_files<W: Write>(a: &Analysis, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "number",
        "file",
        "capture_point",
        "size_bytes",
        "sha256",
        "format",
        "packets",
        "first_ts",
        "last_ts",
        "offset_secs",
        "status",
        "duplicate_of",
        "reason",
        "interface",
    ])?;
    let digits = a.capture.ts_precision_digits;
    if let Some(case) = &a.case {
        for f in &case.files {
            let (status, dup, reason) = match &f.status {
                CaseFileStatus::Analysed => ("analysed", String::new(), ""),
                CaseFileStatus::DuplicateOf { file } => ("duplicate", file.to_string(), ""),
                CaseFileStatus::Unreadable { reason } => {
                    ("unreadable", String::new(), reason.as_str())
                }
            };
            w.write_record([
                f.number.to_string(),
                safe_cell(&f.file),
                safe_cell(case.points.get(f.point).map_or("", |p| p.name.as_str())),
                f.size_bytes.to_string(),
                f.sha256.clone(),
                f.format.clone(),
                f.packets.to_string(),
                f.first_ts_nanos
                    .map(|t| format_utc(t, digits))
                    .unwrap_or_default(),
                f.last_ts_nanos
                    .map(|t| format_utc(t, digits))
                    .unwrap_or_default(),
                format!("{:.9}", f.offset_nanos as f64 / 1e9),
                status.to_string(),
                dup,
                safe_cell(reason),
                f.interface.map(|i| i.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write `calls.csv`, `streams.csv`, `messages.csv`, `findings.csv`, `dtmf.csv` and `tls.csv` into `dir` (created
/// if missing), and `files.csv` for a case. Returns the paths written.
pub fn write_csv_dir(a: &Analysis, dir: &Path) -> Result<Vec<PathBuf>, CsvError> {
    std::fs::create_dir_all(dir).map_err(|source| CsvError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    type Writer = fn(&Analysis, BufWriter<File>) -> csv::Result<()>;
    let mut files: Vec<(&str, Writer)> = vec![
        ("calls.csv", write_calls),
        ("streams.csv", write_streams),
        ("messages.csv", write_messages),
        ("findings.csv", write_findings),
        ("dtmf.csv", write_dtmf),
        ("tls.csv", write_tls),
    ];
    if a.case.is_some() {
        files.push(("files.csv", write_files));
    }
    if !a.legs.is_empty() {
        files.push(("legs.csv", write_legs));
    }
    let mut written = Vec::new();
    for (name, write) in files {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| CsvError::Io {
            path: path.clone(),
            source,
        })?;
        write(a, BufWriter::new(file)).map_err(|source| CsvError::Csv {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        assert_eq!(safe_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(safe_cell("+33 1 23"), "'+33 1 23");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("\rx"), "'\rx");
        assert_eq!(safe_cell("alice"), "alice");
        assert_eq!(safe_cell(""), "");
    }
}
