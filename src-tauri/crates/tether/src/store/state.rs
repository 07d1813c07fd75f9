//! What Tether knows about each server that is not a secret.
//!
//! Owns the state directory: per server, the sign-in facts (issuer, client
//! id, granted scopes, expiry, whether a refresh token exists, the last
//! callback port, the server's last `initialize` answer); per authorization
//! server issuer, the registered client (MCP Authorization 2026-07-28
//! §"Client Registration": credentials are keyed by issuer and never reused
//! for another); per running bridge, a status the tray app shows. Tokens and
//! client secrets are never here: they are in the keychain (`secrets`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::files::{FileError, file_stem, read_json, write_json};
use super::lock::FileLock;
use super::oauth::{AuthServer, RegisteredClient};

/// How long a change to a server's facts waits for another's.
const FACTS_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long saving a client record may wait for another process's.
const CLIENTS_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The key of a registered client in `clients.json`: its issuer, then the
/// resource (the MCP server) it was registered for. A client is never shared
/// by two MCP servers: an identity provider remembers consent per client, so
/// a shared one would let a new server's sign-in complete on consent given
/// for another (a confused deputy). A space cannot occur in a URL, so the
/// key is unambiguous; the issuer alone is the key of older records.
pub fn client_key(issuer: &str, resource: Option<&str>) -> String {
    match resource {
        Some(r) => format!("{issuer} {r}"),
        None => issuer.to_owned(),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whether a token whose expiry is `expires_at` can still be used at `now`
/// without the user: it has not expired (or says no expiry), or a refresh
/// token can renew it. The one rule for "is it signed in?", whether the
/// token set (`tether status`) or the facts on disk (the tray) are asked.
pub fn token_usable(expires_at: Option<i64>, has_refresh_token: bool, now: i64) -> bool {
    has_refresh_token || expires_at.is_none_or(|t| t > now)
}

/// The sign-in facts of one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerFacts {
    /// The MCP endpoint these facts are about.
    pub url: String,
    /// The protected resource's `resource`, exactly as its metadata wrote it.
    pub resource: Option<String>,
    /// The authorization server's issuer.
    pub issuer: Option<String>,
    /// The client id used with that issuer.
    pub client_id: Option<String>,
    /// The scopes asked for at the last sign-in.
    pub requested_scopes: Vec<String>,
    /// The scopes the token carries (`scope` of the token response).
    pub granted_scopes: Option<String>,
    /// When the access token expires (Unix seconds).
    pub expires_at: Option<i64>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// Bumped on every token save, so a process can tell a newer token.
    pub token_serial: u64,
    /// When the user last signed in.
    pub signed_in_at: Option<i64>,
    /// The callback port that worked last time (tried first next time, so
    /// an authorization server that matches redirect URIs exactly keeps
    /// accepting the registered one).
    pub callback_port: Option<u16>,
    /// The server's last answer to `initialize`, to answer Claude in time
    /// while a first sign-in is still in the browser.
    pub initialize_result: Option<serde_json::Value>,
    /// Whether a static token is in the keychain (`tether add --bearer`).
    pub static_token: bool,
    /// The authorization server's metadata, so a refresh needs no discovery.
    pub auth_server: Option<AuthServer>,
    /// The modern MCP revision (2026-07-28 or later) the server was last
    /// found to speak; absent for a server of the 2025 handshake era.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modern_protocol: Option<String>,
}

impl ServerFacts {
    /// Whether these facts say the server is signed in at `now`: a token
    /// was stored ([`token_usable`] decides whether it still counts).
    pub fn signed_in(&self, now: i64) -> bool {
        let stored = self.signed_in_at.is_some() || self.expires_at.is_some() || self.has_refresh_token;
        stored && token_usable(self.expires_at, self.has_refresh_token, now)
    }
}

/// What a running bridge reports for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// Connected; no sign-in needed.
    Connected,
    /// Signed in and connected.
    SignedIn,
    /// The user has to sign in.
    NeedsSignIn,
    /// A browser sign-in is under way.
    SigningIn,
    /// Something failed; see `last_error`.
    Error,
}

