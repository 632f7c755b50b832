//! The C reproducers: every case generates one (or says why it does not apply here),
//! they build with the project's flags, and what they observe is what the harness
//! observes. The full differential check over every case is `mmapconf repro --check`
//! (run by .ci/run); these tests hold its parts.

use mmapconf::exec::Executor;
use mmapconf::host::Host;
use mmapconf::load::{self, parse_file};
use mmapconf::model::Case;
use mmapconf::plan::{self, CallPlan, Planned};
use mmapconf::registry::Registry;
use mmapconf::repro::check::{self, Options, Verdict};
use mmapconf::repro::{Generated, generate};
use std::path::Path;

fn suite() -> load::Suite {
    load::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases"))
        .unwrap_or_else(|e| panic!("the case files do not load: {e:?}"))
}

fn one_case(body: &str) -> (Case, Registry) {
    let reg = Registry::of_ids(&["posix.mmap.1"]);
    let text = format!(
        "[[case]]\nid = \"repro.test.case\"\ntitle = \"t\"\nclauses = [\"posix.mmap.1\"]\n{body}"
    );
    let case = parse_file(Path::new("t.toml"), &text, &reg)
        .unwrap()
        .remove(0);
    (case, reg)
}

fn source(case: &Case, reg: &Registry) -> String {
    match generate(case, reg, &Host::detect()).unwrap() {
        Generated::Ready(s) => s,
        Generated::NotApplicable(why) => panic!("not applicable: {why}"),
    }
}

/// Builds and runs one reproducer: (exit status, observation).
fn build_and_run(src: &str) -> (Option<i32>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let (c, bin) = (dir.path().join("r.c"), dir.path().join("r"));
    std::fs::write(&c, src).unwrap();
    check::compile(&opts, &c, &bin).unwrap();
    let ran = check::run_binary(&bin, std::time::Duration::from_secs(20)).unwrap();
    (ran.status, check::observation_of(&ran.stdout).unwrap())
}

fn options(dir: &Path) -> Options {
    Options {
        cc: "cc".into(),
        cflags: Vec::new(),
        jobs: 2,
        dir: dir.to_path_buf(),
        standalone: true,
    }
}

#[test]
fn every_case_generates_a_reproducer_or_says_why_it_does_not_apply() {
    let s = suite();
    let host = Host::detect();
    let mut ready = 0;
    for case in &s.cases {
        match generate(case, &s.registry, &host) {
            Ok(Generated::Ready(src)) => {
                ready += 1;
                assert!(src.contains(&format!("#define CASE_ID \"{}\"", case.id)));
                for id in &case.clauses {
                    let summary = &s.registry.clauses[id].summary;
                    assert!(src.contains(id), "{}: clause {id} missing", case.id);
                    let first = summary.split_whitespace().next().unwrap_or("");
                    assert!(src.contains(first), "{}: summary of {id} missing", case.id);
                }
                for d in &case.deviations {
                    let start: String = d.evidence.chars().take(30).collect();
                    assert!(
                        src.contains(&start),
                        "{}: deviation evidence missing",
                        case.id
                    );
                }
            }
            Ok(Generated::NotApplicable(why)) => assert!(!why.is_empty()),
            Err(e) => panic!("{}: {e}", case.id),
        }
    }
    assert!(ready > 0, "no case applies here");
}

#[test]
fn reproducers_take_the_page_size_from_the_running_system() {
    let s = suite();
    let host = Host::detect();
    let page = host.page_size.to_string();
    for case in &s.cases {
        if let Ok(Generated::Ready(src)) = generate(case, &s.registry, &host) {
            assert!(src.contains("sysconf(_SC_PAGESIZE)"));
            // The generating system's page size appears nowhere as a number, except as a
            // count of pages (`0x1000*P`: a case about page number 2^12).
            let literals = [page.clone(), format!("{:#x}", host.page_size)];
            let hits: Vec<usize> = literals
                .iter()
                .flat_map(|l| src.match_indices(l.as_str()).map(|(i, _)| (i, l.len())))
                .filter(|&(i, n)| {
                    let word = |c: char| c.is_ascii_alphanumeric();
                    let before = src[..i].chars().next_back().is_none_or(|c| !word(c));
                    let after = src[i + n..].chars().next().is_none_or(|c| !word(c));
                    before && after && !src[i + n..].starts_with("*P")
                })
                .map(|(i, _)| i)
                .collect();
            assert!(hits.is_empty(), "{}: page size literal in the C", case.id);
        }
    }
}

