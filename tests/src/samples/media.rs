//! Media scenarios for trainers (codecs, loss and jitter, encrypted calls). Each caller sends one steady tone and
//! each callee another, so the audio is easy to check by ear and by test.

mod call;
mod tls;

use std::io::{self, Write};
use std::net::Ipv4Addr;

use super::{Reproduce, Sample};
use call::{Call, Event, Fate, Media};

pub use call::Rng;

pub static SAMPLES: &[Sample] = &[
    Sample {
        name: "lossy-call",
        summary: "30 s G.711 call over a bad network: 5 % loss in bursts, up to 80 ms jitter, reordering, one duplicate",
        findings: &["plaintext-sip", "unencrypted-media"],
        write: write_lossy_call,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "g722-call",
        summary: "10 s wideband G.722 call (PT 9, 8000 Hz RTP clock, 16 kHz audio): 700 Hz caller, 3500 Hz callee",
        findings: &["plaintext-sip", "unencrypted-media"],
        write: write_g722_call,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "opus-call",
        summary: "10 s Opus call (PT 111, opus/48000/2, 20 ms packets): 500 Hz caller, 2500 Hz callee",
        findings: &["plaintext-sip", "unencrypted-media"],
        write: write_opus_call,
        reproduce: Reproduce::Layout { float_pt: 111 },
    },
    Sample {
        name: "srtp-over-tls",
        summary: "SIP over TLS 1.2 (TCP 5061, nothing readable) and SRTP media whose keys are not in the capture",
        findings: &[],
        write: write_srtp_over_tls,
        reproduce: Reproduce::Bytes,
    },
    Sample {
        name: "dtmf-call",
        summary: "10 s G.711 call: the caller keys 1234# as RFC 4733 events, then 5678 as SIP INFO",
        findings: &["plaintext-sip", "unencrypted-media", "dtmf-secret"],
        write: write_dtmf_call,
        reproduce: Reproduce::Bytes,
    },
];

const EPOCH_2026: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000_000_000;

/// Tones (Hz) of the lossy call: caller, callee.
pub const LOSSY_TONES: [f64; 2] = [600.0, 1400.0];
/// Tones (Hz) of the G.722 call.
pub const G722_TONES: [f64; 2] = [700.0, 3500.0];
/// Tones (Hz) of the Opus call.
pub const OPUS_TONES: [f64; 2] = [500.0, 2500.0];
/// Tones (Hz) inside the SRTP of `srtp-over-tls` (audible only with [`srtp_over_tls_key`]).
pub const SRTP_TLS_TONES: [f64; 2] = [800.0, 1600.0];

/// Packets per direction of the lossy call (30 s of 20 ms packets).
pub const LOSSY_PACKETS: u32 = 1500;

fn tone(freq: f64, rate: u32, from: u64, n: usize, amp: f64) -> Vec<i16> {
    (0..n as u64)
        .map(|k| {
            let t = (from + k) as f64 / f64::from(rate);
            (crate::signal::sin(t * freq * std::f64::consts::TAU) * amp) as i16
        })
        .collect()
}

