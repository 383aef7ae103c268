//! The figures that come from cgroup files and from the engine's stats payload — block I/O,
//! the memory breakdown, OOM kills, CPU throttling — on real containers, for both collectors
//! (`--collector cgroup` and `--collector docker-api`), against `docker stats`, the engine's
//! own payload and the kernel's files read by the test itself at the same moment.
//!
//! What this machine kind verifies (cgroup v1, Docker 20.10.24): the kernel accounts no block
//! I/O to containers, so BLOCK I/O is 0B / 0B on both sides after a 32 MiB `dd … conv=fsync`
//! (the readers of non-zero v1 and v2 files are tested on fixtures in `src/sample/cgroup`); the
//! engine's v1 payload carries no shmem, kernel or OOM-kill figure, so the docker-api collector
//! must report those as unknown, as the payload does (a v2 engine passes `shmem`, and the same
//! checks then compare the figures).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::truth::{figure_within, parse_decimal_pair};
use common::{blocking, docker, parse_size, Agent, Container, Feed};
use dockscope_protocol::ContainerStats;

const SECOND: Duration = Duration::from_secs(1);
const MIB: f64 = 1_048_576.0;
const COLLECTORS: [&str; 2] = ["cgroup", "docker-api"];

/// `docker run -d --name cg-<pid>-<label> …`, removed when dropped.
fn run(label: &str, run_args: &[&str], cmd: &[&str]) -> Container {
    Container::named(format!("cg-{}-{label}", std::process::id()), run_args, cmd)
}

/// Waits until `path` exists inside the container (its command's "done" marker).
fn wait_for(container: &Container, path: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !common::docker_command()
        .args(["exec", &container.name, "test", "-e", path])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            Instant::now() < deadline,
            "{path} not written within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The text of a container's cgroup file, as the kernel writes it now: `controller` is the v1
/// controller directory (ignored on v2), under either driver's path.
fn cgroup_file(controller: &str, id: &str, file: &str) -> String {
    let root = Path::new("/sys/fs/cgroup");
    let base: PathBuf = if v2() {
        root.to_owned()
    } else {
        root.join(controller)
    };
    [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
    ]
    .iter()
    .map(|relative| base.join(relative).join(file))
    .find_map(|path| std::fs::read_to_string(path).ok())
    .unwrap_or_else(|| panic!("no {controller} {file} for container {id}"))
}

/// `key value` lines: the value of `key`.
fn stat(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The engine's one-shot stats payload for `id` (what the docker-api collector reads).
fn engine_stats(id: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            "/var/run/docker.sock",
            &format!("http://localhost/containers/{id}/stats?stream=false"),
        ])
        .output()
        .expect("curl runs");
    serde_json::from_slice(&out.stdout).expect("the engine answers with JSON")
}

/// The first entry for `id` with a memory figure, within six batches.
async fn entry(feed: &mut Feed, id: &str) -> ContainerStats {
    figure_within(feed, id, 6, |c| c.mem_bytes.is_some().then(|| c.clone()))
        .await
        .unwrap_or_else(|| panic!("no memory figure for {id}"))
}

