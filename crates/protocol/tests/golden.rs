//! The documented example payloads decode into the types and re-encode to the same JSON, the
//! original contract's two payloads (contract 1, verbatim) decode to the figures they carry, and
//! decoders tolerate what newer agents may add.

use dockscope_protocol::{decode, AgentMetrics, ClientMessage, Message};
use serde_json::Value;

const BATCH: &str = include_str!("fixtures/container_stats_batch.json");
const STATUS: &str = include_str!("fixtures/agent_status.json");

/// Contract 1's `container_stats_batch` example, verbatim.
const ORIGINAL_BATCH: &str = r#"{"type":"container_stats_batch","agent_id":"host-a","sent_at":"2025-10-15T10:00:00Z","containers":[{"id":"abc123","name":"nginx","cpu_pct":24.5,"mem_bytes":128345600,"mem_limit_bytes":536870912,"uptime_secs":532}],"agent_metrics":{"cpu_pct":4.2,"mem_bytes":66469888}}"#;
/// Contract 1's `agent_status` example, verbatim.
const ORIGINAL_STATUS: &str = r#"{"type":"agent_status","agent_id":"host-a","sent_at":"2025-10-15T10:00:05Z","uptime_secs":3600,"version":"v1.0.0","features":["container_stats"]}"#;

#[test]
fn original_contract_batch_decodes_with_its_figures() {
    let Message::ContainerStatsBatch(batch) =
        decode(ORIGINAL_BATCH).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("not a batch");
    };
    assert_eq!(batch.agent_id, "host-a");
    assert_eq!(batch.sent_at.to_rfc3339(), "2025-10-15T10:00:00+00:00");
    assert_eq!(batch.sequence, None);
    assert_eq!(batch.containers.len(), 1);
    let nginx = &batch.containers[0];
    assert_eq!(
        (nginx.id.as_str(), nginx.name.as_str()),
        ("abc123", "nginx")
    );
    assert_eq!(nginx.cpu_pct, Some(24.5));
    // 122.4 MiB of 512 MiB, as the dashboard shows it.
    assert_eq!(nginx.mem_bytes, Some(128_345_600));
    assert_eq!(nginx.mem_bytes.map(|b| b >> 20), Some(122));
    assert_eq!(nginx.mem_limit_bytes, Some(512 << 20));
    assert_eq!(nginx.uptime_secs, Some(532));
    assert_eq!(nginx.image, None);
    assert_eq!(
        batch.agent_metrics,
        AgentMetrics {
            cpu_pct: Some(4.2),
            mem_bytes: Some(66_469_888)
        }
    );
}

#[test]
fn original_contract_status_decodes_with_its_figures() {
    let Message::AgentStatus(status) = decode(ORIGINAL_STATUS).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("not a status");
    };
    assert_eq!(status.agent_id, "host-a");
    assert_eq!(status.sent_at.to_rfc3339(), "2025-10-15T10:00:05+00:00");
    assert_eq!(status.uptime_secs, 3600);
    assert_eq!(status.version, "v1.0.0");
    assert_eq!(status.features, ["container_stats"]);
    assert_eq!(status.sequence, None);
    assert_eq!(status.revision, None);
    assert_eq!(
        status.engine_reachable, None,
        "absent means not reported, not down"
    );
    assert_eq!(status.engine_version, None);
    assert_eq!(status.engine_error, None);
}

#[test]
fn protocol_doc_quotes_the_original_payloads_verbatim() {
    let doc = include_str!("../../../docs/protocol.md");
    for payload in [ORIGINAL_BATCH, ORIGINAL_STATUS] {
        assert!(doc.contains(payload), "docs/protocol.md lacks {payload}");
    }
}

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
    assert_eq!(batch.sequence, Some(4182));
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
            Ok(Message::ContainerHealth(_)) => "container_health",
            Ok(Message::ContainerEvent(_)) => "container_event",
            Ok(Message::History(_)) => "history",
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

/// Every block decodes, and re-encoding changes nothing a decoder sees. Blocks from our agent
/// (they carry `sequence`) also re-encode to the same JSON; contract 1's payloads gain
/// `"engine_version": null`, which means the same as its absence.
#[test]
fn every_json_example_in_the_protocol_doc_round_trips() {
    let doc = include_str!("../../../docs/protocol.md");
    let blocks: Vec<&str> = doc
        .split("```json")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert!(blocks.len() >= 5, "docs/protocol.md lost its examples");
    for block in blocks {
        let original: Value = serde_json::from_str(block).expect("JSON");
        if original["type"] == "health_log_request" {
            // What a client sends (contract 5): its own type, the same round trip.
            let message = ClientMessage::decode(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
            assert!(!matches!(message, ClientMessage::Unknown), "{block}");
            let text = message.encode().expect("encodes");
            assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(original));
            continue;
        }
        let message = decode(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert!(!matches!(message, Message::Unknown), "{block}");
        let text = message.encode().expect("encodes");
        assert_eq!(decode(&text).ok(), Some(message), "{block}");
        if original.get("sequence").is_some() || original["type"] == "container_health" {
            let reencoded: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(original, reencoded, "{block}");
        }
    }
}
