//! The differential check: every applicable case's reproducer generated, compiled with
//! the system's C compiler and run, and its observation compared with the harness's for
//! the same case. Both sides are reduced to [`super::observation`]'s normal form; any
//! difference (or a reproducer that does not build or run) is a bug in one of the two.

use super::{CFLAGS, Generated, generate, observation};
use crate::host::Host;
use crate::model::Case;
use crate::names::Os;
use crate::plan::{self, Plan, Planned};
use crate::record::Observation;
use crate::registry::Registry;
use serde_json::Value;
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
}

/// How one case came out.
#[derive(Debug, Clone)]
pub enum Verdict {
    Agree,
    NotApplicable(String),
    /// Both ran; the observations differ.
    Differ {
        harness: Value,
        repro: Value,
    },
    /// The reproducer did not build or gave no observation; the message says why.
    Broken(String),
}

#[derive(Debug, Clone)]
pub struct CaseCheck {
    pub id: String,
    pub verdict: Verdict,
}

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
        self.count(|v| matches!(v, Verdict::Differ { .. } | Verdict::Broken(_))) == 0
    }

    /// A line per disagreement and a tally.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.cases {
            match &c.verdict {
                Verdict::Differ { harness, repro } => s.push_str(&format!(
                    "DIFFER {}\n  harness:    {harness}\n  reproducer: {repro}\n",
                    c.id
                )),
                Verdict::Broken(why) => s.push_str(&format!("BROKEN {}: {why}\n", c.id)),
                Verdict::Agree | Verdict::NotApplicable(_) => {}
            }
        }
        s.push_str(&format!(
            "{} reproducers agree with the harness, {} differ, {} broken, {} cases not applicable here; {:.1} s\n",
            self.count(|v| matches!(v, Verdict::Agree)),
            self.count(|v| matches!(v, Verdict::Differ { .. })),
            self.count(|v| matches!(v, Verdict::Broken(_))),
            self.count(|v| matches!(v, Verdict::NotApplicable(_))),
            self.elapsed.as_secs_f64()
        ));
        s
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
    let mut child = Command::new(bin)
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

/// The observation line of a reproducer's output.
pub fn observation_of(stdout: &str) -> Result<Value, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"case\""))
        .ok_or("no observation line in its output")?;
    serde_json::from_str(line).map_err(|e| format!("its observation is not JSON ({e}): {line}"))
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
        Ok(Planned::NotApplicable(why)) => return Verdict::NotApplicable(why),
        Err(e) => return Verdict::Broken(format!("the case cannot be planned: {e}")),
    };
    let src = match generate(case, registry, host) {
        Ok(Generated::Ready(s)) => s,
        Ok(Generated::NotApplicable(why)) => {
            return Verdict::Broken(format!("the harness plans it but repro says: {why}"));
        }
        Err(e) => return Verdict::Broken(e),
    };
    let path = opts.dir.join(super::file_name(&case.id));
    let bin = opts.dir.join(&case.id);
    if let Err(e) = std::fs::write(&path, src) {
        return Verdict::Broken(format!("cannot write {}: {e}", path.display()));
    }
    if let Err(e) = compile(opts, &path, &bin) {
        return Verdict::Broken(e);
    }
    let ran = match run_binary(&bin, plan.timeout + Duration::from_secs(10)) {
        Ok(r) => r,
        Err(e) => return Verdict::Broken(e),
    };
    let repro = match observation_of(&ran.stdout) {
        Ok(v) => v,
        Err(e) => return Verdict::Broken(format!("{e} (exit status {:?})", ran.status)),
    };
    let verdict = repro["verdict"].as_str().unwrap_or("").to_string();
    if ran.status != Some(observation::exit_status(&verdict)) {
        return Verdict::Broken(format!(
            "it printed verdict `{verdict}` but exited {:?}",
            ran.status
        ));
    }
    let ours = observation::normalise(case, &plan, os, &harness(&plan));
    if ours == repro {
        Verdict::Agree
    } else {
        Verdict::Differ {
            harness: ours,
            repro,
        }
    }
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
                    verdict: Verdict::NotApplicable(format!(
                        "the suite has no expectations for {}",
                        host.os_name
                    )),
                })
                .collect(),
            elapsed: start.elapsed(),
        };
    };
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<CaseCheck>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let c = CaseCheck {
                        id: case.id.clone(),
                        verdict: check_one(case, registry, host, os, opts, harness),
                    };
                    done(&c);
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(c);
                    }
                }
            });
        }
    });
    Summary {
        cases: slots
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect(),
        elapsed: start.elapsed(),
    }
}
