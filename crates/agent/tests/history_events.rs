//! Contract 6 against the real engine: history on connect (and `?since=`), container events
//! as they happen (stop, OOM kill, a failing health check) and replayed to a later client,
//! containers that died staying in `exited` (removed ones too) for `--keep-exited`, and a slow
//! client's big history never delaying another client's batches.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{blocking, docker, Agent, Container, Feed, IMAGE};
use dockscope_protocol::{ContainerEvent, EventAction, Health, History, Message};

const SECOND: Duration = Duration::from_secs(1);

/// Messages until a `history` chunk with `last`, and the first live batch after it: (the
/// chunks, every message in order, when the last chunk arrived).
async fn history_then_live(feed: &mut Feed) -> (Vec<History>, Vec<Message>, Instant) {
    let mut chunks = Vec::new();
    let mut all = Vec::new();
    let mut last_at = None;
    loop {
        let (message, at) = feed.next(20 * SECOND).await;
        all.push(message.clone());
        match message {
            Message::History(chunk) => {
                let last = chunk.last;
                chunks.push(chunk);
                if last {
                    last_at = Some(at);
                }
            }
            Message::ContainerStatsBatch(_) if last_at.is_some() => {
                return (chunks, all, last_at.unwrap())
            }
            _ => {}
        }
    }
}

/// The agent's events until one of `id` with `action` (and `check`), each with its arrival.
async fn event(
    feed: &mut Feed,
    id: &str,
    action: EventAction,
    within: Duration,
    check: impl Fn(&ContainerEvent) -> bool,
) -> (ContainerEvent, Instant) {
    let what = format!("{action:?} event of {id}");
    feed.until(within, &what, |m, at| match m {
        Message::ContainerEvent(e) if e.id == id && e.action == action && check(e) => {
            Some((e.clone(), at))
        }
        _ => None,
    })
    .await
}

