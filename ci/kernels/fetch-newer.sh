#!/usr/bin/env bash
# Downloads a package from Debian trixie (newer runsc, user-mode-linux, qemu-user, kernels)
# with a private apt configuration under target/apt-newer/ (its own sources.list, lists
# and cache; the host's apt state and configuration are not touched or read), unpacks it
# there with dpkg-deb -x (never installed) and prints the unpacked directory on the last
# line of standard output, or with --deb the .deb's path.
# Usage: ci/kernels/fetch-newer.sh [--deb] PACKAGE[:ARCH]
#   A kernel metapackage (linux-image-amd64, linux-image-arm64-16k) is replaced by the
#   versioned linux-image-* package it depends on.
# Needs: Debian's archive (deb.debian.org) and apt's keyring with the trixie keys
# (debian-archive-keyring, as on Debian 12), dpkg-deb, about 200 MiB under target/.
# Exit status: 0 when printed; 77 when the package cannot be had (one line says why).
set -euo pipefail
cd "$(dirname "$0")/../.."
want_deb=
if [ "${1:-}" = --deb ]; then want_deb=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--deb] PACKAGE[:ARCH]" >&2; exit 64; }
pkg=$1
skip() { echo "fetch-newer: skipped: $*"; exit 77; }

base=$(readlink -f target)/apt-newer
mkdir -p "$base/etc/parts" "$base/etc/sources.list.d" "$base/etc/preferences.d" \
  "$base/state/lists/partial" "$base/cache/archives/partial" "$base/debs" "$base/unpacked"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$keyring" ] || skip "no $keyring (package debian-archive-keyring)"
cat >"$base/etc/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian trixie main
deb [signed-by=$keyring] http://deb.debian.org/debian trixie-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security trixie-security main
EOF
: >"$base/state/status"
# Every Dir:: setting that could read or write the host's apt points here instead; the
# host's apt.conf.d snippets are left out (Dir::Etc::parts) so none of them run hooks.
apt_opts=(
  -o Dir::Etc::sourcelist="$base/etc/sources.list"
  -o Dir::Etc::sourceparts="$base/etc/sources.list.d"
  -o Dir::Etc::parts="$base/etc/parts"
  -o Dir::Etc::preferences="$base/etc/preferences"
  -o Dir::Etc::preferencesparts="$base/etc/preferences.d"
  -o Dir::State="$base/state"
  -o Dir::State::status="$base/state/status"
  -o Dir::Cache="$base/cache"
  -o APT::Architecture=amd64
  -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
  -o APT::Sandbox::User=root  # target/ is not readable by _apt: download as root
)
# Lists are refreshed at most once a day.
stamp=$base/state/updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
  apt-get "${apt_opts[@]}" -q update >&2 || skip "apt-get update of trixie failed"
  touch "$stamp"
fi

# Kernel metapackages: the versioned image they depend on.
case ${pkg%%:*} in
  linux-image-amd64 | linux-image-arm64 | linux-image-arm64-16k | linux-image-cloud-amd64)
    arch=${pkg#*:}; [ "$arch" = "$pkg" ] && arch=
    dep=$(apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null |
      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {sub(/:.*/, "", $2); print $2; exit}')
    [ -n "$dep" ] || skip "trixie has no $pkg"
    pkg=$dep${arch:+:$arch}
    ;;
esac

ver=$(apt-cache "${apt_opts[@]}" policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || skip "trixie has no $pkg"
deb=$(ls "$base/debs/${pkg%%:*}_"*"${ver#*:}_"*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  (cd "$base/debs" && apt-get "${apt_opts[@]}" -q download "$pkg" >&2) ||
    skip "cannot download $pkg $ver from trixie"
  deb=$(ls "$base/debs/${pkg%%:*}_"*"${ver#*:}_"*.deb | head -1)
fi
if [ -n "$want_deb" ]; then
  echo "$deb"
  exit 0
fi
dir=$base/unpacked/$(basename "$deb" .deb)
if ! [ -d "$dir" ]; then
  dpkg-deb -x "$deb" "$dir.part"
  mv "$dir.part" "$dir"
fi
echo "$dir"
