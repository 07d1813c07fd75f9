//! A fake OAuth authorization server's token and revocation endpoints, for
//! refresh tests (OAuth 2.1 §4.3, RFC 7009 §2).
//!
//! Refresh tokens rotate and are single-use, as OAuth 2.1 §4.3.1 lets a
//! server require for public clients: each valid refresh spends the token it
//! got and issues `at-<n>` and `rt-<n>`; a spent or unknown one gets
//! `invalid_grant`. It counts every refresh request that reached it, valid
//! or not, and records what was revoked. The server metadata a signed-in
//! server's facts carry ([`FakeTokenEndpoint::auth_server`]) points at it, so
//! a refresh needs no discovery.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::{Response, StatusCode};
use serde_json::json;

use super::http::{Body, FakeServer, Seen, empty, json as json_response};
use crate::store::oauth::AuthServer;
use crate::sync::lock;

#[derive(Default)]
struct Inner {
    valid: HashSet<String>,
    refreshes: usize,
    issued: usize,
    revoked: Vec<(String, String)>,
    delay: Duration,
}

/// The fake endpoints.
pub struct FakeTokenEndpoint {
    server: FakeServer,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTokenEndpoint {
    /// Starts the fake; `refresh_tokens` are valid once each.
    pub async fn start(refresh_tokens: &[&str]) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            valid: refresh_tokens.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }));
        let i = inner.clone();
        let server = FakeServer::start(move |seen| handle(i.clone(), seen)).await;
        Self { server, inner }
    }

    /// Holds each token response for `delay` (to widen a race's window).
    pub fn delay_answers(&self, delay: Duration) {
        lock(&self.inner).delay = delay;
    }

    /// The issuer (the fake's origin).
    pub fn issuer(&self) -> String {
        self.server.origin()
    }

    /// RFC 8414 metadata naming the fake's endpoints.
    pub fn auth_server(&self) -> AuthServer {
        let origin = self.server.origin();
        AuthServer {
            issuer: origin.clone(),
            authorization_endpoint: format!("{origin}/authorize"),
            token_endpoint: format!("{origin}/token"),
            registration_endpoint: None,
            revocation_endpoint: Some(format!("{origin}/revoke")),
            device_authorization_endpoint: None,
            scopes_supported: None,
            token_endpoint_auth_methods_supported: Some(vec!["none".into()]),
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            synthesized: false,
        }
    }

    /// How many refresh requests reached the token endpoint.
    pub fn refreshes(&self) -> usize {
        lock(&self.inner).refreshes
    }

    /// The `(token, token_type_hint)` pairs revoked, in order.
    pub fn revoked(&self) -> Vec<(String, String)> {
        lock(&self.inner).revoked.clone()
    }
}

async fn handle(inner: Arc<Mutex<Inner>>, seen: Seen) -> Response<Body> {
    let form = seen.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let path = seen.target.split('?').next().unwrap_or_default().to_owned();
    let (delay, response) = {
        let mut i = lock(&inner);
        let response = match path.as_str() {
            "/token" if field("grant_type").as_deref() == Some("refresh_token") => {
                i.refreshes += 1;
                let presented = field("refresh_token").unwrap_or_default();
                if i.valid.remove(&presented) {
                    i.issued += 1;
                    let n = i.issued;
                    i.valid.insert(format!("rt-{n}"));
                    json_response(
                        StatusCode::OK,
                        &json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 3600, "refresh_token": format!("rt-{n}")}),
                    )
                } else {
                    json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": "invalid_grant", "error_description": "the refresh token was already used"}),
                    )
                }
            }
            "/revoke" => {
                i.revoked.push((
                    field("token").unwrap_or_default(),
                    field("token_type_hint").unwrap_or_default(),
                ));
                empty(StatusCode::OK)
            }
            _ => json_response(StatusCode::BAD_REQUEST, &json!({"error": "unsupported_grant_type"})),
        };
        (i.delay, response)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}
