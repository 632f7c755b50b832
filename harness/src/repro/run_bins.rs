//! `mmapconf repro --run-bins DIR`: runs reproducers built elsewhere (statically, e.g.
//! with `musl-gcc -static`) on the runtime this process runs on, or under an emulator
//! (`--via qemu-aarch64`), and records each one's exit status and observation line in
//! `repro.json` ([`super::compare::ReproFile`]). A runner writes it beside the results.json
//! of a harness run on the same runtime; `repro --compare` and the matrix report hold the
//! two against each other. Runs no case itself and judges nothing.

use super::check::{in_parallel, run_binary_via};
use super::compare::{ReproFile, ReproRun, observation_of};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The reproducers in `dir`: its regular, executable files (named after their case; a
/// `.c` source beside them is ignored), sorted by name.
pub fn binaries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut bins: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && e.metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        })
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|x| x != "c"))
        .collect();
    bins.sort();
    Ok(bins)
}

/// Runs every binary of `bins` on `jobs` threads (each under `via` if given, killed after
/// `limit`); `done` sees each as it finishes. The record keeps the order of `bins`.
pub fn run(
    bins: &[PathBuf],
    via: Option<&Path>,
    limit: Duration,
    jobs: usize,
    done: &(dyn Fn(&ReproRun) + Sync),
) -> ReproFile {
    let reproducers = in_parallel(bins, jobs, |bin| {
        let r = run_one(bin, via, limit);
        done(&r);
        r
    });
    ReproFile {
        tool: "mmapconf".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        via: via.map(|v| v.display().to_string()).unwrap_or_default(),
        reproducers,
    }
}

fn run_one(bin: &Path, via: Option<&Path>, limit: Duration) -> ReproRun {
    let case = bin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let start = Instant::now();
    let (exit, outcome) = match run_binary_via(via, bin, limit) {
        Ok(ran) => (ran.status, observation_of(&ran.stdout)),
        Err(e) => (None, Err(e)),
    };
    let (observation, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    ReproRun {
        case,
        exit,
        observation,
        error,
        elapsed_us: start.elapsed().as_micros() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_of_scripts_is_run_and_recorded_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(
            "b.case",
            r#"echo 'call: ...'; echo '{"case":"b.case","verdict":"fail"}'; exit 1"#,
        );
        script("a.case", "echo nothing; exit 0");
        std::fs::write(dir.path().join("a.case.c"), "int main(void){}").unwrap();
        let bins = binaries(dir.path()).unwrap();
        assert_eq!(bins.len(), 2, "{bins:?}");
        let f = run(&bins, None, Duration::from_secs(10), 2, &|_| {});
        let got: Vec<(&str, Option<i32>, bool)> = f
            .reproducers
            .iter()
            .map(|r| (r.case.as_str(), r.exit, r.observation.is_some()))
            .collect();
        assert_eq!(got, [("a.case", Some(0), false), ("b.case", Some(1), true)]);
        assert!(
            f.reproducers[0]
                .error
                .as_deref()
                .unwrap()
                .contains("no observation")
        );
    }
}
