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
        // Per source: evidence, tool user agents seen, requests, distinct hosts probed.
        #[derive(Default)]
        struct Src {
            ev: Evidence,
            agents: BTreeMap<String, u64>,
            requests: u64,
            hosts: std::collections::BTreeSet<IpAddr>,
            tool: bool,
        }
        let mut by_source: BTreeMap<IpAddr, Src> = BTreeMap::new();
        for m in a.messages.iter().filter(|m| !m.retransmission) {
            let Some(method) = m.message.method() else {
                continue;
            };
            let ua = m.message.user_agent.as_deref().unwrap_or_default();
            let lower = ua.to_ascii_lowercase();
            let tool = !ua.is_empty() && needles.iter().any(|n| lower.contains(n.as_str()));
            let probe = matches!(method, "OPTIONS" | "REGISTER" | "INVITE");
            if !tool && !probe {
                continue;
            }
            if by_source.len() >= 10_000 && !by_source.contains_key(&m.src.ip()) {
                continue;
            }
            let e = by_source.entry(m.src.ip()).or_default();
            e.requests += 1;
            if e.hosts.len() < 100_000 {
                e.hosts.insert(m.dst.ip());
            }
            e.ev.frame(m.frame, m.ts_nanos).source(m.src.ip());
            if let Some(u) = m.message.to.as_ref().and_then(|t| t.user.as_deref()) {
                e.ev.user(u);
            }
            if tool {
                e.tool = true;
                if e.agents.len() < 20 {
                    *e.agents.entry(ua.to_string()).or_default() += 1;
                }
            }
        }
        for (ip, src) in by_source {
            let sweep = src.hosts.len() >= s.scan_min_hosts.max(1) as usize;
            if !src.tool && !sweep {
                continue;
            }
            let ev = src.ev;
            let mut details = format!(
                "{ip} sent {} SIP requests to {} hosts probing {} users/extensions ({})",
                src.requests,
                src.hosts.len(),
                ev.users().len(),
                list(ev.users(), 10)
            );
            if src.tool {
                details.push_str(&format!(
                    "; user agent of a scanning tool: {}",
                    list(src.agents.keys().map(|a| format!("`{a}`")), 3)
                ));
            }
            if sweep {
                details.push_str(&format!(
                    "; a sweep of {} addresses ({})",
                    src.hosts.len(),
                    list(&src.hosts, 5)
                ));
            }
            details.push('.');
            let confidence = if src.tool {
                Confidence::High
            } else {
                Confidence::Medium
            };
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
                confidence,
            ));
        }
    }
}
