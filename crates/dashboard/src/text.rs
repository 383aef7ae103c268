//! Every sentence, label and button text the page shows, in one place for translation: plain
//! constants, and functions for the texts that carry a figure or a name. The views, the
//! actions (`app.rs`), the flush and the display data take their words from here; the column
//! labels are in the metric table (`metrics.rs`).
//!
//! Not here yet: the reasons the lower modules put into their errors (`url.rs`, `store.rs`,
//! `ingest.rs`), which their unit tests quote.

use std::fmt::Display;

// The top bar.
pub const APP_NAME: &str = "Dockscope";
pub const ADD_AGENT_LABEL: &str = "Agent address";
/// Quotes the agent's default port (`--listen 0.0.0.0:8080`), so the suggested address is the
/// one an agent started without flags answers on.
pub const ADD_AGENT_PLACEHOLDER: &str = "Agent address: ws://host:8080 or host:8080";
pub const ADD_TOKEN_LABEL: &str = "Agent token (optional)";
pub const ADD_TOKEN_PLACEHOLDER: &str = "Token (optional)";
pub const ADD_AGENT_BUTTON: &str = "Add agent";
pub const FILTER_LABEL: &str = "Filter containers";
pub const FILTER_PLACEHOLDER: &str = "Filter containers by name";
pub const EXPORT_BUTTON: &str = "Export list";
pub const IMPORT_BUTTON: &str = "Import list";
/// Where tokens go, shown next to every token field.
pub const TOKEN_STORAGE_NOTE: &str = "Tokens are stored in plain text in this browser's \
    localStorage, with the agent list. Exported files and ?agents= links leave them out.";

pub fn theme_button(theme: &str) -> String {
    format!("Theme: {theme}")
}

// Banners.
pub const WARNING: &str = "Warning: ";
pub const LINK_BANNER: &str = "Showing the agents from this link; your saved list is unchanged. ";
pub const KEEP_LINK_AGENTS: &str = "Keep these agents";
pub const LINK_IGNORED: &str = "Ignored in the link: ";
pub const NO_AGENTS: &str =
    "No agents yet. Paste an agent address above, e.g. ws://host:8080 or host:8080.";
pub const AGENTS_REGION: &str = "Agents";

pub fn saved_list_unreadable(problem: &str) -> String {
    format!(
        "Your saved agent list could not be read ({problem}). Starting with an empty list; \
         adding an agent replaces the saved copy."
    )
}

pub fn saved_list_not_saved(problem: &str) -> String {
    format!("The agent list could not be saved: {problem}")
}

pub fn export_failed(problem: &str) -> String {
    format!("Export failed: {problem}")
}

pub fn import_failed(problem: impl Display) -> String {
    format!("Import failed, nothing changed: {problem}")
}

pub fn imported(added: usize, already_shown: usize) -> String {
    format!("Imported {added} agent(s); {already_shown} already shown.")
}

pub fn more_rejected(count: usize) -> String {
    format!("{count} more entries that are not addresses")
}

pub fn link_dropped(count: usize, max: usize) -> String {
    format!("{count} more agent(s): a link opens at most {max}")
}

// Adding an agent and its token.
pub const TWO_TOKENS: &str =
    "The address carries a token= and the token field another one: keep one.";

pub fn already_shown(url: &str) -> String {
    format!("{url} is already on the dashboard")
}

pub fn token_not_accepted(problem: impl Display) -> String {
    format!("Token not accepted: {problem}")
}

