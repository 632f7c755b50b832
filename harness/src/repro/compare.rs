//! The one comparison of a reproducer's run with the harness's, and `repro.json`, the
//! record of reproducers run on some runtime. [`super::check`] compares live (it builds
//! and runs each program beside the harness); `mmapconf repro --compare` and the matrix
//! report compare afterwards, from a run's `results.json` (each case's
//! `normal_observation`) and the `repro.json` written beside it by `mmapconf repro
//! --run-bins` on the same runtime. Pure: reads values, runs nothing, so the reporter can
//! use it without the executor.

use super::observation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// How one case came out.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Agree,
    NotApplicable {
        why: String,
    },
    /// Both ran; the observations differ.
    Differ {
        harness: Value,
        repro: Value,
    },
    /// The reproducer did not build or gave no observation; the message says why.
    Broken {
        why: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseCheck {
    pub id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The verdict on one reproducer run: `repro` is its observation line (or why it printed
/// none), `status` its exit status, `harness` the harness's normalised observation of the
/// same case. A program whose exit status is not the one its own verdict calls for is
/// broken, whatever it observed.
pub fn compare(harness: Value, repro: Result<Value, String>, status: Option<i32>) -> Verdict {
    let repro = match repro {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Broken {
                why: format!("{e} (exit status {status:?})"),
            };
        }
    };
    let verdict = repro["verdict"].as_str().unwrap_or("").to_string();
    if status != Some(observation::exit_status(&verdict)) {
        return Verdict::Broken {
            why: format!("it printed verdict `{verdict}` but exited {status:?}"),
        };
    }
    if harness == repro {
        Verdict::Agree
    } else {
        Verdict::Differ { harness, repro }
    }
}

/// The observation line of a reproducer's output: its last line that is a JSON object
/// naming a case.
pub fn observation_of(stdout: &str) -> Result<Value, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"case\""))
        .ok_or("no observation line in its output")?;
    serde_json::from_str(line).map_err(|e| format!("its observation is not JSON ({e}): {line}"))
}

/// The file name `repro --run-bins` writes beside a run's results.json.
pub const REPRO_FILE: &str = "repro.json";

/// `repro.json`: the reproducers run on one runtime, in the order run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReproFile {
    pub tool: String,
    pub version: String,
    /// What ran them (`--via`), empty when they ran directly.
    #[serde(default)]
    pub via: String,
    pub reproducers: Vec<ReproRun>,
}

/// One reproducer's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReproRun {
    /// The case id (the binary's file name).
    pub case: String,
    /// Its exit status; absent when it was killed or never ran.
    #[serde(default)]
    pub exit: Option<i32>,
    /// Its observation line, parsed.
    #[serde(default)]
    pub observation: Option<Value>,
    /// Why there is no observation (it could not start, ran too long, printed none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub elapsed_us: u64,
}

impl ReproRun {
    /// Its observation, or why there is none, as [`compare`] takes it.
    pub fn outcome(&self) -> Result<Value, String> {
        match (&self.observation, &self.error) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err("no observation line in its output".into()),
        }
    }
}

/// A run's cases, as results.json records them: id, verdict, and the normalised
/// observation (absent for a case that did not run, or in a file older than the field).
pub struct HarnessCase<'a> {
    pub id: &'a str,
    pub verdict: &'a str,
    pub normal: Option<&'a Value>,
}

