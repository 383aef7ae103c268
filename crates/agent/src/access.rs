//! Who may open the stream or scrape `/metrics`: an optional shared token and an optional list of
//! browser origins.
//! Pure decisions over request headers, so every rule is a row in a table test: WebSocket
//! upgrades ([`Access::check`]) and scrapes of `/metrics` ([`Access::check_bearer`]).
//!
//! Browsers cannot set headers on a WebSocket, so the token travels either as a subprotocol
//! (`new WebSocket(url, ["dockscope", "dockscope-token.<token>"])`, the agent answers with
//! `dockscope`, never echoing the token) or as a `?token=` query parameter (visible in logs of
//! proxies; prefer the subprotocol).
//!
//! WebSockets are not bound by CORS: without `--allowed-origins`, any page open in a browser
//! that can reach the agent may read the stream. With it, a browser page passes only when its
//! `Origin` is listed, or when it is the agent's own page opened by an IP literal or
//! `localhost` (see [`same_origin_unforgeable`] for why a host name is not enough).

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;

pub use dockscope_protocol::{SUBPROTOCOL as PROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};

/// Access rules from the command line.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Shared secret clients must present; `None` lets everyone in.
    token: Option<String>,
    /// Allowed `Origin` values for browser clients; empty allows any.
    allowed_origins: Vec<String>,
}

/// Why the access rules cannot work; the agent does not start. Permanent: only another flag
/// or file fixes it.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// `--token-file` cannot be read.
    #[error("cannot read --token-file {}: {source}", .path.display())]
    TokenFile {
        /// The file given.
        path: std::path::PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The token cannot travel as a WebSocket subprotocol; the text says which character and
    /// how to make a good one.
    #[error("{0}")]
    Token(String),
}

/// Why an upgrade was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token, or the wrong one: 401.
    Token,
    /// A browser page from an origin not on the list: 403.
    Origin,
}

impl Access {
    /// Builds the rules, checking the token can travel as a subprotocol.
    ///
    /// # Errors
    /// When the token is empty or has characters a WebSocket subprotocol cannot carry.
    pub fn new(token: Option<String>, allowed_origins: Vec<String>) -> Result<Self, AccessError> {
        let token = token.map(|t| t.trim().to_owned());
        if let Some(t) = &token {
            dockscope_protocol::check_token(t).map_err(AccessError::Token)?;
        }
        let allowed_origins = allowed_origins
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        Ok(Self {
            token,
            allowed_origins,
        })
    }

    /// Whether a token is required.
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// Decides on an upgrade request. `query_token` is the `?token=` value, if any.
    ///
    /// # Errors
    /// [`Denied`] with the reason; the caller maps it to 401 or 403.
    pub fn check(&self, headers: &HeaderMap, query_token: Option<&str>) -> Result<(), Denied> {
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            if !self.origin_allowed(origin, headers) {
                return Err(Denied::Origin);
            }
        }
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let offered = offered_protocols(headers)
            .filter_map(|p| p.strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
            .chain(query_token);
        one_matches(offered, expected)
    }

    /// Decides on a plain HTTP request that needs the token (`/metrics`): the token as
    /// `Authorization: Bearer <token>` (what Prometheus sends with `authorization` or
    /// `bearer_token_file`) or as `?token=`. No origin rule: a scraper is not a browser, and
    /// a page on another origin that makes a browser send this GET cannot read the answer
    /// (no CORS headers are ever sent).
    ///
    /// # Errors
    /// [`Denied::Token`] when a token is required and none offered matches.
    pub fn check_bearer(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<(), Denied> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let offered = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(bearer_token)
            .chain(query_token);
        one_matches(offered, expected)
    }

    /// Whether an origin list is set (`--allowed-origins`).
    pub fn origins_restricted(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// Origins on the list pass, and so does the agent's own page (`--serve-ui`) when it was
    /// opened by an address that cannot be rebound: see [`same_origin_unforgeable`].
    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        matches!(host, Some(host) if same_origin_unforgeable(&origin, host))
    }
}

/// Whether one of the `offered` tokens is `expected`. Every offered token is compared, in
/// constant time, so timing reveals neither the token nor which position matched.
fn one_matches<'a>(offered: impl Iterator<Item = &'a str>, expected: &str) -> Result<(), Denied> {
    let mut ok = false;
    for candidate in offered {
        ok |= constant_time_eq(candidate.as_bytes(), expected.as_bytes());
    }
    if ok {
        Ok(())
    } else {
        Err(Denied::Token)
    }
}

