//! Merging runs: reads one or more `results.json` files (one per kernel) and works out,
//! against the clause registry, everything the report shows: each cell's mark, the
//! clauses each kernel contradicts, the cases where kernels differ, the clauses without a
//! case, and how kernels fare against historical pages. The renderers only format this.

use crate::registry::{Clause, Page, Registry};
use crate::repro::compare::{self, CaseCheck, HarnessCase, ReproFile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The version of results.json's shape that `run` writes and this reader knows: 1 was
/// unversioned (no `schema_version`, no `case_hash`); 2 added both.
pub const SCHEMA_VERSION: u32 = 2;

fn schema_version_one() -> u32 {
    1
}

/// One kernel's run, as read from its results.json.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    /// The file's shape; absent in files written before it was versioned (version 1).
    #[serde(default = "schema_version_one")]
    pub schema_version: u32,
    /// Column key: the results file's directory name (or file stem).
    #[serde(default)]
    pub name: String,
    pub host: HostFacts,
    pub cases: Vec<CaseRow>,
    #[serde(default)]
    pub finished_at: u64,
    /// When this run stands for a group of runs with identical observations (see
    /// `group`): each member's name and full label. Empty for a plain run.
    #[serde(skip)]
    pub members: Vec<(String, String)>,
    /// The `repro.json` beside the results file, when there is one: the C reproducers
    /// run on the same runtime (`mmapconf repro --run-bins`), or why it cannot be read.
    #[serde(skip)]
    pub repro: Option<Result<ReproFile, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HostFacts {
    /// `linux` or `freebsd`; absent on an OS the suite has no expectations for.
    pub os: Option<String>,
    pub os_name: String,
    pub release: String,
    pub arch: String,
    pub page_size: usize,
    #[serde(default)]
    pub under: String,
    /// The sysctls that change mmap-family answers, as `name=value` (older results files
    /// have none).
    #[serde(default)]
    pub tunables: Vec<String>,
    /// `little` or `big` (absent in older results files).
    #[serde(default)]
    pub endian: String,
    /// 64 or 32: the ABI's word (0 in older results files).
    #[serde(default)]
    pub word_bits: u32,
    /// The user address space and the paging levels it implies, where they could be read.
    #[serde(default)]
    pub paging: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CaseRow {
    pub id: String,
    pub title: String,
    pub clauses: Vec<String>,
    pub file: String,
    pub verdict: String,
    #[serde(default)]
    pub unverified: bool,
    pub call: String,
    pub expected: String,
    pub observed: String,
    #[serde(default)]
    pub steps: Vec<StepRow>,
    #[serde(default)]
    pub deviations: Vec<DeviationRow>,
    #[serde(default)]
    pub message: String,
    /// SHA-256 of the case definition in canonical form: it changes when the case does,
    /// and only then (absent before schema version 2).
    #[serde(default)]
    pub case_hash: String,
    /// Why the harness could not run the case (verdict `broken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<TroubleRow>,
    /// The observation in the reproducers' normal form (cases/README.md, "Reproducers"),
    /// compared with `repro.json` beside results.json (absent in runs made before it was
    /// recorded, and for cases that did not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal_observation: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TroubleRow {
    pub call: String,
    #[serde(default)]
    pub errno: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepRow {
    pub step: usize,
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeviationRow {
    pub step: Option<usize>,
    pub why: String,
    pub evidence: String,
    /// Empty: every clause the case cites for the kernel's OS.
    #[serde(default)]
    pub contradicts: Vec<String>,
}

impl Run {
    /// Reads a results.json; the run is named after its directory.
    pub fn read(path: &Path) -> Result<Run, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut run: Run = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a mmapconf results file: {e}", path.display()))?;
        if run.schema_version > SCHEMA_VERSION {
            return Err(format!(
                "{}: schema_version {} is newer than this mmapconf reads (up to {SCHEMA_VERSION}): use a newer mmapconf",
                path.display(),
                run.schema_version
            ));
        }
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let parent = path
            .parent()
            .and_then(Path::file_name)
            .map(|s| s.to_string_lossy().into_owned());
        run.name = match (stem.as_deref(), parent) {
            (Some("results"), Some(dir)) => dir,
            (Some(stem), _) => stem.to_string(),
            _ => path.display().to_string(),
        };
        let beside = path.with_file_name(compare::REPRO_FILE);
        if beside.exists() {
            run.repro = Some(
                std::fs::read_to_string(&beside)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
                    .map_err(|e| format!("{}: {e}", beside.display())),
            );
        }
        Ok(run)
    }

    /// OS, release, arch and page size; for a group, how many runs it holds.
    pub fn short_label(&self) -> String {
        if self.members.len() > 1 {
            return format!("{} identical runs", self.members.len());
        }
        let h = &self.host;
        let page = if h.page_size.is_multiple_of(1024) {
            format!("{} KiB pages", h.page_size / 1024)
        } else {
            format!("{}-byte pages", h.page_size)
        };
        let mut s = format!("{} {} {}, {page}", h.os_name, h.release, h.arch);
        if !h.endian.is_empty() {
            s.push_str(&format!(", {}-endian", h.endian));
        }
        if h.word_bits != 0 {
            s.push_str(&format!(", {}-bit", h.word_bits));
        }
        if !h.paging.is_empty() {
            s.push_str(&format!(", {}", h.paging));
        }
        s
    }

    /// The kernel's full description: [`Run::short_label`] and what it ran under.
    pub fn label(&self) -> String {
        if self.members.len() > 1 {
            let names: Vec<&str> = self.members.iter().map(|(n, _)| n.as_str()).collect();
            return format!("{}: {}", self.short_label(), names.join(", "));
        }
        let h = &self.host;
        let mut s = self.short_label();
        if !h.under.is_empty() {
            s.push_str(&format!("; under {}", h.under));
        }
        if !h.tunables.is_empty() {
            s.push_str(&format!("; {}", h.tunables.join(", ")));
        }
        s
    }

    pub fn case(&self, id: &str) -> Option<&CaseRow> {
        self.cases.iter().find(|c| c.id == id)
    }

    /// Whether a page's clauses hold for this kernel (its own OS's pages, and POSIX).
    pub fn bound_by(&self, page: &Page) -> bool {
        page.os == "posix" || self.host.os.as_deref() == Some(page.os.as_str())
    }
}

impl CaseRow {
    /// Whether the kernel was tested: not for a case that does not apply, nor for one the
    /// harness could not run (broken).
    pub fn ran(&self) -> bool {
        self.verdict != "not-applicable" && !self.is_broken()
    }

    /// The harness could not run the case: says nothing about the kernel.
    pub fn is_broken(&self) -> bool {
        self.verdict == "broken"
    }

    /// Why the case is broken: the failing call and errno, else the message.
    pub fn trouble(&self) -> String {
        match &self.broken {
            Some(t) => t.reason.clone(),
            None => self.message.clone(),
        }
    }

    /// The call's outcome in one word: `ok`, an errno name, or a signal.
    pub fn call_outcome(&self) -> &str {
        self.observed.split_whitespace().next().unwrap_or("")
    }

    /// What was observed, comparable across runs: the call's outcome without addresses,
    /// and every step that did not pass.
    pub fn outcome(&self) -> String {
        if self.is_broken() {
            return "broken".into();
        }
        if !self.ran() {
            return "n/a".into();
        }
        let mut s = self.observed.split(" (0x").next().unwrap_or("").to_string();
        for step in self.steps.iter().filter(|s| s.verdict != "pass") {
            s.push_str(&format!("; step {}: {}", step.step, step.observed));
        }
        s
    }

    /// Whether the observed behaviour contradicts `clause`: a failure implicates every
    /// clause the case cites; a recorded deviation only those it names (if it names any).
    pub fn contradicts(&self, clause: &str) -> bool {
        match self.verdict.as_str() {
            "known-deviation" => self
                .deviations
                .iter()
                .any(|d| d.contradicts.is_empty() || d.contradicts.iter().any(|c| c == clause)),
            "fail" => true,
            _ => false,
        }
    }

    /// Whether the call came out as the case expects (passed, or a recorded deviation is
    /// on a step, not on the call): only then did the case run as written, its steps
    /// included (they run only after an expected success).
    pub fn ran_as_written(&self) -> bool {
        matches!(self.verdict.as_str(), "pass" | "known-deviation")
            && !self.deviations.iter().any(|d| d.step.is_none())
    }

    /// Whether what this case observed shows `clause` holding. A clause that promises an
    /// outcome (an errno, a signal) is shown only by a call or step that passed with
    /// exactly that outcome: a case accepting EACCES or ENODEV shows only the clause of
    /// the errno that came back. Any other clause is about the case as a whole, so it is
    /// shown only when the case ran as written: a call that deviated leaves the steps, and
    /// what they were to show, unrun.
    pub fn exhibits(&self, clause: &Clause) -> bool {
        if !self.ran_as_written() {
            return false;
        }
        match &clause.promises {
            None => true,
            Some(p) => {
                p.seen_in(&self.observed)
                    || self
                        .steps
                        .iter()
                        .any(|s| s.verdict == "pass" && p.seen_in(&s.observed))
            }
        }
    }

    /// What was expected, in the same shape as [`CaseRow::outcome`]: the call's
    /// expectation and that of every step that did not pass.
    pub fn expectation(&self) -> String {
        let mut s = self.expected.clone();
        for step in self.steps.iter().filter(|s| s.verdict != "pass") {
            s.push_str(&format!("; step {}: {}", step.step, step.expected));
        }
        s
    }

    /// The recorded evidence, or why there is none.
    pub fn evidence(&self) -> String {
        if self.deviations.is_empty() {
            return "none recorded: an unexplained failure".into();
        }
        self.deviations
            .iter()
            .map(|d| format!("{} (evidence: {})", d.why, d.evidence))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// How one kernel's result stands against one clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    /// The case showed the clause holding: its promised outcome was observed.
    Conforms,
    /// The case conforms but did not show this clause: another of the outcomes it
    /// accepts came back, or the part of the case the clause is about never ran.
    NotExhibited,
    /// Deviates, and a deviation with evidence is recorded.
    KnownDeviation,
    /// Deviates with nothing recorded.
    Fail,
    NotApplicable,
    /// The clause is another OS's; the observation is shown for comparison only.
    OtherOs,
    /// The harness could not run the case: nothing is known about the clause.
    Broken,
}

impl Mark {
    /// How `case` on `run` stands against `clause` of `page`.
    pub fn of(run: &Run, page: &Page, case: &CaseRow, clause: &Clause) -> Mark {
        if case.is_broken() {
            return Mark::Broken;
        }
        if !case.ran() {
            return Mark::NotApplicable;
        }
        if !run.bound_by(page) {
            return Mark::OtherOs;
        }
        let shown = || {
            if case.exhibits(clause) {
                Mark::Conforms
            } else {
                Mark::NotExhibited
            }
        };
        match case.verdict.as_str() {
            "pass" => shown(),
            "known-deviation" if case.contradicts(&clause.id) => Mark::KnownDeviation,
            "known-deviation" => shown(),
            // An observation of what the clause leaves unspecified shows nothing holding.
            "observed" => Mark::NotExhibited,
            _ => Mark::Fail,
        }
    }

    pub fn deviates(self) -> bool {
        matches!(self, Mark::KnownDeviation | Mark::Fail)
    }

    pub fn label(self) -> &'static str {
        match self {
            Mark::Conforms => "conforms",
            Mark::NotExhibited => "not exhibited here",
            Mark::KnownDeviation => "deviates (known)",
            Mark::Fail => "deviates (FAIL)",
            Mark::NotApplicable => "n/a",
            Mark::OtherOs => "other OS",
            Mark::Broken => "not run (BROKEN: harness trouble)",
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub struct Cell {
    pub mark: Mark,
    /// The case's outcome is not the same on every kernel.
    pub differs: bool,
    pub outcome: String,
}

impl Cell {
    /// The cell's symbols, for text renderings.
    pub fn symbol(&self) -> String {
        let m = match self.mark {
            Mark::Conforms => "✓",
            Mark::NotExhibited => "○",
            Mark::KnownDeviation => "≠",
            Mark::Fail => "✗",
            Mark::NotApplicable => "–",
            Mark::OtherOs => "·",
            Mark::Broken => "!",
        };
        if self.differs {
            format!("{m}◆")
        } else {
            m.into()
        }
    }
}

/// One clause that a kernel's observed behaviour contradicts.
#[derive(Debug, Clone, Serialize)]
pub struct Contradiction {
    pub run: String,
    pub clause: String,
    pub page: String,
    /// The clause as read from the page given, or the registry's summary.
    pub clause_text: String,
    pub text_from_page: bool,
    pub case: String,
    pub call: String,
    pub expected: String,
    pub observed: String,
    pub mark: Mark,
    pub evidence: String,
}

/// A case whose outcome is not the same on every kernel it ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub case: String,
    pub title: String,
    pub clauses: Vec<String>,
    /// Per run (in run order): verdict and outcome, `None` where the case did not run.
    pub outcomes: Vec<Option<(String, String)>>,
}

/// A historical clause's promise against what a kernel does today.
#[derive(Debug, Clone, Serialize)]
pub struct HistoricalCheck {
    pub run: String,
    pub page: String,
    pub clause: String,
    pub summary: String,
    pub predicts: String,
    pub case: String,
    pub observed: String,
    pub holds: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub page: String,
    pub clauses: usize,
    pub covered: usize,
    /// IDs of clauses no case cites.
    pub uncovered: Vec<String>,
}

/// A clause of a page binding a kernel that cases cite but none showed holding on it.
#[derive(Debug, Clone, Serialize)]
pub struct Unobserved {
    pub run: String,
    pub page: String,
    pub clause: String,
    /// What the citing cases did instead: not exhibited, deviated, did not apply.
    pub why: String,
}

/// One run's C reproducers (its `repro.json`) held against the run's own observations.
#[derive(Debug, Clone, Serialize)]
pub struct ReproColumn {
    pub run: String,
    pub agree: usize,
    pub differ: usize,
    pub broken: usize,
    /// Cases the harness or the reproducers did not run there.
    pub not_compared: usize,
    /// Why the comparison could not be made (an unreadable repro.json, results without
    /// normal observations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cases that differ or whose reproducer is broken, with both observations.
    pub disagreements: Vec<CaseCheck>,
}

impl ReproColumn {
    /// The comparison for `run`, if it has a repro.json.
    pub fn of(run: &Run) -> Option<ReproColumn> {
        let mut col = ReproColumn {
            run: run.name.clone(),
            agree: 0,
            differ: 0,
            broken: 0,
            not_compared: 0,
            error: None,
            disagreements: Vec::new(),
        };
        let file = match run.repro.as_ref()? {
            Ok(f) => f,
            Err(e) => {
                col.error = Some(e.clone());
                return Some(col);
            }
        };
        let cases: Vec<HarnessCase> = run
            .cases
            .iter()
            .map(|c| HarnessCase {
                id: &c.id,
                verdict: &c.verdict,
                normal: c.normal_observation.as_ref(),
            })
            .collect();
        if !cases.is_empty() && cases.iter().all(|c| c.normal.is_none()) {
            col.error = Some(
                "its results.json has no normal observations (written by an older mmapconf)".into(),
            );
            return Some(col);
        }
        let checks = compare::against_results(&cases, file);
        [col.agree, col.differ, col.broken, col.not_compared] = compare::tally(&checks);
        col.disagreements = checks
            .into_iter()
            .filter(|c| {
                matches!(
                    c.verdict,
                    compare::Verdict::Differ { .. } | compare::Verdict::Broken { .. }
                )
            })
            .collect();
        Some(col)
    }
}

/// A page section's name and the IDs of its clauses that some case cites.
pub type Section = (String, Vec<String>);

/// Everything the report shows, for all renderers and the merged JSON.
#[derive(Debug, Serialize)]
pub struct Merged<'r> {
    pub tool: &'static str,
    pub version: &'static str,
    /// The newest run's end, seconds since the Unix epoch (keeps reports reproducible).
    pub newest_run: u64,
    pub runs: Vec<Run>,
    #[serde(skip)]
    pub registry: &'r Registry,
    /// Page keys in report order, then per page its sections in page order, each with the
    /// clauses some case cites.
    pub sections: Vec<(String, Vec<Section>)>,
    /// clause id -> ids of the cases citing it (in any run).
    pub cases_of: BTreeMap<String, Vec<String>>,
    pub contradictions: Vec<Contradiction>,
    pub differences: Vec<Difference>,
    pub historical: Vec<HistoricalCheck>,
    pub coverage: Vec<Coverage>,
    /// Per kernel, the cited clauses no case showed holding there ("never observed here").
    pub unobserved: Vec<Unobserved>,
    /// Clause texts read from man pages given to the report, by clause id.
    pub page_texts: BTreeMap<String, String>,
    /// The man pages those texts were read from (file and version line).
    pub pages_read: Vec<String>,
    /// case id -> the reproducer written beside the report (`repro/<case-id>.c`), which
    /// the red cells of the pages link. Filled by whoever writes the files.
    #[serde(skip)]
    pub reproducers: BTreeMap<String, String>,
    /// Per run that has a repro.json beside its results (every run, not one per group of
    /// identical runs): its reproducers against its own observations.
    pub repro_runs: Vec<ReproColumn>,
}

/// Order of sections on a page, as man pages lay them out.
const SECTION_ORDER: [&str; 10] = [
    "DESCRIPTION",
    "RETURN VALUE",
    "RETURN VALUES",
    "ERRORS",
    "VERSIONS",
    "STANDARDS",
    "HISTORY",
    "NOTES",
    "CAVEATS",
    "BUGS",
];

/// Sorts IDs so that `EINVAL.10` follows `EINVAL.9`.
pub fn natural_key(id: &str) -> Vec<(String, u64)> {
    id.split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (String::new(), n),
            Err(_) => (part.to_string(), 0),
        })
        .collect()
}

fn page_order(p: &Page) -> (bool, usize, String) {
    let os = ["linux", "freebsd", "posix"]
        .iter()
        .position(|o| *o == p.os)
        .unwrap_or(3);
    (p.historical, os, p.key.clone())
}

impl<'r> Merged<'r> {
    pub fn new(
        runs: Vec<Run>,
        registry: &'r Registry,
        page_texts: BTreeMap<String, String>,
    ) -> Self {
        let mut cases_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut case_ids: Vec<&str> = Vec::new();
        for run in &runs {
            for c in &run.cases {
                if !case_ids.contains(&c.id.as_str()) {
                    case_ids.push(&c.id);
                    for cl in &c.clauses {
                        cases_of.entry(cl.clone()).or_default().push(c.id.clone());
                    }
                }
            }
        }

        let mut pages: Vec<&Page> = registry.pages.values().collect();
        pages.sort_by_key(|p| page_order(p));
        let mut sections = Vec::new();
        let mut coverage = Vec::new();
        for page in &pages {
            let mut clauses: Vec<&Clause> = registry.clauses_of(&page.key).collect();
            clauses.sort_by_key(|c| natural_key(&c.id));
            let mut by_section: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
            for c in clauses.iter().filter(|c| cases_of.contains_key(&c.id)) {
                let rank = SECTION_ORDER
                    .iter()
                    .position(|s| *s == c.section)
                    .unwrap_or(SECTION_ORDER.len());
                by_section
                    .entry((rank, c.section.clone()))
                    .or_default()
                    .push(c.id.clone());
            }
            if !by_section.is_empty() {
                sections.push((
                    page.key.clone(),
                    by_section
                        .into_iter()
                        .map(|((_, s), ids)| (s, ids))
                        .collect(),
                ));
            }
            if !page.historical {
                let uncovered: Vec<String> = clauses
                    .iter()
                    .filter(|c| !cases_of.contains_key(&c.id))
                    .map(|c| c.id.clone())
                    .collect();
                coverage.push(Coverage {
                    page: page.key.clone(),
                    clauses: clauses.len(),
                    covered: clauses.len() - uncovered.len(),
                    uncovered,
                });
            }
        }

        let mut merged = Merged {
            tool: "mmapconf",
            version: env!("CARGO_PKG_VERSION"),
            newest_run: runs.iter().map(|r| r.finished_at).max().unwrap_or(0),
            runs: Vec::new(),
            registry,
            sections,
            cases_of,
            contradictions: Vec::new(),
            differences: Vec::new(),
            historical: Vec::new(),
            coverage,
            unobserved: Vec::new(),
            page_texts,
            pages_read: Vec::new(),
            reproducers: BTreeMap::new(),
            repro_runs: runs.iter().filter_map(ReproColumn::of).collect(),
        };
        merged.contradictions = merged.find_contradictions(&runs);
        merged.differences = differences(&runs, &case_ids);
        merged.historical = merged.hold_against_history(&runs);
        merged.unobserved = merged.never_observed(&runs);
        merged.runs = runs;
        merged
    }

    /// The cases some run failed (the pages' red cells), each with the OS and arch of the
    /// first run that failed it: what a reproducer beside the report is written for.
    pub fn red_cases(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for r in &self.runs {
            let Some(os) = &r.host.os else { continue };
            for c in r.cases.iter().filter(|c| c.verdict == "fail") {
                if !out.iter().any(|(id, _, _)| *id == c.id) {
                    out.push((c.id.clone(), os.clone(), r.host.arch.clone()));
                }
            }
        }
        out
    }

    /// The link to `case`'s reproducer, when one was written.
    pub fn reproducer(&self, case: &str) -> Option<&str> {
        self.reproducers.get(case).map(String::as_str)
    }

    /// One matrix cell: run `run`'s result for `case` under a clause of `page`.
    pub fn cell(&self, run: usize, case: &str, clause: &str) -> Option<Cell> {
        let r = &self.runs[run];
        let c = r.case(case)?;
        let page = self.registry.page_of(clause)?;
        let clause = self.registry.clauses.get(clause)?;
        Some(Cell {
            mark: Mark::of(r, page, c, clause),
            differs: c.ran() && self.differences.iter().any(|d| d.case == case),
            outcome: c.outcome(),
        })
    }

    pub fn page(&self, key: &str) -> &Page {
        &self.registry.pages[key]
    }

    /// Per run: (conforms, known deviations, fails, not applicable, broken) over its
    /// cases.
    pub fn tally(&self, run: usize) -> [usize; 5] {
        let mut t = [0; 5];
        for c in &self.runs[run].cases {
            let i = match c.verdict.as_str() {
                // Observed-only cases neither passed nor failed; counted with the passes.
                "pass" | "observed" => 0,
                "known-deviation" => 1,
                "not-applicable" => 3,
                "broken" => 4,
                _ => 2,
            };
            t[i] += 1;
        }
        t
    }

    /// The clause's text as the page given says it, else the registry's summary.
    pub fn clause_text(&self, id: &str) -> (String, bool) {
        match self.page_texts.get(id) {
            Some(t) => (t.clone(), true),
            None => (
                self.registry
                    .clauses
                    .get(id)
                    .map_or_else(|| "(not in the registry)".into(), |c| c.summary.clone()),
                false,
            ),
        }
    }

    fn find_contradictions(&self, runs: &[Run]) -> Vec<Contradiction> {
        let mut out = Vec::new();
        for run in runs {
            for case in &run.cases {
                for cl in &case.clauses {
                    let (Some(page), Some(clause)) =
                        (self.registry.page_of(cl), self.registry.clauses.get(cl))
                    else {
                        continue;
                    };
                    let mark = Mark::of(run, page, case, clause);
                    if page.historical || !mark.deviates() || !case.contradicts(cl) {
                        continue;
                    }
                    let (clause_text, text_from_page) = self.clause_text(cl);
                    out.push(Contradiction {
                        run: run.name.clone(),
                        clause: cl.clone(),
                        page: page.key.clone(),
                        clause_text,
                        text_from_page,
                        case: case.id.clone(),
                        call: case.call.clone(),
                        expected: case.expectation(),
                        observed: case.outcome(),
                        mark,
                        evidence: case.evidence(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (&a.run, natural_key(&a.clause), &a.case).cmp(&(
                &b.run,
                natural_key(&b.clause),
                &b.case,
            ))
        });
        out
    }

    /// Per run, the clauses of its current pages that cases cite but none marks
    /// conforming there: an errno the kernel never returns for any case shows up here on
    /// its own, beside the clauses no case cites at all (coverage).
    fn never_observed(&self, runs: &[Run]) -> Vec<Unobserved> {
        let mut out = Vec::new();
        for run in runs {
            let mut ids: Vec<&String> = self.cases_of.keys().collect();
            ids.sort_by_key(|id| natural_key(id));
            for id in ids {
                let (Some(page), Some(clause)) =
                    (self.registry.page_of(id), self.registry.clauses.get(id))
                else {
                    continue;
                };
                if page.historical || !run.bound_by(page) {
                    continue;
                }
                let mut count: BTreeMap<Mark, usize> = BTreeMap::new();
                for case in run.cases.iter().filter(|c| c.clauses.contains(id)) {
                    *count.entry(Mark::of(run, page, case, clause)).or_default() += 1;
                }
                if count.contains_key(&Mark::Conforms) {
                    continue;
                }
                let why = if count.is_empty() {
                    "no citing case in this run".to_string()
                } else {
                    count
                        .iter()
                        .map(|(m, n)| format!("{n} {}", m.label()))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push(Unobserved {
                    run: run.name.clone(),
                    page: page.key.clone(),
                    clause: id.clone(),
                    why,
                });
            }
        }
        out
    }

    fn hold_against_history(&self, runs: &[Run]) -> Vec<HistoricalCheck> {
        let mut out = Vec::new();
        for clause in self.registry.clauses.values() {
            let (Some(page), Some(predicts)) =
                (self.registry.pages.get(&clause.page), &clause.predicts)
            else {
                continue;
            };
            let mut about: BTreeSet<&str> = clause.now.iter().map(String::as_str).collect();
            about.insert(&clause.id);
            for run in runs.iter().filter(|r| r.bound_by(page)) {
                for case in run.cases.iter().filter(|c| c.ran()) {
                    if !case.clauses.iter().any(|c| about.contains(c.as_str())) {
                        continue;
                    }
                    out.push(HistoricalCheck {
                        run: run.name.clone(),
                        page: page.key.clone(),
                        clause: clause.id.clone(),
                        summary: clause.summary.clone(),
                        predicts: predicts.clone(),
                        case: case.id.clone(),
                        observed: case.outcome(),
                        holds: case.call_outcome() == predicts,
                    });
                }
            }
        }
        out
    }
}

fn differences(runs: &[Run], case_ids: &[&str]) -> Vec<Difference> {
    let mut out = Vec::new();
    for id in case_ids {
        let outcomes: Vec<Option<(String, String)>> = runs
            .iter()
            .map(|r| {
                r.case(id)
                    .filter(|c| c.ran())
                    .map(|c| (c.verdict.clone(), c.outcome()))
            })
            .collect();
        let seen: BTreeSet<&String> = outcomes.iter().flatten().map(|(_, o)| o).collect();
        if seen.len() > 1 {
            let c = runs
                .iter()
                .find_map(|r| r.case(id))
                .expect("id comes from a run");
            out.push(Difference {
                case: id.to_string(),
                title: c.title.clone(),
                clauses: c.clauses.clone(),
                outcomes,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn registry() -> Registry {
        let mut r = Registry::default();
        r.add_file(
            Path::new("linux-mmap.toml"),
            r#"[page]
os = "linux"
name = "mmap"
section = "2"
read_from = "test"
[clause]
"linux.mmap.errors.EINVAL.2" = { section = "ERRORS", summary = "EINVAL when length is 0" }
"linux.mmap.errors.EINVAL.10" = { section = "ERRORS", summary = "a tenth EINVAL" }
"linux.mmap.desc.1" = { section = "DESCRIPTION", summary = "maps" }
"linux.mmap.notes.1" = { section = "NOTES", summary = "uncited" }
"linux.mmap.errors.ENOMEM.1" = { section = "ERRORS", summary = "no memory" }
"#,
        )
        .unwrap();
        r.add_file(
            Path::new("posix-signal-h.toml"),
            r#"[page]
os = "posix"
name = "signal.h"
section = "0p"
read_from = "test"
[clause]
"posix.signal.SEGV_ACCERR" = { section = "DESCRIPTION", promises = "SIGSEGV SEGV_ACCERR", summary = "accerr" }
"#,
        )
        .unwrap();
        r.add_file(
            Path::new("hist-freebsd-6-1.toml"),
            r#"[page]
os = "freebsd"
name = "mmap"
section = "2"
read_from = "old"
historical = true
[clause]
"hist.freebsd-6.1.len0" = { section = "DESCRIPTION", summary = "zero succeeds", now = ["linux.mmap.errors.EINVAL.2"], predicts = "ok" }
"#,
        )
        .unwrap();
        r
    }

    pub fn case(id: &str, clauses: &[&str], verdict: &str, observed: &str) -> CaseRow {
        CaseRow {
            id: id.into(),
            title: format!("title of {id}"),
            clauses: clauses.iter().map(|s| s.to_string()).collect(),
            file: "cases/x.toml:1".into(),
            verdict: verdict.into(),
            unverified: false,
            call: "mmap(NULL, 0, PROT_READ, MAP_PRIVATE, 3, 0)".into(),
            expected: "EINVAL".into(),
            observed: observed.into(),
            steps: Vec::new(),
            deviations: Vec::new(),
            message: String::new(),
            case_hash: String::new(),
            broken: None,
            normal_observation: None,
        }
    }

    pub fn run(name: &str, os: &str, cases: Vec<CaseRow>) -> Run {
        Run {
            schema_version: SCHEMA_VERSION,
            name: name.into(),
            host: HostFacts {
                os: Some(os.into()),
                os_name: if os == "linux" { "Linux" } else { "FreeBSD" }.into(),
                release: "1.0".into(),
                arch: "x86_64".into(),
                page_size: 16384,
                under: String::new(),
                tunables: Vec::new(),
                endian: String::new(),
                word_bits: 0,
                paging: String::new(),
            },
            cases,
            finished_at: 7,
            members: Vec::new(),
            repro: None,
        }
    }

    pub fn two_kernels(reg: &Registry) -> Merged<'_> {
        let len0 = ["linux.mmap.errors.EINVAL.2", "linux.mmap.desc.1"];
        Merged::new(
            vec![
                run(
                    "linux-a",
                    "linux",
                    vec![
                        case("mmap.len0", &len0, "pass", "EINVAL"),
                        case(
                            "mmap.tenth",
                            &["linux.mmap.errors.EINVAL.10"],
                            "fail",
                            "ok (0x7f00)",
                        ),
                    ],
                ),
                run(
                    "linux-b",
                    "linux",
                    vec![
                        case("mmap.len0", &len0, "fail", "ok (0x7e00)"),
                        case(
                            "mmap.tenth",
                            &["linux.mmap.errors.EINVAL.10"],
                            "fail",
                            "ok (0x5000)",
                        ),
                    ],
                ),
            ],
            reg,
            BTreeMap::new(),
        )
    }

    #[test]
    fn a_failing_case_contradicts_each_clause_it_cites_on_its_own_os() {
        let reg = registry();
        let m = two_kernels(&reg);
        let found: Vec<(&str, &str, &str)> = m
            .contradictions
            .iter()
            .map(|c| (c.run.as_str(), c.clause.as_str(), c.case.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("linux-a", "linux.mmap.errors.EINVAL.10", "mmap.tenth"),
                ("linux-b", "linux.mmap.desc.1", "mmap.len0"),
                ("linux-b", "linux.mmap.errors.EINVAL.2", "mmap.len0"),
                ("linux-b", "linux.mmap.errors.EINVAL.10", "mmap.tenth"),
            ]
        );
        assert_eq!(
            m.contradictions[0].evidence,
            "none recorded: an unexplained failure"
        );
    }

    #[test]
    fn outcomes_differ_only_where_more_than_addresses_differ() {
        let reg = registry();
        let m = two_kernels(&reg);
        let ids: Vec<&str> = m.differences.iter().map(|d| d.case.as_str()).collect();
        assert_eq!(ids, ["mmap.len0"]);
        assert_eq!(
            m.differences[0].outcomes,
            [
                Some(("pass".into(), "EINVAL".into())),
                Some(("fail".into(), "ok".into()))
            ]
        );
    }

    #[test]
    fn sections_follow_the_page_and_ids_sort_naturally() {
        let reg = registry();
        let m = two_kernels(&reg);
        let (page, sections) = &m.sections[0];
        assert_eq!(page, "linux-mmap");
        let names: Vec<&str> = sections.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["DESCRIPTION", "ERRORS"]);
        assert_eq!(
            sections[1].1,
            ["linux.mmap.errors.EINVAL.2", "linux.mmap.errors.EINVAL.10"]
        );
        let cov = &m.coverage[0];
        assert_eq!((cov.clauses, cov.covered), (5, 3));
        assert_eq!(
            cov.uncovered,
            ["linux.mmap.errors.ENOMEM.1", "linux.mmap.notes.1"]
        );
    }

    #[test]
    fn an_old_page_is_held_only_against_kernels_of_its_os() {
        let reg = registry();
        let linux_only = two_kernels(&reg);
        assert!(linux_only.historical.is_empty());
        let bsd = Merged::new(
            vec![run(
                "freebsd-14",
                "freebsd",
                vec![case(
                    "mmap.len0",
                    &["linux.mmap.errors.EINVAL.2"],
                    "pass",
                    "EINVAL",
                )],
            )],
            &reg,
            BTreeMap::new(),
        );
        assert_eq!(bsd.historical.len(), 1);
        let h = &bsd.historical[0];
        assert_eq!(
            (h.predicts.as_str(), h.observed.as_str(), h.holds),
            ("ok", "EINVAL", false)
        );
    }

    #[test]
    fn a_deviation_naming_its_clause_contradicts_only_that_one() {
        let reg = registry();
        let mut c = case(
            "mmap.len0",
            &["linux.mmap.errors.EINVAL.2", "linux.mmap.desc.1"],
            "known-deviation",
            "ok (0x5000)",
        );
        c.deviations.push(DeviationRow {
            step: None,
            why: "w".into(),
            evidence: "e".into(),
            contradicts: vec!["linux.mmap.errors.EINVAL.2".into()],
        });
        let m = Merged::new(vec![run("k", "linux", vec![c])], &reg, BTreeMap::new());
        let found: Vec<&str> = m.contradictions.iter().map(|c| c.clause.as_str()).collect();
        assert_eq!(found, ["linux.mmap.errors.EINVAL.2"]);
        assert_eq!(
            m.cell(0, "mmap.len0", "linux.mmap.desc.1").unwrap().mark,
            Mark::NotExhibited,
            "the call deviated, so nothing after it ran to show desc.1"
        );
        assert_eq!(m.contradictions[0].evidence, "w (evidence: e)");
    }

    fn marks_of(m: &Merged, case: &str) -> Vec<(String, Mark)> {
        m.runs[0]
            .case(case)
            .unwrap()
            .clauses
            .iter()
            .map(|cl| (cl.clone(), m.cell(0, case, cl).unwrap().mark))
            .collect()
    }

    #[test]
    fn a_case_accepting_several_errnos_marks_only_the_clause_of_the_errno_that_came_back() {
        let reg = registry();
        let mut c = case(
            "mmap.either",
            &["linux.mmap.errors.EINVAL.2", "linux.mmap.errors.ENOMEM.1"],
            "pass",
            "ENOMEM",
        );
        c.expected = "EINVAL or ENOMEM".into();
        let m = Merged::new(vec![run("k", "linux", vec![c])], &reg, BTreeMap::new());
        assert_eq!(
            marks_of(&m, "mmap.either"),
            [
                ("linux.mmap.errors.EINVAL.2".to_string(), Mark::NotExhibited),
                ("linux.mmap.errors.ENOMEM.1".to_string(), Mark::Conforms),
            ]
        );
    }

    #[test]
    fn a_signal_clause_is_shown_only_by_a_passing_step_with_its_signal_and_code() {
        let reg = registry();
        let step = |observed: &str, verdict: &str| StepRow {
            step: 1,
            what: "read".into(),
            expected: "SIGSEGV SEGV_ACCERR".into(),
            observed: observed.into(),
            verdict: verdict.into(),
        };
        let mut right = case("mmap.accerr", &["posix.signal.SEGV_ACCERR"], "pass", "ok");
        right
            .steps
            .push(step("SIGSEGV SEGV_ACCERR at +0x0", "pass"));
        let mut other = case("mmap.maperr", &["posix.signal.SEGV_ACCERR"], "pass", "ok");
        other
            .steps
            .push(step("SIGSEGV SEGV_MAPERR at +0x0", "pass"));
        let m = Merged::new(
            vec![run("k", "linux", vec![right, other])],
            &reg,
            BTreeMap::new(),
        );
        assert_eq!(marks_of(&m, "mmap.accerr")[0].1, Mark::Conforms);
        assert_eq!(marks_of(&m, "mmap.maperr")[0].1, Mark::NotExhibited);
    }

    #[test]
    fn a_deviation_on_a_step_keeps_the_clauses_the_call_and_other_steps_showed() {
        let reg = registry();
        let mut c = case(
            "mmap.stepdev",
            &["linux.mmap.desc.1", "linux.mmap.notes.1"],
            "known-deviation",
            "ok (0x5000)",
        );
        c.deviations.push(DeviationRow {
            step: Some(1),
            why: "w".into(),
            evidence: "e".into(),
            contradicts: vec!["linux.mmap.notes.1".into()],
        });
        let m = Merged::new(vec![run("k", "linux", vec![c])], &reg, BTreeMap::new());
        assert_eq!(
            marks_of(&m, "mmap.stepdev"),
            [
                ("linux.mmap.desc.1".to_string(), Mark::Conforms),
                ("linux.mmap.notes.1".to_string(), Mark::KnownDeviation),
            ]
        );
    }

    #[test]
    fn a_clause_no_case_shows_on_a_kernel_is_listed_as_never_observed_there() {
        let reg = registry();
        let mut either = case(
            "mmap.either",
            &["linux.mmap.errors.EINVAL.2", "linux.mmap.errors.ENOMEM.1"],
            "pass",
            "ENOMEM",
        );
        either.expected = "EINVAL or ENOMEM".into();
        let shown = case(
            "mmap.shown",
            &["linux.mmap.errors.ENOMEM.1"],
            "pass",
            "ENOMEM",
        );
        let m = Merged::new(
            vec![
                run("a", "linux", vec![either.clone(), shown]),
                run("b", "freebsd", vec![either]),
            ],
            &reg,
            BTreeMap::new(),
        );
        let found: Vec<(&str, &str, &str)> = m
            .unobserved
            .iter()
            .map(|u| (u.run.as_str(), u.clause.as_str(), u.why.as_str()))
            .collect();
        assert_eq!(
            found,
            [("a", "linux.mmap.errors.EINVAL.2", "1 not exhibited here")],
            "a FreeBSD run is not held to Linux's page"
        );
    }

    #[test]
    fn expectation_and_outcome_both_name_the_step_that_failed() {
        let mut c = case("c", &[], "fail", "ok (0x7f00)");
        c.expected = "ok".into();
        c.steps.push(StepRow {
            step: 2,
            what: "read".into(),
            expected: "SIGSEGV SEGV_ACCERR".into(),
            observed: "SIGSEGV SEGV_MAPERR at +0x0".into(),
            verdict: "fail".into(),
        });
        assert_eq!(c.expectation(), "ok; step 2: SIGSEGV SEGV_ACCERR");
        assert_eq!(c.outcome(), "ok; step 2: SIGSEGV SEGV_MAPERR at +0x0");
    }

    /// A full disk once made 51 FAILs and 143 contradictions: a broken case must make none.
    #[test]
    fn a_broken_case_contradicts_nothing_and_is_tallied_apart() {
        let reg = registry();
        let len0 = ["linux.mmap.errors.EINVAL.2", "linux.mmap.desc.1"];
        let mut broken = case("mmap.len0", &len0, "broken", "not run: ENOSPC");
        broken.broken = Some(TroubleRow {
            call: "pwrite".into(),
            errno: Some("ENOSPC".into()),
            reason: "setup failed: pwrite gave ENOSPC".into(),
        });
        let m = Merged::new(
            vec![
                run("k", "linux", vec![broken]),
                run(
                    "j",
                    "linux",
                    vec![case("mmap.len0", &len0, "pass", "EINVAL")],
                ),
            ],
            &reg,
            BTreeMap::new(),
        );
        assert!(m.contradictions.is_empty(), "{:?}", m.contradictions);
        assert!(m.differences.is_empty(), "{:?}", m.differences);
        assert_eq!(m.tally(0), [0, 0, 0, 0, 1]);
        let cell = m
            .cell(0, "mmap.len0", "linux.mmap.errors.EINVAL.2")
            .unwrap();
        assert_eq!(cell.mark, Mark::Broken);
        assert_eq!(
            m.runs[0].cases[0].trouble(),
            "setup failed: pwrite gave ENOSPC"
        );
    }

    #[test]
    fn another_os_clause_is_shown_but_not_judged() {
        let reg = registry();
        let bsd = run("freebsd-14", "freebsd", vec![case("c", &[], "fail", "ok")]);
        let page = &reg.pages["linux-mmap"];
        assert_eq!(
            Mark::of(&bsd, page, &bsd.cases[0], &reg.clauses["linux.mmap.desc.1"]),
            Mark::OtherOs
        );
    }

    #[test]
    fn the_kernel_label_names_the_tunables_the_run_recorded() {
        let mut r = run("freebsd-a", "freebsd", Vec::new());
        assert_eq!(r.label(), "FreeBSD 1.0 x86_64, 16 KiB pages");
        r.host.tunables = vec!["vm.overcommit=0".into(), "vm.max_user_wired=1024".into()];
        assert_eq!(
            r.label(),
            "FreeBSD 1.0 x86_64, 16 KiB pages; vm.overcommit=0, vm.max_user_wired=1024"
        );
    }

    #[test]
    fn a_results_file_without_tunables_still_reads() {
        let facts: HostFacts = serde_json::from_str(
            r#"{"os":"linux","os_name":"Linux","release":"6","arch":"x86_64","page_size":4096}"#,
        )
        .unwrap();
        assert!(facts.tunables.is_empty());
    }
}
