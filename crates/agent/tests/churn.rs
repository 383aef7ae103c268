//! Container churn: containers created and destroyed as fast as asked (target 20 per second)
//! while the agent samples. No crash, no stale containers in batches afterwards, no memory
//! growth once churn stops.
//!
//! CI runs 15 s of churn; `DOCKSCOPE_FULL_FAULTS=1` runs the full 60 s. The rate the engine
//! actually reaches on the machine is printed (on 2 cores, Docker 20.10 manages far fewer
//! than 20 starts per second).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use bollard::Docker;
use common::{connect, next_batch, Agent, IMAGE};

const TARGET_PER_SECOND: u64 = 20;
/// Containers alive at once at most; more starts queue up instead of swamping the engine.
const IN_FLIGHT: usize = 24;

async fn churn_one(docker: Docker, name: String) -> bool {
    let create = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(IMAGE.to_owned()),
        cmd: Some(vec!["sleep".into(), "100000".into()]),
        ..Default::default()
    };
    let ok = docker.create_container(Some(create), body).await.is_ok()
        && docker.start_container(&name, None).await.is_ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let remove = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    let _ = docker.remove_container(&name, Some(remove)).await;
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_no_stale_containers_and_no_growth() {
    let full = std::env::var_os("DOCKSCOPE_FULL_FAULTS").is_some();
    let churn_for = Duration::from_secs(if full { 60 } else { 15 });
    let docker = Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let mut agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    next_batch(&mut ws, Duration::from_secs(3)).await;
    // A live client reads throughout the churn and counts batches.
    let batches = Arc::new(AtomicUsize::new(0));
    let counter = batches.clone();
    let reader = tokio::spawn(async move {
        loop {
            next_batch(&mut ws, Duration::from_secs(5)).await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let prefix = format!("ds-churn-{}-", std::process::id());

    let started = Arc::new(AtomicUsize::new(0));
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / TARGET_PER_SECOND));
    let begin = Instant::now();
    let mut n = 0;
    while begin.elapsed() < churn_for {
        tick.tick().await;
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (docker, name, started) = (docker.clone(), format!("{prefix}{n}"), started.clone());
        n += 1;
        tasks.push(tokio::spawn(async move {
            if churn_one(docker, name).await {
                started.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let count = started.load(Ordering::Relaxed);
    eprintln!(
        "churn: {count} containers started and removed in {elapsed:.1} s = {:.1}/s (target {TARGET_PER_SECOND}/s)",
        count as f64 / elapsed
    );
    assert!(count > 0, "the engine started no containers");
    assert!(agent.alive(), "agent died during churn");
    assert!(
        !reader.is_finished(),
        "the live client lost its stream during churn"
    );
    reader.abort();
    let delivered = batches.load(Ordering::Relaxed) as f64;
    assert!(
        delivered >= elapsed - 2.0,
        "only {delivered} batches in {elapsed:.1} s of churn"
    );

    // Within 3 s of the last removal no churn container is left in the batch.
    let mut ws = connect(&agent.url()).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let stale = loop {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        let stale: Vec<String> = batch
            .containers
            .iter()
            .filter(|c| c.name.starts_with(&prefix))
            .map(|c| c.name.clone())
            .collect();
        if stale.is_empty() || Instant::now() > deadline {
            break stale;
        }
    };
    assert!(stale.is_empty(), "stale containers after churn: {stale:?}");

    // Memory settles: no growth over 15 s after churn stops.
    let after_churn = agent.rss_bytes();
    let mut last = after_churn;
    for _ in 0..15 {
        next_batch(&mut ws, Duration::from_secs(3)).await;
        last = agent.rss_bytes();
    }
    eprintln!(
        "RSS after churn {} KiB, 15 s later {} KiB",
        after_churn / 1024,
        last / 1024
    );
    assert!(
        last <= after_churn + 2 * 1024 * 1024,
        "RSS grew from {after_churn} to {last} after churn stopped"
    );
}
