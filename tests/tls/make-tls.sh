#!/usr/bin/env bash
# Regenerates the SIP-over-TLS test captures in tests/tls/captures/ with REAL TLS stacks:
# kamailio 5.6 (tls + websocket modules, OpenSSL 3.0) as the TLS server, and as the TLS
# client Python ssl (OpenSSL 3.0), gnutls-cli (GnuTLS 3.7) or openssl s_client (OpenSSL 3.0)
# behind tools/tls_client.py, carrying the SIP of a SIPp caller to kamailio, which proxies to
# a SIPp callee. Key logs (NSS format) are written by the client stack itself. The WSS
# scenario uses tools/wss_client.py (Python ssl) against kamailio's websocket module.
#
#   sudo bash tests/tls/make-tls.sh                      # all scenarios
#   sudo bash tests/tls/make-tls.sh tls13-keyupdate ...  # some of them
#
# Traffic stays in two private network namespaces (et-ph1 10.77.0.2 <-> et-pbx 10.77.0.1)
# and their loopbacks. Only the TLS leg (et-pbx eth0, TCP) is captured, from SYN to FIN.
# Idempotent: rewrites captures/NAME.{pcap,keys,tshark.txt[,server-key.pem]}. Needs root.
# Helpers (new_ns, link, cap_start/cap_stop, kam_start) are trimmed copies of
# tests/eval/make-corpus.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/captures"
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump)" >&2; exit 1; }
for t in kamailio sipp tcpdump tshark editcap ip openssl gnutls-cli timeout python3; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (see README.md)" >&2; exit 1; }
done
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -d "$KAM_MODS" ] || KAM_MODS=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio*' | head -1)")
[ -f "$KAM_MODS/websocket.so" ] || echo "note: kamailio websocket module missing (apt-get install kamailio-websocket-modules); wss-tls13 will fail" >&2

WORK="$(mktemp -d /tmp/earshot-tls.XXXXXX)"
NSES=()
PIDS=()
FAILED=()

