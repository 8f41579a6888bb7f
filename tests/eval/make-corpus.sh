#!/usr/bin/env bash
# Regenerates the labelled evaluation corpus in tests/eval/corpus/ by driving REAL tools
# (kamailio 5.6, SIPp 3.6, SIPVicious 0.3.8, tcpdump, pylibsrtp) inside private network
# namespaces. Needs root. Traffic stays inside the namespaces created here (addresses
# 203.0.113.0/24, 198.51.100.0/24, 10.77.0.0/24) or on loopback; nothing is sent elsewhere.
#
#   sudo bash tests/eval/make-corpus.sh            # all scenarios
#   sudo bash tests/eval/make-corpus.sh svmap-sweep sipp-toll-fraud   # some of them
#
# Idempotent: each run rewrites corpus/<name>.pcap (the .toml labels are hand-written and
# kept; they are checked by verify.sh). Cleans up namespaces and processes on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/corpus"
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump)" >&2; exit 1; }
for t in kamailio sipp tcpdump tshark mergecap ip sipvicious_svcrack sipvicious_svmap sipvicious_svwar timeout python3; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (see README.md: apt-get install -y kamailio kamailio-tls-modules sip-tester tcpdump tshark; pip install sipvicious==0.3.8 pylibsrtp)" >&2; exit 1; }
done
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -d "$KAM_MODS" ] || KAM_MODS=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio*' | head -1)")

WORK="$(mktemp -d /tmp/earshot-eval.XXXXXX)"
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
# finish NAME FILE...: merge (if several) into corpus/NAME.pcap, classic pcap
finish() {
  local name=$1; shift
  if [ $# -eq 1 ]; then cp "$1" "$OUT/$name.pcap"; else mergecap -F pcap -w "$OUT/$name.pcap" "$@"; fi
  log "$name: $(stat -c %s "$OUT/$name.pcap") bytes, $(tshark -r "$OUT/$name.pcap" 2>/dev/null | wc -l) frames"
}

# ---------------------------------------------------------------- kamailio configuration
# kam_cfg FILE LISTEN MODE QOP
#   MODE registrar : REGISTER with digest auth for the users in USERS (404 for others;
#                    users whose password is OPEN are accepted without challenge);
#                    INVITE/others to a registered user are relayed, else 404
#   MODE proxy     : record-route and relay every request to NEXTHOP (stateful)
#   QOP  : "0" no qop in the challenge, "1" qop=auth, "port": qop=auth on port 5060, none elsewhere
# USERS is a bash string of "user:password" words.
kam_cfg() {
  local f=$1 listen=$2 mode=$3 qop=${4:-0}
  local users_block="" u p
  for up in ${USERS:-}; do
    u=${up%%:*}; p=${up#*:}
    users_block+="    if (\$tU == \"$u\") { \$var(pw) = \"$p\"; }"$'\n'
  done
  cat >"$f" <<EOF
#!KAMAILIO
debug=1
log_stderror=yes
memdbg=5
memlog=5
children=2
disable_tcp=yes
auto_aliases=no
$( [ "$mode" = proxy ] && echo "mhomed=1" )
$(for l in $listen; do echo "listen=$l"; done)
mpath="$KAM_MODS/"
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
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("auth", "qop", "$( [ "$qop" = 0 ] || echo auth )")
modparam("rr", "enable_full_lr", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
EOF
  if [ "$mode" = proxy ]; then
    cat >>"$f" <<EOF
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  remove_hf("Route");
  if (!is_method("REGISTER")) { record_route(); }
  \$du = "$NEXTHOP";
  if (!t_relay()) { sl_reply_error(); }
  exit;
}
EOF
  else
    cat >>"$f" <<EOF
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("OPTIONS") && \$rU == \$null) { sl_send_reply("200", "OK"); exit; }
  if (is_method("REGISTER")) {
    \$var(pw) = "";
$users_block
    if (\$var(pw) == "") { sl_send_reply("404", "Not Found"); exit; }
    if (\$var(pw) != "OPEN") {
      \$var(qf) = $( [ "$qop" = port ] && echo 0 || echo "$qop" );
      $( [ "$qop" = port ] && echo 'if ($Rp == 5060) { $var(qf) = 1; }' )
      if (!pv_auth_check("\$fd", "\$var(pw)", "0", "0")) { auth_challenge("\$fd", "\$var(qf)"); exit; }
      consume_credentials();
    }
    if (!save("location")) { sl_reply_error(); }
    exit;
  }
  if (is_method("INVITE")) { record_route(); }
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  if (!t_relay()) { sl_reply_error(); }
  exit;
}
EOF
  fi
}

# kam_start NS CFG : kamailio in the foreground of a background job
kam_start() {
  local ns=$1 cfg=$2 rd
  rd="$WORK/run.$(basename "$cfg")"; mkdir -p "$rd"
  ip netns exec "$ns" kamailio -DD -E -f "$cfg" -Y "$rd" -P "$rd/pid" -m 32 -M 4 >>"$WORK/kamailio.log" 2>&1 &
  PIDS+=($!)
  sleep 2
}

