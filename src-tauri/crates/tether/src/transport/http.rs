//! One HTTP client per bridge, and the rules every request follows.
//!
//! Owns what must hold for each request to the MCP server, whatever the
//! transport: the user's `--header`s and the bearer token go only to the MCP
//! server's origin (redirects to another origin are not followed, RFC 9110
//! §15.4 leaves that to the client; MCP Authorization 2025-11-25 §"Token
//! Audience Binding" forbids sending a token elsewhere), every wait is bounded
//! (connect, response headers, each body chunk), and a failure becomes a
//! [`TransportError`] that says in plain words what failed and where.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::auth::http::server_text;
use crate::auth::{AfterUnauthorized, AuthError, TokenHeader, TokenSource, challenge};
use crate::config::{RunConfig, redact_url};
use crate::net;

/// Why a message could not be delivered, phrased for the person reading
/// Claude Desktop's error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("Tether could not connect to the MCP server at {url}: {detail}. `tether doctor {url}` says why")]
    Connect { url: String, detail: String },
    #[error("the MCP server at {url} did not answer within {secs} s (--request-timeout)")]
    Timeout { url: String, secs: u64 },
    #[error("the MCP server at {url} answered HTTP {status}{detail}")]
    Status { url: String, status: u16, detail: String },
    #[error(
        "the MCP server at {url} needs sign-in (HTTP 401). Pass a token with --header 'Authorization: Bearer ${{TOKEN}}' and set TOKEN in the server's \"env\""
    )]
    SignIn { url: String },
    #[error(
        "the MCP server at {url} refused the Authorization header given with --header (HTTP 401); check that the token is current"
    )]
    TokenRefused { url: String },
    #[error("the MCP server at {url} needs sign-in: {detail}")]
    SignInRequired { url: String, detail: String },
    #[error("a message of more than {limit} bytes exceeds the limit (--max-message-size)")]
    TooLarge { limit: usize },
    #[error(
        "the MCP server at {url} redirected to {to}, another origin; Tether does not follow it so that your headers and tokens stay with the server you configured. Use that URL directly if you trust it"
    )]
    CrossOriginRedirect { url: String, to: String },
    #[error("the MCP server at {url} {detail}")]
    Protocol { url: String, detail: String },
    #[error("sign-in failed for {url}: {detail}. `tether doctor {url}` says why")]
    Auth { url: String, detail: String },
}

impl TransportError {
    /// A short machine-readable kind, sent as `error.data.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::Status { .. } => "http-status",
            Self::SignIn { .. } | Self::SignInRequired { .. } => "sign-in-required",
            Self::TokenRefused { .. } => "token-refused",
            Self::TooLarge { .. } => "too-large",
            Self::CrossOriginRedirect { .. } => "cross-origin-redirect",
            Self::Protocol { .. } => "protocol",
            Self::Auth { .. } => "auth",
        }
    }
}

/// The HTTP client of one bridge.
pub struct Http {
    client: reqwest::Client,
    url: Url,
    shown_url: String,
    headers: HeaderMap,
    auth: Option<Arc<dyn TokenSource>>,
    /// Largest message accepted, in bytes.
    pub max_message_size: usize,
    /// What all of this bridge's streams may hold at once: a few messages'
    /// worth, so many open streams cannot add up to unbounded memory.
    pub budget: Arc<super::sse::Budget>,
    /// How long to wait for a sign of life from the server.
    pub request_timeout: Duration,
}

/// Extra headers for one request.
#[derive(Default, Clone)]
pub struct RequestHeaders {
    pub session_id: Option<HeaderValue>,
    pub protocol_version: Option<HeaderValue>,
    pub last_event_id: Option<HeaderValue>,
    /// The request metadata headers of MCP 2026-07-28 (SEP-2243):
    /// `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`.
    pub mcp: Vec<(HeaderName, HeaderValue)>,
}

/// What a client of Streamable HTTP accepts for a POST.
pub const JSON_OR_SSE: &str = "application/json, text/event-stream";
const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// A bridge's streams may hold this many largest messages at once.
const BUDGET_MESSAGES: usize = 4;
/// How many times one request may trigger a sign-in for more scopes. The
/// sign-in that a 401 on the same request started counts too: three
/// authorizations in all, the limit the MCP spec's step-up section and the
/// conformance suite's `auth/scope-retry-limit` expect.
const MAX_STEP_UPS: u32 = 2;

