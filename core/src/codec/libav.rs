//! Decoders from libavcodec (FFmpeg, through `ffmpeg-next`): GSM 06.10, iLBC, Speex, G.723.1, AMR and AMR-WB.
//! Payloads are split into frames here (GSM 33 bytes, iLBC 38/50 bytes, G.723.1 by its frame headers, AMR by its
//! table of contents, Speex when a payload holds several frames), so a bad length is a [`DecodeError`], never a
//! guess by libavcodec; each frame is sent as one packet. The decoded frames (16-bit or float, packed or planar) are
//! converted to 16-bit mono. libavcodec's log is silenced: it never writes to stderr. None of these decoders
//! exposes loss concealment through libavcodec: a lost packet is silence.
//!
//! libavcodec's iLBC decoder starts from a wrong state (see [`ILBC_PRIME_20MS`]): each iLBC decoder is primed with
//! one frame of silence before the stream's first frame. (G.726 is decoded in `g726`, not here: libavcodec's is
//! wrong at 40 kbit/s.)

use std::sync::Once;

use ff::format::Sample;
use ff::format::sample::Type as SampleType;
use ffmpeg_next as ff;

use super::amr::{self, AmrFrame};
use super::speex;
use super::{CodecSpec, DecodeError, Decoder, NoDecoder, decode_error, fmtp_param};

/// `ffmpeg_next::init` and the log level, once per process.
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Nothing in init can fail for decoding (it registers devices, which we do not use).
        let _ = ff::init();
        ff::util::log::set_level(ff::util::log::Level::Quiet);
    });
}

/// How a payload is cut into the frames sent to libavcodec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Speex: a payload of one frame goes as it is; several frames are split and re-packed (see `speex`).
    Speex,
    /// Fixed-size frames, several per payload allowed (GSM 06.10: 33 bytes).
    Fixed(usize),
    /// iLBC: 38-byte (20 ms) or 50-byte (30 ms) frames; the decoder is reopened when the mode changes.
    Ilbc,
    /// G.723.1: each frame's size is in its first byte's two low bits (24, 20, 4 or 1 bytes).
    G7231,
    /// AMR (`wide`: AMR-WB), RFC 4867 bandwidth-efficient or octet-aligned, converted to storage format.
    Amr { wide: bool, octet_aligned: bool },
}

/// What to open: the libavcodec decoder, its options, the output rate and the framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Setup {
    /// Name shown in errors (the SDP encoding name, e.g. `GSM`, `AAL2-G726-32`).
    pub(super) codec: String,
    /// libavcodec decoder name, e.g. `gsm`, `g726le`.
    pub(super) av_name: &'static str,
    /// AVOptions passed to `avcodec_open2`.
    pub(super) options: Vec<(&'static str, String)>,
    pub(super) rate_hz: u32,
    pub(super) framing: Framing,
    /// Samples per frame (for the silence that stands for an AMR SID or NO_DATA frame), 0 if not needed.
    pub(super) frame_samples: usize,
}

/// GSM 06.10 frame (RFC 3551 §4.5.8: 33 bytes, 160 samples).
const GSM_FRAME_BYTES: usize = 33;
/// iLBC block sizes (RFC 3952 §2: 20 ms → 38 bytes, 30 ms → 50 bytes).
const ILBC_20MS_BYTES: usize = 38;
const ILBC_30MS_BYTES: usize = 50;

