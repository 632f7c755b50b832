//! Grouping runs for the rendered report: runs whose observations are identical case for
//! case (same OS, same verdict and outcome for every case) become one column, named after
//! its members, so a matrix of sixteen runs that behave five ways reads as five columns.
//! merged.json and JUnit keep every run; the pages name each group's members.

use super::merge::{Merged, Run};

/// What makes two runs one column: the OS (clauses bind by it) and, per case, the verdict
/// and the outcome without addresses.
fn key(r: &Run) -> (Option<String>, Vec<(String, String, String)>) {
    (
        r.host.os.clone(),
        r.cases
            .iter()
            .map(|c| (c.id.clone(), c.verdict.clone(), c.outcome()))
            .collect(),
    )
}

/// The runs' indexes, by group, in the order of each group's first run.
pub fn partition(runs: &[Run]) -> Vec<Vec<usize>> {
    let keys: Vec<_> = runs.iter().map(key).collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match groups.iter_mut().find(|g| keys[g[0]] == *k) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// A group's column name: the members' common name prefix up to a `-`, with the count
/// (`gvisor ×6`), else the first member's name and how many more.
pub fn group_name(names: &[&str]) -> String {
    if let [only] = names {
        return only.to_string();
    }
    let first = names[0];
    let mut common = first.len();
    for n in &names[1..] {
        common = common.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = first[..common].rsplit_once('-').map_or("", |(p, _)| p);
    let prefix = if first[..common].ends_with('-') {
        first[..common].trim_end_matches('-')
    } else {
        prefix
    };
    if prefix.is_empty() {
        format!("{first} +{}", names.len() - 1)
    } else {
        format!("{prefix} ×{}", names.len())
    }
}

/// The merged report with one run per group (the group's first run, renamed, with its
/// members listed); everything else is worked out again over those runs.
pub fn grouped<'r>(m: &Merged<'r>) -> Merged<'r> {
    let runs: Vec<Run> = partition(&m.runs)
        .into_iter()
        .map(|g| {
            let names: Vec<&str> = g.iter().map(|&i| m.runs[i].name.as_str()).collect();
            let mut rep = m.runs[g[0]].clone();
            rep.name = group_name(&names);
            rep.finished_at = g.iter().map(|&i| m.runs[i].finished_at).max().unwrap_or(0);
            if g.len() > 1 {
                rep.members = g
                    .iter()
                    .map(|&i| (m.runs[i].name.clone(), m.runs[i].label()))
                    .collect();
            }
            rep
        })
        .collect();
    let mut out = Merged::new(runs, m.registry, m.page_texts.clone());
    out.pages_read = m.pages_read.clone();
    out.reproducers = m.reproducers.clone();
    // Each run's reproducers, also where runs share a column.
    out.repro_runs = m.repro_runs.clone();
    out
}

#[cfg(test)]
mod tests {
    use super::super::merge::tests::{case, registry, run};
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn runs_that_differ_only_in_addresses_share_a_column() {
        let reg = registry();
        let a = run(
            "gvisor-1-ptrace",
            "linux",
            vec![case("c", &[], "fail", "ok (0x7f00)")],
        );
        let b = run(
            "gvisor-1-systrap",
            "linux",
            vec![case("c", &[], "fail", "ok (0x5000)")],
        );
        let k = run("linux-6", "linux", vec![case("c", &[], "pass", "EINVAL")]);
        let m = Merged::new(vec![a, k, b], &reg, BTreeMap::new());
        assert_eq!(partition(&m.runs), [vec![0, 2], vec![1]]);
        let g = grouped(&m);
        let names: Vec<&str> = g.runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["gvisor-1 ×2", "linux-6"]);
        assert_eq!(g.runs[0].members.len(), 2);
        assert!(g.runs[0].label().contains("gvisor-1-systrap"));
        assert!(g.runs[1].members.is_empty());
    }

    #[test]
    fn a_group_without_a_common_prefix_is_named_after_its_first_run() {
        assert_eq!(
            group_name(&["linux-6.18-x86_64", "uml-6.1-x86_64"]),
            "linux-6.18-x86_64 +1"
        );
        assert_eq!(
            group_name(&["qemu-user-10.0.13-aarch64", "qemu-user-10.0.13-x86_64"]),
            "qemu-user-10.0.13 ×2"
        );
        assert_eq!(group_name(&["one"]), "one");
    }
}
