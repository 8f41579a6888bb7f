//! `brute-force`: (being written).

use crate::findings::{Rule, Settings};
use crate::model::{Analysis, Finding};

pub struct BruteForce;

impl Rule for BruteForce {
    fn id(&self) -> &'static str {
        "brute-force"
    }

    fn evaluate(&self, _a: &Analysis, _s: &Settings, _out: &mut Vec<Finding>) {}
}
