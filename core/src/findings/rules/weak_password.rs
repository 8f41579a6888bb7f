//! `weak-password`: the MD5 digest responses (RFC 2617 / RFC 7616) captured in the SIP requests are cracked
//! offline against guesses from the user name and realm, a bundled list of common passwords, every numeric PIN of
//! 4 to 6 digits and an optional user wordlist. One finding per cracked account (user name and realm).
//!
//! Each distinct digest (user name, realm, nonce, method, URI, qop, nc, cnonce, response, algorithm) is tried once
//! (at most [`MAX_DIGESTS`]). Per account, HA1 = MD5(user:realm:password) is computed once per candidate and the
//! fixed parts of the response (HA2 and the `:nonce:nc:cnonce:qop:` suffix) are precomputed, so a candidate costs two
//! short MD5 computations per digest. Sixteen candidates are hashed at once ([`crate::md5x`]: SIMD lanes), batches
//! run in parallel (rayon), the first match in list order wins, and a match is confirmed by RustCrypto's MD5 before
//! it is reported. SHA-256 and SHA-512-256 digests are not tried. The password is masked in the finding unless
//! [`Settings::reveal_passwords_in_exports`] is set.
//!
//! IAX2 MD5 responses (MD5 of the challenge followed by the password) are cracked with the same candidates per user
//! name ([`iax2_cracked`]); ACCEPT/REGACK after the response proves the password, REJECT/REGREJ rules it out.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;

use md5::{Digest, Md5};
use rayon::prelude::*;

use crate::md5x::{self, LANES};

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, FrameNo, Severity};

/// Distinct digests tried per capture.
const MAX_DIGESTS: usize = 10_000;
/// A digest whose parameter is longer than this (bytes) is skipped as hostile or broken.
const MAX_FIELD: usize = 1024;
/// Longest candidate password (bytes); longer wordlist lines are skipped.
const MAX_WORD: usize = 256;
/// Lines read from the user wordlist, and its bytes.
const MAX_WORDLIST_LINES: usize = 10_000_000;
const MAX_WORDLIST_BYTES: u64 = 512 << 20;
/// Digests of one account cracked in full (the others are only checked against a found password).
const MAX_TARGETS_PER_ACCOUNT: usize = 2;
/// Occurrences (frames) remembered per distinct digest.
const MAX_OCCURRENCES: usize = 64;
/// Candidate × digest response computations per capture (bounds the time on captures full of digests).
const BUDGET: u64 = 10_000_000;
/// All numeric PINs of 4, 5 and 6 digits.
const PINS: usize = 10_000 + 100_000 + 1_000_000;

/// The bundled list of common passwords, one a line.
const BUNDLED: &str = include_str!("../../../../assets/wordlists/common-passwords.txt");

pub struct WeakPassword;

