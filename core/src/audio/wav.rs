//! WAV (RIFF, PCM 16-bit little-endian) writing: a 44-byte header and interleaved samples. Hand-written because
//! it is a dozen lines; `symphonia` reads the files back in the tests.

use std::io::{self, Write};
use std::path::Path;

use super::{AudioError, CallAudio};

/// Writes `channels` (each one channel's samples; shorter ones padded with silence) interleaved at `rate_hz`.
pub fn write_wav<W: Write>(w: W, rate_hz: u32, channels: &[&[i16]]) -> io::Result<()> {
    let frames = channels.iter().map(|c| c.len()).max().unwrap_or(0);
    let nch = channels.len().max(1);
    write_blocks(w, rate_hz, nch, frames, |start, out| {
        for (ci, c) in channels.iter().enumerate() {
            let src = c.get(start..).unwrap_or_default();
            for (k, v) in out.iter_mut().skip(ci).step_by(nch).enumerate() {
                *v = src.get(k).copied().unwrap_or(0);
            }
        }
    })
}

/// Writes a call as stereo by pan without building the mixed channels in memory: tracks panned left go left,
/// right go right, centred ones to both; summed with saturation.
pub fn write_stereo<W: Write>(w: W, audio: &CallAudio) -> io::Result<()> {
    let sides: Vec<(bool, bool)> = audio
        .tracks
        .iter()
        .map(|t| (t.pan <= 0.33, t.pan >= -0.33))
        .collect();
    write_blocks(w, audio.rate_hz, 2, audio.len_samples(), |start, out| {
        out.fill(0);
        for (t, &(to_l, to_r)) in audio.tracks.iter().zip(&sides) {
            // The part of this block the track covers.
            let first = t.offset.saturating_sub(start);
            let from = start.saturating_sub(t.offset);
            let src = t.samples.get(from..).unwrap_or_default();
            let frames = out.chunks_exact_mut(2).skip(first);
            for (f, &x) in frames.zip(src) {
                if let [l, r] = f {
                    if to_l {
                        *l = l.saturating_add(x);
                    }
                    if to_r {
                        *r = r.saturating_add(x);
                    }
                }
            }
        }
    })
}

/// Writes one track as mono, its offset as leading silence.
pub fn write_track<W: Write>(w: W, rate_hz: u32, track: &super::Track) -> io::Result<()> {
    let frames = track.offset.saturating_add(track.samples.len());
    write_blocks(w, rate_hz, 1, frames, |start, out| {
        for (k, v) in out.iter_mut().enumerate() {
            *v = track.sample_at(start + k);
        }
    })
}

/// The header, then `frames` frames of `nch` channels produced block by block by `fill(first_frame, interleaved)`.
fn write_blocks<W: Write>(
    mut w: W,
    rate_hz: u32,
    nch: usize,
    frames: usize,
    mut fill: impl FnMut(usize, &mut [i16]),
) -> io::Result<()> {
    let nch16 = u16::try_from(nch)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many channels"))?;
    let data_bytes = frames
        .checked_mul(nch * 2)
        .and_then(|b| u32::try_from(b).ok())
        .filter(|b| *b <= u32::MAX - 36)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "audio too long for WAV (4 GiB)",
            )
        })?;
    let block_align = nch16 * 2;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&nch16.to_le_bytes());
    h.extend_from_slice(&rate_hz.to_le_bytes());
    h.extend_from_slice(&(rate_hz.saturating_mul(u32::from(block_align))).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_bytes.to_le_bytes());
    w.write_all(&h)?;
    const BLOCK: usize = 32 * 1024;
    let mut pcm = vec![0i16; BLOCK * nch];
    let mut bytes = vec![0u8; BLOCK * nch * 2];
    let mut start = 0;
    while start < frames {
        let n = BLOCK.min(frames - start);
        let block = pcm.get_mut(..n * nch).unwrap_or_default();
        fill(start, block);
        let out = bytes.get_mut(..n * nch * 2).unwrap_or_default();
        for (b, v) in out.chunks_exact_mut(2).zip(block.iter()) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        w.write_all(out)?;
        start += n;
    }
    w.flush()
}

/// Creates `path` and lets `write` fill it, reporting the path on failure.
pub fn write_path(
    path: &Path,
    write: impl FnOnce(io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> Result<(), AudioError> {
    let f = std::fs::File::create(path).map_err(|source| AudioError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    write(io::BufWriter::with_capacity(1 << 20, f)).map_err(|source| AudioError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `channels` to a file (see [`write_wav`]).
pub fn write_file(path: &Path, rate_hz: u32, channels: &[&[i16]]) -> Result<(), AudioError> {
    write_path(path, |w| write_wav(w, rate_hz, channels))
}
