//! Folding `history` chunks (contract 6) into what the charts and sparklines read, so a freshly
//! opened page shows the agent's last minutes at once and a reconnect fills the stretch it
//! missed. Pure: `ingest.rs` decodes a chunk (in slices, like a batch) and calls these.
//!
//! # Times
//! A chunk's times are on the agent's clock. Its `sent_at` is placed on the browser's clock as
//! a batch's is (`ClockSkew::to_local`: skew taken out, never after its arrival), and every
//! time of the chunk keeps its distance to `sent_at`: `t` is drawn at `local(sent_at) −
//! (sent_at − t)`. (Converting each time as if it were a `sent_at` would put every point older
//! than a minute at the arrival: `to_local` takes such a stamp for a broken one.) Times after
//! `sent_at` cannot be samples and are dropped.
//!
//! # Merging
//! Points already in the model win: a history point within [`SAME_POINT_MS`] of one already
//! there is the same sample seen twice (live batch and history overlap at the seam) and is
//! dropped; the rest go in time order, and the ring keeps its newest `capacity`. A batch that
//! arrives after the history and whose `sent_at` is one of its times is not pushed again
//! (`ingest.rs` remembers the newest agent time a history brought).
//!
//! # Bounds
//! A chunk is checked whole before anything is folded, so a refused chunk changes nothing: at
//! most [`MAX_POINTS`] times, strictly increasing; every list as long as the times or absent;
//! the frame without its containers at most [`MAX_AXIS_CHARS`], each container's entry at most
//! [`MAX_ENTRY_CHARS`] (larger ones are refused unread). Only the newest points a ring holds are
//! converted. Containers a history names before the first batch does wait in [`HistoryBuffer`]
//! (at most [`MAX_PARKED`]) until a batch lists them; the next batch drops the rest.

use std::collections::{BTreeMap, HashMap};

use dockscope_protocol::{ContainerHistory, History};

use crate::format;
use crate::metrics::Sample;
use crate::ring::Ring;
use crate::samples::{IoSample, TotalSample};

/// Most times one chunk may carry: an hour at 1 Hz (agents keep 15 minutes).
pub const MAX_POINTS: usize = 3_600;
/// Largest frame of a chunk without its containers (its times and host lists), in characters:
/// [`MAX_POINTS`] times and two host lists are ~110 KB.
pub const MAX_AXIS_CHARS: usize = 256 * 1024;
/// Largest entry of one container in a chunk, in characters: six lists of [`MAX_POINTS`]
/// values are ~260 KB. One entry is decoded in one go (~1 ms), so this bounds a slice's
/// overrun.
pub const MAX_ENTRY_CHARS: usize = 512 * 1024;
/// Containers of a history kept apart until a batch lists them.
pub const MAX_PARKED: usize = 500;
/// Two points this close (browser clock) are one sample seen twice: agents sample once a
/// second, and the two clock estimates behind them differ by a delivery delay at most.
pub const SAME_POINT_MS: f64 = 500.0;

/// Checks a chunk's axis: why it is refused, if it is.
///
/// # Errors
/// A sentence naming what is wrong (too many times, times out of order, a host list of the
/// wrong length).
pub fn check_axis(history: &History) -> Result<(), String> {
    let n = history.times_ms.len();
    if n > MAX_POINTS {
        return Err(format!(
            "refused a history of {n} times (at most {MAX_POINTS} are read)"
        ));
    }
    if let Some(i) = history.times_ms.windows(2).position(|w| w[0] >= w[1]) {
        return Err(format!(
            "refused a history whose times are not increasing (at {})",
            i + 1
        ));
    }
    if let Some(host) = &history.host {
        for (name, len) in [
            ("cpu_pct", host.cpu_pct.len()),
            ("mem_used_bytes", host.mem_used_bytes.len()),
        ] {
            if len != 0 && len != n {
                return Err(format!(
                    "refused a history: host {name} has {len} values for {n} times"
                ));
            }
        }
    }
    Ok(())
}

