//! `dtmf-secret`: DTMF digits sent where an eavesdropper reads them (RFC 4733 events in unencrypted RTP, or SIP
//! INFO in plaintext SIP) — PINs to voicemail and IVRs, card numbers.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings};
use crate::model::{Analysis, Confidence, Encryption, Finding, Severity};

pub struct DtmfSecret;

/// Digits typed in one call before they can be a PIN or an account number (voicemail PINs have at least 4).
const MIN_PIN_DIGITS: usize = 4;

impl Rule for DtmfSecret {
    fn id(&self) -> &'static str {
        "dtmf-secret"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        for c in a.calls.iter().filter(|c| !c.dtmf_events.is_empty()) {
            // Digits readable on the wire: INFO over plaintext SIP, or events in an unencrypted stream.
            let readable: Vec<_> = c
                .dtmf_events
                .iter()
                .filter(|e| {
                    e.source != "rfc4733"
                        || c.streams.iter().any(|&i| {
                            a.streams.get(i).is_some_and(|st| {
                                st.encryption == Encryption::None
                                    && e.ssrc.is_none_or(|x| x == st.ssrc)
                            })
                        })
                })
                .collect();
            if readable.is_empty() {
                continue;
            }
            let digits = crate::model::dtmf_digits(&c.dtmf_events);
            if digits.is_empty() {
                // Only non-digit events (e.g. fax or flash signals): nothing secret was typed.
                continue;
            }
            let mut ev = Evidence::default();
            ev.call(&c.call_id);
            for e in &readable {
                ev.frame(e.frame, e.ts_nanos);
            }
            for ep in &c.endpoints {
                ev.source(ep.ip());
            }
            let to =
                c.to.as_ref()
                    .and_then(|t| t.user.clone())
                    .unwrap_or_default();
            ev.user(&to);
            let to_voicemail = s
                .voicemail_numbers
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&to));
            let pin = digits.chars().filter(char::is_ascii_digit).count();
            // What the digits amount to: a PIN needs at least MIN_PIN_DIGITS of them; fewer are a menu choice.
            let secret = pin >= MIN_PIN_DIGITS;
            let details = format!(
                "{} DTMF digits in clear in call to `{to}`: {digits}{}{}",
                readable.len(),
                match (to_voicemail, secret) {
                    (true, true) => " (a voicemail/IVR number: these are a PIN)",
                    (true, false) => {
                        " (a voicemail/IVR number, but too few digits for a PIN: a menu choice, most likely)"
                    }
                    (false, true) => "",
                    (false, false) =>
                        " (too few digits for a PIN or account number: a menu choice, most likely)",
                },
                if secret && pin <= 4 {
                    "; a PIN of 4 digits or less falls to guessing"
                } else {
                    ""
                }
            );
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("DTMF digits readable in call to {to}"),
                    details,
                    risk: "Anyone capturing the call reads the digits typed: voicemail PINs, IVR account and card \
                           numbers, conference codes — and can replay them.",
                    remediation: "Encrypt media (SRTP) and signalling (TLS) so RFC 4733 events and SIP INFO are not \
                                  readable; require voicemail PINs of 6+ digits and lock out repeated failures.",
                    practice: "Protect in-call secrets; strong voicemail PINs.",
                },
                match (to_voicemail, secret) {
                    (true, true) => Severity::High,
                    (false, true) => Severity::Medium,
                    (_, false) => Severity::Low,
                },
                Confidence::Medium,
            ));
        }
    }
}
