//! `flood`: one source sending INVITE/REGISTER/OPTIONS requests faster than `flood_requests` per
//! `flood_window_secs` (retransmissions not counted), or SIP messages faster than `flood_pps_level1` /
//! `flood_pps_level2` in any one second (every SIP request counts, retransmissions included: the model has no
//! per-packet table; responses are the victim's, not the flooder's). One finding
//! per source and kind.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings};
use crate::model::{Analysis, Confidence, Finding, FrameNo, Severity};

pub struct Flood;

/// Bound on the distinct sources a behavioural rule tracks.
pub(super) const MAX_SOURCES: usize = 100_000;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The largest number of timestamps (sorted ascending) inside any half-open window `[t, t + window)`, and the
/// index of the first one. O(n): two pointers.
pub(super) fn peak_window(ts: &[i64], window_nanos: i64) -> (usize, usize) {
    let mut best = (0usize, 0usize);
    let mut lo = 0usize;
    for (hi, &t) in ts.iter().enumerate() {
        while let Some(&l) = ts.get(lo) {
            if t.saturating_sub(l) >= window_nanos {
                lo = lo.saturating_add(1);
            } else {
                break;
            }
        }
        let n = hi.saturating_add(1).saturating_sub(lo);
        if n > best.0 {
            best = (n, lo);
        }
    }
    best
}

/// Window length in nanoseconds from seconds (at least 1 ns).
pub(super) fn window_nanos(secs: u32) -> i64 {
    i64::from(secs).saturating_mul(NANOS_PER_SEC).max(1)
}

#[derive(Default)]
struct PerSource {
    /// (time, frame) of INVITE/REGISTER/OPTIONS requests, retransmissions excluded.
    requests: Vec<(i64, FrameNo)>,
    /// (time, frame) of every SIP message sent.
    messages: Vec<(i64, FrameNo)>,
}

impl Rule for Flood {
    fn id(&self) -> &'static str {
        "flood"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut by_source: HashMap<IpAddr, PerSource> = HashMap::new();
        // Requests only: a server answering a flood (503s, 401s) is its victim, not a second flooder.
        // A proxy's copy of a request the capture holds from an earlier hop counts there (rules::origins).
        let origins = f.origins();
        for (m, origin) in a.messages.iter().zip(origins) {
            let Some(origin) = origin else {
                continue;
            };
            if origin.copy {
                continue;
            }
            let ip = origin.ip;
            if by_source.len() >= MAX_SOURCES && !by_source.contains_key(&ip) {
                continue;
            }
            let p = by_source.entry(ip).or_default();
            p.messages.push((m.ts_nanos, m.frame));
            if !m.retransmission
                && matches!(
                    m.message.method(),
                    Some("INVITE") | Some("REGISTER") | Some("OPTIONS")
                )
            {
                p.requests.push((m.ts_nanos, m.frame));
            }
        }
        let mut sources: Vec<(IpAddr, PerSource)> = by_source.into_iter().collect();
        sources.sort_by_key(|(ip, _)| *ip);
        let window = window_nanos(s.flood_window_secs);
        for (ip, mut p) in sources {
            p.requests.sort_unstable();
            p.messages.sort_unstable();
            let ts: Vec<i64> = p.requests.iter().map(|(t, _)| *t).collect();
            let (peak, start) = peak_window(&ts, window);
            if s.flood_requests > 0 && peak >= s.flood_requests as usize {
                out.push(self.requests_finding(ip, &p.requests, peak, start, s));
            }
            let ts: Vec<i64> = p.messages.iter().map(|(t, _)| *t).collect();
            let (peak, start) = peak_window(&ts, NANOS_PER_SEC);
            let level1 = s.flood_pps_level1.max(1) as usize;
            if peak >= level1 {
                let high = peak >= s.flood_pps_level2.max(1) as usize;
                out.push(self.pps_finding(ip, &p.messages, peak, start, high, s));
            }
        }
    }
}

fn evidence(ip: IpAddr, items: &[(i64, FrameNo)], start: usize, peak: usize) -> Evidence {
    let mut ev = Evidence::default();
    ev.source(ip);
    for (t, f) in items.iter().skip(start).take(peak) {
        ev.frame(*f, *t);
    }
    ev
}

impl Flood {
    fn requests_finding(
        &self,
        ip: IpAddr,
        requests: &[(i64, FrameNo)],
        peak: usize,
        start: usize,
        s: &Settings,
    ) -> Finding {
        let ev = evidence(ip, requests, start, peak);
        let secs = s.flood_window_secs.max(1);
        let rate = peak as f64 / f64::from(secs);
        let details = format!(
            "{ip} sent {peak} INVITE/REGISTER/OPTIONS requests within {secs} s (about {rate:.1} per second; \
             threshold {} per {secs} s), {} such requests in the whole capture.",
            s.flood_requests,
            requests.len()
        );
        ev.finish(
            FindingText {
                rule_id: self.id(),
                title: format!("SIP request flood from {ip}"),
                details,
                risk: "A burst of SIP requests from one address is a scan, a password-guessing run or a denial of \
                       service: it can exhaust the server's registrar and call-processing capacity and hide \
                       real traffic.",
                remediation: "Rate-limit SIP requests per source at the edge (SBC, firewall, fail2ban/APIBAN), \
                              block the source, and do not expose SIP to the internet without an allow-list.",
                practice: "Rate-limit and police SIP signalling per source.",
            },
            Severity::Medium,
            Confidence::High,
        )
    }

    fn pps_finding(
        &self,
        ip: IpAddr,
        messages: &[(i64, FrameNo)],
        peak: usize,
        start: usize,
        high: bool,
        s: &Settings,
    ) -> Finding {
        let ev = evidence(ip, messages, start, peak);
        let details = format!(
            "{ip} sent {peak} SIP messages within one second (levels {} medium / {} high per second), {} SIP \
             messages in the whole capture.",
            s.flood_pps_level1,
            s.flood_pps_level2,
            messages.len()
        );
        ev.finish(
            FindingText {
                rule_id: self.id(),
                title: format!("SIP packet rate flood from {ip} ({peak}/s)"),
                details,
                risk: "Hundreds of SIP packets per second from one source overload SIP servers and phones and \
                       are a typical denial-of-service or high-speed attack tool signature.",
                remediation: "Police SIP packet rates per source at the edge (SBC, firewall), block the source, \
                              and keep signalling behind an allow-list.",
                practice: "Rate-limit and police SIP signalling per source.",
            },
            if high { Severity::High } else { Severity::Medium },
            Confidence::High,
        )
    }
}
