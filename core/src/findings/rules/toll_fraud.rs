//! `toll-fraud`: calls to international and premium prefixes, bursts of calls to one number, such calls outside
//! office hours, with an estimated cost when a rate table is given.

use std::collections::BTreeMap;

use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct TollFraud;

/// The dialled number of a call: the To user, without visual separators.
fn dialled(c: &crate::model::Call) -> Option<String> {
    let u = c.to.as_ref()?.user.as_deref()?;
    let n: String = u
        .chars()
        .filter(|ch| !matches!(ch, '-' | '.' | ' ' | '(' | ')'))
        .collect();
    (!n.is_empty()).then_some(n)
}

impl Rule for TollFraud {
    fn id(&self) -> &'static str {
        "toll-fraud"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, out: &mut Vec<Finding>) {
        let guessers = password_guessers(a, s.brute_force_failures.max(1));
        let mut from_guessers = std::collections::BTreeSet::new();
        let mut ev = Evidence::default();
        let mut by_number: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let (mut after_hours, mut answered, mut minutes, mut cost) = (0u64, 0u64, 0.0f64, 0.0f64);
        let mut priced = false;
        for c in a.calls.iter().filter(|c| c.kind == "call") {
            let Some(n) = dialled(c) else {
                continue;
            };
            if !s
                .toll_prefixes
                .iter()
                .any(|p| !p.is_empty() && n.starts_with(p.as_str()))
            {
                continue;
            }
            if let Some(&f) = c.frames.first() {
                ev.frame(f, c.start_ts_nanos);
            }
            ev.call(&c.call_id).user(&n);
            for ep in c.endpoints.iter().take(2) {
                ev.source(ep.ip());
            }
            // The INVITE's source: was it guessing passwords earlier in the capture?
            if let Some(src) = c
                .messages
                .first()
                .and_then(|&i| a.messages.get(i))
                .map(|m| m.src.ip())
                && guessers.contains(&src)
            {
                from_guessers.insert(src);
            }
            if by_number.len() < 100_000 || by_number.contains_key(&n) {
                by_number
                    .entry(n.clone())
                    .or_default()
                    .push(c.start_ts_nanos);
            }
            let local_min = (c.start_ts_nanos.div_euclid(60_000_000_000)
                + i64::from(s.utc_offset_minutes))
            .rem_euclid(24 * 60);
            let hour = local_min / 60;
            if hour < i64::from(s.office_hours_start) || hour >= i64::from(s.office_hours_end) {
                after_hours += 1;
            }
            if c.answered {
                answered += 1;
                let m = c.duration_secs.unwrap_or(0.0) / 60.0;
                minutes += m;
                if let Some((_, rate)) = s
                    .rates_per_minute
                    .iter()
                    .filter(|(p, _)| n.starts_with(p.as_str()))
                    .max_by_key(|(p, _)| p.len())
                {
                    cost += m * rate;
                    priced = true;
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let window = i64::from(s.toll_burst_window_secs) * 1_000_000_000;
        let mut bursts = Vec::new();
        for (n, times) in &mut by_number {
            times.sort_unstable();
            let mut lo = 0;
            let mut peak = 0usize;
            for hi in 0..times.len() {
                while times
                    .get(hi)
                    .zip(times.get(lo))
                    .is_some_and(|(h, l)| h - l > window)
                {
                    lo += 1;
                }
                peak = peak.max(hi + 1 - lo);
            }
            if peak > s.toll_burst_calls as usize {
                bursts.push(format!("{n} ×{peak}"));
            }
        }
        let calls = ev.calls().len();
        let details = format!(
            "{calls} calls to international/premium numbers ({}), {answered} answered ({minutes:.1} min){}; {} \
             outside office hours ({:02}:00-{:02}:00 UTC{:+}){}.",
            list(ev.users(), 6),
            if priced {
                format!(", estimated cost {cost:.2}")
            } else {
                String::new()
            },
            after_hours,
            s.office_hours_start,
            s.office_hours_end,
            f64::from(s.utc_offset_minutes) / 60.0,
            if bursts.is_empty() {
                String::new()
            } else {
                format!(
                    "; bursts of more than {} calls within {} s: {}",
                    s.toll_burst_calls,
                    s.toll_burst_window_secs,
                    list(&bursts, 5)
                )
            }
        );
        let details = if from_guessers.is_empty() {
            details
        } else {
            format!(
                "{details} Calls came from {} — a source whose credentials the server had rejected before (password \
                 guessing), so the account that placed them is likely compromised.",
                list(&from_guessers, 3)
            )
        };
        let severity = if !bursts.is_empty() || !from_guessers.is_empty() {
            Severity::Critical
        } else if after_hours > 0 {
            Severity::High
        } else {
            Severity::Low
        };
        out.push(ev.finish(
            FindingText {
                rule_id: self.id(),
                title: "Calls to international or premium numbers".into(),
                details,
                risk: "Toll fraud: a compromised account or open trunk pumps calls to expensive destinations \
                       (often at night, in bursts, to numbers the attacker is paid for); the bill arrives later.",
                remediation: "Restrict international and premium destinations per account, set spending and \
                              concurrent-call limits, block calls outside business hours, and alert on bursts.",
                practice: "Least-privilege dial plans and fraud monitoring.",
            },
            severity,
            Confidence::Medium,
        ));
    }
}

/// Sources that sent at least `min` credentialed requests the server rejected (401/407/403): password guessers
/// (a phone whose nonce went stale is rejected once in a while, not `min` times). Transactions are matched as the
/// brute-force rule matches them (`rules::tx_key`).
fn password_guessers(a: &Analysis, min: u32) -> std::collections::BTreeSet<std::net::IpAddr> {
    use super::{MAX_TRANSACTIONS, credentials, tx_key};
    let mut sent = std::collections::HashSet::new();
    let mut rejected: std::collections::HashMap<std::net::IpAddr, u32> =
        std::collections::HashMap::new();
    for m in a.messages.iter().filter(|m| !m.retransmission) {
        let Some(key) = tx_key(m) else {
            continue;
        };
        if m.message.is_request() {
            if credentials(m).is_some() && sent.len() < MAX_TRANSACTIONS {
                sent.insert(key);
            }
        } else if matches!(m.message.status(), Some(401 | 403 | 407))
            && sent.contains(&key)
            && (rejected.len() < 100_000 || rejected.contains_key(&key.3))
        {
            *rejected.entry(key.3).or_default() += 1;
        }
    }
    rejected
        .into_iter()
        .filter(|(_, n)| *n >= min)
        .map(|(ip, _)| ip)
        .collect()
}
