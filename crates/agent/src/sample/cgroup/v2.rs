//! cgroup v2: one unified hierarchy. CPU time from `cpu.stat` `usage_usec` (microseconds),
//! memory from `memory.current`, `memory.stat` (`inactive_file`) and `memory.max` (`max` when
//! unlimited).
//!
//! Layouts:
//! - cgroupfs driver: `<root>/docker/<id>`
//! - systemd driver: `<root>/system.slice/docker-<id>.scope`

use std::path::Path;

use super::{stat_value, Files};

/// The `memory.stat` key Docker subtracts from usage on cgroup v2.
pub const INACTIVE_FILE: &str = "inactive_file";

/// Whether `root` is a cgroup v2 hierarchy with the memory controller available.
pub fn is_unified(root: &Path) -> bool {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|name| name == "memory"))
}

/// The files of the container whose cgroup is `relative` under `root`.
pub fn files(root: &Path, relative: &str) -> Option<Files> {
    let dir = root.join(relative);
    dir.is_dir().then(|| Files {
        cpu: dir.join("cpu.stat").into(),
        usage: dir.join("memory.current").into(),
        stat: dir.join("memory.stat").into(),
        limit: dir.join("memory.max").into(),
    })
}

/// CPU time in nanoseconds from `cpu.stat`'s `usage_usec`.
pub fn cpu_ns(text: &str) -> Option<u64> {
    stat_value(text, "usage_usec")?.checked_mul(1_000)
}

/// The limit from `memory.max`; `None` for `max` (unlimited, reported as host memory).
pub fn limit(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}
