//! Findings: what an eavesdropper or attacker could exploit in this capture. Each rule is one module under
//! `rules/` that reads only the analysis model (never packets) and reports [`Finding`]s with evidence frames,
//! the risk in plain words, a remediation and the hardening practice it maps to. Rule ids are stable
//! (docs/findings.md). Thresholds live in [`Settings`], loadable from TOML (`earshot analyze --rules FILE`).
//! May import: `model`.

mod exposure;
pub mod rules;

pub use exposure::exposure;

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{Analysis, Confidence, Finding, FrameNo, MAX_EVIDENCE_FRAMES, Severity};

/// Thresholds and lists the rules use. Every field has a documented default; a TOML file may set any subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// User-Agent / Server substrings of known attack tools (case-insensitive).
    pub scanner_user_agents: Vec<String>,
    /// `scanner`: a source sending OPTIONS/REGISTER/INVITE to at least this many hosts is sweeping.
    pub scan_min_hosts: u32,
    /// Rule ids to skip.
    pub disabled_rules: Vec<String>,
    /// `brute-force`: failed authentications (401/407 re-challenges after credentials, 403) per source or per
    /// target user within `brute_force_window_secs`.
    pub brute_force_failures: u32,
    pub brute_force_window_secs: u32,
    /// `challenge-flood`: requests answered 401/407 whose challenge is never answered, per source in the window.
    pub challenge_flood_challenges: u32,
    pub challenge_flood_window_secs: u32,
    /// `extension-enumeration`: distinct extensions one source probes before it is reported.
    pub enumeration_min_extensions: u32,
    /// `flood`: INVITE/REGISTER/OPTIONS requests per source in `flood_window_secs`, and packets per second per
    /// source (level 1 = medium, level 2 = high).
    pub flood_requests: u32,
    pub flood_window_secs: u32,
    pub flood_pps_level1: u32,
    pub flood_pps_level2: u32,
    /// `weak-password`: try to crack captured digests with the bundled wordlist (and `wordlist` if set).
    pub crack_passwords: bool,
    pub wordlist: Option<std::path::PathBuf>,
    /// Show cracked passwords in exports (JSON/CSV/PDF); the app always shows them, exports mask them by default.
    pub reveal_passwords_in_exports: bool,
    /// `emergency-call`: numbers that reach emergency services.
    pub emergency_numbers: Vec<String>,
    /// `dtmf-secret`: numbers of voicemail/IVR systems where digits are PINs.
    pub voicemail_numbers: Vec<String>,
    /// `caller-id-spoofing`: display-name words that impersonate an authority (case-insensitive).
    pub authority_names: Vec<String>,
    /// `header-injection`: a header value longer than this is reported as over-long.
    pub max_header_chars: usize,
    /// `toll-fraud`: dialled-number prefixes that reach international or premium destinations (after stripping
    /// `sip:` and a leading `+` is itself international).
    pub toll_prefixes: Vec<String>,
    /// `toll-fraud`: international access codes (NANP `011`, the ITU `00` countries; add `0011` for Australia,
    /// `010` for Japan, `810` for Russia). Dialled behind an `outside_line_prefixes` digit they are still
    /// international (`9011…`, `000…`).
    pub international_access_codes: Vec<String>,
    /// `toll-fraud`: PBX outside-line (trunk access) digits dialled before the public number: `9` (NANP, UK), `0`
    /// (Germany, Austria, Switzerland, the Netherlands…).
    pub outside_line_prefixes: Vec<String>,
    /// `toll-fraud`: more than this many calls to one number within `toll_burst_window_secs` is a burst.
    pub toll_burst_calls: u32,
    pub toll_burst_window_secs: u32,
    /// `toll-fraud`: office hours (local time = UTC + `utc_offset_minutes`); calls outside them are flagged.
    pub office_hours_start: u8,
    pub office_hours_end: u8,
    pub utc_offset_minutes: i32,
    /// `toll-fraud`: price per minute by prefix (longest prefix wins) for the estimated cost.
    pub rates_per_minute: std::collections::BTreeMap<String, f64>,
    /// Networks whose requests a server may accept without a challenge (trunks, the LAN), as CIDRs;
    /// `unauthenticated-accepted` reports only sources outside them.
    pub trusted_networks: Vec<String>,
    /// `management-port`: ports whose traffic is recorded (the pipeline keeps a table of them) and reported, with
    /// the service usually behind them.
    pub management_ports: std::collections::BTreeMap<u16, String>,
}

