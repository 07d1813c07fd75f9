//! What kind of server a URL is, asked without credentials: the first
//! question of "add a server".
//!
//! Owns one unauthenticated `initialize` (MCP 2025-11-25 §"Lifecycle"),
//! answered by an authless server with its result, by a server that signs in
//! with 401 and a Bearer challenge pointing at protected resource metadata
//! (MCP Authorization §"Authorization Server Location"), and by a server that
//! wants a static token with a bare 401. A 400/404/405 is followed by the
//! HTTP+SSE GET of the 2024-11-05 transport. Nothing is registered and no
//! session is left open: the session a 200 opens is ended with DELETE.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::challenge::{self, Challenge};
use crate::auth::discovery;
use crate::auth::http::{OAuthHttp, server_text};
use crate::config::redact_url;
use crate::net::{self, ClientOptions};

/// How the server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ServerKind {
    /// OAuth 2.1: sign in with the browser.
    Oauth,
    /// A static token (Bearer or API key) in a header.
    Token,
    /// No authentication.
    Open,
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Probe {
    pub kind: ServerKind,
    /// The server's own name, when it answered `initialize`.
    pub server_name: Option<String>,
    /// The authorization server, for OAuth.
    pub issuer: Option<String>,
    /// Whether it speaks only the old HTTP+SSE transport.
    pub legacy_sse: bool,
    /// A sentence for the user.
    pub summary: String,
}

/// Why a probe failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ProbeError(pub String);

const TIMEOUT: Duration = Duration::from_secs(15);
/// The protocol version the probe's `initialize` asks for.
pub const PROBE_VERSION: &str = "2025-11-25";

/// The unauthenticated `initialize` request to `url`, as a client that is
/// just starting sends it (MCP 2025-11-25 §"Lifecycle"; Streamable HTTP's
/// `Accept` of both JSON and SSE), at protocol `version`, introducing itself
/// as `client_name`. The one request every "what does this server need?"
/// starts with: the probe, the sign-in a person starts, the doctor.
pub fn initialize_request(
    client: &reqwest::Client,
    url: &Url,
    version: &str,
    client_name: &str,
) -> reqwest::RequestBuilder {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": env!("CARGO_PKG_VERSION")}
        }
    });
    client
        .post(url.clone())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// The `WWW-Authenticate` challenge `url` answers an unauthenticated
/// `initialize` with, if any: for a sign-in a person starts (`tether login`)
/// rather than a 401, so it uses the scopes and metadata the server names.
pub async fn challenge(url: &Url) -> Option<Challenge> {
    let client = net::client(&ClientOptions::mcp(url, net::CONNECT_TIMEOUT).with_timeout(TIMEOUT)).ok()?;
    let resp = initialize_request(&client, url, PROBE_VERSION, "tether")
        .send()
        .await
        .ok()?;
    challenge_of(resp.headers())
}

