//! What the dashboard keeps in `localStorage` and in exported files, as pure parse/serialise
//! functions; `browser.rs` does the actual reads and writes.
//!
//! The agent list is stored as `{"version":1,"agents":["ws://h:9100/ws", …],"tokens":{url: token}}`.
//! `tokens` (agents started with `--token`) was added later and is optional, so an older
//! dashboard still reads the list. Exports leave tokens out: a file travels further than the
//! browser's storage. An import also accepts a bare JSON array of addresses. Every entry goes
//! through [`crate::url::normalize_with_token`], so a hand-edited file cannot smuggle in an
//! unusable address, and a `?token=` inside an address moves into `tokens` (an explicit
//! `tokens` entry for the same agent wins): addresses are stored, exported and linked without
//! tokens.
//!
//! The table's view settings (which columns show, the CPU scale, grouping by compose project)
//! travel in the same record as `"view":{"columns":[…],"cpu_scale":"host","grouped":true}`,
//! added later still and read leniently: a missing, old or corrupt `view` (or any part of it)
//! is the default view, never an error, and never costs the user their agent list.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metrics::Columns;
use crate::rows::CpuScale;
use crate::url::{normalize, normalize_with_token, UrlError};

/// `localStorage` key of the saved agent list.
pub const AGENTS_KEY: &str = "dockscope.agents";
/// `localStorage` key of the colour theme.
pub const THEME_KEY: &str = "dockscope.theme";
/// Format version written by this build.
pub const FORMAT_VERSION: u32 = 1;
/// File name offered by "export".
pub const EXPORT_FILE_NAME: &str = "dockscope-agents.json";

#[derive(Debug, Serialize, Deserialize)]
struct SavedAgents {
    version: u32,
    agents: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tokens: BTreeMap<String, String>,
    /// Kept as JSON and read by [`ViewPrefs::from_json`], so a bad value cannot fail the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    view: Option<serde_json::Value>,
}

/// A saved or imported agent list: normalised addresses in order, tokens by address, and the
/// view settings saved with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentList {
    pub agents: Vec<String>,
    pub tokens: BTreeMap<String, String>,
    pub view: ViewPrefs,
}

/// How the tables are shown, saved with the agent list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewPrefs {
    pub columns: Columns,
    pub cpu_scale: CpuScale,
    /// Rows grouped by compose project rather than one sorted list.
    pub grouped: bool,
    /// The fleet view (a tile per host, one table across hosts) instead of the cards.
    pub fleet: bool,
}

impl ViewPrefs {
    /// Reads a stored `view`: each part that is missing or not understood is the default.
    pub fn from_json(value: Option<&serde_json::Value>) -> ViewPrefs {
        let default = ViewPrefs::default();
        let Some(object) = value.and_then(serde_json::Value::as_object) else {
            return default;
        };
        let columns = object
            .get("columns")
            .and_then(serde_json::Value::as_array)
            .map_or(default.columns, |keys| {
                Columns::from_keys(keys.iter().filter_map(serde_json::Value::as_str))
            });
        let cpu_scale = object
            .get("cpu_scale")
            .and_then(serde_json::Value::as_str)
            .and_then(CpuScale::parse)
            .unwrap_or(default.cpu_scale);
        let grouped = object
            .get("grouped")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(default.grouped);
        let fleet = object
            .get("fleet")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(default.fleet);
        ViewPrefs {
            columns,
            cpu_scale,
            grouped,
            fleet,
        }
    }

    /// The stored form.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "columns": self.columns.keys(),
            "cpu_scale": self.cpu_scale.as_str(),
            "grouped": self.grouped,
            "fleet": self.fleet,
        })
    }
}

/// The stored text with its view settings replaced by `view`, the rest (agents, tokens, fields
/// of a newer dashboard) left as it is: how the view is saved while the page shows a
/// `?agents=` link, whose agents must not replace the saved list. Nothing stored yet: a record
/// with no agents. Stored text that is not a JSON object (corrupt): `None`, it is left alone
/// for the user to see in the warning rather than overwritten.
pub fn with_view(stored: Option<&str>, view: ViewPrefs) -> Option<String> {
    let mut record = match stored {
        None => serde_json::json!({"version": FORMAT_VERSION, "agents": []}),
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(serde_json::Value::is_object)?,
    };
    record["view"] = view.to_json();
    serde_json::to_string_pretty(&record).ok()
}

/// Accepted shapes of an imported file.
#[derive(Deserialize)]
#[serde(untagged)]
enum ImportShape {
    Saved(SavedAgents),
    List(Vec<String>),
}

