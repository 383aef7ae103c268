//! `/metrics`: the latest sample in the Prometheus exposition format, formatted only when
//! scraped (nothing runs per tick for it, and nothing at all while nobody scrapes).
//!
//! ```text
//!   sampler ──set()──► LatestSample ◄──get()── Exporter::body (a scrape)
//!                                                 │ same sequence as the cached body: reuse it
//!                                                 │ else: format (blocking pool), cache it
//!                                                 ▼
//!                                     OpenMetrics text (prometheus-client), or the
//!                                     Prometheus 0.0.4 text for clients that do not ask for it
//! ```
//!
//! Names and labels follow cAdvisor where it has the figure (`container_*`, labels `id`,
//! `name`, `image`, and `container_label_com_docker_compose_*`), plus `agent_id` on every
//! series so one Prometheus can tell hosts apart by more than `instance`; the rest is
//! `dockscope_*` (the agent, the host, figures cAdvisor has no name for). A figure the batch
//! does not have is an absent series, never a 0. Only running containers (the batch's
//! `containers`) get per-container series, as in cAdvisor; the `exited` list is counted in
//! `dockscope_containers_exited`. Every metric, its source field and its unit:
//! docs/prometheus.md.
//!
//! Label values are escaped here ([`escape`]): prometheus-client writes them as given, and a
//! container named `a"b` or with a newline would otherwise break the whole scrape.
//!
//! A flood of scrapes formats at most once per sample: the body is cached by the batch's
//! `sequence`, so agent-wide figures read at format time (clients, engine reachability) are
//! at most one sample old.
//!
//! # Layout
//! - this file: the exporter (cache, formats) and [`render`];
//! - `families.rs`: every metric family — the per-container table (`CONTAINER_METRICS`), the
//!   agent's and the host's — and the prometheus-client collector that writes them;
//! - `labels.rs`: label sets and the escaping of label values.

mod families;
mod labels;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use prometheus_client::registry::Registry;
use tokio::sync::Mutex;

use crate::sampler::{LatestSample, Snapshot};
pub use families::AgentFacts;
use families::Exposition;

/// `Content-Type` of the OpenMetrics text prometheus-client writes; Prometheus asks for it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the classic Prometheus text format, for every other client (`curl`,
/// `promtool check metrics`, older scrapers).
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text, when the client's `Accept` names it.
    OpenMetrics,
    /// Prometheus text 0.0.4 otherwise.
    Text,
}

impl Format {
    /// The format a request's `Accept` header asks for.
    pub fn accepted(headers: &HeaderMap) -> Self {
        let asks = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("application/openmetrics-text"));
        if asks {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS,
            Format::Text => TEXT,
        }
    }
}

/// The latest sample and the one cached body; shared by every scrape.
#[derive(Debug)]
pub struct Exporter {
    /// Where the sampler leaves each batch.
    latest: Arc<LatestSample>,
    /// The body formatted for a batch `sequence`, so concurrent or repeated scrapes of the
    /// same sample format once; held across formatting, so a second scrape waits for the
    /// first instead of formatting too.
    cache: Mutex<Option<Cached>>,
}

/// One formatted sample.
#[derive(Debug)]
struct Cached {
    /// The batch's `sequence`.
    sequence: u64,
    /// OpenMetrics text, as formatted.
    openmetrics: Bytes,
    /// The same in the 0.0.4 text format, made the first time a client asks for it.
    text: Option<Bytes>,
}

impl Exporter {
    /// An exporter reading the sampler's `latest`.
    pub fn new(latest: Arc<LatestSample>) -> Self {
        Self {
            latest,
            cache: Mutex::new(None),
        }
    }

    /// The body of a scrape in `format`. `facts` is called only when the latest sample has not
    /// been formatted yet. Before the first sample the body holds the agent's own series only
    /// (a valid exposition: the agent is up, it has nothing to report yet).
    pub async fn body(&self, format: Format, facts: impl FnOnce() -> AgentFacts) -> Bytes {
        let snapshot = self.latest.get();
        let sequence = snapshot.as_ref().and_then(|s| s.batch.sequence);
        let mut cache = self.cache.lock().await;
        let fresh = matches!((&*cache, sequence), (Some(c), Some(s)) if c.sequence == s);
        if !fresh {
            let facts = facts();
            // A little more than last time: bodies grow and shrink with the containers.
            let capacity = cache.as_ref().map_or(0, |c| c.openmetrics.len() * 9 / 8);
            let formatted =
                tokio::task::spawn_blocking(move || render_sized(snapshot, facts, capacity))
                    .await
                    .unwrap_or_default();
            let openmetrics = Bytes::from(formatted);
            match sequence {
                Some(sequence) => {
                    *cache = Some(Cached {
                        sequence,
                        openmetrics,
                        text: None,
                    })
                }
                // Nothing sampled yet: nothing worth keeping.
                None => {
                    return match format {
                        Format::OpenMetrics => openmetrics,
                        Format::Text => {
                            Bytes::from(to_text_format(&String::from_utf8_lossy(&openmetrics)))
                        }
                    };
                }
            }
        }
        let Some(cached) = cache.as_mut() else {
            return Bytes::new();
        };
        match format {
            Format::OpenMetrics => cached.openmetrics.clone(),
            Format::Text => cached
                .text
                .get_or_insert_with(|| {
                    Bytes::from(to_text_format(&String::from_utf8_lossy(
                        &cached.openmetrics,
                    )))
                })
                .clone(),
        }
    }
}

/// The whole exposition of `snapshot` (none before the first sample) as OpenMetrics text,
/// ending in `# EOF`.
pub fn render(snapshot: Option<Arc<Snapshot>>, facts: AgentFacts) -> String {
    render_sized(snapshot, facts, 0)
}

/// [`render`] into a buffer of `capacity` bytes to start with: the previous body's size, so
/// the buffer does not grow (and copy itself) a dozen times on the way.
fn render_sized(snapshot: Option<Arc<Snapshot>>, facts: AgentFacts, capacity: usize) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition { snapshot, facts }));
    let mut out = String::with_capacity(capacity);
    // Writing to a String cannot fail; a collector error would leave a cut exposition,
    // which Prometheus refuses rather than misreads.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    // The body is cached until the next sample: do not keep much growth slack with it (up to
    // as much again as its size, megabytes on a host of thousands of containers).
    if out.capacity() > out.len() + out.len() / 4 {
        out.shrink_to_fit();
    }
    out
}

/// Rewrites prometheus-client's OpenMetrics text as Prometheus text 0.0.4: a counter family
/// is named after its samples (`x_total`, not `x`), and the `# UNIT` and `# EOF` lines go
/// (0.0.4 has neither). Samples are the same in both formats.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut lines = openmetrics.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, text) = help.split_once(' ').unwrap_or((help, ""));
            let counter = lines
                .peek()
                .and_then(|next| next.strip_prefix("# TYPE "))
                .is_some_and(|t| t == format!("{name} counter"));
            if counter {
                let _ = writeln!(out, "# HELP {name}_total {text}");
                let _ = writeln!(out, "# TYPE {name}_total counter");
                lines.next();
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
