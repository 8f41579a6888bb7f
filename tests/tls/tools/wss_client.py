#!/usr/bin/env python3
"""SIP over secure WebSocket (RFC 7118) client for tests/tls/ (wss-tls13).

Python ssl (OpenSSL 3.0) TLS 1.3 client writing an NSS key log (SSLContext.keylog_filename);
HTTP/1.1 Upgrade with Sec-WebSocket-Protocol: sip; then REGISTER, OPTIONS, OPTIONS and
REGISTER (Expires: 0) in masked WebSocket text frames, each answered by kamailio; then a
WebSocket close handshake; kamailio then closes TCP (FIN) and the client follows."""
import argparse, base64, os, socket, ssl, struct, sys, time, uuid

ap = argparse.ArgumentParser()
ap.add_argument("--to", default="10.77.0.1:8443")
ap.add_argument("--keylog", required=True)
ap.add_argument("--host", default="pbx.example.test")
ap.add_argument("--alpn", default=os.environ.get("WSS_ALPN", "http/1.1"), help="ALPN offered ('' for none)")
a = ap.parse_args()
th, tp = a.to.rsplit(":", 1)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
# kamailio closes the TCP connection without close_notify after the WebSocket close; without
# this option OpenSSL 3 answers that EOF with a fatal decode_error alert
ctx.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
if a.alpn:
    ctx.set_alpn_protocols([a.alpn])
ctx.keylog_filename = a.keylog
s = ctx.wrap_socket(socket.create_connection((th, int(tp)), timeout=10), server_hostname=a.host)
print("tls:", s.version(), s.cipher()[0], "alpn:", s.selected_alpn_protocol())
lhost, lport = s.getsockname()

buf = b""

def read_more():
    global buf
    b = s.recv(65536)
    if not b:
        sys.exit("server closed")
    buf += b

key = base64.b64encode(os.urandom(16)).decode()
s.sendall((
    "GET / HTTP/1.1\r\n"
    f"Host: {a.host}:{tp}\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: sip\r\n"
    f"Origin: https://{a.host}\r\n"
    "User-Agent: EarshotWssTest\r\n\r\n").encode())
while b"\r\n\r\n" not in buf:
    read_more()
head, buf = buf.split(b"\r\n\r\n", 1)
print(head.decode().splitlines()[0])
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("no 101 Switching Protocols")

def send_frame(payload, opcode=1):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x80 | opcode])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

def recv_frame():
    global buf
    while True:
        while len(buf) < 2:
            read_more()
        op, ln = buf[0] & 0x0F, buf[1] & 0x7F
        off = 2
        if ln == 126:
            while len(buf) < 4:
                read_more()
            ln, off = struct.unpack("!H", buf[2:4])[0], 4
        elif ln == 127:
            while len(buf) < 10:
                read_more()
            ln, off = struct.unpack("!Q", buf[2:10])[0], 10
        if buf[1] & 0x80:
            off += 4   # server frames are not masked; tolerate it anyway
        while len(buf) < off + ln:
            read_more()
        payload, buf = buf[off:off + ln], buf[off + ln:]
        return op, payload

inst = uuid.uuid4()
tag = uuid.uuid4().hex[:10]
callid_reg = uuid.uuid4().hex + "@earshot.test"
via_host = "%s.invalid" % uuid.uuid4().hex[:12]
contact = f"<sip:2001@{via_host};transport=ws>;+sip.instance=\"<urn:uuid:{inst}>\""
cseq = 0

def request(method, ruri, callid, extra=""):
    global cseq
    cseq += 1
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    msg = (f"{method} {ruri} SIP/2.0\r\n"
           f"Via: SIP/2.0/WSS {via_host};branch={branch}\r\n"
           "Max-Forwards: 70\r\n"
           f"To: <sip:2001@{a.host}>\r\n"
           f"From: \"Alice\" <sip:2001@{a.host}>;tag={tag}\r\n"
           f"Call-ID: {callid}\r\n"
           f"CSeq: {cseq} {method}\r\n"
           f"{extra}"
           "User-Agent: EarshotWssTest\r\n"
           "Content-Length: 0\r\n\r\n")
    send_frame(msg.encode())
    while True:
        op, p = recv_frame()
        if op in (1, 2):
            line = p.split(b"\r\n", 1)[0].decode()
            print(method, "->", line)
            if line.startswith("SIP/2.0 ") and not line.startswith("SIP/2.0 1"):
                return line
        elif op == 8:
            sys.exit("server closed the websocket")

request("REGISTER", f"sip:{a.host}", callid_reg, f"Contact: {contact};expires=600\r\nExpires: 600\r\n")
time.sleep(0.3)
request("OPTIONS", f"sip:{a.host}", uuid.uuid4().hex + "@earshot.test", "Accept: application/sdp\r\n")
time.sleep(0.3)
request("OPTIONS", f"sip:{a.host}", uuid.uuid4().hex + "@earshot.test", "Accept: application/sdp\r\n")
time.sleep(0.3)
request("REGISTER", f"sip:{a.host}", callid_reg, f"Contact: {contact};expires=0\r\nExpires: 0\r\n")
time.sleep(0.3)
send_frame(struct.pack("!H", 1000), opcode=8)   # close, 1000 normal closure
try:
    while True:
        op, p = recv_frame()
        if op == 8:
            print("websocket closed by server too")
            break
    # RFC 6455: the server closes the TCP connection first; wait for its FIN, then close
    # (sending close_notify here would only race kamailio's close and draw an RST)
    s.settimeout(3)
    while s.recv(65536):
        pass
except (SystemExit, OSError, ssl.SSLError):
    pass
s.close()
