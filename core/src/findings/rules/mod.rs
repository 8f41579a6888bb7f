//! The rules, one file each, in the documented order (docs/findings.md). Adding a rule is one file plus one line
//! in [`ALL`]. Helpers several rules share live here: `plaintext`, and SIP transaction matching (`tx_key`,
//! `credentials`).

mod analysis_limited;
mod brute_force;
mod caller_id_spoofing;
mod challenge_flood;
mod digest_exposed;
mod dtls_fingerprint_mismatch;
mod dtmf_secret;
mod emergency_call;
mod extension_enumeration;
mod flood;
mod header_injection;
mod management_port;
mod no_forward_secrecy;
mod outdated_tls;
mod plaintext_sip;
mod registration_hijack;
mod routing_loop;
mod scanner;
mod sdes_keys_in_tls;
mod srtp_keys_exposed;
mod stir_shaken;
mod toll_fraud;
mod unencrypted_media;
mod version_disclosure;
mod weak_password;

use super::Rule;
pub use weak_password::crack_benchmark;
pub(crate) use weak_password::{Collected as Digests, collect as collect_digests, read_wordlist};

/// Every rule, in the documented order.
pub static ALL: &[&dyn Rule] = &[
    &plaintext_sip::PlaintextSip,
    &outdated_tls::OutdatedTls,
    &no_forward_secrecy::NoForwardSecrecy,
    &unencrypted_media::UnencryptedMedia,
    &srtp_keys_exposed::SrtpKeysExposed,
    &sdes_keys_in_tls::SdesKeysInTls,
    &dtls_fingerprint_mismatch::DtlsFingerprintMismatch,
    &digest_exposed::DigestExposed,
    &weak_password::WeakPassword,
    &scanner::Scanner,
    &extension_enumeration::ExtensionEnumeration,
    &brute_force::BruteForce,
    &challenge_flood::ChallengeFlood,
    &flood::Flood,
    &toll_fraud::TollFraud,
    &caller_id_spoofing::CallerIdSpoofing,
    &stir_shaken::StirShaken,
    &header_injection::HeaderInjection,
    &version_disclosure::VersionDisclosure,
    &registration_hijack::RegistrationHijack,
    &routing_loop::RoutingLoop,
    &management_port::ManagementPort,
    &dtmf_secret::DtmfSecret,
    &emergency_call::EmergencyCall,
    &analysis_limited::AnalysisLimited,
];

/// True for transports anyone on the path can read.
pub(crate) fn plaintext(t: crate::model::Transport) -> bool {
    !matches!(
        t,
        crate::model::Transport::Tls | crate::model::Transport::Wss
    )
}

/// The SDES keys (`a=crypto` inline in SDP) carried by messages in clear (`in_clear`) or inside TLS/WSS: the
/// evidence (frames, senders, calls), the suites, and how many keys.
pub(crate) fn sdes_keys(
    a: &crate::model::Analysis,
    in_clear: bool,
) -> (
    crate::findings::Evidence,
    std::collections::BTreeSet<String>,
    usize,
) {
    let mut ev = crate::findings::Evidence::default();
    let mut suites = std::collections::BTreeSet::new();
    let mut keys = 0usize;
    for m in a
        .messages
        .iter()
        .filter(|m| plaintext(m.transport) == in_clear)
    {
        let Some(sdp) = &m.message.sdp else {
            continue;
        };
        let crypto: Vec<_> = sdp.media.iter().flat_map(|md| md.crypto.iter()).collect();
        if crypto.is_empty() {
            continue;
        }
        keys += crypto.len();
        for c in crypto {
            suites.insert(c.suite.clone());
        }
        ev.frame(m.frame, m.ts_nanos).source(m.src.ip());
        if let Some(c) = &m.message.call_id {
            ev.call(c);
        }
    }
    (ev, suites, keys)
}

/// A SIP transaction as seen from the client: Call-ID, CSeq number and method, client address.
pub(crate) type TxKey<'a> = (&'a str, u32, &'a str, std::net::IpAddr);

/// Bound on the requests remembered for matching responses.
pub(crate) const MAX_TRANSACTIONS: usize = 2_000_000;

