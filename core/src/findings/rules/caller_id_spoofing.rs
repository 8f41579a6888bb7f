//! `caller-id-spoofing`: caller identities that contradict each other or the packet — From vs P-Asserted-Identity,
//! From vs the authenticated digest user, routing headers naming the target itself or loopback (a forged request),
//! and display names impersonating an authority. One finding per source address.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::via_host_ip as host_ip;
use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::identity::passport::canonical_tn;
use crate::model::{Analysis, CallIdentity, Confidence, Finding, IdentityVerdict, Severity};

pub struct CallerIdSpoofing;

impl Rule for CallerIdSpoofing {
    fn id(&self) -> &'static str {
        "caller-id-spoofing"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        let authorities = s.authorities();
        let mut by_source: BTreeMap<IpAddr, (Evidence, Vec<String>, Severity)> = BTreeMap::new();
        let origins = f.origins();
        let identities: HashMap<&str, &CallIdentity> = a
            .calls
            .iter()
            .filter_map(|c| Some((c.call_id.as_str(), c.identity.as_ref()?)))
            .collect();
        for (m, origin) in a.messages.iter().zip(origins) {
            let Some(source) = super::counted_source(m, origin.as_ref()) else {
                continue;
            };
            if m.message.method() != Some("INVITE") {
                continue;
            }
            let mut reasons = Vec::new();
            let mut severity = Severity::Low;
            let from_user = m.message.from.as_ref().and_then(|f| f.user.as_deref());
            if let (Some(fu), Some(pai)) = (
                from_user,
                m.message
                    .p_asserted_identity
                    .first()
                    .and_then(|p| p.user.as_deref()),
            ) && !fu.eq_ignore_ascii_case(pai)
            {
                reasons.push(format!("From `{fu}` but P-Asserted-Identity `{pai}`"));
            }
            // From ≠ the digest user is not here: trunks and PBXs authenticate with an account name and present
            // the extension's number (aaa.pcap, Nero SIPPS), so it proves nothing.
            // The topmost Via claims to be the target itself while the packet came from elsewhere: a forged
            // request. Loopback (or 0.0.0.0) in Via or Contact from a remote source only supports another reason:
            // a client behind a TLS tunnel or relay that does not rewrite headers sends exactly that (the
            // benign-tls-call corpus capture: SIPp on loopback behind a TLS relay), and neither is the caller ID.
            let mut supporting = 0usize;
            if let Some(v) = m.message.via.first()
                && let Some(ip) = host_ip(&v.sent_by)
                && ip != m.src.ip()
                && (ip == m.dst.ip() || ip.is_loopback() || ip.is_unspecified())
            {
                reasons.push(format!(
                    "Via claims {} while the packet came from {}",
                    v.sent_by,
                    m.src.ip()
                ));
                if ip == m.dst.ip() {
                    severity = Severity::High;
                } else {
                    supporting += 1;
                    severity = severity.max(Severity::Medium);
                }
            }
            // Same tests for the Contact: the target's own address from elsewhere is forged (svwar's default);
            // loopback is ordinary for a packet that came from loopback, and only supporting from elsewhere.
            if let Some(c) = m.message.contact.first()
                && let Some(ip) = host_ip(c.host.as_deref().unwrap_or_default())
                && ip != m.src.ip()
            {
                if ip == m.dst.ip() {
                    reasons.push(format!(
                        "Contact points at the target {ip} itself while the packet came from {}",
                        m.src.ip()
                    ));
                    severity = Severity::High;
                } else if (ip.is_loopback() || ip.is_unspecified()) && !m.src.ip().is_loopback() {
                    reasons.push(format!(
                        "Contact points at {ip} while the packet came from {}",
                        m.src.ip()
                    ));
                    supporting += 1;
                    severity = severity.max(Severity::Medium);
                }
            }
            // A caller ID that claims to be an E.164 number (`+…`) but cannot be dialled (letters mixed in). User
            // parts that merely start with a digit are names (WebRTC and SBC generated users, hex ids), not numbers.
            if let Some(fu) = from_user
                && fu.starts_with('+')
                && fu
                    .chars()
                    .filter(|c| !matches!(c, '-' | '.' | ' ' | '(' | ')'))
                    .any(|c| !(c.is_ascii_digit() || matches!(c, '+' | '*' | '#')))
            {
                reasons.push(format!(
                    "caller ID `{}` is not a dialable number",
                    fu.chars()
                        .flat_map(char::escape_default)
                        .take(40)
                        .collect::<String>()
                ));
            }
            if let Some(d) = m
                .message
                .from
                .as_ref()
                .and_then(|f| f.display_name.as_deref())
            {
                let dl = d.to_ascii_lowercase();
                if let Some(auth) = authorities.iter().find(|x| dl.contains(x.as_str())) {
                    // An authority's name on a request whose identity also contradicts itself or the packet.
                    severity = if reasons.is_empty() {
                        severity.max(Severity::Medium)
                    } else {
                        Severity::High
                    };
                    reasons.push(format!("display name `{d}` impersonates `{auth}`"));
                }
            }
            // STIR/SHAKEN (`identity`): identity the bytes disprove raises the suspicion; a verified A attestation
            // of this very From number lowers it one step (the provider vouches for the caller's right to it).
            if let Some(id) = m
                .message
                .call_id
                .as_deref()
                .and_then(|c| identities.get(c))
                .filter(|id| id.frame == m.frame)
            {
                match id.verdict {
                    IdentityVerdict::InvalidSignature | IdentityVerdict::ClaimsMismatch => {
                        reasons.push(format!(
                            "STIR/SHAKEN {}: {}",
                            id.verdict,
                            id.reasons.first().map(String::as_str).unwrap_or_default()
                        ));
                        severity = Severity::High;
                    }
                    IdentityVerdict::Valid
                        if id.attestation.as_deref() == Some("A")
                            && from_user
                                .and_then(canonical_tn)
                                .zip(
                                    id.passports
                                        .iter()
                                        .find_map(|p| p.orig.as_deref().and_then(canonical_tn)),
                                )
                                .is_some_and(|(f, o)| f == o) =>
                    {
                        severity = match severity {
                            Severity::Critical => Severity::High,
                            Severity::High => Severity::Medium,
                            _ => Severity::Low,
                        };
                    }
                    _ => {}
                }
            }
            if reasons.len() <= supporting {
                continue;
            }
            if by_source.len() >= 10_000 && !by_source.contains_key(&source) {
                continue;
            }
            let (ev, rs, sev) = by_source
                .entry(source)
                .or_insert_with(|| (Evidence::default(), Vec::new(), Severity::Low));
            ev.frame(m.frame, m.ts_nanos).source(source);
            if let Some(c) = &m.message.call_id {
                ev.call(c);
            }
            if let Some(u) = from_user {
                ev.user(u);
            }
            *sev = (*sev).max(severity);
            for r in reasons {
                if rs.len() < 20 && !rs.contains(&r) {
                    rs.push(r);
                }
            }
        }
        for (ip, (ev, reasons, severity)) in by_source {
            let details = format!(
                "{} INVITEs from {ip} with contradicting identities: {}.",
                ev.frames_total(),
                list(&reasons, 5)
            );
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("Caller ID spoofing from {ip}"),
                    details,
                    risk: "The number or name the callee sees is not who called: vishing (fake bank or police \
                           calls), bypassing caller-ID based access (voicemail without PIN), or hiding the real \
                           origin of fraud.",
                    remediation: "Assert identity only from authenticated users and trusted trunks (P-Asserted-\
                                  Identity, STIR/SHAKEN), overwrite From/PAI at the edge, and reject requests whose \
                                  Via/Contact name the server itself or loopback.",
                    practice: "Authenticate and assert caller identity at the edge.",
                },
                severity,
                Confidence::Medium,
            ));
        }
    }
}
