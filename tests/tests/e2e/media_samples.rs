//! The media samples (`tests/src/samples/media.rs`) show what their READMEs say: losses counted as the generator
//! made them, the audio on the RTP timeline, each direction's tone at its frequency (Goertzel, within 1 %), the
//! wideband codecs at their own rates, and an SRTP-over-TLS call that raises no clear-text finding.

use std::path::{Path, PathBuf};

use earshot_core::audio::{
    self, AudioRequest, ManualKey, StreamAudio, TimelineOptions, TimingMode,
};
use earshot_core::model::Analysis;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::samples::media::{
    G722_TONES, LOSSY_PACKETS, LOSSY_TONES, OPUS_TONES, SRTP_TLS_SSRC, SRTP_TLS_TONES, lossy_plan,
    srtp_over_tls_key,
};
use earshot_e2e::samples_dir;
use earshot_e2e::signal::strongest;

fn sample(name: &str) -> PathBuf {
    samples_dir().join(name).join(format!("{name}.pcap"))
}

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn decode(path: &Path, a: &Analysis, mode: TimingMode, keys: Vec<ManualKey>) -> Vec<StreamAudio> {
    let req = AudioRequest {
        streams: a.streams.iter().map(|s| s.index).collect(),
        timeline: TimelineOptions {
            mode,
            ..Default::default()
        },
        keys,
        ..Default::default()
    };
    audio::decode_streams(path, a, &req, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

/// The strongest frequency between 100 Hz and `rate`/2 − 100 Hz in 1 Hz steps, on one second from the middle of
/// `x` (a 10 Hz sweep, then 1 Hz around its peak).
fn peak_hz(x: &[i16], rate: u32) -> f64 {
    let n = rate as usize;
    let mid = x.len() / 2;
    let x = &x[mid.saturating_sub(n / 2)..(mid + n / 2).min(x.len())];
    let coarse = strongest(x, rate, (10..rate / 20).map(|f| f * 10));
    f64::from(strongest(x, rate, coarse - 15..=coarse + 15))
}

fn assert_tone(what: &str, x: &[i16], rate: u32, want: f64) {
    let f = peak_hz(x, rate);
    assert!(
        (f - want).abs() <= want / 100.0,
        "{what}: peak at {f} Hz, want {want} Hz"
    );
}

/// The tone each direction should carry: stream sent by the caller → tones[0].
fn tone_of(a: &Analysis, d: &StreamAudio, caller: std::net::IpAddr, tones: [f64; 2]) -> f64 {
    if a.streams[d.stream_index].src.map(|s| s.ip()) == Some(caller) {
        tones[0]
    } else {
        tones[1]
    }
}

#[test]
fn lossy_call_counts_the_losses_the_generator_made() {
    let path = sample("lossy-call");
    let a = analyse(&path);
    assert_eq!(a.streams.len(), 2);
    let caller: std::net::IpAddr = "10.1.0.20".parse().unwrap();
    for s in &a.streams {
        let dir = u8::from(s.src.map(|a| a.ip()) != Some(caller));
        let plan = lossy_plan(dir);
        let dropped = plan.iter().filter(|f| f.drop).count() as i64;
        let dups = plan.iter().filter(|f| f.duplicate).count() as u64;
        assert_eq!(
            dropped,
            i64::from(LOSSY_PACKETS) / 20,
            "5 % of each direction"
        );
        assert_eq!(s.expected, u64::from(LOSSY_PACKETS));
        assert_eq!(s.packets, u64::from(LOSSY_PACKETS) - dropped as u64 + dups);
        assert_eq!(s.duplicates, dups, "stream {}", s.index);
        // RFC 3550 (and TShark): lost = expected − received, so a duplicate hides one loss.
        assert_eq!(s.lost, dropped - dups as i64, "stream {}", s.index);
        let q = s.quality.as_ref().unwrap();
        for b in &q.buffers {
            assert_eq!(b.lost, dropped as u64, "{}: true losses", b.buffer);
        }
        // 1-6 packet bursts, as generated.
        let runs = plan
            .split(|f| !f.drop)
            .filter(|r| !r.is_empty())
            .map(|r| r.len())
            .collect::<Vec<_>>();
        assert!(runs.iter().all(|&r| (1..=6).contains(&r)));
        let late = plan.iter().filter(|f| f.delay_us > 50_000).count();
        assert!(late > 5, "some packets more than 50 ms late ({late})");
        assert!(s.out_of_order > 0, "reordered packets seen");
        let j = s.max_jitter_ms.unwrap();
        assert!(j > 10.0 && j < 80.0, "max jitter {j}");
    }
    let decoded = decode(&path, &a, TimingMode::RtpTimestamp, vec![]);
    for d in &decoded {
        assert_eq!(d.decoded.rate_hz, 8000);
        // The whole RTP span: 1500 packets of 160 samples (the first and last packets always arrive).
        assert_eq!(d.decoded.samples.len(), LOSSY_PACKETS as usize * 160);
        let want = tone_of(&a, d, caller, LOSSY_TONES);
        assert_tone("lossy-call", &d.decoded.samples, 8000, want);
    }
}

#[test]
fn g722_call_decodes_wideband_tones() {
    let path = sample("g722-call");
    let a = analyse(&path);
    assert_eq!(a.streams.len(), 2);
    let caller: std::net::IpAddr = "10.1.0.30".parse().unwrap();
    for d in decode(&path, &a, TimingMode::RtpTimestamp, vec![]) {
        let s = &a.streams[d.stream_index];
        assert_eq!(
            (s.codec.as_str(), s.payload_type, s.clock_rate_hz),
            ("G722", 9, Some(8000))
        );
        assert!(d.playable, "{}", d.status);
        assert_eq!(d.decoded.rate_hz, 16_000);
        assert_eq!(d.decoded.samples.len(), 160_000, "10 s at 16 kHz");
        assert_eq!(d.decoded.stats.decode_errors, 0);
        let want = tone_of(&a, &d, caller, G722_TONES);
        assert_tone("g722-call", &d.decoded.samples, 16_000, want);
    }
}

#[test]
fn opus_call_decodes_at_48_khz() {
    check_opus_call(&sample("opus-call"));
}

/// The Opus encoder's bytes depend on the CPU (opus-rs picks AVX/FMA paths at run time), so the committed sample is
/// compared by layout only (`samples.rs`); what this machine's encoder makes must carry the same tones.
#[test]
fn opus_call_regenerated_here_decodes_to_its_tones() {
    let sample = earshot_e2e::samples::by_name("opus-call").unwrap();
    let mut bytes = Vec::new();
    (sample.write)(&mut bytes).unwrap();
    let path = std::env::temp_dir().join(format!("earshot-opus-here-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    check_opus_call(&path);
    let _ = std::fs::remove_file(&path);
}

fn check_opus_call(path: &Path) {
    let path = path.to_path_buf();
    let a = analyse(&path);
    assert_eq!(a.streams.len(), 2);
    let caller: std::net::IpAddr = "10.1.0.40".parse().unwrap();
    for d in decode(&path, &a, TimingMode::RtpTimestamp, vec![]) {
        let s = &a.streams[d.stream_index];
        assert_eq!(
            (s.payload_type, s.clock_rate_hz),
            (111, Some(48_000)),
            "{}",
            s.codec
        );
        assert!(s.codec.eq_ignore_ascii_case("opus"), "{}", s.codec);
        assert!(d.playable, "{}", d.status);
        assert_eq!(d.decoded.rate_hz, 48_000);
        assert_eq!(d.decoded.samples.len(), 480_000, "10 s at 48 kHz");
        assert_eq!(d.decoded.stats.decode_errors, 0);
        let want = tone_of(&a, &d, caller, OPUS_TONES);
        assert_tone("opus-call", &d.decoded.samples, 48_000, want);
    }
}

#[test]
fn srtp_over_tls_raises_no_clear_text_finding() {
    let path = sample("srtp-over-tls");
    let a = analyse(&path);
    let raised: Vec<&str> = a.findings.iter().map(|f| f.rule_id.as_str()).collect();
    for rule in ["plaintext-sip", "unencrypted-media", "srtp-keys-exposed"] {
        assert!(!raised.contains(&rule), "{rule} raised: {raised:?}");
    }
    assert_eq!(a.summary.sip_messages, 0);
    assert_eq!(a.tls.len(), 1);
    let t = &a.tls[0];
    assert_eq!(t.client.to_string(), "10.1.0.50:50123");
    assert_eq!(t.server.to_string(), "10.0.0.1:5061");
    assert_eq!(t.version, "TLS 1.2");
    assert_eq!(t.version_source, "ServerHello");
    assert_eq!(a.exposure.tls_connections, 1);
    assert_eq!(a.exposure.reconstructable_streams, 0);
    assert_eq!(a.streams.len(), 2);
    for s in &a.streams {
        assert_eq!(s.encryption.as_str(), "srtp", "stream {}", s.index);
        assert_eq!(s.packets, 500);
    }
    // Without the keys nothing plays.
    for d in decode(&path, &a, TimingMode::RtpTimestamp, vec![]) {
        assert!(!d.playable, "{}", d.status);
    }
    // With the keys given by hand (they were only ever inside TLS), each direction is its tone.
    use base64::Engine;
    let keys = (0..2u8)
        .map(|dir| {
            format!(
                "0x{:08X}:AES_CM_128_HMAC_SHA1_80:{}",
                SRTP_TLS_SSRC[usize::from(dir)],
                base64::engine::general_purpose::STANDARD.encode(srtp_over_tls_key(dir))
            )
            .parse()
            .unwrap()
        })
        .collect();
    let caller: std::net::IpAddr = "10.1.0.50".parse().unwrap();
    for d in decode(&path, &a, TimingMode::RtpTimestamp, keys) {
        let x = d.srtp.as_ref().unwrap_or_else(|| panic!("{}", d.status));
        assert_eq!((x.verified, x.auth_failures), (500, 0), "{}", d.status);
        assert_eq!(d.decoded.samples.len(), 80_000);
        let want = tone_of(&a, &d, caller, SRTP_TLS_TONES);
        assert_tone("srtp-over-tls", &d.decoded.samples, 8000, want);
    }
}

#[test]
fn dtmf_call_reads_rfc4733_and_sip_info_digits() {
    use earshot_e2e::samples::media::{DTMF_INFO_DIGITS, DTMF_RTP_DIGITS, DTMF_TONES};
    let path = sample("dtmf-call");
    let a = analyse(&path);
    assert_eq!(a.summary.sip_messages, 15);
    assert_eq!(a.summary.sip_retransmissions, 0);
    let c = &a.calls[0];
    assert_eq!(c.dtmf, format!("{DTMF_RTP_DIGITS}{DTMF_INFO_DIGITS}"));
    let sources: Vec<&str> = c.dtmf_events.iter().map(|e| e.source).collect();
    assert_eq!(
        sources,
        [["rfc4733"; 5].as_slice(), &["sip-info"; 4]].concat()
    );
    for e in &c.dtmf_events {
        assert_eq!(e.duration_ms, Some(160.0), "{}", e.digit);
        assert!(e.ended);
    }
    assert!(a.findings.iter().any(|f| f.rule_id == "dtmf-secret"));
    let caller: std::net::IpAddr = "10.1.0.60".parse().unwrap();
    for d in decode(&path, &a, TimingMode::RtpTimestamp, vec![]) {
        assert_eq!(d.decoded.samples.len(), 80_000);
        let want = tone_of(&a, &d, caller, DTMF_TONES);
        assert_tone("dtmf-call", &d.decoded.samples, 8000, want);
        if a.streams[d.stream_index].src.map(|s| s.ip()) == Some(caller) {
            assert_eq!(d.decoded.stats.dtmf_packets, 50, "5 digits × 10 packets");
        }
    }
}
