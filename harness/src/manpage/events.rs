//! The format-neutral middle of the reader: each format's parser turns its page into a
//! stream of [`Event`]s (section headings, tags, bullets, text, paragraph ends), and
//! [`Extractor`] turns the stream into tagged entries. Nesting is by depth: a tag opens an
//! entry at its depth; text at that depth or deeper belongs to every entry still open.

use super::Entry;
use super::names::{self, Kind};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A section or subsection heading: closes every entry.
    Section { title: String, line: usize },
    /// A paragraph tag at `depth`: opens an entry, or adds a name to the entry just opened
    /// at that depth when it has no text yet (`.TQ`, repeated `.It`).
    Tag {
        text: String,
        line: usize,
        depth: usize,
    },
    /// A bullet (or numbered) item at `depth`, inside the innermost open entry.
    Bullet { line: usize, depth: usize },
    Text {
        text: String,
        line: usize,
        depth: usize,
    },
    /// A paragraph break at `depth`: closes the entries at `depth` and deeper.
    Break { depth: usize },
    /// The end of an indented block or list: closes the entries deeper than `depth`.
    Close { depth: usize },
}

struct Open {
    seq: usize,
    tag: String,
    line: usize,
    depth: usize,
    text: String,
    bullets: Vec<(usize, String)>,
    bullet_depth: Option<usize>,
    section: String,
    intro: String,
}

/// What the extractor found, in page order.
#[derive(Default)]
pub struct Found {
    pub errors: Vec<Entry>,
    pub signals: Vec<Entry>,
    pub flags: Vec<Entry>,
    pub sections: Vec<String>,
    /// All text of the page, paragraphs separated by blank lines.
    pub text: String,
}

#[derive(Default)]
pub struct Extractor {
    text: String,
    stack: Vec<Open>,
    section: String,
    intro: String,
    intro_ended: bool,
    seq: usize,
    done: Vec<(usize, usize, Kind, Entry)>,
    sections: Vec<String>,
}

fn push_text(to: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !to.is_empty() && !to.ends_with(' ') && !to.ends_with('\n') {
        to.push(' ');
    }
    to.push_str(text);
}

/// Collapses runs of whitespace into single spaces and trims.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Extractor {
    pub fn run(events: impl IntoIterator<Item = Event>) -> Found {
        let mut x = Extractor::default();
        for e in events {
            x.feed(e);
        }
        x.finish()
    }

    fn feed(&mut self, event: Event) {
        match event {
            Event::Section { title, .. } => {
                self.paragraph();
                self.close_deeper_than(None);
                self.section = collapse(&title);
                self.sections.push(self.section.clone());
                self.intro.clear();
                self.intro_ended = false;
            }
            Event::Tag { text, line, depth } => {
                self.paragraph();
                push_text(&mut self.text, &text);
                self.paragraph();
                self.close_deeper_than(Some(depth));
                if let Some(top) = self.stack.last_mut()
                    && top.depth == depth
                {
                    if top.text.is_empty() && top.bullets.is_empty() {
                        top.tag.push_str(", ");
                        top.tag.push_str(&text);
                        return;
                    }
                    self.close_top();
                }
                self.seq += 1;
                self.stack.push(Open {
                    seq: self.seq,
                    tag: text,
                    line,
                    depth,
                    text: String::new(),
                    bullets: Vec::new(),
                    bullet_depth: None,
                    section: self.section.clone(),
                    intro: self.intro.clone(),
                });
            }
            Event::Bullet { line, depth } => {
                match self.stack.iter_mut().rev().find(|o| o.depth <= depth) {
                    Some(open) => {
                        open.bullets.push((line, String::new()));
                        open.bullet_depth = Some(depth);
                    }
                    None => self.intro_ended = true,
                }
            }
            Event::Text { text, depth, .. } => {
                push_text(&mut self.text, &text);
                if self.stack.is_empty() {
                    if self.intro_ended {
                        self.intro.clear();
                        self.intro_ended = false;
                    }
                    push_text(&mut self.intro, &text);
                    return;
                }
                for open in self.stack.iter_mut().filter(|o| o.depth <= depth) {
                    push_text(&mut open.text, &text);
                }
                if let Some(open) = self.stack.iter_mut().rev().find(|o| o.depth <= depth)
                    && open.bullet_depth.is_some_and(|b| depth >= b)
                    && let Some((_, b)) = open.bullets.last_mut()
                {
                    push_text(b, &text);
                }
            }
            Event::Break { depth } => {
                self.paragraph();
                while self.stack.last().is_some_and(|o| o.depth >= depth) {
                    self.close_top();
                }
                for open in &mut self.stack {
                    if open.bullet_depth.is_some_and(|b| b >= depth) {
                        open.bullet_depth = None;
                    }
                }
                if self.stack.is_empty() {
                    self.intro_ended = true;
                }
            }
            Event::Close { depth } => {
                self.paragraph();
                self.close_deeper_than(Some(depth));
                if self.stack.is_empty() {
                    // After a list, a new opening paragraph may follow ("The munlock()
                    // system call will fail if:").
                    self.intro_ended = true;
                }
                for open in &mut self.stack {
                    if open.bullet_depth.is_some_and(|b| b > depth) {
                        open.bullet_depth = None;
                    }
                }
            }
        }
    }

    /// Ends the running paragraph of the page text.
    fn paragraph(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.text = self.text.trim_end().to_string();
            self.text.push_str("\n\n");
        }
    }

    fn close_deeper_than(&mut self, depth: Option<usize>) {
        while self
            .stack
            .last()
            .is_some_and(|o| depth.is_none_or(|d| o.depth > d))
        {
            self.close_top();
        }
    }

    fn close_top(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        let Some((names, _)) = names::tag_names(&open.tag) else {
            return;
        };
        let Some(kind) = names::kind_of(&names[0]) else {
            return;
        };
        let text = collapse(&open.text);
        let intro = collapse(&open.intro);
        let split_bullets = kind != Kind::Flag && !open.bullets.is_empty();
        for name in &names {
            let also: Vec<String> = names.iter().filter(|n| *n != name).cloned().collect();
            let entry = |text: String, line: usize| Entry {
                kind,
                key: name.clone(),
                text,
                line,
                also: also.clone(),
                section: open.section.clone(),
                intro: intro.clone(),
            };
            if split_bullets {
                for (i, (line, b)) in open.bullets.iter().enumerate() {
                    self.done
                        .push((open.seq, i, kind, entry(collapse(b), *line)));
                }
            } else {
                self.done
                    .push((open.seq, 0, kind, entry(text.clone(), open.line)));
            }
        }
    }

    fn finish(mut self) -> Found {
        self.close_deeper_than(None);
        self.done.sort_by_key(|(seq, sub, _, _)| (*seq, *sub));
        let mut found = Found {
            sections: self.sections,
            text: self.text.trim_end().to_string(),
            ..Found::default()
        };
        for (_, _, kind, entry) in self.done {
            match kind {
                Kind::Errno => found.errors.push(entry),
                Kind::Signal => found.signals.push(entry),
                Kind::Flag => found.flags.push(entry),
            }
        }
        found
    }
}
