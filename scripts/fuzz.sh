#!/usr/bin/env bash
# Fuzz earshot-core with cargo-fuzz/libFuzzer: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the targets in fuzz/ (AddressSanitizer, release with debug assertions so that integer overflow panics),
# seeds fuzz/corpus/TARGET from the shared captures (../shared/captures, or $EARSHOT_CAPTURES; never copied into
# the repository: fuzz/corpus is gitignored), runs each target for SECONDS (default 600) one after the other at the
# lowest priority, and prints the executions and time per target from libFuzzer's final stats. Crash inputs stay
# in fuzz/artifacts/TARGET/ (libFuzzer writes them there); logs in fuzz/logs/.
#
# Needs: cargo-fuzz (installed here if missing), tshark/editcap and python3 for the seeds. On a stable toolchain the
# nightly-only flags are enabled with RUSTC_BOOTSTRAP=1.
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-600}
shift || true
ALL_TARGETS=(capture pipeline sip sdp rtp websocket srtp codec tls filter identity mgcp megaco iax2)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
CAPTURES=${EARSHOT_CAPTURES:-../shared/captures}
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR # the fuzz build keeps its own target dir, fuzz/target (gitignored)

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked || exit 1
fi

max_len() {
    case $1 in
        capture | pipeline | sip | tls) echo 65536 ;;
        sdp | websocket) echo 16384 ;;
        srtp | codec) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

