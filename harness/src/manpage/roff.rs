//! roff input shared by man(7) and mdoc(7): escape sequences to plain text, request
//! arguments (quotes), roff flattened onto one line, and the man(7) macros themselves
//! (`.TH`, `.SH`, `.TP`/`.TQ`/`.IP`, `.RS`/`.RE`, font macros) turned into [`Event`]s.

use super::events::Event;
use super::names;

/// Page facts read from `.TH` (or `.Dd`/`.Dt`/`.Os` for mdoc).
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub name: String,
    pub section: String,
    pub date: String,
    pub source: String,
}

/// The text of a named character (`\(em`, `\[bu]`, `\[u00E4]`).
fn named_char(name: &str) -> String {
    if let Some(hex) = name.strip_prefix('u')
        && let Ok(v) = u32::from_str_radix(hex.split('_').next().unwrap_or(""), 16)
        && let Some(c) = char::from_u32(v)
    {
        return c.to_string();
    }
    let s = match name {
        "em" => "\u{2014}",
        "en" => "\u{2013}",
        "hy" | "mi" | "-" => "-",
        "bu" => "\u{2022}",
        "aq" | "oq" | "cq" | "fm" => "'",
        "dq" | "lq" | "rq" | "Lq" | "Rq" => "\"",
        "ga" => "`",
        "ti" | "ap" => "~",
        "ha" => "^",
        "rs" => "\\",
        "sl" => "/",
        "ba" | "or" => "|",
        "co" => "\u{a9}",
        "rg" => "\u{ae}",
        "tm" | "Tm" => "\u{2122}",
        "mu" => "\u{d7}",
        "di" => "\u{f7}",
        "de" => "\u{b0}",
        ">=" => "\u{2265}",
        "<=" => "\u{2264}",
        "!=" => "\u{2260}",
        "->" => "\u{2192}",
        "<-" => "\u{2190}",
        "pl" => "+",
        "eq" => "=",
        "lh" | "rh" => "",
        "ss" => "\u{df}",
        ":a" => "\u{e4}",
        ":o" => "\u{f6}",
        ":u" => "\u{fc}",
        ":A" => "\u{c4}",
        ":O" => "\u{d6}",
        ":U" => "\u{dc}",
        "'e" => "\u{e9}",
        "`e" => "\u{e8}",
        "^e" => "\u{ea}",
        "'a" => "\u{e1}",
        "`a" => "\u{e0}",
        ",c" => "\u{e7}",
        "R" => "\u{ae}",
        _ => "",
    };
    s.to_string()
}

/// Reads a name after `\(`, `\[`, `\*` or `\f`-style escapes: `(xx`, `[long]` or one char.
fn escape_name(chars: &[char], i: &mut usize) -> String {
    match chars.get(*i) {
        Some('(') => {
            let n: String = chars.iter().skip(*i + 1).take(2).collect();
            *i += 1 + n.chars().count();
            n
        }
        Some('[') => {
            let mut n = String::new();
            *i += 1;
            while let Some(&c) = chars.get(*i) {
                *i += 1;
                if c == ']' {
                    break;
                }
                n.push(c);
            }
            n
        }
        Some(&c) => {
            *i += 1;
            c.to_string()
        }
        None => String::new(),
    }
}

/// Skips a delimited argument such as `'...'` after `\h`, `\v`, `\w`.
fn skip_delimited(chars: &[char], i: &mut usize) {
    if let Some(&d) = chars.get(*i) {
        *i += 1;
        while let Some(&c) = chars.get(*i) {
            *i += 1;
            if c == d {
                break;
            }
        }
    }
}

