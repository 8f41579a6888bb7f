#!/usr/bin/env bash
# Regenerates the B2BUA-style two-leg captures in tests/b2bua/captures/ with REAL tools only:
# SIPp 3.6 (caller and callee; RTP with rtp_stream), kamailio 5.6 with the topoh module in the
# middle (it changes the Call-ID between the legs), tcpdump on both of the middle element's
# interfaces at the same time, tshark to check and to derive the ground truth.
#
#   hdr    3 sequential calls, 3 s of RTP each way, kamailio adds X-Orig-Call-ID (outer Call-ID)
#   nohdr  the same without any correlation header
#   busy   60 calls, 5 new/s, up to 40 at once (36 reached), hold 4-10 s, signaling only
#
#   sudo bash tests/b2bua/make-b2bua.sh              # all scenarios (~1.5 min)
#   sudo bash tests/b2bua/make-b2bua.sh busy ...     # some of them
#
# Topology (private namespaces and addresses only; nothing leaves them):
#
#   netns bb-uac                 netns bb-mid (kamailio, ip_forward=1)           netns bb-uas
#   SIPp UAC 10.88.1.2 --eth0-- outer 10.88.1.1 | inner 10.88.2.1 --eth0-- 10.88.2.2 SIPp UAS
#                              [NAME-outer.pcap] [NAME-inner.pcap]
#
# SIP goes UAC -> kamailio (outer) -> UAS (inner); topoh (mask_callid=1) gives the inner leg
# its own Call-ID. kamailio does not touch the SDP (no media relay), so RTP goes UAC <-> UAS
# directly, routed (ip_forward) through bb-mid, and is captured on both interfaces with the
# same 5-tuple on both sides. "busy" has no RTP: one SIPp 3.6 process sends the RTP of all its
# calls from one port (-mp), so concurrent calls would share one 5-tuple; its SDP ports are
# distinct per call instead (README.md).
#
# Per scenario NAME it writes captures/NAME-outer.pcap and NAME-inner.pcap (classic pcap,
# LINKTYPE_ETHERNET, filter "ip", captured simultaneously), captures/NAME.truth.csv
# (outer_call_id,inner_call_id: one row per call, paired by the per-call X-Test-Seq marker the
# SIPp caller puts in its INVITE, which kamailio forwards unchanged) and captures/NAME.facts.txt
# (what tshark measures in the two files). Exits non-zero if a call fails or a check fails:
# every call is paired on both sides, the Call-IDs differ between the legs, the From tags agree,
# the inner Call-ID equals topoh's mask of the outer one (tools/topoh_mask.py), and for "hdr"
# the X-Orig-Call-ID header of the inner INVITE carries the outer Call-ID.
#
# Idempotent: reruns rewrite the files (SIPp's pid is part of its Call-IDs, so the Call-IDs,
# hence the truth rows, change between runs; counts do not). Needs root. Cleans up its
# namespaces and processes on exit (KEEP_WORK=1 keeps the scratch directory with the logs).
# Helpers (new_ns, mac, link, cap_start/cap_stop, kam_start, sipp_ok) follow
# tests/tls/make-tls.sh and tests/dtls/make-dtls.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/captures"
SIPP_DIR="$HERE/sipp"
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump)" >&2; exit 1; }
for t in kamailio sipp tcpdump tshark capinfos ip timeout python3 xxd; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (apt-get install -y kamailio sip-tester tcpdump tshark iproute2 xxd python3)" >&2; exit 1; }
done
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -f "$KAM_MODS/topoh.so" ] || KAM_MODS=$(dirname "$(find /usr/lib -name topoh.so -path '*kamailio*' 2>/dev/null | head -1)") || true
[ -f "$KAM_MODS/topoh.so" ] || { echo "kamailio topoh module not found" >&2; exit 1; }
AUDIO=/usr/share/sip-tester/g711a.pcap
[ -f "$AUDIO" ] || AUDIO=$(dpkg -L sip-tester 2>/dev/null | grep 'g711a.pcap$' | head -1) || true
[ -f "$AUDIO" ] || { echo "g711a.pcap (shipped with sip-tester) not found" >&2; exit 1; }
MASK_KEY=earshot-b2bua-test   # = modparam("topoh", "mask_key", ...) in kamailio.cfg

