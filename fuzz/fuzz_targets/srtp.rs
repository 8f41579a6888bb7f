//! SRTP/SRTCP unprotect (RFC 3711/6188) with fixed keys for every suite: packets as they come (the HMAC check must
//! reject them without panicking), and packets protected first by the tests' independent sender
//! (tests/src/srtp.rs) so that decryption, rollover-counter estimation and the replay state run past the check.
//!
//! Input: byte 0 picks the suite and the mode, then packets as `len (2 bytes) ‖ bytes`.
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../tests/src/srtp.rs"]
mod sender;

use earshot_core::media::srtp::{self, SrtpContext, SrtpKey, SrtpSuite};
use libfuzzer_sys::fuzz_target;

const SUITES: [SrtpSuite; 6] = [
    SrtpSuite::AesCm128HmacSha1_80,
    SrtpSuite::AesCm128HmacSha1_32,
    SrtpSuite::Aes192CmHmacSha1_80,
    SrtpSuite::Aes192CmHmacSha1_32,
    SrtpSuite::Aes256CmHmacSha1_80,
    SrtpSuite::Aes256CmHmacSha1_32,
];

fn key_salt() -> [u8; 30] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let ks = key_salt();
    let protect = sel & 0x80 != 0;
    let suite = if protect {
        // The sender implements the AES-128 suites.
        SUITES[usize::from(sel & 1)]
    } else {
        SUITES[usize::from(sel & 0x7) % SUITES.len()]
    };
    let key_len = suite.master_key_len();
    let master_key: Vec<u8> = (0..key_len).map(|i| ks[i % 16]).collect();
    let Ok(key) = SrtpKey::new(suite, master_key, ks[16..].to_vec()) else {
        return;
    };
    let mut ctx = SrtpContext::new(&key);
    let mut tx = sender::SrtpSender::new(&ks, suite.auth_tag_len());
    let rtcp = sel & 0x40 != 0;
    while !rest.is_empty() {
        let (len, body) = match rest {
            [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
            _ => (rest.len(), rest),
        };
        let (packet, tail) = body.split_at(len.min(body.len()));
        rest = tail;
        if protect && !rtcp && packet.len() >= 12 {
            let mut p = packet.to_vec();
            p[0] = 0x80 | (p[0] & 0x3f);
            tx.protect(&mut p);
            let out = ctx.unprotect_rtp(&p);
            if let Ok(plain) = &out {
                assert_eq!(plain.len() + suite.auth_tag_len(), p.len());
            }
            std::hint::black_box(out.ok());
        } else if rtcp {
            let _ = std::hint::black_box(ctx.unprotect_rtcp(packet));
        } else {
            let _ = std::hint::black_box(ctx.unprotect_rtp(packet));
        }
        std::hint::black_box(srtp::find_key_for_rtp(std::slice::from_ref(&key), packet));
        std::hint::black_box(srtp::find_key_for_rtcp(std::slice::from_ref(&key), packet));
    }
    std::hint::black_box(ctx.stats());
    // SDES key parameters: any text.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = std::hint::black_box(SrtpKey::from_sdes("AES_CM_128_HMAC_SHA1_80", text));
        let _ = std::hint::black_box(SrtpKey::from_user("AES_256_CM_HMAC_SHA1_32", text));
    }
});