/// Why a saved or imported agent list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The text is not JSON of the expected shape.
    Format(String),
    /// Written by a newer dashboard with a format this build does not know.
    Version(u32),
    /// An entry is not a usable agent address.
    Entry(UrlError),
    /// A stored token could not be sent to the agent.
    Token(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Format(detail) => write!(
                f,
                "not a Dockscope agent list (expected {{\"version\":1,\"agents\":[…]}}): {detail}"
            ),
            StoreError::Version(v) => write!(
                f,
                "agent list format version {v} is newer than this dashboard understands ({FORMAT_VERSION})"
            ),
            StoreError::Entry(err) => write!(f, "agent list has a bad entry: {err}"),
            StoreError::Token(err) => write!(f, "agent list has a bad token: {err}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Reads the saved agent list; a missing key is an empty list.
///
/// # Errors
/// [`StoreError`] when the stored text is corrupt; the caller shows a warning and starts empty.
pub fn parse_saved(text: Option<&str>) -> Result<AgentList, StoreError> {
    let Some(text) = text else {
        return Ok(AgentList::default());
    };
    let saved: SavedAgents =
        serde_json::from_str(text).map_err(|e| StoreError::Format(e.to_string()))?;
    from_saved(saved)
}

/// Reads an imported file: the saved format or a bare array of addresses.
///
/// # Errors
/// [`StoreError`] naming the first problem; nothing should be imported then.
pub fn parse_import(text: &str) -> Result<AgentList, StoreError> {
    match serde_json::from_str::<ImportShape>(text) {
        Ok(ImportShape::Saved(saved)) => from_saved(saved),
        Ok(ImportShape::List(list)) => {
            let (agents, tokens) = normalize_all(list)?;
            Ok(AgentList {
                agents,
                tokens,
                view: ViewPrefs::default(),
            })
        }
        Err(e) => Err(StoreError::Format(e.to_string())),
    }
}

/// The text stored in `localStorage`: addresses and their tokens.
pub fn serialize(list: &AgentList) -> String {
    let saved = SavedAgents {
        version: FORMAT_VERSION,
        agents: list.agents.clone(),
        tokens: list.tokens.clone(),
        view: Some(list.view.to_json()),
    };
    serde_json::to_string_pretty(&saved).unwrap_or_else(|_| String::from("{}"))
}

/// The text written by "export": the addresses only, never the tokens (nor this browser's
/// view settings).
pub fn serialize_export(agents: &[String]) -> String {
    let saved = SavedAgents {
        version: FORMAT_VERSION,
        agents: agents.to_vec(),
        tokens: BTreeMap::new(),
        view: None,
    };
    serde_json::to_string_pretty(&saved).unwrap_or_else(|_| String::from("{}"))
}

/// Checks a saved list and normalises it; tokens of agents not on the list are dropped.
fn from_saved(saved: SavedAgents) -> Result<AgentList, StoreError> {
    check_version(saved.version)?;
    let view = ViewPrefs::from_json(saved.view.as_ref());
    let (agents, mut tokens) = normalize_all(saved.agents)?;
    for (url, token) in saved.tokens {
        let url = normalize(&url).map_err(StoreError::Entry)?;
        dockscope_protocol::check_token(&token).map_err(StoreError::Token)?;
        if agents.contains(&url) {
            tokens.insert(url, token);
        }
    }
    Ok(AgentList {
        agents,
        tokens,
        view,
    })
}

fn check_version(version: u32) -> Result<(), StoreError> {
    if version > FORMAT_VERSION || version == 0 {
        Err(StoreError::Version(version))
    } else {
        Ok(())
    }
}

/// Normalises every entry and drops duplicates, keeping the first occurrence's position;
/// returns the tokens the entries carried (`…?token=`) by address.
fn normalize_all(
    entries: Vec<String>,
) -> Result<(Vec<String>, BTreeMap<String, String>), StoreError> {
    let mut out: Vec<String> = Vec::with_capacity(entries.len());
    let mut tokens = BTreeMap::new();
    for entry in entries {
        let (url, token) = normalize_with_token(&entry).map_err(StoreError::Entry)?;
        if let Some(token) = token {
            tokens.entry(url.clone()).or_insert(token);
        }
        if !out.contains(&url) {
            out.push(url);
        }
    }
    Ok((out, tokens))
}

/// The colour theme, dark unless the user picked light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

impl Theme {
    /// Reads the stored value; anything unknown is the default.
    pub fn parse(text: Option<&str>) -> Theme {
        match text {
            Some("light") => Theme::Light,
            _ => Theme::Dark,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    pub fn toggled(self) -> Theme {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Dark,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(agents: &[&str], tokens: &[(&str, &str)]) -> AgentList {
        AgentList {
            agents: agents.iter().map(|s| s.to_string()).collect(),
            tokens: tokens
                .iter()
                .map(|(u, t)| (u.to_string(), t.to_string()))
                .collect(),
            view: ViewPrefs::default(),
        }
    }

    #[test]
    fn view_settings_round_trip_with_the_list() {
        let view = ViewPrefs {
            columns: Columns::from_keys(["cpu", "block_read"]),
            cpu_scale: CpuScale::Limit,
            grouped: true,
            fleet: true,
        };
        let saved = AgentList {
            view,
            ..list(&["ws://a:1/ws"], &[("ws://a:1/ws", "t0k")])
        };
        assert_eq!(parse_saved(Some(&serialize(&saved))), Ok(saved));
        assert!(!serialize_export(&["ws://a:1/ws".to_owned()]).contains("view"));
    }

    #[test]
    fn old_or_corrupt_view_settings_load_as_the_default() {
        let default = ViewPrefs::default();
        let partly = ViewPrefs {
            cpu_scale: CpuScale::Host,
            ..default
        };
        // (the stored `view`, what it loads as); the agent list always loads.
        let cases: [(&str, ViewPrefs); 9] = [
            ("", default),
            (r#","view":null"#, default),
            (r#","view":"host""#, default),
            (r#","view":[1,2]"#, default),
            (
                r#","view":{"columns":"cpu","cpu_scale":7,"grouped":"yes","fleet":1}"#,
                default,
            ),
            (r#","view":{"cpu_scale":"host"}"#, partly),
            (r#","view":{"cpu_scale":"galaxy","columns":null}"#, default),
            (
                r#","view":{"columns":["cpu",3,"gone"],"grouped":true,"new":{}}"#,
                ViewPrefs {
                    columns: Columns::from_keys(["cpu"]),
                    grouped: true,
                    ..default
                },
            ),
            (
                r#","view":{"columns":[]}"#,
                ViewPrefs {
                    columns: Columns::from_keys([]),
                    ..default
                },
            ),
        ];
        for (view, want) in cases {
            let text = format!(r#"{{"version":1,"agents":["a:1"]{view}}}"#);
            let loaded = parse_saved(Some(&text));
            assert_eq!(
                loaded.map(|l| (l.agents, l.view)),
                Ok((vec!["ws://a:1/ws".to_owned()], want)),
                "{text}"
            );
        }
        // A corrupt list still fails as before, and its view is then the default.
        assert!(parse_saved(Some(
            r#"{"version":1,"agents":"x","view":{"grouped":true}}"#
        ))
        .is_err());
    }

    #[test]
    fn the_view_alone_is_saved_beside_a_list_it_leaves_alone() {
        let view = ViewPrefs {
            grouped: true,
            ..ViewPrefs::default()
        };
        let stored =
            r#"{"version":1,"agents":["ws://a:1/ws"],"tokens":{"ws://a:1/ws":"t"},"later":1}"#;
        let text = with_view(Some(stored), view).unwrap_or_default();
        let loaded = parse_saved(Some(&text));
        assert_eq!(
            loaded,
            Ok(AgentList {
                view,
                ..list(&["ws://a:1/ws"], &[("ws://a:1/ws", "t")])
            })
        );
        assert!(text.contains("later"), "{text}");
        let fresh = with_view(None, view).unwrap_or_default();
        assert_eq!(
            parse_saved(Some(&fresh)).map(|l| (l.agents.len(), l.view)),
            Ok((0, view))
        );
        assert_eq!(with_view(Some("{corrupt"), view), None);
        assert_eq!(with_view(Some("[1]"), view), None);
    }

    #[test]
    fn saved_list_round_trips_with_tokens() {
        let saved = list(&["ws://a:1/ws", "wss://b/ws"], &[("wss://b/ws", "s3cret")]);
        assert_eq!(parse_saved(Some(&serialize(&saved))), Ok(saved));
    }

    #[test]
    fn export_leaves_tokens_out() {
        let text = serialize_export(&["ws://a:1/ws".to_owned()]);
        assert!(!text.contains("tokens"), "{text}");
        assert_eq!(parse_import(&text), Ok(list(&["ws://a:1/ws"], &[])));
    }

    #[test]
    fn tokens_in_addresses_move_to_the_token_store() {
        // A hand-edited saved list, an imported array and an imported saved list.
        let saved = parse_saved(Some(
            r#"{"version":1,"agents":["ws://a:1/ws?token=abc","b:2"],"tokens":{"b:2":"t2"}}"#,
        ));
        assert_eq!(
            saved,
            Ok(list(
                &["ws://a:1/ws", "ws://b:2/ws"],
                &[("ws://a:1/ws", "abc"), ("ws://b:2/ws", "t2")]
            ))
        );
        let imported = parse_import(r#"["h:1?token=xyz&v=2"]"#);
        assert_eq!(
            imported,
            Ok(list(&["ws://h:1/ws?v=2"], &[("ws://h:1/ws?v=2", "xyz")]))
        );
        // An explicit token wins over one in the address.
        let both = parse_import(
            r#"{"version":1,"agents":["h:1?token=fromurl"],"tokens":{"h:1":"explicit"}}"#,
        );
        assert_eq!(
            both,
            Ok(list(&["ws://h:1/ws"], &[("ws://h:1/ws", "explicit")]))
        );
        // Whatever came in, the stored addresses and the export carry no token.
        for parsed in [saved, imported, both] {
            let parsed = parsed.unwrap_or_default();
            let export = serialize_export(&parsed.agents);
            for token in ["abc", "t2", "xyz", "fromurl", "explicit", "token"] {
                assert!(!export.contains(token), "{token} in {export}");
            }
            let stored = serialize(&parsed);
            let agents: Vec<String> = serde_json::from_str::<serde_json::Value>(&stored)
                .ok()
                .and_then(|v| serde_json::from_value(v["agents"].clone()).ok())
                .unwrap_or_default();
            assert!(agents.iter().all(|a| !a.contains("token")), "{stored}");
        }
        assert!(matches!(
            parse_import(r#"["h:1?token=no%20spaces"]"#),
            Err(StoreError::Entry(UrlError::Token(_)))
        ));
    }

    #[test]
    fn parse_saved_table() {
        type Tokens<'a> = &'a [(&'a str, &'a str)];
        let ok: &[(Option<&str>, &[&str], Tokens)] = &[
            (None, &[], &[]),
            (Some(r#"{"version":1,"agents":[]}"#), &[], &[]),
            (
                Some(r#"{"version":1,"agents":["a:1","ws://a:1/ws","http://b:2"]}"#),
                &["ws://a:1/ws", "ws://b:2/ws"],
                &[],
            ),
            (
                Some(r#"{"version":1,"agents":["a:1"],"extra":true}"#),
                &["ws://a:1/ws"],
                &[],
            ),
            // Token keys are normalised; a token for an agent not on the list is dropped.
            (
                Some(r#"{"version":1,"agents":["a:1"],"tokens":{"a:1":"t0k","c:3":"x"}}"#),
                &["ws://a:1/ws"],
                &[("ws://a:1/ws", "t0k")],
            ),
        ];
        for (text, agents, tokens) in ok {
            assert_eq!(
                parse_saved(*text),
                Ok(list(agents, tokens)),
                "text {text:?}"
            );
        }
        let corrupt = [
            "",
            "{not json",
            "[]",
            r#"{"agents":["a:1"]}"#,
            r#"{"version":1,"agents":"a:1"}"#,
            r#"{"version":1,"agents":["ftp://x"]}"#,
            r#"{"version":7,"agents":[]}"#,
            r#"{"version":1,"agents":["a:1"],"tokens":{"a:1":"has space"}}"#,
            r#"{"version":1,"agents":["a:1"],"tokens":{"a:1":7}}"#,
        ];
        for text in corrupt {
            assert!(parse_saved(Some(text)).is_err(), "should reject {text:?}");
        }
    }

    #[test]
    fn import_accepts_both_shapes_and_rejects_bad_entries() {
        assert_eq!(
            parse_import(r#"["h:1", "https://x"]"#),
            Ok(list(&["ws://h:1/ws", "wss://x/ws"], &[]))
        );
        assert_eq!(
            parse_import(r#"{"version":1,"agents":["h:1"]}"#),
            Ok(list(&["ws://h:1/ws"], &[]))
        );
        assert!(matches!(
            parse_import(r#"["h:1","bad host"]"#),
            Err(StoreError::Entry(_))
        ));
        assert!(matches!(parse_import("42"), Err(StoreError::Format(_))));
    }

    #[test]
    fn theme_defaults_to_dark() {
        assert_eq!(Theme::parse(None), Theme::Dark);
        assert_eq!(Theme::parse(Some("light")), Theme::Light);
        assert_eq!(Theme::parse(Some("neon")), Theme::Dark);
        assert_eq!(Theme::Light.toggled().as_str(), "dark");
    }
}
