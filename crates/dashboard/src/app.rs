//! The shared state and everything that changes it: start-up (saved list, `?agents=`,
//! `/agent.json`), adding and removing agents, import/export, and folding each connection's
//! events into the models.
//!
//! Two kinds of state:
//! - [`Dashboard`] (in Leptos context): signals the views read. Cheap to copy, `Send`.
//! - `frame::Runtime` (thread-local, browser-only types): each agent's [`AgentModel`], its
//!   connection's wake channel, the row signals and chart handles. Frames are folded into the
//!   model the moment they arrive ([`on_event`]); `frame::flush` then pushes what changed into
//!   signals, at most once per animation frame and within a budget.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use dockscope_protocol::{AgentInfo, AgentStatus, AGENT_INFO_PATH};
use futures::channel::mpsc::unbounded;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser::{self, now_ms};
use crate::chart;
use crate::conn::{self, Event, Wake};
use crate::conn_state::ConnState;
use crate::frame::{
    on_scroll, resize_charts, schedule_frame, schedule_ingest, with_runtime, AgentRuntime,
};
use crate::ingest::AgentModel;
use crate::present::RowView;
use crate::query;
use crate::sort::SortSpec;
use crate::store::{self, Theme};
use crate::url;
use crate::view::App;

/// Mounts the app on `<body>`.
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// One rendered row of a card's table: a key for its elements, the signal of what it shows,
/// and the position in the card's order it is drawn at. Rows are reused: a re-order or a
/// scroll changes what a row shows and where, not which elements are in the page.
#[derive(Clone)]
pub struct RowHandle {
    pub key: u32,
    pub data: ArcRwSignal<RowView>,
    pub position: ArcRwSignal<usize>,
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
    /// Access token for an agent started with `--token`; saved with the list in localStorage.
    pub token: ArcRwSignal<Option<String>>,
    pub conn: ArcRwSignal<ConnState>,
    pub status: ArcRwSignal<Option<StatusView>>,
    /// Browser-clock time of the latest batch (agent `sent_at` corrected for clock skew).
    pub last_batch_local_ms: ArcRwSignal<Option<f64>>,
    /// "CPU 0.3 %, 12 MiB" of the agent process itself.
    pub agent_cost: ArcRwSignal<String>,
    /// Rows to render, filtered and sorted (with "show all", those near the viewport).
    pub rows: ArcRwSignal<Vec<RowHandle>>,
    /// Rows listed (rendered or not): the table body is as tall as all of them.
    pub listed: ArcRwSignal<usize>,
    /// Containers the agent reports, before filtering; `None` until the first batch.
    pub container_count: ArcRwSignal<Option<usize>>,
    /// Containers of the latest batch beyond the per-agent cap: counted, not shown.
    pub not_kept: ArcRwSignal<usize>,
    /// "agent clock 3h 2m ahead of this browser's", when it is far off.
    pub clock_note: ArcRwSignal<Option<String>>,
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
    fn new(key: u32, url: String, token: Option<String>) -> Self {
        Self {
            key,
            url,
            token: ArcRwSignal::new(token),
            conn: ArcRwSignal::new(ConnState::Connecting),
            status: ArcRwSignal::new(None),
            last_batch_local_ms: ArcRwSignal::new(None),
            agent_cost: ArcRwSignal::new(String::new()),
            rows: ArcRwSignal::new(Vec::new()),
            listed: ArcRwSignal::new(0),
            container_count: ArcRwSignal::new(None),
            not_kept: ArcRwSignal::new(0),
            clock_note: ArcRwSignal::new(None),
            sort: ArcRwSignal::new(SortSpec::default()),
            show_all: ArcRwSignal::new(false),
            shown_counts: ArcRwSignal::new((0, 0)),
            frame_error: ArcRwSignal::new(None),
            debug_frames: ArcRwSignal::new(Vec::new()),
            debug_counts: ArcRwSignal::new(String::new()),
        }
    }

