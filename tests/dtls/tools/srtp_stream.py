#!/usr/bin/env python3
"""Sends G.711 mu-law RTP (PT 0, 160 samples = 20 ms per packet, paced in real time) encoded
from a WAV file (8 kHz mono 16-bit), protected by libsrtp (pylibsrtp) with the master key and
salt of one side of an RFC 5764 DTLS-SRTP export, plus an SRTCP sender report every second
(rtcp-mux, same 5-tuple).

The datagrams leave through a raw IPv4 socket (IPPROTO_UDP: we write the UDP header, the kernel
adds the IP header) so that they carry the exact source port of the DTLS association while the
real DTLS client/server process still owns that port: the association stays up during the
media and its close_notify comes after it, as in a real call.

--keymat is the hex keying material exported with label EXTRACTOR-dtls_srtp, laid out as
client_write_key | server_write_key | client_write_salt | server_write_salt (RFC 5764 4.2);
--role client uses the client write key+salt, --role server the server's.
Prints a JSON summary (ssrc, first/last seq, counts) on stdout."""
import argparse, json, os, socket, struct, sys, time, wave
import pylibsrtp

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import g711  # noqa: E402

PROFILES = {  # RFC 5764/7714 name: (pylibsrtp profile, key length, salt length)
    "SRTP_AES128_CM_HMAC_SHA1_80": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    "SRTP_AES128_CM_HMAC_SHA1_32": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
    "SRTP_AEAD_AES_128_GCM": (pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    "SRTP_AEAD_AES_256_GCM": (pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
}


def split_keymat(profile, keymat):
    _, kl, sl = PROFILES[profile]
    assert len(keymat) == 2 * (kl + sl), f"{profile} needs {2*(kl+sl)} bytes, got {len(keymat)}"
    ck, sk = keymat[:kl], keymat[kl:2 * kl]
    cs, ss = keymat[2 * kl:2 * kl + sl], keymat[2 * kl + sl:]
    return {"client": ck + cs, "server": sk + ss}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="ip:port (the DTLS association's local end)")
    ap.add_argument("--dst", required=True, help="ip:port (the peer)")
    ap.add_argument("--profile", required=True, choices=sorted(PROFILES))
    ap.add_argument("--keymat", required=True, help="hex of the EXTRACTOR-dtls_srtp export")
    ap.add_argument("--role", required=True, choices=["client", "server"])
    ap.add_argument("--wav", required=True)
    ap.add_argument("--ssrc", type=lambda s: int(s, 0), required=True)
    ap.add_argument("--seq", type=lambda s: int(s, 0), required=True, help="first RTP sequence number")
    ap.add_argument("--ts", type=lambda s: int(s, 0), required=True, help="first RTP timestamp")
    ap.add_argument("--cname", default="earshot@dtls")
    a = ap.parse_args()

    sh, sp = a.src.rsplit(":", 1); dh, dp = a.dst.rsplit(":", 1)
    sp, dp = int(sp), int(dp)
    prof = PROFILES[a.profile][0]
    key = split_keymat(a.profile, bytes.fromhex(a.keymat))[a.role]
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=prof))

    w = wave.open(a.wav)
    assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), "need 8 kHz mono 16-bit"
    pcm = struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes()))
    frames = [pcm[i:i + 160] for i in range(0, len(pcm) - 159, 160)]

    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    raw.bind((sh, 0))
    src_ip, dst_ip = socket.inet_aton(sh), socket.inet_aton(dh)

    def send(payload):
        ulen = 8 + len(payload)
        pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, ulen)
        hdr = struct.pack("!HHHH", sp, dp, ulen, 0)
        c = csum(pseudo + hdr + payload) or 0xFFFF
        raw.sendto(struct.pack("!HHHH", sp, dp, ulen, c) + payload, (dh, 0))

    def sender_report(now, ts, count, octets):
        ntp = int((now + 2208988800) * 2**32)
        sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, a.ssrc, ntp >> 32, ntp & 0xFFFFFFFF, ts & 0xFFFFFFFF, count, octets)
        cn = a.cname.encode()
        item = bytes([1, len(cn)]) + cn + b"\0"
        item += b"\0" * (-len(item) % 4)
        sdes = struct.pack("!BBHI", 0x81, 202, (4 + len(item)) // 4, a.ssrc) + item
        send(tx.protect_rtcp(sr + sdes))

    seq, ts, octets = a.seq, a.ts, 0
    first_seq = seq & 0xFFFF
    rtcp = 0
    start = time.time()
    for n, fr in enumerate(frames):
        payload = g711.encode(fr)
        rtp = struct.pack("!BBHII", 0x80, (0x80 if n == 0 else 0) | 0, seq & 0xFFFF, ts & 0xFFFFFFFF, a.ssrc) + payload
        send(tx.protect(rtp))
        octets += len(payload)
        last_seq = seq & 0xFFFF
        seq += 1; ts += 160
        if (n + 1) % 50 == 0:
            sender_report(time.time(), ts, n + 1, octets); rtcp += 1
        time.sleep(max(0.0, start + (n + 1) * 0.02 - time.time()))
    if len(frames) % 50:
        sender_report(time.time(), ts, len(frames), octets); rtcp += 1
    print(json.dumps({"role": a.role, "src": a.src, "dst": a.dst, "profile": a.profile, "ssrc": f"0x{a.ssrc:08X}",
                      "rtp_packets": len(frames), "srtcp_packets": rtcp, "first_seq": first_seq,
                      "last_seq": last_seq, "first_ts": a.ts & 0xFFFFFFFF}))


if __name__ == "__main__":
    main()
