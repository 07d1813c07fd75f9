//! The checks, in the order a client meets them (see the module docs).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::{Affected, Finding, Level, Options, Report};
use crate::auth::challenge::{self, Challenge};
use crate::auth::discovery::{self, check_resource};
use crate::auth::http::server_text;
use crate::config::{is_loopback, redact_url};
use crate::net::{self, ClientOptions};
use crate::probe;
use crate::transport::era::detect;

use Affected::{ClaudeCode, ClaudeConnectors, McpRemote, Tether};

/// The doctor's own user agent.
const DOCTOR_UA: &str = concat!("tether-doctor/", env!("CARGO_PKG_VERSION"));
/// A browser's user agent, for the firewall check.
const BROWSER_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
/// A user agent like the one Anthropic's connectors send.
const CLAUDE_UA: &str = "Claude-User (claude-code/2.0; +https://support.anthropic.com/)";
/// The redirect URI the registration probe registers.
const PROBE_REDIRECT: &str = "http://127.0.0.1:53682/callback";
/// An answer slower than this is a warning.
const SLOW: Duration = Duration::from_secs(3);
/// Metadata cached longer than this is a warning.
const LONG_CACHE_SECS: u64 = 3600;

struct Doctor<'a> {
    opts: &'a Options,
    url: &'a Url,
    http: reqwest::Client,
    findings: Vec<Finding>,
}

/// What the unauthenticated `initialize` came to.
enum Answer {
    /// The server answers without sign-in (Streamable HTTP).
    Open,
    /// 401 (or 403 with a Bearer challenge), with these headers.
    SignIn(HeaderMap),
    /// Only the 2024-11-05 transport answered; `Some` headers when it asked for sign-in.
    Legacy(Option<HeaderMap>),
    /// Nothing usable: the findings say why.
    Stop,
}

/// Runs every check for `opts.url`.
pub async fn run(opts: &Options) -> Report {
    let options = ClientOptions::oauth(opts.timeout).with_user_agent(DOCTOR_UA);
    let http = match net::client(&options) {
        Ok(c) => c,
        Err(e) => {
            return Report {
                url: redact_url(&opts.url),
                findings: vec![Finding {
                    id: "net.reach".into(),
                    level: Level::Error,
                    title: "The server can be reached".into(),
                    saw: e.to_string(),
                    breaks: Vec::new(),
                    fix: None,
                    example: None,
                }],
            };
        }
    };
    let mut d = Doctor {
        opts,
        url: &opts.url,
        http,
        findings: Vec::new(),
    };
    d.diagnose().await;
    Report {
        url: redact_url(&opts.url),
        findings: d.findings,
    }
}

