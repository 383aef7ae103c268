//! `dockscope-agent healthcheck [--url URL]`: asks a running agent's `/healthz` whether it is
//! healthy, for a container `HEALTHCHECK` where the `FROM scratch` image has no shell, curl or
//! wget. Exit 0 when the agent answers 200 within [`TIMEOUT`] and reports the engine reachable;
//! exit 1 with one line saying why otherwise (Docker reads 1 as unhealthy; it reserves 2, so a
//! bad argument exits 1 as well).
//!
//! It parses its own arguments, apart from the agent's flags: the default URL comes from
//! `$DOCKSCOPE_LISTEN`, the variable the agent listens by, with an unspecified address
//! (`0.0.0.0`, `[::]`) asked on `127.0.0.1` — `/healthz` answers loopback peers only.
//! Plain `http://` only: with `$DOCKSCOPE_TLS_CERT` set (an agent serving TLS) and no `--url`
//! it says so and exits 1 rather than misjudge a TLS port.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use clap::Parser;

/// The whole probe (connect, request, answer) must finish within this.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Where the agent listens when `$DOCKSCOPE_LISTEN` is not set (the agent's own default).
const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// A health answer is a few hundred bytes; more than this is not our agent.
const MAX_ANSWER: usize = 64 * 1024;

/// Check a running Dockscope agent: exit 0 when its /healthz answers 200 and the Docker engine
/// is reachable, 1 with the reason otherwise. For container HEALTHCHECKs (no shell needed).
#[derive(Debug, Parser)]
#[command(
    name = "dockscope-agent healthcheck",
    bin_name = "dockscope-agent healthcheck"
)]
struct Args {
    /// Health endpoint to ask, e.g. http://127.0.0.1:9000/healthz [default: /healthz on
    /// $DOCKSCOPE_LISTEN, else on 127.0.0.1:8080; an unspecified address means 127.0.0.1].
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// Why the agent is not healthy (each is the one line the probe prints).
#[derive(Debug, thiserror::Error)]
pub enum Unhealthy {
    /// `--url` or `$DOCKSCOPE_LISTEN` cannot be used.
    #[error("{0}")]
    Usage(String),
    /// Nothing listens there.
    #[error("connection refused by {0}: is the agent running and listening there?")]
    Refused(SocketAddr),
    /// No (complete) answer in time.
    #[error("no answer from {0} within {TIMEOUT:?}")]
    Timeout(String),
    /// Another network failure.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The agent answered, but not 200.
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        /// The probed URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// First line of the body.
        body: String,
    },
    /// Not an HTTP answer, or not the agent's health JSON.
    #[error("{0}")]
    Malformed(String),
    /// The agent runs but cannot reach the Docker engine.
    #[error("agent up, Docker engine unreachable: {0}")]
    Engine(String),
}

/// A parsed `http://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// Host as written (brackets kept for IPv6), for the `Host` header.
    host: String,
    port: u16,
    path: String,
}

/// Runs the subcommand with `args` (the first is `healthcheck`) and returns the exit code.
pub fn main(args: impl IntoIterator<Item = String>) -> i32 {
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return i32::from(e.use_stderr());
        }
    };
    let listen = std::env::var("DOCKSCOPE_LISTEN").ok();
    let tls = std::env::var_os("DOCKSCOPE_TLS_CERT").is_some_and(|v| !v.is_empty());
    let url = match args.url {
        Some(url) => url,
        None if tls => {
            eprintln!(
                "unhealthy: the agent serves TLS (DOCKSCOPE_TLS_CERT is set) and healthcheck \
                 speaks plain http only; disable the image's HEALTHCHECK (compose: \
                 `healthcheck: {{disable: true}}`) or terminate TLS in a proxy in front"
            );
            return 1;
        }
        None => match default_url(listen.as_deref()) {
            Ok(url) => url,
            Err(e) => {
                eprintln!("unhealthy: {e}");
                return 1;
            }
        },
    };
    match probe(&url) {
        Ok(summary) => {
            println!("healthy: {summary}");
            0
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            1
        }
    }
}

