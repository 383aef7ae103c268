//! The per-animation-frame flush: from each agent's model into signals and charts, within a
//! frame budget.
//!
//! Frames are folded into the models the moment they arrive (`app.rs`); this module
//! runs at most once per animation frame and pushes only what changed: the card's re-order
//! (rendered rows are reused, so a re-order redraws what they show and moves no element), then
//! a bounded number of row updates, and, in a frame of its own, a chart redraw or the event
//! feeds (a card's newest lines and a page of the merged feed, keyed: only new lines become
//! elements; drawn when events arrive or the feed's choices change). Everything here
//! is browser-only state kept in a thread-local [`Runtime`], which owns every chart of the page
//! ([`ChartSlot`]s: drawn here, resized by [`Runtime::resize_charts`], disposed when their agent
//! is removed or by [`Runtime::reset_charts`]).
//!
//! Frames are decoded apart from the flush, in ingest slices ([`schedule_ingest`]): short
//! tasks posted through a `MessageChannel` (not throttled like timers in a background tab,
//! and not tied to animation frames), each decoding for at most [`INGEST_SLICE_MS`] before
//! yielding, so one agent's 10,000-container batch never holds the main thread for long.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Not;

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::attention::{self, Attention, CardMarks};
use crate::browser::{self, now_ms};
use crate::chart::{self, ChartSlot};
use crate::conn::Wake;
use crate::conn_state::ConnState;
use crate::detail::{self, DetailView};
use crate::events::{self, FeedSource, CARD_FEED_LINES};
use crate::fleet::{self, FleetRow, FLEET_ROWS};
use crate::ingest::{AgentModel, Verdict, PAGE_HISTORY_UP_TO};
use crate::present::{self, Points};
use crate::roster::Keys;
use crate::rows::{self, Row, RowContext};
use crate::state::{
    AgentView, AttentionSignals, ChartId, EventSignals, FleetSignals, HealthLog, RowHandle,
    Selection, StatusView,
};
use crate::store::{Theme, ViewPrefs};
use crate::text;
use crate::viewport;

pub(crate) struct AgentRuntime {
    pub(crate) model: AgentModel,
    pub(crate) view: AgentView,
    /// Dropping it stops the connection task.
    pub(crate) wake: UnboundedSender<Wake>,
    /// Rows whose figures changed but whose signal has not been set yet (frame budget).
    pub(crate) pending_rows: BTreeSet<String>,
    /// Every row to list, in order: the 25 busiest, or with "show all" every matching one.
    pub(crate) order: Vec<String>,
    /// The rendered rows, in page order (`view.rows` holds the same): all of `order`, or with
    /// "show all" the part near the viewport.
    pub(crate) slots: Vec<Slot>,
    /// Next key for a new slot.
    pub(crate) next_slot_key: u32,
    /// Container id → index in `slots`, for the rows rendered now. A changed container without
    /// a slot costs nothing until a slot shows it (then it is drawn from the model).
    pub(crate) slot_of: HashMap<String, usize>,
    pub(crate) totals_chart: ChartSlot,
    /// The row order must be recomputed (figures, membership, sort or filter changed).
    pub(crate) order_dirty: bool,
    /// ... and at once, not at the next [`SHOW_ALL_ORDER_MS`] tick: membership, sort, filter or
    /// "show all" changed (see [`AgentRuntime::force_order`]).
    pub(crate) order_forced: bool,
    /// Browser time the rows were last re-ordered.
    pub(crate) last_order_ms: f64,
    /// The rendered rows may no longer be the right part of `order`: it was re-ordered, or the
    /// page scrolled or resized (with "show all", other rows are then near the viewport).
    pub(crate) window_stale: bool,
    /// The totals chart must be drawn (new batch, theme changed, first draw failed).
    pub(crate) redraw: bool,
    /// Browser time of the last totals-chart draw.
    pub(crate) last_chart_ms: f64,
    /// Drawn in this frame: the next frame is left to ECharts' repaint.
    pub(crate) chart_drawn: bool,
    /// With rows grouped by compose project: each group's header, by its row id.
    pub(crate) groups: HashMap<String, rows::Group>,
    /// Row ids of the groups the user folded on this card.
    pub(crate) collapsed: HashSet<String>,
    /// New events not in the feeds yet.
    pub(crate) events_dirty: bool,
    /// A history chunk was folded since the chart was last drawn: it is drawn in the next
    /// frame that has the budget, whenever it was drawn last.
    pub(crate) history_arrived: bool,
    /// The attention marks of its containers, as last drawn (`attention.rs`).
    pub(crate) alerts: CardMarks,
}

/// One rendered row: which position of the order it shows, and that container's figures.
/// `position` and `id` are what the flush decided; the signals `at` and `data` catch up when
/// the frame's deferred writes run.
pub(crate) struct Slot {
    key: u32,
    position: usize,
    id: String,
    data: ArcRwSignal<Row>,
    at: ArcRwSignal<usize>,
}

impl Slot {
    fn handle(&self) -> RowHandle {
        RowHandle {
            key: self.key,
            data: self.data.clone(),
            position: self.at.clone(),
        }
    }
}

impl AgentRuntime {
    /// A card's runtime before its first frame.
    fn new(view: AgentView, wake: UnboundedSender<Wake>) -> Self {
        Self {
            model: AgentModel::default(),
            wake,
            pending_rows: BTreeSet::new(),
            order: Vec::new(),
            slots: Vec::new(),
            next_slot_key: 0,
            slot_of: HashMap::new(),
            totals_chart: ChartSlot::new(view.chart()),
            order_dirty: false,
            order_forced: false,
            last_order_ms: 0.0,
            window_stale: false,
            redraw: false,
            last_chart_ms: 0.0,
            chart_drawn: false,
            groups: HashMap::new(),
            collapsed: HashSet::new(),
            events_dirty: false,
            history_arrived: false,
            alerts: CardMarks::new(),
            view,
        }
    }
}

/// The detail charts and the selection they show.
pub(crate) struct Detail {
    chart: ChartSlot,
    io_chart: ChartSlot,
    shows: Option<Selection>,
}

impl Default for Detail {
    fn default() -> Self {
        Self {
            chart: ChartSlot::new(ChartId::Detail),
            io_chart: ChartSlot::new(ChartId::DetailIo),
            shows: None,
        }
    }
}

