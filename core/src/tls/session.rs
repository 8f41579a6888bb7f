//! One TLS connection followed record by record: the cleartext handshake (randoms, session IDs and tickets,
//! negotiated version and suite, encrypt-then-MAC, extended master secret, the server certificate, an RSA
//! key-exchange pre-master secret), the key schedule from the keys the investigator holds, and the protected
//! records opened into application data. TLS 1.2 (full and resumed handshakes) and TLS 1.3 (handshake and
//! application traffic secrets, KeyUpdate).

use std::collections::HashMap;

use tls_parser::{
    TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsExtension,
    TlsMessage, TlsMessageHandshake,
};

use crate::tls::kdf::{self, HashAlg};
use crate::tls::keylog::{Keys, Secrets};
use crate::tls::record::{self, CipherKind, Framing, MacAlg, RecordKeys};

/// Bytes of handshake messages kept per direction while a message is incomplete, and of the TLS 1.2 transcript
/// kept for the extended-master-secret session hash.
const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;
/// Records tried past the expected sequence number after bytes were lost from the capture.
const MAX_SEQ_SKIP: u64 = 64;
/// Sessions remembered for TLS 1.2 resumption (by session ID and by ticket), over all connections.
pub const MAX_RESUMABLE: usize = 65_536;
/// `SHA-256("HelloRetryRequest")`: the ServerHello random of a TLS 1.3 HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What the record layer of a suite needs.
#[derive(Debug, Clone, Copy)]
pub struct SuiteParams {
    pub cipher: CipherKind,
    pub hash: HashAlg,
    /// TLS 1.2 RSA key transport: no forward secrecy.
    pub rsa_kx: bool,
}

/// The suite's IANA name, when known.
pub fn suite_name(id: u16) -> Option<&'static str> {
    TlsCipherSuite::from_id(id).map(|s| s.name)
}

/// Record-layer parameters of a suite Earshot can decrypt (AES-GCM, AES-CCM(_8), ChaCha20-Poly1305, AES-CBC with
/// HMAC-SHA1/256/384); `None` for anything else.
pub fn suite_params(id: u16) -> Option<SuiteParams> {
    let s = TlsCipherSuite::from_id(id)?;
    let key_len = usize::from(s.enc_size / 8);
    let hash = match s.prf {
        tls_parser::TlsPRF::Sha384 => HashAlg::Sha384,
        tls_parser::TlsPRF::Default | tls_parser::TlsPRF::Sha256 => HashAlg::Sha256,
        _ => return None,
    };
    let cipher = match (s.enc, s.enc_mode) {
        (TlsCipherEnc::Chacha20_Poly1305, _) => CipherKind::ChaCha20Poly1305,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm) => CipherKind::AesGcm { key_len },
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm) => CipherKind::AesCcm {
            key_len,
            tag_len: if s.name.contains("CCM_8") { 8 } else { 16 },
        },
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc) => CipherKind::AesCbc {
            key_len,
            mac: match s.mac {
                TlsCipherMac::HmacSha1 => MacAlg::Sha1,
                TlsCipherMac::HmacSha256 => MacAlg::Sha256,
                TlsCipherMac::HmacSha384 => MacAlg::Sha384,
                _ => return None,
            },
        },
        _ => return None,
    };
    if !matches!(key_len, 16 | 32) && cipher != CipherKind::ChaCha20Poly1305 {
        return None;
    }
    Some(SuiteParams {
        cipher,
        hash,
        rsa_kx: s.kx == TlsCipherKx::Rsa,
    })
}

/// Master secrets of TLS 1.2 sessions seen in this capture, for resumed handshakes (bounded by [`MAX_RESUMABLE`]).
#[derive(Debug, Default)]
pub struct ResumptionCache {
    by_session_id: HashMap<Vec<u8>, (Vec<u8>, usize, KeyOrigin)>,
    by_ticket: HashMap<Vec<u8>, (Vec<u8>, usize, KeyOrigin)>,
}

