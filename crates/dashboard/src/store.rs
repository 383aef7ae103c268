//! What the dashboard keeps in `localStorage` and in exported files, as pure parse/serialise
//! functions; `browser.rs` does the actual reads and writes.
//!
//! The agent list is stored (and exported) as `{"version":1,"agents":["ws://h:9100/ws", …]}`.
//! An import also accepts a bare JSON array of addresses. Every entry goes through
//! [`crate::url::normalize`], so a hand-edited file cannot smuggle in an unusable address.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::url::{normalize, UrlError};

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
        }
    }
}

impl std::error::Error for StoreError {}

/// Reads the saved agent list; a missing key is an empty list.
///
/// # Errors
/// [`StoreError`] when the stored text is corrupt; the caller shows a warning and starts empty.
pub fn parse_saved(text: Option<&str>) -> Result<Vec<String>, StoreError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let saved: SavedAgents =
        serde_json::from_str(text).map_err(|e| StoreError::Format(e.to_string()))?;
    check_version(saved.version)?;
    normalize_all(saved.agents)
}

/// Reads an imported file: the saved format or a bare array of addresses.
///
/// # Errors
/// [`StoreError`] naming the first problem; nothing should be imported then.
pub fn parse_import(text: &str) -> Result<Vec<String>, StoreError> {
    match serde_json::from_str::<ImportShape>(text) {
        Ok(ImportShape::Saved(saved)) => {
            check_version(saved.version)?;
            normalize_all(saved.agents)
        }
        Ok(ImportShape::List(list)) => normalize_all(list),
        Err(e) => Err(StoreError::Format(e.to_string())),
    }
}

/// The text stored in `localStorage` and written by "export".
pub fn serialize(agents: &[String]) -> String {
    let saved = SavedAgents {
        version: FORMAT_VERSION,
        agents: agents.to_vec(),
    };
    serde_json::to_string_pretty(&saved).unwrap_or_else(|_| String::from("{}"))
}

fn check_version(version: u32) -> Result<(), StoreError> {
    if version > FORMAT_VERSION || version == 0 {
        Err(StoreError::Version(version))
    } else {
        Ok(())
    }
}

/// Normalises every entry and drops duplicates, keeping the first occurrence's position.
fn normalize_all(entries: Vec<String>) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        let url = normalize(&entry).map_err(StoreError::Entry)?;
        if !out.contains(&url) {
            out.push(url);
        }
    }
    Ok(out)
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

    #[test]
    fn saved_list_round_trips() {
        let agents = vec!["ws://a:1/ws".to_owned(), "wss://b/ws".to_owned()];
        assert_eq!(parse_saved(Some(&serialize(&agents))), Ok(agents));
    }

    #[test]
    fn parse_saved_table() {
        let ok: &[(Option<&str>, &[&str])] = &[
            (None, &[]),
            (Some(r#"{"version":1,"agents":[]}"#), &[]),
            (
                Some(r#"{"version":1,"agents":["a:1","ws://a:1/ws","http://b:2"]}"#),
                &["ws://a:1/ws", "ws://b:2/ws"],
            ),
            (
                Some(r#"{"version":1,"agents":["a:1"],"extra":true}"#),
                &["ws://a:1/ws"],
            ),
        ];
        for (text, expected) in ok {
            let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            assert_eq!(parse_saved(*text), Ok(expected), "text {text:?}");
        }
        let corrupt = [
            "",
            "{not json",
            "[]",
            r#"{"agents":["a:1"]}"#,
            r#"{"version":1,"agents":"a:1"}"#,
            r#"{"version":1,"agents":["ftp://x"]}"#,
            r#"{"version":7,"agents":[]}"#,
        ];
        for text in corrupt {
            assert!(parse_saved(Some(text)).is_err(), "should reject {text:?}");
        }
    }

    #[test]
    fn import_accepts_both_shapes_and_rejects_bad_entries() {
        assert_eq!(
            parse_import(r#"["h:1", "https://x"]"#),
            Ok(vec!["ws://h:1/ws".to_owned(), "wss://x/ws".to_owned()])
        );
        assert_eq!(
            parse_import(r#"{"version":1,"agents":["h:1"]}"#),
            Ok(vec!["ws://h:1/ws".to_owned()])
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
