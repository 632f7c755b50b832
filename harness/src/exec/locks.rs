//! The child's calls of format v2 that the rest of the child does not need: the lock
//! calls (mlockall, munlockall, mlock2), mseal, prctl(PR_SET_MDWE), the per-page mincore
//! check and the locked-memory count. Raw system calls only, on the child's stack: every
//! one is async-signal-safe (no allocation, no formatting, no lock).

use crate::record::SetupCall;
#[cfg(target_os = "linux")]
use libc::c_long;
use libc::{c_int, c_void};

/// prctl's option for `mdwe`, as the record shows the call's first argument.
#[cfg(target_os = "linux")]
pub const PR_SET_MDWE: u64 = libc::PR_SET_MDWE as u64;
#[cfg(not(target_os = "linux"))]
pub const PR_SET_MDWE: u64 = 0;

/// mseal's number: 462 in the generic table and every architecture's table that has it
/// (include/uapi/asm-generic/unistd.h `__NR_mseal`, arch/x86/entry/syscalls/syscall_64.tbl
/// and syscall_32.tbl, arch/powerpc, arch/s390 syscall.tbl: Linux 6.10).
#[cfg(target_os = "linux")]
pub const SYS_MSEAL: c_long = 462;

#[cfg(target_os = "linux")]
pub fn mlock2(addr: u64, len: usize, flags: i32) -> i64 {
    // SAFETY: the call under test; the kernel validates the range.
    unsafe { libc::syscall(libc::SYS_mlock2, addr as usize, len, flags as c_long) as i64 }
}

#[cfg(target_os = "linux")]
pub fn mseal(addr: u64, len: usize, flags: i32) -> i64 {
    // SAFETY: the call under test; the kernel validates the range.
    unsafe { libc::syscall(SYS_MSEAL, addr as usize, len, flags as c_long) as i64 }
}

#[cfg(target_os = "linux")]
pub fn mdwe(flags: i32) -> i64 {
    // SAFETY: a plain prctl; it only changes this process's future mappings.
    unsafe {
        libc::syscall(
            libc::SYS_prctl,
            libc::PR_SET_MDWE as c_long,
            flags as c_long,
            0 as c_long,
            0 as c_long,
            0 as c_long,
        ) as i64
    }
}

/// process_madvise(2) (Linux 5.10+) over `n` iovecs of the child's stack array, `vlen`
/// passed as the case gives it.
#[cfg(target_os = "linux")]
pub fn process_madvise(
    pidfd: c_int,
    iov: &[libc::iovec],
    vlen: usize,
    advice: i32,
    flags: u32,
) -> i64 {
    // SAFETY: the call under test; the kernel reads at most `vlen` iovecs, and the planner
    // lets `vlen` pass the array only above UIO_MAXIOV, which the kernel refuses unread.
    unsafe {
        libc::syscall(
            libc::SYS_process_madvise,
            pidfd as c_long,
            iov.as_ptr(),
            vlen,
            advice as c_long,
            flags as c_long,
        ) as i64
    }
}

/// pidfd_open(2) of this process: a descriptor, or -1 (errno set).
#[cfg(target_os = "linux")]
pub fn pidfd_self() -> c_int {
    // SAFETY: getpid and pidfd_open take no pointer.
    unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid() as c_long, 0 as c_long) as c_int }
}

/// A pidfd of a process that has exited and been waited for: fork a process that exits at
/// once, open its pidfd (a zombie still has its pid), then reap it. -1 (errno set) on failure.
#[cfg(target_os = "linux")]
pub fn pidfd_exited() -> c_int {
    // SAFETY: fork, _exit, pidfd_open and waitpid are async-signal-safe; the new process
    // only exits.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return -1;
        }
        if pid == 0 {
            libc::_exit(0);
        }
        let fd = libc::syscall(libc::SYS_pidfd_open, pid as c_long, 0 as c_long) as c_int;
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && *libc::__errno_location() == libc::EINTR {}
        fd
    }
}

#[cfg(not(target_os = "linux"))]
pub fn process_madvise(_: c_int, _: &[libc::iovec], _: usize, _: i32, _: u32) -> i64 {
    enosys()
}

#[cfg(not(target_os = "linux"))]
pub fn pidfd_self() -> c_int {
    enosys() as c_int
}

