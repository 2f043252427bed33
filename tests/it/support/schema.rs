//! The results-document contract, enforced: every JSON a test reads from nodefit is validated
//! against `schema/results.schema.json`.

use serde_json::Value;

/// Panic with every violation when `doc` does not match the results schema.
pub fn validate(doc: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../../../schema/results.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}
