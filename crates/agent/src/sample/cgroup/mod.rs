//! The cgroup collector: CPU and memory read straight from each container's cgroup files, so
//! the engine does no work per sample (the Docker API's stats endpoint costs dockerd and
//! containerd a quarter of a core at 100 containers).
//!
//! ```text
//!   ContainerSet (events) ──generation moved──► CgroupSource::sample
//!                                                 │ new id: find its cgroup directory once
//!                                                 │ every id: read its files into one
//!                                                 │ Reading (one reused buffer), then
//!                                                 │ figures::container_stats
//!                                                 ▼
//!                                               Vec<ContainerStats>
//! ```
//!
//! By concern:
//! - [`hierarchy`]: finds the hierarchy (v1 or v2) and a container's directory under either
//!   driver (`cgroupfs`, `systemd`, or `--cgroup-parent`);
//! - [`v1`], [`v2`]: each version's table of files and the [`Reading`] field each fills;
//! - [`read`]: reads whatever a table lists, with one reused buffer and kept handles;
//! - [`budget`]: how many containers may keep their files open;
//! - network counters are not in the cgroup: [`crate::sample::netns`] reads them from the
//!   container's init process, with the same buffer and budget.
//!
//! The arithmetic (`docker stats` figures) is [`crate::sample::figures`], shared with the
//! Docker API collector.

pub mod budget;
pub mod hierarchy;
pub mod read;
pub mod v1;
pub mod v2;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use dockscope_protocol::ContainerStats;
use tracing::debug;

pub use budget::open_file_budget;
use budget::Budget;
pub use hierarchy::{HierarchyError, Layout};
pub use read::{host_memory, stat_value, CgroupFile, Files, ReadBuf};

use super::containers::{ContainerInfo, ContainerSet};
use super::figures::{container_stats, counters_of, Figures, Reading};
use super::netns::{NetDev, NetNs};
use super::source::{Counters, EngineHealth, StatsSource};
use crate::engine::Endpoint;

/// A container being sampled.
struct Tracked {
    /// Name, image and start time, shared with the container set.
    info: Arc<ContainerInfo>,
    /// Its cgroup files; `None` until the directory is found.
    files: Option<Files>,
    /// Whether its files stay open between ticks (within the descriptor budget).
    keep_open: bool,
    /// Its network namespace's `net/dev` (see [`crate::sample::netns`]).
    net: Option<NetDev>,
    /// The previous reading with a CPU counter, the baseline for the next percentage and
    /// per-second figures.
    previous: Option<Reading>,
}

/// Reads containers from their cgroup files.
pub struct CgroupSource {
    /// Where the hierarchy is.
    layout: Layout,
    /// Which containers run, from the engine's events.
    containers: ContainerSet,
    /// The set's generation `tracked` was last synced to.
    synced: Option<u64>,
    /// Running containers by id.
    tracked: HashMap<String, Tracked>,
    /// Reused for every file read.
    buf: ReadBuf,
    /// Host `MemTotal`, read once.
    host_memory: Option<u64>,
    /// Which containers may keep their files open.
    budget: Budget,
    /// Network counters from the containers' processes.
    netns: NetNs,
    /// The counters behind the last batch's entries, in order ([`StatsSource::counters`]);
    /// reused every tick.
    counters: Vec<Counters>,
}

impl CgroupSource {
    /// A source reading `layout`, following containers of the engine at `endpoint`, their
    /// network counters under `proc_root` (the host's `/proc`).
    pub fn new(
        layout: Layout,
        endpoint: Endpoint,
        proc_root: std::path::PathBuf,
        keep_exited: std::time::Duration,
    ) -> Self {
        let host_memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| host_memory(&m));
        Self {
            layout,
            containers: ContainerSet::new(endpoint, keep_exited),
            synced: None,
            tracked: HashMap::new(),
            buf: ReadBuf::default(),
            host_memory,
            budget: Budget::for_this_process(),
            netns: NetNs::new(proc_root),
            counters: Vec::new(),
        }
    }

    /// Picks up containers that appeared and drops those that left.
    fn sync(&mut self) {
        let inventory = self.containers.lock();
        if self.synced == Some(inventory.generation) {
            return;
        }
        self.synced = Some(inventory.generation);
        let budget = &mut self.budget;
        self.tracked.retain(|id, tracked| {
            let running = inventory.containers.contains_key(id);
            if !running && tracked.keep_open {
                budget.give_back();
            }
            running
        });
        for (id, info) in &inventory.containers {
            match self.tracked.get_mut(id) {
                Some(tracked) => tracked.info = info.clone(),
                None => {
                    let files = self.layout.locate(id, info.cgroup_parent.as_deref());
                    let keep_open = budget.take();
                    debug!(container = %id, name = %info.name, files = ?files, keep_open, "sampling container");
                    self.tracked.insert(
                        id.clone(),
                        Tracked {
                            info: info.clone(),
                            files,
                            keep_open,
                            net: None,
                            previous: None,
                        },
                    );
                }
            }
        }
    }
}

