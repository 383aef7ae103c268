//! Folding agent messages into one agent's state, without touching the DOM.
//!
//! The WebSocket task hands every text frame to [`AgentModel::ingest_frame`] as it arrives;
//! the model records what changed in [`Changes`]. Once per animation frame the view layer calls
//! [`AgentModel::take_changes`] and pushes only those changes into signals. Keeping this stage
//! free of browser types is what lets it be tested on the host.

use std::collections::{BTreeSet, HashMap};

use dockscope_protocol::{
    decode, AgentMetrics, AgentStatus, ContainerStats, ContainerStatsBatch, Message,
};

use crate::clock::ClockSkew;
use crate::ring::Ring;
use crate::sort::{name_key, SortSpec};

/// Seconds of history drawn by each row's sparklines.
pub const SPARK_POINTS: usize = 60;
/// Samples kept per container for the detail chart (5 minutes at 1 Hz).
pub const CONTAINER_HISTORY: usize = 300;
/// Samples of the agent's totals kept for its chart (5 minutes at 1 Hz).
pub const TOTALS_HISTORY: usize = 300;
/// Raw frames kept for the debug panel.
pub const DEBUG_FRAMES: usize = 20;
/// Characters of each raw frame kept for the debug panel.
pub const DEBUG_FRAME_CHARS: usize = 2_000;

/// One container's figures at one agent instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `sent_at` of the batch, agent clock, ms since the epoch.
    pub t_ms: f64,
    pub cpu_pct: Option<f64>,
    pub mem_bytes: Option<u64>,
}

/// A container as last reported, with its recent history.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerModel {
    /// The latest figures.
    pub stats: ContainerStats,
    /// Oldest first, one per batch that contained the container.
    pub history: Ring<Sample>,
    /// [`name_key`] of the name, cached for sorting and filtering.
    pub name_key: String,
}

/// The agent's sum over its containers at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalSample {
    pub t_ms: f64,
    /// Sum of the containers' CPU (percent of one core).
    pub cpu_pct: f64,
    /// Sum of the containers' memory.
    pub mem_bytes: u64,
}

/// One frame as received, for the debug panel.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// Browser clock, ms since the epoch.
    pub received_ms: f64,
    /// The frame, cut to [`DEBUG_FRAME_CHARS`].
    pub text: String,
    /// Why it could not be decoded, if it could not.
    pub error: Option<String>,
}

/// What changed since the last [`AgentModel::take_changes`]; the view updates only these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Containers whose figures or history changed.
    pub rows: BTreeSet<String>,
    /// Containers appeared or disappeared.
    pub membership: bool,
    /// A new `agent_status` arrived.
    pub status: bool,
    /// A new batch arrived (totals, last-update time, agent metrics).
    pub batch: bool,
    /// A frame was received (debug panel) or failed to decode.
    pub frames: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }
}

/// Everything the dashboard knows about one agent.
#[derive(Debug, Clone)]
pub struct AgentModel {
    /// Running containers by id, as of the latest batch.
    pub containers: HashMap<String, ContainerModel>,
    /// The latest `agent_status`.
    pub status: Option<AgentStatus>,
    /// Browser time the latest `agent_status` arrived (to advance its uptime).
    pub status_received_ms: Option<f64>,
    /// `sent_at` of the latest batch (agent clock), for "updated … ago".
    pub last_batch_sent_ms: Option<f64>,
    /// What the agent process itself costs, from the latest batch.
    pub agent_metrics: AgentMetrics,
    /// Browser-vs-agent clock offset.
    pub clock: ClockSkew,
    /// Sums over containers, one per batch, for the agent's chart.
    pub totals: Ring<TotalSample>,
    /// The last raw frames, newest last.
    pub frames: Ring<RawFrame>,
    /// The latest frame that failed to decode: browser time and reason.
    pub frame_error: Option<(f64, String)>,
    /// Frames that failed to decode since the agent was added.
    pub malformed_count: u64,
    /// Pending changes for the view.
    changes: Changes,
}

impl Default for AgentModel {
    fn default() -> Self {
        Self {
            containers: HashMap::new(),
            status: None,
            status_received_ms: None,
            last_batch_sent_ms: None,
            agent_metrics: AgentMetrics::default(),
            clock: ClockSkew::default(),
            totals: Ring::new(TOTALS_HISTORY),
            frames: Ring::new(DEBUG_FRAMES),
            frame_error: None,
            malformed_count: 0,
            changes: Changes::default(),
        }
    }
}

