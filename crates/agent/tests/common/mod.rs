//! Shared helpers for tests that run the real agent binary against the real Docker engine.
//! `scripts/docker-up.sh` (run by `scripts/test.sh`) starts dockerd and builds the
//! `dockscope-test-busybox` image; these tests fail, not skip, when the engine is missing.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

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

/// A free loopback port (bound, then released for the agent to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        let agent = Agent { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
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

/// Runs the docker CLI, panicking with its stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A container removed (forcibly) when dropped.
pub struct Container {
    pub name: String,
    pub id: String,
}

impl Container {
    /// `docker run -d --name <unique> <run_args…> IMAGE <cmd…>`.
    pub fn run(label: &str, run_args: &[&str], cmd: &[&str]) -> Self {
        let name = format!("ds-it-{}-{label}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
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
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
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
