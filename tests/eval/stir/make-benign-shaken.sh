#!/usr/bin/env bash
# Makes tests/eval/corpus/benign-shaken-trunk.pcap: a carrier interconnect where every call is
# legitimate. A signing trunk sends 12 calls, each with a fresh, correctly signed SHAKEN PASSporT
# (two of them diverted, with a div PASSporT from the diverting provider, one signed with a
# TN-scoped certificate); a second trunk that never signs sends 4 unsigned calls.
#
#   sudo bash tests/eval/stir/make-benign-shaken.sh
#   KEEP_WORK=1 sudo bash tests/eval/stir/make-benign-shaken.sh   # keep the work dir (scenarios, logs)
#
# Real tools only: PASSporTs are signed with `openssl dgst -sha256 -sign` by the STIR/SHAKEN
# sample's tools/passport.py, with the sample's EXISTING test PKI (sample-captures/stir-shaken/pki;
# never regenerated here, so its certs/ folder and sti-pa-roots.pem verify this capture too);
# SIPp sends the calls over UDP on loopback; tcpdump captures them; tshark and the sample's
# tools/verify_tokens.py (openssl dgst -verify) check the result.
#
# Addresses (loopback only): 127.0.0.30:5070 = signing trunk (SIPp UAC), 127.0.0.31:5070 = a trunk
# that never signs (SIPp UAC), 127.0.0.40:5060 = the terminating side (SIPp UAS, the sample's
# sipp/uas.xml). Root is needed for tcpdump. The label (corpus/benign-shaken-trunk.toml) is
# hand-written, not generated.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVAL=$(cd "$HERE/.." && pwd)
REPO=$(cd "$EVAL/../.." && pwd)
SAMPLE=$REPO/sample-captures/stir-shaken
TOOLS=$SAMPLE/tools
PKI=$SAMPLE/pki
CERTS=$SAMPLE/certs
ROOTS=$SAMPLE/sti-pa-roots.pem
PCAP=$EVAL/corpus/benign-shaken-trunk.pcap
VERIFY_OUT=$HERE/benign-shaken-trunk.openssl-verify.txt

SIGNER=127.0.0.30   # signing trunk
OTHER=127.0.0.31    # trunk that never signs
TERM_IP=127.0.0.40  # terminating side
UAC_PORT=5070
UAS_PORT=5060

X5U_SP1=https://cert.sp1.test/shaken/1234.pem
X5U_SP2=https://cert.sp2.test/shaken/5678.pem
X5U_SP3=https://cert.sp1.test/shaken/tn-12025550300.cer

die() { echo "make-benign-shaken.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

for t in openssl python3 sipp tcpdump tshark editcap timeout ss; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install -y sip-tester tcpdump tshark openssl)"
done
[[ $EUID -eq 0 ]] || die "run as root (tcpdump)"
for f in sp1-1234 sp2-5678 sp3-tn-12025550300 intermediate root; do
  [[ -s $PKI/$f.pem ]] || die "missing $PKI/$f.pem (the sample's PKI; this script never makes one)"
done
for f in sp1-1234 sp2-5678 sp3-tn-12025550300; do
  [[ -s $PKI/$f.key ]] || die "missing $PKI/$f.key"
done

