//! Network counters of a container's own network namespace, for the cgroup collector: the
//! cgroup has no network files, so they come from `/proc/<pid>/net/dev` of the container's init
//! process (`State.Pid`), which shows the namespace that process is in. Every interface except
//! `lo` is summed, as Docker does for `docker stats` NET I/O.
//!
//! ```text
//!   ContainerInfo { pid, network_mode } ──► NetNs::read(slot, info, buf)
//!       network_mode set (host, none, container:…): no figures (the owner carries them)
//!       new pid (first tick, or the container restarted): check once that
//!         <proc root>/<pid> exists and is not in the agent's own namespace, else warn
//!       every tick: one read of net/dev through the kept handle (one reused buffer)
//! ```
//!
//! Cost: one file per container per tick, read through a handle kept within the cgroup
//! files' descriptor budget (the handle follows the namespace, not the pid number, so a reused
//! pid cannot show another container's figures; it is dropped when the pid changes or the
//! container leaves, which also releases the namespace it holds).
//!
//! Seeing the host's processes: an agent in a container needs `pid: host`, or the host's
//! `/proc` mounted (e.g. at `/host/proc`) and [`PROC_ROOT_ENV`] naming it (read by `config`,
//! handed down as `SampleSettings::proc_root`). Without either,
//! `/proc/<pid>` of a container is missing or another process of the agent's own namespace;
//! [`NetNs::warning`] says so and the figures stay unknown.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::cgroup::read::{CgroupFile, ReadBuf};
use super::containers::ContainerInfo;
use super::figures::NetCounters;
use super::settings::PROC_ROOT_ENV;

/// One container's `net/dev`, opened for one pid.
#[derive(Debug)]
pub struct NetDev {
    /// The pid the file belongs to; a different pid (a restart) means a new file.
    pid: u32,
    /// `<proc root>/<pid>/net/dev`; `None` when that process is not visible from here.
    file: Option<CgroupFile>,
}

/// Reads network namespaces under one `/proc`, and remembers whether it can see them.
#[derive(Debug)]
pub struct NetNs {
    /// The `/proc` of the host's pid namespace, as the agent sees it.
    root: PathBuf,
    /// The inode of the agent's own network namespace; a container whose pid shows it is not
    /// the container (the agent sees another pid namespace).
    own_netns: Option<u64>,
    /// Some container's process was not visible (missing, or in the agent's namespace).
    seen_hidden: bool,
    /// Some container's process was: then the agent sees the host's processes, and a
    /// missing one is a container that just stopped, not a blind agent.
    seen_visible: bool,
}

impl NetNs {
    /// Reads under `root`.
    pub fn new(root: PathBuf) -> Self {
        let own_netns = std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino());
        Self {
            root,
            own_netns,
            seen_hidden: false,
            seen_visible: false,
        }
    }

    /// The container's counters, through `slot` (its kept file, replaced when the pid
    /// changes); `None` for a container in another one's namespace, without a pid (stopped,
    /// restarting), not visible from here, or whose file cannot be read.
    pub fn read(
        &mut self,
        slot: &mut Option<NetDev>,
        info: &ContainerInfo,
        buf: &mut ReadBuf,
        keep_open: bool,
    ) -> Option<NetCounters> {
        let pid = match (info.pid, &info.network_mode) {
            (Some(pid), None) => pid,
            _ => {
                *slot = None;
                return None;
            }
        };
        if slot.as_ref().map(|dev| dev.pid) != Some(pid) {
            *slot = Some(self.open(pid));
        }
        let file = slot.as_mut()?.file.as_mut()?;
        net_dev_counters(buf.read(file, keep_open)?)
    }

    /// Checks once that `pid` is a process of the host seen from here, not one of the
    /// agent's own namespace.
    fn open(&mut self, pid: u32) -> NetDev {
        let dir = self.root.join(pid.to_string());
        let visible = dir.join("net/dev").exists() && !self.is_own_namespace(&dir);
        if visible {
            self.seen_visible = true;
        } else {
            self.seen_hidden = true;
        }
        NetDev {
            pid,
            file: visible.then(|| CgroupFile::from(dir.join("net/dev"))),
        }
    }

    /// Whether `<dir>/ns/net` is the agent's own network namespace (a container never is:
    /// those sharing the host's are skipped by their network mode). Unknown (no permission
    /// to look) counts as not.
    fn is_own_namespace(&self, dir: &Path) -> bool {
        let theirs = std::fs::metadata(dir.join("ns/net")).ok().map(|m| m.ino());
        theirs.is_some() && theirs == self.own_netns
    }

    /// What to change when containers' processes are not visible, for
    /// `agent_status.warnings`; `None` while they are.
    pub fn warning(&self) -> Option<String> {
        (self.seen_hidden && !self.seen_visible).then(|| {
            format!(
                "network figures unavailable: the agent cannot see the containers' processes \
                 under {root} (it runs in its own process namespace). Run it with `pid: host`, \
                 or mount the host's /proc at /host/proc and set {PROC_ROOT_ENV}=/host/proc; \
                 until then the cards show CPU, memory and PIDs but no network I/O.",
                root = self.root.display()
            )
        })
    }
}

