"""Small stdlib helpers shared by passport.py and verify_tokens.py.

base64url without padding (RFC 7515 section 2) and the conversion between an ECDSA
signature as OpenSSL writes it (DER SEQUENCE { INTEGER r, INTEGER s }) and the JWS ES256
form (RFC 7518 section 3.4: r || s, each left-padded to 32 bytes).
"""

import base64
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: only the base64url alphabet, no padding, no length that cannot occur."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _der_len(data: bytes, pos: int):
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    n = first & 0x7F
    if n == 0 or n > 2:
        raise ValueError("bad DER length")
    return int.from_bytes(data[pos:pos + n], "big"), pos + n


def der_to_raw(der: bytes, size: int = 32) -> bytes:
    """DER ECDSA-Sig-Value -> r || s (each `size` bytes, big-endian, left-padded)."""
    if not der or der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    seq_len, pos = _der_len(der, 1)
    if pos + seq_len != len(der):
        raise ValueError("trailing bytes after the DER signature")
    out = b""
    for _ in range(2):
        if der[pos] != 0x02:
            raise ValueError("expected DER INTEGER")
        n, pos = _der_len(der, pos + 1)
        value = int.from_bytes(der[pos:pos + n], "big")
        pos += n
        out += value.to_bytes(size, "big")
    if pos != len(der):
        raise ValueError("trailing bytes inside the DER signature")
    return out


def _der_int(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")  # leading 0x00 if the top bit is set
    return b"\x02" + _der_encode_len(len(body)) + body


def _der_encode_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def raw_to_der(raw: bytes) -> bytes:
    """r || s (64 bytes for ES256) -> DER ECDSA-Sig-Value, as `openssl dgst -verify` wants it."""
    if len(raw) != 64:
        raise ValueError(f"ES256 signature must be 64 bytes, got {len(raw)}")
    body = _der_int(int.from_bytes(raw[:32], "big")) + _der_int(int.from_bytes(raw[32:], "big"))
    return b"\x30" + _der_encode_len(len(body)) + body
