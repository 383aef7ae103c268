//! The container table of one card: reused rows, each with its own signals, and plain-SVG
//! sparklines.
//!
//! Rows are ARIA-table `div`s laid out as independent CSS grids rather than a `<table>`: a
//! changed cell then re-lays out its own row only (a table re-measures every row). The body is
//! as tall as every row listed; each rendered row is placed at its position by `top` and says
//! it in `aria-rowindex`. A re-order or a scroll changes what rows show and where
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
        let sort = sort.clone();
        let label = move || {
            if metric.key == "cpu" {
                dashboard.view.with(|v| v.cpu_scale.header())
            } else {
                metric.label.to_owned()
            }
        };
        sort_header(
            metric,
            format!("sort-{}", metric.key),
            label,
            move || sort.with(|s| s.aria(column)),
            move || dashboard.sort_by(key, column),
        )
    };
    let headers = METRICS.iter().map(header).collect_view();
    let spark_headers = metrics::sparks()
        .map(|spark| {
            let label = move || {
                if spark.class == "cpu" {
                    dashboard
                        .view
                        .with(|v| format!("{} ({})", spark.label, v.cpu_scale.as_str()))
                } else {
                    spark.label.to_owned()
                }
            };
            view! { <div role="columnheader" class="cell spark">{label}</div> }
        })
        .collect_view();
    // Every row's grid comes from the metric table and the columns shown (`--columns`,
    // `--phone-columns` in the CSS); the hidden ones are `display: none` by `data-hide`.
    let grid = move || {
        let columns = dashboard.view.with(|v| v.columns);
        format!(
            "--columns: {}; --phone-columns: {}",
            metrics::grid_columns(columns),
            metrics::phone_grid_columns(columns)
        )
    };
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
    let drawing = agent.drawing.clone();
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
                data-hide=move || dashboard.view.with(|v| v.columns.hidden_keys())
                aria-rowcount=move || row_count.get() + 1
                aria-busy=move || drawing.get().to_string()>
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

