//! The app's service layer: what the window's commands, the tray and the
//! file watcher do, each written once.
//!
//! What is on disk and not secret is read through the core crate
//! (`overview`, `clients`, `servers`); anything that touches the keychain
//! runs the `tether` sidecar ([`sidecar`](crate::sidecar)) with a typed
//! `SidecarCommand`. Errors are [`ServiceError`]s, which reach the window as
//! sentences.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;
use tauri::AppHandle;
use tether::clients::{self, EntryKind, McpClient};
use tether::contract::{
    AddRequest, AddServer, ClientChange, ClientFailure, ClientRow, Diagnosis, Done, ImportCandidate, ImportReport,
    InstallReport, Pick, ServerRow, SettingsView, SidecarCommand,
};
use tether::doctor::DoctorReport;
use tether::overview::{self, ServerView};
use tether::servers::{AuthKind, Servers, ServersError};
use tether::sync::lock;

use crate::context::AppContext;
use crate::sidecar;

/// Why something the window or the tray asked for failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The sidecar's own sentence.
    #[error("{0}")]
    Sidecar(String),
    #[error(transparent)]
    Clients(#[from] clients::ClientsError),
    #[error(transparent)]
    Servers(#[from] ServersError),
    #[error(transparent)]
    Config(#[from] tether::config::ConfigError),
    #[error(transparent)]
    Probe(#[from] tether::probe::ProbeError),
    #[error(transparent)]
    Auth(#[from] tether::auth::AuthError),
    /// Something the window sent that cannot be used.
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot change start at login: {0}")]
    Autostart(String),
}

/// The window shows an error as its sentence, causes included.
impl Serialize for ServiceError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&tether::text::error_chain(self))
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// The overview, for the tray, the watcher and the window.
pub fn overview(ctx: &AppContext) -> Vec<ServerView> {
    overview::servers(&ctx.paths).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the server list");
        Vec::new()
    })
}

fn platform(ctx: &AppContext) -> clients::Platform {
    clients::Platform::current(&ctx.clients_home)
}

/// Each client with the servers its config runs through this app's
/// `tether`: every client's file read once.
fn entries(ctx: &AppContext) -> Vec<(McpClient, BTreeSet<String>)> {
    let platform = platform(ctx);
    McpClient::ALL
        .iter()
        .map(|id| (*id, clients::entries_running(*id, &platform, &ctx.sidecar)))
        .collect()
}

/// The servers, with the clients that run each.
pub fn list_servers(ctx: &AppContext) -> Vec<ServerRow> {
    let entries = entries(ctx);
    overview(ctx)
        .into_iter()
        .map(|view| {
            let clients = entries
                .iter()
                .filter(|(_, names)| names.contains(&view.name))
                .map(|(id, _)| id.id().to_owned())
                .collect();
            ServerRow { view, clients }
        })
        .collect()
}

/// What a URL needs (OAuth, a token, nothing).
pub async fn probe_server(url: &str) -> Result<tether::probe::Probe> {
    let url = tether::config::parse_url(url.trim(), false)?;
    Ok(tether::probe::probe(&url).await?)
}

/// Adds (or changes) a server through the sidecar, then its entries.
pub async fn add_server(ctx: &AppContext, request: AddRequest) -> Result<InstallReport> {
    let url = stored_url_if_unchanged(ctx, &request.name, &request.url);
    let token = match request.auth {
        AuthKind::Bearer => {
            let given = request
                .token
                .as_ref()
                .map(|t| tether::store::secrets::Secret::new(t.expose().trim()))
                .filter(|t| !t.expose().is_empty());
            if given.is_none() && !request.keep_token {
                return Err(ServiceError::Invalid("the token is empty".into()));
            }
            given
        }
        _ => None,
    };
    let command = SidecarCommand::Add(AddServer {
        name: request.name.clone(),
        url,
        auth: request.auth,
        token_header: request.token_header.clone(),
        token,
    });
    sidecar::run::<Done>(ctx, &command).await?;
    let mut report = InstallReport::default();
    for client in &request.clients {
        install_one(ctx, &request.name, client, &mut report);
    }
    Ok(report)
}

/// The window shows URLs with their query values masked; an edit that
/// leaves the URL as shown keeps the real one.
fn stored_url_if_unchanged(ctx: &AppContext, name: &str, shown: &str) -> String {
    let stored = Servers::new(&ctx.paths.config)
        .load()
        .ok()
        .and_then(|mut f| f.servers.remove(name))
        .map(|c| c.url);
    match stored {
        Some(real) if url::Url::parse(&real).is_ok_and(|u| tether::config::redact_url(&u) == shown.trim()) => real,
        _ => shown.trim().to_owned(),
    }
}

fn install_one(ctx: &AppContext, name: &str, client: &str, report: &mut InstallReport) {
    let Some(id) = McpClient::from_id(client) else {
        report.errors.push(ClientFailure {
            client: client.to_owned(),
            message: format!("unknown client {client:?}"),
        });
        return;
    };
    // The app runs from a place that will not last (a disk image, say): no
    // entry may name its `tether` (`clients::program`).
    if let Some(why) = &ctx.entries_refused {
        report.errors.push(ClientFailure {
            client: client.to_owned(),
            message: why.clone(),
        });
        return;
    }
    match clients::install(id, &platform(ctx), name, &ctx.sidecar) {
        Ok(path) => {
            if id == McpClient::ClaudeDesktop {
                remember_in_claude(ctx, name);
            }
            report.installed.push(ClientChange {
                client: client.to_owned(),
                path: path.display().to_string(),
            });
        }
        Err(e) => report.errors.push(ClientFailure {
            client: client.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// Removes a server: its client entries, then (through the sidecar) its
/// sign-in and settings.
pub async fn remove_server(ctx: &AppContext, name: &str) -> Result<()> {
    let platform = platform(ctx);
    for id in McpClient::ALL {
        if clients::has_entry(*id, &platform, name, &ctx.sidecar) {
            if *id == McpClient::ClaudeDesktop {
                forget_in_claude(ctx, name);
            }
            clients::uninstall(*id, &platform, name)?;
        }
    }
    sidecar::run::<Done>(ctx, &SidecarCommand::Remove { name: name.to_owned() }).await?;
    Ok(())
}

/// Signs in with the browser (the sidecar waits for it).
pub async fn sign_in(ctx: &AppContext, name: &str) -> Result<()> {
    sidecar::run::<Done>(ctx, &SidecarCommand::Login { name: name.to_owned() }).await?;
    Ok(())
}

/// Signs out: revokes and forgets the tokens.
pub async fn sign_out(ctx: &AppContext, name: &str) -> Result<()> {
    sidecar::run::<Done>(ctx, &SidecarCommand::Logout { name: name.to_owned() }).await?;
    Ok(())
}

/// The MCP clients, which servers each runs, and with which kind of entry.
pub fn list_clients(ctx: &AppContext) -> Vec<ClientRow> {
    let platform = platform(ctx);
    let servers: Vec<String> = overview(ctx).into_iter().map(|v| v.name).collect();
    McpClient::ALL
        .iter()
        .map(|&id| {
            let kinds = clients::entry_kinds_running(id, &platform, &ctx.sidecar);
            let with = |want: Option<EntryKind>| -> Vec<String> {
                servers
                    .iter()
                    .filter(|s| kinds.get(*s).is_some_and(|k| want.is_none_or(|w| *k == w)))
                    .cloned()
                    .collect()
            };
            ClientRow {
                id: id.id().to_owned(),
                name: id.name().to_owned(),
                installed: clients::is_installed(id, &platform),
                path: clients::config_path(id, &platform).map(|p| p.display().to_string()),
                configured: with(None),
                http: with(Some(EntryKind::Http)),
                headers_hook: id.headers_hook(),
            }
        })
        .collect()
}

/// Adds `name`'s entry to one client.
pub fn install_entry(ctx: &AppContext, name: &str, client: &str) -> InstallReport {
    let mut report = InstallReport::default();
    install_one(ctx, name, client, &mut report);
    report
}

/// Gives one client (one with a headers hook: Claude Code) `name`'s HTTP
/// entry: the client talks to the server itself, and `tether token` gives it
/// a fresh token. The sidecar writes it (`tether install --http`), with the
/// server's real URL from its list.
pub async fn install_http_entry(ctx: &AppContext, name: &str, client: &str) -> Result<InstallReport> {
    tether::servers::check_name(name)?;
    let id = McpClient::from_id(client).ok_or_else(|| ServiceError::Invalid(format!("unknown client {client:?}")))?;
    if !id.headers_hook() {
        return Err(clients::ClientsError::NoHeadersHook(id).into());
    }
    // As for a stdio entry: no entry may name a `tether` that will not last.
    if let Some(why) = &ctx.entries_refused {
        return Err(ServiceError::Invalid(why.clone()));
    }
    let command = SidecarCommand::InstallHttp {
        name: name.to_owned(),
        client: id,
        home: ctx.clients_home.clone(),
    };
    sidecar::run(ctx, &command).await
}

/// Takes `name`'s entry out of one client.
pub fn uninstall_entry(ctx: &AppContext, name: &str, client: &str) -> Result<()> {
    let id = McpClient::from_id(client).ok_or_else(|| ServiceError::Invalid(format!("unknown client {client:?}")))?;
    if id == McpClient::ClaudeDesktop {
        forget_in_claude(ctx, name);
    }
    clients::uninstall(id, &platform(ctx), name)?;
    Ok(())
}

/// Adds every server to one client.
pub fn set_up(ctx: &AppContext, client: &str) -> InstallReport {
    let mut report = InstallReport::default();
    for view in overview(ctx) {
        install_one(ctx, &view.name, client, &mut report);
    }
    report
}

/// The `npx mcp-remote` entries of the MCP clients under the app's home (a
/// dev build's own).
pub async fn import_candidates(ctx: &AppContext) -> Result<Vec<ImportCandidate>> {
    let command = SidecarCommand::ImportCandidates {
        home: ctx.clients_home.clone(),
    };
    sidecar::run(ctx, &command).await
}

/// Imports the picked entries (their tokens move to the keychain).
pub async fn import_servers(ctx: &AppContext, picks: Vec<Pick>) -> Result<ImportReport> {
    let command = SidecarCommand::Import {
        home: ctx.clients_home.clone(),
        picks,
    };
    sidecar::run(ctx, &command).await
}

/// Deletes mcp-remote's plain-text token cache (`~/.mcp-auth`) under the
/// app's home, after checking it holds only mcp-remote's files; the window
/// offers it after an import. No keychain is involved, so no sidecar.
pub fn delete_mcp_auth_cache(ctx: &AppContext) -> Result<Option<String>> {
    let deleted = clients::mcp_auth::delete(&ctx.clients_home).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    Ok(deleted.map(|p| p.display().to_string()))
}

/// The settings, as the window edits them.
pub fn get_settings(app: &AppHandle, ctx: &AppContext) -> Result<SettingsView> {
    use tauri_plugin_autostart::ManagerExt as _;
    let file = Servers::new(&ctx.paths.config).load()?;
    Ok(SettingsView {
        clients: file.settings.clients.clone(),
        client_metadata_url: file.settings.client_metadata_url.clone(),
        start_at_login: app.autolaunch().is_enabled().unwrap_or(false),
        log_level: file.settings.log_level.unwrap_or_default(),
    })
}

/// Saves the settings.
pub fn set_settings(app: &AppHandle, ctx: &AppContext, settings: SettingsView) -> Result<()> {
    use tauri_plugin_autostart::ManagerExt as _;
    let metadata_url = settings
        .client_metadata_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if let Some(url) = &metadata_url {
        tether::auth::registration::check_metadata_url(url)?;
    }
    let list = Servers::new(&ctx.paths.config);
    let mut file = list.load()?;
    file.settings.clients = settings
        .clients
        .into_iter()
        .filter(|c| McpClient::from_id(c).is_some())
        .collect();
    file.settings.client_metadata_url = metadata_url;
    file.settings.log_level = Some(settings.log_level);
    list.save(&file)?;
    let launcher = app.autolaunch();
    if settings.start_at_login != launcher.is_enabled().unwrap_or(false) {
        let r = if settings.start_at_login {
            launcher.enable()
        } else {
            launcher.disable()
        };
        r.map_err(|e| ServiceError::Autostart(e.to_string()))?;
    }
    Ok(())
}

/// Why a Client ID Metadata Document URL cannot be used, if it cannot: the
/// rule the sign-in applies, for the window to say at once.
pub fn metadata_url_problem(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    tether::auth::registration::check_metadata_url(url)
        .err()
        .map(|e| e.to_string())
}

/// The end of a log file: a server's, or the app's own.
pub fn read_logs(ctx: &AppContext, name: Option<&str>) -> Result<String> {
    const TAIL: usize = 64 * 1024;
    let file = match name {
        Some(n) => {
            tether::servers::check_name(n)?;
            ctx.paths.logs.join(tether::logging::file_name_for_server(n))
        }
        None => ctx.paths.logs.join(tether::logging::APP_LOG),
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(source) => return Err(ServiceError::Read { path: file, source }),
    };
    let start = bytes.len().saturating_sub(TAIL);
    Ok(String::from_utf8_lossy(&bytes[start..]).into_owned())
}

/// `tether doctor` on a server (by name) or a URL: its report, and the
/// same in Markdown for "Copy report".
pub async fn diagnose(ctx: &AppContext, target: &str) -> Result<Diagnosis> {
    let target = target.trim();
    if target.is_empty() {
        return Err(ServiceError::Invalid("nothing to diagnose".into()));
    }
    let command = SidecarCommand::Doctor {
        target: target.to_owned(),
    };
    let report: DoctorReport = sidecar::run(ctx, &command).await?;
    Ok(Diagnosis::from(report))
}

/// The Claude Desktop entry of `name`, as JSON to paste.
pub fn entry_json(ctx: &AppContext, name: &str) -> Result<String> {
    tether::servers::check_name(name)?;
    if let Some(why) = &ctx.entries_refused {
        return Err(ServiceError::Invalid(why.clone()));
    }
    Ok(clients::entry_json(name, &ctx.sidecar))
}

/// The directory of Claude Desktop's config, to watch.
pub fn claude_config_dir(ctx: &AppContext) -> Option<PathBuf> {
    clients::config_path(McpClient::ClaudeDesktop, &platform(ctx))
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
}

/// The servers among `views` whose entry Claude Desktop's config has now.
pub fn in_claude(ctx: &AppContext, views: &[ServerView]) -> BTreeSet<String> {
    let there = clients::entries_running(McpClient::ClaudeDesktop, &platform(ctx), &ctx.sidecar);
    views
        .iter()
        .filter(|v| there.contains(&v.name))
        .map(|v| v.name.clone())
        .collect()
}

/// Servers Claude Desktop's config had at the last look that it no longer
/// has, although Tether did not remove them (Claude sometimes rewrites the
/// file without `mcpServers`). Entries the app removes itself are forgotten
/// first ([`forget_in_claude`]). `views` are the servers as they are now.
pub fn missing_from_claude(ctx: &AppContext, views: &[ServerView]) -> Vec<String> {
    let now = in_claude(ctx, views);
    let servers: BTreeSet<&str> = views.iter().map(|v| v.name.as_str()).collect();
    let mut known = lock(&ctx.in_claude);
    let missing: Vec<String> = known
        .iter()
        .filter(|n| servers.contains(n.as_str()) && !now.contains(*n))
        .cloned()
        .collect();
    // Remember what is there now, plus what went missing, until it is back
    // or the user removes the server.
    known.retain(|n| servers.contains(n.as_str()));
    known.extend(now);
    missing
}

fn forget_in_claude(ctx: &AppContext, name: &str) {
    lock(&ctx.in_claude).remove(name);
}

fn remember_in_claude(ctx: &AppContext, name: &str) {
    lock(&ctx.in_claude).insert(name.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_error_reaches_the_window_as_its_sentence() {
        let e = ServiceError::Invalid("the token is empty".into());
        assert_eq!(serde_json::to_value(&e).unwrap(), "the token is empty");
    }

    #[test]
    fn the_window_hears_the_metadata_url_rule_of_the_sign_in() {
        assert_eq!(metadata_url_problem(""), None);
        assert_eq!(metadata_url_problem("https://example.com/tether.json"), None);
        let p = metadata_url_problem("http://example.com/tether.json").unwrap();
        assert!(p.contains("must be https and have a path"), "{p}");
        assert!(metadata_url_problem("https://example.com/").is_some());
    }
}
