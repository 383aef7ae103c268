//! One agent: connection state, facts from `agent_status`, charts and the container table.

use leptos::prelude::*;

use crate::format;
use crate::present;
use crate::state::{AgentView, Dashboard};
use crate::text::{self, TOKEN_STORAGE_NOTE};
use crate::view::detail::DetailPanel;
use crate::view::events::CardEvents;
use crate::view::table::ContainerTable;

/// Characters of the engine's error shown on the card; the whole kept text is on hover.
const ENGINE_ERROR_SHOWN_CHARS: usize = 120;

#[component]
pub fn AgentCard(agent: AgentView) -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let now = dashboard.now;
    let key = agent.key;

    let conn = agent.conn.clone();
    let label = {
        let conn = conn.clone();
        move || conn.with(|c| c.label())
    };
    let detail = {
        let conn = conn.clone();
        move || conn.with(|c| c.detail(now.get()))
    };
    let is_live = {
        let conn = conn.clone();
        move || conn.with(|c| c.is_live())
    };

    let status = agent.status.clone();
    // The agent id, cut; the whole id (as kept) on hover.
    let title_parts = {
        let (status, url) = (status.clone(), agent.url.clone());
        Memo::new(move |_| {
            status.with(|s| {
                present::agent_title(s.as_ref().map(|s| s.status.agent_id.as_str()), &url)
            })
        })
    };
    let title = move || title_parts.with(|(shown, _)| shown.clone());
    let title_tooltip = move || title_parts.with(|(_, whole)| whole.clone());
    let synthetic = {
        let status = status.clone();
        move || {
            status.with(|s| {
                s.as_ref()
                    .is_some_and(|s| s.status.features.iter().any(|f| f == "synthetic"))
            })
        }
    };
    let version = {
        let status = status.clone();
        move || {
            status.with(|s| {
                s.as_ref()
                    .map(|s| format::truncate(&s.status.version, 40).into_owned())
                    .unwrap_or_else(|| text::UNKNOWN.into())
            })
        }
    };
    let uptime = {
        let status = status.clone();
        move || {
            let now = now.get();
            status.with(|s| match s {
                Some(s) => present::agent_uptime(s.status.uptime_secs, s.received_ms, now),
                None => text::UNKNOWN.into(),
            })
        }
    };
    let engine = {
        let status = status.clone();
        move || {
            status.with(|s| match s {
                None => text::UNKNOWN.to_owned(),
                Some(s) if s.status.engine_reachable.is_none() => text::NOT_REPORTED.to_owned(),
                Some(s) if s.status.engine_reachable == Some(true) => {
                    match &s.status.engine_version {
                        Some(v) => text::reachable_with(v),
                        None => text::REACHABLE.to_owned(),
                    }
                }
                Some(s) => match &s.status.engine_error {
                    // The whole (kept) reason is in the tooltip.
                    Some(e) => {
                        text::unreachable_because(&format::truncate(e, ENGINE_ERROR_SHOWN_CHARS))
                    }
                    None => text::UNREACHABLE.to_owned(),
                },
            })
        }
    };
    let engine_tooltip = {
        let status = status.clone();
        move || {
            status.with(|s| {
                s.as_ref()
                    .and_then(|s| s.status.engine_error.clone())
                    .unwrap_or_default()
            })
        }
    };
    let last_update = {
        let last = agent.last_batch_local_ms.clone();
        move || {
            let now = now.get();
            last.with(|l| match l {
                Some(at) => format::ago(now - at),
                None => text::NEVER.into(),
            })
        }
    };
    let cost = agent.agent_cost.clone();
    let host = agent.host.clone();
    let has_host = {
        let host = host.clone();
        move || host.with(Option::is_some)
    };
    let clock_note = agent.clock_note.clone();
    let has_clock_note = {
        let clock_note = clock_note.clone();
        move || clock_note.with(Option::is_some)
    };
    let not_kept = agent.not_kept.clone();
    let has_not_kept = {
        let not_kept = not_kept.clone();
        move || not_kept.get() > 0
    };
    let frame_error = agent.frame_error.clone();
    let has_frame_error = {
        let frame_error = frame_error.clone();
        move || frame_error.with(Option::is_some)
    };
    let selected_here = move || {
        dashboard
            .selected
            .with(|s| s.as_ref().is_some_and(|s| s.agent_key == key))
    };
    let chart_id = agent.chart().element_id();
    let url = agent.url.clone();
    let remove_label = text::remove_agent_label(&url);
    let state_label = label.clone();
    let badge_state = label.clone();
    let url_attr = url.clone();
    let editing_token = RwSignal::new(false);
    let token_signal = agent.token.clone();
    let token_state = {
        let token = agent.token.clone();
        move || {
            if token.with(Option::is_some) {
                text::TOKEN_SET
            } else {
                text::NO_TOKEN
            }
        }
    };

    let attention = agent.attention.clone();
    let alerting = {
        let attention = attention.clone();
        move || attention.with(Option::is_some)
    };

    view! {
        <section class="card" data-testid="agent-card" data-agent-url=url_attr data-state=state_label
            class:attention=alerting>
            <header class="card-head">
                <h2 data-testid="agent-name" title=title_tooltip>{title}</h2>
                <span class="state" data-state=badge_state data-testid="agent-state">{label}</span>
                {move || attention.get().map(|(count, tip)| view! {
                    <span class="badge attention-badge" data-testid="card-attention" title=tip>
                        {format!("{} {}", text::ATTENTION_MARK, text::card_attention(count))}
                    </span>
                })}
                <Show when=synthetic.clone()>
                    <span class="badge synthetic" data-testid="synthetic-badge">{text::SYNTHETIC_BADGE}</span>
                </Show>
                <span class="spacer"></span>
                <Show when=move || !is_live()>
                    <button type="button" data-testid="retry-now" on:click=move |_| dashboard.retry(key)>
                        {text::RETRY_NOW}
                    </button>
                </Show>
                <button
                    type="button"
                    data-testid="edit-token"
                    aria-expanded=move || editing_token.get().to_string()
                    on:click=move |_| editing_token.update(|open| *open = !*open)
                >
                    {text::TOKEN_BUTTON}
                </button>
                <button
                    type="button"
                    data-testid="remove-agent"
                    aria-label=remove_label
                    on:click=move |_| dashboard.remove_agent(key)
                >
                    {text::REMOVE_BUTTON}
                </button>
            </header>
            <p class="state-detail" data-testid="agent-state-detail">{detail}</p>
            <Show when=move || editing_token.get()>
                <TokenForm key=key token=token_signal.clone() open=editing_token />
            </Show>
            <dl class="facts">
                <div><dt>{text::FACT_ADDRESS}</dt><dd data-testid="agent-url">{url}</dd></div>
                <div><dt>{text::FACT_ACCESS}</dt><dd data-testid="agent-token-state">{token_state}</dd></div>
                <div><dt>{text::FACT_VERSION}</dt><dd data-testid="agent-version">{version}</dd></div>
                <div><dt>{text::FACT_UPTIME}</dt><dd data-testid="agent-uptime">{uptime}</dd></div>
                <div><dt>{text::FACT_ENGINE}</dt><dd data-testid="engine-state" title=engine_tooltip>{engine}</dd></div>
                <div><dt>{text::FACT_LAST_UPDATE}</dt><dd data-testid="last-update">{last_update}</dd></div>
                <div><dt>{text::FACT_COST}</dt><dd data-testid="agent-cost">{move || cost.get()}</dd></div>
                <Show when=has_clock_note.clone()>
                    <div><dt>{text::FACT_CLOCK}</dt><dd data-testid="clock-note">
                        {
                            let clock_note = clock_note.clone();
                            move || clock_note.get().unwrap_or_default()
                        }
                    </dd></div>
                </Show>
            </dl>
            <Show when=has_host.clone()>
                <dl class="host-strip" data-testid="host-strip" aria-label=text::HOST_STRIP_LABEL>
                    {
                        let host = host.clone();
                        move || host.get().unwrap_or_default().into_iter().map(|fact| view! {
                            <div data-testid=format!("host-{}", fact.key)>
                                <dt>{fact.label}</dt><dd>{fact.value}</dd>
                            </div>
                        }).collect_view()
                    }
                </dl>
            </Show>
            <Show when=has_not_kept.clone()>
                <p class="frame-error" role="status" data-testid="not-kept">
                    {
                        let not_kept = not_kept.clone();
                        move || text::not_kept(not_kept.get(), crate::ingest::MAX_CONTAINERS)
                    }
                </p>
            </Show>
            <Show when=has_frame_error>
                <p class="frame-error" role="status" data-testid="frame-error">
                    <strong>{text::MALFORMED_MESSAGE}</strong>
                    {
                        let frame_error = frame_error.clone();
                        move || frame_error.get().unwrap_or_default()
                    }
                </p>
            </Show>
            <h3 class="chart-title">{text::TOTALS_CHART_TITLE}</h3>
            <div class="chart" id=chart_id data-testid="totals-chart" role="img"
                aria-label=text::TOTALS_CHART_LABEL></div>
            <Show when=selected_here>
                <DetailPanel />
            </Show>
            <ContainerTable agent=agent.clone() />
            <CardEvents lines=agent.events.clone() />
        </section>
    }
}

