# shellcheck shell=bash
# shellcheck disable=SC2154  # WORK, OUT, HERE, NS_*, KAM_*, MASK_KEY: set by cap_init / the caller
#
# tests/lib/capture-helpers.sh: shell functions shared by the scripts that make the real-tool
# test captures (tests/case/make-case.sh, tests/b2bua/make-b2bua.sh, tests/b2bua/make-anchored.sh).
# SOURCE it, do not execute it; it only defines functions and runs nothing by itself:
#
#   source "$(dirname "$0")/../lib/capture-helpers.sh"
#
# The caller runs under `set -euo pipefail`, as root. cap_init creates the state the other
# functions share: WORK (scratch directory), NSES (namespaces made), PIDS (background processes
# to end), CAPS (running tcpdumps), FAILED (names of failed checks, for the caller's exit code).
# Functions that need more globals name them below; the caller sets them.
#
# Run state, cleanup, small wrappers
#   cap_init PREFIX         WORK=$(mktemp -d /tmp/PREFIX.XXXXXX), empty NSES PIDS CAPS FAILED, and the
#                           traps: EXIT -> final_cleanup, INT/TERM -> exit 130
#   cleanup                 ends every process in PIDS (TERM, then KILL after CLEANUP_GRACE seconds,
#                           default 0.5) and deletes every namespace in NSES
#   final_cleanup           cleanup, then removes WORK (kept and its path printed if KEEP_WORK is set)
#   log MSG...              "== MSG..." on stderr
#   nsx NS CMD...           runs CMD in network namespace NS
#   ts TSHARK_ARGS...       tshark, without its "Running as user root" warning
#   require_tools HINT T... exits 1 ("missing tool: T (HINT)") unless every tool T is on PATH
# Namespaces and links
#   new_ns NAME             fresh namespace NAME (an old one is deleted first; added to NSES),
#                           loopback up, IPv6 off (no RS/MLD chatter in the captures)
#   mac ADDR[/PFX]          fixed, locally administered MAC derived from an IPv4 address
#                           (10.77.30.1 -> 02:00:0a:4d:1e:01), so reruns give the same Ethernet headers
#   link NS_A IF_A ADDR_A/PFX NS_B IF_B ADDR_B/PFX [MTU]
#                           veth pair IF_A (in NS_A) <-> IF_B (in NS_B) with those addresses and
#                           mac-derived MACs, optionally that MTU on both ends, both ends up
#   static_arp NS IF ADDR   permanent ARP entry ADDR -> mac ADDR on IF (no ARP inside a capture)
# Capture
#   cap_start NS IF FILE [tcpdump options/filter...]
#                           tcpdump -i IF -U -s 0 -w FILE in NS, in the background (pid in CAPS and
#                           PIDS; its stderr goes to $WORK/tcpdump.log)
#   cap_stop                after 1 s, SIGINT to every tcpdump in CAPS and waits until they have
#                           written their files
# SIPp and audio
#   sipp_ok OUTFILE N       true if the SIPp caller's final statistics in OUTFILE report N
#                           successful calls and 0 failed (logs both numbers)
#   find_g711a              prints the path of g711a.pcap (shipped with Debian's sip-tester), or fails
#   alaw_extract PCAP OUT   writes the G.711 A-law RTP payload of PCAP (g711a.pcap: 236 x 240 bytes =
#                           7.08 s of speech) to OUT as a raw file; exits 1 unless it is 56640 bytes
#   audio SECONDS OFFSET OUT  SECONDS of $WORK/g711a.alaw (from alaw_extract) from second OFFSET on
# Two-leg B2BUA setup (make-b2bua.sh, make-anchored.sh). Globals: NS_UAC NS_MID NS_UAS
# (namespace names), KAM_MODS, KAM_CFG (kamailio), HERE (tests/b2bua), MASK_KEY (topoh), OUT.
#   find_kam_mod NAME.so    sets KAM_MODS to a directory holding kamailio module NAME.so, or fails
#   kam_start NS [kamailio options...]
#                           kamailio -f $KAM_CFG in the foreground in NS (background job; log in
#                           $WORK/kamailio.log); exits 1 if it is not running 2 s later
#   b2bua_topology IP_FORWARD
#                           NS_UAC 10.88.1.2 <-> NS_MID outer 10.88.1.1 | inner 10.88.2.1 <-> NS_UAS
#                           10.88.2.2, default routes via NS_MID, net.ipv4.ip_forward=IP_FORWARD in
#                           NS_MID, static ARP everywhere
#   users_csv FILE CALLS HOLD_MS_EXPR
#                           SIPp injection file: one row a call i: caller 1000+i; callee 2000+i;
#                           hold ms (bash arithmetic HOLD_MS_EXPR on $i); SDP port 20000+2i
#   b2bua_calls NAME DIR UAC_XML UAS_XML CALLS RATE LIMIT [UAS options...]
#                           one run over b2bua_topology (kamailio etc. already started): SIPp UAS in
#                           NS_UAS (10.88.2.2, media port 7000), tcpdump "ip" on NS_MID's outer and
#                           inner, SIPp UAC in NS_UAC (10.88.1.2, media port 6000, DIR/users.csv) to
#                           10.88.1.1:5060; then cap_stop, cleanup, sipp_ok (FAILED += NAME(calls))
#                           and copies the captures to OUT/NAME-outer.pcap, OUT/NAME-inner.pcap
#   invites FILE            one line per INVITE (retransmissions folded): X-Test-Seq marker, Call-ID,
#                           From tag, X-Orig-Call-ID (empty if absent), tab-separated, by marker
#   truth NAME CALLS [XORIG]
#                           pairs the INVITEs of OUT/NAME-outer.pcap and -inner.pcap by marker,
#                           writes OUT/NAME.truth.csv (outer_call_id,inner_call_id) and
#                           $WORK/NAME.pairs, checks CALLS pairs, different Call-IDs, same From tags,
#                           inner = topoh mask of outer (tools/topoh_mask.py), and the inner
#                           X-Orig-Call-ID = outer Call-ID if XORIG=1, no such header otherwise
#                           (FAILED += NAME(truth) on a failed check)
#   side_facts FILE [rtp-list]
#                           what tshark measures in one capture (counts of frames, SIP, Call-IDs,
#                           RTP, 5-tuples...), as "key: value" lines; rtp-list adds the RTP 5-tuple
#                           list and payload types
#   two_leg_facts NAME NOTE [SIDE_OPT [EXTRA]]
#                           writes OUT/NAME.facts.txt: "# NAME: tshark VERSION on the captures (NOTE)",
#                           side_facts (with SIDE_OPT) of both captures, the truth row count, then the
#                           file EXTRA if given; logs a one-line summary

