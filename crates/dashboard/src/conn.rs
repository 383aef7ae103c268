//! One task per agent: open the WebSocket, pass every frame on, notice stalls and protocol
//! errors, reconnect with backoff, stop when the agent is removed.
//!
//! ```text
//!   add agent ──▶ spawn_local(run) ──▶ loop { session ─▶ wait(backoff | RetryNow) }
//!                    ▲   wake channel            │ Event::State / Event::Frame / Event::Refused
//!   retry-now button ┘   (dropped on remove)     ▼
//!   window `online` ─┘                        app: model.receive ─▶ ingest slices (frame.rs)
//!   token saved ─────┘ (Reconnect)                                     │ Verdict per frame
//!   ingest ──────────┘ (Verdict: usable or refused) ◀──────────────────┘
//! ```
//!
//! The socket lives in a dedicated worker (`src/bin/socket-worker.rs`, see [`Socket`]): the browser builds
//! a text frame's string on the thread that owns the socket (a 67 MB frame costs ~0.5 s
//! there), and the worker refuses a frame over [`MAX_FRAME_CHARS`] by its length, so such a
//! frame never reaches the page's main thread, nor WASM; the connection is closed (then
//! backoff, as for any failure). Frames within the limit are posted to the page as strings. A connection is *live* from its first usable
//! frame, not its first frame: until then, refused frames make the card say "protocol error"
//! and why (the first refusal's reason); five seconds without a usable frame end the
//! connection like a stall, with that reason.
//!
//! An agent's token travels as the subprotocol `dockscope-token.<token>` next to `dockscope`:
//! browsers cannot set headers on a WebSocket, and a subprotocol, unlike `?token=`, stays out
//! of access logs. A refused upgrade (HTTP 401) looks like any failed connect to the page
//! (close code 1006), so the reason names the token as a likely cause.

use dockscope_protocol::{SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};
use futures::channel::mpsc::{unbounded, UnboundedReceiver};
use futures::{select, FutureExt, StreamExt};
use leptos::prelude::{ArcRwSignal, GetUntracked};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::MessageEvent;

use crate::backoff::{delay_ms, STALL_AFTER_MS};
use crate::browser::{js_text, now_ms, random, sleep};
use crate::conn_state::{close_reason, ConnState};
use crate::ingest::{frame_too_big, Verdict, MAX_FRAME_CHARS};

/// Nudges sent to a connection task.
#[derive(Debug, Clone, PartialEq)]
pub enum Wake {
    /// Skip the backoff wait and try now ("retry now", window `online`).
    RetryNow,
    /// The token changed: drop the current connection and open a new one at once.
    Reconnect,
    /// What became of a frame this connection passed on.
    Verdict(Verdict),
    /// A client message (contract 5: a health-log request) to send on the open socket; dropped
    /// when no connection is open (the asker times out).
    Send(String),
}

/// What a connection task reports.
pub enum Event {
    /// The card's state changed.
    State(ConnState),
    /// A new connection is being opened (the model resets its clock estimate).
    Opening,
    /// A text frame arrived; its [`Verdict`] comes back through the wake channel.
    Frame(String),
    /// A frame was refused unread (binary, too big), and why.
    Refused(String),
}

/// How one WebSocket session ended.
enum End {
    /// The agent was removed (the wake channel closed).
    Removed,
    /// The token changed; connect again without waiting.
    Reconnect,
    /// The connection failed or ended. `was_live` if it delivered a usable frame; `protocol`
    /// if it ended because its frames could not be used.
    Failed {
        reason: String,
        was_live: bool,
        protocol: bool,
    },
}

/// Runs until the sender side of `wake` is dropped (agent removed). `url` and `token` are read
/// at every attempt: the address asks for the history missed since the last sample
/// (`url::with_since`), and a saved token is used from the next connection on.
pub async fn run(
    url: impl Fn() -> String,
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
        let url = url();
        let (reason, was_live, protocol) =
            match session(&url, token.as_deref(), &mut wake, &emit).await {
                End::Removed => return,
                End::Reconnect => {
                    attempt = 0;
                    continue;
                }
                End::Failed {
                    reason,
                    was_live,
                    protocol,
                } => (reason, was_live, protocol),
            };
        ever_live |= was_live;
        // A connection that worked starts the backoff afresh; one whose frames could not be
        // used backs off like a refused connect.
        if was_live && !protocol {
            attempt = 0;
        }
        let delay = delay_ms(attempt, random());
        attempt = attempt.saturating_add(1);
        let retry_at = now_ms() + delay;
        state = if protocol {
            ConnState::protocol_failed(&reason, retry_at)
        } else {
            ConnState::failed(ever_live, reason, retry_at)
        };
        emit(Event::State(state.clone()));
        loop {
            let left = retry_at - now_ms();
            if left <= 0.0 {
                break;
            }
            select! {
                _ = sleep(left).fuse() => {}
                nudge = wake.next() => match nudge {
                    None => return,
                    Some(Wake::Reconnect) => {
                        attempt = 0;
                        break;
                    }
                    Some(Wake::RetryNow) => break,
                    // A late verdict about the closed connection; nothing to send on.
                    Some(Wake::Verdict(_)) | Some(Wake::Send(_)) => {}
                },
            }
        }
    }
}

