//! The normalised observation: what one run of a case saw, in a form that does not depend
//! on where the kernel put things, so the harness and a reproducer can be compared exactly.
//!
//! One JSON object (a reproducer prints it as its last line):
//!
//! - `case`: the case id; `end`: how the case's child ended (`exited N`, `killed by SIG...`,
//!   `hang`); `verdict`: `pass`, `known deviation`, `fail` or `setup failed`.
//! - When the child reported: `setup` is `"ok"` or `{stage, index, errno}` (where setup
//!   stopped). After a good setup: `call` and `steps` (one outcome per step, fork steps
//!   included) and, after a fork step, `fork` (how the forked process ended); after a
//!   second fork step (in the child), `grandchild` (how the grandchild ended, as the child
//!   saw it).
//! - An outcome is `{state: "ok"}`, `{state: "errno", errno: NAME}`, `{state: "fault",
//!   signal, code (si_code name), at (fault address relative to the step's address, as
//!   `+0x..`, or `far (1 GiB or more)`)}`, `{state: "bytes differ", at (relative to the step's address or file
//!   offset), got (hex bytes)}`, `{state: "size differs", size}` (a size of 64 MiB or more, which only a whole
//!   process's lock count reaches, as `"64 MiB or more"`) or `{state: "not run"}`.
//!   A successful mmap or mremap adds `placed`: `at addr` / `page aligned` / `not page
//!   aligned` (mmap), `at old_address` / `at new_address` / `moved` (mremap); a read-back
//!   adds the file `size`.
//!
//! No absolute address or descriptor number appears: addresses are relative to the
//! mapping or step they belong to and descriptors are only ever `object` or the case's
//! literal number. Errno, signal and si_code values are named as the suite names them.

use crate::judge::{self, Verdict};
use crate::model::Case;
use crate::names::{self, Os};
use crate::plan::{ActionPlan, CallPlan, Plan};
use crate::record::{ChildEnd, Observation, RawOutcome, Stage};
use serde_json::{Map, Value, json};

/// What a call or step reports beyond its state.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Other,
    Mmap,
    Mremap,
    Readback,
    /// A buffer step: its count.
    Buffer,
    /// A vma step: the VMA's extent and permissions.
    Vma,
}

fn call_kind(c: &CallPlan) -> Kind {
    match c {
        CallPlan::Mmap { .. } => Kind::Mmap,
        CallPlan::Mremap { .. } => Kind::Mremap,
        CallPlan::Munmap { .. }
        | CallPlan::Mprotect { .. }
        | CallPlan::Msync { .. }
        | CallPlan::Madvise { .. }
        | CallPlan::Mincore { .. }
        | CallPlan::Mlock { .. }
        | CallPlan::Munlock { .. }
        | CallPlan::Minherit { .. }
        | CallPlan::Mlockall { .. }
        | CallPlan::Munlockall
        | CallPlan::Mlock2 { .. }
        | CallPlan::Mseal { .. }
        | CallPlan::ProcessMadvise { .. }
        | CallPlan::Mdwe { .. }
        | CallPlan::ShmOpen { .. } => Kind::Other,
    }
}

fn action_kind(a: &ActionPlan) -> Kind {
    match a {
        ActionPlan::Call(c) => call_kind(c),
        ActionPlan::Readback { .. } => Kind::Readback,
        ActionPlan::Buffer { .. } => Kind::Buffer,
        ActionPlan::Vma { .. } => Kind::Vma,
        ActionPlan::Read { .. }
        | ActionPlan::Write { .. }
        | ActionPlan::Fork
        | ActionPlan::Ftruncate { .. }
        | ActionPlan::Pwrite { .. }
        | ActionPlan::CloseObject
        | ActionPlan::Mincore { .. }
        | ActionPlan::Locked { .. }
        | ActionPlan::WriteRet { .. }
        | ActionPlan::Exec { .. }
        | ActionPlan::FdStat { .. } => Kind::Other,
    }
}

