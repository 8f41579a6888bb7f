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
# OUT_DIR=DIR writes the files to DIR instead of captures/ (e.g. to compare a rerun with the
# committed files: OUT_DIR=/tmp/b2bua sudo -E bash tests/b2bua/make-b2bua.sh).
# The helpers (namespaces, veth links, tcpdump, kamailio, SIPp runs, truth, facts) are in
# tests/lib/capture-helpers.sh, shared with make-anchored.sh and tests/case/make-case.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/capture-helpers.sh
source "$(dirname "$0")/../lib/capture-helpers.sh"
OUT="${OUT_DIR:-$HERE/captures}"
SIPP_DIR="$HERE/sipp"
KAM_CFG="$HERE/kamailio.cfg"
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump)" >&2; exit 1; }
require_tools "apt-get install -y kamailio sip-tester tcpdump tshark iproute2 xxd python3" \
  kamailio sipp tcpdump tshark capinfos ip timeout python3 xxd
find_kam_mod topoh.so || { echo "kamailio topoh module not found" >&2; exit 1; }
AUDIO=$(find_g711a) || { echo "g711a.pcap (shipped with sip-tester) not found" >&2; exit 1; }
MASK_KEY=earshot-b2bua-test   # = modparam("topoh", "mask_key", ...) in kamailio.cfg

ALL=(hdr nohdr busy)
if [ $# -gt 0 ]; then SCEN=("$@"); else SCEN=("${ALL[@]}"); fi
for s in "${SCEN[@]}"; do
  case " ${ALL[*]} " in *" $s "*) ;; *) echo "unknown scenario: $s (known: ${ALL[*]})" >&2; exit 2 ;; esac
done

cap_init earshot-b2bua
NS_UAC=bb-uac; NS_MID=bb-mid; NS_UAS=bb-uas

# ------------------------------------------------------------------ audio
# The G.711 A-law payload of sip-tester's g711a.pcap (236 x 240 bytes = 7.08 s of speech) as a
# raw file; SIPp's rtp_stream sends it as RTP PT 8, 160 bytes / 20 ms, new port + SSRC per call.
# audio SECONDS OFFSET_SECONDS OUTFILE (capture-helpers.sh) cuts slices of it.
alaw_extract "$AUDIO" "$WORK/g711a.alaw"

# ------------------------------------------------------------------ one scenario
# run NAME CALLS RATE LIMIT RTP_SECONDS HOLD_MS_EXPR [kamailio -A defines...]
#   HOLD_MS_EXPR: bash arithmetic on $i (1-based call number) giving the hold time (ACK -> BYE)
#   RTP_SECONDS > 0: sipp/uac.xml + sipp/uas.xml, RTP both ways for that long (SDP ports = -mp)
#   RTP_SECONDS = 0: sipp/uac-busy.xml + sipp/uas-busy.xml, signaling only, the SDP audio port
#     of call i is 20000 + 2i (caller) and 30000 + 2i (callee, in the order calls arrive)
# then NAME.truth.csv and NAME.facts.txt from the two captures (truth, two_leg_facts)
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
  users_csv "$d/users.csv" "$calls" "$hold"
  b2bua_topology 1      # ip_forward=1: the RTP is routed through bb-mid
  kam_start $NS_MID "$@"
  b2bua_calls "$name" "$d" "$uac_sf" "$uas_sf" "$calls" "$rate" "$limit" "${uas_inf[@]}"
  # "hdr": kamailio puts the outer Call-ID into X-Orig-Call-ID; the others: no such header
  truth "$name" "$calls" "$([ "$name" = hdr ] && echo 1 || echo 0)"
  two_leg_facts "$name" "regenerated by make-b2bua.sh"
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
