//! The cgroup collector: CPU and memory read straight from each container's cgroup files, so
//! the engine does no work per sample (the Docker API's stats endpoint costs dockerd and
//! containerd a quarter of a core at 100 containers).
//!
//! ```text
//!   ContainerSet (events) ──generation moved──► CgroupSource::sample
//!                                                 │ new id: find its cgroup directory once
//!                                                 │ every id: read 4 small files into one
//!                                                 │ reused buffer, compute like docker stats
//!                                                 ▼
//!                                               Vec<ContainerStats>
//! ```
//!
//! Version differences live in [`v1`] and [`v2`]; this module finds the hierarchy, locates a
//! container's directory under either driver (`cgroupfs`, `systemd`, or `--cgroup-parent`), and
//! turns raw counters into figures that mean what `docker stats` means:
//! - CPU: percent of one core, Δ CPU ns / Δ wall ns × 100;
//! - memory: usage − inactive file cache (v1 `total_inactive_file`, v2 `inactive_file`);
//! - limit: the cgroup limit, or host `MemTotal` when unlimited (Docker clamps the same way).
//!
//! The root is `/sys/fs/cgroup`, or [`ROOT_ENV`] for an agent running in a container with the
//! host's cgroup tree mounted elsewhere.

pub mod v1;
pub mod v2;

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use dockscope_protocol::ContainerStats;
use tracing::debug;

use super::containers::{ContainerInfo, ContainerSet};
use super::docker_api::Endpoint;
use super::process::round2;
use super::{EngineHealth, StatsSource};

/// Environment variable naming the host's cgroup root when it is not `/sys/fs/cgroup`.
pub const ROOT_ENV: &str = "DOCKSCOPE_CGROUP_ROOT";
/// Where the host's cgroup tree is mounted normally.
pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

/// Which cgroup version, and where its controllers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One directory per controller.
    V1 {
        /// The CPU accounting controller (`cpuacct` or `cpu,cpuacct`).
        cpu: PathBuf,
        /// The memory controller.
        memory: PathBuf,
    },
    /// The unified hierarchy.
    V2 {
        /// Its root.
        root: PathBuf,
    },
}

impl Layout {
    /// Finds the hierarchy under `root`.
    ///
    /// # Errors
    /// A message naming `root` when neither a v2 nor a usable v1 hierarchy is there.
    pub fn detect(root: &Path) -> Result<Self, String> {
        if v2::is_unified(root) {
            return Ok(Layout::V2 {
                root: root.to_owned(),
            });
        }
        if let Some((cpu, memory)) = v1::controllers(root) {
            return Ok(Layout::V1 { cpu, memory });
        }
        Err(format!(
            "no readable cgroup hierarchy at {}: neither cgroup.controllers (v2) nor \
             cpuacct/ and memory/ (v1); if the host's /sys/fs/cgroup is mounted elsewhere, set \
             {ROOT_ENV} to that path",
            root.display()
        ))
    }

    /// [`Layout::detect`] at [`ROOT_ENV`], else [`DEFAULT_ROOT`].
    ///
    /// # Errors
    /// See [`Layout::detect`].
    pub fn from_env() -> Result<Self, String> {
        let root = std::env::var_os(ROOT_ENV)
            .filter(|r| !r.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from);
        Self::detect(&root)
    }

    /// Whether this looks like the host's hierarchy, with Docker's containers under it (a
    /// `docker` or `system.slice` group), rather than a container's own cgroup namespace,
    /// where a hierarchy exists but holds no other container.
    pub fn holds_containers(&self) -> bool {
        let top = match self {
            Layout::V1 { memory, .. } => memory,
            Layout::V2 { root } => root,
        };
        ["docker", "system.slice"]
            .iter()
            .any(|group| top.join(group).is_dir())
    }

