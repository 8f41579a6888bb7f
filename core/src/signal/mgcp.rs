//! MGCP (RFC 3435) and its PacketCable NCS profile, text over UDP (2427 to gateways, 2727 to call agents).
//!
//! A datagram holds one message or several piggybacked ones (separated by a line holding a single `.`). A command is
//! `VERB transaction-id endpoint MGCP 1.0 [profile]`, a response `code transaction-id [commentary]` (`000` is a
//! response acknowledgement); parameter lines `X: value` follow, then, after an empty line, an SDP session
//! description. Parameter names are case-insensitive. Everything here is bounded by the datagram; nothing is
//! trusted.

use crate::model::{SignalCommand, SignalKind, SignalSdp};

use super::{MAX_LIST, ParsedSignal, SignalError, push_bounded, text_of};

/// The commands of RFC 3435 §2.3 (and the NCS profile's subset).
pub const VERBS: [&str; 9] = [
    "EPCF", "CRCX", "MDCX", "DLCX", "RQNT", "NTFY", "AUEP", "AUCX", "RSIP",
];

/// Whether `data` starts with an MGCP command line (`VERB tid endpoint MGCP 1.0`): distinctive on any port.
pub fn starts_like_command(data: &[u8]) -> bool {
    let line = first_line(data);
    let mut words = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty());
    let (Some(verb), Some(tid), Some(_endpoint), Some(proto)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    is_verb(verb) && is_tid(tid) && proto.eq_ignore_ascii_case(b"MGCP")
}

/// Whether `data` starts like an MGCP response line (`200 1234 OK`): only trusted on MGCP's ports.
pub fn starts_like_response(data: &[u8]) -> bool {
    let line = first_line(data);
    let mut words = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty());
    let (Some(code), Some(tid)) = (words.next(), words.next()) else {
        return false;
    };
    code.len() == 3 && code.iter().all(u8::is_ascii_digit) && is_tid(tid)
}

fn first_line(data: &[u8]) -> &[u8] {
    let end = data
        .iter()
        .take(512)
        .position(|b| *b == b'\n' || *b == b'\r')
        .unwrap_or(data.len().min(512));
    data.get(..end).unwrap_or_default()
}

fn is_verb(w: &[u8]) -> bool {
    // Extension verbs are four letters too (RFC 3435 §3.2.1.1: `X` and three letters).
    w.len() == 4
        && (VERBS.iter().any(|v| v.as_bytes().eq_ignore_ascii_case(w))
            || (w.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'X'))
                && w.iter().all(u8::is_ascii_alphabetic)))
}

fn is_tid(w: &[u8]) -> bool {
    (1..=9).contains(&w.len()) && w.iter().all(u8::is_ascii_digit)
}

/// Parses one MGCP datagram into its messages (piggybacked ones in order).
pub fn parse(data: &[u8]) -> Result<Vec<ParsedSignal>, SignalError> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while !rest.trim().is_empty() {
        // A piggyback separator is a line holding a single period.
        let (msg, next) = split_piggyback(rest);
        if out.len() >= MAX_LIST {
            return Err(SignalError::Malformed(format!(
                "more than {MAX_LIST} piggybacked MGCP messages"
            )));
        }
        out.push(parse_one(msg)?);
        rest = next;
    }
    if out.is_empty() {
        return Err(SignalError::Malformed("empty MGCP datagram".into()));
    }
    Ok(out)
}

fn split_piggyback(s: &str) -> (&str, &str) {
    let mut pos = 0usize;
    for line in s.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "." {
            let msg = s.get(..pos).unwrap_or(s);
            let next = s.get(pos.saturating_add(line.len())..).unwrap_or("");
            return (msg, next);
        }
        pos = pos.saturating_add(line.len());
    }
    (s, "")
}

