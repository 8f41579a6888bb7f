//! STIR/SHAKEN: the `Identity` headers of each call's initial INVITE verified offline. Per PASSporT: the token's
//! form and algorithm (ES256 only), the certificate named by its URL taken from the investigator's folder (never
//! fetched), the chain to the trust anchors they gave, validity at the INVITE's capture time, the ES256 signature,
//! the certificate's TNAuthList (RFC 8226) against the caller's number, `orig`/`dest` against From/P-Asserted-
//! Identity and To/Request-URI, `iat` freshness (60 s, RFC 8224 §6.2.4), a diversion PASSporT's chain to the
//! original, and the same token on earlier calls (replay). The call's verdict is the worst of them
//! ([`IdentityVerdict`] is ordered by what it proves against the caller ID).
//!
//! Runs once on the finished analysis (`pipeline`), signatures checked in parallel, results in call order.
//! May import: `model`, `hash`.

pub mod certs;
pub mod passport;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier;
use rayon::prelude::*;

pub use certs::{CertError, CertStore};

use crate::model::{
    Analysis, Call, CallIdentity, DiagLevel, Diagnostic, IdentityVerdict, Layer, LinkStatus,
    MessageRecord, NameAddr, PassportCheck, SignatureCheck, Signer, StartLine,
};
use certs::{Cert, Chain};
use passport::canonical_tn;

/// PASSporTs read from one INVITE (more are counted in the call's reasons, not verified).
pub const MAX_PASSPORTS: usize = 8;
/// `iat` may differ from the INVITE's capture time by this much (RFC 8224 §6.2.4 recommends 60 s).
pub const FRESHNESS_SECS: i64 = 60;
/// Identity diagnostics kept per analysis (the rest are counted in `diagnostics_dropped`).
pub const MAX_DIAGNOSTICS: usize = 1000;

/// What one certificate URL resolved to.
struct Resolved {
    leaf: Arc<Cert>,
    chain: Chain,
}

/// Verifies the Identity headers of every call's initial INVITE and sets [`crate::model::Call::identity`].
/// `store` is the investigator's certificates; without it every token is `certificate-unknown` (its claims are
/// still checked).
pub fn attach(a: &mut Analysis, store: Option<&CertStore>) {
    // 1. Each call's initial INVITE with Identity headers.
    let mut work: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for (ci, call) in a.calls.iter().enumerate() {
        if !call.kind.is_call() {
            continue;
        }
        let Some((mi, m)) = initial_invite(a, call) else {
            continue;
        };
        let values: Vec<String> = m
            .message
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("identity") || n.eq_ignore_ascii_case("y"))
            .map(|(_, v)| v.clone())
            .collect();
        if !values.is_empty() {
            work.push((ci, mi, values));
        }
    }
    if work.is_empty() {
        return;
    }
    // 2. Each certificate URL once.
    let mut resolved: HashMap<String, Option<Resolved>> = HashMap::new();
    if let Some(store) = store {
        for (_, _, values) in &work {
            for v in values.iter().take(MAX_PASSPORTS) {
                let Ok(h) = passport::parse_header(v) else {
                    continue;
                };
                let url = h
                    .info
                    .clone()
                    .or_else(|| passport::decode(&h).ok().and_then(|p| p.x5u));
                let Some(url) = url else { continue };
                resolved.entry(url.clone()).or_insert_with(|| {
                    let file = store.lookup(&url)?;
                    let leaf = file.first()?.clone();
                    let chain = store.chain(&leaf, file);
                    Some(Resolved { leaf, chain })
                });
            }
        }
    }
    // 3. Every call's PASSporTs, in parallel, in call order.
    let messages = &a.messages;
    let checked: Vec<(usize, CallIdentity, Option<String>, Vec<String>)> = work
        .par_iter()
        .filter_map(|(ci, mi, values)| {
            let m = messages.get(*mi)?;
            let (id, key, diags) = check_call(m, values, store, &resolved);
            Some((*ci, id, key, diags))
        })
        .collect();
    // 4. Replays: the same token on a later call that is not a leg of the same call.
    let linked: BTreeSet<(&str, &str)> = a
        .legs
        .iter()
        .filter(|l| l.status != LinkStatus::Rejected)
        .flat_map(|l| [(l.a.as_str(), l.b.as_str()), (l.b.as_str(), l.a.as_str())])
        .collect();
    let mut order: Vec<usize> = (0..checked.len()).collect();
    let start = |i: usize| {
        checked
            .get(i)
            .and_then(|(ci, ..)| a.calls.get(*ci))
            .map(|c| c.start_ts_nanos)
            .unwrap_or_default()
    };
    order.sort_by_key(|&i| (start(i), i));
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    let mut replays: Vec<(usize, String)> = Vec::new();
    for &i in &order {
        let Some((ci, _, Some(key), _)) = checked.get(i) else {
            continue;
        };
        let Some(call) = a.calls.get(*ci) else {
            continue;
        };
        match first_use.get(key.as_str()) {
            None => {
                first_use.insert(key, i);
            }
            Some(&f) => {
                let Some((fci, fid, ..)) = checked.get(f) else {
                    continue;
                };
                let Some(first) = a.calls.get(*fci) else {
                    continue;
                };
                if first.call_id == call.call_id
                    || linked.contains(&(first.call_id.as_str(), call.call_id.as_str()))
                {
                    continue;
                }
                replays.push((
                    i,
                    format!(
                        "the same PASSporT was used by call `{}` (frame {}) before",
                        first.call_id, fid.frame
                    ),
                ));
            }
        }
    }
    let mut checked = checked;
    for (i, reason) in replays {
        if let Some((_, id, ..)) = checked.get_mut(i) {
            id.verdict = id.verdict.min(IdentityVerdict::Replayed);
            id.reasons.push(reason);
        }
    }
    // 5. Into the calls, diagnostics beside the others.
    let mut diags = Vec::new();
    for (ci, id, _, texts) in checked {
        let frame = id.frame;
        diags.extend(texts.into_iter().map(|t| (frame, t)));
        if let Some(call) = a.calls.get_mut(ci) {
            call.identity = Some(id);
        }
    }
    let kept = diags.len().min(MAX_DIAGNOSTICS);
    a.diagnostics_dropped += (diags.len() - kept) as u64;
    a.diagnostics.extend(
        diags
            .into_iter()
            .take(kept)
            .map(|(f, t)| Diagnostic::new(Some(f), Layer::Sip, DiagLevel::Warning, t)),
    );
    a.diagnostics.sort_by_key(|d| d.frame.unwrap_or(0));
}