/// How long after the engine says it happened an event reached the client.
fn latency(event: &ContainerEvent, arrived: Instant) -> Duration {
    let ago = (Utc::now() - event.time).to_std().unwrap_or_default();
    ago.saturating_sub(arrived.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_client_gets_the_history_then_live_batches_and_since_cuts_it() {
    let idle = Container::run("history", &[], &["sleep", "100000"]);
    let agent = Agent::start(&[]);
    // Let it sample a while with nobody connected.
    let sampled = Instant::now();
    tokio::time::sleep(8 * SECOND).await;
    let mut feed = Feed::connect(&agent.url()).await;
    let (chunks, all, _) = history_then_live(&mut feed).await;
    // Latest batch and status first (as before contract 6), then the history, then live.
    assert!(
        matches!(all[0], Message::ContainerStatsBatch(_))
            && matches!(all[1], Message::AgentStatus(_)),
        "{:?}",
        &all[..2]
    );
    let sequences: Vec<u64> = all.iter().filter_map(Message::sequence).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    let axis = &chunks[0].times_ms;
    assert!(
        chunks.iter().all(|c| &c.times_ms == axis),
        "one axis in every chunk"
    );
    assert!(chunks[0].host.is_some(), "the first chunk carries the host");
    assert!(chunks.iter().skip(1).all(|c| c.host.is_none()));
    let span_ms = axis.last().unwrap() - axis.first().unwrap();
    let waited = sampled.elapsed().as_millis() as i64;
    assert!(
        axis.len() >= 6 && span_ms >= 5_000 && span_ms <= waited + 2_000,
        "{} points over {span_ms} ms after {waited} ms",
        axis.len()
    );
    let series = chunks
        .iter()
        .flat_map(|c| &c.containers)
        .find(|c| c.id == idle.id)
        .expect("the running container has a history");
    assert_eq!(series.name, idle.name);
    assert_eq!(series.mem_bytes.len(), axis.len());
    assert!(
        series
            .mem_bytes
            .iter()
            .filter(|m| m.is_some_and(|m| m > 0))
            .count()
            >= axis.len() - 2,
        "{:?}",
        series.mem_bytes
    );
    assert!(series
        .cpu_pct
        .iter()
        .flatten()
        .all(|c| (0.0..5.0).contains(c)));

    // A client that has all but the last two points asks only for what is newer.
    let since = axis[axis.len() - 3];
    let url = format!("{}?since={since}", agent.url());
    let mut again = Feed::connect(&url).await;
    let (newer, _, _) = history_then_live(&mut again).await;
    let times = &newer[0].times_ms;
    assert!(times.iter().all(|&t| t > since), "{times:?} after {since}");
    assert!((2..=5).contains(&times.len()), "{times:?}");
    assert_eq!(&times[..2], &axis[axis.len() - 2..]);
    // An unreadable since is ignored: everything.
    let url = format!("{}?since=yesterday", agent.url());
    let mut all_again = Feed::connect(&url).await;
    let (everything, _, _) = history_then_live(&mut all_again).await;
    assert!(everything[0].times_ms.len() >= axis.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_oom_and_a_failing_health_check_arrive_within_two_seconds_and_are_replayed() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    feed.next_batch(10 * SECOND).await;

    // docker stop: SIGTERM (sleep as PID 1 ignores it), SIGKILL after 1 s, die, stop.
    let stopped = blocking(|| Container::run("ev-stop", &[], &["sleep", "100000"])).await;
    let id = stopped.id.clone();
    let (start, _) = event(&mut feed, &id, EventAction::Start, 15 * SECOND, |_| true).await;
    let name = stopped.name.clone();
    blocking(move || docker(&["stop", "-t", "1", &name])).await;
    let (kill, at) = event(&mut feed, &id, EventAction::Kill, 10 * SECOND, |_| true).await;
    assert_eq!(kill.signal, Some(15), "{kill:?}");
    assert!(
        latency(&kill, at) < 2 * SECOND,
        "kill took {:?}",
        latency(&kill, at)
    );
    let (die, at) = event(&mut feed, &id, EventAction::Die, 10 * SECOND, |_| true).await;
    assert!(matches!(die.exit_code, Some(137 | 143)), "{die:?}");
    assert_eq!(die.oom_killed, Some(false));
    assert_eq!(die.name, stopped.name);
    assert_eq!(die.image.as_deref(), Some(IMAGE));
    assert!(
        latency(&die, at) < 2 * SECOND,
        "die took {:?}",
        latency(&die, at)
    );
    let (stop, at) = event(&mut feed, &id, EventAction::Stop, 10 * SECOND, |_| true).await;
    assert!(
        latency(&stop, at) < 2 * SECOND,
        "stop took {:?}",
        latency(&stop, at)
    );
    assert!(start.event_id < kill.event_id && kill.event_id < die.event_id);

    // Killed by its memory limit: oom, then die 137 marked OOM killed; its exited entry too.
    let oom = blocking(|| {
        Container::run(
            "ev-oom",
            &["--memory", "16m", "--memory-swap", "16m"],
            &["sh", "-c", "sleep 1; tail /dev/zero"],
        )
    })
    .await;
    let (oom_event, at) = event(&mut feed, &oom.id, EventAction::Oom, 30 * SECOND, |_| true).await;
    assert!(
        latency(&oom_event, at) < 2 * SECOND,
        "oom took {:?}",
        latency(&oom_event, at)
    );
    let (die, at) = event(&mut feed, &oom.id, EventAction::Die, 10 * SECOND, |_| true).await;
    assert_eq!(
        (die.exit_code, die.oom_killed),
        (Some(137), Some(true)),
        "{die:?}"
    );
    assert!(
        latency(&die, at) < 2 * SECOND,
        "die took {:?}",
        latency(&die, at)
    );
    let oom_id = oom.id.clone();
    let entry = feed
        .until(
            10 * SECOND,
            "the OOM-killed container in exited",
            |m, _| match m {
                Message::ContainerStatsBatch(b) => {
                    b.exited.iter().find(|e| e.id == oom_id).cloned()
                }
                _ => None,
            },
        )
        .await;
    assert_eq!((entry.exit_code, entry.oom_killed), (Some(137), Some(true)));
    assert!(entry
        .finished_at
        .is_some_and(|f| (f - die.time).num_seconds().abs() <= 2));

    // A health check that starts failing.
    let checked = blocking(|| {
        Container::run(
            "ev-health",
            &[
                "--health-cmd",
                "test -f /tmp/ok",
                "--health-interval",
                "1s",
                "--health-retries",
                "1",
            ],
            &[
                "sh",
                "-c",
                "mkdir -p /tmp && touch /tmp/ok && exec sleep 100000",
            ],
        )
    })
    .await;
    let healthy = |e: &ContainerEvent| e.health == Some(Health::Healthy);
    event(
        &mut feed,
        &checked.id,
        EventAction::HealthStatus,
        30 * SECOND,
        healthy,
    )
    .await;
    let name = checked.name.clone();
    blocking(move || docker(&["exec", &name, "rm", "/tmp/ok"])).await;
    let unhealthy = |e: &ContainerEvent| e.health == Some(Health::Unhealthy);
    let (sick, at) = event(
        &mut feed,
        &checked.id,
        EventAction::HealthStatus,
        30 * SECOND,
        unhealthy,
    )
    .await;
    assert!(
        latency(&sick, at) < 2 * SECOND,
        "health took {:?}",
        latency(&sick, at)
    );

    // A client connecting now gets the same events, same ids, oldest first, after the
    // history and before the live stream; exec events are never forwarded.
    let mut later = Feed::connect(&agent.url()).await;
    let mut replayed = Vec::new();
    let mut history_done = false;
    loop {
        match later.next(10 * SECOND).await.0 {
            Message::ContainerEvent(e) => {
                assert!(
                    history_done,
                    "an event of the log came before the history's end"
                );
                replayed.push(e);
            }
            Message::History(h) if h.last => history_done = true,
            // The first live batch after the log (the one before the history is the latest).
            Message::ContainerStatsBatch(_) if history_done => break,
            _ => {}
        }
    }
    let ids: Vec<u64> = replayed.iter().map(|e| e.event_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for wanted in [&kill, &die, &sick] {
        let again = replayed
            .iter()
            .find(|e| e.event_id == wanted.event_id)
            .unwrap_or_else(|| panic!("event {} not replayed: {ids:?}", wanted.event_id));
        assert_eq!(
            (&again.id, again.action, again.time),
            (&wanted.id, wanted.action, wanted.time)
        );
    }
    assert!(replayed.iter().all(|e| e.action != EventAction::Unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_container_that_died_stays_in_exited_for_keep_exited() {
    let agent = Agent::start(&["--keep-exited", "3s"]);
    let mut feed = Feed::connect(&agent.url()).await;
    feed.next_batch(10 * SECOND).await;
    let name = format!("ds-it-{}-rm", std::process::id());
    let run_name = name.clone();
    let id = blocking(move || {
        docker(&[
            "run",
            "-d",
            "--rm",
            "--name",
            &run_name,
            IMAGE,
            "sh",
            "-c",
            "sleep 1; exit 3",
        ])
    })
    .await;
    let listed = feed
        .until(
            20 * SECOND,
            "the --rm container in exited, removed",
            |m, _| match m {
                Message::ContainerStatsBatch(b) => b
                    .exited
                    .iter()
                    .find(|e| e.id == id && e.removed == Some(true))
                    .map(|e| (e.clone(), b.sent_at)),
                _ => None,
            },
        )
        .await;
    let (entry, _) = listed;
    assert_eq!(entry.name, name);
    assert_eq!(entry.exit_code, Some(3));
    assert_eq!(entry.image.as_deref(), Some(IMAGE));
    let finished = entry.finished_at.expect("time of death");
    let gone_at = feed
        .until(
            15 * SECOND,
            "the --rm container leaving exited",
            |m, _| match m {
                Message::ContainerStatsBatch(b) if !b.exited.iter().any(|e| e.id == id) => {
                    Some(b.sent_at)
                }
                _ => None,
            },
        )
        .await;
    let after = (gone_at - finished).to_std().unwrap_or_default();
    assert!(
        (Duration::from_millis(2_500)..Duration::from_secs(6)).contains(&after),
        "left {after:?} after it finished (keep 3 s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_with_a_big_history_does_not_delay_another_clients_batches() {
    // 1,000 synthetic containers × 20 s of history: each new client is sent ~2 MB of history.
    let agent = Agent::start(&["--synthetic-containers", "1000"]);
    tokio::time::sleep(20 * SECOND).await;
    let mut fast = Feed::connect(&agent.url()).await;
    history_then_live(&mut fast).await;
    // Clients that connect and never read: their history stalls in their own sockets.
    let mut slow = Vec::new();
    for _ in 0..5 {
        let (ws, _) = tokio_tungstenite::connect_async(agent.url()).await.unwrap();
        slow.push(ws);
    }
    let mut arrivals = Vec::new();
    let until = Instant::now() + 12 * SECOND;
    while Instant::now() < until {
        let (_, at) = fast.next_batch(5 * SECOND).await;
        arrivals.push(at);
    }
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert!(
        arrivals.len() >= 10,
        "{} batches in 12 s: {gaps:?}",
        arrivals.len()
    );
    assert!(
        gaps.iter().all(|&g| g < 2_000),
        "gaps between batches (ms): {gaps:?}"
    );
    drop(slow);
}
