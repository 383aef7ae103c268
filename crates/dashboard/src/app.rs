//! The actions: everything that changes the state, as methods of [`Dashboard`] — start-up
//! (saved list, `?agents=`, `/agent.json`), adding and removing agents, import/export, sorting,
//! selecting — and folding each connection's events into the models. The views call these;
//! nothing here knows a view.
//!
//! Two kinds of state:
//! - [`Dashboard`] (`state.rs`, in Leptos context): signals the views read. Cheap to copy.
//! - `frame::Runtime` (thread-local, browser-only types): each agent's model, its
//!   connection's wake channel, the row signals and the charts. Frames are folded into the
//!   model the moment they arrive ([`on_event`]); `frame.rs` then pushes what changed into
//!   signals, at most once per animation frame and within a budget.

use std::time::Duration;

use dockscope_protocol::{AgentInfo, AGENT_INFO_PATH};
use dockscope_rules::Rule;
use futures::channel::mpsc::unbounded;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::attention::{self, Attention, Permission};
use crate::browser::{self, now_ms};
use crate::conn::{self, Event, Wake};
use crate::frame::{on_scroll, schedule_frame, schedule_ingest, with_runtime};
use crate::query;
use crate::roster::{self, Selection};
use crate::rows::CpuScale;
use crate::rule_form::{self, Draft};
use crate::sort::SortKey;
use crate::state::{AttentionSignals, Dashboard, EventSignals, FleetSignals, HealthLog};
use crate::store::{self, RulesOrigin, Theme, ViewPrefs};
use crate::text;
use crate::url;

