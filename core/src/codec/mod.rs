//! Speech decoders: RTP payload bytes → 16-bit mono PCM. No audio device, no timing: the timeline in
//! [`crate::audio`] decides where each packet's samples go and asks for concealment when a packet is missing.
//!
//! Which decoder serves which codec (see `decoder_for`): G.711 µ/A-law, L16/L8 and comfort noise (RFC 3389) are
//! written here (a table and a filter each), and so is G.726 at 16-40 kbit/s in both bit packings (`g726`: libavcodec's
//! G.726 decoder is wrong at 40 kbit/s); G.722 comes from the pure-Rust `audio-codec` crate, G.729 (Annexes A and B)
//! and Opus from the pure-Rust decoders it wraps (`g729-sys`, `opus-rs`), used directly for Annex B SID frames,
//! frame-erasure and packet-loss concealment and Opus packets longer than 20 ms; GSM 06.10, iLBC, Speex, G.723.1
//! and AMR/AMR-WB (RFC 4867 payloads converted to the storage format) come from libavcodec (FFmpeg) through
//! `ffmpeg-next` when the `libavcodec` feature is on (the default). A codec with no decoder is a [`NoDecoder`] that
//! says so — never silence pretending to be audio.
//!
//! Every decoder outputs 16-bit mono at [`Decoder::sample_rate_hz`] (channels are averaged). Payload bytes are
//! untrusted: a payload that is empty, of a length the codec's framing does not allow, or that the codec rejects is
//! a [`DecodeError`] with nothing appended — never a panic. [`supported_codecs`] lists what this build decodes.
//! May import: `model` only.

use std::fmt;

#[cfg(feature = "libavcodec")]
mod amr;
#[cfg(feature = "libavcodec")]
mod bits;
mod cn;
mod g726;
#[cfg(feature = "libavcodec")]
mod libav;
mod pcm;
mod pure;
#[cfg(feature = "libavcodec")]
mod speex;
pub mod status;
#[cfg(test)]
mod tests;

pub use cn::{ComfortNoise, MAX_CN_ORDER};

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
        n if VIDEO_CODECS.contains(&n) => PayloadKind::NotAudio,
        _ => PayloadKind::Audio,
    }
}

/// Encoding names (lower case) of video and other non-speech payloads seen in SDP.
const VIDEO_CODECS: &[&str] = &[
    "h261",
    "h263",
    "h263-1998",
    "h263-2000",
    "h264",
    "h264-svc",
    "h265",
    "vp8",
    "vp9",
    "av1",
    "mp4v-es",
    "jpeg",
    "mpv",
    "mp2t",
    "theora",
    "raw",
    "t140",
];

/// Codecs served by libavcodec: lower-case encoding name, the name as usually written in SDP, libavcodec decoder.
const LIBAV_CODECS: &[(&str, &str, &str)] = &[
    ("gsm", "GSM", "gsm"),
    ("ilbc", "iLBC", "ilbc"),
    ("speex", "speex", "speex"),
    ("g723", "G723", "g723_1"),
    ("amr", "AMR", "amrnb"),
    ("amr-wb", "AMR-WB", "amrwb"),
];

/// G.726 encoding names (lower case, as usually written in SDP), their bit rate in kbit/s and bit packing: RFC 3551
/// `G726-<kbit/s>` (and the static `G721`, G.726 at 32 kbit/s) pack code words from the least significant bit,
/// AAL2 (I.366.2) from the most significant bit.
const G726_CODECS: &[(&str, &str, u32, g726::Packing)] = {
    use g726::Packing::{LeastSignificantFirst as Lsb, MostSignificantFirst as Msb};
    &[
        ("g721", "G721", 32, Lsb),
        ("g726-16", "G726-16", 16, Lsb),
        ("g726-24", "G726-24", 24, Lsb),
        ("g726-32", "G726-32", 32, Lsb),
        ("g726-40", "G726-40", 40, Lsb),
        ("aal2-g726-16", "AAL2-G726-16", 16, Msb),
        ("aal2-g726-24", "AAL2-G726-24", 24, Msb),
        ("aal2-g726-32", "AAL2-G726-32", 32, Msb),
        ("aal2-g726-40", "AAL2-G726-40", 40, Msb),
    ]
};

/// The `DecodeError` for `payload` of `codec`.
pub(crate) fn decode_error(codec: &str, payload: &[u8], reason: &str) -> DecodeError {
    DecodeError {
        codec: codec.to_string(),
        len: payload.len(),
        reason: reason.to_string(),
    }
}

/// The value of `key` (case-insensitive) in an `a=fmtp` parameter list (`k=v; k=v` or `k=v;k=v`), e.g. `mode` in
/// `mode=30` → `Some("30")`.
pub fn fmtp_param<'a>(fmtp: Option<&'a str>, key: &str) -> Option<&'a str> {
    fmtp?
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

