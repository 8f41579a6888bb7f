//! Voice quality: jitter-buffer simulation and the ITU-T G.107 E-model (R-factor → MOS).

use crate::model::StreamQuality;

/// Streaming quality accumulator for one RTP stream: fed every packet in capture order, keeps O(1) state (plus a
/// bounded reorder window), and simulates the three jitter buffers (fixed 50 ms, fixed 200 ms, adaptive up to
/// 500 ms) as it goes.
#[derive(Debug, Default)]
pub struct QualityAccumulator {}

impl QualityAccumulator {
    /// `clock_rate`: RTP clock in Hz (`None` = unknown: no MOS). `codec`: payload name for the Ie/Bpl table.
    pub fn new(_clock_rate: Option<u32>, _codec: &str) -> Self {
        QualityAccumulator {}
    }

    /// One packet: arrival time (ns), extended sequence number and extended RTP timestamp (both unwrapped by the
    /// caller), and whether it is a regular media packet (false for comfort noise and telephone-event packets,
    /// which are counted for loss but not played out).
    pub fn push(&mut self, _arrival_ns: i64, _seq_ext: i64, _ts_ext: i64, _media: bool) {}

    /// The result; `None` when the clock rate is unknown or fewer than 2 media packets were seen.
    pub fn finish(&self) -> Option<StreamQuality> {
        None
    }
}

/// R-factor (G.107) for a codec's equipment impairment `ie` and packet-loss robustness `bpl`, effective packet loss
/// `ppl` (percent), burst ratio `burst_r` (1 = random loss), and one-way mouth-to-ear delay `ta_ms`.
pub fn r_factor(_ie: f64, _bpl: f64, _ppl: f64, _burst_r: f64, _ta_ms: f64) -> f64 {
    0.0
}

/// MOS (1.0-4.5) from an R-factor (G.107 Annex B).
pub fn mos_from_r(_r: f64) -> f64 {
    1.0
}

/// (Ie, Bpl) for a payload name (G.113 Appendix I values; unknown codecs get G.711's with a note).
pub fn codec_impairment(_codec: &str) -> (f64, f64) {
    (0.0, 4.3)
}
