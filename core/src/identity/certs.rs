//! The investigator's certificates: the folder of certificates downloaded from PASSporT `x5u` URLs and the trust
//! anchors (an STI-PA list as a PEM bundle). Nothing is ever fetched. Files are read once, bounded, and every file
//! that cannot be used becomes a diagnostic; certificates are parsed by `x509-cert`, signatures checked with `p256`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use x509_cert::Certificate;
use x509_cert::der::asn1::{Ia5StringRef, ObjectIdentifier};
use x509_cert::der::{Decode, Encode, Tag, TagNumber, Tagged};

/// Files read from the certificate folder (more are skipped with a diagnostic).
pub const MAX_FILES: usize = 4096;
/// Bytes of one certificate file or of the trust-anchor bundle.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Certificates taken from one file.
pub const MAX_CERTS_PER_FILE: usize = 16;
/// Certificates in a chain, leaf to anchor.
pub const MAX_CHAIN: usize = 8;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// RFC 8226 `id-pe-TNAuthList`.
const TN_AUTH_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");

/// Why the certificates could not be read at all (single files that fail are diagnostics instead).
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trust anchors {path}: {reason}")]
    Anchors { path: PathBuf, reason: String },
}

/// RFC 8226 TNAuthList entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TnAuthList {
    pub spcs: Vec<String>,
    /// (first number, count) — a single number has count 1.
    pub ranges: Vec<(String, u64)>,
}

impl TnAuthList {
    /// Whether `tn` (digits) is one of the list's numbers or ranges. SPC entries authorise the provider's numbers,
    /// which the certificate does not list: `None` (cannot be decided) when the list has SPCs and no range covers it.
    pub fn covers(&self, tn: &str) -> Option<bool> {
        let hit = self
            .ranges
            .iter()
            .any(|(start, count)| in_range(tn, start, *count));
        if hit {
            Some(true)
        } else if self.spcs.is_empty() {
            Some(false)
        } else {
            None
        }
    }

    /// The list in words: numbers as `start` or `start+count`.
    pub fn numbers(&self) -> Vec<String> {
        self.ranges
            .iter()
            .map(|(s, c)| {
                if *c <= 1 {
                    s.clone()
                } else {
                    format!("{s}+{c}")
                }
            })
            .collect()
    }
}

fn in_range(tn: &str, start: &str, count: u64) -> bool {
    if tn.len() != start.len() {
        return false;
    }
    match (tn.parse::<u128>(), start.parse::<u128>()) {
        (Ok(n), Ok(s)) => n >= s && n - s < u128::from(count.max(1)),
        _ => tn == start,
    }
}

/// One parsed certificate.
#[derive(Debug)]
pub struct Cert {
    pub der: Vec<u8>,
    cert: Certificate,
    /// The P-256 key, when the certificate has one.
    pub key: Option<VerifyingKey>,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    pub tn_auth: Option<TnAuthList>,
    pub sha256: String,
    /// Where it was read from (file name, for messages).
    pub origin: String,
}

impl Cert {
    fn parse(der: &[u8], origin: &str) -> Result<Cert, String> {
        let cert =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        let key = (spki.algorithm.oid == ID_EC_PUBLIC_KEY
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                == Some(PRIME256V1))
        .then(|| VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).ok())
        .flatten();
        let mut is_ca = false;
        let mut tn_auth = None;
        for ext in tbs.extensions.iter().flatten() {
            if ext.extn_id == BASIC_CONSTRAINTS {
                is_ca = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                    .is_ok_and(|b| b.ca);
            } else if ext.extn_id == TN_AUTH_LIST {
                tn_auth = Some(
                    parse_tn_auth_list(ext.extn_value.as_bytes())
                        .map_err(|e| format!("TNAuthList extension unreadable: {e}"))?,
                );
            }
        }
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        Ok(Cert {
            der: der.to_vec(),
            key,
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            not_before: secs(tbs.validity.not_before),
            not_after: secs(tbs.validity.not_after),
            is_ca,
            tn_auth,
            sha256: crate::hash::sha256_of(der),
            origin: origin.to_string(),
            cert,
        })
    }

    /// Whether `issuer` signed this certificate (names equal, ECDSA P-256 with SHA-256); `Err` says why not.
    fn signed_by(&self, issuer: &Cert) -> Result<(), String> {
        if self.cert.tbs_certificate.issuer != issuer.cert.tbs_certificate.subject {
            return Err("names differ".into());
        }
        if self.cert.signature_algorithm.oid != ECDSA_WITH_SHA256 {
            return Err(format!(
                "signature algorithm {} is not ecdsa-with-SHA256",
                self.cert.signature_algorithm.oid
            ));
        }
        let Some(key) = &issuer.key else {
            return Err(format!("issuer `{}` has no P-256 key", issuer.subject));
        };
        let tbs = self
            .cert
            .tbs_certificate
            .to_der()
            .map_err(|e| format!("certificate body: {e}"))?;
        let sig = self
            .cert
            .signature
            .as_bytes()
            .and_then(|b| Signature::from_der(b).ok())
            .ok_or("signature is not a DER ECDSA signature")?;
        key.verify(&tbs, &sig)
            .map_err(|_| format!("signature by `{}` does not verify", issuer.subject))
    }

    /// Valid at `secs` (Unix seconds)?
    pub fn valid_at(&self, secs: i64) -> bool {
        self.not_before <= secs && secs <= self.not_after
    }
}

