//! IAX2 (RFC 5456): the Inter-Asterisk eXchange protocol on UDP 4569, binary.
//!
//! A full frame (F bit set) carries a 12-byte header — source call number, R(etransmitted) bit and destination call
//! number, a 32-bit millisecond timestamp, outbound and inbound sequence numbers, frame type and subclass — then,
//! for IAX control frames (type 6), information elements (type, length, value). Each full frame becomes one
//! [`ParsedSignal`]: the command (`NEW`, `ACCEPT`, `RINGING`, `ANSWER`, `HANGUP`, `DTMF`, `VOICE`, ...), the call
//! numbers, the IEs as `name=value` events (called/calling number and name, user name, formats, authentication
//! methods, challenge, MD5 result, plaintext password, cause). Mini frames (audio after the first voice frame) and
//! meta frames (trunks, video) are recognised by [`frame_kind`] and counted by the tracker, not stored as records.

use super::{ParsedSignal, SignalError, excerpt, push_bounded};
use crate::model::SignalKind;

/// IAX2's UDP port.
pub const IAX2_PORT: u16 = 4569;

/// Frame types (RFC 5456 8.2).
pub const DTMF_END: u8 = 0x01;
pub const VOICE: u8 = 0x02;
pub const VIDEO: u8 = 0x03;
pub const CONTROL: u8 = 0x04;
pub const IAX: u8 = 0x06;
pub const DTMF_BEGIN: u8 = 0x0c;

/// What kind of IAX2 frame a datagram starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A full frame (F bit set).
    Full,
    /// A mini frame: 15-bit source call number, 16-bit timestamp, then media.
    Mini { source_call: u16 },
    /// A meta frame (first 16 bits zero): trunked calls or video.
    Meta,
}

/// Media entries read from one meta frame, at most this many.
pub const MAX_TRUNK_ENTRIES: usize = 1024;

/// The media a meta frame carries, as (source call number, media bytes): one entry per trunked call frame
/// (Asterisk's trunk format, as TShark reads it: command 1, a flag for per-call timestamps, a 32-bit timestamp,
/// then per call either length, call number and 16-bit timestamp, or call number and length), or the one call of a
/// meta video frame (V bit set). Entries that run past the frame end the list; unknown commands give none.
pub fn meta_entries(payload: &[u8]) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    let (Some(&cmd), Some(&data)) = (payload.get(2), payload.get(3)) else {
        return out;
    };
    if cmd & 0x80 != 0 {
        // Meta video: V bit and the source call number, then a timestamp and the video data.
        let call = u16::from_be_bytes([cmd & 0x7f, data]);
        out.push((call, payload.len().saturating_sub(6)));
        return out;
    }
    if cmd != 1 {
        return out;
    }
    let with_ts = data & 1 != 0;
    let mut rest = payload.get(8..).unwrap_or_default();
    let word = |b: &[u8], i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
    };
    while out.len() < MAX_TRUNK_ENTRIES {
        let (call, len, head) = if with_ts {
            let (Some(len), Some(call)) = (word(rest, 0), word(rest, 2)) else {
                break;
            };
            if rest.len() < 6 {
                break;
            }
            (call & 0x7fff, usize::from(len), 6)
        } else {
            let (Some(call), Some(len)) = (word(rest, 0), word(rest, 2)) else {
                break;
            };
            (call & 0x7fff, usize::from(len), 4)
        };
        let Some(next) = rest.get(head + len..) else {
            break;
        };
        out.push((call, len));
        rest = next;
    }
    out
}

/// The kind of frame `payload` is, or `None` when it is too short for any.
pub fn frame_kind(payload: &[u8]) -> Option<FrameKind> {
    let b0 = *payload.first()?;
    let b1 = *payload.get(1)?;
    let word = u16::from_be_bytes([b0, b1]);
    if word & 0x8000 != 0 {
        return (payload.len() >= 12).then_some(FrameKind::Full);
    }
    if payload.len() < 4 {
        return None;
    }
    if word == 0 {
        return Some(FrameKind::Meta);
    }
    Some(FrameKind::Mini { source_call: word })
}

/// The fixed header of a full frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullHeader {
    pub source_call: u16,
    pub dest_call: u16,
    pub retransmitted: bool,
    pub timestamp: u32,
    pub oseq: u8,
    pub iseq: u8,
    pub frame_type: u8,
    pub subclass: u32,
}

