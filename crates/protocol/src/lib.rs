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
            Message::Unknown => None,
        }
    }

    /// The id of the agent that sent this message, `None` for [`Message::Unknown`].
    pub fn agent_id(&self) -> Option<&str> {
        match self {
            Message::ContainerStatsBatch(batch) => Some(&batch.agent_id),
            Message::AgentStatus(status) => Some(&status.agent_id),
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

/// One sample of every running container on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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

/// Who the agent is and whether it can see its Docker engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
