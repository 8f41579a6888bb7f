"""G.711 mu-law encode/decode (ITU-T G.711, same as Sun's g711.c), pure Python (no audioop,
which Python 3.13 removed)."""

BIAS, CLIP = 0x84, 32635


def lin2ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), CLIP) + BIAS
    exp = 7
    while exp > 0 and not sample & (0x4000 >> (7 - exp)):
        exp -= 1
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def ulaw2lin(u: int) -> int:
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + BIAS
    t <<= (u & 0x70) >> 4
    return (BIAS - t) if u & 0x80 else (t - BIAS)


DEC = [ulaw2lin(i) for i in range(256)]


def encode(samples):
    return bytes(lin2ulaw(s) for s in samples)


def decode(data):
    return [DEC[b] for b in data]