cleanup() {
  set +e
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for n in "${NSES[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
  NSES=(); PIDS=()
  set -e
}
final_cleanup() { cleanup; if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap final_cleanup EXIT
trap "exit 130" INT TERM

log() { echo "== $*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"; NSES+=("$1")
  nsx "$1" ip link set lo up
}
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  nsx "$1" ip addr add "$3" dev "$2"; nsx "$1" ip link set "$2" up
  nsx "$4" ip addr add "$6" dev "$5"; nsx "$4" ip link set "$5" up
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$4" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
CAPS=()
cap_start() {
  local ns=$1 ifc=$2 f=$3; shift 3
  ip netns exec "$ns" tcpdump -i "$ifc" -U -s 0 -Z root -w "$f" "$@" 2>>"$WORK/tcpdump.log" &
  CAPS+=($!); PIDS+=($!)
  sleep 1.2
}
cap_stop() {
  sleep 1
  local p
  for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAPS=()
}
kam_start() {  # kam_start NS CFG [ENV=VAL...]
  local ns=$1 cfg=$2 rd; shift 2
  rd="$WORK/run.$(basename "$cfg")"; mkdir -p "$rd"
  ip netns exec "$ns" env "$@" kamailio -DD -E -f "$cfg" -Y "$rd" -P "$rd/pid" -m 32 -M 4 >>"$WORK/kamailio.log" 2>&1 &
  local kp=$!; PIDS+=($kp)
  sleep 2
  kill -0 "$kp" 2>/dev/null || { tail -5 "$WORK/kamailio.log" >&2; log "kamailio did not start"; }
}

# ---------------------------------------------------------------- certificates (per run)
mkcerts() {
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pbx.example.test -days 30 \
    -addext "subjectAltName=DNS:pbx.example.test" -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" >/dev/null 2>&1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pbx.example.test -days 30 \
    -addext "subjectAltName=DNS:pbx.example.test" -keyout "$WORK/ec.key" -out "$WORK/ec.crt" >/dev/null 2>&1
}

# ---------------------------------------------------------------- kamailio configuration
# kam_tls_cfg NAME METHOD CIPHER_LIST CERT(rsa|ec) [TLS13_CIPHERSUITES]
#   writes $WORK/NAME.tls.cfg, and $WORK/NAME.openssl.cnf when TLS 1.3 suites are given
#   (kamailio 5.6 has no TLS 1.3 ciphersuites option; OpenSSL's system_default section,
#   read through OPENSSL_CONF, sets them for every SSL_CTX kamailio creates).
kam_tls_cfg() {
  local name=$1 method=$2 ciphers=$3 cert=$4 suites=${5:-}
  {
    echo "[server:default]"
    echo "method = $method"
    echo "verify_certificate = no"
    echo "require_certificate = no"
    echo "private_key = $WORK/$cert.key"
    echo "certificate = $WORK/$cert.crt"
    [ -n "$ciphers" ] && echo "cipher_list = $ciphers"
    echo
    echo "[client:default]"
    echo "method = TLSv1.2+"
    echo "verify_certificate = no"
    echo "require_certificate = no"
  } >"$WORK/$name.tls.cfg"
  if [ -n "$suites" ]; then
    cat >"$WORK/$name.openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = $suites
EOF
  fi
}

# kam_cfg NAME MODE : MODE proxy = TLS 10.77.0.1:5061, record-route and relay everything to
# the SIPp callee on tcp 127.0.0.1:5090; MODE wss = also a websocket (TLS) listener on
# 10.77.0.1:8443 with a registrar (no auth) and OPTIONS -> 200.
kam_cfg() {
  local name=$1 mode=$2 f="$WORK/$1.cfg"
  cat >"$f" <<EOF
#!KAMAILIO
debug=1
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=${KAM_TCP_CHILDREN:-2}
enable_tls=yes
auto_aliases=no
mhomed=1
tcp_connection_lifetime=30
listen=tls:10.77.0.1:5061
listen=tcp:127.0.0.1:5060
$( [ "$mode" = wss ] && printf 'listen=tls:10.77.0.1:8443\ntcp_accept_no_cl=yes\n' )
mpath="$KAM_MODS/"
loadmodule "tls.so"
modparam("tls", "config", "$WORK/$name.tls.cfg")
${KAM_TLS_EXTRA:-}
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
modparam("rr", "enable_full_lr", 1)
EOF
  if [ "$mode" = wss ]; then
    cat >>"$f" <<'EOF'
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"

event_route[xhttp:request] {
  if ($Rp == 8443 && $hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
    if (ws_handle_handshake()) { exit; }
  }
  xhttp_reply("404", "Not Found", "", "");
}

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("OPTIONS") && $rU == $null) { sl_send_reply("200", "OK"); exit; }
  if (is_method("REGISTER")) { if (!save("location")) { sl_reply_error(); } exit; }
  sl_send_reply("403", "Forbidden"); exit;
}
EOF
  else
    cat >>"$f" <<'EOF'

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  remove_hf("Route");
  if (!is_method("REGISTER")) { record_route(); }
  $du = "sip:127.0.0.1:5090;transport=tcp";
  if (!t_relay()) { sl_reply_error(); }
  exit;
}
EOF
  fi
}

