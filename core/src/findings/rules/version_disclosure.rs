//! `version-disclosure`: User-Agent/Server headers naming products with versions, which tell an attacker which
//! vulnerabilities to try.

use std::collections::BTreeMap;

use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct VersionDisclosure;

/// A version number: a digit followed by `.` and another digit somewhere in the string.
fn has_version(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| matches!(w, [a, b'.', c] if a.is_ascii_digit() && c.is_ascii_digit()))
}

impl Rule for VersionDisclosure {
    fn id(&self) -> &'static str {
        "version-disclosure"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut products: BTreeMap<String, u64> = BTreeMap::new();
        for m in a.messages.iter().filter(|m| !m.retransmission) {
            for h in [&m.message.user_agent, &m.message.server]
                .into_iter()
                .flatten()
            {
                if !has_version(h) {
                    continue;
                }
                ev.frame(m.frame, m.ts_nanos).source(m.src.ip());
                if products.len() < 200 {
                    *products.entry(h.clone()).or_default() += 1;
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let details = format!(
            "{} products announce their version: {}.",
            products.len(),
            list(products.keys().map(|p| format!("`{p}`")), 8)
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Devices disclose their software versions".into(),
                details,
                risk: "Exact product versions let an attacker pick known exploits for those phones, PBXs and \
                       gateways without probing.",
                remediation: "Strip or generalise User-Agent and Server headers at the edge (SBC header \
                              manipulation) and keep the devices patched.",
                practice: "Minimise information disclosure in signalling.",
            },
            Severity::Low,
            Confidence::High,
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_recognised() {
        assert!(super::has_version("FreeSWITCH-mod_sofia/1.6.12"));
        assert!(super::has_version("Cisco v11.0.0"));
        assert!(!super::has_version("friendly-scanner"));
        assert!(!super::has_version("X."));
    }
}
