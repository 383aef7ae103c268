//! The agent's parsers of what Docker and the kernel hand it, fed mutations of real input: the
//! stats payloads and cgroup trees captured under `src/sample/fixtures` (CPU and memory, and the
//! depth files: blkio and io.stat rows, the memory breakdown, OOM kills, throttling), and this
//! host's own `/proc` text. Most mutations keep the format (a number replaced by any value,
//! lines reordered, padding, surrounding whitespace), so the parsers' accept paths run and what they
//! return is checked against what was written; others break it (wrong JSON types, removed
//! keys, numbers past `u64::MAX`), which must give `None` or a clear error, never a panic.
//! `mutations_mostly_parse` checks that the mutated stats payloads still mostly parse (the accept
//! path is what is under test). Bounded by `PROPTEST_CASES` (default 256 per property).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

use bollard::models::{
    ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats, ContainerStatsResponse,
};
use dockscope_agent::engine::Endpoint;
use dockscope_agent::sample::cgroup::{Layout, ReadBuf};
use dockscope_agent::sample::docker_api::Latest;
use dockscope_agent::sample::figures::{self, Clock, Figures, Reading};
use dockscope_agent::sample::{cgroup, process};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sample/fixtures");
/// Captured stats payloads (Docker 20.10 on cgroup v1, busy and idle; the API reference's v2
/// example).
const STATS: [&str; 3] = [
    include_str!("../src/sample/fixtures/docker_v1_busy.json"),
    include_str!("../src/sample/fixtures/docker_v1_idle.json"),
    include_str!("../src/sample/fixtures/docker_v2_api_docs.json"),
];

// ---------------------------------------------------------------------------------------------
// Stats payloads: numbers in a real payload replaced, keys removed, types broken.

/// What one mutation puts in place of a number of the payload.
#[derive(Debug, Clone)]
enum Edit {
    /// Another unsigned number: keeps the type for most fields.
    Number(u64),
    /// A negative number (no stats field is signed in practice).
    Negative(i64),
    /// A fraction.
    Float(f64),
    Null,
    Text(String),
    /// The key (or array element) is removed.
    Remove,
}

fn edit() -> impl Strategy<Value = Edit> {
    let number = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        0..100u64,
        0..20_000_000_000_000u64,
        any::<u64>(),
    ];
    prop_oneof![
        40 => number.prop_map(Edit::Number),
        1 => (i64::MIN..0).prop_map(Edit::Negative),
        1 => (0.0..1e20f64).prop_map(Edit::Float),
        1 => Just(Edit::Null),
        1 => "[a-z0-9]{0,6}".prop_map(Edit::Text),
        1 => Just(Edit::Remove),
    ]
}