impl AgentModel {
    /// Decodes and folds one text frame received at `local_ms` (browser clock).
    ///
    /// # Errors
    /// The decode error's text when the frame is malformed; it is also recorded for the card and
    /// the debug panel, and the model is otherwise unchanged, so the connection carries on.
    pub fn ingest_frame(&mut self, text: &str, local_ms: f64) -> Result<(), String> {
        let decoded = decode(text).map_err(|e| e.to_string());
        self.frames.push(RawFrame {
            received_ms: local_ms,
            text: text.chars().take(DEBUG_FRAME_CHARS).collect(),
            error: decoded.as_ref().err().cloned(),
        });
        self.changes.frames = true;
        match decoded {
            Ok(message) => {
                self.ingest(message, local_ms);
                Ok(())
            }
            Err(reason) => {
                self.record_malformed(reason.clone(), local_ms);
                Err(reason)
            }
        }
    }

    /// Records a frame the dashboard cannot use (e.g. binary) without decoding it.
    pub fn record_malformed(&mut self, reason: String, local_ms: f64) {
        self.frame_error = Some((local_ms, reason));
        self.malformed_count += 1;
        self.changes.frames = true;
    }

    /// Folds one decoded message. [`Message::Unknown`] (a newer agent) is ignored.
    pub fn ingest(&mut self, message: Message, local_ms: f64) {
        match message {
            Message::ContainerStatsBatch(batch) => self.ingest_batch(batch, local_ms),
            Message::AgentStatus(status) => {
                self.clock
                    .observe(local_ms, status.sent_at.timestamp_millis() as f64);
                self.status = Some(status);
                self.status_received_ms = Some(local_ms);
                self.changes.status = true;
            }
            Message::Unknown => {}
        }
    }

    fn ingest_batch(&mut self, batch: ContainerStatsBatch, local_ms: f64) {
        let t_ms = batch.sent_at.timestamp_millis() as f64;
        self.clock.observe(local_ms, t_ms);
        self.last_batch_sent_ms = Some(t_ms);
        self.agent_metrics = batch.agent_metrics;
        self.changes.batch = true;

        let mut total = TotalSample {
            t_ms,
            cpu_pct: 0.0,
            mem_bytes: 0,
        };
        let mut seen = BTreeSet::new();
        for stats in batch.containers {
            total.cpu_pct += stats.cpu_pct.filter(|v| v.is_finite()).unwrap_or(0.0);
            total.mem_bytes = total.mem_bytes.saturating_add(stats.mem_bytes.unwrap_or(0));
            let sample = Sample {
                t_ms,
                cpu_pct: stats.cpu_pct,
                mem_bytes: stats.mem_bytes,
            };
            let id = stats.id.clone();
            match self.containers.get_mut(&id) {
                Some(existing) => {
                    if existing.stats.name != stats.name {
                        existing.name_key = name_key(&stats.name);
                    }
                    existing.stats = stats;
                    existing.history.push(sample);
                }
                None => {
                    let mut history = Ring::new(CONTAINER_HISTORY);
                    history.push(sample);
                    let name_key = name_key(&stats.name);
                    self.containers.insert(
                        id.clone(),
                        ContainerModel {
                            stats,
                            history,
                            name_key,
                        },
                    );
                    self.changes.membership = true;
                }
            }
            self.changes.rows.insert(id.clone());
            seen.insert(id);
        }
        // Every id in the batch is in the map now, so a bigger map holds containers that stopped.
        if self.containers.len() != seen.len() {
            self.containers.retain(|id, _| seen.contains(id));
            self.changes.rows.retain(|id| seen.contains(id));
            self.changes.membership = true;
        }
        self.totals.push(total);
    }

    /// A new connection is starting: the agent may have restarted with another clock.
    pub fn connection_reset(&mut self) {
        self.clock.reset();
    }

    /// Hands the pending changes to the view and starts collecting anew.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Whether anything is waiting for the view.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Ids of the containers whose name contains `filter` (case-insensitive), in `spec` order.
    pub fn visible_ids(&self, spec: SortSpec, filter: &str) -> Vec<String> {
        let needle = name_key(filter.trim());
        let mut rows: Vec<&ContainerModel> = self
            .containers
            .values()
            .filter(|c| needle.is_empty() || c.name_key.contains(&needle))
            .collect();
        rows.sort_by(|a, b| spec.compare_keyed(&a.stats, &a.name_key, &b.stats, &b.name_key));
        rows.into_iter().map(|c| c.stats.id.clone()).collect()
    }

