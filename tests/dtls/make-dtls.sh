#!/usr/bin/env bash
# Regenerates the DTLS-SRTP captures in tests/dtls/captures/ with REAL DTLS stacks
# (GnuTLS 3.7 gnutls-cli/gnutls-serv, OpenSSL 3.0 s_client/s_server), each run between two
# private network namespaces (A = 192.0.2.10, DTLS client / SIP caller; B = 192.0.2.20,
# DTLS server / SIP callee) joined by a veth pair. Nothing leaves the namespaces. Needs root.
#
#   sudo bash tests/dtls/make-dtls.sh                      # all scenarios
#   sudo bash tests/dtls/make-dtls.sh dtls-srtp-aeadgcm    # some of them
#
# Per scenario NAME it writes captures/NAME.pcap (classic pcap, captured with tcpdump on B's
# veth), NAME.keys (NSS key log written by the DTLS client's stack itself: SSLKEYLOGFILE for
# GnuTLS, -keylogfile for OpenSSL), NAME.wav / NAME.b2a.wav (the audio sent A->B / B->A),
# NAME.srtp-keys.txt (the EXTRACTOR-dtls_srtp keying material and SRTP profile exactly as the
# stacks printed them) and NAME.txt (facts, written by tools/verify.py --facts after checking).
#
# The call: SIP INVITE (SDP offer: a=setup:actpass, a=fingerprint of A's certificate) / 100 /
# 200 OK (SDP answer: a=setup:passive, a=fingerprint of B's certificate) / ACK on port 5060;
# the DTLS 1.2 handshake with use_srtp on A:40000 <-> B:30000; ~3 s of SRTP each way (+SRTCP
# once a second) on that same 5-tuple while the DTLS association is still up (sent by
# tools/srtp_stream.py through a raw socket with the association's ports, keys from the
# export); DTLS close_notify; SIP BYE / 200 OK.
#
# Idempotent: reruns rewrite the captures (handshake randoms, keys and so the SRTP bytes change
# every run; the certificates in certs/ are generated once and kept, so the fingerprints stay).
# Cleans up namespaces and processes on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/captures"
TOOLS="$HERE/tools"
CERTS="$HERE/certs"
mkdir -p "$OUT" "$CERTS"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump, raw sockets)" >&2; exit 1; }
for t in openssl gnutls-cli gnutls-serv tcpdump tshark sox ip nft timeout python3 mkfifo; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (apt-get install -y openssl gnutls-bin tcpdump tshark sox iproute2 nftables; pip install pylibsrtp)" >&2; exit 1; }
done
python3 -c 'import pylibsrtp' 2>/dev/null || { echo "missing python module pylibsrtp (pip install pylibsrtp)" >&2; exit 1; }

ALL=(dtls-srtp-aes128cm dtls-srtp-aeadgcm dtls-srtp-aead256gcm dtls-fingerprint-mismatch dtls-srtp-interop)
if [ $# -gt 0 ]; then SCEN=("$@"); else SCEN=("${ALL[@]}"); fi

WORK="$(mktemp -d /tmp/earshot-dtls.XXXXXX)"
NSES=()
PIDS=()
CAPS=()
A_IP=192.0.2.10; B_IP=192.0.2.20
A_MEDIA=40000;   B_MEDIA=30000
LABEL=EXTRACTOR-dtls_srtp

cleanup() {
  set +e
  exec 7>&- 8>&-
  local p n
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for n in "${NSES[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
  NSES=(); PIDS=(); CAPS=()
}
final_cleanup() { cleanup; if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap final_cleanup EXIT
trap "exit 130" INT TERM

log() { echo "== $*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# new_ns NAME: fresh namespace with loopback up
new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"; NSES+=("$1")
  nsx "$1" ip link set lo up
}
# link NS_A IF_A ADDR_A/PFX NS_B IF_B ADDR_B/PFX : veth pair between two namespaces
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  nsx "$1" ip addr add "$3" dev "$2"; nsx "$1" ip link set "$2" up
  nsx "$4" ip addr add "$6" dev "$5"; nsx "$4" ip link set "$5" up
  # no IPv6 chatter (router solicitations, MLD) in the captures
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$4" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
# cap_start NS IFACE FILE [filter...]: tcpdump in the background; pid kept in CAPS
cap_start() {
  local ns=$1 ifc=$2 f=$3; shift 3
  ip netns exec "$ns" tcpdump -i "$ifc" -U -s 0 -Z root -w "$f" "$@" 2>>"$WORK/tcpdump.log" &
  CAPS+=($!); PIDS+=($!)
  sleep 1.2
}
cap_stop() {
  sleep 0.5
  local p
  for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAPS=()
}
# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timeout waiting for /$2/ in $1:" >&2; cat "$1" >&2; return 1
}
# wait_pid PID SECONDS: wait for a background job to end, kill it after SECONDS
wait_pid() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.1; done
  log "pid $1 still running after $2 s: killing it"; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
}
# demux_drop NS PORT: drop inbound RTP/RTCP (first byte 0b10xxxxxx) to PORT before the socket
demux_drop() {
  nsx "$1" nft -f - <<EOF
table inet earshot_demux {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport $2 @th,64,2 2 drop
  }
}
EOF
}
fp256() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/^.*=//'; }
# seeded pseudo-random 32-bit number: rnd NAME WHAT
rnd() { echo $((0x$(printf '%s/%s' "$1" "$2" | sha256sum | cut -c1-8))); }