/// A vma step's VMA: start and end relative to the step's address, and its permissions
/// (`"none"` when no VMA contains the address).
fn vma_value(o: &RawOutcome) -> Value {
    if o.got_len < 4 {
        return "none".into();
    }
    json!({
        "start": rel(o.at),
        "end": rel(o.size),
        "perms": String::from_utf8_lossy(&o.got[..4]),
    })
}

fn rel(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

/// Where a fault lay, relative to the touched address: a gigabyte or more away it is
/// somewhere a register pointed (code executed where PROT_EXEC is not enforced, as on
/// UML), which differs from process to process, so it is only "far" (runtime.c alike).
fn fault_at(v: i64) -> String {
    if v.unsigned_abs() >= 1 << 30 {
        "far (1 GiB or more)".into()
    } else {
        rel(v)
    }
}

fn code_name(signo: i32, code: i32) -> String {
    names::si_code_name(signo, code)
        .map(str::to_string)
        .unwrap_or_else(|| format!("si_code {code}"))
}

fn outcome(o: &RawOutcome, kind: Kind, page: u64) -> Value {
    match o.state {
        RawOutcome::OK => {
            let mut m = Map::new();
            m.insert("state".into(), "ok".into());
            let placed = match kind {
                Kind::Mmap if o.args[0] != 0 && o.ret == o.args[0] => Some("at addr"),
                Kind::Mmap if o.ret % page == o.args[5] % page => Some("page aligned"),
                Kind::Mmap => Some("not page aligned"),
                Kind::Mremap if o.ret == o.args[0] => Some("at old_address"),
                Kind::Mremap if o.args[4] != 0 && o.ret == o.args[4] => Some("at new_address"),
                Kind::Mremap => Some("moved"),
                Kind::Other | Kind::Readback | Kind::Buffer | Kind::Vma => None,
            };
            if let Some(p) = placed {
                m.insert("placed".into(), p.into());
            }
            if kind == Kind::Readback {
                m.insert("size".into(), o.size.into());
            }
            if kind == Kind::Buffer {
                m.insert("count".into(), o.ret.into());
            }
            if kind == Kind::Vma {
                m.insert("vma".into(), vma_value(o));
            }
            Value::Object(m)
        }
        RawOutcome::ERRNO => json!({"state": "errno", "errno": names::errno_name(o.errno)}),
        RawOutcome::FAULT => json!({
            "state": "fault",
            "signal": names::signal_name(o.signo),
            "code": code_name(o.signo, o.code),
            "at": fault_at(o.fault_off),
        }),
        RawOutcome::BYTES_DIFFER => {
            let n = (o.got_len as usize).min(o.got.len());
            let got: Vec<String> = o.got[..n].iter().map(|b| format!("{b:02x}")).collect();
            json!({"state": "bytes differ", "at": rel(o.at), "got": got.join(" ")})
        }
        RawOutcome::SIZE_DIFFERS if o.size >= WHOLE_PROCESS => {
            json!({"state": "size differs", "size": "64 MiB or more"})
        }
        RawOutcome::SIZE_DIFFERS => json!({"state": "size differs", "size": o.size}),
        RawOutcome::COUNT_DIFFERS => json!({"state": "count differs", "count": o.ret}),
        RawOutcome::VMA_DIFFERS => json!({"state": "vma differs", "vma": vma_value(o)}),
        _ => json!({"state": "not run"}),
    }
}

/// A size this large is no case's own: it is a whole process's (VmLck after an mlockall
/// that should have failed locks all of the harness, or all of the far smaller
/// reproducer), so the two sides differ by their own footprints. Both print it as a
/// bound, as runtime.c does.
const WHOLE_PROCESS: i64 = 64 << 20;

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Done => "done",
        Stage::Object => "object",
        Stage::Mapping => "mapping",
        Stage::Hole => "hole",
        Stage::Privilege => "privilege",
        Stage::Limits => "limits",
        Stage::Signals => "signals",
        Stage::Fork => "fork",
        Stage::Step => "step",
        Stage::SetupCalls => "setup",
    }
}

