//! Where the Docker engine listens ([`Endpoint`]), the client for it, and what can go wrong
//! talking to it ([`EngineError`], which says whether trying again can help, like vector's
//! `ErrorPersistence`). A leaf: it imports nothing else of the agent, so `config` (which parses
//! the endpoint) and `sample` (which talks to the engine) both use it without meeting.

use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::{Docker, API_DEFAULT_VERSION};

/// Header timeout for every engine request; streams themselves are not cut.
pub const REQUEST_TIMEOUT_SECS: u64 = 5;
/// A connect, list or inspect slower than this counts as a failure, so a hung engine is noticed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(REQUEST_TIMEOUT_SECS);
/// The engine used when neither `--docker-endpoint` nor `$DOCKER_HOST` names one.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Where the engine listens, parsed from `--docker-endpoint` or `$DOCKER_HOST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:///var/run/docker.sock` or a bare path.
    Unix(String),
    /// `tcp://host:2375` (plain HTTP).
    Tcp(String),
    /// `npipe:////./pipe/docker_engine` (Windows only).
    NamedPipe(String),
}

/// Why a text is not an [`Endpoint`]; each message quotes the text and shows a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// `unix://` with nothing after it.
    #[error("{0:?} has no socket path; try unix:///var/run/docker.sock")]
    NoSocketPath(String),
    /// `tcp://` or `tcp://:port`.
    #[error("{0:?} has no host; try tcp://127.0.0.1:2375")]
    NoHost(String),
    /// Any other scheme, or none.
    #[error(
        "{0:?} is not a Docker endpoint; use unix:///path/docker.sock, tcp://host:port or \
         npipe:////./pipe/docker_engine"
    )]
    Scheme(String),
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(EndpointError::NoSocketPath(s.to_owned()));
            }
            Ok(Endpoint::Unix(path.to_owned()))
        } else if s.starts_with('/') {
            Ok(Endpoint::Unix(s.to_owned()))
        } else if let Some(rest) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            if rest.is_empty() || rest.starts_with(':') {
                return Err(EndpointError::NoHost(s.to_owned()));
            }
            Ok(Endpoint::Tcp(format!("tcp://{rest}")))
        } else if s.starts_with("npipe://") {
            Ok(Endpoint::NamedPipe(s.to_owned()))
        } else {
            Err(EndpointError::Scheme(s.to_owned()))
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{path}"),
            Endpoint::Tcp(url) | Endpoint::NamedPipe(url) => f.write_str(url),
        }
    }
}

/// A client for `endpoint`, API version not yet negotiated. Makes no request.
///
/// # Errors
/// A named pipe anywhere but on Windows; bollard's own refusals of the address.
pub fn client(endpoint: &Endpoint) -> Result<Docker, BollardError> {
    match endpoint {
        Endpoint::Unix(path) => {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        Endpoint::Tcp(url) => {
            Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        #[cfg(windows)]
        Endpoint::NamedPipe(path) => {
            Docker::connect_with_named_pipe(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        #[cfg(not(windows))]
        Endpoint::NamedPipe(path) => Err(BollardError::UnsupportedURISchemeError {
            uri: format!("{path} (named pipes exist only on Windows)"),
        }),
    }
}

/// One engine call that failed or did not answer in time.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The engine (or the connection to it) answered with an error.
    #[error("{0}")]
    Engine(#[from] BollardError),
    /// No answer within [`CALL_TIMEOUT`].
    #[error("no answer within {CALL_TIMEOUT:?}")]
    Timeout,
}

impl CallError {
    /// Whether the same call may succeed later without anyone changing the configuration.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Engine(e) => bollard_is_transient(e),
            CallError::Timeout => true,
        }
    }
}

/// What failed while following the engine. The text is what `agent_status` and `/healthz`
/// show as the engine error, so it names the endpoint and the call.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Connecting, negotiating the API version or `docker version` failed.
    #[error("cannot reach the Docker engine at {endpoint}: {source}")]
    Connect {
        /// Where.
        endpoint: Endpoint,
        /// What bollard said.
        source: BollardError,
    },
    /// Connecting took longer than [`CALL_TIMEOUT`].
    #[error("the Docker engine at {endpoint} did not answer within {REQUEST_TIMEOUT_SECS} s")]
    ConnectTimeout {
        /// Where.
        endpoint: Endpoint,
    },
    /// The event stream broke.
    #[error("the Docker engine at {endpoint} stopped sending events: {source}")]
    Events {
        /// Where.
        endpoint: Endpoint,
        /// What bollard said.
        source: BollardError,
    },
    /// The engine ended the event stream (it is shutting down).
    #[error("the Docker engine at {endpoint} closed the event stream")]
    EventsClosed {
        /// Where.
        endpoint: Endpoint,
    },
    /// Listing running containers failed.
    #[error("listing containers at {endpoint} failed: {source}")]
    List {
        /// Where.
        endpoint: Endpoint,
        /// What bollard said.
        source: BollardError,
    },
    /// Listing running containers took longer than [`CALL_TIMEOUT`].
    #[error("listing containers at {endpoint} took longer than {CALL_TIMEOUT:?}")]
    ListTimeout {
        /// Where.
        endpoint: Endpoint,
    },
}

impl EngineError {
    /// Whether retrying the same endpoint may help (a stopped or restarting engine, a dropped
    /// connection, a timeout) or not (a named pipe off Windows, a refused request): the
    /// watcher retries either way, since an operator can fix the engine under a running agent,
    /// but says which it is.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Connect { source, .. }
            | EngineError::Events { source, .. }
            | EngineError::List { source, .. } => bollard_is_transient(source),
            EngineError::ConnectTimeout { .. }
            | EngineError::EventsClosed { .. }
            | EngineError::ListTimeout { .. } => true,
        }
    }
}

