//! Decryption of TLS (and, in [`dtls`], DTLS-SRTP) with the keys an investigator holds: NSS key logs (files or the
//! capture's pcapng Decryption Secrets Blocks) and RSA server keys. Pure over bytes and keys: the transport stage
//! hands it whole records of one connection, it hands back the application data. May import: `model`,
//! `media::srtp` (the SRTP keys DTLS-SRTP exports).
//!
//! - [`keylog`]: the keys ([`Keys`]), their sources (with SHA-256, for the report) and their bounds.
//! - [`kdf`]: TLS 1.2 PRF, TLS 1.3 HKDF-Expand-Label, the exporters.
//! - [`record`]: opening one record (AES-GCM, AES-CCM/CCM_8, ChaCha20-Poly1305, AES-CBC + HMAC with or without
//!   encrypt-then-MAC); tags and MACs always verified.
//! - [`session`]: one connection's handshake, key schedule and record sequence.
//! - [`dtls`]: DTLS associations on UDP and the SRTP keys DTLS-SRTP exports.

pub mod dtls;
pub mod kdf;
pub mod keylog;
pub mod record;
pub mod session;

pub use keylog::{KeyError, KeySource, Keys};
pub use session::{DecryptState, KeyOrigin, ResumptionCache, TlsConn, suite_name, suite_params};

/// Lowercase hex SHA-256 of a DER certificate (the form of SDP `a=fingerprint:sha-256`, without colons).
pub fn certificate_sha256(der: &[u8]) -> String {
    use sha2::Digest;
    session::hex(&sha2::Sha256::digest(der))
}
