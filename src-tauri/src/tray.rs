//! The tray icon and its menu.
//!
//! The icon shows the worst state of all servers (all good, one needs
//! sign-in, an error): monochrome template icons on macOS (the menu bar
//! recolours them), light glyphs elsewhere, which read on the dark panels
//! Linux desktops and Windows 11 ship with. The menu lists each server with
//! its state ("signed in, 47 min left") and what can be done to it, then the
//! app's own actions. The menu is always attached (Linux tray hosts do not
//! deliver clicks on the icon itself) and rebuilt whenever a watched file
//! changes.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;
use tauri_plugin_notification::NotificationExt as _;
use tether::overview::{self, Overall, ServerState, ServerView};
use tether::servers::AuthKind;

use crate::context::AppContext;
use crate::{service, window};

const TRAY: &str = "tether";

/// Makes the tray icon.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let views = service::overview(&app.state::<AppContext>());
    let menu = build_menu(app, &views)?;
    TrayIconBuilder::with_id(TRAY)
        .icon(icon(overview::overall(&views)))
        .icon_as_template(cfg!(target_os = "macos"))
        .tooltip(tooltip(&views))
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Rebuilds the menu and icon from the current state.
pub fn refresh(app: &AppHandle, views: &[ServerView]) {
    let Some(tray) = app.tray_by_id(TRAY) else { return };
    match build_menu(app, views) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(e) => tracing::warn!(error = %e, "cannot rebuild the tray menu"),
    }
    let _ = tray.set_icon(Some(icon(overview::overall(views))));
    let _ = tray.set_icon_as_template(cfg!(target_os = "macos"));
    let _ = tray.set_tooltip(Some(tooltip(views)));
}

/// Which glyphs the panel needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyphs {
    /// macOS: black and alpha; the menu bar recolours them.
    Template,
    /// Light glyphs, for a dark panel.
    ForDarkPanel,
    /// Dark glyphs, for a light panel.
    ForLightPanel,
}

/// The glyphs for this desktop, from what it says about its theme: on
/// Linux the GNOME `color-scheme` and the GTK theme's name (`GTK_THEME` or
/// `gtk-theme`); panels are dark unless the desktop says light (GNOME's top
/// bar and Windows 11's taskbar are dark by default).
fn glyphs(macos: bool, color_scheme: Option<&str>, gtk_theme: Option<&str>) -> Glyphs {
    if macos {
        return Glyphs::Template;
    }
    let scheme = color_scheme
        .unwrap_or_default()
        .trim_matches(|c: char| c == '\'' || c.is_whitespace());
    let theme = gtk_theme.unwrap_or_default().to_ascii_lowercase();
    match scheme {
        "prefer-dark" => Glyphs::ForDarkPanel,
        "prefer-light" => Glyphs::ForLightPanel,
        _ if theme.contains("dark") => Glyphs::ForDarkPanel,
        _ if theme.contains("light") => Glyphs::ForLightPanel,
        // GNOME's "default" keeps a dark top bar whatever the app theme.
        _ => Glyphs::ForDarkPanel,
    }
}

/// Asks the desktop (once; it is two quick `gsettings` reads at start).
fn desktop_glyphs() -> Glyphs {
    static GLYPHS: std::sync::OnceLock<Glyphs> = std::sync::OnceLock::new();
    *GLYPHS.get_or_init(|| {
        let gsettings = |key: &str| -> Option<String> {
            let out = std::process::Command::new("gsettings")
                .args(["get", "org.gnome.desktop.interface", key])
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        };
        if cfg!(target_os = "macos") {
            return Glyphs::Template;
        }
        if !cfg!(target_os = "linux") {
            return Glyphs::ForDarkPanel;
        }
        let theme = std::env::var("GTK_THEME").ok().or_else(|| gsettings("gtk-theme"));
        glyphs(false, gsettings("color-scheme").as_deref(), theme.as_deref())
    })
}

