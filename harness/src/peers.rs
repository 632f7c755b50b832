//! The peer ledger: every assertion other suites (LTP, gVisor, kselftests, FreeBSD, NetBSD,
//! Open POSIX) make about the mmap family, each decided as covered by named cases, missing
//! here, or out of scope with a reason. Owns parsing and validating `cases/peers/*.toml`
//! and the per-suite coverage figures; the case loader skips that directory.

use crate::located::LoadError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The ledger's directory, relative to the cases directory.
pub const DIR: &str = "peers";

/// One peer suite: one TOML file.
#[derive(Debug, Clone)]
pub struct PeerSuite {
    /// Short key, unique over the ledger (`ltp`, `gvisor`...).
    pub suite: String,
    pub name: String,
    /// Where its sources were read.
    pub source: String,
    /// The revision read (commit or date).
    pub revision: String,
    /// Files of the suite that belong in the ledger but are not in it yet.
    pub pending: Vec<String>,
    pub entries: Vec<Entry>,
    pub file: PathBuf,
}

/// One assertion of a peer test.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub test: String,
    pub assertion: Option<String>,
    pub behaviour: String,
    pub decision: Decision,
    /// Where the peer's own test is wrong or cannot tell causes apart.
    pub peer_defect: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Case ids that check the same object, call and observed property.
    Covered(Vec<CaseRef>),
    /// In scope, no case yet: what a case would need.
    Missing(String),
    /// Not this suite's business, and why.
    OutOfScope(String),
}

/// A case id as written, with its line for errors.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRef {
    pub id: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    suite: Spanned<String>,
    name: String,
    source: String,
    revision: String,
    #[serde(default)]
    pending: Vec<Spanned<String>>,
    #[serde(default)]
    entry: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    file: String,
    test: String,
    assertion: Option<String>,
    behaviour: String,
    cases: Option<Spanned<Vec<Spanned<String>>>>,
    missing: Option<String>,
    out_of_scope: Option<String>,
    peer_defect: Option<String>,
}

/// 1-based line and column of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn err(path: &Path, text: &str, at: usize, msg: impl Into<String>) -> LoadError {
    let (line, col) = line_col(text, at);
    LoadError {
        file: path.to_path_buf(),
        line,
        col,
        msg: msg.into(),
    }
}

