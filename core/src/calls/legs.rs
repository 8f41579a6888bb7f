//! Legs of one call: Call-IDs that a B2BUA, SBC or PBX joined into one conversation.
//!
//! A correlation header proves a link: a header of the X-Call-ID family on one leg's INVITE that names the other
//! leg's Call-ID, the same `Session-ID` (RFC 7989) or the same `P-Charging-Vector` `icid-value` (RFC 7315) on
//! both. Where no header says so, pairs of calls are scored on what a B2BUA leaves in the capture: the same
//! called number (or a `Diversion`/`History-Info` naming the first leg's), the same calling number, the second
//! INVITE leaving the address the first was sent to, the second leg's INVITE, answer and end following the
//! first's within a second, the first leg's SDP offer relayed unchanged, and the same RTP payloads in both legs'
//! media (a B2BUA that anchors the media relays them under new headers). A pair scoring at least [`PROPOSE_AT`]
//! with a number, SDP or payload match becomes a **proposal**: shown with its score and evidence, for the
//! analyst to confirm or reject ([`apply_decisions`]); it is never presented as proven. Calls whose called or
//! calling numbers differ are not proposed.
//!
//! May import: `model`, `findings` (the listing bound).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use crate::model::{Analysis, Call, LegLink, LinkMethod, LinkStatus, MessageRecord, StartLine};

/// Headers whose value is the other leg's Call-ID (compared case-insensitively; sngrep's and Homer's defaults and
/// the common vendor spellings).
pub const CALL_ID_HEADERS: &[&str] = &[
    "x-call-id",
    "x-cid",
    "x-orig-call-id",
    "x-original-call-id",
    "x-origin-call-id",
    "x-orig-callid",
    "x-original-callid",
    "x-leg-call-id",
];

/// Identical varied RTP payloads two legs must share to count as the same audio.
const MIN_SHARED_PAYLOADS: usize = 4;
/// Lowest score a proposal needs.
pub const PROPOSE_AT: f64 = 0.6;
/// Largest gap between the two legs' INVITEs considered.
const MAX_INVITE_GAP_NANOS: i64 = 10_000_000_000;
/// Calls looked at for proposals (the pairing is windowed by time, so this bounds the work).
pub const MAX_LINK_CALLS: usize = 200_000;
/// Candidate pairs scored per call (the nearest INVITEs after it).
const MAX_CANDIDATES: usize = 64;

/// What one leg's first INVITE says.
struct LegFacts<'a> {
    call: &'a Call,
    index: usize,
    called: Option<String>,
    calling: Option<String>,
    diverted_from: Vec<String>,
    invite_src: Option<IpAddr>,
    invite_dst: Option<IpAddr>,
    invite_path: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
    offer: Vec<(Option<IpAddr>, u16)>,
    named: Vec<(String, String)>,
    session_id: Option<String>,
    icid: Option<String>,
    /// Payload fingerprints of the call's media streams, with their times.
    prints: HashMap<u64, Vec<i64>>,
}

/// Digits of a number (a `+` and visual separators dropped); `None` when it has fewer than 3 digits or letters.
fn number(user: Option<&str>) -> Option<String> {
    let u = user?;
    let u = u.split([';', '@']).next().unwrap_or(u);
    let digits: String = u.chars().filter(char::is_ascii_digit).collect();
    let letters = u.chars().any(|c| c.is_ascii_alphabetic());
    (!letters && digits.len() >= 3).then_some(digits)
}

/// Two numbers are the same when equal, or (both of 9 digits or more) equal in their last 9 digits: `+4930…`
/// and `004930…` and `030…` national forms.
fn same_number(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let tail = |s: &str| s.get(s.len().saturating_sub(9)..).unwrap_or(s).to_string();
    a.len() >= 9 && b.len() >= 9 && tail(a) == tail(b)
}

fn user_of_uri(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let user = rest.split_once('@').map(|(u, _)| u)?;
    Some(user.split(';').next().unwrap_or(user))
}

