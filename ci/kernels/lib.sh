# shellcheck shell=bash
# Shared by the runners in ci/kernels/ (sourced, not run). Each runner sets `runner`
# (its name for messages) before sourcing this.

# skip WHY...: one line saying what is missing, then exit 77 (the matrix's "skipped").
skip() { echo "$runner: skipped: $*"; exit 77; }

# runner_args BINARY OUTDIR: every runner's two arguments, as absolute paths in $bin and
# $outdir (created).
runner_args() {
  [ $# -eq 2 ] || { echo "usage: $0 BINARY OUTDIR" >&2; exit 64; }
  bin=$(readlink -f "$1")
  mkdir -p "$2"
  outdir=$(readlink -f "$2")
}

# lock_target NAME: takes an exclusive lock on target/.NAME.lock in this checkout (made
# here, never a shared /tmp name), held until unlock_target or the process's exit: the
# matrix runs two runners at a time, and two apt-gets, downloads or unpacks of one thing
# must not overlap. A holder only runs the one locked step, so no two locks wait on each
# other.
lock_target() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target
  mkdir -p "$dir"
  exec {lock_fd}>>"$dir/.$1.lock"
  flock "$lock_fd"
}
unlock_target() { exec {lock_fd}>&-; }

# missing_pkgs CMD:PKG...: sets want to the packages whose command is missing.
missing_pkgs() {
  local pair
  want=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || want+=("${pair#*:}")
  done
}