// A card.
pub const RETRY_NOW: &str = "Retry now";
pub const TOKEN_BUTTON: &str = "Token";
pub const REMOVE_BUTTON: &str = "Remove";
pub const SYNTHETIC_BADGE: &str = "SYNTHETIC DATA";
pub const FACT_ADDRESS: &str = "Address";
pub const FACT_ACCESS: &str = "Access";
pub const FACT_VERSION: &str = "Version";
pub const FACT_UPTIME: &str = "Agent uptime";
pub const FACT_ENGINE: &str = "Engine";
pub const FACT_LAST_UPDATE: &str = "Last update";
pub const FACT_COST: &str = "Agent cost";
pub const FACT_CLOCK: &str = "Clock";
pub const TOKEN_SET: &str = "token set";
pub const NO_TOKEN: &str = "no token";
pub const UNKNOWN: &str = "unknown";
pub const NEVER: &str = "never";
pub const NOT_REPORTED: &str = "not reported";
pub const REACHABLE: &str = "reachable";
pub const UNREACHABLE: &str = "unreachable";
pub const MALFORMED_MESSAGE: &str = "Malformed message: ";
pub const TOTALS_CHART_TITLE: &str = "Total CPU and memory of its containers, last 5 min";
pub const TOTALS_CHART_LABEL: &str = "Total CPU and memory of this agent's containers";
pub const DETAIL_CHART_LABEL: &str = "CPU and memory of the selected container";
pub const CLOSE: &str = "Close";
pub const COLUMNS_BUTTON: &str = "Columns";
pub const DETAIL_CPU: &str = "CPU";
pub const DETAIL_THROTTLING: &str = "CPU throttling";
pub const DETAIL_MEMORY: &str = "Memory";
pub const DETAIL_PIDS: &str = "PIDs";
pub const DETAIL_NET: &str = "Network";
pub const DETAIL_BLOCK: &str = "Block I/O";
pub const DETAIL_HEALTH: &str = "Health";
pub const DETAIL_EXIT: &str = "Last exit";
pub const NO_HEALTH_CHECK: &str = "no health check";
pub const SHOW_HEALTH_LOG: &str = "Show health log";
pub const ASKING: &str = "asking the agent…";
pub const DETAIL_IO_CHART_LABEL: &str = "Network and block I/O of the selected container";
pub const HOST_STRIP_LABEL: &str = "The agent's host";
pub const CPU_SCALE_LABEL: &str = "CPU of";
pub const GROUP_BY_PROJECT: &str = "Group by compose project";

// The fleet view.
pub const FLEET_VIEW: &str = "Fleet view";
pub const FLEET_REGION: &str = "Fleet: every host";
pub const FLEET_TABLE: &str = "Busiest containers across hosts";
pub const FLEET_CHART: &str = "CPU of every host's containers, on this browser's clock";
pub const FLEET_HOST: &str = "Host";
pub const FLEET_STATE: &str = "State";
pub const FLEET_CPU: &str = "CPU";
pub const FLEET_MEMORY: &str = "Memory";
pub const FLEET_CONTAINERS: &str = "Containers";
pub const FLEET_ALL_WELL: &str = "nothing needs attention";
/// The badge of a fleet row whose host is not live: its figures are the last received.
pub const STALE: &str = "stale";

pub fn fleet_containers(running: usize, unhealthy: usize, exited: usize) -> String {
    format!("{running} running, {unhealthy} unhealthy, {exited} exited")
}

pub fn fleet_count(shown: usize, matching: usize) -> String {
    format!("Showing {shown} of {matching} running containers on every host")
}

pub fn remove_agent_label(url: &str) -> String {
    format!("Remove agent {url}")
}

pub fn reachable_with(version: &str) -> String {
    format!("reachable (Docker {version})")
}

pub fn unreachable_because(reason: &str) -> String {
    format!("unreachable: {reason}")
}

pub fn not_kept(count: usize, max: usize) -> String {
    format!("{count} more containers not shown: this dashboard keeps at most {max} per agent.")
}

pub fn detail_title(container: &str) -> String {
    format!("{container}: CPU and memory, last 5 min")
}

pub fn agent_cost(cpu: &str, memory: &str) -> String {
    format!("CPU {cpu}, memory {memory}")
}

// The token form.
pub const TOKEN_FIELD: &str = "Token";
pub const REPLACE_TOKEN_FIELD: &str = "Replace token";
pub const SAVE_TOKEN: &str = "Save and reconnect";
pub const CLEAR_TOKEN: &str = "Clear token";

// The container table.
/// After a container's memory when it has no limit (`24.0 MiB / no limit`).
pub const NO_LIMIT: &str = "no limit";
pub const CONTAINERS_TABLE: &str = "Containers";
pub const WAITING_FOR_SAMPLE: &str = "Waiting for the first sample…";
pub const NO_CONTAINERS: &str = "No running containers on this agent.";
pub const SHOW_ALL: &str = "Show all";
pub const SHOW_BUSIEST: &str = "Show the busiest only";

