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
# Optional env: MMAPCONF_DOWNLOADS_FROM=DIR (another checkout's target/: its lists and
# downloads are reused, read-only; seed_downloads in lib.sh).
# Exit status: 0 when printed; 77 when the package cannot be had (one line says why).
set -euo pipefail
cd "$(dirname "$0")/../.."
want_deb=
if [ "${1:-}" = --deb ]; then want_deb=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--deb] PACKAGE[:ARCH]" >&2; exit 64; }
pkg=$1
runner=fetch-newer
. ci/kernels/lib.sh

# FETCH_SUITE=SUITE (bookworm, trixie-main, unstable; experimental over unstable) instead
# of trixie,
# each with its own private apt state.
suite=${FETCH_SUITE:-trixie}
base=$(readlink -f target)/apt-newer
[ "$suite" = trixie ] || base=$base-$suite
seed_downloads "$(basename "$base")"
# One fetch of a suite at a time (the matrix runs runners side by side).
lock_target "$(basename "$base")"
mkdir -p "$base/etc/parts" "$base/etc/sources.list.d" "$base/etc/preferences.d" \
  "$base/state/lists/partial" "$base/cache/archives/partial" "$base/debs" "$base/unpacked"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$keyring" ] || skip "no $keyring (package debian-archive-keyring)"
case $suite in
  trixie) cat >"$base/etc/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian trixie main
deb [signed-by=$keyring] http://deb.debian.org/debian trixie-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security trixie-security main
EOF
  ;;
  experimental) printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' \
    "$keyring" unstable "$keyring" experimental >"$base/etc/sources.list" ;;
  # Another suite's main archive alone (bookworm, trixie-main for trixie without its
  # security archive, which a mirror may carry for some architectures only, unstable).
  trixie-main) echo "deb [signed-by=$keyring] http://deb.debian.org/debian trixie main" >"$base/etc/sources.list" ;;
  *[!a-z-]* | '') echo "fetch-newer: bad FETCH_SUITE $suite" >&2; exit 64 ;;
  *) echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$base/etc/sources.list" ;;
esac
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
  -o APT::Architectures::=ppc64el -o APT::Architectures::=s390x
  -o APT::Architectures::=riscv64 -o APT::Architectures::=armhf -o APT::Architectures::=i386
  -o APT::Sandbox::User=root  # target/ is not readable by _apt: download as root
)
# deb.debian.org fails a fetch now and then (seen here: a whole matrix lost three kernels
# to one bad minute): each apt-get that downloads gets three tries.
tries() {
  local n
  for n in 1 2 3; do
    "$@" && return 0
    [ "$n" = 3 ] || { echo "fetch-newer: try $n of 3 failed: $*" >&2; sleep $((n * 5)); }
  done
  return 1
}

# Lists are refreshed at most once a day.
stamp=$base/state/updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
  tries apt-get "${apt_opts[@]}" -q update >&2 || skip "apt-get update of $suite failed"
  touch "$stamp"
fi

# Kernel metapackages: the versioned images their versions depend on, newest first (a
# mirror may lack the security archive's build of an arch: then the next one).
cands=("$pkg")
case ${pkg%%:*} in
  linux-image-[0-9]*) ;;
  linux-image-*)
    arch=${pkg#*:}; [ "$arch" = "$pkg" ] && arch=
    mapfile -t cands < <(apt-cache "${apt_opts[@]}" show "$pkg" 2>/dev/null |
      sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,:]*\).*/\1/p' | awk '!seen[$0]++' |
      sed "s/\$/${arch:+:$arch}/")
    [ ${#cands[@]} -gt 0 ] || skip "$suite has no $pkg"
    ;;
esac

deb=
for pkg in "${cands[@]}"; do
  # The cached .deb of this package's arch only (one version exists for several).
  # Without :ARCH, any arch (linux-image-arm64-16k is an arm64 package in an amd64 list).
  want_arch=${pkg#*:}; [ "$want_arch" = "$pkg" ] && want_arch='*'

  ver=$(apt-cache "${apt_opts[@]}" policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || continue
  deb=$(ls "$base/debs/${pkg%%:*}_"*"${ver#*:}_"{$want_arch,all}.deb 2>/dev/null | head -1 || true)
  [ -z "$deb" ] || break
  if (cd "$base/debs" && tries apt-get "${apt_opts[@]}" -q download "$pkg" >&2); then
    # ls fails for the brace's other name (no _all.deb): under pipefail that would end
    # the script silently right after the first download of a package.
    deb=$(ls "$base/debs/${pkg%%:*}_"*"${ver#*:}_"{$want_arch,all}.deb 2>/dev/null | head -1 || true)
    break
  fi
  echo "fetch-newer: cannot download $pkg $ver from $suite" >&2
done
[ -n "$deb" ] || skip "cannot download any of ${cands[*]} from $suite"
# Debian 14's linux-image-<release> is itself a metapackage: the kernel is in
# linux-binary-<release>, its modules in linux-modules-<release>, its config in
# linux-base-<release>. They go beside it, where
# kernel_unpack (lib.sh) unpacks them with it.
parts_arch=${pkg#*:}; [ "$parts_arch" = "$pkg" ] && parts_arch=
for part in $(dpkg-deb -f "$deb" Depends | grep -o 'linux-\(base\|binary\|modules\)-[0-9][^ ,]*'); do
  ls "$base/debs/${part}_"*.deb >/dev/null 2>&1 && continue
  (cd "$base/debs" && tries apt-get "${apt_opts[@]}" -q download "$part${parts_arch:+:$parts_arch}" >&2) ||
    skip "cannot download $part (part of ${pkg%%:*}) from $suite"
done
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
