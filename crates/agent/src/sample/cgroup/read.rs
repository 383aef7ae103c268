//! Readers: the cgroup files of one container, read into one [`Reading`] with one reused
//! buffer. Which files, and which field of the reading each fills, is a table per version
//! ([`super::v1::FILES`], [`super::v2::FILES`]); this module only reads whatever the table lists.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Instant;

use crate::sample::figures::{Clock, Reading};

/// Puts one file's text into its fields of the reading (one parse of `memory.stat` fills
/// several); a text that does not parse leaves its fields `None`.
pub type Fill = fn(&str, &mut Reading);

/// One file of a container's cgroup and the fields it fills.
#[derive(Debug)]
pub struct Probe {
    /// The file.
    pub file: CgroupFile,
    /// Where its figures go.
    pub fill: Fill,
    /// Files read in `file`'s place, in turn, while the text read so far holds no figure;
    /// `None` for almost every file.
    pub fallback: Option<Fallback>,
    /// Read every [`REFRESH_EVERY`] ticks only (see [`SLOW_FILES`]).
    pub slow: bool,
    /// Read between refreshes only when its gate figure moved (see [`GATED_FILES`]).
    pub gate: Option<Gate>,
}

/// Picks one figure out of a reading.
pub type Figure = fn(&Reading) -> Option<u64>;

/// A figure read earlier in the same tick that moves whenever a file's text does, and what it
/// was when that file was last read.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// The figure.
    pub by: Figure,
    /// Its value when the file was last read; `None`: read it next tick.
    pub seen: Option<u64>,
}

impl Probe {
    /// A probe of one file; slow when its name is one of [`SLOW_FILES`], gated when it is one
    /// of [`GATED_FILES`].
    pub fn new(file: CgroupFile, fill: Fill) -> Self {
        let name = file.path.file_name().and_then(|n| n.to_str());
        let slow = name.is_some_and(|n| SLOW_FILES.contains(&n));
        let gate = GATED_FILES
            .iter()
            .find(|(gated, _)| name == Some(*gated))
            .map(|&(_, by)| Gate { by, seen: None });
        Self {
            file,
            fill,
            fallback: None,
            slow,
            gate,
        }
    }
}

/// Files re-read between refreshes only when a figure read before them in the same tick
/// differs from what it was when the file was last read; their figures are repeated
/// otherwise, and read anew every [`REFRESH_EVERY`] ticks whatever the gate says.
/// - `memory.stat`, gated by the memory usage (`memory.usage_in_bytes`, `memory.current`). The
///   most expensive file the agent reads (the kernel formats some 70 counters: 13.5 µs a read
///   here, as much as six small files). Anon, file cache and shmem move only when pages are
///   charged or uncharged, which moves the usage. The exception is the LRU moving file pages
///   from active to inactive without freeing any, under reclaim (which uncharges too); such a
///   figure is at worst [`REFRESH_EVERY`] seconds old.
/// - v1 `cpu.stat`, gated by the CPU time: a group is throttled only while it runs, so its
///   throttling counters cannot move unless its CPU time does. v2's `cpu.stat` holds the CPU
///   time itself and is the first file read, before any figure: its gate is always open.
///
/// An idle container costs one of each every five ticks.
pub const GATED_FILES: [(&str, Figure); 2] =
    [("memory.stat", |r| r.usage), ("cpu.stat", |r| r.cpu_ns)];

/// Files whose figures are levels that change rarely and feed no per-second rate: the limits
/// (changed only by `docker update`), kernel memory and the OOM kill count. The sampler reads
/// them every [`REFRESH_EVERY`] ticks and repeats the last values in between, which saves four
/// of the eleven reads per container per second on v1 (three of eight on v2); a figure is at
/// most that many seconds old.
pub const SLOW_FILES: [&str; 6] = [
    "memory.limit_in_bytes",
    "memory.kmem.usage_in_bytes",
    "memory.oom_control",
    "pids.max",
    "memory.max",
    "memory.events",
];