/// A call's initial INVITE (the first that is not a retransmission), with its index in `Analysis::messages`: the
/// request whose Identity headers are verified.
pub fn initial_invite<'a>(a: &'a Analysis, c: &Call) -> Option<(usize, &'a MessageRecord)> {
    c.messages.iter().find_map(|&mi| {
        let m = a.messages.get(mi)?;
        (!m.retransmission && m.message.method() == Some("INVITE")).then_some((mi, m))
    })
}

/// File-level diagnostics for the certificates that could not be used.
pub fn store_diagnostics(store: &CertStore) -> Vec<Diagnostic> {
    store
        .problems
        .iter()
        .map(|p| Diagnostic::new(None, Layer::Analysis, DiagLevel::Warning, p.clone()))
        .collect()
}

/// One call: every PASSporT checked, the diversion chain, the verdict. Also returns the replay key (the main
/// PASSporT's signature) and diagnostic texts.
fn check_call(
    m: &MessageRecord,
    values: &[String],
    store: Option<&CertStore>,
    resolved: &HashMap<String, Option<Resolved>>,
) -> (CallIdentity, Option<String>, Vec<String>) {
    let secs = m.ts_nanos.div_euclid(1_000_000_000);
    let mut passports = Vec::new();
    let mut signers = Vec::new();
    let mut keys = Vec::new();
    let mut diags = Vec::new();
    for v in values.iter().take(MAX_PASSPORTS) {
        let (p, signer, key, diag) = check_passport(v, m, secs, store, resolved);
        passports.push(p);
        signers.push(signer);
        keys.push(key);
        diags.extend(diag);
    }
    let main = passports
        .iter()
        .position(|p| p.ppt == "shaken")
        .or_else(|| passports.iter().position(|p| p.ppt != "div"))
        .unwrap_or(0);
    // Diversion PASSporTs (RFC 8946) must chain to a PASSporT whose orig is theirs and whose dest is their div.
    let originals: Vec<(Option<String>, Vec<String>)> = passports
        .iter()
        .filter(|p| p.ppt != "div")
        .map(|p| {
            (
                p.orig.as_deref().and_then(canonical_tn),
                p.dest.iter().filter_map(|d| canonical_tn(d)).collect(),
            )
        })
        .collect();
    for p in passports.iter_mut().filter(|p| p.ppt == "div") {
        let orig = p.orig.as_deref().and_then(canonical_tn);
        let div = p.div.as_deref().and_then(canonical_tn);
        let chained = originals
            .iter()
            .any(|(o, d)| o.is_some() && *o == orig && div.as_ref().is_some_and(|x| d.contains(x)));
        if !chained {
            p.verdict = p.verdict.min(IdentityVerdict::ClaimsMismatch);
            p.reasons.push(format!(
                "the diversion PASSporT (orig {}, div {}) does not chain to a PASSporT for that caller and number",
                show(p.orig.as_deref()),
                show(p.div.as_deref())
            ));
        }
    }
    let mut reasons: Vec<String> = Vec::new();
    let several = passports.len() > 1;
    for p in &passports {
        for r in &p.reasons {
            reasons.push(if several {
                format!(
                    "{}: {r}",
                    if p.ppt.is_empty() { "passport" } else { &p.ppt }
                )
            } else {
                r.clone()
            });
        }
    }
    if values.len() > MAX_PASSPORTS {
        reasons.push(format!(
            "{} Identity headers; the first {MAX_PASSPORTS} were checked",
            values.len()
        ));
    }
    let verdict = passports
        .iter()
        .map(|p| p.verdict)
        .min()
        .unwrap_or(IdentityVerdict::Malformed);
    let attestation = passports.get(main).and_then(|p| p.attest.clone());
    let signer = signers.get(main).cloned().flatten();
    let key = keys.get(main).cloned().flatten();
    (
        CallIdentity {
            attestation,
            verdict,
            reasons,
            signer,
            frame: m.frame,
            passports,
        },
        key,
        diags,
    )
}

