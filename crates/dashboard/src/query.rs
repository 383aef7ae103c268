//! The page's query string: `?agents=ws://a:8080,ws://b:8080` opens exactly those agents and
//! `?debug=true` opens the debug panel.

use crate::url::{normalize, UrlError};

/// What the query string asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageQuery {
    /// `Some` when `agents=` is present (even if empty): the session shows exactly these and
    /// leaves the saved list alone.
    pub agents: Option<Vec<String>>,
    /// Entries of `agents=` that are not addresses, with why; shown as a banner.
    pub rejected: Vec<UrlError>,
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
                for entry in percent_decode(value).split(',') {
                    if entry.trim().is_empty() {
                        continue;
                    }
                    match normalize(entry) {
                        Ok(url) if !list.contains(&url) => list.push(url),
                        Ok(_) => {}
                        Err(err) => query.rejected.push(err),
                    }
                }
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

/// Decodes `%XX` escapes and `+`; malformed escapes are kept literally.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn removes_only_agents() {
        assert_eq!(without_agents("?agents=a:1&debug=true"), "?debug=true");
        assert_eq!(without_agents("?agents=a:1"), "");
        assert_eq!(without_agents(""), "");
    }
}
