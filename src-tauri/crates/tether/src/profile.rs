//! The server a command is about, as the user named it: a URL
//! (`tether run https://…`, mcp-remote's way) or a name from the server list
//! (`tether run linear`).
//!
//! Owns the mapping from that name to everything the rest of Tether keys by
//! it: the server's settings, the key its state files and keychain entries
//! are named after, the keychain (namespaced by `TETHER_HOME`), and the OAuth
//! source built from the settings a user gave on the command line, in the
//! server list, or globally (in that order).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::registration::{ClientPrefs, PreRegistered};
use crate::auth::source::{Broker, Interaction, OAuthSettings, OAuthSource};
use crate::auth::static_token::StaticToken;
use crate::auth::{AuthError, TokenSource};
use crate::config::{self, ConfigError, ProtocolMode, RunConfig, TransportMode};
use crate::logging::{self, LogLevel};
use crate::paths::Paths;
use crate::servers::{AuthKind, ServerConfig, ServerRef, Servers, ServersError, Settings, key_for_url};
use crate::store::secrets::{LazyKeychain, Secret, Secrets};
use crate::store::state::StateDir;
use crate::store::{bound, keys};
use crate::transport::{EraMemory, InitializeCache};

/// One server, resolved.
#[derive(Clone)]
pub struct Profile {
    /// Files and keychain entries are named after it.
    pub key: String,
    /// Shown to the user.
    pub label: String,
    pub url: Url,
    pub config: ServerConfig,
    /// Whether it came from the server list.
    pub named: bool,
    pub settings: Settings,
    pub paths: Paths,
    pub secrets: Secrets,
}