ALL=(hdr nohdr busy)
if [ $# -gt 0 ]; then SCEN=("$@"); else SCEN=("${ALL[@]}"); fi
for s in "${SCEN[@]}"; do
  case " ${ALL[*]} " in *" $s "*) ;; *) echo "unknown scenario: $s (known: ${ALL[*]})" >&2; exit 2 ;; esac
done

WORK="$(mktemp -d /tmp/earshot-b2bua.XXXXXX)"
NSES=()
PIDS=()
CAPS=()
FAILED=()
NS_UAC=bb-uac; NS_MID=bb-mid; NS_UAS=bb-uas

cleanup() {
  set +e
  local p n
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for n in "${NSES[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null; done
  NSES=(); PIDS=(); CAPS=()
  set -e
}
final_cleanup() { cleanup; if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap final_cleanup EXIT
trap "exit 130" INT TERM

log() { echo "== $*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ts() { tshark "$@" 2> >(grep -v 'Running as user "root"' >&2); }

# new_ns NAME: fresh namespace with loopback up and IPv6 off (no RS/MLD chatter)
new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"; NSES+=("$1")
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$1" ip link set lo up
}
# mac ADDR/PFX: fixed, locally administered MAC from the IPv4 address (10.88.1.2 -> 02:00:0a:58:01:02)
mac() { local o; IFS=. read -ra o <<<"${1%/*}"; printf '02:00:%02x:%02x:%02x:%02x' "${o[@]}"; }
# link NS_A IF_A ADDR_A/PFX NS_B IF_B ADDR_B/PFX : veth pair between two namespaces
link() {
  ip link add "$2" netns "$1" address "$(mac "$3")" type veth peer name "$5" netns "$4" address "$(mac "$6")"
  nsx "$1" ip addr add "$3" dev "$2"; nsx "$1" ip link set "$2" up
  nsx "$4" ip addr add "$6" dev "$5"; nsx "$4" ip link set "$5" up
}
# static ARP entries everywhere: no ARP exchanges in the middle of a capture
static_arp() {  # static_arp NS IF ADDR
  nsx "$1" ip neigh replace "$3" lladdr "$(mac "$3")" dev "$2" nud permanent
}
topology() {
  new_ns $NS_UAC; new_ns $NS_MID; new_ns $NS_UAS
  link $NS_UAC eth0 10.88.1.2/24 $NS_MID outer 10.88.1.1/24
  link $NS_MID inner 10.88.2.1/24 $NS_UAS eth0 10.88.2.2/24
  nsx $NS_UAC ip route add default via 10.88.1.1
  nsx $NS_UAS ip route add default via 10.88.2.1
  nsx $NS_MID sysctl -qw net.ipv4.ip_forward=1
  static_arp $NS_UAC eth0 10.88.1.1; static_arp $NS_MID outer 10.88.1.2
  static_arp $NS_MID inner 10.88.2.2; static_arp $NS_UAS eth0 10.88.2.1
}
# cap_start NS IFACE FILE [filter...]: tcpdump in the background; pid kept in CAPS
cap_start() {
  local ns=$1 ifc=$2 f=$3; shift 3
  ip netns exec "$ns" tcpdump -i "$ifc" -U -s 0 -Z root -w "$f" "$@" 2>>"$WORK/tcpdump.log" &
  CAPS+=($!); PIDS+=($!)
}
cap_stop() {
  sleep 1
  local p
  for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAPS=()
}
# kam_start NS [kamailio options...]
kam_start() {
  local ns=$1 rd="$WORK/kam.run"; shift
  mkdir -p "$rd"
  ip netns exec "$ns" kamailio -DD -E -L "$KAM_MODS" -f "$HERE/kamailio.cfg" -Y "$rd" -P "$rd/pid" -m 64 -M 8 "$@" \
    >>"$WORK/kamailio.log" 2>&1 &
  local kp=$!; PIDS+=($kp)
  sleep 2
  kill -0 "$kp" 2>/dev/null || { tail -20 "$WORK/kamailio.log" >&2; log "kamailio did not start"; exit 1; }
}
# sipp_ok OUTFILE N: the SIPp caller's final statistics report N successful calls, 0 failed
sipp_ok() {
  local ok bad
  ok=$(grep -h "Successful call" "$1" | tail -1 | awk -F'|' '{print $3 + 0}')
  bad=$(grep -h "Failed call" "$1" | tail -1 | awk -F'|' '{print $3 + 0}')
  log "SIPp caller: ${ok:-0} successful call(s), ${bad:-?} failed"
  [ "${ok:-0}" = "$2" ] && [ "${bad:-1}" = 0 ]
}

# ------------------------------------------------------------------ audio
# The G.711 A-law payload of sip-tester's g711a.pcap (236 x 240 bytes = 7.08 s of speech) as a
# raw file; SIPp's rtp_stream sends it as RTP PT 8, 160 bytes / 20 ms, new port + SSRC per call.
ts -r "$AUDIO" -d udp.port==0-65535,rtp -T fields -e rtp.payload | tr -d ':\n' | xxd -r -p >"$WORK/g711a.alaw"
[ "$(stat -c %s "$WORK/g711a.alaw")" = 56640 ] || { echo "unexpected audio in $AUDIO" >&2; exit 1; }
# audio SECONDS OFFSET_SECONDS OUTFILE: a slice of the speech
audio() { tail -c +$(($2 * 8000 + 1)) "$WORK/g711a.alaw" | head -c $(($1 * 8000)) >"$3"; }

# ------------------------------------------------------------------ one scenario
# run NAME CALLS RATE LIMIT RTP_SECONDS HOLD_MS_EXPR [kamailio -A defines...]
#   HOLD_MS_EXPR: bash arithmetic on $i (1-based call number) giving the hold time (ACK -> BYE)
#   RTP_SECONDS > 0: sipp/uac.xml + sipp/uas.xml, RTP both ways for that long (SDP ports = -mp)
#   RTP_SECONDS = 0: sipp/uac-busy.xml + sipp/uas-busy.xml, signaling only, the SDP audio port
#     of call i is 20000 + 2i (caller) and 30000 + 2i (callee, in the order calls arrive)
run() {
  local name=$1 calls=$2 rate=$3 limit=$4 rtp=$5 hold=$6; shift 6
  local d="$WORK/$name" i uac_sf uas_sf
  local -a uas_inf=()
  mkdir -p "$d"
  log "$name: $calls call(s), rate $rate/s, limit $limit, ${rtp}s RTP each way, kamailio ${*:-(no defines)}"
  if [ "$rtp" -gt 0 ]; then
    uac_sf="$SIPP_DIR/uac.xml"; uas_sf="$SIPP_DIR/uas.xml"
    audio "$rtp" 0 "$d/caller.alaw"      # caller -> callee: speech from 0 s
    audio "$rtp" 3 "$d/callee.alaw"      # callee -> caller: speech from 3 s (differs)
  else
    uac_sf="$SIPP_DIR/uac-busy.xml"; uas_sf="$SIPP_DIR/uas-busy.xml"
    { echo SEQUENTIAL; for ((i = 1; i <= calls; i++)); do echo "$((30000 + 2 * i))"; done; } >"$d/callee.csv"
    uas_inf=(-inf callee.csv)
  fi
  { echo SEQUENTIAL
    for ((i = 1; i <= calls; i++)); do echo "$((1000 + i));$((2000 + i));$((hold));$((20000 + 2 * i))"; done
  } >"$d/users.csv"
  topology
  kam_start $NS_MID "$@"
  ( cd "$d" && exec ip netns exec $NS_UAS timeout 120 sipp -sf "$uas_sf" -t u1 -i 10.88.2.2 -p 5060 \
      -mi 10.88.2.2 -mp 7000 "${uas_inf[@]}" -m "$calls" -nostdin ) >"$d/uas.out" 2>&1 &
  PIDS+=($!)
  cap_start $NS_MID outer "$d/outer.pcap" ip
  cap_start $NS_MID inner "$d/inner.pcap" ip
  sleep 1.5
  ( cd "$d" && nsx $NS_UAC timeout 120 sipp 10.88.1.1:5060 -sf "$uac_sf" -t u1 -i 10.88.1.2 -p 5060 \
      -mi 10.88.1.2 -mp 6000 -inf users.csv -m "$calls" -r "$rate" -l "$limit" -nostdin ) >"$d/uac.out" 2>&1 || true
  sleep 1
  cap_stop
  cleanup
  sipp_ok "$d/uac.out" "$calls" || FAILED+=("$name(calls)")
  cp "$d/outer.pcap" "$OUT/$name-outer.pcap"
  cp "$d/inner.pcap" "$OUT/$name-inner.pcap"
  truth "$name" "$calls"
  facts "$name"
}

# ------------------------------------------------------------------ ground truth
# invites FILE: one line per INVITE request (retransmissions folded): marker<TAB>Call-ID<TAB>
# From tag<TAB>X-Orig-Call-ID (empty if absent). The marker is the value of the X-Test-Seq
# header, read from the raw header block (sip.msg_hdr); tshark has no field for it.
invites() {
  ts -r "$1" -Y 'sip.Method == "INVITE"' -T fields -E separator=/t -e sip.Call-ID -e sip.from.tag -e sip.msg_hdr |
    awk -F'\t' '{ seq = ""; orig = ""
                  if (match($3, /X-Test-Seq: *[0-9]+/)) { seq = substr($3, RSTART, RLENGTH); sub(/.*: */, "", seq) }
                  if (match($3, /X-Orig-Call-ID: *[^\\ ]+/)) { orig = substr($3, RSTART, RLENGTH); sub(/^X-Orig-Call-ID: */, "", orig) }
                  print seq "\t" $1 "\t" $2 "\t" orig }' | sort -u | sort -t$'\t' -k1,1n
}
truth() {
  local name=$1 calls=$2 csv="$OUT/$name.truth.csv" bad=0
  invites "$OUT/$name-outer.pcap" >"$WORK/$name.outer.inv"
  invites "$OUT/$name-inner.pcap" >"$WORK/$name.inner.inv"
  # pair by marker (join on field 1); a marker must appear exactly once per side
  join -t$'\t' -j 1 <(sort -t$'\t' -k1,1 "$WORK/$name.outer.inv") <(sort -t$'\t' -k1,1 "$WORK/$name.inner.inv") |
    sort -t$'\t' -k1,1n >"$WORK/$name.pairs"
  # pairs: seq, outer cid, outer from-tag, outer x-orig, inner cid, inner from-tag, inner x-orig
  { echo "outer_call_id,inner_call_id"; cut -f2,5 "$WORK/$name.pairs" | tr '\t' ,; } >"$csv"
  local n_out n_in n_pair
  n_out=$(cut -f1 "$WORK/$name.outer.inv" | sort -u | wc -l); n_in=$(cut -f1 "$WORK/$name.inner.inv" | sort -u | wc -l)
  n_pair=$(wc -l <"$WORK/$name.pairs")
  [ "$n_out" = "$calls" ] && [ "$n_in" = "$calls" ] && [ "$n_pair" = "$calls" ] &&
    [ "$(wc -l <"$WORK/$name.outer.inv")" = "$calls" ] && [ "$(wc -l <"$WORK/$name.inner.inv")" = "$calls" ] ||
    { log "$name: truth: $n_out outer / $n_in inner markers, $n_pair pairs, expected $calls"; bad=1; }
  # checks independent of the marker
  awk -F'\t' '$2 == $5 { print "same Call-ID on both legs: " $2; e = 1 } END { exit e }' "$WORK/$name.pairs" || bad=1
  awk -F'\t' '$3 != $6 { print "From tags differ for marker " $1; e = 1 } END { exit e }' "$WORK/$name.pairs" || bad=1
  cut -f2 "$WORK/$name.pairs" | python3 "$HERE/tools/topoh_mask.py" "$MASK_KEY" >"$WORK/$name.masked"
  cmp -s "$WORK/$name.masked" <(cut -f5 "$WORK/$name.pairs") || { log "$name: inner Call-IDs are not topoh's mask of the outer ones"; bad=1; }
  if [ "$name" = hdr ]; then
    awk -F'\t' '$7 != $2 { print "X-Orig-Call-ID " $7 " != outer Call-ID " $2; e = 1 } END { exit e }' "$WORK/$name.pairs" || bad=1
  else
    awk -F'\t' '$4 != "" || $7 != "" { print "unexpected X-Orig-Call-ID"; e = 1 } END { exit e }' "$WORK/$name.pairs" || bad=1
  fi
  if [ "$bad" = 0 ]; then log "$name: truth: $n_pair calls paired, all checks passed"; else FAILED+=("$name(truth)"); fi
}

