//! A static token from the keychain: `tether add <name> <url> --bearer`.
//!
//! Owns the simplest [`TokenSource`]: a Bearer token (or API key) the user
//! gave once, read from the keychain on first use and cached. It cannot be
//! renewed, so a 401 tells the user how to store a new one; it is still
//! never written to a file or an argument (MCP Authorization 2025-11-25
//! §"Token Theft").

use crate::store::keys;
use crate::sync::lock;
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::{AccessToken, AfterUnauthorized, AuthError, TokenHeader, TokenSource};
use crate::store::secrets::Secrets;

/// A token kept in the keychain under the server's name.
pub struct StaticToken {
    server: String,
    secrets: Secrets,
    cached: Mutex<Option<AccessToken>>,
    header: TokenHeader,
}

impl StaticToken {
    /// The static token of server `server`.
    /// The token is sent in `header` (None or `Authorization`: as a Bearer
    /// token, else as it is).
    pub fn new(server: &str, secrets: Secrets, header: Option<&str>) -> Result<Self, AuthError> {
        let header = match header {
            None => TokenHeader::Bearer,
            Some(h) if h.eq_ignore_ascii_case("authorization") => TokenHeader::Bearer,
            Some(h) => TokenHeader::Named(
                http::HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| AuthError::Discovery(format!("{h:?} is not a valid header name")))?,
            ),
        };
        Ok(Self {
            server: server.to_owned(),
            secrets,
            cached: Mutex::new(None),
            header,
        })
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Option<AccessToken>, AuthError>> {
        Box::pin(async move {
            if let Some(t) = lock(&self.cached).clone() {
                return Ok(Some(t));
            }
            let secret = self
                .secrets
                .get(&keys::static_token(&self.server))
                .await?
                .ok_or_else(|| {
                    AuthError::SignInRequired(format!(
                        "no token is stored for {0}; store it with `tether add {0} <url> --bearer`",
                        self.server
                    ))
                })?;
            let token = AccessToken::new(secret.expose().to_owned());
            *lock(&self.cached) = Some(token.clone());
            Ok(Some(token))
        })
    }

    fn unauthorized<'a>(
        &'a self,
        _challenge: Option<&'a str>,
        _rejected: Option<&'a AccessToken>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>> {
        Box::pin(async move {
            Err(AuthError::SignInRequired(format!(
                "{0} refused its stored token (HTTP 401); store a new one with `tether add {0} <url> --bearer`",
                self.server
            )))
        })
    }

    fn label(&self) -> String {
        self.server.clone()
    }

    fn header(&self) -> TokenHeader {
        self.header.clone()
    }
}
