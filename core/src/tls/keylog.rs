//! Keys an investigator holds: NSS key log files (`SSLKEYLOGFILE`, every label), the same text from pcapng
//! Decryption Secrets Blocks, and RSA private keys (PEM, PKCS#1 or PKCS#8) for TLS 1.2 RSA key exchange.
//!
//! Parsing never fails as a whole: each malformed line becomes a diagnostic with its line number and the good lines
//! are used. Bounded: [`MAX_KEYLOG_BYTES`] per source, [`MAX_SESSIONS`] client randoms over all sources.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::{DiagLevel, Diagnostic, Layer};

/// Largest key log read (bytes); the rest of a longer file is ignored with a diagnostic.
pub const MAX_KEYLOG_BYTES: usize = 256 * 1024 * 1024;
/// Client randoms (TLS sessions) held over all key sources; further lines are counted and dropped.
pub const MAX_SESSIONS: usize = 1_000_000;
/// Largest RSA key file read (bytes).
const MAX_PEM_BYTES: usize = 1024 * 1024;

/// Where a key came from: a file the user gave, or a Decryption Secrets Block of the capture.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeySource {
    /// `keylog`, `pcapng-dsb` or `rsa-key`.
    pub kind: String,
    /// The file name as given (no directory: reports never carry the investigator's paths), or `pcapng DSB N`.
    pub name: String,
    /// SHA-256 of the bytes read (keys are evidence too); the keys themselves never appear in a report.
    pub sha256: String,
    /// Sessions (client randoms) or keys this source supplied.
    pub entries: usize,
    /// Lines that could not be used.
    pub bad_lines: usize,
}

/// The secrets the key logs hold for one client random.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `CLIENT_RANDOM`: the TLS 1.2 master secret (48 bytes).
    pub master: Option<Vec<u8>>,
    pub client_early: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic0: Option<Vec<u8>>,
    pub server_traffic0: Option<Vec<u8>>,
    pub exporter: Option<Vec<u8>>,
    pub early_exporter: Option<Vec<u8>>,
    /// Index in [`Keys::sources`] of the source of the first secret seen for this session.
    pub source: usize,
}

/// Every key the analysis may use.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    pub sources: Vec<KeySource>,
    sessions: HashMap<[u8; 32], Secrets>,
    /// NSS `RSA` lines: first 8 bytes of the encrypted pre-master secret → (pre-master secret, source).
    rsa_premaster: HashMap<[u8; 8], (Vec<u8>, usize)>,
    /// RSA private keys with their source index.
    pub(crate) rsa: Vec<(rsa::RsaPrivateKey, usize)>,
    /// Problems found while reading the keys (line numbers, not frame numbers).
    pub diagnostics: Vec<Diagnostic>,
    /// Lines dropped because [`MAX_SESSIONS`] was reached.
    pub sessions_dropped: u64,
}