/// Transient: the connection, the socket, a timeout, or the engine's own trouble (5xx, 404 for
/// an object that went away, 408, 429). Permanent: the address cannot work, or the engine
/// refused the request as such (other 4xx: bad request, unauthorised, forbidden).
fn bollard_is_transient(e: &BollardError) -> bool {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => {
            *status_code >= 500 || matches!(status_code, 404 | 408 | 429)
        }
        BollardError::UnsupportedURISchemeError { .. }
        | BollardError::InvalidURIError { .. }
        | BollardError::InvalidURIPartsError { .. }
        | BollardError::URLParseError { .. }
        | BollardError::APIVersionParseError {} => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing_table() {
        let ok = [
            (
                "unix:///var/run/docker.sock",
                Endpoint::Unix("/var/run/docker.sock".into()),
            ),
            (
                "/run/user/1000/docker.sock",
                Endpoint::Unix("/run/user/1000/docker.sock".into()),
            ),
            (
                "tcp://10.0.0.5:2375",
                Endpoint::Tcp("tcp://10.0.0.5:2375".into()),
            ),
            ("http://h:2375", Endpoint::Tcp("tcp://h:2375".into())),
            (
                "npipe:////./pipe/docker_engine",
                Endpoint::NamedPipe("npipe:////./pipe/docker_engine".into()),
            ),
        ];
        for (input, want) in ok {
            assert_eq!(input.parse::<Endpoint>().as_ref(), Ok(&want), "{input}");
        }
        for bad in [
            "",
            "unix://",
            "tcp://",
            "docker.sock",
            "ssh://host",
            "tcp://:2375",
        ] {
            let err = bad.parse::<Endpoint>().expect_err(bad).to_string();
            assert!(
                err.contains(&format!("{bad:?}")),
                "error should quote the input: {err}"
            );
        }
    }

    #[test]
    fn retry_helps_only_where_the_engine_may_recover() {
        let server = |status_code| BollardError::DockerResponseServerError {
            status_code,
            message: "x".into(),
        };
        let cases = [
            (server(500), true),
            (server(503), true),
            (server(404), true),
            (server(429), true),
            (server(400), false),
            (server(403), false),
            (BollardError::SocketNotFoundError("/x".into()), true),
            (BollardError::RequestTimeoutError, true),
            (
                BollardError::UnsupportedURISchemeError { uri: "x".into() },
                false,
            ),
        ];
        for (error, want) in cases {
            let text = error.to_string();
            assert_eq!(CallError::Engine(error).is_transient(), want, "{text}");
        }
        assert!(CallError::Timeout.is_transient());
        let off_windows = client(&Endpoint::NamedPipe("npipe:////./pipe/x".into()));
        #[cfg(not(windows))]
        {
            let error = EngineError::Connect {
                endpoint: Endpoint::NamedPipe("npipe:////./pipe/x".into()),
                source: off_windows.expect_err("no named pipes here"),
            };
            assert!(!error.is_transient(), "{error}");
            assert!(error.to_string().contains("only on Windows"), "{error}");
        }
        #[cfg(windows)]
        drop(off_windows);
    }
}
