//! `/metrics` against the real tools: `promtool check metrics` accepts the real output, and a
//! real Prometheus (Debian's `prometheus` package, installed by `scripts/setup.sh`) scraping two
//! agents once a second — one of them with `--token`, its bearer token in the scrape config —
//! sees the busy test container's CPU rate within 10 % of `docker stats`, with the right
//! `agent_id`, `name`, `id` and `image` labels. A scrape without the token gets 401. The
//! largest input: 10,000 synthetic containers answer, whole, within a few seconds, and a flood
//! of scrapes costs one formatting per sample.
//!
//! Prometheus runs from its own temporary directory on a free loopback port and is killed when
//! the test ends, whatever happens; the containers are removed the same way.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker, free_port, listening, Agent, Container};
use serde_json::Value;

const TOKEN: &str = "prom-test-token-1234";

/// A child process killed (and waited for) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ds-prom-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `name` on `$PATH`, or a failure that says how to get it.
fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: run scripts/setup.sh (it installs Debian's \
                 `prometheus` package, which brings prometheus and promtool)"
            )
        })
}

/// The agent binary with `--agent-id id` and `extra`, on a free port.
fn agent(id: &str, extra: &[&str]) -> Agent {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--agent-id", id])
        .args(extra)
        .args(["--log-level", "warn"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .spawn()
        .expect("agent starts");
    let mut agent = Agent { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listening(port) {
        assert!(agent.alive(), "agent {id} exited before listening");
        assert!(Instant::now() < deadline, "agent {id} did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    agent
}

/// `GET url` with `headers`: (status, body).
fn get(url: &str, headers: &[&str]) -> (u16, String) {
    let mut curl = Command::new("curl");
    curl.args(["-s", "--max-time", "30", "-w", "\n%{http_code}"]);
    for header in headers {
        curl.args(["-H", header]);
    }
    let out = curl.arg(url).output().expect("curl runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8 body");
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (status.parse().unwrap_or(0), body.to_owned())
}

/// Samples of `series` in an exposition: (labels text, value).
fn samples<'a>(text: &'a str, series: &str) -> Vec<(&'a str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(series)?;
            let (labels, value) = if let Some(labelled) = rest.strip_prefix('{') {
                labelled.rsplit_once("} ")?
            } else {
                ("", rest.strip_prefix(' ')?)
            };
            Some((labels, value.trim().parse().ok()?))
        })
        .collect()
}

/// Polls `check` every 500 ms until it returns `Some`, for at most `within`.
fn until<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs a PromQL instant query against Prometheus on `port`: the `data.result` array.
fn query(port: u16, promql: &str) -> Vec<Value> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-G"])
        .arg(format!("http://127.0.0.1:{port}/api/v1/query"))
        .args(["--data-urlencode", &format!("query={promql}")])
        .output()
        .expect("curl runs");
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{promql}: {e}: {:?}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer["status"], "success", "{promql}: {answer}");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `prometheus` scraping `targets` ((job, host:port, bearer token file)) every second, from its
/// own directory and port.
fn start_prometheus(dir: &Path, targets: &[(&str, String, Option<&Path>)]) -> (KillOnDrop, u16) {
    let mut config =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for (job, target, token_file) in targets {
        config.push_str(&format!("  - job_name: {job}\n"));
        if let Some(file) = token_file {
            config.push_str(&format!(
                "    authorization:\n      type: Bearer\n      credentials_file: {}\n",
                file.display()
            ));
        }
        config.push_str(&format!(
            "    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("prometheus starts");
    let mut prometheus = KillOnDrop(child);
    until(Duration::from_secs(20), "Prometheus ready", || {
        if let Some(status) = prometheus.0.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
            panic!("prometheus exited ({status}):\n{log}");
        }
        (get(&format!("http://127.0.0.1:{port}/-/ready"), &[]).0 == 200).then_some(())
    });
    (prometheus, port)
}

/// The `docker stats --no-stream` CPU of `name`, percent of one core.
fn docker_stats_cpu(name: &str) -> f64 {
    let cell = docker(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", name]);
    cell.trim().trim_end_matches('%').parse().expect("CPU cell")
}

#[test]
fn a_real_prometheus_scrapes_two_agents_and_agrees_with_docker_stats() {
    let started = Instant::now();
    let promtool = tool("promtool");
    tool("prometheus");
    let dir = TempDir::new("scrape");
    let pid = std::process::id();
    let busy = Container::named(
        format!("ds-prom-{pid}-busy"),
        &["--cpus", "0.5"],
        &["sh", "-c", "while :; do :; done"],
    );
    let idle = Container::named(format!("ds-prom-{pid}-idle"), &[], &["sleep", "600"]);
    let open = agent("prom-open", &[]);
    let guarded = agent("prom-token", &["--token", TOKEN]);
    let open_url = format!("http://127.0.0.1:{}/metrics", open.port);
    let guarded_url = format!("http://127.0.0.1:{}/metrics", guarded.port);

    // The real output, as curl gets it (the 0.0.4 text format), passes promtool's linter once
    // the agent has seen the busy container twice (so its CPU counter is there).
    let text = until(
        Duration::from_secs(15),
        "busy container in /metrics",
        || {
            let (status, body) = get(&open_url, &[]);
            assert_eq!(status, 200, "{body}");
            samples(&body, "container_cpu_usage_seconds_total")
                .iter()
                .any(|(labels, _)| labels.contains(&format!("name=\"{}\"", busy.name)))
                .then_some(body)
        },
    );
    let exposition = dir.0.join("metrics.txt");
    std::fs::write(&exposition, &text).unwrap();
    let check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&exposition).unwrap())
        .output()
        .expect("promtool runs");
    assert!(
        check.status.success(),
        "promtool check metrics failed ({}):\n{}{}",
        check.status,
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    // And the OpenMetrics Prometheus asks for says so and ends as the format requires.
    let openmetrics = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-H",
            "Accept: application/openmetrics-text; version=1.0.0",
        ])
        .arg(&open_url)
        .output()
        .unwrap();
    let openmetrics = String::from_utf8(openmetrics.stdout).unwrap();
    assert!(
        openmetrics
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{}",
        &openmetrics[..openmetrics.len().min(400)]
    );
    assert!(openmetrics.ends_with("# EOF\n"));

    // The token agent: 401 without the token or with a wrong one, 200 with it.
    let cases: &[(&[&str], u16)] = &[
        (&[], 401),
        (&["Authorization: Bearer wrong-token"], 401),
        (&["Authorization: Basic cHJvbTpwcm9t"], 401),
        (&[&format!("Authorization: Bearer {TOKEN}")], 200),
    ];
    for (headers, want) in cases {
        let (status, body) = get(&guarded_url, headers);
        assert_eq!(status, *want, "{headers:?}: {body}");
        if *want == 401 {
            assert!(
                !body.contains("container_"),
                "a refused scrape leaked: {body}"
            );
        }
    }
    assert_eq!(get(&format!("{guarded_url}?token={TOKEN}"), &[]).0, 200);

    // A real Prometheus scraping both, the token one with its bearer token from a file.
    let token_file = dir.0.join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let (_prometheus, port) = start_prometheus(
        &dir.0,
        &[
            ("open", format!("127.0.0.1:{}", open.port), None),
            (
                "token",
                format!("127.0.0.1:{}", guarded.port),
                Some(&token_file),
            ),
        ],
    );
    until(Duration::from_secs(20), "both targets up", || {
        let up = query(port, "up");
        (up.len() == 2 && up.iter().all(|s| s["value"][1] == "1")).then_some(())
    });
    // A 10 s rate over 1 s scrapes once 12 s of scrapes are in.
    std::thread::sleep(Duration::from_secs(12));
    let promql = format!(
        "rate(container_cpu_usage_seconds_total{{name=\"{}\"}}[10s]) * 100",
        busy.name
    );
    let rates = query(port, &promql);
    let docker_cpu = docker_stats_cpu(&busy.name);
    let rates_again = query(port, &promql);
    assert_eq!(rates.len(), 2, "one series per agent: {rates:?}");
    let mut agent_ids: Vec<&str> = rates
        .iter()
        .map(|s| s["metric"]["agent_id"].as_str().unwrap())
        .collect();
    agent_ids.sort_unstable();
    assert_eq!(agent_ids, ["prom-open", "prom-token"]);
    for series in rates.iter().chain(&rates_again) {
        let rate: f64 = series["value"][1].as_str().unwrap().parse().unwrap();
        assert!(
            (rate - docker_cpu).abs() <= 0.10 * docker_cpu,
            "Prometheus says {rate:.1} % for {} (agent {}), docker stats {docker_cpu:.1} %",
            busy.name,
            series["metric"]["agent_id"]
        );
        assert!(
            (40.0..=60.0).contains(&rate),
            "--cpus 0.5 makes ~50 %, not {rate}"
        );
    }

    // Labels: both agents, both containers, cAdvisor's id form and the image.
    let memory = query(
        port,
        "container_memory_working_set_bytes{name=~\"ds-prom-.*\"}",
    );
    let mut seen: Vec<(String, String, String, String)> = memory
        .iter()
        .map(|s| {
            let m = &s["metric"];
            let text = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (text("agent_id"), text("name"), text("id"), text("image"))
        })
        .collect();
    seen.sort();
    let want = |agent: &str, c: &Container| {
        (
            agent.to_owned(),
            c.name.clone(),
            format!("/docker/{}", c.id),
            common::IMAGE.to_owned(),
        )
    };
    let mut expected = vec![
        want("prom-open", &busy),
        want("prom-open", &idle),
        want("prom-token", &busy),
        want("prom-token", &idle),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let builds = query(port, "dockscope_agent_build_info");
    assert_eq!(builds.len(), 2, "{builds:?}");
    for build in &builds {
        assert!(
            build["metric"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with('v')),
            "{build}"
        );
    }
    let reachable = query(port, "dockscope_engine_reachable == 1");
    assert_eq!(reachable.len(), 2, "{reachable:?}");
    eprintln!("prometheus test took {:?}", started.elapsed());
}

#[test]
fn ten_thousand_containers_answer_whole_and_a_flood_formats_once_per_sample() {
    let big = agent("prom-big", &["--synthetic-containers", "10000"]);
    let url = format!("http://127.0.0.1:{}/metrics", big.port);
    let (body, took) = until(
        Duration::from_secs(30),
        "10,000 containers in /metrics",
        || {
            let t0 = Instant::now();
            let (status, body) = get(&url, &[]);
            let took = t0.elapsed();
            assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);
            (samples(&body, "dockscope_containers").first().map(|s| s.1) == Some(10_000.0))
                .then_some((body, took))
        },
    );
    let working_set = samples(&body, "container_memory_working_set_bytes");
    assert_eq!(working_set.len(), 10_000, "one series per container");
    let mb = body.len() as f64 / 1e6;
    eprintln!("10,000 containers: {mb:.1} MB in {took:?}");
    assert!(took < Duration::from_secs(5), "a scrape took {took:?}");
    assert!(mb < 40.0, "{mb:.1} MB for 10,000 containers");

    // 36 scrapes, 12 at a time (one peer may hold 16 connections that are not WebSocket
    // clients, --max-pending-per-peer), of what is mostly the same sample: every one answers
    // whole, and the agent's CPU over them stays near one formatting per sample, not 36.
    let ticks = |pid: u32| {
        dockscope_agent::sample::process::ticks_of(pid).expect("agent's /proc/<pid>/stat")
    };
    let before = ticks(big.pid());
    let t0 = Instant::now();
    for _wave in 0..3 {
        let scrapes: Vec<_> = (0..12)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || get(&url, &[]))
            })
            .collect();
        for scrape in scrapes {
            let (status, body) = scrape.join().unwrap();
            assert_eq!(status, 200);
            assert!(
                body.ends_with('\n') && body.contains("container_threads"),
                "cut answer"
            );
            assert_eq!(
                samples(&body, "container_memory_working_set_bytes").len(),
                10_000
            );
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu_s =
        (ticks(big.pid()) - before) as f64 / dockscope_agent::sample::process::TICKS_PER_SECOND;
    let rss_mb = big.rss_bytes() as f64 / 1_048_576.0;
    eprintln!(
        "36 scrapes, 12 at a time: {wall:.1} s wall, agent CPU {cpu_s:.2} s, RSS {rss_mb:.0} MiB"
    );
    // Sampling 10,000 containers alone is ~2 % of a core; 36 separate formattings of
    // ~`took` each would be far more than the bound.
    assert!(
        cpu_s < wall * 0.5 + took.as_secs_f64() * 4.0,
        "agent CPU {cpu_s:.2} s over {wall:.1} s for 36 scrapes (one scrape took {took:?})"
    );
    assert!(
        rss_mb < 400.0,
        "agent RSS {rss_mb:.0} MiB after a flood of scrapes"
    );
}
