//! Who Tether is to an authorization server: its client identity.
//!
//! Owns the choice MCP Authorization 2025-11-25 §"Client Registration
//! Approaches" orders: a pre-registered client the user configured (its
//! secret from the keychain or an environment variable, never from the
//! command line); a Client ID Metadata Document URL as the client id, when
//! the server advertises `client_id_metadata_document_supported`
//! (draft-ietf-oauth-client-id-metadata-document); a client Tether registered
//! earlier with the same issuer; else dynamic registration (RFC 7591) as a
//! public native client (`application_type: native`,
//! `token_endpoint_auth_method: none` unless the server demands a secret).
//! Registered clients are kept per issuer and reused (MCP Authorization
//! 2026-07-28: credentials are keyed by the issuer and never used with
//! another), so a restart does not register again.
//!
//! Registration responses are read leniently (seed 001): any 2xx, a
//! `client_id` that is a number, `client_secret_expires_at` as a float or a
//! string, a missing `token_endpoint_auth_method`.

use serde_json::{Value, json};
use tracing::{debug, info};
use url::Url;

use super::AuthError;
use super::discovery::AuthServer;
use super::http::{OAuthHttp, check_endpoint, integer_seconds, server_text};
use crate::store::keys;
pub use crate::store::oauth::AuthMethod;
use crate::store::oauth::{RegisteredClient, RegistrationKind};
use crate::store::secrets::{Secret, Secrets};
use crate::store::state::{StateDir, now};

/// The client Tether acts as with one authorization server.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub method: AuthMethod,
    pub kind: RegistrationKind,
}

/// A client the user registered by hand.
#[derive(Debug, Clone)]
pub struct PreRegistered {
    pub client_id: String,
    pub secret: Option<Secret>,
}

impl PreRegistered {
    /// How this client authenticates to `server`: with its secret in the
    /// way the server supports, or as a public client.
    pub fn credentials(&self, server: &AuthServer) -> ClientCredentials {
        let method = if self.secret.is_some() {
            secret_method(server)
        } else {
            AuthMethod::None
        };
        ClientCredentials {
            client_id: self.client_id.clone(),
            secret: self.secret.clone(),
            method,
            kind: RegistrationKind::PreRegistered,
        }
    }
}

/// The user's choices about client identity.
#[derive(Debug, Clone, Default)]
pub struct ClientPrefs {
    pub pre_registered: Option<PreRegistered>,
    /// The URL of a Client ID Metadata Document Tether may use as its id.
    pub metadata_url: Option<String>,
    /// Fields merged over the registration request
    /// (`--static-oauth-client-metadata`).
    pub extra_metadata: Option<serde_json::Map<String, Value>>,
}

/// The client to use with `server` for a flow whose redirect URI is
/// `redirect_uri`. Registers one when nothing else fits; the caller holds
/// the server's lock.
pub async fn client_for(
    http: &OAuthHttp,
    state: &StateDir,
    secrets: &Secrets,
    server: &AuthServer,
    redirect_uri: &str,
    scopes: &[String],
    prefs: &ClientPrefs,
) -> Result<ClientCredentials, AuthError> {
    if let Some(pre) = &prefs.pre_registered {
        return Ok(pre.credentials(server));
    }
    if server.client_id_metadata_document_supported
        && let Some(url) = &prefs.metadata_url
    {
        check_metadata_url(url)?;
        return Ok(ClientCredentials {
            client_id: url.clone(),
            secret: None,
            method: AuthMethod::None,
            kind: RegistrationKind::MetadataDocument,
        });
    }
    if let Some(record) = state.client(&server.issuer)?
        && record.kind == RegistrationKind::Registered
        && record.redirect_uris.iter().any(|r| r == redirect_uri)
        && !record
            .client_secret_expires_at
            .is_some_and(|t| t > 0 && t <= now() + 60)
    {
        let secret = if record.has_secret {
            secrets.get(&keys::issuer_client_secret(&server.issuer)).await?
        } else {
            None
        };
        if !record.has_secret || secret.is_some() {
            debug!(issuer = %server.issuer, "reusing the registered client");
            let method = record.token_endpoint_auth_method;
            return Ok(ClientCredentials {
                client_id: record.client_id,
                secret,
                method,
                kind: RegistrationKind::Registered,
            });
        }
    }
    register(http, state, secrets, server, redirect_uri, scopes, prefs).await
}