impl ResumptionCache {
    fn remember(
        map: &mut HashMap<Vec<u8>, (Vec<u8>, usize, KeyOrigin)>,
        k: &[u8],
        v: (Vec<u8>, usize, KeyOrigin),
    ) {
        if k.is_empty() || (map.len() >= MAX_RESUMABLE && !map.contains_key(k)) {
            return;
        }
        map.insert(k.to_vec(), v);
    }
}

/// How a connection's keys were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// A key log line for this client random.
    KeyLog,
    /// The server's RSA private key (or an NSS `RSA` line) opened the pre-master secret.
    RsaKey,
    /// A TLS 1.2 resumed handshake: the master secret of an earlier session in the capture.
    Resumed,
}

/// Where a connection stands with decryption.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DecryptState {
    /// No protected record yet (or no key was given at all).
    #[default]
    Pending,
    Decrypting,
    /// Why not: no key for the session, unsupported suite, a record that failed authentication...
    NotDecrypted(String),
}

#[derive(Debug, Default)]
struct Dir {
    /// Records from here on are protected.
    protected: bool,
    seq: u64,
    keys: Option<RecordKeys>,
    /// TLS 1.3: 1 handshake, 2 application traffic; the current traffic secret.
    stage: u8,
    secret: Vec<u8>,
    /// Handshake bytes not yet forming a whole message.
    hs_buf: Vec<u8>,
    /// Bytes of this direction were lost from the capture: records may be missing, so the sequence number is
    /// searched forward (at most [`MAX_SEQ_SKIP`]) when the next record does not open.
    gap: bool,
    /// TLS 1.0 CBC: the implicit IV of the next record (the previous record's last ciphertext block).
    cbc_iv: Option<[u8; 16]>,
}

/// One protected record as it came: its header (as on the wire), type, version field and fragment.
#[derive(Clone, Copy)]
struct Record<'a> {
    header: &'a [u8],
    rtype: u8,
    version: u16,
    fragment: &'a [u8],
}

/// One TLS connection's state.
#[derive(Debug, Default)]
pub struct TlsConn {
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    client_session_id: Vec<u8>,
    server_session_id: Vec<u8>,
    client_ticket: Vec<u8>,
    /// Negotiated version (ServerHello, `supported_versions` for TLS 1.3).
    pub version: Option<u16>,
    pub suite: Option<u16>,
    client_etm: bool,
    pub etm: bool,
    client_ems: bool,
    pub ems: bool,
    pub resumed: bool,
    transcript: Vec<u8>,
    transcript_overflow: bool,
    session_hash: Option<Vec<u8>>,
    encrypted_premaster: Option<Vec<u8>>,
    master: Option<Vec<u8>>,
    dirs: [Dir; 2],
    pub state: DecryptState,
    /// Index in [`Keys::sources`] of the key that opened the connection, and how.
    pub key_source: Option<(usize, KeyOrigin)>,
    pub records_decrypted: u64,
    pub records_not_decrypted: u64,
    /// The server's leaf certificate (DER), when the handshake carried it in the clear or decrypted.
    pub server_certificate: Option<Vec<u8>>,
    /// The RSA key given does not open this session's pre-master secret.
    rsa_mismatch: bool,
}

impl TlsConn {
    pub fn new() -> Self {
        TlsConn::default()
    }

    /// Bytes from the client (`from_client`) or the server were lost from the capture.
    pub fn note_gap(&mut self, from_client: bool) {
        if let Some(dir) = self.dirs.get_mut(usize::from(!from_client)) {
            dir.gap = true;
            dir.hs_buf = Vec::new();
        }
    }

    /// The TLS 1.2 master secret in use, when one was found (key log, RSA key, resumption): an evidence export
    /// writes it as a `CLIENT_RANDOM` key log line so the extract opens without the RSA key. Never reported.
    pub fn master_secret(&self) -> Option<&[u8]> {
        self.master.as_deref()
    }

    pub fn client_random(&self) -> Option<&[u8; 32]> {
        self.client_random.as_ref()
    }

