#!/usr/bin/env bash
# Runs mmapconf on User-Mode Linux (Debian's user-mode-linux package, Linux 6.1) with the
# static binary as PID 1, and writes OUTDIR/uml-<release>-x86_64/results.json.
# Usage: ci/kernels/uml.sh BINARY OUTDIR
#   BINARY: a static x86_64 mmapconf with PID-1 mode (ci/kernels/build-static.sh).
# Needs: x86_64, root for apt-get (user-mode-linux, e2fsprogs, python3), about 600 MiB
# free under OUTDIR (UML's memory file and a sparse ext4 image). No KVM.
# The root is a hostfs view of a scratch directory holding only /init; /tmp is an ext4
# image on ubd0 (mmapconf_tmp=/dev/ubda), as the host's /tmp is ext4; init writes
# results.json to /results.json, which is the scratch directory's file on the host.
# Optional env: UML=path (another linux.uml, e.g. trixie's, unpacked by fetch-newer.sh),
# UML_LIBC=DIR (an unpacked libc6 .deb to run that linux.uml with, when it needs a newer
# glibc than the host's), MMAPCONF_GUEST_FILES=DIR (files copied into the guest root as
# well; a testing aid).
# The C reproducers (MMAPCONF_REPRO=0: not): a first, short boot writes them with the UML
# kernel's own planner (mmapconf_repro_src, in bundles), the host compiles them statically with
# musl-gcc (lib.sh repro_compile, cached), and the run's boot runs them after the suite
# (mmapconf_repro_bins), writing repro.json beside results.json; repro-compare.txt is the
# host's comparison of the two.
# Exit status: mmapconf's verdict from the results (0 all pass, 1 some case failed), 125
# when UML produced no results, 77 (skip) when something needed is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runner=uml
. "$here/lib.sh"
runner_args "$@"

[ "$(uname -m)" = x86_64 ] || skip "Debian's user-mode-linux is x86_64 only (host is $(uname -m))"
file -L "$bin" | grep -e 'x86-64' >/dev/null || skip "$bin is not an x86_64 binary"
need_init "$bin"
if [ -n "${UML:-}" ]; then
  uml=$(readlink -f "$UML")
  [ -x "$uml" ] || skip "no $UML"
  need_pkgs mkfs.ext4:e2fsprogs python3:python3
  # fetch-newer.sh unpacks into .../user-mode-linux_<version>_<arch>/
  pkgver=$(echo "$uml" | sed -n 's,.*/user-mode-linux_\([^_/]*\)_[^/]*/.*,\1,p')
else
  need_pkgs linux.uml:user-mode-linux mkfs.ext4:e2fsprogs python3:python3
  uml=$(command -v linux.uml)
  pkgver=$(dpkg-query -W -f='${Version}' user-mode-linux 2>/dev/null || true)
fi

# Scratch space beside the results (not /tmp: UML maps its memory file from TMPDIR).
scratch=$(mktemp -d -p "$outdir" .uml.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# A linux.uml built against a newer glibc runs with that glibc's loader, but not as
# `ld.so linux.uml`: UML then finds its heap beside the loader's high address and asks for
# terabytes of "exec-shield gap" memory. A copy of it names the loader by the relative
# path lib64/ld-linux-x86-64.so.2 instead (the kernel resolves it from the current
# directory: the scratch directory, where it is a symlink) and finds that libc through
# LD_LIBRARY_PATH, set for linux.uml alone (UML's init gets the kernel's environment).
uml_env=()
if [ -n "${UML_LIBC:-}" ]; then
  libc=$(readlink -f "$UML_LIBC")
  mkdir -p "$scratch/lib64"
  ln -s "$libc/usr/lib64/ld-linux-x86-64.so.2" "$scratch/lib64/"
  python3 "$here/set-interp.py" "$uml" "$scratch/linux.uml" lib64/ld-linux-x86-64.so.2
  uml=$scratch/linux.uml
  uml_env=(LD_LIBRARY_PATH="$libc/usr/lib/x86_64-linux-gnu")
fi
cd "$scratch"
# "6.1.176": Debian's linux.uml prints the bare release.
if ! release=$(env "${uml_env[@]}" "$uml" --version 2>"$scratch/version.err" | awk 'NR == 1 {print $NF}') ||
   [ -z "$release" ]; then
  why=$(head -1 "$scratch/version.err")
  case $why in *GLIBC_*) why+=" (set UML_LIBC to a newer libc6)" ;; esac
  skip "$uml --version failed: $why"
