//! A row as the table draws it: the display data of [`present::row_view`] with what contract 5
//! adds around it — the CPU figure in the chosen [`CpuScale`], the state and health badges of
//! the name cell, a tooltip per cell, whether the container has stopped, and the header rows
//! of compose groups. Pure, so every rule is tested on the host; `frame.rs` builds rows with
//! [`row`] and [`group_row`], `view/table.rs` draws them.

use std::collections::{BTreeMap, HashMap};

use dockscope_protocol::{ContainerState, ContainerStats, Health, HostStats};

use crate::format;
use crate::ingest::ContainerModel;
use crate::metrics::{self, Value, METRICS, SPARK_POINTS};
use crate::present::{self, RowView};
use crate::sparkline;
use crate::text;

/// What a CPU figure is a percentage of. `cpu_pct` on the wire is of one core; the other
/// scales divide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CpuScale {
    /// Of one core, as `docker stats` (can exceed 100).
    #[default]
    Core,
    /// Of the whole host: ÷ the host's cores (`batch.host.cores`).
    Host,
    /// Of the container's own limit: ÷ `cpu_limit_cores`, or of the host without a limit.
    Limit,
}

impl CpuScale {
    /// Every scale, in the switch's order.
    pub const ALL: [CpuScale; 3] = [CpuScale::Core, CpuScale::Host, CpuScale::Limit];

    /// Its stored name and its label on the switch and in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            CpuScale::Core => "core",
            CpuScale::Host => "host",
            CpuScale::Limit => "limit",
        }
    }

    /// The stored name read back; anything unknown is `None` (the caller keeps the default).
    pub fn parse(text: &str) -> Option<CpuScale> {
        CpuScale::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What a figure in this scale is a percentage of, for tooltips.
    pub fn meaning(self) -> &'static str {
        match self {
            CpuScale::Core => "% of one core",
            CpuScale::Host => "% of the whole host",
            CpuScale::Limit => "% of the container's CPU limit",
        }
    }

    /// The CPU column's header: `"CPU (host)"`.
    pub fn header(self) -> String {
        format!("CPU ({})", self.as_str())
    }
}

/// A CPU figure in `scale`, and a note when the scale could not be applied as asked.
///
/// `cpu_pct` is percent of one core; `host_cores` the agent's `host.cores`; `limit_cores`
/// the container's `cpu_limit_cores`. Without a limit the limit scale is the host's ("no
/// limit"); without the host's core count the host scale has no figure.
pub fn scaled_cpu(
    cpu_pct: Option<f64>,
    scale: CpuScale,
    host_cores: Option<u32>,
    limit_cores: Option<f64>,
) -> (Option<f64>, Option<String>) {
    let host = host_cores.filter(|&n| n > 0).map(f64::from);
    let limit = limit_cores.filter(|l| l.is_finite() && *l > 0.0);
    match scale {
        CpuScale::Core => (cpu_pct, None),
        CpuScale::Host => match host {
            Some(n) => (cpu_pct.map(|v| v / n), None),
            None => (None, Some(NO_HOST_CORES.to_owned())),
        },
        CpuScale::Limit => match (limit, host) {
            (Some(l), _) => (
                cpu_pct.map(|v| v / l),
                Some(format!("limit {} CPUs", trim_float(l))),
            ),
            (None, Some(n)) => (
                cpu_pct.map(|v| v / n),
                Some(format!("no limit: % of the host's {n} cores")),
            ),
            (None, None) => (None, Some(format!("no limit; {NO_HOST_CORES}"))),
        },
    }
}

/// Why the host scale has no figure.
pub const NO_HOST_CORES: &str = "this agent does not report its host's cores";

