//! Bad case files get a located error: never a crash, a hang or a silent wrong value.
//! Each test feeds the loader (or the build's scan of cases/) one kind of bad input.

use mmapconf::load::{LoadError, Suite, load_dir, parse_file};
use mmapconf::registry::Registry;
use rstest::rstest;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The build script itself, so its scan of cases/ is tested on hostile trees.
#[allow(dead_code)]
#[path = "../build.rs"]
mod build;

const REGISTRY: &str = "[page]\nos = \"linux\"\nname = \"mmap\"\nsection = \"2\"\nread_from = \"t\"\n[clause]\n\"posix.mmap.19\" = { section = \"DESCRIPTION\", summary = \"x\" }\n";

fn one_case(id: usize, call: &str) -> String {
    format!(
        "[[case]]\nid = \"mmap.gen.case-{id}\"\ntitle = \"t\"\nclauses = [\"posix.mmap.19\"]\ncall = {{ fn = \"mmap\", {call}, prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }}\nexpect = {{ result = \"ok\" }}\n"
    )
}

/// A cases directory with the registry and `files` (name, bytes).
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("clauses")).unwrap();
    std::fs::write(dir.path().join("clauses/posix.toml"), REGISTRY).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// Loads `dir` on another thread, failing the test if that takes more than 20 s (a hang).
fn load_within_time(dir: &Path) -> Result<Suite, Vec<LoadError>> {
    let (tx, rx) = mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(load_dir(&dir));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("loading the cases directory hung")
}

fn registry() -> Registry {
    Registry::of_ids(&["posix.mmap.19"])
}