/// Why a key file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {error}")]
    Io {
        path: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{name}: not an RSA private key in PEM (PKCS#1 or PKCS#8): {reason}")]
    NotRsaKey { name: String, reason: String },
}

fn hex_sha256(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    for b in Sha256::digest(data) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Decode lowercase or uppercase hex; `None` on an odd length or a non-hex digit.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks_exact(2)
        .map(|p| Some(val(*p.first()?)? << 4 | val(*p.get(1)?)?))
        .collect()
}

impl Keys {
    pub fn new() -> Self {
        Keys::default()
    }

    /// No key of any kind.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.rsa_premaster.is_empty() && self.rsa.is_empty()
    }

    /// Sessions (client randoms) known.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    pub fn session(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// Some key log had NSS `RSA` lines.
    pub(crate) fn has_rsa_lines(&self) -> bool {
        !self.rsa_premaster.is_empty()
    }

    /// The pre-master secret an NSS `RSA` line gives for an encrypted pre-master secret.
    pub(crate) fn rsa_premaster(&self, encrypted: &[u8]) -> Option<&(Vec<u8>, usize)> {
        let first: [u8; 8] = encrypted.get(..8)?.try_into().ok()?;
        self.rsa_premaster.get(&first)
    }

    /// The key log lines (NSS format) of the session with this client random (hex), for an evidence export.
    pub fn keylog_text(&self, client_random_hex: &str) -> String {
        let Some(cr) = unhex(client_random_hex).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
            return String::new();
        };
        let Some(s) = self.sessions.get(&cr) else {
            return String::new();
        };
        let hex = |b: &[u8]| crate::tls::session::hex(b);
        let mut out = String::new();
        for (label, v) in [
            ("CLIENT_RANDOM", &s.master),
            ("CLIENT_EARLY_TRAFFIC_SECRET", &s.client_early),
            ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s.client_handshake),
            ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &s.server_handshake),
            ("CLIENT_TRAFFIC_SECRET_0", &s.client_traffic0),
            ("SERVER_TRAFFIC_SECRET_0", &s.server_traffic0),
            ("EXPORTER_SECRET", &s.exporter),
            ("EARLY_EXPORTER_SECRET", &s.early_exporter),
        ] {
            if let Some(v) = v {
                out.push_str(&format!("{label} {} {}\n", hex(&cr), hex(v)));
            }
        }
        out
    }

    /// Read an NSS key log file. The file's problems are diagnostics; only an unreadable file is an error.
    pub fn load_keylog(&mut self, path: &Path) -> Result<usize, KeyError> {
        let data = read_bounded(path, MAX_KEYLOG_BYTES)?;
        Ok(self.add_keylog("keylog", &file_name(path), &data.0, data.1))
    }

    /// Read an RSA private key (PEM: `BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY`).
    pub fn load_rsa_key(&mut self, path: &Path) -> Result<(), KeyError> {
        let (data, _) = read_bounded(path, MAX_PEM_BYTES)?;
        self.add_rsa_pem(&file_name(path), &data)
    }

    /// Add an RSA private key from PEM text.
    pub fn add_rsa_pem(&mut self, name: &str, pem: &[u8]) -> Result<(), KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let text = std::str::from_utf8(pem).map_err(|_| KeyError::NotRsaKey {
            name: name.to_string(),
            reason: "not text".into(),
        })?;
        let key = match rsa::RsaPrivateKey::from_pkcs8_pem(text) {
            Ok(k) => k,
            Err(e8) => {
                rsa::RsaPrivateKey::from_pkcs1_pem(text).map_err(|e1| KeyError::NotRsaKey {
                    name: name.to_string(),
                    reason: format!("PKCS#8: {e8}; PKCS#1: {e1}"),
                })?
            }
        };
        let source = self.sources.len();
        self.sources.push(KeySource {
            kind: "rsa-key".into(),
            name: name.to_string(),
            sha256: hex_sha256(pem),
            entries: 1,
            bad_lines: 0,
        });
        self.rsa.push((key, source));
        Ok(())
    }

    /// Add key log text (a file's, or a Decryption Secrets Block's). `truncated`: the source was longer than
    /// [`MAX_KEYLOG_BYTES`]. Returns the number of usable lines.
    pub fn add_keylog(&mut self, kind: &str, name: &str, text: &[u8], truncated: bool) -> usize {
        let source = self.sources.len();
        let mut used = 0usize;
        let mut bad = 0usize;
        let mut sessions = std::collections::HashSet::new();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = i.saturating_add(1);
            let line = String::from_utf8_lossy(raw);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match self.add_line(line, source) {
                Ok(Some(cr)) => {
                    used += 1;
                    sessions.insert(cr);
                }
                Ok(None) => used += 1,
                Err(why) => {
                    bad += 1;
                    if bad <= 100 {
                        self.diagnostics.push(Diagnostic::new(
                            None,
                            Layer::Tls,
                            DiagLevel::Warning,
                            format!("{name} line {line_no}: {why}; line ignored"),
                        ));
                    }
                }
            }
        }
        if bad > 100 {
            self.diagnostics.push(Diagnostic::new(
                None,
                Layer::Tls,
                DiagLevel::Warning,
                format!("{name}: {bad} unusable lines in all (the first 100 are listed)"),
            ));
        }
        if truncated {
            self.diagnostics.push(Diagnostic::new(
                None,
                Layer::Tls,
                DiagLevel::Warning,
                format!(
                    "{name}: longer than {} MiB; only the start was read",
                    MAX_KEYLOG_BYTES / (1024 * 1024)
                ),
            ));
        }
        self.sources.push(KeySource {
            kind: kind.to_string(),
            name: name.to_string(),
            sha256: hex_sha256(text),
            entries: sessions.len(),
            bad_lines: bad,
        });
        used
    }

    /// One key log line: `LABEL <client random hex> <secret hex>`. `Ok(Some(client random))` for a session
    /// secret, `Ok(None)` for an `RSA` line.
    fn add_line(&mut self, line: &str, source: usize) -> Result<Option<[u8; 32]>, String> {
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("expected three fields: LABEL <hex> <hex>".into());
        };
        let id_bytes = unhex(id).ok_or("the second field is not hex")?;
        let secret = unhex(secret).ok_or("the third field is not hex")?;
        if label == "RSA" {
            let first: [u8; 8] = id_bytes
                .as_slice()
                .try_into()
                .map_err(|_| "RSA: the encrypted pre-master prefix is not 8 bytes")?;
            if secret.len() != 48 {
                return Err("RSA: the pre-master secret is not 48 bytes".into());
            }
            self.rsa_premaster.entry(first).or_insert((secret, source));
            return Ok(None);
        }
        let cr: [u8; 32] = id_bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("the client random is {} bytes, not 32", id_bytes.len()))?;
        let expect_len = |ok: bool, what: &str| -> Result<(), String> {
            if ok {
                Ok(())
            } else {
                Err(format!("{label}: {what}"))
            }
        };
        match label {
            "CLIENT_RANDOM" => expect_len(secret.len() == 48, "the master secret is not 48 bytes")?,
            "CLIENT_EARLY_TRAFFIC_SECRET"
            | "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
            | "SERVER_HANDSHAKE_TRAFFIC_SECRET"
            | "CLIENT_TRAFFIC_SECRET_0"
            | "SERVER_TRAFFIC_SECRET_0"
            | "EXPORTER_SECRET"
            | "EARLY_EXPORTER_SECRET" => expect_len(
                secret.len() == 32 || secret.len() == 48,
                "a TLS 1.3 secret is 32 or 48 bytes",
            )?,
            other => return Err(format!("unknown label {other:?}")),
        }
        if !self.sessions.contains_key(&cr) && self.sessions.len() >= MAX_SESSIONS {
            self.sessions_dropped = self.sessions_dropped.saturating_add(1);
            return Err(format!("more than {MAX_SESSIONS} sessions; dropped"));
        }
        let s = self.sessions.entry(cr).or_insert_with(|| Secrets {
            source,
            ..Secrets::default()
        });
        let slot = match label {
            "CLIENT_RANDOM" => &mut s.master,
            "CLIENT_EARLY_TRAFFIC_SECRET" => &mut s.client_early,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_traffic0,
            "SERVER_TRAFFIC_SECRET_0" => &mut s.server_traffic0,
            "EXPORTER_SECRET" => &mut s.exporter,
            _ => &mut s.early_exporter,
        };
        if slot.is_none() {
            *slot = Some(secret);
        }
        Ok(Some(cr))
    }
}

