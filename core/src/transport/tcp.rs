//! TCP reassembly for SIP (and SIP over WebSocket): one buffer per direction of each connection, bounded.
//!
//! Each direction `(src, dst)` keeps the next expected sequence number, the in-order bytes not yet consumed, the
//! frames that carried those bytes, and a bounded set of out-of-order segments. Bytes before the expected sequence
//! number are retransmissions (counted, dropped). A gap is skipped (counted in `bytes_skipped`, with a diagnostic)
//! when the out-of-order store is over its bounds or the peer has acknowledged past it (the capture missed the
//! bytes); the stream then resynchronises on the next SIP start line. A direction is classified by its first bytes:
//! SIP, HTTP with `Upgrade: websocket` (then WebSocket frames), TLS (records counted), STUN/TURN over TCP (RFC 6544,
//! RFC 8656: STUN messages and ChannelData frames, cut with [`crate::media::demux::tcp_frame_len`] and handed out
//! as [`AppProto::Stun`] messages), or other (ignored).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use foldhash::HashMap;

use crate::media::demux::{tcp_frame_len, tcp_frame_unpadded_len};
use crate::model::{
    DiagLevel, Diagnostic, FrameNo, Layer, PacketMeta, TlsKeyUse, TlsSession, Transport,
};
use crate::net::TcpSegment;
use crate::tls::{DecryptState, KeyOrigin, Keys, ResumptionCache, TlsConn};
use crate::transport::websocket::{self, WsFrame, WsParse};
use crate::transport::{
    AppMessage, AppProto, MAX_START_LINE, SipFraming, frame_sip, header_end, keepalive_len,
    sip_total_len, starts_like_sip, tls_record_len, tls_record_version,
};

#[derive(Debug, Clone)]
pub struct TcpLimits {
    /// Connections (directions) tracked at once; the least recently used is dropped past this.
    pub max_flows: usize,
    /// Bytes buffered per direction waiting for a message to complete.
    pub max_buffer_bytes: usize,
    /// Out-of-order segments held per direction.
    pub max_out_of_order: usize,
    /// Largest SIP header block accepted.
    pub max_header_bytes: usize,
    /// Bytes buffered over all directions (in-order, out-of-order and WebSocket fragments): without it,
    /// `max_flows` × `max_buffer_bytes` would be 64 GiB. Past it the least recently used directions are evicted.
    pub max_total_buffer_bytes: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_flows: 65_536,
            max_buffer_bytes: 1024 * 1024,
            max_out_of_order: 256,
            max_header_bytes: 64 * 1024,
            max_total_buffer_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Counters the reassembler keeps (copied into [`crate::model::Counters`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpStats {
    pub retransmitted_segments: u64,
    pub bytes_skipped: u64,
    pub websocket_frames: u64,
    pub tls_records: u64,
    /// STUN messages and TURN ChannelData frames cut from STUN/TURN-over-TCP streams.
    pub stun_frames: u64,
    /// Directions evicted because `max_flows` was reached (cap hit).
    pub flows_evicted: u64,
    /// Directions evicted because `max_total_buffer_bytes` was reached (cap hit).
    pub flows_evicted_memory: u64,
    /// Gaps skipped because `max_out_of_order` segments or `max_buffer_bytes` were held out of order (cap hit).
    pub out_of_order_overflows: u64,
    /// Messages dropped because they outgrew `max_buffer_bytes` (cap hit).
    pub buffer_overflows: u64,
}

/// `a` is before `b` in sequence space (RFC 1982 style, wrapping).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What a direction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No payload classified yet.
    Unknown,
    /// SIP messages framed by Content-Length. `resync`: lost bytes, looking for the next start line.
    Sip {
        resync: bool,
    },
    /// An HTTP request or response head; `WebSocket` follows when it is an upgrade.
    Http,
    WebSocket,
    /// TLS records; `skip` bytes of the current record remain.
    Tls {
        skip: usize,
    },
    /// STUN messages and TURN ChannelData frames (RFC 6544 / RFC 8656). `resync`: lost bytes or garbage, looking
    /// for the next STUN message (magic cookie) or a segment that starts a frame.
    Stun {
        resync: bool,
    },
    /// Anything else: ignored, unless a later segment starts like SIP.
    Other,
}

/// A segment held until the gap before it is filled.
#[derive(Debug)]
struct Held {
    seq: u32,
    frame: FrameNo,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Direction {
    kind: Kind,
    /// Next expected sequence number (`None` until the first segment).
    next_seq: Option<u32>,
    /// Highest acknowledgement the peer sent for this direction.
    acked: Option<u32>,
    /// In-order bytes not yet consumed.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_start: u64,
    /// (frame, stream offset of its first byte, offset past its last byte) for bytes still in `buf`.
    spans: Vec<(FrameNo, u64, u64)>,
    /// Out-of-order segments, at most `max_out_of_order`, total bytes at most `max_buffer_bytes`.
    held: Vec<Held>,
    held_bytes: usize,
    /// Length of the SIP message at the start of `buf` once its headers were parsed.
    pending_len: Option<usize>,
    /// WebSocket message being assembled from continuation frames.
    ws_msg: Option<(Vec<u8>, Vec<FrameNo>)>,
    /// Bytes dropped while looking for the next STUN message since the stream lost sync.
    stun_skipped: usize,
    /// `Some(true)`: this direction's source sent the SYN (it is the client).
    client: Option<bool>,
    /// TLS with keys: the decrypted application data, framed as a stream of its own (SIP, HTTP + WebSocket).
    plain: Option<Box<Direction>>,
    /// This is such a decrypted stream (no TLS inside TLS).
    inner: bool,
    closed: bool,
    last_frame: FrameNo,
    /// LRU tick.
    tick: u64,
}

impl Direction {
    fn new() -> Self {
        Direction {
            kind: Kind::Unknown,
            next_seq: None,
            acked: None,
            buf: Vec::new(),
            buf_start: 0,
            spans: Vec::new(),
            held: Vec::new(),
            held_bytes: 0,
            pending_len: None,
            ws_msg: None,
            stun_skipped: 0,
            client: None,
            plain: None,
            inner: false,
            closed: false,
            last_frame: 0,
            tick: 0,
        }
    }

    /// Frames that carried the stream bytes `[from, to)`, ascending and distinct.
    fn frames_of(&self, from: u64, to: u64) -> Vec<FrameNo> {
        // Spans are in stream order and do not overlap.
        let first = self.spans.partition_point(|&(_, _, e)| e <= from);
        let mut frames: Vec<FrameNo> = self
            .spans
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&(_, s, _)| s < to)
            .map(|&(f, _, _)| f)
            .collect();
        frames.sort_unstable();
        frames.dedup();
        frames
    }

    /// Drop `n` bytes from the front of `buf` (and the frame spans wholly before them).
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        if n == 0 {
            return;
        }
        self.buf.drain(..n);
        self.buf_start = self.buf_start.wrapping_add(n as u64);
        let start = self.buf_start;
        let gone = self.spans.partition_point(|&(_, _, e)| e <= start);
        self.spans.drain(..gone);
    }

    /// Discard everything buffered; returns the number of bytes dropped.
    fn clear_buf(&mut self) -> usize {
        let n = self.buf.len();
        self.consume(n);
        self.pending_len = None;
        n
    }

    /// Buffered bytes of an unfinished SIP or WebSocket message (keep-alive line ends do not count).
    fn leftover(&self) -> usize {
        let partial = match self.kind {
            Kind::Sip { resync: false } | Kind::WebSocket | Kind::Unknown => {
                self.buf.len().saturating_sub(keepalive_len(&self.buf))
            }
            Kind::Stun { resync: false } => self.buf.len(),
            _ => 0,
        };
        let ws = self.ws_msg.as_ref().map_or(0, |(m, _)| m.len());
        let plain = self.plain.as_ref().map_or(0, |p| p.leftover());
        partial
            .saturating_add(ws)
            .saturating_add(self.held_bytes)
            .saturating_add(plain)
    }

    /// Bytes this direction holds (what `max_total_buffer_bytes` bounds).
    fn memory(&self) -> usize {
        let ws = self.ws_msg.as_ref().map_or(0, |(m, _)| m.len());
        let plain = self.plain.as_ref().map_or(0, |p| p.memory());
        self.buf
            .len()
            .saturating_add(ws)
            .saturating_add(self.held_bytes)
            .saturating_add(plain)
    }
}

/// Everything `process` needs about the segment being pushed.
struct Ctx<'a> {
    frame: FrameNo,
    ts_nanos: i64,
    src: SocketAddr,
    dst: SocketAddr,
    out: &'a mut Vec<AppMessage>,
    diags: &'a mut Vec<Diagnostic>,
    /// Messages completed here are attributed to the last frame of their own bytes rather than to `frame` (used
    /// when an acknowledgement from the peer, not a data segment, releases held segments).
    attribute_to_data: bool,
}

