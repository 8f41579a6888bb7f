//! ITU-T G.726 ADPCM at 16, 24, 32 and 40 kbit/s, written here from the Recommendation's computational details
//! (§4, the fixed-point blocks FLOATA/B, FMULT, ADDA, ANTILOG, FUNCTW, FILTA-E, UPA1/2, UPB, TONE, TRANS, SUBTA-C).
//!
//! Not libavcodec's: FFmpeg's `g726`/`g726le` decoder leaks the six zero-predictor coefficients by 2⁻⁸ at every
//! rate, but G.726 leaks them by 2⁻⁹ at 40 kbit/s (UPB), so a conformant G.726-40 stream comes out 2–5 dB too quiet
//! and distorted (correlation 0.90–0.98 with a conformant decoder; FFmpeg's encoder has the same fault, so FFmpeg
//! agrees with itself). This decoder is sample for sample identical to SoX's G.721/G.723 decoders (Sun's reference
//! code; 24, 32 and 40 kbit/s) and to spandsp's G.726 (all four rates, both packings), except in overload: where
//! the reconstructed signal exceeds 16 bits this decoder saturates, where they wrap round.
//!
//! RTP payloads (RFC 3551 §4.5.4, `G726-16/24/32/40`, and the static `G721`) pack code words from the least
//! significant bit of each octet; `AAL2-G726-*` (ITU-T I.366.2) packs them from the most significant bit. Code
//! words never continue into the next payload: bits left over at the end of a payload (fewer than one code word)
//! are ignored. One code word is one 8 kHz sample; output is the 14-bit reconstructed signal scaled to 16 bits. The
//! codec has no loss concealment: a lost packet is silence, and the state carries on.

use super::{DecodeError, Decoder, decode_error};

/// How code words sit in the payload octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Packing {
    /// RFC 3551: the first code word in the least significant bits of the first octet.
    LeastSignificantFirst,
    /// AAL2 (I.366.2): the first code word in the most significant bits of the first octet.
    MostSignificantFirst,
}

/// The per-rate tables, indexed by the code word's magnitude part (the sign is its most significant bit; the tables
/// are symmetric, a negative code word `i` reads entry `2^bits - 1 - i`).
struct Tables {
    /// Log of the quantised difference (DQLN, Q7), -2048 for the zero level.
    dqln: &'static [i32],
    /// Scale factor multiplier W(I) × 32 (FUNCTW).
    wi: &'static [i32],
    /// F(I) × 512 (FUNCTF).
    fi: &'static [i32],
}

const TABLES_16: Tables = Tables {
    dqln: &[116, 365],
    wi: &[-704, 14048],
    fi: &[0, 0xE00],
};
const TABLES_24: Tables = Tables {
    dqln: &[-2048, 135, 273, 373],
    wi: &[-128, 960, 4384, 18624],
    fi: &[0, 0x200, 0x400, 0xE00],
};
const TABLES_32: Tables = Tables {
    dqln: &[-2048, 4, 135, 213, 273, 323, 373, 425],
    wi: &[-384, 576, 1312, 2048, 3584, 6336, 11360, 35904],
    fi: &[0, 0, 0, 0x200, 0x200, 0x200, 0x600, 0xE00],
};
const TABLES_40: Tables = Tables {
    dqln: &[
        -2048, -66, 28, 104, 169, 224, 274, 318, 358, 395, 429, 459, 488, 514, 539, 566,
    ],
    wi: &[
        448, 448, 768, 1248, 1280, 1312, 1856, 3200, 4512, 5728, 7008, 8960, 11456, 14080, 16928,
        22272,
    ],
    fi: &[
        0, 0, 0, 0, 0, 0x200, 0x200, 0x200, 0x200, 0x200, 0x400, 0x600, 0x800, 0xA00, 0xC00, 0xC00,
    ],
};

/// G.726's 11-bit floating-point format for the stored difference and reconstructed samples (FLOATA/FLOATB): a
/// sign, a 4-bit exponent and a 6-bit mantissa (32..63, or 32 for zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Float {
    negative: bool,
    exp: i32,
    mant: i32,
}

impl Float {
    const ZERO: Float = Float {
        negative: false,
        exp: 0,
        mant: 32,
    };

    /// `magnitude` (0..0x7FFF) with a sign.
    fn new(negative: bool, magnitude: i32) -> Float {
        if magnitude == 0 {
            return Float {
                negative,
                ..Float::ZERO
            };
        }
        let exp = bit_length(magnitude);
        Float {
            negative,
            exp,
            mant: (magnitude << 6) >> exp,
        }
    }
}

