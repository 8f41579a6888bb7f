//! Test-only helpers shared by the modules' unit tests.

/// Tiny deterministic PRNG (xorshift64) for no-panic sweeps: no dependency, same sequence on every run.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The shared real-world captures: `$EARSHOT_CAPTURES`, else `../shared/captures` beside the checkout.
pub(crate) fn captures_dir() -> std::path::PathBuf {
    std::env::var_os("EARSHOT_CAPTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures")
        })
}

/// Bytes from a hex string (whitespace ignored), for packets copied from TShark's hex dumps.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// A UDP [`MessageRecord`](crate::model::MessageRecord) of `message` from `src` to `dst` ("ip:port"): index 0, frame
/// 1, time 0, size 0, no retransmission. Tests set the fields they care about with `..sip_record(...)`.
pub(crate) fn sip_record(
    src: &str,
    dst: &str,
    message: crate::model::SipMessage,
) -> crate::model::MessageRecord {
    crate::model::MessageRecord {
        index: 0,
        frame: 1,
        frames: vec![1],
        ts_nanos: 0,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        transport: crate::model::Transport::Udp,
        encapsulation: Default::default(),
        retransmission: false,
        retransmission_of: None,
        message,
        size: 0,
    }
}
