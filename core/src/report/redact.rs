//! Redaction: phone numbers, SIP user parts, display names and IP addresses replaced by stable pseudonyms (the same
//! value gets the same pseudonym throughout one analysis) in every field of the model, so every export made from the
//! redacted analysis is redacted. Reads only the model.
//!
//! How it works, in two passes over one fixed walk of the model ([`walk`]):
//! 1. Collect every sensitive value, in order of first appearance: IP addresses (typed fields, and addresses
//!    written in text such as Via `received=` or SDP), user parts (URI users, digest `username`, SDP `o=` user,
//!    finding users, and `sip:`/`tel:` URIs found in any text), display names (typed fields and the `"Name" <...>`
//!    of name-addr headers) and Call-IDs.
//! 2. Give each a pseudonym that collides with no original value (IPv4 → `198.18.0.0/15`, then `240.0.0.0/4`;
//!    IPv6 → `2001:db8::/32`; numbers → `+000-NNNN`, which no network routes; other users → `user-N`; names →
//!    `Person N`; Call-IDs → `call-N@redacted`), then rewrite typed fields directly and every string (headers,
//!    bodies, excerpts, finding details, diagnostics...) with one multi-pattern pass that replaces only whole
//!    tokens (`10.0.0.1` does not match inside `10.0.0.12`).
//!
//! Kept as they are: times, frame numbers, SHA-256, codecs, metrics, host names that are not addresses, and the
//! product/version text of user agents (only users and addresses inside them are replaced). The same input always
//! gives the same pseudonyms, and a Call-ID keeps linking calls, streams, messages and findings after redaction.
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aho_corasick::{AhoCorasick, MatchKind};

use crate::model::{Analysis, NameAddr, SipMessage, StartLine};

/// What replaces every string when the pattern matcher cannot be built (never expected; nothing leaks then).
const FALLBACK: &str = "[redacted]";

/// A copy of `analysis` with identities pseudonymised.
pub fn redact(analysis: &Analysis) -> Analysis {
    let mut out = analysis.clone();
    let mut collector = Collector::default();
    walk(&mut out, &mut collector);
    let mut applier = collector.finish();
    walk(&mut out, &mut applier);
    out
}

/// Everything a walk over the model reports: typed identity fields and free text.
trait Visit {
    fn ip(&mut self, ip: &mut IpAddr);
    /// A user part, phone number or account name.
    fn user(&mut self, s: &mut String);
    fn name(&mut self, s: &mut String);
    fn call_id(&mut self, s: &mut String);
    /// Free text that may contain any of the above.
    fn text(&mut self, s: &mut String);
    /// User-Agent/Server text: product and version kept, users and known addresses inside replaced (version
    /// numbers such as `1.6.2.0` are not taken for addresses).
    fn device(&mut self, s: &mut String);
    /// One SIP header (name as written).
    fn header(&mut self, name: &str, value: &mut String);
    /// A raw SIP message or excerpt (headers are recognised line by line).
    fn raw_sip(&mut self, s: &mut String);
    fn bytes(&mut self, b: &mut Vec<u8>);
    /// A call party as the call graph names it: a user already seen elsewhere, or a host.
    fn party(&mut self, s: &mut String) {
        self.text(s);
    }
}

/// IAX2 information elements (`name=value` events): numbers, names and user names get pseudonyms; secrets
/// (passwords, challenges, MD5 results, keys, tokens) are removed; the called number in the command too.
fn iax2_record(v: &mut dyn Visit, r: &mut crate::model::SignalRecord) {
    for c in &mut r.commands {
        if !c.target.is_empty() {
            v.user(&mut c.target);
        }
    }
    for e in &mut r.events {
        let Some((name, value)) = e.split_once('=') else {
            continue;
        };
        let mut value = value.to_string();
        match name {
            "called number" | "calling number" | "calling ani" | "calling name" | "username"
            | "dnid" | "rdnis" | "called context" => v.user(&mut value),
            "password" | "challenge" | "md5 result" | "rsa result" | "enckey" | "calltoken"
            | "osptoken" | "apparent addr" | "variable" => value = "[redacted]".into(),
            "devicetype" | "serviceident" => v.device(&mut value),
            _ => continue,
        }
        *e = format!("{name}={value}");
    }
    r.summary = match r.commands.first() {
        Some(c) if c.name == "NEW" => format!("NEW {}", c.target),
        Some(c) if c.name == "DTMF" => "DTMF [redacted]".into(),
        _ => r.summary.clone(),
    };
}

fn sock(v: &mut dyn Visit, s: &mut SocketAddr) {
    let mut ip = s.ip();
    v.ip(&mut ip);
    s.set_ip(ip);
}

fn opt_text(v: &mut dyn Visit, s: &mut Option<String>) {
    if let Some(s) = s {
        v.text(s);
    }
}

fn name_addr(v: &mut dyn Visit, n: &mut NameAddr) {
    if let Some(d) = &mut n.display_name {
        v.name(d);
    }
    if let Some(u) = &mut n.user {
        v.user(u);
    }
    v.text(&mut n.uri);
    opt_text(v, &mut n.host);
    opt_text(v, &mut n.tag);
}

