#!/usr/bin/env python3
"""Decode (without verifying) every Identity header of the SIP requests in PCAP, via tshark:
frame, call_id, ppt, attest, orig, dest, div, age = frame time - iat (seconds), origid, x5u.
Undecodable tokens print `malformed`. stdlib only.

usage: decode_tokens.py PCAP
"""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the sample folder
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jws_es256 import b64url_decode  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run(["tshark", "-r", sys.argv[1], "-Y", "sip.Identity", "-T", "json", "-e", "frame.number",
                          "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.Identity"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True).stdout
    print("frame\tcall_id\tppt\tattest\torig\tdest\tdiv\tage_s\torigid\tx5u")
    for pkt in json.loads(out or b"[]"):
        l = pkt["_source"]["layers"]
        frame, t, cid = l["frame.number"][0], float(l["frame.time_epoch"][0]), l["sip.Call-ID"][0]
        for value in l.get("sip.Identity", []):
            token = value.split(";", 1)[0].strip()
            try:
                h, c, _ = token.split(".")
                h, c = json.loads(b64url_decode(h)), json.loads(b64url_decode(c))
            except ValueError:
                print(f"{frame}\t{cid}\tmalformed")
                continue
            tn = lambda v: ",".join(v["tn"]) if isinstance(v.get("tn"), list) else v.get("tn", "")  # noqa: E731
            print("\t".join(str(x) for x in [
                frame, cid, h.get("ppt", ""), c.get("attest", "-"), tn(c.get("orig", {})), tn(c.get("dest", {})),
                tn(c.get("div", {})) or "-", f"{t - c['iat']:.1f}", c.get("origid", "-"), h.get("x5u", "")]))


if __name__ == "__main__":
    main()
