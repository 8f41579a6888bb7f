#!/usr/bin/env bash
# Benchmark: generate a deterministic capture (SIP calls with two-way G.711 RTP, DNS noise), run
# `earshot analyze` on 1 and 2 threads and, when installed, tshark on the same file; print one table and
# check that Earshot's call and message counts equal the generator's.
#
# Then audio: a single call of --audio-mins minutes (default 60) of two-way G.711 is exported to a stereo WAV with
# `earshot export-audio --timings`, which prints each phase (analysis, re-reading the packets, decoding, writing).
#
# usage: scripts/bench.sh [--small] [--calls N] [--talk-secs S] [--audio-mins M] [--profile release|dev] [--keep]
#   default: 300 calls × 60 s (≈ 390 MB, 1.8 M packets); --small: 20 calls × 5 s and a 1-minute call (CI).
set -euo pipefail
cd "$(dirname "$0")/.."

calls=300 talk=60 audio_mins=60 profile=release keep=0
while (($#)); do
    case "$1" in
        --small) calls=20 talk=5 audio_mins=1 ;;
        --audio-mins) audio_mins="$2"; shift ;;
        --calls) calls="$2"; shift ;;
        --talk-secs) talk="$2"; shift ;;
        --profile) profile="$2"; shift ;;
        --keep) keep=1 ;;
        *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --locked --profile "$profile" -p earshot -p earshot-e2e --bins -q
bindir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
out=target/bench
mkdir -p "$out"
cap="$out/bench-${calls}x${talk}.pcap"
expected=$("$bindir/samplegen" bench --calls "$calls" --talk-secs "$talk" -o "$cap")
cat "$cap" >/dev/null # into the page cache: every tool reads it from memory

timeit() { # prints "wall_s max_rss_kb"
    local log
    log=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$log"
    rm -f "$log"
}

rows=()
for t in 1 2; do
    read -r wall rss < <(timeit "$bindir/earshot" analyze "$cap" --quiet --threads "$t" --json "$out/earshot-t$t.json")
    rows+=("earshot ($profile, $t thr)|$wall|$rss")
done
if command -v tshark >/dev/null; then
    read -r wall rss < <(timeit tshark -r "$cap" -q -z sip,stat -z rtp,streams)
    rows+=("tshark -z sip,stat -z rtp,streams|$wall|$rss")
fi

python3 - "$cap" "$expected" "$out/earshot-t1.json" "$out/earshot-t2.json" "${rows[@]}" <<'PY'
import json, os, platform, sys
cap, expected, j1, j2, *rows = sys.argv[1:]
exp = json.loads(expected)
size = os.path.getsize(cap)
cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
print(f"capture: {cap}: {size/1e6:.1f} MB, {exp['frames']} packets, {exp['calls']} calls, "
      f"{exp['rtp_streams']} RTP streams, {exp['dns_packets']} DNS packets")
print(f"machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}")
parsed = []
for r in rows:
    name, wall, rss = r.split("|")
    parsed.append((name, float(wall), int(rss)))
tshark = next((w for n, w, _ in parsed if n.startswith("tshark")), None)
print(f"{'tool':<36} {'wall s':>8} {'MB/s':>9} {'packets/s':>12} {'peak RSS MB':>12} {'vs tshark':>10}")
for name, wall, rss in parsed:
    w = max(wall, 0.005)
    ratio = f"{tshark / w:.1f}x" if tshark else "-"
    print(f"{name:<36} {wall:>8.2f} {size/1e6/w:>9.1f} {exp['frames']/w:>12.0f} {rss/1024:>12.1f} {ratio:>10}")
bad = []
for path in (j1, j2):
    s = json.load(open(path))["summary"]
    for key, want in (("packets", exp["frames"]), ("invite_dialogs", exp["calls"]),
                      ("answered_calls", exp["answered"]), ("sip_messages", exp["sip_messages"]),
                      ("call_ids", exp["calls"]), ("rtp_streams", exp["rtp_streams"])):
        if s[key] != want:
            bad.append(f"{path}: summary.{key} = {s[key]}, generator says {want}")
a = open(j1, "rb").read(); b = open(j2, "rb").read()
if a != b:
    bad.append("JSON differs between 1 and 2 threads")
streams = json.loads(a)["streams"]
lost = sum(st["lost"] for st in streams)
if lost != 0 or any(st["call_id"] is None for st in streams):
    bad.append(f"generated streams must be loss-free and bound to their calls (lost {lost})")
if bad:
    print("COUNT MISMATCH:\n  " + "\n  ".join(bad)); sys.exit(1)
print("counts: equal to the generator's (calls, answered, SIP messages, packets, RTP streams, no loss); "
      "JSON identical on 1 and 2 threads")
PY
[ "$keep" = 1 ] || rm -f "$cap"

# Audio: one long call decoded to WAV.
acap="$out/call-${audio_mins}min.pcap"
"$bindir/samplegen" bench --calls 1 --talk-secs $((audio_mins * 60)) --dns-every-ms 0 -o "$acap" >/dev/null
cat "$acap" >/dev/null
echo
echo "audio: $acap: $(($(stat -c %s "$acap") / 1000000)) MB, one call of $audio_mins min, 2 G.711 streams"
alog=$(mktemp)
/usr/bin/time -f "%e %M" -o "$alog.time" "$bindir/earshot" export-audio "$acap" --call gen-0@example.org \
    --timings -o "$out/call.wav" >/dev/null 2>"$alog"
grep '^timings:' "$alog" | sed 's/^/  /'
read -r awall arss < <(tail -n 1 "$alog.time")
echo "  whole export-audio command: ${awall} s wall, peak RSS $((arss / 1024)) MB; WAV $(($(stat -c %s "$out/call.wav") / 1000000)) MB"
rm -f "$alog" "$alog.time" "$out/call.wav"
[ "$keep" = 1 ] || rm -f "$acap"
