//! Killing and restarting `dockerd` under a running agent: the agent stays up, reports the
//! outage in `agent_status` (with empty batches meanwhile), and reports the engine back and its
//! containers within 10 s of the engine answering again.
//!
//! The engine is a private one (`scripts/private-dockerd.sh`: its own socket, data, containerd
//! and cgroup parent under a temporary directory), so the shared engine other tests use is never
//! touched, and a guard stops and removes it even when the test panics. The restart may take
//! long on a busy machine (dockerd first stops what the killed engine left running); the client
//! keeps reading throughout, and blocking work runs off the async threads.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{blocking, docker_on, Agent, Feed, IMAGE};
use dockscope_protocol::Message;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/private-dockerd.sh"
);
/// How long the agent may take to notice the engine went away or came back, and to list a
/// container: the claim under test.
const NOTICE: Duration = Duration::from_secs(10);

/// A private dockerd, stopped and removed (with everything it ran) when dropped.
struct PrivateEngine {
    dir: PathBuf,
}

impl PrivateEngine {
    fn start() -> Self {
        let engine = PrivateEngine {
            dir: PathBuf::from(format!("/tmp/ds-restart-{}", std::process::id())),
        };
        engine.script("start");
        engine
    }

    fn endpoint(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.display())
    }

    fn script(&self, action: &str) {
        let status = Command::new("bash")
            .arg(SCRIPT)
            .arg(action)
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("bash runs");
        assert!(status.success(), "private-dockerd.sh {action} failed");
    }

    /// The docker CLI against this engine.
    fn docker(&self, args: &[&str]) -> String {
        docker_on(Some(&self.endpoint()), args)
    }

    /// `docker run -d` of a sleeping test container; returns its id.
    fn run_sleeper(&self, name: &str) -> String {
        self.docker(&["run", "-d", "--name", name, IMAGE, "sleep", "100000"])
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn lists(message: &Message, id: &str) -> bool {
    matches!(message, Message::ContainerStatsBatch(b) if b.containers.iter().any(|c| c.id == id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_survives_dockerd_restart_and_reports_the_outage() {
    assert!(
        Path::new(SCRIPT).exists(),
        "{SCRIPT} is missing: this test needs it to run a private engine"
    );
    let engine = Arc::new(blocking(PrivateEngine::start).await);
    let before = {
        let engine = engine.clone();
        blocking(move || engine.run_sleeper("ds-restart-before")).await
    };
    let endpoint = engine.endpoint();
    let mut agent = blocking(move || Agent::start(&["--docker-endpoint", &endpoint])).await;
    let mut feed = Feed::connect(&agent.url()).await;

    // The agent reads this engine (not the shared one): its container is listed.
    feed.until(NOTICE, "the container started before the crash", |m, _| {
        lists(m, &before).then_some(())
    })
    .await;

    // Crash the engine (SIGKILL: no orderly container shutdown).
    let killed = {
        let engine = engine.clone();
        blocking(move || {
            engine.script("kill");
            Instant::now()
        })
        .await
    };
    let outage = feed
        .until(
            NOTICE,
            "an agent_status reporting the outage",
            |m, at| match m {
                Message::AgentStatus(s) if s.engine_reachable == Some(false) => {
                    Some((s.engine_error.clone().unwrap_or_default(), at - killed))
                }
                _ => None,
            },
        )
        .await;
    assert!(
        outage.0.contains("docker"),
        "the outage reason should name the engine: {:?}",
        outage.0
    );
    // Batches keep flowing, empty, while the engine is down; the agent is alive.
    for _ in 0..2 {
        let (batch, _) = feed.next_batch(Duration::from_secs(3)).await;
        assert!(
            batch.containers.is_empty(),
            "a batch during the outage lists {} containers",
            batch.containers.len()
        );
    }
    assert!(agent.alive(), "the agent died with the engine");

    // Restart it; on a busy machine this alone can take half a minute.
    let (back, restart_took) = {
        let engine = engine.clone();
        blocking(move || {
            let t = Instant::now();
            engine.script("start");
            (Instant::now(), t.elapsed())
        })
        .await
    };
    let reachable_after = feed
        .until(
            NOTICE,
            "an agent_status saying the engine is back",
            |m, at| match m {
                Message::AgentStatus(s) if s.engine_reachable == Some(true) => {
                    Some(at.saturating_duration_since(back))
                }
                _ => None,
            },
        )
        .await;
    let (fresh, ran) = {
        let engine = engine.clone();
        blocking(move || {
            let id = engine.run_sleeper("ds-restart-after");
            (id, Instant::now())
        })
        .await
    };
    let stale_before = std::cell::Cell::new(false);
    let data_after = feed
        .until(
            NOTICE,
            "the container started after the restart",
            |m, at| {
                if lists(m, &before) {
                    stale_before.set(true);
                }
                lists(m, &fresh).then(|| at.saturating_duration_since(ran))
            },
        )
        .await;
    // The crash stopped the first container: once the new one is listed, the old one is not.
    let (batch, _) = feed.next_batch(Duration::from_secs(3)).await;
    assert!(
        !batch.containers.iter().any(|c| c.id == before),
        "the container the crash stopped is still listed"
    );
    assert!(batch.containers.iter().any(|c| c.id == fresh));
    assert!(agent.alive());
    assert!(feed.open(), "the client was dropped during the restart");
    eprintln!(
        "outage reported {:?} after the kill; engine restart took {restart_took:?}; agent \
         reachable {reachable_after:?} after it answered, new container listed {data_after:?} \
         after docker run (old one listed after restart: {})",
        outage.1,
        stale_before.get()
    );
    drop(feed);
    drop(agent);
}