/// Plain text of a roff text fragment: font changes, size changes, zero-width and
/// comment escapes removed; special characters written as themselves.
pub fn unescape(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = chars.get(i) else { break };
        i += 1;
        match e {
            '"' | '#' => break,
            'f' | 'F' => {
                escape_name(&chars, &mut i);
            }
            '(' | '[' => {
                i -= 1;
                let name = escape_name(&chars, &mut i);
                out.push_str(&named_char(&name));
            }
            'C' => {
                let mut j = i;
                skip_delimited(&chars, &mut j);
                // `\C'name'`: the characters between the delimiters.
                let name: String = chars
                    .get(i + 1..j.saturating_sub(1))
                    .unwrap_or_default()
                    .iter()
                    .collect();
                out.push_str(&named_char(&name));
                i = j;
            }
            '*' => {
                let name = escape_name(&chars, &mut i);
                out.push_str(match name.as_str() {
                    "lq" | "rq" | "Lq" | "Rq" => "\"",
                    "R" => "\u{ae}",
                    "Tm" => "\u{2122}",
                    _ => "",
                });
            }
            'n' | 'g' | 'k' | 'm' | 'M' | 'V' | 'Y' => {
                if e == 'n' && matches!(chars.get(i), Some('+' | '-')) {
                    i += 1;
                }
                escape_name(&chars, &mut i);
            }
            's' => {
                if matches!(chars.get(i), Some('+' | '-')) {
                    i += 1;
                }
                if matches!(chars.get(i), Some('(' | '[' | '\'')) {
                    match chars[i] {
                        '\'' => skip_delimited(&chars, &mut i),
                        _ => {
                            escape_name(&chars, &mut i);
                        }
                    }
                } else {
                    while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
                        i += 1;
                    }
                }
            }
            'h' | 'v' | 'w' | 'o' | 'Z' | 'N' | 'D' | 'l' | 'L' | 'X' | 'b' | 'x' | 'R' | 'S'
            | 'H' | 'A' | 'B' => skip_delimited(&chars, &mut i),
            '-' => out.push('-'),
            'e' | '\\' => out.push('\\'),
            ' ' | '~' | '0' => out.push(' '),
            '&' | '|' | '^' | '%' | ':' | ')' | 'c' | 'd' | 'u' | 'p' | 'r' | 'z' | 'a' | 't'
            | '{' | '}' => {}
            '\'' => out.push('\''),
            '`' => out.push('`'),
            '.' => out.push('.'),
            other => out.push(other),
        }
    }
    out
}

/// Splits a request's arguments: blanks separate, `"..."` quotes (with `""` for a quote).
/// The arguments keep their escapes.
pub fn split_args(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'"') {
            break; // a comment
        }
        let mut arg = String::new();
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        arg.push('"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                arg.push(chars[i]);
                i += 1;
            }
        } else {
            while i < chars.len() && chars[i] != ' ' && chars[i] != '\t' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    arg.push(chars[i]);
                    arg.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                arg.push(chars[i]);
                i += 1;
            }
        }
        args.push(arg);
    }
    args
}

/// A control line's macro name and the rest: `.TP 7` -> (`TP`, `7`). `None` for text.
pub fn control(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('.').or_else(|| line.strip_prefix('\''))?;
    let rest = rest.trim_start_matches([' ', '\t']);
    if rest.starts_with("\\\"") || rest.starts_with("\\#") || rest.is_empty() {
        return Some(("\\\"", ""));
    }
    let end = rest.find([' ', '\t']).unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].trim_start_matches([' ', '\t'])))
}

/// Roff flattened onto one line (requests run together, separated by blanks): split it
/// back into lines at every ` .XX ` request boundary. The line number stays the original.
pub fn unflatten(text: &str) -> Option<Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut any = false;
    for (n, line) in text.lines().enumerate() {
        let pieces = split_requests(line);
        if pieces.len() > 3 {
            any = true;
        }
        out.extend(pieces.into_iter().map(|p| (n + 1, p)));
    }
    any.then_some(out)
}

/// Lower-case requests that end a piece of flattened roff (upper-case names of one or two
/// letters always do).
const LOWER_REQUESTS: &[&str] = &[
    "br", "sp", "nf", "fi", "in", "ad", "na", "ne", "ti", "ta", "hy", "nh", "ft", "ps", "so", "ie",
    "if", "el", "de", "ig",
];

fn split_requests(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut cuts = vec![0];
    let mut i = 1;
    while i + 2 < bytes.len() {
        if bytes[i] == b'.' && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            let name_end = bytes[i + 1..]
                .iter()
                .position(|b| *b == b' ' || *b == b'\t')
                .map_or(bytes.len(), |p| i + 1 + p);
            let name = &line[i + 1..name_end];
            let is_request = name.starts_with("\\\"")
                || LOWER_REQUESTS.contains(&name)
                || (!name.is_empty()
                    && name.len() <= 2
                    && name.bytes().all(|b| b.is_ascii_alphabetic())
                    && name.bytes().next().is_some_and(|b| b.is_ascii_uppercase()));
            if is_request {
                cuts.push(i);
            }
        }
        i += 1;
    }
    let mut pieces = Vec::new();
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(line.len());
        let p = line[start..end].trim();
        if !p.is_empty() {
            pieces.push(p.to_string());
        }
    }
    pieces
}

