//! Shared helpers for tests that run the real agent binary against the real Docker engine.
//! `scripts/docker-up.sh` (run by `scripts/test.sh`) starts dockerd and builds the
//! `dockscope-test-busybox` image; these tests fail, not skip, when the engine is missing.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

pub mod cli;
pub mod fake_engine;
pub mod flood;
pub mod truth;

#[allow(unused_imports, reason = "each test binary uses a different subset")]
pub use cli::{docker, docker_command, docker_on};

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dockscope_protocol::{decode, ContainerStatsBatch, Message};
use futures_util::StreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const IMAGE: &str = "dockscope-test-busybox";

/// A free loopback port (bound, then released for the agent to take). Never the same port twice
/// in one test binary: the kernel may hand a just-released port to the next `bind(0)`, and two
/// tests running in parallel would then start their agents on one port.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// The agent binary, killed when dropped.
pub struct Agent {
    pub child: Child,
    pub port: u16,
}

impl Agent {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_stderr(extra, Stdio::inherit())
    }

    /// Starts the agent with its log going to `log` (read it with `std::fs::read_to_string`).
    pub fn start_logged(extra: &[&str], log: &std::path::Path) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        Self::start_with_stderr(extra, Stdio::from(file))
    }

    fn start_with_stderr(extra: &[&str], stderr: Stdio) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--agent-id",
                "it-agent",
            ])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("agent starts");
        let mut agent = Agent { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listening(port) {
            // Exited, e.g. because something else took the port: say so rather than wait.
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("agent exited ({status}) before listening on {port}; see its log above");
            }
            assert!(Instant::now() < deadline, "agent did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size of the agent process.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// Whether something listens on loopback `port`. A connection whose own port is `port` is
/// not it: the kernel may pick the very port being waited for as the ephemeral source of a
/// connect to it, and with nothing listening yet the socket connects to itself (TCP
/// simultaneous open). That once let a test's clients race the agent's bind and be refused.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|s| s.local_addr().is_ok_and(|local| local.port() != port))
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    ws
}

/// Next decoded protocol message, failing the test after `within`.
pub async fn next_message(ws: &mut Ws, within: Duration) -> Message {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("frame ok");
        if let WsMessage::Text(text) = frame {
            return decode(text.as_str()).expect("agent sends valid messages");
        }
    }
}

/// Next batch (skipping statuses), with the instant it arrived.
pub async fn next_batch(ws: &mut Ws, within: Duration) -> (ContainerStatsBatch, Instant) {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Message::ContainerStatsBatch(batch) = next_message(ws, left).await {
            return (batch, Instant::now());
        }
    }
}

/// A client that reads its socket in a task of its own, whatever the test does meanwhile, so it
/// answers the agent's pings (tungstenite replies on its next read) and is never dropped as
/// silent while the test waits for an engine or a `docker` command. The test takes messages,
/// stamped with the instant they arrived, from a queue. Blocking work belongs in [`blocking`]
/// so the runtime keeps polling this reader; use a multi-thread runtime for good measure.
pub struct Feed {
    /// Decoded messages and their arrival, or why the stream ended (the last item).
    rx: tokio::sync::mpsc::UnboundedReceiver<Result<(Message, Instant), String>>,
    /// The reading task; aborted on drop.
    reader: tokio::task::JoinHandle<()>,
}

impl Feed {
    pub async fn connect(url: &str) -> Self {
        Self::spawn(connect(url).await)
    }