/// Every case of a run held against the reproducers run on the same runtime, in the
/// run's order, then the reproducers for cases the run does not have. A case the harness
/// did not run is not applicable (with why): it is not compared. One the harness ran with
/// no reproducer beside it is broken: its program did not build or start.
pub fn against_results(cases: &[HarnessCase], repro: &ReproFile) -> Vec<CaseCheck> {
    let mut out = Vec::new();
    for c in cases {
        let ran = repro.reproducers.iter().find(|r| r.case == c.id);
        let verdict = match (c.normal, ran) {
            // Not applicable is also decided in the child (a failed privilege drop, an
            // absolute MAP_FIXED target holding the harness's own pages): the harness did
            // not run the case, so there is nothing to compare, whatever the other
            // program, with its own layout, managed.
            (_, _) if c.verdict == "not-applicable" => Verdict::NotApplicable {
                why: "the harness found it not applicable here".into(),
            },
            (Some(h), Some(r)) => compare(h.clone(), r.outcome(), r.exit),
            (None, Some(_)) => Verdict::NotApplicable {
                why: format!(
                    "results.json has no normal observation of it (verdict {})",
                    c.verdict
                ),
            },
            // The harness ran it and the same planner wrote it, so its program is missing
            // because it did not build or start: a defect, not a case left out.
            (Some(_), None) => Verdict::Broken {
                why:
                    "the harness ran it here, but no reproducer of it ran (did its program build?)"
                        .into(),
            },
            (None, None) => Verdict::NotApplicable {
                why: "no reproducer of it ran here".into(),
            },
        };
        out.push(CaseCheck {
            id: c.id.to_string(),
            verdict,
        });
    }
    for r in &repro.reproducers {
        if !cases.iter().any(|c| c.id == r.case) {
            out.push(CaseCheck {
                id: r.case.clone(),
                verdict: Verdict::NotApplicable {
                    why: "the run has no such case".into(),
                },
            });
        }
    }
    out
}

/// Counts of a comparison: agree, differ, broken, not compared.
pub fn tally(checks: &[CaseCheck]) -> [usize; 4] {
    let mut t = [0; 4];
    for c in checks {
        t[match c.verdict {
            Verdict::Agree => 0,
            Verdict::Differ { .. } => 1,
            Verdict::Broken { .. } => 2,
            Verdict::NotApplicable { .. } => 3,
        }] += 1;
    }
    t
}

/// A line (or three) per disagreement, then the tally, ending `suffix`.
pub fn text(checks: &[CaseCheck], suffix: &str) -> String {
    let mut s = String::new();
    for c in checks {
        match &c.verdict {
            Verdict::Differ { harness, repro } => s.push_str(&format!(
                "DIFFER {}\n  harness:    {harness}\n  reproducer: {repro}\n",
                c.id
            )),
            Verdict::Broken { why } => s.push_str(&format!("BROKEN {}: {why}\n", c.id)),
            Verdict::Agree | Verdict::NotApplicable { .. } => {}
        }
    }
    let [a, d, b, n] = tally(checks);
    s.push_str(&format!(
        "{a} reproducers agree with the harness, {d} differ, {b} broken, {n} cases not applicable here{suffix}\n"
    ));
    s
}