/// `/healthz` on the address the agent listens on.
fn default_url(listen: Option<&str>) -> Result<String, Unhealthy> {
    let text = listen.unwrap_or(DEFAULT_LISTEN);
    let addr: SocketAddr = text.trim().parse().map_err(|_| {
        Unhealthy::Usage(format!(
            "DOCKSCOPE_LISTEN={text:?} is not an address like 0.0.0.0:8080; pass --url"
        ))
    })?;
    let ip = if addr.ip().is_unspecified() {
        // `[::]` listens on IPv4 as well (Linux's default), and a container may have no ::1.
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    Ok(format!(
        "http://{}/healthz",
        SocketAddr::new(ip, addr.port())
    ))
}

fn parse_url(url: &str) -> Result<Target, Unhealthy> {
    let bad = |why: &str| Unhealthy::Usage(format!("--url {url:?}: {why}"));
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(bad(
                "https is not supported; probe the agent over plain http on loopback",
            ))
        }
        _ => return Err(bad("expected http://host:port/healthz")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("expected http://host:port/healthz"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("junk after the IPv6 address")),
        };
        (format!("[{inside}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        None => 80,
        Some(p) => p
            .parse()
            .map_err(|_| bad(&format!("port {p:?} is not a number from 0 to 65535")))?,
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the path may not contain spaces or control characters"));
    }
    Ok(Target {
        host,
        port,
        path: path.to_owned(),
    })
}

/// GETs `url` and judges the answer; `Ok` carries a short summary of the agent.
///
/// # Errors
/// [`Unhealthy`] saying what failed: the URL, the connection, the timeout, the status, the
/// body, or the engine.
pub fn probe(url: &str) -> Result<String, Unhealthy> {
    let deadline = Instant::now() + TIMEOUT;
    let target = parse_url(url)?;
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, target.port)
        .to_socket_addrs()
        .map_err(|e| Unhealthy::Io(format!("cannot resolve {host:?}"), e))?
        .collect();
    let mut last = Unhealthy::Usage(format!("{host:?} resolves to no address"));
    for addr in addrs {
        match ask(addr, &target, deadline) {
            Ok(answer) => return judge(url, &answer),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Connects to `addr`, sends the request and reads the whole answer before `deadline`.
fn ask(addr: SocketAddr, target: &Target, deadline: Instant) -> Result<Vec<u8>, Unhealthy> {
    let timeout = || Unhealthy::Timeout(addr.to_string());
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => timeout(),
        ErrorKind::ConnectionRefused => Unhealthy::Refused(addr),
        _ => Unhealthy::Io(addr.to_string(), e),
    };
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(timeout)
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(io)?;
    stream.set_write_timeout(Some(left()?)).map_err(io)?;
    // HTTP/1.0: the agent closes after the answer, and never sends a chunked body.
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: dockscope-healthcheck\r\n\r\n",
        target.path, target.host, target.port
    )
    .map_err(io)?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(left()?)).map_err(io)?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(answer),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
        if answer.len() > MAX_ANSWER {
            return Err(Unhealthy::Malformed(format!(
                "{addr} sent more than {MAX_ANSWER} bytes: not a Dockscope agent's /healthz"
            )));
        }
    }
}

/// Healthy when the answer is 200 with the agent's health JSON saying the engine is reachable.
fn judge(url: &str, answer: &[u8]) -> Result<String, Unhealthy> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            Unhealthy::Malformed(format!(
                "{url} did not answer HTTP (first line {:?})",
                cut(status_line)
            ))
        })?;
    if status != 200 {
        return Err(Unhealthy::Status {
            url: url.to_owned(),
            status,
            body: cut(body.lines().next().unwrap_or_default()),
        });
    }
    let json: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        Unhealthy::Malformed(format!(
            "{url} answered 200 but not with JSON ({e}): not a Dockscope agent's /healthz?"
        ))
    })?;
    match json
        .get("engine_reachable")
        .and_then(serde_json::Value::as_bool)
    {
        Some(true) => Ok(format!(
            "agent {} {}, engine {}",
            json["agent_id"].as_str().unwrap_or("?"),
            json["version"].as_str().unwrap_or("?"),
            json["engine_version"].as_str().unwrap_or("?")
        )),
        Some(false) => Err(Unhealthy::Engine(cut(json["engine_error"]
            .as_str()
            .unwrap_or("no successful poll yet")))),
        None => Err(Unhealthy::Malformed(format!(
            "{url} answered 200 without engine_reachable: not a Dockscope agent's /healthz?"
        ))),
    }
}

