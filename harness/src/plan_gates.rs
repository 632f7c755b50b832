//! Whether a case applies on this host beyond its `os`: its architecture gate, the kernel
//! release it needs, and the facilities its steps read (the lock count in /proc) or its setup
//! calls need (prctl's MDWE options, mseal). Each "no" is a reason the report shows as not
//! applicable.

use crate::host::Host;
use crate::model::{Action, Call, Case};
use crate::names::Os;

/// Where Linux reports a process's locked memory (VmLck).
pub const LINUX_STATUS: &str = "/proc/self/status";

/// Whether a status text carries the VmLck line the `locked` step reads.
fn reports_locked(status: &str) -> bool {
    status.lines().any(|l| l.starts_with("VmLck:"))
}

/// `None` when the case can run here; else why not.
pub fn not_here(case: &Case, os: Os, host: &Host) -> Option<String> {
    if !case.arches.is_empty() && !case.arches.contains(&host.arch) {
        return Some(format!(
            "the case applies only to {} (this is {})",
            case.arches.join(", "),
            host.arch
        ));
    }
    for (for_os, range) in &case.kernel {
        if *for_os == os && crate::expectations::release_in(range, &host.release) != Ok(true) {
            return Some(format!(
                "the case needs {} {range} (this is {})",
                os.key(),
                host.release
            ));
        }
    }
    if let Some(why) = setup_missing(case, os, has_here) {
        return Some(why);
    }
    if case
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::Locked { .. }))
    {
        match os {
            Os::Freebsd => {
                return Some("FreeBSD reports no per-process locked-memory count".into());
            }
            Os::Linux => match std::fs::read_to_string(LINUX_STATUS) {
                Err(_) => {
                    return Some(format!(
                        "{LINUX_STATUS} is absent (no /proc): the locked-memory count cannot be read"
                    ));
                }
                // gVisor's status file stops at VmData: no VmLck line to read the count from.
                Ok(text) if !reports_locked(&text) => {
                    return Some(format!(
                        "{LINUX_STATUS} has no VmLck line: this kernel does not report the locked-memory count"
                    ));
                }
                Ok(_) => {}
            },
        }
    }
    if case
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::Vma { .. }))
    {
        match os {
            // sysctl KERN_PROC_VMMAP of the process itself needs no /proc, but
            // sysctl_kern_proc_vmmap() (sys/kern/kern_proc.c) asks pget(PGET_CANDEBUG),
            // and p_candebug() (kern_prot.c) checks PRIV_DEBUG_UNPRIV before it lets a
            // process debug itself: security.bsd.unprivileged_proc_debug=0 refuses it to
            // a non-root process. The planner asks once for its own list's size.
            Os::Freebsd => {
                if let Err(e) = freebsd_vmmap_readable() {
                    return Some(format!(
                        "sysctl KERN_PROC_VMMAP of this process fails ({e}; security.bsd.unprivileged_proc_debug=0?): the vma step cannot read the mapping's extent"
                    ));
                }
            }
            Os::Linux => {
                if let Err(e) = std::fs::File::open(LINUX_MAPS) {
                    return Some(format!(
                        "{LINUX_MAPS} cannot be opened ({e}; no /proc?): the vma step cannot read the mapping's extent"
                    ));
                }
            }
        }
    }
    None
}

/// Whether this process may read its own VMA list (sysctl KERN_PROC_VMMAP, the FreeBSD
/// `vma` step's source): the size query, with no buffer.
#[cfg(target_os = "freebsd")]
fn freebsd_vmmap_readable() -> Result<(), std::io::Error> {
    let mib = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_VMMAP,
        std::process::id() as libc::c_int,
    ];
    let mut len: libc::size_t = 0;
    // SAFETY: a size query: no old buffer, no new value.
    let r = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as libc::c_uint,
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Planning for FreeBSD elsewhere (`check`): nothing here to ask.
#[cfg(not(target_os = "freebsd"))]
fn freebsd_vmmap_readable() -> Result<(), std::io::Error> {
    Ok(())
}

/// Where Linux lists a process's VMAs, one line each (the `vma` step).
pub const LINUX_MAPS: &str = "/proc/self/maps";

