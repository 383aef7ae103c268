//! Tests of the exposition: parsed back strictly, against cAdvisor's names, hostile labels and
//! absent figures.

use super::*;
use crate::sample::source::Counters;
use chrono::{DateTime, Utc};
use dockscope_protocol::{AgentMetrics, ContainerStatsBatch};
use dockscope_protocol::{ContainerStats, Health, HostStats};

/// One parsed sample: name, labels (unescaped), value.
type Sample = (String, Vec<(String, String)>, String);

/// A strict reader of one exposition line per sample, undoing the three escapes; panics on
/// anything else, so a broken escape fails the test that produced it.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, rest) = line.split_at(
            line.find(['{', ' '])
                .unwrap_or_else(|| panic!("no value: {line:?}")),
        );
        let mut labels = Vec::new();
        let mut chars = rest.chars().peekable();
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line:?}");
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?} in {line:?}"),
                        },
                        Some('"') => break,
                        Some(c) => value.push(c),
                        None => panic!("unterminated value in {line:?}"),
                    }
                }
                labels.push((key, value));
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("expected , or }} not {other:?} in {line:?}"),
                }
            }
        }
        let value: String = chars.collect();
        let value = value.trim();
        assert!(
            value.parse::<f64>().is_ok(),
            "value {value:?} of {line:?} is not a number"
        );
        samples.push((name.to_owned(), labels, value.to_owned()));
    }
    samples
}

fn label<'a>(sample: &'a Sample, key: &str) -> Option<&'a str> {
    sample
        .1
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The value of series `name` of container `container` (by its `name` label).
fn value_of(samples: &[Sample], name: &str, container: &str) -> Option<f64> {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.0 == name && label(s, "name") == Some(container))
        .collect();
    assert!(found.len() <= 1, "{name} of {container} twice: {found:?}");
    found.first().map(|s| s.2.parse().expect("number"))
}

fn facts() -> AgentFacts {
    AgentFacts {
        agent_id: "host-a".into(),
        version: "v0.1.0".into(),
        revision: Some("abc1234".into()),
        collector: "cgroup-v2".into(),
        engine_reachable: true,
        clients: 2,
    }
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("date")
        .with_timezone(&Utc)
}

/// `web` has every figure and its counters; `old` is what an agent of contract 1 sends
/// (CPU percent, memory, limit, uptime) and no counters.
fn two_containers() -> Snapshot {
    let web = ContainerStats {
        id: "a".repeat(64),
        name: "web".into(),
        cpu_pct: Some(50.0),
        mem_bytes: Some(1_000_000),
        mem_limit_bytes: Some(536_870_912),
        uptime_secs: Some(61),
        image: Some("nginx:1.27".into()),
        pids: Some(4),
        pids_limit: Some(100),
        net_rx_bytes: Some(3_000),
        net_tx_bytes: Some(500),
        net_rx_packets: Some(30),
        net_tx_packets: Some(10),
        block_read_bytes: Some(4_096),
        block_write_bytes: Some(8_192),
        health: Some(Health::Unhealthy),
        restart_count: Some(2),
        mem_anon: Some(700_000),
        mem_file: Some(400_000),
        mem_shmem: Some(4_096),
        mem_kernel: Some(65_536),
        oom_kills: Some(1),
        cpu_limit_cores: Some(0.5),
        compose_project: Some("shop".into()),
        compose_service: Some("web".into()),
        ..ContainerStats::default()
    };
    let old = ContainerStats {
        id: "b".repeat(64),
        name: "old".into(),
        cpu_pct: Some(1.5),
        mem_bytes: Some(2_000),
        mem_limit_bytes: Some(8_000_000_000),
        uptime_secs: Some(10),
        ..ContainerStats::default()
    };
    let exited = ContainerStats {
        id: "c".repeat(64),
        name: "done".into(),
        exit_code: Some(0),
        ..ContainerStats::default()
    };
    Snapshot {
        batch: ContainerStatsBatch {
            agent_id: "host-a".into(),
            sent_at: at("2026-12-01T12:00:00.250Z"),
            sequence: Some(7),
            containers: vec![web, old],
            agent_metrics: AgentMetrics {
                cpu_pct: Some(0.5),
                mem_bytes: Some(12_000_000),
            },
            host: None,
            exited: vec![exited],
        },
        counters: vec![
            Counters {
                cpu_ns: Some(12_500_000_000),
                memory_usage: Some(1_300_000),
                throttled_periods: Some(40),
                throttled_ns: Some(300_000_000),
            },
            Counters::default(),
        ],
        engine_reachable: true,
    }
}

