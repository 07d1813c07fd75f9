//! One server's sign-in, kept alive: the [`TokenSource`] the transport asks.
//!
//! Owns the life of a server's tokens across requests and processes:
//!
//! - **Lazy.** Nothing touches the keychain until the server asks for a
//!   token (a 401) or the state file says a token exists, so a public server
//!   costs nothing.
//! - **Refresh before expiry.** A timer refreshes when less than five
//!   minutes are left (half the lifetime for tokens that live under ten
//!   minutes), not only on the next request; a token about to expire is
//!   refreshed before it is sent.
//! - **Locked transactions.** Refresh and the saving of a sign-in's tokens
//!   take the server's cross-process lock, re-read the keychain and adopt a
//!   newer token another process already obtained; only otherwise do they
//!   talk to the authorization server, and a write that would drop tokens is
//!   made only over the tokens it was decided on (compare, then write). A
//!   rotated refresh token is saved before the new access token is used
//!   (OAuth 2.1 §4.3.1: reusing an old one revokes the family).
//! - **One sign-in per server, machine-wide** ([`broker`]). The browser
//!   sign-in runs in one process, the broker, which holds the server's
//!   broker lock (`store::sign_in`) until it ends: a detached `tether
//!   sign-in-broker` a bridge started, or `tether login` (which the app
//!   runs). Every other bridge, `tether token` and the app join it by
//!   watching for its token; the tab the person is looking at keeps working
//!   when the bridge that asked for it is gone. Nothing opens the browser by
//!   itself after a sign-in was ignored or ended in the background: then a
//!   person starts the next one (`store::sign_in::Board::may_start`).
//! - **On 401**: adopt, else refresh once, else sign in again; `invalid_grant`
//!   drops the refresh token. **On 403 `insufficient_scope`**: sign in again
//!   for the union of the scopes held and the scopes challenged (MCP
//!   Authorization 2025-11-25 §"Step-Up Authorization Flow").
//! - **Scopes**: the challenge's, else the protected resource's
//!   `scopes_supported`, else none; plus `offline_access` when the server
//!   offers it (§"Scope Selection Strategy", SEP-2207).
//!
//! This module holds the state and the [`TokenSource`] answers; the work is
//! split by concern: [`refresh`] (the timer and the locked refresh
//! transaction), [`broker`] (starting, running and joining the one sign-in),
//! [`sign_in`] (the browser, pasted and device flows themselves) and
//! [`logout`] (revoke and forget).

mod broker;
mod logout;
mod refresh;
mod sign_in;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{BoxFuture, Shared};
use tokio::task::AbortHandle;
use tracing::{debug, info};
use url::Url;

use super::challenge::{self, Challenge};
use super::http::OAuthHttp;
use super::registration::ClientPrefs;
use super::tokens::TokenSet;
use super::{AccessToken, AfterUnauthorized, AuthError, SignInNotice, TokenSource, discovery};
use crate::store::keys;
use crate::store::secrets::Secrets;
use crate::store::sign_in::Limits;
use crate::store::state::{Health, ServerFacts, StateDir, Status, now};
use crate::sync::lock;

/// Refresh this long before expiry (or at half the lifetime, if shorter).
const REFRESH_MARGIN: i64 = 300;
/// A token this close to expiry is refreshed before it is sent.
const SEND_MARGIN: i64 = 30;
/// How long a refresh may wait for another process's lock.
const REFRESH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// How a sign-in reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Open the browser (and print the URL to stderr).
    Browser,
    /// Print the URL only; the loopback listener still waits (a browser on
    /// this machine can still be used by hand).
    PrintUrl,
    /// Never sign in interactively (a token must already be there).
    Never,
}

/// Settings of one server's OAuth.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub prefs: ClientPrefs,
    /// `--resource`: the `resource` parameter to send instead of the
    /// discovered one.
    pub resource: Option<String>,
    /// Scopes to ask for instead of the discovered ones.
    pub scopes: Option<Vec<String>>,
    /// A fixed callback port (mcp-remote's positional port): used exactly.
    pub callback_port: Option<u16>,
    /// How long a browser sign-in may take.
    pub auth_timeout: Duration,
    pub interaction: Interaction,
    /// Whether to write the status file the app watches (bridges do).
    pub write_status: bool,
    /// Which process runs a browser sign-in this process starts.
    pub broker: Broker,
    /// The limits on sign-ins no person asked for.
    pub limits: Limits,
}

