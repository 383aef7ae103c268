//! The view controls above the cards: which columns every table shows, what CPU figures are a
//! percentage of, whether rows are grouped by compose project, and the fleet view instead of
//! the cards. All are saved with the agent list (`Dashboard::view`, `store::ViewPrefs`).

use leptos::prelude::*;

use crate::metrics::{Value, METRICS};
use crate::rows::CpuScale;
use crate::state::Dashboard;
use crate::text;

#[component]
pub fn ViewControls() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let view = dashboard.view;
    let choices = METRICS
        .iter()
        .filter(|m| !matches!(m.value, Value::Name))
        .map(|metric| {
            let key = metric.key;
            view! {
                <label class="column-choice">
                    <input type="checkbox" data-testid=format!("column-{key}")
                        prop:checked=move || view.with(|v| v.columns.shows(key))
                        on:change=move |_| dashboard.toggle_column(key) />
                    {metric.long_label}
                </label>
            }
        })
        .collect_view();
    let scales = CpuScale::ALL
        .into_iter()
        .map(|scale| {
            view! {
                <button type="button" data-testid=format!("cpu-scale-{}", scale.as_str())
                    title=scale.meaning()
                    aria-pressed=move || view.with(|v| (v.cpu_scale == scale).to_string())
                    on:click=move |_| dashboard.set_cpu_scale(scale)>
                    {scale.as_str()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="view-controls" data-testid="view-controls">
            <details class="column-chooser">
                <summary data-testid="column-chooser">{text::COLUMNS_BUTTON}</summary>
                <div class="column-choices">{choices}</div>
            </details>
            <div class="cpu-scale" role="group" aria-label=text::CPU_SCALE_LABEL>
                <span>{text::CPU_SCALE_LABEL}</span>
                {scales}
            </div>
            <button type="button" data-testid="group-toggle"
                aria-pressed=move || view.with(|v| v.grouped.to_string())
                on:click=move |_| dashboard.toggle_grouped()>
                {text::GROUP_BY_PROJECT}
            </button>
            <button type="button" data-testid="fleet-toggle"
                aria-pressed=move || view.with(|v| v.fleet.to_string())
                on:click=move |_| dashboard.toggle_fleet()>
                {text::FLEET_VIEW}
            </button>
        </div>
    }
}
