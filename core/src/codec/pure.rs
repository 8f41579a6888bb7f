//! Pure-Rust decoders from other crates: G.722 (`audio-codec`), G.729 with Annexes A and B (`g729-sys`, the
//! bcg729 port that `audio-codec` wraps; used directly for its SID and frame-erasure inputs) and Opus (`opus-rs`,
//! the decoder `audio-codec` wraps; used directly for packets longer than 20 ms and for its loss concealment).

use super::{DecodeError, Decoder, decode_error};

/// G.722 at 64 kbit/s (the only RTP mode): one byte → two 16 kHz samples, although the RTP clock says 8000
/// (RFC 3551 §4.5.2). No concealment in the codec: silence.
pub(super) struct G722 {
    dec: audio_codec::g722::G722Decoder,
}

impl G722 {
    pub(super) fn new() -> G722 {
        G722 {
            dec: audio_codec::g722::G722Decoder::new(),
        }
    }
}

impl Decoder for G722 {
    fn sample_rate_hz(&self) -> u32 {
        16_000
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(decode_error("G722", payload, "empty payload"));
        }
        let start = out.len();
        out.resize(start.saturating_add(payload.len().saturating_mul(2)), 0);
        let Some(tail) = out.get_mut(start..) else {
            return Err(decode_error("G722", payload, "output buffer"));
        };
        match self.dec.decode_frame_into(payload, tail) {
            Ok(n) => {
                out.truncate(start.saturating_add(n));
                Ok(n)
            }
            Err(e) => {
                out.truncate(start);
                Err(decode_error("G722", payload, &e.to_string()))
            }
        }
    }
}

/// Bytes of one G.729 (Annex A compatible) speech frame, and its samples (10 ms at 8 kHz).
const G729_FRAME_BYTES: usize = 10;
const G729_FRAME_SAMPLES: usize = 80;
/// An Annex B SID frame (RFC 3551 §4.5.6: at most one, at the end of the payload).
const G729_SID_BYTES: usize = 2;

/// G.729 / G.729A (bit-compatible) with Annex B: a payload is N×10-byte speech frames, optionally followed by one
/// 2-byte SID frame, which the decoder turns into 10 ms of comfort noise (Annex B CNG). A lost packet is concealed
/// by the codec's frame-erasure processing (or continued comfort noise after a SID).
pub(super) struct G729 {
    dec: g729_sys::Decoder,
}

impl G729 {
    pub(super) fn new() -> G729 {
        G729 {
            dec: g729_sys::Decoder::new(),
        }
    }
}

impl Decoder for G729 {
    fn sample_rate_hz(&self) -> u32 {
        8000
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(decode_error("G729", payload, "empty payload"));
        }
        let sid_len = match payload.len() % G729_FRAME_BYTES {
            0 => 0,
            G729_SID_BYTES => G729_SID_BYTES,
            _ => {
                return Err(decode_error(
                    "G729",
                    payload,
                    "not N×10-byte frames plus an optional 2-byte SID",
                ));
            }
        };
        let (speech, sid) = payload.split_at(payload.len() - sid_len);
        let before = out.len();
        for frame in speech.chunks_exact(G729_FRAME_BYTES) {
            out.extend_from_slice(&self.dec.decode(frame, false, false, false));
        }
        if !sid.is_empty() {
            out.extend_from_slice(&self.dec.decode(sid, false, true, false));
        }
        Ok(out.len() - before)
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let target = out.len().saturating_add(samples);
        while out.len() < target {
            // Erased frame: bcg729 repeats and attenuates the last speech parameters, or continues comfort noise
            // when the previous frame was a SID (Annex B.27).
            let frame = self.dec.decode(&[], true, false, false);
            let take = (target - out.len()).min(G729_FRAME_SAMPLES);
            out.extend_from_slice(frame.get(..take).unwrap_or(&frame));
        }
    }
}

/// Opus decodes at 48 kHz (RFC 7587 §4: the RTP clock is always 48000).
const OPUS_RATE_HZ: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz (RFC 6716 §3.2.5).
const OPUS_MAX_SAMPLES: usize = 5760;
/// Concealment is asked for in 20 ms pieces; opus-rs conceals in multiples of 2.5 ms (120 samples).
const OPUS_CONCEAL_CHUNK: usize = 960;
const OPUS_CONCEAL_QUANTUM: usize = 120;

/// Opus, decoded to 48 kHz mono (a stereo packet is downmixed by the decoder). Packets of up to 120 ms. A lost
/// packet is concealed by the decoder's PLC; a 1-byte packet (ToC only, DTX) is concealed for the duration its ToC
/// gives.
pub(super) struct Opus {
    dec: Box<opus_rs::OpusDecoder>,
    pcm: Vec<f32>,
}

impl Opus {
    pub(super) fn new() -> Result<Opus, String> {
        let dec = opus_rs::OpusDecoder::new(OPUS_RATE_HZ as i32, 1)?;
        Ok(Opus {
            dec: Box::new(dec),
            pcm: vec![0.0; OPUS_MAX_SAMPLES],
        })
    }

    fn append(&self, n: usize, out: &mut Vec<i16>) {
        let pcm = self.pcm.get(..n).unwrap_or(&self.pcm);
        out.extend(pcm.iter().map(|&s| f32_to_i16(s)));
    }
}

/// A float sample in [-1, 1) → 16-bit, saturating.
pub(super) fn f32_to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

impl Decoder for Opus {
    fn sample_rate_hz(&self) -> u32 {
        OPUS_RATE_HZ
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(decode_error("opus", payload, "empty payload"));
        }
        match self.dec.decode(payload, OPUS_MAX_SAMPLES, &mut self.pcm) {
            Ok(n) => {
                let n = n.min(OPUS_MAX_SAMPLES);
                self.append(n, out);
                Ok(n)
            }
            Err(e) => Err(decode_error("opus", payload, e)),
        }
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let target = out.len().saturating_add(samples);
        while out.len() < target {
            let want = (target - out.len()).min(OPUS_CONCEAL_CHUNK);
            let asked = want.div_ceil(OPUS_CONCEAL_QUANTUM) * OPUS_CONCEAL_QUANTUM;
            match self.dec.decode(&[], asked, &mut self.pcm) {
                Ok(n) if n > 0 => self.append(n.min(want), out),
                _ => out.resize(target, 0),
            }
        }
    }
}
