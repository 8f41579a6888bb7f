//! The project's own sample captures, each written deterministically by a function here and committed under
//! `sample-captures/<name>/<name>.pcap` beside a README (how it was made, what happens, what Earshot shows, which
//! findings fire). `samplegen sample NAME -o FILE` writes one; `samplegen samples DIR` writes them all;
//! `tests/tests/e2e/samples.rs` regenerates every one and compares bytes.

pub mod attacks;
pub mod media;

use std::io::{self, Write};

/// One sample capture.
pub struct Sample {
    /// Directory and file stem under `sample-captures/`.
    pub name: &'static str,
    /// One line for `samplegen --list` and the README index.
    pub summary: &'static str,
    /// Rule ids the sample must raise (checked by the tests).
    pub findings: &'static [&'static str],
    pub write: fn(&mut dyn Write) -> io::Result<()>,
    /// How a regeneration must match the committed file.
    pub reproduce: Reproduce,
}

/// How a regenerated sample must match its committed file, whatever CPU regenerates it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reproduce {
    /// Byte for byte: the generator is integer-exact (tones from [`crate::signal::sin`], integer codecs: G.711,
    /// G.722, the SRTP protector).
    Bytes,
    /// The same frames, timestamps, addresses, ports and RTP headers; only the RTP payloads of `float_pt` may
    /// differ, because a floating-point encoder made them (opus-rs picks AVX/FMA code paths by CPU at run time).
    /// What those payloads carry is checked by decoding them (`tests/tests/e2e/media_samples.rs`).
    Layout { float_pt: u8 },
}

/// Every generated sample (the two older ones, `clean-call` and `srtp-sdes-call`, come from `gen::write_bench`).
pub fn all() -> Vec<&'static Sample> {
    attacks::SAMPLES
        .iter()
        .chain(media::SAMPLES.iter())
        .collect()
}

/// The sample called `name`.
pub fn by_name(name: &str) -> Option<&'static Sample> {
    all().into_iter().find(|s| s.name == name)
}
