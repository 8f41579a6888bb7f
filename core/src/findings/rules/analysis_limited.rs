//! `analysis-limited`: a memory cap (`pipeline::Limits`) turned data away, so the analysis is incomplete — the
//! capture may be a flood built to exhaust an analyzer, and counts, calls or streams beyond the caps are missing
//! from every view and export. Reads the caps the stages and the pipeline report about themselves
//! (`Analysis::limits_hit`, one `CapHit` per cap with its count) and the dropped-diagnostics counter.

use std::collections::BTreeSet;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct AnalysisLimited;

/// Caps listed in the details at most (there are about twenty).
const MAX_LISTED_CAPS: usize = 32;

impl Rule for AnalysisLimited {
    fn id(&self) -> &'static str {
        "analysis-limited"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let caps: BTreeSet<&str> = a.limits_hit.iter().map(|c| c.text.as_str()).collect();
        let mut listed: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
        let diag_cap_listed = a.limits_hit.iter().any(|c| c.cap == "diagnostics cap");
        if a.diagnostics_dropped > 0 && !diag_cap_listed {
            listed.push(format!(
                "diagnostics cap: {} diagnostics counted but not stored",
                a.diagnostics_dropped
            ));
        }
        if listed.is_empty() {
            return;
        }
        let shown: Vec<&str> = listed
            .iter()
            .take(MAX_LISTED_CAPS)
            .map(String::as_str)
            .collect();
        let details = format!("{} cap(s) reached: {}.", listed.len(), shown.join("; "));
        out.push(Evidence::default().finish(
            FindingText {
                rule_id: self.id(),
                title: "Analysis limited by memory caps".into(),
                details,
                risk: "Earshot bounds every table an attacker can grow (fragments, TCP flows, Call-IDs, streams, \
                       diagnostics). This capture reached some of them: what lies beyond the caps is counted but \
                       not analysed, so calls, streams or findings may be missing. A capture that fills these \
                       tables is often a flood or fuzzing run meant to exhaust analyzers and monitoring.",
                remediation: "Check the counts named here; split the capture (editcap -c) or filter it to the hosts \
                              of interest and analyse the parts, and look for the source of the flood.",
                practice: "Keep analysis tools resource-bounded and treat their gaps as evidence.",
            },
            Severity::Low,
            Confidence::High,
        ));
    }
}