impl Rule for WeakPassword {
    fn id(&self) -> &'static str {
        "weak-password"
    }

    fn evaluate(&self, _a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        if !s.crack_passwords {
            return;
        }
        let seen = f.digests();
        let iax2 = f.iax2_credentials();
        if seen.digests.iter().all(Seen::refused_only) && iax2.is_empty() {
            return;
        }
        let (user_text, wordlist_note): (&[u8], _) = match (&s.wordlist, f.wordlist()) {
            (Some(p), Some(Err(e))) => (
                &[],
                Some(format!(
                    " The wordlist {} could not be read ({e}).",
                    p.display()
                )),
            ),
            (_, Some(Ok(b))) => (b, None),
            _ => (&[], None),
        };
        let user_words = words(user_text, MAX_WORDLIST_LINES);
        let bundled = words(BUNDLED.as_bytes(), usize::MAX);

        let mut accounts: BTreeMap<(&str, &str), Vec<&Seen>> = BTreeMap::new();
        // Per account, the distinct digests the server rejected: wrong passwords, said in the finding.
        let mut rejected: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for d in &seen.digests {
            let account = (d.key.username.as_str(), d.key.realm.as_str());
            if d.refused_only() {
                *rejected.entry(account).or_default() += 1;
            } else {
                accounts.entry(account).or_default().push(d);
            }
        }
        let guessers = f.guessers();
        let mut budget = BUDGET;
        let mut cracked: Vec<Cracked> = Vec::new();
        for ((user, realm), mut digests) in accounts {
            // Digests the server accepted first: they are the ones cracked in full, and they prove the password.
            digests.sort_by_key(|d| d.accepted().is_none());
            let guesses = guesses(user, realm);
            let cands = Candidates {
                guesses: &guesses,
                bundled: &bundled,
                pins: PINS,
                user: &user_words,
            };
            let targets: Vec<&Target> = digests
                .iter()
                .take(MAX_TARGETS_PER_ACCOUNT)
                .map(|d| &d.target)
                .collect();
            let cracker = Cracker::new(user, realm, &targets);
            let prefix = &cracker.prefix;
            let per = u64::try_from(targets.len()).unwrap_or(u64::MAX).max(1);
            let affordable = usize::try_from(budget / per).unwrap_or(usize::MAX);
            let limit = cands.len().min(affordable);
            let found = crack(&cracker, &cands, limit);
            let tried = found.map_or(limit, |i| i.saturating_add(1));
            budget =
                budget.saturating_sub(u64::try_from(tried).unwrap_or(u64::MAX).saturating_mul(per));
            let Some(index) = found else { continue };
            let mut buf = [0u8; 6];
            let Some((password, kind)) = cands.get(index, &mut buf) else {
                continue;
            };
            let ha1 = ha1_from(prefix, password);
            let matched: Vec<&&Seen> = digests
                .iter()
                .filter(|d| d.target.response(&ha1) == d.target.expected)
                .collect();
            let accepted: Option<FrameNo> = matched.iter().find_map(|d| d.accepted());
            let sources: std::collections::BTreeSet<IpAddr> = matched
                .iter()
                .flat_map(|d| d.occurrences.iter().map(|o| o.source))
                .collect();
            // Not accepted, from a source that guesses passwords: the attacker's guess, reported by brute-force.
            if accepted.is_none() && sources.iter().any(|ip| guessers.contains(ip)) {
                continue;
            }
            let password = String::from_utf8_lossy(password).into_owned();
            let occurrences: Vec<Occurrence> = matched
                .iter()
                .flat_map(|d| d.occurrences.iter().cloned())
                .collect();
            let answers: std::collections::BTreeSet<String> = matched
                .iter()
                .flat_map(|d| d.occurrences.iter())
                .map(|o| match o.answer {
                    Some((code, _)) => code.to_string(),
                    None => "no answer in the capture".to_string(),
                })
                .collect();
            let shown = if s.reveal_passwords_in_exports {
                format!("\"{password}\"")
            } else {
                mask(&password)
            };
            let source = match kind {
                Kind::Guess => "the guesses from the user name and realm".to_string(),
                Kind::Bundled => "the bundled common-passwords list".to_string(),
                Kind::Pin => "the numeric PINs of 4 to 6 digits".to_string(),
                Kind::User => match &s.wordlist {
                    Some(p) => format!("the wordlist {}", p.display()),
                    None => "the user wordlist".to_string(),
                },
            };
            let claim = match accepted {
                Some(f) => format!(
                    "The password of {user} in realm \"{realm}\" is {shown}: the server accepted a digest response \
                     made with it (2xx in frame {}).",
                    crate::model::frame_label(f)
                ),
                None => format!(
                    "A client answered the challenge for {user} in realm \"{realm}\" with a digest response made \
                     from {shown}. The server's acceptance is not in the capture (answers: {}), so this proves the \
                     password the client used, not that it is the account's.",
                    list(&answers, 5)
                ),
            };
            let mut details = format!(
                "{claim} Found in {source} after {tried} candidates ({} guesses, {} common passwords, {PINS} numeric \
                 PINs, {} wordlist words available); it matches {} of the {} distinct digest responses the server \
                 did not reject for this account{}.",
                guesses.len(),
                bundled.len(),
                user_words.len(),
                matched.len(),
                digests.len(),
                match rejected.get(&(user, realm)) {
                    Some(n) => format!(
                        " ({n} more were rejected: wrong passwords, not cracked here; a guessing source's are in its \
                         brute-force finding)"
                    ),
                    None => String::new(),
                },
            );
            if seen.skipped_sha > 0 {
                details.push_str(&format!(
                    " {} SHA-256/SHA-512-256 digest responses were skipped (only MD5 is tried).",
                    seen.skipped_sha
                ));
            }
            if let Some(n) = &wordlist_note {
                details.push_str(n);
            }
            let row = format!(
                "`{user}` (realm \"{realm}\"): {shown}, {}",
                match accepted {
                    Some(f) => format!("accepted (2xx in frame {})", crate::model::frame_label(f)),
                    None => format!("acceptance not captured (answers: {})", list(&answers, 3)),
                }
            );
            cracked.push(Cracked {
                user: user.chars().take(64).collect(),
                proven: accepted.is_some(),
                protocol: "SIP",
                occurrences,
                details,
                row,
            });
        }
        cracked.extend(iax2_cracked(
            iax2,
            s,
            (&bundled, &user_words),
            wordlist_note.as_deref(),
        ));
        // One finding per account while there are few; beyond that one finding per kind (proven or not) with a
        // row per account, so a PBX full of weak passwords is one finding with its table, not dozens.
        for proven in [true, false] {
            let group: Vec<&Cracked> = cracked.iter().filter(|c| c.proven == proven).collect();
            if group.len() <= MAX_SEPARATE_FINDINGS {
                for c in group {
                    let mut ev = Evidence::default();
                    add_evidence(&mut ev, &c.user, &c.occurrences);
                    let title = if proven {
                        format!("Weak {} password for {}", c.protocol, c.user)
                    } else {
                        format!(
                            "Password a client used for {} (acceptance not captured)",
                            c.user
                        )
                    };
                    out.push(self.finding(ev, title, c.details.clone(), proven, &[c.protocol]));
                }
                continue;
            }
            let mut ev = Evidence::default();
            for c in &group {
                add_evidence(&mut ev, &c.user, &c.occurrences);
            }
            let n = group.len();
            let mut protocols: Vec<&'static str> = group.iter().map(|c| c.protocol).collect();
            protocols.sort_unstable();
            protocols.dedup();
            let (title, lead) = if proven {
                (
                    format!("Weak {} passwords for {n} accounts", protocols.join("/")),
                    format!(
                        "The server accepted digest responses made with cracked passwords for {n} accounts:"
                    ),
                )
            } else {
                (
                    format!("Passwords clients used for {n} accounts (acceptance not captured)"),
                    format!(
                        "Digest responses for {n} accounts were cracked, but the server's acceptance is not in the \
                         capture: these are the passwords the clients used, not proven to be the accounts'."
                    ),
                )
            };
            let details = format!(
                "{lead} {}.",
                list(group.iter().map(|c| c.row.as_str()), MAX_ROWS)
            );
            out.push(self.finding(ev, title, details, proven, &protocols));
        }
    }
}

/// Candidates tried per capture against IAX2 MD5 responses (each costs one MD5 of challenge and password).
const IAX2_BUDGET: u64 = 10_000_000;

/// IAX2's MD5 response to `challenge` for `password` (RFC 5456 8.6.16): MD5 of the two, one after the other.
fn iax2_md5(challenge: &str, password: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(challenge.as_bytes());
    h.update(password);
    h.finalize().into()
}

/// An IAX2 MD5 response to crack: the credential, its challenge, the digest expected.
type Iax2Target<'a> = (&'a super::Iax2Credential, &'a str, [u8; 16]);

