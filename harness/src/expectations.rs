//! Expectations per runtime: a TOML file listing, for one runtime (gVisor, qemu-user, a
//! library OS), the cases it is known to get wrong and what it gives instead, and the gate
//! that holds a run's results against it. Reads results.json (through the report's reader
//! types), never the executor: the gate works the same on a run just made and on results
//! brought back from a VM.
//!
//! A listed case that behaves as listed is an expected failure; one that passes now, one
//! that fails differently and an unlisted failure each fail the gate (strict, so stale
//! entries cannot pile up).

use crate::report::merge::{CaseRow, Run};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// One expectations file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The runtime the file is for, for people (e.g. "gVisor runsc 20240729").
    #[serde(default)]
    pub runtime: String,
    #[serde(default, rename = "case")]
    pub cases: Vec<Entry>,
}

/// One known failure, with the conditions under which it is expected.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The case id.
    pub id: String,
    /// What the runtime gives: the observation as the report shows it (the call's
    /// outcome without addresses, then each step that did not pass).
    pub observed: String,
    /// A link to the runtime's bug tracker, or why it is so.
    #[serde(default)]
    pub note: String,
    /// Only on these architectures (`uname -m`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch: Vec<String>,
    /// Only at these page sizes, in bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_size: Vec<usize>,
    /// Only for releases (`uname -r`) in this range: comma-separated comparisons, e.g.
    /// `">=6.1, <6.13"`; numbers compare component by component.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub release: String,
    /// Only for runs whose "under" description (results.json host.under) contains this.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub under: String,
}

/// How one case of a run stands against the expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Passed, or a known deviation, and not listed.
    Passed,
    NotApplicable,
    /// Listed, and it failed as listed.
    ExpectedFailure,
    /// Listed, and it passes now: the entry is stale.
    UnexpectedPass,
    /// Listed, and it failed otherwise: the listed observation(s).
    FailedDifferently(Vec<String>),
    /// Failed, and not listed.
    UnlistedFailure,
    /// Listed, but the case was not applicable on this run.
    ListedNotApplicable,
}

impl Class {
    /// Whether this class fails the gate.
    pub fn fails_gate(&self) -> bool {
        matches!(
            self,
            Class::UnexpectedPass | Class::FailedDifferently(_) | Class::UnlistedFailure
        )
    }

    pub fn label(&self) -> &'static str {
        match self {
            Class::Passed => "pass",
            Class::NotApplicable => "not applicable",
            Class::ExpectedFailure => "expected failure",
            Class::UnexpectedPass => "UNEXPECTED PASS",
            Class::FailedDifferently(_) => "FAILED DIFFERENTLY",
            Class::UnlistedFailure => "UNLISTED FAILURE",
            Class::ListedNotApplicable => "listed, not applicable",
        }
    }
}

/// A verdict the gate counts as a failure: anything that is not a pass, a recorded
/// deviation or "not applicable" (so a verdict this reader does not know fails too).
pub fn is_failure(verdict: &str) -> bool {
    !matches!(
        verdict,
        "pass" | "known-deviation" | "not-applicable" | "observed"
    )
}

