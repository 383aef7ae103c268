//! The checked-in JSON Schema must match the Rust types. Regenerate it after a deliberate change
//! with `DOCKSCOPE_UPDATE_SCHEMA=1 cargo test -p dockscope-protocol --test schema`.

use std::path::PathBuf;

#[test]
fn checked_in_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.schema.json");
    let generated = dockscope_protocol::json_schema();
    if std::env::var_os("DOCKSCOPE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/protocol.schema.json differs from the protocol types; if the change is deliberate \
         and additive, regenerate it with DOCKSCOPE_UPDATE_SCHEMA=1 cargo test -p \
         dockscope-protocol --test schema"
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
