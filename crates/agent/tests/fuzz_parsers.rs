//! The agent's parsers of what Docker and the kernel hand it never panic on arbitrary input:
//! stats payloads (as JSON and as structured values with extreme numbers), `/proc` files, and
//! `--docker-endpoint` values. Bounded by `PROPTEST_CASES` (default 256 per property).

use bollard::models::{
    ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats, ContainerStatsResponse,
};
use dockscope_agent::sample::docker_api::Endpoint;
use dockscope_agent::sample::math::{self, CpuCounters};
use dockscope_agent::sample::process;
use proptest::prelude::*;

fn cpu_stats() -> impl Strategy<Value = Option<ContainerCpuStats>> {
    proptest::option::of(
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(prop::collection::vec(any::<u64>(), 0..4)),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(|(total, percpu, system, online)| ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: total,
                    percpu_usage: percpu,
                    ..Default::default()
                }),
                system_cpu_usage: system,
                online_cpus: online,
                ..Default::default()
            }),
    )
}

fn memory_stats() -> impl Strategy<Value = Option<ContainerMemoryStats>> {
    proptest::option::of(
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            prop::collection::hash_map(
                prop::sample::select(vec!["inactive_file", "total_inactive_file", "cache", "x"]),
                any::<u64>(),
                0..4,
            ),
        )
            .prop_map(|(usage, limit, stats)| ContainerMemoryStats {
                usage,
                limit,
                stats: Some(stats.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                ..Default::default()
            }),
    )
}

proptest! {
    #[test]
    fn stats_math_never_panics_and_stays_sane(
        cpu in cpu_stats(),
        precpu in cpu_stats(),
        memory in memory_stats(),
        previous in proptest::option::of((any::<u64>(), 1..u64::MAX)),
    ) {
        let stats = ContainerStatsResponse {
            cpu_stats: cpu,
            precpu_stats: precpu,
            memory_stats: memory.clone(),
            ..Default::default()
        };
        let previous = previous.map(|(container_ns, system_ns)| CpuCounters { container_ns, system_ns });
        let reading = math::reading(&stats, previous);
        if let Some(pct) = reading.cpu_pct {
            prop_assert!(pct.is_finite() && pct >= 0.0, "{}", pct);
        }
        if let (Some(used), Some(usage)) = (reading.mem_bytes, memory.and_then(|m| m.usage)) {
            prop_assert!(used <= usage);
        }
    }

    #[test]
    fn stats_payload_json_never_panics(text in ".{0,200}") {
        if let Ok(stats) = serde_json::from_str::<ContainerStatsResponse>(&text) {
            let _ = math::reading(&stats, None);
        }
    }

    #[test]
    fn proc_parsers_never_panic(text in "(\\PC|[()\\n: ]){0,300}") {
        let _ = process::cpu_ticks(&text);
        let _ = process::vm_rss(&text);
    }

    #[test]
    fn endpoint_parser_never_panics(text in ".{0,64}") {
        let _ = text.parse::<Endpoint>();
    }
}