/// Compares two releases component by component, by the leading number of each
/// dot-separated part ("6.12.118+deb13" is 6, 12, 118).
fn release_parts(r: &str) -> Vec<u64> {
    r.split(['.', '-', '+'])
        .map_while(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Whether `release` lies in `range` (see [`Entry::release`]); a malformed range is an
/// error naming the comparison.
pub fn release_in(range: &str, release: &str) -> Result<bool, String> {
    let have = release_parts(release);
    for cmp in range.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (op, v) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| cmp.strip_prefix(op).map(|v| (*op, v.trim())))
            .ok_or_else(|| {
                format!("release comparison `{cmp}`: start it with <, <=, >, >= or =")
            })?;
        let want = release_parts(v);
        if want.is_empty() {
            return Err(format!("release comparison `{cmp}`: no version number"));
        }
        let ord = have.cmp(&want);
        let holds = match op {
            "<" => ord.is_lt(),
            "<=" => ord.is_le(),
            ">" => ord.is_gt(),
            ">=" => ord.is_ge(),
            _ => ord.is_eq(),
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Entry {
    /// Whether the entry's conditions hold for `run`.
    /// Whether any condition is given.
    pub fn has_conditions(&self) -> bool {
        !(self.arch.is_empty()
            && self.page_size.is_empty()
            && self.release.is_empty()
            && self.under.is_empty())
    }

    pub fn applies_to(&self, run: &Run) -> bool {
        let h = &run.host;
        (self.arch.is_empty() || self.arch.contains(&h.arch))
            && (self.page_size.is_empty() || self.page_size.contains(&h.page_size))
            && (self.release.is_empty() || release_in(&self.release, &h.release) == Ok(true))
            && (self.under.is_empty() || h.under.contains(&self.under))
    }
}

impl Expectations {
    /// Parses a file's text; errors carry the file and line.
    pub fn parse(path: &Path, text: &str) -> Result<Expectations, String> {
        let e: Expectations = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
            format!(
                "{}:{line}: not an expectations file: {}",
                path.display(),
                e.message().trim()
            )
        })?;
        for c in &e.cases {
            if c.id.is_empty() {
                return Err(format!("{}: an entry without an id", path.display()));
            }
            release_in(&c.release, "0")
                .map_err(|m| format!("{}: {}: {m}", path.display(), c.id))?;
        }
        Ok(e)
    }

    pub fn read(path: &Path) -> Result<Expectations, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Expectations::parse(path, &text)
    }

    /// The entries for `id` whose conditions hold on `run`.
    fn for_case<'a>(&'a self, id: &'a str, run: &'a Run) -> impl Iterator<Item = &'a Entry> {
        self.cases
            .iter()
            .filter(move |e| e.id == id && e.applies_to(run))
    }

    /// Classifies one case of `run`.
    pub fn classify(&self, run: &Run, case: &CaseRow) -> Class {
        let listed: Vec<&Entry> = self.for_case(&case.id, run).collect();
        let failed = is_failure(&case.verdict);
        match (listed.is_empty(), failed, case.ran()) {
            (true, true, _) => Class::UnlistedFailure,
            (true, false, true) => Class::Passed,
            (true, false, false) => Class::NotApplicable,
            (false, _, false) => Class::ListedNotApplicable,
            (false, false, true) => Class::UnexpectedPass,
            (false, true, true) => {
                let seen = case.outcome();
                if listed.iter().any(|e| e.observed == seen) {
                    Class::ExpectedFailure
                } else {
                    Class::FailedDifferently(listed.iter().map(|e| e.observed.clone()).collect())
                }
            }
        }
    }

    /// Holds `run` against the file: each case's class, plus the applicable entries
    /// whose case is not in the results at all.
    pub fn gate(&self, run: &Run) -> Gate {
        let classes = run
            .cases
            .iter()
            .map(|c| (c.id.clone(), c.outcome(), self.classify(run, c)))
            .collect();
        let missing = self
            .cases
            .iter()
            .filter(|e| e.applies_to(run) && run.case(&e.id).is_none())
            .map(|e| e.id.clone())
            .collect();
        Gate {
            run: run.name.clone(),
            classes,
            missing,
        }
    }

    /// The file for what `runs` show: an entry per failing case and observation. Where
    /// a case fails on only some of the runs, or differently, and the architecture or the
    /// page size tells those runs apart, the entry is conditioned on it; otherwise it is
    /// unconditional and a note says the runs disagree. Notes of `previous` entries with
    /// the same case and observation are kept.
    pub fn from_runs(runtime: &str, runs: &[Run], previous: &Expectations) -> Expectations {
        let mut order: Vec<&str> = Vec::new();
        // case id -> observation -> the runs that gave it
        let mut failing: BTreeMap<&str, BTreeMap<String, Vec<&Run>>> = BTreeMap::new();
        for run in runs {
            for c in run.cases.iter().filter(|c| is_failure(&c.verdict)) {
                if !failing.contains_key(c.id.as_str()) {
                    order.push(&c.id);
                }
                failing
                    .entry(&c.id)
                    .or_default()
                    .entry(c.outcome())
                    .or_default()
                    .push(run);
            }
        }
        let mut cases = Vec::new();
        for id in order {
            for (observed, seen_on) in &failing[id] {
                // The runs on which this case did something else (or did not run).
                let others: Vec<&Run> = runs
                    .iter()
                    .filter(|r| !seen_on.iter().any(|s| s.name == r.name))
                    .collect();
                let mut e = Entry {
                    id: id.to_string(),
                    observed: observed.clone(),
                    ..Entry::default()
                };
                if !others.is_empty() {
                    let arches: Vec<String> = dedup(seen_on.iter().map(|r| r.host.arch.clone()));
                    let pages: Vec<usize> = dedup(seen_on.iter().map(|r| r.host.page_size));
                    if others.iter().all(|o| !arches.contains(&o.host.arch)) {
                        e.arch = arches;
                    } else if others.iter().all(|o| !pages.contains(&o.host.page_size)) {
                        e.page_size = pages;
                    }
                }
                // Where neither tells the runs apart, the previous file's conditions for
                // this case and observation are kept when they still do (a release range
                // or an `under` written by hand: the generator cannot derive those).
                if !others.is_empty() && e.arch.is_empty() && e.page_size.is_empty() {
                    let kept = previous.cases.iter().find(|p| {
                        p.id == e.id
                            && p.observed == e.observed
                            && p.has_conditions()
                            && seen_on.iter().all(|r| p.applies_to(r))
                            && !others.iter().any(|r| p.applies_to(r))
                    });
                    if let Some(p) = kept {
                        e.arch = p.arch.clone();
                        e.page_size = p.page_size.clone();
                        e.release = p.release.clone();
                        e.under = p.under.clone();
                    }
                }
                let unsplit = !others.is_empty()
                    && e.arch.is_empty()
                    && e.page_size.is_empty()
                    && e.release.is_empty()
                    && e.under.is_empty();
                e.note = previous
                    .cases
                    .iter()
                    .find(|p| p.id == e.id && p.observed == e.observed && !p.note.is_empty())
                    .map(|p| p.note.clone())
                    .unwrap_or_else(|| {
                        let names: Vec<&str> = seen_on.iter().map(|r| r.name.as_str()).collect();
                        let mut n = format!("seen on {}; no bug linked yet", names.join(", "));
                        if unsplit {
                            n.push_str("; the runs disagree and no condition tells them apart");
                        }
                        n
                    });
                cases.push(e);
            }
        }
        Expectations {
            runtime: if runtime.is_empty() {
                previous.runtime.clone()
            } else {
                runtime.to_string()
            },
            cases,
        }
    }

    /// Entries of `self` that `new` no longer has (same case, observation and
    /// conditions), for naming when a file is regenerated.
    pub fn dropped_in(&self, new: &Expectations) -> Vec<&Entry> {
        self.cases
            .iter()
            .filter(|old| {
                !new.cases.iter().any(|n| {
                    n.id == old.id
                        && n.observed == old.observed
                        && n.arch == old.arch
                        && n.page_size == old.page_size
                        && n.release == old.release
                        && n.under == old.under
                })
            })
            .collect()
    }

    /// The file's text: a header saying what it is, then the entries.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("expectations serialise");
        format!(
            "# mmapconf expectations: the cases this runtime is known to get wrong, and what it\n\
             # gives instead (the format: cases/README.md, \"Expectations per runtime\").\n\
             # Written by `mmapconf expectations --from`; edit the notes, keep the rest.\n\n{body}"
        )
    }
}

