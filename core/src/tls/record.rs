//! Record protection: opening one TLS/DTLS record with the keys of one direction. AEAD tags and CBC MACs are
//! always verified; a record that does not authenticate yields nothing (garbled bytes are never passed on).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use ccm::consts::{U8, U12, U16};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

type Ccm128 = ccm::Ccm<aes::Aes128, U16, U12>;
type Ccm256 = ccm::Ccm<aes::Aes256, U16, U12>;
type Ccm128x8 = ccm::Ccm<aes::Aes128, U8, U12>;
type Ccm256x8 = ccm::Ccm<aes::Aes256, U8, U12>;

/// The record cipher of a suite, without keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherKind {
    AesGcm { key_len: usize },
    ChaCha20Poly1305,
    AesCcm { key_len: usize, tag_len: usize },
    AesCbc { key_len: usize, mac: MacAlg },
}

/// The HMAC of a CBC suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    Sha1,
    Sha256,
    Sha384,
    /// HMAC-MD5: never a record MAC here, only one half of the TLS 1.0/1.1 PRF.
    Md5,
}

impl MacAlg {
    pub fn output_len(self) -> usize {
        match self {
            MacAlg::Md5 => 16,
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }

    /// HMAC of `parts` concatenated under `key` (any length); the one HMAC of the record layer and the PRFs.
    pub(crate) fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        macro_rules! run {
            ($h:ty) => {{
                let Ok(mut m) = <Hmac<$h> as Mac>::new_from_slice(key) else {
                    return Vec::new();
                };
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }};
        }
        match self {
            MacAlg::Md5 => run!(md5::Md5),
            MacAlg::Sha1 => run!(Sha1),
            MacAlg::Sha256 => run!(Sha256),
            MacAlg::Sha384 => run!(Sha384),
        }
    }
}

impl CipherKind {
    pub fn key_len(self) -> usize {
        match self {
            CipherKind::AesGcm { key_len }
            | CipherKind::AesCcm { key_len, .. }
            | CipherKind::AesCbc { key_len, .. } => key_len,
            CipherKind::ChaCha20Poly1305 => 32,
        }
    }

    /// TLS 1.2 key-block IV length (the implicit part of the nonce; CBC's is unused with explicit IVs).
    pub fn fixed_iv_len12(self) -> usize {
        match self {
            CipherKind::AesGcm { .. } | CipherKind::AesCcm { .. } => 4,
            CipherKind::ChaCha20Poly1305 => 12,
            CipherKind::AesCbc { .. } => 16,
        }
    }

    pub fn mac_key_len(self) -> usize {
        match self {
            CipherKind::AesCbc { mac, .. } => mac.output_len(),
            _ => 0,
        }
    }
}

/// One direction's record keys.
#[derive(Clone)]
pub struct RecordKeys {
    pub kind: CipherKind,
    pub key: Vec<u8>,
    /// TLS 1.2: the key block's IV (4 bytes for GCM/CCM, 12 for ChaCha20); TLS 1.3: the 12-byte write IV.
    pub iv: Vec<u8>,
    pub mac_key: Vec<u8>,
    /// TLS 1.2 CBC: encrypt-then-MAC (RFC 7366) was negotiated.
    pub etm: bool,
}

impl std::fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach a log or a report.
        write!(f, "RecordKeys({:?}, etm {})", self.kind, self.etm)
    }
}

/// The protocol framing of a record's nonce and additional data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// TLS 1.2 / DTLS 1.2: AAD = seq(8) type version length; GCM/CCM carry an 8-byte explicit nonce.
    V12,
    /// TLS 1.3: AAD = the record header; nonce = IV xor seq; the inner plaintext ends with its content type.
    V13,
}

