//! The agent's own cost, read from `/proc/self` (Linux). Elsewhere both figures are `None`.

use std::time::Instant;

use dockscope_protocol::AgentMetrics;

use super::figures::round2;

/// Linux reports `utime`/`stime` in USER_HZ ticks, which is 100 on every architecture Docker runs on.
const TICKS_PER_SECOND: f64 = 100.0;

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
        let ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| cpu_ticks(&s));
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
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss(&status)
}

/// Parses `VmRSS:   1234 kB` out of a `/proc/<pid>/status` text.
pub fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
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
    fn measures_this_process() {
        let mut meter = ProcessMeter::default();
        let first = meter.measure();
        assert_eq!(first.cpu_pct, None, "no baseline yet");
        assert!(first.mem_bytes.unwrap_or(0) > 1024 * 1024, "{first:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(meter.measure().cpu_pct.is_some());
    }
}
