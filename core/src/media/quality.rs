//! Voice quality: jitter-buffer simulation and the ITU-T G.107 E-model (R-factor → MOS).
//!
//! # E-model (ITU-T G.107 (06/2015))
//!
//! [`r_factor`] computes the transmission rating factor of G.107 clause 7.1,
//!
//! ```text
//! R = Ro − Is − Id − Ie,eff + A
//! ```
//!
//! with every parameter except Ie, Bpl, Ppl, BurstR and the delays at its G.107 Table 1 (clause 7.7) default (see
//! the `G107_*` constants) and the three delays tied together as Table 1 does by default: `T = Ta = Tr/2`. With
//! those defaults and no delay or loss, R ≈ 93.2. Ie and Bpl come from ITU-T G.113 Appendix I ([`codec_impairment_info`]), Ppl
//! and BurstR from the simulated receiver, Ta from the simulated buffer (see [`QualityAccumulator`]).
//! [`mos_from_r`] is G.107 Annex B. Clause numbers are those of the 2011-2015 editions (7.1 R, 7.2 Ro, 7.3 Is,
//! 7.4 Id, 7.5 Ie,eff, 7.7 defaults); the 2003-2009 editions number the same clauses 3.1-3.7.
//!
//! # Receiver model
//!
//! [`QualityAccumulator`] replays the packets of one stream, in capture order, through three jitter buffers —
//! fixed 50 ms, fixed 200 ms, adaptive up to 500 ms — and reports for each the network loss, the packets that
//! arrived too late to be played, the delay the buffer adds, and the resulting R and MOS. The capture point is
//! taken to be the receiver, and the network one-way delay is assumed to be 0 (a capture cannot measure it): the
//! mouth-to-ear delay Ta is the buffer's own delay plus one packetisation interval.

use crate::model::{JitterBuffer, JitterBufferQuality, StreamQuality};

// ---------------------------------------------------------------------------------------------------------------
// E-model
// ---------------------------------------------------------------------------------------------------------------

/// Send loudness rating SLR, dB (G.107 Table 1 default 8).
const G107_SLR: f64 = 8.0;
/// Receive loudness rating RLR, dB (G.107 Table 1 default 2).
const G107_RLR: f64 = 2.0;
/// Sidetone masking rating STMR, dB (G.107 Table 1 default 15).
const G107_STMR: f64 = 15.0;
/// Listener sidetone rating LSTR, dB (G.107 Table 1 default 18; Table 1 also gives LSTR = STMR + Dr, Dr = 3).
const G107_LSTR: f64 = 18.0;
/// D-value of the telephone's send side Ds (G.107 Table 1 default 3). The receive side's Dr (default 3) enters only
/// through LSTR.
const G107_DS: f64 = 3.0;
/// Talker echo loudness rating TELR, dB (G.107 Table 1 default 65).
const G107_TELR: f64 = 65.0;
/// Weighted echo path loss WEPL, dB (G.107 Table 1 default 110).
const G107_WEPL: f64 = 110.0;
/// Number of quantisation distortion units qdu (G.107 Table 1 default 1).
const G107_QDU: f64 = 1.0;
/// Circuit noise referred to the 0 dBr point Nc, dBm0p (G.107 Table 1 default −70).
const G107_NC: f64 = -70.0;
/// Noise floor at the receive side Nfor, dBmp (G.107 Table 1 default −64).
const G107_NFOR: f64 = -64.0;
/// Room noise at the send side Ps, dB(A) (G.107 Table 1 default 35).
const G107_PS: f64 = 35.0;
/// Room noise at the receive side Pr, dB(A) (G.107 Table 1 default 35).
const G107_PR: f64 = 35.0;
/// Advantage factor A (G.107 Table 1 default 0).
const G107_A: f64 = 0.0;
/// Upper bound applied to Ta (ms) so absurd inputs stay finite (about 2.8 hours; R is far below 0 long before).
const MAX_TA_MS: f64 = 1.0e7;

/// `10·log10(Σ 10^(x/10))`: power sum of levels in dB.
fn db_power_sum(levels: &[f64]) -> f64 {
    10.0 * levels
        .iter()
        .map(|l| 10f64.powf(l / 10.0))
        .sum::<f64>()
        .log10()
}

/// Total noise power No (G.107 clause 7.2), dBm0p:
///
/// ```text
/// No  = 10·log10(10^(Nc/10) + 10^(Nos/10) + 10^(Nor/10) + 10^(Nfo/10))
/// Nos = Ps − SLR − Ds − 100 + 0.004·(Ps − OLR − Ds − 14)²        (room noise at the send side)
/// Nor = RLR − 121 + Pre + 0.008·(Pre − 35)²                       (room noise at the receive side)
/// Pre = Pr + 10·log10(1 + 10^((10 − LSTR)/10))
/// Nfo = Nfor + RLR                                                (noise floor at the receive side)
/// OLR = SLR + RLR
/// ```
///
/// With the defaults No ≈ −61.18 dBm0p.
fn total_noise() -> f64 {
    let olr = G107_SLR + G107_RLR;
    let nos =
        G107_PS - G107_SLR - G107_DS - 100.0 + 0.004 * (G107_PS - olr - G107_DS - 14.0).powi(2);
    let pre = G107_PR + 10.0 * (1.0 + 10f64.powf((10.0 - G107_LSTR) / 10.0)).log10();
    let nor = G107_RLR - 121.0 + pre + 0.008 * (pre - 35.0).powi(2);
    let nfo = G107_NFOR + G107_RLR;
    db_power_sum(&[G107_NC, nos, nor, nfo])
}

/// Basic signal-to-noise ratio Ro = 15 − 1.5·(SLR + No) (G.107 clause 7.2); ≈ 94.77 with the defaults.
fn basic_snr(no: f64) -> f64 {
    15.0 - 1.5 * (G107_SLR + no)
}

/// Simultaneous impairment factor Is = Iolr + Ist + Iq (G.107 clause 7.3); ≈ 1.41 with the defaults.
///
/// ```text
/// Iolr  = 20·[(1 + (Xolr/8)^8)^(1/8) − Xolr/8],   Xolr = OLR + 0.2·(64 + No − RLR)
/// Ist   = 12·[1 + ((STMRo − 13)/6)^8]^(1/8) − 28·[1 + ((STMRo + 1)/19.4)^35]^(1/35)
///         − 13·[1 + ((STMRo − 3)/33)^13]^(1/13) + 29
/// STMRo = −10·log10(10^(−STMR/10) + e^(−T/4)·10^(−TELR/10))
/// Iq    = 15·log10(1 + 10^Y + 10^Z),   Y = (Ro − 100)/15 + 46/8.4 − G/9,   Z = 46/30 − G/40
/// G     = 1.07 + 0.258·Q + 0.0602·Q²,  Q = 37 − 15·log10(qdu)
/// ```
fn simultaneous_impairment(ro: f64, no: f64, t_ms: f64) -> f64 {
    let olr = G107_SLR + G107_RLR;
    let xolr = olr + 0.2 * (64.0 + no - G107_RLR);
    let iolr = 20.0 * ((1.0 + (xolr / 8.0).powi(8)).powf(1.0 / 8.0) - xolr / 8.0);

    let stmro = -10.0
        * (10f64.powf(-G107_STMR / 10.0) + (-t_ms / 4.0).exp() * 10f64.powf(-G107_TELR / 10.0))
            .log10();
    let ist = 12.0 * (1.0 + ((stmro - 13.0) / 6.0).powi(8)).powf(1.0 / 8.0)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4).powi(35)).powf(1.0 / 35.0)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0).powi(13)).powf(1.0 / 13.0)
        + 29.0;

    let q = 37.0 - 15.0 * G107_QDU.log10();
    let g = 1.07 + 0.258 * q + 0.0602 * q * q;
    let y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;
    let z = 46.0 / 30.0 - g / 40.0;
    let iq = 15.0 * (1.0 + 10f64.powf(y) + 10f64.powf(z)).log10();

    iolr + ist + iq
}

/// Talker-echo impairment Idte (G.107 clause 7.4), T in ms:
///
/// ```text
/// Idte = [(Roe − Re)/2 + √((Roe − Re)²/4 + 100) − 1]·(1 − e^(−T))
/// Roe  = −1.5·(No − RLR)
/// Re   = 80 + 2.5·(TERV − 14)
/// TERV = TELR − 40·log10((1 + T/10)/(1 + T/150)) + 6·e^(−0.3·T²)
/// ```
///
/// (The clause's corrections for STMR < 9 dB and STMR > 20 dB do not apply at the default STMR of 15 dB.)
fn talker_echo_impairment(no: f64, t_ms: f64) -> f64 {
    let terv = G107_TELR - 40.0 * ((1.0 + t_ms / 10.0) / (1.0 + t_ms / 150.0)).log10()
        + 6.0 * (-0.3 * t_ms * t_ms).exp();
    let roe = -1.5 * (no - G107_RLR);
    let re = 80.0 + 2.5 * (terv - 14.0);
    let d = roe - re;
    (d / 2.0 + (d * d / 4.0 + 100.0).sqrt() - 1.0) * (1.0 - (-t_ms).exp())
}

