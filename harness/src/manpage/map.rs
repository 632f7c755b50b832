//! Lays a read page over the clause registry: which registry page it is, which clause ID
//! each ERRORS entry, signal and flag description is, what the page has that the registry
//! lacks (drift) and which registry clauses the page no longer has.
//!
//! ERRORS entries: the n-th entry of errno E is clause `<prefix>.errors.E.<n>` when the
//! page and the registry have as many entries of E and the order holds. The registry may
//! have been read from another version of the page (entries added, split, reordered), so
//! otherwise entries are matched by the words they share with the clause summaries, what
//! is left by order, and a clause that only matches part of an entry (a later version
//! split one entry into several) is mapped to that part. Every decision is reported.

use super::names::{self, Kind};
use super::{Entry, ManPage};
use crate::registry::Registry;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How an entry was matched to its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Same count of entries of this errno on the page and in the registry: n-th to n-th.
    Order,
    /// By the words the entry shares with the clause's summary.
    Text,
    /// Left over after matching by text, paired in page order.
    Position,
    /// The clause is one statement of a longer entry (the registry splits that entry).
    Part,
    /// The flag's own clause (or one of its numbered sub-clauses).
    Name,
    /// Another name tagging the same entry was mapped (`EWOULDBLOCK` beside `EAGAIN`).
    SameEntry,
    /// The registry sums up the page's errors in one clause that names this errno.
    Summary,
    /// No entry is tagged with the flag, but the page's text names it (`PROT_MAX()`).
    Mention,
}

impl How {
    pub fn word(self) -> &'static str {
        match self {
            How::Order => "order",
            How::Text => "text",
            How::Position => "position",
            How::Part => "part",
            How::Name => "name",
            How::SameEntry => "same entry",
            How::Summary => "summary",
            How::Mention => "mention",
        }
    }
}

/// One entry matched to one clause.
#[derive(Debug, Clone, Serialize)]
pub struct Mapped {
    pub entry: Entry,
    pub id: String,
    pub how: How,
    /// Share of the summary's words found in the page text (0 to 1).
    pub score: f32,
    /// The clause's text as read from this page: the entry, or the part of it that
    /// matches the clause when the entry holds several clauses.
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Mapping {
    /// The registry page the entries were laid over (`None`: no registry page fits).
    pub page_key: Option<String>,
    pub mapped: Vec<Mapped>,
    /// Entries of the page that no registry clause covers.
    pub page_only: Vec<Entry>,
    /// Registry ERRORS, signal and flag clauses of the page that no entry covers.
    pub registry_only: Vec<String>,
    /// What was decided beyond plain order, in words.
    pub notes: Vec<String>,
}

impl Mapping {
    /// The page's text for a clause id, when an entry was mapped to it.
    pub fn text_of(&self, id: &str) -> Option<&str> {
        self.mapped
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.text.as_str())
    }

    /// The ids an entry (by key and line) was mapped to.
    pub fn ids_of(&self, entry: &Entry) -> Vec<&str> {
        self.mapped
            .iter()
            .filter(|m| {
                m.entry.key == entry.key && m.entry.line == entry.line && m.entry.text == entry.text
            })
            .map(|m| m.id.as_str())
            .collect()
    }

    /// Drift: an ERRORS, signal or flag entry the registry lacks, or a registry clause
    /// the page lacks. The registry lists every flag entry of its pages, so a flag the
    /// page has and the registry does not is drift like a missing errno.
    pub fn has_drift(&self) -> bool {
        !self.registry_only.is_empty() || !self.page_only.is_empty()
    }
}

/// Text matching thresholds: a pair matched by text shares at least this share of the
/// summary's words; a clause is part of an entry from this share on.
const MIN_TEXT: f32 = 0.34;
const MIN_PART: f32 = 0.5;
/// How much better (summed over the group) matching by text must be than plain order for
/// a group of equal counts to be reordered.
const REORDER_GAIN: f32 = 0.3;

/// A registry clause the reader can match: errno or signal entry, or flag description.
#[derive(Debug, Clone)]
struct RegClause {
    id: String,
    summary: String,
}

/// (id prefix, kind, errno or signal name): how ERRORS clauses and entries are grouped.
type GroupKey = (String, Kind, String);

