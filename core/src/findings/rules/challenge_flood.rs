//! `challenge-flood`: requests answered 401/407 whose challenge is never answered — no later request with
//! credentials in the same Call-ID, or with the same From user, from that source. A source is reported when
//! `challenge_flood_challenges` unanswered challenges fall within any `challenge_flood_window_secs` window: it
//! makes the server compute and keep nonces for nothing (a denial-of-service pattern) or probes which requests
//! need authentication.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, FrameNo, Severity};

use super::flood::{MAX_SOURCES, peak_window, window_nanos};
use super::{MAX_TRANSACTIONS, TxKey, credentials, tx_key};

pub struct ChallengeFlood;

struct Challenge<'a> {
    /// Position of the challenge in the message list.
    index: usize,
    ts: i64,
    request: FrameNo,
    response: FrameNo,
    status: u16,
    source: IpAddr,
    call_id: &'a str,
    from_user: Option<&'a str>,
    method: &'a str,
}

impl Rule for ChallengeFlood {
    fn id(&self) -> &'static str {
        "challenge-flood"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        // Every request by transaction: (frame, From user).
        let mut requests: HashMap<TxKey<'_>, (FrameNo, Option<&str>)> = HashMap::new();
        // Last position of a credentialed request per (source, Call-ID) and per (source, From user).
        let mut answered_call: HashMap<(IpAddr, &str), usize> = HashMap::new();
        let mut answered_user: HashMap<(IpAddr, &str), usize> = HashMap::new();
        let mut challenges: Vec<Challenge<'_>> = Vec::new();
        let mut challenged: BTreeSet<TxKey<'_>> = BTreeSet::new();
        let origins = f.origins();
        for (index, m) in a.messages.iter().enumerate() {
            // A proxy's copy of a request the capture holds from an earlier hop counts there (rules::origins).
            if m.retransmission
                || origins
                    .get(index)
                    .copied()
                    .flatten()
                    .is_some_and(|o| o.copy)
            {
                continue;
            }
            let Some(key) = tx_key(m) else {
                continue;
            };
            let from_user = m.message.from.as_ref().and_then(|f| f.user.as_deref());
            if m.message.is_request() {
                if credentials(m).is_some() {
                    let ip = m.src.ip();
                    if answered_call.len() < MAX_TRANSACTIONS {
                        answered_call.insert((ip, key.0), index);
                    }
                    if let Some(u) = from_user
                        && answered_user.len() < MAX_TRANSACTIONS
                    {
                        answered_user.insert((ip, u), index);
                    }
                }
                if requests.len() < MAX_TRANSACTIONS || requests.contains_key(&key) {
                    requests.insert(key, (m.frame, from_user));
                }
                continue;
            }
            let Some(status @ (401 | 407)) = m.message.status() else {
                continue;
            };
            let Some(&(request, req_user)) = requests.get(&key) else {
                continue;
            };
            // One challenge per transaction.
            if challenged.len() >= MAX_TRANSACTIONS || !challenged.insert(key) {
                continue;
            }
            challenges.push(Challenge {
                index,
                ts: m.ts_nanos,
                request,
                response: m.frame,
                status,
                source: key.3,
                call_id: key.0,
                from_user: req_user,
                method: key.2,
            });
        }
        let mut by_source: HashMap<IpAddr, Vec<&Challenge<'_>>> = HashMap::new();
        for c in &challenges {
            let later = |i: Option<&usize>| i.is_some_and(|&i| i > c.index);
            if later(answered_call.get(&(c.source, c.call_id)))
                || c.from_user
                    .is_some_and(|u| later(answered_user.get(&(c.source, u))))
            {
                continue;
            }
            if by_source.len() >= MAX_SOURCES && !by_source.contains_key(&c.source) {
                continue;
            }
            by_source.entry(c.source).or_default().push(c);
        }
        let mut sources: Vec<(IpAddr, Vec<&Challenge<'_>>)> = by_source.into_iter().collect();
        sources.sort_by_key(|(ip, _)| *ip);
        let window = window_nanos(s.challenge_flood_window_secs);
        let threshold = s.challenge_flood_challenges.max(1) as usize;
        for (ip, mut cs) in sources {
            cs.sort_by_key(|c| c.ts);
            let ts: Vec<i64> = cs.iter().map(|c| c.ts).collect();
            let (peak, start) = peak_window(&ts, window);
            if peak < threshold {
                continue;
            }
            let mut ev = Evidence::default();
            ev.source(ip);
            let mut methods: BTreeSet<&str> = BTreeSet::new();
            let (mut n401, mut n407) = (0u64, 0u64);
            for c in &cs {
                if c.status == 401 {
                    n401 = n401.saturating_add(1);
                } else {
                    n407 = n407.saturating_add(1);
                }
                if methods.len() < 20 {
                    methods.insert(c.method);
                }
            }
            for c in cs.iter().skip(start).take(peak) {
                ev.frame(c.request, c.ts)
                    .frame(c.response, c.ts)
                    .call(c.call_id);
                if let Some(u) = c.from_user {
                    ev.user(u);
                }
            }
            let details = format!(
                "{ip} left {} authentication challenges unanswered ({n401}× 401, {n407}× 407, to {}); peak {peak} \
                 within {} s (threshold {}). No later request from {ip} carried credentials in those calls or \
                 for those From users.",
                cs.len(),
                list(&methods, 5),
                s.challenge_flood_window_secs,
                s.challenge_flood_challenges
            );
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("Unanswered authentication challenges from {ip}"),
                    details,
                    risk: "A client that triggers challenges and never answers them is probing which requests \
                           need authentication or making the server create nonces and state for nothing — a \
                           scanning and denial-of-service pattern.",
                    remediation: "Rate-limit unauthenticated requests per source (SBC, fail2ban), block the \
                                  source, and keep SIP behind an allow-list.",
                    practice: "Rate-limit and police SIP signalling per source.",
                },
                Severity::Medium,
                Confidence::Medium,
            ));
        }
    }
}
