#!/usr/bin/env python3
"""Recompute kamailio topoh's masked Call-ID (mask_callid=1) from the original Call-ID.

    topoh_mask.py KEY [PREFIX] < call-ids.txt   # one Call-ID a line -> one masked Call-ID a line

topoh (src/modules/topoh/th_mask.c, kamailio 5.x) encodes the Call-ID with base64 over an
alphabet shuffled by the mask_key (MD5 of key+key and the CRC-CCITT of the key drive a
Fisher-Yates style shuffle), '*' as the padding character, and prepends callid_prefix
(default "!!:"). Used by make-b2bua.sh only as a cross-check of the ground truth.
"""
import hashlib
import struct
import sys

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
PAD = "*"


def _ccitt_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        tab.append(c)
    return tab


def crcitt(data: bytes) -> int:
    tab = _ccitt_table()
    c = 0xFFFF
    for b in data:
        c = tab[(c ^ b) & 0xFF] ^ (c >> 8)
    return ~c & 0xFFFF


def table(key: bytes) -> str:
    t = list(ALPHABET)
    md5i = struct.unpack("<4I", hashlib.md5(key + key).digest())
    crc = crcitt(key)
    n = len(key)
    for last in range(64, 1, -1):
        k = crc + last + n
        r = ((md5i[k % 4] + key[k % n]) & 0xFFFFFFFF) % last
        t[r], t[last - 1] = t[last - 1], t[r]
    return "".join(t)


def encode(data: bytes, tab: str, prefix: str) -> str:
    out = [prefix]
    for i in range(0, len(data), 3):
        chunk = data[i:i + 3]
        block = 0
        for j, b in enumerate(chunk):
            block |= b << (16 - 8 * j)
        out.append(tab[(block >> 18) & 0x3F])
        out.append(tab[(block >> 12) & 0x3F])
        out.append(tab[(block >> 6) & 0x3F] if len(chunk) > 1 else PAD)
        out.append(tab[block & 0x3F] if len(chunk) > 2 else PAD)
    return "".join(out)


def main():
    key = sys.argv[1].encode()
    prefix = sys.argv[2] if len(sys.argv) > 2 else "!!:"
    tab = table(key)
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line:
            print(encode(line.encode(), tab, prefix))


if __name__ == "__main__":
    main()
