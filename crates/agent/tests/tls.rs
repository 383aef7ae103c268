//! `--tls-cert`/`--tls-key`: a client trusting a self-signed certificate gets the stream over
//! wss://; a plain ws:// client and a client that does not trust the certificate get nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{client_trusting, self_signed, Agent};
use dockscope_protocol::{decode, Message};
use futures_util::StreamExt;
use rustls_pki_types::ServerName;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn wss_with_a_self_signed_certificate() {
    let dir = std::env::temp_dir().join(format!("ds-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir);
    let agent = Agent::start(&[
        "--synthetic-containers",
        "2",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);

    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", agent.port))
        .await
        .unwrap();
    let tls = client_trusting(&cert)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the agent");
    let url = format!("wss://localhost:{}/ws", agent.port);
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("wss upgrade");
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let WsMessage::Text(text) = frame {
            kinds.push(matches!(
                decode(text.as_str()).unwrap(),
                Message::ContainerStatsBatch(_) | Message::AgentStatus(_)
            ));
        }
    }
    assert!(kinds.iter().all(|k| *k));

    // Plain ws:// to the TLS port does not get a stream.
    let plain = tokio::time::timeout(
        Duration::from_secs(3),
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws", agent.port)),
    )
    .await;
    assert!(
        !matches!(plain, Ok(Ok(_))),
        "plain ws:// must not work on a TLS port"
    );

    // A client that does not trust the certificate refuses it.
    let (other_cert, _) = self_signed(&dir.join("other").tap_mkdir());
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", agent.port))
        .await
        .unwrap();
    let refused = client_trusting(&other_cert)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(refused.is_err(), "handshake must fail without trust");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unusable_certificate_files_are_explained_at_start() {
    let dir = std::env::temp_dir().join(format!("ds-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .args(["--listen", "127.0.0.1:0", "--synthetic-containers", "1"])
        .args([
            "--tls-cert",
            junk.to_str().unwrap(),
            "--tls-key",
            junk.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tls-cert") && err.contains("junk.pem"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
