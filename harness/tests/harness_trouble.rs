//! Harness trouble is its own verdict: with no disk, a read-only work directory, no file
//! descriptors or no fork, `mmapconf run` reports the cases it could not run as BROKEN with
//! the failing call and its errno by name, never as FAIL or a clause contradiction, and
//! exits 2. Each test starves the real binary of one resource: a tiny or read-only tmpfs in
//! a private mount namespace (`unshare -m`), RLIMIT_NOFILE, or RLIMIT_NPROC as a fresh
//! uid. They need root (mounts, setuid), as the suite does.
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mmapconf");

struct Ran {
    out: Output,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

impl Ran {
    fn json(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", self.stderr));
        serde_json::from_str(&text).unwrap()
    }

    fn cases(&self) -> Vec<Value> {
        self.json("results.json")["cases"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Exit 2, no FAIL anywhere, no contradiction, and at least one broken case, each
    /// naming `errno`.
    fn assert_broken_not_failed(&self, errno: &str) {
        let cases = self.cases();
        let broken: Vec<&Value> = cases.iter().filter(|c| c["verdict"] == "broken").collect();
        assert!(!broken.is_empty(), "{}\n{}", self.stdout, self.stderr);
        for c in &broken {
            assert_eq!(c["broken"]["errno"], errno, "{c:#}");
            assert!(!c["broken"]["call"].as_str().unwrap().is_empty(), "{c:#}");
        }
        let failed: Vec<&Value> = cases.iter().filter(|c| c["verdict"] == "fail").collect();
        assert!(
            failed.is_empty(),
            "harness trouble reported as FAIL: {failed:#?}"
        );
        // A broken case contradicts nothing; the cases that ran may still show the
        // kernel's known deviations.
        let names: Vec<&Value> = broken.iter().map(|c| &c["id"]).collect();
        for c in self.json("merged.json")["contradictions"]
            .as_array()
            .unwrap()
        {
            assert!(
                !names.contains(&&c["case"]),
                "a broken case contradicts: {c:#}"
            );
            assert_eq!(c["mark"], "known-deviation", "{c:#}");
        }
        let tally = self.stdout.lines().find(|l| l.contains(" FAIL, ")).unwrap();
        assert!(tally.contains(" 0 FAIL,"), "{tally}");
        assert!(
            tally.contains(&format!(" {} BROKEN", broken.len())),
            "{tally}"
        );
        assert!(self.stderr.contains(errno), "{}", self.stderr);
        assert!(!self.stderr.contains("os error"), "{}", self.stderr);
        assert_eq!(self.out.status.code(), Some(2), "{}", self.stderr);
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs `sh -c script` with `$BIN` and `$OUT` set, under `wrap` (a command prefix).
fn run(wrap: &[&str], script: &str) -> Ran {
    assert!(
        is_root(),
        "these tests mount file systems and change uid: run as root"
    );
    let dir = tempfile::tempdir().unwrap();
    // The fresh uid of the fork test writes its report here.
    std::os::unix::fs::chown(dir.path(), Some(61234), Some(61234)).unwrap();
    let mut cmd = Command::new(wrap[0]);
    cmd.args(&wrap[1..])
        .args(["sh", "-c", script])
        .env("BIN", BIN)
        .env("OUT", dir.path());
    let out = cmd.output().unwrap();
    Ran {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        out,
        dir,
    }
}

#[test]
fn a_full_work_disk_makes_cases_broken_with_enospc_not_failed() {
    let ran = run(
        &["unshare", "-m"],
        "set -e; d=$(mktemp -d); mount -t tmpfs -o size=4k tmpfs \"$d\"; \
         dd if=/dev/zero of=\"$d/fill\" bs=4k count=4 2>/dev/null || true; \
         TMPDIR=$d exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.eof mprotect.basic",
    );
    ran.assert_broken_not_failed("ENOSPC");
}

/// A read-only /dev/shm is a machine without a writable one (a sandbox's bind mount): the
/// cases that need it do not apply, and say why; none fails and none is broken.
#[test]
fn a_read_only_dev_shm_makes_its_cases_not_applicable_with_the_reason() {
    let ran = run(
        &["unshare", "-m"],
        "set -e; mount --make-rprivate /; mount -t tmpfs -o ro tmpfs /dev/shm; \
         exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.objects.shm",
    );
    assert_eq!(ran.out.status.code(), Some(0), "{}", ran.stderr);
    let cases = ran.cases();
    assert!(!cases.is_empty());
    for c in &cases {
        assert_eq!(c["verdict"], "not-applicable", "{c:#}");
        assert!(!c["message"].as_str().unwrap_or("").is_empty(), "{c:#}");
    }
}

#[test]
fn a_read_only_tmpdir_stops_the_run_with_erofs_and_exit_2() {
    let ran = run(
        &["unshare", "-m"],
        "set -e; d=$(mktemp -d); mount -t tmpfs -o ro tmpfs \"$d\"; \
         TMPDIR=$d exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.eof",
    );
    assert_eq!(ran.out.status.code(), Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("cannot create the work directory: EROFS (Read-only file system)"),
        "{}",
        ran.stderr
    );
    assert!(!Path::new(&ran.dir.path().join("results.json")).exists());
}

/// Six descriptors: the report pipe and the object fit, a step's own reopening does not.
#[test]
fn running_out_of_descriptors_makes_cases_broken_with_emfile() {
    let ran = run(
        &["prlimit", "--nofile=6"],
        "exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.eof",
    );
    ran.assert_broken_not_failed("EMFILE");
}

/// Whichever descriptor runs out first (the parent's pipe or object, the child's setup,
/// a step's own reopening of the file), the case is broken, never failed; somewhere on the
/// way a readback's reopening is the step's preparation, not its outcome.
#[test]
fn every_descriptor_limit_gives_broken_cases_never_failed_ones() {
    let mut step_preparation_seen = false;
    for n in 6..=20 {
        let ran = run(
            &["prlimit", &format!("--nofile={n}")],
            "exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.eof",
        );
        let code = ran.out.status.code();
        assert!(
            matches!(code, Some(0 | 2)),
            "nofile={n}: {code:?}\n{}",
            ran.stderr
        );
        assert!(
            !ran.stdout.contains(" FAIL,") || ran.stdout.contains(" 0 FAIL,"),
            "nofile={n}: {}",
            ran.stdout
        );
        step_preparation_seen |= ran.stderr.contains("open for a step's descriptor (step");
    }
    assert!(
        step_preparation_seen,
        "no limit reached a step's own preparation"
    );
}

/// RLIMIT_NPROC binds only a non-root uid: as a fresh one, three tasks are the runner's
/// main, Ctrl-C and worker threads, so every case's fork fails with EAGAIN.
#[test]
fn a_fork_that_fails_with_eagain_makes_cases_broken() {
    let ran = run(
        &[
            "setpriv",
            "--reuid=61234",
            "--regid=61234",
            "--clear-groups",
            "prlimit",
            "--nproc=3",
        ],
        "exec \"$BIN\" run -j 1 --out \"$OUT\" munmap.basic",
    );
    ran.assert_broken_not_failed("EAGAIN");
    assert!(
        ran.cases()
            .iter()
            .all(|c| c["verdict"] != "broken" || c["broken"]["call"] == "fork"),
        "{}",
        ran.stderr
    );
}