impl Detail {
    fn reset(&mut self) {
        self.chart.reset();
        self.io_chart.reset();
        self.shows = None;
    }
}

#[derive(Default)]
pub(crate) struct Runtime {
    pub(crate) agents: HashMap<u32, AgentRuntime>,
    keys: Keys,
    pub(crate) frame_scheduled: bool,
    /// An ingest slice is posted and has not run yet.
    pub(crate) ingest_scheduled: bool,
    /// Key of the agent whose frames the last ingest slice started with (round-robin).
    pub(crate) last_ingest_first: u32,
    /// Filter changed: every agent's order must be recomputed.
    pub(crate) resort_all: bool,
    /// Key of the agent flushed first in the last frame (round-robin).
    pub(crate) last_first: u32,
    /// Skip the next frame: ECharts repaints the chart updated in this one (`lazyUpdate`).
    pub(crate) quiet_frame: bool,
    /// The detail chart and what it shows.
    detail: Detail,
    pub(crate) detail_dirty: bool,
    /// Mirror of [`crate::state::Dashboard::selected`], readable outside a reactive owner.
    pub(crate) selection: Option<Selection>,
    pub(crate) theme: Theme,
    pub(crate) debug: bool,
    /// `?perf=true`: time each flush with User Timing.
    pub(crate) perf: bool,
    pub(crate) filter: String,
    /// Mirror of [`crate::state::Dashboard::view`].
    pub(crate) view: ViewPrefs,
    /// The view changed: every rendered row and chart is drawn anew in its terms.
    pub(crate) redraw_rows: bool,
    /// [`crate::state::Dashboard::detail`], written by the detail flush.
    pub(crate) detail_signal: Option<RwSignal<Option<DetailView>>>,
    /// [`crate::state::Dashboard::health_log`], written when an answer arrives.
    pub(crate) health_signal: Option<RwSignal<HealthLog>>,
    /// The fleet view, while it is shown.
    pub(crate) fleet: FleetRuntime,
    /// A connection's state, the fleet sort or the filter changed: the fleet view is drawn
    /// anew at the next frame rather than within the second.
    pub(crate) fleet_forced: bool,
    /// [`crate::state::Dashboard::events`].
    pub(crate) events: Option<EventSignals>,
    /// The merged feed's kind, filter or length changed (or a card was removed): drawn anew.
    pub(crate) events_forced: bool,
    /// The alert rules and every agent's alerts.
    pub(crate) attention: Attention,
    /// [`crate::state::Dashboard::attention`].
    pub(crate) attention_signals: Option<AttentionSignals>,
    /// Browser time the attention list was last drawn.
    attention_ms: f64,
}

/// What the fleet view has drawn and what it still has to.
#[derive(Default)]
pub(crate) struct FleetRuntime {
    /// [`crate::state::Dashboard::fleet`].
    pub(crate) signals: Option<FleetSignals>,
    /// What each row slot shows now, to write only the slots that change.
    shown: Vec<Option<FleetRow>>,
    /// Slots with new content not drawn yet (a frame's budget at a time), and that content.
    pending: Vec<(usize, Option<FleetRow>)>,
    /// Browser time of the last recompute.
    last_ms: f64,
    /// Every host's CPU on one time axis; created at its first draw.
    chart: Option<ChartSlot>,
    /// Browser time of the last chart draw ([`CHART_INTERVAL_MS`] apart, like a card's).
    chart_ms: f64,
    /// Whether the cards were last seen out of the page (under the fleet view), so a view
    /// change that brings them back or takes them out resets their charts.
    cards_left: bool,
}

/// The fleet view is recomputed at most this often: batches arrive once a second per agent,
/// at different moments, and a table that moved on every one of them could not be read.
const FLEET_INTERVAL_MS: f64 = 1_000.0;

impl Runtime {
    /// Gives a new card its key and runtime; returns its signals.
    pub(crate) fn add_agent(
        &mut self,
        url: String,
        token: Option<String>,
        wake: UnboundedSender<Wake>,
    ) -> AgentView {
        let key = self.keys.take();
        let view = AgentView::new(key, url, token);
        self.agents
            .insert(key, AgentRuntime::new(view.clone(), wake));
        view
    }

    /// Drops a card's runtime: its charts are disposed, and dropping its wake sender ends the
    /// connection task, which drops the socket.
    pub(crate) fn remove_agent(&mut self, key: u32) {
        self.agents.remove(&key);
        self.attention.forget_card(key);
        self.events_forced = true;
        if self.detail.shows.as_ref().is_some_and(|s| s.is_on(key)) {
            self.detail.reset();
        }
    }

    /// Disposes every chart and draws them anew in the next frames (the theme changed).
    pub(crate) fn reset_charts(&mut self) {
        for agent in self.agents.values_mut() {
            agent.totals_chart.reset();
            agent.redraw = true;
        }
        self.fleet.chart = None;
        self.detail.reset();
        self.detail_dirty = true;
    }

    /// Every card's runtime, in the order the cards were added (their keys).
    fn agents_in_order(&self) -> Vec<&AgentRuntime> {
        let mut agents: Vec<&AgentRuntime> = self.agents.values().collect();
        agents.sort_unstable_by_key(|a| a.view.key);
        agents
    }

    /// Charts follow the window's size (ECharts does not watch its element).
    pub(crate) fn resize_charts(&self) {
        for agent in self.agents.values() {
            agent.totals_chart.resize();
        }
        self.detail.chart.resize();
        self.detail.io_chart.resize();
        if let Some(chart) = &self.fleet.chart {
            chart.resize();
        }
    }
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new(Runtime::default());
    static INGEST_PORT: RefCell<Option<IngestPort>> = const { RefCell::new(None) };
}

/// Longest one ingest slice decodes before yielding the main thread, in ms.
pub const INGEST_SLICE_MS: f64 = 8.0;

/// The `MessageChannel` ingest slices are posted through.
struct IngestPort {
    port: web_sys::MessagePort,
    _channel: web_sys::MessageChannel,
    _on_message: Closure<dyn FnMut(JsValue)>,
}

