//! results.json against its JSON Schema: the committed schema is the one the reader's
//! types give, every committed results.json validates against it, and so does a file the
//! writer makes now. Set MMAPCONF_BLESS=1 to rewrite the committed schema after changing
//! the reader's types.

use mmapconf::judge::CaseResult;
use mmapconf::report::{self, merge, schema};
use std::path::{Path, PathBuf};

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(harness().join(schema::SCHEMA_FILE))
        .expect("the committed schema exists");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn results_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if entry.file_type().unwrap().is_dir() {
            results_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "results.json") {
            out.push(p);
        }
    }
}

#[test]
fn the_committed_schema_is_the_one_the_reader_types_give() {
    let generated = schema::results_schema();
    let path = harness().join(schema::SCHEMA_FILE);
    if std::env::var_os("MMAPCONF_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run `MMAPCONF_BLESS=1 cargo test --test schema`",
        path.display()
    );
}

#[test]
fn every_committed_results_file_validates_against_the_schema() {
    let v = validator();
    let mut files = Vec::new();
    results_files(&harness().join("../reports"), &mut files);
    assert!(!files.is_empty(), "no results.json under reports/");
    for f in &files {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{}: {}", f.display(), errs.join("; "));
    }
}

/// A results file as `run` writes it now, for every built-in case (as not applicable:
/// the shape is what matters, not a run).
fn fresh_results() -> serde_json::Value {
    let suite = mmapconf::embedded::suite().expect("the built-in cases load");
    let results: Vec<CaseResult> = suite
        .cases
        .iter()
        .map(|c| CaseResult::not_applicable(c, "schema test"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let host = mmapconf::host::Host::detect();
    let path = report::write_results(dir.path(), &host, &results).unwrap();
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_results_file_written_now_validates_and_carries_version_and_case_hashes() {
    let doc = fresh_results();
    let errs = errors(&validator(), &doc);
    assert!(errs.is_empty(), "{}", errs.join("; "));
    assert_eq!(doc["schema_version"], merge::SCHEMA_VERSION);
    for c in doc["cases"].as_array().unwrap() {
        let h = c["case_hash"].as_str().unwrap();
        assert!(
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
            "{}: {h}",
            c["id"]
        );
    }
}

#[test]
fn a_file_missing_a_case_id_does_not_validate() {
    let mut doc = fresh_results();
    doc["cases"][0].as_object_mut().unwrap().remove("id");
    assert!(!errors(&validator(), &doc).is_empty());
}

#[test]
fn a_file_without_schema_version_reads_as_version_one() {
    let mut doc = fresh_results();
    doc.as_object_mut().unwrap().remove("schema_version");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    assert_eq!(merge::Run::read(&path).unwrap().schema_version, 1);
}

#[test]
fn a_file_from_a_newer_schema_is_refused_with_a_clear_error() {
    let mut doc = fresh_results();
    doc["schema_version"] = (merge::SCHEMA_VERSION + 1).into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let err = merge::Run::read(&path).unwrap_err();
    assert!(err.contains("newer than this mmapconf reads"), "{err}");
}

fn hash_of(text: &str) -> String {
    let doc = toml::de::DeTable::parse(text).unwrap();
    mmapconf::load::case_hash(&toml::de::DeValue::Table(doc.into_inner()))
}

#[test]
fn a_case_hash_ignores_key_order_comments_and_layout() {
    let a = hash_of("id = \"m.x\"\ncall = { fn = \"mmap\", len = \"1p\" }\n");
    let b = hash_of("# a comment\ncall = {len=\"1p\",fn=\"mmap\"}\n\nid   =   \"m.x\"\n");
    assert_eq!(a, b);
}

#[test]
fn a_case_hash_changes_when_any_value_does() {
    let a = hash_of("id = \"m.x\"\ncall = { fn = \"mmap\", len = \"1p\" }\n");
    let b = hash_of("id = \"m.x\"\ncall = { fn = \"mmap\", len = \"2p\" }\n");
    let c = hash_of("id = \"m.x\"\ntimeout = 5\n");
    let d = hash_of("id = \"m.x\"\ntimeout = 5.0\n");
    assert_ne!(a, b);
    assert_ne!(c, d);
}

#[test]
fn a_case_hash_is_the_same_whatever_the_spelling_of_a_number() {
    let a = hash_of("id = \"m.x\"\nn = 16\nf = 1000.0\n");
    let b = hash_of("id = \"m.x\"\nn = 0x10\nf = 1_000.0\n");
    let c = hash_of("id = \"m.x\"\nn = 0o20\nf = 1e3\n");
    assert_eq!(a, b);
    assert_eq!(a, c);
}

const STABLE_HASH: &str = "7b6b85ac81b32806a7041dee18119860c16907ed913ecc9a4c5e062a2929c862";

/// Hashes are what dashboards compare across runs: a case's hash must not change when the
/// harness changes how it computes it. This one was computed by the first implementation.
#[test]
fn a_case_hash_is_stable_across_releases() {
    let h = hash_of(
        "id = \"m.x\"\ntitle = \"t\"\ncall = { fn = \"mmap\", len = \"1p\" }\ntimeout = 5.0\n",
    );
    assert_eq!(h, STABLE_HASH);
}

#[test]
fn every_built_in_case_has_its_own_hash() {
    let suite = mmapconf::embedded::suite().expect("the built-in cases load");
    let hashes: std::collections::BTreeSet<&str> =
        suite.cases.iter().map(|c| c.hash.as_str()).collect();
    assert!(!hashes.contains(""));
    assert_eq!(hashes.len(), suite.cases.len());
}
