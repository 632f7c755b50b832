//! The case files built into the binary (see build.rs): the default suite, so the binary
//! needs no source tree beside it.

use crate::load::{LoadError, Suite, load_sources};
use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// Loads the built-in suite; errors name files as `cases/<path>`, as in the source tree.
pub fn suite() -> Result<Suite, Vec<LoadError>> {
    let shown: Vec<(PathBuf, PathBuf)> = FILES
        .iter()
        .map(|(rel, _)| (PathBuf::from(rel), PathBuf::from("cases").join(rel)))
        .collect();
    load_sources(
        shown
            .iter()
            .zip(FILES)
            .map(|((rel, shown), (_, text))| (rel.as_path(), shown.as_path(), *text)),
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
}