/// Listener-echo impairment Idle (G.107 clause 7.4), Tr (round-trip delay in the 4-wire loop) in ms:
///
/// ```text
/// Idle = (Ro − Rle)/2 + √((Ro − Rle)²/4 + 169)
/// Rle  = 10.5·(WEPL + 7)·(Tr + 1)^(−1/4)
/// ```
fn listener_echo_impairment(ro: f64, tr_ms: f64) -> f64 {
    let rle = 10.5 * (G107_WEPL + 7.0) * (tr_ms + 1.0).powf(-0.25);
    let d = ro - rle;
    d / 2.0 + (d * d / 4.0 + 169.0).sqrt()
}

/// Impairment by a too-long absolute delay Idd (G.107 clause 7.4, with the default mT = 100 ms and sT = 1):
///
/// ```text
/// Ta ≤ 100 ms: Idd = 0
/// Ta > 100 ms: Idd = 25·{(1 + X^6)^(1/6) − 3·(1 + (X/3)^6)^(1/6) + 2},   X = log10(Ta/100) / log10(2)
/// ```
fn absolute_delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms.is_nan() || ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log10() / 2f64.log10();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// Effective equipment impairment with packet loss (G.107 clause 7.5):
///
/// ```text
/// Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)
/// ```
///
/// Ppl in percent (clamped to 0-100), BurstR clamped to ≥ 1 (G.107 Table 1's range starts at 1; 1 = random
/// loss), Bpl clamped to ≥ 0; non-finite inputs are replaced by the no-loss values.
fn effective_equipment_impairment(ie: f64, bpl: f64, ppl: f64, burst_r: f64) -> f64 {
    let ie = if ie.is_finite() { ie } else { 0.0 };
    let ppl = if ppl.is_nan() {
        0.0
    } else {
        ppl.clamp(0.0, 100.0)
    };
    if ppl <= 0.0 {
        return ie;
    }
    let burst_r = if burst_r.is_nan() {
        1.0
    } else {
        burst_r.max(1.0)
    };
    let bpl = if bpl.is_nan() { 0.0 } else { bpl.max(0.0) };
    let denominator = ppl / burst_r + bpl;
    if denominator > 0.0 && denominator.is_finite() {
        ie + (95.0 - ie) * ppl / denominator
    } else {
        // Infinite BurstR and no robustness: every loss is maximally bad.
        95.0
    }
}

/// R-factor (G.107) for a codec's equipment impairment `ie` and packet-loss robustness `bpl`, effective packet loss
/// `ppl` (percent), burst ratio `burst_r` (1 = random loss), and one-way mouth-to-ear delay `ta_ms`.
///
/// `R = Ro − Is − Id − Ie,eff + A` (G.107 clause 7.1) with `Id = Idte + Idle + Idd`, every other parameter at its
/// G.107 Table 1 default, and `T = Ta`, `Tr = 2·Ta` (Table 1's default relation: the echo paths are as long as
/// the mouth-to-ear path). See the private helpers for each term's formula. Non-finite results (only possible
/// from non-finite inputs) are returned as 0.
pub fn r_factor(ie: f64, bpl: f64, ppl: f64, burst_r: f64, ta_ms: f64) -> f64 {
    let ta = if ta_ms.is_nan() {
        0.0
    } else {
        ta_ms.clamp(0.0, MAX_TA_MS)
    };
    let t = ta;
    let tr = 2.0 * ta;
    let no = total_noise();
    let ro = basic_snr(no);
    let is = simultaneous_impairment(ro, no, t);
    let id = talker_echo_impairment(no, t)
        + listener_echo_impairment(ro, tr)
        + absolute_delay_impairment(ta);
    let ie_eff = effective_equipment_impairment(ie, bpl, ppl, burst_r);
    let r = ro - is - id - ie_eff + G107_A;
    if r.is_finite() { r } else { 0.0 }
}

/// MOS (1.0-4.5) from an R-factor (G.107 Annex B):
///
/// ```text
/// R < 0:        MOS = 1
/// 0 ≤ R ≤ 100:  MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶
/// R > 100:      MOS = 4.5
/// ```
///
/// NaN gives 1.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r < 0.0 {
        1.0
    } else if r > 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6
    }
}

/// Markov-model burst ratio (G.107 clause 7.5 / G.113 definition): the mean length of the observed loss bursts
/// divided by the mean burst length random (Bernoulli) loss of the same rate would give, `1/(1 − p)`:
///
/// ```text
/// BurstR = (L/B) · (1 − L/N)        (= 1/(p + q) of the two-state Markov model)
/// ```
///
/// with N packets expected, L of them lost, in B bursts. 1 when nothing was lost; clamped to ≥ 1 (G.107's range).
fn burst_ratio(expected: u64, lost: u64, bursts: u64) -> f64 {
    if lost == 0 || bursts == 0 || expected == 0 {
        return 1.0;
    }
    let (n, l, b) = (expected as f64, lost as f64, bursts as f64);
    let ratio = (l / b) * (1.0 - (l / n).min(1.0));
    if ratio.is_finite() {
        ratio.max(1.0)
    } else {
        1.0
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Codec table
// ---------------------------------------------------------------------------------------------------------------

/// G.113 Appendix I values (or a documented stand-in) for one payload name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie.
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
    /// True when G.113 Appendix I has no (Ie, Bpl) pair for this payload name and a stand-in was used (see
    /// `basis`); reports should say the MOS rests on an assumption.
    pub assumed: bool,
    /// Where the values come from, for reports.
    pub basis: &'static str,
}

/// The stand-in for payload names G.113 Appendix I does not list (Opus, Speex, AMR, EVS, SILK, unknown names...):
/// G.729A's (Ie 11, Bpl 19). Conservative on purpose: most modern codecs do better than that at their usual
/// bit rates, and the narrowband E-model cannot credit wideband audio anyway, so the MOS errs on the low side.
const UNKNOWN_CODEC: CodecImpairment = CodecImpairment {
    ie: 11.0,
    bpl: 19.0,
    assumed: true,
    basis: "not in G.113 Appendix I: conservative stand-in, G.729A's Ie 11 / Bpl 19",
};

/// (Ie, Bpl) and their provenance for a payload name as it appears in an SDP rtpmap or as a static payload type's
/// name, matched case-insensitively (anything from the first `/` on, e.g. `/8000/1`, is ignored).
///
/// | Names | Ie | Bpl | Basis |
/// |---|---|---|---|
/// | PCMU, PCMA, G711 | 0 | 25.1 | G.113 App. I, G.711 with packet-loss concealment (G.711 Appendix I). PLC is assumed: every current endpoint has it; without it G.113 gives Bpl 4.3 |
/// | G722 | 0 | 25.1 | assumed: the narrowband E-model has no G.722 entry; at worst G.722 is as good as G.711 in narrowband terms, PLC as for G.711 |
/// | G729, G729A, G729AB, G729B | 11 | 19 | G.113 App. I, G.729A + VAD (the rtpmap name does not tell G.729 from Annex A; Annex A's values are the more conservative) |
/// | G723, G7231 | 15 | 16.1 | G.113 App. I, G.723.1 at 6.3 kbit/s + VAD (the higher-rate mode; 5.3 kbit/s has Ie 19) |
/// | GSM | 20 | 10 | Ie: G.113 App. I, GSM full rate (06.10). Bpl assumed: G.113 gives none for FR; GSM-EFR's 10 is used |
/// | GSM-EFR | 5 | 10 | G.113 App. I, GSM enhanced full rate |
/// | iLBC | 11 | 32 | G.113 App. I values for iLBC: Ie 10 at 15.2 kbit/s (20 ms mode), 11 at 13.33 kbit/s (30 ms, RFC 3952's default mode); the name does not tell the mode, so the more conservative 11 |
/// | G726-40/-32/-24/-16, G721, AAL2-G726-* | 2/7/25/50 | 4.3 | Ie: G.113 App. I. Bpl assumed: G.711-without-PLC's 4.3 (G.726 has no standard PLC) |
/// | G728 | 7 | 4.3 | Ie: G.113 App. I (LD-CELP 16 kbit/s). Bpl assumed as for G.726 |
/// | L16 | 0 | 4.3 | assumed: uncompressed PCM, no PLC |
/// | anything else | 11 | 19 | assumed: see the stand-in above |
pub fn codec_impairment_info(codec: &str) -> CodecImpairment {
    let name = codec
        .split('/')
        .next()
        .unwrap_or(codec)
        .trim()
        .to_ascii_uppercase();
    let known = |ie: f64, bpl: f64, basis: &'static str| CodecImpairment {
        ie,
        bpl,
        assumed: false,
        basis,
    };
    let assumed = |ie: f64, bpl: f64, basis: &'static str| CodecImpairment {
        ie,
        bpl,
        assumed: true,
        basis,
    };
    let g726 =
        "Ie: G.113 Appendix I; Bpl assumed 4.3 (G.711 without PLC: G.726 has no standard PLC)";
    match name.as_str() {
        "PCMU" | "PCMA" | "G711" | "G711U" | "G711A" => known(
            0.0,
            25.1,
            "G.113 Appendix I: G.711 with PLC (G.711 Appendix I) assumed; 4.3 without",
        ),
        "G722" => assumed(
            0.0,
            25.1,
            "no narrowband G.113 entry: Ie 0 and Bpl as G.711 with PLC assumed",
        ),
        "G729" | "G729A" | "G729AB" | "G729B" => {
            known(11.0, 19.0, "G.113 Appendix I: G.729A + VAD")
        }
        "G723" | "G7231" | "G723.1" => {
            known(15.0, 16.1, "G.113 Appendix I: G.723.1 6.3 kbit/s + VAD")
        }
        "GSM" => assumed(
            20.0,
            10.0,
            "Ie: G.113 Appendix I GSM full rate; Bpl assumed = GSM-EFR's 10",
        ),
        "GSM-EFR" | "GSMEFR" => known(5.0, 10.0, "G.113 Appendix I: GSM enhanced full rate"),
        "ILBC" => known(
            11.0,
            32.0,
            "G.113 Appendix I: iLBC 13.33 kbit/s (30 ms mode; 15.2 kbit/s has Ie 10)",
        ),
        "G726-40" | "AAL2-G726-40" => assumed(2.0, 4.3, g726),
        "G726-32" | "AAL2-G726-32" | "G721" | "G726" => assumed(7.0, 4.3, g726),
        "G726-24" | "AAL2-G726-24" => assumed(25.0, 4.3, g726),
        "G726-16" | "AAL2-G726-16" => assumed(50.0, 4.3, g726),
        "G728" => assumed(
            7.0,
            4.3,
            "Ie: G.113 Appendix I LD-CELP; Bpl assumed 4.3 (no standard PLC)",
        ),
        "L16" => assumed(0.0, 4.3, "uncompressed PCM: Ie 0, Bpl assumed 4.3 (no PLC)"),
        _ => UNKNOWN_CODEC,
    }
}

