#!/usr/bin/env bash
# Regenerates the capture-handling test captures in tests/case/captures/ with REAL tools only:
# SIPp 3.6.1 (calls; RTP both ways with SIPp's own RTP streamer, <exec rtp_stream>, fed with
# the G.711 A-law speech of the g711a.pcap sample shipped by Debian's sip-tester, extracted
# with tshark), the Linux kernel (veth, IPv4 fragmentation, IPv4 forwarding) and tcpdump
# 4.99; editcap only converts the file format.
#
#   sudo bash tests/case/make-case.sh             # both scenarios
#   sudo bash tests/case/make-case.sh frag-call   # one of them (frag-call | twopoint)
#
# frag-call   netns ec-fa 10.77.30.1 <== veth, MTU 576 ==> netns ec-fb 10.77.30.2
#             one UDP call whose INVITE and 200 OK carry a ~2 kB SDP, so the kernel fragments
#             them; RTP both ways for ~7 s. Captured on ec-fb's eth0 -> captures/frag-call.pcap
# twopoint    netns ec-ta 10.77.31.2 -- ra 10.77.31.1 [netns ec-tr, ip_forward=1] 10.77.32.1 rb
#             -- 10.77.32.2 netns ec-tb. Three sequential UDP calls with RTP, A calls B through
#             the router. Captured at the same time on ra (captures/twopoint-a.pcap, microsecond
#             pcap) and rb (captures/twopoint-b.pcapng, nanosecond timestamps, pcapng).
#
# Only IPv4 is captured (capture filter `ip`: no ARP; IPv6 is disabled in the namespaces).
# Call-IDs (-cid_str), tags, Via branches, SDP, MAC addresses and RTP SSRCs (SIPp: 0xca110000
# + call index) are fixed, so every SIP message and frame has the same size on every run;
# timestamps, IP IDs, RTP timestamps and the exact interleaving of the two directions are not.
# Idempotent: removes its namespaces first and rewrites the captures. Needs root.
# OUT_DIR=DIR writes the captures to DIR instead of captures/ (e.g. to compare a rerun with the
# committed files: OUT_DIR=/tmp/case sudo -E bash tests/case/make-case.sh).
# The helpers (namespaces, veth links, tcpdump, SIPp statistics, audio) are in
# tests/lib/capture-helpers.sh, shared with tests/b2bua/make-b2bua.sh and make-anchored.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/capture-helpers.sh
source "$(dirname "$0")/../lib/capture-helpers.sh"
OUT="${OUT_DIR:-$HERE/captures}"
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tcpdump): sudo bash $0" >&2; exit 1; }
require_tools "apt-get install -y sip-tester tcpdump tshark iproute2 xxd" sipp tcpdump tshark editcap capinfos ip timeout xxd
AUDIO=$(find_g711a) || { echo "missing g711a.pcap (Debian: /usr/share/sip-tester/g711a.pcap from sip-tester)" >&2; exit 1; }

ALL=(frag-call twopoint)
if [ $# -gt 0 ]; then SCEN=("$@"); else SCEN=("${ALL[@]}"); fi

cap_init earshot-case
CLEANUP_GRACE=0.3   # seconds between TERM and KILL in cleanup

# ------------------------------------------------------------------ audio
# The G.711 A-law payload of g711a.pcap (236 x 240 bytes = 7.08 s of speech) as a raw file for
# SIPp's rtp_stream (which makes its own RTP headers, 160-byte / 20 ms packets, a new SSRC per
# call). A -> B plays all of it (354 packets); B -> A plays it from the 1st second on
# (48640 bytes = 304 packets), so the two directions differ in content and length.
alaw_extract "$AUDIO" "$WORK/a2b.alaw"
tail -c +8001 "$WORK/a2b.alaw" >"$WORK/b2a.alaw"

# ------------------------------------------------------------------ SIPp scenarios
# pad_lines PREFIX N: N SDP attribute lines of 72 characters (deterministic filler that makes
# the body large; a=x-* attributes are legal and ignored by SDP parsers)
pad_lines() {
  local i
  for ((i = 1; i <= $2; i++)); do
    printf 'a=x-earshot-%s-pad:%02d %s\n' "$1" "$i" "$(printf '%s-%02d' "$1" "$i" | sha256sum | cut -c1-48)"
  done
}

# sdp_body USER SESS_ID SESS_VERSION PT... : the SDP of both scenarios, up to a=sendrecv
# (o= with USER, SESS_ID and SESS_VERSION; m=audio with the payload types PT..., each with its
# a=rtpmap: 8 PCMA, 0 PCMU, 101 telephone-event); the filler lines (pad_lines) follow it
sdp_body() {
  local user=$1 sess=$2 ver=$3 pt; shift 3
  printf '%s\n' "v=0" "o=$user $sess $ver IN IP[local_ip_type] [local_ip]" "s=Earshot case test" \
    "c=IN IP[media_ip_type] [media_ip]" "t=0 0" "m=audio [rtpstream_audio_port] RTP/AVP $*"
  for pt; do
    case $pt in
      8) echo "a=rtpmap:8 PCMA/8000" ;;
      0) echo "a=rtpmap:0 PCMU/8000" ;;
      101) echo "a=rtpmap:101 telephone-event/8000" ;;
    esac
  done
  printf '%s\n' "a=fmtp:101 0-16" "a=ptime:20" "a=sendrecv"
}

