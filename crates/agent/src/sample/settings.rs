//! What `config` hands to `sample`: plain values, parsed once from flags and the environment.
//! A leaf, so `config` can name these types without reaching into the collectors (which would
//! otherwise reach back up into `config` for the same types).

use std::path::PathBuf;

use crate::engine::Endpoint;

/// Environment variable naming the host's cgroup root when it is not `/sys/fs/cgroup`.
pub const CGROUP_ROOT_ENV: &str = "DOCKSCOPE_CGROUP_ROOT";
/// Where the host's cgroup tree is mounted normally.
pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// Environment variable naming the host's `/proc` (network counters of containers' processes)
/// when the agent sees another one.
pub const PROC_ROOT_ENV: &str = "DOCKSCOPE_PROC_ROOT";
/// Where `/proc` is normally.
pub const DEFAULT_PROC_ROOT: &str = "/proc";

/// `--collector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CollectorChoice {
    /// cgroup files when readable, else the Docker API.
    Auto,
    /// Read CPU and memory straight from the containers' cgroup files.
    Cgroup,
    /// Ask the Docker engine for each container's stats.
    DockerApi,
}

/// Everything the collectors need to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSettings {
    /// `--collector`.
    pub collector: CollectorChoice,
    /// The engine: `--docker-endpoint`, else `$DOCKER_HOST`, else the local socket.
    pub endpoint: Endpoint,
    /// The cgroup hierarchy: [`CGROUP_ROOT_ENV`], else [`DEFAULT_CGROUP_ROOT`].
    pub cgroup_root: PathBuf,
    /// The host's `/proc`: [`PROC_ROOT_ENV`], else [`DEFAULT_PROC_ROOT`].
    pub proc_root: PathBuf,
    /// `--synthetic-containers`: fake containers instead of Docker.
    pub synthetic_containers: Option<usize>,
    /// `--keep-exited`: how long a stopped container stays in the batch's `exited` list.
    pub keep_exited: std::time::Duration,
}
