//! Helpers for the tests of what is shipped (`aarch64.rs`, `release.rs`): binaries that are not
//! the one cargo built for the test, run natively or under Debian's `qemu-aarch64-static`.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, Agent};

/// ELF `e_machine` of x86_64 and aarch64 executables.
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `--version` must print: the crate version with a `v`, then the git revision when known.
pub fn assert_version_line(stdout: &str) {
    let line = stdout.trim();
    let expected = format!("dockscope-agent v{}", env!("CARGO_PKG_VERSION"));
    let rest = line
        .strip_prefix(&expected)
        .unwrap_or_else(|| panic!("--version printed {line:?}, expected {expected:?}…"));
    assert!(
        rest.is_empty() || (rest.starts_with(" (git ") && rest.ends_with(')')),
        "--version printed {line:?}: after the version only ` (git <rev>)` may follow"
    );
}

/// The `e_machine` field of an ELF executable; panics when `path` is not one.
pub fn elf_machine(path: &Path) -> u16 {
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(
        &header[..4],
        b"\x7fELF",
        "{} is not an ELF file",
        path.display()
    );
    assert_eq!(header[5], 1, "{} is not little-endian", path.display());
    u16::from_le_bytes([header[18], header[19]])
}

/// Debian's user-mode emulator for aarch64 (`qemu-user-static`, installed by scripts/setup.sh).
pub fn qemu_aarch64() -> PathBuf {
    ["/usr/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("qemu-aarch64-static is missing: scripts/setup.sh installs qemu-user-static")
}

/// How to run an agent binary on this x86_64 host: itself, or under qemu for aarch64.
pub fn command_for(bin: &Path) -> Command {
    match elf_machine(bin) {
        EM_X86_64 => Command::new(bin),
        EM_AARCH64 => {
            let mut command = Command::new(qemu_aarch64());
            command.arg(bin);
            command
        }
        other => panic!("{}: unexpected ELF machine {other}", bin.display()),
    }
}

/// `bin --version`, checked; returns what it printed.
pub fn check_version(bin: &Path) -> String {
    let out = command_for(bin).arg("--version").output().unwrap();
    assert!(
        out.status.success(),
        "{} --version failed ({}): {}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_version_line(&stdout);
    stdout
}

/// Starts `bin` (under qemu when it is aarch64) listening on a free loopback port, and waits
/// until it accepts connections (at most `within`: emulation starts slower).
pub fn start(bin: &Path, extra: &[&str], within: Duration) -> Agent {
    let port = free_port();
    let child = command_for(bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let mut agent = Agent { child, port };
    let deadline = Instant::now() + within;
    while !crate::common::listening(port) {
        if let Some(status) = agent.child.try_wait().unwrap() {
            panic!(
                "{} exited ({status}) before listening on {port}; see its log above",
                bin.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {port} within {within:?}",
            bin.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    agent
}
