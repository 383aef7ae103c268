//! One point of a chart's history, per kind: a container's I/O rates ([`IoSample`]) and an
//! agent's totals ([`TotalSample`]); a container's CPU and memory are [`crate::metrics::Sample`].
//! Live batches (`ingest.rs`) and history chunks (`history.rs`) both make them.

use dockscope_protocol::ContainerStats;

/// One container's I/O rates at one instant, in bytes per second (`f32`, NaN when unknown:
/// half the size of optional `f64`s, and a chart needs no more precision).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoSample {
    /// As [`crate::metrics::Sample::t_ms`].
    pub t_ms: f64,
    pub net_rx: f32,
    pub net_tx: f32,
    pub block_read: f32,
    pub block_write: f32,
}

impl IoSample {
    pub fn of(t_ms: f64, stats: &ContainerStats) -> Self {
        let f = |v: Option<f64>| v.map_or(f32::NAN, |v| v as f32);
        Self {
            t_ms,
            net_rx: f(stats.net_rx_bytes_per_sec),
            net_tx: f(stats.net_tx_bytes_per_sec),
            block_read: f(stats.block_read_bytes_per_sec),
            block_write: f(stats.block_write_bytes_per_sec),
        }
    }
}

/// The agent's sum over its containers at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalSample {
    pub t_ms: f64,
    /// Sum of the containers' CPU (percent of one core); figures no CPU can have are left out.
    pub cpu_pct: f64,
    /// Sum of the containers' memory (saturating).
    pub mem_bytes: u64,
}
