#!/usr/bin/env bash
# Refactoring guard: the JSON and CSV of every shared capture, sample capture and evaluation capture, written by
# the earshot built from the working tree, compared byte for byte with those written by the earshot built from REV
# (default HEAD). Exit 1 and the differing files when anything changed.
# Usage: scripts/compare-outputs.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-HEAD}"
root="$PWD"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/base" "$rev"
# One target directory for both builds, so the dependencies are built once; the two trees' own crates share names
# and paths in it, so each build starts from a clean slate for them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo clean -q -p earshot -p earshot-core
(cd "$work/base" && cargo build -q --locked -p earshot) && cp "$CARGO_TARGET_DIR/debug/earshot" "$work/earshot-base"
cargo clean -q -p earshot -p earshot-core
cargo build -q --locked -p earshot && cp "$CARGO_TARGET_DIR/debug/earshot" "$work/earshot-new"
if cmp -s "$work/earshot-base" "$work/earshot-new"; then
    echo "note: the two builds are the same binary (no code difference from $rev)"
fi
shared="${EARSHOT_CAPTURES:-$root/../shared/captures}"
mapfile -t captures < <(ls "$shared"/*.pcap "$shared"/*.pcapng "$shared"/*.cap sample-captures/*/*.pcap \
    tests/eval/corpus/*.pcap 2>/dev/null | sort)
status=0
for cap in "${captures[@]}"; do
    name="$(basename "$cap")"
    for side in base new; do
        out="$work/$side/$name"
        mkdir -p "$out"
        EARSHOT_AUDIT_LOG="$work/audit.jsonl" "$work/earshot-$side" analyze --quiet "$cap" --json "$out/a.json" --csv "$out/csv" \
            >/dev/null 2>&1 || true
        # Timestamps of the run itself are not output of the analysis.
        rm -f "$out/csv/manifest.json"
    done
    if ! diff -r -q "$work/base/$name" "$work/new/$name" >/dev/null; then
        echo "differs: $name"
        diff -r -q "$work/base/$name" "$work/new/$name" || true
        status=1
    fi
done
echo "${#captures[@]} captures compared with $rev: $([ $status = 0 ] && echo identical || echo 'DIFFERENT')"
exit $status
