//! `--keylog` / `--tls-key`: the keys an investigator holds, shared by every command that analyses a capture.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
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
}
