//! SRTP and SRTCP unprotection (RFC 3711) with SDES keys (RFC 4568 `a=crypto` lines, or keys given by hand):
//! key derivation, AES counter mode, HMAC-SHA1 authentication (the tag is always verified; failures are
//! counted, never played), and rollover-counter estimation (RFC 3711 Appendix A).
//! Pure functions and per-SSRC state; imports nothing else in the crate.
//!
//! Suites: `AES_CM_128_HMAC_SHA1_80/_32` (RFC 4568) and `AES_192_CM_HMAC_SHA1_80/_32`,
//! `AES_256_CM_HMAC_SHA1_80/_32` (RFC 6188). Not supported: AES-GCM (RFC 7714), AES-F8, the NULL cipher, a
//! non-zero key derivation rate (the SDES `KDR=` session parameter: session keys are derived once, with
//! r = 0), the `UNENCRYPTED_SRTP`/`UNENCRYPTED_SRTCP`/`UNAUTHENTICATED_SRTP` session parameters, encrypted
//! header extensions (RFC 6904), and streams whose rollover counter is not 0 at their first captured packet.
//! Replay protection is deliberately absent: a repeated packet is evidence, not an attack on the analyzer.
//! Key lifetimes are parsed but not enforced.

use std::collections::HashMap;

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The crypto suites Earshot can unprotect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
    /// RFC 6188.
    Aes192CmHmacSha1_80,
    /// RFC 6188.
    Aes192CmHmacSha1_32,
    /// RFC 6188.
    Aes256CmHmacSha1_80,
    /// RFC 6188.
    Aes256CmHmacSha1_32,
    /// RFC 7714: AES-GCM with a 16-byte tag, 12-byte salt (DTLS-SRTP profile 0x0007, SDES `AEAD_AES_128_GCM`).
    AeadAes128Gcm,
    /// RFC 7714 (DTLS-SRTP profile 0x0008).
    AeadAes256Gcm,
}

/// Length of every master salt and session salt of the AES-CM suites (112 bits).
pub const SALT_LEN: usize = 14;
/// Master and session salt of the AES-GCM suites (96 bits, RFC 7714 §8.1).
const GCM_SALT_LEN: usize = 12;
/// The AES-GCM tag (RFC 7714: 16 bytes).
const GCM_TAG_LEN: usize = 16;
/// Length of the HMAC-SHA1 session authentication key (160 bits).
const AUTH_KEY_LEN: usize = 20;
/// Length of the SRTCP trailer word (E flag and 31-bit index).
const SRTCP_INDEX_LEN: usize = 4;
/// The largest MKI length RFC 4568 allows, in bytes.
const MAX_MKI_LEN: usize = 128;

impl SrtpSuite {
    /// Every supported suite.
    pub const ALL: [SrtpSuite; 8] = [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
        SrtpSuite::Aes192CmHmacSha1_80,
        SrtpSuite::Aes192CmHmacSha1_32,
        SrtpSuite::Aes256CmHmacSha1_80,
        SrtpSuite::Aes256CmHmacSha1_32,
        SrtpSuite::AeadAes128Gcm,
        SrtpSuite::AeadAes256Gcm,
    ];

    /// The RFC 7714 AEAD suites (the tag is GCM's; there is no separate authentication key).
    pub fn is_aead(self) -> bool {
        matches!(self, SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm)
    }

    /// The DTLS-SRTP protection profile of RFC 5764 §4.1.2 / RFC 7714 §14.2.
    pub fn from_dtls_profile(id: u16) -> Option<SrtpSuite> {
        match id {
            0x0001 => Some(SrtpSuite::AesCm128HmacSha1_80),
            0x0002 => Some(SrtpSuite::AesCm128HmacSha1_32),
            0x0007 => Some(SrtpSuite::AeadAes128Gcm),
            0x0008 => Some(SrtpSuite::AeadAes256Gcm),
            _ => None,
        }
    }

    /// The suite named in an `a=crypto` line, case-insensitively. Also accepts the libsrtp / DTLS-SRTP
    /// spellings (`SRTP_AES128_CM_SHA1_80`, `SRTP_AES128_CM_HMAC_SHA1_80`, `AES_CM_256_HMAC_SHA1_80`, ...).
    pub fn from_sdes_name(name: &str) -> Option<SrtpSuite> {
        let mut norm: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if let Some(rest) = norm.strip_prefix("SRTP") {
            norm = rest.to_string();
        }
        let norm = norm.replace("HMAC", "");
        match norm.as_str() {
            "AEADAES128GCM" => return Some(SrtpSuite::AeadAes128Gcm),
            "AEADAES256GCM" => return Some(SrtpSuite::AeadAes256Gcm),
            _ => {}
        }
        SrtpSuite::ALL
            .into_iter()
            .filter(|s| !s.is_aead())
            .find(|s| {
                let bits = s.master_key_len() * 8;
                let tag = s.auth_tag_len() * 8;
                norm == format!("AESCM{bits}SHA1{tag}") || norm == format!("AES{bits}CMSHA1{tag}")
            })
    }

    /// The RFC 4568 / RFC 6188 name.
    pub fn sdes_name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpSuite::Aes192CmHmacSha1_80 => "AES_192_CM_HMAC_SHA1_80",
            SrtpSuite::Aes192CmHmacSha1_32 => "AES_192_CM_HMAC_SHA1_32",
            SrtpSuite::Aes256CmHmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            SrtpSuite::Aes256CmHmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
            SrtpSuite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            SrtpSuite::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Master (and session) encryption key length in bytes: 16, 24 or 32.
    pub fn master_key_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80
            | SrtpSuite::AesCm128HmacSha1_32
            | SrtpSuite::AeadAes128Gcm => 16,
            SrtpSuite::Aes192CmHmacSha1_80 | SrtpSuite::Aes192CmHmacSha1_32 => 24,
            SrtpSuite::Aes256CmHmacSha1_80
            | SrtpSuite::Aes256CmHmacSha1_32
            | SrtpSuite::AeadAes256Gcm => 32,
        }
    }

    /// Master salt length in bytes (14 for every AES-CM suite, 12 for AES-GCM).
    pub fn master_salt_len(self) -> usize {
        if self.is_aead() {
            GCM_SALT_LEN
        } else {
            SALT_LEN
        }
    }

    /// SRTP authentication tag length in bytes: 10 for the `_80` suites, 4 for the `_32` suites.
    pub fn auth_tag_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80
            | SrtpSuite::Aes192CmHmacSha1_80
            | SrtpSuite::Aes256CmHmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32
            | SrtpSuite::Aes192CmHmacSha1_32
            | SrtpSuite::Aes256CmHmacSha1_32 => 4,
            SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm => GCM_TAG_LEN,
        }
    }

    /// SRTCP authentication tag length in bytes: always 10, the `_32` suites included (RFC 4568 §6.2.2 and
    /// RFC 6188 shorten only the SRTP tag).
    pub fn srtcp_auth_tag_len(self) -> usize {
        if self.is_aead() { GCM_TAG_LEN } else { 10 }
    }
}

/// Master key and salt of one SDES key (`inline:` key||salt, base64).
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey {
    pub suite: SrtpSuite,
    pub master_key: Vec<u8>,
    pub master_salt: Vec<u8>,
    /// The master key identifier as it appears on the wire (big-endian, MKI-length bytes) when the key
    /// params carry `|value:length`; every packet then has that many MKI bytes before its tag.
    pub mki: Option<Vec<u8>>,
    /// Key lifetime in packets (`|2^31` or `|1048576`), when given. Parsed, not enforced.
    pub lifetime: Option<u64>,
}

/// Why an SRTP key or packet could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("unsupported crypto suite {0}")]
    UnsupportedSuite(String),
    #[error("unsupported SDES session parameter {0}")]
    UnsupportedParam(String),
    #[error("bad key: {0}")]
    BadKey(String),
    #[error("packet too short for SRTP ({0} bytes)")]
    TooShort(usize),
    #[error("malformed packet: {0}")]
    Malformed(String),
    #[error("authentication tag does not verify")]
    AuthFailed,
}

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are evidence, but debug output is not where they belong.
        write!(
            f,
            "SrtpKey({:?}, {} key bytes, MKI length {})",
            self.suite,
            self.master_key.len(),
            self.mki_len()
        )
    }
}