/// Asks for an ingest slice soon (frames are waiting in some model).
pub(crate) fn schedule_ingest() {
    let first = with_runtime(|rt| !std::mem::replace(&mut rt.ingest_scheduled, true));
    if !first {
        return;
    }
    let posted = INGEST_PORT.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = ingest_port();
        }
        slot.as_ref()
            .map(|p| p.port.post_message(&JsValue::NULL).is_ok())
    });
    if posted != Some(true) {
        // No MessageChannel (should not happen): a timer does the same, throttled when hidden.
        leptos::prelude::set_timeout(run_ingest, std::time::Duration::ZERO);
    }
}

fn ingest_port() -> Option<IngestPort> {
    let channel = web_sys::MessageChannel::new().ok()?;
    let on_message = Closure::<dyn FnMut(JsValue)>::new(|_| run_ingest());
    channel
        .port1()
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(IngestPort {
        port: channel.port2(),
        _channel: channel,
        _on_message: on_message,
    })
}

/// One ingest slice: decodes waiting frames, agent after agent (starting after the one that
/// started last time), until [`INGEST_SLICE_MS`] are used; sends each finished frame's verdict
/// to its connection; asks for a flush when a model changed and for another slice while work
/// is left.
fn run_ingest() {
    let start = browser::perf_now();
    let perf = with_runtime(|rt| rt.perf);
    if perf {
        browser::perf_mark("dockscope-ingest-start");
    }
    let mut verdicts: Vec<(UnboundedSender<Wake>, Verdict)> = Vec::new();
    let (changed, more) = with_runtime(|rt| {
        rt.ingest_scheduled = false;
        let mut keys: Vec<u32> = rt
            .agents
            .iter()
            .filter(|(_, a)| a.model.has_work())
            .map(|(k, _)| *k)
            .collect();
        keys.sort_unstable();
        let first = keys
            .iter()
            .position(|k| *k > rt.last_ingest_first)
            .unwrap_or(0);
        keys.rotate_left(first);
        if let Some(first) = keys.first() {
            rt.last_ingest_first = *first;
        }
        let mut time_left = || browser::perf_now() - start < INGEST_SLICE_MS;
        let mut changed = false;
        for key in keys {
            let Some(agent) = rt.agents.get_mut(&key) else {
                continue;
            };
            // Every batch passes the attention rules on its way into the model.
            let attention = &mut rt.attention;
            let mut on_batch =
                |batch: &dockscope_protocol::ContainerStatsBatch,
                 at: f64,
                 status: Option<&dockscope_protocol::AgentStatus>| {
                    if perf {
                        browser::perf_mark("dockscope-rules-start");
                    }
                    let engine_down = status.is_some_and(|s| s.engine_reachable == Some(false));
                    attention.observe(key, batch, at, engine_down);
                    if perf {
                        browser::perf_measure("dockscope-rules", "dockscope-rules-start");
                    }
                };
            for verdict in agent.model.work_with(&mut time_left, &mut on_batch) {
                verdicts.push((agent.wake.clone(), verdict));
            }
            changed |= agent.model.has_changes();
            if !time_left() {
                break;
            }
        }
        let more = rt.agents.values().any(|a| a.model.has_work());
        (changed, more)
    });
    for (wake, verdict) in verdicts {
        let _ = wake.unbounded_send(Wake::Verdict(verdict));
    }
    if perf {
        browser::perf_measure("dockscope-ingest", "dockscope-ingest-start");
    }
    if changed {
        schedule_frame();
    }
    if more {
        schedule_ingest();
    }
}

pub(crate) fn with_runtime<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RUNTIME.with_borrow_mut(f)
}

/// Asks for one [`flush`] on the next animation frame (many frames in between fold into one).
pub(crate) fn schedule_frame() {
    let first = with_runtime(|rt| !std::mem::replace(&mut rt.frame_scheduled, true));
    if first {
        request_animation_frame(flush);
    }
}

type Deferred = Vec<Box<dyn FnOnce()>>;

/// How much DOM work one animation frame may cause, in rows drawn (a row's new figures, or a
/// row coming to show another container); a chart redraw gets a frame of its own. A quarter
/// of a card's [`ROWS_SHOWN`] rows: drawing a row dirties nearly all of its some 30 layout
/// objects, and a whole card in one frame took 12–25 ms of layout alone, which with paint made
/// tasks over 50 ms at 3 × 100; with 9 rows a frame an occasional one was left, with 7 none in
/// seven runs (docs/benchmarks.md). A card's figures and order then change over four frames
/// (about 65 ms), several cards' batches or "show all" over the following ones:
/// invisible at a 1 Hz refresh. Meanwhile the table says it is busy (`AgentView::drawing`).
const FRAME_BUDGET: usize = ROWS_SHOWN.div_ceil(4);
/// The totals chart is redrawn at most this often: ECharts repaints its whole canvas, and a
/// 5-minute trend gains nothing from 1 Hz redraws.
const CHART_INTERVAL_MS: f64 = 1_900.0;

/// Rows a card shows until "show all" is clicked: the busiest containers at a glance, and a
/// page that stays light with many agents of 100+ containers.
pub const ROWS_SHOWN: usize = 25;
/// Stopped containers listed below those rows until "show all" is clicked.
pub const EXITED_SHOWN: usize = 10;
/// With "show all", rows move into their new order at most this often while only the figures
/// change (a new or vanished container, a sort click or a filter re-orders at once): a long
/// list whose rows jump every second cannot be read, and each re-order redraws most of the
/// rendered rows.
pub const SHOW_ALL_ORDER_MS: f64 = 5_000.0;