/// The status file of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Status {
    pub server: String,
    pub health: Health,
    pub expires_at: Option<i64>,
    pub last_error: Option<String>,
    pub pid: u32,
    pub updated_at: i64,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state kept under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the cross-process locks live.
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// The servers' sign-in boards and broker locks.
    pub fn sign_ins(&self) -> super::sign_in::SignIns {
        super::sign_in::SignIns::new(&self.root)
    }

    fn server_path(&self, key: &str) -> PathBuf {
        self.root.join("servers").join(format!("{}.json", file_stem(key)))
    }

    fn clients_path(&self) -> PathBuf {
        self.root.join("clients.json")
    }

    /// The status file of `key`.
    pub fn status_path(&self, key: &str) -> PathBuf {
        self.root.join("status").join(format!("{}.json", file_stem(key)))
    }

    /// The facts about server `key` (empty when there are none yet).
    pub fn server(&self, key: &str) -> Result<ServerFacts, FileError> {
        Ok(read_json(&self.server_path(key))?.unwrap_or_default())
    }

    /// Changes the facts about server `key` with `change`, read and written
    /// under a short lock on them: a bridge remembering the server's era, a
    /// sign-in broker saving a token and the cache of `initialize` write the
    /// same file, and a plain read-then-write would lose one of them.
    pub fn update_server<R>(&self, key: &str, change: impl FnOnce(&mut ServerFacts) -> R) -> Result<R, FileError> {
        let path = self.server_path(key);
        let _held = FileLock::blocking(&self.locks(), &format!("{key}.facts"), FACTS_LOCK_WAIT).map_err(|e| {
            FileError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        let mut facts = self.server(key)?;
        let result = change(&mut facts);
        write_json(&path, &facts)?;
        Ok(result)
    }

    /// Saves the facts about server `key` whole (a server registered anew).
    pub fn save_server(&self, key: &str, state: &ServerFacts) -> Result<(), FileError> {
        write_json(&self.server_path(key), state)
    }

    /// The keys of every server with state.
    pub fn server_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(self.root.join("servers"))
            .map(|dir| {
                dir.filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .into_string()
                        .ok()?
                        .strip_suffix(".json")
                        .map(str::to_owned)
                })
                .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// Forgets server `key` (its state and status files).
    pub fn forget_server(&self, key: &str) -> Result<(), FileError> {
        for path in [self.server_path(key), self.status_path(key)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(FileError::Write { path, source }),
            }
        }
        Ok(())
    }

    /// The client registered with `issuer` for `resource` (`None`: the one
    /// client per issuer of earlier versions, kept to refresh the tokens it
    /// was given), if any.
    pub fn client(&self, issuer: &str, resource: Option<&str>) -> Result<Option<RegisteredClient>, FileError> {
        Ok(self.clients()?.remove(&client_key(issuer, resource)))
    }

    /// Every registered client, by `client_key`.
    pub fn clients(&self) -> Result<BTreeMap<String, RegisteredClient>, FileError> {
        Ok(read_json(&self.clients_path())?.unwrap_or_default())
    }

    /// Records (or, with `None`, forgets) the client of `issuer` for
    /// `resource`. The file holds every issuer's clients, so its
    /// read-modify-write is done under a lock of its own: two servers
    /// registering at once, with one issuer or two, both keep their record.
    pub fn save_client(
        &self,
        issuer: &str,
        resource: Option<&str>,
        record: Option<&RegisteredClient>,
    ) -> Result<(), FileError> {
        let path = self.clients_path();
        let _guard =
            super::lock::FileLock::blocking(&self.locks(), "clients.json", CLIENTS_LOCK_WAIT).map_err(|e| {
                FileError::Write {
                    path: path.clone(),
                    source: std::io::Error::other(e),
                }
            })?;
        let mut all = self.clients()?;
        let key = client_key(issuer, resource);
        match record {
            Some(r) => all.insert(key, r.clone()),
            None => all.remove(&key),
        };
        write_json(&path, &all)
    }

    /// Writes the status of server `key`.
    pub fn write_status(&self, key: &str, status: &Status) -> Result<(), FileError> {
        write_json(&self.status_path(key), status)
    }

    /// The status of server `key`, if a bridge wrote one.
    pub fn status(&self, key: &str) -> Result<Option<Status>, FileError> {
        read_json(&self.status_path(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::oauth::{AuthMethod, RegistrationKind};

    #[test]
    fn two_writers_changing_different_facts_at_once_lose_neither_change() {
        let root = std::env::temp_dir().join(format!("tether-state-race-{}", std::process::id()));
        let dir = StateDir::new(&root);
        // What a bridge (the era it learnt) and a sign-in broker (a token's
        // serial) do to the same file at the same time.
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for _ in 0..40 {
                        dir.update_server("srv", |s| match w {
                            0 => s.token_serial += 1,
                            _ => s.callback_port = Some(s.callback_port.unwrap_or(0) + 1),
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let facts = dir.server("srv").unwrap();
        assert_eq!((facts.token_serial, facts.callback_port), (40, Some(40)));
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn server_facts_and_clients_round_trip_and_are_keyed_by_issuer() {
        let root = std::env::temp_dir().join(format!("tether-state-{}", std::process::id()));
        let dir = StateDir::new(&root);
        assert_eq!(dir.server("linear").unwrap(), ServerFacts::default());
        let s = ServerFacts {
            url: "https://x/mcp".into(),
            expires_at: Some(5),
            ..Default::default()
        };
        dir.save_server("linear", &s).unwrap();
        assert_eq!(dir.server("linear").unwrap(), s);
        let c = RegisteredClient {
            client_id: "abc".into(),
            kind: RegistrationKind::Registered,
            token_endpoint_auth_method: AuthMethod::None,
            redirect_uris: vec!["http://127.0.0.1:1234/callback".into()],
            registered_at: 1,
            has_secret: false,
            client_secret_expires_at: None,
            token_endpoint: Some("https://as.example/token".into()),
            registration_endpoint: None,
        };
        dir.save_client("https://as.example", Some("https://a.example/mcp"), Some(&c))
            .unwrap();
        assert_eq!(
            dir.client("https://as.example", Some("https://a.example/mcp")).unwrap(),
            Some(c.clone())
        );
        assert_eq!(
            dir.client("https://as.example", Some("https://b.example/mcp")).unwrap(),
            None,
            "a client is the resource's own"
        );
        assert_eq!(dir.client("https://other.example", None).unwrap(), None);
        dir.forget_server("linear").unwrap();
        assert_eq!(dir.server("linear").unwrap(), ServerFacts::default());
        std::fs::remove_dir_all(root).unwrap();
    }
}
