//! The checks, run in the order a client meets them (see the module docs of
//! `doctor`), one file per stage of the catalogue: `network` (DNS, TCP, TLS,
//! time, firewalls), `mcp` (the unauthenticated `initialize`), `challenge`
//! (the 401), `resource` (RFC 9728 metadata), `auth_server` (RFC 8414 /
//! OIDC metadata), `probes` (registration, redirects, a dead refresh token),
//! `sign_in` (a real sign-in, refresh and revocation) and `transport`.
//!
//! This file owns the run: the HTTP client, the findings (each checked
//! against its catalogue entry), what a client of this server would ask for
//! (the `resource` and the scopes), and the helpers the stages share.

mod auth_server;
mod challenge;
mod mcp;
mod network;
mod probes;
mod resource;
mod sign_in;
mod transport;

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use super::catalogue::{self, NET_CONNECT};
use super::{Finding, Options, Report};
use crate::auth::AccessToken;
use crate::auth::challenge::Challenge;
use crate::auth::discovery::{self, ProtectedResource};
use crate::auth::http::server_text;
use crate::config::redact_url;
use crate::net::{self, ClientOptions};
use crate::probe;

/// The doctor's own user agent.
const DOCTOR_UA: &str = concat!("tether-doctor/", env!("CARGO_PKG_VERSION"));
/// A browser's user agent, for the firewall check.
const BROWSER_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
/// A user agent like the one Anthropic's connectors send.
const CLAUDE_UA: &str = "Claude-User (claude-code/2.0; +https://support.anthropic.com/)";
/// An answer slower than this is a warning.
const SLOW: Duration = Duration::from_secs(3);
/// Metadata cached longer than this is a warning.
const LONG_CACHE_SECS: u64 = 3600;

struct Doctor<'a> {
    opts: &'a Options,
    url: &'a Url,
    http: reqwest::Client,
    findings: Vec<Finding>,
    /// The token for the transport checks: the one given, or the one the
    /// sign-in probe obtained (never stored, never shown).
    token: Option<AccessToken>,
    /// The server speaks only HTTP+SSE (MCP 2024-11-05).
    legacy: bool,
}

/// What the unauthenticated `initialize` came to.
enum Answer {
    /// The server answers without sign-in (Streamable HTTP).
    Open,
    /// 401 (or 403 with a Bearer challenge).
    SignIn(Unauthorized),
    /// Only the 2024-11-05 transport answered; `Some` when it asked for sign-in.
    Legacy(Option<Unauthorized>),
    /// Nothing usable: the findings say why.
    Stop,
}

/// A refusal that asks for sign-in.
struct Unauthorized {
    headers: HeaderMap,
    /// The body's content type and its first bytes, when it had one.
    content_type: String,
    body: String,
}

/// What a client of this server asks the authorization server for.
struct Target {
    /// The `resource` parameter (RFC 8707): the metadata's `resource`
    /// verbatim, or the MCP URL when there is none.
    resource: String,
    /// MCP 2025-11-25 §"Scope Selection Strategy" (the challenge's scope,
    /// else the metadata's `scopes_supported`), plus `offline_access` when
    /// the authorization server offers it, as Tether asks.
    scopes: Vec<String>,
}

/// Runs every check for `opts.url`.
pub async fn run(opts: &Options) -> Report {
    let options = ClientOptions::oauth(opts.timeout).with_user_agent(DOCTOR_UA);
    let http = match net::client(&options) {
        Ok(c) => c,
        Err(e) => {
            return Report {
                url: redact_url(&opts.url),
                findings: vec![NET_CONNECT.error(e.to_string())],
            };
        }
    };
    let mut d = Doctor {
        opts,
        url: &opts.url,
        http,
        findings: Vec::new(),
        token: opts.token.clone(),
        legacy: false,
    };
    d.diagnose().await;
    Report {
        url: redact_url(&opts.url),
        findings: d.findings,
    }
}

