//! Stream and message transports for SIP: TCP reassembly (several SIP messages per segment, one message over many
//! segments framed by Content-Length, retransmitted segments counted once), SIP over WebSocket (RFC 7118 / RFC 6455
//! framing, masked frames, fragmented messages), SIP in SCTP DATA chunks, and TLS record recognition on any port.
//! It hands whole application messages (bytes of one SIP message) to the pipeline. May import: `model`, `net`.

pub mod sctp;
pub mod tcp;
pub mod websocket;

use std::net::SocketAddr;

use crate::model::{FrameNo, Transport};

/// What an [`AppMessage`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppProto {
    /// Exactly one SIP message.
    #[default]
    Sip,
    /// One STUN message or TURN ChannelData frame from a STUN/TURN-over-TCP stream (padding removed).
    Stun,
}

/// One application-level message cut from a transport: for SIP, the bytes of exactly one SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMessage {
    pub proto: AppProto,
    pub transport: Transport,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The frame in which the message became complete (Wireshark shows reassembled PDUs there).
    pub frame: FrameNo,
    /// Capture time of that frame.
    pub ts_nanos: i64,
    /// All frames that carried bytes of this message, ascending.
    pub frames: Vec<FrameNo>,
    pub data: Vec<u8>,
}

/// How many bytes of the first line [`starts_like_sip`] looks at.
pub const MAX_START_LINE: usize = 2048;

/// RFC 3261 `token` characters (method names).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// The first line of `data` (without its CR/LF), bounded to [`MAX_START_LINE`] bytes. `None` when no line end is
/// found within the bound.
fn first_line(data: &[u8]) -> Option<&[u8]> {
    let bounded = data.get(..data.len().min(MAX_START_LINE)).unwrap_or(data);
    let end = bounded.iter().position(|&b| b == b'\n')?;
    let line = bounded.get(..end)?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Is `line` (no CR/LF) a SIP request line or status line?
fn is_sip_start_line(line: &[u8]) -> bool {
    const VERSION: &[u8] = b"SIP/2.0";
    // Status line: `SIP/2.0 NNN reason` (the reason phrase may be empty).
    if let Some(prefix) = line.get(..VERSION.len())
        && prefix.eq_ignore_ascii_case(VERSION)
    {
        let Some(rest) = line.get(VERSION.len()..) else {
            return false;
        };
        return match rest {
            [b' ', a, b, c, tail @ ..] => {
                a.is_ascii_digit()
                    && b.is_ascii_digit()
                    && c.is_ascii_digit()
                    && matches!(tail.first(), None | Some(b' '))
            }
            _ => false,
        };
    }
    // Request line: `METHOD SP Request-URI SP SIP/2.0`.
    let Some(sp1) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (method, rest) = line.split_at(sp1);
    if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) {
        return false;
    }
    let rest = rest.get(1..).unwrap_or_default();
    let Some(sp2) = rest.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (uri, version) = rest.split_at(sp2);
    if uri.is_empty() || !uri.iter().all(|&b| b.is_ascii_graphic() || b >= 0x80) {
        return false;
    }
    version
        .get(1..)
        .is_some_and(|v| v.eq_ignore_ascii_case(VERSION))
}

/// Quick test: does `data` start like a SIP request line or status line (`SIP/2.0 `)? Used to recognise SIP by
/// content on any port and to find message starts in streams.
///
/// Only the first line is examined (it must end with LF within [`MAX_START_LINE`] bytes). Leading CR/LF
/// keep-alives are *not* skipped here: use [`keepalive_len`] first when scanning a stream.
pub fn starts_like_sip(data: &[u8]) -> bool {
    // Cheap reject before looking for the line end: a SIP start is a token char or `S`.
    match data.first() {
        Some(&b) if is_token_char(b) => {}
        _ => return false,
    }
    first_line(data).is_some_and(is_sip_start_line)
}

/// Number of leading CR and LF bytes in `buf`: RFC 5626 keep-alives (`"\r\n\r\n"` pings and `"\r\n"` pongs) and
/// stray line ends between messages on a stream. [`frame_sip`] expects a buffer that starts at a message, so stream
/// readers skip these bytes first (they are not messages and are not reported).
pub fn keepalive_len(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// How much of `buf` (which starts at a SIP message) is the first complete SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipFraming {
    /// The first `n` bytes are one whole message (headers, blank line, Content-Length body).
    Complete(usize),
    /// Headers or body not complete yet; more bytes are needed.
    Incomplete,
    /// Not a SIP message start, or a header block over the size bound.
    Invalid,
}

