//! cgroup v2: one unified hierarchy. CPU time from `cpu.stat` `usage_usec` (microseconds),
//! memory from `memory.current`, `memory.stat` (`inactive_file`) and `memory.max` (`max` when
//! unlimited), processes from `pids.current` and `pids.max`.
//!
//! Layouts:
//! - cgroupfs driver: `<root>/docker/<id>`
//! - systemd driver: `<root>/system.slice/docker-<id>.scope`

use std::path::Path;

use super::read::{number, stat_value, wall_clocked, Files, Fill, Probe};

/// The `memory.stat` key Docker subtracts from usage on cgroup v2.
pub const INACTIVE_FILE: &str = "inactive_file";

/// The files read for every container and the field each fills, CPU first. `memory.max` is
/// `max` when unlimited, which leaves the limit `None` (reported as host memory).
pub const FILES: [(&str, Fill); 6] = [
    ("cpu.stat", |text, r| wall_clocked(r, cpu_ns(text))),
    ("memory.current", |text, r| r.usage = number(text)),
    ("memory.stat", |text, r| {
        r.inactive_file = stat_value(text, INACTIVE_FILE);
    }),
    ("memory.max", |text, r| r.limit = number(text)),
    ("pids.current", |text, r| r.pids = number(text)),
    ("pids.max", |text, r| r.pids_limit = number(text)),
];

/// Whether `root` is a cgroup v2 hierarchy with the memory controller available.
pub fn is_unified(root: &Path) -> bool {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|name| name == "memory"))
}

/// The files of the container whose cgroup is `relative` under `root`.
pub fn files(root: &Path, relative: &str) -> Option<Files> {
    let dir = root.join(relative);
    dir.is_dir().then(|| files_in(&dir))
}

/// The files of the cgroup at `dir`, whether or not it exists.
pub fn files_in(dir: &Path) -> Files {
    Files {
        probes: FILES
            .iter()
            .map(|&(name, fill)| Probe {
                file: dir.join(name).into(),
                fill,
            })
            .collect(),
    }
}

/// CPU time in nanoseconds from `cpu.stat`'s `usage_usec`.
pub fn cpu_ns(text: &str) -> Option<u64> {
    stat_value(text, "usage_usec")?.checked_mul(1_000)
}
