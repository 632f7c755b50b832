//! Judging: an [`Observation`] against what the case expects on this OS, giving a
//! [`Verdict`] and a [`CaseResult`] that says, for a kernel developer, which clause, which
//! call (as C), what was expected and what was seen.

use crate::model::{Action, Bytes, Case, Outcome};
use crate::names::{self, Os};
use crate::plan::{Check, Plan};
use crate::record::{ChildEnd, Observation, RawOutcome, SetupCall, Stage};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// The kernel did exactly what a recorded deviation says it does.
    KnownDeviation,
    Fail,
    NotApplicable,
    /// The harness could not run the case (LTP's TBROK): no disk, no fork, no
    /// descriptor, a setup step that failed. Says nothing about the kernel's conformance.
    Broken,
    /// Everything the case expects passed, and an outcome the cited clause leaves
    /// unspecified (`observe = true`) was recorded: neither pass nor fail, and no ✓.
    Observed,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::KnownDeviation => "known deviation",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "not applicable",
            Verdict::Broken => "BROKEN",
            Verdict::Observed => "observed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: usize,
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub verdict: Verdict,
}

/// A recorded deviation that a run observed.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedDeviation {
    /// 1-based step number; `None` is the call.
    pub step: Option<usize>,
    pub why: String,
    pub evidence: String,
    /// The cited clauses contradicted; empty means every clause it cites for this OS.
    pub contradicts: Vec<String>,
}

/// Why the harness could not run a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trouble {
    /// The call that failed (`open`, `fork`, `pipe`, ...).
    pub call: String,
    /// Its errno by name, when it set one.
    pub errno: Option<String>,
    /// The whole reason, in words.
    pub reason: String,
}

/// One case's judged result, ready for reports.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub clauses: Vec<String>,
    pub file: String,
    pub verdict: Verdict,
    /// True when this OS's expectation has not been confirmed by a run.
    pub unverified: bool,
    /// The call as C, with the values passed.
    pub call: String,
    pub expected: String,
    pub observed: String,
    pub steps: Vec<StepResult>,
    /// The recorded deviations the kernel's behaviour matched, with their evidence.
    pub deviations: Vec<MatchedDeviation>,
    /// Why it failed, which deviation matched, or why it does not apply.
    pub message: String,
    /// Set exactly when the verdict is [`Verdict::Broken`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<Trouble>,
    pub elapsed_us: u64,
    /// The case definition's content hash ([`Case::hash`]).
    pub case_hash: String,
    /// The observation in the reproducers' normal form (`repro::observation`), so that a
    /// reproducer run on the same runtime can be compared with this run afterwards
    /// (`mmapconf repro --compare`). Set by the runner for every case that ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normal_observation: Option<serde_json::Value>,
}

impl CaseResult {
    pub fn not_applicable(case: &Case, reason: &str) -> CaseResult {
        CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            clauses: case.clauses.clone(),
            file: format!("{}:{}", case.file.display(), case.line),
            verdict: Verdict::NotApplicable,
            unverified: false,
            call: case.call.name().to_string(),
            expected: String::new(),
            observed: String::new(),
            steps: Vec::new(),
            deviations: Vec::new(),
            message: reason.to_string(),
            broken: None,
            elapsed_us: 0,
            case_hash: case.hash.clone(),
            normal_observation: None,
        }
    }

    /// Marks this result broken: the harness could not run the case.
    pub fn set_broken(&mut self, trouble: Trouble) {
        self.verdict = Verdict::Broken;
        self.observed = format!("not run: {}", trouble.reason);
        self.message =
            "BROKEN: harness trouble, not a kernel failure; fix the machine and run again".into();
        self.steps.clear();
        self.deviations.clear();
        self.broken = Some(trouble);
    }

    /// The failure report: case, clauses, call as C, expected vs observed.
    pub fn explain(&self) -> String {
        let mut s = format!(
            "{} [{}]\n  {}\n  {}\n  call:     {}\n  expected: {}\n  observed: {}\n",
            self.id,
            self.clauses.join(", "),
            self.title,
            self.file,
            self.call,
            self.expected,
            self.observed
        );
        for st in self.steps.iter().filter(|s| s.verdict != Verdict::Pass) {
            s.push_str(&format!(
                "  step {} ({}): expected {}, observed {} [{}]\n",
                st.step,
                st.what,
                st.expected,
                st.observed,
                st.verdict.label()
            ));
        }
        if !self.message.is_empty() {
            s.push_str(&format!("  {}\n", self.message));
        }
        s
    }
}

