//! Each server's sign-in, as `tether status` shows it.
//!
//! Owns the status row: what a server is, whether it is signed in (one rule,
//! `store::state::token_usable`, the same the tray uses), its issuer,
//! client, scopes and expiry, a masked token and where it is kept (as
//! `gh auth status` shows it: the first and last characters only), and what
//! its bridge last reported. The row serializes for `--json` and prints
//! itself for people.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ManageError;
use crate::auth::source::Interaction;
use crate::auth::tokens::TokenSet;
use crate::config::redact_url;
use crate::paths::Paths;
use crate::profile::{OAuthOverrides, Profile};
use crate::servers::{AuthKind, Servers};
use crate::store::state::{StateDir, Status, now, token_usable};
use crate::store::{bound, keys};
use crate::text;

/// One server's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServerStatus {
    pub name: String,
    /// Query values masked.
    pub url: String,
    pub auth: AuthKind,
    pub signed_in: bool,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Seconds left, when the token says.
    pub expires_in: Option<i64>,
    pub has_refresh_token: bool,
    /// The token, masked (`eyJh…sig`); never whole.
    pub access_token: Option<String>,
    /// The keychain that holds it.
    pub stored_in: Option<String>,
    /// What the server's bridge last reported.
    pub bridge: Option<Status>,
    /// The state as the tray shows it (`overview::decide`): "needs-sign-in"
    /// when a sign-in waits for a person, "signing-in" while one is open.
    #[serde(flatten)]
    pub state: crate::overview::ServerState,
}

/// The servers `tether status` shows: `only`, else every named server, then
/// every server used by URL (`tether run https://…`).
pub fn status_targets(paths: &Paths, only: Option<&str>) -> Result<Vec<String>, ManageError> {
    if let Some(s) = only {
        return Ok(vec![s.to_owned()]);
    }
    let file = Servers::new(&paths.config).load()?;
    let state = StateDir::new(&paths.state);
    let mut names: Vec<String> = file.servers.keys().cloned().collect();
    for key in state.server_keys() {
        if key.starts_with("url-")
            && let Ok(s) = state.server(&key)
            && !s.url.is_empty()
        {
            names.push(s.url);
        }
    }
    Ok(names)
}

/// The status of one server. Reads the keychain only for a server whose
/// facts say a token is there.
pub async fn server_status(profile: &Profile) -> Result<ServerStatus, ManageError> {
    let state = profile.state();
    let facts = state.server(&profile.key)?;
    let bridge = state.status(&profile.key)?;
    let stored: Option<TokenSet> = match profile.config.auth {
        AuthKind::Oauth if facts.token_serial > 0 || facts.expires_at.is_some() => {
            let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, false)?;
            source.describe_tokens().await.unwrap_or_default()
        }
        _ => None,
    };
    let static_token = match profile.config.auth {
        AuthKind::Bearer => profile
            .secrets
            .get(&keys::static_token(&profile.key))
            .await
            .ok()
            .flatten()
            // The item keeps where the token may go beside it (store::bound):
            // the token is what is masked.
            .map(|v| bound::open(v).secret),
        _ => None,
    };
    let signed_in = match profile.config.auth {
        AuthKind::Oauth => stored
            .as_ref()
            .is_some_and(|t| token_usable(t.expires_at, t.refresh_token.is_some(), now())),
        AuthKind::Bearer => static_token.is_some(),
        AuthKind::None => true,
    };
    let held = stored.is_some() || static_token.is_some();
    Ok(ServerStatus {
        name: profile.key.clone(),
        url: redact_url(&profile.url),
        auth: profile.config.auth,
        signed_in,
        issuer: facts.issuer,
        client_id: facts.client_id,
        scopes: stored.as_ref().and_then(|t| t.scope.clone()).or(facts.granted_scopes),
        expires_at: stored.as_ref().and_then(|t| t.expires_at).or(facts.expires_at),
        expires_in: stored.as_ref().and_then(TokenSet::remaining),
        has_refresh_token: stored.as_ref().is_some_and(|t| t.refresh_token.is_some()),
        access_token: stored
            .as_ref()
            .map(|t| text::mask(&t.access_token))
            .or(static_token.as_ref().map(|t| text::mask(t.expose()))),
        stored_in: held.then(|| profile.secrets.describe()),
        bridge,
        state: crate::overview::server_state(&state, &profile.key, profile.config.auth),
    })
}

