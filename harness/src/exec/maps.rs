//! The `vma` step's reader: the kernel's entry for the mapping that contains an address,
//! read so that the forked child allocates nothing (async-signal-safe).
//!
//! Linux: the /proc/self/maps line, read with raw open/read into a buffer on the child's
//! stack and parsed in place. FreeBSD: the `kinfo_vmentry` records of sysctl
//! {CTL_KERN, KERN_PROC, KERN_PROC_VMMAP, pid} (sys/kern/kern_proc.c
//! sysctl_kern_proc_vmmap() -> kern_proc_vmmap_out() with KERN_VMMAP_PACK_KINFO), read with
//! the __sysctl system call into a buffer in the harness's static data (so it exists before
//! any fork) and walked by `kve_structsize`.

use crate::record::SetupCall;

/// One VMA: `[start, end)` and the permission string (`rw-p`). On FreeBSD the fourth
/// character is `p` for a copy-on-write entry and `?` where the record cannot tell (see
/// [`kve_perms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: [u8; 4],
}

/// Whether a VMA's permissions are the `want`ed ones: the same r/w/x, and the same
/// private/shared character wherever the kernel's record tells it (`?` on FreeBSD, where
/// `kinfo_vmentry` cannot tell a shared mapping from a private anonymous one, compares the
/// protection only).
pub fn perms_match(want: &[u8; 4], got: &[u8; 4]) -> bool {
    want[..3] == got[..3] && (got[3] == b'?' || want[3] == got[3])
}

/// The longest line the reader keeps whole; a longer one (a path near PATH_MAX) is read
/// for its start only, which is all the step needs.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const BUF: usize = 8192;

/// The VMA that contains `addr`, `None` when no line does, or the call that failed
/// (errno set).
#[cfg(target_os = "linux")]
pub fn vma_containing(addr: u64) -> Result<Option<Vma>, SetupCall> {
    let mut buf = [0u8; BUF];
    let mut scan = Scan::new(addr);
    // SAFETY: open, read and close of a path literal into a stack buffer.
    unsafe {
        let fd = libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(SetupCall::Open);
        }
        let mut filled = 0usize;
        loop {
            let r = libc::read(fd, buf[filled..].as_mut_ptr().cast(), BUF - filled);
            if r < 0 {
                libc::close(fd);
                return Err(SetupCall::Read);
            }
            filled += r as usize;
            let kept = scan.feed(&mut buf, filled, r == 0);
            if scan.found.is_some() || r == 0 {
                break;
            }
            filled = kept;
        }
        libc::close(fd);
    }
    Ok(scan.found)
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub fn vma_containing(_: u64) -> Result<Option<Vma>, SetupCall> {
    nix::errno::Errno::set_raw(libc::ENOSYS);
    Err(SetupCall::Read)
}

/// The offsets in a `struct kinfo_vmentry` (sys/sys/user.h, FreeBSD 12 and later; the
/// same on every architecture: two ints, then 64-bit fields, all naturally aligned) that
/// the walk reads. On FreeBSD the build checks them against libc's struct (below); the
/// unit tests build records from them on any OS.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) mod kve {
    /// `int kve_structsize`: this record's length, the packed size rounded up to 8.
    pub const STRUCTSIZE: usize = 0;
    /// `uint64_t kve_start`, `kve_end`.
    pub const START: usize = 8;
    pub const END: usize = 16;
    /// `int kve_flags` (KVME_FLAG_*).
    pub const FLAGS: usize = 44;
    /// `int kve_protection` (KVME_PROT_*).
    pub const PROTECTION: usize = 56;
    /// `char kve_path[PATH_MAX]`: what KERN_VMMAP_PACK_KINFO cuts each record down to.
    pub const PATH: usize = 136;
    /// sys/sys/user.h values.
    pub const PROT_READ: i32 = 0x1;
    pub const PROT_WRITE: i32 = 0x2;
    pub const PROT_EXEC: i32 = 0x4;
    pub const FLAG_COW: i32 = 0x1;
}

#[cfg(target_os = "freebsd")]
const _: () = {
    use core::mem::offset_of;
    use libc::kinfo_vmentry as K;
    assert!(offset_of!(K, kve_structsize) == kve::STRUCTSIZE);
    assert!(offset_of!(K, kve_start) == kve::START);
    assert!(offset_of!(K, kve_end) == kve::END);
    assert!(offset_of!(K, kve_flags) == kve::FLAGS);
    assert!(offset_of!(K, kve_protection) == kve::PROTECTION);
    assert!(offset_of!(K, kve_path) == kve::PATH);
    assert!(libc::KVME_PROT_READ == kve::PROT_READ);
    assert!(libc::KVME_PROT_WRITE == kve::PROT_WRITE);
    assert!(libc::KVME_PROT_EXEC == kve::PROT_EXEC);
    assert!(libc::KVME_FLAG_COW == kve::FLAG_COW);
};