/// (Ie, Bpl) for a payload name (see [`codec_impairment_info`], which also says whether the values are assumed).
pub fn codec_impairment(codec: &str) -> (f64, f64) {
    let c = codec_impairment_info(codec);
    (c.ie, c.bpl)
}

// ---------------------------------------------------------------------------------------------------------------
// Jitter-buffer simulation
// ---------------------------------------------------------------------------------------------------------------

/// `x as f64`, through i64 when it fits: the same value (both round the exact integer to nearest), without the
/// software 128-bit conversion on every packet.
fn f64_of(x: i128) -> f64 {
    match i64::try_from(x) {
        Ok(v) => v as f64,
        Err(_) => x as f64,
    }
}

/// `a.checked_div(b)`, in 64-bit arithmetic when both fit (the same truncated quotient, without the software
/// 128-bit division on every packet).
fn div_i128(a: i128, b: i128) -> Option<i128> {
    if let (Ok(x), Ok(y)) = (i64::try_from(a), i64::try_from(b))
        && let Some(q) = x.checked_div(y)
    {
        return Some(i128::from(q));
    }
    a.checked_div(b)
}

const NS_PER_MS: i128 = 1_000_000;
const NS_PER_S: i128 = 1_000_000_000;
/// Sequence numbers held open for reordering: a packet may arrive up to this many sequence numbers behind the
/// newest one and still be placed. Older arrivals are ignored (their slot stays counted as lost): at 5 ms or more of
/// packetisation that is ≥ 640 ms late, past every simulated buffer.
const REORDER_WINDOW: i128 = 128;
/// Fixed buffer depths.
const FIXED_SHORT_NS: i128 = 50 * NS_PER_MS;
const FIXED_LONG_NS: i128 = 200 * NS_PER_MS;
/// The adaptive buffer's maximum delay.
const ADAPTIVE_MAX_NS: i128 = 500 * NS_PER_MS;
/// Safety margin the adaptive buffer keeps above the observed transit-time spread (Asterisk's `jbtargetextra`
/// default), also its delay before it has seen any variation.
const ADAPTIVE_EXTRA_NS: i128 = 40 * NS_PER_MS;
/// Packets per block of the adaptive buffer's sliding min/max (two blocks are kept: the estimate covers the last
/// 250-500 packets, 5-10 s at 20 ms, like Asterisk's 500-packet history).
const ADAPTIVE_BLOCK: u32 = 250;
/// Minimum media time between two shrink steps during a talk spurt (Asterisk shrinks at most every 500 ms in
/// speech).
const ADAPTIVE_SHRINK_INTERVAL_NS: i128 = 500 * NS_PER_MS;
/// A packet whose transit time differs from the buffer's reference by more than this re-synchronises the buffer
/// (a timestamp jump, a stream restart; Asterisk's `jbresyncthreshold` default).
const RESYNC_NS: i128 = 1000 * NS_PER_MS;
/// Packetisation interval assumed until the stream shows its own.
const DEFAULT_FRAME_NS: i128 = 20 * NS_PER_MS;
/// Upper bounds (ms) of the inter-arrival histogram buckets; one more bucket takes everything above.
const DELTA_BOUNDS_MS: [f64; 10] = [
    10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0, 150.0, 200.0, 500.0,
];
/// Loss-burst histogram buckets (lengths 1..=10, the last "10 or more").
const BURST_BUCKETS: usize = 10;

/// Loss pattern of one receiver, in sequence order.
#[derive(Debug, Clone, Default)]
struct LossRuns {
    /// Slots lost (network loss, plus late discards for a buffer).
    lost: u64,
    /// Runs of consecutive lost slots.
    bursts: u64,
    /// Length of the run in progress (0 = the last slot was received).
    run: u64,
}

impl LossRuns {
    /// One slot in sequence order; returns the length of a run that this slot ended, if any.
    fn slot(&mut self, lost: bool) -> Option<u64> {
        if lost {
            self.lost_many(1);
            None
        } else {
            self.end_run()
        }
    }

    fn lost_many(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        if self.run == 0 {
            self.bursts = self.bursts.saturating_add(1);
        }
        self.run = self.run.saturating_add(n);
        self.lost = self.lost.saturating_add(n);
    }

    fn end_run(&mut self) -> Option<u64> {
        let run = std::mem::take(&mut self.run);
        (run > 0).then_some(run)
    }
}

/// One simulated receiver.
///
/// Every buffer plays packet *i* at `ts_rel(i) + offset`, where `ts_rel(i) = (ts_ext(i) − ts0)/clock_rate` is the
/// packet's media time since the first media packet and `offset` is in the same "relative transit" domain as
/// `r(i) = arrival(i) − ts_rel(i)`: a packet is late, and discarded, when `r(i) > offset` (it arrived after its
/// playout instant). The time it waits otherwise, `offset − r(i)`, is the buffer delay it suffers.
///
/// *Fixed* buffers: `offset = r(first media packet) + depth`, so the first packet waits exactly `depth`. Early
/// packets are never dropped (the buffer is assumed large enough to hold them).
///
/// *Adaptive* buffer (modelled on Asterisk's `jitterbuf.c`, which VoIPmonitor simulates, with PJSIP-like
/// growth): it keeps the minimum and maximum of `r` over a sliding window of 250-500 packets (two blocks of
/// [`ADAPTIVE_BLOCK`], O(1) memory) and aims for
/// `target = min_r + clamp(max_r − min_r + 40 ms, 0, 500 ms)`: enough delay for the worst recent transit-time
/// variation plus Asterisk's 40 ms margin. It starts at `r(first) + 40 ms`. At a talk-spurt start (media time jumped
/// by more than the sequence numbers explain: the sender was silent) `offset` jumps to the target. Within a spurt it
/// grows towards the target by at most one packetisation interval per packet (the receiver stretches audio), and
/// shrinks by at most one interval per 500 ms of media time when it is more than one interval above the target.
/// It never exceeds `min_r + 500 ms`. Lateness is judged against the offset before the packet's own transit time is
/// taken into account (the receiver did not know it yet).
///
/// All buffers re-synchronise on a packet whose `r` is more than 1 s from their reference (fixed: the anchor's
/// `r`; adaptive: `min_r`), as Asterisk's `jbresyncthreshold` does: that packet becomes the new reference.
#[derive(Debug, Clone)]
struct BufferSim {
    label: JitterBuffer,
    /// `None` = adaptive; `Some(depth)` = fixed.
    fixed_depth: Option<i128>,
    started: bool,
    /// Fixed: the anchor's transit time.
    anchor: i128,
    offset: i128,
    // Adaptive estimator: sliding min/max of `r` in two blocks.
    cur_min: i128,
    cur_max: i128,
    prev_min: i128,
    prev_max: i128,
    block_count: u32,
    last_adjust_ts: i128,

