//! Who may open the stream: an optional shared token and an optional list of browser origins.
//! Pure decisions over request headers, so every rule is a row in a table test.
//!
//! Browsers cannot set headers on a WebSocket, so the token travels either as a subprotocol
//! (`new WebSocket(url, ["dockscope", "dockscope-token.<token>"])`, the agent answers with
//! `dockscope`, never echoing the token) or as a `?token=` query parameter (visible in logs of
//! proxies; prefer the subprotocol).

use axum::http::{header, HeaderMap, HeaderValue};

pub use dockscope_protocol::{SUBPROTOCOL as PROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};

/// Access rules from the command line.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Shared secret clients must present; `None` lets everyone in.
    token: Option<String>,
    /// Allowed `Origin` values for browser clients; empty allows any.
    allowed_origins: Vec<String>,
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
    pub fn new(token: Option<String>, allowed_origins: Vec<String>) -> Result<Self, String> {
        let token = token.map(|t| t.trim().to_owned());
        if let Some(t) = &token {
            dockscope_protocol::check_token(t)?;
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
        // Check every offered token so timing does not reveal which position matched.
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

    /// Origins on the list pass, and so does the page's own origin (the embedded dashboard).
    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
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

/// Compares without stopping at the first difference (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    fn bad_tokens_are_refused_at_start_with_a_hint() {
        for bad in ["", "  ", "has space", "semi;colon", "ümlaut"] {
            let err = Access::new(Some(bad.into()), vec![]).expect_err(bad);
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