/// IAX2 MD5 responses (RFC 5456 8.6.16: MD5 of the challenge followed by the password) cracked with the same
/// candidates as SIP's digests (guesses from the user name, the bundled list, every 4-6 digit PIN, the user's
/// wordlist), per user name; a match is proven the account's password only when the challenger then sent `ACCEPT`
/// or `REGACK`. Responses refused (`REJECT`/`REGREJ`) are wrong passwords and are not tried.
fn iax2_cracked(
    creds: &[super::Iax2Credential],
    s: &Settings,
    (bundled, user_words): (&[&[u8]], &[&[u8]]),
    wordlist_note: Option<&str>,
) -> Vec<Cracked> {
    use super::Iax2Secret;
    // Per user: the MD5 responses with their challenge and expected digest, accepted ones first.
    let mut users: BTreeMap<&str, Vec<Iax2Target<'_>>> = BTreeMap::new();
    for c in creds {
        let (Iax2Secret::Md5(hexed), Some(ch)) = (&c.secret, &c.challenge) else {
            continue;
        };
        let Some(expected) = unhex(hexed) else {
            continue;
        };
        if matches!(c.outcome, Some((false, _))) {
            continue;
        }
        users
            .entry(c.user.as_str())
            .or_default()
            .push((c, ch.as_str(), expected));
    }
    let mut budget = IAX2_BUDGET;
    let mut out = Vec::new();
    for (user, mut list) in users {
        list.sort_by_key(|(c, _, _)| !matches!(c.outcome, Some((true, _))));
        let guessed = guesses(user, "");
        let candidates = Candidates {
            guesses: &guessed,
            bundled,
            pins: PINS,
            user: user_words,
        };
        let Some(&(_, challenge, expected)) = list.first() else {
            continue;
        };
        let limit = candidates
            .len()
            .min(usize::try_from(budget).unwrap_or(usize::MAX));
        let found = (0..limit).into_par_iter().find_first(|&i| {
            let mut buf = [0u8; 6];
            candidates
                .get(i, &mut buf)
                .is_some_and(|(pw, _)| iax2_md5(challenge, pw) == expected)
        });
        let tried = found.map_or(limit, |i| i.saturating_add(1));
        budget = budget.saturating_sub(u64::try_from(tried).unwrap_or(u64::MAX));
        let Some(index) = found else { continue };
        let mut buf = [0u8; 6];
        let Some((password, kind)) = candidates.get(index, &mut buf) else {
            continue;
        };
        // Every response of this user made with the password.
        let matched: Vec<&super::Iax2Credential> = list
            .iter()
            .filter(|(_, ch, exp)| iax2_md5(ch, password) == *exp)
            .map(|(c, _, _)| *c)
            .collect();
        let accepted = matched.iter().find_map(|c| match c.outcome {
            Some((true, f)) => Some(f),
            _ => None,
        });
        let password = String::from_utf8_lossy(password).into_owned();
        let shown = if s.reveal_passwords_in_exports {
            format!("\"{password}\"")
        } else {
            mask(&password)
        };
        let source = match kind {
            Kind::Guess => "the guesses from the user name",
            Kind::Bundled => "the bundled common-passwords list",
            Kind::Pin => "the numeric PINs of 4 to 6 digits",
            Kind::User => "the user wordlist",
        };
        let claim = match accepted {
            Some(f) => format!(
                "The IAX2 password of {user} is {shown}: the peer accepted an MD5 response made with it (ACCEPT or \
                 REGACK in frame {}).",
                crate::model::frame_label(f)
            ),
            None => format!(
                "An IAX2 peer answered the MD5 challenge for {user} with a response made from {shown}. The \
                 challenger's acceptance is not in the capture, so this proves the password the peer used, not that \
                 it is the account's."
            ),
        };
        let mut details = format!(
            "{claim} Found in {source} after {tried} candidates; it matches {} of the {} MD5 responses of {user} \
             that were not refused.",
            matched.len(),
            list.len()
        );
        if let Some(n) = wordlist_note {
            details.push_str(n);
        }
        let row = format!(
            "`{user}` (IAX2): {shown}, {}",
            match accepted {
                Some(f) => format!("accepted (frame {})", crate::model::frame_label(f)),
                None => "acceptance not captured".to_string(),
            }
        );
        out.push(Cracked {
            user: user.chars().take(64).collect(),
            proven: accepted.is_some(),
            protocol: "IAX2",
            occurrences: matched
                .iter()
                .map(|c| Occurrence {
                    frame: c.frame,
                    ts_nanos: c.ts_nanos,
                    source: c.source,
                    call: c.call.clone(),
                    answer: c.outcome.map(|(ok, f)| (if ok { 200 } else { 403 }, f)),
                })
                .collect(),
            details,
            row,
        });
    }
    out
}

/// Cracked accounts of one kind (proven or not) reported one finding each; more are one finding with a row each.
const MAX_SEPARATE_FINDINGS: usize = 3;
/// Rows listed in a grouped finding's details (the evidence lists every account's frames).
const MAX_ROWS: usize = 200;

/// One cracked account, before it becomes a finding.
struct Cracked {
    user: String,
    proven: bool,
    /// `SIP` or `IAX2`.
    protocol: &'static str,
    occurrences: Vec<Occurrence>,
    details: String,
    row: String,
}

/// The frames (request and its answer), sources, calls and user of an account's matching digests.
fn add_evidence(ev: &mut Evidence, user: &str, occurrences: &[Occurrence]) {
    ev.user(user);
    for o in occurrences {
        ev.frame(o.frame, o.ts_nanos).source(o.source);
        if let Some((_, f)) = o.answer {
            ev.frame(f, o.ts_nanos);
        }
        if let Some(c) = &o.call {
            ev.call(c);
        }
    }
}

impl WeakPassword {
    fn finding(
        &self,
        ev: Evidence,
        title: String,
        details: String,
        proven: bool,
        protocols: &[&str],
    ) -> Finding {
        let sip = protocols.contains(&"SIP");
        let iax2 = protocols.contains(&"IAX2");
        ev.finish(
            FindingText {
                rule_id: self.id(),
                title,
                details,
                risk: "The captured digest response was cracked offline in seconds: anyone who saw it can \
                       register as this account, receive its calls and place calls billed to it (toll fraud).",
                remediation: match (sip, iax2) {
                    (_, false) => {
                        "Change this password now to a long random one (not the extension, a PIN or a \
                         dictionary word), carry SIP over TLS, and lock out repeated failures."
                    }
                    (false, true) => {
                        "Change this password now to a long random one (not the extension, a PIN or a \
                         dictionary word); prefer RSA authentication for IAX2 peers, keep IAX2 off untrusted \
                         networks (or inside a VPN), and lock out repeated failures."
                    }
                    (true, true) => {
                        "Change these passwords now to long random ones (not extensions, PINs or dictionary \
                         words); carry SIP over TLS, prefer RSA authentication for IAX2 peers, and lock out \
                         repeated failures."
                    }
                },
                practice: if iax2 && !sip {
                    "Strong IAX2 credentials, RSA authentication, IAX2 only on trusted networks."
                } else {
                    "Strong SIP credentials, transported only over TLS."
                },
            },
            if proven {
                Severity::Critical
            } else {
                Severity::Medium
            },
            if proven {
                Confidence::High
            } else {
                Confidence::Low
            },
        )
    }
}

