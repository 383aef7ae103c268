//! The page's query string: `?agents=ws://a:8080,ws://b:8080` opens exactly those agents and
//! `?debug=true` opens the debug panel.
//!
//! A link is something anyone can send, so what it can make the page do is bounded: at most
//! [`MAX_LINK_AGENTS`] agents (the rest are counted and reported), at most
//! [`MAX_REJECTED_SHOWN`] reasons quoted for entries that are not addresses. A `token=` inside
//! an entry is taken out of the address (see [`crate::url::normalize_with_token`]).

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::url::{normalize_with_token, percent_decode, UrlError};

/// Most agents one `?agents=` link opens; the page says how many more it lists.
pub const MAX_LINK_AGENTS: usize = 20;
/// Most rejected entries quoted in the banner; the rest are counted.
pub const MAX_REJECTED_SHOWN: usize = 5;

/// What the query string asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageQuery {
    /// `Some` when `agents=` is present (even if empty): the session shows exactly these and
    /// leaves the saved list alone. At most [`MAX_LINK_AGENTS`], token-free.
    pub agents: Option<Vec<String>>,
    /// Distinct addresses the link lists beyond [`MAX_LINK_AGENTS`], not opened.
    pub dropped: usize,
    /// Tokens found inside the link's addresses (`…/ws?token=…`), by address.
    pub tokens: BTreeMap<String, String>,
    /// Entries of `agents=` that are not addresses, with why (the first
    /// [`MAX_REJECTED_SHOWN`]); shown as a banner.
    pub rejected: Vec<UrlError>,
    /// Rejected entries beyond those in `rejected`.
    pub rejected_more: usize,
    /// `debug=true` (or `1`).
    pub debug: bool,
    /// `perf=true`: record each flush as a `dockscope-flush` User Timing measure (benchmark).
    pub perf: bool,
}

/// Parses `location.search` (with or without the leading `?`).
pub fn parse(search: &str) -> PageQuery {
    let mut query = PageQuery::default();
    for pair in search.trim_start_matches('?').split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(key).as_str() {
            "agents" => {
                let list = query.agents.get_or_insert_with(Vec::new);
                let mut beyond: Vec<String> = Vec::new();
                for entry in percent_decode(value).split(',') {
                    if entry.trim().is_empty() {
                        continue;
                    }
                    match normalize_with_token(entry) {
                        Ok((url, _)) if list.contains(&url) || beyond.contains(&url) => {}
                        Ok((url, token)) if list.len() < MAX_LINK_AGENTS => {
                            if let Some(token) = token {
                                query.tokens.insert(url.clone(), token);
                            }
                            list.push(url);
                        }
                        // Kept only to count distinct addresses; bounded by the link's length.
                        Ok((url, _)) => beyond.push(url),
                        Err(_) if query.rejected.len() >= MAX_REJECTED_SHOWN => {
                            query.rejected_more += 1;
                        }
                        Err(err) => query.rejected.push(err),
                    }
                }
                query.dropped += beyond.len();
            }
            "debug" => query.debug = is_on(value),
            "perf" => query.perf = is_on(value),
            _ => {}
        }
    }
    query
}

fn is_on(value: &str) -> bool {
    matches!(percent_decode(value).as_str(), "true" | "1" | "")
}

/// The query string with `agents=` removed (used after "keep these agents").
pub fn without_agents(search: &str) -> String {
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("agents"))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

/// The query string with `agents=` listing exactly `agents` (after tokens were taken out of a
/// link's addresses, the address bar shows it without them), other parameters kept in order.
pub fn with_agents(search: &str, agents: &[String]) -> String {
    let list: Vec<String> = agents.iter().map(|a| percent_encode(a)).collect();
    let mut pairs = vec![format!("agents={}", list.join(","))];
    pairs.extend(
        search
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("agents"))
            .map(str::to_owned),
    );
    format!("?{}", pairs.join("&"))
}

/// What [`percent_encode`] escapes: everything but letters, digits and the URL punctuation
/// that cannot end or split a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'/')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b';')
    .remove(b'=')
    .remove(b'?');

