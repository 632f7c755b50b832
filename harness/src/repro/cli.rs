//! `mmapconf repro`: print one reproducer, write them all, or run the differential check.

use super::check::{self, Options};
use super::{Generated, file_name, generate};
use crate::host::Host;
use crate::load::Suite;
use crate::plan::Plan;
use crate::record::Observation;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What was asked for on the command line.
pub struct Request {
    pub case: Option<String>,
    pub all: bool,
    pub out: Option<PathBuf>,
    pub check: bool,
    /// With `check`: compile each reproducer alone, not in bundles.
    pub standalone: bool,
    /// With `all`: bundles rather than one file per case.
    pub bundle: bool,
    pub cc: String,
    pub cflags: Vec<String>,
    pub jobs: Option<usize>,
    /// Run the built reproducers in this directory and write repro.json to `out`.
    pub run_bins: Option<PathBuf>,
    /// Run each one as `via BIN` (an emulator).
    pub via: Option<PathBuf>,
    /// Kill a reproducer that runs longer than this.
    pub timeout: Duration,
    /// Run directories whose results.json and repro.json are compared.
    pub compare: Vec<PathBuf>,
}

impl Request {
    /// Whether the request runs no case with the harness (so needs no executor).
    pub fn offline(&self) -> bool {
        self.run_bins.is_some() || !self.compare.is_empty()
    }
}

/// `--run-bins` and `--compare`: the modes that need neither the harness nor the cases.
pub fn offline(req: &Request) -> u8 {
    if let Some(dir) = &req.run_bins {
        return run_bins(req, dir);
    }
    compare_dirs(&req.compare)
}

