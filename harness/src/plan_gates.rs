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
    if let Some(why) = mdwe_missing(case, os, knows_mdwe) {
        return Some(why);
    }
    if let Some(why) = setup_mseal_missing(case, os, knows_mseal) {
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
    None
}

/// Why a case that sets MDWE (as its call or in setup) cannot run here, if it cannot:
/// `knows` asks the running kernel, only for such a case on Linux.
fn mdwe_missing(case: &Case, os: Os, knows: impl FnOnce() -> Result<(), String>) -> Option<String> {
    let sets_mdwe = matches!(case.call, Call::Mdwe { .. })
        || case.setup.iter().any(|c| matches!(c, Call::Mdwe { .. }));
    if !sets_mdwe || os != Os::Linux {
        return None;
    }
    knows().err()
}

/// Why a case that seals memory in its setup cannot run here, if it cannot: `knows` asks
/// the running kernel, only for such a case on Linux. A case whose call is mseal runs
/// anyway: ENOSYS there is the runtime's answer to the call under test.
fn setup_mseal_missing(
    case: &Case,
    os: Os,
    knows: impl FnOnce() -> Result<(), String>,
) -> Option<String> {
    let seals = case.setup.iter().any(|c| matches!(c, Call::Mseal { .. }));
    if !seals || os != Os::Linux {
        return None;
    }
    knows().err()
}

/// Whether mseal exists here. Linux has it from 6.10 (the case's kernel gate says so), but a
/// runtime that re-implements the syscalls may not (qemu-user 7.2 and 10.0 answer ENOSYS),
/// and the setup call would then fail as harness trouble. mseal of length 0 at a page-aligned
/// address seals nothing and returns 0 where the call exists.
#[cfg(target_os = "linux")]
fn knows_mseal() -> Result<(), String> {
    static ANSWER: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ANSWER
        .get_or_init(|| {
            // 462 in the generic table and every table that has mseal.
            // SAFETY: a zero-length mseal touches no mapping.
            let r = unsafe { libc::syscall(462, 0usize, 0usize, 0usize) };
            if r == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            Err(format!(
                "mseal(NULL, 0, 0) fails here ({e}): this kernel or runtime has no mseal to seal the case's mapping with in setup"
            ))
        })
        .clone()
}

#[cfg(not(target_os = "linux"))]
fn knows_mseal() -> Result<(), String> {
    Err("mseal is Linux's".into())
}

/// Whether prctl knows the MDWE options here. A kernel from 6.3 does, but a runtime that
/// re-implements prctl may not (qemu-user 7.2 answers EINVAL), and the case's setup call
/// would then fail as harness trouble. PR_GET_MDWE only reads the process's state.
#[cfg(target_os = "linux")]
fn knows_mdwe() -> Result<(), String> {
    static ANSWER: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ANSWER
        .get_or_init(|| {
            // SAFETY: PR_GET_MDWE takes no pointer and changes nothing.
            let r = unsafe { libc::prctl(libc::PR_GET_MDWE, 0, 0, 0, 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            Err(format!(
                "prctl(PR_GET_MDWE) fails here ({e}): this kernel or runtime has no memory-deny-write-execute control to set up"
            ))
        })
        .clone()
}

#[cfg(not(target_os = "linux"))]
fn knows_mdwe() -> Result<(), String> {
    Err("prctl(PR_SET_MDWE) is Linux's".into())
}

#[cfg(test)]
mod tests {
    use super::{mdwe_missing, reports_locked};
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
        let why = mdwe_missing(&c, Os::Linux, || Err("prctl says EINVAL".into()));
        assert_eq!(why.as_deref(), Some("prctl says EINVAL"));
        assert_eq!(mdwe_missing(&c, Os::Linux, || Ok(())), None);
    }

    #[test]
    fn a_case_that_seals_in_setup_is_not_applicable_where_mseal_is_missing_but_one_that_calls_it_runs()
     {
        let sets = case(&format!(
            "mapping = [{{ name = \"m\", len = \"1p\" }}]\nsetup = [{{ fn = \"mseal\", addr = \"mapping.m\", len = \"1p\", flags = \"0\" }}]\n{MAP}"
        ));
        let why = super::setup_mseal_missing(&sets, Os::Linux, || Err("ENOSYS".into()));
        assert_eq!(why.as_deref(), Some("ENOSYS"));
        let calls = case(
            "mapping = [{ name = \"m\", len = \"1p\" }]\n\n[case.call]\nfn = \"mseal\"\naddr = \"mapping.m\"\nlen = \"1p\"\nflags = \"0\"\n\n[case.expect]\nresult = \"ok\"\n",
        );
        assert_eq!(
            super::setup_mseal_missing(&calls, Os::Linux, || Err("ENOSYS".into())),
            None
        );
    }

    #[test]
    fn a_case_that_does_not_set_mdwe_never_asks_the_kernel() {
        let c = case(MAP);
        let asked = std::cell::Cell::new(false);
        let why = mdwe_missing(&c, Os::Linux, || {
            asked.set(true);
            Err("no".into())
        });
        assert_eq!(why, None);
        assert!(!asked.get());
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