/// JSON pointers of every number in `value`.
fn number_paths(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Number(_) => out.push(at.to_owned()),
        Value::Object(map) => {
            for (key, v) in map {
                number_paths(
                    v,
                    &format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                number_paths(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(value: &mut Value, path: &str, edit: &Edit) {
    if let Edit::Remove = edit {
        let (parent, key) = path.rsplit_once('/').unwrap();
        match value.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Some(Value::Array(items)) => {
                let i: usize = key.parse().unwrap();
                if i < items.len() {
                    items.remove(i);
                }
            }
            _ => {}
        }
        return;
    }
    if let Some(slot) = value.pointer_mut(path) {
        *slot = match edit {
            Edit::Number(n) => Value::from(*n),
            Edit::Negative(n) => Value::from(*n),
            Edit::Float(x) => Value::from(*x),
            Edit::Null => Value::Null,
            Edit::Text(t) => Value::from(t.clone()),
            Edit::Remove => unreachable!(),
        };
    }
}

/// A fixture with 1 to 4 of its numbers edited: the payload text and the edited paths.
fn mutated_payload() -> impl Strategy<Value = (usize, String, Vec<String>)> {
    (
        0..STATS.len(),
        prop::collection::vec((any::<Index>(), edit()), 1..=4),
    )
        .prop_map(|(fixture, edits)| {
            let mut value: Value = serde_json::from_str(STATS[fixture]).unwrap();
            let mut paths = Vec::new();
            number_paths(&value, "", &mut paths);
            let mut touched = Vec::new();
            for (index, edit) in &edits {
                let path = paths[index.index(paths.len())].clone();
                apply(&mut value, &path, edit);
                touched.push(path);
            }
            (fixture, value.to_string(), touched)
        })
}

/// The figures of one payload, `previous` the CPU baseline when the payload has none.
fn figures_of(stats: &ContainerStatsResponse, mut previous: Option<Reading>) -> Figures {
    Latest::of(stats, std::time::Instant::now(), &mut previous).figures()
}

fn original_reading(fixture: usize) -> Figures {
    figures_of(&serde_json::from_str(STATS[fixture]).unwrap(), None)
}

/// Checks one mutated payload; `Ok(true)` when it parsed.
fn check_payload(fixture: usize, text: &str, touched: &[String]) -> Result<bool, TestCaseError> {
    let stats = match serde_json::from_str::<ContainerStatsResponse>(text) {
        Ok(stats) => stats,
        Err(e) => {
            // A clear error: it says where the payload went wrong.
            prop_assert!(e.to_string().contains("line"), "unclear error: {}", e);
            return Ok(false);
        }
    };
    let reading = figures_of(&stats, None);
    if let Some(pct) = reading.cpu_pct {
        prop_assert!(pct.is_finite() && pct >= 0.0, "cpu {}", pct);
    }
    let mem = stats.memory_stats.as_ref();
    match (mem.and_then(|m| m.usage), reading.mem_bytes) {
        (Some(usage), Some(used)) => {
            // Usage less an inactive cache figure of the payload (or all of it).
            let stats = mem.and_then(|m| m.stats.as_ref());
            let cache = usage - used;
            let known = ["total_inactive_file", "inactive_file"]
                .iter()
                .filter_map(|k| stats.and_then(|s| s.get(*k)).copied())
                .any(|v| v == cache);
            prop_assert!(cache == 0 || known, "used {} of {}", used, usage);
        }
        (None, None) => {}
        (usage, used) => prop_assert!(false, "usage {:?} but used {:?}", usage, used),
    }
    prop_assert_eq!(
        reading.mem_limit_bytes,
        mem.and_then(|m| m.limit).filter(|&l| l > 0)
    );
    // Block I/O, network and throttling: exactly the payload's, summed as the CLI sums.
    let raw = dockscope_agent::sample::docker_api::reading(&stats);
    let entries = stats
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    for (op, got) in [("read", raw.block_read), ("write", raw.block_write)] {
        let want = entries.and_then(|entries| {
            entries
                .iter()
                .filter(|e| e.op.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(op)))
                .try_fold(0u64, |sum, e| sum.checked_add(e.value.unwrap_or(0)))
        });
        prop_assert_eq!(got, want, "block {}", op);
    }
    let net_sum = |field: fn(&bollard::models::ContainerNetworkStats) -> Option<u64>| {
        stats.networks.as_ref().and_then(|n| {
            n.values()
                .try_fold(0u64, |sum, i| sum.checked_add(field(i).unwrap_or(0)))
        })
    };
    let want_net = (|| {
        Some(figures::NetCounters {
            rx_bytes: net_sum(|i| i.rx_bytes)?,
            tx_bytes: net_sum(|i| i.tx_bytes)?,
            rx_packets: net_sum(|i| i.rx_packets)?,
            tx_packets: net_sum(|i| i.tx_packets)?,
        })
    })();
    prop_assert_eq!(raw.net, want_net);
    let throttling = stats
        .cpu_stats
        .as_ref()
        .and_then(|c| c.throttling_data.as_ref());
    prop_assert_eq!(
        (raw.throttled_periods, raw.throttled_ns),
        (
            throttling.and_then(|t| t.throttled_periods),
            throttling.and_then(|t| t.throttled_time)
        )
    );
    let stat = |key: &str| {
        mem.and_then(|m| m.stats.as_ref())
            .and_then(|s| s.get(key))
            .copied()
    };
    prop_assert_eq!(raw.mem_anon, stat("total_rss").or(stat("anon")));
    prop_assert_eq!(raw.mem_file, stat("total_cache").or(stat("file")));
    // Edits elsewhere leave a figure as it was.
    let original = original_reading(fixture);
    if !touched
        .iter()
        .any(|p| p.starts_with("/cpu_stats") || p.starts_with("/precpu_stats"))
    {
        prop_assert_eq!(reading.cpu_pct, original.cpu_pct);
    }
    if !touched.iter().any(|p| p.starts_with("/memory_stats")) {
        prop_assert_eq!(reading.mem_bytes, original.mem_bytes);
        prop_assert_eq!(reading.mem_limit_bytes, original.mem_limit_bytes);
    }
    Ok(true)
}

/// Not a property: the mutations above must mostly parse, or the accept path goes untested
/// (the old fuzz fed random text, which almost never parsed), and sometimes not.
#[test]
fn mutations_mostly_parse() {
    let mut runner = TestRunner::deterministic();
    let strategy = mutated_payload();
    let (mut parsed, mut with_cpu, total) = (0, 0, 1_000);
    for _ in 0..total {
        let (fixture, text, touched) = strategy.new_tree(&mut runner).unwrap().current();
        if check_payload(fixture, &text, &touched).unwrap() {
            parsed += 1;
            let stats: ContainerStatsResponse = serde_json::from_str(&text).unwrap();
            with_cpu += usize::from(figures_of(&stats, None).cpu_pct.is_some());
        }
    }
    eprintln!("{parsed} of {total} mutated payloads parsed, {with_cpu} with a CPU figure");
    // About 80 % parse and 75 % carry a CPU figure with this seed; the rest exercise the
    // refusals.
    assert!(parsed * 10 >= total * 6, "only {parsed} of {total} parsed");
    assert!(
        with_cpu * 2 >= total,
        "only {with_cpu} of {total} had a CPU figure"
    );
    assert!(
        parsed * 20 <= total * 19,
        "{parsed} of {total} parsed: hardly any refusal tested"
    );
}

fn cpu_stats() -> impl Strategy<Value = Option<ContainerCpuStats>> {
    proptest::option::of(
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(prop::collection::vec(any::<u64>(), 0..4)),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(|(total, percpu, system, online)| ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: total,
                    percpu_usage: percpu,
                    ..Default::default()
                }),
                system_cpu_usage: system,
                online_cpus: online,
                ..Default::default()
            }),
    )
}

