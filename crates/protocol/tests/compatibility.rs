//! The compatibility rule, field by field, on frames captured from our agent: every optional
//! field, removed or `null`, still decodes and means what its doc says; unknown fields and types
//! are ignored; a frame without a field contract 1 requires is an error naming that field. The
//! tables must list exactly the optional and required fields of the generated schema, so a new
//! field cannot be added without saying here what its absence means.

use std::collections::BTreeSet;

use dockscope_protocol::{
    decode, json_schema, AgentMetrics, AgentStatus, ContainerEvent, ContainerStats,
    ContainerStatsBatch, History, Message,
};
use serde_json::Value;

const BATCH: &str = include_str!("fixtures/container_stats_batch.json");
const STATUS: &str = include_str!("fixtures/agent_status.json");
// Contract 6: a `die`, the `kill` and `health_status` shapes, and a history chunk.
const EVENT: &str = include_str!("fixtures/container_event.json");
const EVENT_KILL: &str = r#"{"type":"container_event","agent_id":"lab-node-1","sent_at":"2026-12-02T01:26:57.301Z","sequence":410,"event_id":16,"time":"2026-12-02T01:26:57.287Z","id":"9b1c7e2a4d6f8a0b2c4e6a8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f","name":"worker-3","action":"kill","image":"dockscope-test-busybox","signal":15}"#;
const EVENT_HEALTH: &str = r#"{"type":"container_event","agent_id":"lab-node-1","sent_at":"2026-12-02T01:26:59.301Z","sequence":418,"event_id":18,"time":"2026-12-02T01:26:59.287Z","id":"9b1c7e2a4d6f8a0b2c4e6a8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f","name":"worker-3","action":"health_status","image":"dockscope-test-busybox","health":"unhealthy"}"#;
const HISTORY: &str = include_str!("fixtures/history.json");

/// Where a field sits: `containers[].x` is `x` in every container (running, in `containers`,
/// or stopped, in `exited`), `agent_metrics.x` nested.
type Path = &'static str;

fn batch(message: &mut Message) -> &mut ContainerStatsBatch {
    match message {
        Message::ContainerStatsBatch(batch) => batch,
        other => panic!("expected a batch, got {other:?}"),
    }
}

/// Every container entry of a batch: the running ones, then the exited ones.
fn every_container(message: &mut Message) -> impl Iterator<Item = &mut ContainerStats> {
    let batch = batch(message);
    batch.containers.iter_mut().chain(batch.exited.iter_mut())
}

