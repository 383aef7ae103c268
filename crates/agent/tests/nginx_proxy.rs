//! `deploy/nginx/dockscope.conf`, the reverse-proxy alternative to the agent's own token and
//! TLS, run by a real nginx in front of a real agent (`--serve-ui`). The file is used as
//! shipped, with only its host-specific values swapped for test ones (each swap must find its
//! text, so the test fails when the file changes shape):
//! - clients must pass basic auth over TLS, then get the stream at `/agents/local/ws`;
//! - the page served at `/` reaches its agent the way the dashboard does: `/agent.json`, then
//!   the WebSocket at its `ws_path`, through nginx, from the page's origin;
//! - `/healthz` is unreachable through every spelling of every proxied path, while the same
//!   agent answers it to a direct loopback request (so the check can tell the two apart).
//!
//! Needs nginx (`scripts/setup.sh` installs it) and the built dashboard (`scripts/build.sh`;
//! `scripts/test.sh` builds it first); fails, not skips, without them.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client_trusting, free_port, self_signed, Agent};
use dockscope_protocol::{decode, AgentInfo, Message, AGENT_INFO_PATH};
use futures_util::StreamExt;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// `ops:secret`, base64: the `Authorization: Basic` credentials of the test's htpasswd.
const BASIC_AUTH: &str = "Basic b3BzOnNlY3JldA==";

/// A field only the agent's `/healthz` JSON carries.
const HEALTHZ_MARKER: &str = "\"engine_reachable\"";

/// nginx in the foreground, stopped when dropped. The test config runs it as one process
/// (`master_process off`), so killing it leaves no worker behind.
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
        "user root;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
         access_log {d}/access.log;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         {site}\n}}\n"
    )
}

/// A real agent serving the dashboard behind the shipped nginx config.
struct Proxied {
    agent: Agent,
    /// nginx's TLS port on 127.0.0.1.
    port: u16,
    tls: TlsConnector,
    dir: PathBuf,
    _nginx: Nginx,
}

impl Proxied {
    async fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ds-nginx-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = self_signed(&dir);
        let port = free_port();
        // As the config's header says: only the page nginx serves may open the stream.
        let origin = format!("https://localhost:{port}");
        let agent = Agent::start(&[
            "--synthetic-containers",
            "3",
            "--serve-ui",
            "--allowed-origins",
            &origin,
        ]);
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
        let nginx = Nginx(nginx);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !common::listening(port) {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let tls = client_trusting(&cert);
        Proxied {
            agent,
            port,
            tls,
            dir,
            _nginx: nginx,
        }
    }

    /// One HTTPS request through nginx, `path` sent exactly as given: status and body.
    async fn request(&self, method: &str, path: &str, auth: bool) -> (u16, String) {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut stream = self
            .tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let auth = if auth {
            format!("Authorization: {BASIC_AUTH}\r\n")
        } else {
            String::new()
        };
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: localhost\r\n{auth}Content-Length: 0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        common::status_and_body(&response)
    }

    /// A WebSocket through nginx at `path`, sent from the page's origin; `Err` carries why the
    /// upgrade failed.
    async fn stream(&self, path: &str, auth: bool) -> Result<TlsWs, String> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let tls = self
            .tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let mut request = format!("wss://localhost:{}{path}", self.port)
            .into_client_request()
            .unwrap();
        let origin = format!("https://localhost:{}", self.port);
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(&origin).unwrap());
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

    /// The agent's `/healthz`, asked directly from loopback (not through nginx).
    fn direct_healthz(&self) -> (u16, String) {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", self.agent.port)).unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        let _ = tcp.read_to_string(&mut text);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }
}

impl Drop for Proxied {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type TlsWs =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// Reads until both an `agent_status` of the test agent and a batch of its 3 containers came.
async fn status_and_batch(ws: &mut TlsWs) {
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
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn the_shipped_nginx_config_proxies_the_stream_behind_tls_and_a_password() {
    let proxied = Proxied::start("stream").await;

    // Without the password: refused before reaching the agent.
    let refused = proxied.stream("/agents/local/ws", false).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("401")),
        "no password must give 401: {:?}",
        refused.err()
    );

    // With it: agent_status, then a batch of the agent's containers, over wss through nginx.
    let mut ws = proxied
        .stream("/agents/local/ws", true)
        .await
        .expect("wss through nginx");
    status_and_batch(&mut ws).await;
}

#[tokio::test]
async fn the_page_served_at_root_through_nginx_reaches_its_agent() {
    let proxied = Proxied::start("page").await;

    // The page itself, and the file it asks the agent for to find its stream.
    let (status, html) = proxied.request("GET", "/", true).await;
    assert_eq!(status, 200, "the dashboard through nginx: {html}");
    assert!(
        html.contains("<html"),
        "`/` through nginx is the dashboard page: {html}"
    );
    let (status, json) = proxied.request("GET", AGENT_INFO_PATH, true).await;
    assert_eq!(status, 200, "{AGENT_INFO_PATH} through nginx: {json}");
    let info: AgentInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(info.agent_id, "it-agent");

    // The stream at that path on the page's own origin, as the page opens it.
    let mut ws = proxied
        .stream(&info.ws_path, true)
        .await
        .unwrap_or_else(|e| panic!("the page's stream at {} through nginx: {e}", info.ws_path));
    status_and_batch(&mut ws).await;

    // The dashboard only reads: other methods stop at nginx.
    let (status, _) = proxied.request("POST", "/", true).await;
    assert_eq!(status, 403, "POST / through nginx");
}

#[tokio::test]
async fn healthz_is_unreachable_through_every_proxied_path() {
    let proxied = Proxied::start("healthz").await;

    // The agent does answer /healthz to a loopback peer — and nginx is one, so only the
    // config keeps it out of reach.
    let (status, body) = proxied.direct_healthz();
    assert_eq!(status, 200, "direct /healthz: {body}");
    assert!(body.contains(HEALTHZ_MARKER), "direct /healthz: {body}");

    let spellings = [
        "/healthz",
        "/healthz/",
        "/healthz?x",
        "/healthz%3Fx",
        "//healthz",
        "/./healthz",
        "/%2E/healthz",
        "/%68ealthz",
        "/%2Fhealthz",
        "/x/../healthz",
        "/x/..%2Fhealthz",
        "/ws/../healthz",
        "/agents/local/healthz",
        "/agents/local/healthz/",
        "/agents/local/healthz?x",
        "/agents/local//healthz",
        "/agents/local/./healthz",
        "/agents/local/%2E/healthz",
        "/agents/local%2Fhealthz",
        "/agents/local/%2Fhealthz",
        "/agents/local/%68ealthz",
        "/agents/local/ws/../healthz",
        "/agents/local/ws/..%2Fhealthz",
        "/agents/x/../local/healthz",
        "/agents/local/ws%2F..%2Fhealthz",
    ];
    let mut reached = Vec::new();
    for path in spellings {
        for auth in [true, false] {
            let (status, body) = proxied.request("GET", path, auth).await;
            if status == 200 || body.contains(HEALTHZ_MARKER) {
                reached.push(format!("{path} (auth {auth}): {status} {body}"));
            }
        }
    }
    assert!(
        reached.is_empty(),
        "/healthz reached through nginx:\n{}",
        reached.join("\n")
    );

    // Nothing else of an agent is published under /agents/ but its stream.
    for path in [
        "/agents/local/",
        "/agents/local/agent.json",
        "/agents/local",
    ] {
        let (status, body) = proxied.request("GET", path, true).await;
        assert_eq!(status, 404, "{path} through nginx: {body}");
    }
}
