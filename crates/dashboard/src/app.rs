//! The shared state and everything that changes it: start-up, adding and removing agents,
//! and the once-per-animation-frame flush from the models into signals.
//!
//! Two kinds of state live here:
//! - [`Dashboard`] (in Leptos context): signals the views read. Cheap to clone, `Send`.
//! - [`Runtime`] (thread-local, browser-only types): each agent's [`AgentModel`], its
//!   connection's wake channel, the row signals and chart handles. Frames are folded into the
//!   model the moment they arrive; [`flush`] runs at most once per animation frame and pushes
//!   only what changed, so 3 agents × 100 containers at 1 Hz stay far below a frame's budget.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use charming::Echarts;
use dockscope_protocol::{AgentInfo, AgentStatus, AGENT_INFO_PATH};
use futures::channel::mpsc::{unbounded, UnboundedSender};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser::{self, now_ms};
use crate::chart;
use crate::conn::{self, Event, Wake};
use crate::conn_state::ConnState;
use crate::ingest::AgentModel;
use crate::present::{self, RowView};
use crate::query;
use crate::sort::SortSpec;
use crate::store::{self, Theme};
use crate::url;
use crate::view::App;

/// Mounts the app on `<body>`.
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// One container row as the table sees it: a stable key and the row's own signal, so a new
/// sample re-renders that row only.
#[derive(Clone)]
pub struct RowHandle {
    pub id: String,
    pub data: ArcRwSignal<RowView>,
}

/// What a card shows of the latest `agent_status`.
#[derive(Clone, PartialEq)]
pub struct StatusView {
    pub status: AgentStatus,
    /// Browser time it arrived, to advance the agent's uptime between statuses.
    pub received_ms: f64,
}

/// The signals of one agent card.
#[derive(Clone)]
pub struct AgentView {
    /// Unique for the page's lifetime (DOM ids, keys); a re-added URL gets a new one.
    pub key: u32,
    /// Normalised WebSocket URL.
    pub url: String,
    pub conn: ArcRwSignal<ConnState>,
    pub status: ArcRwSignal<Option<StatusView>>,
    /// Browser-clock time of the latest batch (agent `sent_at` corrected for clock skew).
    pub last_batch_local_ms: ArcRwSignal<Option<f64>>,
    /// "CPU 0.3 %, 12 MiB" of the agent process itself.
    pub agent_cost: ArcRwSignal<String>,
    /// Rows to show, filtered and sorted.
    pub rows: ArcRwSignal<Vec<RowHandle>>,
    /// Containers the agent reports, before filtering; `None` until the first batch.
    pub container_count: ArcRwSignal<Option<usize>>,
    pub sort: ArcRwSignal<SortSpec>,
    /// Show every matching row, not just the first [`ROWS_SHOWN`].
    pub show_all: ArcRwSignal<bool>,
    /// (rows shown, rows matching the filter).
    pub shown_counts: ArcRwSignal<(usize, usize)>,
    /// The latest frame that could not be decoded.
    pub frame_error: ArcRwSignal<Option<String>>,
    /// The debug panel's view of the last raw frames (only kept up to date with `?debug`).
    pub debug_frames: ArcRwSignal<Vec<String>>,
    /// "frames N, malformed M".
    pub debug_counts: ArcRwSignal<String>,
}

impl AgentView {
    fn new(key: u32, url: String) -> Self {
        Self {
            key,
            url,
            conn: ArcRwSignal::new(ConnState::Connecting),
            status: ArcRwSignal::new(None),
            last_batch_local_ms: ArcRwSignal::new(None),
            agent_cost: ArcRwSignal::new(String::new()),
            rows: ArcRwSignal::new(Vec::new()),
            container_count: ArcRwSignal::new(None),
            sort: ArcRwSignal::new(SortSpec::default()),
            show_all: ArcRwSignal::new(false),
            shown_counts: ArcRwSignal::new((0, 0)),
            frame_error: ArcRwSignal::new(None),
            debug_frames: ArcRwSignal::new(Vec::new()),
            debug_counts: ArcRwSignal::new(String::new()),
        }
    }

