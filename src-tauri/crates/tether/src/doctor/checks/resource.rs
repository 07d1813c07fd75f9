//! The protected resource metadata (RFC 9728): found where the challenge
//! says, else at the well-known URLs in MCP's order (§"Protected Resource
//! Metadata Discovery Requirements"); about this server (§3.3); naming an
//! authorization server. Also how long a metadata document may be cached and
//! whether browsers may fetch it (CORS), for both metadata documents.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::{Doctor, LONG_CACHE_SECS, header, max_age};
use crate::auth::challenge::Challenge;
use crate::auth::discovery::{self, check_resource};
use crate::auth::http::server_text;
use crate::config::redact_url;
use crate::doctor::Affected::{ClaudeCode, ClaudeConnectors};
use crate::doctor::catalogue::{CACHE_PRM, CORS_PRM, Check, PRM_AUTHORIZATION_SERVERS, PRM_FOUND, PRM_RESOURCE};
use crate::net;

impl Doctor<'_> {
    pub(super) async fn protected_resource(
        &mut self,
        challenge: Option<&Challenge>,
    ) -> Option<discovery::ProtectedResource> {
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
                self.push(
                    PRM_FOUND
                        .error(format!("{} has no \"resource\"", redact_url(&url)))
                        .with_fix("include \"resource\": the MCP endpoint's URL (RFC 9728 §2)"),
                );
                return None;
            };
            self.push(PRM_FOUND.ok(format!("at {}", redact_url(&url))));
            match check_resource(resource, self.url) {
                Ok(()) => self.push(PRM_RESOURCE.ok(format!("resource: {}", server_text(resource)))),
                Err(_) => self.push(PRM_RESOURCE.error(format!(
                    "resource {resource:?} is not {} (another origin or path)",
                    redact_url(self.url)
                ))),
            }
            let servers: Vec<String> = doc
                .get("authorization_servers")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if servers.is_empty() {
                self.push(PRM_AUTHORIZATION_SERVERS.error("no \"authorization_servers\""));
            } else {
                self.push(PRM_AUTHORIZATION_SERVERS.ok(server_text(&servers.join(", "))));
            }
            self.cache_and_cors(&CACHE_PRM, &CORS_PRM, &url, &headers).await;
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
        self.push(
            PRM_FOUND
                .error(format!("none found (RFC 9728): {}", tried.join("; ")))
                .breaking(&[ClaudeConnectors, ClaudeCode]),
        );
        self.push(PRM_RESOURCE.skipped("no metadata"));
        self.push(PRM_AUTHORIZATION_SERVERS.skipped("no metadata"));
        None
    }

    /// Caching (`cache`) and CORS (`cors`) of a metadata document.
    pub(super) async fn cache_and_cors(
        &mut self,
        cache: &'static Check,
        cors: &'static Check,
        url: &Url,
        headers: &HeaderMap,
    ) {
        let cache_control = header(headers, "cache-control");
        match max_age(cache_control.as_deref()) {
            Some(age) if age > LONG_CACHE_SECS => {
                self.push(cache.warning(format!("Cache-Control allows {} h", age / 3600)));
            }
            _ => self.push(cache.ok(cache_control.unwrap_or_else(|| "no Cache-Control".into()))),
        }
        let preflight = self
            .http
            .request(Method::OPTIONS, url.clone())
            .header("origin", "https://claude.ai")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "mcp-protocol-version")
            .send()
            .await;
        let resp = match preflight {
            Ok(r) => r,
            Err(e) => {
                self.push(cors.skipped(format!("OPTIONS failed: {}", net::describe(&e))));
                return;
            }
        };
        let status = resp.status().as_u16();
        let allow = header(resp.headers(), "access-control-allow-origin").unwrap_or_default();
        let allow_headers = header(resp.headers(), "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let good_status = (200..300).contains(&status);
        let good_origin = allow == "*" || allow == "https://claude.ai";
        let good_headers =
            allow_headers.is_empty() || allow_headers.contains('*') || allow_headers.contains("mcp-protocol-version");
        if good_status && good_origin && good_headers {
            self.push(cors.ok(format!("OPTIONS → {status}, Access-Control-Allow-Origin: {allow}")));
            return;
        }
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
        self.push(cors.warning(missing.join(", ")));
    }
}
