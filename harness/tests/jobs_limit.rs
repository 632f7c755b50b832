//! `run -j N` with more threads than the process may start is a clear error, not a panic.

use std::os::unix::process::CommandExt;
use std::process::Command;

#[test]
fn more_jobs_than_threads_can_start_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmapconf"));
    cmd.args(["run", "-j", "10000", "--out"])
        .arg(out.path())
        .arg("mmap.");
    // An address-space limit the worker thread stacks exhaust after a few dozen: the way
    // an ordinary user's process limit stops them (root is exempt from RLIMIT_NPROC).
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256 << 20,
                rlim_max: 256 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("cannot start worker thread"), "{stderr}");
    assert!(stderr.contains("smaller -j"), "{stderr}");
}
