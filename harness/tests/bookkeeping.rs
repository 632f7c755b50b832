//! The harness's own bookkeeping needs no MAP_SHARED memory, no /proc and no writable
//! /dev/shm (issue 14, §3): a case's processes report through a pipe only, a case killed
//! midway still tells which steps it completed, and the suite runs in a mount namespace
//! without /proc and with a read-only /dev/shm, its shm cases not applicable with the
//! reason. The first two stop each case process just before it ends (the executor's test
//! hook) and read its /proc/PID/maps from here.
#![cfg(target_os = "linux")]

use mmapconf::exec::{Executor, testing};
use mmapconf::host::Host;
use mmapconf::judge::{CaseResult, Verdict};
use mmapconf::suite::run_case;
use serial_test::serial;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn case(id: &str) -> mmapconf::model::Case {
    let suite = mmapconf::embedded::suite().expect("the built-in cases load");
    suite
        .cases
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

/// The process state letter (`T` when stopped) and parent pid of `pid`.
fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: parse after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// `pid` and every descendant of it.
fn family(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return all;
    };
    let pids: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let mut grew = true;
    while grew {
        grew = false;
        for &p in &pids {
            if !all.contains(&p) && stat(p).is_some_and(|(_, pp)| all.contains(&pp)) {
                all.push(p);
                grew = true;
            }
        }
    }
    all
}

/// The lines of /proc/PID/maps of shared mappings (permissions `...s`).
fn shared_mappings(pid: i32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.ends_with('s'))
        })
        .map(str::to_string)
        .collect()
}

/// Runs `id` with every case process stopping before it ends; for each stopped process,
/// its shared mappings are noted, then `at_stop(pid, is_the_case_child)` says whether to
/// continue it (true) or kill it (false). Returns the result and, per process, its shared
/// mappings.
fn run_stopping(
    id: &str,
    at_stop: impl Fn(bool) -> bool,
) -> (CaseResult, BTreeMap<i32, Vec<String>>) {
    let c = case(id);
    let host = Host::detect();
    let exec = Executor::new().expect("work directory");
    testing::LAST_CHILD.store(0, Ordering::Relaxed);
    testing::STOP_BEFORE_EXIT.store(true, Ordering::Relaxed);
    let mut seen = BTreeMap::new();
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| run_case(&c, &host, &exec));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !worker.is_finished() {
            assert!(Instant::now() < deadline, "{id}: the case did not end");
            let child = testing::LAST_CHILD.load(Ordering::Relaxed);
            if child == 0 {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            for pid in family(child) {
                if seen.contains_key(&pid) || stat(pid).is_none_or(|(st, _)| st != 'T') {
                    continue;
                }
                seen.insert(pid, shared_mappings(pid));
                let sig = if at_stop(pid == child) {
                    libc::SIGCONT
                } else {
                    libc::SIGKILL
                };
                // SAFETY: signalling a stopped process of our own case.
                unsafe { libc::kill(pid, sig) };
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        worker.join().expect("the case's thread")
    });
    testing::STOP_BEFORE_EXIT.store(false, Ordering::Relaxed);
    (result, seen)
}

#[test]
#[serial]
fn no_case_process_has_a_shared_mapping_the_case_did_not_make() {
    let page = mmapconf::host::page_size();
    // The control: a case that maps one shared anonymous page shows exactly that one, in
    // both processes of its fork step, so the check sees MAP_SHARED mappings.
    let (r, seen) = run_stopping(
        "mmap.fork.shared-anonymous-child-write-is-seen-by-parent",
        |_| true,
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.message);
    assert_eq!(
        seen.len(),
        2,
        "the child and its fork step's process: {seen:?}"
    );
    for (pid, shared) in &seen {
        assert_eq!(shared.len(), 1, "process {pid}: {shared:#?}");
        let range = shared[0].split_whitespace().next().unwrap();
        let (a, b) = range.split_once('-').unwrap();
        let len = u64::from_str_radix(b, 16).unwrap() - u64::from_str_radix(a, 16).unwrap();
        assert_eq!(len, page as u64, "process {pid}: {}", shared[0]);
    }
    // The same shape with a private mapping: nothing shared at all, in either process.
    let (r, seen) = run_stopping(
        "mmap.fork.private-anonymous-child-write-is-not-seen-by-parent",
        |_| true,
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.message);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (pid, shared) in &seen {
        assert!(
            shared.is_empty(),
            "process {pid} has shared mappings: {shared:#?}"
        );
    }
}

/// The case's child is SIGKILLed after its steps but before its end mark: the parent
/// still has every step's outcome (the fork step's process's included), and the verdict
/// says the child died.
#[test]
#[serial]
fn a_case_killed_midway_still_reports_the_steps_it_completed() {
    let (r, seen) = run_stopping(
        "mmap.fork.private-anonymous-child-write-is-not-seen-by-parent",
        |is_child| !is_child,
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(r.verdict, Verdict::Fail, "{r:#?}");
    assert!(r.message.contains("Signaled(9)"), "{}", r.message);
    assert!(!r.steps.is_empty(), "{r:#?}");
    for s in &r.steps {
        assert_eq!(s.verdict, Verdict::Pass, "step {} lost: {s:#?}", s.step);
    }
}

/// The whole suite in a private mount namespace with /proc unmounted and /dev/shm a
/// read-only tmpfs: nothing fails or breaks, the shm cases do not apply and say why.
#[test]
#[serial]
fn the_suite_runs_without_proc_and_without_a_writable_dev_shm() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test mounts file systems: run as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(
            "set -e; mount --make-rprivate /; mount -t tmpfs -o ro tmpfs /dev/shm; \
             umount -l /proc; test ! -e /proc/self; exec \"$BIN\" run -j 2 --out \"$OUT\"",
        )
        .env("BIN", env!("CARGO_BIN_EXE_mmapconf"))
        .env("OUT", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 100);
    let mut shm = 0;
    for c in cases {
        let v = c["verdict"].as_str().unwrap();
        assert!(v != "fail" && v != "broken", "{c:#}");
        let elsewhere = c["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the case applies only to"));
        if c["id"].as_str().unwrap().starts_with("mmap.objects.shm") && !elsewhere {
            shm += 1;
            assert_eq!(v, "not-applicable", "{c:#}");
            assert!(c["message"].as_str().unwrap().contains("/dev/shm"), "{c:#}");
        }
    }
    assert!(shm > 0, "no shm case in the suite");
}
