//! Instant history: the last 15 minutes of every sample, in memory, so a client that connects
//! gets full charts at once (`history` messages, contract 6) and one that reconnects asks only
//! for what it missed (`?since=`).
//!
//! Pure: the sampler [`HistoryRing::push`]es each published batch's figures after publishing
//! it; a client's send task cuts the ring into chunks ([`HistoryRing::plan`], then
//! [`HistoryRing::chunk`] per chunk, each under a short lock) and sends them. Nothing here
//! waits or does I/O.
//!
//! # Layout and cost
//! One time ring of [`SLOTS`] sample times (ms since the epoch) is shared by every series; a
//! series is one fixed ring of [`Point`]s, slot `tick % SLOTS`. A point is 24 bytes: CPU % and
//! the four per-second rates as `f32` (unknown: NaN) and memory as a `u32` count of KiB
//! (unknown: `u32::MAX`; cgroup and engine memory figures are whole pages, so KiB is exact).
//! **A container costs 24 B × 60 = 1,440 bytes per minute**, a ring of [`SLOTS`] points
//! 23,040 bytes (21.1 KiB) plus its id and name; 100 containers ≈ 2.3 MB, 500 ≈ 11.5 MB,
//! the [`MAX_SERIES`] cap ≈ 23 MB. The host is one more ring of 12-byte points.
//!
//! [`SLOTS`] is [`WINDOW`] plus a minute of slack: a client is offered the newest [`WINDOW`]
//! points, and the slack keeps the points it was offered in the ring while its chunks go out,
//! so every chunk of one sending carries the same `times_ms` unless the sending takes over a
//! minute (then a later chunk starts later: each chunk's lists always match its own axis).
//!
//! # Bounds
//! A container that leaves keeps its series until its last point ages out of the ring, then
//! the series is freed. At most [`MAX_SERIES`] series exist at once (≈ 23 MB): when they are
//! all taken, a newcomer takes the ring of the container that left longest ago (a churning
//! host keeps the history of what runs, not of what came and went); when every series is a
//! running container, newcomers get none until one leaves (their live figures are in every
//! batch regardless).

use std::collections::HashMap;

use dockscope_protocol::{ContainerHistory, ContainerStats, HostHistory, HostStats};

/// Points offered to a client: 15 minutes at one sample a second.
pub const WINDOW: usize = 15 * 60;
/// Points kept: [`WINDOW`] plus a minute of slack for sendings in progress (module docs).
pub const SLOTS: usize = WINDOW + 60;
/// Most containers with a series at once (≈ 23 MB of points).
pub const MAX_SERIES: usize = 1_000;
/// At most this many containers in one `history` chunk.
pub const MAX_CONTAINERS_PER_CHUNK: usize = 25;
/// A chunk aims to stay under this many bytes of JSON: no bigger than a batch of a few
/// hundred containers, so sending history does not grow a client's write buffer (which keeps
/// the capacity of the largest frame it sent) much beyond what its batches cost. At 15
/// minutes a container is about 47 KB: one per chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Conservative JSON bytes per point of one container: six numbers and their commas.
const BYTES_PER_POINT: usize = 60;
/// JSON bytes of one container's id, name and keys.
const BYTES_PER_CONTAINER: usize = 300;

/// A memory figure that is unknown.
const MEM_UNKNOWN: u32 = u32::MAX;

/// One container's figures at one sample time (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    cpu_pct: f32,
    /// KiB; [`MEM_UNKNOWN`] when unknown.
    mem_kib: u32,
    net_rx: f32,
    net_tx: f32,
    block_read: f32,
    block_write: f32,
}

impl Point {
    /// Not running at that time, or nothing known.
    const UNKNOWN: Point = Point {
        cpu_pct: f32::NAN,
        mem_kib: MEM_UNKNOWN,
        net_rx: f32::NAN,
        net_tx: f32::NAN,
        block_read: f32::NAN,
        block_write: f32::NAN,
    };

    fn of(entry: &ContainerStats) -> Point {
        Point {
            cpu_pct: to_f32(entry.cpu_pct),
            mem_kib: entry.mem_bytes.map_or(MEM_UNKNOWN, kib),
            net_rx: to_f32(entry.net_rx_bytes_per_sec),
            net_tx: to_f32(entry.net_tx_bytes_per_sec),
            block_read: to_f32(entry.block_read_bytes_per_sec),
            block_write: to_f32(entry.block_write_bytes_per_sec),
        }
    }
}

