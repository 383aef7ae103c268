//! The rules editor's form: each rule as the fields a person edits ([`Draft`]: an on/off
//! switch, the numbers of its kind, the container name pattern and the agent it covers, all
//! as typed), and back to rules with the rules crate's own checks, so a draft that cannot be
//! evaluated is refused with the reason and never saved. `view/attention.rs` draws the form;
//! `Dashboard::save_rules` (`app.rs`) applies and saves what [`to_rules`] accepts.

use dockscope_rules::rule::check_all;
use dockscope_rules::{default_rules, Condition, Rule};

use crate::text;

/// A rule's kind: which [`Condition`] it is, without its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MemoryAbove,
    OomKilled,
    Unhealthy,
    RestartLoop,
    ExitedNonZero,
    CpuAbove,
}

/// A number a kind of rule has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Percent,
    ForSecs,
    Restarts,
    WithinMinutes,
}

impl Kind {
    /// Every kind, in the order of the default rules.
    pub const ALL: [Kind; 6] = [
        Kind::MemoryAbove,
        Kind::OomKilled,
        Kind::Unhealthy,
        Kind::RestartLoop,
        Kind::ExitedNonZero,
        Kind::CpuAbove,
    ];

    /// Its name in a rules file (`kind`), and the value of the editor's kind menu.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MemoryAbove => "memory_above",
            Kind::OomKilled => "oom_killed",
            Kind::Unhealthy => "unhealthy",
            Kind::RestartLoop => "restart_loop",
            Kind::ExitedNonZero => "exited_non_zero",
            Kind::CpuAbove => "cpu_above",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// What the editor calls it.
    pub fn label(self) -> &'static str {
        text::rule_kind_label(self.as_str())
    }

    /// The numbers it has, in the order the editor shows them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::MemoryAbove => &[Field::Percent],
            Kind::CpuAbove => &[Field::Percent, Field::ForSecs],
            Kind::RestartLoop => &[Field::Restarts, Field::WithinMinutes],
            Kind::OomKilled | Kind::Unhealthy | Kind::ExitedNonZero => &[],
        }
    }

    fn of(condition: &Condition) -> Kind {
        match condition {
            Condition::MemoryAbove { .. } => Kind::MemoryAbove,
            Condition::OomKilled => Kind::OomKilled,
            Condition::Unhealthy => Kind::Unhealthy,
            Condition::RestartLoop { .. } => Kind::RestartLoop,
            Condition::ExitedNonZero => Kind::ExitedNonZero,
            Condition::CpuAbove { .. } => Kind::CpuAbove,
        }
    }
}

impl Field {
    /// Its name in a rules file, and the field's `data-testid` suffix.
    pub fn key(self) -> &'static str {
        match self {
            Field::Percent => "percent",
            Field::ForSecs => "for_secs",
            Field::Restarts => "restarts",
            Field::WithinMinutes => "within_minutes",
        }
    }

    /// The words around the field in the editor: before and after it.
    pub fn label(self) -> (&'static str, &'static str) {
        text::rule_field_label(self.key())
    }
}

/// One rule as the editor holds it: what was typed, not checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The editor's key for this draft's elements (not saved).
    pub id: u32,
    pub enabled: bool,
    pub kind: Kind,
    pub percent: String,
    pub for_secs: String,
    pub restarts: String,
    pub within_minutes: String,
    /// The container name pattern (`*`, `web-*`).
    pub containers: String,
    /// The agent id it covers; blank for every agent.
    pub agent: String,
}

impl Draft {
    /// The draft of a saved rule: its fields as they would be typed.
    pub fn of(rule: &Rule, id: u32) -> Draft {
        let mut draft = Draft {
            id,
            enabled: rule.enabled,
            kind: Kind::of(&rule.condition),
            percent: String::new(),
            for_secs: String::new(),
            restarts: String::new(),
            within_minutes: String::new(),
            containers: rule.containers.clone(),
            agent: rule.agent.clone().unwrap_or_default(),
        };
        match &rule.condition {
            Condition::CpuAbove { percent, for_secs } => {
                draft.percent = percent.to_string();
                draft.for_secs = for_secs.to_string();
            }
            Condition::MemoryAbove { percent } => draft.percent = percent.to_string(),
            Condition::RestartLoop {
                restarts,
                within_minutes,
            } => {
                draft.restarts = restarts.to_string();
                draft.within_minutes = within_minutes.to_string();
            }
            Condition::Unhealthy | Condition::ExitedNonZero | Condition::OomKilled => {}
        }
        draft
    }

