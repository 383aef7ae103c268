//! The shipped systemd units, checked with Debian's `systemd-analyze` (PID 1 here is not
//! systemd, so the units cannot be started; `verify` and the offline `security` report can run):
//! - `deploy/systemd/dockscope-agent.service`, alone and with the socket-proxy drop-in, and
//!   `deploy/socket-proxy/dockscope-socket-proxy.service` pass `systemd-analyze verify` without
//!   a single warning (an unknown key or syscall group is only a warning there), with their
//!   programs pointed at real binaries (each swap must find its text);
//! - their sandboxes rate "OK" or better in `systemd-analyze security --offline=yes`;
//! - the agent's unit really works with a dynamic user and a credential: the agent, started
//!   with exactly the unit's `ExecStart` and `Environment=` (the listen address moved to a free
//!   loopback port, `%d` to a credentials directory holding the `LoadCredential=` file), serves
//!   the dashboard, refuses a client without the token and streams to one with it;
//! - the unit's `SystemCallFilter=` lets through every system call that agent makes (traced
//!   with strace through its whole job and a SIGTERM).
//!
//! Needs `systemd-analyze` and `strace` (`scripts/setup.sh` installs Debian's `systemd` and
//! `strace`) and the built dashboard (`scripts/build.sh`); fails, not skips, without them.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, next_message};
use dockscope_protocol::{Message, TOKEN_SUBPROTOCOL_PREFIX};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const AGENT_UNIT: &str = "deploy/systemd/dockscope-agent.service";
const PROXY_UNIT: &str = "deploy/socket-proxy/dockscope-socket-proxy.service";
const DROP_IN: &str = "deploy/socket-proxy/agent-drop-in.conf";
/// Where the agent's unit expects the binary.
const INSTALLED_AGENT: &str = "/usr/local/bin/dockscope-agent";
/// Highest `systemd-analyze security` exposure still rated "OK" (systemd's own scale).
const MAX_EXPOSURE: f64 = 2.0;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap()
}

/// The two tests that start the unit's agent run one after the other: in parallel on a cold CI
/// run, the plain one found its agent gone (not yet understood; serialised meanwhile).
static UNIT_AGENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-systemd-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `text` with each `(from, to)` replaced; every `from` must be there.
fn swapped(file: &str, text: &str, swaps: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in swaps {
        assert!(text.contains(from), "{file} no longer has {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// Values of every `Key=` line of a unit, in order.
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .collect()
}

/// Runs `systemd-analyze verify` on unit files: it must succeed and print nothing.
fn verify(units: &[&Path]) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units)
        .output()
        .expect("systemd-analyze runs (scripts/setup.sh installs Debian's systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify {units:?} (exit {:?}):\n{said}",
        out.status.code()
    );
}

/// The overall exposure `systemd-analyze security --offline=yes` gives a unit file.
fn exposure(unit: &Path) -> f64 {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit)
        .output()
        .expect("systemd-analyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no exposure in:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    line.rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure in {line:?}"))
}

