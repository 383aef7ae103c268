//! Connections before they become WebSocket clients: the accept loop, TLS handshakes, HTTP/1.1
//! (hyper's server connection, never hand-written parsing), and the limits that keep a flood of
//! sockets from costing memory or descriptors.
//!
//! ```text
//!  TcpListener ──accept──► pending slot free? ──no──► closed at once (no task, no buffer)
//!                          (global --max-pending and --max-pending-per-peer)
//!                               │ yes: one task holding the slot
//!                               ▼
//!                 [TLS handshake, ≤ HANDSHAKE_TIMEOUT]  (--tls-cert)
//!                               ▼
//!                 hyper http1: each request head within HEADER_READ_TIMEOUT, also while an
//!                 idle keep-alive connection waits for its next request; the whole
//!                 connection within PENDING_LIFETIME
//!                               │ 101 Switching Protocols: the task ends, the slot is freed
//!                               ▼
//!                 server::client, counted against --max-clients and --max-clients-per-peer
//! ```
//!
//! Over a pending cap the socket is closed the moment it is accepted rather than answered: a
//! TLS port cannot say 503 before a handshake, and closing keeps the agent's descriptors at
//! the cap however many sockets a peer opens. A peer is an IPv4 address (IPv4-mapped IPv6
//! counts as IPv4) or an IPv6 /64, the block one host usually gets. Behind a reverse proxy
//! every client shares the proxy's address: raise the per-peer caps to the global ones there.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use tracing::{debug, warn};

/// A request head (the request line and headers) must arrive within this; the same limit
/// applies to the wait for the next request on an idle keep-alive connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A TLS handshake slower than this is abandoned.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that has not upgraded to a WebSocket after this long is asked to close after
/// its current response (a client trickling requests or reading a response one byte at a time
/// cannot hold a pending slot for ever); [`CLOSE_GRACE`] later it is closed outright.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(60);
/// See [`PENDING_LIFETIME`]; also how long shutdown waits for plain HTTP connections.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// The most a request head may take in memory; larger heads are refused (431/400).
const MAX_HEAD_BUFFER: usize = 16 * 1024;
/// Connections the kernel may queue for `accept`. Linux caps it at `net.core.somaxconn`
/// (4096 by default); tokio's own default is 1024. A flood's bursts fill a short queue while
/// the accept loop is busy, and the kernel then drops new connections, honest ones too, which
/// retry only after a second.
pub const LISTEN_BACKLOG: u32 = 4096;
/// At most one "refused connections" line per this interval, with a count.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Caps on connections that have not (yet) upgraded to a WebSocket.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections in TLS handshake, in HTTP, or idle between keep-alive requests, in total.
    pub max_pending: usize,
    /// The same, from one peer (see [`PeerKey`]).
    pub max_pending_per_peer: usize,
}

/// Who counts as one peer for the per-peer caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKey {
    /// An IPv4 address, also when written IPv4-mapped (`::ffff:a.b.c.d`).
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl PeerKey {
    /// The peer an address belongs to.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Which cap refused a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The global cap.
    Total,
    /// The peer's own cap.
    Peer,
}

/// Counted slots with a global cap and a per-peer cap. Used for pending connections here and
/// for WebSocket clients in [`crate::server`].
#[derive(Debug)]
pub struct Slots {
    /// Most slots in use at once.
    total_limit: usize,
    /// Most slots one peer may hold.
    per_peer_limit: usize,
    /// Slots in use, in total and per peer (peers with none are removed, so the map is
    /// bounded by `total_limit`).
    used: Mutex<Used>,
}

#[derive(Debug, Default)]
struct Used {
    total: usize,
    per_peer: HashMap<PeerKey, usize>,
}

impl Slots {
    /// Slots for at most `total` holders, `per_peer` of them from one peer.
    pub fn new(total: usize, per_peer: usize) -> Arc<Self> {
        Arc::new(Self {
            total_limit: total,
            per_peer_limit: per_peer,
            used: Mutex::new(Used::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Used> {
        self.used.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `ip`, released when the [`Slot`] is dropped.
    ///
    /// # Errors
    /// [`Full`] says which cap is reached.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Full> {
        let key = PeerKey::of(ip);
        let mut used = self.lock();
        if used.total >= self.total_limit {
            return Err(Full::Total);
        }
        let mine = used.per_peer.entry(key).or_insert(0);
        if *mine >= self.per_peer_limit {
            return Err(Full::Peer);
        }
        *mine += 1;
        used.total += 1;
        Ok(Slot {
            slots: self.clone(),
            key,
        })
    }

    /// Slots in use.
    pub fn in_use(&self) -> usize {
        self.lock().total
    }

    /// The global cap.
    pub fn total_limit(&self) -> usize {
        self.total_limit
    }

    /// The per-peer cap.
    pub fn per_peer_limit(&self) -> usize {
        self.per_peer_limit
    }
}

/// One held slot.
#[derive(Debug)]
pub struct Slot {
    /// Where to give it back.
    slots: Arc<Slots>,
    /// Whose it is.
    key: PeerKey,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.slots.lock();
        used.total -= 1;
        if let Some(n) = used.per_peer.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                used.per_peer.remove(&self.key);
            }
        }
    }
}

/// Binds `addr` for [`serve`] with a [`LISTEN_BACKLOG`]-deep accept queue (and
/// `SO_REUSEADDR`, as `TcpListener::bind` does, so a restart does not wait for old sockets).
///
/// # Errors
/// When the address cannot be bound (in use, not local, no permission).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets plain HTTP
/// connections finish for up to [`CLOSE_GRACE`]. Upgraded WebSocket clients are not waited
/// for here: they watch `shutdown` themselves and send their close frames.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let pending = Slots::new(limits.max_pending, limits.max_pending_per_peer);
    let tls = tls.map(TlsAcceptor::from);
    let connections = TaskTracker::new();
    let mut refusals = RefusalLog::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_error(&e, &mut refusals).await;
                continue;
            }
        };
        let slot = match pending.try_acquire(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                drop(socket);
                refusals.refused(peer, full, &pending);
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (tls, router, shutdown) = (tls.clone(), router.clone(), shutdown.clone());
        connections.spawn(async move {
            connection(socket, peer, tls, router, shutdown).await;
            drop(slot);
        });
    }
    drop(listener);
    connections.close();
    let _ = tokio::time::timeout(CLOSE_GRACE, connections.wait()).await;
}