fn trim_float(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// How a chart of CPU over time is scaled: the divisor of its `cpu_pct` points and its axis
/// name. A card's totals have no single limit, so their limit scale is the host's.
pub fn chart_cpu_scale(
    scale: CpuScale,
    host_cores: Option<u32>,
    limit_cores: Option<f64>,
) -> (f64, String) {
    let (hundred, _) = scaled_cpu(Some(100.0), scale, host_cores, limit_cores);
    match hundred.filter(|v| v.is_finite() && *v > 0.0) {
        Some(v) => {
            let shown = if scale == CpuScale::Limit && limit_cores.is_none() {
                "host"
            } else {
                scale.as_str()
            };
            (100.0 / v, format!("CPU % ({shown})"))
        }
        // The scale cannot be applied (no host cores): the chart stays of one core, and says so.
        None => (1.0, "CPU % (core)".to_owned()),
    }
}

/// A badge in the name cell: a state worth seeing at a glance, always written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// `data-badge` and CSS class: `paused`, `restarting`, `unhealthy`, `starting`, `exited`,
    /// `oom`, `died`, `removed`, `other`.
    pub kind: &'static str,
    pub text: String,
    /// Its tooltip when it says more than the text (a time of death's date); else the text.
    pub tip: String,
}

/// The badges of a container: its state when not plainly running, its health when not
/// healthy, and for a stopped one its exit code and whether the OOM killer ended it.
pub fn badges(stats: &ContainerStats) -> Vec<Badge> {
    let badge = |kind, text: &str| Badge {
        kind,
        text: text.to_owned(),
        tip: text.to_owned(),
    };
    let mut out = Vec::new();
    match stats.state {
        None | Some(ContainerState::Running) => {}
        Some(ContainerState::Paused) => out.push(badge("paused", "paused")),
        Some(ContainerState::Restarting) => out.push(badge("restarting", "restarting")),
        Some(ContainerState::Exited) | Some(ContainerState::Dead) => {
            let word = if stats.state == Some(ContainerState::Dead) {
                "dead"
            } else {
                "exited"
            };
            let text = match stats.exit_code {
                Some(code) => format!("{word} ({code})"),
                None => word.to_owned(),
            };
            out.push(Badge {
                kind: "exited",
                tip: text.clone(),
                text,
            });
        }
        Some(ContainerState::Created) => out.push(badge("other", "created")),
        Some(ContainerState::Removing) => out.push(badge("other", "removing")),
        Some(ContainerState::Unknown) => out.push(badge("other", "unknown state")),
    }
    match stats.health {
        Some(Health::Unhealthy) => out.push(badge("unhealthy", "unhealthy")),
        Some(Health::Starting) => out.push(badge("starting", "starting")),
        Some(Health::Healthy) | Some(Health::Unknown) | None => {}
    }
    if stats.oom_killed == Some(true) {
        out.push(badge("oom", text::OOM_KILLED));
    }
    out
}

/// What a stopped container's row adds (contract 6): when it died, "died 2m 5s ago" with the
/// date in the tooltip (`now_agent_ms`: the browser's now on the agent's clock), and
/// "removed" once it is gone from the engine.
pub fn stopped_badges(stats: &ContainerStats, now_agent_ms: Option<i64>) -> Vec<Badge> {
    let mut out = Vec::new();
    if let (Some(finished), Some(now)) = (stats.finished_at, now_agent_ms) {
        let ago_ms = now.saturating_sub(finished.timestamp_millis()).max(0);
        let text = text::died_ago(&format::ago(ago_ms as f64));
        out.push(Badge {
            kind: "died",
            tip: format!(
                "{text}: {}",
                finished.format("%Y-%m-%d %H:%M:%S UTC (agent clock)")
            ),
            text,
        });
    }
    if stats.removed == Some(true) {
        out.push(Badge {
            kind: "removed",
            text: text::REMOVED.to_owned(),
            tip: text::REMOVED_TIP.to_owned(),
        });
    }
    out
}

