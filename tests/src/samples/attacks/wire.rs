//! Shared building blocks of the attack samples: a capture that sorts its frames by time, SIP requests and their
//! responses, digest authentication (RFC 2617, MD5, qop=auth), SDP, RTP and a small TCP connection.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use md5::{Digest, Md5};

use crate::pcapw::{Frame, PcapWriter, eth_tcp4, eth_udp4};

/// 2026-01-01T00:00:00Z in nanoseconds.
pub const T0: i64 = 1_767_225_600_000_000_000;
pub const MS: i64 = 1_000_000;
pub const SEC: i64 = 1_000_000_000;

/// The PBX most samples attack.
pub const PBX: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// A capture being written: frames are collected and written in time order (ties keep their insertion order).
pub struct Cap {
    frames: Vec<(i64, usize, Vec<u8>)>,
}

impl Cap {
    pub fn new() -> Cap {
        Cap { frames: Vec::new() }
    }

    pub fn frame(&mut self, ts: i64, data: Vec<u8>) {
        let n = self.frames.len();
        self.frames.push((ts, n, data));
    }

    /// A UDP datagram.
    pub fn udp(&mut self, ts: i64, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, p: &[u8]) {
        self.frame(ts, eth_udp4(src, sport, dst, dport, p));
    }

    /// A SIP message over UDP between the two hosts' port 5060.
    pub fn sip(&mut self, ts: i64, src: Ipv4Addr, dst: Ipv4Addr, text: &str) {
        self.udp(ts, src, 5060, dst, 5060, text.as_bytes());
    }

    pub fn write(mut self, out: &mut dyn Write) -> io::Result<()> {
        self.frames.sort_by_key(|f| (f.0, f.1));
        let mut w = PcapWriter::new(out, 1, false, false)?;
        for (ts, _, data) in self.frames {
            w.write(&Frame::new(ts, data))?;
        }
        w.finish()?;
        Ok(())
    }
}

/// A fixed-seed xorshift generator for tags, nonces and branch ids.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

/// A SIP request; its responses copy Via, From, To, Call-ID and CSeq from it.
#[derive(Clone)]
pub struct Req {
    pub method: String,
    pub uri: String,
    /// Via values, topmost first.
    pub vias: Vec<String>,
    pub max_forwards: u8,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub cseq: u32,
    /// Further header lines, each ending in CRLF.
    pub extra: String,
    pub body: Option<(String, String)>,
}

impl Req {
    pub fn new(method: &str, uri: &str, via: &str, from: &str, to: &str, call_id: &str) -> Req {
        Req {
            method: method.into(),
            uri: uri.into(),
            vias: vec![via.into()],
            max_forwards: 70,
            from: from.into(),
            to: to.into(),
            call_id: call_id.into(),
            cseq: 1,
            extra: String::new(),
            body: None,
        }
    }

    pub fn hdr(mut self, name: &str, value: &str) -> Req {
        self.extra.push_str(&format!("{name}: {value}\r\n"));
        self
    }

    pub fn sdp(mut self, sdp: String) -> Req {
        self.body = Some(("application/sdp".into(), sdp));
        self
    }

    pub fn text(&self) -> String {
        let mut m = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        for v in &self.vias {
            m.push_str(&format!("Via: {v}\r\n"));
        }
        m.push_str(&format!(
            "Max-Forwards: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n{}",
            self.max_forwards, self.from, self.to, self.call_id, self.cseq, self.method, self.extra
        ));
        push_body(&mut m, self.body.as_ref());
        m
    }

    /// A response: `to_tag` is added to To when given; `extra` are header lines ending in CRLF.
    pub fn reply(&self, code: u16, reason: &str, to_tag: Option<&str>, extra: &str) -> String {
        self.reply_body(code, reason, to_tag, extra, None)
    }

    pub fn reply_body(
        &self,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        extra: &str,
        body: Option<(String, String)>,
    ) -> String {
        let mut m = format!("SIP/2.0 {code} {reason}\r\n");
        for v in &self.vias {
            m.push_str(&format!("Via: {v}\r\n"));
        }
        let to = match to_tag {
            Some(t) if !self.to.contains(";tag=") => format!("{};tag={t}", self.to),
            _ => self.to.clone(),
        };
        m.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n{extra}",
            self.from, self.call_id, self.cseq, self.method
        ));
        push_body(&mut m, body.as_ref());
        m
    }

    /// A later request of the same dialog (the ACK of a 2xx, a BYE): no body or extra headers, one Via, To with
    /// the callee's tag when given.
    pub fn in_dialog(&self, method: &str, to_tag: Option<&str>, via: String) -> Req {
        let mut r = self.clone();
        r.method = method.into();
        r.body = None;
        r.extra.clear();
        if let Some(tag) = to_tag {
            r.to = format!("{};tag={tag}", r.to);
        }
        r.vias = vec![via];
        r
    }

    /// The ACK for a non-2xx final response (same branch and CSeq number; To with the response's tag).
    pub fn ack(&self, to_tag: &str) -> String {
        let mut a = self.clone();
        a.method = "ACK".into();
        a.extra.clear();
        a.body = None;
        a.vias.truncate(1);
        if !a.to.contains(";tag=") {
            a.to = format!("{};tag={to_tag}", a.to);
        }
        a.text()
    }
}

