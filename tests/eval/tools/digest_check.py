#!/usr/bin/env python3
"""For each Authorization digest in a capture, say whether it was computed from PASSWORD
(RFC 2069 form, or RFC 2617 qop=auth when cnonce/nc are present) and what the server
answered to that request (matched by Call-ID + CSeq + order). Used to back the
accepted_passwords labels.   digest_check.py FILE.pcap USER PASSWORD"""
import hashlib, re, subprocess, sys

f, user, pw = sys.argv[1:4]
md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
out = subprocess.run(["tshark", "-r", f, "-n", "-Y", "sip and not icmp", "-T", "fields", "-E", "separator=|",
                      "-e", "frame.number", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID",
                      "-e", "sip.CSeq", "-e", "sip.Authorization"], capture_output=True, text=True).stdout
pending = {}
rows = []
for line in out.splitlines():
    fr, meth, code, cid, cseq, auth = (line.split("|") + [""] * 6)[:6]
    if meth and auth:
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
        if p.get("username") != user:
            continue
        ha1 = md5(f"{user}:{p['realm']}:{pw}")
        ha2 = md5(f"{meth}:{p['uri']}")
        ok2069 = md5(f"{ha1}:{p['nonce']}:{ha2}") == p.get("response")
        ok2617 = "cnonce" in p and md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}") == p.get("response")
        pending.setdefault((cid, cseq), []).append([fr, ok2069 or ok2617, "rfc2617" if ok2617 else "rfc2069" if ok2069 else "-", None])
    elif code:
        for r in pending.get((cid, cseq), []):
            if r[3] is None:
                r[3] = code
                break
allrows = [r for v in pending.values() for r in v]
match = [r for r in allrows if r[1]]
print(f"{len(allrows)} digests for user {user}; {len(match)} computed from the password:")
for fr, ok, form, code in match:
    print(f"  frame {fr}: {form} response, answered {code}")
