//! Keeping a signed-in server's access token fresh.
//!
//! Owns the refresh side of [`OAuthSource`]: when to refresh (five minutes
//! before expiry, or half-way through a shorter life, on a timer and not only
//! on the next request), when a token is too stale to send, and the refresh
//! itself as a locked read-refresh-write transaction: take the server's
//! cross-process lock, re-read the keychain, adopt a token another process
//! already obtained, and only otherwise spend the refresh token (OAuth 2.1
//! §4.3.1: a rotated refresh token used twice revokes the whole family). The
//! rotated refresh token reaches the keychain before the new access token is
//! used. `invalid_grant` drops the refresh token (RFC 6749 §5.2), and only
//! over the tokens it was refused for (compare, then write: a process that
//! lost a race never deletes the winner's tokens). A sign-in that ends here,
//! in the background (a refresh token refused, a token expired with nothing
//! to renew it), waits for a person: no browser opens by itself for it
//! (`store::sign_in`).

use std::time::Duration;

use tracing::{debug, info, warn};

use super::{OAuthSource, REFRESH_LOCK_WAIT, REFRESH_MARGIN, SEND_MARGIN};
use crate::auth::AuthError;
use crate::auth::challenge::split_scopes;
use crate::auth::discovery::{self, AuthServer};
use crate::auth::registration::{AuthMethod, ClientCredentials};
use crate::auth::tokens::{self, Refreshed, TokenSet};
use crate::store::lock::ServerLock;
use crate::store::oauth::RegistrationKind;
use crate::store::state::{Health, ServerFacts, now};
use crate::store::{bound, keys};
use crate::sync::lock;

impl OAuthSource {
    /// When to refresh `t`: five minutes before expiry, or half-way through
    /// a shorter life.
    pub(super) fn refresh_at(t: &TokenSet) -> Option<i64> {
        let expires = t.expires_at?;
        t.refresh_token.as_ref()?;
        let life = (expires - t.obtained_at).max(1);
        Some(expires - REFRESH_MARGIN.min(life / 2))
    }

    /// Whether `t` is too close to expiry to send: under 30 s left, or
    /// under a quarter of the lifetime of a short-lived token.
    pub(super) fn stale(t: &TokenSet) -> bool {
        let Some(expires) = t.expires_at else { return false };
        let life = (expires - t.obtained_at).max(1);
        t.expires_within(SEND_MARGIN.min(life / 4))
    }

    pub(super) fn schedule_refresh(&self, t: &TokenSet) {
        let Some(at) = Self::refresh_at(t) else {
            if let Some(old) = lock(&self.timer).take() {
                old.abort();
            }
            return;
        };
        let Some(this) = self.weak.upgrade() else { return };
        let seen = t.clone();
        let task = tokio::spawn(async move {
            let wait = (at - now()).max(0) as u64;
            tokio::time::sleep(Duration::from_secs(wait)).await;
            for attempt in 0..10u32 {
                match this.refresh_transaction(Some(&seen)).await {
                    Ok(_) => return, // adopt() scheduled the next one
                    Err(AuthError::SignInRequired(why)) => {
                        info!(server = %this.label, "{why}");
                        return;
                    }
                    Err(e) => {
                        warn!(server = %this.label, error = %e, attempt, "background refresh failed; retrying");
                        this.write_status(Health::Error, Some(e.to_string()));
                        tokio::time::sleep(Duration::from_secs(15u64 << attempt.min(4))).await;
                    }
                }
            }
        });
        if let Some(old) = lock(&self.timer).replace(task.abort_handle()) {
            old.abort();
        }
    }

