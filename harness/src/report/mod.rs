//! Reports. A run's `results.json` (everything, for tools and for merging), and the
//! report made from one or more of them: a self-contained HTML page, its Markdown twin,
//! JUnit XML and the merged JSON. Knows nothing of how cases ran: it reads results.

pub mod compact;
pub mod features;
pub mod grid;
pub mod group;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod schema;
pub mod tap;

use crate::atomic::Batch;
use crate::host::Host;
use crate::judge::{CaseResult, Verdict};
use crate::suite::totals;
use merge::Merged;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct Results<'a> {
    /// The shape of this file (merge::SCHEMA_VERSION); files without it are version 1.
    schema_version: u32,
    tool: &'static str,
    version: &'static str,
    /// When the run ended, seconds since the Unix epoch.
    finished_at: u64,
    host: &'a Host,
    totals: Vec<(Verdict, usize)>,
    cases: &'a [CaseResult],
}

/// The text of a run's `results.json`.
pub fn results_json(host: &Host, results: &[CaseResult]) -> std::io::Result<String> {
    let doc = Results {
        schema_version: merge::SCHEMA_VERSION,
        tool: "mmapconf",
        version: env!("CARGO_PKG_VERSION"),
        finished_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        host,
        totals: totals(results),
        cases: results,
    };
    let json = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    Ok(json + "\n")
}

/// Writes `dir/results.json` (creating `dir`) all-or-nothing and returns its path.
pub fn write_results(dir: &Path, host: &Host, results: &[CaseResult]) -> std::io::Result<PathBuf> {
    let mut batch = Batch::new(dir)?;
    batch.add("results.json", results_json(host, results)?.as_bytes())?;
    Ok(batch.commit()?.remove(0))
}

/// The report's files, as written into its directory.
pub const REPORT_FILES: [&str; 4] = ["report.html", "report.md", "junit.xml", "merged.json"];

/// Renders the report's four files and adds them to `batch`.
pub fn add_report(batch: &mut Batch, merged: &Merged) -> std::io::Result<()> {
    let junit = junit::render(merged).map_err(std::io::Error::other)?;
    let json = serde_json::to_string_pretty(merged).map_err(std::io::Error::other)?;
    // The pages show one column per group of identical runs; JUnit and JSON every run.
    let grouped = group::grouped(merged);
    let texts = [
        html::render(&grouped),
        markdown::render(&grouped),
        junit,
        json + "\n",
    ];
    for (name, text) in REPORT_FILES.iter().zip(texts) {
        batch.add(name, text.as_bytes())?;
    }
    // The matrix page folds what reads alike in every column: each column's own full
    // report goes beside it, one click away (compact.rs).
    batch.claim_subdir("columns")?;
    if compact::folds(&grouped) {
        for column in &grouped.runs {
            let mut detail = Merged::new(
                vec![column.clone()],
                merged.registry,
                merged.page_texts.clone(),
            );
            detail.pages_read = merged.pages_read.clone();
            detail.reproducers = merged
                .reproducers
                .iter()
                .map(|(case, href)| (case.clone(), format!("../{href}")))
                .collect();
            let page = markdown::render(&detail);
            batch.add(&compact::detail_file(column), page.as_bytes())?;
        }
    }
    Ok(())
}

/// Writes the report's four files into `dir` (created if needed) together, all-or-nothing
/// (see [`crate::atomic`]); returns their paths.
pub fn write_report(dir: &Path, merged: &Merged) -> std::io::Result<Vec<PathBuf>> {
    let mut batch = Batch::new(dir)?;
    add_report(&mut batch, merged)?;
    batch.commit()
}

/// The one-line tally printed after a run.
pub fn tally(results: &[CaseResult]) -> String {
    totals(results)
        .iter()
        .map(|(v, n)| format!("{n} {}", v.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::merge::tests::{registry, two_kernels};
    use super::*;

    #[test]
    fn a_report_directory_holds_all_four_files() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let paths = write_report(dir.path(), &two_kernels(&reg)).unwrap();
        // The four files, and each column's own page beside the folded matrix.
        assert_eq!(paths.len(), 6);
        for column in ["columns/linux-a.md", "columns/linux-b.md"] {
            let page = std::fs::read_to_string(dir.path().join(column)).unwrap();
            assert!(page.contains("## (a) Clause by clause"), "{column}");
        }
        for p in paths {
            assert!(
                std::fs::metadata(&p).unwrap().len() > 100,
                "{}",
                p.display()
            );
        }
        let merged: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("merged.json")).unwrap())
                .unwrap();
        assert_eq!(merged["runs"].as_array().unwrap().len(), 2);
        assert_eq!(merged["differences"][0]["case"], "mmap.len0");
    }
}