/// BLOCK I/O equals `docker stats --no-stream` within 5 % for both collectors, after a
/// container wrote 32 MiB with `fsync` to a bind mount. (Here both sides are 0: this kernel
/// accounts no block I/O to the cgroup; on a host that does, the same test compares real
/// figures.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_io_matches_docker_stats() {
    let dir = std::env::temp_dir().join(format!("cg-blkio-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let volume = format!("{}:/data", dir.display());
    let writer = blocking(move || {
        let writer = run(
            "blkio",
            &["-v", &volume],
            &[
                "sh",
                "-c",
                "dd if=/dev/zero of=/data/f bs=1M count=32 conv=fsync && touch /data/done && sleep 100000",
            ],
        );
        wait_for(&writer, "/data/done", 30 * SECOND);
        writer
    })
    .await;
    let name = writer.name.clone();
    let (read, written) = parse_decimal_pair(
        &blocking(move || docker(&["stats", "--no-stream", "--format", "{{.BlockIO}}", &name]))
            .await,
    );
    for collector in COLLECTORS {
        let agent = Agent::start(&["--collector", collector]);
        let mut feed = Feed::connect(&agent.url()).await;
        let ours = figure_within(&mut feed, &writer.id, 6, |c| {
            c.block_read_bytes.zip(c.block_write_bytes)
        })
        .await
        .unwrap_or_else(|| panic!("{collector}: no block I/O figures"));
        for (what, ours, theirs) in [("read", ours.0, read), ("written", ours.1, written)] {
            assert!(
                (ours as f64 - theirs).abs() <= 0.05 * theirs,
                "{collector}: {ours} bytes {what} vs docker stats {theirs}"
            );
        }
        // The rate follows from two readings of the same counters.
        let rate = figure_within(&mut feed, &writer.id, 4, |c| c.block_write_bytes_per_sec)
            .await
            .unwrap_or_else(|| panic!("{collector}: no block write rate"));
        assert!(rate.is_finite() && rate >= 0.0, "{collector}: {rate}");
    }
    blocking(move || drop(writer)).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// 64 MiB in /dev/shm: the cgroup collector reports it as shmem (≥ 64 MiB) and the memory
/// figure stays within 5 % of `docker stats` MEM USAGE for both collectors. And the breakdown
/// adds up: on cgroup v1 `memory.usage_in_bytes` = `total_rss` + `total_cache` +
/// `memory.kmem.usage_in_bytes` (anon + file + kernel; shmem is inside file), on v2
/// `memory.current` ≈ anon + file + kernel (sock and the rest are small in an idle busybox) —
/// asserted within 1 MiB against the usage the test reads from the file itself and against the
/// agent's own usage (memory figure + inactive file). The docker-api collector reports what the
/// engine's payload holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shmem_is_counted_and_the_breakdown_adds_up() {
    let holder = blocking(|| {
        let holder = run(
            "shm",
            &["--shm-size", "128m"],
            &[
                "sh",
                "-c",
                "dd if=/dev/zero of=/dev/shm/x bs=1M count=64 && touch /dev/shm/filled && sleep 100000",
            ],
        );
        wait_for(&holder, "/dev/shm/filled", 20 * SECOND);
        holder
    })
    .await;
    for collector in COLLECTORS {
        let agent = Agent::start(&["--collector", collector]);
        let mut feed = Feed::connect(&agent.url()).await;
        let c = entry(&mut feed, &holder.id).await;
        let (name, id) = (holder.name.clone(), holder.id.clone());
        let (theirs, usage_file, engine) = blocking(move || {
            let theirs = parse_size(&docker(&[
                "stats",
                "--no-stream",
                "--format",
                "{{.MemUsage}}",
                &name,
            ]));
            let usage = if v2() {
                "memory.current"
            } else {
                "memory.usage_in_bytes"
            };
            let usage_file: u64 = cgroup_file("memory", &id, usage).trim().parse().unwrap();
            (theirs, usage_file, engine_stats(&id))
        })
        .await;
        let mem = c.mem_bytes.unwrap() as f64;
        assert!(
            theirs > 60.0 * MIB,
            "docker stats shows {theirs}: shm not filled?"
        );
        assert!(
            (mem - theirs).abs() <= 0.05 * theirs,
            "{collector}: memory {mem} vs docker stats {theirs}"
        );
        let anon = c.mem_anon.expect("anonymous memory");
        let file = c.mem_file.expect("page cache");
        let usage = c.mem_bytes.unwrap() + c.mem_inactive_file.unwrap_or(0);
        if collector == "cgroup" {
            let shmem = c.mem_shmem.expect("shmem from memory.stat");
            assert!(shmem as f64 >= 64.0 * MIB, "shmem {shmem}");
            assert!(file >= shmem, "file {file} includes shmem {shmem}");
            let kernel = c.mem_kernel.expect("kernel memory");
            let parts = anon + file + kernel;
            for (against, total) in [("the usage file", usage_file), ("its usage", usage)] {
                assert!(
                    parts.abs_diff(total) <= 1 << 20,
                    "anon {anon} + file {file} + kernel {kernel} = {parts} vs {against} {total}"
                );
            }
        } else {
            let stats = &engine["memory_stats"]["stats"];
            let key = |v1: &str, v2: &str| stats[v1].as_u64().or(stats[v2].as_u64());
            assert_eq!(
                c.mem_shmem,
                key("total_shmem", "shmem"),
                "as the payload says"
            );
            let engine_anon = key("total_rss", "anon").expect("the engine's anon figure");
            assert!(
                anon.abs_diff(engine_anon) <= 1 << 20,
                "{anon} vs {engine_anon}"
            );
            // Without the kernel's part (the v1 payload has none), never more than usage.
            assert!(
                anon + file <= usage && usage - (anon + file) <= 2 << 20,
                "anon {anon} + file {file} vs usage {usage}"
            );
        }
    }
    blocking(move || drop(holder)).await;
}

/// A process allocating 64 MiB under `--memory 32m` is OOM-killed while the container's shell
/// lives on: the cgroup collector reports the kernel's count (≥ 1, read by the test from
/// `memory.oom_control` / `memory.events`), the docker-api collector the payload's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kills_are_counted_while_the_container_runs() {
    let victim = blocking(|| {
        let victim = run(
            "oom",
            &["--memory", "32m", "--memory-swap", "32m"],
            &[
                "sh",
                "-c",
                "dd if=/dev/zero of=/dev/null bs=64M count=1; touch /tried; sleep 100000",
            ],
        );
        wait_for(&victim, "/tried", 20 * SECOND);
        victim
    })
    .await;
    let (name, id) = (victim.name.clone(), victim.id.clone());
    let (kernel, running, engine) = blocking(move || {
        let (controller, file) = if v2() {
            ("", "memory.events")
        } else {
            ("memory", "memory.oom_control")
        };
        let kernel = stat(&cgroup_file(controller, &id, file), "oom_kill");
        let running = docker(&["inspect", "-f", "{{.State.Running}}", &name]);
        (kernel, running, engine_stats(&id))
    })
    .await;
    let kernel = kernel.expect("the kernel counts OOM kills (4.13 and later)");
    assert!(kernel >= 1, "dd was not OOM-killed");
    assert_eq!(running, "true", "the container's shell survived");
    for collector in COLLECTORS {
        let agent = Agent::start(&["--collector", collector]);
        let mut feed = Feed::connect(&agent.url()).await;
        let c = entry(&mut feed, &victim.id).await;
        let want = if collector == "cgroup" {
            Some(kernel)
        } else {
            engine["memory_stats"]["stats"]["oom_kill"].as_u64()
        };
        assert_eq!(c.oom_kills, want, "{collector}");
    }
    blocking(move || drop(victim)).await;
}