impl Doctor<'_> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        id: &'static str,
        level: Level,
        title: &str,
        saw: impl Into<String>,
        breaks: &[Affected],
        fix: Option<&str>,
        example: Option<&str>,
    ) {
        self.findings.push(Finding {
            id: id.into(),
            level,
            title: title.to_owned(),
            saw: saw.into(),
            breaks: if level == Level::Ok || level == Level::Skipped {
                Vec::new()
            } else {
                breaks.to_vec()
            },
            fix: if level == Level::Ok || level == Level::Skipped {
                None
            } else {
                fix.map(str::to_owned)
            },
            example: if level == Level::Ok || level == Level::Skipped {
                None
            } else {
                example.map(str::to_owned)
            },
        });
    }

    fn ok(&mut self, id: &'static str, title: &str, saw: impl Into<String>) {
        self.add(id, Level::Ok, title, saw, &[], None, None);
    }

    fn skip(&mut self, id: &'static str, title: &str, why: impl Into<String>) {
        self.add(id, Level::Skipped, title, why, &[], None, None);
    }

    async fn diagnose(&mut self) {
        if !self.scheme() || !self.reachable().await {
            return;
        }
        let answer = self.initialize().await;
        self.user_agents().await;
        let headers = match answer {
            Answer::Stop => return,
            Answer::Open => {
                self.skip(
                    "auth.www-authenticate",
                    "401 carries WWW-Authenticate",
                    "the server needs no sign-in",
                );
                self.transport(false).await;
                return;
            }
            Answer::SignIn(h) => h,
            Answer::Legacy(None) => {
                self.skip(
                    "auth.www-authenticate",
                    "401 carries WWW-Authenticate",
                    "the server needs no sign-in",
                );
                return;
            }
            Answer::Legacy(Some(h)) => h,
        };
        let challenge = self.challenge(&headers);
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
        if let Some(server) = &server {
            let client_id = self.probe_registration(server).await;
            self.probe_redirect(server, client_id.as_deref()).await;
            self.probe_refresh(server, client_id.as_deref()).await;
        }
        self.transport(true).await;
    }

    // --- reaching the server ---------------------------------------------------

    fn scheme(&mut self) -> bool {
        let title = "The URL is https";
        match self.url.scheme() {
            "https" => self.ok("url.https", title, "https"),
            "http" if is_loopback(self.url) => self.ok(
                "url.https",
                title,
                "plain http to this computer (fine for local servers)",
            ),
            "http" => self.add(
                "url.https",
                Level::Error,
                title,
                "plain http to another computer: tokens would cross the network readable",
                &[ClaudeConnectors, McpRemote, Tether],
                Some("serve the MCP endpoint over https (a reverse proxy with a Let's Encrypt certificate is enough)"),
                None,
            ),
            other => {
                self.add(
                    "url.https",
                    Level::Error,
                    title,
                    format!("a {other}: URL is not an MCP endpoint"),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("use the server's https:// URL"),
                    None,
                );
                return false;
            }
        }
        true
    }

    async fn reachable(&mut self) -> bool {
        let Some(host) = self.url.host_str().map(str::to_owned) else {
            self.add(
                "net.dns",
                Level::Error,
                "The host name resolves",
                "the URL has no host",
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("use a full URL such as https://mcp.example.com/mcp"),
                None,
            );
            return false;
        };
        let port = self.url.port_or_known_default().unwrap_or(443);
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(
            self.opts.timeout,
            tokio::net::lookup_host((host_for_lookup.as_str(), port)),
        )
        .await
        {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                self.add(
                    "net.dns",
                    Level::Error,
                    "The host name resolves",
                    format!("{host} does not resolve: {e}"),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("check the host name and its DNS record"),
                    None,
                );
                return false;
            }
            Err(_) => {
                self.add(
                    "net.dns",
                    Level::Error,
                    "The host name resolves",
                    format!("resolving {host} took longer than {} s", self.opts.timeout.as_secs()),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("check the DNS servers"),
                    None,
                );
                return false;
            }
        };
        let Some(first) = addrs.first().copied() else {
            self.add(
                "net.dns",
                Level::Error,
                "The host name resolves",
                format!("{host} resolves to no address"),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("add an A or AAAA record"),
                None,
            );
            return false;
        };
        let more = if addrs.len() > 1 {
            format!(" (and {} more)", addrs.len() - 1)
        } else {
            String::new()
        };
        self.ok(
            "net.dns",
            "The host name resolves",
            format!("{host} → {}{more}", first.ip()),
        );
        let started = Instant::now();
        match tokio::time::timeout(self.opts.timeout, tokio::net::TcpStream::connect(first)).await {
            Ok(Ok(_)) => {
                self.ok(
                    "net.connect",
                    "A connection opens",
                    format!("connected to {first} in {} ms", started.elapsed().as_millis()),
                );
                true
            }
            Ok(Err(e)) => {
                self.add(
                    "net.connect",
                    Level::Error,
                    "A connection opens",
                    format!("connecting to {first} failed: {e}"),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("check that the server runs and that a firewall lets the port through"),
                    None,
                );
                false
            }
            Err(_) => {
                self.add(
                    "net.connect",
                    Level::Error,
                    "A connection opens",
                    format!(
                        "connecting to {first} timed out after {} s",
                        self.opts.timeout.as_secs()
                    ),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("check firewalls between this computer and the server (a VPN?)"),
                    None,
                );
                false
            }
        }
    }

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
        if token && let Some(t) = &self.opts.token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.secret()))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            req = req.header("authorization", v);
        }
        let started = Instant::now();
        let resp = req.send().await?;
        Ok((resp, started.elapsed()))
    }

    async fn initialize(&mut self) -> Answer {
        let title = "initialize without credentials";
        let (resp, took) = match self.post_initialize("2025-11-25", Some(DOCTOR_UA), None, false).await {
            Ok(r) => r,
            Err(e) => {
                let text = net::describe(&e);
                if self.url.scheme() == "https"
                    && (text.contains("certificate")
                        || text.contains("Certificate")
                        || text.contains("tls")
                        || text.contains("TLS"))
                {
                    self.add(
                        "net.tls",
                        Level::Error,
                        "The TLS certificate is valid",
                        format!("TLS failed: {text}"),
                        &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                        Some(&format!(
                            "install a certificate for {} from a public CA (Let's Encrypt); self-signed, expired or wrong-host certificates are refused",
                            self.url.host_str().unwrap_or("the host")
                        )),
                        None,
                    );
                } else {
                    self.add(
                        "mcp.initialize",
                        Level::Error,
                        title,
                        format!("the request failed: {text}"),
                        &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                        Some("check that the URL is the MCP endpoint and the server is up"),
                        None,
                    );
                }
                return Answer::Stop;
            }
        };
        if self.url.scheme() == "https" {
            self.ok(
                "net.tls",
                "The TLS certificate is valid",
                format!("valid for {}", self.url.host_str().unwrap_or("")),
            );
        }
        if took > SLOW {
            self.add(
                "net.latency",
                Level::Warning,
                "The server answers quickly",
                format!("initialize took {:.1} s", took.as_secs_f64()),
                &[ClaudeConnectors],
                Some("find what makes the first answer slow (a cold start? a slow auth check?); clients time out on slow starts"),
                None,
            );
        } else {
            self.ok(
                "net.latency",
                "The server answers quickly",
                format!("initialize answered in {} ms", took.as_millis()),
            );
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = header(&headers, "content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let session = header(&headers, "mcp-session-id");
        let body = resp.text().await.unwrap_or_default();
        let html = content_type.contains("text/html") || body.trim_start().starts_with('<');
        match status.as_u16() {
            200..=299 if html => {
                self.login_page(format!("HTTP {status} with an HTML page (\"{}\")", html_title(&body)));
                Answer::Stop
            }
            200..=299 if probe::initialize_result(&body).is_some() => {
                self.end_session(session).await;
                self.ok(
                    "mcp.initialize",
                    title,
                    format!("HTTP {status}: the server answers without sign-in"),
                );
                Answer::Open
            }
            200..=299 => {
                self.add("mcp.initialize", Level::Error, title, format!("HTTP {status} but no JSON-RPC result (content-type {content_type:?})"), &[ClaudeConnectors, ClaudeCode, McpRemote, Tether], Some("answer initialize with a JSON-RPC result, as JSON or an SSE stream (MCP 2025-11-25 §Transports)"), None);
                Answer::Stop
            }
            401 => {
                self.ok("mcp.initialize", title, "HTTP 401: the server asks for sign-in");
                Answer::SignIn(headers)
            }
            403 if challenge::parse(
                headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
            .is_some() =>
            {
                self.add("mcp.initialize", Level::Warning, title, "HTTP 403 with a Bearer challenge to a request without a token", &[McpRemote], Some("answer a request without a token with 401, not 403 (RFC 6750 §3.1: 403 means insufficient scope)"), None);
                Answer::SignIn(headers)
            }
            301 | 302 | 303 | 307 | 308 => {
                let to = header(&headers, "location").unwrap_or_default();
                self.login_page(format!("HTTP {status}, a redirect to {to}"));
                Answer::Stop
            }
            400 | 404 | 405 => self.legacy(status, &body).await,
            403 => {
                self.add(
                    "mcp.initialize",
                    Level::Error,
                    title,
                    format!("HTTP 403 without a Bearer challenge{}", if html { format!(" (an HTML page: \"{}\")", html_title(&body)) } else { String::new() }),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("a firewall or WAF refuses the request before the MCP server sees it; allow MCP clients through, or answer 401 with WWW-Authenticate"),
                    None,
                );
                Answer::Stop
            }
            _ => {
                self.add(
                    "mcp.initialize",
                    Level::Error,
                    title,
                    format!("HTTP {status}: {}", first_line(&body)),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("look at the server's logs for this request"),
                    None,
                );
                Answer::Stop
            }
        }
    }

    fn login_page(&mut self, saw: String) {
        self.add(
            "auth.html-login",
            Level::Error,
            "Unauthenticated requests get 401, not a login page",
            saw,
            &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
            Some("answer unauthenticated requests to the MCP endpoint with HTTP 401 and a WWW-Authenticate header; keep the login page on the authorization server, where the browser goes"),
            Some("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""),
        );
    }

    /// 400/404/405 to POST: a server of the stateless 2026-07-28 revision,
    /// the 2024-11-05 transport, or the wrong URL.
    async fn legacy(&mut self, status: StatusCode, body: &str) -> Answer {
        if let Some(e) = detect::rpc_error(body.as_bytes())
            && detect::is_modern_error(status.as_u16(), &e)
        {
            let (discover, headers) = self.discover(false).await;
            if discover.is_some() || headers.is_some() {
                self.ok(
                    "mcp.initialize",
                    "initialize without credentials",
                    format!(
                        "HTTP {status}, error {}: refused as a server of MCP 2026-07-28 refuses it",
                        e.code
                    ),
                );
                return headers.map_or(Answer::Open, Answer::SignIn);
            }
        }
        let resp = self
            .http
            .get(self.url.clone())
            .header("accept", "text/event-stream")
            .send()
            .await;
        let Ok(resp) = resp else {
            self.add(
                "mcp.initialize",
                Level::Error,
                "initialize without credentials",
                format!("HTTP {status} to POST, and GET failed"),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("check that the URL is the MCP endpoint (often /mcp)"),
                None,
            );
            return Answer::Stop;
        };
        let sse = header(resp.headers(), "content-type").is_some_and(|c| c.starts_with("text/event-stream"));
        let get_status = resp.status();
        let headers = resp.headers().clone();
        drop(resp);
        if get_status.is_success() && sse || get_status == StatusCode::UNAUTHORIZED {
            self.ok(
                "mcp.initialize",
                "initialize without credentials",
                format!("HTTP {status} to POST; GET opens an HTTP+SSE stream ({get_status})"),
            );
            self.add(
                "transport.kind",
                Level::Warning,
                "The server speaks Streamable HTTP",
                "only the deprecated HTTP+SSE transport (MCP 2024-11-05)",
                &[ClaudeConnectors],
                Some("serve Streamable HTTP (MCP 2025-03-26 and later) at this URL; keep the SSE endpoint for old clients. Tether and mcp-remote fall back to SSE"),
                None,
            );
            return Answer::Legacy((get_status == StatusCode::UNAUTHORIZED).then_some(headers));
        }
        self.add(
            "mcp.initialize",
            Level::Error,
            "initialize without credentials",
            format!("HTTP {status} to POST and {get_status} to GET: {}", first_line(body)),
            &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
            Some("this URL does not look like an MCP endpoint; check the path (often /mcp, or /sse for old servers)"),
            None,
        );
        Answer::Stop
    }

    async fn end_session(&self, session: Option<String>) {
        if let Some(s) = session {
            let _ = self
                .http
                .delete(self.url.clone())
                .header("mcp-session-id", s)
                .send()
                .await;
        }
    }

    // --- the challenge ------------------------------------------------------------

    fn challenge(&mut self, headers: &HeaderMap) -> Option<Challenge> {
        let values: Vec<String> = headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        if values.is_empty() {
            self.add(
                "auth.www-authenticate",
                Level::Error,
                "401 carries WWW-Authenticate",
                "HTTP 401 without a WWW-Authenticate header",
                &[ClaudeConnectors, ClaudeCode, McpRemote],
                Some("send WWW-Authenticate with every 401 from the MCP endpoint (RFC 9110 §15.5.2); Claude Desktop does not start a sign-in without it. Tether copes by looking for the metadata anyway"),
                Some("WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""),
            );
            self.skip("auth.bearer", "The challenge is Bearer", "no challenge");
            self.skip(
                "auth.resource-metadata",
                "The challenge names the resource metadata",
                "no challenge",
            );
            return None;
        }
        self.ok(
            "auth.www-authenticate",
            "401 carries WWW-Authenticate",
            values.join(" | "),
        );
        let Some(c) = challenge::parse(values.iter().map(String::as_str)) else {
            self.add(
                "auth.bearer",
                Level::Error,
                "The challenge is Bearer",
                format!("the challenge is not Bearer: {}", values.join(" | ")),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("MCP uses OAuth Bearer tokens (RFC 6750): challenge with `Bearer`, not Basic or a custom scheme"),
                Some("WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""),
            );
            self.skip(
                "auth.resource-metadata",
                "The challenge names the resource metadata",
                "no Bearer challenge",
            );
            return None;
        };
        self.ok("auth.bearer", "The challenge is Bearer", "Bearer");
        match &c.resource_metadata {
            Some(u) => self.ok("auth.resource-metadata", "The challenge names the resource metadata", u.clone()),
            None => self.add(
                "auth.resource-metadata",
                Level::Warning,
                "The challenge names the resource metadata",
                "no resource_metadata parameter: clients must guess the well-known URLs, and clients of the 2025-06-18 revision only follow the challenge",
                &[ClaudeConnectors],
                Some("add resource_metadata=\"<URL of the protected resource metadata>\" to the challenge (RFC 9728 §5.1; MCP 2025-06-18 required it)"),
                Some("WWW-Authenticate: Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""),
            ),
        }
        Some(c)
    }

    /// What a browser-based client sees of the 401.
    async fn cors_on_401(&mut self) {
        let title = "Browsers can read the 401 challenge";
        let Ok((resp, _)) = self
            .post_initialize("2025-11-25", Some(BROWSER_UA), Some("https://claude.ai"), false)
            .await
        else {
            self.skip(
                "cors.expose-www-authenticate",
                title,
                "the request with an Origin failed",
            );
            return;
        };
        let h = resp.headers();
        let allow = header(h, "access-control-allow-origin");
        let expose = header(h, "access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        match (resp.status().as_u16(), allow) {
            (403, _) => self.ok(CORS_401, title, "the MCP endpoint refuses foreign origins (as MCP asks servers to); browser clients on other origins cannot use it"),
            (_, None) => self.ok(CORS_401, title, "the MCP endpoint sends no CORS headers: desktop clients are unaffected, browser-based ones cannot call it"),
            (_, Some(_)) if expose.contains("www-authenticate") || expose.trim() == "*" => self.ok(CORS_401, title, format!("Access-Control-Expose-Headers: {expose}")),
            (_, Some(_)) => self.add(
                CORS_401,
                Level::Warning,
                title,
                format!("CORS is on, but Access-Control-Expose-Headers ({}) lacks WWW-Authenticate", if expose.is_empty() { "absent" } else { &expose }),
                &[ClaudeConnectors],
                Some("add WWW-Authenticate (and Mcp-Session-Id) to Access-Control-Expose-Headers, so browser-based clients can read the challenge"),
                Some("Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id"),
            ),
        }
    }

    // --- protected resource metadata ------------------------------------------------

    async fn protected_resource(&mut self, challenge: Option<&Challenge>) -> Option<discovery::ProtectedResource> {
        let mut tried = Vec::new();
        let mut candidates: Vec<Url> = Vec::new();
        if let Some(u) = challenge
            .and_then(|c| c.resource_metadata.as_deref())
            .and_then(|u| Url::parse(u).ok())
        {
            candidates.push(u);
        }
        candidates.extend(discovery::prm_well_known(self.url));
        for url in candidates {
            let (status, doc, headers) = self.get_json(&url).await;
            tried.push(format!("{} → {status}", redact_url(&url)));
            let Some(doc) = doc else { continue };
            let Some(resource) = doc.get("resource").and_then(Value::as_str) else {
                self.add(
                    "prm.found",
                    Level::Error,
                    "Protected resource metadata is published",
                    format!("{} has no \"resource\"", redact_url(&url)),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("include \"resource\": the MCP endpoint's URL (RFC 9728 §2)"),
                    Some(PRM_EXAMPLE),
                );
                return None;
            };
            self.ok(
                "prm.found",
                "Protected resource metadata is published",
                format!("at {}", redact_url(&url)),
            );
            match check_resource(resource, self.url) {
                Ok(()) => self.ok("prm.resource", "The metadata is about this server", format!("resource: {}", server_text(resource))),
                Err(_) => self.add(
                    "prm.resource",
                    Level::Error,
                    "The metadata is about this server",
                    format!("resource {resource:?} is not {} (another origin or path)", redact_url(self.url)),
                    &[ClaudeCode, McpRemote, Tether],
                    Some("set \"resource\" to the MCP endpoint's own URL (RFC 9728 §3.3: clients must reject metadata for another resource)"),
                    Some(PRM_EXAMPLE),
                ),
            }
            let servers: Vec<String> = doc
                .get("authorization_servers")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if servers.is_empty() {
                self.add(
                    "prm.authorization-servers",
                    Level::Error,
                    "The metadata names an authorization server",
                    "no \"authorization_servers\"",
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("list the authorization server's issuer URL in \"authorization_servers\" (MCP requires it)"),
                    Some(PRM_EXAMPLE),
                );
            } else {
                self.ok(
                    "prm.authorization-servers",
                    "The metadata names an authorization server",
                    server_text(&servers.join(", ")),
                );
            }
            self.cache_and_cors("prm", &url, &headers).await;
            let scopes = doc
                .get("scopes_supported")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect());
            return Some(discovery::ProtectedResource {
                resource: resource.to_owned(),
                authorization_servers: servers,
                scopes_supported: scopes,
            });
        }
        self.add(
            "prm.found",
            Level::Error,
            "Protected resource metadata is published",
            format!("none found (RFC 9728): {}", tried.join("; ")),
            &[ClaudeConnectors, ClaudeCode],
            Some("serve the protected resource metadata at /.well-known/oauth-protected-resource/<path of the MCP endpoint> and name it in the 401's resource_metadata; mcp-remote and Tether fall back to the 2025-03-26 rules, 2025-06-18+ clients do not"),
            Some(PRM_EXAMPLE),
        );
        self.skip("prm.resource", "The metadata is about this server", "no metadata");
        self.skip(
            "prm.authorization-servers",
            "The metadata names an authorization server",
            "no metadata",
        );
        None
    }

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

    /// Caching and CORS of a metadata document (`which`: "prm" or "as").
    async fn cache_and_cors(&mut self, which: &'static str, url: &Url, headers: &HeaderMap) {
        let (cache_id, cors_id) = match which {
            "prm" => ("cache.prm", "cors.prm"),
            _ => ("cache.as", "cors.as"),
        };
        let what = if which == "prm" {
            "protected resource metadata"
        } else {
            "authorization server metadata"
        };
        match max_age(header(headers, "cache-control").as_deref()) {
            Some(age) if age > LONG_CACHE_SECS => self.add(
                cache_id,
                Level::Warning,
                &format!("The {what} is not cached for long"),
                format!("Cache-Control allows {} h", age / 3600),
                &[ClaudeConnectors],
                Some("serve auth metadata with a short cache (or no-store): a fix reaches clients and CDNs only when the cache expires"),
                Some("Cache-Control: no-store"),
            ),
            _ => self.ok(cache_id, &format!("The {what} is not cached for long"), header(headers, "cache-control").unwrap_or_else(|| "no Cache-Control".into())),
        }
        let preflight = self
            .http
            .request(Method::OPTIONS, url.clone())
            .header("origin", "https://claude.ai")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "mcp-protocol-version")
            .send()
            .await;
        let title = format!("Browsers may fetch the {what} (CORS)");
        match preflight {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let allow = header(resp.headers(), "access-control-allow-origin").unwrap_or_default();
                let allow_headers = header(resp.headers(), "access-control-allow-headers")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let good_status = (200..300).contains(&status);
                let good_origin = allow == "*" || allow == "https://claude.ai";
                let good_headers = allow_headers.is_empty()
                    || allow_headers.contains('*')
                    || allow_headers.contains("mcp-protocol-version");
                if good_status && good_origin && good_headers {
                    self.ok(
                        cors_id,
                        &title,
                        format!("OPTIONS → {status}, Access-Control-Allow-Origin: {allow}"),
                    );
                } else {
                    let mut missing = Vec::new();
                    if !good_status {
                        missing.push(format!("OPTIONS answered {status}"));
                    }
                    if !good_origin {
                        missing.push(if allow.is_empty() {
                            "no Access-Control-Allow-Origin".into()
                        } else {
                            format!("Access-Control-Allow-Origin: {allow}")
                        });
                    }
                    if !good_headers {
                        missing.push("MCP-Protocol-Version not in Access-Control-Allow-Headers".into());
                    }
                    self.add(
                        cors_id,
                        Level::Warning,
                        &title,
                        missing.join(", "),
                        &[ClaudeConnectors],
                        Some("answer OPTIONS on the .well-known endpoints with 204 and Access-Control-Allow-Origin: * (public metadata only, not the MCP endpoint), allowing the MCP-Protocol-Version header"),
                        Some("HTTP/1.1 204 No Content\nAccess-Control-Allow-Origin: *\nAccess-Control-Allow-Methods: GET, OPTIONS\nAccess-Control-Allow-Headers: Content-Type, Authorization, MCP-Protocol-Version"),
                    );
                }
            }
            Err(e) => self.skip(cors_id, &title, format!("OPTIONS failed: {}", net::describe(&e))),
        }
    }

    // --- authorization server metadata ---------------------------------------------------

    async fn authorization_server(&mut self, issuer: &str, from_origin: bool) -> Option<discovery::AuthServer> {
        let Ok(issuer_url) = Url::parse(issuer) else {
            self.add(
                "as.metadata",
                Level::Error,
                "The authorization server publishes metadata",
                format!("the issuer \"{}\" is not a URL", server_text(issuer)),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("list the issuer's https URL in authorization_servers"),
                None,
            );
            return None;
        };
        let mut tried = Vec::new();
        for url in discovery::as_well_known(&issuer_url) {
            let (status, doc, headers) = self.get_json(&url).await;
            tried.push(format!("{} → {status}", redact_url(&url)));
            let Some(doc) = doc else { continue };
            self.ok(
                "as.metadata",
                "The authorization server publishes metadata",
                format!("at {}", redact_url(&url)),
            );
            let claimed = doc.get("issuer").and_then(Value::as_str).unwrap_or_default().to_owned();
            if from_origin || claimed.trim_end_matches('/') == issuer.trim_end_matches('/') {
                self.ok(
                    "as.issuer",
                    "The metadata's issuer is the authorization server's",
                    server_text(&claimed),
                );
            } else {
                self.add(
                    "as.issuer",
                    Level::Error,
                    "The metadata's issuer is the authorization server's",
                    format!(
                        "fetched for {}, but it says \"issuer\": \"{}\"",
                        server_text(issuer),
                        server_text(&claimed)
                    ),
                    &[ClaudeCode, Tether],
                    Some("make \"issuer\" exactly the URL listed in authorization_servers (RFC 8414 §3.3: clients must not use mismatched metadata)"),
                    None,
                );
            }
            self.pkce_and_clients(&doc);
            self.cache_and_cors("as", &url, &headers).await;
            let mut relaxed = doc.clone();
            relaxed["issuer"] = Value::from(issuer);
            if relaxed.get("code_challenge_methods_supported").is_none() {
                relaxed["code_challenge_methods_supported"] = json!(["S256"]);
            }
            return discovery::parse_as(&relaxed, None).ok();
        }
        let (level, fix, breaks): (Level, &str, &[Affected]) = if from_origin {
            (
                Level::Error,
                "publish authorization server metadata (RFC 8414) and protected resource metadata; without either, only clients that still guess the 2025-03-26 default endpoints can sign in",
                &[ClaudeConnectors, ClaudeCode],
            )
        } else {
            (
                Level::Error,
                "serve RFC 8414 metadata at /.well-known/oauth-authorization-server (with the issuer's path appended) or OpenID Connect discovery",
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
            )
        };
        self.add(
            "as.metadata",
            level,
            "The authorization server publishes metadata",
            format!("none found: {}", tried.join("; ")),
            breaks,
            Some(fix),
            None,
        );
        None
    }

    fn pkce_and_clients(&mut self, doc: &Value) {
        let list = |k: &str| -> Option<Vec<String>> {
            doc.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        };
        match list("code_challenge_methods_supported") {
            Some(m) if m.iter().any(|x| x == "S256") => self.ok("as.pkce", "PKCE S256 is advertised", server_text(&m.join(", "))),
            other => self.add(
                "as.pkce",
                Level::Error,
                "PKCE S256 is advertised",
                match other {
                    Some(m) => format!("code_challenge_methods_supported: {}", server_text(&format!("{m:?}"))),
                    None => "no code_challenge_methods_supported".into(),
                },
                &[ClaudeCode, Tether],
                Some("support PKCE with S256 and say so: \"code_challenge_methods_supported\": [\"S256\"] (MCP 2025-11-25: clients must refuse without it)"),
                None,
            ),
        }
        let registration = doc.get("registration_endpoint").and_then(Value::as_str).is_some();
        let cimd = doc
            .get("client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if registration || cimd {
            let how = match (registration, cimd) {
                (true, true) => "dynamic registration and Affected ID Metadata Documents",
                (true, false) => "dynamic registration",
                _ => "Affected ID Metadata Documents",
            };
            self.ok("as.registration", "Clients can register", how);
        } else {
            self.add(
                "as.registration",
                Level::Error,
                "Clients can register",
                "neither registration_endpoint nor client_id_metadata_document_supported",
                &[ClaudeConnectors, ClaudeCode, McpRemote],
                Some("offer dynamic client registration (RFC 7591) or Affected ID Metadata Documents; otherwise every user must pre-register a client (Tether: `tether add <name> <url> --client-id …`)"),
                None,
            );
        }
        match list("token_endpoint_auth_methods_supported") {
            Some(m) if m.iter().any(|x| x == "none") => self.ok("as.public-clients", "Public clients are allowed", server_text(&m.join(", "))),
            other => self.add(
                "as.public-clients",
                Level::Warning,
                "Public clients are allowed",
                match other {
                    Some(m) => format!("token_endpoint_auth_methods_supported: {} (no \"none\")", server_text(&format!("{m:?}"))),
                    None => "no token_endpoint_auth_methods_supported (RFC 8414: that means client_secret_basic only)".into(),
                },
                &[ClaudeConnectors, ClaudeCode],
                Some("list \"none\" in token_endpoint_auth_methods_supported: desktop and CLI clients are public clients with PKCE and cannot keep a secret"),
                None,
            ),
        }
        for (id, key, title) in [
            (
                "as.authorize-https",
                "authorization_endpoint",
                "The authorization endpoint is https (or on this computer)",
            ),
            (
                "as.token-https",
                "token_endpoint",
                "The token endpoint is https (or on this computer)",
            ),
        ] {
            match doc.get(key).and_then(Value::as_str).map(|u| (u, Url::parse(u))) {
                Some((_, Ok(u))) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)) => {
                    self.ok(id, title, redact_url(&u))
                }
                Some((raw, _)) => self.add(
                    id,
                    Level::Error,
                    title,
                    server_text(raw),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("serve every OAuth endpoint over https"),
                    None,
                ),
                None => self.add(
                    id,
                    Level::Error,
                    title,
                    format!("no {key}"),
                    &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                    Some("list the endpoint in the metadata (RFC 8414 §2)"),
                    None,
                ),
            }
        }
    }

    // --- firewalls ----------------------------------------------------------------------------

    async fn user_agents(&mut self) {
        let mut seen = Vec::new();
        for (label, ua) in [
            ("Tether", Some(concat!("tether-doctor/", env!("CARGO_PKG_VERSION")))),
            ("no User-Agent", None),
            ("a browser", Some(BROWSER_UA)),
            ("Claude", Some(CLAUDE_UA)),
        ] {
            let status = match self.post_initialize("2025-11-25", ua, None, false).await {
                Ok((resp, _)) => {
                    let s = resp.status().as_u16();
                    if let Some(session) = header(resp.headers(), "mcp-session-id") {
                        self.end_session(Some(session)).await;
                    }
                    s.to_string()
                }
                Err(e) => format!("failed ({})", net::describe(&e)),
            };
            seen.push((label, status));
        }
        let first = seen[0].1.clone();
        let different: Vec<String> = seen
            .iter()
            .filter(|(_, s)| *s != first)
            .map(|(l, s)| format!("{l}: {s}"))
            .collect();
        let title = "Every user agent gets the same answer";
        if different.is_empty() {
            self.ok(
                "waf.user-agents",
                title,
                format!("HTTP {first} for Tether, no User-Agent, a browser and Claude"),
            );
        } else {
            let claude_blocked = seen.iter().any(|(l, s)| *l == "Claude" && *s != first);
            self.add(
                "waf.user-agents",
                if claude_blocked { Level::Error } else { Level::Warning },
                title,
                format!("Tether: {first}; {}", different.join(", ")),
                if claude_blocked { &[ClaudeConnectors] } else { &[] },
                Some("a firewall (WAF, bot protection) answers by user agent; let MCP clients through: allow the Claude user agent and Anthropic's IP ranges on the MCP and .well-known paths"),
                None,
            );
        }
    }

    // --- probes that create state (opt-in) -------------------------------------------------------

    async fn probe_registration(&mut self, server: &discovery::AuthServer) -> Option<String> {
        if !(self.opts.probe_registration || self.opts.probe_redirect) {
            self.skip(
                "probe.registration",
                "A public client can register",
                "not asked (--probe-registration registers a throwaway client)",
            );
            return None;
        }
        let Some(endpoint) = server.registration_endpoint.as_deref().and_then(|u| Url::parse(u).ok()) else {
            self.skip(
                "probe.registration",
                "A public client can register",
                "the server offers no registration endpoint",
            );
            return None;
        };
        let body = |method: &str| {
            json!({
                "client_name": "tether-doctor (test client, safe to delete)",
                "redirect_uris": [PROBE_REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": method,
                "application_type": "native",
            })
        };
        let (status, doc) = self.post(&endpoint, &body("none")).await;
        if !(200..300).contains(&status) {
            let (status2, doc2) = self.post(&endpoint, &body("client_secret_post")).await;
            if (200..300).contains(&status2) {
                self.add(
                    "probe.registration",
                    Level::Warning,
                    "A public client can register",
                    format!("registering with token_endpoint_auth_method \"none\" got HTTP {status} ({}); with client_secret_post it worked", error_of(&doc)),
                    &[ClaudeCode, Tether],
                    Some("accept public clients (token_endpoint_auth_method: none) in registration: a desktop app cannot keep a secret"),
                    None,
                );
                return doc2.get("client_id").and_then(client_id);
            }
            self.add(
                "probe.registration",
                Level::Error,
                "A public client can register",
                format!("HTTP {status}: {}", error_of(&doc)),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("accept RFC 7591 registration requests from public native clients with loopback redirect URIs"),
                None,
            );
            return None;
        }
        let id = doc.get("client_id").and_then(client_id);
        let Some(id) = id else {
            self.add(
                "probe.registration",
                Level::Error,
                "A public client can register",
                format!("HTTP {status} without a client_id"),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("return the new client_id (RFC 7591 §3.2.1)"),
                None,
            );
            return None;
        };
        self.ok(
            "probe.registration",
            "A public client can register",
            format!("HTTP {status}, client_id {}", server_text(&id)),
        );
        match doc.get("client_secret_expires_at") {
            None | Some(Value::Null) => self.ok("probe.registration-expiry", "client_secret_expires_at is an integer", "absent"),
            Some(v) if v.is_i64() || v.is_u64() => self.ok("probe.registration-expiry", "client_secret_expires_at is an integer", v.to_string()),
            Some(v) => self.add(
                "probe.registration-expiry",
                Level::Warning,
                "client_secret_expires_at is an integer",
                format!("client_secret_expires_at is {v} ({})", if v.is_f64() { "a float" } else { "not a number" }),
                &[ClaudeConnectors],
                Some("send whole seconds since the epoch (RFC 7591 §3.2.1), e.g. Math.floor(Date.now() / 1000); Claude's connectors reject a float. Tether copes"),
                Some("\"client_secret_expires_at\": 1749600000"),
            ),
        }
        match doc.get("token_endpoint_auth_method").and_then(Value::as_str) {
            None | Some("none") => self.ok("probe.registration-method", "The public client stays public", "token_endpoint_auth_method: none"),
            Some(m) => self.add(
                "probe.registration-method",
                Level::Warning,
                "The public client stays public",
                format!("asked for \"none\", registered as \"{}\"", server_text(m)),
                &[ClaudeConnectors],
                Some("register a client that asks for token_endpoint_auth_method \"none\" as a public client; do not impose client_secret_post (some auth libraries, e.g. better-auth, do)"),
                None,
            ),
        }
        Some(id)
    }

    async fn post(&self, url: &Url, body: &Value) -> (u16, Value) {
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

    async fn probe_redirect(&mut self, server: &discovery::AuthServer, client_id: Option<&str>) {
        let port_title = "A loopback redirect on another port is accepted";
        let host_title = "A loopback redirect with localhost is accepted";
        if !self.opts.probe_redirect {
            self.skip("probe.redirect-port", port_title, "not asked (--probe-redirect)");
            self.skip("probe.redirect-localhost", host_title, "not asked (--probe-redirect)");
            return;
        }
        let Some(client_id) = client_id else {
            self.skip("probe.redirect-port", port_title, "no test client could be registered");
            self.skip(
                "probe.redirect-localhost",
                host_title,
                "no test client could be registered",
            );
            return;
        };
        // Tether redirects to 127.0.0.1 on a free port; mcp-remote and Claude
        // Code use `localhost` on some systems.
        let cases: [(&'static str, &str, &str, &[Affected], &str); 2] = [
            (
                "probe.redirect-port",
                port_title,
                "http://127.0.0.1:53683/callback",
                &[ClaudeCode, McpRemote, Tether],
                "for native clients, accept any port on a loopback redirect URI (RFC 8252 §7.3): apps pick a free port at each sign-in",
            ),
            (
                "probe.redirect-localhost",
                host_title,
                "http://localhost:53682/callback",
                &[ClaudeCode, McpRemote],
                "accept http://localhost as well as http://127.0.0.1 redirects for native clients (RFC 8252 §7.3 prefers the IP literal, but clients use both)",
            ),
        ];
        for (id, title, redirect, breaks, fix) in cases {
            match self.authorize_accepts(server, client_id, redirect).await {
                Ok(saw) => self.ok(id, title, saw),
                Err(saw) => self.add(id, Level::Warning, title, saw, breaks, Some(fix), None),
            }
        }
    }

    /// Whether the authorization endpoint goes on to sign-in for `redirect`.
    async fn authorize_accepts(
        &self,
        server: &discovery::AuthServer,
        client_id: &str,
        redirect: &str,
    ) -> Result<String, String> {
        let Ok(mut url) = Url::parse(&server.authorization_endpoint) else {
            return Err("the authorization endpoint is not a URL".into());
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect)
            .append_pair("state", "tether-doctor")
            .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
            .append_pair("code_challenge_method", "S256");
        let resp = self.http.get(url).send().await.map_err(|e| net::describe(&e))?;
        let status = resp.status();
        let location = header(resp.headers(), "location").unwrap_or_default();
        let body = resp.text().await.unwrap_or_default().to_ascii_lowercase();
        if status.is_redirection() {
            if location.starts_with(redirect) && location.contains("error=") {
                return Err(format!("redirected back with an error: {location}"));
            }
            return Ok(format!(
                "HTTP {status}, on to {}",
                location.split('?').next().unwrap_or("")
            ));
        }
        if status.is_success() && !body.contains("redirect_uri") && !body.contains("redirect uri") {
            return Ok(format!("HTTP {status}: a sign-in page"));
        }
        Err(format!(
            "HTTP {status}{}",
            if body.contains("redirect") {
                ", an error about the redirect URI"
            } else {
                ""
            }
        ))
    }

    async fn probe_refresh(&mut self, server: &discovery::AuthServer, client_id: Option<&str>) {
        let title = "A dead refresh token gets invalid_grant";
        if !self.opts.probe_refresh {
            self.skip("probe.refresh", title, "not asked (--probe-refresh)");
            return;
        }
        let Ok(url) = Url::parse(&server.token_endpoint) else {
            self.skip("probe.refresh", title, "the token endpoint is not a URL");
            return;
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", "tether-doctor-not-a-real-token")
            .append_pair("client_id", client_id.unwrap_or("tether-doctor"))
            .finish();
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form)
            .send()
            .await;
        let (status, doc) = match resp {
            Ok(r) => {
                let s = r.status().as_u16();
                (
                    s,
                    serde_json::from_str::<Value>(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null),
                )
            }
            Err(e) => {
                self.skip(
                    "probe.refresh",
                    title,
                    format!("the request failed: {}", net::describe(&e)),
                );
                return;
            }
        };
        let error = doc.get("error").and_then(Value::as_str).unwrap_or("");
        if status == 400 && error == "invalid_grant" {
            self.ok("probe.refresh", title, "HTTP 400 invalid_grant");
        } else if client_id.is_none() && error == "invalid_client" {
            self.skip(
                "probe.refresh",
                title,
                "the server wants a registered client first (add --probe-registration)",
            );
        } else {
            self.add(
                "probe.refresh",
                Level::Warning,
                title,
                format!("HTTP {status} {}", if error.is_empty() { "without an OAuth error".into() } else { server_text(error) }),
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("answer an expired, revoked or unknown refresh token with HTTP 400 and \"error\": \"invalid_grant\" (RFC 6749 §5.2): clients sign in again only then"),
                Some("HTTP/1.1 400 Bad Request\n{\"error\": \"invalid_grant\"}"),
            );
        }
    }

    // --- transport ------------------------------------------------------------------------------------

    /// `server/discover` at 2026-07-28 (with the token when `token`): the
    /// modern versions the server names, or the headers of its 401.
    async fn discover(&self, token: bool) -> (Option<Vec<String>>, Option<HeaderMap>) {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "server/discover",
            "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": detect::LATEST,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "tether-doctor", "version": env!("CARGO_PKG_VERSION")},
            }}
        });
        let mut req = self
            .http
            .post(self.url.clone())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", detect::LATEST)
            .header("mcp-method", "server/discover")
            .body(body.to_string());
        if token && let Some(t) = &self.opts.token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.secret()))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            req = req.header("authorization", v);
        }
        let Ok(resp) = req.send().await else {
            return (None, None);
        };
        if resp.status() == StatusCode::UNAUTHORIZED {
            return (None, Some(resp.headers().clone()));
        }
        let text = resp.text().await.unwrap_or_default();
        let versions = probe::initialize_result(&text).and_then(|r| {
            r.get("supportedVersions")?
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        });
        (versions, None)
    }

    async fn transport(&mut self, needs_token: bool) {
        let title = "Protocol versions the server accepts";
        if needs_token && self.opts.token.is_none() {
            self.skip(
                "transport.versions",
                title,
                "sign in first (`tether login`), then run doctor with the server's name",
            );
            self.skip(
                "transport.era",
                "The MCP eras the server speaks",
                "sign in first (`tether login`), then run doctor with the server's name",
            );
            return;
        }
        let mut accepted = Vec::new();
        for version in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] {
            if let Ok((resp, _)) = self.post_initialize(version, Some(DOCTOR_UA), None, needs_token).await {
                let session = header(resp.headers(), "mcp-session-id");
                let body = resp.text().await.unwrap_or_default();
                if let Some(r) = probe::initialize_result(&body) {
                    let got = r
                        .get("protocolVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned();
                    accepted.push(format!("{version} → {}", server_text(&got)));
                }
                self.end_session(session).await;
            }
        }
        if self.findings.iter().all(|f| f.id != "transport.kind") {
            self.ok("transport.kind", "The server speaks Streamable HTTP", "Streamable HTTP");
        }
        let modern = self.discover(needs_token).await.0.filter(|v| !v.is_empty());
        self.era(!accepted.is_empty(), modern.as_deref());
        if accepted.is_empty() && modern.is_some() {
            self.ok(
                "transport.versions",
                title,
                format!(
                    "no handshake version; {} by server/discover",
                    modern.unwrap_or_default().join(", ")
                ),
            );
        } else if accepted.is_empty() {
            self.add(
                "transport.versions",
                Level::Error,
                title,
                "no version was accepted",
                &[ClaudeConnectors, ClaudeCode, McpRemote, Tether],
                Some("answer initialize for 2025-06-18 or later"),
                None,
            );
        } else {
            self.ok("transport.versions", title, accepted.join(", "));
        }
    }
}

