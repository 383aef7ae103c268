//! Container events (contract 6): each agent's last [`MAX_EVENTS`], without the doubles a
//! reconnect's replay brings, and the lines the event feeds show (a card's own, and one merged
//! across agents, newest first, filtered by text and kind). Pure: `ingest.rs` keeps an
//! [`EventLog`] per agent, `frame.rs` turns logs into [`EventLine`]s, the views draw them.
//!
//! # Doubles and restarts
//! An agent numbers its events from 1 per process (`event_id`) and replays its last 500 on
//! every connect. A known number is a replay and is dropped — unless its content differs,
//! which means a new agent process (it numbers from 1 again); so does a process start time
//! that moved ([`EventLog::new_process`], from `agent_status` uptimes, see `ingest.rs`). The
//! events of an earlier process stay (they happened) under an older epoch. A replayed number
//! older than the oldest kept was seen and dropped for room: it is not taken back.
//!
//! # Times
//! An event's `time` is on the agent's clock; it keeps its distance to the message's
//! `sent_at`, which is placed on the browser's clock as a batch's is (`clock.rs`).

use dockscope_protocol::{ContainerEvent, EventAction, Health};

use crate::clock::ClockSkew;
use crate::format::{self, truncate_owned};
use crate::text;

/// Events kept per agent.
pub const MAX_EVENTS: usize = 500;
/// Characters kept of an event's container id, name and image.
pub const MAX_EVENT_TEXT_CHARS: usize = 256;
/// Lines a feed shows before "show more", and how many more each click shows: a few hundred
/// DOM nodes at most, drawn once when they change.
pub const FEED_PAGE: usize = 50;
/// Lines of a card's own feed (the merged feed has the filters and the rest).
pub const CARD_FEED_LINES: usize = 8;

/// One event as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEntry {
    /// Which agent process numbered it (0, then 1 after a restart, …).
    pub epoch: u32,
    pub event_id: u64,
    /// When it happened, browser clock, ms since the epoch.
    pub t_ms: f64,
    /// Container id and name (cut to [`MAX_EVENT_TEXT_CHARS`]).
    pub id: String,
    pub name: String,
    pub action: EventAction,
    pub exit_code: Option<i64>,
    pub oom_killed: Option<bool>,
    pub signal: Option<u32>,
    pub health: Option<Health>,
}

impl EventEntry {
    /// Whether it is the same event as `other` (number aside): a replay.
    fn same_as(&self, other: &EventEntry) -> bool {
        (
            self.id.as_str(),
            self.action,
            self.exit_code,
            self.signal,
            self.health,
        ) == (
            other.id.as_str(),
            other.action,
            other.exit_code,
            other.signal,
            other.health,
        )
    }

    /// Something to look at: a non-zero exit or an OOM kill, an OOM event, a health check
    /// turning unhealthy, a restart.
    pub fn is_problem(&self) -> bool {
        match self.action {
            EventAction::Die => {
                self.exit_code.is_some_and(|c| c != 0) || self.oom_killed == Some(true)
            }
            EventAction::Oom | EventAction::Restart => true,
            EventAction::HealthStatus => self.health == Some(Health::Unhealthy),
            _ => false,
        }
    }

    /// What happened, in words: "died, exit code 137, OOM killed", "health: unhealthy",
    /// "killed with signal 15 (SIGTERM)".
    pub fn describe(&self) -> String {
        text::event_words(
            self.action,
            self.exit_code,
            self.oom_killed == Some(true),
            self.signal,
            self.health,
        )
    }
}

/// One agent's events, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    /// At most [`MAX_EVENTS`], in (epoch, number) order.
    entries: std::collections::VecDeque<EventEntry>,
    /// The current process's epoch.
    epoch: u32,
    /// Bumped on every change, so a view redraws only when this moved.
    version: u64,
}

