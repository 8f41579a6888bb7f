//! SHA-256 of a byte stream, read in 1 MiB chunks (the evidence capture's hash, and each exported file's in a
//! manifest). Imports nothing.

use std::io::Read;

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of everything `r` yields, and how many bytes that was.
pub fn sha256_hex(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size = size.saturating_add(n as u64);
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok((lower_hex(&h.finalize()), size))
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> String {
    lower_hex(&Sha256::digest(bytes))
}

fn lower_hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}