/// Pushes model changes into signals and charts, at most [`FRAME_BUDGET`] per frame; asks for
/// another frame while work is left. Signal writes are collected and run after the runtime
/// borrow ends, so nothing they trigger can re-enter the runtime.
fn flush() {
    let perf = with_runtime(|rt| rt.perf);
    if perf {
        browser::perf_mark("dockscope-flush-start");
    }
    let mut deferred: Deferred = Vec::new();
    let more = with_runtime(|rt| {
        rt.frame_scheduled = false;
        if std::mem::take(&mut rt.quiet_frame) {
            // ECharts repaints a chart updated last frame in this one: leave it the frame.
            return true;
        }
        // First, so rows whose mark changed are drawn in this frame.
        flush_attention(rt, &mut deferred);
        let resort_all = std::mem::take(&mut rt.resort_all);
        let redraw_rows = std::mem::take(&mut rt.redraw_rows);
        if redraw_rows {
            rt.detail_dirty = true;
        }
        let ctx = FlushContext {
            now: now_ms(),
            perf: rt.perf,
            filter: rt.filter.clone(),
            theme: rt.theme,
            debug: rt.debug,
            view: rt.view,
        };
        let selected_agent = rt.selection.as_ref().map(|s| s.agent_key);
        let selected_container = rt.selection.as_ref().map(|s| s.container_id.clone());
        // Under the fleet view the cards are hidden: their rows and charts wait (the view
        // changing back draws them anew), and the fleet table has the frame.
        let mut budget = if ctx.view.fleet { 0 } else { FRAME_BUDGET };
        let on_page: usize = rt.agents.values().map(|a| a.model.containers.len()).sum();
        let crowded = on_page > PAGE_HISTORY_UP_TO;
        let mut more = false;
        // Fairness: start after the agent that went first last time.
        let mut keys: Vec<u32> = rt.agents.keys().copied().collect();
        keys.sort_unstable();
        let start = keys.iter().position(|k| *k > rt.last_first).unwrap_or(0);
        keys.rotate_left(start);
        if let Some(first) = keys.first() {
            rt.last_first = *first;
        }
        for key in keys {
            let Some(agent) = rt.agents.get_mut(&key) else {
                continue;
            };
            if resort_all || redraw_rows {
                agent.force_order();
            }
            if redraw_rows {
                let ids: Vec<String> = agent.slots.iter().map(|s| s.id.clone()).collect();
                agent.pending_rows.extend(ids);
                agent.redraw = true;
            }
            let batch = flush_agent(agent, &mut budget, &ctx, &mut deferred);
            // Rows on screen and the selected container keep history on big hosts.
            let selected = selected_container
                .as_ref()
                .filter(|_| selected_agent == Some(key));
            let slots = agent.slots.iter().map(|s| &s.id);
            agent.model.set_watched(slots.chain(selected));
            agent.model.set_page_crowded(crowded);
            if agent.chart_drawn {
                agent.chart_drawn = false;
                rt.quiet_frame = true;
            }
            if batch && selected_agent == Some(key) {
                rt.detail_dirty = true;
            }
            if selected_agent == Some(key) {
                let answer = agent.model.health_answer.take();
                let wanted = answer
                    .filter(|a| Some(&a.id) == selected_container.as_ref())
                    .map(|a| detail::health_log_view(&a));
                if let (Some(view), Some(signal)) = (wanted, rt.health_signal) {
                    deferred.push(Box::new(move || signal.set(HealthLog::Answered(view))));
                }
            }
            more |= if ctx.view.fleet {
                agent.model.has_changes()
            } else {
                agent.has_work(ctx.now)
            };
        }
        // The event feeds get a frame of their own, like a chart: up to a page of lines.
        let events_due = rt.events_forced || rt.agents.values().any(|a| a.events_dirty);
        if events_due {
            if budget == FRAME_BUDGET || (ctx.view.fleet && budget == 0) {
                flush_events(rt, &mut deferred);
                budget = 0;
                // The fleet view waits a frame too.
                more |= ctx.view.fleet;
            } else {
                more = true;
            }
        }
        if resort_all || redraw_rows {
            rt.fleet_forced = true;
        }
        if redraw_rows {
            // The view changed: the fleet view's element may be new (it leaves the page
            // while the cards show).
            rt.fleet.chart = None;
            if rt.fleet.cards_left != ctx.view.fleet {
                // The cards left the page for the fleet view, or came back as new elements:
                // their charts start again in them.
                rt.fleet.cards_left = ctx.view.fleet;
                for agent in rt.agents.values_mut() {
                    agent.totals_chart.reset();
                }
                rt.detail.chart.reset();
                rt.detail.io_chart.reset();
            }
        }
        if ctx.view.fleet && !events_due {
            budget = FRAME_BUDGET;
            more |= flush_fleet(rt, &ctx, &mut budget, &mut deferred);
        }
        if budget > 0 {
            flush_detail(rt, ctx.theme, ctx.view, &mut deferred);
        } else {
            more |= rt.detail_dirty;
        }
        more
    });
    for write in deferred {
        write();
    }
    if perf {
        browser::perf_measure("dockscope-flush", "dockscope-flush-start");
    }
    if more {
        schedule_frame();
    }
}

/// The attention list is drawn anew at most this often while alerts hold and none fired or
/// cleared (their figures, "memory 94 %", move with every batch); a further second for every
/// thousand alerts, so a host where thousands hold costs a bounded share of the frames.
const ATTENTION_INTERVAL_MS: f64 = 1_000.0;

/// The attention list, the title's count, the marks of cards and rows, and a notification per
/// firing: in the frame after a rule fired or cleared, else once a second while alerts hold.
fn flush_attention(rt: &mut Runtime, deferred: &mut Deferred) {
    let Some(signals) = rt.attention_signals else {
        return;
    };
    let now = now_ms();
    let dirty = rt.attention.take_dirty();
    let count = rt.attention.count();
    let interval = ATTENTION_INTERVAL_MS * (1 + count / 1_000) as f64;
    if !dirty && (count == 0 || now - rt.attention_ms < interval) {
        return;
    }
    rt.attention_ms = now;
    let lines = rt.attention.lines(attention::LIST_LINES);
    if signals.lines.with_untracked(|l| *l != lines) {
        deferred.push(Box::new(move || signals.lines.set(lines)));
    }
    if signals.count.get_untracked() != count {
        deferred.push(Box::new(move || signals.count.set(count)));
    }
    let mut marks = rt.attention.marks();
    for (key, agent) in &mut rt.agents {
        let new = marks.remove(key).unwrap_or_default();
        if new == agent.alerts {
            continue;
        }
        let changed: Vec<String> = agent
            .alerts
            .keys()
            .chain(new.keys())
            .filter(|id| agent.alerts.get(*id) != new.get(*id))
            .cloned()
            .collect();
        agent.pending_rows.extend(changed);
        let tip = attention::card_tip(&new).map(|tip| (new.len(), tip));
        let signal = agent.view.attention.clone();
        if signal.with_untracked(|t| *t != tip) {
            deferred.push(Box::new(move || signal.set(tip)));
        }
        agent.alerts = new;
    }
    for notice in rt.attention.take_notices() {
        deferred.push(Box::new(move || {
            if let Err(e) = browser::notify(&notice.title, &notice.body, &notice.tag) {
                browser::log(&e);
            }
        }));
    }
}

