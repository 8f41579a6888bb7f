//! `extension-enumeration`: (being written).

use crate::findings::{Rule, Settings};
use crate::model::{Analysis, Finding};

pub struct ExtensionEnumeration;

impl Rule for ExtensionEnumeration {
    fn id(&self) -> &'static str {
        "extension-enumeration"
    }

    fn evaluate(&self, _a: &Analysis, _s: &Settings, _out: &mut Vec<Finding>) {}
}
