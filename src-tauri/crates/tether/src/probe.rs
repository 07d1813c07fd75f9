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

use serde::Serialize;
use url::Url;

use crate::auth::challenge;
use crate::auth::client::OAuthHttp;
use crate::auth::discovery;
use crate::config::redact_url;

/// How the server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Asks `url` what it needs.
pub async fn probe(url: &Url) -> Result<Probe, ProbeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProbeError(e.to_string()))?;
    let shown = redact_url(url);
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tether-probe", "version": env!("CARGO_PKG_VERSION")}}
    });
    let resp = client
        .post(url.clone())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| ProbeError(format!("cannot reach {shown}: {}", innermost(&e))))?;
    let status = resp.status().as_u16();
    let session = resp.headers().get("mcp-session-id").cloned();
    let challenge = challenge::parse(
        resp.headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
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
            let http = OAuthHttp::new();
            match discovery::discover(&http, url, challenge.as_ref(), None).await {
                Ok(found) if !found.server.synthesized || found.protected_resource.is_some() => Ok(Probe {
                    kind: ServerKind::Oauth,
                    summary: format!("Signs in with OAuth at {}", found.server.issuer),
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
        .map_err(|e| ProbeError(format!("cannot reach {shown}: {}", innermost(&e))))?;
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

fn server_name(body: &str) -> Option<String> {
    // A JSON body, or the first `data:` line of an SSE body.
    let json = if body.trim_start().starts_with('{') {
        body.to_owned()
    } else {
        body.lines()
            .find_map(|l| l.strip_prefix("data:").map(|d| d.trim().to_owned()))?
    };
    let v: serde_json::Value = serde_json::from_str(&json).ok()?;
    v.pointer("/result/serverInfo/name")?.as_str().map(str::to_owned)
}

fn innermost(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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
    }
}