/// The port of the redirect URI registered with `issuer`, so the listener
/// can take it again.
pub fn registered_port(state: &StateDir, issuer: &str) -> Option<u16> {
    let record = state.client(issuer).ok()??;
    record.redirect_uris.iter().find_map(|r| Url::parse(r).ok()?.port())
}

/// Picks how to send a secret, from what the server supports.
pub fn secret_method(server: &AuthServer) -> AuthMethod {
    match server.token_endpoint_auth_methods_supported.as_deref() {
        Some(m) if m.iter().any(|x| x == "client_secret_basic") => AuthMethod::ClientSecretBasic,
        Some(m) if m.iter().any(|x| x == "client_secret_post") => AuthMethod::ClientSecretPost,
        // RFC 8414 §2: absent means client_secret_basic.
        _ => AuthMethod::ClientSecretBasic,
    }
}

/// The method to ask for when registering: `none` when the server allows
/// public clients (or says nothing), else what it supports.
fn method_to_register(server: &AuthServer) -> AuthMethod {
    match server.token_endpoint_auth_methods_supported.as_deref() {
        None => AuthMethod::None,
        Some(m) if m.is_empty() || m.iter().any(|x| x == "none") => AuthMethod::None,
        Some(_) => secret_method(server),
    }
}

/// A metadata document URL must be https with a path (CIMD §3).
pub fn check_metadata_url(url: &str) -> Result<(), AuthError> {
    let u = Url::parse(url)
        .map_err(|_| AuthError::Registration(format!("the client metadata URL {url:?} is not a URL")))?;
    if u.scheme() != "https" || u.path().trim_matches('/').is_empty() {
        return Err(AuthError::Registration(format!(
            "the client metadata URL {url} must be https and have a path (e.g. https://example.com/tether/client.json)"
        )));
    }
    Ok(())
}

/// The registration request (RFC 7591 §2).
pub fn registration_request(
    redirect_uri: &str,
    method: AuthMethod,
    scopes: &[String],
    prefs: &ClientPrefs,
    device_grant: bool,
) -> Value {
    let mut grant_types = vec!["authorization_code", "refresh_token"];
    if device_grant {
        // So that `tether login --device-code` works with the same client.
        grant_types.push("urn:ietf:params:oauth:grant-type:device_code");
    }
    let mut body = json!({
        "client_name": "Tether",
        "client_uri": "https://github.com/tether-mcp/tether",
        "software_id": "dev.tether.tether",
        "software_version": env!("CARGO_PKG_VERSION"),
        "redirect_uris": [redirect_uri],
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method.as_str(),
        "application_type": "native",
    });
    if !scopes.is_empty() {
        body["scope"] = scopes.join(" ").into();
    }
    if let (Some(extra), Value::Object(obj)) = (&prefs.extra_metadata, &mut body) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    body
}

