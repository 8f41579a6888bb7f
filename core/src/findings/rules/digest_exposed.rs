//! `digest-exposed`: digest credentials (username, realm, nonce, response) captured in clear, open to an offline
//! dictionary attack. For IAX2 (never encrypted on the wire): MD5 challenge responses (as open to offline guessing
//! as SIP digests), passwords sent in clear (plaintext authentication), and peers that offer plaintext
//! authentication.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

use super::plaintext;

pub struct DigestExposed;

impl Rule for DigestExposed {
    fn id(&self) -> &'static str {
        "digest-exposed"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        iax2(self.id(), a, s, f.iax2_credentials(), out);
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

/// The IAX2 findings: MD5 responses captured, passwords sent in clear, plaintext authentication offered.
fn iax2(
    rule_id: &'static str,
    a: &Analysis,
    s: &Settings,
    creds: &[super::Iax2Credential],
    out: &mut Vec<Finding>,
) {
    use super::Iax2Secret;
    let mut md5 = Evidence::default();
    let mut md5_count = 0u64;
    let mut clear = Evidence::default();
    let mut clear_rows: Vec<String> = Vec::new();
    let mut clear_accepted = false;
    for c in creds {
        let ev = match c.secret {
            Iax2Secret::Md5(_) if c.challenge.is_some() => {
                md5_count += 1;
                &mut md5
            }
            Iax2Secret::Md5(_) => continue,
            Iax2Secret::Plaintext(ref p) => {
                let shown = if s.reveal_passwords_in_exports {
                    format!("\"{p}\"")
                } else {
                    crate::findings::mask_secret(p)
                };
                let outcome = match c.outcome {
                    Some((true, f)) => {
                        clear_accepted = true;
                        format!("accepted (frame {})", crate::model::frame_label(f))
                    }
                    Some((false, f)) => format!("refused (frame {})", crate::model::frame_label(f)),
                    None => "acceptance not captured".to_string(),
                };
                if clear_rows.len() < 50 {
                    let offered = match (&c.methods, c.challenge_frame) {
                        (m, Some(f)) if !m.is_empty() => {
                            format!(
                                " (the challenge in frame {} offered {m})",
                                crate::model::frame_label(f)
                            )
                        }
                        _ => String::new(),
                    };
                    clear_rows.push(format!(
                        "`{}`: {shown} in frame {}{offered}, {outcome}",
                        if c.user.is_empty() {
                            "(no user name)"
                        } else {
                            c.user.as_str()
                        },
                        crate::model::frame_label(c.frame)
                    ));
                }
                &mut clear
            }
        };
        ev.frame(c.frame, c.ts_nanos).source(c.source);
        // The challenge before, and (for a password in clear) the answer that accepted or refused it.
        if let Some(f) = c.challenge_frame {
            ev.frame(f, c.ts_nanos);
        }
        if let (Iax2Secret::Plaintext(_), Some((_, f))) = (&c.secret, c.outcome) {
            ev.frame(f, c.ts_nanos);
        }
        if !c.user.is_empty() {
            ev.user(&c.user);
        }
        if let Some(call) = &c.call {
            ev.call(call);
        }
    }
    let any_clear = !clear.is_empty();
    if any_clear {
        let details = format!(
            "IAX2 peers sent passwords in clear (plaintext authentication, RFC 5456 8.6.7): {}.",
            list(&clear_rows, 20)
        );
        out.push(clear.finish(
            FindingText {
                rule_id,
                title: "IAX2 password sent in clear".into(),
                details,
                risk: "Anyone on the path reads the password itself: no cracking is needed to register as this \
                       peer and place calls billed to it.",
                remediation: "Disable plaintext authentication on the IAX2 peer (auth=md5 or rsa), change the \
                              exposed password, and keep IAX2 off untrusted networks.",
                practice: "IAX2 with RSA (or at least MD5) authentication, never plaintext.",
            },
            if clear_accepted {
                Severity::Critical
            } else {
                Severity::High
            },
            Confidence::High,
        ));
    }
    if !md5.is_empty() {
        let details = format!(
            "{md5_count} IAX2 MD5 challenge responses with their challenges in clear, for {} users ({}).",
            md5.users().len(),
            list(md5.users(), 8)
        );
        out.push(md5.finish(
            FindingText {
                rule_id,
                title: "IAX2 MD5 challenge responses captured".into(),
                details,
                risk: "Each captured challenge and MD5 response lets an attacker test passwords offline at \
                       millions per second; weak or numeric passwords fall in seconds, and the peer can then \
                       register and place calls (toll fraud).",
                remediation: "Use RSA authentication for IAX2 peers where possible, long random secrets \
                              otherwise, and keep IAX2 off untrusted networks (or inside a VPN).",
                practice: "Strong IAX2 credentials, RSA authentication, IAX2 only on trusted networks.",
            },
            Severity::High,
            Confidence::High,
        ));
    }
    // Challenges offering plaintext that no peer took up (when one did, the finding above says it).
    if !any_clear {
        let mut offer = Evidence::default();
        for r in a.signals.iter().filter(|r| {
            r.protocol == crate::model::Protocol::Iax2
                && !r.retransmission
                && r.element("authmethods")
                    .is_some_and(|m| m.split(',').any(|x| x == "plaintext"))
        }) {
            offer.frame(r.frame, r.ts_nanos).source(r.src.ip());
        }
        if !offer.is_empty() {
            let details = format!(
                "{} IAX2 challenges offered plaintext authentication (from {}); no peer answered with a password \
                 in clear in this capture.",
                offer.frames_total(),
                list(offer.sources(), 8)
            );
            out.push(offer.finish(
                FindingText {
                    rule_id,
                    title: "IAX2 peer offers plaintext authentication".into(),
                    details,
                    risk: "A peer (or an attacker posing as the server) can be led to send its password in clear.",
                    remediation: "Disable plaintext authentication on the IAX2 peer (auth=md5 or rsa).",
                    practice: "IAX2 with RSA (or at least MD5) authentication, never plaintext.",
                },
                Severity::Medium,
                Confidence::High,
            ));
        }
    }
}
