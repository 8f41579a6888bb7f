//! Ladder diagrams of one or more calls (merged B2BUA legs): SVG, PNG and a plain-text ladder for tickets.
//! Reads only the model.
//!
//! One layout, [`Ladder`], serves the screen (the app draws it with egui) and paper (SVG, PNG, text), so a call
//! shows the same way in both. The order is decided here, once:
//! - Rows are the messages of all the given calls in capture-time order (ties: frame, then message index), each
//!   media stream after the messages up to its first packet's time (ties: first frame, index). Time, not frame
//!   number: in a case, frame numbers are per file (`file × 10^10 + frame`) and say nothing about which of two
//!   capture points saw a packet first.
//! - Columns are the signalling addresses in order of first appearance among those rows (each message's source
//!   with its User-Agent or Server, then its destination), then the media streams' addresses.
//! - [`Bounds`]: exports draw at most [`MAX_ROWS`] rows and [`MAX_COLUMNS`] columns (the rest is counted in a final
//!   line, or gathered into one "other addresses" column); the app draws all of them ([`Bounds::ALL`]).
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::model::{
    Analysis, Encryption, MediaStream, MessageRecord, StartLine, StreamKind, Transport,
};
use crate::time::format_utc;

use super::{ReportError, terminal_safe};

/// Rows (messages and streams) drawn at most; the others are counted in a final line.
pub const MAX_ROWS: usize = 2000;
/// Address columns drawn at most; later addresses share one last column.
pub const MAX_COLUMNS: usize = 16;
/// Largest PNG rendered, in pixels (width × height).
pub const MAX_PNG_PIXELS: u64 = 50_000_000;

/// One row of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    /// Index into `Analysis::messages`.
    Message(usize),
    /// Index into `Analysis::signals` (MGCP, MEGACO, ...).
    Signal(usize),
    /// Index into `Analysis::streams`.
    Stream(usize),
}

/// What a ladder shows: columns (addresses) and rows, in the one order of this module's header, bounded.
#[derive(Debug, Default)]
pub struct Ladder {
    pub hosts: Vec<SocketAddr>,
    /// User agent (or Server) first seen from each host, same order as `hosts`.
    pub agents: Vec<Option<String>>,
    /// Addresses beyond [`MAX_COLUMNS`] (drawn in one extra column).
    pub other_hosts: usize,
    pub rows: Vec<Row>,
    /// Messages and streams not drawn because of [`MAX_ROWS`].
    pub more_messages: usize,
    pub more_streams: usize,
    /// Time of the first message (or stream): relative times are from here.
    pub t0: i64,
    /// The Call-IDs that matched a call, in the order given (exports' titles).
    pub call_ids: Vec<String>,
    /// Columns laid out at most ([`Bounds::columns`]).
    max_columns: usize,
}

/// How much of a ladder is laid out: exports are bounded, the app's scrolling view is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub rows: usize,
    pub columns: usize,
}

impl Bounds {
    /// What the exports draw: [`MAX_ROWS`] rows, [`MAX_COLUMNS`] columns.
    pub const EXPORT: Bounds = Bounds {
        rows: MAX_ROWS,
        columns: MAX_COLUMNS,
    };
    /// Everything (the app: its rows are drawn only where visible).
    pub const ALL: Bounds = Bounds {
        rows: usize::MAX,
        columns: usize::MAX,
    };
}

impl Ladder {
    /// The exports' ladder of the calls whose Call-ID is in `call_ids` ([`Bounds::EXPORT`]).
    pub fn build(a: &Analysis, call_ids: &[&str]) -> Ladder {
        let wanted: BTreeSet<&str> = call_ids.iter().copied().collect();
        let calls: Vec<usize> = a
            .calls
            .iter()
            .enumerate()
            .filter(|(_, c)| wanted.contains(c.call_id.as_str()))
            .map(|(i, _)| i)
            .collect();
        let mut l = Ladder::for_calls(a, &calls, Bounds::EXPORT);
        l.call_ids = call_ids
            .iter()
            .filter(|id| {
                calls
                    .iter()
                    .any(|&c| a.calls.get(c).is_some_and(|c| c.call_id == **id))
            })
            .map(|id| id.to_string())
            .collect();
        l
    }

