//! The one contract between a Dockscope agent and its clients.
//!
//! # Layout
//! Everything lives in this file: the [`Message`] enum (one variant per `type` on the wire),
//! the payload structs, and [`decode`], the only way clients should turn a text frame into a
//! message. `docs/protocol.md` describes each message with an example, and
//! `docs/protocol.schema.json` is generated from these types (see [`json_schema`]).
//!
//! # Evolution
//! Changes are additive only. Decoders ignore fields they do not know, and a frame whose `type`
//! they do not know decodes to [`Message::Unknown`] instead of failing, so an old dashboard keeps
//! working against a newer agent.
//!
//! Every field added after the original contract (contract 1: the two payloads in
//! `docs/protocol.md`, "Contract history") is optional on decode, and its doc comment says what
//! its absence means, so an agent written against contract 1 by someone else still decodes. Our
//! agent sends every field. The fields contract 1 requires stay required; a frame without one is
//! an error that names the field.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every message an agent sends, tagged on the wire by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// One sample of every running container, sent once a second.
    ContainerStatsBatch(ContainerStatsBatch),
    /// Who the agent is and how its Docker engine is doing; on connect, every 30 s and on change.
    AgentStatus(AgentStatus),
    /// One container's health-check history, sent only to the client that asked for it with
    /// [`ClientMessage::HealthLogRequest`] (contract 5).
    ContainerHealth(ContainerHealth),
    /// Something happened to a container (Docker's event stream), sent at once (contract 6).
    /// On connect a client also gets the agent's last events, oldest first.
    ContainerEvent(ContainerEvent),
    /// The agent's recent samples, sent on connect before the live stream, in chunks
    /// (contract 6).
    History(History),
    /// A `type` this build does not know (sent by a newer agent). Never produced by an encoder.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

impl Message {
    /// The per-process sequence number; `None` for [`Message::Unknown`] and for an agent that
    /// does not number its messages (contract 1).
    pub fn sequence(&self) -> Option<u64> {
        match self {
            Message::ContainerStatsBatch(batch) => batch.sequence,
            Message::AgentStatus(status) => status.sequence,
            Message::ContainerEvent(event) => event.sequence,
            Message::History(history) => history.sequence,
            Message::ContainerHealth(_) | Message::Unknown => None,
        }
    }

    /// The id of the agent that sent this message, `None` for [`Message::Unknown`].
    pub fn agent_id(&self) -> Option<&str> {
        match self {
            Message::ContainerStatsBatch(batch) => Some(&batch.agent_id),
            Message::AgentStatus(status) => Some(&status.agent_id),
            Message::ContainerHealth(health) => Some(&health.agent_id),
            Message::ContainerEvent(event) => Some(&event.agent_id),
            Message::History(history) => Some(&history.agent_id),
            Message::Unknown => None,
        }
    }