/// Base64 as SDES writes it, tolerating missing padding.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn suite_by_name(name: &str) -> Result<SrtpSuite, SrtpError> {
    SrtpSuite::from_sdes_name(name)
        .ok_or_else(|| SrtpError::UnsupportedSuite(name.trim().to_string()))
}

/// Lifetime: `2^N` or a decimal packet count.
fn parse_lifetime(s: &str) -> Result<u64, SrtpError> {
    let bad = || SrtpError::BadKey(format!("bad key lifetime {s:?}"));
    if let Some(exp) = s.strip_prefix("2^") {
        let exp: u32 = exp.parse().map_err(|_| bad())?;
        1u64.checked_shl(exp).ok_or_else(bad)
    } else {
        s.parse().map_err(|_| bad())
    }
}

/// MKI `value:length`: a decimal value written big-endian into `length` (1..=128) bytes.
fn parse_mki(value: &str, length: &str) -> Result<Vec<u8>, SrtpError> {
    let bad = || SrtpError::BadKey(format!("bad MKI {value}:{length}"));
    let len: usize = length.parse().map_err(|_| bad())?;
    if !(1..=MAX_MKI_LEN).contains(&len) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let v: u128 = value.parse().map_err(|_| bad())?;
    let be = v.to_be_bytes();
    match be.len().checked_sub(len) {
        // Longer than 16 bytes: leading zeros.
        None => {
            let mut out = vec![0u8; len.saturating_sub(be.len())];
            out.extend_from_slice(&be);
            Ok(out)
        }
        Some(skip) => {
            let (high, low) = be.split_at_checked(skip).ok_or_else(bad)?;
            if high.iter().any(|&b| b != 0) {
                return Err(bad());
            }
            Ok(low.to_vec())
        }
    }
}

impl SrtpKey {
    /// A key from its parts, checking the lengths against the suite.
    pub fn new(
        suite: SrtpSuite,
        master_key: Vec<u8>,
        master_salt: Vec<u8>,
    ) -> Result<SrtpKey, SrtpError> {
        if master_key.len() != suite.master_key_len()
            || master_salt.len() != suite.master_salt_len()
        {
            return Err(SrtpError::BadKey(format!(
                "{} needs a {}-byte key and a {}-byte salt, got {} and {}",
                suite.sdes_name(),
                suite.master_key_len(),
                suite.master_salt_len(),
                master_key.len(),
                master_salt.len()
            )));
        }
        Ok(SrtpKey {
            suite,
            master_key,
            master_salt,
            mki: None,
            lifetime: None,
        })
    }

    /// Splits key||salt as the suite wants it.
    fn from_concatenated(suite: SrtpSuite, bytes: &[u8]) -> Result<SrtpKey, SrtpError> {
        let want = suite.master_key_len() + suite.master_salt_len();
        if bytes.len() != want {
            return Err(SrtpError::BadKey(format!(
                "{} needs {want} bytes of key||salt ({}-byte key + {}-byte salt), got {}",
                suite.sdes_name(),
                suite.master_key_len(),
                suite.master_salt_len(),
                bytes.len()
            )));
        }
        let (key, salt) = bytes
            .split_at_checked(suite.master_key_len())
            .ok_or_else(|| SrtpError::BadKey("key||salt too short".to_string()))?;
        SrtpKey::new(suite, key.to_vec(), salt.to_vec())
    }

    /// Length of the MKI field in each packet (0 without MKI).
    pub fn mki_len(&self) -> usize {
        self.mki.as_ref().map_or(0, Vec::len)
    }

    /// Parses the key-params of an `a=crypto` line: `inline:<base64 key||salt>[|lifetime][|MKI:len]`,
    /// possibly several `;`-separated key-params (the first is taken). Lifetime (`2^20` or decimal) and MKI
    /// are parsed; the MKI length is remembered so the MKI bytes before the tag are skipped.
    ///
    /// Session parameters may follow after whitespace: `KDR=0`, `FEC_ORDER`, `FEC_KEY` and `WSH` are
    /// accepted; a non-zero `KDR` and the `UNENCRYPTED_*` / `UNAUTHENTICATED_SRTP` flags are refused with
    /// [`SrtpError::UnsupportedParam`] (unprotecting as if they were absent would give garbage).
    pub fn from_sdes(suite_name: &str, key_params: &str) -> Result<SrtpKey, SrtpError> {
        let suite = suite_by_name(suite_name)?;
        let mut tokens = key_params.split_whitespace();
        let params = tokens.next().unwrap_or("");
        for session_param in tokens {
            let upper = session_param.to_ascii_uppercase();
            let refused = match upper.strip_prefix("KDR=") {
                Some(kdr) => kdr != "0",
                None => upper.starts_with("UNENCRYPTED_") || upper == "UNAUTHENTICATED_SRTP",
            };
            if refused {
                return Err(SrtpError::UnsupportedParam(session_param.to_string()));
            }
        }
        let first = params.split(';').next().unwrap_or("");
        let info = strip_prefix_ignore_case(first, "inline:").ok_or_else(|| {
            SrtpError::BadKey("key method is not inline: (only SDES inline keys exist)".to_string())
        })?;
        let mut parts = info.split('|');
        let b64 = parts.next().unwrap_or("");
        let bytes = BASE64
            .decode(b64)
            .map_err(|e| SrtpError::BadKey(format!("key is not base64: {e}")))?;
        let mut key = SrtpKey::from_concatenated(suite, &bytes)?;
        for part in parts {
            if let Some((value, length)) = part.split_once(':') {
                if key.mki.is_some() {
                    return Err(SrtpError::BadKey("two MKI fields".to_string()));
                }
                key.mki = Some(parse_mki(value, length)?);
            } else {
                if key.lifetime.is_some() || key.mki.is_some() {
                    return Err(SrtpError::BadKey(format!(
                        "unexpected key parameter {part:?}"
                    )));
                }
                key.lifetime = Some(parse_lifetime(part)?);
            }
        }
        Ok(key)
    }

    /// Key given by hand: base64 key||salt (30 bytes for AES-128, 38 for AES-192, 46 for AES-256), the same in
    /// hex (60, 76 or 92 hex digits; spaces and colons ignored), or a whole `inline:` key-params string.
    pub fn from_user(suite_name: &str, key: &str) -> Result<SrtpKey, SrtpError> {
        let suite = suite_by_name(suite_name)?;
        let key = key.trim();
        if strip_prefix_ignore_case(key, "inline:").is_some() {
            return SrtpKey::from_sdes(suite_name, key);
        }
        let want = suite.master_key_len() + suite.master_salt_len();
        let compact: Vec<u8> = key
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != b':')
            .collect();
        if compact.len() == 2 * want && compact.iter().all(u8::is_ascii_hexdigit) {
            let bytes: Option<Vec<u8>> = compact
                .chunks(2)
                .map(|pair| {
                    let s = std::str::from_utf8(pair).ok()?;
                    u8::from_str_radix(s, 16).ok()
                })
                .collect();
            let bytes = bytes.ok_or_else(|| SrtpError::BadKey("bad hex".to_string()))?;
            return SrtpKey::from_concatenated(suite, &bytes);
        }
        let bytes = BASE64.decode(&compact).map_err(|e| {
            SrtpError::BadKey(format!(
                "key is neither {} hex digits nor base64 ({e})",
                2 * want
            ))
        })?;
        SrtpKey::from_concatenated(suite, &bytes)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Crypto primitives: AES in counter mode (RFC 3711 §4.1.1) and the key derivation PRF (§4.3).

/// An expanded AES key of one of the three sizes.
#[derive(Clone)]
enum AesCm {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl AesCm {
    fn new(key: &[u8]) -> Option<AesCm> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).ok().map(AesCm::A128),
            24 => aes::Aes192::new_from_slice(key).ok().map(AesCm::A192),
            32 => aes::Aes256::new_from_slice(key).ok().map(AesCm::A256),
            _ => None,
        }
    }

    /// XORs `data` with the AES-CM keystream starting at counter block `iv`.
    fn apply(&self, iv: u128, data: &mut [u8]) -> Result<(), SrtpError> {
        let iv = iv.to_be_bytes();
        let iv = (&iv).into();
        let result = match self {
            AesCm::A128(c) => {
                ctr::Ctr128BE::<aes::Aes128>::from_core(ctr::CtrCore::inner_iv_init(c.clone(), iv))
                    .try_apply_keystream(data)
            }
            AesCm::A192(c) => {
                ctr::Ctr128BE::<aes::Aes192>::from_core(ctr::CtrCore::inner_iv_init(c.clone(), iv))
                    .try_apply_keystream(data)
            }
            AesCm::A256(c) => {
                ctr::Ctr128BE::<aes::Aes256>::from_core(ctr::CtrCore::inner_iv_init(c.clone(), iv))
                    .try_apply_keystream(data)
            }
        };
        result.map_err(|_| SrtpError::Malformed("longer than the AES-CM keystream".to_string()))
    }
}