#[test]
fn each_figure_is_its_series_and_a_missing_figure_is_no_series() {
    let text = render(Some(Arc::new(two_containers())), facts());
    assert!(text.ends_with("# EOF\n"), "{text}");
    let samples = parse(&text);
    let start = (at("2026-12-01T12:00:00Z").timestamp() - 61) as f64;
    let old_start = (at("2026-12-01T12:00:00Z").timestamp() - 10) as f64;
    // (series, container, value; None: no such series)
    let table: &[(&str, &str, Option<f64>)] = &[
        ("container_cpu_usage_seconds_total", "web", Some(12.5)),
        ("container_cpu_usage_seconds_total", "old", None),
        (
            "container_memory_working_set_bytes",
            "web",
            Some(1_000_000.0),
        ),
        ("container_memory_working_set_bytes", "old", Some(2_000.0)),
        ("container_memory_usage_bytes", "web", Some(1_300_000.0)),
        ("container_memory_usage_bytes", "old", None),
        ("container_memory_rss", "web", Some(700_000.0)),
        ("container_memory_rss", "old", None),
        ("container_memory_cache", "web", Some(400_000.0)),
        (
            "container_spec_memory_limit_bytes",
            "web",
            Some(536_870_912.0),
        ),
        ("container_spec_memory_limit_bytes", "old", Some(8e9)),
        (
            "container_network_receive_bytes_total",
            "web",
            Some(3_000.0),
        ),
        ("container_network_receive_bytes_total", "old", None),
        ("container_network_transmit_bytes_total", "web", Some(500.0)),
        ("container_network_receive_packets_total", "web", Some(30.0)),
        (
            "container_network_transmit_packets_total",
            "web",
            Some(10.0),
        ),
        ("container_fs_reads_bytes_total", "web", Some(4_096.0)),
        ("container_fs_writes_bytes_total", "web", Some(8_192.0)),
        ("container_fs_writes_bytes_total", "old", None),
        ("container_oom_events_total", "web", Some(1.0)),
        ("container_oom_events_total", "old", None),
        (
            "container_cpu_cfs_throttled_periods_total",
            "web",
            Some(40.0),
        ),
        (
            "container_cpu_cfs_throttled_seconds_total",
            "web",
            Some(0.3),
        ),
        ("container_cpu_cfs_throttled_seconds_total", "old", None),
        ("container_threads", "web", Some(4.0)),
        ("container_threads", "old", None),
        ("container_threads_max", "web", Some(100.0)),
        ("container_start_time_seconds", "web", Some(start)),
        ("container_start_time_seconds", "old", Some(old_start)),
        ("dockscope_container_cpu_limit_cores", "web", Some(0.5)),
        ("dockscope_container_cpu_limit_cores", "old", None),
        (
            "dockscope_container_memory_shmem_bytes",
            "web",
            Some(4_096.0),
        ),
        (
            "dockscope_container_memory_kernel_bytes",
            "web",
            Some(65_536.0),
        ),
        ("dockscope_container_restarts_total", "web", Some(2.0)),
        ("dockscope_container_restarts_total", "old", None),
        ("dockscope_container_health", "web", Some(1.0)),
        ("dockscope_container_health", "old", None),
        // stopped containers have no per-container series
        ("container_memory_working_set_bytes", "done", None),
    ];
    for &(series, container, want) in table {
        assert_eq!(
            value_of(&samples, series, container),
            want,
            "{series} of {container}"
        );
    }
    let web = samples
        .iter()
        .find(|s| s.0 == "container_memory_working_set_bytes" && label(s, "name") == Some("web"))
        .expect("web");
    let labels: Vec<(&str, &str)> = web
        .1
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = format!("/docker/{}", "a".repeat(64));
    assert_eq!(
        labels,
        [
            ("agent_id", "host-a"),
            ("id", id.as_str()),
            ("name", "web"),
            ("image", "nginx:1.27"),
            ("container_label_com_docker_compose_project", "shop"),
            ("container_label_com_docker_compose_service", "web"),
        ]
    );
    let health = samples
        .iter()
        .find(|s| s.0 == "dockscope_container_health")
        .expect("health");
    assert_eq!(label(health, "health"), Some("unhealthy"));
    // Agent-wide series, one each.
    let agent: &[(&str, f64)] = &[
        ("dockscope_agent_build_info", 1.0),
        ("dockscope_engine_reachable", 1.0),
        ("dockscope_agent_clients", 2.0),
        ("dockscope_agent_cpu_cores", 0.005),
        ("dockscope_agent_resident_memory_bytes", 12e6),
        ("dockscope_containers", 2.0),
        ("dockscope_containers_exited", 1.0),
        ("dockscope_last_sample_timestamp_seconds", 1_796_126_400.25),
    ];
    for &(series, want) in agent {
        let found: Vec<&Sample> = samples.iter().filter(|s| s.0 == series).collect();
        assert_eq!(found.len(), 1, "{series}: {found:?}");
        assert_eq!(found[0].2.parse::<f64>().ok(), Some(want), "{series}");
        assert_eq!(label(found[0], "agent_id"), Some("host-a"), "{series}");
    }
    let info = samples
        .iter()
        .find(|s| s.0 == "dockscope_agent_build_info")
        .expect("info");
    assert_eq!(
        (
            label(info, "version"),
            label(info, "revision"),
            label(info, "collector")
        ),
        (Some("v0.1.0"), Some("abc1234"), Some("cgroup-v2"))
    );
    // Every per-container series carries agent_id, id and name.
    for s in samples.iter().filter(|s| s.0.starts_with("container_")) {
        for key in ["agent_id", "id", "name", "image"] {
            assert!(label(s, key).is_some(), "{key} missing on {s:?}");
        }
    }
    // No family is described without a sample (old has no network, and neither does web
    // lack one): every HELP names a family that has samples.
    for help in text.lines().filter_map(|l| l.strip_prefix("# HELP ")) {
        let family = help.split(' ').next().unwrap_or_default();
        assert!(
            samples
                .iter()
                .any(|s| s.0 == family || s.0 == format!("{family}_total")),
            "{family} described but empty"
        );
    }
}