    /// The ladder of `calls` (indices into `a.calls`), laid out within `bounds`.
    pub fn for_calls(a: &Analysis, calls: &[usize], bounds: Bounds) -> Ladder {
        let calls: Vec<_> = calls.iter().filter_map(|&c| a.calls.get(c)).collect();
        let mut msgs: Vec<&MessageRecord> = calls
            .iter()
            .flat_map(|c| c.messages.iter().filter_map(|&m| a.messages.get(m)))
            .collect();
        msgs.sort_by_key(|m| (m.ts_nanos, m.frame, m.index));
        msgs.dedup_by_key(|m| m.index);
        // Messages of both kinds as (time, frame, row), in time order.
        let mut msgs: Vec<(i64, u64, Row)> = msgs
            .iter()
            .map(|m| (m.ts_nanos, m.frame, Row::Message(m.index)))
            .collect();
        let mut signals: Vec<(i64, u64, Row)> = calls
            .iter()
            .flat_map(|c| c.signals.iter().filter_map(|&r| a.signals.get(r)))
            .map(|r| (r.ts_nanos, r.frame, Row::Signal(r.index)))
            .collect();
        if !signals.is_empty() {
            msgs.append(&mut signals);
            msgs.sort_by_key(|(ts, frame, row)| (*ts, *frame, *row));
            msgs.dedup_by_key(|(_, _, row)| *row);
        }
        let mut streams: Vec<&MediaStream> = calls
            .iter()
            .flat_map(|c| c.streams.iter().filter_map(|&s| a.streams.get(s)))
            .collect();
        streams.sort_by_key(|s| (s.first_ts_nanos, s.first_frame, s.index));
        streams.dedup_by_key(|s| s.index);

        let mut l = Ladder {
            t0: msgs
                .first()
                .map(|m| m.0)
                .or_else(|| streams.first().map(|s| s.first_ts_nanos))
                .unwrap_or(0),
            max_columns: bounds.columns,
            ..Default::default()
        };
        // Messages and streams interleaved by time (a stream goes after the messages of its instant).
        let (mut i, mut j) = (0, 0);
        while i < msgs.len() || j < streams.len() {
            let take_msg = match (msgs.get(i), streams.get(j)) {
                (Some(m), Some(s)) => m.0 <= s.first_ts_nanos,
                (Some(_), None) => true,
                _ => false,
            };
            if l.rows.len() >= bounds.rows {
                l.more_messages = msgs.len().saturating_sub(i);
                l.more_streams = streams.len().saturating_sub(j);
                break;
            }
            if take_msg {
                if let Some(m) = msgs.get(i) {
                    l.rows.push(m.2);
                }
                i += 1;
            } else {
                if let Some(s) = streams.get(j) {
                    l.rows.push(Row::Stream(s.index));
                }
                j += 1;
            }
        }
        // Columns: from the messages drawn (source with its user agent, then destination), then the streams.
        let mut all = BTreeSet::new();
        let rows = std::mem::take(&mut l.rows);
        for row in &rows {
            if let Some(m) = arrow(a, *row, 0) {
                l.add_host(m.src, m.agent, &mut all);
                l.add_host(m.dst, None, &mut all);
            }
        }
        for row in &rows {
            if let Row::Stream(s) = row
                && let Some(s) = a.streams.get(*s)
            {
                for addr in [s.src, s.dst].into_iter().flatten() {
                    l.add_host(addr, None, &mut all);
                }
            }
        }
        l.rows = rows;
        l.other_hosts = all.len().saturating_sub(l.hosts.len());
        l
    }

    fn add_host(&mut self, addr: SocketAddr, ua: Option<&String>, all: &mut BTreeSet<SocketAddr>) {
        match self.hosts.iter().position(|h| *h == addr) {
            Some(i) => {
                if let Some(slot) = self.agents.get_mut(i)
                    && slot.is_none()
                {
                    *slot = ua.cloned();
                }
            }
            None => {
                all.insert(addr);
                if self.hosts.len() < self.max_columns {
                    self.hosts.push(addr);
                    self.agents.push(ua.cloned());
                }
            }
        }
    }

    /// Number of columns drawn (the "other addresses" column included).
    pub fn columns(&self) -> usize {
        self.hosts.len() + usize::from(self.other_hosts > 0)
    }

    /// The column of an address (the last, shared column for addresses beyond [`MAX_COLUMNS`]).
    pub fn column(&self, addr: Option<SocketAddr>) -> Option<usize> {
        let addr = addr?;
        self.hosts
            .iter()
            .position(|h| *h == addr)
            .or((self.other_hosts > 0).then_some(self.hosts.len()))
    }
}

/// `+s.mmm` relative to `t0` (screen and paper).
pub fn relative_time(ts: i64, t0: i64) -> String {
    let d = i128::from(ts) - i128::from(t0);
    let sign = if d < 0 { "-" } else { "+" };
    let d = d.unsigned_abs();
    format!(
        "{sign}{}.{:03}",
        d / 1_000_000_000,
        (d % 1_000_000_000) / 1_000_000
    )
}