fn sip_message(v: &mut dyn Visit, m: &mut SipMessage) {
    match &mut m.start {
        StartLine::Request { uri, .. } => v.text(uri),
        StartLine::Response { reason, .. } => v.text(reason),
    }
    if let Some(c) = &mut m.call_id {
        v.call_id(c);
    }
    for n in m.from.iter_mut().chain(m.to.iter_mut()) {
        name_addr(v, n);
    }
    for n in m.contact.iter_mut().chain(m.p_asserted_identity.iter_mut()) {
        name_addr(v, n);
    }
    for via in &mut m.via {
        v.text(&mut via.sent_by);
        opt_text(v, &mut via.branch);
        opt_text(v, &mut via.received);
        opt_text(v, &mut via.rport);
    }
    for s in m.user_agent.iter_mut().chain(m.server.iter_mut()) {
        v.device(s);
    }
    for auth in &mut m.auth {
        for (k, val) in &mut auth.params {
            if k.eq_ignore_ascii_case("username") {
                v.user(val);
            } else {
                v.text(val);
            }
        }
    }
    for (name, value) in &mut m.headers {
        v.header(name, value);
    }
    v.bytes(&mut m.body);
    if let Some(sdp) = &mut m.sdp {
        if let Some(o) = &mut sdp.origin {
            v.user(&mut o.username);
            v.text(&mut o.address);
        }
        opt_text(v, &mut sdp.session_name);
        if let Some(ip) = &mut sdp.connection {
            v.ip(ip);
        }
        for md in &mut sdp.media {
            if let Some(ip) = &mut md.connection {
                v.ip(ip);
            }
        }
    }
    for w in &mut m.warnings {
        v.text(w);
    }
}

/// The one fixed order in which the model is visited (pseudonyms are numbered in this order).
fn walk(a: &mut Analysis, v: &mut dyn Visit) {
    v.text(&mut a.capture.file);
    for c in &mut a.calls {
        v.call_id(&mut c.call_id);
        for n in c
            .from
            .iter_mut()
            .chain(c.to.iter_mut())
            .chain(c.asserted_identity.iter_mut())
        {
            name_addr(v, n);
        }
        for e in &mut c.endpoints {
            sock(v, e);
        }
        for m in &mut c.signal_media {
            sock(v, &mut m.src);
            sock(v, &mut m.dst);
        }
        for ua in &mut c.user_agents {
            v.device(ua);
        }
        opt_text(v, &mut c.end_reason);
        if let Some(id) = &mut c.identity {
            for p in &mut id.passports {
                for u in p
                    .orig
                    .iter_mut()
                    .chain(p.div.iter_mut())
                    .chain(p.dest.iter_mut())
                {
                    v.user(u);
                }
                for r in &mut p.reasons {
                    v.text(r);
                }
                // A certificate URL may name the number it covers (`.../tn-12025550300.cer`): a pseudonym too.
                if let Some(u) = &mut p.x5u {
                    v.user(u);
                }
            }
            for r in &mut id.reasons {
                v.text(r);
            }
            if let Some(s) = &mut id.signer {
                for tn in &mut s.tns {
                    v.user(tn);
                }
                v.text(&mut s.subject);
                v.text(&mut s.issuer);
            }
        }
        for x in &mut c.sdp {
            for md in &mut x.media {
                if let Some(ip) = &mut md.address {
                    v.ip(ip);
                }
            }
        }
    }
    for m in &mut a.messages {
        sock(v, &mut m.src);
        sock(v, &mut m.dst);
        sip_message(v, &mut m.message);
    }
    // MGCP/MEGACO: the dialled digits and caller ID get pseudonyms; the message text, and events or signals that
    // carry digits or a caller ID, are removed (digits arrive one per event: no pseudonym could cover them).
    for r in &mut a.signals {
        sock(v, &mut r.src);
        sock(v, &mut r.dst);
        if !r.digits.is_empty() {
            v.user(&mut r.digits);
        }
        if let Some(c) = &mut r.caller_id {
            v.user(c);
        }
        if r.protocol == crate::model::Protocol::Iax2 {
            iax2_record(v, r);
        }
        for e in r.events.iter_mut().chain(r.signals.iter_mut()) {
            let short = e.rsplit('/').next().unwrap_or(e);
            let digit = short
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#'))
                || e.to_ascii_lowercase().contains("ci(")
                || e.to_ascii_lowercase().contains("dd/");
            if digit {
                *e = "[redacted]".into();
            }
        }
        for sd in &mut r.sdp {
            if let Some(ip) = &mut sd.sdp.connection {
                v.ip(ip);
            }
            for md in &mut sd.sdp.media {
                if let Some(ip) = &mut md.connection {
                    v.ip(ip);
                }
            }
        }
        if let Some(agent) = &mut r.agent {
            v.device(agent);
        }
        r.text = "[message text removed by redaction]".into();
    }
    for s in &mut a.streams {
        if let Some(c) = &mut s.call_id {
            v.call_id(c);
        }
        for addr in s
            .src
            .iter_mut()
            .chain(s.dst.iter_mut())
            .chain(s.relay_peer.iter_mut())
        {
            sock(v, addr);
        }
        opt_text(v, &mut s.encryption_evidence);
        v.text(&mut s.audio);
        if let Some(r) = &mut s.rtcp {
            opt_text(v, &mut r.cname);
            opt_text(v, &mut r.bye_reason);
        }
    }
    for u in &mut a.unparsed_sip {
        sock(v, &mut u.src);
        sock(v, &mut u.dst);
        v.text(&mut u.error);
        v.raw_sip(&mut u.excerpt);
    }
    for f in &mut a.findings {
        for c in &mut f.call_ids {
            v.call_id(c);
        }
        for u in &mut f.users {
            v.user(u);
        }
        for ip in &mut f.sources {
            v.ip(ip);
        }
        for t in [
            &mut f.title,
            &mut f.details,
            &mut f.risk,
            &mut f.remediation,
            &mut f.practice,
        ] {
            v.text(t);
        }
    }
    let e = &mut a.exposure;
    for edge in &mut e.call_graph {
        v.party(&mut edge.from);
        v.party(&mut edge.to);
    }
    for d in &mut e.devices {
        v.device(&mut d.product);
        for ip in &mut d.addresses {
            v.ip(ip);
        }
    }
    for c in &mut e.credentials {
        v.user(&mut c.username);
        v.text(&mut c.realm);
        v.ip(&mut c.source);
    }
    for d in &mut e.dtmf {
        v.call_id(&mut d.call_id);
        v.party(&mut d.to);
    }
    for t in &mut a.tls {
        sock(v, &mut t.client);
        sock(v, &mut t.server);
    }
    for s in &mut a.services {
        sock(v, &mut s.server);
        for ip in &mut s.clients {
            v.ip(ip);
        }
    }
    for d in &mut a.diagnostics {
        v.text(&mut d.message);
    }
}

