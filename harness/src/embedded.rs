//! The case files built into the binary (see build.rs): the default suite, so the binary
//! needs no source tree beside it.

use crate::load::{LoadError, Suite, decode, load_sources};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// Loads the built-in suite; errors name files as `cases/<path>`, as in the source tree.
/// Entries the build refused and files that are not UTF-8 are errors here, as they are
/// when loading the source tree.
pub fn suite() -> Result<Suite, Vec<LoadError>> {
    let mut errors: Vec<LoadError> = REFUSED
        .iter()
        .map(|(rel, why)| LoadError {
            file: Path::new("cases").join(rel),
            line: 0,
            col: 0,
            msg: why.to_string(),
        })
        .collect();
    let mut texts = Vec::new();
    for (rel, bytes) in FILES {
        let shown = Path::new("cases").join(rel);
        match decode(&shown, bytes.to_vec()) {
            Ok(text) => texts.push((PathBuf::from(rel), shown, text)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    load_sources(
        texts
            .iter()
            .map(|(rel, shown, text)| (rel.as_path(), shown.as_path(), text.as_str())),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_suite_loads_and_has_a_registry() {
        let suite = super::suite().unwrap_or_else(|e| panic!("{e:?}"));
        assert!(suite.cases.len() > 100);
        assert!(suite.registry.pages.contains_key("linux-mmap"));
    }

    #[test]
    fn the_build_refused_no_entry_under_cases() {
        assert!(super::REFUSED.is_empty(), "{:?}", super::REFUSED);
    }
}
