#!/usr/bin/env bash
# Installs what building and testing Earshot needs on Debian (idempotent; apt-get only when something is missing).
set -euo pipefail
# libav*-dev + libclang-dev: the libavcodec codecs (bindgen); sox: GSM encoder for the codec tone tests;
# libasound2-dev: rodio's ALSA output; fontconfig, Xvfb, xdotool, Mesa's Vulkan (lavapipe), ImageMagick: the
# desktop app without a display (screenshots) and its build; dpkg-dev, desktop-file-utils, appstream: the .deb;
# nftables: `nft -c` checks the exported blocklists; poppler-utils: pdftotext/pdftoppm for the PDF tests;
# libpcap-dev: live capture (`pcap` crate); sip-tester (sipp), iproute2 (ip netns), util-linux (setpriv): the
# live-capture tests; g++: libFuzzer, compiled by the fuzz targets' check; ffmpeg: the independent decoder the codec
# tests compare with; openjdk-17-jre-headless: Spark (pyspark) for the cluster recipe's test (scale/spark/).
pkgs=(pkg-config gzip tshark time python3 libavcodec-dev libavformat-dev libavutil-dev libclang-dev sox libasound2-dev
      libfontconfig1-dev xvfb xauth xdotool mesa-vulkan-drivers imagemagick g++ nftables poppler-utils
      dpkg-dev desktop-file-utils appstream libpcap-dev sip-tester iproute2 util-linux ffmpeg openjdk-17-jre-headless python3-pip)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The store's independent readers (DuckDB, pyarrow) and Spark in local mode, pinned: the versions the tests were
# written against. pip only when one is missing.
pypkgs=(duckdb==2.0.1 pyarrow==26.0.1 pyspark==4.3.0)
if ! python3 -c "import duckdb, pyarrow, pyspark" 2>/dev/null; then
    echo "setup: pip installing ${pypkgs[*]}"
    python3 -m pip install -q "${pypkgs[@]}" 2>/dev/null ||
        python3 -m pip install -q --break-system-packages "${pypkgs[@]}"
fi
if ! command -v cargo >/dev/null; then
    echo "setup: cargo not found; install Rust 1.95 with rustup (https://rustup.rs)" >&2
    exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
