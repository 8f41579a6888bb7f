#!/usr/bin/env python3
"""TCP -> TLS client relay for the SIP-over-TLS captures in tests/tls/.

SIPp (Debian's build has no TLS) speaks SIP over plain TCP to this relay on the phone's
loopback; for every TCP connection SIPp opens, the relay opens one TLS connection to the
server with a REAL TLS client stack and pumps bytes both ways:

  --stack python   Python ssl (OpenSSL 3.0), key log via SSLContext.keylog_filename
  --stack gnutls   gnutls-cli (GnuTLS 3.7), key log via the SSLKEYLOGFILE environment variable
  --stack openssl  openssl s_client (OpenSSL 3.0), key log via -keylogfile

Secrets are written by the stack itself in NSS key log format; the relay never touches them.
When SIPp closes its socket the relay closes the TLS connection (close_notify + FIN).

--rekey PATTERN=CMD (gnutls only, repeatable): the first time a server->client chunk contains
PATTERN, write the gnutls-cli inline command ^CMD^ (rekey = TLS 1.3 KeyUpdate with
update_requested, rekey1 = local KeyUpdate only) on a line by itself.
--resume (python only): every connection after the first offers the previous TLS session.
"""
import argparse, os, re, select, socket, ssl, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", default="127.0.0.1:5080")
ap.add_argument("--to", required=True, help="host:port of the TLS server")
ap.add_argument("--keylog", required=True)
ap.add_argument("--stack", choices=["python", "gnutls", "openssl"], default="python")
ap.add_argument("--tls-version", choices=["1.0", "1.1", "1.2", "1.3", "any"], default="any")
ap.add_argument("--ciphers", help="python/openssl: OpenSSL cipher list for TLS <= 1.2")
ap.add_argument("--ciphersuites", help="openssl: TLS 1.3 ciphersuites")
ap.add_argument("--priority", help="gnutls: full priority string (overrides --tls-version)")
ap.add_argument("--no-etm", action="store_true", help="disable encrypt-then-MAC")
ap.add_argument("--no-ems", action="store_true", help="disable extended master secret")
ap.add_argument("--sni", default="pbx.example.test")
ap.add_argument("--resume", action="store_true")
ap.add_argument("--no-ticket", action="store_true", help="python: no session tickets (session-ID resumption)")
ap.add_argument("--rekey", action="append", default=[], metavar="PATTERN=CMD")
ap.add_argument("--hold", type=int, default=0, metavar="N",
                help="python: keep each TLS connection open after SIPp closes its side, and close "
                     "them all (in order) once N connections were served; kamailio drops a TLS session "
                     "from its cache when the connection is freed without its own close_notify, so "
                     "session-ID resumption needs the first connection still open")
ap.add_argument("--conns", type=int, default=0, help="exit after serving this many connections")
ap.add_argument("--seconds", type=float, default=30)
ap.add_argument("--log", default=None, help="informational output of the stack")
a = ap.parse_args()
lh, lp = a.listen.rsplit(":", 1)
th, tp = a.to.rsplit(":", 1)
logf = open(a.log or os.devnull, "a")

def say(*m):
    print(time.strftime("%H:%M:%S"), *m, file=logf, flush=True)

def py_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if a.tls_version in ("1.0", "1.1"):  # OpenSSL 3 also needs @SECLEVEL=0 in --ciphers
        v = ssl.TLSVersion.TLSv1 if a.tls_version == "1.0" else ssl.TLSVersion.TLSv1_1
        ctx.minimum_version = ctx.maximum_version = v
    elif a.tls_version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif a.tls_version == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if a.ciphers:
        ctx.set_ciphers(a.ciphers)
    if a.no_etm:
        ctx.options |= 1 << 19  # SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 3.0)
    if a.no_ems:
        ctx.options |= 1 << 0   # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3.0)
    if a.no_ticket:
        ctx.options |= ssl.OP_NO_TICKET
    ctx.keylog_filename = a.keylog
    return ctx

CTX = py_ctx() if a.stack == "python" else None
last_session = None

def close_quiet(s, how=socket.SHUT_RDWR):
    try:
        s.shutdown(how)
    except OSError:
        pass

