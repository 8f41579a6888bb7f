//! `routing-loop`: 482 Loop Detected / 483 Too Many Hops answers and requests arriving with Max-Forwards exhausted —
//! a misrouted or deliberately looped request that multiplies load on every proxy it passes.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct RoutingLoop;

impl Rule for RoutingLoop {
    fn id(&self) -> &'static str {
        "routing-loop"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let (mut r482, mut r483, mut exhausted) = (0u64, 0u64, 0u64);
        // Retransmissions are kept: a looping request repeats its Call-ID and CSeq on every hop, so the UDP
        // retransmission rule marks the hops as repeats.
        for m in &a.messages {
            let hit = match m.message.status() {
                Some(482) => {
                    r482 += 1;
                    true
                }
                Some(483) => {
                    r483 += 1;
                    true
                }
                Some(_) => false,
                None if m.message.max_forwards == Some(0) => {
                    exhausted += 1;
                    true
                }
                None => false,
            };
            if hit {
                ev.frame(m.frame, m.ts_nanos)
                    .source(m.src.ip())
                    .source(m.dst.ip());
                if let Some(c) = &m.message.call_id {
                    ev.call(c);
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let details = format!(
            "{r482} × 482 Loop Detected, {r483} × 483 Too Many Hops, {exhausted} requests with Max-Forwards: 0, \
             in {} Call-IDs.",
            ev.calls().len()
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "SIP routing loop".into(),
                details,
                risk: "A request that loops between proxies is processed again and again: a few packets from an \
                       attacker can multiply into a denial of service, and loops often reveal misrouted dial \
                       plans that fraud can exploit.",
                remediation: "Fix the routes between the hops named here, keep Max-Forwards at 70 on originating \
                              requests, and reject requests whose Request-URI points back at the proxy itself.",
                practice: "Validate routing and limit hop counts.",
            },
            Severity::Medium,
            Confidence::High,
        ));
    }
}
