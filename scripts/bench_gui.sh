#!/usr/bin/env bash
# GUI frame-time benchmark: generate a deterministic capture (default ≈ 1 GB; `--calls`/`--talk-secs` change it),
# open it in the app under Xvfb with EARSHOT_FRAME_TIMES, and print the time to the first call shown and the
# median / p95 / max frame times (CPU time of the UI code per frame) while loading and after.
#
# usage: scripts/bench_gui.sh [--calls N] [--talk-secs S] [--after SECS] [--profile release|dev] [--keep]
#   default: 800 calls × 60 s (≈ 1 GB); needs Xvfb (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

calls=800 talk=60 after=10 profile=release keep=0
while (($#)); do
    case "$1" in
        --calls) calls="$2"; shift ;;
        --talk-secs) talk="$2"; shift ;;
        --after) after="$2"; shift ;;
        --profile) profile="$2"; shift ;;
        --keep) keep=1 ;;
        *) echo "bench_gui: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --locked --profile "$profile" -p earshot -p earshot-e2e --bins -q
bindir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
out=target/bench
mkdir -p "$out"
cap="$out/bench-${calls}x${talk}.pcap"
[ -f "$cap" ] || "$bindir/samplegen" bench --mix --calls "$calls" --talk-secs "$talk" -o "$cap" >/dev/null
cat "$cap" >/dev/null # into the page cache
echo "capture: $cap ($(du -m "$cap" | cut -f1) MB)"

display=:87
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
tmp=$(mktemp -d)
trap 'kill "$xvfb" 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1
csv="$out/frames-${calls}x${talk}.csv"
DISPLAY=$display XDG_RUNTIME_DIR=$tmp HOME=$tmp EARSHOT_AUDIT_LOG=$tmp/audit.jsonl \
    EARSHOT_FRAME_TIMES="$csv" EARSHOT_FRAME_SECS="$after" \
    /usr/bin/time -f "%M" -o "$tmp/rss" "$bindir/earshot" "$cap" 2>&1 | grep '^earshot:' || true
[ -s "$csv" ] || { echo "bench_gui: no frame times written" >&2; exit 1; }
rss_kib=$(tail -n 1 "$tmp/rss")
cap_bytes=$(stat -c %s "$cap")
echo "app peak RSS: $((rss_kib / 1024)) MiB = $(python3 -c "print(f'{$rss_kib * 1024 / $cap_bytes * 100:.1f}')") % of the capture"

python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def stats(name, ms):
    if not ms:
        print(f"{name:>14}: no frames"); return
    ms = sorted(ms)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print(f"{name:>14}: {len(ms):6d} frames, median {pick(0.5):7.2f} ms, p95 {pick(0.95):7.2f} ms, max {ms[-1]:7.2f} ms")
first = next((float(r["t_secs"]) for r in rows if int(r["calls"]) > 0), None)
loaded = next((float(r["t_secs"]) for r in rows if r["loading"] == "0" and int(r["calls"]) > 0), None)
print(f"time to first call shown: {first:.2f} s" if first is not None else "no call shown")
print(f"time to fully loaded:     {loaded:.2f} s" if loaded is not None else "never finished loading")
stats("while loading", [float(r["frame_ms"]) for r in rows if r["loading"] == "1"])
stats("after loading", [float(r["frame_ms"]) for r in rows if r["loading"] == "0"])
stats("all", [float(r["frame_ms"]) for r in rows])
PY
[ "$keep" = 1 ] || rm -f "$cap"
