//! Located errors: a problem in an input file at file:line:col, and the mapping from byte
//! spans to lines and columns. Owned by neither the case loader nor the clause registry,
//! which both report through it (so neither imports the other for its error type).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // About the file as a whole (unreadable, not a regular file): no position.
            return write!(f, "{}: {}", self.file.display(), self.msg);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.msg
        )
    }
}

impl std::error::Error for LoadError {}

/// An error about a file as a whole (unreadable, not a regular file): no position.
pub(crate) fn err_at(file: &Path, msg: String) -> LoadError {
    LoadError {
        file: file.to_path_buf(),
        line: 0,
        col: 0,
        msg,
    }
}

/// Byte offsets of a text's line starts: a span becomes line:col by binary search, so
/// locating every case of a large file stays linear overall.
#[derive(Clone)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// 1-based line and column (in characters) of byte offset `at`.
    pub(crate) fn locate(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= at);
        let start = self.starts[line - 1];
        (line, self.text[start..at].chars().count() + 1)
    }
}

pub(crate) fn located(path: &Path, text: &str, span: Range<usize>, msg: String) -> LoadError {
    let (line, col) = Lines::new(text).locate(span.start);
    LoadError {
        file: path.to_path_buf(),
        line,
        col,
        msg,
    }
}

pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> LoadError {
    let msg = e.message().trim().to_string();
    located(path, text, e.span().unwrap_or(0..0), msg)
}
