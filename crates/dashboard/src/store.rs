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
//!
//! The alert rules are saved in it too, as `"rules":[…]` in the rules crate's format
//! ([`dockscope_rules::RuleFile`]): the stored record and an exported file are rules files as
//! they stand (their other keys are ignored there), so an export can be handed to an agent's
//! `--alert-rules`. Read apart from the agents and checked as a rules file is: missing rules
//! are the defaults, unreadable ones the defaults with the reason ([`RulesOrigin`]), and
//! neither costs the agent list. An import replaces the rules only when its file has them (an
//! older export, or a bare array, keeps the page's), and a file whose rules are refused
//! imports nothing.

use std::collections::BTreeMap;
use std::fmt;

use dockscope_rules::rule::check_all;
use dockscope_rules::{default_rules, Rule, RuleError};
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
    /// Kept as JSON and read by [`rules_in`], so bad rules cannot fail the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rules: Option<serde_json::Value>,
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

/// The stored text with its view settings replaced by `view`, the rest (agents, tokens, rules,
/// fields of a newer dashboard) left as it is: how the view is saved while the page shows a
/// `?agents=` link, whose agents must not replace the saved list. Nothing stored yet: a record
/// with no agents. Stored text that is not a JSON object (corrupt): `None`, it is left alone
/// for the user to see in the warning rather than overwritten.
pub fn with_view(stored: Option<&str>, view: ViewPrefs) -> Option<String> {
    with_field(stored, "view", view.to_json())
}

/// The stored text with its rules replaced by `rules`, the rest left as it is, as
/// [`with_view`] does: how rules are saved while the page shows a `?agents=` link.
pub fn with_rules(stored: Option<&str>, rules: &[Rule]) -> Option<String> {
    with_field(stored, "rules", serde_json::to_value(rules).ok()?)
}

fn with_field(stored: Option<&str>, key: &str, value: serde_json::Value) -> Option<String> {
    let mut record = match stored {
        None => serde_json::json!({"version": FORMAT_VERSION, "agents": []}),
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(serde_json::Value::is_object)?,
    };
    record[key] = value;
    serde_json::to_string_pretty(&record).ok()
}

/// Where the rules in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesOrigin {
    /// The stored record's.
    Saved,
    /// None stored (the first run, or a list saved before rules existed): the defaults.
    NoneSaved,
    /// Stored but not readable as rules, and why: the defaults, until rules are saved.
    Unreadable(String),
}

/// The rules in the stored record `text` (the agent list's), or the defaults and why.
pub fn saved_rules(text: Option<&str>) -> (Vec<Rule>, RulesOrigin) {
    let read = text.map(|text| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| RuleError::Json(e.to_string()))
            .and_then(|record| rules_in(&record))
    });
    match read {
        None | Some(Ok(None)) => (default_rules(), RulesOrigin::NoneSaved),
        Some(Ok(Some(rules))) => (rules, RulesOrigin::Saved),
        Some(Err(e)) => (default_rules(), RulesOrigin::Unreadable(e.to_string())),
    }
}

/// The rules of an imported file: `None` when it has none (an export of an older dashboard,
/// a bare array of addresses), and the page keeps its own.
///
/// # Errors
/// The file's rules are refused (as a rules file's would be): nothing should be imported.
pub fn imported_rules(text: &str) -> Result<Option<Vec<Rule>>, RuleError> {
    let record: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RuleError::Json(e.to_string()))?;
    rules_in(&record)
}