/// A 14-byte salt as the high 112 bits of a 128-bit counter block (salt × 2^16).
fn salt_block(salt: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(salt.iter().take(SALT_LEN)) {
        *d = *s;
    }
    u128::from_be_bytes(b)
}

/// The counter block of an SRTP or SRTCP packet: (salt × 2^16) ⊕ (SSRC × 2^64) ⊕ (index × 2^16).
fn packet_iv(salt: &[u8; SALT_LEN], ssrc: u32, index: u64) -> u128 {
    salt_block(salt) ^ (u128::from(ssrc) << 64) ^ (u128::from(index & 0xffff_ffff_ffff) << 16)
}

/// The key derivation labels of RFC 3711 §4.3.1 (and §4.3.2 for SRTCP).
#[derive(Clone, Copy)]
enum Label {
    RtpEncryption = 0,
    RtpAuth = 1,
    RtpSalt = 2,
    RtcpEncryption = 3,
    RtcpAuth = 4,
    RtcpSalt = 5,
}

/// Session key derivation (RFC 3711 §4.3.1): AES-CM with the master key over
/// x = key_id ⊕ master_salt, key_id = label || r (r = index DIV key_derivation_rate, 48 bits), output truncated
/// to `len` bytes.
fn derive(
    master: &AesCm,
    master_salt: &[u8],
    label: Label,
    r: u64,
    len: usize,
) -> Result<Vec<u8>, SrtpError> {
    let key_id = (u128::from(label as u8) << 48) | u128::from(r & 0xffff_ffff_ffff);
    let iv = salt_block(master_salt) ^ (key_id << 16);
    let mut out = vec![0u8; len];
    master.apply(iv, &mut out)?;
    Ok(out)
}

/// One direction's (SRTP or SRTCP) session keys.
#[derive(Clone)]
struct SessionKeys {
    cipher: AesCm,
    salt: [u8; SALT_LEN],
    /// HMAC-SHA1 keyed with the session auth key; cloned per packet.
    mac: HmacSha1,
    /// AEAD suites: the session key and 12-byte salt (RFC 7714 §11: the same key derivation, no auth key).
    gcm: Option<(Vec<u8>, [u8; GCM_SALT_LEN])>,
}

impl SessionKeys {
    fn derive(key: &SrtpKey, labels: [Label; 3]) -> Option<SessionKeys> {
        if key.master_key.len() != key.suite.master_key_len()
            || key.master_salt.len() != key.suite.master_salt_len()
        {
            return None;
        }
        let master = AesCm::new(&key.master_key)?;
        let [enc, auth, salt] = labels;
        if key.suite.is_aead() {
            let k = derive(
                &master,
                &key.master_salt,
                enc,
                0,
                key.suite.master_key_len(),
            )
            .ok()?;
            let s = derive(&master, &key.master_salt, salt, 0, GCM_SALT_LEN).ok()?;
            return Some(SessionKeys {
                cipher: AesCm::new(&k)?,
                salt: [0; SALT_LEN],
                mac: <HmacSha1 as Mac>::new_from_slice(&[0u8; AUTH_KEY_LEN]).ok()?,
                gcm: Some((k, s.try_into().ok()?)),
            });
        }
        let enc = derive(
            &master,
            &key.master_salt,
            enc,
            0,
            key.suite.master_key_len(),
        )
        .ok()?;
        let auth = derive(&master, &key.master_salt, auth, 0, AUTH_KEY_LEN).ok()?;
        let salt = derive(&master, &key.master_salt, salt, 0, SALT_LEN).ok()?;
        Some(SessionKeys {
            cipher: AesCm::new(&enc)?,
            salt: salt.try_into().ok()?,
            mac: <HmacSha1 as Mac>::new_from_slice(&auth).ok()?,
            gcm: None,
        })
    }

    /// AES-GCM open (RFC 7714): `iv` before the salt is applied; `aad` authenticated; `ct` ciphertext || tag.
    fn gcm_open(
        &self,
        iv: [u8; GCM_SALT_LEN],
        aad: &[u8],
        ct: &[u8],
    ) -> Result<Vec<u8>, SrtpError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let (key, salt) = self.gcm.as_ref().ok_or(SrtpError::AuthFailed)?;
        let mut nonce = iv;
        for (n, s) in nonce.iter_mut().zip(salt) {
            *n ^= s;
        }
        let p = Payload { msg: ct, aad };
        let out = match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(key)
                .ok()
                .and_then(|c| c.decrypt((&nonce).into(), p).ok()),
            32 => aes_gcm::Aes256Gcm::new_from_slice(key)
                .ok()
                .and_then(|c| c.decrypt((&nonce).into(), p).ok()),
            _ => None,
        };
        out.ok_or(SrtpError::AuthFailed)
    }

    /// Checks `tag` against HMAC-SHA1(auth key, `authenticated` || `roc`), in constant time.
    fn verify(&self, authenticated: &[u8], roc: Option<u32>, tag: &[u8]) -> Result<(), SrtpError> {
        let mut mac = self.mac.clone();
        mac.update(authenticated);
        if let Some(roc) = roc {
            mac.update(&roc.to_be_bytes());
        }
        mac.verify_truncated_left(tag)
            .map_err(|_| SrtpError::AuthFailed)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Packets.

/// Length of the RTP header (12 + 4×CC + extension), checked against the packet.
fn rtp_header_len(packet: &[u8]) -> Result<usize, SrtpError> {
    let too_short = || SrtpError::TooShort(packet.len());
    let b0 = *packet.first().ok_or_else(too_short)?;
    if b0 >> 6 != 2 {
        return Err(SrtpError::Malformed(format!("RTP version {}", b0 >> 6)));
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let words = be_u16(packet, len + 2).ok_or_else(too_short)?;
        len += 4 + 4 * usize::from(words);
    }
    if len > packet.len() {
        return Err(too_short());
    }
    Ok(len)
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// Per-SSRC receiver state: rollover counter and highest sequence number, both from verified packets only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RocState {
    roc: u32,
    s_l: u16,
}

/// The index guess of RFC 3711 Appendix A: the ROC `v` that puts `seq` closest to the highest sequence seen.
fn estimate_roc(state: Option<RocState>, seq: u16) -> u32 {
    let Some(RocState { roc, s_l }) = state else {
        return 0;
    };
    let (s_l, seq) = (i32::from(s_l), i32::from(seq));
    if s_l < 32768 {
        if seq - s_l > 32768 {
            // A late packet from before the last wrap (at ROC 0 there is no such packet: keep 0).
            roc.checked_sub(1).unwrap_or(roc)
        } else {
            roc
        }
    } else if s_l - 32768 > seq {
        roc.wrapping_add(1)
    } else {
        roc
    }
}

/// Unprotection counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrtpStats {
    /// Packets whose tag verified (SRTP and SRTCP).
    pub verified: u64,
    /// Packets whose tag did not verify (wrong key, damaged packet, or a wrong ROC guess).
    pub auth_failures: u64,
    /// Packets too short for their header, MKI and tag.
    pub too_short: u64,
    /// Packets that are not RTP/RTCP version 2.
    pub malformed: u64,
}

