#!/usr/bin/env bash
# Regenerates the "anchored" two-leg captures in tests/b2bua/captures/ with REAL tools only: the
# element in the middle is a B2BUA-like proxy that changes the Call-ID between the legs AND
# ANCHORS THE MEDIA. SIPp 3.6 (caller and callee; RTP with rtp_stream), kamailio 5.6 with the
# topoh module (Call-ID masked on the inner leg, as in kamailio.cfg) and the rtpengine module,
# driving rtpengine 10.5 (userspace forwarding only, no kernel module), tcpdump on both of the
# middle element's interfaces at the same time, tshark to check and to derive the ground truth.
#
#   anchored   8 calls, 1 new/s, up to 4 at once, ~4 s of RTP each way per call, hold 5.0-5.9 s
#
#   sudo bash tests/b2bua/make-anchored.sh           (~25 s)
#
# Topology (private namespaces and addresses only; nothing leaves them):
#
#   netns bb-uac                 netns bb-mid (kamailio + rtpengine, ip_forward=0)  netns bb-uas
#   SIPp UAC 10.88.1.2 --eth0-- outer 10.88.1.1 | inner 10.88.2.1 --eth0-- 10.88.2.2 SIPp UAS
#                        [anchored-outer.pcap] [anchored-inner.pcap]
#
# SIP goes UAC -> kamailio (outer) -> UAS (inner); topoh (mask_callid=1) gives the inner leg its
# own Call-ID. kamailio (kamailio-anchored.cfg) hands the SDP of the INVITE and of the 200 to
# rtpengine (ng offer/answer, "direction=outer direction=inner"), which allocates one port per
# call on each of its interfaces (rtpengine -i outer/10.88.1.1 -i inner/10.88.2.1) and rewrites
# c=/m=/o=. The RTP of each call is therefore two flows with different 5-tuples:
#   outer: 10.88.1.2:6000 (SIPp -mp) <-> 10.88.1.1:<outer port of the call>
#   inner: 10.88.2.1:<inner port of the call> <-> 10.88.2.2:7000 (SIPp -mp)
# and rtpengine relays the packets unchanged (no transcoding). SIPp 3.6.1 sends every call's RTP
# from its single -mp port; the per-call rtpengine ports keep the 5-tuples distinct per call on
# both sides, so concurrent calls are fine here (unlike make-b2bua.sh "busy"). IP forwarding in
# bb-mid is OFF: no packet can pass from one side to the other except through kamailio/rtpengine.
#
# It writes captures/anchored-outer.pcap and anchored-inner.pcap (classic pcap, LINKTYPE_ETHERNET,
# filter "ip", captured simultaneously), captures/anchored.truth.csv (outer_call_id,inner_call_id,
# one row per call, paired by the per-call X-Test-Seq marker the SIPp caller puts in its INVITE,
# which kamailio forwards unchanged; no correlation header) and captures/anchored.facts.txt (what
# tshark measures, including each call's media 5-tuples on both sides and a payload-by-payload
# comparison of the relayed RTP). Exits non-zero if a call fails or a check fails: every call is
# paired, Call-IDs differ, From tags agree, the inner Call-ID is topoh's mask of the outer one, the
# SDP c=/m= differ between the legs (outer points at 10.88.1.1, inner at 10.88.2.1), every call has
# its own RTP 5-tuple on each side, and every RTP payload of each call is identical on both sides.
#
# Idempotent: installs rtpengine-daemon (and the other tools) with apt-get only if missing; reruns
# rewrite the files (SIPp's pid is part of its Call-IDs and rtpengine picks its ports itself, so
# Call-IDs and ports change between runs; counts do not). Needs root. Cleans up its namespaces and
# processes on exit (KEEP_WORK=1 keeps the scratch directory with the logs). The helpers follow
# make-b2bua.sh (same namespaces bb-uac, bb-mid, bb-uas: do not run both scripts at once).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/captures"
SIPP_DIR="$HERE/sipp"
KAM_CFG="$HERE/kamailio-anchored.cfg"
NAME=anchored
CALLS=8 RATE=1 LIMIT=4 RTP_S=4
HOLD='5000 + (i * 379) % 1000'   # ms from the ACK to the BYE for call i (1-based); > RTP_S
RTPE_PORT_MIN=30000 RTPE_PORT_MAX=30999
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump, apt-get)" >&2; exit 1; }

