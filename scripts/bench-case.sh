#!/usr/bin/env bash
# Case benchmark: a realistic capture of about 2 GB (`samplegen bench --mix`: SIP calls with two-way G.711 RTP,
# loss, DTMF, RTCP, a scanner sweep, DNS/QUIC/NTP noise) cut by editcap into 200 rotated files, analysed as one
# case (`earshot analyze DIR`); compared with the whole capture analysed alone and with one of the 200 files alone.
# Prints wall time and peak RSS of each, and checks that the case gives the whole capture's packets, calls,
# messages, streams and RTP packets (a call cut between two files stays one call).
#
# usage: scripts/bench-case.sh [--calls N] [--talk-secs S] [--files N] [--profile release|dev] [--keep]
#   default: 1500 calls × 60 s (≈ 2 GB, 9 M packets) into 200 files. Needs editcap and capinfos (tshark's package).
set -euo pipefail
cd "$(dirname "$0")/.."

calls=1500 talk=60 files=200 profile=release keep=0
while (($#)); do
    case "$1" in
        --calls) calls="$2"; shift ;;
        --talk-secs) talk="$2"; shift ;;
        --files) files="$2"; shift ;;
        --profile) profile="$2"; shift ;;
        --keep) keep=1 ;;
        *) echo "bench-case: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --locked --profile "$profile" -p earshot -p earshot-e2e --bins -q
bindir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
out=target/bench-case
rm -rf "$out"
mkdir -p "$out/parts"
cap="$out/whole.pcap"
"$bindir/samplegen" bench --mix --calls "$calls" --talk-secs "$talk" -o "$cap" >/dev/null
packets=$(capinfos -cM "$cap" | awk '/Number of packets/ {print $NF}')
per=$(( (packets + files - 1) / files ))
editcap -F pcap -c "$per" "$cap" "$out/parts/tap.pcap"
one=$(find "$out/parts" -name 'tap_*' | sort | sed -n 2p)

timeit() { # prints "wall_s max_rss_kb"
    local log
    log=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$log"
    rm -f "$log"
}
cat "$out"/parts/* "$cap" >/dev/null # page cache: every run reads from memory
read -r w_case r_case < <(timeit "$bindir/earshot" analyze "$out/parts" --quiet --json "$out/case.json")
read -r w_whole r_whole < <(timeit "$bindir/earshot" analyze "$cap" --quiet --json "$out/whole.json")
read -r w_one r_one < <(timeit "$bindir/earshot" analyze "$one" --quiet --json "$out/one.json")

python3 - "$cap" "$out" "$files" "$w_case" "$r_case" "$w_whole" "$r_whole" "$w_one" "$r_one" <<'PY'
import json, os, sys
cap, out, files, w_case, r_case, w_whole, r_whole, w_one, r_one = sys.argv[1:]
case = json.load(open(f"{out}/case.json"))
whole = json.load(open(f"{out}/whole.json"))
one = json.load(open(f"{out}/one.json"))
parts = sorted(os.listdir(f"{out}/parts"))
size = sum(os.path.getsize(f"{out}/parts/{p}") for p in parts)
def facts(a):
    s = a["summary"]
    return {
        "packets": s["packets"], "sip_messages": s["sip_messages"], "calls": s["invite_dialogs"],
        "answered": s["answered_calls"], "streams": len(a["streams"]),
        "rtp_packets": sum(x["packets"] for x in a["streams"]),
        "lost": sum(x["lost"] for x in a["streams"]),
    }
fc, fw = facts(case), facts(whole)
print(f"{len(parts)} files, {size/1e9:.2f} GB in all ({os.path.getsize(cap)/1e9:.2f} GB whole)")
print(f"{'run':44} {'wall s':>8} {'peak RSS MiB':>13} {'MB/s':>8}")
for name, w, r, sz in [
    (f"case of {len(parts)} files (earshot analyze DIR)", w_case, r_case, size),
    ("the whole capture", w_whole, r_whole, os.path.getsize(cap)),
    (f"one file alone ({parts[1]})", w_one, r_one, os.path.getsize(f"{out}/parts/{parts[1]}")),
]:
    print(f"{name:44} {float(w):8.2f} {int(r)/1024:13.0f} {sz/1e6/max(float(w),1e-9):8.0f}")
print("case vs whole:", "identical" if fc == fw else "DIFFERENT", json.dumps(fc))
if fc != fw:
    print("whole:", json.dumps(fw))
    sys.exit(1)
PY
[ "$keep" = 1 ] || rm -rf "$out"