/// The transaction key of a request (client = source) or of a response (client = destination).
pub(crate) fn tx_key(m: &crate::model::MessageRecord) -> Option<TxKey<'_>> {
    let call_id = m.message.call_id.as_deref()?;
    let cseq = m.message.cseq.as_ref()?;
    let client = if m.message.is_request() {
        m.src.ip()
    } else {
        m.dst.ip()
    };
    Some((call_id, cseq.seq, cseq.method.as_str(), client))
}

/// True when the message carries credentials; the first username given (or "").
pub(crate) fn credentials(m: &crate::model::MessageRecord) -> Option<&str> {
    m.message
        .auth
        .iter()
        .find(|f| f.is_credentials())
        .map(|f| f.param("username").unwrap_or(""))
}

/// A request's transaction as a server answers it: [`TxKey`] and the top Via branch (RFC 3261 §17.1.3; "" when
/// absent). Tools that reuse one Call-ID and CSeq for every guess (SIPVicious `svcrack` against a server without
/// `qop`) still send each guess with its own branch.
type BranchKey<'a> = (TxKey<'a>, &'a str);

fn branch_key(m: &crate::model::MessageRecord) -> Option<BranchKey<'_>> {
    let branch = m
        .message
        .via
        .first()
        .and_then(|v| v.branch.as_deref())
        .unwrap_or("");
    Some((tx_key(m)?, branch))
}

/// The final response (status, frame) each request received, by message index: `out[i]` for `a.messages[i]`,
/// `None` for responses, retransmitted requests, ACKs and requests whose final response is not in the capture.
/// Requests and final responses are paired per transaction ([`BranchKey`]) in order, so a tool that sends many
/// guesses under one Call-ID and CSeq has each guess paired with its own answer, and a retransmitted response
/// pairs with nothing. At most [`MAX_TRANSACTIONS`] requests wait for their answer at once.
pub(crate) fn final_responses(
    a: &crate::model::Analysis,
) -> Vec<Option<(u16, crate::model::FrameNo)>> {
    use std::collections::{HashMap, VecDeque};
    let mut out = vec![None; a.messages.len()];
    let mut waiting: HashMap<BranchKey<'_>, VecDeque<usize>> = HashMap::new();
    let mut waiting_total = 0usize;
    for (i, m) in a.messages.iter().enumerate() {
        if m.retransmission {
            continue;
        }
        let Some(key) = branch_key(m) else {
            continue;
        };
        match m.message.status() {
            None => {
                if m.message.method() == Some("ACK") || waiting_total >= MAX_TRANSACTIONS {
                    continue;
                }
                waiting.entry(key).or_default().push_back(i);
                waiting_total += 1;
            }
            Some(code) if code >= 200 => {
                let Some(q) = waiting.get_mut(&key) else {
                    continue;
                };
                if let Some(req) = q.pop_front() {
                    waiting_total = waiting_total.saturating_sub(1);
                    if let Some(slot) = out.get_mut(req) {
                        *slot = Some((code, m.frame));
                    }
                }
                if q.is_empty() {
                    waiting.remove(&key);
                }
            }
            Some(_) => {}
        }
    }
    out
}

/// Sources that sent at least `min` credentialed requests the server rejected (401/407/403): password guessers
/// (a phone whose nonce went stale is rejected once in a while, not `min` times). Each request is paired with its
/// own answer ([`final_responses`]).
pub(crate) fn password_guessers(
    a: &crate::model::Analysis,
    answers: &[Option<(u16, crate::model::FrameNo)>],
    min: u32,
) -> std::collections::BTreeSet<std::net::IpAddr> {
    let mut rejected: std::collections::HashMap<std::net::IpAddr, u32> =
        std::collections::HashMap::new();
    for (m, answer) in a.messages.iter().zip(answers) {
        if matches!(answer, Some((401 | 403 | 407, _)))
            && credentials(m).is_some()
            && (rejected.len() < 100_000 || rejected.contains_key(&m.src.ip()))
        {
            let n = rejected.entry(m.src.ip()).or_default();
            *n = n.saturating_add(1);
        }
    }
    rejected
        .into_iter()
        .filter(|(_, n)| *n >= min)
        .map(|(ip, _)| ip)
        .collect()
}

/// Who sent a request, as far as the capture proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The address the request is attributed to.
    pub ip: std::net::IpAddr,
    /// The proxy that forwarded this copy (the packet's source), when it is not the origin.
    pub relay: Option<std::net::IpAddr>,
    /// This packet is a relayed copy of a request the capture also holds from an earlier hop: count it once, there.
    pub copy: bool,
}