/// What the child saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Ok,
    Errno(i32),
    Fault {
        signo: i32,
        code: i32,
    },
    /// The first differing bytes (a window of up to 16).
    BytesDiffer {
        at: i64,
        got: Vec<u8>,
        want: Vec<u8>,
    },
    Other(String),
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Seen::Ok => f.write_str("ok"),
            Seen::Errno(e) => f.write_str(&names::errno_name(*e)),
            Seen::Fault { signo, code } => {
                let c = names::si_code_name(*signo, *code)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("si_code {code}"));
                write!(f, "{} {c}", names::signal_name(*signo))
            }
            Seen::BytesDiffer { at, got, .. } if got.is_empty() => {
                write!(f, "the file ends at +{at:#x}, before the checked bytes do")
            }
            Seen::BytesDiffer { at, got, want } => {
                write!(
                    f,
                    "bytes differ at +{at:#x}: got [{}], expected [{}]",
                    hex(got),
                    hex(want)
                )
            }
            Seen::Other(s) => f.write_str(s),
        }
    }
}

impl Seen {
    /// Whether this is `o`, comparing numeric values on this OS (so `ENOTSUP` and
    /// `EOPNOTSUPP` are one errno where they share a value).
    fn is(&self, o: &Outcome) -> bool {
        match (self, o) {
            (Seen::Ok, Outcome::Ok) => true,
            (Seen::Errno(v), Outcome::Errno(any)) => any
                .iter()
                .any(|name| names::ERRNO.value(name) == Ok(*v as i64)),
            (
                Seen::Fault { signo, code },
                Outcome::Fault {
                    signal,
                    code: cname,
                },
            ) => {
                names::SIGNAL.value(signal) == Ok(*signo as i64)
                    && cname
                        .as_ref()
                        .is_none_or(|c| names::si_code_value(*signo, c) == Some(*code))
            }
            (Seen::BytesDiffer { got, .. }, Outcome::Bytes(b)) if !got.is_empty() => {
                got.iter().all(|x| match b {
                    Bytes::Zeros => *x == 0,
                    Bytes::Byte(v) => x == v,
                    Bytes::Object => false,
                })
            }
            _ => false,
        }
    }
}

/// A vma step's VMA as the record holds it, relative to the step's address.
fn vma_text(raw: &RawOutcome) -> String {
    if raw.got_len < 4 {
        return "no VMA contains the address".into();
    }
    format!(
        "VMA [{}, {}) {}",
        signed_rel(raw.at),
        signed_rel(raw.size),
        String::from_utf8_lossy(&raw.got[..4])
    )
}

