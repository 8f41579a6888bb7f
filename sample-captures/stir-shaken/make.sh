#!/usr/bin/env bash
# Regenerates sample-captures/stir-shaken/: a STIR/SHAKEN test PKI made with OpenSSL, the
# certificate folder an investigator would have fetched from the x5u URLs, PASSporTs signed
# with `openssl dgst -sha256 -sign`, 19 INVITEs sent by SIPp over UDP on loopback, captured
# by tcpdump, then checked with tshark and with tools/verify_tokens.py (openssl-verify.txt).
#
#   sudo bash sample-captures/stir-shaken/make.sh              # keeps pki/ if it is complete
#   REGEN_PKI=1 sudo bash sample-captures/stir-shaken/make.sh  # new keys and certificates too
#   KEEP_WORK=1 ...                                            # keep the work dir (scenarios, logs)
#
# Root is needed for tcpdump. Addresses: 127.0.0.10:5070 = the signing trunk (SIPp UAC),
# 127.0.0.11:5070 = a trunk that never signs, 127.0.0.20:5060 = the terminating side (SIPp UAS).
# Nothing leaves the loopback interface. calls.toml (the labels) is hand-written, not generated.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
CERTS=$HERE/certs
TOOLS=$HERE/tools
PCAP=$HERE/stir-shaken.pcap

SIGNER=127.0.0.10   # signing trunk
OTHER=127.0.0.11    # trunk that never signs
TERM_IP=127.0.0.20  # terminating side
UAC_PORT=5070
UAS_PORT=5060