async fn register(
    http: &OAuthHttp,
    state: &StateDir,
    secrets: &Secrets,
    server: &AuthServer,
    redirect_uri: &str,
    scopes: &[String],
    prefs: &ClientPrefs,
) -> Result<ClientCredentials, AuthError> {
    let Some(endpoint) = &server.registration_endpoint else {
        return Err(AuthError::Registration(format!(
            "the authorization server {} offers no way for Tether to register (no registration_endpoint, no Client ID Metadata Document support); \
             register a client there yourself and give its id with `tether add <name> <url> --client-id <id>`",
            server.issuer
        )));
    };
    let url = Url::parse(endpoint)
        .map_err(|_| AuthError::Registration(format!("the registration endpoint {endpoint:?} is not a URL")))?;
    check_endpoint(&url, "registration endpoint")?;
    let asked = method_to_register(server);
    let body = registration_request(
        redirect_uri,
        asked,
        scopes,
        prefs,
        server.device_authorization_endpoint.is_some(),
    );
    let (status, resp) = http.post_json(&url, &body).await?;
    if !(200..300).contains(&status) {
        let why = resp
            .get("error_description")
            .or_else(|| resp.get("error"))
            .and_then(Value::as_str)
            .map_or_else(
                || format!("HTTP {status}"),
                |e| format!("HTTP {status}: {}", server_text(e)),
            );
        return Err(AuthError::Registration(format!(
            "{} refused to register Tether ({why})",
            server.issuer
        )));
    }
    let parsed = parse_registration(&resp, asked)?;
    let record = RegisteredClient {
        client_id: parsed.client_id.clone(),
        kind: RegistrationKind::Registered,
        token_endpoint_auth_method: parsed.method,
        redirect_uris: vec![redirect_uri.to_owned()],
        registered_at: now(),
        has_secret: parsed.secret.is_some(),
        client_secret_expires_at: parsed.secret_expires_at,
    };
    // The secret first: a record that claims a secret the keychain lacks
    // would be unusable.
    match &parsed.secret {
        Some(s) => secrets.set(&keys::issuer_client_secret(&server.issuer), s).await?,
        None => secrets.delete(&keys::issuer_client_secret(&server.issuer)).await?,
    }
    state.save_client(&server.issuer, Some(&record))?;
    info!(issuer = %server.issuer, method = parsed.method.as_str(), "registered Tether as a client");
    Ok(ClientCredentials {
        client_id: parsed.client_id,
        secret: parsed.secret,
        method: parsed.method,
        kind: RegistrationKind::Registered,
    })
}

/// A registration response, read leniently.
#[derive(Debug)]
pub struct Registration {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub method: AuthMethod,
    pub secret_expires_at: Option<i64>,
}

