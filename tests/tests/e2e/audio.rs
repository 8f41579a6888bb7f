//! Audio end to end: the shared codec captures decode to speech whose length matches the RTP timeline (RTP
//! timestamps read by TShark, not by Earshot); exported WAVs read back with symphonia; tones survive the whole
//! path (capture → timeline → mix → WAV) at the right frequency on the right channel; SRTP decrypts with keys from
//! plaintext SDP (a capture whose SRTP was made by an independent implementation) and with a key given by hand
//! (marseillaise-srtp.pcap, made by libsrtp); the three timing modes place packets as documented.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use earshot_core::audio::{
    self, AudioRequest, ManualKey, StreamAudio, TimelineOptions, TimingMode, wav,
};
use earshot_core::model::Analysis;
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::pcapw::{self, Frame};
use earshot_e2e::signal::{goertzel, rms, strongest};
use earshot_e2e::{captures_dir, read_wav, samples_dir};

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn decode(
    path: &Path,
    a: &Analysis,
    streams: Vec<usize>,
    mode: TimingMode,
    keys: Vec<ManualKey>,
) -> Vec<StreamAudio> {
    let req = AudioRequest {
        streams,
        timeline: TimelineOptions {
            mode,
            ..Default::default()
        },
        keys,
        ..Default::default()
    };
    audio::decode_streams(path, a, &req, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

/// The strongest frequency between `lo` and `hi` Hz in 1 Hz steps.
fn peak_hz(x: &[i16], rate: u32, lo: u32, hi: u32) -> f64 {
    f64::from(strongest(x, rate, lo..=hi))
}

/// Speech, not noise and not silence: loud enough, not clipped, and its 20 ms energies vary like speech (more
/// than 15 dB between the quiet and loud tenth; white noise from a wrong decoder varies by 2-3 dB).
fn assert_speech_like(what: &str, x: &[i16], rate: u32) {
    let r = rms(x);
    assert!(r > 200.0 && r < 12_000.0, "{what}: RMS {r:.0}");
    let clipped = x
        .iter()
        .filter(|&&v| v == i16::MAX || v == i16::MIN)
        .count();
    assert!(
        clipped * 1000 < x.len(),
        "{what}: {clipped} clipped samples"
    );
    let frame = (rate / 50) as usize;
    let mut db: Vec<f64> = x
        .chunks(frame)
        .filter(|c| c.len() == frame)
        .map(|c| 10.0 * (rms(c).powi(2) + 1.0).log10())
        .collect();
    db.sort_by(f64::total_cmp);
    let (p10, p90) = (db[db.len() / 10], db[db.len() * 9 / 10]);
    assert!(
        p90 - p10 > 15.0,
        "{what}: 20 ms energies vary only {:.1} dB",
        p90 - p10
    );
}

/// RTP timestamps of one SSRC, as TShark reads them (an independent reader).
fn tshark_rtp_timestamps(path: &Path, ssrc: u32) -> Vec<u32> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-o", "rtp.heuristic_rtp:TRUE", "-Y"])
        .arg(format!("rtp.ssrc == 0x{ssrc:08x}"))
        .args(["-T", "fields", "-e", "rtp.timestamp"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

struct Case {
    file: &'static str,
    /// Output rate and the RTP clock of the stream's codec.
    rate: u32,
    clock: u32,
    /// Samples one packet carries at the output rate.
    per_packet: usize,
}

#[test]
fn codec_captures_decode_to_speech_on_the_rtp_timeline() {
    let cases = [
        Case {
            file: "sip-rtp-g711.pcap",
            rate: 8000,
            clock: 8000,
            per_packet: 160,
        },
        Case {
            file: "sip-rtp-g722.pcap",
            rate: 16000,
            clock: 8000,
            per_packet: 320,
        },
        Case {
            file: "sip-rtp-g729a.pcap",
            rate: 8000,
            clock: 8000,
            per_packet: 160,
        },
        Case {
            file: "sip-rtp-gsm.pcap",
            rate: 8000,
            clock: 8000,
            per_packet: 160,
        },
        Case {
            file: "sip-rtp-ilbc.pcap",
            rate: 8000,
            clock: 8000,
            per_packet: 240,
        },
        Case {
            file: "sip-rtp-opus.pcap",
            rate: 48000,
            clock: 48000,
            per_packet: 960,
        },
        Case {
            file: "sip-rtp-speex.pcap",
            rate: 0,
            clock: 0,
            per_packet: 0,
        },
        Case {
            file: "SIP_DTMF2.cap",
            rate: 8000,
            clock: 8000,
            per_packet: 160,
        },
    ];
    for case in cases {
        let path = captures_dir().join(case.file);
        let a = analyse(&path);
        let streams: Vec<usize> = a
            .streams
            .iter()
            .filter(|s| s.kind == earshot_core::model::StreamKind::Rtp)
            .map(|s| s.index)
            .collect();
        assert!(!streams.is_empty(), "{}", case.file);
        let decoded = decode(&path, &a, streams, TimingMode::RtpTimestamp, vec![]);
        for d in &decoded {
            let s = &a.streams[d.stream_index];
            let what = format!("{} stream {} ({})", case.file, s.index, s.codec);
            assert!(d.playable, "{what}: {}", d.status);
            // Speex comes at 8, 16 and 32 kHz in one file: its rate is the RTP clock.
            let (rate, clock, per_packet) = if case.rate == 0 {
                let c = s.clock_rate_hz.unwrap();
                (c, c, c as usize / 50)
            } else {
                (case.rate, case.clock, case.per_packet)
            };
            assert_eq!(d.decoded.rate_hz, rate, "{what}");
            // Duration against the RTP timeline (TShark's timestamps): span of the timestamps plus one packet.
            let ts = tshark_rtp_timestamps(&path, s.ssrc);
            let span = u64::from(ts.last().unwrap().wrapping_sub(ts[0]));
            // The last packet's duration: the stream's usual timestamp step (20 or 30 ms packets).
            let mut steps: Vec<u32> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
            steps.sort_unstable();
            let step = steps[steps.len() / 2] as usize * rate as usize / clock as usize;
            assert!(
                step == per_packet || case.file == "SIP_DTMF2.cap",
                "{what}: step {step}"
            );
            let expected = span as usize * rate as usize / clock as usize + step;
            assert_eq!(
                d.decoded.samples.len(),
                expected,
                "{what}: samples vs RTP timeline"
            );
            assert_eq!(d.decoded.stats.decode_errors, 0, "{what}");
            assert_eq!(
                d.decoded.stats.lost,
                s.lost.max(0) as u64,
                "{what}: losses as the analysis counted"
            );
            if s.ssrc == 0x9A7B_5382 {
                // SIP_DTMF2's 192.168.105.110 side carries only line background (its spectrogram shows no speech,
                // peaks at −41 dBFS): decoded, quiet, and not the loud flat noise a wrong decoder would make.
                let r = rms(&d.decoded.samples);
                assert!(r > 10.0 && r < 300.0, "{what}: RMS {r:.0}");
                continue;
            }
            assert_speech_like(&what, &d.decoded.samples, rate);
        }
    }
}

#[test]
fn dtmf_events_are_not_played_as_sound() {
    let path = captures_dir().join("SIP_DTMF2.cap");
    let a = analyse(&path);
    let s = a.streams.iter().find(|s| s.ssrc == 0x5711_BF84).unwrap();
    let d = &decode(&path, &a, vec![s.index], TimingMode::RtpTimestamp, vec![])[0];
    let events = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            "rtp.ssrc == 0x5711bf84 && rtpevent",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .unwrap();
    let n = String::from_utf8_lossy(&events.stdout).lines().count() as u64;
    assert!(n > 0);
    assert_eq!(
        d.decoded.stats.dtmf_packets, n,
        "telephone-event packets (TShark's count)"
    );
    let marks = d
        .decoded
        .marks
        .iter()
        .filter(|m| matches!(m.kind, audio::MarkKind::Dtmf { .. }))
        .count();
    assert_eq!(marks, 7, "one mark per digit of 6789123");
    // During each event the timeline holds no decoded sound (the events' RTP span is not filled with noise).
    for e in &s.dtmf {
        let start = ((e.ts_nanos - d.decoded.start_ts_nanos) as f64 / 1e9 * 8000.0) as usize;
        let len = (e.duration_ms.unwrap_or(40.0) * 8.0) as usize;
        let span = &d.decoded.samples[start + 40..(start + len).min(d.decoded.samples.len())];
        assert!(
            rms(span) < 50.0,
            "digit {} at sample {start}: RMS {}",
            e.digit,
            rms(span)
        );
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-audio-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn clean_call_mixes_caller_left_callee_right() {
    let path = samples_dir().join("clean-call/clean-call.pcap");
    let a = analyse(&path);
    let streams = audio::call_streams(&a, "gen-0@example.org").unwrap();
    let d = decode(&path, &a, streams, TimingMode::default(), vec![]);
    let call = audio::mix(d);
    assert_eq!(call.rate_hz, 8000);
    assert_eq!(call.tracks.len(), 2);
    let out = out_dir("clean").join("call.wav");
    assert_eq!((call.tracks[0].offset, call.tracks[1].offset), (0, 80));
    wav::write_path(&out, |w| wav::write_stereo(w, &call)).unwrap();
    let (rate, ch, chans) = read_wav(&out);
    assert_eq!((rate, ch), (8000, 2));
    // 10 s of media; the callee's stream starts 10 ms after the caller's.
    assert_eq!(chans[0].len(), 80_000 + 80);
    let len = chans[0].len();
    let (l, r) = (&chans[0][800..len - 800], &chans[1][800..len - 800]);
    // Caller → callee is a 440 Hz tone (left), callee → caller 1000 Hz (right); each within 1 %.
    let fl = peak_hz(l, 8000, 300, 1500);
    let fr = peak_hz(r, 8000, 300, 1500);
    assert!((fl - 440.0).abs() <= 4.4, "left {fl} Hz");
    assert!((fr - 1000.0).abs() <= 10.0, "right {fr} Hz");
    assert!(
        goertzel(l, 8000, 1000.0) < goertzel(l, 8000, 440.0) / 1000.0,
        "no callee in the left channel"
    );
    assert!(
        goertzel(r, 8000, 440.0) < goertzel(r, 8000, 1000.0) / 1000.0,
        "no caller in the right channel"
    );
}

#[test]
fn srtp_with_sdes_keys_in_plaintext_sdp_decrypts_automatically() {
    let path = samples_dir().join("srtp-sdes-call/srtp-sdes-call.pcap");
    let a = analyse(&path);
    let streams = audio::call_streams(&a, "gen-0@example.org").unwrap();
    let d = decode(&path, &a, streams, TimingMode::default(), vec![]);
    assert_eq!(d.len(), 2);
    for s in &d {
        let x = s.srtp.as_ref().unwrap_or_else(|| panic!("{}", s.status));
        assert_eq!((x.verified, x.auth_failures), (500, 0), "{}", s.status);
        assert!(
            x.key_source
                .starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 in the SDP of frame")
        );
        assert_eq!(s.decoded.samples.len(), 80_000);
    }
    // The keys are each side's own: caller's stream carries 440 Hz, callee's 1000 Hz.
    let f0 = peak_hz(&d[0].decoded.samples, 8000, 300, 1500);
    let f1 = peak_hz(&d[1].decoded.samples, 8000, 300, 1500);
    assert!(
        (f0 - 440.0).abs() <= 4.4 && (f1 - 1000.0).abs() <= 10.0,
        "{f0} {f1}"
    );
}

const MARSEILLAISE_KEY: &str = "aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz";

#[test]
fn marseillaise_decrypts_with_the_key_given_by_hand() {
    let path = captures_dir().join("marseillaise-srtp.pcap");
    let a = analyse(&path);
    assert_eq!(a.streams.len(), 1);
    // Without a key: encrypted, nothing played.
    let d = decode(&path, &a, vec![0], TimingMode::RtpTimestamp, vec![]);
    assert!(!d[0].playable);
    assert!(
        d[0].status.starts_with("encrypted (SRTP)"),
        "{}",
        d[0].status
    );
    // A wrong key: said so, nothing played.
    let wrong: ManualKey = "*:AES_CM_128_HMAC_SHA1_80:QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
        .parse()
        .unwrap();
    let d = decode(&path, &a, vec![0], TimingMode::RtpTimestamp, vec![wrong]);
    assert!(!d[0].playable);
    assert!(d[0].status.contains("verifies"), "{}", d[0].status);
    // The right key, by SSRC.
    let key: ManualKey = format!("0xDEADBEEF:AES_CM_128_HMAC_SHA1_80:{MARSEILLAISE_KEY}")
        .parse()
        .unwrap();
    let d = decode(&path, &a, vec![0], TimingMode::RtpTimestamp, vec![key]);
    let x = d[0].srtp.as_ref().unwrap();
    assert_eq!((x.verified, x.auth_failures), (11_888, 0));
    assert_eq!(x.key_source, "given by hand");
    let ts = tshark_rtp_timestamps(&path, 0xDEAD_BEEF);
    let span = u64::from(ts.last().unwrap().wrapping_sub(ts[0])) as usize;
    assert_eq!(d[0].decoded.samples.len(), span + 160);
    // It is music (La Marseillaise), not speech: loud, unclipped, its energy varies, and its spectrum falls with
    // frequency — ciphertext decoded as A-law would be loud flat noise with a constant envelope.
    let x = &d[0].decoded.samples;
    let r = rms(x);
    assert!(r > 500.0 && r < 12_000.0, "RMS {r}");
    assert!(
        x.iter()
            .filter(|&&v| v == i16::MAX || v == i16::MIN)
            .count()
            * 1000
            < x.len()
    );
    let low: f64 = (100..1000)
        .step_by(50)
        .map(|f| goertzel(&x[..80_000], 8000, f64::from(f)))
        .sum();
    let high: f64 = (2500..3400)
        .step_by(50)
        .map(|f| goertzel(&x[..80_000], 8000, f64::from(f)))
        .sum();
    assert!(low > 10.0 * high, "low {low:.1} vs high {high:.1}");
}

const CALLER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CALLEE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const T0: i64 = 1_700_000_000_000_000_000;

/// µ-law of a 1 kHz tone sample `n`.
fn tone_ulaw(n: u32) -> u8 {
    let s = (f64::from(n) / 8000.0 * 1000.0 * std::f64::consts::TAU).sin() * 8000.0;
    earshot_e2e::r#gen::linear_to_ulaw(s as i16)
}

/// A PCMU stream of 100 × 20 ms packets with known trouble: packets 10-12 lost, packet 30 arrives 120 ms late
/// (after packet 35), packet 50 is duplicated, and from packet 60 on timestamps and sending times jump 200 ms
/// (silence suppression: sequence numbers continue). 97 distinct packets arrive.
fn troubled_stream() -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut seq: u16 = 0;
    let sent = |ms: i64, seq: u16, ts: u32, frames: &mut Vec<Frame>| {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0xABCD_0001u32.to_be_bytes());
        p.extend((0..160).map(|k| tone_ulaw(ts + k)));
        frames.push(Frame::new(
            T0 + ms * 1_000_000,
            pcapw::eth_udp4(CALLER, 4000, CALLEE, 6000, &p),
        ));
    };
    let mut late = None;
    for i in 0..100u32 {
        let ts = if i >= 60 { i * 160 + 1600 } else { i * 160 };
        let ms = i64::from(i) * 20 + if i >= 60 { 200 } else { 0 };
        let s = seq;
        seq = seq.wrapping_add(1);
        if (10..=12).contains(&i) {
            continue;
        }
        if i == 30 {
            late = Some((ms + 120, s, ts));
            continue;
        }
        sent(ms, s, ts, &mut frames);
        if i == 35 {
            let (m, s, t) = late.take().unwrap();
            sent(m, s, t, &mut frames);
        }
        if i == 50 {
            sent(ms + 1, s, ts, &mut frames);
        }
    }
    frames
}

#[test]
fn timing_modes_place_packets_as_documented() {
    let dir = out_dir("timing");
    let path = dir.join("troubled.pcap");
    std::fs::write(&path, pcapw::pcap_bytes(1, &troubled_stream())).unwrap();
    let a = analyse(&path);
    assert_eq!(a.streams.len(), 1);
    let run = |mode| decode(&path, &a, vec![0], mode, vec![]).remove(0).decoded;

    // RTP timestamp: every packet at its place, the late one too; the span is 99×160 + 1600 + 160 samples.
    let rtp = run(TimingMode::RtpTimestamp);
    assert_eq!(rtp.samples.len(), 99 * 160 + 1600 + 160);
    assert_eq!(rtp.stats.lost, 3);
    assert_eq!(rtp.stats.duplicates, 1);
    assert_eq!(rtp.stats.late_dropped, 0);
    assert_eq!(rtp.stats.decoded, 97);
    // The late packet 30 was written at its own place: the tone is there.
    let p30 = &rtp.samples[30 * 160..31 * 160];
    assert!((peak_hz(p30, 8000, 900, 1100) - 1000.0).abs() <= 10.0);
    // The 200 ms of silence suppression is silence.
    assert!(rms(&rtp.samples[60 * 160 + 10..60 * 160 + 1590]) < 1.0);

    // Jitter buffer of 50 ms: packet 30 (120 ms late) is dropped and concealed; 100 ms keeps it... and 150 too.
    let jb = run(TimingMode::JitterBuffer { ms: 50 });
    assert_eq!(jb.stats.late_dropped, 1);
    assert_eq!(jb.stats.decoded, 96);
    assert_eq!(jb.samples.len(), rtp.samples.len());
    let jb150 = run(TimingMode::JitterBuffer { ms: 150 });
    assert_eq!(jb150.stats.late_dropped, 0);
    assert_eq!(jb150.stats.decoded, 97);

    // Uninterrupted: decoded packets back to back, no gaps.
    let un = run(TimingMode::Uninterrupted);
    assert_eq!(un.samples.len(), 97 * 160);
    let f = peak_hz(&un.samples, 8000, 900, 1100);
    assert!((f - 1000.0).abs() <= 10.0, "{f}");
}

#[test]
fn wav_writer_output_reads_back_with_symphonia() {
    let dir = out_dir("wav");
    let p = dir.join("t.wav");
    let l: Vec<i16> = (0..16_000).map(|i| (i % 100) as i16 * 100).collect();
    let r: Vec<i16> = (0..12_000).map(|i| -((i % 50) as i16) * 10).collect();
    wav::write_file(&p, 16_000, &[&l, &r]).unwrap();
    let (rate, ch, chans) = read_wav(&p);
    assert_eq!((rate, ch), (16_000, 2));
    assert_eq!(chans[0], l);
    assert_eq!(&chans[1][..12_000], &r[..]);
    assert!(chans[1][12_000..].iter().all(|&v| v == 0));
}
