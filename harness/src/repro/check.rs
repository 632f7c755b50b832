//! The differential check: every applicable case's reproducer generated, compiled with
//! the system's C compiler and run, and its observation compared with the harness's for
//! the same case. Both sides are reduced to [`super::observation`]'s normal form; any
//! difference (or a reproducer that does not build or run) is a bug in one of the two.
//!
//! By default the reproducers are compiled a few dozen at a time around one runtime
//! (`super::bundle`), each case still run as a process of its own; `standalone` compiles
//! and runs every file alone, as a user does.

use super::{CFLAGS, Generated, generate, observation};
use crate::host::Host;
use crate::model::Case;
use crate::names::Os;
use crate::plan::{self, Plan, Planned};
use crate::record::Observation;
use crate::registry::Registry;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Options {
    /// The C compiler (`cc`, `musl-gcc`, ...).
    pub cc: String,
    /// Extra compiler flags after [`CFLAGS`] (e.g. `-static`).
    pub cflags: Vec<String>,
    pub jobs: usize,
    /// Where sources and binaries go (a directory the caller made and removes).
    pub dir: PathBuf,
    /// Compile every reproducer as its own program (the file a user gets) rather than in
    /// bundles.
    pub standalone: bool,
}

pub use super::compare::{CaseCheck, Verdict, observation_of};

#[derive(Debug)]
pub struct Summary {
    pub cases: Vec<CaseCheck>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.verdict)).count()
    }

    pub fn ok(&self) -> bool {
        self.count(|v| matches!(v, Verdict::Differ { .. } | Verdict::Broken { .. })) == 0
    }

    /// A line per disagreement and a tally.
    pub fn text(&self) -> String {
        super::compare::text(
            &self.cases,
            &format!("; {:.1} s", self.elapsed.as_secs_f64()),
        )
    }
}

/// Compiles `src` (a reproducer) to `bin`; the compiler's messages on failure.
pub fn compile(opts: &Options, src: &Path, bin: &Path) -> Result<(), String> {
    let out = Command::new(&opts.cc)
        .args(CFLAGS)
        .args(&opts.cflags)
        .arg("-o")
        .arg(bin)
        .arg(src)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the C compiler `{}`: {e}", opts.cc))?;
    if out.status.success() {
        Ok(())
    } else {
        let msg = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`{} {}` failed:\n{}",
            opts.cc,
            CFLAGS.join(" "),
            msg.lines().take(20).collect::<Vec<_>>().join("\n")
        ))
    }
}

/// What a reproducer printed and its exit status.
pub struct Ran {
    pub stdout: String,
    pub status: Option<i32>,
}

/// Runs a built reproducer, killing it if it outlives `limit`.
pub fn run_binary(bin: &Path, limit: Duration) -> Result<Ran, String> {
    run_binary_via(None, bin, limit)
}

/// [`run_binary`] under `via` when given (an emulator such as `qemu-aarch64`, run as
/// `via BIN`).
pub fn run_binary_via(via: Option<&Path>, bin: &Path, limit: Duration) -> Result<Ran, String> {
    run_binary_with(via, bin, &[], limit)
}

/// [`run_binary_via`] with arguments (a bundle's case id, or `--list`).
pub fn run_binary_with(
    via: Option<&Path>,
    bin: &Path,
    args: &[&str],
    limit: Duration,
) -> Result<Ran, String> {
    let mut cmd = match via {
        Some(v) => {
            let mut c = Command::new(v);
            c.arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args);
    run_command(cmd, bin, limit)
}

/// Runs `cmd` (a reproducer `bin`, perhaps with arguments), killing it after `limit`.
fn run_command(mut cmd: Command, bin: &Path, limit: Duration) -> Result<Ran, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = std::io::Read::read_to_string(o, &mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} ran longer than {limit:?}", bin.display()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for {}: {e}", bin.display())),
        }
    };
    let stdout = reader.join().unwrap_or_default();
    Ok(Ran {
        stdout,
        status: status.code(),
    })
}

fn broken(why: impl Into<String>) -> Verdict {
    Verdict::Broken { why: why.into() }
}

fn check_one(
    case: &Case,
    registry: &Registry,
    host: &Host,
    os: Os,
    opts: &Options,
    harness: &(dyn Fn(&Plan) -> Observation + Sync),
) -> Verdict {
    let plan = match plan::plan(case, host) {
        Ok(Planned::Ready(p)) => p,
        Ok(Planned::NotApplicable(why)) => return Verdict::NotApplicable { why },
        Err(e) => return broken(format!("the case cannot be planned: {e}")),
    };
    let src = match generate(case, registry, host) {
        Ok(Generated::Ready(s)) => s,
        Ok(Generated::NotApplicable(why)) => {
            return broken(format!("the harness plans it but repro says: {why}"));
        }
        Err(e) => return broken(e),
    };
    let path = opts.dir.join(super::file_name(&case.id));
    let bin = opts.dir.join(&case.id);
    if let Err(e) = std::fs::write(&path, src) {
        return broken(format!("cannot write {}: {e}", path.display()));
    }
    if let Err(e) = compile(opts, &path, &bin) {
        return broken(e);
    }
    let ran = match run_binary(&bin, plan.timeout + Duration::from_secs(10)) {
        Ok(r) => r,
        Err(e) => return broken(e),
    };
    let ours = observation::normalise(case, &plan, os, &harness(&plan));
    super::compare::compare(ours, observation_of(&ran.stdout), ran.status)
}