/// A packed KERN_PROC_VMMAP buffer that does not walk: a record whose `kve_structsize` is
/// shorter than its fixed part or runs past the bytes the kernel returned.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRecord {
    /// The record's offset in the buffer.
    pub at: usize,
}

/// The permissions of one `kinfo_vmentry`, as /proc/self/maps would write them.
///
/// r, w, x: `kve_protection` (KVME_PROT_*, the entry's current protection: kern_proc.c
/// copies `entry->protection`, not its maximum). The fourth character: `p` when
/// KVME_FLAG_COW is set, `?` otherwise. FreeBSD marks an entry copy-on-write only for a
/// private mapping (vm_mmap_object() adds MAP_COPY_ON_WRITE unless MAP_SHARED or MAP_ANON)
/// and for both copies of an entry with an object that fork copies (vm_map_copy_entry());
/// a private anonymous mapping
/// before any fork is not copy-on-write (docow is 0 for MAP_ANON), and the record has no
/// other field that tells it from a shared one (kve_type is the backing object's type, and
/// anonymous memory, private or shared, has the same default or swap types). So `?` says
/// "not told", never "shared".
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub fn kve_perms(protection: i32, flags: i32) -> [u8; 4] {
    let bit = |b: i32, c: u8| if protection & b != 0 { c } else { b'-' };
    [
        bit(kve::PROT_READ, b'r'),
        bit(kve::PROT_WRITE, b'w'),
        bit(kve::PROT_EXEC, b'x'),
        if flags & kve::FLAG_COW != 0 {
            b'p'
        } else {
            b'?'
        },
    ]
}

/// Walks the packed `kinfo_vmentry` records of `buf` (what KERN_PROC_VMMAP returned,
/// exactly its length), calling `each(start, end, protection, flags)` for each until it
/// returns true. Pure: no allocation, so the child may call it.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub fn kve_walk(
    buf: &[u8],
    mut each: impl FnMut(u64, u64, i32, i32) -> bool,
) -> Result<(), BadRecord> {
    let int = |at: usize| i32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |at: usize| u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
    let mut at = 0usize;
    while at < buf.len() {
        if buf.len() - at < kve::PATH {
            return Err(BadRecord { at });
        }
        let size = int(at + kve::STRUCTSIZE);
        if size < kve::PATH as i32 || size as usize > buf.len() - at {
            return Err(BadRecord { at });
        }
        let (start, end) = (u64_at(at + kve::START), u64_at(at + kve::END));
        if each(start, end, int(at + kve::PROTECTION), int(at + kve::FLAGS)) {
            return Ok(());
        }
        at += size as usize;
    }
    Ok(())
}

/// The entry of `buf` (as [`kve_walk`] takes it) containing `addr`, `None` when none does.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub fn kve_find(buf: &[u8], addr: u64) -> Result<Option<Vma>, BadRecord> {
    let mut found = None;
    kve_walk(buf, |start, end, protection, flags| {
        if start <= addr && addr < end {
            found = Some(Vma {
                start,
                end,
                perms: kve_perms(protection, flags),
            });
        }
        found.is_some()
    })?;
    Ok(found)
}

/// Whether any page of `[addr, addr + len)` is mapped in this process: Linux mincore(2)
/// succeeds on a mapped page and fails with ENOMEM on an unmapped one (and past
/// TASK_SIZE). Elsewhere false: FreeBSD's mincore is not relied on for unmapped pages.
/// Raw system calls only, so the case's child may ask too.
pub fn mapped_in(addr: u64, len: usize, page: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut vec = [0u8; 1];
        let mut at = addr;
        let end = addr.saturating_add(len as u64);
        while at < end {
            let Ok(p) = usize::try_from(at) else {
                return false;
            };
            // SAFETY: mincore only reads page tables and writes one byte into `vec`.
            if unsafe { libc::mincore(p as *mut libc::c_void, page, vec.as_mut_ptr()) } == 0 {
                return true;
            }
            at = at.saturating_add(page as u64);
        }
        false
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (addr, len, page);
        false
    }
}

