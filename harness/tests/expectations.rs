//! The committed expectations (expectations/*.toml) against the committed matrix runs
//! (reports/matrix/runs/), the way ci/gate.sh holds them: each runtime's runs show no
//! change, and the real kernels fail nothing. When this fails after the matrix was re-run
//! on purpose, ci/expectations.sh rewrites the files and names what changed.

use mmapconf::expectations::Expectations;
use mmapconf::report::merge::Run;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The file ci/gate.sh picks for a run, by its name.
fn file_for(run: &str) -> &'static str {
    if run.starts_with("gvisor-") {
        "gvisor.toml"
    } else if run.starts_with("qemu-user-7.2.") {
        "qemu-user-7.2.toml"
    } else if run.starts_with("qemu-user-10.0.") {
        "qemu-user-10.0.toml"
    } else if run.starts_with("uml-") {
        "uml.toml"
    } else {
        "linux.toml"
    }
}

#[test]
fn every_committed_matrix_run_shows_no_change_against_its_expectations() {
    let mut gated = 0;
    for entry in std::fs::read_dir(root().join("reports/matrix/runs")).unwrap() {
        let path = entry.unwrap().path().join("results.json");
        let run = Run::read(&path).unwrap();
        let e = Expectations::read(&root().join("expectations").join(file_for(&run.name))).unwrap();
        let gate = e.gate(&run);
        assert!(gate.passed(), "{}", gate.summary());
        gated += 1;
    }
    assert!(gated > 0, "no matrix runs");
}

#[test]
fn the_real_kernels_file_lists_nothing() {
    let e = Expectations::read(&root().join("expectations/linux.toml")).unwrap();
    assert!(e.cases.is_empty());
}
