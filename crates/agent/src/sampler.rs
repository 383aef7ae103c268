//! The one sampling task: every second read all containers through the [`StatsSource`] and
//! publish one batch; every 30 s, and whenever the engine's reachability changes, publish an
//! `agent_status`. The cost of sampling does not depend on how many clients are connected.
//! The latest batch is also kept as a struct ([`LatestSample`]) for `/metrics`, which formats
//! it only when scraped, and its figures go into the [`HistoryRing`] — after it was
//! published, so clients never wait for the ring.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use dockscope_protocol::{AgentStatus, ContainerStatsBatch, Message};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, instrument, warn};

use crate::history::HistoryRing;
use crate::publish::{Frame, Publisher};
use crate::sample::events::EventQueue;
use crate::sample::host::HostMeter;
use crate::sample::process::ProcessMeter;
use crate::sample::source::Counters;
use crate::sample::{EngineHealth, StatsSource};

/// How often every container is sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// How often `agent_status` is repeated when nothing changes.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(30);

/// The feature every agent that sends `container_stats_batch` announces (contract 1).
pub const CONTAINER_STATS_FEATURE: &str = "container_stats";

/// Who this agent is, and the engine health the sampler last saw; read by the WebSocket layer
/// (fresh status for new clients) and `/healthz`.
#[derive(Debug)]
pub struct StatusBoard {
    /// `--agent-id`.
    pub agent_id: String,
    /// Version embedded at build time, `vMAJOR.MINOR.PATCH`.
    pub version: &'static str,
    /// Git revision embedded at build time, when known.
    pub revision: Option<&'static str>,
    /// Capabilities announced in `agent_status.features`: [`CONTAINER_STATS_FEATURE`] first,
    /// then the ones given to [`StatusBoard::new`].
    pub features: Vec<String>,
    /// When the agent started, for `uptime_secs`.
    pub started: Instant,
    /// Latest engine health from the sampler.
    engine: Mutex<EngineHealth>,
    /// What the collector cannot see from here (`agent_status.warnings`).
    warnings: Mutex<Vec<String>>,
}

