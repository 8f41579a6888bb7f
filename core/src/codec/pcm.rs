//! Table and linear codecs written here: G.711 µ-law and A-law (ITU-T G.711, RFC 3551 §4.5.14), L16 (RFC 3551
//! §4.5.11: big-endian signed 16-bit, interleaved channels) and L8 (RFC 3551 §4.5.10: unsigned 8-bit, offset 128).

use super::{DecodeError, Decoder, decode_error};

/// µ-law byte → linear sample (G.711; the result spans ±32124).
const fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let t = (((u & 0x0F) as i16) << 3) + 0x84;
    let t = t << ((u & 0x70) >> 4);
    if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }
}

/// A-law byte → linear sample (G.711; the result spans ±32256).
const fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0F) as i16) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    if a & 0x80 != 0 { t } else { -t }
}

/// The 256 decoded values of each law, built at compile time (indices run over 0..256 of a 256-entry array in a
/// const context: an out-of-range index would fail the build, never a decode).
#[allow(clippy::indexing_slicing)]
const ULAW: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_to_linear(i as u8);
        i += 1;
    }
    t
};

#[allow(clippy::indexing_slicing)]
const ALAW: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_to_linear(i as u8);
        i += 1;
    }
    t
};

/// G.711 µ-law (`PCMU`) or A-law (`PCMA`): one byte per sample, no state; concealment is silence.
pub(super) struct G711 {
    name: &'static str,
    table: &'static [i16; 256],
    rate_hz: u32,
}

impl G711 {
    pub(super) fn ulaw(rate_hz: u32) -> G711 {
        G711 {
            name: "PCMU",
            table: &ULAW,
            rate_hz,
        }
    }

    pub(super) fn alaw(rate_hz: u32) -> G711 {
        G711 {
            name: "PCMA",
            table: &ALAW,
            rate_hz,
        }
    }
}

impl Decoder for G711 {
    fn sample_rate_hz(&self) -> u32 {
        self.rate_hz
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(decode_error(self.name, payload, "empty payload"));
        }
        let table = self.table;
        // `get` on a u8 index into 256 entries never misses; the optimiser drops the check.
        out.extend(
            payload
                .iter()
                .map(|&b| table.get(usize::from(b)).copied().unwrap_or(0)),
        );
        Ok(payload.len())
    }
}

/// L16 (big-endian signed 16-bit) or L8 (unsigned 8-bit, offset 128), `channels` interleaved, downmixed to mono
/// by averaging. Concealment is silence.
pub(super) struct Linear {
    bytes_per_sample: usize,
    channels: usize,
    rate_hz: u32,
}

impl Linear {
    pub(super) fn l16(rate_hz: u32, channels: u8) -> Linear {
        Linear {
            bytes_per_sample: 2,
            channels: usize::from(channels.max(1)),
            rate_hz,
        }
    }

    pub(super) fn l8(rate_hz: u32, channels: u8) -> Linear {
        Linear {
            bytes_per_sample: 1,
            channels: usize::from(channels.max(1)),
            rate_hz,
        }
    }

    fn name(&self) -> &'static str {
        if self.bytes_per_sample == 2 {
            "L16"
        } else {
            "L8"
        }
    }

    fn sample(&self, bytes: &[u8]) -> i32 {
        match *bytes {
            [hi, lo] => i32::from(i16::from_be_bytes([hi, lo])),
            [b] => (i32::from(b) - 128) << 8,
            _ => 0,
        }
    }
}

impl Decoder for Linear {
    fn sample_rate_hz(&self) -> u32 {
        self.rate_hz
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        let frame_bytes = self.bytes_per_sample.saturating_mul(self.channels);
        if payload.is_empty() {
            return Err(decode_error(self.name(), payload, "empty payload"));
        }
        if !payload.len().is_multiple_of(frame_bytes) {
            return Err(decode_error(
                self.name(),
                payload,
                &format!("not a whole number of {frame_bytes}-byte sample frames"),
            ));
        }
        let channels = self.channels as i32;
        let before = out.len();
        out.extend(payload.chunks_exact(frame_bytes).map(|frame| {
            let sum: i32 = frame
                .chunks_exact(self.bytes_per_sample)
                .map(|s| self.sample(s))
                .sum();
            (sum / channels) as i16
        }));
        Ok(out.len() - before)
    }
}
