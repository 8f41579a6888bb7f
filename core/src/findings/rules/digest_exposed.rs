//! `digest-exposed`: digest credentials (username, realm, nonce, response) captured in clear, open to an offline
//! dictionary attack.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

use super::plaintext;

pub struct DigestExposed;

impl Rule for DigestExposed {
    fn id(&self) -> &'static str {
        "digest-exposed"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut realms = std::collections::BTreeSet::new();
        let mut responses = 0u64;
        for m in a
            .messages
            .iter()
            .filter(|m| plaintext(m.transport) && !m.retransmission)
        {
            for f in &m.message.auth {
                if !f.is_credentials()
                    || !f.scheme.eq_ignore_ascii_case("digest")
                    || f.param("response").is_none()
                {
                    continue;
                }
                responses += 1;
                ev.frame(m.frame, m.ts_nanos).source(m.src.ip());
                if let Some(u) = f.param("username") {
                    ev.user(u);
                }
                if let Some(r) = f.param("realm")
                    && realms.len() < 100
                {
                    realms.insert(r.to_string());
                }
                if let Some(c) = &m.message.call_id {
                    ev.call(c);
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let details = format!(
            "{responses} digest responses in clear for {} users ({}) in realms {}.",
            ev.users().len(),
            list(ev.users(), 8),
            list(&realms, 4)
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Digest credentials captured in clear".into(),
                details,
                risk: "Each captured username/realm/nonce/response lets an attacker test passwords offline at \
                       millions per second; weak or numeric passwords fall in seconds, and the account can then \
                       register and place calls (toll fraud).",
                remediation: "Carry SIP over TLS so challenges and responses are not visible; use long random SIP \
                              passwords (not extensions or PINs) and lock out repeated failures.",
                practice: "Strong SIP credentials, transported only over TLS.",
            },
            Severity::High,
            Confidence::High,
        ));
    }
}