/// Every how many ticks [`Files::read_tick`] reads the slow files, and tries the `blkio` files
/// before the one that last held figures.
pub const REFRESH_EVERY: u64 = 5;

/// The files a figure may come from, beyond the first: v1 `blkio` writes the same counters in
/// one file per policy (bfq, cfq, throttle), and runc takes the first that lists a device.
#[derive(Debug)]
pub struct Fallback {
    /// In the order tried, each existing when the container was found.
    pub files: Vec<CgroupFile>,
    /// Whether a text holds no figure, so the next file is read. The last file read is filled
    /// either way (a file of no devices is zero bytes).
    pub empty: fn(&str) -> bool,
    /// Which file (0: the probe's own, then `files`) held the figures last time; between
    /// refreshes reading starts there instead of re-reading the empty ones before it.
    pub chosen: usize,
}

/// The files read for one container, resolved once when it appears.
#[derive(Debug)]
pub struct Files {
    /// In table order (the CPU counter first, so its clock is read right after it).
    pub probes: Vec<Probe>,
    /// The slow files' figures as last read (every other field default).
    kept: Reading,
    /// Ticks read so far by [`Files::read_tick`].
    ticks: u64,
}

impl Files {
    /// The files of `probes`, none read yet.
    pub fn new(probes: Vec<Probe>) -> Self {
        Self {
            probes,
            kept: Reading::default(),
            ticks: 0,
        }
    }

    /// The sampler's read, once a second: every file on the first tick and every
    /// [`REFRESH_EVERY`] ticks after, the other files (those that feed rates or change by the
    /// second) on every tick, with the slow files' last figures.
    pub fn read_tick(&mut self, buf: &mut ReadBuf, keep_open: bool) -> Reading {
        let refresh = self.ticks.is_multiple_of(REFRESH_EVERY);
        self.ticks += 1;
        if refresh {
            self.read_all(buf, keep_open)
        } else {
            self.read_fast(buf, keep_open, false)
        }
    }

    /// Reads every file into one reading (see [`Files::read_tick`] for the sampler's cadence).
    pub fn read_all(&mut self, buf: &mut ReadBuf, keep_open: bool) -> Reading {
        let mut kept = Reading::default();
        for probe in self.probes.iter_mut().filter(|p| p.slow) {
            if let Some(text) = buf.read(&mut probe.file, keep_open) {
                (probe.fill)(text, &mut kept);
            }
        }
        self.kept = kept;
        self.read_fast(buf, keep_open, true)
    }

    /// The files that are not slow, over the slow ones' kept figures; `from_start` tries every
    /// fallback file in order (runc's choice), otherwise from the last one chosen.
    fn read_fast(&mut self, buf: &mut ReadBuf, keep_open: bool, from_start: bool) -> Reading {
        let mut reading = Reading {
            at: Some(Instant::now()),
            ..self.kept
        };
        for probe in self.probes.iter_mut().filter(|p| !p.slow) {
            match (&mut probe.fallback, probe.gate) {
                (None, Some(Gate { by, seen })) => {
                    let now = by(&reading);
                    if !from_start && now.is_some() && now == seen {
                        continue; // its figures as last read are in `kept`, so in `reading`
                    }
                    let text = buf.read(&mut probe.file, keep_open);
                    if let Some(text) = text {
                        // Kept for the ticks that skip it, and into this tick's reading (built
                        // from `kept` before this file was read).
                        (probe.fill)(text, &mut self.kept);
                        (probe.fill)(text, &mut reading);
                    }
                    // A file that fills its own gate figure (v2's `cpu.stat` holds the CPU
                    // time) has no gate; a failed read is tried again next tick.
                    probe.gate = by(&self.kept).is_none().then_some(Gate {
                        by,
                        seen: text.and(now),
                    });
                }
                (None, None) => {
                    if let Some(text) = buf.read(&mut probe.file, keep_open) {
                        (probe.fill)(text, &mut reading);
                    }
                }
                (Some(fallback), _) => {
                    // Each file is read only while the ones before it held nothing.
                    let count = 1 + fallback.files.len();
                    let first = if from_start { 0 } else { fallback.chosen };
                    for i in first.min(count - 1)..count {
                        let file = match i.checked_sub(1) {
                            None => &mut probe.file,
                            Some(j) => &mut fallback.files[j],
                        };
                        let Some(text) = buf.read(file, keep_open) else {
                            continue;
                        };
                        if i + 1 == count || !(fallback.empty)(text) {
                            (probe.fill)(text, &mut reading);
                            fallback.chosen = i;
                            break;
                        }
                    }
                }
            }
        }
        reading
    }