fn signed_rel(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

/// Where a fault struck, relative to the address the step touched: `at +0x0`, `at -0xfff`
/// (s390x reports only the page of a fault). A fault a gigabyte or more away (a runtime
/// without NX executing a page's bytes, which fault wherever a register points) is said
/// to be so, without the number, which changes from run to run.
pub fn fault_place(off: i64) -> String {
    const FAR: u64 = 1 << 30;
    match off.unsigned_abs() {
        d if d >= FAR => " far from the touched address (1 GiB or more)".into(),
        d if off < 0 => format!(" at -{d:#x}"),
        d => format!(" at +{d:#x}"),
    }
}

fn seen(raw: &RawOutcome, check: Option<Check>, want_size: Option<i64>) -> Seen {
    match raw.state {
        RawOutcome::OK => Seen::Ok,
        RawOutcome::ERRNO => Seen::Errno(raw.errno),
        RawOutcome::FAULT => Seen::Fault {
            signo: raw.signo,
            code: raw.code,
        },
        RawOutcome::BYTES_DIFFER => {
            let n = raw.got_len.min(16) as usize;
            Seen::BytesDiffer {
                at: raw.at,
                got: raw.got[..n].to_vec(),
                want: (0..n as u64)
                    .map(|k| check.map_or(0, |c| c.expected(raw.at as u64 + k)))
                    .collect(),
            }
        }
        RawOutcome::SIZE_DIFFERS => Seen::Other(format!(
            "file size {} (expected {})",
            raw.size,
            want_size.map_or("?".into(), |s| s.to_string())
        )),
        _ => Seen::Other("not run".into()),
    }
}

/// Judges one observation. `plan` must be the plan the observation ran.
pub fn judge(case: &Case, plan: &Plan, os: Os, obs: &Observation) -> CaseResult {
    let expected = case.expect.for_os(os).clone();
    let mut r = CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        clauses: case.clauses.clone(),
        file: format!("{}:{}", case.file.display(), case.line),
        verdict: Verdict::Fail,
        unverified: case.unverified.contains(&os),
        call: plan.call_text.func.to_string(),
        expected: expected.to_string(),
        observed: String::new(),
        steps: Vec::new(),
        deviations: Vec::new(),
        message: String::new(),
        broken: None,
        elapsed_us: obs.elapsed.as_micros() as u64,
        case_hash: case.hash.clone(),
        normal_observation: None,
    };
    let rec = match (&obs.record, &obs.end) {
        (_, ChildEnd::Hung) => {
            r.observed = format!("hang: the child was killed after {:?}", plan.timeout);
            return r;
        }
        (_, ChildEnd::Broken(e)) => {
            let call = e.split(':').next().unwrap_or("").trim().to_string();
            let errno = e
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
                .find(|w| names::ERRNO.value(w).is_ok() || is_errno_word(w))
                .map(str::to_string);
            r.set_broken(Trouble {
                call,
                errno,
                reason: e.clone(),
            });
            return r;
        }
        // A child that died before the call under test returned (or before it reported
        // anything) has no outcome to judge; one that died later still shows its steps.
        (None, ChildEnd::Signaled(s)) => {
            r.observed = died_outside_probe(*s);
            return r;
        }
        (Some(rec), ChildEnd::Signaled(s))
            if rec.call.state == RawOutcome::NOT_RUN && rec.failed_stage == Stage::Done as u32 =>
        {
            r.observed = died_outside_probe(*s);
            return r;
        }
        // The child exits without a report only when its own reporting failed (it could
        // not write to its pipe): the harness's trouble.
        (None, ChildEnd::Exited(c)) => {
            r.set_broken(Trouble {
                call: "the child's report".into(),
                errno: None,
                reason: format!("the child exited with status {c} without a report"),
            });
            return r;
        }
        (Some(rec), _) => rec,
    };
    if let Some(stage) = Stage::from_raw(rec.failed_stage).filter(|s| *s != Stage::Done) {
        r.call = format!("{} (not made: setup failed)", plan.call_text.func);
        let call = SetupCall::from_raw(rec.failed_call).name();
        let errno = names::errno_name(rec.failed_errno);
        let at = match stage {
            Stage::Mapping | Stage::Limits | Stage::SetupCalls => format!(" #{}", rec.failed_index),
            Stage::Fork | Stage::Step => format!(" (step {})", rec.failed_index + 1),
            _ => String::new(),
        };
        let what = format!(
            "setup failed: {call} for {}{at} gave {errno} ({})",
            stage.what(),
            nix::errno::Errno::from_raw(rec.failed_errno).desc()
        );
        // The absolute range a MAP_FIXED call would replace holds this program's own
        // pages (plan.rs fixed_absolute): the case cannot be run in this process layout.
        let own_pages = plan
            .fixed_absolute
            .filter(|_| stage == Stage::Hole && rec.failed_errno == libc::EEXIST);
        if stage == Stage::Privilege {
            r.observed = what.clone();
            r.verdict = Verdict::NotApplicable;
            r.message = format!("cannot run unprivileged here: {what}");
        } else if let Some((addr, len)) = own_pages {
            r.observed = what.clone();
            r.verdict = Verdict::NotApplicable;
            r.message = format!(
                "[{addr:#x}, {:#x}) holds this program's own pages here (its image or heap), \
                 which the MAP_FIXED call would replace",
                addr.saturating_add(len as u64)
            );
        } else {
            r.set_broken(Trouble {
                call: call.to_string(),
                errno: Some(errno),
                reason: what,
            });
        }
        return r;
    }

    r.call = plan.call_text.as_c(&rec.call.args);
    let deviation_for = |step: Option<usize>| {
        plan.deviations
            .iter()
            .map(|&i| &case.deviations[i])
            .find(|d| d.step == step)
    };
    let mut verdicts = Vec::new();

    // The call.
    let call_seen = seen(&rec.call, None, None);
    r.observed = match (&call_seen, plan.call_text.func) {
        (Seen::Ok, "mmap" | "mremap") => format!("ok ({:#x})", rec.call.ret),
        _ => call_seen.to_string(),
    };
    let mut call_verdict = compare(&call_seen, &expected, deviation_for(None), &mut r);
    if call_seen == Seen::Ok
        && plan.call_text.func == "mmap"
        && let Some(problem) = mmap_result_problem(&rec.call, plan)
    {
        call_verdict = Verdict::Fail;
        push_line(&mut r.message, &problem);
    }
    if call_seen == Seen::Ok
        && let Some(problem) = placement_problem(case, rec, plan)
    {
        call_verdict = Verdict::Fail;
        push_line(&mut r.message, &problem);
    }
    verdicts.push(call_verdict);

    // The steps, when they ran: after a call that succeeded, or that failed where this
    // OS expects it to.
    if plan.steps_ran(rec.call.state) {
        for (i, (step, sp)) in case.steps.iter().zip(plan.steps.iter()).enumerate() {
            if matches!(step.action, Action::Fork) {
                continue;
            }
            let raw = &rec.steps[i];
            let (check, size) = match sp.action {
                crate::plan::ActionPlan::Read { check, .. } => (check, None),
                crate::plan::ActionPlan::Readback { check, size, .. } => (check, size),
                _ => (None, None),
            };
            let s = match sp.action {
                crate::plan::ActionPlan::Mincore { vector, pages, .. } => {
                    mincore_seen(raw, &vector[..pages])
                }
                crate::plan::ActionPlan::FdStat { field, .. }
                    if raw.state == RawOutcome::SIZE_DIFFERS =>
                {
                    let want = match &step.action {
                        Action::FdStat { want, .. } => fd_want_text(field, want),
                        _ => String::new(),
                    };
                    Seen::Other(format!(
                        "{} is {} (expected {want})",
                        field.key(),
                        fd_value_text(field, raw.size)
                    ))
                }
                crate::plan::ActionPlan::Locked { bytes }
                    if raw.state == RawOutcome::SIZE_DIFFERS =>
                {
                    // 64 MiB or more is a whole process's count (an mlockall that should
                    // have failed), which differs from run to run: said as a bound, as the
                    // normal form does, so an expectation of it holds.
                    if raw.size >= 64 << 20 {
                        Seen::Other(format!("64 MiB or more locked (expected {bytes})"))
                    } else {
                        Seen::Other(format!("{} bytes locked (expected {bytes})", raw.size))
                    }
                }
                crate::plan::ActionPlan::Vma { .. } if raw.state == RawOutcome::VMA_DIFFERS => {
                    Seen::Other(vma_text(raw))
                }
                crate::plan::ActionPlan::Buffer { op, count, .. }
                    if raw.state == RawOutcome::COUNT_DIFFERS =>
                {
                    Seen::Other(format!(
                        "{} returned {} (expected {count})",
                        op.func(),
                        raw.ret
                    ))
                }
                _ => seen(raw, check, size),
            };
            let mut observed = s.to_string();
            if raw.state == RawOutcome::FAULT {
                observed.push_str(&fault_place(raw.fault_off));
            }
            if matches!(sp.action, crate::plan::ActionPlan::Vma { .. })
                && raw.state == RawOutcome::OK
            {
                observed.push_str(&format!(" ({})", vma_text(raw)));
            }
            let want = step.expect.for_os(os);
            let v = compare(&s, want, deviation_for(Some(i + 1)), &mut r);
            verdicts.push(v);
            let expected = match (sp.action, want) {
                (crate::plan::ActionPlan::Buffer { count, .. }, Outcome::Ok) => {
                    format!("ok, returning {count}")
                }
                _ => want.to_string(),
            };
            r.steps.push(StepResult {
                step: i + 1,
                what: describe(&step.action, step.who, sp.call_text.as_ref(), &raw.args),
                expected,
                observed,
                verdict: v,
            });
        }
        if rec.forked == 1 && libc::WIFSIGNALED(rec.fork_status) {
            verdicts.push(Verdict::Fail);
            push_line(
                &mut r.message,
                &format!(
                    "the process made by the fork step died of {}",
                    names::signal_name(libc::WTERMSIG(rec.fork_status))
                ),
            );
        }
        if rec.grandchild == 1 && libc::WIFSIGNALED(rec.grandchild_status) {
            verdicts.push(Verdict::Fail);
            push_line(
                &mut r.message,
                &format!(
                    "the grandchild made by the second fork step died of {}",
                    names::signal_name(libc::WTERMSIG(rec.grandchild_status))
                ),
            );
        }
    }
    r.verdict = if verdicts.contains(&Verdict::Fail) {
        Verdict::Fail
    } else if verdicts.contains(&Verdict::KnownDeviation) {
        Verdict::KnownDeviation
    } else if verdicts.contains(&Verdict::Observed) {
        Verdict::Observed
    } else {
        Verdict::Pass
    };
    if matches!(obs.end, ChildEnd::Signaled(_) | ChildEnd::Exited(1..)) {
        r.verdict = Verdict::Fail;
        push_line(
            &mut r.message,
            &format!("the child ended abnormally: {:?}", obs.end),
        );
    }
    r
}

