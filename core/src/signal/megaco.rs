//! MEGACO/H.248 text encoding (H.248.1 Annex B; RFC 3525), over UDP (2944 text, 2945 binary) or TCP.
//!
//! A message is `MEGACO/1 mId` (or the compact `!/1 mId`) and then transactions: `Transaction = id { Context = id {
//! commands } }`, `Reply = id { ... }`, `Pending = id`, `TransactionResponseAck { ids }`, or a message-level
//! `Error`. Every name has a long and a compact form, case-insensitive. The text is read into a small tree of
//! `name [= value] [{ children }]` items (Local and Remote descriptors are kept raw: they hold SDP) and the tree is
//! then read for what the analysis needs. One [`ParsedSignal`] is made per (transaction, context): the unit a call
//! is built from. Bounded: [`MAX_DEPTH`] levels, [`MAX_ITEMS`] items per message.

use crate::model::{SignalCommand, SignalKind, SignalSdp};

use super::{MAX_LIST, ParsedSignal, SignalError, push_bounded, text_of};

/// Nesting levels read at most (the deepest standard descriptor is about eight).
pub const MAX_DEPTH: usize = 32;
/// Items read at most per message.
pub const MAX_ITEMS: usize = 4096;

/// Whether `data` starts like a MEGACO text message (`MEGACO/` or `!/` then a version digit): distinctive on any
/// port.
pub fn starts_like_megaco(data: &[u8]) -> bool {
    let rest = if data.len() >= 7
        && data
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"MEGACO/"))
    {
        data.get(7..)
    } else if data.starts_with(b"!/") {
        data.get(2..)
    } else {
        None
    };
    rest.and_then(|r| r.first()).is_some_and(u8::is_ascii_digit)
}