/// Bits needed for `value` (0..0x7FFF): 0 for 0, 15 at most.
fn bit_length(value: i32) -> i32 {
    (32 - value.max(0).leading_zeros() as i32).min(15)
}

/// FMULT: a predictor coefficient (`an`, the coefficient >> 2) times a stored sample in the 11-bit format.
fn fmult(an: i32, sr: Float) -> i32 {
    let anmag = if an > 0 { an } else { (-an) & 0x1FFF };
    let anexp = bit_length(anmag) - 6;
    let anmant = if anmag == 0 {
        32
    } else if anexp >= 0 {
        anmag >> anexp
    } else {
        anmag << -anexp
    };
    let wanexp = anexp + sr.exp - 13;
    let wanmant = (anmant * sr.mant + 0x30) >> 4;
    let product = if wanexp >= 0 {
        (wanmant << wanexp) & 0x7FFF
    } else {
        wanmant >> -wanexp
    };
    if (an < 0) != sr.negative {
        -product
    } else {
        product
    }
}

/// A 16-bit register: G.726's words are 16-bit two's complement, and the reference implementations wrap there.
fn wrap16(v: i32) -> i32 {
    i32::from(v as i16)
}

/// The decoder state (G.726 §4.2, with the Recommendation's reset values).
#[derive(Debug, Clone)]
struct State {
    /// Slow (locked) scale factor, Q6 of `yu`.
    yl: i32,
    /// Fast (unlocked) scale factor.
    yu: i32,
    /// Short- and long-term averages of F(I).
    dms: i32,
    dml: i32,
    /// Speed control.
    ap: i32,
    /// Pole (a1, a2) and zero (b1..b6) predictor coefficients.
    a: [i32; 2],
    b: [i32; 6],
    /// Signs of the last two partial reconstructions (dq + sez) < 0.
    pk: [bool; 2],
    /// The last six quantised differences and two reconstructed samples.
    dq: [Float; 6],
    sr: [Float; 2],
    /// Tone detected (delayed).
    td: bool,
}

impl State {
    fn new() -> State {
        State {
            yl: 34816,
            yu: 544,
            dms: 0,
            dml: 0,
            ap: 0,
            a: [0; 2],
            b: [0; 6],
            pk: [false; 2],
            dq: [Float::ZERO; 6],
            sr: [Float::ZERO; 2],
            td: false,
        }
    }

    /// Quantiser scale factor (MIX of yu and yl by ap).
    fn step_size(&self) -> i32 {
        if self.ap >= 256 {
            return self.yu;
        }
        let y = self.yl >> 6;
        let dif = self.yu - y;
        let al = self.ap >> 2;
        if dif > 0 {
            y + ((dif * al) >> 6)
        } else if dif < 0 {
            y + ((dif * al + 0x3F) >> 6)
        } else {
            y
        }
    }

    /// The signal estimate from both predictors (`se`) and from the zero predictor alone (`sez`).
    fn estimate(&self) -> (i32, i32) {
        let sezi = wrap16(
            self.b
                .iter()
                .zip(&self.dq)
                .map(|(&b, &dq)| fmult(b >> 2, dq))
                .sum(),
        );
        let poles: i32 = self
            .a
            .iter()
            .zip(&self.sr)
            .map(|(&a, &sr)| fmult(a >> 2, sr))
            .sum();
        (wrap16(sezi + poles) >> 1, sezi >> 1)
    }

    /// Decodes one code word (`bits` wide) with `tables`; returns the 16-bit output sample.
    fn decode(&mut self, code: u32, bits: u32, tables: &Tables) -> i16 {
        let mask = (1u32 << bits) - 1;
        let code = code & mask;
        let negative = code >> (bits - 1) != 0;
        let index = if negative { mask - code } else { code } as usize;
        let entry = |t: &[i32]| t.get(index).copied().unwrap_or(0);
        let (dqln, wi, fi) = (entry(tables.dqln), entry(tables.wi), entry(tables.fi));
        let (se, sez) = self.estimate();

        // Inverse adaptive quantiser (ADDA, ANTILOG): the difference's magnitude, 0 below the lowest level.
        let y = self.step_size();
        let dql = dqln + (y >> 2);
        let magnitude = if dql < 0 {
            0
        } else {
            let dex = (dql >> 7) & 15;
            let dqt = 128 + (dql & 127);
            (dqt << 7) >> (14 - dex)
        };
        // ADDB: sign-magnitude difference plus the estimate, in a 16-bit register.
        let sr = wrap16(if negative {
            se - magnitude
        } else {
            se + magnitude
        });
        let dqsez = wrap16(sr - se + sez);
        self.update(bits, y, wi, fi, negative, magnitude, sr, dqsez);
        (sr << 2).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
    }

