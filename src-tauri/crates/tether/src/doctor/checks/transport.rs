//! The transport and the protocol: which `initialize` versions the server
//! accepts (MCP §"Lifecycle: Version Negotiation"), and which eras it
//! speaks: the 2025 handshake, the stateless 2026-07-28 wire
//! (`server/discover`, MCP 2026-07-28 §"Versioning: Backward Compatibility"),
//! or both. A server that needs sign-in is checked with a token: the one
//! given (`tether doctor <name>`), or the sign-in probe's.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{DOCTOR_UA, Doctor, Unauthorized, bearer, header};
use crate::auth::http::server_text;
use crate::doctor::catalogue::{TRANSPORT_ERA, TRANSPORT_KIND, TRANSPORT_VERSIONS};
use crate::probe;
use crate::transport::era::detect;

impl Doctor<'_> {
    /// `server/discover` at 2026-07-28 (with the token when `token`): the
    /// modern versions the server names, or its refusal when it asks for
    /// sign-in.
    pub(super) async fn discover(&self, token: bool) -> (Option<Vec<String>>, Option<Unauthorized>) {
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
        if token && let Some(t) = &self.token {
            req = req.header("authorization", bearer(t));
        }
        let Ok(resp) = req.send().await else {
            return (None, None);
        };
        if resp.status() == StatusCode::UNAUTHORIZED {
            let headers = resp.headers().clone();
            let content_type = header(&headers, "content-type").unwrap_or_default();
            let body = resp.text().await.unwrap_or_default();
            return (
                None,
                Some(Unauthorized {
                    headers,
                    content_type,
                    body,
                }),
            );
        }
        let text = resp.text().await.unwrap_or_default();
        let versions = probe::initialize_result(&text).and_then(|r| {
            r.get("supportedVersions")?
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        });
        (versions, None)
    }

    /// `needs_token`: the server asked for sign-in; `legacy`: it speaks
    /// only HTTP+SSE (its versions are not checked here).
    pub(super) async fn transport(&mut self, needs_token: bool, legacy: bool) {
        if legacy {
            let why = "the server speaks only HTTP+SSE (transport.kind); initialize goes over its event stream";
            self.push(TRANSPORT_VERSIONS.skipped(why));
            self.push(TRANSPORT_ERA.skipped(why));
            return;
        }
        if needs_token && self.token.is_none() {
            let why = "sign in first (`tether login`), then run doctor with the server's name, or add --probe-sign-in";
            self.push(TRANSPORT_VERSIONS.skipped(why));
            self.push(TRANSPORT_ERA.skipped(why));
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
        if !self.saw(TRANSPORT_KIND.id) {
            self.push(TRANSPORT_KIND.ok("Streamable HTTP"));
        }
        let modern = self.discover(needs_token).await.0.filter(|v| !v.is_empty());
        self.era(!accepted.is_empty(), modern.as_deref());
        if accepted.is_empty() && modern.is_some() {
            self.push(TRANSPORT_VERSIONS.ok(format!(
                "no handshake version; {} by server/discover",
                modern.unwrap_or_default().join(", ")
            )));
        } else if accepted.is_empty() {
            self.push(TRANSPORT_VERSIONS.error("no version was accepted"));
        } else {
            self.push(TRANSPORT_VERSIONS.ok(accepted.join(", ")));
        }
    }

    /// The eras the server speaks, and what that means for clients of the
    /// 2025 handshake, Claude Desktop's included.
    fn era(&mut self, handshake: bool, modern: Option<&[String]>) {
        match (handshake, modern) {
            (true, Some(v)) => self.push(TRANSPORT_ERA.ok(format!(
                "both: the 2025 initialize handshake and the stateless {} (dual-era); Tether keeps the handshake, no translation",
                v.join(", ")
            ))),
            (true, None) => self.push(TRANSPORT_ERA.ok(
                "the 2025 initialize handshake; Tether passes every message through as it is",
            )),
            (false, Some(v)) => self.push(TRANSPORT_ERA.warning(format!(
                "only the stateless {} (no initialize): Tether translates for clients of the 2025 handshake (server/discover, _meta, multi-round-trip input, subscriptions/listen)",
                v.join(", ")
            ))),
            (false, None) => {}
        }
    }
}
