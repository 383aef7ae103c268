//! The decoder the dashboard runs on every frame never panics, whatever arrives: random text,
//! random JSON, and valid messages with fields mangled. Bounded: `PROPTEST_CASES` (default
//! 256 per property here; CI runs the default).

use dockscope_protocol::{decode, Message};
use proptest::prelude::*;
use serde_json::Value;

const BATCH: &str = include_str!("fixtures/container_stats_batch.json");
const STATUS: &str = include_str!("fixtures/agent_status.json");

/// Arbitrary JSON values, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("container_stats_batch".into())),
        Just(Value::String("agent_status".into())),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_text_never_panics(text in ".{0,256}") {
        let _ = decode(&text);
    }

    #[test]
    fn random_json_never_panics(value in json()) {
        let _ = decode(&value.to_string());
    }

    /// Replace one top-level field of a valid message with anything: the decoder either accepts
    /// it or explains why, and what it accepts re-encodes to valid JSON.
    #[test]
    fn mangled_fields_never_panic(
        which in 0usize..2,
        field in prop::sample::select(vec!["type", "agent_id", "sent_at", "sequence", "containers",
            "agent_metrics", "uptime_secs", "features", "engine_reachable", "new_field"]),
        value in json(),
    ) {
        let mut message: Value = serde_json::from_str([BATCH, STATUS][which]).unwrap_or_default();
        message[field] = value;
        if let Ok(decoded) = decode(&message.to_string()) {
            if !matches!(decoded, Message::Unknown) {
                let text = decoded.encode().unwrap_or_default();
                prop_assert!(decode(&text).is_ok(), "re-encoded message does not decode: {}", text);
            }
        }
    }

    /// Truncating a valid frame anywhere before its closing brace gives an error, never a panic
    /// or a wrong success. (Cutting only the file's trailing newline leaves a whole frame.)
    #[test]
    fn truncated_frames_are_errors(cut in 0usize..BATCH.trim_end().len()) {
        let mut end = cut;
        while !BATCH.is_char_boundary(end) {
            end -= 1;
        }
        prop_assert!(decode(&BATCH[..end]).is_err());
    }
}
