#!/usr/bin/env python3
"""Copies the named kernel modules and those they depend on, in load order, for an
initramfs that loads them with insmod.

usage: modules.py MODDIR DEST NAME...

MODDIR is an unpacked lib/modules/<release>/ of a kernel package (no modules.dep: depmod
never ran on it). Each module's dependencies come from the `depends=` string of its
.modinfo section. Modules are written to DEST uncompressed (.ko; the package may ship
.ko.xz, .ko.zst or .ko.gz), and DEST/order lists their file names, dependencies first.
A name built into the kernel (modules.builtin) is left out; an unknown one is an error.
Prints the module names in load order.
"""
import gzip
import lzma
import os
import re
import subprocess
import sys

SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def norm(name):
    return name.replace("-", "_")


def module_name(filename):
    for s in SUFFIXES:
        if filename.endswith(s):
            return norm(filename[: -len(s)])
    return None


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dcq"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    moddir, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    files = {}
    for top, _, names in os.walk(os.path.join(moddir, "kernel")):
        for n in names:
            m = module_name(n)
            if m:
                files[m] = os.path.join(top, n)
    builtin = set()
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            builtin = {module_name(os.path.basename(line.strip())) for line in f}
    except OSError:
        pass
    order, seen = [], set()

    def visit(name):
        name = norm(name)
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in files:
            sys.exit(f"no module {name} in {moddir}")
        data = read_module(files[name])
        m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
        for dep in m.group(1).decode().split(",") if m else []:
            if dep:
                visit(dep)
        with open(os.path.join(dest, name + ".ko"), "wb") as f:
            f.write(data)
        order.append(name)

    os.makedirs(dest, exist_ok=True)
    for w in wanted:
        visit(w)
    with open(os.path.join(dest, "order"), "w") as f:
        f.write("".join(n + ".ko\n" for n in order))
    print(" ".join(order))


if __name__ == "__main__":
    main()
