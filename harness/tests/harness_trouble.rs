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
        assert_eq!(
            self.json("merged.json")["contradictions"],
            Value::Array(vec![])
        );
        let tally = self.stdout.lines().find(|l| l.contains(" FAIL, ")).unwrap();
        assert!(tally.contains(" 0 FAIL,"), "{tally}");
        assert!(
            tally.ends_with(&format!("{} BROKEN", broken.len())),
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

#[test]
fn a_read_only_dev_shm_makes_its_cases_broken_with_erofs() {
    let ran = run(
        &["unshare", "-m"],
        "set -e; mount --make-rprivate /; mount -t tmpfs -o ro tmpfs /dev/shm; \
         exec \"$BIN\" run -j 1 --out \"$OUT\" mmap.objects.shm",
    );
    ran.assert_broken_not_failed("EROFS");
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
    // A readback's reopening of the file is the step's preparation, not its outcome.
    assert!(
        ran.stderr.contains("open for a step's descriptor (step"),
        "{}",
        ran.stderr
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
