//! `mmapconf clauses [--man PATH] [--page KEY] [--json]`: read a page (by default the
//! running system's mmap(2), found as `man -w 2 mmap` finds it), lay it over the registry
//! and print the result as a table or JSON. Exit status: 0 when every ERRORS, signal and
//! flag entry maps and the registry has no ERRORS, signal or flag clause the page lacks; 1
//! on such drift; 2 when the page or the registry page asked for is missing.

use super::map::{Mapping, map};
use super::{Entry, Kind, ManPage, read};
use crate::registry::Registry;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit status: everything maps.
pub const EXIT_MAPS: u8 = 0;
/// Exit status: drift between page and registry.
pub const EXIT_DRIFT: u8 = 1;
/// Exit status: the page (or the registry page asked for) cannot be had.
pub const EXIT_UNREADABLE: u8 = 2;

const INSTALL_HINT: &str = "install the system's manual pages (Debian: apt-get install man-db manpages-dev) or pass --man PATH";

/// The running system's mmap(2) page, as `man -w 2 mmap` finds it.
pub fn default_page() -> Result<PathBuf, String> {
    system_page("mmap", "2")
}

/// The running system's page `name`(`section`), as `man -w SECTION NAME` finds it.
pub fn system_page(name: &str, section: &str) -> Result<PathBuf, String> {
    let out = Command::new("man")
        .args(["-w", section, name])
        .output()
        .map_err(|e| format!("cannot run `man -w {section} {name}` ({e}): {INSTALL_HINT}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(p) if out.status.success() => Ok(PathBuf::from(p)),
        _ => Err(format!(
            "`man -w {section} {name}` found no {name}({section}) page{}: {INSTALL_HINT}",
            match String::from_utf8_lossy(&out.stderr).trim() {
                "" => String::new(),
                e => format!(" ({e})"),
            }
        )),
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    page: &'a ManPage,
    registry_page: Option<&'a str>,
    registry_read_from: Option<&'a str>,
    mapping: &'a Mapping,
    exit: u8,
}

/// The whole command: output text (table or JSON) and exit status. Never panics.
pub fn cli(
    man: Option<&Path>,
    page: Option<&str>,
    json: bool,
    registry: &Registry,
) -> (String, u8) {
    let path = match man {
        Some(p) => p.to_path_buf(),
        None => match default_page() {
            Ok(p) => p,
            Err(e) => return (format!("error: {e}\n"), EXIT_UNREADABLE),
        },
    };
    if let Some(k) = page
        && !registry.pages.contains_key(k)
    {
        let keys: Vec<&str> = registry.pages.keys().map(String::as_str).collect();
        return (
            format!(
                "error: no registry page `{k}`; valid: {}\n",
                keys.join(", ")
            ),
            EXIT_UNREADABLE,
        );
    }
    let read_page = match read(&path) {
        Ok(p) => p,
        Err(e) => return (format!("error: {e}\n"), EXIT_UNREADABLE),
    };
    let mapping = map(&read_page, registry, page);
    let exit = if mapping.has_drift() || mapping.page_key.is_none() {
        EXIT_DRIFT
    } else {
        EXIT_MAPS
    };
    let reg_page = mapping
        .page_key
        .as_deref()
        .and_then(|k| registry.pages.get(k));
    if json {
        let report = JsonReport {
            file: path.display().to_string(),
            page: &read_page,
            registry_page: mapping.page_key.as_deref(),
            registry_read_from: reg_page.map(|p| p.read_from.as_str()),
            mapping: &mapping,
            exit,
        };
        let text = serde_json::to_string_pretty(&report)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        return (text + "\n", exit);
    }
    (table(&path, &read_page, &mapping, registry), exit)
}

fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", cut.trim_end())
}

/// The readable report: the page, each entry with its clause, then drift both ways.
pub fn table(path: &Path, page: &ManPage, mapping: &Mapping, registry: &Registry) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}({}) from {}: {}, {}, os {}",
        page.name,
        page.section,
        path.display(),
        page.format,
        page.version_line(),
        page.os.as_deref().unwrap_or("unknown")
    );
    for n in &page.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    match mapping
        .page_key
        .as_deref()
        .map(|k| (k, registry.pages.get(k).map(|p| p.read_from.as_str())))
    {
        Some((k, from)) => {
            let _ = writeln!(
                o,
                "registry page {k}: {}",
                from.unwrap_or("(no page record)")
            );
        }
        None => {
            let _ = writeln!(o, "registry page: none fits");
        }
    }
    for n in &mapping.notes {
        let _ = writeln!(o, "  decided: {n}");
    }
    let sections: [(&str, &[Entry]); 3] = [
        ("errors", &page.errors),
        ("signals", &page.signals),
        ("flags", &page.flags),
    ];
    for (title, entries) in sections {
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n{title} ({} entries)", entries.len());
        let _ = writeln!(
            o,
            "  {:>5}  {:<20} {:<40} {:<16} page text",
            "line", "name", "clause", "how"
        );
        for e in entries {
            let rows: Vec<_> = mapping
                .mapped
                .iter()
                .filter(|m| {
                    m.entry.line == e.line && m.entry.key == e.key && m.entry.text == e.text
                })
                .collect();
            if rows.is_empty() {
                let _ = writeln!(
                    o,
                    "  {:>5}  {:<20} {:<40} {:<16} {}",
                    e.line,
                    e.key,
                    "DRIFT (not in registry)",
                    "",
                    excerpt(&e.text, 60)
                );
            }
            for m in rows {
                let how = match m.how {
                    super::How::Text | super::How::Part => {
                        format!("{} {:.2}", m.how.word(), m.score)
                    }
                    h => h.word().to_string(),
                };
                let _ = writeln!(
                    o,
                    "  {:>5}  {:<20} {:<40} {:<16} {}",
                    e.line,
                    e.key,
                    m.id,
                    how,
                    excerpt(&m.text, 60)
                );
            }
        }
    }
    let mentioned: Vec<_> = mapping
        .mapped
        .iter()
        .filter(|m| m.how == super::How::Mention)
        .collect();
    if !mentioned.is_empty() {
        let _ = writeln!(
            o,
            "\nregistry clauses the page states in passing, not as an entry ({}):",
            mentioned.len()
        );
        for m in mentioned {
            let _ = writeln!(o, "  {:<40} {}", m.id, excerpt(&m.text, 80));
        }
    }
    if !mapping.registry_only.is_empty() {
        let _ = writeln!(
            o,
            "\nregistry clauses the page does not have ({}):",
            mapping.registry_only.len()
        );
        for id in &mapping.registry_only {
            let summary = registry.clauses.get(id).map_or("", |c| c.summary.as_str());
            let _ = writeln!(o, "  {id:<40} {}", excerpt(summary, 80));
        }
    }
    let count = |k: Kind| {
        page.errors
            .iter()
            .chain(&page.signals)
            .chain(&page.flags)
            .filter(|e| e.kind == k)
            .count()
    };
    let drift = |k: Kind| mapping.page_only.iter().filter(|e| e.kind == k).count();
    let _ = writeln!(
        o,
        "\nsummary: {} ERRORS entries, {} not in the registry; {} signal entries, {} not in the registry; \
         {} flag entries, {} not in the registry; {} registry clauses not on the page",
        count(Kind::Errno),
        drift(Kind::Errno),
        count(Kind::Signal),
        drift(Kind::Signal),
        count(Kind::Flag),
        drift(Kind::Flag),
        mapping.registry_only.len()
    );
    o
}
