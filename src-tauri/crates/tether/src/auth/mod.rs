//! Authorization as a service the transport asks for a token.
//!
//! The transport knows nothing of OAuth: before every request it asks its
//! [`TokenSource`] for the current access token, and after a 401 it hands the
//! `WWW-Authenticate` challenge back and asks whether a retry can succeed
//! (MCP Authorization 2025-11-25 §"Access Token Usage": the token goes in the
//! `Authorization` header of every request, and only to the resource server).
//! Discovery, registration, the browser flow, refresh and storage live behind
//! this trait, so the bridge can be tested without any of them.

use std::fmt;

use futures_util::future::BoxFuture;

/// An access token that prints as `[redacted]` in `Debug` and `Display`, so
/// it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The token itself, for the one place that sends it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// What to do after the server refused a token with 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterUnauthorized {
    /// A new token is ready: send the request again.
    Retry,
    /// No token can be had without the user: report that sign-in is needed.
    SignInRequired,
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// The source of bearer tokens for one MCP server.
pub trait TokenSource: Send + Sync {
    /// The token for the next request, or `None` to send it without one.
    fn token(&self) -> BoxFuture<'_, Result<Option<AccessToken>, AuthError>>;

    /// The server answered 401; `challenge` is its `WWW-Authenticate` value.
    /// `rejected` is the token that was refused, so a source shared by many
    /// requests refreshes once, not once per request.
    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
        rejected: Option<&'a AccessToken>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_never_prints_its_value() {
        let t = AccessToken::new("eyJhbGciOi.secret");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        assert_eq!(t.secret(), "eyJhbGciOi.secret");
    }
}
