//! The forked child: runs one [`Plan`] with raw system calls and writes a [`Record`].
//!
//! Only async-signal-safe work happens here: no allocation, no locks, no formatting, no
//! panicking paths on purpose. The plan and every path were built before fork; the child
//! only reads them. The child keeps its [`Record`] in its own memory and sends each part of
//! it to the report pipe as a [`Message`] the moment it is known; a process made by a fork
//! step inherits the pipe and sends its steps' parts itself. Nothing is shared but the
//! pipe: no MAP_SHARED mapping is made outside the cases' own.

use crate::exec::Prepared;
use crate::exec::locks;
use crate::exec::maps;
use crate::load::MAX_STEPS;
use crate::model::{FdField, IoFd, IoOp, ObjectKind, Who};
use crate::plan::*;
use crate::probe;
use crate::record::{Message, Part, RawOutcome, Record, SetupCall, Stage};
use libc::{c_int, c_void};

/// Lazily backed vector pages for mincore (FreeBSD has no MAP_NORESERVE and never
/// reserves swap for untouched anonymous pages anyway).
#[cfg(target_os = "linux")]
const NORESERVE: c_int = libc::MAP_NORESERVE;
#[cfg(not(target_os = "linux"))]
const NORESERVE: c_int = 0;

fn errno() -> i32 {
    nix::errno::Errno::last_raw()
}

fn set_errno(e: i32) {
    nix::errno::Errno::from_raw(e).set();
}

/// Run-time values of address bases.
struct Bases {
    result: u64,
    mappings: [u64; crate::load::MAX_MAPPINGS],
    hole: u64,
    top: u64,
}

impl Bases {
    fn resolve(&self, a: RAddr) -> u64 {
        let base = match a.base {
            RBase::Null => 0,
            RBase::Result => self.result,
            RBase::Mapping(i) => self.mappings.get(i).copied().unwrap_or(0),
            RBase::Hole => self.hole,
            RBase::Top => self.top,
        };
        base.wrapping_add(a.off as u64)
    }
}

struct Child<'a> {
    plan: &'a Plan,
    prep: &'a Prepared,
    /// What this process knows of the record (the parts it sent, and those its side of a
    /// fork step inherited).
    rec: Record,
    report_fd: c_int,
    /// A message could not be written: the report is incomplete, the child says so by its
    /// exit status.
    report_failed: bool,
    object_fd: c_int,
    /// The object's second descriptor (`object.second`), or -1.
    second_fd: c_int,
    /// A second descriptor of a memfd/shm object, for readback/pwrite/ftruncate.
    aux_fd: c_int,
    /// The lowest descriptor number free just before the call (shm_open cases), or -1.
    lowest_free: c_int,
    /// mincore's result vector for the call under test, made before the hole is found so
    /// that it cannot land in the hole; (address, bytes).
    vec: (*mut c_void, usize),
    /// process_madvise's descriptor, made in setup (`Pidfd::Own`, `Pidfd::Exited`).
    pidfd: c_int,
    /// The directory the object's name is relative to: the prepared work directory, or,
    /// after a `fs = "noexec"` mount, that directory as this namespace sees it (a
    /// descriptor opened before unshare walks the runner's mounts, not ours).
    dir_fd: c_int,
    bases: Bases,
}

/// Entry point after fork. Never returns.
///
/// # Safety
/// Must run in a freshly forked child whose only thread is this one.
pub unsafe fn run(plan: &Plan, prep: &Prepared, report_fd: c_int) -> ! {
    // SAFETY: all calls below are raw system calls on memory the child owns.
    unsafe {
        // First of all: die with the runner, so that no case outlives it, even killed.
        if !die_with_parent(prep.parent_pid) {
            libc::_exit(122);
        }
        super::signals::restore_mask_in_child();
        libc::setpgid(0, 0);
        let mut child = Child {
            plan,
            prep,
            rec: Record::new(),
            report_fd,
            report_failed: false,
            object_fd: -1,
            second_fd: -1,
            aux_fd: -1,
            lowest_free: -1,
            vec: (std::ptr::null_mut(), 0),
            pidfd: -1,
            dir_fd: prep.dir_fd,
            bases: Bases {
                result: 0,
                mappings: [0; crate::load::MAX_MAPPINGS],
                hole: 0,
                top: plan.top,
            },
        };
        child.send(&Message::new(Part::Start, 0));
        let me = child.go();
        if prep.stop_before_exit {
            // The test hook (exec::testing): a plain system call.
            libc::kill(libc::getpid(), libc::SIGSTOP);
        }
        if me == Who::Parent {
            child.send(&Message::new(Part::End, 0));
        }
        libc::_exit(if child.report_failed { 121 } else { 0 })
    }
}

