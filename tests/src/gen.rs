//! Deterministic synthesis of SIP calls with two-way G.711 RTP (and background DNS noise), streamed in time
//! order through a priority queue so captures of any size are written without holding them in memory.
//! The same parameters always give byte-identical output.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::Ipv4Addr;

use crate::pcapw::{Frame, PcapWriter, eth_udp4};

/// What a generated capture contains, for tests and the benchmark to check against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub frames: u64,
    pub bytes: u64,
    pub calls: u64,
    pub answered: u64,
    pub sip_messages: u64,
    pub rtp_streams: u64,
    pub rtp_packets: u64,
    pub dns_packets: u64,
    /// RTP packets left out on purpose (`mix`): what the receivers' loss counts must add up to.
    pub rtp_lost: u64,
    /// RFC 4733 events sent (`mix`: one digit per call).
    pub dtmf_events: u64,
    pub rtcp_packets: u64,
    /// OPTIONS probes of the scanner (`mix`), each with its own Call-ID.
    pub scan_probes: u64,
    /// UDP datagrams that are neither SIP, RTP, RTCP nor DNS (`mix`: QUIC-like, NTP), none of which is media.
    pub noise_packets: u64,
    /// Accounts that registered with digest authentication (each: REGISTER, 401, REGISTER with credentials, 200).
    pub registrations: u64,
}

/// Parameters of a benchmark-style capture.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    pub calls: u32,
    /// Seconds of two-way audio per call.
    pub talk_secs: u32,
    /// Milliseconds between call starts.
    pub stagger_ms: u32,
    /// One DNS query/response pair every this many milliseconds (0 = none).
    pub dns_every_ms: u32,
    /// SRTP (AES_CM_128_HMAC_SHA1_80) keyed by SDES: `RTP/SAVP` with `a=crypto` in the plaintext SDP.
    pub srtp: bool,
    /// The realistic mix of the performance issue's workload: 0.2 % of RTP packets lost, one RFC 4733 digit per
    /// call, RTCP sender reports every 5 s per direction, a SIP scanner's OPTIONS sweep, QUIC-like and NTP noise,
    /// and DNS with random transaction IDs (a quarter of them start like RTP version 2).
    pub mix: bool,
    /// Accounts registering with digest authentication (qop=auth), each with a random password no dictionary holds:
    /// the weak-password rule spends its whole budget on them.
    pub accounts: u32,
}

impl Default for BenchSpec {
    fn default() -> Self {
        BenchSpec {
            calls: 200,
            talk_secs: 60,
            stagger_ms: 150,
            dns_every_ms: 100,
            srtp: false,
            mix: false,
            accounts: 0,
        }
    }
}

/// Linear 16-bit PCM → G.711 µ-law (ITU-T G.711, with the usual bias of 0x84).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

const EPOCH_2026: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Sip {
        call: u32,
        step: u8,
    },
    /// `n`: the packet's number in its direction (the RTP sequence number is `n + 1000` modulo 2^16).
    Rtp {
        call: u32,
        dir: u8,
        n: u32,
    },
    Dns {
        n: u32,
    },
    Rtcp {
        call: u32,
        dir: u8,
        n: u32,
    },
    Scan {
        n: u32,
    },
    Quic {
        n: u32,
    },
    Ntp {
        n: u32,
    },
    Reg {
        account: u32,
        step: u8,
    },
}

/// Deterministic 32-bit mix of a few integers (xorshift-multiply), for the `mix` workload's choices.
fn hash3(a: u32, b: u32, c: u32) -> u32 {
    let mut x = u64::from(a)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(b).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(u64::from(c).wrapping_mul(0x1656_67B1_9E37_79F9));
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x as u32
}

/// Packet `n` of direction `dir` of `call` is lost (`mix`): about one in 500, never the first or the last.
fn mix_lost(call: u32, dir: u8, n: u32, last: u32) -> bool {
    n > 0 && n < last && hash3(call, u32::from(dir), n).is_multiple_of(500)
}

