//! The JSON Schema of results.json, generated from the types the reader deserialises, so
//! that the schema says exactly what `report`, `gate` and `expectations` accept. The
//! repository keeps a copy (harness/schema/results.schema.json) for adopters' tools;
//! a test keeps it equal to this and validates every committed results.json against it.

use super::merge::{Run, SCHEMA_VERSION};

/// Where the committed copy lives, relative to the harness crate.
pub const SCHEMA_FILE: &str = "schema/results.schema.json";

/// The schema, as pretty JSON with a trailing newline.
pub fn results_schema() -> String {
    let mut schema = schemars::schema_for!(Run);
    schema.insert(
        "title".into(),
        format!("mmapconf results.json (schema_version {SCHEMA_VERSION} and older)").into(),
    );
    schema.insert(
        "description".into(),
        "One run of the mmapconf suite on one kernel or runtime, as `mmapconf run` writes it. \
         Fields this schema does not name (tool, version, totals, elapsed times, host details) \
         are informative and may change without a new schema_version."
            .into(),
    );
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