    /// Serialises the message to the JSON text sent in one WebSocket frame.
    ///
    /// # Errors
    /// Only if serde_json fails, which these types cannot make it do (no maps with non-string
    /// keys); the error is still returned rather than hidden.
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Why a frame could not be decoded.
#[derive(Debug)]
pub struct DecodeError {
    /// serde_json's explanation, with line and column.
    inner: serde_json::Error,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed agent message: {}", self.inner)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// Decodes one text frame.
///
/// # Errors
/// [`DecodeError`] when the frame is not JSON, has no `type`, or a known type lacks a required
/// field. Unknown types and unknown fields are not errors.
pub fn decode(text: &str) -> Result<Message, DecodeError> {
    serde_json::from_str(text).map_err(|inner| DecodeError { inner })
}

/// One sample of every running container on one host. (`Default` is an empty batch from an
/// agent with an empty id at the epoch: for code that fills the rest by name, such as tests.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerStatsBatch {
    /// Which agent sent it (`--agent-id`, the host name by default).
    pub agent_id: String,
    /// When the agent assembled the batch, RFC 3339 in UTC.
    pub sent_at: DateTime<Utc>,
    /// Strictly increasing across all messages of one agent process; restarts from 1.
    ///
    /// Added in contract 2. Absent: the agent does not number its messages; clients take its
    /// frames in arrival order (one WebSocket delivers them in the order sent) and cannot tell a
    /// restart from the numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Every running container; empty when there are none or the engine is unreachable.
    pub containers: Vec<ContainerStats>,
    /// What the agent itself costs the host. Absent or `null`: both figures unknown, as if
    /// each were `null`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<AgentMetrics>")]
    pub agent_metrics: AgentMetrics,
    /// The host's own figures at the same instant.
    ///
    /// Added in contract 5. Absent or `null`: not reported (an older agent, or a synthetic
    /// one); clients show no host strip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostStats>,
    /// Containers that have stopped (`exited` or `dead`) recently, with their
    /// [`ContainerStats::state`], [`ContainerStats::exit_code`] and
    /// [`ContainerStats::oom_killed`] and no live figures. Contract 5 listed those of the last
    /// hour and dropped removed ones at once; since contract 6 an entry stays for the agent's
    /// `--keep-exited` (10 minutes by default) after [`ContainerStats::finished_at`], removed
    /// or not (see [`ContainerStats::removed`]).
    ///
    /// Added in contract 5. Absent or `null`: none reported (an older agent lists running
    /// containers only, in `containers`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schemars(with = "Option<Vec<ContainerStats>>")]
    pub exited: Vec<ContainerStats>,
}

/// One container's figures at one instant. A figure the agent could not read is `null`; a
/// figure that is absent means the same. (`Default` is every figure unknown, with an empty id
/// and name: for code that fills the rest by name, such as tests.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerStats {
    /// Full container id (64 hex characters).
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// CPU use in percent of one core, as `docker stats` shows it (can exceed 100 on many
    /// cores); `null` until two readings exist.
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    /// Memory in use minus the inactive page cache, as `docker stats` shows it.
    #[serde(default)]
    pub mem_bytes: Option<u64>,
    /// The memory limit; the host's memory when the container has none.
    #[serde(default)]
    pub mem_limit_bytes: Option<u64>,
    /// Seconds since the container started.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// The image the container was created from, as given to `docker run`.
    ///
    /// Added in contract 2. Absent: the agent does not report images; clients show none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Processes and threads in the container now (the cgroup's `pids.current`), what
    /// `docker stats` shows as PIDS.
    ///
    /// Added in contract 4. Absent or `null`: unknown (an older agent, or the file was not
    /// readable); clients show none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// The container's limit on [`ContainerStats::pids`] (`--pids-limit`, the cgroup's
    /// `pids.max`).
    ///
    /// Added in contract 4. Absent or `null`: no limit is set, or it is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<u64>,