#[cfg(not(target_os = "linux"))]
pub fn pidfd_exited() -> c_int {
    enosys() as c_int
}

/// Elsewhere the planner never builds these calls (they are Linux's); ENOSYS if it did.
#[cfg(not(target_os = "linux"))]
fn enosys() -> i64 {
    nix::errno::Errno::set_raw(libc::ENOSYS);
    -1
}

#[cfg(not(target_os = "linux"))]
pub fn mlock2(_: u64, _: usize, _: i32) -> i64 {
    enosys()
}

#[cfg(not(target_os = "linux"))]
pub fn mseal(_: u64, _: usize, _: i32) -> i64 {
    enosys()
}

#[cfg(not(target_os = "linux"))]
pub fn mdwe(_: i32) -> i64 {
    enosys()
}

pub fn mlockall(flags: i32) -> i64 {
    // SAFETY: a trap into the kernel on both OSes.
    unsafe { libc::mlockall(flags as c_int) as i64 }
}

pub fn munlockall() -> i64 {
    // SAFETY: as above.
    unsafe { libc::munlockall() as i64 }
}

/// mincore(2) over `len` bytes into `vec` (at least one byte per page): 0 or -1.
pub fn mincore_into(addr: u64, len: usize, vec: &mut [u8]) -> i64 {
    // SAFETY: `vec` is the caller's stack buffer, checked by the planner to hold a byte
    // per page of `len`.
    unsafe { libc::mincore(addr as *mut c_void, len, vec.as_mut_ptr().cast()) as i64 }
}

/// VmLck of /proc/self/status in bytes, or the call that failed (errno set; ENOENT when
/// the file has no VmLck line).
#[cfg(target_os = "linux")]
pub fn locked_bytes() -> Result<u64, SetupCall> {
    let mut buf = [0u8; 8192];
    // SAFETY: open, read and close of a path literal into a stack buffer.
    let n = unsafe {
        let fd = libc::open(
            c"/proc/self/status".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(SetupCall::Open);
        }
        let mut done = 0usize;
        loop {
            let r = libc::read(fd, buf[done..].as_mut_ptr().cast(), buf.len() - done);
            if r < 0 {
                libc::close(fd);
                return Err(SetupCall::Read);
            }
            if r == 0 || done + r as usize == buf.len() {
                done += r as usize;
                break;
            }
            done += r as usize;
        }
        libc::close(fd);
        done
    };
    vm_lck(&buf[..n]).ok_or_else(|| {
        nix::errno::Errno::set_raw(libc::ENOENT);
        SetupCall::Read
    })
}

#[cfg(not(target_os = "linux"))]
pub fn locked_bytes() -> Result<u64, SetupCall> {
    nix::errno::Errno::set_raw(libc::ENOSYS);
    Err(SetupCall::Read)
}

/// The `VmLck:   N kB` line of a status text, in bytes (no allocation).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn vm_lck(text: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"VmLck:";
    let mut i = 0;
    while i + KEY.len() <= text.len() {
        let line_start = i == 0 || text[i - 1] == b'\n';
        if line_start && &text[i..i + KEY.len()] == KEY {
            let mut j = i + KEY.len();
            while j < text.len() && (text[j] == b' ' || text[j] == b'\t') {
                j += 1;
            }
            let mut v: u64 = 0;
            let start = j;
            while j < text.len() && text[j].is_ascii_digit() {
                v = v.checked_mul(10)?.checked_add((text[j] - b'0') as u64)?;
                j += 1;
            }
            return (j > start && text[j..].starts_with(b" kB")).then(|| v.checked_mul(1024))?;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::vm_lck;

    #[test]
    fn the_locked_count_is_read_from_its_own_line_in_kib() {
        let status = b"Name:\tx\nVmPin:\t 0 kB\nVmLck:\t     12 kB\nVmHWM: 1 kB\n";
        assert_eq!(vm_lck(status), Some(12 * 1024));
        assert_eq!(vm_lck(b"XVmLck: 1 kB\n"), None);
        assert_eq!(vm_lck(b"VmLck: kB\n"), None);
        assert_eq!(vm_lck(b"VmLck: 3 pages\n"), None);
    }
}
