//! The man-page reader behind `mmapconf clauses --man`: reads a page of the mmap family
//! (roff man(7) as Linux man-pages ship it, mdoc(7) as FreeBSD does, or text as `man`
//! prints it, gzip or not, in any language), extracts its ERRORS entries (keyed by errno
//! name), signal entries and flag descriptions, and ([`map`]) lays them over the clause
//! registry to show drift both ways. [`cli`] is the command's whole behaviour.
//!
//! Entries are found by shape, not by section names ("ERRORS", "FEHLER" and "ОШИБКИ" all
//! occur): a tagged paragraph whose tag is an errno name is an ERRORS entry, one whose tag
//! is a flag name of the family is a flag description.

pub mod cli;
mod events;
pub mod map;
mod mdoc;
pub mod names;
mod rendered;
mod roff;

pub use cli::cli;
pub use map::{How, Mapped, Mapping, map};

pub use names::Kind;

use serde::Serialize;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How the page was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// roff with the man(7) macros (Linux man-pages).
    Man,
    /// roff with the mdoc(7) macros (FreeBSD).
    Mdoc,
    /// Text as `man` prints it, or as a web page shows it.
    Rendered,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Man => "man(7) source",
            Format::Mdoc => "mdoc(7) source",
            Format::Rendered => "rendered text",
        })
    }
}

/// One tagged entry of the page: an errno, a signal or a flag and what the page says of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Errno, signal or flag.
    pub kind: Kind,
    /// The errno, signal or flag name as the page writes it (`ETXTBUSY` stays `ETXTBUSY`).
    pub key: String,
    /// The entry's plain text: roff escapes and font macros removed, blanks collapsed.
    /// For an ERRORS entry made of bullets, one entry per bullet with that bullet's text.
    pub text: String,
    /// 1-based line of the tag (or bullet) in the source.
    pub line: usize,
    /// Other names tagging the same paragraph (`EWOULDBLOCK` beside `EAGAIN`).
    pub also: Vec<String>,
    /// The heading of the section it is in, as the page names it.
    pub section: String,
    /// The paragraph before the list ("The munlock() system call will fail if:").
    pub intro: String,
}

/// What the reader took from one page.
#[derive(Debug, Clone, Serialize)]
pub struct ManPage {
    pub format: Format,
    /// The page's name, lower case (`.TH`, `.Dt`, or the rendered header).
    pub name: String,
    pub section: String,
    /// The page's date (`.TH` third argument, `.Dd`, the rendered footer's middle).
    pub date: String,
    /// Where the page is from (`.TH` fourth argument, `.Os`, the rendered footer's left).
    pub source: String,
    /// `linux` or `freebsd`, when the page tells.
    pub os: Option<String>,
    pub errors: Vec<Entry>,
    pub signals: Vec<Entry>,
    pub flags: Vec<Entry>,
    /// Section headings in page order.
    pub sections: Vec<String>,
    /// How the page was read, where that is worth saying (flattened roff, embedded page).
    pub notes: Vec<String>,
    /// The page's whole plain text, paragraphs separated by blank lines (for clauses that
    /// the page states in passing rather than as a tagged entry).
    #[serde(skip)]
    pub text: String,
}

impl ManPage {
    /// The date/version line: `Linux man-pages 6.03, 2023-02-05`.
    pub fn version_line(&self) -> String {
        match (self.source.is_empty(), self.date.is_empty()) {
            (false, false) => format!("{}, {}", self.source, self.date),
            (false, true) => self.source.clone(),
            (true, false) => self.date.clone(),
            (true, true) => "no version line".into(),
        }
    }
}

#[derive(Debug)]
pub enum ReadError {
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Gzip {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A `.so` include or a link stub that leads nowhere (or in a circle).
    Include { path: PathBuf, target: String },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            ReadError::Gzip { path, error } => {
                write!(
                    f,
                    "{} looks gzip-compressed but does not unpack: {error}",
                    path.display()
                )
            }
            ReadError::Include { path, target } => write!(
                f,
                "{} only refers to `{target}`, which cannot be found beside it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads and parses a page file: gzip is unpacked, a `.so` include or a stub naming a
/// sibling file (a symbolic link saved as text) is followed.
pub fn read(path: &Path) -> Result<ManPage, ReadError> {
    let mut path = path.to_path_buf();
    let mut notes = Vec::new();
    for _ in 0..4 {
        let text = read_text(&path)?;
        match include_target(&text) {
            Some(target) => {
                let next = resolve_include(&path, &target).ok_or_else(|| ReadError::Include {
                    path: path.clone(),
                    target: target.clone(),
                })?;
                notes.push(format!("{} refers to {}", path.display(), next.display()));
                path = next;
            }
            None => {
                let mut page = parse(&text);
                notes.append(&mut page.notes);
                page.notes = notes;
                return Ok(page);
            }
        }
    }
    Err(ReadError::Include {
        target: path.display().to_string(),
        path,
    })
}

fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|error| ReadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|error| ReadError::Gzip {
                path: path.to_path_buf(),
                error,
            })?;
        out
    } else {
        bytes
    };
    Ok(decode(bytes))
}

