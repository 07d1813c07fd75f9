//! Authorization as a service the transport asks for a token.
//!
//! The transport knows nothing of OAuth: before every request it asks its
//! [`TokenSource`] for the current access token, and after a 401 it hands the
//! `WWW-Authenticate` challenge back and asks whether a retry can succeed
//! (MCP Authorization 2025-11-25 §"Access Token Usage": the token goes in the
//! `Authorization` header of every request, and only to the resource server).
//! Discovery, registration, the browser flow, refresh and storage live behind
//! this trait, so the bridge can be tested without any of them.

pub mod browser;
pub mod challenge;
pub mod discovery;
pub mod flow;
pub mod http;
pub mod loopback;
pub mod registration;
pub mod source;
pub mod static_token;
pub mod tokens;

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::store::files::FileError;
use crate::store::lock::LockError;
use crate::store::secrets::StoreError;

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

/// Why no token could be had, in words a user can act on.
///
/// Failures of the layers below keep their typed source (the keychain, a
/// state file, a lock, the loopback listener); the others are refusals and
/// answers of an authorization server, whose sentence is the whole story.
/// `Clone`, because one sign-in's result is shared by every request that
/// waited for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// An authorization server or metadata URL could not be reached;
    /// `detail` says why in words (`net::describe`), never with a token.
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// An endpoint that is not https.
    #[error("{0}")]
    Insecure(String),
    /// Metadata missing or unusable.
    #[error("{0}")]
    Discovery(String),
    /// Something unsafe was refused (issuer, `iss`, `resource`, PKCE).
    #[error("{0}")]
    Refused(String),
    /// The authorization server said no.
    #[error("{0}")]
    Denied(String),
    /// Client registration failed.
    #[error("{0}")]
    Registration(String),
    /// The browser, the callback or the user.
    #[error("{0}")]
    Interaction(String),
    /// The browser was sent to the sign-in page and nobody came back in time.
    #[error("nobody completed the sign-in in the browser within {secs} s")]
    NotCompleted { secs: u64 },
    /// The loopback listener for the redirect (RFC 8252 §7.3) could not be opened.
    #[error("cannot listen on {addr} for the sign-in's redirect")]
    Listen {
        addr: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The keychain.
    #[error(transparent)]
    Keychain(#[from] StoreError),
    /// A state file.
    #[error(transparent)]
    File(Arc<FileError>),
    /// The server's cross-process lock.
    #[error(transparent)]
    Lock(Arc<LockError>),
    /// No HTTP client could be built.
    #[error(transparent)]
    Http(Arc<crate::net::ClientError>),
    /// Sign-in is needed and cannot happen here (no browser allowed).
    #[error("{0}")]
    SignInRequired(String),
}

impl From<FileError> for AuthError {
    fn from(e: FileError) -> Self {
        Self::File(Arc::new(e))
    }
}

impl From<LockError> for AuthError {
    fn from(e: LockError) -> Self {
        Self::Lock(Arc::new(e))
    }
}

impl From<crate::net::ClientError> for AuthError {
    fn from(e: crate::net::ClientError) -> Self {
        Self::Http(Arc::new(e))
    }
}

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

    /// The server answered 403 with `insufficient_scope` (RFC 6750 §3.1):
    /// sign in again for more scopes, when this source can.
    fn insufficient_scope<'a>(
        &'a self,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>> {
        let _ = challenge;
        Box::pin(async { Ok(AfterUnauthorized::SignInRequired) })
    }

    /// Signs in because a client's request needs it, once for all callers:
    /// joins the sign-in open in the browser, or starts one where no person
    /// has to be asked first; resolves when done. Sources that cannot say
    /// so.
    fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        Box::pin(async {
            Err(AuthError::SignInRequired(
                "this server's token cannot be renewed from here".into(),
            ))
        })
    }

    /// A person asked for a sign-in (the `tether_sign_in` tool): start one
    /// when none is open and the daily cap allows, and say what became of
    /// the request, quickly (the sign-in itself goes on).
    fn request_sign_in(&self) -> BoxFuture<'static, SignInNotice> {
        Box::pin(async { SignInNotice::Refused("this server's token cannot be renewed from here".into()) })
    }

    /// Resolves when a usable token is there, whoever obtained it (a sign-in
    /// this process joined, `tether login`, the app); never opens a browser.
    fn wait_for_sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        self.sign_in()
    }

    /// Where a sign-in under way waits: the authorization server's host,
    /// never the authorization URL (it carries the request's `state`).
    fn sign_in_hint(&self) -> Option<String> {
        None
    }

    /// The server's name, for messages.
    fn label(&self) -> String {
        "the server".into()
    }

    /// The header the token goes in: `Authorization: Bearer <token>` (RFC
    /// 6750 §2.1), or a named header with the token as it is (an API key).
    fn header(&self) -> TokenHeader {
        TokenHeader::Bearer
    }
}

/// What became of a person's request for a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInNotice {
    /// One was already open in the browser (at the authorization server
    /// `host`): finish it there.
    AlreadyOpen { host: Option<String> },
    /// One was started: the browser opened at `host`.
    Started { host: Option<String> },
    /// None was started, for this reason (a sentence that says what to do).
    Refused(String),
}

/// Where a token is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenHeader {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<name>: <token>`.
    Named(::http::HeaderName),
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
