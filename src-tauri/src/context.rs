//! Where the app's files are, and which `tether` it drives.
//!
//! A development build (identifier ending in `.dev`: everything built with
//! `cargo`, as opposed to the bundles `tauri build` makes with
//! `tauri.bundle.json`) that is not given a `TETHER_HOME` uses its own, and
//! writes MCP client configs under it too, so working on the app never
//! touches a user's real tokens or Claude Desktop config. A bundled build
//! uses the OS locations, or `TETHER_HOME` when set.

use std::path::PathBuf;
use std::sync::Mutex;

use tether::paths::Paths;

/// What every command and the tray need.
pub struct AppContext {
    pub paths: Paths,
    /// Passed to the sidecar, when set.
    pub tether_home: Option<PathBuf>,
    /// The home directory the MCP client configs are found under.
    pub clients_home: PathBuf,
    /// The `tether` executable shipped beside the app, or its stable copy
    /// when the app runs from an AppImage's mount (`clients::program`).
    pub sidecar: PathBuf,
    /// Why no MCP client entry may name the sidecar (the app runs from a
    /// disk image, a translocated copy or a temporary folder), if so.
    pub entries_refused: Option<String>,
    /// The last overview, to notice what changed.
    pub last: Mutex<Vec<tether::overview::ServerView>>,
    /// The servers Claude Desktop's config had at the last look.
    pub in_claude: Mutex<std::collections::BTreeSet<String>>,
    /// Kept alive while the app runs.
    pub watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

impl AppContext {
    /// Reads the environment; `dev` isolates a development build.
    pub fn from_env(dev: bool) -> Self {
        let env_home = std::env::var_os("TETHER_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let user_home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let (tether_home, clients_home) = match env_home {
            Some(h) => (Some(h), user_home),
            None if dev => {
                let dev = directories::ProjectDirs::from("dev", "Tether", "Tether Dev")
                    .map(|p| p.data_local_dir().to_path_buf())
                    .unwrap_or_else(|| user_home.join(".tether-dev"));
                let clients = dev.join("home");
                (Some(dev), clients)
            }
            None => (None, user_home),
        };
        let paths = Paths::resolve(
            tether_home.as_ref().map(|h| h.clone().into_os_string()),
            directories::ProjectDirs::from("dev", "Tether", "Tether"),
        )
        .unwrap_or_else(|| {
            let base = clients_home.join(".tether");
            Paths {
                config: base.join("config"),
                state: base.join("state"),
                logs: base.join("logs"),
                namespace: None,
            }
        });
        let (sidecar, entries_refused) = sidecar_path(&paths);
        Self {
            paths,
            tether_home,
            clients_home,
            sidecar,
            entries_refused,
            last: Mutex::default(),
            in_claude: Mutex::default(),
            watcher: Mutex::default(),
        }
    }

    /// Stops the watcher.
    pub fn shutdown(&self) {
        tether::sync::lock(&self.watcher).take();
    }
}

/// The `tether` beside this executable: Tauri puts sidecars there in every
/// bundle (and `cargo build` puts both in `target/<profile>/`). From a place
/// that will not last, it is the stable copy `clients::program` makes (an
/// AppImage), or it stays where it is and entries are refused with the
/// reason (a disk image, App Translocation, a temporary folder).
fn sidecar_path(paths: &Paths) -> (PathBuf, Option<String>) {
    let name = if cfg!(windows) { "tether.exe" } else { "tether" };
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name));
    let Ok(real) = std::fs::canonicalize(&beside) else {
        return (beside, None);
    };
    match tether::clients::program::for_entries(&real, &paths.state) {
        Ok(program) if program == real => (beside, None),
        Ok(program) => (program, None),
        Err(e) => (beside, Some(e.to_string())),
    }
}
