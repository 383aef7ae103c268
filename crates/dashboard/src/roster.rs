//! The pure rules behind the dashboard's own state: which agents are on the page (unique keys,
//! one card per address, the list that is saved), what adding, importing and removing an agent
//! changes, and which container is selected. `app.rs` applies them to the signals in
//! `state.rs`; here they are plain data, unit-tested on the host.

use crate::query::{PageQuery, MAX_LINK_AGENTS};
use crate::store::AgentList;
use crate::text;
use crate::url;

/// The selected container (detail chart).
#[derive(Clone, PartialEq, Debug)]
pub struct Selection {
    pub agent_key: u32,
    pub container_id: String,
    /// Container name as clicked, for the detail chart's title.
    pub name: String,
}

impl Selection {
    /// The selection after a click on `clicked`: the same container again deselects it,
    /// another one is selected instead.
    pub fn toggled(current: Option<Selection>, clicked: Selection) -> Option<Selection> {
        if current.as_ref() == Some(&clicked) {
            None
        } else {
            Some(clicked)
        }
    }

    /// Whether removing the agent `agent_key` must clear this selection.
    pub fn is_on(&self, agent_key: u32) -> bool {
        self.agent_key == agent_key
    }
}

/// Every chart on the page, by the element it draws into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChartId {
    /// One agent's total CPU and memory.
    Totals(u32),
    /// The selected container's CPU and memory (one at a time, on its agent's card).
    Detail,
    /// The selected container's network and block I/O.
    DetailIo,
    /// The fleet view's CPU of every host on one time axis.
    Fleet,
}

impl ChartId {
    /// The `id` of the element the chart is drawn into.
    pub fn element_id(self) -> String {
        match self {
            ChartId::Totals(key) => format!("totals-chart-{key}"),
            ChartId::Detail => "detail-chart".to_owned(),
            ChartId::DetailIo => "detail-io-chart".to_owned(),
            ChartId::Fleet => "fleet-chart".to_owned(),
        }
    }
}

/// Element id of the table body holding one card's rows.
pub fn rows_element_id(agent_key: u32) -> String {
    format!("rows-{agent_key}")
}

/// Hands out the cards' keys: unique for the page's lifetime, so a re-added address gets a
/// new one (and new DOM ids) rather than its old card's.
#[derive(Debug, Default)]
pub struct Keys {
    last: u32,
}

impl Keys {
    pub fn take(&mut self) -> u32 {
        self.last += 1;
        self.last
    }
}

/// A token typed into a form: blank means none; otherwise it must be sendable as a subprotocol.
///
/// # Errors
/// The message to show next to the field.
pub fn parse_token_input(input: &str) -> Result<Option<String>, String> {
    let token = input.trim();
    if token.is_empty() {
        return Ok(None);
    }
    dockscope_protocol::check_token(token).map_err(text::token_not_accepted)?;
    Ok(Some(token.to_owned()))
}

/// The agent the add box asks for: its normalised address and token, unless it is not an
/// address, carries two different tokens, or is on the page already (`shown`).
///
/// # Errors
/// The message to show inline; nothing is added.
pub fn new_agent(
    input: &str,
    token: &str,
    shown: &[String],
) -> Result<(String, Option<String>), String> {
    // A `?token=` in the address moves into the token store, out of the address.
    let (url, url_token) = url::normalize_with_token(input).map_err(|e| e.to_string())?;
    let token = match (parse_token_input(token)?, url_token) {
        (Some(typed), Some(in_url)) if typed != in_url => return Err(text::TWO_TOKENS.to_owned()),
        (typed, in_url) => typed.or(in_url),
    };
    if shown.contains(&url) {
        return Err(text::already_shown(&url));
    }
    Ok((url, token))
}

/// What an imported list adds: the agents not shown yet, with their tokens, and the line that
/// says so.
#[derive(Debug, PartialEq)]
pub struct Import {
    pub added: Vec<(String, Option<String>)>,
    pub message: String,
}

/// The agents of `list` that are not in `shown`, in the list's order.
pub fn import(list: &AgentList, shown: &[String]) -> Import {
    let added: Vec<(String, Option<String>)> = list
        .agents
        .iter()
        .filter(|url| !shown.contains(url))
        .map(|url| (url.clone(), list.tokens.get(url).cloned()))
        .collect();
    let message = text::imported(added.len(), list.agents.len() - added.len());
    Import { added, message }
}

/// The list saved in localStorage for the agents shown: addresses in card order, and the
/// tokens of those that have one.
pub fn saved_list<'a>(agents: impl IntoIterator<Item = (&'a str, Option<String>)>) -> AgentList {
    let mut list = AgentList::default();
    for (url, token) in agents {
        list.agents.push(url.to_owned());
        if let Some(token) = token {
            list.tokens.insert(url.to_owned(), token);
        }
    }
    list
}