/// Cut `s` to `max` characters, ending with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Attacker text made printable (escaped controls and bidi overrides) and cut to `max` characters.
fn safe(s: &str, max: usize) -> String {
    cut(&terminal_safe(s, 4096), max)
}

/// Text for an SVG text node or attribute: [`safe`], then XML-escaped (U+FFFE/U+FFFF, not XML characters, escaped).
fn xml(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in safe(s, max).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A message row as the ladder draws it, whatever its protocol.
#[derive(Debug, Clone)]
pub struct Arrow<'a> {
    pub ts_nanos: i64,
    pub frame: crate::model::FrameNo,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: Transport,
    /// The label ([`message_label`] or [`signal_label`]), cut to the `max` asked for (0: no label).
    pub label: String,
    pub retransmission: bool,
    pub request: bool,
    /// A failure response (SIP 3xx-6xx, MGCP 4xx/5xx, MEGACO errors).
    pub failure: bool,
    /// It carries a session description.
    pub sdp: bool,
    /// The sender's User-Agent, Server, or signalling identity (MEGACO mId).
    pub agent: Option<&'a String>,
}

/// The arrow of a message row (`None` for streams and indices out of range); `max` characters of label.
pub fn arrow(a: &Analysis, row: Row, max: usize) -> Option<Arrow<'_>> {
    match row {
        Row::Message(i) => {
            let m = a.messages.get(i)?;
            Some(Arrow {
                ts_nanos: m.ts_nanos,
                frame: m.frame,
                src: m.src,
                dst: m.dst,
                transport: m.transport,
                label: if max > 0 {
                    message_label(m, max)
                } else {
                    String::new()
                },
                retransmission: m.retransmission,
                request: m.message.is_request(),
                failure: m.message.status().is_some_and(|c| c >= 300),
                sdp: m.message.sdp.is_some(),
                agent: m.message.user_agent.as_ref().or(m.message.server.as_ref()),
            })
        }
        Row::Signal(i) => {
            let r = a.signals.get(i)?;
            Some(Arrow {
                ts_nanos: r.ts_nanos,
                frame: r.frame,
                src: r.src,
                dst: r.dst,
                transport: r.transport,
                label: if max > 0 {
                    signal_label(r, max)
                } else {
                    String::new()
                },
                retransmission: r.retransmission,
                request: r.kind == crate::model::SignalKind::Request,
                failure: r.status.is_some_and(|c| c >= 400)
                    || (r.protocol == crate::model::Protocol::Megaco && r.status.is_some()),
                sdp: !r.sdp.is_empty(),
                agent: r.agent.as_ref(),
            })
        }
        Row::Stream(_) => None,
    }
}

/// The arrow label of an MGCP or MEGACO message: its summary, then its transaction (`CRCX aaln/1@gw [1204]`,
/// `200 OK [1204]`, `C=191 Modify RTP/1727 [T 555282730]`), `(SDP)`, `(retransmission)`; terminal-safe, cut to `max`.
pub fn signal_label(r: &crate::model::SignalRecord, max: usize) -> String {
    let kind = match (r.protocol, r.kind) {
        (crate::model::Protocol::Megaco, crate::model::SignalKind::Request) => "T ",
        (crate::model::Protocol::Megaco, crate::model::SignalKind::Response) => "P ",
        _ => "",
    };
    let mut label = safe(&r.summary, 80);
    if !r.sdp.is_empty() {
        label.push_str(" (SDP)");
    }
    if let Some(t) = r.transaction.as_deref() {
        label.push_str(&format!(" [{kind}{}]", safe(t, 12)));
    }
    if r.retransmission {
        label.push_str(" (retransmission)");
    }
    cut(&label, max)
}

/// The arrow label of a message (screen and paper): the method, or "code reason", then `(SDP)` when it carries a
/// session description, `[TLS]` when it was read from an encrypted leg with the keys given, `(retransmission)`;
/// terminal-safe and cut to `max` characters.
pub fn message_label(m: &MessageRecord, max: usize) -> String {
    let base = match &m.message.start {
        StartLine::Request { method, .. } => safe(method, 40),
        StartLine::Response { code, reason } => format!("{code} {}", safe(reason, 40)),
    };
    let mut label = base;
    if m.message.sdp.is_some() {
        label.push_str(" (SDP)");
    }
    if matches!(m.transport, Transport::Tls | Transport::Wss) {
        label.push_str(" [TLS]");
    }
    if m.retransmission {
        label.push_str(" (retransmission)");
    }
    cut(&label, max)
}

