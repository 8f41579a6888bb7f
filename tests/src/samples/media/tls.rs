//! A TLS 1.2 connection over TCP, built record by record: a real ClientHello and ServerHello (so TLS dissectors,
//! Earshot's included, read the negotiated version), then key exchange, ChangeCipherSpec and Finished, then
//! application-data records of random bytes. No key material exists: nothing in it can be decrypted.

use std::net::Ipv4Addr;

use crate::pcapw::{Frame, eth_tcp4};

use super::call::Rng;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;
const FIN_ACK: u8 = 0x11;
const MS: i64 = 1_000_000;

pub struct TlsConnection {
    client: (Ipv4Addr, u16),
    server: (Ipv4Addr, u16),
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
}

fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![kind];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    h
}

fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&(data.len() as u16).to_be_bytes());
    e.extend_from_slice(data);
    e
}

fn client_hello(rng: &mut Rng) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&rng.bytes(32));
    b.push(0); // no session id
    let suites: [u16; 4] = [0xc02f, 0xc030, 0xc02b, 0xc02c];
    b.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        b.extend_from_slice(&s.to_be_bytes());
    }
    b.extend_from_slice(&[1, 0]); // null compression
    let name = b"sip.example.org";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut exts = ext(0x0000, &sni);
    exts.extend(ext(0x000a, &[0, 2, 0, 0x17]));
    exts.extend(ext(0x000b, &[1, 0]));
    exts.extend(ext(0x000d, &[0, 4, 4, 1, 4, 3]));
    exts.extend(ext(0xff01, &[0]));
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend(exts);
    record(0x16, 0x0301, &handshake_msg(1, &b))
}

fn server_hello(rng: &mut Rng) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&rng.bytes(32));
    b.push(32);
    b.extend_from_slice(&rng.bytes(32));
    b.extend_from_slice(&0xc02fu16.to_be_bytes()); // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    b.push(0);
    let mut exts = ext(0xff01, &[0]);
    exts.extend(ext(0x000b, &[1, 0]));
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend(exts);
    let mut r = record(0x16, 0x0303, &handshake_msg(2, &b));
    r.extend(record(0x16, 0x0303, &handshake_msg(14, &[])));
    r
}

/// ChangeCipherSpec then an encrypted Finished (GCM: 8-byte nonce, 12 + 16 bytes).
fn ccs_finished(rng: &mut Rng) -> Vec<u8> {
    let mut r = record(0x14, 0x0303, &[1]);
    r.extend(record(0x16, 0x0303, &rng.bytes(40)));
    r
}

impl TlsConnection {
    pub fn new(client: Ipv4Addr, cport: u16, server: Ipv4Addr, sport: u16) -> Self {
        TlsConnection {
            client: (client, cport),
            server: (server, sport),
            seq: [0x1A2B_3C4D, 0x5E6F_7081],
        }
    }

    fn segment(&mut self, t: i64, from_client: bool, flags: u8, payload: &[u8]) -> Frame {
        let (d, o) = if from_client { (0, 1) } else { (1, 0) };
        let ((src, sp), (dst, dp)) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let ack = if flags & ACK != 0 { self.seq[o] } else { 0 };
        let f = Frame::new(
            t,
            eth_tcp4(src, sp, dst, dp, self.seq[d], ack, flags, payload),
        );
        let consumed = payload.len() as u32 + u32::from(flags & (SYN | 0x01) != 0);
        self.seq[d] = self.seq[d].wrapping_add(consumed);
        f
    }

    /// The three-way handshake and the TLS 1.2 handshake, from `*t` on (advanced past them).
    pub fn handshake(&mut self, t: &mut i64, rng: &mut Rng) -> Vec<Frame> {
        let mut v = vec![self.segment(*t, true, SYN, &[])];
        *t += MS;
        v.push(self.segment(*t, false, SYN_ACK, &[]));
        *t += MS;
        v.push(self.segment(*t, true, ACK, &[]));
        *t += MS;
        let ch = client_hello(rng);
        v.push(self.segment(*t, true, PSH_ACK, &ch));
        *t += 20 * MS;
        let sh = server_hello(rng);
        v.push(self.segment(*t, false, PSH_ACK, &sh));
        *t += 5 * MS;
        let mut point = vec![0x04];
        point.extend_from_slice(&rng.bytes(64));
        let mut cke = vec![65u8];
        cke.extend(point);
        let mut c = record(0x16, 0x0303, &handshake_msg(16, &cke));
        c.extend(ccs_finished(rng));
        v.push(self.segment(*t, true, PSH_ACK, &c));
        *t += 20 * MS;
        let s = ccs_finished(rng);
        v.push(self.segment(*t, false, PSH_ACK, &s));
        *t += MS;
        v.push(self.segment(*t, true, ACK, &[]));
        v
    }

    /// One application-data record carrying `len` bytes of (encrypted) SIP: AES-GCM adds 8 + 16 bytes.
    pub fn app_data(&mut self, t: i64, from_client: bool, len: usize, rng: &mut Rng) -> Frame {
        let r = record(0x17, 0x0303, &rng.bytes(len + 24));
        self.segment(t, from_client, PSH_ACK, &r)
    }

    /// close_notify alerts and the FIN exchange.
    pub fn close(&mut self, mut t: i64, rng: &mut Rng) -> Vec<Frame> {
        let alert = record(0x15, 0x0303, &rng.bytes(26));
        let mut v = vec![self.segment(t, true, PSH_ACK, &alert)];
        v.push(self.segment(t, true, FIN_ACK, &[]));
        t += MS;
        let alert = record(0x15, 0x0303, &rng.bytes(26));
        v.push(self.segment(t, false, PSH_ACK, &alert));
        v.push(self.segment(t, false, FIN_ACK, &[]));
        t += MS;
        v.push(self.segment(t, true, ACK, &[]));
        v
    }
}
