//! Reproducers: each case as one self-contained C11 program that needs only libc, and
//! the differential check that holds every such program against the harness.
//!
//! [`generate`] writes a case for the running OS (the planner decides whether it applies
//! here, so a reproducer exists exactly where the harness would run the case); [`emit`]
//! owns the C; [`observation`] is the one normalised form of an observation that both the
//! C program prints and the harness's record is reduced to; [`check`] compiles and runs
//! the programs and compares; [`compare`] is that comparison alone (pure, for the
//! reporter too) and the `repro.json` record; [`run_bins`] runs programs built elsewhere
//! on this runtime (or under an emulator) into a `repro.json`. Reads the loaded
//! [`crate::model::Case`]s and the registry; never imports the executor or the reporter
//! (the caller hands [`check`] a way to run a plan).

pub mod bundle;
pub mod check;
pub mod cli;
pub mod compare;
pub mod emit;
pub mod observation;
pub mod run_bins;

use crate::host::Host;
use crate::model::Case;
use crate::plan::{self, Planned};
use crate::registry::Registry;

/// The fixed part of every reproducer.
pub const RUNTIME: &str = include_str!("runtime.c");

/// The compiler flags every reproducer must build with.
pub const CFLAGS: [&str; 5] = ["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror"];

#[derive(Debug, Clone)]
pub enum Generated {
    /// The C source.
    Ready(String),
    /// The case does not apply here (why), so neither harness nor reproducer runs it.
    NotApplicable(String),
}

/// The reproducer of `case` for `host`'s OS. `Err` is a defect of the case (as planning
/// finds it).
pub fn generate(case: &Case, registry: &Registry, host: &Host) -> Result<Generated, String> {
    match plan::plan(case, host)? {
        Planned::NotApplicable(why) => Ok(Generated::NotApplicable(why)),
        Planned::Ready(_) => {
            // plan() is Ready only on a known OS.
            let Some(os) = host.os else {
                return Ok(Generated::NotApplicable("unknown OS".into()));
            };
            Ok(Generated::Ready(emit::source(
                case, registry, os, &host.arch,
            )))
        }
    }
}

/// The reproducers a report links from its red cells: for each `(case id, OS key, arch)`
/// (`report::merge::Merged::red_cases`), the case's program for that OS, as
/// `(repro/<case-id>.c, source)`. A case the suite does not have (a run made with other
/// cases) or an OS it has no expectations for gets none.
pub fn for_report(
    red: &[(String, String, String)],
    cases: &[Case],
    registry: &Registry,
) -> Vec<(String, String)> {
    red.iter()
        .filter_map(|(id, os, arch)| {
            let case = cases.iter().find(|c| &c.id == id)?;
            let os = crate::names::Os::from_key(os)?;
            Some((
                format!("repro/{}", file_name(id)),
                emit::source(case, registry, os, arch),
            ))
        })
        .collect()
}

/// The file name of a case's reproducer.
pub fn file_name(case_id: &str) -> String {
    format!("{case_id}.c")
}