fn stream_label(s: &MediaStream) -> String {
    let kind = match s.kind {
        StreamKind::Rtp => "RTP",
        StreamKind::T38 => "T.38",
    };
    let enc = match s.encryption {
        Encryption::None => String::new(),
        e => format!(", {}", e.as_str()),
    };
    let codec = if s.codec.is_empty() {
        String::new()
    } else {
        format!(" {}", safe(&s.codec, 24))
    };
    format!("{kind}{codec} · {} pkts, lost {}{enc}", s.packets, s.lost)
}

fn title_ids(l: &Ladder, call_ids: &[&str]) -> String {
    let ids: Vec<&str> = if l.call_ids.is_empty() {
        call_ids.to_vec()
    } else {
        l.call_ids.iter().map(String::as_str).collect()
    };
    ids.join(", ")
}

fn more_line(l: &Ladder) -> Option<String> {
    (l.more_messages + l.more_streams > 0).then(|| {
        format!(
            "… {} more messages and {} more media streams not drawn (limit {MAX_ROWS} rows)",
            l.more_messages, l.more_streams
        )
    })
}

// SVG geometry (user units = pixels at scale 1).
const TIME_COL: f64 = 120.0;
const HOST_COL: f64 = 210.0;
const ROW: f64 = 30.0;
const TOP: f64 = 48.0;
const HEADER: f64 = 50.0;
const MARGIN: f64 = 10.0;
/// Room for the legend line at font size 10.
const MIN_WIDTH: f64 = 720.0;
/// Average advance of a DejaVu Sans character at 11 px (capitals are wider): used to cut labels to their room.
const CHAR_W: f64 = 6.8;
const FONT: &str = "DejaVu Sans";

fn column_x(col: usize) -> f64 {
    TIME_COL + HOST_COL * (col as f64 + 0.5)
}

