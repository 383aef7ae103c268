//! Each collector forced with `--collector`, against the real engine: figures agree with
//! `docker stats`, and the event-driven container set follows starts, stops and renames within
//! two seconds. `engine.rs` covers the automatic choice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{collector_feature, connect, docker, next_batch, parse_size, Agent, Container, Ws};

const SECOND: Duration = Duration::from_secs(1);

/// The feature each `--collector` value must announce on this machine (cgroup v1).
fn expected_feature(collector: &str) -> &'static str {
    match collector {
        "docker-api" => "collector:docker-api",
        _ if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() => {
            "collector:cgroup-v2"
        }
        _ => "collector:cgroup-v1",
    }
}

/// A `--cpus 0.2` busy loop reads 20 % ± 5 pp, 64 MiB in /dev/shm within 10 % of
/// `docker stats`, and both carry uptime and the memory limit.
async fn figures_match_docker_stats(collector: &str) {
    let label = collector.replace('-', "");
    let busy = Container::run(
        &format!("{label}-busy"),
        &["--cpus", "0.2", "--shm-size", "128m", "-m", "256m"],
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/x bs=1M count=64 && while :; do :; done",
        ],
    );
    let agent = Agent::start(&["--collector", collector]);
    let mut ws = connect(&agent.url()).await;
    assert_eq!(
        collector_feature(&mut ws).await,
        expected_feature(collector)
    );

    let mut cpu = Vec::new();
    let mut last = None;
    let deadline = Instant::now() + 25 * SECOND;
    while cpu.len() < 5 && Instant::now() < deadline {
        let (batch, _) = next_batch(&mut ws, 3 * SECOND).await;
        let Some(c) = batch.containers.iter().find(|c| c.id == busy.id) else {
            continue;
        };
        // Skip the first seconds: dd is still filling /dev/shm.
        if batch.sequence > Some(4) {
            if let Some(pct) = c.cpu_pct {
                cpu.push(pct);
            }
        }
        last = Some(c.clone());
    }
    assert_eq!(cpu.len(), 5, "{collector}: no CPU figures: {cpu:?}");
    let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
    assert!(
        (mean - 20.0).abs() <= 5.0,
        "{collector}: busy loop under --cpus 0.2 reported at {mean:.2} % ({cpu:?})"
    );

    let last = last.expect("busy container listed");
    assert_eq!(last.name, busy.name);
    assert_eq!(last.mem_limit_bytes, Some(256 * 1_048_576), "{collector}");
    assert!(last.uptime_secs.is_some(), "{collector}: no uptime");
    let ours = last.mem_bytes.expect("memory figure") as f64;
    let theirs = parse_size(&docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}",
        &busy.name,
    ]));
    assert!(
        theirs > 60.0 * 1_048_576.0,
        "docker stats shows {theirs} bytes"
    );
    let diff = (ours - theirs).abs() / theirs;
    assert!(
        diff <= 0.10,
        "{collector}: agent {ours} bytes vs docker stats {theirs} bytes ({:.1} % apart)",
        diff * 100.0
    );
}

/// Waits until `check` holds for a batch, returning how long after `since` it arrived.
async fn until(
    ws: &mut Ws,
    since: Instant,
    what: &str,
    check: impl Fn(&[dockscope_protocol::ContainerStats]) -> bool,
) -> Duration {
    loop {
        let (batch, at) = next_batch(ws, 3 * SECOND).await;
        if check(&batch.containers) {
            return at - since;
        }
        assert!(since.elapsed() < 6 * SECOND, "{what}: not seen in 6 s");
    }
}

/// Start, rename and stop of a container, each visible within two seconds (plus the time
/// `docker run` itself takes for the start).
async fn set_follows_events(collector: &str) {
    let label = collector.replace('-', "");
    let agent = Agent::start(&["--collector", collector]);
    let mut ws = connect(&agent.url()).await;
    next_batch(&mut ws, 3 * SECOND).await;

    let started = Instant::now();
    let fresh = Container::run(&format!("{label}-fresh"), &[], &["sleep", "100000"]);
    let id = fresh.id.clone();
    let name = fresh.name.clone();
    let took = until(&mut ws, started, "start", |cs| {
        cs.iter().any(|c| c.id == id && c.name == name)
    })
    .await;
    assert!(
        took <= 2 * SECOND + Duration::from_millis(500),
        "{collector}: appeared after {took:?}"
    );

    let renamed = format!("{}-renamed", fresh.name);
    let since = Instant::now();
    docker(&["rename", &fresh.name, &renamed]);
    let took = until(&mut ws, since, "rename", |cs| {
        cs.iter().any(|c| c.id == id && c.name == renamed)
    })
    .await;
    assert!(
        took <= 2 * SECOND,
        "{collector}: rename seen after {took:?}"
    );

    let since = Instant::now();
    docker(&["kill", &renamed]);
    let took = until(&mut ws, since, "stop", |cs| !cs.iter().any(|c| c.id == id)).await;
    assert!(took <= 2 * SECOND, "{collector}: vanished after {took:?}");
    docker(&["rm", "-f", &renamed]);
}

#[tokio::test]
async fn cgroup_figures_match_docker_stats() {
    figures_match_docker_stats("cgroup").await;
}

#[tokio::test]
async fn docker_api_figures_match_docker_stats() {
    figures_match_docker_stats("docker-api").await;
}

#[tokio::test]
async fn cgroup_container_set_follows_events() {
    set_follows_events("cgroup").await;
}

#[tokio::test]
async fn docker_api_container_set_follows_events() {
    set_follows_events("docker-api").await;
}