/// What the link banner lists: entries that are not addresses, and agents left out.
pub fn link_problems(query: &PageQuery) -> Vec<String> {
    let mut problems: Vec<String> = query.rejected.iter().map(|e| e.to_string()).collect();
    if query.rejected_more > 0 {
        problems.push(text::more_rejected(query.rejected_more));
    }
    if query.dropped > 0 {
        problems.push(text::link_dropped(query.dropped, MAX_LINK_AGENTS));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(agent_key: u32, id: &str) -> Selection {
        Selection {
            agent_key,
            container_id: id.to_owned(),
            name: format!("name-{id}"),
        }
    }

    #[test]
    fn a_click_selects_a_second_click_deselects_another_switches() {
        let first = Selection::toggled(None, sel(1, "a"));
        assert_eq!(first, Some(sel(1, "a")));
        assert_eq!(Selection::toggled(first.clone(), sel(1, "a")), None);
        assert_eq!(
            Selection::toggled(first.clone(), sel(1, "b")),
            Some(sel(1, "b"))
        );
        // The same container id on another agent is another container.
        assert_eq!(Selection::toggled(first, sel(2, "a")), Some(sel(2, "a")));
    }

    #[test]
    fn removing_an_agent_clears_only_its_selection() {
        assert!(sel(3, "a").is_on(3));
        assert!(!sel(3, "a").is_on(4));
    }

    #[test]
    fn chart_and_rows_ids_are_distinct_per_card() {
        assert_eq!(ChartId::Totals(7).element_id(), "totals-chart-7");
        assert_ne!(
            ChartId::Totals(7).element_id(),
            ChartId::Totals(8).element_id()
        );
        assert_eq!(ChartId::Detail.element_id(), "detail-chart");
        assert_eq!(rows_element_id(7), "rows-7");
    }

    #[test]
    fn keys_are_never_reused() {
        let mut keys = Keys::default();
        let taken: Vec<u32> = (0..3).map(|_| keys.take()).collect();
        assert_eq!(taken, [1, 2, 3]);
    }

    #[test]
    fn the_add_box_normalises_and_refuses_duplicates() {
        let shown = vec!["ws://a:9100/ws".to_owned()];
        assert_eq!(
            new_agent("b:9100", "", &shown),
            Ok(("ws://b:9100/ws".to_owned(), None))
        );
        assert_eq!(
            new_agent("http://a:9100", "", &shown),
            Err("ws://a:9100/ws is already on the dashboard".to_owned())
        );
        let garbage = new_agent("not a url", "", &shown).unwrap_err();
        assert!(garbage.contains("not a url"), "{garbage}");
    }

    #[test]
    fn a_token_comes_from_the_field_or_the_address_but_not_two() {
        assert_eq!(
            new_agent("b:9100", "  s3cret ", &[]),
            Ok(("ws://b:9100/ws".to_owned(), Some("s3cret".to_owned())))
        );
        assert_eq!(
            new_agent("ws://b:9100/ws?token=s3cret", "", &[]),
            Ok(("ws://b:9100/ws".to_owned(), Some("s3cret".to_owned())))
        );
        assert_eq!(
            new_agent("ws://b:9100/ws?token=s3cret", "s3cret", &[]),
            Ok(("ws://b:9100/ws".to_owned(), Some("s3cret".to_owned())))
        );
        assert_eq!(
            new_agent("ws://b:9100/ws?token=one", "two", &[]),
            Err(text::TWO_TOKENS.to_owned())
        );
        let bad = new_agent("b:9100", "has space", &[]).unwrap_err();
        assert!(bad.starts_with("Token not accepted: "), "{bad}");
        assert_eq!(parse_token_input("   "), Ok(None));
    }

    #[test]
    fn an_import_adds_only_the_agents_not_shown() {
        let mut list = AgentList {
            agents: vec![
                "ws://a:1/ws".into(),
                "ws://b:1/ws".into(),
                "ws://c:1/ws".into(),
            ],
            ..AgentList::default()
        };
        list.tokens.insert("ws://c:1/ws".into(), "t".into());
        let plan = import(&list, &["ws://b:1/ws".to_owned()]);
        assert_eq!(
            plan.added,
            [
                ("ws://a:1/ws".to_owned(), None),
                ("ws://c:1/ws".to_owned(), Some("t".to_owned()))
            ]
        );
        assert_eq!(plan.message, "Imported 2 agent(s); 1 already shown.");
        assert_eq!(
            import(&list, &list.agents).message,
            "Imported 0 agent(s); 3 already shown."
        );
    }

    #[test]
    fn the_saved_list_keeps_card_order_and_only_set_tokens() {
        let list = saved_list([("ws://b:1/ws", Some("t".to_owned())), ("ws://a:1/ws", None)]);
        assert_eq!(list.agents, ["ws://b:1/ws", "ws://a:1/ws"]);
        assert_eq!(list.tokens.len(), 1);
        assert_eq!(list.tokens["ws://b:1/ws"], "t");
    }

    #[test]
    fn the_link_banner_names_what_was_left_out() {
        let query = crate::query::parse(&format!(
            "?agents={}",
            (0..MAX_LINK_AGENTS + 2)
                .map(|i| format!("h{i}:1"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        assert_eq!(
            link_problems(&query),
            ["2 more agent(s): a link opens at most 20"]
        );
        assert!(link_problems(&crate::query::parse("?agents=h:1")).is_empty());
    }
}