WORK=$(mktemp -d /tmp/benign-shaken.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------------------------------------
# The certificate folder and trust anchors of the sample must vouch for the three signers.
# ---------------------------------------------------------------------------------------------
log "certificates: the sample's certs/ against sti-pa-roots.pem"
url_sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
url_sanitized() { printf '%s' "$1" | LC_ALL=C sed 's/[^A-Za-z0-9.-]/_/g'; }
chk_chain() {  # FILE FORM KEY: the leaf chains to the roots and holds the public key of KEY
  local out
  timeout 10 openssl x509 -inform "$2" -in "$1" -out "$WORK/leaf.pem"
  out=$(timeout 10 openssl verify -CAfile "$ROOTS" -untrusted "$CERTS/intermediates.pem" "$WORK/leaf.pem" 2>&1) \
    || die "$1 does not verify: $out"
  cmp -s <(timeout 10 openssl x509 -in "$WORK/leaf.pem" -noout -pubkey) \
         <(timeout 10 openssl pkey -in "$3" -pubout) || die "$1 is not the certificate of $3"
  echo "   $(basename "$1"): chains to $(timeout 10 openssl x509 -in "$ROOTS" -noout -subject), key $(basename "$3")" >&2
}
chk_chain "$CERTS/$(url_sha256 $X5U_SP1).pem" PEM "$PKI/sp1-1234.key"
chk_chain "$CERTS/$(url_sanitized $X5U_SP2)" PEM "$PKI/sp2-5678.key"
chk_chain "$CERTS/$(url_sha256 $X5U_SP3).der" DER "$PKI/sp3-tn-12025550300.key"

# ---------------------------------------------------------------------------------------------
# The calls (in the order sent)
#   kind: A/B/C = signed by SP1 with that attestation; TN = signed with the TN-scoped certificate
#         (attest A); DIV = SP1 shaken (attest A, orig -> To) + SP2 div (To -> Request-URI);
#         NONE = from the trunk that never signs
#   fields: call-id  kind  From/PAI number  display name  To number  Request-URI number (or -)
# ---------------------------------------------------------------------------------------------
CALLS=(
  "call-01@sp1.test       A    +12025550201 Alice Smith            +13125550101 -"
  "call-02@sp1.test       B    +12025550202 Acme Plumbing          +14155550102 -"
  "call-03@carrier-b.test NONE +16175550141 Brian Okafor           +13125550118 -"
  "call-04@sp1.test       DIV  +12025550203 Carol Nguyen           +13125550110 +17735550120"
  "call-05@sp1.test       C    +12025550204 Delta Freight Lines    +16465550104 -"
  "call-06@sp1.test       TN   +12025550300 Evergreen Dental       +14155550106 -"
  "call-07@sp1.test       B    +12025550205 Frank Moreau           +13125550107 -"
  "call-08@carrier-b.test NONE +16175550142 Greenleaf Bakery       +14155550119 -"
  "call-09@sp1.test       A    +12025550206 Hannah Lee             +16465550108 -"
  "call-10@sp1.test       B    +12025550207 Ivan Petrov            +13125550109 -"
  "call-11@sp1.test       DIV  +12025550208 Juniper Landscaping    +14155550111 +15035550121"
  "call-12@carrier-b.test NONE +16175550143 Karen Walsh            +16465550117 -"
  "call-13@sp1.test       C    +12025550209 Lakeside Auto Repair   +13125550112 -"
  "call-14@sp1.test       A    +12025550210 Maria Garcia           +14155550113 -"
  "call-15@sp1.test       B    +12025550211 Northwind Catering     +16465550114 -"
  "call-16@carrier-b.test NONE +16175550144 Oscar Brandt           +13125550115 -"
)
# Words that would make a display name look like an authority or a brand (the brief's list and
# Earshot's default authority_names): none may appear, even inside a word.
BAD_WORDS=(bank police irs tax court security government fraud microsoft apple amazon support fbi interpol customs emergency)

parse() {  # LINE -> CID KIND FROM DISP TO RURI
  local line=$1
  read -r CID KIND FROM _ <<<"$line"
  TO=$(awk '{print $(NF-1)}' <<<"$line")
  RURI=$(awk '{print $NF}' <<<"$line")
  DISP=$(awk '{$1=$2=$3=""; $(NF-1)=$NF=""; sub(/^ +/,""); sub(/ +$/,""); print}' <<<"$line")
}
declare -A SEEN_TO=()
for line in "${CALLS[@]}"; do
  parse "$line"
  lc=${DISP,,}
  for w in "${BAD_WORDS[@]}"; do [[ $lc != *"$w"* ]] || die "display name '$DISP' contains '$w'"; done
  SEEN_TO[$TO]=$(( ${SEEN_TO[$TO]:-0} + 1 ))
  (( SEEN_TO[$TO] <= 2 )) || die "more than 2 calls to $TO"
done

# ---------------------------------------------------------------------------------------------
# Capture and calls
# ---------------------------------------------------------------------------------------------
for a in "$SIGNER:$UAC_PORT" "$OTHER:$UAC_PORT" "$TERM_IP:$UAS_PORT"; do
  ! ss -Huln | awk '{print $4}' | grep -qx "$a" || die "UDP $a is in use"
done

log "tcpdump on lo"
timeout 300 tcpdump -i lo -U -s 0 -w "$WORK/raw.pcap" \
  "(udp port $UAS_PORT or udp port $UAC_PORT) and (host $SIGNER or host $OTHER or host $TERM_IP)" \
  >"$WORK/tcpdump.out" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.out" || { cat "$WORK/tcpdump.out" >&2; die "tcpdump did not start"; }

log "SIPp UAS on $TERM_IP:$UAS_PORT"
( cd "$WORK" && exec timeout 300 sipp -sf "$SAMPLE/sipp/uas.xml" -i $TERM_IP -p $UAS_PORT -nostdin -trace_err \
    >"$WORK/uas.out" 2>&1 ) &
PIDS+=("$!")
for _ in $(seq 50); do ss -Huln | awk '{print $4}' | grep -qx "$TERM_IP:$UAS_PORT" && break; sleep 0.1; done
ss -Huln | awk '{print $4}' | grep -qx "$TERM_IP:$UAS_PORT" || { cat "$WORK/uas.out" >&2; die "SIPp UAS did not start"; }
sleep 0.5

passport() { timeout 20 python3 "$TOOLS/passport.py" "$@"; }
N=0 END=''
log "calls"
for line in "${CALLS[@]}"; do
  parse "$line"
  N=$((N + 1))
  src=$SIGNER host=sp1.test ids=() extra=()
  [[ $RURI == - ]] && RURI=$TO
  o=${FROM#+} d=${TO#+} r=${RURI#+}
  # Each token is made just before its call: a fresh iat and (shaken) a fresh uuid4 origid.
  case $KIND in
    A|B|C) ids+=("$(passport --key "$PKI/sp1-1234.key" --x5u $X5U_SP1 --attest "$KIND" --orig "$o" --dest "$d")") ;;
    TN)    ids+=("$(passport --key "$PKI/sp3-tn-12025550300.key" --x5u $X5U_SP3 --attest A --orig "$o" --dest "$d")") ;;
    DIV)   ids+=("$(passport --key "$PKI/sp1-1234.key" --x5u $X5U_SP1 --attest A --orig "$o" --dest "$d")")
           ids+=("$(passport --ppt div --key "$PKI/sp2-5678.key" --x5u $X5U_SP2 --orig "$o" --div "$d" --dest "$r")")
           extra+=(--ruri-tn "$RURI" --diversion "<sip:$TO@sp2.test>;reason=unconditional") ;;
    NONE)  src=$OTHER host=carrier-b.test ;;
    *)     die "unknown kind $KIND" ;;
  esac
  args=(--from-tn "$FROM" --from-host "$host" --display "$DISP" --to-tn "$TO" "${extra[@]}")
  for v in "${ids[@]}"; do args+=(--identity "$v"); done
  xml=$WORK/uac-$N.xml
  timeout 20 python3 "$TOOLS/uac_scenario.py" "${args[@]}" >"$xml"
  # 0.3-0.7 s (random) after the previous call ended, counting the signing above, then SIPp starts
  # (about 0.3 s more): the INVITEs follow the previous BYE 200 by about 0.5-1 s
  if [[ -n $END ]]; then
    sleep "$(timeout 10 python3 -c "print(max(0.0, $GAP - ($EPOCHREALTIME - $END)))")"
  fi
  printf '   %s %-22s %-4s %s -> %s%s from %s\n' "$(date -u +%T.%N | cut -c1-12)" "$CID" "$KIND" "$FROM" "$TO" \
    "$([[ $RURI != "$TO" ]] && echo " (R-URI $RURI)")" "$src" >&2
  ( cd "$WORK" && timeout 30 sipp $TERM_IP:$UAS_PORT -i "$src" -p $UAC_PORT -sf "$xml" -cid_str "$CID" \
      -m 1 -l 1 -timeout 15s -timeout_error -nostdin -trace_err >"$WORK/uac-$N.out" 2>&1 ) \
    || { tail -20 "$WORK/uac-$N.out" >&2; die "SIPp call $CID failed (see $WORK)"; }
  END=$EPOCHREALTIME GAP=0.$((3 + RANDOM % 5))
