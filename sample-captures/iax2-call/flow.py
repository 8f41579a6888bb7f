#!/usr/bin/env python3
"""Sends the IAX2 exchanges of iax2-call.pcap over loopback UDP, frame by frame, as RFC 5456 defines them.

Three peers, each its own socket: 127.0.0.2:4569 (`alice`), 127.0.0.4:4569 (`bob`) and 127.0.0.3:4569 (the server
they call through). What is sent follows from what each peer holds (call numbers, sequence numbers, the challenge it was
given); the MD5 responses are computed from the challenges the other side sent. The capture is made by tcpdump
(make.sh) and decoded by TShark, the oracle the tests compare with.

Usage: flow.py            (sends; run under make.sh while tcpdump listens)
       IAX2_BENIGN=1 flow.py   the same flow with strong passwords and MD5 only (bob answers with MD5 too): the
                               benign twin labelled in tests/eval/corpus/benign-iax2.toml
"""
import audioop
import hashlib
import math
import os
import socket
import struct
import time

BENIGN = os.environ.get("IAX2_BENIGN") == "1"
PASSWORD = "Vq8-lm3T-zu7Rw2x" if BENIGN else "letmein"   # letmein is in the bundled common-passwords list
PLAIN_PASSWORD = "Hx4-ee9K-pq2Ws7b" if BENIGN else "1234"   # bob's, in clear when plaintext is offered

FULL, RETRANS = 0x8000, 0x8000
DTMF_END, VOICE, CONTROL, IAX, DTMF_BEGIN = 1, 2, 4, 6, 12
NEW, PING, PONG, ACK, HANGUP, REJECT, ACCEPT, AUTHREQ, AUTHREP = 1, 2, 3, 4, 5, 6, 7, 8, 9
LAGRQ, LAGRP, REGREQ, REGAUTH, REGACK = 11, 12, 13, 14, 15
RINGING, ANSWER = 3, 4
ULAW, ALAW, GSM = 1 << 2, 1 << 3, 1 << 1
IE_CALLED, IE_CALLING, IE_NAME, IE_USER, IE_PASSWORD = 1, 2, 4, 6, 7
IE_CAPABILITY, IE_FORMAT, IE_VERSION, IE_AUTHMETHODS = 8, 9, 11, 14
IE_CHALLENGE, IE_MD5, IE_REFRESH, IE_CAUSE, IE_CAUSECODE = 15, 16, 19, 22, 42


def ie(kind, value):
    if isinstance(value, str):
        value = value.encode()
    return bytes([kind, len(value)]) + value


def u16(v):
    return struct.pack("!H", v)


def u32(v):
    return struct.pack("!I", v)


class Peer:
    def __init__(self, ip, name):
        self.name = name
        self.addr = (ip, 4569)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(self.addr)
        self.sock.settimeout(2)

    def recv(self):
        data, _ = self.sock.recvfrom(4096)
        return data


class Leg:
    """One side of one IAX2 call (or registration): its call numbers and sequence numbers."""

    def __init__(self, peer, other, scall, start):
        self.peer, self.other = peer, other
        self.scall, self.dcall = scall, 0
        self.oseq, self.iseq = 0, 0
        self.start = start
        self.last_ts = 0

    def ts(self):
        return int((time.monotonic() - self.start) * 1000)

    def full(self, ftype, sub, ies=b"", retrans=False, ts=None, ack=False):
        ts = self.ts() if ts is None else ts
        self.last_ts = ts
        head = struct.pack("!HHIBBBB", FULL | self.scall, (RETRANS if retrans else 0) | self.dcall, ts,
                           self.oseq, self.iseq, ftype, sub)
        frame = head + ies
        self.peer.sock.sendto(frame, self.other.peer.addr)
        if not ack and not retrans:
            self.oseq = (self.oseq + 1) & 0xFF
        return frame

    def mini(self, ts, payload):
        self.peer.sock.sendto(struct.pack("!HH", self.scall, ts & 0xFFFF) + payload, self.other.peer.addr)

    def take(self):
        """Receives the other side's next frame: learns its call number and advances the inbound sequence."""
        data = self.peer.recv()
        scall, dcall, ts, oseq, iseq, ftype, sub = struct.unpack("!HHIBBBB", data[:12])
        if scall & FULL:
            self.dcall = scall & 0x7FFF
            if not (ftype == IAX and sub == ACK):
                self.iseq = (oseq + 1) & 0xFF
        return ftype, sub, ts, data[12:]

    def ack(self, ts):
        self.full(IAX, ACK, ts=ts, ack=True)


