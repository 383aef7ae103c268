//! The embedded dashboard bundle (`crates/dashboard/dist`, built by trunk).
//!
//! Files are embedded at compile time in release builds (read from disk in debug builds).
//! `scripts/build.sh` also writes a gzip copy of each file, served when the browser accepts
//! gzip. Trunk puts a content hash in every file name but `index.html`, so those are cached
//! for a year and `index.html` is revalidated on every load.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../dashboard/dist/"]
#[allow_missing = true]
struct Bundle;

/// Whether this binary carries the dashboard.
pub fn embedded() -> bool {
    Bundle::get("index.html").is_some()
}

/// What to tell someone who passed `--serve-ui` to a binary built without the dashboard.
pub const NOT_EMBEDDED: &str = "this dockscope-agent was built without the dashboard \
    (crates/dashboard/dist was empty when it was compiled), so --serve-ui has nothing to serve. \
    Build it with the dashboard: `scripts/build.sh` (runs `trunk build --release` in \
    crates/dashboard, then `cargo build --release -p dockscope-agent`), or run without --serve-ui \
    and open the dashboard from another agent or web server.";

/// Serves `path` ("" for the index) from the bundle, gzip-encoded when the client accepts it.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Response {
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(file) = Bundle::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let accepts_gzip = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let gzipped = accepts_gzip
        .then(|| Bundle::get(&format!("{path}.gz")))
        .flatten();

    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(mime_type(path)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(path)),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let body = match gzipped {
        Some(gz) => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gz.data
        }
        None => file.data,
    };
    (StatusCode::OK, headers, body.into_owned()).into_response()
}

fn mime_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Content-hashed names (`name-<16+ hex>.ext`, `name-<hex>_bg.wasm`) never change content.
fn cache_control(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let hashed = name.match_indices('-').any(|(at, _)| {
        let rest = &name[at + 1..];
        let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
        hex >= 16 && matches!(rest[hex..].chars().next(), Some('.' | '_'))
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_and_cache_table() {
        let cases = [
            ("index.html", "text/html; charset=utf-8", "no-cache"),
            (
                "dockscope-dashboard-4f9c2a1b7d3e5f60_bg.wasm",
                "application/wasm",
                "public, max-age=31536000, immutable",
            ),
            (
                "dockscope-dashboard-4f9c2a1b7d3e5f60.js",
                "text/javascript; charset=utf-8",
                "public, max-age=31536000, immutable",
            ),
            (
                "echarts.min-0123456789abcdef.js",
                "text/javascript; charset=utf-8",
                "public, max-age=31536000, immutable",
            ),
            (
                "style-0123456789abcdef.css",
                "text/css; charset=utf-8",
                "public, max-age=31536000, immutable",
            ),
            ("favicon.svg", "image/svg+xml", "no-cache"),
            ("my-app.js", "text/javascript; charset=utf-8", "no-cache"),
        ];
        for (path, mime, cache) in cases {
            assert_eq!(mime_type(path), mime, "{path}");
            assert_eq!(cache_control(path), cache, "{path}");
        }
    }
}
