//! Hierarchy discovery: which cgroup version is mounted at the root `config` gives us, whether
//! it holds Docker's containers, and where one container's directory is under either driver
//! (`cgroupfs`, `systemd`, or `--cgroup-parent`).

use std::path::{Path, PathBuf};

use super::read::Files;
use super::{v1, v2};
use crate::sample::settings::CGROUP_ROOT_ENV;

/// Which cgroup version, and where its controllers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One directory per controller.
    V1(v1::Mounts),
    /// The unified hierarchy.
    V2 {
        /// Its root.
        root: PathBuf,
    },
}

/// Why the cgroup files cannot be used; the agent then reads the Docker API instead. Neither
/// goes away by waiting: the agent must be started with the host's hierarchy mounted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// No v1 or v2 hierarchy at the root.
    #[error(
        "no readable cgroup hierarchy at {}: neither cgroup.controllers (v2) nor cpuacct/ and \
         memory/ (v1); if the host's /sys/fs/cgroup is mounted elsewhere, set {CGROUP_ROOT_ENV} \
         to that path",
        .root.display()
    )]
    Missing {
        /// The root looked at.
        root: PathBuf,
    },
    /// A hierarchy without Docker's groups: the agent's own cgroup namespace.
    #[error(
        "the cgroup hierarchy has no docker or system.slice group (is this the agent's own \
         cgroup namespace?); mount the host's /sys/fs/cgroup and set {CGROUP_ROOT_ENV} to it"
    )]
    NoContainers,
}

impl Layout {
    /// Finds the hierarchy under `root`.
    ///
    /// # Errors
    /// [`HierarchyError::Missing`] when neither a v2 nor a usable v1 hierarchy is there.
    pub fn detect(root: &Path) -> Result<Self, HierarchyError> {
        if v2::is_unified(root) {
            return Ok(Layout::V2 {
                root: root.to_owned(),
            });
        }
        if let Some(mounts) = v1::Mounts::find(root) {
            return Ok(Layout::V1(mounts));
        }
        Err(HierarchyError::Missing {
            root: root.to_owned(),
        })
    }

    /// Whether this looks like the host's hierarchy, with Docker's containers under it (a
    /// `docker` or `system.slice` group), rather than a container's own cgroup namespace,
    /// where a hierarchy exists but holds no other container.
    pub fn holds_containers(&self) -> bool {
        let top = match self {
            Layout::V1(mounts) => mounts.top(),
            Layout::V2 { root } => root,
        };
        ["docker", "system.slice"]
            .iter()
            .any(|group| top.join(group).is_dir())
    }

    /// The collector name for `agent_status.features`.
    pub fn name(&self) -> &'static str {
        match self {
            Layout::V1(_) => "cgroup-v1",
            Layout::V2 { .. } => "cgroup-v2",
        }
    }

    /// The files of container `id`, trying the cgroupfs then the systemd layout (or only the
    /// one `--cgroup-parent` implies). `None` while its directory does not exist.
    pub fn locate(&self, id: &str, parent: Option<&str>) -> Option<Files> {
        candidates(id, parent)
            .iter()
            .find_map(|relative| match self {
                Layout::V1(mounts) => v1::files(mounts, relative),
                Layout::V2 { root } => v2::files(root, relative),
            })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_container_namespace_is_not_taken_for_the_host() {
        // What an agent sees in its own cgroup namespace: a v2 root, no other containers.
        let dir = std::env::temp_dir().join(format!("ds-cgns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("cgroup.controllers"), "cpu io memory pids\n").expect("write");
        let layout = Layout::detect(&dir).expect("a v2 root");
        assert!(!layout.holds_containers());
        let _ = std::fs::remove_dir_all(dir);
    }
}
