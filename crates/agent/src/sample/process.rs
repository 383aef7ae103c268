//! The agent's own cost, read from `/proc/self` (Linux). Elsewhere both figures are `None`.
//! The same readers serve any process by pid (the benchmark measures the agent, `docker stats`
//! and the engine with them; tests watch the agent's memory).

use std::time::Instant;

use dockscope_protocol::AgentMetrics;

use super::figures::round2;

/// Linux reports `utime`/`stime` in USER_HZ ticks, which is 100 on every architecture Docker runs on.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// Remembers the previous CPU reading so each call reports use since the last one.
#[derive(Debug, Default)]
pub struct ProcessMeter {
    /// (wall clock, CPU ticks) at the previous call.
    previous: Option<(Instant, u64)>,
}

impl ProcessMeter {
    /// CPU percent of one core since the previous call, and the current resident set size.
    pub fn measure(&mut self) -> AgentMetrics {
        let now = Instant::now();
        let ticks = proc_file("self", "stat").and_then(|s| cpu_ticks(&s));
        let cpu_pct = match (self.previous, ticks) {
            (Some((then, before)), Some(after)) => {
                let wall = now.duration_since(then).as_secs_f64();
                (wall > 0.0).then(|| {
                    round2(after.saturating_sub(before) as f64 / TICKS_PER_SECOND / wall * 100.0)
                })
            }
            _ => None,
        };
        if let Some(ticks) = ticks {
            self.previous = Some((now, ticks));
        }
        AgentMetrics {
            cpu_pct,
            mem_bytes: rss_bytes(),
        }
    }
}

/// Resident set size of this process (`VmRSS` in `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    vm_rss(&proc_file("self", "status")?)
}

/// utime + stime of process `pid` (all its threads), in [`TICKS_PER_SECOND`] ticks; `None`
/// when it is gone.
pub fn ticks_of(pid: u32) -> Option<u64> {
    cpu_ticks(&proc_file(&pid.to_string(), "stat")?)
}

/// A `kB` field of process `pid`'s `/proc/<pid>/status` (`"VmRSS:"`, `"VmHWM:"`) in bytes;
/// `None` when it is gone or has no such field.
pub fn status_bytes_of(pid: u32, field: &str) -> Option<u64> {
    status_bytes(&proc_file(&pid.to_string(), "status")?, field)
}

fn proc_file(pid: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()
}

/// Parses `VmRSS:   1234 kB` out of a `/proc/<pid>/status` text.
pub fn vm_rss(status: &str) -> Option<u64> {
    status_bytes(status, "VmRSS:")
}

/// The `kB` figure after `field` in a `/proc/<pid>/status` text, in bytes.
pub fn status_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// utime + stime from a `/proc/<pid>/stat` line. The command name (field 2) may contain spaces
/// and parentheses, so fields are counted after its closing parenthesis.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")" come field 3 (state) onwards; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_table() {
        let cases = [
            (
                "1234 (dockscope-agent) S 1 1234 1234 0 -1 4194560 1375 0 0 0 250 37 0 0 20 0 6 0",
                Some(287),
            ),
            ("1 (we ird) name)) R 0 1 1 0 -1 0 0 0 0 0 7 3 0 0", Some(10)),
            ("garbage", None),
            ("1 (x) S 1 2", None),
        ];
        for (input, want) in cases {
            assert_eq!(cpu_ticks(input), want, "{input}");
        }
    }

    #[test]
    fn vm_rss_table() {
        let cases = [
            (
                "Name:\tagent\nVmRSS:\t    9216 kB\nThreads: 4\n",
                Some(9216 * 1024),
            ),
            ("Name:\tagent\n", None),
            ("VmRSS:\tlots kB\n", None),
        ];
        for (input, want) in cases {
            assert_eq!(vm_rss(input), want, "{input:?}");
        }
    }

    #[test]
    fn status_fields_table() {
        let status = "Name:\tagent\nVmHWM:\t   12000 kB\nVmRSS:\t    9216 kB\n";
        let cases = [
            ("VmRSS:", Some(9216 * 1024)),
            ("VmHWM:", Some(12_000 * 1024)),
            ("VmSwap:", None),
        ];
        for (field, want) in cases {
            assert_eq!(status_bytes(status, field), want, "{field}");
        }
        let me = std::process::id();
        assert!(ticks_of(me).is_some());
        assert!(status_bytes_of(me, "VmHWM:") >= status_bytes_of(me, "VmRSS:"));
        assert_eq!(ticks_of(u32::MAX), None);
    }

    #[test]
    fn measures_this_process() {
        let mut meter = ProcessMeter::default();
        let first = meter.measure();
        assert_eq!(first.cpu_pct, None, "no baseline yet");
        assert!(first.mem_bytes.unwrap_or(0) > 1024 * 1024, "{first:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(meter.measure().cpu_pct.is_some());
    }
}