/// The embedded dashboard's exception: the page's `Origin` names the very `Host` it asks, and
/// that host is an IP literal or `localhost`.
///
/// Matching `Origin` against `Host` alone is not enough: a DNS-rebinding page on
/// `http://evil.test:8080` whose name the attacker re-points at the agent sends
/// `Host: evil.test:8080` and `Origin: http://evil.test:8080`, which match. A browser sends an
/// IP literal (or `localhost`, which browsers resolve to loopback themselves) only when the page
/// was loaded from that address — no DNS answer is involved, so nobody can re-point it. An
/// embedded dashboard opened by a host name (`https://agent.example.com:8080/`) must put that
/// origin on `--allowed-origins`.
pub fn same_origin_unforgeable(origin: &str, host: &str) -> bool {
    let Some((_, origin_authority)) = origin.split_once("://") else {
        return false;
    };
    if !origin_authority.eq_ignore_ascii_case(host) {
        return false;
    }
    let name = match host.strip_prefix('[') {
        // [v6]:port or [v6]
        Some(rest) => match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || port.starts_with(':') => {
                return v6.parse::<std::net::Ipv6Addr>().is_ok();
            }
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether a peer is on this machine: `127.0.0.0/8`, `::1`, or either IPv4 loopback written as
/// an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a socket bound to `[::]` reports for
/// an IPv4 client).
pub fn is_loopback_peer(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The subprotocol to answer with: `dockscope` if offered, else none. Never the token.
pub fn selected_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    offered_protocols(headers)
        .any(|p| p == PROTOCOL)
        .then_some(HeaderValue::from_static(PROTOCOL))
}

fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// The credentials of an `Authorization: Bearer <token>` value (the scheme is
/// case-insensitive, RFC 9110 §11.1); `None` for any other scheme.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Compares without stopping at the first difference (`subtle`; the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        map
    }

    #[test]
    fn token_and_origin_table() {
        let open = Access::new(None, vec![]).expect("valid");
        let token = Access::new(Some("s3cret".into()), vec![]).expect("valid");
        let origins = Access::new(None, vec!["https://ops.example.com/".into()]).expect("valid");
        let proto = "sec-websocket-protocol";
        type Case<'a> = (
            &'a Access,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            Result<(), Denied>,
        );
        let cases: &[Case] = &[
            (&open, &[], None, Ok(())),
            (&open, &[("origin", "http://evil.test")], None, Ok(())),
            (&token, &[], None, Err(Denied::Token)),
            (&token, &[], Some("s3cret"), Ok(())),
            (&token, &[], Some("s3cre"), Err(Denied::Token)),
            (&token, &[], Some("s3cret!"), Err(Denied::Token)),
            (
                &token,
                &[(proto, "dockscope, dockscope-token.s3cret")],
                None,
                Ok(()),
            ),
            (
                &token,
                &[(proto, "dockscope"), (proto, "dockscope-token.s3cret")],
                None,
                Ok(()),
            ),
            (
                &token,
                &[(proto, "dockscope, dockscope-token.wrong")],
                None,
                Err(Denied::Token),
            ),
            (&token, &[(proto, "s3cret")], None, Err(Denied::Token)),
            (&origins, &[], None, Ok(())), // not a browser
            (
                &origins,
                &[("origin", "https://ops.example.com")],
                None,
                Ok(()),
            ),
            (
                &origins,
                &[("origin", "HTTPS://OPS.example.com")],
                None,
                Ok(()),
            ),
            (
                &origins,
                &[("origin", "https://evil.test")],
                None,
                Err(Denied::Origin),
            ),
            (
                &origins,
                &[("origin", "http://ops.example.com")],
                None,
                Err(Denied::Origin),
            ),
            // the agent's own page (--serve-ui) is same-origin
            (
                &origins,
                &[
                    ("origin", "http://10.0.0.7:8080"),
                    ("host", "10.0.0.7:8080"),
                ],
                None,
                Ok(()),
            ),
            (
                &origins,
                &[
                    ("origin", "http://10.0.0.7:9999"),
                    ("host", "10.0.0.7:8080"),
                ],
                None,
                Err(Denied::Origin),
            ),
            // DNS rebinding: the attacker controls both names; only a listed origin helps
            (
                &origins,
                &[
                    ("origin", "http://evil.test:8080"),
                    ("host", "evil.test:8080"),
                ],
                None,
                Err(Denied::Origin),
            ),
            (
                &origins,
                &[
                    ("origin", "https://ops.example.com"),
                    ("host", "evil.test:8080"),
                ],
                None,
                Ok(()),
            ),
            // a sandboxed frame or file:// page
            (
                &origins,
                &[("origin", "null"), ("host", "10.0.0.7:8080")],
                None,
                Err(Denied::Origin),
            ),
        ];
        for (i, (access, hdrs, query, want)) in cases.iter().enumerate() {
            assert_eq!(
                access.check(&headers(hdrs), *query),
                *want,
                "case {i}: {hdrs:?} {query:?}"
            );
        }
    }

    #[test]
    fn scrapes_pass_with_a_bearer_token_or_query_and_ignore_origins() {
        let open = Access::new(None, vec![]).expect("valid");
        let token = Access::new(Some("s3cret".into()), vec![]).expect("valid");
        let both = Access::new(
            Some("s3cret".into()),
            vec!["https://ops.example.com".into()],
        )
        .expect("valid");
        let auth = "authorization";
        type Case<'a> = (
            &'a Access,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            Result<(), Denied>,
        );
        let cases: &[Case] = &[
            (&open, &[], None, Ok(())),
            (&open, &[(auth, "Bearer whatever")], None, Ok(())),
            (&token, &[], None, Err(Denied::Token)),
            (&token, &[(auth, "Bearer s3cret")], None, Ok(())),
            (&token, &[(auth, "bearer s3cret")], None, Ok(())),
            (&token, &[(auth, "BEARER  s3cret ")], None, Ok(())),
            (&token, &[(auth, "Bearer s3cre")], None, Err(Denied::Token)),
            (
                &token,
                &[(auth, "Bearer s3cret!")],
                None,
                Err(Denied::Token),
            ),
            (&token, &[(auth, "Bearer ")], None, Err(Denied::Token)),
            (&token, &[(auth, "s3cret")], None, Err(Denied::Token)),
            // Basic credentials are not a token, whatever they decode to
            (
                &token,
                &[(auth, "Basic czNjcmV0")],
                None,
                Err(Denied::Token),
            ),
            (&token, &[(auth, "Basic s3cret")], None, Err(Denied::Token)),
            (&token, &[], Some("s3cret"), Ok(())),
            (&token, &[(auth, "Bearer wrong")], Some("s3cret"), Ok(())),
            // the WebSocket subprotocol is no way to authenticate a GET
            (
                &token,
                &[("sec-websocket-protocol", "dockscope-token.s3cret")],
                None,
                Err(Denied::Token),
            ),
            // origins do not apply to a scrape: only the token decides
            (
                &both,
                &[(auth, "Bearer s3cret"), ("origin", "https://evil.test")],
                None,
                Ok(()),
            ),
            (
                &both,
                &[("origin", "https://ops.example.com")],
                None,
                Err(Denied::Token),
            ),
        ];
        for (i, (access, hdrs, query, want)) in cases.iter().enumerate() {
            assert_eq!(
                access.check_bearer(&headers(hdrs), *query),
                *want,
                "case {i}: {hdrs:?} {query:?}"
            );
        }
    }

    #[test]
    fn same_origin_counts_only_for_addresses_nobody_can_rebind() {
        let cases: &[(&str, &str, bool)] = &[
            ("http://10.0.0.7:8080", "10.0.0.7:8080", true),
            ("https://10.0.0.7", "10.0.0.7", true),
            ("http://127.0.0.1:8080", "127.0.0.1:8080", true),
            ("http://localhost:8080", "localhost:8080", true),
            ("http://localhost:8080", "LOCALHOST:8080", true),
            ("http://[::1]:8080", "[::1]:8080", true),
            ("http://[fd00::7]", "[fd00::7]", true),
            // names can be re-pointed by whoever runs their DNS
            ("http://evil.test:8080", "evil.test:8080", false),
            (
                "http://agent.example.com:8080",
                "agent.example.com:8080",
                false,
            ),
            (
                "http://localhost.evil.test:8080",
                "localhost.evil.test:8080",
                false,
            ),
            ("http://10.0.0.7.evil.test", "10.0.0.7.evil.test", false),
            // not the same origin
            ("http://10.0.0.7:8080", "10.0.0.8:8080", false),
            ("http://10.0.0.7:8080", "10.0.0.7:8081", false),
            ("http://10.0.0.7", "10.0.0.7:8080", false),
            // malformed
            ("null", "10.0.0.7:8080", false),
            ("10.0.0.7:8080", "10.0.0.7:8080", false),
            ("http://[::1:8080", "[::1:8080", false),
            ("http://[::1]x", "[::1]x", false),
            ("http://[evil.test]:80", "[evil.test]:80", false),
        ];
        for (origin, host, want) in cases {
            assert_eq!(
                same_origin_unforgeable(origin, host),
                *want,
                "Origin {origin} Host {host}"
            );
        }
    }

    #[test]
    fn loopback_peers_include_ipv4_mapped_loopback() {
        let cases: &[(&str, bool)] = &[
            ("127.0.0.1", true),
            ("127.8.9.10", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:127.0.0.2", true),
            ("::ffff:10.0.0.7", false),
            ("10.0.0.7", false),
            ("0.0.0.0", false),
            ("::", false),
            ("fe80::1", false),
            // IPv4-compatible (deprecated) is not mapped: not loopback
            ("::127.0.0.1", false),
        ];
        for (ip, want) in cases {
            assert_eq!(is_loopback_peer(ip.parse().expect("ip")), *want, "{ip}");
        }
    }

    #[test]
    fn bad_tokens_are_refused_at_start_with_a_hint() {
        for bad in ["", "  ", "has space", "semi;colon", "ümlaut"] {
            let err = Access::new(Some(bad.into()), vec![]).expect_err(bad);
            let err = err.to_string();
            assert!(err.contains("openssl rand -hex 32"), "{err}");
        }
        assert!(Access::new(Some("a-Z_0.9~".into()), vec![]).is_ok());
    }

    #[test]
    fn selected_protocol_never_echoes_the_token() {
        let h = headers(&[(
            "sec-websocket-protocol",
            "dockscope-token.s3cret, dockscope",
        )]);
        assert_eq!(
            selected_protocol(&h),
            Some(HeaderValue::from_static("dockscope"))
        );
        let h = headers(&[("sec-websocket-protocol", "dockscope-token.s3cret")]);
        assert_eq!(selected_protocol(&h), None);
    }
}