/// One line of at most 200 characters, for the health log.
fn cut(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn default_url_asks_loopback_for_an_unspecified_listen_address() {
        let cases = [
            (None, "http://127.0.0.1:8080/healthz"),
            (Some("0.0.0.0:9000"), "http://127.0.0.1:9000/healthz"),
            (Some("[::]:9000"), "http://127.0.0.1:9000/healthz"),
            (Some("127.0.0.1:81"), "http://127.0.0.1:81/healthz"),
            (Some("[::1]:81"), "http://[::1]:81/healthz"),
            (Some(" 10.1.2.3:7 "), "http://10.1.2.3:7/healthz"),
        ];
        for (listen, want) in cases {
            assert_eq!(default_url(listen).unwrap(), want, "{listen:?}");
        }
        let err = default_url(Some("localhost")).unwrap_err().to_string();
        assert!(err.contains("DOCKSCOPE_LISTEN=\"localhost\""), "{err}");
    }

    #[test]
    fn urls_parse_or_say_what_is_wrong() {
        let t = |host: &str, port, path: &str| Target {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        };
        assert_eq!(
            parse_url("http://127.0.0.1:9000/healthz").unwrap(),
            t("127.0.0.1", 9000, "/healthz")
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            t("localhost", 80, "/healthz")
        );
        assert_eq!(
            parse_url("http://[::1]:8080").unwrap(),
            t("[::1]", 8080, "/healthz")
        );
        assert_eq!(
            parse_url("http://[::1]/x?y=1").unwrap(),
            t("[::1]", 80, "/x?y=1")
        );
        for (bad, says) in [
            ("https://127.0.0.1:8080/healthz", "https is not supported"),
            ("127.0.0.1:8080", "expected http://"),
            ("http://", "expected http://"),
            ("http://u:p@host/", "expected http://"),
            ("http://host:99999/", "port \"99999\""),
            ("http://host:x/", "port \"x\""),
            ("http://[::1/", "unclosed ["),
            ("http://[::1]x/", "junk after"),
            ("http://host/a b", "spaces"),
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains(&format!("{bad:?}")), "quotes the URL: {err}");
        }
    }

    const URL: &str = "http://127.0.0.1:8080/healthz";

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!("HTTP/1.0 {status}\r\ncontent-type: application/json\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn answers_are_judged_by_status_and_engine() {
        let ok = r#"{"status":"ok","agent_id":"a","version":"0.1.0","engine_reachable":true,"engine_version":"20.10.24"}"#;
        assert_eq!(
            judge(URL, &answer("200 OK", ok)).unwrap(),
            "agent a 0.1.0, engine 20.10.24"
        );

        let down = r#"{"status":"degraded","engine_reachable":false,"engine_error":"error trying to connect: No such file or directory\nmore"}"#;
        let err = judge(URL, &answer("200 OK", down)).unwrap_err().to_string();
        assert_eq!(
            err,
            "agent up, Docker engine unreachable: error trying to connect: No such file or directory"
        );
        let never = r#"{"engine_reachable":false,"engine_error":null}"#;
        assert!(judge(URL, &answer("200 OK", never))
            .unwrap_err()
            .to_string()
            .contains("no successful poll yet"));

        let err = judge(
            URL,
            &answer("403 Forbidden", "healthz answers loopback clients only\n"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "http://127.0.0.1:8080/healthz answered HTTP 403: healthz answers loopback clients only"
        );

        for (raw, says) in [
            (answer("200 OK", "<html>"), "not with JSON"),
            (
                answer("200 OK", r#"{"status":"ok"}"#),
                "without engine_reachable",
            ),
            (b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), "did not answer HTTP"),
            (Vec::new(), "did not answer HTTP"),
        ] {
            let err = judge(URL, &raw).unwrap_err().to_string();
            assert!(err.contains(says), "{raw:?}: {err}");
        }
    }

    #[test]
    fn long_reasons_are_cut_to_one_short_line() {
        let long = "x".repeat(500);
        assert_eq!(cut(&long).chars().count(), 201);
        assert_eq!(cut("one\ntwo"), "one");
    }
}
