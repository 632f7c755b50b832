//! One run as TAP version 14, the shape kselftest's KTAP output takes: a plan, one
//! `ok`/`not ok` line per case with its id, `# SKIP` for a case that does not apply, `# TODO`
//! for a failure an expectations file lists, and a YAML block under each failure saying
//! what was expected and seen. CI systems that read kselftest read this.

use super::merge::{CaseRow, Run};
use std::collections::BTreeMap;
use std::fmt::Write;

/// TAP's description may not hold `#` unescaped, nor a newline.
fn description(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace('\n', " ")
}

/// A YAML scalar in double quotes (JSON's string syntax is a subset of YAML's).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn diagnostics(s: &mut String, c: &CaseRow) {
    let _ = writeln!(s, "  ---");
    let _ = writeln!(s, "  message: {}", yaml(&c.message));
    let _ = writeln!(s, "  severity: {}", yaml(&c.verdict));
    let _ = writeln!(s, "  clauses: {}", yaml(&c.clauses.join(", ")));
    let _ = writeln!(s, "  file: {}", yaml(&c.file));
    let _ = writeln!(s, "  call: {}", yaml(&c.call));
    let _ = writeln!(s, "  expected: {}", yaml(&c.expectation()));
    let _ = writeln!(s, "  observed: {}", yaml(&c.outcome()));
    let _ = writeln!(s, "  ...");
}

/// The run as TAP. `todo` maps the ids of listed (expected) failures to their note.
pub fn render(run: &Run, todo: &BTreeMap<String, String>) -> String {
    let mut s = String::from("TAP version 14\n");
    let _ = writeln!(
        s,
        "# mmapconf {}: {}",
        env!("CARGO_PKG_VERSION"),
        run.label()
    );
    let _ = writeln!(s, "1..{}", run.cases.len());
    for (i, c) in run.cases.iter().enumerate() {
        let n = i + 1;
        let id = description(&c.id);
        match c.verdict.as_str() {
            "pass" => {
                let _ = writeln!(s, "ok {n} {id}");
            }
            "known-deviation" => {
                // A recorded, evidenced deviation is not a failure; say which, as a comment.
                let _ = writeln!(s, "ok {n} {id}");
                let _ = writeln!(s, "# {}", description(&c.message));
            }
            "not-applicable" => {
                let _ = writeln!(s, "ok {n} {id} # SKIP {}", description(&c.message));
            }
            "observed" => {
                let _ = writeln!(s, "ok {n} {id}");
                let _ = writeln!(s, "# observed only: {}", description(&c.observed));
            }
            _ => {
                match todo.get(&c.id) {
                    Some(note) => {
                        let _ = writeln!(
                            s,
                            "not ok {n} {id} # TODO expected failure: {}",
                            description(note)
                        );
                    }
                    None => {
                        let _ = writeln!(s, "not ok {n} {id}");
                    }
                }
                diagnostics(&mut s, c);
            }
        }
    }
    let counts = |v: &str| run.cases.iter().filter(|c| c.verdict == v).count();
    let _ = writeln!(
        s,
        "# totals: pass:{} known-deviation:{} fail:{} skip:{}",
        counts("pass"),
        counts("known-deviation"),
        run.cases.len() - counts("pass") - counts("known-deviation") - counts("not-applicable"),
        counts("not-applicable")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{case, run};
    use super::*;

    fn sample() -> Run {
        let mut na = case("mmap.na", &[], "not-applicable", "");
        na.message = "needs FreeBSD".into();
        run(
            "k",
            "linux",
            vec![
                case("mmap.ok", &["c.1"], "pass", "EINVAL"),
                case("mmap.bad", &["c.1"], "fail", "ok (0x7f00)"),
                na,
                case("mmap.known", &["c.1"], "fail", "ENOMEM"),
            ],
        )
    }

    fn lines(t: &str) -> Vec<&str> {
        t.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn the_output_opens_with_the_version_and_a_plan_for_every_case() {
        let t = render(&sample(), &BTreeMap::new());
        assert!(t.starts_with("TAP version 14\n"));
        assert_eq!(lines(&t)[1], "1..4");
        let points = t
            .lines()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .count();
        assert_eq!(points, 4);
    }

    #[test]
    fn a_failure_is_not_ok_with_a_yaml_block_naming_expected_and_observed() {
        let t = render(&sample(), &BTreeMap::new());
        let at = t.find("not ok 2 mmap.bad\n").expect("line for the failure");
        let block = &t[at..];
        assert!(block.contains("\n  ---\n"));
        assert!(block.contains("  expected: \"EINVAL\"\n"));
        assert!(block.contains("  observed: \"ok\"\n"));
        assert!(block.contains("\n  ...\n"));
    }

    #[test]
    fn a_case_that_does_not_apply_is_a_skip_with_its_reason() {
        let t = render(&sample(), &BTreeMap::new());
        assert!(t.contains("ok 3 mmap.na # SKIP needs FreeBSD\n"), "{t}");
    }

    #[test]
    fn a_listed_failure_is_a_todo() {
        let todo = BTreeMap::from([("mmap.known".to_string(), "bug #12".to_string())]);
        let t = render(&sample(), &todo);
        assert!(
            t.contains("not ok 4 mmap.known # TODO expected failure: bug \\#12\n"),
            "{t}"
        );
        assert!(t.contains("not ok 2 mmap.bad\n"));
    }
}
