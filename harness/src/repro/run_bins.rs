//! `mmapconf repro --run-bins DIR`: runs reproducers built elsewhere (statically, e.g.
//! with `musl-gcc -static`; one per case, or bundles that `--list` their cases and run
//! one per process) on the runtime this process runs on, or under an emulator
//! (`--via qemu-aarch64`), and records each one's exit status and observation line in
//! `repro.json` ([`super::compare::ReproFile`]). A runner writes it beside the results.json
//! of a harness run on the same runtime; `repro --compare` and the matrix report hold the
//! two against each other. Runs no case itself and judges nothing.

use super::check::{in_parallel, run_binary_with};
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

/// One run of a reproducer: a binary named after its case, or a bundle and the case it
/// is asked for.
pub struct Target {
    pub bin: PathBuf,
    pub case: String,
    /// The bundle's argument (its case id); `None` for a one-case binary.
    pub arg: Option<String>,
    /// Why a bundle's cases are unknown (its `--list` failed): recorded, not run.
    pub unlisted: Option<String>,
}

/// The runs `bins` stand for: each one-case binary once, each bundle (`bundle-*`) once per
/// case its `--list` names, in that order.
pub fn targets(bins: &[PathBuf], via: Option<&Path>, limit: Duration) -> Vec<Target> {
    let mut out = Vec::new();
    for bin in bins {
        let name = bin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.starts_with(super::bundle::PREFIX) {
            out.push(Target {
                bin: bin.clone(),
                case: name,
                arg: None,
                unlisted: None,
            });
            continue;
        }
        match run_binary_with(via, bin, &["--list"], limit) {
            Ok(ran) if ran.status == Some(0) => out.extend(
                ran.stdout
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|id| Target {
                        bin: bin.clone(),
                        case: id.to_string(),
                        arg: Some(id.to_string()),
                        unlisted: None,
                    }),
            ),
            other => {
                let why = match other {
                    Ok(ran) => format!("`{name} --list` exited {:?}", ran.status),
                    Err(e) => e,
                };
                out.push(Target {
                    bin: bin.clone(),
                    case: name,
                    arg: None,
                    unlisted: Some(why),
                });
            }
        }
    }
    out
}

/// Runs every target on `jobs` threads (each under `via` if given, killed after `limit`);
/// `done` sees each as it finishes. The record keeps the order of `targets`.
pub fn run(
    targets: &[Target],
    via: Option<&Path>,
    limit: Duration,
    jobs: usize,
    done: &(dyn Fn(&ReproRun) + Sync),
) -> ReproFile {
    let reproducers = in_parallel(targets, jobs, |t| {
        let r = run_one(t, via, limit);
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

fn run_one(t: &Target, via: Option<&Path>, limit: Duration) -> ReproRun {
    let case = t.case.clone();
    let start = Instant::now();
    let args: Vec<&str> = t.arg.iter().map(String::as_str).collect();
    let ran = match &t.unlisted {
        Some(why) => Err(why.clone()),
        None => run_binary_with(via, &t.bin, &args, limit),
    };
    let (exit, outcome) = match ran {
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
        let f = run(
            &targets(&bins, None, Duration::from_secs(10)),
            None,
            Duration::from_secs(10),
            2,
            &|_| {},
        );
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

    #[test]
    fn a_bundle_is_run_once_per_case_its_list_names_with_that_case_as_argument() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bundle-0000");
        std::fs::write(
            &p,
            "#!/bin/sh\n[ \"$1\" = --list ] && { echo x.one; echo x.two; exit 0; }\n\
             echo \"{\\\"case\\\":\\\"$1\\\",\\\"verdict\\\":\\\"pass\\\"}\"; exit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let broken = dir.path().join("bundle-0064");
        std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
        let limit = Duration::from_secs(10);
        let t = targets(&binaries(dir.path()).unwrap(), None, limit);
        let f = run(&t, None, limit, 2, &|_| {});
        let got: Vec<(&str, Option<&str>)> = f
            .reproducers
            .iter()
            .map(|r| {
                let case = r.observation.as_ref().and_then(|o| o["case"].as_str());
                (r.case.as_str(), case)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("x.one", Some("x.one")),
                ("x.two", Some("x.two")),
                ("bundle-0064", None)
            ]
        );
        assert!(
            f.reproducers[2]
                .error
                .as_deref()
                .unwrap()
                .contains("--list")
        );
    }
}
