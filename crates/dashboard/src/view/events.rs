//! The event feeds: the merged one under the header (every agent's events, newest first,
//! filtered by text and kind, a page at a time) and each card's few newest. Lines come keyed
//! from `frame.rs`, which writes them in a frame of their own; only new lines become elements.

use leptos::prelude::*;

use crate::events::{EventKind, EventLine, FEED_PAGE};
use crate::frame::clock_time;
use crate::state::Dashboard;
use crate::text;

/// One line: time, host (merged feed only), container, what happened.
fn line_view(line: EventLine, with_host: bool) -> impl IntoView {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(line.t_ms));
    let absolute: String = date.to_string().into();
    let name = line.container.clone();
    view! {
        <li class="event" class:problem=line.problem data-testid="event-line"
            data-action=line.action data-problem=line.problem.to_string()
            data-container=name data-t=line.t_ms.round().to_string()>
            <time class="event-time" title=absolute>{clock_time(line.t_ms)}</time>
            {with_host.then(|| view! { <span class="event-host" data-testid="event-host">{line.host.clone()}</span> })}
            <span class="event-container" data-testid="event-container" title=line.container_id>{line.container}</span>
            <span class="event-text" data-testid="event-text">{line.text}</span>
        </li>
    }
}

/// The merged feed: a collapsible panel under the header.
#[component]
pub fn EventsPanel() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let events = dashboard.events;
    let kinds = EventKind::ALL
        .iter()
        .map(|kind| {
            let value = kind.as_str();
            view! { <option value=value>{text::event_kind_label(value)}</option> }
        })
        .collect_view();
    let summary = move || {
        let (shown, matching) = events.counts.get();
        format!(
            "{} ({})",
            text::EVENTS_TITLE,
            text::events_shown(shown, matching)
        )
    };
    view! {
        <details class="events-panel" data-testid="events-panel" open>
            <summary>{summary}</summary>
            <div class="events-controls">
                <label for="events-filter" class="visually-hidden">{text::EVENTS_FILTER_LABEL}</label>
                <input id="events-filter" data-testid="events-filter" type="search"
                    autocomplete="off" placeholder=text::EVENTS_FILTER_PLACEHOLDER
                    prop:value=move || events.filter.get()
                    on:input=move |ev| {
                        events.filter.set(event_target_value(&ev));
                        events.limit.set(FEED_PAGE);
                    } />
                <label for="events-kind" class="visually-hidden">{text::EVENTS_KIND_LABEL}</label>
                <select id="events-kind" data-testid="events-kind"
                    prop:value=move || events.kind.get().as_str()
                    on:change=move |ev| {
                        if let Some(kind) = EventKind::parse(&event_target_value(&ev)) {
                            events.kind.set(kind);
                            events.limit.set(FEED_PAGE);
                        }
                    }>
                    {kinds}
                </select>
            </div>
            <ol class="events-feed" data-testid="events-feed" aria-label=text::EVENTS_REGION>
                <For each=move || events.lines.get() key=|line| line.key.clone() let:line>
                    {line_view(line, true)}
                </For>
            </ol>
            {move || {
                let (shown, matching) = events.counts.get();
                let empty = if events.filter.with(|f| f.trim().is_empty())
                    && events.kind.get() == EventKind::All
                {
                    text::NO_EVENTS
                } else {
                    text::NO_MATCHING_EVENTS
                };
                if matching == 0 {
                    Some(view! { <p class="placeholder" data-testid="no-events">{empty}</p> }.into_any())
                } else if shown < matching {
                    Some(view! {
                        <button type="button" data-testid="events-more"
                            on:click=move |_| events.limit.update(|l| *l += FEED_PAGE)>
                            {text::SHOW_MORE_EVENTS}
                        </button>
                    }.into_any())
                } else {
                    None
                }
            }}
        </details>
    }
}

/// A card's own newest events.
#[component]
pub fn CardEvents(lines: ArcRwSignal<Vec<EventLine>>) -> impl IntoView {
    let has_lines = {
        let lines = lines.clone();
        move || lines.with(|l| !l.is_empty())
    };
    view! {
        <Show when=has_lines>
            <h3 class="chart-title">{text::CARD_EVENTS_TITLE}</h3>
            <ol class="events-feed card-events" data-testid="card-events">
                {
                    let lines = lines.clone();
                    view! {
                        <For each=move || lines.get() key=|line| line.key.clone() let:line>
                            {line_view(line, false)}
                        </For>
                    }
                }
            </ol>
        </Show>
    }
}
