#!/usr/bin/env bash
# Boots a Debian kernel (default: Debian 12's, the linux-image-amd64 dependency) in
# qemu-system-x86_64 under TCG with the static mmapconf as PID 1 of an initramfs, and
# writes OUTDIR/qemu-system-<kernel release>-x86_64/results.json.
# Usage: ci/kernels/qemu-system.sh BINARY OUTDIR
#   BINARY: a static x86_64 mmapconf with PID-1 mode (ci/kernels/build-static.sh).
# Needs: root for apt-get (qemu-system-x86, busybox-static, e2fsprogs, python3, binutils),
# Debian's archive for `apt-get download` of the kernel package (kept in
# target/kernels-cache/, unpacked with dpkg-deb -x, never installed), about 600 MiB under
# OUTDIR. No KVM: TCG, -cpu max.
# How: the bzImage's payload is decompressed to vmlinux (extract-vmlinux.py) and booted
# through PVH (-kernel vmlinux: no real-mode setup or in-guest decompression under TCG).
# The initramfs (mkinitramfs.py) holds /init and /dev/console; /tmp is an ext4 image on
# virtio-blk, its modules loaded by a busybox shim (vm_initramfs in lib.sh). The console
# is ttyS0, into OUTDIR/<run>/console.log; results.json comes over ttyS1 into a file.
# The C reproducers (MMAPCONF_REPRO=0: not): a first boot writes them onto the /tmp disk
# and the run's boot runs them (vm_repro_gen and vm_repro_collect in lib.sh), into
# OUTDIR/<run>/repro.json and repro-compare.txt.
# Optional env: KERNEL_DEB=path (a linux-image-*.deb to boot instead, e.g. trixie's from
# fetch-newer.sh --deb linux-image-amd64), QEMU_SYSTEM=path (another qemu-system-x86_64),
# MMAPCONF_GUEST_FILES=DIR (files copied into the initramfs as well; a testing aid).
# Exit status: mmapconf's verdict from the results (0 all pass, 1 some case failed), 125
# when the VM produced no whole results document, 77 (skip) when something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runner='qemu-system'
. "$here/lib.sh"
runner_args "$@"
cache=$here/../../target/kernels-cache
mkdir -p "$cache"
cache=$(readlink -f "$cache")
seed_downloads kernels-cache

file -L "$bin" | grep -e 'x86-64' >/dev/null || skip "$bin is not an x86_64 binary"
need_init "$bin"
qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
if [ -z "${QEMU_SYSTEM:-}" ]; then need_pkgs qemu-system-x86_64:qemu-system-x86; fi
need_pkgs python3:python3 mkfs.ext4:e2fsprogs readelf:binutils busybox:busybox-static
command -v "$qemu" >/dev/null || skip "no $qemu"
qver=$("$qemu" --version | awk 'NR == 1 {print $4}')

# The kernel package: the one linux-image-amd64 depends on, downloaded once.
if [ -n "${KERNEL_DEB:-}" ]; then
  deb=$(readlink -f "$KERNEL_DEB")
  [ -s "$deb" ] || skip "no $KERNEL_DEB"
else
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || skip "apt-cache knows no linux-image-amd64 (run apt-get update)"
  deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download -q "$pkg" >&2 2>/dev/null) || skip "cannot apt-get download $pkg"
    deb=$(ls "$cache/${pkg}"_*.deb | head -1)
  fi
fi
kernel_unpack "$deb" "$cache"
if ! [ -s "$kdir/vmlinux" ]; then
  python3 "$here/extract-vmlinux.py" "$kdir/pkg/boot/vmlinuz-$krel" "$kdir/vmlinux.part"
  mv "$kdir/vmlinux.part" "$kdir/vmlinux"
fi
# PVH entry: a Xen note of type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY).
readelf -n "$kdir/vmlinux" | grep -e 'Xen.*(0x00000012)' >/dev/null ||
  skip "the kernel $krel has no PVH entry note (CONFIG_PVH), QEMU cannot boot its vmlinux"

name=qemu-system-$krel-x86_64
run=$outdir/$name
rm -rf "$run"
mkdir -p "$run"
scratch=$(mktemp -d -p "$outdir" .qemu-system.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

vm_initramfs "$bin" "$(command -v busybox || true)" "$scratch"
under="qemu-system-x86_64 $qver TCG -cpu max, Debian kernel $krel ($kver), $vm_tmp_under"

# Every word of the command line has '=' or is the kernel's own: a bare word would reach
# init as an argument. panic=-1 and -no-reboot end QEMU if the kernel panics (e.g. init
# exits) instead of leaving it to the timeout; -nic none skips the NIC's boot ROM.
cmdline="console=ttyS0 rdinit=/init panic=-1 mmapconf_results=/dev/ttyS1 ${vm_tmp_env[*]}"
cmdline+=" mmapconf_under=\"$under\""
# vm_boot TIMEOUT CONSOLE RESULTS WORDS...: one boot, WORDS added to the command line.
vm_boot() {
  local t=$1 con=$2 res=$3
  shift 3
  timeout -k 5 "$t" "$qemu" -accel tcg -cpu max -m 1024 -smp 2 -no-reboot -nographic \
    -kernel "$kdir/vmlinux" -initrd "$scratch/initrd.gz" -append "$cmdline${*:+ $*}" \
    "${vm_disk[@]}" -serial "file:$con" -serial "file:$res" \
    -monitor none -nic none </dev/null
}
gen_boot() { vm_boot 120 "$scratch/gen-console.log" "$scratch/gen-results" "$@"; }
vm_repro_gen "$scratch" x86_64 gen_boot
# The reproducers run after the suite: about as long again.
limit=$((120 + ${#vm_repro_words[@]} * 200))
start=$(now)
set +e
vm_boot "$limit" "$run/console.log" "$run/results.json" "${vm_repro_words[@]}"
qrc=$?
set -e
took=$(since "$start")
# Guest time (printk timestamps) when init started.
boot=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$run/console.log" | head -1)
echo "$runner: $name: qemu exited $qrc after ${took}s (init started at ${boot:-?}s guest time)"
if [ "$qrc" = 124 ]; then
  echo "$runner: timed out after $limit s; last console lines:"
  tail -5 "$run/console.log"
fi
vm_repro_collect "$scratch" "$run"
finish "$run/results.json"