/// The caller's RFC 4733 digit (`mix`) occupies these packet numbers of direction 0: 8 packets (160 ms), the
/// last three being the end-of-event retransmissions.
const DTMF_FIRST: u32 = 150;
const DTMF_PACKETS: u32 = 8;

/// Probes of the `mix` scanner.
const SCAN_PROBES: u32 = 60;
const SCANNER: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 9);

struct CallAddr {
    caller: Ipv4Addr,
    callee: Ipv4Addr,
    caller_rtp: u16,
    callee_rtp: u16,
    ssrc: [u32; 2],
    freq_hz: [f64; 2],
}

fn call_addr(i: u32) -> CallAddr {
    let a = (i % 200) as u8;
    let b = (i / 200 % 200) as u8;
    CallAddr {
        caller: Ipv4Addr::new(10, 1, b, a.wrapping_add(10)),
        callee: Ipv4Addr::new(10, 2, b, a.wrapping_add(10)),
        caller_rtp: 20_000 + ((i * 2) % 20_000) as u16,
        callee_rtp: 40_000 + ((i * 2) % 20_000) as u16,
        ssrc: [
            0x1000_0000 ^ i.wrapping_mul(2_654_435_761),
            0x2000_0000 ^ i.wrapping_mul(40_503),
        ],
        freq_hz: [
            440.0 + f64::from(i % 8) * 55.0,
            1000.0 + f64::from(i % 5) * 100.0,
        ],
    }
}

const PROXY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn sdp(ip: Ipv4Addr, port: u16, id: u32, crypto: Option<&[u8; 30]>) -> String {
    let (proto, crypto) = match crypto {
        Some(k) => {
            use base64::Engine;
            (
                "RTP/SAVP",
                format!(
                    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
                    base64::engine::general_purpose::STANDARD.encode(k)
                ),
            )
        }
        None => ("RTP/AVP", String::new()),
    };
    format!(
        "v=0\r\no=- {id} 1 IN IP4 {ip}\r\ns=call\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} {proto} 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n{crypto}"
    )
}

/// The SDES master key‖salt a generated call's side sends with (deterministic, distinct per call and side).
pub fn srtp_key(call: u32, dir: u8) -> [u8; 30] {
    let mut k = [0u8; 30];
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(call) << 8) ^ u64::from(dir);
    for b in &mut k {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    k
}