    /// A token that may be sent now, for `tether token`: the stored one,
    /// refreshed first (under the lock) when its refresh time has come, so
    /// that a client holding it for a while does not hold a token about to
    /// expire; `None` when only a sign-in can give one.
    pub async fn fresh_token(&self) -> Result<Option<crate::auth::AccessToken>, AuthError> {
        let Some(t) = self.load().await? else { return Ok(None) };
        if Self::refresh_at(&t).is_some_and(|at| at <= now()) {
            match self.refresh_transaction(Some(&t)).await {
                Ok(_) => {}
                // Refused: the grant is over, and its access token with it.
                Err(AuthError::SignInRequired(_)) => return Ok(None),
                Err(AuthError::Unreachable { .. }) if !t.expires_within(0) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self
            .current()
            .filter(|t| !t.expires_within(0))
            .map(|t| crate::auth::AccessToken::new(t.access_token)))
    }

    /// Refresh as a locked transaction. `seen` is the token the caller has
    /// (and found wanting); a different, fresher token in the keychain is
    /// adopted instead of refreshing.
    pub async fn refresh_transaction(&self, seen: Option<&TokenSet>) -> Result<TokenSet, AuthError> {
        let _one = self.refreshing.lock().await;
        let fresh_enough = |t: &TokenSet| !Self::stale(t) && Self::refresh_at(t).is_none_or(|at| at > now());
        if let Some(cur) = self.current()
            && seen.is_none_or(|s| s.access_token != cur.access_token)
            && fresh_enough(&cur)
        {
            return Ok(cur); // refreshed by another task of this process
        }
        let facts = self.state.server(&self.key)?;
        if facts.token_serial == 0 && !facts.has_refresh_token && facts.expires_at.is_none() {
            // Never signed in: nothing to refresh, and no lock to wait for.
            return Err(AuthError::SignInRequired(format!("{} needs sign-in", self.label)));
        }
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, REFRESH_LOCK_WAIT).await?;
        let stored = self.read_stored(true).await?;
        if let Some(s) = &stored
            && seen.is_none_or(|seen| seen.access_token != s.access_token)
            && fresh_enough(s)
        {
            debug!(server = %self.label, "adopting a token another process obtained");
            self.adopt(s.clone());
            self.write_status(Health::SignedIn, None);
            return Ok(s.clone());
        }
        let Some(mut stored) = stored else {
            return Err(AuthError::SignInRequired(format!("{} needs sign-in", self.label)));
        };
        let Some(refresh_token) = stored.refresh_token.clone() else {
            if stored.expires_within(0) {
                // The sign-in ran out, with nothing to renew it: a person
                // starts the next one.
                self.wait_for_person("the sign-in expired and the server gave nothing to renew it");
            }
            return Err(AuthError::SignInRequired(format!(
                "the sign-in to {} has expired and cannot be renewed; {}",
                self.label,
                self.how_to_sign_in()
            )));
        };
        let facts = self.state.server(&self.key)?;
        let server = match self.cached_server(&facts) {
            Some(s) if stored.refreshes_at(&s.token_endpoint) => s,
            // None kept, or one that disagrees with the tokens (the state file
            // is anyone's to edit): ask the issuer the tokens came from.
            _ => discovery::authorization_server(&self.http, &stored.issuer).await?,
        };
        if !stored.refreshes_at(&server.token_endpoint) {
            // The refresh token goes back only where it came from: a state
            // file or metadata that now names another endpoint does not get
            // it (`TokenSet::token_endpoint`, kept in the keychain).
            return Err(self.moved_endpoint(stored.token_endpoint.as_deref(), &server.token_endpoint));
        }
        let creds = self.refresh_credentials(&server, &stored).await?;
        let scopes = stored
            .scope
            .as_deref()
            .map(split_scopes)
            .unwrap_or_else(|| facts.requested_scopes.clone());
        match tokens::refresh(&self.http, &server, &creds, &refresh_token, &stored.resource, &scopes).await? {
            Refreshed::Tokens(resp) => {
                let new = TokenSet::from_response(
                    &resp,
                    Some(&refresh_token),
                    &server,
                    &stored.client_id,
                    &stored.resource,
                );
                tokens::check_audience(&new.access_token, &new.resource)?;
                self.save(new.clone(), |_| {}).await?;
                info!(server = %self.label, expires_in = new.remaining(), "access token refreshed");
                self.write_status(Health::SignedIn, None);
                Ok(new)
            }
            Refreshed::Rejected(why) => {
                warn!(server = %self.label, "the authorization server refused the refresh token ({why}); signing in again is needed");
                // Compare, then write: only the tokens this refusal was for
                // lose their refresh token. Another process's newer tokens
                // (a sign-in, a refresh that won a race) are adopted as they
                // are, never overwritten.
                let now_stored = self.read_stored(true).await?;
                if now_stored.as_ref() != Some(&stored) {
                    if let Some(t) = now_stored.filter(|t| !Self::stale(t)) {
                        self.adopt(t.clone());
                        return Ok(t);
                    }
                    return Err(AuthError::SignInRequired(format!("{} needs sign-in", self.label)));
                }
                stored.refresh_token = None;
                self.save(stored, |s| s.has_refresh_token = false).await?;
                self.wait_for_person("the authorization server refused to renew the sign-in");
                self.write_status(Health::NeedsSignIn, Some(format!("the sign-in expired ({why})")));
                Err(AuthError::SignInRequired(format!(
                    "{} refused to renew the sign-in ({why}); {}",
                    self.label,
                    self.how_to_sign_in()
                )))
            }
        }
    }

