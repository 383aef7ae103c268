//! Turning whatever a user pastes into the WebSocket URL of an agent.
//!
//! Accepted: `ws://h:8080`, `wss://h/ws`, `http://h:8080` (→ `ws://`), `https://h` (→ `wss://`)
//! and a bare `h:8080` (→ `ws://`). An empty path becomes `/ws`; scheme and host are lower-cased,
//! a fragment is dropped. Anything else is refused with a message quoting the input, so the
//! add box can show it inline and change nothing.
//!
//! A `token=` in the query (`ws://h:8080/ws?token=abc`) never stays in the address:
//! [`normalize_with_token`] hands it back separately for the token store, and [`normalize`]
//! drops it. Every address the dashboard keeps, saves, exports or puts in a link comes from
//! one of the two, so none of them carries a token.

use std::fmt;

/// Path of the agent's stream when the user gives none.
pub const DEFAULT_WS_PATH: &str = "/ws";

/// Why an input is not an agent address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Nothing but whitespace was entered.
    Empty,
    /// The scheme is not one of ws, wss, http, https.
    Scheme(String),
    /// There is no host, or it holds characters no host name can have.
    Host(String),
    /// The port is not a number from 1 to 65535.
    Port(String),
    /// Spaces or control characters inside the address.
    Whitespace(String),
    /// The address carries a `token=` that cannot be sent to an agent; holds why (the token
    /// itself is not quoted).
    Token(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Empty => write!(f, "enter an agent address such as ws://host:8080"),
            UrlError::Scheme(input) => write!(
                f,
                "“{input}” has an unsupported scheme: use ws://, wss://, http://, https:// or host:port"
            ),
            UrlError::Host(input) => write!(
                f,
                "“{input}” has no valid host name: expected something like host:8080"
            ),
            UrlError::Port(input) => {
                write!(f, "“{input}” has an invalid port: use a number from 1 to 65535")
            }
            UrlError::Whitespace(input) => {
                write!(f, "“{input}” contains spaces: paste a single address")
            }
            UrlError::Token(why) => write!(f, "the address's token= is not usable: {why}"),
        }
    }
}

impl std::error::Error for UrlError {}

/// Normalises a pasted agent address to the WebSocket URL the dashboard connects to; a
/// `token=` in it is dropped (see [`normalize_with_token`] to keep it).
///
/// # Errors
/// A [`UrlError`] naming what is wrong with `input`.
pub fn normalize(input: &str) -> Result<String, UrlError> {
    normalize_with_token(input).map(|(url, _)| url)
}

/// Name of the query parameter some users put an agent's token in.
pub const TOKEN_PARAM: &str = "token";

/// [`normalize`], and the `token=` taken out of the address's query (percent-decoded; the first
/// non-empty one), for the token store.
///
/// # Errors
/// A [`UrlError`] naming what is wrong with `input`, [`UrlError::Token`] when its token could
/// not travel as a WebSocket subprotocol.
pub fn normalize_with_token(input: &str) -> Result<(String, Option<String>), UrlError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(UrlError::Empty);
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Whitespace(trimmed.to_owned()));
    }
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => {
            let ws_scheme = match scheme.to_ascii_lowercase().as_str() {
                "ws" | "http" => "ws",
                "wss" | "https" => "wss",
                _ => return Err(UrlError::Scheme(trimmed.to_owned())),
            };
            (ws_scheme, rest)
        }
        None => ("ws", trimmed),
    };
    // Drop the fragment: WebSocket URLs may not carry one.
    let rest = rest.split('#').next().unwrap_or_default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (host, port) = split_host_port(authority, trimmed)?;
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let path = if path.is_empty() || path == "/" {
        DEFAULT_WS_PATH
    } else {
        path
    };
    let mut url = format!("{scheme}://{host}");
    if let Some(port) = port {
        url.push(':');
        url.push_str(&port.to_string());
    }
    url.push_str(path);
    let (query, token) = take_token(query.unwrap_or_default())?;
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    Ok((url, token))
}

/// Splits `token=` pairs out of a query string: the rest (order kept) and the token.
fn take_token(query: &str) -> Result<(String, Option<String>), UrlError> {
    let mut kept: Vec<&str> = Vec::new();
    let mut token = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key) != TOKEN_PARAM {
            kept.push(pair);
            continue;
        }
        let value = percent_decode(value);
        if value.is_empty() || token.is_some() {
            continue;
        }
        dockscope_protocol::check_token(&value).map_err(UrlError::Token)?;
        token = Some(value);
    }
    Ok((kept.join("&"), token))
}

