//! The servers at a glance, for the tray menu and the app's window.
//!
//! Owns the summary of each server from what is on disk: the server list,
//! the non-secret state files, the status files the bridges write and the
//! sign-in boards (`store::sign_in`: a sign-in open in the browser, or one
//! that waits for a person). It
//! never reads the keychain (so the app, which is not the keychain's user,
//! never triggers a keychain prompt), and it is cheap enough to run on every
//! change a file watcher reports.

use serde::{Deserialize, Serialize};

use crate::paths::Paths;
use crate::servers::{AuthKind, Servers, ServersError};
use crate::store::state::{Health, ServerFacts, StateDir, Status, now};

/// A status bridge older than this is not trusted to be alive.
const STALE_STATUS: i64 = 24 * 3600;

/// What a user should know about one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ServerState {
    /// Nothing to do: signed in, or needs no sign-in.
    Ready,
    /// Signed in; the token expires at `expires_at` (it is refreshed).
    SignedIn { expires_at: Option<i64> },
    /// The user must sign in (never did, or the sign-in expired).
    NeedsSignIn,
    /// A sign-in is under way in the browser.
    SigningIn,
    /// The last connection or sign-in failed.
    Error { message: String },
}

/// One row of the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServerView {
    pub name: String,
    pub url: String,
    pub auth: AuthKind,
    /// The header a static token goes in, when not `Authorization`.
    pub token_header: Option<String>,
    #[serde(flatten)]
    pub state: ServerState,
    pub issuer: Option<String>,
    pub scopes: Option<String>,
    pub signed_in_at: Option<i64>,
    pub last_error: Option<String>,
    /// The MCP revision the server was last found to speak when it is the
    /// stateless one (2026-07-28) that bridges translate for a 2025-era
    /// client; `None` for a server of the 2025 handshake era (or not met).
    pub modern_protocol: Option<String>,
}

impl ServerView {
    /// The state in a few words, as the tray menu shows it:
    /// "signed in, 47 min left", "needs sign-in", "error: …".
    pub fn label(&self) -> String {
        label(&self.state, now())
    }
}

/// The state in a few words, at time `now`.
pub fn label(state: &ServerState, now: i64) -> String {
    match state {
        ServerState::Ready => "ready".into(),
        ServerState::SignedIn { expires_at: Some(t) } if *t > now => {
            format!("signed in, {} left", crate::text::duration(*t - now))
        }
        ServerState::SignedIn { .. } => "signed in".into(),
        ServerState::NeedsSignIn => "needs sign-in".into(),
        ServerState::SigningIn => "signing in…".into(),
        ServerState::Error { message } => format!("error: {}", crate::text::clip(message, 60)),
    }
}

/// The overall state, for the tray icon: the worst of all servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    Ok,
    NeedsSignIn,
    Error,
}

/// The worst state among `views`.
pub fn overall(views: &[ServerView]) -> Overall {
    let mut o = Overall::Ok;
    for v in views {
        match v.state {
            ServerState::Error { .. } => return Overall::Error,
            ServerState::NeedsSignIn => o = Overall::NeedsSignIn,
            _ => {}
        }
    }
    o
}

/// What a server's sign-in board says, as the overview needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInFacts {
    /// A sign-in is open in the browser (and its broker runs).
    pub open: bool,
    /// A sign-in is needed and only a person may start it: why.
    pub waiting: Option<String>,
}

impl SignInFacts {
    /// The board of server `key` under `state`.
    pub fn read(state: &StateDir, key: &str, now: i64) -> Self {
        let boards = state.sign_ins();
        let Ok(board) = boards.read(key) else {
            return Self::default();
        };
        Self {
            open: board.open(now).is_some() && boards.broker_running(key),
            waiting: board.waiting.map(|w| w.why),
        }
    }
}

