//! `stir-shaken`: what the calls' STIR/SHAKEN verification (`identity`, `Call::identity`) proves against their
//! caller IDs — forged or altered identities (a signature that does not verify, claims that do not match the call),
//! tokens replayed on other calls or stale, signers the trust anchors do not vouch for, authority names presented
//! without full attestation, and unsigned calls from a trunk that signs its other calls. Silent on captures where no
//! call is signed (STIR/SHAKEN is not in use there). One finding per kind and source address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Call, Confidence, Finding, IdentityVerdict, MessageRecord, Severity};

pub struct StirShaken;

/// The kinds this rule reports, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Forged,
    Replayed,
    Stale,
    Untrusted,
    Authority,
    Unsigned,
}

/// Sources per kind (bound on what an attacker can grow).
const MAX_SOURCES: usize = 10_000;

impl Rule for StirShaken {
    fn id(&self) -> &'static str {
        "stir-shaken"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        if !a.calls.iter().any(|c| c.identity.is_some()) {
            return;
        }
        let authorities = s.authorities();
        let origins = f.origins();
        // Signed and unsigned calls per source (for "this trunk signs its other calls").
        let mut signed_by_source: BTreeMap<IpAddr, usize> = BTreeMap::new();
        let mut found: BTreeMap<(Kind, IpAddr), (Evidence, Vec<String>, Severity)> =
            BTreeMap::new();
        let mut unsigned: Vec<(IpAddr, &Call, &MessageRecord)> = Vec::new();
        // How many later calls replayed each first use (by its Call-ID, from the reasons).
        let mut replays_of: BTreeMap<&str, usize> = BTreeMap::new();
        let calls: Vec<(&Call, IpAddr, &MessageRecord)> = a
            .calls
            .iter()
            .filter(|c| c.kind.is_call())
            .filter_map(|c| {
                let (mi, m) = crate::identity::initial_invite(a, c)?;
                let src = origins
                    .get(mi)
                    .and_then(|o| o.as_ref())
                    .map_or(m.src.ip(), |o| o.ip);
                Some((c, src, m))
            })
            .collect();
        for (c, src, m) in &calls {
            match &c.identity {
                Some(_) => *signed_by_source.entry(*src).or_default() += 1,
                None => unsigned.push((*src, c, m)),
            }
        }
        for (c, src, m) in &calls {
            let Some(id) = &c.identity else { continue };
            let mut add = |kind: Kind, severity: Severity, reason: String| {
                if found.len() >= MAX_SOURCES && !found.contains_key(&(kind, *src)) {
                    return;
                }
                let (ev, reasons, sev) = found
                    .entry((kind, *src))
                    .or_insert_with(|| (Evidence::default(), Vec::new(), severity));
                ev.frame(m.frame, m.ts_nanos).source(*src).call(&c.call_id);
                if let Some(u) = c.from.as_ref().and_then(|f| f.user.as_deref()) {
                    ev.user(u);
                }
                *sev = (*sev).max(severity);
                if reasons.len() < 20 && !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            };
            let first_reason = || id.reasons.first().cloned().unwrap_or_default();
            match id.verdict {
                IdentityVerdict::InvalidSignature | IdentityVerdict::ClaimsMismatch => add(
                    Kind::Forged,
                    Severity::High,
                    format!("`{}` {}: {}", c.call_id, id.verdict, first_reason()),
                ),
                IdentityVerdict::Replayed => {
                    if let Some(first) = id.reasons.iter().find_map(|r| {
                        r.strip_prefix("the same PASSporT was used by call `")
                            .and_then(|x| x.split('`').next())
                    }) {
                        *replays_of.entry(first).or_default() += 1;
                    }
                    add(
                        Kind::Replayed,
                        Severity::Medium,
                        format!("`{}`: {}", c.call_id, first_reason()),
                    );
                }
                IdentityVerdict::Stale => add(
                    Kind::Stale,
                    Severity::Medium,
                    format!("`{}`: {}", c.call_id, first_reason()),
                ),
                IdentityVerdict::CertificateExpired | IdentityVerdict::CertificateUntrusted => add(
                    Kind::Untrusted,
                    Severity::Medium,
                    format!("`{}`: {}", c.call_id, first_reason()),
                ),
                _ => {}
            }
            let display = c
                .from
                .as_ref()
                .and_then(|f| f.display_name.as_deref())
                .map(str::to_ascii_lowercase);
            if let Some(d) = display
                && let Some(auth) = authorities.iter().find(|x| d.contains(x.as_str()))
                && (id.verdict != IdentityVerdict::Valid || id.attestation.as_deref() != Some("A"))
            {
                add(
                    Kind::Authority,
                    Severity::Medium,
                    format!(
                        "`{}` presents `{}` (impersonates `{auth}`) with attestation {} ({})",
                        c.call_id,
                        d.chars()
                            .flat_map(char::escape_default)
                            .take(60)
                            .collect::<String>(),
                        id.attestation.as_deref().unwrap_or("none"),
                        id.verdict
                    ),
                );
            }
        }
        // Unsigned calls from a source that signed at least two others.
        for (src, c, m) in unsigned {
            if signed_by_source.get(&src).copied().unwrap_or(0) < 2 {
                continue;
            }
            if found.len() >= MAX_SOURCES && !found.contains_key(&(Kind::Unsigned, src)) {
                continue;
            }
            let (ev, reasons, _) = found
                .entry((Kind::Unsigned, src))
                .or_insert_with(|| (Evidence::default(), Vec::new(), Severity::Info));
            ev.frame(m.frame, m.ts_nanos).source(src).call(&c.call_id);
            if reasons.len() < 20 {
                reasons.push(format!("`{}`", c.call_id));
            }
        }
        // A token replayed on several calls is high.
        let widely_replayed = replays_of.values().any(|&n| n >= 2);
        for ((kind, ip), (ev, reasons, mut severity)) in found {
            if kind == Kind::Replayed && widely_replayed {
                severity = Severity::High;
            }
            let n = ev.calls().len();
            let (title, details, risk, confidence) = match kind {
                Kind::Forged => (
                    format!("Forged or altered caller identity from {ip}"),
                    format!(
                        "{n} calls from {ip} carry STIR/SHAKEN identity that the bytes disprove: {}.",
                        list(&reasons, 5)
                    ),
                    "The caller ID was signed for another call or the token was altered after signing: the caller \
                     presents a number it was not given, the core of vishing and robocall fraud.",
                    Confidence::High,
                ),
                Kind::Replayed => (
                    format!("STIR/SHAKEN token replayed from {ip}"),
                    format!(
                        "{n} calls from {ip} reuse a PASSporT signed for an earlier call: {}.",
                        list(&reasons, 5)
                    ),
                    "A captured signed token is being reused to make new calls look attested: a replay attack on \
                     caller identity (RFC 8224 relies on freshness and uniqueness to prevent it).",
                    Confidence::High,
                ),
                Kind::Stale => (
                    format!("Stale STIR/SHAKEN tokens from {ip}"),
                    format!(
                        "{n} calls from {ip} carry a PASSporT older or newer than 60 s: {}.",
                        list(&reasons, 5)
                    ),
                    "A stale token is either replayed or signed by a badly clocked signer; verifiers reject it and the \
                     call loses its attestation (the capture's own clock may be off too: check it).",
                    Confidence::Medium,
                ),
                Kind::Untrusted => (
                    format!(
                        "Caller identity signed by an untrusted or expired certificate from {ip}"
                    ),
                    format!(
                        "{n} calls from {ip} are signed with a certificate the given trust anchors do not vouch for at \
                         the call's time: {}.",
                        list(&reasons, 5)
                    ),
                    "Anyone can make a certificate and sign any number with it; only a chain to the STI-PA's \
                     trusted roots, valid at the time, attributes the signature to a provider.",
                    Confidence::Medium,
                ),
                Kind::Authority => (
                    format!("Authority name without full attestation from {ip}"),
                    format!(
                        "{n} calls from {ip} present an authority or bank name without a valid A attestation: {}.",
                        list(&reasons, 5)
                    ),
                    "The provider did not vouch that the caller may use this number (B/C or no valid attestation) \
                     while the name claims an authority: the pattern of impersonation scams.",
                    Confidence::Medium,
                ),
                Kind::Unsigned => (
                    format!("Unsigned calls from a signing trunk {ip}"),
                    format!(
                        "{n} calls from {ip} carry no Identity header while {} other calls from it are signed: {}.",
                        signed_by_source.get(&ip).copied().unwrap_or(0),
                        list(&reasons, 5)
                    ),
                    "The trunk signs its calls, but not these: they may come from a route or customer the provider \
                     does not attest, or the header was stripped on the way.",
                    Confidence::Medium,
                ),
            };
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title,
                    details,
                    risk,
                    remediation: "Verify Identity at the network edge (RFC 8224) and treat failed, stale, replayed or \
                                  unattested calls as unverified: no trusted caller-ID display, reject or label them; \
                                  keep the certificate folder and STI-PA trust list current.",
                    practice: "Sign and verify caller identity (STIR/SHAKEN, RFC 8224/8588).",
                },
                severity,
                confidence,
            ));
        }
    }
}