/// A facility a setup call needs from the running kernel or runtime, beyond the release a
/// case's kernel gate asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetupNeed {
    /// prctl's memory-deny-write-execute options (Linux 6.3).
    Mdwe,
    /// The mseal call (Linux 6.10).
    Mseal,
    /// process_madvise (Linux 5.10, CONFIG_ADVISE_SYSCALLS) and pidfd_open (5.3): the
    /// child makes the call's pidfd in its setup.
    ProcessMadvise,
}

/// Why a case's setup cannot be made here, if it cannot: the first of its setup calls whose
/// facility `has` says is missing (asked only for such calls, on Linux). A setup call that
/// failed would be harness trouble (BROKEN) for a runtime that re-implements the syscalls
/// and lacks the call (qemu-user: PR_GET_MDWE gives EINVAL, mseal ENOSYS). The call under
/// test is never gated: what it returns is the runtime's answer.
fn setup_missing(
    case: &Case,
    os: Os,
    has: impl Fn(SetupNeed) -> Result<(), String>,
) -> Option<String> {
    if os != Os::Linux {
        return None;
    }
    if matches!(case.call, Call::ProcessMadvise { .. })
        && let Err(why) = has(SetupNeed::ProcessMadvise)
    {
        return Some(why);
    }
    // A case about PR_SET_MDWE's own errors: where prctl has no MDWE option at all (before
    // Linux 6.3, qemu-user) its EINVAL would come from the unknown option, not the mask.
    if matches!(case.call, Call::Mdwe { .. })
        && let Err(why) = has(SetupNeed::Mdwe)
    {
        return Some(why);
    }
    case.setup.iter().find_map(|c| {
        let need = match c {
            Call::Mdwe { .. } => SetupNeed::Mdwe,
            Call::Mseal { .. } => SetupNeed::Mseal,
            _ => return None,
        };
        has(need).err()
    })
}

/// Whether this kernel or runtime has `need`, asked once per process by a call that
/// changes nothing.
#[cfg(target_os = "linux")]
fn has_here(need: SetupNeed) -> Result<(), String> {
    use std::sync::OnceLock;
    static MDWE: OnceLock<Result<(), String>> = OnceLock::new();
    static MSEAL: OnceLock<Result<(), String>> = OnceLock::new();
    static PMADV: OnceLock<Result<(), String>> = OnceLock::new();
    let (cell, what): (_, &str) = match need {
        SetupNeed::Mdwe => (
            &MDWE,
            "prctl(PR_GET_MDWE) fails here ({e}): this kernel or runtime has no memory-deny-write-execute control to set up",
        ),
        SetupNeed::Mseal => (
            &MSEAL,
            "mseal(NULL, 0, 0) fails here ({e}): this kernel or runtime has no mseal to seal the case's mapping with in setup",
        ),
        SetupNeed::ProcessMadvise => (
            &PMADV,
            "process_madvise or pidfd_open is missing here ({e}): this kernel or runtime cannot make the call's pidfd or has no process_madvise (Linux 5.10+, CONFIG_ADVISE_SYSCALLS)",
        ),
    };
    cell.get_or_init(|| {
        let r = match need {
            // SAFETY: PR_GET_MDWE takes no pointer and only reads the process's state.
            SetupNeed::Mdwe => i64::from(unsafe { libc::prctl(libc::PR_GET_MDWE, 0, 0, 0, 0) }),
            // A zero-length mseal at a page-aligned address seals nothing.
            SetupNeed::Mseal => crate::exec::locks::mseal(0, 0, 0),
            SetupNeed::ProcessMadvise => process_madvise_here(),
        };
        if r >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        Err(what.replace("{e}", &e.to_string()))
    })
    .clone()
}