    /// The collector name for `agent_status.features`.
    pub fn name(&self) -> &'static str {
        match self {
            Layout::V1 { .. } => "cgroup-v1",
            Layout::V2 { .. } => "cgroup-v2",
        }
    }

    /// The files of container `id`, trying the cgroupfs then the systemd layout (or only the
    /// one `--cgroup-parent` implies). `None` while its directory does not exist.
    pub fn locate(&self, id: &str, parent: Option<&str>) -> Option<Files> {
        candidates(id, parent)
            .iter()
            .find_map(|relative| match self {
                Layout::V1 { cpu, memory } => v1::files(cpu, memory, relative),
                Layout::V2 { root } => v2::files(root, relative),
            })
    }

    /// Reads one container's raw counters, reusing `buf`; with `keep_open` the files stay open
    /// for the next tick. A file that cannot be read or parsed leaves its figure `None`.
    pub fn read(&self, files: &mut Files, buf: &mut ReadBuf, keep_open: bool) -> Raw {
        let v1 = matches!(self, Layout::V1 { .. });
        let (cpu_ns, limit, inactive_key) = if v1 {
            (v1::cpu_ns as Parse, v1::limit as Parse, v1::INACTIVE_FILE)
        } else {
            (v2::cpu_ns as Parse, v2::limit as Parse, v2::INACTIVE_FILE)
        };
        Raw {
            cpu_ns: buf.read(&mut files.cpu, keep_open).and_then(cpu_ns),
            at: Instant::now(),
            usage: buf
                .read(&mut files.usage, keep_open)
                .and_then(|t| t.trim().parse().ok()),
            inactive_file: buf
                .read(&mut files.stat, keep_open)
                .and_then(|t| stat_value(t, inactive_key)),
            limit: buf.read(&mut files.limit, keep_open).and_then(limit),
        }
    }
}

/// A parser of one cgroup file's text.
type Parse = fn(&str) -> Option<u64>;

/// Relative cgroup directories where container `id` may live, most likely first.
fn candidates(id: &str, parent: Option<&str>) -> Vec<String> {
    match parent
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        None => vec![
            format!("docker/{id}"),
            format!("system.slice/docker-{id}.scope"),
        ],
        Some(slice) if slice.ends_with(".slice") => {
            vec![format!("{}/docker-{id}.scope", slice_path(slice))]
        }
        Some(parent) => vec![format!("{parent}/{id}")],
    }
}

/// systemd nests slices by their dashes: `a-b.slice` lives at `a.slice/a-b.slice`.
fn slice_path(slice: &str) -> String {
    let stem = slice.trim_end_matches(".slice");
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    path
}

/// The four files read for one container, resolved once when it appears.
#[derive(Debug)]
pub struct Files {
    /// Cumulative CPU time.
    pub cpu: CgroupFile,
    /// Memory usage including page cache.
    pub usage: CgroupFile,
    /// Memory breakdown (for the inactive file cache).
    pub stat: CgroupFile,
    /// Memory limit.
    pub limit: CgroupFile,
}

/// How many files [`Files`] holds, for the descriptor budget.
const FILES_PER_CONTAINER: usize = 4;
/// Descriptors left for everything else (clients, the engine, logs) before any is kept open
/// for cgroup files; of the rest, half may be cgroup files.
const RESERVED_FDS: usize = 256;

/// One cgroup file: where it is and, while the descriptor budget allows, an open handle that
/// is read again from offset 0 each tick. The kernel regenerates the text on every read from
/// the start, and skipping the path lookup halves the cost of a small file.
#[derive(Debug)]
pub struct CgroupFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Kept open between ticks, or `None` (opened per read).
    handle: Option<File>,
}

impl From<PathBuf> for CgroupFile {
    fn from(path: PathBuf) -> Self {
        Self { path, handle: None }
    }
}

/// How many containers may keep their files open, from `/proc/self/limits` (the soft limit on
/// open files): half of what is left after the 256 descriptors reserved for sockets, so a
/// default soft limit of 1024 still leaves room for hundreds of clients.
pub fn open_file_budget(limits: &str) -> usize {
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3));
    let soft = match soft {
        Some("unlimited") => usize::MAX,
        Some(n) => n.parse().unwrap_or(0),
        None => 0,
    };
    soft.saturating_sub(RESERVED_FDS) / 2 / FILES_PER_CONTAINER
}