/// Checks container `index`'s entry against the chunk's `times` count.
///
/// # Errors
/// A sentence naming the container and the list that does not fit.
pub fn check_entry(index: usize, entry: &ContainerHistory, times: usize) -> Result<(), String> {
    let lists = [
        ("cpu_pct", entry.cpu_pct.len()),
        ("mem_bytes", entry.mem_bytes.len()),
        ("net_rx_bytes_per_sec", entry.net_rx_bytes_per_sec.len()),
        ("net_tx_bytes_per_sec", entry.net_tx_bytes_per_sec.len()),
        (
            "block_read_bytes_per_sec",
            entry.block_read_bytes_per_sec.len(),
        ),
        (
            "block_write_bytes_per_sec",
            entry.block_write_bytes_per_sec.len(),
        ),
    ];
    for (name, len) in lists {
        if len != 0 && len != times {
            return Err(format!(
                "refused a history: container {index} ({}) has {len} {name} values for {times} times",
                format::truncate(&entry.name, 60)
            ));
        }
    }
    Ok(())
}

/// Why an entry of `chars` characters is refused unread, if it is.
pub fn entry_too_big(index: usize, chars: usize) -> Option<String> {
    (chars > MAX_ENTRY_CHARS).then(|| {
        format!(
            "refused a history whose container {index} is {} (at most {} is read)",
            format::bytes(chars as u64),
            format::bytes(MAX_ENTRY_CHARS as u64)
        )
    })
}

/// Why a chunk whose frame without containers is `chars` long is refused unread, if it is.
pub fn axis_too_big(chars: usize) -> Option<String> {
    (chars > MAX_AXIS_CHARS).then(|| {
        format!(
            "refused a history whose times take {} (at most {} is read)",
            format::bytes(chars as u64),
            format::bytes(MAX_AXIS_CHARS as u64)
        )
    })
}

/// Each time of a chunk on the browser's clock (see the module doc), `None` for one after
/// `sent_ms` (not a sample).
pub fn local_times(times_ms: &[i64], sent_ms: i64, local_sent_ms: f64) -> Vec<Option<f64>> {
    times_ms
        .iter()
        .map(|&t| {
            let before = sent_ms.checked_sub(t).filter(|d| *d >= 0)?;
            let local = local_sent_ms - before as f64;
            local.is_finite().then_some(local)
        })
        .collect()
}

/// A container's points of a chunk, oldest first, the newest `keep` of them: a [`Sample`] and
/// an [`IoSample`] per time at which any figure is known (a container that was not running
/// has none).
pub fn entry_points(
    times: &[Option<f64>],
    entry: &ContainerHistory,
    keep: usize,
) -> (Vec<Sample>, Vec<IoSample>) {
    let f32_at = |list: &[Option<f32>], i: usize| list.get(i).copied().flatten();
    let mut samples = Vec::new();
    let mut io = Vec::new();
    for (i, t) in times.iter().enumerate().rev() {
        if samples.len() >= keep {
            break;
        }
        let Some(t_ms) = *t else { continue };
        let cpu = f32_at(&entry.cpu_pct, i).map(f64::from);
        let mem = entry.mem_bytes.get(i).copied().flatten();
        let rates = [
            f32_at(&entry.net_rx_bytes_per_sec, i),
            f32_at(&entry.net_tx_bytes_per_sec, i),
            f32_at(&entry.block_read_bytes_per_sec, i),
            f32_at(&entry.block_write_bytes_per_sec, i),
        ];
        if cpu.is_none() && mem.is_none() && rates.iter().all(Option::is_none) {
            continue;
        }
        samples.push(Sample {
            t_ms,
            cpu_pct: cpu,
            mem_bytes: mem,
        });
        let nan = |v: Option<f32>| v.unwrap_or(f32::NAN);
        io.push(IoSample {
            t_ms,
            net_rx: nan(rates[0]),
            net_tx: nan(rates[1]),
            block_read: nan(rates[2]),
            block_write: nan(rates[3]),
        });
    }
    samples.reverse();
    io.reverse();
    (samples, io)
}