fn dedup<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// One run held against an expectations file.
#[derive(Debug)]
pub struct Gate {
    pub run: String,
    /// (case id, observation, class) in the run's order.
    pub classes: Vec<(String, String, Class)>,
    /// Applicable entries whose case the run does not have.
    pub missing: Vec<String>,
}

impl Gate {
    pub fn passed(&self) -> bool {
        !self.classes.iter().any(|(_, _, c)| c.fails_gate())
    }

    pub fn count(&self, f: impl Fn(&Class) -> bool) -> usize {
        self.classes.iter().filter(|(_, _, c)| f(c)).count()
    }

    /// What a person reads: one line of counts, then a line per case that fails the gate
    /// and per entry that did not apply.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} expected failures, {} unexpected passes, {} failed differently, {} unlisted failures: {}\n",
            self.run,
            self.count(|c| *c == Class::ExpectedFailure),
            self.count(|c| *c == Class::UnexpectedPass),
            self.count(|c| matches!(c, Class::FailedDifferently(_))),
            self.count(|c| *c == Class::UnlistedFailure),
            if self.passed() {
                "no change"
            } else {
                "CHANGED"
            }
        );
        for (id, seen, c) in &self.classes {
            match c {
                Class::FailedDifferently(listed) => {
                    let _ = writeln!(
                        s,
                        "  {}: {id}: observed `{seen}`, listed `{}`",
                        c.label(),
                        listed.join("` or `")
                    );
                }
                Class::UnexpectedPass => {
                    let _ = writeln!(s, "  {}: {id}: remove its entry", c.label());
                }
                Class::UnlistedFailure => {
                    let _ = writeln!(s, "  {}: {id}: observed `{seen}`", c.label());
                }
                Class::ListedNotApplicable => {
                    let _ = writeln!(s, "  note: {id} is listed but was not applicable");
                }
                _ => {}
            }
        }
        for id in &self.missing {
            let _ = writeln!(s, "  note: {id} is listed but not in the results");
        }
        s
    }
}

