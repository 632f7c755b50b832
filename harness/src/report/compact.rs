//! What the matrix page leaves to its per-column detail pages, so that a matrix of many
//! runs and cases stays readable and within its budget: in section (a) a clause's case
//! rows that read alike in every column (all ✓, ○, – or ·, with the same outcome) fold
//! into the clause's row, which counts each column's marks; long evidence is cut to its
//! first sentence. Nothing is lost: each column's own full report is written beside the
//! matrix (`columns/<run>.md`) and the matrix links it.

use super::merge::{Mark, Merged, Run};

/// Marks in the order a clause row names them: what needs a look first.
const PRIORITY: [Mark; 7] = [
    Mark::Fail,
    Mark::Broken,
    Mark::KnownDeviation,
    Mark::Conforms,
    Mark::NotExhibited,
    Mark::OtherOs,
    Mark::NotApplicable,
];

fn symbol(mark: Mark) -> &'static str {
    match mark {
        Mark::Conforms => "✓",
        Mark::NotExhibited => "○",
        Mark::KnownDeviation => "≠",
        Mark::Fail => "✗",
        Mark::NotApplicable => "–",
        Mark::OtherOs => "·",
        Mark::Broken => "!",
    }
}

/// The page folds: more than one column.
pub fn folds(m: &Merged) -> bool {
    m.runs.len() > 1
}

/// A case's row under a clause says nothing the clause row's counts do not: every column
/// has the case, with the same quiet mark and the same outcome. A deviation, a failure,
/// harness trouble, an absent case or a difference between columns keeps its row.
pub fn alike_everywhere(m: &Merged, case: &str, clause: &str) -> bool {
    let mut first: Option<(Mark, String)> = None;
    for i in 0..m.runs.len() {
        let Some(c) = m.cell(i, case, clause) else {
            return false;
        };
        if !matches!(
            c.mark,
            Mark::Conforms | Mark::NotExhibited | Mark::NotApplicable | Mark::OtherOs
        ) {
            return false;
        }
        match &first {
            None => first = Some((c.mark, c.outcome)),
            Some((mark, outcome)) if *mark == c.mark && *outcome == c.outcome => {}
            Some(_) => return false,
        }
    }
    true
}

/// Every case citing `clause` reads alike in every column, so the clause's row would be
/// the same in each.
pub fn clause_alike(m: &Merged, clause: &str) -> bool {
    m.cases_of[clause]
        .iter()
        .all(|case| alike_everywhere(m, case, clause))
}

/// Column `run`'s marks over the cases citing `clause`, as `✗1 ✓3` (worst first), or
/// `absent` when no citing case is in that run.
pub fn clause_counts(m: &Merged, run: usize, clause: &str) -> String {
    let mut counts = [0usize; PRIORITY.len()];
    for case in &m.cases_of[clause] {
        if let Some(c) = m.cell(run, case, clause) {
            let at = PRIORITY
                .iter()
                .position(|p| *p == c.mark)
                .expect("every mark");
            counts[at] += 1;
        }
    }
    let parts: Vec<String> = PRIORITY
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(mark, n)| format!("{}{n}", symbol(*mark)))
        .collect();
    if parts.is_empty() {
        "absent".into()
    } else {
        parts.join(" ")
    }
}

/// The worst mark of column `run` over `clause`'s cases (for the clause row's colour).
pub fn worst_mark(m: &Merged, run: usize, clause: &str) -> Option<Mark> {
    let marks: Vec<Mark> = m.cases_of[clause]
        .iter()
        .filter_map(|case| m.cell(run, case, clause).map(|c| c.mark))
        .collect();
    PRIORITY.iter().copied().find(|p| marks.contains(p))
}

/// Evidence cut at the end of its first sentence (or at `most` characters, at a word),
/// marked with `…` when cut.
pub fn first_sentence(text: &str, most: usize) -> String {
    let limit = text.char_indices().nth(most).map_or(text.len(), |(i, _)| i);
    let head = &text[..limit];
    let end = head
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .find(|&i| i >= 40)
        .or_else(|| (limit < text.len()).then(|| head.rfind(' ').unwrap_or(limit)));
    match end {
        Some(i) if i < text.len() => format!("{} …", text[..i].trim_end()),
        _ => text.to_string(),
    }
}

/// A row of section (c) on a folded page: each distinct outcome once, keyed by a letter
/// (A, B, ... in column order), and per column its verdict and its outcome's letter. The
/// columns agree on most outcomes of a row, so naming them once instead of in every cell
/// keeps a matrix of many columns within its budget without cutting a row.
pub struct Variants<'a> {
    /// Per column: verdict and letter; `None` where the case did not run.
    pub cells: Vec<Option<(&'a str, String)>>,
    /// Letter and outcome, in the order first met.
    pub outcomes: Vec<(String, &'a str)>,
}

/// The [`Variants`] of one row of (c).
pub fn variants(d: &super::merge::Difference) -> Variants<'_> {
    let mut outcomes: Vec<(String, &str)> = Vec::new();
    let cells = d
        .outcomes
        .iter()
        .map(|o| {
            o.as_ref().map(|(verdict, out)| {
                let letter = match outcomes.iter().find(|(_, seen)| *seen == out.as_str()) {
                    Some((l, _)) => l.clone(),
                    None => {
                        let l = letter(outcomes.len());
                        outcomes.push((l.clone(), out.as_str()));
                        l
                    }
                };
                (verdict.as_str(), letter)
            })
        })
        .collect();
    Variants { cells, outcomes }
}

