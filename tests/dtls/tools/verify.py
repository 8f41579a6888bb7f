#!/usr/bin/env python3
"""Checks the DTLS-SRTP captures in tests/dtls/captures/ using only what an analyzer would have:
NAME.pcap + NAME.keys (the NSS key log), then compares with what the real stacks printed
(NAME.srtp-keys.txt) and with the audio that was sent (NAME.wav, NAME.b2a.wav).

For each scenario it:
  1. parses the SIP INVITE / 200 OK SDP (a=setup, a=fingerprint, media port);
  2. parses the DTLS 1.2 handshake in the clear (RFC 6347 records and handshake fragments,
     reassembled): ClientHello/HelloVerifyRequest/ServerHello randoms, cipher suite, the
     use_srtp profile the server selected, the certificates -> SHA-256 fingerprints, and checks
     them against the SDP fingerprints (a mismatch is expected only in dtls-fingerprint-mismatch);
  3. looks the master secret up in NAME.keys by client_random and computes the RFC 5705
     exporter PRF(master_secret, "EXTRACTOR-dtls_srtp", client_random || server_random, L) with
     the suite's PRF hash; it must equal the keying material the stack printed;
  4. demultiplexes the DTLS 5-tuple (RFC 7983), decrypts every SRTP/SRTCP packet with libsrtp
     (pylibsrtp) using the client write key+salt for A->B and the server's for B->A (decryption
     must succeed for all), decodes the PCMU back to PCM and correlates it with the WAV sent;
  5. asks tshark to decrypt the handshake with the key log (the two Finished messages and the
     close_notify alerts must show up decrypted).

  python3 tests/dtls/tools/verify.py              # all captures, prints a report, rc != 0 on failure
  python3 tests/dtls/tools/verify.py NAME...      # some of them
  python3 tests/dtls/tools/verify.py --facts NAME # also (re)write captures/NAME.txt
No root needed. Needs python3, pylibsrtp, tshark (step 5 is skipped with a warning without it)."""
import argparse, hashlib, hmac, json, math, os, shutil, struct, subprocess, sys, wave

import pylibsrtp

HERE = os.path.dirname(os.path.abspath(__file__))
CAP = os.path.join(os.path.dirname(HERE), "captures")
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import g711  # noqa: E402

