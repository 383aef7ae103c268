//! The docker CLI, for tests and the benchmark (`examples/bench.rs` includes this file with
//! `#[path]`): one helper for the shared engine and for private ones.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::process::Command;

/// Runs the docker CLI against the shared engine, panicking with its stderr on failure.
pub fn docker(args: &[&str]) -> String {
    docker_on(None, args)
}

/// Runs the docker CLI against `host` (`-H`, e.g. a private engine's `unix://` socket), or the
/// shared engine when `None`, panicking with its stderr on failure.
pub fn docker_on(host: Option<&str>, args: &[&str]) -> String {
    let mut command = Command::new("docker");
    if let Some(host) = host {
        command.args(["-H", host]);
    }
    let out = command.args(args).output().expect("docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
