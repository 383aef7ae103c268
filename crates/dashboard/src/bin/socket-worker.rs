//! The connection worker: every agent's WebSocket, in one dedicated worker that `conn.rs`
//! starts with the first connection. Trunk builds it as a second WASM binary
//! (`data-type="worker"` in `index.html`) with a generated loader, `socket-worker_loader.js`.
//!
//! The browser turns each text frame into a string on the thread that owns the socket, before
//! any of our code runs: a 67 MB frame costs about half a second there. Owning the sockets here
//! keeps that cost off the page. The worker reads only a frame's length (never its text: the
//! string is never copied into this worker's WASM) and refuses frames over the page's limit by
//! closing that socket.
//!
//! A frame within the limit goes to the page as its UTF-8 bytes in an `ArrayBuffer` that is
//! *transferred*, not copied (the browser's `TextEncoder`, called on the JS string here). Posted
//! as a string, every frame was cloned onto the page's JS heap only to be copied into WASM and
//! dropped; at 20 agents × 100 containers the collections of that garbage paused the page's
//! main thread for up to 44 ms (14 ms with bytes: `docs/benchmarks.md`). A transferred
//! buffer's bytes live outside that heap.
//!
//! One worker holds every socket, each under the id the page gave it: a worker costs a thread,
//! a WASM instance and 20–25 MiB of the renderer's memory, and 20 of them starting at once
//! delayed the first row of a 20-agent page by about a second. The price is that the sockets
//! share one thread: while the browser builds one agent's huge frame, the others' frames wait
//! (at most the page's frame limit's worth, about half a second).
//!
//! ```text
//!  page → worker  {id, url, protocols, max}  open socket `id`
//!                 {id, send: text}           send a client message on socket `id`, if open
//!                 {id, close: true}          close socket `id` (no events for it follow)
//!  worker → page  {t: "ready"}               listening (orders posted before are lost)
//!                 {id, t: "text", d}         a frame within the limit: d is its UTF-8
//!                                            bytes, an ArrayBuffer (transferred)
//!                 {id, t: "big", n}          a frame of n characters, refused; socket closed
//!                 {id, t: "bin", n}          a binary frame of n bytes (the stream is text)
//!                 {id, t: "error"}           the socket's error event (a close follows)
//!                 {id, t: "close", code, reason}
//!                 {id, t: "refused", why}    the WebSocket constructor threw (bad URL)
//! ```

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("socket-worker runs in a browser worker, started by the dashboard page");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::{OnceCell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{BinaryType, CloseEvent, DedicatedWorkerGlobalScope, MessageEvent, WebSocket};

    #[wasm_bindgen]
    extern "C" {
        /// The browser's `TextEncoder`, bound here to take a JS string as it is: web-sys's
        /// `encode_with_input(&str)` would first copy the text into WASM.
        type TextEncoder;
        #[wasm_bindgen(constructor)]
        fn new() -> TextEncoder;
        #[wasm_bindgen(method)]
        fn encode(this: &TextEncoder, text: &js_sys::JsString) -> js_sys::Uint8Array;
    }

    /// The property of a `WebSocket` object that holds its id, so one set of handlers serves
    /// every socket.
    const ID_KEY: &str = "dockscopeId";

    /// One open socket.
    struct Open {
        socket: WebSocket,
        /// The page's frame limit, in characters.
        max: f64,
        /// A frame over the limit came: the socket is closing, and nothing more is passed on.
        refusing: bool,
    }

    /// Every open socket by id, and the worker's scope to post from.
    struct Sockets {
        scope: DedicatedWorkerGlobalScope,
        open: RefCell<HashMap<u32, Open>>,
        /// The `message`, `error` and `close` handlers every socket shares (set once, alive as
        /// long as the worker).
        handlers: OnceCell<[js_sys::Function; 3]>,
        /// Turns each frame's text into the bytes posted to the page.
        encoder: TextEncoder,
    }

    /// Listens for the page's orders for the life of the worker.
    pub fn start() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let sockets = Rc::new(Sockets {
            scope: scope.clone(),
            open: RefCell::default(),
            handlers: OnceCell::new(),
            encoder: TextEncoder::new(),
        });
        let weak = Rc::downgrade(&sockets);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let weak = weak.clone();
            move |event: MessageEvent| {
                if let Some(sockets) = weak.upgrade() {
                    sockets.message(&event);
                }
            }
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
            let weak = weak.clone();
            move |event: web_sys::Event| {
                if let (Some(sockets), Some(id)) = (weak.upgrade(), id_of(&event)) {
                    post(&sockets.scope, id, &[("t", "error".into())]);
                }
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(sockets) = weak.upgrade() {
                sockets.closed(&event);
            }
        });
        // Made once for the worker's life (`into_js_value` hands them to JS for good).
        let _ = sockets.handlers.set([
            on_message.into_js_value().unchecked_into(),
            on_error.into_js_value().unchecked_into(),
            on_close.into_js_value().unchecked_into(),
        ]);
        let on_order = {
            let sockets = sockets.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                sockets.order(&event.data());
            })
        };
        scope.set_onmessage(Some(on_order.as_ref().unchecked_ref()));
        // The worker exists for this one listener (which owns `sockets`); it ends with the
        // worker.
        on_order.forget();
        // The page waits for this before its orders: anything posted while the WASM loaded,
        // before the listener above existed, was dropped.
        let ready = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&ready, &"t".into(), &"ready".into());
        let _ = scope.post_message(&ready);
    }

    impl Sockets {
        fn order(&self, order: &JsValue) {
            let Some(id) = field(order, "id").as_f64().map(|id| id as u32) else {
                return;
            };
            if field(order, "close").is_truthy() {
                if let Some(open) = self.open.borrow_mut().remove(&id) {
                    unwire(&open.socket);
                    let _ = open.socket.close();
                }
                return;
            }
            // A client message for an open socket (a health-log request); none open: dropped.
            if let Some(text) = field(order, "send").as_string() {
                if let Some(open) = self.open.borrow().get(&id) {
                    if open.socket.ready_state() == WebSocket::OPEN {
                        let _ = open.socket.send_with_str(&text);
                    }
                }
                return;
            }
            if self.open.borrow().contains_key(&id) {
                return;
            }
            let url = field(order, "url").as_string().unwrap_or_default();
            let max = field(order, "max").as_f64().unwrap_or(0.0);
            let protocols = field(order, "protocols")
                .dyn_into::<js_sys::Array>()
                .unwrap_or_else(|_| js_sys::Array::new());
            let opened = if protocols.length() > 0 {
                WebSocket::new_with_str_sequence(&url, &protocols)
            } else {
                WebSocket::new(&url)
            };
            match opened {
                Ok(socket) => {
                    self.wire(&socket, id);
                    let open = Open {
                        socket,
                        max,
                        refusing: false,
                    };
                    self.open.borrow_mut().insert(id, open);
                }
                Err(e) => {
                    let why = e
                        .dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .or_else(|| e.as_string())
                        .unwrap_or_else(|| "the address was refused".to_owned());
                    post(
                        &self.scope,
                        id,
                        &[("t", "refused".into()), ("why", why.into())],
                    );
                }
            }
        }

        fn wire(&self, socket: &WebSocket, id: u32) {
            socket.set_binary_type(BinaryType::Arraybuffer);
            let _ = js_sys::Reflect::set(socket, &ID_KEY.into(), &f64::from(id).into());
            if let Some([on_message, on_error, on_close]) = self.handlers.get() {
                socket.set_onmessage(Some(on_message));
                socket.set_onerror(Some(on_error));
                socket.set_onclose(Some(on_close));
            }
        }

        /// Relays a frame of an open socket, refusing text frames over its limit.
        fn message(&self, event: &MessageEvent) {
            let Some(id) = id_of(event) else {
                return;
            };
            let mut open = self.open.borrow_mut();
            let Some(entry) = open.get_mut(&id) else {
                return;
            };
            if entry.refusing {
                return;
            }
            let data = event.data();
            if let Some(text) = data.dyn_ref::<js_sys::JsString>() {
                let length = f64::from(text.length());
                if length > entry.max {
                    entry.refusing = true;
                    let _ = entry.socket.close();
                    post(
                        &self.scope,
                        id,
                        &[("t", "big".into()), ("n", length.into())],
                    );
                } else {
                    let bytes: JsValue = self.encoder.encode(text).buffer().into();
                    post_transferring(
                        &self.scope,
                        id,
                        &[("t", "text".into()), ("d", bytes.clone())],
                        &bytes,
                    );
                }
            } else {
                let bytes = data
                    .dyn_ref::<js_sys::ArrayBuffer>()
                    .map_or(0, js_sys::ArrayBuffer::byte_length);
                post(
                    &self.scope,
                    id,
                    &[("t", "bin".into()), ("n", f64::from(bytes).into())],
                );
            }
        }

        /// A socket closed: report it and forget it.
        fn closed(&self, event: &CloseEvent) {
            let Some(id) = id_of(event) else {
                return;
            };
            if let Some(open) = self.open.borrow_mut().remove(&id) {
                unwire(&open.socket);
            }
            post(
                &self.scope,
                id,
                &[
                    ("t", "close".into()),
                    ("code", f64::from(event.code()).into()),
                    ("reason", event.reason().into()),
                ],
            );
        }
    }

    /// Stops a socket's events (the page asked to close it, or it closed).
    fn unwire(socket: &WebSocket) {
        socket.set_onmessage(None);
        socket.set_onerror(None);
        socket.set_onclose(None);
    }

    /// The id of the socket an event came from.
    fn id_of(event: &web_sys::Event) -> Option<u32> {
        let target = event.target()?;
        let id = js_sys::Reflect::get(&target, &ID_KEY.into())
            .ok()?
            .as_f64()?;
        Some(id as u32)
    }

    fn field(object: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn post(scope: &DedicatedWorkerGlobalScope, id: u32, fields: &[(&str, JsValue)]) {
        // Only fails when the page is gone, and then nobody is listening.
        let _ = scope.post_message(&message(id, fields));
    }

    /// Like [`post`], handing `buffer` (one of the fields) over to the page instead of copying
    /// it; it is unusable here afterwards.
    fn post_transferring(
        scope: &DedicatedWorkerGlobalScope,
        id: u32,
        fields: &[(&str, JsValue)],
        buffer: &JsValue,
    ) {
        let transfer = js_sys::Array::of1(buffer);
        let _ = scope.post_message_with_transfer(&message(id, fields), &transfer);
    }

    fn message(id: u32, fields: &[(&str, JsValue)]) -> js_sys::Object {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"id".into(), &f64::from(id).into());
        for (key, value) in fields {
            let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
        }
        message
    }
}