/// Settings every agent's flush reads.
struct FlushContext {
    now: f64,
    perf: bool,
    filter: String,
    theme: Theme,
    debug: bool,
    view: ViewPrefs,
}

/// What row `id` of a card shows: a group's header, or a running or stopped container (with
/// its attention mark from `alerts`).
fn row_of(
    model: &AgentModel,
    groups: &HashMap<String, rows::Group>,
    alerts: &CardMarks,
    id: &str,
    view: ViewPrefs,
) -> Option<Row> {
    if rows::is_group_id(id) {
        let group = groups.get(id)?;
        return Some(rows::group_row(
            group.project.as_deref(),
            group.count,
            group.collapsed,
        ));
    }
    let (container, stopped) = model.row_source(id)?;
    // The browser's now on the agent's clock (for a stopped container's time of death).
    let now = now_ms() - model.clock.offset_ms().unwrap_or(0.0);
    let ctx = RowContext {
        scale: view.cpu_scale,
        host_cores: model.host.as_ref().and_then(|h| h.cores),
        host_memory: model.host.as_ref().and_then(|h| h.mem_total_bytes),
        now_agent_ms: now.is_finite().then_some(now as i64),
    };
    let mut row = rows::row(container, stopped, ctx);
    rows::mark_attention(&mut row, alerts.get(id).map(attention::Mark::tip));
    Some(row)
}

impl AgentRuntime {
    /// The card's title: the agent id once known, else its address (as the card shows it).
    fn title(&self) -> String {
        let id = self.model.status.as_ref().map(|s| s.agent_id.as_str());
        present::agent_title(id, &self.view.url).0
    }

    /// Re-order at the next frame, whatever the mode.
    pub(crate) fn force_order(&mut self) {
        self.order_dirty = true;
        self.order_forced = true;
    }

    /// Whether a later frame still has something to do for this agent.
    fn has_work(&self, now: f64) -> bool {
        self.model.has_changes()
            || !self.pending_rows.is_empty()
            || self.order_due(now)
            || self.window_stale
            || self.chart_due(now)
    }

    /// The order is stale and may change now: always in the top-rows view (which rows are shown
    /// depends on it), every [`SHOW_ALL_ORDER_MS`] with "show all" (an order that is not due
    /// yet waits for a later batch's frame).
    fn order_due(&self, now: f64) -> bool {
        self.order_dirty
            && (self.order_forced
                || !self.view.show_all.get_untracked()
                || now - self.last_order_ms >= SHOW_ALL_ORDER_MS)
    }

    /// A redraw is wanted and the chart was not drawn in the last [`CHART_INTERVAL_MS`] (a
    /// redraw that is not due yet waits for a later batch's frame).
    fn chart_due(&self, now: f64) -> bool {
        self.redraw
            && (!self.totals_chart.is_drawn()
                || self.history_arrived
                || now - self.last_chart_ms >= CHART_INTERVAL_MS)
    }
}

/// One agent's share of a frame: cheap card facts always, then rows, order and chart while the
/// budget lasts. Returns whether a batch arrived (the detail chart follows it).
fn flush_agent(
    agent: &mut AgentRuntime,
    budget: &mut usize,
    ctx: &FlushContext,
    deferred: &mut Deferred,
) -> bool {
    let changes = agent.model.take_changes();
    if changes.membership {
        let model = &agent.model;
        agent
            .pending_rows
            .retain(|id| rows::is_group_id(id) || model.row_source(id).is_some());
        agent.force_order();
    }
    if changes.figures {
        // Every container has new figures; only the rendered ones cost anything.
        let ids: Vec<String> = agent.slots.iter().map(|s| s.id.clone()).collect();
        agent.pending_rows.extend(ids);
        agent.order_dirty = true;
    }
    if changes.batch {
        agent.redraw = true;
        push_batch_facts(agent, deferred);
    }
    if changes.history {
        // Minutes of points at once: the chart (now, not at its next 2-second turn: a page
        // just opened shows them at once) and every sparkline on screen.
        agent.redraw = true;
        agent.history_arrived = true;
        let ids: Vec<String> = agent.slots.iter().map(|s| s.id.clone()).collect();
        agent.pending_rows.extend(ids);
    }
    if changes.events {
        // The feeds, and the chart's marks.
        agent.events_dirty = true;
        agent.redraw = true;
    }
    if changes.status {
        push_status(agent, deferred);
        // The feeds name the host by its id, known from its status.
        agent.events_dirty = true;
    }
    if changes.frames {
        push_frames(agent, ctx.debug, deferred);
    }

    // Order first: the model is current, and slots that come to show another container are
    // drawn from it, so their pending updates are done too.
    if agent.order_due(ctx.now) {
        agent.order_dirty = false;
        agent.order_forced = false;
        agent.last_order_ms = ctx.now;
        let sort = agent.view.sort.get_untracked();
        let grouped = ctx.view.grouped;
        // Grouped, every matching container is listed (a group is read whole).
        let limit = (!agent.view.show_all.get_untracked() && !grouped).then_some(ROWS_SHOWN);
        let (ids, matching) = agent.model.visible_ids(sort, &ctx.filter, limit);
        let counts = (ids.len(), matching);
        if agent.view.shown_counts.get_untracked() != counts {
            let signal = agent.view.shown_counts.clone();
            deferred.push(Box::new(move || signal.set(counts)));
        }
        let mut ids = if grouped {
            let model = &agent.model;
            let sorted = ids
                .iter()
                .filter_map(|id| model.containers.get(id))
                .map(|c| &c.stats);
            let collapsed = &agent.collapsed;
            let (ids, groups) = rows::grouped_order(sorted, |g| collapsed.contains(g));
            agent.groups = groups;
            ids
        } else {
            agent.groups.clear();
            ids
        };
        // Stopped containers follow the running ones (a few of them, until "show all").
        let mut exited = agent.model.exited_ids(&ctx.filter);
        if limit.is_some() {
            exited.truncate(EXITED_SHOWN);
        }
        ids.extend(exited);
        agent.order = ids;
        agent.window_stale = true;
    }
    if agent.window_stale {
        let range = rows_to_render(agent, ctx.view.grouped);
        agent.window_stale = !push_rows(agent, range, budget, deferred, ctx.view);
    }

    // Then the other rows' new figures, a budget's worth at a time.
    while *budget > 0 {
        let Some(id) = agent.pending_rows.pop_first() else {
            break;
        };
        // A container not on screen (beyond the first rows, filtered out, scrolled away) is
        // drawn from the model when a slot comes to show it.
        let (Some(&slot), Some(row)) = (
            agent.slot_of.get(&id),
            row_of(&agent.model, &agent.groups, &agent.alerts, &id, ctx.view),
        ) else {
            continue;
        };
        let signal = agent.slots[slot].data.clone();
        deferred.push(Box::new(move || signal.set(row)));
        *budget -= 1;
    }
    // A chart redraw gets a frame to itself.
    // Without ECharts yet, it is drawn when ECharts has loaded (`charts_loaded` asks again).
    if agent.chart_due(ctx.now) && *budget == FRAME_BUDGET && !chart::ready(charts_loaded) {
        agent.redraw = false;
    }
    if agent.chart_due(ctx.now) && *budget == FRAME_BUDGET {
        agent.redraw = false;
        agent.history_arrived = false;
        agent.last_chart_ms = ctx.now;
        if ctx.perf {
            browser::perf_mark("dockscope-chart-start");
        }
        draw_totals(agent, ctx.theme, ctx.view);
        agent.chart_drawn = true;
        if ctx.perf {
            browser::perf_measure("dockscope-chart", "dockscope-chart-start");
        }
        *budget = 0;
    }
    let drawing = agent.window_stale
        || agent
            .pending_rows
            .iter()
            .any(|id| agent.slot_of.contains_key(id));
    if agent.view.drawing.get_untracked() != drawing {
        let signal = agent.view.drawing.clone();
        deferred.push(Box::new(move || signal.set(drawing)));
    }
    changes.batch || changes.history || changes.events
}

