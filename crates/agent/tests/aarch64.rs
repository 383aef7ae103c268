//! The static aarch64 agent (`scripts/build-static.sh aarch64`, run by `scripts/test.sh`) on
//! an emulated ARM CPU: Debian's `qemu-aarch64-static` runs it here, with no aarch64 libraries
//! at all, so it also proves the binary is static. It prints the crate's version, streams
//! synthetic batches to a WebSocket client and serves the embedded dashboard.
//!
//! Fails, not skips, when the binary is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;
mod ship;

use std::path::PathBuf;
use std::time::Duration;

use common::Feed;
use dockscope_protocol::Message;

/// Emulation is several times slower than the host; the agent still starts in about a second.
const START_WITHIN: Duration = Duration::from_secs(30);

fn aarch64_binary() -> PathBuf {
    let bin = ship::repo_root().join("target/aarch64-unknown-linux-musl/release/dockscope-agent");
    assert!(
        bin.is_file(),
        "{} is missing: scripts/build-static.sh aarch64 builds it (after scripts/build.sh; \
         scripts/test.sh runs both)",
        bin.display()
    );
    bin
}

#[test]
fn the_binary_is_aarch64_and_prints_the_crate_version_under_qemu() {
    let bin = aarch64_binary();
    assert_eq!(
        ship::elf_machine(&bin),
        ship::EM_AARCH64,
        "{} is not an aarch64 executable",
        bin.display()
    );
    ship::check_version(&bin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_five_synthetic_containers_under_qemu() {
    let bin = aarch64_binary();
    let agent = ship::start(
        &bin,
        &[
            "--synthetic-containers",
            "5",
            "--agent-id",
            "arm-agent",
            "--serve-ui",
        ],
        START_WITHIN,
    );
    let mut feed = Feed::connect(&agent.url()).await;

    let status = feed
        .until(Duration::from_secs(20), "an agent_status", |m, _| match m {
            Message::AgentStatus(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert_eq!(status.agent_id, "arm-agent");
    assert_eq!(status.version, format!("v{}", env!("CARGO_PKG_VERSION")));
    for feature in ["container_stats", "synthetic", "ui"] {
        assert!(
            status.features.iter().any(|f| f == feature),
            "features {:?} lack {feature}",
            status.features
        );
    }

    // Two batches: the stream goes on, it is not one message at connect.
    for _ in 0..2 {
        let (batch, _) = feed.next_batch(Duration::from_secs(20)).await;
        assert_eq!(batch.agent_id, "arm-agent");
        assert_eq!(batch.containers.len(), 5, "{batch:?}");
        let mut ids: Vec<_> = batch.containers.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 5, "five distinct containers: {batch:?}");
        for c in &batch.containers {
            assert!(
                c.cpu_pct.is_some() && c.mem_bytes.is_some(),
                "figures for {}: {c:?}",
                c.name
            );
        }
    }

    // The dashboard bundle is embedded in the cross-built binary too.
    let port = agent.port;
    let (code, body) = common::blocking(move || common::http_get(port, "/")).await;
    assert_eq!(code, 200, "GET / on the aarch64 agent: {body}");
    assert!(
        body.contains("<html") && body.contains(".wasm"),
        "GET / is not the dashboard page: {body}"
    );
}