fn memory_stats() -> impl Strategy<Value = Option<ContainerMemoryStats>> {
    proptest::option::of(
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            prop::collection::hash_map(
                prop::sample::select(vec!["inactive_file", "total_inactive_file", "cache", "x"]),
                any::<u64>(),
                0..4,
            ),
        )
            .prop_map(|(usage, limit, stats)| ContainerMemoryStats {
                usage,
                limit,
                stats: Some(stats.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                ..Default::default()
            }),
    )
}

// ---------------------------------------------------------------------------------------------
// cgroup files: the captured v1 and v2 trees with every figure rewritten.

/// A figure as written into a file: one that fits, or digits past `u64::MAX`.
#[derive(Debug, Clone)]
enum Figure {
    Fits(u64),
    Overflows(String),
}

impl Figure {
    fn text(&self) -> String {
        match self {
            Figure::Fits(n) => n.to_string(),
            Figure::Overflows(digits) => digits.clone(),
        }
    }

    fn value(&self) -> Option<u64> {
        match self {
            Figure::Fits(n) => Some(*n),
            Figure::Overflows(_) => None,
        }
    }
}

fn figure() -> impl Strategy<Value = Figure> {
    prop_oneof![
        8 => prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0..1_000_000u64].prop_map(Figure::Fits),
        1 => "1844674407370955161[6-9]|[2-9][0-9]{19,22}".prop_map(Figure::Overflows),
    ]
}

/// Whitespace the kernel does not write but a reader must tolerate around a lone figure.
fn padding() -> impl Strategy<Value = (&'static str, &'static str)> {
    (
        prop::sample::select(vec!["", " ", "\t", "\n"]),
        prop::sample::select(vec!["\n", "", " \n", "\n\n", "\r\n"]),
    )
}

/// One rewrite of a container's four files.
#[derive(Debug, Clone)]
struct Files {
    cpu: Figure,
    usage: Figure,
    inactive: Figure,
    /// `None`: v2's `max` (unlimited).
    limit: Option<Figure>,
    pad: (&'static str, &'static str),
    /// `memory.stat` line order (a permutation seed) and extra lines (to outgrow the 8 KiB
    /// read buffer).
    shuffle: Vec<Index>,
    extra_lines: usize,
}

fn files() -> impl Strategy<Value = Files> {
    (
        figure(),
        figure(),
        figure(),
        proptest::option::weighted(0.8, figure()),
        padding(),
        prop::collection::vec(any::<Index>(), 0..40),
        prop_oneof![3 => Just(0usize), 1 => 0..600usize],
    )
        .prop_map(
            |(cpu, usage, inactive, limit, pad, shuffle, extra_lines)| Files {
                cpu,
                usage,
                inactive,
                limit,
                pad,
                shuffle,
                extra_lines,
            },
        )
}

/// A real `memory.stat` with `key`'s value replaced, lines reordered and padded.
fn memory_stat(original: &str, key: &str, files: &Files) -> String {
    let mut lines: Vec<String> = original
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((k, _)) if k == key => format!("{k} {}", files.inactive.text()),
            _ => l.to_owned(),
        })
        .collect();
    reorder(&mut lines, &files.shuffle);
    lines.extend((0..files.extra_lines).map(|i| format!("padding_counter_{i} {}", i * 4096)));
    lines.join("\n") + "\n"
}

