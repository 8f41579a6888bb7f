//! The route of a media payload through the tracker, in one pass: SDP bindings (which address:port belongs to which
//! call), the class the payload was given once ([`Classified`]), TURN unwrapping, and the unsignalled-RTP
//! candidates. It ends where a packet reaches per-stream state (`MediaTracker::feed`, `t38_packet`,
//! `rtcp_packet` in the parent module) or is counted as what it is.
//!
//! ```text
//! on_udp(payload, Classified) ──┐
//! on_stun_tcp(data) ── unwrap_turn
//! dispatch(Classified):
//!   T.38 endpoint (UDPTL, not an RTP stream's) ─▶ t38_packet
//!   STUN / ChannelData (outer) ─▶ unwrap_turn ─▶ Classified::of(inner) ─▶ dispatch (inner: not unwrapped again)
//!   DTLS / ZRTP / STUN (inner) ─▶ flow evidence
//!   RTCP ─▶ rtcp_packet
//!   RTP(header) ─▶ rtp_packet ─▶ known stream, or bound / relayed new stream ─▶ feed
//!                             └─ else candidate ─▶ (a run of min_run packets) ─▶ new stream ─▶ feed_with
//!   unknown ─▶ rtp_malformed / rtcp_packet on a bound endpoint, else udp_unclassified
//! ```
//!
//! **Binding (as Wireshark's SDP → RTP conversations).** Every SDP (offer or answer, initial or re-INVITE, UPDATE,
//! 183, PRACK...) binds each `m=` line's address:port to its call from that frame on; a later SDP for the same
//! address:port replaces the binding (hold, port and codec changes). A packet belongs to a binding when its
//! destination, else its source, is a bound address:port. `m=image ... udptl` binds T.38.
//!
//! **Heuristic (unsignalled RTP, as rtpbreak).** A UDP payload that is not bound and parses as RTP becomes a
//! candidate keyed by (source, destination, SSRC); it becomes a stream after [`super::MediaLimits::min_run`] packets whose
//! sequence numbers advance by 1-3 and whose timestamps do not go backwards, at most 5 s apart; then the held
//! packets are replayed into the stream. Media unwrapped from TURN is accepted at once (a TURN channel carries only
//! media by protocol, RFC 7983). SIP never reaches here (the pipeline takes it first); STUN, DTLS and ZRTP are told
//! apart by their first byte (RFC 7983) and their own checks; DNS and other protocols fail the run test.
//!
//! **Parsing once.** The RTP header is parsed in [`Classified::of`] and carried to [`MediaTracker::rtp_packet`]; a
//! payload is re-read only where it is not RTP by its class: a bound endpoint's non-RTP bytes (to name the error)
//! and, on a T.38 endpoint, the "continues an RTP stream" check of an RTCP-typed payload.

use std::net::SocketAddr;

use crate::model::{
    DiagLevel, Diagnostic, DtmfEvent, FrameNo, Layer, MediaCarrier, MessageRecord, Sdp, StreamKind,
};

use super::super::demux::{self, PayloadClass};
use super::super::dtmf;
use super::super::rtp::{self, RtpError, RtpHeader};
use super::super::stream::{ClockInfo, PacketInfo, named_clock_rate, static_clock_rate};
use super::{FlowInfo, FlowKey, MediaTracker, StreamKey};
use crate::calls::static_payload_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BindKind {
    Rtp,
    T38,
}

#[derive(Debug, Clone)]
pub(super) struct Binding {
    pub(super) call_id: String,
    pub(super) kind: BindKind,
    /// Dynamic payload names and clock rates from rtpmap.
    pub(super) rtpmaps: Vec<(u8, String, u32)>,
    pub(super) proto: String,
    pub(super) crypto_suites: Vec<String>,
    pub(super) fingerprint: bool,
    /// The SDP's author is the caller (`Some(true)`), the callee, or unknown.
    pub(super) owner_is_caller: Option<bool>,
}