/// UTF-8, or else Latin-1 (older translated pages).
fn decode(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect())
}

/// `.so man2/mmap.2`, or a lone file name (a link stored as its target), as the only line.
fn include_target(text: &str) -> Option<String> {
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(".\\\""));
    let only = lines.next()?.trim();
    if lines.next().is_some() {
        return None;
    }
    if let Some(t) = only.strip_prefix(".so") {
        return Some(t.trim().to_string());
    }
    let looks_like_file = !only.contains(char::is_whitespace)
        && only.len() < 200
        && only.contains('.')
        && only
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_digit() || only.ends_with(".gz"));
    looks_like_file.then(|| only.to_string())
}

fn resolve_include(from: &Path, target: &str) -> Option<PathBuf> {
    let dir = from.parent()?;
    let mut bases = vec![dir.join(target)];
    if let Some(root) = dir.parent() {
        bases.push(root.join(target));
    }
    if let Some(name) = Path::new(target).file_name() {
        bases.push(dir.join(name));
    }
    bases
        .into_iter()
        .flat_map(|b| {
            let gz = PathBuf::from(format!("{}.gz", b.display()));
            [b, gz]
        })
        .find(|p| p.is_file() && p != from)
}

/// Parses page text in any of the three formats.
pub fn parse(text: &str) -> ManPage {
    let starts = |m: &str| text.lines().any(|l| l.starts_with(m));
    let mut notes = Vec::new();
    let (format, lines, flattened) = if starts(".Dd") || starts(".Dt ") || starts(".Sh ") {
        (Format::Mdoc, numbered(text), false)
    } else if starts(".TH ") || starts(".SH ") {
        (Format::Man, numbered(text), false)
    } else {
        match roff::unflatten(text) {
            Some(lines)
                if lines
                    .iter()
                    .any(|(_, l)| l.starts_with(".TH ") || l.starts_with(".SH ")) =>
            {
                notes.push("roff flattened onto one line: split at its requests".to_string());
                (Format::Man, lines, true)
            }
            Some(lines)
                if lines
                    .iter()
                    .any(|(_, l)| l.starts_with(".Dt ") || l.starts_with(".Sh ")) =>
            {
                notes.push("roff flattened onto one line: split at its requests".to_string());
                (Format::Mdoc, lines, true)
            }
            _ => (Format::Rendered, Vec::new(), false),
        }
    };
    let (meta, events, os) = match format {
        Format::Man => {
            let (meta, events) = roff::man_events(&lines, flattened);
            let os = os_of(&format!("{} {}", meta.source, meta.date));
            (meta, events, os)
        }
        Format::Mdoc => {
            let (meta, events) = mdoc::mdoc_events(&lines);
            let os = if meta.source.contains("Linux") {
                "linux"
            } else {
                "freebsd"
            };
            (meta, events, Some(os))
        }
        Format::Rendered => {
            let found = rendered::rendered_events(text);
            notes.extend(found.notes);
            (found.meta, found.events, found.os_hint)
        }
    };
    let found = events::Extractor::run(events);
    ManPage {
        format,
        name: meta.name.to_lowercase(),
        section: meta.section,
        date: meta.date,
        source: meta.source,
        os: os.map(str::to_string),
        errors: found.errors,
        signals: found.signals,
        flags: found.flags,
        sections: found.sections,
        text: found.text,
        notes,
    }
}

fn os_of(source: &str) -> Option<&'static str> {
    if source.contains("FreeBSD") || source.contains("BSD") {
        Some("freebsd")
    } else if source.contains("Linux") || source.contains("man-pages") {
        Some("linux")
    } else {
        None
    }
}

fn numbered(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}