fn header(p: &[u8]) -> Option<FullHeader> {
    let w = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?])) };
    let src = w(0)?;
    let dst = w(2)?;
    let ts = u32::from_be_bytes([*p.get(4)?, *p.get(5)?, *p.get(6)?, *p.get(7)?]);
    let raw = *p.get(11)?;
    // The C bit: the subclass is a power of two (formats beyond bit 6).
    let subclass = if raw & 0x80 != 0 {
        1u32.checked_shl(u32::from(raw & 0x1f)).unwrap_or(0)
    } else {
        u32::from(raw)
    };
    Some(FullHeader {
        source_call: src & 0x7fff,
        dest_call: dst & 0x7fff,
        retransmitted: dst & 0x8000 != 0,
        timestamp: ts,
        oseq: *p.get(8)?,
        iseq: *p.get(9)?,
        frame_type: *p.get(10)?,
        subclass,
    })
}

/// The IAX command names (frame type 6, RFC 5456 8.4).
pub fn iax_command(sub: u32) -> Option<&'static str> {
    Some(match sub {
        0x01 => "NEW",
        0x02 => "PING",
        0x03 => "PONG",
        0x04 => "ACK",
        0x05 => "HANGUP",
        0x06 => "REJECT",
        0x07 => "ACCEPT",
        0x08 => "AUTHREQ",
        0x09 => "AUTHREP",
        0x0a => "INVAL",
        0x0b => "LAGRQ",
        0x0c => "LAGRP",
        0x0d => "REGREQ",
        0x0e => "REGAUTH",
        0x0f => "REGACK",
        0x10 => "REGREJ",
        0x11 => "REGREL",
        0x12 => "VNAK",
        0x13 => "DPREQ",
        0x14 => "DPREP",
        0x15 => "DIAL",
        0x16 => "TXREQ",
        0x17 => "TXCNT",
        0x18 => "TXACC",
        0x19 => "TXREADY",
        0x1a => "TXREL",
        0x1b => "TXREJ",
        0x1c => "QUELCH",
        0x1d => "UNQUELCH",
        0x1e => "POKE",
        0x20 => "MWI",
        0x21 => "UNSUPPORT",
        0x22 => "TRANSFER",
        0x23 => "PROVISION",
        0x24 => "FWDOWNL",
        0x25 => "FWDATA",
        0x26 => "TXMEDIA",
        0x27 => "RTKEY",
        0x28 => "CALLTOKEN",
        _ => return None,
    })
}

/// Control frame names (frame type 4, RFC 5456 8.3).
fn control(sub: u32) -> Option<&'static str> {
    Some(match sub {
        0x01 => "HANGUP",
        0x03 => "RINGING",
        0x04 => "ANSWER",
        0x05 => "BUSY",
        0x08 => "CONGESTION",
        0x09 => "FLASH",
        0x0b => "OPTION",
        0x0c => "KEY",
        0x0d => "UNKEY",
        0x0e => "PROGRESS",
        0x0f => "PROCEEDING",
        0x10 => "HOLD",
        0x11 => "UNHOLD",
        _ => return None,
    })
}

/// A media format bit (RFC 5456 8.7) as the RTP encoding name Earshot uses elsewhere.
pub fn format_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x0001 => "G723",
        0x0002 => "GSM",
        0x0004 => "PCMU",
        0x0008 => "PCMA",
        0x0010 => "G726",
        0x0020 => "ADPCM",
        0x0040 => "L16",
        0x0080 => "LPC10",
        0x0100 => "G729",
        0x0200 => "speex",
        0x0400 => "iLBC",
        0x0800 => "G726-AAL2",
        0x1000 => "G722",
        0x8000 => "L16/16000",
        0x1_0000 => "JPEG",
        0x2_0000 => "PNG",
        0x4_0000 => "H261",
        0x8_0000 => "H263",
        0x10_0000 => "H263+",
        0x20_0000 => "H264",
        _ => return None,
    })
}

/// The formats set in a bit mask, by name (unknown bits as `0x…`).
pub fn formats(mask: u32) -> Vec<String> {
    (0..32)
        .map(|i| 1u32 << i)
        .filter(|b| mask & b != 0)
        .map(|b| format_name(b).map_or_else(|| format!("{b:#x}"), str::to_string))
        .collect()
}

/// Information element names (RFC 5456 8.6); how the value is shown.
enum Value {
    Text,
    U16,
    U32,
    Formats,
    AuthMethods,
    U8,
    Hex,
}

