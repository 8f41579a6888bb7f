//! DTLS associations on UDP (DTLS-SRTP, RFC 5763/5764): the handshake read from the clear part (randoms, cipher
//! suite, `use_srtp` profile, both certificates, extended master secret), reassembled across fragments; with the
//! session's master secret from a key log, the SRTP master keys and salts exported with `EXTRACTOR-dtls_srtp`
//! (RFC 5705, RFC 5764 §4.2), after checking the key on the encrypted Finished records. DTLS 1.2 (DTLS 1.0 reads
//! the same); DTLS 1.3 associations are recognised and reported as not decrypted (no DTLS 1.3 stack was at hand
//! to make test captures).
//!
//! Bounded: [`MAX_ASSOCIATIONS`] associations, [`MAX_HANDSHAKE_BYTES`] of handshake reassembly per direction.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tls_parser::{DTLSMessage, DTLSMessageHandshakeBody, TlsExtension};

use crate::media::srtp::{SrtpKey, SrtpSuite};
use crate::model::{DtlsSession, FrameNo, TlsKeyUse};
use crate::tls::kdf;
use crate::tls::keylog::Keys;
use crate::tls::record::{self, Framing, RecordKeys};
use crate::tls::session::{hex, suite_name, suite_params};

/// Associations tracked; further ones are counted in [`DtlsTracker::dropped`].
pub const MAX_ASSOCIATIONS: usize = 10_000;
/// Handshake bytes held per direction while messages are reassembled.
const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Reasm {
    /// message_seq → (type, length, bytes, bytes covered).
    msgs: BTreeMap<u16, (u8, usize, Vec<u8>, Vec<bool>)>,
    done: std::collections::BTreeSet<u16>,
    bytes: usize,
}

/// An encrypted Finished record: (epoch << 48 | sequence, header, fragment).
type Finished = (u64, Vec<u8>, Vec<u8>);

#[derive(Debug, Default)]
struct Assoc {
    /// (client, server) once a ClientHello was seen; else the first packet's (source, destination).
    client: Option<SocketAddr>,
    first_frame: FrameNo,
    last_frame: FrameNo,
    records: u64,
    record_version: u16,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    version: Option<u16>,
    suite: Option<u16>,
    profile: Option<u16>,
    ems: bool,
    client_cert: Option<Vec<u8>>,
    server_cert: Option<Vec<u8>>,
    /// Handshake reassembly: [from client, from server].
    reasm: [Reasm; 2],
    /// The first epoch-1 handshake record (Finished) of each direction.
    finished: [Option<Finished>; 2],
}

/// All DTLS associations of a capture.
#[derive(Debug, Default)]
pub struct DtlsTracker {
    assocs: BTreeMap<(SocketAddr, SocketAddr), Assoc>,
    /// Records of associations not tracked because [`MAX_ASSOCIATIONS`] was reached.
    pub dropped: u64,
}

/// (lower, higher) address: one key per association whatever the direction.
fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i.checked_add(1)?)?]))
}

fn be24(b: &[u8], i: usize) -> Option<usize> {
    Some(
        (usize::from(*b.get(i)?) << 16)
            | (usize::from(*b.get(i + 1)?) << 8)
            | usize::from(*b.get(i + 2)?),
    )
}

impl DtlsTracker {
    pub fn new() -> Self {
        DtlsTracker::default()
    }