    // Everything below was added in contract 5 and is optional: absent or `null` means
    // unknown (an older agent, or a file or field the agent could not read), unless the
    // field says otherwise. Per-second figures are over the last interval and absent until
    // two readings exist.
    /// Bytes received on the container's network interfaces since they were created, as
    /// `docker stats` NET I/O (first figure). Absent for a container in another one's
    /// namespace (see [`ContainerStats::network_mode`]) or in the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_bytes: Option<u64>,
    /// Bytes sent, as `docker stats` NET I/O (second figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_bytes: Option<u64>,
    /// Packets received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_packets: Option<u64>,
    /// Packets sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_packets: Option<u64>,
    /// Bytes received per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_bytes_per_sec: Option<f64>,
    /// Bytes sent per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_bytes_per_sec: Option<f64>,
    /// Packets received per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_packets_per_sec: Option<f64>,
    /// Packets sent per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_packets_per_sec: Option<f64>,
    /// Whose network namespace the container uses when it is not its own: `host`, `none`, or
    /// `container:<name>` (`--network container:…`, compose `network_mode: service:…`), whose
    /// entry carries the figures. Absent: its own namespace (any bridge or user network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Bytes read from block devices since the container started, as `docker stats` BLOCK
    /// I/O (first figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_read_bytes: Option<u64>,
    /// Bytes written to block devices, as `docker stats` BLOCK I/O (second figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_write_bytes: Option<u64>,
    /// Bytes read per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_read_bytes_per_sec: Option<f64>,
    /// Bytes written per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_write_bytes_per_sec: Option<f64>,
    /// The container's state, as `docker inspect` `State.Status`. Absent: unknown; clients
    /// take a container in `containers` as running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContainerState>,
    /// The health-check status, as `docker inspect` `State.Health.Status`. Absent: the
    /// container has no health check (or the agent does not report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// How many times the engine restarted the container, as `docker inspect` `RestartCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<u64>,
    /// The exit code of the container's last run, as `docker inspect` `State.ExitCode`
    /// (0 while it runs for the first time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Whether the kernel's OOM killer ended the last run, as `docker inspect`
    /// `State.OOMKilled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_killed: Option<bool>,
    /// Anonymous memory (heap, stacks): v1 `total_rss`, v2 `anon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_anon: Option<u64>,
    /// Page cache (v1 `total_cache`, v2 `file`), which includes `mem_shmem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_file: Option<u64>,
    /// The part of the page cache `docker stats` leaves out of its figure (v1
    /// `total_inactive_file`, v2 `inactive_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_inactive_file: Option<u64>,
    /// Shared memory and tmpfs (files in `/dev/shm`, a tmpfs mount): page cache that cannot
    /// be dropped, counted against the limit (v1 `total_shmem`, v2 `shmem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_shmem: Option<u64>,
    /// Kernel memory charged to the container (v1 `memory.kmem.usage_in_bytes`, v2
    /// `kernel`, or `slab` + `kernel_stack` + `sock` on older kernels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_kernel: Option<u64>,
    /// How many processes the OOM killer has killed in the container's cgroup (v1
    /// `memory.oom_control` `oom_kill`, v2 `memory.events` `oom_kill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kills: Option<u64>,
    /// The CPUs the container may use: its quota over its period (`--cpus`), else the number
    /// of CPUs in its cpuset (`--cpuset-cpus`), else absent (it may use every core of the
    /// host). `cpu_pct / cpu_limit_cores` is the percent of its own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit_cores: Option<f64>,
    /// Scheduler periods per second in which the container was throttled by its quota
    /// (Δ `nr_throttled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_throttled_periods_per_sec: Option<f64>,
    /// Milliseconds per second the container spent throttled (Δ `throttled_time` or
    /// `throttled_usec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_throttled_ms_per_sec: Option<f64>,
    /// The `com.docker.compose.project` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_project: Option<String>,
    /// The `com.docker.compose.service` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_service: Option<String>,

    // Added in contract 6; absent or `null` means unknown.
    /// When the container's last run ended, as `docker inspect` `State.FinishedAt`: its time
    /// of death, for an entry of [`ContainerStatsBatch::exited`]. Absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// `true` for an entry of [`ContainerStatsBatch::exited`] whose container has since been
    /// removed (`docker rm`, `--rm`): it is listed until its time is up, but is gone from the
    /// engine. Absent: not removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
}

/// A container's state, as `docker inspect` `State.Status` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Frozen by `docker pause`.
    Paused,
    /// Between runs, being restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Stopped; see `exit_code` and `oom_killed`.
    Exited,
    /// Failed to stop or be removed.
    Dead,
    /// A state this build does not know (sent by a newer agent). Never produced by an encoder.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

/// A container's health-check status, as `docker inspect` `State.Health.Status` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No probe has finished since the container started.
    Starting,
    /// The last probe passed.
    Healthy,
    /// `--health-retries` probes in a row failed.
    Unhealthy,
    /// A status this build does not know. Never produced by an encoder.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