impl StatusBoard {
    /// A board for an agent that has not sampled yet (engine not yet reachable). `features`
    /// are announced after [`CONTAINER_STATS_FEATURE`], which is always listed once.
    pub fn new(agent_id: String, features: Vec<String>) -> Self {
        let features = std::iter::once(CONTAINER_STATS_FEATURE.to_owned())
            .chain(
                features
                    .into_iter()
                    .filter(|f| f != CONTAINER_STATS_FEATURE),
            )
            .collect();
        Self {
            agent_id,
            version: env!("DOCKSCOPE_VERSION"),
            revision: Some(env!("DOCKSCOPE_REVISION")).filter(|rev| !rev.is_empty()),
            features,
            started: Instant::now(),
            engine: Mutex::new(EngineHealth {
                error: Some("not contacted yet".to_owned()),
                ..EngineHealth::default()
            }),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// The engine health as of the last sample.
    pub fn engine(&self) -> EngineHealth {
        self.engine.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// What the collector cannot see, as last reported.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Stores the collector's warnings; returns whether they changed.
    fn set_warnings(&self, warnings: Vec<String>) -> bool {
        let mut kept = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *kept != warnings;
        *kept = warnings;
        changed
    }

    /// Stores new health; returns whether reachability or the error text changed.
    fn set_engine(&self, health: EngineHealth) -> bool {
        let mut engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        let changed = engine.reachable != health.reachable || engine.error != health.error;
        *engine = health;
        changed
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// An `agent_status` message numbered `sequence`.
    pub fn status(&self, sequence: u64) -> Message {
        let engine = self.engine();
        Message::AgentStatus(AgentStatus {
            agent_id: self.agent_id.clone(),
            sent_at: Utc::now(),
            sequence: Some(sequence),
            uptime_secs: self.uptime_secs(),
            version: self.version.to_owned(),
            revision: self.revision.map(str::to_owned),
            features: self.features.clone(),
            engine_reachable: Some(engine.reachable),
            engine_version: engine.version,
            engine_error: engine.error,
            warnings: self.warnings(),
        })
    }
}

/// One published batch and the counters behind its entries: what `/metrics` formats.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The batch as published (its `sequence` tells one snapshot from the next).
    pub batch: ContainerStatsBatch,
    /// [`StatsSource::counters`] of the same sample: entry `i` of `batch.containers` has
    /// `counters[i]`, or none when the collector keeps no counters.
    pub counters: Vec<Counters>,
    /// Whether the engine answered for this sample. When it did not, the batch lists nothing
    /// because nothing could be read, not because every container left: the alert task holds
    /// its alerts rather than clear them all.
    pub engine_reachable: bool,
}

impl Snapshot {
    /// The counters of container entry `index`; all `None` when the collector kept none.
    pub fn counters_of(&self, index: usize) -> Counters {
        self.counters.get(index).copied().unwrap_or_default()
    }
}

/// The latest [`Snapshot`], replaced by the sampler every second and read by `/metrics` and,
/// with `--alert-webhook`, by the alert task. Holding the published batch costs one pointer
/// swap a tick, no copy; a reader keeps the snapshot it took alive while it formats or
/// evaluates, and the sampler never waits for it. A `watch` rather than a plain mutex so a
/// task can also wait for the next snapshot ([`LatestSample::subscribe`]) without polling and
/// without a queue: one that falls behind skips to the newest.
#[derive(Debug)]
pub struct LatestSample {
    /// `None` until the first sample.
    latest: watch::Sender<Option<Arc<Snapshot>>>,
}

impl Default for LatestSample {
    fn default() -> Self {
        Self {
            latest: watch::Sender::new(None),
        }
    }
}

impl LatestSample {
    /// The latest snapshot, if the sampler has published one.
    pub fn get(&self) -> Option<Arc<Snapshot>> {
        self.latest.borrow().clone()
    }

    /// Replaces the snapshot; the previous one is freed here unless a reader still holds it.
    pub fn set(&self, snapshot: Snapshot) {
        let previous = self.latest.send_replace(Some(Arc::new(snapshot)));
        // Freed outside the channel's lock: a 10,000-container batch takes a while to drop.
        drop(previous);
    }

    /// A receiver told of every new snapshot (only the newest, when it falls behind).
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.latest.subscribe()
    }
}

/// Samples until `shutdown` is cancelled.
#[instrument(skip_all, fields(collector = source.name()))]
pub async fn run<S: StatsSource>(
    mut source: S,
    mut host: HostMeter,
    board: Arc<StatusBoard>,
    publisher: Arc<Publisher>,
    latest: Arc<LatestSample>,
    history: Arc<Mutex<HistoryRing>>,
    shutdown: CancellationToken,
) {
    let mut sample_tick = tokio::time::interval(SAMPLE_INTERVAL);
    sample_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
    status_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut meter = ProcessMeter::default();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = sample_tick.tick() => {
                let started = Instant::now();
                let containers = source.sample().await;
                // Status first: a client that sees data resume already knows the engine is back.
                let health = source.engine();
                let engine_reachable = health.reachable;
                let changed = board.set_engine(health);
                if board.set_warnings(source.warnings()) || changed {
                    let frame = publisher.publish(|sequence| board.status(sequence));
                    log_dispatch("agent_status", &frame, started, &publisher);
                }
                let exited = source.exited();
                let agent_metrics = meter.measure();
                let host = host.measure();
                let (frame, message) = publisher.publish_keeping(|sequence| {
                    Message::ContainerStatsBatch(ContainerStatsBatch {
                        agent_id: board.agent_id.clone(),
                        sent_at: Utc::now(),
                        sequence: Some(sequence),
                        containers,
                        agent_metrics,
                        host: Some(host),
                        exited,
                    })
                });
                log_dispatch("container_stats_batch", &frame, started, &publisher);
                if let Message::ContainerStatsBatch(batch) = message {
                    history
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(batch.sent_at.timestamp_millis(), &batch.containers, batch.host.as_ref());
                    let counters = source.counters().to_vec();
                    latest.set(Snapshot { batch, counters, engine_reachable });
                }
            }
            _ = status_tick.tick() => {
                let started = Instant::now();
                let frame = publisher.publish(|sequence| board.status(sequence));
                log_dispatch("agent_status", &frame, started, &publisher);
            }
        }
    }
}

