//! `emergency-call`: calls to emergency numbers (from endpoints that never registered here, or anonymously) and
//! anonymous calls — both worth an investigator's attention (swatting, fraud, misconfigured trunks).

use std::collections::BTreeSet;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct EmergencyCall;

fn anonymous(na: Option<&crate::model::NameAddr>) -> bool {
    na.is_some_and(|n| {
        n.user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("anonymous"))
            || n.display_name
                .as_deref()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case("anonymous"))
            || n.uri.to_ascii_lowercase().contains("anonymous.invalid")
    })
}

impl Rule for EmergencyCall {
    fn id(&self) -> &'static str {
        "emergency-call"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        // Sources that registered successfully in this capture (a 2xx to their REGISTER).
        let mut registered = BTreeSet::new();
        let mut register_src = std::collections::HashMap::new();
        for m in a.messages.iter().filter(|m| !m.retransmission) {
            if m.message.method() == Some("REGISTER")
                && let Some(c) = &m.message.call_id
                && register_src.len() < 100_000
            {
                register_src.insert(c.clone(), m.src.ip());
            }
            if m.message.status().is_some_and(|c| (200..300).contains(&c))
                && m.message
                    .cseq
                    .as_ref()
                    .is_some_and(|c| c.method == "REGISTER")
                && let Some(ip) = m.message.call_id.as_ref().and_then(|c| register_src.get(c))
            {
                registered.insert(*ip);
            }
        }
        // Calls that reached the far end: a 180/183 or a 2xx to their INVITE. Rejected at once (404 to a scanner's
        // probe of extension 112), an "emergency call" never rang anywhere.
        let reached: BTreeSet<&str> = a
            .messages
            .iter()
            .filter(|m| {
                m.message
                    .status()
                    .is_some_and(|c| matches!(c, 180 | 183 | 200..=299))
                    && m.message
                        .cseq
                        .as_ref()
                        .is_some_and(|c| c.method == "INVITE")
            })
            .filter_map(|m| m.message.call_id.as_deref())
            .take(super::MAX_TRANSACTIONS)
            .collect();
        let rejected: BTreeSet<&str> = a
            .messages
            .iter()
            .filter(|m| {
                m.message.status().is_some_and(|c| c >= 300)
                    && m.message
                        .cseq
                        .as_ref()
                        .is_some_and(|c| c.method == "INVITE")
            })
            .filter_map(|m| m.message.call_id.as_deref())
            .filter(|c| !reached.contains(c))
            .take(super::MAX_TRANSACTIONS)
            .collect();
        let mut reached_calls = BTreeSet::new();
        let mut all_rejected = true;
        let mut emergency = Evidence::default();
        let mut numbers = BTreeSet::new();
        let mut unregistered = 0u64;
        let mut anon = Evidence::default();
        for m in a.messages.iter().filter(|m| !m.retransmission) {
            if m.message.method() != Some("INVITE") || m.message.to.is_none() {
                continue;
            }
            let to_user = m
                .message
                .to
                .as_ref()
                .and_then(|t| t.user.as_deref())
                .unwrap_or_default();
            let is_emergency = s.emergency_numbers.iter().any(|n| n == to_user);
            let caller_anon = anonymous(m.message.from.as_ref());
            if is_emergency {
                numbers.insert(to_user.to_string());
                emergency.frame(m.frame, m.ts_nanos).source(m.src.ip());
                if let Some(c) = &m.message.call_id {
                    emergency.call(c);
                    if reached.contains(c.as_str()) && reached_calls.len() < 100_000 {
                        reached_calls.insert(c.clone());
                    }
                    if !rejected.contains(c.as_str()) {
                        all_rejected = false;
                    }
                }
                if !registered.contains(&m.src.ip()) {
                    unregistered += 1;
                }
            }
            if caller_anon {
                anon.frame(m.frame, m.ts_nanos).source(m.src.ip());
                if let Some(c) = &m.message.call_id {
                    anon.call(c);
                }
            }
        }
        if !emergency.is_empty() {
            let calls = emergency.calls().len();
            let details = format!(
                "{calls} calls to emergency numbers ({}); {unregistered} INVITEs came from sources that did not \
                 register in this capture; {} of the calls rang or were answered{}.",
                list(&numbers, 5),
                reached_calls.len(),
                if all_rejected {
                    " (every one was rejected without ringing: attempts or probes, not calls that reached anyone)"
                } else {
                    ""
                }
            );
            out.push(emergency.finish(
                FindingText {
                    rule_id: self.id(),
                    title: "Emergency calls".into(),
                    details,
                    risk: "Emergency calls from unregistered or remote endpoints are how swatting and fraudulent \
                           emergency dispatch are done, and a trunk that lets anyone reach emergency numbers \
                           without a verified location breaks regulations.",
                    remediation: "Only allow emergency calls from registered, located endpoints; send a verified \
                                  location (PIDF-LO / ELIN) and caller identity with each emergency call.",
                    practice: "Control and locate emergency calling.",
                },
                match (unregistered > 0, all_rejected) {
                    (true, false) => Severity::High,
                    (true, true) => Severity::Low,
                    (false, _) => Severity::Info,
                },
                Confidence::High,
            ));
        }
        if !anon.is_empty() {
            let details = format!(
                "{} calls with an anonymous caller (From anonymous / anonymous.invalid).",
                anon.calls().len()
            );
            out.push(anon.finish(
                FindingText {
                    rule_id: self.id(),
                    title: "Anonymous calls".into(),
                    details,
                    risk: "Anonymous calls hide who is calling: acceptable for privacy, but also how harassment \
                           and fraud calls arrive; check that the network still knows the asserted identity.",
                    remediation: "Require P-Asserted-Identity from trusted trunks and keep it (privacy: id) rather \
                                  than accepting fully anonymous calls from untrusted sources.",
                    practice: "Keep caller accountability with privacy.",
                },
                Severity::Low,
                Confidence::High,
            ));
        }
    }
}
