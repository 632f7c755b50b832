//! A private noexec tmpfs for `fs = "noexec"` objects (Linux). The case's child moves into
//! a mount namespace of its own (unshare(CLONE_NEWNS)), makes every mount there private
//! (so that nothing it mounts propagates to the runner's namespace or further), and mounts
//! a tmpfs with MS_NOEXEC, mode 0700, on an empty directory the runner made in its work
//! directory. The mount exists only in that namespace and ends with the case's last
//! process: nothing system-wide is changed, and nothing is left to unmount, however the
//! run ends. The runner then removes the (to it, empty) directory.

use crate::record::SetupCall;
use std::ffi::CStr;

/// In a freshly forked, single-threaded child: the new namespace, / private, and the
/// noexec tmpfs on `target` (absolute, or relative to the working directory). On failure
/// the call that failed, errno still set. Raw system calls only (async-signal-safe).
///
/// # Safety
/// Must run in a child whose only thread is this one; changes its mount namespace.
#[cfg(target_os = "linux")]
pub unsafe fn mount_private_noexec(target: &CStr) -> Result<(), SetupCall> {
    // SAFETY: plain system calls with NUL-terminated strings that outlive them.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(SetupCall::Unshare);
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(SetupCall::Mount);
        }
        if libc::mount(
            c"mmapconf".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_NODEV,
            c"mode=0700".as_ptr().cast(),
        ) != 0
        {
            return Err(SetupCall::Mount);
        }
        Ok(())
    }
}

/// Whether a forked child can do [`mount_private_noexec`] on `dir` (in its own namespace
/// only, gone when it exits): `Err((call, errno))` says which call refused.
#[cfg(target_os = "linux")]
pub fn probe(dir: &CStr) -> Result<(), (&'static str, i32)> {
    let mut fds = [-1; 2];
    // SAFETY: a pipe of our own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(("pipe", nix::errno::Errno::last_raw()));
    }
    // SAFETY: the child makes raw system calls only and ends with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: we are the forked child; it reports one pair of ints and exits.
        unsafe {
            libc::close(fds[0]);
            let msg: [i32; 2] = match mount_private_noexec(dir) {
                Ok(()) => [0, 0],
                Err(c) => [c as i32, nix::errno::Errno::last_raw()],
            };
            libc::write(fds[1], msg.as_ptr().cast(), std::mem::size_of_val(&msg));
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    if pid < 0 {
        let e = nix::errno::Errno::last_raw();
        // SAFETY: as above.
        unsafe { libc::close(fds[0]) };
        return Err(("fork", e));
    }
    let mut msg = [0i32; 2];
    // SAFETY: reading at most the buffer's size into it.
    let n = unsafe { libc::read(fds[0], msg.as_mut_ptr().cast(), std::mem::size_of_val(&msg)) };
    // SAFETY: our descriptor; reaping our child.
    unsafe {
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    if n != std::mem::size_of_val(&msg) as isize {
        return Err(("the probe's report", libc::EIO));
    }
    match msg[0] {
        0 => Ok(()),
        c if c == SetupCall::Unshare as i32 => Err(("unshare(CLONE_NEWNS)", msg[1])),
        _ => Err(("mount", msg[1])),
    }
}
