//! The clause registry: every clause ID a case may cite, grouped by the page (and page
//! version) it was read from. One TOML file per page under `cases/clauses/`, historical
//! texts under `cases/clauses/history/`. Owns parsing and validating those files, and the
//! outcome each clause promises; the loader asks it whether an ID exists and what it
//! promises, the report whether a case observed that.

use crate::located::{LoadError, located, toml_error};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One page, in one version, that clauses were read from.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The file's stem, e.g. `linux-mmap` or `hist-freebsd-6-1`.
    pub key: String,
    /// `linux`, `freebsd` or `posix`.
    pub os: String,
    /// The page's own name (`.TH`/`.Dt`), e.g. `mmap`.
    pub name: String,
    /// Manual section, e.g. `2`.
    pub section: String,
    /// Other functions the page documents (e.g. munmap on Linux's mmap page).
    pub covers: Vec<String>,
    /// Where and in which version the text was read.
    pub read_from: String,
    /// An old text kept to hold today's kernels against (cases may cite it beside the
    /// current clause they check).
    pub historical: bool,
}

/// One clause: a single checkable statement of a page.
#[derive(Debug, Clone, Serialize)]
pub struct Clause {
    pub id: String,
    /// The [`Page::key`] it belongs to.
    pub page: String,
    /// The page section it is in, as the page names it (`ERRORS`, `DESCRIPTION`, ...).
    pub section: String,
    /// The project's own one-line paraphrase (never the page's wording).
    pub summary: String,
    /// For historical clauses: today's clauses about the same behaviour, whose cases
    /// show what kernels do now.
    pub now: Vec<String>,
    /// For historical clauses: the call outcome the old text promised for those cases
    /// (`ok` or an errno name), so a report can hold a kernel against the old page.
    pub predicts: Option<String>,
    /// The outcome the clause promises, where it names one: the errno of an ERRORS
    /// entry, the signal (and si_code) of a signal clause. A case marks the clause
    /// conforming only where it observed exactly this.
    pub promises: Option<Promise>,
}

/// An outcome a clause promises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promise {
    Errno(String),
    Signal {
        signal: String,
        code: Option<String>,
    },
}

impl std::fmt::Display for Promise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Promise::Errno(e) => f.write_str(e),
            Promise::Signal {
                signal,
                code: Some(c),
            } => write!(f, "{signal} {c}"),
            Promise::Signal { signal, code: None } => f.write_str(signal),
        }
    }
}

/// One name for errnos that share a value on every supported OS, so `ENOTSUP` and
/// `EOPNOTSUPP` compare equal wherever they are written.
pub fn errno_key(name: &str) -> &str {
    match name {
        "ENOTSUP" => "EOPNOTSUPP",
        "EWOULDBLOCK" => "EAGAIN",
        other => other,
    }
}

