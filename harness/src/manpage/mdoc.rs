//! mdoc(7) source (FreeBSD's pages) to [`Event`]s: `.Dd`/`.Dt`/`.Os` page facts, `.Sh`
//! sections, `.Bl`/`.It`/`.El` lists (tag lists give entries, bullet lists bullets), and the
//! in-line macros (`.Fa`, `.Dv`, `.Er`, `.Xr`, `.Bq`, `.Pq`, `.Ns`, ...) rendered as the
//! words they stand for.

use super::events::Event;
use super::roff::{Meta, control, split_args, unescape};

/// Macros that may be called on a macro line: rendered as their arguments (or specially).
const CALLABLE: &[&str] = &[
    "Ac", "Ad", "An", "Ao", "Ap", "Aq", "Ar", "At", "Bc", "Bo", "Bq", "Brc", "Bro", "Brq", "Bsx",
    "Bx", "Cd", "Cm", "Dc", "Do", "Dq", "Dv", "Dx", "Ec", "Em", "En", "Eo", "Er", "Es", "Ev", "Fa",
    "Fc", "Fl", "Fn", "Fo", "Fr", "Ft", "Fx", "Ic", "In", "Li", "Lk", "Ms", "Mt", "Nm", "No", "Ns",
    "Nx", "Oc", "Oo", "Op", "Ot", "Ox", "Pa", "Pc", "Pf", "Po", "Pq", "Qc", "Ql", "Qo", "Qq", "Sc",
    "So", "Sq", "St", "Sx", "Sy", "Ta", "Tn", "Ux", "Va", "Vt", "Xc", "Xo", "Xr",
];

/// Closing punctuation: written without a blank before it.
fn is_closing(t: &str) -> bool {
    matches!(t, "." | "," | ";" | ":" | "?" | "!" | ")" | "]")
}

/// Opening punctuation: written without a blank after it.
fn is_opening(t: &str) -> bool {
    matches!(t, "(" | "[")
}

fn is_macro(t: &str) -> bool {
    CALLABLE.contains(&t)
}

/// Words being joined into text, with the blank rules of mdoc.
#[derive(Default)]
struct Words {
    out: String,
    no_space: bool,
}

impl Words {
    fn word(&mut self, w: &str) {
        if w.is_empty() {
            return;
        }
        if !self.out.is_empty() && !self.no_space && !is_closing(w) {
            self.out.push(' ');
        }
        self.out.push_str(w);
        self.no_space = is_opening(w);
    }
}

/// The version word after `.Fx`, `.Bx`, ... when there is one.
fn version_after(tokens: &[String], i: &mut usize) -> String {
    match tokens.get(*i + 1) {
        Some(v) if v.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            *i += 1;
            v.clone()
        }
        _ => String::new(),
    }
}

/// Renders the tokens of one macro line (the leading macro included) as text.
pub fn render(tokens: &[String], page_name: &str) -> String {
    let mut w = Words::default();
    render_into(&mut w, tokens, page_name);
    w.out
}

