//! The agent against a real Docker engine and real containers (scratch busybox image).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{connect, host_cgroup_collector, next_message, truth, Agent, Container, Feed};
use dockscope_protocol::Message;

const SECOND: Duration = Duration::from_secs(1);

// The truth checks live in `common::truth`; `crowded_host.rs` runs the same ones beside
// hundreds of other containers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_loop_under_cpus_0_2_is_reported_at_20_percent() {
    let agent = Agent::start(&[]);
    truth::busy_loop_under_cpus_0_2_is_20_percent(&agent.url(), "busy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_matches_docker_stats_within_ten_percent() {
    let agent = Agent::start(&[]);
    truth::shm_memory_matches_docker_stats(&agent.url(), "shm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pids_match_docker_stats_from_cgroup_files_and_the_api() {
    for collector in ["cgroup", "docker-api"] {
        let agent = Agent::start(&["--collector", collector]);
        truth::pids_and_their_limit_match_docker_stats(&agent.url(), &format!("pids-{collector}"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_appear_and_vanish_within_two_seconds() {
    let agent = Agent::start(&[]);
    truth::containers_appear_and_vanish_within_two_seconds(&agent.url(), "fresh").await;
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
            _ => "other",
        });
    }
    assert!(
        connected.elapsed() < Duration::from_millis(500),
        "first messages took {:?}",
        connected.elapsed()
    );
    assert!(kinds.contains(&"status"), "{kinds:?}");

    truth::batches_arrive_every_second(&mut Feed::spawn(ws)).await;
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
