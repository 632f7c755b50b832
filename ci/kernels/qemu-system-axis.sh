#!/usr/bin/env bash
# Boots a Debian kernel of another architecture or configuration in qemu-system under TCG
# with the static mmapconf as PID 1 of an initramfs (as qemu-system.sh does for x86_64),
# and writes OUTDIR/qemu-system-<kernel release>-<axis>/results.json. The matrix's axes
# beyond 4 KiB little-endian x86_64 and 16 KiB arm64:
#   ppc64el      64 KiB pages: Debian's ppc64el 64k kernel, -M pseries,x-vof=on (VOF, not SLOF)
#   s390x        big-endian: Debian's s390x kernel, -M s390-ccw-virtio
#   riscv64      Debian's riscv64 kernel, -M virt with OpenSBI: the CPU's widest paging
#   riscv64-sv48 the same kernel with no5lvl (4 levels, sv48)
#   riscv64-sv39 the same kernel with no4lvl (3 levels, sv39)
#   armhf        32-bit arm: Debian's armmp-lpae kernel, -M virt -cpu cortex-a15
#   amd64-la57   5-level paging: Debian's amd64 kernel booted from its bzImage (its
#                decompressor enables LA57; PVH entry of the vmlinux stays at 4 levels)
#                with -cpu max (la57)
#   amd64-4lvl   the 4-level control: the same, -cpu max,-la57
#   amd64-ia32   32-bit compat: Debian's amd64 kernel with an i686 binary as init
#   amd64-unstable, amd64-experimental
#                the newest kernels: Debian unstable's amd64 kernel (7.2) and
#                experimental's (7.3 rc), 4-level paging
# Usage: ci/kernels/qemu-system-axis.sh AXIS BINARY OUTDIR
#   BINARY: a static mmapconf for the axis's arch (build-static.sh ARCH).
# Needs: root for apt-get (qemu-system-*, e2fsprogs, python3, opensbi for riscv64);
# Debian's archive for the kernel and a static busybox of the arch (fetch-newer.sh:
# KERNEL_SUITE, default per axis below; unpacked under target/, never installed).
# Optional env: KERNEL_DEB=path (another kernel .deb), KERNEL_SUITE=suite for
# fetch-newer.sh, MMAPCONF_GUEST_FILES=DIR (testing aid).
# Exit status: mmapconf's verdict (0, 1), 125 when the VM produced no whole results
# document, 77 (skip) when something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runner=qemu-system-axis
. "$here/lib.sh"
[ $# -eq 3 ] || { echo "usage: $0 AXIS BINARY OUTDIR" >&2; exit 64; }
axis=$1
shift
runner="qemu-system-$axis"
runner_args "$@"
cache=$here/../../target/kernels-cache
mkdir -p "$cache"
cache=$(readlink -f "$cache")
seed_downloads kernels-cache

# Per axis: the binary's ELF machine, qemu, its package, the kernel metapackage and suite,
# busybox's arch, the reproducers' arch (repro_pick_cc's name for the binary's), the
# console, the results device and the machine's arguments. The
# results channel is a second console the kernel has built in (hvc1 of spapr-vty, a virtio
# console, or the second 8250 UART).
extra=() kopts='' virtio=pci timeout=150 kimage=vmlinuz
case $axis in
  ppc64el)
    elf='64-bit LSB.*PowerPC' qemu=qemu-system-ppc64 qpkg=qemu-system-ppc rarch=powerpc64le
    kpkg=linux-image-powerpc64le-64k:ppc64el ksuite=unstable bbarch=ppc64el
    console=hvc0 results=/dev/hvc1 kimage=vmlinux
    machine=(-M pseries,x-vof=on -cpu power9 -smp 1)
    ;;
  s390x)
    elf='64-bit MSB.*S/390' qemu=qemu-system-s390x qpkg=qemu-system-s390x rarch=s390x
    kpkg=linux-image-s390x:s390x ksuite=unstable bbarch=s390x
    console=ttysclp0 results=/dev/hvc0 virtio=ccw
    machine=(-M s390-ccw-virtio -cpu max -smp 1)
    ;;
  riscv64 | riscv64-sv48 | riscv64-sv39)
    elf='RISC-V' qemu=qemu-system-riscv64 qpkg=qemu-system-misc rarch=riscv64
    kpkg=linux-image-riscv64:riscv64 ksuite=trixie-main bbarch=riscv64
    console=ttyS0 results=/dev/hvc0 kimage=vmlinux
    machine=(-M virt -cpu rv64 -smp 2 -bios default)
    case $axis in riscv64-sv48) kopts=no5lvl ;; riscv64-sv39) kopts=no4lvl ;; esac
    ;;
  armhf)
    elf='32-bit LSB.*ARM' qemu=qemu-system-arm qpkg=qemu-system-arm rarch=armv7
    kpkg=linux-image-armmp-lpae:armhf ksuite=trixie-main bbarch=armhf
    console=ttyAMA0 results=/dev/hvc0
    machine=(-M virt,highmem=off -cpu cortex-a15 -smp 2)
    ;;
  amd64-la57 | amd64-4lvl | amd64-ia32 | amd64-unstable | amd64-experimental)
    elf='x86-64' qemu=qemu-system-x86_64 qpkg=qemu-system-x86 rarch=x86_64
    kpkg=linux-image-amd64 ksuite=bookworm bbarch=amd64
    console=ttyS0 results=/dev/ttyS1 timeout=180
    machine=(-cpu max -smp 2)
    case $axis in
      amd64-4lvl) machine=(-cpu max,-la57 -smp 2) ;;
      amd64-ia32) elf='32-bit LSB.*Intel 80386' rarch=i686 ;;
      # The newest kernels Debian ships, 4-level as this machine: unstable's release and
      # experimental's release candidate (the metapackage there names linux-image-7.x).
      amd64-unstable) ksuite=unstable machine=(-cpu max,-la57 -smp 2) ;;
      amd64-experimental) ksuite=experimental machine=(-cpu max,-la57 -smp 2) ;;
    esac
    ;;
  *) echo "$0: unknown axis $axis" >&2; exit 64 ;;