/// What kind of identity a token is (decides its pseudonym).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Number,
    User,
    Name,
}

/// The key under which a user or name is stored: trimmed, ASCII lower case (so `Alice` and `alice` share one
/// pseudonym); `None` for values that identify nobody (`-`, `*`, empty).
fn token_key(s: &str) -> Option<String> {
    let t = s.trim();
    if !t.chars().any(|c| c.is_alphanumeric()) {
        return None;
    }
    Some(t.to_ascii_lowercase())
}

fn is_number(key: &str) -> bool {
    let digits = key.strip_prefix('+').unwrap_or(key);
    digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Headers whose values are name-addrs (display names are taken from them).
fn is_name_addr_header(name: &str) -> bool {
    const NAMES: [&str; 17] = [
        "from",
        "f",
        "to",
        "t",
        "contact",
        "m",
        "p-asserted-identity",
        "p-preferred-identity",
        "p-called-party-id",
        "remote-party-id",
        "diversion",
        "history-info",
        "referred-by",
        "b",
        "refer-to",
        "r",
        "reply-to",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name.trim()))
}

fn is_call_id_header(name: &str) -> bool {
    let n = name.trim();
    n.eq_ignore_ascii_case("call-id") || n.eq_ignore_ascii_case("i")
}

fn is_device_header(name: &str) -> bool {
    let n = name.trim();
    n.eq_ignore_ascii_case("user-agent") || n.eq_ignore_ascii_case("server")
}

/// Pass 1: every sensitive value, in order of first appearance.
#[derive(Default)]
struct Collector {
    ips: Vec<IpAddr>,
    ip_seen: HashSet<IpAddr>,
    /// IPv6 addresses as written in text (upper case, uncompressed...), replaced like the canonical form.
    ip_forms: Vec<(String, IpAddr)>,
    tokens: Vec<(String, TokenKind)>,
    token_seen: HashSet<String>,
    call_ids: Vec<String>,
    call_id_seen: HashSet<String>,
}

impl Collector {
    fn add_ip(&mut self, ip: IpAddr) {
        if ip.is_unspecified() {
            return;
        }
        if self.ip_seen.insert(ip) {
            self.ips.push(ip);
        }
    }

    fn add_token(&mut self, s: &str, kind: TokenKind) {
        let Some(key) = token_key(s) else {
            return;
        };
        // An address written where a user or name stands is handled as an address (by the text scan).
        if key.parse::<IpAddr>().is_ok() {
            return;
        }
        if self.token_seen.contains(&key) {
            return;
        }
        let kind = if is_number(&key) {
            TokenKind::Number
        } else {
            kind
        };
        self.token_seen.insert(key.clone());
        self.tokens.push((key, kind));
    }

    /// Addresses and `sip:`/`tel:` users written in `s`.
    fn scan(&mut self, s: &str, addresses: bool) {
        if addresses {
            for (form, ip) in find_ips(s) {
                if ip.is_ipv6() {
                    self.ip_forms.push((form, ip));
                }
                self.add_ip(ip);
            }
        }
        for user in find_uri_users(s) {
            self.add_token(&user, TokenKind::User);
        }
    }

    fn scan_header(&mut self, name: &str, value: &str) {
        if is_name_addr_header(name) {
            for n in find_display_names(value) {
                self.add_token(&n, TokenKind::Name);
            }
        }
        self.scan(value, !is_device_header(name));
    }