impl Http {
    /// Builds the client for `config`, with an optional token source.
    pub fn new(config: &RunConfig, auth: Option<Arc<dyn TokenSource>>) -> Result<Self, TransportError> {
        let options = net::ClientOptions::mcp(&config.url, config.connect_timeout);
        let client = net::client(&options).map_err(|e| TransportError::Connect {
            url: redact_url(&config.url),
            detail: e.to_string(),
        })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            headers.append(name.clone(), value.clone());
        }
        Ok(Self {
            client,
            shown_url: redact_url(&config.url),
            url: config.url.clone(),
            headers,
            auth,
            max_message_size: config.max_message_size,
            budget: super::sse::Budget::new(config.max_message_size.saturating_mul(BUDGET_MESSAGES)),
            request_timeout: config.request_timeout,
        })
    }

    /// The token source, if the server signs in.
    pub fn auth(&self) -> Option<&Arc<dyn TokenSource>> {
        self.auth.as_ref()
    }

    /// The MCP endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The endpoint as shown in messages (query values hidden).
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// POSTs one message to the MCP endpoint, accepting JSON or SSE (MCP
    /// 2025-11-25 §"Sending Messages to the Server").
    pub async fn post(&self, extra: &RequestHeaders, body: Bytes) -> Result<Response, TransportError> {
        self.send(Method::POST, &self.url, JSON_OR_SSE, extra, Some(body)).await
    }

    /// Sends one request to `url` (the MCP endpoint or, for HTTP+SSE, the
    /// endpoint the server named; both are checked to be of the same origin),
    /// with the user's headers and the current token. A 401 is handed to the
    /// token source once; when it has a fresh token the request is repeated.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        accept: &'static str,
        extra: &RequestHeaders,
        body: Option<Bytes>,
    ) -> Result<Response, TransportError> {
        debug_assert_eq!(
            url.origin(),
            self.url.origin(),
            "headers must stay with the MCP server's origin"
        );
        let mut retried = false;
        let mut step_ups = 0;
        loop {
            let token = match &self.auth {
                Some(auth) => auth.token().await.map_err(|e| self.auth_error(e.to_string()))?,
                None => None,
            };
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .headers(self.headers.clone())
                .header(header::ACCEPT, accept);
            if let Some(v) = &extra.session_id {
                req = req.header(SESSION_ID, v.clone());
            }
            if let Some(v) = &extra.protocol_version {
                req = req.header(PROTOCOL_VERSION, v.clone());
            }
            if let Some(v) = &extra.last_event_id {
                req = req.header(LAST_EVENT_ID, v.clone());
            }
            for (name, value) in &extra.mcp {
                req = req.header(name.clone(), value.clone());
            }
            if let (Some(t), Some(auth)) = (&token, &self.auth) {
                let (name, value) = match auth.header() {
                    TokenHeader::Bearer => (header::AUTHORIZATION, format!("Bearer {}", t.secret())),
                    TokenHeader::Named(name) => (name, t.secret().to_owned()),
                };
                let mut v = HeaderValue::from_str(&value).map_err(|_| {
                    self.auth_error("the access token contains characters a header cannot carry".into())
                })?;
                v.set_sensitive(true);
                req = req.header(name, v);
            }
            if let Some(b) = &body {
                req = req.header(header::CONTENT_TYPE, "application/json").body(b.clone());
            }
            let resp = match tokio::time::timeout(self.request_timeout, req.send()).await {
                Ok(Ok(resp)) => resp,
                Ok(Err(e)) => return Err(self.map_error(&e)),
                Err(_) => return Err(self.timeout()),
            };
            if resp.status().is_redirection() {
                let to = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .map_or_else(|| "another URL".to_owned(), |u| redact_url(&u));
                return Err(TransportError::CrossOriginRedirect {
                    url: self.shown_url.clone(),
                    to,
                });
            }
            let challenge = resp
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| {
                    v.trim_start()
                        .get(..6)
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
                })
                .map(str::to_owned);
            if resp.status() == StatusCode::UNAUTHORIZED {
                let Some(auth) = &self.auth else {
                    let url = self.shown_url.clone();
                    return Err(if self.headers.contains_key(header::AUTHORIZATION) {
                        TransportError::TokenRefused { url }
                    } else {
                        TransportError::SignIn { url }
                    });
                };
                let next = match auth.unauthorized(challenge.as_deref(), token.as_ref()).await {
                    Ok(next) => next,
                    Err(AuthError::SignInRequired(detail)) => return Err(self.sign_in_required(detail)),
                    Err(e) => return Err(self.auth_error(e.to_string())),
                };
                if next == AfterUnauthorized::Retry && !retried {
                    retried = true;
                    continue;
                }
                return Err(self.sign_in_required(format!("{} asks for a new sign-in", auth.label())));
            }
            // RFC 6750 §3.1 and MCP Authorization §"Step-Up Authorization
            // Flow": sign in again for the scopes the challenge names, a
            // bounded number of times.
            if resp.status() == StatusCode::FORBIDDEN
                && let Some(auth) = &self.auth
                && challenge
                    .as_deref()
                    .and_then(|c| challenge::parse([c]))
                    .is_some_and(|c| c.insufficient_scope())
            {
                if step_ups >= MAX_STEP_UPS {
                    return Err(self.auth_error(format!(
                        "the server still refuses with insufficient_scope after {MAX_STEP_UPS} sign-ins for more scopes"
                    )));
                }
                step_ups += 1;
                match auth.insufficient_scope(challenge.as_deref()).await {
                    Ok(AfterUnauthorized::Retry) => continue,
                    Ok(AfterUnauthorized::SignInRequired) => return Ok(resp),
                    Err(e) => return Err(self.auth_error(e.to_string())),
                }
            }
            return Ok(resp);
        }
    }

    /// Reads a whole body, refusing more than the message limit and bounding
    /// the wait for each chunk.
    pub async fn read_body(&self, mut resp: Response, limit: usize) -> Result<Bytes, TransportError> {
        let mut buf = BytesMut::new();
        loop {
            match tokio::time::timeout(self.request_timeout, resp.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if buf.len() + chunk.len() > limit {
                        return Err(TransportError::TooLarge { limit });
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return Ok(buf.freeze()),
                Ok(Err(e)) => return Err(self.map_error(&e)),
                Err(_) => return Err(self.timeout()),
            }
        }
    }

    /// The error for a wait that ran out.
    pub fn timeout(&self) -> TransportError {
        TransportError::Timeout {
            url: self.shown_url.clone(),
            secs: self.request_timeout.as_secs(),
        }
    }

    /// A protocol problem, phrased after "the MCP server at URL …".
    pub fn protocol(&self, detail: impl Into<String>) -> TransportError {
        TransportError::Protocol {
            url: self.shown_url.clone(),
            detail: detail.into(),
        }
    }

    /// The error for an HTTP status the transport cannot use.
    pub fn status_error(&self, status: StatusCode, body: &[u8]) -> TransportError {
        TransportError::Status {
            url: self.shown_url.clone(),
            status: status.as_u16(),
            detail: summarize_body(status, body),
        }
    }

    /// The error for a success status whose body is not JSON-RPC.
    pub fn not_json_rpc(&self, status: StatusCode, body: &[u8]) -> TransportError {
        let text = String::from_utf8_lossy(body);
        let text = text.trim_start();
        let status = status.as_u16();
        self.protocol(if text.starts_with('<') {
            format!(
                "answered HTTP {status} with an HTML page instead of JSON-RPC (a sign-in page or a proxy?): \"{}\"",
                server_text(&html_text(text))
            )
        } else {
            format!(
                "answered HTTP {status} with something other than JSON-RPC: {}",
                server_text(text.lines().next().unwrap_or_default())
            )
        })
    }

    fn sign_in_required(&self, detail: String) -> TransportError {
        TransportError::SignInRequired {
            url: self.shown_url.clone(),
            detail,
        }
    }

    fn auth_error(&self, detail: String) -> TransportError {
        TransportError::Auth {
            url: self.shown_url.clone(),
            detail,
        }
    }

    /// Turns a reqwest error into words.
    pub fn map_error(&self, e: &reqwest::Error) -> TransportError {
        if e.is_timeout() {
            return self.timeout();
        }
        let detail = net::describe(e);
        if e.is_connect() || e.is_request() {
            TransportError::Connect {
                url: self.shown_url.clone(),
                detail,
            }
        } else {
            self.protocol(format!("broke off the connection: {detail}"))
        }
    }
}