/// A packet that verified, before any state is updated.
struct OpenedRtp {
    plain: Vec<u8>,
    ssrc: u32,
    seq: u16,
    roc: u32,
}

/// One direction's crypto state: per-SSRC rollover counter and highest sequence, session keys derived once.
#[derive(Clone)]
pub struct SrtpContext {
    suite: SrtpSuite,
    mki_len: usize,
    /// SRTP and SRTCP session keys; `None` when the master key or salt has the wrong length for the suite.
    keys: Option<(SessionKeys, SessionKeys)>,
    streams: HashMap<u32, RocState>,
    stats: SrtpStats,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No key material.
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("mki_len", &self.mki_len)
            .field("usable", &self.keys.is_some())
            .field("ssrcs", &self.streams.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl SrtpContext {
    /// Derives the session keys (key derivation rate 0). A key whose lengths do not fit its suite gives a
    /// context that refuses every packet with [`SrtpError::BadKey`].
    pub fn new(key: &SrtpKey) -> SrtpContext {
        let rtp = SessionKeys::derive(key, [Label::RtpEncryption, Label::RtpAuth, Label::RtpSalt]);
        let rtcp = SessionKeys::derive(
            key,
            [Label::RtcpEncryption, Label::RtcpAuth, Label::RtcpSalt],
        );
        SrtpContext {
            suite: key.suite,
            mki_len: key.mki_len(),
            keys: rtp.zip(rtcp),
            streams: HashMap::new(),
            stats: SrtpStats::default(),
        }
    }

    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    /// The rollover counter of `ssrc` as of its last verified packet.
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        self.streams.get(&ssrc).map(|s| s.roc)
    }

    fn keys(&self) -> Result<&(SessionKeys, SessionKeys), SrtpError> {
        self.keys.as_ref().ok_or_else(|| {
            SrtpError::BadKey(format!(
                "master key/salt lengths do not fit {}",
                self.suite.sdes_name()
            ))
        })
    }

    /// RFC 7714 §9: IV = (00 00 || SSRC || ROC || SEQ) xor salt; AAD = the RTP header; the payload is
    /// ciphertext || tag. The ROC is guessed as for AES-CM, the neighbours tried when the guess does not open.
    fn open_rtp_gcm(&self, keys: &SessionKeys, packet: &[u8]) -> Result<OpenedRtp, SrtpError> {
        let too_short = || SrtpError::TooShort(packet.len());
        let header_len = rtp_header_len(packet)?;
        let end = packet
            .len()
            .checked_sub(self.mki_len)
            .ok_or_else(too_short)?;
        let (header, ct) = packet
            .get(..end)
            .ok_or_else(too_short)?
            .split_at_checked(header_len)
            .ok_or_else(too_short)?;
        if ct.len() < GCM_TAG_LEN {
            return Err(too_short());
        }
        let seq = be_u16(packet, 2).ok_or_else(too_short)?;
        let ssrc = be_u32(packet, 8).ok_or_else(too_short)?;
        let state = self.streams.get(&ssrc).copied();
        let guess = estimate_roc(state, seq);
        let try_roc = |roc: u32| {
            let mut iv = [0u8; GCM_SALT_LEN];
            iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
            iv[6..10].copy_from_slice(&roc.to_be_bytes());
            iv[10..12].copy_from_slice(&seq.to_be_bytes());
            keys.gcm_open(iv, header, ct)
        };
        let (roc, payload) = match try_roc(guess) {
            Ok(p) => (guess, p),
            Err(e) => {
                let Some(RocState { roc, .. }) = state else {
                    return Err(e);
                };
                [roc.checked_sub(1), Some(roc), roc.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .filter(|&v| v != guess)
                    .find_map(|v| try_roc(v).ok().map(|p| (v, p)))
                    .ok_or(e)?
            }
        };
        let mut plain = header.to_vec();
        plain.extend_from_slice(&payload);
        Ok(OpenedRtp {
            plain,
            ssrc,
            seq,
            roc,
        })
    }

    /// RFC 7714 §9 for SRTCP: header(8) || ciphertext || tag || E+index(4); IV = (00 00 || SSRC || 00 00 ||
    /// index) xor salt; AAD = header || E+index (E clear: the whole packet before the tag is AAD).
    fn open_rtcp_gcm(&self, keys: &SessionKeys, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let too_short = || SrtpError::TooShort(packet.len());
        let end = packet
            .len()
            .checked_sub(self.mki_len)
            .ok_or_else(too_short)?;
        let body = packet.get(..end).ok_or_else(too_short)?;
        let idx_at = body
            .len()
            .checked_sub(SRTCP_INDEX_LEN)
            .filter(|&i| i >= 8 + GCM_TAG_LEN)
            .ok_or_else(too_short)?;
        let e_index = be_u32(body, idx_at).ok_or_else(too_short)?;
        let b0 = *packet.first().ok_or_else(too_short)?;
        if b0 >> 6 != 2 {
            return Err(SrtpError::Malformed(format!("RTCP version {}", b0 >> 6)));
        }
        let ssrc = be_u32(packet, 4).ok_or_else(too_short)?;
        let mut iv = [0u8; GCM_SALT_LEN];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&(e_index & 0x7fff_ffff).to_be_bytes());
        let header = body.get(..8).ok_or_else(too_short)?;
        let idx = body.get(idx_at..).ok_or_else(too_short)?;
        if e_index & 0x8000_0000 != 0 {
            let ct = body.get(8..idx_at).ok_or_else(too_short)?;
            let mut aad = header.to_vec();
            aad.extend_from_slice(idx);
            let payload = keys.gcm_open(iv, &aad, ct)?;
            let mut plain = header.to_vec();
            plain.extend_from_slice(&payload);
            Ok(plain)
        } else {
            let tag_at = idx_at - GCM_TAG_LEN;
            let mut aad = body.get(..tag_at).ok_or_else(too_short)?.to_vec();
            aad.extend_from_slice(idx);
            keys.gcm_open(iv, &aad, body.get(tag_at..idx_at).ok_or_else(too_short)?)?;
            Ok(body.get(..tag_at).ok_or_else(too_short)?.to_vec())
        }
    }

    /// Verifies and decrypts one SRTP packet without touching any state.
    fn open_rtp(&self, packet: &[u8]) -> Result<OpenedRtp, SrtpError> {
        let (keys, _) = self.keys()?;
        if self.suite.is_aead() {
            return self.open_rtp_gcm(keys, packet);
        }
        let too_short = || SrtpError::TooShort(packet.len());
        let header_len = rtp_header_len(packet)?;
        let trailer = self.suite.auth_tag_len() + self.mki_len;
        let body_end = packet
            .len()
            .checked_sub(trailer)
            .filter(|&end| end >= header_len)
            .ok_or_else(too_short)?;
        let (authenticated, rest) = packet.split_at_checked(body_end).ok_or_else(too_short)?;
        let tag = rest.get(self.mki_len..).ok_or_else(too_short)?;
        let seq = be_u16(packet, 2).ok_or_else(too_short)?;
        let ssrc = be_u32(packet, 8).ok_or_else(too_short)?;

        let state = self.streams.get(&ssrc).copied();
        let guess = estimate_roc(state, seq);
        let roc = match keys.verify(authenticated, Some(guess), tag) {
            Ok(()) => guess,
            Err(e) => {
                // The guess fails after a gap of more than 32768 packets: try the neighbouring ROCs.
                let Some(RocState { roc, .. }) = state else {
                    return Err(e);
                };
                [roc.checked_sub(1), Some(roc), roc.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .filter(|&v| v != guess)
                    .find(|&v| keys.verify(authenticated, Some(v), tag).is_ok())
                    .ok_or(e)?
            }
        };

        let mut plain = authenticated.to_vec();
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let payload = plain.get_mut(header_len..).ok_or_else(too_short)?;
        keys.cipher
            .apply(packet_iv(&keys.salt, ssrc, index), payload)?;
        Ok(OpenedRtp {
            plain,
            ssrc,
            seq,
            roc,
        })
    }

    /// Verifies and decrypts one SRTCP packet (no state is kept for SRTCP: its index is explicit).
    fn open_rtcp(&self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let (_, keys) = self.keys()?;
        if self.suite.is_aead() {
            return self.open_rtcp_gcm(keys, packet);
        }
        let too_short = || SrtpError::TooShort(packet.len());
        let trailer = self.suite.srtcp_auth_tag_len() + self.mki_len;
        let auth_end = packet
            .len()
            .checked_sub(trailer)
            .filter(|&end| end >= 8 + SRTCP_INDEX_LEN)
            .ok_or_else(too_short)?;
        let (authenticated, rest) = packet.split_at_checked(auth_end).ok_or_else(too_short)?;
        let tag = rest.get(self.mki_len..).ok_or_else(too_short)?;
        let (body, _) = authenticated
            .split_at_checked(auth_end - SRTCP_INDEX_LEN)
            .ok_or_else(too_short)?;
        let e_index = be_u32(authenticated, auth_end - SRTCP_INDEX_LEN).ok_or_else(too_short)?;
        let b0 = *packet.first().ok_or_else(too_short)?;
        if b0 >> 6 != 2 {
            return Err(SrtpError::Malformed(format!("RTCP version {}", b0 >> 6)));
        }
        let ssrc = be_u32(packet, 4).ok_or_else(too_short)?;

        keys.verify(authenticated, None, tag)?;

        let mut plain = body.to_vec();
        if e_index & 0x8000_0000 != 0 {
            let index = u64::from(e_index & 0x7fff_ffff);
            let encrypted = plain.get_mut(8..).ok_or_else(too_short)?;
            keys.cipher
                .apply(packet_iv(&keys.salt, ssrc, index), encrypted)?;
        }
        Ok(plain)
    }

    fn count(&mut self, result: Result<(), &SrtpError>) {
        match result {
            Ok(()) => self.stats.verified += 1,
            Err(SrtpError::AuthFailed) => self.stats.auth_failures += 1,
            Err(SrtpError::TooShort(_)) => self.stats.too_short += 1,
            Err(SrtpError::Malformed(_)) => self.stats.malformed += 1,
            Err(_) => {}
        }
    }

    /// Verifies the tag and decrypts; returns the plain RTP packet (header + payload, without MKI/tag; RTP
    /// padding, being encrypted payload, is kept as RTP carries it).
    ///
    /// The packet index comes from the ROC estimate of RFC 3711 Appendix A (wrap and reordering); when that
    /// guess does not verify, the neighbouring ROCs are tried (a gap of more than 32768 packets). The ROC and
    /// highest sequence number of the SSRC change only once the tag has verified.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let opened = self.open_rtp(packet);
        self.count(opened.as_ref().map(|_| ()));
        let OpenedRtp {
            plain,
            ssrc,
            seq,
            roc,
        } = opened?;
        let state = self
            .streams
            .entry(ssrc)
            .or_insert(RocState { roc, s_l: seq });
        if roc > state.roc {
            *state = RocState { roc, s_l: seq };
        } else if roc == state.roc && seq > state.s_l {
            state.s_l = seq;
        }
        Ok(plain)
    }

    /// SRTCP: E flag + 31-bit index, tag over header..index (no ROC); decrypts when E is set; returns the
    /// plain compound RTCP (without index, MKI and tag).
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let opened = self.open_rtcp(packet);
        self.count(opened.as_ref().map(|_| ()));
        opened
    }