impl Ctx<'_> {
    /// The frame a message made of `frames` is reported at.
    fn completing_frame(&self, frames: &[FrameNo]) -> FrameNo {
        match frames.last() {
            Some(&last) if self.attribute_to_data => last,
            _ => self.frame,
        }
    }

    /// Hand out one whole message of kind `proto` carried by `frames`.
    fn emit(&mut self, proto: AppProto, transport: Transport, frames: Vec<FrameNo>, data: Vec<u8>) {
        let frame = self.completing_frame(&frames);
        self.out.push(AppMessage {
            proto,
            transport,
            src: self.src,
            dst: self.dst,
            frame,
            ts_nanos: self.ts_nanos,
            frames,
            data,
        });
    }
}

#[derive(Debug, Default)]
pub struct TcpReassembler {
    pub limits: TcpLimits,
    pub stats: TcpStats,
    flows: HashMap<(SocketAddr, SocketAddr), Direction>,
    /// LRU index: tick → flow.
    lru: BTreeMap<u64, (SocketAddr, SocketAddr)>,
    tick: u64,
    /// TLS connections: (client, server) → what is known of them, and their decryption state.
    tls: BTreeMap<(SocketAddr, SocketAddr), TlsInfo>,
    /// Keys to decrypt TLS with (key logs, RSA keys); `None`: records are only parsed for the handshake.
    keys: Option<std::sync::Arc<Keys>>,
    /// TLS 1.2 sessions of this capture, for resumed handshakes.
    resumption: ResumptionCache,
    /// Sum of [`Direction::memory`] over the directions in `flows`.
    buffered: usize,
}

impl TcpReassembler {
    pub fn new(limits: TcpLimits) -> Self {
        TcpReassembler {
            limits,
            ..Default::default()
        }
    }

    /// The caps this stage reached.
    pub fn cap_hits(&self) -> Vec<crate::model::CapHit> {
        use crate::model::CapHit;
        let (l, t) = (&self.limits, &self.stats);
        [
            (
                "TCP flow cap",
                l.max_flows,
                t.flows_evicted,
                format!(
                    "TCP flow cap ({} directions): {} directions evicted",
                    l.max_flows, t.flows_evicted
                ),
            ),
            (
                "TCP memory cap",
                l.max_total_buffer_bytes,
                t.flows_evicted_memory,
                format!(
                    "TCP memory cap ({} bytes over all directions): {} directions evicted",
                    l.max_total_buffer_bytes, t.flows_evicted_memory
                ),
            ),
            (
                "TCP out-of-order cap",
                l.max_out_of_order,
                t.out_of_order_overflows,
                format!(
                    "TCP out-of-order cap ({} segments, {} bytes per direction): {} gaps skipped",
                    l.max_out_of_order, l.max_buffer_bytes, t.out_of_order_overflows
                ),
            ),
            (
                "TCP buffer cap",
                l.max_buffer_bytes,
                t.buffer_overflows,
                format!(
                    "TCP buffer cap ({} bytes per direction): {} oversized messages dropped",
                    l.max_buffer_bytes, t.buffer_overflows
                ),
            ),
        ]
        .into_iter()
        .filter(|h| h.2 > 0)
        .map(|(cap, limit, count, text)| CapHit::new(cap, limit, count, text))
        .collect()
    }

    /// Decrypt TLS with these keys from now on (key logs found later in the capture replace the set).
    pub fn set_keys(&mut self, keys: std::sync::Arc<Keys>) {
        self.keys = (!keys.is_empty()).then_some(keys);
    }

    /// Directions currently tracked.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Feed one segment (in capture order). Complete SIP messages (from plain TCP, or unwrapped from WebSocket
    /// frames after an HTTP Upgrade) are pushed to `out`; TLS streams are recognised and counted, not decoded.
    pub fn push(
        &mut self,
        meta: PacketMeta,
        segment: &TcpSegment<'_>,
        out: &mut Vec<AppMessage>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let PacketMeta {
            frame,
            ts_nanos,
            src,
            dst,
        } = meta;
        // The peer's acknowledgement tells which bytes of the reverse direction were delivered: held segments
        // behind a gap it acknowledged will never be completed by the capture.
        if segment.ack_flag
            && let Some(rev) = self.flows.get_mut(&(dst, src))
            && rev.acked.is_none_or(|a| seq_lt(a, segment.ack))
        {
            rev.acked = Some(segment.ack);
            if !rev.held.is_empty()
                && let Some(mut rev) = self.flows.remove(&(dst, src))
            {
                self.buffered = self.buffered.saturating_sub(rev.memory());
                let limits = self.limits.clone();
                let mut ctx = Ctx {
                    frame,
                    ts_nanos,
                    src: dst,
                    dst: src,
                    out: &mut *out,
                    diags: &mut *diags,
                    attribute_to_data: true,
                };
                self.resolve_gaps(&mut rev, &limits, &mut ctx);
                // Keep its LRU position: re-insert under the same tick.
                self.buffered = self.buffered.saturating_add(rev.memory());
                self.flows.insert((dst, src), rev);
            }
        }
        let payload: &[u8] = &segment.payload;
        if payload.is_empty()
            && !segment.syn
            && !segment.fin
            && !segment.rst
            && !self.flows.contains_key(&(src, dst))
        {
            // Pure ACKs do not create state.
            return;
        }
        let limits = self.limits.clone();
        let mut ctx = Ctx {
            frame,
            ts_nanos,
            src,
            dst,
            out,
            diags,
            attribute_to_data: false,
        };
        let mut dir = self.take_flow(src, dst, &mut ctx);
        dir.last_frame = frame;

        if segment.syn {
            let isn_next = segment.seq.wrapping_add(1);
            if dir.next_seq != Some(isn_next) {
                // A new connection (or connection reuse): start over.
                dir = Direction::new();
                dir.last_frame = frame;
                dir.next_seq = Some(isn_next);
            }
            dir.client = Some(!segment.ack_flag);
        }
        let data_seq = if segment.syn {
            segment.seq.wrapping_add(1)
        } else {
            segment.seq
        };

        if segment.rst {
            dir.closed = true;
            self.report_leftover(&mut dir, &mut ctx, "connection reset");
            self.put_flow(src, dst, dir, &mut ctx);
            return;
        }

        if !payload.is_empty() && !dir.closed {
            self.receive(&mut dir, &limits, data_seq, payload, &mut ctx);
        } else if !payload.is_empty() {
            // Data after FIN: only a retransmission can legitimately appear.
            match dir.next_seq {
                Some(next) if !seq_lt(next, data_seq.wrapping_add(payload.len() as u32)) => {
                    self.stats.retransmitted_segments =
                        self.stats.retransmitted_segments.saturating_add(1);
                }
                _ => {}
            }
        }

        if segment.fin && !dir.closed {
            // Bytes the FIN follows can no longer arrive out of order once everything up to it is in.
            if dir.held.is_empty() {
                dir.closed = true;
                self.report_leftover(&mut dir, &mut ctx, "connection closed");
            }
        }
        self.put_flow(src, dst, dir, &mut ctx);
    }