/// The host's figures.
///
/// Added in contract 5; every field is optional: absent or `null` means unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostStats {
    /// Online CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// CPU busy over the last interval, percent of the whole host (0–100), from `/proc/stat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    /// Load average over 1 minute (`/proc/loadavg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_1: Option<f64>,
    /// Load average over 5 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_5: Option<f64>,
    /// Load average over 15 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_15: Option<f64>,
    /// `MemTotal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_bytes: Option<u64>,
    /// `MemTotal − MemAvailable`, what `free` shows as used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_used_bytes: Option<u64>,
    /// `SwapTotal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_total_bytes: Option<u64>,
    /// `SwapTotal − SwapFree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_used_bytes: Option<u64>,
    /// Seconds since the host booted (`/proc/uptime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// The Docker data root (`docker info` `DockerRootDir`) whose file system `disk_*` describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_path: Option<String>,
    /// Size of that file system, as `df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_total_bytes: Option<u64>,
    /// Used on it, as `df` (size − free blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_used_bytes: Option<u64>,
}

/// One container's health-check history (contract 5), the answer to
/// [`ClientMessage::HealthLogRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerHealth {
    /// Which agent sent it.
    pub agent_id: String,
    /// When it was sent, RFC 3339 in UTC.
    pub sent_at: DateTime<Utc>,
    /// The container asked about (full id).
    pub id: String,
    /// Its current status; absent: it has no health check, or it is not known (gone, or the
    /// engine could not be asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Probes failed in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_streak: Option<u64>,
    /// The engine's last probes (it keeps five), oldest first.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<HealthProbe>>")]
    pub log: Vec<HealthProbe>,
    /// Why there is no log, for people to read (the container is unknown, the engine is
    /// unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One thing that happened to a container, from the engine's event stream (contract 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerEvent {
    /// Which agent sent it.
    pub agent_id: String,
    /// When the agent sent this message (a replayed event keeps its [`ContainerEvent::time`]).
    pub sent_at: DateTime<Utc>,
    /// As [`ContainerStatsBatch::sequence`]: the number of this sending, not of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Numbers the agent process's events from 1, the same each time one is sent: a client
    /// that reconnects drops the events it already has (replays on connect).
    pub event_id: u64,
    /// When the engine says it happened (the event's `timeNano`), on the agent's clock.
    pub time: DateTime<Utc>,
    /// Full container id.
    pub id: String,
    /// Name without the leading `/` (the event's `name` attribute).
    pub name: String,
    /// What happened.
    pub action: EventAction,
    /// The image (the event's `image` attribute). Absent: not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// For [`EventAction::Die`]: the exit code. Absent for other actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// For [`EventAction::Die`]: whether the kernel's OOM killer ended the run, i.e. an `oom`
    /// event of the container came before this `die` (the engine sends it first). The
    /// [`ContainerStatsBatch::exited`] entry's `oom_killed` comes from `docker inspect`.
    /// Absent for other actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_killed: Option<bool>,
    /// For [`EventAction::Kill`]: the signal number sent (`docker kill -s`, `docker stop`'s
    /// SIGTERM then SIGKILL). Absent for other actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<u32>,
    /// For [`EventAction::HealthStatus`]: the new status. Absent for other actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// What happened to a container, as Docker's container events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// Created (`docker create`, `docker run`).
    Create,
    /// Started.
    Start,
    /// Stopped by `docker stop` (or the engine), after its `die`.
    Stop,
    /// The main process ended; see [`ContainerEvent::exit_code`] and
    /// [`ContainerEvent::oom_killed`].
    Die,
    /// The kernel's OOM killer killed a process of the container.
    Oom,
    /// A signal was sent; see [`ContainerEvent::signal`].
    Kill,
    /// Restarted (`docker restart`, or by its restart policy).
    Restart,
    /// Frozen by `docker pause`.
    Pause,
    /// Thawed by `docker unpause`.
    Unpause,
    /// Its health-check status changed; see [`ContainerEvent::health`].
    HealthStatus,
    /// Removed.
    Destroy,
    /// An action this build does not know (sent by a newer agent). Never produced by an encoder.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

