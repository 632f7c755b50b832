//! The harness checks itself: wrong expectations must fail, hangs and crashing children
//! must be reported, deviations must match only what they record. A suite whose checks
//! cannot fail proves nothing, so each test here feeds the whole pipeline a case built to
//! trip one check.

use mmapconf::exec::Executor;
use mmapconf::host::{Host, page_size};
use mmapconf::judge::{CaseResult, Verdict};
use mmapconf::load::parse_file;
use mmapconf::registry::Registry;
use mmapconf::suite::run_case;
use std::path::Path;
use std::sync::OnceLock;

fn clauses() -> Registry {
    Registry::of_ids(&["posix.mmap.17", "posix.mmap.11", "linux.mmap.desc.1"])
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(Host::detect)
}

/// Runs the single case in `body` (the part after `[[case]]` and its id).
fn run(body: &str) -> CaseResult {
    let text = format!(
        "[[case]]\nid = \"self.check.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.17\"]\n{body}"
    );
    let cases =
        parse_file(Path::new("self.toml"), &text, &clauses()).unwrap_or_else(|e| panic!("{e:?}"));
    // One executor per test: statics are never dropped, and its drop removes the work files.
    let exec = Executor::new().expect("work directory");
    run_case(&cases[0], host(), &exec)
}

#[test]
fn a_wrong_errno_expectation_fails_and_names_case_clause_call_and_both_outcomes() {
    let r = run(r#"
object = { kind = "file", size = "1p", open = "O_WRONLY" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE" }
expect = { errno = "EBADF" }
"#);
    assert_eq!(r.verdict, Verdict::Fail);
    let text = r.explain();
    assert!(text.contains("self.check.case [posix.mmap.17]"), "{text}");
    let call = format!("mmap(NULL, {}, PROT_READ, MAP_PRIVATE, ", page_size());
    assert!(text.contains(&call), "{text}");
    assert!(text.contains("expected: EBADF"), "{text}");
    assert!(text.contains("observed: EACCES"), "{text}");
}

#[test]
fn the_right_expectation_passes() {
    let r = run(r#"
object = { kind = "file", size = "1p", open = "O_WRONLY" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE" }
expect = { errno = "EACCES" }
"#);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.explain());
}

#[test]
fn a_fault_where_none_is_expected_fails_with_signal_code_and_offset() {
    let r = run(r#"
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
expect = { result = "ok" }
[[case.step]]
write = "result+3"
"#);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.steps[0].observed, "SIGSEGV SEGV_ACCERR at +0x0");
}

#[test]
fn wrong_bytes_fail_with_the_first_difference() {
    let r = run(r#"
object = { kind = "file", size = "1p", content = "byte:0x11" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_SHARED" }
expect = { result = "ok" }
[[case.step]]
read = "result"
len = "8"
bytes = "byte:0x12"
"#);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.steps[0]
            .observed
            .starts_with("bytes differ at +0x0: got [11 11"),
        "{:?}",
        r.steps
    );
}

#[test]
fn a_deviation_matches_only_the_outcome_it_records() {
    let body = |observed: &str| {
        format!(
            r#"
call = {{ fn = "mmap", len = "0", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }}
expect = {{ result = "ok" }}
[[case.deviation]]
os = "{}"
observed = {{ errno = "{observed}" }}
why = "test"
evidence = "test"
"#,
            Host::detect().os.map_or("linux", |o| o.key())
        )
    };
    assert_eq!(run(&body("EINVAL")).verdict, Verdict::KnownDeviation);
    assert_eq!(run(&body("ENOMEM")).verdict, Verdict::Fail);
}

#[test]
fn a_child_that_hangs_is_killed_at_the_timeout_and_reported() {
    // Reading 1 GiB byte by byte through probes takes far longer than 0.2 s.
    let r = run(r#"
timeout = 0.2
call = { fn = "mmap", len = "1073741824", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
expect = { result = "ok" }
[[case.step]]
read = "result"
len = "1073741824"
"#);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.observed.starts_with("hang"), "{}", r.explain());
    assert!(
        r.elapsed_us < 3_000_000,
        "killed promptly: {} us",
        r.elapsed_us
    );
}

#[test]
fn a_child_that_crashes_outside_a_probe_is_reported_and_the_harness_lives_on() {
    // Unmapping the whole user address space takes the child's own code and stack. From
    // the first page, not NULL: FreeBSD's user map starts at one page (vm_map_min), and
    // kern_munmap() refuses a range below it with EINVAL instead of unmapping anything;
    // Linux unmaps [1p, top) just the same. A wrong `top` shows up here as EINVAL too.
    let r = run(r#"
call = { fn = "munmap", addr = "null+1p", len = "top-1p" }
expect = { result = "ok" }
"#);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.observed.contains("died of SIGSEGV") || r.observed.contains("without a report"),
        "{}",
        r.explain()
    );
    // Reaching this line is the other half: the harness process is still here.
}

#[test]
fn a_fork_step_alternates_parent_and_child_in_the_written_order() {
    let r = run(r#"
call = { fn = "mmap", len = "1p", prot = "PROT_READ|PROT_WRITE", flags = "MAP_SHARED|MAP_ANONYMOUS" }
expect = { result = "ok" }
[[case.step]]
fork = true
[[case.step]]
in = "parent"
write = "result"
byte = "0x01"
[[case.step]]
in = "child"
read = "result"
bytes = "byte:0x01"
[[case.step]]
in = "child"
write = "result"
byte = "0x02"
[[case.step]]
in = "parent"
read = "result"
bytes = "byte:0x02"
"#);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.explain());
    assert_eq!(r.steps.len(), 4);
}

#[cfg(target_os = "linux")]
#[test]
fn a_flag_of_another_os_makes_the_case_not_applicable_with_the_reason() {
    let r = run(r#"
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANON|MAP_GUARD" }
expect = { result = "ok" }
"#);
    assert_eq!(r.verdict, Verdict::NotApplicable);
    assert!(
        r.message.contains("MAP_GUARD does not exist on this OS"),
        "{}",
        r.message
    );
}

#[cfg(target_os = "linux")]
#[test]
fn an_unprivileged_case_runs_as_nobody_when_the_harness_is_root() {
    // mlock needs CAP_IPC_LOCK or a non-zero RLIMIT_MEMLOCK: as nobody with a zero limit it
    // fails; as root it would succeed. Not root: the child already is unprivileged.
    let r = run(r#"
privilege = "unprivileged"
limits = { RLIMIT_MEMLOCK = "0" }
mapping = [{ name = "m", len = "1p" }]
call = { fn = "mlock", addr = "mapping.m", len = "1p" }
expect = { errno = "EPERM" }
"#);
    if r.verdict == Verdict::NotApplicable {
        return; // this machine cannot drop privilege; the reason says why
    }
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.explain());
}

#[test]
fn a_call_step_runs_any_family_call_and_renders_it_as_c() {
    // The last step's errno must hold on both OSes: a zero length is EINVAL on Linux and
    // FreeBSD alike (an unaligned munmap address is not: FreeBSD rounds it down).
    let r = run(r#"
call = { fn = "mmap", len = "2p", prot = "PROT_READ|PROT_WRITE", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
expect = { result = "ok" }
[[case.step]]
write = "result+1p"
byte = "0x33"
[[case.step]]
call = { fn = "mmap", addr = "result", len = "1p", prot = "PROT_NONE", flags = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED" }
[[case.step]]
read = "result"
expect = { fault = "SIGSEGV SEGV_ACCERR" }
[[case.step]]
read = "result+1p"
bytes = "byte:0x33"
[[case.step]]
call = { fn = "munmap", addr = "result", len = "0" }
expect = { errno = "EINVAL" }
"#);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.explain());
    assert!(
        r.steps[1].what.starts_with("mmap(0x"),
        "{}",
        r.steps[1].what
    );
    assert!(
        r.steps[1]
            .what
            .contains("PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)"),
        "{}",
        r.steps[1].what
    );
}
