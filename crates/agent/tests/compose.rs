//! `deploy/compose` for real: Debian's `docker-compose` brings up `docker-compose.test.yml`
//! (the demo's agent image, FROM scratch, beside a busy loop under `cpus: 0.25` and a container
//! holding 48 MiB in shared memory) on the shared engine, under a project name of this run's
//! own, torn down by a guard even when the test fails. The composed agent must stream both
//! containers with their figures, and `docker inspect` must report it `healthy` through the
//! image's `HEALTHCHECK` (`dockscope-agent healthcheck`). And the demo's agent must keep the
//! production file's settings apart from its published address and token.
//!
//! Needs `scripts/build.sh` and `scripts/build-static.sh` first (`scripts/test.sh` runs both);
//! fails, not skips, without the static binary or `docker-compose`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{blocking, docker, free_port, parse_size, Feed};
use dockscope_protocol::{ContainerStatsBatch, Message};

const SECOND: Duration = Duration::from_secs(1);
const MIB: f64 = 1_048_576.0;

fn compose_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/compose")
}

/// The composed project, brought down (containers and network) when dropped, with its log
/// printed first when the test failed.
struct Project {
    name: String,
    file: PathBuf,
    port: u16,
}

impl Project {
    /// `docker-compose up -d --build` of `file` under a fresh project name.
    fn up(file: &str, label: &str) -> Self {
        let static_bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/x86_64-unknown-linux-musl/release/dockscope-agent");
        assert!(
            static_bin.is_file(),
            "{} is missing: run scripts/build.sh && scripts/build-static.sh",
            static_bin.display()
        );
        stage_busybox();
        let project = Project {
            name: format!("ds-compose-it-{}-{label}", std::process::id()),
            file: compose_dir().join(file),
            port: free_port(),
        };
        project.run(&["build", "-q", "dockscope-agent", "busy"]);
        project.run(&["up", "-d"]);
        project
    }

    /// `docker-compose -p NAME -f FILE args…`, panicking with its output on failure.
    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args);
        assert!(
            out.status.success(),
            "docker-compose {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn command(&self, args: &[&str]) -> Output {
        Command::new("docker-compose")
            .args(["-p", &self.name, "-f"])
            .arg(&self.file)
            .args(args)
            .env("DOCKSCOPE_DEMO_PORT", self.port.to_string())
            .env("DOCKER_GID", docker_gid())
            .output()
            .expect("docker-compose runs (apt-get install docker-compose; scripts/setup.sh does)")
    }

    /// The id of `service`'s container.
    fn id(&self, service: &str) -> String {
        let id = self.run(&["ps", "-q", service]);
        assert!(!id.is_empty(), "no container for service {service}");
        id
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.command(&["logs", "--no-color", "--tail", "40"]);
            eprintln!(
                "compose project {} log:\n{}",
                self.name,
                String::from_utf8_lossy(&logs.stdout)
            );
        }
        let down = self.command(&["down", "--remove-orphans", "--timeout", "5"]);
        if !down.status.success() {
            eprintln!(
                "docker-compose down of {} failed: {}",
                self.name,
                String::from_utf8_lossy(&down.stderr)
            );
        }
    }
}