/// Whether a `.IP` tag is a bullet or an item number rather than a name.
pub fn is_bullet(tag: &str) -> bool {
    let t = tag.trim();
    matches!(
        t,
        "\u{2022}" | "*" | "-" | "o" | "+" | "\u{b7}" | "\u{2013}" | "\u{2014}"
    ) || (t.len() <= 4
        && t.trim_end_matches(['.', ')'])
            .trim_start_matches('(')
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        && t.chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '.' | ')')))
}

/// Text of a font macro line: `.B x y` joins with blanks, `.BR a b` alternates fonts
/// and joins without. In flattened roff the text that followed the macro line is among
/// the arguments, so there two words join with a blank unless one is punctuation.
fn font_macro_text(name: &str, args: &[String], flattened: bool) -> String {
    let alternating = matches!(name, "BR" | "RB" | "IR" | "RI" | "BI" | "IB");
    let parts: Vec<String> = args.iter().map(|a| unescape(a)).collect();
    if !alternating {
        return parts.join(" ");
    }
    if !flattened {
        return parts.concat();
    }
    let mut out = String::new();
    for p in &parts {
        let glue = out.chars().last().is_some_and(|c| c.is_alphanumeric())
            && p.chars().next().is_some_and(|c| c.is_alphanumeric());
        if glue {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// man(7) source to events and page facts. `flattened`: the lines were cut out of roff run
/// together on one line, so a macro's arguments may carry the text that followed it.
pub fn man_events(lines: &[(usize, String)], flattened: bool) -> (Meta, Vec<Event>) {
    let mut meta = Meta::default();
    let mut events = Vec::new();
    let mut depth = 0usize;
    // The next text line is a tag (after `.TP`/`.TQ`) or a heading (bare `.SH`).
    let mut want_tag = false;
    let mut want_heading = false;
    // Right after a heading, before any text: a page may forget the `.TP` of its first
    // entry (`.SH ERRORS` then `.B EAGAIN`); an errno alone in bold there is a tag.
    let mut after_heading = false;
    // A font macro without arguments applies to the next line: nothing to do for text.
    let mut skip_until: Option<&str> = None;
    for (line, raw) in lines {
        let line = *line;
        let raw = raw.as_str();
        if let Some(end) = skip_until {
            if raw.trim_start().starts_with(end) {
                skip_until = None;
            }
            continue;
        }
        let text = match control(raw) {
            None => {
                let t = unescape(raw);
                if t.trim().is_empty() && !want_tag {
                    continue;
                }
                t
            }
            Some((name, rest)) => {
                let args = split_args(rest);
                match name {
                    "\\\"" => continue,
                    "TH" => {
                        let a: Vec<String> = args.iter().map(|a| unescape(a)).collect();
                        meta.name = a.first().cloned().unwrap_or_default();
                        meta.section = a.get(1).cloned().unwrap_or_default();
                        meta.date = a.get(2).cloned().unwrap_or_default();
                        meta.source = a.get(3).cloned().unwrap_or_default();
                        continue;
                    }
                    "SH" | "SS" => {
                        want_tag = false;
                        depth = 0;
                        after_heading = true;
                        if args.is_empty() {
                            want_heading = true;
                            continue;
                        }
                        let n = if flattened { 1 } else { args.len() };
                        events.push(Event::Section {
                            title: font_macro_text("B", &args[..n], false),
                            line,
                        });
                        if args.len() > n {
                            font_macro_text("B", &args[n..], false)
                        } else {
                            continue;
                        }
                    }
                    "TP" | "TQ" => {
                        after_heading = false;
                        want_tag = true;
                        continue;
                    }
                    "IP" => {
                        after_heading = false;
                        want_tag = false;
                        match args.first().map(|a| unescape(a)) {
                            Some(tag) if !tag.trim().is_empty() => {
                                if is_bullet(&tag) {
                                    events.push(Event::Bullet { line, depth });
                                } else {
                                    events.push(Event::Tag {
                                        text: tag,
                                        line,
                                        depth,
                                    });
                                }
                            }
                            _ => {}
                        }
                        continue;
                    }
                    "PP" | "LP" | "P" | "HP" => {
                        want_tag = false;
                        events.push(Event::Break { depth });
                        continue;
                    }
                    "RS" => {
                        depth += 1;
                        continue;
                    }
                    "RE" => {
                        depth = depth.saturating_sub(1);
                        events.push(Event::Close { depth });
                        continue;
                    }
                    "de" | "de1" | "am" | "ig" => {
                        skip_until = Some("..");
                        continue;
                    }
                    "B" if after_heading
                        && !want_tag
                        && args.len() == 1
                        && names::is_errno(&unescape(&args[0])) =>
                    {
                        after_heading = false;
                        events.push(Event::Tag {
                            text: unescape(&args[0]),
                            line,
                            depth,
                        });
                        continue;
                    }
                    "B" | "I" | "SM" | "SB" | "BR" | "RB" | "IR" | "RI" | "BI" | "IB" => {
                        if args.is_empty() {
                            continue;
                        }
                        font_macro_text(name, &args, flattened)
                    }
                    "UE" | "ME" => {
                        let t = font_macro_text("B", &args, false);
                        if t.is_empty() {
                            continue;
                        }
                        t
                    }
                    _ => continue,
                }
            }
        };
        if want_heading {
            want_heading = false;
            after_heading = true;
            events.push(Event::Section { title: text, line });
            continue;
        }
        after_heading = false;
        if want_tag {
            want_tag = false;
            // Flattened: the tag's names, then the text that was on the following lines.
            let split = if flattened {
                names::tag_names(&text).map(|(_, at)| at)
            } else {
                None
            };
            match split {
                Some(at) if at < text.len() => {
                    events.push(Event::Tag {
                        text: text[..at].trim().to_string(),
                        line,
                        depth,
                    });
                    events.push(Event::Text {
                        text: text[at..].to_string(),
                        line,
                        depth,
                    });
                }
                _ => events.push(Event::Tag { text, line, depth }),
            }
        } else {
            events.push(Event::Text { text, line, depth });
        }
    }
    (meta, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_plain_text() {
        assert_eq!(unescape(r"\fBEINVAL\fP is \fIbad\fR"), "EINVAL is bad");
        assert_eq!(unescape(r"\f[B]MAP_FIXED\f[] \- x"), "MAP_FIXED - x");
        assert_eq!(unescape(r"a\(emb \[bu] c\&."), "a\u{2014}b \u{2022} c.");
        assert_eq!(unescape(r"2\ MB \[u00E4]\(:u"), "2 MB \u{e4}\u{fc}");
        assert_eq!(unescape(r#"x \" a comment"#), "x ");
        assert_eq!(unescape(r"\s-1SMALL\s0 \*(lqq\*(rq"), "SMALL \"q\"");
        assert_eq!(unescape(r"\e\\"), r"\\");
    }

    #[test]
    fn arguments_honour_quotes() {
        assert_eq!(
            split_args(r#"MAP_HUGE_2MB ", " MAP_HUGE_1GB " (since Linux 3.8)""#),
            vec!["MAP_HUGE_2MB", ", ", "MAP_HUGE_1GB", " (since Linux 3.8)"]
        );
        assert_eq!(split_args(r#""say ""hi""" x"#), vec![r#"say "hi""#, "x"]);
    }

    #[test]
    fn flattened_roff_is_split_at_requests() {
        let lines = unflatten(
            r#".TH X 2 .SH NAME x \- y .SH FEHLER .TP .B EBADF Z.B. kaputt .TP .B EINVAL"#,
        )
        .unwrap();
        let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                ".TH X 2",
                ".SH NAME x \\- y",
                ".SH FEHLER",
                ".TP",
                ".B EBADF Z.B. kaputt",
                ".TP",
                ".B EINVAL"
            ]
        );
        assert!(unflatten(".TH X 2\n.SH NAME\n").is_none());
    }

    #[test]
    fn bullets_are_told_from_tags() {
        assert!(is_bullet("\u{2022}"));
        assert!(is_bullet("1."));
        assert!(is_bullet("(a)"));
        assert!(!is_bullet("EINVAL"));
        assert!(!is_bullet("flag"));
    }
}
