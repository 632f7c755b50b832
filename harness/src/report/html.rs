//! The report as one self-contained HTML page (inline CSS, no scripts, no external
//! assets): red cells first, then kernel against page, kernel against kernel, the
//! clause-by-clause matrix and coverage. Laid out to fit a laptop screen without
//! sideways scrolling for two kernels.

use super::compact;
use super::merge::{Cell, Contradiction, Mark, Merged, Run};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1500px;padding:0 12px 40px;color:#1b1b1b}
h1{font-size:20px;margin:12px 0 4px}h2{font-size:17px;margin:22px 0 6px;border-bottom:2px solid #444}
h3{font-size:15px;margin:14px 0 4px}h4{font-size:13px;margin:10px 0 2px;color:#444}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:4px 0 10px}
th,td{border:1px solid #c8c8c8;padding:2px 5px;vertical-align:top;overflow-wrap:anywhere;text-align:left}
thead th{position:sticky;top:0;background:#ececec;z-index:1;font-weight:600}
code{font:12px ui-monospace,Menlo,Consolas,monospace}
.small{font-size:12px;color:#555}
td.fail{background:#c62828;color:#fff;font-weight:600}
td.fail a{color:#fff}
td.broken{background:#ffe0b2;color:#5d4037}
td.known{background:#ffcdd2;color:#5d0000}
td.d{box-shadow:inset 5px 0 #f9a825}
table.grid td:not([class]):not(:first-child):not(:last-child){box-shadow:inset 5px 0 #f9a825}
td.na,td.other{color:#8a8a8a;background:#fafafa}
td.unshown{color:#5f4b00;background:#fff8e1}
td.partly{background:#ffe0b2;color:#4a2800}
details summary{cursor:pointer}
tr.clause td{background:#eef3fb;font-weight:600}
tr.clause td span{font-weight:normal}
.legend span{display:inline-block;padding:0 6px;margin:2px 4px 2px 0;border:1px solid #c8c8c8}
.glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px}
.glance>div{border:1px solid #c8c8c8;padding:6px 8px}
.glance ul{margin:4px 0;padding-left:18px;max-height:260px;overflow-y:auto}
.glance li a{color:#b71c1c}
.bad{color:#b71c1c;font-weight:600}
a{color:#0b57d0}
"#;

/// The most rows a column's block of (b) shows on a folded page, as the
/// Markdown's ((b) rows past it link their reproducers in one line, (c) its own).
const HTML_B_ROWS: usize = 4;

fn mark_base(mark: Mark) -> &'static str {
    match mark {
        Mark::Conforms => "ok",
        Mark::NotExhibited => "unshown",
        Mark::KnownDeviation => "known",
        Mark::Fail => "fail",
        Mark::NotApplicable => "na",
        Mark::OtherOs => "other",
        Mark::Broken => "broken",
    }
}

fn mark_class(c: &Cell) -> String {
    let base = mark_base(c.mark);
    if c.differs {
        format!("{base} d")
    } else {
        base.into()
    }
}

/// A run's contradictions grouped by case, failures first: (case, mark, clauses).
fn by_case<'a>(red: &[&'a Contradiction]) -> Vec<(&'a str, Mark, Vec<&'a str>)> {
    let mut out: Vec<(&str, Mark, Vec<&str>)> = Vec::new();
    for c in red {
        match out.iter_mut().find(|(case, _, _)| *case == c.case) {
            Some((_, _, clauses)) => clauses.push(&c.clause),
            None => out.push((&c.case, c.mark, vec![&c.clause])),
        }
    }
    out.sort_by_key(|(case, mark, _)| (*mark != Mark::Fail, *case));
    out
}

/// A kernel's column heading: its run name, then OS, release, arch and page size.
fn kernel_th(r: &Run) -> Markup {
    html! { th title=(r.label()) { code { (r.name) } div.small { (r.short_label()) } } }
}

/// Anchor of a matrix cell (a case appears under each clause it cites).
fn anchor(run: usize, clause: &str, case: &str) -> String {
    format!("k{run}-{clause}-{case}")
}

/// Anchor of a case's cell in (c) on a folded page: short (the page has thousands), and
/// stable from run to run (FNV-1a of the id, not a per-process hash).
fn case_anchor(run: usize, case: &str) -> String {
    let h = case.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("c{run}-{h:08x}")
}

fn cols(runs: usize, first: u32) -> Markup {
    cols_and_last(runs, first, 0)
}

/// [`cols`] with a last column of `last` per cent after the runs' (section (c)'s outcomes).
fn cols_and_last(runs: usize, first: u32, last: u32) -> Markup {
    let rest = (100 - first - last) as f64 / runs.max(1) as f64;
    html! {
        colgroup {
            col style=(format!("width:{first}%"));
            @for _ in 0..runs { col style=(format!("width:{rest:.2}%")); }
            @if last > 0 { col style=(format!("width:{last}%")); }
        }
    }
}

/// A grid cell's text: long observations (byte dumps) cut, the whole in the title.
/// The link to a red cell's reproducer, when one was written beside the report.
fn repro_link(m: &Merged, case: &str) -> Markup {
    html! {
        @if let Some(href) = m.reproducer(case) {
            " " a href=(href) { "C" }
        }
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 72;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Section (b)'s blocks; on a folded page a row an earlier block showed alike (same
/// clause, case, observation and mark) is counted, not repeated.
#[allow(clippy::type_complexity)]
fn folded_blocks<'a>(
    m: &'a Merged,
    folds: bool,
) -> Vec<(String, String, Vec<super::grid::Row<'a>>, usize)> {
    let mut shown = std::collections::BTreeSet::new();
    super::grid::blocks_with_first_mentions(m)
        .into_iter()
        .map(|(name, label, rows)| {
            let before = rows.len();
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|(c, _, _)| {
                    !folds
                        || shown.insert((
                            c.clause.clone(),
                            c.case.clone(),
                            c.observed.clone(),
                            c.mark.label(),
                        ))
                })
                .collect();
            let again = before - rows.len();
            (name, label, rows, again)
        })
        .collect()
}

pub fn render(m: &Merged) -> String {
    let n = m.runs.len();
    let folds = compact::folds(m);
    let differing: std::collections::BTreeSet<&str> =
        m.differences.iter().map(|d| d.case.as_str()).collect();
    let first_col = if n <= 2 { 34 } else { 24 };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "mmapconf: kernels against their man pages" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "mmapconf: kernels against their man pages" }
                p.small {
                    (m.tool) " " (m.version) "; " (runs_named(m)) "; "
                    (m.contradictions.len()) " clause contradictions, "
                    (m.differences.len()) " cases differ between kernels. "
                    "Sections: " a href="#glance" { "at a glance" } ", "
                    a href="#runs" { "runs" } ", "
                    a href="#page" { "(b) kernel against man page" } ", "
                    @if n > 1 { a href="#kernels" { "(c) kernel against kernel" } ", " }
                    a href="#values" { "by value" } ", "
                    a href="#matrix" { "(a) clause by clause" } ", "
                    a href="#coverage" { "(d) coverage" } "."
                }
                p.legend.small {
                    span style="background:#c62828;color:#fff" { "✗ deviates, FAIL (nothing recorded)" }
                    span style="background:#ffcdd2" { "≠ deviates, known (evidence recorded)" }
                    span style="box-shadow:inset 5px 0 #f9a825" { "◆ differs from the other kernels" }
                    span { "✓ conforms: the clause's outcome was observed" }
                    span style="background:#fff8e1" { "○ not exhibited here: the case passed without showing this clause" }
                    span style="color:#8a8a8a" { "– n/a · another OS's clause" }
                    span style="background:#ffe0b2" { "! not run: BROKEN (harness trouble)" }
                    span { "C: the case's standalone C reproducer (repro/<case-id>.c beside this page)" }
                }
                h2 #glance { "At a glance" }
                div.glance {
                    @for (i, r) in m.runs.iter().enumerate() {
                        @let [p, k, f, na, b] = m.tally(i);
                        @let red: Vec<_> = m.contradictions.iter().filter(|c| c.run == r.name).collect();
                        div {
                            strong { code { (r.name) } }
                            div.small { (r.label()) }
                            div {
                                (p) " conform, " (k) " known deviations, "
                                span class=[(f > 0).then_some("bad")] { (f) " FAIL" }
                                ", " (na) " n/a"
                                @if b > 0 {
                                    ", " span.bad { (b) " BROKEN (harness trouble, no kernel verdict)" }
                                }
                            }
                            @let broken: Vec<_> = r.cases.iter().filter(|c| c.is_broken()).collect();
                            @if !broken.is_empty() {
                                ul.small {
                                    @for c in broken {
                                        li { "! BROKEN " code { (c.id) } ": " (c.trouble()) }
                                    }
                                }
                            }
                            @if red.is_empty() {
                                div.small { "No clause contradicted." }
                            } @else {
                                @let listed = by_case(&red);
                                @let most = if folds { HTML_B_ROWS } else { usize::MAX };
                                ul.small {
                                    @for (case, mark, clauses) in listed.iter().take(most).cloned() {
                                        li {
                                            span class=(if mark == Mark::Fail { "bad" } else { "" }) {
                                                (if mark == Mark::Fail { "✗ FAIL " } else { "≠ " })
                                            }
                                            code { (case) } (repro_link(m, case)) ": "
                                            @if folds {
                                                // Its cell in (c) when kernels differ on it; one failing alike
                                                // everywhere is in (b)'s "every column" table.
                                                @if differing.contains(case) {
                                                    a href=(format!("#{}", case_anchor(i, case))) { (clauses.len()) " clause(s)" }
                                                } @else {
                                                    (clauses.len()) " clause(s), alike in every column"
                                                }
                                            } @else {
                                                @for cl in &clauses {
                                                    a href=(format!("#{}", anchor(i, cl, case))) { code { (cl) } } " "
                                                }
                                            }
                                        }
                                    }
                                }
                                @if listed.len() > most {
                                    div.small { "… and " (listed.len() - most) " more, on " a href=(compact::detail_file(r)) { "this column's own page" } "." }
                                }
                            }
                        }
                    }
                }

                (super::grid::html_runs(m))

                @if !m.repro_runs.is_empty() {
                    @let rows: Vec<_> = m.repro_runs.iter().flat_map(|r| r.disagreements.iter().map(move |c| (&r.run, c))).collect();
                    h2 #repro { "C reproducers against the harness" }
                    p.small { "Each run's reproducers, built statically and run on the same runtime (" code { "repro.json" } " beside its results), held against the run's own observations in the reproducers' normal form." }
                    table {
                        tr { th { "run" } th { "agree" } th { "differ" } th { "broken" } th { "not compared" } }
                        @for r in &m.repro_runs {
                            tr {
                                td { code { (r.run) } }
                                @if let Some(e) = &r.error {
                                    td colspan="4" { "not compared: " (e) }
                                } @else {
                                    td { (r.agree) }
                                    td class=[(r.differ > 0).then_some("bad")] { (r.differ) }
                                    td class=[(r.broken > 0).then_some("bad")] { (r.broken) }
                                    td { (r.not_compared) }
                                }
                            }
                        }
                    }
                    @if !rows.is_empty() {
                        table.small {
                            tr { th { "run" } th { "case" } th { "harness" } th { "reproducer" } }
                            @for (run, c) in rows.iter().take(super::markdown::REPRO_ROWS) {
                                @let (h, r) = super::markdown::repro_sides(&c.verdict);
                                tr { td { code { (run) } } td { code { (c.id) } } td { (h.trim_matches('`')) } td { (r.trim_matches('`')) } }
                            }
                        }
                        @if rows.len() > super::markdown::REPRO_ROWS {
                            p.small { (rows.len() - super::markdown::REPRO_ROWS) " more in merged.json (" code { "repro_runs" } ")." }
                        }
                    }
                }

                h2 #page { "(b) Kernel against man page" }
                p.small { "Every clause a kernel's observed behaviour contradicts, with the clause as the page given says it (else the registry's summary, marked), the case, what was seen, and the recorded evidence." }
                @if m.pages_read.is_empty() {
                    p.small { "No man page was given: clauses are shown by the registry's summaries." }
                } @else {
                    p.small { "Clause texts quoted from: " @for (i, p) in m.pages_read.iter().enumerate() { @if i > 0 { "; " } (p) } "." }
                }
                @for (name, label, all_rows, again) in folded_blocks(m, folds) {
                    @let total = all_rows.len();
                    // A folded page shows a column's first rows; all are on its own page.
                    @let keep = if folds { HTML_B_ROWS } else { usize::MAX };
                    // Failing cases of the rows left out that (c) does not link either.
                    @let rest: std::collections::BTreeSet<&str> = all_rows.iter().skip(keep).filter(|(c, _, _)| c.mark == Mark::Fail && !differing.contains(c.case.as_str())).map(|(c, _, _)| c.case.as_str()).collect();
                    @let rows: Vec<_> = all_rows.into_iter().take(keep).collect();
                    @let hidden = total - rows.len();
                    h3 { code { (name) } ": " (total + again) " contradictions" }
                    p.small { (label) }
                    @if again > 0 {
                        p.small { (again) " contradicted exactly as an earlier column shows (listed on this column's own page)." }
                    }
                    @if !rows.is_empty() {
                        table {
                            colgroup { col style="width:17%"; col style="width:25%"; col style="width:18%"; col style="width:15%"; col style="width:25%"; }
                            thead { tr { th { "clause" } th { "the page says" } th { "case" } th { "expected → observed" } th { "evidence" } } }
                            tbody {
                                @for (c, first_quote, first_evidence) in rows {
                                    tr {
                                        td { code { (c.clause) } }
                                        @if first_quote && folds {
                                            td { @if !c.text_from_page { em.small { "(registry summary) " } } (short(&c.clause_text)) }
                                        } @else if first_quote {
                                            td { @if !c.text_from_page { em.small { "(registry summary) " } } (c.clause_text) }
                                        } @else {
                                            td.small { em { "(quoted above)" } }
                                        }
                                        td { code { (c.case) } div.small { code { (c.call) } } }
                                        td class=(if c.mark == Mark::Fail { "fail" } else { "known" }) { (c.expected) " → " (c.observed) @if c.mark == Mark::Fail { (repro_link(m, &c.case)) } }
                                        td.small { @if !first_evidence && !folds { em { "(as above)" } } @else if !first_evidence { (compact::first_sentence(&c.evidence, 60)) } @else if folds { (compact::first_sentence(&c.evidence, 120)) } @else { (c.evidence) } }
                                    }
                                }
                            }
                        }
                        @if hidden > 0 {
                            p.small {
                                "… and " (hidden) " more, on "
                                @match m.runs.iter().find(|r| r.name == name) {
                                    Some(r) => a href=(compact::detail_file(r)) { "this column's own page" },
                                    None => "each member column's own page",
                                }
                                "."
                                @if !rest.is_empty() {
                                    " Their reproducers:"
                                    @for case in &rest { (repro_link(m, case)) }
                                }
                            }
                        }
                    }
                }
                @if !m.historical.is_empty() {
                    h3 { "Against historical pages" }
                    table {
                        colgroup { col style="width:14%"; col style="width:30%"; col style="width:8%"; col style="width:24%"; col style="width:16%"; col style="width:8%"; }
                        thead { tr { th { "run" } th { "old clause" } th { "promised" } th { "case" } th { "observed" } th { "holds" } } }
                        tbody {
                            @for h in &super::grid::historical_rows(m) {
                                tr {
                                    td { code { (h.run) } }
                                    td { code { (h.clause) } " " span.small { (h.summary) } }
                                    td { (h.predicts) }
                                    td { code { (h.case) } }
                                    td { (h.observed) }
                                    td class=(if h.holds { "ok" } else { "known" }) { (if h.holds { "yes" } else { "no" }) }
                                }
                            }
                        }
                    }
                }

                @if n > 1 {
                    h2 #kernels { "(c) Kernel against kernel: " (m.differences.len()) " cases differ" }
                    p.small { "A cell is a column's verdict (its colour) and a letter; the last cell says what each letter observed." }
                    table.grid {
                        (cols_and_last(n, first_col, 30))
                        thead { tr { th { "case" } @for r in &m.runs { (kernel_th(r)) } th { "observed" } } }
                        tbody {
                            // A cell is its verdict's class and its outcome's letter; the
                            // row's last cell names each outcome once (compact::variants).
                            @for d in &m.differences {
                                @let v = compact::variants(d);
                                tr {
                                    // A red row's reproducer, once for all its red cells.
                                    td title=(d.title) { code { (d.case) } @if v.cells.iter().flatten().any(|(verdict, _)| *verdict == "fail") { (repro_link(m, &d.case)) } }
                                    @for (i, cell) in v.cells.iter().enumerate() {
                                        @match cell {
                                            // A passing cell takes the table's own colour (CSS `.grid td`).
                                            Some(("pass", letter)) => td { (letter) },
                                            Some((verdict, letter)) => td id=[folds.then(|| case_anchor(i, &d.case))] class=(if *verdict == "known-deviation" { "known d" } else { "fail d" }) { (letter) },
                                            None => td.na { "n/a" },
                                        }
                                    }
                                    td.small {
                                        @for (j, (letter, out)) in v.outcomes.iter().enumerate() {
                                            @if j > 0 { br; }
                                            b { (letter) } ": " (short(out))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }

                (super::grid::html_values(m))

                h2 #matrix { "(a) Clause by clause" }
                @if folds {
                    p.small {
                        "A clause's row counts each column's marks over the cases citing it (✓3 ○1: three cases showed the clause, one passed without showing it). The cases behind the counts are in (c), where kernels differ on them, and (b), where a clause is contradicted; every case of a column is on its own page. The tables number the columns: "
                        @for (i, r) in m.runs.iter().enumerate() { @if i > 0 { ", " } (i + 1) " " a href=(compact::detail_file(r)) { code { (r.name) } } }
                        "."
                    }
                }
                @for (key, sections) in &m.sections {
                    @let pg = m.page(key);
                    h3 { (pg.os) " " (pg.name) "(" (pg.section) ")" @if pg.historical { " — historical text" } }
                    p.small { "Read from: " (pg.read_from) }
                    @for (section, ids) in sections {
                        h4 { (section) }
                        table {
                            (cols(n, first_col))
                            thead { tr { th { "clause / case" } @for (i, r) in m.runs.iter().enumerate() { @if folds { th title=(r.name) { (i + 1) } } @else { (kernel_th(r)) } } } }
                            tbody {
                                @for id in ids.iter().filter(|id| !folds || !compact::clause_alike(m, id)) {
                                    @let (text, _) = m.clause_text(id);
                                    @if folds {
                                        tr.clause {
                                            td { code { (id) } " " span { (short(&text)) } }
                                            @for i in 0..n {
                                                td class=(compact::worst_mark(m, i, id).map_or("na", mark_base)) { (compact::clause_counts(m, i, id)) }
                                            }
                                        }
                                    } @else {
                                        tr.clause { td colspan=(n + 1) { code { (id) } " " span { (text) } } }
                                    }
                                    @for case in m.cases_of[id].iter().filter(|_| !folds) {
                                        tr {
                                            td { code { (case) } }
                                            @for i in 0..n {
                                                @match m.cell(i, case, id) {
                                                    // Only red cells are linked to (from "at a glance").
                                                    Some(c) if folds => td id=[c.mark.deviates().then(|| anchor(i, id, case))] class=(mark_class(&c)) { (c.symbol()) @if c.mark == Mark::Fail { (repro_link(m, case)) } },
                                                    Some(c) => td id=(anchor(i, id, case)) class=(mark_class(&c)) title=(c.mark.label()) { (c.symbol()) " " (c.outcome) @if c.mark == Mark::Fail { (repro_link(m, case)) } },
                                                    None => td.na { "absent" },
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @if folds {
                            @let alike: Vec<&String> = ids.iter().filter(|id| compact::clause_alike(m, id)).collect();
                            @if !alike.is_empty() {
                                p.small { "Alike in every column: " @for (k, id) in alike.iter().enumerate() { @if k > 0 { ", " } code { (id) } " " (compact::clause_counts(m, 0, id)) } "." }
                            }
                        }
                    }
                }

                h2 #coverage { "(d) Coverage: clauses without a case, and clauses never observed" }
                table {
                    colgroup { col style="width:18%"; col style="width:10%"; col style="width:72%"; }
                    thead { tr { th { "page" } th { "with a case" } th { "clauses no case cites" } } }
                    tbody {
                        @for c in &m.coverage {
                            tr {
                                td { code { (c.page) } }
                                td { (c.covered) " of " (c.clauses) }
                                td.small { @for u in &c.uncovered { code { (u) } " " } }
                            }
                        }
                    }
                }
                // On a folded page a clause no column exhibits, for the same reason, is listed
                // once, and each column's list shows its first rows (all on its own page).
                @let common = if folds { compact::never_observed_everywhere(m) } else { Default::default() };
                @if !common.is_empty() {
                    h3 { "Never observed on any column: " (common.len()) " cited clauses no case showed holding anywhere" }
                    table {
                        colgroup { col style="width:34%"; col style="width:66%"; }
                        thead { tr { th { "clause" } th { "what its cases did" } } }
                        tbody { @for (clause, why) in &common { tr { td { code { (clause) } } td.small { (why) } } } }
                    }
                }
                @for r in &m.runs {
                    @let never: Vec<_> = m.unobserved.iter().filter(|u| u.run == r.name).filter(|u| !common.contains(&(u.clause.as_str(), u.why.as_str()))).collect();
                    @let most = if folds { super::markdown::MATRIX_D_ROWS } else { usize::MAX };
                    h3 { "Never observed on " code { (r.name) } ": " (never.len()) " cited clauses no case showed holding here" @if !common.is_empty() { " (besides the " (common.len()) " of every column)" } }
                    @if !never.is_empty() {
                        table {
                            colgroup { col style="width:34%"; col style="width:66%"; }
                            thead { tr { th { "clause" } th { "what its cases did here" } } }
                            tbody {
                                @for u in never.iter().take(most) {
                                    tr { td { code { (u.clause) } } td.small { (u.why) } }
                                }
                            }
                        }
                        @if never.len() > most {
                            p.small { "… and " (never.len() - most) " more, on " a href=(compact::detail_file(r)) { "this column's own page" } "." }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// "28 runs in 18 columns" when identical runs were grouped, else "3 runs": the header
/// counts runs, not columns.
fn runs_named(m: &Merged) -> String {
    let columns = m.runs.len();
    let runs: usize = m.runs.iter().map(|r| r.members.len().max(1)).sum();
    let noun = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    if runs == columns {
        noun(runs, "run", "runs")
    } else {
        format!(
            "{} in {}",
            noun(runs, "run", "runs"),
            noun(columns, "column", "columns")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{registry, two_kernels};
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_links_every_red_cell() {
        let reg = registry();
        let m = two_kernels(&reg);
        let page = render(&m);
        assert!(
            !page.contains("<script") && !page.contains("http://") && !page.contains("https://")
        );
        // Every red cell of (c) has an anchor; "at a glance" links each red case of a column
        // there, or says it is alike in every column (then it is in (b)'s first table).
        assert!(compact::folds(&m));
        for c in &m.contradictions {
            let i = m.runs.iter().position(|r| r.name == c.run).unwrap();
            if m.differences.iter().any(|d| d.case == c.case) {
                let a = case_anchor(i, &c.case);
                assert!(page.contains(&format!("id=\"{a}\"")), "no cell {a}");
                assert!(page.contains(&format!("href=\"#{a}\"")), "no link to {a}");
            } else {
                assert!(page.contains("alike in every column"), "{}", c.case);
            }
        }
        assert!(
            m.differences
                .iter()
                .any(|d| d.outcomes.iter().flatten().any(|(v, _)| v == "fail")),
            "the fixture has a failing cell in (c)"
        );
        assert!(page.contains("class=\"fail d\""), "{page}");
    }

    #[test]
    fn text_from_results_is_escaped() {
        let reg = registry();
        let mut runs = two_kernels(&reg).runs;
        runs[0].cases[0].observed = "<b>boom</b>".into();
        let page = render(&Merged::new(runs, &reg, Default::default()));
        assert!(page.contains("&lt;b&gt;boom"), "not escaped");
    }
}
