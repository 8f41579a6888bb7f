#!/usr/bin/env python3
"""For a capture with SDES-keyed SRTP (benign-sdes-call): reads every SDP a=crypto key with
tshark (the SDP's c= address and m= port, the master key and salt) and tries to authenticate
and decrypt, with pylibsrtp, every UDP packet sent from that address and port. Prints, per
key, how many packets it opened and the first bytes of the first decrypted payload. Proves that
the keys in the clear SDP are the ones protecting the media (tshark alone cannot decrypt SRTP).
  python3 tools/sdes_check.py corpus/benign-sdes-call.pcap"""
import subprocess, sys
import pylibsrtp

cap = sys.argv[1]
def tshark(flt, *fields):
    out = subprocess.run(["tshark", "-r", cap, "-n", "-Y", flt, "-T", "fields", "-E", "separator=/t",
                          *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    return [l.split("\t") for l in out.splitlines() if l.strip()]

PROF = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
for src, addr, port, suite, key, salt in tshark("sdp.crypto.master_key", "ip.src", "sdp.connection_info.address",
                                                "sdp.media.port", "sdp.crypto.crypto_suite",
                                                "sdp.crypto.master_key", "sdp.crypto.master_salt"):
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=bytes.fromhex(key + salt), srtp_profile=PROF,
                                            ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    pkts = tshark(f"ip.src=={addr} and udp.srcport=={port}", "udp.payload")
    ok, first = 0, None
    for (payload,) in pkts:
        try:
            plain = rx.unprotect(bytes.fromhex(payload.replace(":", "")))
        except pylibsrtp.Error:
            continue
        ok += 1
        first = first or plain
    print(f"SDP from {src}: {suite} key for {addr}:{port}: {ok} of {len(pkts)} packets from it authenticate and decrypt"
          + (f"; first plaintext RTP payload starts {first[12:20].hex()}" if first else ""))