# need_pkgs CMD:PKG...: apt-get installs the packages whose command is missing; skips when
# that fails.
need_pkgs() {
  local want
  missing_pkgs "$@"
  [ ${#want[@]} -eq 0 ] && return 0
  lock_target apt
  # Another runner may have installed them while this one waited for the lock.
  missing_pkgs "$@"
  if [ ${#want[@]} -gt 0 ]; then
    echo "$runner: apt-get install ${want[*]}" >&2
    # A fresh machine may have no package lists yet: update once, then try again.
    apt-get install -y -q "${want[@]}" >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${want[@]}" >/dev/null 2>&1; } ||
      skip "cannot apt-get install ${want[*]}"
  fi
  unlock_target
}

# need_init BINARY: skips unless BINARY is static and has mmapconf's PID-1 mode (it reads
# mmapconf_results from its environment), or is a stand-in init given with
# MMAPCONF_GUEST_FILES. Without it, the binary would print its usage as init and the
# kernel would panic.
need_init() {
  file -L "$1" | grep -E 'static(-pie)? linked|statically linked' >/dev/null ||
    skip "$1 is not statically linked (build it with ci/kernels/build-static.sh)"
  grep -aq mmapconf_results "$1" ||
    skip "$1 has no PID-1 mode (no mmapconf_results in it): a newer mmapconf is needed"
}

# seed_downloads REL: with MMAPCONF_DOWNLOADS_FROM=DIR (another checkout's target/, e.g. a
# lead's cache on the same machine), fills this checkout's target/REL with what DIR/REL
# holds and this one lacks, so that nothing is downloaded twice. DIR stays read-only: .deb
# files and unpacked trees are hard links (apt and dpkg-deb only ever add files beside
# them), falling back to copies on another filesystem; apt's lists and day stamp are
# copies (apt-get update renames over them, and this side writes its own sources.list and
# status, which are never taken). REL: kernels-cache or apt-newer[-SUITE].
seed_downloads() {
  local from=${MMAPCONF_DOWNLOADS_FROM:-} rel=$1 dst e sub
  [ -n "$from" ] && [ -d "$from/$rel" ] || return 0
  dst=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/$rel
  mkdir -p "$dst"
  [ "$(readlink -f "$from/$rel")" != "$(readlink -f "$dst")" ] || return 0
  if [ "${rel#apt-newer}" != "$rel" ]; then
    mkdir -p "$dst/state/lists" "$dst/debs" "$dst/unpacked"
    if [ -e "$from/$rel/state/updated" ] && ! [ -e "$dst/state/updated" ]; then
      find "$from/$rel/state/lists" -maxdepth 1 -type f -name '*_*' -exec cp -p {} "$dst/state/lists/" \;
      cp -p "$from/$rel/state/updated" "$dst/state/updated"
    fi
    for e in "$from/$rel/debs/"*.deb "$from/$rel/unpacked/"*; do
      sub=debs
      [ "${e#"$from/$rel/unpacked/"}" = "$e" ] || sub=unpacked
      seed_one "$e" "$dst/$sub"
    done
  else
    for e in "$from/$rel/"*; do seed_one "$e" "$dst"; done
  fi
}

# seed_one PATH DIR: hard-links (or copies) PATH into DIR unless DIR has it; never a
# half-written one (*.part).
seed_one() {
  [ -e "$1" ] && [ -n "${1##*.part}" ] && ! [ -e "$2/${1##*/}" ] || return 0
  cp -al "$1" "$2/" 2>/dev/null || cp -a "$1" "$2/"
}

# now: seconds since the epoch with a fraction; since T: seconds since T, one decimal.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# finish OUTDIR/RUN/results.json: checks that the file is a whole mmapconf results document (a run
# over a serial line can be cut short), prints RUN and its tally, and exits as mmapconf would have:
# 1 when a case failed, 0 otherwise; 125 when the file is missing or not a results document.
finish() {
  python3 - "$1" "$runner" <<'PY'
import json, os, sys
path, runner = sys.argv[1], sys.argv[2]
try:
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    totals = dict(doc["totals"])
    n = len(doc["cases"])
except (OSError, ValueError, KeyError, TypeError) as e:
    print(f"{runner}: no usable results in {path}: {e}")
    sys.exit(125)
labels = {"fail": "FAIL", "known-deviation": "known deviation", "not-applicable": "not applicable"}
tally = ", ".join(f"{v} {labels.get(k, k)}" for k, v in totals.items())
name = os.path.basename(os.path.dirname(os.path.abspath(path)))
print(f"{runner}: {name}: {n} cases: {tally}")
sys.exit(1 if totals.get("fail", 0) else 0)
PY
}

# cases_args: `--cases DIR` when MMAPCONF_CASES names a case directory (before the binary
# embeds its cases), else nothing.
cases_args=()
if [ -n "${MMAPCONF_CASES:-}" ]; then cases_args=(--cases "$(readlink -f "$MMAPCONF_CASES")"); fi

# kernel_unpack DEB CACHE: unpacks a linux-image .deb once into CACHE/<deb name>/pkg and
# sets kdir, krel (its uname -r), kver (the package version), kconfig (its config file)
# and kmoddir (its modules directory: /lib/modules in Debian 12, /usr/lib/modules in 13).
kernel_unpack() {
  local deb=$1 d
  kdir=$2/$(basename "$deb" .deb)
  local locked=
  if ! [ -d "$kdir/pkg" ]; then lock_target kernel-unpack; locked=1; fi
  if ! [ -d "$kdir/pkg" ]; then
    rm -rf "$kdir"
    mkdir -p "$kdir"
    dpkg-deb -x "$deb" "$kdir/pkg.part"
    # Debian 14: the image and its modules are the linux-binary/-modules packages beside it.
    for d in $(dpkg-deb -f "$deb" Depends | grep -o 'linux-\(base\|binary\|modules\)-[0-9][^ ,]*'); do
      dpkg-deb -x "$(ls "$(dirname "$deb")/${d}_"*.deb | head -1)" "$kdir/pkg.part"
    done
    mv "$kdir/pkg.part" "$kdir/pkg"
  fi
  [ -z "$locked" ] || unlock_target
  # Debian 14 keeps config and image in /usr/lib/modules/<release>/.
  kconfig=$(ls "$kdir"/pkg/boot/config-* "$kdir"/pkg/usr/lib/modules/*/config 2>/dev/null | head -1 || true)
  krel=${kconfig##*/config-}
  [ "$krel" != "$kconfig" ] || krel=$(basename "$(dirname "$kconfig")")
  kver=$(dpkg-deb -f "$deb" Version)
  kmoddir=
  for d in "$kdir/pkg/lib/modules/$krel" "$kdir/pkg/usr/lib/modules/$krel"; do
    if [ -d "$d" ]; then kmoddir=$d; break; fi
  done
}

# elf_arch FILE: the machine file(1) names for an ELF file ("x86-64", "ARM aarch64").
elf_arch() { file -L "$1" | sed -n 's/^[^:]*: ELF [^,]*, \([^,]*\),.*/\1/p'; }

# vm_initramfs BIN BUSYBOX SCRATCH: writes SCRATCH/initrd.gz for a VM whose init is the
# static mmapconf BIN, and decides /tmp: an ext4 image on a virtio-blk disk (sets
# vm_disk to QEMU's arguments for it and vm_tmp_env to mmapconf_tmp=/dev/vda), like the
# host's ext4 /tmp. Debian's kernels have virtio_blk and ext4 as modules, which mmapconf
# does not load: then /init is a shell script run by BUSYBOX (a static busybox for the
# guest's arch) that insmods them from the initramfs and execs mmapconf, which so stays
# PID 1 with the environment the kernel gave. Without such a busybox, or if a module cannot
# be found, /tmp is a tmpfs. vm_tmp_under says which, for the --under text. Needs kconfig
# and kmoddir (kernel_unpack). MMAPCONF_GUEST_FILES=DIR adds files (a testing aid);
# vm_init_arch: the kernel's arch where it is not the binary's (an i686 binary on amd64).
vm_initramfs() {
  local bin=$1 busybox=$2 scratch=$3 stage=$3/root init=$1 m mods=() why=
  vm_disk=()
  vm_tmp_env=()
  mkdir -p "$stage"
  if [ -n "${MMAPCONF_GUEST_FILES:-}" ]; then cp -a "$MMAPCONF_GUEST_FILES/." "$stage/"; fi
  # crc32c: ext4's metadata checksums (mkfs.ext4's default) need it at mount time.
  # vm_modules: another list (s390x has virtio on its channel subsystem, not PCI).
  for m in ${vm_modules:-VIRTIO_PCI:virtio_pci VIRTIO_BLK:virtio_blk CRYPTO_CRC32C:crc32c_generic EXT4_FS:ext4}; do
    grep -qx "CONFIG_${m%%:*}=y" "$kconfig" || mods+=("${m#*:}")
  done
  # Linux 6.14 and later call crc32c's crypto module crc32c-cryptoapi.
  if [ -n "$kmoddir" ] && [ -z "$(find "$kmoddir" -name 'crc32c_generic.ko*' -print -quit)" ] &&
     [ -n "$(find "$kmoddir" -name 'crc32c-cryptoapi.ko*' -print -quit)" ]; then
    mods=("${mods[@]/crc32c_generic/crc32c-cryptoapi}")
  fi
  # vm_tmpfs_why: a reason to keep /tmp on tmpfs whatever the kernel has.
  if [ -n "${vm_tmpfs_why:-}" ]; then
    why=$vm_tmpfs_why
  elif [ ${#mods[@]} -gt 0 ]; then
    if [ -z "$busybox" ] || ! file -L "$busybox" | grep -e 'statically linked' >/dev/null ||
       [ "$(elf_arch "$busybox")" != "${vm_init_arch:-$(elf_arch "$bin")}" ]; then
      why="${mods[*]} are modules in this kernel and there is no static busybox to load them"
    elif [ -z "$kmoddir" ] ||
         ! python3 "$here/modules.py" "$kmoddir" "$stage/modules" "${mods[@]}" >/dev/null; then
      why="cannot find the modules ${mods[*]} in the kernel package"
    else
      mkdir -p "$stage/bin"
      cp "$busybox" "$stage/bin/busybox"
      cp "$bin" "$stage/mmapconf.init"
      init=$scratch/init
      cat >"$init" <<'SH'
#!/bin/busybox sh
# Loads the modules /tmp needs (virtio-blk disk, ext4), then becomes mmapconf: exec keeps
# PID 1 and the environment the kernel gave (mmapconf_*).
failed=
while read -r m; do
  /bin/busybox insmod "/modules/$m" || failed="$failed ${m%.ko}"
done </modules/order
if [ -n "$failed" ]; then
  echo "init shim: could not load$failed; /tmp falls back to tmpfs"
  unset mmapconf_tmp
  export mmapconf_under="${mmapconf_under%%, /tmp on ext4*}, /tmp on tmpfs (could not load$failed)"
fi
exec /mmapconf.init
SH
    fi
  fi
  if [ -z "$why" ]; then
    truncate -s 512M "$scratch/tmp.ext4"
    mkfs.ext4 -q -F "$scratch/tmp.ext4"
    vm_disk=(-drive "file=$scratch/tmp.ext4,format=raw,if=none,id=tmp,cache=unsafe"
             -device virtio-blk-pci,drive=tmp)
    vm_tmp_env=(mmapconf_tmp=/dev/vda)
    vm_tmp_under="/tmp on ext4 (virtio-blk"
    [ ${#mods[@]} -eq 0 ] || vm_tmp_under+="; modules ${mods[*]} loaded by a busybox shim before mmapconf"
    vm_tmp_under+=")"
  else
    echo "$runner: /tmp on tmpfs: $why"
    vm_tmp_under="/tmp on tmpfs ($why)"
  fi
  python3 "$here/mkinitramfs.py" "$scratch/initrd.gz" "$init" "$stage"
}

# repro_on RUNDIR ARCH VIA MMAPCONF...: runs the C reproducers on the runtime of the run in
# RUNDIR and compares them with it. MMAPCONF... is mmapconf as the run ran it (`"$runsc"
# FLAGS do -- "$bin"`, `"$qemu" "$bin"`): there it writes the reproducers (`repro --all
# --bundle`, so the runtime's own planner picks the cases; 64 to a program, each case
# still run as a process of its own), which are compiled statically for ARCH
# (musl-gcc -static for the host's arch, else cc -static; aarch64-linux-gnu-gcc -static
# for aarch64 elsewhere; each object is cached by its source's SHA-256 under
# target/repro-cache/ARCH, or $MMAPCONF_REPRO_CACHE/ARCH, so a runtime's runs and later
# matrix runs compile once), then run there
# (`repro --run-bins`, each as `VIA BIN` when VIA is not empty) into RUNDIR/repro.json,
# and `repro --compare` writes RUNDIR/repro-compare.txt and prints its tally. Never fails
# the runner (the kernel's verdicts are the runner's exit status): a missing compiler or
# a failing step is one line saying so. MMAPCONF_REPRO=0 turns it off. A runner may set
# repro_args (more words for --run-bins, e.g. -j 1).
repro_args=()
# repro_build DIR ARCH MMAPCONF...: writes the reproducers with MMAPCONF (`repro --all`,
# so the runtime's own planner picks the cases) and compiles them statically for ARCH
# into DIR/bin (cached as above). Sets repro_cc and repro_n; returns 1, after a line
# saying why, when there is no compiler or generating failed.
repro_build() {
  local dir=$1 arch=$2
  shift 2
  repro_pick_cc "$dir" "$arch" || return 1
  mkdir -p "$dir/src"
  # Bundles, 64 cases to a program: a runtime compiles a few dozen files, not a thousand.
  if ! "$@" "${cases_args[@]}" repro --all --bundle --out "$dir/src" >"$dir/gen.log" 2>&1; then
    echo "$runner: $(basename "$dir"): reproducers not run: repro --all failed: $(tail -1 "$dir/gen.log")"
    return 1
  fi
  repro_compile "$dir"
}

# repro_pick_cc DIR ARCH: sets repro_cc (musl-gcc or cc for the host's arch, Debian's
# cross gcc for ARCH otherwise: ARCH-linux-gnu-gcc, arm-linux-gnueabihf-gcc for armv7),
# repro_arch and repro_n=0; returns 1, after a line naming DIR's run, when there is none.
# Unless repro_install=0, a missing cross gcc and its static libc (gcc-TRIPLE,
# libc6-dev-DEBARCH-cross) are apt-get installed first; failing that is such a line too.
repro_pick_cc() {
  local cc triple debarch want
  repro_n=0 repro_arch=$2
  if [ "$2" = "$(uname -m)" ]; then
    for cc in musl-gcc cc ""; do command -v "$cc" >/dev/null 2>&1 && break; done
  else
    case $2 in
      armv7) triple=arm-linux-gnueabihf debarch=armhf ;;
      i686) triple=i686-linux-gnu debarch=i386 ;;
      aarch64) triple=aarch64-linux-gnu debarch=arm64 ;;
      powerpc64le) triple=powerpc64le-linux-gnu debarch=ppc64el ;;
      *) triple=$2-linux-gnu debarch=$2 ;;
    esac
    cc=$triple-gcc
    if [ "${repro_install:-1}" = 1 ] && { ! command -v "$cc" >/dev/null 2>&1 ||
         ! [ -e "/usr/$triple/lib/libc.a" ]; }; then
      want=("gcc-$triple" "libc6-dev-$debarch-cross")
      lock_target apt
      if ! command -v "$cc" >/dev/null 2>&1 || ! [ -e "/usr/$triple/lib/libc.a" ]; then
        echo "$runner: apt-get install ${want[*]} (for the reproducers)" >&2
        apt-get install -y -q "${want[@]}" >/dev/null 2>&1 ||
          { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${want[@]}" >/dev/null 2>&1; } || true
      fi
      unlock_target
    fi
    command -v "$cc" >/dev/null 2>&1 || cc=""
  fi
  repro_cc=$cc
  if [ -z "$cc" ]; then
    echo "$runner: $(basename "$1"): reproducers not run: no static C compiler for $2 here"
    return 1
  fi
}

# repro_compile DIR: compiles DIR/src/*.c with repro_cc into DIR/bin (see repro_build).
repro_compile() {
  local dir=$1 cache
  # The compiled reproducers are kept across matrix runs, by compiler and source hash.
  cache=${MMAPCONF_REPRO_CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/repro-cache}/$repro_arch
  mkdir -p "$dir/bin" "$cache"
  # One compiler per CPU; a file that does not build is named in build.log, left out, and
  # shows as "no reproducer ran here" in the comparison.
  find "$dir/src" -name '*.c' -print0 |
    REPRO_CC=$repro_cc REPRO_CACHE=$cache REPRO_BIN=$dir/bin \
      xargs -0 -r -P "$(nproc)" -n 8 bash -c '
        for src; do
          id=$(basename "$src" .c)
          obj=$REPRO_CACHE/$({ echo "$REPRO_CC"; cat "$src"; } | sha256sum | cut -c1-64)
          if ! [ -x "$obj" ]; then
            "$REPRO_CC" -std=c11 -O1 -Wall -Wextra -Werror -static -o "$obj.$$" "$src" 2>&1 &&
              mv "$obj.$$" "$obj" || { echo "cannot build $id"; rm -f "$obj.$$"; continue; }
          fi
          ln "$obj" "$REPRO_BIN/$id" 2>/dev/null || cp "$obj" "$REPRO_BIN/$id"
        done' _ >"$dir/build.log" 2>&1 || true
  repro_n=$(find "$dir/bin" -type f | wc -l)
}

# repro_compare RUNDIR MMAPCONF...: RUNDIR/repro.json against RUNDIR/results.json into
# RUNDIR/repro-compare.txt; prints the tally.
repro_compare() {
  local rundir=$1
  shift
  set +e
  "$@" repro --compare "$rundir" >"$rundir/repro-compare.txt" 2>&1
  set -e
  echo "$runner: $(basename "$rundir"): $repro_n bundles built with $repro_cc: $(tail -1 "$rundir/repro-compare.txt")"
}

# The C reproducers in a VM, in two boots of the same kernel and initramfs. The channel
# both ways is the ext4 image that init mounts on /tmp (vm_disk; init unmounts it before
# powering off): the first boot's planner writes the reproducers of the cases that apply
# on that kernel into it, in bundles (a static glibc binary per case would not fit), the
# host reads them off with debugfs, compiles them statically for the guest's arch
# (repro_compile, cached by source) and writes a fresh image holding the binaries; the
# run's boot runs them after the suite and leaves repro.json in the image.
#
# vm_repro_gen SCRATCH ARCH BOOTFN: the first boot (`BOOTFN WORDS...` boots the VM with
# those extra kernel command-line words, its console into SCRATCH) and the compile. Sets
# vm_repro_words to the run boot's words, or leaves it empty after a line saying why the
# reproducers are not run. MMAPCONF_REPRO=0 turns it off.
vm_repro_words=()
vm_repro_gen() {
  local scratch=$1 arch=$2 boot=$3 dir=$1/repro img=$1/tmp.ext4 n
  vm_repro_words=()
  [ "${MMAPCONF_REPRO:-1}" != 0 ] || return 0
  if [ ${#vm_disk[@]} -eq 0 ]; then
    echo "$runner: reproducers not run: /tmp is a tmpfs here, and the reproducers come and go on its ext4 disk"
    return 0
  fi
  command -v debugfs >/dev/null || {
    echo "$runner: reproducers not run: no debugfs (e2fsprogs) to read the VM's disk"
    return 0
  }
  repro_install=1 repro_pick_cc "$dir" "$arch" || return 0
  mkdir -p "$dir"
  "$boot" mmapconf_repro_src=/tmp/repro-src mmapconf_repro_bundle=1 >"$dir/gen.log" 2>&1 || true
  # An unclean image (the VM died before init unmounted /tmp): replay its journal first.
  e2fsck -p "$img" >/dev/null 2>&1 || true
  debugfs -R "rdump /repro-src $dir" "$img" >"$dir/debugfs.log" 2>&1 || true
  n=$(find "$dir/repro-src" -name 'bundle-*.c' 2>/dev/null | wc -l)
  if [ "$n" = 0 ]; then
    echo "$runner: reproducers not run: the generating boot wrote none: $(grep -a 'mmapconf init' "$scratch/gen-console.log" 2>/dev/null | tail -1)"
    return 0
  fi
  mv "$dir/repro-src" "$dir/src"
  repro_compile "$dir"
  if [ "$repro_n" != "$n" ]; then
    echo "$runner: $((n - repro_n)) of $n reproducer bundles did not build ($repro_cc): $(grep -m1 -A3 'error:' "$dir/build.log" | head -2 | paste -sd ' ')"
    # The cases of a bundle that did not build show as broken in the comparison; with
    # none built there is nothing to run.
    [ "$repro_n" != 0 ] || return 0
  fi
  # A fresh /tmp image holding only the binaries: the run starts from an empty disk, as
  # without reproducers.
  mkdir -p "$dir/disk/repro-bin"
  cp "$dir/bin/"* "$dir/disk/repro-bin/" 2>/dev/null || true
  mkfs.ext4 -q -F -d "$dir/disk" "$img"
  vm_repro_words=(mmapconf_repro_bins=/tmp/repro-bin mmapconf_repro_out=/tmp/repro.json)
}

# vm_repro_collect SCRATCH RUNDIR: after the run's boot, copies repro.json off the disk into
# RUNDIR and compares it with the run's results.json (with $MMAPCONF_HOST_BIN, an mmapconf
# that runs on this host, else the guest's binary if it does).
vm_repro_collect() {
  local scratch=$1 rundir=$2 img=$1/tmp.ext4 host_bin=${MMAPCONF_HOST_BIN:-$bin}
  [ ${#vm_repro_words[@]} -gt 0 ] || return 0
  rm -f "$rundir/repro.json" "$rundir/repro-compare.txt"
  e2fsck -p "$img" >/dev/null 2>&1 || true
  debugfs -R "dump /repro.json $rundir/repro.json" "$img" >/dev/null 2>&1 || true
  if ! [ -s "$rundir/repro.json" ]; then
    rm -f "$rundir/repro.json"
    echo "$runner: $(basename "$rundir"): the reproducers left no repro.json: $(grep -a 'mmapconf init: .*reproducers\|cannot write' "$rundir/console.log" | tail -1)"
    return 0
  fi
  if ! "$host_bin" --version >/dev/null 2>&1; then
    echo "$runner: $(basename "$rundir"): repro.json written; no mmapconf that runs here to compare it (set MMAPCONF_HOST_BIN)"
    return 0
  fi
  repro_compare "$rundir" "$host_bin"
}

repro_on() {
  local rundir=$1 arch=$2 via=$3 name scratch rc
  shift 3
  name=$(basename "$rundir")
  [ "${MMAPCONF_REPRO:-1}" != 0 ] || return 0
  scratch=$outdir/.repro/$name
  rm -rf "$scratch"
  repro_build "$scratch" "$arch" "$@" || return 0
  local via_args=()
  [ -z "$via" ] || via_args=(--via "$via")
  set +e
  timeout -k 5 600 "$@" repro --run-bins "$scratch/bin" "${via_args[@]}" "${repro_args[@]}" \
    --out "$rundir/repro.json" >"$scratch/run.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    echo "$runner: $name: repro --run-bins exited $rc: $(tail -1 "$scratch/run.log")"
    return 0
  fi
  repro_compare "$rundir" "$@"
  rm -rf "$scratch"
}