/// Reads an RFC 7591 §3.2.1 response.
pub fn parse_registration(resp: &Value, asked: AuthMethod) -> Result<Registration, AuthError> {
    let client_id = match resp.get("client_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(AuthError::Registration(
                "the registration response has no client_id".into(),
            ));
        }
    };
    let secret = resp
        .get("client_secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let method = resp
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .and_then(AuthMethod::parse)
        .unwrap_or(if secret.is_some() && asked == AuthMethod::None {
            AuthMethod::ClientSecretBasic
        } else {
            asked
        });
    let method = if secret.is_none() { AuthMethod::None } else { method };
    let secret_expires_at = resp
        .get("client_secret_expires_at")
        .and_then(integer_seconds)
        .filter(|t| *t > 0);
    Ok(Registration {
        client_id,
        secret,
        method,
        secret_expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(methods: Option<Vec<&str>>) -> AuthServer {
        AuthServer {
            issuer: "https://as.example".into(),
            authorization_endpoint: "https://as.example/authorize".into(),
            token_endpoint: "https://as.example/token".into(),
            registration_endpoint: Some("https://as.example/register".into()),
            revocation_endpoint: None,
            device_authorization_endpoint: None,
            scopes_supported: None,
            token_endpoint_auth_methods_supported: methods.map(|m| m.into_iter().map(str::to_owned).collect()),
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            synthesized: false,
        }
    }

    #[test]
    fn a_public_native_client_is_registered_unless_the_server_demands_a_secret() {
        assert_eq!(method_to_register(&server(None)), AuthMethod::None);
        assert_eq!(
            method_to_register(&server(Some(vec!["client_secret_basic", "none"]))),
            AuthMethod::None
        );
        assert_eq!(
            method_to_register(&server(Some(vec!["client_secret_post"]))),
            AuthMethod::ClientSecretPost
        );
        assert_eq!(
            method_to_register(&server(Some(vec!["client_secret_basic"]))),
            AuthMethod::ClientSecretBasic
        );
        let body = registration_request(
            "http://127.0.0.1:5/callback",
            AuthMethod::None,
            &["a".into(), "b".into()],
            &ClientPrefs::default(),
            false,
        );
        assert_eq!(body["application_type"], "native");
        assert_eq!(body["token_endpoint_auth_method"], "none");
        assert_eq!(body["redirect_uris"], json!(["http://127.0.0.1:5/callback"]));
        assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert_eq!(body["scope"], "a b");
    }

    #[test]
    fn extra_client_metadata_is_merged_over_the_request() {
        let mut extra = serde_json::Map::new();
        extra.insert("client_name".into(), "My Tether".into());
        let body = registration_request(
            "r",
            AuthMethod::None,
            &[],
            &ClientPrefs {
                extra_metadata: Some(extra),
                ..Default::default()
            },
            true,
        );
        assert_eq!(body["client_name"], "My Tether");
        assert_eq!(body["grant_types"][2], "urn:ietf:params:oauth:grant-type:device_code");
        assert!(body.get("scope").is_none());
    }

    #[test]
    fn quirky_registration_responses_are_accepted() {
        let r = parse_registration(
            &json!({"client_id": 12345, "client_secret": "s", "client_secret_expires_at": 1.9e9}),
            AuthMethod::None,
        )
        .unwrap();
        assert_eq!(r.client_id, "12345");
        assert_eq!(r.method, AuthMethod::ClientSecretBasic);
        assert_eq!(r.secret_expires_at, Some(1_900_000_000));
        let r = parse_registration(
            &json!({"client_id": "c", "client_secret_expires_at": "0"}),
            AuthMethod::None,
        )
        .unwrap();
        assert_eq!(
            (r.method, r.secret_expires_at, r.secret.is_none()),
            (AuthMethod::None, None, true)
        );
        let r = parse_registration(
            &json!({"client_id": "c", "client_secret": "s", "token_endpoint_auth_method": "client_secret_post"}),
            AuthMethod::ClientSecretPost,
        )
        .unwrap();
        assert_eq!(r.method, AuthMethod::ClientSecretPost);
        assert!(parse_registration(&json!({"client_secret": "s"}), AuthMethod::None).is_err());
    }

    #[test]
    fn a_metadata_document_url_must_be_https_with_a_path() {
        assert!(check_metadata_url("https://tether.dev/client.json").is_ok());
        assert!(check_metadata_url("https://tether.dev/").is_err());
        assert!(check_metadata_url("http://tether.dev/client.json").is_err());
    }

    #[tokio::test]
    async fn a_pre_registered_client_comes_first_and_a_metadata_url_second() {
        let root = std::env::temp_dir().join(format!("tether-reg-{}", std::process::id()));
        let state = StateDir::new(&root);
        let secrets = Secrets::new(std::sync::Arc::new(crate::store::secrets::MemoryStore::default()));
        let http = OAuthHttp::new().unwrap();
        let mut s = server(Some(vec!["client_secret_post"]));
        s.client_id_metadata_document_supported = true;
        let prefs = ClientPrefs {
            pre_registered: Some(PreRegistered {
                client_id: "pre".into(),
                secret: Some(Secret::new("x")),
            }),
            metadata_url: Some("https://tether.dev/client.json".into()),
            extra_metadata: None,
        };
        let c = client_for(&http, &state, &secrets, &s, "r", &[], &prefs).await.unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.method, c.kind),
            ("pre", AuthMethod::ClientSecretPost, RegistrationKind::PreRegistered)
        );
        let prefs = ClientPrefs {
            pre_registered: None,
            ..prefs
        };
        let c = client_for(&http, &state, &secrets, &s, "r", &[], &prefs).await.unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.method, c.kind),
            (
                "https://tether.dev/client.json",
                AuthMethod::None,
                RegistrationKind::MetadataDocument
            )
        );
        // A server that does not support metadata documents and offers no
        // registration: a clear error.
        s.client_id_metadata_document_supported = false;
        s.registration_endpoint = None;
        let e = client_for(&http, &state, &secrets, &s, "r", &[], &prefs)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("--client-id"), "{e}");
        let _ = std::fs::remove_dir_all(root);
    }
}