/// Sums `/proc/<pid>/net/dev` over every interface except `lo`: received bytes and packets
/// are the 1st and 2nd figures after `iface:`, sent bytes and packets the 9th and 10th.
/// `None` when no line parses (not a `net/dev` text).
pub fn net_dev_counters(text: &str) -> Option<NetCounters> {
    let mut sum = NetCounters::default();
    let mut parsed = false;
    for line in text.lines().skip(2) {
        let Some((name, figures)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            parsed = true;
            continue;
        }
        let mut fields = figures.split_ascii_whitespace();
        let mut next = |skip: usize| fields.nth(skip).and_then(|f| f.parse::<u64>().ok());
        let (Some(rx_bytes), Some(rx_packets), Some(tx_bytes), Some(tx_packets)) =
            (next(0), next(0), next(6), next(0))
        else {
            continue;
        };
        sum.rx_bytes = sum.rx_bytes.saturating_add(rx_bytes);
        sum.rx_packets = sum.rx_packets.saturating_add(rx_packets);
        sum.tx_bytes = sum.tx_bytes.saturating_add(tx_bytes);
        sum.tx_packets = sum.tx_packets.saturating_add(tx_packets);
        parsed = true;
    }
    parsed.then_some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 19542526988 22771110    0    0    0     0          0         0 19542526988 22771110    0    0    0     0       0          0
  eth0: 937138343   46341    0    0    0     0          0         0  2815382   32225    0    0    0     0       0          0
  eth1:1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
";

    #[test]
    fn net_dev_sums_every_interface_but_loopback() {
        let cases = [
            (
                NET_DEV,
                Some(NetCounters {
                    rx_bytes: 937_139_343,
                    rx_packets: 46_351,
                    tx_bytes: 2_817_382,
                    tx_packets: 32_245,
                }),
            ),
            // A namespace with loopback only (`--network none` has it) is all zero.
            (
                "h\nh\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n",
                Some(NetCounters::default()),
            ),
            ("", None),
            ("h\nh\n  eth0: garbage\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(net_dev_counters(text), want, "{text:?}");
        }
    }

    fn fake_proc(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("ds-netns-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("42/net")).expect("fake proc");
        std::fs::write(root.join("42/net/dev"), NET_DEV).expect("net dev");
        root
    }

    fn running(pid: u32, network_mode: Option<&str>) -> ContainerInfo {
        ContainerInfo {
            pid: Some(pid),
            network_mode: network_mode.map(str::to_owned),
            ..ContainerInfo::default()
        }
    }

    #[test]
    fn reads_own_namespaces_only_and_reopens_after_a_restart() {
        let root = fake_proc("read");
        let mut ns = NetNs::new(root.clone());
        let mut buf = ReadBuf::default();
        let mut slot = None;
        let got = ns.read(&mut slot, &running(42, None), &mut buf, true);
        assert_eq!(got.map(|n| n.rx_bytes), Some(937_139_343));
        assert_eq!(ns.warning(), None);
        // Sharing someone's namespace: no figures, and the handle goes.
        for mode in ["host", "none", "container:db"] {
            assert_eq!(
                ns.read(&mut slot, &running(42, Some(mode)), &mut buf, true),
                None
            );
            assert!(slot.is_none(), "{mode}");
        }
        // Restarted: a new pid, a new file.
        std::fs::create_dir_all(root.join("43/net")).expect("pid 43");
        std::fs::write(
            root.join("43/net/dev"),
            "h\nh\n eth0: 7 1 0 0 0 0 0 0 9 2 0 0 0 0 0 0\n",
        )
        .expect("net dev");
        ns.read(&mut slot, &running(42, None), &mut buf, true);
        let got = ns.read(&mut slot, &running(43, None), &mut buf, true);
        assert_eq!(got.map(|n| (n.rx_bytes, n.tx_bytes)), Some((7, 9)));
        // Between runs (no pid): nothing.
        let between = ContainerInfo::default();
        assert_eq!(ns.read(&mut slot, &between, &mut buf, true), None);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_proc_without_the_hosts_processes_is_explained() {
        let root = fake_proc("hidden");
        // Pid 7 is not there (an agent in its own pid namespace).
        let mut ns = NetNs::new(root.clone());
        let mut buf = ReadBuf::default();
        let mut slot = None;
        assert_eq!(ns.read(&mut slot, &running(7, None), &mut buf, false), None);
        let warning = ns.warning().expect("warned");
        for words in ["pid: host", "/host/proc", PROC_ROOT_ENV, "no network I/O"] {
            assert!(warning.contains(words), "{warning}");
        }
        // Pid 42 there, but it is in the agent's own network namespace: not the container.
        std::os::unix::fs::symlink("/proc/self/ns", root.join("42/ns")).expect("ns link");
        assert_eq!(
            ns.read(&mut slot, &running(42, None), &mut buf, false),
            None
        );
        assert!(ns.warning().is_some());
        let _ = std::fs::remove_dir_all(root);
    }
}
