//! The report as JUnit XML for CI systems: one test suite per kernel, one test case per
//! case. A known deviation passes (its evidence goes to system-out); not applicable is
//! skipped; a failure carries what was expected and observed; a case the harness could not
//! run (broken) is an error, not a failure, with the failing call and its errno.

use super::merge::Merged;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

pub fn render(m: &Merged) -> Result<String, String> {
    let mut report = Report::new("mmapconf");
    for run in &m.runs {
        let mut suite = TestSuite::new(run.name.clone());
        suite.add_property(Property::new("kernel", run.label()));
        for c in &run.cases {
            let status = match c.verdict.as_str() {
                "pass" | "known-deviation" | "observed" => TestCaseStatus::success(),
                "not-applicable" => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.message.clone());
                    s
                }
                "broken" => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(format!("BROKEN (harness trouble): {}", c.trouble()));
                    if let Some(t) = &c.broken {
                        s.set_type(format!(
                            "{}{}",
                            t.call,
                            t.errno.as_ref().map_or(String::new(), |e| format!(": {e}"))
                        ));
                    }
                    s.set_description(c.message.clone());
                    s
                }
                _ => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("expected {}, observed {}", c.expected, c.outcome()));
                    s.set_description(format!(
                        "{}\nclauses: {}\ncall: {}\n{}",
                        c.title,
                        c.clauses.join(" "),
                        c.call,
                        c.message
                    ));
                    s
                }
            };
            let mut t = TestCase::new(c.id.clone(), status);
            t.set_classname(run.name.clone());
            if !c.deviations.is_empty() {
                t.set_system_out(format!("known deviation: {}", c.evidence()));
            }
            suite.add_test_case(t);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{registry, two_kernels};

    #[test]
    fn failures_are_failures_and_the_xml_reads_back() {
        let reg = registry();
        let xml = super::render(&two_kernels(&reg)).unwrap();
        let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(back.test_suites.len(), 2);
        assert_eq!(back.failures, 3);
        assert!(xml.contains("expected EINVAL, observed ok"), "{xml}");
    }

    #[test]
    fn a_broken_case_is_an_error_not_a_failure() {
        use super::super::merge::{Merged, TroubleRow, tests::case, tests::run};
        let reg = registry();
        let mut c = case("mmap.len0", &[], "broken", "not run");
        c.broken = Some(TroubleRow {
            call: "fork".into(),
            errno: Some("EAGAIN".into()),
            reason: "fork: EAGAIN".into(),
        });
        let m = Merged::new(vec![run("k", "linux", vec![c])], &reg, Default::default());
        let xml = super::render(&m).unwrap();
        let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!((back.failures, back.errors), (0, 1), "{xml}");
        assert!(
            xml.contains("BROKEN (harness trouble): fork: EAGAIN"),
            "{xml}"
        );
    }
}