fn event(message: &mut Message) -> &mut ContainerEvent {
    match message {
        Message::ContainerEvent(event) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn history(message: &mut Message) -> &mut History {
    match message {
        Message::History(history) => history,
        other => panic!("expected a history chunk, got {other:?}"),
    }
}

fn status(message: &mut Message) -> &mut AgentStatus {
    match message {
        Message::AgentStatus(status) => status,
        other => panic!("expected a status, got {other:?}"),
    }
}

/// A fixture, a field in it, and what the decoded fixture becomes without that field.
type OptionalField = (&'static str, Path, fn(&mut Message));

/// The row of an optional `containers[].<field>`: absent, it is `None` in every container.
macro_rules! container_field {
    ($field:ident) => {
        (BATCH, concat!("containers[].", stringify!($field)), |m| {
            every_container(m).for_each(|c| c.$field = None)
        })
    };
}

/// The row of an optional `host.<field>`.
macro_rules! host_field {
    ($field:ident) => {
        (BATCH, concat!("host.", stringify!($field)), |m| {
            if let Some(host) = batch(m).host.as_mut() {
                host.$field = None;
            }
        })
    };
}

/// The row of an optional `containers[].<series>` of a history chunk: absent, it is empty
/// (every value unknown).
macro_rules! series_field {
    ($field:ident) => {
        (HISTORY, concat!("containers[].", stringify!($field)), |m| {
            history(m)
                .containers
                .iter_mut()
                .for_each(|c| c.$field.clear())
        })
    };
}

/// Every optional field of our agent's frames, and what its absence decodes to.
fn optional_fields() -> Vec<OptionalField> {
    vec![
        (BATCH, "sequence", |m| batch(m).sequence = None),
        (BATCH, "agent_metrics", |m| {
            batch(m).agent_metrics = AgentMetrics::default()
        }),
        (BATCH, "agent_metrics.cpu_pct", |m| {
            batch(m).agent_metrics.cpu_pct = None
        }),
        (BATCH, "agent_metrics.mem_bytes", |m| {
            batch(m).agent_metrics.mem_bytes = None
        }),
        (BATCH, "containers[].cpu_pct", |m| {
            every_container(m).for_each(|c| c.cpu_pct = None)
        }),
        (BATCH, "containers[].mem_bytes", |m| {
            every_container(m).for_each(|c| c.mem_bytes = None)
        }),
        (BATCH, "containers[].mem_limit_bytes", |m| {
            every_container(m).for_each(|c| c.mem_limit_bytes = None)
        }),
        (BATCH, "containers[].uptime_secs", |m| {
            every_container(m).for_each(|c| c.uptime_secs = None)
        }),
        (BATCH, "containers[].image", |m| {
            every_container(m).for_each(|c| c.image = None)
        }),
        (BATCH, "containers[].pids", |m| {
            every_container(m).for_each(|c| c.pids = None)
        }),
        (BATCH, "containers[].pids_limit", |m| {
            every_container(m).for_each(|c| c.pids_limit = None)
        }),
        // contract 5
        container_field!(net_rx_bytes),
        container_field!(net_tx_bytes),
        container_field!(net_rx_packets),
        container_field!(net_tx_packets),
        container_field!(net_rx_bytes_per_sec),
        container_field!(net_tx_bytes_per_sec),
        container_field!(net_rx_packets_per_sec),
        container_field!(net_tx_packets_per_sec),
        container_field!(network_mode),
        container_field!(block_read_bytes),
        container_field!(block_write_bytes),
        container_field!(block_read_bytes_per_sec),
        container_field!(block_write_bytes_per_sec),
        container_field!(state),
        container_field!(health),
        container_field!(restart_count),
        container_field!(exit_code),
        container_field!(oom_killed),
        container_field!(mem_anon),
        container_field!(mem_file),
        container_field!(mem_inactive_file),
        container_field!(mem_shmem),
        container_field!(mem_kernel),
        container_field!(oom_kills),
        container_field!(cpu_limit_cores),
        container_field!(cpu_throttled_periods_per_sec),
        container_field!(cpu_throttled_ms_per_sec),
        container_field!(compose_project),
        container_field!(compose_service),
        // contract 6
        container_field!(finished_at),
        container_field!(removed),
        (BATCH, "host", |m| batch(m).host = None),
        host_field!(cores),
        host_field!(cpu_pct),
        host_field!(load_1),
        host_field!(load_5),
        host_field!(load_15),
        host_field!(mem_total_bytes),
        host_field!(mem_used_bytes),
        host_field!(swap_total_bytes),
        host_field!(swap_used_bytes),
        host_field!(uptime_secs),
        host_field!(disk_path),
        host_field!(disk_total_bytes),
        host_field!(disk_used_bytes),
        (BATCH, "exited", |m| batch(m).exited.clear()),
        (STATUS, "sequence", |m| status(m).sequence = None),
        (STATUS, "revision", |m| status(m).revision = None),
        (STATUS, "engine_reachable", |m| {
            status(m).engine_reachable = None
        }),
        (STATUS, "engine_version", |m| {
            status(m).engine_version = None
        }),
        (STATUS, "engine_error", |m| status(m).engine_error = None),
        (STATUS, "warnings", |m| status(m).warnings.clear()),
        // contract 6
        (EVENT, "sequence", |m| event(m).sequence = None),
        (EVENT, "image", |m| event(m).image = None),
        (EVENT, "exit_code", |m| event(m).exit_code = None),
        (EVENT, "oom_killed", |m| event(m).oom_killed = None),
        (EVENT_KILL, "signal", |m| event(m).signal = None),
        (EVENT_HEALTH, "health", |m| event(m).health = None),
        (HISTORY, "sequence", |m| history(m).sequence = None),
        (HISTORY, "host", |m| history(m).host = None),
        (HISTORY, "host.cpu_pct", |m| {
            if let Some(host) = history(m).host.as_mut() {
                host.cpu_pct.clear();
            }
        }),
        (HISTORY, "host.mem_used_bytes", |m| {
            if let Some(host) = history(m).host.as_mut() {
                host.mem_used_bytes.clear();
            }
        }),
        (HISTORY, "containers", |m| history(m).containers.clear()),
        series_field!(cpu_pct),
        series_field!(mem_bytes),
        series_field!(net_rx_bytes_per_sec),
        series_field!(net_tx_bytes_per_sec),
        series_field!(block_read_bytes_per_sec),
        series_field!(block_write_bytes_per_sec),
        (HISTORY, "last", |m| history(m).last = false),
    ]
}

/// Every field contract 1 requires, and those of the message types added later.
const REQUIRED_FIELDS: [(&str, Path); 25] = [
    (BATCH, "type"),
    (BATCH, "agent_id"),
    (BATCH, "sent_at"),
    (BATCH, "containers"),
    (BATCH, "containers[].id"),
    (BATCH, "containers[].name"),
    (STATUS, "agent_id"),
    (STATUS, "sent_at"),
    (STATUS, "uptime_secs"),
    (STATUS, "version"),
    (STATUS, "features"),
    (EVENT, "type"),
    (EVENT, "agent_id"),
    (EVENT, "sent_at"),
    (EVENT, "event_id"),
    (EVENT, "time"),
    (EVENT, "id"),
    (EVENT, "name"),
    (EVENT, "action"),
    (HISTORY, "type"),
    (HISTORY, "agent_id"),
    (HISTORY, "sent_at"),
    (HISTORY, "times_ms"),
    (HISTORY, "containers[].id"),
    (HISTORY, "containers[].name"),
];

/// Applies `change` to the object(s) `path` names inside `frame`, the last segment's key given;
/// at least one of them must hold that key already.
fn edit(frame: &mut Value, path: &str, change: &dyn Fn(&mut serde_json::Map<String, Value>, &str)) {
    let (parents, key) = path.rsplit_once('.').unwrap_or(("", path));
    let targets: Vec<&mut Value> = match parents {
        "" => vec![frame],
        "containers[]" => {
            let frame = frame
                .as_object_mut()
                .unwrap_or_else(|| panic!("the frame is not an object"));
            frame
                .iter_mut()
                .filter(|(key, _)| *key == "containers" || *key == "exited")
                .flat_map(|(_, list)| {
                    list.as_array_mut()
                        .unwrap_or_else(|| panic!("containers is not an array"))
                        .iter_mut()
                })
                .collect()
        }
        object => vec![&mut frame[object]],
    };
    let mut found = false;
    for target in targets {
        let object = target
            .as_object_mut()
            .unwrap_or_else(|| panic!("{path} is not inside an object"));
        found |= object.contains_key(key);
        change(object, key);
    }
    assert!(found, "the fixture lacks {path}");
}

fn decoded(text: &str) -> Message {
    decode(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn each_optional_field_removed_or_null_still_decodes_to_its_documented_default() {
    for (fixture, path, absent) in optional_fields() {
        let mut expected = decoded(fixture);
        absent(&mut expected);
        for how in ["removed", "null"] {
            let mut frame: Value = serde_json::from_str(fixture).expect("fixture is JSON");
            edit(&mut frame, path, &|o, k| {
                if how == "removed" {
                    o.remove(k);
                } else {
                    o.insert(k.to_owned(), Value::Null);
                }
            });
            let got = decode(&frame.to_string()).unwrap_or_else(|e| panic!("{path} {how}: {e}"));
            assert_eq!(got, expected, "{path} {how}");
        }
    }
}

#[test]
fn each_required_field_removed_is_an_error_naming_it() {
    for (fixture, path) in REQUIRED_FIELDS {
        let mut frame: Value = serde_json::from_str(fixture).expect("fixture is JSON");
        edit(&mut frame, path, &|o, k| {
            o.remove(k);
        });
        let err = decode(&frame.to_string()).expect_err(path).to_string();
        let key = path.rsplit('.').next().unwrap_or(path);
        assert!(
            err.contains(&format!("missing field `{key}`")),
            "removing {path} gave {err:?}"
        );
    }
}

#[test]
fn unknown_fields_anywhere_and_unknown_types_are_ignored() {
    for (fixture, path) in [
        (BATCH, "gpu"),
        (BATCH, "containers[].gpu_pct"),
        (BATCH, "host.fans"),
        (BATCH, "agent_metrics.threads"),
        (STATUS, "labels"),
    ] {
        let mut frame: Value = serde_json::from_str(fixture).expect("fixture is JSON");
        let (parents, key) = path.rsplit_once('.').unwrap_or(("", path));
        // Add the unknown key beside a known one at the same level.
        let sibling = match parents {
            "" => "agent_id".to_owned(),
            "containers[]" => "containers[].id".to_owned(),
            _ => format!("{parents}.cpu_pct"),
        };
        edit(&mut frame, &sibling, &|o, _| {
            o.insert(
                key.to_owned(),
                serde_json::json!({"nested": [1, "x", null]}),
            );
        });
        assert_eq!(decoded(&frame.to_string()), decoded(fixture), "with {path}");
    }
    for fixture in [BATCH, STATUS] {
        let mut frame: Value = serde_json::from_str(fixture).expect("fixture is JSON");
        frame["type"] = "container_logs".into();
        frame["lines"] = serde_json::json!(["hello"]);
        assert_eq!(decoded(&frame.to_string()), Message::Unknown);
    }
}

/// The tables above cover the schema exactly: no optional field without a stated absence, no
/// required field that contract 1 did not require.
#[test]
fn tables_match_the_schema() {
    let schema: Value = serde_json::from_str(&json_schema()).expect("schema is JSON");
    let defs = &schema["$defs"];
    let mut optional = BTreeSet::new();
    let mut required = BTreeSet::new();
    for (def, fixture, prefix) in [
        ("ContainerStatsBatch", "batch", ""),
        ("ContainerStats", "batch", "containers[]."),
        ("AgentMetrics", "batch", "agent_metrics."),
        ("HostStats", "batch", "host."),
        ("AgentStatus", "status", ""),
        ("ContainerEvent", "event", ""),
        ("History", "history", ""),
        ("HostHistory", "history", "host."),
        ("ContainerHistory", "history", "containers[]."),
    ] {
        let needed: Vec<&str> = defs[def]["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let properties = defs[def]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema lacks {def}"));
        for name in properties.keys() {
            let row = (fixture, format!("{prefix}{name}"));
            if needed.contains(&name.as_str()) {
                required.insert(row);
            } else {
                optional.insert(row);
            }
        }
    }
    let name = |fixture: &str| match fixture {
        f if f == BATCH => "batch",
        f if f == STATUS => "status",
        f if f == HISTORY => "history",
        _ => "event",
    };
    let listed_optional: BTreeSet<_> = optional_fields()
        .into_iter()
        .map(|(f, p, _)| (name(f), p.to_owned()))
        .collect();
    let listed_required: BTreeSet<_> = REQUIRED_FIELDS
        .iter()
        .filter(|(_, p)| *p != "type")
        .map(|(f, p)| (name(f), p.to_string()))
        .collect();
    assert_eq!(listed_optional, optional);
    assert_eq!(listed_required, required);
}