/// The FreeBSD child's buffer for KERN_PROC_VMMAP: 1 MiB of static data, so it exists
/// before any fork and the child allocates nothing. A packed record is 136 bytes and its
/// path rounded up to 8, so it holds some 7000 entries, far more than a case process has;
/// a list that outgrows it makes the sysctl fail with ENOMEM, the step's setup failure
/// (`sysctl(KERN_PROC_VMMAP) ... gave ENOMEM`), never a truncated walk.
#[cfg(target_os = "freebsd")]
pub const KVE_BUF: usize = 1 << 20;

#[cfg(target_os = "freebsd")]
struct KveBuf(core::cell::UnsafeCell<[u8; KVE_BUF]>);

// SAFETY: only a forked case child, which runs one thread, touches the buffer.
#[cfg(target_os = "freebsd")]
unsafe impl Sync for KveBuf {}

#[cfg(target_os = "freebsd")]
static KVE: KveBuf = KveBuf(core::cell::UnsafeCell::new([0; KVE_BUF]));

/// FreeBSD's __sysctl system call (sys/kern/syscalls.master 202); sysctl(3) adds only the
/// user-level CTL_USER names.
#[cfg(target_os = "freebsd")]
const SYS___SYSCTL: libc::c_int = 202;

/// The entry that contains `addr`, `None` when none does, or the call that failed (errno
/// set; EINVAL for a buffer whose records do not walk).
#[cfg(target_os = "freebsd")]
pub fn vma_containing(addr: u64) -> Result<Option<Vma>, SetupCall> {
    // SAFETY: getpid and __sysctl into the static buffer, which only this single-threaded
    // child uses; the length the kernel wrote back bounds the slice.
    unsafe {
        let mib = [
            libc::CTL_KERN,
            libc::KERN_PROC,
            libc::KERN_PROC_VMMAP,
            libc::getpid(),
        ];
        let buf = KVE.0.get().cast::<u8>();
        let mut len: libc::size_t = KVE_BUF;
        let r = libc::syscall(
            SYS___SYSCTL,
            mib.as_ptr(),
            mib.len() as libc::c_uint,
            buf,
            &mut len as *mut libc::size_t,
            core::ptr::null::<libc::c_void>(),
            0 as libc::size_t,
        );
        if r != 0 {
            return Err(SetupCall::Sysctl);
        }
        let bytes = core::slice::from_raw_parts(buf, len.min(KVE_BUF));
        kve_find(bytes, addr).map_err(|_| {
            nix::errno::Errno::set_raw(libc::EINVAL);
            SetupCall::Sysctl
        })
    }
}

/// The line-by-line scan over the chunks read, with no allocation.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Scan {
    addr: u64,
    /// Inside a line too long for the buffer, whose start was already parsed.
    skipping: bool,
    found: Option<Vma>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Scan {
    fn new(addr: u64) -> Scan {
        Scan {
            addr,
            skipping: false,
            found: None,
        }
    }

    /// Parses every whole line of `buf[..filled]` (and the last, unterminated one at the
    /// end of the file), moves the rest to the front and returns its length.
    fn feed(&mut self, buf: &mut [u8], filled: usize, eof: bool) -> usize {
        let mut i = 0;
        while i < filled && self.found.is_none() {
            let nl = buf[i..filled].iter().position(|&c| c == b'\n');
            let line_end = match nl {
                Some(n) => i + n,
                None if eof || (i == 0 && filled == buf.len()) => filled,
                None => break,
            };
            if !self.skipping {
                self.line(&buf[i..line_end]);
            }
            // A line that filled the whole buffer goes on in the next read: skip its rest.
            self.skipping = nl.is_none() && !eof;
            i = (line_end + 1).min(filled);
            if nl.is_none() {
                i = filled;
            }
        }
        let rest = filled - i;
        buf.copy_within(i..filled, 0);
        rest
    }

    fn line(&mut self, l: &[u8]) {
        if let Some(v) = parse_line(l)
            && v.start <= self.addr
            && self.addr < v.end
        {
            self.found = Some(v);
        }
    }
}

/// `START-END PERMS ...` with START and END in hex.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_line(l: &[u8]) -> Option<Vma> {
    let (start, rest) = hex(l)?;
    let rest = rest.strip_prefix(b"-")?;
    let (end, rest) = hex(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let perms: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    Some(Vma { start, end, perms })
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn hex(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    let mut n = 0;
    while n < s.len() {
        let d = match s[n] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            _ => break,
        };
        v = v.checked_mul(16)?.checked_add(d as u64)?;
        n += 1;
    }
    (n > 0).then_some((v, &s[n..]))
}