/// A decoder for `spec`, or why there is none. Names are matched case-insensitively, including the static payload
/// types' names (`PCMU`, `GSM`, `G723`, `PCMA`, `G722`, `L16`, `G729`, ...).
pub fn decoder_for(spec: &CodecSpec) -> Result<Box<dyn Decoder>, NoDecoder> {
    let name = spec.name.trim().to_ascii_lowercase();
    let none = |reason: &str| NoDecoder {
        codec: spec.name.clone(),
        reason: reason.to_string(),
    };
    // G.711 is 8000 Hz in the static payload types; a missing (0) rate means that default.
    let rate_or_8k = if spec.clock_rate_hz == 0 {
        8000
    } else {
        spec.clock_rate_hz
    };
    match name.as_str() {
        "pcmu" => Ok(Box::new(pcm::G711::ulaw(rate_or_8k))),
        "pcma" => Ok(Box::new(pcm::G711::alaw(rate_or_8k))),
        "l16" | "l8" if spec.clock_rate_hz == 0 => {
            Err(none("no decoder (no clock rate for linear PCM)"))
        }
        "l16" => Ok(Box::new(pcm::Linear::l16(
            spec.clock_rate_hz,
            spec.channels,
        ))),
        "l8" => Ok(Box::new(pcm::Linear::l8(spec.clock_rate_hz, spec.channels))),
        "g722" => Ok(Box::new(pure::G722::new())),
        "g729" | "g729a" | "g729b" | "g729ab" => Ok(Box::new(pure::G729::new())),
        "g729d" | "g729e" => Err(none("no decoder (G.729 Annex D/E rates are not supported)")),
        "opus" => pure::Opus::new()
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .map_err(|e| none(&format!("no decoder (Opus decoder did not start: {e})"))),
        n if G726_CODECS.iter().any(|(g, ..)| *g == n) => G726_CODECS
            .iter()
            .find(|(g, ..)| *g == n)
            .and_then(|&(_, _, kbps, packing)| g726::G726::new(&spec.name, kbps, packing))
            .map(|d| Box::new(d) as Box<dyn Decoder>)
            .ok_or_else(|| none("no decoder")),
        n => match payload_kind(n) {
            PayloadKind::TelephoneEvent => {
                Err(none("telephone-event: marked as digits, not decoded"))
            }
            PayloadKind::ComfortNoise => Err(none(
                "comfort noise (RFC 3389): synthesised by ComfortNoise, not decoded as a stream",
            )),
            PayloadKind::Redundancy => Err(none("redundancy or retransmission payload")),
            PayloadKind::NotAudio => Err(none("video codec")),
            PayloadKind::Audio => libav_decoder(spec, n).unwrap_or_else(|| Err(none("no decoder"))),
        },
    }
}

/// The libavcodec decoder for `name`, `None` if libavcodec does not serve it.
#[cfg(feature = "libavcodec")]
fn libav_decoder(spec: &CodecSpec, name: &str) -> Option<Result<Box<dyn Decoder>, NoDecoder>> {
    let (_, _, av_name) = LIBAV_CODECS.iter().find(|(n, _, _)| *n == name)?;
    Some(libav::decoder_for(spec, name, av_name).map(|d| Box::new(d) as Box<dyn Decoder>))
}

#[cfg(not(feature = "libavcodec"))]
fn libav_decoder(spec: &CodecSpec, name: &str) -> Option<Result<Box<dyn Decoder>, NoDecoder>> {
    LIBAV_CODECS.iter().find(|(n, _, _)| *n == name)?;
    Some(Err(NoDecoder {
        codec: spec.name.clone(),
        reason: "no decoder (built without libavcodec)".into(),
    }))
}

/// The encoding names this build decodes (as usually written in SDP), for `earshot --version` and the docs.
/// libavcodec codecs are listed only when the linked libavcodec has their decoder.
pub fn supported_codecs() -> Vec<&'static str> {
    let mut names = vec!["PCMU", "PCMA", "L16", "L8", "G722", "G729", "opus"];
    names.extend(G726_CODECS.iter().map(|(_, display, ..)| *display));
    names.extend(libav_supported());
    names
}

#[cfg(feature = "libavcodec")]
fn libav_supported() -> impl Iterator<Item = &'static str> {
    LIBAV_CODECS
        .iter()
        .filter(|(_, _, av_name)| libav::available(av_name))
        .map(|(_, display, _)| *display)
}

#[cfg(not(feature = "libavcodec"))]
fn libav_supported() -> impl Iterator<Item = &'static str> {
    std::iter::empty()
}