    /// Remove the direction from the map (creating it when new, evicting the LRU flow past `max_flows`).
    fn take_flow(&mut self, src: SocketAddr, dst: SocketAddr, ctx: &mut Ctx<'_>) -> Direction {
        if let Some(dir) = self.flows.remove(&(src, dst)) {
            self.lru.remove(&dir.tick);
            self.buffered = self.buffered.saturating_sub(dir.memory());
            return dir;
        }
        while self.flows.len() >= self.limits.max_flows.max(1) {
            let Some((_, key)) = self.lru.pop_first() else {
                break;
            };
            if let Some(old) = self.flows.remove(&key) {
                self.stats.flows_evicted += 1;
                let limit = format!("flow limit {}", self.limits.max_flows);
                self.discard_evicted(key, old, &limit, ctx);
            }
        }
        Direction::new()
    }

    fn put_flow(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        mut dir: Direction,
        ctx: &mut Ctx<'_>,
    ) {
        self.tick = self.tick.wrapping_add(1);
        dir.tick = self.tick;
        self.buffered = self.buffered.saturating_add(dir.memory());
        self.lru.insert(self.tick, (src, dst));
        self.flows.insert((src, dst), dir);
        // Over the total: evict the least recently used other directions (this one is the most recent).
        while self.buffered > self.limits.max_total_buffer_bytes {
            let Some((&tick, &key)) = self.lru.first_key_value() else {
                break;
            };
            if key == (src, dst) {
                break;
            }
            self.lru.remove(&tick);
            let Some(old) = self.flows.remove(&key) else {
                continue;
            };
            self.stats.flows_evicted_memory += 1;
            let limit = format!(
                "memory limit {} bytes over all flows",
                self.limits.max_total_buffer_bytes
            );
            self.discard_evicted(key, old, &limit, ctx);
        }
    }

    /// Forgets a direction evicted under `limit`: its memory leaves the total, and bytes it still held are counted
    /// as skipped and reported.
    fn discard_evicted(
        &mut self,
        key: (SocketAddr, SocketAddr),
        old: Direction,
        limit: &str,
        ctx: &mut Ctx<'_>,
    ) {
        self.buffered = self.buffered.saturating_sub(old.memory());
        let left = old.leftover();
        if left > 0 {
            ctx.diags.push(Diagnostic::new(
                Some(ctx.frame),
                Layer::Tcp,
                DiagLevel::Warning,
                format!(
                    "TCP flow {} -> {} evicted ({limit}) with {left} buffered bytes",
                    key.0, key.1
                ),
            ));
            self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(left as u64);
        }
    }

    fn report_leftover(&mut self, dir: &mut Direction, ctx: &mut Ctx<'_>, why: &str) {
        let left = dir.leftover();
        if left > 0 {
            ctx.diags.push(Diagnostic::new(
                Some(ctx.frame),
                Layer::Tcp,
                DiagLevel::Warning,
                format!(
                    "TCP {} -> {}: {why} with {left} bytes of an incomplete message",
                    ctx.src, ctx.dst
                ),
            ));
        }
        dir.clear_buf();
        dir.held.clear();
        dir.held_bytes = 0;
        dir.ws_msg = None;
        dir.plain = None;
    }

    /// Place a payload in sequence space: retransmission, overlap trimming, in-order append or hold.
    fn receive(
        &mut self,
        dir: &mut Direction,
        limits: &TcpLimits,
        seq: u32,
        payload: &[u8],
        ctx: &mut Ctx<'_>,
    ) {
        let next = *dir.next_seq.get_or_insert(seq);
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let end = seq.wrapping_add(len);
        if !seq_lt(next, end) {
            // Entirely before what we already have: a retransmission.
            self.stats.retransmitted_segments = self.stats.retransmitted_segments.saturating_add(1);
            return;
        }
        if !seq_lt(next, seq) {
            // Starts at or before the expected byte: trim the overlap and append.
            let overlap = next.wrapping_sub(seq) as usize;
            if overlap > 0 {
                self.stats.retransmitted_segments =
                    self.stats.retransmitted_segments.saturating_add(1);
            }
            let fresh = payload.get(overlap..).unwrap_or_default();
            self.append(dir, limits, ctx.frame, fresh, ctx);
            self.drain_held(dir, limits, ctx);
        } else {
            // A gap before this segment.
            if dir.held.iter().any(|h| h.seq == seq) {
                self.stats.retransmitted_segments =
                    self.stats.retransmitted_segments.saturating_add(1);
                return;
            }
            dir.held.push(Held {
                seq,
                frame: ctx.frame,
                data: payload.to_vec(),
            });
            dir.held_bytes = dir.held_bytes.saturating_add(payload.len());
        }
        self.resolve_gaps(dir, limits, ctx);
    }

    /// Move held segments that now fit (or overlap) the expected sequence number into the stream.
    fn drain_held(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        loop {
            let Some(next) = dir.next_seq else {
                return;
            };
            let Some(i) = dir.held.iter().position(|h| !seq_lt(next, h.seq)) else {
                return;
            };
            let h = dir.held.swap_remove(i);
            dir.held_bytes = dir.held_bytes.saturating_sub(h.data.len());
            let end = h
                .seq
                .wrapping_add(u32::try_from(h.data.len()).unwrap_or(u32::MAX));
            if !seq_lt(next, end) {
                self.stats.retransmitted_segments =
                    self.stats.retransmitted_segments.saturating_add(1);
                continue;
            }
            let overlap = next.wrapping_sub(h.seq) as usize;
            let fresh = h.data.get(overlap..).unwrap_or_default();
            self.append(dir, limits, h.frame, fresh, ctx);
        }
    }