    /// Notes on the board that the next sign-in needs a person.
    fn wait_for_person(&self, why: &str) {
        let at = now();
        if let Err(e) = self.state.sign_ins().update(&self.key, |b| b.wait_for_person(at, why)) {
            warn!(error = %e, "cannot record that the sign-in needs a person");
        }
    }

    pub(super) fn cached_server(&self, facts: &ServerFacts) -> Option<AuthServer> {
        facts
            .auth_server
            .clone()
            .filter(|s| Some(&s.issuer) == facts.issuer.as_ref())
    }

    /// The refusal to send a client secret to a token endpoint it was not
    /// given for (the metadata or the state file now names another).
    fn moved_endpoint(&self, was: Option<&str>, now: &str) -> AuthError {
        AuthError::Refused(format!(
            "the client of {} was registered for the token endpoint {}, and the metadata now names {now}; \
             its secret is not sent there: sign in again with `tether login {}`",
            self.label,
            was.unwrap_or("another one"),
            self.key
        ))
    }

    /// The client a stored token was issued to, with its secret.
    pub(super) async fn refresh_credentials(
        &self,
        server: &AuthServer,
        t: &TokenSet,
    ) -> Result<ClientCredentials, AuthError> {
        if let Some(pre) = &self.settings.prefs.pre_registered
            && pre.client_id == t.client_id
        {
            return Ok(pre.credentials(server));
        }
        // The client registered for this resource, or (tokens from before
        // clients were per resource) the issuer's one shared client.
        for resource in [Some(t.resource.as_str()), None] {
            let Some(record) = self.state.client(&server.issuer, resource)? else {
                continue;
            };
            if record.client_id != t.client_id {
                continue;
            }
            if record
                .token_endpoint
                .as_deref()
                .is_some_and(|e| e != server.token_endpoint)
            {
                return Err(self.moved_endpoint(record.token_endpoint.as_deref(), &server.token_endpoint));
            }
            let secret = if record.has_secret {
                let key = keys::issuer_client_secret(&server.issuer, resource);
                match self.secrets.get(&key).await?.map(bound::open) {
                    Some(b) if b.to.is_none() => {
                        // Kept before secrets were bound: bound now, at first use.
                        self.secrets
                            .set(&key, &bound::seal(&b.secret, &server.token_endpoint))
                            .await?;
                        Some(b.secret)
                    }
                    Some(b) if b.allows(&server.token_endpoint) => Some(b.secret),
                    Some(b) => return Err(self.moved_endpoint(b.to.as_deref(), &server.token_endpoint)),
                    None => None,
                }
            } else {
                None
            };
            return Ok(ClientCredentials {
                client_id: record.client_id,
                secret,
                method: record.token_endpoint_auth_method,
                kind: record.kind,
            });
        }
        // A metadata document client, or one whose record is gone: a public client.
        Ok(ClientCredentials {
            client_id: t.client_id.clone(),
            secret: None,
            method: AuthMethod::None,
            kind: RegistrationKind::MetadataDocument,
        })
    }
}