/// RFC 8226: `TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry`, `TNEntry ::= CHOICE { spc [0]
/// ServiceProviderCode, range [1] TelephoneNumberRange, one [2] TelephoneNumber }`, explicit tags (the module's
/// default), numbers and codes IA5Strings, a range `SEQUENCE { start TelephoneNumber, count INTEGER }`.
pub fn parse_tn_auth_list(der: &[u8]) -> Result<TnAuthList, String> {
    use x509_cert::der::asn1::AnyRef;
    let entries: Vec<AnyRef<'_>> = Vec::from_der(der).map_err(|e| e.to_string())?;
    let mut list = TnAuthList::default();
    for entry in entries.iter().take(256) {
        let (Tag::ContextSpecific { number, .. }, inner) = (entry.tag(), entry.value()) else {
            return Err(format!("unexpected entry {}", entry.tag()));
        };
        let ia5 = |b: &[u8]| -> Result<String, String> {
            Ia5StringRef::from_der(b)
                .map(|s| s.as_str().to_string())
                .map_err(|e| e.to_string())
        };
        match number {
            n if n == TagNumber::N0 => list.spcs.push(ia5(inner)?),
            n if n == TagNumber::N2 => list.ranges.push((ia5(inner)?, 1)),
            n if n == TagNumber::N1 => {
                let seq: Vec<AnyRef<'_>> = Vec::from_der(inner).map_err(|e| e.to_string())?;
                let (Some(start), Some(count)) = (seq.first(), seq.get(1)) else {
                    return Err("range without start and count".into());
                };
                let start = Ia5StringRef::try_from(*start)
                    .map(|s| s.as_str().to_string())
                    .map_err(|e| e.to_string())?;
                let count = count.decode_as::<u64>().map_err(|e| e.to_string())?;
                list.ranges.push((start, count));
            }
            other => return Err(format!("unknown TNEntry [{}]", other.value())),
        }
    }
    Ok(list)
}

/// The outcome of building a chain from a leaf to a trust anchor.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Leaf first; the anchor last when `trusted`.
    pub certs: Vec<Arc<Cert>>,
    /// `Ok` when the chain ends at a trust anchor; otherwise why not.
    pub trusted: Result<(), String>,
}

impl Chain {
    /// The first certificate of the chain not valid at `secs`, if any.
    pub fn invalid_at(&self, secs: i64) -> Option<&Cert> {
        self.certs
            .iter()
            .map(Arc::as_ref)
            .find(|c| !c.valid_at(secs))
    }
}

/// The certificate folder and the trust anchors.
#[derive(Debug, Default)]
pub struct CertStore {
    /// File name (as found) → its certificates in file order.
    files: BTreeMap<String, Vec<Arc<Cert>>>,
    /// Every certificate of the folder (issuer candidates).
    pool: Vec<Arc<Cert>>,
    anchors: Vec<Arc<Cert>>,
    /// What was read, for the report (`folder (N files)`, `anchors (N)`).
    pub sources: Vec<String>,
    /// Files that could not be used, in words (file-level diagnostics).
    pub problems: Vec<String>,
    /// Whether a trust-anchor bundle was given.
    pub has_anchors: bool,
    /// Whether a folder was given.
    pub has_folder: bool,
}