#[test]
fn hostile_names_and_images_stay_inside_their_label() {
    let names = [
        "quote\"inside",
        "back\\slash",
        "new\nline",
        "ends with backslash\\",
        "\"} 1\ninjected_series{a=\"b",
        "unicode ☃ and spaces",
    ];
    let containers: Vec<ContainerStats> = names
        .iter()
        .enumerate()
        .map(|(i, name)| ContainerStats {
            id: format!("{i:064x}"),
            name: (*name).to_owned(),
            image: Some(format!("img\"{i}\\\n")),
            mem_bytes: Some(i as u64),
            ..ContainerStats::default()
        })
        .collect();
    let snapshot = Snapshot {
        batch: ContainerStatsBatch {
            sequence: Some(1),
            containers,
            ..ContainerStatsBatch::default()
        },
        counters: Vec::new(),
        engine_reachable: true,
    };
    let hostile_agent = AgentFacts {
        agent_id: "agent\"\n\\".into(),
        ..facts()
    };
    for text in [
        render(Some(Arc::new(snapshot)), hostile_agent.clone()),
        to_text_format(&render(
            Some(Arc::new(Snapshot {
                batch: ContainerStatsBatch {
                    sequence: Some(1),
                    containers: names
                        .iter()
                        .map(|n| ContainerStats {
                            name: (*n).to_owned(),
                            mem_bytes: Some(1),
                            ..ContainerStats::default()
                        })
                        .collect(),
                    ..ContainerStatsBatch::default()
                },
                counters: Vec::new(),
                engine_reachable: true,
            })),
            hostile_agent.clone(),
        )),
    ] {
        let samples = parse(&text);
        assert!(
            !samples.iter().any(|s| s.0 == "injected_series"),
            "a name injected a series:\n{text}"
        );
        let working_set: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.0 == "container_memory_working_set_bytes")
            .collect();
        assert_eq!(working_set.len(), names.len(), "{text}");
        for (sample, name) in working_set.iter().zip(names) {
            assert_eq!(label(sample, "name"), Some(name), "{text}");
            assert_eq!(label(sample, "agent_id"), Some("agent\"\n\\"));
        }
    }
}

#[test]
fn host_series_come_from_the_host_object_and_only_what_it_has() {
    let full = HostStats {
        cores: Some(2),
        cpu_pct: Some(37.5),
        load_1: Some(0.5),
        load_5: Some(0.25),
        load_15: Some(0.125),
        mem_total_bytes: Some(8_000_000_000),
        mem_used_bytes: Some(2_000_000_000),
        swap_total_bytes: Some(1_000_000_000),
        swap_used_bytes: Some(0),
        uptime_secs: Some(3_600),
        disk_path: Some("/var/lib/docker".into()),
        disk_total_bytes: Some(100_000_000_000),
        disk_used_bytes: Some(40_000_000_000),
    };
    let partial = HostStats {
        cores: Some(4),
        mem_total_bytes: Some(16_000_000_000),
        ..HostStats::default()
    };
    let everything: &[(&str, f64)] = &[
        ("dockscope_host_cpus", 2.0),
        ("dockscope_host_cpu_usage_ratio", 0.375),
        ("dockscope_host_load1", 0.5),
        ("dockscope_host_load5", 0.25),
        ("dockscope_host_load15", 0.125),
        ("dockscope_host_memory_bytes", 8e9),
        ("dockscope_host_memory_used_bytes", 2e9),
        ("dockscope_host_swap_bytes", 1e9),
        ("dockscope_host_swap_used_bytes", 0.0),
        ("dockscope_host_uptime_seconds", 3_600.0),
        ("dockscope_host_disk_size_bytes", 1e11),
        ("dockscope_host_disk_used_bytes", 4e10),
    ];
    // (host object, the host series it gives)
    type Case<'a> = (Option<HostStats>, Vec<(&'a str, f64)>);
    let cases: [Case; 3] = [
        (Some(full), everything.to_vec()),
        (
            Some(partial),
            vec![
                ("dockscope_host_cpus", 4.0),
                ("dockscope_host_memory_bytes", 16e9),
            ],
        ),
        (None, vec![]),
    ];
    for (host, want) in cases {
        let snapshot = Snapshot {
            batch: ContainerStatsBatch {
                sequence: Some(3),
                host: host.clone(),
                ..ContainerStatsBatch::default()
            },
            counters: Vec::new(),
            engine_reachable: true,
        };
        let samples = parse(&render(Some(Arc::new(snapshot)), facts()));
        let got: Vec<(&str, f64)> = samples
            .iter()
            .filter(|s| s.0.starts_with("dockscope_host_"))
            .map(|s| (s.0.as_str(), s.2.parse().expect("number")))
            .collect();
        assert_eq!(got, want, "{host:?}");
        for s in samples
            .iter()
            .filter(|s| s.0.starts_with("dockscope_host_disk"))
        {
            assert_eq!(label(s, "path"), Some("/var/lib/docker"));
            assert_eq!(label(s, "agent_id"), Some("host-a"));
        }
    }
}

