//! The agent as deployed by `deploy/compose`: the static (musl) binary alone in a
//! `FROM scratch` image, run read-only as `nobody` with the Docker socket and the host's cgroup
//! tree mounted read-only and a token file as its secret — the compose file's settings, given
//! to `docker run` (`compose.rs` runs the compose files themselves). It must stream the real engine's containers from cgroup
//! files, refuse a client without the token (401), and serve the embedded dashboard. And the
//! same image lives through a flood of 20,000 half-open sockets inside its 64 MiB (CI holds the
//! flood for 15 s, `DOCKSCOPE_FULL_FAULTS=1` for 60 s): not OOM-killed, its connected client
//! gets every batch, honest clients connect in < 1 s during it, and afterwards.
//!
//! Needs `scripts/build.sh` and `scripts/build-static.sh` first (`scripts/test.sh` runs both);
//! fails, not skips, without the static binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::flood::{Flood, Payload};
use common::{connect, docker, free_port, http_get, next_batch, try_http_get, Container};
use dockscope_protocol::Message;
use tokio_tungstenite::tungstenite::Error as WsError;

const TAG: &str = "dockscope-agent:it";
const TOKEN: &str = "container-image-test-token";
/// The compose file's memory limit.
const MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// Not a test: the attacker process's entry point (see `common::flood`).
#[test]
#[ignore = "runs only as the attacker process of the flood"]
fn flood_attacker() {
    common::flood::attacker_role();
}

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
        if let Ok(out) = common::docker_command().args(["logs", &self.0]).output() {
            eprintln!(
                "agent container log:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = common::docker_command()
            .args(["rm", "-f", &self.0])
            .output();
    }
}

/// How the agent container is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Network {
    /// `-p 127.0.0.1:PORT:8080`, as the compose file publishes it.
    Published,
    /// `--network host`, listening on 127.0.0.1:PORT: clients keep their own addresses
    /// (Docker's userland proxy makes every local client one peer, and its own speed caps a
    /// flood before the agent sees it).
    Host,
}

/// Builds the image once per test binary run (Docker's cache makes the second build quick).
fn build_image() {
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
}

