//! `sdes-keys-in-tls` (media protection): SDES keys (`a=crypto` inline) that travelled inside TLS — protected
//! from the wire, but readable by every SIP proxy and SBC on the path (and by whoever holds the TLS keys, as here).

use crate::findings::Facts;
use crate::findings::{FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct SdesKeysInTls;

impl Rule for SdesKeysInTls {
    fn id(&self) -> &'static str {
        "sdes-keys-in-tls"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let (ev, suites, keys) = super::sdes_keys(a, false);
        if ev.is_empty() {
            return;
        }
        let details = format!(
            "{keys} SRTP master keys ({}) travel inline in SDP inside TLS in {} calls: every proxy that \
             terminates the TLS reads them, and so does anyone with the TLS keys (this analysis decrypted them).",
            list(&suites, 4),
            ev.calls().len()
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "SRTP keys readable by every signalling hop".into(),
                details,
                risk: "SDES protects the media only as well as every hop protects the signalling: each proxy and \
                       SBC on the path, its logs and its operator can decrypt the calls.",
                remediation: "Key the media end to end (DTLS-SRTP with fingerprints, or ZRTP) where the \
                              intermediaries are not trusted with the calls' content.",
                practice: "End-to-end media keying.",
            },
            Severity::Low,
            Confidence::High,
        ));
    }
}
