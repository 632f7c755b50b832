#!/usr/bin/env bash
# Runs the mmapconf suite under gVisor (Debian's runsc package, ptrace platform) and writes
# reports/gvisor-<runsc version>-<arch>/ (results.json and summary.md, written by mmapconf).
# Needs: Debian 12 (or any apt with a runsc package), root (for apt-get and for runsc without
# --rootless), a Rust toolchain (cargo). Works inside a VM without nested KVM: it uses
# runsc's default ptrace platform (the kvm platform hung at boot on our CI machine).
# The sandbox sees the host's root read-only except that -force-overlay=false lets it write
# the report directory; /tmp and /dev/shm inside the sandbox are gVisor's own tmpfs.
# Exit status: mmapconf's (0 all pass, 1 some case failed, 2 broken case file).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v runsc >/dev/null || apt-get install -y runsc
cargo build --release

ver=$(runsc --version | sed -n 's/^runsc version //p' | sed 's/^0\.0~//')
out="$root/reports/gvisor-${ver}-$(uname -m)"
mkdir -p "$out"

set +e
runsc --network=none do -force-overlay=false -- \
  "$root/target/release/mmapconf" --cases "$root/cases" run --out "$out" \
  --under "gVisor runsc ${ver}, ptrace platform, on $(uname -sr)"
rc=$?
set -e
test -s "$out/results.json" && test -s "$out/summary.md"
echo "report: $out (mmapconf exit $rc)"
exit "$rc"
