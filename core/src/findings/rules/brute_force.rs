//! `brute-force`: failed authentications per source address (and per target username across sources). A failure
//! is a request carrying credentials (Authorization / Proxy-Authorization) answered 401/407 (re-challenged) or 403,
//! each request paired with its own final response (`rules::final_responses`: Call-ID, CSeq, client and Via branch,
//! in order). A source (or a
//! user) is reported when it reaches `brute_force_failures` failures within any `brute_force_window_secs`
//! window; a 2xx to a credentialed request from that source after its first failure means the guessing
//! succeeded (critical).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, FrameNo, Severity};

use super::credentials;
use super::flood::{MAX_SOURCES, peak_window, window_nanos};
use super::weak_password::{Guesses, attacker_guesses};

pub struct BruteForce;

struct Failure<'a> {
    ts: i64,
    request: FrameNo,
    response: FrameNo,
    status: u16,
    user: &'a str,
    source: IpAddr,
    call_id: &'a str,
}

/// What became of a guessing source: the users whose credentials were then accepted, and the guesses recovered.
struct Outcome<'a, 'b> {
    cracked: &'b BTreeSet<&'a str>,
    guesses: Option<&'b Guesses>,
}

#[derive(Default)]
struct PerSource<'a> {
    attempts: u64,
    users: BTreeSet<&'a str>,
    failures: Vec<usize>,
    /// (time, user) of 2xx answers to credentialed requests.
    successes: Vec<(i64, &'a str)>,
    /// Credentialed requests whose final answer is not in the capture.
    unanswered: u64,
    /// Proxies that forwarded this source's requests.
    relays: BTreeSet<IpAddr>,
}

