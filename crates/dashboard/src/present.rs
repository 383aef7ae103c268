//! Display data: what a row or a chart shows, derived from the model by pure functions (the
//! "widget data" stage, after `ingest`, before the view).

use dockscope_protocol::HostStats;

use crate::format;
use crate::ingest::{ContainerModel, TotalSample};
use crate::metrics::{self, Sample, Unit, Value, METRICS, SPARK_POINTS};
use crate::sparkline;
use crate::text;

/// Characters of a container name shown in its cell; the whole (kept) name is in its tooltip.
pub const NAME_SHOWN_CHARS: usize = 60;
/// Characters of an agent id shown as a card's title; the whole (kept) id is in its tooltip.
pub const AGENT_ID_SHOWN_CHARS: usize = 60;

/// Everything one container row displays; compared before being pushed into the row's signal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowView {
    /// Container id: which container the row (a recycled slot) shows now.
    pub id: String,
    /// Whole name and image, for the name cell's tooltip.
    pub title: String,
    /// One per column of [`METRICS`], in its order (empty until the row shows a container).
    pub cells: Vec<CellView>,
    /// One per sparkline ([`metrics::sparks`]), in its order.
    pub sparks: Vec<SparkView>,
}

/// What one cell shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellView {
    /// The figure (`"24.0 MiB"`), or the name cut to [`NAME_SHOWN_CHARS`].
    pub text: String,
    /// `" / 512 MiB"` for a figure with a limit, `" / no limit"` for memory without one (see
    /// [`memory_limit`]), or empty when there is no limit figure (hidden on phones).
    pub limit: String,
    /// Figure / limit in percent, for the bar; `None` when either is unknown.
    pub percent: Option<f64>,
}

/// One sparkline of a row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparkView {
    /// Path data (see [`sparkline::path`]).
    pub path: String,
    /// Its accessible label (with the top of its scale).
    pub label: String,
}

impl RowView {
    /// The cell of the column `key` (empty when the row shows no container yet).
    pub fn cell(&self, key: &str) -> Option<&CellView> {
        let index = METRICS.iter().position(|m| m.key == key)?;
        self.cells.get(index)
    }

    /// The container's name as shown (cut), from the [`Value::Name`] column.
    pub fn name(&self) -> &str {
        METRICS
            .iter()
            .zip(&self.cells)
            .find(|(m, _)| matches!(m.value, Value::Name))
            .map_or("", |(_, c)| c.text.as_str())
    }

    /// The text of the column `key`'s cell.
    pub fn text(&self, key: &str) -> &str {
        self.cell(key).map_or("", |c| c.text.as_str())
    }
}

/// The row for `container` as of its latest sample; `host` (the agent's latest host figures)
/// tells a memory limit from the host's memory standing in for none.
pub fn row_view(container: &ContainerModel, host: Option<&HostStats>) -> RowView {
    let stats = &container.stats;
    let cells = METRICS
        .iter()
        .map(|metric| match (metric.value, metric.limit) {
            (Value::Name, _) => CellView {
                text: format::truncate(&stats.name, NAME_SHOWN_CHARS).into_owned(),
                ..CellView::default()
            },
            (Value::Int(read), Some(limit)) => {
                let used = read(stats);
                let limit = match metric.unit {
                    Unit::Bytes => memory_limit(limit(stats), host.and_then(|h| h.mem_total_bytes)),
                    _ => limit(stats).map_or(Limit::Unknown, Limit::Of),
                };
                CellView {
                    text: metric.text(stats),
                    limit: match (used, limit) {
                        (Some(_), Limit::Of(limit)) => format!(" / {}", metric.unit.write(limit)),
                        (Some(_), Limit::None) => format!(" / {}", text::NO_LIMIT),
                        _ => String::new(),
                    },
                    percent: mem_percent(used, limit.bytes()),
                }
            }
            _ => CellView {
                text: metric.text(stats),
                ..CellView::default()
            },
        })
        .collect();
    let recent: Vec<&Sample> = container.history.last_n(SPARK_POINTS).collect();
    let sparks = metrics::sparks()
        .map(|spark| {
            let values: Vec<Option<f64>> = recent.iter().map(|s| (spark.value)(s)).collect();
            let max = (spark.scale)(&values, stats);
            SparkView {
                path: sparkline::path(&values, SPARK_POINTS, max),
                label: (spark.label_for)(max),
            }
        })
        .collect();
    let title = match &stats.image {
        Some(image) if !image.is_empty() => text::image_tooltip(&stats.name, image),
        _ => stats.name.clone(),
    };
    RowView {
        id: stats.id.clone(),
        title,
        cells,
        sparks,
    }
}

