//! `challenge-flood`: (being written).

use crate::findings::{Rule, Settings};
use crate::model::{Analysis, Finding};

pub struct ChallengeFlood;

impl Rule for ChallengeFlood {
    fn id(&self) -> &'static str {
        "challenge-flood"
    }

    fn evaluate(&self, _a: &Analysis, _s: &Settings, _out: &mut Vec<Finding>) {}
}
