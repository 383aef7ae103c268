//! The truth checks: what the agent reports about real containers against what the engine and
//! the Docker CLI say. Each takes the URL of a running agent, so `engine.rs` runs them on a
//! quiet host and `crowded_host.rs` runs the very same checks beside hundreds of other
//! containers.

use std::time::{Duration, Instant};

use dockscope_protocol::{ContainerStats, Message};

use super::{blocking, docker, parse_size, Container, Feed};

const SECOND: Duration = Duration::from_secs(1);

/// The first figure `pick` finds for container `id` in the next `batches` batches.
pub async fn figure_within<T>(
    feed: &mut Feed,
    id: &str,
    batches: usize,
    pick: impl Fn(&ContainerStats) -> Option<T>,
) -> Option<T> {
    for _ in 0..batches {
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        if let Some(found) = batch.containers.iter().find(|c| c.id == id).and_then(&pick) {
            return Some(found);
        }
    }
    None
}

/// A busy loop under `--cpus 0.2` is reported at 20 % ± 5 (mean of five figures, after the
/// container's first two, which may cover its start).
pub async fn busy_loop_under_cpus_0_2_is_20_percent(agent_url: &str, label: &str) {
    let mut feed = Feed::connect(agent_url).await;
    let label = label.to_owned();
    let busy = blocking(move || {
        Container::run(
            &label,
            &["--cpus", "0.2"],
            &["sh", "-c", "while :; do :; done"],
        )
    })
    .await;
    let mut figures = Vec::new();
    let deadline = Instant::now() + 30 * SECOND;
    while figures.len() < 7 && Instant::now() < deadline {
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        if let Some(cpu) = batch
            .containers
            .iter()
            .find(|c| c.id == busy.id)
            .and_then(|c| c.cpu_pct)
        {
            figures.push(cpu);
        }
    }
    assert_eq!(
        figures.len(),
        7,
        "no CPU figures for the busy container: {figures:?}"
    );
    let settled = &figures[2..];
    let mean = settled.iter().sum::<f64>() / settled.len() as f64;
    assert!(
        (mean - 20.0).abs() <= 5.0,
        "busy loop under --cpus 0.2 reported at {mean:.2} % ({figures:?})"
    );
    blocking(move || drop(busy)).await;
}

/// 64 MiB written to /dev/shm is reported within 10 % of what `docker stats` shows.
pub async fn shm_memory_matches_docker_stats(agent_url: &str, label: &str) {
    let label = label.to_owned();
    let holder = blocking(move || {
        let holder = Container::run(
            &label,
            &["--shm-size", "128m"],
            &[
                "sh",
                "-c",
                "dd if=/dev/zero of=/dev/shm/x bs=1M count=64 && touch /dev/shm/filled && sleep 100000",
            ],
        );
        // Written once `dd` is done, so neither side reads a half-filled /dev/shm.
        let deadline = Instant::now() + 20 * SECOND;
        while !super::docker_command()
            .args(["exec", &holder.name, "test", "-e", "/dev/shm/filled"])
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "dd did not finish within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        holder
    })
    .await;
    let mut feed = Feed::connect(agent_url).await;
    let ours = figure_within(&mut feed, &holder.id, 6, |c| c.mem_bytes)
        .await
        .expect("memory figure for the shm container") as f64;
    let name = holder.name.clone();
    let theirs = parse_size(
        &blocking(move || docker(&["stats", "--no-stream", "--format", "{{.MemUsage}}", &name]))
            .await,
    );
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
    blocking(move || drop(holder)).await;
}

/// A shell with three `sleep` children under `--pids-limit 50` is reported with the PIDs
/// `docker stats` shows (4) and its limit.
pub async fn pids_and_their_limit_match_docker_stats(agent_url: &str, label: &str) {
    let label = label.to_owned();
    let sleepers = blocking(move || {
        Container::run(
            &label,
            &["--pids-limit", "50"],
            &[
                "sh",
                "-c",
                "sleep 100000 & sleep 100000 & sleep 100000 & wait",
            ],
        )
    })
    .await;
    let mut feed = Feed::connect(agent_url).await;
    let name = sleepers.name.clone();
    let theirs: u64 = blocking(move || {
        // The shell may still be starting its children: wait until the CLI sees all four.
        let deadline = Instant::now() + 10 * SECOND;
        loop {
            let out = docker(&["stats", "--no-stream", "--format", "{{.PIDs}}", &name]);
            let pids: u64 = out.trim().parse().expect("docker stats PIDs is a number");
            if pids == 4 || Instant::now() > deadline {
                return pids;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await;
    assert_eq!(
        theirs, 4,
        "docker stats shows {theirs} PIDs for sh and three sleeps"
    );
    let ours = figure_within(&mut feed, &sleepers.id, 6, |c| {
        Some((c.pids, c.pids_limit)).filter(|(pids, _)| *pids == Some(theirs))
    })
    .await;
    assert_eq!(
        ours,
        Some((Some(theirs), Some(50))),
        "agent's PIDs and limit for the container docker stats shows with {theirs}"
    );
    blocking(move || drop(sleepers)).await;
}

/// A started container is listed, and a killed one gone, within 2 s of `docker` returning.
pub async fn containers_appear_and_vanish_within_two_seconds(agent_url: &str, label: &str) {
    let mut feed = Feed::connect(agent_url).await;
    feed.next_batch(3 * SECOND).await;

    // `docker run` itself counts: on a busy machine it alone can take seconds, so the limit
    // is measured from when it returned, plus the 2 s claim.
    let started = Instant::now();
    let label = label.to_owned();
    let fresh = blocking(move || Container::run(&label, &[], &["sleep", "100000"])).await;
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

/// Ten consecutive batch intervals are 1 s ± 150 ms and sequence numbers only increase.
/// Returns the last batch seen, for callers that check its contents too.
pub async fn batches_arrive_every_second(
    feed: &mut Feed,
) -> dockscope_protocol::ContainerStatsBatch {
    let mut arrivals = Vec::new();
    let mut sequences = Vec::new();
    let mut last = None;
    for _ in 0..11 {
        let (batch, at) = feed.next_batch(3 * SECOND).await;
        arrivals.push(at);
        sequences.push(batch.sequence);
        last = Some(batch);
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
    last.expect("eleven batches")
}

/// A `docker stats` NET I/O or BLOCK I/O cell ("1.02kB / 33.6MB") → both figures in bytes. The
/// CLI writes these in decimal units (`units.HumanSize`: kB = 1000), unlike MEM USAGE (MiB).
pub fn parse_decimal_pair(cell: &str) -> (f64, f64) {
    let one = |part: &str| {
        let part = part.trim();
        let split = part
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or_else(|| panic!("no unit in {cell:?}"));
        let (number, unit) = part.split_at(split);
        let scale = match unit {
            "B" => 1.0,
            "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            other => panic!("unknown unit {other} in {cell:?}"),
        };
        number.parse::<f64>().expect("a number") * scale
    };
    let (first, second) = cell.split_once('/').expect("two figures");
    (one(first), one(second))
}
