//! The agent as deployed by `deploy/compose`: the static (musl) binary alone in a
//! `FROM scratch` image, run read-only as `nobody` with the Docker socket and the host's cgroup
//! tree mounted read-only and a token file as its secret — the compose file's settings, given
//! to `docker run` (no compose here). It must stream the real engine's containers from cgroup
//! files, refuse a client without the token, and serve the embedded dashboard.
//!
//! Needs `scripts/build.sh` and `scripts/build-static.sh` first (`scripts/test.sh` runs both);
//! fails, not skips, without the static binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, docker, free_port, next_batch, Container};
use dockscope_protocol::Message;

const TAG: &str = "dockscope-agent:it";
const TOKEN: &str = "container-image-test-token";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn static_binary() -> PathBuf {
    let bin = repo_root().join("target/x86_64-unknown-linux-musl/release/dockscope-agent");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/build.sh && scripts/build-static.sh",
        bin.display()
    );
    bin
}

/// The agent's container, removed when dropped (with its log printed, for a failing run).
struct AgentContainer(String);

impl Drop for AgentContainer {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("docker").args(["logs", &self.0]).output() {
            eprintln!(
                "agent container log:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

/// `GET path` over plain HTTP/1.0: (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn static_agent_in_a_scratch_image_streams_the_engine_it_is_given() {
    let bin = static_binary();
    let ldd = Command::new("ldd").arg(&bin).output().unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout) + String::from_utf8_lossy(&ldd.stderr);
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "the deployable agent must be static; ldd says: {ldd}"
    );

    let root = repo_root();
    docker(&[
        "build",
        "-q",
        "-f",
        root.join("deploy/compose/Dockerfile").to_str().unwrap(),
        "-t",
        TAG,
        root.to_str().unwrap(),
    ]);

    let secrets = std::env::temp_dir().join(format!("ds-it-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&secrets).unwrap();
    let token_file = secrets.join("dockscope_token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let docker_gid = Command::new("stat")
        .args(["-c", "%g", "/var/run/docker.sock"])
        .output()
        .unwrap();
    let docker_gid = String::from_utf8_lossy(&docker_gid.stdout)
        .trim()
        .to_owned();

    let workload = Container::run("image-workload", &[], &["sleep", "100000"]);
    let port = free_port();
    let name = format!("ds-it-{}-agent-image", std::process::id());
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let publish = format!("127.0.0.1:{port}:8080");
    let secret_mount = format!("{}:/run/secrets/dockscope_token:ro", token_file.display());
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "--group-add",
        &docker_gid,
        "--memory",
        "64m",
        "-p",
        &publish,
        "-e",
        "NO_COLOR=1",
        "-e",
        "DOCKSCOPE_AGENT_ID=in-a-container",
        "-e",
        "DOCKSCOPE_SERVE_UI=true",
        "-e",
        "DOCKSCOPE_TOKEN_FILE=/run/secrets/dockscope_token",
        "-e",
        "DOCKSCOPE_CGROUP_ROOT=/host/sys/fs/cgroup",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock:ro",
        "-v",
        "/sys/fs/cgroup:/host/sys/fs/cgroup:ro",
        "-v",
        &secret_mount,
        TAG,
    ]);
    let _agent = AgentContainer(name);

    // Up: the dashboard is served from inside the image.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (status, body) = loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            drop(stream);
            let (status, body) = http_get(port, "/");
            if status != 0 {
                break (status, body);
            }
        }
        assert!(Instant::now() < deadline, "agent container never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "GET / from the container: {body}");
    assert!(body.contains("<html"), "the embedded dashboard: {body}");

    // Without the token: refused.
    let url = format!("ws://127.0.0.1:{port}/ws");
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    assert!(refused.is_err(), "a client without the token was accepted");

    // With it: the engine's containers, read from the mounted cgroup files.
    let mut ws = connect(&format!("{url}?token={TOKEN}")).await;
    let status = loop {
        if let Message::AgentStatus(s) = common::next_message(&mut ws, Duration::from_secs(5)).await
        {
            break s;
        }
    };
    assert_eq!(status.agent_id, "in-a-container");
    assert!(
        status
            .features
            .iter()
            .any(|f| f == "collector:cgroup-v1" || f == "collector:cgroup-v2"),
        "the mounted cgroup tree is used: {:?}",
        status.features
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        let seen = batch.containers.iter().find(|c| c.id == workload.id);
        if let Some(c) = seen.filter(|c| c.mem_bytes.is_some_and(|m| m > 0)) {
            assert!(c.name.ends_with("image-workload"), "{c:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the workload container never appeared with its memory: {batch:?}"
        );
    }
}