/// The image run with the compose file's settings (read-only, 64 MiB, token file, the host's
/// cgroup tree and Docker socket read-only); its port once it answers HTTP.
async fn start_agent_container(label: &str, network: Network) -> (AgentContainer, u16) {
    build_image();
    let secrets =
        std::env::temp_dir().join(format!("ds-it-secrets-{}-{label}", std::process::id()));
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

    let port = free_port();
    let name = format!("ds-it-{}-{label}", std::process::id());
    let _ = common::docker_command().args(["rm", "-f", &name]).output();
    let publish = format!("127.0.0.1:{port}:8080");
    let listen = format!("DOCKSCOPE_LISTEN=127.0.0.1:{port}");
    let secret_mount = format!("{}:/run/secrets/dockscope_token:ro", token_file.display());
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "--group-add",
        &docker_gid,
        "--memory",
        "64m",
    ];
    match network {
        Network::Published => args.extend(["-p", &publish]),
        Network::Host => args.extend(["--network", "host", "-e", &listen]),
    }
    args.extend([
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
    docker(&args);
    let agent = AgentContainer(name);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if try_http_get(port, "/").is_ok_and(|(status, _)| status != 0) {
            return (agent, port);
        }
        assert!(Instant::now() < deadline, "agent container never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn static_agent_in_a_scratch_image_streams_the_engine_it_is_given() {
    let workload = Container::run("image-workload", &[], &["sleep", "100000"]);
    let (_agent, port) = start_agent_container("agent-image", Network::Published).await;

    // Up: the dashboard is served from inside the image.
    let (status, body) = http_get(port, "/");
    assert_eq!(status, 200, "GET / from the container: {body}");
    assert!(body.contains("<html"), "the embedded dashboard: {body}");

    // Without the token: refused.
    let url = format!("ws://127.0.0.1:{port}/ws");
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(WsError::Http(response)) => assert_eq!(
            response.status().as_u16(),
            401,
            "a client without the token: {response:?}"
        ),
        Ok(_) => panic!("a client without the token was accepted"),
        Err(e) => panic!("a client without the token must get 401, not {e}"),
    }

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

/// Memory the container's cgroup uses now, bytes (cgroup v1 or v2, cgroupfs or systemd).
fn container_memory(id: &str) -> Option<u64> {
    [
        format!("/sys/fs/cgroup/memory/docker/{id}/memory.usage_in_bytes"),
        format!("/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.usage_in_bytes"),
        format!("/sys/fs/cgroup/docker/{id}/memory.current"),
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.current"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}

/// 20,000 half-open sockets (two attacker processes, from 127.0.0.2) against the image with
/// the compose settings, on the host's network so that the agent, not Docker's userland proxy,
/// takes the flood and honest clients from 127.0.0.1 are another peer.
#[tokio::test(flavor = "multi_thread")]
async fn static_image_under_64_mib_survives_a_connection_flood() {
    let (agent, port) = start_agent_container("agent-flood", Network::Host).await;
    let name = agent.0.as_str();
    let id = docker(&["inspect", "-f", "{{.Id}}", name]);
    let pid: u32 = docker(&["inspect", "-f", "{{.State.Pid}}", name])
        .parse()
        .unwrap();
    let url = format!("ws://127.0.0.1:{port}/ws?token={TOKEN}");
    let timed_connect = || async {
        let started = Instant::now();
        let mut ws = connect(&url).await;
        let took = started.elapsed();
        next_batch(&mut ws, Duration::from_secs(5)).await;
        took
    };
    let mut ws = connect(&url).await;
    next_batch(&mut ws, Duration::from_secs(5)).await;

    let hold = if std::env::var_os("DOCKSCOPE_FULL_FAULTS").is_some() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(15)
    };
    let target = format!("127.0.0.1:{port}").parse().unwrap();
    let flood = Flood::start(
        target,
        "127.0.0.2",
        2,
        10_000,
        hold.as_secs() + 3,
        Payload::HalfHeader,
    );
    let mut sent = Vec::new();
    let mut connects = Vec::new();
    let (mut peak, mut peak_rss) = (0, 0);
    let mut next_probe = Instant::now() + Duration::from_secs(2);
    let until = Instant::now() + hold;
    while Instant::now() < until {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        sent.push(batch.sent_at);
        peak = peak.max(container_memory(&id).unwrap_or(0));
        peak_rss = peak_rss.max(common::flood::rss_bytes(pid));
        if Instant::now() >= next_probe {
            connects.push(timed_connect().await);
            next_probe = Instant::now() + Duration::from_secs(3);
        }
    }
    let summaries = flood.finish();
    let state = docker(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.State.OOMKilled}} {{.RestartCount}}",
        name,
    ]);
    let worst_connect = connects.iter().max().copied().unwrap_or_default();
    eprintln!(
        "flood on the 64 MiB container for {hold:?}: attackers {summaries:?}; container memory \
         peak {:.1} MiB, agent RSS peak {:.1} MiB; state {state}; {} batches; honest connects \
         {connects:?}",
        peak as f64 / 1_048_576.0,
        peak_rss as f64 / 1_048_576.0,
        sent.len()
    );
    let connected: u64 = summaries.iter().map(|s| s.connected).sum();
    assert!(connected >= 20_000, "the attackers opened only {connected}");
    assert_eq!(state, "true false 0", "the agent container must survive");
    assert!(
        peak > 0 && peak < MEMORY_LIMIT,
        "container memory peak {peak} B (0: cgroup file not found)"
    );
    assert!(
        worst_connect < Duration::from_secs(1),
        "an honest client took {worst_connect:?} to connect during the flood"
    );
    let spacing: Vec<i64> = sent
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    assert!(
        spacing.iter().all(|ms| (500..=1_500).contains(ms)),
        "the connected client missed batches during the flood: {spacing:?} ms"
    );
    // Once the flood is gone, a new client gets in.
    timed_connect().await;
}