    /// Assign pseudonyms (none equal to an original value) and build the replacer.
    fn finish(self) -> Applier {
        let mut ip_map: HashMap<IpAddr, IpAddr> = HashMap::new();
        let (mut n4, mut n6) = (0u32, 0u128);
        for ip in &self.ips {
            let pseudo = loop {
                let candidate = match ip {
                    IpAddr::V4(_) => {
                        n4 = n4.saturating_add(1);
                        IpAddr::V4(pseudo_v4(n4))
                    }
                    IpAddr::V6(_) => {
                        n6 = n6.saturating_add(1);
                        IpAddr::V6(Ipv6Addr::from(
                            (0x2001_0db8_u128 << 96) | (n6 & 0xffff_ffff_ffff_ffff_ffff_ffff),
                        ))
                    }
                };
                if !self.ip_seen.contains(&candidate) {
                    break candidate;
                }
            };
            ip_map.insert(*ip, pseudo);
        }

        let mut token_map: HashMap<String, String> = HashMap::new();
        let (mut numbers, mut users, mut names) = (0u64, 0u64, 0u64);
        for (key, kind) in &self.tokens {
            let pseudo = loop {
                let candidate = match kind {
                    TokenKind::Number => {
                        numbers += 1;
                        format!("+000-{numbers:04}")
                    }
                    TokenKind::User => {
                        users += 1;
                        format!("user-{users}")
                    }
                    TokenKind::Name => {
                        names += 1;
                        format!("Person {names}")
                    }
                };
                if !self.token_seen.contains(&candidate.to_ascii_lowercase()) {
                    break candidate;
                }
            };
            token_map.insert(key.clone(), pseudo);
        }

        let mut call_map: HashMap<String, String> = HashMap::new();
        let mut calls = 0u64;
        for c in &self.call_ids {
            let pseudo = loop {
                calls += 1;
                let candidate = format!("call-{calls}@redacted");
                if !self.call_id_seen.contains(&candidate) {
                    break candidate;
                }
            };
            call_map.insert(c.clone(), pseudo);
        }

        // Patterns for the text pass: (pattern, replacement, kind). The first pattern written wins on duplicates.
        let mut patterns: Vec<(String, String, PatKind)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut push = |p: String, r: &str, k: PatKind| {
            if !p.is_empty() && seen.insert(p.to_ascii_lowercase()) {
                patterns.push((p, r.to_string(), k));
            }
        };
        for c in &self.call_ids {
            // Short Call-IDs (`1`, `abc`) would hit ordinary words; typed fields and Call-ID headers cover them.
            if c.len() >= 8
                && let Some(r) = call_map.get(c)
            {
                push(c.clone(), r, PatKind::Word);
            }
        }
        for ip in &self.ips {
            let Some(r) = ip_map.get(ip) else { continue };
            let r = r.to_string();
            match ip {
                IpAddr::V4(v4) => push(v4.to_string(), &r, PatKind::Ip),
                IpAddr::V6(v6) => {
                    for form in v6_forms(v6) {
                        push(form, &r, PatKind::Ip6);
                    }
                }
            }
        }
        for (form, ip) in &self.ip_forms {
            if let Some(r) = ip_map.get(ip) {
                push(form.clone(), &r.to_string(), PatKind::Ip6);
            }
        }
        for (key, _) in &self.tokens {
            if let Some(r) = token_map.get(key) {
                let kind = if key.chars().count() < 3 {
                    PatKind::Short
                } else {
                    PatKind::Word
                };
                push(key.clone(), r, kind);
            }
        }
        let matcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(patterns.iter().map(|(p, _, _)| p.as_bytes()))
            .ok();
        Applier {
            ip_map,
            token_map,
            call_map,
            matcher,
            patterns: patterns.into_iter().map(|(_, r, k)| (r, k)).collect(),
        }
    }
}

/// The n-th (1-based) IPv4 pseudonym: `198.18.0.1` up to `198.19.255.254` (RFC 2544 benchmarking, never routed),
/// then the reserved `240.0.0.0/4`.
fn pseudo_v4(n: u32) -> Ipv4Addr {
    const BENCH: u32 = 0xC612_0000; // 198.18.0.0
    const BENCH_HOSTS: u32 = (1 << 17) - 2;
    if n <= BENCH_HOSTS {
        Ipv4Addr::from(BENCH.saturating_add(n))
    } else {
        Ipv4Addr::from(0xF000_0000_u32.saturating_add(n - BENCH_HOSTS))
    }
}