impl Binding {
    pub(super) fn clock(&self, pt: u8, want_name: bool) -> (ClockInfo, Option<String>) {
        let map = self.rtpmaps.iter().find(|(p, _, _)| *p == pt);
        if pt < 96 {
            let name = if want_name {
                map.map(|(_, n, _)| n.clone())
                    .or_else(|| static_payload_name(pt).map(str::to_string))
            } else {
                None
            };
            return (
                static_clock_rate(pt).map_or(ClockInfo::Unknown, ClockInfo::Rate),
                name,
            );
        }
        match map {
            Some((_, name, rate)) => {
                let clock = if name.eq_ignore_ascii_case("telephone-event") {
                    ClockInfo::TelephoneEvent
                } else if *rate > 0 {
                    ClockInfo::Rate(*rate)
                } else {
                    named_clock_rate(name).map_or(ClockInfo::Unknown, ClockInfo::Rate)
                };
                (clock, want_name.then(|| name.clone()))
            }
            None => (ClockInfo::Unknown, None),
        }
    }
}

/// Packets of an unsignalled RTP candidate, held until the run is long enough (lengths only: no payload bytes).
pub(super) struct Candidate {
    pub(super) held: Vec<PacketInfo>,
}

/// What a media payload is, found once per payload: its RFC 7983 class ([`demux::classify`]) and, for RTP, the
/// parsed header or why it did not parse. For UDP the pipeline's parallel decode stage makes it (on another core:
/// that first touch of the bytes was most of the sequential merge's time); for media unwrapped from TURN the
/// tracker makes it. The route then reads the class and header from here and never parses the packet again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    Stun,
    Zrtp,
    Dtls,
    TurnChannel,
    Rtcp,
    /// RTP by its first bytes, with the header as [`rtp::parse_rtp`] found it.
    Rtp(Result<RtpHeader, RtpError>),
    Unknown,
}

impl Classified {
    /// Classifies `payload` and, when it is RTP, parses its header (the only `parse_rtp` of the packet's route).
    pub fn of(payload: &[u8]) -> Classified {
        match demux::classify(payload) {
            PayloadClass::Stun => Classified::Stun,
            PayloadClass::Zrtp => Classified::Zrtp,
            PayloadClass::Dtls => Classified::Dtls,
            PayloadClass::TurnChannel => Classified::TurnChannel,
            PayloadClass::Rtcp => Classified::Rtcp,
            PayloadClass::Rtp => Classified::Rtp(rtp::parse_rtp(payload)),
            PayloadClass::Unknown => Classified::Unknown,
        }
    }

    /// The first-byte class alone.
    pub fn class(&self) -> PayloadClass {
        match self {
            Classified::Stun => PayloadClass::Stun,
            Classified::Zrtp => PayloadClass::Zrtp,
            Classified::Dtls => PayloadClass::Dtls,
            Classified::TurnChannel => PayloadClass::TurnChannel,
            Classified::Rtcp => PayloadClass::Rtcp,
            Classified::Rtp(_) => PayloadClass::Rtp,
            Classified::Unknown => PayloadClass::Unknown,
        }
    }
}

/// A media payload and where it came from.
pub(super) struct Datagram<'a> {
    pub(super) frame: FrameNo,
    pub(super) ts: i64,
    pub(super) src: SocketAddr,
    pub(super) dst: SocketAddr,
    pub(super) carrier: MediaCarrier,
    pub(super) peer: Option<SocketAddr>,
    pub(super) payload: &'a [u8],
}