/// Which process runs a browser sign-in (holds its loopback listener and
/// makes its code exchange).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Broker {
    /// A task of this process, which outlives the request that started it
    /// (`tether login`, and the unit tests).
    #[default]
    InProcess,
    /// A detached `tether sign-in-broker` process, which outlives this one:
    /// `program` with `args` (the server and its OAuth flags); `--by`,
    /// `--seen`, `--challenge` and `--step-up` are added.
    Detached { program: PathBuf, args: Vec<OsString> },
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            prefs: ClientPrefs::default(),
            resource: None,
            scopes: None,
            callback_port: None,
            auth_timeout: Duration::from_secs(300),
            interaction: Interaction::Browser,
            write_status: false,
            broker: Broker::InProcess,
            limits: Limits::default(),
        }
    }
}

type SignInFuture = Shared<BoxFuture<'static, Result<(), AuthError>>>;

/// The OAuth state of one server.
pub struct OAuthSource {
    key: String,
    label: String,
    url: Url,
    http: OAuthHttp,
    state: StateDir,
    secrets: Secrets,
    settings: OAuthSettings,
    current: Mutex<Option<TokenSet>>,
    loaded: AtomicBool,
    challenge: Mutex<Option<Challenge>>,
    /// The last challenge as the server wrote it (handed to a broker).
    raw_challenge: Mutex<Option<String>>,
    /// The last access token the server refused: a sign-in is over when a
    /// usable token other than this one is held.
    refused: Mutex<Option<String>>,
    /// Scopes a step-up asked for, added to the next sign-in.
    step_up: Mutex<Vec<String>>,
    refreshing: tokio::sync::Mutex<()>,
    signing_in: Mutex<Option<SignInFuture>>,
    sign_in_host: Mutex<Option<String>>,
    timer: Mutex<Option<AbortHandle>>,
    weak: std::sync::Weak<OAuthSource>,
}

impl OAuthSource {
    /// The sign-in of server `key` (shown as `label`) at `url`.
    pub fn new(
        key: &str,
        label: &str,
        url: Url,
        state: StateDir,
        secrets: Secrets,
        settings: OAuthSettings,
    ) -> Result<Arc<Self>, AuthError> {
        let http = OAuthHttp::new()?;
        Ok(Arc::new_cyclic(|weak| Self {
            key: key.to_owned(),
            label: label.to_owned(),
            url,
            http,
            state,
            secrets,
            settings,
            current: Mutex::new(None),
            loaded: AtomicBool::new(false),
            challenge: Mutex::new(None),
            raw_challenge: Mutex::new(None),
            refused: Mutex::new(None),
            step_up: Mutex::new(Vec::new()),
            refreshing: tokio::sync::Mutex::new(()),
            signing_in: Mutex::new(None),
            sign_in_host: Mutex::new(None),
            timer: Mutex::new(None),
            weak: weak.clone(),
        }))
    }

    /// The registrar of this source's clients.
    fn registrar(&self) -> super::registration::Registrar<'_> {
        super::registration::Registrar {
            http: &self.http,
            state: &self.state,
            secrets: &self.secrets,
        }
    }

    /// The token set in memory, loading it once.
    async fn load(&self) -> Result<Option<TokenSet>, AuthError> {
        if !self.loaded.load(Ordering::Acquire) {
            if let Some(t) = self.read_stored(false).await? {
                self.adopt(t);
            }
            self.loaded.store(true, Ordering::Release);
        }
        Ok(self.current())
    }

    fn current(&self) -> Option<TokenSet> {
        lock(&self.current).clone()
    }

    async fn read_stored(&self, fresh: bool) -> Result<Option<TokenSet>, AuthError> {
        // Tokens are saved to the keychain before the state file records
        // them, so a state file without tokens means the keychain has none
        // either, and a server that never signed in never touches it.
        let facts = self.state.server(&self.key)?;
        if facts.token_serial == 0 && !facts.has_refresh_token && facts.expires_at.is_none() {
            return Ok(None);
        }
        let key = keys::tokens(&self.key);
        let value = if fresh {
            self.secrets.get_fresh(&key).await?
        } else {
            self.secrets.get(&key).await?
        };
        Ok(value
            .as_ref()
            .and_then(TokenSet::from_secret)
            .filter(|t| self.usable_here(t)))
    }

    /// A token is for this server's resource only.
    fn usable_here(&self, t: &TokenSet) -> bool {
        match &self.settings.resource {
            Some(r) => &t.resource == r,
            None => discovery::check_resource(&t.resource, &self.url).is_ok(),
        }
    }

    fn adopt(&self, t: TokenSet) {
        self.schedule_refresh(&t);
        *lock(&self.current) = Some(t);
    }

    /// Saves new tokens: keychain first (a rotated refresh token must never
    /// be lost), then the non-secret facts, then memory.
    async fn save(&self, t: TokenSet, facts: impl FnOnce(&mut ServerFacts)) -> Result<(), AuthError> {
        self.secrets.set(&keys::tokens(&self.key), &t.to_secret()).await?;
        self.state.update_server(&self.key, |s| {
            s.url = self.url.to_string();
            s.resource = Some(t.resource.clone());
            s.issuer = Some(t.issuer.clone());
            s.client_id = Some(t.client_id.clone());
            s.granted_scopes = t.scope.clone();
            s.expires_at = t.expires_at;
            s.has_refresh_token = t.refresh_token.is_some();
            s.token_serial += 1;
            facts(s);
        })?;
        self.adopt(t);
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// What is known about this server's sign-in, for `tether status`.
    pub async fn describe_tokens(&self) -> Result<Option<TokenSet>, AuthError> {
        self.read_stored(true).await
    }

    fn write_status(&self, health: Health, last_error: Option<String>) {
        if !self.settings.write_status {
            return;
        }
        let status = Status {
            server: self.key.clone(),
            health,
            expires_at: self.current().and_then(|t| t.expires_at),
            last_error,
            pid: std::process::id(),
            updated_at: now(),
        };
        if let Err(e) = self.state.write_status(&self.key, &status) {
            debug!(error = %e, "could not write the status file");
        }
    }
}

