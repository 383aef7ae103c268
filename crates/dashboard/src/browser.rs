//! Thin wrappers over browser APIs (web-sys): storage, clocks, files, location.
//! Every failure is returned or logged, never unwrapped: a locked-down browser must still get
//! a working page.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Browser clock, ms since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Monotonic high-resolution clock (`performance.now()`), ms since the page started; the
/// time budget of ingest slices. Falls back to the wall clock.
pub fn perf_now() -> f64 {
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> = window().and_then(|w| w.performance());
    }
    PERFORMANCE.with(|p| p.as_ref().map_or_else(js_sys::Date::now, |p| p.now()))
}

/// Starts a User Timing span (benchmark builds of the page only, `?perf=true`).
pub fn perf_mark(name: &str) {
    if let Some(performance) = window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Ends the span started by [`perf_mark`] as a measure named `name`, and drops the mark so
/// the timeline does not grow with marks.
pub fn perf_measure(name: &str, start_mark: &str) {
    if let Some(performance) = window().and_then(|w| w.performance()) {
        let _ = performance.measure_with_start_mark(name, start_mark);
        performance.clear_marks_with_mark_name(start_mark);
    }
}

/// Distance from the viewport's top to the top of element `id` (negative once scrolled past),
/// and the viewport's height, in CSS pixels. `None` while the element is not in the page.
pub fn element_top_and_viewport_height(id: &str) -> Option<(f64, f64)> {
    let window = window()?;
    let element = window.document()?.get_element_by_id(id)?;
    let height = window.inner_height().ok()?.as_f64()?;
    Some((element.get_bounding_client_rect().top(), height))
}

/// Uniform in `[0, 1)`, for backoff jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn local_storage() -> Result<web_sys::Storage, String> {
    window()
        .ok_or("no window")?
        .local_storage()
        .map_err(|e| format!("localStorage is not accessible: {}", js_text(&e)))?
        .ok_or_else(|| "localStorage is disabled in this browser".to_owned())
}

/// Reads `key`; `Ok(None)` when absent.
///
/// # Errors
/// When storage is unavailable (private mode, blocked cookies).
pub fn storage_get(key: &str) -> Result<Option<String>, String> {
    local_storage()?
        .get_item(key)
        .map_err(|e| format!("could not read localStorage: {}", js_text(&e)))
}

/// Writes `key`.
///
/// # Errors
/// When storage is unavailable or full.
pub fn storage_set(key: &str, value: &str) -> Result<(), String> {
    local_storage()?
        .set_item(key, value)
        .map_err(|e| format!("could not write localStorage: {}", js_text(&e)))
}

/// `location.search`, e.g. `?agents=…`.
pub fn location_search() -> String {
    window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// `(location.protocol, location.host)`, e.g. `("http:", "127.0.0.1:9100")`.
pub fn location_origin_parts() -> Option<(String, String)> {
    let location = window()?.location();
    Some((location.protocol().ok()?, location.host().ok()?))
}

/// Replaces the query string without reloading (after "keep these agents").
pub fn replace_search(search: &str) {
    let Some(window) = window() else { return };
    let path = window.location().pathname().unwrap_or_else(|_| "/".into());
    if let Ok(history) = window.history() {
        let url = format!("{path}{search}");
        if let Err(e) = history.replace_state_with_url(&JsValue::NULL, "", Some(&url)) {
            log(&format!(
                "could not update the address bar: {}",
                js_text(&e)
            ));
        }
    }
}

/// Sets `<html data-theme=…>`, which the stylesheet keys on.
pub fn set_document_theme(theme: &str) {
    if let Some(root) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", theme);
    }
}

/// Offers `text` as a file download named `file_name` (Blob + temporary anchor).
///
/// # Errors
/// When the browser refuses to create the blob or its URL.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> Result<(), String> {
    let document = window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| js_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_text(&e))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_text(&e))?
        .dyn_into()
        .map_err(|_| "could not create a link element")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.set_attribute("hidden", "").ok();
    if let Some(body) = document.body() {
        body.append_child(&anchor).ok();
        anchor.click();
        body.remove_child(&anchor).ok();
    } else {
        anchor.click();
    }
    web_sys::Url::revoke_object_url(&url).ok();
    Ok(())
}

/// The text of the first file chosen in an `<input type=file>`, `None` if none was chosen.
///
/// # Errors
/// When the file cannot be read.
pub async fn read_chosen_file(input: &web_sys::HtmlInputElement) -> Result<Option<String>, String> {
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return Ok(None);
    };
    let text = JsFuture::from(file.text())
        .await
        .map_err(|e| format!("could not read {}: {}", file.name(), js_text(&e)))?;
    Ok(text.as_string())
}

/// `document.title`.
pub fn set_title(title: &str) {
    if let Some(document) = window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// `Notification.permission` (`"default"`, `"granted"`, `"denied"`), `None` where the page
/// cannot show notifications at all: no Notification API, or not a secure context (browsers
/// allow them only over https and from localhost).
pub fn notification_permission() -> Option<&'static str> {
    let window = window()?;
    let has_api = js_sys::Reflect::has(&window, &JsValue::from_str("Notification")).ok()?;
    if !has_api || !window.is_secure_context() {
        return None;
    }
    Some(match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => "granted",
        web_sys::NotificationPermission::Denied => "denied",
        _ => "default",
    })
}

/// `Notification.requestPermission()`: the browser asks the user (or answers by itself) and
/// this resolves to the answer, as [`notification_permission`] reads it afterwards.
pub async fn request_notification_permission() -> Option<&'static str> {
    notification_permission()?;
    match web_sys::Notification::request_permission() {
        Ok(promise) => {
            if let Err(e) = JsFuture::from(promise).await {
                log(&format!(
                    "the notification permission request failed: {}",
                    js_text(&e)
                ));
            }
        }
        Err(e) => log(&format!("could not ask for notifications: {}", js_text(&e))),
    }
    notification_permission()
}

/// Shows a notification when the page may (the permission is read now: the user may have
/// withdrawn it since the page asked). A later one with the same `tag` replaces it.
///
/// # Errors
/// When the browser refuses to create it.
pub fn notify(title: &str, body: &str, tag: &str) -> Result<(), String> {
    if notification_permission() != Some("granted") {
        return Ok(());
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    web_sys::Notification::new_with_options(title, &options)
        .map(|_| ())
        .map_err(|e| format!("could not show a notification: {}", js_text(&e)))
}

/// Resolves after `ms` milliseconds (gloo-timers' `setTimeout` future).
pub async fn sleep(ms: f64) {
    // `setTimeout` takes an `i32`; dropping the future clears the timer.
    let ms = ms.clamp(0.0, f64::from(i32::MAX)) as u32;
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// A JS error or value as text.
pub fn js_text(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// `console.warn`.
pub fn log(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
