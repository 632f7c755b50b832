//! Execution: each planned case in its own forked child, observed from the parent.
//!
//! The parent prepares what the child needs (work files, names, content buffers), forks,
//! and reads the child's report from a pipe with the case's timeout: one message per part
//! of its [`Record`], as each becomes known, so a child that dies midway still tells which
//! steps it completed. A child
//! that hangs is killed with its whole process group; one that dies is reported, never
//! fatal to the harness. Work files live in private per-run directories ([`workdir`]),
//! removed when the [`Executor`] drops, and by [`abort`] when a signal stops the run
//! ([`signals`]). A child dies with the runner (PDEATHSIG), so even SIGKILL of the runner
//! leaves no case running; the next run removes the directories it left.

mod child;
pub(crate) mod locks;
pub(crate) mod maps;
#[cfg(target_os = "linux")]
pub mod noexec;
pub mod signals;
pub mod tmpfs;
pub mod workdir;

use crate::model::{Fs, ObjectKind};
use crate::names::os_error;
use crate::plan::{CallPlan, Plan, ShmNamePlan, host_tmpfs, set_private_tmpfs};
use crate::record::{ChildEnd, Observation, Record};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use workdir::WorkDir;

/// The uid an `unprivileged` case drops to (exec::child).
pub const UNPRIVILEGED_UID: u32 = 65534;

/// What the parent made for one case before fork.
pub struct Prepared {
    /// An absolute path (/dev/zero, /dev/null, the /dev/shm fallback) when `dir_fd` is -1.
    pub object_path: CString,
    /// The work directory holding the object, which the child opens as `name` relative to
    /// it; -1 for none.
    pub dir_fd: libc::c_int,
    pub name: CString,
    /// `fs = "noexec"`: the empty directory (relative to `dir_fd`) on which the child
    /// mounts its private noexec tmpfs; `name` is the file inside it, which the child
    /// creates and fills. Empty otherwise.
    pub mount_dir: CString,
    pub content: Vec<u8>,
    /// A shm_open call's name: on Linux relative to `shm_dir_fd` (the private tmpfs work
    /// directory: glibc's shm_open opens a file on the /dev/shm tmpfs), on FreeBSD an
    /// absolute shm path (`/mmapconf-<pid>-<n>`) the parent shm_unlinks after the case.
    pub shm_name: CString,
    pub shm_dir_fd: libc::c_int,
    /// The runner's pid, which the child checks after asking to die with it.
    pub parent_pid: libc::pid_t,
    /// [`testing::STOP_BEFORE_EXIT`] as it was before fork.
    pub stop_before_exit: bool,
}

/// Hooks for the harness's own tests; the suite never sets them.
#[doc(hidden)]
pub mod testing {
    use std::sync::atomic::{AtomicBool, AtomicI32};

    /// When set, every process of a case (its child, and the one a fork step makes)
    /// stops itself with SIGSTOP just before it ends, after its last report message but
    /// the end mark, so that a test can read its /proc/PID/maps, then continue or kill it.
    pub static STOP_BEFORE_EXIT: AtomicBool = AtomicBool::new(false);
    /// The pid of the last case child forked.
    pub static LAST_CHILD: AtomicI32 = AtomicI32::new(0);
}

/// Serialises pipe creation and fork, so that a child never inherits the write end of
/// another case's report pipe (which would hold that pipe open past its child's exit).
static FORK_LOCK: Mutex<()> = Mutex::new(());

/// Held shared by everything that creates a work entry or forks, from the creation until
/// the result is registered in [`LIVE`] or [`WORKDIRS`]; [`abort`] takes it exclusively
/// and for good, so that nothing is created or forked once it has started killing and
/// removing. The flag says an abort has begun.
static GATE: RwLock<bool> = RwLock::new(false);

/// Live process groups and work directories, for [`abort`].
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static WORKDIRS: Mutex<Vec<Arc<WorkDir>>> = Mutex::new(Vec::new());

/// What [`abort`] did.
pub struct Aborted {
    /// Running cases (process groups) killed.
    pub killed: usize,
    /// Cases still not reaped when abort gave up waiting (0 in practice).
    pub unreaped: usize,
    /// Work directories that could not be removed, with why.
    pub not_removed: Vec<String>,
}

