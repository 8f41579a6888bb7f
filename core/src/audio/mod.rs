//! Call audio: pulls the selected streams' RTP packets out of the capture again (decoding on demand, so an
//! analysis never holds audio), unprotects SRTP when keys are known, decodes each stream onto a timeline in one of
//! Wireshark's three timing modes, mixes a call's streams by capture time, and writes WAV.
//! May import: `model`, `pipeline` (to re-read the capture), `media::rtp`, `media::srtp`, `codec`.

/// One mono track of decoded audio at [`CallAudio::rate_hz`], aligned so sample 0 is at
/// [`CallAudio::start_ts_nanos`].
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// What the user sees, e.g. `caller 10.0.0.1:4000 → 10.0.0.2:5000 PCMA SSRC 0x1234ABCD`.
    pub label: String,
    /// Index in `Analysis::streams`.
    pub stream_index: Option<usize>,
    pub samples: Vec<i16>,
    /// Default pan: -1.0 left (caller), 1.0 right (callee), 0.0 centre.
    pub pan: f32,
}

/// Decoded audio of a call (or of chosen streams), every track at one sample rate on one timeline.
#[derive(Debug, Clone, Default)]
pub struct CallAudio {
    pub rate_hz: u32,
    /// Capture time of sample 0 (UTC nanoseconds).
    pub start_ts_nanos: i64,
    pub tracks: Vec<Track>,
}

impl CallAudio {
    /// Length in samples of the longest track.
    pub fn len_samples(&self) -> usize {
        self.tracks.iter().map(|t| t.samples.len()).max().unwrap_or(0)
    }
}
