//! One task per agent: open the WebSocket, pass every frame on, notice stalls, reconnect with
//! backoff, stop when the agent is removed.
//!
//! ```text
//!   add agent ──▶ spawn_local(run) ──▶ loop { session ─▶ wait(backoff | RetryNow) }
//!                    ▲   wake channel            │ Event::State / Event::Frame
//!   retry-now button ┘   (dropped on remove)     ▼
//!   window `online` ─┘                        app (ingest + card state)
//!   token saved ─────┘ (Reconnect: close now, open again with the new token)
//! ```
//!
//! An agent's token travels as the subprotocol `dockscope-token.<token>` next to `dockscope`:
//! browsers cannot set headers on a WebSocket, and a subprotocol, unlike `?token=`, stays out
//! of access logs. A refused upgrade (HTTP 401) looks like any failed connect to the page
//! (close code 1006), so the reason names the token as a likely cause.

use dockscope_protocol::{SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};
use futures::channel::mpsc::UnboundedReceiver;
use futures::{select, FutureExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message as WsMessage, WebSocketError};
use leptos::prelude::{ArcRwSignal, GetUntracked};

use crate::backoff::{delay_ms, STALL_AFTER_MS};
use crate::browser::{now_ms, random, sleep};
use crate::conn_state::{close_reason, ConnState};

/// Nudges sent to a connection task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Skip the backoff wait and try now ("retry now", window `online`).
    RetryNow,
    /// The token changed: drop the current connection and open a new one at once.
    Reconnect,
}

/// What a connection task reports.
pub enum Event {
    /// The card's state changed.
    State(ConnState),
    /// A new connection is being opened (the model resets its clock estimate).
    Opening,
    /// A text frame arrived.
    Frame(String),
    /// A frame arrived that is not text (the protocol only uses text).
    Binary(usize),
}

/// How one WebSocket session ended.
enum End {
    /// The agent was removed (the wake channel closed).
    Removed,
    /// The token changed; connect again without waiting.
    Reconnect,
    /// The connection failed or ended; `was_live` if it delivered at least one frame.
    Failed { reason: String, was_live: bool },
}

/// Runs until the sender side of `wake` is dropped (agent removed). `token` is read at every
/// attempt, so a saved token is used from the next connection on.
pub async fn run(
    url: String,
    token: ArcRwSignal<Option<String>>,
    mut wake: UnboundedReceiver<Wake>,
    emit: impl Fn(Event),
) {
    let mut ever_live = false;
    let mut state = ConnState::Connecting;
    let mut attempt: u32 = 0;
    loop {
        state = state.attempting();
        emit(Event::State(state.clone()));
        emit(Event::Opening);
        let token = token.get_untracked();
        let (reason, was_live) = match session(&url, token.as_deref(), &mut wake, &emit).await {
            End::Removed => return,
            End::Reconnect => {
                attempt = 0;
                continue;
            }
            End::Failed { reason, was_live } => (reason, was_live),
        };
        if was_live {
            ever_live = true;
            attempt = 0;
        }
        let delay = delay_ms(attempt, random());
        attempt = attempt.saturating_add(1);
        state = ConnState::failed(ever_live, reason, now_ms() + delay);
        emit(Event::State(state.clone()));
        select! {
            _ = sleep(delay).fuse() => {}
            nudge = wake.next() => match nudge {
                None => return,
                Some(Wake::Reconnect) => attempt = 0,
                Some(Wake::RetryNow) => {}
            },
        }
    }
}

/// One connection from open to close.
async fn session(
    url: &str,
    token: Option<&str>,
    wake: &mut UnboundedReceiver<Wake>,
    emit: &impl Fn(Event),
) -> End {
    let opened = match token {
        Some(token) => WebSocket::open_with_protocols(
            url,
            &[
                SUBPROTOCOL.to_owned(),
                format!("{TOKEN_SUBPROTOCOL_PREFIX}{token}"),
            ],
        ),
        None => WebSocket::open(url),
    };
    let socket = match opened {
        Ok(socket) => socket,
        Err(e) => {
            return End::Failed {
                reason: format!("the browser refused to open {url}: {e}"),
                was_live: false,
            }
        }
    };
    let mut socket = socket.fuse();
    let mut live = false;
    let mut saw_error_event = false;
    loop {
        select! {
            item = socket.next() => match item {
                Some(Ok(WsMessage::Text(text))) => {
                    if !live {
                        live = true;
                        emit(Event::State(ConnState::Live));
                    }
                    emit(Event::Frame(text));
                }
                Some(Ok(WsMessage::Bytes(bytes))) => emit(Event::Binary(bytes.len())),
                // The browser reports failures as an `error` event followed by `close`; the
                // close carries the code, so remember the error and wait for it.
                Some(Err(WebSocketError::ConnectionError)) => saw_error_event = true,
                Some(Err(WebSocketError::ConnectionClose(close))) => {
                    let reason = close_reason(
                        live,
                        saw_error_event,
                        token.is_some(),
                        close.code,
                        &close.reason,
                    );
                    return End::Failed { reason, was_live: live };
                }
                Some(Err(other)) => {
                    return End::Failed { reason: other.to_string(), was_live: live };
                }
                None => {
                    return End::Failed { reason: "connection closed".into(), was_live: live };
                }
            },
            _ = sleep(STALL_AFTER_MS).fuse() => {
                let reason = if live {
                    "no message for 5 s (agent stalled?)".to_owned()
                } else {
                    "no answer within 5 s".to_owned()
                };
                return End::Failed { reason, was_live: live };
            }
            nudge = wake.next() => match nudge {
                // Already trying; a live connection needs no retry.
                Some(Wake::RetryNow) => {}
                Some(Wake::Reconnect) => return End::Reconnect,
                None => return End::Removed,
            },
        }
    }
}
