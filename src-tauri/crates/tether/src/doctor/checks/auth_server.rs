//! The authorization server's metadata, found in MCP 2025-11-25's order
//! (§"Authorization Server Metadata Discovery": RFC 8414 first, then OpenID
//! Connect Discovery): published as RFC 8414 too (clients of 2025-06-18 and
//! earlier look nowhere else), its `issuer` (RFC 8414 §3.3), PKCE S256
//! (§"Authorization Code Protection"), a way for clients to register (RFC
//! 7591 or Client ID Metadata Documents), public clients, https endpoints;
//! and its caching and CORS.

use serde_json::{Value, json};
use url::Url;

use super::Doctor;
use crate::auth::discovery;
use crate::auth::http::server_text;
use crate::config::{is_loopback, redact_url};
use crate::doctor::Affected::{ClaudeCode, ClaudeConnectors};
use crate::doctor::catalogue::{
    AS_AUTHORIZE_HTTPS, AS_ISSUER, AS_METADATA, AS_OAUTH_METADATA, AS_PKCE, AS_PUBLIC_CLIENTS, AS_REGISTRATION,
    AS_TOKEN_HTTPS, CACHE_AS, CORS_AS,
};

/// The well-known path of RFC 8414 (§3.1).
const RFC8414: &str = "/.well-known/oauth-authorization-server";

impl Doctor<'_> {
    pub(super) async fn authorization_server(
        &mut self,
        issuer: &str,
        from_origin: bool,
    ) -> Option<discovery::AuthServer> {
        let Ok(issuer_url) = Url::parse(issuer) else {
            self.push(
                AS_METADATA
                    .error(format!("the issuer \"{}\" is not a URL", server_text(issuer)))
                    .with_fix("list the issuer's https URL in authorization_servers"),
            );
            return None;
        };
        let mut tried = Vec::new();
        for url in discovery::as_well_known(&issuer_url) {
            let (status, doc, headers) = self.get_json(&url).await;
            tried.push(format!("{} → {status}", redact_url(&url)));
            let Some(doc) = doc else { continue };
            self.push(AS_METADATA.ok(format!("at {}", redact_url(&url))));
            if url.path().starts_with(RFC8414) {
                self.push(AS_OAUTH_METADATA.ok(format!("at {}", redact_url(&url))));
            } else {
                self.push(AS_OAUTH_METADATA.warning(format!(
                    "only OpenID Connect discovery answers ({}); RFC 8414: {}",
                    redact_url(&url),
                    tried[..tried.len() - 1].join("; ")
                )));
            }
            let claimed = doc.get("issuer").and_then(Value::as_str).unwrap_or_default().to_owned();
            if from_origin || claimed.trim_end_matches('/') == issuer.trim_end_matches('/') {
                self.push(AS_ISSUER.ok(server_text(&claimed)));
            } else {
                self.push(AS_ISSUER.error(format!(
                    "fetched for {}, but it says \"issuer\": \"{}\"",
                    server_text(issuer),
                    server_text(&claimed)
                )));
            }
            self.pkce_and_clients(&doc);
            self.cache_and_cors(&CACHE_AS, &CORS_AS, &url, &headers).await;
            // The probes go on with what a lenient client would use.
            let mut relaxed = doc.clone();
            relaxed["issuer"] = Value::from(issuer);
            if relaxed.get("code_challenge_methods_supported").is_none() {
                relaxed["code_challenge_methods_supported"] = json!(["S256"]);
            }
            return discovery::parse_as(&relaxed, None).ok();
        }
        let f = AS_METADATA.error(format!("none found: {}", tried.join("; ")));
        self.push(if from_origin {
            f.breaking(&[ClaudeConnectors, ClaudeCode]).with_fix(
                "publish authorization server metadata (RFC 8414) and protected resource metadata; without either, only clients that still guess the 2025-03-26 default endpoints can sign in",
            )
        } else {
            f
        });
        self.push(AS_OAUTH_METADATA.skipped("no metadata"));
        None
    }

    fn pkce_and_clients(&mut self, doc: &Value) {
        let list = |k: &str| -> Option<Vec<String>> {
            doc.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        };
        match list("code_challenge_methods_supported") {
            Some(m) if m.iter().any(|x| x == "S256") => self.push(AS_PKCE.ok(server_text(&m.join(", ")))),
            other => self.push(AS_PKCE.error(match other {
                Some(m) => format!("code_challenge_methods_supported: {}", server_text(&format!("{m:?}"))),
                None => "no code_challenge_methods_supported".into(),
            })),
        }
        let registration = doc.get("registration_endpoint").and_then(Value::as_str).is_some();
        let cimd = doc
            .get("client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if registration || cimd {
            let how = match (registration, cimd) {
                (true, true) => "dynamic registration and Client ID Metadata Documents",
                (true, false) => "dynamic registration",
                _ => "Client ID Metadata Documents",
            };
            self.push(AS_REGISTRATION.ok(how));
        } else {
            self.push(AS_REGISTRATION.error("neither registration_endpoint nor client_id_metadata_document_supported"));
        }
        match list("token_endpoint_auth_methods_supported") {
            Some(m) if m.iter().any(|x| x == "none") => self.push(AS_PUBLIC_CLIENTS.ok(server_text(&m.join(", ")))),
            other => {
                self.push(
                    AS_PUBLIC_CLIENTS.warning(match other {
                        Some(m) => format!(
                            "token_endpoint_auth_methods_supported: {} (no \"none\")",
                            server_text(&format!("{m:?}"))
                        ),
                        None => {
                            "no token_endpoint_auth_methods_supported (RFC 8414: that means client_secret_basic only)"
                                .into()
                        }
                    }),
                )
            }
        }
        for (check, key) in [
            (&AS_AUTHORIZE_HTTPS, "authorization_endpoint"),
            (&AS_TOKEN_HTTPS, "token_endpoint"),
        ] {
            let f = match doc.get(key).and_then(Value::as_str).map(|u| (u, Url::parse(u))) {
                Some((_, Ok(u))) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)) => {
                    check.ok(redact_url(&u))
                }
                Some((raw, _)) => check.error(server_text(raw)),
                None => check
                    .error(format!("no {key}"))
                    .with_fix("list the endpoint in the metadata (RFC 8414 §2)"),
            };
            self.push(f);
        }
    }
}
