//! `mmapconf repro`: print one reproducer, write them all, or run the differential check.

use super::check::{self, Options};
use super::{Generated, file_name, generate};
use crate::host::Host;
use crate::load::Suite;
use crate::plan::Plan;
use crate::record::Observation;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What was asked for on the command line.
pub struct Request {
    pub case: Option<String>,
    pub all: bool,
    pub out: Option<PathBuf>,
    pub check: bool,
    pub cc: String,
    pub cflags: Vec<String>,
    pub jobs: Option<usize>,
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
        return write_all(suite, &host, out);
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

fn write_all(suite: &Suite, host: &Host, out: &Path) -> u8 {
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
    };
    let progress = |c: &check::CaseCheck| {
        let tag = match &c.verdict {
            check::Verdict::Agree => "agree",
            check::Verdict::NotApplicable(_) => "not applicable",
            check::Verdict::Differ { .. } => "DIFFER",
            check::Verdict::Broken(_) => "BROKEN",
        };
        let line = format!("{tag:<15} {}\n", c.id);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let summary = check::run(&cases, &suite.registry, host, &opts, harness, &progress);
    print!("{}", summary.text());
    u8::from(!summary.ok())
}
