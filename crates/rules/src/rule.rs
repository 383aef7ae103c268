//! What a rule says. A [`Rule`] is a [`Condition`] on one container plus which agents and
//! container names it covers; [`default_rules`] are on out of the box. A [`RuleFile`] is the
//! JSON both sides share: the dashboard saves and exports its rules in it, and the agent's
//! `--alert-rules` reads it (a dashboard export, which holds more than rules, reads as one).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most rules a file may hold: a list a person edits, not a data set.
pub const MAX_RULES: usize = 100;
/// The longest container name pattern.
pub const MAX_PATTERN_CHARS: usize = 200;
/// The version of [`RuleFile`] this build writes and reads.
pub const FILE_VERSION: u32 = 1;
/// The longest a condition may have to hold (`for_secs`), and the longest restart window.
pub const MAX_WINDOW_SECS: u64 = 3_600;

/// One rule: when `condition` holds for a container of `agent` (any agent when absent) whose
/// name matches `containers`, an alert is raised for that container until it no longer holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Off rules are kept (and shown) but never fire.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The agent id (`--agent-id`) it covers; absent: every agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Container names it covers, a [`crate::glob`] pattern; `*` (the default) is all.
    #[serde(default = "every_name")]
    pub containers: String,
    /// What must hold.
    #[serde(flatten)]
    pub condition: Condition,
}

fn yes() -> bool {
    true
}

fn every_name() -> String {
    "*".to_owned()
}

/// A condition on one container, tagged on the wire by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// CPU above `percent` of its limit (`--cpus`, its cpuset, else every core of the host)
    /// in every sample for `for_secs`.
    CpuAbove { percent: f64, for_secs: u64 },
    /// Memory (as `docker stats` counts it) above `percent` of its limit (the host's memory
    /// when it has none).
    MemoryAbove { percent: f64 },
    /// Restarted (its `RestartCount` went up) more than `restarts` times in the last
    /// `within_minutes`.
    RestartLoop { restarts: u32, within_minutes: u32 },
    /// Its health check says unhealthy.
    Unhealthy,
    /// Stopped with a non-zero exit code, while the agent lists it as exited.
    ExitedNonZero,
    /// The OOM killer ended its last run (while it is listed as exited), or killed one of its
    /// processes in the last [`crate::eval::OOM_KILL_HOLD_SECS`].
    OomKilled,
}

/// The rules on when nobody has chosen any: the four that matter in every incident, and the
/// two that are noisy somewhere (a batch job exits 1, a build pegs its CPU), listed but off.
#[must_use]
pub fn default_rules() -> Vec<Rule> {
    let rule = |enabled, condition| Rule {
        enabled,
        agent: None,
        containers: every_name(),
        condition,
    };
    vec![
        rule(true, Condition::MemoryAbove { percent: 90.0 }),
        rule(true, Condition::OomKilled),
        rule(true, Condition::Unhealthy),
        rule(
            true,
            Condition::RestartLoop {
                restarts: 3,
                within_minutes: 5,
            },
        ),
        rule(false, Condition::ExitedNonZero),
        rule(
            false,
            Condition::CpuAbove {
                percent: 90.0,
                for_secs: 60,
            },
        ),
    ]
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::CpuAbove { percent, for_secs } => {
                write!(f, "CPU above {percent} % of its limit for {for_secs} s")
            }
            Condition::MemoryAbove { percent } => {
                write!(f, "memory above {percent} % of its limit")
            }
            Condition::RestartLoop {
                restarts,
                within_minutes,
            } => write!(
                f,
                "restarted more than {restarts} times in {within_minutes} min"
            ),
            Condition::Unhealthy => f.write_str("unhealthy"),
            Condition::ExitedNonZero => f.write_str("exited non-zero"),
            Condition::OomKilled => f.write_str("OOM-killed"),
        }
    }
}

impl fmt::Display for Rule {
    /// The condition, then the scope when it is narrower than everything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.condition)?;
        if !self.containers.is_empty() && self.containers != "*" {
            write!(f, " ({})", self.containers)?;
        }
        if let Some(agent) = &self.agent {
            write!(f, " on {agent}")?;
        }
        Ok(())
    }
}

/// Why a rule or a file of rules was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("not a rules file: {0}")]
    Json(String),
    #[error("{count} rules; at most {MAX_RULES}")]
    TooMany { count: usize },
    #[error("a rules file of version {0}; this build reads version {FILE_VERSION}")]
    NewerVersion(u32),
    #[error("rule {index} ({rule}): {reason}")]
    Invalid {
        /// 1-based, as a person counts the list.
        index: usize,
        rule: String,
        reason: String,
    },
}

impl Rule {
    /// Why this rule cannot be evaluated, if it cannot.
    ///
    /// # Errors
    /// A percent outside (0, 100], a zero or over-long window, an empty or over-long pattern.
    pub fn check(&self) -> Result<(), String> {
        if self.containers.is_empty() || self.containers.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!(
                "the container pattern must be 1 to {MAX_PATTERN_CHARS} characters"
            ));
        }
        if self.agent.as_deref().is_some_and(str::is_empty) {
            return Err("the agent id is empty; leave it out to cover every agent".to_owned());
        }
        match &self.condition {
            Condition::CpuAbove { percent, for_secs } => {
                percent_in_range(*percent)?;
                if *for_secs > MAX_WINDOW_SECS {
                    return Err(format!("for_secs is at most {MAX_WINDOW_SECS}"));
                }
            }
            Condition::MemoryAbove { percent } => percent_in_range(*percent)?,
            Condition::RestartLoop {
                within_minutes,
                restarts: _,
            } => {
                if *within_minutes == 0 || u64::from(*within_minutes) * 60 > MAX_WINDOW_SECS {
                    return Err(format!("within_minutes is 1 to {}", MAX_WINDOW_SECS / 60));
                }
            }
            Condition::Unhealthy | Condition::ExitedNonZero | Condition::OomKilled => {}
        }
        Ok(())
    }
}