    /// [`Files::read_all`]: every file, as the tests read them.
    pub fn read(&mut self, buf: &mut ReadBuf, keep_open: bool) -> Reading {
        self.read_all(buf, keep_open)
    }
}

/// Records a cumulative CPU counter read from a cgroup file, clocked now (a file that could
/// not be read records nothing, so the reading has no CPU baseline).
pub fn wall_clocked(reading: &mut Reading, cpu_ns: Option<u64>) {
    reading.cpu_ns = cpu_ns;
    reading.clock = Some(Clock::Wall(Instant::now()));
}

/// A whole-file number (`memory.current`, `cpuacct.usage`, `memory.limit_in_bytes`), which
/// also makes v2's `max` `None`.
pub fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// One cgroup file: where it is and, while the descriptor budget allows, an open handle that
/// is read again from offset 0 each tick. The kernel regenerates the text on every read from
/// the start, and skipping the path lookup halves the cost of a small file.
#[derive(Debug)]
pub struct CgroupFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Kept open between ticks, or `None` (opened per read).
    handle: Option<File>,
}

impl From<PathBuf> for CgroupFile {
    fn from(path: PathBuf) -> Self {
        Self { path, handle: None }
    }
}

/// The value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`): lines of `key value`.
/// Searches for the key directly rather than splitting every line (v1 `memory.stat` has about
/// 40 lines and is read for every container every second).
pub fn stat_value(text: &str, key: &str) -> Option<u64> {
    stat_field(text, key)?.trim().parse().ok()
}

/// The text after `key ` on its line, whether or not it is a number; `None` when no line has
/// the key (which tells an older kernel's file from a figure that does not parse).
pub fn stat_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let at = from + found;
        let end = at + key.len();
        if (at == 0 || bytes[at - 1] == b'\n') && bytes.get(end) == Some(&b' ') {
            return text[end + 1..].split('\n').next();
        }
        from = end;
    }
    None
}