    /// A new rule of `kind`, on, for every container of every agent, with the numbers of the
    /// default rule of that kind.
    pub fn new(kind: Kind, id: u32) -> Draft {
        let rule = default_rules()
            .into_iter()
            .find(|r| Kind::of(&r.condition) == kind)
            .unwrap_or_else(|| default_rules().remove(0));
        Draft {
            enabled: true,
            ..Draft::of(&rule, id)
        }
    }

    pub fn value(&self, field: Field) -> &str {
        match field {
            Field::Percent => &self.percent,
            Field::ForSecs => &self.for_secs,
            Field::Restarts => &self.restarts,
            Field::WithinMinutes => &self.within_minutes,
        }
    }

    pub fn set(&mut self, field: Field, value: String) {
        match field {
            Field::Percent => self.percent = value,
            Field::ForSecs => self.for_secs = value,
            Field::Restarts => self.restarts = value,
            Field::WithinMinutes => self.within_minutes = value,
        }
    }

    /// The rule it says, its numbers read but not yet checked against the rules' limits.
    ///
    /// # Errors
    /// Which field is not a number, quoting it.
    fn read(&self) -> Result<Rule, String> {
        let condition = match self.kind {
            Kind::MemoryAbove => Condition::MemoryAbove {
                percent: percent(&self.percent)?,
            },
            Kind::CpuAbove => Condition::CpuAbove {
                percent: percent(&self.percent)?,
                for_secs: whole(Field::ForSecs, &self.for_secs)?,
            },
            Kind::RestartLoop => Condition::RestartLoop {
                restarts: whole(Field::Restarts, &self.restarts)?,
                within_minutes: whole(Field::WithinMinutes, &self.within_minutes)?,
            },
            Kind::OomKilled => Condition::OomKilled,
            Kind::Unhealthy => Condition::Unhealthy,
            Kind::ExitedNonZero => Condition::ExitedNonZero,
        };
        let agent = self.agent.trim();
        Ok(Rule {
            enabled: self.enabled,
            agent: (!agent.is_empty()).then(|| agent.to_owned()),
            containers: self.containers.trim().to_owned(),
            condition,
        })
    }
}

/// `90`, `90.5`, `90 %`.
fn percent(text: &str) -> Result<f64, String> {
    let typed = text.trim();
    let number = typed.strip_suffix('%').unwrap_or(typed).trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| text::not_a_number(Field::Percent.key(), typed))
}

fn whole<T: std::str::FromStr>(field: Field, text: &str) -> Result<T, String> {
    let typed = text.trim();
    typed
        .parse::<T>()
        .map_err(|_| text::not_a_whole_number(field.key(), typed))
}

/// The drafts of saved rules, keyed from `first_id` on.
pub fn drafts(rules: &[Rule], first_id: u32) -> Vec<Draft> {
    rules
        .iter()
        .zip(first_id..)
        .map(|(rule, id)| Draft::of(rule, id))
        .collect()
}

/// The rules the drafts say, checked as a rules file is: the first field that is not a number
/// or the first rule the rules crate refuses, named by its place in the list, is the error.
///
/// # Errors
/// The message to show; nothing is to be saved then.
pub fn to_rules(drafts: &[Draft]) -> Result<Vec<Rule>, String> {
    let rules = drafts
        .iter()
        .enumerate()
        .map(|(i, draft)| {
            draft
                .read()
                .map_err(|reason| text::rule_refused(i + 1, draft.kind.label(), &reason))
        })
        .collect::<Result<Vec<Rule>, String>>()?;
    check_all(&rules).map_err(|e| e.to_string())?;
    Ok(rules)
}

