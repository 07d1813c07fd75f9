//! The first request a client makes: `initialize` without credentials (MCP
//! 2025-11-25 §"Lifecycle"), and what its answer says about the server: open,
//! asking for sign-in (401, RFC 6750 §3), a login page where JSON belongs, a
//! firewall, the 2024-11-05 HTTP+SSE transport (MCP 2025-03-26
//! §"Backwards Compatibility"), or a server of the stateless 2026-07-28
//! revision. Also judges TLS and the answer's time.

use reqwest::StatusCode;

use super::{Answer, DOCTOR_UA, Doctor, SLOW, Unauthorized, first_line, header, html_title, is_html};
use crate::auth::challenge;
use crate::doctor::Affected::McpRemote;
use crate::doctor::catalogue::{AUTH_HTML_LOGIN, MCP_INITIALIZE, NET_LATENCY, NET_TLS, TRANSPORT_KIND};
use crate::net;
use crate::probe;
use crate::transport::era::detect;

impl Doctor<'_> {
    pub(super) async fn initialize(&mut self) -> Answer {
        let (resp, took) = match self.post_initialize("2025-11-25", Some(DOCTOR_UA), None, false).await {
            Ok(r) => r,
            Err(e) => {
                let text = net::describe(&e);
                let tls = ["certificate", "Certificate", "tls", "TLS"]
                    .iter()
                    .any(|w| text.contains(w));
                if self.url.scheme() == "https" && tls {
                    self.push(NET_TLS.error(format!("TLS failed: {text}")).with_fix(format!(
                        "install a certificate for {} from a public CA (Let's Encrypt); self-signed, expired or wrong-host certificates are refused",
                        self.url.host_str().unwrap_or("the host")
                    )));
                } else {
                    self.push(MCP_INITIALIZE.error(format!("the request failed: {text}")));
                }
                return Answer::Stop;
            }
        };
        if self.url.scheme() == "https" {
            self.push(NET_TLS.ok(format!("valid for {}", self.url.host_str().unwrap_or(""))));
        }
        if took > SLOW {
            self.push(NET_LATENCY.warning(format!("initialize took {:.1} s", took.as_secs_f64())));
        } else {
            self.push(NET_LATENCY.ok(format!("initialize answered in {} ms", took.as_millis())));
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = header(&headers, "content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let session = header(&headers, "mcp-session-id");
        let body = resp.text().await.unwrap_or_default();
        let html = is_html(&content_type, &body);
        match status.as_u16() {
            200..=299 if html => {
                self.login_page(format!("HTTP {status} with an HTML page (\"{}\")", html_title(&body)));
                Answer::Stop
            }
            200..=299 if probe::initialize_result(&body).is_some() => {
                self.end_session(session).await;
                self.push(MCP_INITIALIZE.ok(format!("HTTP {status}: the server answers without sign-in")));
                Answer::Open
            }
            200..=299 => {
                self.push(
                    MCP_INITIALIZE
                        .error(format!(
                            "HTTP {status} but no JSON-RPC result (content-type {content_type:?})"
                        ))
                        .with_fix("answer initialize with a JSON-RPC result, as JSON or an SSE stream (MCP 2025-11-25 §Transports)"),
                );
                Answer::Stop
            }
            401 => {
                self.push(MCP_INITIALIZE.ok("HTTP 401: the server asks for sign-in"));
                Answer::SignIn(Unauthorized {
                    headers,
                    content_type,
                    body,
                })
            }
            403 if challenge::parse(
                headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
            .is_some() =>
            {
                self.push(
                    MCP_INITIALIZE
                        .warning("HTTP 403 with a Bearer challenge to a request without a token")
                        .breaking(&[McpRemote])
                        .with_fix("answer a request without a token with 401, not 403 (RFC 6750 §3.1: 403 means insufficient scope)"),
                );
                Answer::SignIn(Unauthorized {
                    headers,
                    content_type,
                    body,
                })
            }
            301 | 302 | 303 | 307 | 308 => {
                let to = header(&headers, "location").unwrap_or_default();
                self.login_page(format!("HTTP {status}, a redirect to {to}"));
                Answer::Stop
            }
            400 | 404 | 405 => self.legacy(status, &body).await,
            403 => {
                let page = if html {
                    format!(" (an HTML page: \"{}\")", html_title(&body))
                } else {
                    String::new()
                };
                self.push(
                    MCP_INITIALIZE
                        .error(format!("HTTP 403 without a Bearer challenge{page}"))
                        .with_fix("a firewall or WAF refuses the request before the MCP server sees it; allow MCP clients through, or answer 401 with WWW-Authenticate"),
                );
                Answer::Stop
            }
            _ => {
                self.push(
                    MCP_INITIALIZE
                        .error(format!("HTTP {status}: {}", first_line(&body)))
                        .with_fix("look at the server's logs for this request"),
                );
                Answer::Stop
            }
        }
    }

    fn login_page(&mut self, saw: String) {
        self.push(AUTH_HTML_LOGIN.error(saw));
    }

    /// 400/404/405 to POST: a server of the stateless 2026-07-28 revision,
    /// the 2024-11-05 transport, or the wrong URL.
    async fn legacy(&mut self, status: StatusCode, body: &str) -> Answer {
        if let Some(e) = detect::rpc_error(body.as_bytes())
            && detect::is_modern_error(status.as_u16(), &e)
        {
            let (discover, refusal) = self.discover(false).await;
            if discover.is_some() || refusal.is_some() {
                self.push(MCP_INITIALIZE.ok(format!(
                    "HTTP {status}, error {}: refused as a server of MCP 2026-07-28 refuses it",
                    e.code
                )));
                return refusal.map_or(Answer::Open, Answer::SignIn);
            }
        }
        let resp = self
            .http
            .get(self.url.clone())
            .header("accept", "text/event-stream")
            .send()
            .await;
        let Ok(resp) = resp else {
            self.push(
                MCP_INITIALIZE
                    .error(format!("HTTP {status} to POST, and GET failed"))
                    .with_fix("check that the URL is the MCP endpoint (often /mcp)"),
            );
            return Answer::Stop;
        };
        let sse = header(resp.headers(), "content-type").is_some_and(|c| c.starts_with("text/event-stream"));
        let get_status = resp.status();
        let headers = resp.headers().clone();
        let content_type = header(&headers, "content-type").unwrap_or_default();
        if get_status.is_success() && sse || get_status == StatusCode::UNAUTHORIZED {
            let body = if get_status == StatusCode::UNAUTHORIZED {
                resp.text().await.unwrap_or_default()
            } else {
                // An open event stream: do not wait for it to end.
                drop(resp);
                String::new()
            };
            self.push(MCP_INITIALIZE.ok(format!(
                "HTTP {status} to POST; GET opens an HTTP+SSE stream ({get_status})"
            )));
            self.push(TRANSPORT_KIND.warning("only the deprecated HTTP+SSE transport (MCP 2024-11-05)"));
            return Answer::Legacy((get_status == StatusCode::UNAUTHORIZED).then_some(Unauthorized {
                headers,
                content_type,
                body,
            }));
        }
        drop(resp);
        self.push(
            MCP_INITIALIZE
                .error(format!(
                    "HTTP {status} to POST and {get_status} to GET: {}",
                    first_line(body)
                ))
                .with_fix(
                    "this URL does not look like an MCP endpoint; check the path (often /mcp, or /sse for old servers)",
                ),
        );
        Answer::Stop
    }
}
