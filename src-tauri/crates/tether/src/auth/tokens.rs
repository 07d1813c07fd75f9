//! Tokens: what the token endpoint returns, how it is kept, and the calls
//! that get, renew and revoke it.
//!
//! Owns the token endpoint requests of OAuth 2.1 (§4.1.3 code exchange,
//! §4.3 refresh) and RFC 7009 revocation, each with the `resource` parameter
//! (RFC 8707 §2: on token and refresh requests too) and the client
//! authentication the server assigned; and the [`TokenSet`], the one secret
//! blob per server kept in the keychain. A refresh that comes back without a
//! `refresh_token` keeps the old one (OAuth 2.1 §4.3.3: the server may not
//! rotate); `invalid_grant` is told apart from every other failure, because it
//! means the refresh token is dead and only a new sign-in helps.

use std::fmt;

use oauth2::basic::{BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope, StandardRevocableToken,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::AuthError;
use super::discovery::AuthServer;
use super::http::{OAuthHttp, server_text, unreadable};
use super::registration::{AuthMethod, ClientCredentials};
use crate::store::state::now;

/// The tokens of one server, as kept in the keychain (one JSON value).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix seconds); `None`: unknown.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// The granted scopes, space-separated, when the server said.
    #[serde(default)]
    pub scope: Option<String>,
    pub obtained_at: i64,
    /// Which authorization server and client these are from, and for which
    /// resource: tokens are never used with another (MCP Authorization
    /// §"Token Audience Binding").
    pub issuer: String,
    pub client_id: String,
    pub resource: String,
    /// The token endpoint that issued them: the refresh token goes there and
    /// nowhere else, whatever a state file says later (absent in sets of
    /// earlier versions, which take it at their next refresh).
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

impl TokenSet {
    /// Builds the set from `server`'s token response. `previous_refresh` is
    /// kept when the response has no new refresh token.
    pub fn from_response(
        resp: &BasicTokenResponse,
        previous_refresh: Option<&str>,
        server: &AuthServer,
        client_id: &str,
        resource: &str,
    ) -> Self {
        let obtained_at = now();
        Self {
            access_token: resp.access_token().secret().clone(),
            refresh_token: resp
                .refresh_token()
                .map(|r| r.secret().clone())
                .or_else(|| previous_refresh.map(str::to_owned)),
            // Saturating: a lifetime past i64 seconds means "never expires",
            // not an overflow (found by the `token_response` fuzz target).
            expires_at: resp
                .expires_in()
                .map(|d| obtained_at.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
            scope: resp
                .scopes()
                .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
            obtained_at,
            issuer: server.issuer.clone(),
            client_id: client_id.to_owned(),
            resource: resource.to_owned(),
            token_endpoint: Some(server.token_endpoint.clone()),
        }
    }

    /// Whether a refresh token may go to `token_endpoint`: the one that
    /// issued it.
    pub fn refreshes_at(&self, token_endpoint: &str) -> bool {
        self.token_endpoint.as_deref().is_none_or(|e| e == token_endpoint)
    }

    /// Seconds until expiry (negative once expired); `None` when unknown.
    pub fn remaining(&self) -> Option<i64> {
        self.expires_at.map(|t| t.saturating_sub(now()))
    }

    /// Whether the access token expires within `secs` seconds.
    pub fn expires_within(&self, secs: i64) -> bool {
        self.remaining().is_some_and(|r| r <= secs)
    }

    /// The keychain value.
    pub fn to_secret(&self) -> crate::store::secrets::Secret {
        crate::store::secrets::Secret::new(serde_json::to_string(self).unwrap_or_default())
    }

    /// Reads the keychain value; `None` when it is not a token set.
    pub fn from_secret(s: &crate::store::secrets::Secret) -> Option<Self> {
        serde_json::from_str(s.expose()).ok()
    }
}

/// Refuses an access token made for another server: a JWT access token
/// (RFC 9068 §2.2) names its audience in `aud`, and one whose `aud` leaves
/// out `resource` was not issued for it (RFC 8707 §2: many authorization
/// servers ignore `resource`, and such a token would carry another
/// server's authority to this one, or this server's consent to another).
/// An audience matches when it is the resource, or a URL of the same origin
/// whose path contains the resource's (as `resource` metadata does, RFC 9728
/// §3.3). Opaque tokens, and JWTs without `aud`, say nothing and pass.
pub fn check_audience(access_token: &str, resource: &str) -> Result<(), AuthError> {
    let Some(aud) = jwt_audience(access_token) else {
        return Ok(());
    };
    let Ok(resource_url) = url::Url::parse(resource) else {
        return Ok(());
    };
    let matches = |a: &str| {
        a.trim_end_matches('/') == resource.trim_end_matches('/')
            || super::discovery::check_resource(a, &resource_url).is_ok()
    };
    if aud.iter().any(|a| matches(a)) {
        Ok(())
    } else {
        Err(AuthError::Refused(format!(
            "the access token is for {} (its \"aud\"), not for {resource}; it is not sent. \
             Configure the authorization server to honour the resource parameter (RFC 8707) for this server",
            aud.iter().map(|a| server_text(a)).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// The `aud` of a JWT (a string or a list), if the token is one.
fn jwt_audience(token: &str) -> Option<Vec<String>> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get("aud")? {
        serde_json::Value::String(a) => Some(vec![a.clone()]),
        serde_json::Value::Array(list) => Some(list.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect()),
        _ => None,
    }
}

type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// An `oauth2` client for `server` as `creds`.
pub fn oauth_client(
    server: &AuthServer,
    creds: &ClientCredentials,
    redirect_uri: Option<&str>,
) -> Result<Client, AuthError> {
    let bad = |what: &str, v: &str| AuthError::Discovery(format!("the {what} {v:?} is not a URL"));
    let mut c = oauth2::basic::BasicClient::new(ClientId::new(creds.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(server.authorization_endpoint.clone())
                .map_err(|_| bad("authorization endpoint", &server.authorization_endpoint))?,
        )
        .set_token_uri(
            TokenUrl::new(server.token_endpoint.clone()).map_err(|_| bad("token endpoint", &server.token_endpoint))?,
        )
        .set_revocation_url_option(
            server
                .revocation_endpoint
                .as_ref()
                .and_then(|u| RevocationUrl::new(u.clone()).ok()),
        )
        .set_auth_type(match creds.method {
            AuthMethod::ClientSecretPost | AuthMethod::None => oauth2::AuthType::RequestBody,
            AuthMethod::ClientSecretBasic => oauth2::AuthType::BasicAuth,
        });
    if let Some(secret) = &creds.secret
        && creds.method != AuthMethod::None
    {
        c = c.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
    }
    if let Some(r) = redirect_uri {
        c = c.set_redirect_uri(RedirectUrl::new(r.to_owned()).map_err(|_| bad("redirect URI", r))?);
    }
    Ok(c)
}

/// What a refresh came to.
#[derive(Debug)]
pub enum Refreshed {
    Tokens(Box<BasicTokenResponse>),
    /// The authorization server refused the refresh token: `invalid_grant`
    /// (expired, revoked, already used), or any other answer that is not a
    /// transient failure (`invalid_request`, a code of its own, a 400
    /// without a body, an unreadable answer). Only a new sign-in helps;
    /// trying again would fail again.
    Rejected(String),
}

/// Exchanges an authorization code (OAuth 2.1 §4.1.3) with PKCE and `resource`.
pub async fn exchange_code(
    http: &OAuthHttp,
    server: &AuthServer,
    creds: &ClientCredentials,
    code: String,
    verifier: PkceCodeVerifier,
    redirect_uri: &str,
    resource: &str,
) -> Result<BasicTokenResponse, AuthError> {
    let client = oauth_client(server, creds, Some(redirect_uri))?;
    client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", resource)
        .request_async(http)
        .await
        .map_err(|e| token_error(e, &server.issuer, "exchanging the authorization code"))
}

/// Refreshes (OAuth 2.1 §4.3) with `resource` and, when known, `scope`.
pub async fn refresh(
    http: &OAuthHttp,
    server: &AuthServer,
    creds: &ClientCredentials,
    refresh_token: &str,
    resource: &str,
    scopes: &[String],
) -> Result<Refreshed, AuthError> {
    let client = oauth_client(server, creds, None)?;
    let token = RefreshToken::new(refresh_token.to_owned());
    let mut req = client
        .exchange_refresh_token(&token)
        .add_extra_param("resource", resource);
    for s in scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    match req.request_async(http).await {
        Ok(resp) => Ok(Refreshed::Tokens(Box::new(resp))),
        Err(RequestTokenError::ServerResponse(e)) => {
            let code = match e.error() {
                BasicErrorResponseType::Extension(c) => server_text(c),
                other => other.as_ref().to_owned(),
            };
            Ok(Refreshed::Rejected(match e.error_description() {
                Some(d) => format!("{code}: {}", server_text(d)),
                None => code,
            }))
        }
        // Network failures and 5xx are transient: the caller tries again.
        Err(e @ RequestTokenError::Request(_)) => Err(token_error(e, &server.issuer, "refreshing the access token")),
        Err(e) => Ok(Refreshed::Rejected(
            token_error(e, &server.issuer, "refreshing the access token").to_string(),
        )),
    }
}

/// What to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Revokes a token (RFC 7009 §2.1), when the server offers revocation.
/// Returns whether a revocation request was made and accepted. Written by
/// hand rather than with `oauth2`, whose revocation refuses http even to
/// this computer.
pub async fn revoke(
    http: &OAuthHttp,
    server: &AuthServer,
    creds: &ClientCredentials,
    token: &str,
    kind: TokenKind,
) -> Result<bool, AuthError> {
    let Some(endpoint) = &server.revocation_endpoint else {
        return Ok(false);
    };
    let url = url::Url::parse(endpoint)
        .map_err(|_| AuthError::Discovery(format!("the revocation endpoint {endpoint:?} is not a URL")))?;
    let hint = match kind {
        TokenKind::Access => "access_token",
        TokenKind::Refresh => "refresh_token",
    };
    let mut form = vec![("token", token.to_owned()), ("token_type_hint", hint.to_owned())];
    let mut basic = None;
    match (creds.method, &creds.secret) {
        (AuthMethod::ClientSecretBasic, Some(secret)) => basic = Some((creds.client_id.clone(), secret.clone())),
        (AuthMethod::ClientSecretPost, Some(secret)) => {
            form.push(("client_id", creds.client_id.clone()));
            form.push(("client_secret", secret.expose().to_owned()));
        }
        _ => form.push(("client_id", creds.client_id.clone())),
    }
    let status = http.post_form(&url, &form, basic.as_ref()).await?;
    if (200..300).contains(&status) {
        Ok(true)
    } else {
        Err(AuthError::Denied(format!(
            "{} refused the revocation (HTTP {status})",
            server.issuer
        )))
    }
}

/// A failed token endpoint request in words. The response's body is never
/// quoted (it holds tokens): an error response gives its `error` and
/// `error_description` (made safe by `server_text`), an unreadable one the
/// field that could not be read.
pub(crate) fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse>(
    e: RequestTokenError<RE, T>,
    issuer: &str,
    doing: &str,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            // The standard error response (RFC 6749 §5.2), read back as JSON
            // for its two fields, whatever the error type's own shape.
            let v = serde_json::to_value(&r).unwrap_or_default();
            let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).map(server_text);
            let mut text = field("error").unwrap_or_else(|| "an error".into());
            if let Some(d) = field("error_description") {
                text = format!("{text}: {d}");
            }
            AuthError::Denied(format!("{issuer} refused {doing} ({text})"))
        }
        RequestTokenError::Request(r) => AuthError::Unreachable {
            url: issuer.to_owned(),
            detail: r.to_string(),
        },
        RequestTokenError::Parse(p, _body) => AuthError::Denied(format!(
            "{issuer} answered {doing} with something Tether cannot read ({})",
            unreadable(&p.path().to_string(), p.inner())
        )),
        RequestTokenError::Other(o) => AuthError::Denied(format!("{issuer}: {doing} failed: {}", server_text(&o))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::routes::{FakeRoutes, Route};

    /// A fake token endpoint answering `status` and `body` (labelled JSON,
    /// whatever it holds); kept alive by the returned guard.
    async fn fake_token_endpoint(status: u16, body: &'static str) -> (String, FakeRoutes) {
        let fake = FakeRoutes::start(vec![Route::post_raw("/token", status, body)]).await;
        (format!("{}/token", fake.base), fake)
    }

    fn fake_server(token_endpoint: String) -> AuthServer {
        AuthServer::minimal("http://127.0.0.1", "http://127.0.0.1/authorize", &token_endpoint)
    }

    /// What a failed refresh says, refused or failed.
    fn refusal(r: Result<Refreshed, AuthError>) -> String {
        match r {
            Ok(Refreshed::Rejected(why)) => why,
            Ok(Refreshed::Tokens(_)) => panic!("the refresh was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn public_client() -> ClientCredentials {
        ClientCredentials {
            client_id: "c".into(),
            secret: None,
            method: AuthMethod::None,
            kind: crate::store::oauth::RegistrationKind::Registered,
        }
    }

    #[tokio::test]
    async fn an_unreadable_token_response_is_reported_by_field_and_never_quoted() {
        // A refresh token in a list and a numeric `scope` make the response
        // unreadable; the message must not carry the tokens beside them.
        for body in [
            r#"{"access_token":"AT-SECRET-1234567890","token_type":"Bearer","expires_in":60,"refresh_token":["RT-SECRET-0987654321"]}"#,
            r#"{"access_token":"AT-SECRET-1234567890","token_type":"Bearer","scope":42,"refresh_token":"RT-SECRET-0987654321"}"#,
        ] {
            let (endpoint, _fake) = fake_token_endpoint(200, body).await;
            let server = fake_server(endpoint);
            let http = OAuthHttp::new().unwrap();
            let e = refusal(refresh(&http, &server, &public_client(), "old", "https://r.example/", &[]).await);
            assert!(!e.contains("SECRET"), "a token reached the message: {e}");
            assert!(e.contains("cannot read") && e.contains("wrong type"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_token_endpoint_s_error_description_is_shown_without_control_characters() {
        let body = r#"{"error":"invalid_request","error_description":"bad\u001b[2J\nrequest"}"#;
        let (endpoint, _fake) = fake_token_endpoint(400, body).await;
        let server = fake_server(endpoint);
        let http = OAuthHttp::new().unwrap();
        let e = refusal(refresh(&http, &server, &public_client(), "old", "https://r.example/", &[]).await);
        assert!(e.contains("invalid_request: bad [2J request"), "{e}");
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }

    #[tokio::test]
    async fn a_refresh_refused_for_any_reason_but_a_transient_one_asks_for_a_new_sign_in() {
        for (status, body) in [
            (400, r#"{"error":"invalid_grant"}"#),
            (
                400,
                r#"{"error":"invalid_request","error_description":"refresh_token too old"}"#,
            ),
            (400, r#"{"error":"custom_code_42"}"#),
            (400, ""),
            (401, "<html>nope</html>"),
            (200, r#"{"token_type":"bearer"}"#),
        ] {
            let (endpoint, _fake) = fake_token_endpoint(status, body).await;
            let server = fake_server(endpoint);
            let http = OAuthHttp::new().unwrap();
            let r = refresh(&http, &server, &public_client(), "old", "https://r.example/", &[]).await;
            assert!(matches!(r, Ok(Refreshed::Rejected(_))), "{status} {body}: {r:?}");
        }
    }

    #[tokio::test]
    async fn a_refresh_that_meets_a_server_error_is_transient() {
        let (endpoint, _fake) = fake_token_endpoint(503, "<html>down</html>").await;
        let server = fake_server(endpoint);
        let http = OAuthHttp::new().unwrap();
        let r = refresh(&http, &server, &public_client(), "old", "https://r.example/", &[]).await;
        assert!(matches!(r, Err(AuthError::Unreachable { .. })), "{r:?}");
    }

    fn jwt(claims: serde_json::Value) -> String {
        use base64::Engine;
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            enc(br#"{"alg":"RS256","typ":"at+jwt"}"#),
            enc(claims.to_string().as_bytes()),
            enc(b"signature")
        )
    }

    #[test]
    fn a_jwt_access_token_for_another_audience_is_refused() {
        let resource = "https://mcp.corp.example/mcp";
        let e = check_audience(
            &jwt(serde_json::json!({"aud": "https://hr.corp.example/api"})),
            resource,
        )
        .unwrap_err();
        assert!(matches!(e, AuthError::Refused(_)), "{e}");
        assert!(e.to_string().contains("hr.corp.example"), "{e}");
        assert!(check_audience(&jwt(serde_json::json!({"aud": ["api://default"]})), resource).is_err());
    }

    #[test]
    fn a_jwt_for_this_resource_an_opaque_token_and_a_jwt_without_aud_pass() {
        let resource = "https://mcp.corp.example/mcp";
        for aud in [
            serde_json::json!("https://mcp.corp.example/mcp"),
            serde_json::json!("https://mcp.corp.example/mcp/"),
            serde_json::json!(["other", "https://mcp.corp.example/"]),
        ] {
            assert!(
                check_audience(&jwt(serde_json::json!({ "aud": aud })), resource).is_ok(),
                "{aud}"
            );
        }
        assert!(check_audience(&jwt(serde_json::json!({"sub": "ann"})), resource).is_ok());
        assert!(check_audience("opaque-token-value", resource).is_ok());
        assert!(check_audience("a.b.c", resource).is_ok(), "not base64 JSON: not a JWT");
    }

    fn response(json: &str) -> BasicTokenResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_token_set_keeps_the_old_refresh_token_when_none_comes_back() {
        let t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer","expires_in":3600}"#),
            Some("old-rt"),
            &fake_server("https://as/token".into()),
            "c",
            "https://x/mcp",
        );
        assert_eq!(t.refresh_token.as_deref(), Some("old-rt"));
        assert!(!t.expires_within(300));
        assert!(t.expires_within(3600));
        let t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer","refresh_token":"new","scope":"x y"}"#),
            Some("old"),
            &fake_server("https://as/token".into()),
            "c",
            "r",
        );
        assert_eq!(t.refresh_token.as_deref(), Some("new"));
        assert_eq!(t.scope.as_deref(), Some("x y"));
        assert_eq!(t.remaining(), None);
    }

    #[test]
    fn a_lifetime_too_long_for_the_clock_means_never_expiring_rather_than_an_overflow() {
        // Found by the `token_response` fuzz target: expires_in of u64::MAX
        // (or i64::MAX, which the normaliser saturates a larger one to)
        // overflowed `obtained_at + expires_in`.
        for lifetime in [u64::MAX.to_string(), i64::MAX.to_string()] {
            let t = TokenSet::from_response(
                &response(&format!(
                    r#"{{"access_token":"a","token_type":"bearer","expires_in":{lifetime}}}"#
                )),
                None,
                &fake_server("https://as/token".into()),
                "c",
                "r",
            );
            assert_eq!(t.expires_at, Some(i64::MAX));
            assert!(!t.expires_within(300));
        }
        let mut t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer"}"#),
            None,
            &fake_server("https://as/token".into()),
            "c",
            "r",
        );
        t.expires_at = Some(i64::MIN);
        assert!(t.expires_within(0));
    }

    #[test]
    fn a_token_set_never_prints_its_tokens() {
        let t = TokenSet::from_response(
            &response(r#"{"access_token":"SECRET-A","token_type":"bearer","refresh_token":"SECRET-R"}"#),
            None,
            &fake_server("https://as/token".into()),
            "c",
            "r",
        );
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(TokenSet::from_secret(&t.to_secret()), Some(t));
    }
}
