#!/usr/bin/env bash
# Runs mmapconf under gVisor (Debian's runsc, or another runsc on PATH or in $RUNSC) on
# each platform that boots here, as root and rootless, and writes one
# OUTDIR/gvisor-<runsc version>-<platform>[-rootless]-<arch>/results.json per mode.
# Usage: ci/kernels/gvisor.sh BINARY OUTDIR
#   BINARY: mmapconf for the host's arch (static or not: the sandbox sees the host's /).
# Needs: root (apt-get runsc; runsc without --rootless). Platforms: ptrace always; systrap
# where this runsc has it (releases from mid-2023 on); kvm only with /dev/kvm, and only if
# a trivial sandbox boots on it within 10 s (on a VM with nested KVM it can hang at boot).
# Optional env: RUNSC=path (another runsc, e.g. unpacked from a newer .deb),
# MMAPCONF_CASES=DIR (pass --cases DIR, for binaries without embedded cases).
# Each run's C reproducers run in the same sandbox (lib.sh repro_on): repro.json and
# repro-compare.txt beside its results.json (MMAPCONF_REPRO=0: not).
# Exit status: the worst of the runs (1 when a case failed in any; 0 all passed); 2 when
# mmapconf said a case file is broken; 125 when a run left no results; 77 (skip) when runsc
# is missing or no platform boots.
set -euo pipefail
runner=gvisor
. "$(dirname "$0")/lib.sh"
runner_args "$@"
run_tmp=''
trap '[ -z "$run_tmp" ] || rm -rf "$run_tmp"' EXIT

[ "$(id -u)" = 0 ] || skip "runsc needs root here (this is uid $(id -u))"
runsc=${RUNSC:-runsc}
if [ -z "${RUNSC:-}" ]; then need_pkgs runsc:runsc python3:python3; fi
command -v "$runsc" >/dev/null || skip "no runsc at $runsc"
# "runsc version 0.0~20221219.0" (Debian) or "runsc version release-20250512.0".
ver=$("$runsc" --version | sed -n 's/^runsc version //p' | sed 's/^0\.0~//; s/^release-//')
[ -n "$ver" ] || skip "$runsc --version printed no version"

platforms=(ptrace)
# grep reads all its input (no -q): under pipefail an early exit would SIGPIPE runsc and
# turn a match into a miss, at random under load.
if "$runsc" flags 2>&1 | grep -e systrap >/dev/null; then platforms+=(systrap); fi
if [ -c /dev/kvm ]; then platforms+=(kvm); fi

# runsc do: the sandbox's root is the host's / (read-only overlay by default; with
# -force-overlay=false it writes through, so the results land in OUTDIR). A runsc whose
# do has no such flag keeps them in its overlay: that run then reports no results (125).
do_flags=()
if "$runsc" help do 2>&1 | grep -e force-overlay >/dev/null; then do_flags+=(-force-overlay=false); fi

worst=0
ran=0
tried=()
for platform in "${platforms[@]}"; do
  for mode in root rootless; do
    flags=(--network=none --platform="$platform")
    suffix=$platform
    if [ "$mode" = rootless ]; then flags+=(--rootless); suffix+=-rootless; fi
    # A trivial sandbox first: a platform or mode that cannot start here is skipped in
    # 10 s instead of hanging the suite's run.
    set +e
    timeout -k 5 10 "$runsc" "${flags[@]}" do "${do_flags[@]}" -- /bin/true >/dev/null 2>&1
    prc=$?
    set -e
    if [ "$prc" != 0 ]; then
      tried+=("$suffix")
      if [ "$prc" = 124 ]; then
        # A hang at boot (kvm on a VM with nested KVM) would hang the other mode too.
        echo "$runner: $platform: a trivial sandbox hung at boot (10 s), platform skipped"
        break
      fi
      echo "$runner: $platform ($mode): a trivial sandbox failed (exit $prc), skipped"
      continue
    fi
    name=gvisor-$ver-$suffix-$(uname -m)
    rm -rf "${outdir:?}/$name"
    mkdir -p "$outdir/$name"
    under="gVisor runsc $ver, $platform platform"
    [ "$mode" = rootless ] && under+=", --rootless"
    under+=", on $(uname -sr)"
    # A TMPDIR of the run's own: flock and pids inside a sandbox are the sandbox's, so a
    # second sandbox (the matrix runs two runners at a time) saw this run's work
    # directories as stale and removed them (cases BROKEN with ENOENT, seen here).
    run_tmp=$(mktemp -d -p "$outdir" ".tmp-$name.XXXXXX")
    start=$(now)
    set +e
    # mmapconf is the sandbox's PID 1; given a subcommand it does not take itself for a
    # VM's init. Output goes to files in the run's directory; the tally comes from the
    # results below.
    # (Given to mmapconf inside the sandbox, not to runsc: runsc do keeps its own bundle in
    # TMPDIR, which its sandbox process must reach.)
    timeout -k 5 120 "$runsc" "${flags[@]}" do "${do_flags[@]}" -- \
      env TMPDIR="$run_tmp" "$bin" "${cases_args[@]}" run --out "$outdir/$name" --under "$under" \
      >"$outdir/$name/stdout.txt" 2>"$outdir/$name/stderr.txt"
    rc=$?
    set -e
    echo "$runner: $name: mmapconf exited $rc after $(since "$start")s"
    ran=$((ran + 1))
    if [ "$rc" = 2 ]; then
      tail -3 "$outdir/$name/stderr.txt"
      rm -rf "$run_tmp"
      worst=2
      continue
    fi
    set +e
    (finish "$outdir/$name/results.json")
    frc=$?
    set -e
    # The reproducers in the same sandbox (the host's / is its root, so they are built on
    # the host and run in place): repro.json and repro-compare.txt beside results.json.
    repro_on "$outdir/$name" "$(uname -m)" "" \
      timeout -k 5 900 "$runsc" "${flags[@]}" do "${do_flags[@]}" -- env TMPDIR="$run_tmp" "$bin"
    rm -rf "$run_tmp"
    if [ "$frc" -gt "$worst" ] && [ "$worst" != 2 ]; then worst=$frc; fi
  done
done
[ "$ran" -gt 0 ] || skip "no runsc platform started a sandbox here (tried ${tried[*]})"
exit "$worst"