/// The part of the card's order to render: all of it, or with "show all" the rows near the
/// viewport (see [`viewport`]).
fn rows_to_render(agent: &AgentRuntime, grouped: bool) -> std::ops::Range<usize> {
    let len = agent.order.len();
    if !agent.view.show_all.get_untracked() && !grouped {
        return 0..len;
    }
    match browser::element_top_and_viewport_height(&agent.view.rows_id()) {
        Some((top, height)) => viewport::rows_in_view(top, height, len),
        None => 0..len,
    }
}

/// Puts `order[range]` on screen; returns whether every rendered row is now current.
///
/// Rendered rows (slots) are reused, never moved in the page: each is placed at its position
/// by `top`, so a re-order changes what slots show, and a scroll gives the slots that
/// left the window the positions that entered it ([`viewport::reassign`]). Placing is cheap
/// and done at once; drawing a slot's new container costs a row of the frame `budget`, top
/// rows first, and the rest wait for the next frame (a row a frame late is not seen). A slot
/// that keeps its container is left alone: its updates arrive as pending rows.
fn push_rows(
    agent: &mut AgentRuntime,
    range: std::ops::Range<usize>,
    budget: &mut usize,
    deferred: &mut Deferred,
    view: ViewPrefs,
) -> bool {
    let positions: Vec<usize> = agent.slots.iter().map(|s| s.position).collect();
    let plan = viewport::reassign(&positions, range);
    let model = &agent.model;
    let mut resized = plan.added.is_empty().not();
    let mut slots = Vec::with_capacity(plan.moves.len() + plan.added.len());
    for (mut slot, to) in std::mem::take(&mut agent.slots).into_iter().zip(plan.moves) {
        let Some(position) = to else {
            resized = true;
            continue;
        };
        if slot.position != position {
            slot.position = position;
            let at = slot.at.clone();
            deferred.push(Box::new(move || at.set(position)));
        }
        slots.push(slot);
    }
    for position in plan.added {
        // Drawn below like any slot whose container changed.
        slots.push(Slot {
            key: agent.next_slot_key,
            position,
            id: String::new(),
            data: ArcRwSignal::new(Row::default()),
            at: ArcRwSignal::new(position),
        });
        agent.next_slot_key += 1;
    }
    let mut stale: Vec<usize> = (0..slots.len())
        .filter(|&i| slots[i].id != agent.order[slots[i].position])
        .collect();
    stale.sort_unstable_by_key(|&i| slots[i].position);
    let current = stale.len() <= *budget;
    for i in stale.into_iter().take(*budget) {
        let slot = &mut slots[i];
        let id = &agent.order[slot.position];
        slot.id.clone_from(id);
        agent.pending_rows.remove(id);
        if let Some(row) = row_of(model, &agent.groups, &agent.alerts, id, view) {
            let data = slot.data.clone();
            deferred.push(Box::new(move || data.set(row)));
        }
        *budget -= 1;
    }
    agent.slot_of = slots
        .iter()
        .enumerate()
        .map(|(index, slot)| (slot.id.clone(), index))
        .collect();
    agent.slots = slots;
    let handles: Option<Vec<RowHandle>> =
        resized.then(|| agent.slots.iter().map(Slot::handle).collect());
    let listed = agent.order.len();
    let (rows, listed_signal) = (agent.view.rows.clone(), agent.view.listed.clone());
    deferred.push(Box::new(move || {
        if let Some(handles) = handles {
            rows.set(handles);
        }
        if listed_signal.get_untracked() != listed {
            listed_signal.set(listed);
        }
    }));
    current
}

/// Container count (kept and not), last-update time, the agent's clock and its own cost.
fn push_batch_facts(agent: &AgentRuntime, deferred: &mut Deferred) {
    let (model, view) = (&agent.model, &agent.view);
    let count = model.containers.len();
    let not_kept = model.not_kept;
    let local = model.last_batch_local_ms;
    let clock_note = model.clock.note();
    let metrics = &model.agent_metrics;
    let cost = text::agent_cost(
        &crate::format::percent(metrics.cpu_pct),
        &metrics
            .mem_bytes
            .map(crate::format::bytes)
            .unwrap_or_else(|| "–".into()),
    );
    let (count_sig, local_sig, cost_sig) = (
        view.container_count.clone(),
        view.last_batch_local_ms.clone(),
        view.agent_cost.clone(),
    );
    let (not_kept_sig, clock_sig) = (view.not_kept.clone(), view.clock_note.clone());
    let host = model.host.as_ref().map(crate::host::host_facts);
    let host_sig = view.host.clone();
    deferred.push(Box::new(move || {
        if host_sig.with_untracked(|h| h != &host) {
            host_sig.set(host);
        }
        if count_sig.get_untracked() != Some(count) {
            count_sig.set(Some(count));
        }
        if not_kept_sig.get_untracked() != not_kept {
            not_kept_sig.set(not_kept);
        }
        if clock_sig.with_untracked(|c| c != &clock_note) {
            clock_sig.set(clock_note);
        }
        local_sig.set(local);
        if cost_sig.with_untracked(|c| c != &cost) {
            cost_sig.set(cost);
        }
    }));
}

