//! Command-line flags, each with an environment-variable fallback.

use std::net::SocketAddr;

use clap::Parser;

use crate::sample::docker_api::Endpoint;

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
}

/// `--collector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CollectorChoice {
    /// cgroup files when readable, else the Docker API.
    Auto,
    /// Read CPU and memory straight from the containers' cgroup files.
    Cgroup,
    /// Ask the Docker engine for each container's stats.
    DockerApi,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    s.parse()
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
    pub fn access(&self) -> Result<crate::access::Access, String> {
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read --token-file {}: {e}", path.display()))?;
                Some(text.lines().next().unwrap_or_default().to_owned())
            }
            (None, None) => None,
        };
        crate::access::Access::new(token, self.allowed_origins.clone())
    }

    /// The Docker endpoint to use.
    ///
    /// # Errors
    /// When `$DOCKER_HOST` (used without a flag) is not an endpoint we can speak to.
    pub fn endpoint(&self) -> Result<Endpoint, String> {
        match &self.docker_endpoint {
            Some(endpoint) => Ok(endpoint.clone()),
            None => Endpoint::local_default()
                .parse()
                .map_err(|e| format!("DOCKER_HOST: {e}")),
        }
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
}
