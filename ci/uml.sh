#!/usr/bin/env bash
# Runs the mmapconf suite on a User-Mode Linux kernel (Debian's user-mode-linux package,
# Linux 6.1) and writes reports/uml-<UML uname -r>-<arch>/ (results.json and summary.md,
# written by mmapconf inside UML).
# Needs: Debian 12 (apt-get: user-mode-linux, e2fsprogs), root for apt-get, a Rust toolchain
# (cargo), about 1.3 GiB free under target/ (UML's memory file and a sparse ext4 image). No KVM.
# UML boots with the host's / as its root over hostfs and ci/uml-init.sh as init; the files
# the cases make live on an ext4 image (ubd0) mounted on /tmp inside UML, like the host's
# ext4 /tmp, and /dev/shm is UML's own tmpfs.
# Exit status: mmapconf's (0 all pass, 1 some case failed, 2 broken case file); 125 when
# UML did not run mmapconf.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

need=()
command -v linux.uml >/dev/null || need+=(user-mode-linux)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
[ ${#need[@]} -eq 0 ] || apt-get install -y "${need[@]}"
cargo build --release

release=$(linux.uml --version | awk '/^User Mode Linux v/ {sub(/^v/, "", $4); print $4}')
release=${release:-$(linux.uml --version | head -1)}
out="$root/reports/uml-${release}-$(uname -m)"
mkdir -p "$out"

# Scratch space under target/, not /tmp: inside UML, /tmp is the ext4 image, and init
# writes mmapconf's exit status here through hostfs.
scratch=$(mktemp -d -p "$root/target" uml.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
truncate -s 512M "$scratch/tmp.ext4"
mkfs.ext4 -q -F "$scratch/tmp.ext4"

# UML puts its memory file in TMPDIR; stdin is not a terminal, so consoles other than
# con0 (to our stdout) are off. The UML kernel powers itself off when init is done.
TMPDIR="$scratch" timeout 1800 linux.uml mem=1024M \
  root=/dev/root rootfstype=hostfs rootflags=/ rw \
  ubd0="$scratch/tmp.ext4" con=null con0=null,fd:1 \
  init="$root/ci/uml-init.sh" \
  MMAPCONF_ROOT="$root" MMAPCONF_OUT="$out" MMAPCONF_RC="$scratch/rc" </dev/null

rc=$(cat "$scratch/rc" 2>/dev/null || echo 125)
test -s "$out/results.json" && test -s "$out/summary.md"
echo "report: $out (mmapconf exit $rc)"
exit "$rc"