fn show(s: Option<&str>) -> String {
    s.map_or_else(
        || "none".to_string(),
        |s| s.chars().flat_map(char::escape_default).take(80).collect(),
    )
}

/// A PASSporT, checked against its certificate and the INVITE. Returns the check, the signer, the replay key and
/// a diagnostic for an unreadable token.
fn check_passport(
    value: &str,
    m: &MessageRecord,
    secs: i64,
    store: Option<&CertStore>,
    resolved: &HashMap<String, Option<Resolved>>,
) -> (
    PassportCheck,
    Option<Signer>,
    Option<String>,
    Option<String>,
) {
    let mut c = PassportCheck {
        ppt: String::new(),
        x5u: None,
        attest: None,
        orig: None,
        dest: Vec::new(),
        div: None,
        iat: None,
        origid: None,
        signature: SignatureCheck::Unchecked,
        verdict: IdentityVerdict::Valid,
        reasons: Vec::new(),
    };
    let fail = |c: &mut PassportCheck, v: IdentityVerdict, r: String| {
        c.verdict = c.verdict.min(v);
        c.reasons.push(r);
    };
    let h = match passport::parse_header(value) {
        Ok(h) => h,
        Err(e) => {
            fail(
                &mut c,
                IdentityVerdict::Malformed,
                format!("Identity header: {e}"),
            );
            return (c, None, None, Some(format!("Identity header: {e}")));
        }
    };
    c.ppt = h.ppt.clone().unwrap_or_default();
    c.x5u = h.info.clone();
    let p = match passport::decode(&h) {
        Ok(p) => p,
        Err(e) if e == "compact" => {
            fail(
                &mut c,
                IdentityVerdict::Unsupported,
                "compact form (header and claims left out): not verified".into(),
            );
            return (c, None, None, None);
        }
        Err(e) => {
            fail(&mut c, IdentityVerdict::Malformed, e.clone());
            return (c, None, None, Some(format!("Identity header: {e}")));
        }
    };
    if c.ppt.is_empty() {
        c.ppt = p.ppt.clone().unwrap_or_default();
    }
    c.attest = p.attest.clone();
    c.orig = p.orig.clone();
    c.dest = p.dest.clone();
    c.div = p.div.clone();
    c.iat = p.iat;
    c.origid = p.origid.clone();
    if c.x5u.is_none() {
        c.x5u = p.x5u.clone();
    }
    let key = Some(h.signature_b64.clone());
    // Form: the header's own parameters agree with the token.
    if let (Some(param), Some(inner)) = (h.ppt.as_deref(), p.ppt.as_deref())
        && param != inner
    {
        fail(
            &mut c,
            IdentityVerdict::ClaimsMismatch,
            format!(
                "ppt parameter `{}` but the PASSporT says `{}`",
                show(Some(param)),
                show(Some(inner))
            ),
        );
    }
    if let (Some(info), Some(x5u)) = (h.info.as_deref(), p.x5u.as_deref())
        && info != x5u
    {
        fail(
            &mut c,
            IdentityVerdict::ClaimsMismatch,
            format!(
                "info <{}> but the PASSporT's x5u is <{}>",
                show(Some(info)),
                show(Some(x5u))
            ),
        );
    }
    if c.ppt == "shaken" && !matches!(p.attest.as_deref(), Some("A" | "B" | "C")) {
        fail(
            &mut c,
            IdentityVerdict::Malformed,
            format!(
                "SHAKEN attestation {} is not A, B or C",
                show(p.attest.as_deref())
            ),
        );
    }
    // Freshness.
    match p.iat {
        None => fail(&mut c, IdentityVerdict::Malformed, "no iat claim".into()),
        Some(iat) => {
            let age = secs.saturating_sub(iat);
            if age.abs() > FRESHNESS_SECS {
                let when = if age > 0 { "before" } else { "after" };
                fail(
                    &mut c,
                    IdentityVerdict::Stale,
                    format!(
                        "iat is {} s {when} the INVITE was captured (more than {FRESHNESS_SECS} s)",
                        age.unsigned_abs()
                    ),
                );
            }
        }
    }
    // Claims against the call.
    check_claims(&mut c, m);
    // Algorithm, certificate, chain, validity, signature.
    let alg = p.alg.as_deref().or(h.alg.as_deref());
    if alg != Some("ES256") || h.alg.as_deref().is_some_and(|a| a != "ES256") {
        fail(
            &mut c,
            IdentityVerdict::Unsupported,
            format!("algorithm {} is not ES256", show(alg)),
        );
        return (c, None, key, None);
    }
    let Some(url) = c.x5u.clone() else {
        fail(
            &mut c,
            IdentityVerdict::Malformed,
            "no certificate URL (info or x5u)".into(),
        );
        return (c, None, key, None);
    };
    let Some(store) = store.filter(|s| s.has_folder) else {
        fail(
            &mut c,
            IdentityVerdict::CertificateUnknown,
            format!(
                "no certificate folder was given (--certs; File > Keys in the app) for <{}>",
                show(Some(&url))
            ),
        );
        return (c, None, key, None);
    };
    let Some(Some(r)) = resolved.get(&url) else {
        fail(
            &mut c,
            IdentityVerdict::CertificateUnknown,
            format!(
                "no certificate for <{}> in {} (x5u is never fetched)",
                show(Some(&url)),
                if store.has_folder {
                    "the certificate folder"
                } else {
                    "the store"
                }
            ),
        );
        return (c, None, key, None);
    };
    let leaf = &r.leaf;
    let signer = Signer {
        subject: leaf.subject.clone(),
        issuer: leaf.issuer.clone(),
        spc: leaf.tn_auth.as_ref().and_then(|t| t.spcs.first().cloned()),
        tns: leaf
            .tn_auth
            .as_ref()
            .map(|t| t.numbers())
            .unwrap_or_default(),
        sha256: leaf.sha256.clone(),
    };
    match &leaf.key {
        None => fail(
            &mut c,
            IdentityVerdict::Unsupported,
            format!("certificate `{}` has no P-256 key", leaf.subject),
        ),
        Some(k) => {
            if p.signature.len() != 64 {
                fail(
                    &mut c,
                    IdentityVerdict::Malformed,
                    format!("the signature is {} bytes; ES256 has 64", p.signature.len()),
                );
            } else if let Ok(sig) = Signature::from_slice(&p.signature) {
                if k.verify(h.signing_input.as_bytes(), &sig).is_ok() {
                    c.signature = SignatureCheck::Verified;
                } else {
                    c.signature = SignatureCheck::Failed;
                    fail(
                        &mut c,
                        IdentityVerdict::InvalidSignature,
                        format!(
                            "the ES256 signature does not verify with the key of `{}`",
                            leaf.subject
                        ),
                    );
                }
            } else {
                c.signature = SignatureCheck::Failed;
                fail(
                    &mut c,
                    IdentityVerdict::InvalidSignature,
                    "the signature is not a valid P-256 signature (r or s out of range)".into(),
                );
            }
        }
    }
    if let Err(why) = &r.chain.trusted {
        fail(
            &mut c,
            IdentityVerdict::CertificateUntrusted,
            format!("certificate `{}` is not trusted: {why}", leaf.subject),
        );
    }
    if let Some(bad) = r.chain.invalid_at(secs) {
        fail(
            &mut c,
            IdentityVerdict::CertificateExpired,
            format!(
                "certificate `{}` is valid from {} to {}, not at the call's time",
                bad.subject,
                crate::time::format_utc(bad.not_before.saturating_mul(1_000_000_000), 0),
                crate::time::format_utc(bad.not_after.saturating_mul(1_000_000_000), 0)
            ),
        );
    }
    match &leaf.tn_auth {
        None => fail(
            &mut c,
            IdentityVerdict::CertificateUntrusted,
            format!(
                "certificate `{}` has no TNAuthList (RFC 8226): not an STI certificate",
                leaf.subject
            ),
        ),
        Some(list) => {
            // The signer vouches for the caller's number, or for a diversion PASSporT the diverting number.
            let (what, number) = if c.ppt == "div" {
                ("div", &p.div)
            } else {
                ("orig", &p.orig)
            };
            if let Some(tn) = number.as_deref().and_then(canonical_tn)
                && list.covers(&tn) == Some(false)
            {
                fail(
                    &mut c,
                    IdentityVerdict::ClaimsMismatch,
                    format!(
                        "{what} {tn} is not among the certificate's numbers ({})",
                        list.numbers().join(", ")
                    ),
                );
            }
        }
    }
    (c, Some(signer), key, None)
}

