//! `cargo test` over the case files: one libtest-mimic trial per case, named by its id,
//! so `cargo test -- eacces` filters and `cargo test -- --list` lists. A case that does
//! not apply here is reported as ignored, with the reason.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mmapconf::exec::Executor;
use mmapconf::host::Host;
use mmapconf::judge::Verdict;
use mmapconf::{load, suite};
use std::path::Path;
use std::sync::Arc;

fn main() {
    // First, before libtest-mimic's threads: SIGINT, SIGTERM and SIGHUP kill the running
    // children, remove the work files and exit 130, 143 or 129, as `mmapconf run` does.
    if let Err(e) = mmapconf::exec::signals::install("cargo test") {
        eprintln!("cannot start the signal thread: {e}");
        std::process::exit(2);
    }
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let host = Arc::new(Host::detect());
    let executor = match Executor::new() {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("cannot create the work directory: {e}");
            std::process::exit(2);
        }
    };
    let trials = match load::load_dir(&dir) {
        // A broken case file fails loudly as its own trial instead of skipping cases.
        Err(errors) => {
            let msg: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            vec![Trial::test("load-case-files", move || {
                Err(Failed::from(msg.join("\n")))
            })]
        }
        Ok(s) => s
            .cases
            .into_iter()
            .map(|case| {
                let (host, executor) = (Arc::clone(&host), Arc::clone(&executor));
                Trial::ignorable_test(case.id.clone(), move || {
                    let r = suite::run_case(&case, &host, &executor);
                    match r.verdict {
                        Verdict::Pass | Verdict::KnownDeviation => Ok(Completion::Completed),
                        Verdict::NotApplicable => Ok(Completion::ignored_with(r.message)),
                        Verdict::Fail => Err(Failed::from(r.explain())),
                    }
                })
                .with_kind("case")
            })
            .collect(),
    };
    let conclusion = libtest_mimic::run(&args, trials);
    // exit() skips destructors: remove the work directory first.
    drop(executor);
    conclusion.exit();
}
