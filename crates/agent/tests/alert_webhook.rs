//! `--alert-webhook` against the real engine and a real HTTP receiver in this test: a real OOM
//! kill and a real restart loop fire and clear, with the JSON the receiver got checked field by
//! field; a receiver that answers 500 gets the same message again after the first backoff; the
//! rate limit lets N through and then one summary says how many were left out; and, under
//! strace, an agent without the flag connects to nothing but the Docker socket, while one with
//! it does connect out (so the strace check can fail).
//!
//! Every agent here sees every container on the shared engine, so each test's rules cover only
//! its own containers (`ds-it-<pid>-<test>-*`): other tests' OOM kills are not its messages.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use common::{blocking, docker, free_port, listening, Agent, Container};
use dockscope_rules::{default_rules, Condition, Rule, RuleFile};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    /// When it arrived.
    at: Instant,
    /// The same, on the wall clock (to compare with the engine's times).
    wall: DateTime<Utc>,
    content_type: Option<String>,
    /// The body as sent.
    raw: String,
    /// The body parsed (`Value::Null` when it is not JSON).
    json: Value,
    /// What the receiver answered.
    answered: u16,
}

/// A webhook receiver on a loopback port that records every request and answers 500 to the
/// first `fail_first` of them, 200 after.
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
    port: u16,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            got: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            port: listener.local_addr().unwrap().port(),
        };
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The first request (answered 200) that `check` accepts, waiting up to `within`.
    async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Received {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = self
                .all()
                .into_iter()
                .find(|r| r.answered == 200 && check(&r.json))
            {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not received within {within:?}; got {:#?}",
                self.all().iter().map(|r| &r.json).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn record(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let fail = receiver
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    receiver.got.lock().unwrap().push(Received {
        at: Instant::now(),
        wall: Utc::now(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        raw: body,
        answered: answered.as_u16(),
    });
    answered
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-alert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The name pattern of the containers `Container::run(label…)` makes for `test`.
fn pattern(test: &str) -> String {
    format!("ds-it-{}-{test}-*", std::process::id())
}

/// Writes `rules` as a rules file in `dir`.
fn rules_file(dir: &Path, rules: Vec<Rule>) -> PathBuf {
    let path = dir.join("rules.json");
    std::fs::write(&path, RuleFile::new(rules).to_json()).unwrap();
    path
}

/// A rule that holds for every running container of `containers` at once: memory above a
/// millionth of a percent of its limit.
fn always(containers: &str) -> Rule {
    Rule {
        enabled: true,
        agent: None,
        containers: containers.to_owned(),
        condition: Condition::MemoryAbove { percent: 0.000_001 },
    }
}

/// `docker inspect`'s time the container last stopped.
fn finished_at(name: &str) -> DateTime<Utc> {
    let text = docker(&["inspect", "--format", "{{.State.FinishedAt}}", name]);
    DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("FinishedAt {text:?}: {e}"))
        .with_timezone(&Utc)
}

fn str_of<'a>(json: &'a Value, key: &str) -> &'a str {
    json[key].as_str().unwrap_or_default()
}

fn is(json: &Value, status: &str, container: &str) -> bool {
    str_of(json, "status") == status && str_of(json, "container_name") == container
}

fn seconds(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1_000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_kill_and_a_restart_loop_fire_and_clear_and_a_refused_post_is_retried() {
    let receiver = Receiver::start(1).await;
    let dir = scratch("hook");
    // The default rules, each narrowed to this test's containers.
    let rules = default_rules()
        .into_iter()
        .map(|rule| Rule {
            containers: pattern("hook"),
            ..rule
        })
        .collect();
    let rules = rules_file(&dir, rules);
    let log = dir.join("agent.log");
    let _agent = Agent::start_logged(
        &[
            "--alert-webhook",
            &receiver.url(),
            "--alert-rules",
            rules.to_str().unwrap(),
            // Exited containers leave the batch (and clear their alerts) 5 s after they stop.
            "--keep-exited",
            "5s",
        ],
        &log,
    );
    tokio::time::sleep(2 * SECOND).await;

    // Restarts about every 1 s (Docker's backoff starts at 100 ms and doubles).
    let looping = blocking(|| {
        Container::run(
            "hook-loop",
            &["--restart", "always"],
            &["sh", "-c", "sleep 1; exit 3"],
        )
    })
    .await;
    // Fills its 16 MiB at once: the kernel kills it, the engine marks it OOMKilled.
    let hog = blocking(|| {
        Container::run(
            "hook-oom",
            &["--memory", "16m", "--memory-swap", "16m"],
            &["tail", "/dev/zero"],
        )
    })
    .await;

    // The OOM kill.
    let name = hog.name.clone();
    let fired = receiver
        .wait_for(30 * SECOND, "the OOM alert", |j| is(j, "firing", &name))
        .await;
    let json = &fired.json;
    assert_eq!(fired.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        str_of(json, "rule"),
        format!("OOM-killed ({})", pattern("hook"))
    );
    assert_eq!(str_of(json, "agent_id"), "it-agent");
    assert_eq!(str_of(json, "container_id"), hog.id);
    // The kill ends the container: "OOM killed". Only if a sample fell in the few
    // milliseconds between the kill and the exit did it see a live container's OOM count
    // go up first; the alert is the same one either way.
    let cause = str_of(json, "cause");
    assert!(
        cause == "OOM killed" || cause == "the OOM killer killed a process",
        "{json}"
    );
    assert_eq!(
        str_of(json, "text"),
        format!(
            "Firing on it-agent: {name} — OOM-killed ({}) ({cause})",
            pattern("hook")
        )
    );
    let since = DateTime::parse_from_rfc3339(str_of(json, "since")).unwrap();
    let at = DateTime::parse_from_rfc3339(str_of(json, "at")).unwrap();
    assert_eq!(since, at, "a firing message happens when it fires");
    let name_for_inspect = name.clone();
    let killed = blocking(move || finished_at(&name_for_inspect)).await;
    // Its first try may be the one the receiver refused: the latency is to that.
    let first_try = receiver
        .all()
        .into_iter()
        .find(|r| r.raw == fired.raw)
        .expect("recorded");
    let oom_to_post = seconds(first_try.wall - killed);
    println!(
        "OOM kill → first POST: {oom_to_post:.2} s; → delivered: {:.2} s",
        seconds(fired.wall - killed)
    );
    assert!((0.0..3.0).contains(&oom_to_post), "{oom_to_post} s");

    // It stays listed as exited for 5 s, then leaves the batch: cleared.
    let cleared = receiver
        .wait_for(20 * SECOND, "the OOM alert cleared", |j| {
            is(j, "cleared", &name)
        })
        .await;
    assert_eq!(str_of(&cleared.json, "since"), str_of(json, "since"));
    assert_eq!(str_of(&cleared.json, "container_id"), hog.id);
    assert_eq!(str_of(&cleared.json, "rule"), str_of(json, "rule"));
    let kill_to_cleared = seconds(cleared.wall - killed);
    println!("OOM kill → cleared: {kill_to_cleared:.2} s (--keep-exited 5s)");
    assert!((4.5..9.0).contains(&kill_to_cleared), "{kill_to_cleared} s");
    assert!(str_of(&cleared.json, "text").starts_with(&format!(
        "Cleared on it-agent: {name} — OOM-killed ({}), after ",
        pattern("hook")
    )));

    // The restart loop: the fourth restart the agent sees within 5 minutes.
    let name = looping.name.clone();
    let fired = receiver
        .wait_for(60 * SECOND, "the restart-loop alert", |j| {
            is(j, "firing", &name)
        })
        .await;
    let json = &fired.json;
    assert_eq!(
        str_of(json, "rule"),
        format!("restarted more than 3 times in 5 min ({})", pattern("hook"))
    );
    let cause = str_of(json, "cause");
    let restarts: usize = cause
        .strip_prefix("restarted ")
        .and_then(|c| c.strip_suffix(" times in 5 min"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cause {cause:?}"));
    assert!(restarts >= 4, "{cause}");
    assert_eq!(str_of(json, "container_id"), looping.id);
    let count: u64 = {
        let name = name.clone();
        blocking(move || docker(&["inspect", "--format", "{{.RestartCount}}", &name]))
            .await
            .parse()
            .unwrap()
    };
    assert!(
        count >= restarts as u64,
        "{count} restarts, alert says {restarts}"
    );

    // Removed: listed as exited for 5 s, then gone; the alert clears.
    let removed_at = Instant::now();
    blocking(move || drop(looping)).await;
    let cleared = receiver
        .wait_for(30 * SECOND, "the restart-loop alert cleared", |j| {
            is(j, "cleared", &name)
        })
        .await;
    assert_eq!(str_of(&cleared.json, "since"), str_of(json, "since"));
    println!(
        "restart loop removed → cleared: {:?}",
        cleared.at.duration_since(removed_at)
    );

    // The very first request was answered 500; the agent sent the same body again after
    // its first backoff (1 s), and every request was JSON.
    let all = receiver.all();
    assert_eq!(all[0].answered, 500, "{all:#?}");
    assert_eq!(all[1].raw, all[0].raw, "the retry is the same message");
    let backoff = all[1].at - all[0].at;
    println!("500 → retry: {backoff:?}");
    assert!(
        (900 * Duration::from_millis(1)..3 * SECOND).contains(&backoff),
        "{backoff:?}"
    );
    assert!(all
        .iter()
        .all(|r| r.content_type.as_deref() == Some("application/json") && r.json.is_object()));
    // One firing and one clearing per alert, nothing twice (the retry aside).
    let delivered: Vec<(String, String)> = all[1..]
        .iter()
        .map(|r| {
            (
                str_of(&r.json, "status").to_owned(),
                str_of(&r.json, "container_name").to_owned(),
            )
        })
        .collect();
    for (i, d) in delivered.iter().enumerate() {
        assert!(!delivered[..i].contains(d), "{d:?} twice in {delivered:?}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("alert webhook failed (transient); retrying"),
        "{text}"
    );
    assert!(text.contains("attempt=1"), "{text}");
    assert!(
        !text.contains("/hook"),
        "the webhook's path is never logged: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_messages_are_left_out_and_one_summary_says_how_many() {
    let receiver = Receiver::start(0).await;
    let dir = scratch("rate");
    let rules = rules_file(&dir, vec![always(&pattern("rate"))]);
    let log = dir.join("agent.log");
    let _agent = Agent::start_logged(
        &[
            "--alert-webhook",
            &receiver.url(),
            "--alert-rules",
            rules.to_str().unwrap(),
            "--alert-rate-limit",
            "2",
        ],
        &log,
    );
    // Five containers the rule holds for as soon as they are listed: five alerts at once.
    let started = Instant::now();
    let containers = blocking(|| {
        (0..5)
            .map(|i| {
                Container::run(
                    &format!("rate-{i}"),
                    &["--memory", "64m"],
                    &["sleep", "100000"],
                )
            })
            .collect::<Vec<_>>()
    })
    .await;
    let up_after = started.elapsed();
    let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
    let ours = |j: &Value| names.iter().any(|n| str_of(j, "container_name") == n);

    let summary = receiver
        .wait_for(90 * SECOND, "the summary", |j| {
            str_of(j, "status") == "suppressed"
        })
        .await;
    let before: Vec<Received> = receiver
        .all()
        .into_iter()
        .filter(|r| r.at < summary.at)
        .collect();
    let fired: Vec<&Received> = before
        .iter()
        .filter(|r| str_of(&r.json, "status") == "firing" && ours(&r.json))
        .collect();
    assert_eq!(fired.len(), 2, "{before:#?}");
    assert_eq!(
        before.len(),
        2,
        "nothing else before the summary: {before:#?}"
    );
    assert_eq!(summary.json["suppressed"], 3, "{}", summary.json);
    assert_eq!(str_of(&summary.json, "agent_id"), "it-agent");
    assert_eq!(
        str_of(&summary.json, "text"),
        "Dockscope on it-agent: 3 alert messages not sent, over the limit of 2 a minute \
         (--alert-rate-limit); the dashboard shows every alert"
    );
    // The summary comes once the first message of the minute is a minute old.
    let after_first = summary.at - fired[0].at;
    println!(
        "rate limit 2: {} fired, summary of {} after {after_first:?} (5 containers started \
         in {up_after:?})",
        fired.len(),
        summary.json["suppressed"],
    );
    assert!(
        (59 * SECOND..63 * SECOND).contains(&after_first),
        "{after_first:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("messages over --alert-rate-limit were not sent"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("left_out=3"), "{}", warnings[0]);
    blocking(move || drop(containers)).await;
}

/// The agent binary under `strace -f -e trace=connect`, its trace written to `trace`.
struct Traced {
    strace: Child,
    port: u16,
}

impl Traced {
    fn start(trace: &Path, log: &Path, extra: &[&str]) -> Traced {
        let port = free_port();
        let strace = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=connect", "-o"])
            .arg(trace)
            .arg(env!("CARGO_BIN_EXE_dockscope-agent"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--agent-id",
                "traced",
            ])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
            .spawn()
            .expect("strace runs (scripts/setup.sh installs it)");
        let mut traced = Traced { strace, port };
        let deadline = Instant::now() + 15 * SECOND;
        while !listening(port) {
            if let Some(status) = traced.strace.try_wait().unwrap() {
                panic!(
                    "the traced agent exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "the traced agent did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        traced
    }

    /// SIGTERM to the agent (strace's child), and strace's exit.
    fn stop(mut self) {
        let pid = self.strace.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        let agent = children
            .split_whitespace()
            .next()
            .expect("the traced agent");
        assert!(Command::new("kill")
            .args(["-TERM", agent])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + 15 * SECOND;
        while self.strace.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the agent did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// The address family of every `connect()` in an strace log, with its line.
fn connects(trace: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("connect("))
        .map(|l| {
            let family = l
                .split("sa_family=")
                .nth(1)
                .map(|rest| rest.split([',', '}']).next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            (family, l.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_the_agent_connects_to_nothing_but_the_docker_socket() {
    let receiver = Receiver::start(0).await;
    let dir = scratch("strace");
    // A running container a rule holds for at once, and an OOM kill: what would be posted.
    let busy =
        blocking(|| Container::run("strace-busy", &["--memory", "64m"], &["sleep", "100000"]))
            .await;
    let rules = rules_file(
        &dir,
        vec![
            always(&pattern("strace")),
            Rule {
                containers: pattern("strace"),
                ..default_rules()[1].clone()
            },
        ],
    );

    // (flags, whether it is the webhook run)
    let runs: [(Vec<String>, bool); 2] = [
        (vec![], false),
        (
            vec![
                "--alert-webhook".into(),
                receiver.url(),
                "--alert-rules".into(),
                rules.display().to_string(),
            ],
            true,
        ),
    ];
    for (flags, webhook) in runs {
        let trace = dir.join(format!("connect-{webhook}.log"));
        let log = dir.join(format!("agent-{webhook}.log"));
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let traced = Traced::start(&trace, &log, &flags);
        // A client and a scrape meanwhile: inbound connections, which are accepts.
        let mut feed = common::Feed::connect(&format!("ws://127.0.0.1:{}/ws", traced.port)).await;
        feed.next_batch(10 * SECOND).await;
        let port = traced.port;
        blocking(move || {
            let (status, _) = common::http_get(port, "/metrics");
            assert_eq!(status, 200);
            let oom = Container::run(
                &format!("strace-oom-{webhook}"),
                &["--memory", "16m", "--memory-swap", "16m"],
                &["tail", "/dev/zero"],
            );
            std::thread::sleep(4 * SECOND);
            drop(oom);
        })
        .await;
        drop(feed);
        blocking(move || traced.stop()).await;

        let connects = connects(&trace);
        let families: std::collections::BTreeSet<&str> =
            connects.iter().map(|(f, _)| f.as_str()).collect();
        println!("webhook {webhook}: connect() families {families:?}");
        assert!(
            families.contains("AF_UNIX"),
            "the Docker socket is connected to: {connects:#?}"
        );
        if webhook {
            let out = format!("sin_port=htons({})", receiver.port);
            assert!(
                connects
                    .iter()
                    .any(|(f, l)| f == "AF_INET" && l.contains(&out)),
                "with --alert-webhook the agent connects to the receiver: {connects:#?}"
            );
            receiver
                .wait_for(5 * SECOND, "a message from the traced agent", |j| {
                    is(j, "firing", &busy.name)
                })
                .await;
        } else {
            assert_eq!(
                families,
                ["AF_UNIX"].into(),
                "without --alert-webhook only Unix sockets: {connects:#?}"
            );
            assert!(
                receiver.all().is_empty(),
                "nothing was posted: {:#?}",
                receiver.all()
            );
        }
    }
}

#[test]
fn a_bad_webhook_url_or_rules_file_stops_the_agent_at_start_saying_why() {
    let dir = scratch("refused");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version":1,"rules":[{"kind":"oom_killed"},{"kind":"restart_loop","restarts":3,"within_minutes":0}]}"#,
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    // (flags, what stderr says)
    let cases: [(Vec<String>, String); 3] = [
        (
            vec!["--alert-webhook".into(), "ftp://alerts.example/hook".into()],
            "\"ftp://alerts.example/hook\" is not an http:// or https:// URL".into(),
        ),
        (
            vec!["--alert-rules".into(), bad.display().to_string()],
            "--alert-webhook".into(),
        ),
        (
            vec![
                "--alert-webhook".into(),
                "http://127.0.0.1:9/hook".into(),
                "--alert-rules".into(),
                bad.display().to_string(),
            ],
            format!(
                "--alert-rules {}: rule 2 (restarted more than 3 times in 0 min): \
                 within_minutes is 1 to 60",
                bad.display()
            ),
        ),
    ];
    for (flags, expected) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
            .args(["--listen", &listen])
            .args(&flags)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} started");
        assert!(stderr.contains(&expected), "{flags:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_is_verified_against_the_compiled_in_roots() {
    // A receiver with a self-signed certificate: a real TLS handshake, which the agent must
    // refuse (no system store is consulted, only Mozilla's roots) and retry as transient.
    let dir = scratch("tls");
    let (cert, key) = common::self_signed(&dir);
    let acceptor =
        tokio_rustls::TlsAcceptor::from(dockscope_agent::tls::load(&cert, &key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(Mutex::new(Vec::<Result<(), String>>::new()));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let outcome = acceptor
                .accept(socket)
                .await
                .map(drop)
                .map_err(|e| e.to_string());
            seen.lock().unwrap().push(outcome);
        }
    });
    let busy =
        blocking(|| Container::run("tls-busy", &["--memory", "64m"], &["sleep", "100000"])).await;
    let rules = rules_file(&dir, vec![always(&pattern("tls"))]);
    let log = dir.join("agent.log");
    let url = format!("https://localhost:{port}/hook");
    let _agent = Agent::start_logged(
        &[
            "--alert-webhook",
            &url,
            "--alert-rules",
            rules.to_str().unwrap(),
        ],
        &log,
    );
    // The first try and the retry 1 s later, both refused by the agent's side.
    let deadline = Instant::now() + 20 * SECOND;
    while handshakes.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            handshakes.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcomes = handshakes.lock().unwrap().clone();
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("TLS handshake failed") && text.contains("UnknownIssuer"),
        "{text}"
    );
    assert!(
        text.contains("alert webhook failed (transient); retrying"),
        "{text}"
    );
    blocking(move || drop(busy)).await;
}
