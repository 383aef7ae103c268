//! The connection state shown on each agent card, always as a text label (never colour alone).

use crate::format;
use crate::text;

/// Characters of a reason kept and shown: an agent can make a decode error quote a value of
/// any length.
pub const MAX_REASON_CHARS: usize = 300;

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
    /// Frames arrive but none can be used (malformed, too big, binary): the agent does not
    /// speak this protocol. Not live, whatever the socket says.
    ProtocolError {
        /// Why the first refused frame of the connection was refused.
        reason: String,
        /// As for the other states; `None` while reconnecting or while the connection is open.
        retry_at_ms: Option<f64>,
        /// The connection is still open (frames keep coming, none usable yet).
        open: bool,
    },
}

impl ConnState {
    /// The one-word label tests and people read.
    pub fn label(&self) -> &'static str {
        match self {
            ConnState::Connecting => text::STATE_CONNECTING,
            ConnState::Live => text::STATE_LIVE,
            ConnState::Disconnected { .. } => text::STATE_DISCONNECTED,
            ConnState::Error { .. } => text::STATE_ERROR,
            ConnState::ProtocolError { .. } => text::STATE_PROTOCOL_ERROR,
        }
    }

    /// Why, and when the next attempt happens.
    pub fn detail(&self, now_ms: f64) -> String {
        match self {
            ConnState::Connecting | ConnState::Live => String::new(),
            ConnState::ProtocolError {
                reason, open: true, ..
            } => text::no_usable_message_yet(reason),
            ConnState::Disconnected {
                reason,
                retry_at_ms,
            }
            | ConnState::Error {
                reason,
                retry_at_ms,
            }
            | ConnState::ProtocolError {
                reason,
                retry_at_ms,
                ..
            } => match retry_at_ms {
                Some(at) => {
                    let secs = ((at - now_ms) / 1_000.0).ceil().max(0.0);
                    text::retrying_in(reason, &format::duration(secs as u64))
                }
                None => text::reconnecting(reason),
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
            ConnState::ProtocolError { reason, .. } => ConnState::ProtocolError {
                reason: reason.clone(),
                retry_at_ms: None,
                open: false,
            },
            _ => ConnState::Connecting,
        }
    }

    /// The state after an attempt or a connection ended.
    pub fn failed(was_ever_live: bool, reason: String, retry_at_ms: f64) -> ConnState {
        let retry_at_ms = Some(retry_at_ms);
        let reason = format::truncate(&reason, MAX_REASON_CHARS).into_owned();
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

    /// A connection is open and its frames so far were all refused, the first for `reason`.
    pub fn protocol_error_open(reason: &str) -> ConnState {
        ConnState::ProtocolError {
            reason: format::truncate(reason, MAX_REASON_CHARS).into_owned(),
            retry_at_ms: None,
            open: true,
        }
    }

    /// A connection ended because none of its frames, or one too big to read, could be used.
    pub fn protocol_failed(reason: &str, retry_at_ms: f64) -> ConnState {
        ConnState::ProtocolError {
            reason: format::truncate(reason, MAX_REASON_CHARS).into_owned(),
            retry_at_ms: Some(retry_at_ms),
            open: false,
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
        (false, _) => text::COULD_NOT_CONNECT,
        (true, true) => text::CONNECTION_LOST,
        (true, false) => text::CLOSED_BY_AGENT,
    };
    let mut out = text::closed_with_code(what, code, reason);
    // The browser hides the HTTP status of a refused upgrade; say what it may have been.
    if !was_live && code == 1006 {
        out.push_str(if has_token {
            text::REFUSED_WITH_TOKEN
        } else {
            text::REFUSED_WITHOUT_TOKEN
        });
    }
    out
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
    fn protocol_errors_are_not_live_and_say_why() {
        let reason = "malformed agent message: missing field `containers`";
        // (state, label, detail at t = 7.5 s)
        let cases = [
            (
                ConnState::protocol_error_open(reason),
                "protocol error",
                format!("{reason} (connected, but no usable message yet)"),
            ),
            (
                ConnState::protocol_failed(reason, 10_000.0),
                "protocol error",
                format!("{reason}; retrying in 3s"),
            ),
            (
                ConnState::protocol_failed(reason, 10_000.0).attempting(),
                "protocol error",
                format!("{reason}; reconnecting…"),
            ),
        ];
        for (state, label, detail) in cases {
            assert_eq!(state.label(), label);
            assert!(!state.is_live());
            assert_eq!(state.detail(7_500.0), detail);
        }
        // A decode error can quote a value of any length: the reason is cut.
        let long = ConnState::protocol_error_open(&"x".repeat(100_000));
        assert!(long.detail(0.0).chars().count() < MAX_REASON_CHARS + 60);
        let long = ConnState::failed(false, "y".repeat(100_000), 0.0);
        assert!(long.detail(0.0).chars().count() < MAX_REASON_CHARS + 60);
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