    /// One UDP payload holding DTLS records (several may share a datagram).
    pub fn push(&mut self, frame: FrameNo, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let key = pair(src, dst);
        if !self.assocs.contains_key(&key) && self.assocs.len() >= MAX_ASSOCIATIONS {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let a = self.assocs.entry(key).or_insert_with(|| Assoc {
            first_frame: frame,
            ..Assoc::default()
        });
        a.last_frame = frame;
        let mut rest = payload;
        while rest.len() >= 13 {
            let (Some(&ctype), Some(version), Some(epoch), Some(len)) =
                (rest.first(), be16(rest, 1), be16(rest, 3), be16(rest, 11))
            else {
                break;
            };
            let end = 13usize.saturating_add(usize::from(len));
            let (Some(header), Some(fragment)) = (rest.get(..13), rest.get(13..end)) else {
                break;
            };
            a.records = a.records.saturating_add(1);
            if a.record_version == 0 {
                a.record_version = version;
            }
            if ctype == 22 && epoch == 0 {
                a.handshake_fragment(src, fragment);
            } else if ctype == 22 && epoch == 1 {
                // Finished, encrypted: kept to check the key on.
                let from_client = a.client == Some(src);
                let d = usize::from(!from_client);
                let seq = rest
                    .get(3..11)
                    .and_then(|s| <[u8; 8]>::try_from(s).ok())
                    .map(u64::from_be_bytes);
                if let (Some(slot), Some(seq)) = (a.finished.get_mut(d), seq)
                    && slot.is_none()
                {
                    *slot = Some((seq, header.to_vec(), fragment.to_vec()));
                }
            }
            rest = rest.get(end..).unwrap_or_default();
        }
    }

    /// The associations with what is known of them, sorted by (client, server). With `keys`, the SRTP keys of
    /// each association whose session the keys hold.
    pub fn sessions(&self, keys: Option<&Keys>) -> Vec<DtlsSession> {
        let mut v: Vec<DtlsSession> = self
            .assocs
            .iter()
            .map(|(&(lo, hi), a)| a.report(lo, hi, keys))
            .collect();
        v.sort_by_key(|s| (s.client, s.server));
        v
    }
}

impl Assoc {
    fn handshake_fragment(&mut self, src: SocketAddr, mut data: &[u8]) {
        while data.len() >= 12 {
            let (Some(ty), Some(len), Some(seq), Some(off), Some(flen)) = (
                data.first().copied(),
                be24(data, 1),
                be16(data, 4),
                be24(data, 6),
                be24(data, 9),
            ) else {
                return;
            };
            let Some(frag) = data.get(12..12usize.saturating_add(flen)) else {
                return;
            };
            data = data.get(12usize.saturating_add(flen)..).unwrap_or_default();
            if ty == 1 && self.client.is_none() {
                self.client = Some(src);
            }
            let d = usize::from(self.client != Some(src));
            let Some(r) = self.reasm.get_mut(d) else {
                return;
            };
            if r.done.contains(&seq) || len > MAX_HANDSHAKE_BYTES {
                continue;
            }
            if !r.msgs.contains_key(&seq) {
                if r.bytes.saturating_add(len) > MAX_HANDSHAKE_BYTES {
                    continue;
                }
                r.bytes = r.bytes.saturating_add(len);
                r.msgs
                    .insert(seq, (ty, len, vec![0; len], vec![false; len]));
            }
            let Some((_, mlen, buf, have)) = r.msgs.get_mut(&seq) else {
                continue;
            };
            let Some(end) = off.checked_add(frag.len()).filter(|&e| e <= *mlen) else {
                continue;
            };
            if let (Some(dst), Some(h)) = (buf.get_mut(off..end), have.get_mut(off..end)) {
                dst.copy_from_slice(frag);
                h.iter_mut().for_each(|x| *x = true);
            }
            if have.iter().all(|&x| x)
                && let Some((ty, mlen, body, _)) = r.msgs.remove(&seq)
            {
                r.bytes = r.bytes.saturating_sub(mlen);
                r.done.insert(seq);
                self.message(ty, seq, &body, d);
            }
        }
    }

