//! A static token from the keychain: `tether add <name> <url> --bearer`.
//!
//! Owns the simplest [`TokenSource`]: a Bearer token (or API key) the user
//! gave once, read from the keychain on first use and cached. It cannot be
//! renewed, so a 401 tells the user how to store a new one; it is still
//! never written to a file or an argument (MCP Authorization 2025-11-25
//! §"Token Theft"). It is bound to the origin it was given for
//! (`store::bound`): a server list edited to send the name elsewhere gets a
//! refusal, not the token.

use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::{AccessToken, AfterUnauthorized, AuthError, TokenHeader, TokenSource};
use crate::store::bound;
use crate::store::keys;
use crate::store::secrets::Secrets;
use crate::sync::lock;

/// A token kept in the keychain under the server's name.
pub struct StaticToken {
    server: String,
    /// The origin of the server's URL now: the token goes only there.
    origin: String,
    secrets: Secrets,
    cached: Mutex<Option<AccessToken>>,
    header: TokenHeader,
}

impl StaticToken {
    /// The static token of server `server`.
    /// The token is sent in `header` (None or `Authorization`: as a Bearer
    /// token, else as it is).
    pub fn new(server: &str, url: &url::Url, secrets: Secrets, header: Option<&str>) -> Result<Self, AuthError> {
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
            origin: bound::origin_of(url),
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
            let key = keys::static_token(&self.server);
            let stored = self.secrets.get(&key).await?.ok_or_else(|| {
                AuthError::SignInRequired(format!(
                    "no token is stored for {0}; store it with `tether add {0} <url> --bearer`",
                    self.server
                ))
            })?;
            let item = bound::open(stored);
            match &item.to {
                Some(to) if *to != self.origin => {
                    return Err(AuthError::Refused(format!(
                        "the token of {0} was given for {to}, and {0} now points at {1}; Tether sends a token only where it was given: \
                         store it again for the new address with `tether add {0} <url> --bearer`",
                        self.server, self.origin
                    )));
                }
                Some(_) => {}
                // Stored before tokens were bound: bound now, at first use.
                None => self.secrets.set(&key, &bound::seal(&item.secret, &self.origin)).await?,
            }
            let token = AccessToken::new(item.secret.expose().to_owned());
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
