//! The attention panel at the top of the page: every alert that holds (container, agent,
//! cause, since when), newest first; the notification switch; and the rules editor. The list
//! comes from `frame.rs`; the rules and the permission change through `Dashboard` actions.

use leptos::prelude::*;

use crate::attention::{AlertLine, Permission};
use crate::format;
use crate::frame::clock_time;
use crate::rule_form::{self, Draft, Kind};
use crate::state::Dashboard;
use crate::store::RulesOrigin;
use crate::text;

#[component]
pub fn AttentionPanel() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let attention = dashboard.attention;
    let editing = RwSignal::new(false);
    let count = attention.count;
    let summary = move || match count.get() {
        0 => text::ALL_CLEAR.to_owned(),
        n => text::attention_count(n),
    };
    let warning = move || match attention.origin.get() {
        RulesOrigin::Unreadable(problem) => Some(text::rules_unreadable(&problem)),
        RulesOrigin::Saved | RulesOrigin::NoneSaved => None,
    };
    let alerting = move || count.get() > 0;
    view! {
        <section class="attention-panel" data-testid="attention-panel"
            class:alerting=alerting aria-label=text::ATTENTION_REGION>
            <div class="attention-head">
                <h2>{text::ATTENTION_TITLE}</h2>
                <span class="attention-count" data-testid="attention-count">{summary}</span>
                <span class="spacer"></span>
                <NotifyControl />
                <button type="button" data-testid="rules-toggle"
                    aria-expanded=move || editing.get().to_string()
                    on:click=move |_| editing.update(|open| *open = !*open)>
                    {text::RULES_BUTTON}
                </button>
            </div>
            {move || warning().map(|w| view! {
                <p class="banner warning" role="alert" data-testid="rules-warning">{w}</p>
            })}
            <ol class="attention-list" data-testid="attention-list">
                // Keyed by the alert and its cause: a line whose figures moved is drawn anew
                // (at most `attention::LIST_LINES`, once a second).
                <For each=move || attention.lines.get()
                    key=|line| (line.key.clone(), line.cause.clone()) let:line>
                    {alert_line(line, dashboard.now)}
                </For>
            </ol>
            {move || {
                let more = count.get().saturating_sub(attention.lines.with(Vec::len));
                (more > 0).then(|| view! {
                    <p class="more" data-testid="attention-more">{text::attention_more(more)}</p>
                })
            }}
            <Show when=move || editing.get()>
                <RulesEditor />
            </Show>
        </section>
    }
}

/// One alert: container, agent, cause (the rule on hover), since when.
fn alert_line(line: AlertLine, now: RwSignal<f64>) -> impl IntoView {
    let since_ms = line.since_ms;
    let absolute: String = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(since_ms))
        .to_string()
        .into();
    let since =
        move || text::attention_since(&clock_time(since_ms), &format::ago(now.get() - since_ms));
    let (agent, container) = (line.agent.clone(), line.container.clone());
    view! {
        <li class="alert" data-testid="alert-line" data-agent=agent
            data-container=container data-since=since_ms.round().to_string()>
            <span class="alert-mark" aria-hidden="true">{text::ATTENTION_MARK}</span>
            <span class="alert-container" data-testid="alert-container" title=line.container_id>
                {line.container}
            </span>
            <span class="alert-agent" data-testid="alert-agent">{line.agent}</span>
            <span class="alert-cause" data-testid="alert-cause" title=line.rule>{line.cause}</span>
            <time class="alert-since" data-testid="alert-since" title=absolute>{since}</time>
        </li>
    }
}

