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
    /// the name (in [`compare_names`] order) and then the id so the order is stable from one
    /// second to the next.
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
        let by_name = || compare_names(a_name, &a.name, b_name, &b.name);
        let primary = match self.key.0.value {
            Value::Name => Some(by_name()),
            Value::Float(read) => compare_option(read(a), read(b), |x, y| x.total_cmp(y)),
            Value::Int(read) => compare_option(read(a), read(b), |x, y| x.cmp(y)),
        };
        let primary = match primary {
            Some(ordering) if self.direction == Direction::Desc => ordering.reverse(),
            Some(ordering) => ordering,
            // One side is missing: missing goes last regardless of direction.
            None => missing_last(self.key, a, b),
        };
        primary.then_with(by_name).then_with(|| a.id.cmp(&b.id))
    }
}

/// The form of a name used for sorting and filtering: lower-cased.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The order of two names as people count: [`natural`] on their [`name_key`]s first (so `Web`
/// and `web` sit together), then on the names as written, then byte by byte — a total order,
/// so equal rows never swap from one second to the next.
pub fn compare_names(a_key: &str, a: &str, b_key: &str, b: &str) -> Ordering {
    natural(a_key, b_key)
        .then_with(|| natural(a, b))
        .then_with(|| a.cmp(b))
}

/// Natural order: runs of ASCII digits compare as numbers (`fleet-2` < `fleet-10`, however
/// many digits), everything else character by character. Numbers equal but for leading zeros
/// (`a01`, `a1`) are equal here; [`compare_names`] breaks that tie. Allocates nothing: a
/// hundred rows are sorted every second.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
            return a.is_empty().cmp(&b.is_empty()).reverse();
        };
        if x.is_ascii_digit() && y.is_ascii_digit() {
            let (a_digits, a_rest) = split_digits(a);
            let (b_digits, b_rest) = split_digits(b);
            let (a_number, b_number) = (
                a_digits.trim_start_matches('0'),
                b_digits.trim_start_matches('0'),
            );
            // Without leading zeros, the longer number is the bigger one; equal lengths compare
            // digit by digit.
            let ordering = a_number
                .len()
                .cmp(&b_number.len())
                .then_with(|| a_number.cmp(b_number));
            if ordering != Ordering::Equal {
                return ordering;
            }
            (a, b) = (a_rest, b_rest);
        } else {
            if x != y {
                return x.cmp(&y);
            }
            (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
        }
    }
}

/// The leading run of ASCII digits of `text`, and the rest.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
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
    fn natural_order_table() {
        use Ordering::{Equal, Greater, Less};
        let cases: &[(&str, &str, Ordering)] = &[
            ("fleet-2", "fleet-10", Less),
            ("fleet-10", "fleet-9", Greater),
            ("fleet-10", "fleet-10", Equal),
            ("fleet", "fleet-1", Less),
            ("", "a", Less),
            ("a", "", Greater),
            ("", "", Equal),
            ("a01", "a1", Equal),
            ("a01b", "a1c", Less),
            ("v1.9", "v1.10", Less),
            ("db2-replica", "db10", Less),
            (
                "x99999999999999999999999",
                "x100000000000000000000000",
                Less,
            ),
            ("x0", "x00", Equal),
            ("app", "bpp", Less),
            ("1a", "a", Less),
            ("é2", "é10", Less),
            ("web", "web-1", Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(natural(a, b), *expected, "{a:?} vs {b:?}");
            assert_eq!(natural(b, a), expected.reverse(), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn equal_figures_sort_by_name_in_natural_order() {
        let names = [
            "fleet-1", "fleet-10", "fleet-11", "fleet-12", "fleet-2", "Fleet-3", "fleet-3",
            "fleet-03", "fleet-9",
        ];
        let rows: Vec<ContainerStats> = names
            .iter()
            .map(|n| stats(n, Some(0.0), Some(1), Some(1)))
            .collect();
        let want = [
            "fleet-1", "fleet-2", "Fleet-3", "fleet-03", "fleet-3", "fleet-9", "fleet-10",
            "fleet-11", "fleet-12",
        ];
        // Equal CPU: the tie-break; and the name column itself, both ways.
        assert_eq!(sorted(SortSpec::default(), &rows), want);
        let by_name = SortSpec {
            key: key("name"),
            direction: Direction::Asc,
        };
        assert_eq!(sorted(by_name, &rows), want);
        let mut reversed = want;
        reversed.reverse();
        let by_name_desc = SortSpec {
            direction: Direction::Desc,
            ..by_name
        };
        assert_eq!(sorted(by_name_desc, &rows), reversed);
        // The order is total: any starting order ends the same.
        let mut shuffled = rows.clone();
        shuffled.reverse();
        assert_eq!(sorted(SortSpec::default(), &shuffled), want);
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
