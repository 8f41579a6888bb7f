#!/usr/bin/env bash
# Regenerates sample-captures/mgcp-call/mgcp-call.pcap: an MGCP (PacketCable NCS) call between two
# residential gateways under one call agent, every MGCP message sent by SIPp (raw UDP scenarios
# written by flow.py), the media by ffmpeg (PCMU RTP and RTCP, both ways), captured by tcpdump on
# loopback, then decoded by tshark into tshark-mgcp.txt (the oracle the tests compare with).
#
#   sudo bash sample-captures/mgcp-call/make.sh
#   KEEP_WORK=1 sudo bash ...   # keep the work dir (scenarios, logs)
#
# Addresses: 127.0.0.1:2727 call agent, 127.0.0.2:2427 gw1 (caller, media 4000), 127.0.0.3:2427 gw2
# (callee, media 5000). Nothing leaves the loopback interface.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PCAP=$HERE/mgcp-call.pcap

die() { echo "make.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

for t in python3 sipp ffmpeg tcpdump tshark editcap timeout; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[[ $EUID -eq 0 ]] || die "run as root (tcpdump)"

WORK=$(mktemp -d /tmp/mgcp-call.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT

python3 "$HERE/flow.py" "$WORK"
read -r RTP_AT_MS RTP_MS <"$WORK/rtp_at_ms"

log "tcpdump on lo"
timeout 120 tcpdump -i lo --immediate-mode -U -s 0 -w "$WORK/raw.pcap" \
  'udp and (port 2427 or port 2727 or portrange 4000-4001 or portrange 5000-5001)' \
  >"$WORK/tcpdump.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.out" || { cat "$WORK/tcpdump.out" >&2; die "tcpdump did not start"; }

log "SIPp: call agent and two gateways"
run_sipp() { # name ip port first-peer
  ( cd "$WORK" && exec timeout 60 sipp "$4" -i "$2" -p "$3" -sf "$WORK/$1.xml" -inf "$WORK/fields.csv" -m 1 -nostdin \
      -trace_err -error_file "$WORK/$1.err" >"$WORK/$1.out" 2>&1 ) &
  PIDS+=($!)
}
run_sipp ca 127.0.0.1 2727 127.0.0.2:2427
run_sipp gw1 127.0.0.2 2427 127.0.0.1:2727
run_sipp gw2 127.0.0.3 2427 127.0.0.1:2727
T0=$(date +%s%N)

log "media at +${RTP_AT_MS} ms for ${RTP_MS} ms (ffmpeg, PCMU)"
sleep "$(python3 -c "print(max(0, ($RTP_AT_MS * 1e6 - ($(date +%s%N) - $T0)) / 1e9))")"
secs=$(python3 -c "print($RTP_MS / 1000 - 0.2)")
for dir in "127.0.0.2 4000 127.0.0.3 5000 440" "127.0.0.3 5000 127.0.0.2 4000 660"; do
  read -r lip lport rip rport freq <<<"$dir"
  ( exec timeout 20 ffmpeg -hide_banner -loglevel error -re -f lavfi -i "sine=frequency=$freq:duration=$secs" \
      -ac 1 -ar 8000 -c:a pcm_mulaw -payload_type 0 -ssrc "$((0x1000 + lport))" \
      -f rtp "rtp://$rip:$rport?localaddr=$lip&localport=$lport" >"$WORK/ffmpeg-$lport.out" 2>&1 ) &
  PIDS+=($!)
done

log "waiting for SIPp"
for n in 2 3 4; do wait "${PIDS[$n]}" || true; done
grep -h "Successful call" "$WORK"/ca.out "$WORK"/gw1.out "$WORK"/gw2.out >&2 || true
sleep 0.5
kill "${PIDS[0]}" 2>/dev/null || true
wait "${PIDS[0]}" 2>/dev/null || true

# A fixed start time keeps the capture's bytes the same from run to run except for timing jitter.
editcap -F pcap "$WORK/raw.pcap" "$PCAP"
log "tshark: $(tshark -r "$PCAP" | wc -l) frames"
{
  echo "# tshark $(tshark --version | head -1 | awk '{print $3}') -Y mgcp -T fields frame.number mgcp.transid mgcp.req.verb mgcp.rsp.rspcode mgcp.req.endpoint mgcp.param.callid"
  tshark -r "$PCAP" -Y mgcp -T fields -e frame.number -e mgcp.transid -e mgcp.req.verb \
    -e mgcp.rsp.rspcode -e mgcp.req.endpoint -e mgcp.param.callid
  echo "# tshark -q -z rtp,streams"
  tshark -r "$PCAP" -q -z rtp,streams -o rtp.heuristic_rtp:TRUE
} >"$HERE/tshark-mgcp.txt"
log "wrote $PCAP and tshark-mgcp.txt"