fn message_color(m: &Arrow<'_>) -> &'static str {
    if m.retransmission {
        "#8a949e"
    } else if m.request {
        "#1d2733"
    } else if m.failure {
        "#c0392b"
    } else {
        "#1f6fb2"
    }
}

/// An arrow head at `(x, y)` pointing right (`dir` 1) or left (-1).
fn head(out: &mut String, x: f64, y: f64, dir: f64, color: &str) {
    let _ = writeln!(
        out,
        r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{color}"/>"#,
        x,
        y,
        x - dir * 8.0,
        y - 4.0,
        x - dir * 8.0,
        y + 4.0
    );
}

/// The ladder of the calls `call_ids` (messages of all of them, in frame order) as a standalone SVG 1.1 document
/// (no CSS, text in "DejaVu Sans", every capture string escaped and cut). Deterministic.
pub fn ladder_svg(analysis: &Analysis, call_ids: &[&str]) -> String {
    let l = Ladder::build(analysis, call_ids);
    let cols = l.columns().max(1);
    // At least as wide as the legend line under the title (two-column ladders would cut it).
    let width = (TIME_COL + HOST_COL * cols as f64 + MARGIN).max(MIN_WIDTH);
    let rows_top = TOP + HEADER;
    let footer = if more_line(&l).is_some() || l.rows.is_empty() {
        28.0
    } else {
        8.0
    };
    let height = rows_top + ROW * l.rows.len() as f64 + footer;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{FONT}" font-size="11">
<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let title_room = ((width - 2.0 * MARGIN) / 7.5) as usize;
    let _ = writeln!(
        o,
        r##"<text x="{MARGIN}" y="18" font-size="13" font-weight="bold" fill="#1d2733">Call-ID: {}</text>"##,
        xml(&title_ids(&l, call_ids), title_room.max(20))
    );
    let digits = analysis.capture.ts_precision_digits;
    let _ = writeln!(
        o,
        r##"<text x="{MARGIN}" y="35" font-size="10" fill="#5a6570">Times relative to {} (UTC) · frame numbers as in Wireshark · dashed: retransmission · dot: carries SDP · green band: media stream</text>"##,
        format_utc(l.t0, digits)
    );
    // Column headers and lifelines.
    let bottom = rows_top + ROW * l.rows.len() as f64;
    let host_room = ((HOST_COL - 16.0) / CHAR_W) as usize;
    for c in 0..l.columns() {
        let x = column_x(c);
        let (addr, ua) = match (l.hosts.get(c), l.agents.get(c)) {
            (Some(h), Some(ua)) => (h.to_string(), ua.clone().unwrap_or_default()),
            _ => (format!("{} other addresses", l.other_hosts), String::new()),
        };
        let _ = writeln!(
            o,
            r##"<rect x="{:.1}" y="{TOP:.1}" width="{:.1}" height="38" rx="3" fill="#eef2f6" stroke="#9aa5b1"/>
<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="#1d2733">{}</text>
<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="9.5" fill="#5a6570">{}</text>
<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#b0b8c0" stroke-dasharray="2,3"/>"##,
            x - HOST_COL / 2.0 + 6.0,
            HOST_COL - 12.0,
            TOP + 16.0,
            xml(&addr, host_room),
            TOP + 31.0,
            xml(&ua, host_room + 4),
            TOP + 38.0
        );
    }
    for (i, row) in l.rows.iter().enumerate() {
        let y0 = rows_top + ROW * i as f64;
        let (ts, frame) = match *row {
            Row::Message(_) | Row::Signal(_) => match arrow(analysis, *row, 0) {
                Some(m) => (m.ts_nanos, m.frame),
                None => continue,
            },
            Row::Stream(s) => match analysis.streams.get(s) {
                Some(s) => (s.first_ts_nanos, s.first_frame),
                None => continue,
            },
        };
        let _ = writeln!(
            o,
            r##"<text x="{MARGIN}" y="{:.1}" font-size="10" fill="#1d2733">{}</text>
<text x="72" y="{:.1}" font-size="9" fill="#5a6570">#{}</text>"##,
            y0 + ROW * 0.62,
            relative_time(ts, l.t0),
            y0 + ROW * 0.62,
            crate::model::frame_label(frame)
        );
        match *row {
            Row::Message(_) | Row::Signal(_) => {
                let Some(m) = arrow(analysis, *row, 200) else {
                    continue;
                };
                let (Some(s), Some(d)) = (l.column(Some(m.src)), l.column(Some(m.dst))) else {
                    continue;
                };
                svg_message(&mut o, analysis, *row, &m, column_x(s), column_x(d), y0);
            }
            Row::Stream(si) => {
                let Some(s) = analysis.streams.get(si) else {
                    continue;
                };
                svg_stream(&mut o, &l, s, y0);
            }
        }
    }
    let last = if let Some(more) = more_line(&l) {
        Some(more)
    } else if l.rows.is_empty() {
        Some("No signalling messages or media streams for these calls.".to_string())
    } else {
        None
    };
    if let Some(t) = last {
        let _ = writeln!(
            o,
            r##"<text x="{MARGIN}" y="{:.1}" font-size="11" font-style="italic" fill="#5a6570">{}</text>"##,
            bottom + 18.0,
            xml(&t, 200)
        );
    }
    o.push_str("</svg>\n");
    o
}

fn svg_message(o: &mut String, a: &Analysis, row: Row, m: &Arrow<'_>, xs: f64, xd: f64, y0: f64) {
    let label = |room: usize| arrow(a, row, room).map(|m| m.label).unwrap_or_default();
    let color = message_color(m);
    let y = y0 + ROW * 0.72;
    let dash = if m.retransmission {
        r#" stroke-dasharray="6,4""#
    } else {
        ""
    };
    if (xs - xd).abs() < 1.0 {
        // Same address on both ends: a small loop to the right, label after it.
        let _ = writeln!(
            o,
            r#"<polyline points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="none" stroke="{color}" stroke-width="1.5"{dash}/>"#,
            xs,
            y - 10.0,
            xs + 30.0,
            y - 10.0,
            xs + 30.0,
            y,
            xs + 8.0,
            y
        );
        head(o, xs, y, -1.0, color);
        let room = ((HOST_COL / 2.0 - 40.0) / CHAR_W) as usize;
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"#,
            xs + 36.0,
            y - 2.0,
            xml(&label(room.max(8)), 200)
        );
    } else {
        let dir = if xd > xs { 1.0 } else { -1.0 };
        let _ = writeln!(
            o,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="1.5"{dash}/>"#,
            xs,
            xd - dir * 7.0
        );
        head(o, xd, y, dir, color);
        let room = (((xd - xs).abs() - 16.0) / CHAR_W) as usize;
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{color}">{}</text>"#,
            (xs + xd) / 2.0,
            y - 5.0,
            xml(&label(room.max(8)), 200)
        );
    }
    if m.sdp {
        let _ = writeln!(
            o,
            r#"<circle cx="{xs:.1}" cy="{y:.1}" r="3.5" fill="{color}"/>"#
        );
    }
}

