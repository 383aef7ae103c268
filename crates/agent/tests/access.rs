//! Hostile and careless clients against the real agent binary: tokens, origins, limits on
//! inbound frames and clients, malformed requests, and shutdown. Uses the synthetic collector
//! so nothing here depends on the Docker engine.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::time::Duration;

use common::{next_message, Agent};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

const SYNTH: [&str; 2] = ["--synthetic-containers", "3"];

/// Opens a WebSocket with extra headers; `Err(status)` when the agent refuses the upgrade.
async fn open(url: &str, headers: &[(&str, &str)]) -> Result<(common::Ws, Option<String>), u16> {
    let mut request = url.into_client_request().unwrap();
    for (k, v) in headers {
        // insert, not append: a test's Host replaces the one taken from the URL
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, response)) => {
            let protocol = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_owned());
            Ok((ws, protocol))
        }
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("unexpected handshake failure: {e}"),
    }
}

#[tokio::test]
async fn token_is_required_when_set_and_never_logged() {
    let log = std::env::temp_dir().join(format!("ds-token-{}.log", std::process::id()));
    let agent = Agent::start_logged(&[&SYNTH[..], &["--token", "s3cret-Token"]].concat(), &log);
    let url = agent.url();
    assert_eq!(open(&url, &[]).await.err(), Some(401), "no token");
    assert_eq!(
        open(&format!("{url}?token=guess"), &[]).await.err(),
        Some(401),
        "wrong query token"
    );
    assert_eq!(
        open(
            &url,
            &[(
                "sec-websocket-protocol",
                "dockscope, dockscope-token.wrong-guess"
            )]
        )
        .await
        .err(),
        Some(401),
        "wrong subprotocol token"
    );

    let (mut ws, protocol) = open(&format!("{url}?token=s3cret-Token"), &[])
        .await
        .expect("query token");
    assert_eq!(protocol, None);
    next_message(&mut ws, Duration::from_secs(2)).await;

    let (mut ws, protocol) = open(
        &url,
        &[(
            "sec-websocket-protocol",
            "dockscope, dockscope-token.s3cret-Token",
        )],
    )
    .await
    .expect("subprotocol token");
    assert_eq!(
        protocol.as_deref(),
        Some("dockscope"),
        "agent must answer the plain subprotocol"
    );
    next_message(&mut ws, Duration::from_secs(2)).await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("missing or wrong token"),
        "refusals are logged:\n{text}"
    );
    for secret in ["s3cret-Token", "wrong-guess", "guess"] {
        assert!(!text.contains(secret), "log leaks {secret:?}:\n{text}");
    }
}

