#!/usr/bin/env python3
"""SDES-keyed SRTP media for benign-sdes-call: sends --seconds of PCMU (a 440 Hz tone, PT 0,
160-byte frames every 20 ms) protected by libsrtp (pylibsrtp, AES_CM_128_HMAC_SHA1_80) with the
master key+salt given in --tx-key (the base64 `inline:` value of this side's a=crypto line), and
decrypts what it receives with --rx-key (the peer's a=crypto key). Prints what it sent, received
and could decrypt. Bounded: stops after --seconds + 1.3."""
import argparse, base64, math, os, socket, struct, time
import pylibsrtp

ap = argparse.ArgumentParser()
ap.add_argument("--local", required=True)
ap.add_argument("--remote", required=True)
ap.add_argument("--tx-key", required=True)
ap.add_argument("--rx-key", required=True)
ap.add_argument("--ssrc", type=lambda s: int(s, 0), required=True)
ap.add_argument("--seconds", type=float, default=3)
a = ap.parse_args()
lh, lp = a.local.rsplit(":", 1); rh, rp = a.remote.rsplit(":", 1)
remote = (rh, int(rp))
PROF = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
txk, rxk = base64.b64decode(a.tx_key), base64.b64decode(a.rx_key)
assert len(txk) == 30 and len(rxk) == 30, "AES_CM_128 keys are 16 bytes of key + 14 of salt"
tx = pylibsrtp.Session(pylibsrtp.Policy(key=txk, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=PROF))
rx = pylibsrtp.Session(pylibsrtp.Policy(key=rxk, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=PROF))

def ulaw(sample):  # G.711 mu-law encoding of a 16-bit linear sample
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), CLIP) + BIAS
    exp = 7
    while exp > 0 and not sample & (0x4000 >> (7 - exp)):
        exp -= 1
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((lh, int(lp)))
sock.setblocking(False)
time.sleep(0.3)   # both peers are started together: let the other one bind before sending
seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
ts = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
n = got = ok = 0
start = time.time(); end = start + a.seconds

def drain():
    global got, ok
    while True:
        try:
            d, _ = sock.recvfrom(2048)
        except BlockingIOError:
            return
        got += 1
        try:
            rx.unprotect(d); ok += 1
        except pylibsrtp.Error:
            pass

while time.time() < end + 1:
    drain()
    if time.time() < end:
        pcm = bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * (n * 160 + i) / 8000))) for i in range(160))
        rtp = struct.pack("!BBHII", 0x80, 0 | (0x80 if n == 0 else 0), seq & 0xFFFF, ts & 0xFFFFFFFF, a.ssrc) + pcm
        sock.sendto(tx.protect(rtp), remote)
        seq += 1; ts += 160; n += 1
        time.sleep(max(0, start + n * 0.02 - time.time()))
    else:
        time.sleep(0.02)
print(f"sent {n} SRTP packets; received {got}, {ok} of them decrypted and authenticated with the peer's key")
