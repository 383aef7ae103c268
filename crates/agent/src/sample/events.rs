//! Docker container events as `container_event` messages (contract 6): the pure conversion
//! from bollard's [`EventMessage`] ([`container_event`]) and the bounded queue
//! ([`EventQueue`]) between the container set's watcher, which reads the engine's one event
//! stream, and the task that publishes them (`sampler::forward_events`).
//!
//! ```text
//!   watcher (sample::containers) ──push──► EventQueue (1,024, drop-oldest) ──► forward_events
//!     the same events stream that                                              ──► Publisher
//!     keeps the container set                                                  (event_id, log)
//! ```
//!
//! The queue never blocks the watcher: when a burst (a mass create) outruns publishing, the
//! oldest queued events are dropped and counted, so memory stays bounded and the watcher keeps
//! the container set current.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bollard::models::EventMessage;
use chrono::{DateTime, Utc};
use dockscope_protocol::{ContainerEvent, EventAction, Health};
use tokio::sync::Notify;

/// Events waiting to be published, at most; older ones are dropped first.
pub const QUEUE_CAPACITY: usize = 1_024;

/// The engine's actions the agent forwards (besides `health_status: …`); everything else
/// (`exec_create`, `exec_start`, `attach`, `rename`, `update`, …) is not.
pub const FORWARDED: [&str; 11] = [
    "create",
    "start",
    "stop",
    "die",
    "oom",
    "kill",
    "restart",
    "pause",
    "unpause",
    "destroy",
    "health_status",
];

/// What the engine's `action` means, when it is forwarded.
pub fn action_of(action: &str) -> Option<EventAction> {
    Some(match action {
        "create" => EventAction::Create,
        "start" => EventAction::Start,
        "stop" => EventAction::Stop,
        "die" => EventAction::Die,
        "oom" => EventAction::Oom,
        "kill" => EventAction::Kill,
        "restart" => EventAction::Restart,
        "pause" => EventAction::Pause,
        "unpause" => EventAction::Unpause,
        "destroy" => EventAction::Destroy,
        _ if action.starts_with("health_status:") => EventAction::HealthStatus,
        _ => return None,
    })
}

/// The message for one engine event, or `None` when it is not forwarded (another action, no
/// container id). `oom_before`: an `oom` event of the same container came since its last
/// start (only read for `die`). `agent_id`, `sent_at`, `sequence` and `event_id` are left for
/// the publisher to fill.
pub fn container_event(event: &EventMessage, oom_before: bool) -> Option<ContainerEvent> {
    let action_text = event.action.as_deref()?;
    let action = action_of(action_text)?;
    let actor = event.actor.as_ref()?;
    let id = actor.id.clone().filter(|id| !id.is_empty())?;
    let attribute = |key: &str| {
        actor
            .attributes
            .as_ref()
            .and_then(|a: &HashMap<String, String>| a.get(key))
            .filter(|v| !v.is_empty())
    };
    let time = event
        .time_nano
        .map(DateTime::from_timestamp_nanos)
        .or_else(|| event.time.and_then(|t| DateTime::from_timestamp(t, 0)))
        .unwrap_or_else(Utc::now);
    let name = attribute("name")
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_else(|| id.chars().take(12).collect());
    let die = action == EventAction::Die;
    Some(ContainerEvent {
        agent_id: String::new(),
        sent_at: time,
        sequence: None,
        event_id: 0,
        time,
        name,
        image: attribute("image").cloned(),
        exit_code: if die {
            attribute("exitCode").and_then(|c| c.trim().parse().ok())
        } else {
            None
        },
        oom_killed: die.then_some(oom_before),
        signal: if action == EventAction::Kill {
            attribute("signal").and_then(|s| signal_number(s))
        } else {
            None
        },
        health: if action == EventAction::HealthStatus {
            action_text
                .split_once(':')
                .and_then(|(_, status)| health_of(status.trim()))
        } else {
            None
        },
        action,
        id,
    })
}

