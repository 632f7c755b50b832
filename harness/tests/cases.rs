//! `cargo test` over the case files: one libtest-mimic trial per case, named by its id,
//! so `cargo test -- eacces` filters and `cargo test -- --list` lists.
//!
//! Cases are planned before the trials are built, so a case that does not apply here is
//! an ignored trial that says why: `cargo test -- --ignored` selects exactly those, and
//! each still reports "ignored (reason)" instead of running and passing. libtest-mimic's
//! JSON drops ignore reasons, so with `--format json` each reason is also written as a
//! `{ "type": "not-applicable", "name": ..., "reason": ... }` line before the run.
//!
//! A case the harness could not run (BROKEN: no disk, no fork, no descriptor) is a failed
//! trial whose message says so: harness trouble must not pass silently, and it is not a
//! kernel's failure either; the message tells them apart.
//!
//! `MMAPCONF_TIMEOUT_FACTOR=F` scales every case's timeout, as `run --timeout-factor F`.

use libtest_mimic::{Arguments, Completion, Failed, FormatSetting, Trial};
use mmapconf::exec::Executor;
use mmapconf::host::Host;
use mmapconf::judge::Verdict;
use mmapconf::plan::{self, Planned};
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
    let opts = match std::env::var("MMAPCONF_TIMEOUT_FACTOR") {
        Err(_) => suite::Options::default(),
        Ok(f) => match suite::parse_timeout_factor(&f) {
            Ok(timeout_factor) => suite::Options {
                timeout_factor,
                ..Default::default()
            },
            Err(e) => {
                eprintln!("MMAPCONF_TIMEOUT_FACTOR: {e}");
                std::process::exit(2);
            }
        },
    };
    let executor = match Executor::new() {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!(
                "cannot create the work directory: {}",
                mmapconf::names::os_error(&e)
            );
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
                let not_applicable = match plan::plan(&case, &host) {
                    Ok(Planned::NotApplicable(reason)) => Some(reason),
                    _ => None,
                };
                let (host, executor) = (Arc::clone(&host), Arc::clone(&executor));
                let reason = not_applicable.clone();
                let trial = Trial::ignorable_test(case.id.clone(), move || {
                    if let Some(reason) = reason {
                        return Ok(Completion::ignored_with(reason));
                    }
                    outcome(&suite::run_case_with(&case, &host, &executor, &opts))
                })
                .with_kind("case");
                // Flagged only for --ignored, which selects flagged trials: unflagged, they
                // still run into `ignored (reason)`, while a statically ignored trial
                // would print no reason at all.
                (
                    trial.with_ignored_flag(not_applicable.is_some() && args.ignored),
                    not_applicable,
                )
            })
            .collect::<Vec<_>>()
            .into_iter()
            .inspect(|(trial, reason)| {
                if let (Some(FormatSetting::Json), Some(reason)) = (&args.format, reason)
                    && !args.is_filtered_out(trial)
                    && !args.list
                {
                    println!(
                        "{}",
                        serde_json::json!({
                            "type": "not-applicable",
                            "name": trial.name(),
                            "reason": reason,
                        })
                    );
                }
            })
            .map(|(trial, _)| trial)
            .collect(),
    };
    let conclusion = libtest_mimic::run(&args, trials);
    // exit() skips destructors: remove the work directory first.
    drop(executor);
    conclusion.exit();
}

/// A judged case as a trial's outcome.
fn outcome(r: &mmapconf::judge::CaseResult) -> Result<Completion, Failed> {
    match r.verdict {
        // An observe-only case records what it saw; it cannot fail.
        Verdict::Pass | Verdict::KnownDeviation | Verdict::Observed => Ok(Completion::Completed),
        Verdict::NotApplicable => Ok(Completion::ignored_with(r.message.clone())),
        Verdict::Fail => Err(Failed::from(r.explain())),
        Verdict::Broken => Err(Failed::from(format!(
            "BROKEN: the harness could not run this case; this is not the kernel's failure\n{}",
            r.explain()
        ))),
    }
}