    fn is13(&self) -> bool {
        self.version == Some(0x0304)
    }

    fn not_decrypted(&mut self, why: String) {
        if !matches!(self.state, DecryptState::NotDecrypted(_)) {
            self.state = DecryptState::NotDecrypted(why);
        }
    }

    /// One whole record from the client (`from_client`) or the server. `header` is its 5-byte header. Returns the
    /// application data it carried once decrypted (empty otherwise).
    pub fn on_record(
        &mut self,
        from_client: bool,
        header: &[u8],
        fragment: &[u8],
        keys: &Keys,
        cache: &mut ResumptionCache,
    ) -> Vec<u8> {
        let (Some(&rtype), Some(&v0), Some(&v1)) = (header.first(), header.get(1), header.get(2))
        else {
            return Vec::new();
        };
        let version = u16::from_be_bytes([v0, v1]);
        let d = usize::from(!from_client);
        if rtype == 20 {
            // ChangeCipherSpec: TLS 1.2 protection starts for this direction (TLS 1.3 sends it only for
            // middlebox compatibility).
            if !self.is13()
                && let Some(dir) = self.dirs.get_mut(d)
            {
                dir.protected = true;
                dir.seq = 0;
                self.setup12(d, keys, cache);
            }
            return Vec::new();
        }
        let protected = self.dirs.get(d).is_some_and(|x| x.protected);
        if !protected {
            if rtype == 22 {
                self.handshake_bytes(d, fragment, false, keys, cache);
            }
            return Vec::new();
        }
        let rec = Record {
            header,
            rtype,
            version,
            fragment,
        };
        self.open(d, &rec, keys, cache)
    }