fi
name=uml-$release-x86_64
under="User-Mode Linux $release (Debian user-mode-linux${pkgver:+ $pkgver}), hostfs root, /tmp on ext4 (ubd0)"

mkdir -p "$scratch/root/dev"
cp "$bin" "$scratch/root/init"
if [ -n "${MMAPCONF_GUEST_FILES:-}" ]; then cp -a "$MMAPCONF_GUEST_FILES/." "$scratch/root/"; fi
truncate -s 512M "$scratch/tmp.ext4"
mkfs.ext4 -q -F "$scratch/tmp.ext4"

# Every word is given explicitly (root=, con=, con0=), since a word without '=' the kernel
# does not know reaches init as an argument, and mmapconf takes arguments as case filters.
# con0 goes to our stdout, other consoles are off (stdin is not a terminal). The kernel
# hands unknown name=value words to init as environment; UML joins its argv with spaces,
# so mmapconf_under's value is double-quoted for the kernel's parser.
# shellcheck disable=SC2054 # con0=null,fd:1 is one word
boot=(env TMPDIR="$scratch" "${uml_env[@]}" "$uml" mem=512M
  root=/dev/root rootfstype=hostfs rootflags="$scratch/root" rw
  ubd0="$scratch/tmp.ext4" con=null con0=null,fd:1 init=/init)

repro_words=() repro_t=0
if [ "${MMAPCONF_REPRO:-1}" != 0 ] && repro_pick_cc "$scratch/repro" x86_64; then
  mkdir -p "$scratch/root/repro/src"
  set +e
  # /tmp on the same disk as in the run: cases about a disk file system (fs = "storage")
  # apply only there, and the planner must pick the cases the run will run.
  timeout -k 10 60 "${boot[@]}" mmapconf_repro_src=/repro/src mmapconf_repro_bundle=1 \
    mmapconf_tmp=/dev/ubda </dev/null >"$scratch/repro-gen.log" 2>&1
  set -e
  if [ -n "$(find "$scratch/root/repro/src" -name '*.c' -print -quit)" ]; then
    repro_compile "$scratch/root/repro"
    repro_words=(mmapconf_repro_bins=/repro/bin mmapconf_repro_out=/repro.json)
    # UML starts a process in tens of milliseconds: a second or so per ten reproducers.
    repro_t=300
  else
    echo "$runner: reproducers not run: the generating boot wrote none: $(grep 'mmapconf init' "$scratch/repro-gen.log" | tail -1)"
  fi
fi

start=$(now)
set +e
timeout -k 10 $((120 + repro_t)) "${boot[@]}" \
  mmapconf_results=/results.json mmapconf_tmp=/dev/ubda "mmapconf_under=\"$under\"" \
  "${repro_words[@]}" </dev/null | tee "$scratch/console.log"
uml_rc=${PIPESTATUS[0]}
set -e
echo "$runner: $name: linux.uml exited $uml_rc after $(since "$start")s"

mkdir -p "$outdir/$name"
res=$scratch/root/results.json
if ! [ -s "$res" ]; then
  # Seen on a host whose CPU saves more FPU state than this UML build expects: the
  # kernel boots, then cannot load init's FPU registers through ptrace and kills init.
  # That is UML failing to run on this host, not a verdict on its mm code.
  if grep -q 'ptrace set fp regs failed' "$scratch/console.log"; then
    skip "UML $("$uml" --version 2>/dev/null | head -1) cannot start user space on this host: PTRACE_SETFPREGS failed for init (\"userspace - ptrace set fp regs failed, errno = 14\"), so init was killed before mmapconf ran"
  fi
  echo "$runner: no results from the UML kernel"
  exit 125
fi
cp "$res" "$outdir/$name/results.json"
rm -f "$outdir/$name/repro.json" "$outdir/$name/repro-compare.txt"
if [ ${#repro_words[@]} -gt 0 ]; then
  if [ -s "$scratch/root/repro.json" ]; then
    cp "$scratch/root/repro.json" "$outdir/$name/repro.json"
    repro_compare "$outdir/$name" "$bin"
  else
    echo "$runner: $name: the reproducers left no repro.json: $(grep 'mmapconf init: .*reproducers\|cannot write' "$scratch/console.log" | tail -1)"
  fi
fi
finish "$outdir/$name/results.json"