/// The ways an IPv6 address is commonly written: compressed (canonical), every group written, every group padded.
fn v6_forms(v6: &Ipv6Addr) -> Vec<String> {
    let s = v6.segments();
    vec![
        v6.to_string(),
        s.iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":"),
        s.iter()
            .map(|g| format!("{g:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
    ]
}

impl Visit for Collector {
    fn ip(&mut self, ip: &mut IpAddr) {
        self.add_ip(*ip);
    }
    fn user(&mut self, s: &mut String) {
        self.add_token(s, TokenKind::User);
        self.scan(s, true);
    }
    fn name(&mut self, s: &mut String) {
        self.add_token(s, TokenKind::Name);
    }
    fn call_id(&mut self, s: &mut String) {
        if self.call_id_seen.insert(s.clone()) {
            self.call_ids.push(s.clone());
        }
        self.scan(s, true);
    }
    fn text(&mut self, s: &mut String) {
        self.scan(s, true);
    }
    fn device(&mut self, s: &mut String) {
        self.scan(s, false);
    }
    fn header(&mut self, name: &str, value: &mut String) {
        if is_call_id_header(name) {
            self.call_id(value);
        } else {
            self.scan_header(name, value);
        }
    }
    fn raw_sip(&mut self, s: &mut String) {
        for line in s.lines() {
            match line.split_once(':') {
                Some((name, value)) => self.scan_header(name, value),
                None => self.scan(line, true),
            }
        }
    }
    fn bytes(&mut self, b: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(b).into_owned();
        self.scan(&text, true);
    }
}

/// How a text pattern must be delimited to count as a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatKind {
    /// A user, name or Call-ID of 3 characters or more: not inside a longer word.
    Word,
    /// A user or name of 1-2 characters: only where a URI user or a quoted name stands (`sip:12@`, `"Al"`).
    Short,
    Ip,
    Ip6,
}

/// Pass 2: rewrite every field.
struct Applier {
    ip_map: HashMap<IpAddr, IpAddr>,
    token_map: HashMap<String, String>,
    call_map: HashMap<String, String>,
    matcher: Option<AhoCorasick>,
    /// Replacement and kind of each pattern, by pattern id.
    patterns: Vec<(String, PatKind)>,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// True when `hay[start..end]` is a whole token for a pattern of `kind`.
fn delimited(hay: &[u8], start: usize, end: usize, kind: PatKind) -> bool {
    let before = start.checked_sub(1).and_then(|i| hay.get(i)).copied();
    let before2 = start.checked_sub(2).and_then(|i| hay.get(i)).copied();
    let after = hay.get(end).copied();
    let after2 = end.checked_add(1).and_then(|i| hay.get(i)).copied();
    // A dot joins two tokens only when something word-like is on its other side (`a.b`), not at a sentence end.
    let joined = |dot: Option<u8>, other: Option<u8>, digits_only: bool| {
        dot == Some(b'.')
            && other.is_some_and(|o| {
                if digits_only {
                    o.is_ascii_digit()
                } else {
                    o.is_ascii_alphanumeric()
                }
            })
    };
    let digits_only = matches!(kind, PatKind::Ip | PatKind::Ip6);
    if before.is_some_and(is_word_byte) || after.is_some_and(is_word_byte) {
        return false;
    }
    if joined(before, before2, digits_only) || joined(after, after2, digits_only) {
        return false;
    }
    match kind {
        PatKind::Word | PatKind::Ip => true,
        PatKind::Ip6 => {
            // Not a piece of a longer IPv6 address.
            let hex = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_hexdigit());
            let piece = |colon: Option<u8>, other: Option<u8>| colon == Some(b':') && hex(other);
            !piece(before, before2) && !piece(after, after2)
        }
        PatKind::Short => {
            matches!(before, Some(b':' | b'"' | b'<' | b'\''))
                || matches!(after, Some(b'@' | b'"' | b'>' | b';'))
        }
    }
}

