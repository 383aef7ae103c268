//! What the agent reports about a container's life against `docker inspect` of the same
//! container at the same moment: health while it flips, pause, `docker update --cpus`, compose
//! labels, restarts under `--restart on-failure` (listed throughout, never flickering away), an
//! OOM-killed container in `exited` (also once removed), and the health log a client asks for.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;
mod life;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{blocking, connect, docker, Agent, Feed, Ws};
use dockscope_protocol::{
    ClientMessage, ContainerHealth, ContainerState, ContainerStats, ContainerStatsBatch, Health,
    Message,
};
use futures_util::SinkExt;
use life::Life;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECOND: Duration = Duration::from_secs(1);

/// `State.Health.Status` as the protocol spells it (`None` for none).
fn health(text: &str) -> Option<Health> {
    match text.trim() {
        "starting" => Some(Health::Starting),
        "healthy" => Some(Health::Healthy),
        "unhealthy" => Some(Health::Unhealthy),
        _ => None,
    }
}

/// The entry for `id` in `batch`.
fn find<'a>(batch: &'a ContainerStatsBatch, id: &str) -> Option<&'a ContainerStats> {
    batch.containers.iter().find(|c| c.id == id)
}

/// Waits (up to `within`) until `docker inspect -f format` prints `want`.
async fn inspect_until(container: &Life, format: &'static str, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (name, format) = (container.name.clone(), format);
        let got = blocking(move || docker(&["inspect", "-f", format, &name])).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{format} of {} is {got:?}, not {want:?}, after {within:?}",
            container.name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The first of the next `batches` batches sent from now on whose entry for `id` passes
/// `check` (batches queued before now are skipped: they predate what the test just saw).
async fn entry_where(
    feed: &mut Feed,
    id: &str,
    batches: usize,
    what: &str,
    check: impl Fn(&ContainerStats) -> bool,
) -> ContainerStats {
    let since = Instant::now();
    let mut last = None;
    let mut seen = 0;
    while seen < batches {
        let (batch, at) = feed.next_batch(3 * SECOND).await;
        if at <= since {
            continue;
        }
        seen += 1;
        if let Some(c) = find(&batch, id) {
            if check(c) {
                return c.clone();
            }
            last = Some(c.clone());
        }
    }
    panic!("{what}: not within {batches} batches; last entry {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_pause_cpu_limit_and_compose_labels_follow_docker_inspect() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    let checked = blocking(|| {
        Life::run(
            "health",
            &[
                "--health-cmd",
                "test -f /tmp/ok",
                "--health-interval",
                "1s",
                "--health-retries",
                "1",
                "--label",
                "com.docker.compose.project=shop",
                "--label",
                "com.docker.compose.service=api",
                "--cpuset-cpus",
                "0",
            ],
            &[
                "sh",
                "-c",
                "mkdir -p /tmp && touch /tmp/ok && exec sleep 100000",
            ],
        )
    })
    .await;

    // Healthy, unhealthy, healthy again: each time docker inspect says so, so does the agent.
    for (flip, want) in [
        (None, "healthy"),
        (Some("rm -f /tmp/ok"), "unhealthy"),
        (Some("touch /tmp/ok"), "healthy"),
    ] {
        if let Some(command) = flip {
            let name = checked.name.clone();
            blocking(move || docker(&["exec", &name, "sh", "-c", command])).await;
        }
        inspect_until(&checked, "{{.State.Health.Status}}", want, 15 * SECOND).await;
        let c = entry_where(&mut feed, &checked.id, 4, want, |c| {
            c.health == health(want)
        })
        .await;
        assert_eq!(c.state, Some(ContainerState::Running));
    }
    let c = entry_where(&mut feed, &checked.id, 2, "labels", |_| true).await;
    assert_eq!(c.compose_project.as_deref(), Some("shop"));
    assert_eq!(c.compose_service.as_deref(), Some("api"));
    assert_eq!(c.cpu_limit_cores, Some(1.0), "--cpuset-cpus 0 is one CPU");
    assert_eq!(
        (c.restart_count, c.exit_code, c.oom_killed),
        (Some(0), Some(0), Some(false))
    );

    // docker update --cpus 0.5: a quota now, over the cpuset.
    let name = checked.name.clone();
    blocking(move || docker(&["update", "--cpus", "0.5", &name])).await;
    assert_eq!(checked.inspect("{{.HostConfig.NanoCpus}}"), "500000000");
    entry_where(&mut feed, &checked.id, 4, "--cpus 0.5", |c| {
        c.cpu_limit_cores == Some(0.5)
    })
    .await;

    // Paused and back, as inspect says.
    for (command, want, state) in [
        ("pause", "paused", ContainerState::Paused),
        ("unpause", "running", ContainerState::Running),
    ] {
        let name = checked.name.clone();
        blocking(move || docker(&[command, &name])).await;
        assert_eq!(checked.inspect("{{.State.Status}}"), want);
        entry_where(&mut feed, &checked.id, 4, want, |c| c.state == Some(state)).await;
    }
    blocking(move || drop(checked)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_are_counted_as_docker_inspect_and_never_drop_the_container() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    let failing = blocking(|| {
        Life::run(
            "restarts",
            &["--restart", "on-failure"],
            &["sh", "-c", "sleep 1; exit 3"],
        )
    })
    .await;
    // From its first batch on, the container is in every batch, running or restarting, until
    // it has been restarted three times.
    let deadline = Instant::now() + 60 * SECOND;
    let mut listed_since: Option<u64> = None;
    let mut states = Vec::new();
    let restarting = loop {
        assert!(
            Instant::now() < deadline,
            "three restarts not seen in 60 s: {states:?}"
        );
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        let Some(c) = find(&batch, &failing.id) else {
            assert!(
                listed_since.is_none(),
                "the restarting container vanished from batch {:?} (listed since {listed_since:?}; {states:?})",
                batch.sequence
            );
            continue;
        };
        listed_since.get_or_insert(batch.sequence.unwrap_or(0));
        states.push((c.state, c.restart_count));
        if c.state == Some(ContainerState::Restarting) && c.restart_count >= Some(3) {
            break c.clone();
        }
    };
    assert_eq!(restarting.exit_code, Some(3), "{restarting:?}");
    // The count equals docker inspect's at the same moment: inspect before and after a batch
    // bracket it (it moves at most once between, the backoff is seconds by now).
    let name = failing.name.clone();
    let before: u64 = blocking(move || docker(&["inspect", "-f", "{{.RestartCount}}", &name]))
        .await
        .parse()
        .unwrap();
    let (batch, _) = feed.next_batch(3 * SECOND).await;
    let ours = find(&batch, &failing.id)
        .expect("still listed")
        .restart_count;
    let name = failing.name.clone();
    let after: u64 = blocking(move || docker(&["inspect", "-f", "{{.RestartCount}}", &name]))
        .await
        .parse()
        .unwrap();
    let ours = ours.expect("a restart count");
    assert!(
        before <= ours && ours <= after,
        "agent {ours}, docker inspect {before} then {after}"
    );
    // Between runs docker inspect shows the last exit too.
    inspect_until(
        &failing,
        "{{.State.Status}} {{.State.ExitCode}}",
        "restarting 3",
        30 * SECOND,
    )
    .await;
    blocking(move || drop(failing)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_container_is_in_exited_as_docker_inspect_says_and_stays_once_removed() {
    let agent = Agent::start(&[]);
    let mut feed = Feed::connect(&agent.url()).await;
    let killed = blocking(|| {
        Life::run(
            "oom",
            &["--memory", "16m", "--shm-size", "128m"],
            &["dd", "if=/dev/zero", "of=/dev/shm/x", "bs=1M", "count=64"],
        )
    })
    .await;
    inspect_until(&killed, "{{.State.Status}}", "exited", 30 * SECOND).await;
    let theirs = killed.inspect("{{.State.ExitCode}} {{.State.OOMKilled}}");
    assert_eq!(theirs, "137 true", "the kernel killed dd at its limit");
    // Batches queued before it exited list it as running; the first that lists it as exited
    // no longer does.
    let mut exited = None;
    for _ in 0..8 {
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        if let Some(c) = batch.exited.iter().find(|c| c.id == killed.id) {
            assert!(find(&batch, &killed.id).is_none(), "exited, not running");
            exited = Some(c.clone());
            break;
        }
    }
    let exited = exited.expect("the OOM-killed container in batch.exited");
    assert_eq!(exited.name, killed.name);
    assert_eq!(exited.state, Some(ContainerState::Exited));
    assert_eq!(
        (exited.exit_code, exited.oom_killed),
        (Some(137), Some(true))
    );
    assert_eq!(
        (exited.cpu_pct, exited.uptime_secs),
        (None, None),
        "no live figures"
    );

    // An agent started after it stopped finds it too (listed at start-up), also with the
    // Docker API collector.
    let late = Agent::start(&["--collector", "docker-api"]);
    let mut late_feed = Feed::connect(&late.url()).await;
    let mut found = None;
    for _ in 0..3 {
        let (batch, _) = late_feed.next_batch(3 * SECOND).await;
        found = batch.exited.into_iter().find(|c| c.id == killed.id);
        if found.is_some() {
            break;
        }
    }
    assert_eq!(
        found.map(|c| (c.exit_code, c.oom_killed)),
        Some((Some(137), Some(true))),
        "in one of a later agent's first batches"
    );

    // Removed: still listed (contract 6, for --keep-exited after it finished), marked
    // removed, with what was known of its death.
    let (name, id) = (killed.name.clone(), killed.id.clone());
    blocking(move || docker(&["rm", "-f", &name])).await;
    let mut removed = None;
    for _ in 0..3 {
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        removed = batch
            .exited
            .into_iter()
            .find(|c| c.id == id && c.removed == Some(true));
        if removed.is_some() {
            break;
        }
    }
    let removed = removed.expect("a removed container stays in exited, marked removed");
    assert_eq!(
        (removed.exit_code, removed.oom_killed, removed.finished_at),
        (Some(137), Some(true), exited.finished_at)
    );
    assert!(exited.finished_at.is_some(), "time of death");
    drop(killed);
}

/// Sends one text frame.
async fn say(ws: &mut Ws, text: String) {
    ws.send(WsMessage::text(text)).await.unwrap();
}

/// The first health answer on `ws`.
async fn first_answer(ws: &mut Ws) -> ContainerHealth {
    loop {
        if let Message::ContainerHealth(h) = common::next_message(ws, 3 * SECOND).await {
            return h;
        }
    }
}

/// The health answers that arrive on `ws` within `within`.
async fn answers(ws: &mut Ws, within: Duration) -> Vec<ContainerHealth> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, common::next_message(ws, within)).await {
            Ok(Message::ContainerHealth(h)) => got.push(h),
            Ok(_) => {}
            Err(_) => return got,
        }
    }
}

