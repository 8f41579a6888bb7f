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
# processes on exit (KEEP_WORK=1 keeps the scratch directory with the logs). OUT_DIR=DIR writes
# the files to DIR instead of captures/ (OUT_DIR=/tmp/anchored sudo -E bash tests/b2bua/make-anchored.sh).
# The helpers are in tests/lib/capture-helpers.sh, shared with make-b2bua.sh (same namespaces
# bb-uac, bb-mid, bb-uas: do not run both scripts at once) and tests/case/make-case.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/capture-helpers.sh
source "$(dirname "$0")/../lib/capture-helpers.sh"
OUT="${OUT_DIR:-$HERE/captures}"
SIPP_DIR="$HERE/sipp"
KAM_CFG="$HERE/kamailio-anchored.cfg"
NAME=anchored
CALLS=8 RATE=1 LIMIT=4 RTP_S=4
HOLD='5000 + (i * 379) % 1000'   # ms from the ACK to the BYE for call i (1-based); > RTP_S
RTPE_PORT_MIN=30000 RTPE_PORT_MAX=30999
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump, apt-get)" >&2; exit 1; }

# ------------------------------------------------------------------ tools (installed only if missing)
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
require_tools "not installed by apt-get" "${!PKG[@]}"
find_kam_mod topoh.so && find_kam_mod rtpengine.so || { echo "kamailio topoh/rtpengine module not found" >&2; exit 1; }
AUDIO=$(find_g711a) || { echo "g711a.pcap (shipped with sip-tester) not found" >&2; exit 1; }
MASK_KEY=earshot-b2bua-test   # = modparam("topoh", "mask_key", ...) in kamailio-anchored.cfg

cap_init earshot-anchored
NS_UAC=bb-uac; NS_MID=bb-mid; NS_UAS=bb-uas

# rtpe_start NS: rtpengine in the foreground, userspace forwarding only (--table=-1: no kernel
# table; NOT --no-fallback, which would demand the kernel module), two named interfaces, ng
# control on 127.0.0.1:2223 (loopback of bb-mid, not captured), no config file
rtpe_start() {
  local ns=$1 i
  ip netns exec "$ns" rtpengine --config-file=none --foreground --log-stderr --no-log-timestamps \
    --log-level=6 --table=-1 --interface=outer/10.88.1.1 --interface=inner/10.88.2.1 \
    --listen-ng=127.0.0.1:2223 --port-min=$RTPE_PORT_MIN --port-max=$RTPE_PORT_MAX \
    --pidfile="$WORK/rtpengine.pid" >>"$WORK/rtpengine.log" 2>&1 &
  local rp=$!; PIDS+=("$rp")
  for ((i = 0; i < 50; i++)); do
    nsx "$ns" ss -Hlun 'sport = :2223' | grep -q 2223 && break
    kill -0 "$rp" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$rp" 2>/dev/null && nsx "$ns" ss -Hlun 'sport = :2223' | grep -q 2223 ||
    { tail -20 "$WORK/rtpengine.log" >&2; log "rtpengine did not start"; exit 1; }
}

# ------------------------------------------------------------------ audio
# The G.711 A-law payload of sip-tester's g711a.pcap (236 x 240 bytes = 7.08 s of speech) as a
# raw file; SIPp's rtp_stream sends it as RTP PT 8, 160 bytes / 20 ms, new SSRC per call.
# audio SECONDS OFFSET_SECONDS OUTFILE (capture-helpers.sh) cuts slices of it.
alaw_extract "$AUDIO" "$WORK/g711a.alaw"

# ------------------------------------------------------------------ the run
run() {
  local d="$WORK/$NAME"
  mkdir -p "$d"
  log "$NAME: $CALLS call(s), rate $RATE/s, limit $LIMIT, ${RTP_S}s RTP each way, media anchored by rtpengine"
  # the SIPp scenarios of make-b2bua.sh "hdr"/"nohdr" (sipp/uac.xml, sipp/uas.xml), unchanged
  audio "$RTP_S" 0 "$d/caller.alaw"      # caller -> callee: speech from 0 s
  audio "$RTP_S" 3 "$d/callee.alaw"      # callee -> caller: speech from 3 s (differs)
  # injection file: caller 1000+i, callee 2000+i, hold (ms), field3 unused by uac.xml
  users_csv "$d/users.csv" "$CALLS" "$HOLD"
  # no routing between the sides (ip_forward=0): media can only cross through rtpengine
  b2bua_topology 0
  rtpe_start $NS_MID
  kam_start $NS_MID
  b2bua_calls "$NAME" "$d" "$SIPP_DIR/uac.xml" "$SIPP_DIR/uas.xml" "$CALLS" "$RATE" "$LIMIT"
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

# the calls; then NAME.truth.csv (truth: pairs by marker, checks) and NAME.facts.txt (tshark
# counts of both captures, with each RTP 5-tuple, then the per-call media comparison)
run
truth "$NAME" "$CALLS"
media
two_leg_facts "$NAME" "regenerated by make-anchored.sh;
# rtpengine $(rtpengine --version 2>&1 | awk '{print $2}'), userspace forwarding, media anchored" rtp-list "$WORK/$NAME.media"
log "done; captures in $OUT"
[ ${#FAILED[@]} -eq 0 ] || { log "FAILED: ${FAILED[*]}"; exit 1; }
