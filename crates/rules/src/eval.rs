//! Evaluating rules one batch at a time.
//!
//! ```text
//!  batch ──► every container (running and exited) ──► its Watch: restart times, last OOM kill
//!                 │
//!                 ▼ each enabled rule that covers it
//!           condition holds? ──yes, not active──► Change::Fired   (active until it no longer holds)
//!                            ──no, active──────► Change::Cleared
//!  a container gone from the batch: its alerts clear, its Watch is dropped
//! ```
//!
//! State is per agent: a batch of one agent never clears another's alerts.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use dockscope_protocol::{ContainerState, ContainerStats, ContainerStatsBatch, Health};

use crate::glob;
use crate::rule::{Condition, Rule, MAX_WINDOW_SECS};

/// How long an OOM kill inside a container that kept running counts as "OOM-killed".
pub const OOM_KILL_HOLD_SECS: u64 = 300;
/// The most restart times kept per container: a window cannot need more to say "more than K".
const MAX_RESTART_TIMES: usize = 1_000;

/// One alert: a rule that holds for a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rule's place in the evaluator's list.
    pub rule: usize,
    /// The rule as a person reads it ("memory above 90 % of its limit").
    pub rule_text: String,
    /// Which source's batches (see [`Evaluator::observe`]).
    pub source: String,
    /// The agent's `--agent-id`, as its batch says.
    pub agent_id: String,
    pub container_id: String,
    pub container_name: String,
    /// When it fired, in the caller's milliseconds.
    pub since_ms: i64,
    /// The figures that made it fire, updated while it holds.
    pub cause: Cause,
}

/// What made a rule hold, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    Cpu {
        percent_of_limit: f64,
        limit_cores: f64,
    },
    Memory {
        percent_of_limit: f64,
        used_bytes: u64,
        limit_bytes: u64,
    },
    Restarts {
        restarts: usize,
        within_minutes: u32,
    },
    Unhealthy,
    Exited {
        code: i64,
    },
    /// `exited`: the kill ended the container; otherwise it killed a process inside it.
    OomKilled {
        exited: bool,
    },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Cpu {
                percent_of_limit,
                limit_cores,
            } => write!(
                f,
                "CPU {percent_of_limit:.0} % of its limit ({limit_cores} cores)"
            ),
            Cause::Memory {
                percent_of_limit,
                used_bytes,
                limit_bytes,
            } => write!(
                f,
                "memory {percent_of_limit:.0} % of its limit ({} of {} MiB)",
                mib(*used_bytes),
                mib(*limit_bytes)
            ),
            Cause::Restarts {
                restarts,
                within_minutes,
            } => write!(f, "restarted {restarts} times in {within_minutes} min"),
            Cause::Unhealthy => f.write_str("health check failing"),
            Cause::Exited { code } => write!(f, "exited with code {code}"),
            Cause::OomKilled { exited: true } => f.write_str("OOM killed"),
            Cause::OomKilled { exited: false } => f.write_str("the OOM killer killed a process"),
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / 1_048_576.0)
}

/// An alert fired or cleared.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Fired(Alert),
    Cleared(Alert),
}

/// What one container's conditions over time need, and its alerts.
#[derive(Debug, Default)]
struct Watch {
    restart_count: Option<u64>,
    /// When its restart count went up, oldest first (one entry per restart).
    restarted_at: VecDeque<i64>,
    oom_kills: Option<u64>,
    last_oom_kill_at: Option<i64>,
    /// Per CPU rule (by index): since when every sample has been above its threshold.
    cpu_above_since: Vec<(usize, i64)>,
    /// The name `covered` was worked out for, and which rules cover it (by index): pattern
    /// matching once per name, not once per batch.
    name: String,
    covered: Option<Vec<usize>>,
    /// The alerts that hold, at most one per rule.
    alerts: Vec<Alert>,
    /// The batch (the evaluator's count) that last listed it: a container listed twice in
    /// one batch is taken once, and one the batch no longer lists is let go.
    seen: u64,
}