/// Copies a fixture tree and rewrites container `id`'s files; returns what `Files::read` must
/// report.
fn write_tree(
    version: u8,
    root: &Path,
    files: &Files,
) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
    let (pad_l, pad_r) = files.pad;
    let lone = |f: &Figure| format!("{pad_l}{}{pad_r}", f.text());
    if version == 1 {
        let id = "2e1b1d4b7533777222e5a0114fa46434e2a8a105333354dcd0cb3437563bf893";
        let source = Path::new(FIXTURES).join("cgroup/v1-cgroupfs");
        let cpu = root.join("cpuacct/docker").join(id);
        let memory = root.join("memory/docker").join(id);
        std::fs::create_dir_all(&cpu).unwrap();
        std::fs::create_dir_all(&memory).unwrap();
        std::fs::copy(
            source.join("cpuacct/cpuacct.usage"),
            root.join("cpuacct/cpuacct.usage"),
        )
        .unwrap();
        std::fs::copy(
            source.join("memory/memory.usage_in_bytes"),
            root.join("memory/memory.usage_in_bytes"),
        )
        .unwrap();
        let stat =
            std::fs::read_to_string(source.join("memory/docker").join(id).join("memory.stat"))
                .unwrap();
        std::fs::write(cpu.join("cpuacct.usage"), lone(&files.cpu)).unwrap();
        std::fs::write(memory.join("memory.usage_in_bytes"), lone(&files.usage)).unwrap();
        std::fs::write(
            memory.join("memory.stat"),
            memory_stat(&stat, "total_inactive_file", files),
        )
        .unwrap();
        // v1 has no "max": an unlimited cgroup says 9223372036854771712.
        let limit = files
            .limit
            .clone()
            .unwrap_or(Figure::Fits(9_223_372_036_854_771_712));
        std::fs::write(memory.join("memory.limit_in_bytes"), lone(&limit)).unwrap();
        (
            files.cpu.value(),
            files.usage.value(),
            files.inactive.value(),
            limit.value(),
        )
    } else {
        let id = "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08";
        let source = Path::new(FIXTURES).join("cgroup/v2-cgroupfs");
        let dir = root.join("docker").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            source.join("cgroup.controllers"),
            root.join("cgroup.controllers"),
        )
        .unwrap();
        let cpu_stat =
            std::fs::read_to_string(source.join("docker").join(id).join("cpu.stat")).unwrap();
        let cpu_stat: String = cpu_stat
            .lines()
            .map(|l| match l.split_once(' ') {
                Some(("usage_usec", _)) => format!("usage_usec {}\n", files.cpu.text()),
                _ => format!("{l}\n"),
            })
            .collect();
        let stat =
            std::fs::read_to_string(source.join("docker").join(id).join("memory.stat")).unwrap();
        std::fs::write(dir.join("cpu.stat"), cpu_stat).unwrap();
        std::fs::write(dir.join("memory.current"), lone(&files.usage)).unwrap();
        std::fs::write(
            dir.join("memory.stat"),
            memory_stat(&stat, "inactive_file", files),
        )
        .unwrap();
        let limit = match &files.limit {
            Some(f) => lone(f),
            None => format!("{pad_l}max{pad_r}"),
        };
        std::fs::write(dir.join("memory.max"), limit).unwrap();
        (
            files.cpu.value().and_then(|us| us.checked_mul(1_000)),
            files.usage.value(),
            files.inactive.value(),
            files.limit.as_ref().and_then(Figure::value),
        )
    }
}

fn container_id(version: u8) -> &'static str {
    if version == 1 {
        "2e1b1d4b7533777222e5a0114fa46434e2a8a105333354dcd0cb3437563bf893"
    } else {
        "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08"
    }
}

// ---------------------------------------------------------------------------------------------
// The depth files (block I/O, the memory breakdown, OOM kills, throttling) with every figure
// rewritten: the captured v1 container (`DEPTH`) and the v2 fixture container.

const DEPTH_V1: &str = "20321b19ff2e2916156649a1393b105f97de9eefd2493d860a02dd080989a7f2";
const DEPTH_V2: &str = "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08";

/// A block I/O figure: mostly ones whose sums fit, sometimes any (sums then may overflow).
fn block_figure() -> impl Strategy<Value = Figure> {
    prop_oneof![
        6 => (0..1u64 << 40).prop_map(Figure::Fits),
        1 => figure(),
    ]
}

/// One device's counters.
#[derive(Debug, Clone)]
struct Device {
    major: u16,
    minor: u16,
    read: Figure,
    write: Figure,
    /// Sync, Async, Discard and Total rows: never counted.
    others: [Figure; 4],
}

fn devices(most: usize) -> impl Strategy<Value = Vec<Device>> {
    prop::collection::vec(
        (
            any::<u16>(),
            any::<u16>(),
            block_figure(),
            block_figure(),
            [figure(), figure(), figure(), figure()],
        )
            .prop_map(|(major, minor, read, write, others)| Device {
                major,
                minor,
                read,
                write,
                others,
            }),
        0..=most,
    )
}

/// A v1 `io_service_bytes` file in the kernel's form, rows in `shuffle`d order.
fn blkio_text(devices: &[Device], total: &Figure, shuffle: &[Index]) -> String {
    let mut rows = Vec::new();
    for d in devices {
        let dev = format!("{}:{}", d.major, d.minor);
        rows.push(format!("{dev} Read {}", d.read.text()));
        rows.push(format!("{dev} Write {}", d.write.text()));
        for (op, figure) in ["Sync", "Async", "Discard", "Total"].iter().zip(&d.others) {
            rows.push(format!("{dev} {op} {}", figure.text()));
        }
    }
    reorder(&mut rows, shuffle);
    rows.push(format!("Total {}", total.text()));
    rows.join("\n") + "\n"
}

