//! The state the views read: the app-wide [`Dashboard`] context and one [`AgentView`] of
//! signals per card. A leaf under the views, the actions and the flush: it imports none of
//! them. The actions that change it are methods of [`Dashboard`] in `app.rs`; the flush
//! (`frame.rs`) writes the per-card signals; the pure rules live in `roster.rs`.

use dockscope_protocol::AgentStatus;
use dockscope_rules::Rule;
use leptos::prelude::*;

use crate::attention::{AlertLine, Permission};
use crate::conn_state::ConnState;
use crate::detail::{DetailView, HealthLogView};
use crate::events::{EventKind, EventLine, FEED_PAGE};
use crate::fleet::{FleetRow, HostTile, FLEET_ROWS};
use crate::host::HostFact;
pub use crate::roster::{ChartId, Selection};
use crate::rows::Row;
use crate::sort::SortSpec;
use crate::store::{RulesOrigin, Theme, ViewPrefs};

/// One rendered row of a card's table: a key for its elements, the signal of what it shows,
/// and the position in the card's order it is drawn at. Rows are reused: a re-order or a
/// scroll changes what a row shows and where, not which elements are in the page.
#[derive(Clone)]
pub struct RowHandle {
    pub key: u32,
    pub data: ArcRwSignal<Row>,
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
    /// The host strip from `batch.host`; `None` for an agent that does not send it.
    pub host: ArcRwSignal<Option<Vec<HostFact>>>,
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
    /// Show every matching row, not just the first `frame::ROWS_SHOWN`.
    pub show_all: ArcRwSignal<bool>,
    /// (rows shown, rows matching the filter).
    pub shown_counts: ArcRwSignal<(usize, usize)>,
    /// True while some rendered row does not show its place in the order or its latest
    /// figures yet: a frame draws only a few rows (`frame::FRAME_BUDGET`), so a re-order, a
    /// filter or a second's figures take a few frames. The table's `aria-busy`.
    pub drawing: ArcRwSignal<bool>,
    /// The latest frame that could not be decoded.
    pub frame_error: ArcRwSignal<Option<String>>,
    /// The debug panel's view of the last raw frames (only kept up to date with `?debug`).
    pub debug_frames: ArcRwSignal<Vec<String>>,
    /// "frames N, malformed M".
    pub debug_counts: ArcRwSignal<String>,
    /// The card's own feed: its newest events (`events::CARD_FEED_LINES`).
    pub events: ArcRwSignal<Vec<EventLine>>,
    /// How many of its containers need attention, and why (`attention::card_tip`); `None`
    /// while no rule holds for any of them. The card's red mark.
    pub attention: ArcRwSignal<Option<(usize, String)>>,
}

impl AgentView {
    pub fn new(key: u32, url: String, token: Option<String>) -> Self {
        Self {
            key,
            url,
            token: ArcRwSignal::new(token),
            conn: ArcRwSignal::new(ConnState::Connecting),
            status: ArcRwSignal::new(None),
            last_batch_local_ms: ArcRwSignal::new(None),
            agent_cost: ArcRwSignal::new(String::new()),
            host: ArcRwSignal::new(None),
            rows: ArcRwSignal::new(Vec::new()),
            listed: ArcRwSignal::new(0),
            container_count: ArcRwSignal::new(None),
            not_kept: ArcRwSignal::new(0),
            clock_note: ArcRwSignal::new(None),
            sort: ArcRwSignal::new(SortSpec::default()),
            show_all: ArcRwSignal::new(false),
            shown_counts: ArcRwSignal::new((0, 0)),
            drawing: ArcRwSignal::new(false),
            frame_error: ArcRwSignal::new(None),
            debug_frames: ArcRwSignal::new(Vec::new()),
            debug_counts: ArcRwSignal::new(String::new()),
            events: ArcRwSignal::new(Vec::new()),
            attention: ArcRwSignal::new(None),
        }
    }

    /// Element id of the table body holding the rows.
    pub fn rows_id(&self) -> String {
        crate::roster::rows_element_id(self.key)
    }

    /// The card's totals chart.
    pub fn chart(&self) -> ChartId {
        ChartId::Totals(self.key)
    }
}

/// The detail panel's health log.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum HealthLog {
    /// Not asked for (yet) for the selected container.
    #[default]
    NotAsked,
    /// Asked at this browser time; an agent that never answers (an older contract) is
    /// reported after [`crate::detail::HEALTH_LOG_TIMEOUT_MS`].
    Waiting {
        since_ms: f64,
    },
    Answered(HealthLogView),
}