/// The rules and what they have seen.
#[derive(Debug, Default)]
pub struct Evaluator {
    rules: Vec<Rule>,
    /// Per source (a connection to an agent), per container id.
    watches: HashMap<String, HashMap<String, Watch>>,
    /// Batches observed so far.
    batches: u64,
}

impl Evaluator {
    #[must_use]
    pub fn new(rules: Vec<Rule>) -> Evaluator {
        Evaluator {
            rules,
            ..Evaluator::default()
        }
    }

    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Replaces the rules. An alert whose rule is still in the list (equal, wherever it has
    /// moved) holds on, with its `since`; alerts of rules that changed or went clear. What
    /// the containers did (restarts, OOM kills, how long CPU has been high) is kept, so a loop
    /// still counts under an edited rule.
    pub fn set_rules(&mut self, rules: Vec<Rule>) -> Vec<Change> {
        // Where each old rule is in the new list: the first equal rule not already taken.
        let mut taken = vec![false; rules.len()];
        let moved: Vec<Option<usize>> = self
            .rules
            .iter()
            .map(|old| {
                let at = (0..rules.len()).find(|&i| !taken[i] && rules[i] == *old)?;
                taken[at] = true;
                Some(at)
            })
            .collect();
        let text: Vec<String> = rules.iter().map(ToString::to_string).collect();
        let mut changes = Vec::new();
        for watch in self.watches.values_mut().flat_map(HashMap::values_mut) {
            for alert in std::mem::take(&mut watch.alerts) {
                match moved.get(alert.rule).copied().flatten() {
                    Some(at) => watch.alerts.push(Alert {
                        rule: at,
                        rule_text: text[at].clone(),
                        ..alert
                    }),
                    None => changes.push(Change::Cleared(alert)),
                }
            }
            watch.cpu_above_since = std::mem::take(&mut watch.cpu_above_since)
                .into_iter()
                .filter_map(|(rule, since)| Some((moved.get(rule).copied().flatten()?, since)))
                .collect();
            watch.covered = None;
        }
        self.rules = rules;
        changes
    }

    /// Every alert that holds now, in no particular order.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.watches
            .values()
            .flat_map(HashMap::values)
            .flat_map(|w| w.alerts.iter())
    }

    /// Takes one batch from `source` at `now_ms` (any clock, as long as it is one clock).
    /// `source` tells agents apart (the dashboard: its card; the agent: itself), so two hosts
    /// with the same `--agent-id` keep their own alerts; a rule's agent scope is matched
    /// against the batch's `agent_id`.
    pub fn observe(
        &mut self,
        source: &str,
        batch: &ContainerStatsBatch,
        now_ms: i64,
    ) -> Vec<Change> {
        self.batches += 1;
        let generation = self.batches;
        let host_cores = batch.host.as_ref().and_then(|h| h.cores).map(f64::from);
        if !self.watches.contains_key(source) {
            self.watches.insert(source.to_owned(), HashMap::new());
        }
        let Some(watches) = self.watches.get_mut(source) else {
            return Vec::new();
        };
        let agent_id = batch.agent_id.as_str();
        let mut changes = Vec::new();
        let everyone = batch
            .containers
            .iter()
            .map(|c| (c, false))
            .chain(batch.exited.iter().map(|c| (c, true)));
        for (container, exited) in everyone {
            let watch = match watches.get_mut(&container.id) {
                Some(watch) if watch.seen == generation => continue, // listed twice
                Some(watch) => watch,
                None => watches.entry(container.id.clone()).or_default(),
            };
            watch.seen = generation;
            watch.update(container, now_ms);
            if watch.covered.is_none() || watch.name != container.name {
                watch.name.clone_from(&container.name);
                watch.covered = Some(
                    (0..self.rules.len())
                        .filter(|&i| covers(&self.rules[i], agent_id, &container.name))
                        .collect(),
                );
            }
            let covered = watch.covered.take().unwrap_or_default();
            for &index in &covered {
                let rule = &self.rules[index];
                let cause = holds(rule, index, container, exited, watch, host_cores, now_ms);
                let at = watch.alerts.iter().position(|a| a.rule == index);
                match (cause, at) {
                    (Some(cause), Some(at)) => {
                        let alert = &mut watch.alerts[at];
                        alert.cause = cause;
                        alert.container_name.clone_from(&container.name);
                    }
                    (Some(cause), None) => {
                        let alert = Alert {
                            rule: index,
                            rule_text: rule.to_string(),
                            source: source.to_owned(),
                            agent_id: agent_id.to_owned(),
                            container_id: container.id.clone(),
                            container_name: container.name.clone(),
                            since_ms: now_ms,
                            cause,
                        };
                        watch.alerts.push(alert.clone());
                        changes.push(Change::Fired(alert));
                    }
                    (None, Some(at)) => changes.push(Change::Cleared(watch.alerts.remove(at))),
                    (None, None) => {}
                }
            }
            watch.covered = Some(covered);
        }
        watches.retain(|_, watch| {
            let keep = watch.seen == generation;
            if !keep {
                changes.extend(watch.alerts.drain(..).map(Change::Cleared));
            }
            keep
        });
        changes
    }

