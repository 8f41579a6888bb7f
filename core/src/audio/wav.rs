//! WAV (RIFF, PCM 16-bit little-endian) writing: a 44-byte header and interleaved samples. Hand-written because
//! it is a dozen lines; `symphonia` reads the files back in the tests.

use std::io::{self, Write};
use std::path::Path;

use super::{AudioError, CallAudio};

/// Writes `channels` (each one channel's samples; shorter ones padded with silence) interleaved at `rate_hz`.
pub fn write_wav<W: Write>(mut w: W, rate_hz: u32, channels: &[&[i16]]) -> io::Result<()> {
    let nch = u16::try_from(channels.len().max(1))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many channels"))?;
    let frames = channels.iter().map(|c| c.len()).max().unwrap_or(0);
    let data_bytes = frames
        .checked_mul(usize::from(nch) * 2)
        .and_then(|b| u32::try_from(b).ok())
        .filter(|b| *b <= u32::MAX - 36)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "audio too long for WAV (4 GiB)",
            )
        })?;
    let block_align = nch * 2;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&nch.to_le_bytes());
    h.extend_from_slice(&rate_hz.to_le_bytes());
    h.extend_from_slice(&(rate_hz.saturating_mul(u32::from(block_align))).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_bytes.to_le_bytes());
    w.write_all(&h)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    for i in 0..frames {
        for c in channels {
            buf.extend_from_slice(&c.get(i).copied().unwrap_or(0).to_le_bytes());
        }
        if buf.len() >= 60 * 1024 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.flush()
}

/// Stereo by pan: tracks panned left go left, right go right, centred ones to both; summed with saturation.
pub fn stereo(audio: &CallAudio) -> (Vec<i16>, Vec<i16>) {
    let n = audio.len_samples();
    let mut l = vec![0i32; n];
    let mut r = vec![0i32; n];
    for t in &audio.tracks {
        let (gl, gr) = if t.pan < -0.33 {
            (1, 0)
        } else if t.pan > 0.33 {
            (0, 1)
        } else {
            (1, 1)
        };
        for (i, &x) in t.samples.iter().enumerate() {
            if let (Some(a), Some(b)) = (l.get_mut(i), r.get_mut(i)) {
                *a += i32::from(x) * gl;
                *b += i32::from(x) * gr;
            }
        }
    }
    let sat = |v: Vec<i32>| -> Vec<i16> {
        v.into_iter()
            .map(|x| x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
            .collect()
    };
    (sat(l), sat(r))
}

/// Writes a file, reporting the path on failure.
pub fn write_file(path: &Path, rate_hz: u32, channels: &[&[i16]]) -> Result<(), AudioError> {
    let f = std::fs::File::create(path).map_err(|source| AudioError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    write_wav(io::BufWriter::new(f), rate_hz, channels).map_err(|source| AudioError::Write {
        path: path.to_path_buf(),
        source,
    })
}