    /// Counters: packets verified, auth failures, packets too short or malformed.
    pub fn stats(&self) -> SrtpStats {
        self.stats
    }
}

/// Tries each key on one SRTP packet and returns the index of the first whose tag verifies (ROC 0, no state).
pub fn find_key_for_rtp(keys: &[SrtpKey], packet: &[u8]) -> Option<usize> {
    keys.iter()
        .position(|k| SrtpContext::new(k).open_rtp(packet).is_ok())
}

/// Tries each key on one SRTCP packet and returns the index of the first whose tag verifies.
pub fn find_key_for_rtcp(keys: &[SrtpKey], packet: &[u8]) -> Option<usize> {
    keys.iter()
        .position(|k| SrtpContext::new(k).open_rtcp(packet).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    /// The test-only sender side: encrypt the payload and append MKI and tag, with the given ROC.
    fn protect_rtp(ctx: &SrtpContext, mki: &[u8], plain: &[u8], roc: u32) -> Vec<u8> {
        let (keys, _) = ctx.keys.as_ref().unwrap();
        let header_len = rtp_header_len(plain).unwrap();
        let seq = be_u16(plain, 2).unwrap();
        let ssrc = be_u32(plain, 8).unwrap();
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let mut out = plain.to_vec();
        keys.cipher
            .apply(packet_iv(&keys.salt, ssrc, index), &mut out[header_len..])
            .unwrap();
        let mut mac = keys.mac.clone();
        mac.update(&out);
        mac.update(&roc.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        out.extend_from_slice(mki);
        out.extend_from_slice(&tag[..ctx.suite.auth_tag_len()]);
        out
    }

    /// The test-only SRTCP sender side.
    fn protect_rtcp(ctx: &SrtpContext, plain: &[u8], index: u32, encrypt: bool) -> Vec<u8> {
        let (_, keys) = ctx.keys.as_ref().unwrap();
        let ssrc = be_u32(plain, 4).unwrap();
        let mut out = plain.to_vec();
        if encrypt {
            keys.cipher
                .apply(packet_iv(&keys.salt, ssrc, u64::from(index)), &mut out[8..])
                .unwrap();
        }
        let e = if encrypt { 0x8000_0000 } else { 0 };
        out.extend_from_slice(&(e | index).to_be_bytes());
        let mut mac = keys.mac.clone();
        mac.update(&out);
        let tag = mac.finalize().into_bytes();
        out.extend_from_slice(&tag[..ctx.suite.srtcp_auth_tag_len()]);
        out
    }

    fn rtp_packet(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x08];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// RFC 3711 B.3 / libsrtp's test key.
    fn b3_key(suite: SrtpSuite) -> SrtpKey {
        SrtpKey::new(
            suite,
            hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
            hex("0EC675AD498AFEEBB6960B3AABE6"),
        )
        .unwrap()
    }

    #[test]
    fn srtp_rfc3711_b2_aes_cm_keystream() {
        // RFC 3711 B.2: session key 2B7E...3C, salt F0F1...FD, SSRC 0, index 0.
        let cipher = AesCm::new(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let salt: [u8; SALT_LEN] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let iv = packet_iv(&salt, 0, 0);
        assert_eq!(iv, 0xF0F1F2F3F4F5F6F7F8F9FAFBFCFD0000);
        let blocks = 0xFF02usize;
        let mut ks = vec![0u8; blocks * 16];
        cipher.apply(iv, &mut ks).unwrap();
        let block = |n: usize| ks[n * 16..n * 16 + 16].to_vec();
        assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    #[test]
    fn srtp_rfc3711_b3_key_derivation() {
        let key = b3_key(SrtpSuite::AesCm128HmacSha1_80);
        let master = AesCm::new(&key.master_key).unwrap();
        let enc = derive(&master, &key.master_salt, Label::RtpEncryption, 0, 16).unwrap();
        assert_eq!(enc, hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let salt = derive(&master, &key.master_salt, Label::RtpSalt, 0, 14).unwrap();
        assert_eq!(salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
        let auth = derive(&master, &key.master_salt, Label::RtpAuth, 0, 20).unwrap();
        assert_eq!(auth, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
        // The IVs of B.3 (label at byte 7 of the salt, shifted 16 bits).
        let iv = |l: u8| salt_block(&key.master_salt) ^ (u128::from(l) << 64);
        assert_eq!(iv(0), 0x0EC675AD498AFEEBB6960B3AABE60000);
        assert_eq!(iv(1), 0x0EC675AD498AFEEAB6960B3AABE60000);
        assert_eq!(iv(2), 0x0EC675AD498AFEE9B6960B3AABE60000);
        // The context derived the same keys.
        let ctx = SrtpContext::new(&key);
        let (rtp, _) = ctx.keys.as_ref().unwrap();
        assert_eq!(rtp.salt.to_vec(), salt);
    }

    const LIBSRTP_RTP_PLAIN: &str = "800f1234decafbadcafebabeabababababababababababababababab";
    /// RTCP SR header for SSRC 0xcafebabe and 16 bytes of 0xab.
    const LIBSRTP_RTCP_PLAIN: &str = "81c8000bcafebabe abababababababababababababababab";
    const LIBSRTP_SRTCP: &str =
        "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798";

    #[test]
    fn srtp_libsrtp_known_answers_128() {
        // libsrtp's srtp_validate(): SSRC 0xcafebabe, seq 0x1234, ROC 0.
        let key = b3_key(SrtpSuite::AesCm128HmacSha1_80);
        let mut ctx = SrtpContext::new(&key);
        let srtp =
            hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
        assert_eq!(ctx.unprotect_rtp(&srtp).unwrap(), hex(LIBSRTP_RTP_PLAIN));
        assert_eq!(protect_rtp(&ctx, &[], &hex(LIBSRTP_RTP_PLAIN), 0), srtp);
        let srtcp = hex(LIBSRTP_SRTCP);
        assert_eq!(ctx.unprotect_rtcp(&srtcp).unwrap(), hex(LIBSRTP_RTCP_PLAIN));
        assert_eq!(protect_rtcp(&ctx, &hex(LIBSRTP_RTCP_PLAIN), 1, true), srtcp);
        assert_eq!(
            ctx.stats(),
            SrtpStats {
                verified: 2,
                ..SrtpStats::default()
            }
        );
        // The _32 suite: same ciphertext, tag cut to 4 bytes; SRTCP keeps its 10-byte tag.
        let mut ctx32 = SrtpContext::new(&b3_key(SrtpSuite::AesCm128HmacSha1_32));
        assert_eq!(
            ctx32.unprotect_rtp(&srtp[..32]).unwrap(),
            hex(LIBSRTP_RTP_PLAIN)
        );
        assert_eq!(
            ctx32.unprotect_rtcp(&srtcp).unwrap(),
            hex(LIBSRTP_RTCP_PLAIN)
        );
    }

    #[test]
    fn srtp_known_answers_192_256() {
        // rtpengine's copy of the libsrtp vectors: key = the first 24/32 bytes, salt = the next 14.
        let material = hex(
            "e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6c173c317f2dabe357793b6960b3aabe6",
        );
        let cases = [
            (
                SrtpSuite::Aes192CmHmacSha1_80,
                "800f1234decafbadcafebabe015781894462529d91cf3659d2462db308d9a044c5d7d68b26ba",
                "81c8000bcafebabe966d603e71f9af335cf9091a50ca4d3a80000001d42b40218dde4990bdef",
            ),
            (
                SrtpSuite::Aes256CmHmacSha1_80,
                "800f1234decafbadcafebabe0098219f7ebdba1c3d22f4936f1eac9906f6b227c84961a7b428",
                "81c8000bcafebabe0a865d339e312693592387d45b99a5578000000184f3b4f2b595615af9b5",
            ),
        ];
        for (suite, srtp, srtcp) in cases {
            let n = suite.master_key_len();
            let key =
                SrtpKey::new(suite, material[..n].to_vec(), material[n..n + 14].to_vec()).unwrap();
            let mut ctx = SrtpContext::new(&key);
            assert_eq!(
                ctx.unprotect_rtp(&hex(srtp)).unwrap(),
                hex(LIBSRTP_RTP_PLAIN),
                "{suite:?}"
            );
            assert_eq!(
                ctx.unprotect_rtcp(&hex(srtcp)).unwrap(),
                hex(LIBSRTP_RTCP_PLAIN),
                "{suite:?}"
            );
        }
        // libsrtp's second AES-256 vector.
        let material = hex(
            "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b63b04803de51ee7c96423ab5b78d2",
        );
        let key = SrtpKey::new(
            SrtpSuite::Aes256CmHmacSha1_80,
            material[..32].to_vec(),
            material[32..].to_vec(),
        )
        .unwrap();
        let srtp =
            hex("800f1234decafbadcafebabef1d9de17ff251ff1aa007774b0b4b40da08d9d9a5b3a55d8873b");
        assert_eq!(
            SrtpContext::new(&key).unprotect_rtp(&srtp).unwrap(),
            hex(LIBSRTP_RTP_PLAIN)
        );
    }

    #[test]
    fn srtp_round_trip_tamper_and_wrap() {
        let key = b3_key(SrtpSuite::AesCm128HmacSha1_80);
        let sender = SrtpContext::new(&key);
        let mut rx = SrtpContext::new(&key);
        let ssrc = 0x1234_5678;
        let payload: Vec<u8> = (0..160u32).map(|i| (i * 7) as u8).collect();

        let plain = rtp_packet(65534, ssrc, &payload);
        let srtp = protect_rtp(&sender, &[], &plain, 0);
        assert_eq!(srtp.len(), plain.len() + 10);
        assert_ne!(srtp[12..172], plain[12..]);
        assert_eq!(rx.unprotect_rtp(&srtp).unwrap(), plain);

        // One flipped byte anywhere: header, payload or tag.
        for at in [1, 8, 40, srtp.len() - 1] {
            let mut bad = srtp.clone();
            bad[at] ^= 0x01;
            assert_eq!(rx.unprotect_rtp(&bad), Err(SrtpError::AuthFailed));
        }
        assert_eq!(rx.stats().auth_failures, 4);
        assert_eq!(rx.stats().verified, 1);

        // 65535 then the wrap to 0, which the sender protects with ROC 1.
        let p = rtp_packet(65535, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p, 0)).unwrap(),
            p
        );
        assert_eq!(rx.roc(ssrc), Some(0));
        let p = rtp_packet(0, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p, 1)).unwrap(),
            p
        );
        assert_eq!(rx.roc(ssrc), Some(1));
        // Seq 0 protected with ROC 0 is a packet 65536 behind: the estimate (ROC 1) fails, its neighbour ROC 0
        // verifies, the state stays at ROC 1. A ROC two away does not verify.
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p, 0)).unwrap(),
            p
        );
        assert_eq!(rx.roc(ssrc), Some(1));
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p, 3)),
            Err(SrtpError::AuthFailed)
        );
        // A late packet from before the wrap (ROC 0) after seq 1 (ROC 1), then the stream goes on.
        let p1 = rtp_packet(1, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p1, 1))
                .unwrap(),
            p1
        );
        let late = rtp_packet(65533, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &late, 0))
                .unwrap(),
            late
        );
        assert_eq!(rx.roc(ssrc), Some(1));
        let p2 = rtp_packet(2, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &p2, 1))
                .unwrap(),
            p2
        );

        // A gap of 40000 packets: Appendix A guesses ROC 0 (a late packet), the neighbouring ROC 1 verifies.
        let far = rtp_packet(40002, ssrc, &payload);
        assert_eq!(estimate_roc(rx.streams.get(&ssrc).copied(), 40002), 0);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &far, 1))
                .unwrap(),
            far
        );
        assert_eq!(rx.streams[&ssrc], RocState { roc: 1, s_l: 40002 });
        // The next wrap, 30000 packets later: the estimate gives ROC 2.
        let next = rtp_packet(4466, ssrc, &payload);
        assert_eq!(
            rx.unprotect_rtp(&protect_rtp(&sender, &[], &next, 2))
                .unwrap(),
            next
        );
        assert_eq!(rx.roc(ssrc), Some(2));
        assert_eq!(rx.stats().verified, 9);
        assert_eq!(rx.stats().auth_failures, 5);

        // Header with CSRCs and an extension: both stay in clear and authenticated.
        let mut h = vec![0x92, 0x08, 0x00, 0x05, 0, 0, 0, 0];
        h.extend_from_slice(&0xabcdu32.to_be_bytes());
        h.extend_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]); // 2 CSRCs
        h.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0, 0]); // one-word extension
        h.extend_from_slice(&payload);
        let mut rx2 = SrtpContext::new(&key);
        let srtp = protect_rtp(&sender, &[], &h, 0);
        assert_eq!(srtp[..28], h[..28]);
        assert_ne!(srtp[28..h.len()], h[28..]);
        assert_eq!(rx2.unprotect_rtp(&srtp).unwrap(), h);
    }

    #[test]
    fn srtp_mki_and_sdes_parsing() {
        let b64 = "5+XRJ3ME7vBhhCQSdkDYRLRBy5wb2QH4vrD11trY";
        let key = SrtpKey::from_sdes(
            "aes_cm_128_hmac_sha1_32",
            &format!(
                "inline:{b64}|2^20|1:4;inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1e|2^20|2:4"
            ),
        )
        .unwrap();
        assert_eq!(key.suite, SrtpSuite::AesCm128HmacSha1_32);
        assert_eq!(key.lifetime, Some(1 << 20));
        assert_eq!(key.mki, Some(vec![0, 0, 0, 1]));
        assert_eq!(key.master_key.len(), 16);
        assert_eq!(key.master_salt.len(), 14);
        assert_eq!(
            format!("{key:?}"),
            "SrtpKey(AesCm128HmacSha1_32, 16 key bytes, MKI length 4)"
        );

        // MKI bytes sit between payload and tag and are skipped.
        let mut ctx = SrtpContext::new(&key);
        let plain = rtp_packet(7, 42, &[0x55; 160]);
        let srtp = protect_rtp(&ctx, &[0, 0, 0, 1], &plain, 0);
        assert_eq!(srtp.len(), 12 + 160 + 4 + 4);
        assert_eq!(ctx.unprotect_rtp(&srtp).unwrap(), plain);
        // An SRTCP packet with MKI, unencrypted (E = 0).
        let rtcp = hex(LIBSRTP_RTCP_PLAIN);
        let mut srtcp = protect_rtcp(&ctx, &rtcp, 5, false);
        let tag = srtcp.split_off(srtcp.len() - 10);
        srtcp.extend_from_slice(&[0, 0, 0, 1]);
        srtcp.extend_from_slice(&tag);
        assert_eq!(ctx.unprotect_rtcp(&srtcp).unwrap(), rtcp);

        // Lifetime only, MKI only, decimal lifetime, session parameters.
        let k =
            SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", &format!("inline:{b64}|1:1")).unwrap();
        assert_eq!((k.lifetime, k.mki), (None, Some(vec![1])));
        let k = SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", &format!("inline:{b64}|1048576"))
            .unwrap();
        assert_eq!((k.lifetime, k.mki_len()), (Some(1_048_576), 0));
        let k =
            SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", &format!("inline:{b64}|300:20")).unwrap();
        assert_eq!(
            k.mki.as_deref().map(|m| (m.len(), m[18], m[19])),
            Some((20, 1, 44))
        );
        assert!(
            SrtpKey::from_sdes(
                "AES_CM_128_HMAC_SHA1_80",
                &format!("inline:{b64} KDR=0 WSH=64")
            )
            .is_ok()
        );
        assert_eq!(
            SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", &format!("inline:{b64} KDR=24")),
            Err(SrtpError::UnsupportedParam("KDR=24".to_string()))
        );
        assert!(matches!(
            SrtpKey::from_sdes(
                "AES_CM_128_HMAC_SHA1_80",
                &format!("inline:{b64} UNENCRYPTED_SRTP")
            ),
            Err(SrtpError::UnsupportedParam(_))
        ));
        // Errors.
        for bad in [
            "",
            "inline:",
            "uri:http://example.com/key",
            "inline:!!!!",
            "inline:QUJD",
            &format!("inline:{b64}|256:1"),
            &format!("inline:{b64}|1:0"),
            &format!("inline:{b64}|1:129"),
            &format!("inline:{b64}|2^64"),
            &format!("inline:{b64}|1:4|2^20"),
            &format!("inline:{b64}|x"),
        ] {
            assert!(
                matches!(
                    SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", bad),
                    Err(SrtpError::BadKey(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            SrtpKey::from_sdes("F8_128_HMAC_SHA1_80", &format!("inline:{b64}")),
            Err(SrtpError::UnsupportedSuite(
                "F8_128_HMAC_SHA1_80".to_string()
            ))
        );
    }

    #[test]
    fn srtp_suite_names_and_user_keys() {
        for s in SrtpSuite::ALL {
            assert_eq!(SrtpSuite::from_sdes_name(s.sdes_name()), Some(s));
            assert_eq!(
                SrtpSuite::from_sdes_name(&s.sdes_name().to_lowercase()),
                Some(s)
            );
            assert_eq!(s.srtcp_auth_tag_len(), if s.is_aead() { 16 } else { 10 });
        }
        for (name, suite) in [
            ("SRTP_AES128_CM_SHA1_80", SrtpSuite::AesCm128HmacSha1_80),
            (
                "SRTP_AES128_CM_HMAC_SHA1_32",
                SrtpSuite::AesCm128HmacSha1_32,
            ),
            ("AES_CM_256_HMAC_SHA1_80", SrtpSuite::Aes256CmHmacSha1_80),
            ("aes-256-cm-hmac-sha1-32", SrtpSuite::Aes256CmHmacSha1_32),
            (" AES_192_CM_HMAC_SHA1_80 ", SrtpSuite::Aes192CmHmacSha1_80),
        ] {
            assert_eq!(SrtpSuite::from_sdes_name(name), Some(suite), "{name}");
        }
        assert_eq!(
            SrtpSuite::from_sdes_name("SRTP_AEAD_AES_128_GCM"),
            Some(SrtpSuite::AeadAes128Gcm)
        );
        assert_eq!(SrtpSuite::AeadAes256Gcm.master_salt_len(), 12);
        for name in [
            "",
            "AEAD_AES_192_GCM",
            "F8_128_HMAC_SHA1_80",
            "AES_CM_128_HMAC_SHA1_81",
            "NULL_HMAC_SHA1_80",
        ] {
            assert_eq!(SrtpSuite::from_sdes_name(name), None, "{name}");
        }
        assert_eq!(SrtpSuite::AesCm128HmacSha1_80.auth_tag_len(), 10);
        assert_eq!(SrtpSuite::AesCm128HmacSha1_32.auth_tag_len(), 4);

        let b64 = SrtpKey::from_user(
            "AES_CM_128_HMAC_SHA1_80",
            "aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz",
        )
        .unwrap();
        assert_eq!(b64.master_key, b"i know all your ".to_vec());
        assert_eq!(b64.master_salt, b"little secrets".to_vec());
        let hexed: String = b"i know all your little secrets"
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let from_hex = SrtpKey::from_user("AES_CM_128_HMAC_SHA1_80", &hexed).unwrap();
        assert_eq!(from_hex, b64);
        let spaced: String = hexed
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(
            SrtpKey::from_user("AES_CM_128_HMAC_SHA1_80", &spaced).unwrap(),
            b64
        );
        let inline = SrtpKey::from_user(
            "AES_CM_128_HMAC_SHA1_80",
            "inline:aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz|2^31",
        )
        .unwrap();
        assert_eq!(inline.master_key, b64.master_key);
        assert_eq!(inline.lifetime, Some(1 << 31));
        // Wrong length for the suite, garbage.
        assert!(matches!(
            SrtpKey::from_user(
                "AES_256_CM_HMAC_SHA1_80",
                "aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz"
            ),
            Err(SrtpError::BadKey(_))
        ));
        assert!(matches!(
            SrtpKey::from_user("AES_CM_128_HMAC_SHA1_80", "not a key"),
            Err(SrtpError::BadKey(_))
        ));
        // A key whose parts do not fit the suite gives a context that refuses packets.
        let odd = SrtpKey {
            master_key: vec![1; 5],
            ..b64.clone()
        };
        let mut ctx = SrtpContext::new(&odd);
        assert!(matches!(
            ctx.unprotect_rtp(&[0x80; 40]),
            Err(SrtpError::BadKey(_))
        ));
        assert!(!format!("{ctx:?}").contains("0101"));
    }

    #[test]
    fn srtp_find_key() {
        let keys = [
            SrtpKey::from_user("AES_CM_128_HMAC_SHA1_80", &"11".repeat(30)).unwrap(),
            b3_key(SrtpSuite::AesCm128HmacSha1_32),
            b3_key(SrtpSuite::AesCm128HmacSha1_80),
        ];
        let srtp =
            hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
        assert_eq!(find_key_for_rtp(&keys, &srtp), Some(2));
        assert_eq!(find_key_for_rtp(&keys[..2], &srtp), None);
        assert_eq!(find_key_for_rtp(&keys, &srtp[..32]), Some(1));
        let srtcp = hex(LIBSRTP_SRTCP);
        assert_eq!(find_key_for_rtcp(&keys, &srtcp), Some(1));
        assert_eq!(find_key_for_rtp(&[], &srtp), None);
    }

    #[test]
    fn srtp_never_panics() {
        let key = b3_key(SrtpSuite::AesCm128HmacSha1_80);
        let sender = SrtpContext::new(&key);
        let mut ctx = SrtpContext::new(&key);
        let mut ctx32 = SrtpContext::new(&SrtpKey {
            mki: Some(vec![9; 3]),
            ..b3_key(SrtpSuite::AesCm128HmacSha1_32)
        });
        let mut rng = crate::testutil::XorShift(0x5eed_5a17);
        let good = protect_rtp(&sender, &[], &rtp_packet(9, 1, &[0xd5; 160]), 0);
        for _ in 0..20_000 {
            let len = rng.below(64);
            let mut p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0
                && let Some(b) = p.first_mut()
            {
                *b = (*b & 0x3f) | 0x80;
            }
            let _ = ctx.unprotect_rtp(&p);
            let _ = ctx.unprotect_rtcp(&p);
            let _ = ctx32.unprotect_rtp(&p);
            let _ = ctx32.unprotect_rtcp(&p);
            let _ = find_key_for_rtp(std::slice::from_ref(&key), &p);
            // Truncations and bit flips of a valid packet.
            let mut g = good.clone();
            g.truncate(rng.below(good.len() + 1));
            if let Some(b) = g.get_mut(rng.below(good.len())) {
                *b ^= 1 << rng.below(8);
            }
            let _ = ctx.unprotect_rtp(&g);
        }
        let s = ctx.stats();
        assert_eq!(s.verified, 0);
        assert!(
            s.too_short > 0 && s.malformed > 0 && s.auth_failures > 0,
            "{s:?}"
        );
        // Sizes at the edges: the 12-byte header and tag exactly, one byte less.
        let mut empty_payload = rtp_packet(1, 1, &[]);
        assert_eq!(
            ctx.unprotect_rtp(&empty_payload[..11]),
            Err(SrtpError::TooShort(11))
        );
        let srtp = protect_rtp(&sender, &[], &empty_payload, 0);
        assert_eq!(srtp.len(), 22);
        assert_eq!(ctx.unprotect_rtp(&srtp).unwrap(), empty_payload);
        assert_eq!(ctx.unprotect_rtp(&srtp[..21]), Err(SrtpError::TooShort(21)));
        // An extension header whose length runs past the packet.
        empty_payload[0] = 0x90;
        empty_payload.extend_from_slice(&[0xbe, 0xde, 0xff, 0xff]);
        assert!(matches!(
            ctx.unprotect_rtp(&empty_payload),
            Err(SrtpError::TooShort(_))
        ));
    }

    // ------------------------------------------------------------------------------------------------------------
    // The real capture: marseillaise-srtp.pcap (srtp-decrypt's sample, key "i know all your little secrets").

    /// G.711 A-law to linear (the classic Sun g711.c table logic).
    fn alaw_to_linear(a: u8) -> i16 {
        let a = a ^ 0x55;
        let mut t = i16::from(a & 0x0f) << 4;
        let seg = (a & 0x70) >> 4;
        match seg {
            0 => t += 8,
            1 => t += 0x108,
            _ => t = (t + 0x108) << (seg - 1),
        }
        if a & 0x80 != 0 { t } else { -t }
    }

    fn chi_square(hist: &[u64; 256]) -> f64 {
        let total: u64 = hist.iter().sum();
        let expected = total as f64 / 256.0;
        hist.iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    fn marseillaise_packets() -> Vec<Vec<u8>> {
        let path = crate::testutil::captures_dir().join("marseillaise-srtp.pcap");
        let file = crate::capture::CaptureFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = file.frames().unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(f) = reader.next_frame() {
            match crate::net::decode_frame(f.link_type, &f.data) {
                crate::net::NetOutcome::Packet(crate::net::NetPacket {
                    l4: crate::net::L4::Udp { payload, .. },
                    ..
                }) => out.push(payload.into_owned()),
                other => panic!("frame {}: {other:?}", f.number),
            }
        }
        out
    }

    #[test]
    fn srtp_real_marseillaise() {
        let packets = marseillaise_packets();
        assert_eq!(packets.len(), 11888);
        let key = SrtpKey::from_user(
            "AES_CM_128_HMAC_SHA1_80",
            "aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz",
        )
        .unwrap();
        assert_eq!(
            find_key_for_rtp(
                &[b3_key(SrtpSuite::AesCm128HmacSha1_80), key.clone()],
                &packets[0]
            ),
            Some(1)
        );

        let mut ctx = SrtpContext::new(&key);
        let mut cipher_hist = [0u64; 256];
        let mut plain_hist = [0u64; 256];
        let mut sum_sq = 0f64;
        let mut samples = 0u64;
        let mut ssrcs = std::collections::BTreeSet::new();
        for (i, p) in packets.iter().enumerate() {
            let plain = ctx
                .unprotect_rtp(p)
                .unwrap_or_else(|e| panic!("packet {}: {e}", i + 1));
            assert_eq!(plain.len(), p.len() - 10);
            assert_eq!(plain[..12], p[..12]);
            assert_eq!(plain[1] & 0x7f, 8, "PCMA");
            ssrcs.insert(be_u32(&plain, 8).unwrap());
            let payload = &plain[12..];
            assert_eq!(payload.len(), 160);
            assert_eq!(payload.len(), p.len() - 12 - 10);
            for (&c, &a) in p[12..172].iter().zip(payload) {
                cipher_hist[usize::from(c)] += 1;
                plain_hist[usize::from(a)] += 1;
                let s = f64::from(alaw_to_linear(a));
                sum_sq += s * s;
                samples += 1;
            }
        }
        let stats = ctx.stats();
        assert_eq!(
            stats,
            SrtpStats {
                verified: 11888,
                ..SrtpStats::default()
            }
        );
        assert_eq!(ssrcs.len(), 1);
        assert_eq!(ctx.roc(*ssrcs.first().unwrap()), Some(0));
        let rms = (sum_sq / samples as f64).sqrt();
        let (chi_c, chi_p) = (chi_square(&cipher_hist), chi_square(&plain_hist));
        eprintln!(
            "marseillaise: {stats:?}, RMS {rms:.1}, chi² ciphertext {chi_c:.1}, plaintext {chi_p:.1}"
        );
        assert!(rms > 100.0 && rms < 20000.0, "RMS {rms}");
        // 255 degrees of freedom: uniform bytes give about 255 ± 23.
        assert!(chi_c < 400.0, "ciphertext chi² {chi_c}");
        assert!(chi_p > 100_000.0, "plaintext chi² {chi_p}");

        // A wrong key fails every packet.
        let wrong = SrtpKey::from_user(
            "AES_CM_128_HMAC_SHA1_80",
            "aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRT",
        )
        .unwrap();
        let mut bad = SrtpContext::new(&wrong);
        assert!(
            packets
                .iter()
                .all(|p| bad.unprotect_rtp(p) == Err(SrtpError::AuthFailed))
        );
        assert_eq!(
            bad.stats(),
            SrtpStats {
                auth_failures: 11888,
                ..SrtpStats::default()
            }
        );
    }
}