/// Stops the run for good: no new work file or fork from here on, every running case's
/// process group killed, their reaping awaited (by the threads that forked them), then the
/// work directories removed. For signal handlers; the process is expected to exit next.
pub fn abort() -> Aborted {
    let mut gate = GATE.write().unwrap_or_else(|e| e.into_inner());
    *gate = true;
    // Never released: workers wanting to create or fork wait here until the exit.
    std::mem::forget(gate);
    let kill_all = || {
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        for pgid in live.iter() {
            // SAFETY: signalling process groups we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        live.len()
    };
    let killed = kill_all();
    // A case's files are closed and its group gone only once its worker has reaped it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut unreaped = killed;
    while unreaped > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
        unreaped = kill_all();
    }
    // Before the directories: a mount point cannot be removed.
    tmpfs::unmount_all();
    let dirs = WORKDIRS.lock().unwrap_or_else(|e| e.into_inner());
    let not_removed = dirs
        .iter()
        .filter_map(|d| {
            d.remove_all()
                .err()
                .map(|e| format!("{}: {e}", d.path().display()))
        })
        .collect();
    // Kept locked: an Executor dropped now must not touch the list.
    std::mem::forget(dirs);
    Aborted {
        killed,
        unreaped,
        not_removed,
    }
}

pub struct Executor {
    disk: Arc<WorkDir>,
    tmpfs: Option<Arc<WorkDir>>,
    tmpfs_errno: Option<i32>,
    /// The tmpfs this executor mounted, when the system had none and the run is root.
    mounted: Option<tmpfs::PrivateTmpfs>,
    next: AtomicUsize,
}