/// "Notify me" until the user has answered; then what they said. Never asks by itself.
#[component]
fn NotifyControl() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let permission = dashboard.attention.permission;
    move || {
        let state = permission.get();
        match state {
            Permission::Ask => view! {
                <button type="button" data-testid="notify-button" title=text::NOTIFY_BUTTON_TIP
                    on:click=move |_| dashboard.ask_for_notifications()>
                    {text::NOTIFY_BUTTON}
                </button>
            }
            .into_any(),
            _ => {
                let (words, tip) = match state {
                    Permission::Granted => (text::NOTIFICATIONS_ON, text::NOTIFY_BUTTON_TIP),
                    Permission::Denied => {
                        (text::NOTIFICATIONS_BLOCKED, text::NOTIFICATIONS_BLOCKED_TIP)
                    }
                    _ => (
                        text::NOTIFICATIONS_UNAVAILABLE,
                        text::NOTIFICATIONS_UNAVAILABLE_TIP,
                    ),
                };
                view! {
                    <span class="notify-state" data-testid="notify-state"
                        data-permission=state.as_str() title=tip>{words}</span>
                }
                .into_any()
            }
        }
    }
}

/// The rules as a form: each rule's switch, numbers, container pattern and agent; add,
/// remove; "Save rules" applies and saves them, or says why not and saves nothing.
#[component]
fn RulesEditor() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let attention = dashboard.attention;
    let rules = attention.rules;
    // Draft ids only key elements: never reused while the form is open.
    let next_id = StoredValue::new(0u32);
    let fresh = move || {
        let rules = rules.get_untracked();
        let first = next_id.get_value();
        next_id.set_value(first + rules.len() as u32);
        rule_form::drafts(&rules, first)
    };
    let drafts = RwSignal::new(fresh());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    // Rules replaced elsewhere (an import): the form shows them.
    Effect::new(move |previous: Option<()>| {
        rules.track();
        if previous.is_some() {
            drafts.set(fresh());
        }
    });
    let dirty = Memo::new(move |_| drafts.with(|d| rules.with(|r| rule_form::differs(d, r))));
    let edited = move || {
        error.set(None);
        saved.set(false);
    };
    let add_kind = RwSignal::new(Kind::MemoryAbove);
    let add = move |_| {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        drafts.update(|d| d.push(Draft::new(add_kind.get_untracked(), id)));
        edited();
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match dashboard.save_rule_drafts(&drafts.get_untracked()) {
            Ok(()) => {
                error.set(None);
                saved.set(true);
            }
            Err(problem) => {
                saved.set(false);
                error.set(Some(text::rules_not_saved(&problem)));
            }
        }
    };
    let discard = move |_| {
        drafts.set(fresh());
        edited();
    };
    let defaults = move |_| {
        let first = next_id.get_value();
        let rules = dockscope_rules::default_rules();
        next_id.set_value(first + rules.len() as u32);
        drafts.set(rule_form::drafts(&rules, first));
        edited();
    };
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| view! { <option value=kind.as_str()>{kind.label()}</option> })
        .collect_view();
    // The agents on the page, offered in each rule's agent field.
    let agent_ids = move || {
        let mut ids: Vec<String> = dashboard.agents.with(|agents| {
            agents
                .iter()
                .filter_map(|a| {
                    a.status
                        .with(|s| s.as_ref().map(|s| s.status.agent_id.clone()))
                })
                .collect()
        });
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .map(|id| view! { <option value=id></option> })
            .collect_view()
    };
    view! {
        <form class="rules-editor" data-testid="rules-editor" on:submit=save novalidate>
            <h3>{text::RULES_TITLE}</h3>
            <p class="hint">{text::RULES_HINT}</p>
            <Show when=move || attention.origin.with(|o| *o == RulesOrigin::NoneSaved)>
                <p class="hint" data-testid="rules-defaults-note">{text::RULES_DEFAULTS_NOTE}</p>
            </Show>
            <datalist id="rule-agent-ids">{agent_ids}</datalist>
            <ol class="rules-list">
                <For each=move || drafts.get() key=|draft| draft.id let:draft>
                    {rule_row(draft, drafts, edited)}
                </For>
            </ol>
            <div class="rules-actions">
                <label for="add-rule-kind" class="visually-hidden">{text::ADD_RULE_KIND}</label>
                <select id="add-rule-kind" data-testid="add-rule-kind"
                    prop:value=move || add_kind.get().as_str()
                    on:change=move |ev| {
                        if let Some(kind) = Kind::parse(&event_target_value(&ev)) {
                            add_kind.set(kind);
                        }
                    }>
                    {kinds}
                </select>
                <button type="button" data-testid="add-rule" on:click=add>{text::ADD_RULE}</button>
                <span class="spacer"></span>
                <span class="rules-dirty" data-testid="rules-dirty" hidden=move || !dirty.get()>
                    {text::UNSAVED_RULES}
                </span>
                <span class="rules-saved" data-testid="rules-saved" role="status"
                    hidden=move || !saved.get()>
                    {text::RULES_SAVED}
                </span>
                <button type="button" data-testid="default-rules" on:click=defaults>
                    {text::DEFAULT_RULES}
                </button>
                <button type="button" data-testid="discard-rules" on:click=discard>
                    {text::DISCARD_RULES}
                </button>
                <button type="submit" data-testid="save-rules">{text::SAVE_RULES}</button>
            </div>
            <p class="inline-error" role="alert" data-testid="rules-error"
                hidden=move || error.with(Option::is_none)>
                {move || error.get().unwrap_or_default()}
            </p>
        </form>
    }
}

