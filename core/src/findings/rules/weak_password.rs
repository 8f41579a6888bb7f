//! `weak-password`: (being written).

use crate::findings::{Rule, Settings};
use crate::model::{Analysis, Finding};

pub struct WeakPassword;

impl Rule for WeakPassword {
    fn id(&self) -> &'static str {
        "weak-password"
    }

    fn evaluate(&self, _a: &Analysis, _s: &Settings, _out: &mut Vec<Finding>) {}
}
