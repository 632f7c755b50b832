//! The report as Markdown: the same sections as the HTML page, for terminals, pull
//! requests and CI summaries.

use super::compact;
use super::merge::{Mark, Merged};
use std::fmt::Write;

const LEGEND: &str = "✓ conforms: the clause's outcome was observed · \
○ not exhibited here: the case passed without showing this clause · ✗ deviates from the clause, nothing recorded (FAIL) · \
≠ deviates, a deviation with evidence is recorded · ◆ differs from the other kernels · \
– not applicable · `·` another OS's clause, shown for comparison · ! not run: the harness could not run the case (BROKEN)";

/// A clause's words, or an observation, in a row of section (a): its first hundred
/// characters. The whole quote is in section (b) where a kernel contradicts it, the whole
/// observation in section (c) where runs differ, both in the HTML report; page-long cells
/// would make the matrix's Markdown unreadable.
fn shortened(text: &str) -> String {
    const MOST: usize = 100;
    match text.char_indices().nth(MOST) {
        None => text.to_string(),
        Some((cut, _)) => {
            let head = &text[..cut];
            let head = head.rfind(' ').map_or(head, |sp| &head[..sp]);
            format!("{head} …")
        }
    }
}

/// ` [C][N]` after a red cell whose case has a reproducer beside the report: a reference
/// link, defined once at the end of the page ([`repro_definitions`]), so that a case red
/// in many cells costs a few bytes each.
fn repro_link(m: &Merged, case: &str) -> String {
    repro_ref(m, case).map_or(String::new(), |r| format!(" [C]{r}"))
}

/// `[N]`, the reference label of `case`'s reproducer.
fn repro_ref(m: &Merged, case: &str) -> Option<String> {
    m.reproducers
        .keys()
        .position(|k| k == case)
        .map(|n| format!("[{n}]"))
}

