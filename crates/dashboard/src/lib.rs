//! Dockscope's browser dashboard: a Leptos CSR app that connects to any number of agents over
//! WebSocket and shows their containers live.
//!
//! # Layout
//! Pure logic, compiled and unit-tested on the host (`cargo test -p dockscope-dashboard`):
//! - `url.rs` — normalising a pasted address (`h:8080`, `http://…`) to an agent's WebSocket URL,
//!   and the `?since=` each connection attempt adds to ask only for the history it missed.
//! - `store.rs` — the saved/exported agent-list format (with the view and the alert rules) and
//!   the theme setting.
//! - `query.rs` — `?agents=` and `?debug=true`.
//! - `backoff.rs` — reconnect delays (exponential, jittered, ≤ 60 s) and the 5 s stall limit.
//! - `conn_state.rs` — connecting / live / disconnected / error, with the text shown for each.
//! - `clock.rs` — agent clock-skew estimate behind "updated … ago", clamped and flagged.
//! - `ring.rs` — the bounded buffer every history uses.
//! - `ingest.rs` — decoding frames in time-boxed slices and folding them into one agent's model
//!   (with every bound a hostile agent meets), tracking what changed.
//! - `history.rs` — `history` chunks into the rings the charts and sparklines read: agent
//!   times on the browser's clock, merged with the points already there, checked and bounded.
//! - `events.rs` — each agent's last 500 `container_event`s (replays and restarts told apart),
//!   the feeds' lines (merged, filtered by text and kind) and the charts' event marks.
//! - `samples.rs` — the I/O and totals points of a chart's history.
//! - `metrics.rs` — the one table of every column (key, label, unit, value, sort, sparkline,
//!   width) the table view, sorting and filtering read; adding a column is one entry.
//! - `sort.rs` — row order per clicked column.
//! - `rows.rs` — a row as the table draws it: the CPU scale (core / host / limit), state and
//!   health badges, tooltips, stopped containers (exit code, OOM, time of death, removed),
//!   compose groups (their order and headers).
//! - `fleet.rs` — the fleet view: a tile per host and one table of every host's containers,
//!   busiest first; a host that is not live keeps its tile (red) and its rows (stale).
//! - `detail.rs` — the detail panel's figures: memory breakdown, I/O, health, last exit, the
//!   health log; `host.rs` — the host strip from `batch.host`.
//! - `present.rs`, `sparkline.rs`, `format.rs` — model → what a row or chart displays.
//! - `time_axis.rs` — where a chart's time labels go, so they have room at its width.
//! - `viewport.rs` — which rows of a long ("show all") list are near the viewport.
//! - `roster.rs` — the rules of the dashboard's own state: agent keys, what adding, importing
//!   and removing an agent changes, the saved list, the selected container, chart element ids.
//! - `attention.rs` — the alert rules (`dockscope-rules`, one evaluator for every agent's
//!   batches) and what the page shows of the alerts that hold: the attention list, the marks
//!   of rows and cards, the page title, the notifications (once per firing).
//! - `rule_form.rs` — the rules editor's fields and back to rules, with the rules crate's checks.
//! - `text.rs` — every sentence and label the page shows, ready for translation.
//!
//! Browser-only (`wasm32`), built by trunk:
//! - `state.rs` — the signals the views read (`Dashboard` context, one `AgentView` per card,
//!   `RowHandle`, `StatusView`); a leaf: it imports no view, action or flush.
//! - `app.rs` — the actions, as `Dashboard` methods: start-up (saved list, `?agents=`,
//!   `/agent.json`), adding/removing agents, import/export, sorting, selecting, and
//!   connection events → models.
//! - `frame.rs` — the per-frame runtime: each card's model, rows and charts (it owns every
//!   chart: created, resized and disposed there), the ingest slices (`MessageChannel` tasks of
//!   ≤ 8 ms) and the per-animation-frame flush from models into signals and charts, within a
//!   frame budget (rows, re-order, chart redraws, event feeds).
//! - `conn.rs` — one task per agent: a WebSocket owned by a worker (`src/bin/socket-worker.rs`, which
//!   refuses oversized frames unread), live/protocol-error from frame verdicts, stall
//!   detection, backoff, wake-ups.
//! - `browser.rs` — localStorage, file export/import, clocks, small DOM helpers.
//! - `chart.rs` — charming (ECharts) charts: per-agent totals and the selected container, and
//!   `ChartSlot`, the one owner of an ECharts instance.
//! - `view/` — components (they import state and call actions; nothing below imports them): `header.rs` (add box, filter, theme, import/export, banners),
//!   `controls.rs` (column chooser, CPU scale, grouping), `card.rs` (one agent, host strip),
//!   `table.rs` (container rows), `detail.rs` (the selected container), `events.rs` (the
//!   merged event feed under the header and each card's newest events), `debug.rs`
//!   (`?debug=true` panel).
//!
//! ```text
//!  socket-worker ──text──▶ WebSocket task (conn.rs) ──frame──▶ AgentModel::receive (ingest.rs)
//!                               ▲ │ state                         │ ingest slices (frame.rs):
//!                      verdict  │ ▼                               ▼ AgentModel::work, ≤ 8 ms each
//!                               │ card state signal               │ marks Changes
//!                               └─────────────────────────────────┤
//!                                   requestAnimationFrame ─▶ frame::flush ─▶ per-row signals,
//!                                                                order, status, charts
//! ```

pub mod attention;
pub mod backoff;
pub mod clock;
pub mod conn_state;
pub mod detail;
pub mod events;
pub mod fleet;
pub mod format;
pub mod history;
pub mod host;
pub mod ingest;
pub mod metrics;
pub mod present;
pub mod query;
pub mod ring;
pub mod roster;
pub mod rows;
pub mod rule_form;
pub mod samples;
pub mod sort;
pub mod sparkline;
pub mod store;
pub mod text;
pub mod time_axis;
pub mod url;
pub mod viewport;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod chart;
#[cfg(target_arch = "wasm32")]
mod conn;
#[cfg(target_arch = "wasm32")]
mod frame;
#[cfg(target_arch = "wasm32")]
mod state;
#[cfg(target_arch = "wasm32")]
mod view;

/// Mounts the app on `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    // The connection worker loads while the page is drawn, not after the first card asks it
    // for a socket (about 0.2 s sooner to the first row of a 20-agent page).
    conn::warm_up();
    leptos::mount::mount_to_body(view::App);
}