# ------------------------------------------------------------------ tools (installed only if missing)
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
find_kam_mod() {  # find_kam_mod NAME.so: sets KAM_MODS to the directory holding it, or fails
  [ -f "$KAM_MODS/$1" ] && return 0
  local f; f=$(find /usr/lib /usr/local/lib -name "$1" -path '*kamailio*' 2>/dev/null | head -1)
  [ -n "$f" ] && KAM_MODS=$(dirname "$f")
}
declare -A PKG=([kamailio]=kamailio [sipp]=sip-tester [rtpengine]=rtpengine-daemon [tcpdump]=tcpdump
  [tshark]=tshark [capinfos]=wireshark-common [ip]=iproute2 [timeout]=coreutils [python3]=python3
  [xxd]=xxd [ss]=iproute2)
need=()
for t in "${!PKG[@]}"; do command -v "$t" >/dev/null || need+=("${PKG[$t]}"); done
# kamailio's rtpengine.so: in Debian 12 it ships in the "kamailio" package itself
# (dpkg -S rtpengine.so -> kamailio); kamailio-extra-modules is not needed.
find_kam_mod rtpengine.so || need+=(kamailio)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "== installing: ${need[*]}" >&2
  # the rtpengine-daemon package may start a system rtpengine in the root namespace; this script
  # starts its own in bb-mid (with --config-file=none), so the two do not meet
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
for t in "${!PKG[@]}"; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }; done
find_kam_mod topoh.so && find_kam_mod rtpengine.so || { echo "kamailio topoh/rtpengine module not found" >&2; exit 1; }
AUDIO=/usr/share/sip-tester/g711a.pcap
[ -f "$AUDIO" ] || AUDIO=$(dpkg -L sip-tester 2>/dev/null | grep 'g711a.pcap$' | head -1) || true
[ -f "$AUDIO" ] || { echo "g711a.pcap (shipped with sip-tester) not found" >&2; exit 1; }
MASK_KEY=earshot-b2bua-test   # = modparam("topoh", "mask_key", ...) in kamailio-anchored.cfg