die() { echo "make.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

for t in openssl python3 sipp tcpdump tshark editcap timeout ss sha256sum; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[[ $EUID -eq 0 ]] || die "run as root (tcpdump)"

WORK=$(mktemp -d /tmp/stir-shaken.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# PKI: every key EC P-256, every signature ecdsa-with-SHA256, all issued with `openssl ca`
# (OpenSSL 3.0's `req -x509` / `x509 -req` cannot set an explicit notBefore).
# ---------------------------------------------------------------------------------------------
VALID_FROM=20260101000000Z
export PYTHONDONTWRITEBYTECODE=1
export CADB=$WORK/cadb   # openssl-ca.cnf reads it (also when `openssl req` loads the file)
VALID_TO=20360101000000Z

write_ca_cnf() {
  cat >"$PKI/openssl-ca.cnf" <<'EOF'
# OpenSSL config used by make.sh to issue the test certificates with `openssl ca`.
# CADB (environment) = a directory with index.txt, serial and newcerts/.
[ca]
default_ca = test_ca

[test_ca]
dir            = $ENV::CADB
database       = $dir/index.txt
new_certs_dir  = $dir/newcerts
serial         = $dir/serial
default_md     = sha256
policy         = policy_cn
unique_subject = no
email_in_dn    = no
copy_extensions = none
preserve       = no

[policy_cn]
commonName = supplied

[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = placeholder

[v3_root]
basicConstraints     = critical,CA:TRUE
keyUsage             = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[v3_intermediate]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# SHAKEN service-provider certificates: not a CA, TNAuthList (RFC 8226, id-pe-TNAuthList
# 1.3.6.1.5.5.7.1.26, non-critical). The ASN.1 module of RFC 8226 uses EXPLICIT tags:
# TNEntry ::= CHOICE { spc [0] ServiceProviderCode (IA5String), range [1] ..., one [2] TelephoneNumber (IA5String) }
[v3_sp_1234]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
1.3.6.1.5.5.7.1.26     = ASN1:SEQUENCE:tnal_spc_1234
[tnal_spc_1234]
spc = EXP:0,IA5:1234

[v3_sp_5678]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
1.3.6.1.5.5.7.1.26     = ASN1:SEQUENCE:tnal_spc_5678
[tnal_spc_5678]
spc = EXP:0,IA5:5678

[v3_sp_9999]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
1.3.6.1.5.5.7.1.26     = ASN1:SEQUENCE:tnal_spc_9999
[tnal_spc_9999]
spc = EXP:0,IA5:9999

[v3_sp_tn_12025550300]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
1.3.6.1.5.5.7.1.26     = ASN1:SEQUENCE:tnal_tn_12025550300
[tnal_tn_12025550300]
one = EXP:2,IA5:12025550300
EOF
}

# issue NAME CN EXTENSIONS ISSUER|self [START END]   -> pki/NAME.key, pki/NAME.pem
issue() {
  local name=$1 cn=$2 ext=$3 issuer=$4 start=${5:-$VALID_FROM} end=${6:-$VALID_TO}
  timeout 30 openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
  chmod 644 "$PKI/$name.key"   # throw-away test keys, committed on purpose
  timeout 30 openssl req -new -config "$PKI/openssl-ca.cnf" -key "$PKI/$name.key" -subj "/CN=$cn" \
    -out "$WORK/$name.csr"
  local signer=(-cert "$PKI/$issuer.pem" -keyfile "$PKI/$issuer.key")
  [[ $issuer == self ]] && signer=(-selfsign -keyfile "$PKI/$name.key")
  timeout 30 openssl ca -batch -notext -config "$PKI/openssl-ca.cnf" "${signer[@]}" \
    -in "$WORK/$name.csr" -out "$PKI/$name.pem" -extensions "$ext" -startdate "$start" -enddate "$end" \
    2>"$WORK/ca-$name.log" || { cat "$WORK/ca-$name.log" >&2; die "openssl ca failed for $name"; }
}

# tnauthlist_hex CERT -> hex of the TNAuthList extension value (the inner DER)
tnauthlist_hex() {
  timeout 30 python3 - "$1" <<'EOF'
import subprocess, sys
der = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-outform", "DER"], capture_output=True, check=True).stdout
oid = bytes.fromhex("06082b0601050507011a")  # OBJECT IDENTIFIER 1.3.6.1.5.5.7.1.26
i = der.index(oid) + len(oid)
if der[i] == 0x01:  # critical BOOLEAN would be here
    sys.exit("TNAuthList is marked critical")
assert der[i] == 0x04, "expected OCTET STRING"
n = der[i + 1]
print(der[i + 2:i + 2 + n].hex())
EOF
}

PKI_FILES=(root intermediate sp1-1234 sp2-5678 sp3-tn-12025550300 sp1-1234-expired rogue-root rogue-9999)
pki_complete() {
  local n
  for n in "${PKI_FILES[@]}"; do [[ -s $PKI/$n.key && -s $PKI/$n.pem ]] || return 1; done
}

if [[ -n ${REGEN_PKI:-} ]] || ! pki_complete; then
  log "PKI: new keys and certificates in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI" "$WORK/cadb/newcerts"
  : >"$WORK/cadb/index.txt"
  timeout 10 openssl rand -hex 16 >"$WORK/cadb/serial"
  write_ca_cnf
  issue root               "STI-PA Test Root"         v3_root              self
  issue intermediate       "STI-CA Test Intermediate" v3_intermediate      root
  issue sp1-1234           "SHAKEN 1234"              v3_sp_1234           intermediate
  issue sp2-5678           "SHAKEN 5678"              v3_sp_5678           intermediate
  issue sp3-tn-12025550300 "SHAKEN TN 12025550300"    v3_sp_tn_12025550300 intermediate
  issue sp1-1234-expired   "SHAKEN 1234 old"          v3_sp_1234           intermediate 20240101000000Z 20250101000000Z
  issue rogue-root         "Rogue Root"               v3_root              self
  issue rogue-9999         "SHAKEN 9999"              v3_sp_9999           rogue-root
else
  log "PKI: keeping the existing keys and certificates in $PKI (REGEN_PKI=1 to renew)"
fi

log "PKI checks"
for n in "${PKI_FILES[@]}"; do
  timeout 10 openssl x509 -in "$PKI/$n.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' \
    || die "$n: not ecdsa-with-SHA256"
  timeout 10 openssl x509 -in "$PKI/$n.pem" -noout -text | grep -q 'NIST CURVE: P-256' || die "$n: not P-256"
done
expect_tnal() {
  local got; got=$(tnauthlist_hex "$PKI/$1.pem")
  [[ $got == "$2" ]] || die "$1: TNAuthList is $got, expected $2"
  echo "   $1 TNAuthList: $got" >&2
}
expect_tnal sp1-1234           3008a006160431323334
expect_tnal sp2-5678           3008a006160435363738
expect_tnal sp1-1234-expired   3008a006160431323334
expect_tnal rogue-9999         3008a006160439393939
expect_tnal sp3-tn-12025550300 300fa20d160b3132303235353530333030
verify_out() { timeout 10 openssl verify -CAfile "$PKI/$1.pem" ${3:+-untrusted "$PKI/$3.pem"} "$PKI/$2.pem" 2>&1 || true; }
for n in sp1-1234 sp2-5678 sp3-tn-12025550300; do
  [[ $(verify_out root "$n" intermediate) == "$PKI/$n.pem: OK" ]] || die "$n does not chain to the root"
done
verify_out root sp1-1234-expired intermediate | grep -q 'certificate has expired' || die "expired cert is not expired"
verify_out root rogue-9999 | grep -q 'unable to get local issuer' || die "rogue cert chains to the STI-PA root"
[[ $(verify_out rogue-root rogue-9999) == "$PKI/rogue-9999.pem: OK" ]] || die "rogue cert does not chain to the rogue root"

cp "$PKI/root.pem" "$HERE/sti-pa-roots.pem"

# ---------------------------------------------------------------------------------------------
# certs/: the files an investigator fetched from the x5u URLs (naming rule in README.md)
# ---------------------------------------------------------------------------------------------
X5U_SP1=https://cert.sp1.test/shaken/1234.pem
X5U_SP2=https://cert.sp2.test/shaken/5678.pem
X5U_SP3=https://cert.sp1.test/shaken/tn-12025550300.cer
X5U_EXPIRED=https://cert.sp1.test/shaken/1234-2024.pem
X5U_ROGUE=https://cert.rogue.test/9999.pem
X5U_UNKNOWN=https://cert.unknown.test/shaken/4321.pem

url_sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
url_sanitized() { printf '%s' "$1" | LC_ALL=C sed 's/[^A-Za-z0-9.-]/_/g'; }

log "certs/"
rm -rf "$CERTS"
mkdir -p "$CERTS"
cat "$PKI/sp1-1234.pem" "$PKI/intermediate.pem" >"$CERTS/$(url_sha256 $X5U_SP1).pem"
cat "$PKI/sp2-5678.pem" "$PKI/intermediate.pem" >"$CERTS/$(url_sanitized $X5U_SP2)"   # no extension added
timeout 10 openssl x509 -in "$PKI/sp3-tn-12025550300.pem" -outform DER -out "$CERTS/$(url_sha256 $X5U_SP3).der"
cp "$PKI/intermediate.pem" "$CERTS/intermediates.pem"
cat "$PKI/sp1-1234-expired.pem" "$PKI/intermediate.pem" >"$CERTS/$(url_sha256 $X5U_EXPIRED).pem"
cat "$PKI/rogue-9999.pem" "$PKI/rogue-root.pem" >"$CERTS/$(url_sha256 $X5U_ROGUE).pem"
# nothing for $X5U_UNKNOWN
for u in $X5U_SP1 $X5U_SP2 $X5U_SP3 $X5U_EXPIRED $X5U_ROGUE $X5U_UNKNOWN; do
  printf '   %-52s sha256 %s\n' "$u" "$(url_sha256 "$u")" >&2
done
ls -l "$CERTS" >&2

# ---------------------------------------------------------------------------------------------
# Capture and calls
# ---------------------------------------------------------------------------------------------
log "tcpdump on lo"
timeout 300 tcpdump -i lo --immediate-mode -U -s 0 -w "$WORK/raw.pcap" \
  "(udp port $UAS_PORT or udp port $UAC_PORT) and (host $SIGNER or host $OTHER or host $TERM_IP)" \
  >"$WORK/tcpdump.out" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.out" || { cat "$WORK/tcpdump.out" >&2; die "tcpdump did not start"; }

log "SIPp UAS on $TERM_IP:$UAS_PORT"
( cd "$WORK" && exec timeout 300 sipp -sf "$HERE/sipp/uas.xml" -i $TERM_IP -p $UAS_PORT -nostdin -trace_err \
    >"$WORK/uas.out" 2>&1 ) &
PIDS+=("$!")
for _ in $(seq 50); do ss -uln | grep -q "$TERM_IP:$UAS_PORT " && break; sleep 0.1; done
ss -uln | grep -q "$TERM_IP:$UAS_PORT " || { cat "$WORK/uas.out" >&2; die "SIPp UAS did not start"; }
sleep 0.5

N=0
# call CALL_ID SOURCE_IP uac_scenario.py-args...   (one SIPp run, one call)
call() {
  local cid=$1 src=$2; shift 2
  N=$((N + 1))
  local xml="$WORK/uac-$N.xml"
  timeout 20 python3 "$TOOLS/uac_scenario.py" "$@" >"$xml"
  echo "   $(date -u +%T.%N | cut -c1-12) $cid from $src" >&2
  ( cd "$WORK" && timeout 30 sipp $TERM_IP:$UAS_PORT -i "$src" -p $UAC_PORT -sf "$xml" -cid_str "$cid" \
      -m 1 -l 1 -timeout 15s -timeout_error -nostdin -trace_err >"$WORK/uac-$N.out" 2>&1 ) \
    || { tail -20 "$WORK/uac-$N.out" >&2; die "SIPp call $cid failed (see $WORK)"; }
}
passport() { timeout 20 python3 "$TOOLS/passport.py" "$@"; }
now() { date +%s; }

SP1=(--key "$PKI/sp1-1234.key" --x5u "$X5U_SP1")
FROM_SP1=(--from-host sp1.test --to-tn +12025550199)

log "calls"
# 1-3: valid, attestation A, B, C
id=$(passport "${SP1[@]}" --attest A --orig 12025550101 --dest 12025550199)
call stir-valid-a@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550101 --identity "$id"
sleep 1
id=$(passport "${SP1[@]}" --attest B --orig 12025550102 --dest 12025550199)
call stir-valid-b@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550102 --identity "$id"
sleep 1
id=$(passport "${SP1[@]}" --attest C --orig 12025550103 --dest 12025550199)
call stir-valid-c@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550103 --identity "$id"
sleep 1
# 4: attestation C with an authority display name
id=$(passport "${SP1[@]}" --attest C --orig 12025550104 --dest 12025550199)
call stir-authority-c@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550104 \
  --display "Bank Security Department" --identity "$id"
sleep 1
# 5: signed with attest C, claims then replaced by attest A (signature kept)
id=$(passport "${SP1[@]}" --attest C --orig 12025550105 --dest 12025550199 --tamper-attest A)
call stir-bad-signature@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550105 --identity "$id"
sleep 1
# 6: token for 12025550101, SIP From/PAI say 12025550666
id=$(passport "${SP1[@]}" --attest A --orig 12025550101 --dest 12025550199)
call stir-wrong-orig@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550666 --identity "$id"
sleep 1
# 7: iat 10 minutes old
id=$(passport "${SP1[@]}" --attest A --orig 12025550106 --dest 12025550199 --iat $(($(now) - 600)))
call stir-stale@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550106 --identity "$id"
sleep 1
# 8: one token on three calls, 2 s apart (start to start)
id=$(passport "${SP1[@]}" --attest A --orig 12025550107 --dest 12025550199)
for i in 1 2 3; do
  t0=$EPOCHREALTIME
  call stir-replay-$i@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550107 --identity "$id"
  [[ $i == 3 ]] || sleep "$(python3 -c "print(max(0.0, 2.0 - ($EPOCHREALTIME - $t0)))")"
done
sleep 1
# 9: diverted: SP1 shaken token plus SP2 div token (12025550199 diverted to 12025550177)
id=$(passport "${SP1[@]}" --attest A --orig 12025550108 --dest 12025550199)
div=$(passport --ppt div --key "$PKI/sp2-5678.key" --x5u "$X5U_SP2" --orig 12025550108 \
  --div 12025550199 --dest 12025550177)
call stir-diverted@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550108 --ruri-tn +12025550177 \
  --diversion '<sip:+12025550199@sp2.test>;reason=unconditional' --identity "$id" --identity "$div"
sleep 1
# 10: SP1 key, x5u with no certificate file
id=$(passport --key "$PKI/sp1-1234.key" --x5u "$X5U_UNKNOWN" --attest A --orig 12025550109 --dest 12025550199)
call stir-unknown-cert@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550109 --identity "$id"
sleep 1
# 11: expired certificate
id=$(passport --key "$PKI/sp1-1234-expired.key" --x5u "$X5U_EXPIRED" --attest A --orig 12025550110 --dest 12025550199)
call stir-expired-cert@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550110 --identity "$id"
sleep 1
# 12: certificate from a root that is not in sti-pa-roots.pem
id=$(passport --key "$PKI/rogue-9999.key" --x5u "$X5U_ROGUE" --attest A --orig 12025550111 --dest 12025550199)
call stir-untrusted@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550111 --identity "$id"
sleep 1
# 13-14: TN-scoped certificate (TNAuthList = 12025550300)
SP3=(--key "$PKI/sp3-tn-12025550300.key" --x5u "$X5U_SP3")
id=$(passport "${SP3[@]}" --attest A --orig 12025550300 --dest 12025550199)
call stir-tn-covered@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550300 --identity "$id"
sleep 1
id=$(passport "${SP3[@]}" --attest A --orig 12025550301 --dest 12025550199)
call stir-tn-not-covered@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550301 --identity "$id"
sleep 1
# 15: malformed token
call stir-malformed@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550112 \
  --identity 'eyJhbGciOiJFUzI1NiJ9.!!!notbase64!!!.AAAA;info=<https://cert.sp1.test/shaken/1234.pem>;alg=ES256;ppt=shaken'
sleep 1
# 16: the signing trunk, no Identity
call stir-unsigned@sp1.test $SIGNER "${FROM_SP1[@]}" --from-tn +12025550113
sleep 1
# 17: another trunk that never signs
call plain-unsigned@other.test $OTHER --from-host other.test --to-tn +12025550199 --from-tn +12025550114
sleep 1

log "stopping tcpdump"
kill "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
timeout 60 editcap -F pcap "$WORK/raw.pcap" "$PCAP"

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
log "tshark: INVITEs"
timeout 60 tshark -r "$PCAP" -Y 'sip.Method == "INVITE"' -T fields -e frame.number -e ip.src -e sip.Call-ID \
  -e sip.Identity 2>/dev/null | cut -c1-160
invites=$(timeout 60 tshark -r "$PCAP" -Y 'sip.Method == "INVITE"' 2>/dev/null | wc -l)
identity=$(timeout 60 tshark -r "$PCAP" -Y 'sip.Method == "INVITE"' -T fields -e sip.Identity -E occurrence=a \
  -E aggregator=/s 2>/dev/null | tr ' ' '\n' | grep -c '^ey' || true)
ok200=$(timeout 60 tshark -r "$PCAP" -Y 'sip.Status-Code == 200 && sip.CSeq.method == "INVITE"' 2>/dev/null | wc -l)
bye200=$(timeout 60 tshark -r "$PCAP" -Y 'sip.Status-Code == 200 && sip.CSeq.method == "BYE"' 2>/dev/null | wc -l)
frames=$(timeout 60 tshark -r "$PCAP" 2>/dev/null | wc -l)
echo "frames $frames, INVITEs $invites, Identity headers $identity, 200 OK to INVITE $ok200, 200 OK to BYE $bye200"
[[ $invites == 19 && $identity == 18 && $ok200 == 19 && $bye200 == 19 ]] || die "unexpected counts"

log "tools/decode_tokens.py (what the tokens say; age = capture time - iat)"
timeout 120 python3 "$TOOLS/decode_tokens.py" "$PCAP" | tee "$HERE/tokens.txt" | column -t -s $'\t' >&2

log "tools/verify_tokens.py (openssl dgst -verify)"
timeout 120 python3 "$TOOLS/verify_tokens.py" "$PCAP" "$CERTS" | tee "$HERE/openssl-verify.txt"
ls -l "$PCAP"
