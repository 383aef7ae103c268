//! cgroup v1: one hierarchy per controller. CPU time from `cpuacct.usage` (nanoseconds), memory
//! from `memory.usage_in_bytes`, `memory.stat` (`total_inactive_file`, which includes
//! descendants as Docker uses) and `memory.limit_in_bytes`.
//!
//! Layouts (`<ctrl>` is `cpuacct` or the combined `cpu,cpuacct`, and `memory`):
//! - cgroupfs driver: `<root>/<ctrl>/docker/<id>`
//! - systemd driver: `<root>/<ctrl>/system.slice/docker-<id>.scope`

use std::path::{Path, PathBuf};

use super::read::{number, stat_value, wall_clocked, Files, Fill, Probe};

/// Names the CPU accounting controller is mounted under, in the order tried.
const CPU_CONTROLLERS: [&str; 3] = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];

/// The `memory.stat` key Docker subtracts from usage on cgroup v1.
pub const INACTIVE_FILE: &str = "total_inactive_file";

/// Which controller directory a file lives under.
#[derive(Debug, Clone, Copy)]
pub enum Controller {
    /// `cpuacct` (or `cpu,cpuacct`).
    Cpu,
    /// `memory`.
    Memory,
}

/// The files read for every container and the field each fills, CPU first. The limit is
/// "unlimited" as a huge page-aligned number (9223372036854771712), which the figures clamp
/// to host memory like Docker does.
pub const FILES: [(Controller, &str, Fill); 4] = [
    (Controller::Cpu, "cpuacct.usage", |text, r| {
        wall_clocked(r, number(text));
    }),
    (Controller::Memory, "memory.usage_in_bytes", |text, r| {
        r.usage = number(text);
    }),
    (Controller::Memory, "memory.stat", |text, r| {
        r.inactive_file = stat_value(text, INACTIVE_FILE);
    }),
    (Controller::Memory, "memory.limit_in_bytes", |text, r| {
        r.limit = number(text);
    }),
];

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
        probes: FILES
            .iter()
            .map(|&(controller, name, fill)| Probe {
                file: match controller {
                    Controller::Cpu => cpu.join(name),
                    Controller::Memory => memory.join(name),
                }
                .into(),
                fill,
            })
            .collect(),
    })
}
