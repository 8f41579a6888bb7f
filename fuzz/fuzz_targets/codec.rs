//! Every codec decoder Earshot has (`codec::decoder_for` over each spec, the libavcodec ones included): payloads
//! decoded in sequence on one decoder with concealment between them, and RFC 3389 comfort noise.
//!
//! Input: byte 0 picks the codec spec, then payloads as `len (1 byte) ‖ bytes`; a zero length conceals 20 ms.
#![no_main]

use earshot_core::codec::{CodecSpec, ComfortNoise, decoder_for};
use libfuzzer_sys::fuzz_target;

const SPECS: &[(&str, u32, u8, Option<&str>)] = &[
    ("PCMU", 8000, 1, None),
    ("PCMA", 8000, 1, None),
    ("L16", 8000, 1, None),
    ("L16", 44100, 2, None),
    ("L8", 8000, 1, None),
    ("G722", 8000, 1, None),
    ("G729", 8000, 1, None),
    ("G729", 8000, 1, Some("annexb=no")),
    ("opus", 48000, 2, None),
    ("GSM", 8000, 1, None),
    ("iLBC", 8000, 1, Some("mode=30")),
    ("iLBC", 8000, 1, Some("mode=20")),
    ("speex", 8000, 1, None),
    ("speex", 16000, 1, None),
    ("speex", 32000, 1, None),
    ("G721", 8000, 1, None),
    ("G726-16", 8000, 1, None),
    ("G726-24", 8000, 1, None),
    ("G726-32", 8000, 1, None),
    ("G726-40", 8000, 1, None),
    ("AAL2-G726-16", 8000, 1, None),
    ("AAL2-G726-32", 8000, 1, None),
    ("AAL2-G726-40", 8000, 1, None),
    ("G723", 8000, 1, None),
    ("AMR", 8000, 1, None),
    ("AMR", 8000, 1, Some("octet-align=1")),
    ("AMR-WB", 16000, 1, None),
    ("AMR-WB", 16000, 1, Some("octet-align=1")),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let (name, rate, channels, fmtp) = SPECS[usize::from(sel) % SPECS.len()];
    let spec = CodecSpec {
        name: name.into(),
        clock_rate_hz: rate,
        channels,
        fmtp: fmtp.map(String::from),
    };
    let mut cn = ComfortNoise::default();
    let mut out = Vec::new();
    if let Ok(mut dec) = decoder_for(&spec) {
        let rate = dec.sample_rate_hz();
        assert!(rate > 0);
        while let [len, body @ ..] = rest {
            let (payload, tail) = body.split_at(usize::from(*len).min(body.len()));
            rest = tail;
            let before = out.len();
            if payload.is_empty() {
                dec.conceal(rate as usize / 50, &mut out);
                assert_eq!(out.len() - before, rate as usize / 50);
            } else if let Ok(n) = dec.decode(payload, &mut out) {
                assert_eq!(out.len() - before, n);
            }
            // Bounded output: no payload of 255 bytes expands past a second of audio per packet.
            assert!(
                out.len() - before <= rate as usize * 8,
                "{name}: {} samples",
                out.len() - before
            );
            out.clear();
        }
    }
    if cn.update(data).is_ok() {
        cn.fill(160, 8000, &mut out);
        assert_eq!(out.len(), 160);
    }
});
