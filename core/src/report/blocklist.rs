//! Blocklists of the offenders the rules found (scanners, brute forcers, flooders, fraudsters...), for nftables and
//! for anything that reads one address per line (fail2ban, firewalls). Reads only the model.
//!
//! Which findings name attackers (decided per rule from `core/src/findings/rules/*.rs`):
//! - `scanner`, `extension-enumeration`, `brute-force`, `challenge-flood`, `flood`, `caller-id-spoofing`,
//!   `header-injection`: `Finding::sources` is the sender of the hostile requests — all listed.
//! - `toll-fraud`: the finding lists both endpoints of each call (caller and PBX/trunk), so only the sources of the
//!   calls' first requests (the INVITEs) are listed, and not an address that also received one of those INVITEs
//!   (a PBX or B2BUA relaying the fraudulent call to its trunk).
//! - `registration-hijack`: the finding lists the old and the new registrant; only the sources of the REGISTERs in
//!   the finding's Call-IDs (the new bindings, the ones that took the account over) are listed.
//! - Not offenders: `routing-loop` (both ends are the looping proxies), `unauthenticated-accepted` (a server
//!   misconfiguration), and every exposure rule (`plaintext-sip`, `unencrypted-media`, `digest-exposed`,
//!   `srtp-keys-exposed`, `weak-password`, `version-disclosure`, `outdated-tls`, `management-port`, `dtmf-secret`,
//!   `emergency-call`), whose sources are the exposed endpoints — the victims.
//!
//! Loopback, unspecified, multicast and broadcast addresses are never listed (blocking them breaks the host or
//! means nothing), nor addresses the caller trusts.
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::{Analysis, Finding};

/// One address to block and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    pub ip: IpAddr,
    /// Rule ids of the findings that name it, sorted.
    pub rule_ids: Vec<String>,
}

/// Rules whose `Finding::sources` are the attackers themselves.
pub const SOURCE_IS_ATTACKER: [&str; 7] = [
    "scanner",
    "extension-enumeration",
    "brute-force",
    "challenge-flood",
    "flood",
    "caller-id-spoofing",
    "header-injection",
];

fn blockable(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let special = match ip {
        IpAddr::V4(v4) => v4.is_broadcast(),
        IpAddr::V6(_) => false,
    };
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || special)
}

/// Sources of the first request of each of the finding's calls (the request that opened the dialog).
fn request_sources(a: &Analysis, f: &Finding, method: &str) -> Vec<(IpAddr, IpAddr)> {
    let ids: BTreeSet<&str> = f.call_ids.iter().map(String::as_str).collect();
    a.calls
        .iter()
        .filter(|c| ids.contains(c.call_id.as_str()))
        .flat_map(|c| c.messages.iter().filter_map(|&i| a.messages.get(i)))
        .filter(|m| m.message.method() == Some(method) && !m.retransmission)
        .map(|m| (m.src.ip(), m.dst.ip()))
        .collect::<Vec<_>>()
}

/// The attackers a finding names (see the module documentation).
fn attackers(a: &Analysis, f: &Finding) -> BTreeSet<IpAddr> {
    let rule = f.rule_id.as_str();
    if SOURCE_IS_ATTACKER.contains(&rule) {
        return f.sources.iter().copied().collect();
    }
    match rule {
        "toll-fraud" => {
            let pairs = request_sources(a, f, "INVITE");
            let receivers: BTreeSet<IpAddr> = pairs.iter().map(|p| p.1).collect();
            pairs
                .iter()
                .map(|p| p.0)
                .filter(|ip| !receivers.contains(ip))
                .collect()
        }
        "registration-hijack" => request_sources(a, f, "REGISTER")
            .into_iter()
            .map(|p| p.0)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The sources of attack findings, except addresses `is_trusted` accepts; sorted by address.
pub fn offenders(analysis: &Analysis, is_trusted: &dyn Fn(IpAddr) -> bool) -> Vec<Offender> {
    let mut by_ip: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for f in &analysis.findings {
        for ip in attackers(analysis, f) {
            if blockable(ip) && !is_trusted(ip) {
                by_ip.entry(ip).or_default().insert(f.rule_id.clone());
            }
        }
    }
    by_ip
        .into_iter()
        .map(|(ip, rules)| Offender {
            ip,
            rule_ids: rules.into_iter().collect(),
        })
        .collect()
}

/// A set name nft accepts: letters, digits and `_`, starting with a letter (others become `_`).
fn nft_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "earshot_");
    }
    out
}

