//! The top bar (add box, filter, theme, import/export) and the banners under it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::browser;
use crate::state::Dashboard;

use crate::text::{self, TOKEN_STORAGE_NOTE};

#[component]
pub fn Header() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let input = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match dashboard.add_from_input(&input.get_untracked(), &token.get_untracked()) {
            Ok(()) => {
                input.set(String::new());
                token.set(String::new());
                error.set(None);
            }
            Err(message) => error.set(Some(message)),
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            match browser::read_chosen_file(&target).await {
                Ok(Some(text)) => dashboard.import_text(&text),
                Ok(None) => {}
                Err(e) => dashboard.import_result.set(Some(Err(e))),
            }
            // Choosing the same file again must fire `change` again.
            target.set_value("");
        });
    };
    let theme = dashboard.theme;
    view! {
        <header class="topbar">
            <h1>{text::APP_NAME}</h1>
            <form class="add-agent" on:submit=submit novalidate>
                <label for="add-agent-input" class="visually-hidden">{text::ADD_AGENT_LABEL}</label>
                <input
                    id="add-agent-input"
                    data-testid="add-agent-input"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder=text::ADD_AGENT_PLACEHOLDER
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby="add-agent-error"
                    prop:value=move || input.get()
                    on:input=move |ev| {
                        input.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <label for="add-agent-token" class="visually-hidden">{text::ADD_TOKEN_LABEL}</label>
                <input
                    id="add-agent-token"
                    data-testid="add-agent-token"
                    type="password"
                    autocomplete="off"
                    placeholder=text::ADD_TOKEN_PLACEHOLDER
                    title=TOKEN_STORAGE_NOTE
                    prop:value=move || token.get()
                    on:input=move |ev| {
                        token.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <button type="submit" data-testid="add-agent-button">{text::ADD_AGENT_BUTTON}</button>
                <p
                    id="add-agent-error"
                    class="inline-error"
                    role="alert"
                    data-testid="add-agent-error"
                    hidden=move || error.with(Option::is_none)
                >
                    {move || error.get().unwrap_or_default()}
                </p>
            </form>
            <div class="tools">
                <label for="filter-input" class="visually-hidden">{text::FILTER_LABEL}</label>
                <input
                    id="filter-input"
                    data-testid="filter-input"
                    type="search"
                    placeholder=text::FILTER_PLACEHOLDER
                    bind:value=dashboard.filter
                />
                <button
                    type="button"
                    data-testid="theme-toggle"
                    on:click=move |_| theme.update(|t| *t = t.toggled())
                >
                    {move || text::theme_button(theme.get().as_str())}
                </button>
                <button type="button" data-testid="export-agents" on:click=move |_| dashboard.export()>
                    {text::EXPORT_BUTTON}
                </button>
                <label class="button">
                    {text::IMPORT_BUTTON}
                    <input
                        type="file"
                        accept=".json,application/json"
                        class="visually-hidden"
                        data-testid="import-agents"
                        on:change=import
                    />
                </label>
            </div>
        </header>
    }
}

#[component]
pub fn Banners() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let warning = dashboard.storage_warning;
    let link_mode = dashboard.link_mode;
    let rejected = dashboard.link_rejected;
    let import_result = dashboard.import_result;
    view! {
        <Show when=move || warning.with(Option::is_some)>
            <p class="banner warning" role="alert" data-testid="storage-warning">
                <strong>{text::WARNING}</strong>
                {move || warning.get().unwrap_or_default()}
            </p>
        </Show>
        <Show when=move || link_mode.get()>
            <p class="banner info" data-testid="link-banner">
                {text::LINK_BANNER}
                <button type="button" data-testid="keep-agents" on:click=move |_| dashboard.keep_link_agents()>
                    {text::KEEP_LINK_AGENTS}
                </button>
            </p>
        </Show>
        <Show when=move || rejected.with(|r| !r.is_empty())>
            <p class="banner warning" data-testid="link-rejected">
                <strong>{text::LINK_IGNORED}</strong>
                {move || rejected.get().join("; ")}
            </p>
        </Show>
        {move || import_result.get().map(|result| match result {
            Ok(text) => view! { <p class="banner info" data-testid="import-result">{text}</p> }.into_any(),
            Err(text) => view! { <p class="banner warning" role="alert" data-testid="import-error">{text}</p> }.into_any(),
        })}
    }
}