impl Child<'_> {
    /// Writes one message to the report pipe in one write(2) (atomic: at most PIPE_BUF).
    fn send(&mut self, m: &Message) {
        let bytes = m.as_bytes();
        loop {
            // SAFETY: a write from our own memory to the pipe the parent gave us.
            let n = unsafe { libc::write(self.report_fd, bytes.as_ptr().cast(), bytes.len()) };
            if n == bytes.len() as isize {
                return;
            }
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            self.report_failed = true;
            return;
        }
    }

    /// Records that setup failed: where, in which call, and that call's errno.
    fn fail(&mut self, stage: Stage, call: SetupCall, index: usize) {
        self.rec.failed_errno = errno();
        self.rec.failed_stage = stage as u32;
        self.rec.failed_call = call as u32;
        self.rec.failed_index = index as u32;
        let mut m = Message::new(Part::SetupFailed, index as u32);
        m.values = [stage as i32, self.rec.failed_errno, call as i32, 0];
        self.send(&m);
    }

    /// Records step `i`'s outcome.
    fn step_done(&mut self, i: usize, out: RawOutcome) {
        self.rec.steps[i] = out;
        let mut m = Message::new(Part::Step, i as u32);
        m.outcome = out;
        self.send(&m);
    }

    /// Setup, call, steps. Returns which side of a fork step this process is.
    unsafe fn go(&mut self) -> Who {
        if probe::install().is_err() {
            self.fail(Stage::Signals, SetupCall::Sigaction, 0);
            return Who::Parent;
        }
        // SAFETY: raw system calls only.
        unsafe {
            if let Err(call) = self.open_object() {
                self.fail(Stage::Object, call, 0);
                return Who::Parent;
            }
            // Mappings without `at` first, so they cannot land in the hole.
            let plan = self.plan;
            for m in plan.mappings.iter().filter(|m| m.at.is_none()) {
                if let Err(call) = self.make_mapping(m) {
                    self.fail(Stage::Mapping, call, m.index);
                    return Who::Parent;
                }
            }
            if let CallPlan::Mincore { len, vec: None, .. } = plan.call {
                self.vec = (new_vec(len, plan.page), len.div_ceil(plan.page));
            }
            let Some(hole) = take_hole(plan.hole_len, plan.page) else {
                self.fail(Stage::Hole, SetupCall::Mmap, 0);
                return Who::Parent;
            };
            self.bases.hole = hole;
            if let Some((addr, len)) = plan.fixed_absolute
                && maps::mapped_in(addr, len, plan.page)
            {
                set_errno(libc::EEXIST);
                self.fail(Stage::Hole, SetupCall::Mmap, 0);
                return Who::Parent;
            }
            for m in plan.mappings.iter().filter(|m| m.at.is_some()) {
                if let Err(call) = self.make_mapping(m) {
                    self.fail(Stage::Mapping, call, m.index);
                    return Who::Parent;
                }
            }
            for (i, c) in plan.setup.iter().enumerate() {
                if self.invoke(c).state != RawOutcome::OK {
                    self.fail(Stage::SetupCalls, SetupCall::FamilyCall, i);
                    return Who::Parent;
                }
            }
            // process_madvise's pidfd: the setup step after the case's setup calls.
            if let CallPlan::ProcessMadvise { pidfd, .. } = plan.call {
                let fd = match pidfd {
                    crate::model::Pidfd::Own => locks::pidfd_self(),
                    crate::model::Pidfd::Exited => locks::pidfd_exited(),
                    crate::model::Pidfd::Object | crate::model::Pidfd::Num(_) => 0,
                };
                if fd < 0 {
                    self.fail(Stage::SetupCalls, SetupCall::FamilyCall, plan.setup.len());
                    return Who::Parent;
                }
                self.pidfd = fd;
            }
            if plan.drop_privilege && !drop_privilege() {
                self.fail(Stage::Privilege, SetupCall::Setuid, 0);
                return Who::Parent;
            }
            for (i, (res, value)) in plan.limits.iter().enumerate() {
                let mut old: libc::rlimit = std::mem::zeroed();
                if libc::getrlimit(*res as _, &mut old) != 0 {
                    self.fail(Stage::Limits, SetupCall::Getrlimit, i);
                    return Who::Parent;
                }
                let new = libc::rlimit {
                    rlim_cur: *value as _,
                    rlim_max: old.rlim_max,
                };
                if libc::setrlimit(*res as _, &new) != 0 {
                    self.fail(Stage::Limits, SetupCall::Setrlimit, i);
                    return Who::Parent;
                }
            }
            self.call();
            if !plan.steps_ran(self.rec.call.state) {
                return Who::Parent;
            }
            self.steps()
        }
    }

    /// Opens the case's object; on failure, the call that failed (errno still set).
    unsafe fn open_object(&mut self) -> Result<(), SetupCall> {
        let Some(o) = &self.plan.object else {
            return Ok(());
        };
        // SAFETY: raw system calls with paths prepared before fork.
        unsafe {
            let mut fds = [-1; 2];
            self.object_fd = match o.kind {
                ObjectKind::File
                | ObjectKind::Dir
                | ObjectKind::DevZero
                | ObjectKind::DevNull
                | ObjectKind::DevRandom => {
                    let flags = if o.kind == ObjectKind::Dir {
                        libc::O_RDONLY | libc::O_DIRECTORY
                    } else {
                        o.open_flags
                    };
                    if o.kind == ObjectKind::File && o.fs == crate::model::Fs::Noexec {
                        self.make_noexec_file(o)?;
                    }
                    let fd = self.open_prepared(flags);
                    if fd < 0 {
                        return Err(SetupCall::Open);
                    }
                    if let Some(second) = o.second_flags {
                        self.second_fd = self.open_prepared(second);
                        if self.second_fd < 0 {
                            return Err(SetupCall::Open);
                        }
                    }
                    fd
                }
                ObjectKind::PipeRead | ObjectKind::PipeWrite | ObjectKind::ClosedFd => {
                    if libc::pipe(fds.as_mut_ptr()) != 0 {
                        return Err(SetupCall::Pipe);
                    }
                    match o.kind {
                        ObjectKind::PipeRead => fds[0],
                        ObjectKind::PipeWrite => fds[1],
                        _ => {
                            libc::close(fds[0]);
                            libc::close(fds[1]);
                            fds[0]
                        }
                    }
                }
                ObjectKind::Socket => {
                    if libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) != 0
                    {
                        return Err(SetupCall::Socketpair);
                    }
                    fds[0]
                }
                ObjectKind::TcpSocket => {
                    let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
                    if fd < 0 {
                        return Err(SetupCall::Socket);
                    }
                    fd
                }
                ObjectKind::Memfd => {
                    let fd = memfd();
                    if fd < 0 {
                        return Err(SetupCall::MemfdCreate);
                    }
                    self.fill_object(fd, o)?;
                    if o.seals != 0 && libc::fcntl(fd, libc::F_ADD_SEALS, o.seals) != 0 {
                        return Err(SetupCall::Fcntl);
                    }
                    fd
                }
                ObjectKind::Shm => {
                    let fd = shm(self.prep);
                    if fd < 0 {
                        return Err(SetupCall::ShmOpen);
                    }
                    self.fill_object(fd, o)?;
                    fd
                }
            };
            if o.kind == ObjectKind::ClosedFd {
                return Ok(());
            }
            if o.kind == ObjectKind::Memfd || o.kind == ObjectKind::Shm {
                self.aux_fd = libc::dup(self.object_fd);
                if self.aux_fd < 0 {
                    return Err(SetupCall::Dup);
                }
            }
            Ok(())
        }
    }

    /// `fs = "noexec"`: mounts the private noexec tmpfs on the prepared directory (see
    /// exec::noexec) and makes the object's file in it, with its content; the caller then
    /// opens it as any file.
    unsafe fn make_noexec_file(&mut self, o: &ObjectPlan) -> Result<(), SetupCall> {
        #[cfg(target_os = "linux")]
        // SAFETY: raw system calls with names prepared before fork.
        unsafe {
            // The mount point is named relative to the work directory.
            if libc::fchdir(self.prep.dir_fd) != 0 {
                return Err(SetupCall::Open);
            }
            super::noexec::mount_private_noexec(&self.prep.mount_dir)?;
            // unshare moved the working directory into the new namespace; the prepared
            // descriptor still names the runner's view, without the new mount.
            self.dir_fd = libc::open(
                c".".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            if self.dir_fd < 0 {
                return Err(SetupCall::Open);
            }
            let fd = libc::openat(
                self.dir_fd,
                self.prep.name.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600,
            );
            if fd < 0 {
                return Err(SetupCall::Open);
            }
            let r = self.fill_object(fd, o);
            libc::close(fd);
            r
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = o;
            nix::errno::Errno::set_raw(libc::ENOSYS);
            Err(SetupCall::Mount)
        }
    }

    unsafe fn fill_object(&mut self, fd: c_int, o: &ObjectPlan) -> Result<(), SetupCall> {
        // SAFETY: writes from the content buffer prepared before fork.
        unsafe {
            if lfs::ftruncate(fd, o.size as lfs::Off) != 0 {
                return Err(SetupCall::Ftruncate);
            }
            let buf = &self.prep.content;
            let mut done = 0;
            while done < buf.len() {
                let n = lfs::pwrite(
                    fd,
                    buf[done..].as_ptr().cast(),
                    buf.len() - done,
                    done as lfs::Off,
                );
                if n <= 0 {
                    return Err(SetupCall::Pwrite);
                }
                done += n as usize;
            }
            Ok(())
        }
    }

    /// A vector of one byte per page of `len`: the one made in setup when it is big
    /// enough, else a new one (steps). Null when none can be had: a range that large is
    /// refused before the kernel looks at the vector.
    fn mincore_vec(&self, len: usize) -> *mut c_void {
        if !self.vec.0.is_null() && len.div_ceil(self.plan.page) <= self.vec.1 {
            return self.vec.0;
        }
        new_vec(len, self.plan.page)
    }

    fn fd_of(&self, fd: FdPlan) -> c_int {
        match fd {
            FdPlan::Object => self.object_fd,
            FdPlan::Second => self.second_fd,
            FdPlan::Num(n) => n,
        }
    }

    unsafe fn make_mapping(&mut self, m: &MappingPlan) -> Result<(), SetupCall> {
        let addr = m.at.map(|a| self.bases.resolve(a)).unwrap_or(0);
        let prot = if m.fill.is_some() {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            m.prot
        };
        // SAFETY: a new mapping; MAP_FIXED only over addresses the case names.
        unsafe {
            let p = lfs::mmap(
                addr as *mut c_void,
                m.len,
                prot,
                m.flags,
                self.fd_of(m.fd),
                m.offset as lfs::Off,
            );
            if p == libc::MAP_FAILED {
                return Err(SetupCall::Mmap);
            }
            if let Some(b) = m.fill {
                std::ptr::write_bytes(p as *mut u8, b, m.len);
                if m.prot != prot && libc::mprotect(p, m.len, m.prot) != 0 {
                    return Err(SetupCall::Mprotect);
                }
            }
            if let Some(slot) = self.bases.mappings.get_mut(m.index) {
                *slot = p as u64;
            }
            Ok(())
        }
    }

    /// The call under test; its result becomes the `result` address base.
    unsafe fn call(&mut self) {
        if matches!(self.plan.call, CallPlan::ShmOpen { .. }) {
            self.lowest_free = lowest_free_fd();
        }
        // SAFETY: as invoke.
        let out = unsafe { self.invoke(&self.plan.call) };
        if out.state == RawOutcome::OK {
            self.bases.result = out.ret;
            // Resolved now, for the judge: bases such as `hole` exist only here.
            if let Some(p) = self.plan.placed {
                let mut m = Message::new(Part::Placed, 0);
                m.outcome.ret = self.bases.resolve(p.at);
                m.outcome.size = self.bases.resolve(p.end) as i64;
                self.send(&m);
            }
        }
        self.rec.call = out;
        let mut m = Message::new(Part::Call, 0);
        m.outcome = out;
        self.send(&m);
    }

    /// Makes one family call with its addresses resolved now; -1 is failure for all of
    /// them (mmap's MAP_FAILED included).
    unsafe fn invoke(&self, call: &CallPlan) -> RawOutcome {
        let b = &self.bases;
        let (ret, args): (i64, [u64; 6]) = match *call {
            CallPlan::Mmap {
                addr,
                len,
                prot,
                flags,
                fd,
                offset,
            } => {
                let a = b.resolve(addr);
                let fd = self.fd_of(fd);
                // SAFETY: the call under test; MAP_FIXED targets only case-named ranges.
                let p = unsafe { raw::mmap(a, len, prot, flags, fd, offset) };
                let ret = if p == libc::MAP_FAILED { -1 } else { p as i64 };
                (
                    ret,
                    [
                        a,
                        len as u64,
                        prot as u64,
                        flags as u64,
                        fd as u64,
                        offset as u64,
                    ],
                )
            }
            CallPlan::Munmap { addr, len } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                (
                    unsafe { libc::munmap(a as *mut c_void, len) } as i64,
                    [a, len as u64, 0, 0, 0, 0],
                )
            }
            CallPlan::Mprotect { addr, len, prot } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                let r = unsafe { raw::mprotect(a, len, prot) };
                (r, [a, len as u64, prot as u64, 0, 0, 0])
            }
            CallPlan::Msync { addr, len, flags } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                let r = unsafe { libc::msync(a as *mut c_void, len, flags) };
                (r as i64, [a, len as u64, flags as u64, 0, 0, 0])
            }
            CallPlan::Madvise { addr, len, advice } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                let r = unsafe { libc::madvise(a as *mut c_void, len, advice) };
                (r as i64, [a, len as u64, advice as u64, 0, 0, 0])
            }
            CallPlan::Mincore { addr, len, vec } => {
                let a = b.resolve(addr);
                let v = match vec {
                    // The case's address: the kernel, not the child, writes there (EFAULT).
                    Some(v) => b.resolve(v) as *mut c_void,
                    None => self.mincore_vec(len),
                };
                // SAFETY: the vector is the child's own mapping (or null when none fits), or
                // an address the case names, which only the kernel writes to.
                let r = unsafe { libc::mincore(a as *mut c_void, len, v.cast()) };
                (r as i64, [a, len as u64, v as u64, 0, 0, 0])
            }
            CallPlan::Mlock { addr, len } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                (
                    unsafe { libc::mlock(a as *const c_void, len) } as i64,
                    [a, len as u64, 0, 0, 0, 0],
                )
            }
            CallPlan::Munlock { addr, len } => {
                let a = b.resolve(addr);
                // SAFETY: the call under test.
                (
                    unsafe { libc::munlock(a as *const c_void, len) } as i64,
                    [a, len as u64, 0, 0, 0, 0],
                )
            }
            CallPlan::Mremap {
                addr,
                len,
                new_len,
                flags,
                new_addr,
            } => {
                let a = b.resolve(addr);
                let na = b.resolve(new_addr);
                (
                    mremap(a, len, new_len, flags, na),
                    [a, len as u64, new_len as u64, flags as u64, na, 0],
                )
            }
            CallPlan::Minherit { addr, len, inherit } => {
                let a = b.resolve(addr);
                (
                    minherit(a, len, inherit),
                    [a, len as u64, inherit as u64, 0, 0, 0],
                )
            }
            CallPlan::Mlockall { flags } => (locks::mlockall(flags), [flags as u64, 0, 0, 0, 0, 0]),
            CallPlan::Munlockall => (locks::munlockall(), [0; 6]),
            CallPlan::Mlock2 { addr, len, flags } => {
                let a = b.resolve(addr);
                (
                    locks::mlock2(a, len, flags),
                    [a, len as u64, flags as u64, 0, 0, 0],
                )
            }
            CallPlan::Mseal { addr, len, flags } => {
                let a = b.resolve(addr);
                (
                    locks::mseal(a, len, flags),
                    [a, len as u64, flags as u64, 0, 0, 0],
                )
            }
            CallPlan::ProcessMadvise {
                pidfd,
                iov,
                n,
                vlen,
                advice,
                flags,
            } => {
                let fd = match pidfd {
                    crate::model::Pidfd::Own | crate::model::Pidfd::Exited => self.pidfd,
                    crate::model::Pidfd::Object => self.object_fd,
                    crate::model::Pidfd::Num(n) => n,
                };
                let mut v = [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; crate::load::MAX_IOV];
                for (slot, (a, l)) in v.iter_mut().zip(iov.iter()).take(n) {
                    slot.iov_base = b.resolve(*a) as *mut c_void;
                    slot.iov_len = *l;
                }
                (
                    locks::process_madvise(fd, &v[..n], vlen, advice, flags),
                    [
                        fd as u64,
                        v.as_ptr() as u64,
                        vlen as u64,
                        advice as u64,
                        flags as u64,
                        0,
                    ],
                )
            }
            CallPlan::Mdwe { flags } => (
                locks::mdwe(flags),
                [locks::PR_SET_MDWE, flags as u64, 0, 0, 0, 0],
            ),
            CallPlan::ShmOpen {
                oflag, mode, umask, ..
            } => (
                // SAFETY: umask and open(2) (shm_open(2) on FreeBSD) of a name prepared
                // before fork.
                unsafe {
                    libc::umask(umask as libc::mode_t);
                    shm_open_call(self.prep, oflag, mode)
                },
                [0, oflag as u64, mode as u64, 0, 0, 0],
            ),
        };
        let mut out = RawOutcome {
            args,
            ..RawOutcome::default()
        };
        set_ret(&mut out, ret);
        out
    }

    /// Runs the steps; after a fork step each process runs its own, passing a baton so that
    /// they run exactly in the order the case lists them. Every process (parent, child and,
    /// after a second fork step in the child, grandchild) has a baton pipe, all made before
    /// the first fork so that each can hand the baton to any other: the holder writes one
    /// byte to the pipe of the next step's process. A process whose step could not be
    /// prepared runs nothing more but keeps handing the baton on, so no other waits for it.
    unsafe fn steps(&mut self) -> Who {
        let plan = self.plan;
        let mut me = Who::Parent;
        let mut forked = false;
        let mut has_baton = true;
        // [read end, write end] of each process's baton pipe, by `Who`.
        let mut inbox = [[-1; 2]; 3];
        // The process this one made: the child (in the parent), the grandchild (in the
        // child).
        let mut kid: libc::pid_t = 0;
        // The grandchild could not be made: the child takes its turns, running nothing.
        let mut proxy = false;
        let mut stopped = false;
        for (i, step) in plan.steps.iter().enumerate().take(MAX_STEPS) {
            if forked {
                let mine = step.who == me || (proxy && step.who == Who::Grandchild);
                if !mine {
                    if has_baton {
                        pass(inbox[step.who as usize][1]);
                        has_baton = false;
                    }
                    continue;
                }
                if !has_baton {
                    wait_for(inbox[step.who as usize][0]);
                    has_baton = true;
                }
            }
            if stopped || step.who != me {
                continue;
            }
            if let ActionPlan::Fork = step.action {
                let second = forked;
                // SAFETY: pipe and fork are async-signal-safe.
                let pid = unsafe {
                    if !second && inbox.iter_mut().any(|p| libc::pipe(p.as_mut_ptr()) != 0) {
                        self.fail(Stage::Fork, SetupCall::Pipe, i);
                        return me;
                    }
                    let me_pid = libc::getpid();
                    let pid = libc::fork();
                    if pid == 0 && !die_with_parent(me_pid) {
                        libc::_exit(122);
                    }
                    pid
                };
                if pid < 0 {
                    self.fail(Stage::Fork, SetupCall::Fork, i);
                    if !second {
                        return me;
                    }
                    proxy = true;
                    stopped = true;
                    continue;
                }
                self.rec.steps[i].state = RawOutcome::OK;
                if second {
                    self.rec.grandchild = 1;
                } else {
                    self.rec.forked = 1;
                }
                forked = true;
                if pid != 0 {
                    // Once, by the process that goes on reporting to the end.
                    let part = if second {
                        Part::GrandchildForked
                    } else {
                        Part::Forked
                    };
                    self.send(&Message::new(part, i as u32));
                    kid = pid;
                } else {
                    me = if second { Who::Grandchild } else { Who::Child };
                    has_baton = false;
                    kid = 0;
                }
                continue;
            }
            // SAFETY: each action is raw syscalls or probes.
            let out = unsafe { self.action(&step.action, i) };
            self.step_done(i, out);
            if self.rec.failed_stage != Stage::Done as u32 {
                // The step could not be prepared: what follows would judge nothing.
                stopped = true;
            }
        }
        if forked && kid > 0 {
            let mut status = 0;
            // SAFETY: closing our copies of the other processes' baton pipes, then waiting
            // for our own child.
            unsafe {
                for (w, p) in inbox.iter().enumerate() {
                    if w != me as usize {
                        libc::close(p[1]);
                    }
                }
                libc::waitpid(kid, &mut status, 0);
            }
            let mut m = if me == Who::Parent {
                self.rec.fork_status = status;
                Message::new(Part::ForkStatus, 0)
            } else {
                self.rec.grandchild_status = status;
                Message::new(Part::GrandchildStatus, 0)
            };
            m.values[0] = status;
            self.send(&m);
        }
        me
    }

    /// Runs step `i`'s action. A descriptor it cannot get is a setup failure
    /// ([`Stage::Step`]), not the step's outcome.
    unsafe fn action(&mut self, a: &ActionPlan, i: usize) -> RawOutcome {
        let mut out = RawOutcome::default();
        let b = &self.bases;
        // SAFETY: probes catch faults; the rest are raw system calls.
        unsafe {
            match *a {
                ActionPlan::Read { addr, len, check } => {
                    let base = b.resolve(addr);
                    out.args = [base, len as u64, 0, 0, 0, 0];
                    out.state = RawOutcome::OK;
                    for i in 0..len as u64 {
                        match probe::read(base.wrapping_add(i) as usize) {
                            Err(f) => {
                                record_fault(&mut out, f, base);
                                return out;
                            }
                            Ok(v) => {
                                if let Some(c) = check {
                                    note_byte(&mut out, i, v, c.expected(i));
                                }
                            }
                        }
                    }
                }
                ActionPlan::Write { addr, len, byte } => {
                    let base = b.resolve(addr);
                    out.args = [base, len as u64, byte as u64, 0, 0, 0];
                    out.state = RawOutcome::OK;
                    for i in 0..len as u64 {
                        if let Err(f) = probe::write(base.wrapping_add(i) as usize, byte) {
                            record_fault(&mut out, f, base);
                            return out;
                        }
                    }
                }
                ActionPlan::Fork => {}
                ActionPlan::Call(ref c) => out = self.invoke(c),
                ActionPlan::Ftruncate {
                    size,
                    via_result: true,
                } => {
                    out.args = [size as u64, 0, 0, 0, 0, 0];
                    let fd = self.bases.result as c_int;
                    set_ret(&mut out, lfs::ftruncate(fd, size as lfs::Off) as i64);
                }
                ActionPlan::FdStat { field, want } => {
                    let fd = self.bases.result as c_int;
                    let want = match want {
                        FdWantPlan::Value(v) => v,
                        FdWantPlan::Euid => i64::from(libc::geteuid()),
                        FdWantPlan::Egid => i64::from(libc::getegid()),
                    };
                    out.args = [field as u64, want as u64, 0, 0, 0, 0];
                    match fd_field(fd, field, self.lowest_free) {
                        Ok(v) => {
                            out.state = if v == want {
                                RawOutcome::OK
                            } else {
                                RawOutcome::SIZE_DIFFERS
                            };
                            out.size = v;
                        }
                        Err(call) => self.fail(Stage::Step, call, i),
                    }
                }
                ActionPlan::Ftruncate { size, .. } => {
                    out.args = [size as u64, 0, 0, 0, 0, 0];
                    let fd = self.file_fd(libc::O_RDWR);
                    if fd < 0 {
                        self.fail(Stage::Step, self.file_fd_call(), i);
                        return out;
                    }
                    set_ret(&mut out, lfs::ftruncate(fd, size as lfs::Off) as i64);
                    self.done_with(fd);
                }
                ActionPlan::Pwrite { offset, len, byte } => {
                    out.args = [offset as u64, len as u64, byte as u64, 0, 0, 0];
                    let fd = self.file_fd(libc::O_RDWR);
                    if fd < 0 {
                        self.fail(Stage::Step, self.file_fd_call(), i);
                        return out;
                    }
                    let buf = [byte; 256];
                    let mut done = 0usize;
                    let mut r = 0i64;
                    while done < len {
                        let n = (len - done).min(buf.len());
                        let w = lfs::pwrite(
                            fd,
                            buf.as_ptr().cast(),
                            n,
                            (offset + done as i64) as lfs::Off,
                        );
                        if w <= 0 {
                            r = -1;
                            break;
                        }
                        done += w as usize;
                    }
                    set_ret(&mut out, r);
                    self.done_with(fd);
                }
                ActionPlan::CloseObject => {
                    out.args = [self.object_fd as u64, 0, 0, 0, 0, 0];
                    set_ret(&mut out, libc::close(self.object_fd) as i64);
                    self.object_fd = -1;
                }
                ActionPlan::Readback {
                    offset,
                    len,
                    check,
                    size,
                } => {
                    out.args = [offset as u64, len as u64, 0, 0, 0, 0];
                    let fd = self.file_fd(libc::O_RDONLY);
                    if fd < 0 {
                        self.fail(Stage::Step, self.file_fd_call(), i);
                        return out;
                    }
                    self.readback(&mut out, fd, offset, len, check, size);
                    self.done_with(fd);
                }
                ActionPlan::Mincore {
                    addr,
                    len,
                    vector,
                    pages,
                } => {
                    let base = b.resolve(addr);
                    out.args = [base, len as u64, 0, 0, 0, 0];
                    let mut vec = [0u8; crate::load::MAX_VECTOR];
                    set_ret(&mut out, locks::mincore_into(base, len, &mut vec));
                    if out.state == RawOutcome::OK {
                        for i in 0..pages {
                            note_byte(&mut out, i as u64, vec[i] & 1, vector[i]);
                        }
                    }
                }
                ActionPlan::Locked { bytes } => {
                    out.args = [bytes, 0, 0, 0, 0, 0];
                    match locks::locked_bytes() {
                        Ok(v) => {
                            out.state = if v == bytes {
                                RawOutcome::OK
                            } else {
                                RawOutcome::SIZE_DIFFERS
                            };
                            out.size = v as i64;
                        }
                        Err(call) => self.fail(Stage::Step, call, i),
                    }
                }
                ActionPlan::Vma {
                    addr,
                    start,
                    end,
                    perms,
                } => {
                    let base = b.resolve(addr);
                    let start = start.map(|a| b.resolve(a));
                    let end = end.map(|a| b.resolve(a));
                    out.args = [base, start.unwrap_or(0), end.unwrap_or(0), 0, 0, 0];
                    match maps::vma_containing(base) {
                        Ok(Some(v)) => {
                            out.at = v.start.wrapping_sub(base) as i64;
                            out.size = v.end.wrapping_sub(base) as i64;
                            out.got[..4].copy_from_slice(&v.perms);
                            out.got_len = 4;
                            let same = start.is_none_or(|s| s == v.start)
                                && end.is_none_or(|e| e == v.end)
                                && perms.is_none_or(|p| maps::perms_match(&p, &v.perms));
                            out.state = if same {
                                RawOutcome::OK
                            } else {
                                RawOutcome::VMA_DIFFERS
                            };
                        }
                        Ok(None) => out.state = RawOutcome::VMA_DIFFERS,
                        Err(call) => self.fail(Stage::Step, call, i),
                    }
                }
                ActionPlan::WriteRet { addr } => {
                    let base = b.resolve(addr);
                    out.args = [base, probe::RET_INSN.len() as u64, 0, 0, 0, 0];
                    out.state = RawOutcome::OK;
                    if let Err(f) = probe::write_ret(base as usize) {
                        record_fault(&mut out, f, base);
                    }
                }
                ActionPlan::Exec { addr } => {
                    let base = b.resolve(addr);
                    out.args = [base, 0, 0, 0, 0, 0];
                    out.state = RawOutcome::OK;
                    if let Err(f) = probe::exec(base as usize) {
                        record_fault(&mut out, f, base);
                    }
                }
                ActionPlan::Buffer {
                    op,
                    addr,
                    len,
                    fd,
                    offset,
                    count,
                    byte,
                } => {
                    let buf = b.resolve(addr);
                    out.args = [buf, len as u64, offset as u64, count, 0, 0];
                    let mut pipe = [-1; 2];
                    let fd = match fd {
                        IoFd::Object => self.object_fd,
                        IoFd::Second => self.second_fd,
                        IoFd::Pipe => {
                            if let Err(call) = io_pipe(&mut pipe, op, len, byte) {
                                self.fail(Stage::Step, call, i);
                                close_pair(&pipe);
                                return out;
                            }
                            if op.fills_buffer() { pipe[0] } else { pipe[1] }
                        }
                    };
                    let p = buf as *mut c_void;
                    let off = offset as lfs::Off;
                    let r = match op {
                        IoOp::Read => libc::read(fd, p, len),
                        IoOp::Write => libc::write(fd, p, len),
                        IoOp::Pread => lfs::pread(fd, p, len, off),
                        IoOp::Pwrite => lfs::pwrite(fd, p, len, off),
                    };
                    set_ret(&mut out, r as i64);
                    if out.state == RawOutcome::OK && out.ret != count {
                        out.state = RawOutcome::COUNT_DIFFERS;
                    }
                    close_pair(&pipe);
                }
            }
        }
        out
    }

    unsafe fn readback(
        &self,
        out: &mut RawOutcome,
        fd: c_int,
        offset: i64,
        len: usize,
        check: Option<Check>,
        size: Option<i64>,
    ) {
        // SAFETY: reads into a stack buffer.
        unsafe {
            let mut st: lfs::Stat = std::mem::zeroed();
            if fd < 0 || lfs::fstat(fd, &mut st) != 0 {
                set_ret(out, -1);
                return;
            }
            out.state = RawOutcome::OK;
            out.size = st.st_size as i64;
            if let Some(want) = size
                && want != out.size
            {
                out.state = RawOutcome::SIZE_DIFFERS;
                return;
            }
            let Some(c) = check else { return };
            let mut buf = [0u8; 512];
            let mut done = 0usize;
            while done < len {
                let n = (len - done).min(buf.len());
                let r = lfs::pread(
                    fd,
                    buf.as_mut_ptr().cast(),
                    n,
                    (offset + done as i64) as lfs::Off,
                );
                if r < 0 {
                    set_ret(out, -1);
                    return;
                }
                if r == 0 {
                    // The file ends before the checked range does.
                    if out.state == RawOutcome::OK {
                        out.state = RawOutcome::BYTES_DIFFER;
                        out.at = done as i64;
                        out.got_len = 0;
                    }
                    return;
                }
                for (k, v) in buf[..r as usize].iter().enumerate() {
                    let i = (done + k) as u64;
                    note_byte(out, i, *v, c.expected(i));
                }
                done += r as usize;
            }
        }
    }

    /// A descriptor for file-level steps: a new one by path for files, the kept duplicate
    /// for memfd and shm objects.
    unsafe fn file_fd(&self, flags: c_int) -> c_int {
        match self.plan.object.as_ref().map(|o| o.kind) {
            // SAFETY: opening a path prepared before fork.
            Some(ObjectKind::File) => unsafe { self.open_prepared(flags) },
            _ => self.aux_fd,
        }
    }

    /// Opens the prepared object: its name in the work directory, never following a
    /// symlink, or the absolute path of a device.
    unsafe fn open_prepared(&self, flags: c_int) -> c_int {
        let p = self.prep;
        // SAFETY: a descriptor and names prepared before fork.
        unsafe {
            if self.dir_fd >= 0 {
                libc::openat(
                    self.dir_fd,
                    p.name.as_ptr(),
                    flags | libc::O_NOFOLLOW | lfs::O_LARGE,
                )
            } else {
                libc::open(p.object_path.as_ptr(), flags | lfs::O_LARGE)
            }
        }
    }

    /// The call [`Child::file_fd`] makes (or made in setup).
    fn file_fd_call(&self) -> SetupCall {
        match self.plan.object.as_ref().map(|o| o.kind) {
            Some(ObjectKind::File) => SetupCall::Open,
            _ => SetupCall::Dup,
        }
    }

    unsafe fn done_with(&self, fd: c_int) {
        if fd != self.aux_fd && fd >= 0 {
            // SAFETY: closing a descriptor this step opened.
            unsafe { libc::close(fd) };
        }
    }
}

