//! MSB-first bit reading and writing for payload formats whose fields are not byte-aligned (AMR, Speex).

/// Reads fields MSB first; every read past the end is `None`.
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    pub(super) fn bit(&mut self) -> Option<u8> {
        let byte = self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(b)
    }

    /// `n` (≤ 32) bits as an unsigned value.
    pub(super) fn field(&mut self, n: usize) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | u32::from(self.bit()?)))
    }

    /// The next `n` bits without consuming them.
    pub(super) fn peek(&self, n: usize) -> Option<u32> {
        BitReader {
            data: self.data,
            pos: self.pos,
        }
        .field(n)
    }

    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        if end > self.data.len().saturating_mul(8) {
            return None;
        }
        self.pos = end;
        Some(())
    }

    pub(super) fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }

    pub(super) fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.data.len().saturating_mul(8).saturating_sub(self.pos)
    }
}

/// Writes bits MSB first into bytes (the last byte zero-padded).
#[derive(Debug, Default)]
pub(super) struct BitWriter {
    pub(super) bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub(super) fn bit(&mut self, b: u8) {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if let Some(last) = self.bytes.last_mut() {
            *last |= (b & 1) << (7 - self.bits % 8);
        }
        self.bits += 1;
    }

    /// Copies bits `from..to` of `data` (positions as [`BitReader::position`]).
    pub(super) fn copy(&mut self, data: &[u8], from: usize, to: usize) -> Option<()> {
        let mut r = BitReader::new(data);
        r.skip(from)?;
        for _ in from..to {
            self.bit(r.bit()?);
        }
        Some(())
    }

    pub(super) fn is_aligned(&self) -> bool {
        self.bits.is_multiple_of(8)
    }
}
