//! MD5 of sixteen messages at once, for the digest cracker (`findings::rules::weak_password`).
//!
//! The state and the message words are kept word-major (`[[u32; 16]; 4]`: word, then lane), so every step of the
//! 64 is the same operation on sixteen lanes, which the compiler turns into SIMD instructions: 512-bit on a CPU with
//! AVX-512, 256-bit with AVX2, and SSE2 (x86-64's baseline) or plain code elsewhere. The code is the same safe Rust
//! in every case; the only `unsafe` in the crate is here, and it only calls that code compiled for a CPU feature
//! after the CPU has said it has it (`is_x86_feature_detected!`). It was allowed deliberately (the crate denies
//! `unsafe_code`): without it a single binary cannot use the CPU it runs on. Checked against RustCrypto's `md-5`
//! on random messages of every length that fits the blocks (tests below).

/// Messages hashed at once.
pub const LANES: usize = 16;

/// One 32-bit word of every lane.
pub type Word = [u32; LANES];

/// One 64-byte block of every lane, as sixteen little-endian words.
pub type Block = [Word; 16];

/// MD5's initial state.
pub const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The state of sixteen MD5 computations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State(pub [Word; 4]);

impl State {
    /// Every lane in the same state (MD5's initial one, or a shared prefix's).
    pub fn splat(s: [u32; 4]) -> State {
        State(s.map(|w| [w; LANES]))
    }

