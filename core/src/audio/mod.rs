//! Call audio: pulls the selected streams' RTP packets out of the capture again (decoding on demand, so an
//! analysis never holds audio), unprotects SRTP when keys are known, decodes each stream onto a timeline in one of
//! Wireshark's three timing modes, mixes a call's streams by capture time, and writes WAV.
//! May import: `model`, `pipeline` (to re-read the capture), `media` (`rtp`, `srtp`, the tap), `calls` (static
//! payload names), `codec`.

pub mod timeline;
pub mod wav;

use std::collections::BTreeMap;
use std::path::Path;

use crate::calls::static_payload_name;
use crate::case::Source;
use crate::codec::CodecSpec;
use crate::error::CaptureError;
use crate::media::srtp::{self, SrtpContext, SrtpKey};
use crate::media::stream::static_clock_rate;
use crate::media::tracker::{RtpTap, TapKey};
use crate::model::Party;
use crate::model::{Analysis, Encryption, MediaStream, StreamKind};
use crate::pipeline::{AnalyzeOptions, Progress};

pub use timeline::{DecodedStream, Mark, MarkKind, TimelineOptions, TimingMode};

/// One mono track of decoded audio at [`CallAudio::rate_hz`], aligned so sample 0 is at
/// [`CallAudio::start_ts_nanos`].
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// What the user sees, e.g. `caller 10.0.0.1:4000 → 10.0.0.2:5000 PCMA SSRC 0x1234ABCD`.
    pub label: String,
    /// Index in `Analysis::streams`.
    pub stream_index: Option<usize>,
    /// Samples of silence before `samples` start (the stream began after the call's first stream).
    pub offset: usize,
    pub samples: Vec<i16>,
    /// Default pan: -1.0 left (caller), 1.0 right (callee), 0.0 centre.
    pub pan: f32,
}

/// Decoded audio of a call (or of chosen streams), every track at one sample rate on one timeline.
#[derive(Debug, Clone, Default)]
pub struct CallAudio {
    pub rate_hz: u32,
    /// Capture time of sample 0 (UTC nanoseconds).
    pub start_ts_nanos: i64,
    pub tracks: Vec<Track>,
}

impl CallAudio {
    /// Length in samples of the longest track (offset included).
    pub fn len_samples(&self) -> usize {
        self.tracks
            .iter()
            .map(|t| t.offset.saturating_add(t.samples.len()))
            .max()
            .unwrap_or(0)
    }
}

impl Track {
    /// The sample at call position `pos` (silence before the offset and after the end).
    #[inline]
    pub fn sample_at(&self, pos: usize) -> i16 {
        pos.checked_sub(self.offset)
            .and_then(|i| self.samples.get(i))
            .copied()
            .unwrap_or(0)
    }
}

/// Which stream a key given by hand is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTarget {
    /// Try it on every encrypted stream.
    Any,
    Ssrc(u32),
    /// Index in `Analysis::streams`.
    Stream(usize),
}

/// An SRTP key given by hand: `TARGET:SUITE:KEY` where TARGET is an SSRC (`0x1234ABCD` or decimal),
/// `stream=N`, or `*`; SUITE an SDES suite name; KEY the inline key (base64 of key‖salt) or its hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualKey {
    pub target: KeyTarget,
    pub key: SrtpKey,
}

impl std::str::FromStr for ManualKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.trim().splitn(3, ':');
        let (Some(t), Some(suite), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(
                "expected TARGET:SUITE:KEY, e.g. 0x5711BF84:AES_CM_128_HMAC_SHA1_80:<base64>"
                    .into(),
            );
        };
        let t = t.trim();
        let target = if t == "*" || t.eq_ignore_ascii_case("any") {
            KeyTarget::Any
        } else if let Some(n) = t.strip_prefix("stream=") {
            KeyTarget::Stream(n.parse().map_err(|_| format!("bad stream index `{n}`"))?)
        } else if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            KeyTarget::Ssrc(u32::from_str_radix(h, 16).map_err(|_| format!("bad SSRC `{t}`"))?)
        } else {
            KeyTarget::Ssrc(t.parse().map_err(|_| format!("bad SSRC `{t}`"))?)
        };
        let key = SrtpKey::from_user(suite.trim(), key.trim()).map_err(|e| e.to_string())?;
        Ok(ManualKey { target, key })
    }
}