impl CertStore {
    /// Reads the certificate folder and the trust-anchor bundle (either may be absent).
    pub fn load(folder: Option<&Path>, anchors: Option<&Path>) -> Result<CertStore, CertError> {
        let mut store = CertStore::default();
        if let Some(dir) = folder {
            store.has_folder = true;
            let read = std::fs::read_dir(dir).map_err(|source| CertError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut names: Vec<(String, PathBuf)> = Vec::new();
            let mut skipped = 0usize;
            for entry in read.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                if names.len() >= MAX_FILES {
                    skipped += 1;
                    continue;
                }
                names.push((entry.file_name().to_string_lossy().into_owned(), path));
            }
            names.sort();
            for (name, path) in &names {
                match read_bounded(path).and_then(|b| parse_certs(&b, name)) {
                    Ok(certs) if certs.is_empty() => {}
                    Ok(certs) => {
                        let certs: Vec<Arc<Cert>> = certs.into_iter().map(Arc::new).collect();
                        store.pool.extend(certs.iter().cloned());
                        store.files.insert(name.clone(), certs);
                    }
                    Err(e) => store.problems.push(format!("certificate file {name}: {e}")),
                }
            }
            if skipped > 0 {
                store.problems.push(format!(
                    "certificate folder {}: {skipped} files beyond the first {MAX_FILES} were not read",
                    dir.display()
                ));
            }
            store.sources.push(format!(
                "certificates: {} ({} files, {} certificates)",
                dir.display(),
                store.files.len(),
                store.pool.len()
            ));
        }
        if let Some(path) = anchors {
            store.has_anchors = true;
            let name = path.display().to_string();
            let bytes = read_bounded(path).map_err(|reason| CertError::Anchors {
                path: path.to_path_buf(),
                reason,
            })?;
            let certs = parse_certs(&bytes, &name).map_err(|reason| CertError::Anchors {
                path: path.to_path_buf(),
                reason,
            })?;
            if certs.is_empty() {
                return Err(CertError::Anchors {
                    path: path.to_path_buf(),
                    reason: "no certificate in it".into(),
                });
            }
            store.anchors = certs.into_iter().map(Arc::new).collect();
            store
                .sources
                .push(format!("trust anchors: {name} ({})", store.anchors.len()));
        }
        Ok(store)
    }

