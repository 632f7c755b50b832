//! A page as `man` prints it (or as a web mirror shows it) to [`Event`]s. Tags are found by
//! layout, never by section names: a line that starts with names (`EINVAL`, `[EINVAL]`,
//! `MAP_FIXED`, `EAGAIN or EWOULDBLOCK`, a visible `Bq Er EINVAL`) followed by a body
//! indented deeper to the column of its text, or by more such lines in that column. Also finds the page inside other
//! text (its `NAME(2) ... NAME(2)` header to its footer) and reads header and footer.

use super::events::Event;
use super::names::{self, Kind};
use super::roff::Meta;

/// One prepared line: 1-based number, indentation in columns, text without it.
struct Line {
    number: usize,
    indent: usize,
    text: String,
}

/// Removes overstrikes (`X\bX`, `_\bX`) and terminal colour sequences.
fn strip_terminal(s: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{8}' => {
                out.pop();
            }
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out.into_iter().collect()
}

/// Expands tabs to stops of 8 and turns no-break spaces into blanks.
fn expand_tabs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut col = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\u{a0}' => {
                out.push(' ');
                col += 1;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

fn prepare(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| {
            let l = expand_tabs(&strip_terminal(raw));
            let l = l.trim_end();
            let indent = l.chars().take_while(|c| *c == ' ').count();
            Line {
                number: i + 1,
                indent,
                text: l.trim_start().to_string(),
            }
        })
        .collect()
}

/// `mmap(2)` or `MMAP(2)` -> (`mmap`, `2`).
fn name_and_section(word: &str) -> Option<(String, String)> {
    let open = word.find('(')?;
    let close = word.rfind(')')?;
    let name = &word[..open];
    let sec = &word[open + 1..close];
    let ok = !name.is_empty()
        && close == word.len() - 1
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && sec.chars().next().is_some_and(|c| c.is_ascii_digit())
        && sec.len() <= 4;
    ok.then(|| (name.to_lowercase(), sec.to_string()))
}

fn first_page_name(text: &str) -> Option<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (0..words.len()).find_map(|i| {
        name_and_section(words[i]).or_else(|| {
            let two = format!("{}{}", words[i], words.get(i + 1)?);
            name_and_section(&two)
        })
    })
}

