#!/usr/bin/env python3
"""WebRTC-style media without SDP (benign-srtp-webrtc): ICE connectivity checks (STUN Binding
requests/responses with USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY, FINGERPRINT),
then SRTP (libsrtp via pylibsrtp, AES_CM_128_HMAC_SHA1_80) at 50 packets/s for --seconds with
an SRTCP sender report every second, on one UDP 5-tuple (as with BUNDLE + rtcp-mux).
Role 'offer' sends the first checks; role 'answer' answers them and sends its own stream.
Bounded: stops after --seconds + 3."""
import argparse, hashlib, hmac, os, socket, struct, time, zlib, binascii
import pylibsrtp

ap = argparse.ArgumentParser()
ap.add_argument("--role", choices=["offer", "answer"], required=True)
ap.add_argument("--local", required=True)
ap.add_argument("--remote", required=True)
ap.add_argument("--seconds", type=float, default=10)
a = ap.parse_args()
lh, lp = a.local.rsplit(":", 1); rh, rp = a.remote.rsplit(":", 1)
remote = (rh, int(rp))
# fixed ICE credentials and SRTP master keys (as DTLS-SRTP would have exported them)
UFRAG = {"offer": "eOfF", "answer": "eAnS"}
PWD = {"offer": b"offerpassword0123456789a", "answer": b"answerpassword0123456789"}
KEY = {"offer": bytes(range(30)), "answer": bytes(range(100, 130))}
me, peer = a.role, ("answer" if a.role == "offer" else "offer")
MAGIC = 0x2112A442

def stun(msg_type, tid, attrs, key):
    body = b"".join(struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attrs)
    # MESSAGE-INTEGRITY over the message with the length including MI (24 bytes)
    hdr = struct.pack("!HHI", msg_type, len(body) + 24, MAGIC) + tid
    mi = hmac.new(key, hdr + body, hashlib.sha1).digest()
    body += struct.pack("!HH", 0x0008, 20) + mi
    hdr = struct.pack("!HHI", msg_type, len(body) + 8, MAGIC) + tid
    fp = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += struct.pack("!HHI", 0x8028, 4, fp)
    return hdr + body

def binding_request():
    tid = os.urandom(12)
    user = (UFRAG[peer] + ":" + UFRAG[me]).encode()
    attrs = [(0x0006, user), (0x0024, struct.pack("!I", 1853824767))]
    attrs.append((0x802A, os.urandom(8)) if me == "offer" else (0x8029, os.urandom(8)))
    return stun(0x0001, tid, attrs, PWD[peer])

def binding_response(req, addr):
    tid = req[8:20]
    port = addr[1] ^ (MAGIC >> 16)
    ip = struct.unpack("!I", socket.inet_aton(addr[0]))[0] ^ MAGIC
    xma = struct.pack("!BBHI", 0, 1, port, ip)
    return stun(0x0101, tid, [(0x0020, xma)], PWD[me])

pol = pylibsrtp.Policy(key=KEY[me], ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                       srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
tx = pylibsrtp.Session(pol)
ssrc = 0x1A2B3C4D if me == "offer" else 0x5E6F7081
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((lh, int(lp)))
sock.setblocking(False)

start = time.time(); end = start + a.seconds
seq = 1000 if me == "offer" else 5000
ts = 0; n = 0; next_rtcp = start + 1; next_check = start; octets = 0

def drain():
    while True:
        try:
            d, addr = sock.recvfrom(2048)
        except BlockingIOError:
            return
        if len(d) >= 20 and d[0] < 2 and struct.unpack("!I", d[4:8])[0] == MAGIC and d[:2] == b"\x00\x01":
            sock.sendto(binding_response(d, addr), addr)

while time.time() < end + 1:
    now = time.time()
    drain()
    if now >= next_check:                    # ICE consent freshness: a check every 2.5 s
        sock.sendto(binding_request(), remote); next_check = now + 2.5
        if now < start + 0.5:
            time.sleep(0.2); continue
    if now < end:
        payload = os.urandom(80)             # 20 ms Opus-sized frame (encrypted anyway)
        rtp = struct.pack("!BBHII", 0x80, 111 | (0x80 if n == 0 else 0), seq & 0xFFFF, ts, ssrc) + payload
        sock.sendto(tx.protect(rtp), remote)
        seq += 1; ts += 960; n += 1; octets += len(payload)
        if now >= next_rtcp:
            ntp = int((now + 2208988800) * 2**32)
            sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, ntp >> 32, ntp & 0xFFFFFFFF, ts, n, octets)
            sock.sendto(tx.protect_rtcp(sr), remote); next_rtcp = now + 1
    time.sleep(max(0, start + n * 0.02 - time.time()))
