//! Leptos components. Everything a test touches carries a `data-testid`; every state is
//! written out as text, never shown by colour alone.

mod attention;
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
        <attention::AttentionPanel />
        <events::EventsPanel />
        <controls::ViewControls />
        // The fleet view replaces the cards: they leave the page (their state stays in the
        // runtime), so a page of many agents opening on the fleet view does not build every
        // card first.
        <Show
            when=move || dashboard.view.with(|v| v.fleet)
            fallback=move || view! {
                <main class="cards" aria-label=text::AGENTS_REGION>
                    <For each=move || agents.get() key=|agent| agent.key let:agent>
                        <card::AgentCard agent />
                    </For>
                </main>
            }
        >
            <fleet::FleetView />
        </Show>
        <Show when=move || agents.with(Vec::is_empty)>
            <p class="placeholder" data-testid="no-agents">
                {text::NO_AGENTS}
            </p>
        </Show>
        {dashboard.debug.then(|| view! { <debug::DebugPanel /> })}
    }
}