    /// Drops a source (a card removed from the dashboard): its alerts clear.
    pub fn forget(&mut self, source: &str) -> Vec<Change> {
        self.watches
            .remove(source)
            .into_iter()
            .flat_map(HashMap::into_values)
            .flat_map(|w| w.alerts)
            .map(Change::Cleared)
            .collect()
    }
}

impl Watch {
    fn update(&mut self, container: &ContainerStats, now_ms: i64) {
        if let Some(count) = container.restart_count {
            // The first sight of a container is its baseline: restarts before it are not news.
            if let Some(previous) = self.restart_count.filter(|&p| count > p) {
                let new = usize::try_from(count - previous).unwrap_or(usize::MAX);
                for _ in 0..new.min(MAX_RESTART_TIMES) {
                    self.restarted_at.push_back(now_ms);
                }
                while self.restarted_at.len() > MAX_RESTART_TIMES {
                    self.restarted_at.pop_front();
                }
            }
            self.restart_count = Some(count);
        }
        let oldest = now_ms - window_ms(MAX_WINDOW_SECS);
        while self.restarted_at.front().is_some_and(|&t| t < oldest) {
            self.restarted_at.pop_front();
        }
        if let Some(kills) = container.oom_kills {
            if self.oom_kills.is_some_and(|previous| kills > previous) {
                self.last_oom_kill_at = Some(now_ms);
            }
            self.oom_kills = Some(kills);
        }
    }
}

fn window_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

fn covers(rule: &Rule, agent_id: &str, name: &str) -> bool {
    rule.enabled
        && rule.agent.as_deref().is_none_or(|a| a == agent_id)
        && glob::matches(&rule.containers, name)
}