    /// Lane `l`'s state as the 16-byte digest it is once the message is done.
    pub fn digest(&self, l: usize) -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        for (chunk, w) in out.chunks_exact_mut(4).zip(&self.0) {
            chunk.copy_from_slice(&w.get(l)?.to_le_bytes());
        }
        Some(out)
    }

    /// Runs the compression function over one block of every lane.
    pub fn compress(&mut self, block: &Block) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above), all `compress_avx512` needs.
                #[allow(unsafe_code)]
                unsafe {
                    compress_avx512(self, block)
                };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above), all `compress_avx2` needs.
                #[allow(unsafe_code)]
                unsafe {
                    compress_avx2(self, block)
                };
                return;
            }
        }
        compress_lanes(self, block);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn compress_avx512(s: &mut State, m: &Block) {
    compress_lanes(s, m);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn compress_avx2(s: &mut State, m: &Block) {
    compress_lanes(s, m);
}

#[inline(always)]
fn add(a: Word, b: Word) -> Word {
    let mut r = a;
    for (r, b) in r.iter_mut().zip(b) {
        *r = r.wrapping_add(b);
    }
    r
}

/// One step: `a = b + rotl(a + f(b, c, d) + m + k, s)`, for the round's `f`.
#[inline(always)]
fn step<F: Fn(u32, u32, u32) -> u32>(
    a: &mut Word,
    b: &Word,
    c: &Word,
    d: &Word,
    m: &Word,
    (k, s): (u32, u32),
    f: F,
) {
    for ((((a, b), c), d), m) in a.iter_mut().zip(b).zip(c).zip(d).zip(m) {
        *a = b.wrapping_add(
            a.wrapping_add(f(*b, *c, *d))
                .wrapping_add(*m)
                .wrapping_add(k)
                .rotate_left(s),
        );
    }
}

#[inline(always)]
fn ff(b: u32, c: u32, d: u32) -> u32 {
    d ^ (b & (c ^ d))
}
#[inline(always)]
fn gg(b: u32, c: u32, d: u32) -> u32 {
    c ^ (d & (b ^ c))
}
#[inline(always)]
fn hh(b: u32, c: u32, d: u32) -> u32 {
    b ^ c ^ d
}
#[inline(always)]
fn ii(b: u32, c: u32, d: u32) -> u32 {
    c ^ (b | !d)
}

/// RFC 1321's 64 steps: (message word, constant, rotation) per step, four rounds of sixteen.
const STEPS: [(usize, u32, u32); 64] = [
    (0, 0xd76a_a478, 7),
    (1, 0xe8c7_b756, 12),
    (2, 0x2420_70db, 17),
    (3, 0xc1bd_ceee, 22),
    (4, 0xf57c_0faf, 7),
    (5, 0x4787_c62a, 12),
    (6, 0xa830_4613, 17),
    (7, 0xfd46_9501, 22),
    (8, 0x6980_98d8, 7),
    (9, 0x8b44_f7af, 12),
    (10, 0xffff_5bb1, 17),
    (11, 0x895c_d7be, 22),
    (12, 0x6b90_1122, 7),
    (13, 0xfd98_7193, 12),
    (14, 0xa679_438e, 17),
    (15, 0x49b4_0821, 22),
    (1, 0xf61e_2562, 5),
    (6, 0xc040_b340, 9),
    (11, 0x265e_5a51, 14),
    (0, 0xe9b6_c7aa, 20),
    (5, 0xd62f_105d, 5),
    (10, 0x0244_1453, 9),
    (15, 0xd8a1_e681, 14),
    (4, 0xe7d3_fbc8, 20),
    (9, 0x21e1_cde6, 5),
    (14, 0xc337_07d6, 9),
    (3, 0xf4d5_0d87, 14),
    (8, 0x455a_14ed, 20),
    (13, 0xa9e3_e905, 5),
    (2, 0xfcef_a3f8, 9),
    (7, 0x676f_02d9, 14),
    (12, 0x8d2a_4c8a, 20),
    (5, 0xfffa_3942, 4),
    (8, 0x8771_f681, 11),
    (11, 0x6d9d_6122, 16),
    (14, 0xfde5_380c, 23),
    (1, 0xa4be_ea44, 4),
    (4, 0x4bde_cfa9, 11),
    (7, 0xf6bb_4b60, 16),
    (10, 0xbebf_bc70, 23),
    (13, 0x289b_7ec6, 4),
    (0, 0xeaa1_27fa, 11),
    (3, 0xd4ef_3085, 16),
    (6, 0x0488_1d05, 23),
    (9, 0xd9d4_d039, 4),
    (12, 0xe6db_99e5, 11),
    (15, 0x1fa2_7cf8, 16),
    (2, 0xc4ac_5665, 23),
    (0, 0xf429_2244, 6),
    (7, 0x432a_ff97, 10),
    (14, 0xab94_23a7, 15),
    (5, 0xfc93_a039, 21),
    (12, 0x655b_59c3, 6),
    (3, 0x8f0c_cc92, 10),
    (10, 0xffef_f47d, 15),
    (1, 0x8584_5dd1, 21),
    (8, 0x6fa8_7e4f, 6),
    (15, 0xfe2c_e6e0, 10),
    (6, 0xa301_4314, 15),
    (13, 0x4e08_11a1, 21),
    (4, 0xf753_7e82, 6),
    (11, 0xbd3a_f235, 10),
    (2, 0x2ad7_d2bb, 15),
    (9, 0xeb86_d391, 21),
];

/// Sixteen steps of one round (`f` is the round's function), four at a time as the roles of a, b, c, d rotate.
#[inline(always)]
fn round<F: Fn(u32, u32, u32) -> u32 + Copy>(
    v: &mut [Word; 4],
    m: &Block,
    steps: &[(usize, u32, u32)],
    f: F,
) {
    let [a, b, c, d] = v;
    let word = |j: usize| m.get(j).copied().unwrap_or([0; LANES]);
    for chunk in steps.chunks_exact(4) {
        if let [(j0, k0, s0), (j1, k1, s1), (j2, k2, s2), (j3, k3, s3)] = *chunk {
            step(a, b, c, d, &word(j0), (k0, s0), f);
            step(d, a, b, c, &word(j1), (k1, s1), f);
            step(c, d, a, b, &word(j2), (k2, s2), f);
            step(b, c, d, a, &word(j3), (k3, s3), f);
        }
    }
}

#[inline(always)]
fn compress_lanes(state: &mut State, m: &Block) {
    let mut v = state.0;
    let (r1, rest) = STEPS.split_at(16);
    let (r2, rest) = rest.split_at(16);
    let (r3, r4) = rest.split_at(16);
    round(&mut v, m, r1, ff);
    round(&mut v, m, r2, gg);
    round(&mut v, m, r3, hh);
    round(&mut v, m, r4, ii);
    for (s, v) in state.0.iter_mut().zip(v) {
        *s = add(*s, v);
    }
}

/// Every lane's digest as 32 lowercase hex characters, in eight little-endian words (word-major, as a block's
/// first eight words): the form digest authentication feeds HA1 and HA2 into the next MD5.
pub fn hex_words(s: &State) -> [Word; 8] {
    // A nibble's ASCII hex digit: '0'-'9', then 'a'-'f' ((x + 6) >> 4 is 1 from 10 on).
    #[inline(always)]
    fn c(x: u32) -> u32 {
        x + 48 + 39 * ((x + 6) >> 4)
    }
    let mut out = [[0u32; LANES]; 8];
    for (pair, w) in out.chunks_exact_mut(2).zip(&s.0) {
        if let [lo, hi] = pair {
            for ((lo, hi), &w) in lo.iter_mut().zip(hi.iter_mut()).zip(w) {
                let n = |shift: u32| c((w >> shift) & 0xf);
                *lo = n(4) | n(0) << 8 | n(12) << 16 | n(8) << 24;
                *hi = n(20) | n(16) << 8 | n(28) << 16 | n(24) << 24;
            }
        }
    }
    out
}

/// The 64-byte blocks of `message` padded as MD5 pads it, for a message that is the tail of a longer one of
/// `total_len` bytes (the whole message when they are equal).
pub fn padded(message: &[u8], total_len: u64) -> Vec<[u8; 64]> {
    let mut bytes = message.to_vec();
    bytes.push(0x80);
    while bytes.len() % 64 != 56 {
        bytes.push(0);
    }
    bytes.extend_from_slice(&total_len.wrapping_mul(8).to_le_bytes());
    bytes
        .chunks_exact(64)
        .map(|c| {
            let mut b = [0u8; 64];
            b.copy_from_slice(c);
            b
        })
        .collect()
}

/// The one padded block of a message tail of at most 55 bytes (`None` when longer), without allocating: the hot
/// path of the cracker, once per candidate.
pub fn padded_one(message: &[u8], total_len: u64) -> Option<[u8; 64]> {
    let mut b = [0u8; 64];
    let (head, tail) = b.split_at_mut(56);
    head.get_mut(..message.len())?.copy_from_slice(message);
    *head.get_mut(message.len())? = 0x80;
    tail.copy_from_slice(&total_len.wrapping_mul(8).to_le_bytes());
    Some(b)
}

/// A block's sixteen little-endian words.
pub fn words(block: &[u8; 64]) -> [u32; 16] {
    le_words(block)
}

/// `bytes` as little-endian 32-bit words, MD5's order (missing bytes are zero, extra ones ignored): a block's
/// words, a digest's four, a hex digest's eight.
pub fn le_words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    let mut w = [0u32; N];
    for (w, c) in w.iter_mut().zip(bytes.chunks(4)) {
        let mut b = [0u8; 4];
        if let Some(dst) = b.get_mut(..c.len()) {
            dst.copy_from_slice(c);
        }
        *w = u32::from_le_bytes(b);
    }
    w
}

