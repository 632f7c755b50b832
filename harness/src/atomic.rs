//! All-or-nothing output files: results.json and the report's files.
//!
//! A [`Batch`] writes each file of one output set to a temporary in the destination
//! directory (`.NAME.mmapconf-tmp-PID-RANDOM`, made with O_CREAT|O_EXCL|O_NOFOLLOW and
//! flock'ed while it lives), writes it whole and fsyncs it. Only when every file of the set
//! is written and flushed does [`Batch::commit`] rename them over the old ones, then fsync
//! the directory. So a run stopped at any moment, or out of disk space, leaves each file
//! either the previous complete one or the new complete one, never a truncated one:
//! a failed write or a stop before the commit leaves the previous set untouched.
//!
//! Ordering: the commit renames in the reverse of the order the files were added, so the
//! first file added (results.json, which the report is made from) is renamed last. Hence
//! a new results.json is never beside an old report: when it is in place, every report
//! file already is. SIGINT, SIGTERM and SIGHUP wait for a commit in progress to finish
//! ([`stop`]), so they never split a set. Only SIGKILL or a power loss inside the commit's
//! few renames (back to back, after all data is on disk, with the replaced files held open
//! so that no rename frees blocks) can leave some report files new and others old, with
//! results.json still the old one: per-file renames cannot replace several files at one
//! instant. The next complete write to that directory replaces them all.
//!
//! Temporaries of a writer that was killed are removed by the next [`Batch`] in that
//! directory: a temporary whose lock can be taken has no live writer.
//!
//! A name with one `/` (`repro/CASE.c`) goes to a subdirectory of the set, made without
//! following a symlink; the subdirectory holds exactly the set's files: at the commit its
//! files are renamed first (so that what the report links exists once the report does),
//! and its regular files of ours that the set does not name are removed.

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{Mode, fstat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const TMP_MARK: &str = ".mmapconf-tmp-";

/// Uncommitted temporaries of every live batch, and whether [`stop`] has run. Held through
/// each temporary's creation and through a whole commit.
struct State {
    stopped: bool,
    temps: Vec<(RawFd, CString)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    stopped: false,
    temps: Vec::new(),
});

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn stopping() -> io::Error {
    io::Error::other("the run is stopping")
}

/// One set of output files for one directory, replaced together.
pub struct Batch {
    dir: PathBuf,
    dir_fd: OwnedFd,
    /// (final name, temporary name). A temporary's descriptor is closed once it is
    /// written: a set of five files must not cost five descriptors (a run short of them
    /// must still write its results), and the writer's pid in the name says whose it is.
    files: Vec<(String, CString)>,
    /// Subdirectories of the set, by name, each a batch of its own committed with this one.
    subdirs: Vec<(String, Batch)>,
}

impl Batch {
    /// Starts a set for `dir` (created if missing), removing temporaries of dead writers.
    pub fn new(dir: &Path) -> io::Result<Batch> {
        std::fs::create_dir_all(dir)?;
        let dir_fd = nix::fcntl::open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        let batch = Batch {
            dir: dir.to_path_buf(),
            dir_fd,
            files: Vec::new(),
            subdirs: Vec::new(),
        };
        batch.remove_dead_temporaries();
        Ok(batch)
    }

    /// Makes an existing subdirectory `name` part of the set even when the set adds no
    /// file to it, so that the commit empties it of our files (a report with no red cell
    /// leaves no reproducer of the previous one). Nothing when it does not exist.
    pub fn claim_subdir(&mut self, name: &str) -> io::Result<()> {
        if std::fs::symlink_metadata(self.dir.join(name)).is_ok_and(|m| m.is_dir()) {
            self.subdir(name)?;
        }
        Ok(())
    }