/// The origin of each request, by message index (`None` for responses): a request forwarded by a proxy keeps its
/// Call-ID, CSeq and the bottom Via (with the origin's branch); when the capture holds the same request from an
/// earlier hop, this packet is a copy and the origin is that hop's; otherwise a request with more than one Via was
/// forwarded by its source, and the origin is what the bottom Via says (`received`, else `sent-by` when it is an
/// address), and the packet's source is named as the relay.
pub(crate) fn origins(a: &crate::model::Analysis) -> Vec<Option<Origin>> {
    use std::collections::HashMap;
    type Key<'a> = (&'a str, u32, &'a str, &'a str);
    let mut first: HashMap<Key<'_>, Origin> = HashMap::new();
    let mut out = Vec::with_capacity(a.messages.len());
    for m in &a.messages {
        if !m.message.is_request() {
            out.push(None);
            continue;
        }
        let src = m.src.ip();
        let bottom = m.message.via.last();
        let key = match (
            m.message.call_id.as_deref(),
            m.message.cseq.as_ref(),
            bottom,
        ) {
            (Some(c), Some(cseq), Some(v)) => v
                .branch
                .as_deref()
                .map(|b| (c, cseq.seq, cseq.method.as_str(), b)),
            _ => None,
        };
        if let Some(k) = key
            && let Some(o) = first.get(&k)
            && o.ip != src
            && o.relay != Some(src)
        {
            out.push(Some(Origin {
                ip: o.ip,
                relay: Some(src),
                copy: true,
            }));
            continue;
        }
        let claimed = (m.message.via.len() > 1)
            .then(|| {
                let v = bottom?;
                v.received
                    .as_deref()
                    .and_then(|r| r.parse::<std::net::IpAddr>().ok())
                    .or_else(|| via_host_ip(&v.sent_by))
            })
            .flatten()
            .filter(|ip| *ip != src);
        let o = match claimed {
            Some(ip) => Origin {
                ip,
                relay: Some(src),
                copy: false,
            },
            None => Origin {
                ip: src,
                relay: None,
                copy: false,
            },
        };
        if let Some(k) = key
            && (first.len() < MAX_TRANSACTIONS)
        {
            first.entry(k).or_insert(o);
        }
        out.push(Some(o));
    }
    out
}

/// The address a message counts for in a per-source rule: its origin ([`origins`]; the packet's source for a
/// response), or `None` for a retransmission or a proxy's copy of a request counted at an earlier hop.
pub(crate) fn counted_source(
    m: &crate::model::MessageRecord,
    origin: Option<&Origin>,
) -> Option<std::net::IpAddr> {
    if m.retransmission {
        return None;
    }
    match origin {
        Some(o) if o.copy => None,
        Some(o) => Some(o.ip),
        None => Some(m.src.ip()),
    }
}

/// The host of a Via `sent-by` (`host[:port]`, `[v6]:port`) when it is an IP address.
pub(crate) fn via_host_ip(sent_by: &str) -> Option<std::net::IpAddr> {
    let h = sent_by.trim().trim_start_matches('[');
    let h = h.split(']').next().unwrap_or(h);
    let h = if h.matches(':').count() == 1 {
        h.split(':').next().unwrap_or(h)
    } else {
        h
    };
    h.parse().ok()
}