/// Decodes `%XX` escapes and `+`; malformed escapes are kept literally.
pub fn percent_decode(text: &str) -> String {
    // `+` is a space in a query; an escaped `%2B` stays a plus, so replace before decoding.
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits `host[:port]` (or `[v6]:port`), validating both; `input` is quoted in errors.
fn split_host_port<'a>(authority: &'a str, input: &str) -> Result<(String, Option<u16>), UrlError> {
    let host_err = || UrlError::Host(input.to_owned());
    if authority.contains('@') {
        return Err(host_err());
    }
    let (host, port): (&'a str, Option<&'a str>) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(host_err)?;
        let valid = !addr.is_empty()
            && addr.contains(':')
            && addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if !valid {
            return Err(host_err());
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(host_err)?),
        };
        return Ok((
            format!("[{}]", addr.to_ascii_lowercase()),
            parse_port(port, input)?,
        ));
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if !is_host_name(host) {
        return Err(host_err());
    }
    Ok((host.to_ascii_lowercase(), parse_port(port, input)?))
}

fn parse_port(port: Option<&str>, input: &str) -> Result<Option<u16>, UrlError> {
    match port {
        None => Ok(None),
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 && text.chars().all(|c| c.is_ascii_digit()) => Ok(Some(port)),
            _ => Err(UrlError::Port(input.to_owned())),
        },
    }
}

/// DNS-style names and dotted IPv4: labels of letters, digits and inner hyphens (underscores
/// are tolerated because Docker and Compose service names use them).
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The WebSocket URL of the agent that served this page, from the page's own location and the
/// `ws_path` of its `/agent.json`.
pub fn same_origin_ws(page_protocol: &str, page_host: &str, ws_path: &str) -> String {
    let scheme = if page_protocol.eq_ignore_ascii_case("https:") {
        "wss"
    } else {
        "ws"
    };
    let path = if ws_path.starts_with('/') {
        ws_path.to_owned()
    } else {
        format!("/{ws_path}")
    };
    format!("{scheme}://{page_host}{path}")
}

/// How far back a connection asks for history: after the newest sample the dashboard has,
/// but not before what it keeps ([`crate::ingest::CONTAINER_HISTORY`] seconds before `now_ms`,
/// the agent's time now as the page estimates it: the browser's clock corrected by the last
/// skew measured, or uncorrected before the first connection says anything). A page opening on
/// 20 agents then takes 5 minutes of each, not the 15 they keep.
pub fn since(newest_agent_ms: Option<i64>, now_ms: f64) -> i64 {
    let kept_ms = crate::ingest::CONTAINER_HISTORY as i64 * 1_000;
    let oldest_wanted = now_ms as i64 - kept_ms;
    newest_agent_ms.map_or(oldest_wanted, |newest| newest.max(oldest_wanted))
}