/// Publishes the container events `queue` receives, as they come, until `shutdown`. Yields
/// between batches of events so a burst never holds a worker thread for long.
pub async fn forward_events(
    queue: Arc<EventQueue>,
    publisher: Arc<Publisher>,
    agent_id: String,
    shutdown: CancellationToken,
) {
    loop {
        let (events, dropped) = tokio::select! {
            () = shutdown.cancelled() => return,
            taken = queue.take() => taken,
        };
        if dropped > 0 {
            warn!(
                dropped,
                "container events dropped: more came at once than could be published"
            );
        }
        for (n, mut event) in events.into_iter().enumerate() {
            event.agent_id.clone_from(&agent_id);
            let frame = publisher.publish_event(event);
            debug!(r#type = "container_event", sequence = frame.sequence, event_id = ?frame.event_id, "published");
            if n % 64 == 63 {
                tokio::task::yield_now().await;
            }
        }
    }
}

fn log_dispatch(kind: &str, frame: &Frame, started: Instant, publisher: &Publisher) {
    debug!(
        r#type = kind,
        sequence = frame.sequence,
        bytes = frame.text.len(),
        clients = publisher.clients(),
        dispatch_us = started.elapsed().as_micros() as u64,
        "published"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::ContainerStats;

    /// A source whose engine goes away on the 3rd sample and comes back on the 6th.
    struct Flaky {
        calls: u32,
    }

    impl StatsSource for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        async fn sample(&mut self) -> Vec<ContainerStats> {
            self.calls += 1;
            Vec::new()
        }
        fn engine(&self) -> EngineHealth {
            let down = (3..6).contains(&self.calls);
            EngineHealth {
                reachable: !down,
                error: down.then(|| "gone".to_owned()),
                ..EngineHealth::default()
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_batch_per_second_status_every_30s_and_on_engine_change() {
        let board = Arc::new(StatusBoard::new("t".into(), vec![]));
        let publisher = Arc::new(Publisher::new());
        let mut sub = publisher.subscribe(|s| board.status(s), 0).subscription;
        let history = Arc::new(Mutex::new(HistoryRing::default()));
        let shutdown = CancellationToken::new();
        let latest = Arc::new(LatestSample::default());
        let task = tokio::spawn(run(
            Flaky { calls: 0 },
            HostMeter::new("/proc", crate::sample::host::DataRoot::fixed("/")),
            board.clone(),
            publisher.clone(),
            latest.clone(),
            history.clone(),
            shutdown.clone(),
        ));
        let mut kinds = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(61_500);
        while tokio::time::Instant::now() < deadline {
            tokio::select! {
                frames = sub.next() => {
                    for f in frames.expect("open") {
                        let at = tokio::time::Instant::now();
                        kinds.push((f.is_batch, (deadline - at).as_millis()));
                        if f.is_batch {
                            // /metrics sees the very batch the clients were sent.
                            let kept = latest.get().expect("a batch is kept once published");
                            assert_eq!(kept.batch.sequence, Some(f.sequence));
                        }
                    }
                }
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        shutdown.cancel();
        task.await.expect("sampler ends cleanly");
        let batches = kinds.iter().filter(|(b, _)| *b).count();
        let statuses = kinds.len() - batches;
        // t = 0..=61 s: 62 batches; statuses at 0, 30 and 60 s plus one per change: first
        // contact (1st sample), engine gone (3rd), engine back (6th).
        assert_eq!(batches, 62, "{kinds:?}");
        assert_eq!(statuses, 6, "{kinds:?}");
        // Every batch went into the ring: the whole run is there for a new client.
        let ring = history.lock().expect("ring");
        let plan = ring.plan(None).expect("history");
        assert_eq!(plan.to - plan.from, 62);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_of_ten_thousand_events_is_bounded_and_never_holds_the_thread() {
        use crate::sample::events::QUEUE_CAPACITY;
        use dockscope_protocol::{ContainerEvent, EventAction};
        let queue = Arc::new(EventQueue::default());
        let publisher = Arc::new(Publisher::new());
        let mut client = publisher
            .subscribe(
                |s| {
                    Message::AgentStatus(AgentStatus {
                        sequence: Some(s),
                        ..AgentStatus::default()
                    })
                },
                0,
            )
            .subscription;
        let shutdown = CancellationToken::new();
        let forwarder = tokio::spawn(forward_events(
            queue.clone(),
            publisher.clone(),
            "burst".into(),
            shutdown.clone(),
        ));
        // A mass create: 10,000 events at once, faster than anything publishes them.
        for i in 0..10_000 {
            queue.push(ContainerEvent {
                agent_id: String::new(),
                sent_at: Utc::now(),
                sequence: None,
                event_id: 0,
                time: Utc::now(),
                id: format!("{i:064x}"),
                name: format!("job-{i}"),
                action: EventAction::Create,
                image: Some("busybox".into()),
                exit_code: None,
                oom_killed: None,
                signal: None,
                health: None,
            });
        }
        // Meanwhile another task on the same (single) thread wants to run every millisecond,
        // as the sampler would: it is never held up for long.
        let ticker = tokio::spawn(async {
            let mut worst = Duration::ZERO;
            for _ in 0..200 {
                let before = Instant::now();
                tokio::task::yield_now().await;
                worst = worst.max(before.elapsed());
            }
            worst
        });
        let worst = ticker.await.expect("ticker");
        assert!(
            worst < Duration::from_millis(50),
            "the thread was held for {worst:?}"
        );
        // Only the newest QUEUE_CAPACITY were kept and published, numbered from 1; the log
        // keeps 500; the client lagged and is sent what is still logged.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let frames = client.next().await.expect("open");
        let ids: Vec<u64> = frames.iter().filter_map(|f| f.event_id).collect();
        assert_eq!(ids.last(), Some(&(QUEUE_CAPACITY as u64)), "{ids:?}");
        assert!(ids.len() <= crate::publish::EVENT_LOG, "{}", ids.len());
        let replay = publisher.subscribe(board_status, 0).events;
        assert_eq!(replay.len(), crate::publish::EVENT_LOG);
        shutdown.cancel();
        forwarder.await.expect("forwarder ends");
    }

    fn board_status(sequence: u64) -> Message {
        StatusBoard::new("t".into(), vec![]).status(sequence)
    }

    #[test]
    fn status_announces_container_stats_once_and_a_plain_version() {
        let table: [(&[&str], &[&str]); 3] = [
            (&[], &["container_stats"]),
            (
                &["collector:docker-api", "ui"],
                &["container_stats", "collector:docker-api", "ui"],
            ),
            (
                &["synthetic", "container_stats"],
                &["container_stats", "synthetic"],
            ),
        ];
        for (given, announced) in table {
            let board = StatusBoard::new("t".into(), given.iter().map(|f| f.to_string()).collect());
            let Message::AgentStatus(status) = board.status(7) else {
                panic!("status() built another message");
            };
            assert_eq!(status.features, announced, "given {given:?}");
            assert_eq!(status.sequence, Some(7));
            let parts: Vec<&str> = status
                .version
                .strip_prefix('v')
                .unwrap_or_else(|| panic!("version {:?} lacks the v", status.version))
                .split('.')
                .collect();
            assert_eq!(parts.len(), 3, "version {:?}", status.version);
            assert!(
                parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
                "version {:?} is not vMAJOR.MINOR.PATCH",
                status.version
            );
            assert!(
                status
                    .revision
                    .as_deref()
                    .is_none_or(|r| !r.is_empty() && !r.contains(' ')),
                "revision {:?}",
                status.revision
            );
        }
    }
}
