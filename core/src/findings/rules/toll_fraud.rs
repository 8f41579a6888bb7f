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
        let severity = if !bursts.is_empty() {
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