/// `orig` against P-Asserted-Identity/From, `dest` against To/Request-URI (a diversion PASSporT's dest is the
/// diverted-to number, the Request-URI). Numbers compare canonically; a national number equals its international
/// form (a suffix, up to three country-code digits). When the call shows no number, nothing is claimed.
fn check_claims(c: &mut PassportCheck, m: &MessageRecord) {
    let user_of = |n: &NameAddr| -> Option<String> {
        n.user
            .as_deref()
            .or_else(|| n.uri.strip_prefix("tel:"))
            .and_then(canonical_tn)
    };
    let mut callers: Vec<String> = Vec::new();
    for n in m
        .message
        .p_asserted_identity
        .iter()
        .chain(m.message.from.iter())
    {
        if let Some(u) = user_of(n)
            && !callers.contains(&u)
        {
            callers.push(u);
        }
    }
    let ruri = match &m.message.start {
        StartLine::Request { uri, .. } => uri_user(uri).and_then(|u| canonical_tn(&u)),
        StartLine::Response { .. } => None,
    };
    let called: Vec<String> = m
        .message
        .to
        .iter()
        .filter_map(user_of)
        .chain(ruri)
        .collect();
    if let Some(orig) = c.orig.as_deref().and_then(canonical_tn)
        && !callers.is_empty()
        && !callers.iter().any(|x| same_number(x, &orig))
    {
        c.verdict = c.verdict.min(IdentityVerdict::ClaimsMismatch);
        c.reasons.push(format!(
            "orig {orig} is not the caller's number ({})",
            callers.join(", ")
        ));
    }
    let dests: Vec<String> = c.dest.iter().filter_map(|d| canonical_tn(d)).collect();
    if !dests.is_empty()
        && !called.is_empty()
        && !dests
            .iter()
            .any(|d| called.iter().any(|x| same_number(x, d)))
    {
        c.verdict = c.verdict.min(IdentityVerdict::ClaimsMismatch);
        c.reasons.push(format!(
            "dest {} is not the called number ({})",
            dests.join(", "),
            called.join(", ")
        ));
    }
}

/// The user part of a SIP/SIPS/tel URI.
fn uri_user(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))?;
    let user = match rest.find('@') {
        Some(i) => rest.get(..i)?,
        None if uri.starts_with("tel:") => rest,
        None => return None,
    };
    Some(user.split(';').next().unwrap_or_default().to_string())
}

/// Equal numbers, or a national number and its international form.
fn same_number(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.len() - short.len() <= 3 && long.ends_with(short)
}

#[cfg(test)]
mod tests;