/// A buffer step's pipe, never blocking on its write end: for reads (`op` fills the
/// buffer) it first holds `len` bytes of `byte` (as many as fit), written from the stack.
fn io_pipe(pipe: &mut [c_int; 2], op: IoOp, len: usize, byte: u8) -> Result<(), SetupCall> {
    // SAFETY: plain system calls on descriptors this function makes.
    unsafe {
        if libc::pipe(pipe.as_mut_ptr()) != 0 {
            return Err(SetupCall::Pipe);
        }
        let fl = libc::fcntl(pipe[1], libc::F_GETFL);
        if fl < 0 || libc::fcntl(pipe[1], libc::F_SETFL, fl | libc::O_NONBLOCK) != 0 {
            return Err(SetupCall::Fcntl);
        }
        if !op.fills_buffer() {
            return Ok(());
        }
        let chunk = [byte; 256];
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(chunk.len());
            let w = libc::write(pipe[1], chunk.as_ptr().cast(), n);
            if w < 0 && errno() == libc::EAGAIN {
                break; // full: the read returns what it holds
            }
            if w <= 0 {
                return Err(SetupCall::Write);
            }
            done += w as usize;
        }
        Ok(())
    }
}

fn close_pair(pipe: &[c_int; 2]) {
    for fd in pipe.iter().filter(|fd| **fd >= 0) {
        // SAFETY: closing a descriptor io_pipe made.
        unsafe { libc::close(*fd) };
    }
}

