//! `--keylog` / `--tls-key` / `--certs` / `--sti-roots`: the keys and certificates an investigator holds, shared by
//! every command that analyses a capture.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use earshot_core::identity::CertStore;
use earshot_core::tls::Keys;

#[derive(Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// TLS key log (NSS format, as written by SSLKEYLOGFILE): decrypts SIP over TLS/WSS and DTLS-SRTP media.
    /// Repeatable. Key logs inside a pcapng (Decryption Secrets Blocks) are used without this.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// The TLS server's RSA private key (PEM, PKCS#1 or PKCS#8): decrypts TLS 1.2 sessions with RSA key
    /// exchange. Repeatable.
    #[arg(long, value_name = "PEM")]
    pub tls_key: Vec<PathBuf>,
    /// STIR/SHAKEN: the folder of certificates downloaded from the PASSporTs' x5u URLs (never fetched by Earshot).
    /// A URL's file is named by the URL's SHA-256 (hex) or by the URL with every character other than letters,
    /// digits, `.` and `-` written `_`, optionally with `.pem`/`.der`/`.cer`/`.crt`; PEM (leaf first, then its
    /// chain) or DER.
    #[arg(long, value_name = "DIR")]
    pub certs: Option<PathBuf>,
    /// STIR/SHAKEN trust anchors: the STI-PA's list of trusted roots as a PEM bundle. Without it no signer is
    /// trusted (`certificate-untrusted`).
    #[arg(long, value_name = "PEM")]
    pub sti_roots: Option<PathBuf>,
}

impl KeyArgs {
    /// The keys, read now (`None` when none were given). A malformed line is a diagnostic in the analysis; an
    /// unreadable file or a PEM that holds no RSA key is an error.
    pub fn load(&self) -> Result<Option<Arc<Keys>>> {
        if self.keylog.is_empty() && self.tls_key.is_empty() {
            return Ok(None);
        }
        let mut keys = Keys::new();
        for p in &self.keylog {
            keys.load_keylog(p)
                .with_context(|| format!("--keylog {}", p.display()))?;
        }
        for p in &self.tls_key {
            keys.load_rsa_key(p)
                .with_context(|| format!("--tls-key {}", p.display()))?;
        }
        Ok(Some(Arc::new(keys)))
    }

    /// The STIR/SHAKEN certificates, read now (`None` when neither `--certs` nor `--sti-roots` was given). A file
    /// in the folder that holds no usable certificate is a diagnostic in the analysis; a missing folder or an
    /// unusable anchor bundle is an error.
    pub fn load_identity(&self) -> Result<Option<Arc<CertStore>>> {
        if self.certs.is_none() && self.sti_roots.is_none() {
            return Ok(None);
        }
        let store = CertStore::load(self.certs.as_deref(), self.sti_roots.as_deref())?;
        Ok(Some(Arc::new(store)))
    }
}