/// What a v1 file yields, by our rule: the Read and Write sums, `None` when a value or a sum
/// does not fit (a `Total` line or row that does not fit spoils the file too).
fn blkio_sums(devices: &[Device], total: &Figure) -> Option<(u64, u64, usize)> {
    total.value()?;
    let (mut read, mut write) = (0u64, 0u64);
    for d in devices {
        for other in &d.others {
            other.value()?;
        }
        read = read.checked_add(d.read.value()?)?;
        write = write.checked_add(d.write.value()?)?;
    }
    Some((read, write, devices.len()))
}

/// A v2 `io.stat`: one line per device, its keys in a `shuffle`d order.
fn io_stat_text(devices: &[Device], shuffle: &[Index]) -> String {
    devices
        .iter()
        .map(|d| {
            let mut fields = vec![
                format!("rbytes={}", d.read.text()),
                format!("wbytes={}", d.write.text()),
            ];
            for (key, figure) in ["rios", "wios", "dbytes", "dios"].iter().zip(&d.others) {
                fields.push(format!("{key}={}", figure.text()));
            }
            reorder(&mut fields, shuffle);
            format!("{}:{} {}\n", d.major, d.minor, fields.join(" "))
        })
        .collect()
}

/// The figures one rewrite writes.
#[derive(Debug, Clone)]
struct DepthFiles {
    /// v1: bfq (its device rows, its Total), throttle recursive, and the non-recursive
    /// throttle file that must never be read; v2: `io.stat` from the first list.
    bfq: (Vec<Device>, Figure),
    throttle: (Vec<Device>, Figure),
    decoy: Vec<Device>,
    /// anon, file, shmem, kernel (v1: kmem file; v2: `kernel`, or `None`: an older kernel's
    /// memory.stat without it).
    anon: Figure,
    file: Figure,
    shmem: Figure,
    kernel: Option<Figure>,
    /// `None`: a kernel before 4.13, whose `memory.oom_control` has no `oom_kill` line.
    oom_kills: Option<Figure>,
    periods: Figure,
    throttled: Figure,
    shuffle: Vec<Index>,
    pad: (&'static str, &'static str),
}

fn depth_files() -> impl Strategy<Value = DepthFiles> {
    (
        (
            devices(3),
            block_figure(),
            devices(3),
            block_figure(),
            devices(2),
        ),
        (
            figure(),
            figure(),
            figure(),
            proptest::option::weighted(0.8, figure()),
        ),
        (
            proptest::option::weighted(0.9, figure()),
            figure(),
            figure(),
        ),
        prop::collection::vec(any::<Index>(), 0..30),
        padding(),
    )
        .prop_map(
            |(
                (bfq, bfq_total, throttle, throttle_total, decoy),
                (anon, file, shmem, kernel),
                (oom_kills, periods, throttled),
                shuffle,
                pad,
            )| DepthFiles {
                bfq: (bfq, bfq_total),
                throttle: (throttle, throttle_total),
                decoy,
                anon,
                file,
                shmem,
                kernel,
                oom_kills,
                periods,
                throttled,
                shuffle,
                pad,
            },
        )
}

/// Replaces the values of `keys` in a real `key value` file (removing a key given `None`),
/// reorders its lines.
fn rewrite_stat(original: &str, keys: &[(&str, Option<&Figure>)], shuffle: &[Index]) -> String {
    let mut lines: Vec<String> = original
        .lines()
        .filter_map(|l| {
            let key = l.split_once(' ').map_or(l, |(k, _)| k);
            match keys.iter().find(|(k, _)| *k == key) {
                Some((_, Some(figure))) => Some(format!("{key} {}", figure.text())),
                Some((_, None)) => None,
                None => Some(l.to_owned()),
            }
        })
        .collect();
    reorder(&mut lines, shuffle);
    lines.join("\n") + "\n"
}

/// The reading's depth figures, in one comparable tuple.
type Depth = (
    (Option<u64>, Option<u64>),
    (Option<u64>, Option<u64>, Option<u64>, Option<u64>),
    Option<u64>,
    (Option<u64>, Option<u64>),
);

fn depth_of(r: &Reading) -> Depth {
    (
        (r.block_read, r.block_write),
        (r.mem_anon, r.mem_file, r.mem_shmem, r.mem_kernel),
        r.oom_kills,
        (r.throttled_periods, r.throttled_ns),
    )
}