impl Settings {
    /// `authority_names` lower-cased, empty ones left out (display names are compared case-insensitively).
    pub fn authorities(&self) -> Vec<String> {
        self.authority_names
            .iter()
            .map(|x| x.to_ascii_lowercase())
            .filter(|x| !x.is_empty())
            .collect()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scanner_user_agents: [
                "friendly-scanner",
                "sipvicious",
                "sipcli",
                "pplsip",
                "sippts",
                "vaxsipuseragent",
                "sundayddr",
                "sipsscuser",
                "sivus",
                "smap",
                "iwar",
                "sipsak",
                "nmap",
                "zeeko",
                "sip-scan",
                "siparmyknife",
            ]
            .map(String::from)
            .to_vec(),
            scan_min_hosts: 10,
            disabled_rules: Vec::new(),
            brute_force_failures: 50,
            brute_force_window_secs: 3600,
            challenge_flood_challenges: 5,
            challenge_flood_window_secs: 360,
            enumeration_min_extensions: 10,
            flood_requests: 100,
            flood_window_secs: 60,
            flood_pps_level1: 500,
            flood_pps_level2: 2000,
            crack_passwords: true,
            wordlist: None,
            reveal_passwords_in_exports: false,
            emergency_numbers: ["911", "112", "999", "000", "110", "119", "118", "933"]
                .map(String::from)
                .to_vec(),
            voicemail_numbers: ["*97", "*98", "*86", "8500", "voicemail", "vm", "*99"]
                .map(String::from)
                .to_vec(),
            authority_names: [
                "police",
                "bank",
                "irs",
                "fbi",
                "tax office",
                "court",
                "interpol",
                "customs",
                "microsoft support",
                "emergency",
            ]
            .map(String::from)
            .to_vec(),
            max_header_chars: 1024,
            toll_prefixes: [
                "+", "00", "011", "900", "976", "0900", "09", "882", "881", "870",
            ]
            .map(String::from)
            .to_vec(),
            international_access_codes: ["00", "011"].map(String::from).to_vec(),
            outside_line_prefixes: ["9", "0"].map(String::from).to_vec(),
            toll_burst_calls: 5,
            toll_burst_window_secs: 300,
            office_hours_start: 8,
            office_hours_end: 18,
            utc_offset_minutes: 0,
            rates_per_minute: std::collections::BTreeMap::new(),
            trusted_networks: [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "127.0.0.0/8",
                "fc00::/7",
                "fe80::/10",
                "::1/128",
            ]
            .map(String::from)
            .to_vec(),
            management_ports: [
                (21, "FTP"),
                (22, "SSH"),
                (23, "Telnet"),
                (69, "TFTP (phone provisioning)"),
                (80, "HTTP (phone provisioning / web admin)"),
                (161, "SNMP"),
                (3306, "MySQL"),
                (5029, "management API"),
                (5038, "Asterisk AMI"),
                (5432, "PostgreSQL"),
                (8080, "HTTP admin"),
                (8088, "Asterisk ARI / HTTP"),
                (10000, "Webmin"),
                (60024, "sensor"),
            ]
            .into_iter()
            .map(|(p, n)| (p, n.to_string()))
            .collect(),
        }
    }
}

/// Why a settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    // Said once: not also the error's source (see `CaptureError`).
    #[error("cannot read rules file {path}: {error}")]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("rules file {path} is not valid: {message}")]
    Parse {
        path: std::path::PathBuf,
        message: String,
    },
}

impl Settings {
    /// Reads a TOML settings file; fields it does not set keep their defaults.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| SettingsError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// These settings as TOML (what a report records as the settings used; reads back with
    /// [`Settings::from_toml_file`]).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// The defaults as TOML (what `earshot rules --defaults` prints and the app's editor starts from).
    pub fn defaults_toml() -> String {
        toml::to_string_pretty(&Settings::default()).unwrap_or_default()
    }
}

/// True when `ip` is inside one of the CIDRs (`10.0.0.0/8`, `fc00::/7`, or a bare address); malformed entries
/// match nothing.
pub fn in_networks(ip: IpAddr, cidrs: &[String]) -> bool {
    let bits = |ip: IpAddr| -> (u128, u32) {
        match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let (x, xlen) = bits(ip);
    cidrs.iter().any(|c| {
        let (addr, len) = match c.split_once('/') {
            Some((a, l)) => (a.trim(), l.trim().parse::<u32>().ok()),
            None => (c.trim(), None),
        };
        let Ok(net) = addr.parse::<IpAddr>() else {
            return false;
        };
        let (n, nlen) = bits(net);
        let len = len.unwrap_or(nlen);
        if nlen != xlen || len > nlen {
            return false;
        }
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        x & mask == n & mask
    })
}

/// One rule: a stable id and an evaluation over the model (and the [`Facts`] rules share).
pub trait Rule: Sync {
    fn id(&self) -> &'static str;
    fn evaluate(
        &self,
        analysis: &Analysis,
        settings: &Settings,
        facts: &Facts<'_>,
        out: &mut Vec<Finding>,
    );
}

/// What several rules derive from one analysis, computed once per evaluation, when a rule first asks for it:
/// each request's final response, each request's origin, the password-guessing sources and the captured digests.
pub struct Facts<'a> {
    analysis: &'a Analysis,
    /// `brute_force_failures`: rejections that make a source a guesser.
    min_failures: u32,
    answers: std::cell::OnceCell<Vec<Option<(u16, crate::model::FrameNo)>>>,
    origins: std::cell::OnceCell<Vec<Option<rules::Origin>>>,
    guessers: std::cell::OnceCell<std::collections::BTreeSet<std::net::IpAddr>>,
    digests: std::cell::OnceCell<rules::Digests>,
    iax2: std::cell::OnceCell<Vec<rules::Iax2Credential>>,
    wordlist_path: Option<std::path::PathBuf>,
    wordlist: std::cell::OnceCell<Option<std::io::Result<Vec<u8>>>>,
}