impl fmt::Display for ServerStatus {
    /// The row for people: the server, its sign-in, then what is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({})", self.name, self.url)?;
        let token = self.access_token.as_deref().unwrap_or("");
        match (self.auth, self.signed_in) {
            (AuthKind::None, _) => writeln!(f, "  no sign-in needed")?,
            (AuthKind::Bearer, true) => writeln!(f, "  static token {token}")?,
            (AuthKind::Bearer, false) => writeln!(f, "  static token missing: `tether add <name> <url> --bearer`")?,
            (AuthKind::Oauth, true) => {
                let expires = match self.expires_in {
                    None => "no expiry given".to_owned(),
                    Some(s) if s > 0 => format!("expires in {}", text::duration(s)),
                    Some(_) => "expired (refreshes on next use)".to_owned(),
                };
                writeln!(f, "  signed in, token {token} ({expires})")?;
            }
            (AuthKind::Oauth, false) => writeln!(f, "  not signed in: `tether login {}`", self.name)?,
        }
        match (&self.state, self.signed_in) {
            (crate::overview::ServerState::SigningIn, _) => writeln!(f, "  a sign-in is open in the browser")?,
            (crate::overview::ServerState::NeedsSignIn, true) => {
                writeln!(f, "  needs you to sign in again: `tether login {}`", self.name)?;
            }
            _ => {}
        }
        for (label, value) in [
            ("issuer", &self.issuer),
            ("client", &self.client_id),
            ("scopes", &self.scopes),
            ("stored in", &self.stored_in),
        ] {
            if let Some(v) = value {
                writeln!(f, "  {label}: {v}")?;
            }
        }
        if let Some(b) = &self.bridge {
            let health = serde_json::to_value(b.health)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            writeln!(f, "  bridge: {health} ({} ago)", text::duration(now() - b.updated_at))?;
            if let Some(e) = &b.last_error {
                writeln!(f, "  last error: {e}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(auth: AuthKind, signed_in: bool) -> ServerStatus {
        ServerStatus {
            name: "linear".into(),
            url: "https://mcp.linear.app/mcp".into(),
            auth,
            signed_in,
            issuer: Some("https://linear.app".into()),
            client_id: None,
            scopes: Some("read".into()),
            expires_at: None,
            expires_in: Some(47 * 60),
            has_refresh_token: true,
            access_token: Some("eyJh…sig".into()),
            stored_in: Some("Secret Service".into()),
            bridge: None,
            state: crate::overview::ServerState::Ready,
        }
    }

    #[test]
    fn a_signed_in_row_says_so_with_the_masked_token_and_the_time_left() {
        let text = row(AuthKind::Oauth, true).to_string();
        assert_eq!(
            text,
            "linear (https://mcp.linear.app/mcp)\n  signed in, token eyJh…sig (expires in 47 min)\n  issuer: https://linear.app\n  scopes: read\n  stored in: Secret Service\n"
        );
    }

    #[test]
    fn a_row_that_is_not_signed_in_says_what_to_run() {
        let text = row(AuthKind::Oauth, false).to_string();
        assert!(text.contains("not signed in: `tether login linear`"), "{text}");
        let text = row(AuthKind::Bearer, false).to_string();
        assert!(text.contains("static token missing"), "{text}");
    }

    #[test]
    fn a_token_still_stored_whose_sign_in_waits_for_a_person_says_to_sign_in_again() {
        let mut r = row(AuthKind::Oauth, true);
        r.state = crate::overview::ServerState::NeedsSignIn;
        let text = r.to_string();
        assert!(
            text.contains("needs you to sign in again: `tether login linear`"),
            "{text}"
        );
        r.state = crate::overview::ServerState::SigningIn;
        assert!(r.to_string().contains("a sign-in is open in the browser"));
    }
}