/// The host's figures at one sample time.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HostPoint {
    cpu_pct: f32,
    /// Bytes; `u64::MAX` when unknown.
    mem_used: u64,
}

impl HostPoint {
    const UNKNOWN: HostPoint = HostPoint {
        cpu_pct: f32::NAN,
        mem_used: u64::MAX,
    };
}

fn to_f32(value: Option<f64>) -> f32 {
    value.map_or(f32::NAN, |v| v as f32)
}

/// Bytes to KiB, rounded to the nearest; saturates just below [`MEM_UNKNOWN`] (4 TiB).
fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes.saturating_add(512) / 1024)
        .map_or(MEM_UNKNOWN - 1, |k| k.min(MEM_UNKNOWN - 1))
}

fn from_f32(value: f32) -> Option<f32> {
    (!value.is_nan()).then_some(value)
}

fn from_kib(value: u32) -> Option<u64> {
    (value != MEM_UNKNOWN).then(|| u64::from(value) * 1024)
}

/// One container's ring.
#[derive(Debug)]
struct Series {
    /// Full container id.
    id: String,
    /// Its latest name.
    name: String,
    /// The last tick it was in a batch; freed once that ages out.
    last_seen: u64,
    /// [`SLOTS`] points, slot `tick % SLOTS`.
    points: Box<[Point]>,
}

/// What one client is to be sent: the ticks `from..to` (half-open) and the containers of each
/// chunk, decided once when it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// First tick offered.
    pub from: u64,
    /// One past the last tick offered.
    pub to: u64,
    /// Container ids, chunk by chunk; never empty (the first chunk carries the host, even
    /// with no containers).
    pub chunks: Vec<Vec<String>>,
}

/// The last [`SLOTS`] samples of the host and of up to [`MAX_SERIES`] containers.
#[derive(Debug)]
pub struct HistoryRing {
    /// Ticks pushed so far; the newest is `ticks - 1`.
    ticks: u64,
    /// Sample time of each tick in ms since the epoch, slot `tick % SLOTS`.
    times: Box<[i64]>,
    /// The host's points, slot `tick % SLOTS`.
    host: Box<[HostPoint]>,
    /// Series in no particular order.
    series: Vec<Series>,
    /// Container id → index into `series`.
    index: HashMap<String, usize>,
    /// Most series at once ([`MAX_SERIES`], smaller in tests).
    max_series: usize,
}

impl Default for HistoryRing {
    fn default() -> Self {
        Self::new(MAX_SERIES)
    }
}

impl HistoryRing {
    /// An empty ring keeping at most `max_series` containers.
    pub fn new(max_series: usize) -> Self {
        Self {
            ticks: 0,
            times: vec![0; SLOTS].into_boxed_slice(),
            host: vec![HostPoint::UNKNOWN; SLOTS].into_boxed_slice(),
            series: Vec::new(),
            index: HashMap::new(),
            max_series,
        }
    }

    /// How many containers have a series.
    pub fn containers(&self) -> usize {
        self.series.len()
    }

    /// The oldest tick still in the ring.
    fn oldest(&self) -> u64 {
        self.ticks.saturating_sub(SLOTS as u64)
    }