/// A figure's limit as the row shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Not reported.
    Unknown,
    /// The container has none ("no limit", and no bar).
    None,
    /// A real limit.
    Of(u64),
}

impl Limit {
    /// The limit's figure, for the bar.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Limit::Of(limit) => Some(limit),
            Limit::Unknown | Limit::None => None,
        }
    }
}

/// Limits from this many bytes (1 EiB) on are no limit: no machine has that memory, and it is
/// what an agent sending the raw cgroup v1 "unlimited" value (2^63 − 4096) would send.
pub const NO_LIMIT_FROM: u64 = 1 << 60;

/// Whether `limit` (`mem_limit_bytes`) is a real limit. Agents send the host's memory when a
/// container has none (Docker's convention, kept for old clients), so with the host's memory
/// known (`batch.host.mem_total_bytes`, contract 5) a limit equal to it or above is no limit.
/// From an agent that does not send `host` (an older contract) a limit that big cannot be told
/// apart from a real one, so it is shown as a limit, as before — except from
/// [`NO_LIMIT_FROM`] on, which is no limit from any agent.
pub fn memory_limit(limit: Option<u64>, host_mem_total: Option<u64>) -> Limit {
    match (limit, host_mem_total) {
        (None, _) => Limit::Unknown,
        (Some(limit), _) if limit >= NO_LIMIT_FROM => Limit::None,
        (Some(limit), Some(host)) if host > 0 && limit >= host => Limit::None,
        (Some(limit), _) => Limit::Of(limit),
    }
}

/// Used / limit in percent, for the row's bar: within 0–100 whatever the figures (`None` when
/// either is unknown or the limit is 0).
pub fn mem_percent(used: Option<u64>, limit: Option<u64>) -> Option<f64> {
    match (used, limit) {
        (Some(used), Some(limit)) if limit > 0 => {
            Some((used as f64 / limit as f64 * 100.0).clamp(0.0, 100.0))
        }
        _ => None,
    }
}

/// A card's title: the agent id (cut to [`AGENT_ID_SHOWN_CHARS`]) once it is known, else the
/// address; and the whole text for its tooltip.
pub fn agent_title(agent_id: Option<&str>, url: &str) -> (String, String) {
    match agent_id {
        Some(id) if !id.is_empty() => (
            format::truncate(id, AGENT_ID_SHOWN_CHARS).into_owned(),
            text::agent_tooltip(id, url),
        ),
        _ => (url.to_owned(), url.to_owned()),
    }
}

/// An agent's uptime now: its last report plus the seconds since it arrived (never negative,
/// never overflowing).
pub fn agent_uptime(reported_secs: u64, received_ms: f64, now_ms: f64) -> String {
    let since = ((now_ms - received_ms) / 1_000.0).max(0.0);
    // Saturating float-to-int: NaN becomes 0, huge becomes u64::MAX.
    let since = since as u64;
    format::duration(reported_secs.saturating_add(since))
}

/// Points of a time chart: `[browser time ms, value]`.
pub type Points = Vec<Vec<f64>>;

const MIB: f64 = 1024.0 * 1024.0;

/// Most points a chart series is drawn with. ECharts' `setOption` cost grows with the points
/// (and dominated the frame at 300 per series); 5 minutes in 75 points is 4-second buckets.
pub const CHART_POINTS: usize = 75;

/// Averages consecutive points into at most `max_points` buckets (time and value averaged),
/// keeping the series' shape; shorter series are returned as they are.
pub fn downsample(points: Points, max_points: usize) -> Points {
    let max_points = max_points.max(1);
    if points.len() <= max_points {
        return points;
    }
    let bucket = points.len().div_ceil(max_points);
    points
        .chunks(bucket)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let t = chunk
                .iter()
                .map(|p| p.first().copied().unwrap_or(0.0))
                .sum::<f64>()
                / n;
            let v = chunk
                .iter()
                .map(|p| p.get(1).copied().unwrap_or(0.0))
                .sum::<f64>()
                / n;
            vec![t.round(), round1(v)]
        })
        .collect()
}

/// The agent's total CPU (%) and memory (MiB) series.
pub fn totals_series(totals: impl Iterator<Item = TotalSample>) -> (Points, Points) {
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    for t in totals {
        cpu.push(vec![t.t_ms, round1(chart_cpu(t.cpu_pct))]);
        mem.push(vec![t.t_ms, round1(t.mem_bytes as f64 / MIB)]);
    }
    (downsample(cpu, CHART_POINTS), downsample(mem, CHART_POINTS))
}

