//! Ordering container rows by a clicked column: every column of the metric table
//! (`metrics.rs`) sorts by the value its entry reads.

use std::cmp::Ordering;
use std::fmt;

use dockscope_protocol::ContainerStats;

use crate::metrics::{Metric, Value, METRICS};

/// A sortable column: an entry of [`METRICS`].
#[derive(Clone, Copy)]
pub struct SortKey(&'static Metric);

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for SortKey {}

impl fmt::Debug for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SortKey({})", self.0.key)
    }
}

impl SortKey {
    /// Sorting by `metric`.
    pub const fn by(metric: &'static Metric) -> SortKey {
        SortKey(metric)
    }

    /// The column whose key is `key`.
    pub fn of(key: &str) -> Option<SortKey> {
        Metric::find(key).map(SortKey)
    }

    /// The direction a first click on the column sorts in: names A→Z, figures biggest first.
    fn default_direction(self) -> Direction {
        match self.0.value {
            Value::Name => Direction::Asc,
            _ => Direction::Desc,
        }
    }
}

/// CPU, which a card is sorted by until a header is clicked.
const DEFAULT_KEY: SortKey = SortKey::by(&METRICS[1]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Column and direction; the default is CPU, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortSpec {
    pub key: SortKey,
    pub direction: Direction,
}

impl Default for SortSpec {
    fn default() -> Self {
        Self {
            key: DEFAULT_KEY,
            direction: Direction::Desc,
        }
    }
}

impl SortSpec {
    /// The spec after a click on `key`'s header: the same column flips, another starts in its
    /// default direction.
    pub fn clicked(self, key: SortKey) -> SortSpec {
        if self.key == key {
            let direction = match self.direction {
                Direction::Asc => Direction::Desc,
                Direction::Desc => Direction::Asc,
            };
            SortSpec { key, direction }
        } else {
            SortSpec {
                key,
                direction: key.default_direction(),
            }
        }
    }

    /// The `aria-sort` value for `key`'s header.
    pub fn aria(self, key: SortKey) -> &'static str {
        match (self.key == key, self.direction) {
            (false, _) => "none",
            (true, Direction::Asc) => "ascending",
            (true, Direction::Desc) => "descending",
        }
    }

    /// Compares two rows. A missing figure sorts last in either direction; ties fall back to
    /// the name and then the id so the order is stable from one second to the next.
    pub fn compare(self, a: &ContainerStats, b: &ContainerStats) -> Ordering {
        self.compare_keyed(a, &name_key(&a.name), b, &name_key(&b.name))
    }

    /// [`SortSpec::compare`] with each row's [`name_key`] computed once by the caller (sorting
    /// 100 rows every second should not lower-case names thousands of times).
    pub fn compare_keyed(
        self,
        a: &ContainerStats,
        a_name: &str,
        b: &ContainerStats,
        b_name: &str,
    ) -> Ordering {
        let primary = match self.key.0.value {
            Value::Name => Some(a_name.cmp(b_name)),
            Value::Float(read) => compare_option(read(a), read(b), |x, y| x.total_cmp(y)),
            Value::Int(read) => compare_option(read(a), read(b), |x, y| x.cmp(y)),
        };
        let primary = match primary {
            Some(ordering) if self.direction == Direction::Desc => ordering.reverse(),
            Some(ordering) => ordering,
            // One side is missing: missing goes last regardless of direction.
            None => missing_last(self.key, a, b),
        };
        primary
            .then_with(|| a_name.cmp(b_name))
            .then_with(|| a.id.cmp(&b.id))
    }
}

/// The form of a name used for sorting and filtering: lower-cased.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// `Some(ordering)` when both are present or both missing, `None` when exactly one is missing.
fn compare_option<T>(
    a: Option<T>,
    b: Option<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Option<Ordering> {
    match (a, b) {
        (Some(x), Some(y)) => Some(cmp(&x, &y)),
        (None, None) => Some(Ordering::Equal),
        _ => None,
    }
}

fn missing_last(key: SortKey, a: &ContainerStats, b: &ContainerStats) -> Ordering {
    let present = |c: &ContainerStats| match key.0.value {
        Value::Name => true,
        Value::Float(read) => read(c).is_some(),
        Value::Int(read) => read(c).is_some(),
    };
    present(b).cmp(&present(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SortKey {
        SortKey::of(name).unwrap()
    }

    fn stats(name: &str, cpu: Option<f64>, mem: Option<u64>, up: Option<u64>) -> ContainerStats {
        ContainerStats {
            id: format!("id-{name}"),
            name: name.to_owned(),
            cpu_pct: cpu,
            mem_bytes: mem,
            mem_limit_bytes: None,
            uptime_secs: up,
            ..ContainerStats::default()
        }
    }

    fn sorted(spec: SortSpec, rows: &[ContainerStats]) -> Vec<String> {
        let mut rows = rows.to_vec();
        rows.sort_by(|a, b| spec.compare(a, b));
        rows.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn sorts_by_each_column() {
        let rows = [
            stats("idle", Some(0.1), Some(300), Some(50)),
            stats("Busy", Some(20.0), Some(100), Some(10)),
            stats("new", None, None, None),
            stats("mid", Some(5.0), Some(200), Some(30)),
        ];
        let cases: &[(SortKey, Direction, &[&str])] = &[
            (key("cpu"), Direction::Desc, &["Busy", "mid", "idle", "new"]),
            (key("cpu"), Direction::Asc, &["idle", "mid", "Busy", "new"]),
            (key("mem"), Direction::Desc, &["idle", "mid", "Busy", "new"]),
            (
                key("uptime"),
                Direction::Asc,
                &["Busy", "mid", "idle", "new"],
            ),
            (key("name"), Direction::Asc, &["Busy", "idle", "mid", "new"]),
            (
                key("name"),
                Direction::Desc,
                &["new", "mid", "idle", "Busy"],
            ),
        ];
        for (key, direction, expected) in cases {
            let spec = SortSpec {
                key: *key,
                direction: *direction,
            };
            assert_eq!(sorted(spec, &rows), *expected, "{key:?} {direction:?}");
        }
    }

    #[test]
    fn ties_are_broken_by_name() {
        let rows = [
            stats("b", Some(1.0), None, None),
            stats("a", Some(1.0), None, None),
        ];
        assert_eq!(sorted(SortSpec::default(), &rows), ["a", "b"]);
    }

    #[test]
    fn clicks_toggle_or_switch() {
        let spec = SortSpec::default();
        assert_eq!(spec.key, key("cpu"));
        assert_eq!(spec.direction, Direction::Desc);
        let flipped = spec.clicked(key("cpu"));
        assert_eq!(flipped.direction, Direction::Asc);
        let by_name = flipped.clicked(key("name"));
        assert_eq!(
            (by_name.key, by_name.direction),
            (key("name"), Direction::Asc)
        );
        assert_eq!(by_name.clicked(key("mem")).direction, Direction::Desc);
        assert_eq!(by_name.aria(key("name")), "ascending");
        assert_eq!(by_name.aria(key("cpu")), "none");
    }
}