/// A 20 ms iLBC frame that decodes to silence and leaves the decoder's LSF memory at (nearly) the mean LSF.
///
/// RFC 3951's decoder, and WebRTC's fixed-point one that libavcodec's is ported from, start with the LSF memory at
/// the mean LSF (`lsfmeanTbl`, WebRTC `InitDecode`); libavcodec leaves it at zero. The first frame's first
/// sub-frames interpolate from that memory (three of four sub-frames in 20 ms mode, the first of six in 30 ms mode):
/// LSFs near zero make an unstable synthesis filter and the frame comes out as a full-scale click (±32767, RMS
/// ≈ 10 000 for a near-silent first frame of speech; in 20 ms mode the second frame too). Decoding this frame first
/// sets the memory: RFC 3951 bit order, LSF indices 30, 95, 40 (the codebook vectors nearest the mean, within 256
/// of 8192 rad⁻¹ per coefficient), start 1, scale index 0 and every start-state sample at level 3 (the smallest,
/// which rounds to zero at that scale), all codebook indices and gains 0, empty-frame flag clear. Its 160 samples
/// are zeros and dropped; the synthesis and output filter memories stay at zero. Measured against libavcodec with
/// WebRTC's initial state written into its context: on the real 30 ms capture the first frame correlates 0.99999
/// (largest difference 5) and every later frame is identical; on 20 ms frames the first frame correlates 0.985 (the
/// mean is approximated over more sub-frames), the second 0.9998, and every later frame is identical.
const ILBC_PRIME_20MS: [u8; ILBC_20MS_BYTES] = [
    0x7a, 0xfa, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
/// The same for 30 ms mode (both LSF sets 30, 95, 40; 240 zero samples).
const ILBC_PRIME_30MS: [u8; ILBC_30MS_BYTES] = [
    0x7a, 0xfa, 0x87, 0xaf, 0xa8, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00,
];

/// A libavcodec decoder for one stream.
pub(super) struct Libav {
    setup: Setup,
    dec: ff::decoder::Opened,
    frame: ff::frame::Audio,
    /// iLBC: the block size the decoder is open for (38 or 50).
    ilbc_block: usize,
}

fn open(av_name: &str, options: &[(&'static str, String)]) -> Result<ff::decoder::Opened, String> {
    init();
    let codec = ff::codec::decoder::find_by_name(av_name)
        .ok_or_else(|| format!("libavcodec has no {av_name} decoder"))?;
    let mut dict = ff::Dictionary::new();
    for (k, v) in options {
        dict.set(k, v);
    }
    ff::codec::Context::new_with_codec(codec)
        .decoder()
        .open_as_with(codec, dict)
        .map_err(|e| format!("libavcodec {av_name} decoder did not open: {e}"))
}

/// Opens libavcodec's iLBC decoder for `block`-byte frames and primes it (see [`ILBC_PRIME_20MS`]).
fn open_ilbc(
    av_name: &str,
    options: &[(&'static str, String)],
    block: usize,
) -> Result<ff::decoder::Opened, String> {
    let mut options = options.to_vec();
    options.push(("block_align", block.to_string()));
    let mut dec = open(av_name, &options)?;
    let prime: &[u8] = if block == ILBC_20MS_BYTES {
        &ILBC_PRIME_20MS
    } else {
        &ILBC_PRIME_30MS
    };
    dec.send_packet(&ff::Packet::copy(prime))
        .map_err(|e| format!("libavcodec {av_name} decoder refused its priming frame: {e}"))?;
    let mut frame = ff::frame::Audio::empty();
    loop {
        match dec.receive_frame(&mut frame) {
            Ok(()) => {}
            Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(dec),
            Err(ff::Error::Eof) => return Ok(dec),
            Err(e) => {
                return Err(format!(
                    "libavcodec {av_name} decoder failed on its priming frame: {e}"
                ));
            }
        }
    }
}

impl Libav {
    /// Opens the decoder for `setup`; for iLBC `ilbc_mode_ms` (20 or 30) picks the first block size.
    pub(super) fn new(setup: Setup, ilbc_mode_ms: u8) -> Result<Libav, NoDecoder> {
        let ilbc_block = if ilbc_mode_ms == 20 {
            ILBC_20MS_BYTES
        } else {
            ILBC_30MS_BYTES
        };
        let dec = if setup.framing == Framing::Ilbc {
            open_ilbc(setup.av_name, &setup.options, ilbc_block)
        } else {
            open(setup.av_name, &setup.options)
        }
        .map_err(|reason| NoDecoder {
            codec: setup.codec.clone(),
            reason,
        })?;
        Ok(Libav {
            setup,
            dec,
            frame: ff::frame::Audio::empty(),
            ilbc_block,
        })
    }

    fn error(&self, payload: &[u8], reason: &str) -> DecodeError {
        decode_error(&self.setup.codec, payload, reason)
    }

    /// Sends one frame and appends everything libavcodec returns for it.
    fn decode_packet(&mut self, bytes: &[u8], out: &mut Vec<i16>) -> Result<(), String> {
        self.dec
            .send_packet(&ff::Packet::copy(bytes))
            .map_err(|e| e.to_string())?;
        loop {
            match self.dec.receive_frame(&mut self.frame) {
                Ok(()) => append_mono(&self.frame, out)?,
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// iLBC: keeps the current block size when the payload is a multiple of it, else switches to the other mode
    /// (senders do not always follow `mode=` in the SDP) and reopens (and primes) the decoder.
    fn ilbc_block_for(&mut self, payload: &[u8]) -> Result<usize, DecodeError> {
        if payload.len().is_multiple_of(self.ilbc_block) {
            return Ok(self.ilbc_block);
        }
        let other = if self.ilbc_block == ILBC_20MS_BYTES {
            ILBC_30MS_BYTES
        } else {
            ILBC_20MS_BYTES
        };
        if !payload.len().is_multiple_of(other) {
            return Err(self.error(payload, "not a whole number of 38- or 50-byte iLBC frames"));
        }
        self.dec = open_ilbc(self.setup.av_name, &self.setup.options, other)
            .map_err(|e| self.error(payload, &e))?;
        self.ilbc_block = other;
        Ok(other)
    }

    /// Cuts the payload into the frames to send (`None`: a frame with no speech, decoded as silence).
    fn split(&mut self, payload: &[u8]) -> Result<Vec<Option<Vec<u8>>>, DecodeError> {
        match self.setup.framing {
            Framing::Speex => match speex::frames(payload) {
                Some(frames) if frames.len() > 1 => Ok(frames.into_iter().map(Some).collect()),
                _ => Ok(vec![Some(payload.to_vec())]),
            },
            Framing::Fixed(size) => fixed_frames(&self.setup.codec, payload, size),
            Framing::Ilbc => {
                let size = self.ilbc_block_for(payload)?;
                fixed_frames(&self.setup.codec, payload, size)
            }
            Framing::G7231 => {
                let mut frames = Vec::new();
                let mut rest = payload;
                while let Some(&first) = rest.first() {
                    let size = match first & 0x03 {
                        0 => 24,
                        1 => 20,
                        2 => 4,
                        _ => 1,
                    };
                    let Some((frame, tail)) = rest.split_at_checked(size) else {
                        return Err(self.error(payload, "G.723.1 frame runs past the payload"));
                    };
                    frames.push(Some(frame.to_vec()));
                    rest = tail;
                }
                Ok(frames)
            }
            Framing::Amr {
                wide,
                octet_aligned,
            } => amr::frames(payload, wide, octet_aligned)
                .map(|frames| {
                    frames
                        .into_iter()
                        .map(|f| match f {
                            AmrFrame::Speech(bytes) => Some(bytes),
                            AmrFrame::NoSpeech => None,
                        })
                        .collect()
                })
                .map_err(|e| self.error(payload, e)),
        }
    }
}

impl Decoder for Libav {
    fn sample_rate_hz(&self) -> u32 {
        self.setup.rate_hz
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(self.error(payload, "empty payload"));
        }
        let frames = self.split(payload)?;
        let before = out.len();
        for frame in frames {
            let result = match frame {
                Some(bytes) => self.decode_packet(&bytes, out),
                None => {
                    out.resize(out.len().saturating_add(self.setup.frame_samples), 0);
                    Ok(())
                }
            };
            if let Err(reason) = result {
                out.truncate(before);
                return Err(self.error(payload, &reason));
            }
        }
        Ok(out.len() - before)
    }
}

/// `payload` as whole `size`-byte frames.
fn fixed_frames(
    codec: &str,
    payload: &[u8],
    size: usize,
) -> Result<Vec<Option<Vec<u8>>>, DecodeError> {
    if size == 0 || !payload.len().is_multiple_of(size) {
        return Err(decode_error(
            codec,
            payload,
            &format!("not a whole number of {size}-byte frames"),
        ));
    }
    Ok(payload
        .chunks_exact(size)
        .map(|f| Some(f.to_vec()))
        .collect())
}

/// Appends one decoded frame as mono 16-bit (channels averaged).
fn append_mono(frame: &ff::frame::Audio, out: &mut Vec<i16>) -> Result<(), String> {
    let n = frame.samples();
    let channels = usize::from(frame.channels()).max(1);
    let format = frame.format();
    let (bytes, planar) = match format {
        Sample::I16(t) => (2, t == SampleType::Planar),
        Sample::F32(t) => (4, t == SampleType::Planar),
        other => return Err(format!("unsupported sample format {other:?}")),
    };
    let value = |b: &[u8]| -> f32 {
        match *b {
            [x, y] => f32::from(i16::from_ne_bytes([x, y])),
            [a, b2, c, d] => f32::from_ne_bytes([a, b2, c, d]) * 32768.0,
            _ => 0.0,
        }
    };
    let planes = frame.planes();
    let (needed_planes, plane_len) = if planar {
        (channels, n.saturating_mul(bytes))
    } else {
        (1, n.saturating_mul(bytes).saturating_mul(channels))
    };
    if planes < needed_planes {
        return Err("decoded frame has fewer planes than channels".into());
    }
    let data: Vec<&[u8]> = (0..needed_planes)
        .map(|p| {
            frame
                .data(p)
                .get(..plane_len)
                .ok_or("decoded frame shorter than its sample count")
        })
        .collect::<Result<_, _>>()?;
    out.reserve(n);
    for i in 0..n {
        let sum: f32 = (0..channels)
            .map(|c| {
                let (plane, offset) = if planar {
                    (c, i * bytes)
                } else {
                    (0, (i * channels + c) * bytes)
                };
                data.get(plane)
                    .and_then(|d| d.get(offset..offset + bytes))
                    .map_or(0.0, value)
            })
            .sum();
        out.push((sum / channels as f32).round().clamp(-32768.0, 32767.0) as i16);
    }
    Ok(())
}

/// Whether the linked libavcodec has the decoder `av_name`.
pub(super) fn available(av_name: &str) -> bool {
    init();
    ff::codec::decoder::find_by_name(av_name).is_some()
}

/// The libavcodec decoder for `spec` (`name`: its lower-case encoding name, `av_name`: the libavcodec decoder).
pub(super) fn decoder_for(
    spec: &CodecSpec,
    name: &str,
    av_name: &'static str,
) -> Result<Libav, NoDecoder> {
    let none = |reason: String| NoDecoder {
        codec: spec.name.clone(),
        reason,
    };
    let mono_8k = || vec![("ar", "8000".to_string()), ("ac", "1".to_string())];
    let setup = |options, rate_hz, framing, frame_samples| Setup {
        codec: spec.name.clone(),
        av_name,
        options,
        rate_hz,
        framing,
        frame_samples,
    };
    let mut ilbc_mode_ms = 30;
    let s = match name {
        "gsm" => setup(Vec::new(), 8000, Framing::Fixed(GSM_FRAME_BYTES), 160),
        "ilbc" => {
            // RFC 3952: `mode=20` or `mode=30`, 30 when absent; the payload length overrides it (see split).
            if fmtp_param(spec.fmtp.as_deref(), "mode") == Some("20") {
                ilbc_mode_ms = 20;
            }
            setup(Vec::new(), 8000, Framing::Ilbc, 0)
        }
        "speex" => {
            let rate = spec.clock_rate_hz;
            if ![8000, 16000, 32000].contains(&rate) {
                return Err(none(format!("no decoder (Speex at a {rate} Hz clock)")));
            }
            let options = vec![("ar", rate.to_string()), ("ac", "1".to_string())];
            setup(options, rate, Framing::Speex, 0)
        }
        "g723" => setup(mono_8k(), 8000, Framing::G7231, 0),
        "amr" | "amr-wb" => {
            let fmtp = spec.fmtp.as_deref();
            let flag = |key| fmtp_param(fmtp, key).is_some_and(|v| v != "0");
            if fmtp_param(fmtp, "interleaving").is_some() || flag("crc") || flag("robust-sorting") {
                return Err(none(
                    "no decoder (AMR interleaving, CRC and robust sorting are not supported)"
                        .into(),
                ));
            }
            if spec.channels > 1 {
                return Err(none(
                    "no decoder (multichannel AMR is not supported)".into(),
                ));
            }
            let wide = name == "amr-wb";
            let framing = Framing::Amr {
                wide,
                octet_aligned: flag("octet-align"),
            };
            if wide {
                setup(Vec::new(), 16000, framing, 320)
            } else {
                setup(Vec::new(), 8000, framing, 160)
            }
        }
        _ => return Err(none("no decoder".into())),
    };
    Libav::new(s, ilbc_mode_ms)
}
