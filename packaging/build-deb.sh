#!/usr/bin/env bash
# Builds the Earshot .deb with Debian's own tools (dpkg-shlibdeps, dpkg-deb; no cargo-deb needed).
#
#   packaging/build-deb.sh [--binary PATH] [-o DIR]
#
# --binary PATH  the earshot binary to package (default: $CARGO_TARGET_DIR/release/earshot, built with
#                `cargo build --release -p earshot --locked` when missing)
# -o DIR         where the .deb is written (default: $CARGO_TARGET_DIR/deb); its path is printed on the last line
#
# Needs dpkg-dev (dpkg-shlibdeps) and binutils (strip). File times in the package are SOURCE_DATE_EPOCH (default: the
# last commit's time), so the same binary gives the same .deb.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
binary=""
out=""
while (($#)); do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        -o) out="${2:?-o needs a directory}"; shift 2 ;;
        -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-deb: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
out="${out:-$target/deb}"
if [ -z "$binary" ]; then
    binary="$target/release/earshot"
    if [ ! -x "$binary" ]; then
        echo "build-deb: $binary missing, building it"
        (cd "$root" && cargo build --release -p earshot --locked)
    fi
fi
[ -x "$binary" ] || { echo "build-deb: binary not found or not executable: $binary" >&2; exit 1; }
for tool in dpkg-shlibdeps dpkg-deb strip gzip; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool not found (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done

# Version: [workspace.package] version in the workspace Cargo.toml.
version="$(awk '/^\[/{s=($0=="[workspace.package]")} s&&/^version *=/{gsub(/.*= *"|".*/,""); print; exit}' \
    "$root/Cargo.toml")"
[ -n "$version" ] || { echo "build-deb: no [workspace.package] version in $root/Cargo.toml" >&2; exit 1; }
arch="$(dpkg --print-architecture)"
maintainer="Earshot developers <earshot@example.invalid>"
homepage="https://example.invalid/earshot"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"

umask 022
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkg="$work/earshot"
mkdir -p "$pkg/DEBIAN"

# Binary, stripped the way dh_strip strips executables.
install -d "$pkg/usr/bin"
strip --remove-section=.comment --remove-section=.note -o "$pkg/usr/bin/earshot" "$binary"
chmod 0755 "$pkg/usr/bin/earshot"

# Desktop integration: menu entry and file associations, AppStream metadata, MIME types, icons.
install -D -m 0644 "$root/packaging/earshot.desktop" "$pkg/usr/share/applications/earshot.desktop"
install -D -m 0644 "$root/packaging/io.earshot.Earshot.metainfo.xml" \
    "$pkg/usr/share/metainfo/io.earshot.Earshot.metainfo.xml"
install -D -m 0644 "$root/packaging/earshot-mime.xml" "$pkg/usr/share/mime/packages/earshot.xml"
for size in 16 24 32 48 64 128 256 512; do
    install -D -m 0644 "$root/assets/icons/earshot-$size.png" \
        "$pkg/usr/share/icons/hicolor/${size}x${size}/apps/earshot.png"
done
install -D -m 0644 "$root/assets/icons/earshot.svg" "$pkg/usr/share/icons/hicolor/scalable/apps/earshot.svg"

# Sample captures with their READMEs (fonts and the password list are compiled into the binary).
install -d "$pkg/usr/share/earshot"
cp -R "$root/sample-captures" "$pkg/usr/share/earshot/sample-captures"

# Documentation: README, copyright, changelog.
doc="$pkg/usr/share/doc/earshot"
install -D -m 0644 "$root/README.md" "$doc/README.md"
# packaging/copyright (DEP-5): Earshot's GPL-3.0-or-later and the licence of the DejaVu fonts compiled into the binary.
install -m 0644 "$root/packaging/copyright" "$doc/copyright"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
{
    echo "earshot ($version) unstable; urgency=medium"
    echo
    echo "  * Upstream release $version, packaged from commit $commit."
    echo
    echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# Everything the package ships is world-readable, directories 0755.
find "$pkg/usr" -type d -exec chmod 0755 {} +
find "$pkg/usr" -type f ! -path "$pkg/usr/bin/*" -exec chmod 0644 {} +

# Depends: the shared libraries the binary links, mapped to packages by dpkg-shlibdeps (it wants a debian/control).
mkdir -p "$work/debian"
printf 'Source: earshot\n\nPackage: earshot\nArchitecture: any\n' >"$work/debian/control"
shlibs="$(cd "$work" && dpkg-shlibdeps -O -e"$pkg/usr/bin/earshot" 2>"$work/shlibdeps.log")" \
    || { cat "$work/shlibdeps.log" >&2; echo "build-deb: dpkg-shlibdeps failed" >&2; exit 1; }
grep -v 'warning: .* has an unnecessary dependency' "$work/shlibdeps.log" >&2 || true
depends="${shlibs#shlibs:Depends=}"
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# Loaded at run time with dlopen, so invisible to dpkg-shlibdeps: the keyboard map every window needs (winit), and
# a graphics API for wgpu (Vulkan, or OpenGL ES through EGL). The rest of the display stack is recommended: X11 or
# Wayland client libraries, and Mesa's drivers for machines without a vendor driver.
depends="$depends, libxkbcommon0, libvulkan1 | libegl1"
recommends="libx11-6, libx11-xcb1, libxcursor1, libxi6, libxkbcommon-x11-0, libwayland-client0,"
recommends="$recommends libwayland-egl1, libdbus-1-3, mesa-vulkan-drivers | libegl-mesa0"
installed_size="$(du -sk --apparent-size "$pkg/usr" | cut -f1)"

cat >"$pkg/DEBIAN/control" <<EOF
Package: earshot
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: $recommends
Section: net
Priority: optional
Homepage: $homepage
Description: forensic analyzer for VoIP packet captures
 Earshot opens a pcap or pcapng capture and shows every call in it: the SIP
 ladder, every RTP stream with Wireshark's quality figures and a MOS
 estimate, and the call's audio, decoded and played back (SRTP too when its
 keys travel in plaintext signalling). DTMF digits are recovered.
 .
 It reports what an eavesdropper or attacker could exploit, with evidence
 frames for every finding: plaintext signalling and media, exposed SRTP
 keys, weak digest passwords cracked offline, scanners, extension
 enumeration, brute force, floods, toll fraud, caller-ID spoofing, header
 injection, registration hijacks and routing loops.
 .
 Headless subcommands write the analysis as JSON or CSV and export audio.
 Sample captures of each attack scenario are installed in
 /usr/share/earshot/sample-captures for training.
EOF
(cd "$pkg" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/earshot_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
echo "build-deb: $(du -k "$deb" | cut -f1) KiB"
echo "$deb"
