//! DTMF: RFC 4733 telephone-events carried in RTP, and SIP INFO bodies (`application/dtmf-relay`,
//! `application/dtmf`).

use std::collections::HashMap;

use crate::model::{DtmfEvent, FrameNo};

/// Most events one [`DtmfTracker`] keeps; further new events are counted in [`DtmfTracker::dropped_events`].
pub const MAX_EVENTS: usize = 10_000;
/// Most timestamp segments one tracker keeps (an RFC 4733 long-duration event spans several segments).
const MAX_SEGMENTS: usize = 2 * MAX_EVENTS;
/// Bytes of a SIP INFO body looked at; a DTMF body is a few dozen bytes.
const MAX_INFO_BODY: usize = 1024;
/// Clock rate assumed when the caller gives 0 (telephone-event is 8000 Hz in practice).
const DEFAULT_CLOCK_RATE: u32 = 8000;

/// The character for an RFC 4733 event code: `0`-`9`, `*` (10), `#` (11), `A`-`D` (12-15), `flash` (16);
/// `event-N` otherwise.
pub fn event_name(event: u8) -> String {
    match event {
        0..=9 => char::from(b'0'.saturating_add(event)).to_string(),
        10 => "*".to_string(),
        11 => "#".to_string(),
        12..=15 => char::from(b'A'.saturating_add(event - 12)).to_string(),
        16 => "flash".to_string(),
        n => format!("event-{n}"),
    }
}

/// The RFC 4733 event code of a DTMF digit as written by people and SIP INFO bodies: `0`-`9`, `*`, `#`, `A`-`D`
/// (either case), `!` or `flash` (16), or the code itself as a number `0`-`16` (`Signal=16` is a flash).
/// The inverse of [`event_name`] for codes 0-16; `None` for anything else.
pub fn digit_code(digit: &str) -> Option<u8> {
    let d = digit.trim();
    if d.eq_ignore_ascii_case("flash") {
        return Some(16);
    }
    let mut chars = d.chars();
    let first = chars.next()?;
    if chars.next().is_none() {
        return match first {
            '0'..='9' => u8::try_from(u32::from(first).checked_sub(u32::from('0'))?).ok(),
            '*' => Some(10),
            '#' => Some(11),
            'A'..='D' => u8::try_from(
                u32::from(first)
                    .checked_sub(u32::from('A'))?
                    .checked_add(12)?,
            )
            .ok(),
            'a'..='d' => u8::try_from(
                u32::from(first)
                    .checked_sub(u32::from('a'))?
                    .checked_add(12)?,
            )
            .ok(),
            '!' => Some(16),
            _ => None,
        };
    }
    // Two-digit numeric codes 10-16 (`Signal=11`); a leading zero (`05`) is accepted too.
    if d.len() <= 3 && d.bytes().all(|b| b.is_ascii_digit()) {
        return d.parse::<u8>().ok().filter(|c| *c <= 16);
    }
    None
}

/// Why an RTP payload is not a telephone-event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {len} bytes (needs 4)")]
    TooShort { len: usize },
}

/// One RFC 4733 payload (section 2.3): event, E bit, volume, duration. The R bit is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Payload {
    event: u8,
    end: bool,
    volume: u8,
    duration: u16,
}

fn parse_payload(payload: &[u8]) -> Result<Payload, DtmfError> {
    let too_short = DtmfError::TooShort { len: payload.len() };
    let Some(&[event, flags, d0, d1]) = payload.get(..4) else {
        return Err(too_short);
    };
    Ok(Payload {
        event,
        end: flags & 0x80 != 0,
        volume: flags & 0x3f,
        duration: u16::from_be_bytes([d0, d1]),
    })
}

/// Which packets are one event segment: RFC 4733 2.5.1.3 identifies an event by its timestamp; a different event
/// code under the same timestamp is treated as a different event, and the SSRC keeps streams apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    ssrc: u32,
    rtp_timestamp: u32,
    event: u8,
}

/// The packets of one timestamp. Its duration is the largest duration field seen; a duration that falls from the
/// top of the 16-bit range to the bottom is a wrap (senders that do not segment long events as 2.5.1.5 asks) and
/// adds 0x10000 samples, while a smaller value otherwise is a late (reordered) packet and is ignored.
#[derive(Debug, Clone)]
struct Segment {
    /// Index into [`DtmfTracker::events`].
    event_idx: usize,
    rtp_timestamp: u32,
    wraps: u32,
    max_duration: u16,
}

