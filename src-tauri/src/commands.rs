//! The window's commands: thin wrappers that call the core crate (for what
//! is on disk and not secret) or the `tether` sidecar (for anything that
//! touches the keychain). Errors reach the window as sentences.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tether::clients::{self, ClientId};
use tether::overview::{self, ServerView};
use tether::servers::{AuthKind, Servers};

use crate::context::AppContext;
use crate::sidecar;

type Result<T> = std::result::Result<T, String>;

/// A server as the window shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerRow {
    #[serde(flatten)]
    pub view: ServerView,
    /// The MCP clients whose config runs it.
    pub clients: Vec<String>,
}

/// The overview, for the tray and the watcher.
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
fn entries(ctx: &AppContext) -> Vec<(ClientId, std::collections::BTreeSet<String>)> {
    let platform = platform(ctx);
    ClientId::ALL
        .iter()
        .map(|id| (*id, clients::entries_running(*id, &platform, &ctx.sidecar)))
        .collect()
}

#[tauri::command]
pub fn list_servers(ctx: State<'_, AppContext>) -> Vec<ServerRow> {
    let entries = entries(&ctx);
    overview(&ctx)
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

#[tauri::command]
pub async fn probe_server(url: String) -> Result<tether::probe::Probe> {
    let url = tether::config::parse_url(url.trim(), false).map_err(|e| e.to_string())?;
    tether::probe::probe(&url).await.map_err(|e| e.to_string())
}

/// What "Add server" sends. Its `Debug` leaves the token out.
#[derive(Deserialize)]
pub struct AddRequest {
    pub name: String,
    pub url: String,
    pub auth: AuthKind,
    pub token: Option<String>,
    pub token_header: Option<String>,
    pub clients: Vec<String>,
    /// Editing a server with a token: keep the stored token when none is given.
    #[serde(default)]
    pub keep_token: bool,
}

impl std::fmt::Debug for AddRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("token_header", &self.token_header)
            .field("clients", &self.clients)
            .field("keep_token", &self.keep_token)
            .finish()
    }
}

/// What happened to each client's config.
#[derive(Debug, Default, Serialize)]
pub struct InstallResult {
    pub installed: Vec<Installed>,
    pub errors: Vec<ClientError>,
}