WORK="$(mktemp -d /tmp/earshot-anchored.XXXXXX)"
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
  # no routing between the sides: media can only cross through rtpengine
  nsx $NS_MID sysctl -qw net.ipv4.ip_forward=0
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
# rtpe_start NS: rtpengine in the foreground, userspace forwarding only (--table=-1: no kernel
# table; NOT --no-fallback, which would demand the kernel module), two named interfaces, ng
# control on 127.0.0.1:2223 (loopback of bb-mid, not captured), no config file
rtpe_start() {
  local ns=$1 i
  ip netns exec "$ns" rtpengine --config-file=none --foreground --log-stderr --no-log-timestamps \
    --log-level=6 --table=-1 --interface=outer/10.88.1.1 --interface=inner/10.88.2.1 \
    --listen-ng=127.0.0.1:2223 --port-min=$RTPE_PORT_MIN --port-max=$RTPE_PORT_MAX \
    --pidfile="$WORK/rtpengine.pid" >>"$WORK/rtpengine.log" 2>&1 &
  local rp=$!; PIDS+=($rp)
  for ((i = 0; i < 50; i++)); do
    nsx "$ns" ss -Hlun 'sport = :2223' | grep -q 2223 && break
    kill -0 "$rp" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$rp" 2>/dev/null && nsx "$ns" ss -Hlun 'sport = :2223' | grep -q 2223 ||
    { tail -20 "$WORK/rtpengine.log" >&2; log "rtpengine did not start"; exit 1; }
}
# kam_start NS [kamailio options...]
kam_start() {
  local ns=$1 rd="$WORK/kam.run"; shift
  mkdir -p "$rd"
  ip netns exec "$ns" kamailio -DD -E -L "$KAM_MODS" -f "$KAM_CFG" -Y "$rd" -P "$rd/pid" -m 64 -M 8 "$@" \
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
# raw file; SIPp's rtp_stream sends it as RTP PT 8, 160 bytes / 20 ms, new SSRC per call.
ts -r "$AUDIO" -d udp.port==0-65535,rtp -T fields -e rtp.payload | tr -d ':\n' | xxd -r -p >"$WORK/g711a.alaw"
[ "$(stat -c %s "$WORK/g711a.alaw")" = 56640 ] || { echo "unexpected audio in $AUDIO" >&2; exit 1; }
# audio SECONDS OFFSET_SECONDS OUTFILE: a slice of the speech
audio() { tail -c +$(($2 * 8000 + 1)) "$WORK/g711a.alaw" | head -c $(($1 * 8000)) >"$3"; }

# ------------------------------------------------------------------ the run
run() {
  local d="$WORK/$NAME" i
  mkdir -p "$d"
  log "$NAME: $CALLS call(s), rate $RATE/s, limit $LIMIT, ${RTP_S}s RTP each way, media anchored by rtpengine"
  # the SIPp scenarios of make-b2bua.sh "hdr"/"nohdr" (sipp/uac.xml, sipp/uas.xml), unchanged
  audio "$RTP_S" 0 "$d/caller.alaw"      # caller -> callee: speech from 0 s
  audio "$RTP_S" 3 "$d/callee.alaw"      # callee -> caller: speech from 3 s (differs)
  # injection file: caller 1000+i, callee 2000+i, hold (ms), field3 unused by uac.xml
  { echo SEQUENTIAL
    for ((i = 1; i <= CALLS; i++)); do echo "$((1000 + i));$((2000 + i));$((HOLD));$((20000 + 2 * i))"; done
  } >"$d/users.csv"
  topology
  rtpe_start $NS_MID
  kam_start $NS_MID
  ( cd "$d" && exec ip netns exec $NS_UAS timeout 120 sipp -sf "$SIPP_DIR/uas.xml" -t u1 -i 10.88.2.2 -p 5060 \
      -mi 10.88.2.2 -mp 7000 -m "$CALLS" -nostdin ) >"$d/uas.out" 2>&1 &
  PIDS+=($!)
  cap_start $NS_MID outer "$d/outer.pcap" ip
  cap_start $NS_MID inner "$d/inner.pcap" ip
  sleep 1.5
  ( cd "$d" && nsx $NS_UAC timeout 120 sipp 10.88.1.1:5060 -sf "$SIPP_DIR/uac.xml" -t u1 -i 10.88.1.2 -p 5060 \
      -mi 10.88.1.2 -mp 6000 -inf users.csv -m "$CALLS" -r "$RATE" -l "$LIMIT" -nostdin ) >"$d/uac.out" 2>&1 || true
  sleep 1
  cap_stop
  cleanup
  sipp_ok "$d/uac.out" "$CALLS" || FAILED+=("$NAME(calls)")
  cp "$d/outer.pcap" "$OUT/$NAME-outer.pcap"
  cp "$d/inner.pcap" "$OUT/$NAME-inner.pcap"
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
  local csv="$OUT/$NAME.truth.csv" bad=0 w="$WORK/$NAME"
  invites "$OUT/$NAME-outer.pcap" >"$w.outer.inv"
  invites "$OUT/$NAME-inner.pcap" >"$w.inner.inv"
  # pair by marker (join on field 1); a marker must appear exactly once per side
  join -t$'\t' -j 1 <(sort -t$'\t' -k1,1 "$w.outer.inv") <(sort -t$'\t' -k1,1 "$w.inner.inv") |
    sort -t$'\t' -k1,1n >"$w.pairs"
  # pairs: seq, outer cid, outer from-tag, outer x-orig, inner cid, inner from-tag, inner x-orig
  { echo "outer_call_id,inner_call_id"; cut -f2,5 "$w.pairs" | tr '\t' ,; } >"$csv"
  local n_out n_in n_pair
  n_out=$(cut -f1 "$w.outer.inv" | sort -u | wc -l); n_in=$(cut -f1 "$w.inner.inv" | sort -u | wc -l)
  n_pair=$(wc -l <"$w.pairs")
  [ "$n_out" = "$CALLS" ] && [ "$n_in" = "$CALLS" ] && [ "$n_pair" = "$CALLS" ] &&
    [ "$(wc -l <"$w.outer.inv")" = "$CALLS" ] && [ "$(wc -l <"$w.inner.inv")" = "$CALLS" ] ||
    { log "$NAME: truth: $n_out outer / $n_in inner markers, $n_pair pairs, expected $CALLS"; bad=1; }
  awk -F'\t' '$2 == $5 { print "same Call-ID on both legs: " $2; e = 1 } END { exit e }' "$w.pairs" || bad=1
  awk -F'\t' '$3 != $6 { print "From tags differ for marker " $1; e = 1 } END { exit e }' "$w.pairs" || bad=1
  cut -f2 "$w.pairs" | python3 "$HERE/tools/topoh_mask.py" "$MASK_KEY" >"$w.masked"
  cmp -s "$w.masked" <(cut -f5 "$w.pairs") || { log "$NAME: inner Call-IDs are not topoh's mask of the outer ones"; bad=1; }
  awk -F'\t' '$4 != "" || $7 != "" { print "unexpected X-Orig-Call-ID"; e = 1 } END { exit e }' "$w.pairs" || bad=1
  if [ "$bad" = 0 ]; then log "$NAME: truth: $n_pair calls paired, all checks passed"; else FAILED+=("$NAME(truth)"); fi
}

# ------------------------------------------------------------------ media (SDP + RTP) per call
# sdp_dump FILE: one line per SIP message with SDP (retransmissions folded):
#   Call-ID, kind (INVITE or 200), c= address, m= audio port, o= address
sdp_dump() {
  ts -r "$1" -Y 'sdp && (sip.Method == "INVITE" || sip.Status-Code == 200)' -T fields -E separator=/t \
    -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sdp.connection_info.address -e sdp.media.port -e sdp.owner.address |
    awk -F'\t' '{ k = ($2 == "INVITE") ? "INVITE" : $3; split($4, c, ","); split($5, m, ","); split($6, o, ",")
                  print $1 "\t" k "\t" c[1] "\t" m[1] "\t" o[1] }' | sort -u
}
# rtp_dump FILE: one line per RTP packet: src, sport, dst, dport, ssrc, seq, timestamp, PT, payload
rtp_dump() {
  ts -r "$1" -Y rtp -T fields -E separator=/t -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
    -e rtp.ssrc -e rtp.seq -e rtp.timestamp -e rtp.p_type -e rtp.payload
}
# media: per call (by marker), the SDP endpoints of both legs, the RTP 5-tuples they imply on each
# side, the packets seen on each, and the payload comparison; writes $WORK/anchored.media (facts)
media() {
  local w="$WORK/$NAME"
  sdp_dump "$OUT/$NAME-outer.pcap" >"$w.outer.sdp"; sdp_dump "$OUT/$NAME-inner.pcap" >"$w.inner.sdp"
  rtp_dump "$OUT/$NAME-outer.pcap" >"$w.outer.rtp"; rtp_dump "$OUT/$NAME-inner.pcap" >"$w.inner.rtp"
  python3 - "$w.pairs" "$w.outer.sdp" "$w.inner.sdp" "$w.outer.rtp" "$w.inner.rtp" "$CALLS" \
    >"$w.media" 2>"$w.media.err" <<'PY' || { cat "$w.media.err" >&2; log "$NAME: media checks failed"; FAILED+=("$NAME(media)"); }
import sys
from collections import defaultdict
pairs_f, osdp_f, isdp_f, ortp_f, irtp_f, calls = sys.argv[1:7]
calls = int(calls)
errors = []

def sdp(path):
    d = defaultdict(list)
    for line in open(path):
        cid, kind, c, m, o = line.rstrip("\n").split("\t")
        d[(cid, kind)].append((c, int(m), o))
    for k, v in d.items():
        if len(set(v)) != 1:
            errors.append(f"{path}: {k} has {len(set(v))} different SDPs")
    return {k: v[0] for k, v in d.items()}

def rtp(path):
    flows = defaultdict(list)   # (src, sport, dst, dport) -> [(ssrc, seq, ts, pt, payload)]
    for line in open(path):
        s, sp, dd, dp, ssrc, seq, tstamp, pt, pl = line.rstrip("\n").split("\t")
        flows[(s, int(sp), dd, int(dp))].append((ssrc, int(seq), int(tstamp), pt, pl))
    return flows

pairs = [l.rstrip("\n").split("\t") for l in open(pairs_f)]
osdp, isdp = sdp(osdp_f), sdp(isdp_f)
ortp, irtp = rtp(ortp_f), rtp(irtp_f)
ft = lambda t: f"{t[0]}:{t[1]} -> {t[2]}:{t[3]}"
used_o, used_i = set(), set()
rows = []
for p in pairs:
    seq, ocid, icid = p[0], p[1], p[4]
    try:
        uac, rto = osdp[(ocid, "INVITE")], osdp[(ocid, "200")]   # outer: caller's SDP, rtpengine's outer SDP
        rti, uas = isdp[(icid, "INVITE")], isdp[(icid, "200")]   # inner: rtpengine's inner SDP, callee's SDP
    except KeyError as e:
        errors.append(f"call {seq}: SDP missing {e}"); continue
    if (uac[0], uac[1]) == (rti[0], rti[1]): errors.append(f"call {seq}: INVITE c=/m= identical on both legs")
    if (rto[0], rto[1]) == (uas[0], uas[1]): errors.append(f"call {seq}: 200 c=/m= identical on both legs")
    if rto[0] != "10.88.1.1" or rti[0] != "10.88.2.1": errors.append(f"call {seq}: rtpengine SDP not on 10.88.1.1/10.88.2.1")
    o_fwd = (uac[0], uac[1], rto[0], rto[1]); o_rev = (rto[0], rto[1], uac[0], uac[1])
    i_fwd = (rti[0], rti[1], uas[0], uas[1]); i_rev = (uas[0], uas[1], rti[0], rti[1])
    for t, used in ((o_fwd, used_o), (o_rev, used_o), (i_fwd, used_i), (i_rev, used_i)):
        if t in used: errors.append(f"call {seq}: 5-tuple {ft(t)} already used by another call")
        used.add(t)
    r = {"seq": seq, "ocid": ocid, "icid": icid, "uac": uac, "rto": rto, "rti": rti, "uas": uas}
    for dirn, a, b in (("caller->callee", ortp.get(o_fwd, []), irtp.get(i_fwd, [])),
                       ("callee->caller", irtp.get(i_rev, []), ortp.get(o_rev, []))):
        # a = the stream as it reaches rtpengine, b = the stream rtpengine sends on the other side
        n = min(len(a), len(b))
        same_pl = sum(1 for k in range(n) if a[k][4] == b[k][4])
        same_hdr = sum(1 for k in range(n) if a[k][:4] == b[k][:4])
        by_seq_b = {x[1]: x[4] for x in b}
        same_by_seq = sum(1 for x in a if by_seq_b.get(x[1]) == x[4])
        r[dirn] = (len(a), len(b), same_pl, same_hdr, same_by_seq, {x[0] for x in a}, {x[0] for x in b})
        if not a or len(a) != len(b) or same_pl != len(a) or same_by_seq != len(a):
            errors.append(f"call {seq} {dirn}: {len(a)} in, {len(b)} out, {same_pl} identical payloads")
    rows.append(r)
if len(rows) != calls: errors.append(f"{len(rows)} calls with media, expected {calls}")
unexp_o = set(ortp) - used_o; unexp_i = set(irtp) - used_i
if unexp_o or unexp_i: errors.append(f"RTP on 5-tuples no SDP announced: {sorted(unexp_o | unexp_i)}")

print("## per-call media (SDP of each leg -> RTP 5-tuples on each side; packets; payloads compared in order)")
for r in rows:
    print(f"call {r['seq']}: outer Call-ID {r['ocid']} / inner Call-ID {r['icid']}")
    print(f"  outer SDP: INVITE c={r['uac'][0]} m={r['uac'][1]} o={r['uac'][2]}; 200 c={r['rto'][0]} m={r['rto'][1]} o={r['rto'][2]}")
    print(f"  inner SDP: INVITE c={r['rti'][0]} m={r['rti'][1]} o={r['rti'][2]}; 200 c={r['uas'][0]} m={r['uas'][1]} o={r['uas'][2]}")
    for dirn in ("caller->callee", "callee->caller"):
        na, nb, spl, shd, sseq, ssa, ssb = r[dirn]
        if dirn == "caller->callee":
            ta = f"outer {r['uac'][0]}:{r['uac'][1]} -> {r['rto'][0]}:{r['rto'][1]}"
            tb = f"inner {r['rti'][0]}:{r['rti'][1]} -> {r['uas'][0]}:{r['uas'][1]}"
        else:
            ta = f"inner {r['uas'][0]}:{r['uas'][1]} -> {r['rti'][0]}:{r['rti'][1]}"
            tb = f"outer {r['rto'][0]}:{r['rto'][1]} -> {r['uac'][0]}:{r['uac'][1]}"
        print(f"  {dirn}: {ta} ({na} pkts, SSRC {','.join(sorted(ssa))}) => {tb} ({nb} pkts, SSRC {','.join(sorted(ssb))});"
              f" identical payloads {spl}/{na} (by RTP seq {sseq}/{na}), identical SSRC+seq+timestamp+PT {shd}/{na}")
print(f"distinct_outer_rtp_5tuples_from_sdp: {len(used_o)} (2 per call)")
print(f"distinct_inner_rtp_5tuples_from_sdp: {len(used_i)} (2 per call)")
print(f"distinct_rtpengine_outer_ports: {len({r['rto'][1] for r in rows})}, inner ports: {len({r['rti'][1] for r in rows})}")
tot = sum(r[d][0] for r in rows for d in ("caller->callee", "callee->caller"))
same = sum(r[d][2] for r in rows for d in ("caller->callee", "callee->caller"))
print(f"relayed_payloads_identical: {same}/{tot} (all calls, both directions)")
print(f"rtp_on_unannounced_5tuples: {len(unexp_o) + len(unexp_i)}")
for e in errors: print("ERROR: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
  [ -s "$w.media.err" ] || log "$NAME: media: $(grep -E '^(distinct|relayed)' "$w.media" | paste -sd' ')"
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
  echo "rtp_5tuple_list (packets src:port -> dst:port ssrc):"
  ts -r "$f" -Y rtp -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e rtp.ssrc |
    sort | uniq -c | sort -k3,3 -k5,5 -k2,2n | awk '{printf "  %s %s:%s -> %s:%s %s\n", $1, $2, $3, $4, $5, $6}'
  echo "rtp_payload_types: $(ts -r "$f" -Y rtp -T fields -e rtp.p_type | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
  echo "sdp_bodies: $(ts -r "$f" -Y sdp | wc -l), distinct SDP media endpoints (c= address, m= port): $(ts -r "$f" -Y sdp -T fields -e sdp.connection_info.address -e sdp.media.port | sort -u | wc -l)"
  echo "other_frames (not sip, not rtp): $(ts -r "$f" -Y '!sip && !rtp' | wc -l)"
  echo "max_concurrent_calls (INVITE..BYE 200 overlap): $(ts -r "$f" -Y 'sip.CSeq.method == "INVITE" && sip.Status-Code == 200 || sip.CSeq.method == "BYE" && sip.Status-Code == 200' \
       -T fields -e frame.time_epoch -e sip.Call-ID -e sip.CSeq.method | sort -k1,1n |
       awk '$3 == "INVITE" && !($2 in up) { up[$2] = 1; n++; if (n > m) m = n } $3 == "BYE" && ($2 in up) { delete up[$2]; n-- } END { print m + 0 }')"
}
facts() {
  local f="$OUT/$NAME.facts.txt"
  {
    echo "# $NAME: tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}') on the captures (regenerated by make-anchored.sh;"
    echo "# rtpengine $(rtpengine --version 2>&1 | awk '{print $2}'), userspace forwarding, media anchored)"
    side_facts "$OUT/$NAME-outer.pcap"
    side_facts "$OUT/$NAME-inner.pcap"
    echo "## $NAME.truth.csv"
    echo "rows: $(($(wc -l <"$OUT/$NAME.truth.csv") - 1))"
    cat "$WORK/$NAME.media" 2>/dev/null
  } >"$f"
  log "$NAME: $(awk '/^## .*pcap/ {n=$2} /^(size_bytes|sip_messages|rtp_packets):/ {printf "%s %s=%s  ", n, $1, $2}' "$f")"
}

run
truth
media
facts
log "done; captures in $OUT"
[ ${#FAILED[@]} -eq 0 ] || { log "FAILED: ${FAILED[*]}"; exit 1; }
