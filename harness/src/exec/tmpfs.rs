//! A private tmpfs for the `fs = "tmpfs"` cases where the system offers none (FreeBSD has
//! no tmpfs by default; tmpfs(5)): mounted by a root run inside its own work directory,
//! unmounted when the executor drops and by the interrupt handler.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mount points still mounted, for the interrupt handler.
static MOUNTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A tmpfs mounted at a directory this run created; unmounted on drop.
#[derive(Debug)]
pub struct PrivateTmpfs {
    dir: PathBuf,
}

impl PrivateTmpfs {
    /// Creates `parent/tmpfs` and mounts a small tmpfs there (root only). The root of the
    /// file system is 0755 so that cases run as nobody still reach their files.
    pub fn mount_in(parent: &Path) -> Result<PrivateTmpfs, String> {
        let dir = parent.join("tmpfs");
        // create_dir never follows a symlink at `dir`: it fails if anything is there.
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Err(e) = mount(&dir) {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!("mounting a tmpfs at {}: {e}", dir.display()));
        }
        if let Ok(mut m) = MOUNTED.lock() {
            m.push(dir.clone());
        }
        Ok(PrivateTmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateTmpfs {
    fn drop(&mut self) {
        unmount(&self.dir);
        let _ = std::fs::remove_dir(&self.dir);
        if let Ok(mut m) = MOUNTED.lock() {
            m.retain(|d| d != &self.dir);
        }
    }
}

/// Unmounts every private tmpfs still mounted; for interrupt handlers, before the work
/// directories holding them are removed.
pub fn unmount_all() {
    if let Ok(m) = MOUNTED.lock() {
        for d in m.iter() {
            unmount(d);
        }
    }
}

const SIZE: &str = "16m";

#[cfg(target_os = "freebsd")]
fn mount(dir: &Path) -> Result<(), String> {
    use nix::mount::{MntFlags, Nmount};
    // nmount(2) with tmpfs(5)'s options; the kernel loads tmpfs.ko when needed.
    Nmount::new()
        .str_opt_owned("fstype", "tmpfs")
        .str_opt_owned("fspath", dir)
        .str_opt_owned("mode", "0755")
        .str_opt_owned("size", SIZE)
        .nmount(MntFlags::MNT_NOSUID | MntFlags::MNT_NOEXEC)
        .map_err(|e| e.to_string())
}

#[cfg(target_os = "freebsd")]
fn unmount(dir: &Path) {
    let _ = nix::mount::unmount(dir, nix::mount::MntFlags::MNT_FORCE);
}

#[cfg(target_os = "linux")]
fn mount(dir: &Path) -> Result<(), String> {
    use nix::mount::MsFlags;
    let data = format!("mode=0755,size={SIZE}");
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(data.as_str()),
    )
    .map_err(|e| e.to_string())
}

#[cfg(target_os = "linux")]
fn unmount(dir: &Path) {
    let _ = nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH);
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn mount(_dir: &Path) -> Result<(), String> {
    Err("mounting a tmpfs is not implemented on this OS".into())
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn unmount(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::is_tmpfs;

    #[test]
    fn a_private_tmpfs_is_a_tmpfs_until_it_drops_and_then_is_gone() {
        if !nix::unistd::geteuid().is_root() {
            return; // only root mounts; the executor does not try otherwise
        }
        let parent = tempfile::tempdir().unwrap();
        let t = match PrivateTmpfs::mount_in(parent.path()) {
            Ok(t) => t,
            // A root without CAP_SYS_ADMIN (a container) cannot mount: nothing to check.
            Err(e) if e.contains("EPERM") => return,
            Err(e) => panic!("{e}"),
        };
        let dir = t.path().to_path_buf();
        assert!(is_tmpfs(&dir), "{} is not a tmpfs", dir.display());
        assert!(MOUNTED.lock().unwrap().contains(&dir));
        std::fs::write(dir.join("f"), b"x").unwrap();
        drop(t);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(!MOUNTED.lock().unwrap().contains(&dir));
        assert!(!is_tmpfs(parent.path()));
    }

    #[test]
    fn a_mount_point_that_exists_is_refused_not_reused() {
        let parent = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/", parent.path().join("tmpfs")).unwrap();
        let e = PrivateTmpfs::mount_in(parent.path()).unwrap_err();
        assert!(e.contains("exists"), "{e}");
    }
}