    /// Element id of the table body holding the rows.
    pub fn rows_id(&self) -> String {
        format!("rows-{}", self.key)
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
    /// Container name as clicked, for the detail chart's title.
    pub name: String,
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
            // Decoded in ingest slices; its verdict goes back to the connection.
            with_runtime(|rt| {
                if let Some(agent) = rt.agents.get_mut(&key) {
                    agent.model.receive(text, now_ms());
                }
            });
            schedule_ingest();
        }
        Event::Refused(reason) => {
            with_runtime(|rt| {
                if let Some(agent) = rt.agents.get_mut(&key) {
                    agent.model.record_malformed(reason, now_ms());
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
            link_rejected: RwSignal::new(link_problems(&query)),
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
        let saved: Option<store::AgentList> = match saved {
            Ok(list) => Some(list),
            Err(problem) => {
                dashboard.storage_warning.set(Some(format!(
                    "Your saved agent list could not be read ({problem}). Starting with an \
                     empty list; adding an agent replaces the saved copy."
                )));
                None
            }
        };
        // Links carry no tokens (a `?token=` typed into one is taken out of the address bar
        // and used for this page only); an agent already saved with one keeps using it.
        let saved_token = |url: &str| saved.as_ref().and_then(|s| s.tokens.get(url).cloned());
        if !query.tokens.is_empty() {
            if let Some(agents) = &query.agents {
                browser::replace_search(&query::with_agents(&browser::location_search(), agents));
            }
        }
        match (query.agents, &saved) {
            (Some(link_agents), _) => {
                for url in link_agents {
                    let token = saved_token(&url).or_else(|| query.tokens.get(&url).cloned());
                    dashboard.open_agent(url, token);
                }
            }
            (None, Some(saved)) if !saved.agents.is_empty() => {
                for url in &saved.agents {
                    dashboard.open_agent(url.clone(), saved.tokens.get(url).cloned());
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
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            resize_charts();
            on_scroll();
        });
        let scroll = window_event_listener(leptos::ev::scroll, move |_| on_scroll());
        on_cleanup(move || {
            online.remove();
            resize.remove();
            scroll.remove();
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
    fn open_agent(self, url: String, token: Option<String>) {
        let (wake, wake_rx) = unbounded();
        let key = with_runtime(|rt| {
            rt.next_key += 1;
            let key = rt.next_key;
            rt.agents.insert(
                key,
                AgentRuntime {
                    model: AgentModel::default(),
                    view: AgentView::new(key, url.clone(), token),
                    wake,
                    slots: Vec::new(),
                    next_slot_key: 0,
                    slot_of: HashMap::new(),
                    pending_rows: BTreeSet::new(),
                    order: Vec::new(),
                    totals_chart: None,
                    order_dirty: false,
                    order_forced: false,
                    last_order_ms: 0.0,
                    window_stale: false,
                    redraw: false,
                    last_chart_ms: 0.0,
                    chart_drawn: false,
                },
            );
            key
        });
        let Some(view) = with_runtime(|rt| rt.agents.get(&key).map(|a| a.view.clone())) else {
            return;
        };
        let token = view.token.clone();
        self.agents.update(|agents| agents.push(view));
        spawn_local(conn::run(url, token, wake_rx, move |event| {
            on_event(key, event)
        }));
    }

    /// Adds the agent typed or pasted into the add box, with its token if one was given.
    ///
    /// # Errors
    /// The message to show inline; nothing changed.
    pub fn add_from_input(self, input: &str, token: &str) -> Result<(), String> {
        // A `?token=` in the address moves into the token store, out of the address.
        let (url, url_token) = url::normalize_with_token(input).map_err(|e| e.to_string())?;
        let token = match (parse_token_input(token)?, url_token) {
            (Some(typed), Some(in_url)) if typed != in_url => {
                return Err(
                    "The address carries a token= and the token field another one: keep one."
                        .to_owned(),
                )
            }
            (typed, in_url) => typed.or(in_url),
        };
        if self.has_url(&url) {
            return Err(format!("{url} is already on the dashboard"));
        }
        self.open_agent(url, token);
        self.persist();
        Ok(())
    }

    /// Sets or clears one agent's token and reconnects with it.
    ///
    /// # Errors
    /// The message to show inline; nothing changed.
    pub fn set_token(self, key: u32, input: &str) -> Result<(), String> {
        let token = parse_token_input(input)?;
        let found = with_runtime(|rt| {
            rt.agents.get(&key).map(|agent| {
                agent.view.token.set(token);
                let _ = agent.wake.unbounded_send(Wake::Reconnect);
            })
        });
        if found.is_some() {
            self.persist();
        }
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
                agent.force_order();
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
                agent.force_order();
                agent.view.show_all.clone()
            })
        });
        if let Some(signal) = signal {
            signal.update(|all| *all = !*all);
            schedule_frame();
        }
    }

    /// Selects a container for the detail chart, or deselects it when clicked again.
    pub fn toggle_selection(self, agent_key: u32, container_id: String, name: String) {
        let next = Selection {
            agent_key,
            container_id,
            name,
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

    /// The shown agents and their tokens, as saved in localStorage.
    fn agent_list(self) -> store::AgentList {
        self.agents.with_untracked(|agents| store::AgentList {
            agents: agents.iter().map(|v| v.url.clone()).collect(),
            tokens: agents
                .iter()
                .filter_map(|v| v.token.get_untracked().map(|t| (v.url.clone(), t)))
                .collect(),
        })
    }

    /// Saves the list, unless the page shows a `?agents=` link (then it is saved only when the
    /// user asks with "keep these agents").
    fn persist(self) {
        if self.link_mode.get_untracked() {
            return;
        }
        match browser::storage_set(store::AGENTS_KEY, &store::serialize(&self.agent_list())) {
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
        let text = store::serialize_export(&self.urls());
        if let Err(e) = browser::download_text(store::EXPORT_FILE_NAME, "application/json", &text) {
            self.import_result
                .set(Some(Err(format!("Export failed: {e}"))));
        }
    }

    /// Adds the agents of an imported file that are not shown yet.
    pub fn import_text(self, file_text: &str) {
        match store::parse_import(file_text) {
            Ok(list) => {
                let mut added = 0;
                for url in &list.agents {
                    if !self.has_url(url) {
                        self.open_agent(url.clone(), list.tokens.get(url).cloned());
                        added += 1;
                    }
                }
                self.persist();
                self.import_result.set(Some(Ok(format!(
                    "Imported {added} agent(s); {} already shown.",
                    list.agents.len() - added
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
            self.open_agent(ws_url, None);
            self.persist();
        }
    }
}

/// What the link banner lists: entries that are not addresses, and agents left out.
fn link_problems(query: &query::PageQuery) -> Vec<String> {
    let mut problems: Vec<String> = query.rejected.iter().map(|e| e.to_string()).collect();
    if query.rejected_more > 0 {
        problems.push(format!(
            "{} more entries that are not addresses",
            query.rejected_more
        ));
    }
    if query.dropped > 0 {
        problems.push(format!(
            "{} more agent(s): a link opens at most {}",
            query.dropped,
            query::MAX_LINK_AGENTS
        ));
    }
    problems
}

/// A token typed into a form: blank means none; otherwise it must be sendable as a subprotocol.
fn parse_token_input(input: &str) -> Result<Option<String>, String> {
    let token = input.trim();
    if token.is_empty() {
        return Ok(None);
    }
    dockscope_protocol::check_token(token).map_err(|e| format!("Token not accepted: {e}"))?;
    Ok(Some(token.to_owned()))
}