/// One accepted socket until it closes or upgrades.
async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
    shutdown: CancellationToken,
) {
    let Some(tls) = tls else {
        return http(socket, peer, router, shutdown).await;
    };
    let handshake = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(socket)) => done,
        () = shutdown.cancelled() => return,
    };
    match handshake {
        Ok(Ok(stream)) => http(stream, peer, router, shutdown).await,
        Ok(Err(e)) => debug!(%peer, cause = %e, "TLS handshake failed"),
        Err(_) => debug!(%peer, "TLS handshake timed out"),
    }
}

/// HTTP/1.1 on one connection, with upgrades (the WebSocket) handed to axum.
async fn http<I>(io: I, peer: SocketAddr, router: Router, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BUFFER)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let lifetime = tokio::time::sleep(PENDING_LIFETIME);
    tokio::pin!(lifetime);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = &mut lifetime => {
            debug!(%peer, "closing an HTTP connection that outlived its limit");
            conn.as_mut().graceful_shutdown();
            finish(conn.as_mut()).await
        }
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            finish(conn.as_mut()).await
        }
    };
    if let Err(e) = result {
        debug!(%peer, cause = %e, "HTTP connection ended with an error");
    }
}

/// Waits up to [`CLOSE_GRACE`] for a connection told to shut down gracefully.
async fn finish<F: std::future::Future<Output = hyper::Result<()>>>(
    conn: std::pin::Pin<&mut F>,
) -> hyper::Result<()> {
    tokio::time::timeout(CLOSE_GRACE, conn)
        .await
        .unwrap_or(Ok(()))
}

/// Accept errors: a peer that left before we took it is routine; running out of descriptors
/// (`EMFILE`/`ENFILE`) or memory is not, and waiting a moment lets connections close instead
/// of spinning on the error.
async fn accept_error(error: &io::Error, refusals: &mut RefusalLog) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    refusals.accept_failed(error);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Log lines about refused connections, at most one per [`REFUSAL_LOG_INTERVAL`]: a flood
/// must not turn into a flood of log lines.
#[derive(Debug, Default)]
struct RefusalLog {
    /// When the last line was written.
    last: Option<Instant>,
    /// Refusals since then.
    refused: u64,
    /// Failed accepts since then.
    failed: u64,
}

impl RefusalLog {
    fn due(&mut self) -> bool {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < REFUSAL_LOG_INTERVAL)
        {
            return false;
        }
        self.last = Some(now);
        true
    }

    fn refused(&mut self, peer: SocketAddr, full: Full, slots: &Slots) {
        self.refused += 1;
        if !self.due() {
            return;
        }
        let (which, limit) = match full {
            Full::Total => ("--max-pending", slots.total_limit()),
            Full::Peer => ("--max-pending-per-peer", slots.per_peer_limit()),
        };
        warn!(
            %peer,
            limit,
            refused = self.refused,
            pending = slots.in_use(),
            "closing new connections: {which} reached (connections that have not become \
             WebSocket clients yet); count since the last such line"
        );
        self.refused = 0;
    }

    fn accept_failed(&mut self, error: &io::Error) {
        self.failed += 1;
        if !self.due() {
            return;
        }
        warn!(cause = %error, failed = self.failed, "cannot accept connections");
        self.failed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_ipv4_addresses_and_ipv6_slash_64s() {
        let key = |s: &str| PeerKey::of(s.parse().expect("ip"));
        let cases: &[(&str, &str, bool)] = &[
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", false),
            ("::1", "::2", true),
            ("::1", "127.0.0.1", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(key(a) == key(b), *same, "{a} vs {b}");
        }
    }

    #[test]
    fn slots_cap_in_total_and_per_peer_and_come_back_when_dropped() {
        let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
        let slots = Slots::new(4, 2);
        let a1 = slots.try_acquire(ip("10.0.0.1")).expect("first");
        let a2 = slots
            .try_acquire(ip("::ffff:10.0.0.1"))
            .expect("second, same peer");
        assert_eq!(
            slots.try_acquire(ip("10.0.0.1")).err(),
            Some(Full::Peer),
            "third from one peer"
        );
        let b1 = slots.try_acquire(ip("10.0.0.2")).expect("another peer");
        let _b2 = slots.try_acquire(ip("10.0.0.2")).expect("its second");
        assert_eq!(
            slots.try_acquire(ip("10.0.0.3")).err(),
            Some(Full::Total),
            "global cap"
        );
        assert_eq!(slots.in_use(), 4);
        drop(b1);
        let _c = slots.try_acquire(ip("10.0.0.3")).expect("a freed slot");
        drop((a1, a2));
        assert_eq!(slots.in_use(), 2);
        let _a = slots
            .try_acquire(ip("10.0.0.1"))
            .expect("peer's slots came back");
        assert_eq!(
            slots.lock().per_peer.len(),
            3,
            "no entries for peers with none"
        );
    }
}