SRTP_PROFILES = {  # id: (RFC name, pylibsrtp profile, key len, salt len)
    0x0001: ("SRTP_AES128_CM_HMAC_SHA1_80", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    0x0002: ("SRTP_AES128_CM_HMAC_SHA1_32", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
    0x0007: ("SRTP_AEAD_AES_128_GCM", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    0x0008: ("SRTP_AEAD_AES_256_GCM", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    0x0005: ("SRTP_NULL_HMAC_SHA1_80", None, 16, 14),
    0x0006: ("SRTP_NULL_HMAC_SHA1_32", None, 16, 14),
}
SUITES = {
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
}
VERSIONS = {0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2", 0xFEFC: "DTLS 1.3"}
HS_NAMES = {1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket", 11: "Certificate",
            12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
            16: "ClientKeyExchange", 20: "Finished"}


# ---------------------------------------------------------------------------- pcap
def read_pcap(path):
    """Yields (ts, src_ip, sport, dst_ip, dport, payload) for the UDP/IPv4 packets."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:            # Ethernet
            if len(pkt) < 14:
                continue
            et, ip = struct.unpack("!H", pkt[12:14])[0], pkt[14:]
            if et == 0x8100:
                et, ip = struct.unpack("!H", pkt[16:18])[0], pkt[18:]
            if et != 0x0800:
                continue
        elif linktype == 113:        # Linux cooked
            if struct.unpack("!H", pkt[14:16])[0] != 0x0800:
                continue
            ip = pkt[16:]
        elif linktype in (101, 228, 12):  # raw IP
            ip = pkt
        else:
            raise ValueError(f"{path}: unsupported linktype {linktype}")
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield ts, ".".join(map(str, ip[12:16])), sport, ".".join(map(str, ip[16:20])), dport, udp[8:ulen]


# ---------------------------------------------------------------------------- SIP / SDP
def parse_sip(payload):
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return None
    head, _, body = text.partition("\r\n\r\n")
    start = head.split("\r\n", 1)[0]
    if not (start.startswith("SIP/2.0 ") or start.endswith(" SIP/2.0")):
        return None
    hdrs = {}
    for ln in head.split("\r\n")[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    sdp = {}
    if body.startswith("v=0"):
        for ln in body.split("\r\n"):
            if ln.startswith("a=fingerprint:"):
                alg, _, fp = ln[len("a=fingerprint:"):].partition(" ")
                sdp["fingerprint"] = (alg.lower(), fp.strip().upper())
            elif ln.startswith("a=setup:"):
                sdp["setup"] = ln[8:]
            elif ln.startswith("m=audio "):
                sdp["port"] = int(ln.split()[1]); sdp["proto"] = ln.split()[2]
            elif ln.startswith("c=IN IP4 "):
                sdp["ip"] = ln.split()[2]
    return {"start": start, "hdrs": hdrs, "sdp": sdp}


# ---------------------------------------------------------------------------- DTLS
def dtls_records(payload):
    off = 0
    while off + 13 <= len(payload):
        ct, ver, epoch = struct.unpack("!BHH", payload[off:off + 5])
        seq = int.from_bytes(payload[off + 5:off + 11], "big")
        ln = struct.unpack("!H", payload[off + 11:off + 13])[0]
        yield ct, ver, epoch, seq, payload[off + 13:off + 13 + ln]
        off += 13 + ln


def parse_exts(b):
    out, off = {}, 0
    while off + 4 <= len(b):
        t, ln = struct.unpack("!HH", b[off:off + 4])
        out[t] = b[off + 4:off + 4 + ln]
        off += 4 + ln
    return out


def parse_client_hello(b):
    ver, rnd = struct.unpack("!H", b[:2])[0], b[2:34]
    off = 34
    sid = b[off + 1:off + 1 + b[off]]; off += 1 + b[off]
    cookie = b[off + 1:off + 1 + b[off]]; off += 1 + b[off]
    n = struct.unpack("!H", b[off:off + 2])[0]
    suites = [struct.unpack("!H", b[off + 2 + i:off + 4 + i])[0] for i in range(0, n, 2)]; off += 2 + n
    off += 1 + b[off]  # compression
    exts = parse_exts(b[off + 2:]) if off < len(b) else {}
    return {"version": ver, "random": rnd, "session_id": sid, "cookie": cookie, "suites": suites, "exts": exts}


def parse_server_hello(b):
    ver, rnd = struct.unpack("!H", b[:2])[0], b[2:34]
    off = 34
    sid = b[off + 1:off + 1 + b[off]]; off += 1 + b[off]
    suite = struct.unpack("!H", b[off:off + 2])[0]; off += 3
    exts = parse_exts(b[off + 2:]) if off < len(b) else {}
    return {"version": ver, "random": rnd, "session_id": sid, "suite": suite, "exts": exts}


def parse_use_srtp(ext, server):
    n = struct.unpack("!H", ext[:2])[0]
    profiles = [struct.unpack("!H", ext[2 + i:4 + i])[0] for i in range(0, n, 2)]
    mki = ext[2 + n + 1:2 + n + 1 + ext[2 + n]]
    return profiles, mki


def parse_certificates(b):
    total = int.from_bytes(b[:3], "big")
    off, certs = 3, []
    while off < 3 + total:
        ln = int.from_bytes(b[off:off + 3], "big")
        certs.append(b[off + 3:off + 3 + ln]); off += 3 + ln
    return certs


def colon_hex(b):
    return ":".join(f"{x:02X}" for x in b)


# ---------------------------------------------------------------------------- TLS 1.2 PRF
def p_hash(hname, secret, seed, n):
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hname).digest()
        out += hmac.new(secret, a + seed, hname).digest()
    return out[:n]


def exporter(hname, master, label, client_random, server_random, n):
    """RFC 5705 without context: PRF(master_secret, label, client_random + server_random)[:n]"""
    return p_hash(hname, master, label.encode() + client_random + server_random, n)


AEAD_SUITES = {  # suite: (cipher, key length, fixed IV length, explicit nonce length)
    0xC02B: ("aesgcm", 16, 4, 8), 0xC02C: ("aesgcm", 32, 4, 8), 0xC02F: ("aesgcm", 16, 4, 8),
    0xC030: ("aesgcm", 32, 4, 8), 0xCCA9: ("chacha", 32, 12, 0), 0xCCA8: ("chacha", 32, 12, 0),
}


def decrypt_dtls_records(suite, hname, ms, client_random, server_random, client, records):
    """DTLS 1.2 AEAD record decryption (RFC 5288 GCM: nonce = fixed IV(4) || explicit(8);
    RFC 7905 ChaCha20-Poly1305: nonce = IV(12) XOR (epoch(2) || seq(6)) left-padded);
    AAD = epoch(2) || seq(6) || type || version || plaintext length."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
    if suite not in AEAD_SUITES:
        return {"error": f"suite 0x{suite:04X} not handled by verify.py"}
    kind, kl, ivl, exl = AEAD_SUITES[suite]
    kb = p_hash(hname, ms, b"key expansion" + server_random + client_random, 2 * kl + 2 * ivl)
    keys = {"client": (kb[:kl], kb[2 * kl:2 * kl + ivl]), "server": (kb[kl:2 * kl], kb[2 * kl + ivl:])}
    out = {"finished": 0, "alerts": [], "other": [], "failed": 0}
    for src, ct, ver, epoch, seq, frag in records:
        key, iv = keys["client" if src == client else "server"]
        seq64 = struct.pack("!HIH", epoch, seq >> 16, seq & 0xFFFF)
        tag = 16
        if kind == "aesgcm":
            nonce, ctext = iv + frag[:exl], frag[exl:]
            aead = AESGCM(key)
        else:
            nonce = bytes(a ^ b for a, b in zip(iv, b"\0\0\0\0" + seq64))
            ctext = frag
            aead = ChaCha20Poly1305(key)
        aad = seq64 + struct.pack("!BHH", ct, ver, len(ctext) - tag)
        try:
            pt = aead.decrypt(nonce, ctext, aad)
        except Exception:  # noqa: BLE001
            out["failed"] += 1; continue
        who = "A" if src == client else "B"
        if ct == 22 and pt[:1] == b"\x14":
            out["finished"] += 1
        elif ct == 21:
            out["alerts"].append(f"{who}:{'close_notify' if pt[1] == 0 else pt.hex()}")
        else:
            out["other"].append(f"{who}:type{ct}:{len(pt)}B")
    if out["failed"]:
        out["error"] = f"{out['failed']} records failed AEAD authentication"
    return out


def read_keylog(path):
    keys = {}
    for ln in open(path):
        parts = ln.split()
        if len(parts) == 3 and not ln.startswith("#"):
            keys.setdefault(parts[0], {})[bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
    return keys


def read_kv(path):
    kv = {}
    for ln in open(path):
        if ln.startswith("#") or ln.startswith("A>") or ln.startswith("B>") or ":" not in ln:
            continue
        k, _, v = ln.partition(":")
        kv.setdefault(k.strip(), v.strip())
    return kv


def read_wav(path):
    w = wave.open(path)
    return list(struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes())))


def correlation(x, y):
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


# ---------------------------------------------------------------------------- one capture
def analyse(name):
    base = os.path.join(CAP, name)
    res = {"name": name, "fail": [], "warn": []}
    fail = res["fail"].append
    meta = read_kv(base + ".srtp-keys.txt")
    printed = bytes.fromhex(meta["keying_material"])
    pkts = list(read_pcap(base + ".pcap"))
    res["frames"] = len(pkts)

    # --- SIP
    offer = answer = None
    sip = []
    for ts, s, sp, d, dp, pl in pkts:
        m = parse_sip(pl) if (sp == 5060 or dp == 5060) else None
        if m:
            sip.append(m["start"])
            if m["start"].startswith("INVITE") and m["sdp"]:
                offer = m["sdp"]
            elif m["start"].startswith("SIP/2.0 200") and m["sdp"]:
                answer = m["sdp"]
    res["sip"] = sip
    if not offer or not answer:
        fail("no SIP offer/answer with SDP found")

    # --- DTLS handshake (epoch 0 in the clear); flows keyed by (src, sport, dst, dport)
    frags = {}   # (sender, msg_seq, type) -> {off: bytes}, total length
    client = server = None
    dtls_pkts = {}
    records_by_epoch = {}
    alerts_clear = []
    protected = []   # (src, type, version, epoch, seq, fragment) of epoch >= 1 records
    for ts, s, sp, d, dp, pl in pkts:
        if not pl or not (20 <= pl[0] <= 63):
            continue
        src, dst = (s, sp), (d, dp)
        dtls_pkts[(src, dst)] = dtls_pkts.get((src, dst), 0) + 1
        for ct, ver, epoch, seq, frag in dtls_records(pl):
            records_by_epoch.setdefault((src, epoch, ct), 0)
            records_by_epoch[(src, epoch, ct)] += 1
            if ct == 21 and epoch == 0:
                alerts_clear.append((src, frag))
            if epoch >= 1:
                protected.append((src, ct, ver, epoch, seq, frag))
            if ct != 22 or epoch != 0:
                continue
            off = 0
            while off + 12 <= len(frag):
                mt = frag[off]
                mlen = int.from_bytes(frag[off + 1:off + 4], "big")
                mseq = struct.unpack("!H", frag[off + 4:off + 6])[0]
                foff = int.from_bytes(frag[off + 6:off + 9], "big")
                flen = int.from_bytes(frag[off + 9:off + 12], "big")
                body = frag[off + 12:off + 12 + flen]
                key = (src, mseq, mt)
                ent = frags.setdefault(key, {"len": mlen, "parts": {}, "dst": dst, "ver": ver})
                ent["parts"][foff] = body
                off += 12 + flen
                if mt == 1 and client is None:
                    client, server = src, dst
    msgs = {}
    for (src, mseq, mt), ent in sorted(frags.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        buf = bytearray(ent["len"])
        got = 0
        for o, b in ent["parts"].items():
            buf[o:o + len(b)] = b; got += len(b)
        if got >= ent["len"]:
            msgs.setdefault((src, mt), []).append(bytes(buf))
    if client is None:
        fail("no ClientHello in the capture"); return res
    res["client"], res["server"] = f"{client[0]}:{client[1]}", f"{server[0]}:{server[1]}"
    res["handshake"] = []
    chs = msgs.get((client, 1), [])
    ch = parse_client_hello(chs[-1])
    res["client_hellos"] = len(chs)
    res["hello_verify_request"] = (server, 3) in msgs
    if len(chs) > 1 and not all(parse_client_hello(c)["random"] == ch["random"] for c in chs):
        fail("ClientHello random changed after HelloVerifyRequest")
    sh = parse_server_hello(msgs[(server, 2)][0])
    res["version"] = VERSIONS.get(sh["version"], hex(sh["version"]))
    res["suite"] = f"{SUITES.get(sh['suite'], '?')} (0x{sh['suite']:04X})"
    res["extended_master_secret"] = 23 in sh["exts"]
    offered, _ = parse_use_srtp(ch["exts"][14], False) if 14 in ch["exts"] else ([], b"")
    if 14 not in sh["exts"]:
        fail("server did not select a use_srtp profile"); return res
    selected, mki = parse_use_srtp(sh["exts"][14], True)
    res["srtp_offered"] = [SRTP_PROFILES.get(p, (f"0x{p:04X}",))[0] for p in offered]
    pid = selected[0]
    pname, pprof, kl, sl = SRTP_PROFILES[pid]
    res["profile"] = f"{pname} (0x{pid:04X})"
    res["mki"] = mki.hex()
    if pname != meta["profile"]:
        fail(f"profile in ServerHello {pname} != printed {meta['profile']}")
    certs = {}
    for who, ep in (("client", client), ("server", server)):
        c = msgs.get((ep, 11))
        if not c:
            fail(f"no {who} Certificate message"); continue
        der = parse_certificates(c[0])[0]
        certs[who] = colon_hex(hashlib.sha256(der).digest())
    res["cert_fp"] = certs
    res["sdp_fp"] = {"offer": offer["fingerprint"][1] if offer else None, "answer": answer["fingerprint"][1] if answer else None}
    res["sdp_setup"] = {"offer": offer.get("setup") if offer else None, "answer": answer.get("setup") if answer else None}
    match = {"client": res["sdp_fp"]["offer"] == certs.get("client"), "server": res["sdp_fp"]["answer"] == certs.get("server")}
    res["fp_match"] = match
    expect_mismatch = "mismatch" in name
    if expect_mismatch:
        if all(match.values()):
            fail("expected an SDP/certificate fingerprint mismatch, found none")
    elif not all(match.values()):
        fail(f"SDP fingerprint does not match the DTLS certificate: {match}")
    if offer and (offer.get("port") != client[1]):
        res["warn"].append("offer m= port is not the DTLS client's port")
    if answer and (answer.get("port") != server[1]):
        res["warn"].append("answer m= port is not the DTLS server's port")
    res["records"] = {f"{'A' if k[0] == client else 'B'} epoch{k[1]} {({20: 'ChangeCipherSpec', 21: 'Alert', 22: 'Handshake', 23: 'AppData'}).get(k[2], k[2])}": v
                      for k, v in sorted(records_by_epoch.items(), key=lambda kv: (kv[0][0] != client, kv[0][1], kv[0][2]))}
    res["handshake_msgs"] = sorted({f"{'A' if src == client else 'B'}:{HS_NAMES.get(mt, mt)}" for (src, mt) in msgs},
                                   key=lambda s: s)

    # --- keys: key log -> master secret -> exporter
    keylog = read_keylog(base + ".keys")
    ms = keylog.get("CLIENT_RANDOM", {}).get(ch["random"])
    res["keylog_labels"] = sorted(keylog)
    if ms is None:
        fail("no CLIENT_RANDOM line for this handshake's client_random in the key log"); return res
    hname = "sha384" if SUITES.get(sh["suite"], "").endswith("SHA384") else "sha256"
    res["prf_hash"] = hname
    km = exporter(hname, ms, "EXTRACTOR-dtls_srtp", ch["random"], sh["random"], 2 * (kl + sl))
    res["keying_material"] = km.hex()
    res["exporter_matches_stack"] = km == printed
    if km != printed:
        fail(f"exporter from key log {km.hex()} != printed {printed.hex()}")
    ck, sk, cs, ss = km[:kl], km[kl:2 * kl], km[2 * kl:2 * kl + sl], km[2 * kl + sl:]
    res["keys"] = {"client_write_key": ck.hex(), "server_write_key": sk.hex(),
                   "client_write_salt": cs.hex(), "server_write_salt": ss.hex()}

    # --- our own DTLS 1.2 record decryption of the epoch-1 records (Finished, alerts) from the
    #     key log alone: key_block = PRF(ms, "key expansion", server_random || client_random)
    dec = decrypt_dtls_records(sh["suite"], hname, ms, ch["random"], sh["random"], client, protected)
    res["dtls_decrypted"] = dec
    if dec.get("error"):
        fail("own DTLS record decryption: " + dec["error"])
    elif dec["finished"] != 2:
        fail(f"own DTLS record decryption found {dec['finished']} Finished messages (expected 2)")

    # --- SRTP / SRTCP on the DTLS 5-tuple
    media = {}
    for direction, src, dst, key, wavf in (("A->B", client, server, ck + cs, base + ".wav"),
                                           ("B->A", server, client, sk + ss, base + ".b2a.wav")):
        rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=pprof))
        st = {"rtp": 0, "rtcp": 0, "rtp_fail": 0, "rtcp_fail": 0, "ssrc": set(), "seqs": [], "pt": set(),
              "dtls": dtls_pkts.get((src, dst), 0), "other": 0}
        pcm = {}
        ext_prev = None
        for ts, s, sp, d, dp, pl in pkts:
            if (s, sp) != src or (d, dp) != dst or not pl:
                continue
            if 128 <= pl[0] <= 191:
                if 192 <= pl[1] <= 223:      # RTCP (rtcp-mux, RFC 5761)
                    try:
                        r = rx.unprotect_rtcp(pl)
                        st["rtcp"] += 1
                        st["ssrc"].add(struct.unpack("!I", r[4:8])[0])
                    except Exception:
                        st["rtcp_fail"] += 1
                    continue
                try:
                    r = rx.unprotect(pl)
                except Exception:
                    st["rtp_fail"] += 1; continue
                st["rtp"] += 1
                seq, ssrc = struct.unpack("!H", r[2:4])[0], struct.unpack("!I", r[8:12])[0]
                st["ssrc"].add(ssrc); st["pt"].add(r[1] & 0x7F); st["seqs"].append(seq)
                cc = r[0] & 15
                hdr = 12 + 4 * cc
                ext_seq = seq if ext_prev is None else ext_prev + ((seq - ext_prev + 32768) % 65536 - 32768)
                ext_prev = ext_seq
                pcm[ext_seq] = g711.decode(r[hdr:])
            elif not (20 <= pl[0] <= 63):
                st["other"] += 1
        if st["rtp_fail"] or st["rtcp_fail"]:
            fail(f"{direction}: {st['rtp_fail']} SRTP / {st['rtcp_fail']} SRTCP packets failed to decrypt")
        if not pcm:
            fail(f"{direction}: no SRTP decrypted"); media[direction] = st; continue
        first = min(pcm)
        out = []
        for sq in range(first, max(pcm) + 1):
            out.extend(pcm.get(sq, [0] * 160))
        ref = read_wav(wavf)
        st["corr"] = correlation(out, ref)
        other = base + (".b2a.wav" if direction == "A->B" else ".wav")
        st["corr_control"] = correlation(out, read_wav(other))  # against the OTHER direction's audio: ~0
        best = max(((correlation(out[lag:], ref) if lag >= 0 else correlation(out, ref[-lag:])), lag) for lag in range(-8, 9))
        st["best_lag"] = best[1]
        if st["corr"] < 0.95:
            fail(f"{direction}: correlation with {os.path.basename(wavf)} only {st['corr']:.4f}")
        st["first_seq"], st["last_seq"] = st["seqs"][0], st["seqs"][-1]
        st["wraps"] = sum(1 for a, b in zip(st["seqs"], st["seqs"][1:]) if b < a)
        st["samples"] = len(out)
        st["ssrc"] = ",".join(f"0x{x:08X}" for x in sorted(st["ssrc"]))
        st["pt"] = ",".join(map(str, sorted(st["pt"])))
        del st["seqs"]
        media[direction] = st
    res["media"] = media

    # --- tshark with the key log
    if shutil.which("tshark"):
        # sdp.establish_conversation:FALSE - with the default (TRUE) tshark 4.0 hands the
        # media port's packets to RTP because of the SDP, RTP passes the DTLS records on
        # (RFC 7983) but the DTLS session state is lost and nothing gets decrypted
        def tsh(filt, fields, prefs=("-o", "sdp.establish_conversation:FALSE")):
            cmd = ["tshark", "-n", "-r", base + ".pcap", *prefs, "-o", "tls.keylog_file:" + base + ".keys", "-Y", filt, "-T", "fields"]
            for f in fields:
                cmd += ["-e", f]
            return subprocess.run(cmd, capture_output=True, text=True).stdout.split("\n")[:-1]
        fin = tsh("dtls.handshake.type == 20", ["frame.number"])
        cn = tsh("dtls.alert_message.desc == 0", ["frame.number"])
        dtls_frames = tsh("dtls", ["frame.number"])
        fin_default = tsh("dtls.handshake.type == 20", ["frame.number"], prefs=())
        res["tshark"] = {"dtls_frames": len(dtls_frames), "finished_decrypted": len(fin), "close_notify_decrypted": len(cn),
                         "finished_decrypted_default_prefs": len(fin_default)}
        if len(fin) < 2:
            if AEAD_SUITES.get(sh["suite"], ("",))[0] == "chacha" and not res["dtls_decrypted"].get("error"):
                res["warn"].append(f"tshark decrypted {len(fin)} Finished messages: tshark 4.0 fails DTLS 1.2 "
                                   "ChaCha20-Poly1305 (auth tag mismatch) although verify.py's own RFC 7905 "
                                   "decryption of the same records succeeds")
            else:
                fail(f"tshark decrypted {len(fin)} Finished messages with the key log (expected 2)")
        # without the key log the Finished must stay opaque (proves the key log is what decrypts)
        nokey = subprocess.run(["tshark", "-n", "-r", base + ".pcap", "-o", "sdp.establish_conversation:FALSE", "-o", "tls.keylog_file:",
                                "-Y", "dtls.handshake.type == 20"],
                               capture_output=True, text=True).stdout.count("\n")
        res["tshark"]["finished_without_keylog"] = nokey
    else:
        res["warn"].append("tshark not found: skipped the tshark check")
    res["meta"] = meta
    return res


def facts(res):
    m, media = res["meta"], res.get("media", {})
    L = [f"# {res['name']}: facts (written by tools/verify.py --facts from the pcap, the key log and the",
         "# stacks' printed output; every value below was checked, see README.md)",
         f"scenario: {res['name']}",
         f"dtls_client (A): {res['client']}   stack: {m.get('client_stack')}",
         f"dtls_server (B): {res['server']}   stack: {m.get('server_stack')}",
         f"dtls_version: {res['version']}",
         f"cipher_suite: {res['suite']}",
         f"extended_master_secret: {'yes' if res['extended_master_secret'] else 'no'}",
         f"hello_verify_request (cookie exchange): {'yes' if res['hello_verify_request'] else 'no'}",
         f"srtp_profiles_offered_by_client: {', '.join(res['srtp_offered'])}",
         f"srtp_profile_selected: {res['profile']}   mki: {res['mki'] or 'none'}",
         f"keylog_labels: {', '.join(res['keylog_labels'])}",
         f"exporter_label: EXTRACTOR-dtls_srtp   length: {len(res['keying_material']) // 2}   prf_hash: {res['prf_hash']}",
         f"keying_material: {res['keying_material']}",
         f"  client_write_SRTP_master_key: {res['keys']['client_write_key']}",
         f"  server_write_SRTP_master_key: {res['keys']['server_write_key']}",
         f"  client_write_SRTP_master_salt: {res['keys']['client_write_salt']}",
         f"  server_write_SRTP_master_salt: {res['keys']['server_write_salt']}",
         f"keying_material_equals_stack_output: {res['exporter_matches_stack']}",
         f"client_cert_sha256 (in DTLS): {res['cert_fp'].get('client')}",
         f"server_cert_sha256 (in DTLS): {res['cert_fp'].get('server')}",
         f"sdp_offer  (INVITE, a=setup:{res['sdp_setup']['offer']}) fingerprint sha-256: {res['sdp_fp']['offer']}"
         f"   matches client cert: {res['fp_match']['client']}",
         f"sdp_answer (200 OK, a=setup:{res['sdp_setup']['answer']}) fingerprint sha-256: {res['sdp_fp']['answer']}"
         f"   matches server cert: {res['fp_match']['server']}"]
    if m.get("note"):
        L.append(f"note: {m['note']}")
    L.append(f"sip_messages: {' | '.join(res['sip'])}")
    L.append(f"dtls_records: {', '.join(f'{k}: {v}' for k, v in res['records'].items())}")
    for d, st in media.items():
        L.append(f"media {d}: srtp_packets={st['rtp']} srtcp_packets={st['rtcp']} ssrc={st['ssrc']} pt={st['pt']} "
                 f"first_seq={st['first_seq']} last_seq={st['last_seq']} seq_wraps={st['wraps']} "
                 f"dtls_datagrams={st['dtls']} decrypt_failures={st['rtp_fail'] + st['rtcp_fail']} "
                 f"correlation_with_wav={st['corr']:.4f} best_lag={st['best_lag']} (control, vs the other direction's wav: {st['corr_control']:.4f})")
    L.append(f"audio: A->B {res['name']}.wav (sweep 300-3300 Hz), B->A {res['name']}.b2a.wav (697+1209 Hz); 8 kHz mono s16, 3 s")
    dd = res.get("dtls_decrypted", {})
    L.append(f"dtls_records_decrypted_by_verify.py: finished={dd.get('finished')} alerts={','.join(dd.get('alerts', [])) or 'none'} "
             f"other={','.join(dd.get('other', [])) or 'none'} failed={dd.get('failed')}")
    if "tshark" in res:
        t = res["tshark"]
        L.append(f"tshark_with_keylog: dtls_frames={t['dtls_frames']} finished_decrypted={t['finished_decrypted']} "
                 f"close_notify_decrypted={t['close_notify_decrypted']} (with -o sdp.establish_conversation:FALSE; "
                 f"with default prefs finished_decrypted={t['finished_decrypted_default_prefs']}; without key log: {t['finished_without_keylog']})")
    L.append(f"pcap_frames: {res['frames']}")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--facts", action="store_true", help="write captures/NAME.txt")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    names = a.names or sorted(f[:-5] for f in os.listdir(CAP) if f.endswith(".pcap"))
    bad = 0
    for n in names:
        try:
            r = analyse(n)
        except Exception as e:  # noqa: BLE001
            import traceback; traceback.print_exc()
            r = {"name": n, "fail": [f"exception: {e}"], "warn": []}
        if a.json:
            print(json.dumps({k: v for k, v in r.items() if k != "meta"}, default=str, indent=1))
        ok = not r["fail"]
        bad += not ok
        line = f"{'PASS' if ok else 'FAIL'} {n}"
        if "media" in r:
            line += f": {r.get('version')} {r.get('profile')} {r.get('suite')}; " + "; ".join(
                f"{d} {st.get('rtp', 0)} SRTP + {st.get('rtcp', 0)} SRTCP corr={st.get('corr', 0):.4f} (control {st.get('corr_control', 0):+.3f})" for d, st in r["media"].items())
            line += f"; exporter==stack: {r.get('exporter_matches_stack')}; fp match: {r.get('fp_match')}"
            if "tshark" in r:
                line += f"; tshark Finished decrypted: {r['tshark']['finished_decrypted']}"
        print(line)
        for f in r["fail"]:
            print(f"   FAIL: {f}")
        for w in r["warn"]:
            print(f"   warn: {w}")
        if a.facts and "media" in r:
            open(os.path.join(CAP, n + ".txt"), "w").write(facts(r))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