#[cfg(test)]
mod tests {
    use super::{BadRecord, Scan, Vma, kve, kve_find, parse_line, perms_match};

    const MAPS: &[u8] = b"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n\
7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n\
7ffd1a2b3000-7ffd1a2d4000 rw-p 00000000 00:00 0                          [stack]\n";

    fn scan_in_chunks(text: &[u8], addr: u64, buf_len: usize, chunk: usize) -> Option<Vma> {
        let mut buf = vec![0u8; buf_len];
        let mut scan = Scan::new(addr);
        let (mut pos, mut filled) = (0, 0);
        loop {
            let n = chunk.min(buf_len - filled).min(text.len() - pos);
            buf[filled..filled + n].copy_from_slice(&text[pos..pos + n]);
            pos += n;
            filled += n;
            let kept = scan.feed(&mut buf, filled, n == 0);
            if scan.found.is_some() || n == 0 {
                return scan.found;
            }
            filled = kept;
        }
    }

    #[test]
    fn a_line_gives_its_extent_and_permissions() {
        assert_eq!(
            parse_line(b"7f0000000000-7f0000003000 rw-p 00000000 00:00 0"),
            Some(Vma {
                start: 0x7f00_0000_0000,
                end: 0x7f00_0000_3000,
                perms: *b"rw-p"
            })
        );
        assert_eq!(parse_line(b"7f00-7f10 rw"), None);
        assert_eq!(parse_line(b"x-7f10 rw-p"), None);
        assert_eq!(parse_line(b"ffffffffffffffffff-1 rw-p"), None);
    }