    pub fn spawn(mut ws: Ws) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let end = loop {
                match ws.next().await {
                    Some(Ok(WsMessage::Text(text))) => match decode(text.as_str()) {
                        Ok(message) => {
                            if tx.send(Ok((message, Instant::now()))).is_err() {
                                return;
                            }
                        }
                        Err(e) => break format!("the agent sent an invalid message ({e}): {text}"),
                    },
                    Some(Ok(WsMessage::Close(frame))) => {
                        break format!("the agent closed the stream: {frame:?}")
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("the stream failed: {e}"),
                    None => break "the stream ended".to_owned(),
                }
            };
            let _ = tx.send(Err(end));
        });
        Self { rx, reader }
    }

    /// The next message and its arrival; panics when none comes within `within` or the stream
    /// ended.
    pub async fn next(&mut self, within: Duration) -> (Message, Instant) {
        match tokio::time::timeout(within, self.rx.recv()).await {
            Ok(Some(Ok(item))) => item,
            Ok(Some(Err(end))) => panic!("{end}"),
            Ok(None) => panic!("the reader task is gone"),
            Err(_) => panic!("no message from the agent within {within:?}"),
        }
    }

    /// The next batch (skipping statuses) and its arrival.
    pub async fn next_batch(&mut self, within: Duration) -> (ContainerStatsBatch, Instant) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let (Message::ContainerStatsBatch(batch), at) = self.next(left).await {
                return (batch, at);
            }
        }
    }

    /// Messages until `check` returns `Some`, at most `within` in all; panics naming `what`.
    pub async fn until<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut check: impl FnMut(&Message, Instant) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (message, at) = match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(Ok(item))) => item,
                Ok(Some(Err(end))) => panic!("waiting for {what}: {end}"),
                Ok(None) => panic!("waiting for {what}: the reader task is gone"),
                Err(_) => panic!("{what}: not seen within {within:?}"),
            };
            if let Some(found) = check(&message, at) {
                return found;
            }
        }
    }

    /// Whether the stream is still open (nothing queued says it ended).
    pub fn open(&self) -> bool {
        !self.reader.is_finished()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Runs blocking work (a `docker` command, a script, a sleep) off the async threads, so
/// [`Feed`] readers keep answering pings meanwhile.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The collector feature the agent's automatic choice must announce on this host: the cgroup
/// collector of the version the host mounts at /sys/fs/cgroup.
pub fn host_cgroup_collector() -> &'static str {
    let root = std::path::Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        "collector:cgroup-v2"
    } else {
        assert!(
            root.join("memory").is_dir(),
            "neither cgroup v2 nor a v1 memory controller at /sys/fs/cgroup"
        );
        "collector:cgroup-v1"
    }
}

/// A container removed (forcibly) when dropped.
pub struct Container {
    pub name: String,
    pub id: String,
}

impl Container {
    /// `docker run -d --name <unique> <run_args…> IMAGE <cmd…>`.
    pub fn run(label: &str, run_args: &[&str], cmd: &[&str]) -> Self {
        Self::named(
            format!("ds-it-{}-{label}", std::process::id()),
            run_args,
            cmd,
        )
    }

    /// [`Container::run`] under exactly `name` (a leftover of that name is removed first).
    pub fn named(name: String, run_args: &[&str], cmd: &[&str]) -> Self {
        let _ = docker_command().args(["rm", "-f", &name]).output();
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(run_args);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        let id = docker(&args);
        Container { name, id }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker_command().args(["rm", "-f", &self.name]).output();
    }
}

/// "64.85MiB / 23.54GiB" (a `docker stats` MemUsage cell) → bytes of the first figure.
pub fn parse_size(usage: &str) -> f64 {
    let first = usage.split('/').next().unwrap().trim();
    let split = first.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (number, unit) = first.split_at(split);
    let scale = match unit {
        "B" => 1.0,
        "KiB" | "kB" => 1024.0,
        "MiB" | "MB" => 1_048_576.0,
        "GiB" | "GB" => 1_073_741_824.0,
        other => panic!("unknown unit {other} in {usage:?}"),
    };
    number.parse::<f64>().unwrap() * scale
}

/// The `collector:<name>` feature of the first `agent_status` on `ws`.
pub async fn collector_feature(ws: &mut Ws) -> String {
    loop {
        if let Message::AgentStatus(s) = next_message(ws, Duration::from_secs(3)).await {
            return s
                .features
                .into_iter()
                .find(|f| f.starts_with("collector:"))
                .expect("agent_status names its collector");
        }
    }
}

/// A fresh self-signed certificate for localhost/127.0.0.1 made with the openssl CLI.
pub fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    (cert, key)
}

pub fn client_trusting(cert: &std::path::Path) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// `GET path` over plain HTTP/1.0: (status code, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    try_http_get(port, path).unwrap_or_else(|e| panic!("GET {path} on port {port}: {e}"))
}

/// [`http_get`] that reports a refused or reset connection instead of panicking: a
/// published port accepts (docker-proxy) and resets before the process inside listens.
pub fn try_http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(status_and_body(&response))
}

/// A whole HTTP/1.x response's status code (0 when there is none) and body.
pub fn status_and_body(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
