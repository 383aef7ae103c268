//! The one table of every column the container table shows: its key, header label, unit (which
//! picks the formatter), how it sorts, its sparkline and its width. The table view draws its
//! headers, cells and grid from [`METRICS`]; sorting (`sort.rs`) compares by an entry's
//! value; the filter matches the [`Value::Name`] column; the history kept per container
//! ([`Sample`]) holds the figures the sparklines draw.
//!
//! Adding a column is one entry here (and, for a sparkline, one [`Sample`] field), plus the
//! protocol field it reads.

use dockscope_protocol::ContainerStats;

use crate::format;
use crate::sparkline;

/// What a column reads from a container's latest figures.
#[derive(Clone, Copy)]
pub enum Value {
    /// The container's name: cut in its cell (the whole name and the image in its tooltip),
    /// sorted case-insensitively A→Z first, and what the filter box matches.
    Name,
    /// A fractional figure; sorted biggest first, a missing one last in either direction.
    Float(fn(&ContainerStats) -> Option<f64>),
    /// A whole figure; sorted like [`Value::Float`].
    Int(fn(&ContainerStats) -> Option<u64>),
}

/// The unit of a figure, which decides how it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Text as sent.
    Text,
    /// Percent of one core: `"12.3 %"`.
    Percent,
    /// Binary units: `"24.0 MiB"`.
    Bytes,
    /// A duration: `"12m 3s"`.
    Seconds,
    /// A count: `"42"`.
    Count,
}

/// A sparkline of the column's last [`SPARK_POINTS`] samples, in its own column after the
/// figures.
pub struct Spark {
    /// Its column header.
    pub label: &'static str,
    /// CSS class of the line (its colour).
    pub class: &'static str,
    pub width: &'static str,
    /// The value of one history sample.
    pub value: fn(&Sample) -> Option<f64>,
    /// The top of the scale, from the values drawn and the container's latest figures.
    pub scale: fn(&[Option<f64>], &ContainerStats) -> f64,
    /// The line's accessible label, from its top of scale.
    pub label_for: fn(f64) -> String,
}

/// One column of the container table.
pub struct Metric {
    /// `data-metric` of its header and cells, and the suffix of their test ids
    /// (`sort-<key>`, `container-<key>`).
    pub key: &'static str,
    /// Header text.
    pub label: &'static str,
    pub unit: Unit,
    pub value: Value,
    /// Figure of which this one is a part (memory of its limit): the cell adds `" / limit"` and
    /// a bar.
    pub limit: Option<fn(&ContainerStats) -> Option<u64>>,
    pub spark: Option<Spark>,
    /// CSS grid track on wide screens.
    pub width: &'static str,
    /// CSS grid track on phones.
    pub phone_width: &'static str,
}

/// Samples a sparkline draws: the last 60 seconds.
pub const SPARK_POINTS: usize = 60;

/// Every column, in the order shown.
pub static METRICS: [Metric; 5] = [
    Metric {
        key: "name",
        label: "Name",
        unit: Unit::Text,
        value: Value::Name,
        limit: None,
        spark: None,
        width: "minmax(100px, 2fr)",
        phone_width: "minmax(72px, 1.5fr)",
    },
    Metric {
        key: "cpu",
        label: "CPU",
        unit: Unit::Percent,
        value: Value::Float(|s| s.cpu_pct),
        limit: None,
        spark: Some(Spark {
            label: "CPU 60 s",
            class: "cpu",
            width: "92px",
            value: |s| s.cpu_pct,
            scale: |values, _| sparkline::cpu_scale(values),
            label_for: |max| format!("CPU last 60 s, top of scale {}", format::percent(Some(max))),
        }),
        width: "60px",
        phone_width: "52px",
    },
    Metric {
        key: "mem",
        label: "Memory",
        unit: Unit::Bytes,
        value: Value::Int(|s| s.mem_bytes),
        limit: Some(|s| s.mem_limit_bytes),
        spark: Some(Spark {
            label: "Mem 60 s",
            class: "mem",
            width: "92px",
            value: |s| s.mem_bytes.map(|b| b as f64),
            scale: |values, stats| {
                stats
                    .mem_limit_bytes
                    .map(|l| l as f64)
                    .unwrap_or_else(|| values.iter().flatten().copied().fold(1.0, f64::max))
            },
            label_for: |_| "Memory, last 60 s".to_owned(),
        }),
        width: "minmax(100px, 1.4fr)",
        phone_width: "minmax(64px, 1fr)",
    },
    Metric {
        key: "uptime",
        label: "Uptime",
        unit: Unit::Seconds,
        value: Value::Int(|s| s.uptime_secs),
        limit: None,
        spark: None,
        width: "64px",
        phone_width: "60px",
    },
    Metric {
        key: "pids",
        label: "PIDs",
        unit: Unit::Count,
        value: Value::Int(|s| s.pids),
        limit: Some(|s| s.pids_limit),
        spark: None,
        width: "72px",
        phone_width: "44px",
    },
];

/// One container's figures at one instant: what the sparklines and the detail chart draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the batch was sent, on the browser's clock (`ClockSkew::to_local`), ms since the
    /// epoch.
    pub t_ms: f64,
    pub cpu_pct: Option<f64>,
    pub mem_bytes: Option<u64>,
}

impl Sample {
    pub fn of(t_ms: f64, stats: &ContainerStats) -> Self {
        Self {
            t_ms,
            cpu_pct: stats.cpu_pct,
            mem_bytes: stats.mem_bytes,
        }
    }
}