/// Sets, replaces or clears the token of one agent; saving reconnects with it.
#[component]
fn TokenForm(key: u32, token: ArcRwSignal<Option<String>>, open: RwSignal<bool>) -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let input = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let save = move |text: String| match dashboard.set_token(key, &text) {
        Ok(()) => {
            input.set(String::new());
            error.set(None);
            open.set(false);
        }
        Err(message) => error.set(Some(message)),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save(input.get_untracked());
    };
    let error_id = format!("token-error-{key}");
    let input_id = format!("token-input-{key}");
    view! {
        <form class="token-form" data-testid="token-form" on:submit=submit novalidate>
            <label for=input_id.clone()>
                {move || if token.with(Option::is_some) { text::REPLACE_TOKEN_FIELD } else { text::TOKEN_FIELD }}
            </label>
            <input
                id=input_id
                data-testid="token-input"
                type="password"
                autocomplete="off"
                aria-describedby=error_id.clone()
                prop:value=move || input.get()
                on:input=move |ev| {
                    input.set(event_target_value(&ev));
                    error.set(None);
                }
            />
            <button type="submit" data-testid="save-token">{text::SAVE_TOKEN}</button>
            <button type="button" data-testid="clear-token" on:click=move |_| save(String::new())>
                {text::CLEAR_TOKEN}
            </button>
            <p class="hint">{TOKEN_STORAGE_NOTE}</p>
            <p id=error_id class="inline-error" role="alert" data-testid="token-error"
                hidden=move || error.with(Option::is_none)>
                {move || error.get().unwrap_or_default()}
            </p>
        </form>
    }
}
