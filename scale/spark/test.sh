#!/usr/bin/env bash
# The Spark recipe, tested in local mode (what CI runs): N generated captures (default 50, each a different mix of
# calls, RTP, DTMF, a SIP scanner and noise from `samplegen bench --mix`; every fifth talks 5 s so it carries a
# digit) plus the project's own sample captures (brute force with a cracked password, toll fraud, digits, floods —
# so every hunt has rows to agree on) are analysed by job.py on Spark's executors into one store, and compared with the store `earshot analyze --each --store` writes on one machine:
# per table the row count and a SHA-256 of the sorted key columns (pyarrow reads both), and each saved hunt's
# answer from Spark SQL, Earshot's engine and DuckDB. Prints the job's throughput beside the direct run's.
#
# usage: scale/spark/test.sh [--profile dev|release] [--captures N] [--talk-secs S]
# needs: Java 17+ and pip's pyspark, pyarrow, duckdb (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=release n=50 talk=1
while (($#)); do
    case "$1" in
        --profile) profile="$2"; shift ;;
        --captures) n="$2"; shift ;;
        --talk-secs) talk="$2"; shift ;;
        *) echo "spark test: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
cargo build --locked --profile "$profile" -p earshot -p earshot-e2e --bins -q
bindir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
earshot=$(realpath "$bindir/earshot")
work=${CARGO_TARGET_DIR:-target}/spark-test
rm -rf "$work"
mkdir -p "$work/caps"
for k in $(seq 1 "$n"); do
    secs=$talk
    ((k % 5)) || secs=5
    "$bindir/samplegen" bench --mix --calls "$k" --talk-secs "$secs" --stagger-ms 40 -o "$work/caps/cap$k.pcap" >/dev/null
done
for f in sample-captures/*/*.pcap; do
    cp "$f" "$work/caps/"
done
mb=$(du -sm "$work/caps" | cut -f1)
echo "== $(find "$work/caps" -type f | wc -l) captures ($n generated, the rest sample-captures/), $mb MB"

echo "== one machine: earshot analyze --each --store"
start=$EPOCHREALTIME
"$earshot" analyze --no-audit --each --store "$work/ref" "$work/caps" >"$work/ref.txt"
direct=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
echo "   $(wc -l <"$work/ref.txt") captures in ${direct} s"

echo "== Spark (local mode): scale/spark/job.py"
start=$EPOCHREALTIME
python3 scale/spark/job.py --earshot "$earshot" --store "$work/spark" --hunts-out "$work/hunts" \
    --master "local[2]" "$work/caps" | tee "$work/spark.jsonl"
spark_wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
echo "   whole job (JVM start, analysis, hunts) ${spark_wall} s; direct analysis ${direct} s"

echo "== the two stores, and the hunts by Spark SQL, Earshot and DuckDB"
python3 scale/spark/compare.py "$work/ref" "$work/spark" --hunts "$work/hunts" --earshot "$earshot"
