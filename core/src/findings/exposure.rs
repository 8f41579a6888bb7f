//! "What an eavesdropper learns": the capture seen from the attacker's side — who called whom, which devices and
//! versions, how much audio can be played back, which credentials and keys were on the wire, which digits were
//! typed. Reads only the model; bounded like the findings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{
    Analysis, CallEdge, Device, DtmfSeen, Encryption, ExposedCredential, Exposure, StreamKind,
};

use super::rules::plaintext;

const MAX_ROWS: usize = 1000;

pub fn exposure(a: &Analysis) -> Exposure {
    let mut e = Exposure {
        tls_connections: a.tls.len() as u64,
        ..Exposure::default()
    };
    let mut devices: BTreeMap<String, (std::collections::BTreeSet<IpAddr>, u64)> = BTreeMap::new();
    let mut creds: BTreeMap<(String, String, IpAddr), u64> = BTreeMap::new();
    let mut plaintext_calls = std::collections::BTreeSet::new();
    for m in a.messages.iter().filter(|m| plaintext(m.transport)) {
        e.plaintext_sip_messages += 1;
        if let Some(c) = &m.message.call_id {
            plaintext_calls.insert(c.as_str());
        }
        if m.retransmission {
            continue;
        }
        for ua in [&m.message.user_agent, &m.message.server]
            .into_iter()
            .flatten()
        {
            if devices.len() < MAX_ROWS || devices.contains_key(ua) {
                let d = devices.entry(ua.clone()).or_default();
                if d.0.len() < 100 {
                    d.0.insert(m.src.ip());
                }
                d.1 += 1;
            }
        }
        for f in &m.message.auth {
            if f.is_credentials() && f.param("response").is_some() {
                let key = (
                    f.param("username").unwrap_or_default().to_string(),
                    f.param("realm").unwrap_or_default().to_string(),
                    m.src.ip(),
                );
                if creds.len() < MAX_ROWS || creds.contains_key(&key) {
                    *creds.entry(key).or_default() += 1;
                }
            }
        }
        if let Some(sdp) = &m.message.sdp {
            e.srtp_keys_exposed += sdp
                .media
                .iter()
                .map(|md| md.crypto.len() as u64)
                .sum::<u64>();
        }
    }
    // IAX2 credentials: MD5 responses (with their challenge) and passwords sent in clear.
    for c in super::rules::iax2_credentials(a) {
        let realm = match c.secret {
            super::rules::Iax2Secret::Md5(_) if c.challenge.is_some() => "iax2",
            super::rules::Iax2Secret::Md5(_) => continue,
            super::rules::Iax2Secret::Plaintext(_) => "iax2 plaintext",
        };
        let key = (c.user, realm.to_string(), c.source);
        if creds.len() < MAX_ROWS || creds.contains_key(&key) {
            *creds.entry(key).or_default() += 1;
        }
    }
    // MGCP, MEGACO and IAX2 travel in clear text: their calls are read as SIP's are.
    for c in a
        .calls
        .iter()
        .filter(|c| c.protocol != crate::model::Protocol::Sip)
    {
        plaintext_calls.insert(c.call_id.as_str());
    }
    let mut edges: BTreeMap<(String, String), CallEdge> = BTreeMap::new();
    for c in a
        .calls
        .iter()
        .filter(|c| c.kind.is_call() && plaintext_calls.contains(c.call_id.as_str()))
    {
        let party = |n: &Option<crate::model::NameAddr>| {
            n.as_ref()
                .and_then(|x| x.user.clone().or_else(|| x.host.clone()))
                .unwrap_or_else(|| "?".into())
        };
        let key = (party(&c.from), party(&c.to));
        if edges.len() >= MAX_ROWS && !edges.contains_key(&key) {
            continue;
        }
        let edge = edges.entry(key.clone()).or_insert(CallEdge {
            from: key.0,
            to: key.1,
            calls: 0,
            answered: 0,
            talk_secs: 0.0,
        });
        edge.calls += 1;
        if c.answered {
            edge.answered += 1;
            edge.talk_secs += c.duration_secs.unwrap_or(0.0);
        }
        if !c.dtmf.is_empty() && e.dtmf.len() < MAX_ROWS {
            e.dtmf.push(DtmfSeen {
                call_id: c.call_id.clone(),
                to: c
                    .to
                    .as_ref()
                    .and_then(|t| t.user.clone())
                    .unwrap_or_default(),
                digits: c.dtmf.clone(),
            });
        }
    }
    let mut graph: Vec<CallEdge> = edges.into_values().collect();
    graph.sort_by(|x, y| {
        y.calls
            .cmp(&x.calls)
            .then(x.from.cmp(&y.from))
            .then(x.to.cmp(&y.to))
    });
    e.call_graph = graph;
    // SDES keys an eavesdropper reads: those in plaintext SIP (keys that travelled inside TLS were read only with
    // the TLS keys the investigator gave).
    let clear_keys: std::collections::HashSet<&str> = a
        .messages
        .iter()
        .filter(|m| crate::findings::rules::plaintext(m.transport))
        .filter(|m| {
            m.message
                .sdp
                .as_ref()
                .is_some_and(|sdp| sdp.media.iter().any(|md| !md.crypto.is_empty()))
        })
        .filter_map(|m| m.message.call_id.as_deref())
        .collect();
    for s in a.streams.iter().filter(|s| s.kind == StreamKind::Rtp) {
        let playable = match s.encryption {
            Encryption::None => s.audio.starts_with("decodable"),
            Encryption::Srtp => {
                s.audio.contains("decryptable")
                    && s.call_id.as_deref().is_some_and(|c| clear_keys.contains(c))
            }
            _ => false,
        };
        if playable {
            e.reconstructable_streams += 1;
            e.reconstructable_audio_secs +=
                s.last_ts_nanos.saturating_sub(s.first_ts_nanos) as f64 / 1e9;
        }
    }
    e.devices = devices
        .into_iter()
        .map(|(product, (addrs, messages))| Device {
            product,
            addresses: addrs.into_iter().collect(),
            messages,
        })
        .collect();
    e.credentials = creds
        .into_iter()
        .map(|((username, realm, source), responses)| ExposedCredential {
            username,
            realm,
            source,
            responses,
        })
        .collect();
    e
}
