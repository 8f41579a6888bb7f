//! `plaintext-sip`: SIP readable on the wire (UDP, TCP, WebSocket, SCTP instead of TLS/WSS) and what it exposes.

use std::collections::BTreeSet;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

use super::plaintext;

pub struct PlaintextSip;

impl Rule for PlaintextSip {
    fn id(&self) -> &'static str {
        "plaintext-sip"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut agents = BTreeSet::new();
        let mut transports = BTreeSet::new();
        let mut messages = 0u64;
        for m in a.messages.iter().filter(|m| plaintext(m.transport)) {
            messages += 1;
            transports.insert(m.transport.as_str());
            ev.frame(m.frame, m.ts_nanos)
                .source(m.src.ip())
                .source(m.dst.ip());
            for na in [&m.message.from, &m.message.to].into_iter().flatten() {
                if let Some(u) = &na.user {
                    ev.user(u);
                }
            }
            if let Some(c) = &m.message.call_id {
                ev.call(c);
            }
            for ua in [&m.message.user_agent, &m.message.server]
                .into_iter()
                .flatten()
            {
                if agents.len() < 100 {
                    agents.insert(ua.clone());
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let calls = a.calls.iter().filter(|c| c.kind.is_call()).count();
        let details = format!(
            "{messages} SIP messages over {} in clear: {} users/numbers ({}), {} addresses, {} user agents ({}), \
             {calls} calls with their times and parties.",
            list(&transports, 5),
            ev.users().len(),
            list(ev.users(), 8),
            ev.sources().len(),
            agents.len(),
            list(&agents, 4),
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "SIP signalling is not encrypted".into(),
                details,
                risk: "Anyone on the network path reads who calls whom and when, the phone numbers and names, the \
                       devices and their software versions, the media addresses, and any credentials or media keys \
                       carried in the messages.",
                remediation: "Use SIP over TLS (port 5061, TLS 1.2 or later) or secure WebSocket (WSS) between \
                              phones, proxies and trunks; refuse plain SIP from outside the trusted network.",
                practice: "Encrypt signalling in transit (TLS for SIP).",
            },
            Severity::Medium,
            Confidence::High,
        ));
    }
}