impl MediaTracker {
    /// A SIP message (not a retransmission): SDP bindings and INFO DTMF.
    pub fn on_sip(&mut self, rec: &MessageRecord) {
        let msg = &rec.message;
        let Some(call_id) = msg.call_id.as_deref() else {
            return;
        };
        if msg.method() == Some("INVITE") && !self.callers.contains_key(call_id) {
            if self.callers.len() < self.limits.max_bindings {
                self.callers.insert(call_id.to_string(), rec.src);
            } else {
                self.caps.bindings += 1;
            }
        }
        if let Some(sdp) = &msg.sdp {
            let owner = self.callers.get(call_id).map(|c| *c == rec.src);
            self.bind_sdp(call_id, sdp, owner);
        }
        if msg.method() == Some("INFO")
            && let Some(ct) = msg.content_type.as_deref()
            && let Some((digit, duration_ms)) = dtmf::parse_info_body(ct, &msg.body)
        {
            let event = dtmf::digit_code(&digit).unwrap_or(0);
            if self.info_dtmf.len() < 100_000 {
                self.info_dtmf.push((
                    call_id.to_string(),
                    DtmfEvent {
                        digit,
                        event,
                        source: "sip-info",
                        frame: rec.frame,
                        ts_nanos: rec.ts_nanos,
                        duration_ms,
                        ended: true,
                        volume: None,
                        ssrc: None,
                        packets: 1,
                    },
                ));
            }
        }
    }

    /// A session description from MGCP or MEGACO: binds the addresses SIP has not bound (a gateway's media is
    /// often described by both, and the SIP call keeps it).
    pub fn bind_signal_sdp(&mut self, call_key: &str, sdp: &Sdp) {
        self.bind_sdp_with(call_key, sdp, None, false);
    }

    fn bind_sdp(&mut self, call_id: &str, sdp: &Sdp, owner_is_caller: Option<bool>) {
        self.bind_sdp_with(call_id, sdp, owner_is_caller, true);
    }

    fn bind_sdp_with(
        &mut self,
        call_id: &str,
        sdp: &Sdp,
        owner_is_caller: Option<bool>,
        replace: bool,
    ) {
        for m in &sdp.media {
            if m.port == 0 {
                continue;
            }
            let Some(addr) = m.connection.or(sdp.connection) else {
                continue;
            };
            if addr.is_unspecified() {
                continue;
            }
            let proto = m.proto.to_ascii_lowercase();
            let kind = if proto.contains("udptl") || m.media.eq_ignore_ascii_case("image") {
                BindKind::T38
            } else if proto.contains("rtp") {
                BindKind::Rtp
            } else {
                continue;
            };
            let binding = Binding {
                call_id: call_id.to_string(),
                kind,
                rtpmaps: m
                    .rtpmaps
                    .iter()
                    .map(|r| (r.payload_type, r.encoding.clone(), r.clock_rate_hz))
                    .collect(),
                proto: m.proto.clone(),
                crypto_suites: m.crypto.iter().map(|c| c.suite.clone()).collect(),
                fingerprint: !m.fingerprints.is_empty() || !sdp.fingerprints.is_empty(),
                owner_is_caller,
            };
            let key = SocketAddr::new(addr, m.port);
            if !replace
                && self.bindings.get(&key).is_some_and(|b| {
                    !b.call_id.starts_with("mgcp:") && !b.call_id.starts_with("megaco:")
                })
            {
                continue;
            }
            if self.bindings.len() >= self.limits.max_bindings && !self.bindings.contains_key(&key)
            {
                self.caps.bindings += 1;
                if !self.bindings_full_reported {
                    self.bindings_full_reported = true;
                    self.diags.push(Diagnostic::new(
                        None,
                        Layer::Rtp,
                        DiagLevel::Warning,
                        format!(
                            "more than {} SDP media endpoints: further ones are not bound to calls",
                            self.limits.max_bindings
                        ),
                    ));
                }
                continue;
            }
            self.any_t38_binding |= kind == BindKind::T38;
            self.bindings.insert(key, binding);
            self.bindings_generation = self.bindings_generation.wrapping_add(1);
        }
    }

    /// The binding of a packet (destination first, as the receiver announced it) and whether it matched by
    /// destination.
    pub(super) fn lookup(&self, src: SocketAddr, dst: SocketAddr) -> Option<(&Binding, bool)> {
        if let Some(b) = self.bindings.get(&dst) {
            return Some((b, true));
        }
        self.bindings.get(&src).map(|b| (b, false))
    }