/// Response computations [`attacker_guesses`] may spend per capture.
const GUESS_BUDGET: u64 = 4_000_000;

/// A password an attacker tried, recovered from a digest response the server did not accept.
pub(crate) struct Guess {
    pub user: String,
    /// Masked unless [`Settings::reveal_passwords_in_exports`].
    pub shown: String,
    pub frame: FrameNo,
}

/// What [`attacker_guesses`] recovered for one source.
#[derive(Default)]
pub(crate) struct Guesses {
    /// Recovered guesses in frame order.
    pub found: Vec<Guess>,
    /// Distinct digest responses tried.
    pub tried: u64,
}

/// The passwords behind the digest responses from `sources` that the server did not accept (rejected or
/// unanswered): each distinct digest tried against the guesses from its user name and realm, the bundled
/// common-passwords list and the user wordlist (the 1.1 M PINs are left to `weak-password`), within
/// [`GUESS_BUDGET`] computations. For the brute-force finding: what the attacker tried, never the account's
/// password.
pub(crate) fn attacker_guesses(
    f: &Facts<'_>,
    s: &Settings,
    sources: &std::collections::BTreeSet<IpAddr>,
) -> BTreeMap<IpAddr, Guesses> {
    let mut out: BTreeMap<IpAddr, Guesses> = BTreeMap::new();
    if !s.crack_passwords || sources.is_empty() {
        return out;
    }
    let seen = f.digests();
    let user_text: &[u8] = match f.wordlist() {
        Some(Ok(b)) => b,
        _ => &[],
    };
    let user_words = words(user_text, MAX_WORDLIST_LINES);
    let bundled = words(BUNDLED.as_bytes(), usize::MAX);
    let mut budget = GUESS_BUDGET;
    let todo: Vec<(&Seen, IpAddr)> = seen
        .digests
        .iter()
        .filter(|d| d.accepted().is_none())
        .filter_map(|d| {
            let src = d.occurrences.first()?.source;
            sources.contains(&src).then_some((d, src))
        })
        .collect();
    let mut chosen = Vec::new();
    for (d, src) in todo {
        let per = (guesses(&d.key.username, &d.key.realm).len() + bundled.len() + user_words.len())
            as u64;
        if per > budget {
            break;
        }
        budget -= per;
        chosen.push((d, src));
    }
    let found: Vec<(IpAddr, Option<Guess>)> = chosen
        .par_iter()
        .map(|&(d, src)| {
            let g = guesses(&d.key.username, &d.key.realm);
            let cands = Candidates {
                guesses: &g,
                bundled: &bundled,
                pins: 0,
                user: &user_words,
            };
            let cracker = Cracker::new(&d.key.username, &d.key.realm, &[&d.target]);
            // One digest per task (the digests run in parallel): its batches in order.
            let mut buf = [0u8; 6];
            let hit = (0..cands.len())
                .step_by(LANES)
                .find_map(|start| {
                    cracker.first_match(&cands, start, start.saturating_add(LANES).min(cands.len()))
                })
                .and_then(|i| cands.get(i, &mut buf).map(|(w, _)| w));
            let guess = hit.map(|w| {
                let w = String::from_utf8_lossy(w);
                Guess {
                    user: d.key.username.clone(),
                    shown: if s.reveal_passwords_in_exports {
                        format!("\"{w}\"")
                    } else {
                        mask(&w)
                    },
                    frame: d.occurrences.first().map_or(0, |o| o.frame),
                }
            });
            (src, guess)
        })
        .collect();
    for (src, guess) in found {
        let e = out.entry(src).or_default();
        e.tried = e.tried.saturating_add(1);
        if let Some(g) = guess {
            e.found.push(g);
        }
    }
    for g in out.values_mut() {
        g.found.sort_by_key(|g| g.frame);
    }
    out
}

use crate::findings::mask_secret as mask;

/// One distinct digest response: the cracking target and where it was seen.
struct Seen {
    key: Key,
    target: Target,
    occurrences: Vec<Occurrence>,
}

#[derive(Clone)]
struct Occurrence {
    frame: FrameNo,
    ts_nanos: i64,
    source: IpAddr,
    call: Option<String>,
    /// The server's final response to this request (status, frame), when it is in the capture.
    answer: Option<(u16, FrameNo)>,
}

impl Seen {
    /// Every request carrying this digest was answered 401/403/407: a wrong password.
    fn refused_only(&self) -> bool {
        self.occurrences
            .iter()
            .all(|o| matches!(o.answer, Some((401 | 403 | 407, _))))
    }

    /// The frame of a 2xx the server sent to a request carrying this digest: the password is then proven.
    fn accepted(&self) -> Option<FrameNo> {
        self.occurrences.iter().find_map(|o| match o.answer {
            Some((200..=299, f)) => Some(f),
            _ => None,
        })
    }
}

/// What makes a digest response distinct.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    username: String,
    realm: String,
    nonce: String,
    method: String,
    uri: String,
    qop: Option<String>,
    nc: String,
    cnonce: String,
    response: String,
    algorithm: String,
    /// MD5 of the body, for qop=auth-int.
    body: Option<[u8; 16]>,
}

#[derive(Default)]
pub(crate) struct Collected {
    digests: Vec<Seen>,
    skipped_sha: u64,
}