/// The address one connection attempt opens: the agent's `url` with `?since=<since>` (agent
/// clock, ms since the epoch: the newest sample the dashboard has) when it has any, so the
/// agent sends only the history it missed. An older agent ignores the parameter; one already
/// in `url` is replaced.
pub fn with_since(url: &str, since: Option<i64>) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let param = dockscope_protocol::SINCE_PARAM;
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| p.split('=').next() != Some(param))
        .map(str::to_owned)
        .collect();
    if let Some(since) = since {
        pairs.push(format!("{param}={since}"));
    }
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_goes_into_the_query() {
        let cases = [
            ("ws://h:1/ws", None, "ws://h:1/ws"),
            (
                "ws://h:1/ws",
                Some(1_795_773_600_000),
                "ws://h:1/ws?since=1795773600000",
            ),
            ("ws://h:1/ws?x=1", Some(5), "ws://h:1/ws?x=1&since=5"),
            (
                "ws://h:1/ws?since=3&x=1",
                Some(5),
                "ws://h:1/ws?x=1&since=5",
            ),
            ("ws://h:1/ws?since=3", None, "ws://h:1/ws"),
            (
                "ws://h:1/ws?sinceX=3",
                Some(-1),
                "ws://h:1/ws?sinceX=3&since=-1",
            ),
        ];
        for (url, since, want) in cases {
            assert_eq!(with_since(url, since), want, "{url} {since:?}");
        }
    }

    #[test]
    fn normalises_the_accepted_forms() {
        let cases = [
            ("ws://h:8080", "ws://h:8080/ws"),
            ("ws://h:8080/", "ws://h:8080/ws"),
            ("ws://h:8080/ws", "ws://h:8080/ws"),
            ("wss://example.com", "wss://example.com/ws"),
            (
                "wss://example.com/custom/path",
                "wss://example.com/custom/path",
            ),
            ("h:8080", "ws://h:8080/ws"),
            ("  h:8080  ", "ws://h:8080/ws"),
            ("localhost", "ws://localhost/ws"),
            ("http://h:8080", "ws://h:8080/ws"),
            ("https://h:8443/", "wss://h:8443/ws"),
            ("HTTP://Host.Example:80", "ws://host.example:80/ws"),
            ("127.0.0.1:9101", "ws://127.0.0.1:9101/ws"),
            ("ws://[::1]:9101", "ws://[::1]:9101/ws"),
            ("[::1]:9101", "ws://[::1]:9101/ws"),
            ("ws://h:1/ws?x=abc#frag", "ws://h:1/ws?x=abc"),
            ("h:8080?x=1", "ws://h:8080/ws?x=1"),
            ("my_service:9100", "ws://my_service:9100/ws"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn refuses_garbage_with_the_right_reason() {
        type Expected = fn(String) -> UrlError;
        let cases: [(&str, Expected); 12] = [
            ("ftp://h:21", UrlError::Scheme),
            ("javascript://alert(1)", UrlError::Scheme),
            ("not a url", UrlError::Whitespace),
            ("ws://", UrlError::Host),
            ("://h", UrlError::Scheme),
            ("ws://:8080", UrlError::Host),
            ("ws://user@h:8080", UrlError::Host),
            ("h:0", UrlError::Port),
            ("h:65536", UrlError::Port),
            ("h:80a", UrlError::Port),
            ("%%%garbage%%%", UrlError::Host),
            ("ws://-bad-.host", UrlError::Host),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize(input),
                Err(expected(input.trim().to_owned())),
                "input {input:?}"
            );
        }
        assert_eq!(normalize("   "), Err(UrlError::Empty));
    }

    #[test]
    fn tokens_leave_the_address() {
        // (input, address kept, token for the store)
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "ws://host:8080/ws?token=abc",
                "ws://host:8080/ws",
                Some("abc"),
            ),
            ("host:8080?token=abc", "ws://host:8080/ws", Some("abc")),
            (
                "wss://h/ws?a=1&token=s3-c.r_e~t&b=2",
                "wss://h/ws?a=1&b=2",
                Some("s3-c.r_e~t"),
            ),
            ("ws://h:1/ws?token=", "ws://h:1/ws", None),
            ("ws://h:1/ws?token", "ws://h:1/ws", None),
            ("ws://h:1/ws?token=a&token=b", "ws://h:1/ws", Some("a")),
            ("ws://h:1/ws?%74oken=abc", "ws://h:1/ws", Some("abc")),
            ("ws://h:1/ws?token=ab%2Dc", "ws://h:1/ws", Some("ab-c")),
            ("ws://h:1/ws?tokens=abc", "ws://h:1/ws?tokens=abc", None),
            ("ws://h:1/ws?token=abc#frag", "ws://h:1/ws", Some("abc")),
            ("ws://h:1/ws?", "ws://h:1/ws", None),
        ];
        for (input, url, token) in cases {
            let got = normalize_with_token(input);
            assert_eq!(
                got,
                Ok((url.to_string(), token.map(str::to_owned))),
                "input {input:?}"
            );
            assert_eq!(normalize(input).as_deref(), Ok(*url), "input {input:?}");
        }
        // A token that cannot travel as a subprotocol is refused without being quoted.
        let refused = normalize_with_token("ws://h:1/ws?token=has%20space");
        assert!(matches!(refused, Err(UrlError::Token(_))), "{refused:?}");
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("has space"), "{message}");
    }

    #[test]
    fn percent_decoding_table() {
        let cases = [
            ("", ""),
            ("a+b", "a b"),
            ("%41%42", "AB"),
            ("%zz", "%zz"),
            ("50%", "50%"),
            ("%4", "%4"),
            ("ws%3A%2F%2Fa%3A1", "ws://a:1"),
        ];
        for (text, expected) in cases {
            assert_eq!(percent_decode(text), expected, "{text:?}");
        }
    }

    #[test]
    fn errors_quote_the_input() {
        let message = normalize("ftp://x").err().map(|e| e.to_string());
        assert!(message.is_some_and(|m| m.contains("ftp://x")));
    }

    #[test]
    fn same_origin_follows_the_page_scheme() {
        let cases = [
            ("http:", "h:9100", "/ws", "ws://h:9100/ws"),
            ("https:", "h", "/ws", "wss://h/ws"),
            (
                "http:",
                "127.0.0.1:9101",
                "stream",
                "ws://127.0.0.1:9101/stream",
            ),
        ];
        for (proto, host, path, expected) in cases {
            assert_eq!(same_origin_ws(proto, host, path), expected);
        }
    }

    #[test]
    fn history_is_asked_for_after_the_newest_sample_within_what_is_kept() {
        let now = 1_000_000_000.0;
        let kept = 300_000;
        let cases = [
            (None, 1_000_000_000 - kept),
            (Some(999_990_000), 999_990_000),
            // A gap longer than what is kept: only what is kept.
            (Some(1), 1_000_000_000 - kept),
        ];
        for (newest, want) in cases {
            assert_eq!(since(newest, now), want, "newest {newest:?}");
        }
    }
}
