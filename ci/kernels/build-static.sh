#!/usr/bin/env bash
# Builds a statically linked mmapconf, cases built in, for x86_64 (default), aarch64 or
# riscv64 Linux, so that it runs as init in a VM or UML with nothing else in the root, or
# drops into an emulator's image, and prints the binary's path
# (target/<triple>/release/mmapconf, or under $CARGO_TARGET_DIR) on its last line of
# standard output.
# Usage: ci/kernels/build-static.sh [x86_64|aarch64|riscv64] [musl|gnu]
#   The C library: glibc with +crt-static by default. `musl` (x86_64 and aarch64 only:
#   rustup has no riscv64 musl std) builds, but musl's mprotect wrapper rounds an unaligned
#   address down itself, so mprotect.basic.unaligned-address-fails-with-einval then tests
#   musl rather than the kernel (measured under qemu-user 7.2: ok instead of EINVAL).
# Needs: a Rust toolchain with rustup (adds the target if missing); for a cross build,
# Debian's gcc-<arch>-linux-gnu (and for glibc its libc6-dev-<arch>-cross), installed with
# apt-get as root when missing, as the linker.
# Exit status: 0 when the binary was built and is static; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

arch=${1:-x86_64}
libc=${2:-gnu}
usage="usage: $0 [x86_64|aarch64|riscv64|powerpc64le|s390x|i686|armv7] [musl|gnu]"
# rarch: Rust's name of the arch; gnu: Debian's cross triple (gcc and /usr/<gnu>/lib);
# debarch: Debian's architecture name for libc6-dev-<debarch>-cross.
abi=gnu
case $arch in
  x86_64) rarch=x86_64 gnu=x86_64-linux-gnu debarch=amd64 ;;
  aarch64) rarch=aarch64 gnu=aarch64-linux-gnu debarch=arm64 ;;
  riscv64) rarch=riscv64gc gnu=riscv64-linux-gnu debarch=riscv64 libc=gnu ;;
  powerpc64le) rarch=powerpc64le gnu=powerpc64le-linux-gnu debarch=ppc64el libc=gnu ;;
  s390x) rarch=s390x gnu=s390x-linux-gnu debarch=s390x libc=gnu ;;
  i686) rarch=i686 gnu=i686-linux-gnu debarch=i386 ;;
  armv7) rarch=armv7 gnu=arm-linux-gnueabihf debarch=armhf abi=gnueabihf libc=gnu ;;
  *) echo "$usage" >&2; exit 1 ;;
esac
case $libc in
  musl | gnu) ;;
  *) echo "$usage" >&2; exit 1 ;;
esac
[ "$abi" = gnueabihf ] || abi=$libc
triple=$rarch-unknown-linux-$abi

if ! rustup target list --installed | grep -xe "$triple" >/dev/null; then
  rustup target add "$triple" >&2
fi
if [ "$gnu" != "$(uname -m)-linux-gnu" ]; then
  # Cross build: Debian's cross gcc links; for glibc against its static libc.a, for musl
  # against the crt objects and libc.a that Rust's musl std carries itself.
  pkgs=(gcc-$gnu)
  [ "$libc" = gnu ] && pkgs+=(libc6-dev-$debarch-cross)
  if ! command -v "$gnu-gcc" >/dev/null ||
     { [ "$libc" = gnu ] && ! [ -e "/usr/$gnu/lib/libc.a" ]; }; then
    apt-get install -y "${pkgs[@]}" >&2 ||
      { apt-get update >&2 && apt-get install -y "${pkgs[@]}" >&2; }
  fi
  var=CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_LINKER
  export "$var=$gnu-gcc"
fi

# Cargo's output goes to stderr so that stdout is only the path.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --target "$triple" >&2

# CARGO_TARGET_DIR, when set, moves the output as it does for cargo.
bin=$(readlink -f "${CARGO_TARGET_DIR:-target}")/$triple/release/mmapconf
# Static binaries are "static-pie linked" or "statically linked" to file(1).
if ! file -L "$bin" | grep -E 'static(-pie)? linked|statically linked' >/dev/null; then
  echo "error: $bin is not statically linked: $(file -L "$bin")" >&2
  exit 1
fi
echo "$bin"
