//! Signing a server out: revoke, then forget.
//!
//! Owns [`OAuthSource::logout`]: under the server's lock, revoke the refresh
//! token where the authorization server offers revocation (RFC 7009 §2.1:
//! revoking the refresh token ends the whole grant; else the access token),
//! then remove the tokens from the keychain and the facts from the state
//! file, whatever the server answered.

use tracing::warn;

use super::{OAuthSource, REFRESH_LOCK_WAIT};
use crate::auth::AuthError;
use crate::auth::discovery;
use crate::auth::discovery::AuthServer;
use crate::auth::tokens::{self, TokenSet};
use crate::store::keys;
use crate::store::lock::ServerLock;
use crate::store::state::Health;
use crate::sync::lock;

impl OAuthSource {
    /// Signs out: revokes the tokens where the server offers revocation
    /// (RFC 7009) and removes them from the keychain. Returns whether the
    /// server confirmed a revocation.
    pub async fn logout(&self) -> Result<bool, AuthError> {
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, REFRESH_LOCK_WAIT).await?;
        let stored = self.read_stored(true).await?;
        let facts = self.state.server(&self.key)?;
        let mut revoked = false;
        if let Some(t) = &stored {
            let server = match self.cached_server(&facts) {
                Some(s) if t.refreshes_at(&s.token_endpoint) => Some(s),
                _ => discovery::authorization_server(&self.http, &t.issuer).await.ok(),
            };
            match server {
                Some(server) if revocable_by(t, &server) => match self.revoke(&server, t).await {
                    Ok(r) => revoked = r,
                    Err(e) => {
                        warn!(server = %self.label, error = %e, "revocation failed; the tokens are removed anyway")
                    }
                },
                Some(_) => warn!(
                    server = %self.label,
                    "the revocation endpoint is not where the tokens came from; they are removed without it"
                ),
                None => {}
            }
        }
        self.secrets.delete(&keys::tokens(&self.key)).await?;
        self.state.update_server(&self.key, |s| {
            s.expires_at = None;
            s.has_refresh_token = false;
            s.granted_scopes = None;
            s.signed_in_at = None;
            s.token_serial += 1;
        })?;
        *lock(&self.current) = None;
        if let Some(t) = lock(&self.timer).take() {
            t.abort();
        }
        self.write_status(Health::NeedsSignIn, None);
        Ok(revoked)
    }

    /// Revokes `t` at `server` (RFC 7009): the refresh token, which ends the
    /// whole grant (§2.1), else the access token.
    async fn revoke(&self, server: &AuthServer, t: &TokenSet) -> Result<bool, AuthError> {
        let creds = self.refresh_credentials(server, t).await?;
        let (token, kind) = match &t.refresh_token {
            Some(r) => (r.as_str(), tokens::TokenKind::Refresh),
            None => (t.access_token.as_str(), tokens::TokenKind::Access),
        };
        tokens::revoke(&self.http, server, &creds, token, kind).await
    }
}

/// Whether `server`'s revocation endpoint may receive `t`'s tokens: it is
/// of the origin of the token endpoint that issued them (kept with the
/// tokens in the keychain), so edited metadata cannot collect them.
fn revocable_by(t: &TokenSet, server: &AuthServer) -> bool {
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    let issued_by = t.token_endpoint.as_deref().unwrap_or(&server.token_endpoint);
    match server.revocation_endpoint.as_deref() {
        Some(r) => origin(r).is_some_and(|o| Some(o) == origin(issued_by)),
        None => true,
    }
}
