#!/usr/bin/env python3
"""Independent signature oracle for the Identity headers of a capture.

For every Identity header of every SIP request in PCAP (extracted with tshark), find the
certificate file for its x5u in CERTS (same naming rule Earshot uses), take the leaf's public
key with `openssl x509 -pubkey`, rebuild the DER signature from the JWS r||s and run
`openssl dgst -sha256 -verify pub.pem -signature sig.der` over `b64header.b64claims`.

Prints one line per header: call_id <TAB> ppt <TAB> verified|failed|no-certificate|malformed
It checks the signature only: not the chain, the validity dates, iat, TNAuthList or replays.

Certificate naming rule, for x5u URL U, in this order:
  (a) lowercase hex SHA-256 of the URL bytes, then optional .pem .der .cer .crt
  (b) U with every byte outside [A-Za-z0-9.-] replaced by '_', then the same optional extensions
File content: PEM (the first certificate is the leaf) or DER of the leaf.

usage: verify_tokens.py PCAP CERTS_DIR
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the sample folder
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jws_es256 import b64url_decode, raw_to_der  # noqa: E402

EXTS = ["", ".pem", ".der", ".cer", ".crt"]


def cert_file(certs: str, url: str):
    names = [hashlib.sha256(url.encode("utf-8")).hexdigest(),
             re.sub(rb"[^A-Za-z0-9.-]", b"_", url.encode("utf-8")).decode("ascii")]
    for base in names:
        for ext in EXTS:
            p = os.path.join(certs, base + ext)
            if os.path.isfile(p):
                return p
    return None


def identities(pcap: str):
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "sip.Identity", "-T", "json",
                          "-e", "frame.number", "-e", "sip.Call-ID", "-e", "sip.Identity"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True).stdout
    seen = set()
    for pkt in json.loads(out or b"[]"):
        layers = pkt["_source"]["layers"]
        call_id = layers.get("sip.Call-ID", ["?"])[0]
        for value in layers.get("sip.Identity", []):
            if (call_id, value) in seen:  # a retransmitted request
                continue
            seen.add((call_id, value))
            yield call_id, value


def check(value: str, certs: str, tmp: str):
    """-> (ppt, verdict)"""
    token, _, params = value.strip().partition(";")
    pmap = {}
    for p in params.split(";"):
        k, _, v = p.strip().partition("=")
        pmap[k.strip().lower()] = v.strip()
    ppt = pmap.get("ppt", "-")
    parts = token.strip().split(".")
    if len(parts) != 3:
        return ppt, "malformed"
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        raw = b64url_decode(parts[2])
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("not a JSON object")
        der = raw_to_der(raw)
    except (ValueError, UnicodeDecodeError):
        return ppt, "malformed"
    ppt = header.get("ppt", ppt)
    if header.get("alg") != "ES256":
        return ppt, "malformed"
    url = header.get("x5u") or pmap.get("info", "").strip("<>")
    path = cert_file(certs, url) if url else None
    if path is None:
        return ppt, "no-certificate"
    with open(path, "rb") as f:
        form = "PEM" if f.read(64).lstrip().startswith(b"-----BEGIN") else "DER"
    pub = os.path.join(tmp, "pub.pem")
    r = subprocess.run(["openssl", "x509", "-inform", form, "-in", path, "-noout", "-pubkey", "-out", pub],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=False)
    if r.returncode != 0:
        return ppt, "no-certificate"
    sig, data = os.path.join(tmp, "sig.der"), os.path.join(tmp, "signed.txt")
    with open(sig, "wb") as f:
        f.write(der)
    with open(data, "wb") as f:
        f.write(f"{parts[0]}.{parts[1]}".encode("ascii"))
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=False)
    return ppt, "verified" if r.returncode == 0 and b"Verified OK" in r.stdout else "failed"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pcap, certs = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        for call_id, value in identities(pcap):
            ppt, verdict = check(value, certs, tmp)
            print(f"{call_id}\t{ppt}\t{verdict}")


if __name__ == "__main__":
    main()
