#!/usr/bin/env bash
# Runs the mmapconf suite on every kernel and runtime this machine can reach: the host
# itself and each runner in ci/kernels/ (gVisor, User-Mode Linux, qemu-user, qemu-system,
# and the newer ones from Debian trixie), then collects the results in
# reports/matrix/runs/<run-name>/results.json and merges them with `mmapconf report` into
# reports/matrix/. Prints a table: runner, seconds, tally (or why it was skipped).
# Usage: ci/matrix.sh [SCRATCH]   (default SCRATCH: target/matrix, emptied first)
# Needs: Debian 12 x86_64 as root (the runners apt-get what they need; the newer ones
# download .debs from Debian trixie into target/ with a private apt configuration), a Rust
# toolchain. On 2 cores without KVM (26 runs, two at a time): about 9 minutes of runners
# with downloads cached, 17 the first time; most of it qemu-system under TCG and gVisor.
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
matrix_start=$(date +%s.%N)
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
# The VM runners compare their reproducers' repro.json with this one (it runs here).
export MMAPCONF_HOST_BIN=$bin
bin_a64=${MMAPCONF_BIN_AARCH64:+$(readlink -f "$MMAPCONF_BIN_AARCH64")}
cases_args=()
if [ -n "${MMAPCONF_CASES:-}" ]; then cases_args=(--cases "$(readlink -f "$MMAPCONF_CASES")"); fi

# The axes beyond 64-bit little-endian 4 and 16 KiB (ci/kernels/qemu-system-axis.sh):
# 32-bit compat on this kernel and in the amd64 VM, 64 KiB pages (ppc64el), big-endian
# (s390x), riscv64 at sv57/sv48/sv39, 32-bit arm (armhf), 5-level paging and its 4-level
# control, and the newest amd64 kernels (unstable, experimental), each with a static binary
# of its arch. MATRIX_AXES lists them (default: all). The binaries are built here, one
# after the other, before any runner starts (cargo builds in parallel itself).
axes=${MATRIX_AXES-ppc64el s390x riscv64 riscv64-sv48 riscv64-sv39 armhf amd64-la57 amd64-4lvl amd64-ia32 amd64-unstable amd64-experimental i686}
declare -A axis_binary=() axis_failed=() built=()
broken=0
for axis in $axes; do
  case $axis in
    i686 | amd64-ia32) arch=i686 ;;
    ppc64el) arch=powerpc64le ;;
    s390x) arch=s390x ;;
    riscv64 | riscv64-sv48 | riscv64-sv39) arch=riscv64 ;;
    armhf) arch=armv7 ;;
    amd64-la57 | amd64-4lvl | amd64-unstable | amd64-experimental) arch=x86_64 ;;
    *) echo "matrix: unknown axis $axis" >&2; exit 1 ;;
  esac
  if [ "$arch" = x86_64 ]; then axis_binary[$axis]=$bin; continue; fi
  if [ -z "${built[$arch]:-}" ] && [ -z "${axis_failed[$arch]:-}" ]; then
    echo "matrix: building the static $arch binary"
    if b=$("$k/build-static.sh" "$arch" 2>"$scratch/logs/build-$arch.log" | tail -1) && [ -n "$b" ]; then
      built[$arch]=$(readlink -f "$b")
    else
      axis_failed[$arch]=1
    fi
  fi
  axis_binary[$axis]=${built[$arch]:-}
done

# The runners run MATRIX_JOBS at a time (default 2: one per core here; a TCG VM is mostly
# one busy thread), the longest first, each into logs/LABEL.log and rows/NN-LABEL (its
# table row: label, seconds, what it ran or why it was skipped, and its kind).
jobs_max=${MATRIX_JOBS:-2}
mkdir -p "$scratch/rows"
seq_no=0

# one SEQ LABEL COMMAND...: runs one runner and writes its row.
one() {
  local seq=$1 label=$2 start rc secs what kind=ran
  shift 2
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
                    sed 's/^[a-z0-9-]*: //' | paste -sd ';' | sed 's/;/; /g' || true) ;;
    77) what=$(grep -m1 ': skipped: ' "$scratch/logs/$label.log" | sed 's/^.*: skipped: /skipped: /' || true)
        what=${what:-skipped}
        kind=skipped ;;
    *) what="exit $rc: $(grep -v '^\[' "$scratch/logs/$label.log" | tail -1 || true)"
       kind=broken ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$label" "$secs" "$what" "$kind" >"$scratch/rows/$seq-$label"
  echo "matrix: $label: $secs s: $what"
}

# queue LABEL COMMAND...: starts one runner in the background once a slot is free.
queue() {
  seq_no=$((seq_no + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  one "$(printf '%02d' "$seq_no")" "$@" &
}

# not_run LABEL WHY: a row for a runner that could not start.
not_run() {
  seq_no=$((seq_no + 1))
  printf '%s\t0\tskipped: %s\tskipped\n' "$1" "$2" >"$scratch/rows/$(printf '%02d' "$seq_no")-$1"
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
  # The C reproducers on this kernel, for this build's arch (i686: 32-bit compat).
  outdir=$scratch
  repro_on "$scratch/runs/$name" "$(case ${2:-} in -i686*) echo i686 ;; *) uname -m ;; esac)" "" "$b"
  finish "$scratch/runs/$name/results.json"
)

# axis AXIS: queues the runner of one axis (or its row saying why it cannot run).
axis() {
  local b=${axis_binary[$1]:-}
  case " $axes " in *" $1 "*) ;; *) return 0 ;; esac
  if [ -z "$b" ]; then
    not_run "qemu-system-$1" "the static binary for $1 did not build (logs/build-*.log)"
  elif [ "$1" = i686 ]; then
    queue host-i686 host_run "$b" -i686-compat
  else
    queue "qemu-system-$1" "$k/qemu-system-axis.sh" "$1" "$b" "$scratch/runs"
  fi
}