/// Columns of a header or footer line: text runs separated by two or more blanks.
fn columns(text: &str) -> Vec<String> {
    text.split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A header: `NAME(S)  middle  NAME(S)`.
fn header(line: &Line) -> Option<(String, String, String)> {
    let cols = columns(&line.text);
    let first = cols.first()?;
    let last = cols.last()?;
    if cols.len() < 2 || !first.eq_ignore_ascii_case(last) {
        return None;
    }
    let (name, sec) = name_and_section(first)?;
    let middle = if cols.len() > 2 {
        cols[1..cols.len() - 1].join(" ")
    } else {
        String::new()
    };
    Some((name, sec, middle))
}

/// A footer: `source  date  source` or `source  date  NAME(S)`.
fn footer(line: &Line, name: &str) -> Option<(String, String)> {
    let cols = columns(&line.text);
    if cols.len() != 3 {
        return None;
    }
    let last_is_page = name_and_section(&cols[2]).is_some_and(|(n, _)| n == name);
    if cols[0] == cols[2] || last_is_page {
        Some((cols[0].clone(), cols[1].clone()))
    } else {
        None
    }
}

/// Visible mdoc macro names a web mirror may leave in the text (`Bq Er EINVAL`).
const VISIBLE_MACROS: &[&str] = &["It", "Bq", "Er", "Dv", "Fa", "Va", "Ar", "Sy", "Li", "Pq"];

/// Drops visible mdoc macro names left in a web mirror's text (`The Fa fd argument`).
fn strip_visible_macros(text: &str) -> String {
    const LEFT: &[&str] = &[
        "Fa", "Dv", "Er", "Bq", "Va", "Ar", "Sx", "Ns", "Pq", "Xr", "Li", "Sy", "Em", "Dq", "Ql",
        "Nm", "Fn", "Pa", "Ev", "Cm",
    ];
    text.split(' ')
        .filter(|w| !LEFT.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops leading visible macro names before a name: `Bq Er EINVAL` -> `EINVAL`.
fn without_visible_macros(text: &str) -> &str {
    let mut t = text.trim_start_matches('.');
    loop {
        let word_end = t.find(' ').unwrap_or(t.len());
        if word_end < t.len() && VISIBLE_MACROS.contains(&&t[..word_end]) {
            t = t[word_end..].trim_start();
        } else {
            return t;
        }
    }
}

/// A candidate tag line: its names part, the column where the rest starts (if any), and
/// the rest.
struct TagLine {
    tag: String,
    kind: Kind,
    rest_col: Option<usize>,
    rest: String,
}

fn tag_line(line: &Line) -> Option<TagLine> {
    let text = without_visible_macros(&line.text);
    let offset = line.text.chars().count() - text.chars().count();
    let (names, mut at) = names::tag_names(text)?;
    // A wide gap ends the tag even when a name follows it (`MAP_STACK    MAP_STACK
    // implies ...`): the tag column holds names only.
    if let Some(gap) = text.find("  ")
        && gap < at
        && names::tag_names(&text[..gap]).is_some_and(|(_, end)| end >= gap)
    {
        at = gap + text[gap..].len() - text[gap..].trim_start().len();
    }
    let kind = names::kind_of(&names[0])?;
    // A parenthesis alone after the names belongs to the tag: `MAP_BETA (since 9.1)`.
    let after = text[at..].trim();
    if after.starts_with('(') && after.ends_with(')') && !after[1..].contains('(') {
        at = text.len();
    }
    let tag = text[..at].trim_end().to_string();
    // Names ending a clause of a sentence (`PROT_READ.`, `MAP_LOCKED,`) are prose.
    if tag.ends_with(['.', ',', ';', ':']) {
        return None;
    }
    let rest = text[at..].trim().to_string();
    if rest.is_empty() {
        return Some(TagLine {
            tag,
            kind,
            rest_col: None,
            rest,
        });
    }
    let rest_col = line.indent + offset + text[..at].chars().count();
    Some(TagLine {
        tag,
        kind,
        rest_col: Some(rest_col),
        rest,
    })
}

/// A line that is a tag of `kind` and nothing else.
fn lone_tag(line: &Line, kind: Kind) -> bool {
    tag_line(line).is_some_and(|t| t.kind == kind && t.rest_col.is_none())
}

fn is_bullet_line(text: &str) -> Option<&str> {
    for b in ["\u{2022} ", "\u{b7} ", "* ", "+ ", "o  ", "- "] {
        if let Some(rest) = text.strip_prefix(b) {
            return Some(rest.trim_start());
        }
    }
    None
}

/// Joins a line to text, undoing the typesetter's hyphenation at line ends.
fn join(to: &mut String, text: &str) {
    if to.ends_with('\u{2010}') || to.ends_with('\u{ad}') {
        to.pop();
    } else if !to.is_empty() && !to.ends_with('-') {
        to.push(' ');
    }
    to.push_str(text);
}

/// What the rendered page said about itself, and where it is in the text.
pub struct Found {
    pub meta: Meta,
    pub events: Vec<Event>,
    pub notes: Vec<String>,
    pub os_hint: Option<&'static str>,
}

/// Where the page is in the text and what its header and footer say: (first line after
/// the header, the footer's line or the end, page facts, notes, OS hint).
fn locate(lines: &[Line]) -> (usize, usize, Meta, Vec<String>, Option<&'static str>) {
    let mut meta = Meta::default();
    let mut notes = Vec::new();
    let mut os_hint = None;
    let (mut start, mut end) = (0, lines.len());
    if let Some(h) = lines.iter().position(|l| header(l).is_some()) {
        let (name, sec, middle) = header(&lines[h]).unwrap_or_default();
        if h > 0 {
            notes.push(format!("the page starts at line {}", lines[h].number));
        }
        if middle.contains("FreeBSD") {
            os_hint = Some("freebsd");
        }
        meta.name = name;
        meta.section = sec;
        start = h + 1;
        if let Some(f) = (start..lines.len())
            .rev()
            .find(|&i| footer(&lines[i], &meta.name).is_some())
        {
            let (source, date) = footer(&lines[f], &meta.name).unwrap_or_default();
            meta.source = source;
            meta.date = date;
            if lines[f + 1..].iter().any(|l| !l.text.is_empty()) {
                notes.push(format!("the page ends at line {}", lines[f].number));
            }
            end = f;
        }
    } else if let Some((name, sec)) = lines.iter().find_map(|l| first_page_name(&l.text)) {
        // No header line: the first `name(N)` or `name (N)` names the page.
        meta.name = name;
        meta.section = sec;
    }
    (start, end, meta, notes, os_hint)
}

pub fn rendered_events(text: &str) -> Found {
    let mut lines = prepare(text);
    // A web mirror that left mdoc macros in the text (`Bq Er EINVAL`, `Fa fd`).
    let mdoc_leftovers = lines.iter().any(|l| l.text.contains("Bq Er "));
    if mdoc_leftovers {
        for l in &mut lines {
            l.text = strip_visible_macros(&l.text);
        }
    }
    let mut bsd_tags = mdoc_leftovers;
    let (start, end, meta, notes, mut os_hint) = locate(&lines);
    let body_indent = lines[start..end]
        .iter()
        .filter(|l| !l.text.is_empty())
        .map(|l| l.indent)
        .filter(|i| *i > 0)
        .min()
        .unwrap_or(0);
    let mut events = Vec::new();
    let mut last_body_col: Option<(usize, usize)> = None; // (tag indent, body column)
    let mut i = start;
    let next_nonblank = |from: usize| (from..end).find(|&j| !lines[j].text.is_empty());
    while i < end {
        let line = &lines[i];
        if line.text.is_empty() {
            events.push(Event::Break { depth: 1 });
            i += 1;
            continue;
        }
        if line.indent == 0 && body_indent > 0 {
            events.push(Event::Section {
                title: line.text.clone(),
                line: line.number,
            });
            last_body_col = None;
            i += 1;
            continue;
        }
        let Some(t) = tag_line(line) else {
            events.push(Event::Text {
                text: line.text.clone(),
                line: line.number,
                depth: 0,
            });
            i += 1;
            continue;
        };
        let next = next_nonblank(i + 1);
        let next_indent = next.map(|j| lines[j].indent);
        // The next line is another entry of the same table: same indentation, same kind
        // of name, its text in the same column (justified prose has wide gaps too).
        let next_is_tag_here = next.is_some_and(|j| {
            lines[j].indent == line.indent
                && tag_line(&lines[j]).is_some_and(|n| n.kind == t.kind && n.rest_col == t.rest_col)
        });
        // Several lone tags over one body (`.TQ`).
        let next_is_lone_tag_here =
            next.is_some_and(|j| lines[j].indent == line.indent && lone_tag(&lines[j], t.kind));
        let deeper = next_indent.is_some_and(|n| n > line.indent);
        // Decide whether this is an entry and whether the rest of the line is its body.
        let (accept, rest_is_body) = match t.rest_col {
            None => (true, false),
            Some(col) => {
                let hanging = deeper && next_indent == Some(col);
                let aligned = last_body_col == Some((line.indent, col));
                if t.rest.starts_with('(') && deeper && !hanging {
                    (true, false)
                } else {
                    (hanging || next_is_tag_here || aligned, true)
                }
            }
        };
        if !accept {
            events.push(Event::Text {
                text: line.text.clone(),
                line: line.number,
                depth: 0,
            });
            i += 1;
            continue;
        }
        if line.text.starts_with('[') {
            bsd_tags = true;
        }
        let tag = if rest_is_body {
            t.tag.clone()
        } else {
            format!("{} {}", t.tag, t.rest)
        };
        events.push(Event::Tag {
            text: tag,
            line: line.number,
            depth: 1,
        });
        let mut body = if rest_is_body {
            t.rest.clone()
        } else {
            String::new()
        };
        let mut j = i + 1;
        if t.rest_col.is_none() && !deeper && !next_is_lone_tag_here {
            // A tag alone over a body at the same indentation (a web mirror's layout):
            // the body runs to a blank line or the next lone tag.
            while j < end && !lines[j].text.is_empty() && !lone_tag(&lines[j], t.kind) {
                join(&mut body, &lines[j].text);
                j += 1;
            }
        } else if t.rest_col.is_none() && next_is_lone_tag_here {
            // Several tags over one body (`.TQ`): the next tag line joins this entry.
            i += 1;
            continue;
        } else {
            let mut body_col = None;
            let mut in_bullet = false;
            while j < end {
                let l = &lines[j];
                if l.text.is_empty() {
                    let more = next_nonblank(j + 1).is_some_and(|k| lines[k].indent > line.indent);
                    if !more {
                        break;
                    }
                    join(&mut body, "");
                    j += 1;
                    continue;
                }
                if l.indent <= line.indent {
                    break;
                }
                body_col.get_or_insert(l.indent);
                if let Some(item) = is_bullet_line(&l.text) {
                    flush(&mut events, &mut body, l.number, in_bullet);
                    events.push(Event::Bullet {
                        line: l.number,
                        depth: 2,
                    });
                    in_bullet = true;
                    body = item.to_string();
                } else {
                    join(&mut body, &l.text);
                }
                j += 1;
            }
            flush(&mut events, &mut body, line.number, in_bullet);
            if let Some(c) = body_col.or(t.rest_col) {
                last_body_col = Some((line.indent, c));
            }
        }
        // The same-indentation body of a lone tag.
        flush(&mut events, &mut body, line.number, false);
        events.push(Event::Break { depth: 1 });
        i = j;
    }
    let footer_text = format!("{} {}", meta.source, meta.date);
    if footer_text.contains("FreeBSD") || meta.source == "BSD" {
        os_hint = Some("freebsd");
    } else if footer_text.contains("Linux") {
        os_hint = Some("linux");
    } else if os_hint.is_none() && bsd_tags {
        // `[EINVAL]` and leftover `Bq Er` are how BSD pages render their errors.
        os_hint = Some("freebsd");
    }
    Found {
        meta,
        events,
        notes,
        os_hint,
    }
}

fn flush(events: &mut Vec<Event>, body: &mut String, line: usize, in_bullet: bool) {
    if !body.trim().is_empty() {
        events.push(Event::Text {
            text: std::mem::take(body),
            line,
            depth: if in_bullet { 2 } else { 1 },
        });
    }
    body.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_footers_are_read() {
        let l = |t: &str| prepare(t).remove(0);
        assert_eq!(
            header(&l("mmap(2)      System Calls Manual      mmap(2)")),
            Some(("mmap".into(), "2".into(), "System Calls Manual".into()))
        );
        assert_eq!(
            footer(&l("Linux man-pages 6.03    2023-02-05     mmap(2)"), "mmap"),
            Some(("Linux man-pages 6.03".into(), "2023-02-05".into()))
        );
        assert_eq!(
            footer(
                &l("FreeBSD 6.1\t\t November 17, 2001\t\t FreeBSD 6.1"),
                "mmap"
            ),
            Some(("FreeBSD 6.1".into(), "November 17, 2001".into()))
        );
        assert!(header(&l("see mmap(2) and mmap(2)")).is_none());
    }

    #[test]
    fn overstrikes_and_tabs_are_undone() {
        assert_eq!(strip_terminal("E\u{8}EI\u{8}I \u{1b}[1mX\u{1b}[0m"), "EI X");
        assert_eq!(expand_tabs("ab\tc"), "ab      c");
    }

    #[test]
    fn visible_mdoc_before_a_name_is_dropped() {
        assert_eq!(without_visible_macros("Bq Er EACCES"), "EACCES");
        assert_eq!(without_visible_macros("The flag"), "The flag");
    }
}
