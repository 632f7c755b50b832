#!/usr/bin/env python3
"""Copies an x86_64 ELF executable, naming another program interpreter (PT_INTERP).

usage: set-interp.py IN OUT INTERP

INTERP must fit in the old one's space. uml.sh uses a relative INTERP
(lib64/ld-linux-x86-64.so.2, resolved by the kernel from the current directory) to run a
linux.uml built against a newer glibc with that glibc's loader.
"""
import os
import struct
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, interp = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    with open(src, "rb") as f:
        elf = bytearray(f.read())
    if elf[:5] != b"\x7fELF\x02":
        sys.exit(f"{src}: not a 64-bit ELF file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, off, _, _, size = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP: a NUL-terminated path of `size` bytes
            if len(interp) >= size:
                sys.exit(f"{interp!r} does not fit in {size - 1} bytes")
            elf[off:off + size] = interp + bytes(size - len(interp))
            break
    else:
        sys.exit(f"{src}: no PT_INTERP (not dynamically linked)")
    with open(dst, "wb") as f:
        f.write(elf)
    os.chmod(dst, 0o755)


if __name__ == "__main__":
    main()
