//! The fleet view's content, from every agent's model at once: one tile per host (is it up,
//! how busy is it, what needs attention) and one table of every host's containers, busiest
//! first, with the host each runs on. Pure: `frame.rs` feeds it the models once a second and
//! pushes the result into signals.
//!
//! A host whose connection is not live keeps its tile (red, with why) and its rows (marked
//! stale, with their last figures): a fleet view that silently drops a host in trouble hides
//! exactly what it is for.

use dockscope_protocol::{ContainerState, Health};

use crate::attention::{CardMarks, Mark};
use crate::format;
use crate::ingest::{AgentModel, ContainerModel};
use crate::rows::{self, Row, RowContext};
use crate::sort::{name_key, SortSpec};
use crate::store::ViewPrefs;

/// Rows the fleet table shows: the busiest across every host.
pub const FLEET_ROWS: usize = 25;

/// One agent, as the fleet view reads it.
pub struct HostInput<'a> {
    /// The card's key (unique for the page's lifetime).
    pub key: u32,
    /// The card's title: the agent id, else its address.
    pub title: &'a str,
    pub model: &'a AgentModel,
    /// The connection is live (messages arriving).
    pub live: bool,
    /// The connection state's words ("live", "reconnecting", …).
    pub state: &'a str,
    /// The page's alert rules that hold on this host, by container id (`attention.rs`).
    pub marks: &'a CardMarks,
}

/// One host's tile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostTile {
    pub key: u32,
    pub title: String,
    /// "live", "reconnecting", … (the card's words).
    pub state: String,
    /// Not live: the tile is red and its rows stale.
    pub down: bool,
    /// Host CPU busy ("12.5 %"), or "–" for an agent that does not report its host.
    pub cpu: String,
    /// "3.1 GiB / 15.6 GiB", or "–".
    pub mem: String,
    pub running: usize,
    pub unhealthy: usize,
    /// Stopped in the last hour (`batch.exited`).
    pub exited: usize,
    /// What needs a look, most urgent first: "not live: …", "engine unreachable", "3 alerts"
    /// (the page's rules that hold here), "2 unhealthy", "1 restarting", "1 OOM killed".
    /// Empty: nothing.
    pub attention: Vec<String>,
}

/// One row of the fleet table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetRow {
    /// The host's card key, and its title for the Host column.
    pub agent_key: u32,
    pub host: String,
    /// The container's row, as its card draws it.
    pub row: Row,
    /// Its host is not live: the figures are the last ones received.
    pub stale: bool,
}

/// The tile of one host.
pub fn tile(host: &HostInput<'_>) -> HostTile {
    let model = host.model;
    let running = model.containers.len();
    let unhealthy = count(model, |c| c.stats.health == Some(Health::Unhealthy));
    let restarting = count(model, |c| c.stats.state == Some(ContainerState::Restarting));
    let oom = model
        .exited
        .iter()
        .filter(|c| c.stats.oom_killed == Some(true))
        .count();
    let mut attention = Vec::new();
    if !host.live {
        attention.push(format!("not live: {}", host.state));
    }
    if model.status.as_ref().and_then(|s| s.engine_reachable) == Some(false) {
        attention.push("engine unreachable".to_owned());
    }
    let alerts: usize = host.marks.values().map(|m| m.causes.len()).sum();
    match alerts {
        0 => {}
        1 => attention.push("1 alert".to_owned()),
        n => attention.push(format!("{n} alerts")),
    }
    for (n, what) in [
        (unhealthy, "unhealthy"),
        (restarting, "restarting"),
        (oom, "OOM killed"),
    ] {
        if n > 0 {
            attention.push(format!("{n} {what}"));
        }
    }
    let host_stats = model.host.as_ref();
    let mem = match host_stats.map(|h| (h.mem_used_bytes, h.mem_total_bytes)) {
        Some((Some(used), Some(total))) => {
            format!("{} / {}", format::bytes(used), format::bytes(total))
        }
        _ => "–".to_owned(),
    };
    HostTile {
        key: host.key,
        title: host.title.to_owned(),
        state: host.state.to_owned(),
        down: !host.live,
        cpu: format::percent(host_stats.and_then(|h| h.cpu_pct)),
        mem,
        running,
        unhealthy,
        exited: model.exited.len(),
        attention,
    }
}

