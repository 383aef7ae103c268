//! Attention: the alert rules (`dockscope-rules`) applied to every batch of every agent, and
//! what the page shows of the alerts that hold — a red mark on the row and the card, a line in
//! the attention list at the top (newest first), the count in the page title, and, if the user
//! allowed it, one browser notification per firing.
//!
//! ```text
//!  a card's batch, folded (ingest.rs, AgentModel::work_with)
//!        │ browser time it arrived
//!        ▼
//!  Attention::observe ──► one Evaluator for every agent ──► fired / cleared
//!        │
//!        ▼ frame.rs: in the next frame after a change, else once a second while alerts hold
//!  lines ─► the attention list     marks ─► rows and cards     count ─► the title
//!  notices (fired only, once each) ─► browser notifications, when allowed
//! ```
//!
//! Pure: times are the browser clock's milliseconds, passed in; nothing here reads a clock or
//! touches the DOM, so every rule of what is shown is tested on the host.

use std::collections::{BTreeMap, HashMap};

use dockscope_protocol::ContainerStatsBatch;
use dockscope_rules::{Alert, Change, Evaluator, Rule};

use crate::format;
use crate::text;

/// Lines the attention list shows; the rest are counted ("and 12 more").
pub const LIST_LINES: usize = 50;
/// Notifications shown one by one after a frame's firings; more become one summary, so a page
/// opened on a host where fifty containers are unhealthy does not pop fifty windows.
pub const NOTICES_AT_ONCE: usize = 3;
/// Firings kept for notification between two frames (more are only counted).
const MAX_PENDING_FIRED: usize = 1_000;
/// Containers a card's tooltip names; the rest are counted.
const CARD_TIP_CONTAINERS: usize = 10;
/// Characters of a container name or agent id in the list, a tooltip or a notification.
const SHOWN_NAME_CHARS: usize = 80;

/// Every agent's alerts, evaluated by one [`Evaluator`].
#[derive(Debug, Default)]
pub struct Attention {
    evaluator: Evaluator,
    /// Alerts fired since the notices were last taken, oldest first.
    fired: Vec<Alert>,
    /// Firings beyond [`MAX_PENDING_FIRED`] since then: counted in the summary only.
    fired_dropped: usize,
    /// Something fired or cleared since [`Attention::take_dirty`].
    dirty: bool,
}

/// One line of the attention list.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLine {
    /// Unique among the alerts that hold: rule, agent and container.
    pub key: String,
    pub agent: String,
    pub container: String,
    pub container_id: String,
    /// The rule as a person reads it ("memory above 90 % of its limit").
    pub rule: String,
    /// What made it fire, with its figures as of the latest batch.
    pub cause: String,
    /// When it fired, browser clock.
    pub since_ms: f64,
}

/// What a row shows of its container's alerts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mark {
    /// The container's name (cut), for the card's tooltip.
    pub container: String,
    /// One per alert that holds, in the rules' order.
    pub causes: Vec<String>,
}

impl Mark {
    /// The row's tooltip: every cause, one a line.
    pub fn tip(&self) -> String {
        self.causes.join("\n")
    }
}

/// The marks of one card, by container id.
pub type CardMarks = HashMap<String, Mark>;

/// One browser notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    /// A later notice with the same tag replaces this one on screen.
    pub tag: String,
}

/// Whether the page may show notifications (`Notification.permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Permission {
    /// No Notification API here (an old browser, or a page not served over https or from
    /// localhost: browsers allow notifications only in a secure context).
    #[default]
    Unsupported,
    /// Not asked yet: the page offers a button, and never asks by itself.
    Ask,
    Granted,
    /// The user (or the browser) said no: the page says so and does not ask again.
    Denied,
}

impl Permission {
    /// `Notification.permission` as read (`"default"`, `"granted"`, `"denied"`); `None`
    /// where there is no Notification API.
    pub fn parse(value: Option<&str>) -> Permission {
        match value {
            None => Permission::Unsupported,
            Some("granted") => Permission::Granted,
            Some("denied") => Permission::Denied,
            Some(_) => Permission::Ask,
        }
    }

    /// The word tests and stylesheets key on (`data-permission`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Unsupported => "unsupported",
            Permission::Ask => "ask",
            Permission::Granted => "granted",
            Permission::Denied => "denied",
        }
    }
}

