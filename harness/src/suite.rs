//! Running cases: plan, execute and judge each one, in parallel over a fixed number of
//! worker threads. The one place that joins the executor and the judge.

use crate::exec::Executor;
use crate::host::Host;
use crate::judge::{self, CaseResult, Verdict};
use crate::model::Case;
use crate::plan::{self, Planned};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How cases are run, beyond which ones.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Every case's timeout is multiplied by this (slow emulators; LTP_TIMEOUT_MUL).
    pub timeout_factor: f64,
    /// A case still running after this long is named while it runs.
    pub slow_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout_factor: 1.0,
            slow_after: Duration::from_secs(5),
        }
    }
}

/// Parses a timeout factor: a positive, finite number.
pub fn parse_timeout_factor(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        Ok(_) => Err(format!("`{s}` is not a positive, finite factor")),
        Err(e) => Err(format!("`{s}` is not a number: {e}")),
    }
}

/// Plans, runs and judges one case.
pub fn run_case(case: &Case, host: &Host, exec: &Executor) -> CaseResult {
    run_case_with(case, host, exec, &Options::default())
}

/// [`run_case`] with `opts` (the timeout factor).
pub fn run_case_with(case: &Case, host: &Host, exec: &Executor, opts: &Options) -> CaseResult {
    match plan::plan(case, host) {
        // The case could not be resolved for this machine: the kernel was never asked, so
        // it is no kernel's failure and contradicts no clause.
        Err(e) => {
            let mut r = CaseResult::not_applicable(case, "");
            r.set_broken(judge::Trouble {
                call: "planning the case".into(),
                errno: None,
                reason: format!("the case cannot be planned: {e}"),
            });
            r
        }
        Ok(Planned::NotApplicable(reason)) => CaseResult::not_applicable(case, &reason),
        Ok(Planned::Ready(mut p)) => {
            // Capped, so that a huge factor cannot overflow a deadline.
            const MAX: Duration = Duration::from_secs(365 * 24 * 3600);
            p.timeout = Duration::try_from_secs_f64(p.timeout.as_secs_f64() * opts.timeout_factor)
                .unwrap_or(MAX)
                .min(MAX);
            let obs = exec.run(&p);
            // plan() only returns Ready when the OS is known.
            let os = host.os.expect("a plan needs a known OS");
            let mut r = judge::judge(case, &p, os, &obs);
            r.normal_observation = Some(crate::repro::observation::normalise(case, &p, os, &obs));
            r
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
    run_all_with(
        cases,
        host,
        exec,
        jobs,
        &Options::default(),
        done,
        &|_, _| {},
    )
}

/// [`run_all`] with `opts`; `slow` is told (once) of each case still running after
/// `opts.slow_after`, with how long it has run.
pub fn run_all_with(
    cases: &[Case],
    host: &Host,
    exec: &Executor,
    jobs: usize,
    opts: &Options,
    done: &(dyn Fn(&CaseResult) + Sync),
    slow: &(dyn Fn(&str, Duration) + Sync),
) -> Result<Vec<CaseResult>, String> {
    run_pool(
        cases,
        jobs,
        &|c| run_case_with(c, host, exec, opts),
        opts.slow_after,
        done,
        slow,
    )
}

/// Each worker thread's stack (std's default, stated so the limit check in run_pool is exact).
const WORKER_STACK: usize = 2 << 20;

/// The soft RLIMIT_AS in bytes, when one is set.
fn address_space_limit() -> Option<u64> {
    // FreeBSD's RLIMIT_AS is its RLIMIT_VMEM.
    #[cfg(target_os = "freebsd")]
    let which = nix::sys::resource::Resource::RLIMIT_VMEM;
    #[cfg(not(target_os = "freebsd"))]
    let which = nix::sys::resource::Resource::RLIMIT_AS;
    let (soft, _) = nix::sys::resource::getrlimit(which).ok()?;
    // rlim_t is unsigned on Linux and signed on FreeBSD.
    #[allow(clippy::unnecessary_cast)]
    (soft != nix::sys::resource::RLIM_INFINITY).then_some(soft as u64)
}

/// The worker pool under [`run_all_with`], over any way of running one case.
pub fn run_pool(
    cases: &[Case],
    jobs: usize,
    run: &(dyn Fn(&Case) -> CaseResult + Sync),
    slow_after: Duration,
    done: &(dyn Fn(&CaseResult) + Sync),
    slow: &(dyn Fn(&str, Duration) + Sync),
) -> Result<Vec<CaseResult>, String> {
    let jobs = jobs.clamp(1, cases.len().max(1));
    // Stacks that cannot fit in the address-space limit are refused before any starts: at
    // the edge of RLIMIT_AS a thread's start may fail inside an allocation, which aborts
    // the process instead of returning an error.
    if let Some(limit) = address_space_limit() {
        let need = (jobs as u64).saturating_mul(WORKER_STACK as u64 + 64 * 1024);
        if need > limit / 2 {
            return Err(format!(
                "cannot start worker thread stacks for {jobs} jobs ({} MiB) within half the address-space limit (RLIMIT_AS {} MiB); run with a smaller -j",
                need >> 20,
                limit >> 20
            ));
        }
    }
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let mut slots: Vec<Option<CaseResult>> = vec![None; cases.len()];
    let results = Mutex::new(&mut slots);
    // Per worker: the case it runs (index), since when, and whether it was named.
    let running: Mutex<Vec<Option<(usize, Instant, bool)>>> = Mutex::new(vec![None; jobs]);
    let all_done = std::sync::Condvar::new();
    // Held for writing while threads start; set to whether they all did, so no case runs
    // in a pool that could not be built whole.
    let gate = std::sync::RwLock::new(false);
    let failed = std::thread::scope(|s| {
        let mut start = gate.write().unwrap_or_else(|e| e.into_inner());
        for w in 0..jobs {
            let (next, finished, results, running, all_done, gate) =
                (&next, &finished, &results, &running, &all_done, &gate);
            let worker = move || {
                if !gate.read().is_ok_and(|go| *go) {
                    return;
                }
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if let Ok(mut r) = running.lock() {
                        r[w] = Some((i, Instant::now(), false));
                    }
                    let r = run(case);
                    if let Ok(mut r) = running.lock() {
                        r[w] = None;
                    }
                    done(&r);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(r);
                    }
                }
                finished.fetch_add(1, Ordering::Relaxed);
                all_done.notify_all();
            };
            if let Err(e) = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, worker)
            {
                return Some(format!(
                    "cannot start worker thread {} of {jobs}: {e}; run with a smaller -j",
                    w + 1
                ));
            }
        }
        *start = true;
        drop(start);
        // The watcher: names cases that run long, so a slow emulator is not a silent one.
        let tick = (slow_after / 4).clamp(Duration::from_millis(10), Duration::from_millis(500));
        let mut guard = running.lock().unwrap_or_else(|e| e.into_inner());
        while finished.load(Ordering::Relaxed) < jobs {
            for (i, since, named) in guard.iter_mut().flatten() {
                let ran = since.elapsed();
                if !*named && ran >= slow_after {
                    *named = true;
                    slow(&cases[*i].id, ran);
                }
            }
            guard = all_done
                .wait_timeout(guard, tick)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
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
        Verdict::Broken,
        Verdict::Observed,
    ]
    .into_iter()
    .map(|v| (v, results.iter().filter(|r| r.verdict == v).count()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_file;
    use crate::registry::Registry;

    fn cases(ids: &[&str]) -> Vec<Case> {
        let text: String = ids
            .iter()
            .map(|id| {
                format!(
                    "[[case]]\nid = \"{id}\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n\
                     call = {{ fn = \"munmap\", addr = \"null\", len = \"1p\" }}\n\
                     expect = {{ result = \"ok\" }}\n"
                )
            })
            .collect();
        parse_file(
            std::path::Path::new("t.toml"),
            &text,
            &Registry::of_ids(&["posix.mmap.1"]),
        )
        .unwrap()
    }

    #[test]
    fn a_case_that_runs_long_is_named_while_it_runs_and_a_quick_one_is_not() {
        let cs = cases(&["suite.slow", "suite.quick"]);
        let named = Mutex::new(Vec::new());
        let results = run_pool(
            &cs,
            2,
            &|c| {
                if c.id == "suite.slow" {
                    std::thread::sleep(Duration::from_millis(400));
                }
                CaseResult::not_applicable(c, "")
            },
            Duration::from_millis(100),
            &|_| {},
            &|id, ran| {
                // Named before it ended: the watcher saw it running.
                assert!(ran < Duration::from_millis(400), "{ran:?}");
                named.lock().unwrap().push(id.to_string());
            },
        )
        .unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(*named.lock().unwrap(), ["suite.slow"]);
    }

    #[test]
    fn the_timeout_factor_must_be_positive_and_finite() {
        assert_eq!(parse_timeout_factor("2.5"), Ok(2.5));
        for bad in ["0", "-1", "inf", "NaN", "x", ""] {
            assert!(parse_timeout_factor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_case_that_cannot_be_planned_is_broken_not_failed() {
        let text = "[[case]]\nid = \"suite.negative\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n\
                    call = { fn = \"munmap\", addr = \"null\", len = \"1p\" }\n\
                    expect = { result = \"ok\" }\n";
        let mut case = parse_file(
            std::path::Path::new("t.toml"),
            text,
            &Registry::of_ids(&["posix.mmap.1"]),
        )
        .unwrap()
        .remove(0);
        // The loader refuses such a length; a case built past it must still not pass as
        // the kernel's failure.
        let crate::model::Call::Munmap { len, .. } = &mut case.call else {
            panic!("{:?}", case.call)
        };
        *len = crate::expr::Expr::parse("9223372036854775807 * 4").unwrap();
        let exec = Executor::new().unwrap();
        let r = run_case(&case, &Host::detect(), &exec);
        assert_eq!(r.verdict, Verdict::Broken, "{}", r.explain());
        assert!(r.broken.unwrap().reason.contains("cannot be planned"));
    }

    #[test]
    fn broken_cases_are_counted_apart() {
        let cs = cases(&["suite.a"]);
        let mut r = CaseResult::not_applicable(&cs[0], "");
        r.set_broken(judge::Trouble {
            call: "fork".into(),
            errno: Some("EAGAIN".into()),
            reason: "fork: EAGAIN".into(),
        });
        let t = totals(&[r]);
        assert!(t.contains(&(Verdict::Broken, 1)), "{t:?}");
        assert!(t.contains(&(Verdict::Fail, 0)), "{t:?}");
    }
}