    #[test]
    fn the_line_containing_the_address_is_found_whatever_the_chunks() {
        for chunk in [1, 7, 64, 4096] {
            let v = scan_in_chunks(MAPS, 0x7f00_0000_1000, 128, chunk).unwrap();
            assert_eq!(
                (v.start, v.end, &v.perms),
                (0x7f00_0000_0000, 0x7f00_0000_3000, b"rw-p")
            );
            let s = scan_in_chunks(MAPS, 0x7ffd_1a2d_3fff, 128, chunk).unwrap();
            assert_eq!(s.start, 0x7ffd_1a2b_3000);
            assert_eq!(scan_in_chunks(MAPS, 0x7f00_0000_3000, 128, chunk), None);
            assert_eq!(scan_in_chunks(MAPS, 0x1000, 128, chunk), None);
        }
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_parsed_from_its_start_and_skipped() {
        let mut text = b"1000-2000 r--p 0 0:0 0 /".to_vec();
        text.extend(std::iter::repeat_n(b'a', 300));
        text.extend(b"\n3000-5000 rw-s 0 0:0 0\n");
        for chunk in [1, 13, 64] {
            assert_eq!(
                scan_in_chunks(&text, 0x1fff, 64, chunk).unwrap().perms,
                *b"r--p"
            );
            let v = scan_in_chunks(&text, 0x4000, 64, chunk).unwrap();
            assert_eq!((v.start, v.end, &v.perms), (0x3000, 0x5000, b"rw-s"));
        }
    }

    /// One packed `kinfo_vmentry` as kern_proc_vmmap_out() writes it with
    /// KERN_VMMAP_PACK_KINFO: the fixed part up to `kve_path`, the path and its NUL, the
    /// whole rounded up to 8 bytes; the fields at the offsets of sys/sys/user.h (`kve`).
    fn record(start: u64, end: u64, protection: i32, flags: i32, path: &str) -> Vec<u8> {
        let size = (kve::PATH + path.len() + 1).div_ceil(8) * 8;
        let mut r = vec![0u8; size];
        r[kve::STRUCTSIZE..kve::STRUCTSIZE + 4].copy_from_slice(&(size as i32).to_ne_bytes());
        r[4..8].copy_from_slice(&1i32.to_ne_bytes()); // kve_type: KVME_TYPE_DEFAULT
        r[kve::START..kve::START + 8].copy_from_slice(&start.to_ne_bytes());
        r[kve::END..kve::END + 8].copy_from_slice(&end.to_ne_bytes());
        r[kve::FLAGS..kve::FLAGS + 4].copy_from_slice(&flags.to_ne_bytes());
        r[kve::PROTECTION..kve::PROTECTION + 4].copy_from_slice(&protection.to_ne_bytes());
        r[kve::PATH..kve::PATH + path.len()].copy_from_slice(path.as_bytes());
        r
    }

    const R: i32 = kve::PROT_READ;
    const W: i32 = kve::PROT_WRITE;
    const X: i32 = kve::PROT_EXEC;

    fn vmmap() -> Vec<u8> {
        let mut b = record(
            0x20_0000,
            0x21_0000,
            R | X,
            kve::FLAG_COW,
            "/usr/bin/mmapconf",
        );
        b.extend(record(0x8000_0000, 0x8000_a000, R | W, 0, ""));
        b.extend(record(0x8000_a000, 0x8000_b000, 0, 0, ""));
        b.extend(record(
            0x8001_0000,
            0x8001_2000,
            R | W,
            kve::FLAG_COW | 0x2, // KVME_FLAG_NEEDS_COPY: after a fork
            "/tmp/mmapconf-1/object-with-a-longer-name",
        ));
        b
    }

    #[test]
    fn the_entry_containing_the_address_gives_its_extent_and_permissions() {
        let b = vmmap();
        let v = kve_find(&b, 0x8000_5000).unwrap().unwrap();
        assert_eq!(
            (v.start, v.end, &v.perms),
            (0x8000_0000, 0x8000_a000, b"rw-?")
        );
        let v = kve_find(&b, 0x20_0fff).unwrap().unwrap();
        assert_eq!((v.start, v.end, &v.perms), (0x20_0000, 0x21_0000, b"r-xp"));
        let v = kve_find(&b, 0x8000_a000).unwrap().unwrap();
        assert_eq!(&v.perms, b"---?");
        let v = kve_find(&b, 0x8001_1fff).unwrap().unwrap();
        assert_eq!((v.start, &v.perms), (0x8001_0000, b"rw-p"));
    }

    #[test]
    fn an_address_no_entry_contains_gives_none() {
        let b = vmmap();
        assert_eq!(kve_find(&b, 0x8000_b000), Ok(None));
        assert_eq!(kve_find(&b, 0x1000), Ok(None));
        assert_eq!(kve_find(&b, 0x8001_2000), Ok(None));
        assert_eq!(kve_find(&[], 0x1000), Ok(None));
    }

    #[test]
    fn records_of_every_packed_length_are_walked() {
        // Paths of 0 to 20 bytes give records of 144, 152 and 160 bytes.
        let mut b = Vec::new();
        for i in 0..21u64 {
            b.extend(record(
                i << 16,
                (i << 16) + 0x1000,
                R,
                0,
                &"a".repeat(i as usize),
            ));
        }
        for i in 0..21u64 {
            assert_eq!(
                kve_find(&b, (i << 16) + 0xfff).unwrap().unwrap().start,
                i << 16
            );
        }
    }

    #[test]
    fn a_record_that_does_not_walk_is_an_error_not_a_guess() {
        let mut b = vmmap();
        let second = kve::PATH + "/usr/bin/mmapconf".len() + 1;
        let second = second.div_ceil(8) * 8;
        // kve_structsize 0 would loop forever; shorter than the fixed part, or past the
        // end of what the kernel returned, would read another record's fields.
        for bad in [0i32, 8, kve::PATH as i32 - 8, 1 << 20] {
            b[second..second + 4].copy_from_slice(&bad.to_ne_bytes());
            assert_eq!(kve_find(&b, 0x8001_0000), Err(BadRecord { at: second }));
        }
        // A buffer cut inside its last record.
        let b = vmmap();
        let last = b.len()
            - record(
                0x8001_0000,
                0x8001_2000,
                R | W,
                3,
                "/tmp/mmapconf-1/object-with-a-longer-name",
            )
            .len();
        assert_eq!(
            kve_find(&b[..b.len() - 8], 0x8001_0000),
            Err(BadRecord { at: last })
        );
        assert_eq!(
            kve_find(&b[..last + 100], 0x8001_0000),
            Err(BadRecord { at: last })
        );
        // Which the walk reaches only when no earlier record holds the address.
        assert!(kve_find(&b[..last + 100], 0x8000_0000).unwrap().is_some());
    }

    #[test]
    fn the_private_shared_character_is_compared_where_the_record_tells_it() {
        assert!(perms_match(b"rw-p", b"rw-p"));
        assert!(!perms_match(b"rw-s", b"rw-p"));
        assert!(perms_match(b"rw-p", b"rw-?"));
        assert!(perms_match(b"rw-s", b"rw-?"));
        assert!(!perms_match(b"r--p", b"rw-?"));
        assert!(!perms_match(b"r--p", b"r-xp"));
    }
}