    /// Skip gaps that will never be filled: too many held segments or bytes, or the peer acknowledged past them.
    fn resolve_gaps(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        loop {
            let Some(next) = dir.next_seq else {
                return;
            };
            // Every held segment starts after `next` (drain_held took the others): order by distance.
            let Some(first) = dir
                .held
                .iter()
                .map(|h| h.seq)
                .min_by_key(|s| s.wrapping_sub(next))
            else {
                return;
            };
            let over = dir.held.len() > limits.max_out_of_order
                || dir.held_bytes > limits.max_buffer_bytes;
            let acked_past = dir.acked.is_some_and(|a| seq_lt(next, a));
            if !over && !acked_past {
                return;
            }
            if over {
                self.stats.out_of_order_overflows += 1;
            }
            let gap = first.wrapping_sub(next);
            self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(u64::from(gap));
            ctx.diags.push(Diagnostic::new(
                Some(ctx.frame),
                Layer::Tcp,
                DiagLevel::Warning,
                format!(
                    "TCP {} -> {}: {gap} bytes missing from the capture (seq {next}..{first}); skipped, \
                     resynchronising",
                    ctx.src, ctx.dst
                ),
            ));
            if matches!(dir.kind, Kind::Tls { .. }) {
                let key = tls_key(dir, ctx);
                let from_client = key.0 == ctx.src;
                if let Some(info) = self.tls.get_mut(&key) {
                    info.conn.note_gap(from_client);
                }
                if let Some(p) = dir.plain.as_mut() {
                    let dropped = p.clear_buf();
                    self.stats.bytes_skipped =
                        self.stats.bytes_skipped.saturating_add(dropped as u64);
                    p.ws_msg = None;
                    p.kind = match p.kind {
                        Kind::Sip { .. } => Kind::Sip { resync: true },
                        Kind::Unknown => Kind::Unknown,
                        _ => Kind::Other,
                    };
                }
            }
            self.lose_sync(dir);
            dir.next_seq = Some(first);
            self.drain_held(dir, limits, ctx);
        }
    }

    /// Bytes were lost: drop the partial message and look for the next message start.
    fn lose_sync(&mut self, dir: &mut Direction) {
        let dropped = dir.clear_buf();
        self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(dropped as u64);
        dir.ws_msg = None;
        dir.stun_skipped = 0;
        dir.kind = match dir.kind {
            Kind::Sip { .. } => Kind::Sip { resync: true },
            Kind::Stun { .. } => Kind::Stun { resync: true },
            // WebSocket frame boundaries cannot be found again reliably.
            Kind::WebSocket | Kind::Http | Kind::Other => Kind::Other,
            // Segments usually start at a TLS record: classify the next bytes again.
            Kind::Tls { .. } | Kind::Unknown => Kind::Unknown,
        };
    }

    /// Append in-order bytes carried by `frame` and process the stream.
    fn append(
        &mut self,
        dir: &mut Direction,
        limits: &TcpLimits,
        frame: FrameNo,
        data: &[u8],
        ctx: &mut Ctx<'_>,
    ) {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        if let Some(next) = dir.next_seq.as_mut() {
            *next = next.wrapping_add(len);
        }
        if data.is_empty() {
            return;
        }
        // Ignored streams: a segment that starts like SIP switches the stream (back) to SIP.
        if dir.kind == Kind::Other {
            if starts_like_sip(data) {
                dir.clear_buf();
                dir.kind = Kind::Sip { resync: false };
            } else if ws_frame_carries_sip(data, limits.max_buffer_bytes) {
                dir.clear_buf();
                dir.kind = Kind::WebSocket;
            } else {
                return;
            }
        }
        // Looking for a message start after lost bytes: a segment that starts like SIP is one.
        if dir.kind == (Kind::Sip { resync: true }) && starts_like_sip(data) {
            let dropped = dir.clear_buf();
            self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(dropped as u64);
            dir.kind = Kind::Sip { resync: false };
        }
        // The same for STUN/TURN: segments usually start at a frame.
        if dir.kind == (Kind::Stun { resync: true }) && stun_stream_start(data) == StunStart::Yes {
            let dropped = dir.clear_buf();
            self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(dropped as u64);
            dir.kind = Kind::Stun { resync: false };
            dir.stun_skipped = 0;
        }
        if dir.buf.len().saturating_add(data.len()) > limits.max_buffer_bytes {
            self.stats.buffer_overflows += 1;
            let dropped = dir.buf.len();
            ctx.diags.push(Diagnostic::new(
                Some(frame),
                Layer::Tcp,
                DiagLevel::Warning,
                format!(
                    "TCP {} -> {}: message larger than the {}-byte buffer limit; {dropped} buffered bytes dropped",
                    ctx.src, ctx.dst, limits.max_buffer_bytes
                ),
            ));
            self.lose_sync(dir);
            if data.len() > limits.max_buffer_bytes {
                self.stats.bytes_skipped =
                    self.stats.bytes_skipped.saturating_add(data.len() as u64);
                return;
            }
        }
        let start = dir.buf_start.wrapping_add(dir.buf.len() as u64);
        dir.buf.extend_from_slice(data);
        dir.spans
            .push((frame, start, start.wrapping_add(data.len() as u64)));
        self.process(dir, limits, ctx);
    }

    /// Consume what can be consumed from the buffer according to the stream's kind.
    fn process(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        // Bounded number of kind transitions per call (Unknown → Http → WebSocket → Other ...).
        for _ in 0..8 {
            let before = dir.kind;
            match dir.kind {
                Kind::Unknown => self.classify(dir, ctx),
                Kind::Sip { resync } => {
                    if resync {
                        self.resync_sip(dir);
                    }
                    if dir.kind == (Kind::Sip { resync: false }) {
                        self.process_sip(dir, limits, ctx);
                    }
                }
                Kind::Http => self.process_http(dir, limits),
                Kind::WebSocket => self.process_ws(dir, limits, ctx),
                Kind::Tls { skip } => self.process_tls(dir, skip, limits, ctx),
                Kind::Stun { .. } => self.process_stun(dir, limits, ctx),
                Kind::Other => {
                    dir.clear_buf();
                }
            }
            if dir.kind == before {
                break;
            }
        }
    }

    fn classify(&mut self, dir: &mut Direction, ctx: &mut Ctx<'_>) {
        let buf = dir.buf.get(keepalive_len(&dir.buf)..).unwrap_or_default();
        if buf.is_empty() {
            return;
        }
        let has_line = buf.iter().take(MAX_START_LINE).any(|&b| b == b'\n');
        if dir.inner && tls_record_version(buf).is_some() {
            dir.kind = Kind::Other;
        } else if let Some(version) = tls_record_version(buf) {
            dir.kind = Kind::Tls { skip: 0 };
            let key = tls_key(dir, ctx);
            if self.tls.len() < self.limits.max_flows.max(1) || self.tls.contains_key(&key) {
                self.tls.entry(key).or_insert(TlsInfo {
                    record_version: version,
                    negotiated: None,
                    records: 0,
                    first_frame: ctx.frame,
                    last_frame: ctx.frame,
                    first_ts_nanos: ctx.ts_nanos,
                    last_ts_nanos: ctx.ts_nanos,
                    conn: TlsConn::new(),
                    plaintext_bytes: 0,
                });
            }
        } else if starts_like_sip(buf) {
            dir.kind = Kind::Sip { resync: false };
        } else if is_http_start(buf) {
            dir.kind = Kind::Http;
        } else if ws_frame_carries_sip(buf, self.limits.max_buffer_bytes) {
            // Capture started after the HTTP upgrade.
            dir.kind = Kind::WebSocket;
        } else if let start @ (StunStart::Yes | StunStart::Maybe) = stun_stream_start(&dir.buf)
            && !is_text_line(&dir.buf)
        {
            // STUN/TURN over TCP (checked on the raw bytes: no keep-alive skipping in a binary stream).
            if start == StunStart::Yes {
                dir.kind = Kind::Stun { resync: false };
                dir.stun_skipped = 0;
            }
            // Otherwise a first ChannelData frame (or STUN header) still arriving: wait for more bytes.
        } else if has_line || buf.len() >= MAX_START_LINE || !plausible_start(buf) {
            dir.kind = Kind::Other;
        }
        // Otherwise: a first line still arriving; wait for more bytes.
    }

