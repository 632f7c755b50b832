//! Running cases: plan, execute and judge each one, in parallel over a fixed number of
//! worker threads. The one place that joins the executor and the judge.

use crate::exec::Executor;
use crate::host::Host;
use crate::judge::{self, CaseResult, Verdict};
use crate::model::Case;
use crate::plan::{self, Planned};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Plans, runs and judges one case.
pub fn run_case(case: &Case, host: &Host, exec: &Executor) -> CaseResult {
    match plan::plan(case, host) {
        Err(e) => {
            let mut r = CaseResult::not_applicable(case, "");
            r.verdict = Verdict::Fail;
            r.message = format!("the case cannot be planned: {e}");
            r
        }
        Ok(Planned::NotApplicable(reason)) => CaseResult::not_applicable(case, &reason),
        Ok(Planned::Ready(p)) => {
            let obs = exec.run(&p);
            // plan() only returns Ready when the OS is known.
            let os = host.os.expect("a plan needs a known OS");
            judge::judge(case, &p, os, &obs)
        }
    }
}

/// Runs `cases` on `jobs` threads (no more than there are cases); `done` sees each result
/// as it arrives. Results come back in the order of `cases`. A worker thread that cannot be
/// started (`-j` above the process limit, no memory for its stack) is an error, and then no
/// case runs: workers wait until all of them have started.
pub fn run_all(
    cases: &[Case],
    host: &Host,
    exec: &Executor,
    jobs: usize,
    done: &(dyn Fn(&CaseResult) + Sync),
) -> Result<Vec<CaseResult>, String> {
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<CaseResult>> = vec![None; cases.len()];
    let results = std::sync::Mutex::new(&mut slots);
    let jobs = jobs.clamp(1, cases.len().max(1));
    // Held for writing while threads start; set to whether they all did.
    let gate = std::sync::RwLock::new(false);
    let failed = std::thread::scope(|s| {
        let mut start = gate.write().unwrap_or_else(|e| e.into_inner());
        for n in 0..jobs {
            let worker = || {
                if !gate.read().is_ok_and(|go| *go) {
                    return;
                }
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let r = run_case(case, host, exec);
                    done(&r);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(r);
                    }
                }
            };
            if let Err(e) = std::thread::Builder::new().spawn_scoped(s, worker) {
                return Some(format!(
                    "cannot start worker thread {} of {jobs}: {e}; run with a smaller -j",
                    n + 1
                ));
            }
        }
        *start = true;
        None
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(slots.into_iter().flatten().collect()),
    }
}

/// Counts by verdict, in report order.
pub fn totals(results: &[CaseResult]) -> Vec<(Verdict, usize)> {
    [
        Verdict::Pass,
        Verdict::KnownDeviation,
        Verdict::Fail,
        Verdict::NotApplicable,
    ]
    .into_iter()
    .map(|v| (v, results.iter().filter(|r| r.verdict == v).count()))
    .collect()
}