fn ie(kind: u8) -> Option<(&'static str, Value)> {
    use Value::*;
    Some(match kind {
        1 => ("called number", Text),
        2 => ("calling number", Text),
        3 => ("calling ani", Text),
        4 => ("calling name", Text),
        5 => ("called context", Text),
        6 => ("username", Text),
        7 => ("password", Text),
        8 => ("capability", Formats),
        9 => ("format", Formats),
        10 => ("language", Text),
        11 => ("version", U16),
        12 => ("adsicpe", U16),
        13 => ("dnid", Text),
        14 => ("authmethods", AuthMethods),
        15 => ("challenge", Text),
        16 => ("md5 result", Text),
        17 => ("rsa result", Text),
        18 => ("apparent addr", Hex),
        19 => ("refresh", U16),
        20 => ("dpstatus", U16),
        21 => ("callno", U16),
        22 => ("cause", Text),
        23 => ("iax unknown", U8),
        24 => ("msgcount", U16),
        25 => ("autoanswer", Hex),
        26 => ("musiconhold", Hex),
        27 => ("transferid", U32),
        28 => ("rdnis", Text),
        31 => ("datetime", U32),
        32 => ("devicetype", Text),
        33 => ("serviceident", Text),
        34 => ("firmwarever", U16),
        37 => ("provver", U32),
        38 => ("callingpres", U8),
        39 => ("callington", U8),
        40 => ("callingtns", U16),
        41 => ("samplingrate", U16),
        42 => ("causecode", U8),
        43 => ("encryption", U16),
        44 => ("enckey", Hex),
        45 => ("codec prefs", Text),
        46 => ("rr jitter", U32),
        47 => ("rr loss", U32),
        48 => ("rr pkts", U32),
        49 => ("rr delay", U16),
        50 => ("rr dropped", U32),
        51 => ("rr ooo", U32),
        52 => ("variable", Text),
        53 => ("osptoken", Hex),
        54 => ("calltoken", Hex),
        _ => return None,
    })
}

fn number(v: &[u8]) -> Option<u32> {
    match v.len() {
        1 => Some(u32::from(*v.first()?)),
        2 => Some(u32::from(u16::from_be_bytes([*v.first()?, *v.get(1)?]))),
        4 => Some(u32::from_be_bytes([
            *v.first()?,
            *v.get(1)?,
            *v.get(2)?,
            *v.get(3)?,
        ])),
        _ => None,
    }
}