impl Doctor<'_> {
    /// Adds a finding. Debug builds (the tests) insist that it fits its
    /// catalogue entry: a known id, a level the check raises, only clients
    /// the check can break.
    fn push(&mut self, f: Finding) {
        debug_assert!(
            catalogue::check(&f.id).is_some_and(|c| f.fits(c)),
            "the finding {f:?} does not fit the catalogue"
        );
        self.findings.push(f);
    }

    fn saw(&self, id: &str) -> bool {
        self.findings.iter().any(|f| f.id == id)
    }

    async fn diagnose(&mut self) {
        if !self.scheme() || !self.reachable().await {
            return;
        }
        let answer = self.initialize().await;
        self.user_agents().await;
        let (unauthorized, legacy) = match answer {
            Answer::Stop => return,
            Answer::Open => {
                self.no_sign_in();
                self.transport(false, false).await;
                return;
            }
            Answer::Legacy(None) => {
                self.no_sign_in();
                return;
            }
            Answer::SignIn(u) => (u, false),
            Answer::Legacy(Some(u)) => (u, true),
        };
        self.legacy = legacy;
        let challenge = self.challenge(&unauthorized);
        self.cors_on_401().await;
        let prm = self.protected_resource(challenge.as_ref()).await;
        let issuer = match &prm {
            Some(p) => p.authorization_servers.first().cloned(),
            None => {
                let mut origin = self.url.clone();
                origin.set_path("");
                origin.set_query(None);
                Some(origin.as_str().trim_end_matches('/').to_owned())
            }
        };
        let server = match issuer {
            Some(issuer) => self.authorization_server(&issuer, prm.is_none()).await,
            None => None,
        };
        let mut session = None;
        if let Some(server) = &server {
            let target = self.target(challenge.as_ref(), prm.as_ref(), server);
            let client = self.probe_registration(server, &target).await;
            self.probe_redirects(server, &target, client.as_ref()).await;
            self.probe_refresh(server, client.as_ref()).await;
            session = self.probe_sign_in(server, &target, client.as_ref()).await;
            if self.token.is_none() {
                self.token = session.as_ref().and_then(|s| s.usable_token());
            }
        }
        self.transport(true, legacy).await;
        if let Some(server) = &server
            && let Some(session) = session
        {
            self.probe_revocation(server, session).await;
        }
    }

    /// A server that needs no sign-in: the challenge is not checked.
    fn no_sign_in(&mut self) {
        self.push(catalogue::AUTH_WWW_AUTHENTICATE.skipped("the server needs no sign-in"));
    }

    fn target(
        &self,
        challenge: Option<&Challenge>,
        prm: Option<&ProtectedResource>,
        server: &discovery::AuthServer,
    ) -> Target {
        let resource = match prm {
            Some(p) => p.resource.clone(),
            None => {
                let mut u = self.url.clone();
                u.set_fragment(None);
                u.to_string()
            }
        };
        let mut scopes = match challenge.filter(|c| c.scope.is_some()) {
            Some(c) => c.scopes(),
            None => prm.and_then(|p| p.scopes_supported.clone()).unwrap_or_default(),
        };
        if server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == "offline_access"))
            && !scopes.iter().any(|s| s == "offline_access")
        {
            scopes.push("offline_access".into());
        }
        Target { resource, scopes }
    }

    // --- shared requests ---------------------------------------------------------------

    /// An `initialize` to the MCP endpoint with this user agent (`None`: an
    /// empty one) and origin, with the token when `token`.
    async fn post_initialize(
        &self,
        version: &str,
        ua: Option<&str>,
        origin: Option<&str>,
        token: bool,
    ) -> Result<(reqwest::Response, Duration), reqwest::Error> {
        let mut req = probe::initialize_request(&self.http, self.url, version, "tether-doctor");
        match ua {
            Some(u) => req = req.header("user-agent", u),
            None => req = req.header("user-agent", HeaderValue::from_static("")),
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if token && let Some(t) = &self.token {
            req = req.header("authorization", bearer(t));
        }
        let started = Instant::now();
        let resp = req.send().await?;
        Ok((resp, started.elapsed()))
    }

    /// Ends a session an `initialize` opened.
    async fn end_session(&self, session: Option<String>) {
        if let Some(s) = session {
            let mut req = self.http.delete(self.url.clone()).header("mcp-session-id", s);
            if let Some(t) = &self.token {
                req = req.header("authorization", bearer(t));
            }
            let _ = req.send().await;
        }
    }

    /// GETs a JSON document: the status (or why it failed), the object, the headers.
    async fn get_json(&self, url: &Url) -> (String, Option<Value>, HeaderMap) {
        match self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
        {
            Ok(resp) => {
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.text().await.unwrap_or_default();
                let doc = if status.is_success() {
                    serde_json::from_str::<Value>(&body).ok().filter(Value::is_object)
                } else {
                    None
                };
                (status.as_u16().to_string(), doc, headers)
            }
            Err(e) => (net::describe(&e), None, HeaderMap::new()),
        }
    }

    /// POSTs JSON; the status (0 when the request failed) and the body
    /// (the first line of a body that is not JSON, as a string).
    async fn post_json(&self, url: &Url, body: &Value) -> (u16, Value) {
        match self
            .http
            .post(url.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                (
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::String(first_line(&text))),
                )
            }
            Err(e) => (0, Value::String(net::describe(&e))),
        }
    }
}