#[tokio::test]
async fn only_allowed_origins_may_connect_from_a_browser() {
    let agent = Agent::start(
        &[
            &SYNTH[..],
            &[
                "--allowed-origins",
                "https://ops.example.com,http://localhost:3000",
            ],
        ]
        .concat(),
    );
    let url = agent.url();
    assert_eq!(
        open(&url, &[("origin", "https://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert!(open(&url, &[("origin", "https://ops.example.com")])
        .await
        .is_ok());
    assert!(open(&url, &[("origin", "http://localhost:3000")])
        .await
        .is_ok());
    assert!(
        open(&url, &[]).await.is_ok(),
        "non-browser clients send no Origin"
    );

    // DNS rebinding: a page on evil.test:PORT whose name now points at the agent. The browser
    // sends matching Origin and Host, both chosen by the attacker.
    let port = agent.port;
    let evil = format!("evil.test:{port}");
    assert_eq!(
        open(
            &url,
            &[("origin", &format!("http://{evil}")), ("host", &evil)]
        )
        .await
        .err(),
        Some(403),
        "a rebinding page must not be taken for the agent's own"
    );
    // The agent's own page, opened by address or as localhost, still connects.
    for own in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let (mut ws, _) = open(
            &url,
            &[("origin", &format!("http://{own}")), ("host", &own)],
        )
        .await
        .unwrap_or_else(|status| panic!("own page at {own} refused with {status}"));
        next_message(&mut ws, Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn oversized_and_flooding_clients_are_closed_with_the_right_code() {
    let agent = Agent::start(&SYNTH);
    let (mut big, _) = open(&agent.url(), &[]).await.unwrap();
    big.send(WsMessage::text("x".repeat(5_000))).await.unwrap();
    assert_eq!(close_code(&mut big).await, Some(CloseCode::Size));

    let (mut chatty, _) = open(&agent.url(), &[]).await.unwrap();
    for _ in 0..100 {
        if chatty.send(WsMessage::text("{\"hello\":1}")).await.is_err() {
            break;
        }
    }
    assert_eq!(close_code(&mut chatty).await, Some(CloseCode::Policy));

    // A few small unknown messages are ignored and the stream goes on.
    let (mut polite, _) = open(&agent.url(), &[]).await.unwrap();
    for _ in 0..3 {
        polite
            .send(WsMessage::text("{\"type\":\"subscribe\"}"))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        next_message(&mut polite, Duration::from_secs(2)).await;
    }
}

/// Reads until the agent's close frame; its code.
async fn close_code(ws: &mut common::Ws) -> Option<CloseCode> {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(WsMessage::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("agent closed the connection in time")
}

#[tokio::test]
async fn clients_beyond_max_clients_get_503() {
    let agent = Agent::start(&[&SYNTH[..], &["--max-clients", "2"]].concat());
    let (_a, _) = open(&agent.url(), &[]).await.unwrap();
    let (_b, _) = open(&agent.url(), &[]).await.unwrap();
    assert_eq!(open(&agent.url(), &[]).await.err(), Some(503));
    drop(_a);
    // The slot is released once the agent notices the client left.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(open(&agent.url(), &[]).await.is_ok());
}

#[tokio::test]
async fn malformed_requests_get_4xx_and_the_agent_lives_on() {
    let mut agent = Agent::start(&SYNTH);
    let cases: [(&[u8], &str); 4] = [
        (b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 4"),
        (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "HTTP/1.1 4"),
        (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 99\r\n\r\n", "HTTP/1.1 4"),
        (b"\x16\x03\x01garbage that is not HTTP\r\n\r\n", "HTTP/1.1 400"),
    ];
    for (request, want) in cases {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", agent.port))
            .await
            .unwrap();
        tcp.write_all(request).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(
            head.starts_with(want),
            "{:?} answered {head:?}",
            String::from_utf8_lossy(request)
        );
    }
    assert!(agent.alive());
    let (mut ws, _) = open(&agent.url(), &[]).await.unwrap();
    next_message(&mut ws, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn sigterm_closes_clients_with_a_close_frame() {
    let mut agent = Agent::start(&SYNTH);
    let (mut ws, _) = open(&agent.url(), &[]).await.unwrap();
    next_message(&mut ws, Duration::from_secs(2)).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &agent.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
    let exited = tokio::time::timeout(Duration::from_secs(5), async {
        while agent.alive() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(exited.is_ok(), "agent did not exit after SIGTERM");
    assert!(agent.child.wait().unwrap().success(), "clean exit code");
}

#[tokio::test]
async fn healthz_on_a_dual_stack_socket_answers_ipv4_loopback() {
    // On [::] an IPv4 client's address is IPv4-mapped: ::ffff:127.0.0.1.
    let port = common::free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .args(["--listen", &format!("[::]:{port}")])
        .args(["--synthetic-containers", "1", "--log-level", "warn"])
        .env("NO_COLOR", "1")
        .spawn()
        .unwrap();
    // Killed when dropped, also if an assertion fails.
    let _agent = Agent { child, port };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut tcp = loop {
        if let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            break tcp;
        }
        assert!(std::time::Instant::now() < deadline, "agent never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tcp.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(3), tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    assert!(response.contains("\"agent_id\""), "{response}");
}

#[tokio::test]
async fn an_open_agent_warns_who_can_read_it_and_a_locked_one_does_not() {
    let dir = std::env::temp_dir();
    let open_log = dir.join(format!("ds-open-{}.log", std::process::id()));
    let locked_log = dir.join(format!("ds-locked-{}.log", std::process::id()));
    let open_agent = Agent::start_logged(&SYNTH, &open_log);
    let locked = Agent::start_logged(
        &[
            &SYNTH[..],
            &[
                "--token",
                "s3cret-Token",
                "--allowed-origins",
                "https://ops.example.com",
            ],
        ]
        .concat(),
        &locked_log,
    );
    // Both are up (listening), so their start-up lines are written.
    let (mut a, _) = open(&open_agent.url(), &[]).await.unwrap();
    next_message(&mut a, Duration::from_secs(2)).await;
    let (mut b, _) = open(&format!("{}?token=s3cret-Token", locked.url()), &[])
        .await
        .unwrap();
    next_message(&mut b, Duration::from_secs(2)).await;
    let open_text = std::fs::read_to_string(&open_log).unwrap();
    assert!(
        open_text.contains("no --token and no --allowed-origins")
            && open_text.contains("any web page open in a browser"),
        "{open_text}"
    );
    let locked_text = std::fs::read_to_string(&locked_log).unwrap();
    assert!(
        locked_text.contains("dockscope agent started")
            && !locked_text.contains("can read container names"),
        "{locked_text}"
    );
}
