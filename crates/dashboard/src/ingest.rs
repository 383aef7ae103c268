//! Folding agent messages into one agent's state, without touching the DOM.
//!
//! The WebSocket task hands every text frame to [`AgentModel::receive`]; the page then calls
//! [`AgentModel::work`] from short tasks of its own, each with a time budget, until the frame is
//! decoded and folded. The model records what changed in [`Changes`]; once per animation frame
//! the view layer calls [`AgentModel::take_changes`] and pushes only those changes into signals.
//! Keeping this stage free of browser types is what lets it be tested on the host.
//!
//! # Decoding in slices
//! A batch of 10,000 containers is ~2.5 MB of JSON: decoded in one go it would hold the page's
//! main thread for longer than a frame. So a batch is decoded in stages: one fast pass finds the
//! `type` and the span of `containers` (nothing is allocated per container), the rest of the
//! frame is decoded by [`dockscope_protocol::decode`] with an empty list in place of the
//! containers, a second fast pass splits the list into its first [`MAX_CONTAINERS`] elements
//! (the rest are counted, not decoded), and those are decoded as
//! [`dockscope_protocol::ContainerStats`] [`CHECK_EVERY`] at a time while the budget lasts. The
//! decoded batch is folded in one step, so the view never shows half a batch. Every payload is
//! still decoded by the protocol crate's types; a frame is refused exactly when `decode` would
//! refuse it (containers past the cap are not checked). Frames wait in arrival order; of the
//! big ones (over [`MAX_STATUS_CHARS`], so batches) only the newest waits — an older one would
//! be stale by the time it is decoded — and at most [`MAX_WAITING`] wait in all; the rest are
//! skipped (counted).
//!
//! A `history` chunk (contract 6) is staged the same way, its containers decoded one per look
//! at the budget (each holds minutes of figures: up to [`crate::history::MAX_ENTRY_CHARS`],
//! about a millisecond) and folded at once by `history.rs`'s rules. Chunks are never skipped
//! for a newer frame (each holds other containers), within [`MAX_WAITING_HISTORY_CHARS`].
//! `container_event` frames (at most [`MAX_EVENT_CHARS`]) go to the agent's
//! [`crate::events::EventLog`].
//!
//! # Bounds
//! A hostile or broken agent cannot make the page grow without limit: frames over
//! [`MAX_FRAME_CHARS`] are refused before decoding (by `conn.rs`, without copying them),
//! `agent_status` frames over [`MAX_STATUS_CHARS`] are refused, at most [`MAX_CONTAINERS`] are
//! kept per agent, strings are kept to [`MAX_KEPT_CHARS`] ([`MAX_ID_CHARS`] for ids), reasons to
//! [`MAX_REASON_CHARS`], and per-container history is kept for every container only up to
//! [`FULL_HISTORY_UP_TO`] containers (and while the page holds at most
//! [`PAGE_HISTORY_UP_TO`]); above that, only for the containers on screen or selected
//! ([`AgentModel::set_watched`]).

use std::collections::{HashMap, HashSet, VecDeque};

use dockscope_protocol::{
    decode, AgentMetrics, AgentStatus, ContainerHealth, ContainerHistory, ContainerStats,
    ContainerStatsBatch, History, HostStats, Message,
};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::clock::ClockSkew;
pub use crate::conn_state::MAX_REASON_CHARS;
use crate::events::EventLog;
use crate::format::{self, truncate_owned};
use crate::history::{self, HistoryBuffer};
pub use crate::metrics::Sample;
use crate::ring::Ring;
pub use crate::samples::{IoSample, TotalSample};
use crate::sort::{name_key, SortSpec};

/// Samples kept per container for the detail chart (5 minutes at 1 Hz).
pub const CONTAINER_HISTORY: usize = 300;
/// Samples of the agent's totals kept for its chart (5 minutes at 1 Hz).
pub const TOTALS_HISTORY: usize = 300;
/// Raw frames kept for the debug panel.
pub const DEBUG_FRAMES: usize = 20;
/// Characters of each raw frame kept for the debug panel.
pub const DEBUG_FRAME_CHARS: usize = 2_000;
/// Largest frame read, in characters (UTF-16 code units, as the browser counts them; for JSON,
/// which is almost all ASCII, that is bytes): 32 MiB. With every contract 5 figure our agent
/// sends ~870 bytes per container (865 for a synthetic one; it was ~230 before contract 5), so
/// this holds ~38,000 containers, 3.8 times the 10,000 one card is built for. Bigger frames
/// are refused unread and the connection is closed.
pub const MAX_FRAME_CHARS: usize = 32 * 1024 * 1024;
/// Largest `agent_status` frame decoded (ours are ~300 bytes).
pub const MAX_STATUS_CHARS: usize = 64 * 1024;
/// Containers kept per agent; the rest of a bigger batch are counted and reported, not shown.
pub const MAX_CONTAINERS: usize = 20_000;
/// Up to this many containers, every container keeps its history (sparkline and detail chart
/// from the first second); above it, only the containers on screen or selected do.
pub const FULL_HISTORY_UP_TO: usize = 500;
/// Up to this many containers on the whole page (every agent's), each agent keeps history as
/// [`FULL_HISTORY_UP_TO`] says; above it, every agent keeps it only for the containers on
/// screen or selected. A container's history is ~34 KB (300 samples of its figures and its
/// I/O), so this bounds the page's history to ~70 MB: a fleet of 50 × 100 containers would
/// otherwise hold 170 MB of history nobody looks at under the fleet view.
pub const PAGE_HISTORY_UP_TO: usize = 2_000;
/// Characters kept of a container's name and image, an agent id, version or feature.
pub const MAX_KEPT_CHARS: usize = 256;
/// Characters kept of a container id (ours are 64).
pub const MAX_ID_CHARS: usize = 128;
/// `features` entries kept from an `agent_status`.
pub const MAX_FEATURES: usize = 64;
/// Frames waiting to be decoded, at most (history chunks aside): an agent's 500-event replay
/// on connect, with its batch and status, and a second's frames of its own beyond.
pub const MAX_WAITING: usize = 1_024;
/// ... and the small ones (at most [`MAX_STATUS_CHARS`] each) in characters: 500 events are
/// ~200 KB. Of the bigger ones (batches) only the newest waits.
pub const MAX_WAITING_CHARS: usize = 8 * 1024 * 1024;
/// History chunks waiting to be decoded, at most, in characters (a 500-container agent's 15
/// minutes are some 20 MB of chunks).
pub const MAX_WAITING_HISTORY_CHARS: usize = 2 * MAX_FRAME_CHARS;
/// Containers decoded between two looks at the time budget.
pub const CHECK_EVERY: usize = 64;
/// Largest `container_health` frame decoded: the engine keeps five probes of up to 4 KiB of
/// output each, which JSON escaping can grow several-fold.
pub const MAX_HEALTH_CHARS: usize = 256 * 1024;
/// Stopped containers (`batch.exited`) kept per agent.
pub const MAX_EXITED: usize = 200;
/// Two `agent_status` whose process start (`sent_at − uptime_secs`) differ by more than this
/// come from two processes (uptimes are whole seconds, and delivery adds a little).
pub const RESTART_SLACK_MS: u64 = 5_000;
/// Largest `container_event` frame decoded (ours are ~400 bytes).
pub const MAX_EVENT_CHARS: usize = 64 * 1024;
/// Probes of a health log kept, and characters of each probe's output.
pub const MAX_PROBES: usize = 10;
/// See [`MAX_PROBES`].
pub const MAX_PROBE_CHARS: usize = 4_096;

/// A container as last reported, with its recent history.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerModel {
    /// The latest figures (strings cut to [`MAX_KEPT_CHARS`]).
    pub stats: ContainerStats,
    /// Oldest first, one per batch that contained the container while it kept history (see
    /// [`FULL_HISTORY_UP_TO`]). Allocated as samples arrive.
    pub history: Ring<Sample>,
    /// The network and block I/O rates of the same batches, for the detail panel's I/O chart.
    pub io_history: Ring<IoSample>,
    /// [`name_key`] of the name, cached for sorting and filtering.
    pub name_key: String,
    /// The batch (generation) that last reported it; older ones are gone.
    seen: u64,
}

impl ContainerModel {
    /// A container with no history yet (tests and the first batch).
    pub fn new(stats: ContainerStats) -> Self {
        Self {
            name_key: name_key(&stats.name),
            stats,
            history: Ring::new(CONTAINER_HISTORY),
            io_history: Ring::new(CONTAINER_HISTORY),
            seen: 0,
        }
    }
}

/// One frame as received, for the debug panel.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// Browser clock, ms since the epoch.
    pub received_ms: f64,
    /// The frame, cut to [`DEBUG_FRAME_CHARS`].
    pub text: String,
    /// Why it could not be used, if it could not.
    pub error: Option<String>,
}

