//! What is posted: Slack's incoming-webhook JSON — a `text` line, which Slack, Mattermost,
//! Rocket.Chat and Discord's `/slack` endpoint show as it is — plus structured fields beside it
//! for receivers that route or deduplicate on them (ignored by Slack). Pure functions of an
//! alert change and the time, so every shape is tested here.

use chrono::{DateTime, SecondsFormat, Utc};
use dockscope_rules::{Alert, Change};
use serde::Serialize;

/// Whether a message says an alert started, ended, or that messages were left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A rule began to hold for a container.
    Firing,
    /// It no longer holds (or the container is no longer listed).
    Cleared,
    /// Messages over `--alert-rate-limit` were not sent; this one says how many.
    Suppressed,
}

/// One alert change as posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    /// The line a chat shows: status, agent, container, rule and its figures.
    pub text: String,
    /// Firing or cleared.
    pub status: Status,
    /// The rule as a person reads it ("memory above 90 % of its limit").
    pub rule: String,
    /// `--agent-id`.
    pub agent_id: String,
    /// The full container id.
    pub container_id: String,
    /// The container's name.
    pub container_name: String,
    /// The figures that made it fire ("OOM killed", "restarted 4 times in 5 min"); for a
    /// cleared alert, the last figures seen while it held.
    pub cause: String,
    /// When it fired, RFC 3339 UTC.
    pub since: String,
    /// When this change happened, RFC 3339 UTC.
    pub at: String,
}

/// Says that messages were left out by the rate limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressedMessage {
    /// The line a chat shows.
    pub text: String,
    /// Always [`Status::Suppressed`].
    pub status: Status,
    /// `--agent-id`.
    pub agent_id: String,
    /// How many messages were not sent.
    pub suppressed: usize,
    /// When the first of them was left out, RFC 3339 UTC.
    pub since: String,
    /// Now, RFC 3339 UTC.
    pub at: String,
}

impl AlertMessage {
    /// The message for `change`, which happened at `at_ms` (Unix milliseconds).
    #[must_use]
    pub fn new(change: &Change, at_ms: i64) -> AlertMessage {
        let (status, alert) = match change {
            Change::Fired(alert) => (Status::Firing, alert),
            Change::Cleared(alert) => (Status::Cleared, alert),
        };
        let Alert {
            rule_text,
            agent_id,
            container_id,
            container_name,
            since_ms,
            cause,
            ..
        } = alert;
        let cause = cause.to_string();
        let text = match status {
            Status::Cleared => format!(
                "Cleared on {}: {} — {}, after {}",
                slack_escape(agent_id),
                slack_escape(container_name),
                slack_escape(rule_text),
                held(at_ms - since_ms)
            ),
            Status::Firing | Status::Suppressed => format!(
                "Firing on {}: {} — {} ({})",
                slack_escape(agent_id),
                slack_escape(container_name),
                slack_escape(rule_text),
                slack_escape(&cause)
            ),
        };
        AlertMessage {
            text,
            status,
            rule: rule_text.clone(),
            agent_id: agent_id.clone(),
            container_id: container_id.clone(),
            container_name: container_name.clone(),
            cause,
            since: rfc3339(*since_ms),
            at: rfc3339(at_ms),
        }
    }
}

impl SuppressedMessage {
    /// `count` messages of `agent_id` were left out since `since_ms`, under a limit of
    /// `per_minute`; said at `at_ms`.
    #[must_use]
    pub fn new(
        agent_id: &str,
        count: usize,
        per_minute: usize,
        since_ms: i64,
        at_ms: i64,
    ) -> SuppressedMessage {
        let messages = if count == 1 { "message" } else { "messages" };
        SuppressedMessage {
            text: format!(
                "Dockscope on {}: {count} alert {messages} not sent, over the limit of \
                 {per_minute} a minute (--alert-rate-limit); the dashboard shows every alert",
                slack_escape(agent_id)
            ),
            status: Status::Suppressed,
            agent_id: agent_id.to_owned(),
            suppressed: count,
            since: rfc3339(since_ms),
            at: rfc3339(at_ms),
        }
    }
}

/// Unix milliseconds as `2025-03-01T12:00:00.000Z`.
fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// How long an alert held, as a person says it: `12 s`, `4 min`, `2 h 5 min`.
fn held(ms: i64) -> String {
    let secs = ms.max(0) / 1_000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        _ => match (secs / 3_600, secs % 3_600 / 60) {
            (hours, 0) => format!("{hours} h"),
            (hours, minutes) => format!("{hours} h {minutes} min"),
        },
    }
}