impl Metric {
    /// The column of `key`.
    pub fn find(key: &str) -> Option<&'static Metric> {
        METRICS.iter().find(|m| m.key == key)
    }

    /// The cell's text for `stats` (the name uncut; the view cuts it).
    pub fn text(&self, stats: &ContainerStats) -> String {
        match self.value {
            Value::Name => stats.name.clone(),
            Value::Float(read) => self.unit.float(read(stats)),
            Value::Int(read) => self.unit.int(read(stats)),
        }
    }
}

impl Unit {
    /// A known figure in this unit (a limit, say).
    pub fn write(self, value: u64) -> String {
        self.int(Some(value))
    }

    fn float(self, value: Option<f64>) -> String {
        match self {
            Unit::Percent => format::percent(value),
            // No whole-number unit holds a fraction: write it rounded down.
            _ => self.int(
                value
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(|v| v as u64),
            ),
        }
    }

    fn int(self, value: Option<u64>) -> String {
        match (self, value) {
            (Unit::Bytes, value) => format::memory(value, None),
            (Unit::Seconds, Some(secs)) => format::duration(secs),
            (Unit::Percent, value) => format::percent(value.map(|v| v as f64)),
            (Unit::Count, Some(v)) => format::count(v),
            (Unit::Text, Some(v)) => v.to_string(),
            (_, None) => "–".to_owned(),
        }
    }
}

/// The columns with a sparkline, in the order their sparklines are shown.
pub fn sparks() -> impl Iterator<Item = &'static Spark> {
    METRICS.iter().filter_map(|m| m.spark.as_ref())
}

/// CSS `grid-template-columns` of a row on wide screens: every figure, then every sparkline.
pub fn grid_columns() -> String {
    let figures = METRICS.iter().map(|m| m.width);
    figures
        .chain(sparks().map(|s| s.width))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same on phones, which drop the sparklines.
pub fn phone_grid_columns() -> String {
    METRICS
        .iter()
        .map(|m| m.phone_width)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> ContainerStats {
        ContainerStats {
            id: "c1".into(),
            name: "web".into(),
            cpu_pct: Some(24.5),
            mem_bytes: Some(128_345_600),
            mem_limit_bytes: Some(536_870_912),
            uptime_secs: Some(532),
            pids: Some(17),
            pids_limit: Some(100),
            ..ContainerStats::default()
        }
    }

    #[test]
    fn keys_are_unique_and_found() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(
                METRICS[i + 1..].iter().all(|other| other.key != m.key),
                "{} twice",
                m.key
            );
            assert!(std::ptr::eq(Metric::find(m.key).unwrap(), m));
        }
        assert!(Metric::find("nope").is_none());
    }

    #[test]
    fn each_column_writes_its_figure_in_its_unit() {
        let texts: Vec<String> = METRICS.iter().map(|m| m.text(&stats())).collect();
        assert_eq!(texts, ["web", "24.5 %", "122 MiB", "8m 52s", "17"]);
        let unknown = ContainerStats {
            cpu_pct: None,
            mem_bytes: None,
            uptime_secs: None,
            pids: None,
            ..stats()
        };
        let texts: Vec<String> = METRICS.iter().map(|m| m.text(&unknown)).collect();
        assert_eq!(texts, ["web", "–", "–", "–", "–"]);
    }

    #[test]
    fn every_unit_writes_whole_and_fractional_figures() {
        // (unit, fractional, whole, written from the fractional, written from the whole)
        type Case = (Unit, Option<f64>, Option<u64>, &'static str, &'static str);
        let cases: [Case; 8] = [
            (Unit::Percent, Some(5.0), Some(5), "5.0 %", "5.0 %"),
            (
                Unit::Bytes,
                Some(1536.7),
                Some(1536),
                "1.50 KiB",
                "1.50 KiB",
            ),
            (Unit::Seconds, Some(65.9), Some(65), "1m 5s", "1m 5s"),
            (Unit::Text, Some(42.0), Some(42), "42", "42"),
            (Unit::Count, Some(42.9), Some(42), "42", "42"),
            (
                Unit::Count,
                Some(1e300),
                Some(u64::MAX),
                "> 99999999",
                "> 99999999",
            ),
            (Unit::Seconds, Some(-1.0), None, "–", "–"),
            (Unit::Bytes, Some(f64::NAN), None, "–", "–"),
        ];
        for (unit, float, int, from_float, from_int) in cases {
            assert_eq!(unit.float(float), from_float, "{unit:?} {float:?}");
            assert_eq!(unit.int(int), from_int, "{unit:?} {int:?}");
        }
    }

    #[test]
    fn the_grid_has_a_track_per_cell() {
        assert_eq!(
            grid_columns(),
            "minmax(100px, 2fr) 60px minmax(100px, 1.4fr) 64px 72px 92px 92px"
        );
        assert_eq!(
            phone_grid_columns(),
            "minmax(72px, 1.5fr) 52px minmax(64px, 1fr) 60px 44px"
        );
    }

    #[test]
    fn sparklines_follow_their_figures() {
        let labels: Vec<&str> = sparks().map(|s| s.label).collect();
        assert_eq!(labels, ["CPU 60 s", "Mem 60 s"]);
        let sample = Sample::of(5.0, &stats());
        let values: Vec<Option<f64>> = sparks().map(|s| (s.value)(&sample)).collect();
        assert_eq!(values, [Some(24.5), Some(128_345_600.0)]);
    }
}
