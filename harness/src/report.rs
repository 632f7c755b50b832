//! Reports: `results.json` (everything, for tools and the cross-kernel matrix) and
//! `summary.md` (for people) from judged results. Knows nothing of how cases ran.

use crate::host::Host;
use crate::judge::{CaseResult, Verdict};
use crate::suite::totals;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct Results<'a> {
    tool: &'static str,
    version: &'static str,
    /// When the run ended, seconds since the Unix epoch.
    finished_at: u64,
    host: &'a Host,
    totals: Vec<(Verdict, usize)>,
    cases: &'a [CaseResult],
}

/// Writes both files into `dir` (created if needed) and returns their paths.
pub fn write(
    dir: &Path,
    host: &Host,
    results: &[CaseResult],
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let json_path = dir.join("results.json");
    let doc = Results {
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
    std::fs::write(&json_path, json + "\n")?;
    let md_path = dir.join("summary.md");
    std::fs::write(&md_path, summary(host, results))?;
    Ok((json_path, md_path))
}

/// The one-line tally printed after a run and at the top of summary.md.
pub fn tally(results: &[CaseResult]) -> String {
    totals(results)
        .iter()
        .map(|(v, n)| format!("{n} {}", v.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn summary(host: &Host, results: &[CaseResult]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# mmapconf on {} {} ({})",
        host.os_name, host.release, host.arch
    ));
    if !host.under.is_empty() {
        s.push_str(&format!(", under {}", host.under));
    }
    s.push_str("\n\n");
    s.push_str(&format!(
        "Page size {} bytes; uid {} (euid {}).",
        host.page_size, host.uid, host.euid
    ));
    if !host.capabilities.is_empty() {
        s.push_str(&format!(" Capabilities: {}.", host.capabilities.join(", ")));
    }
    if !host.tunables.is_empty() {
        s.push_str(&format!(" Tunables: {}.", host.tunables.join(", ")));
    }
    s.push_str(&format!(
        "\n\n**{}** of {} cases.\n",
        tally(results),
        results.len()
    ));
    let unverified = results
        .iter()
        .filter(|r| r.unverified && r.verdict != Verdict::NotApplicable)
        .count();
    if unverified > 0 {
        s.push_str(&format!(
            "\n{unverified} results judge expectations no earlier run confirmed (marked *unverified*).\n"
        ));
    }
    for (verdict, heading) in [
        (Verdict::Fail, "Failures"),
        (Verdict::KnownDeviation, "Known deviations"),
    ] {
        let rows: Vec<&CaseResult> = results.iter().filter(|r| r.verdict == verdict).collect();
        if rows.is_empty() {
            continue;
        }
        s.push_str(&format!("\n## {heading}\n\n"));
        for r in rows {
            s.push_str(&format!("```\n{}```\n\n", r.explain()));
        }
    }
    s.push_str("\n## All cases\n\n| case | verdict | clauses | call | expected | observed |\n|---|---|---|---|---|---|\n");
    for r in results {
        let mark = if r.unverified { " (unverified)" } else { "" };
        let observed = if r.verdict == Verdict::NotApplicable {
            &r.message
        } else {
            &r.observed
        };
        s.push_str(&format!(
            "| `{}` | {}{mark} | {} | `{}` | {} | {} |\n",
            r.id,
            r.verdict.label(),
            r.clauses.join(" "),
            r.call,
            cell(&r.expected),
            cell(observed)
        ));
    }
    s
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_title_says_what_the_suite_ran_under() {
        let mut host = Host::detect();
        assert!(
            !summary(&host, &[])
                .lines()
                .next()
                .unwrap()
                .contains("under")
        );
        host.under = "gVisor runsc 1".into();
        let title = summary(&host, &[]).lines().next().unwrap().to_string();
        assert!(title.ends_with(", under gVisor runsc 1"), "{title}");
    }
}
