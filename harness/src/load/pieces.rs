//! Parsing one large case file on all cores: the file is cut at `[[case]]` header lines into
//! pieces that parse to the same tables as the whole file, each piece parsed on its own
//! thread. A 20 000-case file is 7 MB, and its parse alone was a third of `check`.
//!
//! A cut is made only where it cannot change the meaning: every table header in the file is
//! `[[case]]` or `[[case.…]]` (so a piece holds whole cases and nothing else), and the file
//! has no multi-line string (which could hold a line that looks like a header). Anything
//! else is parsed whole. Each piece keeps the byte offsets of the whole file (what comes
//! before it is replaced by one comment line of the same length), so every span, and every
//! error's line and column, is the same as the whole file's parse gives.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Below this size a file is parsed whole: threads cost more than they save.
pub const SPLIT_BYTES: usize = 256 << 10;

/// The start of each piece after the first, or none when the file must be parsed whole.
pub fn cuts(text: &str, pieces: usize) -> Vec<usize> {
    if pieces < 2 || text.len() < SPLIT_BYTES || text.contains("'''") || text.contains("\"\"\"") {
        return Vec::new();
    }
    let mut headers = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_start();
        if !body.starts_with('[') {
            continue;
        }
        let header = body.split('#').next().unwrap_or("").trim_end();
        if header == "[[case]]" {
            // Indented headers are valid TOML but rare; cutting before the indent is the same.
            headers.push(start);
        } else if !header.starts_with("[[case.") {
            return Vec::new();
        }
    }
    let mut out: Vec<usize> = Vec::new();
    for n in 1..pieces {
        let goal = text.len() * n / pieces;
        let Some(&cut) = headers.iter().find(|&&h| h >= goal) else {
            break;
        };
        if cut > 0 && out.last() != Some(&cut) {
            out.push(cut);
        }
    }
    out
}

/// The text a piece starting at `start` is parsed from: everything before it made into one
/// comment line of the same byte length, so offsets stay the whole file's.
pub fn padded(text: &str, start: usize, end: usize) -> String {
    let mut s = String::with_capacity(end);
    match start {
        0 => {}
        // `start` follows a newline (a cut is at a line's start).
        1 => s.push('\n'),
        _ => {
            s.push('#');
            s.extend(std::iter::repeat_n(' ', start - 2));
            s.push('\n');
        }
    }
    s.push_str(&text[start..end]);
    s
}

/// Parses `texts` (the first piece, then the padded rest) each on its own thread: the first
/// piece's document, with the `case` tables of every later piece appended to its own, in
/// file order. The first error in file order is returned.
pub fn parse<'a>(texts: &'a [String]) -> Result<Spanned<DeTable<'a>>, toml::de::Error> {
    let mut docs: Vec<Result<Spanned<DeTable<'a>>, toml::de::Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .iter()
            .map(|t| s.spawn(move || DeTable::parse(t)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut rest = docs.split_off(1);
    let mut first = docs.pop().expect("at least one piece")?;
    let key = Spanned::new(0..0, std::borrow::Cow::Borrowed("case"));
    let mut more = Vec::new();
    for doc in rest.drain(..) {
        let mut doc = doc?;
        if let Some(v) = doc.get_mut().remove(&key)
            && let DeValue::Array(a) = v.into_inner()
        {
            more.extend(a);
        }
    }
    if !more.is_empty()
        && let Some(v) = first.get_mut().get_mut(&key)
        && let DeValue::Array(a) = v.get_mut()
    {
        for case in more {
            a.push(case);
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(cases: usize, defect_in: Option<usize>) -> String {
        let mut s = String::from("unverified = [\"freebsd\"]\n\n");
        for i in 0..cases {
            let value = if defect_in == Some(i) {
                "= ="
            } else {
                "= \"1p\""
            };
            s.push_str(&format!(
                "[[case]]\nid = \"mmap.pieces.case-{i}\"\ntitle = \"é {i}\" # a comment\n\
                 call = {{ fn = \"mmap\", len = \"1p\" }}\n\n[[case.step]]\nread {value}\n\n"
            ));
        }
        s
    }

    fn pieces_of(text: &str, n: usize) -> Vec<String> {
        let cuts = cuts(text, n);
        assert!(!cuts.is_empty(), "a large plain case file is cut");
        let starts = std::iter::once(0).chain(cuts.iter().copied());
        let ends = cuts.iter().copied().chain(std::iter::once(text.len()));
        starts.zip(ends).map(|(a, b)| padded(text, a, b)).collect()
    }

    fn cases_of(doc: &Spanned<DeTable<'_>>) -> Vec<(String, std::ops::Range<usize>)> {
        let key = Spanned::new(0..0, std::borrow::Cow::Borrowed("case"));
        let Some(DeValue::Array(a)) = doc.get_ref().get(&key).map(|v| v.get_ref()) else {
            panic!("no case array");
        };
        a.iter()
            .map(|c| (crate::load::case_hash(c.get_ref()), c.span()))
            .collect()
    }

    #[test]
    fn pieces_parse_to_the_same_cases_with_the_same_spans_as_the_whole_file() {
        let text = file(3000, None);
        let whole = DeTable::parse(&text).unwrap();
        for n in [2, 3, 8] {
            let texts = pieces_of(&text, n);
            assert_eq!(texts.len(), n);
            // Each piece ends where the next begins, the last at the file's end.
            assert_eq!(texts.last().unwrap().len(), text.len());
            assert!(texts.windows(2).all(|w| w[0].len() < w[1].len()));
            let cut = parse(&texts).unwrap();
            assert_eq!(cases_of(&cut), cases_of(&whole), "{n} pieces");
            assert_eq!(cases_of(&cut).len(), 3000);
            let head = Spanned::new(0..0, std::borrow::Cow::Borrowed("unverified"));
            assert!(
                cut.get_ref().contains_key(&head),
                "the head stays with the first piece"
            );
        }
    }

    #[test]
    fn an_error_in_a_later_piece_is_located_as_in_the_whole_file() {
        let text = file(3000, Some(2900));
        let whole = DeTable::parse(&text).unwrap_err();
        let cut = parse(&pieces_of(&text, 2)).unwrap_err();
        assert_eq!(cut.span(), whole.span());
        assert_eq!(cut.message(), whole.message());
    }

    #[test]
    fn files_that_a_cut_could_change_are_parsed_whole() {
        let plain = file(3000, None);
        assert!(cuts(&file(10, None), 2).is_empty(), "a small file");
        assert!(cuts(&plain, 1).is_empty(), "one core");
        let multiline = format!("{plain}[[case]]\ntitle = '''\n[[case]]\n'''\n");
        assert!(cuts(&multiline, 2).is_empty(), "a multi-line string");
        let other = format!("{plain}[meta]\nx = 1\n");
        assert!(cuts(&other, 2).is_empty(), "a table that is not a case");
        let nested = format!("{plain}[[case]]\nv = [\n  [1],\n]\n");
        assert!(
            cuts(&nested, 2).is_empty(),
            "a line of a multi-line array that opens with ["
        );
    }
}
