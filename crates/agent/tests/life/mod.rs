//! What `depth_lifecycle.rs` and `depth_network.rs` share: containers named with this task's
//! `life-` prefix, removed when dropped.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use super::common::{docker, Container};

/// A container named `life-<pid>-<label>`, `docker rm -f`'d when dropped.
pub struct Life(Container);

impl Life {
    /// `docker run -d --name life-<pid>-<label> <run_args…> IMAGE <cmd…>`.
    pub fn run(label: &str, run_args: &[&str], cmd: &[&str]) -> Self {
        let name = format!("life-{}-{label}", std::process::id());
        Life(Container::named(name, run_args, cmd))
    }

    /// `docker inspect -f FORMAT` of this container.
    pub fn inspect(&self, format: &str) -> String {
        docker(&["inspect", "-f", format, &self.0.name])
    }
}

impl std::ops::Deref for Life {
    type Target = Container;

    fn deref(&self) -> &Container {
        &self.0
    }
}