/// One `name [= value] [{ children }]` of the text encoding.
#[derive(Debug, Default, Clone)]
struct Item {
    name: String,
    value: Option<String>,
    children: Vec<Item>,
    /// The raw text of a Local or Remote descriptor (SDP).
    raw: Option<String>,
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    items: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else if b == b';' {
                // A comment runs to the end of the line.
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn token(&mut self) -> String {
        self.skip_space();
        let start = self.pos;
        if self.peek() == Some(b'"') {
            self.pos += 1;
            while let Some(b) = self.peek() {
                self.pos += 1;
                if b == b'"' {
                    break;
                }
            }
        } else {
            let mut bracket = 0u32;
            while let Some(b) = self.peek() {
                match b {
                    b'[' => bracket = bracket.saturating_add(1),
                    b']' => bracket = bracket.saturating_sub(1),
                    b'{' | b'}' | b'=' if bracket == 0 => break,
                    b',' if bracket == 0 => break,
                    _ if b.is_ascii_whitespace() && bracket == 0 => break,
                    _ => {}
                }
                self.pos += 1;
            }
        }
        String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    /// Text up to the `}` that closes the brace just read (raw SDP).
    fn raw_block(&mut self) -> Result<String, SignalError> {
        let start = self.pos;
        let mut depth = 1u32;
        while let Some(b) = self.peek() {
            match b {
                b'{' => depth = depth.saturating_add(1),
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let raw = String::from_utf8_lossy(
                            self.s.get(start..self.pos).unwrap_or_default(),
                        )
                        .into_owned();
                        self.pos += 1;
                        return Ok(raw);
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(SignalError::Malformed(
            "unclosed Local/Remote descriptor".into(),
        ))
    }

    /// Items until `}` (consumed) or the end of the text; separated by commas or whitespace.
    fn list(&mut self, depth: usize, closing: bool) -> Result<Vec<Item>, SignalError> {
        if depth > MAX_DEPTH {
            return Err(SignalError::Malformed(format!(
                "descriptors nested more than {MAX_DEPTH} deep"
            )));
        }
        let mut out = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None if closing => {
                    return Err(SignalError::Malformed("unbalanced braces".into()));
                }
                None => return Ok(out),
                Some(b'}') if closing => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'}') => return Err(SignalError::Malformed("unbalanced braces".into())),
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let before = self.pos;
            let item = self.item(depth)?;
            if self.pos == before {
                // A stray `{` or `=` with no name: step over it rather than loop.
                self.pos += 1;
                continue;
            }
            self.items += 1;
            if self.items > MAX_ITEMS {
                return Err(SignalError::Malformed(format!(
                    "more than {MAX_ITEMS} items in one message"
                )));
            }
            out.push(item);
        }
    }

    fn item(&mut self, depth: usize) -> Result<Item, SignalError> {
        let mut item = Item {
            name: self.token(),
            ..Item::default()
        };
        self.skip_space();
        if self.peek() == Some(b'=') {
            self.pos += 1;
            self.skip_space();
            if self.peek() != Some(b'{') {
                item.value = Some(self.token());
            }
            self.skip_space();
        }
        if self.peek() == Some(b'{') {
            self.pos += 1;
            let n = item.name.to_ascii_lowercase();
            if n == "l" || n == "local" || n == "r" || n == "remote" {
                item.raw = Some(self.raw_block()?);
            } else {
                item.children = self.list(depth + 1, true)?;
            }
        }
        Ok(item)
    }
}

fn is(name: &str, long: &str, short: &str) -> bool {
    name.eq_ignore_ascii_case(long) || name.eq_ignore_ascii_case(short)
}

/// The long name of a command token (optional `O-`/`W-` prefixes dropped), `None` for other items.
fn command_name(token: &str) -> Option<&'static str> {
    let mut t = token;
    for _ in 0..2 {
        if let Some(rest) = t.get(2..)
            && t.get(..2)
                .is_some_and(|p| p.eq_ignore_ascii_case("O-") || p.eq_ignore_ascii_case("W-"))
        {
            t = rest;
        }
    }
    const NAMES: [(&str, &str, &str); 8] = [
        ("Add", "A", "Add"),
        ("Modify", "MF", "Modify"),
        ("Subtract", "S", "Subtract"),
        ("Move", "MV", "Move"),
        ("AuditValue", "AV", "AuditValue"),
        ("AuditCapability", "AC", "AuditCapability"),
        ("Notify", "N", "Notify"),
        ("ServiceChange", "SC", "ServiceChange"),
    ];
    NAMES
        .iter()
        .find(|(long, short, _)| is(t, long, short))
        .map(|(_, _, canon)| *canon)
}

/// A MEGACO mode value in words: `SR` → `sendrecv`.
fn mode_name(v: &str) -> String {
    let l = v.to_ascii_lowercase();
    match l.as_str() {
        "sr" | "sendreceive" => "sendrecv".into(),
        "so" | "sendonly" => "sendonly".into(),
        "rc" | "receiveonly" => "recvonly".into(),
        "in" | "inactive" => "inactive".into(),
        "lb" | "loopback" => "loopback".into(),
        _ => l,
    }
}

/// Parses one MEGACO text message into one [`ParsedSignal`] per (transaction, context).
pub fn parse(data: &[u8]) -> Result<Vec<ParsedSignal>, SignalError> {
    let mut r = Reader {
        s: data,
        pos: 0,
        items: 0,
    };
    let header = r.token();
    if !starts_like_megaco(header.as_bytes()) {
        return Err(SignalError::Malformed(format!(
            "not a MEGACO text message: {:?}",
            super::excerpt(&header)
        )));
    }
    let mid = r.token();
    let items = r.list(0, false)?;
    let text = text_of(&String::from_utf8_lossy(data));
    let mut out: Vec<ParsedSignal> = Vec::new();
    let base = |kind: SignalKind, tid: Option<String>| ParsedSignal {
        kind,
        transaction: tid,
        agent: (!mid.is_empty()).then(|| mid.clone()),
        text: text.clone(),
        size: data.len(),
        ..ParsedSignal::default()
    };
    for t in &items {
        let n = t.name.as_str();
        if is(n, "Transaction", "T") || is(n, "Reply", "P") {
            let request = is(n, "Transaction", "T");
            let kind = if request {
                SignalKind::Request
            } else {
                SignalKind::Response
            };
            let tid = t.value.clone();
            let mut any = false;
            for c in &t.children {
                if is(&c.name, "Context", "C") {
                    let mut p = base(kind, tid.clone());
                    p.context = c.value.clone();
                    for cmd in &c.children {
                        command(&mut p, cmd);
                    }
                    p.summary = summary(&p);
                    out.push(p);
                    any = true;
                } else if is(&c.name, "Error", "ER") {
                    let mut p = base(kind, tid.clone());
                    p.status = c.value.as_deref().and_then(|v| v.parse().ok());
                    let reason = c
                        .children
                        .first()
                        .map(|r| r.name.trim_matches('"').to_string());
                    p.summary = format!(
                        "Error {}{}",
                        c.value.as_deref().unwrap_or("?"),
                        reason.map(|r| format!(" {r}")).unwrap_or_default()
                    );
                    out.push(p);
                    any = true;
                }
            }
            if !any {
                let mut p = base(kind, tid);
                p.summary = if request { "Transaction" } else { "Reply" }.into();
                out.push(p);
            }
        } else if is(n, "Pending", "PN") {
            let mut p = base(SignalKind::Ack, t.value.clone());
            p.summary = "Pending".into();
            out.push(p);
        } else if is(n, "TransactionResponseAck", "K") {
            let mut p = base(SignalKind::Ack, None);
            let ids: Vec<&str> = t.children.iter().map(|c| c.name.as_str()).collect();
            p.summary = format!("TransactionResponseAck {}", ids.join(","));
            out.push(p);
        } else if is(n, "Error", "ER") {
            let mut p = base(SignalKind::Response, None);
            p.status = t.value.as_deref().and_then(|v| v.parse().ok());
            p.summary = format!("Error {}", t.value.as_deref().unwrap_or("?"));
            out.push(p);
        }
        if out.len() > MAX_LIST {
            return Err(SignalError::Malformed(format!(
                "more than {MAX_LIST} actions in one MEGACO message"
            )));
        }
    }
    if out.is_empty() {
        return Err(SignalError::Malformed(
            "MEGACO message without a transaction".into(),
        ));
    }
    Ok(out)
}

fn summary(p: &ParsedSignal) -> String {
    let ctx = p.context.as_deref().unwrap_or("?");
    let ctx = match ctx {
        "$" => "choose".to_string(),
        "-" => "null".to_string(),
        "*" => "all".to_string(),
        c => c.to_string(),
    };
    let cmds: Vec<String> = p
        .commands
        .iter()
        .take(4)
        .map(|c| format!("{} {}", c.name, c.target))
        .collect();
    let more = p.commands.len().saturating_sub(4);
    let more = if more > 0 {
        format!(" +{more}")
    } else {
        String::new()
    };
    format!("C={ctx} {}{more}", cmds.join(", "))
}

fn command(p: &mut ParsedSignal, cmd: &Item) {
    let Some(name) = command_name(&cmd.name) else {
        return;
    };
    let target = cmd.value.clone().unwrap_or_default();
    let mut c = SignalCommand {
        name: name.to_string(),
        target: target.clone(),
        mode: None,
    };
    descriptors(p, &mut c, &target, &cmd.children);
    if p.commands.len() < MAX_LIST {
        p.commands.push(c);
    }
}

/// Reads a command's descriptors (recursively through Media and Stream).
fn descriptors(p: &mut ParsedSignal, c: &mut SignalCommand, target: &str, items: &[Item]) {
    for d in items {
        let n = d.name.as_str();
        if let Some(raw) = &d.raw {
            let role = if is(n, "Local", "L") {
                "local"
            } else {
                "remote"
            };
            for sdp in super::parse_sdp_alternatives(raw) {
                if p.sdp.len() < MAX_LIST {
                    p.sdp.push(SignalSdp {
                        role,
                        target: target.to_string(),
                        sdp,
                    });
                }
            }
        } else if is(n, "Media", "M") || is(n, "Stream", "ST") || is(n, "LocalControl", "O") {
            descriptors(p, c, target, &d.children);
        } else if is(n, "Mode", "MO") {
            if let Some(v) = &d.value {
                c.mode = Some(mode_name(v));
            }
        } else if is(n, "ObservedEvents", "OE") {
            for e in &d.children {
                observed(p, e);
            }
        } else if is(n, "Signals", "SG") {
            for s in &d.children {
                push_bounded(&mut p.signals, flat(s));
            }
        } else if is(n, "Services", "SV") {
            for s in &d.children {
                if is(&s.name, "Profile", "PF") || is(&s.name, "Version", "V") {
                    let v = format!("{}={}", s.name, s.value.as_deref().unwrap_or(""));
                    push_bounded(&mut p.events, v);
                }
            }
        }
    }
}

/// One observed event: `[timestamp:]pkg/event{params}`; digits from `dd/ce{ds="123"}` (digit map completion) or
/// the per-digit events `dd/d0`..`dd/d9`, `dd/ds` (*), `dd/do` (#), `dd/da`..`dd/dd`.
fn observed(p: &mut ParsedSignal, e: &Item) {
    let name = e.name.rsplit(':').next().unwrap_or(&e.name);
    let lower = name.to_ascii_lowercase();
    push_bounded(&mut p.events, flat_named(name, e));
    let digit = |d: &str| -> Option<char> {
        match d {
            "ds" => Some('*'),
            "do" => Some('#'),
            "da" => Some('A'),
            "db" => Some('B'),
            "dc" => Some('C'),
            "dd" => Some('D'),
            _ => {
                let rest = d.strip_prefix('d')?;
                let mut ch = rest.chars();
                match (ch.next(), ch.next()) {
                    (Some(c), None) if c.is_ascii_digit() => Some(c),
                    _ => None,
                }
            }
        }
    };
    if let Some((_, ev)) = lower.split_once('/') {
        if ev == "ce" {
            for prm in &e.children {
                if prm.name.eq_ignore_ascii_case("ds")
                    && let Some(v) = &prm.value
                {
                    for ch in v.trim_matches('"').chars() {
                        if (ch.is_ascii_digit() || matches!(ch, '*' | '#' | 'A'..='D'))
                            && p.digits.len() < super::MAX_DIGITS
                        {
                            p.digits.push(ch);
                        }
                    }
                }
            }
        } else if lower.starts_with("dd/")
            && let Some(ch) = digit(ev)
            && p.digits.len() < super::MAX_DIGITS
        {
            p.digits.push(ch);
        }
    }
}

fn flat(i: &Item) -> String {
    flat_named(&i.name, i)
}

/// `name{a=b,c}` as one line (bounded).
fn flat_named(name: &str, i: &Item) -> String {
    let mut s = name.to_string();
    if let Some(v) = &i.value {
        s.push('=');
        s.push_str(v);
    }
    if !i.children.is_empty() {
        let inner: Vec<String> = i.children.iter().take(8).map(flat).collect();
        s.push('{');
        s.push_str(&inner.join(","));
        s.push('}');
    }
    super::excerpt(&s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// Frames 21 and 22 of FAX-Call-t38-CA-TDM-SIP-FB-1.pcap (H.248 Add with `$` context and its reply).
    const ADD: &str = "!/1 <iMSS>\nT=555282723{C=${A=DS/4/24{E=1{ctyp/dtone},M{O{MO=SR,tdmc/ec=on},TS{ctyp/calltyp=[FAX,TEXT,DATA]}}},A=RTP/${E=2{ipfax/faxconnchange},M{O{MO=RC,RV=ON,RG=ON},L{v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 8 103 18 102\na=rtpmap:103 G726-32/8000\nv=0\nc=IN IP4 $\nm=image $ udptl t38\n}}}}}";
    const REPLY: &str = "!/1 [10.23.1.42]:2944 P = 555282723{ C = 191 {a=ds/4/24  ,a=RTP/1727  { m { l { \nv=0\no=- 191 1228500736 IN IP4 10.23.1.52\ns=-\nc=IN IP4 10.23.1.52\nt=0 0\nm=audio 16756 RTP/AVP 8 103 102\na=rtpmap:103 G726-32/8000\nv=0\nc=IN IP4 10.23.1.52\nm=image 0 UDPTL t38\n }  }  } }}";

    #[test]
    fn add_request_with_choose_context() {
        assert!(starts_like_megaco(ADD.as_bytes()));
        let m = parse(ADD.as_bytes()).expect("parses");
        assert_eq!(m.len(), 1);
        let a = &m[0];
        assert_eq!(a.kind, SignalKind::Request);
        assert_eq!(a.transaction.as_deref(), Some("555282723"));
        assert_eq!(a.context.as_deref(), Some("$"));
        assert_eq!(a.agent.as_deref(), Some("<iMSS>"));
        let cmds: Vec<(&str, &str, Option<&str>)> = a
            .commands
            .iter()
            .map(|c| (c.name.as_str(), c.target.as_str(), c.mode.as_deref()))
            .collect();
        assert_eq!(
            cmds,
            vec![
                ("Add", "DS/4/24", Some("sendrecv")),
                ("Add", "RTP/$", Some("recvonly"))
            ]
        );
        // `$` addresses and ports are not bindable: the media lines with `$` ports are skipped.
        assert!(
            a.sdp
                .iter()
                .all(|s| s.sdp.media.is_empty() || s.sdp.connection.is_none())
        );
        assert_eq!(a.summary, "C=choose Add DS/4/24, Add RTP/$");
    }

    #[test]
    fn reply_gives_context_and_local_sdp() {
        let m = parse(REPLY.as_bytes()).expect("parses");
        let r = &m[0];
        assert_eq!(r.kind, SignalKind::Response);
        assert_eq!(r.context.as_deref(), Some("191"));
        assert_eq!(r.commands.len(), 2);
        assert_eq!(r.commands[1].target, "RTP/1727");
        let audio = r
            .sdp
            .iter()
            .flat_map(|s| &s.sdp.media)
            .find(|m| m.media == "audio")
            .expect("audio");
        assert_eq!(audio.port, 16756);
        assert_eq!(r.sdp[0].role, "local");
        assert_eq!(
            r.sdp[0].sdp.connection.map(|a| a.to_string()).as_deref(),
            Some("10.23.1.52")
        );
    }

    #[test]
    fn digits_from_observed_events() {
        let d = "MEGACO/1 [124.124.124.222]:55555\nTransaction = 10003 {\n Context = - {\n  Notify = A4444 {ObservedEvents =2222 {\n   19990729T22010001:dd/ce{ds=\"916135551212\",Meth=UM}}}\n }\n}";
        let m = parse(d.as_bytes()).expect("parses");
        assert_eq!(m[0].digits, "916135551212");
        assert_eq!(m[0].commands[0].name, "Notify");
        let d = "!/1 [1.2.3.4]:2944 T=1{C=5{N=t1{OE=1{dd/d4,dd/ds,20010101T00000000:dd/do}}}}";
        assert_eq!(parse(d.as_bytes()).expect("parses")[0].digits, "4*#");
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in [
            "!/1 x T=1{C=1{",
            "!/1 x T=1}}",
            "MEGACO/1 x T=1{C=1{A=x{L{v=0",
            "hello",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let deep = format!("!/1 x T=1{}{}", "{a".repeat(100), "}".repeat(100));
        assert!(parse(deep.as_bytes()).is_err());
    }
}
