//! Media scenarios for trainers (codecs, loss and jitter, encrypted calls). Filled in by the samples work.

use super::Sample;

pub static SAMPLES: &[Sample] = &[];