/// Escapes what would end or split a query value (`&`, `#`, `,`, `%`, `+`, spaces, non-ASCII);
/// URL punctuation such as `:` and `/` stays readable.
fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agents_and_debug() {
        let q = parse("?agents=ws://a:8080,ws://b:8080&debug=true");
        assert_eq!(
            q.agents,
            Some(vec![
                "ws://a:8080/ws".to_owned(),
                "ws://b:8080/ws".to_owned()
            ])
        );
        assert!(q.debug);
        assert!(!q.perf);
        assert!(q.rejected.is_empty());
        assert!(parse("?perf=true").perf);
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&[&str]>, usize, bool)] = &[
            ("", None, 0, false),
            ("?", None, 0, false),
            ("?debug=false", None, 0, false),
            ("?debug=1", None, 0, true),
            ("?agents=", Some(&[]), 0, false),
            ("?agents=ws%3A%2F%2Fa%3A1", Some(&["ws://a:1/ws"]), 0, false),
            (
                "agents=a:1,,a:1,bad%20host",
                Some(&["ws://a:1/ws"]),
                1,
                false,
            ),
            (
                "?agents=a:1&agents=b:2",
                Some(&["ws://a:1/ws", "ws://b:2/ws"]),
                0,
                false,
            ),
            ("?x=%zz&agents=h:1%", Some(&[]), 1, false),
        ];
        for (search, agents, rejected, debug) in cases {
            let q = parse(search);
            let expected = agents.map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(q.agents, expected, "search {search:?}");
            assert_eq!(q.rejected.len(), *rejected, "search {search:?}");
            assert_eq!(q.debug, *debug, "search {search:?}");
        }
    }

    #[test]
    fn links_are_capped_and_counted() {
        let many: Vec<String> = (1..=MAX_LINK_AGENTS + 7)
            .map(|i| format!("h{i}:9100"))
            .collect();
        // Duplicates beyond the cap are not counted twice.
        let search = format!("?agents={},h30:9100,h30:9100", many.join(","));
        let q = parse(&search);
        assert_eq!(q.agents.as_ref().map(Vec::len), Some(MAX_LINK_AGENTS));
        assert_eq!(q.dropped, 7 + 1);
        assert_eq!(
            q.agents
                .as_ref()
                .and_then(|a| a.first())
                .map(String::as_str),
            Some("ws://h1:9100/ws")
        );

        let garbage: Vec<String> = (0..40).map(|i| format!("bad{i}%20host")).collect();
        let q = parse(&format!("?agents={}", garbage.join(",")));
        assert_eq!(q.rejected.len(), MAX_REJECTED_SHOWN);
        assert_eq!(q.rejected_more, 40 - MAX_REJECTED_SHOWN);
        assert_eq!(q.agents, Some(vec![]));
    }

    #[test]
    fn link_tokens_leave_the_addresses() {
        let q = parse("?agents=ws://a:1/ws%3Ftoken%3Ds3cret,b:2&debug=1");
        let agents = q.agents.clone().unwrap_or_default();
        assert_eq!(agents, ["ws://a:1/ws", "ws://b:2/ws"]);
        assert_eq!(
            q.tokens.get("ws://a:1/ws").map(String::as_str),
            Some("s3cret")
        );
        let rewritten = with_agents("?agents=whatever&debug=1", &agents);
        assert_eq!(rewritten, "?agents=ws://a:1/ws,ws://b:2/ws&debug=1");
        assert!(!rewritten.contains("s3cret"));
        // The rewritten query opens the same agents.
        assert_eq!(parse(&rewritten).agents, Some(agents));
        assert_eq!(
            with_agents("", &["ws://h:1/ws?x=a&b,c".to_owned()]),
            "?agents=ws://h:1/ws?x=a%26b%2Cc"
        );
    }

    #[test]
    fn encoding_escapes_what_splits_a_value_and_keeps_url_punctuation() {
        assert_eq!(
            percent_encode("a b&c#d,e%f+g/é"),
            "a%20b%26c%23d%2Ce%25f%2Bg/%C3%A9"
        );
        let kept = "AZaz09-._~:/[]@!$'()*;=?";
        assert_eq!(percent_encode(kept), kept);
        for text in ["ws://h:1/ws?x=a&b,c", "a b+c%2B", "é,ü"] {
            assert_eq!(percent_decode(&percent_encode(text)), text);
        }
    }

    #[test]
    fn removes_only_agents() {
        assert_eq!(without_agents("?agents=a:1&debug=true"), "?debug=true");
        assert_eq!(without_agents("?agents=a:1"), "");
        assert_eq!(without_agents(""), "");
    }
}
