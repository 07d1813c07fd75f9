//! The Tether tray app: the servers with their live status, one-click
//! sign-in and sign-out, adding a server by URL, and the stdio entries written
//! into Claude Desktop's config (and other MCP clients').
//!
//! The app is thin. Everything real is in the core crate (`tether`), and
//! everything that touches the keychain goes through the `tether` sidecar
//! (the same executable Claude Desktop launches), so on macOS one program owns
//! every keychain item and no "allow access?" prompt ever appears. This crate
//! holds the tray ([`tray`]), the window ([`window`]) and its commands
//! ([`commands`], one line each), the file watcher that keeps both live
//! ([`watch`]), and what they all call: the [`service`] layer and the
//! sidecar runner ([`sidecar`]).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod context;
mod service;
mod sidecar;
mod tray;
mod watch;
mod window;

use tauri::{Manager, RunEvent};

fn main() {
    let context = tauri::generate_context!();
    let ctx = context::AppContext::from_env(context.config().identifier.ends_with(".dev"));
    logging(&ctx);
    let app = tauri::Builder::default()
        // A second launch focuses the first instance instead.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| window::open(app)))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(ctx)
        .setup(|app| {
            // macOS: a menu-bar app, no Dock icon.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            tray::create(app.handle())?;
            watch::start(app.handle())?;
            if std::env::args().any(|a| a == "--open") {
                window::open(app.handle());
            }
            tracing::info!("tray ready");
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_servers,
            commands::probe_server,
            commands::add_server,
            commands::remove_server,
            commands::sign_in,
            commands::sign_out,
            commands::list_clients,
            commands::install_entry,
            commands::install_http_entry,
            commands::uninstall_entry,
            commands::set_up_client,
            commands::import_candidates,
            commands::import_servers,
            commands::delete_mcp_auth_cache,
            commands::get_settings,
            commands::set_settings,
            commands::check_metadata_url,
            commands::read_logs,
            commands::diagnose,
            commands::restart_claude_desktop,
            commands::copy_entry,
        ])
        .build(context);
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("tether-app: cannot start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // Closing the window destroys it; the app lives on in the tray until
        // Quit (which exits with a code).
        RunEvent::ExitRequested { api, code: None, .. } => api.prevent_exit(),
        RunEvent::Exit => app.state::<context::AppContext>().shutdown(),
        _ => {}
    });
}

/// Logs to stderr and to `app.log` in Tether's log directory (the window's
/// Logs view reads it), at the level the settings name.
fn logging(ctx: &context::AppContext) {
    let level = tether::servers::Servers::new(&ctx.paths.config)
        .load()
        .ok()
        .and_then(|f| f.settings.log_level)
        .unwrap_or_default()
        .filter();
    let warning = tether::logging::init(&tether::logging::LogOptions {
        stderr: Some(level),
        file: Some((ctx.paths.logs.join(tether::logging::APP_LOG), level)),
    });
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
}
