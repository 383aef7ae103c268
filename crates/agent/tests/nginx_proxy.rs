//! `deploy/nginx/dockscope.conf`, the reverse-proxy alternative to the agent's own token and
//! TLS, run by a real nginx in front of a real agent. The file is used as shipped, with only
//! its host-specific values swapped for test ones (each swap must find its text, so the test
//! fails when the file changes shape): clients must pass basic auth over TLS, then get the
//! stream at `/agents/local/ws`; `/healthz` is not proxied.
//!
//! Needs nginx (`scripts/setup.sh` installs it); fails, not skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client_trusting, free_port, self_signed, Agent};
use dockscope_protocol::{decode, Message};
use futures_util::StreamExt;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// `ops:secret`, base64: the `Authorization: Basic` credentials of the test's htpasswd.
const BASIC_AUTH: &str = "Basic b3BzOnNlY3JldA==";

/// nginx in the foreground, stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped config with its host-specific values replaced, inside a minimal main config
/// whose files all live in `dir`.
fn config(dir: &Path, agent_port: u16, listen_port: u16, cert: &Path, key: &Path) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/dockscope.conf"),
    )
    .unwrap();
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, "ops:{PLAIN}secret\n").unwrap();
    let swaps = [
        (
            "server 127.0.0.1:8080;".to_owned(),
            format!("server 127.0.0.1:{agent_port};"),
        ),
        (
            "listen 443 ssl;".to_owned(),
            format!("listen 127.0.0.1:{listen_port} ssl;"),
        ),
        (
            "/etc/ssl/dockscope/fullchain.pem".to_owned(),
            cert.display().to_string(),
        ),
        (
            "/etc/ssl/dockscope/privkey.pem".to_owned(),
            key.display().to_string(),
        ),
        (
            "/etc/nginx/dockscope.htpasswd".to_owned(),
            htpasswd.display().to_string(),
        ),
    ];
    let mut site = shipped;
    for (from, to) in swaps {
        assert!(
            site.contains(&from),
            "deploy/nginx/dockscope.conf no longer has {from:?}"
        );
        site = site.replace(&from, &to);
    }
    let d = dir.display();
    format!(
        "user root;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
         access_log {d}/access.log;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         {site}\n}}\n"
    )
}

/// One HTTPS request through nginx: the status code.
async fn https_status(tls: &TlsConnector, port: u16, path: &str, auth: bool) -> u16 {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut stream = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let auth = if auth {
        format!("Authorization: {BASIC_AUTH}\r\n")
    } else {
        String::new()
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A WebSocket through nginx at `/agents/local/ws`; `Err` carries why the upgrade failed.
async fn stream(
    tls: &TlsConnector,
    port: u16,
    auth: bool,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
    String,
> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut request = format!("wss://localhost:{port}/agents/local/ws")
        .into_client_request()
        .unwrap();
    if auth {
        request
            .headers_mut()
            .insert("Authorization", HeaderValue::from_static(BASIC_AUTH));
    }
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_shipped_nginx_config_proxies_the_stream_behind_tls_and_a_password() {
    let dir = std::env::temp_dir().join(format!("ds-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir);
    let agent = Agent::start(&["--synthetic-containers", "3"]);
    let port = free_port();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(&dir, agent.port, port, &cert, &key)).unwrap();

    let nginx = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx runs (scripts/setup.sh installs it)");
    let _nginx = Nginx(nginx);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tls = client_trusting(&cert);

    // Without the password: refused before reaching the agent.
    let refused = stream(&tls, port, false).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("401")),
        "no password must give 401: {:?}",
        refused.err()
    );

    // With it: agent_status, then a batch of the agent's containers, over wss through nginx.
    let mut ws = stream(&tls, port, true).await.expect("wss through nginx");
    let (mut status, mut batch) = (false, false);
    while !(status && batch) {
        let frame = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .expect("a frame through nginx within 3 s")
            .unwrap()
            .unwrap();
        if let WsMessage::Text(text) = frame {
            match decode(text.as_str()).unwrap() {
                Message::AgentStatus(s) => status = s.agent_id == "it-agent",
                Message::ContainerStatsBatch(b) => batch = b.containers.len() == 3,
                Message::Unknown => {}
            }
        }
    }

    // The agent's loopback-only health endpoint stays private (`return` runs before the
    // password check, so it is 404 either way).
    assert_eq!(https_status(&tls, port, "/healthz", true).await, 404);
    assert_eq!(https_status(&tls, port, "/healthz", false).await, 404);
    let _ = std::fs::remove_dir_all(&dir);
}