/// Slack reads `&`, `<` and `>` in `text` as markup (links, mentions such as `<!channel>`):
/// an agent id or rule pattern holding them must not become one.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_rules::Cause;
    use serde_json::json;

    fn alert(name: &str, rule: &str, cause: Cause, since_ms: i64) -> Alert {
        Alert {
            rule: 1,
            rule_text: rule.to_owned(),
            source: "db-host-3".to_owned(),
            agent_id: "db-host-3".to_owned(),
            container_id: format!("{name}-id"),
            container_name: name.to_owned(),
            since_ms,
            cause,
        }
    }

    /// 2025-03-01T12:00:00Z.
    const T0: i64 = 1_740_830_400_000;

    #[test]
    fn each_change_is_a_slack_text_with_the_fields_beside_it() {
        let oom = alert("hog", "OOM-killed", Cause::OomKilled { exited: true }, T0);
        let looping = alert(
            "job",
            "restarted more than 3 times in 5 min",
            Cause::Restarts {
                restarts: 4,
                within_minutes: 5,
            },
            T0,
        );
        let table = [
            (
                Change::Fired(oom.clone()),
                T0,
                json!({
                    "text": "Firing on db-host-3: hog — OOM-killed (OOM killed)",
                    "status": "firing",
                    "rule": "OOM-killed",
                    "agent_id": "db-host-3",
                    "container_id": "hog-id",
                    "container_name": "hog",
                    "cause": "OOM killed",
                    "since": "2025-03-01T12:00:00.000Z",
                    "at": "2025-03-01T12:00:00.000Z",
                }),
            ),
            (
                Change::Cleared(oom),
                T0 + 6_500,
                json!({
                    "text": "Cleared on db-host-3: hog — OOM-killed, after 6 s",
                    "status": "cleared",
                    "rule": "OOM-killed",
                    "agent_id": "db-host-3",
                    "container_id": "hog-id",
                    "container_name": "hog",
                    "cause": "OOM killed",
                    "since": "2025-03-01T12:00:00.000Z",
                    "at": "2025-03-01T12:00:06.500Z",
                }),
            ),
            (
                Change::Fired(looping.clone()),
                T0,
                json!({
                    "text": "Firing on db-host-3: job — restarted more than 3 times in 5 min \
                             (restarted 4 times in 5 min)",
                    "status": "firing",
                    "rule": "restarted more than 3 times in 5 min",
                    "agent_id": "db-host-3",
                    "container_id": "job-id",
                    "container_name": "job",
                    "cause": "restarted 4 times in 5 min",
                    "since": "2025-03-01T12:00:00.000Z",
                    "at": "2025-03-01T12:00:00.000Z",
                }),
            ),
            (
                Change::Cleared(looping),
                T0 + 7_500_000,
                json!({
                    "text": "Cleared on db-host-3: job — restarted more than 3 times in 5 min, \
                             after 2 h 5 min",
                    "status": "cleared",
                    "rule": "restarted more than 3 times in 5 min",
                    "agent_id": "db-host-3",
                    "container_id": "job-id",
                    "container_name": "job",
                    "cause": "restarted 4 times in 5 min",
                    "since": "2025-03-01T12:00:00.000Z",
                    "at": "2025-03-01T14:05:00.000Z",
                }),
            ),
        ];
        for (change, at, want) in table {
            let got = serde_json::to_value(AlertMessage::new(&change, at)).expect("json");
            assert_eq!(got, want, "{change:?}");
        }
    }

    #[test]
    fn markup_in_names_is_escaped_in_the_text_only() {
        let mut sick = alert("api", "unhealthy (<!channel>)", Cause::Unhealthy, T0);
        sick.agent_id = "a&b".to_owned();
        let message = AlertMessage::new(&Change::Fired(sick), T0);
        assert_eq!(
            message.text,
            "Firing on a&amp;b: api — unhealthy (&lt;!channel&gt;) (health check failing)"
        );
        assert_eq!(message.rule, "unhealthy (<!channel>)");
        assert_eq!(message.agent_id, "a&b");
    }

    #[test]
    fn the_summary_says_how_many_were_left_out() {
        let table = [
            (
                1,
                "Dockscope on edge: 1 alert message not sent, over the limit of 20 a minute \
                 (--alert-rate-limit); the dashboard shows every alert",
            ),
            (
                57,
                "Dockscope on edge: 57 alert messages not sent, over the limit of 20 a minute \
                 (--alert-rate-limit); the dashboard shows every alert",
            ),
        ];
        for (count, text) in table {
            let got = serde_json::to_value(SuppressedMessage::new("edge", count, 20, T0, T0 + 1))
                .expect("json");
            assert_eq!(
                got,
                json!({
                    "text": text,
                    "status": "suppressed",
                    "agent_id": "edge",
                    "suppressed": count,
                    "since": "2025-03-01T12:00:00.000Z",
                    "at": "2025-03-01T12:00:00.001Z",
                })
            );
        }
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        let table = [
            (-5, "0 s"),
            (999, "0 s"),
            (59_999, "59 s"),
            (60_000, "1 min"),
            (3_599_000, "59 min"),
            (3_600_000, "1 h"),
            (3_660_000, "1 h 1 min"),
            (90_000_000, "25 h"),
        ];
        for (ms, want) in table {
            assert_eq!(held(ms), want, "{ms}");
        }
    }
}