/// A vector as the case writes it: `[1, 0, 1]`.
fn vector_text(v: &[u8]) -> String {
    let parts: Vec<String> = v.iter().map(|b| b.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// A mincore step's outcome: its errno, or the residency per page where it differs.
fn mincore_seen(raw: &RawOutcome, want: &[u8]) -> Seen {
    if raw.state != RawOutcome::BYTES_DIFFER {
        return seen(raw, None, None);
    }
    let at = raw.at.max(0) as usize;
    let n = (raw.got_len as usize).min(16);
    let mut got = want.to_vec();
    for (k, b) in raw.got[..n].iter().enumerate() {
        if let Some(slot) = got.get_mut(at + k) {
            *slot = *b;
        }
    }
    Seen::Other(format!(
        "resident per page {} (first difference at page {at})",
        vector_text(&got)
    ))
}

fn died_outside_probe(signo: i32) -> String {
    format!(
        "the child died of {} outside any probe",
        names::signal_name(signo)
    )
}

/// Whether `w` names an errno this OS knows (ENOSPC, EROFS: outside the case table too).
fn is_errno_word(w: &str) -> bool {
    w.starts_with('E')
        && w.len() > 2
        && w.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && (1..200).any(|v| names::errno_name(v) == w)
}

fn push_line(msg: &mut String, line: &str) {
    if !msg.is_empty() {
        msg.push('\n');
    }
    msg.push_str(line);
}

/// Judges one observation; a matched deviation is recorded in `r`.
fn compare(
    seen: &Seen,
    want: &Outcome,
    deviation: Option<&crate::model::Deviation>,
    r: &mut CaseResult,
) -> Verdict {
    let msg = &mut r.message;
    let matches = |o: &Outcome| seen.is(o);
    if *want == Outcome::Observe {
        // Whatever came back is the observation; a child that could not report is not one.
        return match seen {
            Seen::Other(s) if s == "not run" => Verdict::Fail,
            _ => Verdict::Observed,
        };
    }
    if matches(want) {
        if let Some(d) = deviation {
            push_line(
                msg,
                &format!(
                    "note: a deviation ({}) is recorded but the kernel now follows the clause",
                    d.observed
                ),
            );
        }
        return Verdict::Pass;
    }
    match deviation {
        Some(d) if matches(&d.observed) => {
            push_line(
                msg,
                &format!("known deviation: {} (evidence: {})", d.why, d.evidence),
            );
            r.deviations.push(MatchedDeviation {
                step: d.step,
                why: d.why.clone(),
                evidence: d.evidence.clone(),
                contradicts: d.contradicts.clone(),
            });
            Verdict::KnownDeviation
        }
        _ => Verdict::Fail,
    }
}

/// A successful mmap returns a page-aligned address (offset by the offset's in-page part
/// where a kernel accepts unaligned offsets, as FreeBSD does), and exactly `addr` under
/// MAP_FIXED.
fn mmap_result_problem(call: &RawOutcome, plan: &Plan) -> Option<String> {
    let (ret, addr, offset) = (call.ret, call.args[0], call.args[5]);
    if ret == u64::MAX {
        return Some("mmap returned MAP_FAILED yet reported success".into());
    }
    let page = plan.page as u64;
    if ret % page != offset % page {
        return Some(format!("mmap returned {ret:#x}, which is not page aligned"));
    }
    if plan.call_text.exact_addr && ret != addr {
        return Some(format!(
            "mmap returned {ret:#x}, not the fixed address {addr:#x}"
        ));
    }
    None
}

/// Where the case asserts the mapping lies (`placed`): the range `[ret, ret + len)` of a
/// successful mmap (len) or mremap (new_len) against the addresses the child resolved.
fn placement_problem(case: &Case, rec: &crate::record::Record, plan: &Plan) -> Option<String> {
    let (Some(want), Some(p)) = (&case.placed, plan.placed) else {
        return None;
    };
    if rec.placed != 1 {
        return Some(format!(
            "the child did not resolve the addresses of `placed` ({want})"
        ));
    }
    let ret = rec.call.ret;
    let len = match plan.call_text.func {
        "mremap" => rec.call.args[2],
        _ => rec.call.args[1],
    };
    let [at, end] = rec.placed_at;
    if p.how.holds(ret, len, at, end) {
        return None;
    }
    let bounds = match p.how {
        crate::model::Placement::Within => format!("{at:#x}..{end:#x}"),
        _ => format!("{at:#x}"),
    };
    Some(format!(
        "{} returned {ret:#x} (length {len:#x}), which is not placed {want} ({bounds})",
        plan.call_text.func
    ))
}

/// A step in words; a call step as C with the arguments it was made with.
fn describe(
    a: &Action,
    who: crate::model::Who,
    text: Option<&crate::plan::CallText>,
    args: &[u64; 6],
) -> String {
    let s = match a {
        Action::Read { addr, len, .. } => format!("read {addr} len {len}"),
        Action::Write { addr, len, byte } => format!("write {byte:#04x} at {addr} len {len}"),
        Action::Fork => "fork".into(),
        Action::Call(c) => match text {
            Some(t) => t.as_c(args),
            None => c.name().to_string(),
        },
        Action::Ftruncate {
            size,
            via_result: false,
        } => format!("ftruncate to {size}"),
        Action::Ftruncate {
            size,
            via_result: true,
        } => format!("ftruncate the call's descriptor to {size}"),
        Action::FdStat { field, want } => format!(
            "the call's descriptor's {} is {}",
            field.key(),
            fd_want_text(*field, want)
        ),
        Action::Pwrite { offset, len, byte } => {
            format!("pwrite {byte:#04x} at offset {offset} len {len}")
        }
        Action::CloseObject => "close the object's fd".into(),
        Action::Readback { offset, len, .. } => format!("read back the file at {offset} len {len}"),
        Action::Mincore { addr, len, vector } => format!(
            "mincore {addr} len {len}, resident per page {}",
            vector_text(vector)
        ),
        Action::Locked { bytes } => format!("locked memory is {bytes} bytes"),
        Action::Vma {
            addr,
            start,
            end,
            perms,
        } => {
            let mut t = format!("the VMA containing {addr}");
            if let Some(s) = start {
                t.push_str(&format!(" starts at {s}"));
            }
            if let Some(e) = end {
                t.push_str(&format!(
                    "{} ends at {e}",
                    if start.is_some() { "," } else { "" }
                ));
            }
            if let Some(p) = perms {
                t.push_str(&format!(" is {}", String::from_utf8_lossy(p)));
            }
            t
        }
        Action::WriteRet { addr } => format!("write a return instruction at {addr}"),
        Action::Exec { addr } => format!("call {addr} as a function"),
        Action::Buffer {
            op, addr, len, fd, ..
        } => {
            let fd = match fd {
                crate::model::IoFd::Object => "the object's fd",
                crate::model::IoFd::Second => "the object's second fd",
                crate::model::IoFd::Pipe => "a pipe",
            };
            let off = if op.positioned() {
                format!(" at file offset {}", args[2] as i64)
            } else {
                String::new()
            };
            if op.fills_buffer() {
                format!("{} from {fd}{off} into {addr} len {len}", op.func())
            } else {
                format!("{} to {fd}{off} from {addr} len {len}", op.func())
            }
        }
    };
    match who {
        crate::model::Who::Child => format!("{s}, in the child"),
        crate::model::Who::Grandchild => format!("{s}, in the grandchild"),
        crate::model::Who::Parent => s,
    }
}

/// An fd_stat step's expected value as the case wrote it.
fn fd_want_text(field: crate::model::FdField, want: &crate::model::FdWant) -> String {
    use crate::model::FdWant;
    match want {
        FdWant::Size(e) => e.to_string(),
        FdWant::Value(v) => fd_value_text(field, *v),
        FdWant::Euid => "the effective uid".into(),
        FdWant::Egid => "the effective gid".into(),
    }
}

/// A value an fd_stat step read, as C would write it (a mode in octal, an access mode
/// by name).
fn fd_value_text(field: crate::model::FdField, v: i64) -> String {
    use crate::model::FdField;
    match field {
        FdField::Mode => format!("{v:#05o}"),
        FdField::Accmode => match v {
            0 => "O_RDONLY".into(),
            1 => "O_WRONLY".into(),
            2 => "O_RDWR".into(),
            _ => format!("access mode {v}"),
        },
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_place_is_signed_and_a_far_one_has_no_number() {
        assert_eq!(fault_place(0), " at +0x0");
        assert_eq!(fault_place(0x1000), " at +0x1000");
        assert_eq!(fault_place(-0xfff), " at -0xfff");
        assert_eq!(
            fault_place(-0x40a56000),
            " far from the touched address (1 GiB or more)"
        );
        assert_eq!(
            fault_place(i64::MIN),
            " far from the touched address (1 GiB or more)"
        );
    }
    use crate::host::Host;
    use crate::load::parse_file;
    use crate::plan::{Planned, plan};
    use crate::record::Record;
    use crate::registry::Registry;
    use rstest::rstest;
    use std::time::Duration;

    fn setup(body: &str) -> (Case, Plan) {
        let text = format!(
            "[[case]]\nid = \"judge.test.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n{body}"
        );
        let case = parse_file(
            std::path::Path::new("t.toml"),
            &text,
            &Registry::of_ids(&["posix.mmap.1"]),
        )
        .unwrap()
        .remove(0);
        let Planned::Ready(p) = plan(&case, &Host::detect()).unwrap() else {
            panic!()
        };
        (case, *p)
    }

    const MMAP_FIXED: &str = "mapping = [{ name = \"m\", len = \"1p\" }]\n\
        call = { fn = \"mmap\", addr = \"mapping.m\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\" }\n\
        expect = { result = \"ok\" }";

    fn ok_record(ret: u64, addr: u64) -> Record {
        let mut r = Record::new();
        r.call.state = RawOutcome::OK;
        r.call.ret = ret;
        r.call.args[0] = addr;
        r
    }

    fn observe(record: Option<Record>, end: ChildEnd) -> Observation {
        Observation {
            record,
            end,
            elapsed: Duration::from_millis(1),
        }
    }

    #[rstest]
    #[case::right(0x10000, 0x10000, Verdict::Pass, "")]
    #[case::moved(0x20000, 0x10000, Verdict::Fail, "not the fixed address")]
    #[case::unaligned(0x10001, 0x10001, Verdict::Fail, "not page aligned")]
    fn a_successful_map_fixed_must_return_addr_page_aligned(
        #[case] ret: u64,
        #[case] addr: u64,
        #[case] want: Verdict,
        #[case] msg: &str,
    ) {
        let (case, plan) = setup(MMAP_FIXED);
        let os = Host::detect().os.unwrap();
        let r = judge(
            &case,
            &plan,
            os,
            &observe(Some(ok_record(ret, addr)), ChildEnd::Exited(0)),
        );
        assert_eq!(r.verdict, want, "{}", r.explain());
        assert!(r.message.contains(msg), "{}", r.message);
    }

    #[rstest]
    #[case::hung(None, ChildEnd::Hung, "hang")]
    #[case::died(None, ChildEnd::Signaled(libc::SIGSEGV), "died of SIGSEGV")]
    fn a_child_that_hangs_or_dies_outside_a_probe_fails(
        #[case] rec: Option<Record>,
        #[case] end: ChildEnd,
        #[case] msg: &str,
    ) {
        let (case, plan) = setup(MMAP_FIXED);
        let r = judge(&case, &plan, Host::detect().os.unwrap(), &observe(rec, end));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.observed.contains(msg), "{}", r.observed);
    }

    #[rstest]
    #[case::no_fork(None, ChildEnd::Broken("fork: EAGAIN (Resource temporarily unavailable)".into()), "fork", Some("EAGAIN"))]
    #[case::no_disk(None, ChildEnd::Broken("write case-0.dat: ENOSPC (No space left on device)".into()), "write case-0.dat", Some("ENOSPC"))]
    #[case::silent(None, ChildEnd::Exited(121), "the child's report", None)]
    fn a_case_the_harness_could_not_run_is_broken_with_the_failing_call(
        #[case] rec: Option<Record>,
        #[case] end: ChildEnd,
        #[case] call: &str,
        #[case] errno: Option<&str>,
    ) {
        let (case, plan) = setup(MMAP_FIXED);
        let r = judge(&case, &plan, Host::detect().os.unwrap(), &observe(rec, end));
        assert_eq!(r.verdict, Verdict::Broken, "{}", r.explain());
        let t = r.broken.expect("a broken result says why");
        assert_eq!(t.call, call);
        assert_eq!(t.errno.as_deref(), errno);
        assert!(r.message.contains("not a kernel failure"), "{}", r.message);
    }

    #[test]
    fn a_failed_setup_step_is_broken_and_names_its_call_and_errno() {
        let (case, plan) = setup(MMAP_FIXED);
        let os = Host::detect().os.unwrap();
        let mut rec = Record::new();
        rec.failed_stage = Stage::Object as u32;
        rec.failed_call = SetupCall::Pwrite as u32;
        rec.failed_errno = libc::ENOSPC;
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.verdict, Verdict::Broken);
        let t = r.broken.unwrap();
        assert_eq!(
            (t.call.as_str(), t.errno.as_deref()),
            ("pwrite", Some("ENOSPC"))
        );
        assert!(
            t.reason
                .contains("pwrite for the case's object gave ENOSPC (No space left on device)"),
            "{}",
            t.reason
        );
    }

    #[test]
    fn a_failed_privilege_drop_does_not_apply() {
        let (case, plan) = setup(MMAP_FIXED);
        let os = Host::detect().os.unwrap();
        let mut rec = Record::new();
        rec.failed_stage = Stage::Privilege as u32;
        rec.failed_errno = libc::EPERM;
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.verdict, Verdict::NotApplicable);
    }

    #[test]
    fn an_absolute_map_fixed_target_holding_the_programs_own_pages_does_not_apply() {
        let (case, plan) = setup(
            "call = { fn = \"mmap\", addr = \"null+0x1000p\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\" }\nexpect = { result = \"ok\" }",
        );
        assert!(plan.fixed_absolute.is_some());
        let os = Host::detect().os.unwrap();
        let mut rec = Record::new();
        rec.failed_stage = Stage::Hole as u32;
        rec.failed_errno = libc::EEXIST;
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.verdict, Verdict::NotApplicable);
        assert!(r.message.contains("own pages"), "{}", r.message);
        // Any other failure to find the hole is still the harness's trouble.
        let mut rec = Record::new();
        rec.failed_stage = Stage::Hole as u32;
        rec.failed_errno = libc::ENOMEM;
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.verdict, Verdict::Broken);
    }

    const NOREPLACE_THEN_READ: &str = "mapping = [{ name = \"m\", len = \"1p\" }]\n\
        call = { fn = \"mmap\", addr = \"mapping.m\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\" }\n\
        expect = { errno = \"EEXIST\" }\n\
        step = [{ read = \"mapping.m\" }]";

    /// A call expected to fail runs its steps when it fails with an errno, and they are
    /// judged; when it was expected to succeed and failed, they are not.
    #[rstest]
    #[case::expected_failure(NOREPLACE_THEN_READ.to_string(), 1)]
    #[case::unexpected_failure(NOREPLACE_THEN_READ.replace("errno = \"EEXIST\"", "result = \"ok\""), 0)]
    fn steps_after_a_failed_call_are_judged_only_where_the_failure_was_expected(
        #[case] body: String,
        #[case] judged: usize,
    ) {
        let (case, plan) = setup(&body);
        let os = Host::detect().os.unwrap();
        let mut rec = Record::new();
        rec.call.state = RawOutcome::ERRNO;
        rec.call.errno = libc::EEXIST;
        rec.steps[0].state = RawOutcome::FAULT;
        rec.steps[0].signo = libc::SIGSEGV;
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.steps.len(), judged, "{}", r.explain());
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.explain());
        if judged == 1 {
            assert_eq!(r.steps[0].verdict, Verdict::Fail);
            assert!(r.steps[0].observed.contains("SIGSEGV"), "{}", r.explain());
        }
    }

    const TWO_FORKS: &str = "call = { fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\
        expect = { result = \"ok\" }\n\
        step = [{ fork = true }, { in = \"child\", fork = true }, { in = \"grandchild\", read = \"result\" }]";

    /// The grandchild's end is judged as the child's is: killed by a signal fails the case
    /// even when every step passed; an exit does not.
    #[rstest]
    #[case::exited(0, Verdict::Pass)]
    #[case::killed(libc::SIGKILL, Verdict::Fail)]
    fn a_grandchild_killed_by_a_signal_fails_the_case(#[case] status: i32, #[case] want: Verdict) {
        let (case, plan) = setup(TWO_FORKS);
        let os = Host::detect().os.unwrap();
        let mut rec = ok_record(0x10000, 0);
        rec.forked = 1;
        rec.grandchild = 1;
        rec.grandchild_status = status;
        for s in &mut rec.steps[..3] {
            s.state = RawOutcome::OK;
        }
        let r = judge(&case, &plan, os, &observe(Some(rec), ChildEnd::Exited(0)));
        assert_eq!(r.verdict, want, "{}", r.explain());
        // Fork steps are not judged: the one step judged is the grandchild's read, step 3.
        assert_eq!(r.steps.len(), 1, "{}", r.explain());
        assert_eq!(r.steps[0].step, 3);
        assert!(
            r.steps[0].what.ends_with("in the grandchild"),
            "{}",
            r.steps[0].what
        );
        if want == Verdict::Fail {
            assert!(
                r.message
                    .contains("the grandchild made by the second fork step died of SIGKILL"),
                "{}",
                r.message
            );
        }
    }

    #[test]
    fn errnos_compare_by_value_so_aliases_match() {
        let seen = Seen::Errno(libc::EOPNOTSUPP);
        assert!(seen.is(&Outcome::Errno(vec!["EOPNOTSUPP".into()])));
        assert_eq!(
            seen.is(&Outcome::Errno(vec!["ENOTSUP".into()])),
            libc::ENOTSUP == libc::EOPNOTSUPP
        );
        assert!(!seen.is(&Outcome::Errno(vec!["EINVAL".into()])));
        assert!(seen.is(&Outcome::Errno(vec!["EINVAL".into(), "EOPNOTSUPP".into()])));
    }
}