/// `mmapconf gate`: holds each results file against the expectations file; 0 when none
/// changed, 1 when one did, 2 when a file cannot be read.
pub fn gate_files(expectations: &Path, results: &[std::path::PathBuf]) -> u8 {
    let e = match Expectations::read(expectations) {
        Ok(e) => e,
        Err(m) => {
            eprintln!("error: {m}");
            return 2;
        }
    };
    let mut code = 0;
    for f in results {
        match Run::read(f) {
            Ok(run) => {
                let g = e.gate(&run);
                print!("{}", g.summary());
                if !g.passed() {
                    code = 1;
                }
            }
            Err(m) => {
                eprintln!("error: {m}");
                return 2;
            }
        }
    }
    code
}

/// `mmapconf expectations --from`: writes the file for the runs given (to `out`, or
/// stdout); when `out` exists its notes are kept and its entries that no longer match are
/// named on stderr. 0 written, 2 unreadable input or unwritable output.
pub fn write_from(runtime: &str, from: &[std::path::PathBuf], out: Option<&Path>) -> u8 {
    let mut runs = Vec::new();
    for f in from {
        match Run::read(f) {
            Ok(r) => runs.push(r),
            Err(m) => {
                eprintln!("error: {m}");
                return 2;
            }
        }
    }
    let previous = match out.filter(|p| p.exists()) {
        Some(p) => match Expectations::read(p) {
            Ok(e) => e,
            Err(m) => {
                eprintln!("error: {m}");
                return 2;
            }
        },
        None => Expectations::default(),
    };
    let new = Expectations::from_runs(runtime, &runs, &previous);
    for old in previous.dropped_in(&new) {
        eprintln!(
            "no longer matches: {} (listed `{}`): entry dropped",
            old.id, old.observed
        );
    }
    let text = new.to_toml();
    match out {
        None => print!("{text}"),
        Some(p) => {
            if let Err(e) = std::fs::write(p, &text) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return 2;
            }
            eprintln!(
                "wrote {} entries for {} run(s) to {}",
                new.cases.len(),
                runs.len(),
                p.display()
            );
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::merge::tests::{case, run};

    fn file(text: &str) -> Expectations {
        Expectations::parse(Path::new("x.toml"), text).unwrap()
    }

    fn qemu() -> Run {
        let mut r = run(
            "qemu",
            "linux",
            vec![
                case("a.listed-same", &[], "fail", "ok (0x7f00)"),
                case("b.listed-passes", &[], "pass", "EINVAL"),
                case("c.listed-other", &[], "fail", "ENOMEM"),
                case("d.unlisted", &[], "fail", "ok"),
                case("e.fine", &[], "known-deviation", "ok"),
            ],
        );
        r.host.arch = "aarch64".into();
        r
    }

    const LISTED: &str = r#"
runtime = "qemu-user"
[[case]]
id = "a.listed-same"
observed = "ok"
note = "https://example.org/bug/1"
[[case]]
id = "b.listed-passes"
observed = "ok"
[[case]]
id = "c.listed-other"
observed = "ok"
"#;

    #[test]
    fn a_case_failing_as_listed_is_an_expected_failure() {
        let r = qemu();
        assert_eq!(
            file(LISTED).classify(&r, &r.cases[0]),
            Class::ExpectedFailure
        );
    }

    #[test]
    fn a_listed_case_that_passes_now_fails_the_gate() {
        let r = qemu();
        let c = file(LISTED).classify(&r, &r.cases[1]);
        assert_eq!(c, Class::UnexpectedPass);
        assert!(c.fails_gate());
    }

    #[test]
    fn a_listed_case_failing_differently_fails_the_gate() {
        let r = qemu();
        let c = file(LISTED).classify(&r, &r.cases[2]);
        assert_eq!(c, Class::FailedDifferently(vec!["ok".into()]));
        assert!(c.fails_gate());
    }

    #[test]
    fn an_unlisted_failure_fails_the_gate_and_a_deviation_does_not() {
        let r = qemu();
        let e = file(LISTED);
        assert_eq!(e.classify(&r, &r.cases[3]), Class::UnlistedFailure);
        assert_eq!(e.classify(&r, &r.cases[4]), Class::Passed);
        let g = e.gate(&r);
        assert!(!g.passed());
        assert!(g.summary().contains("UNLISTED FAILURE: d.unlisted"));
    }

    #[test]
    fn an_entry_applies_only_where_its_conditions_hold() {
        let r = qemu();
        let mut e = Entry {
            id: "a.listed-same".into(),
            observed: "ok".into(),
            arch: vec!["x86_64".into()],
            ..Entry::default()
        };
        assert!(!e.applies_to(&r));
        e.arch = vec!["aarch64".into()];
        e.page_size = vec![16384];
        assert!(e.applies_to(&r));
        e.release = "<1.0".into();
        assert!(!e.applies_to(&r));
        e.release = ">=1.0, <2".into();
        e.under = "qemu".into();
        assert!(!e.applies_to(&r), "host.under is empty");
    }

    #[test]
    fn releases_compare_by_number_not_by_text() {
        assert_eq!(release_in(">=6.9", "6.12.118+deb13-amd64"), Ok(true));
        assert_eq!(release_in("<6.12", "6.12.118"), Ok(false));
        assert_eq!(release_in("=4.4.0", "4.4.0"), Ok(true));
        assert!(release_in("~6", "6.1").is_err());
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_file_and_line() {
        let err = Expectations::parse(
            Path::new("gvisor.toml"),
            "[[case]]\nid = \"a\"\nobserved = \"ok\"\nstatus = \"x\"\n",
        )
        .unwrap_err();
        assert!(err.starts_with("gvisor.toml:"), "{err}");
        assert!(err.contains("status"), "{err}");
    }

    #[test]
    fn a_file_written_from_a_run_gates_that_run_as_no_change() {
        let r = qemu();
        let e = Expectations::from_runs("qemu-user", std::slice::from_ref(&r), &file(LISTED));
        let back = file(&e.to_toml());
        assert_eq!(back, e);
        assert!(back.gate(&r).passed(), "{}", back.gate(&r).summary());
        let ids: Vec<&str> = back.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a.listed-same", "c.listed-other", "d.unlisted"]);
        assert_eq!(back.cases[0].note, "https://example.org/bug/1");
    }

    #[test]
    fn regenerating_names_the_entries_that_no_longer_match() {
        let r = qemu();
        let old = file(LISTED);
        let new = Expectations::from_runs("", std::slice::from_ref(&r), &old);
        let dropped: Vec<(&str, &str)> = old
            .dropped_in(&new)
            .iter()
            .map(|e| (e.id.as_str(), e.observed.as_str()))
            .collect();
        assert_eq!(
            dropped,
            [("b.listed-passes", "ok"), ("c.listed-other", "ok")]
        );
    }

    #[test]
    fn a_failure_on_one_architecture_only_is_conditioned_on_it() {
        let a64 = qemu();
        let mut x86 = qemu();
        x86.name = "qemu-x86".into();
        x86.host.arch = "x86_64".into();
        x86.cases[3].verdict = "pass".into();
        let e = Expectations::from_runs("q", &[a64.clone(), x86.clone()], &Expectations::default());
        let d = e.cases.iter().find(|c| c.id == "d.unlisted").unwrap();
        assert_eq!(d.arch, ["aarch64"]);
        assert!(e.gate(&a64).passed() && e.gate(&x86).passed());
    }

    #[test]
    fn a_release_condition_written_by_hand_survives_regeneration_while_it_still_holds() {
        let mut old61 = qemu();
        old61.host.release = "6.1.0".into();
        let mut new612 = qemu();
        new612.name = "qemu-new".into();
        new612.host.release = "6.12.0".into();
        new612.cases[3].verdict = "pass".into();
        let observed = old61.cases[3].outcome();
        let hand = Expectations {
            runtime: "q".into(),
            cases: vec![Entry {
                id: "d.unlisted".into(),
                observed: observed.clone(),
                note: "fixed in 6.12".into(),
                release: "<6.12".into(),
                ..Entry::default()
            }],
        };
        let runs = [old61.clone(), new612.clone()];
        let e = Expectations::from_runs("q", &runs, &hand);
        let d = e.cases.iter().find(|c| c.id == "d.unlisted").unwrap();
        assert_eq!(
            (d.release.as_str(), d.note.as_str()),
            ("<6.12", "fixed in 6.12")
        );
        assert!(e.gate(&old61).passed() && e.gate(&new612).passed());
        // A condition the runs now contradict is not kept.
        let mut both = new612.clone();
        both.cases[3].verdict = old61.cases[3].verdict.clone();
        let e = Expectations::from_runs("q", &[old61, both], &hand);
        let d = e.cases.iter().find(|c| c.id == "d.unlisted").unwrap();
        assert!(d.release.is_empty(), "{d:?}");
    }
}
