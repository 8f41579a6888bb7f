//! `unencrypted-media`: RTP that is not SRTP, ZRTP or DTLS-SRTP — the audio can be reconstructed.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings};
use crate::model::{Analysis, Confidence, Encryption, Finding, Severity, StreamKind};

pub struct UnencryptedMedia;

/// Seconds of playable audio in clear before the finding is high: enough to hear what was said.
const MIN_CONVERSATION_SECS: f64 = 3.0;

impl Rule for UnencryptedMedia {
    fn id(&self) -> &'static str {
        "unencrypted-media"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut seconds = 0.0f64;
        let mut playable = 0usize;
        let mut n = 0usize;
        for s in a
            .streams
            .iter()
            .filter(|s| s.kind == StreamKind::Rtp && s.encryption == Encryption::None)
        {
            n += 1;
            ev.stream(s.index)
                .frame(s.first_frame, s.first_ts_nanos)
                .frame(s.last_frame, s.last_ts_nanos);
            for ip in [s.src, s.dst].into_iter().flatten() {
                ev.source(ip.ip());
            }
            if let Some(c) = &s.call_id {
                ev.call(c);
            }
            if s.audio.starts_with("decodable") {
                playable += 1;
                seconds += (s.last_ts_nanos.saturating_sub(s.first_ts_nanos)) as f64 / 1e9;
            }
        }
        if n == 0 {
            return;
        }
        let details = format!(
            "{n} RTP streams in clear ({} calls); {playable} of them can be played back here ({seconds:.0} s of \
             audio in all).",
            ev.calls().len()
        );
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Call audio is not encrypted".into(),
                details,
                risk: "Anyone who captures this traffic can listen to the conversations and the DTMF tones \
                       (PINs, card numbers) — Earshot plays them back from this capture.",
                remediation: "Require SRTP (DTLS-SRTP, or SDES only over TLS-protected signalling) on phones, \
                              PBX and trunks, and refuse RTP/AVP offers.",
                practice: "Encrypt media in transit (SRTP).",
            },
            // Severity follows what an eavesdropper gets: seconds of conversation, not a stray packet.
            if seconds >= MIN_CONVERSATION_SECS {
                Severity::High
            } else if playable > 0 {
                Severity::Medium
            } else {
                Severity::Low
            },
            Confidence::High,
        ));
    }
}