    discarded: u64,
    played: u64,
    wait_sum_ms: f64,
    /// Late-discard bits of the reorder window (bit k = sequence number `window_base + k`).
    discard_mask: u128,
    runs: LossRuns,
}

impl BufferSim {
    fn new(label: JitterBuffer, fixed_depth: Option<i128>) -> Self {
        BufferSim {
            label,
            fixed_depth,
            started: false,
            anchor: 0,
            offset: 0,
            cur_min: 0,
            cur_max: 0,
            prev_min: 0,
            prev_max: 0,
            block_count: 0,
            last_adjust_ts: 0,
            discarded: 0,
            played: 0,
            wait_sum_ms: 0.0,
            discard_mask: 0,
            runs: LossRuns::default(),
        }
    }

    fn min_r(&self) -> i128 {
        self.prev_min.min(self.cur_min)
    }

    fn max_r(&self) -> i128 {
        self.prev_max.max(self.cur_max)
    }

    fn target(&self) -> i128 {
        let min_r = self.min_r();
        let spread = self
            .max_r()
            .saturating_sub(min_r)
            .saturating_add(ADAPTIVE_EXTRA_NS);
        min_r.saturating_add(spread.clamp(0, ADAPTIVE_MAX_NS))
    }

    fn reset(&mut self, r: i128, ts_rel: i128) {
        self.started = true;
        self.anchor = r;
        self.cur_min = r;
        self.cur_max = r;
        self.prev_min = r;
        self.prev_max = r;
        self.block_count = 0;
        self.last_adjust_ts = ts_rel;
        self.offset = r.saturating_add(self.fixed_depth.unwrap_or(ADAPTIVE_EXTRA_NS));
    }

    /// One media packet with transit time `r` and media time `ts_rel` (ns). Returns true when it is discarded late.
    fn on_media(&mut self, r: i128, ts_rel: i128, spurt_start: bool, frame_ns: i128) -> bool {
        let reference = if self.fixed_depth.is_some() {
            self.anchor
        } else {
            self.min_r()
        };
        if !self.started || r.saturating_sub(reference).saturating_abs() > RESYNC_NS {
            self.reset(r, ts_rel);
        } else if spurt_start && self.fixed_depth.is_none() {
            self.offset = self.target();
            self.last_adjust_ts = ts_rel;
        }

        let late = r > self.offset;
        if late {
            self.discarded = self.discarded.saturating_add(1);
        } else {
            self.played = self.played.saturating_add(1);
            self.wait_sum_ms += f64_of(self.offset.saturating_sub(r)) / NS_PER_MS as f64;
        }

        if self.fixed_depth.is_none() {
            self.adapt(r, ts_rel, frame_ns);
        }
        late
    }

    fn adapt(&mut self, r: i128, ts_rel: i128, frame_ns: i128) {
        self.cur_min = self.cur_min.min(r);
        self.cur_max = self.cur_max.max(r);
        self.block_count = self.block_count.saturating_add(1);
        if self.block_count >= ADAPTIVE_BLOCK {
            self.prev_min = self.cur_min;
            self.prev_max = self.cur_max;
            self.cur_min = i128::MAX;
            self.cur_max = i128::MIN;
            self.block_count = 0;
        }
        let target = self.target();
        if target > self.offset {
            self.offset = target.min(self.offset.saturating_add(frame_ns));
        } else if self.offset.saturating_sub(target) > frame_ns
            && ts_rel.saturating_sub(self.last_adjust_ts) >= ADAPTIVE_SHRINK_INTERVAL_NS
        {
            self.offset = target.max(self.offset.saturating_sub(frame_ns));
            self.last_adjust_ts = ts_rel;
        }
        self.offset = self
            .offset
            .min(self.min_r().saturating_add(ADAPTIVE_MAX_NS));
    }
}

/// Streaming quality accumulator for one RTP stream: fed every packet in capture order, keeps O(1) state (plus a
/// bounded reorder window), and simulates the three jitter buffers (fixed 50 ms, fixed 200 ms, adaptive up to
/// 500 ms) as it goes.
///
/// Sequence numbers are tracked in a window of [`REORDER_WINDOW`] slots; a slot is final (received, lost, or
/// discarded by a buffer) once it falls out of the window or at [`finish`](Self::finish), which is when loss runs
/// are counted, so reordering inside the window is not loss. Gaps of any size are counted in O(1). Per buffer:
///
/// - `lost`: sequence numbers between the first and the last seen that never arrived (duplicates ignored);
/// - `discarded`: media packets that arrived after their playout instant (see `BufferSim` for each buffer's
///   playout rule);
/// - `effective_loss_pct = (lost + discarded) / expected` (expected = last − first + 1 sequence numbers);
/// - `delay_ms` = mean time played packets waited in the buffer + one packetisation interval; with the network
///   one-way delay assumed 0 this is the E-model's Ta (and T = Ta, Tr = 2·Ta);
/// - R from [`r_factor`] with the codec's Ie/Bpl, Ppl = `effective_loss_pct` and BurstR from that buffer's loss
///   pattern (lost or discarded slots, in sequence order; see `burst_ratio`), MOS from [`mos_from_r`].
///
/// Non-media packets (comfort noise, telephone-events) fill their sequence slot but are not played out and do not
/// feed the buffers' estimators.
#[derive(Debug, Clone)]
pub struct QualityAccumulator {
    clock_rate: Option<u32>,
    codec: String,
    impairment: CodecImpairment,

    // Sequence window.
    seq_started: bool,
    first_seq: i128,
    highest_seq: i128,
    window_base: i128,
    arrived_mask: u128,
    finalized_any: bool,
    network: LossRuns,
    loss_bursts: [u64; BURST_BUCKETS],

    // Timing.
    last_arrival: Option<i64>,
    delta_counts: [u64; DELTA_BOUNDS_MS.len() + 1],
    ts0: Option<i128>,
    media_packets: u64,
    prev_media: Option<(i128, i128)>,
    last_ts_step: i128,
    frame_ts: i128,

    buffers: [BufferSim; 3],
}

impl Default for QualityAccumulator {
    fn default() -> Self {
        QualityAccumulator::new(None, "")
    }
}

impl QualityAccumulator {
    /// `clock_rate`: RTP clock in Hz (`None` = unknown: no MOS). `codec`: payload name for the Ie/Bpl table.
    pub fn new(clock_rate: Option<u32>, codec: &str) -> Self {
        QualityAccumulator {
            clock_rate: clock_rate.filter(|&c| c > 0),
            codec: codec.to_string(),
            impairment: codec_impairment_info(codec),
            seq_started: false,
            first_seq: 0,
            highest_seq: 0,
            window_base: 0,
            arrived_mask: 0,
            finalized_any: false,
            network: LossRuns::default(),
            loss_bursts: [0; BURST_BUCKETS],
            last_arrival: None,
            delta_counts: [0; DELTA_BOUNDS_MS.len() + 1],
            ts0: None,
            media_packets: 0,
            prev_media: None,
            last_ts_step: 0,
            frame_ts: 0,
            buffers: [
                BufferSim::new(JitterBuffer::Fixed50, Some(FIXED_SHORT_NS)),
                BufferSim::new(JitterBuffer::Fixed200, Some(FIXED_LONG_NS)),
                BufferSim::new(JitterBuffer::Adaptive500, None),
            ],
        }
    }

    /// The codec's Ie/Bpl and whether they are assumed (no G.113 entry for this payload name).
    pub fn impairment(&self) -> CodecImpairment {
        self.impairment
    }