/// The same block in every lane.
pub fn splat_block(block: &[u8; 64]) -> Block {
    words(block).map(|w| [w; LANES])
}

/// Sets lane `l` of `block` to `words`.
pub fn set_lane(block: &mut Block, l: usize, words: &[u32; 16]) {
    for (lanes, w) in block.iter_mut().zip(words) {
        if let Some(slot) = lanes.get_mut(l) {
            *slot = *w;
        }
    }
}

/// The state after the full 64-byte blocks at the start of `prefix`, and the bytes left over.
pub fn midstate(prefix: &[u8]) -> ([u32; 4], &[u8]) {
    let full = prefix.len() / 64 * 64;
    let (head, rest) = prefix.split_at(full);
    let mut s = State::splat(IV);
    for c in head.chunks_exact(64) {
        let mut b = [0u8; 64];
        b.copy_from_slice(c);
        s.compress(&splat_block(&b));
    }
    (s.0.map(|w| w[0]), rest)
}

#[cfg(test)]
mod tests {
    use md5::{Digest, Md5};

    use super::*;

    /// A deterministic byte stream (xorshift), so that failures reproduce.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Sixteen different messages of each length from 0 to 200 bytes (one to four blocks) give RustCrypto's
    /// digests, on whichever instruction set the CPU offers.
    #[test]
    fn sixteen_lanes_match_rustcrypto_md5_at_every_length() {
        for len in 0..=200usize {
            let msgs: Vec<Vec<u8>> = (0..LANES)
                .map(|l| bytes((len * 31 + l) as u64 + 1, len))
                .collect();
            let blocks: Vec<Vec<[u8; 64]>> =
                msgs.iter().map(|m| padded(m, m.len() as u64)).collect();
            let mut s = State::splat(IV);
            for b in 0..blocks[0].len() {
                let mut block = [[0u32; LANES]; 16];
                for (l, lane) in blocks.iter().enumerate() {
                    set_lane(&mut block, l, &words(&lane[b]));
                }
                s.compress(&block);
            }
            for (l, m) in msgs.iter().enumerate() {
                let want: [u8; 16] = Md5::digest(m).into();
                assert_eq!(s.digest(l), Some(want), "length {len}, lane {l}");
            }
        }
    }

