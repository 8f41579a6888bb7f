#!/usr/bin/env python3
"""The MGCP/NCS call flow of sample-captures/mgcp-call, written as one SIPp scenario per sender.

Every message is sent by SIPp (raw UDP `<send>`, `<setdest>` to pick the peer, `<pause>` to keep the
order): the call agent 127.0.0.1:2727 and two residential gateways 127.0.0.2:2427 (gw1, the caller's
line) and 127.0.0.3:2427 (gw2, the callee's line). The three SIPp instances start together; messages
are 200 ms apart, so their order on the wire is the order below.

Usage: flow.py OUTDIR  -> OUTDIR/{ca,gw1,gw2}.xml, OUTDIR/fields.csv (SIPp -inf) and OUTDIR/rtp_at_ms\n(when the media starts).
"""
import os
import sys

CA = ("127.0.0.1", 2727)
GW1 = ("127.0.0.2", 2427)
GW2 = ("127.0.0.3", 2427)
EP1 = "aaln/1@gw1.example.net"
EP2 = "aaln/1@gw2.example.net"
CALL = "A3C47F21456789F0"
STEP_MS = 200
RTP_MS = 3000  # media between answer and hang-up

SDP1 = """v=0
o=- 25678 753849 IN IP4 127.0.0.2
s=-
c=IN IP4 127.0.0.2
t=0 0
m=audio 4000 RTP/AVP 0
a=ptime:20"""
SDP2 = SDP1.replace("127.0.0.2", "127.0.0.3").replace("4000", "5000").replace("25678", "32899")

