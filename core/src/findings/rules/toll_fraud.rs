//! `toll-fraud`: calls to international and premium prefixes, bursts of calls to one number, such calls outside
//! office hours, with an estimated cost when a rate table is given.

use std::collections::BTreeMap;

use crate::findings::Facts;
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

/// Digits after an international access code, at the least, for a number to count as international behind an
/// outside-line digit: a country code and a subscriber number. Shorter strings are local numbers or service codes
/// (`000` is Australia's emergency number, not `0` + `00`).
const MIN_INTERNATIONAL_DIGITS: usize = 7;

/// How `n` reaches a toll destination: a `toll_prefixes` entry it starts with, or an outside-line digit followed by
/// an international access code and at least [`MIN_INTERNATIONAL_DIGITS`] digits (`9` + `011` + `44…`).
fn toll_route(n: &str, s: &Settings) -> Option<String> {
    if let Some(p) = s
        .toll_prefixes
        .iter()
        .filter(|p| !p.is_empty() && n.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
    {
        return Some(format!("prefix `{p}`"));
    }
    for line in s.outside_line_prefixes.iter().filter(|p| !p.is_empty()) {
        let Some(rest) = n.strip_prefix(line.as_str()) else {
            continue;
        };
        // The longest access code that leaves a foreign number, as the longest toll prefix above.
        if let Some(code) = s
            .international_access_codes
            .iter()
            .filter(|c| !c.is_empty())
            .filter(|c| {
                rest.strip_prefix(c.as_str()).is_some_and(|number| {
                    number.len() >= MIN_INTERNATIONAL_DIGITS
                        && number.bytes().all(|b| b.is_ascii_digit())
                })
            })
            .max_by_key(|c| c.len())
        {
            return Some(format!(
                "outside line `{line}` + international access `{code}`"
            ));
        }
    }
    None
}

impl Rule for TollFraud {
    fn id(&self) -> &'static str {
        "toll-fraud"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        let guessers = f.guessers();
        let mut from_guessers = std::collections::BTreeSet::new();
        let mut ev = Evidence::default();
        let mut by_number: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let (mut after_hours, mut answered, mut minutes, mut cost) = (0u64, 0u64, 0.0f64, 0.0f64);
        let mut priced = false;
        let mut routes: Vec<String> = Vec::new();
        for c in a.calls.iter().filter(|c| c.kind.is_call()) {
            let Some(n) = dialled(c) else {
                continue;
            };
            let Some(route) = toll_route(&n, s) else {
                continue;
            };
            if routes.len() < 20 && !routes.contains(&route) {
                routes.push(route);
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
        let details = format!("{details} Matched by {}.", list(&routes, 6));
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
        } else if after_hours > 1 {
            Severity::High
        } else if after_hours == 1 {
            // One call at night is a pattern of one: worth a look, not an alarm.
            Severity::Medium
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_line_digits_before_an_international_code_are_toll_routes() {
        let s = Settings::default();
        let r = |n: &str| toll_route(n, &s);
        // NANP PBX: 9 for a line, 011 international.
        assert_eq!(
            r("9011442079460000").as_deref(),
            Some("outside line `9` + international access `011`")
        );
        // German PBX: 0 for a line, 00 international.
        assert_eq!(
            r("000442079460000").as_deref(),
            Some("prefix `00`"),
            "00 itself is already a toll prefix"
        );
        assert_eq!(r("+442079460000").as_deref(), Some("prefix `+`"));
        assert_eq!(r("011442079460000").as_deref(), Some("prefix `011`"));
        // Local and national numbers stay out: a NANP number in area code 909, a German national number behind
        // the 0 line digit, a 4-digit extension.
        assert_eq!(r("19095551234"), None);
        assert_eq!(r("0301234567"), None);
        assert_eq!(r("2001"), None);
        // 9 + 011 + a short code is not a foreign subscriber.
        assert_eq!(r("9011123"), None);
        // Australia's code only when configured.
        let mut au = Settings::default();
        au.international_access_codes.push("0011".into());
        assert_eq!(
            toll_route("900114420794600", &au).as_deref(),
            Some("prefix `900`"),
            "the premium prefix is the longer direct match"
        );
        au.toll_prefixes.retain(|p| p != "900");
        assert_eq!(
            toll_route("900114420794600", &au).as_deref(),
            Some("outside line `9` + international access `0011`")
        );
    }
}
