#!/usr/bin/env bash
# Runs mmapconf under qemu-user (qemu-x86_64, qemu-aarch64 or qemu-riscv64, Debian's qemu-user, or the
# one named by $QEMU_USER) and writes OUTDIR/qemu-user-<qemu version>-<arch>/results.json.
# qemu-user is not another kernel: it translates the binary's system calls to the host
# kernel's and emulates the address space and signal delivery itself, so the report shows
# what the emulator changes; results.json names the host's kernel.
# Usage: ci/kernels/qemu-user.sh BINARY OUTDIR
#   BINARY: a static mmapconf (build-static.sh x86_64, aarch64 or riscv64); its arch picks the
#   emulator.
# Needs: root for apt-get (qemu-user) when no emulator is installed.
# Optional env: QEMU_USER=path (another qemu-<arch>, e.g. unpacked from a newer .deb),
# MMAPCONF_CASES=DIR (pass --cases DIR, for binaries without embedded cases).
# The C reproducers run under the same emulator (lib.sh repro_on): repro.json and
# repro-compare.txt beside results.json (MMAPCONF_REPRO=0: not).
# Exit status: mmapconf's (0 all pass, 1 some case failed, 2 broken case file), 125 when it
# left no results, 77 (skip) when the emulator is missing.
set -euo pipefail
runner='qemu-user'
. "$(dirname "$0")/lib.sh"
runner_args "$@"

case $(file -L "$bin") in
  *x86-64*) arch=x86_64 ;;
  *aarch64*) arch=aarch64 ;;
  *RISC-V*) arch=riscv64 ;;
  *) skip "$bin is not an x86_64, aarch64 or riscv64 ELF binary" ;;
esac
qemu=${QEMU_USER:-qemu-$arch}
if [ -z "${QEMU_USER:-}" ]; then need_pkgs "qemu-$arch:qemu-user" python3:python3; fi
command -v "$qemu" >/dev/null || skip "no $qemu"
# "qemu-x86_64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)"
ver=$("$qemu" --version | awk 'NR == 1 {print $3}')
name=qemu-user-$ver-$arch
rm -rf "${outdir:?}/$name"
mkdir -p "$outdir/$name"
under="qemu-user $ver ($(basename "$qemu")), system calls served by the host's $(uname -sr)"

start=$(now)
set +e
# One case at a time: qemu-user deadlocks now and then in a child forked while another
# guest thread runs (both threads of the child wait on futexes for good), which the suite
# reports as a hang of a random case. Measured on 2026-12-01 with the default -j 2: 6 of
# 20 runs of qemu 10.0.13 and 1 of 24 of qemu 7.2.22 lost one case that way; with -j 1,
# 0 of 30. Progress lines (stderr) go to a file; the tally comes from the results below.
timeout -k 5 120 "$qemu" "$bin" "${cases_args[@]}" run -j 1 --out "$outdir/$name" --under "$under" \
  >"$outdir/$name/stdout.txt" 2>"$outdir/$name/stderr.txt"
rc=$?
set -e
echo "$runner: $name: mmapconf exited $rc after $(since "$start")s"
if [ "$rc" = 2 ]; then tail -3 "$outdir/$name/stderr.txt"; exit 2; fi
set +e
(finish "$outdir/$name/results.json")
frc=$?
set -e
# The reproducers under the same emulator, statically built for its arch (lib.sh
# repro_on): mmapconf under qemu writes them with the guest's planner and starts each as
# `qemu BIN` (a host execve). One at a time, for the deadlock above.
repro_args=(-j 1)
repro_on "$outdir/$name" "$arch" "$(command -v "$qemu")" "$qemu" "$bin"
exit "$frc"