    /// Adapts the state to the sample just decoded (G.726 §4.2.3-4.2.8).
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        bits: u32,
        y: i32,
        wi: i32,
        fi: i32,
        dq_negative: bool,
        mag: i32,
        sr: i32,
        dqsez: i32,
    ) {
        let pk0 = dqsez < 0;

        // Transition detector (TRANS).
        let ylint = self.yl >> 15;
        let ylfrac = (self.yl >> 10) & 0x1F;
        let thr2 = if ylint > 9 {
            31 << 10
        } else {
            (32 + ylfrac) << ylint
        };
        let dqthr = (thr2 + (thr2 >> 1)) >> 1;
        let tr = self.td && mag > dqthr;

        // Scale factor adaptation (FUNCTW, FILTD, LIMB, FILTE).
        self.yu = (y + ((wi - y) >> 5)).clamp(544, 5120);
        self.yl += self.yu + ((-self.yl) >> 6);

        // Predictor coefficients (UPA2, LIMC, UPA1, LIMD, UPB; TRIGB resets them on a transition).
        let mut a2p = 0;
        if tr {
            self.a = [0; 2];
            self.b = [0; 6];
        } else {
            let pks1 = pk0 != self.pk[0];
            a2p = self.a[1] - (self.a[1] >> 7);
            if dqsez != 0 {
                let fa1 = if pks1 { self.a[0] } else { -self.a[0] };
                if fa1 < -8191 {
                    a2p -= 0x100;
                } else if fa1 > 8191 {
                    a2p += 0xFF;
                } else {
                    a2p += fa1 >> 5;
                }
                if pk0 != self.pk[1] {
                    a2p = if a2p <= -12160 {
                        -12288
                    } else if a2p >= 12416 {
                        12288
                    } else {
                        a2p - 0x80
                    };
                } else {
                    a2p = if a2p <= -12416 {
                        -12288
                    } else if a2p >= 12160 {
                        12288
                    } else {
                        a2p + 0x80
                    };
                }
            }
            self.a[1] = a2p;
            self.a[0] -= self.a[0] >> 8;
            if dqsez != 0 {
                self.a[0] += if pks1 { -192 } else { 192 };
            }
            let a1ul = 15360 - a2p;
            self.a[0] = self.a[0].clamp(-a1ul, a1ul);
            // The zero predictor leaks by 2^-9 at 40 kbit/s, 2^-8 at the other rates.
            let leak = if bits == 5 { 9 } else { 8 };
            for (b, dq) in self.b.iter_mut().zip(&self.dq) {
                let mut v = *b - (*b >> leak);
                if mag != 0 {
                    v += if dq_negative == dq.negative {
                        128
                    } else {
                        -128
                    };
                }
                *b = wrap16(v);
            }
        }

        // Delay lines (FLOATA, FLOATB).
        self.dq.rotate_right(1);
        if let Some(first) = self.dq.first_mut() {
            *first = Float::new(dq_negative, mag);
        }
        self.sr.rotate_right(1);
        if let Some(first) = self.sr.first_mut() {
            *first = if sr > -32768 {
                Float::new(sr < 0, sr.abs())
            } else {
                Float::new(true, 0)
            };
        }
        self.pk = [pk0, self.pk[0]];

        // Tone detector (TONE), then adaptation speed control (FILTA, FILTB, SUBTC, FILTC, TRIGA).
        self.td = !tr && a2p < -11776;
        self.dms += (fi - self.dms) >> 5;
        self.dml += ((fi << 2) - self.dml) >> 7;
        self.ap = if tr {
            256
        } else if y < 1536 || self.td || ((self.dms << 2) - self.dml).abs() >= (self.dml >> 3) {
            self.ap + ((0x200 - self.ap) >> 4)
        } else {
            self.ap + ((-self.ap) >> 4)
        };
    }
}

/// A G.726 decoder for one stream.
pub(super) struct G726 {
    codec: String,
    bits: u32,
    packing: Packing,
    tables: &'static Tables,
    state: State,
}

impl G726 {
    /// `kbps` 16, 24, 32 or 40; `None` otherwise. `codec` is the name shown in errors.
    pub(super) fn new(codec: &str, kbps: u32, packing: Packing) -> Option<G726> {
        let (bits, tables) = match kbps {
            16 => (2, &TABLES_16),
            24 => (3, &TABLES_24),
            32 => (4, &TABLES_32),
            40 => (5, &TABLES_40),
            _ => return None,
        };
        Some(G726 {
            codec: codec.to_string(),
            bits,
            packing,
            tables,
            state: State::new(),
        })
    }
}

