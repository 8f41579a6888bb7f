//! Blocklists of the offenders the rules found (scanners, brute forcers, flooders, fraudsters...), for nftables and
//! for anything that reads one address per line (fail2ban, firewalls). Reads only the model.
use std::net::IpAddr;

use crate::model::Analysis;

/// One address to block and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    pub ip: IpAddr,
    /// Rule ids of the findings that name it, sorted.
    pub rule_ids: Vec<String>,
}

/// The sources of attack findings, except addresses `is_trusted` accepts; sorted by address.
pub fn offenders(_analysis: &Analysis, _is_trusted: &dyn Fn(IpAddr) -> bool) -> Vec<Offender> {
    Vec::new()
}

/// An nftables file defining the sets `set_name_v4`/`_v6`-style sets with the offenders.
pub fn nftables(_offenders: &[Offender], _set_name: &str) -> String {
    String::new()
}

/// One address per line, the rule ids as a `#` comment.
pub fn plain(_offenders: &[Offender]) -> String {
    String::new()
}
