//! The container table of one card: reused rows, each with its own signals, and plain-SVG
//! sparklines.
//!
//! Rows are ARIA-table `div`s laid out as independent CSS grids rather than a `<table>`: a
//! changed cell then re-lays out its own row only (a table re-measures every row). The body is
//! as tall as every row listed; each rendered row is placed at its position by a transform and
//! says it in `aria-rowindex`. A re-order or a scroll changes what rows show and where
//! (`frame.rs`), never which elements are in the page, and with "show all" only the rows near
//! the viewport are rendered (`viewport.rs`). That is what keeps 300 rows updating every second
//! inside a frame's budget.

use leptos::prelude::*;

use crate::metrics::{self, Metric, Value, METRICS};
use crate::sort::SortKey;
use crate::sparkline;
use crate::state::{AgentView, Dashboard, RowHandle};
use crate::text;

#[component]
pub fn ContainerTable(agent: AgentView) -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let key = agent.key;
    let sort = agent.sort.clone();
    let header = move |metric: &'static Metric| {
        let column = SortKey::by(metric);
        let sort_aria = sort.clone();
        let sort_arrow = sort.clone();
        view! {
            <div role="columnheader" class="cell" data-metric=metric.key
                aria-sort=move || sort_aria.with(|s| s.aria(column))>
                <button type="button" class="sort" data-testid=format!("sort-{}", metric.key)
                    on:click=move |_| dashboard.sort_by(key, column)>
                    {metric.label}
                    <span class="arrow" aria-hidden="true">
                        {move || match sort_arrow.with(|s| s.aria(column)) {
                            "ascending" => " ▲",
                            "descending" => " ▼",
                            _ => "",
                        }}
                    </span>
                </button>
            </div>
        }
    };
    let headers = METRICS.iter().map(header).collect_view();
    let spark_headers = metrics::sparks()
        .map(|spark| view! { <div role="columnheader" class="cell spark">{spark.label}</div> })
        .collect_view();
    // Every row's grid comes from the metric table (`--columns`, `--phone-columns` in the CSS).
    let grid = format!(
        "--columns: {}; --phone-columns: {}",
        metrics::grid_columns(),
        metrics::phone_grid_columns()
    );
    let rows = agent.rows.clone();
    let count = agent.container_count.clone();
    let shown = agent.rows.clone();
    let filter = dashboard.filter;
    let counts = agent.shown_counts.clone();
    let show_all = agent.show_all.clone();
    // The body is as tall as every row listed, and that is known without laying out its rows
    // (`contain: strict` in the CSS): rows changing re-lay out this body only, never the page.
    let listed = agent.listed.clone();
    let height = move || format!("{}px", listed.get() as f64 * crate::viewport::ROW_PX);
    let row_count = agent.listed.clone();
    let rows_id = agent.rows_id();
    let placeholder = move || {
        let count = count.get();
        let shown = shown.with(Vec::len);
        match count {
            None => Some(("waiting", text::WAITING_FOR_SAMPLE.to_owned())),
            Some(0) => Some(("no-containers", text::NO_CONTAINERS.to_owned())),
            Some(_) if shown == 0 => Some(("no-match", text::no_match(filter.get().trim()))),
            Some(_) => None,
        }
    };
    view! {
        <div class="table-wrap">
            <div role="table" class="containers" data-testid="container-table"
                aria-label=text::CONTAINERS_TABLE style=grid
                aria-rowcount=move || row_count.get() + 1>
                <div role="rowgroup" class="head">
                    <div role="row" class="row">
                        {headers}
                        {spark_headers}
                    </div>
                </div>
                <div role="rowgroup" class="body" id=rows_id
                    style:height=height>
                    <For each=move || rows.get() key=|row| row.key let:row>
                        <Row row agent_key=key />
                    </For>
                </div>
            </div>
            {move || placeholder().map(|(testid, text)| view! {
                <p class="placeholder" data-testid=testid>{text}</p>
            })}
            {move || {
                let (shown, matching) = counts.get();
                let all = show_all.get();
                (all || shown < matching).then(|| view! {
                    <p class="more" data-testid="shown-count">
                        {if all {
                            text::showing_all(matching, crate::frame::SHOW_ALL_ORDER_MS / 1_000.0)
                        } else {
                            text::showing_some(shown, matching)
                        }}
                        <button type="button" data-testid="show-all" on:click=move |_| dashboard.toggle_show_all(key)>
                            {if all { text::SHOW_BUSIEST } else { text::SHOW_ALL }}
                        </button>
                    </p>
                })
            }}
        </div>
    }
}

#[component]
fn Row(row: RowHandle, agent_key: u32) -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    // Arena copy owned by this row: disposed with it, and `Copy` for the closures below. Which
    // container the row shows changes with the order.
    let data: RwSignal<_> = row.data.into();
    let position: RwSignal<_> = row.position.into();
    let selected = move || {
        dashboard.selected.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.agent_key == agent_key && data.with(|d| d.id == s.container_id))
        })
    };
    let toggle = move || {
        let (id, name) = data.with_untracked(|d| (d.id.clone(), d.name().to_owned()));
        dashboard.toggle_selection(agent_key, id, name);
    };
    let view_box = format!("0 0 {} {}", sparkline::WIDTH, sparkline::HEIGHT);
    let cell_text = move |i: usize| {
        move || data.with(|d| d.cells.get(i).map(|c| c.text.clone()).unwrap_or_default())
    };
    let cells = METRICS
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let testid = format!("container-{}", metric.key);
            match (metric.value, metric.limit) {
                (Value::Name, _) => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell name"
                        title=move || data.with(|d| d.title.clone())>
                        {cell_text(i)}
                    </div>
                }
                .into_any(),
                (_, Some(_)) => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell mem">
                        <span class="used">
                            {cell_text(i)}
                            <span class="limit">
                                {move || data.with(|d| d.cells.get(i).map(|c| c.limit.clone()).unwrap_or_default())}
                            </span>
                        </span>
                        <span class="bar" aria-hidden="true">
                            <span
                                class="fill"
                                style:width=move || data.with(|d| {
                                    let percent = d.cells.get(i).and_then(|c| c.percent);
                                    format!("{:.1}%", percent.unwrap_or(0.0))
                                })
                            ></span>
                        </span>
                    </div>
                }
                .into_any(),
                _ => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell num">
                        {cell_text(i)}
                    </div>
                }
                .into_any(),
            }
        })
        .collect_view();
    let sparks = metrics::sparks()
        .enumerate()
        .map(|(i, spark)| {
            view! {
                <div role="cell" class="cell spark">
                    <svg viewBox=view_box.clone() preserveAspectRatio="none" role="img"
                        aria-label=move || data.with(|d| d.sparks.get(i).map(|s| s.label.clone()).unwrap_or_default())>
                        <path class=spark.class d=move || data.with(|d| d.sparks.get(i).map(|s| s.path.clone()).unwrap_or_default()) />
                    </svg>
                </div>
            }
        })
        .collect_view();
    view! {
        <div
            role="row"
            class="row"
            data-testid="container-row"
            data-container-id=move || data.with(|d| d.id.clone())
            aria-rowindex=move || position.get() + 2
            style:transform=move || {
                format!("translateY({}px)", position.get() as f64 * crate::viewport::ROW_PX)
            }
            class:selected=selected
            aria-selected=move || selected().to_string()
            tabindex="0"
            on:click=move |_| toggle()
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    toggle();
                }
            }
        >
            {cells}
            {sparks}
        </div>
    }
}