    /// A whole handshake message from direction `d` (0: client).
    fn message(&mut self, ty: u8, seq: u16, body: &[u8], d: usize) {
        // Re-frame it unfragmented for tls-parser.
        let len = body.len();
        let mut m = Vec::with_capacity(12 + len);
        m.push(ty);
        m.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0]);
        m.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        let Ok((_, DTLSMessage::Handshake(h))) = tls_parser::parse_dtls_message_handshake(&m)
        else {
            return;
        };
        match h.body {
            DTLSMessageHandshakeBody::ClientHello(ch) => {
                if let Ok(r) = <[u8; 32]>::try_from(ch.random) {
                    self.client_random = Some(r);
                }
                if let Some(ext) = ch.ext
                    && let Ok((_, exts)) = tls_parser::parse_tls_client_hello_extensions(ext)
                {
                    self.ems = exts.iter().any(|e| {
                        matches!(e, TlsExtension::ExtendedMasterSecret)
                            || matches!(e, TlsExtension::Unknown(t, _) if t.0 == 23)
                    });
                }
            }
            DTLSMessageHandshakeBody::ServerHello(sh) => {
                if let Ok(r) = <[u8; 32]>::try_from(sh.random) {
                    self.server_random = Some(r);
                }
                self.suite = Some(sh.cipher.0);
                self.version = Some(sh.version.0);
                let mut ems = false;
                if let Some(ext) = sh.ext {
                    for (ty, data) in raw_extensions(ext) {
                        match ty {
                            14 => self.profile = be16(data, 2),
                            23 => ems = true,
                            43 => self.version = be16(data, 0),
                            _ => {}
                        }
                    }
                }
                self.ems = self.ems && ems;
            }
            DTLSMessageHandshakeBody::Certificate(c) => {
                if let Some(leaf) = c.cert_chain.first() {
                    let slot = if d == 0 {
                        &mut self.client_cert
                    } else {
                        &mut self.server_cert
                    };
                    if slot.is_none() {
                        *slot = Some(leaf.data.to_vec());
                    }
                }
            }
            _ => {}
        }
    }

    fn report(&self, lo: SocketAddr, hi: SocketAddr, keys: Option<&Keys>) -> DtlsSession {
        let (client, server) = match self.client {
            Some(c) if c == hi => (hi, lo),
            _ => (lo, hi),
        };
        let version = match self.version.unwrap_or(self.record_version) {
            0xfeff => "DTLS 1.0".to_string(),
            0xfefd => "DTLS 1.2".to_string(),
            0xfefc => "DTLS 1.3".to_string(),
            v => format!("0x{v:04x}"),
        };
        let mut s = DtlsSession {
            client,
            server,
            version,
            client_random: self.client_random.as_ref().map(|r| hex(r)),
            cipher_suite: self
                .suite
                .map(|id| suite_name(id).map_or(format!("0x{id:04x}"), str::to_string)),
            srtp_profile: self.profile.map(|p| {
                SrtpSuite::from_dtls_profile(p)
                    .map_or(format!("0x{p:04x}"), |s| s.sdes_name().to_string())
            }),
            client_certificate_sha256: self
                .client_cert
                .as_deref()
                .map(crate::tls::certificate_sha256),
            server_certificate_sha256: self
                .server_cert
                .as_deref()
                .map(crate::tls::certificate_sha256),
            records: self.records,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            srtp_keys_derived: false,
            key_source: None,
            not_decrypted: None,
            srtp_keys: None,
        };
        let Some(keys) = keys.filter(|k| !k.is_empty()) else {
            return s;
        };
        match self.derive(keys) {
            Ok((client_key, server_key, source)) => {
                s.srtp_keys_derived = true;
                s.key_source = keys.sources.get(source).map(|k| TlsKeyUse {
                    how: "keylog".into(),
                    source: k.name.clone(),
                    source_sha256: k.sha256.clone(),
                });
                s.srtp_keys = Some((client_key, server_key));
            }
            Err(why) => s.not_decrypted = Some(why),
        }
        s
    }

    /// The SRTP master keys of both directions: (client write, server write, key source index).
    fn derive(&self, keys: &Keys) -> Result<(SrtpKey, SrtpKey, usize), String> {
        if self.version == Some(0xfefc) {
            return Err("DTLS 1.3 is recognised but not decrypted".into());
        }
        let (Some(cr), Some(sr)) = (self.client_random, self.server_random) else {
            return Err("the handshake is not in the capture (no ClientHello/ServerHello)".into());
        };
        let Some(profile) = self.profile else {
            return Err("no use_srtp profile was negotiated (not DTLS-SRTP)".into());
        };
        let Some(suite) = SrtpSuite::from_dtls_profile(profile) else {
            return Err(format!(
                "SRTP protection profile 0x{profile:04x} is not supported"
            ));
        };
        let Some(mut p) = self.suite.and_then(suite_params) else {
            return Err(format!(
                "cipher suite {} is not supported",
                self.suite.map(|s| format!("0x{s:04x}")).unwrap_or_default()
            ));
        };
        if self.version == Some(0xfeff) {
            // DTLS 1.0 is TLS 1.1's record layer: the MD5/SHA-1 PRF.
            p.hash = kdf::HashAlg::Md5Sha1;
        }
        let Some(secrets) = keys.session(&cr) else {
            return Err(format!("no key for session (client random {})", hex(&cr)));
        };
        let Some(master) = secrets.master.as_deref() else {
            return Err(format!(
                "no master secret (CLIENT_RANDOM) for session (client random {})",
                hex(&cr)
            ));
        };
        // Check the key on an encrypted Finished when the capture has one: a wrong key never yields audio keys.
        let k = p.cipher;
        let (mk, ek, ik) = (k.mac_key_len(), k.key_len(), k.fixed_iv_len12());
        let block = kdf::key_block12(p.hash, master, &cr, &sr, 2 * (mk + ek + ik));
        let part = |off: usize, len: usize| block.get(off..off + len).unwrap_or_default().to_vec();
        for (d, fin) in self.finished.iter().enumerate() {
            let Some((seq, header, fragment)) = fin else {
                continue;
            };
            let (mac_off, key_off, iv_off) = if d == 0 {
                (0, 2 * mk, 2 * mk + 2 * ek)
            } else {
                (mk, 2 * mk + ek, 2 * mk + 2 * ek + ik)
            };
            let rk = RecordKeys {
                kind: k,
                key: part(key_off, ek),
                iv: part(iv_off, ik),
                mac_key: part(mac_off, mk),
                etm: false,
            };
            let version = be16(header, 1).unwrap_or(0xfefd);
            if record::open(&rk, Framing::V12, *seq, header, 22, version, fragment).is_none() {
                return Err(
                    "the key log's master secret does not open this association's Finished record"
                        .into(),
                );
            }
        }
        let (kl, sl) = (suite.master_key_len(), suite.master_salt_len());
        let m = kdf::export12(
            p.hash,
            master,
            b"EXTRACTOR-dtls_srtp",
            &cr,
            &sr,
            2 * (kl + sl),
        );
        let get = |off: usize, len: usize| {
            m.get(off..off + len)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        };
        let client = SrtpKey::new(suite, get(0, kl), get(2 * kl, sl)).map_err(|e| e.to_string())?;
        let server =
            SrtpKey::new(suite, get(kl, kl), get(2 * kl + sl, sl)).map_err(|e| e.to_string())?;
        Ok((client, server, secrets.source))
    }
}

/// (type, data) of each extension in a raw extension block.
fn raw_extensions(mut ext: &[u8]) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    while let (Some(ty), Some(len)) = (be16(ext, 0), be16(ext, 2)) {
        let end = 4usize.saturating_add(usize::from(len));
        let Some(data) = ext.get(4..end) else {
            break;
        };
        v.push((ty, data));
        ext = ext.get(end..).unwrap_or_default();
    }
    v
}
