//! Adding, importing and removing named servers.
//!
//! Owns the order that keeps a secret from ever being referred to before it
//! is stored: a static token or client secret goes to the keychain first,
//! then the non-secret facts (so the app can show "ready" without reading
//! the keychain), then the server's settings to `servers.json`. An imported
//! `npx mcp-remote` entry is registered the same way, and only then is its
//! entry rewritten as Tether's (its token leaving the file). Removing signs
//! out first (revoking where the server allows, RFC 7009), then forgets.

use std::path::{Path, PathBuf};

use super::ManageError;
use crate::auth::source::Interaction;
use crate::clients::{self, Candidate};
use crate::config;
use crate::paths::Paths;
use crate::profile::{OAuthOverrides, Profile, secrets_for};
use crate::servers::{self, AuthKind, ServerConfig, Servers, ServersError};
use crate::store::secrets::Secret;
use crate::store::state::StateDir;
use crate::store::{bound, keys};

/// What happens to a server's static token.
#[derive(Debug, Clone)]
pub enum TokenChange {
    /// Store this one.
    Replace(Secret),
    /// Keep the one in the keychain (editing a server, `--keep-token`).
    Keep,
}

/// A server to add, or to change.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub config: ServerConfig,
    /// For a server with a static token.
    pub token: Option<TokenChange>,
    /// A pre-registered client's secret, for the keychain.
    pub client_secret: Option<Secret>,
}

/// The settings `name` has now, if it exists. Reads the server list, so a
/// malformed list is refused here, before any secret is asked for.
pub fn existing(paths: &Paths, name: &str) -> Result<Option<ServerConfig>, ManageError> {
    servers::check_name(name)?;
    Ok(Servers::new(&paths.config).load()?.servers.remove(name))
}

/// Refuses `--keep-token` for a server that has no token of Tether's to keep.
pub fn check_keep_token(name: &str, existing: Option<&ServerConfig>) -> Result<(), ManageError> {
    match existing {
        Some(c) if c.auth == AuthKind::Bearer => Ok(()),
        _ => Err(ManageError::NoTokenToKeep(name.to_owned())),
    }
}

/// A kept token stays with its origin: a server that moves to another
/// origin needs its token given again (a token given for one server is
/// never sent to another, `store::bound`).
async fn check_kept_token_origin(
    paths: &Paths,
    name: &str,
    existing: &ServerConfig,
    new_url: &str,
) -> Result<(), ManageError> {
    let new_origin = origin(new_url)?;
    let stored = secrets_for(paths)
        .get(&keys::static_token(name))
        .await?
        .map(bound::open);
    let given_for = match stored.as_ref().and_then(|b| b.to.clone()) {
        Some(to) => to,
        None => origin(&existing.url)?,
    };
    if given_for == new_origin {
        Ok(())
    } else {
        Err(ManageError::OriginChanged {
            name: name.to_owned(),
            from: given_for,
            to: new_origin,
        })
    }
}

fn origin(url: &str) -> Result<String, ManageError> {
    let u = url::Url::parse(url).map_err(|_| ServersError::BadUrl(url.to_owned()))?;
    Ok(bound::origin_of(&u))
}

/// Adds or changes a named server. Returns whether it existed.
pub async fn register(paths: &Paths, r: &Registration) -> Result<bool, ManageError> {
    servers::check_name(&r.name)?;
    let list = Servers::new(&paths.config);
    let mut file = list.load()?;
    if matches!(r.token, Some(TokenChange::Keep)) {
        let existing = file.servers.get(&r.name);
        check_keep_token(&r.name, existing)?;
        if let Some(existing) = existing {
            check_kept_token_origin(paths, &r.name, existing, &r.config.url).await?;
        }
    }
    let secrets = secrets_for(paths);
    let origin = origin(&r.config.url)?;
    if let Some(TokenChange::Replace(token)) = &r.token {
        secrets
            .set(&keys::static_token(&r.name), &bound::seal(token, &origin))
            .await?;
        let state = StateDir::new(&paths.state);
        let mut facts = state.server(&r.name)?;
        facts.url = r.config.url.clone();
        facts.static_token = true;
        state.save_server(&r.name, &facts)?;
    }
    if let Some(secret) = &r.client_secret {
        secrets
            .set(&keys::server_client_secret(&r.name), &bound::seal(secret, &origin))
            .await?;
    }
    let existed = file.servers.insert(r.name.clone(), r.config.clone()).is_some();
    list.save(&file)?;
    Ok(existed)
}

/// Signs out of a server and forgets it: its tokens and secrets leave the
/// keychain, its facts the state directory, a named server the list.
/// Returns why signing out failed, when it did (the server is removed
/// anyway).
pub async fn remove(paths: &Paths, profile: &Profile) -> Result<Option<String>, ManageError> {
    let source = profile.oauth(&OAuthOverrides::default(), Interaction::Never, false)?;
    let warning = source.logout().await.err().map(|e| e.to_string());
    for key in [
        keys::static_token(&profile.key),
        keys::server_client_secret(&profile.key),
    ] {
        profile.secrets.delete(&key).await?;
    }
    profile.state().forget_server(&profile.key)?;
    if profile.named {
        let list = Servers::new(&paths.config);
        let mut file = list.load()?;
        file.servers.remove(&profile.key);
        list.save(&file)?;
    }
    Ok(warning)
}

/// Imports one `npx mcp-remote` entry: registers its server like `tether
/// add` (its token or client secret into the keychain), then rewrites the
/// entry to run `program`. Returns the client's config file.
pub async fn import(c: &Candidate, paths: &Paths, program: &Path) -> Result<PathBuf, ManageError> {
    if let Some(problem) = &c.problem {
        return Err(ManageError::NotImportable(problem.clone()));
    }
    servers::check_name(&c.server)?;
    let url = config::parse_url(&c.url, c.options.allow_http)?;
    if let Some(existing) = existing(paths, &c.server)?
        && existing.url != url.as_str()
    {
        return Err(ManageError::NameTaken {
            name: c.server.clone(),
            url: existing.url,
            file: c.file.display().to_string(),
        });
    }
    let config = ServerConfig {
        url: url.to_string(),
        auth: if c.token.is_some() {
            AuthKind::Bearer
        } else {
            AuthKind::Oauth
        },
        token_header: c
            .token_header
            .clone()
            .filter(|h| !h.eq_ignore_ascii_case("authorization")),
        headers: c.extra_headers.clone(),
        client_id: c.options.client_id.clone(),
        client_secret_env: None,
        client_metadata_url: None,
        scopes: c.options.scopes.clone(),
        resource: c.options.resource.clone(),
        callback_port: c.options.callback_port,
        transport: c.options.transport,
        allow_http: c.options.allow_http,
    };
    let registration = Registration {
        name: c.server.clone(),
        config,
        token: c.token.clone().map(TokenChange::Replace),
        client_secret: c.options.client_secret.clone(),
    };
    register(paths, &registration).await?;
    Ok(clients::convert(c, program)?)
}