impl EventLog {
    /// Keeps `event` (received at `local_ms`) unless it is a replay; returns whether it was
    /// kept. `clock` places its time (see the module doc).
    pub fn add(&mut self, event: ContainerEvent, local_ms: f64, clock: &ClockSkew) -> bool {
        let sent_ms = event.sent_at.timestamp_millis();
        let local_sent = clock.to_local(sent_ms as f64, local_ms);
        let before = sent_ms
            .checked_sub(event.time.timestamp_millis())
            .unwrap_or(0)
            .max(0);
        let mut entry = EventEntry {
            epoch: self.epoch,
            event_id: event.event_id,
            t_ms: local_sent - before as f64,
            id: event.id,
            name: event.name,
            action: event.action,
            exit_code: event.exit_code,
            oom_killed: event.oom_killed,
            signal: event.signal,
            health: event.health,
        };
        if !entry.t_ms.is_finite() {
            entry.t_ms = local_ms;
        }
        truncate_owned(&mut entry.id, MAX_EVENT_TEXT_CHARS);
        truncate_owned(&mut entry.name, MAX_EVENT_TEXT_CHARS);
        let current = self.epoch;
        let known = self
            .entries
            .iter()
            .position(|e| e.epoch == current && e.event_id == entry.event_id);
        match known {
            Some(at) if self.entries[at].same_as(&entry) => return false,
            Some(_) => {
                // The same number for another event: a new process numbering from 1.
                self.new_process();
                entry.epoch = self.epoch;
            }
            None => {
                let oldest = self
                    .entries
                    .iter()
                    .find(|e| e.epoch == current)
                    .map(|e| e.event_id);
                if self.entries.len() >= MAX_EVENTS
                    && oldest.is_some_and(|oldest| entry.event_id < oldest)
                {
                    // Seen before and dropped for room.
                    return false;
                }
            }
        }
        let key = (entry.epoch, entry.event_id);
        let at = self
            .entries
            .iter()
            .rposition(|e| (e.epoch, e.event_id) < key)
            .map_or(0, |i| i + 1);
        self.entries.insert(at, entry);
        while self.entries.len() > MAX_EVENTS {
            self.entries.pop_front();
        }
        self.version += 1;
        true
    }

    /// The agent restarted: numbers start again (earlier events stay).
    pub fn new_process(&mut self) {
        if self.entries.iter().any(|e| e.epoch == self.epoch) {
            self.epoch += 1;
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &EventEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Changes whenever an event is kept.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// Which events a feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventKind {
    #[default]
    All,
    /// [`EventEntry::is_problem`].
    Problems,
    /// `die` and `oom`.
    Deaths,
    /// `health_status`.
    Health,
    /// `create`, `start`, `stop`, `restart`, `kill`, `pause`, `unpause`, `destroy`.
    Lifecycle,
}

impl EventKind {
    /// Every kind, in the picker's order.
    pub const ALL: [EventKind; 5] = [
        EventKind::All,
        EventKind::Problems,
        EventKind::Deaths,
        EventKind::Health,
        EventKind::Lifecycle,
    ];

    /// Its value in the picker.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::All => "all",
            EventKind::Problems => "problems",
            EventKind::Deaths => "deaths",
            EventKind::Health => "health",
            EventKind::Lifecycle => "lifecycle",
        }
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    pub fn matches(self, entry: &EventEntry) -> bool {
        match self {
            EventKind::All => true,
            EventKind::Problems => entry.is_problem(),
            EventKind::Deaths => matches!(entry.action, EventAction::Die | EventAction::Oom),
            EventKind::Health => entry.action == EventAction::HealthStatus,
            EventKind::Lifecycle => !matches!(
                entry.action,
                EventAction::Die
                    | EventAction::Oom
                    | EventAction::HealthStatus
                    | EventAction::Unknown
            ),
        }
    }
}

/// One line of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine {
    /// Unique across the page: agent key, epoch, number, and the host's title (a line drawn
    /// before the agent said its id is drawn anew once it has).
    pub key: String,
    pub t_ms: f64,
    /// The agent's title.
    pub host: String,
    /// The container's name (cut for display; the id in its tooltip).
    pub container: String,
    pub container_id: String,
    /// `die`, `oom`, `health_status`, … (`data-action`).
    pub action: &'static str,
    /// [`EventEntry::describe`].
    pub text: String,
    pub problem: bool,
}

/// The wire name of an action.
pub fn action_name(action: EventAction) -> &'static str {
    match action {
        EventAction::Create => "create",
        EventAction::Start => "start",
        EventAction::Stop => "stop",
        EventAction::Die => "die",
        EventAction::Oom => "oom",
        EventAction::Kill => "kill",
        EventAction::Restart => "restart",
        EventAction::Pause => "pause",
        EventAction::Unpause => "unpause",
        EventAction::HealthStatus => "health_status",
        EventAction::Destroy => "destroy",
        EventAction::Unknown => "unknown",
    }
}