    /// Element id of the totals chart.
    pub fn chart_id(&self) -> String {
        format!("totals-chart-{}", self.key)
    }
}

/// The selected container (detail chart).
#[derive(Clone, PartialEq, Debug)]
pub struct Selection {
    pub agent_key: u32,
    pub container_id: String,
}

/// Element id of the detail chart.
pub const DETAIL_CHART_ID: &str = "detail-chart";

/// App-wide signals, provided as context.
#[derive(Clone, Copy)]
pub struct Dashboard {
    pub agents: RwSignal<Vec<AgentView>>,
    /// Case-insensitive substring matched against container names on every card.
    pub filter: RwSignal<String>,
    pub theme: RwSignal<Theme>,
    /// Problem with localStorage (corrupt list, storage blocked), shown as a banner.
    pub storage_warning: RwSignal<Option<String>>,
    /// The agents come from `?agents=`; the saved list is untouched until "keep these agents".
    pub link_mode: RwSignal<bool>,
    /// `?agents=` entries that are not addresses.
    pub link_rejected: RwSignal<Vec<String>>,
    /// Result of the last import (`Ok` text or error).
    pub import_result: RwSignal<Option<Result<String, String>>>,
    pub selected: RwSignal<Option<Selection>>,
    /// Browser time, ticking once a second, for relative times.
    pub now: RwSignal<f64>,
    /// `?debug=true`.
    pub debug: bool,
}

struct AgentRuntime {
    model: AgentModel,
    view: AgentView,
    /// Dropping it stops the connection task.
    wake: UnboundedSender<Wake>,
    rows: HashMap<String, ArcRwSignal<RowView>>,
    /// Rows whose figures changed but whose signal has not been set yet (frame budget).
    pending_rows: BTreeSet<String>,
    /// Ids last pushed to `view.rows`, to skip pushes that change nothing.
    visible: Vec<String>,
    /// The same ids as a set: rows whose changes must reach the DOM now.
    shown: HashSet<String>,
    /// Rows not on screen whose figures changed; rendered when they come into view.
    stale: HashSet<String>,
    totals_chart: Option<Echarts>,
    /// The row order must be recomputed (figures, membership, sort or filter changed).
    order_dirty: bool,
    /// The totals chart must be drawn (new batch, theme changed, first draw failed).
    redraw: bool,
    /// Browser time of the last totals-chart draw.
    last_chart_ms: f64,
    /// Drawn in this frame: the next frame is left to ECharts' repaint.
    chart_drawn: bool,
}

#[derive(Default)]
struct Runtime {
    agents: HashMap<u32, AgentRuntime>,
    next_key: u32,
    frame_scheduled: bool,
    /// Filter changed: every agent's order must be recomputed.
    resort_all: bool,
    /// Key of the agent flushed first in the last frame (round-robin).
    last_first: u32,
    /// Skip the next frame: ECharts repaints the chart updated in this one (`lazyUpdate`).
    quiet_frame: bool,
    /// The detail chart and what it shows.
    detail: Option<(Selection, Echarts)>,
    detail_dirty: bool,
    /// Mirror of [`Dashboard::selected`], readable outside a reactive owner.
    selection: Option<Selection>,
    theme: Theme,
    debug: bool,
    /// `?perf=true`: time each flush with User Timing.
    perf: bool,
    filter: String,
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new(Runtime::default());
}

fn with_runtime<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RUNTIME.with_borrow_mut(f)
}

/// Asks for one [`flush`] on the next animation frame (many frames in between fold into one).
fn schedule_frame() {
    let first = with_runtime(|rt| !std::mem::replace(&mut rt.frame_scheduled, true));
    if first {
        request_animation_frame(flush);
    }
}

type Deferred = Vec<Box<dyn FnOnce()>>;

/// How much DOM work one animation frame may cause, in rough units of "one row update"
/// (a re-order costs [`HEAVY_STEP`]; a chart redraw gets a frame of its own). It holds one card's
/// [`ROWS_SHOWN`] rows plus their re-order, so a card updates in one piece; several cards'
/// batches, or cards showing all rows, spread over the following frames (a row a few frames
/// late is invisible at a 1 Hz refresh).
const FRAME_BUDGET: usize = 32;
/// The totals chart is redrawn at most this often: ECharts repaints its whole canvas, and a
/// 5-minute trend gains nothing from 1 Hz redraws.
const CHART_INTERVAL_MS: f64 = 1_900.0;