fn render_into(w: &mut Words, tokens: &[String], page_name: &str) {
    let mut i = 0;
    while i < tokens.len() {
        let raw = tokens[i].as_str();
        // `\&` before a word keeps it from being read as a macro or punctuation.
        if raw.starts_with("\\&") || !is_macro(raw) {
            w.word(&unescape(raw));
            i += 1;
            continue;
        }
        match raw {
            "Ns" | "Ap" => {
                w.no_space = true;
                if raw == "Ap" {
                    w.out.push('\'');
                }
            }
            "Xr" => {
                let name = tokens.get(i + 1).map(|s| unescape(s)).unwrap_or_default();
                let sec = tokens.get(i + 2).filter(|s| !is_closing(s) && !is_macro(s));
                match sec {
                    Some(s) => {
                        w.word(&format!("{name}({})", unescape(s)));
                        i += 2;
                    }
                    None => {
                        w.word(&name);
                        i += 1;
                    }
                }
            }
            "Fn" => {
                let mut j = i + 1;
                let name = tokens.get(j).map(|s| unescape(s)).unwrap_or_default();
                j += 1;
                let mut args = Vec::new();
                while let Some(t) = tokens.get(j) {
                    if is_closing(t) || is_macro(t) {
                        break;
                    }
                    args.push(unescape(t));
                    j += 1;
                }
                w.word(&format!("{name}({})", args.join(", ")));
                i = j - 1;
            }
            "Fl" => {
                let arg = tokens.get(i + 1).filter(|t| !is_closing(t) && !is_macro(t));
                w.word(&format!(
                    "-{}",
                    arg.map(|a| unescape(a)).unwrap_or_default()
                ));
                if arg.is_some() {
                    i += 1;
                }
            }
            "Bq" | "Pq" | "Dq" | "Sq" | "Aq" | "Brq" | "Ql" | "Qq" | "Op" => {
                let (open, close) = match raw {
                    "Bq" | "Op" => ("[", "]"),
                    "Pq" => ("(", ")"),
                    "Dq" | "Qq" => ("\"", "\""),
                    "Sq" | "Ql" => ("'", "'"),
                    "Aq" => ("<", ">"),
                    _ => ("{", "}"),
                };
                // The enclosure runs to the end of the line, less trailing punctuation.
                let mut end = tokens.len();
                while end > i + 1 && is_closing(&tokens[end - 1]) {
                    end -= 1;
                }
                let mut inner = Words::default();
                render_into(&mut inner, &tokens[i + 1..end], page_name);
                w.word(&format!("{open}{}{close}", inner.out));
                i = end - 1;
            }
            "Nm" => match tokens.get(i + 1) {
                Some(t) if !is_closing(t) && !is_macro(t) => {
                    w.word(&unescape(t));
                    i += 1;
                }
                _ => w.word(page_name),
            },
            "Fx" => {
                let v = version_after(tokens, &mut i);
                w.word(format!("FreeBSD {v}").trim());
            }
            "Nx" | "Ox" | "Dx" | "Bsx" => {
                let os = match raw {
                    "Nx" => "NetBSD",
                    "Ox" => "OpenBSD",
                    "Dx" => "DragonFly",
                    _ => "BSD/OS",
                };
                let v = version_after(tokens, &mut i);
                w.word(format!("{os} {v}").trim());
            }
            "Bx" => {
                let v = version_after(tokens, &mut i);
                w.word(&format!("{v}BSD"));
            }
            "At" => w.word("AT&T UNIX"),
            "Ux" => w.word("UNIX"),
            "St" => {
                let std = tokens.get(i + 1).map(String::as_str).unwrap_or_default();
                w.word(if std.starts_with("-p1003") || std.starts_with("-susv") {
                    "POSIX"
                } else if std.starts_with("-isoC") || std.starts_with("-ansiC") {
                    "ISO C"
                } else {
                    "the standard"
                });
                i += 1;
            }
            "Ta" => w.word(" "),
            // Style and structure macros with nothing to show themselves.
            _ => {}
        }
        i += 1;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ListKind {
    Tag,
    Bullet,
    Column,
}

/// mdoc source to events and page facts.
pub fn mdoc_events(lines: &[(usize, String)]) -> (Meta, Vec<Event>) {
    let mut meta = Meta::default();
    let mut events = Vec::new();
    let mut lists: Vec<ListKind> = Vec::new();
    let mut skip_until: Option<&str> = None;
    let mut first_nm = String::new();
    for (line, raw) in lines {
        let line = *line;
        if let Some(end) = skip_until {
            if raw.trim_start().starts_with(end) {
                skip_until = None;
            }
            continue;
        }
        let depth = lists.len();
        let Some((name, rest)) = control(raw) else {
            let t = unescape(raw);
            if !t.trim().is_empty() {
                events.push(Event::Text {
                    text: t,
                    line,
                    depth,
                });
            }
            continue;
        };
        let args = split_args(rest);
        let plain = |args: &[String]| render(args, &meta_name(&meta, &first_nm));
        match name {
            "\\\"" => {}
            "Dd" => meta.date = plain(&args),
            "Dt" => {
                meta.name = args.first().map(|a| unescape(a)).unwrap_or_default();
                meta.section = args.get(1).map(|a| unescape(a)).unwrap_or_default();
            }
            "Os" => meta.source = plain(&args),
            "Sh" | "Ss" => {
                lists.clear();
                events.push(Event::Section {
                    title: plain(&args),
                    line,
                });
            }
            "Bl" => lists.push(
                if args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-bullet" | "-dash" | "-hyphen" | "-enum" | "-item"
                    )
                }) {
                    ListKind::Bullet
                } else if args.iter().any(|a| a == "-column") {
                    ListKind::Column
                } else {
                    ListKind::Tag
                },
            ),
            "El" => {
                lists.pop();
                events.push(Event::Close { depth: lists.len() });
            }
            "It" => match lists.last() {
                Some(ListKind::Tag) => events.push(Event::Tag {
                    text: plain(&args),
                    line,
                    depth,
                }),
                Some(ListKind::Bullet) => {
                    events.push(Event::Bullet { line, depth });
                    let t = plain(&args);
                    if !t.is_empty() {
                        events.push(Event::Text {
                            text: t,
                            line,
                            depth,
                        });
                    }
                }
                _ => events.push(Event::Text {
                    text: plain(&args),
                    line,
                    depth,
                }),
            },
            "Pp" | "Lp" | "PP" | "LP" => events.push(Event::Break { depth: depth + 1 }),
            "Rv" => events.push(Event::Text {
                text: "It returns 0 on success; otherwise it returns -1 and sets errno.".into(),
                line,
                depth,
            }),
            "de" | "ig" => skip_until = Some(".."),
            "Bd" | "Ed" | "Bf" | "Ef" | "Ek" | "Bk" | "Ex" | "br" | "sp" | "Lb" | "Fo" | "Fc" => {}
            "Nm" if first_nm.is_empty() => {
                first_nm = args.first().map(|a| unescape(a)).unwrap_or_default();
                events.push(Event::Text {
                    text: first_nm.clone(),
                    line,
                    depth,
                });
            }
            _ => {
                let mut tokens = vec![name.to_string()];
                tokens.extend(args);
                let t = plain(&tokens);
                if !t.trim().is_empty() {
                    events.push(Event::Text {
                        text: t,
                        line,
                        depth,
                    });
                }
            }
        }
    }
    if meta.name.is_empty() {
        meta.name = first_nm;
    }
    (meta, events)
}

