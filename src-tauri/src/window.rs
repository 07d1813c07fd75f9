//! The window: made when asked for, destroyed when closed, so an idle app is
//! just a tray icon and uses no CPU.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// The window's label (capabilities/default.json grants it the commands).
pub const MAIN: &str = "main";

/// Shows the window, making it if it is not there; `view` picks a tab.
pub fn open_at(app: &AppHandle, view: Option<&str>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(v) = view {
            let _ = w.eval(format!("window.location.hash = {}", serde_json::Value::from(v)));
        }
        return;
    }
    let path = match view {
        Some(v) => format!("index.html#{v}"),
        None => "index.html".into(),
    };
    let built = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App(path.into()))
        .title("Tether")
        .inner_size(900.0, 640.0)
        .min_inner_size(640.0, 480.0)
        .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "cannot open the window");
    }
}

/// Shows the window on its default view.
pub fn open(app: &AppHandle) {
    open_at(app, None);
}