/// Merges `incoming` (oldest first) into `ring`: points already there win, an incoming one
/// within [`SAME_POINT_MS`] of one there is dropped, the result is in time order and the ring
/// keeps its newest `capacity`.
pub fn merge<T: Clone>(ring: &mut Ring<T>, incoming: Vec<T>, t: fn(&T) -> f64) {
    if incoming.is_empty() {
        return;
    }
    let existing: Vec<T> = ring.iter().cloned().collect();
    let mut merged: Vec<T> = Vec::with_capacity(existing.len() + incoming.len());
    let mut old = existing.into_iter().peekable();
    let mut new = incoming.into_iter().peekable();
    let mut last_old: Option<f64> = None;
    loop {
        match (old.peek(), new.peek()) {
            (Some(a), Some(b)) if t(a) <= t(b) => {
                last_old = Some(t(a));
                merged.extend(old.next());
            }
            (_, Some(b)) => {
                let tb = t(b);
                let next_old = old.peek().map(t);
                let near = |x: Option<f64>| x.is_some_and(|x| (x - tb).abs() < SAME_POINT_MS);
                let after_merged = merged.last().is_none_or(|m| t(m) < tb);
                match new.next() {
                    Some(point) if !near(last_old) && !near(next_old) && after_merged => {
                        merged.push(point)
                    }
                    _ => {}
                }
            }
            (Some(_), None) => merged.extend(old.next()),
            (None, None) => break,
        }
    }
    ring.clear();
    let skip = merged.len().saturating_sub(ring.capacity());
    for point in merged.into_iter().skip(skip) {
        ring.push(point);
    }
}

/// What a history leaves for later: containers no batch has listed yet, and the agent's totals
/// summed over the chunks so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryBuffer {
    /// By container id: its points, waiting for a batch that lists it.
    parked: HashMap<String, (Vec<Sample>, Vec<IoSample>)>,
    /// By agent time: the sum over the containers of the chunks so far, at its browser time.
    totals: BTreeMap<i64, TotalSample>,
}

impl HistoryBuffer {
    /// Puts every time of a chunk on the totals' axis, at 0 until containers add to it: a
    /// sample with no containers is a total of 0, as a live batch with none is.
    pub fn add_axis(&mut self, times_ms: &[i64], times: &[Option<f64>]) {
        for (&agent_ms, local) in times_ms.iter().zip(times) {
            if let Some(t_ms) = *local {
                self.totals.entry(agent_ms).or_insert(TotalSample {
                    t_ms,
                    cpu_pct: 0.0,
                    mem_bytes: 0,
                });
            }
        }
        while self.totals.len() > MAX_POINTS {
            self.totals.pop_first();
        }
    }

    /// Adds one container's figures of a chunk to the totals.
    pub fn add_totals(
        &mut self,
        times_ms: &[i64],
        times: &[Option<f64>],
        entry: &ContainerHistory,
    ) {
        for (i, (&agent_ms, local)) in times_ms.iter().zip(times).enumerate() {
            let Some(t_ms) = *local else { continue };
            let cpu = entry.cpu_pct.get(i).copied().flatten().map(f64::from);
            let mem = entry.mem_bytes.get(i).copied().flatten();
            if cpu.is_none() && mem.is_none() {
                continue;
            }
            let total = self.totals.entry(agent_ms).or_insert(TotalSample {
                t_ms,
                cpu_pct: 0.0,
                mem_bytes: 0,
            });
            if let Some(cpu) =
                cpu.filter(|v| v.is_finite() && (0.0..=format::MAX_SHOWN_PERCENT).contains(v))
            {
                total.cpu_pct += cpu;
            }
            total.mem_bytes = total.mem_bytes.saturating_add(mem.unwrap_or(0));
        }
        while self.totals.len() > MAX_POINTS {
            self.totals.pop_first();
        }
    }

    /// The totals summed so far, oldest first; the buffer starts afresh.
    pub fn take_totals(&mut self) -> Vec<TotalSample> {
        std::mem::take(&mut self.totals).into_values().collect()
    }

    /// Keeps a container's points until a batch lists it (the newest [`MAX_PARKED`]
    /// containers' worth; more are dropped).
    pub fn park(&mut self, id: String, samples: Vec<Sample>, io: Vec<IoSample>) {
        if self.parked.len() >= MAX_PARKED && !self.parked.contains_key(&id) {
            return;
        }
        let slot = self.parked.entry(id).or_default();
        slot.0.extend(samples);
        slot.1.extend(io);
        slot.0.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        slot.1.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    }

