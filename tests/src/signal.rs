//! Signal checks for decoded audio in the tests: RMS, Goertzel power, the strongest frequency in a range, the
//! correlation with the audio that was sent; and the sine the capture generators synthesise their tones with.

/// The sine every generator uses for its tones: musl's algorithm in plain IEEE-754 operations (`libm`), which Rust
/// never contracts into FMA and which has no run-time CPU dispatch, so a generated sample has the same bits on every
/// CPU. `f64::sin` calls the system libm, and glibc picks FMA/AVX2 variants of `sin` by CPU.
pub fn sin(x: f64) -> f64 {
    libm::sin(x)
}

/// Root mean square of the samples.
pub fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Goertzel power of `freq` in `x` at `rate` (normalised by length).
pub fn goertzel(x: &[i16], rate: u32, freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / f64::from(rate);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.len().max(1) as f64).powi(2)
}

/// The strongest frequency of `freqs` (Hz) in `x`.
pub fn strongest(x: &[i16], rate: u32, freqs: impl Iterator<Item = u32>) -> u32 {
    freqs
        .map(|f| (f, goertzel(x, rate, f64::from(f))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(f, _)| f)
}

/// Pearson correlation of `a` and `b` at lag 0, over the shorter length.
pub fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |x: &[i16]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa.sqrt() * sbb.sqrt())
}
