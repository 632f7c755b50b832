#!/usr/bin/env bash
# Builds a statically linked mmapconf (glibc, +crt-static) for x86_64 (default) or aarch64,
# so that it runs as init in a VM or UML with nothing else in the root, and prints the
# binary's path (target/<triple>/release/mmapconf, or under $CARGO_TARGET_DIR) on its
# last line of standard output.
# Needs: a Rust toolchain with rustup (adds the target if missing); for aarch64,
# Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (installed with apt-get as root
# when missing) as the linker and C library.
# Exit status: 0 when the binary was built and is static; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

arch=${1:-x86_64}
case $arch in
  x86_64 | aarch64) ;;
  *) echo "usage: $0 [x86_64|aarch64]" >&2; exit 1 ;;
esac
triple=$arch-unknown-linux-gnu

if ! rustup target list --installed | grep -xe "$triple" >/dev/null; then
  rustup target add "$triple" >&2
fi
if [ "$arch" = aarch64 ] && [ "$(uname -m)" != aarch64 ]; then
  # Cross build: Debian's cross gcc links, against the arm64 cross glibc (static libc.a).
  if ! command -v aarch64-linux-gnu-gcc >/dev/null ||
     ! [ -e /usr/aarch64-linux-gnu/lib/libc.a ]; then
    apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross >&2
  fi
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
fi

# Cargo's output goes to stderr so that stdout is only the path.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --target "$triple" >&2

# CARGO_TARGET_DIR, when set, moves the output as it does for cargo.
bin=$(readlink -f "${CARGO_TARGET_DIR:-target}")/$triple/release/mmapconf
# glibc's static binaries are "static-pie linked" or "statically linked" to file(1).
if ! file -L "$bin" | grep -E 'static(-pie)? linked|statically linked' >/dev/null; then
  echo "error: $bin is not statically linked: $(file -L "$bin")" >&2
  exit 1
fi
echo "$bin"
