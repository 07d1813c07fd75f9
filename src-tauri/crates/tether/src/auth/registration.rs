//! Who Tether is to an authorization server: its client identity.
//!
//! Owns the choice MCP Authorization 2025-11-25 §"Client Registration
//! Approaches" orders: a pre-registered client the user configured (its
//! secret from the keychain or an environment variable, never from the
//! command line); a Client ID Metadata Document URL as the client id, when
//! the server advertises `client_id_metadata_document_supported`
//! (draft-ietf-oauth-client-id-metadata-document); a client Tether registered
//! earlier with the same issuer for the same MCP server; else dynamic
//! registration (RFC 7591) as a public native client (`application_type:
//! native`, `token_endpoint_auth_method: none` unless the server demands a
//! secret). Registered clients are kept per issuer and reused (MCP
//! Authorization 2026-07-28: credentials are keyed by the issuer and never
//! used with another), so a restart does not register again; and per MCP
//! server (resource): an identity provider remembers consent per client, so
//! a client shared by two servers would let the second's sign-in complete
//! silently on consent given to the first (a confused deputy). A client's
//! secret is bound to its token endpoint (`store::bound`) and sent nowhere
//! else. A server that refuses the `127.0.0.1` redirect URI at registration
//! gets `localhost` (RFC 8252 §8.3).
//!
//! Registration responses are read leniently (seed 001): any 2xx, a
//! `client_id` that is a number, `client_secret_expires_at` as a float or a
//! string, a missing `token_endpoint_auth_method`.

use serde_json::{Value, json};
use tracing::{debug, info, warn};
use url::Url;

use super::AuthError;
use super::discovery::AuthServer;
use super::http::{OAuthHttp, check_endpoint, integer_seconds, server_text};
use crate::store::bound;
use crate::store::keys;
use crate::store::lock::ServerLock;
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

/// What a sign-in needs of the client: who it is, and the redirect URI it
/// registered (`127.0.0.1`, or `localhost` where the server takes only that).
#[derive(Debug, Clone)]
pub struct Client {
    pub credentials: ClientCredentials,
    pub redirect_uri: String,
}

/// How long a registration waits for another process registering with the
/// same issuer.
const ISSUER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Registers and finds clients: the HTTP client, the state directory (the
/// records in `clients.json`) and the keychain (their secrets).
pub struct Registrar<'a> {
    pub http: &'a OAuthHttp,
    pub state: &'a StateDir,
    pub secrets: &'a Secrets,
}