    /// Records one sample taken at `time_ms`: every entry of `containers` and the host.
    /// Containers not in it get an unknown point; series whose last point aged out are freed.
    pub fn push(&mut self, time_ms: i64, containers: &[ContainerStats], host: Option<&HostStats>) {
        let tick = self.ticks;
        let slot = (tick % SLOTS as u64) as usize;
        self.ticks += 1;
        self.times[slot] = time_ms;
        self.host[slot] = host.map_or(HostPoint::UNKNOWN, |h| HostPoint {
            cpu_pct: to_f32(h.cpu_pct),
            mem_used: h.mem_used_bytes.unwrap_or(u64::MAX),
        });
        // Known containers first, so that a newcomer can take the place of one that left
        // but never of one in this very sample.
        let mut newcomers = Vec::new();
        for entry in containers {
            match self.index.get(&entry.id) {
                Some(&index) => self.record(index, entry, tick, slot),
                None => newcomers.push(entry),
            }
        }
        for entry in newcomers {
            if self.index.contains_key(&entry.id) {
                continue; // listed twice
            }
            let index = if self.series.len() < self.max_series {
                self.series.push(Series {
                    id: entry.id.clone(),
                    name: entry.name.clone(),
                    last_seen: tick,
                    points: vec![Point::UNKNOWN; SLOTS].into_boxed_slice(),
                });
                self.series.len() - 1
            } else {
                // Full: the container that left longest ago gives up its ring (reused).
                let Some(index) = (0..self.series.len())
                    .filter(|&i| self.series[i].last_seen < tick)
                    .min_by_key(|&i| self.series[i].last_seen)
                else {
                    continue;
                };
                let series = &mut self.series[index];
                self.index.remove(&series.id);
                series.id.clone_from(&entry.id);
                series.points.fill(Point::UNKNOWN);
                index
            };
            self.index.insert(entry.id.clone(), index);
            self.record(index, entry, tick, slot);
        }
        let oldest = self.oldest();
        let mut i = 0;
        while i < self.series.len() {
            if self.series[i].last_seen == tick {
                i += 1;
            } else if self.series[i].last_seen < oldest {
                let gone = self.series.swap_remove(i);
                self.index.remove(&gone.id);
                if let Some(moved) = self.series.get(i) {
                    self.index.insert(moved.id.clone(), i);
                }
            } else {
                self.series[i].points[slot] = Point::UNKNOWN;
                i += 1;
            }
        }
    }

    /// Writes `entry` into series `index` at `slot`.
    fn record(&mut self, index: usize, entry: &ContainerStats, tick: u64, slot: usize) {
        let series = &mut self.series[index];
        series.last_seen = tick;
        if series.name != entry.name {
            series.name.clone_from(&entry.name);
        }
        series.points[slot] = Point::of(entry);
    }

    /// What a client that has everything up to `since_ms` (none: nothing) is to be sent: the
    /// newest [`WINDOW`] points newer than `since_ms`, the containers with a known figure
    /// among them, in chunks of at most [`MAX_CONTAINERS_PER_CHUNK`] and about
    /// [`CHUNK_BYTES`]. `None` when there is nothing newer.
    pub fn plan(&self, since_ms: Option<i64>) -> Option<Plan> {
        let to = self.ticks;
        let mut from = to.saturating_sub(WINDOW as u64);
        if let Some(since) = since_ms {
            while from < to && self.time(from) <= since {
                from += 1;
            }
        }
        if from >= to {
            return None;
        }
        let mut ids: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.last_seen >= from && (from..to).any(|t| !is_unknown(&s.points[slot(t)])))
            .collect();
        ids.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let per_chunk = containers_per_chunk((to - from) as usize);
        let mut chunks: Vec<Vec<String>> = ids
            .chunks(per_chunk)
            .map(|c| c.iter().map(|s| s.id.clone()).collect())
            .collect();
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        Some(Plan { from, to, chunks })
    }

    fn time(&self, tick: u64) -> i64 {
        self.times[slot(tick)]
    }

    /// Chunk `n` of `plan` as message parts: the times, the host (first chunk only) and the
    /// chunk's containers still in the ring. Ticks that aged out since the plan was made are
    /// left out of this chunk's axis.
    pub fn chunk(
        &self,
        plan: &Plan,
        n: usize,
    ) -> (Vec<i64>, Option<HostHistory>, Vec<ContainerHistory>) {
        let from = plan.from.max(self.oldest());
        let ticks = from..plan.to.max(from);
        let times = ticks.clone().map(|t| self.time(t)).collect();
        let host = (n == 0).then(|| HostHistory {
            cpu_pct: ticks
                .clone()
                .map(|t| from_f32(self.host[slot(t)].cpu_pct))
                .collect(),
            mem_used_bytes: ticks
                .clone()
                .map(|t| Some(self.host[slot(t)].mem_used).filter(|&m| m != u64::MAX))
                .collect(),
        });
        let containers = plan
            .chunks
            .get(n)
            .into_iter()
            .flatten()
            .filter_map(|id| self.index.get(id).map(|&i| &self.series[i]))
            .map(|series| {
                let column = |f: fn(&Point) -> f32| -> Vec<Option<f32>> {
                    ticks
                        .clone()
                        .map(|t| from_f32(f(&series.points[slot(t)])))
                        .collect()
                };
                ContainerHistory {
                    id: series.id.clone(),
                    name: series.name.clone(),
                    cpu_pct: column(|p| p.cpu_pct),
                    mem_bytes: ticks
                        .clone()
                        .map(|t| from_kib(series.points[slot(t)].mem_kib))
                        .collect(),
                    net_rx_bytes_per_sec: column(|p| p.net_rx),
                    net_tx_bytes_per_sec: column(|p| p.net_tx),
                    block_read_bytes_per_sec: column(|p| p.block_read),
                    block_write_bytes_per_sec: column(|p| p.block_write),
                }
            })
            .collect();
        (times, host, containers)
    }
}