/// One container's counters as read, before any arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw {
    /// Cumulative CPU time in nanoseconds.
    pub cpu_ns: Option<u64>,
    /// When `cpu_ns` was read, for the wall-clock delta.
    pub at: Instant,
    /// Memory usage in bytes, page cache included.
    pub usage: Option<u64>,
    /// Inactive file cache in bytes.
    pub inactive_file: Option<u64>,
    /// The limit in bytes; `None` when unlimited (v2 `max`) or unreadable.
    pub limit: Option<u64>,
}

/// Memory in use without the inactive file cache, as `docker stats` shows it (the cache is
/// subtracted only when smaller than usage).
pub fn memory_used(usage: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    let usage = usage?;
    Some(usage - inactive_file.filter(|&i| i < usage).unwrap_or(0))
}

/// The limit Docker reports: the cgroup's, but never more than the host's memory (which is
/// what an unlimited container gets).
pub fn memory_limit(limit: Option<u64>, host: Option<u64>) -> Option<u64> {
    match (limit, host) {
        (Some(l), Some(h)) => Some(l.min(h)),
        (Some(l), None) => Some(l),
        (None, h) => h,
    }
    .filter(|&l| l > 0)
}

/// CPU percent of one core between two readings; `None` if no time passed.
pub fn cpu_percent(previous: (u64, Instant), current: (u64, Instant)) -> Option<f64> {
    let wall_ns = current.1.checked_duration_since(previous.1)?.as_nanos();
    (wall_ns > 0).then(|| current.0.saturating_sub(previous.0) as f64 / wall_ns as f64 * 100.0)
}

/// The value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`): lines of `key value`.
/// Searches for the key directly rather than splitting every line (v1 `memory.stat` has about
/// 40 lines and is read for every container every second).
pub fn stat_value(text: &str, key: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let at = from + found;
        let end = at + key.len();
        if (at == 0 || bytes[at - 1] == b'\n') && bytes.get(end) == Some(&b' ') {
            let value = text[end + 1..].split('\n').next()?;
            return value.trim().parse().ok();
        }
        from = end;
    }
    None
}