pub fn no_match(filter: &str) -> String {
    format!("No container name matches “{filter}”.")
}

pub fn showing_all(matching: usize, refresh_secs: f64) -> String {
    format!("Showing all {matching} containers; their order refreshes every {refresh_secs} s. ")
}

pub fn showing_some(shown: usize, matching: usize) -> String {
    format!("Showing {shown} of {matching} containers. ")
}

pub fn image_tooltip(name: &str, image: &str) -> String {
    format!("{name}\nimage: {image}")
}

pub fn agent_tooltip(agent_id: &str, url: &str) -> String {
    format!("{agent_id} at {url}")
}

// Connection states (the one-word labels tests and people read) and why a connection ended.
pub const STATE_CONNECTING: &str = "connecting";
pub const STATE_LIVE: &str = "live";
pub const STATE_DISCONNECTED: &str = "disconnected";
pub const STATE_ERROR: &str = "error";
pub const STATE_PROTOCOL_ERROR: &str = "protocol error";
pub const COULD_NOT_CONNECT: &str = "could not connect";
pub const CONNECTION_LOST: &str = "connection lost";
pub const CLOSED_BY_AGENT: &str = "connection closed by the agent";
pub const REFUSED_WITH_TOKEN: &str = ": agent down, or the token is wrong";
pub const REFUSED_WITHOUT_TOKEN: &str = ": agent down, or it requires a token";

pub fn no_usable_message_yet(reason: &str) -> String {
    format!("{reason} (connected, but no usable message yet)")
}

pub fn retrying_in(reason: &str, wait: &str) -> String {
    format!("{reason}; retrying in {wait}")
}

pub fn reconnecting(reason: &str) -> String {
    format!("{reason}; reconnecting…")
}

/// `what` (e.g. [`CONNECTION_LOST`]) with the close code and the agent's reason, if any.
pub fn closed_with_code(what: &str, code: u16, reason: &str) -> String {
    if reason.is_empty() {
        format!("{what} (code {code})")
    } else {
        format!("{what} (code {code}: {reason})")
    }
}

// The agent's clock.
fn clock_direction(ahead: bool) -> &'static str {
    if ahead {
        "ahead of"
    } else {
        "behind"
    }
}

pub fn clock_off(by: &str, ahead: bool) -> String {
    format!("agent clock {by} {} this browser's", clock_direction(ahead))
}

pub fn clock_broken(ahead: bool) -> String {
    format!(
        "agent clock more than a day {} this browser's: its times are ignored",
        clock_direction(ahead)
    )
}

// The debug panel.
pub const DEBUG_TITLE: &str = "Debug";
pub const DEBUG_WEBSOCKET: &str = "WebSocket: ";

pub fn debug_last_frames(count: usize) -> String {
    format!("Last {count} frames, newest first:")
}

pub fn debug_counts(malformed: u64, skipped: u64) -> String {
    format!("malformed frames: {malformed}, skipped (a newer one arrived first): {skipped}")
}

// Events (contract 6).
pub const EVENTS_TITLE: &str = "Events";
pub const EVENTS_REGION: &str = "Events of every agent, newest first";
pub const CARD_EVENTS_TITLE: &str = "Recent events";
pub const EVENTS_FILTER_LABEL: &str = "Filter events";
pub const EVENTS_FILTER_PLACEHOLDER: &str = "Filter events by host, container or words";
pub const EVENTS_KIND_LABEL: &str = "Kind of events";
pub const NO_EVENTS: &str = "No events yet.";
pub const NO_MATCHING_EVENTS: &str = "No event matches.";
pub const SHOW_MORE_EVENTS: &str = "Show more";

/// The kind picker's option for `kind` (`events::EventKind::as_str`).
pub fn event_kind_label(kind: &str) -> &'static str {
    match kind {
        "problems" => "Problems only (non-zero exits, OOM, unhealthy, restarts)",
        "deaths" => "Deaths and OOM kills",
        "health" => "Health checks",
        "lifecycle" => "Start, stop, create, remove, kill, pause",
        _ => "All events",
    }
}

pub fn events_shown(shown: usize, matching: usize) -> String {
    format!("{shown} of {matching} events")
}