/// Throttling figures for `id` until `count` distinct ones were seen (a batch that repeats the
/// previous figure carries no new reading: the engine's stream fell behind the 1 s tick).
async fn distinct_figures(feed: &mut Feed, id: &str, count: usize, into: &mut Vec<(f64, f64)>) {
    let deadline = Instant::now() + 30 * SECOND;
    while into.len() < count {
        assert!(Instant::now() < deadline, "throttling figures: {into:?}");
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        let figure = batch.containers.iter().find(|c| c.id == id).and_then(|c| {
            c.cpu_throttled_periods_per_sec
                .zip(c.cpu_throttled_ms_per_sec)
        });
        if let Some(figure) = figure.filter(|f| into.last() != Some(f)) {
            into.push(figure);
        }
    }
}

/// A busy loop under `--cpus 0.2` is throttled in nearly every 100 ms period: both collectors
/// report throttled periods and milliseconds per second within 20 % (cgroup) or 35 % (the
/// engine's payload, which arrives late) of the kernel's own `cpu.stat` counters read by the
/// test over the same seconds, and never more periods than there are (10 per second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_matches_the_kernel_counters() {
    let busy = blocking(|| {
        run(
            "throttle",
            &["--cpus", "0.2"],
            &["sh", "-c", "while :; do :; done"],
        )
    })
    .await;
    let read_counters = |id: String| {
        blocking(move || {
            let text = cgroup_file("cpu", &id, "cpu.stat");
            let periods = stat(&text, "nr_throttled").expect("nr_throttled");
            let ns = if v2() {
                stat(&text, "throttled_usec").expect("throttled_usec") * 1_000
            } else {
                stat(&text, "throttled_time").expect("throttled_time")
            };
            (Instant::now(), periods, ns)
        })
    };
    for collector in COLLECTORS {
        let agent = Agent::start(&["--collector", collector]);
        let mut feed = Feed::connect(&agent.url()).await;
        // Two figures first: the first readings may cover the container's start.
        let mut figures = Vec::new();
        distinct_figures(&mut feed, &busy.id, 2, &mut figures).await;
        let (t0, periods0, ns0) = read_counters(busy.id.clone()).await;
        figures.clear();
        distinct_figures(&mut feed, &busy.id, 8, &mut figures).await;
        let (t1, periods1, ns1) = read_counters(busy.id.clone()).await;
        let seconds = (t1 - t0).as_secs_f64();
        let kernel_periods = (periods1 - periods0) as f64 / seconds;
        let kernel_ms = (ns1 - ns0) as f64 / 1e6 / seconds;
        let n = figures.len() as f64;
        let periods = figures.iter().map(|f| f.0).sum::<f64>() / n;
        let ms = figures.iter().map(|f| f.1).sum::<f64>() / n;
        eprintln!(
            "{collector}: {periods:.2} periods/s, {ms:.1} ms/s; kernel {kernel_periods:.2}, {kernel_ms:.1}"
        );
        assert!(
            periods > 0.0 && periods <= 10.5,
            "{collector}: {periods:.2} throttled periods/s ({figures:?})"
        );
        // The engine's payload is up to a second or two old when it arrives, so its window is
        // shifted against the test's; on a loaded host the rate moves within that shift.
        let band = if collector == "cgroup" { 0.2 } else { 0.35 };
        assert!(
            (periods - kernel_periods).abs() <= band * kernel_periods,
            "{collector}: {periods:.2} periods/s vs the kernel's {kernel_periods:.2} ({figures:?})"
        );
        assert!(
            (ms - kernel_ms).abs() <= band * kernel_ms,
            "{collector}: {ms:.1} throttled ms/s vs the kernel's {kernel_ms:.1} ({figures:?})"
        );
    }
    blocking(move || drop(busy)).await;
}