impl Segment {
    fn update(&mut self, duration: u16) {
        if duration >= self.max_duration {
            let jump = duration - self.max_duration;
            if self.wraps > 0 && jump > 0x8000 {
                // A late packet from before the wrap.
                return;
            }
            self.max_duration = duration;
        } else if self.max_duration - duration > 0x8000 {
            self.wraps = self.wraps.saturating_add(1);
            self.max_duration = duration;
        }
    }

    fn samples(&self) -> u64 {
        u64::from(self.wraps)
            .saturating_mul(0x1_0000)
            .saturating_add(u64::from(self.max_duration))
    }
}

/// What is known of one event (one or more segments).
#[derive(Debug, Clone)]
struct Pending {
    event: u8,
    frame: FrameNo,
    ts_nanos: i64,
    ssrc: u32,
    ended: bool,
    volume: u8,
    packets: u32,
    clock_rate: u32,
}

/// Collects RFC 4733 events of one stream. An event is identified by its RTP timestamp (RFC 4733 2.5.1.3): every
/// packet with the same timestamp belongs to the same event (updates, and the three retransmitted end packets).
///
/// - A new timestamp starts a new event, whether or not the previous one ended (its `ended` stays false).
/// - A different event code under an already seen timestamp is a separate event.
/// - Long-duration events (2.5.1.3, "long-duration events"): a segment that carries no marker, has the same event
///   code as the last unended segment and a timestamp equal to that segment's timestamp plus its duration
///   continues the same event; the durations add up.
/// - Packets may arrive out of order: each one is matched to its event by timestamp; the event's first frame is the
///   smallest frame number seen.
/// - At most [`MAX_EVENTS`] events are kept; packets of further new events are dropped and counted.
#[derive(Debug, Default)]
pub struct DtmfTracker {
    events: Vec<Pending>,
    segments: Vec<Segment>,
    by_key: HashMap<Key, usize>,
    /// Index into `segments` of the segment the last accepted packet belonged to.
    last_segment: Option<usize>,
    /// Key of the last dropped new event, so that its further packets are not counted as more events.
    last_dropped: Option<Key>,
    /// New events dropped because the tracker already held [`MAX_EVENTS`] (consecutive packets of one dropped
    /// event count once).
    pub dropped_events: u64,
    /// Packets dropped with those events.
    pub dropped_packets: u64,
}

impl DtmfTracker {
    /// Feed one telephone-event packet. `clock_rate` converts the duration field to milliseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        frame: FrameNo,
        ts_nanos: i64,
        ssrc: u32,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        clock_rate: u32,
    ) -> Result<(), DtmfError> {
        let p = parse_payload(payload)?;
        let key = Key {
            ssrc,
            rtp_timestamp,
            event: p.event,
        };
        let seg_idx = match self.by_key.get(&key) {
            Some(&i) => i,
            None => match self.new_segment(key, marker, frame, ts_nanos, &p, clock_rate) {
                Some(i) => i,
                None => {
                    if self.last_dropped != Some(key) {
                        self.dropped_events = self.dropped_events.saturating_add(1);
                        self.last_dropped = Some(key);
                    }
                    self.dropped_packets = self.dropped_packets.saturating_add(1);
                    return Ok(());
                }
            },
        };
        let Some(seg) = self.segments.get_mut(seg_idx) else {
            return Ok(());
        };
        seg.update(p.duration);
        let event_idx = seg.event_idx;
        if let Some(ev) = self.events.get_mut(event_idx) {
            ev.packets = ev.packets.saturating_add(1);
            ev.ended |= p.end;
            if frame < ev.frame {
                ev.frame = frame;
                ev.ts_nanos = ts_nanos;
            }
        }
        self.last_segment = Some(seg_idx);
        Ok(())
    }

    /// Start the segment of a packet whose key was never seen: a continuation of the last event or a new event.
    /// `None` when the limits are reached.
    fn new_segment(
        &mut self,
        key: Key,
        marker: bool,
        frame: FrameNo,
        ts_nanos: i64,
        p: &Payload,
        clock_rate: u32,
    ) -> Option<usize> {
        if self.segments.len() >= MAX_SEGMENTS {
            return None;
        }
        let continues = if marker {
            None
        } else {
            self.last_segment
                .and_then(|i| self.segments.get(i))
                .filter(|seg| {
                    let samples = seg.samples();
                    samples > 0
                        // Timestamps are modulo 2^32: the wrapping add is the RTP arithmetic.
                        && seg.rtp_timestamp.wrapping_add(samples as u32) == key.rtp_timestamp
                })
                .map(|seg| seg.event_idx)
                .filter(|&e| {
                    self.events
                        .get(e)
                        .is_some_and(|ev| !ev.ended && ev.event == key.event && ev.ssrc == key.ssrc)
                })
        };
        let event_idx = match continues {
            Some(e) => e,
            None => {
                if self.events.len() >= MAX_EVENTS {
                    return None;
                }
                self.events.push(Pending {
                    event: p.event,
                    frame,
                    ts_nanos,
                    ssrc: key.ssrc,
                    ended: false,
                    volume: p.volume,
                    packets: 0,
                    clock_rate: if clock_rate == 0 {
                        DEFAULT_CLOCK_RATE
                    } else {
                        clock_rate
                    },
                });
                self.events.len().checked_sub(1)?
            }
        };
        self.segments.push(Segment {
            event_idx,
            rtp_timestamp: key.rtp_timestamp,
            wraps: 0,
            max_duration: p.duration,
        });
        let seg_idx = self.segments.len().checked_sub(1)?;
        self.by_key.insert(key, seg_idx);
        Some(seg_idx)
    }

    /// The events in order of their first packet.
    pub fn events(&self) -> Vec<DtmfEvent> {
        let mut samples = vec![0u64; self.events.len()];
        for seg in &self.segments {
            if let Some(s) = samples.get_mut(seg.event_idx) {
                *s = s.saturating_add(seg.samples());
            }
        }
        let mut out: Vec<DtmfEvent> = self
            .events
            .iter()
            .zip(samples)
            .map(|(ev, samples)| DtmfEvent {
                digit: event_name(ev.event),
                event: ev.event,
                source: "rfc4733",
                frame: ev.frame,
                ts_nanos: ev.ts_nanos,
                duration_ms: Some(samples as f64 * 1000.0 / f64::from(ev.clock_rate)),
                ended: ev.ended,
                volume: Some(ev.volume),
                ssrc: Some(ev.ssrc),
                packets: ev.packets,
            })
            .collect();
        // Stable: events starting in the same frame keep the order they were seen in.
        out.sort_by_key(|e| e.frame);
        out
    }
}