/// What the socket's worker reports.
enum SocketEvent {
    Text(String),
    /// A text frame of this many characters, too big to read (the worker closed the socket).
    TooBig(usize),
    Binary(u32),
    /// The `error` event (the `close` that follows carries the code).
    Error,
    Close {
        code: u16,
        reason: String,
    },
    /// The worker could not open the socket (bad URL), and why.
    Refused(String),
}

/// The worker's loader, written by trunk for `src/bin/socket-worker.rs`. Worker files carry no
/// content hash (their names are fixed at build time), so the agent serves them `no-cache`.
const WORKER_URL: &str = "socket-worker_loader.js";

/// One agent's WebSocket, owned by a dedicated worker (`src/bin/socket-worker.rs`): the browser builds each
/// text frame's string on the worker's thread, which refuses frames over [`MAX_FRAME_CHARS`]
/// by length, so a huge frame is never copied to the page, let alone into WASM. Dropping it
/// asks the worker to close the socket and end.
struct Socket {
    worker: web_sys::Worker,
    /// Whether the worker said it is listening (its WASM loads after the script starts, and an
    /// order posted before then would be lost).
    ready: std::rc::Rc<std::cell::Cell<bool>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl Socket {
    fn open(
        url: &str,
        protocols: &[String],
    ) -> Result<(Socket, UnboundedReceiver<SocketEvent>), String> {
        let worker = web_sys::Worker::new(WORKER_URL)
            .map_err(|e| format!("could not start the connection worker: {}", js_text(&e)))?;
        let order = js_sys::Object::new();
        let list = js_sys::Array::new();
        for protocol in protocols {
            list.push(&JsValue::from_str(protocol));
        }
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&order, &key.into(), value);
        set("url", &JsValue::from_str(url))
            .and_then(|_| set("protocols", &list))
            .and_then(|_| set("max", &JsValue::from_f64(MAX_FRAME_CHARS as f64)))
            .map_err(|e| format!("could not start the connection worker: {}", js_text(&e)))?;
        let (tx, rx) = unbounded();
        let ready = std::rc::Rc::new(std::cell::Cell::new(false));
        let on_message = {
            let (tx, worker, ready) = (tx.clone(), worker.clone(), ready.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                if is_ready(&data) {
                    ready.set(true);
                    if let Err(e) = worker.post_message(&order) {
                        let _ = tx.unbounded_send(SocketEvent::Refused(format!(
                            "could not start the connection worker: {}",
                            js_text(&e)
                        )));
                    }
                } else if let Some(item) = socket_event(&data) {
                    let _ = tx.unbounded_send(item);
                }
            })
        };
        // The worker script failed to load or threw: report it as a refused connect.
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let _ = tx.unbounded_send(SocketEvent::Refused(
                "the connection worker (socket-worker_loader.js) failed to load".to_owned(),
            ));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok((
            Socket {
                worker,
                ready,
                _on_message: on_message,
                _on_error: on_error,
            },
            rx,
        ))
    }
}

impl Socket {
    /// Asks the worker to send `text` on its socket (`{send: text}`); before the worker is
    /// ready there is no socket to send on, and the message is dropped.
    fn send(&self, text: &str) {
        if !self.ready.get() {
            return;
        }
        let order = js_sys::Object::new();
        if js_sys::Reflect::set(&order, &"send".into(), &JsValue::from_str(text)).is_ok() {
            let _ = self.worker.post_message(&order);
        }
    }
}

/// Whether a message of the worker is its `{t: "ready"}`.
fn is_ready(data: &JsValue) -> bool {
    js_sys::Reflect::get(data, &"t".into())
        .ok()
        .and_then(|t| t.as_string())
        .is_some_and(|t| t == "ready")
}