#[test]
fn sizes_offsets_and_addresses_become_c_expressions_over_p() {
    let (case, reg) = one_case(
        "mapping = [{ name = \"old\", len = \"4p\" }]\n\
         call = { fn = \"munmap\", addr = \"mapping.old+1p\", len = \"2p+1\" }\n\
         expect = { result = \"ok\" }",
    );
    let src = source(&case, &reg);
    assert!(src.contains("(void *)(uintptr_t)(map_old + 1*P)"), "{src}");
    assert!(src.contains("size_t len = 2*P+1;"), "{src}");
    assert!(src.contains("make_mapping(&map_old, NULL, 4*P,"), "{src}");
}

/// `max` in an off_t is INT64_MAX, a signed `long` in C: an offset written `max+…` that
/// the planner resolves to a value that fits off_t (`max+1-2p` = 2^63-2p) came out as
/// `INT64_MAX+1-2*P`, a signed overflow -Werror rejects (and undefined without it). Every
/// such form must build and pass exactly the offset the planner resolves, as the harness
/// does.
#[test]
fn an_offset_past_max_before_pages_come_off_is_the_planners_value() {
    let host = Host::detect();
    for offset in [
        "max+1-2p",
        "max+1p-1-2p",
        "max-(-1)-2p",
        "-(-max-1)-2p",
        "max",
    ] {
        let (case, reg) = one_case(&format!(
            "object = {{ kind = \"file\", size = \"1p\" }}\n\
             call = {{ fn = \"mmap\", len = \"1p\", prot = \"PROT_READ\", flags = \"MAP_SHARED\", offset = \"{offset}\" }}\n\
             expect = {{ observe = true }}"
        ));
        let Ok(Planned::Ready(plan)) = plan::plan(&case, &host) else {
            panic!("{offset}: the case does not plan here");
        };
        let CallPlan::Mmap { offset: want, .. } = plan.call else {
            panic!("{offset}: not an mmap plan");
        };
        let src = source(&case, &reg);
        assert!(
            !src.contains("(INT64_MAX"),
            "{offset}: a signed INT64_MAX sum:\n{src}"
        );
        let dir = tempfile::tempdir().unwrap();
        let (c, bin) = (dir.path().join("r.c"), dir.path().join("r"));
        std::fs::write(&c, &src).unwrap();
        check::compile(&options(dir.path()), &c, &bin).unwrap_or_else(|e| panic!("{offset}: {e}"));
        let ran = check::run_binary(&bin, std::time::Duration::from_secs(20)).unwrap();
        // The call's `args` line: the six values mmap was given; the last is the offset.
        let args = ran
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("call:"))
            .find_map(|l| l.trim().strip_prefix("args "))
            .unwrap_or_else(|| panic!("{offset}: no args line:\n{}", ran.stdout));
        let passed = args.split(", ").nth(5).unwrap();
        assert_eq!(
            passed,
            format!("{:#x}", want as u64),
            "{offset}: the C passed {passed}, the planner resolved {want:#x}"
        );
    }
}

#[test]
fn a_reproducer_whose_case_expects_the_wrong_outcome_exits_1() {
    // mmap of length 0 fails with EINVAL on both OSes; expecting ok must fail.
    let (case, reg) = one_case(
        "call = { fn = \"mmap\", len = \"0\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\
         expect = { result = \"ok\" }",
    );
    let (status, obs) = build_and_run(&source(&case, &reg));
    assert_eq!(status, Some(1), "{obs}");
    assert_eq!(obs["verdict"], "fail");
    assert_eq!(obs["call"]["errno"], "EINVAL");
}

