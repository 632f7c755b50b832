//! The committed matrix (reports/matrix/runs/) rendered as the matrix job renders it, held
//! to the report's budget: identical runs share a column, report.md stays within 250 KB
//! and report.html within 1 MB. (Without man pages: the job quotes this system's pages,
//! which moves the sizes by a few per cent.) Every red cell links its reproducer, as
//! `run` and `report` write them beside the report.

use mmapconf::report::{group, html, markdown, merge};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The matrix's runs: reports/matrix/runs, or the directory `MMAPCONF_MATRIX_RUNS` names
/// (a scratch copy of a new matrix, to check it against the budget before it is committed).
fn matrix_dir() -> PathBuf {
    match std::env::var_os("MMAPCONF_MATRIX_RUNS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/matrix/runs"),
    }
}

fn matrix() -> Vec<merge::Run> {
    let dir = matrix_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path().join("results.json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| merge::Run::read(p).unwrap()).collect()
}

#[test]
fn the_committed_matrix_renders_within_the_budget_with_runs_grouped() {
    let suite = mmapconf::embedded::suite().expect("the built-in cases load");
    let runs = matrix();
    let n = runs.len();
    let mut m = merge::Merged::new(runs, &suite.registry, BTreeMap::new());
    let red = m.red_cases();
    assert!(!red.is_empty(), "the committed matrix has failing cases");
    for (name, src) in mmapconf::repro::for_report(&red, &suite.cases, &suite.registry) {
        assert!(src.contains("int main"), "{name}");
        let id = name.trim_start_matches("repro/").trim_end_matches(".c");
        m.reproducers.insert(id.to_string(), name.clone());
    }
    assert_eq!(
        m.reproducers.len(),
        red.len(),
        "a reproducer per failing case"
    );
    let g = group::grouped(&m);
    assert!(g.runs.len() < n, "{n} runs gave {} columns", g.runs.len());
    let members: usize = g.runs.iter().map(|r| r.members.len().max(1)).sum();
    assert_eq!(members, n, "every run is in exactly one column");
    let md_text = markdown::render(&g);
    let page_text = html::render(&g);
    // The HTML links every reproducer; the Markdown defines each one it refers to (a
    // column's rows past the first of (b) link theirs from the column's own page).
    for href in m.reproducers.values() {
        assert!(page_text.contains(&format!("href=\"{href}\"")), "{href}");
    }
    for label in md_text.split("[C][").skip(1) {
        let n = label.split(']').next().unwrap();
        assert!(
            md_text.contains(&format!("\n[{n}]: repro/")),
            "[{n}] is not defined"
        );
    }
    // Every red (✗ FAIL) cell of section (b) links one.
    for line in md_text.lines().filter(|l| l.contains("| ✗ FAIL: ")) {
        assert!(line.contains(" [C]["), "{line}");
    }
    let (md, page) = (md_text.len(), page_text.len());
    assert!(md <= 250_000, "report.md is {md} bytes");
    assert!(page <= 1_000_000, "report.html is {page} bytes");
}

/// `mmapconf report` writes `repro/<case-id>.c` beside the pages for each failing case, in
/// the same all-or-nothing set; a later report with fewer failures leaves none stale.
#[test]
fn report_writes_the_reproducers_its_red_cells_link() {
    let runs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/matrix/runs");
    let gvisor = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("gvisor-")
        })
        .expect("a gVisor run in the committed matrix")
        .join("results.json");
    let linux = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            // The 64-bit host run (the 32-bit compat one beside it fails cases).
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("linux-") && name.ends_with("-x86_64")
        })
        .expect("a host run in the committed matrix")
        .join("results.json");
    let out = tempfile::tempdir().unwrap();
    let report = |input: &PathBuf| {
        let st = std::process::Command::new(env!("CARGO_BIN_EXE_mmapconf"))
            .arg("report")
            .arg(input)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    report(&gvisor);
    let failing = merge::Run::read(&gvisor)
        .unwrap()
        .cases
        .iter()
        .filter(|c| c.verdict == "fail")
        .count();
    let files: Vec<_> = std::fs::read_dir(out.path().join("repro"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), failing, "{files:?}");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for f in &files {
        assert!(f.ends_with(".c"));
        assert!(md.contains(&format!("]: repro/{f}\n")), "{f}");
    }
    // The host run fails nothing: no reproducer is left from the report before.
    report(&linux);
    assert_eq!(
        std::fs::read_dir(out.path().join("repro")).unwrap().count(),
        0
    );
}
