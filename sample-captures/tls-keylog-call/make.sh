#!/usr/bin/env bash
# Regenerates sample-captures/tls-keylog-call/: one SIP-over-TLS call with SDES-keyed SRTP
# media, made by REAL tools inside two private network namespaces, plus the TLS key log the
# client's TLS stack wrote. Needs root (namespaces, tcpdump). Traffic stays on the veth pair
# 10.77.0.2 <-> 10.77.0.1 and on the namespaces' loopbacks. Idempotent; cleans up on exit.
#
#   sudo bash sample-captures/tls-keylog-call/make.sh
#
#   phone  10.77.0.2 (ns ek-phone): SIPp UAC "2001" --TCP, loopback--> tests/eval/tools/tls_relay.py
#                                   (Python ssl TLS client, key log via SSLContext.keylog_filename)
#                                   + srtp_wav.py sending caller.wav from 10.77.0.2:40000
#   PBX    10.77.0.1 (ns ek-pbx):   kamailio 5.6 TLS 10.77.0.1:5061 (TLS 1.2 only, ECDHE-RSA-AES128-GCM-SHA256)
#                                   --TCP, loopback--> SIPp UAS "2010" 127.0.0.1:5090
#                                   + srtp_wav.py sending callee.wav from 10.77.0.1:40002
#   capture: the PBX's side of the veth pair (tcpdump, classic pcap): the TLS leg and the SRTP.
# Each SIPp reads the peer's c=/m=/a=crypto from the SDP it receives (<ereg>) and starts its
# side's SRTP sender on the ACK (<exec>), which encrypts with the key its own SDP announced.
#
# Outputs (beside this script): tls-keylog-call.pcap, tls-keylog-call.keys, caller.wav,
# callee.wav; then runs verify.py. Needs: kamailio + kamailio-tls-modules, sip-tester (sipp),
# tcpdump, tshark, espeak-ng, sox, openssl, python3 + pylibsrtp.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EVAL="$HERE/../../tests/eval"
NAME=tls-keylog-call
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump)" >&2; exit 1; }
for t in kamailio sipp tcpdump tshark ip timeout python3 openssl espeak-ng sox; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (apt-get install -y kamailio kamailio-tls-modules sip-tester tcpdump tshark espeak-ng sox; pip install pylibsrtp)" >&2; exit 1; }
done
python3 -c "import pylibsrtp" || { echo "missing python module pylibsrtp (pip install pylibsrtp)" >&2; exit 1; }
[ -f "$EVAL/tools/tls_relay.py" ] || { echo "missing $EVAL/tools/tls_relay.py" >&2; exit 1; }
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -d "$KAM_MODS" ] || KAM_MODS=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio*' | head -1)")

