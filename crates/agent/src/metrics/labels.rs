//! Label sets of the exposition, and the escaping of label values: prometheus-client writes
//! values as given, and a container named `a"b` or with a newline would otherwise break the
//! whole scrape.

use std::borrow::Cow;
use std::fmt::Write as _;

use dockscope_protocol::ContainerStats;
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};

/// `value` with `\`, `"` and line feeds escaped, borrowed when it has none (nearly always).
pub(super) fn escape(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A label value escaped already (by [`escape`]), written as it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Raw<'a>(&'a str);

impl EncodeLabelValue for Raw<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.0)
    }
}

/// The labels of a per-container series, cAdvisor's plus `agent_id`, escaped and written out
/// once per container and format rather than once per series (a container has about twenty):
/// - `agent_id`: `--agent-id`;
/// - `id`: cAdvisor's `id` is the cgroup path, `/docker/<full id>` under the `cgroupfs`
///   driver; we use that form under every driver, so it is stable;
/// - `name`: without the leading `/`;
/// - `image`: as given to `docker run`; empty (an absent label) when unknown;
/// - `container_label_com_docker_compose_project` / `_service`: only when set (cAdvisor's
///   container labels).
#[derive(Debug, Clone)]
pub(super) struct ContainerLabels {
    /// Every label as it appears between the braces, but for the last one's `="value"`:
    /// `agent_id="a",id="/docker/…",name="web",image`.
    head: String,
    /// The last label's escaped value, which prometheus-client's value writer quotes.
    last: String,
}

impl ContainerLabels {
    /// The labels of `c` on agent `agent_id`.
    pub(super) fn of(agent_id: &str, c: &ContainerStats) -> Self {
        let mut all = String::with_capacity(160);
        let mut put = |key: &str, value: &str| {
            if !all.is_empty() {
                all.push(',');
            }
            let _ = write!(all, "{key}=\"{}\"", escape(value));
        };
        put("agent_id", agent_id);
        put("id", &format!("/docker/{}", c.id));
        put("name", &c.name);
        put("image", c.image.as_deref().unwrap_or(""));
        if let Some(project) = &c.compose_project {
            put("container_label_com_docker_compose_project", project);
        }
        if let Some(service) = &c.compose_service {
            put("container_label_com_docker_compose_service", service);
        }
        // An escaped value holds no bare `"`, so the last `="` starts the last value.
        let (head, last) = all.rsplit_once("=\"").unwrap_or((&all, "\""));
        Self {
            head: head.to_owned(),
            last: last.strip_suffix('"').unwrap_or(last).to_owned(),
        }
    }
}

impl EncodeLabelSet for ContainerLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        raw_label(encoder, &self.head, &self.last)
    }
}

impl EncodeLabelSet for &ContainerLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        (*self).encode(encoder)
    }
}

/// Labels of agent and host series: `agent_id` and any others given.
#[derive(Debug, Clone, Copy)]
pub(super) struct Labels<'a, const N: usize>(pub(super) [(&'a str, &'a str); N]);

impl<const N: usize> EncodeLabelSet for Labels<'_, N> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (key, value) in self.0 {
            label(encoder, key, value)?;
        }
        Ok(())
    }
}

/// A per-container series with one more label (`dockscope_container_health{health=…}`).
#[derive(Debug, Clone, Copy)]
pub(super) struct WithLabel<'a> {
    /// The container's labels.
    pub(super) container: &'a ContainerLabels,
    /// The extra label.
    pub(super) extra: (&'a str, &'a str),
}

impl EncodeLabelSet for WithLabel<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        self.container.encode(encoder)?;
        label(encoder, self.extra.0, self.extra.1)
    }
}

pub(super) fn label(
    encoder: &mut LabelSetEncoder,
    key: &str,
    value: &str,
) -> Result<(), std::fmt::Error> {
    raw_label(encoder, key, &escape(value))
}

/// A label whose value is escaped already.
pub(super) fn raw_label(
    encoder: &mut LabelSetEncoder,
    key: &str,
    value: &str,
) -> Result<(), std::fmt::Error> {
    let mut label = encoder.encode_label();
    let mut key_encoder = label.encode_label_key()?;
    key_encoder.write_str(key)?;
    let mut value_encoder = key_encoder.encode_label_value()?;
    Raw(value).encode(&mut value_encoder)?;
    value_encoder.finish()
}