/// A, B, ..., Z, AA, AB, ...: the `n`th outcome's key.
fn letter(n: usize) -> String {
    let mut n = n;
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A verdict's mark in a folded cell.
pub fn verdict_mark(verdict: &str) -> &str {
    match verdict {
        "pass" => "✓",
        "fail" => "✗",
        "known-deviation" => "≠",
        other => other,
    }
}

/// The (clause, reason) pairs every column lists as never observed: a folded page names
/// them once, not once per column.
pub fn never_observed_everywhere<'a>(
    m: &'a Merged,
) -> std::collections::BTreeSet<(&'a str, &'a str)> {
    let mut common: Option<std::collections::BTreeSet<(&str, &str)>> = None;
    for r in &m.runs {
        let here: std::collections::BTreeSet<(&str, &str)> = m
            .unobserved
            .iter()
            .filter(|u| u.run == r.name)
            .map(|u| (u.clause.as_str(), u.why.as_str()))
            .collect();
        common = Some(match common {
            None => here,
            Some(c) => c.intersection(&here).copied().collect(),
        });
    }
    common.unwrap_or_default()
}

/// The file name of a column's detail page, relative to the report: `columns/<name>.md`,
/// after its first member (a group's own name has spaces and `×`).
pub fn detail_file(run: &Run) -> String {
    let name = run.members.first().map_or(run.name.as_str(), |(n, _)| n);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("columns/{}.md", safe.trim_start_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{case, registry, run};
    use super::super::merge::{Mark, Merged};
    use super::*;

    #[test]
    fn a_rows_outcomes_are_named_once_each_and_keyed_in_column_order() {
        let d = super::super::merge::Difference {
            case: "c".into(),
            title: String::new(),
            clauses: vec![],
            outcomes: vec![
                Some(("pass".into(), "EINVAL".into())),
                None,
                Some(("fail".into(), "ok".into())),
                Some(("pass".into(), "EINVAL".into())),
            ],
        };
        let v = variants(&d);
        assert_eq!(
            v.outcomes,
            vec![("A".to_string(), "EINVAL"), ("B".to_string(), "ok")]
        );
        assert_eq!(
            v.cells,
            vec![
                Some(("pass", "A".to_string())),
                None,
                Some(("fail", "B".to_string())),
                Some(("pass", "A".to_string()))
            ]
        );
        assert_eq!(
            [
                letter(0),
                letter(25),
                letter(26),
                letter(27),
                letter(701),
                letter(702)
            ],
            ["A", "Z", "AA", "AB", "ZZ", "AAA"].map(String::from)
        );
    }

    fn two(a: &str, b: &str) -> (Vec<Run>, &'static str) {
        let clause = "linux.mmap.errors.EINVAL.2";
        (
            vec![
                run(
                    "k1",
                    "linux",
                    vec![case("mmap.len0", &[clause], a, "EINVAL")],
                ),
                run(
                    "k2",
                    "linux",
                    vec![case(
                        "mmap.len0",
                        &[clause],
                        b,
                        if b == "pass" { "EINVAL" } else { "ok" },
                    )],
                ),
            ],
            clause,
        )
    }

    #[test]
    fn a_case_alike_in_every_column_folds_and_a_failure_anywhere_keeps_its_row() {
        let reg = registry();
        let (runs, clause) = two("pass", "pass");
        let m = Merged::new(runs, &reg, Default::default());
        assert!(alike_everywhere(&m, "mmap.len0", clause));
        assert_eq!(clause_counts(&m, 0, clause), "✓1");

        let (runs, clause) = two("pass", "fail");
        let m = Merged::new(runs, &reg, Default::default());
        assert!(!alike_everywhere(&m, "mmap.len0", clause));
        assert_eq!(worst_mark(&m, 1, clause), Some(Mark::Fail));
        assert_eq!(clause_counts(&m, 1, clause), "✗1");
        assert_eq!(worst_mark(&m, 0, clause), Some(Mark::Conforms));
    }

    #[test]
    fn evidence_is_cut_after_its_first_sentence_and_short_text_is_kept() {
        let long = "do_mmap() checks the length first and returns EINVAL. Then it looks at the \
                    descriptor, which is never reached here.";
        assert_eq!(
            first_sentence(long, 200),
            "do_mmap() checks the length first and returns EINVAL. …"
        );
        assert_eq!(first_sentence("Short.", 200), "Short.");
        let words = "word ".repeat(100);
        let cut = first_sentence(&words, 50);
        assert!(cut.ends_with(" …") && cut.chars().count() <= 52, "{cut}");
    }

    #[test]
    fn a_detail_file_is_named_after_the_first_member_without_path_characters() {
        let mut r = run("gvisor ×2", "linux", vec![]);
        r.members = vec![("gvisor-a/../x".into(), String::new())];
        assert_eq!(detail_file(&r), "columns/gvisor-a-..-x.md");
        let r = run("uml-6.1", "linux", vec![]);
        assert_eq!(detail_file(&r), "columns/uml-6.1.md");
    }

    #[test]
    fn a_clause_every_column_never_shows_for_the_same_reason_is_named_once() {
        let reg = registry();
        let m = super::super::merge::tests::two_kernels(&reg);
        let common = never_observed_everywhere(&m);
        // mmap.tenth fails alike on both kernels; the len0 clauses fail on one only.
        assert_eq!(
            common.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            ["linux.mmap.errors.EINVAL.10"]
        );
    }
}