fn parse_one(msg: &str) -> Result<ParsedSignal, SignalError> {
    let mut lines = msg.split_inclusive('\n');
    let first = lines
        .next()
        .map(|l| l.trim_end_matches(['\r', '\n']).trim())
        .unwrap_or("");
    let mut p = ParsedSignal {
        text: text_of(msg),
        size: msg.len(),
        ..ParsedSignal::default()
    };
    let mut words = first.split_whitespace();
    let head = words.next().unwrap_or("");
    let tid = words.next().unwrap_or("");
    if !is_tid(tid.as_bytes()) {
        return Err(SignalError::Malformed(format!(
            "MGCP first line has no transaction id: {:?}",
            super::excerpt(first)
        )));
    }
    p.transaction = Some(tid.to_string());
    let mut endpoint = String::new();
    if head.len() == 3 && head.bytes().all(|b| b.is_ascii_digit()) {
        let code: u16 = head.parse().unwrap_or(0);
        p.status = Some(code);
        p.kind = if code == 0 {
            SignalKind::Ack
        } else {
            SignalKind::Response
        };
        let comment: Vec<&str> = words.collect();
        p.summary = if comment.is_empty() {
            head.to_string()
        } else {
            format!("{head} {}", comment.join(" "))
        };
    } else if is_verb(head.as_bytes()) {
        let verb = head.to_ascii_uppercase();
        endpoint = words.next().unwrap_or("").to_string();
        match words.next() {
            Some(w) if w.eq_ignore_ascii_case("MGCP") => {}
            _ => p.warnings.push("command line does not name MGCP".into()),
        }
        if let Some(v) = words.next() {
            p.agent = Some(format!("MGCP {v}{}", profile(words.collect())));
        }
        p.kind = SignalKind::Request;
        p.summary = format!("{verb} {endpoint}");
        p.commands.push(SignalCommand {
            name: verb,
            target: endpoint.clone(),
            mode: None,
        });
    } else {
        return Err(SignalError::Malformed(format!(
            "not an MGCP command or response: {:?}",
            super::excerpt(first)
        )));
    }
    // Parameters up to the empty line; the rest is SDP.
    for line in lines.by_ref() {
        let l = line.trim_end_matches(['\r', '\n']);
        if l.trim().is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            p.warnings.push(format!(
                "parameter line without ':': {:?}",
                super::excerpt(l)
            ));
            continue;
        };
        parameter(&mut p, name.trim(), value.trim());
    }
    let body: String = lines.collect();
    if body
        .lines()
        .any(|l| l.trim_start().starts_with("v=") || l.trim_start().starts_with("m="))
    {
        let role = if p.kind == SignalKind::Request {
            "remote"
        } else {
            "local"
        };
        for sdp in super::parse_sdp_alternatives(&body) {
            if p.sdp.len() < MAX_LIST {
                p.sdp.push(SignalSdp {
                    role,
                    target: endpoint.clone(),
                    sdp,
                });
            }
        }
    }
    Ok(p)
}

fn profile(words: Vec<&str>) -> String {
    if words.is_empty() {
        String::new()
    } else {
        format!(" {}", words.join(" "))
    }
}

fn parameter(p: &mut ParsedSignal, name: &str, value: &str) {
    match name.to_ascii_uppercase().as_str() {
        "C" => p.context = Some(value.to_string()),
        "I" | "I2" => {
            for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                push_bounded(&mut p.connections, id.to_string());
            }
        }
        "M" => {
            let mode = value.to_ascii_lowercase();
            if let Some(c) = p.commands.first_mut() {
                c.mode = Some(mode);
            }
        }
        "O" => {
            for e in split_list(value) {
                if let Some(d) = digit_of(&e)
                    && p.digits.len() < super::MAX_DIGITS
                {
                    p.digits.push_str(&d);
                }
                push_bounded(&mut p.events, e);
            }
        }
        "S" => {
            for s in split_list(value) {
                if let Some(cid) = caller_id(&s) {
                    p.caller_id = Some(cid);
                }
                push_bounded(&mut p.signals, s);
            }
        }
        _ => {}
    }
}

/// Splits an event or signal list at top-level commas (not inside parentheses or quotes).
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0u32;
    let mut quoted = false;
    let mut cur = String::new();
    for ch in value.chars() {
        match ch {
            '"' => quoted = !quoted,
            '(' if !quoted => depth = depth.saturating_add(1),
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                let t = cur.trim();
                if !t.is_empty() && out.len() < MAX_LIST {
                    out.push(t.to_string());
                }
                cur.clear();
                continue;
            }
            _ => {}
        }
        if cur.len() < 512 {
            cur.push(ch);
        }
    }
    let t = cur.trim();
    if !t.is_empty() && out.len() < MAX_LIST {
        out.push(t.to_string());
    }
    out
}

