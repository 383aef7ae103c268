//! `--alert-webhook`: the URL, checked at start, and one POST to it — a fresh connection each
//! time (plain TCP, or TLS through rustls with Mozilla's roots compiled in, so the static
//! binary and the `FROM scratch` image need no certificate store), hyper's HTTP/1.1 client
//! connection on it, one JSON body, the status back. No pool and no client crate: at most a
//! few messages a minute go out, and a connection kept open would be one more thing to time out.
//!
//! Errors say whether trying again can help ([`PostError::is_transient`]), as the engine's do:
//! a refused connection, a timeout or a 5xx may pass; a 404 or a 400 (Slack's "no_service",
//! "invalid_payload") will not, and is not retried.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The longest one POST may take, connecting, TLS and reading the answer's head included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a refusal's body is kept for the log (Slack explains in a word or two).
const REASON_BYTES: usize = 200;

/// Where alerts go: an `http://` or `https://` URL with a host. Its `Debug` and
/// [`WebhookUrl::redacted`] leave out the path and query, which is where Slack, Mattermost and
/// Discord keep the webhook's secret, so the URL can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The URL as given (parsed).
    uri: Uri,
    /// `https`.
    tls: bool,
    /// The host to connect to, without an IPv6 literal's brackets.
    host: String,
    /// The port, the scheme's when the URL has none.
    port: u16,
}

/// Why `--alert-webhook` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not a URL at all.
    #[error("{0:?} is not a URL: write it as http://host[:port]/path or https://host/path")]
    NotAUrl(String),
    /// A scheme other than http and https, or none.
    #[error(
        "{0:?} is not an http:// or https:// URL: the agent posts alerts over HTTP(S) only, \
         e.g. https://hooks.slack.com/services/…"
    )]
    Scheme(String),
}

impl FromStr for WebhookUrl {
    type Err = WebhookUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        // The scheme first: "hooks.slack.com/…" without one is the likely mistake, and the
        // answer to it is the scheme, not "not a URL".
        let tls = match text.split_once("://").map(|(scheme, _)| scheme) {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
            _ => return Err(WebhookUrlError::Scheme(s.to_owned())),
        };
        let uri: Uri = text
            .parse()
            .map_err(|_| WebhookUrlError::NotAUrl(s.to_owned()))?;
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| WebhookUrlError::NotAUrl(s.to_owned()))?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(WebhookUrl {
            uri,
            tls,
            host,
            port,
        })
    }
}