done
sleep 1

log "stopping tcpdump"
kill "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
mkdir -p "$(dirname "$PCAP")"
timeout 60 editcap -F pcap "$WORK/raw.pcap" "$WORK/out.pcap"
mv "$WORK/out.pcap" "$PCAP"

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
ts() { timeout 60 tshark -r "$PCAP" -n "$@" 2>/dev/null; }
count() { ts -Y "$1" | wc -l; }
log "tshark -q -z sip,stat"
ts -q -z sip,stat | sed -n '/SIP Statistics/,$p' >&2
log "tshark: INVITEs (frame, source, Call-ID, From, To, Request-URI, Identity headers)"
ts -Y 'sip.Method == "INVITE"' -T fields -E occurrence=a -E aggregator=' ' -e frame.number -e ip.src \
  -e sip.Call-ID -e sip.from.user -e sip.to.user -e sip.r-uri.user -e sip.Identity \
  | awk -F'\t' '{printf "   %s\t%s\t%s\t%s\t%s\t%s\t%d\n", $1, $2, $3, $4, $5, $6, ($7 == "" ? 0 : split($7, x, " "))}' >&2
frames=$(ts | wc -l)
invites=$(count 'sip.Method == "INVITE"')
signed=$(count 'sip.Method == "INVITE" && sip.Identity')
identity=$(ts -Y 'sip.Method == "INVITE"' -T fields -e sip.Identity -E occurrence=a -E aggregator=' ' \
  | tr ' ' '\n' | grep -c '^ey' || true)
