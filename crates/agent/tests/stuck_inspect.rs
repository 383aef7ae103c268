//! One container whose inspect never answers must not blind the agent to the others. A real
//! engine does this while it holds a container's lock (starting, stopping or removing it) and
//! when it is busy with hundreds of containers; the fake engine does it on demand. Before, one
//! timed-out inspect ended the whole engine session: the agent listed nothing, reconnected,
//! inspected everything again and timed out again, for as long as the lock was held.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_engine::{inspect_running, listed, not_found, stats, FakeEngine};
use common::{connect, next_batch};

const STEADY: &str = "5eadd5eadd5eadd5eadd5eadd5eadd5eadd5eadd5eadd5eadd5eadd5eadd5ead";
const STUCK: &str = "57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc57cc";

#[tokio::test]
async fn a_container_whose_inspect_hangs_leaves_the_others_listed_and_joins_when_it_answers() {
    let (release, released) = tokio::sync::watch::channel(false);
    let polls = Arc::new(AtomicU64::new(0));
    let engine = FakeEngine::start("stuck", move |path, _query| {
        let (mut released, polls) = (released.clone(), polls.clone());
        async move {
            match path.as_str() {
                "/containers/json" => listed(&[(STEADY, "steady"), (STUCK, "stuck")]),
                p if p == format!("/containers/{STEADY}/json") => inspect_running(STEADY, "steady"),
                p if p == format!("/containers/{STUCK}/json") => {
                    // The engine holds this container's lock until the test lets go.
                    let _ = released.wait_for(|r| *r).await;
                    inspect_running(STUCK, "stuck")
                }
                p if p.ends_with("/stats") => stats(polls.fetch_add(1, Ordering::Relaxed) + 1),
                _ => not_found(&path),
            }
        }
    });
    let agent = engine.agent();
    let mut ws = connect(&agent.url()).await;
    let names = |batch: &dockscope_protocol::ContainerStatsBatch| -> Vec<String> {
        batch.containers.iter().map(|c| c.name.clone()).collect()
    };

    // The steady one is listed once the stuck inspect has timed out (the agent's 5 s call
    // timeout), and then in every batch for 12 s, through several retries of the stuck inspect.
    let start = Instant::now();
    loop {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        if names(&batch).contains(&"steady".to_owned()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "steady not listed within 8 s while stuck's inspect hangs"
        );
    }
    let listed_from = Instant::now();
    while listed_from.elapsed() < Duration::from_secs(12) {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        assert_eq!(
            names(&batch),
            vec!["steady".to_owned()],
            "{:.1?} after steady was first listed, while stuck's inspect hangs",
            listed_from.elapsed()
        );
    }

    // The lock is released: the next retry lists it.
    release.send(true).unwrap();
    let released_at = Instant::now();
    loop {
        let (batch, _) = next_batch(&mut ws, Duration::from_secs(3)).await;
        let mut listed = names(&batch);
        listed.sort();
        if listed == ["steady", "stuck"] {
            break;
        }
        assert!(
            released_at.elapsed() < Duration::from_secs(5),
            "stuck not listed within 5 s of its inspect answering: {listed:?}"
        );
    }
    let text = engine.log();
    assert!(
        text.contains("containers left out") && !text.contains("docker engine unreachable"),
        "the agent logs the left-out container and never calls the engine unreachable:\n{text}"
    );
    drop(agent);
}
