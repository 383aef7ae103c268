//! What `depth_lifecycle.rs` and `depth_network.rs` share: containers named with this task's
//! `life-` prefix, removed when dropped.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::process::Command;

use super::common::{docker, IMAGE};

/// A container, `docker rm -f`'d when dropped.
pub struct Life {
    pub name: String,
    pub id: String,
}

impl Life {
    /// `docker run -d --name life-<pid>-<label> <run_args…> IMAGE <cmd…>`.
    pub fn run(label: &str, run_args: &[&str], cmd: &[&str]) -> Self {
        let name = format!("life-{}-{label}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(run_args);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        let id = docker(&args);
        Life { name, id }
    }

    /// `docker inspect -f FORMAT` of this container.
    pub fn inspect(&self, format: &str) -> String {
        docker(&["inspect", "-f", format, &self.name])
    }
}

impl Drop for Life {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}