/// The reference definitions of [`repro_link`].
fn repro_definitions(m: &Merged, s: &mut String) {
    if m.reproducers.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nC, and ✗ in (a): the case's standalone C reproducer, beside this report as `repro/<case-id>.c`.\n"
    );
    // Only the labels the page uses: a folded page shows a column's first rows of (b),
    // and each column's own page links all of its reproducers.
    let used: std::collections::BTreeSet<usize> = s
        .split("[C][")
        .skip(1)
        .filter_map(|rest| rest.split(']').next()?.parse().ok())
        .collect();
    for (n, href) in m.reproducers.values().enumerate() {
        if used.contains(&n) {
            let _ = writeln!(s, "[{n}]: {href}");
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// One page section of (a) on a folded (matrix) page: a table of the clauses some column
/// reads differently, each with its marks counted per column (the cases behind the counts
/// are in (b) and (c), and on each column's own page); then one line naming the clauses
/// alike in every column.
fn folded_section(m: &Merged, section: &str, ids: &[String], s: &mut String) {
    let _ = writeln!(s, "#### {section}\n");
    let (alike, differ): (Vec<&String>, Vec<&String>) =
        ids.iter().partition(|id| compact::clause_alike(m, id));
    if !differ.is_empty() {
        // Columns by number (named once, above): a matrix has dozens of these tables.
        let _ = write!(s, "| clause |");
        for i in 1..=m.runs.len() {
            let _ = write!(s, " {i} |");
        }
        let _ = writeln!(s, "\n|---|{}", "---|".repeat(m.runs.len()));
    }
    for id in differ {
        // The clause's words are on each column's own page and in the HTML report.
        let _ = write!(s, "| `{id}` |");
        for i in 0..m.runs.len() {
            let _ = write!(s, " {} |", compact::clause_counts(m, i, id));
        }
        s.push('\n');
    }
    if !alike.is_empty() {
        let names: Vec<String> = alike
            .iter()
            .map(|id| format!("`{id}` {}", compact::clause_counts(m, 0, id)))
            .collect();
        let _ = writeln!(s, "\nAlike in every column: {}.", names.join(", "));
    }
    s.push('\n');
}

/// The most rows a column's block of (b) shows on a folded (matrix) page.
pub const MATRIX_B_ROWS: usize = 4;

/// The most never-observed clauses a column's list in (d) shows on a folded page.
pub const MATRIX_D_ROWS: usize = 2;

/// The most disagreements between reproducers and harness the page lists (merged.json
/// has them all).
pub const REPRO_ROWS: usize = 6;

/// Per run with a repro.json: how many of its C reproducers agree with the harness, and
/// the disagreements, each with both observations.
fn repro_section(m: &Merged, s: &mut String) {
    if m.repro_runs.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n**C reproducers against the harness** (each run's reproducers, built statically and run on the same runtime: `repro.json` beside its results):\n"
    );
    let _ = writeln!(s, "| run | agree | differ | broken | not compared |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for r in &m.repro_runs {
        match &r.error {
            Some(e) => {
                let _ = writeln!(s, "| `{}` | not compared: {} | | | |", r.run, esc(e));
            }
            None => {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {} |",
                    r.run, r.agree, r.differ, r.broken, r.not_compared
                );
            }
        }
    }
    let rows: Vec<_> = m
        .repro_runs
        .iter()
        .flat_map(|r| r.disagreements.iter().map(move |c| (&r.run, c)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n| run | case | harness | reproducer |");
    let _ = writeln!(s, "|---|---|---|---|");
    for (run, c) in rows.iter().take(REPRO_ROWS) {
        let (h, r) = repro_sides(&c.verdict);
        let _ = writeln!(s, "| `{run}` | `{}` | {} | {} |", c.id, esc(&h), esc(&r));
    }
    if rows.len() > REPRO_ROWS {
        let _ = writeln!(
            s,
            "\n{} more in merged.json (`repro_runs`).",
            rows.len() - REPRO_ROWS
        );
    }
}

/// The two sides of a disagreement, as text: the observations (without the case id,
/// which the row names), or why the reproducer gave none.
pub fn repro_sides(v: &crate::repro::compare::Verdict) -> (String, String) {
    use crate::repro::compare::Verdict;
    let bare = |o: &serde_json::Value| {
        let mut o = o.clone();
        if let Some(m) = o.as_object_mut() {
            m.remove("case");
        }
        format!("`{o}`")
    };
    match v {
        Verdict::Differ { harness, repro } => (bare(harness), bare(repro)),
        Verdict::Broken { why } => ("".into(), format!("BROKEN: {why}")),
        Verdict::Agree | Verdict::NotApplicable { .. } => (String::new(), String::new()),
    }
}

pub fn render(m: &Merged) -> String {
    let folds = compact::folds(m);
    let mut s = String::new();
    let _ = writeln!(s, "# mmapconf: kernels against their man pages\n");
    let _ = writeln!(
        s,
        "| run | kernel | conforms | deviates (known) | FAIL | n/a | BROKEN |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for (i, r) in m.runs.iter().enumerate() {
        let [p, k, f, n, b] = m.tally(i);
        let _ = writeln!(
            s,
            "| `{}` | {} | {p} | {k} | {f} | {n} | {b} |",
            r.name,
            esc(&r.label())
        );
    }
    // Harness trouble first: until it is fixed, those cases say nothing about a kernel.
    for r in &m.runs {
        let broken: Vec<_> = r.cases.iter().filter(|c| c.is_broken()).collect();
        if broken.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "
**`{}`: {} case(s) BROKEN: the harness could not run them; no kernel verdict.**
",
            r.name,
            broken.len()
        );
        let _ = writeln!(s, "| case | harness trouble |");
        let _ = writeln!(s, "|---|---|");
        for c in broken {
            let _ = writeln!(s, "| `{}` | {} |", c.id, esc(&c.trouble()));
        }
    }
    repro_section(m, &mut s);
    let _ = writeln!(
        s,
        "\n{} clause contradictions, {} cases differ between kernels, {} checks against historical pages.\n\nMarks: {LEGEND}\n",
        m.contradictions.len(),
        m.differences.len(),
        m.historical.len()
    );

    super::grid::md_runs(m, &mut s);

    let _ = writeln!(s, "## (b) Kernel against man page\n");
    if m.pages_read.is_empty() {
        let _ = writeln!(
            s,
            "No man page was given: clauses are shown by the registry's summaries.\n"
        );
    } else {
        let _ = writeln!(
            s,
            "Clause texts quoted from: {}.\n",
            m.pages_read.join("; ")
        );
    }
    // A clause's words and a case's evidence are quoted where first met, then referred to;
    // a row an earlier column showed alike is named in one line under the table.
    let mut shown: std::collections::BTreeMap<(&str, &str, &str, &str), String> =
        std::collections::BTreeMap::new();
    for (name, label, all_rows) in super::grid::blocks_with_first_mentions(m) {
        let total = all_rows.len();
        let mut again = Vec::new();
        let mut rows = Vec::new();
        for row in all_rows {
            let c = row.0;
            let key = (
                c.clause.as_str(),
                c.case.as_str(),
                c.observed.as_str(),
                c.mark.label(),
            );
            match shown.get(&key) {
                Some(first) => again.push((
                    format!("`{}` × `{}` (as `{first}`)", c.clause, c.case),
                    first.clone(),
                )),
                None => {
                    shown.insert(key, name.clone());
                    rows.push(row);
                }
            }
        }
        let _ = writeln!(s, "### `{}`: {} contradictions\n\n{}\n", name, total, label);
        if !again.is_empty() && folds {
            // Which ones: this column's own page.
            let mut by_column: std::collections::BTreeMap<&str, usize> = Default::default();
            for (_, first) in &again {
                *by_column.entry(first.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = by_column
                .iter()
                .map(|(first, n)| format!("{n} as `{first}` shows"))
                .collect();
            let _ = writeln!(
                s,
                "Contradicted exactly as an earlier column shows: {} (listed on this column's own page).\n",
                counts.join("; ")
            );
        } else if !again.is_empty() {
            let pairs: Vec<&str> = again.iter().map(|(pair, _)| pair.as_str()).collect();
            let _ = writeln!(
                s,
                "Contradicted exactly as an earlier column shows: {}.\n",
                pairs.join("; ")
            );
        }
        if rows.is_empty() {
            continue;
        }
        // A folded page lists a column's first rows; all of them are on its own page.
        let hidden = if folds {
            rows.len().saturating_sub(MATRIX_B_ROWS)
        } else {
            0
        };
        rows.truncate(rows.len() - hidden);
        if folds {
            // The clause's words head its row in (a) and its column's own page.
            let _ = writeln!(s, "| clause | case | expected | observed | evidence |");
            let _ = writeln!(s, "|---|---|---|---|---|");
        } else {
            let _ = writeln!(
                s,
                "| clause | the page says | case | expected | observed | evidence |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|");
        }
        for (c, first_quote, first_evidence) in rows {
            let (mark, link) = if c.mark == Mark::Fail {
                ("✗ FAIL", repro_link(m, &c.case))
            } else {
                ("≠ known", String::new())
            };
            let said = if !first_quote {
                "*(quoted above)*".to_string()
            } else if c.text_from_page && folds {
                esc(&shortened(&c.clause_text))
            } else if c.text_from_page {
                esc(&c.clause_text)
            } else {
                format!("*(registry summary)* {}", esc(&c.clause_text))
            };
            let evidence = if !first_evidence && !folds {
                "*(as above)*".to_string()
            } else if !first_evidence {
                // Its first mention may be past an earlier column's first rows.
                esc(&compact::first_sentence(&c.evidence, 60))
            } else if folds {
                // In full on the column's detail page.
                esc(&compact::first_sentence(&c.evidence, 120))
            } else {
                esc(&c.evidence)
            };
            let (expected, observed) = if folds {
                (shortened(&c.expected), shortened(&c.observed))
            } else {
                (c.expected.clone(), c.observed.clone())
            };
            let said = if folds {
                String::new()
            } else {
                format!(" {said} |")
            };
            let _ = writeln!(
                s,
                "| `{}` |{said} `{}` | {} | {mark}: {}{link} | {} |",
                c.clause,
                c.case,
                esc(&expected),
                esc(&observed),
                evidence
            );
        }
        if hidden > 0 {
            let detail = m
                .runs
                .iter()
                .find(|r| r.name == name)
                .map(compact::detail_file);
            let _ = writeln!(
                s,
                "\n… and {hidden} more, on {}.",
                match detail {
                    Some(f) => format!("[this column's own page]({f})"),
                    None => "each member column's own page".into(),
                }
            );
        }
        s.push('\n');
    }

    if !m.historical.is_empty() {
        let _ = writeln!(s, "## (b) Kernel against historical pages\n");
        let _ = writeln!(
            s,
            "| run | old clause | it promised | case | observed | holds today |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        // Runs that agree on a row share it: dozens of columns read most old clauses alike.
        let all = super::grid::historical_rows(m);
        let mut rows: Vec<(&super::merge::HistoricalCheck, Vec<&str>)> = Vec::new();
        for h in &all {
            match rows.iter_mut().find(|(r, _)| {
                (&r.clause, &r.case, &r.observed, r.holds)
                    == (&h.clause, &h.case, &h.observed, h.holds)
            }) {
                Some((_, runs)) => runs.push(&h.run),
                None => rows.push((h, vec![&h.run])),
            }
        }
        let mut quoted = std::collections::BTreeSet::new();
        for (h, runs) in &rows {
            // An old clause's words once, where it is first met.
            let summary = if quoted.insert(h.clause.as_str()) {
                esc(&h.summary)
            } else {
                "″".to_string()
            };
            let who = match runs.as_slice() {
                [one] => format!("`{one}`"),
                many => format!("{} columns", many.len()),
            };
            let _ = writeln!(
                s,
                "| {who} | `{}` {} | {} | `{}` | {} | {} |",
                h.clause,
                summary,
                h.predicts,
                h.case,
                esc(&h.observed),
                if h.holds { "yes" } else { "**no**" }
            );
        }
        s.push('\n');
    }

    if m.runs.len() > 1 {
        let _ = writeln!(
            s,
            "## (c) Kernel against kernel: {} cases differ\n",
            m.differences.len()
        );
        // Every column is one or more runs (a report of one run has no (c)): a cell is a
        // mark and its outcome's letter; the row names each outcome once.
        let _ = writeln!(
            s,
            "A cell is a letter, after its verdict's mark when it did not pass (✗ FAIL, \
             ≠ known deviation); the row's last cell says what each letter observed (long observations cut; in full on each column's own \
             page). The columns: {}.\n",
            m.runs
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{} `{}`", i + 1, r.name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = write!(s, "| case |");
        for i in 0..m.runs.len() {
            let _ = write!(s, " {} |", i + 1);
        }
        let _ = writeln!(s, " observed |\n|---|{}---|", "---|".repeat(m.runs.len()));
        for d in &m.differences {
            let v = compact::variants(d);
            let _ = write!(s, "| `{}` |", d.case);
            for cell in &v.cells {
                match cell {
                    // A red cell's reproducer is linked from its row in (b).
                    Some(("pass", letter)) => {
                        let _ = write!(s, " {letter} |");
                    }
                    Some((verdict, letter)) => {
                        let _ = write!(s, " {}{letter} |", compact::verdict_mark(verdict));
                    }
                    None => s.push_str(" n/a |"),
                }
            }
            let said: Vec<String> = v
                .outcomes
                .iter()
                .map(|(l, out)| format!("{l}: {}", esc(&compact::first_sentence(out, 44))))
                .collect();
            let _ = writeln!(s, " {} |", said.join(" · "));
        }
        s.push('\n');
    }

    super::grid::md_values(m, &mut s);

    let _ = writeln!(s, "## (a) Clause by clause\n");
    if folds {
        let _ = writeln!(
            s,
            "A clause's row counts each column's marks over the cases citing it (`✓3 ○1`: three \
             cases showed the clause, one passed without showing it). The cases behind the counts \
             are in (c), where kernels differ on them, and (b), where a clause is \
             contradicted; every case of a column is on its own page. The tables number the \
             columns: {}.\n",
            m.runs
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{} [`{}`]({})", i + 1, r.name, compact::detail_file(r)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (key, sections) in &m.sections {
        let page = m.page(key);
        let _ = writeln!(
            s,
            "### {} {}({}){}\n\nRead from: {}\n",
            page.os,
            page.name,
            page.section,
            if page.historical {
                ", historical text"
            } else {
                ""
            },
            page.read_from
        );
        for (section, ids) in sections {
            if folds {
                folded_section(m, section, ids, &mut s);
                continue;
            }
            let _ = write!(s, "#### {section}\n\n| clause, case |");
            for r in &m.runs {
                let _ = write!(s, " `{}`<br>{} |", r.name, r.short_label());
            }
            let _ = writeln!(s, "\n|---|{}", "---|".repeat(m.runs.len()));
            for id in ids {
                let (text, _) = m.clause_text(id);
                let _ = writeln!(
                    s,
                    "| **`{id}`** {} |{}",
                    esc(&shortened(&text)),
                    " |".repeat(m.runs.len())
                );
                for case in &m.cases_of[id] {
                    let _ = write!(s, "| ↳ `{case}` |");
                    for i in 0..m.runs.len() {
                        match m.cell(i, case, id) {
                            Some(c) => {
                                // In full in section (c) where the runs differ.
                                // A red cell's mark links its reproducer: `[✗][N]`.
                                let mark = match repro_ref(m, case) {
                                    Some(r) if c.mark == Mark::Fail => {
                                        format!("[{}]{r}", c.symbol())
                                    }
                                    _ => c.symbol(),
                                };
                                let _ = write!(s, " {mark} {} |", esc(&shortened(&c.outcome)));
                            }
                            None => s.push_str(" absent |"),
                        }
                    }
                    s.push('\n');
                }
            }
            s.push('\n');
        }
    }

    let _ = writeln!(
        s,
        "## (d) Coverage: clauses without a case, and clauses never observed\n"
    );
    for c in &m.coverage {
        let _ = writeln!(
            s,
            "- **{}**: {} of {} clauses have a case{}",
            c.page,
            c.covered,
            c.clauses,
            if c.uncovered.is_empty() {
                String::new()
            } else {
                format!(
                    "; none for {}",
                    c.uncovered
                        .iter()
                        .map(|u| format!("`{u}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    // On a folded page a clause no column exhibits, for the same reason, is listed once.
    let common = if folds {
        compact::never_observed_everywhere(m)
    } else {
        Default::default()
    };
    if !common.is_empty() {
        let _ = writeln!(
            s,
            "\n### Never observed on any column: {} cited clauses no case showed holding anywhere\n",
            common.len()
        );
        for (clause, why) in &common {
            let _ = writeln!(s, "- `{clause}`: {}", esc(why));
        }
    }
    for r in &m.runs {
        let never: Vec<_> = m
            .unobserved
            .iter()
            .filter(|u| u.run == r.name)
            .filter(|u| !common.contains(&(u.clause.as_str(), u.why.as_str())))
            .collect();
        let _ = writeln!(
            s,
            "\n### Never observed on `{}`: {} cited clauses no case showed holding here{}\n",
            r.name,
            never.len(),
            if common.is_empty() {
                String::new()
            } else {
                format!(" (besides the {} of every column)", common.len())
            }
        );
        let hidden = if folds {
            never.len().saturating_sub(MATRIX_D_ROWS)
        } else {
            0
        };
        for u in &never[..never.len() - hidden] {
            let _ = writeln!(s, "- `{}`: {}", u.clause, esc(&u.why));
        }
        if hidden > 0 {
            let _ = writeln!(
                s,
                "- … and {hidden} more, on [this column's own page]({}).",
                compact::detail_file(r)
            );
        }
    }
    repro_definitions(m, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{registry, run, two_kernels};
    use super::*;

    #[test]
    fn a_long_clause_is_cut_at_a_word_and_marked_but_a_short_one_is_kept() {
        let long = "word ".repeat(100);
        let cut = shortened(&long);
        assert!(cut.ends_with(" …") && cut.chars().count() <= 102, "{cut}");
        assert_eq!(shortened("Fails with EINVAL."), "Fails with EINVAL.");
    }

    #[test]
    fn broken_cases_have_their_own_column_and_list_with_the_trouble() {
        use super::super::merge::{Merged, TroubleRow, tests::case, tests::run};
        let reg = registry();
        let mut c = case(
            "mmap.len0",
            &["linux.mmap.errors.EINVAL.2"],
            "broken",
            "not run",
        );
        c.broken = Some(TroubleRow {
            call: "pwrite".into(),
            errno: Some("ENOSPC".into()),
            reason: "setup failed: pwrite for the case's object gave ENOSPC".into(),
        });
        let m = Merged::new(vec![run("k", "linux", vec![c])], &reg, Default::default());
        let text = render(&m);
        assert!(text.contains("| FAIL | n/a | BROKEN |"), "{text}");
        assert!(text.contains("| 0 | 0 | 0 | 0 | 1 |"), "{text}");
        assert!(
            text.contains(
                "| `mmap.len0` | setup failed: pwrite for the case's object gave ENOSPC |"
            ),
            "{text}"
        );
        assert!(text.contains("0 clause contradictions"), "{text}");
        let html = super::super::html::render(&m);
        assert!(html.contains("1 BROKEN (harness trouble"), "{html}");
    }

    #[test]
    fn each_run_with_a_repro_file_gets_its_tally_and_its_disagreements() {
        use crate::repro::compare::{ReproFile, ReproRun};
        use serde_json::json;
        let reg = registry();
        let obs = |errno: &str, verdict: &str| {
            json!({"case": "mmap.len0", "end": "exited 0", "setup": "ok",
                   "call": {"state": "errno", "errno": errno}, "steps": [], "verdict": verdict})
        };
        let mut c = super::super::merge::tests::case("mmap.len0", &[], "pass", "EINVAL");
        c.normal_observation = Some(obs("EINVAL", "pass"));
        let mut a = run("gvisor-a", "linux", vec![c.clone()]);
        let mut b = run("gvisor-b", "linux", vec![c]);
        let file = |o| ReproFile {
            tool: "mmapconf".into(),
            version: "0".into(),
            via: String::new(),
            reproducers: vec![ReproRun {
                case: "mmap.len0".into(),
                exit: Some(if o == "EINVAL" { 0 } else { 1 }),
                observation: Some(obs(o, if o == "EINVAL" { "pass" } else { "fail" })),
                error: None,
                elapsed_us: 0,
            }],
        };
        a.repro = Some(Ok(file("EINVAL")));
        b.repro = Some(Ok(file("ENOMEM")));
        let plain = run("linux", "linux", Vec::new());
        let m = Merged::new(vec![a, b, plain], &reg, Default::default());
        // The two gVisor runs observe alike and share a column; each keeps its own row.
        let g = super::super::group::grouped(&m);
        let text = render(&g);
        assert!(text.contains("| `gvisor-a` | 1 | 0 | 0 | 0 |"), "{text}");
        assert!(text.contains("| `gvisor-b` | 0 | 1 | 0 | 0 |"), "{text}");
        assert!(!text.contains("| `linux` | 0 | 0 | 0 | 0 |"), "{text}");
        assert!(
            text.contains(
                r#"| `gvisor-b` | `mmap.len0` | `{"call":{"errno":"EINVAL","state":"errno"}"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""errno":"ENOMEM""#), "{text}");
        let html = super::super::html::render(&g);
        assert!(html.contains("C reproducers against the harness"), "{html}");
        assert!(html.contains("ENOMEM"), "{html}");
    }

    #[test]
    fn every_section_is_there_and_cells_name_their_case_and_outcome() {
        let reg = registry();
        let text = render(&two_kernels(&reg));
        for heading in [
            "## (a) Clause by clause",
            "## (b) Kernel against man page",
            "## (c) Kernel against kernel: 1 cases differ",
            "## (d) Coverage",
            // mmap.tenth fails alike on both: shown once, for every column.
            "### `every column`: 1 contradictions",
            "### `linux-b`: 2 contradictions",
        ] {
            assert!(text.contains(heading), "{heading} missing:\n{text}");
        }
        // (a) counts per clause; the case's cells are in (c).
        assert!(!text.contains("| ↳ `mmap.len0`"), "{text}");
        // A cell is a letter (marked where it did not pass); the row names each outcome.
        assert!(
            text.contains("| `mmap.len0` | A | ✗B | A: EINVAL · B: ok |"),
            "{text}"
        );
        assert!(
            text.contains("none for `linux.mmap.errors.ENOMEM.1`, `linux.mmap.notes.1`"),
            "{text}"
        );
        assert!(
            // Failed alike in both columns: listed once, for every column.
            text.contains("### Never observed on any column: 1 cited clauses")
                && text.contains("- `linux.mmap.errors.EINVAL.10`: 1 deviates (FAIL)")
                && text.contains("### Never observed on `linux-a`: 0 cited clauses")
                && text.contains("### Never observed on `linux-b`: 2 cited clauses"),
            "{text}"
        );
    }
}