fn push_status(agent: &AgentRuntime, deferred: &mut Deferred) {
    let model = &agent.model;
    if let (Some(status), Some(received_ms)) = (model.status.clone(), model.status_received_ms) {
        let signal = agent.view.status.clone();
        deferred.push(Box::new(move || {
            signal.set(Some(StatusView {
                status,
                received_ms,
            }))
        }));
    }
}

/// The card's malformed-frame line and, with `?debug=true`, the raw frames.
fn push_frames(agent: &AgentRuntime, debug: bool, deferred: &mut Deferred) {
    let (model, view) = (&agent.model, &agent.view);
    let error = model
        .frame_error
        .as_ref()
        .map(|(at, reason)| format!("{} — {reason}", clock_time(*at)));
    let signal = view.frame_error.clone();
    if signal.with_untracked(|e| e != &error) {
        deferred.push(Box::new(move || signal.set(error)));
    }
    if debug {
        let frames: Vec<String> = model
            .frames
            .iter()
            .rev()
            .map(|f| match &f.error {
                Some(e) => format!("{}  ✗ {e}\n{}", clock_time(f.received_ms), f.text),
                None => format!("{}  {}", clock_time(f.received_ms), f.text),
            })
            .collect();
        let counts = text::debug_counts(model.malformed_count, model.skipped_count);
        let (frames_sig, counts_sig) = (view.debug_frames.clone(), view.debug_counts.clone());
        deferred.push(Box::new(move || {
            frames_sig.set(frames);
            counts_sig.set(counts);
        }));
    }
}

/// CPU points divided by a chart's scale divisor ([`rows::chart_cpu_scale`]).
fn scale_points(mut points: Points, divisor: f64) -> Points {
    if divisor != 1.0 {
        for point in &mut points {
            if let Some(v) = point.get_mut(1) {
                *v = (*v / divisor * 10.0).round() / 10.0;
            }
        }
    }
    points
}

/// The browser time of a chart's first point, from which its event marks are drawn.
fn first_time(points: &Points) -> f64 {
    points
        .first()
        .and_then(|p| p.first().copied())
        .unwrap_or(f64::INFINITY)
}

fn draw_totals(agent: &mut AgentRuntime, theme: Theme, view: ViewPrefs) {
    let (cpu, mem) = present::totals_series(agent.model.totals.iter().cloned());
    let cores = agent.model.host.as_ref().and_then(|h| h.cores);
    let (divisor, label) = rows::chart_cpu_scale(view.cpu_scale, cores, None);
    let marks = events::chart_marks(&agent.model.events, first_time(&cpu), None);
    let chart = chart::cpu_mem_chart(
        scale_points(cpu, divisor),
        mem,
        theme,
        &label,
        agent.totals_chart.width(),
        &marks,
    );
    if agent.totals_chart.draw(&chart).is_err() {
        // The card is not in the DOM yet: draw on the next change.
        agent.redraw = true;
    }
}

/// Recomputes the fleet view when it is due (once a second, or at once after a change of
/// connection state, sort, filter or view) and draws a budget's worth of its changed rows;
/// returns whether rows are left for the next frame.
fn flush_fleet(
    rt: &mut Runtime,
    ctx: &FlushContext,
    budget: &mut usize,
    deferred: &mut Deferred,
) -> bool {
    let Some(signals) = rt.fleet.signals else {
        return false;
    };
    let due = rt.fleet_forced || ctx.now - rt.fleet.last_ms >= FLEET_INTERVAL_MS;
    if due {
        rt.fleet_forced = false;
        rt.fleet.last_ms = ctx.now;
        let agents = rt.agents_in_order();
        let named: Vec<(String, ConnState)> = agents
            .iter()
            .map(|a| (a.title(), a.view.conn.get_untracked()))
            .collect();
        let hosts: Vec<fleet::HostInput<'_>> = agents
            .iter()
            .zip(&named)
            .map(|(agent, (title, conn))| fleet::HostInput {
                key: agent.view.key,
                title,
                model: &agent.model,
                live: conn.is_live(),
                state: conn.label(),
                marks: &agent.alerts,
            })
            .collect();
        let tiles: Vec<_> = hosts.iter().map(fleet::tile).collect();
        let spec = signals.sort.get_untracked();
        let (rows, matching) = fleet::table(&hosts, spec, &ctx.filter, ctx.view);
        if signals.tiles.with_untracked(|t| *t != tiles) {
            deferred.push(Box::new(move || signals.tiles.set(tiles)));
        }
        let counts = (rows.len(), matching);
        if signals.counts.get_untracked() != counts {
            deferred.push(Box::new(move || signals.counts.set(counts)));
        }
        let state = &mut rt.fleet;
        state.shown.resize(FLEET_ROWS, None);
        let mut rows = rows.into_iter();
        state.pending.clear();
        for slot in 0..FLEET_ROWS {
            let row = rows.next();
            if state.shown[slot] != row {
                state.pending.push((slot, row));
            }
        }
        // Top rows first.
        state.pending.reverse();
    }
    // The chart gets a frame of its own, like a card's, and leaves the next to ECharts. Not
    // before the table has a row: creating the chart takes ECharts a few hundred
    // milliseconds, which the first rows need more.
    if *budget == FRAME_BUDGET
        && rt.fleet.pending.is_empty()
        && rt.fleet.shown.iter().any(Option::is_some)
        && chart::ready(charts_loaded)
        && ctx.now - rt.fleet.chart_ms >= CHART_INTERVAL_MS
    {
        rt.fleet.chart_ms = ctx.now;
        draw_fleet_chart(rt, ctx);
        rt.quiet_frame = true;
        *budget = 0;
    }
    let state = &mut rt.fleet;
    while *budget > 0 {
        let Some((slot, row)) = state.pending.pop() else {
            break;
        };
        state.shown[slot] = row.clone();
        let signal = signals.rows[slot];
        deferred.push(Box::new(move || signal.set(row)));
        *budget -= 1;
    }
    !state.pending.is_empty()
}

