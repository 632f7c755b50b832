#!/usr/bin/env bash
# Runs the mmapconf suite on every kernel and runtime this machine can reach: the host
# itself and each runner in ci/kernels/ (gVisor, User-Mode Linux, qemu-user, qemu-system,
# and the newer ones from Debian trixie), then collects the results in
# reports/matrix/runs/<run-name>/results.json and merges them with `mmapconf report` into
# reports/matrix/. Prints a table: runner, seconds, tally (or why it was skipped).
# Usage: ci/matrix.sh [SCRATCH]   (default SCRATCH: target/matrix, emptied first)
# Needs: Debian 12 x86_64 as root (the runners apt-get what they need; the newer ones
# download .debs from Debian trixie into target/ with a private apt configuration), a Rust
# toolchain. About 10 minutes on 2 cores without KVM, most of it in qemu-system under TCG
# and first-time package downloads.
# Optional env: MMAPCONF_BIN / MMAPCONF_BIN_AARCH64 (use these static binaries instead of
# building them), MMAPCONF_CASES=DIR (for binaries without embedded cases; the PID-1
# runners cannot use it), MATRIX_NO_NEWER=1 (skip the trixie downloads).
# Exit status: 0 when every runner that was not skipped produced results, the merged report
# was written and every run passed the gate (ci/gate.sh: each run against its runtime's
# expectations in expectations/, so a known failure is no change and any other is); 1
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=${1:-$root/target/matrix}
rm -rf "$scratch"
mkdir -p "$scratch/runs" "$scratch/logs"
scratch=$(readlink -f "$scratch")
k=$root/ci/kernels

# The static binaries: x86_64 for the host and every x86_64 runner, aarch64 for the
# qemu runners of arm64.
if [ -z "${MMAPCONF_BIN:-}" ]; then
  echo "matrix: building the static x86_64 binary"
  MMAPCONF_BIN=$("$k/build-static.sh" x86_64 2>"$scratch/logs/build-x86_64.log" | tail -1) || {
    tail -5 "$scratch/logs/build-x86_64.log"
    exit 1
  }
fi
if [ -z "${MMAPCONF_BIN_AARCH64:-}" ]; then
  echo "matrix: building the static aarch64 binary"
  MMAPCONF_BIN_AARCH64=$("$k/build-static.sh" aarch64 2>"$scratch/logs/build-aarch64.log" | tail -1) ||
    MMAPCONF_BIN_AARCH64=
fi
bin=$(readlink -f "$MMAPCONF_BIN")
bin_a64=${MMAPCONF_BIN_AARCH64:+$(readlink -f "$MMAPCONF_BIN_AARCH64")}
cases_args=()
if [ -n "${MMAPCONF_CASES:-}" ]; then cases_args=(--cases "$(readlink -f "$MMAPCONF_CASES")"); fi

rows=()   # "label<TAB>seconds<TAB>what", printed at the end
skipped=()
broken=0

# one LABEL COMMAND...: runs one runner (its output to logs/LABEL.log) and records a row.
one() {
  local label=$1 start rc secs what
  shift
  echo "matrix: $label ..."
  start=$(date +%s.%N)
  set +e
  "$@" >"$scratch/logs/$label.log" 2>&1 </dev/null
  rc=$?
  set -e
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  case $rc in
    # The runners' lines "RUNNER: RUN: N cases: TALLY" (one per run) and any platform
    # they skipped.
    0 | 1) what=$(grep -E '^[a-z0-9-]+: ([^ ]+: [0-9]+ cases: |.* skipped$)' "$scratch/logs/$label.log" |
                    sed 's/^[a-z0-9-]*: //' | paste -sd ';' | sed 's/;/; /g') ;;
    77) what=$(grep -m1 ': skipped: ' "$scratch/logs/$label.log" | sed 's/^.*: skipped: /skipped: /')
        what=${what:-skipped}
        skipped+=("$label") ;;
    *) what="exit $rc: $(grep -v '^\[' "$scratch/logs/$label.log" | tail -1)"
       broken=1 ;;
  esac
  rows+=("$label	$secs	$what")
  echo "matrix: $label: $secs s: $what"
}

# The host: mmapconf's own report name is linux-<release>-<arch>. A subshell, since
# finish exits.
# host_run [BINARY SUFFIX]: another build (the i686 one: 32-bit compat on this kernel)
# runs beside the 64-bit one under a name of its own.
host_run() (
  local name rc b=${1:-$bin}
  name=linux-$(uname -r)-$(uname -m)${2:-}
  mkdir -p "$scratch/runs/$name"
  set +e
  "$b" "${cases_args[@]}" run --out "$scratch/runs/$name" \
    >"$scratch/runs/$name/stdout.txt" 2>"$scratch/runs/$name/stderr.txt"
  rc=$?
  set -e
  cat "$scratch/runs/$name/stdout.txt"
  [ "$rc" != 2 ] || exit 2
  runner=host
  . "$k/lib.sh"
  finish "$scratch/runs/$name/results.json"
)

one host host_run
one gvisor "$k/gvisor.sh" "$bin" "$scratch/runs"
one uml "$k/uml.sh" "$bin" "$scratch/runs"
one qemu-user "$k/qemu-user.sh" "$bin" "$scratch/runs"
if [ -n "$bin_a64" ]; then
  one qemu-user-aarch64 "$k/qemu-user.sh" "$bin_a64" "$scratch/runs"
else
  rows+=("qemu-user-aarch64	0	skipped: the aarch64 build failed (logs/build-aarch64.log)")
  skipped+=(qemu-user-aarch64)
