#!/usr/bin/env python3
"""Independent check of tls-keylog-call.pcap with its key log (no Earshot code involved).

1. TShark (with tls.keylog_file) must decrypt the TLS leg and dissect the whole SIP dialog:
   INVITE, 100, 180, 200, ACK, BYE, 200, all with one Call-ID.
2. The SDES keys and media addresses are read from TShark's dissection of the decrypted SDP
   (offer in the INVITE, answer in the 200 OK).
3. The UDP packets between those addresses are read straight from the pcap, decrypted and
   authenticated with libsrtp (pylibsrtp) using the key of the side that sent them (RFC 4568),
   checked (PT 0, 160-byte G.711 payloads, no gap, all between the ACK and the BYE), decoded
   from mu-law and correlated with caller.wav / callee.wav: must be >= 0.99.
Usage: python3 verify.py [PCAP KEYLOG]   (defaults: the files beside this script). Exit 1 on failure."""
import base64, math, os, re, struct, subprocess, sys, wave
import pylibsrtp

HERE = os.path.dirname(os.path.abspath(__file__))
PCAP = sys.argv[1] if len(sys.argv) > 2 else os.path.join(HERE, "tls-keylog-call.pcap")
KEYS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "tls-keylog-call.keys")
fail = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        fail.append(what)