/// The digits an observed event reports: `5`, `D/5`, `d/#` or a collected string `D/5551234`; `None` for other
/// events. An event may name its connection (`D/5@FDE234C8`).
fn digit_of(event: &str) -> Option<String> {
    let e = event.split('@').next().unwrap_or(event).trim();
    let d = match e.split_once('/') {
        Some((pkg, d)) if pkg.eq_ignore_ascii_case("d") => d,
        Some(_) => return None,
        None => e,
    };
    let ok = !d.is_empty()
        && d.len() <= super::MAX_DIGITS
        && d.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'));
    // A bare letter A-D is also a DTMF digit, but a bare event name like `hd` is not.
    ok.then(|| d.to_string())
}

/// The number and name of a caller-id signal: `L/ci(10/14/17/26, "555-1212", "John Doe")` → `555-1212 "John Doe"`.
fn caller_id(signal: &str) -> Option<String> {
    let s = signal.trim();
    let name = s.split('(').next()?;
    let short = name.rsplit('/').next()?;
    if !short.eq_ignore_ascii_case("ci") {
        return None;
    }
    let args = s.get(name.len().saturating_add(1)..)?.trim_end_matches(')');
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let number = parts.get(1).map(|n| n.trim_matches('"')).unwrap_or("");
    let who = parts.get(2).map(|n| n.trim_matches('"')).unwrap_or("");
    if number.is_empty() && who.is_empty() {
        return None;
    }
    Some(if who.is_empty() {
        number.to_string()
    } else {
        format!("{number} \"{who}\"")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const CRCX: &str = "CRCX 1204 aaln/1@rgw-2567.whatever.net MGCP 1.0 NCS 1.0\r\n\
C: A3C47F21456789F0\r\n\
L: p:10, a:PCMU\r\n\
M: recvonly\r\n\
\r\n\
v=0\r\n\
c=IN IP4 128.96.41.1\r\n\
m=audio 3456 RTP/AVP 0\r\n";

    #[test]
    fn command_with_sdp() {
        assert!(starts_like_command(CRCX.as_bytes()));
        let m = parse(CRCX.as_bytes()).expect("parses");
        assert_eq!(m.len(), 1);
        let m = &m[0];
        assert_eq!(m.kind, SignalKind::Request);
        assert_eq!(m.transaction.as_deref(), Some("1204"));
        assert_eq!(m.context.as_deref(), Some("A3C47F21456789F0"));
        assert_eq!(m.commands[0].name, "CRCX");
        assert_eq!(m.commands[0].target, "aaln/1@rgw-2567.whatever.net");
        assert_eq!(m.commands[0].mode.as_deref(), Some("recvonly"));
        assert_eq!(m.agent.as_deref(), Some("MGCP 1.0 NCS 1.0"));
        assert_eq!(m.sdp.len(), 1);
        assert_eq!(m.sdp[0].role, "remote");
        assert_eq!(m.sdp[0].sdp.media[0].port, 3456);
    }

    #[test]
    fn piggybacked_response_and_notify_digits() {
        let d = "200 1203 OK\r\n.\r\nNTFY 2001 aaln/1@gw MGCP 1.0\r\nX: 0123\r\nO: L/hd,D/5,5,D/1,d/#,L/hu\r\n";
        let m = parse(d.as_bytes()).expect("parses");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].status, Some(200));
        assert_eq!(m[0].summary, "200 OK");
        assert_eq!(m[1].digits, "551#");
        assert_eq!(m[1].events.len(), 6);
    }

    #[test]
    fn caller_id_signal() {
        let d = "RQNT 77 aaln/2@gw MGCP 1.0 NCS 1.0\r\nS: L/rg, L/ci(10/14/17/26, \"555-1212\", \"John Doe\")\r\n";
        let m = parse(d.as_bytes()).expect("parses");
        assert_eq!(m[0].caller_id.as_deref(), Some("555-1212 \"John Doe\""));
        assert_eq!(
            m[0].signals,
            vec!["L/rg", "L/ci(10/14/17/26, \"555-1212\", \"John Doe\")"]
        );
    }

    #[test]
    fn not_mgcp() {
        assert!(!starts_like_command(b"INVITE sip:a@b SIP/2.0\r\n"));
        assert!(!starts_like_command(b"\x80\x08abc"));
        assert!(parse(b"hello world\r\n").is_err());
        assert!(starts_like_response(b"200 1 OK\r\n"));
        assert!(!starts_like_response(b"2000 1 OK\r\n"));
    }
}