/// `Bearer <token>`, marked sensitive so it never reaches a log.
fn bearer(t: &AccessToken) -> HeaderValue {
    let mut v =
        HeaderValue::from_str(&format!("Bearer {}", t.secret())).unwrap_or_else(|_| HeaderValue::from_static(""));
    v.set_sensitive(true);
    v
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An authorization server's error in words: `error_description`, else
/// `error`, else the text, made safe to show.
fn error_of(v: &Value) -> String {
    let text = v
        .get("error_description")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| match v {
            Value::String(s) => s.clone(),
            _ => "no error message".into(),
        });
    server_text(&text)
}

/// `max-age` (or `s-maxage`) of a Cache-Control value; `no-store` and
/// `no-cache` count as zero.
fn max_age(cache_control: Option<&str>) -> Option<u64> {
    let cc = cache_control?.to_ascii_lowercase();
    if cc.contains("no-store") || cc.contains("no-cache") {
        return Some(0);
    }
    cc.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .filter(|(k, _)| *k == "max-age" || *k == "s-maxage")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .max()
}

/// Whether a body is an HTML page (by its content type or its first byte).
fn is_html(content_type: &str, body: &str) -> bool {
    content_type.to_ascii_lowercase().contains("text/html") || body.trim_start().starts_with('<')
}

/// The `<title>` of a page, made safe to show (`server_text`).
fn html_title(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a => server_text(&body[a + 7..b]),
        _ => "an HTML page".into(),
    }
}

/// The first line of a body with text on it, made safe to show (`server_text`).
fn first_line(s: &str) -> String {
    server_text(s.lines().find(|l| !l.trim().is_empty()).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_words_are_quoted_without_control_characters_and_bounded() {
        let hostile = "bad\u{1b}]0;owned\u{7}\u{1b}[2J\r\nERROR   forged finding";
        let quoted = [
            html_title(&format!("<title>{hostile}</title>")),
            first_line(&format!("\n{hostile}")),
            error_of(&serde_json::json!({"error": "invalid_client_metadata", "error_description": hostile})),
            error_of(&serde_json::json!({"error": hostile})),
            error_of(&Value::String(hostile.into())),
            html_title(&format!("<title>{}</title>", "x".repeat(10_000))),
        ];
        for q in &quoted {
            assert!(!q.chars().any(char::is_control), "{q:?}");
            assert!(q.chars().count() <= 201, "{} characters", q.chars().count());
        }
        assert_eq!(quoted[0], "bad ]0;owned  [2J  ERROR   forged finding");
        assert_eq!(quoted[1], "bad ]0;owned  [2J");
        assert_eq!(quoted[2], quoted[0]);
    }

    #[test]
    fn cache_lifetimes_are_read_from_cache_control() {
        assert_eq!(max_age(Some("public, max-age=86400")), Some(86400));
        assert_eq!(max_age(Some("max-age=60, s-maxage=7200")), Some(7200));
        assert_eq!(max_age(Some("private, no-store, max-age=0")), Some(0));
        assert_eq!(max_age(None), None);
    }

    #[test]
    fn an_html_title_names_a_login_page() {
        assert_eq!(html_title("<html><head><TITLE> Sign in </TITLE>"), "Sign in");
        assert_eq!(html_title("<p>x</p>"), "an HTML page");
        assert!(is_html("text/html; charset=utf-8", ""));
        assert!(is_html("", "  <!doctype html>"));
        assert!(!is_html("application/json", "{\"error\":\"unauthorized\"}"));
    }

    #[test]
    fn a_server_s_words_lose_control_characters() {
        assert_eq!(first_line("\n\n  bad\u{1b}[2J line \nnext"), "bad [2J line");
        assert_eq!(error_of(&serde_json::json!({"error": "x\ny"})), "x y");
    }
}