#[test]
fn a_fifo_named_toml_is_an_error_not_a_hang() {
    let dir = tree(&[]);
    nix::unistd::mkfifo(&dir.path().join("pipe.toml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let errs = load_within_time(dir.path()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].file.ends_with("pipe.toml"), "{errs:?}");
    assert!(errs[0].to_string().contains("is a FIFO"), "{}", errs[0]);
}

#[test]
fn a_dangling_symlink_named_toml_is_an_error() {
    let dir = tree(&[]);
    std::os::unix::fs::symlink("/nonexistent/x.toml", dir.path().join("gone.toml")).unwrap();
    let errs = load_within_time(dir.path()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].file.ends_with("gone.toml"), "{errs:?}");
    assert!(errs[0].msg.contains("symbolic link"), "{errs:?}");
}

#[test]
fn a_symlink_to_a_real_case_file_is_not_followed() {
    let good = one_case(0, "len = \"1p\"");
    let dir = tree(&[("real.toml", good.as_bytes())]);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("x.toml"), one_case(1, "len = \"1p\"")).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("x.toml"),
        dir.path().join("link.toml"),
    )
    .unwrap();
    let errs = load_within_time(dir.path()).unwrap_err();
    assert!(errs[0].file.ends_with("link.toml"), "{errs:?}");
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_at_its_first_bad_byte() {
    let mut bytes = one_case(0, "len = \"1p\"").into_bytes();
    // Line 2 is `id = "mmap.gen.case-0"`: spoil the `g` of `gen`, column 12.
    let at = bytes.iter().position(|&b| b == b'g').unwrap();
    bytes[at] = 0xff;
    let dir = tree(&[("bad.toml", &bytes)]);
    let errs = load_within_time(dir.path()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!((e.line, e.col), (2, 12), "{e}");
    assert!(e.msg.contains(&format!("byte offset {at}")), "{e}");
    assert!(
        e.to_string().contains("bad.toml:2:12: invalid UTF-8"),
        "{e}"
    );
}

#[test]
fn the_build_scan_refuses_fifos_dangling_links_and_opens_nothing() {
    let dir = tree(&[("good.toml", b"# x\n"), ("bad-utf8.toml", b"\xff\n")]);
    nix::unistd::mkfifo(&dir.path().join("pipe.toml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::os::unix::fs::symlink("/nonexistent", dir.path().join("gone.toml")).unwrap();
    let scan = build::scan(dir.path());
    let files: Vec<&str> = scan.files.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(files, ["bad-utf8.toml", "clauses/posix.toml", "good.toml"]);
    let refused: Vec<&str> = scan.refused.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(refused, ["gone.toml", "pipe.toml"]);
    let src = build::generate(&scan);
    assert!(src.contains("include_bytes!"), "{src}");
    assert!(
        src.contains("\"pipe.toml\", \"is not a regular file"),
        "{src}"
    );
}

/// The text of a case whose mmap call has `arg` (e.g. `len = "..."`), and the column of
/// the opening quote of its value on line 5.
fn with_call_arg(arg: &str) -> (String, usize) {
    let text = one_case(0, &format!("len = \"1p\", {arg}"));
    let line5 = text.lines().nth(4).unwrap();
    let value = arg.split_once('=').unwrap().0.trim();
    let col = line5.find(&format!("{value} = ")).unwrap() + value.len() + 4;
    (text.replacen("len = \"1p\", len", "len", 1), col)
}

#[rstest]
#[case::division_by_zero("offset = \"1/(p-p)\"", "division by zero")]
#[case::division_by_zero_with_4k_pages_only("offset = \"1/(p-4*1024)\"", "with 4 KiB pages")]
#[case::division_by_zero_with_64k_pages_only("offset = \"1/(p-64*1024)\"", "with 64 KiB pages")]
#[case::overflow("offset = \"max*max*4\"", "overflow")]
#[case::min_divided_by_minus_one(
    "offset = \"(-170141183460469231731687303715884105727-1)/(-1)\"",
    "overflow"
)]
#[case::off_t_range("offset = \"max+1\"", "does not fit off_t")]
#[case::size_t_range("len = \"max+1\"", "does not fit size_t")]
#[case::size_t_range_below("len = \"-max\"", "does not fit size_t")]
#[case::address_offset("addr = \"null+max*2\"", "does not fit an address offset")]
#[case::deep_brackets(&format!("len = \"{}1{}\"", "(".repeat(20_000), ")".repeat(20_000)), "bytes long")]
#[case::minus_signs(&format!("len = \"{}1\"", "-".repeat(1_000_000)), "bytes long")]
#[case::long_sum(&format!("len = \"{}\"", vec!["1"; 30_000].join("+")), "bytes long")]
fn bad_values_are_errors_at_the_expression(#[case] arg: &str, #[case] want: &str) {
    let (text, col) = with_call_arg(arg);
    let errs = parse_file(Path::new("v.toml"), &text, &registry()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!((e.line, e.col), (5, col), "{e}");
    assert!(e.msg.contains(want), "{e}");
}

#[rstest]
#[case("nan")]
#[case("inf")]
#[case("-inf")]
#[case("0.0")]
#[case("-1.0")]
#[case("1e-300")]
#[case("601.0")]
fn timeouts_that_are_not_positive_finite_seconds_are_errors(#[case] t: &str) {
    let text = one_case(0, "len = \"1p\"").replacen("title", &format!("timeout = {t}\ntitle"), 1);
    let errs = parse_file(Path::new("t.toml"), &text, &registry()).unwrap_err();
    assert_eq!((errs[0].line, errs[0].col), (3, 11), "{errs:?}");
    assert!(errs[0].msg.contains("timeout"), "{errs:?}");
}

#[test]
fn deeply_nested_toml_is_an_error_not_a_stack_overflow() {
    let text = format!(
        "{}x = {}1{}\n",
        one_case(0, "len = \"1p\""),
        "[".repeat(30_000),
        "]".repeat(30_000)
    );
    let errs = parse_file(Path::new("n.toml"), &text, &registry()).unwrap_err();
    assert!(errs[0].line >= 1, "{errs:?}");
}

/// Loads a file of `n` cases, returning the best of three times (the machine may be busy).
fn time_to_load(n: usize) -> Duration {
    let text: String = (0..n).map(|i| one_case(i, "len = \"1p\"")).collect();
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let cases = parse_file(Path::new("big.toml"), &text, &registry()).unwrap();
            assert_eq!(cases.len(), n);
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Ten times the cases must take about ten times as long, not a hundred: a quadratic step
/// (locating each case by scanning the text from its start) made 20 000 cases take 15 s.
#[test]
fn loading_time_grows_linearly_with_the_number_of_cases() {
    let small = time_to_load(1_000);
    let large = time_to_load(10_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    assert!(
        ratio < 30.0,
        "1 000 cases: {small:?}, 10 000 cases: {large:?}, ratio {ratio:.1}"
    );
}

/// Runs `mmapconf --cases DIR check`; returns the exit code and stderr.
fn check(dir: &Path) -> (Option<i32>, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mmapconf"))
        .arg("--cases")
        .arg(dir)
        .arg("check")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn check_reports_a_division_by_zero_at_one_page_size_at_file_line_col() {
    // Divides by zero only where the page is 16 KiB.
    let text = one_case(0, "len = \"1p\", offset = \"p/(p-16*1024)\"");
    let dir = tree(&[("z.toml", text.as_bytes())]);
    let (code, stderr) = check(dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    let at = format!(
        "{}:5:44: offset `p/(p-16*1024)`: division by zero (with 16 KiB pages on ",
        dir.path().join("z.toml").display()
    );
    assert!(stderr.contains(&at), "{stderr}");
}

#[test]
fn check_plans_every_case_and_reports_what_only_the_whole_case_shows() {
    // Within off_t, but larger than any object the harness creates.
    let text = one_case(0, "len = \"1p\"").replacen(
        "call",
        "object = { kind = \"file\", size = \"1p*1024*1024\" }\ncall",
        1,
    );
    let dir = tree(&[("o.toml", text.as_bytes())]);
    let (code, stderr) = check(dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    let at = format!(
        "{}:1:1: mmap.gen.case-0: object size",
        dir.path().join("o.toml").display()
    );
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stderr.contains("exceeds"), "{stderr}");
}

/// Format v2's gates, setup calls and steps: each mistake is located at its line.
#[rstest]
#[case::unknown_arch("arch = [\"vax\"]\n", "unknown architecture `vax`")]
#[case::bad_kernel("kernel = { linux = \"~6\" }\n", "kernel.linux: release comparison")]
#[case::mdwe_as_call_step(
    "[[case.step]]\ncall = { fn = \"mdwe\", flags = \"PR_MDWE_REFUSE_EXEC_GAIN\" }\n",
    "is a setup call"
)]
#[case::mmap_in_setup(
    "setup = [{ fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }]\n",
    "is not a setup call"
)]
#[case::vector_entry(
    "[[case.step]]\nmincore = \"null\"\nlen = \"1p\"\nvector = [2]\n",
    "vector entry 2"
)]
#[case::vma_checks_nothing(
    "[[case.step]]\nvma = \"null+1p\"\n",
    "a vma step checks `start`, `end` or `perms`"
)]
#[case::vma_bad_perms(
    "[[case.step]]\nvma = \"null+1p\"\nperms = \"rw-\"\n",
    "bad perms `rw-`"
)]
#[case::vma_perms_letters(
    "[[case.step]]\nvma = \"null+1p\"\nperms = \"wr-p\"\n",
    "bad perms `wr-p`"
)]
#[case::vma_errno_outcome(
    "[[case.step]]\nvma = \"null+1p\"\nperms = \"rw-p\"\nexpect = { errno = \"ENOMEM\" }\n",
    "a vma step's outcome is"
)]
#[case::vma_bad_start(
    "[[case.step]]\nvma = \"null+1p\"\nstart = \"banana+1p\"\n",
    "unknown address base `banana`"
)]
#[case::start_on_another_step(
    "[[case.step]]\nread = \"null+1p\"\nstart = \"null\"\n",
    "this step takes no `start`"
)]
#[case::vector_missing("[[case.step]]\nmincore = \"null\"\nlen = \"1p\"\n", "needs `vector")]
#[case::deviation_release(
    "[[case.deviation]]\nos = \"linux\"\nrelease = \"6.17\"\nobserved = { errno = \"ENOMEM\" }\nwhy = \"w\"\nevidence = \"e\"\n",
    "release: release comparison `6.17`"
)]
#[case::buffer_without_fd(
    "[[case.step]]\nwrite_from = \"null\"\nlen = \"1p\"\n",
    "needs `fd = \"object\"` or `fd = \"pipe\"`"
)]
#[case::buffer_bad_fd(
    "[[case.step]]\nread_into = \"null\"\nfd = \"socket\"\n",
    "bad fd `socket` for a buffer step"
)]
#[case::buffer_object_without_object(
    "[[case.step]]\nwrite_from = \"null\"\nfd = \"object\"\n",
    "needs an object"
)]
#[case::buffer_offset_on_write(
    "[[case.step]]\nwrite_from = \"null\"\nfd = \"pipe\"\noffset = \"0\"\n",
    "has no file offset; use `pwrite_from`"
)]
#[case::buffer_pwrite_to_a_pipe(
    "[[case.step]]\npwrite_from = \"null\"\nfd = \"pipe\"\n",
    "takes a file offset"
)]
#[case::buffer_byte_on_write(
    "[[case.step]]\nwrite_from = \"null\"\nfd = \"pipe\"\nbyte = \"0x01\"\n",
    "this step takes no `byte`"
)]
#[case::buffer_bad_count(
    "[[case.step]]\nwrite_from = \"null\"\nfd = \"pipe\"\ncount = \"1/0\"\n",
    "division by zero"
)]
#[case::exec_with_len(
    "[[case.step]]\nexec = \"null\"\nlen = \"1p\"\n",
    "this step takes no `len`"
)]
#[case::write_ret_with_byte(
    "[[case.step]]\nwrite_ret = \"null\"\nbyte = \"0xc3\"\n",
    "this step takes no `byte`"
)]
#[case::exec_and_write_ret_in_one_step(
    "[[case.step]]\nexec = \"null\"\nwrite_ret = \"null\"\n",
    "exactly one action"
)]
#[case::exec_bad_address("[[case.step]]\nexec = \"nowhere+1p\"\n", "nowhere")]
#[case::second_on_a_memfd(
    "object = { kind = \"memfd\", size = \"1p\", second = \"O_RDONLY\" }\n",
    "`second` applies only to file, dev-zero, dev-null and dev-random objects"
)]
#[case::open_on_a_pipe(
    "object = { kind = \"pipe-read\", open = \"O_RDONLY\" }\n",
    "`open` applies only to file, dev-zero, dev-null and dev-random objects"
)]
#[case::second_with_two_modes(
    "object = { kind = \"dev-zero\", second = \"O_RDONLY|O_RDWR\" }\n",
    "second needs exactly one of O_RDONLY"
)]
#[case::fs_on_dev_zero(
    "object = { kind = \"dev-zero\", fs = \"tmpfs\" }\n",
    "`fs` applies only to file objects"
)]
#[case::second_fd_without_second(
    "object = { kind = \"file\", size = \"1p\" }\nmapping = [{ name = \"m\", len = \"1p\", fd = \"second\" }]\n",
    "fd = \"second\" needs a second descriptor"
)]
#[case::bad_fd_word(
    "mapping = [{ name = \"m\", len = \"1p\", fd = \"third\" }]\n",
    "bad fd `third`: expected an integer, \"object\" or \"second\""
)]
#[case::observe_false(
    "[[case.step]]\nread = \"null\"\nexpect = { observe = false }\n",
    "observe = true marks"
)]
#[case::mincore_vec_bad_address(
    "[[case.step]]\ncall = { fn = \"mincore\", addr = \"null\", len = \"1p\", vec = \"nowhere\" }\n",
    "nowhere"
)]
#[case::vec_on_munmap(
    "[[case.step]]\ncall = { fn = \"munmap\", addr = \"null\", len = \"1p\", vec = \"hole\" }\n",
    "munmap takes no `vec`"
)]
#[case::mincore_vec_not_a_string(
    "[[case.step]]\ncall = { fn = \"mincore\", addr = \"null\", len = \"1p\", vec = 3 }\n",
    "invalid type: integer `3`, expected a string"
)]
#[case::process_madvise_bad_pidfd(
    "[[case.step]]\ncall = { fn = \"process_madvise\", pidfd = \"parent\", iov = [], advice = \"MADV_COLD\" }\n",
    "bad pidfd `parent`"
)]
#[case::process_madvise_without_iov(
    "[[case.step]]\ncall = { fn = \"process_madvise\", advice = \"MADV_COLD\" }\n",
    "process_madvise needs `iov`"
)]
#[case::process_madvise_vlen_past_the_array(
    "[[case.step]]\ncall = { fn = \"process_madvise\", iov = [{ addr = \"null\", len = \"0\" }], vlen = 2, advice = \"MADV_COLD\" }\n",
    "would read past them"
)]
#[case::process_madvise_flag_name(
    "[[case.step]]\ncall = { fn = \"process_madvise\", iov = [], advice = \"MADV_COLD\", flags = \"MAP_SHARED\" }\n",
    "defines no flag names"
)]
#[case::process_madvise_iov_unknown_key(
    "[[case.step]]\ncall = { fn = \"process_madvise\", iov = [{ addr = \"null\", size = \"0\" }], advice = \"MADV_COLD\" }\n",
    "size"
)]
#[case::process_madvise_too_many_iov(
    "[[case.step]]\ncall = { fn = \"process_madvise\", iov = [{ addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }, { addr = \"null\", len = \"0\" }], advice = \"MADV_COLD\" }\n",
    "at most 8 iov entries"
)]
#[case::process_madvise_in_a_step(
    "[[case.step]]\ncall = { fn = \"process_madvise\", iov = [], advice = \"MADV_COLD\" }\n",
    "process_madvise may only be the case's call"
)]
#[case::process_madvise_in_setup(
    "setup = [{ fn = \"process_madvise\", iov = [], advice = \"MADV_COLD\" }]\n",
    "process_madvise may only be the case's call"
)]
#[case::process_madvise_takes_no_addr(
    "[[case.step]]\ncall = { fn = \"process_madvise\", addr = \"null\", iov = [], advice = \"MADV_COLD\" }\n",
    "process_madvise takes no `addr`"
)]
#[case::bad_fs(
    "object = { kind = \"file\", size = \"1p\", fs = \"nfs\" }\n",
    "bad fs `nfs`: expected disk, storage, tmpfs or noexec"
)]
#[case::bad_attr(
    "object = { kind = \"file\", size = \"1p\", attr = \"immutable\" }\n",
    "bad attr `immutable`"
)]
#[case::attr_on_memfd(
    "object = { kind = \"memfd\", size = \"1p\", attr = \"append-only\" }\n",
    "`attr` applies only to file objects"
)]
#[case::append_only_written_without_o_append(
    "object = { kind = \"file\", size = \"1p\", attr = \"append-only\" }\n",
    "opens for writing only with O_APPEND"
)]
#[case::append_only_second_without_o_append(
    "object = { kind = \"file\", size = \"1p\", open = \"O_RDONLY\", second = \"O_WRONLY\", attr = \"append-only\" }\n",
    "add |O_APPEND to `second`"
)]
#[case::append_only_on_noexec(
    "object = { kind = \"file\", size = \"1p\", open = \"O_RDONLY\", fs = \"noexec\", attr = \"append-only\" }\n",
    "cannot be combined with fs = \"noexec\""
)]
fn format_v2_mistakes_are_located(#[case] extra: &str, #[case] msg: &str) {
    // Top-level keys go before the call table; steps after everything.
    let base = one_case(1, "len = \"1p\"");
    let text = if extra.starts_with("[[") {
        format!("{base}{extra}")
    } else {
        base.replacen("call = ", &format!("{extra}call = "), 1)
    };
    let errs = parse_file(Path::new("v2.toml"), &text, &registry()).unwrap_err();
    assert!(
        errs.iter().any(|e| e.msg.contains(msg) && e.line >= 2),
        "{msg}: {errs:?}"
    );
}
