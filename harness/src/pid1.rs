//! Running as PID 1 in a minimal VM (an initramfs whose `/init` is this binary, or a
//! User-Mode Linux hostfs root): mount what the cases need, then, after the run, hand the
//! results to the host and power off. Settings come from the kernel command line, which
//! passes unknown `name=value` words to init's environment:
//!
//! - `mmapconf_results`: file or device to write results.json to (default `/dev/ttyS1`,
//!   a second serial port the host reads into a file);
//! - `mmapconf_under`: the run's `--under` text;
//! - `mmapconf_tmp`: a block device to mount as ext4 on `/tmp` (default: a tmpfs), so file
//!   cases run on a disk filesystem as they do on a host;
//! - `mmapconf_repro_bins` and `mmapconf_repro_out`: after the run, the compiled C
//!   reproducers in that directory are run on the same kernel and their record written to
//!   that file (repro.json), for `mmapconf repro --compare` on the host;
//! - `mmapconf_repro_src`: instead of running the suite, write the C reproducers of the
//!   cases that apply on this kernel into that directory (`repro --all --out`), for the host
//!   to compile before it boots the same kernel again with `mmapconf_repro_bins`;
//!   `mmapconf_repro_bundle=1` writes them in bundles (`repro --all --bundle`), as a VM
//!   whose binaries are statically linked with glibc needs (one per case would not fit);
//! - the host reads a VM's reproducers and repro.json back from the ext4 disk that init
//!   mounts on `/tmp` (`mmapconf_tmp`); init unmounts it before powering off, so the
//!   image is clean when the host opens it.

use std::path::Path;

/// True when this process is the first one of a kernel booted to run the suite: PID 1
/// with no subcommand (a sandbox such as `runsc do` also makes its command PID 1, but
/// passes the subcommand along). `subcommands` are the command's own words.
pub fn is_init(subcommands: &[&str]) -> bool {
    let first = std::env::args().nth(1);
    std::process::id() == 1
        && !first.is_some_and(|a| subcommands.contains(&a.as_str()) || a.starts_with('-'))
}

/// The settings init reads from its environment.
pub struct Settings {
    pub results: String,
    pub under: String,
    pub tmp_device: Option<String>,
    /// Reproducers to run after the suite, and where their record goes.
    pub repro: Option<(String, String)>,
    /// Write the reproducers here and run nothing.
    pub repro_src: Option<String>,
    /// With `repro_src`: write them in bundles (`mmapconf_repro_bundle=1`).
    pub repro_bundle: bool,
}

impl Settings {
    pub fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Settings {
            results: var("mmapconf_results").unwrap_or_else(|| "/dev/ttyS1".into()),
            under: var("mmapconf_under").unwrap_or_default(),
            tmp_device: var("mmapconf_tmp"),
            repro: var("mmapconf_repro_bins").zip(var("mmapconf_repro_out")),
            repro_src: var("mmapconf_repro_src"),
            repro_bundle: var("mmapconf_repro_bundle").is_some_and(|v| v == "1"),
        }
    }
}

/// Mounts proc, sysfs, devtmpfs, /tmp and /dev/shm. Failures are printed, not fatal: a
/// missing filesystem shows up as not-applicable or failing cases, which say more.
#[cfg(target_os = "linux")]
pub fn mount_all(settings: &Settings) {
    use nix::mount::{MsFlags, mount};
    let mnt = |src: &str, target: &str, fstype: &str, data: Option<&str>| {
        let _ = std::fs::create_dir_all(target);
        match mount(Some(src), target, Some(fstype), MsFlags::empty(), data) {
            Ok(()) => true,
            // Already mounted by the kernel (UML mounts devtmpfs itself).
            Err(nix::errno::Errno::EBUSY) => true,
            Err(e) => {
                println!("mmapconf init: cannot mount {fstype} on {target}: {e}");
                false
            }
        }
    };
    mnt("proc", "/proc", "proc", None);
    mnt("sysfs", "/sys", "sysfs", None);
    mnt("devtmpfs", "/dev", "devtmpfs", None);
    let on_disk = settings
        .tmp_device
        .as_deref()
        .is_some_and(|dev| mnt(dev, "/tmp", "ext4", None));
    if !on_disk {
        mnt("tmpfs", "/tmp", "tmpfs", Some("mode=1777"));
    }
    let _ = std::fs::set_permissions("/tmp", std::os::unix::fs::PermissionsExt::from_mode(0o1777));
    mnt("tmpfs", "/dev/shm", "tmpfs", Some("mode=1777"));
    // SAFETY: single-threaded at this point (before any case runs).
    unsafe { std::env::set_var("TMPDIR", "/tmp") };
}

#[cfg(not(target_os = "linux"))]
pub fn mount_all(_settings: &Settings) {
    println!("mmapconf init: PID-1 mode mounts filesystems on Linux only; continuing without");
}

/// Copies the results file to `dest` byte for byte; a terminal is put in raw mode first
/// so no `\r` is added.
pub fn deliver(results: &Path, dest: &str) -> std::io::Result<usize> {
    use std::io::Write;
    let bytes = std::fs::read(results)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(!dest.starts_with("/dev/"))
        .truncate(!dest.starts_with("/dev/"))
        .open(dest)?;
    if let Ok(mut t) = nix::sys::termios::tcgetattr(&out) {
        nix::sys::termios::cfmakeraw(&mut t);
        let _ = nix::sys::termios::tcsetattr(&out, nix::sys::termios::SetArg::TCSANOW, &t);
    }
    out.write_all(&bytes)?;
    out.flush()?;
    let _ = nix::sys::termios::tcdrain(&out);
    let _ = out.sync_all();
    Ok(bytes.len())
}

/// Unmounts /tmp (a disk the host reads back: its journal must be clean), syncs and
/// powers the machine off; never returns.
pub fn power_off() -> ! {
    #[cfg(target_os = "linux")]
    {
        let _ = std::env::set_current_dir("/");
        if let Err(e) = nix::mount::umount("/tmp") {
            println!("mmapconf init: cannot unmount /tmp: {e}");
        }
    }
    nix::unistd::sync();
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
    }
    // reboot() returned: not allowed here (e.g. not really PID 1 of a VM).
    std::process::exit(125)
}