fn header<'m>(m: &'m MessageRecord, names: &[&str]) -> Vec<(&'m str, &'m str)> {
    m.message
        .headers
        .iter()
        .filter(|(n, _)| names.iter().any(|x| n.eq_ignore_ascii_case(x)))
        .map(|(n, v)| (n.as_str(), v.trim()))
        .collect()
}

fn facts<'a>(a: &'a Analysis, index: usize, call: &'a Call) -> LegFacts<'a> {
    let invite = call
        .messages
        .iter()
        .filter_map(|&i| a.messages.get(i))
        .find(|m| {
            matches!(&m.message.start, StartLine::Request { method, .. } if method == "INVITE")
                && !m.retransmission
        });
    let mut f = LegFacts {
        call,
        index,
        called: None,
        calling: None,
        diverted_from: Vec::new(),
        invite_src: None,
        invite_dst: None,
        invite_path: None,
        offer: Vec::new(),
        named: Vec::new(),
        session_id: None,
        icid: None,
        prints: {
            let mut m: HashMap<u64, Vec<i64>> = HashMap::new();
            for &(p, t) in call
                .streams
                .iter()
                .filter_map(|&i| a.streams.get(i))
                .flat_map(|s| s.payload_prints.iter())
            {
                m.entry(p).or_default().push(t);
            }
            m
        },
    };
    let Some(m) = invite else {
        return f;
    };
    f.invite_src = Some(m.src.ip());
    f.invite_dst = Some(m.dst.ip());
    f.invite_path = Some((m.src, m.dst));
    let ruri_user = match &m.message.start {
        StartLine::Request { uri, .. } => user_of_uri(uri),
        StartLine::Response { .. } => None,
    };
    f.called =
        number(ruri_user).or_else(|| number(call.to.as_ref().and_then(|t| t.user.as_deref())));
    f.calling = number(
        call.asserted_identity
            .as_ref()
            .and_then(|p| p.user.as_deref()),
    )
    .or_else(|| number(call.from.as_ref().and_then(|t| t.user.as_deref())));
    for (_, v) in header(m, &["diversion", "history-info"]) {
        for part in v.split(',') {
            let uri = part.split(['<', '>']).nth(1).unwrap_or(part);
            if let Some(n) = number(user_of_uri(uri)) {
                f.diverted_from.push(n);
            }
        }
    }
    if let Some(sdp) = &m.message.sdp {
        for media in &sdp.media {
            let addr = media.connection.or(sdp.connection);
            if media.port != 0 {
                f.offer.push((addr, media.port));
            }
        }
    }
    for (n, v) in header(m, CALL_ID_HEADERS) {
        let v = v.trim_matches(['<', '>', '"', ' ']);
        if !v.is_empty() && v != call.call_id {
            f.named.push((n.to_string(), v.to_string()));
        }
    }
    f.session_id = header(m, &["session-id"]).first().and_then(|(_, v)| {
        let id = v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase();
        (!id.is_empty() && id.chars().any(|c| c != '0')).then_some(id)
    });
    f.icid = header(m, &["p-charging-vector"])
        .first()
        .and_then(|(_, v)| {
            v.split(';').find_map(|p| {
                let (k, val) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("icid-value")
                    .then(|| val.trim().trim_matches('"').to_string())
            })
        });
    f
}

