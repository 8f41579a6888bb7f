//! Media: everything on the wire that is not signalling. Recognises what a UDP payload (or a TURN-relayed one) is
//! (RTP, RTCP, STUN/TURN, DTLS, ZRTP, T.38/UDPTL), binds RTP to the calls whose SDP announced it, finds unsignalled
//! RTP by a strict heuristic, and computes per-stream quality (Wireshark's RTP analysis, the G.107 E-model over
//! simulated jitter buffers), RTCP summaries and DTMF.
//!
//! - [`rtp`]: RTP header parsing (RFC 3550 5.1, padding, CSRC, header extension) with precise errors.
//! - [`rtcp`]: compound RTCP parsing (SR, RR, SDES, BYE, APP, XR incl. VoIP metrics) and round-trip time.
//! - [`demux`]: RFC 7983 first-byte demultiplexing, STUN/TURN (ChannelData, Send/Data indications), DTLS record
//!   and ZRTP recognition, UDPTL (T.38) headers, STUN/ChannelData framing over TCP.
//! - [`stream`]: the per-stream statistics, defined exactly as Wireshark's RTP Stream Analysis.
//! - [`quality`]: jitter-buffer simulation and the ITU-T G.107 E-model (R-factor, MOS).
//! - [`dtmf`]: RFC 4733 telephone-events and SIP INFO DTMF bodies.
//! - [`tracker`]: the stateful stage the pipeline feeds: the one-pass route of a payload ([`tracker::Classified`],
//!   SDP bindings, TURN, the unsignalled-RTP heuristic) in `tracker/route.rs`; streams, RTCP, DTMF in `tracker.rs`.
//!
//! May import: `model`, `calls` (payload-name table), `time`.

pub mod demux;
pub mod dtmf;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod srtp;
pub mod stream;
pub mod tracker;