/// A DTMF digit from a SIP INFO body, with its duration in ms when given. `content_type` is the message's
/// Content-Type (parameters allowed, case-insensitive). Returns `None` for other content types or no digit.
///
/// - `application/dtmf-relay`: `Signal=<digit>` and optional `Duration=<ms>` lines (keys case-insensitive, spaces
///   anywhere, CRLF or LF).
/// - `application/dtmf`: the body is the digit.
/// - `application/vnd.nortelnetworks.digits`: `d=<digits>` (the first digit is taken).
///
/// Only the first 1 KB of the body is read.
pub fn parse_info_body(content_type: &str, body: &[u8]) -> Option<(String, Option<f64>)> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body = body.get(..MAX_INFO_BODY).unwrap_or(body);
    let text = String::from_utf8_lossy(body);
    match mime.as_str() {
        "application/dtmf-relay" => {
            let mut code = None;
            let mut duration = None;
            for (k, v) in key_values(&text) {
                if k.eq_ignore_ascii_case("signal") && code.is_none() {
                    code = Some(digit_code(v)?);
                } else if k.eq_ignore_ascii_case("duration") && duration.is_none() {
                    // `Duration=160`, also `Duration=160 ms`: the leading number.
                    let end = v
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .unwrap_or(v.len());
                    duration = v
                        .get(..end)
                        .and_then(|n| n.parse::<f64>().ok())
                        .filter(|d| d.is_finite() && *d >= 0.0);
                }
            }
            code.map(|c| (event_name(c), duration))
        }
        "application/dtmf" => digit_code(&text).map(|c| (event_name(c), None)),
        "application/vnd.nortelnetworks.digits" => {
            let (_, v) = key_values(&text).find(|(k, _)| k.eq_ignore_ascii_case("d"))?;
            let first = v.chars().next()?;
            let mut buf = [0u8; 4];
            digit_code(first.encode_utf8(&mut buf)).map(|c| (event_name(c), None))
        }
        _ => None,
    }
}

