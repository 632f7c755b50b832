//! mmapconf: a clause-by-clause conformance suite for mmap(2) and its family.
//!
//! The pipeline, one module per stage: [`load`] (case files to [`model::Case`]s) ->
//! [`plan`] (resolved for this OS and page size) -> [`exec`] (each case in a forked
//! child, producing a [`record::Observation`]) -> [`judge`] (verdicts) -> [`report`]
//! (results.json, then HTML, Markdown and JUnit merged from one or more of them).
//! [`suite`] runs plan, exec and judge over many cases.
//! The executor and the reporter never import each other. [`atomic`] writes every output
//! file all-or-nothing, for the reporter and for a stop by signal.

pub mod atomic;
pub mod bench;
pub mod embedded;
pub mod exec;
pub mod expectations;
pub mod expr;
pub mod host;
pub mod judge;
pub mod load;
pub mod located;
pub mod manpage;
pub mod model;
pub mod names;
pub mod peers;
pub mod pid1;
pub mod plan;
pub mod plan_gates;
pub mod probe;
pub mod record;
pub mod registry;
pub mod report;
pub mod repro;
pub mod suite;
