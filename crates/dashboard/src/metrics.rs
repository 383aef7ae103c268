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

/// Reads a whole figure (a cumulative counter) of a container.
pub type ReadCount = fn(&ContainerStats) -> Option<u64>;

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
    /// Bytes per second: `"1.50 KiB/s"`.
    Rate,
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
    /// CSS grid track on phones; empty: the column is not shown on phones (it would push the
    /// table wider than the screen).
    pub phone_width: &'static str,
    /// The cumulative counter a per-second figure is the rate of, shown in the cell's
    /// tooltip (`"received 1.50 GiB in all"`), and the words before it.
    pub total: Option<(&'static str, ReadCount)>,
    /// Whether a table shows the column until the user chooses otherwise.
    pub shown_by_default: bool,
    /// What the column chooser calls it (the header may be shorter).
    pub long_label: &'static str,
}

/// Samples a sparkline draws: the last 60 seconds.
pub const SPARK_POINTS: usize = 60;

/// Every column, in the order shown.
pub static METRICS: [Metric; 10] = [
    Metric {
        key: "name",
        label: "Name",
        unit: Unit::Text,
        value: Value::Name,
        limit: None,
        spark: None,
        width: "minmax(100px, 2fr)",
        phone_width: "minmax(72px, 1.5fr)",
        total: None,
        shown_by_default: true,
        long_label: "Name",
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
        width: "76px",
        phone_width: "52px",
        total: None,
        shown_by_default: true,
        long_label: "CPU",
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
        total: None,
        shown_by_default: true,
        long_label: "Memory",
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
        total: None,
        shown_by_default: true,
        long_label: "Uptime",
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
        total: None,
        shown_by_default: true,
        long_label: "PIDs (processes and threads)",
    },
    Metric {
        key: "net_rx",
        label: "Net ↓",
        unit: Unit::Rate,
        value: Value::Float(|s| s.net_rx_bytes_per_sec),
        limit: None,
        spark: None,
        width: "76px",
        phone_width: "",
        total: Some(("received", |s| s.net_rx_bytes)),
        shown_by_default: true,
        long_label: "Network received per second",
    },
    Metric {
        key: "net_tx",
        label: "Net ↑",
        unit: Unit::Rate,
        value: Value::Float(|s| s.net_tx_bytes_per_sec),
        limit: None,
        spark: None,
        width: "76px",
        phone_width: "",
        total: Some(("sent", |s| s.net_tx_bytes)),
        shown_by_default: true,
        long_label: "Network sent per second",
    },
    Metric {
        key: "block_read",
        label: "Disk r",
        unit: Unit::Rate,
        value: Value::Float(|s| s.block_read_bytes_per_sec),
        limit: None,
        spark: None,
        width: "76px",
        phone_width: "",
        total: Some(("read", |s| s.block_read_bytes)),
        shown_by_default: false,
        long_label: "Block I/O read per second",
    },
    Metric {
        key: "block_write",
        label: "Disk w",
        unit: Unit::Rate,
        value: Value::Float(|s| s.block_write_bytes_per_sec),
        limit: None,
        spark: None,
        width: "76px",
        phone_width: "",
        total: Some(("written", |s| s.block_write_bytes)),
        shown_by_default: false,
        long_label: "Block I/O written per second",
    },
    Metric {
        key: "restarts",
        label: "Restarts",
        unit: Unit::Count,
        value: Value::Int(|s| s.restart_count),
        limit: None,
        spark: None,
        width: "64px",
        phone_width: "",
        total: None,
        shown_by_default: true,
        long_label: "Restarts by the engine",
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

    /// The cell's tooltip: the cumulative counter behind a per-second figure, when known.
    pub fn tooltip(&self, stats: &ContainerStats) -> Option<String> {
        let (words, read) = self.total?;
        read(stats).map(|total| format!("{words} {} in all", format::bytes(total)))
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
            Unit::Rate => match value.filter(|v| v.is_finite() && *v >= 0.0) {
                Some(v) => format!("{}/s", format::bytes(v.min(u64::MAX as f64) as u64)),
                None => "–".to_owned(),
            },
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
            (Unit::Rate, Some(v)) => format!("{}/s", format::bytes(v)),
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

/// CSS `grid-template-columns` of a row on wide screens: every figure shown, then every
/// sparkline.
pub fn grid_columns(shown: Columns) -> String {
    let figures = shown.metrics().map(|m| m.width);
    figures
        .chain(sparks().map(|s| s.width))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same on phones, which drop the sparklines.
pub fn phone_grid_columns(shown: Columns) -> String {
    shown
        .metrics()
        .map(|m| m.phone_width)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which columns of [`METRICS`] a table shows: one bit per entry, in its order. The name is
/// always shown (a row must say which container it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns(u32);

impl Default for Columns {
    fn default() -> Self {
        Self::from_keys(METRICS.iter().filter(|m| m.shown_by_default).map(|m| m.key))
    }
}

impl Columns {
    /// The columns named in `keys`; unknown keys (a column of a newer dashboard, a typo in
    /// stored data) are left out, and the name is always in.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut bits = 0;
        for key in keys {
            if let Some(i) = METRICS.iter().position(|m| m.key == key) {
                bits |= 1 << i;
            }
        }
        Self(bits).with_name()
    }

    fn with_name(self) -> Self {
        let name = METRICS
            .iter()
            .position(|m| matches!(m.value, Value::Name))
            .map_or(0, |i| 1 << i);
        Self(self.0 | name)
    }

    /// Whether the column `key` is shown.
    pub fn shows(self, key: &str) -> bool {
        METRICS
            .iter()
            .position(|m| m.key == key)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The same with `key` shown if it was hidden and hidden if it was shown (the name stays).
    pub fn toggled(self, key: &str) -> Self {
        match METRICS.iter().position(|m| m.key == key) {
            Some(i) => Self(self.0 ^ (1 << i)).with_name(),
            None => self,
        }
    }

    /// The shown columns, in table order.
    pub fn metrics(self) -> impl Iterator<Item = &'static Metric> {
        METRICS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, m)| m)
    }

    /// The keys of the shown columns, in table order (as stored).
    pub fn keys(self) -> Vec<&'static str> {
        self.metrics().map(|m| m.key).collect()
    }

    /// The table's `data-hide`: the keys of the hidden columns, which `style/main.css` hides
    /// with one rule per column (`[data-hide~="<key>"] [data-metric="<key>"]`; the page's
    /// CSP admits no generated style sheet).
    pub fn hidden_keys(self) -> String {
        METRICS
            .iter()
            .filter(|m| !self.shows(m.key))
            .map(|m| m.key)
            .collect::<Vec<_>>()
            .join(" ")
    }
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
            net_rx_bytes_per_sec: Some(1536.0),
            net_tx_bytes_per_sec: Some(0.0),
            net_rx_bytes: Some(3 << 30),
            block_read_bytes_per_sec: Some(-1.0),
            block_write_bytes_per_sec: Some(f64::NAN),
            restart_count: Some(3),
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
        assert_eq!(
            texts,
            [
                "web",
                "24.5 %",
                "122 MiB",
                "8m 52s",
                "17",
                "1.50 KiB/s",
                "0 B/s",
                "–",
                "–",
                "3"
            ]
        );
        let unknown = ContainerStats {
            id: "c1".into(),
            name: "web".into(),
            ..ContainerStats::default()
        };
        let texts: Vec<String> = METRICS.iter().map(|m| m.text(&unknown)).collect();
        assert_eq!(texts, ["web", "–", "–", "–", "–", "–", "–", "–", "–", "–"]);
        let tips: Vec<Option<String>> = METRICS.iter().map(|m| m.tooltip(&stats())).collect();
        assert_eq!(tips[5].as_deref(), Some("received 3.00 GiB in all"));
        assert!(tips.iter().enumerate().all(|(i, t)| i == 5 || t.is_none()));
    }

    #[test]
    fn every_unit_writes_whole_and_fractional_figures() {
        // (unit, fractional, whole, written from the fractional, written from the whole)
        type Case = (Unit, Option<f64>, Option<u64>, &'static str, &'static str);
        let cases: [Case; 10] = [
            (
                Unit::Rate,
                Some(2048.4),
                Some(2048),
                "2.00 KiB/s",
                "2.00 KiB/s",
            ),
            (Unit::Rate, Some(f64::INFINITY), None, "–", "–"),
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
    fn the_grid_has_a_track_per_shown_cell() {
        let original = Columns::from_keys(["name", "cpu", "mem", "uptime", "pids"]);
        assert_eq!(
            grid_columns(original),
            "minmax(100px, 2fr) 76px minmax(100px, 1.4fr) 64px 72px 92px 92px"
        );
        assert_eq!(
            phone_grid_columns(original),
            "minmax(72px, 1.5fr) 52px minmax(64px, 1fr) 60px 44px"
        );
        let few = Columns::from_keys(["cpu", "restarts"]);
        assert_eq!(grid_columns(few), "minmax(100px, 2fr) 76px 64px 92px 92px");
        // Phones leave out the network, block and restart columns.
        assert_eq!(
            phone_grid_columns(Columns::default()),
            "minmax(72px, 1.5fr) 52px minmax(64px, 1fr) 60px 44px"
        );
    }

    #[test]
    fn columns_choose_and_keep_the_name() {
        let default = Columns::default();
        assert_eq!(
            default.keys(),
            ["name", "cpu", "mem", "uptime", "pids", "net_rx", "net_tx", "restarts"]
        );
        // (stored keys, shown keys): unknown keys are dropped, the name is always in.
        let cases: [(&[&str], &[&str]); 4] = [
            (&[], &["name"]),
            (&["pids", "nope", "cpu"], &["name", "cpu", "pids"]),
            (&["block_write", "name"], &["name", "block_write"]),
            (&["NAME", "Cpu"], &["name"]),
        ];
        for (stored, shown) in cases {
            assert_eq!(
                Columns::from_keys(stored.iter().copied()).keys(),
                shown,
                "{stored:?}"
            );
        }
        let toggled = default.toggled("cpu").toggled("block_read").toggled("name");
        assert!(!toggled.shows("cpu") && toggled.shows("block_read") && toggled.shows("name"));
        assert_eq!(toggled.toggled("cpu").toggled("block_read"), default);
        assert_eq!(default.toggled("nope"), default);
        assert_eq!(
            Columns::from_keys(["cpu", "mem", "uptime", "pids", "net_rx"]).hidden_keys(),
            "net_tx block_read block_write restarts"
        );
    }

    #[test]
    fn the_style_sheet_hides_every_column_that_can_be_hidden() {
        let css: String = include_str!("../style/main.css")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for m in METRICS.iter().filter(|m| !matches!(m.value, Value::Name)) {
            let rule = format!(
                r#".containers[data-hide~="{k}"][data-metric="{k}"]{{display:none;}}"#,
                k = m.key
            );
            assert!(css.contains(&rule), "style/main.css lacks {rule}");
        }
        // On phones, the columns without a phone track.
        let phone = css
            .split("@media(max-width:600px)")
            .nth(2)
            .unwrap_or_default();
        for m in &METRICS {
            let rule = format!(r#".containers[data-metric="{}"]"#, m.key);
            assert_eq!(phone.contains(&rule), m.phone_width.is_empty(), "{}", m.key);
        }
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