/// One container's CPU (%) and memory (MiB) series; unknown figures are left out.
pub fn container_series<'a>(history: impl Iterator<Item = &'a Sample>) -> (Points, Points) {
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    for s in history {
        if let Some(v) = s.cpu_pct.filter(|v| v.is_finite()) {
            cpu.push(vec![s.t_ms, round1(chart_cpu(v))]);
        }
        if let Some(b) = s.mem_bytes {
            mem.push(vec![s.t_ms, round1(b as f64 / MIB)]);
        }
    }
    (downsample(cpu, CHART_POINTS), downsample(mem, CHART_POINTS))
}

/// CPU as charted: within 0 and [`format::MAX_SHOWN_PERCENT`], so one absurd reading cannot
/// flatten the rest of the chart to nothing.
fn chart_cpu(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, format::MAX_SHOWN_PERCENT)
    } else {
        0.0
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Ring;
    use dockscope_protocol::ContainerStats;

    fn container(samples: &[(Option<f64>, Option<u64>)], limit: Option<u64>) -> ContainerModel {
        let mut history = Ring::new(300);
        for (i, (cpu, mem)) in samples.iter().enumerate() {
            history.push(Sample {
                t_ms: i as f64 * 1_000.0,
                cpu_pct: *cpu,
                mem_bytes: *mem,
            });
        }
        let (cpu_pct, mem_bytes) = samples.last().copied().unwrap_or((None, None));
        let mut model = ContainerModel::new(ContainerStats {
            id: "c".into(),
            name: "web".into(),
            cpu_pct,
            mem_bytes,
            mem_limit_bytes: limit,
            uptime_secs: Some(65),
            image: Some("nginx".into()),
            ..ContainerStats::default()
        });
        model.history = history;
        model
    }

    #[test]
    fn row_view_formats_and_draws() {
        let row = row_view(
            &container(
                &[(Some(10.0), Some(512)), (Some(20.0), Some(1024))],
                Some(2048),
            ),
            None,
        );
        assert_eq!(row.text("cpu"), "20.0 %");
        assert_eq!(row.text("mem"), "1.00 KiB");
        assert_eq!(row.cell("mem").unwrap().limit, " / 2.00 KiB");
        assert_eq!(row.cell("mem").unwrap().percent, Some(50.0));
        assert_eq!(row.text("uptime"), "1m 5s");
        assert!(row.sparks[0].path.starts_with('M') && row.sparks[0].path.contains('L'));
        assert!(!row.sparks[1].path.is_empty());

        let unknown = row_view(&container(&[(None, None)], None), None);
        assert_eq!((unknown.text("cpu"), unknown.text("mem")), ("–", "–"));
        assert_eq!(unknown.cell("mem").unwrap().percent, None);
        assert_eq!(unknown.cell("mem").unwrap().limit, "");
        assert!(unknown.sparks[0].path.is_empty());
    }

    #[test]
    fn absurd_figures_display_sanely() {
        // (cpu, mem, limit, uptime) → (cpu, memory, limit, percent, uptime)
        type Case = (
            (Option<f64>, Option<u64>, Option<u64>, Option<u64>),
            (
                &'static str,
                &'static str,
                &'static str,
                Option<f64>,
                &'static str,
            ),
        );
        let cases: [Case; 5] = [
            (
                (Some(1e308), Some(u64::MAX), Some(u64::MAX), Some(u64::MAX)),
                ("> 100000 %", "16.0 EiB", " / no limit", None, "> 100 years"),
            ),
            (
                (Some(-5.0), Some(u64::MAX), Some(1), Some(0)),
                ("–", "16.0 EiB", " / 1 B", Some(100.0), "0s"),
            ),
            (
                (Some(50.0), Some(10), Some(0), None),
                ("50.0 %", "10 B", " / 0 B", None, "–"),
            ),
            (
                (Some(0.0), Some(0), Some(u64::MAX), Some(59)),
                ("0.0 %", "0 B", " / no limit", None, "59s"),
            ),
            ((None, None, None, None), ("–", "–", "", None, "–")),
        ];
        for ((cpu, mem, limit, uptime), (want_cpu, want_mem, want_limit, want_pct, want_up)) in
            cases
        {
            let mut c = container(&[(cpu, mem), (cpu, mem)], limit);
            c.stats.uptime_secs = uptime;
            let row = row_view(&c, None);
            assert_eq!(
                (
                    row.text("cpu"),
                    row.text("mem"),
                    row.cell("mem").unwrap().limit.as_str()
                ),
                (want_cpu, want_mem, want_limit),
                "{cpu:?} {mem:?} {limit:?}"
            );
            assert_eq!(row.cell("mem").unwrap().percent, want_pct);
            assert_eq!(row.text("uptime"), want_up);
            for text in [
                row.text("cpu"),
                row.text("mem"),
                row.text("uptime"),
                row.sparks[0].label.as_str(),
                row.sparks[0].path.as_str(),
            ] {
                assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
                assert!(!text.contains('-'), "{text}");
            }
        }
    }

    #[test]
    fn names_and_titles_are_cut_with_the_whole_text_on_hover() {
        let long = format!("<img src=x onerror=alert(1)>{}", "n".repeat(200));
        let mut c = container(&[(Some(1.0), Some(1))], None);
        c.stats.name = long.clone();
        let row = row_view(&c, None);
        assert_eq!(row.text("name").chars().count(), NAME_SHOWN_CHARS);
        assert!(row.text("name").ends_with('…'));
        assert_eq!(row.title, format!("{long}\nimage: nginx"));
        c.stats.image = None;
        assert_eq!(row_view(&c, None).title, long);

        let cases = [
            (
                Some("host-a"),
                "ws://h:1/ws",
                ("host-a", "host-a at ws://h:1/ws"),
            ),
            (None, "ws://h:1/ws", ("ws://h:1/ws", "ws://h:1/ws")),
            (Some(""), "ws://h:1/ws", ("ws://h:1/ws", "ws://h:1/ws")),
        ];
        for (id, url, (title, tooltip)) in cases {
            assert_eq!(agent_title(id, url), (title.to_owned(), tooltip.to_owned()));
        }
        let (title, tooltip) = agent_title(Some(&long), "ws://h:1/ws");
        assert_eq!(title.chars().count(), AGENT_ID_SHOWN_CHARS);
        assert!(tooltip.starts_with(&long));
    }

    #[test]
    fn agent_uptime_never_overflows_or_goes_negative() {
        let cases = [
            (60, 1_000.0, 3_000.0, "1m 2s"),
            (60, 5_000.0, 1_000.0, "1m 0s"),
            (u64::MAX, 0.0, 1e12, "> 100 years"),
            (5, f64::NAN, 0.0, "5s"),
        ];
        for (reported, received, now, expected) in cases {
            assert_eq!(agent_uptime(reported, received, now), expected);
        }
    }

    #[test]
    fn absurd_cpu_is_charted_within_bounds() {
        let c = container(
            &[(Some(1e308), None), (Some(-5.0), None), (Some(3.0), None)],
            None,
        );
        let (cpu, _) = container_series(c.history.iter());
        let values: Vec<f64> = cpu.iter().map(|p| p[1]).collect();
        assert_eq!(values, [format::MAX_SHOWN_PERCENT, 0.0, 3.0]);
    }

    #[test]
    fn downsample_averages_buckets() {
        let points: Points = (0..10)
            .map(|i| vec![f64::from(i) * 1_000.0, f64::from(i)])
            .collect();
        assert_eq!(downsample(points.clone(), 20), points);
        let halved = downsample(points.clone(), 5);
        assert_eq!(halved.len(), 5);
        assert_eq!(halved[0], vec![500.0, 0.5]);
        assert_eq!(halved[4], vec![8_500.0, 8.5]);
        // 10 points into at most 3 buckets: buckets of 4, 4 and 2.
        let thirds = downsample(points, 3);
        assert_eq!(thirds.len(), 3);
        assert_eq!(thirds[2], vec![8_500.0, 8.5]);
        let long: Points = (0..300).map(|i| vec![f64::from(i), 1.0]).collect();
        assert!(downsample(long, CHART_POINTS).len() <= CHART_POINTS);
    }

    #[test]
    fn series_skip_unknown_figures() {
        let c = container(&[(Some(1.25), None), (None, Some(2 * 1024 * 1024))], None);
        let (cpu, mem) = container_series(c.history.iter());
        assert_eq!(cpu, vec![vec![0.0, 1.3]]);
        assert_eq!(mem, vec![vec![1_000.0, 2.0]]);
        let totals = [TotalSample {
            t_ms: 5.0,
            cpu_pct: 3.33,
            mem_bytes: 1024 * 1024,
        }];
        assert_eq!(
            totals_series(totals.into_iter()),
            (vec![vec![5.0, 3.3]], vec![vec![5.0, 1.0]])
        );
    }

    #[test]
    fn memory_without_a_limit_says_so() {
        const GIB: u64 = 1 << 30;
        let host = 24 * GIB;
        // (limit sent, host memory sent) → (limit text, bar percent to 0.01) for 1 GiB used
        type Case = (Option<u64>, Option<u64>, &'static str, Option<f64>);
        let cases: [Case; 10] = [
            // Contract 5: the host's memory standing in for no limit.
            (Some(host), Some(host), " / no limit", None),
            (Some(host + 4096), Some(host), " / no limit", None),
            (Some(2 * GIB), Some(host), " / 2.00 GiB", Some(50.0)),
            // Just below the host's memory: a real limit.
            (Some(host - GIB), Some(host), " / 23.0 GiB", Some(4.35)),
            // An agent without `host`: a limit is a limit, as before…
            (Some(host), None, " / 24.0 GiB", Some(4.17)),
            // …except the raw cgroup v1 "unlimited" value, or anything no machine has.
            (Some(9_223_372_036_854_771_712), None, " / no limit", None),
            (Some(u64::MAX), Some(host), " / no limit", None),
            // A host reporting 0 bytes of memory decides nothing.
            (Some(2 * GIB), Some(0), " / 2.00 GiB", Some(50.0)),
            (None, Some(host), "", None),
            (None, None, "", None),
        ];
        for (limit, host_total, want_limit, want_percent) in cases {
            let host = HostStats {
                mem_total_bytes: host_total,
                ..HostStats::default()
            };
            let row = row_view(
                &container(&[(Some(1.0), Some(GIB))], limit),
                host_total.map(|_| &host),
            );
            let cell = row.cell("mem").unwrap();
            assert_eq!(
                (
                    cell.limit.as_str(),
                    cell.percent.map(|p| (p * 100.0).round() / 100.0)
                ),
                (want_limit, want_percent),
                "limit {limit:?}, host {host_total:?}"
            );
            assert_eq!(row.text("mem"), "1.00 GiB");
        }
        // Only memory: a PID limit is not compared with the host's memory.
        let mut c = container(&[(Some(1.0), Some(GIB))], Some(host));
        c.stats.pids = Some(3);
        c.stats.pids_limit = Some(20);
        let host_stats = HostStats {
            mem_total_bytes: Some(10),
            ..HostStats::default()
        };
        assert_eq!(
            row_view(&c, Some(&host_stats)).cell("pids").unwrap().limit,
            " / 20"
        );
    }

    #[test]
    fn a_contract_5_batch_with_host_memory_shows_no_limit() {
        let mut model = crate::ingest::AgentModel::default();
        let batch = r#"{"type":"container_stats_batch","agent_id":"host-a","sent_at":"2025-10-15T10:00:00Z",
 "containers":[{"id":"a","name":"free","mem_bytes":1048576,"mem_limit_bytes":25276502016},
  {"id":"b","name":"capped","mem_bytes":1048576,"mem_limit_bytes":67108864}],
 "agent_metrics":{"cpu_pct":1.0,"mem_bytes":1},
 "host":{"mem_total_bytes":25276502016}}"#;
        assert_eq!(model.ingest_frame(batch, 0.0), Ok(()));
        let limit = |id: &str| {
            row_view(&model.containers[id], model.host.as_ref())
                .cell("mem")
                .unwrap()
                .limit
                .clone()
        };
        assert_eq!(
            (limit("a"), limit("b")),
            (" / no limit".to_owned(), " / 64.0 MiB".to_owned())
        );
    }

    #[test]
    fn the_original_contract_displays() {
        let mut model = crate::ingest::AgentModel::default();
        let batch = r#"{"type":"container_stats_batch","agent_id":"host-a","sent_at":"2025-10-15T10:00:00Z",
 "containers":[{"id":"abc123","name":"nginx","cpu_pct":24.5,"mem_bytes":128345600,
 "mem_limit_bytes":536870912,"uptime_secs":532}],
 "agent_metrics":{"cpu_pct":4.2,"mem_bytes":66469888}}"#;
        assert_eq!(model.ingest_frame(batch, 0.0), Ok(()));
        let row = row_view(&model.containers["abc123"], model.host.as_ref());
        assert_eq!(
            (
                row.text("name"),
                row.text("cpu"),
                row.text("mem"),
                row.cell("mem").unwrap().limit.as_str()
            ),
            ("nginx", "24.5 %", "122 MiB", " / 512 MiB")
        );
    }
}