impl WebhookUrl {
    /// `https://hooks.slack.com/…`: scheme and authority only, safe to log.
    #[must_use]
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        // A password in the authority is a secret too.
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        format!("{scheme}://{authority}/…")
    }

    /// What goes after `POST`: the path and query (`/` when the URL has none).
    fn target(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The `Host` header: the authority without user information.
    fn host_header(&self) -> &str {
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        authority.rsplit('@').next().unwrap_or(authority)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Why one POST did not get a 2xx.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// No TCP connection (refused, unreachable, the name does not resolve). Transient.
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    /// The TLS handshake failed (certificate refused, protocol). Transient: a certificate being
    /// replaced or a proxy in the way can pass; five tries cost little.
    #[error("TLS handshake failed: {0}")]
    Tls(#[source] std::io::Error),
    /// The HTTP exchange broke off (connection reset, malformed answer). Transient.
    #[error("HTTP exchange failed: {0}")]
    Http(#[source] hyper::Error),
    /// Nothing came back within [`POST_TIMEOUT`]. Transient.
    #[error("no answer within {} s", POST_TIMEOUT.as_secs())]
    TimedOut,
    /// The receiver answered, but not with a 2xx; `reason` is the start of its body.
    #[error("the receiver answered {status}: {reason:?}")]
    Status {
        /// What it answered.
        status: StatusCode,
        /// The first bytes of its body, for the log.
        reason: String,
    },
}

impl PostError {
    /// Whether the same message may get through on a later try: everything but an answer
    /// that refuses this request (a 4xx other than 408 and 429, or a redirect, which is not
    /// followed).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            PostError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            PostError::Connect(_)
            | PostError::Tls(_)
            | PostError::Http(_)
            | PostError::TimedOut => true,
        }
    }
}

/// Why the webhook client could not be set up (rustls refused its own defaults; not expected
/// with ring).
#[derive(Debug, thiserror::Error)]
#[error("--alert-webhook: TLS setup failed: {0}")]
pub struct SetupError(#[source] tokio_rustls::rustls::Error);

/// Posts to one webhook.
#[derive(Clone)]
pub struct Webhook {
    /// Where.
    url: WebhookUrl,
    /// For `https://`: rustls with Mozilla's roots; `None` for `http://`.
    tls: Option<TlsConnector>,
    /// Who is posting: `dockscope-agent/<version>`.
    user_agent: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

impl Webhook {
    /// A client for `url` (for `https://`, rustls with ring and the compiled-in roots).
    ///
    /// # Errors
    /// [`SetupError`] when rustls refuses the protocol versions.
    pub fn new(url: WebhookUrl, version: &str) -> Result<Webhook, SetupError> {
        let tls = if url.tls {
            let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            let mut config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(SetupError)?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Webhook {
            url,
            tls,
            user_agent: format!("dockscope-agent/{version}"),
        })
    }

    /// Where it posts, for the log.
    #[must_use]
    pub fn url(&self) -> &WebhookUrl {
        &self.url
    }

    /// POSTs `body` (JSON) once, within [`POST_TIMEOUT`]; the 2xx status on success.
    ///
    /// # Errors
    /// [`PostError`], which says whether another try can help.
    pub async fn post(&self, body: Bytes) -> Result<StatusCode, PostError> {
        tokio::time::timeout(POST_TIMEOUT, self.post_untimed(body))
            .await
            .unwrap_or(Err(PostError::TimedOut))
    }

    async fn post_untimed(&self, body: Bytes) -> Result<StatusCode, PostError> {
        let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(PostError::Connect)?;
        // One small request: send it at once rather than wait for an ACK (Nagle).
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some(connector) => {
                let name = ServerName::try_from(self.url.host.clone()).map_err(|e| {
                    PostError::Tls(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
                })?;
                let stream = connector.connect(name, tcp).await.map_err(PostError::Tls)?;
                self.exchange(TokioIo::new(stream), body).await
            }
            None => self.exchange(TokioIo::new(tcp), body).await,
        }
    }

    /// The HTTP/1.1 request and its answer on a connected stream. The connection is driven
    /// here, beside the request, rather than in a task of its own, so a timeout or shutdown
    /// that drops this future closes the socket with it.
    async fn exchange<I>(&self, io: I, body: Bytes) -> Result<StatusCode, PostError>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(PostError::Http)?;
        let request = Request::post(self.url.target())
            .header(HOST, self.url.host_header())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, self.user_agent.as_str())
            .body(Full::new(body));
        let request = match request {
            Ok(request) => request,
            // Only an invalid header value gets here; the URL was checked at start.
            Err(e) => {
                return Err(PostError::Connect(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    e,
                )))
            }
        };
        let exchange = async move {
            let response = sender.send_request(request).await?;
            let status = response.status();
            if status.is_success() {
                return Ok(Ok(status));
            }
            let mut body = response.into_body();
            let mut reason = Vec::new();
            while reason.len() < REASON_BYTES {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            reason.extend_from_slice(data);
                        }
                    }
                    Some(Err(_)) | None => break,
                }
            }
            reason.truncate(REASON_BYTES);
            let reason = String::from_utf8_lossy(&reason).trim().to_owned();
            Ok(Err(PostError::Status { status, reason }))
        };
        tokio::pin!(connection, exchange);
        let outcome: Result<Result<StatusCode, PostError>, hyper::Error> = tokio::select! {
            outcome = &mut exchange => outcome,
            closed = &mut connection => match closed {
                Err(e) => Err(e),
                Ok(()) => exchange.await,
            },
        };
        outcome.map_err(PostError::Http)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_taken_and_the_rest_refused_with_the_reason() {
        // (flag value, tls, host, port, POST target, Host header) or the error's start.
        let ok = [
            (
                "https://hooks.slack.com/services/T0/B0/XyZ",
                true,
                "hooks.slack.com",
                443,
                "/services/T0/B0/XyZ",
                "hooks.slack.com",
            ),
            (
                "http://127.0.0.1:9000/hook?x=1",
                false,
                "127.0.0.1",
                9000,
                "/hook?x=1",
                "127.0.0.1:9000",
            ),
            (
                "HTTP://Alerts.Local",
                false,
                "Alerts.Local",
                80,
                "/",
                "Alerts.Local",
            ),
            ("http://[::1]:81/h", false, "::1", 81, "/h", "[::1]:81"),
            (
                " https://user:pw@example.com/a ",
                true,
                "example.com",
                443,
                "/a",
                "example.com",
            ),
        ];
        for (text, tls, host, port, target, host_header) in ok {
            let url: WebhookUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (
                    url.tls,
                    url.host.as_str(),
                    url.port,
                    url.target(),
                    url.host_header()
                ),
                (tls, host, port, target, host_header),
                "{text}"
            );
        }
        let refused = [
            (
                "ftp://example.com/hook",
                "is not an http:// or https:// URL",
            ),
            (
                "hooks.slack.com/services/x",
                "is not an http:// or https:// URL",
            ),
            ("/hook", "is not an http:// or https:// URL"),
            ("https://", "is not a URL"),
            ("http://exa mple.com/", "is not a URL"),
            ("", "is not an http:// or https:// URL"),
        ];
        for (text, expected) in refused {
            let error = text.parse::<WebhookUrl>().expect_err(text).to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_url_is_logged_without_its_secret() {
        let url: WebhookUrl = "https://bot:pw@hooks.slack.com:443/services/T0/B0/secret"
            .parse()
            .expect("url");
        assert_eq!(url.redacted(), "https://hooks.slack.com:443/…");
        assert_eq!(format!("{url:?}"), "https://hooks.slack.com:443/…");
        assert!(!format!("{:?}", Webhook::new(url, "v0").expect("client")).contains("secret"));
    }

    #[test]
    fn only_answers_that_may_change_are_retried() {
        let status = |code: u16| PostError::Status {
            status: StatusCode::from_u16(code).expect("status"),
            reason: String::new(),
        };
        let table = [
            (500, true),
            (502, true),
            (503, true),
            (408, true),
            (429, true),
            (400, false),
            (403, false),
            (404, false),
            (410, false),
            (301, false),
        ];
        for (code, transient) in table {
            assert_eq!(status(code).is_transient(), transient, "{code}");
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(PostError::Connect(refused).is_transient());
        assert!(PostError::TimedOut.is_transient());
    }

    #[tokio::test]
    async fn a_refused_connection_and_a_refusing_receiver_are_told_apart() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Nothing listens on a port just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url: WebhookUrl = format!("http://127.0.0.1:{port}/hook")
            .parse()
            .expect("url");
        let error = Webhook::new(url, "v0")
            .expect("client")
            .post(Bytes::from_static(b"{}"))
            .await
            .expect_err("nothing listens");
        assert!(matches!(error, PostError::Connect(_)), "{error}");

        // A receiver that reads the request and answers 404 with Slack's word for it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !String::from_utf8_lossy(&request).contains("{\"text\":\"hi\"}") {
                let n = socket.read(&mut buf).await.expect("read");
                assert!(
                    n > 0,
                    "request cut short: {}",
                    String::from_utf8_lossy(&request)
                );
                request.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\n\r\nno_service")
                .await
                .expect("write");
            String::from_utf8_lossy(&request).into_owned()
        });
        let url: WebhookUrl = format!("http://127.0.0.1:{port}/services/x?y=1")
            .parse()
            .expect("url");
        let error = Webhook::new(url, "v9.9.9")
            .expect("client")
            .post(Bytes::from_static(b"{\"text\":\"hi\"}"))
            .await
            .expect_err("404");
        assert!(!error.is_transient());
        assert_eq!(
            error.to_string(),
            "the receiver answered 404 Not Found: \"no_service\""
        );
        let request = server.await.expect("server").to_ascii_lowercase();
        assert!(
            request.starts_with("post /services/x?y=1 http/1.1\r\n"),
            "{request}"
        );
        for header in [
            format!("host: 127.0.0.1:{port}\r\n"),
            "content-type: application/json\r\n".to_owned(),
            "user-agent: dockscope-agent/v9.9.9\r\n".to_owned(),
            "content-length: 13\r\n".to_owned(),
        ] {
            assert!(request.contains(&header), "{header:?} in {request}");
        }
    }
}
