//! `outdated-tls` (with rule 1, signalling protection): TLS connections that use SSL 3.0, TLS 1.0 or TLS 1.1 —
//! encrypted, but with protocol versions deprecated by RFC 8996.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct OutdatedTls;

impl Rule for OutdatedTls {
    fn id(&self) -> &'static str {
        "outdated-tls"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut seen = Vec::new();
        for t in a
            .tls
            .iter()
            .filter(|t| matches!(t.version.as_str(), "SSL 3.0" | "TLS 1.0" | "TLS 1.1"))
        {
            ev.frame(t.first_frame, t.first_ts_nanos)
                .frame(t.last_frame, t.last_ts_nanos)
                .source(t.client.ip())
                .source(t.server.ip());
            if seen.len() < 50 {
                seen.push(format!(
                    "{} → {} {} ({})",
                    t.client, t.server, t.version, t.version_source
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        let details = format!(
            "{} TLS connections use a deprecated version: {}.",
            seen.len(),
            list(&seen, 5)
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Signalling protected by outdated TLS".into(),
                details,
                risk: "SSL 3.0, TLS 1.0 and 1.1 have known weaknesses (downgrade, weak ciphers and MACs) and are \
                       deprecated (RFC 8996): the SIP they carry is not reliably protected.",
                remediation: "Require TLS 1.2 or 1.3 with modern cipher suites on phones, proxies and trunks; \
                              update or replace devices that cannot.",
                practice: "Current TLS versions only.",
            },
            Severity::Medium,
            Confidence::High,
        ));
    }
}