    /// The certificates for a URL: the file named by the URL's SHA-256 (hex) or by the URL with every byte outside
    /// `[A-Za-z0-9.-]` replaced by `_`, either optionally with `.pem`, `.der`, `.cer` or `.crt`.
    pub fn lookup(&self, url: &str) -> Option<&[Arc<Cert>]> {
        let hash = crate::hash::sha256_of(url.as_bytes());
        let sanitized: String = url
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                    char::from(b)
                } else {
                    '_'
                }
            })
            .collect();
        for base in [hash.as_str(), sanitized.as_str()] {
            for ext in ["", ".pem", ".der", ".cer", ".crt"] {
                if let Some(c) = self.files.get(&format!("{base}{ext}")) {
                    return Some(c);
                }
            }
        }
        None
    }

    /// Builds the chain from `leaf` (its own file's other certificates first, then the folder) to an anchor.
    pub fn chain(&self, leaf: &Arc<Cert>, file: &[Arc<Cert>]) -> Chain {
        let mut certs = vec![leaf.clone()];
        if !self.has_anchors {
            return Chain {
                certs,
                trusted: Err("no trust anchors were given (--sti-roots)".into()),
            };
        }
        let mut current = leaf.clone();
        for _ in 0..MAX_CHAIN {
            if self.anchors.iter().any(|a| a.der == current.der) {
                return Chain {
                    certs,
                    trusted: Ok(()),
                };
            }
            let mut why = Vec::new();
            if let Some(anchor) = self.anchors.iter().find(|a| match current.signed_by(a) {
                Ok(()) => true,
                Err(e) => {
                    if e != "names differ" {
                        why.push(e);
                    }
                    false
                }
            }) {
                certs.push(anchor.clone());
                return Chain {
                    certs,
                    trusted: Ok(()),
                };
            }
            let next = file
                .iter()
                .chain(self.pool.iter())
                .filter(|c| c.der != current.der && !certs.iter().any(|k| k.der == c.der))
                .find(|c| match current.signed_by(c) {
                    Ok(()) if c.is_ca => true,
                    Ok(()) => {
                        why.push(format!("issuer `{}` is not a CA", c.subject));
                        false
                    }
                    Err(e) => {
                        if e != "names differ" {
                            why.push(e);
                        }
                        false
                    }
                })
                .cloned();
            match next {
                Some(n) => {
                    certs.push(n.clone());
                    current = n;
                }
                None => {
                    let reason = if why.is_empty() && current.subject == current.issuer {
                        format!(
                            "the chain ends at the self-signed `{}`, which is not a trust anchor",
                            current.subject
                        )
                    } else if why.is_empty() {
                        format!(
                            "issuer `{}` of `{}` is neither a trust anchor nor in the certificate folder",
                            current.issuer, current.subject
                        )
                    } else {
                        why.join("; ")
                    };
                    return Chain {
                        certs,
                        trusted: Err(reason),
                    };
                }
            }
        }
        Chain {
            certs,
            trusted: Err(format!("no trust anchor within {MAX_CHAIN} certificates")),
        }
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// PEM (one or more certificates; other PEM blocks ignored) or a single DER certificate.
pub fn parse_certs(bytes: &[u8], origin: &str) -> Result<Vec<Cert>, String> {
    let text = std::str::from_utf8(bytes).ok();
    if let Some(text) = text.filter(|t| t.contains("-----BEGIN")) {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let tail = rest.get(start..).unwrap_or_default();
            let Some(end) = tail.find("-----END CERTIFICATE-----") else {
                return Err("a PEM certificate block has no END line".into());
            };
            let block_end = end + "-----END CERTIFICATE-----".len();
            let block = tail.get(..block_end).unwrap_or_default();
            rest = tail.get(block_end..).unwrap_or_default();
            if out.len() >= MAX_CERTS_PER_FILE {
                return Err(format!("more than {MAX_CERTS_PER_FILE} certificates"));
            }
            let (label, der) = x509_cert::der::pem::decode_vec(block.as_bytes())
                .map_err(|e| format!("PEM: {e}"))?;
            if label != "CERTIFICATE" {
                continue;
            }
            out.push(Cert::parse(&der, origin)?);
        }
        return Ok(out);
    }
    Cert::parse(bytes, origin).map(|c| vec![c])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tn_auth_list_spc_and_numbers() {
        // SEQUENCE { [0] IA5String "1234" } — the RFC 8226 example encoding with explicit tags.
        let spc = [0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'2', b'3', b'4'];
        let l = parse_tn_auth_list(&spc).unwrap();
        assert_eq!(l.spcs, vec!["1234"]);
        assert_eq!(l.covers("12025550100"), None);
        // SEQUENCE { [2] IA5String "12025550300", [1] SEQUENCE { "12025550400", INTEGER 100 } }
        let mut der = vec![0x30, 0x00];
        let one = b"12025550300";
        der.extend([0xa2, 2 + one.len() as u8, 0x16, one.len() as u8]);
        der.extend(one);
        let start = b"12025550400";
        let seq_len = 2 + start.len() + 3;
        der.extend([
            0xa1,
            (2 + seq_len) as u8,
            0x30,
            seq_len as u8,
            0x16,
            start.len() as u8,
        ]);
        der.extend(start);
        der.extend([0x02, 0x01, 100]);
        der[1] = (der.len() - 2) as u8;
        let l = parse_tn_auth_list(&der).unwrap();
        assert_eq!(l.numbers(), vec!["12025550300", "12025550400+100"]);
        assert_eq!(l.covers("12025550300"), Some(true));
        assert_eq!(l.covers("12025550301"), Some(false));
        assert_eq!(l.covers("12025550499"), Some(true));
        assert_eq!(l.covers("12025550500"), Some(false));
        assert!(parse_tn_auth_list(&[0x30, 0x03, 0xa5, 0x01, 0x00]).is_err());
        assert!(parse_tn_auth_list(&[0x30, 0x05]).is_err());
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert!(parse_certs(b"-----BEGIN CERTIFICATE-----\nAAAA", "x").is_err());
        assert!(parse_certs(&[0x30, 0x82, 0xff, 0xff, 0x00], "x").is_err());
        assert!(parse_certs(b"", "x").is_err());
    }
}
