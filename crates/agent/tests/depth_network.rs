//! Network figures of the cgroup collector (from each container's `/proc/<pid>/net/dev`)
//! against `docker stats` on the same containers at the same moment, and the network mode of
//! containers that share another one's namespace or the host's.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;
mod life;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{blocking, docker, Agent, Feed};
use dockscope_protocol::ContainerStats;
use life::Life;

const SECOND: Duration = Duration::from_secs(1);

/// "21MB / 1.05GB" (a `docker stats` NetIO cell, decimal units) → (received, sent) in bytes.
fn net_io(cell: &str) -> (f64, f64) {
    common::truth::parse_decimal_pair(cell)
}

/// The entry for `id` in the next batch that lists it.
async fn entry(feed: &mut Feed, id: &str) -> (ContainerStats, Instant) {
    let deadline = Instant::now() + 15 * SECOND;
    loop {
        assert!(Instant::now() < deadline, "{id} not listed within 15 s");
        let (batch, at) = feed.next_batch(3 * SECOND).await;
        if let Some(c) = batch.containers.into_iter().find(|c| c.id == id) {
            return (c, at);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_io_matches_docker_stats_within_five_percent() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    let (server, client) = blocking(|| {
        let server = Life::run(
            "httpd",
            &[],
            &[
                "sh",
                "-c",
                "mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=20 2>/dev/null \
                 && exec httpd -f -p 8000 -h /www",
            ],
        );
        let ip = docker(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.IPAddress}}",
            &server.name,
        ]);
        assert!(!ip.is_empty(), "the server has an IP on the bridge");
        let url = format!("http://{ip}:8000/big");
        let client = Life::run(
            "wget",
            &[],
            &[
                "sh",
                "-c",
                &format!("while :; do wget -q -O /dev/null {url}; sleep 0.5; done"),
            ],
        );
        (server, client)
    })
    .await;

    // Wait until the traffic is well under way: the server has sent 60 MB.
    let deadline = Instant::now() + 60 * SECOND;
    loop {
        let (c, _) = entry(&mut feed, &server.id).await;
        if c.net_tx_bytes.unwrap_or(0) > 60_000_000 {
            assert!(
                c.net_tx_bytes_per_sec.is_some(),
                "a rate once two readings exist"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server sent only {:?} bytes in 60 s",
            c.net_tx_bytes
        );
    }

    for (who, id, name) in [
        ("server", server.id.clone(), server.name.clone()),
        ("client", client.id.clone(), client.name.clone()),
    ] {
        // The CLI's figure is taken between two of the agent's: the counters move meanwhile,
        // so it must lie within the bracket, with 5 % either side.
        let (before, _) = entry(&mut feed, &id).await;
        let (cell, returned) = blocking(move || {
            let cell = docker(&["stats", "--no-stream", "--format", "{{.NetIO}}", &name]);
            (cell, Instant::now())
        })
        .await;
        // Batches queued meanwhile were read before the CLI's figure; the second one to
        // arrive after it returned was read after.
        let after = loop {
            let (_, at) = entry(&mut feed, &id).await;
            if at > returned {
                break entry(&mut feed, &id).await.0;
            }
        };
        let (theirs_rx, theirs_tx) = net_io(&cell);
        for (what, theirs, low, high) in [
            (
                "received",
                theirs_rx,
                before.net_rx_bytes,
                after.net_rx_bytes,
            ),
            ("sent", theirs_tx, before.net_tx_bytes, after.net_tx_bytes),
        ] {
            let (low, high) = (
                low.expect("rx/tx figure") as f64,
                high.expect("figure") as f64,
            );
            assert!(
                theirs >= low * 0.95 && theirs <= high * 1.05,
                "{who} {what}: docker stats {cell:?} = {theirs} bytes, agent {low}..{high}"
            );
        }
        assert!(after.net_rx_packets.is_some() && after.net_tx_packets.is_some());
        assert_eq!(after.network_mode, None, "{who} has its own namespace");
    }
    blocking(move || drop((server, client))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_and_host_namespaces_carry_no_figures_and_say_whose() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    let (owner, sharer, host) = blocking(|| {
        let owner = Life::run("owner", &[], &["sleep", "100000"]);
        let sharer = Life::run(
            "sharer",
            &["--network", &format!("container:{}", owner.name)],
            &["sleep", "100000"],
        );
        let host = Life::run("hostnet", &["--network", "host"], &["sleep", "100000"]);
        (owner, sharer, host)
    })
    .await;
    // The owner's figures are there (a fresh namespace has sent and received little or
    // nothing, but the counters exist).
    let deadline = Instant::now() + 15 * SECOND;
    let (owner_entry, sharer_entry, host_entry) = loop {
        assert!(Instant::now() < deadline, "the three containers not listed");
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        let find = |id: &str| batch.containers.iter().find(|c| c.id == id).cloned();
        if let (Some(o), Some(s), Some(h)) = (find(&owner.id), find(&sharer.id), find(&host.id)) {
            if o.net_rx_bytes.is_some() {
                break (o, s, h);
            }
        }
    };
    assert_eq!(owner_entry.network_mode, None);
    assert!(owner_entry.net_tx_bytes.is_some() && owner_entry.net_rx_packets.is_some());
    assert_eq!(
        sharer_entry.network_mode.as_deref(),
        Some(format!("container:{}", owner.name).as_str()),
        "the sharer names the owner"
    );
    assert_eq!(host_entry.network_mode.as_deref(), Some("host"));
    for shared in [&sharer_entry, &host_entry] {
        assert_eq!(
            (
                shared.net_rx_bytes,
                shared.net_tx_bytes,
                shared.net_rx_bytes_per_sec
            ),
            (None, None, None),
            "{} must not count another namespace's traffic",
            shared.name
        );
    }
    // Docker agrees on both modes.
    let (sharer_name, host_name) = (sharer.name.clone(), host.name.clone());
    let modes = blocking(move || {
        [sharer_name, host_name]
            .map(|n| docker(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &n]))
    })
    .await;
    assert!(modes[0].starts_with("container:"), "{modes:?}");
    assert_eq!(modes[1], "host");
    blocking(move || drop((sharer, owner, host))).await;
}