    /// The points kept for container `id`, once.
    pub fn claim(&mut self, id: &str) -> Option<(Vec<Sample>, Vec<IoSample>)> {
        self.parked.remove(id)
    }

    /// Drops the containers no batch listed (they are not running).
    pub fn drop_parked(&mut self) {
        self.parked = HashMap::new();
    }

    /// How many containers wait.
    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    /// Forgets everything (a new connection: its history comes anew).
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::HostHistory;

    fn entry(cpu: &[Option<f32>]) -> ContainerHistory {
        ContainerHistory {
            id: "c".into(),
            name: "web".into(),
            cpu_pct: cpu.to_vec(),
            mem_bytes: cpu.iter().map(|v| v.map(|v| v as u64)).collect(),
            ..ContainerHistory::default()
        }
    }

    #[test]
    fn axes_that_are_refused() {
        let axis = |times: Vec<i64>, host: Option<HostHistory>| History {
            times_ms: times,
            host,
            ..History::default()
        };
        let host = |n: usize| {
            Some(HostHistory {
                cpu_pct: vec![Some(1.0); n],
                mem_used_bytes: Vec::new(),
            })
        };
        // (history, refused because)
        let cases: Vec<(History, Option<&str>)> = vec![
            (axis(vec![], None), None),
            (axis(vec![1, 2, 3], host(3)), None),
            (axis(vec![1, 2, 3], host(0)), None),
            (
                axis(vec![1, 2, 3], host(2)),
                Some("host cpu_pct has 2 values for 3 times"),
            ),
            (axis(vec![1, 3, 2], None), Some("not increasing (at 2)")),
            (axis(vec![1, 1], None), Some("not increasing (at 1)")),
            (
                axis((0..MAX_POINTS as i64 + 1).collect(), None),
                Some("3601 times (at most 3600"),
            ),
        ];
        for (history, why) in cases {
            let got = check_axis(&history);
            match why {
                None => assert_eq!(got, Ok(()), "{:?}", history.times_ms.len()),
                Some(why) => assert!(
                    got.as_ref().is_err_and(|e| e.contains(why)),
                    "{got:?} should say {why}"
                ),
            }
        }
    }

    #[test]
    fn entries_whose_lists_do_not_fit_are_refused() {
        let cases: [(ContainerHistory, usize, bool); 4] = [
            (entry(&[Some(1.0), None]), 2, true),
            (ContainerHistory::default(), 5, true),
            (entry(&[Some(1.0)]), 2, false),
            (
                ContainerHistory {
                    net_rx_bytes_per_sec: vec![None; 3],
                    ..ContainerHistory::default()
                },
                2,
                false,
            ),
        ];
        for (e, times, ok) in cases {
            assert_eq!(check_entry(0, &e, times).is_ok(), ok, "{e:?} over {times}");
        }
        assert!(entry_too_big(3, MAX_ENTRY_CHARS).is_none());
        assert!(entry_too_big(3, MAX_ENTRY_CHARS + 1).is_some_and(|r| r.contains("container 3")));
        assert!(axis_too_big(MAX_AXIS_CHARS + 1).is_some());
    }

