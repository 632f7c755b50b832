//! The grouped report's own sections, as HTML and Markdown: the runs behind each column
//! (one click away, in a `<details>`), and the per-runtime table by flag, prot and advice
//! value. Formats only: `group` and `features` work out what they show.

use super::features::{self, Standing};
use super::merge::{Contradiction, HistoricalCheck, Merged, Run};
use maud::{Markup, html};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

fn tally_text(m: &Merged, i: usize) -> String {
    let [p, k, f, n, b] = m.tally(i);
    format!("{p} conform, {k} known deviations, {f} FAIL, {n} n/a, {b} BROKEN")
}

fn members(r: &Run) -> Vec<(String, String)> {
    if r.members.is_empty() {
        vec![(r.name.clone(), r.label())]
    } else {
        r.members.clone()
    }
}

/// HTML: one row per column of the report, its members behind a click.
pub fn html_runs(m: &Merged) -> Markup {
    html! {
        h2 #runs { "Runs: " (m.runs.iter().map(|r| members(r).len()).sum::<usize>()) " runs behave " (m.runs.len()) " ways" }
        p.small { "Runs whose observations are identical case for case (verdict and outcome, addresses aside) share one column below; each column's runs are listed here." }
        table {
            colgroup { col style="width:28%"; col style="width:24%"; col style="width:48%"; }
            thead { tr { th { "column" } th { "tally" } th { "runs" } } }
            tbody {
                @for (i, r) in m.runs.iter().enumerate() {
                    @let ms = members(r);
                    tr {
                        td {
                            code { (r.name) }
                            @if super::compact::folds(m) {
                                div.small { a href=(super::compact::detail_file(r)) { "its full report" } }
                            }
                        }
                        td.small { (tally_text(m, i)) }
                        td.small {
                            @if ms.len() == 1 {
                                (ms[0].1)
                            } @else {
                                details {
                                    summary { (ms.len()) " runs" }
                                    ul { @for (name, label) in &ms { li { code { (name) } ": " (label) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn class_of(s: &Standing) -> &'static str {
    match s.word() {
        "conforms" => "ok",
        "partly" => "partly",
        "differs" => "fail",
        _ => "na",
    }
}

/// HTML: values as rows, columns as columns, each cell conforms / partly / differs with
/// the failing cases behind a click.
pub fn html_values(m: &Merged) -> Markup {
    let t = features::table(m);
    let n = m.runs.len();
    let rest = 78.0 / n.max(1) as f64;
    html! {
        h2 #values { "By flag, prot and advice value" }
        p.small { "For each value the call under test passes: does the column conform on every case that passes it (✓ conforms, with the number of cases), fail on some (◐ partly: failing/all) or on all (✗ differs)? A recorded deviation is what the kernel itself does and counts as conforming. Click a cell for the cases that fail." }
        table {
            colgroup { col style="width:22%"; @for _ in 0..n { col style=(format!("width:{rest:.2}%")); } }
            thead { tr { th { "value" } @for r in &m.runs { th { code { (r.name) } } } } }
            tbody {
                @for (v, row) in &t {
                    tr {
                        td { code { (v) } }
                        @for s in row {
                            td class=(class_of(s)) title=(s.word()) {
                                @if s.failed.is_empty() {
                                    @if s.ran.is_empty() { "n/a" } @else { "✓ " span.small { (s.ran.len()) } }
                                } @else {
                                    details {
                                        summary { (if s.word() == "partly" { "◐ " } else { "✗ " }) (s.failed.len()) "/" (s.ran.len()) }
                                        @for id in &s.failed { div.small { code { (id) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Markdown: the runs behind each column.
pub fn md_runs(m: &Merged, s: &mut String) {
    let total: usize = m.runs.iter().map(|r| members(r).len()).sum();
    let _ = writeln!(s, "## Runs: {total} runs behave {} ways\n", m.runs.len());
    let _ = writeln!(
        s,
        "Runs whose observations are identical case for case share one column below.\n"
    );
    for (i, r) in m.runs.iter().enumerate() {
        let detail = if super::compact::folds(m) {
            format!(" [its full report]({})", super::compact::detail_file(r))
        } else {
            String::new()
        };
        let _ = writeln!(s, "- **`{}`** ({}){detail}:", r.name, tally_text(m, i));
        for (name, label) in members(r) {
            let _ = writeln!(s, "  - `{name}`: {}", label.replace('\n', " "));
        }
    }
    s.push('\n');
}

/// Markdown: the table by value; a cell names the failing cases.
pub fn md_values(m: &Merged, s: &mut String) {
    let _ = writeln!(s, "## By flag, prot and advice value\n");
    let _ = writeln!(
        s,
        "conforms: every case passing the value conforms (a recorded deviation counts); partly: some fail; differs: all fail. {}\n",
        if super::compact::folds(m) {
            "Failing cases are counted here and named on each column's own page."
        } else {
            "Failing cases are named."
        }
    );
    let _ = write!(s, "| value |");
    for r in &m.runs {
        let _ = write!(s, " `{}` |", r.name);
    }
    let _ = writeln!(s, "\n|---|{}", "---|".repeat(m.runs.len()));
    for (v, row) in features::table(m) {
        let _ = write!(s, "| `{v}` |");
        for st in row {
            if st.failed.is_empty() {
                let _ = write!(s, " {} |", st.word());
            } else {
                // A folded page counts them; the column's own page names them.
                let ids: Vec<String> = if super::compact::folds(m) {
                    vec![]
                } else {
                    st.failed.iter().map(|id| format!("`{id}`")).collect()
                };
                let named = if ids.is_empty() {
                    String::new()
                } else {
                    format!(": {}", ids.join(", "))
                };
                let _ = write!(
                    s,
                    " **{} {}/{}**{named} |",
                    st.word(),
                    st.failed.len(),
                    st.ran.len(),
                );
            }
        }
        s.push('\n');
    }
    s.push('\n');
}

/// One block of section (b): a heading name, a line under it, and its rows.
pub type Block<'a> = (String, String, Vec<&'a Contradiction>);

/// Section (b)'s blocks: with more than one column, first the contradictions every
/// column shows alike (same clause, case, observation and mark; rows of the first
/// column), then each column's own; with one, that column's.
pub fn contradiction_blocks<'a>(m: &'a Merged) -> Vec<Block<'a>> {
    let key = |c: &Contradiction| {
        (
            c.clause.clone(),
            c.case.clone(),
            c.observed.clone(),
            c.mark.label(),
        )
    };
    let of = |r: &Run| -> Vec<&'a Contradiction> {
        m.contradictions
            .iter()
            .filter(|c| c.run == r.name)
            .collect()
    };
    let mut common: BTreeSet<_> = BTreeSet::new();
    if m.runs.len() > 1 {
        common = of(&m.runs[0]).into_iter().map(key).collect();
        for r in &m.runs[1..] {
            let mine: BTreeSet<_> = of(r).into_iter().map(key).collect();
            common.retain(|k| mine.contains(k));
        }
    }
    let mut out = Vec::new();
    if !common.is_empty() {
        out.push((
            "every column".to_string(),
            format!("Contradicted alike by all {} columns.", m.runs.len()),
            of(&m.runs[0])
                .into_iter()
                .filter(|c| common.contains(&key(c)))
                .collect(),
        ));
    }
    for r in &m.runs {
        let own: Vec<_> = of(r)
            .into_iter()
            .filter(|c| !common.contains(&key(c)))
            .collect();
        let label = if common.is_empty() {
            r.label()
        } else {
            format!("{} (besides those of every column)", r.label())
        };
        out.push((r.name.clone(), label, own));
    }
    out
}

/// A row of section (b) and whether it is the first to quote its clause's words and the
/// first to give its case's evidence (later rows refer to those).
pub type Row<'a> = (&'a Contradiction, bool, bool);

/// [`contradiction_blocks`] with first mentions marked.
pub fn blocks_with_first_mentions<'a>(m: &'a Merged) -> Vec<(String, String, Vec<Row<'a>>)> {
    let mut quoted = BTreeSet::new();
    let mut evidenced = BTreeSet::new();
    contradiction_blocks(m)
        .into_iter()
        .map(|(name, label, rows)| {
            let rows = rows
                .into_iter()
                .map(|c| {
                    let q = quoted.insert(c.clause.as_str());
                    // Short evidence ("none recorded") is cheaper to repeat than to refer to.
                    let e = evidenced.insert((c.case.as_str(), c.evidence.as_str()))
                        || c.evidence.len() <= 40;
                    (c, q, e)
                })
                .collect();
            (name, label, rows)
        })
        .collect()
}

/// The checks against historical pages, with those every column shows alike (same old
/// clause, case, observation) given once, their run named "every column".
pub fn historical_rows(m: &Merged) -> Vec<HistoricalCheck> {
    let key = |h: &HistoricalCheck| (h.clause.clone(), h.case.clone(), h.observed.clone());
    let n = m.runs.len();
    let mut count: BTreeMap<_, usize> = BTreeMap::new();
    for h in &m.historical {
        *count.entry(key(h)).or_default() += 1;
    }
    // Runs alike on a check share its row, which names them (or says every column).
    let mut runs_of: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for h in &m.historical {
        runs_of.entry(key(h)).or_default().push(h.run.clone());
    }
    let mut out: Vec<HistoricalCheck> = Vec::new();
    let mut done = BTreeSet::new();
    for h in &m.historical {
        let k = key(h);
        if done.insert(k.clone()) {
            let mut row = h.clone();
            if n > 1 && count[&k] == n {
                row.run = "every column".into();
            } else {
                row.run = runs_of[&k].join(", ");
            }
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{case, registry, run, two_kernels};
    use super::*;

    #[test]
    fn a_contradiction_every_column_shows_alike_is_shown_once() {
        let reg = registry();
        let m = two_kernels(&reg);
        let blocks = contradiction_blocks(&m);
        let names: Vec<(&str, usize)> = blocks
            .iter()
            .map(|(n, _, r)| (n.as_str(), r.len()))
            .collect();
        assert_eq!(names, [("every column", 1), ("linux-a", 0), ("linux-b", 2)]);
        assert_eq!(blocks[0].2[0].case, "mmap.tenth");
    }

    #[test]
    fn a_clause_is_quoted_only_where_first_met() {
        let reg = registry();
        let cl = ["linux.mmap.errors.EINVAL.2"];
        let m = Merged::new(
            vec![
                run("a", "linux", vec![case("mmap.len0", &cl, "fail", "ok")]),
                run("b", "linux", vec![case("mmap.len0", &cl, "fail", "ENOMEM")]),
            ],
            &reg,
            Default::default(),
        );
        let blocks = blocks_with_first_mentions(&m);
        let firsts: Vec<(&str, bool)> = blocks
            .iter()
            .flat_map(|(n, _, rows)| rows.iter().map(move |r| (n.as_str(), r.1)))
            .collect();
        assert_eq!(firsts, [("a", true), ("b", false)]);
    }

    #[test]
    fn the_value_table_names_the_failing_cases_per_column() {
        let reg = registry();
        let text = html_values(&two_kernels(&reg)).into_string();
        assert!(text.contains("By flag, prot and advice value"));
        let mut md = String::new();
        md_values(&two_kernels(&reg), &mut md);
        assert!(md.contains("| `PROT_READ` |"), "{md}");
        // A folded (matrix) page counts the failing cases; one column's page names them.
        assert!(
            !md.contains("`mmap.tenth`") && md.contains("**differs 2/2**"),
            "{md}"
        );
        let m = two_kernels(&reg);
        let one = Merged::new(vec![m.runs[1].clone()], &reg, Default::default());
        let mut md = String::new();
        md_values(&one, &mut md);
        assert!(md.contains("`mmap.tenth`"), "{md}");
    }
}
