//! SRTP *protection* (RFC 3711, AES_CM_128_HMAC_SHA1_80/32) for generated captures — written here from the RFC,
//! independently of `earshot_core::media::srtp` (which only unprotects), so a generated capture checks Earshot's
//! decryption against a second implementation. Key derivation rate 0.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher, generic_array::GenericArray};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type Ctr = ctr::Ctr128BE<Aes128>;

/// Session keys derived from a master key and salt (RFC 3711 §4.3, labels 0/1/2 for SRTP).
pub struct SrtpSender {
    enc_key: [u8; 16],
    salt: [u8; 14],
    auth_key: [u8; 20],
    tag_len: usize,
    roc: u32,
    last_seq: Option<u16>,
}

fn prf(master_key: &[u8; 16], master_salt: &[u8; 14], label: u8, out: &mut [u8]) {
    // x = label || index(0) placed at byte 7 of the 14-byte key_id, XORed into the salt; IV = x * 2^16.
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(master_salt);
    iv[7] ^= label;
    let cipher = Aes128::new(GenericArray::from_slice(master_key));
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = iv;
        block[14..].copy_from_slice(&(i as u16).to_be_bytes());
        let mut b = GenericArray::clone_from_slice(&block);
        cipher.encrypt_block(&mut b);
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

impl SrtpSender {
    /// `key_salt` is the 30-byte SDES inline key (16-byte master key then 14-byte salt); `tag_len` 10 or 4.
    pub fn new(key_salt: &[u8; 30], tag_len: usize) -> Self {
        let mut mk = [0u8; 16];
        mk.copy_from_slice(&key_salt[..16]);
        let mut ms = [0u8; 14];
        ms.copy_from_slice(&key_salt[16..]);
        let mut enc_key = [0u8; 16];
        let mut auth_key = [0u8; 20];
        let mut salt = [0u8; 14];
        prf(&mk, &ms, 0, &mut enc_key);
        prf(&mk, &ms, 1, &mut auth_key);
        prf(&mk, &ms, 2, &mut salt);
        SrtpSender {
            enc_key,
            salt,
            auth_key,
            tag_len,
            roc: 0,
            last_seq: None,
        }
    }

    /// Encrypts the payload of a plain RTP packet (12-byte header, no CSRC/extension) in place and appends the tag.
    pub fn protect(&mut self, packet: &mut Vec<u8>) {
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        if let Some(last) = self.last_seq
            && seq < last
            && last - seq > 0x8000
        {
            self.roc = self.roc.wrapping_add(1);
        }
        self.last_seq = Some(seq);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let index = (u64::from(self.roc) << 16) | u64::from(seq);
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
            iv[4 + i] ^= b;
        }
        for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
            iv[8 + i] ^= b;
        }
        let mut c = Ctr::new(
            GenericArray::from_slice(&self.enc_key),
            GenericArray::from_slice(&iv),
        );
        c.apply_keystream(&mut packet[12..]);
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&self.auth_key).expect("any key length");
        mac.update(packet);
        mac.update(&self.roc.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        packet.extend_from_slice(&tag[..self.tag_len]);
    }
}