/// Links the legs of the analysis's calls: header links (proven) and scored proposals.
pub fn link_legs(a: &Analysis) -> Vec<LegLink> {
    let legs: Vec<LegFacts<'_>> = a
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind.is_call())
        .take(MAX_LINK_CALLS)
        .map(|(i, c)| facts(a, i, c))
        .collect();
    let by_id: HashMap<&str, usize> = legs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.call.call_id.as_str(), i))
        .collect();
    let mut links: BTreeMap<(usize, usize), LegLink> = BTreeMap::new();
    let mut linked: HashSet<(usize, usize)> = HashSet::new();
    let order = |x: usize, y: usize| -> (usize, usize) {
        let (cx, cy) = (legs.get(x), legs.get(y));
        match (cx, cy) {
            (Some(p), Some(q))
                if (q.call.start_ts_nanos, q.index) < (p.call.start_ts_nanos, p.index) =>
            {
                (y, x)
            }
            _ => (x, y),
        }
    };
    let mut add_header = |x: usize, y: usize, header: String, evidence: String| {
        let key = order(x, y);
        linked.insert(key);
        let (Some(p), Some(q)) = (legs.get(key.0), legs.get(key.1)) else {
            return;
        };
        links.entry(key).or_insert_with(|| LegLink {
            a: p.call.call_id.clone(),
            b: q.call.call_id.clone(),
            method: LinkMethod::Header,
            header: Some(header),
            score: 1.0,
            evidence: vec![evidence],
            status: LinkStatus::Linked,
        });
    };
    // Headers naming the other leg's Call-ID.
    for (i, l) in legs.iter().enumerate() {
        for (name, value) in &l.named {
            if let Some(&j) = by_id.get(value.as_str())
                && j != i
            {
                add_header(
                    i,
                    j,
                    name.clone(),
                    format!("{name}: {value} on the INVITE of {}", l.call.call_id),
                );
            }
        }
    }
    // The same Session-ID or charging identifier on several legs: each linked to the earliest.
    for (what, get) in [
        (
            "Session-ID",
            (|l: &LegFacts<'_>| l.session_id.clone()) as fn(&LegFacts<'_>) -> Option<String>,
        ),
        ("P-Charging-Vector icid-value", |l: &LegFacts<'_>| {
            l.icid.clone()
        }),
    ] {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, l) in legs.iter().enumerate() {
            if let Some(v) = get(l) {
                groups.entry(v).or_default().push(i);
            }
        }
        for (value, members) in groups.iter().filter(|(_, m)| m.len() > 1) {
            let mut members = members.clone();
            members.sort_by_key(|&i| legs.get(i).map(|l| (l.call.start_ts_nanos, l.index)));
            for w in members.windows(2) {
                if let [x, y] = w {
                    add_header(
                        *x,
                        *y,
                        what.to_string(),
                        format!("the same {what} {value} on both INVITEs"),
                    );
                }
            }
        }
    }
    // Proposals: score pairs in INVITE order within the window.
    let mut by_start: Vec<usize> = (0..legs.len()).collect();
    by_start.sort_by_key(|&i| legs.get(i).map(|l| (l.call.start_ts_nanos, l.index)));
    let mut scored: Vec<(f64, usize, usize, Vec<String>)> = Vec::new();
    for (pos, &x) in by_start.iter().enumerate() {
        let Some(p) = legs.get(x) else { continue };
        for &y in by_start.iter().skip(pos + 1).take(MAX_CANDIDATES) {
            let Some(q) = legs.get(y) else { continue };
            if q.call.start_ts_nanos.saturating_sub(p.call.start_ts_nanos) > MAX_INVITE_GAP_NANOS {
                break;
            }
            if linked.contains(&(x, y)) {
                continue;
            }
            if let Some((score, evidence)) = score_pair(p, q) {
                scored.push((score, x, y, evidence));
            }
        }
    }
    // Best first; each leg gets at most one partner before and one after it (a chain A → B → C).
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut has_next: HashSet<usize> = links.keys().map(|k| k.0).collect();
    let mut has_prev: HashSet<usize> = links.keys().map(|k| k.1).collect();
    for (score, x, y, evidence) in scored {
        if score < PROPOSE_AT || has_next.contains(&x) || has_prev.contains(&y) {
            continue;
        }
        let (Some(p), Some(q)) = (legs.get(x), legs.get(y)) else {
            continue;
        };
        has_next.insert(x);
        has_prev.insert(y);
        links.insert(
            (x, y),
            LegLink {
                a: p.call.call_id.clone(),
                b: q.call.call_id.clone(),
                method: LinkMethod::Score,
                header: None,
                score: (score * 100.0).round() / 100.0,
                evidence,
                status: LinkStatus::Proposed,
            },
        );
    }
    let mut out: Vec<LegLink> = links.into_values().collect();
    out.sort_by(|x, y| {
        let k = |l: &LegLink| {
            (
                by_id
                    .get(l.a.as_str())
                    .and_then(|&i| legs.get(i))
                    .map(|f| (f.call.start_ts_nanos, f.index)),
                by_id
                    .get(l.b.as_str())
                    .and_then(|&i| legs.get(i))
                    .map(|f| (f.call.start_ts_nanos, f.index)),
            )
        };
        k(x).cmp(&k(y))
    });
    out
}