def ies_of(body):
    out, i = {}, 0
    while i + 2 <= len(body):
        kind, n = body[i], body[i + 1]
        out[kind] = body[i + 2:i + 2 + n]
        i += 2 + n
    return out


def exchange(sender, receiver, ftype, sub, ies=b"", **kw):
    sender.full(ftype, sub, ies, **kw)
    return receiver.take()


def acked(sender, receiver, ftype, sub, ies=b""):
    """Sends a frame the receiver acknowledges."""
    _, _, ts, _ = exchange(sender, receiver, ftype, sub, ies)
    receiver.ack(ts)
    sender.take()


def legs(alice, server, alice_call, server_call):
    """A new call (or registration): alice's side and the server's, with their call numbers."""
    a, s = Leg(alice, None, alice_call, time.monotonic()), Leg(server, None, server_call, time.monotonic())
    a.other, s.other = s, a
    return a, s


def tone(freq, n, phase):
    samples = [int(8000 * math.sin(2 * math.pi * freq * (phase + k) / 8000)) for k in range(n)]
    return audioop.lin2ulaw(struct.pack("<%dh" % n, *samples), 2)


def main():
    alice = Peer("127.0.0.2", "alice")
    server = Peer("127.0.0.3", "server")
    bob = Peer("127.0.0.4", "bob")

    # 1. Registration with an MD5 challenge.
    a, s = legs(alice, server, 1, 2)
    exchange(a, s, IAX, REGREQ, ie(IE_USER, "alice") + ie(IE_REFRESH, u16(60)))
    challenge = "214958319"
    exchange(s, a, IAX, REGAUTH, ie(IE_AUTHMETHODS, u16(2)) + ie(IE_CHALLENGE, challenge) + ie(IE_USER, "alice"))
    md5 = hashlib.md5((challenge + PASSWORD).encode()).hexdigest()
    exchange(a, s, IAX, REGREQ, ie(IE_USER, "alice") + ie(IE_MD5, md5) + ie(IE_REFRESH, u16(60)))
    acked(s, a, IAX, REGACK, ie(IE_USER, "alice") + ie(IE_REFRESH, u16(60)))
    time.sleep(0.2)

    # 2. Call 1: alice (2001) calls 1000, authenticated by MD5, answered, two seconds of audio, a DTMF 5, hung up.
    a, s = legs(alice, server, 3, 4)
    exchange(a, s, IAX, NEW, ie(IE_VERSION, u16(2)) + ie(IE_CALLED, "1000") + ie(IE_CALLING, "2001")
             + ie(IE_NAME, "Alice Example") + ie(IE_FORMAT, u32(ULAW)) + ie(IE_CAPABILITY, u32(ULAW | ALAW | GSM))
             + ie(IE_USER, "alice"))
    challenge = "870012455"
    exchange(s, a, IAX, AUTHREQ, ie(IE_AUTHMETHODS, u16(2)) + ie(IE_CHALLENGE, challenge) + ie(IE_USER, "alice"))
    md5 = hashlib.md5((challenge + PASSWORD).encode()).hexdigest()
    exchange(a, s, IAX, AUTHREP, ie(IE_MD5, md5))
    for ftype, sub, ies in ((IAX, ACCEPT, ie(IE_FORMAT, u32(ULAW))), (CONTROL, RINGING, b"")):
        acked(s, a, ftype, sub, ies)
        time.sleep(0.3)
    time.sleep(0.4)
    acked(s, a, CONTROL, ANSWER)
    # Media: the first voice frame of each side is a full frame (acked), then 20 ms mini frames.
    phase = 0
    start = time.monotonic()
    for k in range(100):
        ts_a, ts_s = a.ts(), s.ts()
        if k == 0:
            acked(a, s, VOICE, ULAW, tone(440, 160, phase))
            acked(s, a, VOICE, ULAW, tone(660, 160, phase))
        else:
            a.mini(ts_a, tone(440, 160, phase))
            s.mini(ts_s, tone(660, 160, phase))
            s.take()
            a.take()
        if k == 50:
            acked(a, s, DTMF_BEGIN, ord("5"))
        if k == 55:
            acked(a, s, DTMF_END, ord("5"))
        if k == 70:
            _, _, t, _ = exchange(s, a, IAX, LAGRQ)
            exchange(a, s, IAX, LAGRP, ts=t)
        phase += 160
        time.sleep(max(0.0, start + (k + 1) * 0.02 - time.monotonic()))
    acked(a, s, IAX, HANGUP, ie(IE_CAUSE, "Normal Clearing") + ie(IE_CAUSECODE, bytes([16])))
    time.sleep(0.3)

    # 3. Call 2: 1099 does not exist; the server rejects the call.
    a, s = legs(alice, server, 5, 6)
    exchange(a, s, IAX, NEW, ie(IE_VERSION, u16(2)) + ie(IE_CALLED, "1099") + ie(IE_CALLING, "2001")
             + ie(IE_FORMAT, u32(ULAW)) + ie(IE_CAPABILITY, u32(ULAW)) + ie(IE_USER, "alice"))
    acked(s, a, IAX, REJECT, ie(IE_CAUSE, "No such context/extension") + ie(IE_CAUSECODE, bytes([1])))
    time.sleep(0.3)

    # 4. Call 3, from bob's phone: the NEW is retransmitted (the first copy is not answered at once); the server
    #    offers plaintext authentication and bob sends his PIN in clear; it rings and he hangs up before an answer.
    a, s = legs(bob, server, 7, 8)
    new = (ie(IE_VERSION, u16(2)) + ie(IE_CALLED, "1001") + ie(IE_CALLING, "2002") + ie(IE_FORMAT, u32(ULAW))
           + ie(IE_CAPABILITY, u32(ULAW)) + ie(IE_USER, "bob"))
    frame = a.full(IAX, NEW, new)
    s.take()
    time.sleep(0.5)
    bob.sock.sendto(frame[:2] + u16(RETRANS | 0) + frame[4:], server.addr)
    s.take()
    challenge = "551276091"
    if BENIGN:
        exchange(s, a, IAX, AUTHREQ, ie(IE_AUTHMETHODS, u16(2)) + ie(IE_CHALLENGE, challenge) + ie(IE_USER, "bob"))
        md5 = hashlib.md5((challenge + PLAIN_PASSWORD).encode()).hexdigest()
        exchange(a, s, IAX, AUTHREP, ie(IE_MD5, md5))
    else:
        exchange(s, a, IAX, AUTHREQ, ie(IE_AUTHMETHODS, u16(1 | 2)) + ie(IE_CHALLENGE, challenge) + ie(IE_USER, "bob"))
        exchange(a, s, IAX, AUTHREP, ie(IE_PASSWORD, PLAIN_PASSWORD))
    for ftype, sub, ies in ((IAX, ACCEPT, ie(IE_FORMAT, u32(ULAW))), (CONTROL, RINGING, b"")):
        acked(s, a, ftype, sub, ies)
    time.sleep(0.5)
    acked(a, s, IAX, HANGUP, ie(IE_CAUSE, "Normal Clearing") + ie(IE_CAUSECODE, bytes([16])))


if __name__ == "__main__":
    main()