/// Does `text` (the start of a file) look like an NSS key log: its first line that is not a comment parses as a
/// key log line, with the same parser the keys are read with.
pub fn looks_like_keylog(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| Keys::default().add_line(l, 0).is_ok())
}

/// Read at most `max` bytes of `path`; `.1` is true when the file was longer.
fn read_bounded(path: &Path, max: usize) -> Result<(Vec<u8>, bool), KeyError> {
    use std::io::Read;
    let io = |error| KeyError::Io {
        path: path.display().to_string(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    let f = std::fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    f.take(max as u64 + 1).read_to_end(&mut data).map_err(io)?;
    let truncated = data.len() > max;
    data.truncate(max);
    Ok((data, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_diagnosed_by_line_number_and_good_lines_kept() {
        let cr = "a".repeat(64);
        let text = format!(
            "# comment\nCLIENT_RANDOM {cr} {}\nCLIENT_RANDOM zz {}\nNOT_A_LABEL {cr} 00\n\nSERVER_TRAFFIC_SECRET_0 {cr} {}\n",
            "b".repeat(96),
            "b".repeat(96),
            "c".repeat(64)
        );
        let mut k = Keys::new();
        assert_eq!(k.add_keylog("keylog", "k.log", text.as_bytes(), false), 2);
        assert_eq!(k.diagnostics.len(), 2);
        assert!(
            k.diagnostics[0].message.starts_with("k.log line 3:"),
            "{:?}",
            k.diagnostics
        );
        assert!(k.diagnostics[1].message.starts_with("k.log line 4:"));
        let s = k.session(&[0xaa; 32]).expect("session");
        assert_eq!(s.master.as_deref(), Some(&[0xbb; 48][..]));
        assert_eq!(s.server_traffic0.as_deref(), Some(&[0xcc; 32][..]));
        assert_eq!(k.sources[0].entries, 1);
        assert_eq!(k.sources[0].bad_lines, 2);
        // Told by its first line, with the same parser.
        assert!(looks_like_keylog(&text));
        assert!(!looks_like_keylog("CLIENT_RANDOM zz 00\n"));
        assert!(!looks_like_keylog("INVITE sip:bob@example.com SIP/2.0\r\n"));
    }
}