/// A stretch of the agent's recent samples (contract 6): one time axis, and per container
/// and for the host a value per point of it. An agent keeps the last minutes in memory and sends
/// them on connect, before the live batches, in chunks of a few containers each (every chunk
/// carries the whole axis); a client that reconnects with `?since=` gets only what is newer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct History {
    /// Which agent sent it.
    pub agent_id: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// As [`ContainerStatsBatch::sequence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// The sample times, oldest first, in milliseconds since the Unix epoch on the agent's
    /// clock (the batches' `sent_at`); about a second apart, with a gap where the agent could
    /// not sample.
    pub times_ms: Vec<i64>,
    /// The host's figures at those times. Absent or `null`: not in this chunk (the first
    /// chunk carries it) or not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostHistory>,
    /// Containers seen in that stretch, each with a value per time (`null` where it was not
    /// running or the figure was unknown).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<ContainerHistory>>")]
    pub containers: Vec<ContainerHistory>,
    /// `true` on the last chunk: the live stream follows. Absent, `null` or `false`: more
    /// chunks come.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    #[schemars(with = "Option<bool>")]
    pub last: bool,
}

/// The host's figures over a [`History`]'s times; each list as long as `times_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostHistory {
    /// As [`HostStats::cpu_pct`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub cpu_pct: Vec<Option<f32>>,
    /// As [`HostStats::mem_used_bytes`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<u64>>>")]
    pub mem_used_bytes: Vec<Option<u64>>,
}

/// One container's figures over a [`History`]'s times; each list as long as `times_ms`, and
/// a list absent or `null` means every value unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerHistory {
    /// Full container id.
    pub id: String,
    /// Name without the leading `/` (its latest).
    pub name: String,
    /// As [`ContainerStats::cpu_pct`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub cpu_pct: Vec<Option<f32>>,
    /// As [`ContainerStats::mem_bytes`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<u64>>>")]
    pub mem_bytes: Vec<Option<u64>>,
    /// As [`ContainerStats::net_rx_bytes_per_sec`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub net_rx_bytes_per_sec: Vec<Option<f32>>,
    /// As [`ContainerStats::net_tx_bytes_per_sec`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub net_tx_bytes_per_sec: Vec<Option<f32>>,
    /// As [`ContainerStats::block_read_bytes_per_sec`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub block_read_bytes_per_sec: Vec<Option<f32>>,
    /// As [`ContainerStats::block_write_bytes_per_sec`].
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Option<Vec<Option<f32>>>")]
    pub block_write_bytes_per_sec: Vec<Option<f32>>,
}

/// The query parameter of the stream's URL with which a client asks for history newer than a
/// time only (`/ws?since=<ms since the epoch, agent clock>`): the newest sample time it has.
/// `since` at or after the agent's newest sample: no history. Absent: all of it.
pub const SINCE_PARAM: &str = "since";

/// One health probe, as in `docker inspect` `State.Health.Log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthProbe {
    /// When the probe started.
    pub start: DateTime<Utc>,
    /// When it ended; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// The probe command's exit code (0 passed, 1 failed, other: error).
    pub exit_code: i64,
    /// Its output, cut to 4 KiB by the engine.
    pub output: String,
}

/// What a client may send to an agent (contract 5; an agent of an older contract ignores it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Asks for one container's [`ContainerHealth`]; the agent answers this client only.
    HealthLogRequest {
        /// Full container id.
        id: String,
    },
    /// A `type` this agent does not know; ignored.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

impl ClientMessage {
    /// Serialises the message to one text frame.
    ///
    /// # Errors
    /// As [`Message::encode`].
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Decodes one text frame from a client.
    ///
    /// # Errors
    /// [`DecodeError`] when the frame is not JSON, has no `type`, or a known type lacks a
    /// field. Unknown types are not errors.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|inner| DecodeError { inner })
    }
}

/// The agent's own cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentMetrics {
    /// CPU of the agent process in percent of one core over the last interval; absent or
    /// `null` when unknown.
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    /// Resident set size of the agent process; absent or `null` when unknown.
    #[serde(default)]
    pub mem_bytes: Option<u64>,
}