/// Whether the drafts say something else than `rules` (the editor's "unsaved changes").
pub fn differs(drafts: &[Draft], rules: &[Rule]) -> bool {
    drafts.len() != rules.len()
        || drafts.iter().zip(rules).any(|(draft, rule)| {
            Draft {
                id: draft.id,
                ..Draft::of(rule, 0)
            } != *draft
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_round_trip_through_their_drafts() {
        let rules = default_rules();
        let drafts = drafts(&rules, 1);
        assert_eq!(drafts.len(), 6);
        assert_eq!(
            drafts.iter().map(|d| d.id).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            (drafts[0].kind, drafts[0].percent.as_str()),
            (Kind::MemoryAbove, "90")
        );
        assert_eq!(
            (
                drafts[3].restarts.as_str(),
                drafts[3].within_minutes.as_str()
            ),
            ("3", "5")
        );
        assert_eq!(to_rules(&drafts), Ok(rules.clone()));
        assert!(!differs(&drafts, &rules));
        let mut edited = drafts.clone();
        edited[3].within_minutes = "1".into();
        assert!(differs(&edited, &rules));
        assert!(differs(&drafts[1..], &rules));
    }

    #[test]
    fn edits_become_rules_or_say_what_is_wrong() {
        type Edit = fn(&mut Draft);
        // (kind, edit, the rule it gives or the start of the error)
        let cases: [(Kind, Edit, Result<&str, &str>); 12] = [
            (Kind::MemoryAbove, |d| d.percent = " 80 ".into(), Ok("memory above 80 % of its limit")),
            (Kind::MemoryAbove, |d| d.percent = "85.5 %".into(), Ok("memory above 85.5 % of its limit")),
            (Kind::MemoryAbove, |d| d.percent = "abc".into(),
                Err("rule 1 (Memory above): percent: “abc” is not a number")),
            (Kind::MemoryAbove, |d| d.percent = "0".into(),
                Err("rule 1 (memory above 0 % of its limit): percent must be above 0 and at most 100, not 0")),
            (Kind::MemoryAbove, |d| d.percent = "NaN".into(),
                Err("rule 1 (Memory above): percent: “NaN” is not a number")),
            (Kind::CpuAbove, |d| d.for_secs = "1.5".into(),
                Err("rule 1 (CPU above): for_secs: “1.5” is not a whole number")),
            (Kind::CpuAbove, |d| d.for_secs = "7200".into(),
                Err("rule 1 (CPU above 90 % of its limit for 7200 s): for_secs is at most 3600")),
            (Kind::RestartLoop, |d| d.within_minutes = "1".into(), Ok("restarted more than 3 times in 1 min")),
            (Kind::RestartLoop, |d| d.restarts = "-1".into(),
                Err("rule 1 (Restart loop): restarts: “-1” is not a whole number")),
            (Kind::Unhealthy, |d| { d.containers = " web-* ".into(); d.agent = " edge-1 ".into(); },
                Ok("unhealthy (web-*) on edge-1")),
            (Kind::Unhealthy, |d| d.containers = "  ".into(),
                Err("rule 1 (unhealthy): the container pattern must be 1 to 200 characters")),
            (Kind::OomKilled, |d| d.agent = "".into(), Ok("OOM-killed")),
        ];
        for (kind, edit, want) in cases {
            let mut draft = Draft::new(kind, 7);
            edit(&mut draft);
            let got = to_rules(std::slice::from_ref(&draft));
            match want {
                Ok(text) => {
                    let rules = got.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
                    assert_eq!(rules[0].to_string(), text);
                    assert_ne!(rules[0].agent.as_deref(), Some(""));
                }
                Err(start) => {
                    let error = got.map(|r| format!("{r:?}")).unwrap_err();
                    assert!(error.starts_with(start), "{kind:?}: {error}");
                }
            }
        }
    }

    #[test]
    fn a_later_bad_rule_is_named_by_its_place() {
        let mut list = drafts(&default_rules(), 0);
        list[4].enabled = true;
        list.push(Draft {
            percent: "150".into(),
            ..Draft::new(Kind::MemoryAbove, 99)
        });
        let error = to_rules(&list).unwrap_err();
        assert!(
            error.starts_with("rule 7 (memory above 150 % of its limit)"),
            "{error}"
        );
    }

    #[test]
    fn new_drafts_start_on_with_the_default_numbers_of_their_kind() {
        for kind in Kind::ALL {
            let draft = Draft::new(kind, 1);
            assert!(draft.enabled, "{kind:?}");
            assert_eq!(draft.containers, "*");
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            for field in kind.fields() {
                assert!(!draft.value(*field).is_empty(), "{kind:?} {field:?}");
            }
            let rule = to_rules(&[draft]).map(|r| r[0].clone());
            assert!(rule.is_ok(), "{kind:?}: {rule:?}");
        }
        let mut draft = Draft::new(Kind::CpuAbove, 1);
        draft.set(Field::ForSecs, "5".into());
        assert_eq!(draft.value(Field::ForSecs), "5");
        assert_eq!(Kind::parse("disk_full"), None);
    }
}
