#!/usr/bin/env bash
# What CI runs: formatting, lints, the dependency-direction check, every test, the .deb, and the small benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== core dependency check"
scripts/check_core_deps.sh

echo "== cargo test"
cargo test --workspace --locked

echo "== .deb of the test build's binary (no second build; packaging/build-deb.sh alone makes a release package)"
deb="$(packaging/build-deb.sh --binary "${CARGO_TARGET_DIR:-target}/debug/earshot" -o "${CARGO_TARGET_DIR:-target}/deb" \
    | tail -n1)"
packaging/check-deb.sh "$deb"

echo "== benchmark (small, counts asserted)"
scripts/bench.sh --small --profile dev