/// The group owning the Docker socket, which the agent joins to read it.
fn docker_gid() -> String {
    let out = Command::new("stat")
        .args(["-c", "%g", "/var/run/docker.sock"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Puts Debian's /bin/busybox into the workload image's build context (as scripts/demo.sh
/// does), atomically: other test binaries or a demo may build from it at the same time.
fn stage_busybox() {
    let dir = compose_dir().join("demo");
    let staged = dir.join("busybox");
    let busybox =
        std::fs::read("/bin/busybox").expect("/bin/busybox (apt-get install busybox-static)");
    let executable =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if std::fs::read(&staged).is_ok_and(|b| b == busybox) && executable(&staged) {
        return;
    }
    // `RUN /bin/busybox` in the image needs the execute bit, which a plain write (umask 022
    // makes it 0644) does not give; a fresh clone has no copy from scripts/demo.sh yet.
    let tmp = dir.join(format!(".busybox.{}", std::process::id()));
    std::fs::write(&tmp, &busybox).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, &staged).unwrap();
}

/// Connects to the composed agent once it answers through its published port.
async fn feed(port: u16) -> Feed {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let deadline = Instant::now() + 30 * SECOND;
    loop {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => return Feed::spawn(ws),
            Err(e) => assert!(
                Instant::now() < deadline,
                "the composed agent never accepted a client at {url}: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn find<'a>(
    batch: &'a ContainerStatsBatch,
    id: &str,
) -> Option<&'a dockscope_protocol::ContainerStats> {
    batch.containers.iter().find(|c| c.id == id)
}

#[tokio::test(flavor = "multi_thread")]
async fn composed_agent_streams_the_known_containers_and_is_healthy() {
    let (project, agent_id, busy_id, memory_id) = blocking(|| {
        let project = Project::up("docker-compose.test.yml", "figures");
        let ids = (
            project.id("dockscope-agent"),
            project.id("busy"),
            project.id("fixed-memory"),
        );
        (project, ids.0, ids.1, ids.2)
    })
    .await;

    let mut feed = feed(project.port).await;
    // Reachable once the agent's first engine poll is in.
    let status = feed
        .until(
            15 * SECOND,
            "agent_status with the engine reachable",
            |m, _| match m {
                Message::AgentStatus(s) if s.engine_reachable == Some(true) => Some(s.clone()),
                _ => None,
            },
        )
        .await;
    assert_eq!(status.agent_id, "compose-test");
    assert!(
        status
            .features
            .iter()
            .any(|f| f == common::host_cgroup_collector()),
        "the mounted cgroup tree is read: {:?}",
        status.features
    );

    // Seven batches listing the busy loop with a figure; the first two may cover its start.
    let mut cpu = Vec::new();
    let mut last = None;
    let deadline = Instant::now() + 40 * SECOND;
    while cpu.len() < 7 {
        assert!(
            Instant::now() < deadline,
            "CPU figures of the busy loop: {cpu:?}"
        );
        let (batch, _) = feed.next_batch(3 * SECOND).await;
        if let Some(figure) = find(&batch, &busy_id).and_then(|c| c.cpu_pct) {
            cpu.push(figure);
        }
        last = Some(batch);
    }
    let batch = last.unwrap();
    let settled = &cpu[2..];
    let mean = settled.iter().sum::<f64>() / settled.len() as f64;
    assert!(
        (mean - 25.0).abs() <= 6.0,
        "busy loop under cpus: 0.25 reported at {mean:.1} % ({cpu:?})"
    );

    let busy = find(&batch, &busy_id).unwrap();
    assert_eq!(busy.name, format!("{}_busy_1", project.name));
    assert_eq!(busy.image.as_deref(), Some("dockscope-demo-busybox:local"));
    assert!(busy.uptime_secs.is_some(), "{busy:?}");

    // The memory holder: its 48 MiB, its 128 MiB limit, and what `docker stats` says.
    let holder = find(&batch, &memory_id).expect("the fixed-memory container is listed");
    assert_eq!(holder.name, format!("{}_fixed-memory_1", project.name));
    assert_eq!(
        holder.mem_limit_bytes,
        Some(128 * 1024 * 1024),
        "{holder:?}"
    );
    let ours = holder.mem_bytes.expect("a memory figure") as f64;
    let stats_id = memory_id.clone();
    let theirs = parse_size(
        &blocking(move || {
            docker(&[
                "stats",
                "--no-stream",
                "--format",
                "{{.MemUsage}}",
                &stats_id,
            ])
        })
        .await,
    );
    assert!(
        (47.0 * MIB..60.0 * MIB).contains(&ours),
        "48 MiB in /dev/shm reported as {:.1} MiB",
        ours / MIB
    );
    assert!(
        (ours - theirs).abs() / theirs <= 0.10,
        "agent {ours} B vs docker stats {theirs} B"
    );

    // The agent lists itself, under the compose file's 64 MiB.
    let agent = find(&batch, &agent_id).expect("the agent's own container is listed");
    assert_eq!(agent.mem_limit_bytes, Some(64 * 1024 * 1024), "{agent:?}");

    // Healthy, by the image's HEALTHCHECK: the agent's own subcommand, no shell.
    let health = blocking(move || {
        let deadline = Instant::now() + 30 * SECOND;
        loop {
            let state = docker(&["inspect", "-f", "{{.State.Health.Status}}", &agent_id]);
            if state == "healthy" || Instant::now() > deadline {
                let test = docker(&[
                    "inspect",
                    "-f",
                    "{{json .Config.Healthcheck.Test}}",
                    &agent_id,
                ]);
                let log = docker(&[
                    "inspect",
                    "-f",
                    "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}|{{end}}",
                    &agent_id,
                ]);
                return (state, test, log);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    })
    .await;
    let (state, test, log) = health;
    assert_eq!(state, "healthy", "health log: {log}");
    assert_eq!(test, r#"["CMD","/dockscope-agent","healthcheck"]"#);
    assert!(
        log.contains("0 healthy: agent compose-test v"),
        "the probe's own line in the health log: {log}"
    );
    // The feed kept reading meanwhile: the stream is still live.
    feed.next_batch(3 * SECOND).await;
    blocking(move || drop(project)).await;
}

/// The `dockscope-agent` service of `docker-compose -f FILE config`, as `key: value` lines with
/// the settings that must differ between production and the demo left out.
fn agent_settings(file: &Path) -> Vec<String> {
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(file)
        .arg("config")
        .env("DOCKER_GID", "999")
        .env("HOSTNAME", "h")
        .output()
        .expect("docker-compose runs");
    assert!(
        out.status.success(),
        "docker-compose config of {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = Vec::new();
    let (mut inside, mut key) = (false, String::new());
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent <= 2 {
            inside = line == "  dockscope-agent:";
            continue;
        }
        if !inside {
            continue;
        }
        if indent == 4 && !line.trim_start().starts_with('-') {
            key = line
                .trim()
                .trim_end_matches(':')
                .split(':')
                .next()
                .unwrap()
                .to_owned();
        }
        let differs = matches!(key.as_str(), "ports" | "secrets")
            || ["DOCKSCOPE_AGENT_ID:", "DOCKSCOPE_TOKEN_FILE:"]
                .iter()
                .any(|k| line.trim_start().starts_with(k));
        if !differs {
            lines.push(line.to_owned());
        }
    }
    lines
}

#[test]
fn demo_agent_has_the_production_settings_but_loopback_and_no_token() {
    let production = agent_settings(&compose_dir().join("docker-compose.yml"));
    let demo = agent_settings(&compose_dir().join("docker-compose.demo.yml"));
    assert!(
        production.iter().any(|l| l.contains("read_only: true"))
            && production.iter().any(|l| l.contains("mem_limit: 64m")),
        "{production:#?}"
    );
    assert_eq!(demo, production, "the demo's agent drifted from production");

    let config = |file: &str| {
        let out = Command::new("docker-compose")
            .arg("-f")
            .arg(compose_dir().join(file))
            .arg("config")
            .env("DOCKSCOPE_DEMO_PORT", "18080")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let demo = config("docker-compose.demo.yml");
    assert!(demo.contains("- 127.0.0.1:18080:8080/tcp"), "{demo}");
    assert!(!demo.contains("TOKEN"), "{demo}");
    let production = config("docker-compose.yml");
    assert!(production.contains("DOCKSCOPE_TOKEN_FILE: /run/secrets/dockscope_token"));
}