/// Whether `rule` holds for `container` now, and with which figures.
#[allow(clippy::cast_precision_loss)]
fn holds(
    rule: &Rule,
    index: usize,
    container: &ContainerStats,
    exited: bool,
    watch: &mut Watch,
    host_cores: Option<f64>,
    now_ms: i64,
) -> Option<Cause> {
    let exited = exited
        || matches!(
            container.state,
            Some(ContainerState::Exited | ContainerState::Dead)
        );
    match &rule.condition {
        Condition::CpuAbove { percent, for_secs } => {
            let limit_cores = container.cpu_limit_cores.or(host_cores)?;
            let percent_of_limit = container
                .cpu_pct
                .filter(|_| !exited && limit_cores > 0.0)
                .map(|cpu| cpu / limit_cores);
            let Some(percent_of_limit) = percent_of_limit.filter(|p| p > percent) else {
                watch.cpu_above_since.retain(|&(rule, _)| rule != index);
                return None;
            };
            let since = match watch
                .cpu_above_since
                .iter()
                .find(|(rule, _)| *rule == index)
            {
                Some(&(_, since)) => since,
                None => {
                    watch.cpu_above_since.push((index, now_ms));
                    now_ms
                }
            };
            (now_ms - since >= window_ms(*for_secs)).then_some(Cause::Cpu {
                percent_of_limit,
                limit_cores,
            })
        }
        Condition::MemoryAbove { percent } => {
            let (used, limit) = (container.mem_bytes?, container.mem_limit_bytes?);
            let percent_of_limit = used as f64 / limit as f64 * 100.0;
            (!exited && limit > 0 && percent_of_limit > *percent).then_some(Cause::Memory {
                percent_of_limit,
                used_bytes: used,
                limit_bytes: limit,
            })
        }
        Condition::RestartLoop {
            restarts,
            within_minutes,
        } => {
            let since = now_ms - window_ms(u64::from(*within_minutes) * 60);
            let recent = watch.restarted_at.iter().filter(|&&t| t >= since).count();
            (recent > *restarts as usize).then_some(Cause::Restarts {
                restarts: recent,
                within_minutes: *within_minutes,
            })
        }
        Condition::Unhealthy => {
            (!exited && container.health == Some(Health::Unhealthy)).then_some(Cause::Unhealthy)
        }
        Condition::ExitedNonZero => container
            .exit_code
            .filter(|&code| exited && code != 0)
            .map(|code| Cause::Exited { code }),
        Condition::OomKilled => {
            if exited && container.oom_killed == Some(true) {
                return Some(Cause::OomKilled { exited: true });
            }
            let hold = window_ms(OOM_KILL_HOLD_SECS);
            watch
                .last_oom_kill_at
                .filter(|&t| now_ms - t < hold)
                .map(|_| Cause::OomKilled { exited: false })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::default_rules;
    use dockscope_protocol::HostStats;

    const MIB: u64 = 1_048_576;

    fn running(name: &str) -> ContainerStats {
        ContainerStats {
            id: format!("id-{name}"),
            name: name.to_owned(),
            state: Some(ContainerState::Running),
            restart_count: Some(0),
            oom_kills: Some(0),
            ..ContainerStats::default()
        }
    }

    fn batch(containers: Vec<ContainerStats>, exited: Vec<ContainerStats>) -> ContainerStatsBatch {
        ContainerStatsBatch {
            agent_id: "a".into(),
            sent_at: chrono::DateTime::default(),
            sequence: None,
            containers,
            agent_metrics: dockscope_protocol::AgentMetrics::default(),
            host: Some(HostStats {
                cores: Some(4),
                ..HostStats::default()
            }),
            exited,
        }
    }

    fn fired(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Fired(a) => Some(format!("{}: {}", a.container_name, a.cause)),
                Change::Cleared(_) => None,
            })
            .collect()
    }

    fn cleared(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Cleared(a) => Some(format!("{}: {}", a.container_name, a.rule_text)),
                Change::Fired(_) => None,
            })
            .collect()
    }

    #[test]
    fn memory_fires_above_the_threshold_and_clears_below_it() {
        let mut rules = Evaluator::new(default_rules());
        let with_memory = |used| ContainerStats {
            mem_bytes: Some(used),
            mem_limit_bytes: Some(64 * MIB),
            ..running("web")
        };
        // (memory used, what fires, what clears)
        let steps: [(u64, &[&str], &[&str]); 5] = [
            (57 * MIB, &[], &[]), // 89 %
            (
                58 * MIB,
                &["web: memory 91 % of its limit (58 of 64 MiB)"],
                &[],
            ),
            (60 * MIB, &[], &[]), // still on: no second alert
            (10 * MIB, &[], &["web: memory above 90 % of its limit"]),
            (10 * MIB, &[], &[]),
        ];
        for (t, (used, fires, clears)) in steps.into_iter().enumerate() {
            let changes = rules.observe("a", &batch(vec![with_memory(used)], vec![]), t as i64);
            assert_eq!(fired(&changes), fires, "step {t}");
            assert_eq!(cleared(&changes), clears, "step {t}");
        }
    }

    #[test]
    fn a_restart_loop_fires_on_the_fourth_restart_in_the_window_and_clears_as_they_age() {
        let mut rules = Evaluator::new(default_rules());
        let restarted = |count| ContainerStats {
            restart_count: Some(count),
            ..running("job")
        };
        // A container first seen with 40 restarts behind it is not in a loop.
        assert!(rules
            .observe("a", &batch(vec![restarted(40)], vec![]), 0)
            .is_empty());
        let s = 1_000;
        for (t, count) in [(10, 41), (20, 42), (30, 43)] {
            assert!(rules
                .observe("a", &batch(vec![restarted(count)], vec![]), t * s)
                .is_empty());
        }
        let changes = rules.observe("a", &batch(vec![restarted(44)], vec![]), 40 * s);
        assert_eq!(fired(&changes), ["job: restarted 4 times in 5 min"]);
        // The first restart (at 10 s) leaves the 5-minute window at 310 s.
        assert!(rules
            .observe("a", &batch(vec![restarted(44)], vec![]), 309 * s)
            .is_empty());
        let changes = rules.observe("a", &batch(vec![restarted(44)], vec![]), 311 * s);
        assert_eq!(
            cleared(&changes),
            ["job: restarted more than 3 times in 5 min"]
        );
    }

    #[test]
    fn several_restarts_between_two_batches_all_count() {
        let mut rules = Evaluator::new(default_rules());
        let restarted = |count| ContainerStats {
            restart_count: Some(count),
            ..running("job")
        };
        rules.observe("a", &batch(vec![restarted(0)], vec![]), 0);
        let changes = rules.observe("a", &batch(vec![], vec![restarted(5)]), 1_000);
        assert_eq!(fired(&changes), ["job: restarted 5 times in 5 min"]);
    }

    #[test]
    fn unhealthy_holds_while_the_check_fails() {
        let mut rules = Evaluator::new(default_rules());
        let health = |h| ContainerStats {
            health: Some(h),
            ..running("api")
        };
        let cases: [(Health, &[&str], &[&str]); 4] = [
            (Health::Starting, &[], &[]),
            (Health::Unhealthy, &["api: health check failing"], &[]),
            (Health::Unhealthy, &[], &[]),
            (Health::Healthy, &[], &["api: unhealthy"]),
        ];
        for (t, (h, fires, clears)) in cases.into_iter().enumerate() {
            let changes = rules.observe("a", &batch(vec![health(h)], vec![]), t as i64);
            assert_eq!(fired(&changes), fires, "step {t}");
            assert_eq!(cleared(&changes), clears, "step {t}");
        }
    }

    #[test]
    fn an_oom_killed_exit_holds_until_the_container_runs_again_or_leaves() {
        let mut rules = Evaluator::new(default_rules());
        let dead = ContainerStats {
            state: Some(ContainerState::Exited),
            exit_code: Some(137),
            oom_killed: Some(true),
            ..running("hog")
        };
        rules.observe("a", &batch(vec![running("hog")], vec![]), 0);
        let changes = rules.observe("a", &batch(vec![], vec![dead.clone()]), 1);
        assert_eq!(fired(&changes), ["hog: OOM killed"]);
        assert!(rules.observe("a", &batch(vec![], vec![dead]), 2).is_empty());
        let changes = rules.observe("a", &batch(vec![running("hog")], vec![]), 3);
        assert_eq!(cleared(&changes), ["hog: OOM-killed"]);
    }

    #[test]
    fn an_oom_kill_inside_a_running_container_holds_for_five_minutes() {
        let mut rules = Evaluator::new(default_rules());
        let kills = |n| ContainerStats {
            oom_kills: Some(n),
            ..running("app")
        };
        rules.observe("a", &batch(vec![kills(2)], vec![]), 0);
        let changes = rules.observe("a", &batch(vec![kills(3)], vec![]), 1_000);
        assert_eq!(fired(&changes), ["app: the OOM killer killed a process"]);
        assert!(rules
            .observe("a", &batch(vec![kills(3)], vec![]), 300_999)
            .is_empty());
        let changes = rules.observe("a", &batch(vec![kills(3)], vec![]), 301_000);
        assert_eq!(cleared(&changes), ["app: OOM-killed"]);
    }

    #[test]
    fn cpu_fires_only_after_every_sample_of_its_duration_was_above() {
        let mut rules = Evaluator::new(vec![Rule {
            enabled: true,
            agent: None,
            containers: "*".into(),
            condition: Condition::CpuAbove {
                percent: 50.0,
                for_secs: 3,
            },
        }]);
        let cpu = |pct, limit| ContainerStats {
            cpu_pct: Some(pct),
            cpu_limit_cores: limit,
            ..running("calc")
        };
        // (second, CPU % of one core, --cpus, fires)
        let steps = [
            (0, 90.0, Some(1.0), false),
            (1, 90.0, Some(1.0), false),
            (2, 40.0, Some(1.0), false), // a dip restarts the clock
            (3, 90.0, Some(1.0), false),
            (5, 90.0, Some(1.0), false),
            (6, 90.0, Some(1.0), true),
        ];
        for (t, pct, limit, fires) in steps {
            let changes = rules.observe("a", &batch(vec![cpu(pct, limit)], vec![]), t * 1_000);
            assert_eq!(!fired(&changes).is_empty(), fires, "second {t}");
        }
        // No --cpus: the limit is the host's 4 cores, 90 % of one core is 22.5 % of that.
        let changes = rules.observe("a", &batch(vec![cpu(90.0, None)], vec![]), 7_000);
        assert_eq!(
            cleared(&changes),
            ["calc: CPU above 50 % of its limit for 3 s"]
        );
    }

    #[test]
    fn exited_non_zero_is_off_by_default_and_says_the_code_when_on() {
        let dead = |code| ContainerStats {
            state: Some(ContainerState::Exited),
            exit_code: Some(code),
            ..running("batch")
        };
        let mut defaults = Evaluator::new(default_rules());
        assert!(defaults
            .observe("a", &batch(vec![], vec![dead(2)]), 0)
            .is_empty());
        let mut rules = Evaluator::new(vec![Rule {
            condition: Condition::ExitedNonZero,
            ..default_rules()[0].clone()
        }]);
        assert!(rules
            .observe("a", &batch(vec![], vec![dead(0)]), 0)
            .is_empty());
        let changes = rules.observe("b", &batch(vec![], vec![dead(2)]), 0);
        assert_eq!(fired(&changes), ["batch: exited with code 2"]);
    }

    #[test]
    fn scope_limits_a_rule_to_its_agent_and_names() {
        let mut rules = Evaluator::new(vec![Rule {
            enabled: true,
            agent: Some("edge".into()),
            containers: "web-*".into(),
            condition: Condition::Unhealthy,
        }]);
        let sick = |name: &str| ContainerStats {
            health: Some(Health::Unhealthy),
            ..running(name)
        };
        let mut both = batch(vec![sick("web-1"), sick("db-1")], vec![]);
        both.agent_id = "core".into();
        assert!(rules.observe("card-1", &both, 0).is_empty());
        both.agent_id = "edge".into();
        assert_eq!(
            fired(&rules.observe("card-2", &both, 0)),
            ["web-1: health check failing"]
        );
    }

    #[test]
    fn a_container_that_leaves_clears_and_other_agents_keep_theirs() {
        let mut rules = Evaluator::new(default_rules());
        let sick = ContainerStats {
            health: Some(Health::Unhealthy),
            ..running("api")
        };
        rules.observe("a", &batch(vec![sick.clone()], vec![]), 0);
        rules.observe("b", &batch(vec![sick], vec![]), 0);
        assert_eq!(rules.active().count(), 2);
        let changes = rules.observe("a", &batch(vec![], vec![]), 1);
        assert_eq!(cleared(&changes), ["api: unhealthy"]);
        assert_eq!(
            rules
                .active()
                .map(|a| a.source.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(rules.forget("b").len(), 1);
        assert_eq!(rules.active().count(), 0);
    }

    #[test]
    fn editing_a_rule_clears_its_alerts_and_keeps_the_others() {
        let mut rules = Evaluator::new(default_rules());
        let both = ContainerStats {
            health: Some(Health::Unhealthy),
            mem_bytes: Some(63 * MIB),
            mem_limit_bytes: Some(64 * MIB),
            ..running("api")
        };
        assert_eq!(
            rules
                .observe("a", &batch(vec![both.clone()], vec![]), 0)
                .len(),
            2
        );
        let mut edited = default_rules();
        edited[0].condition = Condition::MemoryAbove { percent: 99.0 };
        let changes = rules.set_rules(edited);
        assert_eq!(cleared(&changes), ["api: memory above 90 % of its limit"]);
        // The edited rule evaluates afresh (63 of 64 MiB is 98.4 %, under 99 %).
        assert!(rules.observe("a", &batch(vec![both], vec![]), 1).is_empty());
        assert_eq!(rules.active().count(), 1);
    }

    #[test]
    fn a_renamed_container_is_matched_by_its_new_name() {
        let mut rules = Evaluator::new(vec![Rule {
            containers: "web-*".into(),
            condition: Condition::Unhealthy,
            ..default_rules()[0].clone()
        }]);
        let sick = |name: &str| {
            ContainerStats {
                health: Some(Health::Unhealthy),
                ..running("x")
            }
            .renamed(name)
        };
        assert!(rules
            .observe("a", &batch(vec![sick("db")], vec![]), 0)
            .is_empty());
        assert_eq!(
            fired(&rules.observe("a", &batch(vec![sick("web-1")], vec![]), 1)),
            ["web-1: health check failing"]
        );
    }

    trait Renamed {
        fn renamed(self, name: &str) -> Self;
    }

    impl Renamed for ContainerStats {
        fn renamed(mut self, name: &str) -> Self {
            name.clone_into(&mut self.name);
            self
        }
    }

    #[test]
    fn two_hosts_with_one_agent_id_keep_their_own_alerts() {
        // Two cloned VMs both called "a": their batches alternate, and neither clears the
        // other's alert.
        let mut rules = Evaluator::new(default_rules());
        let sick = ContainerStats {
            health: Some(Health::Unhealthy),
            ..running("api")
        };
        let fine = running("db");
        let mut changes = Vec::new();
        for t in 0..3 {
            changes.extend(rules.observe("card-1", &batch(vec![sick.clone()], vec![]), t));
            changes.extend(rules.observe("card-2", &batch(vec![fine.clone()], vec![]), t));
        }
        assert_eq!(fired(&changes), ["api: health check failing"]);
        assert!(cleared(&changes).is_empty());
    }

    #[test]
    fn removing_a_rule_keeps_the_alerts_of_the_others_and_their_since() {
        let mut rules = Evaluator::new(default_rules());
        let sick = ContainerStats {
            health: Some(Health::Unhealthy),
            mem_bytes: Some(63 * MIB),
            mem_limit_bytes: Some(64 * MIB),
            ..running("api")
        };
        rules.observe("a", &batch(vec![sick.clone()], vec![]), 0);
        let mut fewer = default_rules();
        fewer.remove(0); // memory; "unhealthy" moves from 2 to 1
        let changes = rules.set_rules(fewer);
        assert_eq!(cleared(&changes), ["api: memory above 90 % of its limit"]);
        assert!(rules
            .observe("a", &batch(vec![sick], vec![]), 1_000)
            .is_empty());
        let held: Vec<(usize, &str, i64)> = rules
            .active()
            .map(|a| (a.rule, a.rule_text.as_str(), a.since_ms))
            .collect();
        assert_eq!(held, [(1, "unhealthy", 0)]);
    }

    #[test]
    fn a_cpu_alert_holds_across_an_edit_of_another_rule() {
        let cpu_rule = Rule {
            condition: Condition::CpuAbove {
                percent: 50.0,
                for_secs: 2,
            },
            ..default_rules()[0].clone()
        };
        let mut rules = Evaluator::new(vec![cpu_rule.clone()]);
        let busy = ContainerStats {
            cpu_pct: Some(90.0),
            cpu_limit_cores: Some(1.0),
            ..running("calc")
        };
        for t in 0..3 {
            rules.observe("a", &batch(vec![busy.clone()], vec![]), t * 1_000);
        }
        assert_eq!(rules.active().count(), 1);
        let changes = rules.set_rules(vec![default_rules()[2].clone(), cpu_rule]);
        assert!(changes.is_empty());
        assert!(rules
            .observe("a", &batch(vec![busy], vec![]), 3_000)
            .is_empty());
        assert_eq!(rules.active().count(), 1);
    }
}
