//! Signing a server in: the browser flow, the device flow, and `tether login`.
//!
//! Owns the interactive side of [`OAuthSource`]: one sign-in at a time per
//! process (every request that needs it shares it) and, through the server's
//! lock, per machine; adopting a sign-in another process finished meanwhile;
//! discovery, the client identity, the scopes (MCP Authorization 2025-11-25
//! §"Scope Selection Strategy" plus step-up, SEP-2350, and `offline_access`
//! when offered, SEP-2207), the authorization request with PKCE and the
//! RFC 8252 loopback redirect, and the code exchange. The device grant
//! (RFC 8628) serves `tether login --device-code`.

use std::io::IsTerminal;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::{info, warn};
use url::Url;

use super::{Interaction, OAuthSource};
use crate::auth::challenge::{Challenge, split_scopes};
use crate::auth::flow::{Authorization, device_sign_in};
use crate::auth::loopback::Listener;
use crate::auth::tokens::{self, TokenSet};
use crate::auth::{AuthError, browser, discovery, registration};
use crate::config::redact_url;
use crate::store::lock::ServerLock;
use crate::store::state::{Health, now};
use crate::sync::lock;

impl OAuthSource {
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
            *lock(&this.sign_in_host) = None;
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

    /// Where the sign-in under way waits (the authorization server's host,
    /// never the URL with its `state`), for a user whose browser did not
    /// open.
    pub fn sign_in_host(&self) -> Option<String> {
        lock(&self.sign_in_host).clone()
    }

    pub(super) async fn sign_in_locked(&self) -> Result<(), AuthError> {
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

    pub(super) fn covers_step_up(&self, t: &TokenSet) -> bool {
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
        let result = self.browser_sign_in(pasted).await;
        match &result {
            Ok(()) => self.write_status(Health::SignedIn, None),
            Err(e) => self.write_status(Health::NeedsSignIn, Some(e.to_string())),
        }
        result
    }

    pub(super) async fn browser_sign_in(
        &self,
        pasted: Option<tokio::sync::mpsc::Receiver<String>>,
    ) -> Result<(), AuthError> {
        let (found, scopes) = self.discover().await?;
        let server = &found.server;
        let listener = match self.settings.callback_port {
            Some(port) => Listener::bind_exact(port).await?,
            None => {
                let facts = self.state.server(&self.key)?;
                let preferred =
                    registration::registered_port(&self.state, &server.issuer, &found.resource).or(facts.callback_port);
                Listener::bind(preferred).await?
            }
        };
        let client = self
            .registrar()
            .client_for(
                server,
                &found.resource,
                &listener.redirect_uri(),
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
        let (creds, redirect_uri) = (client.credentials, client.redirect_uri);
        let authz = Authorization::new(server, &creds, &redirect_uri, &found.resource, &scopes)?;
        *lock(&self.sign_in_host) = authz.url.host_str().map(str::to_owned);
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
        self.signed_in(&resp, &creds, &found, scopes, listener_port(&redirect_uri))
            .await?;
        lock(&self.step_up).clear();
        info!(server = %self.label, "signed in");
        Ok(())
    }

    /// Where a sign-in starts: the challenge (from a 401, or asked for),
    /// discovery, and the scopes to ask for.
    async fn discover(&self) -> Result<(discovery::Discovered, Vec<String>), AuthError> {
        let challenge = lock(&self.challenge).clone();
        let found = discovery::discover(
            &self.http,
            &self.url,
            challenge.as_ref(),
            self.settings.resource.as_deref(),
        )
        .await?;
        let scopes = self.choose_scopes(challenge.as_ref(), &found);
        Ok((found, scopes))
    }

    /// Keeps the tokens a sign-in obtained, with what the next sign-in and
    /// refresh need (the scopes asked for, the metadata, the callback port
    /// that worked).
    async fn signed_in(
        &self,
        resp: &oauth2::basic::BasicTokenResponse,
        creds: &registration::ClientCredentials,
        found: &discovery::Discovered,
        scopes: Vec<String>,
        callback_port: Option<u16>,
    ) -> Result<(), AuthError> {
        let server = &found.server;
        let t = TokenSet::from_response(resp, None, server, &creds.client_id, &found.resource);
        tokens::check_audience(&t.access_token, &t.resource)?;
        let server = server.clone();
        self.save(t, |s| {
            s.requested_scopes = scopes;
            s.signed_in_at = Some(now());
            if callback_port.is_some() {
                s.callback_port = callback_port;
            }
            s.auth_server = Some(server);
        })
        .await
    }

    /// Device sign-in (RFC 8628), for `tether login --device-code`.
    pub async fn device_sign_in(&self, show: impl Fn(&str, &str, Option<&str>)) -> Result<(), AuthError> {
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, self.settings.auth_timeout).await?;
        let (found, scopes) = self.discover().await?;
        let server = &found.server;
        // The device grant has no redirect; a registered client still needs one.
        let creds = self
            .registrar()
            .client_for(
                server,
                &found.resource,
                "http://127.0.0.1/callback",
                &scopes,
                &self.settings.prefs,
            )
            .await?
            .credentials;
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
        self.signed_in(&resp, &creds, &found, scopes, None).await
    }

    /// Whether the authorization server offers device sign-in.
    pub async fn offers_device_sign_in(&self) -> Result<bool, AuthError> {
        let (found, _) = self.discover().await?;
        Ok(found.server.device_authorization_endpoint.is_some())
    }

    /// Takes the MCP server's challenge for a sign-in the user started (not
    /// a 401): the caller asked the server (`probe::challenge`), so the
    /// scopes and metadata it names are used as after a 401.
    pub fn set_challenge(&self, challenge: Option<Challenge>) {
        if challenge.is_some() {
            *lock(&self.challenge) = challenge;
        }
    }

    /// MCP 2025-11-25 §"Scope Selection Strategy", plus step-up scopes and
    /// `offline_access` when the authorization server offers it.
    pub(super) fn choose_scopes(&self, challenge: Option<&Challenge>, found: &discovery::Discovered) -> Vec<String> {
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

    /// Opens the browser (or not) and says where the sign-in waits. The
    /// authorization URL carries the request's `state`: it is printed whole
    /// only to a person at a terminal, or to one who asked for it (`tether
    /// login --no-browser`); a log (Claude Desktop copies a server's stderr
    /// into its own) names only the host.
    pub(super) fn present(&self, url: &Url) {
        let asked = self.settings.interaction == Interaction::PrintUrl;
        let shown = if asked || std::io::stderr().is_terminal() {
            url.to_string()
        } else {
            format!(
                "the sign-in page at {}",
                url.host_str().unwrap_or("the authorization server")
            )
        };
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
}

fn listener_port(redirect_uri: &str) -> Option<u16> {
    Url::parse(redirect_uri).ok()?.port()
}