    /// One packet: arrival time (ns), extended sequence number and extended RTP timestamp (both unwrapped by the
    /// caller), and whether it is a regular media packet (false for comfort noise and telephone-event packets,
    /// which are counted for loss but not played out).
    pub fn push(&mut self, arrival_ns: i64, seq_ext: i64, ts_ext: i64, media: bool) {
        let Some(bit) = self.place(i128::from(seq_ext)) else {
            return; // duplicate, or too old to place
        };

        if let Some(last) = self.last_arrival {
            let delta_ms =
                f64_of(i128::from(arrival_ns).saturating_sub(i128::from(last))) / NS_PER_MS as f64;
            let bucket = DELTA_BOUNDS_MS
                .iter()
                .position(|&b| delta_ms <= b)
                .unwrap_or(DELTA_BOUNDS_MS.len());
            if let Some(c) = self.delta_counts.get_mut(bucket) {
                *c = c.saturating_add(1);
            }
        }
        self.last_arrival = Some(arrival_ns);

        if !media {
            return;
        }
        self.media_packets = self.media_packets.saturating_add(1);
        let Some(clock) = self.clock_rate else {
            return;
        };
        let seq = i128::from(seq_ext);
        let ts = i128::from(ts_ext);
        let spurt_start = self.note_media_timing(seq, ts);
        let ts0 = *self.ts0.get_or_insert(ts);
        let ts_rel = div_i128(
            ts.saturating_sub(ts0).saturating_mul(NS_PER_S),
            i128::from(clock),
        )
        .unwrap_or(0);
        let r = i128::from(arrival_ns).saturating_sub(ts_rel);
        let frame_ns = self.frame_ns();
        for b in &mut self.buffers {
            if b.on_media(r, ts_rel, spurt_start, frame_ns) {
                b.discard_mask |= bit;
            }
        }
    }

    /// Puts `seq` in the reorder window; returns its bit, or `None` for a duplicate or a packet too old to place.
    fn place(&mut self, seq: i128) -> Option<u128> {
        if !self.seq_started {
            self.seq_started = true;
            self.first_seq = seq;
            self.highest_seq = seq;
            self.window_base = seq;
        } else if seq < self.window_base {
            // Before the window: only possible while nothing has been finalised (the capture started with a
            // reordered packet), by moving the window down.
            let shift = self.window_base.saturating_sub(seq);
            if self.finalized_any || self.highest_seq.saturating_sub(seq) >= REORDER_WINDOW {
                return None;
            }
            let shift = u32::try_from(shift).ok()?;
            self.arrived_mask = self.arrived_mask.checked_shl(shift).unwrap_or(0);
            for b in &mut self.buffers {
                b.discard_mask = b.discard_mask.checked_shl(shift).unwrap_or(0);
            }
            self.window_base = seq;
            self.first_seq = seq;
        }
        if seq.saturating_sub(self.window_base) >= REORDER_WINDOW {
            self.advance_to(seq.saturating_sub(REORDER_WINDOW).saturating_add(1));
        }
        let offset = u32::try_from(seq.saturating_sub(self.window_base)).ok()?;
        let bit = 1u128.checked_shl(offset)?;
        if self.arrived_mask & bit != 0 {
            return None;
        }
        self.arrived_mask |= bit;
        self.highest_seq = self.highest_seq.max(seq);
        Some(bit)
    }

    /// Finalises every slot below `new_base`, in sequence order.
    fn advance_to(&mut self, new_base: i128) {
        let shift = new_base.saturating_sub(self.window_base);
        if shift <= 0 {
            return;
        }
        self.finalized_any = true;
        let in_window = shift.min(REORDER_WINDOW);
        for _ in 0..in_window {
            let arrived = self.arrived_mask & 1 != 0;
            if let Some(run) = self.network.slot(!arrived) {
                self.count_burst(run);
            }
            for b in &mut self.buffers {
                let discarded = b.discard_mask & 1 != 0;
                b.runs.slot(!arrived || discarded);
                b.discard_mask >>= 1;
            }
            self.arrived_mask >>= 1;
        }
        // Beyond the window nothing arrived: a gap, counted in one step however long.
        let rest = u64::try_from(shift.saturating_sub(in_window)).unwrap_or(u64::MAX);
        self.network.lost_many(rest);
        for b in &mut self.buffers {
            b.runs.lost_many(rest);
        }
        self.window_base = new_base;
    }