/// `f` of each item on `jobs` threads (at least one), results in the items' order: the
/// work pool of `repro --check` and `repro --run-bins`.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(r);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Checks every case on `jobs` threads; `done` sees each case as it finishes.
pub fn run(
    cases: &[Case],
    registry: &Registry,
    host: &Host,
    opts: &Options,
    harness: &(dyn Fn(&Plan) -> Observation + Sync),
    done: &(dyn Fn(&CaseCheck) + Sync),
) -> Summary {
    let start = Instant::now();
    let Some(os) = host.os else {
        return Summary {
            cases: cases
                .iter()
                .map(|c| CaseCheck {
                    id: c.id.clone(),
                    verdict: Verdict::NotApplicable {
                        why: format!("the suite has no expectations for {}", host.os_name),
                    },
                })
                .collect(),
            elapsed: start.elapsed(),
        };
    };
    let cases = if opts.standalone {
        in_parallel(cases, opts.jobs, |case| {
            let c = CaseCheck {
                id: case.id.clone(),
                verdict: check_one(case, registry, host, os, opts, harness),
            };
            done(&c);
            c
        })
    } else {
        bundled(cases, registry, host, os, opts, harness, done)
    };
    Summary {
        cases,
        elapsed: start.elapsed(),
    }
}

/// The check with the reproducers compiled in bundles ([`super::bundle`]).
fn bundled(
    cases: &[Case],
    registry: &Registry,
    host: &Host,
    os: Os,
    opts: &Options,
    harness: &(dyn Fn(&Plan) -> Observation + Sync),
    done: &(dyn Fn(&CaseCheck) + Sync),
) -> Vec<CaseCheck> {
    // Plan and generate each case; those ready go into bundles.
    enum Prepared {
        Decided(Verdict),
        Ready(Box<Plan>, super::emit::Pieces),
    }
    let prepared: Vec<Prepared> = cases
        .iter()
        .map(|case| match plan::plan(case, host) {
            Ok(Planned::Ready(p)) => {
                Prepared::Ready(p, super::emit::pieces(case, registry, os, &host.arch))
            }
            Ok(Planned::NotApplicable(why)) => Prepared::Decided(Verdict::NotApplicable { why }),
            Err(e) => Prepared::Decided(broken(format!("the case cannot be planned: {e}"))),
        })
        .collect();
    let ready: Vec<usize> = (0..cases.len())
        .filter(|&i| matches!(prepared[i], Prepared::Ready(..)))
        .collect();
    let chunks: Vec<&[usize]> = ready.chunks(super::bundle::PER_BUNDLE).collect();
    // Each bundle compiled: its binary, or why not.
    let built: Vec<Result<PathBuf, String>> = in_parallel(&chunks, opts.jobs, |chunk| {
        let members: Vec<(&str, &super::emit::Pieces)> = chunk
            .iter()
            .filter_map(|&i| match &prepared[i] {
                Prepared::Ready(_, pieces) => Some((cases[i].id.as_str(), pieces)),
                Prepared::Decided(_) => None,
            })
            .collect();
        let first = chunk.first().copied().unwrap_or(0);
        let path = opts.dir.join(format!("bundle-{first}.c"));
        let bin = opts.dir.join(format!("bundle-{first}"));
        std::fs::write(&path, super::bundle::source(&members))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        compile(opts, &path, &bin)
            .map_err(|e| format!("its bundle ({}) does not build: {e}", path.display()))?;
        Ok(bin)
    });
    let mut bin_of: Vec<Option<&Result<PathBuf, String>>> = vec![None; cases.len()];
    for (chunk, b) in chunks.iter().zip(&built) {
        for &i in *chunk {
            bin_of[i] = Some(b);
        }
    }
    let order: Vec<usize> = (0..cases.len()).collect();
    in_parallel(&order, opts.jobs, |&i| {
        let case = &cases[i];
        let verdict = match (&prepared[i], bin_of[i]) {
            (Prepared::Decided(v), _) => v.clone(),
            (Prepared::Ready(..), Some(Err(e))) => broken(e.clone()),
            (Prepared::Ready(plan, _), Some(Ok(bin))) => {
                let mut cmd = Command::new(bin);
                cmd.arg(&case.id);
                match run_command(cmd, bin, plan.timeout + Duration::from_secs(10)) {
                    Ok(ran) => {
                        let ours = observation::normalise(case, plan, os, &harness(plan));
                        super::compare::compare(ours, observation_of(&ran.stdout), ran.status)
                    }
                    Err(e) => broken(e),
                }
            }
            (Prepared::Ready(..), None) => broken("the case was left out of every bundle"),
        };
        let c = CaseCheck {
            id: case.id.clone(),
            verdict,
        };
        done(&c);
        c
    })
}