fn ulaw_payloads(freq: f64, packets: u32) -> Vec<Vec<u8>> {
    (0..packets)
        .map(|n| {
            tone(freq, 8000, u64::from(n) * 160, 160, 8000.0)
                .into_iter()
                .map(crate::r#gen::linear_to_ulaw)
                .collect()
        })
        .collect()
}

/// What happens to each packet of the lossy call in direction `dir` (0 = caller → callee): dropped, delayed,
/// duplicated. Fixed seeds: the same plan every time. Exactly 5 % of each direction is lost, in bursts of 1-6
/// packets, never the first or last 50; most packets are 0-20 ms late, about 1.5 % are 50-80 ms late (and so
/// overtaken by the next packets); one packet of the caller's direction (the first received from number 700 on)
/// arrives twice.
pub fn lossy_plan(dir: u8) -> Vec<Fate> {
    let n = LOSSY_PACKETS as usize;
    let mut rng = Rng::new(0x5EED_0000 + u64::from(dir));
    let mut fates = vec![Fate::default(); n];
    let target = n / 20;
    let mut lost = 0;
    while lost < target {
        let len = (1 + rng.below(6) as usize).min(target - lost);
        let start = 50 + rng.below((n - 100 - len) as u64) as usize;
        // Bursts are kept apart (a received packet on each side) so each is one gap.
        if fates[start - 1..start + len + 1].iter().any(|f| f.drop) {
            continue;
        }
        for f in &mut fates[start..start + len] {
            f.drop = true;
        }
        lost += len;
    }
    for f in &mut fates {
        let late = rng.below(1000) < 15;
        f.delay_us = if late {
            50_000 + rng.below(30_001) as i64
        } else {
            rng.below(20_001) as i64
        };
    }
    if dir == 0 {
        let dup = (700..n).find(|&i| !fates[i].drop).unwrap_or(700);
        fates[dup].duplicate = true;
    }
    fates
}

fn write_lossy_call(out: &mut dyn Write) -> io::Result<()> {
    let caller = Ipv4Addr::new(10, 1, 0, 20);
    let callee = Ipv4Addr::new(10, 2, 0, 20);
    let call = Call {
        t0: EPOCH_2026 + 9 * HOUR,
        call_id: "lossy-1@example.org",
        caller_user: "1001",
        callee_user: "5001",
        caller,
        callee,
        caller_rtp: 20_002,
        callee_rtp: 40_002,
        media: Media {
            formats: "0 101",
            attrs: "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n",
            pt: 0,
            ts_step: 160,
        },
        ssrc: [0x4C05_5101, 0x4C05_5102],
        payloads: [
            ulaw_payloads(LOSSY_TONES[0], LOSSY_PACKETS),
            ulaw_payloads(LOSSY_TONES[1], LOSSY_PACKETS),
        ],
        fates: [lossy_plan(0), lossy_plan(1)],
        srtp_keys: None,
        events: Default::default(),
        requests: Vec::new(),
    };
    call.write(out)
}

fn write_g722_call(out: &mut dyn Write) -> io::Result<()> {
    use audio_codec::Encoder;
    let packets = 500u32;
    let payloads = |freq: f64| -> Vec<Vec<u8>> {
        let mut enc = audio_codec::g722::G722Encoder::new();
        let pcm = tone(freq, 16_000, 0, packets as usize * 320, 8000.0);
        pcm.chunks(320).map(|c| enc.encode(c)).collect()
    };
    let call = Call {
        t0: EPOCH_2026 + 10 * HOUR,
        call_id: "g722-1@example.org",
        caller_user: "1002",
        callee_user: "5002",
        caller: Ipv4Addr::new(10, 1, 0, 30),
        callee: Ipv4Addr::new(10, 2, 0, 30),
        caller_rtp: 20_004,
        callee_rtp: 40_004,
        media: Media {
            formats: "9 101",
            attrs: "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n",
            pt: 9,
            ts_step: 160,
        },
        ssrc: [0x6722_0001, 0x6722_0002],
        payloads: [payloads(G722_TONES[0]), payloads(G722_TONES[1])],
        fates: [
            vec![Fate::default(); packets as usize],
            vec![Fate::default(); packets as usize],
        ],
        srtp_keys: None,
        events: Default::default(),
        requests: Vec::new(),
    };
    call.write(out)
}

fn write_opus_call(out: &mut dyn Write) -> io::Result<()> {
    use audio_codec::Encoder;
    let packets = 500u32;
    let payloads = |freq: f64| -> Vec<Vec<u8>> {
        let mut enc = audio_codec::opus::OpusEncoder::new(48_000, 1);
        let pcm = tone(freq, 48_000, 0, packets as usize * 960, 8000.0);
        pcm.chunks(960).map(|c| enc.encode(c)).collect()
    };
    let call = Call {
        t0: EPOCH_2026 + 11 * HOUR,
        call_id: "opus-1@example.org",
        caller_user: "1003",
        callee_user: "5003",
        caller: Ipv4Addr::new(10, 1, 0, 40),
        callee: Ipv4Addr::new(10, 2, 0, 40),
        caller_rtp: 20_006,
        callee_rtp: 40_006,
        media: Media {
            formats: "111 101",
            attrs: "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
                    a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n",
            pt: 111,
            ts_step: 960,
        },
        ssrc: [0x0905_0001, 0x0905_0002],
        payloads: [payloads(OPUS_TONES[0]), payloads(OPUS_TONES[1])],
        fates: [
            vec![Fate::default(); packets as usize],
            vec![Fate::default(); packets as usize],
        ],
        srtp_keys: None,
        events: Default::default(),
        requests: Vec::new(),
    };
    call.write(out)
}

/// The SRTP master key‖salt of `srtp-over-tls`'s direction `dir` (0 = caller → callee). It travelled inside the
/// TLS-protected SDP, so it is nowhere in the capture; tests give it by hand to check the audio underneath.
pub fn srtp_over_tls_key(dir: u8) -> [u8; 30] {
    let mut rng = Rng::new(0x7E57_5EC2 + u64::from(dir));
    let mut k = [0u8; 30];
    for b in &mut k {
        *b = rng.below(256) as u8;
    }
    k
}

/// SSRCs of `srtp-over-tls` (caller → callee, callee → caller).
pub const SRTP_TLS_SSRC: [u32; 2] = [0x5EC0_0001, 0x5EC0_0002];

fn write_srtp_over_tls(out: &mut dyn Write) -> io::Result<()> {
    let packets = 500u32;
    let call = Call {
        t0: EPOCH_2026 + 12 * HOUR,
        call_id: "",
        caller_user: "",
        callee_user: "",
        caller: Ipv4Addr::new(10, 1, 0, 50),
        callee: Ipv4Addr::new(10, 2, 0, 50),
        caller_rtp: 16_384,
        callee_rtp: 31_522,
        media: Media {
            formats: "",
            attrs: "",
            pt: 0,
            ts_step: 160,
        },
        ssrc: SRTP_TLS_SSRC,
        payloads: [
            ulaw_payloads(SRTP_TLS_TONES[0], packets),
            ulaw_payloads(SRTP_TLS_TONES[1], packets),
        ],
        fates: [
            vec![Fate::default(); packets as usize],
            vec![Fate::default(); packets as usize],
        ],
        srtp_keys: Some([srtp_over_tls_key(0), srtp_over_tls_key(1)]),
        events: Default::default(),
        requests: Vec::new(),
    };
    call.write_over_tls(out)
}

/// Digits of `dtmf-call`: RFC 4733 in the caller's RTP, then SIP INFO (`application/dtmf-relay`).
pub const DTMF_RTP_DIGITS: &str = "1234#";
pub const DTMF_INFO_DIGITS: &str = "5678";
/// Tones (Hz) of `dtmf-call`'s audio: caller, callee.
pub const DTMF_TONES: [f64; 2] = [440.0, 1000.0];
/// The caller's packet slot where each RFC 4733 digit starts (10 packets each: 7 growing, 3 end-of-event).
pub const DTMF_FIRST_SLOT: u32 = 100;
pub const DTMF_SLOT_STEP: u32 = 25;

fn write_dtmf_call(out: &mut dyn Write) -> io::Result<()> {
    let packets = 500u32;
    let ssrc = [0xD7F0_0001u32, 0xD7F0_0002];
    let mut events = vec![None; packets as usize];
    for (i, d) in DTMF_RTP_DIGITS.chars().enumerate() {
        let code = match d {
            '*' => 10,
            '#' => 11,
            c => c.to_digit(10).unwrap_or(0) as u8,
        };
        let first = DTMF_FIRST_SLOT + i as u32 * DTMF_SLOT_STEP;
        let ts = (ssrc[0] & 0xffff).wrapping_add(first * 160);
        for k in 0..10u32 {
            let end = k >= 7;
            let duration = (k.min(7) + 1) as u16 * 160;
            let mut payload = vec![code, if end { 0x80 } else { 0 } | 10];
            payload.extend_from_slice(&duration.to_be_bytes());
            events[(first + k) as usize] = Some(Event {
                pt: 101,
                marker: k == 0,
                ts,
                payload,
            });
        }
    }
    let requests = DTMF_INFO_DIGITS
        .chars()
        .enumerate()
        .map(|(i, d)| {
            (
                6000 + i as i64 * 500,
                "application/dtmf-relay",
                format!("Signal={d}\r\nDuration=160\r\n"),
            )
        })
        .collect();
    let call = Call {
        t0: EPOCH_2026 + 13 * HOUR,
        call_id: "dtmf-1@example.org",
        caller_user: "1005",
        callee_user: "5005",
        caller: Ipv4Addr::new(10, 1, 0, 60),
        callee: Ipv4Addr::new(10, 2, 0, 60),
        caller_rtp: 20_010,
        callee_rtp: 40_010,
        media: Media {
            formats: "0 101",
            attrs: "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n",
            pt: 0,
            ts_step: 160,
        },
        ssrc,
        payloads: [
            ulaw_payloads(DTMF_TONES[0], packets),
            ulaw_payloads(DTMF_TONES[1], packets),
        ],
        fates: [
            vec![Fate::default(); packets as usize],
            vec![Fate::default(); packets as usize],
        ],
        srtp_keys: None,
        events: [events, Vec::new()],
        requests,
    };
    call.write(out)
}