fn run_bins(req: &Request, dir: &Path) -> u8 {
    let Some(out) = &req.out else {
        eprintln!("error: --run-bins needs --out FILE (repro.json beside the run's results.json)");
        return 2;
    };
    let bins = match super::run_bins::binaries(dir) {
        Ok(b) if b.is_empty() => {
            eprintln!("error: {} holds no executable reproducer", dir.display());
            return 2;
        }
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let jobs = req
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let start = std::time::Instant::now();
    let progress = |r: &super::compare::ReproRun| {
        let line = format!(
            "exit {:<5} {}\n",
            r.exit.map_or("-".into(), |e| e.to_string()),
            r.case
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let targets = super::run_bins::targets(&bins, req.via.as_deref(), req.timeout);
    let file = super::run_bins::run(&targets, req.via.as_deref(), req.timeout, jobs, &progress);
    let text = match serde_json::to_string_pretty(&file) {
        Ok(t) => t + "\n",
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Whole or not at all: a temporary beside it, renamed into place.
    let tmp = out.with_extension("json.part");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, out)) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 2;
    }
    let observed = file
        .reproducers
        .iter()
        .filter(|r| r.observation.is_some())
        .count();
    println!(
        "ran {} reproducers in {:.1} s ({observed} printed an observation); wrote {}",
        file.reproducers.len(),
        start.elapsed().as_secs_f64(),
        out.display()
    );
    0
}

fn compare_dirs(dirs: &[PathBuf]) -> u8 {
    let mut worst = 0;
    for d in dirs {
        let name = d.file_name().map_or_else(
            || d.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match super::compare::files(&d.join("results.json"), &d.join(super::compare::REPRO_FILE)) {
            Ok(checks) => {
                let text = super::compare::text(&checks, &format!(" ({name})"));
                print!("{text}");
                let [_, differ, broken, _] = super::compare::tally(&checks);
                if differ + broken > 0 {
                    worst = worst.max(1);
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                worst = 2;
            }
        }
    }
    worst
}

/// Runs the request; the exit status (0 done/agree, 1 disagreement, 2 bad request or
/// trouble of our own).
pub fn main(req: &Request, suite: &Suite, harness: &(dyn Fn(&Plan) -> Observation + Sync)) -> u8 {
    let host = Host::detect();
    if req.check {
        return run_check(req, suite, &host, harness);
    }
    if req.all {
        let Some(out) = &req.out else {
            eprintln!("error: --all needs --out DIR");
            return 2;
        };
        return if req.bundle {
            write_bundles(suite, &host, out)
        } else {
            write_all(suite, &host, out)
        };
    }
    let Some(id) = &req.case else {
        eprintln!("error: name a case id, or give --all --out DIR, or --check");
        return 2;
    };
    let Some(case) = suite.cases.iter().find(|c| &c.id == id) else {
        eprintln!("error: no case `{id}` (see `mmapconf list`)");
        return 2;
    };
    match generate(case, &suite.registry, &host) {
        Ok(Generated::Ready(src)) => match &req.out {
            Some(dir) => write_file(dir, &case.id, &src).map_or(2, |_| 0),
            None => {
                print!("{src}");
                0
            }
        },
        Ok(Generated::NotApplicable(why)) => {
            eprintln!("error: {id} does not apply here: {why}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn write_file(dir: &Path, id: &str, src: &str) -> Result<PathBuf, ()> {
    let path = dir.join(file_name(id));
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&path, src))
        .map_err(|e| eprintln!("error: cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// `repro --all --bundle --out DIR`: every applicable case's reproducer for this OS and
/// host, [`super::bundle::PER_BUNDLE`] to a file (`bundle-NNNN.c`; run as `BIN CASE_ID`).
pub fn write_bundles(suite: &Suite, host: &Host, out: &Path) -> u8 {
    let Some(os) = host.os else {
        eprintln!("error: this OS is not one the cases know: no reproducer applies");
        return 2;
    };
    let mut ready = Vec::new();
    let mut skipped = 0;
    for case in &suite.cases {
        match crate::plan::plan(case, host) {
            Ok(crate::plan::Planned::Ready(_)) => ready.push((
                case.id.as_str(),
                super::emit::pieces(case, &suite.registry, os, &host.arch),
            )),
            Ok(crate::plan::Planned::NotApplicable(_)) => skipped += 1,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let mut files = 0;
    for (n, chunk) in ready.chunks(super::bundle::PER_BUNDLE).enumerate() {
        let members: Vec<(&str, &super::emit::Pieces)> =
            chunk.iter().map(|(id, p)| (*id, p)).collect();
        let stem = super::bundle::file_stem(n * super::bundle::PER_BUNDLE);
        if write_file(out, &stem, &super::bundle::source(&members)).is_err() {
            return 2;
        }
        files += 1;
    }
    println!(
        "wrote {} reproducers in {files} bundles to {} ({skipped} cases do not apply here)",
        ready.len(),
        out.display()
    );
    0
}

/// `repro --all --out DIR`: every applicable case's reproducer for this OS and host.
pub fn write_all(suite: &Suite, host: &Host, out: &Path) -> u8 {
    let (mut written, mut skipped) = (0, 0);
    for case in &suite.cases {
        match generate(case, &suite.registry, host) {
            Ok(Generated::Ready(src)) => {
                if write_file(out, &case.id, &src).is_err() {
                    return 2;
                }
                written += 1;
            }
            Ok(Generated::NotApplicable(_)) => skipped += 1,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    println!(
        "wrote {written} reproducers to {} ({skipped} cases do not apply here)",
        out.display()
    );
    0
}

fn run_check(
    req: &Request,
    suite: &Suite,
    host: &Host,
    harness: &(dyn Fn(&Plan) -> Observation + Sync),
) -> u8 {
    let scratch;
    let dir = match &req.out {
        Some(d) => {
            if let Err(e) = std::fs::create_dir_all(d) {
                eprintln!("error: cannot make {}: {e}", d.display());
                return 2;
            }
            d.clone()
        }
        None => match tempfile::Builder::new().prefix("mmapconf-repro-").tempdir() {
            Ok(t) => {
                scratch = t;
                scratch.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("error: cannot make a scratch directory: {e}");
                return 2;
            }
        },
    };
    let cases: Vec<_> = suite
        .cases
        .iter()
        .filter(|c| req.case.as_ref().is_none_or(|f| c.id.contains(f.as_str())))
        .cloned()
        .collect();
    let opts = Options {
        cc: req.cc.clone(),
        cflags: req.cflags.clone(),
        jobs: req
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        dir,
        standalone: req.standalone,
    };
    let progress = |c: &check::CaseCheck| {
        let tag = match &c.verdict {
            check::Verdict::Agree => "agree",
            check::Verdict::NotApplicable { .. } => "not applicable",
            check::Verdict::Differ { .. } => "DIFFER",
            check::Verdict::Broken { .. } => "BROKEN",
        };
        let line = format!("{tag:<15} {}\n", c.id);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let summary = check::run(&cases, &suite.registry, host, &opts, harness, &progress);
    print!("{}", summary.text());
    u8::from(!summary.ok())
}
