//! The embedded dashboard bundle (`crates/dashboard/dist`, built by trunk).
//!
//! Files are embedded at compile time in release builds (read from disk in debug builds).
//! `scripts/build.sh` also writes a gzip copy of each file, served when the browser accepts
//! gzip. Trunk puts a content hash in every file name but `index.html`, so those are cached
//! for a year and `index.html` is revalidated on every load.
//!
//! Every response from here carries a Content-Security-Policy and `X-Content-Type-Options:
//! nosniff`. The policy lets the page run only its own files (`script-src 'self'`), plus the
//! inline loader trunk writes into `index.html`, allowed by its SHA-256 (computed from the
//! embedded file, so a rebuilt bundle is covered) and `'wasm-unsafe-eval'`, without which
//! Chromium refuses to compile the dashboard's WebAssembly. Style sheets come only from the
//! bundle; inline `style` attributes are allowed (`style-src-attr`) because ECharts writes its
//! layout into them — they cannot carry selectors, so no `<style>` injection. `connect-src` is open to every `ws:`/`wss:` URL because the page connects to
//! whatever agents its user adds; no page may frame it (`frame-ancestors 'none'`). `end2end/tests/serve-ui.test.mjs` loads the page under
//! this policy and fails on any violation.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

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
        return (StatusCode::NOT_FOUND, security_headers(), "not found").into_response();
    };
    let accepts_gzip = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let gzipped = accepts_gzip
        .then(|| Bundle::get(&format!("{path}.gz")))
        .flatten();

    let mut headers = security_headers();
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

/// The headers every response of the embedded UI carries.
fn security_headers() -> HeaderMap {
    static POLICY: OnceLock<HeaderValue> = OnceLock::new();
    let policy = POLICY.get_or_init(|| {
        let index = Bundle::get("index.html")
            .map(|f| f.data)
            .unwrap_or_default();
        let policy = content_security_policy(&String::from_utf8_lossy(&index));
        // Only ASCII goes in: keywords, and base64 hashes.
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // frame-ancestors for browsers that predate it.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
}

/// The policy for a page whose HTML is `index_html`: its inline scripts are allowed by hash.
pub fn content_security_policy(index_html: &str) -> String {
    let hashes: String = inline_scripts(index_html)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'; object-src 'none'"
    )
}

/// The text of every `<script>` without a `src` attribute, exactly as the browser hashes it.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = find_ascii_ci(rest, "<script")?;
        let after_name = &rest[start + "<script".len()..];
        // `<scripts>` or `<script-x>` is another element.
        if !after_name.starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            rest = after_name;
            continue;
        }
        let open_end = after_name.find('>')?;
        let attributes = &after_name[..open_end];
        let body = &after_name[open_end + 1..];
        let close = find_ascii_ci(body, "</script")?;
        rest = &body[close..];
        if !has_src(attributes) {
            return Some(&body[..close]);
        }
    })
}

/// Whether an opening tag's attribute text has a `src` attribute.
fn has_src(attributes: &str) -> bool {
    attributes
        .split(|c: char| c.is_ascii_whitespace())
        .any(|a| {
            let name = a.split('=').next().unwrap_or_default();
            name.eq_ignore_ascii_case("src")
        })
}

/// Byte offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
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
    fn inline_scripts_table() {
        let cases: [(&str, &[&str]); 8] = [
            ("<html><head></head></html>", &[]),
            ("<script src=\"/a.js\"></script>", &[]),
            ("<SCRIPT SRC='/a.js'></SCRIPT>", &[]),
            ("<script type=\"module\">go()</script>", &["go()"]),
            (
                "<script>a</script><p>x</p><script>\nb\n</SCRIPT>",
                &["a", "\nb\n"],
            ),
            (
                "<script data-trunk src=\"/e.js\"></script><script type=module>init()</script>",
                &["init()"],
            ),
            // `data-src` is not `src`; `<scripts>` is not a script.
            (
                "<scripts>no</scripts><script data-src=\"x\">yes</script>",
                &["yes"],
            ),
            // An unclosed script is not hashed (the browser would not run it either).
            ("<script>never closed", &[]),
        ];
        for (html, expected) in cases {
            let found: Vec<&str> = inline_scripts(html).collect();
            assert_eq!(found, expected, "{html}");
        }
    }

    #[test]
    fn policy_allows_inline_scripts_by_their_sha256() {
        // `printf 'import init from "/a.js";\nawait init();\n' | openssl dgst -sha256 -binary | base64`
        let html =
            "<head><script type=\"module\">import init from \"/a.js\";\nawait init();\n</script>\
                    <script src=\"/echarts.js\"></script></head>";
        let policy = content_security_policy(html);
        assert!(
            policy.contains(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-Ry5UMUu3QUjoiPRRKiitpGQ2CwVJwWgllhBvcpvpQpk=';"
            ),
            "{policy}"
        );
        for directive in [
            "style-src 'self'; style-src-attr 'unsafe-inline';",
            "frame-ancestors 'none'",
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        // No inline script, no hash; nothing that would let any inline script run.
        let bare = content_security_policy("<script src=\"/a.js\"></script>");
        assert!(
            bare.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{bare}"
        );
        for policy in [&policy, &bare] {
            let script_src = policy
                .split(';')
                .map(str::trim)
                .find(|d| d.starts_with("script-src "))
                .expect("a script-src directive");
            assert!(
                !script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"),
                "{script_src}"
            );
        }
    }

    #[test]
    fn every_response_carries_the_security_headers() {
        // A missing file here: the bundle may not be built when unit tests run.
        let response = serve("no-such-file.js", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let policy = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }

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