impl Promise {
    /// Parses `"EACCES"`, `"SIGSEGV"` or `"SIGSEGV SEGV_ACCERR"`.
    pub fn parse(text: &str) -> Result<Promise, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let sig = |s: &str| crate::names::SIGNAL.check(s).is_ok();
        let code_ok = |s: &str, c: &str| {
            crate::names::SIGNAL
                .value(s)
                .is_ok_and(|v| crate::names::si_code_value(v as i32, c).is_some())
        };
        match words.as_slice() {
            [e] if crate::names::ERRNO.check(e).is_ok() => Ok(Promise::Errno(e.to_string())),
            [s] if sig(s) => Ok(Promise::Signal {
                signal: s.to_string(),
                code: None,
            }),
            [s, c] if sig(s) && code_ok(s, c) => Ok(Promise::Signal {
                signal: s.to_string(),
                code: Some(c.to_string()),
            }),
            _ => Err(format!(
                "`{text}` is not an outcome: an errno name, a signal, or a signal and its si_code"
            )),
        }
    }

    /// What an ID of the `errors.<ERRNO>.<n>` or `signal.<SIGNAL>.<n>` form promises.
    pub fn from_id(id: &str) -> Option<Promise> {
        let parts: Vec<&str> = id.split('.').collect();
        parts.windows(2).find_map(|w| match w {
            ["errors", e] if crate::names::ERRNO.check(e).is_ok() => {
                Some(Promise::Errno(e.to_string()))
            }
            ["signal", s] if crate::names::SIGNAL.check(s).is_ok() => Some(Promise::Signal {
                signal: s.to_string(),
                code: None,
            }),
            _ => None,
        })
    }

    /// Whether an observed outcome, in the words results carry (`ENODEV`,
    /// `SIGSEGV SEGV_ACCERR at +0x0`, `ok (0x7f..)`), is this one.
    pub fn seen_in(&self, observed: &str) -> bool {
        let mut w = observed.split_whitespace();
        match self {
            Promise::Errno(e) => w.next().is_some_and(|o| errno_key(o) == errno_key(e)),
            Promise::Signal { signal, code } => {
                w.next() == Some(signal.as_str())
                    && code.as_ref().is_none_or(|c| w.next() == Some(c.as_str()))
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Registry {
    pub pages: BTreeMap<String, Page>,
    pub clauses: BTreeMap<String, Clause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    page: RawPage,
    clause: BTreeMap<String, RawClause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    os: String,
    name: String,
    section: String,
    #[serde(default)]
    covers: Vec<String>,
    read_from: String,
    #[serde(default)]
    historical: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClause {
    section: String,
    summary: String,
    #[serde(default)]
    now: Vec<String>,
    predicts: Option<String>,
    /// The outcome the clause promises, where its ID does not say (`errors.<ERRNO>.n`
    /// and `signal.<SIGNAL>.n` IDs do).
    promises: Option<String>,
}

const OSES: [&str; 3] = ["linux", "freebsd", "posix"];

/// The outcome a clause promises: from its ID or its `promises` key, which must agree.
/// Every current ERRORS entry promises one (a report cannot tell a ✓ from a vacuous
/// citation without it); historical pages say theirs with `predicts`.
fn promised(id: &str, c: &RawClause, historical: bool) -> Result<Option<Promise>, String> {
    let from_id = Promise::from_id(id);
    let given = match &c.promises {
        Some(t) => Some(Promise::parse(t).map_err(|e| format!("clause `{id}`: promises {e}"))?),
        None => None,
    };
    match (from_id, given) {
        (Some(a), Some(b)) if a != b => Err(format!(
            "clause `{id}`: promises `{b}`, but its ID says `{a}`"
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) if c.section == "ERRORS" && !historical => Err(format!(
            "clause `{id}` is an ERRORS entry but promises no outcome: add promises = \"E...\""
        )),
        (None, None) => Ok(None),
    }
}

impl Registry {
    /// Parses one page file and adds it. `path`'s stem is the page key.
    pub fn add_file(&mut self, path: &Path, text: &str) -> Result<(), LoadError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let at = |needle: &str| {
            let i = text.find(needle).unwrap_or(0);
            i..i
        };
        let key = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(old) = self.pages.get(&key) {
            return Err(located(
                path,
                text,
                at("[page]"),
                format!("page key `{key}` is used twice (also {})", old.read_from),
            ));
        }
        if !OSES.contains(&raw.page.os.as_str()) {
            return Err(located(
                path,
                text,
                at("os"),
                format!("unknown os `{}`; valid: {}", raw.page.os, OSES.join(", ")),
            ));
        }
        for (id, c) in &raw.clause {
            let here = at(&format!("\"{id}\""));
            if self.clauses.contains_key(id) {
                let other = &self.clauses[id].page;
                return Err(located(
                    path,
                    text,
                    here,
                    format!("clause `{id}` is also defined by page `{other}`"),
                ));
            }
            if !raw.page.historical && (c.predicts.is_some() || !c.now.is_empty()) {
                return Err(located(
                    path,
                    text,
                    here,
                    format!("clause `{id}`: `now` and `predicts` belong to historical pages"),
                ));
            }
            if let Some(p) = &c.predicts
                && p != "ok"
                && crate::names::ERRNO.check(p).is_err()
            {
                return Err(located(
                    path,
                    text,
                    here,
                    format!(
                        "clause `{id}`: predicts `{p}`, which is neither `ok` nor an errno name"
                    ),
                ));
            }
            let promises = match promised(id, c, raw.page.historical) {
                Ok(p) => p,
                Err(msg) => return Err(located(path, text, here, msg)),
            };
            self.clauses.insert(
                id.clone(),
                Clause {
                    id: id.clone(),
                    page: key.clone(),
                    section: c.section.clone(),
                    summary: c.summary.clone(),
                    now: c.now.clone(),
                    predicts: c.predicts.clone(),
                    promises,
                },
            );
        }
        self.pages.insert(
            key.clone(),
            Page {
                key,
                os: raw.page.os,
                name: raw.page.name,
                section: raw.page.section,
                covers: raw.page.covers,
                read_from: raw.page.read_from,
                historical: raw.page.historical,
            },
        );
        Ok(())
    }

    /// Checks what only the whole registry can tell: `now` links point at clauses that exist.
    pub fn check_links(&self, file_of: impl Fn(&str) -> PathBuf) -> Vec<LoadError> {
        let mut errors = Vec::new();
        for c in self.clauses.values() {
            for n in &c.now {
                if !self.clauses.contains_key(n) {
                    errors.push(LoadError {
                        file: file_of(&c.page),
                        line: 0,
                        col: 0,
                        msg: format!("clause `{}` names `now = {n}`, which no page defines", c.id),
                    });
                }
            }
        }
        errors
    }

    /// A registry of bare IDs on one test page, for tests that need a few citable clauses.
    pub fn of_ids(ids: &[&str]) -> Registry {
        let mut r = Registry::default();
        for id in ids {
            r.clauses.insert(
                id.to_string(),
                Clause {
                    id: id.to_string(),
                    page: "test".into(),
                    section: "DESCRIPTION".into(),
                    summary: String::new(),
                    now: Vec::new(),
                    predicts: None,
                    promises: Promise::from_id(id),
                },
            );
        }
        r
    }

    pub fn contains(&self, id: &str) -> bool {
        self.clauses.contains_key(id)
    }

    /// Clause IDs sharing the longest prefix with `id`, for "did you mean" hints.
    pub fn near(&self, id: &str) -> Vec<&str> {
        let stem = id.rsplit_once('.').map_or(id, |(s, _)| s);
        self.clauses
            .keys()
            .filter(|k| k.starts_with(stem))
            .take(6)
            .map(String::as_str)
            .collect()
    }

    /// The page a clause belongs to.
    pub fn page_of(&self, id: &str) -> Option<&Page> {
        self.clauses.get(id).and_then(|c| self.pages.get(&c.page))
    }

    /// The clauses of one page, in ID order.
    pub fn clauses_of<'a>(&'a self, page: &'a str) -> impl Iterator<Item = &'a Clause> + 'a {
        self.clauses.values().filter(move |c| c.page == page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"
[page]
os = "linux"
name = "mmap"
section = "2"
read_from = "test"

[clause]
"linux.mmap.errors.EBADF.1" = { section = "ERRORS", summary = "bad fd" }
"#;

    const OLD: &str = r#"
[page]
os = "freebsd"
name = "mmap"
section = "2"
read_from = "old"
historical = true

[clause]
"hist.x.len0" = { section = "DESCRIPTION", summary = "zero succeeds", now = ["linux.mmap.errors.EBADF.1"], predicts = "ok" }
"#;

    #[test]
    fn pages_and_clauses_load_with_their_page_keys() {
        let mut r = Registry::default();
        r.add_file(Path::new("x/linux-mmap.toml"), PAGE).unwrap();
        r.add_file(Path::new("x/hist-old.toml"), OLD).unwrap();
        assert!(r.check_links(|k| PathBuf::from(k)).is_empty());
        assert_eq!(
            r.page_of("linux.mmap.errors.EBADF.1").unwrap().key,
            "linux-mmap"
        );
        assert_eq!(r.clauses["hist.x.len0"].predicts.as_deref(), Some("ok"));
        assert!(r.pages["hist-old"].historical);
    }

    #[test]
    fn a_clause_defined_twice_is_located() {
        let mut r = Registry::default();
        r.add_file(Path::new("a.toml"), PAGE).unwrap();
        let e = r.add_file(Path::new("b.toml"), PAGE).unwrap_err();
        assert!(e.msg.contains("also defined by page `a`"), "{e}");
        assert_eq!(e.line, 9, "{e}");
    }

    #[test]
    fn predictions_and_links_are_checked() {
        let mut r = Registry::default();
        let e = r
            .add_file(Path::new("h.toml"), &OLD.replace("\"ok\"", "\"EWHAT\""))
            .unwrap_err();
        assert!(e.msg.contains("neither `ok` nor an errno"), "{e}");
        r.add_file(Path::new("h.toml"), OLD).unwrap();
        assert_eq!(r.check_links(|k| PathBuf::from(k)).len(), 1);
        let e = Registry::default()
            .add_file(
                Path::new("p.toml"),
                &PAGE.replace(
                    "summary = \"bad fd\"",
                    "summary = \"bad fd\", predicts = \"ok\"",
                ),
            )
            .unwrap_err();
        assert!(e.msg.contains("belong to historical pages"), "{e}");
    }

    #[test]
    fn an_errors_clause_promises_the_errno_its_id_names() {
        let mut r = Registry::default();
        r.add_file(Path::new("linux-mmap.toml"), PAGE).unwrap();
        assert_eq!(
            r.clauses["linux.mmap.errors.EBADF.1"].promises,
            Some(Promise::Errno("EBADF".into()))
        );
    }

    #[rstest::rstest]
    #[case::disagrees(
        "summary = \"bad fd\", promises = \"EINVAL\"",
        "but its ID says `EBADF`"
    )]
    #[case::not_an_outcome(
        "summary = \"bad fd\", promises = \"SIGSEGV BUS_ADRERR\"",
        "is not an outcome"
    )]
    fn a_promise_must_be_an_outcome_and_agree_with_the_id(#[case] with: &str, #[case] msg: &str) {
        let e = Registry::default()
            .add_file(
                Path::new("p.toml"),
                &PAGE.replace("summary = \"bad fd\"", with),
            )
            .unwrap_err();
        assert!(e.msg.contains(msg), "{e}");
    }

    #[test]
    fn an_errors_clause_whose_id_names_no_errno_must_say_what_it_promises() {
        let bare = PAGE.replace("linux.mmap.errors.EBADF.1", "posix.mmap.19");
        let e = Registry::default()
            .add_file(Path::new("p.toml"), &bare)
            .unwrap_err();
        assert!(e.msg.contains("promises no outcome"), "{e}");
        let mut r = Registry::default();
        r.add_file(
            Path::new("p.toml"),
            &bare.replace(
                "summary = \"bad fd\"",
                "promises = \"SIGSEGV SEGV_ACCERR\", summary = \"bad fd\"",
            ),
        )
        .unwrap();
        let p = r.clauses["posix.mmap.19"].promises.clone().unwrap();
        assert!(p.seen_in("SIGSEGV SEGV_ACCERR at +0x0"));
        assert!(!p.seen_in("SIGSEGV SEGV_MAPERR at +0x0"));
    }

    #[test]
    fn an_unknown_os_is_an_error() {
        let e = Registry::default()
            .add_file(Path::new("p.toml"), &PAGE.replace("\"linux\"", "\"plan9\""))
            .unwrap_err();
        assert!(e.msg.contains("unknown os `plan9`"), "{e}");
    }
}
