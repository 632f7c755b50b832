#!/usr/bin/env bash
# Boots Debian's 16 KiB-page arm64 kernel (default: trixie's linux-image-arm64-16k) in
# qemu-system-aarch64 (-M virt -cpu max, TCG) with the static aarch64 mmapconf as PID 1 of
# an initramfs, and writes OUTDIR/qemu-system-<kernel release>-aarch64/results.json: a
# real kernel whose page size is not 4 KiB.
# Usage: ci/kernels/qemu-system-aarch64.sh BINARY OUTDIR
#   BINARY: a static aarch64 mmapconf with PID-1 mode (build-static.sh aarch64).
# Needs: root for apt-get (qemu-system-arm, e2fsprogs, python3); Debian's archive for the
# kernel and an arm64 busybox-static, fetched from trixie by fetch-newer.sh into target/
# (unpacked, never installed); about 600 MiB under OUTDIR. No KVM.
# How: the arm64 vmlinuz is an uncompressed Image, booted directly (-kernel). The virt
# machine has one PL011 UART (ttyAMA0, the console, into OUTDIR/<run>/console.log); the
# results come over a second channel, a virtio console (hvc0, -device virtconsole on a
# virtio-serial-pci bus, into a file), which needs CONFIG_VIRTIO_CONSOLE=y (it is in
# Debian's arm64 kernels). /tmp is an ext4 image on virtio-blk (vm_initramfs in lib.sh).
# Optional env: KERNEL_DEB=path (another arm64 linux-image .deb), QEMU_SYSTEM=path
# (another qemu-system-aarch64), MMAPCONF_GUEST_FILES=DIR (testing aid).
# Exit status: mmapconf's verdict from the results (0 all pass, 1 some case failed), 125
# when the VM produced no whole results document, 77 (skip) when something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runner='qemu-system-aarch64'
. "$here/lib.sh"
runner_args "$@"
cache=$here/../../target/kernels-cache
mkdir -p "$cache"
cache=$(readlink -f "$cache")
seed_downloads kernels-cache

file -L "$bin" | grep -e 'aarch64' >/dev/null || skip "$bin is not an aarch64 binary"
need_init "$bin"
qemu=${QEMU_SYSTEM:-qemu-system-aarch64}
if [ -z "${QEMU_SYSTEM:-}" ]; then need_pkgs qemu-system-aarch64:qemu-system-arm; fi
need_pkgs python3:python3 mkfs.ext4:e2fsprogs
command -v "$qemu" >/dev/null || skip "no $qemu"
qver=$("$qemu" --version | awk 'NR == 1 {print $4}')

if [ -n "${KERNEL_DEB:-}" ]; then
  deb=$(readlink -f "$KERNEL_DEB")
  [ -s "$deb" ] || skip "no $KERNEL_DEB"
else
  deb=$("$here/fetch-newer.sh" --deb linux-image-arm64-16k:arm64 2>/dev/null | tail -1) ||
    skip "cannot fetch linux-image-arm64-16k from Debian trixie: $deb"
fi
kernel_unpack "$deb" "$cache"
image=$kdir/pkg/boot/vmlinuz-$krel
file -L "$image" | grep -e 'ARM64 boot executable Image' >/dev/null ||
  skip "$image is not an arm64 Image (compressed or EFI zboot: not handled)"
grep -qx CONFIG_VIRTIO_CONSOLE=y "$kconfig" ||
  skip "the kernel $krel has no built-in virtio console (CONFIG_VIRTIO_CONSOLE) for the results"
page=$(grep -o '^CONFIG_ARM64_[0-9]*K_PAGES=y' "$kconfig" | sed 's/CONFIG_ARM64_\([0-9]*K\)_PAGES=y/\1/')
busybox=
if d=$("$here/fetch-newer.sh" busybox-static:arm64 2>/dev/null | tail -1); then
  busybox=$d/usr/bin/busybox
fi

name=qemu-system-$krel-aarch64
run=$outdir/$name
rm -rf "$run"
mkdir -p "$run"
scratch=$(mktemp -d -p "$outdir" .qemu-system-aarch64.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

vm_initramfs "$bin" "$busybox" "$scratch"
under="qemu-system-aarch64 $qver TCG -M virt -cpu max, Debian kernel $krel ($kver, ${page:-?} pages), $vm_tmp_under"

# As in qemu-system.sh: every word has '=' or is the kernel's own; panic=-1 + -no-reboot.
cmdline="console=ttyAMA0 rdinit=/init panic=-1 mmapconf_results=/dev/hvc0 ${vm_tmp_env[*]}"
cmdline+=" mmapconf_under=\"$under\""
# vm_boot TIMEOUT CONSOLE RESULTS WORDS...: one boot, WORDS added to the command line.
vm_boot() {
  local t=$1 con=$2 res=$3
  shift 3
  timeout -k 5 "$t" "$qemu" -M virt -accel tcg -cpu max -m 1024 -smp 2 -no-reboot -nographic \
    -kernel "$image" -initrd "$scratch/initrd.gz" -append "$cmdline${*:+ $*}" "${vm_disk[@]}" \
    -serial "file:$con" \
    -device virtio-serial-pci -chardev "file,id=results,path=$res" \
    -device virtconsole,chardev=results \
    -monitor none -nic none </dev/null
}
gen_boot() { vm_boot 150 "$scratch/gen-console.log" "$scratch/gen-results" "$@"; }
vm_repro_gen "$scratch" aarch64 gen_boot
limit=$((150 + ${#vm_repro_words[@]} * 200))
start=$(now)
set +e
vm_boot "$limit" "$run/console.log" "$run/results.json" "${vm_repro_words[@]}"
qrc=$?
set -e
took=$(since "$start")
boot=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$run/console.log" | head -1)
echo "$runner: $name: qemu exited $qrc after ${took}s (init started at ${boot:-?}s guest time)"
if [ "$qrc" = 124 ]; then
  echo "$runner: timed out after $limit s; last console lines:"
  tail -5 "$run/console.log"
fi
vm_repro_collect "$scratch" "$run"
finish "$run/results.json"