impl Profile {
    /// Resolves `arg` (a URL or a server name).
    pub fn resolve(arg: &str, paths: &Paths) -> Result<Self, ServersError> {
        let server = ServerRef::parse(arg)?;
        let file = Servers::new(&paths.config).load()?;
        let secrets = secrets_for(paths);
        match server {
            ServerRef::Url(url) => Ok(Self {
                key: key_for_url(&url),
                label: url.host_str().unwrap_or(arg).to_owned(),
                config: ServerConfig {
                    url: arg.to_owned(),
                    ..Default::default()
                },
                url,
                named: false,
                settings: file.settings,
                paths: paths.clone(),
                secrets,
            }),
            ServerRef::Name(name) => {
                let config = file
                    .servers
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| ServersError::Unknown(name.clone()))?;
                let url = Url::parse(&config.url).map_err(|_| ServersError::BadUrl(config.url.clone()))?;
                Ok(Self {
                    label: name.clone(),
                    key: name,
                    url,
                    config,
                    named: true,
                    settings: file.settings,
                    paths: paths.clone(),
                    secrets,
                })
            }
        }
    }

    /// Everything a bridge to this server needs: the URL (checked against
    /// the URL policy), the headers of the server's settings, then of
    /// `--header-file`, then of `--header` (`${VAR}` expanded from `env`),
    /// the transport (the command line's, else the settings'), the limits.
    pub fn run_config(
        &self,
        run: &RunSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RunConfig, ConfigError> {
        let url = config::parse_url(self.url.as_str(), run.allow_http || self.config.allow_http)?;
        let mut headers = Vec::new();
        for line in &self.config.headers {
            headers.push(config::parse_header(line, env)?);
        }
        if let Some(path) = &run.header_file {
            headers.extend(config::parse_header_file(path, env)?);
        }
        for line in &run.headers {
            headers.push(config::parse_header(line, env)?);
        }
        Ok(RunConfig {
            url,
            headers,
            transport: run.transport.or(self.config.transport).unwrap_or_default(),
            protocol: run.protocol,
            max_message_size: run.max_message_size,
            request_timeout: run.request_timeout,
            connect_timeout: run.connect_timeout,
            sign_in_wait: run.sign_in_wait,
        })
    }

    /// The log file of this server's bridges: `<name>.log` for a named
    /// server (the app's Logs view reads it), `run-<host>.log` by URL.
    pub fn log_file(&self) -> PathBuf {
        let name = if self.named {
            logging::file_name_for_server(&self.key)
        } else {
            logging::file_name_for(&self.url)
        };
        self.paths.logs.join(name)
    }

    /// The log level: `--debug`, else the one set in the app.
    pub fn log_level(&self, debug: bool) -> LogLevel {
        if debug {
            LogLevel::Debug
        } else {
            self.settings.log_level.unwrap_or_default()
        }
    }

    /// The state directory.
    pub fn state(&self) -> StateDir {
        StateDir::new(&self.paths.state)
    }

    /// The OAuth source of this server, with `overrides` from the command line.
    pub fn oauth(
        &self,
        overrides: &OAuthOverrides,
        interaction: Interaction,
        write_status: bool,
    ) -> Result<Arc<OAuthSource>, AuthError> {
        let client_id = overrides.client_id.clone().or_else(|| self.config.client_id.clone());
        let pre_registered = match client_id {
            Some(id) => Some(PreRegistered {
                client_id: id,
                secret: self.client_secret(overrides)?,
            }),
            None => None,
        };
        let scopes = overrides
            .scopes
            .clone()
            .or_else(|| self.config.scopes.clone())
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect());
        let settings = OAuthSettings {
            prefs: ClientPrefs {
                pre_registered,
                metadata_url: overrides
                    .client_metadata_url
                    .clone()
                    .or_else(|| self.config.client_metadata_url.clone())
                    .or_else(|| self.settings.client_metadata_url.clone()),
                extra_metadata: overrides.client_metadata.clone(),
            },
            resource: overrides.resource.clone().or_else(|| self.config.resource.clone()),
            scopes,
            callback_port: overrides.callback_port.or(self.config.callback_port),
            auth_timeout: overrides.auth_timeout,
            interaction,
            write_status,
            broker: overrides.broker.clone(),
            limits: crate::store::sign_in::Limits::current(),
        };
        OAuthSource::new(
            &self.key,
            &self.label,
            self.url.clone(),
            self.state(),
            self.secrets.clone(),
            settings,
        )
    }

    /// The secret of a pre-registered client: from the variable the user
    /// named, else from the keychain. Never from the command line.
    fn client_secret(&self, overrides: &OAuthOverrides) -> Result<Option<Secret>, AuthError> {
        if let Some(secret) = &overrides.client_secret {
            return Ok(Some(secret.clone()));
        }
        let var = overrides
            .client_secret_env
            .as_ref()
            .or(self.config.client_secret_env.as_ref());
        if let Some(var) = var {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
                _ => Err(AuthError::Registration(format!(
                    "the client secret variable {var} is not set"
                ))),
            };
        }
        Ok(None)
    }

    /// The token source this server's settings call for, if any.
    pub async fn token_source(
        &self,
        overrides: &OAuthOverrides,
        interaction: Interaction,
        user_sends_authorization: bool,
    ) -> Result<Option<Arc<dyn TokenSource>>, AuthError> {
        Ok(match self.config.auth {
            AuthKind::None => None,
            AuthKind::Bearer => Some(Arc::new(StaticToken::new(
                &self.key,
                &self.url,
                self.secrets.clone(),
                self.config.token_header.as_deref(),
            )?)),
            // A user who passes their own Authorization header has chosen a
            // static token: no OAuth behind their back (mcp-remote #17).
            AuthKind::Oauth if user_sends_authorization => None,
            AuthKind::Oauth => Some(self.oauth_source(overrides, interaction).await?),
        })
    }

    /// The OAuth source of this server as a bridge (or its sign-in broker,
    /// or `tether token`) runs it: [`oauth`](Self::oauth), with the secret
    /// of a pre-registered client stored by `tether add --client-secret`.
    pub async fn oauth_source(
        &self,
        overrides: &OAuthOverrides,
        interaction: Interaction,
    ) -> Result<Arc<OAuthSource>, AuthError> {
        let mut overrides = overrides.clone();
        // Read only for such a client.
        if overrides.client_secret.is_none()
            && overrides.client_secret_env.is_none()
            && self.config.client_secret_env.is_none()
            && self.config.client_id.is_some()
        {
            overrides.client_secret = self.stored_client_secret().await?;
        }
        self.oauth(&overrides, interaction, true)
    }

    /// The secret of this server's pre-registered client, from the keychain
    /// (`tether add --client-secret`), when the server is still where it was
    /// given for (`store::bound`).
    async fn stored_client_secret(&self) -> Result<Option<Secret>, AuthError> {
        let key = keys::server_client_secret(&self.key);
        let Some(value) = self.secrets.get(&key).await? else {
            return Ok(None);
        };
        let origin = bound::origin_of(&self.url);
        let item = bound::open(value);
        match &item.to {
            Some(to) if *to != origin => Err(AuthError::Refused(format!(
                "the client secret of {0} was given for {to}, and {0} now points at {origin}; \
                 give it again with `tether add {0} <url> --client-id <id> --client-secret`",
                self.key
            ))),
            Some(_) => Ok(Some(item.secret)),
            None => {
                self.secrets.set(&key, &bound::seal(&item.secret, &origin)).await?;
                Ok(Some(item.secret))
            }
        }
    }

    /// What the bridge learnt about the server's MCP era, kept in its state
    /// file.
    pub fn era_memory(&self) -> Arc<dyn EraMemory> {
        Arc::new(StateCache {
            state: self.state(),
            key: self.key.clone(),
        })
    }

    /// The cache of the server's `initialize` answer.
    pub fn initialize_cache(&self) -> Arc<dyn InitializeCache> {
        Arc::new(StateCache {
            state: self.state(),
            key: self.key.clone(),
        })
    }
}

