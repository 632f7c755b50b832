//! The conventions a kernel developer brings from libtest and LTP: `run --list`,
//! `--exact`, `--skip`, `--timeout-factor`; usage errors that suggest only what `run`
//! does; and `cargo test -- --ignored` listing the cases that do not apply, with reasons.

use mmapconf::exec::Executor;
use mmapconf::host::Host;
use mmapconf::judge::Verdict;
use mmapconf::{embedded, suite};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mmapconf");

fn mmapconf(args: &[&str]) -> (Output, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

fn ids() -> Vec<String> {
    embedded::suite()
        .unwrap()
        .cases
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[test]
fn run_list_names_the_selected_cases_like_libtest_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let (out, stdout, _) = mmapconf(&["run", "--list", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success());
    let listed: Vec<&str> = stdout.lines().collect();
    let want: Vec<String> = ids().iter().map(|i| format!("{i}: case")).collect();
    assert_eq!(listed, want);
    assert!(!out_dir.exists(), "--list must not run or write anything");
}

#[test]
fn run_exact_selects_only_the_case_with_that_whole_id() {
    let all = ids();
    let id = &all[0];
    let (_, stdout, _) = mmapconf(&["run", "--list", "--exact", id]);
    assert_eq!(stdout, format!("{id}: case\n"));
    let (_, stdout, _) = mmapconf(&["run", "--list", "--exact", "munmap"]);
    assert_eq!(stdout, "", "no case id is exactly `munmap`");
}

#[test]
fn run_skip_leaves_out_the_cases_it_names() {
    let (_, stdout, _) = mmapconf(&["run", "--list", "munmap", "--skip", "einval"]);
    let listed: Vec<&str> = stdout.lines().collect();
    let want: Vec<String> = ids()
        .iter()
        .filter(|i| i.contains("munmap") && !i.contains("einval"))
        .map(|i| format!("{i}: case"))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(listed, want);
}

#[test]
fn a_timeout_factor_that_is_not_positive_and_finite_is_refused() {
    for bad in ["0", "-2", "inf", "nan", "fast"] {
        let arg = format!("--timeout-factor={bad}");
        let (out, _, stderr) = mmapconf(&["run", &arg, "--list"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--timeout-factor"), "{stderr}");
    }
    let (out, _, _) = mmapconf(&["run", "--timeout-factor", "2.5", "--list"]);
    assert!(out.status.success());
}

/// A tiny factor leaves the child no time: the hang report names the scaled timeout.
#[test]
fn the_timeout_factor_scales_every_case_timeout() {
    let suite = embedded::suite().unwrap();
    let host = Host::detect();
    let exec = Executor::new().unwrap();
    let case = suite
        .cases
        .iter()
        .find(|c| c.id == "munmap.basic.zero-length-fails-with-einval")
        .unwrap();
    let opts = suite::Options {
        timeout_factor: 1e-9,
        ..Default::default()
    };
    let r = suite::run_case_with(case, &host, &exec, &opts);
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.explain());
    assert!(
        r.observed.starts_with("hang: the child was killed after"),
        "{}",
        r.observed
    );
    assert!(r.observed.contains("ns"), "{}", r.observed);
    let r = suite::run_case(case, &host, &exec);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.explain());
}

#[test]
fn run_does_not_tell_a_libtest_flag_to_go_after_a_double_dash() {
    for flag in ["--ignored", "--nocapture", "--test-threads=1"] {
        let (out, _, stderr) = mmapconf(&["run", flag]);
        assert_eq!(out.status.code(), Some(2));
        assert!(!stderr.contains("'-- "), "{stderr}");
        assert!(!stderr.contains("as a value"), "{stderr}");
        assert!(stderr.contains("is a `cargo test` option"), "{stderr}");
        assert!(stderr.contains("--exact, --skip and --list"), "{stderr}");
    }
    // A near miss still gets clap's pointer to an option that exists.
    let (_, _, stderr) = mmapconf(&["run", "--exat"]);
    assert!(stderr.contains("'--exact'"), "{stderr}");
}

#[test]
fn run_help_documents_the_exit_codes() {
    let (out, stdout, _) = mmapconf(&["run", "--help"]);
    assert!(out.status.success());
    for line in [
        "0  every case that ran passed",
        "1  a kernel failed a case",
        "2  the run is not trustworthy: a case is BROKEN",
    ] {
        assert!(stdout.contains(line), "{stdout}");
    }
}

/// The `cases` test binary cargo built beside this one.
fn cases_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut found: Vec<_> = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("cases-")
                && p.extension().is_none()
        })
        .collect();
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found
        .pop()
        .expect("the `cases` test binary: run `cargo test`, which builds it")
}

fn not_applicable_here() -> Vec<(String, String)> {
    let host = Host::detect();
    embedded::suite()
        .unwrap()
        .cases
        .iter()
        .filter_map(|c| match mmapconf::plan::plan(c, &host) {
            Ok(mmapconf::plan::Planned::NotApplicable(why)) => Some((c.id.clone(), why)),
            _ => None,
        })
        .collect()
}

#[test]
fn cargo_test_ignored_lists_each_case_that_does_not_apply_with_its_reason() {
    let na = not_applicable_here();
    assert!(!na.is_empty(), "some case is another OS's on every machine");
    let out = Command::new(cases_binary())
        .args(["--ignored", "--test-threads", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for (id, why) in &na {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("test [case] {id} ")))
            .unwrap_or_else(|| panic!("{id} not listed: {stdout}"));
        assert!(line.ends_with(&format!("... ignored ({why})")), "{line}");
    }
    assert!(
        stdout.contains(&format!("0 passed; 0 failed; {} ignored", na.len())),
        "{stdout}"
    );
}

#[test]
fn cargo_test_json_keeps_the_reasons() {
    let na = not_applicable_here();
    let out = Command::new(cases_binary())
        .args(["--ignored", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reasons: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "not-applicable")
        .collect();
    assert_eq!(reasons.len(), na.len(), "{stdout}");
    for (id, why) in &na {
        assert!(
            reasons
                .iter()
                .any(|v| v["name"] == *id && v["reason"] == *why),
            "{id}: {stdout}"
        );
    }
}
