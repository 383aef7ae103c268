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
//! The socket lives in the page's one connection worker (`src/bin/socket-worker.rs`, see
//! [`Socket`] and [`Pool`]): the browser builds
//! a text frame's string on the thread that owns the socket (a 67 MB frame costs ~0.5 s
//! there), and the worker refuses a frame over [`MAX_FRAME_CHARS`] by its length, so such a
//! frame never reaches the page's main thread, nor WASM; the connection is closed (then
//! backoff, as for any failure). Frames within the limit reach the page as bytes. A connection is *live* from its first usable
//! frame, not its first frame: until then, refused frames make the card say "protocol error"
//! and why (the first refusal's reason); five seconds without a usable frame end the
//! connection like a stall, with that reason.
//!
//! An agent's token travels as the subprotocol `dockscope-token.<token>` next to `dockscope`:
//! browsers cannot set headers on a WebSocket, and a subprotocol, unlike `?token=`, stays out
//! of access logs. A refused upgrade (HTTP 401) looks like any failed connect to the page
//! (close code 1006), so the reason names the token as a likely cause.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use dockscope_protocol::{SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
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

/// The one connection worker every [`Socket`] of the page goes through (see
/// `src/bin/socket-worker.rs` for why one, not one per agent), started with the first socket.
/// Its messages name a socket by id; each is passed to that socket's channel.
struct Pool {
    worker: web_sys::Worker,
    /// Whether the worker said it is listening (its WASM loads after the script starts, and an
    /// order posted before then would be lost); until then orders wait in `queued`.
    ready: Rc<Cell<bool>>,
    queued: Rc<RefCell<Vec<js_sys::Object>>>,
    /// The open sockets' channels by id.
    routes: Rc<RefCell<HashMap<u32, UnboundedSender<SocketEvent>>>>,
    next_id: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

thread_local! {
    /// The page's pool; `None` until the first socket, and again after the worker failed.
    static POOL: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
}

impl Pool {
    /// The running pool, started if there is none.
    fn get() -> Result<Rc<Pool>, String> {
        if let Some(pool) = POOL.with(|pool| pool.borrow().clone()) {
            return Ok(pool);
        }
        let pool = Rc::new(Pool::start()?);
        POOL.with(|slot| *slot.borrow_mut() = Some(pool.clone()));
        Ok(pool)
    }

