#!/usr/bin/env bash
# What CI runs: formatting, lints, the dependency-direction check, every test, the .deb, the store's Spark recipe in
# local mode, and the small benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== core dependency check"
scripts/check_core_deps.sh

if [ "${CI:-}" = "true" ]; then
    # The fuzz targets (fuzz/, its own workspace) must keep compiling; running them is scripts/fuzz.sh's job.
    echo "== fuzz targets compile (cargo check)"
    # Not --locked: fuzz/Cargo.lock follows core's dependencies, which other changes may move.
    # Same target directory as the rest: the dependencies checked for clippy are reused.
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" RUSTC_BOOTSTRAP=1 cargo check --manifest-path fuzz/Cargo.toml --bins
fi

echo "== cargo test"
cargo test --workspace --locked --no-fail-fast

echo "== .deb of the test build's binary (no second build; packaging/build-deb.sh alone makes a release package)"
deb="$(packaging/build-deb.sh --binary "${CARGO_TARGET_DIR:-target}/debug/earshot" -o "${CARGO_TARGET_DIR:-target}/deb" \
    | tail -n1)"
packaging/check-deb.sh "$deb"

echo "== the store on Spark (local mode): scale/spark/test.sh"
scale/spark/test.sh --profile dev

echo "== benchmark (small, counts asserted)"
scripts/bench.sh --small --profile dev