impl TokenSource for OAuthSource {
    fn token(&self) -> BoxFuture<'_, Result<Option<AccessToken>, AuthError>> {
        Box::pin(async move {
            let Some(t) = self.load().await? else { return Ok(None) };
            if Self::stale(&t) && t.refresh_token.is_some() {
                match self.refresh_transaction(Some(&t)).await {
                    Ok(new) => return Ok(Some(AccessToken::new(new.access_token))),
                    // Send the old one: the 401 it gets leads to sign-in.
                    Err(AuthError::SignInRequired(_)) => {}
                    // The authorization server is unreachable for now (the
                    // timer tries again with backoff): a token that has not
                    // expired yet may still be taken.
                    Err(AuthError::Unreachable { .. }) if !t.expires_within(0) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(self.current().map(|t| AccessToken::new(t.access_token)))
        })
    }

    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
        rejected: Option<&'a AccessToken>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>> {
        Box::pin(async move {
            if let Some(c) = challenge.and_then(|v| challenge::parse([v])) {
                *lock(&self.challenge) = Some(c);
                *lock(&self.raw_challenge) = challenge.map(str::to_owned);
            }
            if let Some(r) = rejected {
                *lock(&self.refused) = Some(r.secret().to_owned());
            }
            let seen = self.load().await?;
            if let (Some(cur), Some(r)) = (&seen, rejected)
                && cur.access_token != r.secret()
            {
                return Ok(AfterUnauthorized::Retry); // already replaced
            }
            let seen = rejected.and(seen);
            match self.refresh_transaction(seen.as_ref()).await {
                Ok(_) => Ok(AfterUnauthorized::Retry),
                Err(AuthError::SignInRequired(_)) => {
                    self.write_status(Health::NeedsSignIn, None);
                    Ok(AfterUnauthorized::SignInRequired)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn insufficient_scope<'a>(
        &'a self,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<AfterUnauthorized, AuthError>> {
        Box::pin(async move {
            let parsed = challenge.and_then(|v| challenge::parse([v])).unwrap_or_default();
            {
                let mut wanted = lock(&self.step_up);
                for s in parsed.scopes() {
                    if !wanted.contains(&s) {
                        wanted.push(s);
                    }
                }
            }
            *lock(&self.challenge) = Some(parsed);
            *lock(&self.raw_challenge) = challenge.map(str::to_owned);
            info!(server = %self.label, "the server asks for more scopes; signing in again");
            self.sign_in().await?;
            Ok(AfterUnauthorized::Retry)
        })
    }

    fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        OAuthSource::sign_in(self)
    }

    fn request_sign_in(&self) -> BoxFuture<'static, SignInNotice> {
        OAuthSource::request_sign_in(self)
    }

    fn wait_for_sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        OAuthSource::wait_for_sign_in(self)
    }

    fn sign_in_hint(&self) -> Option<String> {
        self.sign_in_host()
    }

    fn label(&self) -> String {
        self.label.clone()
    }
}
