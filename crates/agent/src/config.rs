//! Every setting: command-line flags, each with an environment-variable fallback, and the three
//! settings that come from the environment only (`$DOCKER_HOST`, `$DOCKSCOPE_CGROUP_ROOT`,
//! `$DOCKSCOPE_PROC_ROOT`).
//! Nothing else in the agent reads the environment; the parsed values are handed down
//! ([`Config::sample_settings`], [`Config::access`], [`Config::alert_settings`]). Imports only
//! leaves (`engine`, `sample::settings`, `access`, `alerts`' settings and URL), so nothing it
//! uses reaches back up here.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use dockscope_rules::{default_rules, RuleError, RuleFile};

use crate::access::{Access, AccessError};
use crate::alerts::pace::DEFAULT_PER_MINUTE;
use crate::alerts::webhook::{WebhookUrl, WebhookUrlError};
use crate::alerts::AlertSettings;
use crate::engine::{Endpoint, EndpointError, DEFAULT_ENDPOINT};
pub use crate::sample::settings::CollectorChoice;
use crate::sample::settings::{
    SampleSettings, CGROUP_ROOT_ENV, DEFAULT_CGROUP_ROOT, DEFAULT_PROC_ROOT, PROC_ROOT_ENV,
};

/// Dockscope agent: samples every running container once a second and streams the figures to
/// WebSocket clients. Read-only: it never changes a container.
#[derive(Debug, Clone, Parser)]
#[command(name = "dockscope-agent", version = env!("DOCKSCOPE_LONG_VERSION"))]
pub struct Config {
    /// Address to listen on for WebSocket clients (and the dashboard with --serve-ui).
    #[arg(long, env = "DOCKSCOPE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Name of this agent in every message [default: the host name].
    #[arg(long, env = "DOCKSCOPE_AGENT_ID")]
    pub agent_id: Option<String>,

    /// Docker engine: unix:///path/docker.sock, tcp://host:port or npipe:////./pipe/docker_engine
    /// [default: $DOCKER_HOST, else unix:///var/run/docker.sock].
    #[arg(long, env = "DOCKSCOPE_DOCKER_ENDPOINT", value_parser = parse_endpoint)]
    pub docker_endpoint: Option<Endpoint>,

    /// Log filter: error, warn, info, debug (each payload header and its dispatch time) or trace;
    /// any tracing EnvFilter directive works, e.g. `dockscope_agent=debug,bollard=warn`.
    #[arg(long, env = "DOCKSCOPE_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Serve the embedded dashboard on the same port as the WebSocket.
    #[arg(long, env = "DOCKSCOPE_SERVE_UI")]
    pub serve_ui: bool,

    /// Most WebSocket clients served at once; more are refused with 503.
    #[arg(long, env = "DOCKSCOPE_MAX_CLIENTS", default_value_t = 256, value_parser = at_least_one)]
    pub max_clients: usize,