#[rstest::rstest]
#[case::every_release_from_1(">=1", Some(0), "known deviation")]
#[case::a_range_holding_the_running_kernel(">=2.6, <999", Some(0), "known deviation")]
#[case::releases_before_1("<1", Some(1), "fail")]
#[case::releases_after_999(">999.0.1", Some(1), "fail")]
fn a_reproducer_takes_a_deviation_only_on_the_releases_it_is_recorded_for(
    #[case] release: &str,
    #[case] status: Option<i32>,
    #[case] verdict: &str,
) {
    // The kernel gives EINVAL; the case expects ok and records EINVAL as a deviation of
    // `release` only: the C judge reads the running kernel's release as the harness does.
    let (case, reg) = one_case(&format!(
        "call = {{ fn = \"mmap\", len = \"0\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }}\n\
         expect = {{ result = \"ok\" }}\n\
         [[case.deviation]]\nos = \"{os}\"\nrelease = \"{release}\"\nobserved = {{ errno = \"EINVAL\" }}\n\
         why = \"w\"\nevidence = \"e\"\n",
        os = mmapconf::names::Os::current().unwrap().key()
    ));
    let (got, obs) = build_and_run(&source(&case, &reg));
    assert_eq!(
        (got, obs["verdict"].as_str()),
        (status, Some(verdict)),
        "{obs}"
    );
}

#[test]
fn a_reproducer_whose_setup_fails_exits_2() {
    let (case, reg) = one_case(
        "mapping = [{ name = \"bad\", len = \"0\" }]\n\
         call = { fn = \"munmap\", addr = \"mapping.bad\", len = \"1p\" }\n\
         expect = { result = \"ok\" }",
    );
    let (status, obs) = build_and_run(&source(&case, &reg));
    assert_eq!(status, Some(2), "{obs}");
    assert_eq!(obs["setup"]["stage"], "mapping");
    assert_eq!(obs["setup"]["errno"], "EINVAL");
}

#[test]
fn a_reproducer_reports_a_fault_with_its_si_code_and_relative_address() {
    let (case, reg) = one_case(
        "call = { fn = \"mmap\", len = \"2p\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\
         expect = { result = \"ok\" }\n\
         [[case.step]]\nwrite = \"result+1p+3\"\nexpect = { fault = \"SIGSEGV SEGV_ACCERR\" }\n",
    );
    let (status, obs) = build_and_run(&source(&case, &reg));
    assert_eq!(status, Some(0), "{obs}");
    let step = &obs["steps"][0];
    assert_eq!(
        (&step["signal"], &step["code"], &step["at"]),
        (&"SIGSEGV".into(), &"SEGV_ACCERR".into(), &"+0x0".into()),
        "{obs}"
    );
}

/// One case of each hard part (fork steps, a file with read-back, faults, a deviation),
/// through the same comparison as `repro --check`.
#[test]
fn reproducers_observe_what_the_harness_observes() {
    let s = suite();
    let host = Host::detect();
    let picked: Vec<Case> = s
        .cases
        .iter()
        .filter(|c| {
            [
                "mmap.fork.shared-anonymous-child-write-is-seen-by-parent",
                "mmap.eof.",
                "mmap.locked.",
                "mmap.objects.",
            ]
            .iter()
            .any(|p| c.id.starts_with(p))
        })
        .cloned()
        .collect();
    assert!(picked.len() > 4, "the picked cases are gone");
    let exec = Executor::new().unwrap();
    // Each file alone, and the same cases compiled in bundles around one runtime.
    for standalone in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let summary = check::run(
            &picked,
            &s.registry,
            &host,
            &Options {
                standalone,
                ..options(dir.path())
            },
            &|p| exec.run(p),
            &|_| {},
        );
        assert!(summary.ok(), "standalone {standalone}: {}", summary.text());
        assert_eq!(
            summary.count(|v| matches!(v, Verdict::Agree)),
            summary.count(|v| !matches!(v, Verdict::NotApplicable { .. })),
            "standalone {standalone}: {}",
            summary.text()
        );
        assert!(
            summary.count(|v| matches!(v, Verdict::Agree)) > 0,
            "{}",
            summary.text()
        );
    }
}