    fn open(
        &mut self,
        d: usize,
        rec: &Record<'_>,
        keys: &Keys,
        cache: &mut ResumptionCache,
    ) -> Vec<u8> {
        let Record {
            header,
            rtype,
            version,
            fragment,
        } = *rec;
        let is13 = self.is13();
        let framing = if is13 { Framing::V13 } else { Framing::V12 };
        let Some(dir) = self.dirs.get_mut(d) else {
            return Vec::new();
        };
        // TLS 1.0 CBC opens with the implicit IV the previous record left; everything else with the record's own.
        let iv = dir.cbc_iv;
        let try_open = |k: &RecordKeys, seq: u64| match iv {
            Some(iv) => record::open_cbc_implicit(k, &iv, seq, rtype, version, fragment),
            None => record::open(k, framing, seq, header, rtype, version, fragment),
        };
        let mut opened = dir.keys.as_ref().and_then(|k| try_open(k, dir.seq));
        if opened.is_none()
            && dir.gap
            && let Some(k) = dir.keys.as_ref()
        {
            // Records were lost with the missing bytes: find the sequence number this one has.
            for skip in 1..=MAX_SEQ_SKIP {
                let seq = dir.seq.wrapping_add(skip);
                if let Some(o) = try_open(k, seq) {
                    dir.seq = seq;
                    opened = Some(o);
                    break;
                }
            }
        }
        if iv.is_some()
            && let Some(next) = dir
                .keys
                .as_ref()
                .and_then(|k| record::cbc_next_iv(k, fragment))
        {
            dir.cbc_iv = Some(next);
        }
        if opened.is_some() {
            dir.gap = false;
        }
        if opened.is_none() && is13 && dir.stage < 2 {
            // Handshake secrets missing or the handshake already over: try the application traffic secret.
            if let Some((k, secret)) = self.app_keys13(d, keys)
                && let Some(o) = record::open(&k, framing, 0, header, rtype, version, fragment)
                && let Some(dir) = self.dirs.get_mut(d)
            {
                dir.keys = Some(k);
                dir.secret = secret;
                dir.stage = 2;
                dir.seq = 0;
                opened = Some(o);
            }
        }
        let Some((inner_type, plain)) = opened else {
            self.records_not_decrypted = self.records_not_decrypted.saturating_add(1);
            // The record took its sequence number even though it does not open (damaged, or tampered with): the
            // next one is expected at the next number.
            if let Some(dir) = self.dirs.get_mut(d) {
                dir.seq = dir.seq.wrapping_add(1);
            }
            let has_keys = self.dirs.get(d).is_some_and(|x| x.keys.is_some());
            if has_keys && !(is13 && self.dirs.get(d).is_some_and(|x| x.stage < 2)) {
                self.not_decrypted(
                    "a record failed authentication with the key given (wrong key, or records missing from the capture)"
                        .into(),
                );
            }
            return Vec::new();
        };
        if let Some(dir) = self.dirs.get_mut(d) {
            dir.seq = dir.seq.wrapping_add(1);
        }
        self.records_decrypted = self.records_decrypted.saturating_add(1);
        if self.state == DecryptState::Pending {
            self.state = DecryptState::Decrypting;
        }
        match inner_type {
            23 => plain,
            22 => {
                self.handshake_bytes(d, &plain, true, keys, cache);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Handshake bytes (cleartext, or decrypted when `protected`) from direction `d`: reassembled into messages.
    fn handshake_bytes(
        &mut self,
        d: usize,
        data: &[u8],
        protected: bool,
        keys: &Keys,
        cache: &mut ResumptionCache,
    ) {
        let Some(dir) = self.dirs.get_mut(d) else {
            return;
        };
        if dir.hs_buf.len().saturating_add(data.len()) > MAX_HANDSHAKE_BYTES {
            dir.hs_buf.clear();
            return;
        }
        dir.hs_buf.extend_from_slice(data);
        loop {
            let Some(dir) = self.dirs.get_mut(d) else {
                return;
            };
            let buf = &dir.hs_buf;
            let (Some(&ty), Some(&l0), Some(&l1), Some(&l2)) =
                (buf.first(), buf.get(1), buf.get(2), buf.get(3))
            else {
                return;
            };
            let len = (usize::from(l0) << 16) | (usize::from(l1) << 8) | usize::from(l2);
            let Some(msg) = buf.get(..len.saturating_add(4)).map(<[u8]>::to_vec) else {
                return;
            };
            dir.hs_buf.drain(..msg.len());
            if dir.hs_buf.is_empty() {
                dir.hs_buf = Vec::new();
            }
            self.handshake_message(d, ty, &msg, protected, keys, cache);
        }
    }

    fn handshake_message(
        &mut self,
        d: usize,
        ty: u8,
        msg: &[u8],
        protected: bool,
        keys: &Keys,
        cache: &mut ResumptionCache,
    ) {
        if !protected
            && !self.is13()
            && !self.transcript_overflow
            && self.session_hash.is_none()
            && (!keys.rsa.is_empty() || keys.has_rsa_lines())
        {
            if self.transcript.len().saturating_add(msg.len()) > MAX_HANDSHAKE_BYTES {
                self.transcript_overflow = true;
                self.transcript.clear();
            } else {
                self.transcript.extend_from_slice(msg);
            }
        }
        let body = msg.get(4..).unwrap_or_default();
        match ty {
            1 => self.client_hello(msg),
            2 => self.server_hello(msg, d, keys),
            11 if d == 1 => self.certificate(body, protected && self.is13()),
            16 => {
                // ClientKeyExchange: RSA key transport carries the encrypted pre-master secret (u16 length).
                let is_rsa = self.suite.and_then(suite_params).is_some_and(|p| p.rsa_kx);
                if is_rsa && let Some(enc) = body.get(2..) {
                    self.encrypted_premaster = Some(enc.to_vec());
                }
                if self.client_ems
                    && self.ems
                    && !self.transcript_overflow
                    && let Some(p) = self.suite()
                {
                    self.session_hash = Some(p.hash.digest(&self.transcript));
                }
                self.transcript = Vec::new();
            }
            4 if !self.is13() => {
                // NewSessionTicket (TLS 1.2): remember the session under its ticket (u16 length prefix dropped).
                if let Some(ticket) = body.get(6..)
                    && let (Some(m), Some(src)) = (self.master.clone(), self.key_source)
                {
                    ResumptionCache::remember(&mut cache.by_ticket, ticket, (m, src.0, src.1));
                }
            }
            20 if self.is13() => {
                // Finished: this direction's next records use the application traffic secret.
                if let Some((k, secret)) = self.app_keys13(d, keys)
                    && let Some(dir) = self.dirs.get_mut(d)
                    && dir.stage < 2
                {
                    dir.keys = Some(k);
                    dir.secret = secret;
                    dir.stage = 2;
                    dir.seq = 0;
                }
            }
            24 if self.is13() => self.key_update(d),
            _ => {}
        }
    }

    fn client_hello(&mut self, msg: &[u8]) {
        let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
            tls_parser::parse_tls_message_handshake(msg)
        else {
            return;
        };
        if let Ok(r) = <[u8; 32]>::try_from(ch.random) {
            self.client_random = Some(r);
        }
        self.client_session_id = ch.session_id.unwrap_or_default().to_vec();
        if let Some(ext) = ch.ext
            && let Ok((_, exts)) = tls_parser::parse_tls_client_hello_extensions(ext)
        {
            for e in exts {
                match e {
                    TlsExtension::EncryptThenMac => self.client_etm = true,
                    TlsExtension::Unknown(t, _) if t.0 == 22 => self.client_etm = true,
                    TlsExtension::ExtendedMasterSecret => self.client_ems = true,
                    TlsExtension::Unknown(t, _) if t.0 == 23 => self.client_ems = true,
                    TlsExtension::SessionTicket(t) => self.client_ticket = t.to_vec(),
                    _ => {}
                }
            }
        }
    }

    fn server_hello(&mut self, msg: &[u8], _d: usize, keys: &Keys) {
        let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
            tls_parser::parse_tls_message_handshake(msg)
        else {
            return;
        };
        let Ok(random) = <[u8; 32]>::try_from(sh.random) else {
            return;
        };
        if random == HRR_RANDOM {
            // HelloRetryRequest: a second ClientHello and ServerHello follow.
            return;
        }
        self.server_random = Some(random);
        self.server_session_id = sh.session_id.unwrap_or_default().to_vec();
        self.suite = Some(sh.cipher.0);
        let mut version = sh.version.0;
        if let Some(ext) = sh.ext
            && let Ok((_, exts)) = tls_parser::parse_tls_server_hello_extensions(ext)
        {
            for e in exts {
                match e {
                    TlsExtension::SupportedVersions(v) => {
                        if let Some(v) = v.first() {
                            version = v.0;
                        }
                    }
                    // tls-parser 0.12 reads extensions 22 and 23 of a ServerHello as Unknown.
                    TlsExtension::EncryptThenMac => self.etm = self.client_etm,
                    TlsExtension::Unknown(t, _) if t.0 == 22 => self.etm = self.client_etm,
                    TlsExtension::ExtendedMasterSecret => self.ems = self.client_ems,
                    TlsExtension::Unknown(t, _) if t.0 == 23 => self.ems = self.client_ems,
                    _ => {}
                }
            }
        }
        self.version = Some(version);
        if version == 0x0304 {
            self.transcript = Vec::new();
            // Every later record of both directions is protected (CCS records are ignored).
            for d in 0..2 {
                self.setup13_handshake(d, keys);
            }
        } else if !self.client_session_id.is_empty()
            && self.client_session_id == self.server_session_id
            || (!self.client_ticket.is_empty()
                && !self.server_session_id.is_empty()
                && self.client_session_id == self.server_session_id)
        {
            self.resumed = true;
        }
    }

    fn certificate(&mut self, body: &[u8], tls13: bool) {
        if self.server_certificate.is_some() {
            return;
        }
        // TLS 1.2: u24 list length, then u24-prefixed certificates. TLS 1.3: a u8 request context first, and a
        // u16 extension block after each certificate.
        let mut p = if tls13 {
            1 + usize::from(*body.first().unwrap_or(&0))
        } else {
            0
        };
        p = p.saturating_add(3);
        let be24 = |i: usize| -> Option<usize> {
            Some(
                (usize::from(*body.get(i)?) << 16)
                    | (usize::from(*body.get(i + 1)?) << 8)
                    | usize::from(*body.get(i + 2)?),
            )
        };
        if let Some(len) = be24(p)
            && let Some(der) = body.get(p + 3..p.saturating_add(3).saturating_add(len))
        {
            self.server_certificate = Some(der.to_vec());
        }
    }

    fn suite(&self) -> Option<SuiteParams> {
        self.suite.and_then(suite_params).map(|mut p| {
            // TLS 1.0 and 1.1 use the MD5/SHA-1 PRF whatever the suite says.
            if self.version.is_some_and(|v| v < 0x0303) {
                p.hash = HashAlg::Md5Sha1;
            }
            p
        })
    }

    /// The session's key-log secrets, if any.
    fn secrets<'k>(&self, keys: &'k Keys) -> Option<&'k Secrets> {
        keys.session(self.client_random.as_ref()?)
    }

    /// TLS 1.2: find the master secret and set up direction `d`'s keys (called at its ChangeCipherSpec).
    fn setup12(&mut self, d: usize, keys: &Keys, cache: &mut ResumptionCache) {
        let (Some(cr), Some(sr)) = (self.client_random, self.server_random) else {
            self.not_decrypted(
                "the handshake is not in the capture (no ClientHello/ServerHello)".into(),
            );
            return;
        };
        let Some(p) = self.suite() else {
            let name = self
                .suite
                .map(|s| suite_name(s).map_or(format!("0x{s:04x}"), str::to_string))
                .unwrap_or_default();
            self.not_decrypted(format!(
                "cipher suite {name} is not supported for decryption"
            ));
            return;
        };
        if self.master.is_none() {
            self.find_master12(&cr, &sr, p, keys, cache);
        }
        let Some(master) = self.master.clone() else {
            if !keys.is_empty() {
                let why = if self.rsa_mismatch {
                    "the key does not match the server certificate (the RSA key does not open the pre-master secret)".to_string()
                } else {
                    format!("no key for session (client random {})", hex(&cr))
                };
                self.not_decrypted(why);
            }
            return;
        };
        let k = p.cipher;
        let (mk, ek, ik) = (k.mac_key_len(), k.key_len(), k.fixed_iv_len12());
        let block = kdf::key_block12(p.hash, &master, &cr, &sr, 2 * (mk + ek + ik));
        let part = |off: usize, len: usize| block.get(off..off + len).unwrap_or_default().to_vec();
        let (mac_off, key_off, iv_off) = if d == 0 {
            (0, 2 * mk, 2 * mk + 2 * ek)
        } else {
            (mk, 2 * mk + ek, 2 * mk + 2 * ek + ik)
        };
        let implicit_iv =
            self.version.is_some_and(|v| v <= 0x0301) && matches!(k, CipherKind::AesCbc { .. });
        if let Some(dir) = self.dirs.get_mut(d) {
            let iv = part(iv_off, ik);
            dir.cbc_iv = if implicit_iv {
                <[u8; 16]>::try_from(iv.as_slice()).ok()
            } else {
                None
            };
            dir.keys = Some(RecordKeys {
                kind: k,
                key: part(key_off, ek),
                iv,
                mac_key: part(mac_off, mk),
                etm: self.etm,
            });
        }
    }

    fn find_master12(
        &mut self,
        cr: &[u8; 32],
        sr: &[u8; 32],
        p: SuiteParams,
        keys: &Keys,
        cache: &mut ResumptionCache,
    ) {
        if let Some(s) = self.secrets(keys)
            && let Some(m) = s.master.clone()
        {
            self.master = Some(m);
            self.key_source = Some((s.source, KeyOrigin::KeyLog));
        } else if self.resumed
            && let Some((m, src, _)) = cache
                .by_session_id
                .get(&self.server_session_id)
                .or_else(|| cache.by_ticket.get(&self.client_ticket))
                .cloned()
        {
            self.master = Some(m);
            self.key_source = Some((src, KeyOrigin::Resumed));
        } else if let Some(enc) = self.encrypted_premaster.clone() {
            let pms = if let Some((pms, src)) = keys.rsa_premaster(&enc) {
                Some((pms.clone(), *src))
            } else {
                keys.rsa.iter().find_map(|(key, src)| {
                    key.decrypt(rsa::Pkcs1v15Encrypt, &enc)
                        .ok()
                        .filter(|m| m.len() == 48)
                        .map(|m| (m, *src))
                })
            };
            match pms {
                Some((pms, src)) => {
                    let sh = self.session_hash.clone();
                    self.master = Some(kdf::master12(p.hash, &pms, cr, sr, sh.as_deref()));
                    self.key_source = Some((src, KeyOrigin::RsaKey));
                }
                None => self.rsa_mismatch = !keys.rsa.is_empty(),
            }
        }
        if let (Some(m), Some(src)) = (self.master.clone(), self.key_source)
            && !self.resumed
        {
            ResumptionCache::remember(
                &mut cache.by_session_id,
                &self.server_session_id.clone(),
                (m, src.0, src.1),
            );
        }
    }

    fn keys13(&self, secret: &[u8]) -> Option<RecordKeys> {
        let p = self.suite()?;
        let key = kdf::expand_label(p.hash, secret, b"tls13 ", b"key", b"", p.cipher.key_len());
        let iv = kdf::expand_label(p.hash, secret, b"tls13 ", b"iv", b"", 12);
        (!key.is_empty() && !iv.is_empty()).then(|| RecordKeys {
            kind: p.cipher,
            key,
            iv,
            mac_key: Vec::new(),
            etm: false,
        })
    }

    fn setup13_handshake(&mut self, d: usize, keys: &Keys) {
        let Some(p) = self.suite() else {
            let s = self.suite.unwrap_or_default();
            self.not_decrypted(format!(
                "cipher suite {} is not supported for decryption",
                suite_name(s).map_or(format!("0x{s:04x}"), str::to_string)
            ));
            return;
        };
        let _ = p;
        let secret = self.secrets(keys).and_then(|s| {
            if d == 0 {
                s.client_handshake.clone()
            } else {
                s.server_handshake.clone()
            }
        });
        let rk = secret.as_deref().and_then(|s| self.keys13(s));
        let found = self.secrets(keys).map(|s| s.source);
        if let Some(src) = found {
            self.key_source = Some((src, KeyOrigin::KeyLog));
        } else if !keys.is_empty()
            && let Some(cr) = self.client_random
        {
            self.not_decrypted(format!("no key for session (client random {})", hex(&cr)));
        }
        if let Some(dir) = self.dirs.get_mut(d) {
            dir.protected = true;
            dir.seq = 0;
            dir.stage = 1;
            dir.secret = secret.unwrap_or_default();
            dir.keys = rk;
        }
    }

    fn app_keys13(&self, d: usize, keys: &Keys) -> Option<(RecordKeys, Vec<u8>)> {
        let s = self.secrets(keys)?;
        let secret = if d == 0 {
            s.client_traffic0.clone()?
        } else {
            s.server_traffic0.clone()?
        };
        Some((self.keys13(&secret)?, secret))
    }

    /// TLS 1.3 KeyUpdate from direction `d`: its next records use the next-generation secret.
    fn key_update(&mut self, d: usize) {
        let Some(p) = self.suite() else {
            return;
        };
        let Some(cur) = self.dirs.get(d).map(|x| x.secret.clone()) else {
            return;
        };
        if cur.is_empty() {
            return;
        }
        let next = kdf::expand_label(
            p.hash,
            &cur,
            b"tls13 ",
            b"traffic upd",
            b"",
            p.hash.output_len(),
        );
        let rk = self.keys13(&next);
        if let Some(dir) = self.dirs.get_mut(d) {
            dir.secret = next;
            dir.keys = rk;
            dir.seq = 0;
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}