fn nonce_xor(iv: &[u8], seq: u64) -> Option<[u8; 12]> {
    let mut n: [u8; 12] = iv.try_into().ok()?;
    for (b, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    Some(n)
}

fn aead_open(
    kind: CipherKind,
    key: &[u8],
    nonce: &[u8; 12],
    msg: &[u8],
    aad: &[u8],
) -> Option<Vec<u8>> {
    let p = Payload { msg, aad };
    let n = nonce.into();
    match kind {
        CipherKind::AesGcm { key_len: 16 } => {
            Aes128Gcm::new_from_slice(key).ok()?.decrypt(n, p).ok()
        }
        CipherKind::AesGcm { key_len: 32 } => {
            Aes256Gcm::new_from_slice(key).ok()?.decrypt(n, p).ok()
        }
        CipherKind::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(key)
            .ok()?
            .decrypt(n, p)
            .ok(),
        CipherKind::AesCcm {
            key_len: 16,
            tag_len: 16,
        } => Ccm128::new_from_slice(key).ok()?.decrypt(n, p).ok(),
        CipherKind::AesCcm {
            key_len: 32,
            tag_len: 16,
        } => Ccm256::new_from_slice(key).ok()?.decrypt(n, p).ok(),
        CipherKind::AesCcm {
            key_len: 16,
            tag_len: 8,
        } => Ccm128x8::new_from_slice(key).ok()?.decrypt(n, p).ok(),
        CipherKind::AesCcm {
            key_len: 32,
            tag_len: 8,
        } => Ccm256x8::new_from_slice(key).ok()?.decrypt(n, p).ok(),
        _ => None,
    }
}

fn tag_len(kind: CipherKind) -> usize {
    match kind {
        CipherKind::AesCcm { tag_len, .. } => tag_len,
        _ => 16,
    }
}

/// Open one record. `seq`: the record sequence number (DTLS: epoch << 48 | sequence); `header`: the record's
/// header as on the wire (TLS: 5 bytes; DTLS: 13), used as-is for TLS 1.3's AAD; `rtype`/`version`: its type and
/// version fields. Returns (content type, plaintext), or `None` when the record does not authenticate.
pub fn open(
    keys: &RecordKeys,
    framing: Framing,
    seq: u64,
    header: &[u8],
    rtype: u8,
    version: u16,
    fragment: &[u8],
) -> Option<(u8, Vec<u8>)> {
    match (framing, keys.kind) {
        (Framing::V13, kind) => {
            let nonce = nonce_xor(&keys.iv, seq)?;
            let mut inner = aead_open(kind, &keys.key, &nonce, fragment, header)?;
            // TLSInnerPlaintext: content || type || zeros.
            let end = inner.iter().rposition(|&b| b != 0)?;
            let ty = *inner.get(end)?;
            inner.truncate(end);
            Some((ty, inner))
        }
        (Framing::V12, CipherKind::AesCbc { mac, .. }) => {
            open_cbc(keys, mac, seq, rtype, version, fragment, None)
        }
        (Framing::V12, kind) => {
            let tag = tag_len(kind);
            let (nonce, ct) = if kind == CipherKind::ChaCha20Poly1305 {
                (nonce_xor(&keys.iv, seq)?, fragment)
            } else {
                let explicit = fragment.get(..8)?;
                let mut n = [0u8; 12];
                n.get_mut(..4)?.copy_from_slice(keys.iv.get(..4)?);
                n.get_mut(4..)?.copy_from_slice(explicit);
                (n, fragment.get(8..)?)
            };
            let plain_len = ct.len().checked_sub(tag)?;
            let aad = aad12(seq, rtype, version, plain_len);
            let plain = aead_open(kind, &keys.key, &nonce, ct, &aad)?;
            Some((rtype, plain))
        }
    }
}

fn aad12(seq: u64, rtype: u8, version: u16, len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    let s = seq.to_be_bytes();
    let v = version.to_be_bytes();
    let l = (len as u16).to_be_bytes();
    for (d, b) in aad.iter_mut().zip(
        s.iter()
            .chain([rtype].iter())
            .chain(v.iter())
            .chain(l.iter()),
    ) {
        *d = *b;
    }
    aad
}

/// TLS 1.0 AES-CBC: the IV is implicit (RFC 2246 §6.2.3.2: the key block's IV for the first record, then the last
/// ciphertext block of the previous record, see [`cbc_next_iv`]).
pub fn open_cbc_implicit(
    keys: &RecordKeys,
    iv: &[u8; 16],
    seq: u64,
    rtype: u8,
    version: u16,
    fragment: &[u8],
) -> Option<(u8, Vec<u8>)> {
    let CipherKind::AesCbc { mac, .. } = keys.kind else {
        return None;
    };
    open_cbc(keys, mac, seq, rtype, version, fragment, Some(iv))
}

/// TLS 1.0 CBC: the IV of the record after this one — its last ciphertext block (before the MAC with
/// encrypt-then-MAC), whether or not this record authenticates.
pub fn cbc_next_iv(keys: &RecordKeys, fragment: &[u8]) -> Option<[u8; 16]> {
    let CipherKind::AesCbc { mac, .. } = keys.kind else {
        return None;
    };
    let end = if keys.etm {
        fragment.len().checked_sub(mac.output_len())?
    } else {
        fragment.len()
    };
    fragment
        .get(end.checked_sub(16)?..end)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
}

/// AES-CBC with HMAC, MAC-then-encrypt (RFC 5246 §6.2.3.2) or encrypt-then-MAC (RFC 7366). Explicit IVs (TLS 1.1
/// and later, DTLS), or the implicit IV of TLS 1.0 when `implicit_iv` is given.
fn open_cbc(
    keys: &RecordKeys,
    mac: MacAlg,
    seq: u64,
    rtype: u8,
    version: u16,
    fragment: &[u8],
    implicit_iv: Option<&[u8; 16]>,
) -> Option<(u8, Vec<u8>)> {
    let mac_len = mac.output_len();
    let (body, tag) = if keys.etm {
        let split = fragment.len().checked_sub(mac_len)?;
        let (b, t) = fragment.split_at(split);
        let expect = mac.mac(&keys.mac_key, &[&aad12(seq, rtype, version, b.len()), b]);
        if expect.as_slice() != t {
            return None;
        }
        (b, None)
    } else {
        (fragment, Some(()))
    };
    let (iv, mut ct) = match implicit_iv {
        Some(iv) => (&iv[..], body.to_vec()),
        None => (body.get(..16)?, body.get(16..)?.to_vec()),
    };
    if ct.is_empty() || ct.len() % 16 != 0 {
        return None;
    }
    let plain: &[u8] = match keys.kind.key_len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&keys.key, iv)
            .ok()?
            .decrypt_padded_mut::<NoPadding>(&mut ct)
            .ok()?,
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(&keys.key, iv)
            .ok()?
            .decrypt_padded_mut::<NoPadding>(&mut ct)
            .ok()?,
        _ => return None,
    };
    let pad = usize::from(*plain.last()?);
    let unpadded = plain.len().checked_sub(pad.checked_add(1)?)?;
    if plain
        .get(unpadded..)?
        .iter()
        .any(|&b| usize::from(b) != pad)
    {
        return None;
    }
    let content = plain.get(..unpadded)?;
    if tag.is_none() {
        return Some((rtype, content.to_vec()));
    }
    let data_len = content.len().checked_sub(mac_len)?;
    let (data, t) = content.split_at(data_len);
    let expect = mac.mac(
        &keys.mac_key,
        &[&aad12(seq, rtype, version, data.len()), data],
    );
    (expect.as_slice() == t).then(|| (rtype, data.to_vec()))
}