/// A health status as `docker inspect` and the `health_status: …` event spell it; `None` for
/// `none` and the empty status (no health check).
pub fn health_of(status: &str) -> Option<Health> {
    match status {
        "starting" => Some(Health::Starting),
        "healthy" => Some(Health::Healthy),
        "unhealthy" => Some(Health::Unhealthy),
        _ => None,
    }
}

/// A signal as the `kill` event gives it: a number (`15`), or a name (`SIGTERM`, `TERM`).
fn signal_number(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Ok(n) = text.parse() {
        return Some(n);
    }
    let name = text.strip_prefix("SIG").unwrap_or(text);
    Some(match name.to_ascii_uppercase().as_str() {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        _ => return None,
    })
}

/// A bounded drop-oldest queue of events between the watcher and the publishing task.
#[derive(Debug, Default)]
pub struct EventQueue {
    /// Queued events (oldest first) and how many were dropped since the last take.
    inner: Mutex<(VecDeque<ContainerEvent>, u64)>,
    /// Wakes the publishing task.
    ready: Notify,
}

impl EventQueue {
    /// Queues one event, dropping the oldest when [`QUEUE_CAPACITY`] are waiting.
    pub fn push(&self, event: ContainerEvent) {
        {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.0.len() >= QUEUE_CAPACITY {
                inner.0.pop_front();
                inner.1 += 1;
            }
            inner.0.push_back(event);
        }
        self.ready.notify_one();
    }

    /// Waits until events are queued; takes them all (oldest first) with the number dropped
    /// since the last take.
    pub async fn take(&self) -> (Vec<ContainerEvent>, u64) {
        loop {
            {
                let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                if !inner.0.is_empty() {
                    let dropped = std::mem::take(&mut inner.1);
                    return (std::mem::take(&mut inner.0).into(), dropped);
                }
            }
            self.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{EventActor, EventMessageTypeEnum};

    const ID: &str = "3f2a9c0d5e6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3";

    /// An event as Engine 20.10 sends it (attributes as seen in `docker events --format
    /// '{{json .}}'` on this machine).
    fn engine_event(action: &str, extra: &[(&str, &str)]) -> EventMessage {
        let mut attributes: HashMap<String, String> = [
            ("image", "dockscope-test-busybox"),
            ("name", "it-events-oom"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        attributes.insert("dockscope.test".into(), "events".into());
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some(ID.to_owned()),
                attributes: Some(attributes),
            }),
            scope: None,
            time: Some(1_764_640_000),
            time_nano: Some(1_764_640_000_123_456_789),
        }
    }

    #[test]
    fn engine_events_map_to_messages() {
        // (action, attributes, oom before, want action, exit code, oom killed, signal, health)
        type Row<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            bool,
            Option<EventAction>,
            Option<i64>,
            Option<bool>,
            Option<u32>,
            Option<Health>,
        );
        let table: [Row; 16] = [
            (
                "create",
                &[],
                false,
                Some(EventAction::Create),
                None,
                None,
                None,
                None,
            ),
            (
                "start",
                &[],
                true,
                Some(EventAction::Start),
                None,
                None,
                None,
                None,
            ),
            (
                "kill",
                &[("signal", "15")],
                false,
                Some(EventAction::Kill),
                None,
                None,
                Some(15),
                None,
            ),
            (
                "kill",
                &[("signal", "SIGKILL")],
                false,
                Some(EventAction::Kill),
                None,
                None,
                Some(9),
                None,
            ),
            (
                "die",
                &[("exitCode", "143")],
                false,
                Some(EventAction::Die),
                Some(143),
                Some(false),
                None,
                None,
            ),
            (
                "die",
                &[("exitCode", "137")],
                true,
                Some(EventAction::Die),
                Some(137),
                Some(true),
                None,
                None,
            ),
            (
                "die",
                &[],
                false,
                Some(EventAction::Die),
                None,
                Some(false),
                None,
                None,
            ),
            (
                "stop",
                &[],
                false,
                Some(EventAction::Stop),
                None,
                None,
                None,
                None,
            ),
            (
                "oom",
                &[],
                false,
                Some(EventAction::Oom),
                None,
                None,
                None,
                None,
            ),
            (
                "restart",
                &[],
                false,
                Some(EventAction::Restart),
                None,
                None,
                None,
                None,
            ),
            (
                "pause",
                &[],
                false,
                Some(EventAction::Pause),
                None,
                None,
                None,
                None,
            ),
            (
                "unpause",
                &[],
                false,
                Some(EventAction::Unpause),
                None,
                None,
                None,
                None,
            ),
            (
                "destroy",
                &[],
                false,
                Some(EventAction::Destroy),
                None,
                None,
                None,
                None,
            ),
            (
                "health_status: unhealthy",
                &[],
                false,
                Some(EventAction::HealthStatus),
                None,
                None,
                None,
                Some(Health::Unhealthy),
            ),
            (
                "exec_create: sh -c test -f /tmp/ok",
                &[("execID", "ab")],
                false,
                None,
                None,
                None,
                None,
                None,
            ),
            (
                "exec_die",
                &[("exitCode", "1")],
                false,
                None,
                None,
                None,
                None,
                None,
            ),
        ];
        for (action, attributes, oom_before, want, exit_code, oom_killed, signal, health) in table {
            let got = container_event(&engine_event(action, attributes), oom_before);
            assert_eq!(got.as_ref().map(|e| e.action), want, "{action}");
            let Some(got) = got else { continue };
            assert_eq!(got.id, ID);
            assert_eq!(got.name, "it-events-oom");
            assert_eq!(got.image.as_deref(), Some("dockscope-test-busybox"));
            assert_eq!(
                got.time.timestamp_nanos_opt(),
                Some(1_764_640_000_123_456_789)
            );
            assert_eq!(
                (got.exit_code, got.oom_killed, got.signal, got.health),
                (exit_code, oom_killed, signal, health),
                "{action}"
            );
        }
        let healthy = container_event(&engine_event("health_status: healthy", &[]), false);
        assert_eq!(healthy.and_then(|e| e.health), Some(Health::Healthy));
    }