/// What changed since the last [`AgentModel::take_changes`]; the view updates only these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// A batch changed the figures of the containers (every row on screen is redrawn).
    pub figures: bool,
    /// Containers appeared or disappeared.
    pub membership: bool,
    /// A new `agent_status` arrived.
    pub status: bool,
    /// A new batch arrived (totals, last-update time, agent metrics).
    pub batch: bool,
    /// A frame was received (debug panel) or refused.
    pub frames: bool,
    /// A `container_health` answer arrived.
    pub health: bool,
    /// A `history` chunk was folded (charts and sparklines gained points).
    pub history: bool,
    /// A new `container_event` was kept.
    pub events: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }
}

/// Whether one frame could be used, for the connection's state (`conn.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Decoded and folded (including a `type` from a newer agent, which is ignored).
    Usable,
    /// Refused, and why.
    Refused(String),
}

/// A frame not started yet.
#[derive(Debug, Clone)]
struct Inbound {
    text: String,
    received_ms: f64,
    /// A history chunk ([`looks_like_history`]).
    history: bool,
    /// Over [`MAX_STATUS_CHARS`] and not history (a batch): only the newest such waits.
    big: bool,
}

/// A batch or history chunk being decoded: the frame, its decoded envelope and the spans of
/// its containers.
#[derive(Debug, Clone)]
struct Staged {
    text: String,
    received_ms: f64,
    /// Byte ranges in `text` of the first [`MAX_CONTAINERS`] containers.
    spans: Vec<(usize, usize)>,
    /// Containers in the frame, kept or not.
    total: usize,
    payload: Payload,
    /// A batch decoded whole was handed to the `OnBatch` (in a step of its own, so the two
    /// costs of a big batch, its rules and its fold, are never one long task).
    handed_over: bool,
}

/// Everything but the containers (decoded by the protocol crate), and the containers decoded
/// so far.
#[derive(Debug, Clone)]
enum Payload {
    Batch(ContainerStatsBatch, Vec<ContainerStats>),
    History(History, Vec<ContainerHistory>),
}

impl Payload {
    fn decoded(&self) -> usize {
        match self {
            Payload::Batch(_, decoded) => decoded.len(),
            Payload::History(_, decoded) => decoded.len(),
        }
    }

    /// Containers decoded between two looks at the budget: a history entry holds minutes of
    /// figures, a batch entry one instant.
    fn step(&self) -> usize {
        match self {
            Payload::Batch(..) => CHECK_EVERY,
            Payload::History(..) => 1,
        }
    }

    /// Decodes container `index` from `text`; why it is refused, if it is.
    fn decode(&mut self, index: usize, text: &str) -> Result<(), String> {
        match self {
            Payload::Batch(_, decoded) => match serde_json::from_str::<ContainerStats>(text) {
                Ok(stats) => decoded.push(stats),
                Err(e) => return Err(malformed(format!("container {index}: {e}"))),
            },
            Payload::History(history, decoded) => {
                if let Some(reason) = history::entry_too_big(index, text.len()) {
                    return Err(reason);
                }
                let entry = serde_json::from_str::<ContainerHistory>(text)
                    .map_err(|e| malformed(format!("history container {index}: {e}")))?;
                history::check_entry(index, &entry, history.times_ms.len())?;
                decoded.push(entry);
            }
        }
        Ok(())
    }
}

/// Where every batch goes just before it is folded: whole, as the protocol's types hold it
/// (its strings cut, at most [`MAX_CONTAINERS`] running and [`MAX_EXITED`] stopped
/// containers), with the browser time it arrived and the agent's latest `agent_status` as of
/// that batch (a status that came just before it, in the same slice, included). The page's
/// attention rules (`attention.rs`) see every batch of every agent this way, before its
/// containers become rows, without a copy.
pub type OnBatch<'a> = &'a mut dyn FnMut(&ContainerStatsBatch, f64, Option<&AgentStatus>);

/// What the first step of a frame led to.
enum Started {
    Done(Verdict),
    Batch(Box<Staged>),
}

/// Everything the dashboard knows about one agent.
#[derive(Debug, Clone)]
pub struct AgentModel {
    /// Running containers by id, as of the latest batch (at most [`MAX_CONTAINERS`]).
    pub containers: HashMap<String, ContainerModel>,
    /// Containers of the latest batch beyond [`MAX_CONTAINERS`]: counted, not kept.
    pub not_kept: usize,
    /// The latest `agent_status` (strings cut).
    pub status: Option<AgentStatus>,
    /// Browser time the latest `agent_status` arrived (to advance its uptime).
    pub status_received_ms: Option<f64>,
    /// When the latest batch was sent, on the browser's clock, for "updated … ago".
    pub last_batch_local_ms: Option<f64>,
    /// What the agent process itself costs, from the latest batch.
    pub agent_metrics: AgentMetrics,
    /// Browser-vs-agent clock offset.
    pub clock: ClockSkew,
    /// Sums over containers, one per batch, for the agent's chart.
    pub totals: Ring<TotalSample>,
    /// The last raw frames, newest last.
    pub frames: Ring<RawFrame>,
    /// The latest frame that could not be used: browser time and reason (cut).
    pub frame_error: Option<(f64, String)>,
    /// Frames refused since the agent was added.
    pub malformed_count: u64,
    /// Frames skipped because a newer one arrived before they were decoded.
    pub skipped_count: u64,
    /// The host's figures from the latest batch; `None` from an agent that does not send them.
    pub host: Option<HostStats>,
    /// Containers stopped in the last hour, from the latest batch (at most [`MAX_EXITED`],
    /// never one that is also running), by name.
    pub exited: Vec<ContainerModel>,
    /// The latest `container_health` answer (strings and probes cut).
    pub health_answer: Option<ContainerHealth>,
    /// The agent's last events (see `events.rs`).
    pub events: EventLog,
    /// The newest sample time (agent clock, ms) of a batch or history folded: what a new
    /// connection asks for history after (`?since=`).
    pub newest_agent_ms: Option<i64>,
    /// The newest time the last history brought: a batch sent at it or before is already in the
    /// rings (the agent's history and its first live batches overlap).
    history_upto_agent_ms: Option<i64>,
    /// Containers a history named before a batch did, and its totals (see `history.rs`).
    history_buffer: HistoryBuffer,
    /// When the agent process started (its clock, from `agent_status`), to tell a restart.
    process_started_ms: Option<i64>,
    /// Containers that keep history although the agent has more than [`FULL_HISTORY_UP_TO`]:
    /// those on screen and the selected one.
    watched: HashSet<String>,
    /// Whether the page holds more than [`PAGE_HISTORY_UP_TO`] containers
    /// ([`AgentModel::set_page_crowded`]).
    page_crowded: bool,
    /// Frames waiting to be decoded, oldest first.
    waiting: VecDeque<Inbound>,
    /// The batch being decoded, if any.
    staged: Option<Box<Staged>>,
    /// Batches folded so far; marks which containers the latest one reported.
    generation: u64,
    /// Pending changes for the view.
    changes: Changes,
}

impl Default for AgentModel {
    fn default() -> Self {
        Self {
            containers: HashMap::new(),
            not_kept: 0,
            status: None,
            status_received_ms: None,
            last_batch_local_ms: None,
            agent_metrics: AgentMetrics::default(),
            clock: ClockSkew::default(),
            totals: Ring::new(TOTALS_HISTORY),
            frames: Ring::new(DEBUG_FRAMES),
            frame_error: None,
            malformed_count: 0,
            skipped_count: 0,
            host: None,
            exited: Vec::new(),
            health_answer: None,
            events: EventLog::default(),
            newest_agent_ms: None,
            history_upto_agent_ms: None,
            history_buffer: HistoryBuffer::default(),
            process_started_ms: None,
            watched: HashSet::new(),
            page_crowded: false,
            waiting: VecDeque::new(),
            staged: None,
            generation: 0,
            changes: Changes::default(),
        }
    }
}

/// Cuts a container's strings to what is kept ([`MAX_ID_CHARS`], [`MAX_KEPT_CHARS`]).
fn cut_strings(stats: &mut ContainerStats) {
    truncate_owned(&mut stats.id, MAX_ID_CHARS);
    truncate_owned(&mut stats.name, MAX_KEPT_CHARS);
    for text in [
        &mut stats.image,
        &mut stats.network_mode,
        &mut stats.compose_project,
        &mut stats.compose_service,
    ]
    .into_iter()
    .flatten()
    {
        truncate_owned(text, MAX_KEPT_CHARS);
    }
}