impl Decoder for G726 {
    fn sample_rate_hz(&self) -> u32 {
        8000
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(decode_error(&self.codec, payload, "empty payload"));
        }
        let bits = self.bits;
        let before = out.len();
        out.reserve(payload.len() * 8 / bits as usize);
        // A bit accumulator: at most 7 + 8 bits are pending.
        let (mut acc, mut pending) = (0u32, 0u32);
        for &byte in payload {
            match self.packing {
                Packing::LeastSignificantFirst => acc |= u32::from(byte) << pending,
                Packing::MostSignificantFirst => acc = (acc << 8) | u32::from(byte),
            }
            pending += 8;
            while pending >= bits {
                let code = match self.packing {
                    Packing::LeastSignificantFirst => {
                        let c = acc;
                        acc >>= bits;
                        c
                    }
                    Packing::MostSignificantFirst => acc >> (pending - bits),
                };
                pending -= bits;
                out.push(self.state.decode(code, bits, self.tables));
            }
            if self.packing == Packing::MostSignificantFirst {
                acc &= (1 << pending) - 1;
            }
        }
        Ok(out.len() - before)
    }
}

/// Quantiser decision levels (log domain, Q7) per rate, for the tests' encoder (G.726 Tables 1, 3, 5 and 7).
#[cfg(test)]
const QUANT_16: &[i32] = &[261];
#[cfg(test)]
const QUANT_24: &[i32] = &[8, 218, 331];
#[cfg(test)]
const QUANT_32: &[i32] = &[-124, 80, 178, 246, 300, 349, 400];
#[cfg(test)]
const QUANT_40: &[i32] = &[
    -122, -16, 68, 139, 198, 250, 298, 339, 378, 413, 445, 475, 502, 528, 553,
];

/// A G.726 encoder for the tests (the adaptive quantiser of §4.2.1 on the decoder's state): libavcodec's encoder has
/// the same 40 kbit/s fault as its decoder, so it cannot make a conformant G.726-40 stream. `samples` at 8 kHz;
/// the last octet is padded with zero bits.
#[cfg(test)]
pub(super) fn encode(samples: &[i16], kbps: u32, packing: Packing) -> Vec<u8> {
    let (bits, tables, quant) = match kbps {
        16 => (2, &TABLES_16, QUANT_16),
        24 => (3, &TABLES_24, QUANT_24),
        32 => (4, &TABLES_32, QUANT_32),
        40 => (5, &TABLES_40, QUANT_40),
        _ => panic!("G.726 at {kbps} kbit/s"),
    };
    let mask = (1u32 << bits) - 1;
    let mut state = State::new();
    let mut codes = Vec::with_capacity(samples.len());
    for &sample in samples {
        let (se, _) = state.estimate();
        let d = (i32::from(sample) >> 2) - se;
        let y = state.step_size();
        // Log of |d| (LOG), minus the scale factor (SUBTB), against the decision levels (QUAN).
        let dqm = d.abs();
        let exp = bit_length(dqm >> 1);
        let dl = (exp << 7) + (((dqm << 7) >> exp) & 0x7F);
        let dln = dl - (y >> 2);
        let i = quant.iter().take_while(|&&level| dln >= level).count() as u32;
        // Negative differences take the one's complement; at 24-40 kbit/s so does a positive zero (I = 0 is not
        // sent, 1988 version), while 16 kbit/s has no zero level.
        let code = if d < 0 {
            mask - i
        } else if i == 0 && bits != 2 {
            mask
        } else {
            i
        };
        state.decode(code, bits, tables);
        codes.push(code);
    }
    let mut out = Vec::with_capacity(codes.len() * bits as usize / 8 + 1);
    let (mut acc, mut pending) = (0u32, 0u32);
    for code in codes {
        match packing {
            Packing::LeastSignificantFirst => acc |= code << pending,
            Packing::MostSignificantFirst => acc = (acc << bits) | code,
        }
        pending += bits;
        while pending >= 8 {
            match packing {
                Packing::LeastSignificantFirst => {
                    out.push(acc as u8);
                    acc >>= 8;
                }
                Packing::MostSignificantFirst => {
                    out.push((acc >> (pending - 8)) as u8);
                    acc &= (1 << (pending - 8)) - 1;
                }
            }
            pending -= 8;
        }
    }
    if pending > 0 {
        match packing {
            Packing::LeastSignificantFirst => out.push(acc as u8),
            Packing::MostSignificantFirst => out.push((acc << (8 - pending)) as u8),
        }
    }
    out
}
