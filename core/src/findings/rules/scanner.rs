//! `scanner`: SIP scanners recognised by their user agent (sipvicious/friendly-scanner, sipcli, sippts, ...), one
//! finding per source address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct Scanner;

impl Rule for Scanner {
    fn id(&self) -> &'static str {
        "scanner"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, out: &mut Vec<Finding>) {
        let needles: Vec<String> = s
            .scanner_user_agents
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        let mut by_source: BTreeMap<IpAddr, (Evidence, BTreeMap<String, u64>, u64)> =
            BTreeMap::new();
        for m in &a.messages {
            let Some(ua) = m.message.user_agent.as_deref() else {
                continue;
            };
            let lower = ua.to_ascii_lowercase();
            if !needles.iter().any(|n| lower.contains(n.as_str())) {
                continue;
            }
            if by_source.len() >= 10_000 && !by_source.contains_key(&m.src.ip()) {
                continue;
            }
            let (ev, agents, targets) = by_source.entry(m.src.ip()).or_default();
            ev.frame(m.frame, m.ts_nanos).source(m.src.ip());
            if let Some(u) = m.message.to.as_ref().and_then(|t| t.user.as_deref()) {
                ev.user(u);
            }
            *targets += 1;
            if agents.len() < 20 {
                *agents.entry(ua.to_string()).or_default() += 1;
            }
        }
        for (ip, (ev, agents, requests)) in by_source {
            let details = format!(
                "{ip} sent {requests} SIP messages as {} probing {} users/extensions ({}).",
                list(agents.keys().map(|a| format!("`{a}`")), 3),
                ev.users().len(),
                list(ev.users(), 10)
            );
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("SIP scanner at {ip}"),
                    details,
                    risk: "A scanner maps which addresses run SIP and which extensions exist — the first step of \
                           password guessing and toll fraud.",
                    remediation: "Block the source at the edge; do not expose SIP to the internet without a \
                                  session border controller or allow-list; rate-limit and ban repeated probes \
                                  (fail2ban, SBC policies).",
                    practice: "Restrict SIP exposure; detect and block scanning.",
                },
                Severity::High,
                Confidence::High,
            ));
        }
    }
}