    /// Whether the agent says it produces synthetic (fake) containers.
    pub fn is_synthetic(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.features.iter().any(|f| f == "synthetic"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sort::{Direction, SortKey};

    fn batch_json(seq: u64, sent_at: &str, containers: &[(&str, &str, Option<f64>)]) -> String {
        let containers: Vec<serde_json::Value> = containers
            .iter()
            .map(|(id, name, cpu)| {
                serde_json::json!({
                    "id": id, "name": name, "cpu_pct": cpu, "mem_bytes": 1024,
                    "mem_limit_bytes": 4096, "uptime_secs": 10
                })
            })
            .collect();
        serde_json::json!({
            "type": "container_stats_batch", "agent_id": "a", "sent_at": sent_at,
            "sequence": seq, "containers": containers,
            "agent_metrics": {"cpu_pct": 0.5, "mem_bytes": 100}
        })
        .to_string()
    }

    const T0: &str = "2026-11-22T10:00:00Z";
    const T1: &str = "2026-11-22T10:00:01Z";

    #[test]
    fn batches_add_update_and_remove_rows() {
        let mut model = AgentModel::default();
        let first = batch_json(1, T0, &[("c1", "web", Some(1.0)), ("c2", "db", Some(5.0))]);
        assert_eq!(model.ingest_frame(&first, 0.0), Ok(()));
        let changes = model.take_changes();
        assert!(changes.membership && changes.batch && changes.frames);
        assert_eq!(changes.rows.len(), 2);
        assert_eq!(model.visible_ids(SortSpec::default(), ""), ["c2", "c1"]);
        assert_eq!(model.totals.last().map(|t| t.cpu_pct), Some(6.0));

        let second = batch_json(2, T1, &[("c1", "web", Some(9.0))]);
        assert_eq!(model.ingest_frame(&second, 1_000.0), Ok(()));
        let changes = model.take_changes();
        assert!(changes.membership, "c2 disappeared");
        assert_eq!(changes.rows.iter().collect::<Vec<_>>(), ["c1"]);
        assert_eq!(model.containers["c1"].history.len(), 2);
        assert!(!model.has_changes());

        // Same membership, new figures: rows change, membership does not.
        let third = batch_json(3, T1, &[("c1", "web", Some(2.0))]);
        assert_eq!(model.ingest_frame(&third, 2_000.0), Ok(()));
        let changes = model.take_changes();
        assert!(!changes.membership);
        assert_eq!(changes.rows.len(), 1);
    }

    #[test]
    fn malformed_and_unknown_frames_leave_state_alone() {
        let mut model = AgentModel::default();
        model
            .ingest_frame(&batch_json(1, T0, &[("c1", "web", None)]), 0.0)
            .ok();
        model.take_changes();
        let cases = ["{not json", r#"{"type":"container_stats_batch"}"#, "[]"];
        for frame in cases {
            assert!(model.ingest_frame(frame, 5.0).is_err(), "{frame}");
        }
        assert_eq!(model.malformed_count, 3);
        assert!(model.frame_error.is_some());
        assert_eq!(model.containers.len(), 1);

        assert_eq!(
            model.ingest_frame(r#"{"type":"from_the_future","x":1}"#, 6.0),
            Ok(())
        );
        let changes = model.take_changes();
        assert!(changes.frames && !changes.batch && changes.rows.is_empty());
        assert_eq!(model.frames.len(), 5);
    }

    #[test]
    fn debug_frames_are_bounded() {
        let mut model = AgentModel::default();
        let long = "x".repeat(DEBUG_FRAME_CHARS * 2);
        for _ in 0..DEBUG_FRAMES + 5 {
            let _ = model.ingest_frame(&long, 0.0);
        }
        assert_eq!(model.frames.len(), DEBUG_FRAMES);
        assert!(model
            .frames
            .iter()
            .all(|f| f.text.chars().count() == DEBUG_FRAME_CHARS));
    }

    #[test]
    fn status_marks_synthetic_agents() {
        let mut model = AgentModel::default();
        let status = serde_json::json!({
            "type": "agent_status", "agent_id": "synth-a", "sent_at": T0, "sequence": 1,
            "uptime_secs": 3, "version": "0.1.0", "features": ["synthetic"],
            "engine_reachable": true, "engine_version": null
        });
        assert_eq!(model.ingest_frame(&status.to_string(), 0.0), Ok(()));
        assert!(model.is_synthetic());
        assert!(model.take_changes().status);
    }

    #[test]
    fn filter_and_sort_visible_ids() {
        let mut model = AgentModel::default();
        let frame = batch_json(
            1,
            T0,
            &[
                ("1", "web-1", Some(3.0)),
                ("2", "WEB-2", Some(7.0)),
                ("3", "db", Some(9.0)),
            ],
        );
        model.ingest_frame(&frame, 0.0).ok();
        let by_name = SortSpec {
            key: SortKey::Name,
            direction: Direction::Asc,
        };
        assert_eq!(model.visible_ids(SortSpec::default(), "web"), ["2", "1"]);
        assert_eq!(model.visible_ids(by_name, " "), ["3", "1", "2"]);
        assert!(model.visible_ids(by_name, "nope").is_empty());
    }
}
