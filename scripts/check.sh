#!/usr/bin/env bash
# What CI runs: formatting, lints, the dependency-direction check, every test, the .deb, the store's Spark recipe in
# local mode, and the small benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each section says when it started, and the end says the total: CI's budget is 50 minutes.
section() { echo "== $1   [${SECONDS} s]"; }
trap 'echo "== check.sh took ${SECONDS} s"' EXIT

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "core dependency check"
scripts/check_core_deps.sh

if [ "${CI:-}" = "true" ]; then
    # The fuzz targets (fuzz/, its own workspace) must keep compiling; running them is scripts/fuzz.sh's job.
    section "fuzz targets compile (cargo check)"
    # Same target directory and the same dependency versions as the workspace (fuzz/Cargo.lock is Cargo.lock plus
    # libfuzzer-sys), so the dependencies clippy checked are reused; no RUSTC_BOOTSTRAP here (it would fingerprint
    # every crate anew). When core's dependencies move: cp Cargo.lock fuzz/Cargo.lock && cargo metadata
    # --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" cargo check --locked --manifest-path fuzz/Cargo.toml --bins
fi

section "cargo test"
cargo test --workspace --locked --no-fail-fast

section ".deb of the test build's binary (no second build; packaging/build-deb.sh alone makes a release package)"
deb="$(packaging/build-deb.sh --binary "${CARGO_TARGET_DIR:-target}/debug/earshot" -o "${CARGO_TARGET_DIR:-target}/deb" \
    | tail -n1)"
packaging/check-deb.sh "$deb"

section "the store on Spark (local mode): scale/spark/test.sh"
scale/spark/test.sh --profile dev

section "benchmark (small, counts asserted)"
scripts/bench.sh --small --profile dev
