#!/usr/bin/env python3
"""Writes a gzip-compressed cpio (newc) initramfs for the ci/kernels/ VM runners.

usage: mkinitramfs.py OUT.cpio.gz INIT [DIR]

The archive holds /init (the file INIT, mode 0755), the mount points /proc /sys /dev /tmp,
a /dev/console character device (5, 1) so that the kernel can give init its standard
streams before anything mounts devtmpfs (written into the archive, no mknod on the host),
and the contents of DIR if given. Owner root, times zero: the archive depends only on its
inputs.
"""
import gzip
import os
import stat
import sys


def entry(out, ino, name, mode, data=b"", rdev=(0, 0), nlink=1):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    dest, init = sys.argv[1], sys.argv[2]
    extra = sys.argv[3] if len(sys.argv) == 4 else None
    with open(dest, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0
    ) as out:
        ino = 1
        for d in ("dev", "proc", "sys", "tmp"):
            entry(out, ino, d, stat.S_IFDIR | (0o1777 if d == "tmp" else 0o755), nlink=2)
            ino += 1
        entry(out, ino, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        ino += 1
        with open(init, "rb") as f:
            entry(out, ino, "init", stat.S_IFREG | 0o755, f.read())
        ino += 1
        if extra:
            for top, dirs, files in os.walk(extra):
                dirs.sort()
                for n in sorted(dirs) + sorted(files):
                    path = os.path.join(top, n)
                    rel = os.path.relpath(path, extra)
                    st = os.lstat(path)
                    if stat.S_ISDIR(st.st_mode):
                        entry(out, ino, rel, stat.S_IFDIR | 0o755, nlink=2)
                    elif stat.S_ISREG(st.st_mode):
                        with open(path, "rb") as f:
                            entry(out, ino, rel, stat.S_IFREG | (st.st_mode & 0o777), f.read())
                    ino += 1
        entry(out, 0, "TRAILER!!!", 0)


if __name__ == "__main__":
    main()