impl Executor {
    /// Removes the work directories dead runs left, then makes this run's: one under
    /// `$TMPDIR`, one on a tmpfs when there is one.
    pub fn new() -> std::io::Result<Executor> {
        let gate = GATE.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return Err(std::io::Error::other("the run is stopping"));
        }
        let tmp = std::env::temp_dir();
        let shm = host_tmpfs();
        workdir::remove_stale(&tmp);
        if let Some(d) = shm.as_deref().filter(|d| *d != tmp) {
            workdir::remove_stale(d);
        }
        let disk = Arc::new(WorkDir::create(&tmp)?);
        let mut mounted = None;
        // Why a tmpfs work directory could not be made where there is a tmpfs: its cases
        // are then broken with that errno (EMFILE, ENOSPC), not failed.
        let mut tmpfs_errno = None;
        let tmpfs = match shm {
            Some(d) => WorkDir::create(&d)
                .map_err(|e| tmpfs_errno = e.raw_os_error())
                .ok(),
            // No tmpfs on the system (FreeBSD by default): a root run mounts its own inside
            // its private work directory.
            None if nix::unistd::geteuid().is_root() => {
                match tmpfs::PrivateTmpfs::mount_in(disk.path()) {
                    Ok(m) => {
                        let dir = WorkDir::create(m.path()).ok();
                        set_private_tmpfs(Some(m.path().to_path_buf()));
                        mounted = Some(m);
                        dir
                    }
                    Err(e) => {
                        // The tmpfs cases then say they are not applicable, and why.
                        eprintln!("note: no tmpfs for the tmpfs cases: {e}");
                        None
                    }
                }
            }
            None => None,
        }
        .map(Arc::new);
        let mut dirs = WORKDIRS.lock().unwrap_or_else(|e| e.into_inner());
        dirs.push(Arc::clone(&disk));
        dirs.extend(tmpfs.iter().cloned());
        drop(gate);
        Ok(Executor {
            disk,
            tmpfs,
            tmpfs_errno,
            mounted,
            next: AtomicUsize::new(0),
        })
    }

    /// This run's work directories, for tests and diagnostics.
    pub fn work_dirs(&self) -> Vec<std::path::PathBuf> {
        std::iter::once(&self.disk)
            .chain(self.tmpfs.iter())
            .map(|d| d.path().to_path_buf())
            .collect()
    }

    /// Runs one plan in a forked child.
    pub fn run(&self, plan: &Plan) -> Observation {
        let start = Instant::now();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let broken = |why: String| Observation {
            record: None,
            end: ChildEnd::Broken(why),
            elapsed: start.elapsed(),
        };
        let gate = GATE.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return broken("the run is stopping".into());
        }
        let (prepared, made) = match self.prepare(plan, n) {
            Ok(p) => p,
            Err(e) => return broken(format!("preparing the case's object: {}", os_error(&e))),
        };
        let (record, end) = fork_and_observe(plan, &prepared, gate);
        if let Some(dir) = made {
            // An append-only file has its attribute cleared first (workdir's remove); a
            // noexec object's mount ended with the child's namespace, its directory is
            // empty here.
            if prepared.mount_dir.is_empty() {
                dir.remove(&prepared.name);
            } else {
                dir.remove(&prepared.mount_dir);
            }
        }
        self.remove_shm_name(plan, &prepared);
        Observation {
            record,
            end,
            elapsed: start.elapsed(),
        }
    }

    fn tmpfs_dir(&self) -> std::io::Result<&WorkDir> {
        self.tmpfs.as_deref().ok_or_else(|| match self.tmpfs_errno {
            Some(e) => std::io::Error::from_raw_os_error(e),
            None => std::io::Error::other("no tmpfs work directory"),
        })
    }

    /// The child's inputs, and the work directory in which an entry was made for it.
    fn prepare(&self, plan: &Plan, n: usize) -> std::io::Result<(Prepared, Option<&WorkDir>)> {
        let mut prep = Prepared {
            object_path: CString::default(),
            dir_fd: -1,
            name: CString::default(),
            mount_dir: CString::default(),
            content: Vec::new(),
            shm_name: CString::default(),
            shm_dir_fd: -1,
            parent_pid: std::process::id() as libc::pid_t,
            stop_before_exit: testing::STOP_BEFORE_EXIT.load(Ordering::Relaxed),
        };
        let mut made = None;
        // Only the uid a case drops to gets its entry; else it stays ours alone.
        let owner = plan.drop_privilege.then_some(UNPRIVILEGED_UID);
        if let Some(o) = &plan.object {
            let content_of =
                |size: u64| (0..size).map(|i| o.content.byte_at(i)).collect::<Vec<u8>>();
            match o.kind {
                ObjectKind::File if o.fs == Fs::Noexec => {
                    // The child mounts the tmpfs in its own namespace and makes the file.
                    prep.mount_dir =
                        CString::new(format!("case-{n}.noexec")).map_err(std::io::Error::other)?;
                    prep.name = CString::new(format!("case-{n}.noexec/case-{n}.dat"))
                        .map_err(std::io::Error::other)?;
                    self.disk.create_dir(&prep.mount_dir, None)?;
                    prep.content = content_of(o.size);
                    prep.dir_fd = self.disk.raw_fd();
                    made = Some(&*self.disk);
                }
                ObjectKind::File => {
                    let dir = match o.fs {
                        Fs::Disk | Fs::Storage | Fs::Noexec => &*self.disk,
                        Fs::Tmpfs => self.tmpfs_dir()?,
                    };
                    prep.name =
                        CString::new(format!("case-{n}.dat")).map_err(std::io::Error::other)?;
                    match o.attr {
                        None => dir.create_file(&prep.name, &content_of(o.size), owner)?,
                        Some(crate::model::Attr::AppendOnly) => {
                            dir.create_file_append_only(&prep.name, &content_of(o.size), owner)?
                        }
                    }
                    prep.dir_fd = dir.raw_fd();
                    made = Some(dir);
                }
                ObjectKind::Dir => {
                    prep.name =
                        CString::new(format!("case-{n}.dir")).map_err(std::io::Error::other)?;
                    self.disk.create_dir(&prep.name, owner)?;
                    prep.dir_fd = self.disk.raw_fd();
                    made = Some(&*self.disk);
                }
                ObjectKind::DevZero => prep.object_path = c"/dev/zero".into(),
                ObjectKind::DevNull => prep.object_path = c"/dev/null".into(),
                ObjectKind::DevRandom => prep.object_path = c"/dev/random".into(),
                ObjectKind::Memfd | ObjectKind::Shm => {
                    prep.content = content_of(o.size);
                    // A shm object is a file on a tmpfs (Linux's shm_open opens one under
                    // /dev/shm): the child makes it in the private tmpfs directory with
                    // O_EXCL and unlinks it at once. Without one, a /dev/shm name with the
                    // pid, O_EXCL and O_NOFOLLOW (FreeBSD uses SHM_ANON: no name at all).
                    prep.name = CString::new(format!("shm-{n}")).map_err(std::io::Error::other)?;
                    match &self.tmpfs {
                        Some(t) => {
                            prep.dir_fd = t.raw_fd();
                            made = Some(&**t);
                        }
                        None => {
                            prep.object_path = CString::new(format!(
                                "/dev/shm/mmapconf-{}-{n}",
                                std::process::id()
                            ))
                            .map_err(std::io::Error::other)?;
                        }
                    }
                }
                ObjectKind::PipeRead
                | ObjectKind::PipeWrite
                | ObjectKind::Socket
                | ObjectKind::TcpSocket
                | ObjectKind::ClosedFd => {}
            }
        }
        if let CallPlan::ShmOpen { name, .. } = plan.call {
            self.prepare_shm_name(&mut prep, name, n, owner)?;
        }
        Ok((prep, made))
    }

    /// The name a shm_open call passes, made up for this case, and the object of
    /// `name = "existing"`, made before fork.
    fn prepare_shm_name(
        &self,
        prep: &mut Prepared,
        name: ShmNamePlan,
        n: usize,
        owner: Option<u32>,
    ) -> std::io::Result<()> {
        let base = shm_base_name(n);
        let text = match name {
            // NAME_MAX (255 on both) + 1 bytes in one component.
            ShmNamePlan::TooLongComponent => shm_prefix() + &"n".repeat(NAME_MAX + 1),
            // PATH_MAX (this OS's, from libc) + 1 bytes in all.
            ShmNamePlan::TooLong => {
                let p = shm_prefix();
                let mut t = p.clone();
                while t.len() < PATH_MAX_LEN + 1 {
                    t.push_str(&"l".repeat(200.min(PATH_MAX_LEN + 1 - t.len())));
                    if t.len() < PATH_MAX_LEN + 1 {
                        t.push('/');
                    }
                }
                t
            }
            _ => shm_prefix() + &base,
        };
        prep.shm_name = CString::new(text).map_err(std::io::Error::other)?;
        #[cfg(not(target_os = "freebsd"))]
        {
            let dir = self.tmpfs_dir()?;
            prep.shm_dir_fd = dir.raw_fd();
            if let ShmNamePlan::Existing { mode, size } = name {
                let content: Vec<u8> = (0..size.max(0) as u64)
                    .map(crate::model::seq_byte)
                    .collect();
                dir.create_file_mode(&prep.shm_name, &content, owner, mode)?;
            }
        }
        #[cfg(target_os = "freebsd")]
        {
            // Listed before it can exist: a run killed from here on leaves it to the sweep.
            self.disk.record_shm_name(&prep.shm_name)?;
            if let ShmNamePlan::Existing { mode, size } = name {
                let _ = owner;
                freebsd_shm::create(&prep.shm_name, mode, size)?;
            }
        }
        Ok(())
    }

    /// Removes the name a shm_open case made or let the call create: relative to the
    /// private tmpfs directory (never following a symlink), or with shm_unlink on FreeBSD.
    fn remove_shm_name(&self, plan: &Plan, prep: &Prepared) {
        if !matches!(plan.call, CallPlan::ShmOpen { .. }) || prep.shm_name.is_empty() {
            return;
        }
        #[cfg(not(target_os = "freebsd"))]
        if let Some(t) = &self.tmpfs {
            t.remove(&prep.shm_name);
        }
        #[cfg(target_os = "freebsd")]
        freebsd_shm::unlink(&prep.shm_name);
    }
}