/// One rule of the form, drawn from its draft as it was when the row was made: the fields then
/// hold what is typed, and write it into the draft `draft.id` of `drafts`. (What replaces the
/// drafts — discard, defaults, a save, an import — gives them new ids, so new rows.)
fn rule_row(
    draft: Draft,
    drafts: RwSignal<Vec<Draft>>,
    edited: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = draft.id;
    let kind = draft.kind;
    let write = move |change: Box<dyn FnOnce(&mut Draft)>| {
        drafts.update(|all| {
            if let Some(draft) = all.iter_mut().find(|d| d.id == id) {
                change(draft);
            }
        });
        edited();
    };
    let numbers = kind
        .fields()
        .iter()
        .map(|&field| {
            let (before, after) = field.label();
            view! {
                <label class="rule-number">
                    {before}
                    <input type="text" inputmode="decimal" size="4" autocomplete="off"
                        data-testid=format!("rule-{}", field.key())
                        prop:value=draft.value(field).to_owned()
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            write(Box::new(move |d| d.set(field, value)));
                        } />
                    {after}
                </label>
            }
        })
        .collect_view();
    view! {
        <li class="rule" data-testid="rule" data-kind=kind.as_str()>
            <label class="rule-enabled">
                <input type="checkbox" data-testid="rule-enabled" prop:checked=draft.enabled
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        write(Box::new(move |d| d.enabled = on));
                    } />
                {text::RULE_ENABLED}
            </label>
            <span class="rule-kind" data-testid="rule-kind">{kind.label()}</span>
            {numbers}
            <label class="rule-scope">
                {text::RULE_CONTAINERS}
                <input type="text" size="10" autocomplete="off" spellcheck="false"
                    data-testid="rule-containers" prop:value=draft.containers
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        write(Box::new(move |d| d.containers = value));
                    } />
            </label>
            <label class="rule-scope">
                {text::RULE_AGENT}
                <input type="text" size="10" autocomplete="off" spellcheck="false"
                    list="rule-agent-ids" data-testid="rule-agent"
                    placeholder=text::RULE_AGENT_PLACEHOLDER prop:value=draft.agent
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        write(Box::new(move |d| d.agent = value));
                    } />
            </label>
            <button type="button" data-testid="remove-rule"
                on:click=move |_| {
                    drafts.update(|all| all.retain(|d| d.id != id));
                    edited();
                }>
                {text::REMOVE_RULE}
            </button>
        </li>
    }
}