fn cut(text: &str) -> String {
    format::truncate(text, SHOWN_NAME_CHARS).into_owned()
}

fn alert_key(alert: &Alert) -> String {
    format!("{}|{}|{}", alert.rule, alert.source, alert.container_id)
}

/// The evaluator's source for card `card`: each card keeps its own alerts, so two hosts with
/// the same `--agent-id` (cloned machines) never clear each other's.
fn source(card: u32) -> String {
    card.to_string()
}

impl Attention {
    pub fn new(rules: Vec<Rule>) -> Attention {
        Attention {
            evaluator: Evaluator::new(rules),
            ..Attention::default()
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &[Rule] {
        self.evaluator.rules()
    }

    /// Takes one batch of card `card`, which arrived at `now_ms` (browser clock).
    /// `engine_down`: the agent's latest `agent_status` said its engine does not answer. Its
    /// empty batches then mean "nothing could be read", not "every container left": they are
    /// skipped, so an engine restart neither clears every alert nor notifies them all again
    /// (as the agent's webhook holds its alerts).
    pub fn observe(
        &mut self,
        card: u32,
        batch: &ContainerStatsBatch,
        now_ms: f64,
        engine_down: bool,
    ) {
        if engine_down && batch.containers.is_empty() && batch.exited.is_empty() {
            return;
        }
        let now = if now_ms.is_finite() { now_ms as i64 } else { 0 };
        let changes = self.evaluator.observe(&source(card), batch, now);
        self.record(changes);
    }

    /// The card `card` was removed: its alerts clear.
    pub fn forget_card(&mut self, card: u32) {
        let changes = self.evaluator.forget(&source(card));
        self.record(changes);
    }

    /// New rules (saved in the editor, imported): alerts of rules that changed clear, and
    /// fire again under the new rule when it holds.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        let changes = self.evaluator.set_rules(rules);
        self.dirty = true;
        self.record(changes);
    }

    fn record(&mut self, changes: Vec<Change>) {
        for change in changes {
            self.dirty = true;
            if let Change::Fired(alert) = change {
                if self.fired.len() < MAX_PENDING_FIRED {
                    self.fired.push(alert);
                } else {
                    self.fired_dropped += 1;
                }
            }
        }
    }

    /// Whether something fired or cleared since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Alerts that hold now.
    pub fn count(&self) -> usize {
        self.evaluator.active().count()
    }

    /// The attention list: at most `limit` lines, newest first (then by agent, container and
    /// rule, so lines that fired together keep their places).
    pub fn lines(&self, limit: usize) -> Vec<AlertLine> {
        let newest_first = |a: &&Alert, b: &&Alert| {
            b.since_ms
                .cmp(&a.since_ms)
                .then_with(|| a.agent_id.cmp(&b.agent_id))
                .then_with(|| a.container_name.cmp(&b.container_name))
                .then_with(|| a.rule.cmp(&b.rule))
        };
        let mut alerts: Vec<&Alert> = self.evaluator.active().collect();
        // Only the lines shown are sorted: a hostile agent may raise thousands.
        if limit < alerts.len() {
            alerts.select_nth_unstable_by(limit, newest_first);
            alerts.truncate(limit);
        }
        alerts.sort_by(newest_first);
        alerts
            .into_iter()
            .take(limit)
            .map(|alert| AlertLine {
                key: alert_key(alert),
                agent: cut(&alert.agent_id),
                container: cut(&alert.container_name),
                container_id: alert.container_id.clone(),
                rule: alert.rule_text.clone(),
                cause: alert.cause.to_string(),
                since_ms: alert.since_ms as f64,
            })
            .collect()
    }

    /// Every card's marks: its alerts, by container id.
    /// Cards without an alert are absent.
    pub fn marks(&self) -> HashMap<u32, CardMarks> {
        // In the rules' order, so a mark reads the same from one second to the next.
        let mut alerts: Vec<&Alert> = self.evaluator.active().collect();
        alerts.sort_by_key(|a| a.rule);
        let mut by_card: HashMap<u32, CardMarks> = HashMap::new();
        for alert in alerts {
            let Ok(card) = alert.source.parse::<u32>() else {
                continue;
            };
            let mark = by_card
                .entry(card)
                .or_default()
                .entry(alert.container_id.clone())
                .or_insert_with(|| Mark {
                    container: cut(&alert.container_name),
                    causes: Vec::new(),
                });
            mark.causes.push(alert.cause.to_string());
        }
        by_card
    }

    /// The notifications for what fired since the last call, each firing once: the first
    /// [`NOTICES_AT_ONCE`] one by one, the rest as one summary.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        let fired = std::mem::take(&mut self.fired);
        let dropped = std::mem::take(&mut self.fired_dropped);
        let mut notices: Vec<Notice> = fired
            .iter()
            .take(NOTICES_AT_ONCE)
            .map(|alert| Notice {
                title: text::alert_notice_title(&cut(&alert.container_name), &cut(&alert.agent_id)),
                body: text::alert_notice_body(&alert.cause.to_string(), &alert.rule_text),
                tag: alert_key(alert),
            })
            .collect();
        let rest = &fired[fired.len().min(NOTICES_AT_ONCE)..];
        if !rest.is_empty() || dropped > 0 {
            let names: Vec<String> = rest.iter().map(|a| cut(&a.container_name)).collect();
            notices.push(Notice {
                title: text::more_alerts_title(rest.len() + dropped),
                body: format::truncate(&names.join(", "), 200).into_owned(),
                tag: "dockscope-more-alerts".to_owned(),
            });
        }
        notices
    }
}

