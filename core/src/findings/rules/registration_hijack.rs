//! `registration-hijack`: an address-of-record registered from a different source or Contact than before (a
//! hijacked registration diverts the user's calls), and `unauthenticated-accepted`: REGISTER or INVITE accepted
//! (2xx) without any challenge in its dialog.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct RegistrationHijack;

/// A request remembered until its response: source, address-of-record, Contact host, frame, time.
type Pending = (IpAddr, String, String, u64, i64);

impl Rule for RegistrationHijack {
    fn id(&self) -> &'static str {
        "registration-hijack"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        // Requests by Call-ID + CSeq: source, AOR, Contact host, whether credentials were sent.
        let mut req: HashMap<(String, u32), Pending> = HashMap::new();
        let mut challenged: BTreeSet<String> = BTreeSet::new();
        let mut credentialed: BTreeSet<String> = BTreeSet::new();
        // AOR → (source, contact) of the last successful registration.
        let mut bound: BTreeMap<String, (IpAddr, String)> = BTreeMap::new();
        let mut hijack = Evidence::default();
        let mut moved = Vec::new();
        let mut takeover = false;
        let mut unauth = Evidence::default();
        for m in a.messages.iter().filter(|m| !m.retransmission) {
            let Some(call) = m.message.call_id.clone() else {
                continue;
            };
            let Some(cseq) = m.message.cseq.as_ref() else {
                continue;
            };
            if let Some(method) = m.message.method() {
                if !matches!(method, "REGISTER" | "INVITE") {
                    continue;
                }
                if m.message.auth.iter().any(|f| f.is_credentials())
                    && credentialed.len() < 1_000_000
                {
                    credentialed.insert(call.clone());
                }
                let aor = m
                    .message
                    .to
                    .as_ref()
                    .map(|t| t.uri.to_ascii_lowercase())
                    .unwrap_or_default();
                let contact = m
                    .message
                    .contact
                    .first()
                    .and_then(|c| c.host.clone())
                    .unwrap_or_default();
                if req.len() < 1_000_000 {
                    req.insert(
                        (call, cseq.seq),
                        (m.src.ip(), aor, contact, m.frame, m.ts_nanos),
                    );
                }
                continue;
            }
            let Some(code) = m.message.status() else {
                continue;
            };
            if code == 401 || code == 407 {
                if challenged.len() < 1_000_000 {
                    challenged.insert(call);
                }
                continue;
            }
            if !(200..300).contains(&code) || !matches!(cseq.method.as_str(), "REGISTER" | "INVITE")
            {
                continue;
            }
            let Some((src, aor, contact, rframe, rts)) =
                req.get(&(call.clone(), cseq.seq)).cloned()
            else {
                continue;
            };
            if !challenged.contains(&call)
                && !credentialed.contains(&call)
                && !crate::findings::in_networks(src, &s.trusted_networks)
            {
                unauth
                    .frame(rframe, rts)
                    .frame(m.frame, m.ts_nanos)
                    .source(src)
                    .call(&call);
                unauth.user(&aor);
            }
            if cseq.method == "REGISTER" && !aor.is_empty() {
                // A de-registration (Expires: 0) is not a new binding; without the header value we compare only
                // bindings that name a contact.
                if let Some((old_src, old_contact)) = bound.get(&aor)
                    && (*old_src != src || (*old_contact != contact && !contact.is_empty()))
                {
                    hijack
                        .frame(rframe, rts)
                        .frame(m.frame, m.ts_nanos)
                        .source(*old_src)
                        .source(src);
                    hijack.user(&aor).call(&call);
                    // The registrar's own answer proves the old binding still lives: the account now rings at
                    // both. From outside the trusted networks that is a takeover, not a phone that moved.
                    let concurrent = !old_contact.is_empty()
                        && m.message
                            .contact
                            .iter()
                            .any(|c| c.host.as_deref() == Some(old_contact.as_str()));
                    let outside = !crate::findings::in_networks(src, &s.trusted_networks);
                    if concurrent && outside {
                        takeover = true;
                    }
                    if moved.len() < 20 {
                        moved.push(format!(
                            "{aor}: {old_src} → {src}{}",
                            match (concurrent, outside) {
                                (true, true) => format!(
                                    " (the registrar's 2xx in frame {} lists both bindings; the new source is \
                                     outside the trusted networks)",
                                    crate::model::frame_label(m.frame)
                                ),
                                (true, false) => {
                                    format!(" (the registrar's 2xx in frame {} lists both bindings)", crate::model::frame_label(m.frame))
                                }
                                _ => String::new(),
                            }
                        ));
                    }
                }
                if bound.len() < 1_000_000 || bound.contains_key(&aor) {
                    bound.insert(aor, (src, contact));
                }
            }
        }
        if !hijack.is_empty() {
            let details = format!(
                "{} registrations moved an address-of-record to another source or contact: {}.",
                moved.len(),
                list(&moved, 5)
            );
            out.push(hijack.finish(
                FindingText {
                    rule_id: self.id(),
                    title: "Registration moved to another device".into(),
                    details,
                    risk: "Whoever re-registers an account receives its calls and voicemail: a hijacked binding \
                           diverts a user's calls to the attacker (or silently away).",
                    remediation: "Require authentication on every REGISTER with strong passwords over TLS, limit \
                                  registrations per account and alert when the source changes.",
                    practice: "Authenticate and monitor registrations.",
                },
                // A source outside the trusted networks added a binding while the old one lived: shown by the
                // bytes. Otherwise a roaming phone does the same, so the finding only suggests it.
                if takeover {
                    Severity::High
                } else {
                    Severity::Medium
                },
                if takeover {
                    Confidence::Medium
                } else {
                    Confidence::Low
                },
            ));
        }
        if !unauth.is_empty() {
            let details = format!(
                "{} REGISTER/INVITE transactions from outside the trusted networks were accepted (2xx) without any \
                 authentication challenge, for {}.",
                unauth.frames_total() / 2,
                list(unauth.users(), 6)
            );
            let mut f = unauth.finish(
                FindingText {
                    rule_id: "unauthenticated-accepted",
                    title: "Requests accepted without authentication".into(),
                    details,
                    risk: "A server that accepts REGISTER or INVITE without a challenge lets anyone register as \
                           a user or place calls through it (toll fraud, spoofed calls).",
                    remediation: "Challenge every REGISTER and INVITE from outside the trusted trunk addresses; \
                                  allow unauthenticated requests only from explicitly listed peers.",
                    practice: "Authenticate every request from untrusted sources.",
                },
                Severity::Medium,
                Confidence::Medium,
            );
            f.rule_id = "unauthenticated-accepted".into();
            out.push(f);
        }
    }
}