#[derive(Default)]
struct PageClauses {
    /// (prefix, kind, name) -> clauses in ordinal order.
    groups: BTreeMap<GroupKey, Vec<RegClause>>,
    /// Clauses that sum up a whole ERRORS section (`<prefix>.errors`).
    summaries: Vec<RegClause>,
    /// flag name as the id writes it -> clauses.
    flags: BTreeMap<String, Vec<RegClause>>,
}

/// A clause's place among those of its errno: its number, or (after all numbers) its label.
type Ordinal = (u32, String);

/// Sort key of a clause's ordinal part: numbers in order, labels after, by name.
fn ordinal(rest: &[&str]) -> Ordinal {
    match rest.first() {
        None => (1, String::new()),
        Some(n) => match n.parse::<u32>() {
            Ok(v) => (v, String::new()),
            Err(_) => (u32::MAX, rest.join(".")),
        },
    }
}

fn classify(registry: &Registry, page_key: &str) -> PageClauses {
    let mut pc = PageClauses::default();
    let mut keyed: BTreeMap<GroupKey, Vec<(Ordinal, RegClause)>> = BTreeMap::new();
    for c in registry.clauses.values().filter(|c| c.page == page_key) {
        let parts: Vec<&str> = c.id.split('.').collect();
        let rc = RegClause {
            id: c.id.clone(),
            summary: c.summary.clone(),
        };
        let marker = parts
            .iter()
            .position(|p| *p == "errors" || *p == "signal" || *p == "signals");
        if let Some(at) = marker {
            let prefix = parts[..at].join(".");
            match parts.get(at + 1) {
                Some(name) if names::is_errno(name) || names::is_signal(name) => {
                    let kind = if names::is_errno(name) {
                        Kind::Errno
                    } else {
                        Kind::Signal
                    };
                    let name = names::canonical_errno(name).to_string();
                    keyed
                        .entry((prefix, kind, name))
                        .or_default()
                        .push((ordinal(&parts[at + 2..]), rc));
                }
                None if parts[at] == "errors" => pc.summaries.push(rc),
                _ => {}
            }
            continue;
        }
        if let Some(flag) = parts.iter().find(|p| names::is_flag(p)) {
            pc.flags.entry(flag.to_string()).or_default().push(rc);
        }
    }
    for (k, mut v) in keyed {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        pc.groups.insert(k, v.into_iter().map(|(_, c)| c).collect());
    }
    pc
}

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "when",
    "that",
    "this",
    "are",
    "was",
    "were",
    "has",
    "have",
    "been",
    "from",
    "into",
    "its",
    "but",
    "any",
    "can",
    "may",
    "will",
    "would",
    "than",
    "then",
    "there",
    "which",
    "who",
    "also",
    "only",
    "some",
    "such",
    "each",
    "not",
    "does",
    "did",
    "being",
    "one",
    "all",
    "other",
    "more",
    "given",
    "specified",
    "argument",
    "call",
    "fails",
    "fail",
    "error",
    "returned",
    "set",
];

/// Crude stem: lower case, common English endings off, doubled last consonant undone.
fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    if w.contains('_') {
        return w;
    }
    let mut s = w.as_str();
    for suffix in ["ments", "ment", "ings", "ing", "ed", "es", "s", "ly"] {
        if s.chars().count() > suffix.len() + 2
            && let Some(cut) = s.strip_suffix(suffix)
        {
            s = cut;
            break;
        }
    }
    let mut out: String = s.to_string();
    let chars: Vec<char> = out.chars().collect();
    if chars.len() > 3 && chars[chars.len() - 1] == chars[chars.len() - 2] {
        out.pop();
    }
    out.chars().take(7).collect()
}

fn words(text: &str, drop: &[&str]) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 3)
        .filter(|w| !STOPWORDS.contains(&w.to_lowercase().as_str()))
        .filter(|w| !drop.contains(w))
        .map(stem)
        .collect()
}

/// Share of the summary's words that the page text has.
fn score(page_text: &str, summary: &str, drop: &[&str]) -> f32 {
    let s = words(summary, drop);
    if s.is_empty() {
        return 0.0;
    }
    let p = words(page_text, drop);
    s.intersection(&p).count() as f32 / s.len() as f32
}