/// The `rules` of a record, checked as [`dockscope_rules::RuleFile::parse`] checks a file.
fn rules_in(record: &serde_json::Value) -> Result<Option<Vec<Rule>>, RuleError> {
    let Some(value) = record.get("rules") else {
        return Ok(None);
    };
    let rules = Vec::<Rule>::deserialize(value).map_err(|e| RuleError::Json(e.to_string()))?;
    check_all(&rules)?;
    Ok(Some(rules))
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

/// The text stored in `localStorage`: addresses and their tokens, the view, the rules.
pub fn serialize(list: &AgentList, rules: &[Rule]) -> String {
    let saved = SavedAgents {
        version: FORMAT_VERSION,
        agents: list.agents.clone(),
        tokens: list.tokens.clone(),
        view: Some(list.view.to_json()),
        rules: serde_json::to_value(rules).ok(),
    };
    serde_json::to_string_pretty(&saved).unwrap_or_else(|_| String::from("{}"))
}

/// The text written by "export": the addresses and the alert rules, never the tokens (nor
/// this browser's view settings). A rules file as it stands.
pub fn serialize_export(agents: &[String], rules: &[Rule]) -> String {
    let saved = SavedAgents {
        version: FORMAT_VERSION,
        agents: agents.to_vec(),
        tokens: BTreeMap::new(),
        view: None,
        rules: serde_json::to_value(rules).ok(),
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
        assert_eq!(
            parse_saved(Some(&serialize(&saved, &default_rules()))),
            Ok(saved)
        );
        assert!(!serialize_export(&["ws://a:1/ws".to_owned()], &[]).contains("view"));
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
        assert_eq!(
            parse_saved(Some(&serialize(&saved, &default_rules()))),
            Ok(saved)
        );
    }

    #[test]
    fn export_leaves_tokens_out() {
        let text = serialize_export(&["ws://a:1/ws".to_owned()], &default_rules());
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
            let export = serialize_export(&parsed.agents, &default_rules());
            for token in ["abc", "t2", "xyz", "fromurl", "explicit", "token"] {
                assert!(!export.contains(token), "{token} in {export}");
            }
            let stored = serialize(&parsed, &default_rules());
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

    fn edited_rules() -> Vec<Rule> {
        let mut rules = default_rules();
        rules[3].condition = dockscope_rules::Condition::RestartLoop {
            restarts: 3,
            within_minutes: 1,
        };
        rules[4].enabled = true;
        rules.push(Rule {
            agent: Some("edge-1".into()),
            containers: "web-*".into(),
            ..default_rules()[2].clone()
        });
        rules
    }

    #[test]
    fn rules_are_saved_with_the_list_and_exported_as_a_rules_file() {
        let rules = edited_rules();
        let saved = list(&["ws://a:1/ws"], &[("ws://a:1/ws", "t0k")]);
        let stored = serialize(&saved, &rules);
        assert_eq!(parse_saved(Some(&stored)), Ok(saved));
        assert_eq!(
            saved_rules(Some(&stored)),
            (rules.clone(), RulesOrigin::Saved)
        );
        // The record and the export read as rules files, as an agent's --alert-rules reads.
        let export = serialize_export(&["ws://a:1/ws".to_owned()], &rules);
        for text in [&stored, &export] {
            assert_eq!(
                dockscope_rules::RuleFile::parse(text).map(|f| f.rules),
                Ok(rules.clone())
            );
        }
        assert_eq!(imported_rules(&export), Ok(Some(rules)));
        assert!(!export.contains("t0k"), "{export}");
    }

    #[test]
    fn missing_or_corrupt_rules_load_as_the_defaults_and_keep_the_agents() {
        let defaults = default_rules();
        // (the stored `rules` part, where the rules in force come from)
        let cases: [(&str, Option<&str>); 7] = [
            ("", None),
            (r#","rules":null"#, Some("not a rules file")),
            (r#","rules":"memory""#, Some("not a rules file")),
            (
                r#","rules":[{"kind":"disk_full"}]"#,
                Some("not a rules file"),
            ),
            (
                r#","rules":[{"kind":"memory_above","percent":150}]"#,
                Some("rule 1 (memory above 150 % of its limit): percent must be above 0"),
            ),
            (
                r#","rules":[{"kind":"unhealthy","agent":""}]"#,
                Some("rule 1 (unhealthy on ): the agent id is empty"),
            ),
            (r#","rules":[]"#, None),
        ];
        for (rules, problem) in cases {
            let text = format!(r#"{{"version":1,"agents":["a:1"]{rules}}}"#);
            assert_eq!(
                parse_saved(Some(&text)).map(|l| l.agents),
                Ok(vec!["ws://a:1/ws".to_owned()]),
                "{text}"
            );
            let (loaded, origin) = saved_rules(Some(&text));
            match (problem, origin) {
                (Some(problem), RulesOrigin::Unreadable(reason)) => {
                    assert_eq!(loaded, defaults, "{text}");
                    assert!(reason.starts_with(problem), "{text}: {reason}");
                }
                (None, RulesOrigin::NoneSaved) => assert_eq!(loaded, defaults, "{text}"),
                // An empty list is a choice: no rules at all.
                (None, RulesOrigin::Saved) => assert!(loaded.is_empty(), "{text}"),
                (want, got) => panic!("{text}: {want:?} but {got:?}"),
            }
        }
        assert_eq!(
            saved_rules(None),
            (defaults.clone(), RulesOrigin::NoneSaved)
        );
        assert!(matches!(
            saved_rules(Some("{corrupt")),
            (_, RulesOrigin::Unreadable(_))
        ));
    }

    #[test]
    fn an_import_replaces_the_rules_only_when_its_file_has_good_ones() {
        assert_eq!(imported_rules(r#"["h:1"]"#), Ok(None));
        assert_eq!(
            imported_rules(r#"{"version":1,"agents":["h:1"]}"#),
            Ok(None)
        );
        assert_eq!(
            imported_rules(r#"{"version":1,"agents":[],"rules":[{"kind":"oom_killed"}]}"#)
                .map(|r| r.map(|r| r.len())),
            Ok(Some(1))
        );
        let refused = imported_rules(
            r#"{"version":1,"agents":[],"rules":[{"kind":"restart_loop","restarts":3,"within_minutes":0}]}"#,
        );
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("within_minutes is 1 to 60")),
            "{refused:?}"
        );
    }

    #[test]
    fn rules_alone_are_saved_beside_a_list_they_leave_alone() {
        let rules = edited_rules();
        let stored = r#"{"version":1,"agents":["ws://a:1/ws"],"view":{"grouped":true},"later":1}"#;
        let text = with_rules(Some(stored), &rules).unwrap_or_default();
        assert_eq!(
            saved_rules(Some(&text)),
            (rules.clone(), RulesOrigin::Saved)
        );
        let list = parse_saved(Some(&text)).unwrap_or_default();
        assert_eq!(list.agents, ["ws://a:1/ws"]);
        assert!(list.view.grouped);
        assert!(text.contains("later"), "{text}");
        // And the view saved later keeps them.
        let text = with_view(Some(&text), ViewPrefs::default()).unwrap_or_default();
        assert_eq!(saved_rules(Some(&text)).0, rules);
        assert_eq!(with_rules(Some("{corrupt"), &rules), None);
        let fresh = with_rules(None, &rules).unwrap_or_default();
        assert_eq!(parse_saved(Some(&fresh)).map(|l| l.agents.len()), Ok(0));
    }

    #[test]
    fn theme_defaults_to_dark() {
        assert_eq!(Theme::parse(None), Theme::Dark);
        assert_eq!(Theme::parse(Some("light")), Theme::Light);
        assert_eq!(Theme::parse(Some("neon")), Theme::Dark);
        assert_eq!(Theme::Light.toggled().as_str(), "dark");
    }
}