    #[test]
    fn events_without_a_container_or_time_still_behave() {
        let mut event = engine_event("start", &[]);
        event.actor = None;
        assert_eq!(container_event(&event, false), None);
        let mut event = engine_event("start", &[]);
        event.time_nano = None;
        assert_eq!(
            container_event(&event, false).map(|e| e.time.timestamp()),
            Some(1_764_640_000)
        );
        let mut event = engine_event("start", &[]);
        event.actor = Some(EventActor {
            id: Some(ID.to_owned()),
            attributes: None,
        });
        let e = container_event(&event, false).expect("forwarded");
        assert_eq!((e.name.as_str(), e.image), (&ID[..12], None));
    }

    #[tokio::test]
    async fn a_burst_keeps_the_newest_and_counts_the_dropped() {
        let queue = EventQueue::default();
        for i in 0..10_000 {
            let mut e = container_event(&engine_event("create", &[]), false).expect("event");
            e.name = format!("c{i}");
            queue.push(e);
        }
        let (events, dropped) = queue.take().await;
        assert_eq!(events.len(), QUEUE_CAPACITY);
        assert_eq!(dropped, 10_000 - QUEUE_CAPACITY as u64);
        assert_eq!(events.last().map(|e| e.name.as_str()), Some("c9999"));
        assert_eq!(events[0].name, format!("c{}", 10_000 - QUEUE_CAPACITY));
        // Nothing is left, and a later push wakes a waiting taker.
        let queue = std::sync::Arc::new(queue);
        let taker = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take().await }
        });
        tokio::task::yield_now().await;
        queue.push(container_event(&engine_event("start", &[]), false).expect("event"));
        let (events, dropped) = taker.await.expect("taker");
        assert_eq!((events.len(), dropped), (1, 0));
    }
}
