//! Whether a case applies on this host beyond its `os`: its architecture gate, the kernel
//! release it needs, and the facilities its steps read (the lock count in /proc). Each
//! "no" is a reason the report shows as not applicable.

use crate::host::Host;
use crate::model::{Action, Case};
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

#[cfg(test)]
mod tests {
    use super::reports_locked;

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
