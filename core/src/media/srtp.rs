//! SRTP and SRTCP unprotection (RFC 3711) with SDES keys (RFC 4568 `a=crypto` lines, or keys given by hand):
//! key derivation, AES counter mode, HMAC-SHA1 authentication (the tag is always verified; failures are
//! counted, never played), and rollover-counter estimation (RFC 3711 Appendix A).
//! Pure functions and per-SSRC state; imports nothing else in the crate.

/// The crypto suites Earshot can unprotect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

/// Master key and salt of one SDES key (`inline:` key||salt, base64).
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey {
    pub suite: SrtpSuite,
    pub master_key: Vec<u8>,
    pub master_salt: Vec<u8>,
}

/// Why an SRTP key or packet could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("unsupported crypto suite {0}")]
    UnsupportedSuite(String),
    #[error("bad key: {0}")]
    BadKey(String),
    #[error("packet too short for SRTP ({0} bytes)")]
    TooShort(usize),
    #[error("authentication tag does not verify")]
    AuthFailed,
}

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are evidence, but debug output is not where they belong.
        write!(f, "SrtpKey({:?}, {} key bytes)", self.suite, self.master_key.len())
    }
}

// TEMPORARY interface stubs (replaced by the SRTP implementation branch).
impl SrtpSuite {
    pub fn sdes_name(self) -> &'static str {
        "AES_CM_128_HMAC_SHA1_80"
    }
}
impl SrtpKey {
    pub fn from_sdes(_suite_name: &str, _key_params: &str) -> Result<SrtpKey, SrtpError> {
        Err(SrtpError::BadKey("stub".into()))
    }
    pub fn from_user(_suite_name: &str, _key: &str) -> Result<SrtpKey, SrtpError> {
        Err(SrtpError::BadKey("stub".into()))
    }
}
#[derive(Debug, Clone, Copy, Default)]
pub struct SrtpStats {
    pub verified: u64,
    pub auth_failures: u64,
    pub too_short: u64,
}
pub struct SrtpContext;
impl SrtpContext {
    pub fn new(_key: &SrtpKey) -> SrtpContext {
        SrtpContext
    }
    pub fn unprotect_rtp(&mut self, _packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        Err(SrtpError::AuthFailed)
    }
    pub fn stats(&self) -> SrtpStats {
        SrtpStats::default()
    }
}
pub fn find_key_for_rtp(_keys: &[SrtpKey], _packet: &[u8]) -> Option<usize> {
    None
}