unsigned_other=$(count "sip.Method == \"INVITE\" && ip.src == $OTHER && !sip.Identity")
signed_other=$(count "ip.src == $OTHER && sip.Identity")
ok200=$(count 'sip.Status-Code == 200 && sip.CSeq.method == "INVITE"')
bye200=$(count 'sip.Status-Code == 200 && sip.CSeq.method == "BYE"')
acks=$(count 'sip.Method == "ACK"')
ua=$(count 'sip.User-Agent || sip.Server')
nonsip=$(count 'not sip')
echo "frames $frames, INVITEs $invites (signed $signed, unsigned from $OTHER $unsigned_other), Identity headers $identity," \
  "200 to INVITE $ok200, ACK $acks, 200 to BYE $bye200, User-Agent/Server $ua, non-SIP frames $nonsip" >&2
[[ $frames == 112 && $invites == 16 && $signed == 12 && $identity == 14 && $unsigned_other == 4 && $signed_other == 0 \
   && $ok200 == 16 && $acks == 16 && $bye200 == 16 && $ua == 0 && $nonsip == 0 ]] || die "unexpected counts"

log "tools/decode_tokens.py (what the tokens say; age_s = frame time - iat)"
timeout 120 python3 "$TOOLS/decode_tokens.py" "$PCAP" >"$WORK/tokens.txt"
column -t -s $'\t' "$WORK/tokens.txt" >&2
att=$(awk -F'\t' 'NR > 1 && $3 == "shaken" {print $4}' "$WORK/tokens.txt" | sort | uniq -c | awk '{printf "%s%s", $2, $1}')
divs=$(awk -F'\t' 'NR > 1 && $3 == "div"' "$WORK/tokens.txt" | wc -l)
origids=$(awk -F'\t' 'NR > 1 && $3 == "shaken" {print $9}' "$WORK/tokens.txt" | sort -u | wc -l)
maxage=$(awk -F'\t' 'NR > 1 {if ($8 > m) m = $8} END {print m + 0}' "$WORK/tokens.txt")
echo "attestations $att, div tokens $divs, distinct origids $origids, oldest token at its INVITE ${maxage} s" >&2
[[ $att == A6B4C2 && $divs == 2 && $origids == 12 ]] || die "unexpected tokens"
awk -v m="$maxage" 'BEGIN {exit !(m < 5)}' || die "a token is ${maxage} s old"

log "tools/verify_tokens.py (openssl dgst -sha256 -verify, certificates from the sample's certs/)"
timeout 120 python3 "$TOOLS/verify_tokens.py" "$PCAP" "$CERTS" | tee "$WORK/verify.txt"
[[ $(wc -l <"$WORK/verify.txt") == 14 && $(grep -c $'\tverified$' "$WORK/verify.txt") == 14 ]] \
  || die "not every Identity header verified"
cp "$WORK/verify.txt" "$VERIFY_OUT"
ls -l "$PCAP" "$VERIFY_OUT" >&2
