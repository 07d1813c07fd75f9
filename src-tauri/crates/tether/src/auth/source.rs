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
//! - **Locked transactions.** Refresh and sign-in take the server's
//!   cross-process lock, re-read the keychain and adopt a newer token another
//!   process already obtained; only otherwise do they talk to the
//!   authorization server. A rotated refresh token is saved before the new
//!   access token is used (OAuth 2.1 §4.3.1: reusing an old one revokes the
//!   family). Many bridges starting together open one browser window and
//!   register one client.
//! - **On 401**: adopt, else refresh once, else sign in again; `invalid_grant`
//!   drops the refresh token. **On 403 `insufficient_scope`**: sign in again
//!   for the union of the scopes held and the scopes challenged (MCP
//!   Authorization 2025-11-25 §"Step-Up Authorization Flow").
//! - **Scopes**: the challenge's, else the protected resource's
//!   `scopes_supported`, else none; plus `offline_access` when the server
//!   offers it (§"Scope Selection Strategy", SEP-2207).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};
use url::Url;

use super::challenge::{self, Challenge, split_scopes};
use super::client::OAuthHttp;
use super::discovery::{self, AuthServer};
use super::flow::{Authorization, device_sign_in};
use super::loopback::Listener;
use super::registration::{self, AuthMethod, ClientCredentials, ClientPrefs};
use super::tokens::{self, Refreshed, TokenSet, tokens_key};
use super::{AccessToken, AfterUnauthorized, AuthError, TokenSource, browser};
use crate::config::redact_url;
use crate::store::lock::ServerLock;
use crate::store::secrets::Secrets;
use crate::store::state::{ClientKind, Health, ServerState, StateDir, Status, now};

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
    /// Scopes a step-up asked for, added to the next sign-in.
    step_up: Mutex<Vec<String>>,
    refreshing: tokio::sync::Mutex<()>,
    signing_in: Mutex<Option<SignInFuture>>,
    sign_in_url: Mutex<Option<String>>,
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
    ) -> Arc<Self> {
        Arc::new_cyclic(|weak| Self {
            key: key.to_owned(),
            label: label.to_owned(),
            url,
            http: OAuthHttp::new(),
            state,
            secrets,
            settings,
            current: Mutex::new(None),
            loaded: AtomicBool::new(false),
            challenge: Mutex::new(None),
            step_up: Mutex::new(Vec::new()),
            refreshing: tokio::sync::Mutex::new(()),
            signing_in: Mutex::new(None),
            sign_in_url: Mutex::new(None),
            timer: Mutex::new(None),
            weak: weak.clone(),
        })
    }

    /// The server key (files and keychain entries are named after it).
    pub fn key(&self) -> &str {
        &self.key
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
        let key = tokens_key(&self.key);
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
    async fn save(&self, t: TokenSet, facts: impl FnOnce(&mut ServerState)) -> Result<(), AuthError> {
        self.secrets.set(&tokens_key(&self.key), &t.to_secret()).await?;
        let mut s = self.state.server(&self.key)?;
        s.url = self.url.to_string();
        s.resource = Some(t.resource.clone());
        s.issuer = Some(t.issuer.clone());
        s.client_id = Some(t.client_id.clone());
        s.granted_scopes = t.scope.clone();
        s.expires_at = t.expires_at;
        s.has_refresh_token = t.refresh_token.is_some();
        s.token_serial += 1;
        facts(&mut s);
        self.state.save_server(&self.key, &s)?;
        self.adopt(t);
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// When to refresh `t`: five minutes before expiry, or half-way through
    /// a shorter life.
    fn refresh_at(t: &TokenSet) -> Option<i64> {
        let expires = t.expires_at?;
        t.refresh_token.as_ref()?;
        let life = (expires - t.obtained_at).max(1);
        Some(expires - REFRESH_MARGIN.min(life / 2))
    }

    /// Whether `t` is too close to expiry to send: under 30 s left, or
    /// under a quarter of the lifetime of a short-lived token.
    fn stale(t: &TokenSet) -> bool {
        let Some(expires) = t.expires_at else { return false };
        let life = (expires - t.obtained_at).max(1);
        t.expires_within(SEND_MARGIN.min(life / 4))
    }

    fn schedule_refresh(&self, t: &TokenSet) {
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
            return Err(AuthError::SignInRequired(format!(
                "the sign-in to {} has expired and cannot be renewed",
                self.label
            )));
        };
        let facts = self.state.server(&self.key)?;
        let server = match self.cached_server(&facts) {
            Some(s) => s,
            None => discovery::authorization_server(&self.http, &stored.issuer).await?,
        };
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
                    &stored.issuer,
                    &stored.client_id,
                    &stored.resource,
                );
                self.save(new.clone(), |_| {}).await?;
                info!(server = %self.label, expires_in = new.remaining(), "access token refreshed");
                self.write_status(Health::SignedIn, None);
                Ok(new)
            }
            Refreshed::Rejected(why) => {
                warn!(server = %self.label, "the authorization server refused the refresh token ({why}); signing in again is needed");
                stored.refresh_token = None;
                self.save(stored, |s| s.has_refresh_token = false).await?;
                self.write_status(Health::NeedsSignIn, Some(format!("the sign-in expired ({why})")));
                Err(AuthError::SignInRequired(format!(
                    "{} refused to renew the sign-in ({why}); sign in again",
                    self.label
                )))
            }
        }
    }

    fn cached_server(&self, facts: &ServerState) -> Option<AuthServer> {
        facts
            .auth_server
            .clone()
            .filter(|s| Some(&s.issuer) == facts.issuer.as_ref())
    }

    /// The client a stored token was issued to, with its secret.
    async fn refresh_credentials(&self, server: &AuthServer, t: &TokenSet) -> Result<ClientCredentials, AuthError> {
        if let Some(pre) = &self.settings.prefs.pre_registered
            && pre.client_id == t.client_id
        {
            let method = if pre.secret.is_some() {
                secret_method(server)
            } else {
                AuthMethod::None
            };
            return Ok(ClientCredentials {
                client_id: pre.client_id.clone(),
                secret: pre.secret.clone(),
                method,
                kind: ClientKind::PreRegistered,
            });
        }
        if let Some(record) = self.state.client(&server.issuer)?
            && record.client_id == t.client_id
        {
            let secret = if record.has_secret {
                self.secrets.get(&registration::secret_key(&server.issuer)).await?
            } else {
                None
            };
            let method = match record.token_endpoint_auth_method.as_str() {
                "client_secret_basic" => AuthMethod::ClientSecretBasic,
                "client_secret_post" => AuthMethod::ClientSecretPost,
                _ => AuthMethod::None,
            };
            return Ok(ClientCredentials {
                client_id: record.client_id,
                secret,
                method,
                kind: record.kind,
            });
        }
        // A metadata document client, or one whose record is gone: a public client.
        Ok(ClientCredentials {
            client_id: t.client_id.clone(),
            secret: None,
            method: AuthMethod::None,
            kind: ClientKind::MetadataDocument,
        })
    }

    /// Signs in, once for all the callers of this process (and, through
    /// the lock, of every process).
    pub fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        let mut slot = lock(&self.signing_in);
        if let Some(f) = slot.as_ref() {
            return f.clone().boxed();
        }
        let Some(this) = self.weak.upgrade() else {
            return futures_util::future::ready(Err(AuthError::Interaction("shutting down".into()))).boxed();
        };
        // A task of its own: the sign-in goes on when the request that
        // started it gives up waiting.
        let task = tokio::spawn(async move {
            let result = this.sign_in_locked().await;
            *lock(&this.signing_in) = None;
            *lock(&this.sign_in_url) = None;
            result
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|e| Err(AuthError::Interaction(e.to_string())))
        }
        .boxed()
        .shared();
        *slot = Some(shared.clone());
        shared.boxed()
    }

    /// The URL of the sign-in under way, for a user whose browser did not open.
    pub fn sign_in_url(&self) -> Option<String> {
        lock(&self.sign_in_url).clone()
    }

    async fn sign_in_locked(&self) -> Result<(), AuthError> {
        if self.settings.interaction == Interaction::Never {
            return Err(AuthError::SignInRequired(format!(
                "{} needs sign-in: run `tether login {}`",
                self.label, self.key
            )));
        }
        self.write_status(Health::SigningIn, None);
        let wait = self.settings.auth_timeout + Duration::from_secs(30);
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, wait).await?;
        // Another process may have signed in while this one waited.
        if let Some(stored) = self.read_stored(true).await?
            && !Self::stale(&stored)
            && self.covers_step_up(&stored)
            && Some(&stored) != self.current().as_ref()
        {
            info!(server = %self.label, "signed in by another Tether process");
            self.adopt(stored);
            self.write_status(Health::SignedIn, None);
            return Ok(());
        }
        let result = self.browser_sign_in(None).await;
        match &result {
            Ok(()) => self.write_status(Health::SignedIn, None),
            Err(e) => self.write_status(Health::NeedsSignIn, Some(e.to_string())),
        }
        result
    }

    fn covers_step_up(&self, t: &TokenSet) -> bool {
        let wanted = lock(&self.step_up).clone();
        if wanted.is_empty() {
            return true;
        }
        let held = t.scope.as_deref().map(split_scopes).unwrap_or_default();
        wanted.iter().all(|w| held.contains(w))
    }

    /// Signs in now, whatever is stored (`tether login`): through the
    /// browser, or, with `pasted`, also from a redirect URL the user pastes
    /// (for a browser on another machine).
    pub async fn login(&self, pasted: Option<tokio::sync::mpsc::Receiver<String>>) -> Result<(), AuthError> {
        let wait = self.settings.auth_timeout + Duration::from_secs(30);
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, wait).await?;
        self.probe_challenge().await;
        let result = self.browser_sign_in(pasted).await;
        match &result {
            Ok(()) => self.write_status(Health::SignedIn, None),
            Err(e) => self.write_status(Health::NeedsSignIn, Some(e.to_string())),
        }
        result
    }

    async fn browser_sign_in(&self, pasted: Option<tokio::sync::mpsc::Receiver<String>>) -> Result<(), AuthError> {
        let challenge = lock(&self.challenge).clone();
        let found = discovery::discover(
            &self.http,
            &self.url,
            challenge.as_ref(),
            self.settings.resource.as_deref(),
        )
        .await?;
        let server = &found.server;
        let scopes = self.choose_scopes(challenge.as_ref(), &found);
        let listener = match self.settings.callback_port {
            Some(port) => Listener::bind_exact(port).await?,
            None => {
                let facts = self.state.server(&self.key)?;
                let preferred = registration::registered_port(&self.state, &server.issuer).or(facts.callback_port);
                Listener::bind(preferred).await?
            }
        };
        let redirect_uri = listener.redirect_uri();
        let creds = registration::client_for(
            &self.http,
            &self.state,
            &self.secrets,
            server,
            &redirect_uri,
            &scopes,
            &self.settings.prefs,
        )
        .await
        .map_err(|e| {
            if server.synthesized {
                // Nothing says this server does OAuth at all.
                AuthError::Discovery(format!(
                    "{} answered 401 but publishes no OAuth metadata (RFC 9728 or RFC 8414), and the 2025-03-26 default endpoints did not work ({e}). \
                     If the server takes a static token, pass it with --header 'Authorization: Bearer ${{TOKEN}}' or store it with `tether add <name> <url> --bearer`",
                    redact_url(&self.url)
                ))
            } else {
                e
            }
        })?;
        let authz = Authorization::new(server, &creds, &redirect_uri, &found.resource, &scopes)?;
        *lock(&self.sign_in_url) = Some(authz.url.to_string());
        self.present(&authz.url);
        let waiting = listener.wait(self.settings.auth_timeout, &self.label, authz.checker());
        let code = match pasted {
            None => waiting.await?,
            Some(mut lines) => {
                tokio::pin!(waiting);
                loop {
                    tokio::select! {
                        code = &mut waiting => break code?,
                        line = lines.recv() => match line {
                            Some(l) if l.trim().is_empty() => continue,
                            Some(l) => break authz.check_pasted(&l)?,
                            None => break (&mut waiting).await?,
                        },
                    }
                }
            }
        };
        let resp = tokens::exchange_code(
            &self.http,
            server,
            &creds,
            code,
            authz.into_verifier(),
            &redirect_uri,
            &found.resource,
        )
        .await?;
        let t = TokenSet::from_response(&resp, None, &server.issuer, &creds.client_id, &found.resource);
        let port = listener_port(&redirect_uri);
        let server = server.clone();
        self.save(t, |s| {
            s.requested_scopes = scopes.clone();
            s.signed_in_at = Some(now());
            s.callback_port = port;
            s.auth_server = Some(server);
        })
        .await?;
        lock(&self.step_up).clear();
        info!(server = %self.label, "signed in");
        Ok(())
    }

    /// What is known about this server's sign-in, for `tether status`.
    pub async fn describe_tokens(&self) -> Result<Option<TokenSet>, AuthError> {
        self.read_stored(true).await
    }

    /// Device sign-in (RFC 8628), for `tether login --device-code`.
    pub async fn device_sign_in(&self, show: impl Fn(&str, &str, Option<&str>)) -> Result<(), AuthError> {
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, self.settings.auth_timeout).await?;
        let challenge = self.probe_challenge().await;
        let found = discovery::discover(
            &self.http,
            &self.url,
            challenge.as_ref(),
            self.settings.resource.as_deref(),
        )
        .await?;
        let server = &found.server;
        let scopes = self.choose_scopes(challenge.as_ref(), &found);
        // The device grant has no redirect; a registered client still needs one.
        let creds = registration::client_for(
            &self.http,
            &self.state,
            &self.secrets,
            server,
            "http://127.0.0.1/callback",
            &scopes,
            &self.settings.prefs,
        )
        .await?;
        let resp = device_sign_in(
            &self.http,
            server,
            &creds,
            &found.resource,
            &scopes,
            show,
            self.settings.auth_timeout,
        )
        .await?;
        let t = TokenSet::from_response(&resp, None, &server.issuer, &creds.client_id, &found.resource);
        let server = server.clone();
        self.save(t, |s| {
            s.requested_scopes = scopes.clone();
            s.signed_in_at = Some(now());
            s.auth_server = Some(server);
        })
        .await
    }

    /// Whether the authorization server offers device sign-in.
    pub async fn offers_device_sign_in(&self) -> Result<bool, AuthError> {
        let challenge = self.probe_challenge().await;
        let found = discovery::discover(
            &self.http,
            &self.url,
            challenge.as_ref(),
            self.settings.resource.as_deref(),
        )
        .await?;
        Ok(found.server.device_authorization_endpoint.is_some())
    }

    /// Asks the MCP server for its challenge (an unauthenticated POST of
    /// `initialize`), for a sign-in started by the user rather than by a 401.
    pub async fn probe_challenge(&self) -> Option<Challenge> {
        if let Some(c) = lock(&self.challenge).clone() {
            return Some(c);
        }
        let body = serde_json::json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tether", "version": env!("CARGO_PKG_VERSION")}}
        });
        let resp = reqwest::Client::new()
            .post(self.url.clone())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(15))
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        let values: Vec<String> = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let c = challenge::parse(values.iter().map(String::as_str));
        if c.is_some() {
            *lock(&self.challenge) = c.clone();
        }
        c
    }

    /// MCP 2025-11-25 §"Scope Selection Strategy", plus step-up scopes and
    /// `offline_access` when the authorization server offers it.
    fn choose_scopes(&self, challenge: Option<&Challenge>, found: &discovery::Discovered) -> Vec<String> {
        let mut scopes: Vec<String> = if let Some(s) = &self.settings.scopes {
            s.clone()
        } else if let Some(c) = challenge.filter(|c| c.scope.is_some()) {
            c.scopes()
        } else {
            found
                .protected_resource
                .as_ref()
                .and_then(|p| p.scopes_supported.clone())
                .unwrap_or_default()
        };
        let facts = self.state.server(&self.key).unwrap_or_default();
        let step_up = lock(&self.step_up).clone();
        if !step_up.is_empty() {
            // The union of what was held and what is asked for (SEP-2350).
            for s in facts.requested_scopes.iter().chain(step_up.iter()) {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
        }
        if found
            .server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == "offline_access"))
            && !scopes.iter().any(|s| s == "offline_access")
        {
            scopes.push("offline_access".into());
        }
        scopes
    }

    fn present(&self, url: &Url) {
        let shown = url.as_str();
        match self.settings.interaction {
            Interaction::Browser => match browser::open(url) {
                Ok(()) => {
                    info!(server = %self.label, "opened the browser to sign in; if it did not open, visit: {shown}")
                }
                Err(e) => warn!(server = %self.label, "{e}; to sign in, open this URL in a browser: {shown}"),
            },
            Interaction::PrintUrl | Interaction::Never => {
                info!(server = %self.label, "to sign in, open this URL in a browser: {shown}");
            }
        }
    }

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
                Some(s) => Some(s),
                None => discovery::authorization_server(&self.http, &t.issuer).await.ok(),
            };
            if let Some(server) = server {
                let creds = self.refresh_credentials(&server, t).await?;
                // Revoking the refresh token ends the whole grant (RFC 7009 §2.1).
                let (token, kind) = match &t.refresh_token {
                    Some(r) => (r.as_str(), tokens::TokenKind::Refresh),
                    None => (t.access_token.as_str(), tokens::TokenKind::Access),
                };
                match tokens::revoke(&self.http, &server, &creds, token, kind).await {
                    Ok(r) => revoked = r,
                    Err(e) => {
                        warn!(server = %self.label, error = %e, "revocation failed; the tokens are removed anyway")
                    }
                }
            }
        }
        self.secrets.delete(&tokens_key(&self.key)).await?;
        let mut s = facts;
        s.expires_at = None;
        s.has_refresh_token = false;
        s.granted_scopes = None;
        s.signed_in_at = None;
        s.token_serial += 1;
        self.state.save_server(&self.key, &s)?;
        *lock(&self.current) = None;
        if let Some(t) = lock(&self.timer).take() {
            t.abort();
        }
        self.write_status(Health::NeedsSignIn, None);
        Ok(revoked)
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

    /// Shown in logs and messages: the server and its URL.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.label, redact_url(&self.url))
    }
}

fn secret_method(server: &AuthServer) -> AuthMethod {
    match server.token_endpoint_auth_methods_supported.as_deref() {
        Some(m) if !m.iter().any(|x| x == "client_secret_basic") && m.iter().any(|x| x == "client_secret_post") => {
            AuthMethod::ClientSecretPost
        }
        _ => AuthMethod::ClientSecretBasic,
    }
}

fn listener_port(redirect_uri: &str) -> Option<u16> {
    Url::parse(redirect_uri).ok()?.port()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
            info!(server = %self.label, "the server asks for more scopes; signing in again");
            self.sign_in().await?;
            Ok(AfterUnauthorized::Retry)
        })
    }

    fn sign_in(&self) -> BoxFuture<'static, Result<(), AuthError>> {
        OAuthSource::sign_in(self)
    }

    fn sign_in_hint(&self) -> Option<String> {
        self.sign_in_url()
    }

    fn label(&self) -> String {
        self.label.clone()
    }
}
