#!/usr/bin/env python3
"""SRTP media for tls-keylog-call: one side of the call's audio.

Started by SIPp (an <exec> action right after the ACK) with the peer's media address, port
and SDES key that SIPp read out of the peer's SDP (c=, m=, a=crypto inline:). Sends WAV
(8 kHz mono 16-bit) as G.711 mu-law, PT 0, 160-byte frames every 20 ms, protected by libsrtp
(pylibsrtp, AES_CM_128_HMAC_SHA1_80) with --tx-key: the key THIS side announced in its own
a=crypto line (RFC 4568: each side encrypts with the key it offered/answered). Decrypts what
it receives with the peer's key and prints a one-line report. Bounded in time."""
import argparse, base64, os, socket, struct, sys, time, wave
import pylibsrtp

ap = argparse.ArgumentParser()
ap.add_argument("--local", required=True, help="ip:port this side announced in its SDP")
ap.add_argument("--remote-ip", required=True, help="c= address of the peer's SDP")
ap.add_argument("--remote-port", type=int, required=True, help="m=audio port of the peer's SDP")
ap.add_argument("--tx-key", required=True, help="inline: value of this side's a=crypto")
ap.add_argument("--rx-key", required=True, help="inline: value of the peer's a=crypto")
ap.add_argument("--wav", required=True)
ap.add_argument("--ssrc", type=lambda s: int(s, 0), required=True)
ap.add_argument("--linger", type=float, default=1.0, help="s to keep receiving after the last packet")
a = ap.parse_args()

PROF = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
txk, rxk = base64.b64decode(a.tx_key), base64.b64decode(a.rx_key)
assert len(txk) == 30 and len(rxk) == 30, "AES_CM_128 keys are 16 bytes of key + 14 of salt"
tx = pylibsrtp.Session(pylibsrtp.Policy(key=txk, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=PROF))
rx = pylibsrtp.Session(pylibsrtp.Policy(key=rxk, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=PROF))

with wave.open(a.wav) as w:
    assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), "need 8 kHz mono 16-bit"
    pcm = w.readframes(w.getnframes())
samples = struct.unpack("<%dh" % (len(pcm) // 2), pcm)


def ulaw(sample):  # G.711 mu-law encoding of a 16-bit linear sample
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), CLIP) + BIAS
    exp = 7
    while exp > 0 and not sample & (0x4000 >> (7 - exp)):
        exp -= 1
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


payload = bytes(ulaw(s) for s in samples)
frames = [payload[i:i + 160] for i in range(0, len(payload) - 159, 160)]

lh, lp = a.local.rsplit(":", 1)
remote = (a.remote_ip, a.remote_port)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((lh, int(lp)))
sock.setblocking(False)
time.sleep(0.2)  # both sides start on the ACK: let the peer bind its port before the first packet
seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
ts = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
got = ok = 0


def drain():
    global got, ok
    while True:
        try:
            d, _ = sock.recvfrom(2048)
        except BlockingIOError:
            return
        got += 1
        try:
            rx.unprotect(d)
            ok += 1
        except pylibsrtp.Error:
            pass


start = time.time()
for n, f in enumerate(frames):
    drain()
    rtp = struct.pack("!BBHII", 0x80, 0x80 if n == 0 else 0, (seq + n) & 0xFFFF, (ts + 160 * n) & 0xFFFFFFFF, a.ssrc) + f
    sock.sendto(tx.protect(rtp), remote)
    time.sleep(max(0, start + (n + 1) * 0.02 - time.time()))
end = time.time() + a.linger
while time.time() < end:
    drain()
    time.sleep(0.02)
print(f"{a.local} -> {a.remote_ip}:{a.remote_port}: sent {len(frames)} SRTP packets ({os.path.basename(a.wav)}); "
      f"received {got}, {ok} decrypted and authenticated with the peer's SDES key", flush=True)
sys.exit(0 if ok == got and got > 0 else 1)