/// Cuts a decoded batch to what is kept (its strings, [`MAX_EXITED`] stopped containers) and
/// hands it to `on_batch` whole, its `containers` (decoded apart) put back for the call.
fn hand_over(
    batch: &mut ContainerStatsBatch,
    containers: &mut Vec<ContainerStats>,
    received_ms: f64,
    status: Option<&AgentStatus>,
    on_batch: OnBatch<'_>,
) {
    truncate_owned(&mut batch.agent_id, MAX_KEPT_CHARS);
    batch.exited.truncate(MAX_EXITED);
    for stats in containers.iter_mut().chain(batch.exited.iter_mut()) {
        cut_strings(stats);
    }
    std::mem::swap(&mut batch.containers, containers);
    on_batch(batch, received_ms, status);
    std::mem::swap(&mut batch.containers, containers);
}

/// The peek at a frame before decoding it: its `type`, and where its `containers` are. Only
/// field names of the contract; the payloads are decoded by the protocol crate's types.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    containers: Option<CappedList<'a>>,
}

/// The text of a JSON array's first [`MAX_CONTAINERS`] elements, how many it has in all, and
/// its last element's text (to find where the array ends); elements past the cap are skipped
/// without being decoded.
struct CappedList<'a> {
    items: Vec<&'a str>,
    total: usize,
    last: Option<&'a str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for CappedList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ListVisitor<'a> {
            type Value = CappedList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while items.len() < MAX_CONTAINERS {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(raw) => items.push(raw.get()),
                        None => {
                            let total = items.len();
                            let last = items.last().copied();
                            return Ok(CappedList { items, total, last });
                        }
                    }
                }
                let mut total = items.len();
                let mut last = items.last().copied();
                while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                    total += 1;
                    last = Some(raw.get());
                }
                Ok(CappedList { items, total, last })
            }
        }
        deserializer.deserialize_seq(ListVisitor(std::marker::PhantomData))
    }
}

/// Byte offset of `part` inside `whole` (`part` is a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// The message for a frame serde could not read.
fn malformed(detail: impl std::fmt::Display) -> String {
    let text = format!("malformed agent message: {detail}");
    format::truncate(&text, MAX_REASON_CHARS).into_owned()
}

/// Whether a frame is a history chunk, by a look at its start (ours begin with their `type`):
/// those are never skipped for a newer frame. A frame that hides its type further in is
/// treated like a batch.
fn looks_like_history(text: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(256)];
    head.windows(9).any(|w| w == b"\"history\"")
}

/// Why a frame of `chars` characters is too big to read, if it is.
pub fn frame_too_big(chars: usize) -> Option<String> {
    (chars > MAX_FRAME_CHARS).then(|| {
        format!(
            "refused a frame of {} (this dashboard reads frames up to {})",
            format::bytes(chars as u64),
            format::bytes(MAX_FRAME_CHARS as u64)
        )
    })
}

impl AgentModel {
    /// Queues one text frame received at `local_ms` (browser clock). Nothing is decoded yet;
    /// a big frame replaces the big ones waiting (not started), which are counted as skipped.
    pub fn receive(&mut self, text: String, local_ms: f64) {
        let history = looks_like_history(&text);
        let big = text.len() > MAX_STATUS_CHARS && !history;
        if big {
            let before = self.waiting.len();
            self.waiting.retain(|w| !w.big);
            self.skipped_count += (before - self.waiting.len()) as u64;
        }
        self.waiting.push_back(Inbound {
            text,
            received_ms: local_ms,
            history,
            big,
        });
        // History chunks all wait (each holds other containers), within their own bound; so
        // do small frames (an agent replays its last 500 events on connect, one frame each).
        let (mut frames, mut chars, mut chunk_chars) = (0, 0, 0);
        for w in &self.waiting {
            if w.history {
                chunk_chars += w.text.len();
            } else {
                frames += 1;
                if !w.big {
                    chars += w.text.len();
                }
            }
        }
        let over = if frames > MAX_WAITING || chars > MAX_WAITING_CHARS {
            self.waiting.iter().position(|w| !w.history && !w.big)
        } else if chunk_chars > MAX_WAITING_HISTORY_CHARS {
            self.waiting.iter().position(|w| w.history)
        } else {
            None
        };
        if let Some(at) = over {
            self.waiting.remove(at);
            self.skipped_count += 1;
        }
    }

    /// Whether a frame is waiting or being decoded.
    pub fn has_work(&self) -> bool {
        !self.waiting.is_empty() || self.staged.is_some()
    }

    /// Decodes and folds queued frames while `time_left()` says so (asked after each
    /// [`CHECK_EVERY`] containers and after each frame, so every call makes progress).
    /// Returns the verdicts of the frames finished, in order.
    pub fn work(&mut self, time_left: &mut dyn FnMut() -> bool) -> Vec<Verdict> {
        self.work_with(time_left, &mut |_, _, _| {})
    }