# ------------------------------------------------------------------ run state, cleanup
cap_init() {
  WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
  NSES=(); PIDS=(); CAPS=(); FAILED=()
  trap final_cleanup EXIT
  trap "exit 130" INT TERM
}
cleanup() {
  set +e
  local p n
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep "${CLEANUP_GRACE:-0.5}"
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for n in "${NSES[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
  NSES=(); PIDS=(); CAPS=()
  set -e
}
final_cleanup() { cleanup; if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }

log() { echo "== $*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ts() { tshark "$@" 2> >(grep -v 'Running as user "root"' >&2); }
require_tools() {
  local hint=$1 t; shift
  for t; do command -v "$t" >/dev/null || { echo "missing tool: $t ($hint)" >&2; exit 1; }; done
}

# ------------------------------------------------------------------ namespaces and links
new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"; NSES+=("$1")
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$1" ip link set lo up
}
mac() { local o; IFS=. read -ra o <<<"${1%/*}"; printf '02:00:%02x:%02x:%02x:%02x' "${o[@]}"; }
link() {
  ip link add "$2" netns "$1" address "$(mac "$3")" type veth peer name "$5" netns "$4" address "$(mac "$6")"
  if [ -n "${7:-}" ]; then
    nsx "$1" ip link set "$2" mtu "$7"; nsx "$4" ip link set "$5" mtu "$7"
  fi
  nsx "$1" ip addr add "$3" dev "$2"; nsx "$1" ip link set "$2" up
  nsx "$4" ip addr add "$6" dev "$5"; nsx "$4" ip link set "$5" up
}
static_arp() { nsx "$1" ip neigh replace "$3" lladdr "$(mac "$3")" dev "$2" nud permanent; }