    /// Drop bytes up to the next line that starts like SIP; keep a short tail that may be a partial start line.
    fn resync_sip(&mut self, dir: &mut Direction) {
        let skip = match find_sip_start(&dir.buf, 0, true) {
            Ok(i) => {
                dir.kind = Kind::Sip { resync: false };
                i
            }
            Err(keep) => keep,
        };
        self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(skip as u64);
        dir.consume(skip);
        dir.pending_len = None;
    }

    fn process_sip(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        let mut pos = 0usize;
        loop {
            let rest = dir.buf.get(pos..).unwrap_or_default();
            if dir.pending_len.is_none() {
                pos = pos.saturating_add(keepalive_len(rest));
            }
            let rest = dir.buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let framing = match dir.pending_len {
                Some(n) if n <= rest.len() => SipFraming::Complete(n),
                Some(_) => SipFraming::Incomplete,
                None => frame_sip(rest, limits.max_header_bytes),
            };
            match framing {
                SipFraming::Complete(n) => {
                    let data = rest.get(..n).unwrap_or_default().to_vec();
                    let from = dir.buf_start.wrapping_add(pos as u64);
                    let frames = dir.frames_of(from, from.wrapping_add(n as u64));
                    ctx.emit(AppProto::Sip, Transport::Tcp, frames, data);
                    dir.pending_len = None;
                    pos = pos.saturating_add(n);
                }
                SipFraming::Incomplete => {
                    if dir.pending_len.is_none()
                        && let Some(total) = sip_total_len(rest, limits.max_header_bytes)
                    {
                        dir.pending_len = Some(total);
                    }
                    break;
                }
                SipFraming::Invalid => {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Tcp,
                        DiagLevel::Warning,
                        format!(
                            "TCP {} -> {}: data that does not frame as SIP; resynchronising on the next SIP start",
                            ctx.src, ctx.dst
                        ),
                    ));
                    dir.pending_len = None;
                    // Search from the next line start (the bad message's first line is skipped).
                    let next = match find_sip_start(&dir.buf, pos, false) {
                        Ok(i) => i,
                        Err(keep) => {
                            dir.kind = Kind::Sip { resync: true };
                            keep
                        }
                    };
                    self.stats.bytes_skipped = self
                        .stats
                        .bytes_skipped
                        .saturating_add(next.saturating_sub(pos) as u64);
                    pos = next;
                    if dir.kind != (Kind::Sip { resync: false }) {
                        break;
                    }
                }
            }
        }
        dir.consume(pos);
    }

    fn process_http(&mut self, dir: &mut Direction, limits: &TcpLimits) {
        let start = keepalive_len(&dir.buf);
        let head = dir.buf.get(start..).unwrap_or_default();
        let Some(end) = find_crlfcrlf(head, limits.max_header_bytes) else {
            if head.len() >= limits.max_header_bytes {
                dir.kind = Kind::Other;
            }
            return;
        };
        let header = head.get(..end).unwrap_or_default();
        let upgrade = header_has_websocket_upgrade(header);
        let refused = header.starts_with(b"HTTP/") && header.get(9..12).is_none_or(|s| s != b"101");
        dir.consume(start.saturating_add(end));
        dir.kind = if upgrade && !refused {
            Kind::WebSocket
        } else {
            Kind::Other
        };
    }

    fn process_ws(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        let mut pos = 0usize;
        loop {
            let rest = dir.buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let mut parsed: Option<WsFrame> = None;
            match websocket::parse_frame(rest, limits.max_buffer_bytes, &mut parsed) {
                WsParse::Complete(n) => {
                    self.stats.websocket_frames = self.stats.websocket_frames.saturating_add(1);
                    let from = dir.buf_start.wrapping_add(pos as u64);
                    let frames = dir.frames_of(from, from.wrapping_add(n as u64));
                    pos = pos.saturating_add(n);
                    if let Some(f) = parsed {
                        self.ws_frame(dir, limits, f, frames, ctx);
                    }
                }
                WsParse::Incomplete => break,
                WsParse::Invalid => {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Websocket,
                        DiagLevel::Warning,
                        format!(
                            "WebSocket {} -> {}: invalid frame header; rest of the stream ignored",
                            ctx.src, ctx.dst
                        ),
                    ));
                    dir.consume(pos);
                    pos = 0;
                    let dropped = dir.clear_buf();
                    self.stats.bytes_skipped =
                        self.stats.bytes_skipped.saturating_add(dropped as u64);
                    dir.ws_msg = None;
                    dir.kind = Kind::Other;
                    break;
                }
            }
        }
        dir.consume(pos);
    }

    fn ws_frame(
        &mut self,
        dir: &mut Direction,
        limits: &TcpLimits,
        f: WsFrame,
        frames: Vec<FrameNo>,
        ctx: &mut Ctx<'_>,
    ) {
        let complete = match f.opcode {
            websocket::OP_TEXT | websocket::OP_BINARY => {
                if dir.ws_msg.is_some() {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Websocket,
                        DiagLevel::Warning,
                        "WebSocket data frame while a fragmented message was unfinished; partial message dropped",
                    ));
                }
                if f.fin {
                    dir.ws_msg = None;
                    Some((f.payload, frames))
                } else {
                    dir.ws_msg = Some((f.payload, frames));
                    None
                }
            }
            websocket::OP_CONTINUATION => {
                let Some((mut msg, mut msg_frames)) = dir.ws_msg.take() else {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Websocket,
                        DiagLevel::Warning,
                        "WebSocket continuation frame without a first fragment; ignored",
                    ));
                    return;
                };
                if msg.len().saturating_add(f.payload.len()) > limits.max_buffer_bytes {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Websocket,
                        DiagLevel::Warning,
                        format!(
                            "WebSocket message over the {}-byte limit; dropped",
                            limits.max_buffer_bytes
                        ),
                    ));
                    self.stats.bytes_skipped = self
                        .stats
                        .bytes_skipped
                        .saturating_add(msg.len().saturating_add(f.payload.len()) as u64);
                    return;
                }
                msg.extend_from_slice(&f.payload);
                msg_frames.extend(frames);
                if f.fin {
                    msg_frames.sort_unstable();
                    msg_frames.dedup();
                    Some((msg, msg_frames))
                } else {
                    dir.ws_msg = Some((msg, msg_frames));
                    None
                }
            }
            // Close, ping, pong: nothing for SIP.
            _ => None,
        };
        if let Some((data, frames)) = complete {
            let data = match data.get(keepalive_len(&data)..) {
                Some(d) if d.len() != data.len() => d.to_vec(),
                _ => data,
            };
            if starts_like_sip(&data) {
                ctx.emit(AppProto::Sip, Transport::Ws, frames, data);
            }
        }
    }

    /// Cut STUN messages and ChannelData frames (padding removed) from a STUN/TURN-over-TCP stream; resynchronise
    /// on the next STUN magic cookie (or a segment that starts a frame) after garbage, and give up (ignore the
    /// stream) after more than `max_buffer_bytes`, and more than the largest possible frame, without one.
    fn process_stun(&mut self, dir: &mut Direction, limits: &TcpLimits, ctx: &mut Ctx<'_>) {
        let mut pos = 0usize;
        loop {
            if dir.kind == (Kind::Stun { resync: true }) {
                let rest = dir.buf.get(pos..).unwrap_or_default();
                let (skip, found) = match find_stun_start(rest) {
                    Ok(i) => (i, true),
                    Err(keep) => (keep, false),
                };
                self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(skip as u64);
                dir.stun_skipped = dir.stun_skipped.saturating_add(skip);
                pos = pos.saturating_add(skip);
                if found {
                    dir.kind = Kind::Stun { resync: false };
                    dir.stun_skipped = 0;
                } else {
                    if dir.stun_skipped > limits.max_buffer_bytes.max(MAX_STUN_TCP_FRAME) {
                        ctx.diags.push(Diagnostic::new(
                            Some(ctx.frame),
                            Layer::Tcp,
                            DiagLevel::Warning,
                            format!(
                                "TCP {} -> {}: no STUN/TURN frame found in {} bytes; rest of the stream ignored",
                                ctx.src, ctx.dst, dir.stun_skipped
                            ),
                        ));
                        dir.consume(pos);
                        let dropped = dir.clear_buf();
                        self.stats.bytes_skipped =
                            self.stats.bytes_skipped.saturating_add(dropped as u64);
                        dir.kind = Kind::Other;
                        return;
                    }
                    break;
                }
            }
            let rest = dir.buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            match tcp_frame_len(rest) {
                Some(Ok(n)) => {
                    let Some(frame_bytes) = rest.get(..n) else {
                        break;
                    };
                    let data = frame_bytes
                        .get(..tcp_frame_unpadded_len(frame_bytes))
                        .unwrap_or(frame_bytes)
                        .to_vec();
                    let from = dir.buf_start.wrapping_add(pos as u64);
                    let frames = dir.frames_of(from, from.wrapping_add(n as u64));
                    ctx.emit(AppProto::Stun, Transport::Tcp, frames, data);
                    self.stats.stun_frames = self.stats.stun_frames.saturating_add(1);
                    pos = pos.saturating_add(n);
                }
                Some(Err(_)) => break,
                None => {
                    ctx.diags.push(Diagnostic::new(
                        Some(ctx.frame),
                        Layer::Tcp,
                        DiagLevel::Warning,
                        format!(
                            "TCP {} -> {}: data that does not frame as STUN or TURN ChannelData; \
                             resynchronising on the next STUN message",
                            ctx.src, ctx.dst
                        ),
                    ));
                    // Skip the bad byte; the search starts after it.
                    self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(1);
                    dir.stun_skipped = 1;
                    pos = pos.saturating_add(1);
                    dir.kind = Kind::Stun { resync: true };
                }
            }
        }
        dir.consume(pos);
    }

    /// TLS records. Handshake records are read whole (version, suite, randoms); with keys, every record is read
    /// whole and opened, and the application data goes to the direction's decrypted stream. Without keys,
    /// application-data records are skipped unread.
    fn process_tls(
        &mut self,
        dir: &mut Direction,
        mut skip: usize,
        limits: &TcpLimits,
        ctx: &mut Ctx<'_>,
    ) {
        let key = tls_key(dir, ctx);
        let from_client = key.0 == ctx.src;
        loop {
            if skip > 0 {
                let n = skip.min(dir.buf.len());
                dir.consume(n);
                skip = skip.saturating_sub(n);
                if skip > 0 {
                    break;
                }
            }
            if dir.buf.len() < 5 {
                break;
            }
            // The whole record's length, header included.
            let Some(total) = tls_record_len(&dir.buf) else {
                // Lost record sync (or not TLS after all): ignore the rest of the stream.
                dir.clear_buf();
                dir.kind = Kind::Other;
                return;
            };
            let rtype = dir.buf.first().copied().unwrap_or(0);
            let tracked = self.tls.contains_key(&key);
            let read_whole = tracked && (self.keys.is_some() || rtype == 20 || rtype == 22);
            if !read_whole {
                self.count_record(&key, &dir.buf, ctx);
                skip = total;
                continue;
            }
            if dir.buf.len() < total {
                break;
            }
            self.count_record(&key, &dir.buf, ctx);
            let from = dir.buf_start;
            let frames = dir.frames_of(from, from.wrapping_add(total as u64));
            let header = dir.buf.get(..5).unwrap_or_default();
            let fragment = dir.buf.get(5..total).unwrap_or_default();
            let empty = Keys::default();
            let keys = self.keys.as_deref().unwrap_or(&empty);
            let plain = match self.tls.get_mut(&key) {
                Some(info) => {
                    let p = info.conn.on_record(
                        from_client,
                        header,
                        fragment,
                        keys,
                        &mut self.resumption,
                    );
                    info.plaintext_bytes = info.plaintext_bytes.saturating_add(p.len() as u64);
                    p
                }
                None => Vec::new(),
            };
            dir.consume(total);
            if !plain.is_empty() {
                self.decrypted(dir, plain, frames, limits, ctx);
            }
        }
        dir.kind = Kind::Tls { skip };
    }

    /// Count one record (its header is at the start of `buf`) and note a ServerHello's version.
    fn count_record(&mut self, key: &(SocketAddr, SocketAddr), buf: &[u8], ctx: &Ctx<'_>) {
        self.stats.tls_records = self.stats.tls_records.saturating_add(1);
        if let Some(info) = self.tls.get_mut(key) {
            info.records = info.records.saturating_add(1);
            info.last_frame = ctx.frame;
            info.last_ts_nanos = ctx.ts_nanos;
            if info.negotiated.is_none()
                && let Some(v) = server_hello_version(buf)
            {
                info.negotiated = Some(v);
            }
        }
    }

    /// Decrypted application data carried by `frames`: appended to the direction's plaintext stream, which is
    /// framed like any TCP stream (SIP, or HTTP Upgrade then WebSocket); its messages travel as `tls` / `wss`.
    fn decrypted(
        &mut self,
        dir: &mut Direction,
        data: Vec<u8>,
        frames: Vec<FrameNo>,
        limits: &TcpLimits,
        ctx: &mut Ctx<'_>,
    ) {
        let mut plain = dir.plain.take().unwrap_or_else(|| {
            let mut p = Box::new(Direction::new());
            p.inner = true;
            p
        });
        if plain.buf.len().saturating_add(data.len()) > limits.max_buffer_bytes {
            self.stats.buffer_overflows += 1;
            ctx.diags.push(Diagnostic::new(
                Some(ctx.frame),
                Layer::Tls,
                DiagLevel::Warning,
                format!(
                    "TLS {} -> {}: decrypted message larger than the {}-byte buffer limit; {} buffered bytes dropped",
                    ctx.src,
                    ctx.dst,
                    limits.max_buffer_bytes,
                    plain.buf.len()
                ),
            ));
            self.lose_sync(&mut plain);
        }
        let start = plain.buf_start.wrapping_add(plain.buf.len() as u64);
        let end = start.wrapping_add(data.len() as u64);
        plain.buf.extend_from_slice(&data);
        for f in frames {
            plain.spans.push((f, start, end));
        }
        plain.last_frame = ctx.frame;
        let mut out = Vec::new();
        {
            let mut ictx = Ctx {
                frame: ctx.frame,
                ts_nanos: ctx.ts_nanos,
                src: ctx.src,
                dst: ctx.dst,
                out: &mut out,
                diags: &mut *ctx.diags,
                attribute_to_data: ctx.attribute_to_data,
            };
            self.process(&mut plain, limits, &mut ictx);
        }
        for mut m in out {
            m.transport = match m.transport {
                Transport::Ws => Transport::Wss,
                Transport::Tcp => Transport::Tls,
                t => t,
            };
            ctx.out.push(m);
        }
        dir.plain = Some(plain);
    }

    /// End of capture: report streams left with partial messages.
    pub fn finish(&mut self, diags: &mut Vec<Diagnostic>) {
        let mut keys: Vec<(SocketAddr, SocketAddr)> = self.flows.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(dir) = self.flows.get_mut(&key) else {
                continue;
            };
            let left = dir.leftover();
            if left > 0 {
                diags.push(Diagnostic::new(
                    Some(dir.last_frame),
                    Layer::Tcp,
                    DiagLevel::Warning,
                    format!(
                        "TCP {} -> {}: capture ended with {left} bytes of an incomplete message",
                        key.0, key.1
                    ),
                ));
            }
            dir.clear_buf();
            dir.held.clear();
            dir.held_bytes = 0;
            dir.ws_msg = None;
        }
        self.buffered = 0;
    }

    /// TLS-protected connections seen: (client, server, record version), sorted.
    pub fn tls_connections(&self) -> Vec<(SocketAddr, SocketAddr, u16)> {
        self.tls
            .iter()
            .map(|(&(c, s), i)| (c, s, i.record_version))
            .collect()
    }

    /// TLS-protected connections with what is known of them, sorted by (client, server).
    pub fn tls_sessions(&self) -> Vec<TlsSession> {
        self.tls
            .iter()
            .map(|(&(client, server), i)| {
                let (version, source) = match (i.conn.version, i.negotiated) {
                    (Some(v), _) | (None, Some(v)) => (v, "ServerHello"),
                    (None, None) => (i.record_version, "record layer"),
                };
                let c = &i.conn;
                let key_source = c.key_source.and_then(|(idx, how)| {
                    let src = self.keys.as_ref()?.sources.get(idx)?;
                    Some(TlsKeyUse {
                        how: match how {
                            KeyOrigin::KeyLog => "keylog",
                            KeyOrigin::RsaKey => "rsa-key",
                            KeyOrigin::Resumed => "resumed",
                        }
                        .into(),
                        source: src.name.clone(),
                        source_sha256: src.sha256.clone(),
                    })
                });
                let decrypted = c.records_decrypted > 0;
                TlsSession {
                    client,
                    server,
                    version: tls_version_name(version),
                    version_source: source.to_string(),
                    records: i.records,
                    first_frame: i.first_frame,
                    last_frame: i.last_frame,
                    first_ts_nanos: i.first_ts_nanos,
                    last_ts_nanos: i.last_ts_nanos,
                    client_random: c.client_random().map(|r| crate::tls::session::hex(r)),
                    cipher_suite: c.suite.map(|s| {
                        crate::tls::suite_name(s).map_or(format!("0x{s:04x}"), str::to_string)
                    }),
                    encrypt_then_mac: c.etm,
                    extended_master_secret: c.ems,
                    resumed: c.resumed,
                    rsa_key_exchange: c.version != Some(0x0304)
                        && c.suite
                            .and_then(crate::tls::suite_params)
                            .is_some_and(|p| p.rsa_kx),
                    server_certificate_sha256: c
                        .server_certificate
                        .as_deref()
                        .map(crate::tls::certificate_sha256),
                    decrypted,
                    records_decrypted: c.records_decrypted,
                    plaintext_bytes: i.plaintext_bytes,
                    key_source: if decrypted { key_source } else { None },
                    derived_key_log: match (c.client_random(), c.master_secret(), c.key_source) {
                        (Some(cr), Some(m), Some((_, how))) if how != KeyOrigin::KeyLog => Some(format!(
                            "CLIENT_RANDOM {} {}\n",
                            crate::tls::session::hex(cr),
                            crate::tls::session::hex(m)
                        )),
                        _ => None,
                    },
                    not_decrypted: match (&c.state, self.keys.is_some()) {
                        (DecryptState::NotDecrypted(why), true) => Some(why.clone()),
                        (_, true) if !decrypted => Some(
                            "no protected record could be opened (handshake missing from the capture?)".into(),
                        ),
                        _ => None,
                    },
                }
            })
            .collect()
    }

    /// Diagnostics for TLS connections the keys given did not open (once, at the end of the capture).
    pub fn tls_diagnostics(&self) -> Vec<Diagnostic> {
        if self.keys.is_none() {
            return Vec::new();
        }
        self.tls_sessions()
            .into_iter()
            .filter_map(|t| {
                let why = t.not_decrypted?;
                let what = if t.decrypted {
                    let total = self
                        .tls
                        .get(&(t.client, t.server))
                        .map_or(0, |i| i.conn.records_not_decrypted);
                    format!("{total} records not decrypted")
                } else {
                    "not decrypted".to_string()
                };
                Some(Diagnostic::new(
                    Some(t.first_frame),
                    Layer::Tls,
                    DiagLevel::Warning,
                    format!("TLS {} -> {}: {what}: {why}", t.client, t.server),
                ))
            })
            .collect()
    }
}