    pub(super) fn flow(
        &mut self,
        a: SocketAddr,
        b: SocketAddr,
        c: MediaCarrier,
    ) -> Option<&mut FlowInfo> {
        let key = FlowKey::new(a, b, c);
        if !self.flows.contains_key(&key) && self.flows.len() >= self.limits.max_flows {
            self.caps.flows += 1;
            return None;
        }
        Some(self.flows.entry(key).or_default())
    }

    /// One UDP datagram that was not SIP, with its [`Classified::of`] (made once, by whoever first read it).
    pub fn on_udp(
        &mut self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        class: Classified,
    ) {
        let d = Datagram {
            frame,
            ts,
            src,
            dst,
            carrier: MediaCarrier::Udp,
            peer: None,
            payload,
        };
        self.dispatch(&d, true, class);
    }

    /// One STUN message or ChannelData frame cut from a STUN/TURN-over-TCP stream.
    pub fn on_stun_tcp(
        &mut self,
        frame: FrameNo,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
    ) {
        let d = Datagram {
            frame,
            ts,
            src,
            dst,
            carrier: MediaCarrier::TurnTcp,
            peer: None,
            payload: data,
        };
        self.unwrap_turn(&d, demux::classify(data));
    }

    /// The route of one payload: T.38 endpoints first, then by class. `outer` is false for media unwrapped from
    /// TURN (which is not unwrapped again).
    fn dispatch(&mut self, d: &Datagram<'_>, outer: bool, class: Classified) {
        // T.38 endpoints first: UDPTL has no recognisable first byte.
        if self.any_t38_binding && d.carrier == MediaCarrier::Udp && self.t38_endpoint(d, class) {
            return;
        }
        match class {
            Classified::Stun | Classified::TurnChannel if outer => {
                self.unwrap_turn(d, class.class())
            }
            Classified::Stun => {
                self.counters.stun_packets += 1;
                self.note_stun(d, d.carrier);
            }
            Classified::TurnChannel => self.counters.udp_unclassified += 1,
            Classified::Dtls => {
                self.counters.dtls_records += 1;
                let (frame, carrier) = (d.frame, d.carrier);
                if let Some(f) = self.flow(d.src, d.dst, carrier) {
                    f.dtls_first.get_or_insert(frame);
                    f.dtls_last = frame;
                    f.dtls_records += 1;
                }
            }
            Classified::Zrtp => {
                self.counters.zrtp_packets += 1;
                let (frame, carrier) = (d.frame, d.carrier);
                if let Some(f) = self.flow(d.src, d.dst, carrier) {
                    f.zrtp_first.get_or_insert(frame);
                    f.zrtp_packets += 1;
                }
            }
            Classified::Rtcp => self.rtcp_packet(d),
            // Relayed media whose peer is known (a Data indication's peer address, or a ChannelData channel bound
            // by a Channel-Bind seen earlier) starts a stream at once; ChannelData on an unknown channel must first
            // look like a stream (the candidate run), as unsignalled RTP does.
            Classified::Rtp(header) => self.rtp_packet(d, !outer && d.peer.is_some(), header),
            Classified::Unknown => {
                let bound_rtp = self
                    .lookup(d.src, d.dst)
                    .is_some_and(|(b, _)| b.kind == BindKind::Rtp);
                let looks_rtcp = d.payload.first().is_some_and(|b| b >> 6 == 2)
                    && d.payload.get(1).is_some_and(|b| (192..=223).contains(b));
                if bound_rtp && looks_rtcp {
                    // A damaged RTCP packet on a media endpoint: parse what can be parsed, diagnose the rest.
                    self.rtcp_packet(d);
                } else if bound_rtp && let Err(e) = rtp::parse_rtp(d.payload) {
                    // Bytes on a bound RTP endpoint that are not RTP (e.g. version 0/1/3): parsed only to say why.
                    self.counters.rtp_malformed += 1;
                    self.warn(
                        d.frame,
                        format!("{e} ({} → {}, a bound media endpoint)", d.src, d.dst),
                    );
                } else {
                    self.counters.udp_unclassified += 1;
                }
            }
        }
    }