/// The score of `q` being the leg a B2BUA placed for `p` (`p`'s INVITE first), with its evidence; `None` when
/// something rules it out.
fn score_pair(p: &LegFacts<'_>, q: &LegFacts<'_>) -> Option<(f64, Vec<String>)> {
    // The same signalling path twice is a new attempt by the same phone, not a second leg.
    if p.invite_path.is_some() && p.invite_path == q.invite_path {
        return None;
    }
    let mut score = 0.0;
    let mut ev = Vec::new();
    let mut anchored = false;
    match (&p.called, &q.called) {
        (Some(x), Some(y)) if same_number(x, y) => {
            score += 0.35;
            anchored = true;
            ev.push(format!("same called number {y}"));
        }
        (Some(x), Some(_)) => {
            if !q.diverted_from.iter().any(|d| same_number(d, x)) {
                return None;
            }
            score += 0.35;
            anchored = true;
            ev.push(format!(
                "the second leg's Diversion/History-Info names the first leg's called number {x}"
            ));
        }
        _ => {}
    }
    match (&p.calling, &q.calling) {
        (Some(x), Some(y)) if same_number(x, y) => {
            score += 0.25;
            ev.push(format!("same calling number {y}"));
        }
        (Some(_), Some(_)) => return None,
        _ => {}
    }
    if p.invite_dst.is_some() && p.invite_dst == q.invite_src {
        score += 0.2;
        if let Some(ip) = p.invite_dst {
            ev.push(format!(
                "the second INVITE leaves {ip}, where the first was sent"
            ));
        }
    }
    let gap = q.call.start_ts_nanos.saturating_sub(p.call.start_ts_nanos);
    if gap <= 2_000_000_000 {
        score += 0.15 * (1.0 - gap as f64 / 2e9);
        ev.push(format!(
            "second INVITE {:.3} s after the first",
            gap as f64 / 1e9
        ));
    }
    if let (Some(pa), Some(qa)) = (p.call.answer_ts_nanos, q.call.answer_ts_nanos) {
        let d = pa.saturating_sub(qa);
        if (-100_000_000..=1_000_000_000).contains(&d) {
            score += 0.15;
            ev.push(format!(
                "answered {:.3} s apart, the second leg first",
                d as f64 / 1e9
            ));
        }
    }
    if let (Some(pe), Some(qe)) = (p.call.ended_ts_nanos, q.call.ended_ts_nanos)
        && pe.saturating_sub(qe).abs() <= 1_000_000_000
    {
        score += 0.1;
        ev.push(format!(
            "ended {:.3} s apart",
            (pe.saturating_sub(qe)).abs() as f64 / 1e9
        ));
    }
    // The same audio on both legs: a B2BUA that anchors the media relays the payloads under new headers.
    // Relayed within a second of each other (the same recording played in two unrelated calls is not relayed).
    let shared = q
        .prints
        .iter()
        .filter(|(print, times)| {
            p.prints.get(*print).is_some_and(|pt| {
                times.iter().any(|t| {
                    pt.iter()
                        .any(|u| t.saturating_sub(*u).abs() <= 1_000_000_000)
                })
            })
        })
        .count();
    if shared >= MIN_SHARED_PAYLOADS {
        score += 0.4;
        anchored = true;
        ev.push(format!(
            "{shared} RTP payloads of the first leg's media reappear in the second leg's (the audio relayed)"
        ));
    }
    if !p.offer.is_empty() && p.offer == q.offer {
        score += 0.3;
        anchored = true;
        ev.push(
            "the first leg's SDP offer (media address and ports) relayed unchanged".to_string(),
        );
    }
    anchored.then_some((f64::min(score, 0.99), ev))
}