# ---------------------------------------------------------------- oracle record
# record NAME [tshark -o options for decryption...] : writes captures/NAME.tshark.txt
# (tshark runs inside captures/ so that the commands written down use relative paths)
ts() { tshark "$@" 2> >(grep -v 'Running as user "root"' >&2); }
record() {
  local name=$1; shift
  local txt="$OUT/$name.tshark.txt" n
  local -a opts=("$@")
  local o shown=""   # the options as one would type them (single-quote those holding quotes)
  for o in "${opts[@]}"; do case $o in *\"*) shown+=" '$o'" ;; *) shown+=" $o" ;; esac; done
  shown=${shown# }
  ( cd "$OUT"
  {
    echo "# $name: tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}') as the oracle"
    echo "# capture: $(stat -c %s "$name.pcap") bytes, $(ts -r "$name.pcap" | wc -l) frames, $(ts -r "$name.pcap" -T fields -e tcp.stream | sort -u | wc -l) TCP connection(s)"
    echo
    echo "\$ tshark -r $name.pcap $shown -Y sip -T fields -e frame.number -e sip.Call-ID -e sip.Method -e sip.Status-Code"
    ts -r "$name.pcap" "${opts[@]}" -Y sip -T fields -e frame.number -e sip.Call-ID -e sip.Method -e sip.Status-Code
    echo
    echo "# ClientHello (1) / ServerHello (2) frames: frame, tcp stream, handshake types in the frame,"
    echo "#   supported_versions, cipher suite(s), extension types (22 encrypt_then_mac,"
    echo "#   23 extended_master_secret, 35 session_ticket, 41 pre_shared_key, 43 supported_versions), session id"
    echo "\$ tshark -r $name.pcap $shown -Y 'tls.handshake.type==1 || tls.handshake.type==2' -T fields -E occurrence=a -E aggregator=, -e frame.number -e tcp.stream -e tls.handshake.type -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite -e tls.handshake.extension.type -e tls.handshake.session_id"
    ts -r "$name.pcap" "${opts[@]}" -Y 'tls.handshake.type==1 || tls.handshake.type==2' -T fields -E occurrence=a -E aggregator=, \
      -e frame.number -e tcp.stream -e tls.handshake.type -e tls.handshake.extensions.supported_version \
      -e tls.handshake.ciphersuite -e tls.handshake.extension.type -e tls.handshake.session_id
    echo
    echo "# ServerHello details (tshark -V)"
    ts -r "$name.pcap" "${opts[@]}" -Y 'tls.handshake.type==2' -V \
      | awk '/^ *Handshake Protocol: Server Hello$/ {on=1; print; next} /Record Layer|Handshake Protocol:|^[^ ]/ {on=0}
             on && /(Version:|Cipher Suite:|Extension: |Session ID:)/ && !/Length/' | sed 's/^ */  /'
    echo
    echo "# decrypted post-handshake / other: frame, source, handshake types (4 NewSessionTicket,"
    echo "#   11 Certificate, 24 KeyUpdate), KeyUpdate request_update, alert description (0 close_notify)"
    ts -r "$name.pcap" "${opts[@]}" -Y 'tls.handshake.type==4 || tls.handshake.type==24 || tls.handshake.type==11 || tls.alert_message' \
      -T fields -E occurrence=a -E aggregator=, \
      -e frame.number -e ip.src -e tls.handshake.type -e tls.handshake.key_update.request_update -e tls.alert_message.desc
  } >"$txt"
  )
  n=$(cd "$OUT" && ts -r "$name.pcap" "${opts[@]}" -Y sip -T fields -e frame.number | wc -l)
  log "$name: $(stat -c %s "$OUT/$name.pcap") bytes, $n SIP messages decrypted"
  [ "$n" -gt 0 ] || { FAILED+=("$name"); log "$name: FAILED (no SIP decrypted)"; }
}

# finish NAME : classic pcap, TCP only, record with the key log
finish() {
  local name=$1
  editcap -F pcap "$WORK/$name.raw.pcap" "$OUT/$name.pcap" 2>/dev/null || cp "$WORK/$name.raw.pcap" "$OUT/$name.pcap"
  record "$name" -o "tls.keylog_file:$name.keys"
}

# ---------------------------------------------------------------- the generic SIP/TLS run
# run_call NAME SERVER_METHOD SERVER_CIPHERS CERT TLS13_SUITES CALLS_PER_CONN CONNS -- CLIENT_ARGS...
# kamailio with the given TLS setup; SIPp caller (CONNS runs of CALLS_PER_CONN calls, one TCP
# connection per run) -> tls_client.py CLIENT_ARGS -> kamailio -> SIPp callee.
run_call() {
  local name=$1 method=$2 ciphers=$3 cert=$4 suites=$5 calls=$6 conns=$7; shift 8
  log "$name"
  new_ns et-ph1; new_ns et-pbx
  link et-ph1 eth0 10.77.0.2/24 et-pbx eth0 10.77.0.1/24
  kam_tls_cfg "$name" "$method" "$ciphers" "$cert" "$suites"
  kam_cfg "$name" proxy
  if [ -n "$suites" ]; then kam_start et-pbx "$WORK/$name.cfg" OPENSSL_CONF="$WORK/$name.openssl.cnf"
  else kam_start et-pbx "$WORK/$name.cfg"; fi
  ip netns exec et-pbx timeout 90 sipp -sf "$HERE/sipp/uas.xml" -t t1 -i 127.0.0.1 -p 5090 -nostdin \
    -m $((calls * conns)) >"$WORK/$name.uas.out" 2>&1 &
  PIDS+=($!)
  rm -f "$OUT/$name.keys" "$OUT/$name.server-key.pem"
  ip netns exec et-ph1 timeout 90 python3 "$HERE/tools/tls_client.py" --listen 127.0.0.1:5080 --to 10.77.0.1:5061 \
    --keylog "$OUT/$name.keys" --log "$WORK/$name.client.log" --seconds 60 --conns "$conns" "$@" &
  local relay=$!; PIDS+=($relay)
  sleep 1
  cap_start et-pbx eth0 "$WORK/$name.raw.pcap" tcp
  local i
  for ((i = 1; i <= conns; i++)); do
    ( cd "$WORK" && nsx et-ph1 timeout 40 sipp 127.0.0.1:5080 -t t1 -i 127.0.0.1 -p 5070 -sf "$HERE/sipp/uac.xml" \
        -s 3001 -m "$calls" -r 1 -l 1 -nostdin ) >>"$WORK/$name.uac.out" 2>&1 || true
    sleep 1
  done
  # the relay exits once it has closed its last TLS connection
  for i in $(seq 50); do kill -0 "$relay" 2>/dev/null || break; sleep 0.2; done
  sleep 1
  cap_stop; cleanup
  local ok bad
  ok=$(grep -h "Successful call" "$WORK/$name.uac.out" | awk -F'|' '{s += $3} END {print s + 0}')
  bad=$(grep -h "Failed call" "$WORK/$name.uac.out" | awk -F'|' '{s += $3} END {print s + 0}')
  log "$name: SIPp caller: $ok successful call(s), $bad failed"
  [ "$ok" = $((calls * conns)) ] && [ "$bad" = 0 ] || FAILED+=("$name(calls)")
  finish "$name"
}

# ---------------------------------------------------------------- scenarios
G12="NORMAL:-VERS-ALL:+VERS-TLS1.2"
G13="NORMAL:-VERS-ALL:+VERS-TLS1.3"
scn_tls13_aes128gcm()  { run_call tls13-aes128gcm  TLSv1.2+ "" rsa "" 2 1 -- --stack gnutls --priority "$G13:-CIPHER-ALL:+AES-128-GCM"; }
scn_tls13_aes256gcm()  { run_call tls13-aes256gcm  TLSv1.2+ "" rsa "" 2 1 -- --stack openssl --tls-version 1.3 --ciphersuites TLS_AES_256_GCM_SHA384; }
scn_tls13_aes128ccm8() { run_call tls13-aes128ccm8 TLSv1.2+ "" rsa "TLS_AES_128_CCM_8_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256" 2 1 -- --stack openssl --tls-version 1.3 --ciphersuites TLS_AES_128_CCM_8_SHA256; }
scn_tls13_chacha20()   { run_call tls13-chacha20   TLSv1.2+ "" rsa "" 2 1 -- --stack gnutls --priority "$G13:-CIPHER-ALL:+CHACHA20-POLY1305"; }
scn_tls13_aes128ccm()  { run_call tls13-aes128ccm  TLSv1.2+ "" rsa "TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256" 2 1 -- --stack gnutls --priority "$G13:-CIPHER-ALL:+AES-128-CCM"; }
# KeyUpdate: gnutls-cli inline commands. ^rekey^ (KeyUpdate, update_requested: kamailio answers
# with its own KeyUpdate) when the first 180 of call 1 arrives; ^rekey1^ (client-only KeyUpdate)
# after the 200 to call 1's BYE; call 2 then runs on the updated keys.
scn_tls13_keyupdate()  { run_call tls13-keyupdate  TLSv1.2+ "" rsa "" 2 1 -- --stack gnutls --priority "$G13:-CIPHER-ALL:+AES-128-GCM" \
                           --rekey "SIP/2.0 180=rekey" --rekey "CSeq: 2 BYE=rekey1"; }
scn_tls12_ecdhe_aes128gcm() { run_call tls12-ecdhe-aes128gcm TLSv1.2 "" rsa "" 2 1 -- --stack openssl --tls-version 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256; }
scn_tls12_ecdhe_aes256gcm() { run_call tls12-ecdhe-aes256gcm TLSv1.2 "" rsa "" 2 1 -- --stack python --tls-version 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384; }
scn_tls12_ecdhe_chacha20()  { run_call tls12-ecdhe-chacha20  TLSv1.2 "" rsa "" 2 1 -- --stack gnutls --priority "$G12:-CIPHER-ALL:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-RSA"; }
scn_tls12_cbc_sha_etm()     { run_call tls12-cbc-sha-etm     TLSv1.2 "" rsa "" 2 1 -- --stack openssl --tls-version 1.2 --ciphers ECDHE-RSA-AES128-SHA; }
scn_tls12_cbc_sha256_noetm() { run_call tls12-cbc-sha256-noetm TLSv1.2 "" rsa "" 2 1 -- --stack gnutls --priority "$G12:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256:-KX-ALL:+ECDHE-RSA:%NO_ETM"; }
scn_tls12_cbc_sha384_noetm() { run_call tls12-cbc-sha384-noetm TLSv1.2 "" rsa "" 2 1 -- --stack openssl --tls-version 1.2 --ciphers ECDHE-RSA-AES256-SHA384 --no-etm; }
# TLS 1.0 / 1.1 CBC (MAC-then-encrypt, no EtM): OpenSSL 3 refuses TLS < 1.2 at its default
# security level 1, so kamailio's cipher_list and the OpenSSL client's cipher string carry
# @SECLEVEL=0; kamailio's method pins the version. TLS 1.0: implicit IV (the last ciphertext
# block of the previous record); TLS 1.1: explicit IV per record.
scn_tls10_cbc_sha() { run_call tls10-cbc-sha TLSv1 "DEFAULT:@SECLEVEL=0" rsa "" 2 1 -- --stack gnutls --priority "NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1:-KX-ALL:+ECDHE-RSA:%NO_ETM"; }
scn_tls11_cbc_sha() { run_call tls11-cbc-sha TLSv1.1 "DEFAULT:@SECLEVEL=0" rsa "" 2 1 -- --stack openssl --tls-version 1.1 --ciphers "ECDHE-RSA-AES256-SHA:@SECLEVEL=0" --no-etm; }
scn_tls12_aes128ccm()  { run_call tls12-aes128ccm  TLSv1.2 "ECDHE-ECDSA-AES128-CCM" ec "" 2 1 -- --stack gnutls --priority "$G12:-CIPHER-ALL:+AES-128-CCM:-KX-ALL:+ECDHE-ECDSA"; }
scn_tls12_aes128ccm8() { run_call tls12-aes128ccm8 TLSv1.2 "ECDHE-ECDSA-AES128-CCM8" ec "" 2 1 -- --stack gnutls --priority "$G12:-CIPHER-ALL:+AES-128-CCM-8:-KX-ALL:+ECDHE-ECDSA"; }
scn_tls12_rsa_kx() {
  run_call tls12-rsa-kx TLSv1.2 "AES128-GCM-SHA256" rsa "" 2 1 -- --stack openssl --tls-version 1.2 --ciphers AES128-GCM-SHA256
  install -m 644 "$WORK/rsa.key" "$OUT/tls12-rsa-kx.server-key.pem"
  # the oracle record uses ONLY the server's RSA key (no key log)
  record tls12-rsa-kx -o 'uat:rsa_keys:"tls12-rsa-kx.server-key.pem",""'
}
# RSA key exchange + session-ID resumption: the second connection carries no key exchange at
# all, so decrypting it with only the server key needs the master secret of the first one
scn_tls12_rsa_kx_resumption() {
  KAM_TCP_CHILDREN=1 KAM_TLS_EXTRA='modparam("tls", "session_cache", 1)
modparam("tls", "session_id", "earshot-tls")' \
  run_call tls12-rsa-kx-resumption TLSv1.2 "AES256-SHA256" rsa "" 1 2 -- --stack python --tls-version 1.2 --ciphers AES256-SHA256 --resume --no-ticket --hold 2
  install -m 644 "$WORK/rsa.key" "$OUT/tls12-rsa-kx-resumption.server-key.pem"
  record tls12-rsa-kx-resumption -o 'uat:rsa_keys:"tls12-rsa-kx-resumption.server-key.pem",""'
}
scn_tls12_resumption() { run_call tls12-resumption TLSv1.2 "" rsa "" 1 2 -- --stack python --tls-version 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --resume; }
# session-ID resumption: no tickets (client), kamailio's server-side session cache, a single
# TCP worker so that both connections meet the same OpenSSL session cache, and the first
# connection held open until the second is done (kamailio closes TLS without sending
# close_notify, and OpenSSL then removes the session from the cache when it is freed)
scn_tls12_resumption_sessionid() {
  KAM_TCP_CHILDREN=1 KAM_TLS_EXTRA='modparam("tls", "session_cache", 1)
modparam("tls", "session_id", "earshot-tls")' \
  run_call tls12-resumption-sessionid TLSv1.2 "" rsa "" 1 2 -- --stack python --tls-version 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384 --resume --no-ticket --hold 2
}
scn_tls13_resumption() { run_call tls13-resumption TLSv1.2+ "" rsa "" 1 2 -- --stack python --tls-version 1.3 --resume; }
scn_tls12_noems()      { run_call tls12-noems      TLSv1.2 "" rsa "" 2 1 -- --stack gnutls --priority "$G12:-CIPHER-ALL:+AES-128-GCM:-KX-ALL:+ECDHE-RSA:%NO_SESSION_HASH"; }

# SIP over secure WebSocket: wss_client.py (Python ssl) -> kamailio websocket on 10.77.0.1:8443
scn_wss_tls13() {
  local name=wss-tls13
  log "$name"
  new_ns et-ph1; new_ns et-pbx
  link et-ph1 eth0 10.77.0.2/24 et-pbx eth0 10.77.0.1/24
  kam_tls_cfg "$name" TLSv1.2+ "" rsa ""
  kam_cfg "$name" wss
  kam_start et-pbx "$WORK/$name.cfg"
  rm -f "$OUT/$name.keys"
  cap_start et-pbx eth0 "$WORK/$name.raw.pcap" tcp
  nsx et-ph1 timeout 30 python3 "$HERE/tools/wss_client.py" --to 10.77.0.1:8443 --keylog "$OUT/$name.keys" \
    >"$WORK/$name.client.log" 2>&1 || log "$name: client failed: $(tail -3 "$WORK/$name.client.log")"
  sleep 1
  cap_stop; cleanup
  finish "$name"
}

SCENARIOS=(tls13-aes128gcm tls13-aes256gcm tls13-chacha20 tls13-aes128ccm tls13-aes128ccm8 tls13-keyupdate tls13-resumption
  tls12-ecdhe-aes128gcm tls12-ecdhe-aes256gcm tls12-ecdhe-chacha20 tls12-cbc-sha-etm
  tls12-cbc-sha256-noetm tls12-cbc-sha384-noetm tls12-aes128ccm tls12-aes128ccm8 tls12-rsa-kx
  tls12-rsa-kx-resumption tls12-resumption tls12-resumption-sessionid tls12-noems wss-tls13
  tls10-cbc-sha tls11-cbc-sha)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${SCENARIOS[@]}")
mkcerts
for s in "${want[@]}"; do
  if ! declare -F "scn_${s//-/_}" >/dev/null; then echo "unknown scenario: $s (known: ${SCENARIOS[*]})" >&2; exit 2; fi
  "scn_${s//-/_}"
done
log "done; captures in $OUT"
[ ${#FAILED[@]} -eq 0 ] || { log "FAILED: ${FAILED[*]}"; exit 1; }