impl<'a> Facts<'a> {
    pub fn new(analysis: &'a Analysis, settings: &Settings) -> Self {
        Facts {
            analysis,
            min_failures: settings.brute_force_failures.max(1),
            answers: Default::default(),
            origins: Default::default(),
            guessers: Default::default(),
            digests: Default::default(),
            iax2: Default::default(),
            wordlist_path: settings.wordlist.clone(),
            wordlist: Default::default(),
        }
    }

    /// [`rules::final_responses`].
    pub(crate) fn answers(&self) -> &[Option<(u16, crate::model::FrameNo)>] {
        self.answers
            .get_or_init(|| rules::final_responses(self.analysis))
    }

    /// [`rules::origins`].
    pub(crate) fn origins(&self) -> &[Option<rules::Origin>] {
        self.origins.get_or_init(|| rules::origins(self.analysis))
    }

    /// [`rules::password_guessers`] at `brute_force_failures`.
    pub(crate) fn guessers(&self) -> &std::collections::BTreeSet<std::net::IpAddr> {
        self.guessers.get_or_init(|| {
            rules::password_guessers(self.analysis, self.answers(), self.min_failures)
        })
    }

    /// The user wordlist (`Settings::wordlist`) as read, once: up to 512 MiB that `weak-password` and the guesses of
    /// `brute-force` both try.
    pub(crate) fn wordlist(&self) -> Option<&std::io::Result<Vec<u8>>> {
        self.wordlist
            .get_or_init(|| self.wordlist_path.as_deref().map(rules::read_wordlist))
            .as_ref()
    }

    /// The distinct digest responses of the capture (`weak-password`, and the guesses in `brute-force`).
    pub(crate) fn digests(&self) -> &rules::Digests {
        self.digests
            .get_or_init(|| rules::collect_digests(self.analysis, self.answers()))
    }

    /// [`rules::iax2_credentials`] (`weak-password` and `digest-exposed`).
    pub(crate) fn iax2_credentials(&self) -> &[rules::Iax2Credential] {
        self.iax2
            .get_or_init(|| rules::iax2_credentials(self.analysis))
    }
}

/// Every rule, in the documented order.
pub fn all_rules() -> Vec<&'static dyn Rule> {
    rules::ALL.to_vec()
}

/// `s` as the JSON object exports carry (`Analysis::rules`).
pub fn settings_json(s: &Settings) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or_default()
}

/// Every rule id a finding can carry: each rule's own, and `unauthenticated-accepted`, which the registration-hijack
/// rule raises as well.
pub fn rule_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = rules::ALL.iter().map(|r| r.id()).collect();
    if let Some(at) = ids.iter().position(|&id| id == "registration-hijack") {
        ids.insert(at + 1, "unauthenticated-accepted");
    }
    ids
}

/// Runs every enabled rule; findings come out most severe first, then in rule order, then by time (deterministic).
pub fn evaluate(analysis: &Analysis, settings: &Settings) -> Vec<Finding> {
    let rules = all_rules();
    let facts = Facts::new(analysis, settings);
    let mut out = Vec::new();
    for (order, rule) in rules.iter().enumerate() {
        if settings.disabled_rules.iter().any(|d| d == rule.id()) {
            continue;
        }
        let mut found = Vec::new();
        rule.evaluate(analysis, settings, &facts, &mut found);
        out.extend(found.into_iter().map(|f| (order, f)));
    }
    out.sort_by(|(oa, a), (ob, b)| {
        b.severity
            .cmp(&a.severity)
            .then(oa.cmp(ob))
            .then(a.first_ts_nanos.cmp(&b.first_ts_nanos))
            .then(a.details.cmp(&b.details))
    });
    out.into_iter().map(|(_, f)| f).collect()
}

