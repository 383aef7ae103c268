//! cgroup v1: one hierarchy per controller. CPU time from `cpuacct.usage` (nanoseconds), memory
//! from `memory.usage_in_bytes`, `memory.stat` (`total_inactive_file`, which includes
//! descendants as Docker uses) and `memory.limit_in_bytes`; processes from `pids.current` and
//! `pids.max` (the `pids` controller; figures stay unknown where it is not mounted).
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
    /// `pids`.
    Pids,
}

/// Where the controllers this module reads are mounted. A new controller (`pids`, `blkio`)
/// is a field here, found in [`Mounts::find`], and a [`Controller`] variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounts {
    /// The CPU accounting controller (`cpuacct` or `cpu,cpuacct`).
    pub cpu: PathBuf,
    /// The memory controller; Docker's groups under it tell the host's hierarchy apart.
    pub memory: PathBuf,
    /// The pids controller (not required: without it the PID figures are unknown).
    pub pids: PathBuf,
}

impl Mounts {
    /// The CPU accounting and memory controllers under `root`, if both are mounted.
    pub fn find(root: &Path) -> Option<Self> {
        let cpu = CPU_CONTROLLERS
            .iter()
            .map(|name| root.join(name))
            .find(|dir| dir.join("cpuacct.usage").is_file())?;
        let memory = root.join("memory");
        let pids = root.join("pids");
        memory
            .join("memory.usage_in_bytes")
            .is_file()
            .then_some(Self { cpu, memory, pids })
    }

    /// The directory whose top-level groups (`docker`, `system.slice`) show containers.
    pub fn top(&self) -> &Path {
        &self.memory
    }

    fn dir(&self, controller: Controller) -> &Path {
        match controller {
            Controller::Cpu => &self.cpu,
            Controller::Memory => &self.memory,
            Controller::Pids => &self.pids,
        }
    }
}

/// The files read for every container and the field each fills, CPU first. The limit is
/// "unlimited" as a huge page-aligned number (9223372036854771712), which the figures clamp
/// to host memory like Docker does.
pub const FILES: [(Controller, &str, Fill); 6] = [
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
    (Controller::Pids, "pids.current", |text, r| {
        r.pids = number(text)
    }),
    (Controller::Pids, "pids.max", |text, r| {
        r.pids_limit = number(text)
    }),
];

/// The files of the container whose cgroup is `relative` under each controller; `None` until
/// its CPU and memory directories exist. A controller the host does not mount (`pids` on some
/// v1 hosts) is left out once here rather than failing to open every second.
pub fn files(mounts: &Mounts, relative: &str) -> Option<Files> {
    (mounts.cpu.join(relative).is_dir() && mounts.memory.join(relative).is_dir()).then(|| Files {
        probes: FILES
            .iter()
            .filter(|(controller, ..)| mounts.dir(*controller).join(relative).is_dir())
            .map(|&(controller, name, fill)| Probe {
                file: mounts.dir(controller).join(relative).join(name).into(),
                fill,
            })
            .collect(),
    })
}
