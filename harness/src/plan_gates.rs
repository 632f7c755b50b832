//! Whether a case applies on this host beyond its `os`: its architecture gate, the kernel
//! release it needs, and the facilities its steps read (the lock count in /proc). Each
//! "no" is a reason the report shows as not applicable.

use crate::host::Host;
use crate::model::{Action, Case};
use crate::names::Os;

/// Where Linux reports a process's locked memory (VmLck).
pub const LINUX_STATUS: &str = "/proc/self/status";

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
            Os::Linux if !std::path::Path::new(LINUX_STATUS).is_file() => {
                return Some(format!(
                    "{LINUX_STATUS} is absent (no /proc): the locked-memory count cannot be read"
                ));
            }
            Os::Linux => {}
        }
    }
    None
}