/// What is tracked of one TLS connection.
#[derive(Debug)]
struct TlsInfo {
    record_version: u16,
    negotiated: Option<u16>,
    records: u64,
    first_frame: FrameNo,
    last_frame: FrameNo,
    first_ts_nanos: i64,
    last_ts_nanos: i64,
    /// Handshake parsing and decryption.
    conn: TlsConn,
    /// Application-data bytes decrypted (both directions).
    plaintext_bytes: u64,
}

/// (client, server) of a connection, from what the direction knows of who opened it.
fn tls_key(dir: &Direction, ctx: &Ctx<'_>) -> (SocketAddr, SocketAddr) {
    match dir.client {
        Some(true) => (ctx.src, ctx.dst),
        Some(false) => (ctx.dst, ctx.src),
        None => match dir_client_guess(ctx.src, ctx.dst) {
            true => (ctx.src, ctx.dst),
            false => (ctx.dst, ctx.src),
        },
    }
}

/// `TLS 1.2`, `SSL 3.0`, or the hex value for anything else.
pub fn tls_version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

/// The version a ServerHello at the start of `rec` (a whole TLS record) selects: `supported_versions` (TLS 1.3)
/// when present, else its legacy version. `None` when the record is not (entirely) a ServerHello.
fn server_hello_version(rec: &[u8]) -> Option<u16> {
    let be16 =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*rec.get(i)?, *rec.get(i + 1)?])) };
    if *rec.first()? != 0x16 || *rec.get(5)? != 0x02 {
        return None;
    }
    let rec_len = usize::from(be16(3)?);
    let end = 5usize.checked_add(rec_len)?.min(rec.len());
    let legacy = be16(9)?;
    // legacy_version(2) random(32) session_id
    let mut p = 11 + 32;
    let sid = usize::from(*rec.get(p)?);
    p = p.checked_add(1 + sid + 2 + 1)?; // session id, cipher suite, compression
    let ext_len = usize::from(be16(p)?);
    p += 2;
    let ext_end = p.checked_add(ext_len)?.min(end);
    while p + 4 <= ext_end {
        let ty = be16(p)?;
        let len = usize::from(be16(p + 2)?);
        if ty == 0x002b && len == 2 {
            return be16(p + 4);
        }
        p = p.checked_add(4 + len)?;
    }
    Some(legacy)
}