/// IAX2 credentials in a capture: how an IAX2 peer proved (or tried to prove) who it is.
#[derive(Debug, Clone)]
pub(crate) struct Iax2Credential {
    /// The user name (the frame's `username`, else its challenge's, else the call's `NEW`'s); "" when none.
    pub user: String,
    /// The challenge it answered (`AUTHREQ`/`REGAUTH`), when it is in the capture.
    pub challenge: Option<String>,
    /// The authentication methods the challenger offered (`plaintext,md5`), "" when unknown.
    pub methods: String,
    pub challenge_frame: Option<crate::model::FrameNo>,
    /// The 32 hex digits of an MD5 response, or the password sent in clear.
    pub secret: Iax2Secret,
    /// The `AUTHREP`/`REGREQ` frame that carried it.
    pub frame: crate::model::FrameNo,
    pub ts_nanos: i64,
    pub source: std::net::IpAddr,
    pub call: Option<String>,
    /// The challenger's `ACCEPT`/`REGACK` (accepted) or `REJECT`/`REGREJ` (refused) that followed, when captured.
    pub outcome: Option<(bool, crate::model::FrameNo)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Iax2Secret {
    Md5(String),
    Plaintext(String),
}

/// Credentials kept per capture by [`iax2_credentials`].
pub(crate) const MAX_IAX2_CREDENTIALS: usize = 10_000;

/// Every IAX2 `AUTHREP`/`REGREQ` that carried an MD5 response or a plaintext password (retransmissions left out),
/// with the challenge it answered (the last `AUTHREQ`/`REGAUTH` the challenger sent under the call number the
/// response is addressed to) and what the challenger answered. At most [`MAX_IAX2_CREDENTIALS`].
pub(crate) fn iax2_credentials(a: &crate::model::Analysis) -> Vec<Iax2Credential> {
    use crate::model::Protocol;
    use std::collections::HashMap;
    use std::net::SocketAddr;
    let iax: Vec<&crate::model::SignalRecord> = a
        .signals
        .iter()
        .filter(|r| r.protocol == Protocol::Iax2 && !r.retransmission)
        .collect();
    if iax.is_empty() {
        return Vec::new();
    }
    let mut call_of: HashMap<usize, &str> = HashMap::new();
    let mut user_of: HashMap<&str, &str> = HashMap::new();
    for c in a.calls.iter().filter(|c| c.protocol == Protocol::Iax2) {
        for &i in &c.signals {
            call_of.insert(i, c.call_id.as_str());
        }
    }
    for r in &iax {
        if let (Some(c), Some(u)) = (call_of.get(&r.index), r.element("username")) {
            user_of.entry(c).or_insert(u);
        }
    }
    // (sender, receiver, sender's call number).
    type Side = (SocketAddr, SocketAddr, u16);
    // (challenger, responder, challenger's call number) -> the last challenge.
    let mut challenges: HashMap<Side, &crate::model::SignalRecord> = HashMap::new();
    // Sender's side -> its ACCEPT/REGACK/REJECT/REGREJ (record index, accepted, frame), in order.
    let mut outcomes: HashMap<Side, Vec<(usize, bool, u64)>> = HashMap::new();
    for r in &iax {
        let Some([source, _]) = r.call_numbers else {
            continue;
        };
        let accepted = match r.command() {
            "ACCEPT" | "REGACK" => true,
            "REJECT" | "REGREJ" => false,
            _ => continue,
        };
        let list = outcomes.entry((r.src, r.dst, source)).or_default();
        if list.len() < 64 {
            list.push((r.index, accepted, r.frame));
        }
    }
    let mut out = Vec::new();
    for r in &iax {
        let Some([_, dest]) = r.call_numbers else {
            continue;
        };
        if r.element("challenge").is_some() {
            challenges.insert((r.src, r.dst, r.call_numbers.map_or(0, |[s, _]| s)), r);
            continue;
        }
        let secret = match (r.element("md5 result"), r.element("password")) {
            (Some(m), _) => Iax2Secret::Md5(m.to_ascii_lowercase()),
            (None, Some(p)) => Iax2Secret::Plaintext(p.to_string()),
            (None, None) => continue,
        };
        if out.len() >= MAX_IAX2_CREDENTIALS {
            break;
        }
        let challenge = challenges.get(&(r.dst, r.src, dest)).copied();
        let call = call_of.get(&r.index).copied();
        let user = r
            .element("username")
            .or_else(|| challenge.and_then(|c| c.element("username")))
            .or_else(|| call.and_then(|c| user_of.get(c).copied()))
            .unwrap_or_default();
        let outcome = outcomes
            .get(&(r.dst, r.src, dest))
            .and_then(|l| l.iter().find(|(i, _, _)| *i > r.index))
            .map(|&(_, ok, f)| (ok, f));
        out.push(Iax2Credential {
            user: user.to_string(),
            challenge: challenge
                .and_then(|c| c.element("challenge"))
                .map(str::to_string),
            methods: challenge
                .and_then(|c| c.element("authmethods"))
                .unwrap_or_default()
                .to_string(),
            challenge_frame: challenge.map(|c| c.frame),
            secret,
            frame: r.frame,
            ts_nanos: r.ts_nanos,
            source: r.src.ip(),
            call: call.map(str::to_string),
            outcome,
        });
    }
    out
}