#[derive(Debug, Serialize)]
pub struct Installed {
    pub client: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct ClientError {
    pub client: String,
    pub message: String,
}

#[tauri::command]
pub async fn add_server(request: AddRequest, ctx: State<'_, AppContext>) -> Result<InstallResult> {
    let url = stored_url_if_unchanged(&ctx, &request.name, &request.url);
    let mut args = vec!["add".to_owned(), request.name.clone(), url];
    match request.auth {
        AuthKind::Bearer => {
            args.push("--bearer".into());
            if let Some(h) = request.token_header.as_ref().filter(|h| !h.trim().is_empty()) {
                args.extend(["--token-header".into(), h.trim().to_owned()]);
            }
        }
        AuthKind::None => args.push("--no-auth".into()),
        AuthKind::Oauth => {}
    }
    let token = match request.auth {
        AuthKind::Bearer => match request.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(t),
            None if request.keep_token => {
                args.push("--keep-token".into());
                None
            }
            None => return Err("the token is empty".into()),
        },
        _ => None,
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    sidecar::run(&ctx, &refs, token, Duration::from_secs(60)).await?;
    let mut result = InstallResult::default();
    for client in &request.clients {
        install_one(&ctx, &request.name, client, &mut result);
    }
    Ok(result)
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

fn install_one(ctx: &AppContext, name: &str, client: &str, result: &mut InstallResult) {
    let Some(id) = ClientId::from_id(client) else {
        result.errors.push(ClientError {
            client: client.to_owned(),
            message: format!("unknown client {client:?}"),
        });
        return;
    };
    if let Some(why) = &ctx.entries_refused {
        result.errors.push(ClientError {
            client: client.to_owned(),
            message: why.clone(),
        });
        return;
    }
    match clients::install(id, &platform(ctx), name, &ctx.sidecar) {
        Ok(path) => {
            if id == ClientId::ClaudeDesktop {
                remember_in_claude(ctx, name);
            }
            result.installed.push(Installed {
                client: client.to_owned(),
                path: path.display().to_string(),
            });
        }
        Err(e) => result.errors.push(ClientError {
            client: client.to_owned(),
            message: e.to_string(),
        }),
    }
}

#[tauri::command]
pub async fn remove_server(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    let platform = platform(&ctx);
    for id in ClientId::ALL {
        if clients::has_entry(*id, &platform, &name, &ctx.sidecar) {
            if *id == ClientId::ClaudeDesktop {
                forget_in_claude(&ctx, &name);
            }
            clients::uninstall(*id, &platform, &name).map_err(|e| e.to_string())?;
        }
    }
    sidecar::run(&ctx, &["remove", &name], None, Duration::from_secs(60))
        .await
        .map(|_| ())
}

#[tauri::command]
pub async fn sign_in(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    sidecar::run(&ctx, &["login", &name], None, Duration::from_secs(360))
        .await
        .map(|_| ())
}

#[tauri::command]
pub async fn sign_out(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    sidecar::run(&ctx, &["logout", &name], None, Duration::from_secs(60))
        .await
        .map(|_| ())
}

/// An MCP client as the window shows it.
#[derive(Debug, Serialize)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub path: Option<String>,
    pub configured: Vec<String>,
}

#[tauri::command]
pub fn list_clients(ctx: State<'_, AppContext>) -> Vec<ClientRow> {
    let platform = platform(&ctx);
    let servers: Vec<String> = overview(&ctx).into_iter().map(|v| v.name).collect();
    entries(&ctx)
        .into_iter()
        .map(|(id, names)| ClientRow {
            id: id.id().to_owned(),
            name: id.name().to_owned(),
            installed: clients::is_installed(id, &platform),
            path: clients::config_path(id, &platform).map(|p| p.display().to_string()),
            configured: servers.iter().filter(|s| names.contains(*s)).cloned().collect(),
        })
        .collect()
}

#[tauri::command]
pub fn install_entry(name: String, client: String, ctx: State<'_, AppContext>) -> InstallResult {
    let mut result = InstallResult::default();
    install_one(&ctx, &name, &client, &mut result);
    result
}

#[tauri::command]
pub fn uninstall_entry(name: String, client: String, ctx: State<'_, AppContext>) -> Result<()> {
    let id = ClientId::from_id(&client).ok_or_else(|| format!("unknown client {client:?}"))?;
    if id == ClientId::ClaudeDesktop {
        forget_in_claude(&ctx, &name);
    }
    clients::uninstall(id, &platform(&ctx), &name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Adds every server to one client.
pub fn set_up(ctx: &AppContext, client: &str) -> Result<InstallResult> {
    let mut result = InstallResult::default();
    for view in overview(ctx) {
        install_one(ctx, &view.name, client, &mut result);
    }
    Ok(result)
}

#[tauri::command]
pub fn set_up_client(client: String, ctx: State<'_, AppContext>) -> Result<InstallResult> {
    set_up(&ctx, &client)
}

/// An `npx mcp-remote` entry that can become Tether's.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportRow {
    pub client: String,
    pub file: String,
    pub name: String,
    pub url: String,
    pub token_header: Option<String>,
    pub has_secret: bool,
}

#[tauri::command]
pub async fn import_candidates(ctx: State<'_, AppContext>) -> Result<Vec<ImportRow>> {
    let home = ctx.clients_home.display().to_string();
    let out = sidecar::run(
        &ctx,
        &["import", "--dry-run", "--json", "--home", &home],
        None,
        Duration::from_secs(60),
    )
    .await?;
    serde_json::from_str(&out.stdout).map_err(|e| format!("unreadable answer from tether import: {e}"))
}

/// One candidate chosen for import.
#[derive(Debug, Deserialize)]
pub struct Pick {
    pub client: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ImportResult {
    pub imported: Vec<String>,
    pub errors: Vec<NamedError>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NamedError {
    pub name: String,
    pub message: String,
}

#[tauri::command]
pub async fn import_servers(picks: Vec<Pick>, ctx: State<'_, AppContext>) -> Result<ImportResult> {
    // The MCP client configs under the app's home (a dev build's own).
    let mut args: Vec<String> = vec![
        "import".into(),
        "--json".into(),
        "--home".into(),
        ctx.clients_home.display().to_string(),
    ];
    for p in &picks {
        args.extend(["--pick".into(), format!("{}:{}", p.client, p.name)]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sidecar::run(&ctx, &refs, None, Duration::from_secs(120)).await?;
    serde_json::from_str(&out.stdout).map_err(|e| format!("unreadable answer from tether import: {e}"))
}

/// The settings the window edits.
#[derive(Debug, Serialize, Deserialize)]
pub struct SettingsView {
    pub clients: Vec<String>,
    pub client_metadata_url: Option<String>,
    pub start_at_login: bool,
    pub log_level: String,
}

#[tauri::command]
pub fn get_settings(app: AppHandle, ctx: State<'_, AppContext>) -> Result<SettingsView> {
    use tauri_plugin_autostart::ManagerExt as _;
    let file = Servers::new(&ctx.paths.config).load().map_err(|e| e.to_string())?;
    Ok(SettingsView {
        clients: file.settings.clients.clone(),
        client_metadata_url: file.settings.client_metadata_url.clone(),
        start_at_login: app.autolaunch().is_enabled().unwrap_or(false),
        log_level: file.settings.log_level.clone().unwrap_or_else(|| "info".into()),
    })
}

#[tauri::command]
pub fn set_settings(settings: SettingsView, app: AppHandle, ctx: State<'_, AppContext>) -> Result<()> {
    use tauri_plugin_autostart::ManagerExt as _;
    if let Some(url) = settings.client_metadata_url.as_deref().filter(|u| !u.trim().is_empty()) {
        let u = url::Url::parse(url.trim()).map_err(|_| format!("{url:?} is not a URL"))?;
        if u.scheme() != "https" || u.path().trim_matches('/').is_empty() {
            return Err("the Client ID Metadata Document URL must be https and have a path".into());
        }
    }
    let list = Servers::new(&ctx.paths.config);
    let mut file = list.load().map_err(|e| e.to_string())?;
    file.settings.clients = settings
        .clients
        .into_iter()
        .filter(|c| ClientId::from_id(c).is_some())
        .collect();
    file.settings.client_metadata_url = settings
        .client_metadata_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    file.settings.log_level = Some(if settings.log_level == "debug" {
        "debug".into()
    } else {
        "info".into()
    });
    list.save(&file).map_err(|e| e.to_string())?;
    let launcher = app.autolaunch();
    if settings.start_at_login != launcher.is_enabled().unwrap_or(false) {
        let r = if settings.start_at_login {
            launcher.enable()
        } else {
            launcher.disable()
        };
        r.map_err(|e| format!("cannot change start at login: {e}"))?;
    }
    Ok(())
}

#[tauri::command]
pub fn read_logs(name: Option<String>, ctx: State<'_, AppContext>) -> Result<String> {
    const TAIL: u64 = 64 * 1024;
    let file = match &name {
        Some(n) => {
            tether::servers::check_name(n).map_err(|e| e.to_string())?;
            ctx.paths.logs.join(format!("{n}.log"))
        }
        None => ctx.paths.logs.join("app.log"),
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let start = bytes.len().saturating_sub(TAIL as usize);
    Ok(String::from_utf8_lossy(&bytes[start..]).into_owned())
}

/// `tether doctor` on a server (by name) or a URL: the report, as JSON.
#[tauri::command]
pub async fn diagnose(target: String, ctx: State<'_, AppContext>) -> Result<serde_json::Value> {
    let target = target.trim();
    if target.is_empty() {
        return Err("nothing to diagnose".into());
    }
    // The report comes with exit status 1 (warnings) or 2 (errors) too.
    let out = sidecar::run_accepting(
        &ctx,
        &["doctor", target, "--json"],
        None,
        Duration::from_secs(120),
        &[0, 1, 2],
    )
    .await?;
    serde_json::from_str(&out.stdout).map_err(|e| format!("unreadable answer from tether doctor: {e}"))
}

#[tauri::command]
pub async fn restart_claude_desktop() -> Result<()> {
    clients::restart_claude_desktop().map_err(|e| e.to_string())
}

/// The Claude Desktop entry of `name`, as JSON.
pub fn entry_json(ctx: &AppContext, name: &str) -> Result<String> {
    let entry = serde_json::json!({ name: { "command": ctx.sidecar.display().to_string(), "args": ["run", name] } });
    serde_json::to_string_pretty(&entry).map_err(|e| e.to_string())
}

#[tauri::command]
pub fn copy_entry(name: String, ctx: State<'_, AppContext>) -> Result<String> {
    tether::servers::check_name(&name).map_err(|e| e.to_string())?;
    entry_json(&ctx, &name)
}

/// The directory of Claude Desktop's config, to watch.
pub fn claude_config_dir(ctx: &AppContext) -> Option<std::path::PathBuf> {
    clients::config_path(ClientId::ClaudeDesktop, &platform(ctx))
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
}

/// The servers among `views` whose entry Claude Desktop's config has now.
pub fn in_claude(ctx: &AppContext, views: &[ServerView]) -> BTreeSet<String> {
    let there = clients::entries_running(ClientId::ClaudeDesktop, &platform(ctx), &ctx.sidecar);
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

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_add_request_never_prints_its_token() {
        let r: AddRequest = serde_json::from_value(serde_json::json!({
            "name": "corp", "url": "https://corp.example/mcp", "auth": "bearer",
            "token": "s3cret-token-value", "token_header": null, "clients": []
        }))
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