/// The usual names of the signals `docker kill` and `docker stop` send.
fn signal_name(signal: u32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        12 => "SIGUSR2",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// What an event says happened: "died, exit code 137, OOM killed", "health: unhealthy",
/// "killed with signal 15 (SIGTERM)".
pub fn event_words(
    action: dockscope_protocol::EventAction,
    exit_code: Option<i64>,
    oom_killed: bool,
    signal: Option<u32>,
    health: Option<dockscope_protocol::Health>,
) -> String {
    use dockscope_protocol::{EventAction as A, Health as H};
    match action {
        A::Die => {
            let mut words = "died".to_owned();
            if let Some(code) = exit_code {
                words.push_str(&format!(", exit code {code}"));
            }
            if oom_killed {
                words.push_str(", OOM killed");
            }
            words
        }
        A::Kill => match (signal, signal.and_then(signal_name)) {
            (Some(n), Some(name)) => format!("killed with signal {n} ({name})"),
            (Some(n), None) => format!("killed with signal {n}"),
            (None, _) => "killed".to_owned(),
        },
        A::HealthStatus => format!(
            "health: {}",
            match health {
                Some(H::Healthy) => "healthy",
                Some(H::Unhealthy) => "unhealthy",
                Some(H::Starting) => "starting",
                Some(H::Unknown) | None => "unknown",
            }
        ),
        A::Oom => "out of memory: the OOM killer struck".to_owned(),
        A::Create => "created".to_owned(),
        A::Start => "started".to_owned(),
        A::Stop => "stopped".to_owned(),
        A::Restart => "restarted".to_owned(),
        A::Pause => "paused".to_owned(),
        A::Unpause => "unpaused".to_owned(),
        A::Destroy => "removed".to_owned(),
        A::Unknown => "other event".to_owned(),
    }
}

/// An event's label on a chart: "db died (137)", "api unhealthy".
pub fn event_mark(
    action: dockscope_protocol::EventAction,
    name: &str,
    exit_code: Option<i64>,
) -> String {
    use dockscope_protocol::EventAction as A;
    let name = crate::format::truncate(name, 24);
    match (action, exit_code) {
        (A::Die, Some(code)) => format!("{name} died ({code})"),
        (A::Die, None) => format!("{name} died"),
        (A::Oom, _) => format!("{name} OOM"),
        (A::Restart, _) => format!("{name} restarted"),
        (A::HealthStatus, _) => format!("{name} unhealthy"),
        _ => name.into_owned(),
    }
}

// Stopped containers (contract 6).
/// "died 2m 5s ago", from the time of death.
pub fn died_ago(ago: &str) -> String {
    format!("died {ago}")
}
pub const OOM_KILLED: &str = "OOM killed";
pub const REMOVED: &str = "removed";
pub const REMOVED_TIP: &str =
    "removed from the engine since (docker rm); listed until the agent's --keep-exited is up";

// Attention (alert rules).
pub const ATTENTION_TITLE: &str = "Attention";
pub const ATTENTION_REGION: &str = "Containers that need attention, newest first";
pub const ALL_CLEAR: &str = "all clear: no rule holds";
pub const RULES_BUTTON: &str = "Rules";
pub const NOTIFY_BUTTON: &str = "Notify me";
pub const NOTIFY_BUTTON_TIP: &str =
    "Show a browser notification when a rule fires (the browser asks you once)";
pub const NOTIFICATIONS_ON: &str = "notifications on";
pub const NOTIFICATIONS_BLOCKED: &str = "notifications blocked";
pub const NOTIFICATIONS_BLOCKED_TIP: &str =
    "This browser blocks notifications for this page; allow them in its site settings.";
pub const NOTIFICATIONS_UNAVAILABLE: &str = "no notifications here";
pub const NOTIFICATIONS_UNAVAILABLE_TIP: &str =
    "Browsers show notifications only to pages served over https or from localhost.";
pub const ATTENTION_MARK: &str = "⚠";
pub const RULES_TITLE: &str = "Alert rules";
pub const RULES_HINT: &str = "A rule covers the containers whose name matches its pattern \
    (* any characters, ? one) on its agent (blank: every agent). Saved in this browser with \
    the agent list, and in exports.";
pub const RULES_DEFAULTS_NOTE: &str = "No rules were saved: these are the default rules.";
pub const RULE_ENABLED: &str = "on";
pub const RULE_CONTAINERS: &str = "containers";
pub const RULE_AGENT: &str = "agent";
pub const RULE_AGENT_PLACEHOLDER: &str = "every agent";
pub const REMOVE_RULE: &str = "Remove";
pub const ADD_RULE: &str = "Add rule";
pub const ADD_RULE_KIND: &str = "Kind of the new rule";
pub const SAVE_RULES: &str = "Save rules";
pub const DISCARD_RULES: &str = "Discard changes";
pub const DEFAULT_RULES: &str = "Default rules";
pub const UNSAVED_RULES: &str = "unsaved changes";
pub const RULES_SAVED: &str = "Rules saved.";

pub fn attention_count(count: usize) -> String {
    if count == 1 {
        "1 alert".to_owned()
    } else {
        format!("{count} alerts")
    }
}

pub fn attention_since(clock: &str, ago: &str) -> String {
    format!("since {clock} ({ago})")
}

pub fn attention_more(count: usize) -> String {
    format!("… and {count} more")
}

pub fn card_attention(containers: usize) -> String {
    if containers == 1 {
        "1 container needs attention".to_owned()
    } else {
        format!("{containers} containers need attention")
    }
}

pub fn and_more(count: usize) -> String {
    format!("and {count} more")
}

pub fn alert_notice_title(container: &str, agent: &str) -> String {
    format!("⚠ {container} on {agent}")
}

pub fn alert_notice_body(cause: &str, rule: &str) -> String {
    format!("{cause} (rule: {rule})")
}

pub fn more_alerts_title(count: usize) -> String {
    format!("{count} more alerts fired")
}

pub fn rules_unreadable(problem: &str) -> String {
    format!(
        "The saved alert rules could not be read ({problem}). The default rules are in use; \
         saving rules replaces the saved copy."
    )
}

pub fn rules_not_saved(problem: &str) -> String {
    format!("Not saved: {problem}")
}

/// The rules editor's name of a kind of rule (`rule_form::Kind::as_str`).
pub fn rule_kind_label(kind: &str) -> &'static str {
    match kind {
        "memory_above" => "Memory above",
        "oom_killed" => "OOM-killed",
        "unhealthy" => "Unhealthy",
        "restart_loop" => "Restart loop",
        "exited_non_zero" => "Exited non-zero",
        "cpu_above" => "CPU above",
        _ => "Rule",
    }
}

