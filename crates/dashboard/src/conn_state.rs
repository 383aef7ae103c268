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

/// Why a WebSocket closed, in words for the card.
pub fn close_reason(
    was_live: bool,
    saw_error: bool,
    has_token: bool,
    code: u16,
    reason: &str,
) -> String {
    let what = match (was_live, saw_error) {
        (false, _) => "could not connect",
        (true, true) => "connection lost",
        (true, false) => "connection closed by the agent",
    };
    let mut text = if reason.is_empty() {
        format!("{what} (code {code})")
    } else {
        format!("{what} (code {code}: {reason})")
    };
    // The browser hides the HTTP status of a refused upgrade; say what it may have been.
    if !was_live && code == 1006 {
        text.push_str(if has_token {
            ": agent down, or the token is wrong"
        } else {
            ": agent down, or it requires a token"
        });
    }
    text
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

    #[test]
    fn close_reasons_table() {
        let table = [
            (
                (false, true, false, 1006, ""),
                "could not connect (code 1006): agent down, or it requires a token",
            ),
            (
                (false, true, true, 1006, ""),
                "could not connect (code 1006): agent down, or the token is wrong",
            ),
            ((true, true, false, 1006, ""), "connection lost (code 1006)"),
            (
                (true, false, true, 1001, "agent shutting down"),
                "connection closed by the agent (code 1001: agent shutting down)",
            ),
            (
                (false, false, false, 1002, ""),
                "could not connect (code 1002)",
            ),
        ];
        for ((live, error, token, code, reason), expected) in table {
            assert_eq!(close_reason(live, error, token, code, reason), expected);
        }
    }
}
