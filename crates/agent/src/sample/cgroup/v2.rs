//! cgroup v2: one unified hierarchy. CPU time and throttling from `cpu.stat` (`usage_usec`,
//! `nr_throttled`, `throttled_usec`, one read), memory from `memory.current`, `memory.stat`
//! (`inactive_file`, and the breakdown `anon`, `file`, `shmem`, kernel memory, one read),
//! `memory.max` (`max` when unlimited) and `memory.events` (`oom_kill`), block I/O from
//! `io.stat`, processes from `pids.current` and `pids.max`.
//!
//! Layouts:
//! - cgroupfs driver: `<root>/docker/<id>`
//! - systemd driver: `<root>/system.slice/docker-<id>.scope`

use std::path::Path;

use super::read::{number, stat_field, stat_value, wall_clocked, Files, Fill, Probe};
use crate::sample::figures::Reading;

/// The `memory.stat` key Docker subtracts from usage on cgroup v2.
pub const INACTIVE_FILE: &str = "inactive_file";

/// The files read for every container and the fields each fills, CPU first. `memory.max` is
/// `max` when unlimited, which leaves the limit `None` (reported as host memory).
pub const FILES: [(&str, Fill); 8] = [
    ("cpu.stat", |text, r| {
        wall_clocked(r, cpu_ns(text));
        r.throttled_periods = stat_value(text, "nr_throttled");
        r.throttled_ns = stat_value(text, "throttled_usec").and_then(|us| us.checked_mul(1_000));
    }),
    ("memory.current", |text, r| r.usage = number(text)),
    ("memory.stat", memory_stat),
    ("memory.max", |text, r| r.limit = number(text)),
    ("memory.events", |text, r| {
        r.oom_kills = stat_value(text, "oom_kill");
    }),
    ("io.stat", |text, r| {
        let bytes = io_bytes(text);
        r.block_read = bytes.map(|(read, _)| read);
        r.block_write = bytes.map(|(_, write)| write);
    }),
    ("pids.current", |text, r| r.pids = number(text)),
    ("pids.max", |text, r| r.pids_limit = number(text)),
];

/// `memory.stat`, read once per tick: the cache Docker leaves out and the breakdown, `anon`,
/// `file` (shmem included), `shmem` and [`kernel_memory`].
fn memory_stat(text: &str, r: &mut Reading) {
    let value = |key: &str| stat_value(text, key);
    r.inactive_file = value(INACTIVE_FILE);
    r.mem_anon = value("anon");
    r.mem_file = value("file");
    r.mem_shmem = value("shmem");
    r.mem_kernel = kernel_memory(|key| stat_field(text, key).map(|v| v.trim().parse().ok()));
}

/// Kernel memory from cgroup v2 `memory.stat` keys (the files or the engine's copy of them):
/// `kernel` where the kernel writes it (5.18 and later: all kernel memory charged to the
/// group). Older kernels lack it; then the sum of `kernel_stack`, `slab` and `sock` — those
/// of the three that are present, the bulk of what `kernel` counts (page tables, per-CPU and
/// vmalloc memory are left out). `None` when none of them is there, when one that is there
/// does not parse, or a sum overflows. `value` gives a key's figure, `Some(None)` for a key
/// that is there but does not parse.
pub fn kernel_memory(value: impl Fn(&str) -> Option<Option<u64>>) -> Option<u64> {
    if let Some(kernel) = value("kernel") {
        return kernel;
    }
    let parts: Vec<Option<u64>> = ["kernel_stack", "slab", "sock"]
        .into_iter()
        .filter_map(&value)
        .collect();
    if parts.is_empty() {
        return None;
    }
    parts
        .into_iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part?))
}

/// Bytes read and written from `io.stat`: one line per device, `MAJ:MIN rbytes=… wbytes=…
/// rios=… wios=… dbytes=… dios=…`, summed over devices (what Docker's engine turns into the
/// `read` and `write` entries `docker stats` adds up). No lines (no I/O yet) is zero. `None`
/// when a line is not of that form, a value does not fit in 64 bits or a sum overflows.
pub fn io_bytes(text: &str) -> Option<(u64, u64)> {
    let (mut read, mut write) = (0u64, 0u64);
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(device) = fields.next() else {
            continue;
        };
        let (major, minor) = device.split_once(':')?;
        major.parse::<u64>().ok()?;
        minor.parse::<u64>().ok()?;
        for field in fields {
            let (key, value) = field.split_once('=')?;
            let value: u64 = value.parse().ok()?;
            match key {
                "rbytes" => read = read.checked_add(value)?,
                "wbytes" => write = write.checked_add(value)?,
                _ => {}
            }
        }
    }
    Some((read, write))
}

/// Whether `root` is a cgroup v2 hierarchy with the memory controller available.
pub fn is_unified(root: &Path) -> bool {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|name| name == "memory"))
}

/// The files of the container whose cgroup is `relative` under `root`.
pub fn files(root: &Path, relative: &str) -> Option<Files> {
    let dir = root.join(relative);
    dir.is_dir().then(|| files_in(&dir))
}

/// The files of the cgroup at `dir`, whether or not it exists.
pub fn files_in(dir: &Path) -> Files {
    Files::new(
        FILES
            .iter()
            .map(|&(name, fill)| Probe::new(dir.join(name).into(), fill))
            .collect(),
    )
}

/// CPU time in nanoseconds from `cpu.stat`'s `usage_usec`.
pub fn cpu_ns(text: &str) -> Option<u64> {
    stat_value(text, "usage_usec")?.checked_mul(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_bytes_table() {
        let cases = [
            ("", Some((0, 0))),
            (
                "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n",
                Some((1_459_200, 314_773_504)),
            ),
            (
                "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
                 253:0 rbytes=4096 wbytes=33554432 rios=1 wios=32 dbytes=0 dios=0\n",
                Some((1_459_200 + 4_096, 314_773_504 + 33_554_432)),
            ),
            // keys in any order; a device line without the byte keys adds nothing
            ("8:0 wbytes=5 rbytes=7\n8:1 rios=3\n", Some((7, 5))),
            ("8:0 rbytes=x\n", None),
            ("8:0 rbytes\n", None),
            ("sda rbytes=1\n", None),
            ("8:0 rbytes=18446744073709551615\n8:1 rbytes=1\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(io_bytes(text), want, "{text:?}");
        }
    }

    #[test]
    fn kernel_memory_table() {
        let stat = |text: &'static str| {
            move |key: &str| stat_field(text, key).map(|v| v.trim().parse().ok())
        };
        let cases = [
            (
                "kernel 348160\nkernel_stack 16384\nslab 221184\nsock 0\n",
                Some(348_160),
            ),
            // before 5.18: the three parts there are
            (
                "kernel_stack 16384\nslab 221184\nsock 4096\n",
                Some(241_664),
            ),
            ("kernel_stack 16384\nslab 221184\n", Some(237_568)),
            ("anon 1\nfile 2\n", None),
            // there but not a number: unknown, never a guess from the other keys
            ("kernel lots\nkernel_stack 16384\nslab 221184\n", None),
            ("kernel_stack 16384\nslab x\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(kernel_memory(stat(text)), want, "{text:?}");
        }
    }
}
