#!/usr/bin/env bash
# Runs the mmapconf suite under qemu-user (qemu-x86_64 from Debian's qemu-user package) and
# writes reports/qemu-user-<qemu version>-<arch>/ (results.json and summary.md, written by
# mmapconf). qemu-user is not another kernel: it translates the guest's system calls to the
# host kernel's and emulates the address space and signal delivery itself, so this report
# shows what qemu-user's emulation changes, not another kernel's behaviour; results.json
# names the host's kernel.
# Needs: Debian 12 on x86_64 (apt-get: qemu-user), root for apt-get, a Rust toolchain (cargo).
# Exit status: mmapconf's (0 all pass, 1 some case failed, 2 broken case file).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v qemu-x86_64 >/dev/null || apt-get install -y qemu-user
cargo build --release

ver=$(qemu-x86_64 --version | awk 'NR == 1 {print $3}')
out="$root/reports/qemu-user-${ver}-$(uname -m)"
mkdir -p "$out"

set +e
qemu-x86_64 "$root/target/release/mmapconf" --cases "$root/cases" run --out "$out" \
  --under "qemu-user ${ver} (qemu-x86_64), system calls served by the host's $(uname -sr)"
rc=$?
set -e
test -s "$out/results.json" && test -s "$out/summary.md"
echo "report: $out (mmapconf exit $rc)"
exit "$rc"