/// C names of the summary (upper case with an underscore: `MAP_SHARED`, `O_RDWR`) that
/// the page text has, as a share of them; 0 when the summary names none.
fn name_score(page_text: &str, summary: &str) -> f32 {
    let c_names = |t: &str| -> BTreeSet<String> {
        t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| {
                w.contains('_')
                    && w.chars().any(|c| c.is_ascii_uppercase())
                    && w.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_string)
            .collect()
    };
    let s = c_names(summary);
    if s.is_empty() {
        return 0.0;
    }
    s.intersection(&c_names(page_text)).count() as f32 / s.len() as f32
}

/// Statements of an entry's text: sentences ("Or ..." continuations as their own), parts
/// joined by semicolons, and the items of an "A, B, or C" list.
fn sentences(text: &str) -> Vec<String> {
    split_sentences(text)
        .into_iter()
        .flat_map(|s| {
            // "A, B, or C": a list of conditions, one statement each.
            if s.contains(", or ") {
                s.split_inclusive(", ")
                    .map(|p| p.trim().to_string())
                    .collect()
            } else {
                vec![s]
            }
        })
        .collect()
}

fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let ends = chars.get(i + 1) == Some(&' ')
            && (c == ';'
                || (matches!(c, '.' | '!' | '?')
                    && chars.get(i + 2).is_some_and(|n| n.is_uppercase())));
        if ends {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// A flag clause naming two flags of one entry: `MAP_HUGE_2MB` and `MAP_HUGE_1GB` are
/// filed together as `MAP_HUGE_2MB_1GB`.
fn joined_flag_names(a: &str, b: &str) -> String {
    let common = a
        .char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .filter(|((_, x), _)| *x == '_')
        .map(|((i, _), _)| i + 1)
        .last()
        .unwrap_or(0);
    format!("{a}_{}", &b[common..])
}

/// The registry page a read page belongs to, by OS and name (or the key given).
fn candidates(page: &ManPage, registry: &Registry, page_key: Option<&str>) -> Vec<String> {
    if let Some(k) = page_key {
        let known =
            registry.pages.contains_key(k) || registry.clauses.values().any(|c| c.page == k);
        return if known {
            vec![k.to_string()]
        } else {
            Vec::new()
        };
    }
    registry
        .pages
        .values()
        .filter(|p| !p.historical && p.os != "posix")
        .filter(|p| page.os.as_deref().is_none_or(|os| os == p.os))
        .filter(|p| p.name == page.name || p.covers.contains(&page.name))
        .map(|p| p.key.clone())
        .collect()
}

/// Lays `page` over the registry page `page_key` (or the one its OS and name select).
pub fn map(page: &ManPage, registry: &Registry, page_key: Option<&str>) -> Mapping {
    let keys = candidates(page, registry, page_key);
    let mut best: Option<Mapping> = None;
    for key in &keys {
        let m = map_onto(page, registry, key);
        if best
            .as_ref()
            .is_none_or(|b| m.mapped.len() > b.mapped.len())
        {
            best = Some(m);
        }
    }
    let mut m = best.unwrap_or_else(|| {
        let mut m = Mapping {
            page_only: all_entries(page).cloned().collect(),
            ..Mapping::default()
        };
        m.notes.push(match page_key {
            Some(k) => format!("the registry has no page `{k}`"),
            None => format!(
                "the registry has no current page for {}({}) on {}",
                page.name,
                page.section,
                page.os.as_deref().unwrap_or("any OS")
            ),
        });
        m
    });
    if keys.len() > 1 {
        m.notes.push(format!(
            "the page's OS is not known; of {} it fits best",
            keys.join(", ")
        ));
    }
    m
}

fn all_entries(page: &ManPage) -> impl Iterator<Item = &Entry> {
    page.errors.iter().chain(&page.signals).chain(&page.flags)
}

/// The id prefix (`freebsd.munlock`) an entry's clauses have: on pages documenting several
/// calls with their own ERRORS lists, the call the list's opening paragraph names.
fn prefix_for(entry: &Entry, prefixes: &BTreeSet<String>, main: &str) -> String {
    if prefixes.len() > 1 {
        let hits: Vec<&String> = prefixes
            .iter()
            .filter(|p| {
                let call = p.rsplit('.').next().unwrap_or(p);
                has_word(&entry.intro, call)
            })
            .collect();
        if let [one] = hits.as_slice() {
            return one.to_string();
        }
    }
    main.to_string()
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn map_onto(page: &ManPage, registry: &Registry, key: &str) -> Mapping {
    let pc = classify(registry, key);
    let mut out = Mapping {
        page_key: Some(key.to_string()),
        ..Mapping::default()
    };
    let prefixes: BTreeSet<String> = pc.groups.keys().map(|(p, _, _)| p.clone()).collect();
    let main = registry
        .pages
        .get(key)
        .map(|p| format!("{}.{}", p.os, p.name))
        .filter(|m| prefixes.contains(m) || prefixes.is_empty())
        .or_else(|| prefixes.iter().next().cloned())
        .unwrap_or_default();

    // ERRORS and signal entries, grouped like the registry groups its clauses.
    let mut page_groups: BTreeMap<GroupKey, Vec<&Entry>> = BTreeMap::new();
    for e in page.errors.iter().chain(&page.signals) {
        let prefix = prefix_for(e, &prefixes, &main);
        let name = names::canonical_errno(&e.key).to_string();
        page_groups
            .entry((prefix, e.kind, name))
            .or_default()
            .push(e);
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut unmapped: Vec<Entry> = Vec::new();
    let all_keys: BTreeSet<_> = page_groups
        .keys()
        .chain(pc.groups.keys())
        .cloned()
        .collect();
    for gk in all_keys {
        let entries = page_groups.get(&gk).cloned().unwrap_or_default();
        let clauses = pc.groups.get(&gk).cloned().unwrap_or_default();
        let (prefix, _, name) = &gk;
        let call = prefix.rsplit('.').next().unwrap_or(prefix);
        let drop = [name.as_str(), call, page.name.as_str()];
        assign_group(&entries, &clauses, &drop, &mut out, &mut unmapped);
        used.extend(clauses.iter().map(|c| c.id.clone()));
    }

    // Entries the groups left: another name of the same entry, or a summary clause.
    let mut still = Vec::new();
    for e in unmapped {
        let sibling: Vec<(String, f32, String)> = out
            .mapped
            .iter()
            .filter(|m| {
                m.entry.line == e.line && m.entry.text == e.text && e.also.contains(&m.entry.key)
            })
            .map(|m| (m.id.clone(), m.score, m.text.clone()))
            .collect();
        if !sibling.is_empty() {
            for (id, score, text) in sibling {
                out.mapped.push(Mapped {
                    entry: e.clone(),
                    id,
                    how: How::SameEntry,
                    score,
                    text,
                });
            }
            continue;
        }
        if !summarised(&pc, &e) {
            still.push(e);
        }
    }
    out.page_only.extend(still);
    // A clause summing up the ERRORS section covers every entry whose errno it names.
    for s in &pc.summaries {
        let covered: Vec<&Entry> = page
            .errors
            .iter()
            .filter(|e| {
                has_word(&s.summary, &e.key) || has_word(&s.summary, names::canonical_errno(&e.key))
            })
            .collect();
        if covered.is_empty() {
            out.registry_only.push(s.id.clone());
        }
        for e in covered {
            out.mapped.push(Mapped {
                entry: e.clone(),
                id: s.id.clone(),
                how: How::Summary,
                score: 1.0,
                text: e.text.clone(),
            });
        }
    }

    // Flags: by name.
    let mut flag_hits: BTreeSet<String> = BTreeSet::new();
    for e in &page.flags {
        let mut names_tried = vec![e.key.clone()];
        for o in &e.also {
            names_tried.push(joined_flag_names(&e.key, o));
            names_tried.push(joined_flag_names(o, &e.key));
        }
        let clauses: Vec<&RegClause> = names_tried
            .iter()
            .filter_map(|n| pc.flags.get(n))
            .flatten()
            .collect();
        if clauses.is_empty() {
            out.page_only.push(e.clone());
            continue;
        }
        let texts = split_for(e, &clauses, &[e.key.as_str()]);
        for (c, text) in clauses.iter().zip(texts) {
            flag_hits.insert(c.id.clone());
            out.mapped.push(Mapped {
                entry: e.clone(),
                id: c.id.clone(),
                how: How::Name,
                score: score(&e.text, &c.summary, &[e.key.as_str()]),
                text,
            });
        }
    }
    for (flag, clauses) in &pc.flags {
        for c in clauses.iter().filter(|c| !flag_hits.contains(&c.id)) {
            match mention(&page.text, flag) {
                Some(text) => out.mapped.push(Mapped {
                    entry: Entry {
                        kind: Kind::Flag,
                        key: flag.clone(),
                        text: text.clone(),
                        line: 0,
                        also: Vec::new(),
                        section: String::new(),
                        intro: String::new(),
                    },
                    id: c.id.clone(),
                    how: How::Mention,
                    score: score(&text, &c.summary, &[flag.as_str()]),
                    text,
                }),
                None => out.registry_only.push(c.id.clone()),
            }
        }
    }
    out.registry_only.sort();
    out.registry_only.dedup();
    out.mapped
        .sort_by_key(|m| (m.entry.line, m.entry.kind != Kind::Flag, id_order(&m.id)));
    out
}

/// Sort key of a clause id with its numbers in numeric order (`EINVAL.2` before `EINVAL.10`).
fn id_order(id: &str) -> Vec<(u32, String)> {
    id.split('.')
        .map(|p| match p.parse::<u32>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u32::MAX, p.to_string()),
        })
        .collect()
}

/// Whether a clause summing up the ERRORS section names this entry's errno.
fn summarised(pc: &PageClauses, e: &Entry) -> bool {
    pc.summaries.iter().any(|s| {
        has_word(&s.summary, &e.key) || has_word(&s.summary, names::canonical_errno(&e.key))
    })
}

/// The first sentence of the page that names `flag` as a word.
fn mention(page_text: &str, flag: &str) -> Option<String> {
    page_text
        .split("\n\n")
        .flat_map(sentences)
        .find(|s| has_word(s, flag))
}

/// The text of each of `clauses` within one entry: the whole entry for one clause, else
/// for each clause the sentence that matches its summary best.
fn split_for(e: &Entry, clauses: &[&RegClause], drop: &[&str]) -> Vec<String> {
    if clauses.len() < 2 {
        return vec![e.text.clone(); clauses.len()];
    }
    let parts = sentences(&e.text);
    if parts.len() < 2 {
        return vec![e.text.clone(); clauses.len()];
    }
    clauses
        .iter()
        .map(|c| {
            parts
                .iter()
                .map(|p| {
                    (
                        score(p, &c.summary, drop) + 0.01 * name_score(p, &c.summary),
                        p,
                    )
                })
                .fold(
                    (-1.0f32, &e.text),
                    |best, (s, p)| if s > best.0 { (s, p) } else { best },
                )
                .1
                .clone()
        })
        .collect()
}

/// Greedy one-to-one matching by score, best first, then nearest in order.
fn greedy(scores: &[Vec<f32>], min: f32) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
    for (i, row) in scores.iter().enumerate() {
        for (j, &s) in row.iter().enumerate() {
            if s >= min {
                pairs.push((i, j, s));
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then(a.0.abs_diff(a.1).cmp(&b.0.abs_diff(b.1)))
            .then(a.0.cmp(&b.0))
    });
    let mut taken_i = BTreeSet::new();
    let mut taken_j = BTreeSet::new();
    let mut out = Vec::new();
    for (i, j, _) in pairs {
        if !taken_i.contains(&i) && !taken_j.contains(&j) {
            taken_i.insert(i);
            taken_j.insert(j);
            out.push((i, j));
        }
    }
    out
}

fn assign_group(
    entries: &[&Entry],
    clauses: &[RegClause],
    drop: &[&str],
    out: &mut Mapping,
    unmapped: &mut Vec<Entry>,
) {
    let (m, n) = (entries.len(), clauses.len());
    if n == 0 {
        unmapped.extend(entries.iter().map(|e| (*e).clone()));
        return;
    }
    if m == 0 {
        out.registry_only
            .extend(clauses.iter().map(|c| c.id.clone()));
        return;
    }
    let scores: Vec<Vec<f32>> = entries
        .iter()
        .map(|e| {
            clauses
                .iter()
                .map(|c| score(&e.text, &c.summary, drop))
                .collect()
        })
        .collect();
    let mut pairs: Vec<(usize, usize, How)> = Vec::new();
    let by_text = greedy(&scores, MIN_TEXT);
    let name = &entries[0].key;
    if m == n {
        let in_order: f32 = (0..m).map(|i| scores[i][i]).sum();
        let text_total: f32 = by_text.iter().map(|&(i, j)| scores[i][j]).sum();
        if text_total >= in_order + REORDER_GAIN && by_text.iter().any(|&(i, j)| i != j) {
            out.notes.push(format!(
                "{name}: page order differs from the registry's; matched by text"
            ));
            pairs.extend(by_text.iter().map(|&(i, j)| (i, j, How::Text)));
        } else {
            pairs.extend((0..m).map(|i| (i, i, How::Order)));
        }
    } else {
        out.notes.push(format!(
            "{name}: {m} entr{} on the page, {n} clause{} in the registry; matched by text, then order",
            if m == 1 { "y" } else { "ies" },
            if n == 1 { "" } else { "s" }
        ));
        pairs.extend(by_text.iter().map(|&(i, j)| (i, j, How::Text)));
    }
    // What is left on both sides, in order.
    let left_i: Vec<usize> = (0..m)
        .filter(|i| !pairs.iter().any(|p| p.0 == *i))
        .collect();
    let left_j: Vec<usize> = (0..n)
        .filter(|j| !pairs.iter().any(|p| p.1 == *j))
        .collect();
    let mut rest_j: Vec<usize> = Vec::new();
    let mut scores_part: Vec<(usize, usize, f32)> = Vec::new();
    // A clause left over that matches part of an entry well is that part. C names in
    // the summary (`MAP_PRIVATE`, `O_RDWR`) count as evidence too: they read the same in
    // every language.
    // Names count only when the page has every C name of the summary.
    let part_score = |i: usize, j: usize| {
        let by_names = name_score(&entries[i].text, &clauses[j].summary);
        if by_names >= 1.0 { 1.0 } else { scores[i][j] }
    };
    // An entry can hold as many clauses as it has statements.
    let room: Vec<usize> = entries.iter().map(|e| sentences(&e.text).len()).collect();
    let mut held: Vec<usize> = (0..m)
        .map(|i| pairs.iter().filter(|p| p.0 == i).count())
        .collect();
    for &j in &left_j {
        let best = (0..m).filter(|&i| held[i] < room[i]).max_by(|&a, &b| {
            part_score(a, j)
                .total_cmp(&part_score(b, j))
                .then(b.cmp(&a))
        });
        match best {
            Some(i) if part_score(i, j) >= MIN_PART && left_i.len() < left_j.len() => {
                held[i] += 1;
                scores_part.push((i, j, part_score(i, j)));
                pairs.push((i, j, How::Part))
            }
            _ => rest_j.push(j),
        }
    }

    let rest_i: Vec<usize> = left_i
        .into_iter()
        .filter(|i| !pairs.iter().any(|p| p.0 == *i))
        .collect();
    for (&i, &j) in rest_i.iter().zip(&rest_j) {
        pairs.push((i, j, How::Position));
    }
    for &i in rest_i.iter().skip(rest_j.len()) {
        unmapped.push(entries[i].clone());
    }
    for &j in rest_j.iter().skip(rest_i.len()) {
        out.registry_only.push(clauses[j].id.clone());
    }
    // Texts: an entry holding several clauses gives each its best sentence.
    for i in 0..m {
        let mine: Vec<&(usize, usize, How)> = pairs.iter().filter(|p| p.0 == i).collect();
        let cls: Vec<&RegClause> = mine.iter().map(|p| &clauses[p.1]).collect();
        let texts = split_for(entries[i], &cls, drop);
        for (p, text) in mine.iter().zip(texts) {
            let score = scores_part
                .iter()
                .find(|s| s.0 == i && s.1 == p.1)
                .map_or(scores[i][p.1], |s| s.2);
            out.mapped.push(Mapped {
                entry: entries[i].clone(),
                id: clauses[p.1].id.clone(),
                how: p.2,
                score,
                text,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_across_word_forms() {
        assert_eq!(stem("aligned"), stem("align"));
        assert_eq!(stem("locked"), stem("locks"));
        assert_eq!(stem("MAP_SHARED"), "map_shared");
    }

    #[test]
    fn summary_words_are_found_in_the_page_text() {
        let s = score(
            "A file descriptor refers to a non-regular file.",
            "EACCES when fd refers to a file that is not a regular file",
            &["EACCES"],
        );
        assert!(s > 0.9, "{s}");
        assert!(
            score(
                "No memory is available.",
                "EACCES when the file is append-only",
                &[]
            ) < 0.2
        );
    }

    #[test]
    fn sentences_split_at_capitals() {
        assert_eq!(
            sentences("Bad (e.g. too large). Or not aligned. x; a, b, or c"),
            vec![
                "Bad (e.g. too large).",
                "Or not aligned. x;",
                "a,",
                "b,",
                "or c"
            ]
        );
    }

    fn entry(kind: Kind, key: &str) -> Entry {
        Entry {
            kind,
            key: key.into(),
            text: format!("{key} does something."),
            line: 1,
            also: Vec::new(),
            section: "DESCRIPTION".into(),
            intro: String::new(),
        }
    }

    fn page_with_flags(flags: &[&str]) -> ManPage {
        ManPage {
            format: super::super::Format::Man,
            name: "test".into(),
            section: "2".into(),
            date: String::new(),
            source: String::new(),
            os: Some("linux".into()),
            errors: Vec::new(),
            signals: Vec::new(),
            flags: flags.iter().map(|f| entry(Kind::Flag, f)).collect(),
            sections: vec!["DESCRIPTION".into()],
            notes: Vec::new(),
            text: String::new(),
        }
    }

    #[test]
    fn every_kind_of_entry_the_registry_lacks_is_drift() {
        assert!(!Mapping::default().has_drift());
        for (kind, key) in [
            (Kind::Errno, "EINVAL"),
            (Kind::Signal, "SIGBUS"),
            (Kind::Flag, "MADV_COLD"),
        ] {
            let m = Mapping {
                page_only: vec![entry(kind, key)],
                ..Mapping::default()
            };
            assert!(m.has_drift(), "{key}");
        }
        let m = Mapping {
            registry_only: vec!["linux.madvise.advice.MADV_COLD".into()],
            ..Mapping::default()
        };
        assert!(m.has_drift());
    }

    #[test]
    fn a_flag_maps_by_the_name_in_its_clause_id_or_is_drift() {
        let mut reg = Registry::of_ids(&["linux.test.advice.MADV_COLD", "linux.test.desc.1"]);
        reg.clauses
            .get_mut("linux.test.advice.MADV_COLD")
            .unwrap()
            .summary = "MADV_COLD deactivates the pages".into();
        let page = page_with_flags(&["MADV_COLD"]);
        let m = map_onto(&page, &reg, "test");
        assert_eq!(m.mapped.len(), 1);
        assert_eq!(m.mapped[0].id, "linux.test.advice.MADV_COLD");
        assert_eq!(m.mapped[0].how, How::Name);
        assert!(!m.has_drift(), "{m:?}");

        let page = page_with_flags(&["MADV_COLD", "MADV_PAGEOUT"]);
        let m = map_onto(&page, &reg, "test");
        let only: Vec<&str> = m.page_only.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(only, ["MADV_PAGEOUT"]);
        assert!(m.registry_only.is_empty());
        assert!(m.has_drift());
    }

    #[test]
    fn two_flags_of_one_entry_join_into_one_name() {
        assert_eq!(
            joined_flag_names("MAP_HUGE_2MB", "MAP_HUGE_1GB"),
            "MAP_HUGE_2MB_1GB"
        );
        assert_eq!(
            joined_flag_names("MAP_ANON", "MAP_ANONYMOUS"),
            "MAP_ANON_ANONYMOUS"
        );
    }
}