# ------------------------------------------------------------------ facts
# side_facts FILE: what tshark sees in one capture
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
  echo "sdp_bodies: $(ts -r "$f" -Y sdp | wc -l), distinct SDP media endpoints (c= address, m= port): $(ts -r "$f" -Y sdp -T fields -e sdp.connection_info.address -e sdp.media.port | sort -u | wc -l)"
  echo "other_frames (not sip, not rtp): $(ts -r "$f" -Y '!sip && !rtp' | wc -l)"
  echo "max_concurrent_calls (INVITE..BYE 200 overlap): $(ts -r "$f" -Y 'sip.CSeq.method == "INVITE" && sip.Status-Code == 200 || sip.CSeq.method == "BYE" && sip.Status-Code == 200' \
       -T fields -e frame.time_epoch -e sip.Call-ID -e sip.CSeq.method | sort -k1,1n |
       awk '$3 == "INVITE" && !($2 in up) { up[$2] = 1; n++; if (n > m) m = n } $3 == "BYE" && ($2 in up) { delete up[$2]; n-- } END { print m + 0 }')"
}
facts() {
  local name=$1 f="$OUT/$1.facts.txt"
  {
    echo "# $name: tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}') on the captures (regenerated by make-b2bua.sh)"
    side_facts "$OUT/$name-outer.pcap"
    side_facts "$OUT/$name-inner.pcap"
    echo "## $name.truth.csv"
    echo "rows: $(($(wc -l <"$OUT/$name.truth.csv") - 1))"
  } >"$f"
  log "$name: $(awk '/^## .*pcap/ {n=$2} /^(size_bytes|sip_messages|rtp_packets):/ {printf "%s %s=%s  ", n, $1, $2}' "$f")"
}

# ------------------------------------------------------------------ scenarios
for s in "${SCEN[@]}"; do
  case $s in
    # 3 sequential calls, ~3 s of RTP each way, hold 3.5 s, kamailio adds X-Orig-Call-ID
    hdr)   run hdr 3 1 1 3 3500 -A WITH_CORRELATION_HDR ;;
    # the same without any correlation header
    nohdr) run nohdr 3 1 1 3 3500 ;;
    # 60 calls, 5 new calls/s, up to 40 at once, hold 4.0-9.9 s (deterministic per call),
    # signaling only (distinct SDP ports per call), no correlation header
    busy)  run busy 60 5 40 0 '4000 + (i * 1733) % 6000' ;;
  esac
done
log "done; captures in $OUT"
[ ${#FAILED[@]} -eq 0 ] || { log "FAILED: ${FAILED[*]}"; exit 1; }
