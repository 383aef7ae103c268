//! Leptos components. Everything a test touches carries a `data-testid`; every state is
//! written out as text, never shown by colour alone.

mod card;
mod controls;
mod debug;
mod detail;
mod events;
mod fleet;
mod header;
mod table;

use leptos::prelude::*;

use crate::state::Dashboard;
use crate::text;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let dashboard = Dashboard::init();
    let agents = dashboard.agents;
    view! {
        <header::Header />
        <header::Banners />
        <events::EventsPanel />
        <controls::ViewControls />
        // The cards stay in the page under the fleet view (hidden, their charts kept).
        <Show when=move || dashboard.view.with(|v| v.fleet)>
            <fleet::FleetView />
        </Show>
        <main class="cards" aria-label=text::AGENTS_REGION
            hidden=move || dashboard.view.with(|v| v.fleet)>
            <For each=move || agents.get() key=|agent| agent.key let:agent>
                <card::AgentCard agent />
            </For>
        </main>
        <Show when=move || agents.with(Vec::is_empty)>
            <p class="placeholder" data-testid="no-agents">
                {text::NO_AGENTS}
            </p>
        </Show>
        {dashboard.debug.then(|| view! { <debug::DebugPanel /> })}
    }
}