/// The line of `entry` on the agent `agent_key` titled `host`.
pub fn line(agent_key: u32, host: &str, entry: &EventEntry) -> EventLine {
    let text = entry.describe();
    EventLine {
        key: format!("{agent_key}-{}-{}-{host}", entry.epoch, entry.event_id),
        t_ms: entry.t_ms,
        host: host.to_owned(),
        container: format::truncate(&entry.name, 60).into_owned(),
        container_id: entry.id.clone(),
        action: action_name(entry.action),
        text,
        problem: entry.is_problem(),
    }
}

/// One agent's log as a feed reads it.
pub struct FeedSource<'a> {
    pub agent_key: u32,
    pub host: &'a str,
    pub log: &'a EventLog,
}

/// The lines of `sources` that match `kind` and `filter` (case-insensitive, in the host,
/// container or words), newest first, at most `limit`; and how many match in all.
pub fn feed(
    sources: &[FeedSource<'_>],
    kind: EventKind,
    filter: &str,
    limit: usize,
) -> (Vec<EventLine>, usize) {
    let needle = filter.trim().to_lowercase();
    let mut matching: Vec<(u32, &str, &EventEntry)> = Vec::new();
    for source in sources {
        let host_hit = !needle.is_empty() && source.host.to_lowercase().contains(&needle);
        for entry in source.log.iter() {
            if !kind.matches(entry) {
                continue;
            }
            let hit = needle.is_empty()
                || host_hit
                || entry.name.to_lowercase().contains(&needle)
                || entry.describe().to_lowercase().contains(&needle);
            if hit {
                matching.push((source.agent_key, source.host, entry));
            }
        }
    }
    let count = matching.len();
    // Newest first; one agent's events of one instant keep their numbering's order.
    matching.sort_by(|a, b| {
        b.2.t_ms
            .total_cmp(&a.2.t_ms)
            .then((b.2.epoch, b.2.event_id).cmp(&(a.2.epoch, a.2.event_id)))
    });
    let lines = matching
        .into_iter()
        .take(limit)
        .map(|(key, host, entry)| line(key, host, entry))
        .collect();
    (lines, count)
}

/// The times (browser clock) and short labels of a log's events worth marking on a chart —
/// deaths, OOM kills, restarts and health turning unhealthy — from `from_ms` on, of one
/// container or of all, oldest first. Events within [`MARK_GROUP_MS`] of a group's first are
/// one mark, labelled by the first and how many more ("web died (137) +11": a compose stack
/// going down is one line, not a smudge); the newest [`MAX_MARKS`] marks are kept.
pub fn chart_marks(log: &EventLog, from_ms: f64, container: Option<&str>) -> Vec<(f64, String)> {
    let mut groups: Vec<(f64, String, usize)> = Vec::new();
    for e in log
        .iter()
        .filter(|e| e.t_ms >= from_ms && marked(e))
        .filter(|e| container.is_none_or(|id| e.id == id))
    {
        match groups.last_mut() {
            Some((t, _, more)) if (e.t_ms - *t).abs() < MARK_GROUP_MS => *more += 1,
            _ => groups.push((e.t_ms, text::event_mark(e.action, &e.name, e.exit_code), 0)),
        }
    }
    let skip = groups.len().saturating_sub(MAX_MARKS);
    groups
        .into_iter()
        .skip(skip)
        .map(|(t, label, more)| match more {
            0 => (t, label),
            n => (t, format!("{label} +{n}")),
        })
        .collect()
}

/// Marks one chart carries at most (more would hide the lines).
pub const MAX_MARKS: usize = 20;
/// Events this close together (browser clock) share one mark: 5 minutes over a card's width
/// put 5 s in a few pixels.
pub const MARK_GROUP_MS: f64 = 5_000.0;

fn marked(entry: &EventEntry) -> bool {
    match entry.action {
        EventAction::Die | EventAction::Oom | EventAction::Restart => true,
        EventAction::HealthStatus => entry.health == Some(Health::Unhealthy),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    const T0_MS: i64 = 1_795_773_600_000;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap_or_default()
    }

    fn event(id: u64, action: EventAction, name: &str) -> ContainerEvent {
        ContainerEvent {
            agent_id: "a".into(),
            sent_at: at(T0_MS + id as i64 * 1_000),
            sequence: None,
            event_id: id,
            time: at(T0_MS + id as i64 * 1_000),
            id: format!("id-{name}"),
            name: name.into(),
            action,
            image: None,
            exit_code: None,
            oom_killed: None,
            signal: None,
            health: None,
        }
    }

    fn add(log: &mut EventLog, e: ContainerEvent) -> bool {
        let local = e.sent_at.timestamp_millis() as f64;
        log.add(e, local, &ClockSkew::default())
    }

    #[test]
    fn replays_are_dropped_and_restarts_kept_apart() {
        let mut log = EventLog::default();
        for id in 1..=3 {
            assert!(add(&mut log, event(id, EventAction::Start, "web")));
        }
        // A reconnect replays them: nothing new.
        for id in 1..=3 {
            assert!(!add(&mut log, event(id, EventAction::Start, "web")));
        }
        assert_eq!(log.len(), 3);
        // A new process numbers from 1, with other events: kept, after the old ones.
        assert!(add(&mut log, event(1, EventAction::Die, "db")));
        assert!(add(&mut log, event(2, EventAction::Start, "db")));
        assert!(!add(&mut log, event(2, EventAction::Start, "db")));
        let keys: Vec<(u32, u64)> = log.iter().map(|e| (e.epoch, e.event_id)).collect();
        assert_eq!(keys, [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2)]);
        // A restart told by agent_status: the same content under number 1 is new.
        log.new_process();
        assert!(add(&mut log, event(1, EventAction::Die, "db")));
        assert_eq!(log.len(), 6);
    }

    #[test]
    fn at_most_500_are_kept_and_evicted_replays_stay_out() {
        let mut log = EventLog::default();
        for id in 1..=(MAX_EVENTS as u64 + 20) {
            add(&mut log, event(id, EventAction::Start, "web"));
        }
        assert_eq!(log.len(), MAX_EVENTS);
        assert_eq!(log.iter().next().map(|e| e.event_id), Some(21));
        assert!(!add(&mut log, event(5, EventAction::Start, "web")));
        // Out of order within the kept range: put in its place.
        let mut small = EventLog::default();
        add(&mut small, event(3, EventAction::Start, "a"));
        add(&mut small, event(1, EventAction::Start, "a"));
        let ids: Vec<u64> = small.iter().map(|e| e.event_id).collect();
        assert_eq!(ids, [1, 3]);
    }

    #[test]
    fn words_and_problems() {
        let mut die = event(1, EventAction::Die, "web");
        die.exit_code = Some(137);
        die.oom_killed = Some(true);
        let mut clean = event(2, EventAction::Die, "web");
        clean.exit_code = Some(0);
        let mut kill = event(3, EventAction::Kill, "web");
        kill.signal = Some(15);
        let mut sick = event(4, EventAction::HealthStatus, "web");
        sick.health = Some(Health::Unhealthy);
        let mut well = event(5, EventAction::HealthStatus, "web");
        well.health = Some(Health::Healthy);
        let mut odd = event(6, EventAction::Kill, "web");
        odd.signal = Some(99);
        // (event, words, problem)
        let cases = [
            (die, "died, exit code 137, OOM killed", true),
            (clean, "died, exit code 0", false),
            (kill, "killed with signal 15 (SIGTERM)", false),
            (sick, "health: unhealthy", true),
            (well, "health: healthy", false),
            (odd, "killed with signal 99", false),
            (
                event(7, EventAction::Oom, "web"),
                "out of memory: the OOM killer struck",
                true,
            ),
            (event(8, EventAction::Restart, "web"), "restarted", true),
            (event(9, EventAction::Stop, "web"), "stopped", false),
            (event(10, EventAction::Destroy, "web"), "removed", false),
            (event(11, EventAction::Unknown, "web"), "other event", false),
        ];
        for (e, words, problem) in cases {
            let mut log = EventLog::default();
            add(&mut log, e);
            let entry = log.iter().next().cloned().expect("kept");
            assert_eq!(entry.describe(), words);
            assert_eq!(entry.is_problem(), problem, "{words}");
        }
    }

    #[test]
    fn event_times_keep_their_distance_to_sent_at() {
        let mut log = EventLog::default();
        let mut replayed = event(1, EventAction::Start, "web");
        replayed.time = at(T0_MS - 600_000);
        replayed.sent_at = at(T0_MS);
        // The agent's clock runs 10 s ahead; the estimate knows it.
        let mut clock = ClockSkew::default();
        clock.observe(T0_MS as f64 - 10_000.0, T0_MS as f64);
        log.add(replayed, T0_MS as f64 - 10_000.0, &clock);
        let t = log.iter().next().map(|e| e.t_ms);
        assert_eq!(t, Some((T0_MS - 610_000) as f64));
    }

    #[test]
    fn feeds_merge_filter_and_limit() {
        let mut a = EventLog::default();
        let mut b = EventLog::default();
        let mut die = event(2, EventAction::Die, "db");
        die.exit_code = Some(1);
        add(&mut a, event(1, EventAction::Start, "web"));
        add(&mut a, die);
        add(&mut b, event(3, EventAction::Start, "cache"));
        let mut sick = event(4, EventAction::HealthStatus, "api");
        sick.health = Some(Health::Unhealthy);
        add(&mut b, sick);
        let sources = [
            FeedSource {
                agent_key: 0,
                host: "host-a",
                log: &a,
            },
            FeedSource {
                agent_key: 1,
                host: "host-b",
                log: &b,
            },
        ];
        // (kind, filter, limit, containers newest first, matching)
        let cases: [(EventKind, &str, usize, &[&str], usize); 7] = [
            (EventKind::All, "", 10, &["api", "cache", "db", "web"], 4),
            (EventKind::All, "", 2, &["api", "cache"], 4),
            (EventKind::Problems, "", 10, &["api", "db"], 2),
            (EventKind::Deaths, "", 10, &["db"], 1),
            (EventKind::Health, "", 10, &["api"], 1),
            (EventKind::Lifecycle, "", 10, &["cache", "web"], 2),
            (EventKind::All, "HOST-A", 10, &["db", "web"], 2),
        ];
        for (kind, filter, limit, want, matching) in cases {
            let (lines, count) = feed(&sources, kind, filter, limit);
            let names: Vec<&str> = lines.iter().map(|l| l.container.as_str()).collect();
            assert_eq!(
                (names.as_slice(), count),
                (want, matching),
                "{kind:?} {filter:?}"
            );
        }
        let (lines, _) = feed(&sources, EventKind::All, "exit code 1", 10);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].host, "host-a");
        assert_eq!(lines[0].key, "0-0-2-host-a");
        assert!(lines[0].problem);
        assert_eq!(EventKind::parse("problems"), Some(EventKind::Problems));
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn charts_mark_deaths_restarts_and_unhealthy_only() {
        let mut log = EventLog::default();
        let mut die = event(2, EventAction::Die, "db");
        die.exit_code = Some(137);
        add(&mut log, event(1, EventAction::Start, "db"));
        add(&mut log, die);
        add(&mut log, event(3, EventAction::Restart, "db"));
        add(&mut log, event(9, EventAction::Oom, "web"));
        let mut sick = event(20, EventAction::HealthStatus, "api");
        sick.health = Some(Health::Unhealthy);
        add(&mut log, sick);
        // Events 1 s apart (ids × 1 s) share a mark; 7 s later is another.
        let marks = chart_marks(&log, 0.0, None);
        let labels: Vec<&str> = marks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["db died (137) +1", "web OOM", "api unhealthy"]);
        assert_eq!(marks[0].0, (T0_MS + 2_000) as f64);
        assert_eq!(chart_marks(&log, (T0_MS + 2_500) as f64, None).len(), 3);
        assert_eq!(chart_marks(&log, 0.0, Some("id-web")).len(), 1);
        // At most MAX_MARKS, the newest.
        let mut busy = EventLog::default();
        for i in 0..MAX_MARKS as u64 + 5 {
            add(&mut busy, event(i * 10 + 1, EventAction::Restart, "x"));
        }
        let marks = chart_marks(&busy, 0.0, None);
        assert_eq!(marks.len(), MAX_MARKS);
        assert_eq!(marks[0].0, (T0_MS + 51_000) as f64);
    }
}
