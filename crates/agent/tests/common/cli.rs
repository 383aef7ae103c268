//! The docker CLI, for tests and the benchmark (`examples/bench.rs` includes this file with
//! `#[path]`): one helper for the shared engine and for private ones. Every call has a time
//! limit, so an engine that stops answering fails the test that waits on it, with the call
//! named, instead of holding the whole suite until CI gives up.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::process::Command;

/// The longest any one docker call may take (`docker rm -f` of a hundred containers on a busy
/// two-core machine takes well under a minute).
pub const DOCKER_CALL_LIMIT_S: u32 = 240;
/// What `timeout(1)` exits with when the limit was reached.
const TIMED_OUT: i32 = 124;

/// `docker`, killed after [`DOCKER_CALL_LIMIT_S`] (through coreutils' `timeout`, which exits
/// with 124 then); add the arguments.
pub fn docker_command() -> Command {
    let mut command = Command::new("timeout");
    command.args([
        "--kill-after=10",
        &DOCKER_CALL_LIMIT_S.to_string(),
        "docker",
    ]);
    command
}

/// Runs the docker CLI against the shared engine, panicking with its stderr on failure.
pub fn docker(args: &[&str]) -> String {
    docker_on(None, args)
}

/// Runs the docker CLI against `host` (`-H`, e.g. a private engine's `unix://` socket), or the
/// shared engine when `None`, panicking with its stderr on failure.
pub fn docker_on(host: Option<&str>, args: &[&str]) -> String {
    let mut command = docker_command();
    if let Some(host) = host {
        command.args(["-H", host]);
    }
    let out = command.args(args).output().expect("docker CLI runs");
    assert!(
        out.status.code() != Some(TIMED_OUT),
        "docker {args:?} did not answer within {DOCKER_CALL_LIMIT_S} s: the engine is stuck"
    );
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
