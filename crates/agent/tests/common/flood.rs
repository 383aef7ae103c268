//! A connection flood from separate processes: descriptor limits are per process (20,000 here,
//! soft = hard), so the test process cannot hold the attacker's sockets next to its own.
//!
//! The attacker is the test binary itself, started again with [`ENV`] set and filtered to one
//! `#[ignore]`d test that calls [`attacker_role`]. Each attacker process opens its sockets from
//! a loopback source address of its own (e.g. 127.0.0.2, so the test's honest clients on
//! 127.0.0.1 are another peer), sends half a request header or nothing, and holds each socket
//! until the server closes it; a closed socket is opened again, at most
//! [`RECONNECTS_PER_SECOND`] per process, so the server's caps stay under pressure for the whole
//! run. Every loop is bounded: the process exits after its `secs`.

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Set in an attacker process: its orders.
pub const ENV: &str = "DOCKSCOPE_FLOOD_ATTACKER";
/// The name of the `#[ignore]`d test each flood test binary defines to call [`attacker_role`].
pub const ROLE_TEST: &str = "flood_attacker";
/// Re-opened sockets per second and process, at most.
pub const RECONNECTS_PER_SECOND: usize = 1_000;
/// Connects in flight at once while the first wave opens.
const FIRST_WAVE_CONCURRENCY: usize = 512;
/// What a half-open HTTP client sends: a request line and part of a header, never the end.
const HALF_HEADER: &[u8] = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nUser-Ag";

/// What each attacker socket sends after connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Half a request header (a slow-loris HTTP client).
    HalfHeader,
    /// Nothing (a TLS client that never sends its ClientHello).
    Nothing,
}

/// Running attacker processes, killed when dropped.
pub struct Flood {
    children: Vec<Child>,
}

/// What one attacker process did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Connections established (first wave and re-opened).
    pub connected: u64,
    /// Connects that failed.
    pub failed: u64,
    /// Sockets the server closed.
    pub closed_by_server: u64,
    /// Most sockets open at once.
    pub peak_open: u64,
}

impl Flood {
    /// Starts `processes` attackers against `target`, `sockets` sockets each, from `source`,
    /// for `secs` seconds.
    pub fn start(
        target: SocketAddr,
        source: &str,
        processes: usize,
        sockets: usize,
        secs: u64,
        payload: Payload,
    ) -> Self {
        let exe = std::env::current_exe().expect("test binary path");
        let orders = format!(
            "{target} {source} {sockets} {secs} {}",
            match payload {
                Payload::HalfHeader => "half-header",
                Payload::Nothing => "nothing",
            }
        );
        let children = (0..processes)
            .map(|_| {
                Command::new(&exe)
                    .args([ROLE_TEST, "--exact", "--ignored", "--nocapture"])
                    .args(["--test-threads", "1"])
                    .env(ENV, &orders)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("attacker process starts")
            })
            .collect();
        Self { children }
    }

    /// Waits for every attacker to finish its time; what each did.
    pub fn finish(mut self) -> Vec<Summary> {
        std::mem::take(&mut self.children)
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().expect("attacker exits");
                let text = String::from_utf8_lossy(&out.stdout);
                let line = text
                    .lines()
                    // libtest may print "test flood_attacker ... " on the same line
                    .find_map(|l| l.split_once("flood-summary ").map(|(_, s)| s))
                    .unwrap_or_else(|| panic!("attacker printed no summary:\n{text}"));
                let mut n = line.split(' ').map(|f| f.parse::<u64>().expect("number"));
                let mut next = || n.next().expect("field");
                Summary {
                    connected: next(),
                    failed: next(),
                    closed_by_server: next(),
                    peak_open: next(),
                }
            })
            .collect()
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The attacker process's body; returns at once unless [`ENV`] is set.
pub fn attacker_role() {
    let Ok(orders) = std::env::var(ENV) else {
        return;
    };
    let fields: Vec<&str> = orders.split(' ').collect();
    let [target, source, sockets, secs, payload] = fields[..] else {
        panic!("bad orders {orders:?}");
    };
    let target: SocketAddr = target.parse().expect("target");
    let source: IpAddr = source.parse().expect("source");
    let sockets: usize = sockets.parse().expect("sockets");
    let secs: u64 = secs.parse().expect("secs");
    let payload = match payload {
        "half-header" => Payload::HalfHeader,
        _ => Payload::Nothing,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let s = runtime.block_on(attack(target, source, sockets, secs, payload));
    println!(
        "\nflood-summary {} {} {} {}",
        s.connected, s.failed, s.closed_by_server, s.peak_open
    );
}

#[derive(Default)]
struct Counters {
    connected: AtomicU64,
    failed: AtomicU64,
    closed: AtomicU64,
    open: AtomicU64,
    peak_open: AtomicU64,
}

async fn attack(
    target: SocketAddr,
    source: IpAddr,
    sockets: usize,
    secs: u64,
    payload: Payload,
) -> Summary {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let counters = Arc::new(Counters::default());
    let first_wave = Arc::new(Semaphore::new(FIRST_WAVE_CONCURRENCY));
    let reconnects = Arc::new(Semaphore::new(0));
    let refill = reconnects.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tick.tick().await;
            let room = RECONNECTS_PER_SECOND.saturating_sub(refill.available_permits());
            refill.add_permits((RECONNECTS_PER_SECOND / 100).min(room));
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sockets {
        let (counters, first_wave, reconnects) =
            (counters.clone(), first_wave.clone(), reconnects.clone());
        tasks.spawn(async move {
            let mut first = true;
            while Instant::now() < deadline {
                let permit = if first {
                    first_wave.acquire().await.ok()
                } else {
                    match tokio::time::timeout_at(deadline, reconnects.acquire()).await {
                        Ok(Ok(p)) => {
                            p.forget();
                            None
                        }
                        _ => return,
                    }
                };
                first = false;
                let connected =
                    tokio::time::timeout_at(deadline, connect_from(source, target)).await;
                drop(permit);
                let mut stream = match connected {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(_)) => {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(_) => return,
                };
                counters.connected.fetch_add(1, Ordering::Relaxed);
                let open = counters.open.fetch_add(1, Ordering::Relaxed) + 1;
                counters.peak_open.fetch_max(open, Ordering::Relaxed);
                if payload == Payload::HalfHeader {
                    let _ = stream.write_all(HALF_HEADER).await;
                }
                let mut buf = [0u8; 256];
                let closed = loop {
                    match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                        Err(_) => break false,
                        Ok(Ok(0) | Err(_)) => break true,
                        Ok(Ok(_)) => {}
                    }
                };
                counters.open.fetch_sub(1, Ordering::Relaxed);
                if closed {
                    counters.closed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Summary {
        connected: counters.connected.load(Ordering::Relaxed),
        failed: counters.failed.load(Ordering::Relaxed),
        closed_by_server: counters.closed.load(Ordering::Relaxed),
        peak_open: counters.peak_open.load(Ordering::Relaxed),
    }
}

async fn connect_from(
    source: IpAddr,
    target: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(target).await
}

/// Open descriptors of process `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Resident set size of process `pid`, bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    dockscope_agent::sample::process::status_bytes_of(pid, "VmRSS:").unwrap_or(0)
}