impl Doctor<'_> {
    /// The eras the server speaks (MCP 2026-07-28 §"Versioning: Backward
    /// Compatibility"), and what that means for clients of the 2025
    /// handshake, Claude Desktop's included.
    fn era(&mut self, handshake: bool, modern: Option<&[String]>) {
        let title = "The MCP eras the server speaks";
        match (handshake, modern) {
            (true, Some(v)) => self.ok(
                "transport.era",
                title,
                format!("both: the 2025 initialize handshake and the stateless {} (dual-era); Tether keeps the handshake, no translation", v.join(", ")),
            ),
            (true, None) => self.ok(
                "transport.era",
                title,
                "the 2025 initialize handshake; Tether passes every message through as it is",
            ),
            (false, Some(v)) => self.add(
                "transport.era",
                Level::Warning,
                title,
                format!(
                    "only the stateless {} (no initialize): Tether translates for clients of the 2025 handshake (server/discover, _meta, multi-round-trip input, subscriptions/listen)",
                    v.join(", ")
                ),
                &[ClaudeConnectors, ClaudeCode, McpRemote],
                Some("until clients speak 2026-07-28, also answer initialize (a dual-era server, as the official SDKs 2.x do); users of such clients need a translating bridge (Tether, or mcp-remote --protocol auto)"),
                None,
            ),
            (false, None) => {}
        }
    }
}

/// The id of the CORS check on the 401.
const CORS_401: &str = "cors.expose-www-authenticate";

const PRM_EXAMPLE: &str = "GET /.well-known/oauth-protected-resource/mcp\n{\n  \"resource\": \"https://mcp.example.com/mcp\",\n  \"authorization_servers\": [\"https://auth.example.com\"],\n  \"scopes_supported\": [\"mcp\"]\n}";

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn client_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The server's own words for an OAuth error (`error_description`, else
/// `error`), made safe to show (`server_text`).
fn error_of(v: &Value) -> String {
    v.get("error_description")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map(server_text)
        .unwrap_or_else(|| match v {
            Value::String(s) => server_text(s),
            _ => "no error message".into(),
        })
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
    }

    #[test]
    fn a_servers_words_are_quoted_without_control_characters_and_bounded() {
        let hostile = "bad\u{1b}]0;owned\u{7}\u{1b}[2J\r\nERROR   forged finding";
        let quoted = [
            html_title(&format!("<title>{hostile}</title>")),
            first_line(&format!("\n{hostile}")),
            error_of(&json!({"error": "invalid_client_metadata", "error_description": hostile})),
            error_of(&json!({"error": hostile})),
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
}
