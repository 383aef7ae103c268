//! Killing and restarting `dockerd` under a running agent: the agent stays up, reports the
//! outage in `agent_status`, and resumes data within 10 s of the engine coming back.
//! Its own test binary, because it takes the engine away from everything else.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, next_message, Agent, Container};
use dockscope_protocol::Message;

fn engine_up() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn agent_survives_dockerd_restart_and_reports_the_outage() {
    assert!(
        engine_up(),
        "this test needs a running dockerd (scripts/docker-up.sh)"
    );
    let mut agent = Agent::start(&[]);
    let mut ws = connect(&agent.url()).await;
    // Wait until the agent has seen the engine.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Message::AgentStatus(s) = next_message(&mut ws, Duration::from_secs(3)).await {
            if s.engine_reachable {
                break;
            }
        }
        assert!(Instant::now() < deadline, "engine never reported reachable");
    }

    // Crash the engine (SIGKILL: no orderly container shutdown).
    let killed = Command::new("pkill")
        .args(["-KILL", "-x", "dockerd"])
        .status()
        .unwrap();
    assert!(killed.success(), "no dockerd to kill");
    let mut saw_outage = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while saw_outage.is_none() {
        match next_message(&mut ws, Duration::from_secs(3)).await {
            Message::AgentStatus(s) if !s.engine_reachable => saw_outage = s.engine_error,
            Message::ContainerStatsBatch(b) if Instant::now() > deadline => {
                panic!(
                    "no outage reported; batches continue with {} containers",
                    b.containers.len()
                )
            }
            _ => {}
        }
    }
    let outage = saw_outage.unwrap_or_default();
    assert!(
        outage.contains("docker"),
        "outage reason should name the engine: {outage:?}"
    );
    // Batches keep flowing (empty) while the engine is down, and the agent is alive.
    let Message::ContainerStatsBatch(_) = next_message(&mut ws, Duration::from_secs(3)).await
    else {
        panic!("expected batches to continue during the outage");
    };
    assert!(agent.alive(), "agent died with the engine");

    // Bring the engine back the way the test scripts do.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up.sh");
    let up = Command::new("bash").arg(script).status().unwrap();
    assert!(up.success(), "docker-up.sh failed");
    let back = Instant::now();
    let fresh = Container::run("after-restart", &[], &["sleep", "100000"]);

    let mut reachable_again = None;
    loop {
        match next_message(&mut ws, Duration::from_secs(3)).await {
            Message::AgentStatus(s) if s.engine_reachable => reachable_again = Some(back.elapsed()),
            Message::ContainerStatsBatch(b) if b.containers.iter().any(|c| c.id == fresh.id) => {
                break
            }
            _ => {}
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "no data within 10 s of the engine returning"
        );
    }
    let reachable_again = reachable_again.expect("agent_status announced the engine is back");
    assert!(
        reachable_again < Duration::from_secs(10),
        "{reachable_again:?}"
    );
    assert!(agent.alive());
    eprintln!(
        "engine back → agent reachable after {reachable_again:?}, data after {:?}",
        back.elapsed()
    );
}
