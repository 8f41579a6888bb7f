#!/usr/bin/env python3
"""Build a PASSporT (RFC 8225) for SHAKEN (RFC 8588) or div (RFC 8946), sign it with
`openssl dgst -sha256 -sign KEY`, and print the SIP Identity header value (RFC 8224):

    <b64url header>.<b64url claims>.<b64url r||s>;info=<x5u>;alg=ES256;ppt=shaken|div

Header and claims are compact JSON with sorted keys (RFC 8225 section 9). The DER signature
that OpenSSL writes is converted to the 64-byte JWS form r||s (RFC 7518 section 3.4).
stdlib only; the signature itself is made by the openssl binary.

  passport.py --key K --x5u URL --attest A --orig 12025550101 --dest 12025550199
  passport.py --ppt div --key K --x5u URL --orig 12025550108 --div 12025550199 --dest 12025550177
  --iat T          issued-at (default: now)
  --origid UUID    (shaken; default: a fresh uuid4)
  --tamper-attest X  after signing, replace the claims part by the same claims with
                   "attest": X (re-encoded), keeping the signature: a forged token
  --show           also print the decoded header and claims to stderr
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the sample folder
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jws_es256 import b64url_encode, der_to_raw  # noqa: E402


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")


def openssl_sign(key: str, data: bytes) -> bytes:
    res = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=False)
    if res.returncode != 0:
        sys.exit(f"openssl dgst -sign failed: {res.stderr.decode(errors='replace')}")
    return res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ppt", choices=["shaken", "div"], default="shaken")
    ap.add_argument("--key", required=True, help="EC P-256 private key (PEM) of the signing certificate")
    ap.add_argument("--x5u", required=True, help="URL of the signing certificate")
    ap.add_argument("--attest", choices=["A", "B", "C"], help="shaken attestation level")
    ap.add_argument("--orig", required=True, help="originating TN (no '+')")
    ap.add_argument("--dest", required=True, action="append", help="destination TN (repeatable)")
    ap.add_argument("--div", help="div: the TN the call was diverted from")
    ap.add_argument("--iat", type=int, default=None)
    ap.add_argument("--origid", default=None)
    ap.add_argument("--tamper-attest", choices=["A", "B", "C"], default=None)
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args()

    iat = a.iat if a.iat is not None else int(time.time())
    header = {"alg": "ES256", "ppt": a.ppt, "typ": "passport", "x5u": a.x5u}
    claims = {"dest": {"tn": a.dest}, "iat": iat, "orig": {"tn": a.orig}}
    if a.ppt == "shaken":
        if not a.attest:
            ap.error("--attest is required for ppt=shaken")
        claims["attest"] = a.attest
        claims["origid"] = a.origid or str(uuid.uuid4())
    else:
        if not a.div:
            ap.error("--div is required for ppt=div")
        claims["div"] = {"tn": a.div}

    signing_input = b64url_encode(compact(header)) + "." + b64url_encode(compact(claims))
    raw = der_to_raw(openssl_sign(a.key, signing_input.encode("ascii")))
    if a.tamper_attest:
        claims["attest"] = a.tamper_attest
        signing_input = b64url_encode(compact(header)) + "." + b64url_encode(compact(claims))
    if a.show:
        print(compact(header).decode(), file=sys.stderr)
        print(compact(claims).decode(), file=sys.stderr)
    print(f"{signing_input}.{b64url_encode(raw)};info=<{a.x5u}>;alg=ES256;ppt={a.ppt}")


if __name__ == "__main__":
    main()