/// Every host's CPU (its containers' sum, in the view's scale) on one time axis.
fn draw_fleet_chart(rt: &mut Runtime, ctx: &FlushContext) {
    let mut label = String::new();
    let series: Vec<(String, Points)> = rt
        .agents_in_order()
        .into_iter()
        .map(|agent| {
            let title = agent.title();
            let (cpu, _) = present::totals_series(agent.model.totals.iter().cloned());
            let cores = agent.model.host.as_ref().and_then(|h| h.cores);
            let (divisor, scale) = rows::chart_cpu_scale(ctx.view.cpu_scale, cores, None);
            label = scale;
            (title, scale_points(cpu, divisor))
        })
        .collect();
    let chart = rt
        .fleet
        .chart
        .get_or_insert_with(|| ChartSlot::new(ChartId::Fleet));
    let drawn = chart::fleet_chart(series, ctx.theme, &label, chart.width());
    if chart.draw(&drawn).is_err() {
        // The fleet view's element is not in the page yet: the next second tries again.
        rt.fleet.chart = None;
    }
}

/// ECharts has loaded ([`chart::ready`]): every chart that waited for it is drawn now.
fn charts_loaded() {
    with_runtime(|rt| {
        for agent in rt.agents.values_mut() {
            agent.redraw = true;
        }
        rt.fleet.chart_ms = 0.0;
        rt.detail_dirty = true;
    });
    schedule_frame();
}

fn flush_detail(rt: &mut Runtime, theme: Theme, view: ViewPrefs, deferred: &mut Deferred) {
    let Some(selection) = rt.selection.clone() else {
        rt.detail.reset();
        rt.detail_dirty = false;
        return;
    };
    let Some(agent) = rt.agents.get(&selection.agent_key) else {
        return;
    };
    let Some((container, stopped)) = agent.model.row_source(&selection.container_id) else {
        return;
    };
    if !rt.detail_dirty {
        return;
    }
    let (cpu, mem) = present::container_series(container.history.iter());
    let cores = agent.model.host.as_ref().and_then(|h| h.cores);
    let limit = container.stats.cpu_limit_cores;
    let (divisor, label) = rows::chart_cpu_scale(view.cpu_scale, cores, limit);
    let marks = events::chart_marks(
        &agent.model.events,
        first_time(&cpu),
        Some(&container.stats.id),
    );
    let chart = chart::cpu_mem_chart(
        scale_points(cpu, divisor),
        mem,
        theme,
        &label,
        rt.detail.chart.width(),
        &marks,
    );
    let io = chart::io_chart(
        detail::io_series(container.io_history.iter()),
        theme,
        rt.detail.io_chart.width(),
    );
    let panel = detail::detail_view(&container.stats, stopped, view.cpu_scale, cores);
    if let Some(signal) = rt.detail_signal {
        if signal.with_untracked(|d| d.as_ref() != Some(&panel)) {
            deferred.push(Box::new(move || signal.set(Some(panel))));
        }
    }
    if !chart::ready(charts_loaded) {
        // Drawn when ECharts has loaded (`charts_loaded` marks it dirty again).
        rt.detail_dirty = false;
        return;
    }
    let detail = &mut rt.detail;
    if detail.shows.as_ref() == Some(&selection) && detail.chart.is_drawn() {
        let _ = detail.chart.draw(&chart);
        let _ = detail.io_chart.draw(&io);
        rt.quiet_frame = true;
    } else {
        // Another container (perhaps on another card, in another element): a new instance.
        detail.reset();
        if detail.chart.draw(&chart).is_err() || detail.io_chart.draw(&io).is_err() {
            rt.detail_dirty = true;
            return;
        }
        detail.shows = Some(selection);
    }
    rt.detail_dirty = false;
}

/// Draws the event feeds: each card whose agent has new events gets its newest lines, and the
/// merged feed its page of lines for the kind and filter chosen. Lines are keyed, so only new
/// ones become elements.
fn flush_events(rt: &mut Runtime, deferred: &mut Deferred) {
    rt.events_forced = false;
    let agents = rt.agents_in_order();
    let titles: Vec<String> = agents.iter().map(|a| a.title()).collect();
    for (agent, title) in agents.iter().zip(&titles) {
        if !agent.events_dirty {
            continue;
        }
        let source = [FeedSource {
            agent_key: agent.view.key,
            host: title,
            log: &agent.model.events,
        }];
        let (lines, _) = events::feed(&source, events::EventKind::All, "", CARD_FEED_LINES);
        let signal = agent.view.events.clone();
        deferred.push(Box::new(move || signal.set(lines)));
    }
    if let Some(signals) = rt.events {
        let sources: Vec<FeedSource<'_>> = agents
            .iter()
            .zip(&titles)
            .map(|(agent, title)| FeedSource {
                agent_key: agent.view.key,
                host: title,
                log: &agent.model.events,
            })
            .collect();
        let kind = signals.kind.get_untracked();
        let filter = signals.filter.get_untracked();
        let limit = signals.limit.get_untracked();
        let (lines, matching) = events::feed(&sources, kind, &filter, limit);
        let counts = (lines.len(), matching);
        deferred.push(Box::new(move || {
            signals.lines.set(lines);
            signals.counts.set(counts);
        }));
    }
    for agent in rt.agents.values_mut() {
        agent.events_dirty = false;
    }
}

/// `HH:MM:SS` of a browser timestamp, local time.
pub(crate) fn clock_time(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!(
        "{:02}:{:02}:{:02}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

/// The page scrolled or the window resized: cards showing all rows render the rows now near
/// the viewport, in the next frame.
pub(crate) fn on_scroll() {
    let any = with_runtime(|rt| {
        let mut any = false;
        for agent in rt.agents.values_mut() {
            if agent.view.show_all.get_untracked() {
                agent.window_stale = true;
                any = true;
            }
        }
        any
    });
    if any {
        schedule_frame();
    }
}