/// A results.json (read as plain JSON: this module does not know the reporter's types)
/// held against a repro.json: the checks, or why the files cannot be compared.
pub fn files(results: &Path, repro: &Path) -> Result<Vec<CaseCheck>, String> {
    let read = |p: &Path| -> Result<String, String> {
        std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
    };
    let doc: Value = serde_json::from_str(&read(results)?)
        .map_err(|e| format!("{}: not JSON: {e}", results.display()))?;
    let file: ReproFile = serde_json::from_str(&read(repro)?)
        .map_err(|e| format!("{}: not a repro.json: {e}", repro.display()))?;
    let cases = doc["cases"]
        .as_array()
        .ok_or_else(|| format!("{}: no cases", results.display()))?;
    let cases: Vec<HarnessCase> = cases
        .iter()
        .map(|c| HarnessCase {
            id: c["id"].as_str().unwrap_or(""),
            verdict: c["verdict"].as_str().unwrap_or(""),
            normal: c.get("normal_observation").filter(|v| !v.is_null()),
        })
        .collect();
    if !cases.is_empty() && cases.iter().all(|c| c.normal.is_none()) {
        return Err(format!(
            "{}: no case has a normal_observation (written by an mmapconf older than repro --compare)",
            results.display()
        ));
    }
    Ok(against_results(&cases, &file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(verdict: &str, errno: &str) -> Value {
        json!({"case": "c", "end": "exited 0", "setup": "ok",
               "call": {"state": "errno", "errno": errno}, "steps": [], "verdict": verdict})
    }

    fn ran(case: &str, exit: Option<i32>, observation: Option<Value>) -> ReproRun {
        ReproRun {
            case: case.into(),
            exit,
            observation,
            error: None,
            elapsed_us: 0,
        }
    }

    #[test]
    fn a_case_the_harness_found_not_applicable_in_its_child_is_not_compared() {
        let h = obs("setup failed", "EEXIST");
        let cases = [HarnessCase {
            id: "own-pages",
            verdict: "not-applicable",
            normal: Some(&h),
        }];
        let file = ReproFile {
            tool: "mmapconf".into(),
            version: String::new(),
            via: String::new(),
            reproducers: vec![ran("own-pages", Some(0), Some(obs("pass", "EINVAL")))],
        };
        let checks = against_results(&cases, &file);
        assert!(
            matches!(checks[0].verdict, Verdict::NotApplicable { .. }),
            "{checks:?}"
        );
    }

    #[test]
    fn a_case_the_harness_ran_without_a_reproducer_beside_it_is_broken_not_left_out() {
        let h = obs("pass", "EINVAL");
        let cases = [
            HarnessCase {
                id: "ran",
                verdict: "pass",
                normal: Some(&h),
            },
            HarnessCase {
                id: "skipped",
                verdict: "not-applicable",
                normal: None,
            },
        ];
        let none = ReproFile {
            tool: "mmapconf".into(),
            version: String::new(),
            via: String::new(),
            reproducers: vec![],
        };
        let checks = against_results(&cases, &none);
        assert!(
            matches!(checks[0].verdict, Verdict::Broken { .. }),
            "{checks:?}"
        );
        assert!(matches!(checks[1].verdict, Verdict::NotApplicable { .. }));
        assert_eq!(tally(&checks), [0, 0, 1, 1]);
    }

    #[test]
    fn the_same_observation_agrees_and_another_differs_with_both_sides_kept() {
        let h = obs("pass", "EINVAL");
        assert!(matches!(
            compare(h.clone(), Ok(h.clone()), Some(0)),
            Verdict::Agree
        ));
        let r = obs("fail", "ENOMEM");
        let Verdict::Differ { harness, repro } = compare(h.clone(), Ok(r.clone()), Some(1)) else {
            panic!("not a difference")
        };
        assert_eq!((harness, repro), (h, r));
    }

    #[test]
    fn an_exit_status_that_contradicts_the_printed_verdict_is_broken() {
        let h = obs("pass", "EINVAL");
        assert!(matches!(
            compare(h.clone(), Ok(h.clone()), Some(1)),
            Verdict::Broken { .. }
        ));
        assert!(matches!(
            compare(h, Err("no observation line".into()), None),
            Verdict::Broken { .. }
        ));
    }

    #[test]
    fn a_results_file_is_held_against_its_repro_file_case_by_case() {
        let (a, b) = (obs("pass", "EINVAL"), obs("fail", "ENOMEM"));
        let cases = [
            HarnessCase {
                id: "same",
                verdict: "pass",
                normal: Some(&a),
            },
            HarnessCase {
                id: "other",
                verdict: "pass",
                normal: Some(&a),
            },
            HarnessCase {
                id: "na",
                verdict: "not-applicable",
                normal: None,
            },
            HarnessCase {
                id: "none-ran",
                verdict: "pass",
                normal: Some(&a),
            },
        ];
        let file = ReproFile {
            tool: "mmapconf".into(),
            version: "0".into(),
            via: String::new(),
            reproducers: vec![
                ran("same", Some(0), Some(a.clone())),
                ran("other", Some(1), Some(b.clone())),
                ran("na", Some(0), Some(a.clone())),
                ran("extra", Some(0), Some(a.clone())),
            ],
        };
        let checks = against_results(&cases, &file);
        let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["same", "other", "na", "none-ran", "extra"]);
        // none-ran: the harness ran it, its program did not: broken.
        assert_eq!(tally(&checks), [1, 1, 1, 2]);
    }
}
