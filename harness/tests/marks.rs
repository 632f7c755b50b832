//! The committed reports hold no vacuous ✓: every `reports/**/results.json` is merged
//! again with today's registry, and each cell marked "conforms" is checked, from the raw
//! rows and independently of the merger's own rule, to rest on something the kernel did.

use mmapconf::registry::{Clause, Promise};
use mmapconf::report::merge::{CaseRow, Mark, Merged, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn results_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            results_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "results.json") {
            out.push(path);
        }
    }
}

/// What the row says happened, as (expected, observed, passed) per part: the call first,
/// then each step. The call passed unless the case failed or a deviation sits on it.
fn parts(c: &CaseRow) -> Vec<(String, String, bool)> {
    let call_passed = (c.verdict == "pass" || c.verdict == "known-deviation")
        && c.deviations.iter().all(|d| d.step.is_some());
    let mut v = vec![(c.expected.clone(), c.observed.clone(), call_passed)];
    for s in &c.steps {
        v.push((s.expected.clone(), s.observed.clone(), s.verdict == "pass"));
    }
    v
}

/// Why a ✓ of `clause` for `case` would be vacuous, if it is.
fn vacuous(case: &CaseRow, clause: &Clause) -> Option<String> {
    let parts = parts(case);
    if !parts[0].2 {
        return Some(format!(
            "the call did not come out as expected ({} -> {})",
            case.expected, case.observed
        ));
    }
    let Some(p) = &clause.promises else {
        return None;
    };
    let want: Vec<String> = match p {
        Promise::Errno(e) => vec![e.clone()],
        Promise::Signal { signal, code } => std::iter::once(signal.clone())
            .chain(code.clone())
            .collect(),
    };
    let shown = parts.iter().any(|(expected, observed, passed)| {
        let words: Vec<&str> = observed.split_whitespace().take(want.len()).collect();
        *passed && words == want && expected.contains(want[0].as_str())
    });
    (!shown).then(|| {
        format!(
            "{p} was not observed in a passing part: {}",
            parts
                .iter()
                .map(|(e, o, _)| format!("{e} -> {o}"))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

#[test]
fn no_conforming_mark_in_the_committed_reports_is_vacuous() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
    let mut files = Vec::new();
    results_files(&root, &mut files);
    assert!(
        !files.is_empty(),
        "no results.json under {}",
        root.display()
    );
    let suite = mmapconf::embedded::suite().unwrap_or_else(|e| panic!("{e:?}"));
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in &files {
        let run = Run::read(file).unwrap_or_else(|e| panic!("{e}"));
        let merged = Merged::new(vec![run], &suite.registry, BTreeMap::new());
        for case in &merged.runs[0].cases {
            for id in &case.clauses {
                let (Some(cell), Some(clause)) =
                    (merged.cell(0, &case.id, id), suite.registry.clauses.get(id))
                else {
                    continue;
                };
                if cell.mark != Mark::Conforms {
                    continue;
                }
                checked += 1;
                if let Some(why) = vacuous(case, clause) {
                    problems.push(format!("{}: {} ✓ {id}: {why}", file.display(), case.id));
                }
            }
        }
    }
    assert!(checked > 0, "no conforming mark was checked");
    assert!(problems.is_empty(), "vacuous ✓:\n{}", problems.join("\n"));
}

#[test]
fn an_errno_the_kernel_never_returns_shows_up_as_never_observed_on_its_own() {
    // The committed run of this machine's kernel: Linux answers ENODEV, never EACCES, for
    // a directory, a pipe, a socket and /dev/null, so the "non-regular file" EACCES of its
    // page is never seen there, although the enodev cases cite it and pass.
    // Whatever release the committed host run is named after (machines get new kernels).
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
    let file = std::fs::read_dir(&reports)
        .unwrap_or_else(|e| panic!("{}: {e}", reports.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|d| {
            let name = d
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            name.starts_with("linux-") && name.ends_with("-x86_64")
        })
        .expect("a committed run of a Linux x86_64 host under reports/")
        .join("results.json");
    let Ok(mut run) = Run::read(&file) else {
        panic!("{} is missing", file.display());
    };
    let suite = mmapconf::embedded::suite().unwrap_or_else(|e| panic!("{e:?}"));
    // The observations as committed, held against today's citations (a case may have
    // stopped citing a clause it cannot tell from another since that run).
    for row in &mut run.cases {
        if let Some(c) = suite.cases.iter().find(|c| c.id == row.id) {
            row.clauses = c.clauses.clone();
        }
    }
    let merged = Merged::new(vec![run], &suite.registry, BTreeMap::new());
    let never: Vec<&str> = merged
        .unobserved
        .iter()
        .map(|u| u.clause.as_str())
        .collect();
    assert!(never.contains(&"linux.mmap.errors.EACCES.1"), "{never:?}");
    assert!(!never.contains(&"linux.mmap.errors.ENODEV.1"), "{never:?}");
}