fn challenge_of(headers: &reqwest::header::HeaderMap) -> Option<Challenge> {
    challenge::parse(
        headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// Asks `url` what it needs.
pub async fn probe(url: &Url) -> Result<Probe, ProbeError> {
    let client = net::client(&ClientOptions::mcp(url, net::CONNECT_TIMEOUT).with_timeout(TIMEOUT))
        .map_err(|e| ProbeError(e.to_string()))?;
    let shown = redact_url(url);
    let resp = initialize_request(&client, url, PROBE_VERSION, "tether-probe")
        .send()
        .await
        .map_err(|e| ProbeError(format!("cannot reach {shown}: {}", net::describe(&e))))?;
    let status = resp.status().as_u16();
    let session = resp.headers().get("mcp-session-id").cloned();
    let challenge = challenge_of(resp.headers());
    match status {
        200..=299 => {
            let text = resp.text().await.unwrap_or_default();
            if let Some(session) = session {
                // Leave nothing behind: end the session the probe opened.
                let _ = client
                    .delete(url.clone())
                    .header("mcp-session-id", session)
                    .send()
                    .await;
            }
            let name = server_name(&text);
            Ok(Probe {
                kind: ServerKind::Open,
                summary: format!("{} answers without sign-in", name.as_deref().unwrap_or("The server")),
                server_name: name,
                issuer: None,
                legacy_sse: false,
            })
        }
        401 | 403 => {
            let http = OAuthHttp::new().map_err(|e| ProbeError(e.to_string()))?;
            match discovery::discover(&http, url, challenge.as_ref(), None).await {
                Ok(found) if !found.server.synthesized || found.protected_resource.is_some() => Ok(Probe {
                    kind: ServerKind::Oauth,
                    summary: format!("Signs in with OAuth at {}", server_text(&found.server.issuer)),
                    issuer: Some(found.server.issuer),
                    server_name: None,
                    legacy_sse: false,
                }),
                _ => Ok(Probe {
                    kind: ServerKind::Token,
                    summary: "Needs a token (it answers 401 and publishes no OAuth metadata)".into(),
                    server_name: None,
                    issuer: None,
                    legacy_sse: false,
                }),
            }
        }
        400 | 404 | 405 => legacy(&client, url, &shown).await,
        other => Err(ProbeError(format!("{shown} answered HTTP {other} to initialize"))),
    }
}

/// The 2024-11-05 transport: GET for an event stream.
async fn legacy(client: &reqwest::Client, url: &Url, shown: &str) -> Result<Probe, ProbeError> {
    let resp = client
        .get(url.clone())
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| ProbeError(format!("cannot reach {shown}: {}", net::describe(&e))))?;
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    match resp.status().as_u16() {
        200 if sse => Ok(Probe {
            kind: ServerKind::Open,
            summary: "Answers without sign-in (the older HTTP+SSE transport)".into(),
            server_name: None,
            issuer: None,
            legacy_sse: true,
        }),
        401 => Ok(Probe {
            kind: ServerKind::Token,
            summary: "Needs a token (HTTP+SSE transport)".into(),
            server_name: None,
            issuer: None,
            legacy_sse: true,
        }),
        s => Err(ProbeError(format!(
            "{shown} does not look like an MCP server (HTTP {s} to both transports)"
        ))),
    }
}

/// The server's `serverInfo.name`, made safe to show (`server_text`): it
/// reaches the terminal, the app and a suggested server name.
fn server_name(body: &str) -> Option<String> {
    initialize_result(body)?
        .pointer("/serverInfo/name")?
        .as_str()
        .map(server_text)
        .filter(|n| !n.is_empty())
}

/// The `result` of an answer to `initialize`: a JSON body, or the first
/// `data:` line of an SSE body that carries one.
pub fn initialize_result(body: &str) -> Option<serde_json::Value> {
    let candidates: Vec<&str> = if body.trim_start().starts_with('{') {
        vec![body]
    } else {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .collect()
    };
    candidates.into_iter().find_map(|c| {
        serde_json::from_str::<serde_json::Value>(c)
            .ok()?
            .get("result")
            .cloned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_is_read_from_json_or_sse() {
        assert_eq!(
            server_name(r#"{"result":{"serverInfo":{"name":"linear"}}}"#).as_deref(),
            Some("linear")
        );
        assert_eq!(
            server_name("event: message\ndata: {\"result\":{\"serverInfo\":{\"name\":\"x\"}}}\n\n").as_deref(),
            Some("x")
        );
        assert_eq!(server_name("<html>"), None);
        assert!(initialize_result(r#"{"jsonrpc":"2.0","id":1,"error":{}}"#).is_none());
    }

    #[test]
    fn a_server_name_with_control_characters_is_shown_without_them() {
        let body = r#"{"result":{"serverInfo":{"name":"linear\u001b]0;owned\u0007\r\nforged"}}}"#;
        assert_eq!(server_name(body).as_deref(), Some("linear ]0;owned   forged"));
        assert_eq!(server_name(r#"{"result":{"serverInfo":{"name":"\u001b"}}}"#), None);
    }
}