/// The distinct MD5 digest responses of the capture, in order of first appearance; `answers` is each request's final
/// response ([`super::final_responses`]).
pub(crate) fn collect(a: &Analysis, answers: &[Option<(u16, FrameNo)>]) -> Collected {
    let mut c = Collected::default();
    let mut index: BTreeMap<Key, usize> = BTreeMap::new();
    for (i, m) in a.messages.iter().enumerate() {
        if m.retransmission {
            continue;
        }
        let Some(method) = m.message.method() else {
            continue;
        };
        // Digests the server rejected stay: `Seen::refused_only` keeps them out of `weak-password` and
        // `attacker_guesses` recovers them.
        let answer = answers.get(i).copied().flatten();
        for f in &m.message.auth {
            if !f.is_credentials() || !f.scheme.eq_ignore_ascii_case("digest") {
                continue;
            }
            let algorithm = f.param("algorithm").unwrap_or("MD5").to_ascii_lowercase();
            if algorithm.starts_with("sha-") {
                c.skipped_sha = c.skipped_sha.saturating_add(1);
                continue;
            }
            let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) = (
                f.param("username"),
                f.param("realm"),
                f.param("nonce"),
                f.param("uri"),
                f.param("response"),
            ) else {
                continue;
            };
            let qop = f.param("qop").map(str::to_ascii_lowercase);
            let nc = f.param("nc").unwrap_or("");
            let cnonce = f.param("cnonce").unwrap_or("");
            let fields = [username, realm, nonce, uri, response, nc, cnonce, method];
            if fields.iter().any(|x| x.len() > MAX_FIELD) {
                continue;
            }
            let body =
                (qop.as_deref() == Some("auth-int")).then(|| Md5::digest(&m.message.body).into());
            let key = Key {
                username: username.to_string(),
                realm: realm.to_string(),
                nonce: nonce.to_string(),
                method: method.to_string(),
                uri: uri.to_string(),
                qop,
                nc: nc.to_string(),
                cnonce: cnonce.to_string(),
                response: response.to_ascii_lowercase(),
                algorithm,
                body,
            };
            let occurrence = Occurrence {
                frame: m.frame,
                ts_nanos: m.ts_nanos,
                source: m.src.ip(),
                call: m.message.call_id.clone(),
                answer,
            };
            if let Some(&i) = index.get(&key) {
                if let Some(d) = c.digests.get_mut(i)
                    && d.occurrences.len() < MAX_OCCURRENCES
                {
                    d.occurrences.push(occurrence);
                }
                continue;
            }
            if c.digests.len() >= MAX_DIGESTS {
                continue;
            }
            let Some(target) = Target::new(&key) else {
                continue;
            };
            index.insert(key.clone(), c.digests.len());
            c.digests.push(Seen {
                key,
                target,
                occurrences: vec![occurrence],
            });
        }
    }
    c
}

/// A digest response prepared for cracking: everything but HA1 precomputed.
#[derive(Debug)]
struct Target {
    /// `:nonce:cnonce` for MD5-sess (HA1 = MD5(MD5(user:realm:password):nonce:cnonce)).
    sess: Option<Vec<u8>>,
    /// `:nonce:nc:cnonce:qop:HA2` with qop, `:nonce:HA2` without.
    suffix: Vec<u8>,
    expected: [u8; 16],
}

impl Target {
    /// None for a digest that is not MD5 or whose parameters cannot form a response.
    fn new(k: &Key) -> Option<Target> {
        let expected = unhex(&k.response)?;
        let sess = match k.algorithm.as_str() {
            "md5" => None,
            "md5-sess" => Some(format!(":{}:{}", k.nonce, k.cnonce).into_bytes()),
            _ => return None,
        };
        let mut ha2 = Md5::new();
        ha2.update(k.method.as_bytes());
        ha2.update(b":");
        ha2.update(k.uri.as_bytes());
        match (k.qop.as_deref(), &k.body) {
            (Some("auth-int"), Some(body)) => {
                ha2.update(b":");
                ha2.update(hex(body));
            }
            (None | Some("auth"), _) => {}
            _ => return None,
        }
        let ha2 = hex(&ha2.finalize().into());
        let suffix = match &k.qop {
            Some(qop) => {
                if k.nc.is_empty() || k.cnonce.is_empty() {
                    return None;
                }
                let mut s = format!(":{}:{}:{}:{qop}:", k.nonce, k.nc, k.cnonce).into_bytes();
                s.extend_from_slice(&ha2);
                s
            }
            None => {
                let mut s = format!(":{}:", k.nonce).into_bytes();
                s.extend_from_slice(&ha2);
                s
            }
        };
        Some(Target {
            sess,
            suffix,
            expected,
        })
    }

    /// The response for this HA1 = MD5(user:realm:password).
    fn response(&self, ha1: &[u8; 16]) -> [u8; 16] {
        let mut ha1 = hex(ha1);
        if let Some(sess) = &self.sess {
            let mut h = Md5::new();
            h.update(ha1);
            h.update(sess);
            ha1 = hex(&h.finalize().into());
        }
        let mut h = Md5::new();
        h.update(ha1);
        h.update(&self.suffix);
        h.finalize().into()
    }
}

fn ha1_from(prefix: &Md5, password: &[u8]) -> [u8; 16] {
    let mut h = prefix.clone();
    h.update(password);
    h.finalize().into()
}

/// The index of the first candidate below `limit` that matches any target: candidates are tried sixteen at a time
/// ([`crate::md5x`]), the batches in parallel, and the first batch with a match (in list order) wins.
fn crack(cracker: &Cracker<'_>, cands: &Candidates, limit: usize) -> Option<usize> {
    if cracker.targets.is_empty() {
        return None;
    }
    (0..limit.div_ceil(LANES))
        .into_par_iter()
        .with_min_len(256)
        .find_map_first(|batch| {
            let start = batch.checked_mul(LANES)?;
            cracker.first_match(cands, start, start.saturating_add(LANES).min(limit))
        })
}

/// One account's digests, prepared for sixteen candidates at a time: HA1 = MD5(user:realm:password) continues the
/// state after `user:realm:`'s whole blocks, and each response (and MD5-sess's HA1) is MD5(hex(previous) || fixed
/// tail), whose blocks are built once.
struct Cracker<'t> {
    prefix: Md5,
    prefix_len: usize,
    mid: [u32; 4],
    rest: Vec<u8>,
    targets: Vec<(&'t Target, Option<Tail>, Tail)>,
}

/// The blocks of `hex32 || tail` padded, every lane the same; the first eight words of the first block are each
/// lane's hex digest.
struct Tail(Vec<md5x::Block>);