def tshark(*args):
    cmd = ["tshark", "-r", PCAP, "-o", "tls.keylog_file:" + KEYS, *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


# ---------------------------------------------------------------- 1. SIP over TLS, decrypted by TShark
print("SIP messages TShark decrypts (tshark -o tls.keylog_file:... -Y sip):")
rows = []
for line in tshark("-Y", "sip", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f",
                   "-e", "frame.number", "-e", "frame.time_relative", "-e", "ip.src", "-e", "tcp.srcport",
                   "-e", "ip.dst", "-e", "tcp.dstport", "-e", "sip.Method", "-e", "sip.Status-Code",
                   "-e", "sip.CSeq", "-e", "sip.Call-ID").splitlines():
    f = line.split("\t")
    label = f[6] if f[6] else f[7]
    rows.append(dict(frame=int(f[0]), t=float(f[1]), label=label, cseq=f[8], callid=f[9]))
    print(f"  frame {f[0]:>4}  {float(f[1]):7.3f} s  {f[2]}:{f[3]} -> {f[4]}:{f[5]}  {label:<6} CSeq: {f[8]}")
labels = [r["label"] for r in rows]
check(labels == ["INVITE", "100", "180", "200", "ACK", "BYE", "200"], "SIP dialog INVITE/100/180/200/ACK/BYE/200: %s" % labels)
callids = {r["callid"] for r in rows}
check(len(callids) == 1, "one Call-ID: %s" % ", ".join(sorted(callids)))
tls = tshark("-Y", "tls.handshake.type == 2", "-T", "fields", "-e", "tls.handshake.version",
             "-e", "tls.handshake.ciphersuite").split()
check(tls == ["0x0303", "0xc02f"], "TLS 1.2 (0x0303), ECDHE-RSA-AES128-GCM-SHA256 (0xc02f): %s" % tls)
ack = next((r for r in rows if r["label"] == "ACK"), None)
bye = next((r for r in rows if r["label"] == "BYE"), None)

# ---------------------------------------------------------------- 2. SDES keys from the decrypted SDP
sdp = {}
for line in tshark("-Y", "sdp", "-T", "fields", "-E", "separator=\t", "-E", "aggregator=|",
                   "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sdp.connection_info.address",
                   "-e", "sdp.media.port", "-e", "sdp.media_attr").splitlines():
    meth, code, addr, port, attrs = line.split("\t")
    m = re.search(r"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)", attrs)
    side = "caller" if meth == "INVITE" else "callee"
    sdp[side] = dict(addr=(addr, int(port)), key=m.group(1) if m else None, msg=meth or code)
    print(f"  SDP in {meth or code}: c={addr} m=audio {port}, a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{m.group(1) if m else '?'}")
check(set(sdp) == {"caller", "callee"} and all(s["key"] for s in sdp.values()), "offer and answer each carry an SDES key")
if fail:
    sys.exit(1)

# ---------------------------------------------------------------- 3. SRTP read from the pcap, decrypted with those keys
def pcap_udp(path):
    with open(path, "rb") as fh:
        data = fh.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "classic little-endian pcap expected"
    ns = magic == 0xA1B23C4D
    linktype = struct.unpack("<I", data[20:24])[0]
    assert linktype == 1, "Ethernet link type expected"
    off, frame = 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        frame += 1
        if len(pkt) < 42 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        ihl = (pkt[14] & 0x0F) * 4
        src, dst = socket_ip(pkt[26:30]), socket_ip(pkt[30:34])
        sp, dp, ulen = struct.unpack("!HHH", pkt[14 + ihl:14 + ihl + 6])
        yield frame, sec + frac / (1e9 if ns else 1e6), (src, sp), (dst, dp), pkt[14 + ihl + 8:14 + ihl + ulen]


def socket_ip(b):
    return ".".join(str(x) for x in b)


def ulaw_decode(u):
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def wav_samples(path):
    with wave.open(path) as w:
        raw = w.readframes(w.getnframes())
    return struct.unpack("<%dh" % (len(raw) // 2), raw)


def corr(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb)


udp = list(pcap_udp(PCAP))
PROF = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
print("SRTP (keys from the SDP above, libsrtp %s):" % getattr(pylibsrtp, "__version__", "?"))
for side, peer, wavname in (("caller", "callee", "caller.wav"), ("callee", "caller", "callee.wav")):
    src, dst, key = sdp[side]["addr"], sdp[peer]["addr"], sdp[side]["key"]
    pkts = [p for p in udp if p[2] == src and p[3] == dst]
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=base64.b64decode(key), ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                                            srtp_profile=PROF))
    pcm, seqs, pts, sizes, ssrcs, bad = [], [], set(), set(), set(), 0
    for frame, t, _, _, payload in pkts:
        try:
            rtp = rx.unprotect(payload)
        except pylibsrtp.Error:
            bad += 1
            continue
        cc = rtp[0] & 0x0F
        pts.add(rtp[1] & 0x7F)
        seqs.append(struct.unpack("!H", rtp[2:4])[0])
        ssrcs.add(struct.unpack("!I", rtp[8:12])[0])
        body = rtp[12 + 4 * cc:]
        sizes.add(len(body))
        pcm.extend(ulaw_decode(b) for b in body)
    frames = [p[0] for p in pkts]
    print(f"  {side} -> {peer}: {src[0]}:{src[1]} -> {dst[0]}:{dst[1]}, {len(pkts)} packets "
          f"(frames {frames[0] if frames else '-'}..{frames[-1] if frames else '-'}), SSRC "
          f"{', '.join('0x%08X' % s for s in ssrcs)}, payload sizes {sorted(sizes)}, PT {sorted(pts)}")
    check(len(pkts) > 0 and bad == 0, f"{side}: all {len(pkts)} packets authenticate with the {side}'s SDES key ({bad} fail)")
    check(pts == {0} and sizes == {160} and len(ssrcs) == 1, f"{side}: PCMU (PT 0), 160-byte payloads, one SSRC")
    check(all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:])), f"{side}: sequence numbers contiguous, no loss")
    check(ack is not None and bye is not None and all(ack["frame"] < f < bye["frame"] for f in frames),
          f"{side}: all media between the ACK (frame {ack and ack['frame']}) and the BYE (frame {bye and bye['frame']})")
    r = corr(pcm, wav_samples(os.path.join(HERE, wavname)))
    check(r >= 0.99, f"{side}: decrypted audio ({len(pcm) / 8000:.2f} s) vs {wavname}: correlation {r:.5f}")
other = [p for p in udp if (p[2], p[3]) not in ((sdp["caller"]["addr"], sdp["callee"]["addr"]),
                                                (sdp["callee"]["addr"], sdp["caller"]["addr"]))]
check(not other, f"no UDP outside the two SDP-announced flows ({len(other)})")
print("verify: OK" if not fail else "verify: FAILED: %d check(s)" % len(fail))
sys.exit(1 if fail else 0)