/// Find the next line of `buf` at or after `from` that starts like SIP (`from` itself counts as a line start when
/// `from_is_line_start`). `Ok(index)` when found; otherwise `Err(keep)`: the bytes before `keep` can be dropped, the
/// rest is a short unterminated last line that may still become a start line. Linear in the bytes scanned
/// ([`starts_like_sip`] looks at most [`MAX_START_LINE`] bytes from each line start, and only up to its line end).
fn find_sip_start(buf: &[u8], from: usize, from_is_line_start: bool) -> Result<usize, usize> {
    let mut line_start = if from_is_line_start { Some(from) } else { None };
    let tail = buf.get(from..).unwrap_or_default();
    for (k, &b) in tail.iter().enumerate() {
        let i = from.saturating_add(k);
        if line_start == Some(i) && starts_like_sip(buf.get(i..).unwrap_or_default()) {
            return Ok(i);
        }
        if b == b'\n' {
            line_start = Some(i.saturating_add(1));
        }
    }
    let end = buf.len();
    let keep = match line_start {
        Some(ls) if ls >= from => ls,
        _ => end,
    };
    // An unterminated last line longer than a start line can be is dropped too.
    if end.saturating_sub(keep) < MAX_START_LINE {
        Err(keep)
    } else {
        Err(end)
    }
}