/// A fresh, lazily backed mapping of one byte per page of `len`, or null.
fn new_vec(len: usize, page: usize) -> *mut c_void {
    let bytes = len.div_ceil(page).max(1);
    // SAFETY: a new private mapping owned by the child.
    let v = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON | NORESERVE,
            -1,
            0,
        )
    };
    if v == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        v
    }
}

fn set_ret(out: &mut RawOutcome, r: i64) {
    if r == -1 {
        out.state = RawOutcome::ERRNO;
        out.errno = errno();
    } else {
        out.state = RawOutcome::OK;
        out.ret = r as u64;
    }
}

fn record_fault(out: &mut RawOutcome, f: probe::Fault, base: u64) {
    out.state = RawOutcome::FAULT;
    out.signo = f.signo;
    out.code = f.code;
    out.fault_off = f.addr.wrapping_sub(base) as i64;
}

/// Notes byte `i`: the first difference marks the outcome and starts the `got` window.
fn note_byte(out: &mut RawOutcome, i: u64, got: u8, want: u8) {
    if out.state == RawOutcome::BYTES_DIFFER {
        let k = (i as i64 - out.at) as usize;
        if k < out.got.len() && k == out.got_len as usize {
            out.got[k] = got;
            out.got_len += 1;
        }
    } else if got != want {
        out.state = RawOutcome::BYTES_DIFFER;
        out.at = i as i64;
        out.got[0] = got;
        out.got_len = 1;
    }
}

