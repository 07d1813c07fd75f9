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
use super::client::OAuthHttp;
use super::discovery::AuthServer;
use super::registration::{AuthMethod, ClientCredentials};
use crate::store::state::now;

/// The keychain key of a server's tokens.
pub fn tokens_key(server_key: &str) -> String {
    format!("tokens:{server_key}")
}

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
            .finish()
    }
}

impl TokenSet {
    /// Builds the set from a token response. `previous_refresh` is kept
    /// when the response has no new refresh token.
    pub fn from_response(
        resp: &BasicTokenResponse,
        previous_refresh: Option<&str>,
        issuer: &str,
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
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            resource: resource.to_owned(),
        }
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
    /// `invalid_grant`: the refresh token is expired, revoked or already used.
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
        Err(RequestTokenError::ServerResponse(e)) if *e.error() == BasicErrorResponseType::InvalidGrant => Ok(
            Refreshed::Rejected(e.error_description().cloned().unwrap_or_else(|| "invalid_grant".into())),
        ),
        Err(e) => Err(token_error(e, &server.issuer, "refreshing the access token")),
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

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
    issuer: &str,
    doing: &str,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let mut text = r.error().as_ref().to_owned();
            if let Some(d) = r.error_description() {
                text = format!("{text}: {d}");
            }
            AuthError::Denied(format!("{issuer} refused {doing} ({text})"))
        }
        RequestTokenError::Request(r) => AuthError::Unreachable(issuer.to_owned(), r.to_string()),
        RequestTokenError::Parse(p, body) => {
            let snippet: String = String::from_utf8_lossy(&body).chars().take(160).collect();
            AuthError::Denied(format!(
                "{issuer} answered {doing} with something Tether cannot read ({p}): {snippet}"
            ))
        }
        RequestTokenError::Other(o) => AuthError::Denied(format!("{issuer}: {doing} failed: {o}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(json: &str) -> BasicTokenResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_token_set_keeps_the_old_refresh_token_when_none_comes_back() {
        let t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer","expires_in":3600}"#),
            Some("old-rt"),
            "https://as",
            "c",
            "https://x/mcp",
        );
        assert_eq!(t.refresh_token.as_deref(), Some("old-rt"));
        assert!(!t.expires_within(300));
        assert!(t.expires_within(3600));
        let t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer","refresh_token":"new","scope":"x y"}"#),
            Some("old"),
            "i",
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
                "i",
                "c",
                "r",
            );
            assert_eq!(t.expires_at, Some(i64::MAX));
            assert!(!t.expires_within(300));
        }
        let mut t = TokenSet::from_response(
            &response(r#"{"access_token":"a","token_type":"bearer"}"#),
            None,
            "i",
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
            "i",
            "c",
            "r",
        );
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(TokenSet::from_secret(&t.to_secret()), Some(t));
    }
}
