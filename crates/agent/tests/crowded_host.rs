//! The truth checks of `engine.rs`, run again on a crowded host: 500 real containers beside
//! the ones under test (issue "Hardening", point 2: batches of any size, and 500 real
//! containers still pass the truth tests).
//!
//! The crowd is `sleep` in the scratch busybox image, without a network (`--network none`
//! starts faster and leaves the shared bridge alone) or a log driver, labelled with this
//! process's id and removed by a guard, also when a check fails. Starting 500 takes about two
//! minutes here (`docker run` in 8 parallel threads); `DOCKSCOPE_CROWD=N` picks another size.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{blocking, docker, truth, Agent, Feed, IMAGE};

/// Containers in the crowd unless `DOCKSCOPE_CROWD` says otherwise.
const DEFAULT_CROWD: usize = 500;
/// `docker run`s in flight at once while the crowd starts.
const STARTERS: usize = 8;

/// The crowd; every member is removed when dropped.
struct Crowd {
    /// The label value all members carry.
    label: String,
    /// Their full ids, in no particular order.
    ids: Vec<String>,
}

impl Crowd {
    fn start(size: usize) -> Self {
        let label = format!("dockscope-crowd={}", std::process::id());
        let next = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..STARTERS)
            .map(|_| {
                let (next, label) = (next.clone(), label.clone());
                std::thread::spawn(move || {
                    let mut ids = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < size {
                        ids.push(docker(&[
                            "run",
                            "-d",
                            "--network",
                            "none",
                            "--log-driver",
                            "none",
                            "--label",
                            &label,
                            IMAGE,
                            "sleep",
                            "100000",
                        ]));
                    }
                    ids
                })
            })
            .collect();
        // Collect every id first so the guard can remove whatever did start if one failed.
        let mut crowd = Crowd {
            label,
            ids: Vec::new(),
        };
        let mut failure = None;
        for worker in workers {
            match worker.join() {
                Ok(ids) => crowd.ids.extend(ids),
                Err(panic) => failure = Some(panic),
            }
        }
        if let Some(panic) = failure {
            std::panic::resume_unwind(panic);
        }
        crowd
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        let listed = common::docker_command()
            .args([
                "ps",
                "-aq",
                "--no-trunc",
                "--filter",
                &format!("label={}", self.label),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = listed.split_whitespace().collect();
        for chunk in ids.chunks(100) {
            let _ = common::docker_command()
                .args(["rm", "-f"])
                .args(chunk)
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truth_holds_beside_500_containers() {
    let size = std::env::var("DOCKSCOPE_CROWD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CROWD);
    let started = Instant::now();
    let crowd = blocking(move || Crowd::start(size)).await;
    eprintln!("crowd of {size} started in {:.1?}", started.elapsed());

    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;

    // Every member is listed, with figures, in one batch, within a few seconds of the start.
    let crowd_ids: HashSet<&str> = crowd.ids.iter().map(String::as_str).collect();
    let seen = feed
        .until(
            Duration::from_secs(15),
            "every crowd container with memory",
            |m, _| {
                let dockscope_protocol::Message::ContainerStatsBatch(b) = m else {
                    return None;
                };
                let with_memory = b
                    .containers
                    .iter()
                    .filter(|c| crowd_ids.contains(c.id.as_str()) && c.mem_bytes.is_some())
                    .count();
                (with_memory == crowd_ids.len()).then_some(b.containers.len())
            },
        )
        .await;
    assert!(
        seen >= size,
        "batch lists {seen} containers, crowd is {size}"
    );

    // Same cadence as on a quiet host, and still the whole crowd in the last batch.
    let last = truth::batches_arrive_every_second(&mut feed).await;
    let listed = last
        .containers
        .iter()
        .filter(|c| crowd_ids.contains(c.id.as_str()))
        .count();
    assert_eq!(
        listed, size,
        "the last of eleven batches lost crowd members"
    );
    assert!(
        last.containers
            .iter()
            .filter(|c| crowd_ids.contains(c.id.as_str()))
            .all(|c| c.cpu_pct.is_some()),
        "a crowd container has no CPU figure after eleven seconds"
    );
    drop(feed);

    // The figures of the containers under test are as true as on a quiet host.
    let url = agent.url();
    truth::busy_loop_under_cpus_0_2_is_20_percent(&url, "crowd-busy").await;
    truth::shm_memory_matches_docker_stats(&url, "crowd-shm").await;
    truth::containers_appear_and_vanish_within_two_seconds(&url, "crowd-fresh").await;
    truth::pids_and_their_limit_match_docker_stats(&url, "crowd-pids").await;

    let removing = Instant::now();
    blocking(move || drop(crowd)).await;
    eprintln!("crowd removed in {:.1?}", removing.elapsed());
}
