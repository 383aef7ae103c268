//! Display data: what a row or a chart shows, derived from the model by pure functions (the
//! "widget data" stage, after `ingest`, before the view).

use crate::format;
use crate::ingest::{ContainerModel, Sample, TotalSample, SPARK_POINTS};
use crate::sparkline;

/// Everything one container row displays; compared before being pushed into the row's signal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowView {
    /// Container id: which container the row (a recycled slot) shows now.
    pub id: String,
    pub name: String,
    /// Image, for the row's tooltip.
    pub image: String,
    pub cpu: String,
    /// Memory in use, e.g. `"24.0 MiB"`.
    pub memory: String,
    /// `" / 512 MiB"`, or empty when there is no limit figure (hidden on phones).
    pub mem_limit: String,
    /// Used / limit in percent, for the bar; `None` when either is unknown.
    pub mem_percent: Option<f64>,
    pub uptime: String,
    /// Sparkline path data (see [`sparkline::path`]).
    pub cpu_path: String,
    pub mem_path: String,
    /// Scale of the CPU sparkline, for its tooltip.
    pub cpu_scale: String,
}

/// The row for `container` as of its latest sample.
pub fn row_view(container: &ContainerModel) -> RowView {
    let stats = &container.stats;
    let recent: Vec<&Sample> = container.history.last_n(SPARK_POINTS).collect();
    let cpu: Vec<Option<f64>> = recent.iter().map(|s| s.cpu_pct).collect();
    let mem: Vec<Option<f64>> = recent
        .iter()
        .map(|s| s.mem_bytes.map(|b| b as f64))
        .collect();
    let cpu_max = sparkline::cpu_scale(&cpu);
    let mem_max = stats
        .mem_limit_bytes
        .map(|l| l as f64)
        .unwrap_or_else(|| mem.iter().flatten().copied().fold(1.0, f64::max));
    RowView {
        id: stats.id.clone(),
        name: stats.name.clone(),
        image: stats.image.clone().unwrap_or_default(),
        cpu: format::percent(stats.cpu_pct),
        memory: format::memory(stats.mem_bytes, None),
        mem_limit: match (stats.mem_bytes, stats.mem_limit_bytes) {
            (Some(_), Some(limit)) => format!(" / {}", format::bytes(limit)),
            _ => String::new(),
        },
        mem_percent: match (stats.mem_bytes, stats.mem_limit_bytes) {
            (Some(used), Some(limit)) if limit > 0 => {
                Some((used as f64 / limit as f64 * 100.0).clamp(0.0, 100.0))
            }
            _ => None,
        },
        uptime: stats
            .uptime_secs
            .map(format::duration)
            .unwrap_or_else(|| "–".to_owned()),
        cpu_path: sparkline::path(&cpu, SPARK_POINTS, cpu_max),
        mem_path: sparkline::path(&mem, SPARK_POINTS, mem_max),
        cpu_scale: format!("last 60 s, top of scale {}", format::percent(Some(cpu_max))),
    }
}

/// Points of a time chart: `[agent time ms, value]`.
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
        cpu.push(vec![t.t_ms, round1(t.cpu_pct)]);
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
            cpu.push(vec![s.t_ms, round1(v)]);
        }
        if let Some(b) = s.mem_bytes {
            mem.push(vec![s.t_ms, round1(b as f64 / MIB)]);
        }
    }
    (downsample(cpu, CHART_POINTS), downsample(mem, CHART_POINTS))
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
        ContainerModel {
            name_key: "web".into(),
            stats: ContainerStats {
                id: "c".into(),
                name: "web".into(),
                cpu_pct,
                mem_bytes,
                mem_limit_bytes: limit,
                uptime_secs: Some(65),
                image: Some("nginx".into()),
            },
            history,
        }
    }

    #[test]
    fn row_view_formats_and_draws() {
        let row = row_view(&container(
            &[(Some(10.0), Some(512)), (Some(20.0), Some(1024))],
            Some(2048),
        ));
        assert_eq!(row.cpu, "20.0 %");
        assert_eq!(row.memory, "1.00 KiB");
        assert_eq!(row.mem_limit, " / 2.00 KiB");
        assert_eq!(row.mem_percent, Some(50.0));
        assert_eq!(row.uptime, "1m 5s");
        assert!(row.cpu_path.starts_with('M') && row.cpu_path.contains('L'));
        assert!(!row.mem_path.is_empty());

        let unknown = row_view(&container(&[(None, None)], None));
        assert_eq!((unknown.cpu.as_str(), unknown.memory.as_str()), ("–", "–"));
        assert_eq!(unknown.mem_percent, None);
        assert_eq!(unknown.mem_limit, "");
        assert!(unknown.cpu_path.is_empty());
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
}