# ------------------------------------------------------------------ capture
cap_start() {
  local ns=$1 ifc=$2 f=$3; shift 3
  ip netns exec "$ns" tcpdump -i "$ifc" -U -s 0 -Z root -w "$f" "$@" 2>>"$WORK/tcpdump.log" &
  CAPS+=("$!"); PIDS+=("$!")
}
cap_stop() {
  sleep 1
  local p
  for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAPS=()
}

# ------------------------------------------------------------------ SIPp and audio
sipp_ok() {
  local ok bad
  ok=$(grep -h "Successful call" "$1" | tail -1 | awk -F'|' '{print $3 + 0}')
  bad=$(grep -h "Failed call" "$1" | tail -1 | awk -F'|' '{print $3 + 0}')
  log "SIPp caller: ${ok:-0} successful call(s), ${bad:-?} failed"
  [ "${ok:-0}" = "$2" ] && [ "${bad:-1}" = 0 ]
}
find_g711a() {
  local f
  for f in /usr/share/sip-tester/g711a.pcap /usr/share/sipp/pcap/g711a.pcap /usr/local/share/sipp/pcap/g711a.pcap \
           "$(dpkg -L sip-tester 2>/dev/null | grep 'g711a.pcap$' | head -1 || true)"; do
    [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}
alaw_extract() {
  ts -r "$1" -d udp.port==0-65535,rtp -T fields -e rtp.payload | tr -d ':\n' | xxd -r -p >"$2"
  [ "$(stat -c %s "$2")" = 56640 ] ||
    { echo "unexpected audio in $1 ($(stat -c %s "$2") bytes of RTP payload, expected 56640)" >&2; exit 1; }
}
audio() { tail -c +$(($2 * 8000 + 1)) "$WORK/g711a.alaw" | head -c $(($1 * 8000)) >"$3"; }

# ------------------------------------------------------------------ two-leg B2BUA setup
find_kam_mod() {
  KAM_MODS=${KAM_MODS:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
  [ -f "$KAM_MODS/$1" ] && return 0
  local f; f=$(find /usr/lib /usr/local/lib -name "$1" -path '*kamailio*' 2>/dev/null | head -1)
  [ -n "$f" ] && KAM_MODS=$(dirname "$f")
}
kam_start() {
  local ns=$1 rd="$WORK/kam.run" kp; shift
  mkdir -p "$rd"
  ip netns exec "$ns" kamailio -DD -E -L "$KAM_MODS" -f "$KAM_CFG" -Y "$rd" -P "$rd/pid" -m 64 -M 8 "$@" \
    >>"$WORK/kamailio.log" 2>&1 &
  kp=$!; PIDS+=("$kp")
  sleep 2
  kill -0 "$kp" 2>/dev/null || { tail -20 "$WORK/kamailio.log" >&2; log "kamailio did not start"; exit 1; }
}
b2bua_topology() {
  new_ns "$NS_UAC"; new_ns "$NS_MID"; new_ns "$NS_UAS"
  link "$NS_UAC" eth0 10.88.1.2/24 "$NS_MID" outer 10.88.1.1/24
  link "$NS_MID" inner 10.88.2.1/24 "$NS_UAS" eth0 10.88.2.2/24
  nsx "$NS_UAC" ip route add default via 10.88.1.1
  nsx "$NS_UAS" ip route add default via 10.88.2.1
  nsx "$NS_MID" sysctl -qw "net.ipv4.ip_forward=$1"
  static_arp "$NS_UAC" eth0 10.88.1.1; static_arp "$NS_MID" outer 10.88.1.2
  static_arp "$NS_MID" inner 10.88.2.2; static_arp "$NS_UAS" eth0 10.88.2.1
}
users_csv() {
  local f=$1 calls=$2 hold=$3 i
  { echo SEQUENTIAL
    for ((i = 1; i <= calls; i++)); do echo "$((1000 + i));$((2000 + i));$((hold));$((20000 + 2 * i))"; done
  } >"$f"
}
b2bua_calls() {
  local name=$1 d=$2 uac_sf=$3 uas_sf=$4 calls=$5 rate=$6 limit=$7; shift 7
  ( cd "$d" && exec ip netns exec "$NS_UAS" timeout 120 sipp -sf "$uas_sf" -t u1 -i 10.88.2.2 -p 5060 \
      -mi 10.88.2.2 -mp 7000 "$@" -m "$calls" -nostdin ) >"$d/uas.out" 2>&1 &
  PIDS+=("$!")
  cap_start "$NS_MID" outer "$d/outer.pcap" ip
  cap_start "$NS_MID" inner "$d/inner.pcap" ip
  sleep 1.5
  ( cd "$d" && nsx "$NS_UAC" timeout 120 sipp 10.88.1.1:5060 -sf "$uac_sf" -t u1 -i 10.88.1.2 -p 5060 \
      -mi 10.88.1.2 -mp 6000 -inf users.csv -m "$calls" -r "$rate" -l "$limit" -nostdin ) >"$d/uac.out" 2>&1 || true
  sleep 1
  cap_stop
  cleanup
  sipp_ok "$d/uac.out" "$calls" || FAILED+=("$name(calls)")
  cp "$d/outer.pcap" "$OUT/$name-outer.pcap"
  cp "$d/inner.pcap" "$OUT/$name-inner.pcap"
}

# The marker is the value of the X-Test-Seq header, read from the raw header block
# (sip.msg_hdr); tshark has no field for it.
invites() {
  ts -r "$1" -Y 'sip.Method == "INVITE"' -T fields -E separator=/t -e sip.Call-ID -e sip.from.tag -e sip.msg_hdr |
    awk -F'\t' '{ seq = ""; orig = ""
                  if (match($3, /X-Test-Seq: *[0-9]+/)) { seq = substr($3, RSTART, RLENGTH); sub(/.*: */, "", seq) }
                  if (match($3, /X-Orig-Call-ID: *[^\\ ]+/)) { orig = substr($3, RSTART, RLENGTH); sub(/^X-Orig-Call-ID: */, "", orig) }
                  print seq "\t" $1 "\t" $2 "\t" orig }' | sort -u | sort -t$'\t' -k1,1n
}
truth() {
  local name=$1 calls=$2 xorig=${3:-0}
  local csv="$OUT/$name.truth.csv" w="$WORK/$name" bad=0 n_out n_in n_pair
  invites "$OUT/$name-outer.pcap" >"$w.outer.inv"
  invites "$OUT/$name-inner.pcap" >"$w.inner.inv"
  # pair by marker (join on field 1); a marker must appear exactly once per side
  join -t$'\t' -j 1 <(sort -t$'\t' -k1,1 "$w.outer.inv") <(sort -t$'\t' -k1,1 "$w.inner.inv") |
    sort -t$'\t' -k1,1n >"$w.pairs"
  # pairs: seq, outer cid, outer from-tag, outer x-orig, inner cid, inner from-tag, inner x-orig
  { echo "outer_call_id,inner_call_id"; cut -f2,5 "$w.pairs" | tr '\t' ,; } >"$csv"
  n_out=$(cut -f1 "$w.outer.inv" | sort -u | wc -l); n_in=$(cut -f1 "$w.inner.inv" | sort -u | wc -l)
  n_pair=$(wc -l <"$w.pairs")
  [ "$n_out" = "$calls" ] && [ "$n_in" = "$calls" ] && [ "$n_pair" = "$calls" ] &&
    [ "$(wc -l <"$w.outer.inv")" = "$calls" ] && [ "$(wc -l <"$w.inner.inv")" = "$calls" ] ||
    { log "$name: truth: $n_out outer / $n_in inner markers, $n_pair pairs, expected $calls"; bad=1; }
  # checks independent of the marker
  awk -F'\t' '$2 == $5 { print "same Call-ID on both legs: " $2; e = 1 } END { exit e }' "$w.pairs" || bad=1
  awk -F'\t' '$3 != $6 { print "From tags differ for marker " $1; e = 1 } END { exit e }' "$w.pairs" || bad=1
  cut -f2 "$w.pairs" | python3 "$HERE/tools/topoh_mask.py" "$MASK_KEY" >"$w.masked"
  cmp -s "$w.masked" <(cut -f5 "$w.pairs") || { log "$name: inner Call-IDs are not topoh's mask of the outer ones"; bad=1; }
  if [ "$xorig" = 1 ]; then
    awk -F'\t' '$7 != $2 { print "X-Orig-Call-ID " $7 " != outer Call-ID " $2; e = 1 } END { exit e }' "$w.pairs" || bad=1
  else
    awk -F'\t' '$4 != "" || $7 != "" { print "unexpected X-Orig-Call-ID"; e = 1 } END { exit e }' "$w.pairs" || bad=1
  fi
  if [ "$bad" = 0 ]; then log "$name: truth: $n_pair calls paired, all checks passed"; else FAILED+=("$name(truth)"); fi
}
side_facts() {
  local f=$1 b
  b=$(basename "$f")
  echo "## $b"
  echo "size_bytes: $(stat -c %s "$f")"
  echo "frames: $(ts -r "$f" | wc -l)"
  echo "duration: $(capinfos -u "$f" 2>/dev/null | awk -F': *' '/Capture duration/ {print $2}')"
  echo "sip_messages: $(ts -r "$f" -Y sip | wc -l)"
  echo "sip_requests_by_method: $(ts -r "$f" -Y 'sip.Method' -T fields -e sip.Method | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
  echo "sip_responses_by_code: $(ts -r "$f" -Y 'sip.Status-Code' -T fields -e sip.Status-Code | sort -n | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
  echo "call_ids: $(ts -r "$f" -Y sip -T fields -e sip.Call-ID | sort -u | wc -l)"
  echo "call_id_examples: $(ts -r "$f" -Y 'sip.Method == "INVITE"' -T fields -e sip.Call-ID | head -2 | paste -sd' ')"
  echo "invite_requests: $(ts -r "$f" -Y 'sip.Method == "INVITE"' | wc -l)"
  echo "x_orig_call_id_headers: $(ts -r "$f" -Y 'sip.msg_hdr contains "X-Orig-Call-ID"' | wc -l)"
  echo "x_test_seq_headers: $(ts -r "$f" -Y 'sip.msg_hdr contains "X-Test-Seq"' | wc -l)"
  echo "rtp_packets: $(ts -r "$f" -Y rtp | wc -l)"
  echo "rtp_streams_ssrc: $(ts -r "$f" -Y rtp -T fields -e rtp.ssrc | sort -u | wc -l)"
  echo "rtp_5tuples: $(ts -r "$f" -Y rtp -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport | sort -u | wc -l)"
  if [ "${2:-}" = rtp-list ]; then
    echo "rtp_5tuple_list (packets src:port -> dst:port ssrc):"
    ts -r "$f" -Y rtp -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e rtp.ssrc |
      sort | uniq -c | sort -k3,3 -k5,5 -k2,2n | awk '{printf "  %s %s:%s -> %s:%s %s\n", $1, $2, $3, $4, $5, $6}'
    echo "rtp_payload_types: $(ts -r "$f" -Y rtp -T fields -e rtp.p_type | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
  fi
  echo "sdp_bodies: $(ts -r "$f" -Y sdp | wc -l), distinct SDP media endpoints (c= address, m= port): $(ts -r "$f" -Y sdp -T fields -e sdp.connection_info.address -e sdp.media.port | sort -u | wc -l)"
  echo "other_frames (not sip, not rtp): $(ts -r "$f" -Y '!sip && !rtp' | wc -l)"
  echo "max_concurrent_calls (INVITE..BYE 200 overlap): $(ts -r "$f" -Y 'sip.CSeq.method == "INVITE" && sip.Status-Code == 200 || sip.CSeq.method == "BYE" && sip.Status-Code == 200' \
       -T fields -e frame.time_epoch -e sip.Call-ID -e sip.CSeq.method | sort -k1,1n |
       awk '$3 == "INVITE" && !($2 in up) { up[$2] = 1; n++; if (n > m) m = n } $3 == "BYE" && ($2 in up) { delete up[$2]; n-- } END { print m + 0 }')"
}
two_leg_facts() {
  local name=$1 note=$2 opt=${3:-} extra=${4:-}
  local f="$OUT/$name.facts.txt"
  {
    echo "# $name: tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}') on the captures ($note)"
    side_facts "$OUT/$name-outer.pcap" "$opt"
    side_facts "$OUT/$name-inner.pcap" "$opt"
    echo "## $name.truth.csv"
    echo "rows: $(($(wc -l <"$OUT/$name.truth.csv") - 1))"
    if [ -n "$extra" ]; then cat "$extra" 2>/dev/null || true; fi
  } >"$f"
  log "$name: $(awk '/^## .*pcap/ {n=$2} /^(size_bytes|sip_messages|rtp_packets):/ {printf "%s %s=%s  ", n, $1, $2}' "$f")"
}
