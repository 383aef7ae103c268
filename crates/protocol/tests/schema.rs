//! The checked-in JSON Schema must match the Rust types. This test only compares: nothing in
//! the test suite writes the schema, so no environment makes a stale schema pass. Regenerate it
//! after a deliberate change with `cargo run -p dockscope-protocol --example write_schema`.

use std::path::PathBuf;

#[test]
fn checked_in_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.schema.json");
    let generated = dockscope_protocol::json_schema();
    let checked_in = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        checked_in == generated,
        "docs/protocol.schema.json differs from the protocol types; if the change is deliberate \
         and additive, regenerate it with `cargo run -p dockscope-protocol --example \
         write_schema` and commit it"
    );
}

#[test]
fn schema_describes_both_messages_and_their_required_fields() {
    let schema: serde_json::Value =
        serde_json::from_str(&dockscope_protocol::json_schema()).expect("schema is JSON");
    let text = schema.to_string();
    for needle in [
        "container_stats_batch",
        "agent_status",
        "mem_limit_bytes",
        "engine_reachable",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
}