    #[test]
    fn hex_words_spell_each_lanes_digest_in_lowercase_hex() {
        let mut s = State::splat(IV);
        let mut block = [[0u32; LANES]; 16];
        let msgs: Vec<Vec<u8>> = (0..LANES).map(|l| bytes(l as u64 + 11, 20)).collect();
        for (l, m) in msgs.iter().enumerate() {
            set_lane(&mut block, l, &words(&padded(m, 20)[0]));
        }
        s.compress(&block);
        let hex = hex_words(&s);
        for (l, m) in msgs.iter().enumerate() {
            let want: String = Md5::digest(m).iter().map(|b| format!("{b:02x}")).collect();
            let got: Vec<u8> = hex.iter().flat_map(|w| w[l].to_le_bytes()).collect();
            assert_eq!(String::from_utf8(got).unwrap(), want, "lane {l}");
        }
    }

    #[test]
    fn one_block_padding_is_the_general_padding() {
        for len in 0..=55 {
            let m = bytes(len as u64 + 3, len);
            assert_eq!(
                padded_one(&m, len as u64 + 64),
                padded(&m, len as u64 + 64).first().copied()
            );
        }
        assert_eq!(padded_one(&[0u8; 56], 56), None);
    }

    /// The portable code (what a CPU without AVX runs) gives the same digests as the dispatched one.
    #[test]
    fn portable_lanes_match_the_dispatched_ones() {
        let msg = bytes(7, 55);
        let block = splat_block(&padded(&msg, 55)[0]);
        let (mut a, mut b) = (State::splat(IV), State::splat(IV));
        a.compress(&block);
        compress_lanes(&mut b, &block);
        assert_eq!(a, b);
        assert_eq!(a.digest(3), Some(Md5::digest(&msg).into()));
    }

    /// A message split after a shared prefix of whole blocks: the midstate continues it as MD5 does.
    #[test]
    fn midstate_continues_a_long_prefix() {
        let msg = bytes(9, 150);
        let (mid, rest) = midstate(&msg);
        assert_eq!(rest.len(), 150 - 128);
        let mut s = State::splat(mid);
        for b in padded(rest, 150) {
            s.compress(&splat_block(&b));
        }
        assert_eq!(s.digest(0), Some(Md5::digest(&msg).into()));
    }
}
