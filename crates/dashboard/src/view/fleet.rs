//! The fleet view, beside the cards: a tile per host, then one table of every host's
//! containers with a Host column, busiest first. `frame.rs` fills it from `fleet.rs`.

use leptos::prelude::*;

use crate::fleet::FleetRow;
use crate::metrics::{self, Value, METRICS};
use crate::sort::SortKey;
use crate::state::{ChartId, Dashboard};
use crate::text;

use super::table::{attention_mark, sort_header};

#[component]
pub fn FleetView() -> impl IntoView {
    let dashboard = expect_context::<Dashboard>();
    let fleet = dashboard.fleet;
    let tiles = move || {
        fleet
            .tiles
            .get()
            .into_iter()
            .map(|tile| {
                let state = if tile.down { "down" } else { "up" };
                let host = tile.title.clone();
                let attention = if tile.attention.is_empty() {
                    text::FLEET_ALL_WELL.to_owned()
                } else {
                    tile.attention.join(", ")
                };
                view! {
                    <li class="fleet-tile" data-testid="fleet-tile" data-host=host
                        data-state=state>
                        <h3>{tile.title}</h3>
                        <dl>
                            <div><dt>{text::FLEET_STATE}</dt><dd data-testid="tile-state">{tile.state}</dd></div>
                            <div><dt>{text::FLEET_CPU}</dt><dd data-testid="tile-cpu">{tile.cpu}</dd></div>
                            <div><dt>{text::FLEET_MEMORY}</dt><dd data-testid="tile-mem">{tile.mem}</dd></div>
                            <div><dt>{text::FLEET_CONTAINERS}</dt><dd data-testid="tile-containers">
                                {text::fleet_containers(tile.running, tile.unhealthy, tile.exited)}
                            </dd></div>
                        </dl>
                        <p class="attention" data-testid="tile-attention">{attention}</p>
                    </li>
                }
            })
            .collect_view()
    };
    let sort = fleet.sort;
    let header = move |metric: &'static metrics::Metric| {
        let column = SortKey::by(metric);
        sort_header(
            metric,
            format!("fleet-sort-{}", metric.key),
            move || metric.label.to_owned(),
            move || sort.with(|s| s.aria(column)),
            move || dashboard.fleet_sort_by(column),
        )
    };
    let headers = METRICS.iter().map(header).collect_view();
    let grid = move || {
        let columns = dashboard.view.with(|v| v.columns);
        let figures: Vec<&str> = columns.metrics().map(|m| m.width).collect();
        format!("--columns: minmax(90px, 1fr) {}", figures.join(" "))
    };
    let rows = fleet
        .rows
        .map(|cell| view! { <FleetRowView cell /> })
        .collect_view();
    let counts = fleet.counts;
    view! {
        <section class="fleet" data-testid="fleet-view" aria-label=text::FLEET_REGION>
            <ul class="fleet-tiles" data-testid="fleet-tiles">{tiles}</ul>
            <div class="card fleet-chart-card">
                <h2 class="chart-title">{text::FLEET_CHART}</h2>
                <div class="chart" id=ChartId::Fleet.element_id() data-testid="fleet-chart"></div>
            </div>
            <div class="card fleet-table">
                <h2>{text::FLEET_TABLE}</h2>
                <p class="more" data-testid="fleet-count">
                    {move || { let (shown, matching) = counts.get(); text::fleet_count(shown, matching) }}
                </p>
                <div class="table-wrap">
                    <div role="table" class="containers" data-testid="fleet-table"
                        aria-label=text::FLEET_TABLE style=grid
                        data-hide=move || dashboard.view.with(|v| v.columns.hidden_keys())>
                        <div role="rowgroup" class="head">
                            <div role="row" class="row">
                                <div role="columnheader" class="cell">{text::FLEET_HOST}</div>
                                {headers}
                            </div>
                        </div>
                        <div role="rowgroup" class="fleet-body">{rows}</div>
                    </div>
                </div>
            </div>
        </section>
    }
}

/// One slot of the fleet table: hidden while it shows no container.
#[component]
fn FleetRowView(cell: RwSignal<Option<FleetRow>>) -> impl IntoView {
    let text_of = move |i: usize| {
        move || {
            cell.with(|r| {
                r.as_ref()
                    .and_then(|r| r.row.view.cells.get(i))
                    .map(|c| format!("{}{}", c.text, c.limit))
                    .unwrap_or_default()
            })
        }
    };
    let cells = METRICS
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let class = match metric.value {
                Value::Name => "cell name",
                _ => "cell num",
            };
            let badges = matches!(metric.value, Value::Name).then(|| {
                view! {
                    {move || cell.with(|r| r.as_ref().is_some_and(|r| r.stale)).then(|| view! {
                        <span class="badge state-stale" data-testid="stale-badge" data-label=text::STALE></span>
                    })}
                    // The page's alert rules that hold for it: the red mark, causes on hover.
                    {move || cell.with(|r| r.as_ref().and_then(|r| r.row.attention.clone())).map(attention_mark)}
                    {move || cell.with(|r| r.as_ref().map(|r| r.row.badges.clone()).unwrap_or_default())
                        .into_iter()
                        .map(|b| view! {
                            <span class=format!("badge state-{}", b.kind) data-testid="state-badge"
                                data-badge=b.kind data-label=b.text.clone() title=b.text></span>
                        })
                        .collect_view()}
                }
            });
            view! {
                <div role="cell" class=class data-metric=metric.key
                    data-testid=format!("fleet-{}", metric.key)>
                    {text_of(i)}
                    {badges}
                </div>
            }
        })
        .collect_view();
    view! {
        <div role="row" class="row" data-testid="fleet-row"
            hidden=move || cell.with(Option::is_none)
            class:stale=move || cell.with(|r| r.as_ref().is_some_and(|r| r.stale))
            class:attention=move || cell.with(|r| r.as_ref().is_some_and(|r| r.row.attention.is_some()))
            data-container-id=move || cell.with(|r| r.as_ref().map(|r| r.row.view.id.clone()).unwrap_or_default())>
            <div role="cell" class="cell name" data-testid="fleet-host">
                {move || cell.with(|r| r.as_ref().map(|r| r.host.clone()).unwrap_or_default())}
            </div>
            {cells}
        </div>
    }
}
