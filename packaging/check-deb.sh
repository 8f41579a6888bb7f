#!/usr/bin/env bash
# Checks an Earshot .deb made by packaging/build-deb.sh; fails on the first problem.
#
#   packaging/check-deb.sh DEB
#
# Prints `dpkg-deb -I` and checks: package name, version (the workspace's) and architecture (this machine's);
# Depends names libc6 and, for every shared library the binary links directly, the package that ships it here
# (found with readelf and dpkg -S, independently of dpkg-shlibdeps); the contents include the binary, desktop entry,
# metainfo, MIME types, hicolor icons, sample captures, copyright and changelog; the desktop entry and metainfo pass
# desktop-file-validate and appstreamcli (when installed); the extracted binary runs `--version`.
# With CI=true, as root, and earshot not installed yet: apt-get installs the .deb, runs `earshot --version`, removes it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
deb="${1:?usage: packaging/check-deb.sh DEB}"
[ -f "$deb" ] || { echo "check-deb: no such file: $deb" >&2; exit 2; }
deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

echo "== dpkg-deb -I $deb"
dpkg-deb -I "$deb"

field() { dpkg-deb -f "$deb" "$1"; }
version="$(awk '/^\[/{s=($0=="[workspace.package]")} s&&/^version *=/{gsub(/.*= *"|".*/,""); print; exit}' \
    "$root/Cargo.toml")"
[ "$(field Package)" = earshot ] || fail "Package is '$(field Package)', expected earshot"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', expected $version (Cargo.toml)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] \
    || fail "Architecture is '$(field Architecture)', expected $(dpkg --print-architecture)"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', expected net"
depends="$(field Depends)"
# Package names in Depends, without versions or architecture qualifiers.
dep_names=" $(tr ',|' '\n\n' <<<"$depends" | sed -e 's/(.*)//' -e 's/:.*//' -e 's/[[:space:]]//g' | tr '\n' ' ') "
[[ "$dep_names" == *" libc6 "* ]] || fail "Depends does not list libc6: $depends"

echo "== dpkg-deb -c (paths)"
listing="$(dpkg-deb -c "$deb")"
contents="$(awk '{print $NF}' <<<"$listing" | sed 's|^\./|/|')"
wc -l <<<"$contents" | sed 's/^/entries: /'
required=(
    /usr/bin/earshot
    /usr/share/applications/earshot.desktop
    /usr/share/metainfo/io.earshot.Earshot.metainfo.xml
    /usr/share/mime/packages/earshot.xml
    /usr/share/icons/hicolor/scalable/apps/earshot.svg
    /usr/share/earshot/sample-captures/clean-call/clean-call.pcap
    /usr/share/earshot/sample-captures/clean-call/README.md
    /usr/share/doc/earshot/copyright
    /usr/share/doc/earshot/changelog.Debian.gz
    /usr/share/doc/earshot/README.md
)
for size in 16 24 32 48 64 128 256 512; do
    required+=("/usr/share/icons/hicolor/${size}x${size}/apps/earshot.png")
done
for path in "${required[@]}"; do
    grep -qxF "$path" <<<"$contents" || fail "$path missing from the package"
done
grep -q '^-rwxr-xr-x root/root .* \./usr/bin/earshot$' <<<"$listing" \
    || fail "/usr/bin/earshot is not root-owned 0755"
echo "all ${#required[@]} required paths present, /usr/bin/earshot root:root 0755"

x="$(mktemp -d)"
trap 'rm -rf "$x"' EXIT
dpkg-deb -x "$deb" "$x"
bin="$x/usr/bin/earshot"
for lic in GPL-3.0-or-later bitstream-vera; do
    grep -q "^License: $lic$" "$x/usr/share/doc/earshot/copyright" || fail "copyright has no 'License: $lic' stanza"
done

echo "== shared libraries linked by usr/bin/earshot and their packages"
# The binary's direct NEEDED entries, resolved through the dynamic loader's cache, mapped to packages with dpkg -S.
ldd_out="$(ldd "$bin")"
while read -r soname; do
    path="$(awk -v s="$soname" '$1==s && $2=="=>" {print $3; exit}' <<<"$ldd_out")"
    [ -n "$path" ] || { [[ "$soname" == ld-linux* ]] && continue; fail "$soname not found by ldd"; }
    owner=""
    for p in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr${path}"; do
        owner="$(dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1)" && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] || fail "no package owns $path ($soname)"
    printf '%-28s %-50s %s\n' "$soname" "$path" "$owner"
    [[ "$dep_names" == *" $owner "* ]] || fail "Depends lacks $owner (provides $soname): $depends"
done < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

if command -v desktop-file-validate >/dev/null; then
    echo "== desktop-file-validate"
    desktop-file-validate "$x/usr/share/applications/earshot.desktop" || fail "desktop entry invalid"
fi
grep -qx 'Exec=earshot %f' "$x/usr/share/applications/earshot.desktop" || fail "desktop entry Exec is not 'earshot %f'"
grep -q '^MimeType=.*application/vnd.tcpdump.pcap;' "$x/usr/share/applications/earshot.desktop" \
    || fail "desktop entry does not open application/vnd.tcpdump.pcap"
if command -v appstreamcli >/dev/null; then
    echo "== appstreamcli validate --no-net"
    appstreamcli validate --no-net "$x/usr/share/metainfo/io.earshot.Earshot.metainfo.xml" || fail "metainfo invalid"
fi

echo "== extracted usr/bin/earshot --version"
got="$("$bin" --version)" || fail "extracted binary did not run"
echo "$got"
[ "$got" = "earshot $version" ] || fail "--version printed '$got', expected 'earshot $version'"

if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
    if dpkg-query -W -f='${Status}' earshot 2>/dev/null | grep -q 'install ok installed'; then
        echo "== earshot already installed here: apt-get install test skipped"
    else
        echo "== apt-get install $deb"
        trap 'rm -rf "$x"; apt-get remove -y -qq earshot >/dev/null 2>&1 || true' EXIT
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >/dev/null \
            || fail "apt-get could not install $deb"
        got="$(earshot --version)" || fail "installed earshot did not run"
        [ "$got" = "earshot $version" ] || fail "installed earshot --version printed '$got'"
        # dpkg's trigger runs update-desktop-database: the file associations land in mimeinfo.cache.
        for mime in application/vnd.tcpdump.pcap application/x-pcapng; do
            grep -q "^$mime=.*earshot.desktop" /usr/share/applications/mimeinfo.cache \
                || fail "$mime not associated with earshot.desktop in /usr/share/applications/mimeinfo.cache"
        done
        echo "installed: $(command -v earshot) -> $got; .pcap/.pcapng associated with earshot.desktop"
        DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq earshot >/dev/null || fail "apt-get remove earshot failed"
        trap 'rm -rf "$x"' EXIT
        echo "removed"
    fi
fi
echo "check-deb: OK $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