/// A sortable column header: `label`, then an arrow and `aria-sort` from `sorted` (this
/// column's `aria-sort` value), and `on_sort` when clicked. The fleet table's headers too.
pub(super) fn sort_header(
    metric: &'static Metric,
    testid: String,
    label: impl Fn() -> String + Send + Sync + 'static,
    sorted: impl Fn() -> &'static str + Clone + Send + Sync + 'static,
    on_sort: impl Fn() + 'static,
) -> impl IntoView {
    let arrow = sorted.clone();
    view! {
        <div role="columnheader" class="cell" data-metric=metric.key aria-sort=sorted>
            <button type="button" class="sort" data-testid=testid title=metric.long_label
                on:click=move |_| on_sort()>
                {label}
                <span class="arrow" aria-hidden="true">
                    {move || match arrow() {
                        "ascending" => " ▲",
                        "descending" => " ▼",
                        _ => "",
                    }}
                </span>
            </button>
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
            s.as_ref().is_some_and(|s| {
                s.agent_key == agent_key && data.with(|d| d.view.id == s.container_id)
            })
        })
    };
    let toggle = move || {
        let (id, name, group) = data.with_untracked(|d| {
            (
                d.view.id.clone(),
                d.view.name().to_owned(),
                d.group.is_some(),
            )
        });
        if group {
            dashboard.toggle_group(agent_key, id);
        } else {
            dashboard.toggle_selection(agent_key, id, name);
        }
    };
    let view_box = format!("0 0 {} {}", sparkline::WIDTH, sparkline::HEIGHT);
    let cell_text = move |i: usize| {
        move || {
            data.with(|d| {
                d.view
                    .cells
                    .get(i)
                    .map(|c| c.text.clone())
                    .unwrap_or_default()
            })
        }
    };
    // Tooltips are written only while the pointer is over the row: most of them change every
    // second (the figures they explain), and 75 rows × 10 `title` writes a second cost more
    // than the tooltips are worth when nobody looks. A memo per cell writes nothing while the
    // row is not hovered. The name's tooltip (name, image, health, compose labels) rarely
    // changes and is always there.
    let hovered = RwSignal::new(false);
    let tip = move |i: usize| {
        let always = METRICS
            .get(i)
            .is_some_and(|m| matches!(m.value, Value::Name));
        let memo = Memo::new(move |_| {
            if !always && !hovered.get() {
                return None;
            }
            data.with(|d| d.tips.get(i).filter(|t| !t.is_empty()).cloned())
        });
        move || memo.get()
    };
    let is_group = move || data.with(|d| d.group.is_some());
    let cells = METRICS
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            // Cells of stopped and group rows are named apart, so what counts a card's
            // containers (`container-name`, `container-cpu`) counts running ones only.
            let key = metric.key;
            let testid = move || {
                data.with(|d| match (&d.group, d.stopped) {
                    (Some(_), _) => format!("group-{key}"),
                    (None, true) => format!("stopped-{key}"),
                    (None, false) => format!("container-{key}"),
                })
            };
            match (metric.value, metric.limit) {
                (Value::Name, _) => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell name"
                        title=tip(i)>
                        {move || data.with(|d| d.group.as_ref().map(|g| if g.collapsed { "▸ " } else { "▾ " }))}
                        {cell_text(i)}
                        {move || data.with(|d| d.group.as_ref().map(|g| g.summary.clone())).map(|summary| view! {
                            <span class="group-count" data-testid="group-count">{summary}</span>
                        })}
                        // The attention mark: its causes on hover. Drawn by CSS like the badges.
                        {move || data.with(|d| d.attention.clone()).map(attention_mark)}
                        // The badge's words are drawn by CSS from `data-label`, so the cell's text
                        // stays the container's name (what filtering, sorting and tests read).
                        <For each=move || data.with(|d| d.badges.clone()) key=|b| (b.kind, b.text.clone()) let:badge>
                            <span class=format!("badge state-{}", badge.kind) data-testid="state-badge"
                                data-badge=badge.kind data-label=badge.text.clone() title=badge.tip></span>
                        </For>
                    </div>
                }
                .into_any(),
                (_, Some(_)) => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell mem"
                        title=tip(i)>
                        <span class="used">
                            {cell_text(i)}
                            <span class="limit">
                                {move || data.with(|d| d.view.cells.get(i).map(|c| c.limit.clone()).unwrap_or_default())}
                            </span>
                        </span>
                        <span class="bar" aria-hidden="true">
                            <span
                                class="fill"
                                style:width=move || data.with(|d| {
                                    let percent = d.view.cells.get(i).and_then(|c| c.percent);
                                    format!("{:.1}%", percent.unwrap_or(0.0))
                                })
                            ></span>
                        </span>
                    </div>
                }
                .into_any(),
                _ => view! {
                    <div role="cell" data-testid=testid data-metric=metric.key class="cell num"
                        title=tip(i)>
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
                        aria-label=move || data.with(|d| d.view.sparks.get(i).map(|s| s.label.clone()).unwrap_or_default())>
                        <path class=spark.class d=move || data.with(|d| d.view.sparks.get(i).map(|s| s.path.clone()).unwrap_or_default()) />
                    </svg>
                </div>
            }
        })
        .collect_view();
    view! {
        <div
            role="row"
            class="row"
            // A row added for a container (a filter or "show all" widening the list) stays
            // blank and hidden until a frame draws it (`frame.rs` draws a few rows a frame).
            data-testid=move || data.with(|d| match (&d.group, d.stopped) {
                _ if d.view.id.is_empty() => "blank-row",
                (Some(_), _) => "group-row",
                (None, true) => "stopped-row",
                (None, false) => "container-row",
            })
            class:blank=move || data.with(|d| d.view.id.is_empty())
            data-container-id=move || data.with(|d| d.view.id.clone())
            class:stopped=move || data.with(|d| d.stopped)
            class:attention=move || data.with(|d| d.attention.is_some())
            class:group=is_group
            aria-expanded=move || data.with(|d| d.group.as_ref().map(|g| (!g.collapsed).to_string()))
            aria-rowindex=move || position.get() + 2
            style:top=move || format!("{}px", position.get() as f64 * crate::viewport::ROW_PX)
            class:selected=selected
            aria-selected=move || selected().to_string()
            tabindex="0"
            on:pointerenter=move |_| hovered.set(true)
            on:pointerleave=move |_| hovered.set(false)
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

/// A row's attention mark: the red badge, with the causes of the alerts that hold on hover.
/// Drawn by CSS from `data-label`, like the state badges. Card and fleet rows share it.
pub(super) fn attention_mark(causes: String) -> impl IntoView {
    view! {
        <span class="badge state-attention" data-testid="attention-mark"
            data-label=text::ATTENTION_MARK title=causes></span>
    }
}
