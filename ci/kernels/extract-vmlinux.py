#!/usr/bin/env python3
"""Extracts the uncompressed ELF kernel (vmlinux) from an x86 bzImage (vmlinuz).

usage: extract-vmlinux.py VMLINUZ OUT

The x86 boot protocol's setup header says where the compressed payload is (payload_offset
and payload_length, boot protocol 2.08+); its first bytes say how it is compressed (xz,
gzip or zstd; zstd through the zstd command). QEMU boots the result through PVH when it
has the Xen PHYS32_ENTRY note (CONFIG_PVH), which the caller checks with readelf -n.
"""
import gzip
import lzma
import struct
import subprocess
import sys
import zlib


def payload(img):
    if img[0x202:0x206] != b"HdrS":
        sys.exit("not a bzImage: no HdrS boot header")
    version = struct.unpack_from("<H", img, 0x206)[0]
    if version < 0x208:
        sys.exit(f"boot protocol {version:#x} has no payload fields")
    setup_sects = img[0x1F1] or 4
    start = (setup_sects + 1) * 512
    off, length = struct.unpack_from("<II", img, 0x248)
    return img[start + off : start + off + length]


def decompress(data):
    if data.startswith(b"\xfd7zXZ\x00"):
        # The payload carries the uncompressed size after the stream; one stream is read.
        d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=None)
        return d.decompress(data)
    if data.startswith(b"\x1f\x8b"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        # zstd's frame is followed by the 4-byte size; zstd -d ignores neither, so cut it.
        return subprocess.run(["zstd", "-dcq"], input=data[:-4], stdout=subprocess.PIPE,
                              check=True).stdout
    sys.exit(f"unknown compression, payload starts {data[:6].hex()}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        img = f.read()
    elf = decompress(payload(img))
    if not elf.startswith(b"\x7fELF"):
        sys.exit("the decompressed payload is not an ELF file")
    with open(sys.argv[2], "wb") as f:
        f.write(elf)


if __name__ == "__main__":
    main()
