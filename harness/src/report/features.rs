//! The per-runtime table by flag, prot and advice value: for each value the cases pass to
//! the call under test (MAP_*, PROT_*, MADV_*, MS_*, MREMAP_*, MCL_*, MLOCK_*, INHERIT_*)
//! and each run, whether the run conforms on every case that uses it, partly, or on none,
//! with the cases behind it: the compatibility table emulators publish, made from runs.

use super::merge::{CaseRow, Merged};
use std::collections::BTreeMap;

const FAMILIES: [&str; 8] = [
    "MAP_", "PROT_", "MADV_", "MS_", "MREMAP_", "MCL_", "MLOCK_", "INHERIT_",
];

/// The values a call's C text names, in order, without repeats.
pub fn values_in(call: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for tok in call.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')) {
        if FAMILIES
            .iter()
            .any(|f| tok.starts_with(f) && tok.len() > f.len())
            && !out.contains(&tok)
        {
            out.push(tok);
        }
    }
    out
}

/// How one run stands on one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing<'a> {
    /// Cases that ran with the value.
    pub ran: Vec<&'a str>,
    /// Those of them that failed (a recorded deviation is what the kernel itself does,
    /// so it counts as conforming).
    pub failed: Vec<&'a str>,
}

impl Standing<'_> {
    pub fn word(&self) -> &'static str {
        match (self.ran.len(), self.failed.len()) {
            (0, _) => "n/a",
            (_, 0) => "conforms",
            (r, f) if r == f => "differs",
            _ => "partly",
        }
    }
}

fn failed(c: &CaseRow) -> bool {
    !matches!(
        c.verdict.as_str(),
        "pass" | "known-deviation" | "not-applicable" | "observed"
    )
}

/// Value -> per run (in run order) its standing; values sorted by family, then name.
pub fn table<'a>(m: &'a Merged) -> Vec<(&'a str, Vec<Standing<'a>>)> {
    let mut rows: BTreeMap<(usize, &str), Vec<Standing>> = BTreeMap::new();
    for (i, run) in m.runs.iter().enumerate() {
        for c in run.cases.iter().filter(|c| c.ran()) {
            for v in values_in(&c.call) {
                let fam = FAMILIES.iter().position(|f| v.starts_with(f)).unwrap_or(0);
                let row = rows.entry((fam, v)).or_insert_with(|| {
                    vec![
                        Standing {
                            ran: Vec::new(),
                            failed: Vec::new()
                        };
                        m.runs.len()
                    ]
                });
                row[i].ran.push(&c.id);
                if failed(c) {
                    row[i].failed.push(&c.id);
                }
            }
        }
    }
    rows.into_iter().map(|((_, v), s)| (v, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{case, registry, run};
    use super::*;

    #[test]
    fn values_are_read_from_the_call_as_c() {
        assert_eq!(
            values_in("mmap(NULL, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"),
            ["PROT_READ", "PROT_WRITE", "MAP_PRIVATE", "MAP_ANONYMOUS"]
        );
        assert_eq!(
            values_in("madvise(0x7f00, 12288, 0x7fff)"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_value_is_partly_conforming_when_some_of_its_cases_fail() {
        let reg = registry();
        let mut a = case("a", &[], "pass", "ok");
        a.call = "madvise(0x7f0000, 12288, MADV_REMOVE)".into();
        let mut b = case("b", &[], "fail", "ok");
        b.call = "madvise(0x7f0000, 0, MADV_REMOVE)".into();
        let mut c = case("c", &[], "known-deviation", "EINVAL");
        c.call = "madvise(0x7f0000, 12288, MADV_FREE)".into();
        let m = Merged::new(
            vec![run("k", "linux", vec![a, b, c])],
            &reg,
            Default::default(),
        );
        let t = table(&m);
        let words: Vec<(&str, &str)> = t.iter().map(|(v, s)| (*v, s[0].word())).collect();
        assert_eq!(
            words,
            [("MADV_FREE", "conforms"), ("MADV_REMOVE", "partly")]
        );
        assert_eq!(t[1].1[0].failed, ["b"]);
    }
}