#[test]
fn the_shipped_units_verify_cleanly_and_are_sandboxed() {
    let dir = scratch("verify");
    let agent_bin = env!("CARGO_BIN_EXE_dockscope-agent");
    let agent = dir.join("dockscope-agent.service");
    std::fs::write(
        &agent,
        swapped(
            AGENT_UNIT,
            &read(AGENT_UNIT),
            &[(INSTALLED_AGENT, agent_bin)],
        ),
    )
    .unwrap();
    // The proxy's nginx is Debian's, installed where the unit says.
    let proxy = dir.join("dockscope-socket-proxy.service");
    std::fs::copy(repo(PROXY_UNIT), &proxy).unwrap();
    verify(&[&agent, &proxy]);

    // The drop-in, where systemd looks for it, verified with the unit it changes.
    let drop_in_dir = dir.join("dockscope-agent.service.d");
    std::fs::create_dir_all(&drop_in_dir).unwrap();
    std::fs::copy(repo(DROP_IN), drop_in_dir.join("socket-proxy.conf")).unwrap();
    verify(&[&agent]);

    for unit in [&agent, &proxy] {
        let level = exposure(unit);
        println!("{}: exposure {level}", unit.display());
        assert!(
            level <= MAX_EXPOSURE,
            "{} rates {level} (> {MAX_EXPOSURE}, not OK) in systemd-analyze security",
            unit.display()
        );
    }

    // What the issue asks of the agent's sandbox is there (verify cannot tell a missing line).
    let unit = read(AGENT_UNIT);
    for line in [
        "DynamicUser=yes",
        "LoadCredential=token:/etc/dockscope/token",
        "CapabilityBoundingSet=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "{AGENT_UNIT} lacks {line:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The agent started as the unit starts it, killed when dropped.
struct UnitAgent {
    child: Child,
    port: u16,
    /// The token written into the credentials directory.
    token: String,
    /// The agent's stderr.
    log: PathBuf,
}

impl Drop for UnitAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl UnitAgent {
    /// Runs the unit's exact `ExecStart` (after `wrapper`, e.g. strace) with its `Environment=`,
    /// the listen address moved to a free loopback port and `%d` to a credentials directory in
    /// `dir` holding the `LoadCredential=` file; waits until it listens.
    async fn start(dir: &Path, wrapper: &[&str]) -> Self {
        let unit = read(AGENT_UNIT);

        // The credential, as systemd hands it over: a file named after it in a private directory.
        let credentials = dir.join("credentials");
        std::fs::create_dir_all(&credentials).unwrap();
        let load = values(&unit, "LoadCredential");
        assert_eq!(
            load.len(),
            1,
            "one LoadCredential= in {AGENT_UNIT}: {load:?}"
        );
        let (name, source) = load[0].split_once(':').unwrap();
        assert_eq!(source, "/etc/dockscope/token");
        let token = format!("unit-token-{}", std::process::id());
        std::fs::write(credentials.join(name), format!("{token}\n")).unwrap();

        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let credentials_dir = credentials.display().to_string();
        let agent_bin = env!("CARGO_BIN_EXE_dockscope-agent");
        let exec = values(&unit, "ExecStart");
        assert_eq!(exec.len(), 1, "one ExecStart= in {AGENT_UNIT}: {exec:?}");
        assert!(
            !exec[0].contains('"') && !exec[0].contains('\''),
            "ExecStart is split on spaces here; quoting needs a real parser: {exec:?}"
        );
        let command = swapped(
            AGENT_UNIT,
            exec[0],
            &[
                (INSTALLED_AGENT, agent_bin),
                ("0.0.0.0:8080", &listen),
                ("%d", &credentials_dir),
            ],
        );
        let argv: Vec<&str> = wrapper
            .iter()
            .copied()
            .chain(command.split_whitespace())
            .collect();

        // systemd starts services with a clean environment: the unit's variables and
        // $CREDENTIALS_DIRECTORY.
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .env("CREDENTIALS_DIRECTORY", &credentials)
            .env("NO_COLOR", "1");
        for assignment in values(&unit, "Environment") {
            let (key, value) = assignment
                .split_once('=')
                .unwrap_or_else(|| panic!("Environment={assignment} is not KEY=VALUE"));
            cmd.env(key, value.replace("%d", &credentials_dir));
        }
        let log = dir.join("agent.log");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("{argv:?} starts: {e}"));
        let mut agent = UnitAgent {
            child,
            port,
            token,
            log,
        };
        // Ready when something listens on the port *and* the agent says it started: a port
        // answering alone could be another process's (the agent then exits, unable to bind),
        // and a request sent to it reads back nothing.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(common::listening(port) && agent.log_text().contains("dockscope agent started")) {
            assert!(
                agent.child.try_wait().unwrap().is_none(),
                "the agent exited with the unit's command line {argv:?}:\n{}",
                agent.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "the agent did not listen on {listen}:\n{}",
                agent.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        agent
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the agent still runs, and its log: what a failed check needs to say.
    fn state(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(None) => "running".to_owned(),
            Ok(Some(status)) => format!("exited ({status})"),
            Err(e) => format!("unknown ({e})"),
        };
        format!("the agent is {status}; its log:\n{}", self.log_text())
    }

    /// One plain HTTP/1.0 GET: the whole response.
    fn get(&self, path: &str, extra: &str) -> String {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(tcp, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{extra}\r\n").unwrap();
        let mut bytes = Vec::new();
        let read = tcp.read_to_end(&mut bytes);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(e) = read {
            text.push_str(&format!("\n(reading the response failed: {e})"));
        }
        text
    }

    /// What the unit's flags promise: the dashboard (`--serve-ui`), and the stream for the
    /// token from the credential only (`--token-file %d/token`), with a batch of the engine.
    async fn check_serves_as_configured(&mut self) {
        let page = self.get("/", "");
        assert!(
            page.split_whitespace().nth(1) == Some("200") && page.contains("<html"),
            "the unit's agent serves the dashboard: {page:?}\n{}",
            self.state()
        );

        let url = format!("ws://127.0.0.1:{}/ws", self.port);
        let refused = tokio_tungstenite::connect_async(&url).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("401")),
            "no token must give 401: {:?}",
            refused.err()
        );
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(&format!(
                "dockscope, {TOKEN_SUBPROTOCOL_PREFIX}{}",
                self.token
            ))
            .unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the token from the credential opens the stream");
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut status, mut batch) = (false, false);
        while !(status && batch) {
            let left = deadline.saturating_duration_since(Instant::now());
            match next_message(&mut ws, left).await {
                Message::AgentStatus(s) => status = !s.version.is_empty(),
                Message::ContainerStatsBatch(_) => batch = true,
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn the_agent_starts_with_the_units_exact_command_line_and_credential() {
    let _one_agent_at_a_time = UNIT_AGENTS.lock().await;
    let dir = scratch("exec");
    let mut agent = UnitAgent::start(&dir, &[]).await;
    agent.check_serves_as_configured().await;
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every system call in a `systemd-analyze syscall-filter` group, groups expanded.
fn syscall_group(group: &str, seen: &mut BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    if let Some(calls) = seen.get(group) {
        return calls.clone();
    }
    let out = Command::new("systemd-analyze")
        .args(["syscall-filter", "--no-pager", group])
        .output()
        .expect("systemd-analyze runs");
    assert!(out.status.success(), "syscall-filter {group}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut calls = BTreeSet::new();
    for line in text.lines().skip(1).map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            calls.extend(syscall_group(line, seen));
        } else {
            calls.insert(line.to_owned());
        }
    }
    assert!(
        !calls.is_empty(),
        "{group} expands to no system call:\n{text}"
    );
    seen.insert(group.to_owned(), calls.clone());
    calls
}

/// The system calls the unit's `SystemCallFilter=` lines let through.
fn unit_syscall_allow_list(unit: &str) -> BTreeSet<String> {
    let mut seen = BTreeMap::new();
    let mut allowed = BTreeSet::new();
    for filter in values(unit, "SystemCallFilter") {
        let (deny, list) = match filter.strip_prefix('~') {
            Some(list) => (true, list),
            None => (false, filter),
        };
        for item in list.split_whitespace() {
            let calls = if item.starts_with('@') {
                syscall_group(item, &mut seen)
            } else {
                BTreeSet::from([item.to_owned()])
            };
            if deny {
                allowed.retain(|c| !calls.contains(c));
            } else {
                allowed.extend(calls);
            }
        }
    }
    allowed
}

#[tokio::test]
async fn the_units_syscall_filter_allows_every_call_the_agent_makes() {
    let _one_agent_at_a_time = UNIT_AGENTS.lock().await;
    // PID 1 is not systemd here, so the filter cannot be applied; instead the agent runs under
    // strace with the unit's command line, does its whole job (engine, cgroup files, the UI,
    // a token-checked stream, SIGTERM and a clean exit), and every system call it made must be
    // one the unit's filter lets through (a call outside it would fail with EPERM).
    let dir = scratch("strace");
    let trace = dir.join("strace.log");
    let trace_arg = trace.display().to_string();
    let mut agent =
        UnitAgent::start(&dir, &["strace", "-f", "-qq", "-o", trace_arg.as_str()]).await;
    agent.check_serves_as_configured().await;
    let _ = agent.get("/agent.json", "Accept-Encoding: gzip\r\n");
    let _ = agent.get("/healthz", "");

    // SIGTERM to the agent (strace's child), as `systemctl stop` sends it.
    let strace_pid = agent.child.id();
    let children =
        std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children"))
            .expect("strace's children");
    let pid = children
        .split_whitespace()
        .next()
        .expect("the traced agent");
    let ok = Command::new("kill").args(["-TERM", pid]).status().unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while agent.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let log = std::fs::read_to_string(&trace).unwrap();
    let used: BTreeSet<String> = log
        .lines()
        .filter_map(|line| {
            // "1234  name(args…" (strace -f); resumed and exit lines start otherwise.
            let rest = line.split_once(char::is_whitespace)?.1.trim_start();
            let name = &rest[..rest.find('(')?];
            (!name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            .then(|| name.to_owned())
        })
        .collect();
    assert!(
        used.len() > 20 && used.contains("epoll_wait") | used.contains("epoll_pwait"),
        "strace saw too little to judge: {used:?}"
    );
    let allowed = unit_syscall_allow_list(&read(AGENT_UNIT));
    let outside: Vec<&String> = used.difference(&allowed).collect();
    println!(
        "{} distinct system calls, all checked against {} allowed",
        used.len(),
        allowed.len()
    );
    assert!(
        outside.is_empty(),
        "the agent makes system calls {AGENT_UNIT}'s SystemCallFilter= refuses: {outside:?}"
    );
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