    fn start() -> Result<Pool, String> {
        let worker = web_sys::Worker::new(WORKER_URL)
            .map_err(|e| format!("could not start the connection worker: {}", js_text(&e)))?;
        let ready = Rc::new(Cell::new(false));
        let queued: Rc<RefCell<Vec<js_sys::Object>>> = Rc::default();
        let routes: Rc<RefCell<HashMap<u32, UnboundedSender<SocketEvent>>>> = Rc::default();
        let on_message = {
            let (worker, ready, queued, routes) = (
                worker.clone(),
                ready.clone(),
                queued.clone(),
                routes.clone(),
            );
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                if is_ready(&data) {
                    ready.set(true);
                    for order in queued.borrow_mut().drain(..) {
                        let _ = worker.post_message(&order);
                    }
                    return;
                }
                let id = js_sys::Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|id| id.as_f64());
                let (Some(id), Some(item)) = (id, socket_event(&data)) else {
                    return;
                };
                if let Some(route) = routes.borrow().get(&(id as u32)) {
                    let _ = route.unbounded_send(item);
                }
            })
        };
        // The worker script failed to load, or the worker died: every socket is lost. Each is
        // told (a refused connect, then backoff) and the next one starts a new worker.
        let on_error = {
            let (worker, routes) = (worker.clone(), routes.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                worker.terminate();
                // Dropped after this handler returns (the pool owns the handler).
                if let Some(pool) = POOL.with(|pool| pool.borrow_mut().take()) {
                    wasm_bindgen_futures::spawn_local(async move { drop(pool) });
                }
                for (_, route) in routes.borrow_mut().drain() {
                    let _ = route.unbounded_send(SocketEvent::Refused(
                        "the connection worker (socket-worker_loader.js) failed".to_owned(),
                    ));
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Pool {
            worker,
            ready,
            queued,
            routes,
            next_id: Cell::new(1),
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Posts an order for socket `id`, or queues it until the worker is ready.
    fn order(&self, id: u32, fields: &[(&str, JsValue)]) {
        let order = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&order, &"id".into(), &f64::from(id).into());
        for (key, value) in fields {
            let _ = js_sys::Reflect::set(&order, &(*key).into(), value);
        }
        if self.ready.get() {
            let _ = self.worker.post_message(&order);
        } else {
            self.queued.borrow_mut().push(order);
        }
    }
}

/// Starts the page's connection worker if it is not running. A worker that cannot start is
/// reported by the first [`Socket`] that needs it.
pub fn warm_up() {
    let _ = Pool::get();
}

/// One agent's WebSocket, owned by the page's connection worker ([`Pool`]): the browser builds
/// each text frame's string on the worker's thread, which refuses frames over
/// [`MAX_FRAME_CHARS`] by length, so a huge frame is never copied to the page, let alone into
/// WASM. Dropping it closes the socket; no event of it arrives after.
struct Socket {
    pool: Rc<Pool>,
    id: u32,
}

impl Socket {
    fn open(
        url: &str,
        protocols: &[String],
    ) -> Result<(Socket, UnboundedReceiver<SocketEvent>), String> {
        let pool = Pool::get()?;
        let id = pool.next_id.get();
        pool.next_id.set(id.wrapping_add(1));
        let (tx, rx) = unbounded();
        pool.routes.borrow_mut().insert(id, tx);
        let list = js_sys::Array::new();
        for protocol in protocols {
            list.push(&JsValue::from_str(protocol));
        }
        pool.order(
            id,
            &[
                ("url", JsValue::from_str(url)),
                ("protocols", list.into()),
                ("max", JsValue::from_f64(MAX_FRAME_CHARS as f64)),
            ],
        );
        Ok((Socket { pool, id }, rx))
    }

    /// Sends `text` on the socket once it is open; before that, or after it closed, the
    /// worker drops it.
    fn send(&self, text: &str) {
        self.pool
            .order(self.id, &[("send", JsValue::from_str(text))]);
    }
}

/// Whether a message of the worker is its `{t: "ready"}`.
fn is_ready(data: &JsValue) -> bool {
    js_sys::Reflect::get(data, &"t".into())
        .ok()
        .and_then(|t| t.as_string())
        .is_some_and(|t| t == "ready")
}

/// Reads one message of the worker about a socket (see `src/bin/socket-worker.rs`).
fn socket_event(data: &JsValue) -> Option<SocketEvent> {
    let field = |key: &str| js_sys::Reflect::get(data, &key.into()).ok();
    let number = |key: &str| field(key).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let text = |key: &str| field(key).and_then(|v| v.as_string()).unwrap_or_default();
    Some(match field("t")?.as_string()?.as_str() {
        "text" => SocketEvent::Text(frame_text(&field("d")?)?),
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

/// A frame's text from the worker's message: its UTF-8 bytes, transferred (copied once, into
/// WASM). A string is read too: a page and a worker of different builds can meet across an
/// agent upgrade, and workers before this one posted strings.
fn frame_text(data: &JsValue) -> Option<String> {
    if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        return String::from_utf8(js_sys::Uint8Array::new(buffer).to_vec()).ok();
    }
    data.as_string()
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.pool.routes.borrow_mut().remove(&self.id);
        if self.pool.ready.get() {
            self.pool.order(self.id, &[("close", JsValue::TRUE)]);
        } else {
            // Not sent yet: the socket is never opened.
            let id = JsValue::from_f64(f64::from(self.id));
            self.pool.queued.borrow_mut().retain(|order| {
                js_sys::Reflect::get(order, &"id".into()).ok().as_ref() != Some(&id)
            });
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