fn icon(state: Overall) -> Image<'static> {
    let bytes: &'static [u8] = match (state, desktop_glyphs()) {
        (Overall::Ok, Glyphs::Template) => include_bytes!("../../icons/tray-ok-template.png"),
        (Overall::NeedsSignIn, Glyphs::Template) => include_bytes!("../../icons/tray-needs-sign-in-template.png"),
        (Overall::Error, Glyphs::Template) => include_bytes!("../../icons/tray-error-template.png"),
        (Overall::Ok, Glyphs::ForDarkPanel) => include_bytes!("../../icons/tray-ok-dark.png"),
        (Overall::NeedsSignIn, Glyphs::ForDarkPanel) => include_bytes!("../../icons/tray-needs-sign-in-dark.png"),
        (Overall::Error, Glyphs::ForDarkPanel) => include_bytes!("../../icons/tray-error-dark.png"),
        (Overall::Ok, Glyphs::ForLightPanel) => include_bytes!("../../icons/tray-ok-light.png"),
        (Overall::NeedsSignIn, Glyphs::ForLightPanel) => include_bytes!("../../icons/tray-needs-sign-in-light.png"),
        (Overall::Error, Glyphs::ForLightPanel) => include_bytes!("../../icons/tray-error-light.png"),
    };
    // The PNGs are checked by the build (they are in the repo); an empty
    // image is a better failure than a panic in a tray app.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new_owned(vec![0; 4], 1, 1))
}

fn tooltip(views: &[ServerView]) -> String {
    let waiting: Vec<&str> = views
        .iter()
        .filter(|v| v.state == ServerState::NeedsSignIn)
        .map(|v| v.name.as_str())
        .collect();
    match overview::overall(views) {
        Overall::Ok => format!("Tether: {} server(s), all good", views.len()),
        Overall::NeedsSignIn => format!("Tether: sign in to {}", waiting.join(", ")),
        Overall::Error => "Tether: a server has an error".into(),
    }
}

/// The servers whose sign-in waits for a person: each gets "Sign in to
/// <name>" at the top of the menu, the action the "needs you to sign in"
/// notice names (desktop notifications have no click action here).
fn waiting_for_sign_in(views: &[ServerView]) -> Vec<&str> {
    views
        .iter()
        .filter(|v| v.auth == AuthKind::Oauth && v.state == ServerState::NeedsSignIn)
        .map(|v| v.name.as_str())
        .collect()
}

