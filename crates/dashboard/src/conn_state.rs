//! The connection state shown on each agent card, always as a text label (never colour alone).

use crate::format;

/// Where one agent's WebSocket stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ConnState {
    /// First attempt since the agent was added (or the page loaded); no message yet.
    #[default]
    Connecting,
    /// Messages are arriving.
    Live,
    /// Was live this session and lost it; reconnecting with backoff.
    Disconnected {
        /// What ended the connection, for people.
        reason: String,
        /// Browser time (ms) of the next attempt, `None` while an attempt is under way.
        retry_at_ms: Option<f64>,
    },
    /// Never got a message this session: wrong address, agent down, not an agent.
    Error {
        reason: String,
        retry_at_ms: Option<f64>,
    },
}

impl ConnState {
    /// The one-word label tests and people read.
    pub fn label(&self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Live => "live",
            ConnState::Disconnected { .. } => "disconnected",
            ConnState::Error { .. } => "error",
        }
    }

    /// Why, and when the next attempt happens.
    pub fn detail(&self, now_ms: f64) -> String {
        match self {
            ConnState::Connecting | ConnState::Live => String::new(),
            ConnState::Disconnected {
                reason,
                retry_at_ms,
            }
            | ConnState::Error {
                reason,
                retry_at_ms,
            } => match retry_at_ms {
                Some(at) => {
                    let secs = ((at - now_ms) / 1_000.0).ceil().max(0.0);
                    format!("{reason}; retrying in {}", format::duration(secs as u64))
                }
                None => format!("{reason}; reconnecting…"),
            },
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, ConnState::Live)
    }

    /// The state while a new attempt runs, given whether this session was ever live.
    pub fn attempting(&self) -> ConnState {
        match self {
            ConnState::Disconnected { reason, .. } => ConnState::Disconnected {
                reason: reason.clone(),
                retry_at_ms: None,
            },
            ConnState::Error { reason, .. } => ConnState::Error {
                reason: reason.clone(),
                retry_at_ms: None,
            },
            _ => ConnState::Connecting,
        }
    }

    /// The state after an attempt or a connection ended.
    pub fn failed(was_ever_live: bool, reason: String, retry_at_ms: f64) -> ConnState {
        let retry_at_ms = Some(retry_at_ms);
        if was_ever_live {
            ConnState::Disconnected {
                reason,
                retry_at_ms,
            }
        } else {
            ConnState::Error {
                reason,
                retry_at_ms,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_details() {
        let disconnected = ConnState::failed(true, "closed".into(), 10_000.0);
        assert_eq!(disconnected.label(), "disconnected");
        assert_eq!(disconnected.detail(7_500.0), "closed; retrying in 3s");
        assert_eq!(
            disconnected.attempting().detail(0.0),
            "closed; reconnecting…"
        );
        assert_eq!(disconnected.attempting().label(), "disconnected");

        let error = ConnState::failed(false, "refused".into(), 0.0);
        assert_eq!(error.label(), "error");
        assert_eq!(error.detail(5.0), "refused; retrying in 0s");
        assert_eq!(ConnState::Live.attempting(), ConnState::Connecting);
        assert_eq!(ConnState::default().label(), "connecting");
        assert!(ConnState::Live.is_live());
    }
}
