//! One SIP call through a proxy (UDP 5060, or TLS 5061 with nothing readable) and two RTP/SRTP directions between
//! the phones, each packet dropped, delayed or duplicated as its [`Fate`] says.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use crate::pcapw::{Frame, PcapWriter, eth_udp4};
use crate::srtp::SrtpSender;

use super::tls::TlsConnection;

/// A small deterministic generator (xorshift64*): the same seed gives the same plan on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated sequences.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        (self.next_u64() >> 11) % n.max(1)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

/// What the network does to one RTP packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fate {
    /// Never arrives.
    pub drop: bool,
    /// Arrives this many µs after it was sent (sending is every 20 ms).
    pub delay_us: i64,
    /// Arrives twice, the copy 1 ms after the original.
    pub duplicate: bool,
}

/// The SDP media description and RTP framing.
pub struct Media {
    /// Payload types on the `m=audio` line.
    pub formats: &'static str,
    /// `a=` lines (each ending in CRLF).
    pub attrs: &'static str,
    pub pt: u8,
    /// RTP timestamp increment per 20 ms packet.
    pub ts_step: u32,
}

pub struct Call {
    pub t0: i64,
    pub call_id: &'static str,
    pub caller_user: &'static str,
    pub callee_user: &'static str,
    pub caller: Ipv4Addr,
    pub callee: Ipv4Addr,
    pub caller_rtp: u16,
    pub callee_rtp: u16,
    pub media: Media,
    pub ssrc: [u32; 2],
    /// RTP payloads per direction (0 = caller → callee), one per 20 ms.
    pub payloads: [Vec<Vec<u8>>; 2],
    pub fates: [Vec<Fate>; 2],
    /// SRTP master key‖salt per direction (AES_CM_128_HMAC_SHA1_80); `None` = plain RTP.
    pub srtp_keys: Option<[[u8; 30]; 2]>,
    /// Packets sent instead of the audio at their slot (RFC 4733 events), per direction; empty = none.
    pub events: [Vec<Option<Event>>; 2],
    /// In-dialog requests from the caller (each answered 200 OK 10 ms later): ms after the ACK, content type, body.
    pub requests: Vec<(i64, &'static str, String)>,
}

/// An RTP packet that replaces the audio packet of its slot (an RFC 4733 telephone-event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub pt: u8,
    pub marker: bool,
    /// RTP timestamp (an event keeps the timestamp of its first packet).
    pub ts: u32,
    pub payload: Vec<u8>,
}

pub const PROXY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const MS: i64 = 1_000_000;

/// SIP steps: (delay after the previous one in ms, from the caller?, which message).
const STEPS: [(i64, bool, &str); 5] = [
    (0, true, "INVITE"),
    (10, false, "100"),
    (60, false, "180"),
    (1500, false, "200"),
    (15, true, "ACK"),
];

impl Call {
    fn sdp(&self, ip: Ipv4Addr, port: u16, id: u32) -> String {
        format!(
            "v=0\r\no=- {id} 1 IN IP4 {ip}\r\ns=call\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {}\r\n{}a=sendrecv\r\n",
            self.media.formats, self.media.attrs
        )
    }

    fn sip(&self, what: &str, transport: &str) -> String {
        self.sip_with(what, transport, None)
    }