/// What to decode and how.
#[derive(Debug, Clone, Default)]
pub struct AudioRequest {
    /// Indices in `Analysis::streams`.
    pub streams: Vec<usize>,
    pub timeline: TimelineOptions,
    pub keys: Vec<ManualKey>,
    /// Codecs given by hand for payload types (override SDP), e.g. 111 → opus/48000.
    pub payload_types: Vec<(u8, CodecSpec)>,
    /// Bytes of RTP kept while re-reading the capture (0 = 1 GiB).
    pub max_packet_bytes: usize,
}

/// How an encrypted stream was (or was not) decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpOutcome {
    pub suite: String,
    /// Where the key came from, e.g. `a=crypto in the SDP of frame 7` or `given by hand`.
    pub key_source: String,
    pub verified: u64,
    pub auth_failures: u64,
}

/// One stream's audio and what the user should know about it.
#[derive(Debug, Clone)]
pub struct StreamAudio {
    pub stream_index: usize,
    pub ssrc: u32,
    pub label: String,
    pub pan: f32,
    pub decoded: DecodedStream,
    pub srtp: Option<SrtpOutcome>,
    /// True when the audio holds decoded sound (false: encrypted without a key, no decoder, no packets).
    pub playable: bool,
    /// One line for the UI and reports: what was decoded, or exactly why not.
    pub status: String,
}