    /// A datagram on a T.38 (UDPTL) endpoint that is not the continuation of an RTP stream already there: counted
    /// and fed to its T.38 stream (true), else left to the class route (false).
    fn t38_endpoint(&mut self, d: &Datagram<'_>, class: Classified) -> bool {
        if !self
            .lookup(d.src, d.dst)
            .is_some_and(|(b, _)| b.kind == BindKind::T38)
        {
            return false;
        }
        let ssrc = match class {
            Classified::Rtp(header) => header.ok().map(|h| h.ssrc),
            // Not RTP by its class, yet the RTP header rule may still hold (an RTCP-typed second byte): the one
            // packet kind parsed here, and only on T.38 endpoints, so the rule stays "parses as RTP".
            _ => rtp::parse_rtp(d.payload).ok().map(|h| h.ssrc),
        };
        let continues_rtp = ssrc.is_some_and(|ssrc| {
            self.index.contains_key(&StreamKey {
                src: d.src,
                dst: d.dst,
                ssrc,
                carrier: d.carrier,
                kind: StreamKind::Rtp,
            })
        });
        if continues_rtp {
            return false;
        }
        let Some(u) = demux::parse_udptl(d.payload) else {
            return false;
        };
        self.counters.udptl_packets += 1;
        self.t38_packet(d, u.seq);
        true
    }

    /// STUN on the flow of `d` under `carrier`: a WebRTC-style path (encryption evidence for its media).
    fn note_stun(&mut self, d: &Datagram<'_>, carrier: MediaCarrier) {
        let frame = d.frame;
        if let Some(f) = self.flow(d.src, d.dst, carrier) {
            f.stun_first.get_or_insert(frame);
            f.stun_packets += 1;
        }
    }

    fn unwrap_turn(&mut self, d: &Datagram<'_>, class: PayloadClass) {
        self.counters.stun_packets += 1;
        let carrier = if d.carrier == MediaCarrier::Udp {
            MediaCarrier::TurnUdp
        } else {
            d.carrier
        };
        // STUN on this 5-tuple: evidence for media on it directly (ICE) and for what it relays (TURN).
        self.note_stun(d, d.carrier);
        if carrier != d.carrier {
            self.note_stun(d, carrier);
        }
        match class {
            PayloadClass::TurnChannel => {
                let Some(cd) = demux::parse_channel_data(d.payload) else {
                    return;
                };
                let peer = self
                    .flows
                    .get(&FlowKey::new(d.src, d.dst, carrier))
                    .and_then(|f| {
                        f.channels
                            .iter()
                            .find(|(c, _)| *c == cd.channel)
                            .map(|(_, p)| *p)
                    });
                let inner = Datagram {
                    carrier,
                    peer,
                    payload: cd.data,
                    ..*d
                };
                self.dispatch(&inner, false, Classified::of(cd.data));
            }
            _ => {
                let Ok(m) = demux::parse_stun(d.payload) else {
                    return;
                };
                if let (Some(ch), Some(peer)) = (m.channel, m.peer)
                    && let Some(f) = self.flow(d.src, d.dst, carrier)
                    && f.channels.len() < 64
                    && !f.channels.iter().any(|(c, _)| *c == ch)
                {
                    f.channels.push((ch, peer));
                }
                if let Some(data) = m.data {
                    let inner = Datagram {
                        carrier,
                        peer: m.peer,
                        payload: data,
                        ..*d
                    };
                    self.dispatch(&inner, false, Classified::of(data));
                }
            }
        }
    }

