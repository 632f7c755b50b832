//! The cross-kernel matrix: several runs' `results.json` side by side, one row per case,
//! one column per run, rows where the runs disagree first. Reads reports only; it knows
//! nothing of how cases ran.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One run, as read from its results.json.
pub struct Run {
    /// Column heading: the report directory's name.
    pub name: String,
    /// What the host said it was (title line).
    pub what: String,
    /// case id -> (verdict, observed in short)
    pub cells: BTreeMap<String, (String, String)>,
}

pub fn read_run(dir: &Path) -> Result<Run, String> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let host = &doc["host"];
    let mut what = format!(
        "{} {} ({}, {}-byte pages)",
        host["os_name"].as_str().unwrap_or("?"),
        host["release"].as_str().unwrap_or("?"),
        host["arch"].as_str().unwrap_or("?"),
        host["page_size"]
    );
    if let Some(u) = host["under"].as_str().filter(|u| !u.is_empty()) {
        what.push_str(&format!(", under {u}"));
    }
    let cases = doc["cases"]
        .as_array()
        .ok_or_else(|| format!("{}: no cases array", path.display()))?;
    let mut cells = BTreeMap::new();
    for c in cases {
        let id = c["id"].as_str().unwrap_or("?").to_string();
        let verdict = c["verdict"].as_str().unwrap_or("?").to_string();
        cells.insert(id, (verdict, short_observation(c)));
    }
    Ok(Run {
        name: dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        what,
        cells,
    })
}

/// The call's outcome, and the first step that did not pass, without run-specific addresses.
fn short_observation(c: &Value) -> String {
    let observed = c["observed"].as_str().unwrap_or("");
    let mut s = observed.split(" (0x").next().unwrap_or("").to_string();
    if let Some(step) = c["steps"]
        .as_array()
        .and_then(|st| st.iter().find(|s| s["verdict"] != "pass"))
    {
        s.push_str(&format!(
            "; step {}: {}",
            step["step"],
            step["observed"].as_str().unwrap_or("")
        ));
    }
    s
}

fn mark(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "pass",
        "known-deviation" => "deviation",
        "fail" => "**FAIL**",
        "not-applicable" => "n/a",
        _ => "?",
    }
}

/// The matrix as Markdown.
pub fn render(runs: &[Run]) -> String {
    let mut ids: Vec<&String> = runs.iter().flat_map(|r| r.cells.keys()).collect();
    ids.sort();
    ids.dedup();
    let outcome = |r: &Run, id: &str| {
        r.cells
            .get(id)
            .cloned()
            .unwrap_or_else(|| ("absent".into(), String::new()))
    };
    let differs = |id: &str| {
        let first = outcome(&runs[0], id);
        runs.iter().any(|r| outcome(r, id) != first)
    };
    let mut s = String::from("# mmapconf across kernels\n\n");
    for r in runs {
        s.push_str(&format!("- `{}`: {}\n", r.name, r.what));
    }
    let header = |s: &mut String| {
        s.push_str("\n| case |");
        for r in runs {
            s.push_str(&format!(" `{}` |", r.name));
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(runs.len()));
        s.push('\n');
    };
    let row = |s: &mut String, id: &str| {
        s.push_str(&format!("| `{id}` |"));
        for r in runs {
            let (v, o) = outcome(r, id);
            let o = o.replace('|', "\\|");
            s.push_str(&format!(
                " {} {} |",
                mark(&v),
                if o.is_empty() {
                    String::new()
                } else {
                    format!("<br>{o}")
                }
            ));
        }
        s.push('\n');
    };
    let (diff, same): (Vec<&String>, Vec<&String>) = ids.iter().partition(|id| differs(id));
    s.push_str(&format!(
        "\n## Where the runs differ ({} of {} cases)\n\nA cell is the verdict, then what was observed (the call's outcome, and the first step that did not pass).\n",
        diff.len(),
        ids.len()
    ));
    header(&mut s);
    for id in &diff {
        row(&mut s, id);
    }
    s.push_str(&format!(
        "\n## The same everywhere ({} cases)\n",
        same.len()
    ));
    header(&mut s);
    for id in &same {
        row(&mut s, id);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, verdict: &str, observed: &str) -> Run {
        let mut cells = BTreeMap::new();
        cells.insert("a.b.c".into(), (verdict.into(), observed.into()));
        cells.insert("a.b.same".into(), ("pass".into(), "ok".into()));
        Run {
            name: name.into(),
            what: name.into(),
            cells,
        }
    }

    #[test]
    fn disagreements_come_first_and_agreements_after() {
        let text = render(&[run("k1", "pass", "EINVAL"), run("k2", "fail", "ok")]);
        let diff = text
            .find("## Where the runs differ (1 of 2 cases)")
            .unwrap();
        let same = text.find("## The same everywhere (1 cases)").unwrap();
        let row = text
            .find("| `a.b.c` | pass <br>EINVAL | **FAIL** <br>ok |")
            .unwrap();
        assert!(diff < row && row < same, "{text}");
    }

    #[test]
    fn observations_drop_addresses_so_runs_compare() {
        let c: Value = serde_json::json!({
            "observed": "ok (0x7f00)",
            "steps": [{"step": 2, "verdict": "fail", "observed": "SIGSEGV SEGV_MAPERR at +0x0"}]
        });
        assert_eq!(
            short_observation(&c),
            "ok; step 2: SIGSEGV SEGV_MAPERR at +0x0"
        );
    }
}
