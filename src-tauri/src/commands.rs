//! The window's commands: one line each over the [`service`] layer. The
//! types they take and return are the core's `contract` types, whose
//! TypeScript twins the window imports (`ui/src/bindings.ts`).

use tauri::{AppHandle, State};
use tether::contract::{
    AddRequest, ClientRow, Diagnosis, ImportCandidate, ImportReport, InstallReport, Pick, ServerRow, SettingsView,
};
use tether::probe::Probe;

use crate::context::AppContext;
use crate::service::{self, Result};

#[tauri::command]
pub fn list_servers(ctx: State<'_, AppContext>) -> Vec<ServerRow> {
    service::list_servers(&ctx)
}

#[tauri::command]
pub async fn probe_server(url: String) -> Result<Probe> {
    service::probe_server(&url).await
}

#[tauri::command]
pub async fn add_server(request: AddRequest, ctx: State<'_, AppContext>) -> Result<InstallReport> {
    service::add_server(&ctx, request).await
}

#[tauri::command]
pub async fn remove_server(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    service::remove_server(&ctx, &name).await
}

#[tauri::command]
pub async fn sign_in(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    service::sign_in(&ctx, &name).await
}

#[tauri::command]
pub async fn sign_out(name: String, ctx: State<'_, AppContext>) -> Result<()> {
    service::sign_out(&ctx, &name).await
}

#[tauri::command]
pub fn list_clients(ctx: State<'_, AppContext>) -> Vec<ClientRow> {
    service::list_clients(&ctx)
}

#[tauri::command]
pub fn install_entry(name: String, client: String, ctx: State<'_, AppContext>) -> InstallReport {
    service::install_entry(&ctx, &name, &client)
}

#[tauri::command]
pub async fn install_http_entry(name: String, client: String, ctx: State<'_, AppContext>) -> Result<InstallReport> {
    service::install_http_entry(&ctx, &name, &client).await
}

#[tauri::command]
pub fn uninstall_entry(name: String, client: String, ctx: State<'_, AppContext>) -> Result<()> {
    service::uninstall_entry(&ctx, &name, &client)
}

#[tauri::command]
pub fn set_up_client(client: String, ctx: State<'_, AppContext>) -> InstallReport {
    service::set_up(&ctx, &client)
}

#[tauri::command]
pub async fn import_candidates(ctx: State<'_, AppContext>) -> Result<Vec<ImportCandidate>> {
    service::import_candidates(&ctx).await
}

#[tauri::command]
pub async fn import_servers(picks: Vec<Pick>, ctx: State<'_, AppContext>) -> Result<ImportReport> {
    service::import_servers(&ctx, picks).await
}

#[tauri::command]
pub fn delete_mcp_auth_cache(ctx: State<'_, AppContext>) -> Result<Option<String>> {
    service::delete_mcp_auth_cache(&ctx)
}

#[tauri::command]
pub fn get_settings(app: AppHandle, ctx: State<'_, AppContext>) -> Result<SettingsView> {
    service::get_settings(&app, &ctx)
}

#[tauri::command]
pub fn set_settings(settings: SettingsView, app: AppHandle, ctx: State<'_, AppContext>) -> Result<()> {
    service::set_settings(&app, &ctx, settings)
}

#[tauri::command]
pub fn check_metadata_url(url: String) -> Option<String> {
    service::metadata_url_problem(&url)
}

#[tauri::command]
pub fn read_logs(name: Option<String>, ctx: State<'_, AppContext>) -> Result<String> {
    service::read_logs(&ctx, name.as_deref())
}

#[tauri::command]
pub async fn diagnose(target: String, ctx: State<'_, AppContext>) -> Result<Diagnosis> {
    service::diagnose(&ctx, &target).await
}

#[tauri::command]
pub async fn restart_claude_desktop() -> Result<()> {
    Ok(tether::clients::restart_claude_desktop()?)
}

#[tauri::command]
pub fn copy_entry(name: String, ctx: State<'_, AppContext>) -> Result<String> {
    service::entry_json(&ctx, &name)
}