/// The fleet view's signals; `frame.rs` writes them at most once a second while it is shown.
#[derive(Clone, Copy)]
pub struct FleetSignals {
    pub tiles: RwSignal<Vec<HostTile>>,
    /// One per row of the table, `None` past the containers listed. Fixed slots, so a second's
    /// new figures change texts, never elements.
    pub rows: [RwSignal<Option<FleetRow>>; FLEET_ROWS],
    pub sort: RwSignal<SortSpec>,
    /// (rows shown, running containers matching the filter across hosts).
    pub counts: RwSignal<(usize, usize)>,
}

impl FleetSignals {
    pub fn new() -> Self {
        Self {
            tiles: RwSignal::new(Vec::new()),
            rows: std::array::from_fn(|_| RwSignal::new(None)),
            sort: RwSignal::new(SortSpec::default()),
            counts: RwSignal::new((0, 0)),
        }
    }
}

/// The merged event feed: what it shows and the user's choices; `frame.rs` writes the lines
/// when an agent's events or a choice change, in a frame of their own.
#[derive(Clone, Copy)]
pub struct EventSignals {
    /// Newest first, at most `limit`.
    pub lines: RwSignal<Vec<EventLine>>,
    /// (lines shown, events matching).
    pub counts: RwSignal<(usize, usize)>,
    /// Case-insensitive text matched against host, container and words.
    pub filter: RwSignal<String>,
    pub kind: RwSignal<EventKind>,
    /// Lines shown: [`FEED_PAGE`], more with each "show more".
    pub limit: RwSignal<usize>,
}

impl EventSignals {
    pub fn new() -> Self {
        Self {
            lines: RwSignal::new(Vec::new()),
            counts: RwSignal::new((0, 0)),
            filter: RwSignal::new(String::new()),
            kind: RwSignal::new(EventKind::All),
            limit: RwSignal::new(FEED_PAGE),
        }
    }
}

/// The attention list, the rules and the notification permission; `frame.rs` writes the
/// list in the frame after a rule fires or clears (and once a second while alerts hold, for
/// their figures), the actions (`app.rs`) the rest.
#[derive(Clone, Copy)]
pub struct AttentionSignals {
    /// Newest first, at most `attention::LIST_LINES`.
    pub lines: RwSignal<Vec<AlertLine>>,
    /// Every alert that holds, listed or not: the page title's count.
    pub count: RwSignal<usize>,
    /// The rules in force, as saved.
    pub rules: RwSignal<Vec<Rule>>,
    /// Whether they are the saved ones or the defaults, and why.
    pub origin: RwSignal<RulesOrigin>,
    pub permission: RwSignal<Permission>,
}

impl AttentionSignals {
    pub fn new(rules: Vec<Rule>, origin: RulesOrigin, permission: Permission) -> Self {
        Self {
            lines: RwSignal::new(Vec::new()),
            count: RwSignal::new(0),
            rules: RwSignal::new(rules),
            origin: RwSignal::new(origin),
            permission: RwSignal::new(permission),
        }
    }
}

/// App-wide signals, provided as context. Its actions (adding an agent, selecting a
/// container, …) are in `app.rs`.
#[derive(Clone, Copy)]
pub struct Dashboard {
    pub agents: RwSignal<Vec<AgentView>>,
    /// Case-insensitive substring matched against container names on every card.
    pub filter: RwSignal<String>,
    pub theme: RwSignal<Theme>,
    /// Columns shown, CPU scale and grouping of every table; saved with the agent list.
    pub view: RwSignal<ViewPrefs>,
    /// Problem with localStorage (corrupt list, storage blocked), shown as a banner.
    pub storage_warning: RwSignal<Option<String>>,
    /// The agents come from `?agents=`; the saved list is untouched until "keep these agents".
    pub link_mode: RwSignal<bool>,
    /// `?agents=` entries that are not addresses.
    pub link_rejected: RwSignal<Vec<String>>,
    /// Result of the last import (`Ok` text or error).
    pub import_result: RwSignal<Option<Result<String, String>>>,
    pub selected: RwSignal<Option<Selection>>,
    /// What the detail panel shows of the selected container (`frame.rs` writes it).
    pub detail: RwSignal<Option<DetailView>>,
    /// The selected container's health log: asked for, answered, or not asked yet.
    pub health_log: RwSignal<HealthLog>,
    /// Browser time, ticking once a second, for relative times.
    pub now: RwSignal<f64>,
    /// The fleet view (`ViewPrefs::fleet` says whether it is shown).
    pub fleet: FleetSignals,
    /// The merged event feed.
    pub events: EventSignals,
    /// Alerts, rules, notifications.
    pub attention: AttentionSignals,
    /// `?debug=true`.
    pub debug: bool,
}

impl Dashboard {
    /// The URLs currently shown, in card order.
    pub fn urls(self) -> Vec<String> {
        self.agents
            .with_untracked(|a| a.iter().map(|v| v.url.clone()).collect())
    }
}