/// Applies the analyst's decisions on proposals (`(a, b, confirmed)`, either order of the Call-IDs): confirmed
/// proposals become `confirmed`, rejected ones `rejected` (kept, so the report records the decision). A decision
/// on a pair not proposed and not linked adds it as confirmed (the analyst linked it by hand) or is ignored.
pub fn apply_decisions(links: &mut Vec<LegLink>, decisions: &[(String, String, bool)]) {
    for (a, b, confirmed) in decisions {
        let found = links
            .iter_mut()
            .find(|l| (&l.a == a && &l.b == b) || (&l.a == b && &l.b == a));
        match found {
            Some(l) if l.method == LinkMethod::Score => {
                l.status = if *confirmed {
                    LinkStatus::Confirmed
                } else {
                    LinkStatus::Rejected
                };
            }
            Some(_) => {}
            None if *confirmed => links.push(LegLink {
                a: a.clone(),
                b: b.clone(),
                method: LinkMethod::Analyst,
                header: None,
                score: 0.0,
                evidence: vec!["linked by the analyst".to_string()],
                status: LinkStatus::Confirmed,
            }),
            None => {}
        }
    }
}

/// A finding about a call is about all its legs: each finding that names a leg also names the legs proven to be
/// the same call (a correlation header, or the analyst's confirmation; never a mere proposal), and says so.
pub fn extend_findings(links: &[LegLink], findings: &mut [crate::model::Finding]) {
    let proven: Vec<LegLink> = links
        .iter()
        .filter(|l| matches!(l.status, LinkStatus::Linked | LinkStatus::Confirmed))
        .cloned()
        .collect();
    if proven.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let mut added = Vec::new();
        for id in f.call_ids.clone() {
            for other in legs_of(&proven, &id).into_iter().skip(1) {
                if !f.call_ids.contains(&other)
                    && !added.contains(&other)
                    && f.call_ids.len() + added.len() < crate::findings::MAX_LISTED
                {
                    added.push(other);
                }
            }
        }
        if added.is_empty() {
            continue;
        }
        f.details.push_str(&format!(
            " The same call continues as {} (linked legs), listed with it.",
            added
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        f.call_ids.extend(added);
    }
}

/// Call-IDs of every leg joined to `call_id` by links not rejected, `call_id` first, then in link order.
pub fn legs_of(links: &[LegLink], call_id: &str) -> Vec<String> {
    let mut out = vec![call_id.to_string()];
    let mut i = 0;
    while let Some(cur) = out.get(i).cloned() {
        for l in links.iter().filter(|l| l.status != LinkStatus::Rejected) {
            for (x, y) in [(&l.a, &l.b), (&l.b, &l.a)] {
                if *x == cur && !out.contains(y) {
                    out.push(y.clone());
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_no_payload_print_and_speech_the_same_one_on_every_leg() {
        use crate::media::tracker::payload_print;
        assert_eq!(
            payload_print(&[0xD5; 160]),
            None,
            "A-law silence is alike in every call"
        );
        assert_eq!(payload_print(&[1, 2, 3]), None, "too short");
        let speech: Vec<u8> = (0..160u32).map(|i| (i * 37 % 251) as u8).collect();
        assert!(payload_print(&speech).is_some());
        assert_eq!(payload_print(&speech), payload_print(&speech.clone()));
        let mut other = speech.clone();
        other[100] ^= 1;
        assert_ne!(payload_print(&speech), payload_print(&other));
    }

    #[test]
    fn numbers_compare_by_their_last_nine_digits() {
        assert!(same_number("4930123456789", "030123456789"));
        assert!(!same_number("1001", "1002"));
        assert_eq!(
            number(Some("+49 (30) 1234-567")).as_deref(),
            Some("49301234567")
        );
        assert_eq!(number(Some("alice")), None);
    }
}
