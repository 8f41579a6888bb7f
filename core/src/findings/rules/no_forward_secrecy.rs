//! `no-forward-secrecy` (signalling protection): TLS 1.2 connections that use RSA key transport — encrypted, but
//! whoever obtains the server's private key later decrypts every recorded session (no forward secrecy).

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct NoForwardSecrecy;

impl Rule for NoForwardSecrecy {
    fn id(&self) -> &'static str {
        "no-forward-secrecy"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut seen = Vec::new();
        let mut decrypted = 0usize;
        for t in a.tls.iter().filter(|t| t.rsa_key_exchange) {
            ev.frame(t.first_frame, t.first_ts_nanos)
                .source(t.client.ip())
                .source(t.server.ip());
            if t.key_source.as_ref().is_some_and(|k| k.how == "rsa-key") {
                decrypted += 1;
            }
            if seen.len() < 50 {
                seen.push(format!(
                    "{} → {} {}",
                    t.client,
                    t.server,
                    t.cipher_suite.as_deref().unwrap_or("?")
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        let mut details = format!(
            "{} TLS 1.2 connections use RSA key exchange (the ServerHello's suite): {}.",
            seen.len(),
            list(&seen, 5)
        );
        if decrypted > 0 {
            details.push_str(&format!(
                " {decrypted} of them were decrypted here with the server's RSA key alone."
            ));
        }
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Signalling encrypted without forward secrecy".into(),
                details,
                risk: "The session keys travel encrypted under the server's long-term RSA key: anyone who records \
                       the traffic and later obtains that key (a stolen or subpoenaed server, a backup) decrypts \
                       every recorded call's signalling, SDES media keys included.",
                remediation: "Offer only ECDHE (or DHE) suites, or TLS 1.3, on proxies, SBCs and phones; disable \
                              the TLS_RSA_WITH_* suites.",
                practice: "Forward-secret key exchange only.",
            },
            Severity::Medium,
            Confidence::High,
        ));
    }
}