fn svg_stream(o: &mut String, l: &Ladder, s: &MediaStream, y0: f64) {
    let green = "#3c9a4a";
    let label = stream_label(s);
    let (Some(c1), Some(c2)) = (l.column(s.src), l.column(s.dst)) else {
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" fill="{green}">{}</text>"#,
            TIME_COL + 10.0,
            y0 + ROW * 0.62,
            xml(&label, 120)
        );
        return;
    };
    let (xs, xd) = (column_x(c1), column_x(c2));
    let (left, right) = if c1 == c2 {
        (xs, xs + HOST_COL * 0.45)
    } else {
        (xs.min(xd), xs.max(xd))
    };
    let (top, h) = (y0 + 6.0, ROW - 12.0);
    let _ = writeln!(
        o,
        r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{h:.1}" rx="3" fill="{green}" fill-opacity="0.18" stroke="{green}"/>"#,
        right - left
    );
    // The direction: a head at the receiving side.
    if c1 != c2 {
        let dir = if xd > xs { 1.0 } else { -1.0 };
        head(o, xd, top + h / 2.0, dir, green);
    }
    let room = ((right - left - 20.0) / 6.2) as usize;
    let _ = writeln!(
        o,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#1e5a28">{}</text>"##,
        (left + right) / 2.0,
        top + h / 2.0 + 3.5,
        xml(&label, room.max(12))
    );
}

/// The same ladder rendered to PNG with resvg (only the bundled fonts, no system font), `scale` 1.0 = one pixel per
/// SVG unit. Fails when the image would exceed [`MAX_PNG_PIXELS`] (use the SVG, or a smaller scale).
pub fn ladder_png(
    analysis: &Analysis,
    call_ids: &[&str],
    scale: f32,
) -> Result<Vec<u8>, ReportError> {
    let svg = ladder_svg(analysis, call_ids);
    svg_to_png(&svg, scale)
}

/// Render an SVG document to PNG with the bundled fonts only.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, ReportError> {
    use resvg::{tiny_skia, usvg};
    if !(scale.is_finite() && scale > 0.0 && scale <= 16.0) {
        return Err(ReportError::Image(format!(
            "scale {scale} is not between 0 and 16"
        )));
    }
    let mut db = usvg::fontdb::Database::new();
    for font in super::fonts::ALL {
        db.load_font_data(font.to_vec());
    }
    let opt = usvg::Options {
        font_family: FONT.to_string(),
        fontdb: Arc::new(db),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt)
        .map_err(|e| ReportError::Image(format!("cannot read the ladder SVG: {e}")))?;
    let size = tree.size();
    let w = (f64::from(size.width()) * f64::from(scale)).ceil();
    let h = (f64::from(size.height()) * f64::from(scale)).ceil();
    if w * h > MAX_PNG_PIXELS as f64 || w > 32_000.0 || h > 1_000_000.0 {
        return Err(ReportError::Image(format!(
            "the ladder would be {w}×{h} pixels at scale {scale}, more than the {MAX_PNG_PIXELS}-pixel limit: \
             export the SVG or use a smaller scale"
        )));
    }
    let mut pixmap = tiny_skia::Pixmap::new(w as u32, h as u32)
        .ok_or_else(|| ReportError::Image(format!("cannot allocate a {w}×{h} image")))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ReportError::Image(format!("cannot encode the PNG: {e}")))
}

// Text ladder geometry (characters).
const T_LEFT: usize = 18;
const T_COL: usize = 28;

/// Put `s` into `line` at character position `at` (the line is a char vector padded with spaces).
fn put(line: &mut Vec<char>, at: usize, s: &str) {
    for (k, c) in s.chars().enumerate() {
        let i = at + k;
        if line.len() <= i {
            line.resize(i + 1, ' ');
        }
        if let Some(slot) = line.get_mut(i) {
            *slot = c;
        }
    }
}

fn t_center(col: usize) -> usize {
    T_LEFT + T_COL * col + T_COL / 2
}

fn lifelines(cols: usize) -> Vec<char> {
    let mut line = Vec::new();
    for c in 0..cols {
        put(&mut line, t_center(c), "|");
    }
    line
}

