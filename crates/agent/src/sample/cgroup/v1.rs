//! cgroup v1: one hierarchy per controller. CPU time from `cpuacct.usage` (nanoseconds), memory
//! from `memory.usage_in_bytes`, `memory.stat` (`total_inactive_file`, which includes
//! descendants as Docker uses) and `memory.limit_in_bytes`.
//!
//! Layouts (`<ctrl>` is `cpuacct` or the combined `cpu,cpuacct`, and `memory`):
//! - cgroupfs driver: `<root>/<ctrl>/docker/<id>`
//! - systemd driver: `<root>/<ctrl>/system.slice/docker-<id>.scope`

use std::path::{Path, PathBuf};

use super::Files;

/// Names the CPU accounting controller is mounted under, in the order tried.
const CPU_CONTROLLERS: [&str; 3] = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];

/// The `memory.stat` key Docker subtracts from usage on cgroup v1.
pub const INACTIVE_FILE: &str = "total_inactive_file";

/// The CPU accounting and memory controller directories under `root`, if both are mounted.
pub fn controllers(root: &Path) -> Option<(PathBuf, PathBuf)> {
    let cpu = CPU_CONTROLLERS
        .iter()
        .map(|name| root.join(name))
        .find(|dir| dir.join("cpuacct.usage").is_file())?;
    let memory = root.join("memory");
    memory
        .join("memory.usage_in_bytes")
        .is_file()
        .then_some((cpu, memory))
}

/// The files of the container whose cgroup is `relative` under each controller.
pub fn files(cpu: &Path, memory: &Path, relative: &str) -> Option<Files> {
    let cpu = cpu.join(relative);
    let memory = memory.join(relative);
    (cpu.is_dir() && memory.is_dir()).then(|| Files {
        cpu: cpu.join("cpuacct.usage").into(),
        usage: memory.join("memory.usage_in_bytes").into(),
        stat: memory.join("memory.stat").into(),
        limit: memory.join("memory.limit_in_bytes").into(),
    })
}

/// CPU time in nanoseconds from `cpuacct.usage`.
pub fn cpu_ns(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The limit from `memory.limit_in_bytes`. "Unlimited" is a huge page-aligned number
/// (9223372036854771712), which the caller clamps to host memory like Docker does.
pub fn limit(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}
