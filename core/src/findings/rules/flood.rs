//! `flood`: (being written).

use crate::findings::{Rule, Settings};
use crate::model::{Analysis, Finding};

pub struct Flood;

impl Rule for Flood {
    fn id(&self) -> &'static str {
        "flood"
    }

    fn evaluate(&self, _a: &Analysis, _s: &Settings, _out: &mut Vec<Finding>) {}
}