/// Does a byte stream start like STUN/TURN over TCP?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StunStart {
    /// A STUN message (magic cookie seen), or a complete ChannelData frame followed by the start of a plausible
    /// next frame.
    Yes,
    /// Could be: more bytes are needed to decide.
    Maybe,
    No,
}

/// The largest STUN message or padded ChannelData frame (20 + 65532 and 4 + 65536 bytes).
const MAX_STUN_TCP_FRAME: usize = 4 + 65_536;

/// Bytes needed to see a STUN header's magic cookie (or to trust a frame header that follows a ChannelData frame).
const STUN_DECIDE_BYTES: usize = 8;

fn stun_stream_start(buf: &[u8]) -> StunStart {
    let is_stun = buf.first().is_some_and(|&b| b <= 3);
    match tcp_frame_len(buf) {
        None => StunStart::No,
        Some(Err(_)) if is_stun && buf.len() >= STUN_DECIDE_BYTES => StunStart::Yes,
        Some(Err(_)) => StunStart::Maybe,
        Some(Ok(_)) if is_stun => StunStart::Yes,
        Some(Ok(n)) => {
            // ChannelData carries no magic: require a plausible next frame after it.
            let next = buf.get(n..).unwrap_or_default();
            match tcp_frame_len(next) {
                None => StunStart::No,
                Some(Ok(_)) => StunStart::Yes,
                Some(Err(_)) if next.len() >= STUN_DECIDE_BYTES => StunStart::Yes,
                Some(Err(_)) => StunStart::Maybe,
            }
        }
    }
}

/// After lost bytes: where does the next STUN/TURN frame start? `Ok(i)`: a frame start at `i` (a STUN/TURN stream
/// start at 0, otherwise a STUN header with the magic cookie). `Err(keep)`: none found; the bytes before `keep` can
/// be dropped, the rest (fewer than 8 bytes, or a frame at 0 still arriving) may still become one. Linear.
fn find_stun_start(buf: &[u8]) -> Result<usize, usize> {
    match stun_stream_start(buf) {
        StunStart::Yes => return Ok(0),
        StunStart::Maybe => return Err(0),
        StunStart::No => {}
    }
    for i in 1..buf.len() {
        let rest = buf.get(i..).unwrap_or_default();
        if rest.len() < STUN_DECIDE_BYTES {
            // Keep a tail that may be the start of a STUN header.
            return Err(i);
        }
        if rest.first().is_some_and(|&b| b <= 3) && tcp_frame_len(rest).is_some() {
            return Ok(i);
        }
    }
    Err(buf.len())
}

/// Is the first line of `buf` complete and printable text (a text protocol, not a binary ChannelData header)?
fn is_text_line(buf: &[u8]) -> bool {
    let Some(end) = buf.iter().take(MAX_START_LINE).position(|&b| b == b'\n') else {
        return false;
    };
    buf.get(..end)
        .unwrap_or_default()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\t')
}

/// Index past `\r\n\r\n` (or `\n\n`) in an HTTP head, within `limit` bytes.
fn find_crlfcrlf(buf: &[u8], limit: usize) -> Option<usize> {
    header_end(buf, limit)
}

/// Without a SYN: is `src` the client of a connection `src -> dst`? A well-known TLS port (or any port below 1024)
/// marks the server; otherwise the higher (ephemeral) port is the client's.
fn dir_client_guess(src: SocketAddr, dst: SocketAddr) -> bool {
    const TLS_PORTS: [u16; 7] = [443, 5061, 8443, 4443, 7443, 10443, 5223];
    let server_like = |p: u16| TLS_PORTS.contains(&p);
    match (server_like(src.port()), server_like(dst.port())) {
        (false, true) => true,
        (true, false) => false,
        _ => match (src.port() < 1024, dst.port() < 1024) {
            (false, true) => true,
            (true, false) => false,
            _ => src.port() >= dst.port(),
        },
    }
}

/// Does `data` start with a complete WebSocket text or binary frame whose payload starts like SIP? Recognises SIP
/// over WebSocket when the capture missed the HTTP upgrade.
fn ws_frame_carries_sip(data: &[u8], max_payload: usize) -> bool {
    let mut frame = None;
    if !matches!(
        websocket::parse_frame(data, max_payload, &mut frame),
        WsParse::Complete(_)
    ) {
        return false;
    }
    frame.is_some_and(|f| {
        matches!(f.opcode, websocket::OP_TEXT | websocket::OP_BINARY)
            && starts_like_sip(
                f.payload
                    .get(keepalive_len(&f.payload)..)
                    .unwrap_or_default(),
            )
    })
}

/// Could `buf` (no line end yet) still become a SIP or HTTP start line? A token character first, then printable
/// ASCII only. TLS records were checked before.
fn plausible_start(buf: &[u8]) -> bool {
    buf.first().is_some_and(|b| b.is_ascii_alphanumeric())
        && buf.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r')
}

/// An HTTP/1.x request line (`GET /path HTTP/1.1`) or status line (`HTTP/1.1 101 ...`).
fn is_http_start(buf: &[u8]) -> bool {
    let line_end = buf.iter().take(MAX_START_LINE).position(|&b| b == b'\n');
    let Some(end) = line_end else {
        return false;
    };
    let line = buf.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.starts_with(b"HTTP/1.") {
        return true;
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !method.is_empty()
        && method.iter().all(u8::is_ascii_uppercase)
        && version.starts_with(b"HTTP/1.")
}

/// Does an HTTP head carry `Upgrade: websocket`?
fn header_has_websocket_upgrade(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|raw| {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        name.trim_ascii().eq_ignore_ascii_case(b"upgrade")
            && value.eq_ignore_ascii_case(b"websocket")
    })
}