/// The page title: `Dockscope` when all is clear, `(2) ⚠ Dockscope` while two alerts hold.
pub fn page_title(count: usize) -> String {
    if count == 0 {
        text::APP_NAME.to_owned()
    } else {
        format!("({count}) ⚠ {}", text::APP_NAME)
    }
}

/// A card's tooltip: how many of its containers need attention and why, `None` when none.
pub fn card_tip(marks: &CardMarks) -> Option<String> {
    if marks.is_empty() {
        return None;
    }
    let by_name: BTreeMap<(&str, &str), &Mark> = marks
        .iter()
        .map(|(id, mark)| ((mark.container.as_str(), id.as_str()), mark))
        .collect();
    let mut tip = text::card_attention(marks.len());
    for mark in by_name.values().take(CARD_TIP_CONTAINERS) {
        tip.push_str(&format!("\n{}: {}", mark.container, mark.causes.join("; ")));
    }
    if marks.len() > CARD_TIP_CONTAINERS {
        tip.push_str(&format!(
            "\n{}",
            text::and_more(marks.len() - CARD_TIP_CONTAINERS)
        ));
    }
    Some(tip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockscope_protocol::{ContainerState, ContainerStats, Health, HostStats};
    use dockscope_rules::{default_rules, Condition};

    const MIB: u64 = 1_048_576;

    fn container(name: &str) -> ContainerStats {
        ContainerStats {
            id: format!("id-{name}"),
            name: name.to_owned(),
            state: Some(ContainerState::Running),
            restart_count: Some(0),
            oom_kills: Some(0),
            mem_bytes: Some(10 * MIB),
            mem_limit_bytes: Some(64 * MIB),
            ..ContainerStats::default()
        }
    }

    fn sick(name: &str) -> ContainerStats {
        ContainerStats {
            health: Some(Health::Unhealthy),
            ..container(name)
        }
    }

    fn full(name: &str, used_mib: u64) -> ContainerStats {
        ContainerStats {
            mem_bytes: Some(used_mib * MIB),
            ..container(name)
        }
    }

    fn batch(agent: &str, containers: Vec<ContainerStats>) -> ContainerStatsBatch {
        ContainerStatsBatch {
            agent_id: agent.to_owned(),
            sent_at: chrono::DateTime::default(),
            sequence: None,
            containers,
            agent_metrics: dockscope_protocol::AgentMetrics::default(),
            host: Some(HostStats::default()),
            exited: Vec::new(),
        }
    }

    fn shown(attention: &Attention) -> Vec<String> {
        attention
            .lines(LIST_LINES)
            .into_iter()
            .map(|l| format!("{} on {}: {}", l.container, l.agent, l.cause))
            .collect()
    }

    #[test]
    fn the_list_is_newest_first_and_follows_the_batches() {
        let mut attention = Attention::new(default_rules());
        // (second, card 1's containers, what the list shows, title)
        let steps: [(f64, Vec<ContainerStats>, &[&str], &str); 4] = [
            (
                0.0,
                vec![container("web"), container("db")],
                &[],
                "Dockscope",
            ),
            (
                1.0,
                vec![sick("web"), container("db")],
                &["web on a: health check failing"],
                "(1) ⚠ Dockscope",
            ),
            (
                2.0,
                vec![sick("web"), full("db", 60)],
                &[
                    "db on a: memory 94 % of its limit (60 of 64 MiB)",
                    "web on a: health check failing",
                ],
                "(2) ⚠ Dockscope",
            ),
            (
                3.0,
                vec![container("web"), full("db", 62)],
                &["db on a: memory 97 % of its limit (62 of 64 MiB)"],
                "(1) ⚠ Dockscope",
            ),
        ];
        for (t, containers, want, title) in steps {
            attention.observe(1, &batch("a", containers), t * 1_000.0, false);
            assert_eq!(attention.take_dirty(), t > 0.0, "second {t}");
            assert_eq!(shown(&attention), want, "second {t}");
            assert_eq!(page_title(attention.count()), title, "second {t}");
        }
        let lines = attention.lines(LIST_LINES);
        assert_eq!(lines[0].since_ms, 2_000.0);
        assert_eq!(lines[0].rule, "memory above 90 % of its limit");
    }

    #[test]
    fn a_firing_is_notified_once_and_a_clear_never() {
        let mut attention = Attention::new(default_rules());
        attention.observe(1, &batch("a", vec![container("web")]), 0.0, false);
        assert!(attention.take_notices().is_empty());
        attention.observe(1, &batch("a", vec![sick("web")]), 1_000.0, false);
        let notices = attention.take_notices();
        assert_eq!(
            notices,
            [Notice {
                title: "⚠ web on a".into(),
                body: "health check failing (rule: unhealthy)".into(),
                tag: "2|1|id-web".into(),
            }]
        );
        attention.observe(1, &batch("a", vec![sick("web")]), 2_000.0, false);
        assert!(attention.take_notices().is_empty(), "still the same firing");
        attention.observe(1, &batch("a", vec![container("web")]), 3_000.0, false);
        assert!(
            attention.take_notices().is_empty(),
            "a clear is not notified"
        );
        attention.observe(1, &batch("a", vec![sick("web")]), 4_000.0, false);
        assert_eq!(attention.take_notices().len(), 1, "a new firing is");
    }

    #[test]
    fn many_firings_at_once_are_three_notices_and_a_summary() {
        let mut attention = Attention::new(default_rules());
        let names = ["a1", "a2", "a3", "a4", "a5"];
        attention.observe(1, &batch("h", names.map(container).to_vec()), 0.0, false);
        attention.observe(1, &batch("h", names.map(sick).to_vec()), 1_000.0, false);
        let notices = attention.take_notices();
        let titles: Vec<&str> = notices.iter().map(|n| n.title.as_str()).collect();
        assert_eq!(
            titles,
            ["⚠ a1 on h", "⚠ a2 on h", "⚠ a3 on h", "2 more alerts fired"]
        );
        assert_eq!(notices[3].body, "a4, a5");
    }

    #[test]
    fn rows_and_cards_are_marked_per_agent_and_a_removed_card_forgets_its_agent() {
        let mut attention = Attention::new(default_rules());
        attention.observe(
            1,
            &batch("a", vec![sick("web"), container("db")]),
            0.0,
            false,
        );
        attention.observe(2, &batch("b", vec![sick("web")]), 0.0, false);
        let both = ContainerStats {
            mem_bytes: Some(63 * MIB),
            ..sick("api")
        };
        attention.observe(1, &batch("a", vec![sick("web"), both]), 1_000.0, false);
        let marks = attention.marks();
        let card1 = &marks[&1];
        assert_eq!(card1.len(), 2);
        assert_eq!(
            card1["id-api"].tip(),
            "memory 98 % of its limit (63 of 64 MiB)\nhealth check failing"
        );
        assert_eq!(
            card_tip(card1).as_deref(),
            Some(
                "2 containers need attention\n\
                 api: memory 98 % of its limit (63 of 64 MiB); health check failing\n\
                 web: health check failing"
            )
        );
        assert_eq!(marks[&2].len(), 1);
        assert_eq!(attention.count(), 4);

        attention.forget_card(2);
        assert_eq!(attention.count(), 3);
        assert!(!attention.marks().contains_key(&2));
        assert!(attention.take_dirty());
        assert!(card_tip(&CardMarks::new()).is_none());
    }

    #[test]
    fn two_cards_of_one_agent_id_keep_their_own_alerts() {
        // Two cloned hosts both say "a": one's batch never clears the other's alert.
        let mut attention = Attention::new(default_rules());
        attention.observe(1, &batch("a", vec![sick("web")]), 0.0, false);
        attention.observe(2, &batch("a", vec![container("db")]), 0.0, false);
        attention.observe(1, &batch("a", vec![sick("web")]), 1_000.0, false);
        attention.observe(2, &batch("a", vec![container("db")]), 1_000.0, false);
        assert_eq!(attention.count(), 1);
        assert_eq!(attention.marks().keys().collect::<Vec<_>>(), [&1]);
        attention.forget_card(1);
        assert_eq!(attention.count(), 0);
    }

    #[test]
    fn an_agent_that_changes_its_id_leaves_no_stale_alerts() {
        let mut attention = Attention::new(default_rules());
        attention.observe(1, &batch("old", vec![sick("web")]), 0.0, false);
        attention.observe(1, &batch("new", vec![container("web")]), 1_000.0, false);
        assert_eq!(attention.count(), 0);
    }

    #[test]
    fn edited_rules_apply_from_the_next_batch() {
        let mut attention = Attention::new(default_rules());
        attention.observe(1, &batch("a", vec![full("db", 60)]), 0.0, false);
        assert_eq!(attention.count(), 1);
        let mut rules = default_rules();
        rules[0].condition = Condition::MemoryAbove { percent: 95.0 };
        attention.set_rules(rules.clone());
        assert_eq!(attention.count(), 0);
        assert_eq!(attention.rules(), rules.as_slice());
        attention.observe(1, &batch("a", vec![full("db", 60)]), 1_000.0, false);
        assert_eq!(attention.count(), 0, "94 % is under 95 %");
        attention.observe(1, &batch("a", vec![full("db", 62)]), 2_000.0, false);
        assert_eq!(
            shown(&attention),
            ["db on a: memory 97 % of its limit (62 of 64 MiB)"]
        );
    }

    #[test]
    fn the_list_is_bounded_and_long_names_are_cut() {
        let mut attention = Attention::new(default_rules());
        let long = "x".repeat(300);
        let many: Vec<ContainerStats> = (0..LIST_LINES + 5)
            .map(|i| sick(&format!("{long}{i}")))
            .collect();
        attention.observe(1, &batch("a", many), 0.0, false);
        let lines = attention.lines(LIST_LINES);
        assert_eq!(lines.len(), LIST_LINES);
        // The first lines of the whole list, in its order.
        assert_eq!(lines, attention.lines(usize::MAX)[..LIST_LINES]);
        assert_eq!(attention.count(), LIST_LINES + 5);
        assert!(lines
            .iter()
            .all(|l| l.container.chars().count() <= SHOWN_NAME_CHARS));
        let tip = card_tip(&attention.marks()[&1]).unwrap_or_default();
        assert!(tip.ends_with("and 45 more"), "{tip}");
    }

    #[test]
    fn permission_words() {
        let cases = [
            (None, Permission::Unsupported, "unsupported"),
            (Some("default"), Permission::Ask, "ask"),
            (Some("granted"), Permission::Granted, "granted"),
            (Some("denied"), Permission::Denied, "denied"),
        ];
        for (value, permission, word) in cases {
            assert_eq!(Permission::parse(value), permission);
            assert_eq!(permission.as_str(), word);
        }
    }

    #[test]
    fn an_engine_outage_holds_the_alerts_instead_of_clearing_them() {
        let mut attention = Attention::new(default_rules());
        attention.observe(1, &batch("a", vec![sick("web")]), 0.0, false);
        assert_eq!(attention.take_notices().len(), 1);
        // The engine is away: the agent's batches are empty.
        attention.observe(1, &batch("a", vec![]), 1_000.0, true);
        attention.observe(1, &batch("a", vec![]), 2_000.0, true);
        assert_eq!(attention.count(), 1, "held, not cleared");
        attention.observe(1, &batch("a", vec![sick("web")]), 3_000.0, false);
        assert!(
            attention.take_notices().is_empty(),
            "no second notification"
        );
        assert_eq!(shown(&attention)[0].split(':').next(), Some("web on a"));
        // A host that really lost its containers, engine answering: they clear.
        attention.observe(1, &batch("a", vec![]), 4_000.0, false);
        assert_eq!(attention.count(), 0);
    }
}