/// Copies the depth container's tree with its files rewritten; returns what the reader must
/// report.
fn write_depth_tree(version: u8, root: &Path, f: &DepthFiles) -> Depth {
    let (pad_l, pad_r) = f.pad;
    let lone = |fig: &Figure| format!("{pad_l}{}{pad_r}", fig.text());
    let write = |path: std::path::PathBuf, text: String| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    if version == 1 {
        let source = Path::new(FIXTURES).join("cgroup/v1-cgroupfs");
        let id = DEPTH_V1;
        for (ctrl, file) in [
            ("cpuacct", "cpuacct.usage"),
            ("memory", "memory.usage_in_bytes"),
            ("cpu", "cpu.stat"),
        ] {
            write(
                root.join(ctrl).join(file),
                std::fs::read_to_string(source.join(ctrl).join(file)).unwrap(),
            );
        }
        let dir = |ctrl: &str| root.join(ctrl).join("docker").join(id);
        let original = |ctrl: &str, file: &str| {
            std::fs::read_to_string(source.join(ctrl).join("docker").join(id).join(file)).unwrap()
        };
        write(
            dir("cpuacct").join("cpuacct.usage"),
            original("cpuacct", "cpuacct.usage"),
        );
        let memory_keys = [
            ("total_rss", Some(&f.anon)),
            ("total_cache", Some(&f.file)),
            ("total_shmem", Some(&f.shmem)),
        ];
        write(
            dir("memory").join("memory.stat"),
            rewrite_stat(&original("memory", "memory.stat"), &memory_keys, &f.shuffle),
        );
        let kernel = f.kernel.clone().unwrap_or(Figure::Fits(0));
        write(
            dir("memory").join("memory.kmem.usage_in_bytes"),
            lone(&kernel),
        );
        write(
            dir("memory").join("memory.oom_control"),
            rewrite_stat(
                &original("memory", "memory.oom_control"),
                &[("oom_kill", f.oom_kills.as_ref())],
                &f.shuffle,
            ),
        );
        write(
            dir("cpu").join("cpu.stat"),
            rewrite_stat(
                &original("cpu", "cpu.stat"),
                &[
                    ("nr_throttled", Some(&f.periods)),
                    ("throttled_time", Some(&f.throttled)),
                ],
                &f.shuffle,
            ),
        );
        let blkio = dir("blkio");
        write(
            blkio.join("blkio.bfq.io_service_bytes_recursive"),
            blkio_text(&f.bfq.0, &f.bfq.1, &f.shuffle),
        );
        write(
            blkio.join("blkio.throttle.io_service_bytes_recursive"),
            blkio_text(&f.throttle.0, &f.throttle.1, &f.shuffle),
        );
        write(
            blkio.join("blkio.throttle.io_service_bytes"),
            blkio_text(&f.decoy, &Figure::Fits(1), &f.shuffle),
        );
        // runc's choice: bfq when it lists a device (and parses), else the throttle file.
        let block = match blkio_sums(&f.bfq.0, &f.bfq.1) {
            Some((read, write, rows)) if rows > 0 => (Some(read), Some(write)),
            _ => blkio_sums(&f.throttle.0, &f.throttle.1)
                .map_or((None, None), |(read, write, _)| (Some(read), Some(write))),
        };
        (
            block,
            (
                f.anon.value(),
                f.file.value(),
                f.shmem.value(),
                kernel.value(),
            ),
            f.oom_kills.as_ref().and_then(Figure::value),
            (f.periods.value(), f.throttled.value()),
        )
    } else {
        let source = Path::new(FIXTURES).join("cgroup/v2-cgroupfs");
        let id = DEPTH_V2;
        write(
            root.join("cgroup.controllers"),
            std::fs::read_to_string(source.join("cgroup.controllers")).unwrap(),
        );
        let dir = root.join("docker").join(id);
        let original = |file: &str| {
            std::fs::read_to_string(source.join("docker").join(id).join(file)).unwrap()
        };
        let kernel_keys = [
            ("anon", Some(&f.anon)),
            ("file", Some(&f.file)),
            ("shmem", Some(&f.shmem)),
            ("kernel", f.kernel.as_ref()),
        ];
        write(
            dir.join("memory.stat"),
            rewrite_stat(&original("memory.stat"), &kernel_keys, &f.shuffle),
        );
        write(
            dir.join("memory.events"),
            rewrite_stat(
                &original("memory.events"),
                &[("oom_kill", f.oom_kills.as_ref())],
                &f.shuffle,
            ),
        );
        write(
            dir.join("cpu.stat"),
            rewrite_stat(
                &original("cpu.stat"),
                &[
                    ("nr_throttled", Some(&f.periods)),
                    ("throttled_usec", Some(&f.throttled)),
                ],
                &f.shuffle,
            ),
        );
        write(dir.join("io.stat"), io_stat_text(&f.bfq.0, &f.shuffle));
        let block = f
            .bfq
            .0
            .iter()
            .try_fold((0u64, 0u64), |(r, w), d| {
                for other in &d.others {
                    other.value()?;
                }
                Some((
                    r.checked_add(d.read.value()?)?,
                    w.checked_add(d.write.value()?)?,
                ))
            })
            .map_or((None, None), |(r, w)| (Some(r), Some(w)));
        // Without `kernel`: the fixture's kernel_stack + slab + sock.
        let kernel = match &f.kernel {
            Some(k) => k.value(),
            None => Some(16_384 + 221_184),
        };
        (
            block,
            (f.anon.value(), f.file.value(), f.shmem.value(), kernel),
            f.oom_kills.as_ref().and_then(Figure::value),
            (
                f.periods.value(),
                f.throttled.value().and_then(|us| us.checked_mul(1_000)),
            ),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// /proc text of this very process, with its figures rewritten.

/// Swaps lines as the seeds say: any order can come out.
fn reorder<T>(lines: &mut [T], seeds: &[Index]) {
    let n = lines.len();
    if n == 0 {
        return;
    }
    for (i, seed) in seeds.iter().enumerate() {
        lines.swap(i % n, seed.index(n));
    }
}

fn replace_field(text: &str, prefix: &str, value: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(prefix) {
                format!("{prefix}\t{value} kB")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    #[test]
    fn mutated_stats_payloads_parse_to_sane_figures_or_fail_clearly(
        (fixture, text, touched) in mutated_payload()
    ) {
        check_payload(fixture, &text, &touched)?;
    }

    #[test]
    fn stats_math_never_panics_and_stays_sane(
        cpu in cpu_stats(),
        precpu in cpu_stats(),
        memory in memory_stats(),
        previous in proptest::option::of((any::<u64>(), 1..u64::MAX)),
    ) {
        let stats = ContainerStatsResponse {
            cpu_stats: cpu,
            precpu_stats: precpu,
            memory_stats: memory.clone(),
            ..Default::default()
        };
        let previous = previous.map(|(container_ns, system_ns)| Reading {
            cpu_ns: Some(container_ns),
            clock: Some(Clock::Host { system_ns, online_cpus: None }),
            ..Reading::default()
        });
        let reading = figures_of(&stats, previous);
        if let Some(pct) = reading.cpu_pct {
            prop_assert!(pct.is_finite() && pct >= 0.0, "{}", pct);
        }
        if let (Some(used), Some(usage)) = (reading.mem_bytes, memory.and_then(|m| m.usage)) {
            prop_assert!(used <= usage);
        }
    }

    /// Both cgroup versions, every figure rewritten: the reader reports exactly what the files
    /// say, `None` for what does not fit, and after a second rewrite (shorter or longer text,
    /// same open files and buffer) exactly the new figures.
    #[test]
    fn cgroup_files_read_back_what_was_written(
        version in prop::sample::select(vec![1u8, 2]),
        first in files(),
        second in files(),
        keep_open in any::<bool>(),
    ) {
        let root = tempdir();
        let expected = write_tree(version, &root, &first);
        let layout = Layout::detect(&root).unwrap();
        prop_assert_eq!(layout.name(), if version == 1 { "cgroup-v1" } else { "cgroup-v2" });
        let mut files = layout.locate(container_id(version), None).expect("container files found");
        let mut buf = ReadBuf::default();
        let raw = files.read(&mut buf, keep_open);
        prop_assert_eq!((raw.cpu_ns, raw.usage, raw.inactive_file, raw.limit), expected);
        if let Some(used) = figures::memory_used(raw.usage, raw.inactive_file) {
            prop_assert!(raw.usage.is_some_and(|u| used <= u));
        }
        if let Some(limit) = figures::memory_limit(raw.limit, Some(1 << 34)) {
            prop_assert!(limit > 0 && limit <= 1 << 34);
        }

        let expected = write_tree(version, &root, &second);
        let raw = files.read(&mut buf, keep_open);
        prop_assert_eq!((raw.cpu_ns, raw.usage, raw.inactive_file, raw.limit), expected);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The depth files of both versions, every figure rewritten (rows and lines reordered, keys
    /// removed where old kernels lack them, values past 64 bits): the reader reports exactly
    /// what the files say — v1 block I/O from the file runc picks (bfq when it lists a device,
    /// else the throttle file; the non-recursive one never) — and after a second rewrite,
    /// through the same handles and buffer, exactly the new figures.
    #[test]
    fn cgroup_depth_files_read_back_what_was_written(
        version in prop::sample::select(vec![1u8, 2]),
        first in depth_files(),
        second in depth_files(),
        keep_open in any::<bool>(),
    ) {
        let root = tempdir();
        let expected = write_depth_tree(version, &root, &first);
        let layout = Layout::detect(&root).unwrap();
        let id = if version == 1 { DEPTH_V1 } else { DEPTH_V2 };
        let mut files = layout.locate(id, None).expect("container files found");
        let mut buf = ReadBuf::default();
        prop_assert_eq!(depth_of(&files.read(&mut buf, keep_open)), expected);
        let expected = write_depth_tree(version, &root, &second);
        prop_assert_eq!(depth_of(&files.read(&mut buf, keep_open)), expected);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// `key value` files: each key's own value, whatever the line order, including keys that
    /// end another key (`inactive_file` in v1's `total_inactive_file`).
    #[test]
    fn stat_values_do_not_depend_on_line_order(
        shuffle in prop::collection::vec(any::<Index>(), 0..60),
        value in any::<u64>(),
    ) {
        let original = std::fs::read_to_string(Path::new(FIXTURES).join(
            "cgroup/v1-cgroupfs/memory/docker/2e1b1d4b7533777222e5a0114fa46434e2a8a105333354dcd0cb3437563bf893/memory.stat",
        )).unwrap();
        let mut lines: Vec<String> = original
            .lines()
            .map(|l| if l.starts_with("inactive_file ") { format!("inactive_file {value}") } else { l.to_owned() })
            .collect();
        reorder(&mut lines, &shuffle);
        let text = lines.join("\n");
        prop_assert_eq!(cgroup::stat_value(&text, "inactive_file"), Some(value));
        for line in original.lines().filter(|l| !l.starts_with("inactive_file ")) {
            let (key, v) = line.split_once(' ').unwrap();
            prop_assert_eq!(cgroup::stat_value(&text, key), v.parse().ok(), "{}", key);
        }
    }

    /// This process's `/proc/self/status` and `/proc/meminfo` with the figure rewritten: bytes
    /// (kB × 1024), or `None` when that does not fit in 64 bits.
    #[test]
    fn proc_kib_figures_read_back(value in figure(), shuffle in prop::collection::vec(any::<Index>(), 0..60)) {
        let expected = value.value().and_then(|kib| kib.checked_mul(1024));
        let mut status: Vec<String> = replace_field(&std::fs::read_to_string("/proc/self/status").unwrap(), "VmRSS:", &value.text())
            .lines().map(str::to_owned).collect();
        reorder(&mut status, &shuffle);
        prop_assert_eq!(process::vm_rss(&status.join("\n")), expected);
        let meminfo = replace_field(&std::fs::read_to_string("/proc/meminfo").unwrap(), "MemTotal:", &value.text());
        prop_assert_eq!(cgroup::host_memory(&meminfo), expected);
    }

    /// This process's `/proc/self/stat` with another command name (spaces and parentheses
    /// included) and other utime/stime: their sum, or `None` when it overflows.
    #[test]
    fn proc_stat_ticks_read_back(comm in "[ -~]{0,16}", utime in any::<u64>(), stime in any::<u64>()) {
        let real = std::fs::read_to_string("/proc/self/stat").unwrap();
        let after_comm = &real[real.rfind(')').unwrap() + 2..];
        let mut fields: Vec<String> = after_comm.split_whitespace().map(str::to_owned).collect();
        // Fields after the name start at field 3 (state); utime and stime are fields 14, 15.
        fields[11] = utime.to_string();
        fields[12] = stime.to_string();
        let pid = real.split(' ').next().unwrap();
        let line = format!("{pid} ({comm}) {}\n", fields.join(" "));
        prop_assert_eq!(process::cpu_ticks(&line), utime.checked_add(stime));
    }

    /// This process's `/proc/self/limits` with another soft limit on open files: half of what
    /// remains after 256 reserved descriptors, shared by each container's files (four today).
    #[test]
    fn open_file_budget_follows_the_soft_limit(
        soft in proptest::option::weighted(0.9, prop_oneof![0..100_000usize, any::<usize>()]),
    ) {
        // `None`: unlimited.
        let text = soft.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
        let limits: String = std::fs::read_to_string("/proc/self/limits").unwrap()
            .lines()
            .map(|l| if l.starts_with("Max open files") {
                format!("Max open files            {text:<20} unlimited            files     \n")
            } else {
                format!("{l}\n")
            })
            .collect();
        let soft = soft.unwrap_or(usize::MAX);
        let files = cgroup::budget::FILES_PER_CONTAINER;
        prop_assert_eq!(cgroup::open_file_budget(&limits), soft.saturating_sub(256) / 2 / files);
    }

    /// Edited endpoint texts: accepted ones print back to themselves; refused ones quote the
    /// input in the message.
    #[test]
    fn endpoints_round_trip_or_name_the_input(
        base in prop::sample::select(vec![
            "unix:///var/run/docker.sock", "/run/user/1000/docker.sock", "tcp://127.0.0.1:2375",
            "http://docker.internal:2375", "npipe:////./pipe/docker_engine",
        ]),
        at in any::<Index>(),
        cut in 0..6usize,
        insert in "[ -~]{0,4}",
    ) {
        let chars: Vec<char> = base.chars().collect();
        let i = at.index(chars.len() + 1);
        let text: String = chars[..i].iter().chain(insert.chars().collect::<Vec<_>>().iter())
            .chain(chars[(i + cut).min(chars.len())..].iter()).collect();
        match text.parse::<Endpoint>() {
            Ok(endpoint) => prop_assert_eq!(endpoint.to_string().parse::<Endpoint>(), Ok(endpoint)),
            Err(message) => prop_assert!(message.to_string().contains(&format!("{:?}", text.trim())), "{}", message),
        }
    }
}

/// A fresh directory for one case (proptest runs cases one after another in one thread).
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ds-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
