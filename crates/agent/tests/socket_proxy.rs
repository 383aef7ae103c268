//! `deploy/socket-proxy/`: a real nginx, started with the exact `ExecStart` of
//! `dockscope-socket-proxy.service`, on the shipped `nginx.conf` (only its runtime directory
//! swapped for a test one; each swap must find its text), in front of the real engine at
//! `/var/run/docker.sock`:
//! - the agent pointed at the proxy socket (`--docker-endpoint unix://…`) streams the real
//!   containers with either collector, and none of the requests it makes is refused;
//! - writes (`POST /containers/create`, kill, exec, delete) and reads the agent does not need
//!   (export, archive, logs, attach, images, info; also spelled with percent-encoding or dot
//!   segments) get 403 from the proxy, while the same engine answers them directly — and the
//!   container the test tried to kill still runs, and the one it tried to create does not exist.
//!
//! Needs nginx and the engine (`scripts/setup.sh`, `scripts/docker-up.sh`); fails, not skips.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{connect, docker, next_message, Agent, Container, IMAGE};
use dockscope_protocol::Message;

/// The engine the proxy fronts (the shipped config's upstream).
const ENGINE_SOCKET: &str = "/var/run/docker.sock";
/// Where the shipped config and unit keep the proxy's socket, pid file and temp files.
const RUNTIME_DIR: &str = "/run/dockscope-socket-proxy/";
/// Label on the container the test asks the proxy to create (it must never exist).
const CREATE_LABEL: &str = "dockscope-test=socket-proxy-create";

fn shipped(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/socket-proxy")
            .join(file),
    )
    .unwrap()
}