impl Applier {
    /// `hay` with every delimited pattern replaced (leftmost first, then longest); `None` when nothing matched.
    fn replace_bytes(&self, hay: &[u8]) -> Option<Vec<u8>> {
        let Some(matcher) = &self.matcher else {
            return if hay.is_empty() {
                None
            } else {
                Some(FALLBACK.as_bytes().to_vec())
            };
        };
        let mut found: Vec<(usize, usize, usize)> = matcher
            .find_overlapping_iter(hay)
            .filter_map(|m| {
                let (_, kind) = self.patterns.get(m.pattern().as_usize())?;
                delimited(hay, m.start(), m.end(), *kind).then_some((
                    m.start(),
                    m.end(),
                    m.pattern().as_usize(),
                ))
            })
            .collect();
        if found.is_empty() {
            return None;
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = Vec::with_capacity(hay.len());
        let mut pos = 0usize;
        for (start, end, id) in found {
            if start < pos {
                continue;
            }
            let (Some(kept), Some((replacement, _))) = (hay.get(pos..start), self.patterns.get(id))
            else {
                continue;
            };
            out.extend_from_slice(kept);
            out.extend_from_slice(replacement.as_bytes());
            pos = end;
        }
        out.extend_from_slice(hay.get(pos..).unwrap_or_default());
        Some(out)
    }

    fn replace(&self, s: &mut String) {
        if let Some(bytes) = self.replace_bytes(s.as_bytes()) {
            // Patterns and replacements are whole UTF-8 strings, so the result is UTF-8; lossy only as a guard.
            *s = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        }
    }

    fn token(&self, s: &mut String) {
        match token_key(s).and_then(|k| self.token_map.get(&k)) {
            Some(p) => *s = p.clone(),
            None => self.replace(s),
        }
    }
}

impl Visit for Applier {
    fn ip(&mut self, ip: &mut IpAddr) {
        if let Some(p) = self.ip_map.get(ip) {
            *ip = *p;
        }
    }
    fn user(&mut self, s: &mut String) {
        self.token(s);
    }
    fn name(&mut self, s: &mut String) {
        self.token(s);
    }
    fn call_id(&mut self, s: &mut String) {
        match self.call_map.get(s.as_str()) {
            Some(p) => *s = p.clone(),
            None => self.replace(s),
        }
    }
    fn text(&mut self, s: &mut String) {
        self.replace(s);
    }
    fn device(&mut self, s: &mut String) {
        self.replace(s);
    }
    fn header(&mut self, name: &str, value: &mut String) {
        // A PASSporT carries the caller's and callee's numbers base64url-encoded: the token goes; its parameters
        // (certificate URL, alg, ppt) are redacted like any text.
        if name.eq_ignore_ascii_case("identity") || name.eq_ignore_ascii_case("y") {
            let mut params = value
                .find(';')
                .map_or("", |i| value.get(i..).unwrap_or_default())
                .to_string();
            self.replace(&mut params);
            *value = format!("[redacted PASSporT]{params}");
            return;
        }
        if is_call_id_header(name) {
            let trimmed = value.trim();
            if let Some(p) = self.call_map.get(trimmed) {
                *value = p.clone();
                return;
            }
        }
        self.replace(value);
    }
    fn raw_sip(&mut self, s: &mut String) {
        self.replace(s);
    }
    fn party(&mut self, s: &mut String) {
        self.token(s);
    }
    fn bytes(&mut self, b: &mut Vec<u8>) {
        if let Some(r) = self.replace_bytes(b) {
            *b = r;
        }
    }
}

/// IP addresses written in `s`, with the text form found.
fn find_ips(s: &str) -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    // IPv4: runs of digits and dots.
    let mut i = 0;
    while i < bytes.len() {
        let Some(&b) = bytes.get(i) else { break };
        if !b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while bytes
            .get(i)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        {
            i += 1;
        }
        let run = s.get(start..i).unwrap_or_default().trim_end_matches('.');
        if let Ok(v4) = run.parse::<Ipv4Addr>() {
            let letter_before = start
                .checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_some_and(|c| c.is_ascii_alphabetic());
            if !letter_before {
                out.push((run.to_string(), IpAddr::V4(v4)));
            }
        }
    }
    // IPv6: runs of hex digits, colons and dots with at least two colons.
    let mut i = 0;
    while i < bytes.len() {
        let Some(&b) = bytes.get(i) else { break };
        if !(b.is_ascii_hexdigit() || b == b':') {
            i += 1;
            continue;
        }
        let start = i;
        while bytes
            .get(i)
            .is_some_and(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.')
        {
            i += 1;
        }
        let run = s.get(start..i).unwrap_or_default();
        if run.bytes().filter(|c| *c == b':').count() < 2 {
            continue;
        }
        let mut candidates = vec![run.trim_end_matches('.')];
        if let Some(r) = run.strip_prefix(':')
            && !r.starts_with(':')
        {
            candidates.push(r);
        }
        if let Some(r) = run.strip_suffix(':')
            && !r.ends_with(':')
        {
            candidates.push(r);
        }
        for c in candidates {
            if let Ok(v6) = c.parse::<Ipv6Addr>() {
                out.push((c.to_string(), IpAddr::V6(v6)));
                break;
            }
        }
    }
    out
}

/// User parts of `sip:`, `sips:` and `tel:` URIs written in `s` (and a password written as `user:password@`).
fn find_uri_users(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = s.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    for scheme in ["sip:", "sips:", "tel:"] {
        let mut from = 0;
        while let Some(pos) = lower.get(from..).and_then(|r| r.find(scheme)) {
            let start = from + pos;
            from = start + scheme.len();
            let letter_before = start
                .checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_some_and(|c| c.is_ascii_alphanumeric());
            if letter_before {
                continue;
            }
            let rest = s.get(from..).unwrap_or_default();
            if scheme == "tel:" {
                let end = rest
                    .find(|c: char| matches!(c, ';' | '>' | ',' | '"' | '?') || c.is_whitespace())
                    .unwrap_or(rest.len());
                if let Some(n) = rest.get(..end) {
                    out.push(n.to_string());
                }
                continue;
            }
            let end = rest
                .find(|c: char| {
                    matches!(c, '@' | '>' | ';' | ',' | '"' | '\'' | '?' | '<') || c.is_whitespace()
                })
                .unwrap_or(rest.len());
            if rest.get(end..end + 1) != Some("@") {
                continue;
            }
            let Some(userinfo) = rest.get(..end) else {
                continue;
            };
            match userinfo.split_once(':') {
                Some((user, password)) => {
                    out.push(user.to_string());
                    out.push(password.to_string());
                }
                None => out.push(userinfo.to_string()),
            }
        }
    }
    out
}

/// Display names in a name-addr header value: the text before each `<`, unquoted (`"Alice" <sip:...>`,
/// `Bob <sip:...>`, several entries separated by commas).
fn find_display_names(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut entry_start = 0usize;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' if !in_angle => in_quotes = !in_quotes,
            '<' if !in_quotes => {
                in_angle = true;
                let raw = value.get(entry_start..i).unwrap_or_default().trim();
                let name = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                    Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
                    None => raw.to_string(),
                };
                let name = name.trim();
                if !name.is_empty() {
                    out.push(name.to_string());
                }
            }
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => entry_start = i + 1,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::model::{Call, Finding, MediaStream, MessageRecord};