    fn count_burst(&mut self, run: u64) {
        let index = usize::try_from(run.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(BURST_BUCKETS - 1);
        if let Some(c) = self.loss_bursts.get_mut(index) {
            *c = c.saturating_add(1);
        }
    }

    /// Tracks the packetisation interval (in timestamp units: the step between consecutive sequence numbers, once
    /// seen twice in a row) and says whether this media packet starts a talk spurt: its timestamp advanced by more
    /// than its sequence number explains (by over half a frame), i.e. the sender was silent.
    fn note_media_timing(&mut self, seq: i128, ts: i128) -> bool {
        let Some((prev_seq, prev_ts)) = self.prev_media else {
            self.prev_media = Some((seq, ts));
            return true;
        };
        if seq <= prev_seq {
            return false; // reordered: the newer packet already set the timing
        }
        self.prev_media = Some((seq, ts));
        let seq_step = seq.saturating_sub(prev_seq);
        let ts_step = ts.saturating_sub(prev_ts);
        if seq_step == 1 && ts_step > 0 {
            if self.frame_ts == 0 || ts_step == self.last_ts_step {
                self.frame_ts = ts_step;
            }
            self.last_ts_step = ts_step;
        }
        self.frame_ts > 0
            && ts_step
                > seq_step
                    .saturating_mul(self.frame_ts)
                    .saturating_add(self.frame_ts / 2)
    }

    /// The packetisation interval in ns (20 ms until known).
    fn frame_ns(&self) -> i128 {
        let Some(clock) = self.clock_rate else {
            return DEFAULT_FRAME_NS;
        };
        match div_i128(self.frame_ts.saturating_mul(NS_PER_S), i128::from(clock)) {
            Some(ns) if ns > 0 => ns,
            _ => DEFAULT_FRAME_NS,
        }
    }

    /// The result; `None` when the clock rate is unknown or fewer than 2 media packets were seen.
    pub fn finish(&self) -> Option<StreamQuality> {
        self.clock_rate?;
        if self.media_packets < 2 {
            return None;
        }
        let mut done = self.clone();
        done.advance_to(done.highest_seq.saturating_add(1));
        if let Some(run) = done.network.end_run() {
            done.count_burst(run);
        }
        let expected = u64::try_from(
            done.highest_seq
                .saturating_sub(done.first_seq)
                .saturating_add(1),
        )
        .unwrap_or(u64::MAX);
        let lost = done.network.lost;
        let frame_ms = done.frame_ns() as f64 / NS_PER_MS as f64;
        let ie = done.impairment.ie;
        let bpl = done.impairment.bpl;

        let buffers = done
            .buffers
            .iter()
            .map(|b| {
                let impaired = b.runs.lost;
                let effective_loss_pct = if expected == 0 {
                    0.0
                } else {
                    (impaired as f64 / expected as f64 * 100.0).min(100.0)
                };
                let wait_ms = if b.played == 0 {
                    0.0
                } else {
                    b.wait_sum_ms / b.played as f64
                };
                let delay_ms = wait_ms + frame_ms;
                let burst_r = burst_ratio(expected, impaired, b.runs.bursts);
                let r = r_factor(ie, bpl, effective_loss_pct, burst_r, delay_ms);
                JitterBufferQuality {
                    buffer: b.label,
                    lost,
                    discarded: b.discarded,
                    effective_loss_pct,
                    delay_ms,
                    r_factor: r,
                    mos: mos_from_r(r),
                }
            })
            .collect();

        let delta_histogram = DELTA_BOUNDS_MS
            .iter()
            .map(|&b| Some(b))
            .chain(std::iter::once(None))
            .zip(done.delta_counts.iter().copied())
            .collect();

        Some(StreamQuality {
            codec: done.codec.clone(),
            ie,
            bpl,
            ie_assumed: self.impairment.assumed,
            ie_basis: self.impairment.basis.to_string(),
            buffers,
            loss_bursts: done.loss_bursts.to_vec(),
            delta_histogram,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    const MS: i64 = 1_000_000;
    /// Capture start used by the stream builders (an arbitrary epoch time in ns).
    const T0: i64 = 1_700_000_000 * 1_000_000_000;

    // ---- E-model ----------------------------------------------------------------------------------------------

    #[test]
    fn mos_at_reference_points() {
        // R = 93.2: 1 + 0.035·93.2 + 93.2·33.2·6.8·7e-6 = 1 + 3.262 + 0.14728 = 4.409.
        assert!(
            (mos_from_r(93.2) - 4.41).abs() < 0.005,
            "{}",
            mos_from_r(93.2)
        );
        // R = 50: 1 + 1.75 + 50·(−10)·50·7e-6 = 2.75 − 0.175 = 2.575.
        let by_formula = 1.0 + 0.035 * 50.0 + 50.0 * (50.0 - 60.0) * (100.0 - 50.0) * 7.0e-6;
        assert!((mos_from_r(50.0) - by_formula).abs() < 1e-12);
        assert!((mos_from_r(50.0) - 2.575).abs() < 1e-9);
        assert!((mos_from_r(50.0) - 2.58).abs() < 0.005 + 1e-9);
        assert_eq!(mos_from_r(0.0), 1.0);
        assert!((mos_from_r(100.0) - 4.5).abs() < 1e-12);
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(mos_from_r(f64::INFINITY), 4.5);
    }

    #[test]
    fn default_terms_match_g107() {
        // Hand computation with the Table 1 defaults:
        // Nos = 35 − 8 − 3 − 100 + 0.004·(35 − 10 − 3 − 14)² = −75.744
        // Pre = 35 + 10·log10(1 + 10^−0.8) = 35.6389;  Nor = 2 − 121 + 35.6389 + 0.008·0.6389² = −83.3578
        // Nfo = −64 + 2 = −62;  No = 10·log10(10^−7 + 10^−7.5744 + 10^−8.33578 + 10^−6.2) = −61.18
        let no = total_noise();
        assert!((no - (-61.18)).abs() < 0.01, "No = {no}");
        // Ro = 15 − 1.5·(8 − 61.18) = 94.77
        let ro = basic_snr(no);
        assert!((ro - 94.77).abs() < 0.02, "Ro = {ro}");
        // Is = Iolr (0.44) + Ist (≈0) + Iq (0.97) ≈ 1.41 at T = 0
        let is = simultaneous_impairment(ro, no, 0.0);
        assert!((is - 1.41).abs() < 0.02, "Is = {is}");
        // Ro − Is ≈ 93.36; Idle at Tr = 0: Rle = 10.5·117 = 1228.5, Idle ≈ 169/(1228.5 − 94.77) = 0.149
        assert!((listener_echo_impairment(ro, 0.0) - 0.149).abs() < 0.005);
        // Idte vanishes at T = 0 (factor 1 − e^0).
        assert_eq!(talker_echo_impairment(no, 0.0), 0.0);
    }

    #[test]
    fn r_factor_defaults_no_loss() {
        let r = r_factor(0.0, 25.1, 0.0, 1.0, 0.0);
        assert!((r - 93.2).abs() < 0.1, "{r}");
        // 1 ms of delay changes nothing visible.
        assert!((r_factor(0.0, 25.1, 0.0, 1.0, 1.0) - 93.2).abs() < 0.1);
    }

    #[test]
    fn r_factor_g729a_no_loss() {
        // 93.2 − Ie 11 = 82.2
        let (ie, bpl) = codec_impairment("G729A");
        let r = r_factor(ie, bpl, 0.0, 1.0, 0.0);
        assert!((r - 82.2).abs() < 0.1, "{r}");
    }

    #[test]
    fn r_factor_g711_two_percent_random_loss() {
        // Ie,eff = 0 + 95·2/(2/1 + 25.1) = 190/27.1 = 7.011
        let ie_eff: f64 = 95.0 * 2.0 / (2.0 / 1.0 + 25.1);
        assert!((ie_eff - 7.01).abs() < 0.005);
        assert!((effective_equipment_impairment(0.0, 25.1, 2.0, 1.0) - ie_eff).abs() < 1e-12);
        let r = r_factor(0.0, 25.1, 2.0, 1.0, 0.0);
        assert!((r - (r_factor(0.0, 25.1, 0.0, 1.0, 0.0) - ie_eff)).abs() < 1e-9);
        assert!((r - 86.2).abs() < 0.1, "{r}");
        // Burstier loss hurts more: BurstR 2 → 95·2/(1 + 25.1) = 7.28.
        assert!((effective_equipment_impairment(0.0, 25.1, 2.0, 2.0) - 190.0 / 26.1).abs() < 1e-12);
    }

    #[test]
    fn idd_by_hand() {
        // Ta = 200 ms: X = log10(2)/log10(2) = 1
        //   Idd = 25·{(1 + 1)^(1/6) − 3·(1 + (1/3)^6)^(1/6) + 2}
        //       = 25·{1.122462 − 3·(1 + 1/729)^(1/6) + 2} = 25·{1.122462 − 3.000686 + 2} = 25·0.121777 = 3.044
        let idd_200 =
            25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 1.0 / 729.0f64).powf(1.0 / 6.0) + 2.0);
        assert!((idd_200 - 3.044).abs() < 0.001);
        assert!((absolute_delay_impairment(200.0) - idd_200).abs() < 1e-9);
        // Ta = 400 ms: X = log10(4)/log10(2) = 2
        //   Idd = 25·{(1 + 64)^(1/6) − 3·(1 + (2/3)^6)^(1/6) + 2}
        //       = 25·{2.005175 − 3·(1 + 64/729)^(1/6) + 2} = 25·{2.005175 − 3.042371 + 2} = 25·0.962804 = 24.070
        let idd_400 =
            25.0 * (65f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 64.0 / 729.0f64).powf(1.0 / 6.0) + 2.0);
        assert!((idd_400 - 24.07).abs() < 0.01);
        assert!((absolute_delay_impairment(400.0) - idd_400).abs() < 1e-9);
        // Not below 100 ms.
        assert_eq!(absolute_delay_impairment(100.0), 0.0);
        assert_eq!(absolute_delay_impairment(40.0), 0.0);
        // And R falls with delay.
        let r = |ta| r_factor(0.0, 25.1, 0.0, 1.0, ta);
        assert!(r(0.0) > r(100.0) && r(100.0) > r(200.0) && r(200.0) > r(400.0));
    }

    #[test]
    fn burst_ratio_definition() {
        // 100 packets, 10 lost in 2 bursts of 5: mean burst 5, random loss at p = 0.1 gives 1/(1 − 0.1) = 1.111,
        // BurstR = 5/1.111 = 4.5.
        assert!((burst_ratio(100, 10, 2) - 4.5).abs() < 1e-12);
        // Isolated losses are (at most) random: clamped to 1.
        assert_eq!(burst_ratio(100, 5, 5), 1.0);
        assert_eq!(burst_ratio(100, 0, 0), 1.0);
        // Everything lost: finite.
        assert!(burst_ratio(10, 10, 1).is_finite());
    }

    #[test]
    fn e_model_absurd_inputs_stay_finite() {
        let values = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0e300,
            1.0e300,
            -5.0,
            0.0,
            1.0,
            1.0e-300,
        ];
        for &a in &values {
            for &b in &values {
                let r = r_factor(a, b, a, b, a);
                assert!(r.is_finite(), "r_factor({a}, {b}) = {r}");
                let r = r_factor(b, a, b, a, b);
                assert!(r.is_finite());
                let m = mos_from_r(r);
                assert!((1.0..=4.5).contains(&m));
            }
        }
    }

    #[test]
    fn codec_table() {
        assert_eq!(codec_impairment("PCMU"), (0.0, 25.1));
        assert_eq!(codec_impairment("pcma"), (0.0, 25.1));
        assert_eq!(codec_impairment("PCMA/8000"), (0.0, 25.1));
        assert_eq!(codec_impairment("g729"), (11.0, 19.0));
        assert_eq!(codec_impairment("G729a"), (11.0, 19.0));
        assert_eq!(codec_impairment("G723"), (15.0, 16.1));
        assert_eq!(codec_impairment("gsm").0, 20.0);
        assert_eq!(codec_impairment("iLBC"), (11.0, 32.0));
        assert!(!codec_impairment_info("PCMU").assumed);
        assert!(!codec_impairment_info("G729").assumed);
        assert!(codec_impairment_info("G722").assumed);
        assert_eq!(codec_impairment("G722"), (0.0, 25.1));
        for name in ["opus", "SPEEX", "AMR-WB", "", "no-such-codec"] {
            let c = codec_impairment_info(name);
            assert!(c.assumed, "{name}");
            assert_eq!((c.ie, c.bpl), (11.0, 19.0));
        }
        assert!(
            QualityAccumulator::new(Some(48000), "opus")
                .impairment()
                .assumed
        );
    }