impl StatsSource for CgroupSource {
    fn name(&self) -> &'static str {
        self.layout.name()
    }

    async fn sample(&mut self) -> Vec<ContainerStats> {
        self.sync();
        let now = Utc::now();
        let mut batch = Vec::with_capacity(self.tracked.len());
        self.counters.clear();
        for (id, tracked) in &mut self.tracked {
            if tracked.files.is_none() {
                tracked.files = self
                    .layout
                    .locate(id, tracked.info.cgroup_parent.as_deref());
            }
            let keep_open = tracked.keep_open;
            let reading = tracked.files.as_mut().map(|files| {
                let cgroup = files.read_tick(&mut self.buf, keep_open);
                Reading {
                    host_memory: self.host_memory,
                    net: self
                        .netns
                        .read(&mut tracked.net, &tracked.info, &mut self.buf, keep_open),
                    ..cgroup
                }
            });
            let figures = reading.map_or_else(Figures::default, |current| {
                Figures::between(tracked.previous.as_ref(), &current)
            });
            self.counters.push(counters_of(reading.as_ref()));
            if let Some(current) = reading.filter(|r| r.cpu().is_some()) {
                tracked.previous = Some(current);
            }
            batch.push(container_stats(id.clone(), &tracked.info, figures, now));
        }
        batch
    }

    fn engine(&self) -> EngineHealth {
        self.containers.health()
    }

    fn exited(&self) -> Vec<ContainerStats> {
        (self.containers).exited(|id, info, now| container_stats(id, info, Figures::default(), now))
    }

    fn events(&self) -> Option<std::sync::Arc<super::events::EventQueue>> {
        Some(self.containers.events())
    }

    fn warnings(&self) -> Vec<String> {
        self.netns.warning().into_iter().collect()
    }

    fn counters(&self) -> &[Counters] {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::figures::{memory_limit, memory_used};
    use std::path::{Path, PathBuf};

    fn fixture(tree: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/sample/fixtures/cgroup")
            .join(tree)
    }

    /// Fixture trees hold only the files the version tables read. `v1-*` values were captured from
    /// Docker 20.10.24 on this machine kind (cgroup v1, cgroupfs driver): `busy` is a
    /// `--cpus 0.2 -m 256m` busy loop holding 64 MiB in /dev/shm (`docker stats`: 64.71 MiB /
    /// 256 MiB), `cache` an unlimited `sleep` after writing 32 MiB to its root file system, so
    /// most of its usage is inactive page cache (1.352 MiB / 23.54 GiB); the systemd tree holds the
    /// same files at the systemd driver's paths under the combined `cpu,cpuacct` controller.
    /// `v2-*` follow the kernel's cgroup v2 file formats, one container with page cache and a
    /// limit, one unlimited.
    const BUSY: &str = "6afaa22c1bd2030a54c251de88e3567a4a262e67400bfb701caa0518397d4d08";
    const CACHE: &str = "2e1b1d4b7533777222e5a0114fa46434e2a8a105333354dcd0cb3437563bf893";
    const HOST: u64 = 24_684_084 * 1024;

    #[test]
    fn fixture_trees_table() {
        let cases = [
            // tree, name, container, cpu ns, memory used, limit, pids, pids limit
            // (v1-systemd has no pids controller: both unknown)
            (
                "v1-cgroupfs",
                "cgroup-v1",
                BUSY,
                649_142_443,
                67_858_432,
                268_435_456,
                Some(7),
                Some(100),
            ),
            (
                "v1-cgroupfs",
                "cgroup-v1",
                CACHE,
                44_418_202,
                34_988_032 - 33_570_816,
                HOST,
                Some(1),
                None,
            ),
            (
                "v1-systemd",
                "cgroup-v1",
                BUSY,
                649_142_443,
                67_858_432,
                268_435_456,
                None,
                None,
            ),
            (
                "v1-systemd",
                "cgroup-v1",
                CACHE,
                44_418_202,
                34_988_032 - 33_570_816,
                HOST,
                None,
                None,
            ),
            (
                "v2-cgroupfs",
                "cgroup-v2",
                BUSY,
                1_234_567_000,
                70_000_640 - 2_457_600,
                268_435_456,
                Some(12),
                None,
            ),
            (
                "v2-systemd",
                "cgroup-v2",
                CACHE,
                31_415_000,
                1_069_056 - 131_072,
                HOST,
                Some(3),
                Some(50),
            ),
        ];
        let mut buf = ReadBuf::default();
        for (tree, name, id, cpu, mem, limit, pids, pids_limit) in cases {
            let layout = Layout::detect(&fixture(tree)).expect(tree);
            assert_eq!(layout.name(), name, "{tree}");
            let mut files = layout
                .locate(id, None)
                .unwrap_or_else(|| panic!("{tree}: {id} not found"));
            let raw = files.read(&mut buf, false);
            // Kept open, the second read goes through the handle and agrees.
            files.read(&mut buf, true);
            assert_eq!(files.read(&mut buf, true).cpu_ns, raw.cpu_ns);
            assert_eq!(raw.cpu_ns, Some(cpu), "{tree} {id}: cpu");
            assert!(raw.cpu().is_some(), "{tree} {id}: clocked");
            assert_eq!(
                memory_used(raw.usage, raw.inactive_file),
                Some(mem),
                "{tree} {id}: mem"
            );
            assert_eq!(
                memory_limit(raw.limit, Some(HOST)),
                Some(limit),
                "{tree} {id}: limit"
            );
            assert_eq!(
                (raw.pids, raw.pids_limit),
                (pids, pids_limit),
                "{tree} {id}: pids"
            );
            // Without the pids controller its files are not probed at all; these v1 trees have
            // no cpu or blkio group for these two containers either.
            let probed = if tree == "v1-systemd" { 6 } else { 8 };
            assert_eq!(files.probes.len(), probed, "{tree} {id}: files probed");
        }
    }

    /// The depth figures of each fixture container, all from the files read anyway or one file
    /// each. `DEPTH` was captured from this machine (cgroup v1, kernel 6.18, Docker 20.10.24):
    /// a `--cpus 0.2 -m 96m --shm-size 128m` busy loop holding 64 MiB in /dev/shm after a
    /// second 64 MiB `dd` into /dev/shm was OOM-killed (`docker stats`: 64.45 MiB / 96 MiB,
    /// BLOCK I/O 0B / 0B, as every blkio file read `Total 0`). `WRITER` and `BFQ` hold blkio
    /// files written in the kernel's format (this machine accounts no block I/O): two devices
    /// in the throttle file under an empty bfq one (runc passes over the bfq file), and a bfq
    /// file listing a device (runc takes it, though the throttle file counts more). The v2
    /// trees follow the kernel's formats; the systemd one is a kernel before 5.18 (no
    /// `kernel` key in `memory.stat`) with an empty `io.stat`.
    #[test]
    fn depth_figures_table() {
        const DEPTH: &str = "20321b19ff2e2916156649a1393b105f97de9eefd2493d860a02dd080989a7f2";
        const WRITER: &str = "b10c0000000000000000000000000000000000000000000000000000000000a1";
        const BFQ: &str = "b10c0000000000000000000000000000000000000000000000000000000000b2";
        #[derive(Debug, Default, PartialEq)]
        struct Depth {
            block: Option<(Option<u64>, Option<u64>)>,
            anon: Option<u64>,
            file: Option<u64>,
            shmem: Option<u64>,
            kernel: Option<u64>,
            oom_kills: Option<u64>,
            throttled: Option<(Option<u64>, Option<u64>)>,
        }
        let block = |read, write| Some((Some(read), Some(write)));
        let throttled = |periods, ns| Some((Some(periods), Some(ns)));
        let cases = [
            (
                "v1-cgroupfs",
                DEPTH,
                Depth {
                    block: block(0, 0),
                    anon: Some(61_440),
                    file: Some(67_108_864),
                    shmem: Some(67_108_864),
                    kernel: Some(405_504),
                    oom_kills: Some(1),
                    throttled: throttled(152, 11_560_652_253),
                },
                // every controller: 10 entries, blkio as bfq then throttle (the non-recursive
                // throttle file is never read where the recursive one exists)
                11,
            ),
            (
                "v1-cgroupfs",
                WRITER,
                Depth {
                    block: block(1_282_048 + 4_096, 33_554_432 + 2_195_456),
                    ..Depth::default()
                },
                // cpuacct.usage, five memory files, blkio (two files)
                8,
            ),
            (
                "v1-cgroupfs",
                BFQ,
                Depth {
                    block: block(8_192, 65_536),
                    ..Depth::default()
                },
                8,
            ),
            // Captured before these figures existed: their files are missing, so unknown; the
            // breakdown comes from memory.stat, read anyway.
            (
                "v1-cgroupfs",
                BUSY,
                Depth {
                    anon: Some(57_344),
                    file: Some(67_108_864),
                    shmem: Some(67_108_864),
                    ..Depth::default()
                },
                8,
            ),
            (
                "v1-systemd",
                CACHE,
                Depth {
                    anon: Some(53_248),
                    file: Some(33_718_272),
                    shmem: Some(0),
                    ..Depth::default()
                },
                6,
            ),
            (
                "v2-cgroupfs",
                BUSY,
                Depth {
                    block: block(1_459_200 + 4_096, 314_773_504 + 33_554_432),
                    anon: Some(67_309_568),
                    file: Some(2_461_696),
                    shmem: Some(67_108_864),
                    kernel: Some(348_160),
                    oom_kills: Some(2),
                    throttled: throttled(80, 3_000_000_000),
                },
                8,
            ),
            (
                "v2-systemd",
                CACHE,
                Depth {
                    block: block(0, 0),
                    anon: Some(67_309_568),
                    file: Some(135_168),
                    shmem: Some(67_108_864),
                    // kernel_stack + slab + sock
                    kernel: Some(16_384 + 221_184),
                    oom_kills: Some(0),
                    throttled: throttled(80, 3_000_000_000),
                },
                8,
            ),
        ];
        let mut buf = ReadBuf::default();
        for (tree, id, want, probed) in cases {
            let layout = Layout::detect(&fixture(tree)).expect(tree);
            let mut files = layout.locate(id, None).expect(id);
            let held: usize = files
                .probes
                .iter()
                .map(|p| 1 + p.fallback.as_ref().map_or(0, |f| f.files.len()))
                .sum();
            assert_eq!(held, probed, "{tree} {id}: files");
            for keep_open in [false, true, true] {
                let r = files.read(&mut buf, keep_open);
                let both =
                    |a: Option<u64>, b: Option<u64>| (a.is_some() || b.is_some()).then_some((a, b));
                let got = Depth {
                    block: both(r.block_read, r.block_write),
                    anon: r.mem_anon,
                    file: r.mem_file,
                    shmem: r.mem_shmem,
                    kernel: r.mem_kernel,
                    oom_kills: r.oom_kills,
                    throttled: both(r.throttled_periods, r.throttled_ns),
                };
                assert_eq!(got, want, "{tree} {id} (keep open: {keep_open})");
            }
        }
    }

    #[test]
    fn busy_v1_fixture_matches_docker_stats_memory() {
        let layout = Layout::detect(&fixture("v1-cgroupfs")).expect("v1");
        let mut files = layout.locate(BUSY, None).expect("busy");
        let raw = files.read(&mut ReadBuf::default(), false);
        let ours = memory_used(raw.usage, raw.inactive_file).expect("mem") as f64;
        let docker_stats = 64.71 * 1_048_576.0;
        assert!((ours - docker_stats).abs() / docker_stats < 0.01, "{ours}");
    }

    #[test]
    fn missing_hierarchy_and_container_are_explained_not_fatal() {
        let err = Layout::detect(&fixture("nowhere"))
            .expect_err("no tree")
            .to_string();
        assert!(
            err.contains("nowhere") && err.contains(crate::sample::settings::CGROUP_ROOT_ENV),
            "{err}"
        );
        let layout = Layout::detect(&fixture("v1-cgroupfs")).expect("v1");
        assert!(layout.locate("0000", None).is_none());
        // A container whose files vanish mid-tick (it stopped) reads as all-None.
        let mut gone = v2::files_in(&fixture("nowhere"));
        let raw = gone.read(&mut ReadBuf::default(), true);
        assert_eq!(
            (raw.cpu_ns, raw.usage, raw.inactive_file, raw.limit),
            (None, None, None, None)
        );
        assert_eq!(raw.cpu(), None);
    }

    #[test]
    fn every_fixture_tree_is_a_host_hierarchy() {
        for tree in ["v1-cgroupfs", "v1-systemd", "v2-cgroupfs", "v2-systemd"] {
            let layout = Layout::detect(&fixture(tree)).expect(tree);
            assert!(layout.holds_containers(), "{tree}");
        }
    }

    #[test]
    fn v2_limit_max_is_unlimited() {
        let mut reading = Reading::default();
        (v2::FILES[3].1)("max\n", &mut reading);
        assert_eq!(reading.limit, None);
        (v2::FILES[3].1)("268435456\n", &mut reading);
        assert_eq!(reading.limit, Some(268_435_456));
    }
}