fn slot(tick: u64) -> usize {
    (tick % SLOTS as u64) as usize
}

/// Whether a point holds no figure at all (NaN never equals itself, so not `== UNKNOWN`).
fn is_unknown(p: &Point) -> bool {
    p.cpu_pct.is_nan()
        && p.mem_kib == MEM_UNKNOWN
        && p.net_rx.is_nan()
        && p.net_tx.is_nan()
        && p.block_read.is_nan()
        && p.block_write.is_nan()
}

/// Containers per chunk for `points` points each: as many as fit [`CHUNK_BYTES`], 1 to
/// [`MAX_CONTAINERS_PER_CHUNK`].
pub fn containers_per_chunk(points: usize) -> usize {
    let per_container = BYTES_PER_CONTAINER + points * BYTES_PER_POINT;
    (CHUNK_BYTES / per_container).clamp(1, MAX_CONTAINERS_PER_CHUNK)
}

/// The `since` of a stream URL's query: ms since the epoch. Anything that is not a whole
/// number is ignored (`None`: the client gets all the history), so a client with a broken
/// value still gets a stream and, at worst, points it already has.
pub fn parse_since(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse::<i64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, cpu: Option<f64>, mem: Option<u64>) -> ContainerStats {
        ContainerStats {
            id: id.to_owned(),
            name: format!("n-{id}"),
            cpu_pct: cpu,
            mem_bytes: mem,
            net_rx_bytes_per_sec: cpu.map(|c| c * 10.0),
            ..ContainerStats::default()
        }
    }

    fn host(cpu: f64) -> HostStats {
        HostStats {
            cpu_pct: Some(cpu),
            mem_used_bytes: Some(1 << 30),
            ..HostStats::default()
        }
    }

    /// Every chunk of a plan, as the client would get them.
    fn all(
        ring: &HistoryRing,
        plan: &Plan,
    ) -> Vec<(Vec<i64>, Option<HostHistory>, Vec<ContainerHistory>)> {
        (0..plan.chunks.len())
            .map(|n| ring.chunk(plan, n))
            .collect()
    }

    #[test]
    fn a_point_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Point>(), 24);
        assert_eq!(
            std::mem::size_of::<Point>() * 60,
            1_440,
            "bytes per container-minute"
        );
    }

    #[test]
    fn memory_round_trips_in_kib_and_unknowns_stay_unknown() {
        let table = [
            (Some(0), Some(0)),
            (Some(4096), Some(4096)),
            (Some(1_234_567_168), Some(1_234_567_168)),
            (Some(1000), Some(1024)),
            (None, None),
            (Some(u64::MAX), Some(u64::from(MEM_UNKNOWN - 1) * 1024)),
        ];
        for (bytes, want) in table {
            assert_eq!(from_kib(bytes.map_or(MEM_UNKNOWN, kib)), want, "{bytes:?}");
        }
        assert_eq!(from_f32(to_f32(Some(12.34))), Some(12.34_f32));
        assert_eq!(from_f32(to_f32(None)), None);
    }

    #[test]
    fn ring_keeps_the_newest_window_and_since_cuts_it() {
        let mut ring = HistoryRing::new(10);
        assert_eq!(ring.plan(None), None, "nothing sampled yet");
        for t in 0..1_000_i64 {
            ring.push(
                t * 1000,
                &[entry("a", Some(t as f64), Some(4096))],
                Some(&host(1.0)),
            );
        }
        // (since, first time offered, points)
        let table = [
            (None, 100_000, WINDOW),
            (Some(998_000), 999_000, 1),
            (Some(999_000), -1, 0),
            (Some(2_000_000), -1, 0),
            (Some(0), 100_000, WINDOW),
            (Some(500_500), 501_000, 499),
        ];
        for (since, first, points) in table {
            let plan = ring.plan(since);
            if points == 0 {
                assert_eq!(plan, None, "since {since:?}");
                continue;
            }
            let plan = plan.expect("points");
            let (times, host, containers) = ring.chunk(&plan, 0);
            assert_eq!(times.len(), points, "since {since:?}");
            assert_eq!(times[0], first, "since {since:?}");
            assert!(times.windows(2).all(|w| w[0] < w[1]));
            let host = host.expect("first chunk carries the host");
            assert_eq!(host.cpu_pct.len(), points);
            assert_eq!(containers.len(), 1);
            let a = &containers[0];
            assert_eq!(a.cpu_pct.len(), points);
            assert_eq!(a.cpu_pct[points - 1], Some(999.0));
            assert_eq!(a.mem_bytes[0], Some(4096));
            assert_eq!(a.net_rx_bytes_per_sec[points - 1], Some(9990.0));
            assert_eq!(a.block_read_bytes_per_sec[0], None);
        }
    }

    #[test]
    fn containers_that_left_age_out_and_gaps_are_null() {
        let mut ring = HistoryRing::new(10);
        ring.push(
            0,
            &[entry("a", Some(1.0), None), entry("b", Some(2.0), None)],
            None,
        );
        ring.push(1000, &[entry("b", Some(2.0), None)], None);
        ring.push(
            2000,
            &[entry("a", None, None), entry("b", Some(2.0), None)],
            None,
        );
        let plan = ring.plan(None).expect("points");
        let (_, host, containers) = ring.chunk(&plan, 0);
        assert_eq!(host.expect("host").cpu_pct, vec![None, None, None]);
        let a = containers.iter().find(|c| c.id == "a").expect("a");
        assert_eq!(a.cpu_pct, vec![Some(1.0), None, None]);
        // "a" listed with nothing known (first tick a figure, second absent, third null).
        for t in 3..(SLOTS as i64 + 3) {
            ring.push(t * 1000, &[entry("b", Some(2.0), None)], None);
        }
        assert_eq!(
            ring.containers(),
            1,
            "a's last point aged out: its series is freed"
        );
        let plan = ring.plan(None).expect("points");
        assert_eq!(plan.chunks, vec![vec!["b".to_owned()]]);
    }

    #[test]
    fn the_series_cap_holds_and_frees_up() {
        let mut ring = HistoryRing::new(3);
        let many: Vec<ContainerStats> = (0..10)
            .map(|i| entry(&format!("c{i}"), Some(1.0), None))
            .collect();
        ring.push(0, &many, None);
        assert_eq!(ring.containers(), 3);
        // The first three left: three of the rest take their rings at once, and the cap
        // holds however long it runs.
        for t in 1..=(SLOTS as i64 + 5) {
            ring.push(t * 1000, &many[5..], None);
            assert_eq!(ring.containers(), 3);
        }
        let plan = ring.plan(None).expect("points");
        let ids: Vec<&String> = plan.chunks.iter().flatten().collect();
        assert!(
            ids.iter().all(|id| many[5..].iter().any(|e| &&e.id == id)),
            "{ids:?}"
        );
    }

    #[test]
    fn when_full_a_newcomer_takes_the_place_of_the_container_that_left_longest_ago() {
        let mut ring = HistoryRing::new(3);
        let c = |id: &str| entry(id, Some(1.0), None);
        ring.push(0, &[c("a"), c("b"), c("c")], None);
        ring.push(1000, &[c("b"), c("c")], None); // a left first
        ring.push(2000, &[c("c")], None); // then b
                                          // d and e come while every series is taken: d gets a's ring, e gets b's.
        ring.push(3000, &[c("c"), c("d"), c("e")], None);
        let plan = ring.plan(None).expect("points");
        let mut ids: Vec<&str> = plan.chunks.iter().flatten().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["c", "d", "e"]);
        let (_, _, series) = ring.chunk(&plan, 0);
        let d = series.iter().find(|s| s.id == "d").expect("d");
        assert_eq!(
            d.cpu_pct,
            vec![None, None, None, Some(1.0)],
            "nothing of a's is left"
        );
        // All three run: a newcomer gets none, and nobody running loses theirs.
        ring.push(4000, &[c("c"), c("d"), c("e"), c("f")], None);
        assert_eq!(ring.containers(), 3);
        assert!(!ring.index.contains_key("f"));
        assert_eq!(ring.index.len(), 3);
    }

    #[test]
    fn chunks_are_bounded_and_share_one_axis() {
        let table = [
            // (containers, points, chunks expected)
            (0, 10, 1),
            (1, 10, 1),
            (25, 10, 1),
            (26, 10, 2),
            (
                100,
                WINDOW,
                100_usize.div_ceil(containers_per_chunk(WINDOW)),
            ),
        ];
        for (n, points, want_chunks) in table {
            let mut ring = HistoryRing::new(1000);
            let entries: Vec<ContainerStats> = (0..n)
                .map(|i| ContainerStats {
                    id: format!("{i:064x}"),
                    name: format!("container-{i:03}"),
                    cpu_pct: Some(123.45),
                    mem_bytes: Some(1_073_741_824),
                    net_rx_bytes_per_sec: Some(123_456.78),
                    net_tx_bytes_per_sec: Some(123_456.78),
                    block_read_bytes_per_sec: Some(123_456.78),
                    block_write_bytes_per_sec: Some(123_456.78),
                    ..ContainerStats::default()
                })
                .collect();
            for t in 0..points as i64 {
                ring.push(1_700_000_000_000 + t * 1000, &entries, Some(&host(3.0)));
            }
            let plan = ring.plan(None).expect("points");
            assert_eq!(plan.chunks.len(), want_chunks, "{n} containers");
            let chunks = all(&ring, &plan);
            let mut seen = 0;
            for (k, (times, host, containers)) in chunks.iter().enumerate() {
                assert_eq!(times, &chunks[0].0, "every chunk carries the same axis");
                assert_eq!(host.is_some(), k == 0, "only the first carries the host");
                assert!(containers.len() <= MAX_CONTAINERS_PER_CHUNK);
                let message = dockscope_protocol::Message::History(dockscope_protocol::History {
                    agent_id: "a".into(),
                    times_ms: times.clone(),
                    host: host.clone(),
                    containers: containers.clone(),
                    ..Default::default()
                });
                let bytes = message.encode().expect("encodes").len();
                assert!(
                    bytes <= CHUNK_BYTES + 16 * 1024,
                    "{n} containers: chunk of {bytes} bytes"
                );
                seen += containers.len();
            }
            assert_eq!(seen, n);
        }
    }

    #[test]
    fn chunks_of_a_slow_sending_drop_points_that_aged_out() {
        let mut ring = HistoryRing::new(10);
        for t in 0..WINDOW as i64 {
            ring.push(t, &[entry("a", Some(1.0), None)], None);
        }
        let plan = ring.plan(None).expect("points");
        // Within the slack: the axis is unchanged.
        for t in WINDOW as i64..SLOTS as i64 {
            ring.push(t, &[entry("a", Some(1.0), None)], None);
        }
        assert_eq!(ring.chunk(&plan, 0).0.len(), WINDOW);
        for t in SLOTS as i64..SLOTS as i64 + 5 {
            ring.push(t, &[entry("a", Some(1.0), None)], None);
        }
        let (times, _, containers) = ring.chunk(&plan, 0);
        assert_eq!(times.len(), WINDOW - 5);
        assert_eq!(times[0], 5);
        assert_eq!(containers[0].cpu_pct.len(), WINDOW - 5);
    }

    #[test]
    fn since_parsing() {
        let table = [
            (None, None),
            (Some("1700000000000"), Some(1_700_000_000_000)),
            (Some(" 42 "), Some(42)),
            (Some("-5"), Some(-5)),
            (Some(""), None),
            (Some("yesterday"), None),
            (Some("1.5"), None),
            (Some("99999999999999999999"), None),
        ];
        for (text, want) in table {
            assert_eq!(parse_since(text), want, "{text:?}");
        }
    }
}
