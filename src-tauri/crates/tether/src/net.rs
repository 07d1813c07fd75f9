//! The one place Tether builds an HTTP client.
//!
//! Owns the rules every outgoing request shares, whoever sends it (the
//! bridge's transport, the OAuth client, the "what is this URL?" probe, the
//! doctor): the TLS crypto provider (rustls with ring, installed once per
//! process), a connect timeout on every client (a server that never accepts
//! must not hang a bridge; RFC 9110 §9.2.2 leaves retrying to the client),
//! Tether's user agent, and which redirects are followed: none for OAuth
//! (RFC 9700 §4.11: an OAuth endpoint that redirects is a misconfiguration,
//! and following one is how credentials end up elsewhere), only to the same
//! origin for MCP traffic (headers and tokens belong to the MCP server's
//! origin alone, MCP Authorization §"Token Audience Binding"). A client that
//! cannot be built is an error: nothing falls back to a default client that
//! would follow any redirect and wait forever.

use std::error::Error as _;
use std::sync::Once;
use std::time::Duration;

/// Tether's user agent.
pub const USER_AGENT: &str = concat!("tether/", env!("CARGO_PKG_VERSION"));
/// How long to wait for a TCP and TLS connection, unless a caller says.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many same-origin redirects one request may follow.
const MAX_REDIRECTS: usize = 5;

/// Which redirects a client follows.
#[derive(Debug, Clone)]
pub enum Redirects {
    /// None: a 3xx is returned to the caller as it is.
    None,
    /// Up to five, and only within this origin; a redirect elsewhere is
    /// returned to the caller as it is.
    SameOrigin(url::Origin),
}

/// How one client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub redirects: Redirects,
    pub connect_timeout: Duration,
    /// A bound on a whole request, body included; `None` for clients whose
    /// responses are long-lived streams (they bound each wait themselves).
    pub timeout: Option<Duration>,
    /// TCP keep-alive, which notices a peer that vanished (a laptop that
    /// slept, a dropped VPN) on a long-lived stream.
    pub keepalive: Option<Duration>,
    /// Load the system's root certificates. A client that only ever talks
    /// plain http to one origin skips them: on Linux that is half of a
    /// bridge's start-up work.
    pub tls: bool,
    pub user_agent: &'static str,
}

impl ClientOptions {
    /// A client for OAuth and metadata requests: no redirects, every request
    /// bounded by `timeout`.
    pub fn oauth(timeout: Duration) -> Self {
        Self {
            redirects: Redirects::None,
            connect_timeout: CONNECT_TIMEOUT.min(timeout),
            timeout: Some(timeout),
            keepalive: None,
            tls: true,
            user_agent: USER_AGENT,
        }
    }

    /// A client for MCP traffic to `url`'s origin: same-origin redirects,
    /// no overall timeout (streams), keep-alive on.
    pub fn mcp(url: &url::Url, connect_timeout: Duration) -> Self {
        Self {
            redirects: Redirects::SameOrigin(url.origin()),
            connect_timeout,
            timeout: None,
            keepalive: Some(Duration::from_secs(30)),
            tls: url.scheme() != "http",
            user_agent: USER_AGENT,
        }
    }

    /// The same, with another user agent.
    pub fn with_user_agent(mut self, user_agent: &'static str) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// The same, with a bound on every request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A client could not be built (no TLS backend, no root certificates).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up HTTP: {}", describe(.0))]
pub struct ClientError(#[source] reqwest::Error);

/// Builds a client.
pub fn client(options: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    install_crypto_provider();
    let redirect = match &options.redirects {
        Redirects::None => reqwest::redirect::Policy::none(),
        Redirects::SameOrigin(origin) => {
            let origin = origin.clone();
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if attempt.url().origin() == origin {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            })
        }
    };
    let mut builder = reqwest::Client::builder()
        .redirect(redirect)
        .connect_timeout(options.connect_timeout)
        .user_agent(options.user_agent);
    if let Some(t) = options.timeout {
        builder = builder.timeout(t);
    }
    if let Some(k) = options.keepalive {
        builder = builder.tcp_keepalive(k);
    }
    if !options.tls {
        builder = builder.tls_certs_only([]);
    }
    builder.build().map_err(ClientError)
}

/// rustls needs one process-wide crypto provider; ring builds with only a C
/// compiler, where aws-lc needs cmake.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest error in words: its innermost cause, which is the one that says
/// what happened ("Connection refused", "invalid peer certificate: …"),
/// with the common ones put plainly.
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".to_owned();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    let refused = e
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
    if refused || text.contains("Connection refused") {
        "connection refused (is the server running?)".to_owned()
    } else if text.contains("failed to lookup address") || text.contains("Name or service not known") {
        format!("the host name could not be resolved ({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_said_plainly() {
        // A port nobody listens on: bind one, note it, let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = client(&ClientOptions::oauth(Duration::from_secs(5))).unwrap();
        let e = c.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert_eq!(describe(&e), "connection refused (is the server running?)");
    }

    #[tokio::test]
    async fn an_oauth_client_follows_no_redirect() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let c = client(&ClientOptions::oauth(Duration::from_secs(5))).unwrap();
        let r = c.get(format!("http://127.0.0.1:{port}/token")).send().await.unwrap();
        assert_eq!(r.status(), 302, "the redirect is the caller's to see, not followed");
    }
}