/// The words before and after a rule's number field (`rule_form::Field::key`).
pub fn rule_field_label(field: &str) -> (&'static str, &'static str) {
    match field {
        "percent" => ("", "% of its limit"),
        "for_secs" => ("for", "s"),
        "restarts" => ("more than", "restarts"),
        "within_minutes" => ("in", "min"),
        _ => ("", ""),
    }
}

pub fn rule_refused(index: usize, kind: &str, reason: &str) -> String {
    format!("rule {index} ({kind}): {reason}")
}

pub fn not_a_number(field: &str, typed: &str) -> String {
    format!("{field}: “{typed}” is not a number")
}

pub fn not_a_whole_number(field: &str, typed: &str) -> String {
    format!("{field}: “{typed}” is not a whole number")
}

/// What an import did to the rules, after what it did to the agents.
pub fn imported_rules(count: usize) -> String {
    format!(" Alert rules replaced by the file's {count}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The port `dockscope-agent` listens on without `--listen` (`crates/agent/src/config.rs`).
    const AGENT_DEFAULT_PORT: &str = "8080";

    #[test]
    fn suggested_addresses_use_the_agents_default_port() {
        for text in [ADD_AGENT_PLACEHOLDER, NO_AGENTS] {
            let ports: Vec<&str> = text
                .split(|c: char| !c.is_ascii_alphanumeric() && c != ':')
                .filter_map(|word| word.rsplit_once(':'))
                .map(|(_, port)| port)
                .filter(|port| !port.is_empty())
                .collect();
            assert_eq!(ports, [AGENT_DEFAULT_PORT; 2], "{text}");
            for example in ["ws://host:8080", "host:8080"] {
                assert!(text.contains(example), "{text}");
                assert_eq!(
                    crate::url::normalize(example).as_deref(),
                    Ok("ws://host:8080/ws")
                );
            }
        }
    }
}
