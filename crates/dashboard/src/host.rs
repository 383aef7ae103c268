//! The host strip of an agent card: `batch.host` (contract 5) as labelled figures. An agent
//! that sends no `host` gets no strip; a figure it leaves out is written as unknown.

use dockscope_protocol::HostStats;

use crate::format;

/// One figure of the strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFact {
    /// `data-testid` suffix: `host-<key>`.
    pub key: &'static str,
    pub label: String,
    pub value: String,
}

const UNKNOWN: &str = "–";

fn used_of(used: Option<u64>, total: Option<u64>) -> String {
    match (used, total) {
        (Some(u), Some(t)) => format!("{} / {}", format::bytes(u), format::bytes(t)),
        (Some(u), None) => format::bytes(u),
        (None, Some(t)) => format!("{UNKNOWN} / {}", format::bytes(t)),
        (None, None) => UNKNOWN.to_owned(),
    }
}

fn load(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite() && *v >= 0.0) {
        Some(v) if v < 1e6 => format!("{v:.2}"),
        Some(_) => "> 999999".to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

/// The strip's figures, in order: CPU, load, memory (with swap when the host has any), the
/// Docker data root's disk, uptime.
pub fn host_facts(host: &HostStats) -> Vec<HostFact> {
    let fact = |key, label: &str, value: String| HostFact {
        key,
        label: label.to_owned(),
        value,
    };
    let cores = host
        .cores
        .map(|n| format!(" of {n} cores"))
        .unwrap_or_default();
    let mut memory = used_of(host.mem_used_bytes, host.mem_total_bytes);
    if host.swap_total_bytes.is_some_and(|t| t > 0) {
        memory.push_str(&format!(
            ", swap {}",
            used_of(host.swap_used_bytes, host.swap_total_bytes)
        ));
    }
    let disk_label = match &host.disk_path {
        Some(path) => format!("Disk {}", format::truncate(path, 40)),
        None => "Disk".to_owned(),
    };
    vec![
        fact(
            "cpu",
            "Host CPU",
            format!("{}{cores}", format::percent(host.cpu_pct)),
        ),
        fact(
            "load",
            "Load 1/5/15 min",
            format!(
                "{} / {} / {}",
                load(host.load_1),
                load(host.load_5),
                load(host.load_15)
            ),
        ),
        fact("mem", "Host memory", memory),
        fact(
            "disk",
            &disk_label,
            used_of(host.disk_used_bytes, host.disk_total_bytes),
        ),
        fact(
            "uptime",
            "Host uptime",
            host.uptime_secs
                .map_or_else(|| UNKNOWN.to_owned(), format::duration),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn a_full_host_reads_as_figures() {
        let host = HostStats {
            cores: Some(2),
            cpu_pct: Some(37.25),
            load_1: Some(0.5),
            load_5: Some(1.25),
            load_15: Some(2.0),
            mem_total_bytes: Some(8 * GIB),
            mem_used_bytes: Some(3 * GIB),
            swap_total_bytes: Some(2 * GIB),
            swap_used_bytes: Some(0),
            uptime_secs: Some(90_000),
            disk_path: Some("/var/lib/docker".into()),
            disk_total_bytes: Some(100 * GIB),
            disk_used_bytes: Some(40 * GIB),
        };
        let facts: Vec<(&str, String, String)> = host_facts(&host)
            .into_iter()
            .map(|f| (f.key, f.label, f.value))
            .collect();
        let want = [
            ("cpu", "Host CPU", "37.2 % of 2 cores"),
            ("load", "Load 1/5/15 min", "0.50 / 1.25 / 2.00"),
            (
                "mem",
                "Host memory",
                "3.00 GiB / 8.00 GiB, swap 0 B / 2.00 GiB",
            ),
            ("disk", "Disk /var/lib/docker", "40.0 GiB / 100 GiB"),
            ("uptime", "Host uptime", "1d 1h"),
        ];
        for (got, (key, label, value)) in facts.iter().zip(want) {
            assert_eq!((got.0, got.1.as_str(), got.2.as_str()), (key, label, value));
        }
    }

    #[test]
    fn missing_and_absurd_figures_read_as_unknown() {
        let facts = host_facts(&HostStats {
            load_1: Some(f64::NAN),
            load_5: Some(-1.0),
            load_15: Some(1e300),
            swap_total_bytes: Some(0),
            mem_total_bytes: Some(GIB),
            ..HostStats::default()
        });
        let values: Vec<&str> = facts.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(values, ["–", "– / – / > 999999", "– / 1.00 GiB", "–", "–"]);
        assert_eq!(facts[3].label, "Disk");
    }
}