/// The agent binary run inside a container (`--network host`, so the test reaches it on
/// loopback), as `nobody` with the Docker socket and the host's cgroup tree, plus `extra`
/// run arguments. The test binary is glibc-linked: the host's libraries are mounted beside it.
fn agent_in_a_container(label: &str, extra: &[&str]) -> (Life, u16) {
    let port = common::free_port();
    let binary = format!(
        "{}:/dockscope-agent:ro",
        env!("CARGO_BIN_EXE_dockscope-agent")
    );
    let listen = format!("DOCKSCOPE_LISTEN=127.0.0.1:{port}");
    let gid = docker_socket_gid();
    let mut args = vec![
        "--network",
        "host",
        "--read-only",
        "--user",
        "65534:65534",
        "--group-add",
        &gid,
        "-v",
        &binary,
        "-v",
        "/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro",
        "-v",
        "/lib64:/lib64:ro",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock:ro",
        "-v",
        "/sys/fs/cgroup:/host/sys/fs/cgroup:ro",
        "-e",
        "DOCKSCOPE_CGROUP_ROOT=/host/sys/fs/cgroup",
        "-e",
        &listen,
        "-e",
        "NO_COLOR=1",
        "--entrypoint",
        "/dockscope-agent",
    ];
    args.extend_from_slice(extra);
    let agent = Life::run(label, &args, &[]);
    let deadline = Instant::now() + 15 * SECOND;
    while !common::listening(port) {
        assert!(
            Instant::now() < deadline,
            "the agent in a container never listened: {}",
            docker(&["logs", &agent.name])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (agent, port)
}

fn docker_socket_gid() -> String {
    let out = Command::new("stat")
        .args(["-c", "%g", "/var/run/docker.sock"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The warnings of the first `agent_status` that has some, or none after `batches` batches
/// with the workload's network figures (from `feed`).
async fn warnings_or_figures(feed: &mut Feed, workload: &str) -> Result<u64, Vec<String>> {
    let deadline = Instant::now() + 20 * SECOND;
    loop {
        assert!(
            Instant::now() < deadline,
            "neither a warning nor figures in 20 s"
        );
        match feed.next(3 * SECOND).await.0 {
            dockscope_protocol::Message::AgentStatus(s) if !s.warnings.is_empty() => {
                return Err(s.warnings)
            }
            dockscope_protocol::Message::ContainerStatsBatch(b) => {
                if let Some(rx) = b
                    .containers
                    .iter()
                    .find(|c| c.id == workload)
                    .and_then(|c| c.net_rx_packets)
                {
                    return Ok(rx);
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_a_container_needs_the_hosts_processes_and_says_so() {
    let workload = blocking(|| Life::run("netns-workload", &[], &["sleep", "100000"])).await;

    // Its own pid namespace: no figures, and a warning that says what to add.
    let (blind, port) = blocking(|| agent_in_a_container("agent-blind", &[])).await;
    let mut feed = Feed::connect(&format!("ws://127.0.0.1:{port}/ws")).await;
    let warnings = warnings_or_figures(&mut feed, &workload.id)
        .await
        .expect_err("a blind agent warns");
    let text = warnings.join(" ");
    for words in [
        "pid: host",
        "/host/proc",
        "DOCKSCOPE_PROC_ROOT=/host/proc",
        "network",
    ] {
        assert!(text.contains(words), "{words:?} missing from {warnings:?}");
    }
    let (batch, _) = feed.next_batch(3 * SECOND).await;
    let seen = batch.containers.iter().find(|c| c.id == workload.id);
    assert!(
        seen.is_some_and(|c| c.net_rx_bytes.is_none() && c.mem_bytes.is_some()),
        "listed with memory, without network: {seen:?}"
    );
    drop(feed);
    blocking(move || drop(blind)).await;

    // The host's /proc mounted and named: figures, no warning (still as nobody, read-only).
    let (seeing, port) = blocking(|| {
        agent_in_a_container(
            "agent-proc",
            &[
                "-v",
                "/proc:/host/proc:ro",
                "-e",
                "DOCKSCOPE_PROC_ROOT=/host/proc",
            ],
        )
    })
    .await;
    let mut feed = Feed::connect(&format!("ws://127.0.0.1:{port}/ws")).await;
    let figures = warnings_or_figures(&mut feed, &workload.id).await;
    assert!(figures.is_ok(), "with the host's /proc: {figures:?}");
    drop(feed);
    blocking(move || drop((seeing, workload))).await;
}