/// `ExecStart=` of a unit, split into words the way systemd does for plain and
/// double-quoted words (the only quoting the shipped units use).
fn exec_start(unit: &str) -> Vec<String> {
    let lines: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(lines.len(), 1, "one ExecStart= in the unit: {lines:?}");
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in lines[0].chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    assert!(!quoted, "unbalanced quote in {:?}", lines[0]);
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The proxy nginx, stopped when dropped.
struct Proxy {
    child: Child,
    dir: PathBuf,
}

impl Proxy {
    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Starts nginx as the shipped unit does, on the shipped config moved into a test directory.
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("ds-sockproxy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = format!("{}/", dir.display());
        let mut conf = shipped("nginx.conf");
        let swaps = [
            (RUNTIME_DIR.to_owned(), d.clone()),
            // A log of what the agent asked for, to show none of it was refused.
            (
                "access_log off;".to_owned(),
                format!(
                    "log_format calls '$request_method $request_uri $status';\n    \
                     access_log {d}access.log calls;"
                ),
            ),
        ];
        for (from, to) in swaps {
            assert!(
                conf.contains(&from),
                "deploy/socket-proxy/nginx.conf no longer has {from:?}"
            );
            conf = conf.replace(&from, &to);
        }
        // One process (no master and workers), so killing it leaves nothing behind; it runs as
        // the test's user, root (the unit runs nginx as its own user in the docker group).
        let conf = format!("master_process off;\n{conf}");
        let conf_path = dir.join("socket-proxy.conf");
        std::fs::write(&conf_path, conf).unwrap();

        let mut argv = exec_start(&shipped("dockscope-socket-proxy.service"));
        let at = argv
            .iter()
            .position(|w| w == "/etc/dockscope/socket-proxy.conf")
            .expect("the unit's ExecStart names /etc/dockscope/socket-proxy.conf");
        argv[at] = conf_path.display().to_string();
        assert_eq!(argv[0], "/usr/sbin/nginx", "the unit runs Debian's nginx");
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("error.log")).unwrap(),
            ))
            .spawn()
            .expect("nginx runs (scripts/setup.sh installs it)");
        let proxy = Proxy { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(proxy.socket()).is_err() {
            assert!(
                Instant::now() < deadline,
                "the proxy did not listen: {}",
                std::fs::read_to_string(proxy.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP/1.0 request on a Unix socket: the status code and the body.
fn request(socket: &Path, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // Enough to see the status line and the start of the body; export and logs may stream.
    let mut response = vec![0u8; 64 * 1024];
    let mut read = 0;
    while read < response.len() {
        match stream.read(&mut response[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
        if std::str::from_utf8(&response[..read]).is_ok_and(|t| t.contains("\r\n\r\n")) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response[..read]).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Follows the agent's stream until a batch lists `name` with a memory figure.
async fn streams_container(agent: &Agent, name: &str) {
    let mut ws = connect(&agent.url()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the agent behind the proxy never streamed {name}"
        );
        if let Message::ContainerStatsBatch(b) = next_message(&mut ws, left).await {
            if b.containers
                .iter()
                .any(|c| c.name == name && c.mem_bytes.is_some())
            {
                return;
            }
        }
    }
}

#[tokio::test]
async fn the_agent_streams_through_the_socket_proxy_and_writes_are_refused() {
    let target = Container::run("sockproxy", &[], &["sleep", "100000"]);
    let proxy = Proxy::start();
    let endpoint = format!("unix://{}", proxy.socket().display());

    // Both collectors: cgroup files for figures (the engine for the list and events), and the
    // engine's stats endpoint for everything.
    for collector in ["auto", "docker-api"] {
        let agent = Agent::start(&["--docker-endpoint", &endpoint, "--collector", collector]);
        streams_container(&agent, &target.name).await;
    }

    // Everything the agent asked for passed, and it asked for the calls the config lists.
    // nginx logs a request when it ends: the agents' stats and event streams end when they
    // stop (each dropped above), a moment before nginx writes their lines.
    let stats_call = format!("/containers/{}/stats", target.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut log = proxy.access_log();
    while !(log.contains(&stats_call) && log.contains("/events?"))
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log = proxy.access_log();
    }
    println!("calls the agents made through the proxy:\n{log}");
    let calls: Vec<&str> = log.lines().collect();
    let refused: Vec<&&str> = calls.iter().filter(|l| !l.ends_with(" 200")).collect();
    assert!(
        refused.is_empty(),
        "the proxy refused calls the agent makes: {refused:?}"
    );
    for needed in [
        "GET /version ",
        "/containers/json",
        &format!("/containers/{}/json", target.id),
        &stats_call,
        "/events?",
    ] {
        assert!(
            calls.iter().any(|l| l.contains(needed)),
            "the agent never called {needed:?} through the proxy:\n{log}"
        );
    }

    // A raw client gets the same allowed reads.
    let socket = proxy.socket();
    let (status, body) = request(&socket, "GET", "/v1.41/containers/json", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&target.id), "the listing holds the container");

    let id = &target.id;
    let create = format!(
        r#"{{"Image":"{IMAGE}","Cmd":["sleep","1"],"Labels":{{"dockscope-test":"socket-proxy-create"}}}}"#
    );
    let refused_calls: Vec<(&str, String, String)> = vec![
        ("POST", "/v1.41/containers/create".into(), create.clone()),
        ("POST", "/containers/create".into(), create.clone()),
        (
            "POST",
            format!("/v1.41/containers/{id}/kill"),
            String::new(),
        ),
        (
            "POST",
            format!("/v1.41/containers/{id}/stop"),
            String::new(),
        ),
        (
            "POST",
            format!("/v1.41/containers/{id}/exec"),
            r#"{"Cmd":["true"]}"#.into(),
        ),
        (
            "DELETE",
            format!("/v1.41/containers/{id}?force=1"),
            String::new(),
        ),
        (
            "PUT",
            format!("/v1.41/containers/{id}/archive?path=/"),
            String::new(),
        ),
        (
            "GET",
            format!("/v1.41/containers/{id}/export"),
            String::new(),
        ),
        (
            "GET",
            format!("/v1.41/containers/{id}/archive?path=/"),
            String::new(),
        ),
        (
            "GET",
            format!("/v1.41/containers/{id}/logs?stdout=1"),
            String::new(),
        ),
        (
            "GET",
            format!("/v1.41/containers/{id}/attach/ws?stream=1"),
            String::new(),
        ),
        ("GET", format!("/v1.41/containers/{id}/top"), String::new()),
        ("GET", "/v1.41/images/json".into(), String::new()),
        ("GET", "/v1.41/info".into(), String::new()),
        ("GET", "/v1.41/secrets".into(), String::new()),
        // Allowed-looking spellings of other endpoints.
        (
            "GET",
            format!("/v1.41/containers/{id}/json/../export"),
            String::new(),
        ),
        (
            "GET",
            format!("/v1.41/containers/{id}%2Fexport/json"),
            String::new(),
        ),
        (
            "GET",
            "/v1.41/containers/x%2F..%2F..%2Fimages%2Fjson/json".into(),
            String::new(),
        ),
        (
            "GET",
            "/v1.41/containers/json/../../images/json".into(),
            String::new(),
        ),
        ("GET", "/v1.41/./images/json".into(), String::new()),
        ("GET", "//v1.41/images/json".into(), String::new()),
    ];
    for (method, path, body) in &refused_calls {
        let (status, text) = request(&socket, method, path, body);
        assert_eq!(
            status, 403,
            "{method} {path} through the proxy must be refused: {text}"
        );
        assert!(
            text.contains("refused by the Dockscope socket proxy"),
            "{method} {path}: the refusal says why: {text}"
        );
    }

    // The engine itself would have answered: it is the proxy that refused.
    let (status, text) = request(Path::new(ENGINE_SOCKET), "GET", "/v1.41/images/json", "");
    assert_eq!(status, 200, "the engine answers directly: {text}");
    let (status, text) = request(Path::new(ENGINE_SOCKET), "GET", "/v1.41/info", "");
    assert_eq!(status, 200, "the engine answers directly: {text}");

    // Nothing was created, the target was not killed.
    let created = docker(&["ps", "-aq", "--filter", &format!("label={CREATE_LABEL}")]);
    assert!(created.is_empty(), "a container was created: {created}");
    let running = docker(&["inspect", "-f", "{{.State.Running}}", &target.name]);
    assert_eq!(running, "true", "the container the test tried to kill");
}