esac
ksuite=${KERNEL_SUITE:-$ksuite}

file -L "$bin" | grep -e "$elf" >/dev/null || skip "$bin is not a binary for $axis ($elf)"
need_init "$bin"
need_pkgs "$qemu:$qpkg" python3:python3 mkfs.ext4:e2fsprogs
[ "$axis" = "${axis#riscv64}" ] || [ -e /usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin ] ||
  need_pkgs /usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin:opensbi
qver=$("$qemu" --version | awk 'NR == 1 {print $4}')

if [ -n "${KERNEL_DEB:-}" ]; then
  deb=$(readlink -f "$KERNEL_DEB")
  [ -s "$deb" ] || skip "no $KERNEL_DEB"
else
  deb=$(FETCH_SUITE=$ksuite "$here/fetch-newer.sh" --deb "$kpkg" 2>/dev/null | tail -1) &&
    [ -s "$deb" ] || skip "cannot fetch $kpkg from Debian $ksuite: $deb"
fi
kernel_unpack "$deb" "$cache"
image=$kdir/pkg/boot/$kimage-$krel
[ -s "$image" ] || image=$kdir/pkg/usr/lib/modules/$krel/vmlinuz
[ -s "$image" ] || skip "the kernel package has no /boot/$kimage-$krel or modules/$krel/vmlinuz"
# 8250 UARTs on x86 are built in; the others need a built-in virtio or hypervisor console.
case $results in
  /dev/hvc*) grep -qx 'CONFIG_\(VIRTIO_CONSOLE\|HVC_CONSOLE\)=y' "$kconfig" ||
    skip "the kernel $krel has no built-in console for the results ($results)" ;;
esac
busybox=
if d=$("$here/fetch-newer.sh" "busybox-static:$bbarch" 2>/dev/null | tail -1); then
  busybox=$d/usr/bin/busybox
fi
# The ia32 binary cannot run busybox's insmod shim of another arch: the modules need an
# amd64 busybox, the host's (static) one.
if [ "$axis" = amd64-ia32 ] || [ -z "$busybox" ] && [ "$bbarch" = amd64 ]; then
  need_pkgs busybox:busybox-static
  busybox=$(command -v busybox)
fi

name=qemu-system-$krel-$axis
run=$outdir/$name
rm -rf "$run"
mkdir -p "$run"
scratch=$(mktemp -d -p "$outdir" ".$name.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The s390x machine has no PCI: virtio on the channel subsystem (built into Debian's
# s390x kernel, so no virtio_pci module either).
if [ "$virtio" = ccw ]; then vm_modules="VIRTIO_BLK:virtio_blk CRYPTO_CRC32C:crc32c_generic EXT4_FS:ext4"; fi
# Debian's s390x 7.2 kernel oopses in ext4_mb_new_blocks under qemu 7.2's TCG at the
# first file case (kernel pointer dereference; seen 2026-12-02): /tmp stays a tmpfs.
[ "$axis" = s390x ] && vm_tmpfs_why="ext4 on virtio-blk oopsed this kernel under TCG (ext4_mb_new_blocks)"
vm_init_arch=
[ "$axis" = amd64-ia32 ] && vm_init_arch=x86-64
vm_initramfs "$bin" "$busybox" "$scratch"
[ "$virtio" = ccw ] && vm_disk=("${vm_disk[@]/virtio-blk-pci/virtio-blk-ccw}")
page=$(sed -n 's/^CONFIG_\(PPC_\|ARM64_\)\?\([0-9]*K\)_PAGES=y/\2/p' "$kconfig" | head -1)
under="$qemu $qver TCG ${machine[*]}, Debian kernel $krel ($kver${page:+, $page pages}${kopts:+, $kopts}), $vm_tmp_under"

# results_dev FILE: QEMU's arguments for the results channel into FILE.
results_dev() {
  case $axis in
    ppc64el | amd64-*) results_dev=(-serial "file:$1") ;;
    *) results_dev=(-device "virtio-serial-$virtio" -chardev "file,id=results,path=$1"
                    -device virtconsole,chardev=results) ;;
  esac
}

# As in qemu-system.sh: every word has '=' or is the kernel's own; panic=-1 + -no-reboot.
cmdline="console=$console rdinit=/init panic=-1 $kopts mmapconf_results=$results ${vm_tmp_env[*]}"
cmdline+=" mmapconf_under=\"$under\""
# vm_boot TIMEOUT CONSOLE RESULTS WORDS...: one boot, WORDS added to the command line.
vm_boot() {
  local t=$1 con=$2
  results_dev "$3"
  shift 3
  timeout -k 5 "$t" "$qemu" -accel tcg "${machine[@]}" -m 1024 -no-reboot -nographic \
    -kernel "$image" -initrd "$scratch/initrd.gz" -append "$cmdline${*:+ $*}" "${vm_disk[@]}" \
    -serial "file:$con" "${results_dev[@]}" \
    -monitor none -nic none </dev/null
}
gen_boot() { vm_boot "$timeout" "$scratch/gen-console.log" "$scratch/gen-results" "$@"; }
vm_repro_gen "$scratch" "$rarch" gen_boot
limit=$((timeout + ${#vm_repro_words[@]} * 250))
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