fn count(model: &AgentModel, which: impl Fn(&ContainerModel) -> bool) -> usize {
    model.containers.values().filter(|c| which(c)).count()
}

/// The fleet table: the running containers of every host whose name contains `filter`, in
/// `spec` order across hosts (ties by name, then host), at most [`FLEET_ROWS`]; and how many
/// match in all.
pub fn table(
    hosts: &[HostInput<'_>],
    spec: SortSpec,
    filter: &str,
    view: ViewPrefs,
) -> (Vec<FleetRow>, usize) {
    let needle = name_key(filter.trim());
    let mut all: Vec<(&HostInput<'_>, &ContainerModel)> = hosts
        .iter()
        .flat_map(|h| h.model.containers.values().map(move |c| (h, c)))
        .filter(|(_, c)| needle.is_empty() || c.name_key.contains(&needle))
        .collect();
    let matching = all.len();
    let order = |a: &(&HostInput<'_>, &ContainerModel), b: &(&HostInput<'_>, &ContainerModel)| {
        spec.compare_keyed(&a.1.stats, &a.1.name_key, &b.1.stats, &b.1.name_key)
            .then_with(|| a.0.title.cmp(b.0.title))
            .then_with(|| a.0.key.cmp(&b.0.key))
    };
    if all.len() > FLEET_ROWS {
        all.select_nth_unstable_by(FLEET_ROWS - 1, order);
        all.truncate(FLEET_ROWS);
    }
    all.sort_unstable_by(order);
    let rows = all
        .into_iter()
        .map(|(host, container)| {
            let ctx = RowContext {
                scale: view.cpu_scale,
                host_cores: host.model.host.as_ref().and_then(|h| h.cores),
                host_memory: host.model.host.as_ref().and_then(|h| h.mem_total_bytes),
                now_agent_ms: None,
            };
            let mut row = rows::row(container, false, ctx);
            let mark = host.marks.get(&container.stats.id).map(Mark::tip);
            rows::mark_attention(&mut row, mark);
            FleetRow {
                agent_key: host.key,
                host: host.title.to_owned(),
                row,
                stale: !host.live,
            }
        })
        .collect();
    (rows, matching)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::{ContainerStats, ContainerStatsBatch, Message};

    fn model(agent: &str, containers: &[(&str, f64, Option<Health>)]) -> AgentModel {
        let mut model = AgentModel::default();
        let batch = ContainerStatsBatch {
            agent_id: agent.to_owned(),
            containers: containers
                .iter()
                .map(|(name, cpu, health)| ContainerStats {
                    id: format!("{agent}-{name}"),
                    name: (*name).to_owned(),
                    cpu_pct: Some(*cpu),
                    health: *health,
                    ..ContainerStats::default()
                })
                .collect(),
            ..ContainerStatsBatch::default()
        };
        model.ingest(Message::ContainerStatsBatch(batch), 1_000.0);
        model
    }

    static NO_MARKS: std::sync::LazyLock<CardMarks> = std::sync::LazyLock::new(CardMarks::new);

    fn input<'a>(key: u32, title: &'a str, model: &'a AgentModel, live: bool) -> HostInput<'a> {
        HostInput {
            key,
            title,
            model,
            live,
            state: if live { "live" } else { "reconnecting" },
            marks: &NO_MARKS,
        }
    }

    fn names(rows: &[FleetRow]) -> Vec<String> {
        rows.iter()
            .map(|r| format!("{}/{}", r.host, r.row.view.cells[0].text))
            .collect()
    }

    #[test]
    fn the_busiest_across_hosts_come_first_with_their_host() {
        let a = model("a", &[("web", 40.0, None), ("db", 5.0, None)]);
        let b = model("b", &[("batch", 90.0, None), ("web", 40.0, None)]);
        let hosts = [input(1, "a", &a, true), input(2, "b", &b, true)];
        let (rows, matching) = table(&hosts, SortSpec::default(), "", ViewPrefs::default());
        assert_eq!(matching, 4);
        // Equal CPU: by name, then by host.
        assert_eq!(names(&rows), ["b/batch", "a/web", "b/web", "a/db"]);
    }

    #[test]
    fn the_filter_and_the_cap_apply_across_hosts() {
        let many: Vec<(String, f64)> = (0..40)
            .map(|i| (format!("svc-{i}"), f64::from(i)))
            .collect();
        let refs: Vec<(&str, f64, Option<Health>)> =
            many.iter().map(|(n, c)| (n.as_str(), *c, None)).collect();
        let a = model("a", &refs);
        let b = model("b", &[("svc-99", 99.0, None), ("other", 100.0, None)]);
        let hosts = [input(1, "a", &a, true), input(2, "b", &b, true)];
        let (rows, matching) = table(&hosts, SortSpec::default(), "SVC", ViewPrefs::default());
        assert_eq!(matching, 41, "every svc container of both hosts matches");
        assert_eq!(rows.len(), FLEET_ROWS);
        assert_eq!(names(&rows)[..3], ["b/svc-99", "a/svc-39", "a/svc-38"]);
    }

    #[test]
    fn a_host_that_is_not_live_keeps_its_rows_marked_stale_and_its_tile_says_why() {
        let a = model(
            "a",
            &[
                ("web", 10.0, Some(Health::Unhealthy)),
                ("db", 1.0, Some(Health::Healthy)),
            ],
        );
        let down = input(1, "a", &a, false);
        let (rows, _) = table(
            std::slice::from_ref(&down),
            SortSpec::default(),
            "",
            ViewPrefs::default(),
        );
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.stale));
        let tile = tile(&down);
        assert!(tile.down);
        assert_eq!((tile.running, tile.unhealthy, tile.exited), (2, 1, 0));
        assert_eq!(tile.attention, ["not live: reconnecting", "1 unhealthy"]);
        // Without host figures (an older agent) the tile says so rather than 0.
        assert_eq!((tile.cpu.as_str(), tile.mem.as_str()), ("–", "–"));
    }

    #[test]
    fn a_live_quiet_host_needs_no_attention() {
        let a = model("a", &[("web", 10.0, Some(Health::Healthy))]);
        let tile = tile(&input(1, "a", &a, true));
        assert!(!tile.down);
        assert!(tile.attention.is_empty());
    }

    #[test]
    fn alerts_count_on_the_tile_and_mark_their_rows() {
        let a = model("a", &[("web", 10.0, None), ("db", 1.0, None)]);
        let marks = CardMarks::from([(
            "a-web".to_owned(),
            Mark {
                container: "web".to_owned(),
                causes: vec!["memory 95 % of its limit".into(), "OOM killed".into()],
            },
        )]);
        let host = HostInput {
            marks: &marks,
            ..input(1, "a", &a, true)
        };
        assert_eq!(tile(&host).attention, ["2 alerts"]);
        let (rows, _) = table(
            std::slice::from_ref(&host),
            SortSpec::default(),
            "",
            ViewPrefs::default(),
        );
        let mark = |name: &str| {
            rows.iter()
                .find(|r| r.row.view.cells[0].text == name)
                .map(|r| r.row.attention.clone())
        };
        assert_eq!(
            mark("web"),
            Some(Some("memory 95 % of its limit\nOOM killed".to_owned()))
        );
        assert_eq!(mark("db"), Some(None));
    }
}
