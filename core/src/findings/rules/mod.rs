//! The rules, one file each, in the documented order (docs/findings.md). Adding a rule is one file plus one line
//! in [`ALL`]. Helpers several rules share live here: `plaintext`, and SIP transaction matching (`tx_key`,
//! `credentials`).

mod analysis_limited;
mod brute_force;
mod caller_id_spoofing;
mod challenge_flood;
mod digest_exposed;
mod dtmf_secret;
mod emergency_call;
mod extension_enumeration;
mod flood;
mod header_injection;
mod management_port;
mod outdated_tls;
mod plaintext_sip;
mod registration_hijack;
mod routing_loop;
mod scanner;
mod srtp_keys_exposed;
mod toll_fraud;
mod unencrypted_media;
mod version_disclosure;
mod weak_password;

use super::Rule;

/// Every rule, in the documented order.
pub static ALL: &[&dyn Rule] = &[
    &plaintext_sip::PlaintextSip,
    &outdated_tls::OutdatedTls,
    &unencrypted_media::UnencryptedMedia,
    &srtp_keys_exposed::SrtpKeysExposed,
    &digest_exposed::DigestExposed,
    &weak_password::WeakPassword,
    &scanner::Scanner,
    &extension_enumeration::ExtensionEnumeration,
    &brute_force::BruteForce,
    &challenge_flood::ChallengeFlood,
    &flood::Flood,
    &toll_fraud::TollFraud,
    &caller_id_spoofing::CallerIdSpoofing,
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