impl Registrar<'_> {
    /// The client to use with `server` for `resource`, in a flow whose
    /// redirect URI is `redirect_uri`. Registers one when nothing else fits,
    /// under the issuer's lock, so two servers of one issuer do not register
    /// at once.
    pub async fn client_for(
        &self,
        server: &AuthServer,
        resource: &str,
        redirect_uri: &str,
        scopes: &[String],
        prefs: &ClientPrefs,
    ) -> Result<Client, AuthError> {
        let given = |credentials| Client {
            credentials,
            redirect_uri: redirect_uri.to_owned(),
        };
        if let Some(pre) = &prefs.pre_registered {
            return Ok(given(pre.credentials(server)));
        }
        if server.client_id_metadata_document_supported
            && let Some(url) = &prefs.metadata_url
        {
            check_metadata_url(url)?;
            return Ok(given(ClientCredentials {
                client_id: url.clone(),
                secret: None,
                method: AuthMethod::None,
                kind: RegistrationKind::MetadataDocument,
            }));
        }
        let _issuer = ServerLock::acquire(
            &self.state.locks(),
            &format!("issuer {}", server.issuer),
            ISSUER_LOCK_WAIT,
        )
        .await?;
        if let Some(client) = self.registered(server, resource, redirect_uri).await? {
            return Ok(client);
        }
        match self.register(server, resource, redirect_uri, scopes, prefs).await {
            Err(RegisterError::Redirect(why)) if let Some(localhost) = localhost_twin(redirect_uri) => {
                // RFC 8252 §8.3 prefers the loopback IP, and allows
                // `localhost`; some servers register only the latter.
                warn!(issuer = %server.issuer, "{why}; registering with {localhost} instead");
                self.register(server, resource, &localhost, scopes, prefs)
                    .await
                    .map_err(AuthError::from)
            }
            other => other.map_err(AuthError::from),
        }
    }

    /// A client registered earlier for this resource whose redirect URI (or
    /// its `localhost` twin), secret and token endpoint still fit.
    async fn registered(
        &self,
        server: &AuthServer,
        resource: &str,
        redirect_uri: &str,
    ) -> Result<Option<Client>, AuthError> {
        let Some(record) = self.state.client(&server.issuer, Some(resource))? else {
            return Ok(None);
        };
        let twin = localhost_twin(redirect_uri);
        let Some(registered_uri) = record
            .redirect_uris
            .iter()
            .find(|r| *r == redirect_uri || Some(r.as_str()) == twin.as_deref())
        else {
            return Ok(None);
        };
        let expired = record
            .client_secret_expires_at
            .is_some_and(|t| t > 0 && t <= now() + 60);
        let same_endpoint = record.token_endpoint.as_deref() == Some(server.token_endpoint.as_str());
        if record.kind != RegistrationKind::Registered || expired || !same_endpoint {
            return Ok(None);
        }
        let secret = if record.has_secret {
            let key = keys::issuer_client_secret(&server.issuer, Some(resource));
            match self.secrets.get(&key).await?.map(bound::open) {
                Some(b) if b.allows(&server.token_endpoint) => Some(b.secret),
                // Missing, or bound to another endpoint: never sent there.
                _ => return Ok(None),
            }
        } else {
            None
        };
        debug!(issuer = %server.issuer, "reusing the registered client");
        Ok(Some(Client {
            redirect_uri: registered_uri.clone(),
            credentials: ClientCredentials {
                client_id: record.client_id,
                secret,
                method: record.token_endpoint_auth_method,
                kind: RegistrationKind::Registered,
            },
        }))
    }

    async fn register(
        &self,
        server: &AuthServer,
        resource: &str,
        redirect_uri: &str,
        scopes: &[String],
        prefs: &ClientPrefs,
    ) -> Result<Client, RegisterError> {
        let Some(endpoint) = &server.registration_endpoint else {
            return Err(AuthError::Registration(format!(
                "the authorization server {} offers no way for Tether to register (no registration_endpoint, no Client ID Metadata Document support); \
                 register a client there yourself and give its id with `tether add <name> <url> --client-id <id>`",
                server.issuer
            ))
            .into());
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
        let (status, resp) = self.http.post_json(&url, &body).await?;
        if !(200..300).contains(&status) {
            let text = |k: &str| resp.get(k).and_then(Value::as_str).map(server_text);
            let why = text("error_description")
                .or_else(|| text("error"))
                .map_or_else(|| format!("HTTP {status}"), |e| format!("HTTP {status}: {e}"));
            let why = format!("{} refused to register Tether ({why})", server.issuer);
            let about_redirect = text("error").as_deref() == Some("invalid_redirect_uri")
                || text("error_description").is_some_and(|d| d.to_ascii_lowercase().contains("redirect"));
            return Err(if status == 400 && about_redirect {
                RegisterError::Redirect(why)
            } else {
                AuthError::Registration(why).into()
            });
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
            token_endpoint: Some(server.token_endpoint.clone()),
            registration_endpoint: Some(endpoint.clone()),
        };
        // The secret first, bound to the token endpoint it is for: a record
        // that claims a secret the keychain lacks would be unusable.
        let key = keys::issuer_client_secret(&server.issuer, Some(resource));
        match &parsed.secret {
            Some(s) => {
                self.secrets
                    .set(&key, &bound::seal(s, &server.token_endpoint))
                    .await
                    .map_err(AuthError::from)?;
            }
            None => self.secrets.delete(&key).await.map_err(AuthError::from)?,
        }
        self.state
            .save_client(&server.issuer, Some(resource), Some(&record))
            .map_err(AuthError::from)?;
        info!(issuer = %server.issuer, method = parsed.method.as_str(), "registered Tether as a client");
        Ok(Client {
            redirect_uri: redirect_uri.to_owned(),
            credentials: ClientCredentials {
                client_id: parsed.client_id,
                secret: parsed.secret,
                method: parsed.method,
                kind: RegistrationKind::Registered,
            },
        })
    }
}

