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
}

impl Probe {
    /// A probe of one file.
    pub fn new(file: CgroupFile, fill: Fill) -> Self {
        Self {
            file,
            fill,
            fallback: None,
        }
    }
}

/// The files a figure may come from, beyond the first: v1 `blkio` writes the same counters in
/// one file per policy (bfq, cfq, throttle), and runc takes the first that lists a device.
#[derive(Debug)]
pub struct Fallback {
    /// In the order tried, each existing when the container was found.
    pub files: Vec<CgroupFile>,
    /// Whether a text holds no figure, so the next file is read. The last file read is filled
    /// either way (a file of no devices is zero bytes).
    pub empty: fn(&str) -> bool,
}

/// The files read for one container, resolved once when it appears.
#[derive(Debug)]
pub struct Files {
    /// In table order (the CPU counter first, so its clock is read right after it).
    pub probes: Vec<Probe>,
}

impl Files {
    /// Reads every file into one reading, reusing `buf`; with `keep_open` the files stay open
    /// for the next tick. A file that cannot be read or parsed leaves its figure `None`.
    pub fn read(&mut self, buf: &mut ReadBuf, keep_open: bool) -> Reading {
        let mut reading = Reading {
            at: Some(Instant::now()),
            ..Reading::default()
        };
        for probe in &mut self.probes {
            match &mut probe.fallback {
                None => {
                    if let Some(text) = buf.read(&mut probe.file, keep_open) {
                        (probe.fill)(text, &mut reading);
                    }
                }
                Some(fallback) => {
                    // Each file is read only while the ones before it held nothing.
                    let count = 1 + fallback.files.len();
                    for i in 0..count {
                        let file = match i.checked_sub(1) {
                            None => &mut probe.file,
                            Some(j) => &mut fallback.files[j],
                        };
                        let Some(text) = buf.read(file, keep_open) else {
                            continue;
                        };
                        if i + 1 == count || !(fallback.empty)(text) {
                            (probe.fill)(text, &mut reading);
                            break;
                        }
                    }
                }
            }
        }
        reading
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