    /// Most WebSocket clients from one peer (an IPv4 address or IPv6 /64), so one host cannot
    /// take every --max-clients slot; more get 503. Behind a reverse proxy every client has
    /// the proxy's address: set this to --max-clients there.
    #[arg(
        long,
        env = "DOCKSCOPE_MAX_CLIENTS_PER_PEER",
        default_value_t = 32,
        value_parser = at_least_one
    )]
    pub max_clients_per_peer: usize,

    /// Most connections that are not WebSocket clients yet (TLS handshakes, HTTP requests,
    /// idle keep-alive connections); more are closed as soon as they are accepted.
    #[arg(long, env = "DOCKSCOPE_MAX_PENDING", default_value_t = 128, value_parser = at_least_one)]
    pub max_pending: usize,

    /// The same, from one peer. Behind a reverse proxy, raise it to --max-pending.
    #[arg(
        long,
        env = "DOCKSCOPE_MAX_PENDING_PER_PEER",
        default_value_t = 16,
        value_parser = at_least_one
    )]
    pub max_pending_per_peer: usize,

    /// Shared secret clients must present (subprotocol `dockscope-token.<token>` or
    /// `?token=`). Prefer --token-file or the env var: flags show up in `ps`.
    #[arg(
        long,
        env = "DOCKSCOPE_TOKEN",
        hide_env_values = true,
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,

    /// Read the token from this file (first line).
    #[arg(long, env = "DOCKSCOPE_TOKEN_FILE", value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,

    /// Comma-separated browser origins allowed to connect, e.g.
    /// `https://ops.example.com,http://localhost:8080`. The agent's own page (--serve-ui) passes
    /// unlisted only when opened by an IP address or as localhost; by a host name, list it.
    /// Default: any origin.
    #[arg(long, env = "DOCKSCOPE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// PEM certificate chain: serve wss:// and https:// (needs --tls-key).
    #[arg(
        long,
        env = "DOCKSCOPE_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "DOCKSCOPE_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,

    /// How to read container figures: `auto` (cgroup files when readable, else the Docker API),
    /// `cgroup` or `docker-api`.
    #[arg(long, env = "DOCKSCOPE_COLLECTOR", value_enum, default_value_t = CollectorChoice::Auto)]
    pub collector: CollectorChoice,

    /// Generate N fake containers instead of reading Docker (dashboard benchmarks only; the
    /// data is labelled synthetic on the wire).
    #[arg(long, env = "DOCKSCOPE_SYNTHETIC_CONTAINERS", value_name = "N")]
    pub synthetic_containers: Option<usize>,

    /// How long a container that stopped stays listed (greyed, with its exit code) after it
    /// finished, removed or not: `10m`, `600s`, `1h` or plain seconds; `0` lists none.
    #[arg(
        long,
        env = "DOCKSCOPE_KEEP_EXITED",
        value_name = "DURATION",
        default_value = "10m",
        value_parser = parse_duration
    )]
    pub keep_exited: std::time::Duration,

    /// POST a Slack-compatible JSON message here when an alert rule fires or clears for a
    /// container: http:// or https:// (e.g. a Slack, Mattermost or Discord `/slack` incoming
    /// webhook). Without it the agent makes no outbound connection.
    #[arg(
        long,
        env = "DOCKSCOPE_ALERT_WEBHOOK",
        value_name = "URL",
        hide_env_values = true,
        value_parser = parse_webhook
    )]
    pub alert_webhook: Option<WebhookUrl>,

    /// The alert rules for --alert-webhook: a JSON rules file (`{"version":1,"rules":[…]}`; a
    /// dashboard export is one) [default: the dashboard's default rules].
    #[arg(
        long,
        env = "DOCKSCOPE_ALERT_RULES",
        value_name = "FILE",
        requires = "alert_webhook"
    )]
    pub alert_rules: Option<PathBuf>,

    /// Most alert messages posted a minute; the rest are counted and one summary message
    /// says how many.
    #[arg(
        long,
        env = "DOCKSCOPE_ALERT_RATE_LIMIT",
        value_name = "N",
        default_value_t = DEFAULT_PER_MINUTE,
        value_parser = at_least_one,
        requires = "alert_webhook"
    )]
    pub alert_rate_limit: usize,

    /// `$DOCKER_HOST`, the engine when `--docker-endpoint` is not given (no flag: the Docker
    /// CLI's variable, read as the CLI reads it).
    #[arg(skip = std::env::var("DOCKER_HOST").ok())]
    pub docker_host: Option<String>,

    /// The host's cgroup hierarchy: `$DOCKSCOPE_CGROUP_ROOT` (for an agent in a container with
    /// the host's tree mounted elsewhere), else `/sys/fs/cgroup`.
    #[arg(skip = cgroup_root_from_env())]
    pub cgroup_root: PathBuf,

    /// The host's `/proc`, where containers' network counters are read:
    /// `$DOCKSCOPE_PROC_ROOT` (for an agent in a container with the host's `/proc` mounted
    /// elsewhere), else `/proc`.
    #[arg(skip = root_from_env(PROC_ROOT_ENV, DEFAULT_PROC_ROOT))]
    pub proc_root: PathBuf,
}

/// Why a count flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// `0` for a cap that must let at least one in.
    #[error("must be at least 1")]
    Zero,
    /// Not a number at all; quotes the text.
    #[error("{0:?} is not a whole number")]
    NotANumber(String),
}

/// Why a duration flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration: write e.g. 10m, 600s, 1h or a number of seconds")]
pub struct DurationError(String);

/// A duration as `10m`, `600s`, `1h`, `2d` or plain seconds (`600`).
fn parse_duration(s: &str) -> Result<std::time::Duration, DurationError> {
    let text = s.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per: u64 = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(DurationError(s.to_owned())),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| DurationError(s.to_owned()))
}