impl Tail {
    fn new(tail: &[u8]) -> Tail {
        let mut msg = vec![0u8; 32];
        msg.extend_from_slice(tail);
        let len = u64::try_from(msg.len()).unwrap_or(u64::MAX);
        Tail(
            md5x::padded(&msg, len)
                .iter()
                .map(md5x::splat_block)
                .collect(),
        )
    }

    /// MD5(hex(digest) || tail) for every lane's `heads` (hex digests as eight little-endian words, word-major).
    fn digest(&self, heads: &[md5x::Word; 8]) -> md5x::State {
        let mut s = md5x::State::splat(md5x::IV);
        for (i, block) in self.0.iter().enumerate() {
            if i == 0 {
                let mut first = *block;
                for (w, h) in first.iter_mut().zip(heads) {
                    *w = *h;
                }
                s.compress(&first);
            } else {
                s.compress(block);
            }
        }
        s
    }
}

/// A digest as 32 lowercase hex characters in eight little-endian words (one lane's `md5x::hex_words`).
fn hex_words(d: &[u8; 16]) -> [u32; 8] {
    md5x::le_words(&hex(d))
}

/// The lanes of `s` equal to `expected`, as a bit mask (bit l: lane l).
fn equal_lanes(s: &md5x::State, expected: &[u8; 16]) -> u32 {
    let mut mask = u32::MAX >> (32 - LANES);
    let want: [u32; 4] = md5x::le_words(expected);
    for (lanes, want) in s.0.iter().zip(want) {
        for (l, w) in lanes.iter().enumerate() {
            if *w != want {
                mask &= !(1 << l);
            }
        }
    }
    mask
}

impl<'t> Cracker<'t> {
    fn new(user: &str, realm: &str, targets: &[&'t Target]) -> Cracker<'t> {
        let text = format!("{user}:{realm}:");
        let (mid, rest) = md5x::midstate(text.as_bytes());
        let mut prefix = Md5::new();
        prefix.update(text.as_bytes());
        Cracker {
            prefix,
            prefix_len: text.len(),
            mid,
            rest: rest.to_vec(),
            targets: targets
                .iter()
                .map(|t| (*t, t.sess.as_deref().map(Tail::new), Tail::new(&t.suffix)))
                .collect(),
        }
    }

    /// The first candidate of `start..end` (at most [`LANES`]) whose response matches a target, confirmed by the
    /// one-at-a-time computation before it is reported.
    fn first_match(&self, cands: &Candidates, start: usize, end: usize) -> Option<usize> {
        let mut block: md5x::Block = [[0; LANES]; 16];
        // Candidates whose HA1 needs more than one block after the midstate: computed one at a time.
        let mut long: Vec<(usize, [u8; 16])> = Vec::new();
        let mut buf = [0u8; 6];
        let mut msg = Vec::with_capacity(64);
        for (l, i) in (start..end).enumerate() {
            let Some((password, _)) = cands.get(i, &mut buf) else {
                continue;
            };
            msg.clear();
            msg.extend_from_slice(&self.rest);
            msg.extend_from_slice(password);
            let total =
                u64::try_from(self.prefix_len.saturating_add(password.len())).unwrap_or(u64::MAX);
            match md5x::padded_one(&msg, total) {
                Some(b) => md5x::set_lane(&mut block, l, &md5x::words(&b)),
                None => long.push((l, ha1_from(&self.prefix, password))),
            }
        }
        let mut ha1 = md5x::State::splat(self.mid);
        ha1.compress(&block);
        let mut heads = md5x::hex_words(&ha1);
        for (l, d) in &long {
            for (w, h) in heads.iter_mut().zip(hex_words(d)) {
                if let Some(slot) = w.get_mut(*l) {
                    *slot = h;
                }
            }
        }
        // Lanes past `end` hold no candidate.
        let live = u32::MAX >> (32 - LANES) >> (LANES - end.saturating_sub(start).min(LANES));
        let mut best: Option<usize> = None;
        for (t, sess, resp) in &self.targets {
            let heads = match sess {
                Some(sess) => md5x::hex_words(&sess.digest(&heads)),
                None => heads,
            };
            let mut hits = equal_lanes(&resp.digest(&heads), &t.expected) & live;
            while hits != 0 {
                let l = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                if best.is_some_and(|b| b <= l) {
                    break;
                }
                if self.confirm(cands, start + l) {
                    best = Some(l);
                    break;
                }
            }
        }
        best.map(|l| start + l)
    }

    /// True when candidate `i` matches a target by RustCrypto's MD5 too (a claim of a cracked password rests on
    /// two computations).
    fn confirm(&self, cands: &Candidates, i: usize) -> bool {
        let mut buf = [0u8; 6];
        let Some((password, _)) = cands.get(i, &mut buf) else {
            return false;
        };
        let ha1 = ha1_from(&self.prefix, password);
        self.targets
            .iter()
            .any(|(t, _, _)| t.response(&ha1) == t.expected)
    }
}

/// The cracker's speed, for `scripts/bench.sh` (`cryptobench`): every 4–6 digit PIN tried on the calling thread's
/// rayon pool against `digests` RFC 2617 digest responses (qop=auth, the RFC's own parameters) that none of them
/// matches, exactly as the rule tries them. Returns the candidate × digest computations made.
pub fn crack_benchmark(digests: usize) -> u64 {
    let keys: Vec<Key> = (0..digests.max(1))
        .map(|i| Key {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: format!("dcd98b7102dd2f0e8b11d0f600bfb0c0{i:02x}"),
            method: "GET".into(),
            uri: "/dir/index.html".into(),
            qop: Some("auth".into()),
            nc: "00000001".into(),
            cnonce: "0a4f113b".into(),
            // Not the response of any PIN (a PIN would have to give this MD5).
            response: "00000000000000000000000000000000".into(),
            algorithm: "md5".into(),
            body: None,
        })
        .collect();
    let targets: Vec<Target> = keys.iter().filter_map(Target::new).collect();
    let refs: Vec<&Target> = targets.iter().collect();
    let cracker = Cracker::new("Mufasa", "testrealm@host.com", &refs);
    let cands = Candidates {
        guesses: &[],
        bundled: &[],
        pins: PINS,
        user: &[],
    };
    let found = crack(&cracker, &cands, cands.len());
    let tried = found.map_or(cands.len(), |i| i.saturating_add(1));
    u64::try_from(tried.saturating_mul(refs.len())).unwrap_or(u64::MAX)
}

/// Which list a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Guess,
    Bundled,
    Pin,
    User,
}

/// The candidates in order: guesses, bundled list, PINs (generated), user wordlist.
struct Candidates<'a> {
    guesses: &'a [Vec<u8>],
    bundled: &'a [&'a [u8]],
    /// How many of the [`PINS`] are tried: all of them, or none (the brute-force rule leaves them to this one).
    pins: usize,
    user: &'a [&'a [u8]],
}

