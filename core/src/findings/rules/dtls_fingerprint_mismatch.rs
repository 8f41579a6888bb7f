//! `dtls-fingerprint-mismatch` (media protection): the certificate an endpoint presents in its DTLS handshake does
//! not hash to the `a=fingerprint` its SDP announced for that address and port (RFC 5763 §5) — the media is keyed
//! with someone else: a man in the middle of the media, or an intermediary that rewrote the SDP.
//!
//! Only `sha-256` fingerprints are compared (the hash Earshot keeps of each certificate, and the one WebRTC
//! requires); an SDP that gives only other hashes is not judged.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct DtlsFingerprintMismatch;

/// `sha-256 AB:CD:…` → `abcd…`; `None` for other hashes.
fn sha256_of(fingerprint: &str) -> Option<String> {
    let (alg, value) = fingerprint.trim().split_once(char::is_whitespace)?;
    if !alg.eq_ignore_ascii_case("sha-256") {
        return None;
    }
    let hex: String = value
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

impl Rule for DtlsFingerprintMismatch {
    fn id(&self) -> &'static str {
        "dtls-fingerprint-mismatch"
    }

    fn evaluate(&self, a: &Analysis, _s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut ev = Evidence::default();
        let mut seen = Vec::new();
        for d in &a.dtls {
            for (addr, cert) in [
                (d.client, &d.client_certificate_sha256),
                (d.server, &d.server_certificate_sha256),
            ] {
                let Some(cert) = cert.as_deref() else {
                    continue;
                };
                // Every SDP that announced this address and port with sha-256 fingerprints.
                for m in &a.messages {
                    let Some(sdp) = &m.message.sdp else {
                        continue;
                    };
                    for md in &sdp.media {
                        let at = md.connection.or(sdp.connection);
                        if md.port != addr.port() || at != Some(addr.ip()) {
                            continue;
                        }
                        let fps: Vec<String> = if md.fingerprints.is_empty() {
                            sdp.fingerprints
                                .iter()
                                .filter_map(|f| sha256_of(f))
                                .collect()
                        } else {
                            md.fingerprints
                                .iter()
                                .filter_map(|f| sha256_of(f))
                                .collect()
                        };
                        if fps.is_empty() || fps.iter().any(|f| f == cert) {
                            continue;
                        }
                        ev.frame(m.frame, m.ts_nanos)
                            .frame(d.first_frame, 0)
                            .source(addr.ip());
                        if let Some(c) = &m.message.call_id {
                            ev.call(c);
                        }
                        for s in &a.streams {
                            if s.src == Some(addr) || s.dst == Some(addr) {
                                ev.stream(s.index);
                            }
                        }
                        if seen.len() < 20 {
                            seen.push(format!(
                                "{addr} presented certificate sha-256 {} in the DTLS handshake of frame {}, \
                                 but the SDP of frame {} announced {}",
                                &cert[..16.min(cert.len())],
                                crate::model::frame_label(d.first_frame),
                                crate::model::frame_label(m.frame),
                                fps.iter().map(|f| &f[..16.min(f.len())]).collect::<Vec<_>>().join(", ")
                            ));
                        }
                    }
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let details = format!("{} (hashes shortened to 16 hex digits).", list(&seen, 4));
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "DTLS certificate does not match the SDP fingerprint".into(),
                details,
                risk: "DTLS-SRTP's protection rests on the fingerprint in the signalling: a different certificate \
                       in the handshake means the media keys were agreed with another party — a man in the middle \
                       who can listen to and alter the call.",
                remediation: "Check the path between the endpoints (SBCs, media relays, TURN servers) for \
                              interception; endpoints must reject handshakes whose certificate does not match the \
                              fingerprint (RFC 5763 §5); protect the SDP's integrity (SIP over TLS end to end).",
                practice: "Verify DTLS fingerprints.",
            },
            Severity::High,
            Confidence::High,
        ));
    }
}