/// What a row shows: a container, or the header of a compose group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The figures, as [`present::row_view`] writes them (the CPU cell in the chosen scale).
    pub view: RowView,
    /// The name cell's badges.
    pub badges: Vec<Badge>,
    /// One tooltip per column of [`METRICS`] (empty: none).
    pub tips: Vec<String>,
    /// A stopped container (`batch.exited`): drawn below the running ones, greyed.
    pub stopped: bool,
    /// A group's header row instead of a container.
    pub group: Option<GroupHeader>,
    /// Why alert rules hold for this container, one cause a line (`attention.rs`); `None`
    /// while none does. The row's red mark, and its tooltip.
    pub attention: Option<String>,
}

/// The header row of a compose group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupHeader {
    /// The project's name, or `None` for the containers of no project.
    pub project: Option<String>,
    /// `"3 containers"`.
    pub summary: String,
    pub collapsed: bool,
}

/// What every row of one card is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RowContext {
    pub scale: CpuScale,
    /// The agent's `host.cores`.
    pub host_cores: Option<u32>,
    /// The agent's `host.mem_total_bytes`, which tells "no limit" from a limit.
    pub host_memory: Option<u64>,
    /// The browser's now on the agent's clock, for a stopped container's time of death.
    pub now_agent_ms: Option<i64>,
}

/// The row of `container` (`stopped` for one from `batch.exited`).
pub fn row(container: &ContainerModel, stopped: bool, ctx: RowContext) -> Row {
    let stats = &container.stats;
    let host = ctx.host_memory.map(|total| HostStats {
        mem_total_bytes: Some(total),
        ..HostStats::default()
    });
    let mut view = present::row_view(container, host.as_ref());
    let mut tips: Vec<String> = METRICS
        .iter()
        .map(|m| m.tooltip(stats).unwrap_or_default())
        .collect();
    let (cpu, note) = scaled_cpu(
        stats.cpu_pct,
        ctx.scale,
        ctx.host_cores,
        stats.cpu_limit_cores,
    );
    if let Some(i) = METRICS.iter().position(|m| m.key == "cpu") {
        if let Some(cell) = view.cells.get_mut(i) {
            cell.text = format::percent(cpu);
        }
        let mut tip = format!("{}: {}", ctx.scale.meaning(), format::percent(cpu));
        if ctx.scale != CpuScale::Core {
            tip.push_str(&format!("\n{}", cpu_of_one_core(stats.cpu_pct)));
        }
        if let Some(note) = note {
            tip.push_str(&format!("\n{note}"));
        }
        if let Some(ms) = stats.cpu_throttled_ms_per_sec.filter(|v| *v > 0.0) {
            tip.push_str(&format!("\nthrottled {ms:.0} ms/s"));
        }
        tips[i] = tip;
    }
    if ctx.scale != CpuScale::Core {
        rescale_cpu_spark(&mut view, container, ctx);
    }
    if let Some(i) = METRICS.iter().position(|m| matches!(m.value, Value::Name)) {
        let mut tip = view.title.clone();
        if let Some(health) = stats.health {
            tip.push_str(&format!("\nhealth: {}", health_word(health)));
        }
        if let Some(project) = &stats.compose_project {
            let service = stats.compose_service.as_deref().unwrap_or("?");
            tip.push_str(&format!("\ncompose: {project} / {service}"));
        }
        tips[i] = tip;
    }
    let mut badges = badges(stats);
    if stopped {
        badges.extend(stopped_badges(stats, ctx.now_agent_ms));
    }
    Row {
        view,
        badges,
        tips,
        stopped,
        group: None,
        attention: None,
    }
}

/// Marks `row` for the alert rules that hold for its container (`causes`, one a line, from
/// `attention.rs`; `None`: none holds): the red mark, and the causes in the name's tooltip,
/// which is always there.
pub fn mark_attention(row: &mut Row, causes: Option<String>) {
    let name = METRICS.iter().position(|m| matches!(m.value, Value::Name));
    if let (Some(causes), Some(tip)) = (&causes, name.and_then(|i| row.tips.get_mut(i))) {
        tip.push_str(&format!("\n{} {causes}", text::ATTENTION_MARK));
    }
    row.attention = causes;
}

fn cpu_of_one_core(cpu_pct: Option<f64>) -> String {
    format!("{} of one core", format::percent(cpu_pct))
}