# req_head FROM_USER TO_USER METHOD CSEQ BRANCH_SUFFIX [TO_PARAM] : the request line and the
# headers that every request of the caller has (Via with a fixed branch, From with a fixed tag,
# To + TO_PARAM, Call-ID, CSeq, Contact, Max-Forwards)
req_head() {
  local from=$1 to=$2 method=$3 cseq=$4 br=$5 top=${6:-}
  printf '%s\n' "$method sip:$to@[remote_ip]:[remote_port] SIP/2.0" \
    "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-ec-$from-[call_number]-$br" \
    "From: \"Caller $from\" <sip:$from@[local_ip]>;tag=uac-$from-[call_number]" \
    "To: <sip:$to@[remote_ip]>$top" "Call-ID: [call_id]" "CSeq: $cseq $method" \
    "Contact: <sip:$from@[local_ip]:[local_port]>" "Max-Forwards: 70"
}
# resp_head STATUS [TO_TAG_USER] : the status line and the headers the callee copies from the
# request (Via, From, To, Call-ID, CSeq); with TO_TAG_USER the To gets tag=uas-USER-N
resp_head() {
  printf '%s\n' "SIP/2.0 $1" "[last_Via:]" "[last_From:]" "[last_To:]${2:+;tag=uas-$2-[call_number]}" \
    "[last_Call-ID:]" "[last_CSeq:]"
}

