//! The connection worker: one agent's WebSocket, in a dedicated worker that `conn.rs` starts
//! per connection. Trunk builds it as a second WASM binary (`data-type="worker"` in
//! `index.html`) with a generated loader, `socket-worker_loader.js`.
//!
//! The browser turns each text frame into a string on the thread that owns the socket, before
//! any of our code runs: a 67 MB frame costs about half a second there. Owning the socket here
//! keeps that cost off the page. The worker reads only a frame's length (never its text: the
//! string is passed on as a JS value, not copied into WASM) and refuses frames over the page's
//! limit by closing the socket.
//!
//! ```text
//!  page → worker  {url, protocols, max}   open the socket (once, after "ready")
//!                 {send: text}            send a client message on the open socket
//!                 {close: true}           close it; the worker ends
//!  worker → page  {t: "text", d}          a frame within the limit, as it came
//!                 {t: "big", n}           a frame of n characters, refused; socket closed
//!                 {t: "bin", n}           a binary frame of n bytes (the stream is text)
//!                 {t: "error"}            the socket's error event (a close follows)
//!                 {t: "close", code, reason}
//!                 {t: "refused", why}     the WebSocket constructor threw (bad URL)
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
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{BinaryType, CloseEvent, DedicatedWorkerGlobalScope, MessageEvent, WebSocket};

    /// Listens for the page's orders for the life of the worker.
    pub fn start() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let socket: Rc<RefCell<Option<WebSocket>>> = Rc::default();
        let on_order = {
            let scope = scope.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                order(&scope, &socket, &event.data());
            })
        };
        scope.set_onmessage(Some(on_order.as_ref().unchecked_ref()));
        // The worker exists for this one listener; it ends with the worker.
        on_order.forget();
        // The page waits for this before its order: anything posted while the WASM loaded,
        // before the listener above existed, was dropped.
        post(&scope, &[("t", "ready".into())]);
    }

    fn order(
        scope: &DedicatedWorkerGlobalScope,
        socket: &RefCell<Option<WebSocket>>,
        order: &JsValue,
    ) {
        if field(order, "close").is_truthy() {
            if let Some(open) = socket.borrow().as_ref() {
                let _ = open.close();
            }
            scope.close();
            return;
        }
        // A client message for the open socket (a health-log request); none open: dropped.
        if let Some(text) = field(order, "send").as_string() {
            if let Some(open) = socket.borrow().as_ref() {
                if open.ready_state() == WebSocket::OPEN {
                    let _ = open.send_with_str(&text);
                }
            }
            return;
        }
        if socket.borrow().is_some() {
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
            Ok(open) => {
                wire(scope, &open, max);
                *socket.borrow_mut() = Some(open);
            }
            Err(e) => {
                let why = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .or_else(|| e.as_string())
                    .unwrap_or_else(|| "the address was refused".to_owned());
                post(scope, &[("t", "refused".into()), ("why", why.into())]);
            }
        }
    }

    /// Relays the socket's events to the page, refusing text frames over `max` characters.
    fn wire(scope: &DedicatedWorkerGlobalScope, socket: &WebSocket, max: f64) {
        socket.set_binary_type(BinaryType::Arraybuffer);
        let refusing = Rc::new(Cell::new(false));
        let on_message = {
            let (scope, socket) = (scope.clone(), socket.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if refusing.get() {
                    return;
                }
                let data = event.data();
                if let Some(text) = data.dyn_ref::<js_sys::JsString>() {
                    let length = f64::from(text.length());
                    if length > max {
                        refusing.set(true);
                        post(&scope, &[("t", "big".into()), ("n", length.into())]);
                        let _ = socket.close();
                    } else {
                        post(&scope, &[("t", "text".into()), ("d", data)]);
                    }
                } else {
                    let bytes = data
                        .dyn_ref::<js_sys::ArrayBuffer>()
                        .map_or(0, js_sys::ArrayBuffer::byte_length);
                    post(
                        &scope,
                        &[("t", "bin".into()), ("n", f64::from(bytes).into())],
                    );
                }
            })
        };
        let on_error = {
            let scope = scope.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| post(&scope, &[("t", "error".into())]))
        };
        let on_close = {
            let scope = scope.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                post(
                    &scope,
                    &[
                        ("t", "close".into()),
                        ("code", f64::from(event.code()).into()),
                        ("reason", event.reason().into()),
                    ],
                );
                scope.close();
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // One socket per worker: the handlers live exactly as long as the worker.
        on_message.forget();
        on_error.forget();
        on_close.forget();
    }

    fn field(object: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn post(scope: &DedicatedWorkerGlobalScope, fields: &[(&str, JsValue)]) {
        let message = js_sys::Object::new();
        for (key, value) in fields {
            let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
        }
        // Only fails when the page is gone, and then nobody is listening.
        let _ = scope.post_message(&message);
    }
}