/// The keychain for `paths`: its namespace is their `TETHER_HOME`, when
/// one is set.
pub fn secrets_for(paths: &Paths) -> Secrets {
    Secrets::new(Arc::new(LazyKeychain::new(paths.namespace.clone())))
}

/// What a bridge's command line adds to a server's settings.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// `--header` lines.
    pub headers: Vec<String>,
    pub header_file: Option<String>,
    pub transport: Option<TransportMode>,
    /// `--protocol`: which MCP era to speak.
    pub protocol: ProtocolMode,
    pub allow_http: bool,
    pub max_message_size: usize,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub sign_in_wait: Duration,
}

/// OAuth settings given on the command line.
#[derive(Debug, Clone)]
pub struct OAuthOverrides {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_secret_env: Option<String>,
    pub client_metadata_url: Option<String>,
    pub client_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub resource: Option<String>,
    pub scopes: Option<String>,
    pub callback_port: Option<u16>,
    pub auth_timeout: Duration,
    /// Which process runs a browser sign-in (a bridge starts a detached
    /// broker; everything else runs it itself).
    pub broker: Broker,
}

impl Default for OAuthOverrides {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            client_secret_env: None,
            client_metadata_url: None,
            client_metadata: None,
            resource: None,
            scopes: None,
            callback_port: None,
            auth_timeout: Duration::from_secs(300),
            broker: Broker::InProcess,
        }
    }
}

struct StateCache {
    state: StateDir,
    key: String,
}

impl InitializeCache for StateCache {
    fn load(&self) -> Option<serde_json::Value> {
        self.state.server(&self.key).ok()?.initialize_result
    }

    fn store(&self, result: serde_json::Value) {
        if self
            .state
            .server(&self.key)
            .is_ok_and(|s| s.initialize_result.as_ref() != Some(&result))
            && let Err(e) = self
                .state
                .update_server(&self.key, |s| s.initialize_result = Some(result))
        {
            tracing::debug!(error = %e, "could not cache the initialize answer");
        }
    }
}

impl EraMemory for StateCache {
    fn modern(&self) -> bool {
        // Read when the client's `initialize` arrives; a server without a
        // state file (any public 2025-era one) costs one failed open.
        self.state.server(&self.key).is_ok_and(|s| s.modern_protocol.is_some())
    }

    fn remember(&self, modern: bool) {
        let era = modern.then(|| crate::transport::era::detect::LATEST.to_owned());
        if let Err(e) = self.state.update_server(&self.key, |s| s.modern_protocol = era) {
            tracing::debug!(error = %e, "could not remember the server's MCP era");
        }
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
