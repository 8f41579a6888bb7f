//! `version-disclosure`: User-Agent/Server headers naming products with versions, which tell an attacker which
//! vulnerabilities to try.

use std::collections::BTreeMap;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct VersionDisclosure;

/// A version number: a digit followed by `.` and another digit somewhere in the string, or a number after a word
/// that names a version or build (`release 1009r stamp 38964`, `build 4711`, `rev 12`).
fn has_version(s: &str) -> bool {
    let b = s.as_bytes();
    if b.windows(3)
        .any(|w| matches!(w, [a, b'.', c] if a.is_ascii_digit() && c.is_ascii_digit()))
    {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | '-' | '_' | ':' | '(' | ')' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| {
        matches!(
            w.first().copied(),
            Some(
                "release"
                    | "build"
                    | "version"
                    | "ver"
                    | "rev"
                    | "revision"
                    | "stamp"
                    | "firmware"
                    | "fw"
            )
        ) && w
            .get(1)
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
    })
}

impl Rule for VersionDisclosure {
    fn id(&self) -> &'static str {
        "version-disclosure"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
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
        // X-Lite in metasploit-sip-invite-spoof.pcap.
        assert!(super::has_version("X-Lite release 1009r stamp 38964"));
        assert!(super::has_version("Acme SBC build 4711"));
        assert!(!super::has_version("Acme SBC release notes"));
        assert!(!super::has_version("Aastra 400"));
    }
}
