//! `scanner`: SIP scanners recognised by their user agent (sipvicious/friendly-scanner, sipcli, sippts, ...), one
//! finding per source address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::findings::Facts;
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

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
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
            /// Proxies that forwarded this source's requests.
            relays: std::collections::BTreeSet<IpAddr>,
        }
        let mut by_source: BTreeMap<IpAddr, Src> = BTreeMap::new();
        // (registrar, client) pairs: a client registered there (2xx). A registrar's OPTIONS to its own clients are
        // keep-alive qualify pings, not probes.
        let answers = f.answers();
        let registered: std::collections::HashSet<(IpAddr, IpAddr)> = a
            .messages
            .iter()
            .zip(answers)
            .filter(|(m, ans)| {
                m.message.method() == Some("REGISTER") && matches!(ans, Some((200..=299, _)))
            })
            .map(|(m, _)| (m.dst.ip(), m.src.ip()))
            .take(super::MAX_TRANSACTIONS)
            .collect();
        let origins = f.origins();
        for (m, origin) in a.messages.iter().zip(origins) {
            if m.retransmission {
                continue;
            }
            let Some(method) = m.message.method() else {
                continue;
            };
            // A proxy's copy counts at the earlier hop (the proxy is named as a relay); a forwarded request counts
            // for its origin, not the proxy.
            let Some(origin) = *origin else {
                continue;
            };
            if origin.copy {
                if let (Some(r), Some(e)) = (origin.relay, by_source.get_mut(&origin.ip))
                    && e.relays.len() < 20
                {
                    e.relays.insert(r);
                }
                continue;
            }
            let ip = origin.ip;
            let ua = m.message.user_agent.as_deref().unwrap_or_default();
            let lower = ua.to_ascii_lowercase();
            let svmap = svmap_traits(&m.message);
            let tool =
                svmap || (!ua.is_empty() && needles.iter().any(|n| lower.contains(n.as_str())));
            let qualify = method == "OPTIONS" && registered.contains(&(m.src.ip(), m.dst.ip()));
            let probe = matches!(method, "OPTIONS" | "REGISTER" | "INVITE") && !qualify;
            if !tool && !probe {
                continue;
            }
            if by_source.len() >= 10_000 && !by_source.contains_key(&ip) {
                continue;
            }
            let e = by_source.entry(ip).or_default();
            e.requests += 1;
            if let Some(r) = origin.relay
                && e.relays.len() < 20
            {
                e.relays.insert(r);
            } else if e.hosts.len() < 100_000 {
                // Only requests sent directly say which hosts the source probed.
                e.hosts.insert(m.dst.ip());
            }
            e.ev.frame(m.frame, m.ts_nanos).source(ip);
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
            if !src.relays.is_empty() {
                details.push_str(&format!(
                    "; its requests were relayed by {} (proxies forwarding them, not scanners)",
                    list(&src.relays, 5)
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
                // A tool's signature is an attack; a sweep alone may be an inventory or monitoring job.
                if src.tool {
                    Severity::High
                } else {
                    Severity::Medium
                },
                confidence,
            ));
        }
    }
}
