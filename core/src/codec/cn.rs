//! RFC 3389 comfort noise: a payload is one level byte (bit 7 reserved, bits 0–6 the noise level in −dBov) and
//! optionally reflection coefficients of an all-pole model of the noise, one byte each, `k = (b − 127) / 128`
//! (RFC 3389 §3.2). Synthesis: white noise from a fixed-seed xorshift generator, shaped by the all-pole filter
//! `1 / A(z)`, `A(z) = 1 + Σ aᵢ z⁻ⁱ` obtained from the reflection coefficients by the step-up recursion (the sign
//! convention of G.711 Appendix II, WebRTC and libavcodec: a negative `k₁` is a low-pass spectrum), and scaled so
//! that the output RMS is the level.
//!
//! Level convention: 0 dBov is the overload point of 16-bit PCM, taken as an RMS of 32767 (a full-scale square
//! wave; a full-scale sine would be −3 dBov), so level `L` gives an RMS of `32767 · 10^(−L/20)`: 40 → 327.7.

use super::{DecodeError, decode_error};

/// Most reflection coefficients used (RFC 3389 leaves the order open; G.711 Appendix II uses 10, WebRTC 12).
/// Further bytes are ignored.
pub const MAX_CN_ORDER: usize = 32;
/// Reflection coefficients are kept inside the unit circle so the filter stays stable (a byte of 255 means
/// `k = 1.0`, a filter on the edge of stability).
const MAX_REFLECTION: f64 = 0.995;
/// Seed of the noise generator (any non-zero value; fixed so the output is reproducible).
const NOISE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// RFC 3389 comfort-noise generator: each CN payload (noise level in −dBov, optional reflection coefficients)
/// updates it; `fill` synthesises that noise until the next packet. Deterministic: the same payloads and fills give
/// the same samples. Before the first valid payload it produces silence.
#[derive(Debug, Clone)]
pub struct ComfortNoise {
    /// Noise level in −dBov (0..=127); `None` until a payload was seen.
    level_dbov: Option<u8>,
    /// Reflection coefficients as sent (after clamping), for inspection.
    reflection: Vec<f64>,
    /// Direct-form coefficients a₁..a_M of A(z).
    lpc: Vec<f64>,
    /// Excitation gain: target RMS × √(Π(1 − kᵢ²)) × √3 (uniform noise in [−1, 1) has RMS 1/√3).
    gain: f64,
    /// Past outputs y[n−1], y[n−2], ... (filter memory), newest first.
    history: Vec<f64>,
    rng: u64,
}

impl Default for ComfortNoise {
    fn default() -> Self {
        ComfortNoise {
            level_dbov: None,
            reflection: Vec::new(),
            lpc: Vec::new(),
            gain: 0.0,
            history: Vec::new(),
            rng: NOISE_SEED,
        }
    }
}

impl ComfortNoise {
    /// Takes one CN payload; a malformed one (empty) is ignored and reported.
    pub fn update(&mut self, payload: &[u8]) -> Result<(), DecodeError> {
        let Some((&level, coefficients)) = payload.split_first() else {
            return Err(decode_error("CN", payload, "empty payload"));
        };
        let level = level & 0x7F;
        self.level_dbov = Some(level);
        self.reflection = coefficients
            .iter()
            .take(MAX_CN_ORDER)
            .map(|&b| ((f64::from(b) - 127.0) / 128.0).clamp(-MAX_REFLECTION, MAX_REFLECTION))
            .collect();
        self.lpc = step_up(&self.reflection);
        let prediction_gain: f64 = self.reflection.iter().map(|k| 1.0 - k * k).product();
        self.gain = Self::rms_for_level(level) * prediction_gain.sqrt() * 3f64.sqrt();
        // Keep the filter memory across updates (no click), sized for the new order.
        self.history.resize(self.lpc.len(), 0.0);
        Ok(())
    }

    /// The noise level of the last payload, in −dBov (`None` before the first).
    pub fn level_dbov(&self) -> Option<u8> {
        self.level_dbov
    }

    /// The reflection coefficients of the last payload (empty: white noise).
    pub fn reflection_coefficients(&self) -> &[f64] {
        &self.reflection
    }

    /// The RMS (16-bit sample units) that a level in −dBov stands for: `32767 · 10^(−level/20)`.
    pub fn rms_for_level(level_dbov: u8) -> f64 {
        32767.0 * 10f64.powf(-f64::from(level_dbov) / 20.0)
    }

    /// Appends `samples` samples of noise at the current level and spectrum. The spectrum is relative to the
    /// sample rate (the coefficients describe the noise at the stream's rate), so `_rate_hz` does not change the
    /// synthesis; it is part of the interface for the timeline.
    pub fn fill(&mut self, samples: usize, _rate_hz: u32, out: &mut Vec<i16>) {
        if self.level_dbov.is_none() {
            out.resize(out.len().saturating_add(samples), 0);
            return;
        }
        out.reserve(samples);
        for _ in 0..samples {
            let e = self.gain * self.uniform();
            let feedback: f64 = self.lpc.iter().zip(&self.history).map(|(a, y)| a * y).sum();
            let mut y = e - feedback;
            if !y.is_finite() {
                // Cannot happen with |k| < 1; never let a bad state stick.
                self.history.iter_mut().for_each(|h| *h = 0.0);
                y = e;
            }
            if !self.history.is_empty() {
                self.history.rotate_right(1);
                if let Some(first) = self.history.first_mut() {
                    *first = y;
                }
            }
            out.push(y.round().clamp(-32768.0, 32767.0) as i16);
        }
    }

    /// Next value of the xorshift64 generator, uniform in [−1, 1).
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        // Top 53 bits → [0, 1), then [−1, 1).
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Reflection coefficients → direct-form a₁..a_M of A(z) = 1 + Σ aᵢ z⁻ⁱ (step-up / Levinson recursion:
/// aᵢ⁽ᵐ⁾ = aᵢ⁽ᵐ⁻¹⁾ + kₘ a₍ₘ₋ᵢ₎⁽ᵐ⁻¹⁾, aₘ⁽ᵐ⁾ = kₘ).
fn step_up(reflection: &[f64]) -> Vec<f64> {
    let mut a: Vec<f64> = Vec::with_capacity(reflection.len());
    for &k in reflection {
        let previous = a.clone();
        for (i, ai) in a.iter_mut().enumerate() {
            let mirror = previous
                .len()
                .checked_sub(i + 1)
                .and_then(|j| previous.get(j));
            *ai += k * mirror.copied().unwrap_or(0.0);
        }
        a.push(k);
    }
    a
}