/// `key=value` lines (CR/LF separated), trimmed; lines without `=` are skipped.
fn key_values(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(['\r', '\n'])
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// An RFC 4733 payload.
    fn pl(event: u8, end: bool, volume: u8, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [
            event,
            (if end { 0x80 } else { 0 }) | (volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// Push with frame number as time (1 ms per frame), SSRC 1, clock 8000.
    fn push(t: &mut DtmfTracker, frame: u64, ts: u32, marker: bool, payload: [u8; 4]) {
        t.push(
            frame,
            frame as i64 * 1_000_000,
            1,
            ts,
            marker,
            &payload,
            8000,
        )
        .unwrap();
    }

    fn digits(events: &[DtmfEvent]) -> String {
        events.iter().map(|e| e.digit.as_str()).collect()
    }

    // -----------------------------------------------------------------------------------------------------------
    // event_name / digit_code

    #[test]
    fn event_names_all_codes() {
        let expected = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D", "flash",
        ];
        for (code, name) in expected.iter().enumerate() {
            assert_eq!(event_name(code as u8), *name, "code {code}");
            assert_eq!(digit_code(name), Some(code as u8), "{name}");
        }
        assert_eq!(event_name(17), "event-17");
        assert_eq!(event_name(32), "event-32");
        assert_eq!(event_name(194), "event-194");
        assert_eq!(event_name(255), "event-255");
        for code in 17..=255u8 {
            assert_eq!(event_name(code), format!("event-{code}"));
        }
    }

    #[test]
    fn digit_code_forms() {
        assert_eq!(digit_code("a"), Some(12));
        assert_eq!(digit_code("d"), Some(15));
        assert_eq!(digit_code("!"), Some(16));
        assert_eq!(digit_code("FLASH"), Some(16));
        assert_eq!(digit_code(" 7 "), Some(7));
        assert_eq!(digit_code("10"), Some(10));
        assert_eq!(digit_code("11"), Some(11));
        assert_eq!(digit_code("16"), Some(16));
        assert_eq!(digit_code("05"), Some(5));
        for bad in [
            "", " ", "17", "E", "e", "x", "55555", "1 2", "-1", "é", "**",
        ] {
            assert_eq!(digit_code(bad), None, "{bad:?}");
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // parse_info_body

    #[test]
    fn info_dtmf_relay() {
        let ct = "application/dtmf-relay";
        assert_eq!(
            parse_info_body(ct, b"Signal=5\r\nDuration=160\r\n"),
            Some(("5".to_string(), Some(160.0)))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal= 5\nDuration= 250\n"),
            Some(("5".to_string(), Some(250.0)))
        );
        assert_eq!(
            parse_info_body(ct, b"signal=#"),
            Some(("#".to_string(), None))
        );
        assert_eq!(
            parse_info_body(ct, b"  SIGNAL   =   *  \r\n  duration = 100 ms\r\n"),
            Some(("*".to_string(), Some(100.0)))
        );
        assert_eq!(
            parse_info_body(ct, b"Duration=80\r\nSignal=a\r\n"),
            Some(("A".to_string(), Some(80.0)))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal=16\r\n"),
            Some(("flash".to_string(), None))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal=!\r\n"),
            Some(("flash".to_string(), None))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal=11\r\n"),
            Some(("#".to_string(), None))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal=9\r\nDuration=abc\r\n"),
            Some(("9".to_string(), None))
        );
        assert_eq!(
            parse_info_body(ct, b"Signal=9\r\nDuration=-5\r\n"),
            Some(("9".to_string(), None))
        );
        // Content-Type parameters and case.
        assert_eq!(
            parse_info_body("Application/DTMF-Relay; charset=utf-8", b"Signal=3\r\n"),
            Some(("3".to_string(), None))
        );
        assert_eq!(
            parse_info_body(" application/dtmf-relay ;x=y", b"Signal=0"),
            Some(("0".to_string(), None))
        );
        // Garbage.
        for bad in [
            &b""[..],
            b"\r\n",
            b"Signal=\r\n",
            b"Signal=X\r\n",
            b"Signal=17\r\n",
            b"Signal 5\r\n",
            b"Duration=160\r\n",
            b"\xff\xfe\x00=\x01",
            b"Signal=55\r\n",
        ] {
            assert_eq!(parse_info_body(ct, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn info_dtmf_and_nortel() {
        assert_eq!(
            parse_info_body("application/dtmf", b"5"),
            Some(("5".to_string(), None))
        );
        assert_eq!(
            parse_info_body("application/dtmf", b"5\r\n"),
            Some(("5".to_string(), None))
        );
        assert_eq!(
            parse_info_body("APPLICATION/DTMF;foo", b" # \n"),
            Some(("#".to_string(), None))
        );
        assert_eq!(
            parse_info_body("application/dtmf", b"b"),
            Some(("B".to_string(), None))
        );
        assert_eq!(
            parse_info_body("application/dtmf", b"16"),
            Some(("flash".to_string(), None))
        );
        assert_eq!(parse_info_body("application/dtmf", b""), None);
        assert_eq!(parse_info_body("application/dtmf", b"hello"), None);
        assert_eq!(parse_info_body("application/dtmf", b"5\r\n6"), None);
        let nortel = "application/vnd.nortelnetworks.digits";
        assert_eq!(
            parse_info_body(nortel, b"d=5\r\n"),
            Some(("5".to_string(), None))
        );
        assert_eq!(
            parse_info_body(nortel, b"D = *"),
            Some(("*".to_string(), None))
        );
        assert_eq!(parse_info_body(nortel, b"d=\r\n"), None);
        assert_eq!(parse_info_body(nortel, b"x=5"), None);
        // Other content types, even with a digit-looking body.
        assert_eq!(parse_info_body("application/sdp", b"Signal=5"), None);
        assert_eq!(parse_info_body("text/plain", b"5"), None);
        assert_eq!(parse_info_body("", b"5"), None);
        assert_eq!(
            parse_info_body("application/dtmf-relayx", b"Signal=5"),
            None
        );
    }

    #[test]
    fn info_body_is_bounded() {
        let ct = "application/dtmf-relay";
        let mut body = vec![b' '; 2000];
        body.extend_from_slice(b"\r\nSignal=5\r\n");
        assert_eq!(parse_info_body(ct, &body), None, "past the first 1 KB");
        let mut body = b"Signal=7\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'x', 1_000_000));
        assert_eq!(parse_info_body(ct, &body), Some(("7".to_string(), None)));
    }

    // -----------------------------------------------------------------------------------------------------------
    // DtmfTracker

    #[test]
    fn too_short_payloads() {
        let mut t = DtmfTracker::default();
        for len in 0..4 {
            assert_eq!(
                t.push(1, 0, 1, 100, true, &[5u8; 4][..len], 8000),
                Err(DtmfError::TooShort { len })
            );
        }
        assert!(t.events().is_empty());
        // Extra bytes after the 4 are ignored (padding, redundancy is not parsed).
        t.push(1, 0, 1, 100, true, &[5, 0x8a, 0x01, 0x40, 9, 9], 8000)
            .unwrap();
        let ev = t.events();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].digit, "5");
        assert_eq!(ev[0].duration_ms, Some(40.0));
        assert_eq!(ev[0].volume, Some(10));
        assert!(ev[0].ended);
    }

    #[test]
    fn duplicate_end_packets_are_one_event() {
        let mut t = DtmfTracker::default();
        push(&mut t, 10, 1000, true, pl(5, false, 10, 0));
        push(&mut t, 11, 1000, false, pl(5, false, 10, 160));
        push(&mut t, 12, 1000, false, pl(5, false, 10, 320));
        push(&mut t, 13, 1000, false, pl(5, true, 10, 480));
        push(&mut t, 14, 1000, false, pl(5, true, 10, 480));
        push(&mut t, 15, 1000, false, pl(5, true, 10, 480));
        let ev = t.events();
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(e.digit, "5");
        assert_eq!(e.event, 5);
        assert_eq!(e.source, "rfc4733");
        assert_eq!(e.frame, 10);
        assert_eq!(e.ts_nanos, 10_000_000);
        assert_eq!(e.duration_ms, Some(60.0));
        assert!(e.ended);
        assert_eq!(e.volume, Some(10));
        assert_eq!(e.ssrc, Some(1));
        assert_eq!(e.packets, 6);
        assert_eq!((t.dropped_events, t.dropped_packets), (0, 0));
    }

    #[test]
    fn clock_rate_zero_means_8000_and_others_convert() {
        let mut t = DtmfTracker::default();
        t.push(1, 0, 1, 100, true, &pl(1, true, 0, 800), 0).unwrap();
        t.push(2, 0, 1, 5000, true, &pl(2, true, 0, 800), 16000)
            .unwrap();
        let ev = t.events();
        assert_eq!(ev[0].duration_ms, Some(100.0));
        assert_eq!(ev[1].duration_ms, Some(50.0));
    }

    #[test]
    fn interrupted_event() {
        // `1` never ends: `2` starts with a new timestamp.
        let mut t = DtmfTracker::default();
        push(&mut t, 1, 8000, true, pl(1, false, 7, 0));
        push(&mut t, 2, 8000, false, pl(1, false, 7, 160));
        push(&mut t, 3, 8480, true, pl(2, false, 7, 0));
        push(&mut t, 4, 8480, false, pl(2, false, 7, 160));
        push(&mut t, 5, 8480, false, pl(2, true, 7, 400));
        push(&mut t, 6, 8480, false, pl(2, true, 7, 400));
        let ev = t.events();
        assert_eq!(digits(&ev), "12");
        assert_eq!((ev[0].frame, ev[0].packets, ev[0].ended), (1, 2, false));
        assert_eq!(ev[0].duration_ms, Some(20.0));
        assert_eq!((ev[1].frame, ev[1].packets, ev[1].ended), (3, 4, true));
        assert_eq!(ev[1].duration_ms, Some(50.0));
    }

    #[test]
    fn same_timestamp_new_code_is_new_event() {
        let mut t = DtmfTracker::default();
        push(&mut t, 1, 500, true, pl(3, false, 5, 160));
        push(&mut t, 2, 500, true, pl(4, false, 5, 160));
        push(&mut t, 3, 500, false, pl(3, true, 5, 320));
        push(&mut t, 4, 500, false, pl(4, true, 5, 480));
        let ev = t.events();
        assert_eq!(digits(&ev), "34");
        assert_eq!((ev[0].packets, ev[0].duration_ms), (2, Some(40.0)));
        assert_eq!((ev[1].packets, ev[1].duration_ms), (2, Some(60.0)));
        // Same frame for both: kept in the order they were seen.
        let mut t = DtmfTracker::default();
        push(&mut t, 7, 500, true, pl(9, false, 5, 160));
        push(&mut t, 7, 500, true, pl(0, false, 5, 160));
        assert_eq!(digits(&t.events()), "90");
    }

    #[test]
    fn out_of_order_packets() {
        let mut t = DtmfTracker::default();
        // Event `8` at ts 1000 arrives partly after event `9` at ts 2000; one update of `8` arrives late.
        push(&mut t, 2, 1000, false, pl(8, false, 3, 320));
        push(&mut t, 3, 1000, false, pl(8, true, 3, 640));
        push(&mut t, 4, 2000, true, pl(9, false, 3, 0));
        push(&mut t, 5, 1000, false, pl(8, false, 3, 480));
        push(&mut t, 6, 2000, false, pl(9, true, 3, 160));
        // The start packet of `8`, with the smaller frame number, is fed last.
        push(&mut t, 1, 1000, true, pl(8, false, 3, 160));
        let ev = t.events();
        assert_eq!(digits(&ev), "89");
        assert_eq!((ev[0].frame, ev[0].ts_nanos), (1, 1_000_000));
        assert_eq!(
            (ev[0].packets, ev[0].duration_ms, ev[0].ended),
            (4, Some(80.0), true)
        );
        assert_eq!(
            (ev[1].frame, ev[1].packets, ev[1].duration_ms),
            (4, 2, Some(20.0))
        );
    }

    #[test]
    fn wrapped_duration_within_one_timestamp() {
        // A sender that lets the 16-bit duration wrap instead of segmenting.
        let mut t = DtmfTracker::default();
        push(&mut t, 1, 0, true, pl(0, false, 1, 65000));
        push(&mut t, 2, 0, false, pl(0, false, 1, 65400));
        push(&mut t, 3, 0, false, pl(0, false, 1, 264)); // 65800 - 65536
        push(&mut t, 4, 0, false, pl(0, false, 1, 65480)); // late packet from before the wrap
        push(&mut t, 5, 0, false, pl(0, true, 1, 664));
        push(&mut t, 6, 0, false, pl(0, true, 1, 664));
        let ev = t.events();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].packets, 6);
        // 65536 + 664 samples at 8 kHz.
        assert_eq!(ev[0].duration_ms, Some((65536.0 + 664.0) / 8.0));
        assert!(ev[0].ended);
    }

    #[test]
    fn long_duration_event_segments() {
        // RFC 4733 2.5.1.3: the first segment reports 0xFFFF, the next starts at ts + 0xFFFF without marker.
        let mut t = DtmfTracker::default();
        let ts0: u32 = 0xFFFF_0000; // the segment timestamp wraps modulo 2^32 too
        push(&mut t, 1, ts0, true, pl(11, false, 2, 0));
        push(&mut t, 2, ts0, false, pl(11, false, 2, 40000));
        push(&mut t, 3, ts0, false, pl(11, false, 2, 0xFFFF));
        let ts1 = ts0.wrapping_add(0xFFFF);
        push(&mut t, 4, ts1, false, pl(11, false, 2, 160));
        push(&mut t, 5, ts1, false, pl(11, true, 2, 800));
        push(&mut t, 6, ts1, false, pl(11, true, 2, 800));
        push(&mut t, 7, ts1, false, pl(11, true, 2, 800));
        // A new press of the same digit afterwards is a new event.
        let ts2 = ts1.wrapping_add(2000);
        push(&mut t, 8, ts2, true, pl(11, true, 2, 160));
        let ev = t.events();
        assert_eq!(digits(&ev), "##");
        assert_eq!((ev[0].frame, ev[0].packets, ev[0].ended), (1, 7, true));
        assert_eq!(ev[0].duration_ms, Some((65535.0 + 800.0) / 8.0));
        assert_eq!((ev[1].frame, ev[1].packets), (8, 1));
        // A marked packet at the continuation timestamp is a new event, not a continuation.
        let mut t = DtmfTracker::default();
        push(&mut t, 1, 0, true, pl(1, false, 2, 0xFFFF));
        push(&mut t, 2, 0xFFFF, true, pl(1, false, 2, 160));
        assert_eq!(t.events().len(), 2);
        // Neither is a different event code.
        let mut t = DtmfTracker::default();
        push(&mut t, 1, 0, true, pl(1, false, 2, 0xFFFF));
        push(&mut t, 2, 0xFFFF, false, pl(2, false, 2, 160));
        assert_eq!(digits(&t.events()), "12");
    }

    #[test]
    fn event_limit_counts_drops() {
        let mut t = DtmfTracker::default();
        for i in 0..(MAX_EVENTS as u32 + 5) {
            let f = u64::from(i) * 3;
            // Three packets per event.
            for k in 0..3 {
                push(
                    &mut t,
                    f + k,
                    i * 1000,
                    k == 0,
                    pl((i % 16) as u8, k == 2, 0, 160),
                );
            }
        }
        let ev = t.events();
        assert_eq!(ev.len(), MAX_EVENTS);
        assert!(ev.iter().all(|e| e.packets == 3));
        assert_eq!(t.dropped_events, 5);
        assert_eq!(t.dropped_packets, 15);
    }

    #[test]
    fn no_panic_on_random_payloads() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut t = DtmfTracker::default();
        for i in 0..20_000u64 {
            let len = rng.below(12);
            let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let ts = match rng.below(3) {
                0 => rng.next() as u32,
                1 => (rng.below(8) as u32).wrapping_mul(0xFFFF),
                _ => rng.below(4) as u32,
            };
            let rate = [0, 8000, 16000, 48000, 1, u32::MAX][rng.below(6)];
            let r = t.push(
                i,
                rng.next() as i64,
                rng.below(3) as u32,
                ts,
                rng.below(2) == 0,
                &payload,
                rate,
            );
            assert_eq!(r.is_err(), len < 4);
            for cut in 0..=payload.len() {
                let _ = t.push(i, 0, 7, ts, false, &payload[..cut], rate);
                let ct = [
                    "application/dtmf-relay",
                    "application/dtmf",
                    "application/vnd.nortelnetworks.digits",
                ][rng.below(3)];
                let _ = parse_info_body(ct, &payload[..cut]);
            }
        }
        let ev = t.events();
        assert!(ev.len() <= MAX_EVENTS);
        assert!(ev.windows(2).all(|w| w[0].frame <= w[1].frame));
        assert!(
            ev.iter()
                .all(|e| e.duration_ms.is_some_and(|d| d.is_finite() && d >= 0.0))
        );
        // Random text bodies, with the right content types.
        for _ in 0..20_000 {
            let len = rng.below(40);
            let alphabet = b"Signal=Duration 0123456789*#ABCDabcd!\r\n\t=;:xd\xff";
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            for cut in 0..=body.len() {
                if let Some((d, dur)) = parse_info_body("application/dtmf-relay", &body[..cut]) {
                    assert!(digit_code(&d).is_some(), "{d}");
                    assert!(dur.is_none_or(|x| x.is_finite() && x >= 0.0));
                }
                let _ = parse_info_body("application/dtmf", &body[..cut]);
                let _ = parse_info_body("application/vnd.nortelnetworks.digits", &body[..cut]);
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // Real captures, read with the crate's own capture and net stages.

    fn captures_dir() -> std::path::PathBuf {
        crate::testutil::captures_dir()
    }

    /// An RTP packet inside a UDP payload (RFC 3550 5.1), parsed inline.
    struct Rtp {
        frame: u64,
        ts_nanos: i64,
        cc: u8,
        marker: bool,
        pt: u8,
        timestamp: u32,
        ssrc: u32,
        payload: Vec<u8>,
    }

    /// Every UDP payload of the capture (frame, time, payload).
    fn udp_payloads(name: &str) -> Vec<(u64, i64, Vec<u8>)> {
        let file = crate::capture::CaptureFile::open(&captures_dir().join(name))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut reader = file.frames().unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(f) = reader.next_frame() {
            if let crate::net::NetOutcome::Packet(p) =
                crate::net::decode_frame(f.link_type, &f.data)
                && let crate::net::L4::Udp { payload, .. } = p.l4
            {
                out.push((f.number, f.ts_nanos, payload.into_owned()));
            }
        }
        out
    }

    fn rtp_packets(udp: &[(u64, i64, Vec<u8>)]) -> Vec<Rtp> {
        udp.iter()
            .filter(|(_, _, p)| p.len() >= 12 && p[0] >> 6 == 2)
            .map(|(frame, ts_nanos, p)| Rtp {
                frame: *frame,
                ts_nanos: *ts_nanos,
                cc: p[0] & 0x0f,
                marker: p[1] & 0x80 != 0,
                pt: p[1] & 0x7f,
                timestamp: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
                payload: p[12..].to_vec(),
            })
            .collect()
    }

    /// Payload types announced as `a=rtpmap:<pt> telephone-event/...` in any SDP of the capture.
    fn telephone_event_pts(udp: &[(u64, i64, Vec<u8>)]) -> Vec<u8> {
        let mut pts = Vec::new();
        for (_, _, p) in udp {
            let text = String::from_utf8_lossy(p);
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("a=rtpmap:")
                    && let Some((pt, enc)) = rest.split_once(' ')
                    && enc.to_ascii_lowercase().starts_with("telephone-event/")
                {
                    let pt: u8 = pt.parse().unwrap();
                    if !pts.contains(&pt) {
                        pts.push(pt);
                    }
                }
            }
        }
        pts
    }

    fn track(rtp: &[Rtp], pt: u8, ssrc: u32) -> DtmfTracker {
        let mut t = DtmfTracker::default();
        let mut fed = 0;
        for r in rtp.iter().filter(|r| r.pt == pt && r.ssrc == ssrc) {
            assert_eq!(r.cc, 0, "frame {}", r.frame);
            t.push(
                r.frame,
                r.ts_nanos,
                r.ssrc,
                r.timestamp,
                r.marker,
                &r.payload,
                8000,
            )
            .unwrap();
            fed += 1;
        }
        assert!(fed > 0);
        t
    }

    /// `tshark -r SIP_DTMF2.cap -Y rtpevent -o rtp.heuristic_rtp:TRUE -T fields -e frame.number -e rtp.timestamp
    /// -e rtpevent.event_id -e rtpevent.end_of_event -e rtpevent.duration -e rtp.marker`: 7 events of 5 packets
    /// each (marker at duration 0, updates 240/480/720, one end packet at 960), volume 7; truth section 9.
    #[test]
    fn real_capture_sip_dtmf2() {
        let udp = udp_payloads("SIP_DTMF2.cap");
        let pts = telephone_event_pts(&udp);
        assert_eq!(pts, vec![96]);
        let rtp = rtp_packets(&udp);
        let t = track(&rtp, pts[0], 0x5711_bf84);
        let ev = t.events();
        assert_eq!(digits(&ev), "6789123");
        assert_eq!(
            ev.iter().map(|e| e.frame).collect::<Vec<_>>(),
            vec![339, 441, 473, 503, 543, 577, 615]
        );
        let codes: Vec<u8> = ev.iter().map(|e| e.event).collect();
        assert_eq!(codes, vec![6, 7, 8, 9, 1, 2, 3]);
        for e in &ev {
            // tshark's final rtpevent.duration is 960 for every event: 960 / 8 = 120 ms.
            assert_eq!(e.duration_ms, Some(960.0 / 8.0), "frame {}", e.frame);
            assert_eq!(e.packets, 5, "frame {}", e.frame);
            assert!(e.ended);
            assert_eq!(e.volume, Some(7));
            assert_eq!(e.ssrc, Some(0x5711_bf84));
            assert_eq!(e.source, "rfc4733");
        }
        // The time is the first packet's.
        let first = rtp.iter().find(|r| r.frame == 339).unwrap();
        assert_eq!(ev[0].ts_nanos, first.ts_nanos);
        assert_eq!((t.dropped_events, t.dropped_packets), (0, 0));
    }

    /// FAX-Call-t38-CA-TDM-SIP-FB-1.pcap: SSRC 0x17d90134 sends event 194 (no DTMF digit) three times at RTP
    /// timestamp 146984, frames 1617/1621/1625, all with E set and duration 0 (tshark rtpevent; truth section 9).
    /// The SDP announces telephone-event as PT 102, but the sender uses PT 100 for it.
    #[test]
    fn real_capture_fax_event_194() {
        let udp = udp_payloads("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
        assert_eq!(telephone_event_pts(&udp), vec![102]);
        let rtp = rtp_packets(&udp);
        let t = track(&rtp, 100, 0x17d9_0134);
        let ev = t.events();
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(e.digit, "event-194");
        assert_eq!(e.event, 194);
        assert_eq!(e.frame, 1617);
        assert_eq!(e.packets, 3);
        assert!(e.ended);
        assert_eq!(e.duration_ms, Some(0.0));
        assert_eq!(e.volume, Some(0));
    }
}