impl Rule for BruteForce {
    fn id(&self) -> &'static str {
        "brute-force"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        // Each credentialed request paired with its own final response (per Via branch, in order: a tool that
        // reuses one Call-ID and CSeq for every guess still has each guess answered separately).
        let answers = f.answers();
        let mut failures: Vec<Failure<'_>> = Vec::new();
        let mut by_source: HashMap<IpAddr, PerSource<'_>> = HashMap::new();
        let origins = f.origins();
        for ((m, answer), origin) in a.messages.iter().zip(answers).zip(origins) {
            if m.retransmission || !m.message.is_request() {
                continue;
            }
            // A proxy's copy counts at the earlier hop (the proxy is named as a relay); a forwarded request counts
            // for its origin.
            let Some(origin) = *origin else {
                continue;
            };
            if let Some(r) = origin.relay
                && let Some(p) = by_source.get_mut(&origin.ip)
                && p.relays.len() < 20
            {
                p.relays.insert(r);
            }
            if origin.copy {
                continue;
            }
            let Some(user) = credentials(m) else {
                continue;
            };
            let ip = origin.ip;
            if by_source.len() >= MAX_SOURCES && !by_source.contains_key(&ip) {
                continue;
            }
            let p = by_source.entry(ip).or_default();
            p.attempts = p.attempts.saturating_add(1);
            if p.users.len() < 10_000 {
                p.users.insert(user);
            }
            let Some((status, response)) = *answer else {
                p.unanswered = p.unanswered.saturating_add(1);
                continue;
            };
            if matches!(status, 401 | 403 | 407) {
                p.failures.push(failures.len());
                failures.push(Failure {
                    ts: m.ts_nanos,
                    request: m.frame,
                    response,
                    status,
                    user,
                    source: ip,
                    call_id: m.message.call_id.as_deref().unwrap_or(""),
                });
            } else if (200..300).contains(&status) {
                p.successes.push((m.ts_nanos, user));
            }
        }
        let window = window_nanos(s.brute_force_window_secs);
        let threshold = s.brute_force_failures.max(1) as usize;
        let mut sources: Vec<(IpAddr, PerSource<'_>)> = by_source.into_iter().collect();
        sources.sort_by_key(|(ip, _)| *ip);
        let mut reported_sources: BTreeSet<IpAddr> = BTreeSet::new();
        let mut reported: Vec<(IpAddr, PerSource<'_>, usize, BTreeSet<&str>)> = Vec::new();
        for (ip, mut p) in sources {
            p.failures
                .sort_by_key(|&i| failures.get(i).map_or(0, |f| f.ts));
            let ts: Vec<i64> = p
                .failures
                .iter()
                .filter_map(|&i| failures.get(i).map(|f| f.ts))
                .collect();
            let (peak, _) = peak_window(&ts, window);
            if peak < threshold {
                continue;
            }
            reported_sources.insert(ip);
            let first_failure = ts.first().copied().unwrap_or(i64::MIN);
            let cracked: BTreeSet<&str> = p
                .successes
                .iter()
                .filter(|(t, _)| *t > first_failure)
                .map(|(_, u)| *u)
                .collect();
            reported.push((ip, p, peak, cracked));
        }
        // The passwords the guessers tried, recovered from their rejected digests (never the accounts' passwords).
        let guesses = attacker_guesses(f, s, &reported_sources);
        for (ip, p, peak, cracked) in reported {
            let fs: Vec<&Failure<'_>> =
                p.failures.iter().filter_map(|&i| failures.get(i)).collect();
            let mut unanswered = if p.unanswered > 0 {
                format!(
                    "; {} of them got no final answer in the capture",
                    p.unanswered
                )
            } else {
                String::new()
            };
            if !p.relays.is_empty() {
                unanswered.push_str(&format!(
                    "; relayed by {} (proxies forwarding them, not the attacker)",
                    list(&p.relays, 5)
                ));
            }
            out.push(self.finding(
                format!("Password guessing from {ip}"),
                format!(
                    "{ip} sent {} requests with credentials for {} usernames ({}){unanswered}",
                    p.attempts,
                    p.users.len(),
                    list(p.users.iter().map(|u| format!("`{u}`")), 10)
                ),
                &fs,
                peak,
                Outcome {
                    cracked: &cracked,
                    guesses: guesses.get(&ip),
                },
                s,
            ));
        }
        // Per target user, across sources (a distributed attack no single source reveals).
        let mut by_user: BTreeMap<&str, Vec<&Failure<'_>>> = BTreeMap::new();
        for f in &failures {
            if f.user.is_empty() || reported_sources.contains(&f.source) {
                continue;
            }
            if by_user.len() >= MAX_SOURCES && !by_user.contains_key(f.user) {
                continue;
            }
            by_user.entry(f.user).or_default().push(f);
        }
        for (user, mut fs) in by_user {
            fs.sort_by_key(|f| f.ts);
            let ts: Vec<i64> = fs.iter().map(|f| f.ts).collect();
            let (peak, _) = peak_window(&ts, window);
            if peak < threshold {
                continue;
            }
            let srcs: BTreeSet<IpAddr> = fs.iter().map(|f| f.source).collect();
            out.push(self.finding(
                format!("Password guessing against user {user}"),
                format!(
                    "{} sources ({}) failed to authenticate as `{user}`",
                    srcs.len(),
                    list(&srcs, 10)
                ),
                &fs,
                peak,
                Outcome {
                    cracked: &BTreeSet::new(),
                    guesses: None,
                },
                s,
            ));
        }
    }
}

impl BruteForce {
    fn finding(
        &self,
        title: String,
        who: String,
        fs: &[&Failure<'_>],
        peak: usize,
        outcome: Outcome<'_, '_>,
        s: &Settings,
    ) -> Finding {
        let Outcome { cracked, guesses } = outcome;
        let mut ev = Evidence::default();
        let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
        let mut users: BTreeSet<&str> = BTreeSet::new();
        for f in fs {
            ev.frame(f.request, f.ts)
                .frame(f.response, f.ts)
                .source(f.source)
                .call(f.call_id);
            if !f.user.is_empty() {
                ev.user(f.user);
                if users.len() < 10_000 {
                    users.insert(f.user);
                }
            }
            let c = by_status.entry(f.status).or_default();
            *c = c.saturating_add(1);
        }
        for u in cracked {
            ev.user(u);
        }
        let first = fs.first().map_or(0, |f| f.ts);
        let last = fs.last().map_or(0, |f| f.ts);
        let outcome = if cracked.is_empty() {
            "No credentialed request was accepted after the failures: the guessing did not succeed in this \
             capture."
                .to_string()
        } else {
            format!(
                "The server then accepted credentials (2xx) for {}: the password was guessed.",
                list(cracked.iter().map(|u| format!("`{u}`")), 10)
            )
        };
        let tried = match guesses {
            Some(g) if !g.found.is_empty() => format!(
                " Guesses the attacker tried, recovered from {} of {} rejected or unanswered digest responses (the \
                 user-name guesses, the bundled list{}): {}.",
                g.found.len(),
                g.tried,
                if s.wordlist.is_some() {
                    ", the wordlist"
                } else {
                    ""
                },
                list(
                    g.found.iter().map(|x| format!(
                        "`{}` {} (frame {})",
                        x.user,
                        x.shown,
                        crate::model::frame_label(x.frame)
                    )),
                    30
                )
            ),
            Some(g) if g.tried > 0 => format!(
                " None of the {} rejected or unanswered digest responses matches the user-name guesses or the \
                 bundled list.",
                g.tried
            ),
            _ => String::new(),
        };
        let details = format!(
            "{who}; {} failed ({}) for {} usernames between {} and {} (UTC); peak {peak} failures within {} s \
             (threshold {}). {outcome}{tried}",
            fs.len(),
            list(by_status.iter().map(|(c, n)| format!("{n}× {c}")), 5),
            users.len(),
            utc(first),
            utc(last),
            s.brute_force_window_secs,
            s.brute_force_failures,
        );
        ev.finish(
            FindingText {
                rule_id: self.id(),
                title,
                details,
                risk: "Someone is guessing SIP passwords online. A guessed account can register as the \
                       extension, place calls billed to the victim (toll fraud) and intercept its calls.",
                remediation: "Block the source; lock out or rate-limit repeated authentication failures \
                              (fail2ban, SBC policies); use long random SIP passwords and restrict registration \
                              to known networks. If the guessing succeeded, change that account's password now \
                              and review its call records.",
                practice: "Lock out repeated authentication failures; strong SIP passwords.",
            },
            if cracked.is_empty() {
                Severity::High
            } else {
                Severity::Critical
            },
            Confidence::High,
        )
    }
}

/// `YYYY-MM-DD hh:mm:ss` of a UTC nanosecond timestamp.
fn utc(ts_nanos: i64) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
