//! Key schedules: the TLS 1.2 PRF (RFC 5246 §5), TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1; `dtls13` for DTLS 1.3,
//! RFC 9147 §5.9), and the keying-material exporters of both (RFC 5705, RFC 8446 §7.5) that DTLS-SRTP uses.

use sha2::{Digest, Sha256, Sha384};

use crate::tls::record::MacAlg;

/// The hash of a suite's PRF / HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    /// TLS 1.0/1.1 and DTLS 1.0: the PRF is P_MD5 xor P_SHA1 over the two halves of the secret (RFC 2246 §5),
    /// and the handshake hash MD5 || SHA-1.
    Md5Sha1,
}

impl HashAlg {
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Md5Sha1 => 36,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Md5Sha1 => {
                let mut v = md5::Md5::digest(data).to_vec();
                v.extend_from_slice(&sha1::Sha1::digest(data));
                v
            }
        }
    }
}

/// P_hash(secret, label + seed) of RFC 5246 §5 with HMAC-`mac`, `len` bytes.
fn p_hash(mac: MacAlg, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut a = mac.mac(secret, &[label, seed]);
    while out.len() < len && !a.is_empty() {
        out.extend_from_slice(&mac.mac(secret, &[&a, label, seed]));
        a = mac.mac(secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// The TLS PRF: `P_hash(secret, label + seed)` truncated to `len` bytes (TLS 1.2), or the MD5/SHA-1 one of TLS
/// 1.0/1.1 for [`HashAlg::Md5Sha1`].
pub fn prf12(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    match hash {
        HashAlg::Sha256 => p_hash(MacAlg::Sha256, secret, label, seed, len),
        HashAlg::Sha384 => p_hash(MacAlg::Sha384, secret, label, seed, len),
        HashAlg::Md5Sha1 => {
            // RFC 2246 §5: P_MD5 over the first half of the secret xor P_SHA1 over the second (the halves share
            // the middle byte when the length is odd).
            let half = secret.len().div_ceil(2);
            let s1 = secret.get(..half).unwrap_or_default();
            let s2 = secret
                .get(secret.len().saturating_sub(half)..)
                .unwrap_or_default();
            let a = p_hash(MacAlg::Md5, s1, label, seed, len);
            let b = p_hash(MacAlg::Sha1, s2, label, seed, len);
            a.iter().zip(&b).map(|(x, y)| x ^ y).collect()
        }
    }
}

/// HKDF-Expand-Label(secret, label, context, len) with the `tls13 ` (or `dtls13`) prefix. Empty on a secret
/// shorter than the hash or a length HKDF cannot give (never from a well-formed schedule).
pub fn expand_label(
    hash: HashAlg,
    secret: &[u8],
    prefix: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + prefix.len() + label.len() + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((prefix.len() + label.len()) as u8);
    info.extend_from_slice(prefix);
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    let ok = match hash {
        HashAlg::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand(&info, &mut out).ok()),
        HashAlg::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand(&info, &mut out).ok()),
        HashAlg::Md5Sha1 => None,
    };
    if ok.is_some() { out } else { Vec::new() }
}

/// TLS 1.2 key block: `PRF(master, "key expansion", server_random + client_random)`.
pub fn key_block12(
    hash: HashAlg,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let mut seed = Vec::with_capacity(64);
    seed.extend_from_slice(server_random);
    seed.extend_from_slice(client_random);
    prf12(hash, master, b"key expansion", &seed, len)
}

/// TLS 1.2 master secret from a pre-master secret: extended (RFC 7627, over the session hash) or classic.
pub fn master12(
    hash: HashAlg,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    session_hash: Option<&[u8]>,
) -> Vec<u8> {
    match session_hash {
        Some(h) => prf12(hash, premaster, b"extended master secret", h, 48),
        None => {
            let mut seed = Vec::with_capacity(64);
            seed.extend_from_slice(client_random);
            seed.extend_from_slice(server_random);
            prf12(hash, premaster, b"master secret", &seed, 48)
        }
    }
}

/// RFC 5705 exporter for TLS/DTLS 1.2 without context: `PRF(master, label, client_random + server_random)`.
pub fn export12(
    hash: HashAlg,
    master: &[u8],
    label: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let mut seed = Vec::with_capacity(64);
    seed.extend_from_slice(client_random);
    seed.extend_from_slice(server_random);
    prf12(hash, master, label, &seed, len)
}

/// RFC 8446 §7.5 exporter with an empty context, from the (D)TLS 1.3 exporter master secret.
pub fn export13(
    hash: HashAlg,
    exporter_secret: &[u8],
    prefix: &[u8],
    label: &[u8],
    len: usize,
) -> Vec<u8> {
    let empty = hash.digest(b"");
    let derived = expand_label(
        hash,
        exporter_secret,
        prefix,
        label,
        &empty,
        hash.output_len(),
    );
    if derived.is_empty() {
        return Vec::new();
    }
    expand_label(hash, &derived, prefix, b"exporter", &empty, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::keylog::unhex;

    fn h(s: &str) -> Vec<u8> {
        unhex(&s.split_ascii_whitespace().collect::<String>()).expect("hex")
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): the server handshake traffic secret gives the server's handshake
    /// write key and IV.
    #[test]
    fn expand_label_matches_rfc8448() {
        let secret = h(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let key = expand_label(HashAlg::Sha256, &secret, b"tls13 ", b"key", b"", 16);
        let iv = expand_label(HashAlg::Sha256, &secret, b"tls13 ", b"iv", b"", 12);
        assert_eq!(key, h("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"));
        assert_eq!(iv, h("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    /// The TLS 1.2 PRF test vector (SHA-256) published on the IETF TLS list and used by many implementations.
    #[test]
    fn prf12_sha256_matches_the_published_vector() {
        let secret = h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf12(HashAlg::Sha256, &secret, b"test label", &seed, 100);
        assert_eq!(
            out,
            h("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
               6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
               4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
               87 34 7b 66")
        );
    }
}