/// A registration that failed, and whether it failed over the redirect URI.
enum RegisterError {
    /// The server refused the redirect URI (RFC 7591 §3.2.2
    /// `invalid_redirect_uri`): another may do.
    Redirect(String),
    Other(AuthError),
}

impl From<AuthError> for RegisterError {
    fn from(e: AuthError) -> Self {
        Self::Other(e)
    }
}

impl From<RegisterError> for AuthError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Redirect(why) => AuthError::Registration(why),
            RegisterError::Other(e) => e,
        }
    }
}

/// `http://localhost:<port>/…` for `http://127.0.0.1:<port>/…`.
pub fn localhost_twin(redirect_uri: &str) -> Option<String> {
    let mut u = Url::parse(redirect_uri).ok()?;
    if u.host_str() != Some("127.0.0.1") {
        return None;
    }
    u.set_host(Some("localhost")).ok()?;
    Some(u.to_string())
}

/// The port of the redirect URI registered with `issuer` for `resource`,
/// so the listener can take it again.
pub fn registered_port(state: &StateDir, issuer: &str, resource: &str) -> Option<u16> {
    let record = state.client(issuer, Some(resource)).ok()??;
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
    use crate::test_support::routes::{FakeRoutes as FakeHttp, Route};

    fn server(methods: Option<Vec<&str>>) -> AuthServer {
        AuthServer {
            registration_endpoint: Some("https://as.example/register".into()),
            token_endpoint_auth_methods_supported: methods.map(|m| m.into_iter().map(str::to_owned).collect()),
            ..AuthServer::minimal(
                "https://as.example",
                "https://as.example/authorize",
                "https://as.example/token",
            )
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
        let reg = registrar(&http, &state, &secrets);
        let c = reg
            .client_for(&s, "https://r.example/mcp", "r", &[], &prefs)
            .await
            .unwrap()
            .credentials;
        assert_eq!(
            (c.client_id.as_str(), c.method, c.kind),
            ("pre", AuthMethod::ClientSecretPost, RegistrationKind::PreRegistered)
        );
        let prefs = ClientPrefs {
            pre_registered: None,
            ..prefs
        };
        let c = reg
            .client_for(&s, "https://r.example/mcp", "r", &[], &prefs)
            .await
            .unwrap()
            .credentials;
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
        let e = reg
            .client_for(&s, "https://r.example/mcp", "r", &[], &prefs)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("--client-id"), "{e}");
        let _ = std::fs::remove_dir_all(root);
    }

    /// A registrar over `http`, `state` and `secrets`.
    fn registrar<'a>(http: &'a OAuthHttp, state: &'a StateDir, secrets: &'a Secrets) -> Registrar<'a> {
        Registrar { http, state, secrets }
    }

    fn registrar_in(root: &std::path::Path) -> (StateDir, Secrets) {
        (
            StateDir::new(root),
            Secrets::new(std::sync::Arc::new(crate::store::secrets::MemoryStore::default())),
        )
    }

    fn fake_as(base: &str) -> AuthServer {
        AuthServer {
            issuer: base.to_owned(),
            authorization_endpoint: format!("{base}/authorize"),
            token_endpoint: format!("{base}/token"),
            registration_endpoint: Some(format!("{base}/register")),
            ..server(None)
        }
    }

    const REDIRECT: &str = "http://127.0.0.1:4567/callback";

    #[tokio::test]
    async fn each_mcp_server_gets_its_own_client_from_a_shared_authorization_server() {
        // One identity provider, two MCP servers: a client shared by both
        // would let the second's sign-in pass on consent given to the first.
        let fake = FakeHttp::start(vec![Route::post(
            "/register",
            201,
            json!({"client_id": "c-new", "client_secret": "s3cret", "token_endpoint_auth_method": "client_secret_basic"}),
        )])
        .await;
        let root = tempdir("per-resource");
        let (state, secrets) = registrar_in(&root);
        let http = OAuthHttp::new().unwrap();
        let reg = registrar(&http, &state, &secrets);
        let s = fake_as(&fake.base);
        let prefs = ClientPrefs::default();
        reg.client_for(&s, "https://a.example/mcp", REDIRECT, &[], &prefs)
            .await
            .unwrap();
        reg.client_for(&s, "https://a.example/mcp", REDIRECT, &[], &prefs)
            .await
            .unwrap();
        assert_eq!(fake.hits("/register"), 1, "the first server's client is reused for it");
        reg.client_for(&s, "https://b.example/mcp", REDIRECT, &[], &prefs)
            .await
            .unwrap();
        assert_eq!(fake.hits("/register"), 2, "the second server registers its own");
        // Its secret is bound to the token endpoint it is for.
        let key = keys::issuer_client_secret(&s.issuer, Some("https://b.example/mcp"));
        let stored = bound::open(secrets.get(&key).await.unwrap().unwrap());
        assert_eq!(stored.to.as_deref(), Some(s.token_endpoint.as_str()));
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn a_client_secret_is_not_reused_when_the_token_endpoint_moves() {
        let fake = FakeHttp::start(vec![Route::post(
            "/register",
            201,
            json!({"client_id": "c", "client_secret": "s3cret", "token_endpoint_auth_method": "client_secret_basic"}),
        )])
        .await;
        let root = tempdir("moved-endpoint");
        let (state, secrets) = registrar_in(&root);
        let http = OAuthHttp::new().unwrap();
        let reg = registrar(&http, &state, &secrets);
        let mut s = fake_as(&fake.base);
        let prefs = ClientPrefs::default();
        reg.client_for(&s, "https://a.example/mcp", REDIRECT, &[], &prefs)
            .await
            .unwrap();
        // The same issuer, now naming a token endpoint of someone else's.
        s.token_endpoint = "https://evil.example/token".into();
        let c = reg
            .client_for(&s, "https://a.example/mcp", REDIRECT, &[], &prefs)
            .await
            .unwrap();
        assert_eq!(
            fake.hits("/register"),
            2,
            "a new client, not the old secret, for the new endpoint"
        );
        assert_eq!(c.credentials.client_id, "c");
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn a_server_that_refuses_the_loopback_ip_gets_localhost() {
        let fake = FakeHttp::start(vec![
            Route::post(
                "/register",
                400,
                json!({"error": "invalid_redirect_uri", "error_description": "only localhost redirects"}),
            )
            .when_body_has("127.0.0.1"),
            Route::post("/register", 201, json!({"client_id": "c-localhost"})).when_body_has("localhost"),
        ])
        .await;
        let root = tempdir("localhost");
        let (state, secrets) = registrar_in(&root);
        let http = OAuthHttp::new().unwrap();
        let reg = registrar(&http, &state, &secrets);
        let s = fake_as(&fake.base);
        let c = reg
            .client_for(&s, "https://a.example/mcp", REDIRECT, &[], &ClientPrefs::default())
            .await
            .unwrap();
        assert_eq!(c.redirect_uri, "http://localhost:4567/callback");
        assert_eq!(c.credentials.client_id, "c-localhost");
        assert_eq!(fake.hits("/register"), 2);
        // Next time the localhost client is found for the 127.0.0.1 listener.
        let again = reg
            .client_for(&s, "https://a.example/mcp", REDIRECT, &[], &ClientPrefs::default())
            .await
            .unwrap();
        assert_eq!(again.redirect_uri, "http://localhost:4567/callback");
        assert_eq!(fake.hits("/register"), 2);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn clients_saved_at_once_by_many_writers_are_all_kept() {
        // clients.json holds every issuer's clients: each save is a
        // read-modify-write, which a lock of its own keeps whole.
        let root = tempdir("clients-lock");
        let state = StateDir::new(&root);
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let state = state.clone();
                std::thread::spawn(move || {
                    for i in 0..15 {
                        let record = RegisteredClient {
                            client_id: format!("c{w}-{i}"),
                            kind: RegistrationKind::Registered,
                            token_endpoint_auth_method: AuthMethod::None,
                            redirect_uris: vec![],
                            registered_at: 0,
                            has_secret: false,
                            client_secret_expires_at: None,
                            token_endpoint: None,
                            registration_endpoint: None,
                        };
                        state
                            .save_client(&format!("https://as{w}.example"), Some(&format!("r{i}")), Some(&record))
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(state.clients().unwrap().len(), 8 * 15, "no record lost");
        let _ = std::fs::remove_dir_all(root);
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("tether-reg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }
}
