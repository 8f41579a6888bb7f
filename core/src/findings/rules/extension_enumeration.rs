//! `extension-enumeration`: one source sending REGISTER/INVITE/OPTIONS requests to at least
//! `enumeration_min_extensions` distinct To users while the server answers most of them 404 and some with an
//! answer that gives the extension away (2xx, 401, 403, 407, 480, 486, 600, 603). The finding lists the
//! extensions the server revealed as existing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

use super::flood::MAX_SOURCES;
use super::{MAX_TRANSACTIONS, TxKey, tx_key};

pub struct ExtensionEnumeration;

/// Bound on the extensions tracked per source.
const MAX_EXTENSIONS: usize = 100_000;

/// What the server's answers said about one extension.
#[derive(Default)]
struct Answers {
    not_found: bool,
    /// Revealing status codes seen.
    revealed: BTreeSet<u16>,
}

#[derive(Default)]
struct PerSource<'a> {
    extensions: BTreeMap<&'a str, Answers>,
    requests: u64,
}

/// Answers that tell a prober the extension exists.
fn reveals(status: u16) -> bool {
    matches!(status, 200..=299 | 401 | 403 | 407 | 480 | 486 | 600 | 603)
}

impl Rule for ExtensionEnumeration {
    fn id(&self) -> &'static str {
        "extension-enumeration"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        // Request transaction -> (To user, origin).
        let mut requests: HashMap<TxKey<'_>, (&str, IpAddr)> = HashMap::new();
        let mut by_source: HashMap<IpAddr, (PerSource<'_>, Evidence)> = HashMap::new();
        let origins = f.origins();
        for (m, origin) in a.messages.iter().zip(origins) {
            if m.retransmission {
                continue;
            }
            let Some(key) = tx_key(m) else {
                continue;
            };
            if m.message.is_request() {
                // A proxy's copy counts at the earlier hop; a forwarded request counts for its origin.
                let Some(origin) = origin.filter(|o| !o.copy) else {
                    continue;
                };
                if !matches!(
                    m.message.method(),
                    Some("REGISTER") | Some("INVITE") | Some("OPTIONS")
                ) {
                    continue;
                }
                let Some(user) = m.message.to.as_ref().and_then(|t| t.user.as_deref()) else {
                    continue;
                };
                let ip = origin.ip;
                if by_source.len() >= MAX_SOURCES && !by_source.contains_key(&ip) {
                    continue;
                }
                let (p, ev) = by_source.entry(ip).or_default();
                p.requests = p.requests.saturating_add(1);
                if p.extensions.len() < MAX_EXTENSIONS || p.extensions.contains_key(user) {
                    p.extensions.entry(user).or_default();
                    ev.frame(m.frame, m.ts_nanos).source(ip);
                }
                if requests.len() < MAX_TRANSACTIONS || requests.contains_key(&key) {
                    requests.insert(key, (user, ip));
                }
                continue;
            }
            let Some(status) = m.message.status() else {
                continue;
            };
            if status < 200 {
                continue;
            }
            // Answers to a forwarded request come back to the relay: they count for the request's origin.
            let Some(&(user, client)) = requests.get(&key) else {
                continue;
            };
            let Some((p, ev)) = by_source.get_mut(&client) else {
                continue;
            };
            let Some(ans) = p.extensions.get_mut(user) else {
                continue;
            };
            if status == 404 {
                ans.not_found = true;
            } else if reveals(status) {
                if ans.revealed.len() < 20 {
                    ans.revealed.insert(status);
                }
                ev.frame(m.frame, m.ts_nanos);
            }
        }
        let mut sources: Vec<(IpAddr, (PerSource<'_>, Evidence))> = by_source.into_iter().collect();
        sources.sort_by_key(|(ip, _)| *ip);
        let min = s.enumeration_min_extensions.max(1) as usize;
        for (ip, (p, mut ev)) in sources {
            let probed = p.extensions.len();
            if probed < min {
                continue;
            }
            let not_found = p.extensions.values().filter(|x| x.not_found).count();
            let revealed: Vec<(&str, &Answers)> = p
                .extensions
                .iter()
                .filter(|(_, x)| !x.revealed.is_empty())
                .map(|(u, x)| (*u, x))
                .collect();
            // The server must be telling extensions apart: most probed extensions answered 404.
            if not_found == 0 || not_found.saturating_mul(2) <= probed {
                continue;
            }
            for (u, _) in &revealed {
                ev.user(u);
            }
            let shown = list(
                revealed.iter().map(|(u, x)| {
                    format!("{u} ({})", list(x.revealed.iter().map(u16::to_string), 4))
                }),
                50,
            );
            let details = if revealed.is_empty() {
                format!(
                    "{ip} probed {probed} distinct extensions with {} REGISTER/INVITE/OPTIONS requests; {not_found} \
                     were answered 404 Not Found and none was revealed as existing.",
                    p.requests
                )
            } else {
                format!(
                    "{ip} probed {probed} distinct extensions with {} REGISTER/INVITE/OPTIONS requests; \
                     {not_found} were answered 404 Not Found and {} were revealed as existing: {shown}.",
                    p.requests,
                    revealed.len()
                )
            };
            let severity = if revealed.is_empty() {
                Severity::Medium
            } else {
                Severity::High
            };
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("Extension enumeration from {ip}"),
                    details,
                    risk: "The server answers differently for existing and missing extensions, so a scanner \
                           learns which accounts exist and can aim password guessing and toll fraud at them.",
                    remediation: "Answer every unauthenticated request the same way whether or not the \
                                  extension exists (e.g. always 401 with a challenge; Asterisk \
                                  alwaysauthreject=yes); block the source and rate-limit probes.",
                    practice: "Do not reveal which extensions exist; detect and block scanning.",
                },
                severity,
                Confidence::High,
            ));
        }
    }
}