def serve_python(c):
    global last_session
    raw = socket.create_connection((th, int(tp)), timeout=10)
    up = CTX.wrap_socket(raw, server_hostname=a.sni,
                         session=last_session if a.resume else None)
    say("python: %s %s resumed=%s" % (up.version(), up.cipher()[0], up.session_reused))
    up.settimeout(None)

    def c2s():
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                up.sendall(b)
        except OSError:
            pass
    t = threading.Thread(target=c2s, daemon=True)
    t.start()
    # server -> client on this thread; ends when SIPp closed (c2s done) or server closed
    up.settimeout(0.2)
    while True:
        try:
            b = up.recv(65536)
            if not b:
                break
            c.sendall(b)
        except (socket.timeout, ssl.SSLWantReadError):
            if not t.is_alive():
                break
        except OSError:
            break
    if a.resume:
        last_session = up.session
    close_quiet(c)
    c.close()
    if a.hold:
        HELD.append(up)
        if len(HELD) < a.hold:
            return
    for u in HELD or [up]:
        time.sleep(0.5)
        close_tls(u)

HELD = []

def close_tls(up):
    try:
        up.settimeout(2)
        up.unwrap()            # close_notify
    except (OSError, ValueError, ssl.SSLError):
        pass
    close_quiet(up)
    up.close()

def stack_cmd():
    env = dict(os.environ)
    if a.stack == "gnutls":
        prio = a.priority or {"1.0": "NORMAL:-VERS-ALL:+VERS-TLS1.0",
                              "1.1": "NORMAL:-VERS-ALL:+VERS-TLS1.1",
                              "1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2",
                              "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3",
                              "any": "NORMAL"}[a.tls_version]
        if a.no_etm:
            prio += ":%NO_ETM"
        if a.no_ems:
            prio += ":%NO_SESSION_HASH"
        cmd = ["gnutls-cli", "--insecure", "--priority", prio, "--sni-hostname", a.sni,
               "--logfile", a.log or os.devnull, "-p", tp, th]
        if a.rekey:
            cmd.insert(1, "--inline-commands")
        env["SSLKEYLOGFILE"] = a.keylog
    else:
        cmd = ["openssl", "s_client", "-connect", "%s:%s" % (th, tp), "-servername", a.sni,
               "-keylogfile", a.keylog, "-quiet", "-no_ign_eof", "-nocommands"]
        if a.tls_version == "1.0":
            cmd.append("-tls1")     # OpenSSL 3 also needs @SECLEVEL=0 in --ciphers
        elif a.tls_version == "1.1":
            cmd.append("-tls1_1")
        elif a.tls_version == "1.2":
            cmd.append("-tls1_2")
        elif a.tls_version == "1.3":
            cmd.append("-tls1_3")
        if a.ciphers:
            cmd += ["-cipher", a.ciphers]
        if a.ciphersuites:
            cmd += ["-ciphersuites", a.ciphersuites]
        if a.no_etm:
            cmd.append("-no_etm")
        if a.no_ems:
            sys.exit("openssl s_client 3.0 has no -no_ems; use --stack gnutls or python")
    return cmd, env

def serve_proc(c):
    cmd, env = stack_cmd()
    say("exec:", " ".join(cmd))
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=logf, env=env, bufsize=0)
    rekeys = []
    for r in a.rekey:
        pat, cmd_ = r.rsplit("=", 1)
        rekeys.append([pat.encode(), cmd_, False])
    lock = threading.Lock()

    def c2s():
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                with lock:
                    p.stdin.write(b)
        except OSError:
            pass
        try:
            p.stdin.close()    # EOF: the stack sends close_notify and closes
        except OSError:
            pass
    t = threading.Thread(target=c2s, daemon=True)
    t.start()
    fd = p.stdout.fileno()
    tail = b""   # the stack's output may split a pattern across reads
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        c.sendall(b)
        win, tail = tail + b, (tail + b)[-256:]
        for rk in rekeys:
            if not rk[2] and rk[0] in win:
                rk[2] = True
                time.sleep(0.3)
                tail = b""
                say("inline command ^%s^" % rk[1])
                with lock:
                    p.stdin.write(b"^%s^\n" % rk[1].encode())
                time.sleep(0.3)
    p.wait(timeout=10)
    close_quiet(c)
    c.close()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((lh, int(lp)))
srv.listen(4)
srv.settimeout(0.5)
end = time.time() + a.seconds
served = 0
while time.time() < end and not (a.conns and served >= a.conns):
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    c.settimeout(None)
    # connections are served one after another (SIPp opens them sequentially)
    (serve_python if a.stack == "python" else serve_proc)(c)
    served += 1