    fn msg(src: &str, dst: &str, from_user: &str, display: &str, call_id: &str) -> MessageRecord {
        let from = NameAddr {
            display_name: Some(display.to_string()),
            uri: format!("sip:{from_user}@example.com"),
            user: Some(from_user.to_string()),
            host: Some("example.com".into()),
            tag: Some("t1".into()),
        };
        let message = SipMessage {
            start: StartLine::Request {
                method: "INVITE".into(),
                uri: "sip:100@10.0.0.12".into(),
            },
            call_id: Some(call_id.into()),
            from: Some(from),
            to: None,
            cseq: None,
            via: vec![],
            contact: vec![],
            user_agent: Some("Asterisk PBX 1.6.2.0".into()),
            server: None,
            p_asserted_identity: vec![],
            auth: vec![],
            content_type: None,
            content_length: None,
            max_forwards: None,
            headers: vec![
                (
                    "From".into(),
                    format!("\"{display}\" <sip:{from_user}@example.com>;tag=t1"),
                ),
                ("Call-ID".into(), call_id.into()),
                (
                    "Via".into(),
                    "SIP/2.0/UDP 10.0.0.1:5060;received=203.0.113.9".into(),
                ),
                ("User-Agent".into(), "Asterisk PBX 1.6.2.0".into()),
                ("Diversion".into(), "<tel:+4930123456>;reason=busy".into()),
            ],
            body: b"c=IN IP4 10.0.0.1\r\n".to_vec(),
            sdp: None,
            parser: crate::model::SipParser::Rsip,
            warnings: vec![],
            cut: false,
        };
        MessageRecord {
            size: 100,
            ..crate::testutil::sip_record(src, dst, message)
        }
    }

    fn sample() -> Analysis {
        let mut a = Analysis::default();
        a.messages.push(msg(
            "10.0.0.1:5060",
            "10.0.0.12:5060",
            "alice",
            "Alice Smith",
            "abc123@10.0.0.1",
        ));
        a.calls.push(Call {
            call_id: "abc123@10.0.0.1".into(),
            protocol: crate::model::Protocol::Sip,
            signals: Vec::new(),
            signal_media: Vec::new(),
            kind: crate::model::CallKind::Call,
            from: a.messages[0].message.from.clone(),
            to: None,
            asserted_identity: None,
            state: None,
            answered: false,
            start_ts_nanos: 0,
            end_ts_nanos: 0,
            ringing_ts_nanos: None,
            answer_ts_nanos: None,
            ended_ts_nanos: None,
            setup_time_secs: None,
            post_dial_delay_secs: None,
            duration_secs: None,
            end_reason: None,
            ended_by: None,
            final_status: None,
            user_agents: vec!["Asterisk PBX 1.6.2.0".into()],
            codecs: vec![],
            transports: vec![],
            endpoints: vec!["10.0.0.1:5060".parse().unwrap()],
            dialogs: 1,
            sdp: vec![],
            messages: vec![0],
            frames: vec![1],
            retransmissions: 0,
            methods: vec![],
            dtmf: String::new(),
            dtmf_events: vec![],
            streams: vec![0],
            t38: None,
            identity: None,
        });
        a.streams.push(MediaStream {
            call_id: Some("abc123@10.0.0.1".into()),
            src: Some("10.0.0.12:4000".parse().unwrap()),
            ..Default::default()
        });
        a.findings.push(Finding {
            rule_id: "x".into(),
            title: "t".into(),
            severity: crate::model::Severity::Low,
            confidence: crate::model::Confidence::Low,
            first_ts_nanos: None,
            last_ts_nanos: None,
            evidence_frames: vec![1],
            evidence_frames_total: 1,
            call_ids: vec!["abc123@10.0.0.1".into()],
            streams: vec![0],
            users: vec!["alice".into()],
            sources: vec!["10.0.0.1".parse().unwrap()],
            details:
                "alice (Alice Smith) at 10.0.0.1 and 10.0.0.12, call abc123@10.0.0.1, 100 tries."
                    .into(),
            risk: String::new(),
            remediation: String::new(),
            practice: String::new(),
        });
        a
    }