/// The state of server `key` now, as the tray shows it (for `tether status`).
pub fn server_state(state: &StateDir, key: &str, auth: AuthKind) -> ServerState {
    let now = now();
    let facts = state.server(key).unwrap_or_default();
    let status = state
        .status(key)
        .ok()
        .flatten()
        .filter(|s| now - s.updated_at < STALE_STATUS);
    decide(auth, &facts, status.as_ref(), &SignInFacts::read(state, key, now), now)
}

/// Every named server with its state.
pub fn servers(paths: &Paths) -> Result<Vec<ServerView>, ServersError> {
    let file = Servers::new(&paths.config).load()?;
    let state = StateDir::new(&paths.state);
    let now = now();
    Ok(file
        .servers
        .into_iter()
        .map(|(name, config)| {
            let facts = state.server(&name).unwrap_or_default();
            let status = state
                .status(&name)
                .ok()
                .flatten()
                .filter(|s| now - s.updated_at < STALE_STATUS);
            let sign_in = SignInFacts::read(&state, &name, now);
            let view_state = decide(config.auth, &facts, status.as_ref(), &sign_in, now);
            let last_error = status.and_then(|s| s.last_error).or(sign_in.waiting);
            ServerView {
                url: url::Url::parse(&config.url)
                    .map_or_else(|_| config.url.clone(), |u| crate::config::redact_url(&u)),
                auth: config.auth,
                token_header: config.token_header.clone(),
                state: view_state,
                issuer: facts.issuer.clone(),
                scopes: facts.granted_scopes.clone(),
                signed_in_at: facts.signed_in_at,
                last_error,
                modern_protocol: facts.modern_protocol.clone(),
                name,
            }
        })
        .collect())
}