WORK="$(mktemp -d /tmp/earshot-tls-keylog.XXXXXX)"
NSES=()
PIDS=()
cleanup() {
  set +e
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for n in "${NSES[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
  NSES=(); PIDS=()
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap "exit 130" INT TERM
log() { echo "== $*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"; NSES+=("$1")
  nsx "$1" ip link set lo up
  # no IPv6 chatter (router solicitations, MLD) in the capture
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# ------------------------------------------------------------------ audio
# caller -> callee and callee -> caller: two different spoken sentences, 6.00 s, 8 kHz mono 16-bit
log "audio (espeak-ng $(espeak-ng --version | awk '{print $4}'), sox)"
espeak-ng -v en-us -s 170 -w "$WORK/caller-tts.wav" \
  "Hello Bob, this is Alice, calling from extension two thousand and one. Can you hear me?"
espeak-ng -v en-us+f3 -s 160 -w "$WORK/callee-tts.wav" \
  "Hi Alice, Bob here at the front desk. Yes, I hear you loud and clear."
sox -V1 "$WORK/caller-tts.wav" -r 8000 -c 1 -b 16 -e signed-integer "$HERE/caller.wav" norm -3 pad 0.2 0.5 trim 0 6
sox -V1 "$WORK/callee-tts.wav" -r 8000 -c 1 -b 16 -e signed-integer "$HERE/callee.wav" norm -3 pad 0.3 1 trim 0 6

# ------------------------------------------------------------------ network
new_ns ek-phone; new_ns ek-pbx
ip link add eth0 netns ek-phone type veth peer name eth0 netns ek-pbx
nsx ek-phone ip addr add 10.77.0.2/24 dev eth0; nsx ek-phone ip link set eth0 up
nsx ek-pbx ip addr add 10.77.0.1/24 dev eth0; nsx ek-pbx ip link set eth0 up

# ------------------------------------------------------------------ kamailio: TLS 1.2 front end, proxies to the UAS
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pbx.example.test -days 365 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
cat >"$WORK/tls.cfg" <<EOF
[server:default]
method = TLSv1.2
cipher_list = ECDHE-RSA-AES128-GCM-SHA256
verify_certificate = no
require_certificate = no
private_key = $WORK/tls.key
certificate = $WORK/tls.crt

[client:default]
method = TLSv1.2
verify_certificate = no
require_certificate = no
EOF
cat >"$WORK/kamailio.cfg" <<EOF
#!KAMAILIO
debug=1
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
enable_tls=yes
auto_aliases=no
mhomed=1
listen=tls:10.77.0.1:5061
listen=tcp:127.0.0.1:5060
mpath="$KAM_MODS/"
loadmodule "tls.so"
modparam("tls", "config", "$WORK/tls.cfg")
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

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  remove_hf("Route");
  record_route();
  \$du = "sip:127.0.0.1:5090;transport=tcp";
  if (!t_relay()) { sl_reply_error(); }
  exit;
}
EOF
mkdir -p "$WORK/kam"
ip netns exec ek-pbx kamailio -DD -E -f "$WORK/kamailio.cfg" -Y "$WORK/kam" -P "$WORK/kam/pid" -m 32 -M 4 >"$WORK/kamailio.log" 2>&1 &
PIDS+=($!)

# ------------------------------------------------------------------ media senders (started by SIPp on the ACK)
KEY_CALLER=$(head -c 30 /dev/urandom | base64)   # 16-byte master key + 14-byte salt, as in a=crypto inline:
KEY_CALLEE=$(head -c 30 /dev/urandom | base64)
SSRC_CALLER=0x$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
SSRC_CALLEE=0x$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkmedia() { # file local-ip:port own-key wav ssrc log ; called by SIPp as: file PEER_IP PEER_PORT PEER_KEY
  cat >"$1" <<EOF
#!/bin/sh
exec timeout 20 python3 "$HERE/srtp_wav.py" --local $2 --remote-ip "\$1" --remote-port "\$2" --rx-key "\$3" \\
  --tx-key '$3' --wav "$4" --ssrc $5 >"$6" 2>&1
EOF
  chmod +x "$1"
}
mkmedia "$WORK/media-caller.sh" 10.77.0.2:40000 "$KEY_CALLER" "$HERE/caller.wav" "$SSRC_CALLER" "$WORK/media-caller.log"
mkmedia "$WORK/media-callee.sh" 10.77.0.1:40002 "$KEY_CALLEE" "$HERE/callee.wav" "$SSRC_CALLEE" "$WORK/media-callee.log"

# ------------------------------------------------------------------ callee (SIPp UAS), TLS relay, capture, caller
sleep 2
( cd "$WORK" && exec ip netns exec ek-pbx timeout 60 sipp -sf "$HERE/uas-tls-sdes.xml" -t t1 -i 127.0.0.1 -p 5090 -m 1 \
    -key crypto_tx "$KEY_CALLEE" -key media_port_tx 40002 -key sdp_ip 10.77.0.1 -key media_cmd "$WORK/media-callee.sh" \
    -nostdin -trace_err -error_file "$WORK/uas.err" >"$WORK/uas.out" 2>&1 ) &
PIDS+=($!)
rm -f "$WORK/$NAME.keys"
ip netns exec ek-phone timeout 60 python3 "$EVAL/tools/tls_relay.py" --listen 127.0.0.1:5080 --to 10.77.0.1:5061 \
   --keylog "$WORK/$NAME.keys" --seconds 40 >"$WORK/relay.log" 2>&1 &
RELAY=$!; PIDS+=($RELAY)
sleep 1
ip netns exec ek-pbx tcpdump -i eth0 --immediate-mode -U -s 0 -w "$WORK/$NAME.pcap" "tcp port 5061 or udp" 2>"$WORK/tcpdump.log" &
CAP=$!; PIDS+=($CAP)
sleep 1.5
log "call: SIPp 2001 -> TLS -> kamailio -> SIPp 2010, 6 s of SRTP each way"
( cd "$WORK" && nsx ek-phone timeout 60 sipp 127.0.0.1:5080 -t t1 -i 10.77.0.2 -p 5061 -s 2010 -sf "$HERE/uac-tls-sdes.xml" -m 1 \
    -key crypto_tx "$KEY_CALLER" -key media_port_tx 40000 -key media_cmd "$WORK/media-caller.sh" -d 7000 \
    -nostdin -trace_err -error_file "$WORK/uac.err" ) >"$WORK/uac.out" 2>&1 || true
# the media senders linger 1 s after their last packet; wait for their reports
for _ in $(seq 1 50); do
  [ -s "$WORK/media-caller.log" ] && [ -s "$WORK/media-callee.log" ] && break
  sleep 0.2
done
sleep 1
kill "$RELAY" 2>/dev/null || true   # SIPp has closed its connection: the relay has sent its FIN already
sleep 1
kill -INT "$CAP" 2>/dev/null || true; wait "$CAP" 2>/dev/null || true

cat "$WORK/media-caller.log" "$WORK/media-callee.log" >&2 || true
grep -E "Successful call|Failed call" "$WORK/uac.out" | sed -n 1,2p >&2 || true
[ "$(awk '/Successful call/ {n = $NF} END {print n}' "$WORK/uac.out")" = 1 ] || {
  echo "the call failed (KEEP_WORK=1 keeps $WORK)" >&2; tail -n 40 "$WORK/uac.out" "$WORK/uac.err" "$WORK/kamailio.log" >&2 || true; exit 1; }
cp "$WORK/$NAME.pcap" "$HERE/$NAME.pcap"
cp "$WORK/$NAME.keys" "$HERE/$NAME.keys"
log "$NAME.pcap: $(stat -c %s "$HERE/$NAME.pcap") bytes, $(tshark -r "$HERE/$NAME.pcap" 2>/dev/null | wc -l) frames; key log: $(grep -c . "$HERE/$NAME.keys") lines"
python3 "$HERE/verify.py"
