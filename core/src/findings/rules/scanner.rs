//! `scanner`: SIP scanners recognised by their user agent (sipvicious/friendly-scanner, sipcli, sippts, ...), one
//! finding per source address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct Scanner;

/// sipvicious `svmap`'s request shape, whatever its User-Agent says: From and To are the same URI, the Contact
/// names the same user, and the From tag is sipvicious's long hex string (or the From host is its `1.1.1.1`).
fn svmap_traits(m: &crate::model::SipMessage) -> bool {
    let (Some(from), Some(to)) = (&m.from, &m.to) else {
        return false;
    };
    if from.uri != to.uri {
        return false;
    }
    let contact_same_user = m
        .contact
        .first()
        .is_some_and(|c| c.user.is_some() && c.user == from.user);
    let hex_tag = m
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("from") || n == "f")
        .and_then(|(_, v)| v.split(";tag=").nth(1))
        .map(|t| t.split(';').next().unwrap_or_default())
        .is_some_and(|t| t.len() >= 40 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    contact_same_user && (hex_tag || from.host.as_deref() == Some("1.1.1.1"))
}

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
            let svmap = svmap_traits(&m.message);
            let tool =
                svmap || (!ua.is_empty() && needles.iter().any(|n| lower.contains(n.as_str())));
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
                let name = if svmap && !needles.iter().any(|n| lower.contains(n.as_str())) {
                    "svmap header pattern (From = To, sipvicious tag)".to_string()
                } else {
                    ua.to_string()
                };
                if e.agents.len() < 20 {
                    *e.agents.entry(name).or_default() += 1;
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