fn show(kind: &Value, v: &[u8]) -> String {
    let hex = || {
        v.iter()
            .take(64)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    match kind {
        Value::Text => excerpt(&String::from_utf8_lossy(v)),
        Value::U8 | Value::U16 | Value::U32 => number(v).map_or_else(hex, |n| n.to_string()),
        Value::Formats => number(v).map_or_else(hex, |n| formats(n).join(",")),
        Value::AuthMethods => number(v).map_or_else(hex, |n| {
            let mut m = Vec::new();
            for (bit, name) in [(1, "plaintext"), (2, "md5"), (4, "rsa")] {
                if n & bit != 0 {
                    m.push(name.to_string());
                }
            }
            if n & !7 != 0 {
                m.push(format!("{:#x}", n & !7));
            }
            m.join(",")
        }),
        Value::Hex => hex(),
    }
}

/// The DTMF digit of a subclass (an ASCII character).
fn digit(sub: u32) -> Option<char> {
    let c = char::from_u32(sub)?;
    (c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')).then_some(c)
}

/// Parses one full frame. Mini and meta frames are not messages: they return no record (see [`frame_kind`]).
pub fn parse(payload: &[u8]) -> Result<Vec<ParsedSignal>, SignalError> {
    match frame_kind(payload) {
        Some(FrameKind::Full) => {}
        Some(_) => return Ok(Vec::new()),
        None => {
            return Err(SignalError::Malformed(
                "IAX2 frame shorter than its header".into(),
            ));
        }
    }
    let h =
        header(payload).ok_or_else(|| SignalError::Malformed("IAX2 full frame header".into()))?;
    let body = payload.get(12..).unwrap_or_default();
    let mut p = ParsedSignal {
        size: payload.len(),
        call_numbers: Some([h.source_call, h.dest_call]),
        resent: h.retransmitted,
        ..ParsedSignal::default()
    };
    let (verb, detail): (String, String) = match h.frame_type {
        IAX => {
            let name = iax_command(h.subclass)
                .map_or_else(|| format!("IAX {}", h.subclass), str::to_string);
            if name == "ACK" {
                p.kind = SignalKind::Ack;
            }
            (name, String::new())
        }
        CONTROL => (
            control(h.subclass).map_or_else(|| format!("CONTROL {}", h.subclass), str::to_string),
            String::new(),
        ),
        VOICE | VIDEO => (
            if h.frame_type == VOICE {
                "VOICE"
            } else {
                "VIDEO"
            }
            .to_string(),
            formats(h.subclass).join(","),
        ),
        DTMF_END | DTMF_BEGIN => {
            let d = digit(h.subclass);
            if h.frame_type == DTMF_END
                && let Some(d) = d
            {
                p.digits.push(d);
            }
            let shown = d.map_or_else(|| format!("{}", h.subclass), |d| d.to_string());
            (
                "DTMF".to_string(),
                if h.frame_type == DTMF_BEGIN {
                    format!("{shown} begin")
                } else {
                    shown
                },
            )
        }
        0x05 => ("NULL".into(), String::new()),
        0x07 => ("TEXT".into(), String::new()),
        0x08 => ("IMAGE".into(), String::new()),
        0x09 => ("HTML".into(), String::new()),
        0x0a => ("CNG".into(), String::new()),
        0x0b => ("MODEM".into(), String::new()),
        t => (format!("TYPE {t}"), String::new()),
    };
    let mut text = format!(
        "IAX2 {verb}{}{} source call {} dest call {} ts {} oseq {} iseq {}{}",
        if detail.is_empty() { "" } else { " " },
        detail,
        h.source_call,
        h.dest_call,
        h.timestamp,
        h.oseq,
        h.iseq,
        if h.retransmitted {
            " (retransmitted)"
        } else {
            ""
        }
    );
    let mut target = String::new();
    let mut calling: Option<String> = None;
    let mut calling_name: Option<String> = None;
    if h.frame_type == IAX {
        let mut rest = body;
        while !rest.is_empty() {
            let (Some(&kind), Some(&len)) = (rest.first(), rest.get(1)) else {
                p.warnings.push("IAX2 information element cut short".into());
                break;
            };
            let Some(value) = rest.get(2..2 + usize::from(len)) else {
                p.warnings.push(format!(
                    "IAX2 information element {kind} runs past the frame"
                ));
                break;
            };
            rest = rest.get(2 + usize::from(len)..).unwrap_or_default();
            let (name, shown) = match ie(kind) {
                Some((name, how)) => (name.to_string(), show(&how, value)),
                None => (format!("ie {kind}"), show(&Value::Hex, value)),
            };
            match kind {
                1 => target = shown.clone(),
                2 => calling = Some(shown.clone()),
                4 => calling_name = Some(shown.clone()),
                42 => p.status = number(value).and_then(|n| u16::try_from(n).ok()),
                _ => {}
            }
            text.push_str(&format!("\n{name}: {shown}"));
            push_bounded(&mut p.events, format!("{name}={shown}"));
        }
    } else if !body.is_empty() {
        text.push_str(&format!("\n{} bytes of payload", body.len()));
    }
    if let Some(n) = calling {
        p.caller_id = Some(match calling_name {
            Some(name) => format!("{n} \"{name}\""),
            None => n,
        });
    }
    p.summary = match verb.as_str() {
        "NEW" if !target.is_empty() => format!("NEW {target}"),
        _ if !detail.is_empty() => format!("{verb} {detail}"),
        _ => {
            let cause = p
                .events
                .iter()
                .find_map(|e| e.strip_prefix("cause="))
                .map(str::to_string);
            match (cause, p.status) {
                (Some(c), Some(code)) => format!("{verb} {c} ({code})"),
                (Some(c), None) => format!("{verb} {c}"),
                (None, Some(code)) => format!("{verb} ({code})"),
                (None, None) => verb.clone(),
            }
        }
    };
    p.commands.push(crate::model::SignalCommand {
        name: verb,
        target,
        mode: None,
    });
    p.text = super::text_of(&text);
    Ok(vec![p])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(src: u16, dst: u16, ftype: u8, sub: u8, ies: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(0x8000 | src).to_be_bytes());
        v.extend_from_slice(&dst.to_be_bytes());
        v.extend_from_slice(&1234u32.to_be_bytes());
        v.extend_from_slice(&[1, 2, ftype, sub]);
        v.extend_from_slice(ies);
        v
    }

    #[test]
    fn a_new_frame_gives_its_numbers_and_formats() {
        let mut ies = vec![1, 4];
        ies.extend_from_slice(b"1000");
        ies.extend_from_slice(&[2, 4]);
        ies.extend_from_slice(b"2001");
        ies.extend_from_slice(&[4, 5]);
        ies.extend_from_slice(b"Alice");
        ies.extend_from_slice(&[9, 4, 0, 0, 0, 4, 8, 4, 0, 0, 0, 0x0e, 14, 2, 0, 3]);
        let p = parse(&full(3, 0, IAX, 1, &ies)).unwrap();
        let p = &p[0];
        assert_eq!(p.summary, "NEW 1000");
        assert_eq!(p.call_numbers, Some([3, 0]));
        assert_eq!(p.caller_id.as_deref(), Some("2001 \"Alice\""));
        assert!(p.events.contains(&"format=PCMU".to_string()));
        assert!(p.events.contains(&"capability=GSM,PCMU,PCMA".to_string()));
        assert!(p.events.contains(&"authmethods=plaintext,md5".to_string()));
        assert_eq!(p.kind, SignalKind::Request);
    }

    #[test]
    fn retransmission_bit_ack_dtmf_and_cause() {
        let mut f = full(7, 8, IAX, 4, &[]);
        f[2] |= 0x80;
        let p = &parse(&f).unwrap()[0];
        assert!(p.resent);
        assert_eq!(p.call_numbers, Some([7, 8]));
        assert_eq!(p.kind, SignalKind::Ack);
        let p = &parse(&full(7, 8, DTMF_END, b'5', &[])).unwrap()[0];
        assert_eq!((p.digits.as_str(), p.summary.as_str()), ("5", "DTMF 5"));
        let p = &parse(&full(7, 8, DTMF_BEGIN, b'#', &[])).unwrap()[0];
        assert_eq!(
            (p.digits.as_str(), p.summary.as_str()),
            ("", "DTMF # begin")
        );
        let mut ies = vec![22, 15];
        ies.extend_from_slice(b"Normal Clearing");
        ies.extend_from_slice(&[42, 1, 16]);
        let p = &parse(&full(7, 8, IAX, 5, &ies)).unwrap()[0];
        assert_eq!(p.summary, "HANGUP Normal Clearing (16)");
        assert_eq!(p.status, Some(16));
        // Voice with the C bit: 2^2 = ulaw.
        let p = &parse(&full(7, 8, VOICE, 0x82, &[0xff; 160])).unwrap()[0];
        assert_eq!(p.summary, "VOICE PCMU");
    }

    #[test]
    fn trunk_entries_with_and_without_timestamps() {
        // Trunk, per-call timestamps: (len 3, call 5, ts) and (len 2, call 0x8006 with the R bit, ts).
        let mut f = vec![0, 0, 1, 1, 0, 0, 0, 9];
        f.extend_from_slice(&[0, 3, 0, 5, 0, 20, 1, 2, 3]);
        f.extend_from_slice(&[0, 2, 0x80, 6, 0, 20, 1, 2]);
        assert_eq!(meta_entries(&f), [(5, 3), (6, 2)]);
        // Without timestamps: (call 5, len 2), then an entry that runs past the end.
        let mut f = vec![0, 0, 1, 0, 0, 0, 0, 9];
        f.extend_from_slice(&[0, 5, 0, 2, 7, 7]);
        f.extend_from_slice(&[0, 6, 0, 9, 1]);
        assert_eq!(meta_entries(&f), [(5, 2)]);
        // Video: V bit and call 0x0102.
        assert_eq!(meta_entries(&[0, 0, 0x81, 2, 0, 1, 9, 9]), [(0x102, 2)]);
        // Unknown command, short frames.
        assert!(meta_entries(&[0, 0, 7, 0, 0, 0, 0, 0, 0, 1]).is_empty());
        assert!(meta_entries(&[0, 0]).is_empty());
    }

    #[test]
    fn mini_meta_short_and_truncated_frames() {
        assert_eq!(
            frame_kind(&[0, 3, 0, 20, 1]),
            Some(FrameKind::Mini { source_call: 3 })
        );
        assert_eq!(frame_kind(&[0, 0, 0x80, 1]), Some(FrameKind::Meta));
        assert_eq!(frame_kind(&[0x80, 1, 0]), None);
        assert!(parse(&[0, 3, 0, 20]).unwrap().is_empty());
        assert!(parse(&[0x80, 1]).is_err());
        // An IE whose length runs past the end: kept up to there, with a warning.
        let p = &parse(&full(1, 0, IAX, 1, &[1, 2, b'1', b'0', 6, 40, b'x'])).unwrap()[0];
        assert_eq!(p.summary, "NEW 10");
        assert_eq!(p.warnings.len(), 1);
        // Every single-byte truncation of a NEW parses without panicking.
        let f = full(1, 0, IAX, 1, &[1, 4, b'1', b'0', b'0', b'0', 6, 1, b'a']);
        for n in 0..f.len() {
            let _ = parse(f.get(..n).unwrap());
        }
    }
}
