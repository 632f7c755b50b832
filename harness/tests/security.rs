//! The harness runs as root on shared machines: another local user must not be able to
//! make a run write anywhere, and nothing the harness creates may be world-writable.
//! These tests need root (they drop a helper to uid 65534); as anyone else they say so and
//! check nothing.

use mmapconf::exec::Executor;
use mmapconf::host::Host;
use mmapconf::judge::{CaseResult, Verdict};
use mmapconf::load::parse_file;
use mmapconf::registry::Registry;
use mmapconf::suite::run_case;
use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const NOBODY: u32 = 65534;

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(Host::detect)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn case(body: &str) -> mmapconf::model::Case {
    let text = format!(
        "[[case]]\nid = \"security.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.17\"]\n{body}"
    );
    let reg = Registry::of_ids(&["posix.mmap.17"]);
    parse_file(Path::new("security.toml"), &text, &reg)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .remove(0)
}

/// A file case that writes through a shared mapping and reads the file back.
const FILE_CASE: &str = r#"
object = { kind = "file", size = "1p", open = "O_RDWR" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ|PROT_WRITE", flags = "MAP_SHARED" }
expect = { result = "ok" }
[[case.step]]
write = "result"
len = "8"
byte = "0x77"
[[case.step]]
readback = "0"
len = "8"
bytes = "byte:0x77"
"#;

const TMPFS_FILE_CASE: &str = r#"
object = { kind = "file", size = "1p", open = "O_RDWR", fs = "tmpfs" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_SHARED" }
expect = { result = "ok" }
"#;

const SHM_CASE: &str = r#"
object = { kind = "shm", size = "1p" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ|PROT_WRITE", flags = "MAP_SHARED" }
expect = { result = "ok" }
[[case.step]]
write = "result+5"
len = "3"
byte = "0x77"
[[case.step]]
readback = "5"
len = "3"
bytes = "byte:0x77"
"#;

const DIR_CASE: &str = r#"
object = { kind = "dir" }
call = { fn = "mmap", len = "1p", prot = "PROT_READ", flags = "MAP_PRIVATE" }
expect = { errno = ["EACCES", "ENODEV"] }
"#;

fn assert_passes(r: &CaseResult) {
    assert!(
        matches!(r.verdict, Verdict::Pass | Verdict::KnownDeviation),
        "{}",
        r.explain()
    );
}

/// Forks a helper that becomes uid 65534 and, `passes` times over, tries to plant a
/// symlink to `target` and a file of its own at every name the run could use in each of
/// `dirs`. Returns the helper's pid and a pipe that yields how many plants succeeded.
fn planter(dirs: &[PathBuf], target: &Path, passes: usize) -> (libc::pid_t, std::fs::File) {
    let target = CString::new(target.as_os_str().as_encoded_bytes()).unwrap();
    let mut links = Vec::new();
    let mut files = Vec::new();
    for d in dirs {
        for n in 0..64 {
            let p = |s: String| CString::new(d.join(s).into_os_string().into_encoded_bytes());
            links.push(p(format!("case-{n}.dat")).unwrap());
            files.push(p(format!("case-{n}.dir")).unwrap());
            files.push(p(format!("shm-{n}")).unwrap());
        }
    }
    let (rx, tx) = nix::unistd::pipe().unwrap();
    // SAFETY: the child makes only raw system calls on data built before fork, then exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            let nobody = NOBODY as libc::uid_t;
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(nobody) != 0
                || libc::setuid(nobody) != 0
            {
                libc::_exit(3);
            }
            let mut planted: u32 = 0;
            for _ in 0..passes {
                for l in &links {
                    planted += u32::from(libc::symlink(target.as_ptr(), l.as_ptr()) == 0);
                }
                for f in &files {
                    let fd = libc::open(f.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o666);
                    if fd >= 0 {
                        planted += 1;
                        libc::close(fd);
                    }
                }
            }
            let b = planted.to_ne_bytes();
            libc::write(std::os::fd::AsRawFd::as_raw_fd(&tx), b.as_ptr().cast(), 4);
            libc::_exit(0);
        }
    }
    drop(tx);
    (pid, std::fs::File::from(rx))
}

#[test]
fn another_user_planting_symlinks_and_files_in_the_work_dirs_changes_nothing() {
    if !is_root() {
        eprintln!("not root: the planting helper cannot become uid {NOBODY}; nothing checked");
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    std::fs::write(&target, "keep").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let exec = Executor::new().unwrap();
    let dirs = exec.work_dirs();
    let cases = [FILE_CASE, TMPFS_FILE_CASE, SHM_CASE, DIR_CASE].map(case);
    let (pid, mut rx) = planter(&dirs, &target, 200);
    // The run goes on while the helper plants.
    for _ in 0..15 {
        for c in &cases {
            assert_passes(&run_case(c, host(), &exec));
        }
    }
    let mut status = 0;
    // SAFETY: reaping our own helper.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status:#x}"
    );
    let mut b = [0u8; 4];
    std::io::Read::read_exact(&mut rx, &mut b).unwrap();
    assert_eq!(
        u32::from_ne_bytes(b),
        0,
        "the other user planted names in the work dirs"
    );
    let m = std::fs::symlink_metadata(&target).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o644));
    for d in &dirs {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            assert_ne!(
                e.metadata().unwrap().uid(),
                NOBODY,
                "{}",
                e.path().display()
            );
        }
    }
}