fn pass(tx: c_int) {
    let b = [1u8];
    // SAFETY: one byte to a pipe we own.
    unsafe { libc::write(tx, b.as_ptr().cast(), 1) };
}

fn wait_for(rx: c_int) {
    let mut b = [0u8];
    loop {
        // SAFETY: one byte from a pipe we own; 0 means the other side ended, which
        // hands over the baton too.
        let n = unsafe { libc::read(rx, b.as_mut_ptr().cast(), 1) };
        if n >= 0 || errno() != libc::EINTR {
            return;
        }
    }
}

#[cfg(target_os = "linux")]
fn drop_privilege() -> bool {
    // Raw system calls: glibc's wrappers broadcast to all threads, which is not
    // async-signal-safe in a forked child.
    // SAFETY: plain system calls.
    unsafe {
        libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
            && libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0
            && libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn drop_privilege() -> bool {
    // SAFETY: plain system calls.
    unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
fn memfd() -> c_int {
    // SAFETY: the name is a static C string.
    unsafe { libc::memfd_create(c"mmapconf".as_ptr(), libc::MFD_ALLOW_SEALING) }
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn memfd() -> c_int {
    -1
}

#[cfg(target_os = "freebsd")]
fn shm(_prep: &Prepared) -> c_int {
    // SAFETY: SHM_ANON makes an anonymous object; no path is touched.
    unsafe { libc::shm_open(libc::SHM_ANON, libc::O_RDWR, 0o600) }
}

/// Linux's shm_open is open(2) of a file on the /dev/shm tmpfs: done directly, in the
/// private tmpfs work directory when there is one, exclusively, then unlinked at once.
#[cfg(not(target_os = "freebsd"))]
fn shm(prep: &Prepared) -> c_int {
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | lfs::O_LARGE;
    // SAFETY: a descriptor and names prepared before fork.
    unsafe {
        if prep.dir_fd >= 0 {
            let fd = libc::openat(prep.dir_fd, prep.name.as_ptr(), flags, 0o600);
            if fd >= 0 {
                libc::unlinkat(prep.dir_fd, prep.name.as_ptr(), 0);
            }
            fd
        } else {
            let fd = libc::open(prep.object_path.as_ptr(), flags, 0o600);
            // Only what we made: a name planted by someone else stays theirs.
            if fd >= 0 {
                libc::unlink(prep.object_path.as_ptr());
            }
            fd
        }
    }
}

/// The lowest descriptor number not open now (async-signal-safe: fcntl only).
fn lowest_free_fd() -> c_int {
    // SAFETY: F_GETFD only reads the descriptor table.
    (0..c_int::MAX)
        .find(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1)
        .unwrap_or(-1)
}

/// The field of `fd` an fd_stat step reads (off_t, mode_t and the ids differ in width
/// between the OSes and ABIs).
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
fn fd_field(fd: c_int, field: FdField, lowest_free: c_int) -> Result<i64, SetupCall> {
    // SAFETY: fstat into our own buffer, fcntl queries.
    unsafe {
        let stat = || {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0 {
                return Err(SetupCall::Fstat);
            }
            Ok(st)
        };
        Ok(match field {
            FdField::Size => stat()?.st_size as i64,
            FdField::Mode => i64::from(stat()?.st_mode) & 0o7777,
            FdField::Uid => i64::from(stat()?.st_uid),
            FdField::Gid => i64::from(stat()?.st_gid),
            FdField::Cloexec => match libc::fcntl(fd, libc::F_GETFD) {
                -1 => return Err(SetupCall::Fcntl),
                v => i64::from(v & libc::FD_CLOEXEC != 0),
            },
            FdField::Accmode => match libc::fcntl(fd, libc::F_GETFL) {
                -1 => return Err(SetupCall::Fcntl),
                v => i64::from(v & libc::O_ACCMODE),
            },
            FdField::Lowest => i64::from(fd == lowest_free),
        })
    }
}

/// shm_open as the libc does it. FreeBSD: the shm_open(2) system call of the absolute
/// name. Linux: glibc's shm_open(3) is open(2) of the name in the /dev/shm tmpfs with
/// O_NOFOLLOW and O_CLOEXEC added (sysdeps/pthread/shm-directory.h, rt/shm_open.c); the
/// child opens it the same way relative to the private tmpfs work directory, so nothing
/// outside it is touched and no symlink is followed.
///
/// # Safety
/// A name prepared before fork.
#[cfg(target_os = "freebsd")]
unsafe fn shm_open_call(prep: &Prepared, oflag: c_int, mode: u32) -> i64 {
    // SAFETY: as above.
    i64::from(unsafe { libc::shm_open(prep.shm_name.as_ptr(), oflag, mode as libc::mode_t) })
}

/// See the FreeBSD variant.
///
/// # Safety
/// A name and descriptor prepared before fork.
#[cfg(not(target_os = "freebsd"))]
unsafe fn shm_open_call(prep: &Prepared, oflag: c_int, mode: u32) -> i64 {
    let flags = oflag | libc::O_NOFOLLOW | libc::O_CLOEXEC | lfs::O_LARGE;
    // SAFETY: as above.
    i64::from(unsafe { libc::openat(prep.shm_dir_fd, prep.shm_name.as_ptr(), flags, mode) })
}

/// Asks the kernel to SIGKILL this process when its parent dies, then checks that the
/// parent is still `parent` (it may have died before the request took effect). Linux
/// signals on the death of the forking *thread*: the runner's workers reap their child
/// before they end, and a case's own fork steps wait for theirs.
#[cfg(target_os = "linux")]
fn die_with_parent(parent: libc::pid_t) -> bool {
    // SAFETY: plain system calls.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ) == 0
            && libc::getppid() == parent
    }
}

#[cfg(target_os = "freebsd")]
fn die_with_parent(parent: libc::pid_t) -> bool {
    let mut sig: c_int = libc::SIGKILL;
    // SAFETY: plain system calls; procctl reads one int.
    unsafe {
        libc::procctl(
            libc::P_PID,
            0,
            libc::PROC_PDEATHSIG_CTL,
            (&mut sig as *mut c_int).cast(),
        ) == 0
            && libc::getppid() == parent
    }
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn die_with_parent(parent: libc::pid_t) -> bool {
    // SAFETY: a plain system call.
    unsafe { libc::getppid() == parent }
}

#[cfg(target_os = "linux")]
fn mremap(addr: u64, len: usize, new_len: usize, flags: i32, new_addr: u64) -> i64 {
    // SAFETY: the call under test.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mremap,
            addr as usize,
            len,
            new_len,
            flags as libc::c_long,
            new_addr as usize,
        )
    };
    // An address above 2 GiB is a negative c_long on a 32-bit ABI: widened unsigned.
    if r == -1 { -1 } else { r as usize as i64 }
}

#[cfg(not(target_os = "linux"))]
fn mremap(_: u64, _: usize, _: usize, _: i32, _: u64) -> i64 {
    // SAFETY: errno is per-thread; the planner never builds this call here (no MREMAP_*).
    unsafe { *libc::__error() = libc::ENOSYS };
    -1
}

#[cfg(target_os = "freebsd")]
fn minherit(addr: u64, len: usize, inherit: i32) -> i64 {
    // SAFETY: the call under test.
    unsafe { libc::minherit(addr as *mut c_void, len, inherit) as i64 }
}

#[cfg(not(target_os = "freebsd"))]
fn minherit(_: u64, _: usize, _: i32) -> i64 {
    // SAFETY: errno is per-thread.
    unsafe { *libc::__errno_location() = libc::ENOSYS };
    -1
}

/// File offsets are 64 bits on every ABI the suite runs on: on 32-bit Linux the large-file
/// entries (ftruncate64 and the like, O_LARGEFILE as open64 passes it), as a C program
/// built with _FILE_OFFSET_BITS=64 calls them; elsewhere off_t is 64 bits already.
mod lfs {
    #[cfg(all(target_os = "linux", target_pointer_width = "32"))]
    pub use libc::{
        fstat64 as fstat, ftruncate64 as ftruncate, mmap64 as mmap, off64_t as Off,
        pread64 as pread, pwrite64 as pwrite, stat64 as Stat,
    };
    #[cfg(all(target_os = "linux", target_pointer_width = "32"))]
    pub const O_LARGE: libc::c_int = libc::O_LARGEFILE;
    #[cfg(not(all(target_os = "linux", target_pointer_width = "32")))]
    pub use libc::{fstat, ftruncate, mmap, off_t as Off, pread, pwrite, stat as Stat};
    #[cfg(not(all(target_os = "linux", target_pointer_width = "32")))]
    pub const O_LARGE: libc::c_int = 0;
}

/// The calls under test whose libc wrappers are more than a trap into the kernel: musl's
/// mmap turns EPERM into ENOMEM and checks the offset and length itself, its mprotect
/// rounds the address down to a page, its mremap checks the new length. On Linux the
/// suite asks the kernel directly (syscall(2) sets errno as the wrappers do), so a static
/// musl build observes the kernel, not its libc; elsewhere the wrappers are the interface.
mod raw {
    use libc::{c_int, c_void};

    /// mmap(2); MAP_FAILED on failure, with errno set.
    pub unsafe fn mmap(
        addr: u64,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the caller's; the kernel validates every argument.
            let r = unsafe { linux_mmap(addr as usize, len, prot, flags, fd, off) };
            if r == -1 {
                libc::MAP_FAILED
            } else {
                r as *mut c_void
            }
        }
        #[cfg(not(target_os = "linux"))]
        // SAFETY: the caller's.
        unsafe {
            libc::mmap(
                addr as *mut c_void,
                len,
                prot,
                flags,
                fd,
                off as libc::off_t,
            )
        }
    }

    /// The kernel's mmap entry for this ABI; the return value of syscall(2).
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        not(target_arch = "s390x")
    ))]
    unsafe fn linux_mmap(
        addr: usize,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> libc::c_long {
        // SAFETY: the caller's.
        unsafe {
            libc::syscall(
                libc::SYS_mmap,
                addr,
                len,
                prot as libc::c_long,
                flags as libc::c_long,
                fd as libc::c_long,
                off as libc::c_long,
            )
        }
    }

    /// s390x's mmap is old_mmap: one pointer to the six arguments (arch/s390's
    /// mmap_arg_struct), as its glibc calls it.
    #[cfg(all(target_os = "linux", target_arch = "s390x"))]
    unsafe fn linux_mmap(
        addr: usize,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> libc::c_long {
        let args: [u64; 6] = [
            addr as u64,
            len as u64,
            prot as u64,
            flags as u64,
            fd as i64 as u64,
            off as u64,
        ];
        // SAFETY: the caller's; `args` outlives the call.
        unsafe { libc::syscall(libc::SYS_mmap, args.as_ptr()) }
    }

    /// 32-bit Linux: old_mmap (x86 only; an unsigned 32-bit byte offset, so the kernel
    /// itself judges its alignment) when the offset fits it, else mmap2 with the offset in
    /// 4096-byte units. The planner makes a case whose offset neither carries not
    /// applicable (plan::mmap_offset_on_this_abi).
    #[cfg(all(target_os = "linux", target_pointer_width = "32"))]
    unsafe fn linux_mmap(
        addr: usize,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> libc::c_long {
        #[cfg(target_arch = "x86")]
        if (0..=u32::MAX as i64).contains(&off) {
            let args: [u32; 6] = [
                addr as u32,
                len as u32,
                prot as u32,
                flags as u32,
                fd as u32,
                off as u32,
            ];
            // SAFETY: the caller's; `args` outlives the call.
            return unsafe { libc::syscall(libc::SYS_mmap, args.as_ptr()) };
        }
        // SAFETY: the caller's.
        unsafe {
            libc::syscall(
                libc::SYS_mmap2,
                addr,
                len,
                prot as libc::c_long,
                flags as libc::c_long,
                fd as libc::c_long,
                (off as u64 >> 12) as libc::c_ulong,
            )
        }
    }

    /// mprotect(2); -1 on failure, with errno set.
    pub unsafe fn mprotect(addr: u64, len: usize, prot: c_int) -> i64 {
        #[cfg(target_os = "linux")]
        // SAFETY: the caller's; the kernel validates every argument.
        unsafe {
            libc::syscall(libc::SYS_mprotect, addr as usize, len, prot as libc::c_long) as i64
        }
        #[cfg(not(target_os = "linux"))]
        // SAFETY: the caller's.
        unsafe {
            libc::mprotect(addr as *mut c_void, len, prot) as i64
        }
    }
}

/// A free range of `len` bytes between two guard pages that stay mapped: private
/// PROT_NONE pages advised MADV_DONTDUMP (Linux) or MADV_NOCORE (FreeBSD), a flag that
/// keeps them from merging with what a case maps next to them. So a VMA a case observes at
/// the hole's edge is never one of the harness's own mappings that happened to lie next to
/// it (qemu-user 7.2 placed one there: "vma differs" by -0x2000, where the far smaller
/// reproducer saw +0x0). No MAP_SHARED: the harness's own memory has none. runtime.c's
/// find_hole does the same.
///
/// # Safety
/// Raw system calls on memory this function maps itself.
unsafe fn take_hole(len: usize, page: usize) -> Option<u64> {
    let total = len.checked_add(2 * page)?;
    #[cfg(target_os = "freebsd")]
    const UNMERGEABLE: libc::c_int = libc::MADV_NOCORE;
    #[cfg(not(target_os = "freebsd"))]
    const UNMERGEABLE: libc::c_int = libc::MADV_DONTDUMP;
    // SAFETY: a fresh reservation of this function's own.
    unsafe {
        let r = libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
            -1,
            0,
        );
        if r == libc::MAP_FAILED {
            return None;
        }
        let base = r as usize;
        // Advice that fails (a runtime without it) leaves plain PROT_NONE guards.
        libc::madvise(base as *mut libc::c_void, page, UNMERGEABLE);
        libc::madvise((base + page + len) as *mut libc::c_void, page, UNMERGEABLE);
        libc::munmap((base + page) as *mut libc::c_void, len);
        Some((base + page) as u64)
    }
}