/// Reads one message of the worker (see `src/bin/socket-worker.rs`).
fn socket_event(data: &JsValue) -> Option<SocketEvent> {
    let field = |key: &str| js_sys::Reflect::get(data, &key.into()).ok();
    let number = |key: &str| field(key).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let text = |key: &str| field(key).and_then(|v| v.as_string()).unwrap_or_default();
    Some(match field("t")?.as_string()?.as_str() {
        "text" => SocketEvent::Text(field("d")?.as_string()?),
        "big" => SocketEvent::TooBig(number("n") as usize),
        "bin" => SocketEvent::Binary(number("n") as u32),
        "error" => SocketEvent::Error,
        "close" => SocketEvent::Close {
            code: number("code") as u16,
            reason: text("reason"),
        },
        "refused" => SocketEvent::Refused(text("why")),
        _ => return None,
    })
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        if !self.ready.get() {
            // No socket yet, and an order now would arrive before anything listens.
            self.worker.terminate();
            return;
        }
        let close = js_sys::Object::new();
        let asked = js_sys::Reflect::set(&close, &"close".into(), &JsValue::TRUE)
            .and_then(|_| self.worker.post_message(&close));
        if asked.is_err() {
            self.worker.terminate();
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
    let protocols = match token {
        Some(token) => vec![
            SUBPROTOCOL.to_owned(),
            format!("{TOKEN_SUBPROTOCOL_PREFIX}{token}"),
        ],
        None => Vec::new(),
    };
    let (socket, events) = match Socket::open(url, &protocols) {
        Ok(opened) => opened,
        Err(reason) => {
            return End::Failed {
                reason,
                was_live: false,
                protocol: false,
            }
        }
    };
    let mut events = events.fuse();
    let mut live = false;
    let mut saw_error_event = false;
    // The first refused frame since the last usable one (or since the connection opened).
    let mut refused: Option<String> = None;
    let mut deadline = now_ms() + STALL_AFTER_MS;
    loop {
        let left = (deadline - now_ms()).max(0.0);
        select! {
            item = events.next() => match item {
                Some(SocketEvent::Text(text)) => emit(Event::Frame(text)),
                Some(SocketEvent::Binary(bytes)) => {
                    let reason =
                        format!("binary frame of {bytes} bytes (the protocol uses text frames)");
                    emit(Event::Refused(reason.clone()));
                    note_refusal(&mut refused, reason, live, emit);
                }
                Some(SocketEvent::TooBig(chars)) => {
                    let reason = frame_too_big(chars).unwrap_or_default();
                    emit(Event::Refused(reason.clone()));
                    return End::Failed { reason, was_live: live, protocol: true };
                }
                // The browser reports failures as an `error` event followed by `close`; the
                // close carries the code, so remember the error and wait for it.
                Some(SocketEvent::Error) => saw_error_event = true,
                Some(SocketEvent::Refused(why)) => {
                    return End::Failed {
                        reason: format!("the browser refused to open {url}: {why}"),
                        was_live: false,
                        protocol: false,
                    };
                }
                Some(SocketEvent::Close { code, reason }) => {
                    let closed = close_reason(live, saw_error_event, token.is_some(), code, &reason);
                    return match refused.take() {
                        // Nothing usable came: the frames, not the close, are the news.
                        Some(first) if !live => End::Failed {
                            reason: format!("{first}; then {closed}"),
                            was_live: false,
                            protocol: true,
                        },
                        _ => End::Failed { reason: closed, was_live: live, protocol: false },
                    };
                }
                None => {
                    return End::Failed {
                        reason: "connection closed".into(),
                        was_live: live,
                        protocol: false,
                    };
                }
            },
            _ = sleep(left).fuse() => {
                if now_ms() < deadline {
                    continue;
                }
                return match refused.take() {
                    Some(first) => End::Failed {
                        reason: format!("no usable message for 5 s: {first}"),
                        was_live: live,
                        protocol: true,
                    },
                    None if live => End::Failed {
                        reason: "no message for 5 s (agent stalled?)".to_owned(),
                        was_live: true,
                        protocol: false,
                    },
                    None => End::Failed {
                        reason: "no answer within 5 s".to_owned(),
                        was_live: false,
                        protocol: false,
                    },
                };
            }
            nudge = wake.next() => match nudge {
                Some(Wake::Verdict(Verdict::Usable)) => {
                    deadline = now_ms() + STALL_AFTER_MS;
                    refused = None;
                    if !live {
                        live = true;
                        emit(Event::State(ConnState::Live));
                    }
                }
                Some(Wake::Verdict(Verdict::Refused(reason))) => {
                    note_refusal(&mut refused, reason, live, emit);
                }
                // Already trying; a live connection needs no retry.
                Some(Wake::RetryNow) => {}
                Some(Wake::Send(text)) => socket.send(&text),
                Some(Wake::Reconnect) => return End::Reconnect,
                None => return End::Removed,
            },
        }
    }
}

/// Remembers the first refusal since the last usable frame; before any usable frame, the card
/// says "protocol error" at once.
fn note_refusal(refused: &mut Option<String>, reason: String, live: bool, emit: &impl Fn(Event)) {
    let first = refused.get_or_insert(reason);
    if !live {
        emit(Event::State(ConnState::protocol_error_open(first)));
    }
}