fn wait_status(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("killed by {}", names::signal_name(libc::WTERMSIG(status)))
    } else {
        format!("exited {}", libc::WEXITSTATUS(status))
    }
}

/// The harness's observation of `case` (run as `plan` on `os`), normalised, with the
/// judge's verdict.
pub fn normalise(case: &Case, plan: &Plan, os: Os, obs: &Observation) -> Value {
    let verdict = judge::judge(case, plan, os, obs).verdict;
    let mut m = Map::new();
    m.insert("case".into(), case.id.clone().into());
    let end = match &obs.end {
        ChildEnd::Exited(c) => format!("exited {c}"),
        ChildEnd::Signaled(s) => format!("killed by {}", names::signal_name(*s)),
        ChildEnd::Hung => "hang".into(),
        ChildEnd::Broken(_) => "broken".into(),
    };
    m.insert("end".into(), end.into());
    let mut setup_failed = false;
    if let (Some(rec), ChildEnd::Exited(0)) = (&obs.record, &obs.end) {
        match Stage::from_raw(rec.failed_stage).filter(|s| *s != Stage::Done) {
            Some(stage) => {
                setup_failed = true;
                m.insert(
                    "setup".into(),
                    json!({
                        "stage": stage_name(stage),
                        "index": rec.failed_index,
                        "errno": names::errno_name(rec.failed_errno),
                    }),
                );
            }
            None => {
                let page = plan.page as u64;
                m.insert("setup".into(), "ok".into());
                m.insert(
                    "call".into(),
                    outcome(&rec.call, call_kind(&plan.call), page),
                );
                let steps: Vec<Value> = plan
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| outcome(&rec.steps[i], action_kind(&s.action), page))
                    .collect();
                m.insert("steps".into(), Value::Array(steps));
                if rec.forked == 1 {
                    m.insert("fork".into(), wait_status(rec.fork_status).into());
                }
                if rec.grandchild == 1 {
                    m.insert(
                        "grandchild".into(),
                        wait_status(rec.grandchild_status).into(),
                    );
                }
            }
        }
    }
    let v = match verdict {
        _ if setup_failed => "setup failed",
        Verdict::Pass => "pass",
        Verdict::KnownDeviation => "known deviation",
        Verdict::Fail => "fail",
        // Only a failed privilege drop, or an absolute MAP_FIXED target holding the
        // program's own pages, makes a planned case not applicable.
        Verdict::NotApplicable => "setup failed",
        // Harness trouble: for a reproducer, its setup failed (exit 2).
        Verdict::Broken => "setup failed",
        Verdict::Observed => "observed",
    };
    m.insert("verdict".into(), v.into());
    Value::Object(m)
}

/// The exit status a reproducer gives for a normalised verdict.
pub fn exit_status(verdict: &str) -> i32 {
    match verdict {
        // An observe-only case has nothing to miss: it exits 0 like a pass.
        "pass" | "known deviation" | "observed" => 0,
        "setup failed" => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_differs(size: i64) -> Value {
        let o = RawOutcome {
            state: RawOutcome::SIZE_DIFFERS,
            size,
            ..Default::default()
        };
        outcome(&o, Kind::Other, 4096)
    }

    #[test]
    fn a_size_a_case_could_lock_is_kept_and_a_whole_process_size_is_a_bound() {
        assert_eq!(size_differs(3 * 4096)["size"], json!(12288));
        assert_eq!(size_differs((64 << 20) - 1)["size"], json!((64 << 20) - 1));
        // VmLck after an mlockall that qemu-user accepted: the harness's 530 MB and the
        // reproducer's 237 MB are the same observation.
        assert_eq!(size_differs(530_436_096), size_differs(237_264_896));
        assert_eq!(size_differs(64 << 20)["size"], json!("64 MiB or more"));
    }
}