fn percent_in_range(percent: f64) -> Result<(), String> {
    if percent > 0.0 && percent <= 100.0 {
        Ok(())
    } else {
        Err(format!(
            "percent must be above 0 and at most 100, not {percent}"
        ))
    }
}

/// The rules as a file: `{"version": 1, "rules": [...]}`. Other top-level keys are ignored, so
/// a dashboard export (its agents, its view and its rules) is a rules file too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFile {
    #[serde(default = "version_one")]
    pub version: u32,
    pub rules: Vec<Rule>,
}

fn version_one() -> u32 {
    1
}

impl RuleFile {
    #[must_use]
    pub fn new(rules: Vec<Rule>) -> RuleFile {
        RuleFile { version: 1, rules }
    }

    /// Reads and checks a rules file.
    ///
    /// # Errors
    /// Not JSON of this shape (the error says where), too many rules, or a rule that
    /// [`Rule::check`] refuses (the error says which and why).
    pub fn parse(text: &str) -> Result<RuleFile, RuleError> {
        let file: RuleFile =
            serde_json::from_str(text).map_err(|e| RuleError::Json(e.to_string()))?;
        // A newer version may mean something else by the same fields: refuse, do not guess.
        if file.version > FILE_VERSION {
            return Err(RuleError::NewerVersion(file.version));
        }
        check_all(&file.rules)?;
        Ok(file)
    }

    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Checks every rule of a list, as [`RuleFile::parse`] does.
///
/// # Errors
/// The first rule refused, or too many rules.
pub fn check_all(rules: &[Rule]) -> Result<(), RuleError> {
    if rules.len() > MAX_RULES {
        return Err(RuleError::TooMany { count: rules.len() });
    }
    for (i, rule) in rules.iter().enumerate() {
        rule.check().map_err(|reason| RuleError::Invalid {
            index: i + 1,
            rule: rule.to_string(),
            reason,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_round_trip_through_a_file_and_four_are_on() {
        let file = RuleFile::new(default_rules());
        let back = RuleFile::parse(&file.to_json()).unwrap();
        assert_eq!(back, file);
        let on: Vec<String> = back
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            on,
            [
                "memory above 90 % of its limit",
                "OOM-killed",
                "unhealthy",
                "restarted more than 3 times in 5 min"
            ]
        );
    }

    #[test]
    fn a_hand_written_file_fills_in_the_defaults_and_a_dashboard_export_reads_as_one() {
        let text = r#"{
            "version": 1,
            "agents": ["ws://a:8080/ws"],
            "view": {"sort": "cpu"},
            "rules": [
                {"kind": "memory_above", "percent": 80},
                {"kind": "unhealthy", "containers": "web-*", "agent": "edge-1", "enabled": false}
            ]
        }"#;
        let file = RuleFile::parse(text).unwrap();
        assert_eq!(
            file.rules,
            [
                Rule {
                    enabled: true,
                    agent: None,
                    containers: "*".into(),
                    condition: Condition::MemoryAbove { percent: 80.0 },
                },
                Rule {
                    enabled: false,
                    agent: Some("edge-1".into()),
                    containers: "web-*".into(),
                    condition: Condition::Unhealthy,
                },
            ]
        );
        assert_eq!(file.rules[1].to_string(), "unhealthy (web-*) on edge-1");
    }

    #[test]
    fn bad_files_are_refused_with_the_rule_and_the_reason() {
        let cases = [
            ("not json", "not a rules file"),
            (r#"{"rules": 3}"#, "not a rules file"),
            (r#"{"rules": [{"kind": "disk_full"}]}"#, "not a rules file"),
            (
                r#"{"rules": [{"kind": "memory_above"}]}"#,
                "not a rules file",
            ),
            (
                r#"{"rules": [{"kind": "unhealthy"}, {"kind": "memory_above", "percent": 0}]}"#,
                "rule 2 (memory above 0 % of its limit): percent must be above 0",
            ),
            (
                r#"{"rules": [{"kind": "cpu_above", "percent": 150, "for_secs": 10}]}"#,
                "percent must be above 0 and at most 100, not 150",
            ),
            (
                r#"{"rules": [{"kind": "cpu_above", "percent": 50, "for_secs": 86400}]}"#,
                "for_secs is at most 3600",
            ),
            (
                r#"{"rules": [{"kind": "restart_loop", "restarts": 3, "within_minutes": 0}]}"#,
                "within_minutes is 1 to 60",
            ),
            (
                r#"{"rules": [{"kind": "unhealthy", "containers": ""}]}"#,
                "the container pattern must be 1 to 200 characters",
            ),
            (
                r#"{"rules": [{"kind": "unhealthy", "agent": ""}]}"#,
                "the agent id is empty",
            ),
            (
                r#"{"rules": [{"kind": "unhealthy", "containers": ""}]}"#,
                "rule 1 (unhealthy): the container pattern",
            ),
            (
                r#"{"version": 2, "rules": []}"#,
                "a rules file of version 2; this build reads version 1",
            ),
        ];
        for (text, expected) in cases {
            let error = RuleFile::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let many = RuleFile::new(vec![default_rules()[0].clone(); MAX_RULES + 1]);
        assert_eq!(
            RuleFile::parse(&many.to_json()),
            Err(RuleError::TooMany {
                count: MAX_RULES + 1
            })
        );
    }
}