    /// A SIP message; `body` (content type, text) for INFO.
    fn sip_with(&self, what: &str, transport: &str, info: Option<(&str, &str)>) -> String {
        let (a, b) = (self.caller_user, self.callee_user);
        let bye_cseq = format!("{} BYE", 2 + self.requests.len());
        let (start, cseq, to_tag, body): (String, String, bool, Option<String>) = match what {
            "INVITE" => (
                format!("INVITE sip:{b}@example.org SIP/2.0"),
                "1 INVITE".to_string(),
                false,
                Some(self.sdp(self.caller, self.caller_rtp, 1)),
            ),
            "100" => (
                "SIP/2.0 100 Trying".into(),
                "1 INVITE".to_string(),
                false,
                None,
            ),
            "180" => (
                "SIP/2.0 180 Ringing".into(),
                "1 INVITE".to_string(),
                true,
                None,
            ),
            "200" => (
                "SIP/2.0 200 OK".into(),
                "1 INVITE".to_string(),
                true,
                Some(self.sdp(self.callee, self.callee_rtp, 2)),
            ),
            "ACK" => (
                format!("ACK sip:{b}@example.org SIP/2.0"),
                "1 ACK".to_string(),
                true,
                None,
            ),
            w if w.starts_with("INFO-OK ") => (
                "SIP/2.0 200 OK".into(),
                format!("{} INFO", &w[8..]),
                true,
                None,
            ),
            w if w.starts_with("INFO ") => (
                format!("INFO sip:{b}@example.org SIP/2.0"),
                format!("{} INFO", &w[5..]),
                true,
                None,
            ),
            "BYE" => (
                format!("BYE sip:{b}@example.org SIP/2.0"),
                bye_cseq.clone(),
                true,
                None,
            ),
            _ => ("SIP/2.0 200 OK".into(), bye_cseq.clone(), true, None),
        };
        let branch = cseq.replace(' ', "-");
        let mut m = format!(
            "{start}\r\nVia: SIP/2.0/{transport} {}:5060;branch=z9hG4bK-{}-{branch}\r\nMax-Forwards: 70\r\n\
             From: \"User {a}\" <sip:{a}@example.org>;tag=a{a}\r\nTo: <sip:{b}@example.org>{}\r\n\
             Call-ID: {}\r\nCSeq: {cseq}\r\nContact: <sip:{a}@{}:5060>\r\nUser-Agent: earshot-samplegen\r\n",
            self.caller,
            self.caller_user,
            if to_tag {
                format!(";tag=b{b}")
            } else {
                String::new()
            },
            self.call_id,
            self.caller,
        );
        let body = body
            .map(|b| ("application/sdp", b))
            .or_else(|| info.map(|(t, b)| (t, b.to_string())));
        match body {
            Some((t, b)) => m.push_str(&format!(
                "Content-Type: {t}\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => m.push_str("Content-Length: 0\r\n\r\n"),
        }
        m
    }

    /// The RTP (or SRTP) frames of both directions, each at its arrival time; media starts `start` ns after the
    /// epoch. Returns the frames and the time the caller's last packet was sent.
    fn media_frames(&self, start: i64) -> (Vec<Frame>, i64) {
        let mut frames = Vec::new();
        let mut last_sent = start;
        for dir in 0..2usize {
            let first = start + if dir == 0 { 5 * MS } else { 15 * MS };
            let mut srtp = self.srtp_keys.map(|k| SrtpSender::new(&k[dir], 10));
            let (src, sport, dst, dport) = if dir == 0 {
                (self.caller, self.caller_rtp, self.callee, self.callee_rtp)
            } else {
                (self.callee, self.callee_rtp, self.caller, self.caller_rtp)
            };
            for (n, (payload, fate)) in self.payloads[dir].iter().zip(&self.fates[dir]).enumerate()
            {
                let n = n as u32;
                let sent = first + i64::from(n) * 20 * MS;
                if dir == 0 {
                    last_sent = sent;
                }
                let seq = (1000 + 7000 * dir as u32 + n) as u16;
                let ts = (self.ssrc[dir] & 0xffff).wrapping_add(n.wrapping_mul(self.media.ts_step));
                let (pt, marker, ts, payload) =
                    match self.events[dir].get(n as usize).and_then(Option::as_ref) {
                        Some(e) => (e.pt, e.marker, e.ts, &e.payload),
                        None => (self.media.pt, n == 0, ts, payload),
                    };
                let mut p = Vec::with_capacity(12 + payload.len() + 10);
                p.push(0x80);
                p.push(pt | if marker { 0x80 } else { 0 });
                p.extend_from_slice(&seq.to_be_bytes());
                p.extend_from_slice(&ts.to_be_bytes());
                p.extend_from_slice(&self.ssrc[dir].to_be_bytes());
                p.extend_from_slice(payload);
                if let Some(s) = &mut srtp {
                    s.protect(&mut p);
                }
                if fate.drop {
                    continue;
                }
                let at = sent + fate.delay_us * 1000;
                let data = eth_udp4(src, sport, dst, dport, &p);
                if fate.duplicate {
                    frames.push(Frame::new(at + MS, data.clone()));
                }
                frames.push(Frame::new(at, data));
            }
        }
        (frames, last_sent)
    }

    fn finish(mut frames: Vec<Frame>, out: &mut dyn Write) -> io::Result<()> {
        frames.sort_by_key(|f| f.ts_nanos);
        let mut w = PcapWriter::new(out, 1, false, false)?;
        for f in &frames {
            w.write(f)?;
        }
        w.finish()?;
        Ok(())
    }

    /// SIP over UDP in clear.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut frames = Vec::new();
        let mut t = self.t0;
        for (delay, from_caller, what) in STEPS {
            t += delay * MS;
            let text = self.sip(what, "UDP");
            let (src, dst) = if from_caller {
                (self.caller, PROXY)
            } else {
                (PROXY, self.caller)
            };
            frames.push(Frame::new(
                t,
                eth_udp4(src, 5060, dst, 5060, text.as_bytes()),
            ));
        }
        let (media, last) = self.media_frames(t);
        frames.extend(media);
        for (i, (after, ctype, body)) in self.requests.iter().enumerate() {
            let at = t + after * MS;
            let req = self.sip_with(&format!("INFO {}", 2 + i), "UDP", Some((ctype, body)));
            frames.push(Frame::new(
                at,
                eth_udp4(self.caller, 5060, PROXY, 5060, req.as_bytes()),
            ));
            frames.push(Frame::new(
                at + 10 * MS,
                eth_udp4(
                    PROXY,
                    5060,
                    self.caller,
                    5060,
                    self.sip(&format!("INFO-OK {}", 2 + i), "UDP").as_bytes(),
                ),
            ));
        }
        let bye = last + 40 * MS;
        frames.push(Frame::new(
            bye,
            eth_udp4(
                self.caller,
                5060,
                PROXY,
                5060,
                self.sip("BYE", "UDP").as_bytes(),
            ),
        ));
        frames.push(Frame::new(
            bye + 12 * MS,
            eth_udp4(
                PROXY,
                5060,
                self.caller,
                5060,
                self.sip("BYE-OK", "UDP").as_bytes(),
            ),
        ));
        Self::finish(frames, out)
    }

    /// SIP over TLS 1.2 to the proxy's port 5061 (handshake, then application-data records as long as the SIP
    /// messages would be): no SIP, no SDP and no key readable; the media is SRTP.
    pub fn write_over_tls(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut rng = Rng::new(0x7150_0001);
        let mut tls = TlsConnection::new(self.caller, 50_123, PROXY, 5061);
        let mut frames = Vec::new();
        let mut t = self.t0 - 200 * MS;
        frames.extend(tls.handshake(&mut t, &mut rng));
        t = self.t0;
        for (delay, from_caller, what) in STEPS {
            t += delay * MS;
            let len = self.sip(what, "TLS").len();
            frames.push(tls.app_data(t, from_caller, len, &mut rng));
        }
        let (media, last) = self.media_frames(t);
        frames.extend(media);
        let mut t = last + 40 * MS;
        frames.push(tls.app_data(t, true, self.sip("BYE", "TLS").len(), &mut rng));
        t += 12 * MS;
        frames.push(tls.app_data(t, false, self.sip("BYE-OK", "TLS").len(), &mut rng));
        t += 200 * MS;
        frames.extend(tls.close(t, &mut rng));
        Self::finish(frames, out)
    }
}
