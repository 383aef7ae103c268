//! `dockscope-agent healthcheck` against real agents on the real engine: exit 0 for a healthy
//! agent, 1 with a one-line reason when the engine is unreachable, nothing listens, the agent
//! does not answer within 2 s, or `/healthz` refuses a peer that is not loopback (403).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, Agent};

/// Runs `dockscope-agent healthcheck args…` with `DOCKSCOPE_LISTEN` set or removed.
fn healthcheck(listen: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"));
    command.arg("healthcheck").args(args);
    match listen {
        Some(listen) => command.env("DOCKSCOPE_LISTEN", listen),
        None => command.env_remove("DOCKSCOPE_LISTEN"),
    };
    command.output().expect("the agent binary runs")
}

/// (exit code, stdout, stderr), each line trimmed.
fn verdict(out: &Output) -> (i32, String, String) {
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

/// Polls until the agent's first engine poll has a verdict that `want` accepts.
fn eventually(
    listen: &str,
    want: impl Fn(&(i32, String, String)) -> bool,
) -> (i32, String, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = verdict(&healthcheck(Some(listen), &[]));
        if want(&got) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn healthy_agent_exits_0_by_its_listen_address() {
    // Listening on every interface, probed on loopback (what the image's HEALTHCHECK does).
    let port = free_port();
    let _agent = spawn(&["--listen", &format!("0.0.0.0:{port}")], port);
    let listen = format!("0.0.0.0:{port}");
    let (code, stdout, stderr) = eventually(&listen, |v| v.0 == 0);
    assert_eq!(code, 0, "stdout {stdout:?}, stderr {stderr:?}");
    assert!(
        stdout.starts_with("healthy: agent hc-agent v") && stdout.contains(", engine "),
        "{stdout}"
    );
    assert_eq!(stderr, "");

    // --url wins over $DOCKSCOPE_LISTEN.
    let url = format!("http://127.0.0.1:{port}/healthz");
    let (code, ..) = verdict(&healthcheck(Some("127.0.0.1:1"), &["--url", &url]));
    assert_eq!(code, 0);
}

#[test]
fn unreachable_engine_exits_1_saying_so() {
    let agent = Agent::start(&["--docker-endpoint", "unix:///nonexistent/docker.sock"]);
    let listen = format!("127.0.0.1:{}", agent.port);
    // Before and after the first failed poll, never healthy.
    let (code, stdout, stderr) = eventually(&listen, |v| v.2.contains("nonexistent"));
    assert_eq!(code, 1, "stdout {stdout:?}");
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("unhealthy: agent up, Docker engine unreachable: ")
            && stderr.contains("/nonexistent/docker.sock")
            && !stderr.contains('\n'),
        "{stderr}"
    );
}

#[test]
fn nothing_listening_exits_1_with_connection_refused() {
    let port = free_port();
    let (code, _, stderr) = verdict(&healthcheck(Some(&format!("127.0.0.1:{port}")), &[]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!(
            "unhealthy: connection refused by 127.0.0.1:{port}: is the agent running and \
             listening there?"
        )
    );
}

#[test]
fn silent_listener_exits_1_after_2_seconds() {
    // Accepted by the kernel, never answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let (code, _, stderr) = verdict(&healthcheck(
        None,
        &["--url", &format!("http://127.0.0.1:{port}/healthz")],
    ));
    let took = started.elapsed();
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!("unhealthy: no answer from 127.0.0.1:{port} within 2s")
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "gave up after {took:?}"
    );
}

#[test]
fn non_loopback_peer_gets_403_and_exits_1() {
    let Some(ip) = outbound_ip() else {
        panic!("this host has no non-loopback IPv4 address to probe from");
    };
    let port = free_port();
    let _agent = spawn(&["--listen", &format!("0.0.0.0:{port}")], port);
    let url = format!("http://{ip}:{port}/healthz");
    let (code, _, stderr) = verdict(&healthcheck(None, &["--url", &url]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!("unhealthy: {url} answered HTTP 403: healthz answers loopback clients only")
    );
}

#[test]
fn bad_arguments_exit_1_not_dockers_reserved_2() {
    for (listen, args, says) in [
        (
            None,
            vec!["--url", "https://127.0.0.1:8080/"],
            "https is not supported",
        ),
        (
            None,
            vec!["--frobnicate"],
            "unexpected argument '--frobnicate'",
        ),
        (
            Some("localhost:8080"),
            vec![],
            "DOCKSCOPE_LISTEN=\"localhost:8080\"",
        ),
    ] {
        let (code, _, stderr) = verdict(&healthcheck(listen, &args));
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let tls = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .arg("healthcheck")
        .env("DOCKSCOPE_TLS_CERT", "/run/secrets/cert.pem")
        .output()
        .unwrap();
    let (code, _, stderr) = verdict(&tls);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the agent serves TLS (DOCKSCOPE_TLS_CERT is set)"),
        "{stderr}"
    );
    let (code, stdout, _) = verdict(&healthcheck(None, &["--help"]));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Usage: dockscope-agent healthcheck"),
        "{stdout}"
    );
}

/// An agent with `args` (which include `--listen`), waited for on `port`.
fn spawn(args: &[&str], port: u16) -> KillOnDrop {
    let child = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .args(args)
        .args(["--agent-id", "hc-agent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut agent = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !common::listening(port) {
        assert!(
            agent.0.try_wait().unwrap().is_none(),
            "agent exited before listening on {port}"
        );
        assert!(Instant::now() < deadline, "agent did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    agent
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This host's address toward the outside (no packet is sent: UDP connect only picks a route);
/// else the Docker bridge's.
fn outbound_ip() -> Option<IpAddr> {
    ["10.255.255.255:9", "172.17.255.255:9"]
        .iter()
        .find_map(|target| {
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            socket.connect(target).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}