/// Parses one ledger file; every problem found in it is returned, located.
pub fn parse(path: &Path, text: &str) -> Result<PeerSuite, Vec<LoadError>> {
    let raw: RawSuite = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        vec![err(path, text, at, e.message().to_string())]
    })?;
    let mut errors = Vec::new();
    let key = raw.suite.get_ref();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
        errors.push(err(
            path,
            text,
            raw.suite.span().start,
            format!("bad suite key `{key}`: use lowercase letters and `-`"),
        ));
    }
    let mut seen: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    let mut entries = Vec::new();
    for se in &raw.entry {
        let e = se.get_ref();
        let at = se.span().start;
        let (line, _) = line_col(text, at);
        for (what, value) in [
            ("file", &e.file),
            ("test", &e.test),
            ("behaviour", &e.behaviour),
        ] {
            if value.trim().is_empty() {
                errors.push(err(path, text, at, format!("entry has an empty `{what}`")));
            }
        }
        let decided = [
            e.cases.is_some(),
            e.missing.is_some(),
            e.out_of_scope.is_some(),
        ]
        .iter()
        .filter(|d| **d)
        .count();
        if decided != 1 {
            errors.push(err(
                path,
                text,
                at,
                format!(
                    "entry `{} {}` has {decided} decisions; give exactly one of `cases`, `missing`, `out_of_scope`",
                    e.file, e.test
                ),
            ));
            continue;
        }
        let decision = if let Some(cases) = &e.cases {
            if cases.get_ref().is_empty() {
                errors.push(err(
                    path,
                    text,
                    cases.span().start,
                    "`cases` is empty; name the covering cases or say `missing`",
                ));
            }
            let mut ids = HashSet::new();
            let mut refs = Vec::new();
            for c in cases.get_ref() {
                if !ids.insert(c.get_ref().as_str()) {
                    errors.push(err(
                        path,
                        text,
                        c.span().start,
                        format!("case `{}` is named twice in this entry", c.get_ref()),
                    ));
                }
                let (line, col) = line_col(text, c.span().start);
                refs.push(CaseRef {
                    id: c.get_ref().clone(),
                    line,
                    col,
                });
            }
            Decision::Covered(refs)
        } else if let Some(m) = &e.missing {
            Decision::Missing(m.clone())
        } else {
            Decision::OutOfScope(e.out_of_scope.clone().unwrap_or_default())
        };
        if let Decision::Missing(r) | Decision::OutOfScope(r) = &decision
            && r.trim().is_empty()
        {
            errors.push(err(
                path,
                text,
                at,
                "a `missing` or `out_of_scope` decision needs a reason",
            ));
        }
        let k = (e.file.clone(), e.test.clone(), e.assertion.clone());
        if let Some(first) = seen.get(&k) {
            errors.push(err(
                path,
                text,
                at,
                format!(
                    "duplicate entry `{} {}{}` (first at line {first}); give each a distinct `assertion`",
                    e.file,
                    e.test,
                    e.assertion
                        .as_deref()
                        .map_or(String::new(), |a| format!(" / {a}"))
                ),
            ));
        } else {
            seen.insert(k, line);
        }
        entries.push(Entry {
            file: e.file.clone(),
            test: e.test.clone(),
            assertion: e.assertion.clone(),
            behaviour: e.behaviour.clone(),
            decision,
            peer_defect: e.peer_defect.clone(),
            line,
        });
    }
    let in_ledger: HashSet<&str> = entries.iter().map(|e| e.file.as_str()).collect();
    for p in &raw.pending {
        if in_ledger.contains(p.get_ref().as_str()) {
            errors.push(err(
                path,
                text,
                p.span().start,
                format!(
                    "`{}` is pending but has entries; remove it from `pending`",
                    p.get_ref()
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(PeerSuite {
        suite: key.clone(),
        name: raw.name,
        source: raw.source,
        revision: raw.revision,
        pending: raw.pending.into_iter().map(Spanned::into_inner).collect(),
        entries,
        file: path.to_path_buf(),
    })
}

/// Parses every ledger file given as (path to show, text) and checks the whole: suite keys
/// unique, every named case id among `case_ids`.
pub fn load<'a>(
    files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    case_ids: &HashSet<&str>,
) -> Result<Vec<PeerSuite>, Vec<LoadError>> {
    let mut errors = Vec::new();
    let mut suites: Vec<PeerSuite> = Vec::new();
    for (path, text) in files {
        match parse(path, text) {
            Ok(s) => suites.push(s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut keys: BTreeMap<&str, &Path> = BTreeMap::new();
    for s in &suites {
        if let Some(first) = keys.insert(&s.suite, &s.file) {
            errors.push(LoadError {
                file: s.file.clone(),
                line: 1,
                col: 1,
                msg: format!("suite `{}` is also defined in {}", s.suite, first.display()),
            });
        }
        for e in &s.entries {
            if let Decision::Covered(refs) = &e.decision {
                for r in refs.iter().filter(|r| !case_ids.contains(r.id.as_str())) {
                    errors.push(LoadError {
                        file: s.file.clone(),
                        line: r.line,
                        col: r.col,
                        msg: format!("unknown case id `{}`", r.id),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        suites.sort_by(|a, b| a.suite.cmp(&b.suite));
        Ok(suites)
    } else {
        Err(errors)
    }
}

/// The ledger files built into the binary, as (path shown, text).
pub fn embedded_files() -> Result<Vec<(PathBuf, String)>, LoadError> {
    crate::embedded::FILES
        .iter()
        .filter(|(rel, _)| Path::new(rel).starts_with(DIR))
        .map(|(rel, bytes)| {
            let shown = Path::new("cases").join(rel);
            crate::load::decode(&shown, bytes.to_vec()).map(|text| (shown, text))
        })
        .collect()
}

/// The ledger files under `cases_dir/peers/`, sorted; none when it has no such directory.
pub fn dir_files(cases_dir: &Path) -> Result<Vec<(PathBuf, String)>, LoadError> {
    let dir = cases_dir.join(DIR);
    let located = |msg: String| LoadError {
        file: dir.clone(),
        line: 0,
        col: 0,
        msg,
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(located(format!("cannot list: {e}"))),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| located(e.to_string()))?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            // As the case loader reads: no link followed, no FIFO waited on.
            let text = crate::load::read_source(&path)?;
            out.push((path, text));
        }
    }
    out.sort();
    Ok(out)
}

/// The figures of one suite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub suite: String,
    pub entries: usize,
    pub in_scope: usize,
    pub covered: usize,
    pub missing: usize,
    pub out_of_scope: usize,
    pub files: usize,
    pub pending_files: usize,
    pub peer_defects: usize,
}

impl Coverage {
    pub fn of(s: &PeerSuite) -> Coverage {
        let count = |f: fn(&Decision) -> bool| s.entries.iter().filter(|e| f(&e.decision)).count();
        let covered = count(|d| matches!(d, Decision::Covered(_)));
        let missing = count(|d| matches!(d, Decision::Missing(_)));
        let out_of_scope = count(|d| matches!(d, Decision::OutOfScope(_)));
        let files: HashSet<&str> = s.entries.iter().map(|e| e.file.as_str()).collect();
        Coverage {
            suite: s.suite.clone(),
            entries: s.entries.len(),
            in_scope: covered + missing,
            covered,
            missing,
            out_of_scope,
            files: files.len(),
            pending_files: s.pending.len(),
            peer_defects: s.entries.iter().filter(|e| e.peer_defect.is_some()).count(),
        }
    }

    /// Covered share of the in-scope entries, in percent; `None` when nothing is in scope.
    pub fn percent(&self) -> Option<f64> {
        (self.in_scope > 0).then(|| 100.0 * self.covered as f64 / self.in_scope as f64)
    }

    fn percent_text(&self) -> String {
        self.percent().map_or("-".into(), |p| format!("{p:.1}%"))
    }

    /// The sum of several suites' figures, named "all".
    pub fn total(all: &[Coverage]) -> Coverage {
        let mut t = Coverage {
            suite: "all".into(),
            ..Default::default()
        };
        for c in all {
            t.entries += c.entries;
            t.in_scope += c.in_scope;
            t.covered += c.covered;
            t.missing += c.missing;
            t.out_of_scope += c.out_of_scope;
            t.files += c.files;
            t.pending_files += c.pending_files;
            t.peer_defects += c.peer_defects;
        }
        t
    }
}

const HEADERS: [&str; 10] = [
    "suite",
    "files",
    "files pending",
    "entries",
    "in scope",
    "covered",
    "missing",
    "out of scope",
    "coverage",
    "peer defects",
];

fn row(c: &Coverage) -> [String; 10] {
    [
        c.suite.clone(),
        c.files.to_string(),
        c.pending_files.to_string(),
        c.entries.to_string(),
        c.in_scope.to_string(),
        c.covered.to_string(),
        c.missing.to_string(),
        c.out_of_scope.to_string(),
        c.percent_text(),
        c.peer_defects.to_string(),
    ]
}

fn rows(suites: &[PeerSuite]) -> Vec<[String; 10]> {
    let per: Vec<Coverage> = suites.iter().map(Coverage::of).collect();
    let mut rows: Vec<_> = per.iter().map(row).collect();
    rows.push(row(&Coverage::total(&per)));
    rows
}

/// The coverage table as aligned plain text.
pub fn table_text(suites: &[PeerSuite]) -> String {
    let rows = rows(suites);
    let mut width = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i == 0 {
                let _ = write!(out, "{cell:<w$}");
            } else {
                let _ = write!(out, "  {cell:>w$}");
            }
        }
        out.push('\n');
    };
    line(&mut out, &HEADERS);
    for r in &rows {
        line(&mut out, &r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// The coverage table as Markdown, for the README.
pub fn table_markdown(suites: &[PeerSuite]) -> String {
    let mut out = format!("| {} |\n|", HEADERS.join(" | "));
    out.push_str(&"---|".repeat(HEADERS.len()));
    out.push('\n');
    for r in rows(suites) {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out
}

/// Every missing entry, then every pending file, one a line, by suite.
pub fn missing_list(suites: &[PeerSuite]) -> String {
    let mut out = String::new();
    for s in suites {
        for e in &s.entries {
            if let Decision::Missing(what) = &e.decision {
                let sub = e
                    .assertion
                    .as_deref()
                    .map_or(String::new(), |a| format!(" / {a}"));
                let _ = writeln!(
                    out,
                    "{}\t{} {}{sub}\t{}\tneeds: {what}",
                    s.suite, e.file, e.test, e.behaviour
                );
            }
        }
        for p in &s.pending {
            let _ = writeln!(out, "{}\t{p}\tnot yet in the ledger", s.suite);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "suite = \"peer\"\nname = \"A peer\"\nsource = \"x\"\nrevision = \"r\"\n";

    fn ids() -> HashSet<&'static str> {
        ["mmap.a.one", "mmap.a.two"].into_iter().collect()
    }

    fn load_one(body: &str) -> Result<Vec<PeerSuite>, Vec<LoadError>> {
        let text = format!("{HEAD}{body}");
        load([(Path::new("peers/peer.toml"), text.as_str())], &ids())
    }

    fn messages(body: &str) -> Vec<String> {
        load_one(body)
            .expect_err("the ledger should be rejected")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const ENTRY: &str = "[[entry]]\nfile = \"f.c\"\ntest = \"t\"\nbehaviour = \"b\"\n";

    #[test]
    fn an_entry_covered_by_known_cases_loads() {
        let s = load_one(&format!(
            "{ENTRY}cases = [\"mmap.a.one\", \"mmap.a.two\"]\n"
        ))
        .unwrap();
        let Decision::Covered(refs) = &s[0].entries[0].decision else {
            panic!("not covered: {:?}", s[0].entries[0].decision)
        };
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].id, "mmap.a.two");
    }

    #[test]
    fn an_unknown_case_id_is_an_error_located_at_the_id() {
        let m = messages(&format!("{ENTRY}cases = [\"mmap.a.one\", \"mmap.nope\"]\n"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("unknown case id `mmap.nope`"), "{m:?}");
        assert!(m[0].starts_with("peers/peer.toml:9:24:"), "{m:?}");
    }

    #[test]
    fn an_entry_without_a_decision_is_an_error() {
        let m = messages(ENTRY);
        assert!(m[0].contains("has 0 decisions"), "{m:?}");
        assert!(m[0].starts_with("peers/peer.toml:5:"), "{m:?}");
    }

    #[test]
    fn an_entry_with_two_decisions_is_an_error() {
        let m = messages(&format!(
            "{ENTRY}cases = [\"mmap.a.one\"]\nmissing = \"a case\"\n"
        ));
        assert!(m[0].contains("has 2 decisions"), "{m:?}");
    }

    #[test]
    fn an_empty_case_list_is_an_error() {
        let m = messages(&format!("{ENTRY}cases = []\n"));
        assert!(m[0].contains("`cases` is empty"), "{m:?}");
    }

    #[test]
    fn a_decision_without_a_reason_is_an_error() {
        let m = messages(&format!("{ENTRY}out_of_scope = \" \"\n"));
        assert!(m[0].contains("needs a reason"), "{m:?}");
    }

    #[test]
    fn the_same_case_twice_in_an_entry_is_an_error() {
        let m = messages(&format!(
            "{ENTRY}cases = [\"mmap.a.one\", \"mmap.a.one\"]\n"
        ));
        assert!(m[0].contains("named twice"), "{m:?}");
    }

    #[test]
    fn a_duplicate_entry_is_an_error_naming_the_first() {
        let one = format!("{ENTRY}missing = \"m\"\n");
        let m = messages(&format!("{one}{one}"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("duplicate entry `f.c t` (first at line 5)"),
            "{m:?}"
        );
    }

    #[test]
    fn entries_of_one_test_with_distinct_assertions_are_not_duplicates() {
        let s = load_one(&format!(
            "{ENTRY}assertion = \"a\"\nmissing = \"m\"\n{ENTRY}assertion = \"b\"\nmissing = \"m\"\n"
        ))
        .unwrap();
        assert_eq!(s[0].entries.len(), 2);
    }

    #[test]
    fn an_unknown_key_is_an_error() {
        let m = messages(&format!(
            "{ENTRY}missing = \"m\"\ncase = [\"mmap.a.one\"]\n"
        ));
        assert!(m[0].contains("unknown field `case`"), "{m:?}");
    }

    #[test]
    fn a_pending_file_with_entries_is_an_error() {
        let m = messages(&format!("pending = [\"f.c\"]\n{ENTRY}missing = \"m\"\n"));
        assert!(m[0].contains("`f.c` is pending but has entries"), "{m:?}");
    }

    #[test]
    fn a_suite_key_defined_twice_is_an_error() {
        let text = format!("{HEAD}{ENTRY}missing = \"m\"\n");
        let e = load(
            [
                (Path::new("peers/a.toml"), text.as_str()),
                (Path::new("peers/b.toml"), text.as_str()),
            ],
            &ids(),
        )
        .unwrap_err();
        assert!(
            e[0].to_string().contains("also defined in peers/a.toml"),
            "{e:?}"
        );
    }

    #[test]
    fn coverage_counts_each_decision_and_leaves_out_of_scope_out_of_the_share() {
        let s = load_one(&format!(
            "{ENTRY}assertion = \"1\"\ncases = [\"mmap.a.one\"]\n\
             {ENTRY}assertion = \"2\"\nmissing = \"m\"\npeer_defect = \"d\"\n\
             {ENTRY}assertion = \"3\"\nmissing = \"m\"\n\
             {ENTRY}assertion = \"4\"\nout_of_scope = \"o\"\n"
        ))
        .unwrap();
        let c = Coverage::of(&s[0]);
        assert_eq!(
            (
                c.entries,
                c.in_scope,
                c.covered,
                c.missing,
                c.out_of_scope,
                c.peer_defects
            ),
            (4, 3, 1, 2, 1, 1)
        );
        assert_eq!(c.percent_text(), "33.3%");
        let md = table_markdown(&s);
        assert!(
            md.contains("| peer | 1 | 0 | 4 | 3 | 1 | 2 | 1 | 33.3% | 1 |"),
            "{md}"
        );
        assert!(md.contains("| all | 1 | 0 | 4 |"), "{md}");
    }

    #[test]
    fn the_missing_list_names_each_missing_entry_and_pending_file() {
        let s = load_one(&format!(
            "pending = [\"g.c\"]\n{ENTRY}missing = \"a hole case\"\n"
        ))
        .unwrap();
        let text = missing_list(&s);
        assert!(
            text.contains("peer\tf.c t\tb\tneeds: a hole case"),
            "{text}"
        );
        assert!(text.contains("peer\tg.c\tnot yet in the ledger"), "{text}");
    }

    #[test]
    fn a_suite_with_nothing_in_scope_has_no_percentage() {
        let s = load_one(&format!("{ENTRY}out_of_scope = \"stress\"\n")).unwrap();
        assert_eq!(Coverage::of(&s[0]).percent(), None);
    }

    #[test]
    fn the_built_in_ledger_names_only_existing_cases() {
        let suite = crate::embedded::suite().unwrap_or_else(|e| panic!("{e:?}"));
        let ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
        let files = embedded_files().unwrap();
        let ledger = load(files.iter().map(|(p, t)| (p.as_path(), t.as_str())), &ids)
            .unwrap_or_else(|e| {
                panic!("{}", e.iter().map(|e| format!("{e}\n")).collect::<String>())
            });
        assert!(!ledger.is_empty());
    }

    #[test]
    fn the_readme_shows_the_current_coverage_table() {
        let suite = crate::embedded::suite().unwrap_or_else(|e| panic!("{e:?}"));
        let ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
        let files = embedded_files().unwrap();
        let ledger = load(files.iter().map(|(p, t)| (p.as_path(), t.as_str())), &ids).unwrap();
        let readme = include_str!("../../README.md");
        let table = table_markdown(&ledger);
        assert!(
            readme.contains(&table),
            "README.md's coverage table is stale; paste the output of \
             `cargo run -q -- coverage --markdown`:\n{table}"
        );
    }
}