WORDS60="$WORK/words60.txt"
mkwords() {
  # 60 common passwords (the first 60 of a typical top list), none of them the real one
  cat >"$WORDS60" <<'EOF'
123456
password
12345678
qwerty
123456789
12345
1234
111111
1234567
dragon
123123
baseball
abc123
football
monkey
letmein
696969
shadow
master
666666
qwertyuiop
123321
mustang
1234567890
michael
654321
superman
1qaz2wsx
7777777
121212
000000
qazwsx
123qwe
killer
trustno1
jordan
jennifer
zxcvbnm
asdfgh
hunter
buster
soccer
harley
batman
andrew
tigger
sunshine
iloveyou
2000
charlie
robert
thomas
hockey
ranger
daniel
starwars
klaster
112233
george
computer
EOF
}

# ---------------------------------------------------------------- attack scenarios
ATT=203.0.113.66
SRV=203.0.113.1

# svcrack against kamailio; $1 name, $2 qop (0/1), $3 dictionary file
svcrack_scenario() {
  local name=$1 qop=$2 dict=$3
  log "$name"
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  USERS="1000:welcome123 1001:8cXq-pL2v-Zr7" kam_cfg "$WORK/$name.cfg" "udp:$SRV:5060" registrar "$qop"
  kam_start eo-srv "$WORK/$name.cfg"
  cap_start eo-srv srv0 "$WORK/$name.pcap" udp
  # -t 0.05: a guess every ~50 ms at most; bounded by the dictionary and by timeout 120
  ( cd "$WORK" && nsx eo-att timeout 120 sipvicious_svcrack -u 1000 -d "$dict" -x $ATT -t 0.05 --maximumtime=10 "udp://$SRV:5060" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop
  cleanup
  finish "$name" "$WORK/$name.pcap"
  cat "$WORK/$name.out" >&2
}

scn_svcrack() {
  svcrack_scenario svcrack-noqop-fail 0 "$WORDS60"
  { head -57 "$WORDS60"; echo welcome123; tail -2 "$WORDS60"; } >"$WORK/words60ok.txt"
  svcrack_scenario svcrack-noqop-success 0 "$WORK/words60ok.txt"
  svcrack_scenario svcrack-qop-fail 1 "$WORDS60"
  svcrack_scenario svcrack-qop-success 1 "$WORK/words60ok.txt"
}

# svmap sweeping 14 addresses; only 203.0.113.1 runs kamailio (the others answer ICMP port
# unreachable: the addresses exist on the target namespace's interface but nothing listens)
scn_svmap_sweep() {
  local name=svmap-sweep i
  log "$name"
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  for i in $(seq 2 14); do nsx eo-srv ip addr add 203.0.113.$i/24 dev srv0; done
  nsx eo-srv sysctl -qw net.ipv4.icmp_ratelimit=0   # every closed port answers
  USERS="1000:welcome123" kam_cfg "$WORK/$name.cfg" "udp:$SRV:5060" registrar 0
  kam_start eo-srv "$WORK/$name.cfg"
  cap_start eo-att att0 "$WORK/$name.pcap" udp or icmp
  ( cd "$WORK" && nsx eo-att timeout 60 sipvicious_svmap -p 5060 -t 0.02 "203.0.113.1-203.0.113.14" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; cat "$WORK/$name.out" >&2
}

# svwar REGISTER enumeration of 100-160: users 100, 101, 102, 120 exist (401), 150 is an
# open account (200 without challenge), everything else 404
scn_svwar_enum() {
  local name=svwar-enum
  log "$name"
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  USERS="100:Tr0ub4dor-100 101:Tr0ub4dor-101 102:Tr0ub4dor-102 120:Tr0ub4dor-120 150:OPEN" \
    kam_cfg "$WORK/$name.cfg" "udp:$SRV:5060" registrar 0
  kam_start eo-srv "$WORK/$name.cfg"
  cap_start eo-srv srv0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-att timeout 90 sipvicious_svwar -e100-160 -t 0.02 --maximumtime=10 "udp://$SRV:5060" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; cat "$WORK/$name.out" >&2
}

# kam_challenge_calls CFG USERS: in a registrar CFG (kam_cfg), answer INVITE/OPTIONS whose
# Request-URI user is in USERS ("user:password" words) with a 407 digest challenge of the caller
# (no qop), and any other user with 404, before the location lookup
kam_challenge_calls() {
  local f=$1 blk="$WORK/$(basename "$1").calls" up
  { echo '  if (is_method("INVITE|OPTIONS")) {'
    echo '    $var(pw) = "";'
    for up in $2; do echo "    if (\$rU == \"${up%%:*}\") { \$var(pw) = \"${up#*:}\"; }"; done
    echo '    if ($var(pw) == "") { sl_send_reply("404", "Not Found"); exit; }'
    echo '    if (!pv_proxy_authenticate("$fd", "$var(pw)", "0")) { proxy_challenge("$fd", "0"); exit; }'
    echo '    consume_credentials();'
    echo '  }'
  } >"$blk"
  awk -v blk="$blk" '/^  if \(is_method\("INVITE"\)\) \{ record_route\(\); \}$/ { while ((getline l < blk) > 0) print l } { print }' \
    "$f" >"$f.new" && mv "$f.new" "$f"
  grep -q 'proxy_challenge' "$f" || { echo "kam_challenge_calls: anchor not found in $f" >&2; exit 1; }
}

# svwar enumeration of 100-160 with another method ($2: INVITE or OPTIONS): 100, 101, 102 and
# 120 exist and the caller is challenged (407), every other extension is answered 404. Only 4
# challenges, below challenge-flood's threshold of 5. With INVITE, svwar ACKs every final answer.
svwar_method_scenario() {
  local name=$1 method=$2
  local users="100:Tr0ub4dor-100 101:Tr0ub4dor-101 102:Tr0ub4dor-102 120:Tr0ub4dor-120"
  log "$name"
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  USERS="$users" kam_cfg "$WORK/$name.cfg" "udp:$SRV:5060" registrar 0
  kam_challenge_calls "$WORK/$name.cfg" "$users"
  kam_start eo-srv "$WORK/$name.cfg"
  cap_start eo-srv srv0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-att timeout 90 sipvicious_svwar -m "$method" -e100-160 -t 0.02 --maximumtime=10 "udp://$SRV:5060" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; cat "$WORK/$name.out" >&2
}
scn_svwar_invite_enum() { svwar_method_scenario svwar-invite-enum INVITE; }
scn_svwar_options_enum() { svwar_method_scenario svwar-options-enum OPTIONS; }

# sippts-scan: not generated. The PyPI package `sippts` (0.1.0, "Forked SIPPTS for PyPi
# Publishing") installs the sipscan/sipexten/... entry points but not the `sippts` Python
# package they import, so every tool fails with "No module named 'sippts'" (README.md).

# attacker -> kamailio proxy (203.0.113.1 / 10.77.0.1, record-routing) -> kamailio registrar
# (10.77.0.2). svmap, svwar (100-130) and svcrack (60 words, user 101) through the proxy.
# Captured on both proxy interfaces and merged.
scn_relayed_scan() {
  local name=relayed-scan
  log "$name"
  new_ns eo-att; new_ns eo-px; new_ns eo-reg
  link eo-att att0 $ATT/24 eo-px px0 $SRV/24
  link eo-px px1 10.77.0.1/24 eo-reg reg0 10.77.0.2/24
  NEXTHOP="sip:10.77.0.2:5060" kam_cfg "$WORK/$name-proxy.cfg" "udp:$SRV:5060 udp:10.77.0.1:5060" proxy 0
  USERS="100:Tr0ub4dor-100 101:Tr0ub4dor-101 102:Tr0ub4dor-102 120:Tr0ub4dor-120" \
    kam_cfg "$WORK/$name-reg.cfg" "udp:10.77.0.2:5060" registrar 0
  kam_start eo-reg "$WORK/$name-reg.cfg"
  kam_start eo-px "$WORK/$name-proxy.cfg"
  cap_start eo-px px0 "$WORK/$name-0.pcap" udp
  cap_start eo-px px1 "$WORK/$name-1.pcap" udp
  ( cd "$WORK"
    nsx eo-att timeout 30 sipvicious_svmap -p 5060 "$SRV"
    nsx eo-att timeout 90 sipvicious_svwar -e100-130 -t 0.03 --maximumtime=8 "udp://$SRV:5060"
    nsx eo-att timeout 120 sipvicious_svcrack -u 101 -d "$WORDS60" -t 0.05 --maximumtime=8 "udp://$SRV:5060"
  ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name-0.pcap" "$WORK/$name-1.pcap"; cat "$WORK/$name.out" >&2
}

# SIPp UAS on the target; a SIPp UAC from the attacker runs a scenario at a given rate
sipp_pair() { # name uac-args...
  local name=$1; shift
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  ip netns exec eo-srv timeout 120 sipp -sn uas -i $SRV -p 5060 -nostdin -trace_err \
      -error_file "$WORK/$name-uas.err" >/dev/null 2>&1 &
  local uas=$!; PIDS+=($uas)
  sleep 1
  cap_start eo-srv srv0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-att timeout 120 sipp "$SRV:5060" -i $ATT -p 5060 -nostdin -trace_err \
      -error_file "$WORK/$name-uac.err" "$@" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop
  kill "$uas" 2>/dev/null || true
  cleanup
  finish "$name" "$WORK/$name.pcap"
}

scn_sipp_invite_flood() {
  log sipp-invite-flood
  # 160 INVITE dialogs at 80 calls/s (default uac scenario: INVITE/180/200/ACK/BYE)
  sipp_pair sipp-invite-flood -sn uac -s 2000 -r 80 -m 160 -l 160 -d 500
}
scn_sipp_toll_fraud() {
  log sipp-toll-fraud
  sipp_pair sipp-toll-fraud -sf "$HERE/sipp/uac-dial.xml" -inf "$HERE/sipp/toll-numbers.csv" -r 1 -m 6 -l 6
}
scn_sipp_spoof_inject() {
  log sipp-spoof-inject
  sipp_pair sipp-spoof-inject -sf "$HERE/sipp/uac-spoof.xml" -r 1 -m 3 -l 3
}

# ---------------------------------------------------------------- benign scenarios
# office LAN 10.77.0.0/24 on a bridge in namespace eo-hub: kamailio registrar 10.77.0.1
# (udp 5060 challenges with qop=auth, udp 5070 without qop), phones (SIPp) on 10.77.0.2,
# callee 2010 (SIPp UAS) on 10.77.0.3. Captured on the bridge.
lan_host() { # ns addr
  new_ns "$1"
  ip link add "h-$1" netns eo-hub type veth peer name eth0 netns "$1"
  nsx eo-hub ip link set "h-$1" master br0; nsx eo-hub ip link set "h-$1" up
  nsx "$1" ip addr add "$2/24" dev eth0; nsx "$1" ip link set eth0 up
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
scn_benign_pbx() {
  local name=benign-pbx
  log "$name"
  new_ns eo-hub
  nsx eo-hub sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx eo-hub ip link add br0 type bridge; nsx eo-hub ip link set br0 up
  lan_host eo-pbx 10.77.0.1; lan_host eo-ph1 10.77.0.2; lan_host eo-ph2 10.77.0.3
  # strong passwords: nothing a dictionary or PIN search recovers
  local users="" i
  for i in $(seq 2001 2010); do users+="$i:Kq7v-${i}-xW9pZt3m "; done
  USERS="$users" kam_cfg "$WORK/$name.cfg" "udp:10.77.0.1:5060 udp:10.77.0.1:5070" registrar port
  kam_start eo-pbx "$WORK/$name.cfg"
  # SIPp does not expand [fieldN] inside [authentication ...]: one scenario copy per user
  reg_xml() { # template user password wrong-password contact-port -> file
    local f="$WORK/reg-$2-$(basename "$1")"
    sed -e "s/\[field0\]/$2/g" -e "s/\[field1\]/$3/g" -e "s/\[field2\]/$4/g" -e "s/\[field3\]/$5/g" "$1" >"$f"
    echo "$f"
  }
  cap_start eo-hub br0 "$WORK/$name.pcap" udp
  ( cd "$WORK"
    S="-nostdin -trace_err -timeout 30 -m 1"
    # callee 2010 registers (qop) with a Contact on its UAS port 5060
    nsx eo-ph2 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.3 -p 5061 -sf "$(reg_xml "$HERE/sipp/register.xml" 2010 Kq7v-2010-xW9pZt3m x 5060)" $S
    # 2001-2005 on port 5060 (qop=auth), 2006-2009 on port 5070 (no qop); each registers, then refreshes
    for i in $(seq 2001 2009); do
      port=5060; [ "$i" -ge 2006 ] && port=5070
      nsx eo-ph1 timeout 30 sipp 10.77.0.1:$port -i 10.77.0.2 -p 5061 -sf "$(reg_xml "$HERE/sipp/register.xml" $i Kq7v-$i-xW9pZt3m x 5061)" $S
    done
    # 2004 mistypes its password once (last letter), then gets it right
    nsx eo-ph1 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.2 -p 5061 -sf "$(reg_xml "$HERE/sipp/register-typo.xml" 2004 Kq7v-2004-xW9pZt3m Kq7v-2004-xW9pZt3n 5061)" $S
  ) >"$WORK/$name.out" 2>&1 || true
  ip netns exec eo-ph2 timeout 60 sipp -sf "$HERE/sipp/uas-reinvite.xml" -i 10.77.0.3 -p 5060 -nostdin -trace_err -m 3 >/dev/null 2>&1 &
  local uas=$!; PIDS+=($uas); sleep 1
  ( cd "$WORK" && nsx eo-ph1 timeout 60 sipp 10.77.0.1:5060 -i 10.77.0.2 -p 5064 -s 2010 -sf "$HERE/sipp/uac-reinvite.xml" -r 1 -m 3 -l 1 -nostdin -trace_err ) >>"$WORK/$name.out" 2>&1 || true
  kill "$uas" 2>/dev/null || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; cat "$WORK/$name.out" | grep -E "Successful call|Failed call" >&2 || true
}

# one SIPp call entirely on 127.0.0.1 (inside a private namespace's loopback)
scn_benign_loopback_contact() {
  local name=benign-loopback-contact
  log "$name"
  new_ns eo-lo
  ip netns exec eo-lo timeout 30 sipp -sn uas -i 127.0.0.1 -p 5060 -nostdin -m 1 >/dev/null 2>&1 &
  local uas=$!; PIDS+=($uas); sleep 1
  cap_start eo-lo lo "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-lo timeout 30 sipp 127.0.0.1:5060 -i 127.0.0.1 -p 5061 -sn uac -s 2000 -m 1 -d 1000 -nostdin ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; kill "$uas" 2>/dev/null || true; cleanup
  finish "$name" "$WORK/$name.pcap"
}

# SIP over TLS: SIPp UAC (TCP, on the phone's loopback) -> tls_relay.py (TLS client, key log)
# -> kamailio TLS 10.77.0.1:5061 -> SIPp UAS (TCP, on the server's loopback). Only the TLS
# leg between the two namespaces is captured.
scn_benign_tls_call() {
  local name=benign-tls-call
  log "$name"
  new_ns eo-ph1; new_ns eo-pbx
  link eo-ph1 eth0 10.77.0.2/24 eo-pbx eth0 10.77.0.1/24
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pbx.example.test -days 30 \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
  cat >"$WORK/tls.cfg" <<EOF
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $WORK/tls.key
certificate = $WORK/tls.crt

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
EOF
  NEXTHOP="sip:127.0.0.1:5090;transport=tcp" kam_cfg "$WORK/$name.cfg" "tls:10.77.0.1:5061 tcp:127.0.0.1:5060" proxy 0
  sed -i -e 's/^disable_tcp=yes/enable_tls=yes\ntcp_children=2/' \
         -e "s|^loadmodule \"kex.so\"|loadmodule \"tls.so\"\nmodparam(\"tls\", \"config\", \"$WORK/tls.cfg\")\nloadmodule \"kex.so\"|" "$WORK/$name.cfg"
  kam_start eo-pbx "$WORK/$name.cfg"
  ip netns exec eo-pbx timeout 60 sipp -sf "$HERE/sipp/uas-reinvite.xml" -t t1 -i 127.0.0.1 -p 5090 -nostdin -m 2 >/dev/null 2>&1 &
  local uas=$!; PIDS+=($uas)
  rm -f "$OUT/$name.keys"
  ip netns exec eo-ph1 timeout 60 python3 "$HERE/tools/tls_relay.py" --listen 127.0.0.1:5080 --to 10.77.0.1:5061 \
     --keylog "$OUT/$name.keys" --seconds 25 >"$WORK/relay.log" 2>&1 &
  local relay=$!; PIDS+=($relay); sleep 1
  cap_start eo-pbx eth0 "$WORK/$name.pcap" tcp
  ( cd "$WORK" && nsx eo-ph1 timeout 40 sipp 127.0.0.1:5080 -t t1 -i 127.0.0.1 -p 5070 -sf "$HERE/sipp/uac-reinvite.xml" -s 2010 -m 2 -r 1 -l 1 -nostdin ) >"$WORK/$name.out" 2>&1 || true
  sleep 1
  cap_stop; kill "$uas" "$relay" 2>/dev/null || true; cleanup
  finish "$name" "$WORK/$name.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# WebRTC-style ICE + SRTP/SRTCP between two namespaces, 10 s at 50 packets/s each way
scn_benign_srtp_webrtc() {
  local name=benign-srtp-webrtc
  log "$name"
  new_ns eo-ph1; new_ns eo-ph2
  link eo-ph1 eth0 198.51.100.20/24 eo-ph2 eth0 198.51.100.30/24
  cap_start eo-ph1 eth0 "$WORK/$name.pcap" udp
  ip netns exec eo-ph2 timeout 20 python3 "$HERE/tools/webrtc_srtp.py" --role answer --local 198.51.100.30:50002 --remote 198.51.100.20:50001 --seconds 10 &
  local ans=$!; PIDS+=($ans)
  nsx eo-ph1 timeout 20 python3 "$HERE/tools/webrtc_srtp.py" --role offer --local 198.51.100.20:50001 --remote 198.51.100.30:50002 --seconds 10 || true
  wait "$ans" || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"
}

# office LAN: kamailio registrar 10.77.0.1 (qop=auth) with nathelper sending an OPTIONS
# keep-alive ("SIP ping") every 4 s to every contact it saved; 12 SIPp phones 3001-3012 on
# 10.77.0.11-22 (one namespace, one address each) register from their SIP port 5060 with a
# Contact on it (REGISTER, 401, REGISTER with digest, 200) and answer the pings 200 (-aa).
# Captured on the bridge.
scn_benign_options_keepalive() {
  local name=benign-options-keepalive users="" i ext ip f
  local pids=()
  log "$name"
  new_ns eo-hub
  nsx eo-hub sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx eo-hub ip link add br0 type bridge; nsx eo-hub ip link set br0 up
  lan_host eo-pbx 10.77.0.1; lan_host eo-ph1 10.77.0.11
  for i in $(seq 12 22); do nsx eo-ph1 ip addr add 10.77.0.$i/24 dev eth0; done
  for ext in $(seq 3001 3012); do users+="$ext:Hn4s-${ext}-Lp8qVt2w "; done
  USERS="$users" kam_cfg "$WORK/$name.cfg" "udp:10.77.0.1:5060" registrar 1
  sed -i -e 's|^loadmodule "auth.so"$|loadmodule "auth.so"\nloadmodule "nathelper.so"\nmodparam("nathelper", "natping_interval", 4)\nmodparam("nathelper", "ping_nated_only", 0)\nmodparam("nathelper", "sipping_bflag", 7)\nmodparam("nathelper", "sipping_from", "sip:keepalive@10.77.0.1")|' \
         -e 's|^    if (!save("location")) { sl_reply_error(); }$|    setbflag(7);\n&|' "$WORK/$name.cfg"
  grep -q 'setbflag(7)' "$WORK/$name.cfg" || { echo "$name: cfg edit failed" >&2; exit 1; }
  kam_start eo-pbx "$WORK/$name.cfg"
  cap_start eo-hub br0 "$WORK/$name.pcap" udp
  for i in $(seq 1 12); do
    ext=$((3000 + i)); ip=10.77.0.$((10 + i)); f="$WORK/reg-$ext-keepalive.xml"
    sed -e "s/\[field0\]/$ext/g" -e "s/\[field1\]/Hn4s-$ext-Lp8qVt2w/g" "$HERE/sipp/register-keepalive.xml" >"$f"
    # phones come up 0.4 s apart and all stay until about 15 s after the first
    ip netns exec eo-ph1 timeout 40 sipp 10.77.0.1:5060 -i $ip -p 5060 -sf "$f" -m 1 -d $((15000 - (i - 1) * 400)) \
        -aa -nostdin -trace_err -error_file "$WORK/$name-$ext.err" >"$WORK/$name-$ext.out" 2>&1 &
    pids+=($!); PIDS+=($!)
    sleep 0.4
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"
  grep -h -E "Successful call|Failed call" "$WORK/$name"-30*.out | sort | uniq -c >&2 || true
}

# a direct call 10.77.0.2 (SIPp UAC) -> 10.77.0.3 (SIPp UAS) offering and answering RTP/SAVP
# with an SDES key each (a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<fresh random key>), then
# 3 s of SRTP each way at 50 packets/s protected with those keys (tools/sdes_srtp.py, pylibsrtp)
# between the ACK and the BYE. Captured on the callee's interface.
scn_benign_sdes_call() {
  local name=benign-sdes-call ka kb uas uac ma mb
  log "$name"
  new_ns eo-ph1; new_ns eo-ph2
  link eo-ph1 eth0 10.77.0.2/24 eo-ph2 eth0 10.77.0.3/24
  ka=$(head -c 30 /dev/urandom | base64); kb=$(head -c 30 /dev/urandom | base64)
  cap_start eo-ph2 eth0 "$WORK/$name.pcap" udp
  ip netns exec eo-ph2 timeout 30 sipp -sf "$HERE/sipp/uas-sdes.xml" -i 10.77.0.3 -p 5060 -m 1 \
      -key crypto_tx "$kb" -key media_port_tx 40002 -nostdin -trace_err -error_file "$WORK/$name-uas.err" >/dev/null 2>&1 &
  uas=$!; PIDS+=($uas); sleep 1
  ip netns exec eo-ph1 timeout 30 sipp 10.77.0.3:5060 -i 10.77.0.2 -p 5060 -s 2010 -sf "$HERE/sipp/uac-sdes.xml" -m 1 -d 5000 \
      -key crypto_tx "$ka" -key media_port_tx 40000 -nostdin -trace_err -error_file "$WORK/$name-uac.err" >"$WORK/$name.out" 2>&1 &
  uac=$!; PIDS+=($uac); sleep 0.8
  ip netns exec eo-ph2 timeout 10 python3 "$HERE/tools/sdes_srtp.py" --local 10.77.0.3:40002 --remote 10.77.0.2:40000 \
      --tx-key "$kb" --rx-key "$ka" --ssrc 0x2B0B0010 --seconds 3 >"$WORK/$name-b.out" 2>&1 &
  mb=$!; PIDS+=($mb)
  ip netns exec eo-ph1 timeout 10 python3 "$HERE/tools/sdes_srtp.py" --local 10.77.0.2:40000 --remote 10.77.0.3:40002 \
      --tx-key "$ka" --rx-key "$kb" --ssrc 0xA11CE001 --seconds 3 >"$WORK/$name-a.out" 2>&1 &
  ma=$!; PIDS+=($ma)
  wait "$ma" || true; wait "$mb" || true; wait "$uac" || true
  kill "$uas" 2>/dev/null || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"
  cat "$WORK/$name-a.out" "$WORK/$name-b.out" >&2; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# ---------------------------------------------------------------- challenges, emergency calls, loops, bindings
# lan_hub: namespace eo-hub with the office LAN bridge br0 (hosts join it with lan_host)
lan_hub() {
  new_ns eo-hub
  nsx eo-hub sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx eo-hub ip link add br0 type bridge; nsx eo-hub ip link set br0 up
}
# fill_xml TEMPLATE OUT VALUE...: copy of a SIPp scenario with [field0], [field1]... replaced by the values
# (SIPp does not expand [fieldN] inside [authentication ...])
fill_xml() {
  local tpl=$1 out=$2 i=0 v; shift 2
  cp "$tpl" "$out"
  for v in "$@"; do sed -i "s|\[field$i\]|$v|g" "$out"; i=$((i + 1)); done
}

# A SIPp UAC at 203.0.113.66 sends 20 INVITEs to extension 2000 (one new Call-ID each, 2 calls/s);
# kamailio challenges each one 407 (kam_challenge_calls, no qop); the UAC ACKs the challenge and
# never sends credentials (sipp/uac-noauth.xml).
scn_sipp_challenge_flood() {
  local name=sipp-challenge-flood users="2000:Xv8r-2000-Qm4tLs9k"
  log "$name"
  new_ns eo-att; new_ns eo-srv
  link eo-att att0 $ATT/24 eo-srv srv0 $SRV/24
  USERS="$users" kam_cfg "$WORK/$name.cfg" "udp:$SRV:5060" registrar 0
  kam_challenge_calls "$WORK/$name.cfg" "$users"
  kam_start eo-srv "$WORK/$name.cfg"
  cap_start eo-srv srv0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-att timeout 60 sipp "$SRV:5060" -i $ATT -p 5060 -s 2000 -sf "$HERE/sipp/uac-noauth.xml" \
      -r 2 -m 20 -l 20 -nostdin -trace_err -error_file "$WORK/$name-uac.err" ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# Office LAN: phone 10.77.0.22 (never registers) dials 911, then 112 (sipp/uac-call.xml with
# sipp/emergency-numbers.csv) through the kamailio proxy 10.77.0.1 (record-routing, relays every
# request to the emergency gateway 10.77.0.5, a SIPp UAS answering 180/200). Captured on the bridge.
scn_sipp_emergency_call() {
  local name=sipp-emergency-call uas
  log "$name"
  lan_hub; lan_host eo-pbx 10.77.0.1; lan_host eo-ph1 10.77.0.22; lan_host eo-gw 10.77.0.5
  NEXTHOP="sip:10.77.0.5:5060" kam_cfg "$WORK/$name.cfg" "udp:10.77.0.1:5060" proxy 0
  kam_start eo-pbx "$WORK/$name.cfg"
  ip netns exec eo-gw timeout 60 sipp -sf "$HERE/sipp/uas-answer.xml" -i 10.77.0.5 -p 5060 -m 2 -nostdin -trace_err \
      -error_file "$WORK/$name-uas.err" >/dev/null 2>&1 &
  uas=$!; PIDS+=($uas); sleep 1
  cap_start eo-hub br0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-ph1 timeout 60 sipp 10.77.0.1:5060 -i 10.77.0.22 -p 5060 -sf "$HERE/sipp/uac-call.xml" \
      -inf "$HERE/sipp/emergency-numbers.csv" -r 1 -m 2 -l 1 -nostdin -trace_err -error_file "$WORK/$name-uac.err" ) >"$WORK/$name.out" 2>&1 || true
  kill "$uas" 2>/dev/null || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# Office LAN with a misrouted pair of kamailio proxies: 10.77.0.1 relays every request to 10.77.0.2,
# which relays it back to 10.77.0.1 (both record-route; maxfwd max_limit 6 caps the 70 the phone
# sends). Phone 10.77.0.23 calls 2005 once (sipp/uac-loop.xml); the INVITE bounces between the
# proxies until one receives it with Max-Forwards: 0 and answers 483 Too Many Hops
# (mf_process_maxfwd_header), which travels back hop by hop. Captured on the bridge.
scn_sipp_routing_loop() {
  local name=sipp-routing-loop f
  log "$name"
  lan_hub; lan_host eo-pbx 10.77.0.1; lan_host eo-px2 10.77.0.2; lan_host eo-ph1 10.77.0.23
  NEXTHOP="sip:10.77.0.2:5060" kam_cfg "$WORK/$name-a.cfg" "udp:10.77.0.1:5060" proxy 0
  NEXTHOP="sip:10.77.0.1:5060" kam_cfg "$WORK/$name-b.cfg" "udp:10.77.0.2:5060" proxy 0
  for f in "$WORK/$name-a.cfg" "$WORK/$name-b.cfg"; do
    sed -i 's|^modparam("rr", "enable_full_lr", 1)$|&\nmodparam("maxfwd", "max_limit", 6)|' "$f"
    grep -q 'max_limit' "$f" || { echo "$name: cfg edit failed" >&2; exit 1; }
  done
  kam_start eo-pbx "$WORK/$name-a.cfg"
  kam_start eo-px2 "$WORK/$name-b.cfg"
  cap_start eo-hub br0 "$WORK/$name.pcap" udp
  ( cd "$WORK" && nsx eo-ph1 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.23 -p 5060 -s 2005 -sf "$HERE/sipp/uac-loop.xml" \
      -m 1 -nostdin -trace_err -error_file "$WORK/$name-uac.err" ) >"$WORK/$name.out" 2>&1 || true
  sleep 2
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# kamailio registrar with a LAN side (10.77.0.1) and an internet side (203.0.113.1), qop=auth, domain
# pbx.example.test. Phone 10.77.0.21 registers 2001 (sipp/register-aor.xml: REGISTER, 401, digest,
# 200; Expires 300); 3 s later 203.0.113.66 registers the same AOR with the same (leaked) password
# and a Contact on itself, answered 200. Captured on both registrar interfaces and merged.
ROAM_DOMAIN=pbx.example.test
scn_sipp_registration_hijack() {
  local name=sipp-registration-hijack
  log "$name"
  lan_hub; lan_host eo-pbx 10.77.0.1; lan_host eo-ph1 10.77.0.21
  new_ns eo-att; link eo-att att0 $ATT/24 eo-pbx wan0 $SRV/24
  USERS="2001:Rb3t-2001-Vn8qXw4z 2002:Rb3t-2002-Vn8qXw4z" kam_cfg "$WORK/$name.cfg" "udp:10.77.0.1:5060 udp:$SRV:5060" registrar 1
  kam_start eo-pbx "$WORK/$name.cfg"
  fill_xml "$HERE/sipp/register-aor.xml" "$WORK/$name-phone.xml" 2001 Rb3t-2001-Vn8qXw4z $ROAM_DOMAIN 300 OfficePhone
  fill_xml "$HERE/sipp/register-aor.xml" "$WORK/$name-att.xml" 2001 Rb3t-2001-Vn8qXw4z $ROAM_DOMAIN 300 Softphone
  cap_start eo-pbx eth0 "$WORK/$name-lan.pcap" udp
  cap_start eo-pbx wan0 "$WORK/$name-wan.pcap" udp
  ( cd "$WORK"
    nsx eo-ph1 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.21 -p 5060 -sf "$WORK/$name-phone.xml" -m 1 -nostdin -trace_err
    sleep 3
    nsx eo-att timeout 30 sipp $SRV:5060 -i $ATT -p 5060 -sf "$WORK/$name-att.xml" -m 1 -nostdin -trace_err
  ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name-lan.pcap" "$WORK/$name-wan.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

# The benign counterpart: phone 2001 registers from 10.77.0.21 with Expires 60 (kamailio's
# min_expires), does not refresh, and 65 s later, its binding expired, registers again from a new
# DHCP address 10.77.0.37 (same namespace: the same device moved). Captured on the bridge.
scn_benign_roaming_phone() {
  local name=benign-roaming-phone
  log "$name"
  lan_hub; lan_host eo-pbx 10.77.0.1; lan_host eo-ph1 10.77.0.21
  USERS="2001:Rb3t-2001-Vn8qXw4z 2002:Rb3t-2002-Vn8qXw4z" kam_cfg "$WORK/$name.cfg" "udp:10.77.0.1:5060" registrar 1
  kam_start eo-pbx "$WORK/$name.cfg"
  fill_xml "$HERE/sipp/register-aor.xml" "$WORK/$name.xml" 2001 Rb3t-2001-Vn8qXw4z $ROAM_DOMAIN 60 OfficePhone
  cap_start eo-hub br0 "$WORK/$name.pcap" udp
  ( cd "$WORK"
    nsx eo-ph1 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.21 -p 5060 -sf "$WORK/$name.xml" -m 1 -nostdin -trace_err
    sleep 65
    nsx eo-ph1 ip addr del 10.77.0.21/24 dev eth0; nsx eo-ph1 ip addr add 10.77.0.37/24 dev eth0
    nsx eo-ph1 timeout 30 sipp 10.77.0.1:5060 -i 10.77.0.37 -p 5060 -sf "$WORK/$name.xml" -m 1 -nostdin -trace_err
  ) >"$WORK/$name.out" 2>&1 || true
  cap_stop; cleanup
  finish "$name" "$WORK/$name.pcap"; grep -E "Successful call|Failed call" "$WORK/$name.out" >&2 || true
}

SCENARIOS=(svcrack svmap-sweep svwar-enum svwar-invite-enum svwar-options-enum relayed-scan sipp-invite-flood sipp-toll-fraud sipp-spoof-inject benign-pbx benign-loopback-contact benign-tls-call benign-srtp-webrtc benign-options-keepalive benign-sdes-call sipp-challenge-flood sipp-emergency-call sipp-routing-loop sipp-registration-hijack benign-roaming-phone)
mkwords
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${SCENARIOS[@]}")
for s in "${want[@]}"; do "scn_${s//-/_}"; done
log "done; corpus in $OUT"