impl<'a> Candidates<'a> {
    fn len(&self) -> usize {
        self.guesses
            .len()
            .saturating_add(self.bundled.len())
            .saturating_add(self.pins)
            .saturating_add(self.user.len())
    }

    fn get<'s>(&'s self, i: usize, buf: &'s mut [u8; 6]) -> Option<(&'s [u8], Kind)> {
        let mut i = i;
        if let Some(g) = self.guesses.get(i) {
            return Some((g, Kind::Guess));
        }
        i = i.checked_sub(self.guesses.len())?;
        if let Some(w) = self.bundled.get(i) {
            return Some((w, Kind::Bundled));
        }
        i = i.checked_sub(self.bundled.len())?;
        if i < self.pins {
            let (digits, mut n) = if i < 10_000 {
                (4, i)
            } else if i < 110_000 {
                (5, i - 10_000)
            } else {
                (6, i - 110_000)
            };
            for slot in buf.iter_mut().take(digits).rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
            return Some((buf.get(..digits)?, Kind::Pin));
        }
        i = i.checked_sub(self.pins)?;
        self.user.get(i).map(|w| (*w, Kind::User))
    }
}

/// Guesses from the user name and realm, without duplicates, in a fixed order.
fn guesses(user: &str, realm: &str) -> Vec<Vec<u8>> {
    let reversed: String = user.chars().rev().collect();
    let mut capitalized = String::new();
    let mut chars = user.chars();
    if let Some(c) = chars.next() {
        capitalized.extend(c.to_uppercase());
        capitalized.push_str(chars.as_str());
    }
    let realm_label = realm.split(['.', '@', ':']).next().unwrap_or(realm);
    let list = [
        user.to_string(),
        String::new(),
        format!("{user}{user}"),
        reversed,
        format!("{user}123"),
        format!("{user}1234"),
        format!("{user}1"),
        format!("{user}12"),
        format!("123{user}"),
        format!("{user}!"),
        format!("pass{user}"),
        format!("{user}pass"),
        format!("password{user}"),
        format!("{user}password"),
        format!("sip{user}"),
        format!("{user}sip"),
        format!("secret{user}"),
        format!("{user}secret"),
        user.to_lowercase(),
        user.to_uppercase(),
        capitalized,
        format!("{user}@{realm}"),
        realm.to_string(),
        format!("{realm}123"),
        realm_label.to_string(),
        format!("{realm_label}123"),
        format!("{user}{realm_label}"),
        format!("{realm_label}{user}"),
    ];
    let mut out: Vec<Vec<u8>> = Vec::new();
    for g in list {
        let g = g.into_bytes();
        if g.len() <= MAX_WORD && !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// The non-empty lines of a wordlist (CR LF or LF), at most `max` of them, each at most [`MAX_WORD`] bytes.
fn words(text: &[u8], max: usize) -> Vec<&[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && l.len() <= MAX_WORD)
        .take(max)
        .collect()
}

pub(crate) fn read_wordlist(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_WORDLIST_BYTES)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

fn nibble(n: u8) -> u8 {
    if n < 10 { b'0' + n } else { b'a' + (n - 10) }
}

/// Lowercase hex of a 16-byte digest.
fn hex(d: &[u8; 16]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(d) {
        if let [hi, lo] = pair {
            *hi = nibble(b >> 4);
            *lo = nibble(b & 0x0f);
        }
    }
    out
}

/// 32 hex digits → 16 bytes.
fn unhex(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        let hi = char::from(*hi).to_digit(16)?;
        let lo = char::from(*lo).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc2617_key() -> Key {
        Key {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            method: "GET".into(),
            uri: "/dir/index.html".into(),
            qop: Some("auth".into()),
            nc: "00000001".into(),
            cnonce: "0a4f113b".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            algorithm: "md5".into(),
            body: None,
        }
    }

    fn prefix(user: &str, realm: &str) -> Md5 {
        let mut p = Md5::new();
        p.update(format!("{user}:{realm}:"));
        p
    }

    #[test]
    fn weak_password_rfc2617_example_response() {
        let k = rfc2617_key();
        let t = Target::new(&k).unwrap();
        let ha1 = ha1_from(&prefix(&k.username, &k.realm), b"Circle Of Life");
        assert_eq!(&hex(&t.response(&ha1)), b"6629fae49393a05397450978507c4ef1");
        assert_eq!(t.response(&ha1), t.expected);
        let wrong = ha1_from(&prefix(&k.username, &k.realm), b"Circle of Life");
        assert_ne!(t.response(&wrong), t.expected);
    }

    #[test]
    fn weak_password_rfc2617_cracked_from_user_wordlist() {
        let k = rfc2617_key();
        let t = Target::new(&k).unwrap();
        let text = b"hunter2\r\n\r\nCircle Of Life\r\nother\n".to_vec();
        let user = words(&text, MAX_WORDLIST_LINES);
        let bundled = words(BUNDLED.as_bytes(), usize::MAX);
        let g = guesses(&k.username, &k.realm);
        let cands = Candidates {
            guesses: &g,
            bundled: &bundled,
            pins: PINS,
            user: &user,
        };
        let found = crack(
            &Cracker::new(&k.username, &k.realm, &[&t]),
            &cands,
            cands.len(),
        )
        .unwrap();
        let mut buf = [0u8; 6];
        let (pw, kind) = cands.get(found, &mut buf).unwrap();
        assert_eq!(pw, b"Circle Of Life");
        assert_eq!(kind, Kind::User);
        assert_eq!(found, g.len() + bundled.len() + PINS + 1);
    }

    /// The sixteen-lane search finds what a one-at-a-time search over the same list finds, for every response
    /// form (qop=auth, no qop, MD5-sess), a user:realm: prefix longer than a block, passwords that overflow the
    /// first block, and a match in the middle of a batch with a decoy target beside it.
    #[test]
    fn weak_password_lane_search_equals_one_at_a_time_search() {
        let long_user = "u".repeat(70);
        for (user, password, position) in [
            ("Mufasa", "Circle Of Life", 37usize),
            (long_user.as_str(), "Circle Of Life", 5),
            ("Mufasa", &"x".repeat(80), 21),
            ("Mufasa", "Circle Of Life", 0),
        ] {
            for form in ["auth", "none", "sess"] {
                let mut k = rfc2617_key();
                k.username = user.to_string();
                match form {
                    "none" => k.qop = None,
                    "sess" => k.algorithm = "md5-sess".into(),
                    _ => {}
                }
                // The expected response, made with RustCrypto's MD5 one step at a time.
                k.response = "0".repeat(32);
                let t = Target::new(&k).unwrap();
                let ha1 = ha1_from(&prefix(user, &k.realm), password.as_bytes());
                k.response = String::from_utf8(hex(&t.response(&ha1)).to_vec()).unwrap();
                let t = Target::new(&k).unwrap();
                let mut decoy = rfc2617_key();
                decoy.response = "1".repeat(32);
                let decoy = Target::new(&decoy).unwrap();
                let mut list: Vec<Vec<u8>> = (0..60)
                    .map(|i| format!("word{i}-{}", "y".repeat(i)).into_bytes())
                    .collect();
                list.insert(position, password.as_bytes().to_vec());
                let user_words: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
                let cands = Candidates {
                    guesses: &[],
                    bundled: &[],
                    pins: 0,
                    user: &user_words,
                };
                let targets = [&decoy, &t];
                let cracker = Cracker::new(user, &k.realm, &targets);
                let scalar = (0..cands.len()).find(|&i| {
                    let mut buf = [0u8; 6];
                    let (w, _) = cands.get(i, &mut buf).unwrap();
                    let h = ha1_from(&prefix(user, &k.realm), w);
                    targets.iter().any(|t| t.response(&h) == t.expected)
                });
                assert_eq!(scalar, Some(position), "{form}");
                assert_eq!(
                    crack(&cracker, &cands, cands.len()),
                    scalar,
                    "{form} {user} {position}"
                );
                // Below the match's index, nothing is found.
                assert_eq!(crack(&cracker, &cands, position), None);
            }
        }
    }

    #[test]
    fn weak_password_rfc2617_without_qop_and_sess() {
        // RFC 2069 form (no qop): response = MD5(HA1:nonce:HA2).
        let mut k = rfc2617_key();
        k.qop = None;
        let ha1 = ha1_from(&prefix(&k.username, &k.realm), b"Circle Of Life");
        let ha2 = hex(&Md5::digest(b"GET:/dir/index.html").into());
        let mut expected = Md5::new();
        expected.update(hex(&ha1));
        expected.update(format!(":{}:", k.nonce));
        expected.update(ha2);
        let expected: [u8; 16] = expected.finalize().into();
        k.response = String::from_utf8(hex(&expected).to_vec()).unwrap();
        let t = Target::new(&k).unwrap();
        assert_eq!(t.response(&ha1), t.expected);
        // MD5-sess with qop=auth.
        let mut k = rfc2617_key();
        k.algorithm = "md5-sess".into();
        let mut sess = Md5::new();
        sess.update(hex(&ha1));
        sess.update(format!(":{}:{}", k.nonce, k.cnonce));
        let sess_ha1 = hex(&sess.finalize().into());
        let mut r = Md5::new();
        r.update(sess_ha1);
        r.update(format!(":{}:{}:{}:auth:", k.nonce, k.nc, k.cnonce));
        r.update(ha2);
        let r: [u8; 16] = r.finalize().into();
        k.response = String::from_utf8(hex(&r).to_vec()).unwrap();
        let t = Target::new(&k).unwrap();
        assert_eq!(t.response(&ha1), t.expected);
    }

    #[test]
    fn weak_password_candidates_and_hostile_values() {
        let bundled = words(BUNDLED.as_bytes(), usize::MAX);
        assert!(bundled.len() >= 200, "{}", bundled.len());
        let g = guesses("2001", "asterisk");
        let cands = Candidates {
            guesses: &g,
            bundled: &bundled,
            pins: PINS,
            user: &[],
        };
        assert_eq!(cands.len(), g.len() + bundled.len() + PINS);
        let mut buf = [0u8; 6];
        let base = g.len() + bundled.len();
        assert_eq!(cands.get(base, &mut buf).unwrap().0, b"0000");
        assert_eq!(cands.get(base + 9_999, &mut buf).unwrap().0, b"9999");
        assert_eq!(cands.get(base + 10_000, &mut buf).unwrap().0, b"00000");
        assert_eq!(cands.get(base + 110_000, &mut buf).unwrap().0, b"000000");
        assert_eq!(
            cands.get(base + PINS - 1, &mut buf).unwrap(),
            (&b"999999"[..], Kind::Pin)
        );
        assert!(cands.get(cands.len(), &mut buf).is_none());
        assert!(g.contains(&b"2001".to_vec()) && g.contains(&b"1002".to_vec()));
        assert_eq!(mask("1234"), "1•••");
        assert_eq!(mask(""), "(empty)");
        // Not MD5, malformed responses, missing nc/cnonce with qop, unknown qop: no target, no panic.
        let mut k = rfc2617_key();
        k.response = "zz".repeat(16);
        assert!(Target::new(&k).is_none());
        k.response = "é".repeat(16);
        assert!(Target::new(&k).is_none());
        let mut k = rfc2617_key();
        k.nc = String::new();
        assert!(Target::new(&k).is_none());
        let mut k = rfc2617_key();
        k.qop = Some("auth-conf".into());
        assert!(Target::new(&k).is_none());
        let mut k = rfc2617_key();
        k.algorithm = "sha-256".into();
        assert!(Target::new(&k).is_none());
        assert!(unhex("").is_none());
    }
}
