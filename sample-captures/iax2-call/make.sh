#!/usr/bin/env bash
# Regenerates sample-captures/iax2-call/iax2-call.pcap: IAX2 (RFC 5456) between a caller and a server on
# loopback — a registration with an MD5 challenge, an answered call with audio and a DTMF digit, a rejected call,
# a call authenticated in plaintext whose NEW is retransmitted — sent by flow.py over UDP sockets, captured by
# tcpdump, then decoded by tshark into tshark-iax2.txt (the oracle the tests compare with).
#
#   sudo bash sample-captures/iax2-call/make.sh
#   sudo bash sample-captures/iax2-call/make.sh --benign   # tests/eval/corpus/benign-iax2.pcap: strong passwords,
#                                                          # MD5 only (no oracle file: tests run TShark afresh)
#
# Addresses: 127.0.0.2:4569 alice (the caller), 127.0.0.3:4569 the server. Nothing leaves the loopback interface.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PCAP=$HERE/iax2-call.pcap
BENIGN=0
if [[ ${1:-} == --benign ]]; then
  BENIGN=1
  PCAP=$HERE/../../tests/eval/corpus/benign-iax2.pcap
fi

die() { echo "make.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

for t in python3 tcpdump tshark editcap timeout; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[[ $EUID -eq 0 ]] || die "run as root (tcpdump)"

WORK=$(mktemp -d /tmp/iax2-call.XXXXXX)
TCPDUMP=
cleanup() {
  local rc=$?
  [[ -n $TCPDUMP ]] && { kill "$TCPDUMP" 2>/dev/null || true; wait "$TCPDUMP" 2>/dev/null || true; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

log "tcpdump on lo"
timeout 60 tcpdump -i lo --immediate-mode -U -s 0 -w "$WORK/raw.pcap" 'udp port 4569' >"$WORK/tcpdump.out" 2>&1 &
TCPDUMP=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.out" || { cat "$WORK/tcpdump.out" >&2; die "tcpdump did not start"; }

log "flow.py: alice and the server"
IAX2_BENIGN=$BENIGN timeout 60 python3 -W ignore::DeprecationWarning "$HERE/flow.py"
sleep 0.5
kill "$TCPDUMP" 2>/dev/null || true
wait "$TCPDUMP" 2>/dev/null || true
TCPDUMP=

editcap -F pcap "$WORK/raw.pcap" "$PCAP"
log "tshark: $(tshark -r "$PCAP" | wc -l) frames"
if [[ $BENIGN == 1 ]]; then log "wrote $PCAP"; exit 0; fi
FIELDS=(frame.number iax2.packet_type iax2.call iax2.src_call iax2.dst_call iax2.retransmission iax2.oseqno
        iax2.iseqno iax2.type iax2.iax.subclass iax2.control.subclass iax2.voice.subclass iax2.dtmf.subclass
        iax2.iax.called_number iax2.iax.calling_number iax2.iax.calling_name iax2.iax.username
        iax2.iax.auth.methods iax2.iax.auth.challenge iax2.iax.auth.md5 iax2.iax.password iax2.iax.causecode
        iax2.iax.format)
{
  echo "# tshark $(tshark --version | head -1 | awk '{print $3}') -Y iax2 -T fields ${FIELDS[*]}"
  tshark -r "$PCAP" -Y iax2 -T fields $(printf -- '-e %s ' "${FIELDS[@]}")
} >"$HERE/tshark-iax2.txt"
log "wrote $PCAP and tshark-iax2.txt"