    /// An RTP-class payload with its header as classified (never parsed again here).
    fn rtp_packet(&mut self, d: &Datagram<'_>, relayed: bool, header: Result<RtpHeader, RtpError>) {
        let h = match header {
            Ok(h) => h,
            Err(e) => {
                let bound = self.lookup(d.src, d.dst).is_some();
                if bound || relayed {
                    self.counters.rtp_malformed += 1;
                    self.warn(d.frame, format!("{e} ({} → {})", d.src, d.dst));
                } else {
                    self.counters.udp_unclassified += 1;
                }
                return;
            }
        };
        let info = PacketInfo {
            frame: d.frame,
            ts_nanos: d.ts,
            seq: h.seq,
            timestamp: h.timestamp,
            marker: h.marker,
            payload_type: h.payload_type,
            rtp_len: d.payload.len(),
            payload_len: h.payload_len,
            first_payload_byte: (h.payload_len > 0)
                .then(|| d.payload.get(h.payload_offset).copied())
                .flatten(),
            ipv6: d.src.is_ipv6(),
        };
        let key = StreamKey {
            src: d.src,
            dst: d.dst,
            ssrc: h.ssrc,
            carrier: d.carrier,
            kind: StreamKind::Rtp,
        };
        if let Some(tap) = self.tap.as_mut() {
            tap.offer(&key, d.frame, d.ts, d.payload);
        }
        if let Some(&i) = self.index.get(&key) {
            self.counters.rtp_packets += 1;
            self.feed(i, &info, rtp::payload(d.payload, &h));
            return;
        }
        let bound = self
            .lookup(d.src, d.dst)
            .filter(|(b, _)| b.kind == BindKind::Rtp)
            .map(|(b, by_dst)| (b.clone(), by_dst));
        if bound.is_some() || relayed {
            if let Some(i) = self.new_stream(key, bound, d.peer) {
                self.counters.rtp_packets += 1;
                self.feed(i, &info, rtp::payload(d.payload, &h));
            } else {
                self.counters.rtp_packets_untracked += 1;
            }
            return;
        }
        self.candidate(key, info);
    }

    fn candidate(&mut self, key: StreamKey, info: PacketInfo) {
        let min_run = self.limits.min_run.max(1);
        let consistent = |c: &Candidate| -> bool {
            let Some(last) = c.held.last() else {
                return true;
            };
            let dseq = info.seq.wrapping_sub(last.seq);
            let dts = info.timestamp.wrapping_sub(last.timestamp);
            let dt = info.ts_nanos.saturating_sub(last.ts_nanos);
            (1..=3).contains(&dseq)
                && dts < (1 << 31)
                && (0..=5_000_000_000).contains(&dt)
                && info.payload_type == last.payload_type
        };
        let cand = self.candidates.get_mut(&key);
        match cand {
            Some(c) if consistent(c) => c.held.push(info),
            Some(c) => {
                self.counters.rtp_candidates_rejected += c.held.len() as u64;
                c.held.clear();
                c.held.push(info);
            }
            None => {
                if self.candidates.len() >= self.limits.max_candidates {
                    self.counters.rtp_candidates_rejected += 1;
                    self.caps.candidates += 1;
                    return;
                }
                self.candidates.insert(key, Candidate { held: vec![info] });
            }
        }
        let ready = self
            .candidates
            .get(&key)
            .is_some_and(|c| c.held.len() >= min_run);
        if !ready {
            return;
        }
        let Some(c) = self.candidates.remove(&key) else {
            return;
        };
        match self.new_stream(key, None, None) {
            Some(i) => {
                for p in &c.held {
                    self.counters.rtp_packets += 1;
                    // The payload bytes of held packets are gone; DTMF needs none for unsignalled streams (no
                    // telephone-event mapping without SDP), and the trailer check only needs lengths.
                    let (clock, name) = self.clock_for(i, p.payload_type);
                    self.feed_with(i, p, clock, name);
                }
            }
            None => self.counters.rtp_packets_untracked += c.held.len() as u64,
        }
    }
}
