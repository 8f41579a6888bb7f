//! `srtp-keys-exposed`: SDES keys (`a=crypto` inline) carried in plaintext SIP, so the SRTP protects nothing.

use crate::findings::Facts;
use crate::findings::{FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct SrtpKeysExposed;

impl Rule for SrtpKeysExposed {
    fn id(&self) -> &'static str {
        "srtp-keys-exposed"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let (mut ev, suites, keys) = super::sdes_keys(a, true);
        if ev.is_empty() {
            return;
        }
        for s in &a.streams {
            if s.call_id.as_ref().is_some_and(|c| ev.calls().contains(c))
                && s.encryption_evidence
                    .as_deref()
                    .is_some_and(|e| e.contains("a=crypto"))
            {
                ev.stream(s.index);
            }
        }
        let details = format!(
            "{keys} SRTP master keys ({}) travel inline in SDP over unencrypted SIP in {} calls; the streams \
             they protect decrypt with them (`earshot export-audio` does).",
            list(&suites, 4),
            ev.calls().len()
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "SRTP keys are exposed in plaintext signalling".into(),
                details,
                risk: "The media is encrypted, but the keys are readable by the same eavesdropper: the calls can \
                       be decrypted and listened to as if they were not encrypted at all.",
                remediation: "Send SDES keys only over SIP/TLS (sips:), or use DTLS-SRTP so keys never appear \
                              in signalling.",
                practice: "Protect key exchange (SDES only with TLS; prefer DTLS-SRTP).",
            },
            Severity::High,
            Confidence::High,
        ));
    }
}
