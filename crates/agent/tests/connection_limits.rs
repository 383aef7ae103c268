//! Each connection limit on its own, against the real agent binary with small caps: sockets
//! over a pending cap are closed the moment they are accepted, a request head that never
//! finishes and an idle keep-alive connection are closed after the 10 s header read timeout,
//! and one peer cannot take every WebSocket slot. Peers are told apart by loopback source
//! address (127.0.0.1, 127.0.0.2, …).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{next_message, Agent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Error as WsError;

/// The agent's header read timeout (listen.rs).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect_from(source: &str, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .expect("TCP connect")
}

/// How long until the agent closes `tcp` (reading and dropping whatever it sends), or `None`
/// if it is still open after `within`.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// A WebSocket upgrade from `source`: `Ok` or the refusal's HTTP status.
async fn upgrade_from(source: &str, port: u16) -> Result<common::Ws, u16> {
    let tcp = connect_from(source, port).await;
    let url = format!("ws://127.0.0.1:{port}/ws");
    match tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp)).await
    {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
    }
}

#[tokio::test]
async fn sockets_over_the_pending_caps_are_closed_at_once() {
    let agent = Agent::start(&[
        "--synthetic-containers",
        "2",
        "--max-pending",
        "5",
        "--max-pending-per-peer",
        "3",
    ]);
    let port = agent.port;
    // Three silent sockets from one peer fill its cap; they stay open.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.2", port).await);
    }
    // Give the agent time to accept them before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = connect_from("127.0.0.2", port).await;
    let closed = closed_within(&mut fourth, Duration::from_secs(2)).await;
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(1)),
        "the peer's 4th pending socket was not closed at once: {closed:?}"
    );
    for tcp in &mut held {
        assert_eq!(
            closed_within(tcp, Duration::from_millis(300)).await,
            None,
            "a socket within the cap was closed early"
        );
    }
    // Another peer still gets in, and its two sockets fill the global cap of 5.
    let mut other = vec![
        connect_from("127.0.0.3", port).await,
        connect_from("127.0.0.3", port).await,
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = connect_from("127.0.0.4", port).await;
    let closed = closed_within(&mut sixth, Duration::from_secs(2)).await;
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(1)),
        "a 6th pending socket (global cap 5) was not closed at once: {closed:?}"
    );
    // Upgraded clients do not count: once the pending sockets go, an honest client connects.
    held.clear();
    other.clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ws = loop {
        // The agent notices the closed sockets on its next read of each.
        match tokio::time::timeout(Duration::from_secs(1), upgrade_from("127.0.0.1", port)).await {
            Ok(Ok(ws)) => break ws,
            _ => assert!(Instant::now() < deadline, "slots never came back"),
        }
    };
    next_message(&mut ws, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn unfinished_request_heads_and_idle_keep_alive_are_closed_after_the_timeout() {
    let agent = Agent::start(&["--synthetic-containers", "2"]);
    let port = agent.port;

    let mut slow = connect_from("127.0.0.2", port).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut idle = connect_from("127.0.0.2", port).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "a first request is answered");

    let within = HEADER_READ_TIMEOUT + Duration::from_secs(5);
    let (slow_closed, idle_closed) = tokio::join!(
        closed_within(&mut slow, within),
        closed_within(&mut idle, within)
    );
    for (what, closed) in [
        ("half a header", slow_closed),
        ("idle keep-alive", idle_closed),
    ] {
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after {within:?}"));
        assert!(
            closed >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
            "{what}: closed after {closed:?}, before the timeout"
        );
    }
}

#[tokio::test]
async fn one_peer_cannot_take_every_client_slot() {
    let agent = Agent::start(&[
        "--synthetic-containers",
        "2",
        "--max-clients",
        "4",
        "--max-clients-per-peer",
        "2",
    ]);
    let port = agent.port;
    let _a = upgrade_from("127.0.0.2", port).await.expect("first");
    let _b = upgrade_from("127.0.0.2", port).await.expect("second");
    assert_eq!(
        upgrade_from("127.0.0.2", port).await.err(),
        Some(503),
        "third client from one peer"
    );
    let mut other = upgrade_from("127.0.0.1", port)
        .await
        .expect("another peer still connects");
    next_message(&mut other, Duration::from_secs(3)).await;
}