# (sender, receiver, text); "RTP" marks where the media runs.
FLOW = [
    (GW1, CA, f"RSIP 3001 {EP1} MGCP 1.0 NCS 1.0\nRM: restart"),
    (CA, GW1, "200 3001 OK"),
    (CA, GW1, f"RQNT 1001 {EP1} MGCP 1.0 NCS 1.0\nN: ca@ca.example.net:2727\nX: 0123456789AA\nR: L/hd(N)"),
    (GW1, CA, "200 1001 OK"),
    (GW1, CA, f"NTFY 3002 {EP1} MGCP 1.0 NCS 1.0\nN: ca@ca.example.net:2727\nX: 0123456789AA\nO: L/hd"),
    (CA, GW1, "200 3002 OK"),
    (CA, GW1, f"RQNT 1002 {EP1} MGCP 1.0 NCS 1.0\nX: 0123456789AB\nR: L/hu(N), [field0]\nS: L/dl\nD: [field1]"),
    (GW1, CA, "200 1002 OK"),
    (GW1, CA, f"NTFY 3003 {EP1} MGCP 1.0 NCS 1.0\nX: 0123456789AB\nO: 5,5,5,0,1,2,3"),
    (CA, GW1, "200 3003 OK"),
    (CA, GW1, f"CRCX 1003 {EP1} MGCP 1.0 NCS 1.0\nC: {CALL}\nL: p:20, a:PCMU\nM: recvonly\nX: 0123456789AC\nR: L/hu(N)"),
    (GW1, CA, f"200 1003 OK\nI: FDE234C8\n\n{SDP1}"),
    (CA, GW2, f"CRCX 1004 {EP2} MGCP 1.0 NCS 1.0\nC: {CALL}\nL: p:20, a:PCMU\nM: sendrecv\nX: 0123456789B0\nR: L/hd(N)\nS: L/rg, L/ci(12/07/22/30,\"5550123\",\"Alice Example\")\n\n{SDP1}"),
    # The same command again, unchanged: a retransmission (the response was slow).
    (CA, GW2, f"CRCX 1004 {EP2} MGCP 1.0 NCS 1.0\nC: {CALL}\nL: p:20, a:PCMU\nM: sendrecv\nX: 0123456789B0\nR: L/hd(N)\nS: L/rg, L/ci(12/07/22/30,\"5550123\",\"Alice Example\")\n\n{SDP1}"),
    (GW2, CA, f"200 1004 OK\nI: 32F345E2\n\n{SDP2}"),
    (CA, GW1, f"MDCX 1005 {EP1} MGCP 1.0 NCS 1.0\nC: {CALL}\nI: FDE234C8\nM: recvonly\nX: 0123456789AD\nR: L/hu(N)\nS: L/rt\n\n{SDP2}"),
    (GW1, CA, "200 1005 OK"),
    (GW2, CA, f"NTFY 4001 {EP2} MGCP 1.0 NCS 1.0\nX: 0123456789B0\nO: L/hd"),
    (CA, GW2, "200 4001 OK"),
    (CA, GW1, f"MDCX 1006 {EP1} MGCP 1.0 NCS 1.0\nC: {CALL}\nI: FDE234C8\nM: sendrecv\nX: 0123456789AE\nR: L/hu(N)"),
    (GW1, CA, "200 1006 OK"),
    "RTP",
    (GW2, CA, f"NTFY 4002 {EP2} MGCP 1.0 NCS 1.0\nX: 0123456789B0\nO: L/hu"),
    (CA, GW2, "200 4002 OK"),
    (CA, GW1, f"DLCX 1007 {EP1} MGCP 1.0 NCS 1.0\nC: {CALL}\nI: FDE234C8"),
    (GW1, CA, "250 1007 OK\nP: PS=150, OS=24000, PR=150, OR=24000, PL=0, JI=1, LA=0"),
    (CA, GW2, f"DLCX 1008 {EP2} MGCP 1.0 NCS 1.0\nC: {CALL}\nI: 32F345E2"),
    (GW2, CA, "250 1008 OK\nP: PS=150, OS=24000, PR=150, OR=24000, PL=0, JI=1, LA=0"),
    (GW1, CA, f"NTFY 3004 {EP1} MGCP 1.0 NCS 1.0\nX: 0123456789AE\nO: L/hu"),
    (CA, GW1, "200 3004 OK"),
    # gw2's line goes off-hook again, dials, and hangs up before the call agent connects anything.
    (GW2, CA, f"NTFY 4003 {EP2} MGCP 1.0 NCS 1.0\nX: 0123456789B1\nO: L/hd"),
    (CA, GW2, "200 4003 OK"),
    (GW2, CA, f"NTFY 4004 {EP2} MGCP 1.0 NCS 1.0\nX: 0123456789B2\nO: 9,0,0,5,5,5"),
    (CA, GW2, "200 4004 OK"),
    (GW2, CA, f"NTFY 4005 {EP2} MGCP 1.0 NCS 1.0\nX: 0123456789B2\nO: L/hu"),
    (CA, GW2, "200 4005 OK"),
]


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    t = 0
    plan = {CA: [], GW1: [], GW2: []}
    rtp_at = None
    for step in FLOW:
        if step == "RTP":
            rtp_at = t
            t += RTP_MS
            continue
        src, dst, text = step
        plan[src].append((t, dst, text))
        t += STEP_MS
    for name, who in (("ca", CA), ("gw1", GW1), ("gw2", GW2)):
        parts = ['<?xml version="1.0" encoding="ISO-8859-1" ?>', f'<scenario name="mgcp-{name}">']
        now = 0
        # A second of grace: the three instances start within a few milliseconds of each other.
        start = 1000
        for at, dst, text in plan[who]:
            wait = start + at - now
            if wait > 0:
                parts.append(f'  <pause milliseconds="{wait}"/>')
            now = start + at
            parts.append(
                f'  <nop><action><setdest host="{dst[0]}" port="{dst[1]}" protocol="udp"/></action></nop>'
            )
            parts.append(f"  <send><![CDATA[\n{text}\n\n]]></send>")
        parts.append(f'  <pause milliseconds="{start + t - now + 500}"/>')
        parts.append("</scenario>")
        with open(os.path.join(out, f"{name}.xml"), "w") as f:
            f.write("\n".join(parts) + "\n")
    # SIPp reads `[...]` as its keywords: the digit map and the digit event, which need brackets, come
    # from an injection file (-inf), whose values are sent as they are.
    with open(os.path.join(out, "fields.csv"), "w") as f:
        f.write("SEQUENTIAL\nD/[0-9#*T](D);(0T|00T|[2-9]xxxxxx|1[2-9]xxxxxxxxx)\n")
    with open(os.path.join(out, "rtp_at_ms"), "w") as f:
        f.write(f"{1000 + rtp_at} {RTP_MS}\n")


if __name__ == "__main__":
    main()