/// 0 where process_madvise and pidfd_open both exist, else -1 with errno set: pidfd_open
/// of this process (closed again), then process_madvise with that pidfd and no iovec,
/// which advises nothing (ENOSYS where the call is missing).
#[cfg(target_os = "linux")]
fn process_madvise_here() -> i64 {
    let fd = crate::exec::locks::pidfd_self();
    if fd < 0 {
        return -1;
    }
    let r = crate::exec::locks::process_madvise(fd, &[], 0, libc::MADV_COLD, 0);
    let e = std::io::Error::last_os_error();
    // SAFETY: closes the descriptor just opened.
    unsafe { libc::close(fd) };
    if r < 0 {
        nix::errno::Errno::set_raw(e.raw_os_error().unwrap_or(libc::ENOSYS));
    }
    r
}

#[cfg(not(target_os = "linux"))]
fn has_here(need: SetupNeed) -> Result<(), String> {
    Err(format!("{need:?} is Linux's"))
}

/// Whether a child of this process can mount its own noexec tmpfs (`fs = "noexec"`):
/// asked once, by a forked process that does what a case's child does (unshare(CLONE_NEWNS),
/// make / private, mount a tmpfs MS_NOEXEC on the temporary directory in its own namespace)
/// and exits; nothing outside that namespace changes. No CAP_SYS_ADMIN (an unprivileged
/// run), a runtime without mount namespaces (gVisor rootless) or a seccomp filter says why
/// not.
#[cfg(target_os = "linux")]
pub fn noexec_mount_here() -> Result<(), String> {
    use std::sync::OnceLock;
    static HERE: OnceLock<Result<(), String>> = OnceLock::new();
    HERE.get_or_init(|| {
        let Ok(dir) = std::ffi::CString::new(std::env::temp_dir().into_os_string().into_encoded_bytes())
        else {
            return Err("the temporary directory's path holds a NUL byte".into());
        };
        match crate::exec::noexec::probe(&dir) {
            Ok(()) => Ok(()),
            Err((step, errno)) => Err(format!(
                "a private noexec tmpfs cannot be mounted here: {step} fails with {} (needs CAP_SYS_ADMIN and mount namespaces)",
                crate::names::errno_name(errno)
            )),
        }
    })
    .clone()
}

#[cfg(not(target_os = "linux"))]
pub fn noexec_mount_here() -> Result<(), String> {
    Err("a private noexec mount needs Linux mount namespaces".into())
}

/// Whether files of `fs` can be given `attr` here (`attr = "append-only"`): asked once per
/// file system kind, on a file in a fresh work directory there (removed again; a run killed
/// meanwhile leaves it to the next run's sweep, which clears the attribute too). Where the
/// attribute cannot be set (no CAP_LINUX_IMMUTABLE: EPERM; a file system without the flag:
/// ENOTTY, EOPNOTSUPP) the case is not applicable.
pub fn attr_here(attr: crate::model::Attr, fs: crate::model::Fs, os: Os) -> Result<(), String> {
    use crate::model::{Attr, Fs};
    use std::sync::{Mutex, OnceLock};
    let Attr::AppendOnly = attr;
    if os != Os::Linux && os != Os::Freebsd {
        return Err("no append-only attribute on this OS".into());
    }
    type Seen = Vec<(Fs, Result<(), String>)>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(Vec::new()));
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = seen.iter().find(|(f, _)| *f == fs) {
        return r.clone();
    }
    let parent = match fs {
        Fs::Tmpfs => crate::plan::host_tmpfs(),
        _ => Some(std::env::temp_dir()),
    };
    let r = match parent {
        None => Err("no tmpfs directory to make an append-only file in".into()),
        Some(parent) => probe_append_only(&parent),
    };
    seen.push((fs, r.clone()));
    r
}