fn on_event(key: u32, event: Event) {
    match event {
        Event::State(state) => {
            let signal = with_runtime(|rt| {
                // The fleet view's tile says it at once, whatever else arrives.
                rt.fleet_forced = true;
                rt.agents.get(&key).map(|a| a.view.conn.clone())
            });
            if let Some(signal) = signal {
                signal.set(state);
            }
            schedule_frame();
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
        let stored = browser::storage_get(store::AGENTS_KEY);
        let saved = stored
            .clone()
            .and_then(|text| store::parse_saved(text.as_deref()).map_err(|e| e.to_string()));
        let view = saved.as_ref().map(|l| l.view).unwrap_or_default();
        // Read apart from the agents: unreadable rules are the defaults, and the list loads.
        let (rules, origin) =
            store::saved_rules(stored.as_ref().ok().and_then(|text| text.as_deref()));
        let permission = Permission::parse(browser::notification_permission());
        let dashboard = Dashboard {
            agents: RwSignal::new(Vec::new()),
            filter: RwSignal::new(String::new()),
            theme: RwSignal::new(theme),
            view: RwSignal::new(view),
            storage_warning: RwSignal::new(None),
            link_mode: RwSignal::new(query.agents.is_some()),
            link_rejected: RwSignal::new(roster::link_problems(&query)),
            import_result: RwSignal::new(None),
            selected: RwSignal::new(None),
            detail: RwSignal::new(None),
            health_log: RwSignal::new(HealthLog::NotAsked),
            now: RwSignal::new(now_ms()),
            fleet: FleetSignals::new(),
            events: EventSignals::new(),
            attention: AttentionSignals::new(rules.clone(), origin, permission),
            debug: query.debug,
        };
        provide_context(dashboard);
        with_runtime(|rt| {
            rt.theme = theme;
            rt.debug = query.debug;
            rt.perf = query.perf;
            rt.view = view;
            rt.detail_signal = Some(dashboard.detail);
            rt.health_signal = Some(dashboard.health_log);
            rt.fleet.signals = Some(dashboard.fleet);
            rt.events = Some(dashboard.events);
            rt.attention = Attention::new(rules);
            rt.attention_signals = Some(dashboard.attention);
        });

        let saved: Option<store::AgentList> = match saved {
            Ok(list) => Some(list),
            Err(problem) => {
                dashboard
                    .storage_warning
                    .set(Some(text::saved_list_unreadable(&problem)));
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
        // The title says how many alerts hold: "(2) ⚠ Dockscope", "Dockscope" when all clear.
        let count = self.attention.count;
        Effect::new(move |_| browser::set_title(&attention::page_title(count.get())));
        let online = window_event_listener(leptos::ev::online, move |_| self.retry_all());
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            with_runtime(|rt| rt.resize_charts());
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
        // The merged event feed's choices: drawn anew in the next frames.
        let events = self.events;
        Effect::new(move |_| {
            events.kind.track();
            events.filter.track();
            events.limit.track();
            with_runtime(|rt| rt.events_forced = true);
            schedule_frame();
        });
        let selected = self.selected;
        let (health_log, detail) = (self.health_log, self.detail);
        Effect::new(move |_| {
            let selection = selected.get();
            // Nothing of the previous container shows while the new one's figures are drawn.
            health_log.set(HealthLog::NotAsked);
            detail.set(None);
            with_runtime(|rt| {
                rt.selection = selection;
                rt.detail_dirty = true;
            });
            schedule_frame();
        });
        let view = self.view;
        Effect::new(move |previous: Option<ViewPrefs>| {
            let prefs = view.get();
            if previous.is_some_and(|p| p != prefs) {
                with_runtime(|rt| {
                    rt.view = prefs;
                    rt.redraw_rows = true;
                });
                schedule_frame();
                self.save_view(prefs);
            }
            prefs
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
                    rt.reset_charts();
                });
                schedule_frame();
            }
            theme
        });
    }

    /// Starts showing and connecting to `url` (already normalised).
    fn open_agent(self, url: String, token: Option<String>) {
        let (wake, wake_rx) = unbounded();
        let view = with_runtime(|rt| rt.add_agent(url.clone(), token, wake));
        let key = view.key;
        let token = view.token.clone();
        self.agents.update(|agents| agents.push(view));
        // Each attempt asks for the history after the newest sample the card has, and never
        // for more than the card keeps (an agent keeps 15 minutes; the page shows 5).
        let address = move || {
            let (newest, offset) = with_runtime(|rt| {
                rt.agents.get(&key).map_or((None, None), |a| {
                    (
                        a.model.newest_agent_ms,
                        a.model.clock.last_known_offset_ms(),
                    )
                })
            });
            // The agent's "now", as far as the page knows its clock (a skew of minutes would
            // otherwise ask for nothing, or for everything).
            let agent_now = browser::now_ms() - offset.unwrap_or(0.0);
            url::with_since(&url, Some(url::since(newest, agent_now)))
        };
        spawn_local(conn::run(address, token, wake_rx, move |event| {
            on_event(key, event)
        }));
    }

    /// Adds the agent typed or pasted into the add box, with its token if one was given.
    ///
    /// # Errors
    /// The message to show inline; nothing changed.
    pub fn add_from_input(self, input: &str, token: &str) -> Result<(), String> {
        let (url, token) = roster::new_agent(input, token, &self.urls())?;
        self.open_agent(url, token);
        self.persist();
        Ok(())
    }

    /// Sets or clears one agent's token and reconnects with it.
    ///
    /// # Errors
    /// The message to show inline; nothing changed.
    pub fn set_token(self, key: u32, input: &str) -> Result<(), String> {
        let token = roster::parse_token_input(input)?;
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

    /// Removes the agent's card and closes its connection.
    pub fn remove_agent(self, key: u32) {
        with_runtime(|rt| rt.remove_agent(key));
        // Its alerts leave the list and the title.
        schedule_frame();
        if self
            .selected
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.is_on(key)))
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
    pub fn sort_by(self, key: u32, column: SortKey) {
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
        self.selected
            .update(|s| *s = Selection::toggled(s.take(), next));
    }

    /// Closes the detail chart.
    pub fn clear_selection(self) {
        self.selected.set(None);
    }

    /// Asks the selected container's agent for its health log (contract 5), on that agent's
    /// socket; the answer is folded by `ingest` and shown by the detail panel.
    pub fn request_health_log(self) {
        let Some(selection) = self.selected.get_untracked() else {
            return;
        };
        let request = dockscope_protocol::ClientMessage::HealthLogRequest {
            id: selection.container_id.clone(),
        };
        let Ok(text) = request.encode() else {
            return;
        };
        with_runtime(|rt| {
            if let Some(agent) = rt.agents.get_mut(&selection.agent_key) {
                agent.model.health_answer = None;
                let _ = agent.wake.unbounded_send(Wake::Send(text));
            }
        });
        self.health_log
            .set(HealthLog::Waiting { since_ms: now_ms() });
    }

    /// Shows or hides one column on every card.
    pub fn toggle_column(self, key: &str) {
        self.view.update(|v| v.columns = v.columns.toggled(key));
    }

    /// Switches what every CPU figure is a percentage of.
    pub fn set_cpu_scale(self, scale: CpuScale) {
        self.view.update(|v| v.cpu_scale = scale);
    }

    /// Groups rows by compose project, or lists them flat again.
    pub fn toggle_grouped(self) {
        self.view.update(|v| v.grouped = !v.grouped);
    }

    /// The fleet view instead of the cards, or back.
    pub fn toggle_fleet(self) {
        self.view.update(|v| v.fleet = !v.fleet);
    }

    /// A column header of the fleet table clicked.
    pub fn fleet_sort_by(self, column: SortKey) {
        self.fleet.sort.update(|spec| *spec = spec.clicked(column));
        with_runtime(|rt| rt.fleet_forced = true);
        schedule_frame();
    }

    /// Folds or unfolds one compose group on one card.
    pub fn toggle_group(self, agent_key: u32, group_id: String) {
        with_runtime(|rt| {
            if let Some(agent) = rt.agents.get_mut(&agent_key) {
                if !agent.collapsed.remove(&group_id) {
                    agent.collapsed.insert(group_id.clone());
                }
                // The header row shows whether it is folded: draw it anew with the order.
                agent.pending_rows.insert(group_id);
                agent.force_order();
            }
        });
        schedule_frame();
    }

    /// Saves the view settings into the stored record, leaving its agents alone (a `?agents=`
    /// link does not replace the saved list; corrupt stored text is not overwritten).
    fn save_view(self, prefs: ViewPrefs) {
        let stored = browser::storage_get(store::AGENTS_KEY).ok().flatten();
        let Some(text) = store::with_view(stored.as_deref(), prefs) else {
            return;
        };
        if let Err(e) = browser::storage_set(store::AGENTS_KEY, &text) {
            self.storage_warning
                .set(Some(text::saved_list_not_saved(&e)));
        }
    }

    /// The shown agents and their tokens, as saved in localStorage, with the view settings.
    fn agent_list(self) -> store::AgentList {
        let mut list = self.agents.with_untracked(|agents| {
            roster::saved_list(
                agents
                    .iter()
                    .map(|v| (v.url.as_str(), v.token.get_untracked())),
            )
        });
        list.view = self.view.get_untracked();
        list
    }

    /// Saves the list, unless the page shows a `?agents=` link (then it is saved only when the
    /// user asks with "keep these agents").
    fn persist(self) {
        if self.link_mode.get_untracked() {
            return;
        }
        let rules = self.attention.rules.get_untracked();
        let text = store::serialize(&self.agent_list(), &rules);
        match browser::storage_set(store::AGENTS_KEY, &text) {
            Ok(()) => self.storage_warning.set(None),
            Err(e) => self
                .storage_warning
                .set(Some(text::saved_list_not_saved(&e))),
        }
    }

    /// "Keep these agents": the link's agents become the saved list.
    pub fn keep_link_agents(self) {
        self.link_mode.set(false);
        self.persist();
        browser::replace_search(&query::without_agents(&browser::location_search()));
    }

    pub fn export(self) {
        let text = store::serialize_export(&self.urls(), &self.attention.rules.get_untracked());
        if let Err(e) = browser::download_text(store::EXPORT_FILE_NAME, "application/json", &text) {
            self.import_result.set(Some(Err(text::export_failed(&e))));
        }
    }

    /// Adds the agents of an imported file that are not shown yet, and takes its alert rules
    /// when it has them (a file without, an older export or a bare list, keeps the page's).
    /// A file whose agents or rules are refused changes nothing.
    pub fn import_text(self, file_text: &str) {
        let read = store::parse_import(file_text)
            .map_err(text::import_failed)
            .and_then(|list| {
                let rules = store::imported_rules(file_text).map_err(text::import_failed)?;
                Ok((list, rules))
            });
        let (list, rules) = match read {
            Ok(read) => read,
            Err(message) => {
                self.import_result.set(Some(Err(message)));
                return;
            }
        };
        let plan = roster::import(&list, &self.urls());
        for (url, token) in plan.added {
            self.open_agent(url, token);
        }
        let mut message = plan.message;
        let changed = rules.filter(|r| self.attention.rules.with_untracked(|now| now != r));
        if let Some(rules) = changed {
            message.push_str(&text::imported_rules(rules.len()));
            self.apply_rules(rules);
            // With the agents (or, under a `?agents=` link, beside the saved list).
            self.save_rules();
        } else {
            self.persist();
        }
        self.import_result.set(Some(Ok(message)));
    }

    /// "Save rules" in the editor: the rules its drafts say, applied from the next batch and
    /// saved with the agent list.
    ///
    /// # Errors
    /// Why they cannot be (a field that is not a number, a rule the rules crate refuses,
    /// named by its place): nothing changed.
    pub fn save_rule_drafts(self, drafts: &[Draft]) -> Result<(), String> {
        let rules = rule_form::to_rules(drafts)?;
        self.apply_rules(rules);
        self.save_rules();
        Ok(())
    }

    /// The rules in force from now on (alerts of changed rules clear, and fire again when the
    /// new rule holds).
    fn apply_rules(self, rules: Vec<Rule>) {
        with_runtime(|rt| rt.attention.set_rules(rules.clone()));
        schedule_frame();
        self.attention.rules.set(rules);
        self.attention.origin.set(RulesOrigin::Saved);
    }

    /// Saves the rules with the agent list; while the page shows a `?agents=` link, beside
    /// the saved list, which stays as it is (corrupt stored text is not overwritten).
    fn save_rules(self) {
        if !self.link_mode.get_untracked() {
            self.persist();
            return;
        }
        let rules = self.attention.rules.get_untracked();
        let stored = browser::storage_get(store::AGENTS_KEY).ok().flatten();
        let Some(text) = store::with_rules(stored.as_deref(), &rules) else {
            return;
        };
        if let Err(e) = browser::storage_set(store::AGENTS_KEY, &text) {
            self.storage_warning
                .set(Some(text::saved_list_not_saved(&e)));
        }
    }

    /// "Notify me": the browser asks the user once; the answer is shown, and never asked for
    /// again by the page (a "denied" stays until the user changes the site's settings).
    pub fn ask_for_notifications(self) {
        let permission = self.attention.permission;
        spawn_local(async move {
            let answer = browser::request_notification_permission().await;
            permission.set(Permission::parse(answer));
        });
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