# uac_xml FILE FROM_USER TO_USER PAD_LINES PAUSE_MS : INVITE (SDP + PAD_LINES filler lines),
# 100/180/200, ACK, then the caller streams $WORK/a2b.alaw (RTP PT 8, 20 ms) to the callee's
# SDP address and waits PAUSE_MS, BYE, 200.
uac_xml() {
  local f=$1 from=$2 to=$3 pad=$4 pause=$5
  cat >"$f" <<EOF
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="earshot case uac">
  <send retrans="500">
    <![CDATA[
$(req_head "$from" "$to" INVITE 1 inv)
User-Agent: EarshotCaseTest SIPp
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
Content-Type: application/sdp
Content-Length: [len]

$(sdp_body "$from" 53655765 2353687637 8 0 101)
$( [ "$pad" -gt 0 ] && pad_lines offer "$pad" )

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
$(req_head "$from" "$to" ACK 1 ack "[peer_tag_param]")
Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec rtp_stream="$WORK/a2b.alaw,1,8"/>
    </action>
  </nop>
  <pause milliseconds="$pause"/>
  <send retrans="500">
    <![CDATA[
$(req_head "$from" "$to" BYE 2 bye "[peer_tag_param]")
Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
EOF
}

# uas_xml FILE USER PAD_LINES : 100, 180, 200 (SDP + PAD_LINES filler lines), ACK, then the
# callee streams $WORK/b2a.alaw (RTP PT 8, 20 ms) to the caller's SDP address; BYE, 200.
uas_xml() {
  local f=$1 user=$2 pad=$3
  cat >"$f" <<EOF
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="earshot case uas">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
$(resp_head "100 Trying")
Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
$(resp_head "180 Ringing" "$user")
Contact: <sip:$user@[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="300"/>
  <send retrans="500">
    <![CDATA[
$(resp_head "200 OK" "$user")
Contact: <sip:$user@[local_ip]:[local_port]>
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
Content-Type: application/sdp
Content-Length: [len]

$(sdp_body "$user" 84736251 1029384756 8 101)
$( [ "$pad" -gt 0 ] && pad_lines answer "$pad" )

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop>
    <action>
      <exec rtp_stream="$WORK/b2a.alaw,1,8"/>
    </action>
  </nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[
$(resp_head "200 OK")
Content-Length: 0

    ]]>
  </send>
</scenario>
EOF
}

# ------------------------------------------------------------------ facts (stderr)
facts() {
  local f=$1
  log "$(basename "$f"): $(stat -c %s "$f") bytes, $(ts -r "$f" | wc -l) frames," \
    "$(capinfos -u "$f" 2>/dev/null | awk -F': *' '/Capture duration/ {print $2}')," \
    "$(ts -r "$f" -Y sip | wc -l) SIP, $(ts -r "$f" -Y rtp | wc -l) RTP," \
    "$(ts -r "$f" -Y 'ip.flags.mf==1 || ip.frag_offset>0' | wc -l) IPv4 fragments"
}

# ------------------------------------------------------------------ frag-call
scn_frag_call() {
  local name=frag-call a=ec-fa b=ec-fb
  log "$name: one call over a veth with MTU 576"
  new_ns $a; new_ns $b
  link $a eth0 10.77.30.1/24 $b eth0 10.77.30.2/24 576
  # 24 + 20 filler lines: INVITE ~2.4 kB (5 fragments), 200 OK ~2.0 kB (4 fragments)
  uac_xml "$WORK/$name-uac.xml" 1001 2002 24 7300
  uas_xml "$WORK/$name-uas.xml" 2002 20

  cap_start $b eth0 "$WORK/$name.raw.pcap" ip
  ( cd "$WORK" && exec ip netns exec $b timeout 40 sipp -sf "$WORK/$name-uas.xml" -i 10.77.30.2 -p 5060 -mp 6000 \
      -m 1 -nostdin -trace_err ) >"$WORK/$name.uas.out" 2>&1 &
  PIDS+=($!)
  sleep 1.5
  ( cd "$WORK" && nsx $a timeout 40 sipp 10.77.30.2:5060 -sf "$WORK/$name-uac.xml" -i 10.77.30.1 -p 5060 -mp 6000 \
      -cid_str "earshot-frag-%u@%s" -m 1 -l 1 -nostdin -trace_err ) >"$WORK/$name.uac.out" 2>&1 || true
  cap_stop; cleanup
  sipp_ok "$WORK/$name.uac.out" 1 || FAILED+=("$name(calls)")
  cp "$WORK/$name.raw.pcap" "$OUT/$name.pcap"
  facts "$OUT/$name.pcap"
  local n
  n=$(ts -r "$OUT/$name.pcap" -Y 'ip.flags.mf==1 || ip.frag_offset>0' | wc -l)
  [ "$n" -gt 0 ] || { FAILED+=("$name(no fragments)"); log "$name: no IPv4 fragments"; }
  n=$(ts -r "$OUT/$name.pcap" -Y sip | wc -l)
  [ "$n" = 7 ] || { FAILED+=("$name(sip=$n)"); log "$name: $n SIP messages, expected 7"; }
}

# ------------------------------------------------------------------ twopoint
scn_twopoint() {
  local name=twopoint a=ec-ta r=ec-tr b=ec-tb
  log "$name: three calls A -> router -> B, captured on both router interfaces"
  new_ns $a; new_ns $r; new_ns $b
  link $a eth0 10.77.31.2/24 $r ra 10.77.31.1/24
  link $r rb 10.77.32.1/24 $b eth0 10.77.32.2/24
  nsx $r sysctl -qw net.ipv4.ip_forward=1
  nsx $a ip route add default via 10.77.31.1
  nsx $b ip route add default via 10.77.32.1
  uac_xml "$WORK/$name-uac.xml" 3001 4002 0 7300
  uas_xml "$WORK/$name-uas.xml" 4002 0

  cap_start $r ra "$WORK/$name-a.raw.pcap" ip
  cap_start $r rb "$WORK/$name-b.raw.pcap" --time-stamp-precision=nano ip
  ( cd "$WORK" && exec ip netns exec $b timeout 90 sipp -sf "$WORK/$name-uas.xml" -i 10.77.32.2 -p 5060 -mp 6000 \
      -m 3 -nostdin -trace_err ) >"$WORK/$name.uas.out" 2>&1 &
  PIDS+=($!)
  sleep 1.5
  ( cd "$WORK" && nsx $a timeout 90 sipp 10.77.32.2:5060 -sf "$WORK/$name-uac.xml" -i 10.77.31.2 -p 5060 -mp 6000 \
      -cid_str "earshot-twopoint-%u@%s" -m 3 -l 1 -r 1 -rp 9000 -nostdin -trace_err ) >"$WORK/$name.uac.out" 2>&1 || true
  cap_stop; cleanup
  sipp_ok "$WORK/$name.uac.out" 3 || FAILED+=("$name(calls)")
  cp "$WORK/$name-a.raw.pcap" "$OUT/$name-a.pcap"
  editcap -F pcapng "$WORK/$name-b.raw.pcap" "$OUT/$name-b.pcapng"
  facts "$OUT/$name-a.pcap"; facts "$OUT/$name-b.pcapng"
  local na nb
  na=$(ts -r "$OUT/$name-a.pcap" -Y sip | wc -l); nb=$(ts -r "$OUT/$name-b.pcapng" -Y sip | wc -l)
  [ "$na" = 21 ] && [ "$nb" = 21 ] || { FAILED+=("$name(sip=$na/$nb)"); log "$name: $na/$nb SIP messages, expected 21"; }
}

for s in "${SCEN[@]}"; do
  if ! declare -F "scn_${s//-/_}" >/dev/null; then echo "unknown scenario: $s (known: ${ALL[*]})" >&2; exit 2; fi
  "scn_${s//-/_}"
done
log "done; captures in $OUT"
[ ${#FAILED[@]} -eq 0 ] || { log "FAILED: ${FAILED[*]}"; exit 1; }
