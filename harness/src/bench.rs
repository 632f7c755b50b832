//! The speed benchmark: the suite's cost per case against the floor of a bare
//! fork + _exit + waitpid, both measured in the same run, one at a time.

use crate::exec::Executor;
use crate::host::Host;
use crate::judge::Verdict;
use crate::model::Case;
use crate::suite::run_case;
use std::time::{Duration, Instant};

pub struct BenchResult {
    pub cases_run: usize,
    pub rounds: usize,
    pub per_case: Duration,
    pub fork_floor: Duration,
}

impl BenchResult {
    pub fn ratio(&self) -> f64 {
        self.per_case.as_secs_f64() / self.fork_floor.as_secs_f64()
    }
}

/// The mean time of one bare fork + _exit(0) + waitpid, over `n` rounds.
pub fn fork_floor(n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: the child only calls _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: async-signal-safe.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    start.elapsed() / n.max(1) as u32
}

/// Runs every applicable case `rounds` times, sequentially, and the fork floor as many
/// times as cases were run, interleaved per round so both see the same machine state.
pub fn run(cases: &[Case], host: &Host, exec: &Executor, rounds: usize) -> BenchResult {
    let mut suite_time = Duration::ZERO;
    let mut floor_time = Duration::ZERO;
    let mut cases_run = 0;
    for _ in 0..rounds.max(1) {
        let mut ran = 0;
        let start = Instant::now();
        for c in cases {
            if run_case(c, host, exec).verdict != Verdict::NotApplicable {
                ran += 1;
            }
        }
        suite_time += start.elapsed();
        floor_time += fork_floor(ran) * ran as u32;
        cases_run += ran;
    }
    let n = cases_run.max(1) as u32;
    BenchResult {
        cases_run,
        rounds: rounds.max(1),
        per_case: suite_time / n,
        fork_floor: floor_time / n,
    }
}