    #[test]
    fn times_keep_their_distance_to_sent_at() {
        // (times, sent, local sent, expected)
        type Case<'a> = (&'a [i64], i64, f64, Vec<Option<f64>>);
        let cases: [Case; 3] = [
            (
                &[1_000, 2_000, 3_000],
                3_000,
                10_000.0,
                vec![Some(8_000.0), Some(9_000.0), Some(10_000.0)],
            ),
            // A time after sent_at is no sample.
            (&[1_000, 5_000], 3_000, 3_000.0, vec![Some(1_000.0), None]),
            // Absurd times do not overflow.
            (
                &[i64::MIN, 0],
                i64::MAX,
                0.0,
                vec![None, Some(-(i64::MAX as f64))],
            ),
        ];
        for (times, sent, local, want) in cases {
            assert_eq!(local_times(times, sent, local), want, "{times:?}");
        }
    }

    #[test]
    fn entry_points_skip_unknown_times_and_keep_the_newest() {
        let times = [Some(1.0), Some(2.0), None, Some(4.0), Some(5.0)];
        let e = entry(&[Some(1.0), None, Some(3.0), Some(4.0), Some(5.0)]);
        let (samples, io) = entry_points(&times, &e, 10);
        let t: Vec<f64> = samples.iter().map(|s| s.t_ms).collect();
        assert_eq!(t, [1.0, 4.0, 5.0]);
        assert_eq!(io.len(), 3);
        assert!(io[0].net_rx.is_nan());
        let (samples, _) = entry_points(&times, &e, 2);
        assert_eq!(
            samples.iter().map(|s| s.t_ms).collect::<Vec<_>>(),
            [4.0, 5.0]
        );
    }

    fn ring_of(times: &[f64], capacity: usize) -> Ring<f64> {
        let mut ring = Ring::new(capacity);
        for t in times {
            ring.push(*t);
        }
        ring
    }

    #[test]
    fn merging_keeps_order_drops_doubles_and_is_bounded() {
        // (in the ring, incoming, capacity, expected)
        type Case<'a> = (&'a [f64], &'a [f64], usize, &'a [f64]);
        let cases: [Case; 6] = [
            (&[], &[1_000.0, 2_000.0], 5, &[1_000.0, 2_000.0]),
            // History before the live points.
            (
                &[5_000.0, 6_000.0],
                &[3_000.0, 4_000.0],
                5,
                &[3_000.0, 4_000.0, 5_000.0, 6_000.0],
            ),
            // A reconnect: the missed stretch after, the seam sample seen twice once.
            (
                &[1_000.0, 2_000.0],
                &[2_100.0, 3_000.0, 4_000.0],
                5,
                &[1_000.0, 2_000.0, 3_000.0, 4_000.0],
            ),
            // A hole in the middle is filled; points already there win.
            (
                &[1_000.0, 5_000.0],
                &[1_000.0, 2_000.0, 3_000.0, 4_900.0],
                9,
                &[1_000.0, 2_000.0, 3_000.0, 5_000.0],
            ),
            // Only the newest `capacity` stay.
            (
                &[4_000.0],
                &[1_000.0, 2_000.0, 3_000.0],
                2,
                &[3_000.0, 4_000.0],
            ),
            (&[1_000.0], &[], 2, &[1_000.0]),
        ];
        for (ring, incoming, capacity, want) in cases {
            let mut r = ring_of(ring, capacity);
            merge(&mut r, incoming.to_vec(), |t| *t);
            assert_eq!(
                r.iter().copied().collect::<Vec<_>>(),
                want,
                "{ring:?} + {incoming:?}"
            );
        }
    }

    #[test]
    fn totals_add_up_across_chunks() {
        let mut buffer = HistoryBuffer::default();
        let times_ms = [10, 11, 12];
        let times = [Some(1.0), Some(2.0), Some(3.0)];
        buffer.add_totals(&times_ms, &times, &entry(&[Some(1.0), None, Some(2.0)]));
        let mut absurd = entry(&[Some(1e30), Some(4.0), Some(-1.0)]);
        absurd.mem_bytes = vec![Some(u64::MAX), Some(1), None];
        buffer.add_totals(&times_ms, &times, &absurd);
        let totals = buffer.take_totals();
        let got: Vec<(f64, f64, u64)> = totals
            .iter()
            .map(|t| (t.t_ms, t.cpu_pct, t.mem_bytes))
            .collect();
        assert_eq!(got, [(1.0, 1.0, u64::MAX), (2.0, 4.0, 1), (3.0, 2.0, 2)]);
        assert!(buffer.take_totals().is_empty());
        // A host with no containers: every time is a total of 0.
        buffer.add_axis(&times_ms, &[Some(1.0), None, Some(3.0)]);
        let got: Vec<(f64, f64)> = buffer
            .take_totals()
            .iter()
            .map(|t| (t.t_ms, t.cpu_pct))
            .collect();
        assert_eq!(got, [(1.0, 0.0), (3.0, 0.0)]);
    }

    #[test]
    fn parked_containers_are_bounded_and_claimed_once() {
        let mut buffer = HistoryBuffer::default();
        let sample = |t| Sample {
            t_ms: t,
            cpu_pct: Some(1.0),
            mem_bytes: None,
        };
        for i in 0..MAX_PARKED + 5 {
            buffer.park(format!("c{i}"), vec![sample(1.0)], Vec::new());
        }
        assert_eq!(buffer.parked(), MAX_PARKED);
        buffer.park("c0".into(), vec![sample(0.5)], Vec::new());
        let claimed = buffer
            .claim("c0")
            .map(|(s, _)| s.iter().map(|s| s.t_ms).collect::<Vec<_>>());
        assert_eq!(claimed, Some(vec![0.5, 1.0]));
        assert!(buffer.claim("c0").is_none());
        buffer.drop_parked();
        assert_eq!(buffer.parked(), 0);
    }

    /// The model's side: chunks through `AgentModel`, as the page receives them.
    mod model {
        use crate::ingest::{AgentModel, CONTAINER_HISTORY};
        use serde_json::json;

        /// Agent time of the first point.
        const A0: i64 = 1_795_773_600_000;
        /// The browser's clock runs 2 s behind the agent's.
        const SKEW: f64 = -2_000.0;

        fn rfc(ms: i64) -> String {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        }

        /// A chunk of `n` seconds ending at `end` (agent ms), for containers `ids`.
        fn chunk(end: i64, n: i64, ids: &[&str], last: bool) -> String {
            let times: Vec<i64> = (0..n).map(|i| end - (n - 1 - i) * 1_000).collect();
            let containers: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| {
                    json!({"id": id, "name": format!("n-{id}"),
                        "cpu_pct": times.iter().map(|_| 2.5).collect::<Vec<_>>(),
                        "mem_bytes": times.iter().map(|_| 1_048_576).collect::<Vec<_>>()})
                })
                .collect();
            let rest = json!({"agent_id": "a", "sent_at": rfc(end), "times_ms": times,
                "containers": containers, "last": last})
            .to_string();
            // Our agent writes the type first (serde_json's `json!` sorts keys).
            format!("{{\"type\":\"history\",{}", &rest[1..])
        }

        fn batch(at: i64, ids: &[&str]) -> String {
            let containers: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| json!({"id": id, "name": format!("n-{id}"), "cpu_pct": 1.0, "mem_bytes": 1}))
                .collect();
            json!({"type": "container_stats_batch", "agent_id": "a", "sent_at": rfc(at),
                "containers": containers})
            .to_string()
        }

        fn local(agent_ms: i64) -> f64 {
            agent_ms as f64 + SKEW
        }

        fn times(model: &AgentModel, id: &str) -> Vec<f64> {
            model.containers[id]
                .history
                .iter()
                .map(|s| s.t_ms)
                .collect()
        }

        #[test]
        fn a_new_page_gets_minutes_at_once() {
            let mut model = AgentModel::default();
            let end = A0 + 600_000;
            // 10 minutes in two chunks (a, b then c), then the first live batch.
            assert_eq!(
                model.ingest_frame(&chunk(end, 600, &["a", "b"], false), local(end)),
                Ok(())
            );
            assert_eq!(
                model.ingest_frame(&chunk(end, 600, &["c"], true), local(end)),
                Ok(())
            );
            assert!(model.take_changes().history);
            assert_eq!(model.newest_agent_ms, Some(end));
            // Before any batch: no rows yet, but the totals chart has its points.
            assert!(model.containers.is_empty());
            assert_eq!(model.totals.len(), crate::ingest::TOTALS_HISTORY);
            assert_eq!(
                model.totals.last().map(|t| (t.t_ms, t.cpu_pct)),
                Some((local(end), 7.5))
            );
            // The batch of the newest history time is not doubled; the next one is added.
            assert_eq!(
                model.ingest_frame(&batch(end, &["a", "c"]), local(end) + 5.0),
                Ok(())
            );
            assert_eq!(model.containers.len(), 2);
            assert_eq!(model.containers["a"].history.len(), CONTAINER_HISTORY);
            assert_eq!(times(&model, "c").last().copied(), Some(local(end)));
            assert_eq!(model.totals.len(), crate::ingest::TOTALS_HISTORY);
            assert_eq!(
                model.ingest_frame(&batch(end + 1_000, &["a", "c"]), local(end + 1_000)),
                Ok(())
            );
            let t = times(&model, "a");
            assert_eq!(t.len(), CONTAINER_HISTORY);
            assert_eq!(t.last().copied(), Some(local(end + 1_000)));
            assert!(
                t.windows(2).all(|w| (w[1] - w[0] - 1_000.0).abs() < 1.0),
                "1 s apart"
            );
            // b is not running: its history is not kept.
            assert!(!model.containers.contains_key("b"));
        }

        #[test]
        fn a_reconnect_fills_the_stretch_it_missed() {
            let mut model = AgentModel::default();
            for i in 0..10 {
                let at = A0 + i * 1_000;
                assert_eq!(model.ingest_frame(&batch(at, &["a"]), local(at)), Ok(()));
            }
            assert_eq!(model.newest_agent_ms, Some(A0 + 9_000));
            // 30 s away; the new connection's history covers what is newer than the model has.
            model.connection_reset();
            let end = A0 + 40_000;
            assert_eq!(
                model.ingest_frame(&chunk(end, 31, &["a"], true), local(end) + 50.0),
                Ok(())
            );
            assert_eq!(
                model.ingest_frame(&batch(end + 1_000, &["a"]), local(end + 1_000) + 50.0),
                Ok(())
            );
            let t = times(&model, "a");
            assert_eq!(t.len(), 10 + 31 + 1);
            let widest = t.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
            assert!(widest < 1_100.0, "a hole of {widest} ms");
            let totals: Vec<f64> = model.totals.iter().map(|t| t.t_ms).collect();
            assert_eq!(totals.len(), 42);
            assert!(totals.windows(2).all(|w| w[0] < w[1]));
        }

        #[test]
        fn refused_chunks_change_nothing() {
            let good = chunk(A0, 5, &["a"], true);
            let mut bad_entry: serde_json::Value = serde_json::from_str(&good).unwrap_or_default();
            bad_entry["containers"][0]["cpu_pct"] = json!([1.0, 2.0]);
            let mut unordered: serde_json::Value = serde_json::from_str(&good).unwrap_or_default();
            unordered["times_ms"] = json!([5, 4, 3, 2, 1]);
            let mut typo: serde_json::Value = serde_json::from_str(&good).unwrap_or_default();
            typo["containers"][0]["mem_bytes"] = json!(["x", 1, 1, 1, 1]);
            let huge_entry = json!({"type": "history", "agent_id": "a", "sent_at": rfc(A0),
                "times_ms": [A0], "containers": [{"id": "a", "name": "x".repeat(super::super::MAX_ENTRY_CHARS)}]});
            let huge_axis = json!({"type": "history", "agent_id": "a", "sent_at": rfc(A0),
                "times_ms": (0..100_000).collect::<Vec<i64>>()});
            // (frame, reason contains)
            let cases = [
                (bad_entry.to_string(), "has 2 cpu_pct values for 5 times"),
                (unordered.to_string(), "not increasing"),
                (
                    typo.to_string(),
                    "malformed agent message: history container 0",
                ),
                (
                    huge_entry.to_string(),
                    "container 0 is 512 KiB (at most 512 KiB",
                ),
                (huge_axis.to_string(), "at most 256 KiB is read"),
            ];
            for (frame, why) in cases {
                let mut model = AgentModel::default();
                model
                    .ingest_frame(&batch(A0 - 1_000, &["a"]), local(A0 - 1_000))
                    .ok();
                // (Debug: unknown I/O rates are NaN, never equal to themselves.)
                let state = |m: &AgentModel| {
                    format!("{:?} {:?} {:?}", m.containers, m.totals, m.newest_agent_ms)
                };
                let before = state(&model);
                let got = model.ingest_frame(&frame, local(A0));
                assert!(
                    got.as_ref().is_err_and(|e| e.contains(why)),
                    "{got:?} should say {why}"
                );
                assert_eq!(state(&model), before);
            }
        }

        #[test]
        fn big_chunks_decode_a_container_per_look_and_fold_at_once() {
            let ids: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let frame = chunk(A0, 900, &refs, true);
            let mut model = AgentModel::default();
            model.receive(frame, local(A0));
            let mut calls = 0;
            while model.has_work() {
                calls += 1;
                model.work(&mut || false);
                if model.has_work() {
                    assert!(model.totals.is_empty(), "half a chunk folded");
                }
            }
            assert!(calls >= 40, "{calls} calls");
            assert_eq!(model.totals.len(), crate::ingest::TOTALS_HISTORY);
        }

        #[test]
        fn chunks_are_never_skipped_for_a_newer_frame() {
            let mut model = AgentModel::default();
            let ids: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            // Three big chunks and more than MAX_WAITING small frames wait at once.
            for _ in 0..3 {
                model.receive(chunk(A0, 300, &refs, false), local(A0));
            }
            for i in 0..crate::ingest::MAX_WAITING + 4 {
                model.receive(batch(A0 + 1_000 + i as i64, &["c1"]), local(A0 + 1_000));
            }
            let verdicts = model.work(&mut || true);
            assert_eq!(verdicts.len(), 3 + crate::ingest::MAX_WAITING);
            assert_eq!(model.skipped_count, 4);
        }

        /// What an agent sends on connect arrives before any slice runs: its batch, its
        /// status and 500 replayed events, then history. Nothing of it is skipped.
        #[test]
        fn a_connects_burst_is_all_kept() {
            let mut model = AgentModel::default();
            model.receive(batch(A0, &["a"]), local(A0));
            let status = json!({"type": "agent_status", "agent_id": "host-1", "sent_at": rfc(A0),
                "uptime_secs": 100, "version": "v1", "features": []});
            model.receive(status.to_string(), local(A0));
            for id in 1..=crate::events::MAX_EVENTS as u64 {
                let event = json!({"type": "container_event", "agent_id": "host-1",
                    "sent_at": rfc(A0), "event_id": id, "time": rfc(A0 - 1_000), "id": "c1",
                    "name": "web", "action": "start"});
                model.receive(event.to_string(), local(A0));
            }
            model.receive(chunk(A0, 300, &["a"], true), local(A0));
            let verdicts = model.work(&mut || true);
            assert_eq!(verdicts.len(), 2 + crate::events::MAX_EVENTS + 1);
            assert_eq!(model.skipped_count, 0);
            assert_eq!(model.status.map(|s| s.agent_id).as_deref(), Some("host-1"));
            assert_eq!(model.events.len(), crate::events::MAX_EVENTS);
            assert_eq!(model.containers["a"].history.len(), 300);
        }

        #[test]
        fn events_replayed_on_reconnect_are_kept_once() {
            let event = |id: u64, action: &str| {
                json!({"type": "container_event", "agent_id": "a", "sent_at": rfc(A0),
                    "event_id": id, "time": rfc(A0 - 5_000), "id": "c1", "name": "web",
                    "action": action, "exit_code": 137, "oom_killed": true})
                .to_string()
            };
            let status = |uptime: u64| {
                json!({"type": "agent_status", "agent_id": "a", "sent_at": rfc(A0),
                    "uptime_secs": uptime, "version": "v1", "features": []})
                .to_string()
            };
            let mut model = AgentModel::default();
            assert_eq!(model.ingest_frame(&status(100), local(A0)), Ok(()));
            for _ in 0..2 {
                model.connection_reset();
                assert_eq!(model.ingest_frame(&event(1, "die"), local(A0)), Ok(()));
                assert_eq!(model.ingest_frame(&event(2, "start"), local(A0)), Ok(()));
            }
            assert_eq!(model.events.len(), 2);
            assert!(model.take_changes().events);
            // Restarted (uptime back to 1 s): the same numbers are new events.
            assert_eq!(model.ingest_frame(&status(1), local(A0)), Ok(()));
            assert_eq!(model.ingest_frame(&event(1, "die"), local(A0)), Ok(()));
            assert_eq!(model.events.len(), 3);
            let first = model.events.iter().next().map(|e| e.t_ms);
            assert_eq!(first, Some(local(A0 - 5_000)));
            let big = json!({"type": "container_event", "pad": "x".repeat(70_000)}).to_string();
            assert!(model
                .ingest_frame(&big, 0.0)
                .is_err_and(|e| e.contains("container_event")));
        }
    }
}