fn build_menu(app: &AppHandle, views: &[ServerView]) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    let waiting = waiting_for_sign_in(views);
    for name in &waiting {
        menu.append(&MenuItem::with_id(
            app,
            format!("sign-in-now:{name}"),
            format!("Sign in to {name}"),
            true,
            None::<&str>,
        )?)?;
    }
    if !waiting.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    for v in views {
        let title = format!("{} — {}", v.name, v.label());
        let sub = Submenu::with_id(app, format!("server:{}", v.name), title, true)?;
        if v.auth == AuthKind::Oauth {
            let signed_in = matches!(v.state, ServerState::SignedIn { .. });
            sub.append(&MenuItem::with_id(
                app,
                format!("sign-in:{}", v.name),
                "Sign in",
                v.state != ServerState::SigningIn,
                None::<&str>,
            )?)?;
            sub.append(&MenuItem::with_id(
                app,
                format!("sign-out:{}", v.name),
                "Sign out",
                signed_in,
                None::<&str>,
            )?)?;
        }
        sub.append(&MenuItem::with_id(
            app,
            format!("diagnose:{}", v.name),
            "Diagnose",
            true,
            None::<&str>,
        )?)?;
        sub.append(&MenuItem::with_id(
            app,
            format!("copy:{}", v.name),
            "Copy the Claude config entry",
            true,
            None::<&str>,
        )?)?;
        menu.append(&sub)?;
    }
    if !views.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(app, "add", "Add server…", true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(app, "open", "Open Tether", true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "setup-claude",
        "Set up Claude Desktop…",
        true,
        None::<&str>,
    )?)?;
    let autostart = app.autolaunch().is_enabled().unwrap_or(false);
    menu.append(&CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        true,
        autostart,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

fn on_menu(app: &AppHandle, id: &str) {
    tracing::info!(item = id, "tray menu");
    let app = app.clone();
    match id.split_once(':') {
        Some(("sign-in" | "sign-in-now", name)) => {
            let name = name.to_owned();
            tauri::async_runtime::spawn(async move {
                let ctx = app.state::<AppContext>();
                match service::sign_in(&ctx, &name).await {
                    // The watcher tells of the turn to signed in (`watch::worth_telling`),
                    // once, whoever signed in: telling it here too said it twice.
                    Ok(()) => {}
                    Err(e) => notify(&app, &format!("Sign-in to {name} failed"), &e.to_string()),
                }
            });
        }
        Some(("sign-out", name)) => {
            let name = name.to_owned();
            tauri::async_runtime::spawn(async move {
                let ctx = app.state::<AppContext>();
                if let Err(e) = service::sign_out(&ctx, &name).await {
                    notify(&app, &format!("Signing out of {name} failed"), &e.to_string());
                }
            });
        }
        Some(("diagnose", name)) => window::open_at(&app, Some(&format!("diagnose={name}"))),
        Some(("copy", name)) => match service::entry_json(&app.state::<AppContext>(), name) {
            Ok(entry) => {
                let _ = app.clipboard().write_text(entry);
            }
            Err(e) => notify(&app, "Cannot copy the entry", &e.to_string()),
        },
        _ => match id {
            "add" => window::open_at(&app, Some("add")),
            "open" => window::open(&app),
            "setup-claude" => {
                tauri::async_runtime::spawn(async move {
                    let ctx = app.state::<AppContext>();
                    let r = service::set_up(&ctx, tether::clients::McpClient::ClaudeDesktop.id());
                    match r.errors.first() {
                        None => notify(
                            &app,
                            "Claude Desktop is set up",
                            &format!(
                                "{} server(s) added. Restart Claude Desktop to use them.",
                                r.installed.len()
                            ),
                        ),
                        Some(e) => notify(&app, "Claude Desktop: some entries failed", &e.message),
                    }
                });
            }
            "autostart" => {
                let launcher = app.autolaunch();
                let on = launcher.is_enabled().unwrap_or(false);
                let result = if on { launcher.disable() } else { launcher.enable() };
                if let Err(e) = result {
                    notify(&app, "Cannot change start at login", &e.to_string());
                }
                let views = service::overview(&app.state::<AppContext>());
                refresh(&app, &views);
            }
            "quit" => app.exit(0),
            _ => {}
        },
    }
}

/// Shows a desktop notification: only when the user must act, or a sign-in
/// finished.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "notification not shown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, auth: AuthKind, state: ServerState) -> ServerView {
        ServerView {
            name: name.into(),
            url: "u".into(),
            auth,
            token_header: None,
            state,
            issuer: None,
            scopes: None,
            signed_in_at: None,
            last_error: None,
            modern_protocol: None,
        }
    }

    #[test]
    fn the_menu_offers_sign_in_at_the_top_for_each_oauth_server_that_waits_for_a_person() {
        let views = vec![
            view("linear", AuthKind::Oauth, ServerState::NeedsSignIn),
            view("busy", AuthKind::Oauth, ServerState::SigningIn),
            view("fine", AuthKind::Oauth, ServerState::SignedIn { expires_at: None }),
            view("github", AuthKind::Oauth, ServerState::NeedsSignIn),
            view("token", AuthKind::Bearer, ServerState::NeedsSignIn),
        ];
        assert_eq!(waiting_for_sign_in(&views), ["linear", "github"]);
    }

    #[test]
    fn the_glyphs_follow_what_the_desktop_says_about_its_panel() {
        assert_eq!(glyphs(true, Some("'prefer-light'"), None), Glyphs::Template);
        assert_eq!(
            glyphs(false, Some("'prefer-dark'\n"), Some("'Adwaita'\n")),
            Glyphs::ForDarkPanel
        );
        assert_eq!(
            glyphs(false, Some("'prefer-light'\n"), Some("'Adwaita-dark'")),
            Glyphs::ForLightPanel
        );
        assert_eq!(
            glyphs(false, Some("'default'\n"), Some("'Adwaita'\n")),
            Glyphs::ForDarkPanel
        );
        assert_eq!(
            glyphs(false, Some("'default'\n"), Some("'Breeze-Light'")),
            Glyphs::ForLightPanel
        );
        assert_eq!(glyphs(false, None, Some("Breeze-Dark")), Glyphs::ForDarkPanel);
        assert_eq!(
            glyphs(false, None, None),
            Glyphs::ForDarkPanel,
            "unknown: the common dark panel"
        );
    }
}