/// Host memory (`MemTotal` in `/proc/meminfo`), the limit of an unlimited container.
pub fn host_memory(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A read buffer kept across reads and ticks, so sampling allocates nothing per file.
#[derive(Debug)]
pub struct ReadBuf {
    /// Backing storage; grows if a file is larger, never shrinks.
    bytes: Vec<u8>,
}

impl Default for ReadBuf {
    fn default() -> Self {
        Self {
            bytes: vec![0; 8 * 1024],
        }
    }
}

impl ReadBuf {
    /// The whole text of `file`, through its kept handle (positional reads from 0) or a fresh
    /// open, which is kept when `keep_open`. A kept handle that fails (the cgroup is gone) is
    /// dropped. Plain `read` calls until end of file: `read_to_string` would first `fstat` and
    /// `lseek` for a size hint that virtual cgroup files do not have.
    pub fn read(&mut self, file: &mut CgroupFile, keep_open: bool) -> Option<&str> {
        let len = match &file.handle {
            Some(handle) => match self.fill(|bytes, at| handle.read_at(bytes, at)) {
                Some(len) => len,
                None => {
                    file.handle = None;
                    return None;
                }
            },
            None => {
                let mut opened = File::open(&file.path).ok()?;
                let len = self.fill(|bytes, _| opened.read(bytes))?;
                if keep_open {
                    file.handle = Some(opened);
                }
                len
            }
        };
        std::str::from_utf8(&self.bytes[..len]).ok()
    }

    /// Reads to the end with `read(buffer, offset)`; the length read.
    fn fill(
        &mut self,
        mut read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    ) -> Option<usize> {
        let mut len = 0;
        loop {
            if len == self.bytes.len() {
                self.bytes.resize(len * 2, 0);
            }
            let room = self.bytes.len() - len;
            match read(&mut self.bytes[len..], len as u64) {
                Ok(0) => return Some(len),
                // A short read is the end: regular files and the kernel's seq files (every
                // cgroup file) only return less than asked at end of file. Saves a read call.
                Ok(n) if n < room => return Some(len + n),
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }
}

/// A container being sampled.
struct Tracked {
    /// Name, image and start time, shared with the container set.
    info: Arc<ContainerInfo>,
    /// Its cgroup files; `None` until the directory is found.
    files: Option<Files>,
    /// Whether its files stay open between ticks (within the descriptor budget).
    keep_open: bool,
    /// The previous CPU reading (ns, when), the baseline for the next percentage.
    previous: Option<(u64, Instant)>,
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
    /// How many containers may keep their files open (see [`open_file_budget`]).
    keep_budget: usize,
    /// How many do.
    kept: usize,
}

impl CgroupSource {
    /// A source reading `layout`, following containers of the engine at `endpoint`.
    pub fn new(layout: Layout, endpoint: Endpoint) -> Self {
        let host_memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| host_memory(&m));
        Self {
            layout,
            containers: ContainerSet::new(endpoint),
            synced: None,
            tracked: HashMap::new(),
            buf: ReadBuf::default(),
            host_memory,
            keep_budget: std::fs::read_to_string("/proc/self/limits")
                .map_or(0, |l| open_file_budget(&l)),
            kept: 0,
        }
    }

    /// Picks up containers that appeared and drops those that left.
    fn sync(&mut self) {
        let inventory = self.containers.lock();
        if self.synced == Some(inventory.generation) {
            return;
        }
        self.synced = Some(inventory.generation);
        let kept = &mut self.kept;
        self.tracked.retain(|id, tracked| {
            let running = inventory.containers.contains_key(id);
            if !running && tracked.keep_open {
                *kept -= 1;
            }
            running
        });
        for (id, info) in &inventory.containers {
            match self.tracked.get_mut(id) {
                Some(tracked) => tracked.info = info.clone(),
                None => {
                    let files = self.layout.locate(id, info.cgroup_parent.as_deref());
                    let keep_open = *kept < self.keep_budget;
                    if keep_open {
                        *kept += 1;
                    }
                    debug!(container = %id, name = %info.name, files = ?files, keep_open, "sampling container");
                    self.tracked.insert(
                        id.clone(),
                        Tracked {
                            info: info.clone(),
                            files,
                            keep_open,
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
        for (id, tracked) in &mut self.tracked {
            if tracked.files.is_none() {
                tracked.files = self
                    .layout
                    .locate(id, tracked.info.cgroup_parent.as_deref());
            }
            let keep_open = tracked.keep_open;
            let raw = tracked
                .files
                .as_mut()
                .map(|files| self.layout.read(files, &mut self.buf, keep_open));
            let cpu_now = raw.and_then(|r| Some((r.cpu_ns?, r.at)));
            let cpu_pct = match (tracked.previous, cpu_now) {
                (Some(previous), Some(current)) => cpu_percent(previous, current),
                _ => None,
            };
            tracked.previous = cpu_now.or(tracked.previous);
            batch.push(ContainerStats {
                id: id.clone(),
                name: tracked.info.name.clone(),
                cpu_pct: cpu_pct.map(round2),
                mem_bytes: raw.and_then(|r| memory_used(r.usage, r.inactive_file)),
                mem_limit_bytes: raw.and_then(|r| memory_limit(r.limit, self.host_memory)),
                uptime_secs: tracked.info.uptime_secs(now),
                image: tracked.info.image.clone(),
            });
        }
        batch
    }

    fn engine(&self) -> EngineHealth {
        self.containers.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fixture(tree: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/sample/fixtures/cgroup")
            .join(tree)
    }

    /// Fixture trees hold only the four files per container. `v1-*` values were captured from
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
            // tree, name, container, cpu ns, memory used, limit
            (
                "v1-cgroupfs",
                "cgroup-v1",
                BUSY,
                649_142_443,
                67_858_432,
                268_435_456,
            ),
            (
                "v1-cgroupfs",
                "cgroup-v1",
                CACHE,
                44_418_202,
                34_988_032 - 33_570_816,
                HOST,
            ),
            (
                "v1-systemd",
                "cgroup-v1",
                BUSY,
                649_142_443,
                67_858_432,
                268_435_456,
            ),
            (
                "v1-systemd",
                "cgroup-v1",
                CACHE,
                44_418_202,
                34_988_032 - 33_570_816,
                HOST,
            ),
            (
                "v2-cgroupfs",
                "cgroup-v2",
                BUSY,
                1_234_567_000,
                70_000_640 - 2_457_600,
                268_435_456,
            ),
            (
                "v2-systemd",
                "cgroup-v2",
                CACHE,
                31_415_000,
                1_069_056 - 131_072,
                HOST,
            ),
        ];
        let mut buf = ReadBuf::default();
        for (tree, name, id, cpu, mem, limit) in cases {
            let layout = Layout::detect(&fixture(tree)).expect(tree);
            assert_eq!(layout.name(), name, "{tree}");
            let mut files = layout
                .locate(id, None)
                .unwrap_or_else(|| panic!("{tree}: {id} not found"));
            let raw = layout.read(&mut files, &mut buf, false);
            // Kept open, the second read goes through the handle and agrees.
            layout.read(&mut files, &mut buf, true);
            assert_eq!(layout.read(&mut files, &mut buf, true).cpu_ns, raw.cpu_ns);
            assert_eq!(raw.cpu_ns, Some(cpu), "{tree} {id}: cpu");
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
        }
    }

    #[test]
    fn busy_v1_fixture_matches_docker_stats_memory() {
        let layout = Layout::detect(&fixture("v1-cgroupfs")).expect("v1");
        let mut files = layout.locate(BUSY, None).expect("busy");
        let raw = layout.read(&mut files, &mut ReadBuf::default(), false);
        let ours = memory_used(raw.usage, raw.inactive_file).expect("mem") as f64;
        let docker_stats = 64.71 * 1_048_576.0;
        assert!((ours - docker_stats).abs() / docker_stats < 0.01, "{ours}");
    }

    #[test]
    fn missing_hierarchy_and_container_are_explained_not_fatal() {
        let err = Layout::detect(&fixture("nowhere")).expect_err("no tree");
        assert!(err.contains("nowhere") && err.contains(ROOT_ENV), "{err}");
        let layout = Layout::detect(&fixture("v1-cgroupfs")).expect("v1");
        assert!(layout.locate("0000", None).is_none());
        // A container whose files vanish mid-tick (it stopped) reads as all-None.
        let mut gone = Files {
            cpu: fixture("nowhere/cpu").into(),
            usage: fixture("nowhere/usage").into(),
            stat: fixture("nowhere/stat").into(),
            limit: fixture("nowhere/limit").into(),
        };
        let raw = layout.read(&mut gone, &mut ReadBuf::default(), true);
        assert_eq!(
            (raw.cpu_ns, raw.usage, raw.inactive_file, raw.limit),
            (None, None, None, None)
        );
    }

    #[test]
    fn a_container_namespace_is_not_taken_for_the_host() {
        for tree in ["v1-cgroupfs", "v1-systemd", "v2-cgroupfs", "v2-systemd"] {
            let layout = Layout::detect(&fixture(tree)).expect(tree);
            assert!(layout.holds_containers(), "{tree}");
        }
        // What an agent sees in its own cgroup namespace: a v2 root, no other containers.
        let dir = std::env::temp_dir().join(format!("ds-cgns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("cgroup.controllers"), "cpu io memory pids\n").expect("write");
        let layout = Layout::detect(&dir).expect("a v2 root");
        assert!(!layout.holds_containers());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn candidate_paths_table() {
        let cases = [
            (None, vec!["docker/x", "system.slice/docker-x.scope"]),
            (Some(""), vec!["docker/x", "system.slice/docker-x.scope"]),
            (Some("/ci/jobs"), vec!["ci/jobs/x"]),
            (Some("my.slice"), vec!["my.slice/docker-x.scope"]),
            (
                Some("ci-build-fast.slice"),
                vec!["ci.slice/ci-build.slice/ci-build-fast.slice/docker-x.scope"],
            ),
        ];
        for (parent, want) in cases {
            assert_eq!(candidates("x", parent), want, "{parent:?}");
        }
    }

    #[test]
    fn stat_value_table() {
        let text = "cache 67108864\ntotal_inactive_file 4096\ninactive_file 12\nusage_usec 7\n";
        let cases = [
            ("total_inactive_file", Some(4096)),
            ("inactive_file", Some(12)),
            ("usage_usec", Some(7)),
            ("cache", Some(67_108_864)),
            ("active_file", None),
            ("total", None),
        ];
        for (key, want) in cases {
            assert_eq!(stat_value(text, key), want, "{key}");
        }
        assert_eq!(stat_value("usage_usec lots\n", "usage_usec"), None);
    }

    #[test]
    fn limit_and_memory_table() {
        let cases = [
            // cgroup limit, host → reported
            (Some(268_435_456), Some(HOST), Some(268_435_456)),
            (Some(9_223_372_036_854_771_712), Some(HOST), Some(HOST)),
            (None, Some(HOST), Some(HOST)),
            (None, None, None),
            (Some(0), None, None),
        ];
        for (limit, host, want) in cases {
            assert_eq!(memory_limit(limit, host), want, "{limit:?} {host:?}");
        }
        assert_eq!(v2::limit("max\n"), None);
        assert_eq!(v2::limit("268435456\n"), Some(268_435_456));
        assert_eq!(memory_used(Some(100), Some(200)), Some(100));
        assert_eq!(memory_used(Some(100), None), Some(100));
        assert_eq!(memory_used(None, Some(1)), None);
        assert_eq!(
            host_memory("MemTotal:       24684084 kB\nMemFree: 1 kB\n"),
            Some(HOST)
        );
    }

    #[test]
    fn cpu_percent_is_percent_of_one_core() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let cases = [
            ((0, t0), (200_000_000, t1), Some(20.0)),
            ((0, t0), (1_500_000_000, t1), Some(150.0)),
            ((500, t0), (100, t1), Some(0.0)),
            ((0, t0), (100, t0), None),
            ((0, t1), (100, t0), None),
        ];
        for (previous, current, want) in cases {
            assert_eq!(cpu_percent(previous, current), want);
        }
    }

    #[test]
    fn read_buf_grows_for_large_files() {
        let dir = std::env::temp_dir().join(format!("ds-readbuf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("big");
        let text = "x 1\n".repeat(5_000);
        std::fs::write(&path, &text).expect("write");
        let mut buf = ReadBuf::default();
        let mut file = CgroupFile::from(path.clone());
        assert_eq!(buf.read(&mut file, true), Some(text.as_str()));
        // Through the kept handle, from offset 0 again, seeing the new content.
        std::fs::write(&path, "y 2\n").expect("rewrite");
        assert_eq!(buf.read(&mut file, true), Some("y 2\n"));
        assert_eq!(buf.read(&mut dir.join("absent").into(), false), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn open_file_budget_table() {
        let limits = |soft: &str| {
            format!(
                "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max processes             95000                95000                processes\n\
                 Max open files            {soft}                524288               files\n"
            )
        };
        let cases = [
            ("1024", 96),
            ("20000", 2468),
            ("256", 0),
            ("unlimited", (usize::MAX - 256) / 8),
        ];
        for (soft, want) in cases {
            assert_eq!(open_file_budget(&limits(soft)), want, "{soft}");
        }
        assert_eq!(open_file_budget("garbage"), 0);
    }
}