fi
one qemu-system "$k/qemu-system.sh" "$bin" "$scratch/runs"

# Newer versions from Debian trixie, unpacked under target/apt-newer/ (never installed).
newer() { "$k/fetch-newer.sh" "$@" 2>>"$scratch/logs/fetch-newer.log" | tail -1; }
if [ -z "${MATRIX_NO_NEWER:-}" ]; then
  if d=$(newer runsc); then
    one gvisor-trixie env RUNSC="$d/usr/bin/runsc" "$k/gvisor.sh" "$bin" "$scratch/runs"
  fi
  # trixie's linux.uml needs glibc 2.38+: it runs with trixie's libc6, unpacked.
  if d=$(newer user-mode-linux) && libc=$(newer libc6); then
    one uml-trixie env UML="$d/usr/bin/linux.uml" UML_LIBC="$libc" "$k/uml.sh" "$bin" "$scratch/runs"
  fi
  # trixie's qemu-user binaries are static: they run unpacked.
  if d=$(newer qemu-user); then
    one qemu-user-trixie env QEMU_USER="$d/usr/bin/qemu-x86_64" \
      "$k/qemu-user.sh" "$bin" "$scratch/runs"
    if [ -n "$bin_a64" ]; then
      one qemu-user-trixie-aarch64 env QEMU_USER="$d/usr/bin/qemu-aarch64" \
        "$k/qemu-user.sh" "$bin_a64" "$scratch/runs"
    fi
  fi
  if deb=$(newer --deb linux-image-amd64); then
    one qemu-system-trixie env KERNEL_DEB="$deb" "$k/qemu-system.sh" "$bin" "$scratch/runs"
  fi
fi
# Debian trixie's 16 KiB-page arm64 kernel (fetched by the runner itself).
if [ -n "$bin_a64" ] && [ -z "${MATRIX_NO_NEWER:-}" ]; then
  one qemu-system-aarch64 "$k/qemu-system-aarch64.sh" "$bin_a64" "$scratch/runs"
fi

# The axes beyond 64-bit little-endian 4 and 16 KiB (ci/kernels/qemu-system-axis.sh):
# 32-bit compat on this kernel, 64 KiB pages (ppc64el) and big-endian (s390x), each with a
# static binary of its arch. MATRIX_AXES lists them (default below); riscv64 (sv57, sv48,
# sv39), armhf and the amd64 la57/4-level pair have runners but have not been run here yet.
axis_bin() {
  "$k/build-static.sh" "$1" 2>"$scratch/logs/build-$1.log" | tail -1
}
for axis in ${MATRIX_AXES-i686 ppc64el s390x}; do
  case $axis in
    i686) arch=i686 ;;
    ppc64el) arch=powerpc64le ;;
    s390x) arch=s390x ;;
    riscv64 | riscv64-sv48 | riscv64-sv39) arch=riscv64 ;;
    armhf) arch=armv7 ;;
    amd64-la57 | amd64-4lvl | amd64-unstable | amd64-experimental) arch=x86_64 ;;
    amd64-ia32) arch=i686 ;;
    *) echo "matrix: unknown axis $axis" >&2; exit 1 ;;
  esac
  if ! axis_binary=$(axis_bin "$arch") || [ -z "$axis_binary" ]; then
    rows+=("$axis	0	skipped: the $arch build failed (logs/build-$arch.log)")
    skipped+=("$axis")
    continue
  fi
  if [ "$axis" = i686 ]; then
    one host-i686 host_run "$(readlink -f "$axis_binary")" -i686-compat
  else
    one "qemu-system-$axis" "$k/qemu-system-axis.sh" "$axis" "$(readlink -f "$axis_binary")" \
      "$scratch/runs"
  fi
done

# Collect: reports/matrix/runs/ is replaced by this run's results, so that the merged
# report is one matrix run, never a mix with stale runs.
dest=$root/reports/matrix
rm -rf "$dest/runs"
mkdir -p "$dest/runs"
for r in "$scratch"/runs/*/results.json; do
  [ -s "$r" ] || continue
  name=$(basename "$(dirname "$r")")
  mkdir -p "$dest/runs/$name"
  cp "$r" "$dest/runs/$name/results.json"
done
echo "matrix: merging $(ls "$dest"/runs | wc -l) runs into $dest"
set +e
"$bin" "${cases_args[@]}" report "$dest"/runs/*/results.json --out "$dest" --system-man \
  >"$scratch/logs/report.log" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ]; then
  echo "matrix: mmapconf report exited $rc: $(tail -1 "$scratch/logs/report.log")"
  broken=1
fi

# The gate: each run against its runtime's expectations ("no change"), results only.
echo "matrix: gating the runs against expectations/"
if ! "$root/ci/gate.sh" "$bin" "$dest/runs" >"$scratch/logs/gate.log" 2>&1; then
  broken=1
fi
sed 's/^/matrix: gate: /' "$scratch/logs/gate.log" | grep -v '^matrix: gate:   note:' || true

echo
printf '%-26s %8s  %s\n' runner seconds result
for row in "${rows[@]}"; do
  IFS=$'\t' read -r label secs what <<<"$row"
  # One line per run of the runner (gVisor makes one per platform and mode).
  while IFS= read -r part; do
    printf '%-26s %8s  %s\n' "$label" "$secs" "$part"
    label='' secs=''
  done < <(printf '%s\n' "$what" | sed 's/; /\n/g')
done
[ ${#skipped[@]} -eq 0 ] || echo "skipped: ${skipped[*]}"
echo "logs: $scratch/logs/"
exit "$broken"
