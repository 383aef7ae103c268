//! The documented example payloads decode into the types and re-encode to the same JSON, and
//! decoders tolerate what newer agents may add.

use dockscope_protocol::{decode, Message};
use serde_json::Value;

const BATCH: &str = include_str!("fixtures/container_stats_batch.json");
const STATUS: &str = include_str!("fixtures/agent_status.json");

#[test]
fn examples_round_trip_unchanged() {
    for (name, text) in [("container_stats_batch", BATCH), ("agent_status", STATUS)] {
        let message = decode(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(message, Message::Unknown),
            "{name} decoded as unknown"
        );
        let original: Value = serde_json::from_str(text).expect("fixture is JSON");
        let reencoded: Value =
            serde_json::from_str(&message.encode().expect("encodes")).expect("encoder emits JSON");
        assert_eq!(original, reencoded, "{name} changed in a round trip");
    }
}

#[test]
fn batch_example_fields_land_where_expected() {
    let Message::ContainerStatsBatch(batch) = decode(BATCH).expect("decodes") else {
        panic!("not a batch");
    };
    assert_eq!(batch.agent_id, "lab-node-1");
    assert_eq!(batch.sequence, 4182);
    assert_eq!(batch.containers.len(), 2);
    assert_eq!(batch.containers[0].cpu_pct, Some(19.87));
    assert_eq!(batch.containers[1].cpu_pct, None);
    assert_eq!(batch.containers[1].image, None);
    assert_eq!(batch.agent_metrics.mem_bytes, Some(9_437_184));
    assert_eq!(batch.sent_at.to_rfc3339(), "2026-11-22T21:14:03.512+00:00");
}

#[test]
fn additive_changes_are_tolerated() {
    let cases = [
        // unknown top-level field
        (
            r#"{"type":"agent_status","agent_id":"a","sent_at":"2026-01-01T00:00:00Z","sequence":1,
            "uptime_secs":1,"version":"9","features":[],"engine_reachable":true,
            "engine_version":null,"gpu":{"count":2}}"#,
            "agent_status",
        ),
        // unknown field inside a container
        (
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-01-01T00:00:00Z",
            "sequence":2,"containers":[{"id":"x","name":"n","cpu_pct":1.5,"mem_bytes":1,
            "mem_limit_bytes":2,"uptime_secs":3,"net_rx_bytes":99}],
            "agent_metrics":{"cpu_pct":null,"mem_bytes":null}}"#,
            "container_stats_batch",
        ),
        // empty containers is valid
        (
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-01-01T00:00:00Z",
            "sequence":3,"containers":[],"agent_metrics":{"cpu_pct":0.1,"mem_bytes":5}}"#,
            "container_stats_batch",
        ),
        // unknown type with a payload of its own
        (
            r#"{"type":"container_logs","agent_id":"a","sent_at":"2026-01-01T00:00:00Z",
            "sequence":4,"lines":["hello"]}"#,
            "unknown",
        ),
    ];
    for (text, want) in cases {
        let got = match decode(text) {
            Ok(Message::AgentStatus(_)) => "agent_status",
            Ok(Message::ContainerStatsBatch(_)) => "container_stats_batch",
            Ok(Message::Unknown) => "unknown",
            Err(e) => panic!("{text}: {e}"),
        };
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn malformed_frames_are_errors_with_a_reason() {
    let cases = [
        ("", "EOF"),
        ("not json", "expected"),
        (r#"{"agent_id":"a"}"#, "type"),
        (r#"{"type":"agent_status","agent_id":"a"}"#, "missing field"),
        (
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"yesterday","sequence":1,
            "containers":[],"agent_metrics":{}}"#,
            "input contains invalid characters",
        ),
        (
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-01-01T00:00:00Z",
            "sequence":-1,"containers":[],"agent_metrics":{}}"#,
            "invalid value",
        ),
    ];
    for (text, reason) in cases {
        let err = decode(text).expect_err(text).to_string();
        assert!(err.starts_with("malformed agent message"), "{err}");
        assert!(
            err.contains(reason),
            "{text:?} gave {err:?}, wanted it to mention {reason:?}"
        );
    }
}

#[test]
fn every_json_example_in_the_protocol_doc_round_trips() {
    let doc = include_str!("../../../docs/protocol.md");
    let blocks: Vec<&str> = doc
        .split("```json")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert!(blocks.len() >= 3, "docs/protocol.md lost its examples");
    for block in blocks {
        let message = decode(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert!(!matches!(message, Message::Unknown), "{block}");
        let original: Value = serde_json::from_str(block).expect("JSON");
        let reencoded: Value =
            serde_json::from_str(&message.encode().expect("encodes")).expect("JSON");
        assert_eq!(original, reencoded, "{block}");
    }
}