    /// The batch of subdirectory `name` (made 0755 if missing; a symlink or anything but
    /// a directory of ours there is refused).
    fn subdir(&mut self, name: &str) -> io::Result<&mut Batch> {
        if let Some(i) = self.subdirs.iter().position(|(n, _)| n == name) {
            return Ok(&mut self.subdirs[i].1);
        }
        match nix::sys::stat::mkdirat(&self.dir_fd, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(io_err(e)),
        }
        let dir_fd = openat(
            &self.dir_fd,
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        if fstat(&dir_fd).map_err(io_err)?.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(io::Error::other(format!(
                "{}: not our directory",
                self.dir.join(name).display()
            )));
        }
        let sub = Batch {
            dir: self.dir.join(name),
            dir_fd,
            files: Vec::new(),
            subdirs: Vec::new(),
        };
        sub.remove_dead_temporaries();
        self.subdirs.push((name.to_string(), sub));
        Ok(&mut self.subdirs.last_mut().expect("just pushed").1)
    }

    /// Writes `bytes` to a temporary for `name` and flushes it to disk; returns the
    /// temporary's path (it holds the complete text until the commit). `DIR/NAME` goes to
    /// the set's subdirectory DIR.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        if let Some((dir, file)) = name.split_once('/') {
            if dir.is_empty() || file.is_empty() || file.contains('/') || dir.starts_with('.') {
                return Err(io::Error::other(format!("{name}: not DIR/NAME")));
            }
            return self.subdir(dir)?.add(file, bytes);
        }
        let (tmp, fd) = self.create_temporary(name)?;
        let mut file = std::fs::File::from(fd);
        let written = file.write_all(bytes).and_then(|()| file.sync_all());
        drop(file);
        let path = self.dir.join(std::ffi::OsStr::from_bytes(tmp.as_bytes()));
        self.files.push((name.to_string(), tmp));
        written.map(|()| path)
    }

    fn create_temporary(&self, name: &str) -> io::Result<(CString, OwnedFd)> {
        loop {
            let mut st = state();
            if st.stopped {
                return Err(stopping());
            }
            let tmp = CString::new(format!(
                ".{name}{TMP_MARK}{}-{:016x}",
                std::process::id(),
                random_suffix()
            ))
            .map_err(io::Error::other)?;
            let fd = match openat(
                &self.dir_fd,
                tmp.as_c_str(),
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o644),
            ) {
                Err(Errno::EEXIST) => continue,
                r => r.map_err(io_err)?,
            };
            st.temps.push((self.dir_fd.as_raw_fd(), tmp.clone()));
            return Ok((tmp, fd));
        }
    }

    /// Renames every temporary over its file, the first added last, and flushes the
    /// directory; returns the files' paths in the order added.
    pub fn commit(mut self) -> io::Result<Vec<PathBuf>> {
        let mut st = state();
        if st.stopped {
            return Err(stopping());
        }
        let mut paths = Vec::new();
        for (_, sub) in &mut self.subdirs {
            paths.extend(sub.rename_all(&mut st)?);
            sub.remove_unnamed();
        }
        let mut own = self.rename_all(&mut st)?;
        own.extend(paths);
        // Renamed: nothing is left for Drop to discard.
        self.files.clear();
        for (_, sub) in &mut self.subdirs {
            sub.files.clear();
        }
        Ok(own)
    }

    /// The renames of [`Batch::commit`], with the state held.
    fn rename_all(&mut self, st: &mut State) -> io::Result<Vec<PathBuf>> {
        let paths = self.files.iter().map(|f| self.dir.join(&f.0)).collect();
        // The files being replaced stay open until every rename is done, so that no rename
        // has to free an old file's blocks: the renames follow each other closely.
        let old: Vec<OwnedFd> = self
            .files
            .iter()
            .filter_map(|f| {
                openat(
                    &self.dir_fd,
                    f.0.as_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .ok()
            })
            .collect();
        let mut done = Vec::new();
        while let Some((name, tmp)) = self.files.last() {
            renameat(&self.dir_fd, tmp.as_c_str(), &self.dir_fd, name.as_str()).map_err(io_err)?;
            st.temps.retain(|t| t.1 != *tmp);
            done.extend(self.files.pop());
        }
        drop(old);
        nix::unistd::fsync(&self.dir_fd).map_err(io_err)?;
        self.files = done;
        Ok(paths)
    }

    /// After the renames: removes the regular files of ours in this (sub)directory that
    /// the set did not name; temporaries of live writers and dot files stay.
    fn remove_unnamed(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let me = nix::unistd::geteuid().as_raw();
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name();
            let b = name.as_bytes();
            if b.starts_with(b".") || self.files.iter().any(|(n, _)| n.as_bytes() == b) {
                continue;
            }
            let Ok(cname) = CString::new(b) else { continue };
            let Ok(st) = nix::sys::stat::fstatat(
                &self.dir_fd,
                cname.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            ) else {
                continue;
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_uid == me {
                let _ = unlinkat(&self.dir_fd, cname.as_c_str(), UnlinkatFlags::NoRemoveDir);
            }
        }
    }

    /// Unlinks `.*.mmapconf-tmp-PID-*` regular files of ours whose writer (PID) is dead.
    fn remove_dead_temporaries(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let me = nix::unistd::geteuid().as_raw();
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name();
            let b = name.as_bytes();
            if !b.starts_with(b".") || !contains(b, TMP_MARK.as_bytes()) {
                continue;
            }
            if writer_alive(b) {
                continue;
            }
            let Ok(cname) = CString::new(b) else { continue };
            let Ok(fd) = openat(
                &self.dir_fd,
                cname.as_c_str(),
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) else {
                continue;
            };
            let Ok(st) = fstat(&fd) else { continue };
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_uid != me {
                continue;
            }
            let _ = unlinkat(&self.dir_fd, cname.as_c_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// A value that differs per call and per process, for names no one can guess ahead.
pub fn random_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS's random source; mixing in the clock and a
    // counter gives a new value per call.
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Whether the process named in a temporary's name (`...TMP_MARK PID-...`) still lives;
/// a name that names none is taken as alive, so it is left alone.
fn writer_alive(name: &[u8]) -> bool {
    let Some(at) = name
        .windows(TMP_MARK.len())
        .position(|w| w == TMP_MARK.as_bytes())
    else {
        return true;
    };
    pid_at(&name[at + TMP_MARK.len()..]).is_none_or(process_alive)
}

/// The pid that `text` starts with (the digits before the next `-`), as the names of
/// temporaries and work directories carry their maker's.
pub fn pid_at(text: &[u8]) -> Option<i32> {
    let digits = text.split(|b| *b == b'-').next()?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Whether process `pid` exists (kill(2) with signal 0; EPERM means it does).
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Drop for Batch {
    /// An uncommitted set is discarded: the previous files stay.
    fn drop(&mut self) {
        let mut st = state();
        for (_, tmp) in &self.files {
            st.temps.retain(|t| t.1 != *tmp);
            if !st.stopped {
                let _ = unlinkat(&self.dir_fd, tmp.as_c_str(), UnlinkatFlags::NoRemoveDir);
            }
        }
    }
}

/// What [`stop`] found.
pub enum Stopped {
    /// No output set was being written.
    Idle,
    /// This many uncommitted temporaries were removed.
    Discarded(usize),
}

/// For signal handlers, before exiting: waits for a commit in progress to finish, removes
/// every uncommitted temporary, and refuses any later write or commit.
pub fn stop() -> Stopped {
    let mut st = state();
    st.stopped = true;
    let n = st.temps.len();
    for (fd, tmp) in st.temps.drain(..) {
        // SAFETY: the descriptor stays open while its batch is registered, and the batch
        // cannot deregister while we hold the state.
        unsafe { libc::unlinkat(fd, tmp.as_ptr(), 0) };
    }
    // Kept locked until the exit.
    std::mem::forget(st);
    if n == 0 {
        Stopped::Idle
    } else {
        Stopped::Discarded(n)
    }
}

/// Writes one file all-or-nothing.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: not a file name", path.display())))?;
    let mut b = Batch::new(dir.unwrap_or(Path::new(".")))?;
    b.add(&name.to_string_lossy(), bytes)?;
    b.commit().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_committed_set_replaces_the_old_files_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "old").unwrap();
        let mut b = Batch::new(d.path()).unwrap();
        b.add("a", b"new a").unwrap();
        b.add("b", b"new b").unwrap();
        b.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("a")).unwrap(),
            "new a"
        );
        assert_eq!(names(d.path()), ["a", "b"]);
    }

    #[test]
    fn a_subdirectory_of_the_set_holds_exactly_the_set_s_files() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("repro");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("stale.c"), "old").unwrap();
        std::fs::write(sub.join(".keep"), "").unwrap();
        let mut b = Batch::new(d.path()).unwrap();
        b.add("report.md", b"m").unwrap();
        b.add("repro/a.c", b"a").unwrap();
        assert!(b.add("repro/../x", b"x").is_err());
        assert!(b.add("/x", b"x").is_err());
        // Until the commit, neither the report nor the reproducer is there.
        assert!(!sub.join("a.c").exists() && !d.path().join("report.md").exists());
        let paths = b.commit().unwrap();
        assert!(paths.contains(&sub.join("a.c")), "{paths:?}");
        assert_eq!(names(&sub), [".keep", "a.c"]);
        assert_eq!(names(d.path()), ["report.md", "repro"]);
        // An uncommitted set leaves the subdirectory as it was.
        let mut b = Batch::new(d.path()).unwrap();
        b.add("repro/b.c", b"b").unwrap();
        drop(b);
        assert_eq!(names(&sub), [".keep", "a.c"]);
    }

    #[test]
    fn a_symlink_where_the_subdirectory_goes_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), d.path().join("repro")).unwrap();
        let mut b = Batch::new(d.path()).unwrap();
        assert!(b.add("repro/a.c", b"a").is_err());
        assert!(names(elsewhere.path()).is_empty());
    }

    #[test]
    fn an_uncommitted_set_leaves_the_previous_files_untouched() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "old").unwrap();
        let mut b = Batch::new(d.path()).unwrap();
        let tmp = b.add("a", b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&tmp).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(d.path().join("a")).unwrap(), "old");
        drop(b);
        assert_eq!(names(d.path()), ["a"]);
    }

    #[test]
    fn the_first_file_added_is_renamed_last() {
        let d = tempfile::tempdir().unwrap();
        // A non-empty directory where results.json goes makes its rename fail: the report
        // file added after it must already be in place by then.
        std::fs::create_dir_all(d.path().join("results.json/x")).unwrap();
        let mut b = Batch::new(d.path()).unwrap();
        b.add("results.json", b"r").unwrap();
        b.add("report.md", b"m").unwrap();
        assert!(b.commit().is_err());
        assert_eq!(
            std::fs::read_to_string(d.path().join("report.md")).unwrap(),
            "m"
        );
        assert_eq!(names(d.path()), ["report.md", "results.json"]);
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_never_followed() {
        // The temporaries' names are random; a planted symlink at any name is only ever
        // replaced by rename, never written through.
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("a")).unwrap();
        write(&d.path().join("a"), b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(d.path().join("a")).unwrap(), "new");
        assert!(
            !std::fs::symlink_metadata(d.path().join("a"))
                .unwrap()
                .is_symlink()
        );
    }

    #[test]
    fn a_dead_writers_temporary_is_removed_and_a_live_ones_is_kept() {
        let d = tempfile::tempdir().unwrap();
        // A pid that surely names no process: a child that has been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = d
            .path()
            .join(format!(".a.mmapconf-tmp-{}-0000000000000001", child.id()));
        std::fs::write(&dead, "partial").unwrap();
        let mut live = Batch::new(d.path()).unwrap();
        let live_tmp = live.add("b", b"b").unwrap();
        assert!(
            !dead.exists(),
            "a temporary nobody holds is a dead writer's"
        );
        let _other = Batch::new(d.path()).unwrap();
        assert!(
            live_tmp.exists(),
            "a temporary whose writer holds its lock stays"
        );
        live.commit().unwrap();
        assert_eq!(names(d.path()), ["b"]);
    }
}
