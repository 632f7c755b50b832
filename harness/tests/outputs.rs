//! What `mmapconf run` writes, and when it writes nothing: through the real binary.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mmapconf");
/// A word in a few case ids only (the zero-length cases).
const FILTER: &str = "zero-length";

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .arg("run")
        .args(args)
        .output()
        .unwrap()
}

fn report_dir_name() -> String {
    mmapconf::host::Host::detect().report_dir_name()
}

#[test]
fn a_filter_matching_no_case_exits_2_and_writes_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--out", "o", "no-case-has-this-word"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no case id contains"), "{err}");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn a_filtered_run_without_out_leaves_the_full_runs_report_alone() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().join("reports").join(report_dir_name());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), "the full run's").unwrap();
    let out = run_in(cwd.path(), &[FILTER]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("writes no report without --out"));
    assert_eq!(
        std::fs::read_to_string(dir.join("results.json")).unwrap(),
        "the full run's"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn a_filtered_run_with_out_writes_its_report_there() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--out", "o", FILTER]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for f in [
        "results.json",
        "report.html",
        "report.md",
        "junit.xml",
        "merged.json",
    ] {
        assert!(cwd.path().join("o").join(f).is_file(), "{f}");
    }
}

#[test]
fn a_write_that_fails_midway_keeps_the_previous_report_whole() {
    let cwd = tempfile::tempdir().unwrap();
    let first = run_in(cwd.path(), &["--out", "o", FILTER]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let o = cwd.path().join("o");
    let names = [
        "results.json",
        "report.html",
        "report.md",
        "junit.xml",
        "merged.json",
    ];
    let before: Vec<Vec<u8>> = names
        .iter()
        .map(|f| std::fs::read(o.join(f)).unwrap())
        .collect();
    // A file size limit below the report's size: a write fails part way, as on a full disk.
    let limit = before.iter().map(Vec::len).max().unwrap() as u64 / 2;
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd.path())
        .args(["run", "--out", "o", FILTER]);
    // SAFETY: only setrlimit and signal, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let r = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let second = cmd.output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("the previous files there are kept"), "{err}");
    for (f, old) in names.iter().zip(&before) {
        assert_eq!(&std::fs::read(o.join(f)).unwrap(), old, "{f} changed");
    }
    assert_eq!(
        std::fs::read_dir(&o).unwrap().count(),
        names.len(),
        "a temporary was left"
    );
}