/// A probe as compared: start, exit code, output.
type Probe = (DateTime<Utc>, i64, String);

/// `docker inspect`'s `State.Health`, in one call: status, failing streak, and the log
/// (start, exit code, output per probe, oldest first).
fn inspect_health(name: &str) -> (Option<Health>, Option<u64>, Vec<Probe>) {
    let json = docker(&["inspect", "-f", "{{json .State.Health}}", name]);
    let health: serde_json::Value = serde_json::from_str(&json).expect("health json");
    let probes = health["Log"]
        .as_array()
        .expect("a log")
        .iter()
        .map(|p| {
            let start = DateTime::parse_from_rfc3339(p["Start"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc);
            let code = p["ExitCode"].as_i64().unwrap();
            (start, code, p["Output"].as_str().unwrap().to_owned())
        })
        .collect();
    (
        self::health(health["Status"].as_str().unwrap_or("")),
        health["FailingStreak"].as_u64(),
        probes,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_log_request_answers_this_client_with_the_probes_docker_inspect_shows() {
    let checked = Life::run(
        "healthlog",
        &[
            "--health-cmd",
            "echo probe; test -f /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
        ],
        &[
            "sh",
            "-c",
            "mkdir -p /tmp && touch /tmp/ok && exec sleep 100000",
        ],
    );
    let agent = Agent::start(&[]);
    let mut asker = connect(&agent.url()).await;
    let mut bystander = connect(&agent.url()).await;
    // A few probes, one of them failing.
    tokio::time::sleep(3 * SECOND).await;
    let name = checked.name.clone();
    blocking(move || docker(&["exec", &name, "rm", "/tmp/ok"])).await;
    tokio::time::sleep(2 * SECOND).await;

    // Malformed and unknown frames are ignored; an old client's silence is fine too.
    say(&mut asker, "{not json".to_owned()).await;
    say(&mut asker, r#"{"type":"subscribe_everything"}"#.to_owned()).await;
    say(&mut asker, r#"{"type":"health_log_request"}"#.to_owned()).await;

    let request = |id: &str| {
        ClientMessage::HealthLogRequest { id: id.to_owned() }
            .encode()
            .unwrap()
    };
    // Docker's log before and after the answer bracket it: the answer is one of the two.
    let name = checked.name.clone();
    let before = blocking(move || inspect_health(&name)).await;
    say(&mut asker, request(&checked.id)).await;
    let answer = &first_answer(&mut asker).await;
    let name = checked.name.clone();
    let after = blocking(move || inspect_health(&name)).await;
    let more = answers(&mut asker, SECOND).await;
    assert!(more.is_empty(), "one answer to one request: {more:?}");
    assert_eq!(
        (answer.id.as_str(), answer.agent_id.as_str()),
        (checked.id.as_str(), "it-agent")
    );
    assert_eq!(answer.error, None);
    let ours: Vec<Probe> = answer
        .log
        .iter()
        .map(|p| (p.start, p.exit_code, p.output.clone()))
        .collect();
    // Status, streak and probes as one of the two inspects shows them.
    let answered = (answer.health, answer.failing_streak, ours.clone());
    assert!(
        answered == before || answered == after,
        "agent {answered:?}\ninspect {before:?} / {after:?}"
    );
    assert!(ours.len() >= 3, "several probes: {ours:?}");
    assert!(
        ours.iter().any(|p| p.1 != 0) && ours.iter().any(|p| p.1 == 0),
        "{ours:?}"
    );
    assert!(ours.iter().all(|p| p.2.starts_with("probe")), "{ours:?}");
    assert!(ours.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");

    // The other client hears nothing of it.
    let overheard = answers(&mut bystander, SECOND).await;
    assert!(
        overheard.is_empty(),
        "answered to the wrong client: {overheard:?}"
    );

    // Unknown containers are answered with an error, not silence.
    say(&mut asker, request("life-no-such-container")).await;
    let got = answers(&mut asker, 2 * SECOND).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no container")),
        "{:?}",
        got[0]
    );
    assert!(got[0].log.is_empty() && got[0].health.is_none());

    // Ten at once: one is in flight, the rest are dropped, so the engine is asked once or
    // twice, not ten times; and the stream goes on.
    for _ in 0..10 {
        say(&mut asker, request(&checked.id)).await;
    }
    let got = answers(&mut asker, 2 * SECOND).await;
    assert!(
        (1..=2).contains(&got.len()),
        "{} answers to a burst of ten",
        got.len()
    );
    match common::next_message(&mut asker, 3 * SECOND).await {
        Message::ContainerStatsBatch(_)
        | Message::AgentStatus(_)
        | Message::ContainerEvent(_)
        | Message::History(_) => {}
        other => panic!("the stream goes on, not {other:?}"),
    }
    blocking(move || drop(checked)).await;
}
