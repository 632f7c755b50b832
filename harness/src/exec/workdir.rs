//! Private work directories, safe beside other users of a shared machine.
//!
//! A work directory is `mmapconf-<pid>-<random>` under `$TMPDIR` or the tmpfs directory,
//! made with mkdirat, owned by us, mode 0711: no one else can list it or create in it, and
//! a case that drops to uid 65534 can still reach the one entry given to that uid (fchown
//! on the entry's descriptor; every other entry is 0600 or 0700). Every entry is made and
//! removed relative to the directory's descriptor (openat with O_CREAT|O_EXCL|O_NOFOLLOW,
//! mkdirat, unlinkat), so nothing here ever follows a symlink.
//!
//! Each directory holds [`LOCK`], flock'ed by the runner for the directory's lifetime and
//! inherited by its cases. A directory whose lock can be taken belongs to a runner that is
//! dead along with all its cases (SIGKILL leaves it behind), and [`remove_stale`] removes it.
//!
//! Names outside the directory that a run makes (FreeBSD's shm names, which live in the
//! kernel's shm namespace, not in a file system) are written to [`SHM_LEDGER`] before they
//! exist, so that the sweep of a killed run removes them too.

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{Mode, fstat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The lock file inside each work directory.
pub const LOCK: &str = "lock";
/// Work directory names start with this, then `<pid>-<random>`.
pub const PREFIX: &str = "mmapconf-";
/// The list of shm names a run made or let a case create, one per line.
pub const SHM_LEDGER: &CStr = c"shm-names";
/// The mode of a work directory; [`remove_stale`] removes only directories with exactly it.
pub const DIR_MODE: u32 = 0o711;

pub struct WorkDir {
    path: PathBuf,
    name: CString,
    parent: OwnedFd,
    dir: OwnedFd,
    /// Held open (and flock'ed) for as long as the directory is in use.
    _lock: OwnedFd,
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The permission bits of `st` (mode_t is 16 bits on FreeBSD, 32 on Linux).
#[allow(clippy::useless_conversion)]
fn perm_bits(st: &nix::sys::stat::FileStat) -> u32 {
    u32::from(st.st_mode) & 0o7777
}

/// Opens a directory without following a symlink in its last component.
fn open_dir_at(parent: BorrowedFd, name: &CStr) -> nix::Result<OwnedFd> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

impl WorkDir {
    /// Makes a new private work directory in `parent` and takes its lock.
    pub fn create(parent: &Path) -> io::Result<WorkDir> {
        let parent_fd = nix::fcntl::open(
            parent,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        // The errno itself, not a message: a case that needed this directory is broken
        // with it (EMFILE, ENOENT), by name.
        .map_err(io_err)?;
        for _ in 0..100 {
            let name = format!(
                "{PREFIX}{}-{:016x}",
                std::process::id(),
                crate::atomic::random_suffix()
            );
            let cname = CString::new(name.clone()).map_err(io::Error::other)?;
            match nix::sys::stat::mkdirat(&parent_fd, cname.as_c_str(), Mode::S_IRWXU) {
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(io_err(e)),
                Ok(()) => {}
            }
            let dir = open_dir_at(parent_fd.as_fd(), &cname).map_err(io_err)?;
            // The name in a world-writable parent could have been swapped between mkdirat
            // and openat: what we opened must be ours and as we made it.
            let st = fstat(&dir).map_err(io_err)?;
            if st.st_uid != nix::unistd::geteuid().as_raw() || perm_bits(&st) != 0o700 {
                return Err(io::Error::other(format!(
                    "{}: the new work directory was replaced by another user's",
                    parent.join(&name).display()
                )));
            }
            nix::sys::stat::fchmod(&dir, Mode::from_bits_truncate(DIR_MODE as libc::mode_t))
                .map_err(io_err)?;
            let lock = openat(
                &dir,
                LOCK,
                OFlag::O_RDWR
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::S_IRUSR | Mode::S_IWUSR,
            )
            .map_err(io_err)?;
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // A stale-directory sweep by another run may have taken the lock first and
            // removed the directory: then the lock file is gone and we start again.
            if fstat(&lock).map_err(io_err)?.st_nlink == 0 {
                continue;
            }
            return Ok(WorkDir {
                path: parent.join(name),
                name: cname,
                parent: parent_fd,
                dir,
                _lock: lock,
            });
        }
        Err(io::Error::other(format!(
            "{}: no free work directory name after 100 tries",
            parent.display()
        )))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory's descriptor; cases open their entries relative to it.
    pub fn raw_fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    /// Creates file `name` holding `content`, mode 0600, owned by `owner` when given
    /// (the uid a case drops to), else by us.
    pub fn create_file(&self, name: &CStr, content: &[u8], owner: Option<u32>) -> io::Result<()> {
        self.new_file(name, content, owner).map(drop)
    }

    /// Creates file `name` as [`create_file`](Self::create_file), then makes it
    /// append-only ([`set_append_only`]). On failure the file is removed again.
    pub fn create_file_append_only(
        &self,
        name: &CStr,
        content: &[u8],
        owner: Option<u32>,
    ) -> io::Result<()> {
        let file = self.new_file(name, content, owner)?;
        let r = set_append_only(file.as_fd(), true);
        drop(file);
        if r.is_err() {
            self.remove(name);
        }
        r
    }

    /// Creates file `name` as [`create_file`](Self::create_file), then gives it `mode`
    /// (fchmod of the descriptor we made: never a path). A shm_open case's existing object.
    pub fn create_file_mode(
        &self,
        name: &CStr,
        content: &[u8],
        owner: Option<u32>,
        mode: u32,
    ) -> io::Result<()> {
        let file = self.new_file(name, content, owner)?;
        nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(mode as libc::mode_t))
            .map_err(io_err)
    }

    /// The new file of [`create_file`](Self::create_file), still open: never an existing
    /// name, never through a symlink.
    fn new_file(
        &self,
        name: &CStr,
        content: &[u8],
        owner: Option<u32>,
    ) -> io::Result<std::fs::File> {
        let fd = openat(
            &self.dir,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(io_err)?;
        let mut file = std::fs::File::from(fd);
        std::io::Write::write_all(&mut file, content)?;
        give(file.as_fd(), owner)?;
        Ok(file)
    }

    /// Appends `name` to [`SHM_LEDGER`]: called before the name can exist, so that a run
    /// killed at any point leaves it listed.
    pub fn record_shm_name(&self, name: &CStr) -> io::Result<()> {
        let fd = openat(
            &self.dir,
            SHM_LEDGER,
            OFlag::O_WRONLY
                | OFlag::O_APPEND
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(io_err)?;
        let mut line = name.to_bytes().to_vec();
        line.push(b'\n');
        std::io::Write::write_all(&mut std::fs::File::from(fd), &line)
    }

    /// Creates directory `name`, mode 0700, owned by `owner` when given.
    pub fn create_dir(&self, name: &CStr, owner: Option<u32>) -> io::Result<()> {
        nix::sys::stat::mkdirat(&self.dir, name, Mode::S_IRWXU).map_err(io_err)?;
        let fd = open_dir_at(self.dir.as_fd(), name).map_err(io_err)?;
        give(fd.as_fd(), owner)
    }

    /// Removes entry `name` (a file, or a directory tree), never following a symlink.
    pub fn remove(&self, name: &CStr) {
        remove_entry(self.dir.as_fd(), name);
    }

    /// Removes the directory and all it holds.
    pub fn remove_all(&self) -> io::Result<()> {
        remove_contents(self.dir.as_fd());
        unlinkat(&self.parent, self.name.as_c_str(), UnlinkatFlags::RemoveDir).map_err(io_err)
    }
}

/// Hands an entry to `owner` (the only uid besides ours that may then open it).
fn give(fd: BorrowedFd, owner: Option<u32>) -> io::Result<()> {
    if let Some(uid) = owner {
        nix::unistd::fchown(
            fd,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(uid)),
        )
        .map_err(io_err)?;
    }
    Ok(())
}

/// Linux FS_APPEND_FL (include/uapi/linux/fs.h); the libc crate lacks it.
#[cfg(target_os = "linux")]
const FS_APPEND_FL: libc::c_int = 0x20;

/// Sets (`on`) or clears the append-only attribute of the open file `fd`: Linux
/// FS_IOC_SETFLAGS with FS_APPEND_FL (CAP_LINUX_IMMUTABLE), FreeBSD fchflags UF_APPEND
/// (the owner may). The other flags are kept as they are.
pub fn set_append_only(fd: BorrowedFd, on: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let mut flags: libc::c_int = 0;
        // SAFETY: FS_IOC_GETFLAGS writes one int (the kernel's ioctl takes an int despite
        // the macro's long) to our variable.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let new = if on {
            flags | FS_APPEND_FL
        } else {
            flags & !FS_APPEND_FL
        };
        if new == flags {
            return Ok(());
        }
        // SAFETY: FS_IOC_SETFLAGS reads one int from our variable.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_SETFLAGS, &new) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(target_os = "freebsd")]
    {
        let st = fstat(fd).map_err(io_err)?;
        let flags = st.st_flags as libc::c_ulong;
        let new = if on {
            flags | libc::UF_APPEND
        } else {
            flags & !(libc::UF_APPEND | libc::SF_APPEND)
        };
        if new == flags {
            return Ok(());
        }
        // SAFETY: fchflags on a descriptor we own.
        if unsafe { libc::fchflags(fd.as_raw_fd(), new) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    {
        let _ = (fd, on);
        Err(io::Error::from_raw_os_error(libc::ENOTSUP))
    }
}

/// Clears the append-only attribute of regular file `name` in `dir` (an append-only file
/// cannot be unlinked). Returns whether the file was opened and the attribute is now off.
fn clear_append_only_at(dir: BorrowedFd, name: &CStr) -> bool {
    // O_NONBLOCK: a FIFO planted under the name must not block the open.
    let Ok(fd) = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let regular = fstat(&fd).is_ok_and(|st| {
        nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT
            == nix::sys::stat::SFlag::S_IFREG
    });
    regular && set_append_only(fd.as_fd(), false).is_ok()
}

/// Unlinks `name` in `dir`; a directory is emptied first, an append-only file has the
/// attribute cleared first. Symlinks are removed, never followed.
fn remove_entry(dir: BorrowedFd, name: &CStr) {
    let mut r = unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
    // An append-only file (the `attr` cases): Linux and FreeBSD answer EPERM.
    if r == Err(Errno::EPERM) && clear_append_only_at(dir, name) {
        r = unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
    }
    // Linux answers EISDIR for a directory, FreeBSD EPERM.
    if let Err(Errno::EISDIR | Errno::EPERM) = r {
        if let Ok(sub) = open_dir_at(dir, name) {
            remove_contents(sub.as_fd());
        }
        let _ = unlinkat(dir, name, UnlinkatFlags::RemoveDir);
    }
}

/// Removes every entry of the open directory `dir`.
fn remove_contents(dir: BorrowedFd) {
    // A second descriptor for reading: nix's Dir owns and closes the one it is given.
    let Ok(reader) = open_dir_at(dir, c".") else {
        return;
    };
    let Ok(mut d) = nix::dir::Dir::from_fd(reader) else {
        return;
    };
    let names: Vec<CString> = d
        .iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for n in names {
        remove_entry(dir, &n);
    }
}

/// Removes the work directories in `parent` left by runs that are dead: named like ours,
/// a real directory (not a symlink) owned by our uid with mode [`DIR_MODE`], whose lock
/// file exists and can be taken. Returns how many were removed.
pub fn remove_stale(parent: &Path) -> usize {
    let Ok(parent_fd) = nix::fcntl::open(
        parent,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return 0;
    };
    let Ok(rd) = std::fs::read_dir(parent) else {
        return 0;
    };
    let me = nix::unistd::geteuid().as_raw();
    let mut removed = 0;
    for entry in rd.filter_map(Result::ok) {
        let name = entry.file_name();
        if !is_work_dir_name(&name) {
            continue;
        }
        let Ok(cname) = CString::new(name.as_bytes()) else {
            continue;
        };
        let Ok(dir) = open_dir_at(parent_fd.as_fd(), &cname) else {
            continue; // a symlink, or not a directory
        };
        let Ok(st) = fstat(&dir) else { continue };
        // A runner killed between mkdirat and its lock leaves a 0700 directory with no
        // lock: the pid in its name, dead, says it is stale.
        let runner_dead = name_pid(&name).is_some_and(|p| !crate::atomic::process_alive(p));
        let mode = perm_bits(&st);
        if st.st_uid != me || !(mode == DIR_MODE || (mode == 0o700 && runner_dead)) {
            continue;
        }
        match openat(
            &dir,
            LOCK,
            OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            // SAFETY: flock on a descriptor we own.
            Ok(lock) => {
                if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                    continue; // its runner, or one of its cases, still lives
                }
            }
            Err(_) if runner_dead => {}
            Err(_) => continue,
        }
        // The lock file goes first, so that a runner that made this directory and is
        // waiting for its lock sees it unlinked and starts again elsewhere.
        let _ = unlinkat(&dir, LOCK, UnlinkatFlags::NoRemoveDir);
        if let Some(pid) = name_pid(&name) {
            for shm in ledger_names(dir.as_fd(), pid) {
                unlink_shm(&shm);
            }
        }
        remove_contents(dir.as_fd());
        if unlinkat(&parent_fd, cname.as_c_str(), UnlinkatFlags::RemoveDir).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The names in a dead run's [`SHM_LEDGER`] that that run (`pid`) made up: exactly
/// `/mmapconf-<pid>-<8 hex digits>-shm-<digits>`, so a planted line can name nothing else.
fn ledger_names(dir: BorrowedFd, pid: i32) -> Vec<CString> {
    let Ok(fd) = openat(
        dir,
        SHM_LEDGER,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    let mut text = Vec::new();
    if std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut text).is_err() {
        return Vec::new();
    }
    text.split(|b| *b == b'\n')
        .filter(|line| is_shm_name_of(line, pid))
        .filter_map(|line| CString::new(line).ok())
        .collect()
}

/// `/mmapconf-<pid>-<8 hex digits>-shm-<digits>`: a shm name run `pid` made up.
fn is_shm_name_of(line: &[u8], pid: i32) -> bool {
    let head = format!("/{PREFIX}{pid}-");
    let Some(rest) = line.strip_prefix(head.as_bytes()) else {
        return false;
    };
    let (hex, tail) = rest.split_at(rest.len().min(8));
    let Some(n) = tail.strip_prefix(b"-shm-") else {
        return false;
    };
    hex.len() == 8
        && hex.iter().all(u8::is_ascii_hexdigit)
        && !n.is_empty()
        && n.iter().all(u8::is_ascii_digit)
}

/// Removes a dead run's shm name (FreeBSD's shm namespace; elsewhere a run's names are
/// entries of its own directories, removed with them).
fn unlink_shm(name: &CStr) {
    #[cfg(target_os = "freebsd")]
    // SAFETY: a NUL-terminated name of the form a dead run of ours made up.
    unsafe {
        libc::shm_unlink(name.as_ptr());
    }
    #[cfg(not(target_os = "freebsd"))]
    let _ = name;
}

/// The runner's pid in a work directory's name.
fn name_pid(name: &OsStr) -> Option<i32> {
    crate::atomic::pid_at(name.as_bytes().strip_prefix(PREFIX.as_bytes())?)
}

/// `mmapconf-<digits>-<16 hex digits>`: the names [`WorkDir::create`] makes, and no other
/// (`/tmp/mmapconf-report`, a PID-1 run's output, is not one).
fn is_work_dir_name(name: &OsStr) -> bool {
    let Some(rest) = name.as_bytes().strip_prefix(PREFIX.as_bytes()) else {
        return false;
    };
    let mut parts = rest.splitn(2, |b| *b == b'-');
    let pid = parts.next().unwrap_or_default();
    let suffix = parts.next().unwrap_or_default();
    !pid.is_empty()
        && pid.iter().all(u8::is_ascii_digit)
        && suffix.len() == 16
        && suffix.iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_work_directory_is_private_and_holds_its_lock() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        let m = std::fs::symlink_metadata(w.path()).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, DIR_MODE);
        let lock = std::fs::symlink_metadata(w.path().join(LOCK)).unwrap();
        assert_eq!(lock.permissions().mode() & 0o7777, 0o600);
        assert_eq!(
            remove_stale(parent.path()),
            0,
            "a live directory is not stale"
        );
        assert!(w.path().exists());
    }

    /// A runner killed between mkdirat and its lock file leaves a 0700 directory without a
    /// lock; the dead pid in its name makes it stale, a live one keeps it.
    #[test]
    fn a_lockless_directory_of_a_dead_runner_is_removed_and_a_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = parent
            .path()
            .join(format!("{PREFIX}{}-00000000000000dd", child.id()));
        let live = parent
            .path()
            .join(format!("{PREFIX}{}-00000000000000ee", std::process::id()));
        for d in [&dead, &live] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        assert_eq!(remove_stale(parent.path()), 1);
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_dead_runs_directory_is_removed_and_nothing_else_is() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        w.create_file(c"case-0.dat", b"x", None).unwrap();
        w.create_dir(c"case-1.dir", None).unwrap();
        let path = w.path().to_path_buf();
        // Forget the WorkDir's descriptors as a killed runner would: close them unremoved.
        drop(w);
        assert!(path.exists());
        // Look-alikes that must stay: wrong mode, no lock, a symlink, another name.
        let p = parent.path();
        let other = p.join("mmapconf-1-00000000000000aa");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(LOCK), "").unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();
        let nolock = p.join("mmapconf-1-00000000000000bb");
        std::fs::create_dir(&nolock).unwrap();
        std::fs::set_permissions(&nolock, std::fs::Permissions::from_mode(DIR_MODE)).unwrap();
        std::os::unix::fs::symlink(&path, p.join("mmapconf-1-00000000000000cc")).unwrap();
        let report = p.join("mmapconf-report");
        std::fs::create_dir(&report).unwrap();
        // A child forked by another test of this process (a case's) holds a copy of the
        // lock's descriptor until it exits: the directory is stale once that child is gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut removed = remove_stale(p);
        while removed == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            removed = remove_stale(p);
        }
        assert_eq!(removed, 1);
        assert!(!path.exists());
        for kept in [&other, &nolock, &report] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(std::fs::symlink_metadata(p.join("mmapconf-1-00000000000000cc")).is_ok());
    }

    #[test]
    fn a_dead_runs_shm_ledger_names_only_its_own_names() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        let pid = std::process::id() as i32;
        let mine = format!("/{PREFIX}{pid}-0badf00d-shm-7");
        w.record_shm_name(&CString::new(mine.clone()).unwrap())
            .unwrap();
        for planted in [
            format!("/{PREFIX}{}-0badf00d-shm-7", pid + 1),
            format!("/{PREFIX}{pid}-0badf00d-shm-"),
            format!("/{PREFIX}{pid}-0badf0-shm-7"),
            format!("/{PREFIX}{pid}-0badf00d-shm-7/../x"),
            "/etc".to_string(),
        ] {
            w.record_shm_name(&CString::new(planted).unwrap()).unwrap();
        }
        let names = ledger_names(w.dir.as_fd(), pid);
        assert_eq!(names, vec![CString::new(mine).unwrap()]);
        let m = std::fs::symlink_metadata(w.path().join("shm-names")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o600);
    }

    /// An append-only file cannot be unlinked: removing the entry, the whole directory, and
    /// the sweep of a dead run's directory clear the attribute first. Where the attribute
    /// cannot be set here (no CAP_LINUX_IMMUTABLE, tmpfs without the flag) nothing is shown.
    #[test]
    fn an_append_only_file_is_removed_on_every_path() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        if let Err(e) = w.create_file_append_only(c"case-0.dat", b"abc", None) {
            eprintln!("append-only attribute not available here: {e}");
            return;
        }
        let path = w.path().join("case-0.dat");
        // It really is append-only: a plain unlink is refused.
        assert!(std::fs::remove_file(&path).is_err());
        w.remove(c"case-0.dat");
        assert!(std::fs::symlink_metadata(&path).is_err());
        w.create_file_append_only(c"case-1.dat", b"abc", None)
            .unwrap();
        w.remove_all().unwrap();
        assert!(!w.path().exists());
        // A run killed with one left behind: the next run's sweep removes it.
        let w = WorkDir::create(parent.path()).unwrap();
        w.create_file_append_only(c"case-2.dat", b"abc", None)
            .unwrap();
        let dir = w.path().to_path_buf();
        drop(w);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut removed = remove_stale(parent.path());
        while removed == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            removed = remove_stale(parent.path());
        }
        assert_eq!(removed, 1);
        assert!(!dir.exists());
    }

    #[test]
    fn an_entry_for_the_dropped_uid_belongs_to_it_alone() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        w.create_file(c"case-0.dat", b"abc", Some(65534)).unwrap();
        let m = std::fs::symlink_metadata(w.path().join("case-0.dat")).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o7777), (65534, 0o600));
        assert_eq!(std::fs::read(w.path().join("case-0.dat")).unwrap(), b"abc");
        w.remove_all().unwrap();
        assert!(!w.path().exists());
    }

    #[test]
    fn a_planted_name_is_never_followed_or_reused() {
        let parent = tempfile::tempdir().unwrap();
        let w = WorkDir::create(parent.path()).unwrap();
        let target = parent.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, w.path().join("case-0.dat")).unwrap();
        let e = w.create_file(c"case-0.dat", b"evil", None).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
        w.remove(c"case-0.dat");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(std::fs::symlink_metadata(w.path().join("case-0.dat")).is_err());
    }
}
