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

use crate::sort::SortKey;
use crate::sparkline;
use crate::state::{AgentView, Dashboard, RowHandle};

#[component]
pub fn ContainerTable(agent: AgentView) -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let key = agent.key;
    let sort = agent.sort.clone();
    let header = move |column: SortKey, text: &'static str, testid: &'static str| {
        let sort_aria = sort.clone();
        let sort_arrow = sort.clone();
        view! {
            <div role="columnheader" class="cell" aria-sort=move || sort_aria.with(|s| s.aria(column))>
                <button type="button" class="sort" data-testid=testid on:click=move |_| dashboard.sort_by(key, column)>
                    {text}
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
            None => Some(("waiting", "Waiting for the first sample…".to_owned())),
            Some(0) => Some((
                "no-containers",
                "No running containers on this agent.".to_owned(),
            )),
            Some(_) if shown == 0 => Some((
                "no-match",
                format!("No container name matches “{}”.", filter.get().trim()),
            )),
            Some(_) => None,
        }
    };
    view! {
        <div class="table-wrap">
            <div role="table" class="containers" data-testid="container-table" aria-label="Containers"
                aria-rowcount=move || row_count.get() + 1>
                <div role="rowgroup" class="head">
                    <div role="row" class="row">
                        {header(SortKey::Name, "Name", "sort-name")}
                        {header(SortKey::Cpu, "CPU", "sort-cpu")}
                        {header(SortKey::Memory, "Memory", "sort-mem")}
                        {header(SortKey::Uptime, "Uptime", "sort-uptime")}
                        <div role="columnheader" class="cell spark">"CPU 60 s"</div>
                        <div role="columnheader" class="cell spark">"Mem 60 s"</div>
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
                            format!("Showing all {matching} containers; their order refreshes every {} s. ",
                                crate::frame::SHOW_ALL_ORDER_MS / 1_000.0)
                        } else {
                            format!("Showing {shown} of {matching} containers. ")
                        }}
                        <button type="button" data-testid="show-all" on:click=move |_| dashboard.toggle_show_all(key)>
                            {if all { "Show the busiest only" } else { "Show all" }}
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
        let (id, name) = data.with_untracked(|d| (d.id.clone(), d.name.clone()));
        dashboard.toggle_selection(agent_key, id, name);
    };
    let view_box = format!("0 0 {} {}", sparkline::WIDTH, sparkline::HEIGHT);
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
            <div role="cell" data-testid="container-name" class="cell name" title=move || data.with(|d| d.title.clone())>
                {move || data.with(|d| d.name.clone())}
            </div>
            <div role="cell" data-testid="container-cpu" class="cell num">{move || data.with(|d| d.cpu.clone())}</div>
            <div role="cell" data-testid="container-mem" class="cell mem">
                <span class="used">
                    {move || data.with(|d| d.memory.clone())}
                    <span class="limit">{move || data.with(|d| d.mem_limit.clone())}</span>
                </span>
                <span class="bar" aria-hidden="true">
                    <span
                        class="fill"
                        style:width=move || data.with(|d| format!("{:.1}%", d.mem_percent.unwrap_or(0.0)))
                    ></span>
                </span>
            </div>
            <div role="cell" data-testid="container-uptime" class="cell num">{move || data.with(|d| d.uptime.clone())}</div>
            <div role="cell" class="cell spark">
                <svg viewBox=view_box.clone() preserveAspectRatio="none" role="img"
                    aria-label=move || data.with(|d| format!("CPU {}", d.cpu_scale))>
                    <path class="cpu" d=move || data.with(|d| d.cpu_path.clone()) />
                </svg>
            </div>
            <div role="cell" class="cell spark">
                <svg viewBox=view_box preserveAspectRatio="none" role="img" aria-label="Memory, last 60 s">
                    <path class="mem" d=move || data.with(|d| d.mem_path.clone()) />
                </svg>
            </div>
        </div>
    }
}