/// Collects a finding's evidence as rules go (sets stay sorted and bounded).
#[derive(Debug, Default)]
pub struct Evidence {
    frames: BTreeSet<FrameNo>,
    frames_total: u64,
    calls: BTreeSet<String>,
    streams: BTreeSet<usize>,
    users: BTreeSet<String>,
    sources: BTreeSet<IpAddr>,
    first: Option<i64>,
    last: Option<i64>,
}

/// Bound on the distinct calls/users/sources listed in one finding.
pub const MAX_LISTED: usize = 1000;

impl Evidence {
    pub fn frame(&mut self, f: FrameNo, ts_nanos: i64) -> &mut Self {
        self.frames_total += 1;
        if self.frames.len() < MAX_EVIDENCE_FRAMES {
            self.frames.insert(f);
        } else if let Some(&max) = self.frames.last()
            && f < max
        {
            self.frames.pop_last();
            self.frames.insert(f);
        }
        self.first = Some(self.first.map_or(ts_nanos, |t| t.min(ts_nanos)));
        self.last = Some(self.last.map_or(ts_nanos, |t| t.max(ts_nanos)));
        self
    }
    pub fn call(&mut self, c: &str) -> &mut Self {
        if self.calls.len() < MAX_LISTED {
            self.calls.insert(c.to_string());
        }
        self
    }
    pub fn stream(&mut self, i: usize) -> &mut Self {
        if self.streams.len() < MAX_LISTED {
            self.streams.insert(i);
        }
        self
    }
    pub fn user(&mut self, u: &str) -> &mut Self {
        if !u.is_empty() && self.users.len() < MAX_LISTED {
            self.users.insert(u.to_string());
        }
        self
    }
    pub fn source(&mut self, ip: IpAddr) -> &mut Self {
        if self.sources.len() < MAX_LISTED {
            self.sources.insert(ip);
        }
        self
    }
    pub fn is_empty(&self) -> bool {
        self.frames_total == 0
    }
    pub fn frames_total(&self) -> u64 {
        self.frames_total
    }
    pub fn calls(&self) -> &BTreeSet<String> {
        &self.calls
    }
    pub fn users(&self) -> &BTreeSet<String> {
        &self.users
    }
    pub fn sources(&self) -> &BTreeSet<IpAddr> {
        &self.sources
    }

    /// The finding with this evidence.
    pub fn finish(self, text: FindingText, severity: Severity, confidence: Confidence) -> Finding {
        Finding {
            rule_id: text.rule_id.to_string(),
            title: text.title,
            severity,
            confidence,
            first_ts_nanos: self.first,
            last_ts_nanos: self.last,
            evidence_frames: self.frames.into_iter().collect(),
            evidence_frames_total: self.frames_total,
            call_ids: self.calls.into_iter().collect(),
            streams: self.streams.into_iter().collect(),
            users: self.users.into_iter().collect(),
            sources: self.sources.into_iter().collect(),
            details: text.details,
            risk: text.risk.to_string(),
            remediation: text.remediation.to_string(),
            practice: text.practice.to_string(),
        }
    }
}

/// The words of a finding.
pub struct FindingText {
    pub rule_id: &'static str,
    pub title: String,
    pub details: String,
    pub risk: &'static str,
    pub remediation: &'static str,
    pub practice: &'static str,
}

/// At most `n` items of a list joined with ", " and "and N more".
pub fn list(items: impl IntoIterator<Item = impl std::fmt::Display>, n: usize) -> String {
    let all: Vec<String> = items.into_iter().map(|x| x.to_string()).collect();
    let shown: Vec<&str> = all.iter().take(n).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if all.len() > n {
        s.push_str(&format!(" and {} more", all.len() - n));
    }
    s
}

/// A password as findings show it unless told to reveal it: the first character, then a bullet per character.
pub(crate) fn mask_secret(password: &str) -> String {
    let mut chars = password.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '•')).collect(),
        None => "(empty)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let nets = Settings::default().trusted_networks;
        assert!(in_networks("10.1.2.3".parse().unwrap(), &nets));
        assert!(in_networks("172.31.255.1".parse().unwrap(), &nets));
        assert!(!in_networks("172.32.0.1".parse().unwrap(), &nets));
        assert!(!in_networks("8.8.8.8".parse().unwrap(), &nets));
        assert!(in_networks("fe80::1".parse().unwrap(), &nets));
        assert!(!in_networks("2001:db8::1".parse().unwrap(), &nets));
        assert!(in_networks(
            "203.0.113.7".parse().unwrap(),
            &["203.0.113.7".to_string()]
        ));
        assert!(!in_networks(
            "1.2.3.4".parse().unwrap(),
            &["garbage/99".to_string()]
        ));
    }
}