    // ---- Accumulator ------------------------------------------------------------------------------------------

    /// One packet: (arrival ns, extended seq, extended timestamp, media).
    type Pkt = (i64, i64, i64, bool);

    /// ±1 ms of deterministic jitter: −1, 0, +1, −1, ...
    fn jitter(i: i64) -> i64 {
        (i % 3 - 1) * MS
    }

    /// A 20 ms G.711 stream of `n` packets (seq from `seq0`, timestamps from `ts0` in steps of 160), packet `i`
    /// arriving at `T0 + i·20 ms + jitter(i) + extra(i)`, returned in arrival (capture) order.
    fn stream(n: i64, seq0: i64, ts0: i64, extra: impl Fn(i64) -> i64) -> Vec<Pkt> {
        let mut v: Vec<Pkt> = (0..n)
            .map(|i| {
                (
                    T0 + i * 20 * MS + jitter(i) + extra(i),
                    seq0 + i,
                    ts0 + i * 160,
                    true,
                )
            })
            .collect();
        v.sort_by_key(|p| p.0);
        v
    }

    fn run(packets: &[Pkt]) -> StreamQuality {
        run_with(Some(8000), "PCMU", packets).unwrap()
    }

    fn run_with(clock: Option<u32>, codec: &str, packets: &[Pkt]) -> Option<StreamQuality> {
        let mut acc = QualityAccumulator::new(clock, codec);
        for &(a, s, t, m) in packets {
            acc.push(a, s, t, m);
        }
        acc.finish()
    }

