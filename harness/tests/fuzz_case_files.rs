//! Mutation fuzzing of the real case files, on stable Rust inside `cargo test`: thousands
//! of mutants of the files under cases/ (fixed seed, so a failure reproduces) go through
//! the loader and, when they load, the planner. None may panic, hang or overflow the
//! stack, and every rejected mutant must get errors that name the file, line and column.

use mmapconf::load::{LoadError, decode, parse_file};
use mmapconf::registry::Registry;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};

/// Inputs tried per run.
const INPUTS: u32 = 3_000;

/// Fragments that make interesting case files: TOML syntax, expression syntax, names.
const TOKENS: &[&str] = &[
    "[[case]]",
    "[[case.step]]",
    "[case.call]",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "=",
    ",",
    "\n",
    "#",
    "\\",
    "p",
    "max",
    "top",
    "-",
    "+",
    "*",
    "/",
    "/0",
    "(",
    ")",
    "0x",
    "1p",
    "170141183460469231731687303715884105727",
    "-1",
    "nan",
    "inf",
    "1e308",
    "len",
    "offset",
    "addr",
    "timeout = ",
    "mapping.",
    "result",
    "hole",
    "null",
    "MAP_FIXED",
    "PROT_READ|",
    "errno = ",
    "E",
    "\u{e9}",
    "\u{1f600}",
    "\0",
    "\u{feff}",
];

fn case_files() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(root.join("clauses")) {
                continue;
            } else if e.file_type().unwrap().is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                let rel = p.strip_prefix(&root).unwrap().to_path_buf();
                out.push((Path::new("cases").join(rel), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Remove `len` bytes at a fraction of the text.
    Delete(f64, usize),
    /// Insert a token, repeated (deep nesting, long runs).
    Insert(f64, usize, usize),
    /// Overwrite a byte.
    Byte(f64, u8),
    /// Copy a slice elsewhere.
    Duplicate(f64, usize, f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0, 1usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (
            0.0..1.0,
            0..TOKENS.len(),
            prop_oneof![3 => Just(1usize), 1 => 1usize..2_000]
        )
            .prop_map(|(a, t, n)| Mutation::Insert(a, t, n)),
        (0.0..1.0, any::<u8>()).prop_map(|(a, b)| Mutation::Byte(a, b)),
        (0.0..1.0, 1usize..400, 0.0..1.0).prop_map(|(a, n, b)| Mutation::Duplicate(a, n, b)),
    ]
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let at = |f: f64, len: usize| ((len as f64) * f) as usize;
    match *m {
        Mutation::Delete(a, n) => {
            let i = at(a, text.len());
            let j = (i + n).min(text.len());
            text.drain(i..j);
        }
        Mutation::Insert(a, t, n) => {
            let i = at(a, text.len());
            let bytes = TOKENS[t].repeat(n).into_bytes();
            text.splice(i..i, bytes);
        }
        Mutation::Byte(a, b) => {
            if !text.is_empty() {
                let i = at(a, text.len()).min(text.len() - 1);
                text[i] = b;
            }
        }
        Mutation::Duplicate(a, n, b) => {
            let i = at(a, text.len());
            let slice = text[i..(i + n).min(text.len())].to_vec();
            let k = at(b, text.len());
            text.splice(k..k, slice);
        }
    }
}

/// Every error names the file and a line:col inside (or one past) the text.
fn assert_located(errors: &[LoadError], file: &Path, text: &[u8]) {
    assert!(!errors.is_empty(), "rejected without an error");
    let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
    for e in errors {
        assert_eq!(e.file, file, "{e}");
        assert!(e.line >= 1 && e.line <= lines, "line out of the file: {e}");
        assert!(e.col >= 1, "no column: {e}");
        assert!(!e.msg.trim().is_empty(), "empty message: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}:{}:{}: ", file.display(), e.line, e.col))
        );
    }
}

#[test]
fn mutated_case_files_never_panic_and_every_rejection_is_located() {
    let files = case_files();
    assert!(files.len() > 5, "no case files found");
    let registry: Registry = mmapconf::embedded::suite().unwrap().registry;
    let config = Config {
        cases: INPUTS,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let tried = std::sync::atomic::AtomicU32::new(0);
    let rejected = std::sync::atomic::AtomicU32::new(0);
    let strategy = (0..files.len(), proptest::collection::vec(mutation(), 1..6));
    let result = runner.run(&strategy, |(f, muts)| {
        tried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (path, original) = &files[f];
        let mut text = original.clone();
        for m in &muts {
            apply(&mut text, m);
        }
        let loaded = decode(path, text.clone())
            .map_err(|e| vec![e])
            .and_then(|t| parse_file(path, &t, &registry));
        match loaded {
            Err(errors) => {
                rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                assert_located(&errors, path, &text);
            }
            Ok(cases) => {
                for c in &cases {
                    // Planning must not panic either; its errors are `check`'s to report.
                    let _ = mmapconf::plan::check_everywhere(c);
                }
            }
        }
        Ok(())
    });
    let tried = tried.into_inner();
    eprintln!(
        "fuzz: {tried} inputs tried, {} rejected",
        rejected.into_inner()
    );
    result.unwrap();
    assert!(tried >= INPUTS, "only {tried} inputs tried");
}