/// Why `--alert-rules` cannot be used; each message names the file. Permanent: the agent does
/// not start until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum AlertRulesError {
    /// The file cannot be read.
    #[error("cannot read --alert-rules {}: {source}", .path.display())]
    Read {
        /// `--alert-rules`.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a rules file, or a rule in it cannot be evaluated (the error names the rule).
    #[error("--alert-rules {}: {source}", .path.display())]
    Invalid {
        /// `--alert-rules`.
        path: PathBuf,
        /// Which rule and why.
        source: RuleError,
    },
}

fn parse_webhook(s: &str) -> Result<WebhookUrl, WebhookUrlError> {
    s.parse()
}

/// `$DOCKER_HOST` (used without `--docker-endpoint`) is not an endpoint we can speak to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DOCKER_HOST: {0}")]
pub struct DockerHostError(#[source] pub EndpointError);

fn at_least_one(s: &str) -> Result<usize, CountError> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(CountError::Zero),
        Ok(n) => Ok(n),
        Err(_) => Err(CountError::NotANumber(s.to_owned())),
    }
}

fn parse_endpoint(s: &str) -> Result<Endpoint, EndpointError> {
    s.parse()
}

fn cgroup_root_from_env() -> PathBuf {
    root_from_env(CGROUP_ROOT_ENV, DEFAULT_CGROUP_ROOT)
}

/// The directory `$variable` names, else `default`.
fn root_from_env(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .filter(|r| !r.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

impl Config {
    /// The agent id to use: the flag, else the host name, else "dockscope-agent".
    pub fn agent_id(&self) -> String {
        self.agent_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .or_else(host_name)
            .unwrap_or_else(|| "dockscope-agent".to_owned())
    }

    /// Token and origin rules from the flags.
    ///
    /// # Errors
    /// When the token file cannot be read or the token cannot travel as a subprotocol.
    pub fn access(&self) -> Result<Access, AccessError> {
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| AccessError::TokenFile {
                        path: path.clone(),
                        source,
                    })?;
                Some(text.lines().next().unwrap_or_default().to_owned())
            }
            (None, None) => None,
        };
        Access::new(token, self.allowed_origins.clone())
    }

    /// The Docker endpoint to use: the flag, else `$DOCKER_HOST`, else the local socket.
    ///
    /// # Errors
    /// When `$DOCKER_HOST` (used without a flag) is not an endpoint we can speak to.
    pub fn endpoint(&self) -> Result<Endpoint, DockerHostError> {
        match &self.docker_endpoint {
            Some(endpoint) => Ok(endpoint.clone()),
            None => self
                .docker_host
                .as_deref()
                .unwrap_or(DEFAULT_ENDPOINT)
                .parse()
                .map_err(DockerHostError),
        }
    }

    /// What the collectors need: `--collector`, the endpoint, the cgroup and proc roots,
    /// `--synthetic-containers`.
    ///
    /// # Errors
    /// See [`Config::endpoint`].
    pub fn sample_settings(&self) -> Result<SampleSettings, DockerHostError> {
        Ok(SampleSettings {
            collector: self.collector,
            endpoint: self.endpoint()?,
            cgroup_root: self.cgroup_root.clone(),
            proc_root: self.proc_root.clone(),
            synthetic_containers: self.synthetic_containers,
            keep_exited: self.keep_exited,
        })
    }
}

impl Config {
    /// What the alert task needs, or `None` without `--alert-webhook` (no task, no outbound
    /// connection). Reads `--alert-rules` when given.
    ///
    /// # Errors
    /// [`AlertRulesError`] when the rules file cannot be read or holds a rule that cannot be
    /// evaluated.
    pub fn alert_settings(&self) -> Result<Option<AlertSettings>, AlertRulesError> {
        let Some(webhook) = self.alert_webhook.clone() else {
            return Ok(None);
        };
        let rules = match &self.alert_rules {
            None => default_rules(),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| AlertRulesError::Read {
                        path: path.clone(),
                        source,
                    })?;
                RuleFile::parse(&text)
                    .map_err(|source| AlertRulesError::Invalid {
                        path: path.clone(),
                        source,
                    })?
                    .rules
            }
        };
        Ok(Some(AlertSettings {
            webhook,
            rules,
            per_minute: self.alert_rate_limit,
        }))
    }
}

/// A bare level (`debug`) applies to the agent only, so dependencies (bollard logs every
/// payload at debug) stay at `warn`; anything else is used as a tracing filter as written.
pub fn log_filter(level: &str) -> String {
    let level = level.trim();
    match level.to_ascii_lowercase().as_str() {
        "trace" | "debug" | "info" => format!("warn,dockscope_agent={level}"),
        _ => level.to_owned(),
    }
}

fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_bad_values_are_explained() {
        let config = Config::try_parse_from([
            "dockscope-agent",
            "--listen",
            "127.0.0.1:9000",
            "--agent-id",
            "lab-1",
            "--docker-endpoint",
            "tcp://10.1.2.3:2375",
        ])
        .expect("valid flags");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.agent_id(), "lab-1");
        assert_eq!(
            config.endpoint(),
            Ok(Endpoint::Tcp("tcp://10.1.2.3:2375".into()))
        );

        let err = Config::try_parse_from(["dockscope-agent", "--docker-endpoint", "docker.sock"])
            .expect_err("not an endpoint")
            .to_string();
        assert!(
            err.contains("\"docker.sock\" is not a Docker endpoint"),
            "{err}"
        );
        assert_eq!(log_filter("debug"), "warn,dockscope_agent=debug");
        assert_eq!(log_filter("bollard=trace"), "bollard=trace");
        let err = Config::try_parse_from(["dockscope-agent", "--listen", "8080"])
            .expect_err("no host")
            .to_string();
        assert!(err.contains("8080"), "{err}");
    }

    #[test]
    fn environment_only_settings_are_parsed_here_and_handed_down() {
        let mut config = Config::try_parse_from(["dockscope-agent", "--collector", "cgroup"])
            .expect("valid flags");
        config.docker_host = None;
        config.cgroup_root = "/host/sys/fs/cgroup".into();
        config.proc_root = "/host/proc".into();
        let settings = config.sample_settings().expect("default endpoint");
        assert_eq!(
            settings,
            SampleSettings {
                collector: CollectorChoice::Cgroup,
                endpoint: Endpoint::Unix("/var/run/docker.sock".into()),
                cgroup_root: "/host/sys/fs/cgroup".into(),
                proc_root: "/host/proc".into(),
                synthetic_containers: None,
                keep_exited: std::time::Duration::from_secs(600),
            }
        );
        let cases = [
            (
                Some("tcp://10.0.0.9:2375"),
                Ok(Endpoint::Tcp("tcp://10.0.0.9:2375".into())),
            ),
            (
                Some("/run/docker.sock"),
                Ok(Endpoint::Unix("/run/docker.sock".into())),
            ),
            (
                Some("ssh://host"),
                Err("DOCKER_HOST: \"ssh://host\" is not a Docker endpoint"),
            ),
        ];
        for (docker_host, want) in cases {
            config.docker_host = docker_host.map(str::to_owned);
            match (config.endpoint(), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => {
                    assert!(got.to_string().starts_with(want), "{got}")
                }
                (got, want) => panic!("{docker_host:?}: {got:?} != {want:?}"),
            }
        }
        // The flag wins over $DOCKER_HOST.
        config.docker_endpoint = Some(Endpoint::Tcp("tcp://h:1".into()));
        assert_eq!(config.endpoint(), Ok(Endpoint::Tcp("tcp://h:1".into())));
    }

    #[test]
    fn keep_exited_takes_durations_and_explains_the_rest() {
        let secs = |n| Ok(std::time::Duration::from_secs(n));
        let table = [
            ("10m", secs(600)),
            ("600s", secs(600)),
            ("600", secs(600)),
            (" 3s ", secs(3)),
            ("1h", secs(3_600)),
            ("2d", secs(172_800)),
            ("0", secs(0)),
            ("", Err(DurationError(String::new()))),
            ("m", Err(DurationError("m".into()))),
            ("1.5m", Err(DurationError("1.5m".into()))),
            ("10 minutes", Err(DurationError("10 minutes".into()))),
            ("-5s", Err(DurationError("-5s".into()))),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), want, "{text:?}");
        }
        let config = Config::try_parse_from(["dockscope-agent"]).expect("defaults");
        assert_eq!(config.keep_exited, std::time::Duration::from_secs(600));
        let err = Config::try_parse_from(["dockscope-agent", "--keep-exited", "soon"])
            .expect_err("not a duration")
            .to_string();
        assert!(
            err.contains("--keep-exited") && err.contains("\"soon\" is not a duration"),
            "{err}"
        );
    }

    #[test]
    fn connection_caps_have_defaults_and_refuse_zero() {
        let config = Config::try_parse_from(["dockscope-agent"]).expect("defaults");
        assert_eq!(
            (
                config.max_clients,
                config.max_clients_per_peer,
                config.max_pending,
                config.max_pending_per_peer
            ),
            (256, 32, 128, 16)
        );
        let config = Config::try_parse_from([
            "dockscope-agent",
            "--max-clients-per-peer",
            "256",
            "--max-pending-per-peer",
            "128",
        ])
        .expect("behind a proxy");
        assert_eq!(
            (config.max_clients_per_peer, config.max_pending_per_peer),
            (256, 128)
        );
        for flag in [
            "--max-clients",
            "--max-clients-per-peer",
            "--max-pending",
            "--max-pending-per-peer",
        ] {
            let err = Config::try_parse_from(["dockscope-agent", flag, "0"])
                .expect_err("zero")
                .to_string();
            assert!(err.contains(flag) && err.contains("at least 1"), "{err}");
            let err = Config::try_parse_from(["dockscope-agent", flag, "lots"])
                .expect_err("not a number")
                .to_string();
            assert!(err.contains("\"lots\" is not a whole number"), "{err}");
        }
    }

    #[test]
    fn alert_flags_take_a_webhook_and_a_rules_file_and_explain_what_is_wrong() {
        // No webhook: no alerts at all, whatever else is set.
        let config = Config::try_parse_from(["dockscope-agent"]).expect("defaults");
        assert!(config.alert_settings().expect("no file").is_none());
        assert_eq!(config.alert_rate_limit, 20);

        let config = Config::try_parse_from([
            "dockscope-agent",
            "--alert-webhook",
            "https://hooks.slack.com/services/T0/B0/secret",
        ])
        .expect("https");
        let settings = config.alert_settings().expect("defaults").expect("on");
        assert_eq!(settings.rules, default_rules());
        assert_eq!(settings.per_minute, 20);
        assert_eq!(settings.webhook.redacted(), "https://hooks.slack.com/…");

        let dir = std::env::temp_dir().join(format!("ds-alert-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            r#"{"version":1,"agents":[],"rules":[{"kind":"oom_killed","containers":"web-*"}]}"#,
        )
        .expect("write");
        let bad = dir.join("bad.json");
        std::fs::write(
            &bad,
            r#"{"rules":[{"kind":"unhealthy"},{"kind":"memory_above","percent":120}]}"#,
        )
        .expect("write");
        let with_rules = |path: &std::path::Path| {
            Config::try_parse_from([
                "dockscope-agent",
                "--alert-webhook",
                "http://127.0.0.1:9/hook",
                "--alert-rules",
                path.to_str().expect("utf-8"),
                "--alert-rate-limit",
                "3",
            ])
            .expect("flags")
        };
        let settings = with_rules(&good)
            .alert_settings()
            .expect("good file")
            .expect("on");
        assert_eq!(settings.rules.len(), 1);
        assert_eq!(settings.rules[0].to_string(), "OOM-killed (web-*)");
        assert_eq!(settings.per_minute, 3);
        let error = with_rules(&bad)
            .alert_settings()
            .expect_err("bad")
            .to_string();
        assert_eq!(
            error,
            format!(
                "--alert-rules {}: rule 2 (memory above 120 % of its limit): percent must be \
                 above 0 and at most 100, not 120",
                bad.display()
            )
        );
        let missing = dir.join("missing.json");
        let error = with_rules(&missing)
            .alert_settings()
            .expect_err("missing")
            .to_string();
        assert!(
            error.starts_with(&format!(
                "cannot read --alert-rules {}: ",
                missing.display()
            )),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);

        // (flags, what the refusal says)
        let refused: [(&[&str], &str); 5] = [
            (
                &["--alert-webhook", "ftp://example.com/hook"],
                "\"ftp://example.com/hook\" is not an http:// or https:// URL",
            ),
            (
                &["--alert-webhook", "hooks.slack.com/services/x"],
                "is not an http:// or https:// URL",
            ),
            (&["--alert-rules", "/etc/rules.json"], "--alert-webhook"),
            (&["--alert-rate-limit", "5"], "--alert-webhook"),
            (
                &["--alert-webhook", "http://h/", "--alert-rate-limit", "0"],
                "at least 1",
            ),
        ];
        for (flags, expected) in refused {
            let err = Config::try_parse_from(
                std::iter::once("dockscope-agent").chain(flags.iter().copied()),
            )
            .expect_err("refused")
            .to_string();
            assert!(err.contains(expected), "{flags:?}: {err}");
        }
    }
}