    fn buffer<'a>(q: &'a StreamQuality, name: &str) -> &'a JitterBufferQuality {
        q.buffers
            .iter()
            .find(|b| b.buffer.as_str() == name)
            .unwrap()
    }

    #[test]
    fn clean_stream() {
        let q = run(&stream(500, 1000, 5000, |_| 0));
        assert_eq!(q.codec, "PCMU");
        assert_eq!((q.ie, q.bpl), (0.0, 25.1));
        assert_eq!(q.buffers.len(), 3);
        for b in &q.buffers {
            assert_eq!(b.lost, 0, "{b:?}");
            assert_eq!(b.discarded, 0, "{b:?}");
            assert_eq!(b.effective_loss_pct, 0.0);
            assert!((b.mos - mos_from_r(b.r_factor)).abs() < 1e-12);
            assert!((b.r_factor - r_factor(0.0, 25.1, 0.0, 1.0, b.delay_ms)).abs() < 1e-9);
        }
        let f50 = buffer(&q, "fixed-50");
        let f200 = buffer(&q, "fixed-200");
        let adaptive = buffer(&q, "adaptive-500");
        // The first packet (jitter −1 ms) anchors the fixed buffers: packet i waits depth + jitter(0) − jitter(i),
        // 48-50 ms, 49 on average; plus 20 ms of packetisation.
        assert!((f50.delay_ms - 69.0).abs() < 0.01, "{}", f50.delay_ms);
        assert!((f200.delay_ms - 219.0).abs() < 0.01, "{}", f200.delay_ms);
        // Adaptive: target = min transit + (2 ms of spread + 40 ms margin), i.e. jitter(0) + 42 = 41 ms after the
        // nominal arrival: waits 41 ms on average once grown (it starts at 40), plus 20 ms.
        assert!(
            (adaptive.delay_ms - 61.0).abs() < 0.2,
            "{}",
            adaptive.delay_ms
        );
        assert!(f50.mos >= 4.3, "{f50:?}");
        assert!(adaptive.mos >= 4.3, "{adaptive:?}");
        // Fixed 200 ms: Ta ≈ 219 ms costs Idd ≈ 5.3 and, with T = Ta, talker echo Idte ≈ 3.9 (TELR 65 dB):
        // G.107 puts R near 83.7, MOS ≈ 4.16. Checked against the formula rather than a 4.3 floor.
        assert!(f200.mos > 4.1 && f200.mos < 4.3, "{f200:?}");
        assert!(f50.mos > f200.mos);
        // No loss at all.
        assert_eq!(q.loss_bursts, vec![0; 10]);
        // Deltas 19-22 ms: all in the (20, 30] and (10, 20] buckets.
        let total: u64 = q.delta_histogram.iter().map(|(_, c)| c).sum();
        assert_eq!(total, 499);
        assert_eq!(q.delta_histogram.len(), 11);
        assert_eq!(q.delta_histogram[0], (Some(10.0), 0));
        assert_eq!(q.delta_histogram[1].1 + q.delta_histogram[2].1, 499);
        assert_eq!(q.delta_histogram[10], (None, 0));
    }

    #[test]
    fn periodic_five_percent_loss() {
        // Drop seq offsets 7, 27, ..., 487: 25 of 500, never the first or the last, never adjacent.
        let packets: Vec<Pkt> = stream(500, 0, 0, |_| 0)
            .into_iter()
            .filter(|p| p.1 % 20 != 7)
            .collect();
        let q = run(&packets);
        let clean = run(&stream(500, 0, 0, |_| 0));
        for (b, c) in q.buffers.iter().zip(&clean.buffers) {
            assert_eq!(b.lost, 25);
            assert_eq!(b.discarded, 0);
            assert!((b.effective_loss_pct - 5.0).abs() < 1e-9);
            // Isolated losses: BurstR = 1·(1 − 0.05) clamped to 1.
            assert!((b.r_factor - r_factor(0.0, 25.1, 5.0, 1.0, b.delay_ms)).abs() < 1e-9);
            assert!(b.mos < c.mos);
        }
        let mut expected_bursts = vec![0u64; 10];
        expected_bursts[0] = 25;
        assert_eq!(q.loss_bursts, expected_bursts);
    }

    #[test]
    fn random_loss_counted_exactly() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let all = stream(2000, 0, 0, |_| 0);
        // Drop ~5 % at random, keeping the first and last packets so the expected count is 2000.
        let dropped: Vec<bool> = (0..2000)
            .map(|i| i != 0 && i != 1999 && rng.below(100) < 5)
            .collect();
        let packets: Vec<Pkt> = all
            .iter()
            .copied()
            .filter(|p| !dropped[p.1 as usize])
            .collect();
        let lost = dropped.iter().filter(|&&d| d).count() as u64;
        assert!(lost > 50 && lost < 150, "{lost}");
        // Loss runs by hand.
        let mut hist = vec![0u64; 10];
        let (mut run_len, mut runs) = (0usize, 0u64);
        for &d in dropped.iter().chain(std::iter::once(&false)) {
            if d {
                run_len += 1;
            } else if run_len > 0 {
                hist[run_len.min(10) - 1] += 1;
                runs += 1;
                run_len = 0;
            }
        }
        let q = run(&packets);
        assert_eq!(q.loss_bursts, hist);
        let ppl = lost as f64 / 2000.0 * 100.0;
        let burst_r = ((lost as f64 / runs as f64) * (1.0 - lost as f64 / 2000.0)).max(1.0);
        let clean = run(&all);
        for (b, c) in q.buffers.iter().zip(&clean.buffers) {
            assert_eq!(b.lost, lost);
            assert_eq!(b.discarded, 0);
            assert!((b.effective_loss_pct - ppl).abs() < 1e-9);
            assert!((b.r_factor - r_factor(0.0, 25.1, ppl, burst_r, b.delay_ms)).abs() < 1e-9);
            assert!(b.mos < c.mos);
        }
    }

    #[test]
    fn delay_spike() {
        // The network stalls for 120 ms at packet 100: packets 100-104 all arrive together, 120, 100, 80, 60 and
        // 40 ms behind their nominal time.
        let extra = |i: i64| {
            if (100..=104).contains(&i) {
                (120 - 20 * (i - 100)) * MS
            } else {
                0
            }
        };
        let packets = stream(500, 0, 0, extra);
        let q = run(&packets);
        // Fixed buffers play packet i at (first arrival) + i·20 ms + depth; the first packet has jitter(0) = −1 ms.
        let late_for = |depth: i64| {
            (0..500i64)
                .filter(|&i| {
                    T0 + i * 20 * MS + jitter(i) + extra(i)
                        > T0 + jitter(0) + i * 20 * MS + depth * MS
                })
                .count() as u64
        };
        // Fixed 50: late when extra + jitter > 49 ms: 120, 100, 80, 60 are, 40 is not.
        assert_eq!(late_for(50), 4);
        assert_eq!(late_for(200), 0);
        let f50 = buffer(&q, "fixed-50");
        let f200 = buffer(&q, "fixed-200");
        let adaptive = buffer(&q, "adaptive-500");
        assert_eq!(f50.discarded, late_for(50));
        assert_eq!(f200.discarded, 0);
        for b in &q.buffers {
            assert_eq!(b.lost, 0);
        }
        // Four consecutive discards: one burst of 4 for fixed-50; BurstR = 4·(1 − 4/500) = 3.968.
        assert!((f50.effective_loss_pct - 0.8).abs() < 1e-9);
        let burst_r = 4.0 * (1.0 - 4.0 / 500.0);
        assert!((f50.r_factor - r_factor(0.0, 25.1, 0.8, burst_r, f50.delay_ms)).abs() < 1e-9);
        // Adaptive: starts at ~40 ms like fixed-50 so it loses the first of the stall, then grows (one frame per
        // packet) and keeps the extra delay for a while.
        assert!(
            adaptive.discarded >= 1 && adaptive.discarded <= f50.discarded,
            "{adaptive:?}"
        );
        let clean = run(&stream(500, 0, 0, |_| 0));
        assert!(
            adaptive.delay_ms > buffer(&clean, "adaptive-500").delay_ms + 10.0,
            "{adaptive:?}"
        );
    }

    #[test]
    fn adaptive_follows_sustained_jitter() {
        // Every odd packet takes 70 ms longer.
        let extra = |i: i64| if i % 2 == 1 { 70 * MS } else { 0 };
        let q = run(&stream(500, 0, 0, extra));
        let f50 = buffer(&q, "fixed-50");
        let f200 = buffer(&q, "fixed-200");
        let adaptive = buffer(&q, "adaptive-500");
        // Fixed 50: every odd packet is late (70 + jitter > 49 ms): 250.
        let late_50 = (0..500i64)
            .filter(|&i| extra(i) + jitter(i) > 50 * MS + jitter(0))
            .count() as u64;
        assert_eq!(late_50, 250);
        assert_eq!(f50.discarded, 250);
        assert_eq!(f200.discarded, 0);
        // The adaptive buffer loses a couple while it grows to ~110 ms, then none.
        assert!(adaptive.discarded <= 5, "{adaptive:?}");
        assert!(
            adaptive.delay_ms < f200.delay_ms - 50.0,
            "{adaptive:?} {f200:?}"
        );
        assert!(adaptive.mos > f50.mos && adaptive.mos > f200.mos);
    }

    #[test]
    fn reorder_by_one_is_neither_loss_nor_late() {
        let mut packets = stream(500, 0, 0, |_| 0);
        // Packet 50 arrives 1 ms after packet 51 (21 ms late).
        let i50 = packets.iter().position(|p| p.1 == 50).unwrap();
        packets[i50].0 = packets[i50 + 1].0 + MS;
        packets.swap(i50, i50 + 1);
        let q = run(&packets);
        for b in &q.buffers {
            assert_eq!((b.lost, b.discarded), (0, 0), "{b:?}");
        }
        assert_eq!(q.loss_bursts, vec![0; 10]);
    }

    #[test]
    fn first_captured_packet_reordered() {
        let mut packets = stream(100, 10, 0, |_| 0);
        packets[0].0 = packets[1].0 + MS;
        packets.swap(0, 1); // seq 11 first, then 10
        let q = run(&packets);
        for b in &q.buffers {
            assert_eq!(b.lost, 0);
        }
    }

    #[test]
    fn duplicates_ignored() {
        let clean = stream(500, 0, 0, |_| 0);
        let doubled: Vec<Pkt> = clean
            .iter()
            .flat_map(|&p| [p, (p.0 + MS / 10, p.1, p.2, p.3)])
            .collect();
        assert_eq!(run(&doubled), run(&clean));
    }

    #[test]
    fn huge_extended_values() {
        let reference = run(&stream(500, 0, 0, |_| 0));
        // Extended sequence numbers across a 16-bit wrap, across 2^40, and timestamps far from zero.
        for (seq0, ts0) in [
            (65536 - 250, 0),
            ((1 << 40) - 250, (1 << 50) - 80_000),
            (i64::MAX - 1000, -(1 << 60)),
        ] {
            let q = run(&stream(500, seq0, ts0, |_| 0));
            assert_eq!(q.buffers, reference.buffers, "seq0 {seq0}");
            assert_eq!(q.loss_bursts, reference.loss_bursts);
        }
    }

    #[test]
    fn gap_of_2_pow_40_is_counted_in_constant_time() {
        let mut packets = stream(11, 0, 0, |_| 0);
        packets.extend(
            stream(11, 1 << 40, 0, |_| 0)
                .into_iter()
                .map(|(a, s, t, m)| (a + 1000 * MS, s, t + 11 * 160, m)),
        );
        let q = run(&packets);
        let lost = (1u64 << 40) - 11;
        for b in &q.buffers {
            assert_eq!(b.lost, lost);
            assert!(b.effective_loss_pct > 99.9);
            assert!(b.mos >= 1.0 && b.mos < 1.5);
        }
        let mut bursts = vec![0u64; 10];
        bursts[9] = 1;
        assert_eq!(q.loss_bursts, bursts);
    }

    #[test]
    fn non_media_fills_sequence_but_is_not_played() {
        // Packets 100-109 are telephone-events (timestamp frozen at the event start), then media resumes.
        let packets: Vec<Pkt> = stream(300, 0, 0, |_| 0)
            .into_iter()
            .map(|(a, s, t, m)| {
                if (100..110).contains(&s) {
                    (a, s, 100 * 160, false)
                } else {
                    (a, s, t, m)
                }
            })
            .collect();
        let q = run(&packets);
        for b in &q.buffers {
            assert_eq!((b.lost, b.discarded), (0, 0), "{b:?}");
        }
    }

    #[test]
    fn silence_suppression_talk_spurts() {
        // 200 packets, 2 s of silence (timestamp and arrival jump, sequence continues), 200 more.
        let packets: Vec<Pkt> = stream(400, 0, 0, |i| if i >= 200 { 2000 * MS } else { 0 })
            .into_iter()
            .map(|(a, s, t, m)| (a, s, if s >= 200 { t + 16_000 } else { t }, m))
            .collect();
        let q = run(&packets);
        for b in &q.buffers {
            assert_eq!((b.lost, b.discarded), (0, 0), "{b:?}");
            assert!(b.mos > 4.1);
        }
    }

    #[test]
    fn unknown_clock_rate_or_too_few_packets() {
        let packets = stream(100, 0, 0, |_| 0);
        assert!(run_with(None, "PCMU", &packets).is_none());
        assert!(run_with(Some(0), "PCMU", &packets).is_none());
        assert!(run_with(Some(8000), "PCMU", &packets[..1]).is_none());
        // One media packet plus events: still too few.
        let mostly_events: Vec<Pkt> = packets
            .iter()
            .map(|&(a, s, t, _)| (a, s, t, s == 0))
            .collect();
        assert!(run_with(Some(8000), "PCMU", &mostly_events).is_none());
        assert!(run_with(Some(8000), "PCMU", &packets[..2]).is_some());
        assert!(QualityAccumulator::default().finish().is_none());
    }

    #[test]
    fn absurd_inputs_do_not_panic() {
        let specials = [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX - 1,
            i64::MAX,
            1 << 40,
            -(1 << 40),
        ];
        for seed in 1..40u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
            let clock = [Some(8000), Some(1), Some(u32::MAX), Some(48000)][rng.below(4)];
            let mut acc = QualityAccumulator::new(clock, "PCMU");
            let (mut arrival, mut seq, mut ts) = (0i64, 0i64, 0i64);
            for _ in 0..400 {
                let pick = |rng: &mut XorShift, prev: i64, step: i64| match rng.below(6) {
                    0 => specials[rng.below(specials.len())],
                    1 => rng.next() as i64,
                    2 => prev.wrapping_add(1 << 40),
                    3 => prev.wrapping_sub(rng.below(300) as i64),
                    _ => prev.wrapping_add(step),
                };
                arrival = pick(&mut rng, arrival, 20 * MS);
                seq = pick(&mut rng, seq, 1);
                ts = pick(&mut rng, ts, 160);
                acc.push(arrival, seq, ts, rng.below(5) != 0);
            }
            if let Some(q) = acc.finish() {
                for b in &q.buffers {
                    assert!(
                        b.r_factor.is_finite()
                            && b.delay_ms.is_finite()
                            && b.effective_loss_pct.is_finite(),
                        "{b:?}"
                    );
                    assert!((1.0..=4.5).contains(&b.mos));
                    assert!((0.0..=100.0).contains(&b.effective_loss_pct));
                }
            }
        }
    }
}
