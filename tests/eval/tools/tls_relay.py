#!/usr/bin/env python3
"""TCP -> TLS relay used by benign-tls-call: SIPp (no TLS support in Debian's build) speaks
SIP over TCP to this relay on loopback inside its namespace; the relay carries it over TLS
1.2+ to kamailio's TLS listener. The TLS session secrets are written to KEYLOG (NSS key log
format, usable with Wireshark's tls.keylog_file). Exits after --seconds."""
import argparse, socket, ssl, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", default="127.0.0.1:5080")
ap.add_argument("--to", required=True)
ap.add_argument("--keylog", required=True)
ap.add_argument("--seconds", type=float, default=30)
a = ap.parse_args()
lh, lp = a.listen.rsplit(":", 1)
th, tp = a.to.rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = a.keylog

def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((lh, int(lp)))
srv.listen(4)
srv.settimeout(1)
end = time.time() + a.seconds
while time.time() < end:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    up = ctx.wrap_socket(socket.create_connection((th, int(tp)), timeout=10), server_hostname="pbx.example.test")
    up.settimeout(None)
    c.settimeout(None)
    threading.Thread(target=pump, args=(c, up), daemon=True).start()
    threading.Thread(target=pump, args=(up, c), daemon=True).start()