fn probe_append_only(parent: &std::path::Path) -> Result<(), String> {
    let dir = crate::exec::workdir::WorkDir::create(parent).map_err(|e| {
        format!(
            "no work directory in {} to try the append-only attribute: {e}",
            parent.display()
        )
    })?;
    let r = dir.create_file_append_only(c"append-only-probe", b"x", None);
    let _ = dir.remove_all();
    r.map_err(|e| {
        format!(
            "the append-only attribute cannot be set on a file in {} ({}; Linux needs CAP_LINUX_IMMUTABLE and a file system with FS_APPEND_FL, FreeBSD one with UF_APPEND)",
            parent.display(),
            crate::names::os_error(&e)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{SetupNeed, reports_locked, setup_missing};
    use crate::load::parse_file;
    use crate::names::Os;
    use crate::registry::Registry;
    use std::path::Path;

    fn case(body: &str) -> crate::model::Case {
        let text = format!(
            "[[case]]\nid = \"gates.test.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n{body}"
        );
        parse_file(
            Path::new("t.toml"),
            &text,
            &Registry::of_ids(&["posix.mmap.1"]),
        )
        .unwrap()
        .remove(0)
    }

    const MAP: &str = "call = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\", fd = -1 }\nexpect = { result = \"ok\" }\n";

    #[test]
    fn a_case_that_sets_mdwe_is_not_applicable_where_prctl_does_not_know_it() {
        let c = case(&format!(
            "setup = [{{ fn = \"mdwe\", flags = \"PR_MDWE_REFUSE_EXEC_GAIN\" }}]\n{MAP}"
        ));
        let why = setup_missing(&c, Os::Linux, |n| {
            assert_eq!(n, SetupNeed::Mdwe);
            Err("prctl says EINVAL".into())
        });
        assert_eq!(why.as_deref(), Some("prctl says EINVAL"));
        assert_eq!(setup_missing(&c, Os::Linux, |_| Ok(())), None);
    }

    #[test]
    fn a_case_that_seals_in_setup_is_not_applicable_where_mseal_is_missing_but_one_that_calls_it_runs()
     {
        let sets = case(&format!(
            "mapping = [{{ name = \"m\", len = \"1p\" }}]\nsetup = [{{ fn = \"mseal\", addr = \"mapping.m\", len = \"1p\", flags = \"0\" }}]\n{MAP}"
        ));
        let why = setup_missing(&sets, Os::Linux, |n| {
            assert_eq!(n, SetupNeed::Mseal);
            Err("ENOSYS".into())
        });
        assert_eq!(why.as_deref(), Some("ENOSYS"));
        let calls = case(
            "mapping = [{ name = \"m\", len = \"1p\" }]\n\n[case.call]\nfn = \"mseal\"\naddr = \"mapping.m\"\nlen = \"1p\"\nflags = \"0\"\n\n[case.expect]\nresult = \"ok\"\n",
        );
        assert_eq!(
            setup_missing(&calls, Os::Linux, |_| Err("ENOSYS".into())),
            None
        );
    }

    #[test]
    fn a_process_madvise_case_is_not_applicable_where_the_call_or_pidfd_open_is_missing() {
        let c = case(
            "os = [\"linux\"]\n\n[case.call]\nfn = \"process_madvise\"\niov = []\nadvice = \"MADV_COLD\"\n\n[case.expect]\nresult = \"ok\"\n",
        );
        let why = setup_missing(&c, Os::Linux, |n| {
            assert_eq!(n, SetupNeed::ProcessMadvise);
            Err("ENOSYS".into())
        });
        assert_eq!(why.as_deref(), Some("ENOSYS"));
        assert_eq!(setup_missing(&c, Os::Linux, |_| Ok(())), None);
        // FreeBSD is decided by the planner (no such call), never by a probe.
        assert_eq!(setup_missing(&c, Os::Freebsd, |_| panic!("asked")), None);
    }

    #[test]
    fn a_case_with_no_such_setup_call_never_asks_the_kernel() {
        let c = case(MAP);
        let why = setup_missing(&c, Os::Linux, |_| panic!("asked"));
        assert_eq!(why, None);
    }

    #[test]
    fn a_status_text_without_a_vmlck_line_does_not_report_the_locked_count() {
        assert!(reports_locked(
            "Name:\tx\nVmLck:\t       0 kB\nVmPin:\t0 kB\n"
        ));
        // gVisor 20221219's /proc/self/status, cut: VmSize, VmRSS, VmData and no VmLck.
        assert!(!reports_locked(
            "Name:\tcat\nVmSize:\t11100 kB\nVmRSS:\t3856 kB\nVmData:\t360 kB\n"
        ));
        assert!(!reports_locked("Name:\tx\nXVmLck:\t0 kB\n"));
    }
}