/// A horizontal arrow between two columns with `label` in its middle.
fn t_arrow(line: &mut Vec<char>, c1: usize, c2: usize, fill: char, label: &str) {
    let (a, b) = (t_center(c1), t_center(c2));
    if c1 == c2 {
        let text = format!("|{fill}{fill}+ {label}");
        put(line, a, &text);
        put(line, a, "|<");
        return;
    }
    let (lo, hi) = (a.min(b), a.max(b));
    let span = hi - lo - 1;
    let mut body: Vec<char> = std::iter::repeat_n(fill, span).collect();
    if b > a {
        if let Some(last) = body.last_mut() {
            *last = '>';
        }
    } else if let Some(first) = body.first_mut() {
        *first = '<';
    }
    let label = cut(label, span.saturating_sub(4));
    let n = label.chars().count();
    let start = (span.saturating_sub(n)) / 2;
    for (k, c) in label.chars().enumerate() {
        if let Some(slot) = body.get_mut(start + k) {
            *slot = c;
        }
    }
    let s: String = body.into_iter().collect();
    put(line, lo + 1, &s);
}

/// The ladder as monospace text (for tickets and e-mail), sngrep-like: one column per address, `-->`/`<--`
/// arrows with the method or status, relative time and frame on the left; dotted arrows are retransmissions, `=`
/// arrows media streams. Every capture string is made terminal-safe.
pub fn ladder_text(analysis: &Analysis, call_ids: &[&str]) -> String {
    let l = Ladder::build(analysis, call_ids);
    let cols = l.columns();
    let mut out = String::new();
    let _ = writeln!(out, "Call-ID: {}", safe(&title_ids(&l, call_ids), 200));
    let _ = writeln!(
        out,
        "Times relative to {} (UTC); #frame as in Wireshark; ... retransmission; (SDP) carries SDP; === media",
        format_utc(l.t0, analysis.capture.ts_precision_digits)
    );
    out.push('\n');
    let room = T_COL - 2;
    let mut addr_line = Vec::new();
    let mut ua_line = Vec::new();
    for c in 0..cols {
        let (addr, ua) = match (l.hosts.get(c), l.agents.get(c)) {
            (Some(h), Some(ua)) => (h.to_string(), ua.clone().unwrap_or_default()),
            _ => (format!("{} others", l.other_hosts), String::new()),
        };
        for (line, text) in [(&mut addr_line, addr), (&mut ua_line, ua)] {
            let t = safe(&text, room);
            let n = t.chars().count();
            put(line, t_center(c).saturating_sub(n / 2), &t);
        }
    }
    put(&mut addr_line, 0, "    time    frame");
    for line in [addr_line, ua_line, lifelines(cols)] {
        let s: String = line.into_iter().collect();
        let _ = writeln!(out, "{}", s.trim_end());
    }
    for row in &l.rows {
        let mut line = lifelines(cols);
        match *row {
            Row::Message(_) | Row::Signal(_) => {
                let Some(m) = arrow(analysis, *row, 60) else {
                    continue;
                };
                put(
                    &mut line,
                    0,
                    &format!(
                        "{:>9} {:>8}",
                        relative_time(m.ts_nanos, l.t0),
                        format!("#{}", crate::model::frame_label(m.frame))
                    ),
                );
                if let (Some(s), Some(d)) = (l.column(Some(m.src)), l.column(Some(m.dst))) {
                    let fill = if m.retransmission { '.' } else { '-' };
                    let mut label = m.label.clone();
                    if m.retransmission {
                        // "(retransmission)" is long for a text column: the dotted arrow says it.
                        label = label.replace(" (retransmission)", "");
                    }
                    t_arrow(&mut line, s, d, fill, &format!(" {label} "));
                }
            }
            Row::Stream(si) => {
                let Some(s) = analysis.streams.get(si) else {
                    continue;
                };
                put(
                    &mut line,
                    0,
                    &format!(
                        "{:>9} {:>8}",
                        relative_time(s.first_ts_nanos, l.t0),
                        format!("#{}", crate::model::frame_label(s.first_frame))
                    ),
                );
                let kind = match s.kind {
                    StreamKind::Rtp => "RTP",
                    StreamKind::T38 => "T.38",
                };
                let label = format!(" {kind} {} {} pkts ", safe(&s.codec, 16), s.packets);
                match (l.column(s.src), l.column(s.dst)) {
                    (Some(c1), Some(c2)) => t_arrow(&mut line, c1, c2, '=', &label),
                    _ => put(&mut line, T_LEFT, &label),
                }
            }
        }
        let s: String = line.into_iter().collect();
        let _ = writeln!(out, "{}", s.trim_end());
    }
    if let Some(more) = more_line(&l) {
        let _ = writeln!(out, "{more}");
    } else if l.rows.is_empty() {
        out.push_str("No signalling messages or media streams for these calls.\n");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_cuts() {
        assert_eq!(xml("<script>&\"'", 80), "&lt;script&gt;&amp;&quot;&apos;");
        assert_eq!(xml("a\x1b[2Jb", 80), "a\\u{1b}[2Jb");
        assert_eq!(xml("abcdefgh", 5), "abcd…");
        assert_eq!(xml("x\u{ffff}", 9), "x\\u{ffff}");
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative_time(1_500_000_000, 0), "+1.500");
        assert_eq!(relative_time(0, 2_250_000_000), "-2.250");
        assert_eq!(relative_time(i64::MAX, i64::MIN), "+18446744073.709");
    }

    #[test]
    fn text_arrows_point_both_ways() {
        let mut line = lifelines(2);
        t_arrow(&mut line, 0, 1, '-', " INVITE ");
        let s: String = line.into_iter().collect();
        assert!(s.contains("|--------- INVITE --------->|"), "{s}");
        let mut line = lifelines(2);
        t_arrow(&mut line, 1, 0, '-', " 200 OK ");
        let s: String = line.into_iter().collect();
        assert!(s.contains("|<-------- 200 OK ----------|"), "{s}");
    }

    fn message(index: usize, frame: u64, ts: i64, src: &str, dst: &str) -> MessageRecord {
        let raw =
            b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
                    From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n\
                    CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        MessageRecord {
            index,
            frame,
            frames: vec![frame],
            ts_nanos: ts,
            size: raw.len(),
            ..crate::testutil::sip_record(
                src,
                dst,
                crate::sip::parse_message(raw, &Default::default()).unwrap(),
            )
        }
    }

    #[test]
    fn rows_follow_capture_time_across_case_files_and_bounds_cut_them() {
        // A case: file 2's point saw the first message; frame numbers (file-major) would put it second.
        const FILE: u64 = 10_000_000_000;
        let a = Analysis {
            messages: vec![
                message(0, FILE + 1, 200, "10.0.0.1:5060", "10.0.0.2:5060"),
                message(1, 2 * FILE + 1, 100, "10.0.0.3:5060", "10.0.0.1:5060"),
                message(2, FILE + 2, 300, "10.0.0.2:5060", "10.0.0.1:5060"),
            ],
            streams: vec![MediaStream {
                index: 0,
                first_frame: FILE + 3,
                first_ts_nanos: 150,
                src: Some("10.0.0.4:4000".parse().unwrap()),
                dst: Some("10.0.0.1:4000".parse().unwrap()),
                ..Default::default()
            }],
            calls: vec![crate::model::Call {
                call_id: "c".into(),
                messages: vec![0, 1, 2],
                streams: vec![0],
                ..Default::default()
            }],
            ..Default::default()
        };
        let all = Ladder::for_calls(&a, &[0], Bounds::ALL);
        assert_eq!(
            all.rows,
            [
                Row::Message(1),
                Row::Stream(0),
                Row::Message(0),
                Row::Message(2)
            ]
        );
        assert_eq!(all.t0, 100);
        // Columns in order of first appearance among the rows: 10.0.0.3, 10.0.0.1, 10.0.0.2, then the stream's.
        let hosts: Vec<String> = all.hosts.iter().map(|h| h.to_string()).collect();
        assert_eq!(
            hosts,
            [
                "10.0.0.3:5060",
                "10.0.0.1:5060",
                "10.0.0.2:5060",
                "10.0.0.4:4000",
                "10.0.0.1:4000"
            ]
        );
        // The exports' ladder is the same layout (by Call-ID), and the text draws it in that order.
        assert_eq!(Ladder::build(&a, &["c"]).rows, all.rows);
        let text = ladder_text(&a, &["c"]);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in\n{text}"))
        };
        assert!(
            at("#2:1 ") < at("#1:1 ") && at("#1:1 ") < at("#1:2 "),
            "{text}"
        );
        // Bounds: two rows, two columns; the rest counted.
        let cut = Ladder::for_calls(
            &a,
            &[0],
            Bounds {
                rows: 2,
                columns: 2,
            },
        );
        assert_eq!(cut.rows, [Row::Message(1), Row::Stream(0)]);
        assert_eq!((cut.more_messages, cut.more_streams), (2, 0));
        assert_eq!(cut.hosts.len(), 2);
        assert_eq!(cut.other_hosts, 2);
        assert_eq!(cut.columns(), 3);
    }

    #[test]
    fn empty_ladder_is_valid_svg() {
        let svg = ladder_svg(&Analysis::default(), &["nope"]);
        assert!(svg.contains("No signalling messages"));
        assert!(svg.ends_with("</svg>\n"));
        assert!(ladder_png(&Analysis::default(), &["nope"], 1.0).is_ok());
        assert!(ladder_png(&Analysis::default(), &["nope"], f32::NAN).is_err());
    }
}
