//! Execution: each planned case in its own forked child, observed from the parent.
//!
//! The parent prepares what the child needs (work files, paths, content buffers), forks,
//! and reads the child's fixed-size [`Record`] from a pipe with the case's timeout. A child
//! that hangs is killed with its whole process group; one that dies is reported, never
//! fatal to the harness. Work files live in a per-run temporary directory that is removed
//! when the [`Executor`] drops, and by the Ctrl-C handler.

mod child;
pub mod tmpfs;

use crate::model::{Fs, ObjectKind};
use crate::plan::{Plan, host_tmpfs, set_private_tmpfs};
use crate::record::{ChildEnd, Observation, Record};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the parent made for one case before fork.
pub struct Prepared {
    pub object_path: CString,
    pub content: Vec<u8>,
}

/// Serialises pipe creation and fork, so that a child never inherits the write end of
/// another case's report pipe (which would hold that pipe open past its child's exit).
static FORK_LOCK: Mutex<()> = Mutex::new(());

/// Live process groups and work directories, for the Ctrl-C handler.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static WORKDIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Kills every running case's process group and removes the work directories; for
/// interrupt handlers.
pub fn abort_all() {
    if let Ok(live) = LIVE.lock() {
        for pgid in live.iter() {
            // SAFETY: signalling process groups we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    // Before the directories: a mount point cannot be removed.
    tmpfs::unmount_all();
    if let Ok(dirs) = WORKDIRS.lock() {
        for d in dirs.iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub struct Executor {
    disk: tempfile::TempDir,
    tmpfs: Option<tempfile::TempDir>,
    /// The tmpfs this executor mounted, when the system had none and the run is root.
    mounted: Option<tmpfs::PrivateTmpfs>,
    next: AtomicUsize,
}

impl Executor {
    pub fn new() -> std::io::Result<Executor> {
        let disk = work_dir(&std::env::temp_dir())?;
        let mut mounted = None;
        let tmpfs = match host_tmpfs() {
            Some(d) => work_dir(&d).ok(),
            None if nix::unistd::geteuid().is_root() => {
                match tmpfs::PrivateTmpfs::mount_in(disk.path()) {
                    Ok(m) => {
                        let dir = work_dir(m.path()).ok();
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
        };
        Ok(Executor {
            disk,
            tmpfs,
            mounted,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs one plan in a forked child.
    pub fn run(&self, plan: &Plan) -> Observation {
        let start = Instant::now();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let prepared = match self.prepare(plan, n) {
            Ok(p) => p,
            Err(e) => {
                return Observation {
                    record: None,
                    end: ChildEnd::Broken(format!("preparing the object failed: {e}")),
                    elapsed: start.elapsed(),
                };
            }
        };
        let (record, end) = fork_and_observe(plan, &prepared);
        if let Some(o) = &plan.object
            && matches!(o.kind, ObjectKind::File | ObjectKind::Dir | ObjectKind::Shm)
        {
            let path = Path::new(std::ffi::OsStr::from_bytes(prepared.object_path.as_bytes()));
            let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir(path));
        }
        Observation {
            record,
            end,
            elapsed: start.elapsed(),
        }
    }

    fn prepare(&self, plan: &Plan, n: usize) -> std::io::Result<Prepared> {
        let mut path = PathBuf::new();
        let mut content = Vec::new();
        if let Some(o) = &plan.object {
            let content_of =
                |size: u64| (0..size).map(|i| o.content.byte_at(i)).collect::<Vec<u8>>();
            match o.kind {
                ObjectKind::File => {
                    let dir = match o.fs {
                        Fs::Disk => self.disk.path(),
                        Fs::Tmpfs => self
                            .tmpfs
                            .as_ref()
                            .map(|t| t.path())
                            .ok_or_else(|| std::io::Error::other("no tmpfs work directory"))?,
                    };
                    path = dir.join(format!("case-{n}.dat"));
                    std::fs::write(&path, content_of(o.size))?;
                    // Unprivileged cases reopen the file by path for readback.
                    set_mode(&path, 0o666)?;
                }
                ObjectKind::Dir => {
                    path = self.disk.path().join(format!("case-{n}.dir"));
                    std::fs::create_dir(&path)?;
                }
                ObjectKind::DevZero => path = "/dev/zero".into(),
                ObjectKind::DevNull => path = "/dev/null".into(),
                ObjectKind::Memfd | ObjectKind::Shm => {
                    content = content_of(o.size);
                    path = format!("/dev/shm/mmapconf-{}-{n}", std::process::id()).into();
                }
                ObjectKind::PipeRead
                | ObjectKind::PipeWrite
                | ObjectKind::Socket
                | ObjectKind::ClosedFd => {}
            }
        }
        Ok(Prepared {
            object_path: CString::new(path.as_os_str().as_bytes())
                .map_err(std::io::Error::other)?,
            content,
        })
    }
}

fn work_dir(parent: &Path) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("mmapconf-")
        .tempdir_in(parent)?;
    // Cases that drop privilege still reach their files.
    set_mode(dir.path(), 0o777)?;
    if let Ok(mut dirs) = WORKDIRS.lock() {
        dirs.push(dir.path().to_path_buf());
    }
    Ok(dir)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Ok(mut dirs) = WORKDIRS.lock() {
            dirs.retain(|d| {
                d != self.disk.path() && Some(d.as_path()) != self.tmpfs.as_ref().map(|t| t.path())
            });
        }
        // Inside out: the work directory on the private tmpfs, the tmpfs, then (as a field)
        // the disk work directory that holds its mount point.
        self.tmpfs = None;
        if self.mounted.take().is_some() {
            set_private_tmpfs(None);
        }
    }
}

fn fork_and_observe(plan: &Plan, prep: &Prepared) -> (Option<Record>, ChildEnd) {
    let guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (rx, tx) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return (None, ChildEnd::Broken(format!("pipe: {e}"))),
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
            ChildEnd::Broken(format!("fork: {}", std::io::Error::last_os_error())),
        );
    }
    // Also set here, so the group exists before any kill below, whoever runs first.
    // SAFETY: pid is our child.
    unsafe { libc::setpgid(pid, pid) };
    if let Ok(mut live) = LIVE.lock() {
        live.push(pid);
    }
    let (bytes, hung) = read_report(rx, plan.timeout);
    // SAFETY: pid is our child; killing its group also ends processes a fork step made.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: reaping our own child.
    let w = unsafe { libc::waitpid(pid, &mut status, 0) };
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|p| *p != pid);
    }
    let end = if hung {
        ChildEnd::Hung
    } else if w < 0 {
        ChildEnd::Broken(format!("waitpid: {}", std::io::Error::last_os_error()))
    } else if libc::WIFEXITED(status) {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
        ChildEnd::Broken(format!("unexpected wait status {status:#x}"))
    };
    (Record::from_bytes(&bytes), end)
}

/// Reads until EOF or the timeout. Returns the bytes and whether the timeout struck.
fn read_report(rx: OwnedFd, timeout: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + timeout;
    let mut bytes = Vec::with_capacity(std::mem::size_of::<Record>());
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
