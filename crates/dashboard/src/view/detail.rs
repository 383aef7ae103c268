//! The detail panel of the selected container, on its agent's card: CPU (scale, limit,
//! throttling), memory as a stacked bar against the limit, network and block I/O, PIDs, health
//! and the last exit, its CPU/memory and I/O charts (drawn by `frame.rs`), and the health log
//! on request.

use leptos::prelude::*;

use crate::detail::{HEALTH_LOG_TIMEOUT_MS, NO_HEALTH_LOGS};
use crate::roster::ChartId;
use crate::state::{Dashboard, HealthLog};
use crate::text;

#[component]
pub fn DetailPanel() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let detail = dashboard.detail;
    let field = move |read: fn(&crate::detail::DetailView) -> String| {
        move || detail.with(|d| d.as_ref().map(read).unwrap_or_default())
    };
    let selected_name = move || {
        dashboard
            .selected
            .with(|s| s.as_ref().map(|s| text::detail_title(&s.name)))
    };
    let health = move || {
        detail.with(|d| {
            d.as_ref()
                .and_then(|d| d.health.clone())
                .unwrap_or_else(|| text::NO_HEALTH_CHECK.to_owned())
        })
    };
    let parts = move || detail.with(|d| d.as_ref().map(|d| d.memory.clone()).unwrap_or_default());
    let breakdown_label = move || {
        parts()
            .iter()
            .map(|p| format!("{} {}", p.label, p.bytes))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let now = dashboard.now;
    let log = dashboard.health_log;
    let log_state = move || {
        match log.get() {
        HealthLog::NotAsked => None,
        HealthLog::Waiting { since_ms } if now.get() - since_ms >= HEALTH_LOG_TIMEOUT_MS => {
            Some(view! { <p data-testid="health-log-status">{NO_HEALTH_LOGS}</p> }.into_any())
        }
        HealthLog::Waiting { .. } => {
            Some(view! { <p data-testid="health-log-status">{text::ASKING}</p> }.into_any())
        }
        HealthLog::Answered(answer) => Some(
            view! {
                <p data-testid="health-log-status">{answer.status}</p>
                <ol class="health-log" data-testid="health-log">
                    {answer.probes.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}
                </ol>
            }
            .into_any(),
        ),
    }
    };
    view! {
        <div class="detail" data-testid="detail-panel">
            <div class="detail-head">
                <h3 class="chart-title" data-testid="detail-title">{selected_name}</h3>
                <button type="button" data-testid="close-detail" on:click=move |_| dashboard.clear_selection()>
                    {text::CLOSE}
                </button>
            </div>
            <dl class="facts detail-facts">
                <div><dt>{text::DETAIL_CPU}</dt><dd data-testid="detail-cpu">{field(|d| d.cpu.clone())}</dd></div>
                <div><dt>{text::DETAIL_THROTTLING}</dt><dd data-testid="detail-throttling">{field(|d| d.throttling.clone())}</dd></div>
                <div><dt>{text::DETAIL_MEMORY}</dt><dd data-testid="detail-memory">{field(|d| d.memory_total.clone())}</dd></div>
                <div><dt>{text::DETAIL_PIDS}</dt><dd data-testid="detail-pids">{field(|d| d.pids.clone())}</dd></div>
                <div><dt>{text::DETAIL_NET}</dt><dd data-testid="detail-net">{field(|d| format!("{}; {}", d.net_rx, d.net_tx))}</dd></div>
                <div><dt>{text::DETAIL_BLOCK}</dt><dd data-testid="detail-block">{field(|d| format!("{}; {}", d.block_read, d.block_write))}</dd></div>
                <div><dt>{text::DETAIL_HEALTH}</dt><dd data-testid="detail-health">{health}</dd></div>
                <div><dt>{text::DETAIL_EXIT}</dt><dd data-testid="detail-exit">{field(|d| d.last_exit.clone())}</dd></div>
            </dl>
            <Show when=move || !parts().is_empty()>
                <div class="mem-breakdown" data-testid="memory-breakdown" role="img"
                    aria-label=breakdown_label>
                    <div class="mem-stack">
                        {move || parts().into_iter().map(|p| view! {
                            <span class=format!("part {}", p.key) data-part=p.key
                                title=format!("{}: {}", p.label, p.bytes)
                                style:width=format!("{:.2}%", p.percent)></span>
                        }).collect_view()}
                    </div>
                    <ul class="mem-legend">
                        {move || parts().into_iter().map(|p| view! {
                            <li data-part=p.key><span class=format!("swatch {}", p.key)></span>{format!("{} {}", p.label, p.bytes)}</li>
                        }).collect_view()}
                    </ul>
                </div>
            </Show>
            <div class="chart" id=ChartId::Detail.element_id() data-testid="detail-chart" role="img"
                aria-label=text::DETAIL_CHART_LABEL></div>
            <div class="chart" id=ChartId::DetailIo.element_id() data-testid="detail-io-chart" role="img"
                aria-label=text::DETAIL_IO_CHART_LABEL></div>
            <div class="health-log-box">
                <button type="button" data-testid="health-log-button" on:click=move |_| dashboard.request_health_log()>
                    {text::SHOW_HEALTH_LOG}
                </button>
                {log_state}
            </div>
        </div>
    }
}
