#!/usr/bin/env bash
# earshot-core must never depend on a GUI, audio-device or CLI crate, directly or transitively.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(egui|eframe|egui_kittest|rodio|cpal|rfd|clap|winit|wgpu|glow)$'
tree=$(cargo tree -p earshot-core --edges normal,build --prefix none --format '{p}' --locked | awk '{print $1}' | sort -u)
bad=$(printf '%s\n' "$tree" | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
    echo "earshot-core depends on forbidden crates:" >&2
    printf '  %s\n' $bad >&2
    exit 1
fi
echo "earshot-core: $(printf '%s\n' "$tree" | wc -l) crates, none of egui/eframe/rodio/cpal/rfd/clap"
