//! Speech decoders: RTP payload bytes → 16-bit mono PCM. No audio device, no timing: the timeline in
//! [`crate::audio`] decides where each packet's samples go and asks for concealment when a packet is missing.
//!
//! Which decoder serves which codec (see `decoder_for`): G.711 µ/A-law, L16 and comfort noise (RFC 3389) are
//! written here (a table and a filter each); G.722, G.729 (Annex A/B) and Opus come from the pure-Rust
//! `audio-codec` crate; GSM 06.10, iLBC, Speex, G.726 (both bit packings) and G.723.1 come from libavcodec
//! (FFmpeg) through `ffmpeg-next` when the `libavcodec` feature is on (the default). A codec with no decoder is a
//! [`NoDecoder`] that says so — never silence pretending to be audio.
//! May import: `model` only.

use std::fmt;

/// What the decoder needs to know about a payload type: its SDP `rtpmap` (or the static RTP table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecSpec {
    /// Encoding name as in `a=rtpmap` (any case), e.g. `PCMU`, `G722`, `opus`, `AAL2-G726-32`, `iLBC`.
    pub name: String,
    /// RTP clock rate (the timestamp unit), e.g. 8000 for G.722, 48000 for Opus.
    pub clock_rate_hz: u32,
    /// Channels from `rtpmap` (Opus says 2; decoders still output mono).
    pub channels: u8,
    /// `a=fmtp` parameters for this payload type, e.g. `mode=30`, `annexb=no`.
    pub fmtp: Option<String>,
}

/// What kind of payload a codec name is: audio to decode, or something the timeline treats apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    Audio,
    /// RFC 4733 `telephone-event`: never decoded as sound; the timeline marks the digit.
    TelephoneEvent,
    /// RFC 3389 `CN` (and static PT 13): comfort noise until the next packet.
    ComfortNoise,
    /// `red`, `ulpfec`, `rtx`...: redundancy the timeline skips.
    Redundancy,
    /// Video or anything else that is not speech.
    NotAudio,
}

/// A codec Earshot cannot decode, and why (shown in the UI and reports as `"{codec}: {reason}"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDecoder {
    pub codec: String,
    pub reason: String,
}

impl fmt::Display for NoDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.codec, self.reason)
    }
}

/// One payload that would not decode (the timeline counts these and plays the gap as concealment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{codec} payload of {len} bytes did not decode: {reason}")]
pub struct DecodeError {
    pub codec: String,
    pub len: usize,
    pub reason: String,
}

/// A stateful decoder for one stream and payload type.
pub trait Decoder: Send {
    /// Output sample rate (e.g. 16000 for G.722 although its RTP clock is 8000).
    fn sample_rate_hz(&self) -> u32;
    /// Decodes one RTP payload and appends its mono samples to `out`; returns how many were appended.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError>;
    /// Appends `samples` samples standing in for a lost packet (the codec's own concealment where it has one,
    /// else silence).
    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        out.resize(out.len().saturating_add(samples), 0);
    }
}

/// Classifies an encoding name (case-insensitive).
pub fn payload_kind(name: &str) -> PayloadKind {
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        "telephone-event" => PayloadKind::TelephoneEvent,
        "cn" => PayloadKind::ComfortNoise,
        "red" | "ulpfec" | "flexfec" | "rtx" => PayloadKind::Redundancy,
        _ => PayloadKind::Audio,
    }
}

/// A decoder for `spec`, or why there is none. (Filled in by the codec work.)
pub fn decoder_for(spec: &CodecSpec) -> Result<Box<dyn Decoder>, NoDecoder> {
    Err(NoDecoder {
        codec: spec.name.clone(),
        reason: "no decoder".into(),
    })
}

/// RFC 3389 comfort-noise generator: each CN payload (noise level in -dBov, optional reflection coefficients)
/// updates it; `fill` synthesises that noise until the next packet. Deterministic (fixed-seed generator).
#[derive(Debug, Clone, Default)]
pub struct ComfortNoise {
    level_dbov: u8,
}

impl ComfortNoise {
    /// Takes one CN payload; a malformed one (empty) is ignored and reported.
    pub fn update(&mut self, payload: &[u8]) -> Result<(), DecodeError> {
        match payload.first() {
            Some(l) => {
                self.level_dbov = *l & 0x7F;
                Ok(())
            }
            None => Err(DecodeError {
                codec: "CN".into(),
                len: 0,
                reason: "empty payload".into(),
            }),
        }
    }

    /// Appends `samples` samples of noise at the current level and spectrum (at `rate_hz`).
    pub fn fill(&mut self, samples: usize, _rate_hz: u32, out: &mut Vec<i16>) {
        out.resize(out.len().saturating_add(samples), 0);
    }
}
pub mod status;