fn sip_msg(
    start: &str,
    i: u32,
    cseq: &str,
    from_tag: bool,
    to_tag: bool,
    body: Option<&str>,
    c: &CallAddr,
) -> String {
    let caller = 1000 + i;
    let callee = 5000 + i;
    let mut m = format!(
        "{start}\r\nVia: SIP/2.0/UDP {}:5060;branch=z9hG4bK-{i}-{}\r\nMax-Forwards: 70\r\n\
         From: \"User {caller}\" <sip:{caller}@example.org>{}\r\nTo: <sip:{callee}@example.org>{}\r\n\
         Call-ID: gen-{i}@example.org\r\nCSeq: {cseq}\r\nContact: <sip:{caller}@{}:5060>\r\n\
         User-Agent: earshot-samplegen\r\n",
        c.caller,
        cseq.replace(' ', "-"),
        if from_tag {
            format!(";tag=a{i}")
        } else {
            String::new()
        },
        if to_tag {
            format!(";tag=b{i}")
        } else {
            String::new()
        },
        c.caller,
    );
    match body {
        Some(b) => m.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m
}

/// Registrar of the digest-authentication accounts.
const REGISTRAR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Step `step` of account `account`'s registration (REGISTER, 401 with a challenge, REGISTER answering it, 200)
/// and the next step with its delay in ms. The password is 16 hex characters of a hash: in no wordlist.
fn register(account: u32, step: u8) -> (Vec<u8>, Option<(i64, u8)>) {
    use crate::samples::attacks::wire::{authorization, challenge};
    let user = format!("{}", 200_000 + account);
    let phone = Ipv4Addr::new(10, 7, (account / 250) as u8, (account % 250) as u8 + 1);
    let realm = "bench.example.org";
    let nonce = format!("{:08x}{:08x}", hash3(account, 1, 2), hash3(account, 3, 4));
    let password = format!("{:08x}{:08x}", hash3(account, 5, 6), hash3(account, 7, 8));
    let uri = "sip:bench.example.org";
    let cseq = if step < 2 { 1 } else { 2 };
    let head = |start: &str, extra: &str| {
        format!(
            "{start}\r\nVia: SIP/2.0/UDP {phone}:5060;branch=z9hG4bK-reg{account}-{cseq}\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@bench.example.org>;tag=r{account}\r\nTo: <sip:{user}@bench.example.org>{}\r\n\
             Call-ID: reg-{account}@{phone}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{phone}:5060>\r\n\
             User-Agent: earshot-samplegen\r\n{extra}Expires: 3600\r\nContent-Length: 0\r\n\r\n",
            if start.starts_with("SIP/2.0") {
                format!(";tag=s{account}")
            } else {
                String::new()
            }
        )
    };
    let (text, up, next) = match step {
        0 => (
            head(&format!("REGISTER {uri} SIP/2.0"), ""),
            true,
            Some((5, 1)),
        ),
        1 => (
            head(
                "SIP/2.0 401 Unauthorized",
                &format!("WWW-Authenticate: {}\r\n", challenge(realm, &nonce)),
            ),
            false,
            Some((20, 2)),
        ),
        2 => (
            head(
                &format!("REGISTER {uri} SIP/2.0"),
                &format!(
                    "Authorization: {}\r\n",
                    authorization(
                        &user,
                        realm,
                        &password,
                        "REGISTER",
                        uri,
                        &nonce,
                        &format!("c{account}")
                    )
                ),
            ),
            true,
            Some((5, 3)),
        ),
        _ => (head("SIP/2.0 200 OK", ""), false, None),
    };
    let frame = if up {
        eth_udp4(phone, 5060, REGISTRAR, 5060, text.as_bytes())
    } else {
        eth_udp4(REGISTRAR, 5060, phone, 5060, text.as_bytes())
    };
    (frame, next)
}

/// Write a benchmark capture (classic pcap, µs) to `out` and return what it contains.
pub fn write_bench<W: Write>(spec: &BenchSpec, out: W) -> io::Result<Expected> {
    let mut w = PcapWriter::new(out, 1, false, false)?;
    let mut exp = Expected::default();
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    let mut tie = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>, ts: i64, ev: Ev| {
        tie += 1;
        heap.push(Reverse((ts, tie, ev)));
    };
    let ms = 1_000_000i64;
    for i in 0..spec.calls {
        push(
            &mut heap,
            EPOCH_2026 + i64::from(i) * i64::from(spec.stagger_ms) * ms,
            Ev::Sip { call: i, step: 0 },
        );
    }
    let last_call_end = EPOCH_2026
        + i64::from(spec.calls) * i64::from(spec.stagger_ms) * ms
        + (i64::from(spec.talk_secs) + 3) * 1000 * ms;
    if spec.dns_every_ms > 0 {
        push(&mut heap, EPOCH_2026 + 7 * ms, Ev::Dns { n: 0 });
    }
    if spec.mix {
        push(&mut heap, EPOCH_2026 + 2000 * ms, Ev::Scan { n: 0 });
        push(&mut heap, EPOCH_2026 + 11 * ms, Ev::Quic { n: 0 });
        push(&mut heap, EPOCH_2026 + 13 * ms, Ev::Ntp { n: 0 });
    }
    for account in 0..spec.accounts {
        push(
            &mut heap,
            EPOCH_2026 + (500 + i64::from(account) * 40) * ms,
            Ev::Reg { account, step: 0 },
        );
    }
    let mut dns_id = 0x5a5a_u32;
    let packets_per_dir = spec.talk_secs * 50;
    let mut senders: std::collections::HashMap<(u32, u8), crate::srtp::SrtpSender> =
        std::collections::HashMap::new();
    while let Some(Reverse((ts, _, ev))) = heap.pop() {
        let frame = match ev {
            Ev::Sip { call, step } => {
                let c = call_addr(call);
                let (src, dst, text, next) = match step {
                    0 => (
                        c.caller,
                        PROXY,
                        sip_msg(
                            &format!("INVITE sip:{}@example.org SIP/2.0", 5000 + call),
                            call,
                            "1 INVITE",
                            true,
                            false,
                            Some(&sdp(
                                c.caller,
                                c.caller_rtp,
                                call,
                                spec.srtp.then(|| srtp_key(call, 0)).as_ref(),
                            )),
                            &c,
                        ),
                        Some((10, 1)),
                    ),
                    1 => (
                        PROXY,
                        c.caller,
                        sip_msg(
                            "SIP/2.0 100 Trying",
                            call,
                            "1 INVITE",
                            true,
                            false,
                            None,
                            &c,
                        ),
                        Some((60, 2)),
                    ),
                    2 => (
                        PROXY,
                        c.caller,
                        sip_msg(
                            "SIP/2.0 180 Ringing",
                            call,
                            "1 INVITE",
                            true,
                            true,
                            None,
                            &c,
                        ),
                        Some((1500, 3)),
                    ),
                    3 => (
                        PROXY,
                        c.caller,
                        sip_msg(
                            "SIP/2.0 200 OK",
                            call,
                            "1 INVITE",
                            true,
                            true,
                            Some(&sdp(
                                c.callee,
                                c.callee_rtp,
                                call + 1,
                                spec.srtp.then(|| srtp_key(call, 1)).as_ref(),
                            )),
                            &c,
                        ),
                        Some((15, 4)),
                    ),
                    4 => {
                        // ACK, then media starts in both directions.
                        push(&mut heap, ts + 5 * ms, Ev::Rtp { call, dir: 0, n: 0 });
                        push(&mut heap, ts + 15 * ms, Ev::Rtp { call, dir: 1, n: 0 });
                        exp.answered += 1;
                        (
                            c.caller,
                            PROXY,
                            sip_msg(
                                &format!("ACK sip:{}@example.org SIP/2.0", 5000 + call),
                                call,
                                "1 ACK",
                                true,
                                true,
                                None,
                                &c,
                            ),
                            None,
                        )
                    }
                    5 => (
                        c.caller,
                        PROXY,
                        sip_msg(
                            &format!("BYE sip:{}@example.org SIP/2.0", 5000 + call),
                            call,
                            "2 BYE",
                            true,
                            true,
                            None,
                            &c,
                        ),
                        Some((12, 6)),
                    ),
                    _ => (
                        PROXY,
                        c.caller,
                        sip_msg("SIP/2.0 200 OK", call, "2 BYE", true, true, None, &c),
                        None,
                    ),
                };
                if step == 0 {
                    exp.calls += 1;
                }
                if let Some((delay_ms, next_step)) = next {
                    push(
                        &mut heap,
                        ts + delay_ms * ms,
                        Ev::Sip {
                            call,
                            step: next_step,
                        },
                    );
                }
                exp.sip_messages += 1;
                eth_udp4(src, 5060, dst, 5060, text.as_bytes())
            }
            Ev::Rtp { call, dir, n } => {
                let seq = n as u16;
                let c = call_addr(call);
                let d = usize::from(dir);
                if n == 0 {
                    exp.rtp_streams += 1;
                }
                let ts_rtp = n.wrapping_mul(160).wrapping_add(c.ssrc[d] & 0xffff);
                let mut p = Vec::with_capacity(172);
                let dtmf_k = n.wrapping_sub(DTMF_FIRST);
                let dtmf = spec.mix && dir == 0 && dtmf_k < DTMF_PACKETS && packets_per_dir > 200;
                if dtmf {
                    // RFC 4733: the event's timestamp stays at its start; marker on the first packet.
                    let start_ts = DTMF_FIRST
                        .wrapping_mul(160)
                        .wrapping_add(c.ssrc[d] & 0xffff);
                    p.extend_from_slice(&[0x80, if dtmf_k == 0 { 0x80 | 101 } else { 101 }]);
                    p.extend_from_slice(&seq.wrapping_add(1000).to_be_bytes());
                    p.extend_from_slice(&start_ts.to_be_bytes());
                    p.extend_from_slice(&c.ssrc[d].to_be_bytes());
                    let end = dtmf_k >= DTMF_PACKETS - 3;
                    let duration = (dtmf_k.min(DTMF_PACKETS - 3) + 1) * 160;
                    p.extend_from_slice(&[
                        (call % 10) as u8,
                        if end { 0x80 | 10 } else { 10 },
                        (duration >> 8) as u8,
                        duration as u8,
                    ]);
                    if dtmf_k == 0 {
                        exp.dtmf_events += 1;
                    }
                } else {
                    p.extend_from_slice(&[0x80, if n == 0 { 0x80 } else { 0x00 }]);
                    p.extend_from_slice(&seq.wrapping_add(1000).to_be_bytes());
                    p.extend_from_slice(&ts_rtp.to_be_bytes());
                    p.extend_from_slice(&c.ssrc[d].to_be_bytes());
                    let f = c.freq_hz[d];
                    for k in 0..160u32 {
                        let t = f64::from(n.wrapping_mul(160).wrapping_add(k)) / 8000.0;
                        let s = crate::signal::sin(t * f * std::f64::consts::TAU) * 8000.0;
                        p.push(linear_to_ulaw(s as i16));
                    }
                }
                if spec.mix && n % 250 == 125 {
                    push(&mut heap, ts + 3 * ms, Ev::Rtcp { call, dir, n });
                }
                let lost = spec.mix && !dtmf && mix_lost(call, dir, n, packets_per_dir - 1);
                if spec.srtp {
                    senders
                        .entry((call, dir))
                        .or_insert_with(|| crate::srtp::SrtpSender::new(&srtp_key(call, dir), 10))
                        .protect(&mut p);
                    if n + 1 == packets_per_dir {
                        senders.remove(&(call, dir));
                    }
                }
                let next = n + 1;
                if next < packets_per_dir {
                    push(&mut heap, ts + 20 * ms, Ev::Rtp { call, dir, n: next });
                } else if dir == 0 {
                    push(&mut heap, ts + 40 * ms, Ev::Sip { call, step: 5 });
                }
                if lost {
                    exp.rtp_lost += 1;
                    continue;
                }
                exp.rtp_packets += 1;
                let (src, sport, dst, dport) = if dir == 0 {
                    (c.caller, c.caller_rtp, c.callee, c.callee_rtp)
                } else {
                    (c.callee, c.callee_rtp, c.caller, c.caller_rtp)
                };
                eth_udp4(src, sport, dst, dport, &p)
            }
            Ev::Rtcp { call, dir, n } => {
                // Sender report + SDES CNAME, from the RTP port + 1 to the peer's RTP port + 1 (RFC 3550).
                let c = call_addr(call);
                let d = usize::from(dir);
                let secs = (ts - EPOCH_2026) / 1_000_000_000;
                let ntp_sec = (secs + 2_208_988_800 + 1_767_225_600) as u32;
                let mut p = vec![0x80, 200, 0, 6];
                p.extend_from_slice(&c.ssrc[d].to_be_bytes());
                p.extend_from_slice(&ntp_sec.to_be_bytes());
                p.extend_from_slice(&0u32.to_be_bytes());
                p.extend_from_slice(
                    &n.wrapping_mul(160)
                        .wrapping_add(c.ssrc[d] & 0xffff)
                        .to_be_bytes(),
                );
                p.extend_from_slice(&(n + 1).to_be_bytes());
                p.extend_from_slice(&((n + 1) * 160).to_be_bytes());
                let cname = format!("gen-{call}-{dir}@example.org");
                let mut sdes = Vec::new();
                sdes.extend_from_slice(&c.ssrc[d].to_be_bytes());
                sdes.push(1);
                sdes.push(cname.len() as u8);
                sdes.extend_from_slice(cname.as_bytes());
                sdes.push(0);
                while sdes.len() % 4 != 0 {
                    sdes.push(0);
                }
                p.extend_from_slice(&[0x81, 202]);
                p.extend_from_slice(&((sdes.len() / 4) as u16).to_be_bytes());
                p.extend_from_slice(&sdes);
                exp.rtcp_packets += 1;
                let (src, sport, dst, dport) = if dir == 0 {
                    (c.caller, c.caller_rtp + 1, c.callee, c.callee_rtp + 1)
                } else {
                    (c.callee, c.callee_rtp + 1, c.caller, c.caller_rtp + 1)
                };
                eth_udp4(src, sport, dst, dport, &p)
            }
            Ev::Scan { n } => {
                // A sipvicious-style sweep: one OPTIONS per address, no answers.
                let dst = Ipv4Addr::new(10, 3, (n / 250) as u8, (n % 250) as u8 + 1);
                let text = format!(
                    "OPTIONS sip:100@{dst} SIP/2.0\r\nVia: SIP/2.0/UDP {SCANNER}:5070;branch=z9hG4bK-scan{n}\r\n\
                     Max-Forwards: 70\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag=scan{n}\r\n\
                     To: \"sipvicious\"<sip:100@1.1.1.1>\r\nCall-ID: scan-{n}@{SCANNER}\r\nCSeq: 1 OPTIONS\r\n\
                     Contact: <sip:100@{SCANNER}:5070>\r\nUser-Agent: friendly-scanner\r\nAccept: application/sdp\r\n\
                     Content-Length: 0\r\n\r\n"
                );
                exp.scan_probes += 1;
                exp.sip_messages += 1;
                if n + 1 < SCAN_PROBES {
                    push(&mut heap, ts + 15 * ms, Ev::Scan { n: n + 1 });
                }
                eth_udp4(SCANNER, 5070, dst, 5060, text.as_bytes())
            }
            Ev::Quic { n } => {
                // QUIC-like 1-RTT traffic to port 443: random bytes after a short-header first byte, and every
                // eighth datagram a first byte of 0x80-0xbf (what a careless detector takes for RTP version 2).
                let h = hash3(n, 443, 7);
                let len = 60 + (h % 1100) as usize;
                let mut p = Vec::with_capacity(len);
                p.push(if n % 8 == 0 {
                    0x80 | (h >> 24) as u8 & 0x3f
                } else {
                    0x40 | (h >> 24) as u8 & 0x3f
                });
                for k in 1..len {
                    p.push(hash3(n, k as u32, 11) as u8);
                }
                exp.noise_packets += 1;
                if ts < last_call_end {
                    push(&mut heap, ts + 7 * ms, Ev::Quic { n: n + 1 });
                }
                let (client, server) = (Ipv4Addr::new(10, 9, 0, 2), Ipv4Addr::new(10, 9, 1, 44));
                if n % 3 == 0 {
                    eth_udp4(server, 443, client, 51_000, &p)
                } else {
                    eth_udp4(client, 51_000, server, 443, &p)
                }
            }
            Ev::Reg { account, step } => {
                let (frame, next) = register(account, step);
                exp.sip_messages += 1;
                if step == 3 {
                    exp.registrations += 1;
                }
                if let Some((delay_ms, step)) = next {
                    push(&mut heap, ts + delay_ms * ms, Ev::Reg { account, step });
                }
                frame
            }
            Ev::Ntp { n } => {
                // NTPv4 client request / server reply (48 bytes).
                let mut p = vec![0u8; 48];
                if let Some(b) = p.first_mut() {
                    *b = if n % 2 == 0 { 0x23 } else { 0x24 };
                }
                for (k, b) in p.iter_mut().enumerate().skip(40) {
                    *b = hash3(n, k as u32, 123) as u8;
                }
                exp.noise_packets += 1;
                if ts < last_call_end {
                    push(
                        &mut heap,
                        ts + if n % 2 == 0 { 2 } else { 998 } * ms,
                        Ev::Ntp { n: n + 1 },
                    );
                }
                let (client, server) = (Ipv4Addr::new(10, 9, 0, 2), Ipv4Addr::new(10, 9, 2, 123));
                if n % 2 == 0 {
                    eth_udp4(client, 123, server, 123, &p)
                } else {
                    eth_udp4(server, 123, client, 123, &p)
                }
            }
            Ev::Dns { n } => {
                let query = n % 2 == 0;
                let id = if spec.mix {
                    if query {
                        dns_id = hash3(n, 53, 1);
                    }
                    dns_id as u16
                } else {
                    (n / 2) as u16
                };
                let mut d = Vec::new();
                d.extend_from_slice(&id.to_be_bytes());
                d.extend_from_slice(if query { &[0x01, 0x00] } else { &[0x81, 0x80] });
                d.extend_from_slice(&[0, 1, 0, if query { 0 } else { 1 }, 0, 0, 0, 0]);
                d.extend_from_slice(b"\x03www\x07example\x03org\x00\x00\x01\x00\x01");
                if !query {
                    d.extend_from_slice(&[
                        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34,
                    ]);
                }
                exp.dns_packets += 1;
                if ts < last_call_end {
                    let gap = if query {
                        3
                    } else {
                        i64::from(spec.dns_every_ms) - 3
                    };
                    push(&mut heap, ts + gap.max(1) * ms, Ev::Dns { n: n + 1 });
                }
                let (client, server) = (Ipv4Addr::new(10, 9, 0, 2), Ipv4Addr::new(10, 9, 0, 53));
                let cport = 33_000 + (id % 20_000);
                if query {
                    eth_udp4(client, cport, server, 53, &d)
                } else {
                    eth_udp4(server, 53, client, cport, &d)
                }
            }
        };
        exp.frames += 1;
        exp.bytes += 16 + frame.len() as u64;
        w.write(&Frame::new(ts, frame))?;
    }
    exp.bytes += 24;
    w.finish()?;
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_reference_points() {
        // Values from the G.711 tables: 0 → 0xFF, max positive → 0x80, max negative → 0x00.
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_ulaw(32_767), 0x80);
        assert_eq!(linear_to_ulaw(-32_768), 0x00);
        assert_eq!(linear_to_ulaw(-1), 0x7f);
    }

    #[test]
    fn bench_generation_is_deterministic_and_counted() {
        let spec = BenchSpec {
            calls: 3,
            talk_secs: 2,
            stagger_ms: 100,
            dns_every_ms: 100,
            srtp: false,
            mix: false,
            accounts: 0,
        };
        let mut a = Vec::new();
        let ea = write_bench(&spec, &mut a).unwrap();
        let mut b = Vec::new();
        let eb = write_bench(&spec, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(ea, eb);
        assert_eq!(ea.calls, 3);
        assert_eq!(ea.sip_messages, 3 * 7);
        assert_eq!(ea.rtp_streams, 6);
        assert_eq!(ea.rtp_packets, 6 * 100);
        assert_eq!(ea.bytes, a.len() as u64);
    }
}