    /// [`AgentModel::work`], handing each batch to `on_batch` before it is folded.
    pub fn work_with(
        &mut self,
        time_left: &mut dyn FnMut() -> bool,
        on_batch: OnBatch<'_>,
    ) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        loop {
            if self.staged.is_none() {
                let Some(inbound) = self.waiting.pop_front() else {
                    break;
                };
                match self.start(inbound, on_batch) {
                    Started::Done(verdict) => {
                        verdicts.push(verdict);
                        if time_left() {
                            continue;
                        }
                        break;
                    }
                    Started::Batch(staged) => self.staged = Some(staged),
                }
            }
            let Some(staged) = self.staged.as_mut() else {
                break;
            };
            let mut failed = None;
            while staged.payload.decoded() < staged.spans.len() {
                let from = staged.payload.decoded();
                let to = (from + staged.payload.step()).min(staged.spans.len());
                for (i, &(a, b)) in staged.spans[from..to].iter().enumerate() {
                    if let Err(reason) = staged.payload.decode(from + i, &staged.text[a..b]) {
                        failed = Some(reason);
                        break;
                    }
                }
                if failed.is_some() || !time_left() {
                    break;
                }
            }
            if let Some(reason) = failed {
                let Some(staged) = self.staged.take() else {
                    break;
                };
                verdicts.push(self.refuse(&staged.text, staged.received_ms, reason));
            } else if staged.payload.decoded() == staged.spans.len() {
                if !staged.handed_over {
                    staged.handed_over = true;
                    if let Payload::Batch(batch, containers) = &mut staged.payload {
                        let status = self.status.as_ref();
                        hand_over(batch, containers, staged.received_ms, status, on_batch);
                        if !time_left() {
                            // Folded in the next call.
                            break;
                        }
                    }
                }
                let Some(staged) = self.staged.take() else {
                    break;
                };
                verdicts.push(self.commit(*staged));
            } else {
                // Out of time mid-batch: the next call carries on.
                break;
            }
            if !time_left() {
                break;
            }
        }
        verdicts
    }

    /// Decodes and folds one frame at once (tests, and callers without a time budget).
    ///
    /// # Errors
    /// Why the frame was refused; it is also recorded for the card and the debug panel, and
    /// the model is otherwise unchanged, so the connection carries on.
    pub fn ingest_frame(&mut self, text: &str, local_ms: f64) -> Result<(), String> {
        self.receive(text.to_owned(), local_ms);
        match self.work(&mut || true).pop() {
            Some(Verdict::Refused(reason)) => Err(reason),
            _ => Ok(()),
        }
    }

    /// The first step of a frame: refuse it, fold a small message, or stage a batch.
    fn start(&mut self, inbound: Inbound, on_batch: OnBatch<'_>) -> Started {
        let Inbound {
            text, received_ms, ..
        } = inbound;
        if text.len() > MAX_FRAME_CHARS {
            if let Some(reason) = frame_too_big(text.encode_utf16().count()) {
                return Started::Done(self.refuse(&text, received_ms, reason));
            }
        }
        let peek = match serde_json::from_str::<Peek>(&text) {
            Ok(peek) => peek,
            Err(e) => return Started::Done(self.refuse(&text, received_ms, malformed(e))),
        };
        let kind = peek.kind.as_deref().unwrap_or_default();
        // Where the (non-empty) list sits: from the `[` before its first element to the `]`
        // after its last (the peek read valid JSON, so only whitespace lies between).
        let span = peek.containers.as_ref().and_then(|list| {
            let (first, last) = (list.items.first()?, list.last?);
            let a = text[..offset_in(&text, first)].rfind('[')?;
            let after_last = offset_in(&text, last) + last.len();
            let b = after_last + text[after_last..].find(']')? + 1;
            Some((a, b))
        });
        match (kind, peek.containers, span) {
            ("container_stats_batch" | "history", Some(list), Some((a, b))) => {
                let rest_len = text.len() - (b - a) + 2;
                if kind == "history" {
                    if let Some(reason) = history::axis_too_big(rest_len) {
                        return Started::Done(self.refuse(&text, received_ms, reason));
                    }
                }
                let mut rest = String::with_capacity(rest_len);
                rest.push_str(&text[..a]);
                rest.push_str("[]");
                rest.push_str(&text[b..]);
                let payload = match decode(&rest) {
                    Ok(Message::ContainerStatsBatch(batch)) => {
                        Payload::Batch(batch, Vec::with_capacity(list.items.len()))
                    }
                    Ok(Message::History(chunk)) => {
                        if let Err(reason) = history::check_axis(&chunk) {
                            return Started::Done(self.refuse(&text, received_ms, reason));
                        }
                        Payload::History(chunk, Vec::with_capacity(list.items.len()))
                    }
                    Ok(_) => {
                        let reason = malformed("not a batch");
                        return Started::Done(self.refuse(&text, received_ms, reason));
                    }
                    Err(e) => {
                        let reason =
                            format::truncate(&e.to_string(), MAX_REASON_CHARS).into_owned();
                        return Started::Done(self.refuse(&text, received_ms, reason));
                    }
                };
                let spans = list
                    .items
                    .iter()
                    .map(|item| {
                        let at = offset_in(&text, item);
                        (at, at + item.len())
                    })
                    .collect::<Vec<_>>();
                let total = list.total;
                Started::Batch(Box::new(Staged {
                    text,
                    received_ms,
                    payload,
                    spans,
                    total,
                    handed_over: false,
                }))
            }
            ("agent_status", _, _) if text.len() > MAX_STATUS_CHARS => {
                let reason = format!(
                    "refused an agent_status of {} (at most {} is read)",
                    format::bytes(text.len() as u64),
                    format::bytes(MAX_STATUS_CHARS as u64)
                );
                Started::Done(self.refuse(&text, received_ms, reason))
            }
            ("", _, _) if peek.kind.is_none() => {
                Started::Done(self.refuse(&text, received_ms, malformed("missing field `type`")))
            }
            // A status, or a batch with no (or an empty) list: small, decoded whole (decode says
            // what is wrong with it).
            ("container_health", _, _) if text.len() > MAX_HEALTH_CHARS => {
                let reason = format!(
                    "refused a container_health of {} (at most {} is read)",
                    format::bytes(text.len() as u64),
                    format::bytes(MAX_HEALTH_CHARS as u64)
                );
                Started::Done(self.refuse(&text, received_ms, reason))
            }
            ("history", _, _) if text.len() > history::MAX_AXIS_CHARS => {
                let reason = history::axis_too_big(text.len()).unwrap_or_default();
                Started::Done(self.refuse(&text, received_ms, reason))
            }
            ("container_event", _, _) if text.len() > MAX_EVENT_CHARS => {
                let reason = format!(
                    "refused a container_event of {} (at most {} is read)",
                    format::bytes(text.len() as u64),
                    format::bytes(MAX_EVENT_CHARS as u64)
                );
                Started::Done(self.refuse(&text, received_ms, reason))
            }
            (
                "container_stats_batch"
                | "agent_status"
                | "container_health"
                | "history"
                | "container_event",
                _,
                _,
            ) => {
                let checked = decode(&text)
                    .map_err(|e| e.to_string())
                    .and_then(|m| match &m {
                        Message::History(chunk) => history::check_axis(chunk).map(|_| m),
                        _ => Ok(m),
                    });
                match checked {
                    Ok(message) => {
                        self.ingest_with(message, received_ms, on_batch);
                        Started::Done(self.accept(&text, received_ms))
                    }
                    Err(e) => {
                        let reason = format::truncate(&e, MAX_REASON_CHARS).into_owned();
                        Started::Done(self.refuse(&text, received_ms, reason))
                    }
                }
            }
            // A type from a newer agent: valid JSON, ignored (decode would give Message::Unknown).
            _ => Started::Done(self.accept(&text, received_ms)),
        }
    }

    fn debug_frame(&mut self, text: &str, received_ms: f64, error: Option<String>) {
        self.frames.push(RawFrame {
            received_ms,
            text: format::truncate(text, DEBUG_FRAME_CHARS).into_owned(),
            error,
        });
        self.changes.frames = true;
    }

    fn accept(&mut self, text: &str, received_ms: f64) -> Verdict {
        self.debug_frame(text, received_ms, None);
        Verdict::Usable
    }

    fn refuse(&mut self, text: &str, received_ms: f64, reason: String) -> Verdict {
        self.debug_frame(text, received_ms, Some(reason.clone()));
        self.record_malformed(reason.clone(), received_ms);
        Verdict::Refused(reason)
    }

    /// Records a frame the dashboard cannot use (binary, too big) without decoding it.
    pub fn record_malformed(&mut self, reason: String, local_ms: f64) {
        let reason = format::truncate(&reason, MAX_REASON_CHARS).into_owned();
        self.frame_error = Some((local_ms, reason));
        self.malformed_count += 1;
        self.changes.frames = true;
    }

    /// Folds one decoded message. [`Message::Unknown`] (a newer agent) is ignored.
    pub fn ingest(&mut self, message: Message, local_ms: f64) {
        self.ingest_with(message, local_ms, &mut |_, _, _| {});
    }

    fn ingest_with(&mut self, message: Message, local_ms: f64, on_batch: OnBatch<'_>) {
        match message {
            Message::ContainerStatsBatch(mut batch) => {
                let mut containers = std::mem::take(&mut batch.containers);
                let total = containers.len();
                containers.truncate(MAX_CONTAINERS);
                let status = self.status.as_ref();
                hand_over(&mut batch, &mut containers, local_ms, status, on_batch);
                self.fold_batch(batch, containers, total, local_ms);
            }
            Message::AgentStatus(mut status) => {
                let sent_ms = status.sent_at.timestamp_millis();
                self.clock.observe(local_ms, sent_ms as f64);
                // When the process started, on its clock: another start is another process,
                // which numbers its events anew.
                let started = sent_ms.saturating_sub(
                    i64::try_from(status.uptime_secs.saturating_mul(1_000)).unwrap_or(i64::MAX),
                );
                if self
                    .process_started_ms
                    .is_some_and(|before| before.abs_diff(started) > RESTART_SLACK_MS)
                {
                    self.events.new_process();
                }
                self.process_started_ms = Some(started);
                truncate_owned(&mut status.agent_id, MAX_KEPT_CHARS);
                truncate_owned(&mut status.version, MAX_KEPT_CHARS);
                for text in [&mut status.engine_version].into_iter().flatten() {
                    truncate_owned(text, MAX_KEPT_CHARS);
                }
                for text in [&mut status.engine_error].into_iter().flatten() {
                    truncate_owned(text, MAX_REASON_CHARS);
                }
                status.features.truncate(MAX_FEATURES);
                for feature in &mut status.features {
                    truncate_owned(feature, MAX_KEPT_CHARS);
                }
                self.status = Some(status);
                self.status_received_ms = Some(local_ms);
                self.changes.status = true;
            }
            // Asked for by the detail panel (`Dashboard::request_health_log`).
            Message::ContainerHealth(mut health) => {
                truncate_owned(&mut health.agent_id, MAX_KEPT_CHARS);
                truncate_owned(&mut health.id, MAX_ID_CHARS);
                if let Some(error) = health.error.as_mut() {
                    truncate_owned(error, MAX_REASON_CHARS);
                }
                let skip = health.log.len().saturating_sub(MAX_PROBES);
                health.log.drain(..skip);
                for probe in &mut health.log {
                    truncate_owned(&mut probe.output, MAX_PROBE_CHARS);
                }
                self.health_answer = Some(health);
                self.changes.health = true;
            }
            Message::History(mut chunk) => {
                let entries = std::mem::take(&mut chunk.containers);
                self.fold_history(chunk, entries, local_ms);
            }
            Message::ContainerEvent(event) => {
                if self.events.add(event, local_ms, &self.clock) {
                    self.changes.events = true;
                }
            }
            Message::Unknown => {}
        }
    }

    /// Folds a staged frame (a batch already handed over).
    fn commit(&mut self, staged: Staged) -> Verdict {
        let Staged {
            text,
            received_ms,
            payload,
            total,
            ..
        } = staged;
        match payload {
            Payload::Batch(batch, decoded) => {
                self.fold_batch(batch, decoded, total, received_ms);
            }
            Payload::History(chunk, decoded) => self.fold_history(chunk, decoded, received_ms),
        }
        self.accept(&text, received_ms)
    }

    /// Folds a batch whose `containers` (at most [`MAX_CONTAINERS`]) were decoded apart from
    /// it and which was handed over ([`hand_over`]: its strings are cut); `total` is how many
    /// the frame had.
    fn fold_batch(
        &mut self,
        batch: ContainerStatsBatch,
        containers: Vec<ContainerStats>,
        total: usize,
        local_ms: f64,
    ) {
        let agent_ms = batch.sent_at.timestamp_millis();
        let sent_ms = agent_ms as f64;
        self.clock.observe(local_ms, sent_ms);
        let t_ms = self.clock.to_local(sent_ms, local_ms);
        // Already in the rings when the history just folded reaches this far.
        let in_history = self
            .history_upto_agent_ms
            .is_some_and(|upto| agent_ms <= upto);
        if !in_history {
            self.history_upto_agent_ms = None;
        }
        self.newest_agent_ms = self.newest_agent_ms.max(Some(agent_ms));
        self.last_batch_local_ms = Some(t_ms);
        self.agent_metrics = batch.agent_metrics;
        self.host = batch.host;
        let exited = batch.exited;
        self.not_kept = total.saturating_sub(containers.len());
        self.changes.batch = true;
        self.changes.figures = true;
        self.generation += 1;
        let generation = self.generation;
        let full_history = self.keeps_all_history(containers.len());

        let mut sum = TotalSample {
            t_ms,
            cpu_pct: 0.0,
            mem_bytes: 0,
        };
        let mut distinct = 0;
        for stats in containers {
            if let Some(cpu) = stats
                .cpu_pct
                .filter(|v| v.is_finite() && (0.0..=format::MAX_SHOWN_PERCENT).contains(v))
            {
                sum.cpu_pct += cpu;
            }
            sum.mem_bytes = sum.mem_bytes.saturating_add(stats.mem_bytes.unwrap_or(0));
            let sample = Sample::of(t_ms, &stats);
            let io = IoSample::of(t_ms, &stats);
            let keeps_history = full_history || self.watched.contains(&stats.id);
            let container = match self.containers.get_mut(&stats.id) {
                Some(existing) => {
                    if existing.stats.name != stats.name {
                        existing.name_key = name_key(&stats.name);
                    }
                    existing.stats = stats;
                    existing
                }
                None => {
                    self.changes.membership = true;
                    let id = stats.id.clone();
                    let mut container = ContainerModel::new(stats);
                    if let Some((samples, io)) = self.history_buffer.claim(&id) {
                        if keeps_history {
                            history::merge(&mut container.history, samples, |s| s.t_ms);
                            history::merge(&mut container.io_history, io, |s| s.t_ms);
                        }
                    }
                    self.containers.entry(id).or_insert(container)
                }
            };
            if container.seen != generation {
                container.seen = generation;
                distinct += 1;
            }
            if keeps_history {
                if !in_history {
                    container.history.push(sample);
                    container.io_history.push(io);
                }
            } else if container.history.allocated() > 0 {
                container.history.release();
                container.io_history.release();
            }
        }
        // Every container of the batch is marked; any other one has stopped.
        if self.containers.len() != distinct {
            self.containers.retain(|_, c| c.seen == generation);
            self.changes.membership = true;
        }
        self.history_buffer.drop_parked();
        let history_totals = self.history_buffer.take_totals();
        history::merge(&mut self.totals, history_totals, |t| t.t_ms);
        if !in_history {
            self.totals.push(sum);
        }
        let running = &self.containers;
        let mut stopped: Vec<ContainerModel> = exited
            .into_iter()
            .map(ContainerModel::new)
            .filter(|c| !running.contains_key(&c.stats.id))
            .collect();
        stopped.sort_by(|a, b| {
            a.name_key
                .cmp(&b.name_key)
                .then(a.stats.id.cmp(&b.stats.id))
        });
        stopped.dedup_by(|a, b| a.stats.id == b.stats.id);
        if stopped.len() != self.exited.len()
            || stopped
                .iter()
                .zip(&self.exited)
                .any(|(a, b)| a.stats.id != b.stats.id)
        {
            self.changes.membership = true;
        }
        self.exited = stopped;
    }

    /// The container `id` as a row draws it: running, or stopped (`true`).
    pub fn row_source(&self, id: &str) -> Option<(&ContainerModel, bool)> {
        match self.containers.get(id) {
            Some(c) => Some((c, false)),
            None => self
                .exited
                .iter()
                .find(|c| c.stats.id == id)
                .map(|c| (c, true)),
        }
    }

    /// Ids of the stopped containers whose name contains `filter`, by name.
    pub fn exited_ids(&self, filter: &str) -> Vec<String> {
        let needle = name_key(filter.trim());
        self.exited
            .iter()
            .filter(|c| needle.is_empty() || c.name_key.contains(&needle))
            .map(|c| c.stats.id.clone())
            .collect()
    }

    /// Whether every one of `containers` keeps history: up to [`FULL_HISTORY_UP_TO`] of this
    /// agent's, unless the page as a whole holds more than [`PAGE_HISTORY_UP_TO`].
    fn keeps_all_history(&self, containers: usize) -> bool {
        containers <= FULL_HISTORY_UP_TO && !self.page_crowded
    }

    /// Says whether the page's agents hold more than [`PAGE_HISTORY_UP_TO`] containers in
    /// all; then this agent, too, keeps history only for the containers it watches.
    pub fn set_page_crowded(&mut self, crowded: bool) {
        self.page_crowded = crowded;
    }

    /// The containers on screen and the selected one: with more than [`FULL_HISTORY_UP_TO`]
    /// containers (or a crowded page), only these keep history (from the next batch on).
    pub fn set_watched<'a>(&mut self, ids: impl IntoIterator<Item = &'a String>) {
        self.watched.clear();
        self.watched.extend(ids.into_iter().cloned());
    }

    /// A new connection is starting: the agent may have restarted with another clock, and a
    /// history half received is not coming on.
    pub fn connection_reset(&mut self) {
        self.clock.reset();
        self.history_buffer.clear();
        self.history_upto_agent_ms = None;
    }

    /// Folds a history chunk whose entries (at most [`MAX_CONTAINERS`], each checked against
    /// its times) were decoded apart from it: points go into the rings of the containers the
    /// model has, or wait for the batch that lists them; the totals are summed over the
    /// chunks and merged with the last one (or with the next batch).
    fn fold_history(&mut self, chunk: History, entries: Vec<ContainerHistory>, local_ms: f64) {
        let sent_agent_ms = chunk.sent_at.timestamp_millis();
        self.clock.observe(local_ms, sent_agent_ms as f64);
        let local_sent = self.clock.to_local(sent_agent_ms as f64, local_ms);
        let times = history::local_times(&chunk.times_ms, sent_agent_ms, local_sent);
        let newest = chunk
            .times_ms
            .iter()
            .zip(&times)
            .rev()
            .find(|(_, local)| local.is_some())
            .map(|(t, _)| *t);
        if newest.is_some() {
            self.newest_agent_ms = self.newest_agent_ms.max(newest);
            self.history_upto_agent_ms = self.history_upto_agent_ms.max(newest);
        }
        self.history_buffer.add_axis(&chunk.times_ms, &times);
        let full_history = self.keeps_all_history(self.containers.len());
        for mut entry in entries {
            truncate_owned(&mut entry.id, MAX_ID_CHARS);
            self.history_buffer
                .add_totals(&chunk.times_ms, &times, &entry);
            if !(full_history || self.watched.contains(&entry.id)) {
                continue;
            }
            let (samples, io) = history::entry_points(&times, &entry, CONTAINER_HISTORY);
            match self.containers.get_mut(&entry.id) {
                Some(container) => {
                    history::merge(&mut container.history, samples, |s| s.t_ms);
                    history::merge(&mut container.io_history, io, |s| s.t_ms);
                    self.changes.figures = true;
                }
                None => self.history_buffer.park(entry.id, samples, io),
            }
        }
        if chunk.last {
            let totals = self.history_buffer.take_totals();
            history::merge(&mut self.totals, totals, |t| t.t_ms);
        }
        self.changes.history = true;
    }

    /// Hands the pending changes to the view and starts collecting anew.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Whether anything is waiting for the view.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Ids of the containers whose name contains `filter` (case-insensitive), in `spec` order,
    /// at most `limit` of them (the first ones; picked without sorting the rest), and how many
    /// match in all.
    pub fn visible_ids(
        &self,
        spec: SortSpec,
        filter: &str,
        limit: Option<usize>,
    ) -> (Vec<String>, usize) {
        let needle = name_key(filter.trim());
        let mut rows: Vec<&ContainerModel> = self
            .containers
            .values()
            .filter(|c| needle.is_empty() || c.name_key.contains(&needle))
            .collect();
        let matching = rows.len();
        let order = |a: &&ContainerModel, b: &&ContainerModel| {
            spec.compare_keyed(&a.stats, &a.name_key, &b.stats, &b.name_key)
        };
        if let Some(limit) = limit.filter(|&l| l < rows.len()) {
            if limit == 0 {
                rows.clear();
            } else {
                rows.select_nth_unstable_by(limit - 1, order);
                rows.truncate(limit);
            }
        }
        rows.sort_unstable_by(order);
        (
            rows.into_iter().map(|c| c.stats.id.clone()).collect(),
            matching,
        )
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

    fn container_json(id: &str, name: &str, cpu: Option<f64>) -> serde_json::Value {
        serde_json::json!({
            "id": id, "name": name, "cpu_pct": cpu, "mem_bytes": 1024,
            "mem_limit_bytes": 4096, "uptime_secs": 10
        })
    }

    fn batch_of(sent_at: &str, containers: Vec<serde_json::Value>) -> String {
        serde_json::json!({
            "type": "container_stats_batch", "agent_id": "a", "sent_at": sent_at,
            "sequence": 1, "containers": containers,
            "agent_metrics": {"cpu_pct": 0.5, "mem_bytes": 100}
        })
        .to_string()
    }

    fn batch_json(seq: u64, sent_at: &str, containers: &[(&str, &str, Option<f64>)]) -> String {
        let containers = containers
            .iter()
            .map(|(id, name, cpu)| container_json(id, name, *cpu))
            .collect();
        let mut frame: serde_json::Value =
            serde_json::from_str(&batch_of(sent_at, containers)).unwrap_or_default();
        frame["sequence"] = seq.into();
        frame.to_string()
    }

    /// A batch of `n` containers named `c0`, `c1`, …
    fn big_batch(n: usize) -> String {
        let containers = (0..n)
            .map(|i| {
                container_json(
                    &format!("{i:064x}"),
                    &format!("c{i}"),
                    Some(i as f64 / 100.0),
                )
            })
            .collect();
        batch_of(T0, containers)
    }

    const T0: &str = "2026-11-22T10:00:00Z";
    const T1: &str = "2026-11-22T10:00:01Z";
    /// Browser time of T0.
    const T0_MS: f64 = 1_795_773_600_000.0;

    fn visible(model: &AgentModel, spec: SortSpec, filter: &str) -> Vec<String> {
        model.visible_ids(spec, filter, None).0
    }

    #[test]
    fn batches_add_update_and_remove_rows() {
        let mut model = AgentModel::default();
        let first = batch_json(1, T0, &[("c1", "web", Some(1.0)), ("c2", "db", Some(5.0))]);
        assert_eq!(model.ingest_frame(&first, T0_MS), Ok(()));
        let changes = model.take_changes();
        assert!(changes.membership && changes.batch && changes.frames && changes.figures);
        assert_eq!(visible(&model, SortSpec::default(), ""), ["c2", "c1"]);
        assert_eq!(model.totals.last().map(|t| t.cpu_pct), Some(6.0));

        let second = batch_json(2, T1, &[("c1", "web", Some(9.0))]);
        assert_eq!(model.ingest_frame(&second, T0_MS + 1_000.0), Ok(()));
        let changes = model.take_changes();
        assert!(changes.membership, "c2 disappeared");
        assert_eq!(visible(&model, SortSpec::default(), ""), ["c1"]);
        assert_eq!(model.containers["c1"].history.len(), 2);
        assert!(!model.has_changes());

        // Same membership, new figures: figures change, membership does not.
        let third = batch_json(3, T1, &[("c1", "web", Some(2.0))]);
        assert_eq!(model.ingest_frame(&third, T0_MS + 2_000.0), Ok(()));
        let changes = model.take_changes();
        assert!(!changes.membership && changes.figures);
    }

    #[test]
    fn malformed_and_unknown_frames_leave_state_alone() {
        let mut model = AgentModel::default();
        model
            .ingest_frame(&batch_json(1, T0, &[("c1", "web", None)]), 0.0)
            .ok();
        model.take_changes();
        let cases = [
            "{not json",
            r#"{"type":"container_stats_batch"}"#,
            "[]",
            r#"{"containers":[]}"#,
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[{"name":"no id"}]}"#,
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"yesterday","containers":[]}"#,
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":null}"#,
            r#"{"type":"agent_status","agent_id":"a"}"#,
        ];
        for frame in cases {
            assert!(model.ingest_frame(frame, 5.0).is_err(), "{frame}");
        }
        assert_eq!(model.malformed_count, cases.len() as u64);
        assert!(model.frame_error.is_some());
        assert_eq!(model.containers.len(), 1);

        assert_eq!(
            model.ingest_frame(r#"{"type":"from_the_future","x":1}"#, 6.0),
            Ok(())
        );
        let changes = model.take_changes();
        assert!(changes.frames && !changes.batch && !changes.figures);
        assert_eq!(model.frames.len(), cases.len() + 2);
    }

    /// The staged decoder accepts and refuses exactly what `decode` does, and folds the same
    /// containers.
    #[test]
    fn staged_decoding_agrees_with_decode() {
        let frames = [
            batch_json(1, T0, &[("c1", "web", Some(1.5)), ("c2", "db", None)]),
            batch_of(T0, vec![]),
            // Whitespace, escapes and unknown fields around and inside the list.
            format!(
                r#" {{ "containers" : [ {{"id":"x\"y","name":"w\u00e9b","extra":[1,{{"a":2}}]}} ] , "type":"container_stats_batch","agent_id":"a","sent_at":"{T0}","future":{{"containers":1}} }} "#
            ),
            // The original contract's examples.
            r#"{"type":"container_stats_batch","agent_id":"host-a","sent_at":"2025-10-15T10:00:00Z","containers":[{"id":"abc123","name":"nginx","cpu_pct":24.5,"mem_bytes":128345600,"mem_limit_bytes":536870912,"uptime_secs":532}],"agent_metrics":{"cpu_pct":4.2,"mem_bytes":66469888}}"#.to_owned(),
            r#"{"type":"agent_status","agent_id":"host-a","sent_at":"2025-10-15T10:00:05Z","uptime_secs":3600,"version":"v1.0.0","features":["container_stats"]}"#.to_owned(),
            // Refused by both.
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[{"id":"a","name":"b","cpu_pct":"hot"}]}"#.to_owned(),
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[{"id":"a","name":"b","mem_bytes":-5}]}"#.to_owned(),
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[{"id":"a","name":"b","mem_bytes":1e308}]}"#.to_owned(),
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[1,2]}"#.to_owned(),
            r#"{"type":"container_stats_batch","agent_id":"a","sent_at":"2026-11-22T10:00:00Z","containers":[{"id":"a","name":"b"}],"containers":[]}"#.to_owned(),
            r#"{"type":"container_stats_batch","agent_id":7,"sent_at":"2026-11-22T10:00:00Z","containers":[]}"#.to_owned(),
            "{\"type\":\"container_stats_batch\",\"containers\":[".to_owned(),
            "null".to_owned(),
            "42".to_owned(),
        ];
        for frame in &frames {
            let expected = decode(frame);
            let mut model = AgentModel::default();
            let got = model.ingest_frame(frame, T0_MS);
            assert_eq!(
                got.is_ok(),
                expected.is_ok(),
                "{frame}: {got:?} vs {expected:?}"
            );
            if let Ok(Message::ContainerStatsBatch(batch)) = expected {
                let mut want: Vec<&ContainerStats> = batch.containers.iter().collect();
                want.sort_by(|a, b| a.id.cmp(&b.id));
                let mut have: Vec<&ContainerStats> =
                    model.containers.values().map(|c| &c.stats).collect();
                have.sort_by(|a, b| a.id.cmp(&b.id));
                assert_eq!(have, want, "{frame}");
                assert_eq!(model.agent_metrics, batch.agent_metrics);
            }
        }
    }

    /// A budget that runs out at every look: the batch takes many calls, is never half
    /// applied, and ends up exactly as a one-shot decode.
    #[test]
    fn big_batches_decode_in_slices_and_fold_at_once() {
        let frame = big_batch(1_000);
        let mut sliced = AgentModel::default();
        sliced.receive(frame.clone(), T0_MS);
        let mut calls = 0;
        let mut verdicts = Vec::new();
        while sliced.has_work() {
            calls += 1;
            verdicts.extend(sliced.work(&mut || false));
            if sliced.has_work() {
                assert!(sliced.containers.is_empty(), "half a batch folded");
            }
        }
        assert_eq!(verdicts, [Verdict::Usable]);
        assert!(calls >= 1_000 / CHECK_EVERY, "{calls} calls");
        let mut once = AgentModel::default();
        assert_eq!(once.ingest_frame(&frame, T0_MS), Ok(()));
        assert_eq!(sliced.containers, once.containers);
    }

    #[test]
    fn only_the_newest_big_frame_waits_and_small_ones_all_do() {
        let mut model = AgentModel::default();
        let big = big_batch(1_000);
        assert!(big.len() > MAX_STATUS_CHARS);
        model.receive(big.clone(), 0.0);
        // Started: the first frame is being decoded.
        assert!(model.work(&mut || false).is_empty());
        let status = serde_json::json!({
            "type": "agent_status", "agent_id": "kept", "sent_at": T0, "uptime_secs": 3,
            "version": "v1.0.0", "features": ["container_stats"]
        })
        .to_string();
        model.receive(big.clone(), 1.0);
        model.receive(status, 1.5);
        model.receive(big_batch(2_000), 2.0);
        let verdicts = model.work(&mut || true);
        assert_eq!(verdicts, vec![Verdict::Usable; 3]);
        assert_eq!(model.skipped_count, 1);
        assert_eq!(model.containers.len(), 2_000);
        assert_eq!(
            model.status.as_ref().map(|s| s.agent_id.as_str()),
            Some("kept")
        );

        // Small frames all wait, up to MAX_WAITING.
        for i in 0..MAX_WAITING + 3 {
            model.receive(batch_json(i as u64, T0, &[("x", "small", None)]), 3.0);
        }
        assert_eq!(model.work(&mut || true).len(), MAX_WAITING);
        assert_eq!(model.skipped_count, 1 + 3);
    }

    #[test]
    fn containers_beyond_the_cap_are_counted_not_kept() {
        let mut model = AgentModel::default();
        let frame = big_batch(MAX_CONTAINERS + 7);
        assert_eq!(model.ingest_frame(&frame, T0_MS), Ok(()));
        assert_eq!(model.containers.len(), MAX_CONTAINERS);
        assert_eq!(model.not_kept, 7);
        // Shown: the top rows of what is kept, and how many match.
        let (top, matching) = model.visible_ids(SortSpec::default(), "", Some(25));
        assert_eq!(matching, MAX_CONTAINERS);
        assert_eq!(top.len(), 25);
        assert_eq!(top[0], format!("{:064x}", MAX_CONTAINERS - 1));
        assert_eq!(model.ingest_frame(&big_batch(3), T0_MS), Ok(()));
        assert_eq!((model.containers.len(), model.not_kept), (3, 0));
    }

    #[test]
    fn oversized_frames_are_refused_unread() {
        let mut model = AgentModel::default();
        let huge = format!(
            r#"{{"type":"container_stats_batch","pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_CHARS)
        );
        let refused = model.ingest_frame(&huge, 0.0);
        assert_eq!(
            refused,
            Err(
                "refused a frame of 32.0 MiB (this dashboard reads frames up to 32.0 MiB)"
                    .to_owned()
            )
        );
        assert_eq!(frame_too_big(MAX_FRAME_CHARS), None);
        assert!(frame_too_big(75_000_000).is_some_and(|r| r.contains("71.5 MiB")));
        let status = format!(
            r#"{{"type":"agent_status","pad":"{}"}}"#,
            "x".repeat(MAX_STATUS_CHARS)
        );
        assert!(model
            .ingest_frame(&status, 0.0)
            .is_err_and(|e| e.contains("agent_status")));
        assert_eq!(model.malformed_count, 2);
        // What is kept for the debug panel and the card is bounded.
        assert!(model
            .frames
            .iter()
            .all(|f| f.text.chars().count() <= DEBUG_FRAME_CHARS));
    }

    #[test]
    fn each_batch_is_handed_over_whole_and_cut_before_it_is_folded() {
        let long = "x".repeat(1_000);
        let exited: Vec<serde_json::Value> = (0..MAX_EXITED + 5)
            .map(|i| serde_json::json!({"id": format!("dead{i}"), "name": long, "state": "exited"}))
            .collect();
        let mut with_exited: serde_json::Value =
            serde_json::from_str(&big_batch(3)).unwrap_or_default();
        with_exited["exited"] = exited.into();
        with_exited["agent_id"] = long.clone().into();
        // A big batch (decoded in slices), a small one (decoded whole), a status (not a batch),
        // a refused batch (never handed over).
        let frames = [
            (with_exited.to_string(), 1_000.0),
            (batch_json(2, T0, &[("a", &long, Some(1.0))]), 2_000.0),
            (
                serde_json::json!({"type": "agent_status", "agent_id": "a", "sent_at": T0,
                    "uptime_secs": 1, "version": "1"})
                .to_string(),
                3_000.0,
            ),
            (batch_of(T0, vec![serde_json::json!({"id": 1})]), 4_000.0),
        ];
        let mut model = AgentModel::default();
        let mut seen: Vec<(usize, usize, usize, usize, f64)> = Vec::new();
        for (frame, at) in frames {
            model.receive(frame, at);
            let mut on_batch = |batch: &ContainerStatsBatch, at: f64, _: Option<&AgentStatus>| {
                let longest = batch
                    .containers
                    .iter()
                    .chain(&batch.exited)
                    .map(|c| c.name.chars().count())
                    .max()
                    .unwrap_or(0);
                seen.push((
                    batch.containers.len(),
                    batch.exited.len(),
                    longest,
                    batch.agent_id.chars().count(),
                    at,
                ));
            };
            // Little time per call: the big batch takes several, and its hand-over is a step
            // of its own, before the fold.
            let mut calls = 0;
            while model.has_work() && calls < 100 {
                let before = model.containers.len();
                model.work_with(&mut || false, &mut on_batch);
                if at == 1_000.0 && model.has_work() {
                    assert_eq!(model.containers.len(), before, "not folded yet");
                }
                calls += 1;
            }
        }
        assert_eq!(
            seen,
            [
                (3, MAX_EXITED, MAX_KEPT_CHARS, MAX_KEPT_CHARS, 1_000.0),
                (1, 0, MAX_KEPT_CHARS, 1, 2_000.0),
            ]
        );
        // What was handed over is what the rows are drawn from.
        assert_eq!(model.containers.len(), 1);
        assert!(model.exited.is_empty());
    }

    #[test]
    fn a_batch_is_handed_over_with_the_status_that_came_just_before_it() {
        // When the engine goes, the agent sends its status and then an empty batch, back to
        // back, and the page often takes both in one slice. The batch must be seen with the
        // new status, or the attention rules read "nothing could be read" as "every container
        // left" and clear every alert. Small batches (decoded whole) and big ones (staged).
        let status = |reachable: bool| {
            serde_json::json!({"type": "agent_status", "agent_id": "a", "sent_at": T0,
                "uptime_secs": 1, "version": "1", "features": [],
                "engine_reachable": reachable})
            .to_string()
        };
        let frames = [
            (batch_json(1, T0, &[("c1", "web", Some(1.0))]), 500.0),
            (status(true), 1_000.0),
            (batch_json(2, T0, &[("c1", "web", Some(1.0))]), 1_001.0),
            (status(false), 2_000.0),
            (batch_json(3, T0, &[]), 2_001.0),
            (status(true), 3_000.0),
            (big_batch(100), 3_001.0),
        ];
        let mut model = AgentModel::default();
        for (frame, at) in frames {
            model.receive(frame, at);
        }
        let mut seen = Vec::new();
        let mut on_batch = |b: &ContainerStatsBatch, at: f64, s: Option<&AgentStatus>| {
            seen.push((at, b.containers.len(), s.and_then(|s| s.engine_reachable)));
        };
        while model.has_work() {
            model.work_with(&mut || true, &mut on_batch);
        }
        assert_eq!(model.frame_error, None, "every frame is valid");
        assert_eq!(
            seen,
            [
                (500.0, 1, None),
                (1_001.0, 1, Some(true)),
                (2_001.0, 0, Some(false)),
                (3_001.0, 100, Some(true)),
            ]
        );
    }

    #[test]
    fn hostile_strings_are_cut() {
        let mut model = AgentModel::default();
        let long = "<script>".repeat(10_000);
        let frame = batch_of(
            T0,
            vec![serde_json::json!({"id": long, "name": long, "image": long})],
        );
        assert_eq!(model.ingest_frame(&frame, T0_MS), Ok(()));
        let c = model.containers.values().next().map(|c| &c.stats);
        assert!(c.is_some_and(|c| c.id.chars().count() == MAX_ID_CHARS
            && c.name.chars().count() == MAX_KEPT_CHARS
            && c.image
                .as_ref()
                .is_some_and(|i| i.chars().count() == MAX_KEPT_CHARS)));

        // Within the 64 KiB a status may have.
        let mid = "<script>".repeat(100);
        let status = serde_json::json!({
            "type": "agent_status", "agent_id": mid, "sent_at": T0, "uptime_secs": u64::MAX,
            "version": mid, "features": vec!["f"; 1_000],
            "engine_reachable": false, "engine_version": mid, "engine_error": mid
        });
        assert_eq!(model.ingest_frame(&status.to_string(), T0_MS), Ok(()));
        let s = model.status.as_ref();
        assert!(
            s.is_some_and(|s| s.agent_id.chars().count() == MAX_KEPT_CHARS
                && s.version.chars().count() == MAX_KEPT_CHARS
                && s.features.len() == MAX_FEATURES
                && s.engine_error
                    .as_ref()
                    .is_some_and(|e| e.chars().count() == MAX_REASON_CHARS))
        );

        // A decode error quoting a huge value is cut too.
        let bad = format!(
            r#"{{"type":"container_stats_batch","agent_id":"a","sent_at":"{T0}","containers":[{{"id":"a","name":"b","cpu_pct":"{long}"}}]}}"#
        );
        let reason = model.ingest_frame(&bad, 0.0).err().unwrap_or_default();
        assert!(
            reason.starts_with("malformed agent message: container 0:"),
            "{reason}"
        );
        assert!(reason.chars().count() <= MAX_REASON_CHARS);
    }

    #[test]
    fn absurd_figures_do_not_poison_totals_or_times() {
        let mut model = AgentModel::default();
        let containers = vec![
            serde_json::json!({"id": "a", "name": "a", "cpu_pct": 1e308, "mem_bytes": u64::MAX}),
            serde_json::json!({"id": "b", "name": "b", "cpu_pct": -5.0, "mem_bytes": u64::MAX}),
            serde_json::json!({"id": "c", "name": "c", "cpu_pct": 2.5, "uptime_secs": u64::MAX}),
        ];
        for (i, sent_at) in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
            .iter()
            .enumerate()
        {
            let local = T0_MS + 1_000.0 * i as f64;
            assert_eq!(
                model.ingest_frame(&batch_of(sent_at, containers.clone()), local),
                Ok(())
            );
            let t = model.last_batch_local_ms.unwrap_or(f64::NAN);
            assert!(
                (local - crate::clock::MAX_DELAY_MS..=local).contains(&t),
                "{sent_at}: {t}"
            );
            let total = model.totals.last().cloned();
            assert_eq!(
                total.map(|t| (t.cpu_pct, t.mem_bytes)),
                Some((2.5, u64::MAX))
            );
        }
        assert!(model.clock.note().is_some());
    }

    #[test]
    fn history_is_kept_for_every_container_only_on_small_hosts() {
        let mut small = AgentModel::default();
        small
            .ingest_frame(&big_batch(FULL_HISTORY_UP_TO), T0_MS)
            .ok();
        assert!(small.containers.values().all(|c| c.history.len() == 1));

        let mut big = AgentModel::default();
        let frame = big_batch(FULL_HISTORY_UP_TO + 1);
        big.ingest_frame(&frame, T0_MS).ok();
        assert!(big.containers.values().all(|c| c.history.allocated() == 0));
        let watched = [format!("{:064x}", 3), format!("{:064x}", 7)];
        big.set_watched(&watched);
        big.ingest_frame(&frame, T0_MS + 1_000.0).ok();
        big.ingest_frame(&frame, T0_MS + 2_000.0).ok();
        let with_history: Vec<&String> = big
            .containers
            .iter()
            .filter(|(_, c)| !c.history.is_empty())
            .map(|(id, _)| id)
            .collect();
        assert_eq!(with_history.len(), 2);
        assert!(watched
            .iter()
            .all(|id| big.containers[id].history.len() == 2));
        // Unwatched again: the memory goes back.
        big.set_watched(&[]);
        big.ingest_frame(&frame, T0_MS + 3_000.0).ok();
        assert!(big.containers.values().all(|c| c.history.allocated() == 0));
    }

    #[test]
    fn a_crowded_page_keeps_history_only_for_watched_containers() {
        // A small agent (10 containers) on a page that holds more than PAGE_HISTORY_UP_TO.
        let frame = big_batch(10);
        let watched = [format!("{:064x}", 4)];
        let cases = [(false, 10), (true, 1)];
        for (crowded, with_history) in cases {
            let mut model = AgentModel::default();
            model.set_watched(&watched);
            model.set_page_crowded(crowded);
            model.ingest_frame(&frame, T0_MS).ok();
            model.ingest_frame(&frame, T0_MS + 1_000.0).ok();
            let kept = model.containers.values().filter(|c| !c.history.is_empty());
            assert_eq!(kept.count(), with_history, "crowded: {crowded}");
            assert_eq!(
                model.containers.len(),
                10,
                "every container is still listed"
            );
        }
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
    fn host_exited_and_health_answers_are_kept_within_bounds() {
        let mut model = AgentModel::default();
        let long = "p".repeat(1_000);
        let mut exited: Vec<serde_json::Value> = (0..MAX_EXITED + 5)
            .map(|i| {
                serde_json::json!({"id": format!("e{i:04}"), "name": format!("old-{i:04}"),
                    "state": "exited", "exit_code": 137, "oom_killed": true,
                    "compose_project": long})
            })
            .collect();
        // One "exited" entry is also running (restarted meanwhile): it shows as running only.
        exited.insert(
            0,
            serde_json::json!({"id": "a", "name": "web", "state": "exited"}),
        );
        let batch = serde_json::json!({
            "type": "container_stats_batch", "agent_id": "h", "sent_at": T0,
            "containers": [container_json("a", "web", Some(1.0))],
            "host": {"cores": 4, "load_1": 0.5, "future_field": 1},
            "exited": exited,
        });
        assert_eq!(model.ingest_frame(&batch.to_string(), 0.0), Ok(()));
        assert_eq!(model.host.as_ref().and_then(|h| h.cores), Some(4));
        assert_eq!(model.exited.len(), MAX_EXITED - 1);
        assert!(model.exited.iter().all(|c| c.stats.id != "a"));
        assert_eq!(model.exited[0].stats.name, "old-0000");
        let project = model.exited[0]
            .stats
            .compose_project
            .clone()
            .unwrap_or_default();
        assert_eq!(project.chars().count(), MAX_KEPT_CHARS);
        assert_eq!(
            model.row_source("a").map(|(_, stopped)| stopped),
            Some(false)
        );
        assert_eq!(
            model.row_source("e0003").map(|(_, stopped)| stopped),
            Some(true)
        );
        assert!(model.row_source("nope").is_none());
        assert_eq!(model.exited_ids("OLD-000").len(), 10);
        assert!(model.take_changes().membership);

        // An older agent: no host, no exited.
        let old = batch_json(2, T0, &[("a", "web", Some(1.0))]);
        assert_eq!(model.ingest_frame(&old, 1.0), Ok(()));
        assert!(model.host.is_none() && model.exited.is_empty());

        let probes: Vec<serde_json::Value> = (0..MAX_PROBES + 3)
            .map(|i| serde_json::json!({"start": T0, "exit_code": i, "output": "x".repeat(9_000)}))
            .collect();
        let health = serde_json::json!({"type": "container_health", "agent_id": "h",
            "sent_at": T0, "id": "a", "health": "unhealthy", "failing_streak": 3, "log": probes});
        assert_eq!(model.ingest_frame(&health.to_string(), 2.0), Ok(()));
        let answer = model.health_answer.clone().expect("kept");
        assert_eq!(answer.log.len(), MAX_PROBES);
        assert_eq!(answer.log[0].exit_code, 3, "the newest probes are kept");
        assert_eq!(answer.log[0].output.chars().count(), MAX_PROBE_CHARS);
        assert!(model.take_changes().health);
        let broken = r#"{"type":"container_health","agent_id":"h","sent_at":"x","id":"a"}"#;
        assert!(model.ingest_frame(broken, 3.0).is_err());
    }

    #[test]
    fn filter_sort_and_limit_visible_ids() {
        let mut model = AgentModel::default();
        let frame = batch_json(
            1,
            T0,
            &[
                ("1", "web-1", Some(3.0)),
                ("2", "WEB-2", Some(7.0)),
                ("3", "db", Some(9.0)),
                ("4", "web-4", None),
            ],
        );
        model.ingest_frame(&frame, 0.0).ok();
        let by_name = SortSpec {
            key: SortKey::of("name").unwrap(),
            direction: Direction::Asc,
        };
        // (spec, filter, limit, ids, matching)
        type Case<'a> = (SortSpec, &'a str, Option<usize>, &'a [&'a str], usize);
        let cases: &[Case] = &[
            (SortSpec::default(), "web", None, &["2", "1", "4"], 3),
            (SortSpec::default(), "web", Some(2), &["2", "1"], 3),
            (SortSpec::default(), "", Some(1), &["3"], 4),
            (SortSpec::default(), "", Some(0), &[], 4),
            (SortSpec::default(), "", Some(10), &["3", "2", "1", "4"], 4),
            (by_name, " ", None, &["3", "1", "2", "4"], 4),
            (by_name, "", Some(3), &["3", "1", "2"], 4),
            (by_name, "nope", Some(3), &[], 0),
        ];
        for (spec, filter, limit, ids, matching) in cases {
            let (got, count) = model.visible_ids(*spec, filter, *limit);
            assert_eq!(got, *ids, "{filter:?} {limit:?}");
            assert_eq!(count, *matching, "{filter:?} {limit:?}");
        }
    }
}
