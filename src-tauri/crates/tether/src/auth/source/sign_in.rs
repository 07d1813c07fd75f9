//! Signing a server in: the browser flow and the device flow.
//!
//! Owns the flows themselves, as the broker ([`super::broker`]) runs them:
//! discovery, the client identity, the scopes (MCP Authorization 2025-11-25
//! §"Scope Selection Strategy" plus step-up, SEP-2350, and `offline_access`
//! when offered, SEP-2207), the authorization request with PKCE and the
//! RFC 8252 loopback redirect (whose `/start` page leads back to it), the
//! code exchange, and the tokens saved under the server's lock. The device
//! grant (RFC 8628) serves `tether login --device-code`.

use std::io::IsTerminal;

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
use crate::store::state::now;
use crate::sync::lock;

/// What a running sign-in shows the others (the board, `store::sign_in`).
pub(super) struct Progress {
    /// The authorization server's host.
    pub host: Option<String>,
    /// The loopback listener's port.
    pub port: u16,
    /// Whether the page was put before a person.
    pub presented: bool,
}

impl OAuthSource {
    pub(super) fn covers_step_up(&self, t: &TokenSet) -> bool {
        let wanted = lock(&self.step_up).clone();
        if wanted.is_empty() {
            return true;
        }
        let held = t.scope.as_deref().map(split_scopes).unwrap_or_default();
        wanted.iter().all(|w| held.contains(w))
    }

    /// The browser flow: discovery, the client, the authorization request
    /// with PKCE and the loopback redirect (RFC 8252 §7.3), the page put
    /// before the person, the callback (or, with `pasted`, the address the
    /// browser ended on, pasted), the code exchange, the tokens kept.
    /// `progress` hears where the page is once it is shown.
    pub(super) async fn browser_sign_in(
        &self,
        pasted: Option<tokio::sync::mpsc::Receiver<String>>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(), AuthError> {
        let (found, scopes) = self.discover().await?;
        let server = &found.server;
        let mut listener = match self.settings.callback_port {
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
        listener.set_start(authz.url.as_str());
        let presented = self.present(&authz.url);
        progress(Progress {
            host: authz.url.host_str().map(str::to_owned),
            port: listener.port(),
            presented,
        });
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
        // A new sign-in replaces whatever is stored: no compare, but under
        // the server's lock, so no refresh is half-way through a write.
        let _lock = ServerLock::acquire(&self.state.locks(), &self.key, super::REFRESH_LOCK_WAIT).await?;
        self.save(t, |s| {
            s.requested_scopes = scopes;
            s.signed_in_at = Some(now());
            if callback_port.is_some() {
                s.callback_port = callback_port;
            }
            s.auth_server = Some(server);
        })
        .await?;
        // Signed in, whichever way: nothing waits for a person any more.
        if let Err(e) = self.state.sign_ins().update(&self.key, |b| b.waiting = None) {
            warn!(error = %e, "cannot clear the sign-in board");
        }
        Ok(())
    }

    /// Device sign-in (RFC 8628), for `tether login --device-code`: a
    /// sign-in of its own, so it holds the broker lock like any other.
    pub async fn device_sign_in(&self, show: impl Fn(&str, &str, Option<&str>)) -> Result<(), AuthError> {
        let boards = self.state.sign_ins();
        let Some(_held) = boards
            .take_broker_lock(&self.key, super::broker::BROKER_LOCK_WAIT)
            .await?
        else {
            return Err(self.already_open());
        };
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

    /// Adds `scopes` to those the next sign-in asks for (a step-up a bridge
    /// met, handed to the broker that signs in for it).
    pub fn ask_for_scopes(&self, scopes: &[String]) {
        let mut wanted = lock(&self.step_up);
        for s in scopes {
            if !wanted.contains(s) {
                wanted.push(s.clone());
            }
        }
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
    pub(super) fn present(&self, url: &Url) -> bool {
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
                    info!(server = %self.label, "opened the browser to sign in; if it did not open, visit: {shown}");
                    true
                }
                Err(e) => {
                    warn!(server = %self.label, "{e}; to sign in, open this URL in a browser: {shown}");
                    asked || std::io::stderr().is_terminal()
                }
            },
            Interaction::PrintUrl => {
                info!(server = %self.label, "to sign in, open this URL in a browser: {shown}");
                true
            }
            Interaction::Never => false,
        }
    }
}

fn listener_port(redirect_uri: &str) -> Option<u16> {
    Url::parse(redirect_uri).ok()?.port()
}
