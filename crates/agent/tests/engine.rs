//! The agent against a real Docker engine and real containers (scratch busybox image).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{
    blocking, connect, docker, host_cgroup_collector, next_batch, next_message, parse_size, Agent,
    Container, Feed,
};
use dockscope_protocol::Message;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn busy_loop_under_cpus_0_2_is_reported_at_20_percent() {
    let busy = Container::run(
        "busy",
        &["--cpus", "0.2"],
        &["sh", "-c", "while :; do :; done"],
    );
    let agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    // Let the stream settle (first reading has no CPU figure), then average five batches.
    let mut figures = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while figures.len() < 5 && Instant::now() < deadline {
        let (batch, _) = next_batch(&mut ws, 3 * SECOND).await;
        if let Some(cpu) = batch
            .containers
            .iter()
            .find(|c| c.id == busy.id)
            .and_then(|c| c.cpu_pct)
        {
            if batch.sequence > Some(4) {
                figures.push(cpu);
            }
        }
    }
    assert_eq!(
        figures.len(),
        5,
        "no CPU figures for the busy container: {figures:?}"
    );
    let mean = figures.iter().sum::<f64>() / figures.len() as f64;
    assert!(
        (mean - 20.0).abs() <= 5.0,
        "busy loop under --cpus 0.2 reported at {mean:.2} % ({figures:?})"
    );
}

#[tokio::test]
async fn memory_matches_docker_stats_within_ten_percent() {
    let holder = Container::run(
        "shm",
        &["--shm-size", "128m"],
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/x bs=1M count=64 && sleep 100000",
        ],
    );
    std::thread::sleep(2 * SECOND);
    let agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    let mut ours = None;
    for _ in 0..6 {
        let (batch, _) = next_batch(&mut ws, 3 * SECOND).await;
        ours = batch
            .containers
            .iter()
            .find(|c| c.id == holder.id)
            .and_then(|c| c.mem_bytes);
        if ours.is_some() {
            break;
        }
    }
    let ours = ours.expect("memory figure for the shm container") as f64;
    let theirs = parse_size(&docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}",
        &holder.name,
    ]));
    assert!(
        theirs > 60.0 * 1_048_576.0,
        "docker stats shows {theirs} bytes: shm not filled?"
    );
    let diff = (ours - theirs).abs() / theirs;
    assert!(
        diff <= 0.10,
        "agent {ours} bytes vs docker stats {theirs} bytes ({:.1} % apart)",
        diff * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_appear_and_vanish_within_two_seconds() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    feed.next_batch(3 * SECOND).await;

    // `docker run` itself counts: on a busy machine it alone can take seconds, so the limit
    // is measured from when it returned, plus the 2 s claim.
    let started = Instant::now();
    let fresh = blocking(|| Container::run("fresh", &[], &["sleep", "100000"])).await;
    let ran = Instant::now();
    let (id, name) = (fresh.id.clone(), fresh.name.clone());
    let appeared = feed
        .until(
            ran - started + 5 * SECOND,
            "the new container",
            |m, at| match m {
                Message::ContainerStatsBatch(b) => {
                    let c = b.containers.iter().find(|c| c.id == id)?;
                    assert_eq!(c.name, name);
                    Some(at.saturating_duration_since(ran))
                }
                _ => None,
            },
        )
        .await;
    assert!(
        appeared <= 2 * SECOND,
        "appeared {appeared:?} after docker run returned ({:?} including it)",
        ran - started + appeared
    );

    let target = fresh.name.clone();
    let stopped = blocking(move || {
        docker(&["kill", &target]);
        Instant::now()
    })
    .await;
    let id = fresh.id.clone();
    let vanished = feed
        .until(
            5 * SECOND,
            "the killed container to vanish",
            |m, at| match m {
                Message::ContainerStatsBatch(b) if at > stopped => {
                    (!b.containers.iter().any(|c| c.id == id)).then(|| at - stopped)
                }
                _ => None,
            },
        )
        .await;
    assert!(vanished <= 2 * SECOND, "vanished only after {vanished:?}");
    blocking(move || drop(fresh)).await;
}

#[tokio::test]
async fn batches_arrive_every_second_and_sequence_increases() {
    let _idle = Container::run("cadence", &[], &["sleep", "100000"]);
    let agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    // On connect: the latest batch and an agent_status at once.
    let connected = Instant::now();
    let mut kinds = Vec::new();
    for _ in 0..2 {
        kinds.push(match next_message(&mut ws, SECOND).await {
            Message::ContainerStatsBatch(_) => "batch",
            Message::AgentStatus(s) => {
                assert_eq!(s.agent_id, "it-agent");
                // Left to choose, on a host with a cgroup hierarchy holding the engine's
                // containers, the agent reads cgroup files of the version the host has.
                assert!(
                    s.features.iter().any(|f| f == host_cgroup_collector()),
                    "agent_status names the {} collector: {:?}",
                    host_cgroup_collector(),
                    s.features
                );
                "status"
            }
            Message::Unknown => "unknown",
        });
    }
    assert!(
        connected.elapsed() < Duration::from_millis(500),
        "first messages took {:?}",
        connected.elapsed()
    );
    assert!(kinds.contains(&"status"), "{kinds:?}");

    let mut arrivals = Vec::new();
    let mut sequences = Vec::new();
    for _ in 0..11 {
        let (batch, at) = next_batch(&mut ws, 3 * SECOND).await;
        arrivals.push(at);
        sequences.push(batch.sequence);
    }
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    for gap in &gaps {
        assert!(
            (850..=1150).contains(gap),
            "batch interval {gap} ms outside 1 s ± 150 ms: {gaps:?}"
        );
    }
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}

#[tokio::test]
async fn healthz_reports_engine_and_version() {
    let agent = Agent::start(&[]);
    let body = tokio::time::timeout(5 * SECOND, async {
        loop {
            let out = std::process::Command::new("curl")
                .args(["-s", &format!("http://127.0.0.1:{}/healthz", agent.port)])
                .output()
                .expect("curl runs");
            let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if body["engine_reachable"] == true {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("engine reachable within 5 s");
    assert_eq!(
        body["version"].as_str(),
        Some(concat!(
            "v",
            env!("CARGO_PKG_VERSION_MAJOR"),
            ".",
            env!("CARGO_PKG_VERSION_MINOR"),
            ".",
            env!("CARGO_PKG_VERSION_PATCH")
        )),
        "{body}"
    );
    assert!(body["last_docker_poll"].is_string(), "{body}");
    assert!(
        body["engine_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{body}"
    );
}
