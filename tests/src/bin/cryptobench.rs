//! `cryptobench`: how fast core opens protected records, one thread: TLS records of 16 KiB (AES-128-GCM as TLS 1.2
//! and ChaCha20-Poly1305 as TLS 1.3, sealed here with RustCrypto's `aes-gcm` / `chacha20poly1305`) through
//! `earshot_core::tls::record::open`, and SRTP packets of 160-byte G.711 payloads (AES_CM_128_HMAC_SHA1_80, protected
//! by the test crate's independent `SrtpSender`) through `SrtpContext::unprotect_rtp`. Prints MB/s of payload per
//! core; `scripts/bench.sh` runs it. Every open is checked (a benchmark of failures would measure nothing).

use std::time::Instant;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use earshot_core::media::srtp::{SrtpContext, SrtpKey, SrtpSuite};
use earshot_core::tls::record::{self, CipherKind, Framing, RecordKeys};

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn tls(kind: CipherKind, framing: Framing, name: &str) {
    let key = vec![7u8; kind.key_len()];
    let iv: Vec<u8> = if framing == Framing::V13 || kind == CipherKind::ChaCha20Poly1305 {
        vec![9u8; 12]
    } else {
        vec![9u8; 4]
    };
    let plain = vec![0x41u8; 16 * 1024];
    let n = 4096usize;
    let mut records = Vec::with_capacity(n);
    for seq in 0..n as u64 {
        let (header, frag) = match framing {
            Framing::V12 => {
                // TLS 1.2 AES-GCM: explicit nonce = seq; AAD = seq type version length.
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(&iv);
                nonce[4..].copy_from_slice(&seq.to_be_bytes());
                let mut aad = seq.to_be_bytes().to_vec();
                aad.extend_from_slice(&[23, 3, 3]);
                aad.extend_from_slice(&(plain.len() as u16).to_be_bytes());
                let ct = aes_gcm::Aes128Gcm::new_from_slice(&key)
                    .expect("key")
                    .encrypt(
                        (&nonce).into(),
                        Payload {
                            msg: &plain,
                            aad: &aad,
                        },
                    )
                    .expect("seal");
                let mut frag = seq.to_be_bytes().to_vec();
                frag.extend_from_slice(&ct);
                let mut h = vec![23, 3, 3];
                h.extend_from_slice(&(frag.len() as u16).to_be_bytes());
                (h, frag)
            }
            Framing::V13 => {
                let mut nonce = [0u8; 12];
                nonce.copy_from_slice(&iv);
                for (b, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                    *b ^= s;
                }
                let mut inner = plain.clone();
                inner.push(23);
                let len = inner.len() + 16;
                let mut h = vec![23, 3, 3];
                h.extend_from_slice(&(len as u16).to_be_bytes());
                let ct = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key)
                    .expect("key")
                    .encrypt(
                        (&nonce).into(),
                        Payload {
                            msg: &inner,
                            aad: &h,
                        },
                    )
                    .expect("seal");
                (h, ct)
            }
        };
        records.push((header, frag));
    }
    let keys = RecordKeys {
        kind,
        key,
        iv,
        mac_key: Vec::new(),
        etm: false,
    };
    let start = Instant::now();
    let mut bytes = 0usize;
    for (seq, (h, f)) in records.iter().enumerate() {
        let (_, p) = record::open(&keys, framing, seq as u64, h, 23, 0x0303, f).expect("opens");
        bytes += p.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<40} {:>8.0} MB/s  ({} records of 16 KiB)",
        mbps(bytes, secs),
        n
    );
}

fn srtp() {
    let mut key_salt = [0u8; 30];
    for (i, b) in key_salt.iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut sender = earshot_e2e::srtp::SrtpSender::new(&key_salt, 10);
    let n = 200_000usize;
    let mut packets = Vec::with_capacity(n);
    for i in 0..n {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
        p[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        p[4..8].copy_from_slice(&((i as u32) * 160).to_be_bytes());
        p.extend(std::iter::repeat_n(0xd5u8, 160));
        sender.protect(&mut p);
        packets.push(p);
    }
    let key = SrtpKey::new(
        SrtpSuite::AesCm128HmacSha1_80,
        key_salt[..16].to_vec(),
        key_salt[16..].to_vec(),
    )
    .expect("key");
    let mut ctx = SrtpContext::new(&key);
    let start = Instant::now();
    let mut bytes = 0usize;
    for p in &packets {
        bytes += ctx.unprotect_rtp(p).expect("verifies").len() - 12;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:<40} {:>8.0} MB/s  ({n} packets of 160 bytes)",
        "SRTP AES_CM_128_HMAC_SHA1_80",
        mbps(bytes, secs)
    );
}

