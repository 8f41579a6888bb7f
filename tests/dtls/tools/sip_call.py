#!/usr/bin/env python3
"""Minimal plain-UDP SIP signalling for a DTLS-SRTP call (RFC 5763 style), with plain sockets.

  uas          : B. Waits for an INVITE, answers 100 Trying + 200 OK with an SDP answer
                 (a=setup:passive, a=fingerprint of B's certificate), takes the ACK, then waits
                 for a BYE and answers 200 OK. Exits after the BYE (or after --timeout).
  uac-invite   : A. Sends an INVITE with an SDP offer (a=setup:actpass, a=fingerprint of A's
                 certificate), waits for the 200 OK, sends the ACK, writes the dialog state to
                 --state and exits.
  uac-bye      : A. Reads --state, sends a BYE in that dialog and waits for the 200 OK.

Everything (Call-ID, tags, branches, o= session ids) is derived from --call so that reruns of
a scenario produce the same SIP text apart from the fingerprints. Prints each message it sends
and receives on stderr. Bounded by --timeout."""
import argparse, hashlib, json, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("role", choices=["uas", "uac-invite", "uac-bye"])
ap.add_argument("--local", required=True, help="SIP ip:port of this side")
ap.add_argument("--remote", help="SIP ip:port of the peer (uac)")
ap.add_argument("--media-port", type=int, help="this side's m=audio port (DTLS and SRTP)")
ap.add_argument("--fingerprint", help="'sha-256 AB:CD:..' for this side's a=fingerprint")
ap.add_argument("--call", default="dtls", help="seed for Call-ID/tags/branches")
ap.add_argument("--state", help="dialog state file (uac)")
ap.add_argument("--timeout", type=float, default=30)
a = ap.parse_args()

lh, lp = a.local.rsplit(":", 1)
lp = int(lp)


def h(s, n=10):
    return hashlib.sha256((a.call + "/" + s).encode()).hexdigest()[:n]


def log(direction, data):
    first = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print(f"sip {a.role}: {direction} {first} ({len(data)} bytes)", file=sys.stderr)


def sdp(user, ip, port, setup, fp):
    sess = int(h("sess-" + user, 8), 16) & 0x7FFFFFFF
    return (f"v=0\r\no={user} {sess} {sess} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} UDP/TLS/RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
            f"a=rtcp-mux\r\na=sendrecv\r\na=setup:{setup}\r\na=connection:new\r\n"
            f"a=fingerprint:{fp}\r\n")


def msg(start, headers, body=""):
    hs = "".join(f"{k}: {v}\r\n" for k, v in headers)
    if body:
        hs += "Content-Type: application/sdp\r\n"
    hs += f"Content-Length: {len(body.encode())}\r\n"
    return (start + "\r\n" + hs + "\r\n" + body).encode()


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    return lines[0], hdrs, body


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((lh, lp))
deadline = time.time() + a.timeout


def recv():
    while True:
        left = deadline - time.time()
        if left <= 0:
            sys.exit(f"sip {a.role}: timeout")
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        log("<-", data)
        return data, addr


def send(data, addr):
    log("->", data)
    sock.sendto(data, addr)


if a.role == "uas":
    dialog = None
    while True:
        data, addr = recv()
        start, hd, body = parse(data)
        method = start.split(" ", 1)[0]
        common = [("Via", hd["via"]), ("From", hd["from"]), ("To", hd["to"] if "tag=" in hd["to"] else hd["to"] + ";tag=" + h("b-tag")),
                  ("Call-ID", hd["call-id"]), ("CSeq", hd["cseq"])]
        if method == "INVITE":
            send(msg("SIP/2.0 100 Trying", [c if c[0] != "To" else ("To", hd["to"]) for c in common]), addr)
            body = sdp("bob", lh, a.media_port, "passive", a.fingerprint)
            send(msg("SIP/2.0 200 OK", common + [("Contact", f"<sip:bob@{lh}:{lp}>"),
                                                 ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"),
                                                 ("Server", "earshot-dtls-test-uas")], body), addr)
        elif method == "ACK":
            dialog = hd["call-id"]
        elif method == "BYE":
            send(msg("SIP/2.0 200 OK", common + [("Server", "earshot-dtls-test-uas")]), addr)
            break
        elif method != "SIP/2.0":
            send(msg("SIP/2.0 405 Method Not Allowed", common), addr)
    sys.exit(0)

rh, rp = a.remote.rsplit(":", 1)
remote = (rh, int(rp))
if a.role == "uac-invite":
    call_id = h("call-id", 20) + "@" + lh
    from_ = f"\"Alice\" <sip:alice@{lh}>;tag={h('a-tag')}"
    to = f"<sip:bob@{rh}>"
    via = f"SIP/2.0/UDP {lh}:{lp};branch=z9hG4bK{h('br-invite')};rport"
    body = sdp("alice", lh, a.media_port, "actpass", a.fingerprint)
    inv = msg(f"INVITE sip:bob@{rh}:{rp} SIP/2.0",
              [("Via", via), ("Max-Forwards", "70"), ("From", from_), ("To", to), ("Call-ID", call_id),
               ("CSeq", "1 INVITE"), ("Contact", f"<sip:alice@{lh}:{lp}>"),
               ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"), ("User-Agent", "earshot-dtls-test-uac")], body)
    send(inv, remote)
    while True:
        data, addr = recv()
        start, hd, _ = parse(data)
        code = int(start.split(" ")[1])
        if code >= 200:
            break
    if code != 200:
        sys.exit(f"sip uac: INVITE failed: {start}")
    to_full = hd["to"]
    contact = hd.get("contact", f"<sip:bob@{rh}:{rp}>").strip("<>")
    ack_via = f"SIP/2.0/UDP {lh}:{lp};branch=z9hG4bK{h('br-ack')};rport"
    send(msg(f"ACK {contact} SIP/2.0",
             [("Via", ack_via), ("Max-Forwards", "70"), ("From", from_), ("To", to_full),
              ("Call-ID", call_id), ("CSeq", "1 ACK")]), remote)
    json.dump({"call_id": call_id, "from": from_, "to": to_full, "contact": contact}, open(a.state, "w"))
    sys.exit(0)

if a.role == "uac-bye":
    st = json.load(open(a.state))
    via = f"SIP/2.0/UDP {lh}:{lp};branch=z9hG4bK{h('br-bye')};rport"
    send(msg(f"BYE {st['contact']} SIP/2.0",
             [("Via", via), ("Max-Forwards", "70"), ("From", st["from"]), ("To", st["to"]),
              ("Call-ID", st["call_id"]), ("CSeq", "2 BYE"), ("User-Agent", "earshot-dtls-test-uac")]), remote)
    while True:
        data, _ = recv()
        start, hd, _ = parse(data)
        if hd.get("cseq", "").endswith("BYE") and int(start.split(" ")[1]) >= 200:
            break
    sys.exit(0 if start.split(" ")[1] == "200" else 1)
