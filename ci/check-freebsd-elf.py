#!/usr/bin/env python3
"""Checks FreeBSD executables against what FreeBSD 14 and 15 provide, without FreeBSD.

For each ELF file given: it must be an x86_64 FreeBSD executable whose interpreter is
/libexec/ld-elf.so.1, whose NEEDED libraries are base-system libraries of both releases
(by soname), and whose versioned symbol references name only versions those libraries
have on FreeBSD 14.0 (the oldest release the workflow runs), e.g. FBSD_1.0..FBSD_1.7 for
libc. Reads `readelf -lhdVW` (binutils); prints each finding; exit 1 on any, 2 on bad use.

The tables: sonames and version nodes from FreeBSD's lib/libc/Versions.def (FBSD_1.7 is
14.0's, FBSD_1.8 15.0's), lib/libthr, lib/msun, lib/libgcc_s (LLVM libunwind + compiler-rt
with GCC_* nodes), and the base libraries' SHLIB_MAJOR in 14.x and 15.x.
"""
import re
import subprocess
import sys

INTERP = "/libexec/ld-elf.so.1"
# soname -> the version nodes a binary built for 14.0 may reference.
FBSD_14 = [f"FBSD_1.{n}" for n in range(8)] + ["FBSDprivate_1.0"]
GCC = ["GCC_3.0", "GCC_3.3", "GCC_3.3.1", "GCC_3.4", "GCC_3.4.2", "GCC_3.4.4", "GCC_4.0.0",
       "GCC_4.2.0", "GCC_4.3.0", "GCC_4.6.0", "GCC_7.0.0"]
ALLOWED = {
    "libc.so.7": FBSD_14,
    "libm.so.5": FBSD_14,
    "libthr.so.3": FBSD_14,
    "libpthread.so.3": FBSD_14,  # the older name of libthr, a link to it in both releases
    "librt.so.1": FBSD_14,
    "libexecinfo.so.1": FBSD_14,
    "libutil.so.9": FBSD_14,
    "libkvm.so.7": FBSD_14,
    "libprocstat.so.1": FBSD_14,
    "libgcc_s.so.1": GCC,
}


def readelf(path):
    r = subprocess.run(["readelf", "-lhdVW", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{path}: readelf failed: {r.stderr.strip()}")
    return r.stdout


def abi_note(path):
    """The __FreeBSD_version of the FreeBSD ABI note (NT_FREEBSD_ABI_TAG), if any."""
    r = subprocess.run(["readelf", "-nW", path], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        f = line.split()
        # "FreeBSD 0x00000004 NT_VERSION (version) description data: b4 5e 15 00"
        if f[:1] == ["FreeBSD"] and "NT_VERSION" in line and "data:" in f:
            data = f[f.index("data:") + 1:]
            if len(data) == 4:
                return int.from_bytes(bytes(int(b, 16) for b in data), "little")
    return None


def check(path):
    out = readelf(path)
    bad = []
    # FreeBSD's image activator takes an ELF as FreeBSD's by its OS/ABI byte or by its
    # FreeBSD ABI note (.note.tag, type 1, __FreeBSD_version): lld leaves OS/ABI System V.
    osrel = abi_note(path)
    if not re.search(r"OS/ABI:\s+UNIX - FreeBSD", out) and osrel is None:
        bad.append("not a FreeBSD ELF (neither OS/ABI FreeBSD nor a FreeBSD ABI note)")
    if osrel is not None and not 1400000 <= osrel < 1600000:
        bad.append(f"ABI note __FreeBSD_version {osrel}, not a 14.x or 15.x one")
    if not re.search(r"Machine:\s+Advanced Micro Devices X86-64", out):
        bad.append("not x86_64")
    interp = re.search(r"\[Requesting program interpreter: ([^\]]+)\]", out)
    if not interp:
        bad.append("no program interpreter (static, or not an executable)")
    elif interp.group(1) != INTERP:
        bad.append(f"interpreter {interp.group(1)}, not {INTERP}")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    for lib in needed:
        if lib not in ALLOWED:
            bad.append(f"needs {lib}, not a base library of both FreeBSD 14 and 15")
    # Version needs: "  0x...: Version: 1  File: libc.so.7  Cnt: 3" then "Name: FBSD_1.0 ..."
    section = out.split("Version needs section", 1)
    if len(section) == 2:
        lib = None
        for line in section[1].splitlines():
            m = re.search(r"File: (\S+)", line)
            if m:
                lib = m.group(1)
                continue
            m = re.search(r"Name: (\S+)", line)
            if m and lib is not None:
                if m.group(1) not in ALLOWED.get(lib, []):
                    bad.append(f"references {lib} version {m.group(1)}, which FreeBSD 14.0 lacks")
            elif line.strip() and not line.startswith(" "):
                break
    elif needed:
        bad.append("no version needs section: symbols are unversioned (not linked against FreeBSD's libc stubs?)")
    return needed, bad


def main(paths):
    if not paths:
        print("usage: check-freebsd-elf.py ELF...", file=sys.stderr)
        return 2
    failed = 0
    for p in paths:
        needed, bad = check(p)
        if bad:
            failed += 1
            for b in bad:
                print(f"{p}: {b}")
        else:
            print(f"{p}: ok ({', '.join(needed)}; ABI note {abi_note(p)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