/// Rule ids are ours (`[a-z-]`), but keep the comment safe whatever they hold.
fn comment_text(rule_ids: &[String]) -> String {
    rule_ids
        .join(" ")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .take(120)
        .collect()
}

/// An nftables file (`nft -f FILE`) defining, in `table inet earshot`, the sets `<set_name>_v4` (`ipv4_addr`) and
/// `<set_name>_v6` (`ipv6_addr`) with the offenders, each element commented with its rule ids. It only defines the
/// sets: a rule such as `ip saddr @<set_name>_v4 drop` in the operator's own chain uses them. `set_name` is reduced
/// to the characters nft accepts in a name.
pub fn nftables(offenders: &[Offender], set_name: &str) -> String {
    let name = nft_name(set_name);
    let mut out = String::new();
    out.push_str(&format!(
        "#!/usr/sbin/nft -f\n# Produced by Earshot {} from the findings of a capture analysis: {} offending \
         addresses\n# (sources of scanner, brute-force, flood, fraud and injection findings, trusted addresses \
         excluded).\n# Load with `nft -f FILE`; block with e.g. `ip saddr @{name}_v4 drop` and `ip6 saddr @{name}_v6 \
         drop`.\n\n",
        env!("CARGO_PKG_VERSION"),
        offenders.len()
    ));
    out.push_str("table inet earshot {\n");
    for (suffix, ty, v4) in [("v4", "ipv4_addr", true), ("v6", "ipv6_addr", false)] {
        out.push_str(&format!("\tset {name}_{suffix} {{\n\t\ttype {ty}\n"));
        let elems: Vec<String> = offenders
            .iter()
            .filter(|o| o.ip.is_ipv4() == v4)
            .map(|o| format!("\t\t\t{} comment \"{}\"", o.ip, comment_text(&o.rule_ids)))
            .collect();
        if !elems.is_empty() {
            out.push_str("\t\telements = {\n");
            out.push_str(&elems.join(",\n"));
            out.push_str("\n\t\t}\n");
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

/// One address per line, the rule ids as a `#` comment.
pub fn plain(offenders: &[Offender]) -> String {
    offenders
        .iter()
        .map(|o| format!("{} # {}\n", o.ip, comment_text(&o.rule_ids)))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Severity};

    fn finding(rule: &str, sources: &[&str]) -> Finding {
        Finding {
            rule_id: rule.into(),
            title: String::new(),
            severity: Severity::High,
            confidence: Confidence::High,
            first_ts_nanos: None,
            last_ts_nanos: None,
            evidence_frames: vec![],
            evidence_frames_total: 1,
            call_ids: vec![],
            streams: vec![],
            users: vec![],
            sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
            details: String::new(),
            risk: String::new(),
            remediation: String::new(),
            practice: String::new(),
        }
    }

    #[test]
    fn attack_sources_only_untrusted_and_routable() {
        let a = Analysis {
            findings: vec![
                finding("scanner", &["203.0.113.5", "127.0.0.1", "0.0.0.0"]),
                finding("brute-force", &["203.0.113.5", "2001:db8::1"]),
                finding("plaintext-sip", &["198.51.100.7"]),
                finding("routing-loop", &["198.51.100.8"]),
                finding("flood", &["10.0.0.9", "::1", "::ffff:127.0.0.1"]),
            ],
            ..Default::default()
        };
        let trusted = |ip: IpAddr| ip.to_string().starts_with("10.");
        let o = offenders(&a, &trusted);
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].ip.to_string(), "203.0.113.5");
        assert_eq!(o[0].rule_ids, ["brute-force", "scanner"]);
        assert_eq!(o[1].ip.to_string(), "2001:db8::1");
        assert_eq!(
            plain(&o),
            "203.0.113.5 # brute-force scanner\n2001:db8::1 # brute-force\n"
        );
        let nft = nftables(&o, "voip-block");
        assert!(nft.contains("set voip_block_v4 {\n\t\ttype ipv4_addr\n"));
        assert!(nft.contains("203.0.113.5 comment \"brute-force scanner\""));
        assert!(nft.contains("2001:db8::1 comment \"brute-force\""));
        assert!(nft.contains("table inet earshot {"));
        // Empty sets are still defined (a rule referring to them loads), without an empty `elements`.
        let empty = nftables(&[], "x");
        assert!(empty.contains("set x_v4 {") && !empty.contains("elements"));
        assert_eq!(nft_name("1bad;name"), "earshot_1bad_name");
    }
}
