//! Declares the app's commands, so each is allowed only through the
//! capability that lists it (capabilities/default.json).

fn main() {
    let commands = &[
        "list_servers",
        "probe_server",
        "add_server",
        "remove_server",
        "sign_in",
        "sign_out",
        "list_clients",
        "install_entry",
        "install_http_entry",
        "uninstall_entry",
        "set_up_client",
        "import_candidates",
        "import_servers",
        "delete_mcp_auth_cache",
        "get_settings",
        "set_settings",
        "check_metadata_url",
        "read_logs",
        "diagnose",
        "restart_claude_desktop",
        "copy_entry",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .unwrap_or_else(|e| {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1)
    });
}