/// Where the header block of `buf` ends: the index just past the blank line (`\r\n\r\n`, or a bare `\n\n`, or a
/// mix), searched within the first `limit` bytes. Linear in `limit`.
pub(crate) fn header_end(buf: &[u8], limit: usize) -> Option<usize> {
    let window = buf.get(..buf.len().min(limit)).unwrap_or(buf);
    let mut prev_lf: Option<usize> = None;
    for (i, &b) in window.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        if let Some(p) = prev_lf {
            // The bytes between the two LFs form an empty line (possibly a lone CR).
            let between = window.get(p.saturating_add(1)..i).unwrap_or_default();
            if between.is_empty() || between == b"\r" {
                return Some(i.saturating_add(1));
            }
        }
        prev_lf = Some(i);
    }
    None
}

/// Parse a decimal Content-Length value (surrounding whitespace allowed).
fn parse_length(value: &[u8]) -> Option<usize> {
    let v = value.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0usize, |acc, &d| {
        acc.checked_mul(10)?
            .checked_add(usize::from(d.wrapping_sub(b'0')))
    })
}

/// The Content-Length of a header block (lines after the start line). `Ok(None)` when absent, `Err` when
/// malformed. Header names are case-insensitive, `l` is the compact form, whitespace may surround the colon.
fn content_length(headers: &[u8]) -> Result<Option<usize>, ()> {
    for raw in headers.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = value.get(1..).unwrap_or_default();
            return parse_length(value).map(Some).ok_or(());
        }
    }
    Ok(None)
}

/// Frame the first SIP message in a stream buffer using the blank line and Content-Length (`l:` compact form too;
/// a missing Content-Length on a stream means an empty body).
///
/// `buf` must start at the message: skip keep-alive CR/LF bytes with [`keepalive_len`] first (a buffer starting
/// with CR or LF is `Invalid`). The work is linear in `min(buf.len(), max_header_bytes)`; on `Incomplete` the caller
/// calls again with more bytes.
pub fn frame_sip(buf: &[u8], max_header_bytes: usize) -> SipFraming {
    match first_line(buf) {
        Some(line) => {
            if !is_sip_start_line(line) {
                return SipFraming::Invalid;
            }
        }
        None => {
            // No complete first line yet: keep waiting while it could still become one.
            let bound = max_header_bytes.min(MAX_START_LINE);
            let plausible = match buf.first() {
                None => true,
                Some(&b) => {
                    is_token_char(b) && buf.iter().all(|&b| b == b'\r' || (b >= 0x20 && b != 0x7f))
                }
            };
            return if buf.len() < bound && plausible {
                SipFraming::Incomplete
            } else {
                SipFraming::Invalid
            };
        }
    }
    let Some(hdr_len) = header_end(buf, max_header_bytes) else {
        return if buf.len() >= max_header_bytes {
            SipFraming::Invalid
        } else {
            SipFraming::Incomplete
        };
    };
    match total_from_headers(buf, hdr_len) {
        Some(total) if total <= buf.len() => SipFraming::Complete(total),
        Some(_) => SipFraming::Incomplete,
        None => SipFraming::Invalid,
    }
}

/// Header length plus Content-Length (`None` when malformed or overflowing).
fn total_from_headers(buf: &[u8], hdr_len: usize) -> Option<usize> {
    let headers = buf.get(..hdr_len)?;
    let body_len = content_length(headers).ok()?.unwrap_or(0);
    hdr_len.checked_add(body_len)
}

/// Length of the whole SIP message at the start of `buf` as soon as its header block is complete (the body may
/// still be missing): lets stream readers wait for the body without re-parsing the headers.
pub fn sip_total_len(buf: &[u8], max_header_bytes: usize) -> Option<usize> {
    if !first_line(buf).is_some_and(is_sip_start_line) {
        return None;
    }
    let hdr_len = header_end(buf, max_header_bytes)?;
    total_from_headers(buf, hdr_len)
}

/// Largest TLS record payload accepted by [`tls_record_version`] (2^14 plus the TLS 1.2 expansion allowance).
const MAX_TLS_RECORD: usize = 16384 + 2048;

/// Does `data` start with a TLS record header (content type 20..=24, version 3.x, sane length)? Returns the record
/// version (e.g. 0x0301) when it does.
pub fn tls_record_version(data: &[u8]) -> Option<u16> {
    let [content_type, major, minor, len_hi, len_lo, ..] = *data else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if (20..=24).contains(&content_type)
        && major == 3
        && minor <= 4
        && len > 0
        && len <= MAX_TLS_RECORD
    {
        Some(u16::from_be_bytes([major, minor]))
    } else {
        None
    }
}

/// Length of a TLS record (header included) starting at `data`, if it starts with a valid record header.
pub fn tls_record_len(data: &[u8]) -> Option<usize> {
    tls_record_version(data)?;
    let [_, _, _, len_hi, len_lo, ..] = *data else {
        return None;
    };
    Some(usize::from(u16::from_be_bytes([len_hi, len_lo])).saturating_add(5))
}

#[cfg(test)]
mod tests;