/// `healthy`, `unhealthy`, `starting`.
pub fn health_word(health: Health) -> &'static str {
    match health {
        Health::Starting => "starting",
        Health::Healthy => "healthy",
        Health::Unhealthy => "unhealthy",
        Health::Unknown => "unknown",
    }
}

/// The CPU sparkline's label in the row's scale (its line is the same shape in any scale).
fn rescale_cpu_spark(view: &mut RowView, container: &ContainerModel, ctx: RowContext) {
    let Some(i) = METRICS
        .iter()
        .filter(|m| m.spark.is_some())
        .position(|m| m.key == "cpu")
    else {
        return;
    };
    let values: Vec<Option<f64>> = container
        .history
        .last_n(SPARK_POINTS)
        .map(|s| s.cpu_pct)
        .collect();
    let max = sparkline::cpu_scale(&values);
    let (top, _) = scaled_cpu(
        Some(max),
        ctx.scale,
        ctx.host_cores,
        container.stats.cpu_limit_cores,
    );
    if let Some(spark) = view.sparks.get_mut(i) {
        spark.label = format!(
            "CPU last 60 s ({}), top of scale {}",
            ctx.scale.as_str(),
            format::percent(top)
        );
    }
}

/// The header row of a group of `count` containers.
pub fn group_row(project: Option<&str>, count: usize, collapsed: bool) -> Row {
    let name = project.unwrap_or(UNGROUPED);
    let mut view = RowView {
        id: group_id(project),
        title: name.to_owned(),
        ..RowView::default()
    };
    view.cells = METRICS
        .iter()
        .map(|m| present::CellView {
            text: if matches!(m.value, Value::Name) {
                name.to_owned()
            } else {
                String::new()
            },
            ..present::CellView::default()
        })
        .collect();
    view.sparks = metrics::sparks().map(|_| Default::default()).collect();
    Row {
        view,
        badges: Vec::new(),
        tips: Vec::new(),
        stopped: false,
        group: Some(GroupHeader {
            project: project.map(str::to_owned),
            summary: containers_word(count),
            collapsed,
        }),
        attention: None,
    }
}

/// The group of containers without a compose project.
pub const UNGROUPED: &str = "ungrouped";

/// The row id of a group's header: never a container id (those are hex).
pub fn group_id(project: Option<&str>) -> String {
    match project {
        Some(p) => format!("group:{p}"),
        None => "group:".to_owned(),
    }
}

fn containers_word(count: usize) -> String {
    if count == 1 {
        "1 container".to_owned()
    } else {
        format!("{count} containers")
    }
}

/// Whether a row id is a group header's.
pub fn is_group_id(id: &str) -> bool {
    id.starts_with("group:")
}

/// One compose group of a grouped table: its project and how many containers it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub project: Option<String>,
    pub count: usize,
    pub collapsed: bool,
}

