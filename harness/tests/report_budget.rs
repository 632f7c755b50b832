//! The committed matrix (reports/matrix/runs/) rendered as the matrix job renders it, held
//! to the report's budget: identical runs share a column, report.md stays within 250 KB
//! and report.html within 1 MB. (Without man pages: the job quotes this system's pages,
//! which moves the sizes by a few per cent.)

use mmapconf::report::{group, html, markdown, merge};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn matrix() -> Vec<merge::Run> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/matrix/runs");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
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
    let m = merge::Merged::new(runs, &suite.registry, BTreeMap::new());
    let g = group::grouped(&m);
    assert!(g.runs.len() < n, "{n} runs gave {} columns", g.runs.len());
    let members: usize = g.runs.iter().map(|r| r.members.len().max(1)).sum();
    assert_eq!(members, n, "every run is in exactly one column");
    let md = markdown::render(&g).len();
    let page = html::render(&g).len();
    assert!(md <= 250_000, "report.md is {md} bytes");
    assert!(page <= 1_000_000, "report.html is {page} bytes");
}
