//! Answers a client's `health_log_request`: one `docker inspect` of the container, its
//! `State.Health` turned into a [`ContainerHealth`] for that client only. The agent never runs
//! a probe itself; it reports the engine's last ones.
//!
//! ```text
//!   server (one client) ─ HealthLogRequest { id } ─► HealthLog::answer ─ inspect ─► engine
//!                                                      (one in flight per client; see server)
//!                     ◄─ ContainerHealth (health, streak, log oldest first, or error) ─┘
//! ```

use bollard::models::Health as EngineHealth;
use bollard::Docker;
use chrono::{DateTime, Utc};
use dockscope_protocol::{ContainerHealth, HealthProbe};
use tokio::sync::OnceCell;

use crate::engine::{client, Endpoint, CALL_TIMEOUT};
use crate::sample::containers::health_of;

/// The longest id a request may carry (a full id is 64 hex digits; names are shorter than
/// this in practice); longer ones are answered without asking the engine.
const MAX_ID_LEN: usize = 128;

/// What answers health-log requests: the agent's id and a client for its engine.
#[derive(Debug)]
pub struct HealthLog {
    /// Who answers.
    agent_id: String,
    /// The engine; `None` when the agent has none (`$DOCKER_HOST` unusable).
    endpoint: Option<Endpoint>,
    /// Negotiated once, on the first request that reaches the engine.
    docker: OnceCell<Docker>,
}

impl HealthLog {
    /// Answers for `agent_id`, asking the engine at `endpoint`.
    pub fn new(agent_id: String, endpoint: Option<Endpoint>) -> Self {
        Self {
            agent_id,
            endpoint,
            docker: OnceCell::new(),
        }
    }

    /// The health of container `id` as the engine knows it now, or why it is not known.
    pub async fn answer(&self, id: &str) -> ContainerHealth {
        let now = Utc::now();
        match self.inspect(id).await {
            Ok(health) => container_health(&self.agent_id, id, health, now),
            Err(error) => ContainerHealth {
                error: Some(error),
                ..container_health(&self.agent_id, id, None, now)
            },
        }
    }

    /// The container's `State.Health` (`None`: no health check); `Err` says why not.
    async fn inspect(&self, id: &str) -> Result<Option<EngineHealth>, String> {
        if id.is_empty()
            || id.len() > MAX_ID_LEN
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err("not a container id or name".to_owned());
        }
        let endpoint = self
            .endpoint
            .as_ref()
            .ok_or("the agent has no Docker endpoint to ask")?;
        let docker = self
            .docker
            .get_or_try_init(|| async {
                let connect = async { client(endpoint)?.negotiate_version().await };
                match tokio::time::timeout(CALL_TIMEOUT, connect).await {
                    Ok(Ok(docker)) => Ok(docker),
                    Ok(Err(e)) => Err(format!("docker engine at {endpoint} unreachable: {e}")),
                    Err(_) => Err(format!(
                        "docker engine at {endpoint} did not answer within {CALL_TIMEOUT:?}"
                    )),
                }
            })
            .await?;
        match tokio::time::timeout(CALL_TIMEOUT, docker.inspect_container(id, None)).await {
            Ok(Ok(inspect)) => Ok(inspect.state.and_then(|s| s.health)),
            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            })) => Err(format!("no container {id}")),
            Ok(Err(e)) => Err(format!("docker engine at {endpoint}: {e}")),
            Err(_) => Err(format!(
                "docker engine at {endpoint} did not answer within {CALL_TIMEOUT:?}"
            )),
        }
    }
}

/// The answer for `id` from its `State.Health`: the status, the failing streak and the
/// engine's probes oldest first; a container without a health check says so in `error`.
pub fn container_health(
    agent_id: &str,
    id: &str,
    health: Option<EngineHealth>,
    now: DateTime<Utc>,
) -> ContainerHealth {
    let status = health
        .as_ref()
        .and_then(|h| h.status)
        .and_then(|s| health_of(s.as_ref()));
    let mut log: Vec<HealthProbe> = health
        .as_ref()
        .and_then(|h| h.log.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|probe| {
            Some(HealthProbe {
                start: engine_time(probe.start.as_ref()?)?,
                end: probe.end.as_ref().and_then(engine_time),
                exit_code: probe.exit_code.unwrap_or(-1),
                output: probe.output.clone().unwrap_or_default(),
            })
        })
        .collect();
    log.sort_by_key(|probe| probe.start);
    ContainerHealth {
        agent_id: agent_id.to_owned(),
        sent_at: now,
        id: id.to_owned(),
        health: status,
        failing_streak: status
            .and(health.as_ref().and_then(|h| h.failing_streak))
            .and_then(|n| u64::try_from(n).ok()),
        log,
        error: status
            .is_none()
            .then(|| "the container has no health check".to_owned()),
    }
}

/// An engine timestamp (RFC 3339); `None` for the zero time the engine writes for "not yet".
fn engine_time(text: &impl AsRef<str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.as_ref())
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .filter(|d| d.timestamp() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::Health;

    #[test]
    fn engine_health_becomes_the_answer_oldest_probe_first() {
        let json = r#"{"Status":"unhealthy","FailingStreak":2,"Log":[
            {"Start":"2026-12-01T10:00:02.5Z","End":"2026-12-01T10:00:02.6Z","ExitCode":1,"Output":"no\n"},
            {"Start":"2026-12-01T10:00:01.5Z","End":"2026-12-01T10:00:01.6Z","ExitCode":0,"Output":""},
            {"Start":"2026-12-01T10:00:03.5Z","End":"0001-01-01T00:00:00Z","ExitCode":-1,"Output":""}]}"#;
        let health: EngineHealth = serde_json::from_str(json).expect("engine health");
        let now = Utc::now();
        let answer = container_health("a", "c1", Some(health), now);
        assert_eq!(answer.health, Some(Health::Unhealthy));
        assert_eq!(answer.failing_streak, Some(2));
        assert_eq!(answer.error, None);
        let codes: Vec<i64> = answer.log.iter().map(|p| p.exit_code).collect();
        assert_eq!(codes, [0, 1, -1], "oldest first");
        assert_eq!(answer.log[1].output, "no\n");
        assert_eq!(answer.log[2].end, None, "a probe still running has no end");

        // No health check: said so, no status, no log.
        let none: EngineHealth = serde_json::from_str(r#"{"Status":"none"}"#).expect("none");
        for health in [Some(none), None] {
            let answer = container_health("a", "c1", health, now);
            assert_eq!((answer.health, answer.failing_streak), (None, None));
            assert!(answer.log.is_empty());
            assert!(answer.error.is_some_and(|e| e.contains("no health check")));
        }
    }

    #[tokio::test]
    async fn hostile_ids_and_a_missing_engine_are_answered_without_a_call() {
        let log = HealthLog::new("a".into(), None);
        for id in ["", "../../etc", &"x".repeat(200), "a b", "id?all=1"] {
            let answer = log.answer(id).await;
            assert_eq!(
                answer.error.as_deref(),
                Some("not a container id or name"),
                "{id:?}"
            );
        }
        let answer = log.answer("web").await;
        assert!(answer
            .error
            .is_some_and(|e| e.contains("no Docker endpoint")));
    }
}