/// Rows a card shows until "show all" is clicked: the busiest containers at a glance, and a
/// page that stays light with many agents of 100+ containers.
pub const ROWS_SHOWN: usize = 25;
/// Cost of re-ordering one card's rows, in row units (a chart redraw takes a whole frame).
const HEAVY_STEP: usize = 8;

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
        let resort_all = std::mem::take(&mut rt.resort_all);
        let ctx = FlushContext {
            now: now_ms(),
            perf: rt.perf,
            filter: rt.filter.clone(),
            theme: rt.theme,
            debug: rt.debug,
        };
        let selected_agent = rt.selection.as_ref().map(|s| s.agent_key);
        let mut budget = FRAME_BUDGET;
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
            if resort_all {
                agent.order_dirty = true;
            }
            let batch = flush_agent(agent, &mut budget, &ctx, &mut deferred);
            if agent.chart_drawn {
                agent.chart_drawn = false;
                rt.quiet_frame = true;
            }
            if batch && selected_agent == Some(key) {
                rt.detail_dirty = true;
            }
            more |= agent.has_work(ctx.now);
        }
        if budget > 0 {
            flush_detail(rt, ctx.theme);
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

/// Settings every agent's flush reads.
struct FlushContext {
    now: f64,
    perf: bool,
    filter: String,
    theme: Theme,
    debug: bool,
}

impl AgentRuntime {
    /// Whether a later frame still has something to do for this agent.
    fn has_work(&self, now: f64) -> bool {
        self.model.has_changes()
            || !self.pending_rows.is_empty()
            || self.order_dirty
            || self.chart_due(now)
    }

    /// A redraw is wanted and the chart was not drawn in the last [`CHART_INTERVAL_MS`] (a
    /// redraw that is not due yet waits for a later batch's frame).
    fn chart_due(&self, now: f64) -> bool {
        self.redraw
            && (self.totals_chart.is_none() || now - self.last_chart_ms >= CHART_INTERVAL_MS)
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
        agent.rows.retain(|id, _| model.containers.contains_key(id));
        agent
            .pending_rows
            .retain(|id| model.containers.contains_key(id));
        agent.order_dirty = true;
    }
    agent.pending_rows.extend(changes.rows.iter().cloned());
    if changes.batch {
        agent.redraw = true;
        push_batch_facts(agent, deferred);
    }
    if changes.status {
        push_status(agent, deferred);
    }
    if changes.frames {
        push_frames(agent, ctx.debug, deferred);
    }

    // Rows, a budget's worth at a time.
    while *budget > 0 {
        let Some(id) = agent.pending_rows.pop_first() else {
            break;
        };
        agent.order_dirty = true;
        // A row not on screen (beyond the first rows, or filtered out) is only marked stale:
        // it is rendered when the order brings it into view.
        if !agent.shown.contains(&id) {
            agent.stale.insert(id);
            continue;
        }
        let Some(container) = agent.model.containers.get(&id) else {
            continue;
        };
        let row = present::row_view(container);
        if let Some(signal) = agent.rows.get(&id) {
            let signal = signal.clone();
            deferred.push(Box::new(move || signal.set(row)));
        }
        *budget -= 1;
    }
    // Order once all rows are current, in the same frame as the last of them, so a card of up
    // to FRAME_BUDGET shown rows changes figures and order together.
    if agent.order_dirty && agent.pending_rows.is_empty() {
        agent.order_dirty = false;
        let sort = agent.view.sort.get_untracked();
        let mut ids = agent.model.visible_ids(sort, &ctx.filter);
        let matching = ids.len();
        if !agent.view.show_all.get_untracked() {
            ids.truncate(ROWS_SHOWN);
        }
        let counts = (ids.len(), matching);
        if agent.view.shown_counts.get_untracked() != counts {
            let signal = agent.view.shown_counts.clone();
            deferred.push(Box::new(move || signal.set(counts)));
        }
        if ids != agent.visible {
            let mut handles = Vec::with_capacity(ids.len());
            for id in &ids {
                let Some(container) = agent.model.containers.get(id) else {
                    continue;
                };
                let data = match agent.rows.get(id) {
                    Some(data) => {
                        if agent.stale.remove(id) {
                            let (data, row) = (data.clone(), present::row_view(container));
                            deferred.push(Box::new(move || data.set(row)));
                        }
                        data.clone()
                    }
                    None => {
                        agent.stale.remove(id);
                        let data = ArcRwSignal::new(present::row_view(container));
                        agent.rows.insert(id.clone(), data.clone());
                        data
                    }
                };
                handles.push(RowHandle {
                    id: id.clone(),
                    data,
                });
            }
            agent.shown = ids.iter().cloned().collect();
            agent.visible = ids;
            let signal = agent.view.rows.clone();
            deferred.push(Box::new(move || signal.set(handles)));
            *budget = budget.saturating_sub(HEAVY_STEP);
        }
    }
    // A chart redraw gets a frame to itself.
    if agent.chart_due(ctx.now) && *budget == FRAME_BUDGET {
        agent.redraw = false;
        agent.last_chart_ms = ctx.now;
        if ctx.perf {
            browser::perf_mark("dockscope-chart-start");
        }
        draw_totals(agent, ctx.theme);
        agent.chart_drawn = true;
        if ctx.perf {
            browser::perf_measure("dockscope-chart", "dockscope-chart-start");
        }
        *budget = 0;
    }
    changes.batch
}

/// Container count, last-update time and the agent's own cost.
fn push_batch_facts(agent: &AgentRuntime, deferred: &mut Deferred) {
    let (model, view) = (&agent.model, &agent.view);
    let count = model.containers.len();
    let local = model
        .last_batch_sent_ms
        .map(|sent| sent + model.clock.offset_ms().unwrap_or(0.0));
    let metrics = &model.agent_metrics;
    let cost = format!(
        "CPU {}, memory {}",
        crate::format::percent(metrics.cpu_pct),
        metrics
            .mem_bytes
            .map(crate::format::bytes)
            .unwrap_or_else(|| "–".into())
    );
    let (count_sig, local_sig, cost_sig) = (
        view.container_count.clone(),
        view.last_batch_local_ms.clone(),
        view.agent_cost.clone(),
    );
    deferred.push(Box::new(move || {
        if count_sig.get_untracked() != Some(count) {
            count_sig.set(Some(count));
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
        let counts = format!("malformed frames: {}", model.malformed_count);
        let (frames_sig, counts_sig) = (view.debug_frames.clone(), view.debug_counts.clone());
        deferred.push(Box::new(move || {
            frames_sig.set(frames);
            counts_sig.set(counts);
        }));
    }
}

fn draw_totals(agent: &mut AgentRuntime, theme: Theme) {
    let (cpu, mem) = present::totals_series(agent.model.totals.iter().cloned());
    let chart = chart::cpu_mem_chart(cpu, mem, theme);
    match &agent.totals_chart {
        Some(handle) => chart::update(handle, &chart),
        None => match chart::render(&agent.view.chart_id(), &chart) {
            Ok(handle) => agent.totals_chart = Some(handle),
            // The card is not in the DOM yet: draw on the next change.
            Err(_) => agent.redraw = true,
        },
    }
}

fn flush_detail(rt: &mut Runtime, theme: Theme) {
    let Some(selection) = rt.selection.clone() else {
        if let Some((_, handle)) = rt.detail.take() {
            chart::dispose(&handle);
        }
        rt.detail_dirty = false;
        return;
    };
    let Some(agent) = rt.agents.get(&selection.agent_key) else {
        return;
    };
    let Some(container) = agent.model.containers.get(&selection.container_id) else {
        return;
    };
    if !rt.detail_dirty {
        return;
    }
    let (cpu, mem) = present::container_series(container.history.iter());
    let chart = chart::cpu_mem_chart(cpu, mem, theme);
    match &rt.detail {
        Some((shown, handle)) if shown == &selection => {
            chart::update(handle, &chart);
            rt.quiet_frame = true;
        }
        _ => {
            if let Some((_, old)) = rt.detail.take() {
                chart::dispose(&old);
            }
            match chart::render(DETAIL_CHART_ID, &chart) {
                Ok(handle) => rt.detail = Some((selection, handle)),
                Err(_) => {
                    rt.detail_dirty = true;
                    return;
                }
            }
        }
    }
    rt.detail_dirty = false;
}

/// `HH:MM:SS` of a browser timestamp, local time.
fn clock_time(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!(
        "{:02}:{:02}:{:02}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

fn on_event(key: u32, event: Event) {
    match event {
        Event::State(state) => {
            let signal = with_runtime(|rt| rt.agents.get(&key).map(|a| a.view.conn.clone()));
            if let Some(signal) = signal {
                signal.set(state);
            }
        }
        Event::Opening => with_runtime(|rt| {
            if let Some(agent) = rt.agents.get_mut(&key) {
                agent.model.connection_reset();
            }
        }),
        Event::Frame(text) => {
            with_runtime(|rt| {
                if let Some(agent) = rt.agents.get_mut(&key) {
                    // A malformed frame is recorded in the model and shown; the connection
                    // carries on.
                    let _ = agent.model.ingest_frame(&text, now_ms());
                }
            });
            schedule_frame();
        }
        Event::Binary(len) => {
            with_runtime(|rt| {
                if let Some(agent) = rt.agents.get_mut(&key) {
                    agent.model.record_malformed(
                        format!("binary frame of {len} bytes (the protocol uses text frames)"),
                        now_ms(),
                    );
                }
            });
            schedule_frame();
        }
    }
}

impl Dashboard {
    /// Reads the query string and storage, provides the context, connects the first agents.
    pub fn init() -> Dashboard {
        let query = query::parse(&browser::location_search());
        let theme = Theme::parse(
            browser::storage_get(store::THEME_KEY)
                .ok()
                .flatten()
                .as_deref(),
        );
        let dashboard = Dashboard {
            agents: RwSignal::new(Vec::new()),
            filter: RwSignal::new(String::new()),
            theme: RwSignal::new(theme),
            storage_warning: RwSignal::new(None),
            link_mode: RwSignal::new(query.agents.is_some()),
            link_rejected: RwSignal::new(query.rejected.iter().map(|e| e.to_string()).collect()),
            import_result: RwSignal::new(None),
            selected: RwSignal::new(None),
            now: RwSignal::new(now_ms()),
            debug: query.debug,
        };
        provide_context(dashboard);
        with_runtime(|rt| {
            rt.theme = theme;
            rt.debug = query.debug;
            rt.perf = query.perf;
        });

        let saved = browser::storage_get(store::AGENTS_KEY)
            .and_then(|text| store::parse_saved(text.as_deref()).map_err(|e| e.to_string()));
        let saved = match saved {
            Ok(list) => Some(list),
            Err(problem) => {
                dashboard.storage_warning.set(Some(format!(
                    "Your saved agent list could not be read ({problem}). Starting with an \
                     empty list; adding an agent replaces the saved copy."
                )));
                None
            }
        };
        match (query.agents, saved) {
            (Some(link_agents), _) => {
                for url in link_agents {
                    dashboard.open_agent(url);
                }
            }
            (None, Some(saved)) if !saved.is_empty() => {
                for url in saved {
                    dashboard.open_agent(url);
                }
            }
            (None, Some(_)) => spawn_local(dashboard.discover_serving_agent()),
            // Corrupt storage: stay empty, as the warning says.
            (None, None) => {}
        }

        dashboard.wire_effects();
        dashboard
    }

    fn wire_effects(self) {
        // Window back online: every waiting connection retries now.
        let online = window_event_listener(leptos::ev::online, move |_| self.retry_all());
        let resize = window_event_listener(leptos::ev::resize, move |_| resize_charts());
        on_cleanup(move || {
            online.remove();
            resize.remove();
        });
        // Relative times ("3 s ago") advance once a second.
        let now = self.now;
        set_interval(move || now.set(now_ms()), Duration::from_secs(1));

        let filter = self.filter;
        Effect::new(move |_| {
            let text = filter.get();
            with_runtime(|rt| {
                rt.filter = text;
                rt.resort_all = true;
            });
            schedule_frame();
        });
        let selected = self.selected;
        Effect::new(move |_| {
            let selection = selected.get();
            with_runtime(|rt| {
                rt.selection = selection;
                rt.detail_dirty = true;
            });
            schedule_frame();
        });
        let theme = self.theme;
        Effect::new(move |previous: Option<Theme>| {
            let theme = theme.get();
            browser::set_document_theme(theme.as_str());
            if previous.is_some_and(|p| p != theme) {
                if let Err(e) = browser::storage_set(store::THEME_KEY, theme.as_str()) {
                    browser::log(&e);
                }
                with_runtime(|rt| {
                    rt.theme = theme;
                    for agent in rt.agents.values_mut() {
                        if let Some(handle) = agent.totals_chart.take() {
                            chart::dispose(&handle);
                        }
                        agent.redraw = true;
                    }
                    if let Some((_, handle)) = rt.detail.take() {
                        chart::dispose(&handle);
                    }
                    rt.detail_dirty = true;
                });
                schedule_frame();
            }
            theme
        });
    }

    /// Starts showing and connecting to `url` (already normalised).
    fn open_agent(self, url: String) {
        let (wake, wake_rx) = unbounded();
        let key = with_runtime(|rt| {
            rt.next_key += 1;
            let key = rt.next_key;
            rt.agents.insert(
                key,
                AgentRuntime {
                    model: AgentModel::default(),
                    view: AgentView::new(key, url.clone()),
                    wake,
                    rows: HashMap::new(),
                    pending_rows: BTreeSet::new(),
                    visible: Vec::new(),
                    shown: HashSet::new(),
                    stale: HashSet::new(),
                    totals_chart: None,
                    order_dirty: false,
                    redraw: false,
                    last_chart_ms: 0.0,
                    chart_drawn: false,
                },
            );
            key
        });
        let view = with_runtime(|rt| rt.agents.get(&key).map(|a| a.view.clone()));
        if let Some(view) = view {
            self.agents.update(|agents| agents.push(view));
        }
        spawn_local(conn::run(url, wake_rx, move |event| on_event(key, event)));
    }

    /// Adds the agent typed or pasted into the add box.
    ///
    /// # Errors
    /// The message to show inline; nothing changed.
    pub fn add_from_input(self, input: &str) -> Result<(), String> {
        let url = url::normalize(input).map_err(|e| e.to_string())?;
        if self.has_url(&url) {
            return Err(format!("{url} is already on the dashboard"));
        }
        self.open_agent(url);
        self.persist();
        Ok(())
    }

    fn has_url(self, url: &str) -> bool {
        self.agents
            .with_untracked(|a| a.iter().any(|v| v.url == url))
    }

    /// Removes the agent's card and closes its connection.
    pub fn remove_agent(self, key: u32) {
        with_runtime(|rt| {
            if let Some(agent) = rt.agents.remove(&key) {
                if let Some(handle) = agent.totals_chart {
                    chart::dispose(&handle);
                }
                // Dropping `agent.wake` ends the connection task, which drops the socket.
            }
            if rt.detail.as_ref().is_some_and(|(s, _)| s.agent_key == key) {
                if let Some((_, handle)) = rt.detail.take() {
                    chart::dispose(&handle);
                }
            }
        });
        if self
            .selected
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.agent_key == key))
        {
            self.selected.set(None);
        }
        self.agents.update(|agents| agents.retain(|a| a.key != key));
        self.persist();
    }

    /// "Retry now": skip the backoff wait of one agent.
    pub fn retry(self, key: u32) {
        with_runtime(|rt| {
            if let Some(agent) = rt.agents.get(&key) {
                let _ = agent.wake.unbounded_send(Wake::RetryNow);
            }
        });
    }

    fn retry_all(self) {
        with_runtime(|rt| {
            for agent in rt.agents.values() {
                let _ = agent.wake.unbounded_send(Wake::RetryNow);
            }
        });
    }

    /// A column header was clicked on one card.
    pub fn sort_by(self, key: u32, column: crate::sort::SortKey) {
        let signal = with_runtime(|rt| {
            rt.agents.get_mut(&key).map(|agent| {
                agent.order_dirty = true;
                agent.view.sort.clone()
            })
        });
        if let Some(signal) = signal {
            signal.update(|spec| *spec = spec.clicked(column));
            schedule_frame();
        }
    }

    /// "Show all" / "show fewer" on one card.
    pub fn toggle_show_all(self, key: u32) {
        let signal = with_runtime(|rt| {
            rt.agents.get_mut(&key).map(|agent| {
                agent.order_dirty = true;
                agent.view.show_all.clone()
            })
        });
        if let Some(signal) = signal {
            signal.update(|all| *all = !*all);
            schedule_frame();
        }
    }

    /// Selects a container for the detail chart, or deselects it when clicked again.
    pub fn toggle_selection(self, agent_key: u32, container_id: String) {
        let next = Selection {
            agent_key,
            container_id,
        };
        self.selected.update(|s| {
            *s = if s.as_ref() == Some(&next) {
                None
            } else {
                Some(next)
            }
        });
    }

    /// The URLs currently shown, in card order.
    pub fn urls(self) -> Vec<String> {
        self.agents
            .with_untracked(|a| a.iter().map(|v| v.url.clone()).collect())
    }

    /// Saves the list, unless the page shows a `?agents=` link (then it is saved only when the
    /// user asks with "keep these agents").
    fn persist(self) {
        if self.link_mode.get_untracked() {
            return;
        }
        match browser::storage_set(store::AGENTS_KEY, &store::serialize(&self.urls())) {
            Ok(()) => self.storage_warning.set(None),
            Err(e) => self
                .storage_warning
                .set(Some(format!("The agent list could not be saved: {e}"))),
        }
    }

    /// "Keep these agents": the link's agents become the saved list.
    pub fn keep_link_agents(self) {
        self.link_mode.set(false);
        self.persist();
        browser::replace_search(&query::without_agents(&browser::location_search()));
    }

    pub fn export(self) {
        let text = store::serialize(&self.urls());
        if let Err(e) = browser::download_text(store::EXPORT_FILE_NAME, "application/json", &text) {
            self.import_result
                .set(Some(Err(format!("Export failed: {e}"))));
        }
    }

    /// Adds the agents of an imported file that are not shown yet.
    pub fn import_text(self, file_text: &str) {
        match store::parse_import(file_text) {
            Ok(urls) => {
                let mut added = 0;
                for url in urls.iter() {
                    if !self.has_url(url) {
                        self.open_agent(url.clone());
                        added += 1;
                    }
                }
                self.persist();
                self.import_result.set(Some(Ok(format!(
                    "Imported {added} agent(s); {} already shown.",
                    urls.len() - added
                ))));
            }
            Err(e) => self
                .import_result
                .set(Some(Err(format!("Import failed, nothing changed: {e}")))),
        }
    }

    /// When the page came from an agent (`--serve-ui`) and no agent is saved, adds that agent.
    async fn discover_serving_agent(self) {
        let response = match gloo_net::http::Request::get(AGENT_INFO_PATH).send().await {
            Ok(response) if response.ok() => response,
            // Not served by an agent (static hosting, trunk serve): nothing to add.
            _ => return,
        };
        let Ok(info) = response.json::<AgentInfo>().await else {
            return;
        };
        let Some((protocol, host)) = browser::location_origin_parts() else {
            return;
        };
        let Ok(ws_url) = url::normalize(&url::same_origin_ws(&protocol, &host, &info.ws_path))
        else {
            return;
        };
        if self.agents.with_untracked(Vec::is_empty) && !self.link_mode.get_untracked() {
            self.open_agent(ws_url);
            self.persist();
        }
    }
}

fn resize_charts() {
    with_runtime(|rt| {
        for agent in rt.agents.values() {
            if let Some(handle) = &agent.totals_chart {
                chart::resize(handle);
            }
        }
        if let Some((_, handle)) = &rt.detail {
            chart::resize(handle);
        }
    });
}