/// The rows of a grouped table: for each compose project (by name, the containers of no
/// project last as "ungrouped") its header row, then — unless it is collapsed — its
/// containers in the order given (`sorted`: the table's sort, so sorting applies within each
/// group). Returns the row ids and the groups by header id.
pub fn grouped_order<'a>(
    sorted: impl IntoIterator<Item = &'a ContainerStats>,
    collapsed: impl Fn(&str) -> bool,
) -> (Vec<String>, HashMap<String, Group>) {
    let mut members: BTreeMap<(bool, Option<&'a str>), Vec<&'a str>> = BTreeMap::new();
    for stats in sorted {
        let project = stats.compose_project.as_deref();
        members
            .entry((project.is_none(), project))
            .or_default()
            .push(&stats.id);
    }
    let mut ids = Vec::new();
    let mut groups = HashMap::new();
    for ((_, project), list) in members {
        let id = group_id(project);
        let folded = collapsed(&id);
        ids.push(id.clone());
        if !folded {
            ids.extend(list.iter().map(|s| (*s).to_owned()));
        }
        groups.insert(
            id,
            Group {
                project: project.map(str::to_owned),
                count: list.len(),
                collapsed: folded,
            },
        );
    }
    (ids, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_scales_divide_by_cores_or_limit() {
        // (cpu, scale, host cores, limit) → (figure, note)
        type Case = (
            Option<f64>,
            CpuScale,
            Option<u32>,
            Option<f64>,
            Option<f64>,
            Option<&'static str>,
        );
        let cases: [Case; 9] = [
            (
                Some(150.0),
                CpuScale::Core,
                Some(4),
                Some(0.5),
                Some(150.0),
                None,
            ),
            (
                Some(150.0),
                CpuScale::Host,
                Some(4),
                Some(0.5),
                Some(37.5),
                None,
            ),
            (
                Some(50.0),
                CpuScale::Host,
                None,
                None,
                None,
                Some(NO_HOST_CORES),
            ),
            (
                Some(50.0),
                CpuScale::Host,
                Some(0),
                None,
                None,
                Some(NO_HOST_CORES),
            ),
            (
                Some(40.0),
                CpuScale::Limit,
                Some(4),
                Some(0.5),
                Some(80.0),
                Some("limit 0.5 CPUs"),
            ),
            (
                Some(40.0),
                CpuScale::Limit,
                Some(2),
                None,
                Some(20.0),
                Some("no limit: % of the host's 2 cores"),
            ),
            (
                Some(40.0),
                CpuScale::Limit,
                Some(2),
                Some(f64::NAN),
                Some(20.0),
                Some("no limit: % of the host's 2 cores"),
            ),
            (
                Some(40.0),
                CpuScale::Limit,
                None,
                None,
                None,
                Some("no limit; this agent does not report its host's cores"),
            ),
            (
                None,
                CpuScale::Limit,
                Some(2),
                Some(1.5),
                None,
                Some("limit 1.5 CPUs"),
            ),
        ];
        for (cpu, scale, host, limit, figure, note) in cases {
            assert_eq!(
                scaled_cpu(cpu, scale, host, limit),
                (figure, note.map(str::to_owned)),
                "{cpu:?} {scale:?} {host:?} {limit:?}"
            );
        }
        for scale in CpuScale::ALL {
            assert_eq!(CpuScale::parse(scale.as_str()), Some(scale));
        }
        assert_eq!(CpuScale::parse("Host"), None);
        assert_eq!(CpuScale::Host.header(), "CPU (host)");
    }

    fn stats(state: Option<ContainerState>, health: Option<Health>) -> ContainerStats {
        ContainerStats {
            id: "c".into(),
            name: "web".into(),
            state,
            health,
            ..ContainerStats::default()
        }
    }

    #[test]
    fn badges_say_what_is_not_plainly_running() {
        let text =
            |s: &ContainerStats| -> Vec<String> { badges(s).into_iter().map(|b| b.text).collect() };
        use ContainerState as S;
        let cases: [(ContainerStats, &[&str]); 8] = [
            (stats(None, None), &[]),
            (stats(Some(S::Running), Some(Health::Healthy)), &[]),
            (stats(Some(S::Paused), None), &["paused"]),
            (
                stats(Some(S::Restarting), Some(Health::Unhealthy)),
                &["restarting", "unhealthy"],
            ),
            (
                stats(Some(S::Running), Some(Health::Starting)),
                &["starting"],
            ),
            (
                ContainerStats {
                    exit_code: Some(137),
                    oom_killed: Some(true),
                    ..stats(Some(S::Exited), None)
                },
                &["exited (137)", "OOM killed"],
            ),
            (stats(Some(S::Exited), None), &["exited"]),
            (
                stats(Some(S::Unknown), Some(Health::Unknown)),
                &["unknown state"],
            ),
        ];
        for (s, want) in cases {
            assert_eq!(text(&s), want, "{:?} {:?}", s.state, s.health);
        }
    }

    #[test]
    fn stopped_rows_say_when_they_died_and_whether_removed() {
        let died = |secs: i64| chrono::DateTime::from_timestamp(1_795_773_600 - secs, 0);
        let now = Some(1_795_773_600_000);
        let text = |s: &ContainerStats, now| -> Vec<(&str, String)> {
            stopped_badges(s, now)
                .into_iter()
                .map(|b| (b.kind, b.text))
                .collect()
        };
        // (finished_at, removed, now, badges)
        type Case<'a> = (
            Option<i64>,
            Option<bool>,
            Option<i64>,
            Vec<(&'a str, &'a str)>,
        );
        let cases: [Case; 5] = [
            (Some(125), None, now, vec![("died", "died 2 min ago")]),
            (
                Some(3),
                Some(true),
                now,
                vec![("died", "died 3 s ago"), ("removed", "removed")],
            ),
            // A time of death after now (clocks): just now.
            (Some(-30), None, now, vec![("died", "died just now")]),
            (None, Some(false), now, vec![]),
            (Some(10), None, None, vec![]),
        ];
        for (ago, removed, now, want) in cases {
            let s = ContainerStats {
                finished_at: ago.and_then(died),
                removed,
                ..stats(Some(ContainerState::Exited), None)
            };
            let got = text(&s, now);
            let want: Vec<(&str, String)> =
                want.into_iter().map(|(k, t)| (k, t.to_owned())).collect();
            assert_eq!(got, want, "{ago:?} {removed:?}");
        }
        let s = ContainerStats {
            finished_at: died(60),
            ..stats(Some(ContainerState::Exited), None)
        };
        let tip = stopped_badges(&s, now)
            .pop()
            .map(|b| b.tip)
            .unwrap_or_default();
        assert_eq!(tip, "died 60 s ago: 2026-11-27 09:59:00 UTC (agent clock)");
        // A running row never gets them.
        let model = ContainerModel::new(s);
        assert!(row(
            &model,
            false,
            RowContext {
                now_agent_ms: now,
                ..RowContext::default()
            }
        )
        .badges
        .iter()
        .all(|b| b.kind != "died"));
        assert!(row(
            &model,
            true,
            RowContext {
                now_agent_ms: now,
                ..RowContext::default()
            }
        )
        .badges
        .iter()
        .any(|b| b.kind == "died"));
    }

    #[test]
    fn an_attention_mark_carries_its_causes_into_the_name_tooltip() {
        let model = ContainerModel::new(ContainerStats {
            name: "web".into(),
            ..ContainerStats::default()
        });
        let plain = row(&model, false, RowContext::default());
        let name = METRICS
            .iter()
            .position(|m| matches!(m.value, Value::Name))
            .unwrap_or_default();
        let mut marked = plain.clone();
        mark_attention(&mut marked, Some("OOM killed\nhealth check failing".into()));
        assert_eq!(
            marked.attention.as_deref(),
            Some("OOM killed\nhealth check failing")
        );
        assert_eq!(
            marked.tips[name],
            format!("{}\n⚠ OOM killed\nhealth check failing", plain.tips[name])
        );
        let mut cleared = plain.clone();
        mark_attention(&mut cleared, None);
        assert_eq!(cleared, plain);
    }

    #[test]
    fn a_row_writes_cpu_in_its_scale_and_says_so() {
        let mut model = ContainerModel::new(ContainerStats {
            cpu_pct: Some(60.0),
            cpu_limit_cores: Some(0.5),
            cpu_throttled_ms_per_sec: Some(120.0),
            net_tx_bytes: Some(2048),
            compose_project: Some("shop".into()),
            compose_service: Some("db".into()),
            health: Some(Health::Healthy),
            ..stats(Some(ContainerState::Running), None)
        });
        model
            .history
            .push(crate::metrics::Sample::of(0.0, &model.stats));
        let cpu = METRICS.iter().position(|m| m.key == "cpu").unwrap_or(0);
        let ctx = |scale| RowContext {
            scale,
            host_cores: Some(4),
            host_memory: None,
            now_agent_ms: None,
        };
        let core = row(&model, false, ctx(CpuScale::Core));
        assert_eq!(core.view.text("cpu"), "60.0 %");
        let host = row(&model, false, ctx(CpuScale::Host));
        assert_eq!(host.view.text("cpu"), "15.0 %");
        assert!(
            host.tips[cpu].starts_with("% of the whole host: 15.0 %"),
            "{}",
            host.tips[cpu]
        );
        assert!(host.tips[cpu].contains("60.0 % of one core"));
        assert!(host.tips[cpu].contains("throttled 120 ms/s"));
        assert!(
            host.view.sparks[0].label.contains("(host)"),
            "{}",
            host.view.sparks[0].label
        );
        let limit = row(&model, false, ctx(CpuScale::Limit));
        assert_eq!(limit.view.text("cpu"), "120 %");
        assert!(limit.tips[cpu].contains("limit 0.5 CPUs"));
        assert!(
            core.tips[0].contains("health: healthy") && core.tips[0].contains("compose: shop / db")
        );
        let tx = METRICS.iter().position(|m| m.key == "net_tx").unwrap_or(0);
        assert_eq!(core.tips[tx], "sent 2.00 KiB in all");
        assert!(!core.stopped && core.group.is_none());
    }

    #[test]
    fn charts_say_their_cpu_scale() {
        let cases = [
            (CpuScale::Core, Some(4), None, 1.0, "CPU % (core)"),
            (CpuScale::Host, Some(4), None, 4.0, "CPU % (host)"),
            (CpuScale::Host, None, None, 1.0, "CPU % (core)"),
            (CpuScale::Limit, Some(4), Some(0.5), 0.5, "CPU % (limit)"),
            (CpuScale::Limit, Some(4), None, 4.0, "CPU % (host)"),
            (CpuScale::Limit, None, None, 1.0, "CPU % (core)"),
        ];
        for (scale, host, limit, divisor, label) in cases {
            assert_eq!(
                chart_cpu_scale(scale, host, limit),
                (divisor, label.to_owned()),
                "{scale:?} {host:?} {limit:?}"
            );
        }
    }

    #[test]
    fn grouped_order_keeps_the_sort_within_groups() {
        let c = |id: &str, project: Option<&str>| ContainerStats {
            id: id.into(),
            name: id.into(),
            compose_project: project.map(str::to_owned),
            ..ContainerStats::default()
        };
        // Already in the table's sort order (say CPU, highest first).
        let sorted = [
            c("a", Some("shop")),
            c("b", None),
            c("c", Some("blog")),
            c("d", Some("shop")),
            c("e", None),
        ];
        let (ids, groups) = grouped_order(&sorted, |_| false);
        assert_eq!(
            ids,
            [
                "group:blog",
                "c",
                "group:shop",
                "a",
                "d",
                "group:",
                "b",
                "e"
            ]
        );
        assert_eq!(groups["group:shop"].count, 2);
        assert_eq!(groups["group:"].project, None);
        let (ids, groups) = grouped_order(&sorted, |id| id == "group:shop");
        assert_eq!(ids, ["group:blog", "c", "group:shop", "group:", "b", "e"]);
        assert!(groups["group:shop"].collapsed && groups["group:shop"].count == 2);
        assert_eq!(grouped_order(&[], |_| false).0, Vec::<String>::new());
    }

    #[test]
    fn group_rows_are_named_and_counted() {
        let g = group_row(Some("shop"), 3, false);
        assert_eq!(g.view.name(), "shop");
        assert_eq!(g.view.id, "group:shop");
        assert!(is_group_id(&g.view.id));
        let header = g.group.unwrap_or_default();
        assert_eq!(
            (header.summary.as_str(), header.collapsed),
            ("3 containers", false)
        );
        let none = group_row(None, 1, true);
        assert_eq!(none.view.name(), UNGROUPED);
        assert_eq!(
            none.group.map(|g| g.summary),
            Some("1 container".to_owned())
        );
        assert!(!is_group_id(&"a".repeat(64)));
    }
}
