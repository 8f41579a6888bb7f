#!/usr/bin/env bash
# Prints the tshark facts behind every label in corpus/*.toml (no root needed; tshark only).
#   bash tests/eval/verify.sh [name...]
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
C="$HERE/corpus"
ts() { tshark -r "$1" -n "${@:2}" 2>/dev/null; }
count() { ts "$1" -Y "$2" | wc -l; }

facts() {
  local n=$1 f="$C/$1.pcap"
  echo "== $n  ($(stat -c %s "$f") bytes, $(ts "$f" | wc -l) frames)"
  echo "  SIP messages in clear: $(count "$f" 'sip')   RTP: $(count "$f" 'rtp')   STUN: $(count "$f" 'stun')   TLS records: $(count "$f" 'tls')"
  echo "  requests by method/source:"; ts "$f" -Y 'sip.Method and not icmp' -T fields -e ip.src -e sip.Method | sort | uniq -c | sed 's/^/    /'
  echo "  responses by code:"; ts "$f" -Y 'sip.Status-Code and not icmp' -T fields -e ip.src -e sip.CSeq.method -e sip.Status-Code | sort | uniq -c | sed 's/^/    /'
  echo "  credentialed requests (Authorization/Proxy-Authorization): $(count "$f" '(sip.Authorization or sip.Proxy-Authorization) and not icmp')"
  echo "  2xx to REGISTER: $(count "$f" 'sip.Status-Code>=200 and sip.Status-Code<300 and sip.CSeq.method==REGISTER and not icmp')"
  echo "  User-Agent / Server values:"; ts "$f" -Y 'not icmp' -T fields -e sip.User-Agent -e sip.Server | sort | uniq -c | grep -v '^ *[0-9]* *$' | sed 's/^/    /'
  echo "  top Via sent-by hosts of requests (sender ip -> Via):"; ts "$f" -Y 'sip.Method and not icmp' -T fields -e ip.src -e sip.Via.sent-by.address | sort | uniq -c | sed 's/^/    /'
  echo "  Contact hosts:"; ts "$f" -Y 'sip.Method and not icmp' -T fields -e ip.src -e sip.contact.uri | sed -E 's/sip:[^@]*@//; s/;.*//' | sort | uniq -c | head -5 | sed 's/^/    /'
  echo "  (Call-ID, CSeq) pairs reused by >1 request:"; ts "$f" -Y 'sip.Method==REGISTER and not icmp' -T fields -e sip.Call-ID -e sip.CSeq | sort | uniq -c | awk '$1>1' | sed 's/^/    /'
  echo "  distinct To users of requests: $(ts "$f" -Y 'sip.Method and not icmp' -T fields -e sip.to.user | sort -u | wc -l)"
  echo "  destinations of requests from one source: $(ts "$f" -Y 'sip.Method and not icmp' -T fields -e ip.src -e ip.dst | sort -u | awk '{print $1}' | uniq -c | tr '\n' ' ')"
  echo "  ICMP port unreachable: $(count "$f" 'icmp.type==3')"
  echo "  INVITE Request-URIs:"; ts "$f" -Y 'sip.Method==INVITE and not icmp' -T fields -e sip.r-uri.user | sort | uniq -c | sed 's/^/    /'
  echo "  seconds from first to last frame: $(ts "$f" -T fields -e frame.time_relative | tail -1)"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls "$C" | sed -n 's/\.pcap$//p'))
for n in "${names[@]}"; do facts "$n"; done
