//! `?debug=true`: each agent's WebSocket state and its last raw frames.

use leptos::prelude::*;

use crate::ingest::DEBUG_FRAMES;
use crate::state::Dashboard;
use crate::text;

#[component]
pub fn DebugPanel() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let agents = dashboard.agents;
    let now = dashboard.now;
    view! {
        <aside class="debug" data-testid="debug-panel" aria-label=text::DEBUG_TITLE>
            <h2>{text::DEBUG_TITLE}</h2>
            <For each=move || agents.get() key=|agent| agent.key let:agent>
                {
                    let conn = agent.conn.clone();
                    let frames = agent.debug_frames.clone();
                    let counts = agent.debug_counts.clone();
                    view! {
                        <section data-testid="debug-agent">
                            <h3>{agent.url.clone()}</h3>
                            <p data-testid="debug-state">
                                {text::DEBUG_WEBSOCKET}
                                {move || conn.with(|c| {
                                    let detail = c.detail(now.get());
                                    if detail.is_empty() {
                                        c.label().to_owned()
                                    } else {
                                        format!("{} — {detail}", c.label())
                                    }
                                })}
                            </p>
                            <p>{move || counts.get()}</p>
                            <p>{text::debug_last_frames(DEBUG_FRAMES)}</p>
                            <ol class="frames">
                                {move || frames.get().into_iter().map(|f| view! {
                                    <li data-testid="debug-frame"><pre>{f}</pre></li>
                                }).collect_view()}
                            </ol>
                        </section>
                    }
                }
            </For>
        </aside>
    }
}