# Seeds: whole captures (cut to 64 KiB) for `capture`; their frames re-framed for `pipeline`; SIP, SDP, RTP/RTCP,
# WebSocket and SRTP payloads extracted with tshark for the message-level targets.
seed() {
    if [ ! -d "$CAPTURES" ]; then
        echo "no captures at $CAPTURES: fuzzing from empty corpora" >&2
        return
    fi
    python3 - "$CAPTURES" fuzz/corpus <<'PY'
import hashlib, os, struct, subprocess, sys, tempfile

caps, out = sys.argv[1], sys.argv[2]
LINKS = [1, 101, 228, 229, 0, 113, 276]  # fuzz_targets/pipeline.rs
CODECS = {"g722": 5, "g729a": 6, "gsm": 9, "ilbc": 10, "opus": 8, "speex": 12}  # fuzz_targets/codec.rs SPECS
count = {}

def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        count[target] = count.get(target, 0) + 1

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        with tempfile.NamedTemporaryFile(suffix=".pcap") as t:
            if subprocess.run(["editcap", "-F", "pcap", path, t.name], capture_output=True).returncode != 0:
                return None, []
            data = open(t.name, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    link = struct.unpack(e + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return link, frames

def fields(path, filt, *flds, opts=()):
    args = ["tshark", "-r", path, "-Y", filt, "-T", "fields"]
    for o in opts:
        args += ["-o", o]
    for fl in flds:
        args += ["-e", fl]
    r = subprocess.run(args, capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        rows.append(line.split("\t"))
    return rows

def hexes(rows, limit):
    seen = []
    for row in rows:
        for h in row:
            h = h.split(",")[0].replace(":", "")
            if h:
                try:
                    seen.append(bytes.fromhex(h))
                except ValueError:
                    pass
        if len(seen) >= limit:
            break
    return seen

RTP_OPTS = ("rtp.heuristic_rtp:TRUE", "rtcp.heuristic_rtcp:TRUE")
for name in sorted(os.listdir(caps)):
    path = os.path.join(caps, name)
    if not os.path.isfile(path) or not name.endswith((".pcap", ".pcapng", ".cap")):
        continue
    with open(path, "rb") as f:
        put("capture", f.read(65536))
    link, frames = read_pcap(path)
    if link in LINKS:
        sel = bytes([LINKS.index(link)])
        chunk, chunks = b"", 0
        for fr in frames:
            fr = fr[:65535]
            chunk += struct.pack(">H", len(fr)) + fr
            if len(chunk) > 16384:
                put("pipeline", sel + chunk)
                chunk, chunks = b"", chunks + 1
                if chunks >= 16:
                    break
        if chunk:
            put("pipeline", sel + chunk)
    for msg in hexes(fields(path, "sip", "udp.payload", "tcp.payload"), 60):
        put("sip", msg)
        body = msg.split(b"\r\n\r\n", 1)
        if len(body) == 2 and body[1].startswith(b"v="):
            put("sdp", body[1])
    rtp = hexes(fields(path, "rtp or rtcp", "udp.payload", opts=RTP_OPTS), 100)
    for p in rtp[:60]:
        put("rtp", p)
    if "srtp" in name:
        for i in range(0, min(len(rtp), 200), 5):
            put("srtp", b"\x00" + b"".join(struct.pack(">H", len(p)) + p for p in rtp[i:i + 5]))
    elif rtp:
        put("srtp", b"\x80" + b"".join(struct.pack(">H", len(p)) + p for p in rtp[:5]))
    key = next((k for k in CODECS if "rtp-" + k in name), None)
    if key is not None or "g711" in name:
        rows = fields(path, "rtp", "rtp.p_type", "rtp.payload", opts=RTP_OPTS)
        pts = [r[0] for r in rows if len(r) == 2 and r[1]]
        if pts:
            pt = max(set(pts), key=pts.count)
            pays = [bytes.fromhex(r[1].replace(":", ""))[:255] for r in rows if len(r) == 2 and r[0] == pt and r[1]]
            sel = CODECS.get(key, 1 if pt == "8" else 0)
            for i in range(0, min(len(pays), 100), 10):
                put("codec", bytes([sel]) + b"".join(bytes([len(p)]) + p for p in pays[i:i + 10]))
    if "websocket" in name:
        for p in hexes(fields(path, "tcp.len > 0", "tcp.payload"), 60):
            put("websocket", p)
# tls: the project's own TLS and DTLS captures (tests/tls, tests/dtls), a key log line in front (its length first).
import glob
for pcap in sorted(glob.glob("tests/tls/captures/*.pcap")):
    lines = open(pcap[:-5] + ".keys", errors="replace").read().splitlines()
    line = next((l for l in lines if l and not l.startswith("#")), "").encode()[:255]
    data = b"".join(hexes(fields(pcap, "tcp.len > 0", "tcp.payload"), 10_000))
    put("tls", bytes([len(line)]) + line + data[:60000])
for pcap in sorted(glob.glob("tests/dtls/captures/*.pcap")):
    for p in hexes(fields(pcap, "dtls", "udp.payload", opts=["sdp.establish_conversation:FALSE"]), 6):
        put("tls", b"\x00" + p)
print("seeds:", ", ".join(f"{t} {n}" for t, n in sorted(count.items())))
PY
    # Filter expressions: the documented examples (docs/filter.md).
    mkdir -p fuzz/corpus/filter
    local i=0
    for f in 'from ~ "^\+882" && mos < 3 && file == "eth1_0042.pcap"' \
        '(state == rejected || state == cancelled) && !answered' 'rule ~ "brute|weak" || findings >= 2' \
        'response == 401 && response != 403' 'legs > 0 && point == sbc' 'start >= "2026-12-01"'; do
        printf '%s' "$f" >"fuzz/corpus/filter/seed-$i"
        i=$((i + 1))
    done
    # STIR/SHAKEN: the sample's Identity header values (mode byte 0), certificate files (1) and a TNAuthList (2).
    local stir=sample-captures/stir-shaken
    mkdir -p fuzz/corpus/identity
    i=0
    tshark -r "$stir/stir-shaken.pcap" -Y sip.Identity -T fields -e sip.Identity | tr ',' '\n' |
        while IFS= read -r v; do
            { printf '\x00'; printf '%s' "$v"; } >"fuzz/corpus/identity/header-$i"
            i=$((i + 1))
        done
    for f in "$stir"/certs/*; do
        { printf '\x01'; cat "$f"; } >"fuzz/corpus/identity/cert-$(basename "$f")"
    done
    printf '\x02\x30\x08\xa0\x06\x16\x04\x31\x32\x33\x34' >fuzz/corpus/identity/tnauthlist-spc
    # MGCP, MEGACO, IAX2: every message of the MGCP and IAX2 samples and of the shared fax capture's H.248.
    mkdir -p fuzz/corpus/mgcp fuzz/corpus/megaco fuzz/corpus/iax2
    tshark -r sample-captures/iax2-call/iax2-call.pcap -Y iax2 -T fields -e frame.number -e udp.payload |
        while read -r n hex; do xxd -r -p <<<"$hex" >"fuzz/corpus/iax2/frame-$n"; done
    tshark -r sample-captures/mgcp-call/mgcp-call.pcap -Y mgcp -T fields -e frame.number -e udp.payload |
        while read -r n hex; do xxd -r -p <<<"$hex" >"fuzz/corpus/mgcp/frame-$n"; done
    local fax=$CAPTURES/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap
    if [[ -f $fax ]]; then
        tshark -r "$fax" -Y megaco -T fields -e frame.number -e udp.payload |
            while read -r n hex; do xxd -r -p <<<"$hex" >"fuzz/corpus/megaco/frame-$n"; done
    fi
}

mkdir -p fuzz/corpus fuzz/artifacts fuzz/logs
seed
for t in "${TARGETS[@]}"; do mkdir -p "fuzz/corpus/$t"; done

echo "building ${TARGETS[*]}" >&2
nice -n 19 cargo fuzz build --debug-assertions >fuzz/logs/build.log 2>&1 || { tail -30 fuzz/logs/build.log; exit 1; }

printf '%-10s %12s %8s %10s %s\n' target executions seconds exec/s result
status=0
for t in "${TARGETS[@]}"; do
    log=fuzz/logs/$t.log
    start=$(date +%s)
    nice -n 19 cargo fuzz run --debug-assertions "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2560 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        result="CRASH (exit $rc): $(ls fuzz/artifacts/"$t" 2>/dev/null | tr '\n' ' ')"
        status=1
    fi
    printf '%-10s %12s %8s %10s %s\n' "$t" "${execs:-?}" "$secs" "${rate:-?}" "$result"
done
exit $status