/// Who the agent is and whether it can see its Docker engine. (`Default`: as for
/// [`ContainerStatsBatch`].)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentStatus {
    /// Which agent sent it.
    pub agent_id: String,
    /// When it was sent, RFC 3339 in UTC.
    pub sent_at: DateTime<Utc>,
    /// See [`ContainerStatsBatch::sequence`]; added in contract 2, absent means the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Seconds since the agent process started.
    pub uptime_secs: u64,
    /// The agent's version, `vMAJOR.MINOR.PATCH` (ours: `v` and the crate version).
    pub version: String,
    /// The source revision the agent was built from (ours: a short git hash), for people to
    /// read.
    ///
    /// Added in contract 3. Absent: unknown (e.g. built outside a git checkout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Capabilities of this agent. Every agent that sends `container_stats_batch` lists
    /// `container_stats`; ours adds e.g. `collector:docker-api`, `ui`, `synthetic`.
    pub features: Vec<String>,
    /// Whether the last call to the Docker engine succeeded.
    ///
    /// Added in contract 2. Absent: the agent does not report engine health; clients show it as
    /// not reported and must not treat it as an outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_reachable: Option<bool>,
    /// The engine's version (`docker version`), when it has been reachable.
    ///
    /// Added in contract 2. `null` or absent: not known (the engine has not answered yet, or
    /// the agent does not report it).
    #[serde(default)]
    pub engine_version: Option<String>,
    /// Why the engine is unreachable, for people to read.
    ///
    /// Added in contract 2. Absent: no reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_error: Option<String>,
    /// What the agent cannot see from where it runs and what that leaves out, for people to
    /// read (e.g. network figures need the host's process table: `pid: host`).
    ///
    /// Added in contract 5. Absent or `null`: nothing to report.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schemars(with = "Option<Vec<String>>")]
    pub warnings: Vec<String>,
}

/// What an agent serving the dashboard (`--serve-ui`) answers at `GET /agent.json`, so the page
/// can add the agent it came from without the user typing its address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentInfo {
    /// The agent's `--agent-id`.
    pub agent_id: String,
    /// The agent's version, as in [`AgentStatus::version`].
    pub version: String,
    /// As [`AgentStatus::revision`]; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Path of the WebSocket stream on the same origin, `/ws`.
    pub ws_path: String,
}

/// Reads `null` as the type's default, for a field whose absence and `null` mean the same.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Path at which an agent serves [`AgentInfo`].
pub const AGENT_INFO_PATH: &str = "/agent.json";

/// The WebSocket subprotocol a client offers; the agent selects it and nothing else.
pub const SUBPROTOCOL: &str = "dockscope";
/// Prefix of the subprotocol that carries an agent's access token: `dockscope-token.<token>`.
/// Browsers cannot set headers on a WebSocket, so the token travels in `Sec-WebSocket-Protocol`.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "dockscope-token.";

/// Checks a token can travel as a subprotocol: non-empty, letters, digits and `- . _ ~` only.
///
/// # Errors
/// A sentence saying what is wrong, for a flag error or an inline form error.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("the token is empty; generate one with `openssl rand -hex 32`".into());
    }
    if let Some(bad) = token
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~".contains(*c)))
    {
        return Err(format!(
            "the token may only contain letters, digits and - . _ ~ (it travels as a \
             WebSocket subprotocol), not {bad:?}; generate one with `openssl rand -hex 32`"
        ));
    }
    Ok(())
}

/// The JSON Schema of [`Message`], pretty-printed, as checked in at `docs/protocol.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Message);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::check_token;

    #[test]
    fn tokens_that_can_travel_as_a_subprotocol() {
        let table = [
            ("s3cret", true),
            ("0f9a-B_c.d~e", true),
            ("", false),
            ("has space", false),
            ("comma,split", false),
            ("slash/", false),
            ("naïve", false),
        ];
        for (token, ok) in table {
            assert_eq!(check_token(token).is_ok(), ok, "token {token:?}");
        }
    }
}