    #[test]
    fn every_field_is_pseudonymised_consistently() {
        let r = redact(&sample());
        let json = crate::report::json::to_json_string(&r);
        for original in [
            "10.0.0.1:",
            "10.0.0.12",
            "\"10.0.0.1\"",
            "alice",
            "Alice Smith",
            "abc123",
            "203.0.113.9",
            "4930123456",
        ] {
            assert!(!json.contains(original), "{original} left in {json}");
        }
        // The same address gets the same pseudonym in messages, calls, streams and findings.
        let m = &r.messages[0];
        assert_eq!(m.src.ip().to_string(), "198.18.0.1");
        assert_eq!(r.calls[0].endpoints[0].ip(), m.src.ip());
        assert_eq!(r.findings[0].sources[0], m.src.ip());
        assert_eq!(r.streams[0].src.unwrap().ip(), m.dst.ip());
        // Call-IDs keep linking calls, streams and findings.
        assert_eq!(r.calls[0].call_id, "call-1@redacted");
        assert_eq!(r.streams[0].call_id.as_deref(), Some("call-1@redacted"));
        assert_eq!(r.findings[0].call_ids, vec!["call-1@redacted"]);
        assert_eq!(m.message.call_id.as_deref(), Some("call-1@redacted"));
        assert_eq!(m.message.headers[1].1, "call-1@redacted");
        // Users and names.
        let from = r.calls[0].from.as_ref().unwrap();
        assert_eq!(from.user.as_deref(), Some("user-1"));
        assert_eq!(from.display_name.as_deref(), Some("Person 1"));
        assert_eq!(from.uri, "sip:user-1@example.com");
        assert_eq!(r.findings[0].users, vec!["user-1"]);
        assert_eq!(
            r.findings[0].details,
            "user-1 (Person 1) at 198.18.0.1 and 198.18.0.2, call call-1@redacted, +000-0001 tries."
        );
        // Versions in user agents are not addresses; numbers from tel: URIs become undiallable ones.
        assert_eq!(r.calls[0].user_agents[0], "Asterisk PBX 1.6.2.0");
        assert_eq!(m.message.headers[4].1, "<tel:+000-0002>;reason=busy");
        assert_eq!(
            m.message.headers[2].1,
            "SIP/2.0/UDP 198.18.0.1:5060;received=198.18.0.3"
        );
        assert_eq!(m.message.body, b"c=IN IP4 198.18.0.1\r\n");
        // Deterministic.
        assert_eq!(
            json,
            crate::report::json::to_json_string(&redact(&sample()))
        );
    }

    #[test]
    fn tokens_match_only_whole() {
        let mut c = Collector::default();
        c.add_ip("10.0.0.1".parse().unwrap());
        c.add_token("al", TokenKind::User);
        c.add_token("Bo", TokenKind::Name);
        c.add_token("Carol", TokenKind::Name);
        let applier = c.finish();
        let mut s =
            "10.0.0.10 110.0.0.1 10.0.0.1. al bo sip:al@h \"Bo\" 10.0.0.1.5 carol Carolyn x-carol"
                .to_string();
        applier.replace(&mut s);
        assert_eq!(
            s,
            "10.0.0.10 110.0.0.1 198.18.0.1. al bo sip:user-1@h \"Person 1\" 10.0.0.1.5 Person 2 Carolyn \
             x-Person 2"
        );
        // A short Call-ID is replaced where it stands as a Call-ID, not in text.
        let mut a = Analysis::default();
        a.messages
            .push(msg("10.0.0.1:5060", "10.0.0.2:5060", "al", "Bo", "x"));
        let r = redact(&a);
        assert_eq!(r.messages[0].message.headers[1].1, "call-1@redacted");
        assert_eq!(
            r.messages[0].message.start,
            StartLine::Request {
                method: "INVITE".into(),
                uri: "sip:+000-0001@198.18.0.3".into()
            }
        );
    }

    #[test]
    fn pseudonyms_never_equal_an_original() {
        let mut a = Analysis::default();
        a.messages.push(msg(
            "198.18.0.1:5060",
            "10.0.0.1:5060",
            "user-1",
            "Person 1",
            "call-1@redacted",
        ));
        let r = redact(&a);
        let m = &r.messages[0];
        assert_eq!(m.src.ip().to_string(), "198.18.0.2");
        assert_eq!(m.dst.ip().to_string(), "198.18.0.3");
        assert_eq!(
            m.message.from.as_ref().unwrap().user.as_deref(),
            Some("user-2")
        );
        assert_eq!(
            m.message.from.as_ref().unwrap().display_name.as_deref(),
            Some("Person 2")
        );
        assert_eq!(m.message.call_id.as_deref(), Some("call-2@redacted"));
    }

    #[test]
    fn ipv6_forms_and_scanners() {
        let v6: Ipv6Addr = "2a00:1450::1".parse().unwrap();
        assert_eq!(
            v6_forms(&v6),
            vec![
                "2a00:1450::1",
                "2a00:1450:0:0:0:0:0:1",
                "2a00:1450:0000:0000:0000:0000:0000:0001"
            ]
        );
        let ips = find_ips("Via: SIP/2.0/UDP [2A00:1450::1]:5060;received=1.2.3.4 v1.2.3.4");
        assert_eq!(
            ips,
            vec![
                ("1.2.3.4".to_string(), "1.2.3.4".parse().unwrap()),
                ("2A00:1450::1".to_string(), "2a00:1450::1".parse().unwrap())
            ]
        );
        assert_eq!(
            find_uri_users("<sip:bob:secret@h>, <SIPS:carol@h>, sip:h.example, tel:+12345;x"),
            vec!["bob", "secret", "carol", "+12345"]
        );
        assert_eq!(
            find_display_names("\"A, \\\"B\\\"\" <sip:a@h>, Carol <sip:c@h>;tag=1, <sip:d@h>"),
            vec!["A, \"B\"", "Carol"]
        );
        assert_eq!(pseudo_v4(1).to_string(), "198.18.0.1");
        assert_eq!(pseudo_v4((1 << 17) - 2).to_string(), "198.19.255.254");
        assert_eq!(pseudo_v4((1 << 17) - 1).to_string(), "240.0.0.1");
    }
}