# ------------------------------------------------------------------ certificates (kept)
for who in alice bob mallory; do
  if [ ! -s "$CERTS/$who.crt" ] || [ ! -s "$CERTS/$who.key" ]; then
    log "generating certs/$who.crt (self-signed ECDSA P-256, as WebRTC endpoints use)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$CERTS/$who.key" -out "$CERTS/$who.crt" -days 36500 -subj "/CN=$who-dtls.example" \
      -set_serial "0x$(printf '%s' "$who" | sha256sum | cut -c1-16)" 2>/dev/null
  fi
done

# ------------------------------------------------------------------ one scenario
# Variables a scenario sets: CLIENT, SERVER (openssl|gnutls), PROFILE (RFC 5764 name),
# CLIENT_OFFER / SERVER_OFFER (profile lists in that stack's spelling), KEYLEN,
# SERVER_CERT (cert B presents), ANSWER_FP_CERT (cert whose fingerprint B's SDP advertises).
run_scenario() {
  local name=$1
  local d="$WORK/$name"; mkdir -p "$d"
  CLIENT=openssl; SERVER=openssl; SERVER_CERT=bob; ANSWER_FP_CERT=bob; NOTE=""
  CLIENT_CIPHERS=()   # extra client options restricting/ordering the DTLS cipher suites
  case "$name" in
    dtls-srtp-aes128cm)
      # AES-128-GCM first, as browsers do: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, SHA-256 PRF
      CLIENT=gnutls; SERVER=gnutls; PROFILE=SRTP_AES128_CM_HMAC_SHA1_80; KEYLEN=60
      CLIENT_CIPHERS=(--priority=NORMAL:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305)
      CLIENT_OFFER=SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32
      SERVER_OFFER=SRTP_AES128_CM_HMAC_SHA1_80 ;;
    dtls-fingerprint-mismatch)
      CLIENT=gnutls; SERVER=gnutls; PROFILE=SRTP_AES128_CM_HMAC_SHA1_80; KEYLEN=60
      CLIENT_CIPHERS=(--priority=NORMAL:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305)
      CLIENT_OFFER=SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32
      SERVER_OFFER=SRTP_AES128_CM_HMAC_SHA1_80
      SERVER_CERT=mallory; ANSWER_FP_CERT=bob
      NOTE="MISMATCH: B's SDP answer advertises the fingerprint of certs/bob.crt but the DTLS server presents certs/mallory.crt (man in the middle); A's side matches" ;;
    dtls-srtp-aeadgcm)
      PROFILE=SRTP_AEAD_AES_128_GCM; KEYLEN=56
      CLIENT_OFFER=SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32
      SERVER_OFFER=SRTP_AEAD_AES_128_GCM ;;
    dtls-srtp-aead256gcm)
      # ChaCha20-Poly1305 for the DTLS records (SHA-256 PRF)
      PROFILE=SRTP_AEAD_AES_256_GCM; KEYLEN=88
      CLIENT_CIPHERS=(-cipher ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256)
      CLIENT_OFFER=SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32
      SERVER_OFFER=SRTP_AEAD_AES_256_GCM ;;
    dtls-srtp-interop)
      # OpenSSL client against a GnuTLS server (cookie exchange, different extension order)
      CLIENT=openssl; SERVER=gnutls; PROFILE=SRTP_AES128_CM_HMAC_SHA1_80; KEYLEN=60
      CLIENT_OFFER=SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32
      SERVER_OFFER=SRTP_AES128_CM_HMAC_SHA1_80 ;;
    *) echo "unknown scenario: $name (known: ${ALL[*]})" >&2; return 1 ;;
  esac
  log "$name: $CLIENT client -> $SERVER server, $PROFILE"

  # audio: A->B a rising sweep (NAME.wav), B->A a two-tone (NAME.b2a.wav); 3 s, 8 kHz mono s16
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$name.wav" synth 3 sine 300-3300 vol 0.5
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$name.b2a.wav" synth 3 sine 697 sine 1209 remix 1,2 vol 0.35

  local na="dA$$" nb="dB$$"
  new_ns "$na"; new_ns "$nb"
  link "$na" veth-a "$A_IP/24" "$nb" veth-b "$B_IP/24"
  # the only ephemeral port in A is A_MEDIA: gnutls-cli (which cannot bind) gets exactly it
  nsx "$na" sysctl -qw net.ipv4.ip_local_port_range="$A_MEDIA $A_MEDIA"

  # RFC 7983 demux in front of the CLI DTLS stacks: they would choke on SRTP arriving on their
  # socket (openssl s_client stops reacting to stdin), so inbound UDP to the media port whose
  # first payload byte is 128..191 (RTP/RTCP) is dropped in netfilter input - after tcpdump
  # has seen it (AF_PACKET taps the veth before the IP layer), so the capture is unaffected.
  demux_drop "$na" $A_MEDIA; demux_drop "$nb" $B_MEDIA

  cap_start "$nb" veth-b "$d/raw.pcap" udp or icmp

  # SIP callee (B) waits for the INVITE
  local fa fb
  fa=$(fp256 "$CERTS/alice.crt"); fb=$(fp256 "$CERTS/$ANSWER_FP_CERT.crt")
  ip netns exec "$nb" python3 "$TOOLS/sip_call.py" uas --local "$B_IP:5060" --media-port $B_MEDIA \
    --fingerprint "sha-256 $fb" --call "$name" --timeout 40 2>"$d/sip-uas.log" &
  local uas=$!; PIDS+=($uas)

  # DTLS server (B) listening on the media port, stdin held open on a fifo (fd 8)
  mkfifo "$d/srv.in" "$d/cli.in"
  local srv_cmd
  if [ "$SERVER" = openssl ]; then
    srv_cmd=(openssl s_server -dtls1_2 -accept "$B_IP:$B_MEDIA" -naccept 1
             -cert "$CERTS/$SERVER_CERT.crt" -key "$CERTS/$SERVER_CERT.key" -verify 1
             -use_srtp "$SERVER_OFFER" -keymatexport "$LABEL" -keymatexportlen "$KEYLEN"
             -keylogfile "$d/server.keys")
    ip netns exec "$nb" "${srv_cmd[@]}" <"$d/srv.in" >"$d/server.out" 2>&1 &
  else
    srv_cmd=(gnutls-serv --udp --echo -p "$B_MEDIA" --require-client-cert
             --x509certfile "$CERTS/$SERVER_CERT.crt" --x509keyfile "$CERTS/$SERVER_CERT.key"
             --srtp-profiles="$SERVER_OFFER" --keymatexport="$LABEL" --keymatexportsize="$KEYLEN")
    ip netns exec "$nb" env SSLKEYLOGFILE="$d/server.keys" "${srv_cmd[@]}" <"$d/srv.in" >"$d/server.out" 2>&1 &
  fi
  local srv=$!; PIDS+=($srv)
  exec 8>"$d/srv.in"
  sleep 0.5

  # SIP caller (A): INVITE / 100 / 200 / ACK
  nsx "$na" python3 "$TOOLS/sip_call.py" uac-invite --local "$A_IP:5060" --remote "$B_IP:5060" \
    --media-port $A_MEDIA --fingerprint "sha-256 $fa" --call "$name" --state "$d/dialog.json" \
    --timeout 10 2>"$d/sip-uac.log"
  sleep 0.2

  # DTLS client (A) from A_MEDIA, stdin on a fifo (fd 7); closing it makes the client send
  # close_notify and exit
  local cli_cmd done_re
  if [ "$CLIENT" = openssl ]; then
    cli_cmd=(openssl s_client -dtls1_2 -connect "$B_IP:$B_MEDIA" -bind "$A_IP:$A_MEDIA" -noservername
             -cert "$CERTS/alice.crt" -key "$CERTS/alice.key"
             -use_srtp "$CLIENT_OFFER" -keymatexport "$LABEL" -keymatexportlen "$KEYLEN"
             -keylogfile "$d/client.keys" "${CLIENT_CIPHERS[@]}")
    ip netns exec "$na" "${cli_cmd[@]}" <"$d/cli.in" >"$d/client.out" 2>&1 8>&- &
    done_re='Keying material: [0-9A-Fa-f]+'
  else
    cli_cmd=(gnutls-cli --udp -p "$B_MEDIA" "$B_IP" --insecure
             --x509certfile "$CERTS/alice.crt" --x509keyfile "$CERTS/alice.key"
             --srtp-profiles="$CLIENT_OFFER" --keymatexport="$LABEL" --keymatexportsize="$KEYLEN"
             "${CLIENT_CIPHERS[@]}")
    ip netns exec "$na" env SSLKEYLOGFILE="$d/client.keys" "${cli_cmd[@]}" <"$d/cli.in" >"$d/client.out" 2>&1 8>&- &
    done_re='Key material: [0-9A-Fa-f]+'
  fi
  local cli=$!; PIDS+=($cli)
  exec 7>"$d/cli.in"
  wait_for "$d/client.out" "$done_re" 10
  local keymat
  keymat=$(grep -oE "$done_re" "$d/client.out" | head -1 | awk '{print $NF}')
  [ "${#keymat}" = $((KEYLEN * 2)) ] || { echo "bad key material length: $keymat" >&2; return 1; }
  sleep 0.2

  # media both ways on the DTLS 5-tuple, keys from the export
  local sa sb
  ip netns exec "$na" python3 "$TOOLS/srtp_stream.py" --src "$A_IP:$A_MEDIA" --dst "$B_IP:$B_MEDIA" \
    --profile "$PROFILE" --keymat "$keymat" --role client --wav "$OUT/$name.wav" \
    --ssrc "$(rnd "$name" ssrc-a)" --seq $(( $(rnd "$name" seq-a) % 30000 + 1000 )) --ts "$(rnd "$name" ts-a)" \
    --cname "alice@$A_IP" >"$d/media-a.json" 7>&- 8>&- &
  sa=$!; PIDS+=($sa)
  # B->A starts 35 packets before the 16-bit sequence number wraps (SRTP ROC 0 -> 1)
  ip netns exec "$nb" python3 "$TOOLS/srtp_stream.py" --src "$B_IP:$B_MEDIA" --dst "$A_IP:$A_MEDIA" \
    --profile "$PROFILE" --keymat "$keymat" --role server --wav "$OUT/$name.b2a.wav" \
    --ssrc "$(rnd "$name" ssrc-b)" --seq 65501 --ts "$(rnd "$name" ts-b)" \
    --cname "bob@$B_IP" >"$d/media-b.json" 7>&- 8>&- &
  sb=$!; PIDS+=($sb)
  wait "$sa"; wait "$sb"
  sleep 0.2

  # DTLS close_notify (the client sends it when its stdin closes), then the server ends
  exec 7>&-
  wait_pid "$cli" 5
  sleep 0.3
  exec 8>&-
  # openssl s_server -naccept 1 exits by itself; gnutls-serv keeps serving: SIGTERM
  if [ "$SERVER" = gnutls ]; then kill "$srv" 2>/dev/null || true; fi
  wait_pid "$srv" 3

  # SIP BYE / 200
  nsx "$na" python3 "$TOOLS/sip_call.py" uac-bye --local "$A_IP:5060" --remote "$B_IP:5060" \
    --call "$name" --state "$d/dialog.json" --timeout 5 2>>"$d/sip-uac.log"
  wait_pid "$uas" 5
  cap_stop
  cleanup

  # ---- outputs
  cp "$d/raw.pcap" "$OUT/$name.pcap"
  cp "$d/client.keys" "$OUT/$name.keys"
  if ! diff <(grep -v '^#' "$d/client.keys" | sort) <(grep -v '^#' "$d/server.keys" | sort) >/dev/null; then
    log "$name: NOTE: client and server key logs differ"
  fi
  local cver sver
  cver=$([ "$CLIENT" = openssl ] && openssl version | cut -d' ' -f1-2 || gnutls-cli --version | head -1)
  sver=$([ "$SERVER" = openssl ] && openssl version | cut -d' ' -f1-2 || gnutls-serv --version | head -1)
  {
    echo "# DTLS-SRTP keying material as printed by the DTLS stacks (label $LABEL, RFC 5764 4.2)"
    echo "# layout: client_write_SRTP_master_key | server_write_SRTP_master_key | client_write_SRTP_master_salt | server_write_SRTP_master_salt"
    echo "scenario: $name"
    echo "profile: $PROFILE"
    echo "label: $LABEL"
    echo "length: $KEYLEN"
    echo "keying_material: $(echo "$keymat" | tr 'A-F' 'a-f')"
    echo "client_stack: $cver"
    echo "server_stack: $sver"
    echo "# --- verbatim lines from the DTLS client (A, $CLIENT) output:"
    grep -E 'SRTP|Key material|Keying material|Label:|Length:|Cipher|Protocol|Description' "$d/client.out" | sed 's/^/A> /' || true
    echo "# --- verbatim lines from the DTLS server (B, $SERVER) output:"
    grep -E 'SRTP|Key material|Keying material|Label:|Length:|CIPHER|profile' "$d/server.out" | sed 's/^/B> /' || true
    echo "# --- commands (run inside the namespaces; paths relative to tests/dtls/):"
    echo "A\$ $( [ "$CLIENT" = gnutls ] && echo 'SSLKEYLOGFILE=client.keys ' )${cli_cmd[*]}" | sed "s#$HERE/##g; s#$d/##g"
    echo "B\$ $( [ "$SERVER" = gnutls ] && echo 'SSLKEYLOGFILE=server.keys ' )${srv_cmd[*]}" | sed "s#$HERE/##g; s#$d/##g"
    [ -n "$NOTE" ] && echo "note: $NOTE"
    echo "media_a_to_b: $(cat "$d/media-a.json")"
    echo "media_b_to_a: $(cat "$d/media-b.json")"
    echo "sdp_offer_fingerprint_cert: certs/alice.crt"
    echo "sdp_answer_fingerprint_cert: certs/$ANSWER_FP_CERT.crt"
    echo "dtls_client_cert: certs/alice.crt"
    echo "dtls_server_cert: certs/$SERVER_CERT.crt"
  } >"$OUT/$name.srtp-keys.txt"
  [ -n "${KEEP_WORK:-}" ] && cp "$d/client.out" "$d/server.out" "$d/sip-uac.log" "$d/sip-uas.log" "$d/" 2>/dev/null
  python3 "$TOOLS/verify.py" --facts "$name" >&2
  log "$name: $(stat -c %s "$OUT/$name.pcap") bytes, $(tshark -r "$OUT/$name.pcap" 2>/dev/null | wc -l) frames"
}

# each scenario in a subshell with errexit in force (it would be ignored in a `|| ...` context)
# and its own cleanup of the namespaces and processes it made
rc=0
for s in "${SCEN[@]}"; do
  set +e
  ( trap cleanup EXIT; set -e; run_scenario "$s" )
  r=$?
  set -e
  [ $r = 0 ] || { log "$s: FAILED (rc $r)"; rc=1; }
done
exit $rc
