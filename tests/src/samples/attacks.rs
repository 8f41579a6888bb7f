//! Attack scenarios for trainers (signalling-centric). Filled in by the samples work.

use super::Sample;

pub static SAMPLES: &[Sample] = &[];