fn push_body(m: &mut String, body: Option<&(String, String)>) {
    match body {
        Some((ct, b)) => m.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
}

/// An SDP offer/answer for G.711 µ-law with RFC 4733 telephone-events.
pub fn sdp(ip: Ipv4Addr, port: u16, id: u64) -> String {
    format!(
        "v=0\r\no=- {id} {id} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

pub fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `WWW-Authenticate` (or `Proxy-Authenticate`) digest challenge value with qop=auth.
pub fn challenge(realm: &str, nonce: &str) -> String {
    format!("Digest algorithm=MD5, realm=\"{realm}\", nonce=\"{nonce}\", qop=\"auth\"")
}

/// An `Authorization` value answering `challenge(realm, nonce)` with `password` (RFC 2617, qop=auth, nc=1).
pub fn authorization(
    user: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    cnonce: &str,
) -> String {
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let nc = "00000001";
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc={nc}"
    )
}

/// An RTP packet (version 2, no CSRC).
pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(if marker { 0x80 | pt } else { pt });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// 20 ms (160 samples) of a µ-law tone; `n` is the packet's index in its stream.
pub fn tone(n: u32, freq_hz: f64, amplitude: f64) -> Vec<u8> {
    (0..160u32)
        .map(|k| {
            let t = f64::from(n * 160 + k) / 8000.0;
            crate::r#gen::linear_to_ulaw(
                (crate::signal::sin(t * freq_hz * std::f64::consts::TAU) * amplitude) as i16,
            )
        })
        .collect()
}

/// One TCP connection, sequence numbers tracked on both sides; every data segment is acknowledged 1 ms later.
pub struct Tcp {
    pub client: Ipv4Addr,
    pub cport: u16,
    pub server: Ipv4Addr,
    pub sport: u16,
    cseq: u32,
    sseq: u32,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

impl Tcp {
    pub fn new(client: Ipv4Addr, cport: u16, server: Ipv4Addr, sport: u16, isn: u32) -> Tcp {
        Tcp {
            client,
            cport,
            server,
            sport,
            cseq: isn,
            sseq: isn.wrapping_mul(2_654_435_761),
        }
    }

    fn seg(&self, cap: &mut Cap, ts: i64, from_client: bool, flags: u8, data: &[u8]) {
        let f = if from_client {
            eth_tcp4(
                self.client,
                self.cport,
                self.server,
                self.sport,
                self.cseq,
                self.sseq,
                flags,
                data,
            )
        } else {
            eth_tcp4(
                self.server,
                self.sport,
                self.client,
                self.cport,
                self.sseq,
                self.cseq,
                flags,
                data,
            )
        };
        cap.frame(ts, f);
    }

    /// SYN, SYN/ACK, ACK at `ts`, +0.4 ms, +0.8 ms.
    pub fn open(&mut self, cap: &mut Cap, ts: i64) {
        let f = eth_tcp4(
            self.client,
            self.cport,
            self.server,
            self.sport,
            self.cseq,
            0,
            SYN,
            &[],
        );
        cap.frame(ts, f);
        self.cseq = self.cseq.wrapping_add(1);
        let f = eth_tcp4(
            self.server,
            self.sport,
            self.client,
            self.cport,
            self.sseq,
            self.cseq,
            SYN | ACK,
            &[],
        );
        cap.frame(ts + 400_000, f);
        self.sseq = self.sseq.wrapping_add(1);
        self.seg(cap, ts + 800_000, true, ACK, &[]);
    }

    /// Data from the client (or the server) at `ts`, acknowledged by the other side 1 ms later.
    pub fn send(&mut self, cap: &mut Cap, ts: i64, from_client: bool, data: &[u8]) {
        self.seg(cap, ts, from_client, PSH_ACK, data);
        let n = data.len() as u32;
        if from_client {
            self.cseq = self.cseq.wrapping_add(n);
        } else {
            self.sseq = self.sseq.wrapping_add(n);
        }
        self.seg(cap, ts + MS, !from_client, ACK, &[]);
    }

    /// FIN from the client, FIN from the server, last ACK.
    pub fn close(&mut self, cap: &mut Cap, ts: i64) {
        self.seg(cap, ts, true, FIN_ACK, &[]);
        self.cseq = self.cseq.wrapping_add(1);
        self.seg(cap, ts + 400_000, false, FIN_ACK, &[]);
        self.sseq = self.sseq.wrapping_add(1);
        self.seg(cap, ts + 800_000, true, ACK, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_rfc_2617_example() {
        // RFC 2617 §3.5: Mufasa / Circle Of Life, GET /dir/index.html.
        let a = authorization(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "0a4f113b",
        );
        assert!(
            a.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{a}"
        );
    }
}