/// NAME_MAX of both OSes' file systems and shm namespaces.
const NAME_MAX: usize = 255;
/// PATH_MAX: what a name longer than fails with ENAMETOOLONG.
const PATH_MAX_LEN: usize = libc::PATH_MAX as usize;

/// A shm name's prefix: none on Linux (the name is relative to the private tmpfs work
/// directory), `/` on FreeBSD (an absolute shm path).
fn shm_prefix() -> String {
    if cfg!(target_os = "freebsd") {
        "/".into()
    } else {
        String::new()
    }
}

/// The unique part of a shm_open case's name.
fn shm_base_name(n: usize) -> String {
    if cfg!(target_os = "freebsd") {
        format!(
            "mmapconf-{}-{:08x}-shm-{n}",
            std::process::id(),
            crate::atomic::random_suffix() as u32
        )
    } else {
        format!("shm-open-{n}")
    }
}

/// FreeBSD's shm namespace is not a file system: the parent makes and removes names there
/// with shm_open(2) and shm_unlink(2), exclusively.
#[cfg(target_os = "freebsd")]
mod freebsd_shm {
    use std::ffi::CStr;

    pub fn create(name: &CStr, mode: u32, size: i64) -> std::io::Result<()> {
        // SAFETY: a name we made up; O_EXCL, so never another's object.
        let fd = unsafe {
            libc::shm_open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let content: Vec<u8> = (0..size.max(0) as u64)
            .map(crate::model::seq_byte)
            .collect();
        // SAFETY: our own descriptor.
        let ok = unsafe {
            libc::write(fd, content.as_ptr().cast(), content.len()) == content.len() as isize
                && libc::fchmod(fd, mode as libc::mode_t) == 0
        };
        let e = std::io::Error::last_os_error();
        // SAFETY: as above.
        unsafe { libc::close(fd) };
        if ok {
            Ok(())
        } else {
            unlink(name);
            Err(e)
        }
    }

    pub fn unlink(name: &CStr) {
        // SAFETY: a name this run made up.
        unsafe { libc::shm_unlink(name.as_ptr()) };
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let mut dirs = WORKDIRS.lock().unwrap_or_else(|e| e.into_inner());
        dirs.retain(|d| {
            !Arc::ptr_eq(d, &self.disk) && !self.tmpfs.as_ref().is_some_and(|t| Arc::ptr_eq(d, t))
        });
        // Inside out: the work directory on the private tmpfs, the tmpfs, then the disk
        // work directory that holds its mount point.
        if let Some(t) = &self.tmpfs {
            let _ = t.remove_all();
        }
        self.tmpfs = None;
        if self.mounted.take().is_some() {
            set_private_tmpfs(None);
        }
        let _ = self.disk.remove_all();
    }
}

/// Forks the case's child; `gate` (held shared since the case's entry was made) is
/// released once the child is in [`LIVE`], where [`abort`] finds it.
fn fork_and_observe(
    plan: &Plan,
    prep: &Prepared,
    gate: std::sync::RwLockReadGuard<'_, bool>,
) -> (Option<Record>, ChildEnd) {
    let guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (rx, tx) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => {
            let e = std::io::Error::from_raw_os_error(e as i32);
            return (None, ChildEnd::Broken(format!("pipe: {}", os_error(&e))));
        }
    };
    // SAFETY: the child runs only async-signal-safe code (exec::child) and never returns.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: we are the freshly forked child.
        unsafe { child::run(plan, prep, tx.as_raw_fd()) }
    }
    drop(tx);
    drop(guard);
    if pid < 0 {
        return (
            None,
            ChildEnd::Broken(format!(
                "fork: {}",
                os_error(&std::io::Error::last_os_error())
            )),
        );
    }
    // Also set here, so the group exists before any kill below, whoever runs first.
    // SAFETY: pid is our child.
    unsafe { libc::setpgid(pid, pid) };
    testing::LAST_CHILD.store(pid, Ordering::Relaxed);
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    drop(gate);
    let (bytes, hung) = read_report(rx, plan.timeout);
    // SAFETY: pid is our child; killing its group also ends processes a fork step made.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: reaping our own child.
    let w = unsafe { libc::waitpid(pid, &mut status, 0) };
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
    let end = if hung {
        ChildEnd::Hung
    } else if w < 0 {
        ChildEnd::Broken(format!(
            "waitpid: {}",
            os_error(&std::io::Error::last_os_error())
        ))
    } else if libc::WIFEXITED(status) {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
        ChildEnd::Broken(format!("unexpected wait status {status:#x}"))
    };
    // A complete report, or the parts a child killed midway sent before it died (the
    // judge then sees which steps ran). A child that exited without finishing its report
    // could not write to its pipe: that is the harness's trouble, shown as no record.
    let record = Record::from_messages(&bytes)
        .filter(|f| f.complete || matches!(end, ChildEnd::Signaled(_) | ChildEnd::Hung))
        .map(|f| f.record);
    (record, end)
}

/// Reads until EOF or the timeout. Returns the bytes and whether the timeout struck.
fn read_report(rx: OwnedFd, timeout: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + timeout;
    let mut bytes = Vec::with_capacity(4 * crate::record::Message::SIZE);
    let mut buf = [0u8; 1024];
    // SAFETY: rx is a valid owned descriptor; the File takes ownership.
    let mut file = unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(rx)) };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (bytes, true);
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return (bytes, false);
        }
        if r == 0 {
            continue;
        }
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) => return (bytes, false),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (bytes, false),
        }
    }
}