/// Why audio could not be produced at all.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Case(#[from] crate::case::CaseError),
    #[error("no call with Call-ID `{0}` in this capture")]
    NoSuchCall(String),
    #[error("no stream {0} in this capture (it has {1})")]
    NoSuchStream(usize, usize),
    #[error("stream {0} is not an RTP audio stream")]
    NotRtp(usize),
    #[error("call `{0}` has no RTP streams in this capture")]
    NoStreams(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The RTP streams of a call, in stream order.
pub fn call_streams(analysis: &Analysis, call_id: &str) -> Result<Vec<usize>, AudioError> {
    let call = analysis
        .calls
        .iter()
        .find(|c| c.call_id == call_id)
        .ok_or_else(|| AudioError::NoSuchCall(call_id.to_string()))?;
    let v: Vec<usize> = call
        .streams
        .iter()
        .copied()
        .filter(|&i| {
            analysis
                .streams
                .get(i)
                .is_some_and(|s| s.kind == StreamKind::Rtp)
        })
        .collect();
    if v.is_empty() {
        return Err(AudioError::NoStreams(call_id.to_string()));
    }
    Ok(v)
}

/// Payload type → codec for a stream: the static table, then every SDP of its call (the receiver's last, since
/// payload type numbers are the receiver's), then what the user gave by hand.
pub fn codec_specs(
    analysis: &Analysis,
    stream: &MediaStream,
    by_hand: &[(u8, CodecSpec)],
) -> BTreeMap<u8, CodecSpec> {
    let mut map = BTreeMap::new();
    for &pt in &stream.payload_types {
        if let (Some(name), Some(rate)) = (static_payload_name(pt), static_clock_rate(pt)) {
            map.insert(
                pt,
                CodecSpec {
                    name: name.to_string(),
                    clock_rate_hz: rate,
                    channels: 1,
                    fmtp: None,
                },
            );
        }
    }
    let mut sdps: Vec<(bool, &crate::model::SdpMedia)> = Vec::new();
    for (media, addr) in call_sdp_media(analysis, stream) {
        let receiver = stream
            .dst
            .is_some_and(|d| d.port() == media.port && addr.is_none_or(|a| a == d.ip()));
        sdps.push((receiver, media));
    }
    // Others first, the receiver's last (it wins).
    sdps.sort_by_key(|(r, _)| *r);
    for (_, m) in sdps {
        for r in &m.rtpmaps {
            let fmtp = m
                .fmtps
                .iter()
                .find(|(p, _)| *p == r.payload_type)
                .map(|(_, f)| f.clone());
            map.insert(
                r.payload_type,
                CodecSpec {
                    name: r.encoding.clone(),
                    clock_rate_hz: r.clock_rate_hz,
                    channels: r.channels.unwrap_or(1),
                    fmtp,
                },
            );
        }
    }
    for (pt, spec) in by_hand {
        map.insert(*pt, spec.clone());
    }
    map
}

/// Every audio `m=` of the SDPs of a stream's call up to the stream's last frame, with its connection address.
fn call_sdp_media<'a>(
    analysis: &'a Analysis,
    stream: &MediaStream,
) -> Vec<(&'a crate::model::SdpMedia, Option<std::net::IpAddr>)> {
    let Some(call_id) = stream.call_id.as_deref() else {
        return Vec::new();
    };
    let Some(call) = analysis.calls.iter().find(|c| c.call_id == call_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &mi in &call.messages {
        let Some(rec) = analysis.messages.get(mi) else {
            continue;
        };
        if rec.retransmission || rec.frame > stream.last_frame {
            continue;
        }
        let Some(sdp) = rec.message.sdp.as_ref() else {
            continue;
        };
        for m in &sdp.media {
            if m.media.eq_ignore_ascii_case("audio") {
                out.push((m, m.connection.or(sdp.connection)));
            }
        }
    }
    out
}

/// SDES keys for a stream from its call's SDPs, the sender's own first (RFC 4568: each side announces the key it
/// sends with), each with where it came from.
fn sdes_keys(analysis: &Analysis, stream: &MediaStream) -> Vec<(SrtpKey, String)> {
    let Some(call_id) = stream.call_id.as_deref() else {
        return Vec::new();
    };
    let Some(call) = analysis.calls.iter().find(|c| c.call_id == call_id) else {
        return Vec::new();
    };
    let mut own = Vec::new();
    let mut other = Vec::new();
    for &mi in &call.messages {
        let Some(rec) = analysis.messages.get(mi) else {
            continue;
        };
        let Some(sdp) = rec.message.sdp.as_ref() else {
            continue;
        };
        for m in &sdp.media {
            let addr = m.connection.or(sdp.connection);
            let sender = stream
                .src
                .is_some_and(|s| s.port() == m.port && addr.is_none_or(|a| a == s.ip()));
            for c in &m.crypto {
                if let Ok(k) = SrtpKey::from_sdes(&c.suite, &c.key_params) {
                    let src = format!(
                        "a=crypto:{} {} in the SDP of frame {}",
                        c.tag,
                        c.suite,
                        crate::model::frame_label(rec.frame)
                    );
                    if sender {
                        own.push((k, src))
                    } else {
                        other.push((k, src))
                    }
                }
            }
        }
    }
    own.extend(other);
    own.dedup_by(|a, b| a.0 == b.0);
    own
}

/// DTLS-SRTP keys exported from the DTLS handshake on the stream's own 5-tuple (the DTLS client's write key for
/// what the client sends, the server's for the rest), when a key log held the session.
fn dtls_keys(analysis: &Analysis, stream: &MediaStream) -> Vec<(SrtpKey, String)> {
    let (Some(src), Some(dst)) = (stream.src, stream.dst) else {
        return Vec::new();
    };
    analysis
        .dtls
        .iter()
        .filter_map(|d| {
            let (client, server) = d.srtp_keys.as_ref()?;
            let key = if (src, dst) == (d.client, d.server) {
                client
            } else if (src, dst) == (d.server, d.client) {
                server
            } else {
                return None;
            };
            let from = d
                .key_source
                .as_ref()
                .map_or(String::new(), |k| format!(" with {}", k.source));
            Some((
                key.clone(),
                format!(
                    "DTLS-SRTP: exported from the DTLS handshake of frame {}{from}",
                    crate::model::frame_label(d.first_frame)
                ),
            ))
        })
        .collect()
}

fn label(s: &MediaStream) -> String {
    let who = s.sender.map_or("stream", Party::as_str);
    let addr = match (s.src, s.dst) {
        (Some(a), Some(b)) => format!("{a} → {b}"),
        _ => String::new(),
    };
    format!("{who} {addr} {} SSRC 0x{:08X}", s.codec, s.ssrc)
}

/// Decodes the requested streams: re-reads the capture for their packets ([`collect_packets`]), then decrypts
/// SRTP when a key verifies and places each on its timeline ([`decode_collected`]).
pub fn decode_streams(
    path: &Path,
    analysis: &Analysis,
    req: &AudioRequest,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<StreamAudio>, AudioError> {
    let tap = collect_packets(path, analysis, req, opts, progress)?;
    Ok(decode_collected(analysis, req, &tap))
}

/// Re-reads the capture and keeps the packets of the requested streams.
pub fn collect_packets(
    path: &Path,
    analysis: &Analysis,
    req: &AudioRequest,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RtpTap, AudioError> {
    collect_packets_from(
        &Source::File(path.to_path_buf()),
        analysis,
        req,
        opts,
        progress,
    )
}

/// [`collect_packets`] from a capture or a case.
pub fn collect_packets_from(
    source: &Source,
    analysis: &Analysis,
    req: &AudioRequest,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RtpTap, AudioError> {
    let mut keys = Vec::new();
    for &i in &req.streams {
        let s = analysis
            .streams
            .get(i)
            .ok_or(AudioError::NoSuchStream(i, analysis.streams.len()))?;
        keys.push(TapKey::of(s).ok_or(AudioError::NotRtp(i))?);
    }
    let max = if req.max_packet_bytes == 0 {
        1 << 30
    } else {
        req.max_packet_bytes
    };
    Ok(source.collect_rtp(opts, RtpTap::new(keys, max), progress)?)
}

/// Decrypts and decodes the requested streams from packets already collected (streams decode in parallel).
pub fn decode_collected(analysis: &Analysis, req: &AudioRequest, tap: &RtpTap) -> Vec<StreamAudio> {
    use rayon::prelude::*;
    req.streams
        .par_iter()
        .filter_map(|&i| {
            let s = analysis.streams.get(i)?;
            let key = TapKey::of(s)?;
            let packets = tap.packets.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            Some(decode_one(analysis, s, packets, req))
        })
        .collect()
}

fn decode_one(
    analysis: &Analysis,
    s: &MediaStream,
    packets: &[crate::media::tracker::TappedPacket],
    req: &AudioRequest,
) -> StreamAudio {
    let pan = match s.sender {
        Some(Party::Caller) => -1.0,
        Some(Party::Callee) => 1.0,
        _ => 0.0,
    };
    let mut audio = StreamAudio {
        stream_index: s.index,
        ssrc: s.ssrc,
        label: label(s),
        pan,
        decoded: DecodedStream::default(),
        srtp: None,
        playable: false,
        status: String::new(),
    };
    if packets.is_empty() {
        audio.status = "no RTP packets found when re-reading the capture".into();
        return audio;
    }
    // Candidate keys: by hand for this stream first, then SDES from the SDP.
    let mut cands: Vec<(SrtpKey, String)> = req
        .keys
        .iter()
        .filter(|k| match k.target {
            KeyTarget::Any => true,
            KeyTarget::Ssrc(x) => x == s.ssrc,
            KeyTarget::Stream(x) => x == s.index,
        })
        .map(|k| (k.key.clone(), "given by hand".to_string()))
        .collect();
    cands.extend(sdes_keys(analysis, s));
    cands.extend(dtls_keys(analysis, s));
    // The packets as they are (plain RTP), borrowed.
    let in_clear = || -> Vec<timeline::PlainPacket<'_>> {
        packets
            .iter()
            .map(|p| timeline::PlainPacket {
                frame: p.frame,
                ts_nanos: p.ts_nanos,
                data: Some(std::borrow::Cow::Borrowed(p.data.as_slice())),
            })
            .collect()
    };
    // Unknown encryption is tried with the keys there are, then played as clear RTP: the listener hears which it is.
    let encrypted = matches!(
        s.encryption,
        Encryption::Srtp | Encryption::DtlsSrtp | Encryption::Zrtp
    );
    let plain: Vec<timeline::PlainPacket> = if encrypted || !cands.is_empty() {
        let keys: Vec<SrtpKey> = cands.iter().map(|(k, _)| k.clone()).collect();
        let found = packets
            .iter()
            .take(50)
            .find_map(|p| srtp::find_key_for_rtp(&keys, &p.data));
        match found.and_then(|k| cands.get(k)) {
            Some((key, source)) => {
                let mut ctx = SrtpContext::new(key);
                let v: Vec<timeline::PlainPacket> = packets
                    .iter()
                    .map(|p| timeline::PlainPacket {
                        frame: p.frame,
                        ts_nanos: p.ts_nanos,
                        data: ctx.unprotect_rtp(&p.data).ok().map(std::borrow::Cow::Owned),
                    })
                    .collect();
                let st = ctx.stats();
                audio.srtp = Some(SrtpOutcome {
                    suite: key.suite.sdes_name().to_string(),
                    key_source: source.clone(),
                    verified: st.verified,
                    auth_failures: st.auth_failures + st.too_short,
                });
                v
            }
            None if encrypted => {
                audio.status = match s.encryption {
                    Encryption::DtlsSrtp => "encrypted (DTLS-SRTP): the keys are negotiated inside DTLS and are not in the capture; give them by hand if you have them".into(),
                    Encryption::Zrtp => "encrypted (ZRTP): the keys are negotiated by ZRTP and are not in the capture".into(),
                    _ if cands.is_empty() => "encrypted (SRTP): no key in the capture; give one by hand".into(),
                    _ => format!("encrypted (SRTP): none of the {} keys found verifies the authentication tag", cands.len()),
                };
                return audio;
            }
            None => in_clear(),
        }
    } else {
        in_clear()
    };
    let specs = codec_specs(analysis, s, &req.payload_types);
    audio.decoded = timeline::decode_stream(&plain, &specs, &req.timeline);
    audio.playable = audio.decoded.has_audio();
    let d = &audio.decoded;
    audio.status = if audio.playable {
        let mut st = format!(
            "decoded {} ({} of {} packets, {} lost, {} late, {} decode errors)",
            d.codecs.join("+"),
            d.stats.decoded,
            d.stats.packets,
            d.stats.lost,
            d.stats.late_dropped,
            d.stats.decode_errors
        );
        if let Some(x) = &audio.srtp {
            st.push_str(&format!(
                "; SRTP {} decrypted with {} ({} verified, {} authentication failures)",
                x.suite,
                if x.key_source.starts_with("a=crypto") || x.key_source.starts_with("DTLS-SRTP") {
                    format!("the key from {}", x.key_source)
                } else {
                    format!("a key {}", x.key_source)
                },
                x.verified,
                x.auth_failures
            ));
        }
        st
    } else if let Some(nd) = d.no_decoder.first() {
        nd.to_string()
    } else {
        "no audio packets".into()
    };
    audio
}

/// A call's (or any chosen) streams on one timeline at one rate: each stream a track, placed by capture time.
pub fn mix(streams: Vec<StreamAudio>) -> CallAudio {
    let playable: Vec<StreamAudio> = streams.into_iter().filter(|s| s.playable).collect();
    let rate = playable
        .iter()
        .map(|s| s.decoded.rate_hz)
        .max()
        .unwrap_or(8000)
        .max(1);
    let start = playable
        .iter()
        .map(|s| s.decoded.start_ts_nanos)
        .min()
        .unwrap_or(0);
    let mut tracks = Vec::new();
    for s in playable {
        let offset_ns = s.decoded.start_ts_nanos.saturating_sub(start);
        let offset =
            usize::try_from(i128::from(offset_ns) * i128::from(rate) / 1_000_000_000).unwrap_or(0);
        let src_rate = s.decoded.rate_hz.max(1);
        // Moved, not copied, when the rate is already the call's (the common case).
        let samples = if src_rate == rate {
            s.decoded.samples
        } else {
            let n = s.decoded.samples.len() * rate as usize / src_rate as usize;
            let mut v = Vec::with_capacity(n);
            timeline::append_resampled(&mut v, &s.decoded.samples, src_rate, rate, n);
            v
        };
        tracks.push(Track {
            label: s.label,
            stream_index: Some(s.stream_index),
            offset,
            samples,
            pan: s.pan,
        });
    }
    CallAudio {
        rate_hz: rate,
        start_ts_nanos: start,
        tracks,
    }
}

/// A name safe to use as a file name (Call-IDs are attacker-controlled): ASCII letters, digits, `.`, `_` and
/// `-` kept, everything else `_`, no leading dot, at most 80 characters, never empty.
pub fn safe_file_stem(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    while out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push_str("call");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_from_hostile_call_ids_are_safe() {
        assert_eq!(safe_file_stem("gen-0@example.org"), "gen-0_example.org");
        assert_eq!(safe_file_stem("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_file_stem("..."), "_..");
        assert_eq!(safe_file_stem(""), "call");
        assert_eq!(
            safe_file_stem("a\u{202e}b\x1b[31mc;rm -rf /"),
            "a_b__31mc_rm_-rf__"
        );
        assert_eq!(safe_file_stem("C:\\x\0y"), "C__x_y");
        assert_eq!(safe_file_stem(&"x".repeat(500)).len(), 80);
        for s in ["/", "\\", ".", "..", "\n", "\u{0}"] {
            let f = safe_file_stem(s);
            assert!(
                !f.contains('/') && !f.contains('\\') && !f.starts_with('.'),
                "{s:?} → {f:?}"
            );
        }
    }

    #[test]
    fn timing_modes_parse() {
        assert_eq!("rtp".parse(), Ok(TimingMode::RtpTimestamp));
        assert_eq!("uninterrupted".parse(), Ok(TimingMode::Uninterrupted));
        assert_eq!("jitter".parse(), Ok(TimingMode::JitterBuffer { ms: 50 }));
        assert_eq!(
            "jitter:120".parse(),
            Ok(TimingMode::JitterBuffer { ms: 120 })
        );
        assert!("jitter:99999".parse::<TimingMode>().is_err());
        assert!("fast".parse::<TimingMode>().is_err());
    }

    #[test]
    fn manual_key_targets_parse() {
        let k = "AES_CM_128_HMAC_SHA1_80:aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz";
        let m: ManualKey = format!("0xDEADBEEF:{k}").parse().unwrap();
        assert_eq!(m.target, KeyTarget::Ssrc(0xDEAD_BEEF));
        assert_eq!(m.key.master_key, b"i know all your ".to_vec());
        assert_eq!(m.key.master_salt, b"little secrets".to_vec());
        let m: ManualKey = format!("stream=3:{k}").parse().unwrap();
        assert_eq!(m.target, KeyTarget::Stream(3));
        let m: ManualKey = format!("*:{k}").parse().unwrap();
        assert_eq!(m.target, KeyTarget::Any);
        assert!("1234:AES_CM_128_HMAC_SHA1_80".parse::<ManualKey>().is_err());
        assert!(format!("0xZZ:{k}").parse::<ManualKey>().is_err());
    }
}