fn main() {
    println!("decryption speed, one thread (payload bytes per second)");
    tls(
        CipherKind::AesGcm { key_len: 16 },
        Framing::V12,
        "TLS 1.2 AES-128-GCM",
    );
    tls(
        CipherKind::ChaCha20Poly1305,
        Framing::V13,
        "TLS 1.3 ChaCha20-Poly1305",
    );
    srtp();
    md5();
    stir_shaken();
}

/// STIR/SHAKEN verification (`identity::attach`) of the sample's 17 signed calls on one thread: tokens decoded,
/// certificates chained (once per URL per analysis, as in a real run), ES256 signatures checked.
fn stir_shaken() {
    let dir = earshot_e2e::samples_dir().join("stir-shaken");
    let store = earshot_core::identity::CertStore::load(
        Some(&dir.join("certs")),
        Some(&dir.join("sti-pa-roots.pem")),
    )
    .expect("the sample's certificates");
    let base = earshot_core::analyze_file(
        &dir.join("stir-shaken.pcap"),
        &earshot_core::AnalyzeOptions::default(),
        &mut |_| {},
    )
    .expect("the sample");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let rounds = 200;
    let mut calls = 0usize;
    let start = Instant::now();
    pool.install(|| {
        for _ in 0..rounds {
            let mut a = base.clone();
            earshot_core::identity::attach(&mut a, Some(&store));
            calls += a.calls.iter().filter(|c| c.identity.is_some()).count();
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "STIR/SHAKEN     {:.0} signed calls verified per second per core (the sample's 17 calls x {rounds}, chains \
         built per analysis)",
        calls as f64 / secs
    );
}

/// MD5 compressions per second on one thread: RustCrypto's `md-5` one block at a time (what the digest cracker
/// used) and core's sixteen-lane `md5x` (what it uses), each checked against the other.
fn md5() {
    use earshot_core::md5x::{self, LANES, State};
    use md5::{Digest, Md5};
    let msg = b"alice:example.org:123456";
    let n = 4_000_000usize;
    let start = Instant::now();
    let mut acc = 0u8;
    for i in 0..n {
        let mut h = Md5::new();
        h.update(msg);
        h.update((i as u32).to_le_bytes());
        acc ^= h.finalize()[0];
    }
    let scalar = n as f64 / start.elapsed().as_secs_f64();
    let blocks = md5x::padded(msg, msg.len() as u64);
    let block = md5x::splat_block(&blocks[0]);
    let rounds = n / LANES;
    let start = Instant::now();
    let mut s = State::splat(md5x::IV);
    for _ in 0..rounds {
        s = State::splat(md5x::IV);
        s.compress(&block);
        acc ^= s.0[0][0] as u8;
    }
    let lanes = (rounds * LANES) as f64 / start.elapsed().as_secs_f64();
    let want: [u8; 16] = Md5::digest(msg).into();
    assert_eq!(s.digest(LANES - 1), Some(want), "md5x disagrees with md-5");
    println!(
        "MD5 blocks      md-5 {:.1} M/s   md5x (16 lanes) {:.1} M/s   ({acc})",
        scalar / 1e6,
        lanes / 1e6
    );
    // The weak-password rule's own search (HA1 and the response, batches of sixteen, the first match kept), on
    // this thread only: candidates × digests per second per core.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    for digests in [1, 2] {
        let start = Instant::now();
        let tried = pool.install(|| earshot_core::findings::rules::crack_benchmark(digests));
        let secs = start.elapsed().as_secs_f64();
        println!(
            "digest cracking {digests} digest(s) x 1.11 M PINs: {:.1} M candidates x digests per second per core",
            tried as f64 / secs / 1e6
        );
    }
}
