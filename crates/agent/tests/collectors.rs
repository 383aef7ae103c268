//! Each collector forced with `--collector`, against the real engine: figures agree with
//! `docker stats`, and the event-driven container set follows starts, stops and renames within
//! two seconds. `engine.rs` covers the automatic choice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{
    blocking, collector_feature, connect, docker, host_cgroup_collector, next_batch, parse_size,
    Agent, Container, Feed,
};

const SECOND: Duration = Duration::from_secs(1);

/// The feature each `--collector` value must announce on this host (`cgroup` names the
/// version the host mounts).
fn expected_feature(collector: &str) -> &'static str {
    match collector {
        "docker-api" => "collector:docker-api",
        _ => host_cgroup_collector(),
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

/// Waits until `check` holds for a batch that arrived after `since`, returning how long after
/// `since` it arrived.
async fn until(
    feed: &mut Feed,
    since: Instant,
    what: &str,
    check: impl Fn(&[dockscope_protocol::ContainerStats]) -> bool,
) -> Duration {
    feed.until(6 * SECOND, what, |m, at| match m {
        dockscope_protocol::Message::ContainerStatsBatch(b) if at > since => {
            check(&b.containers).then(|| at - since)
        }
        _ => None,
    })
    .await
}

/// `docker <args>` off the async threads; returns when the command returned.
async fn docker_now(args: &[&str]) -> Instant {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        Instant::now()
    })
    .await
}

/// Start, rename and stop of a container, each visible within two seconds of the `docker`
/// command returning. The client keeps reading while the commands run.
async fn set_follows_events(collector: &str) {
    let label = collector.replace('-', "");
    let agent = Agent::start(&["--collector", collector]);
    let mut feed = Feed::connect(&agent.url()).await;
    feed.next_batch(3 * SECOND).await;

    let fresh =
        blocking(move || Container::run(&format!("{label}-fresh"), &[], &["sleep", "100000"]))
            .await;
    let ran = Instant::now();
    let id = fresh.id.clone();
    let name = fresh.name.clone();
    let took = until(&mut feed, ran, "start", |cs| {
        cs.iter().any(|c| c.id == id && c.name == name)
    })
    .await;
    assert!(took <= 2 * SECOND, "{collector}: appeared after {took:?}");

    let renamed = format!("{}-renamed", fresh.name);
    let since = docker_now(&["rename", &fresh.name, &renamed]).await;
    let took = until(&mut feed, since, "rename", |cs| {
        cs.iter().any(|c| c.id == id && c.name == renamed)
    })
    .await;
    assert!(
        took <= 2 * SECOND,
        "{collector}: rename seen after {took:?}"
    );

    let since = docker_now(&["kill", &renamed]).await;
    let took = until(&mut feed, since, "stop", |cs| {
        !cs.iter().any(|c| c.id == id)
    })
    .await;
    assert!(took <= 2 * SECOND, "{collector}: vanished after {took:?}");
    docker_now(&["rm", "-f", &renamed]).await;
    blocking(move || drop(fresh)).await;
}

#[tokio::test]
async fn cgroup_figures_match_docker_stats() {
    figures_match_docker_stats("cgroup").await;
}

#[tokio::test]
async fn docker_api_figures_match_docker_stats() {
    figures_match_docker_stats("docker-api").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_container_set_follows_events() {
    set_follows_events("cgroup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_api_container_set_follows_events() {
    set_follows_events("docker-api").await;
}