/// The state of a server from its settings, its facts, the last status a
/// bridge wrote and its sign-in board: a sign-in open in the browser is
/// "signing in"; one that waits for a person is "needs sign-in", whatever
/// token is still stored.
pub fn decide(
    auth: AuthKind,
    facts: &ServerFacts,
    status: Option<&Status>,
    sign_in: &SignInFacts,
    now: i64,
) -> ServerState {
    if auth == AuthKind::Oauth {
        if sign_in.open {
            return ServerState::SigningIn;
        }
        if sign_in.waiting.is_some() {
            return ServerState::NeedsSignIn;
        }
    }
    if let Some(s) = status {
        match s.health {
            Health::Error => {
                return ServerState::Error {
                    message: s
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "the last connection failed".into()),
                };
            }
            Health::SigningIn if now - s.updated_at < 600 => return ServerState::SigningIn,
            Health::NeedsSignIn if facts.expires_at.is_none() || !facts.has_refresh_token => {
                return ServerState::NeedsSignIn;
            }
            _ => {}
        }
    }
    match auth {
        AuthKind::None => ServerState::Ready,
        AuthKind::Bearer if facts.static_token => ServerState::Ready,
        AuthKind::Bearer => ServerState::NeedsSignIn,
        AuthKind::Oauth => {
            if facts.signed_in(now) {
                ServerState::SignedIn {
                    expires_at: facts.expires_at,
                }
            } else {
                ServerState::NeedsSignIn
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::ServerFacts as Facts;

    fn none() -> SignInFacts {
        SignInFacts::default()
    }

    #[test]
    fn a_sign_in_that_waits_for_a_person_shows_as_needing_sign_in_whatever_token_is_stored() {
        let f = Facts {
            has_refresh_token: true,
            expires_at: Some(5000),
            signed_in_at: Some(10),
            ..Default::default()
        };
        let waiting = SignInFacts {
            open: false,
            waiting: Some("the authorization server refused to renew the sign-in".into()),
        };
        assert_eq!(
            decide(AuthKind::Oauth, &f, None, &waiting, 1000),
            ServerState::NeedsSignIn
        );
        let open = SignInFacts {
            open: true,
            waiting: None,
        };
        assert_eq!(decide(AuthKind::Oauth, &f, None, &open, 1000), ServerState::SigningIn);
        assert_eq!(
            decide(AuthKind::None, &f, None, &waiting, 1000),
            ServerState::Ready,
            "a board says nothing about a server without OAuth"
        );
    }

    #[test]
    fn labels_say_the_state_in_a_few_words() {
        assert_eq!(
            label(
                &ServerState::SignedIn {
                    expires_at: Some(1000 + 47 * 60)
                },
                1000
            ),
            "signed in, 47 min left"
        );
        assert_eq!(
            label(
                &ServerState::SignedIn {
                    expires_at: Some(1000 + 3 * 3600)
                },
                1000
            ),
            "signed in, 3 h left"
        );
        assert_eq!(
            label(&ServerState::SignedIn { expires_at: Some(10) }, 1000),
            "signed in"
        );
        assert_eq!(label(&ServerState::NeedsSignIn, 0), "needs sign-in");
        let long = ServerState::Error {
            message: "x".repeat(100),
        };
        assert_eq!(label(&long, 0).chars().count(), "error: ".len() + 61);
    }

    #[test]
    fn an_oauth_server_is_signed_in_while_a_token_or_refresh_token_is_there() {
        let mut f = Facts {
            expires_at: Some(2000),
            ..Default::default()
        };
        assert_eq!(
            decide(AuthKind::Oauth, &f, None, &none(), 1000),
            ServerState::SignedIn { expires_at: Some(2000) }
        );
        assert_eq!(
            decide(AuthKind::Oauth, &f, None, &none(), 3000),
            ServerState::NeedsSignIn
        );
        f.has_refresh_token = true;
        assert_eq!(
            decide(AuthKind::Oauth, &f, None, &none(), 3000),
            ServerState::SignedIn { expires_at: Some(2000) }
        );
        assert_eq!(
            decide(AuthKind::Oauth, &Facts::default(), None, &none(), 0),
            ServerState::NeedsSignIn
        );
    }

    #[test]
    fn a_bridge_status_says_error_or_signing_in() {
        let status = |health, err: Option<&str>, at| Status {
            server: "x".into(),
            health,
            expires_at: None,
            last_error: err.map(str::to_owned),
            pid: 1,
            updated_at: at,
        };
        let f = Facts {
            has_refresh_token: true,
            expires_at: Some(5000),
            ..Default::default()
        };
        assert_eq!(
            decide(
                AuthKind::Oauth,
                &f,
                Some(&status(Health::Error, Some("refused"), 900)),
                &none(),
                1000
            ),
            ServerState::Error {
                message: "refused".into()
            }
        );
        assert_eq!(
            decide(
                AuthKind::Oauth,
                &f,
                Some(&status(Health::SigningIn, None, 900)),
                &none(),
                1000
            ),
            ServerState::SigningIn
        );
        assert_eq!(
            decide(
                AuthKind::Oauth,
                &f,
                Some(&status(Health::SigningIn, None, 0)),
                &none(),
                1000
            ),
            ServerState::SignedIn { expires_at: Some(5000) },
            "a sign-in that started long ago is over"
        );
    }

    #[test]
    fn the_overall_state_is_the_worst() {
        let v = |state| ServerView {
            name: "x".into(),
            url: "u".into(),
            auth: AuthKind::Oauth,
            token_header: None,
            state,
            issuer: None,
            scopes: None,
            signed_in_at: None,
            last_error: None,
            modern_protocol: None,
        };
        assert_eq!(overall(&[v(ServerState::Ready)]), Overall::Ok);
        assert_eq!(
            overall(&[v(ServerState::Ready), v(ServerState::NeedsSignIn)]),
            Overall::NeedsSignIn
        );
        assert_eq!(
            overall(&[
                v(ServerState::NeedsSignIn),
                v(ServerState::Error { message: "e".into() })
            ]),
            Overall::Error
        );
        assert_eq!(overall(&[]), Overall::Ok);
    }
}