#[test]
fn a_shm_name_planted_in_dev_shm_is_neither_used_nor_removed() {
    if !is_root() || !Path::new("/dev/shm").is_dir() {
        eprintln!("needs root and /dev/shm; nothing checked");
        return;
    }
    // The names the harness would use without a private tmpfs directory, planted first.
    let exec = Executor::new().unwrap();
    let planted: Vec<PathBuf> = (0..8)
        .map(|n| PathBuf::from(format!("/dev/shm/mmapconf-{}-{n}", std::process::id())))
        .collect();
    for p in &planted {
        std::fs::write(p, "theirs").unwrap();
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let shm = case(SHM_CASE);
    for _ in 0..8 {
        assert_passes(&run_case(&shm, host(), &exec));
    }
    for p in &planted {
        assert_eq!(
            std::fs::read_to_string(p).unwrap(),
            "theirs",
            "{}",
            p.display()
        );
        std::fs::remove_file(p).unwrap();
    }
}

/// Lists every entry under `dir` with its mode and owner, not following symlinks.
fn entries(dir: &Path, out: &mut Vec<(PathBuf, u32, u32)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        out.push((e.path(), m.mode(), m.uid()));
        if m.is_dir() {
            entries(&e.path(), out);
        }
    }
}

#[test]
fn nothing_the_harness_creates_is_world_writable() {
    let exec = Executor::new().unwrap();
    // Slow enough (a 1 GiB read, stopped at the timeout) that the work entries can be seen.
    let slow = r#"
timeout = 0.3
call = { fn = "mmap", len = "1073741824", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
expect = { result = "ok" }
[[case.step]]
read = "result"
len = "1073741824"
"#;
    let objects = [
        r#"object = { kind = "file", size = "1p", open = "O_RDWR" }"#,
        r#"object = { kind = "file", size = "1p", open = "O_RDWR", fs = "tmpfs" }"#,
        r#"object = { kind = "dir" }"#,
        "privilege = \"unprivileged\"\nobject = { kind = \"file\", size = \"1p\", open = \"O_RDWR\" }",
    ];
    let mut seen = Vec::new();
    for o in objects {
        let c = case(&format!("{o}\n{slow}"));
        std::thread::scope(|s| {
            s.spawn(|| run_case(&c, host(), &exec));
            std::thread::sleep(std::time::Duration::from_millis(150));
            for d in exec.work_dirs() {
                let m = std::fs::symlink_metadata(&d).unwrap();
                seen.push((d.clone(), m.mode(), m.uid()));
                entries(&d, &mut seen);
            }
        });
    }
    let names: Vec<String> = seen
        .iter()
        .map(|(p, _, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "lock",
        "case-0.dat",
        "case-1.dat",
        "case-2.dir",
        "case-3.dat",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not seen in {names:?}"
        );
    }
    for (p, mode, uid) in &seen {
        assert_eq!(
            mode & 0o002,
            0,
            "{} is world-writable ({mode:o})",
            p.display()
        );
        assert_eq!(
            mode & 0o020,
            0,
            "{} is group-writable ({mode:o})",
            p.display()
        );
        let unprivileged = p.ends_with("case-3.dat");
        let me = nix::unistd::geteuid().as_raw();
        if is_root() {
            assert_eq!(
                *uid,
                if unprivileged { NOBODY } else { me },
                "{}",
                p.display()
            );
        }
    }
    // And the outputs.
    let out = tempfile::tempdir().unwrap();
    let host = host();
    let json = mmapconf::report::write_results(out.path(), host, &[]).unwrap();
    let m = std::fs::metadata(json).unwrap();
    assert_eq!(m.mode() & 0o022, 0, "results.json mode {:o}", m.mode());
}

#[test]
fn an_unprivileged_case_reaches_the_file_given_to_it() {
    if !is_root() {
        eprintln!("not root: the case does not drop privilege; nothing checked");
        return;
    }
    let exec = Executor::new().unwrap();
    let c = case(&format!("privilege = \"unprivileged\"\n{FILE_CASE}"));
    assert_passes(&run_case(&c, host(), &exec));
}