/// Host memory (`MemTotal` in `/proc/meminfo`), the limit of an unlimited container.
pub fn host_memory(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A read buffer kept across reads and ticks, so sampling allocates nothing per file.
#[derive(Debug)]
pub struct ReadBuf {
    /// Backing storage; grows if a file is larger, never shrinks.
    bytes: Vec<u8>,
}

impl Default for ReadBuf {
    fn default() -> Self {
        Self {
            bytes: vec![0; 8 * 1024],
        }
    }
}

impl ReadBuf {
    /// The whole text of `file`, through its kept handle (positional reads from 0) or a fresh
    /// open, which is kept when `keep_open`. A kept handle that fails (the cgroup is gone) is
    /// dropped. Plain `read` calls until end of file: `read_to_string` would first `fstat` and
    /// `lseek` for a size hint that virtual cgroup files do not have.
    pub fn read(&mut self, file: &mut CgroupFile, keep_open: bool) -> Option<&str> {
        let len = match &file.handle {
            Some(handle) => match self.fill(|bytes, at| handle.read_at(bytes, at)) {
                Some(len) => len,
                None => {
                    file.handle = None;
                    return None;
                }
            },
            None => {
                let mut opened = File::open(&file.path).ok()?;
                let len = self.fill(|bytes, _| opened.read(bytes))?;
                if keep_open {
                    file.handle = Some(opened);
                }
                len
            }
        };
        std::str::from_utf8(&self.bytes[..len]).ok()
    }

    /// Reads to the end with `read(buffer, offset)`; the length read.
    fn fill(
        &mut self,
        mut read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    ) -> Option<usize> {
        let mut len = 0;
        loop {
            if len == self.bytes.len() {
                self.bytes.resize(len * 2, 0);
            }
            let room = self.bytes.len() - len;
            match read(&mut self.bytes[len..], len as u64) {
                Ok(0) => return Some(len),
                // A short read is the end: regular files and the kernel's seq files (every
                // cgroup file) only return less than asked at end of file. Saves a read call.
                Ok(n) if n < room => return Some(len + n),
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_value_table() {
        let text = "cache 67108864\ntotal_inactive_file 4096\ninactive_file 12\nusage_usec 7\n";
        let cases = [
            ("total_inactive_file", Some(4096)),
            ("inactive_file", Some(12)),
            ("usage_usec", Some(7)),
            ("cache", Some(67_108_864)),
            ("active_file", None),
            ("total", None),
        ];
        for (key, want) in cases {
            assert_eq!(stat_value(text, key), want, "{key}");
        }
        assert_eq!(stat_value("usage_usec lots\n", "usage_usec"), None);
    }

    #[test]
    fn number_and_host_memory_table() {
        let cases = [
            ("268435456\n", Some(268_435_456)),
            ("max\n", None),
            (" 7 ", Some(7)),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(number(text), want, "{text:?}");
        }
        assert_eq!(
            host_memory("MemTotal:       24684084 kB\nMemFree: 1 kB\n"),
            Some(24_684_084 * 1024)
        );
        assert_eq!(host_memory("MemFree: 1 kB\n"), None);
    }

    /// A directory of made-up cgroup files, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("ds-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Self(dir)
        }

        fn path(&self, file: &str) -> std::path::PathBuf {
            self.0.join(file)
        }

        fn write(&self, file: &str, text: &str) {
            std::fs::write(self.path(file), text).expect("write");
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn slow_files_are_read_every_fifth_tick_and_blkio_starts_where_it_found_figures() {
        let dir = Scratch::new("cadence");
        let write = |name: &str, text: &str| dir.write(name, text);
        write("memory.current", "100\n");
        write("memory.max", "1000\n");
        write("empty", "");
        write("full", "7\n");
        let mut files = Files::new(vec![
            Probe::new(dir.path("memory.current").into(), |t, r| {
                r.usage = number(t)
            }),
            Probe::new(dir.path("memory.max").into(), |t, r| r.limit = number(t)),
            Probe {
                file: dir.path("empty").into(),
                fill: |t, r| r.block_read = number(t),
                fallback: Some(Fallback {
                    files: vec![dir.path("full").into()],
                    empty: str::is_empty,
                    chosen: 0,
                }),
                slow: false,
                gate: None,
            },
        ]);
        assert!(files.probes[1].slow && !files.probes[0].slow);
        let mut buf = ReadBuf::default();
        let mut tick = |files: &mut Files| {
            let r = files.read_tick(&mut buf, false);
            (r.usage, r.limit, r.block_read)
        };
        assert_eq!(tick(&mut files), (Some(100), Some(1000), Some(7)));
        write("memory.current", "200\n");
        write("memory.max", "2000\n");
        // The empty blkio file would win again if it filled up, but only on a refresh.
        write("empty", "9\n");
        for _ in 1..REFRESH_EVERY {
            assert_eq!(tick(&mut files), (Some(200), Some(1000), Some(7)));
        }
        assert_eq!(tick(&mut files), (Some(200), Some(2000), Some(9)));
        // The tests' read takes everything every time.
        write("memory.max", "3000\n");
        assert_eq!(files.read(&mut buf, false).limit, Some(3000));
    }

    #[test]
    fn a_gated_file_is_read_again_when_its_gate_moves_and_on_every_refresh() {
        let dir = Scratch::new("gated");
        let write = |name: &str, text: &str| dir.write(name, text);
        write("memory.current", "100\n");
        write("memory.stat", "inactive_file 10\n");
        let mut files = Files::new(vec![
            Probe::new(dir.path("memory.current").into(), |t, r| {
                r.usage = number(t)
            }),
            Probe::new(dir.path("memory.stat").into(), |t, r| {
                r.inactive_file = stat_value(t, "inactive_file")
            }),
        ]);
        assert!(files.probes[1].gate.is_some() && files.probes[0].gate.is_none());
        let mut buf = ReadBuf::default();
        let mut tick = |files: &mut Files| {
            let r = files.read_tick(&mut buf, false);
            (r.usage, r.inactive_file)
        };
        // tick 0 (a refresh): both read.
        assert_eq!(tick(&mut files), (Some(100), Some(10)));
        // Usage still 100: the stat file is not read again, its figure is repeated.
        write("memory.stat", "inactive_file 20\n");
        assert_eq!(tick(&mut files), (Some(100), Some(10)));
        // Usage moved: read in the same tick.
        write("memory.current", "150\n");
        assert_eq!(tick(&mut files), (Some(150), Some(20)));
        write("memory.stat", "inactive_file 30\n");
        assert_eq!(tick(&mut files), (Some(150), Some(20)));
        assert_eq!(tick(&mut files), (Some(150), Some(20)));
        // tick 5 refreshes whatever the usage did.
        assert_eq!(tick(&mut files), (Some(150), Some(30)));
        // An unreadable stat file is tried again on the next tick, not taken as unchanged.
        std::fs::remove_file(dir.path("memory.stat")).expect("remove");
        write("memory.current", "160\n");
        assert_eq!(tick(&mut files), (Some(160), Some(30)));
        write("memory.stat", "inactive_file 40\n");
        assert_eq!(tick(&mut files), (Some(160), Some(40)));
    }

    #[test]
    fn a_file_that_fills_its_own_gate_is_read_every_tick() {
        // v2: `cpu.stat` holds the CPU time its gate would be, and is read first.
        let dir = Scratch::new("selfgate");
        let write = |text: &str| dir.write("cpu.stat", text);
        write("usage_usec 1\n");
        let mut files = Files::new(vec![Probe::new(dir.path("cpu.stat").into(), |t, r| {
            r.cpu_ns = stat_value(t, "usage_usec")
        })]);
        let mut buf = ReadBuf::default();
        let mut cpu = |files: &mut Files| files.read_tick(&mut buf, false).cpu_ns;
        assert_eq!(cpu(&mut files), Some(1));
        // A tick where the CPU time stood still must not close the gate on the next ones.
        for (tick, n) in [2, 2, 3, 4, 5, 6, 7].into_iter().enumerate() {
            write(&format!("usage_usec {n}\n"));
            assert_eq!(cpu(&mut files), Some(n), "tick {}", tick + 1);
        }
    }

    #[test]
    fn read_buf_grows_for_large_files() {
        let dir = std::env::temp_dir().join(format!("ds-readbuf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("big");
        let text = "x 1\n".repeat(5_000);
        std::fs::write(&path, &text).expect("write");
        let mut buf = ReadBuf::default();
        let mut file = CgroupFile::from(path.clone());
        assert_eq!(buf.read(&mut file, true), Some(text.as_str()));
        // Through the kept handle, from offset 0 again, seeing the new content.
        std::fs::write(&path, "y 2\n").expect("rewrite");
        assert_eq!(buf.read(&mut file, true), Some("y 2\n"));
        assert_eq!(buf.read(&mut dir.join("absent").into(), false), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