/// A short, single-line digest of an error body: the `message` of a JSON-RPC
/// error or an OAuth `error_description` when present, else the first line of
/// text. HTML pages (a proxy's or a firewall's) are named, not dumped. The
/// server's words pass through `server_text`, like every server's words that
/// reach a message: no control character (a terminal escape, a forged log
/// line) survives, and at most 200 characters.
fn summarize_body(status: StatusCode, body: &[u8]) -> String {
    let reason = status.canonical_reason().map(|r| format!(" {r}")).unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let msg = v
            .pointer("/error/message")
            .or_else(|| v.get("error_description"))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str());
        if let Some(m) = msg {
            return format!("{reason}: {}", server_text(m));
        }
    }
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        let words = html_text(trimmed);
        return if words.is_empty() {
            format!("{reason} with an HTML page (a proxy, firewall or login page?)")
        } else {
            format!("{reason} with an HTML page: \"{}\"", server_text(&words))
        };
    }
    match trimmed.lines().next() {
        Some(line) if !line.trim().is_empty() => format!("{reason}: {}", server_text(line)),
        _ => reason,
    }
}

/// The visible words of an HTML page (its title and text), enough to
/// recognise a proxy's, a firewall's or a framework's error page.
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = &rest[open..];
        let lower = tag.get(..7).unwrap_or(tag).to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") || lower.starts_with("<style") {
            let close = if lower.starts_with("<script") {
                "</script>"
            } else {
                "</style>"
            };
            tag.to_ascii_lowercase().find(close).map(|i| i + close.len())
        } else {
            tag.find('>').map(|i| i + 1)
        };
        match skip_to {
            Some(n) => rest = &tag[n..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_is_summarized_from_json_rpc_oauth_text_or_html() {
        let s = StatusCode::BAD_GATEWAY;
        assert_eq!(
            summarize_body(
                s,
                br#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"upstream down"}}"#
            ),
            " Bad Gateway: upstream down"
        );
        assert_eq!(
            summarize_body(
                StatusCode::BAD_REQUEST,
                br#"{"error":"invalid_request","error_description":"no"}"#
            ),
            " Bad Request: no"
        );
        assert_eq!(
            summarize_body(s, b"<html><body></body></html>"),
            " Bad Gateway with an HTML page (a proxy, firewall or login page?)"
        );
        assert_eq!(
            summarize_body(
                StatusCode::NOT_FOUND,
                b"<!DOCTYPE html>\n<html><head><title>Error</title><style>p{color:red}</style></head><body><pre>Cannot POST /sse</pre></body></html>"
            ),
            " Not Found with an HTML page: \"Error Cannot POST /sse\""
        );
        assert_eq!(
            summarize_body(
                StatusCode::FORBIDDEN,
                b"<html><script>var a = '<b>';</script><h1>Access denied &amp; logged</h1></html>"
            ),
            " Forbidden with an HTML page: \"Access denied & logged\""
        );
        assert_eq!(summarize_body(s, b"overloaded\nmore"), " Bad Gateway: overloaded");
        assert_eq!(summarize_body(s, b""), " Bad Gateway");
    }

    #[test]
    fn a_servers_words_reach_a_message_without_control_characters() {
        let s = StatusCode::BAD_GATEWAY;
        let hostile = "down\u{1b}]0;owned\u{7}\u{1b}[2J\rforged line";
        let json = serde_json::json!({"jsonrpc": "2.0", "error": {"code": 1, "message": hostile}}).to_string();
        let oauth = serde_json::json!({"error": "x", "error_description": hostile}).to_string();
        let html = format!("<html><title>{hostile}</title></html>");
        let summaries = [
            summarize_body(s, json.as_bytes()),
            summarize_body(s, oauth.as_bytes()),
            summarize_body(s, html.as_bytes()),
            summarize_body(s, hostile.as_bytes()),
            summarize_body(s, "x".repeat(5000).as_bytes()),
        ];
        for m in &summaries {
            assert!(!m.chars().any(char::is_control), "{m:?}");
            assert!(m.chars().count() <= 240, "{m:?}");
        }
        assert_eq!(summaries[0], " Bad Gateway: down ]0;owned  [2J forged line");
        let http = Http::new(
            &RunConfig {
                url: Url::parse("http://127.0.0.1:9/mcp").unwrap(),
                headers: Vec::new(),
                transport: Default::default(),
                protocol: Default::default(),
                max_message_size: 1024,
                request_timeout: Duration::from_secs(1),
                connect_timeout: Duration::from_secs(1),
                sign_in_wait: Duration::from_secs(1),
            },
            None,
        )
        .unwrap();
        for body in [hostile.to_owned(), html] {
            let e = http.not_json_rpc(StatusCode::OK, body.as_bytes()).to_string();
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
    }

    #[test]
    fn a_transport_error_names_the_server_and_the_fix() {
        let e = TransportError::SignIn {
            url: "https://x.example/mcp".into(),
        };
        assert!(e.to_string().contains("needs sign-in (HTTP 401)"));
        assert!(e.to_string().contains("--header 'Authorization: Bearer ${TOKEN}'"));
        assert_eq!(e.reason(), "sign-in-required");
    }
}