fn meta_name(meta: &Meta, first_nm: &str) -> String {
    if first_nm.is_empty() {
        meta.name.to_lowercase()
    } else {
        first_nm.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: &str) -> String {
        render(&split_args(line), "mmap")
    }

    #[test]
    fn inline_macros_render_as_words() {
        assert_eq!(r("Bq Er EINVAL"), "[EINVAL]");
        assert_eq!(r("Dv MAP_ALIGNED Ns Pq Fa n"), "MAP_ALIGNED(n)");
        assert_eq!(r("Xr mprotect 2 ,"), "mprotect(2),");
        assert_eq!(r("Fa fd ,"), "fd,");
        assert_eq!(r("Em or Ns 'ing"), "or'ing");
        assert_eq!(r("Fn mmap"), "mmap()");
        assert_eq!(r("Va vm.max_proc_mmap"), "vm.max_proc_mmap");
        assert_eq!(r("Ar len"), "len");
        assert_eq!(r("Pq Dq super"), "(\"super\")");
        assert_eq!(r("Fx 6.1 ."), "FreeBSD 6.1.");
        assert_eq!(r("Bx 4.4 ."), "4.4BSD.");
        assert_eq!(r("Nm"), "mmap");
        assert_eq!(r("Sx BUGS"), "BUGS");
        assert_eq!(r(r"\&. Fa x"), ". x");
    }
}