# The host alone first: nothing else competes with its timing-sensitive cases.
one 00 host host_run

# Longest first (seconds measured on this machine, two at a time), so that the short ones
# fill the gaps at the end.
axis ppc64el
axis s390x

# Newer versions from Debian trixie, unpacked under target/apt-newer/ (never installed);
# fetched here, one at a time, while the first two runners (which fetch their own
# kernels) run, and before the runners that use them start.
newer() { "$k/fetch-newer.sh" "$@" 2>>"$scratch/logs/fetch-newer.log" | tail -1; }
runsc_new='' uml_new='' uml_libc='' qemu_user_new='' kernel_new=''
if [ -z "${MATRIX_NO_NEWER:-}" ]; then
  runsc_new=$(newer runsc) || runsc_new=''
  # trixie's linux.uml needs glibc 2.38+: it runs with trixie's libc6, unpacked.
  { uml_new=$(newer user-mode-linux) && uml_libc=$(newer libc6); } || uml_new=''
  # trixie's qemu-user binaries are static: they run unpacked.
  qemu_user_new=$(newer qemu-user) || qemu_user_new=''
  kernel_new=$(newer --deb linux-image-amd64) || kernel_new=''
fi

queue gvisor "$k/gvisor.sh" "$bin" "$scratch/runs"
[ -z "$runsc_new" ] ||
  queue gvisor-trixie env RUNSC="$runsc_new/usr/bin/runsc" "$k/gvisor.sh" "$bin" "$scratch/runs"
# Debian trixie's 16 KiB-page arm64 kernel (fetched by the runner itself).
if [ -n "$bin_a64" ] && [ -z "${MATRIX_NO_NEWER:-}" ]; then
  queue qemu-system-aarch64 "$k/qemu-system-aarch64.sh" "$bin_a64" "$scratch/runs"
fi
axis riscv64
axis riscv64-sv48
axis riscv64-sv39
axis armhf
axis amd64-la57
axis amd64-unstable
axis amd64-experimental
queue qemu-system "$k/qemu-system.sh" "$bin" "$scratch/runs"
[ -z "$kernel_new" ] ||
  queue qemu-system-trixie env KERNEL_DEB="$kernel_new" "$k/qemu-system.sh" "$bin" "$scratch/runs"
axis amd64-4lvl
axis amd64-ia32
queue uml "$k/uml.sh" "$bin" "$scratch/runs"
[ -z "$uml_new" ] ||
  queue uml-trixie env UML="$uml_new/usr/bin/linux.uml" UML_LIBC="$uml_libc" "$k/uml.sh" "$bin" "$scratch/runs"
queue qemu-user "$k/qemu-user.sh" "$bin" "$scratch/runs"
if [ -n "$bin_a64" ]; then
  queue qemu-user-aarch64 "$k/qemu-user.sh" "$bin_a64" "$scratch/runs"
else
  not_run qemu-user-aarch64 "the aarch64 build failed (logs/build-aarch64.log)"
fi
if [ -n "$qemu_user_new" ]; then
  queue qemu-user-trixie env QEMU_USER="$qemu_user_new/usr/bin/qemu-x86_64" \
    "$k/qemu-user.sh" "$bin" "$scratch/runs"
  [ -z "$bin_a64" ] ||
    queue qemu-user-trixie-aarch64 env QEMU_USER="$qemu_user_new/usr/bin/qemu-aarch64" \
      "$k/qemu-user.sh" "$bin_a64" "$scratch/runs"
fi
axis i686
wait
# Every runner (the host's and the queued ones) leaves a row; one that did not died early.
n_rows=$(find "$scratch/rows" -type f | wc -l)
if [ "$n_rows" -lt $((seq_no + 1)) ]; then
  echo "matrix: $((seq_no + 1 - n_rows)) runner(s) left no row: see $scratch/logs/"
  broken=1
fi

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
  # The reproducers' run on the same runtime, where one was made: the report holds it
  # against the run's observations.
  for f in repro.json repro-compare.txt; do
    [ ! -s "$(dirname "$r")/$f" ] || cp "$(dirname "$r")/$f" "$dest/runs/$name/$f"
  done
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
skipped=()
for f in "$scratch"/rows/*; do
  IFS=$'\t' read -r label secs what kind <"$f"
  case $kind in
    skipped) skipped+=("$label") ;;
    broken) broken=1 ;;
  esac
  # One line per run of the runner (gVisor makes one per platform and mode).
  while IFS= read -r part; do
    printf '%-26s %8s  %s\n' "$label" "$secs" "$part"
    label='' secs=''
  done < <(printf '%s\n' "$what" | sed 's/; /\n/g')
done
[ ${#skipped[@]} -eq 0 ] || echo "skipped: ${skipped[*]}"
echo "wall time: $(awk -v a="$matrix_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}') s with $jobs_max runners at a time"
echo "logs: $scratch/logs/"
exit "$broken"