#[test]
fn before_the_first_sample_only_the_agent_is_reported() {
    let text = render(
        None,
        AgentFacts {
            engine_reachable: false,
            ..facts()
        },
    );
    let names: Vec<String> = parse(&text).into_iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        [
            "dockscope_agent_build_info",
            "dockscope_engine_reachable",
            "dockscope_agent_clients"
        ]
    );
    assert!(
        text.contains("dockscope_engine_reachable{agent_id=\"host-a\"} 0\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn the_text_format_names_counter_families_after_their_samples() {
    let open = "# HELP c_seconds Time.\n# TYPE c_seconds counter\n# UNIT c_seconds seconds\n\
                c_seconds_total{a=\"1\"} 2.5\n# HELP g_bytes Size.\n# TYPE g_bytes gauge\n\
                # UNIT g_bytes bytes\ng_bytes 3\n# HELP c Events with # and spaces.\n\
                # TYPE c counter\nc_total 4\n# EOF\n";
    let want = "# HELP c_seconds_total Time.\n# TYPE c_seconds_total counter\n\
                c_seconds_total{a=\"1\"} 2.5\n# HELP g_bytes Size.\n# TYPE g_bytes gauge\n\
                g_bytes 3\n# HELP c_total Events with # and spaces.\n\
                # TYPE c_total counter\nc_total 4\n";
    assert_eq!(to_text_format(open), want);
    // On the real output: every counter family is named like its samples.
    let text = to_text_format(&render(Some(Arc::new(two_containers())), facts()));
    for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let (name, kind) = family.split_once(' ').expect("TYPE name kind");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "{family}");
        }
    }
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
}

#[test]
fn prometheus_gets_openmetrics_and_everyone_else_the_text_format() {
    let cases: &[(&[&str], Format)] = &[
        (
            &["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"],
            Format::OpenMetrics,
        ),
        (&["text/plain;version=0.0.4"], Format::Text),
        (&["*/*"], Format::Text),
        (&[], Format::Text),
    ];
    for (accept, want) in cases {
        let mut headers = HeaderMap::new();
        for value in *accept {
            headers.append(header::ACCEPT, value.parse().expect("header"));
        }
        assert_eq!(Format::accepted(&headers), *want, "{accept:?}");
    }
}

#[tokio::test]
async fn a_flood_of_scrapes_formats_each_sample_once() {
    let latest = Arc::new(LatestSample::default());
    let exporter = Exporter::new(latest.clone());
    let formatted = std::sync::atomic::AtomicUsize::new(0);
    let count = || {
        formatted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        facts()
    };
    // Nothing sampled yet: formatted every time, never cached.
    exporter.body(Format::Text, count).await;
    exporter.body(Format::Text, count).await;
    latest.set(two_containers());
    let first = exporter.body(Format::OpenMetrics, count).await;
    for _ in 0..50 {
        assert_eq!(exporter.body(Format::OpenMetrics, count).await, first);
    }
    let text = exporter.body(Format::Text, count).await;
    assert_eq!(
        text,
        Bytes::from(to_text_format(&String::from_utf8_lossy(&first)))
    );
    assert_eq!(formatted.load(std::sync::atomic::Ordering::Relaxed), 3);
    // A new sample is formatted anew.
    let mut next = two_containers();
    next.batch.sequence = Some(8);
    latest.set(next);
    exporter.body(Format::OpenMetrics, count).await;
    assert_eq!(formatted.load(std::sync::atomic::Ordering::Relaxed), 4);
}
