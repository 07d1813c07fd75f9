//! Where Tether keeps its files: configuration, state and logs.
//!
//! `TETHER_HOME`, when set, holds everything (and, from the OAuth issue on,
//! names the keychain namespace), so tests and development builds never touch
//! a user's real files. Otherwise the OS conventions apply through the
//! `directories` crate: XDG on Linux, `~/Library/Application Support` on
//! macOS, `%APPDATA%`/`%LOCALAPPDATA%` on Windows.

use std::ffi::OsString;
use std::path::PathBuf;

/// Tether's directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Settings the user chose (servers, clients to configure).
    pub config: PathBuf,
    /// Facts Tether learned (token expiry, bridge status); never secrets.
    pub state: PathBuf,
    /// Log files.
    pub logs: PathBuf,
    /// The keychain namespace: `TETHER_HOME` as given, when it is set, so a
    /// separate home has separate keychain entries too.
    pub namespace: Option<String>,
}

impl Paths {
    /// The directories for this process's environment, if any can be found.
    pub fn from_env() -> Option<Self> {
        Self::resolve(
            std::env::var_os("TETHER_HOME"),
            directories::ProjectDirs::from("dev", "Tether", "Tether"),
        )
    }

    /// The directories for a given `TETHER_HOME` and OS conventions.
    pub fn resolve(home: Option<OsString>, project: Option<directories::ProjectDirs>) -> Option<Self> {
        if let Some(home) = home.filter(|h| !h.is_empty()) {
            let namespace = Some(home.to_string_lossy().into_owned());
            let home = PathBuf::from(home);
            return Some(Self {
                config: home.join("config"),
                state: home.join("state"),
                logs: home.join("logs"),
                namespace,
            });
        }
        let p = project?;
        Some(Self {
            config: p.config_dir().to_path_buf(),
            state: p.data_local_dir().to_path_buf(),
            logs: p.data_local_dir().join("logs"),
            namespace: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tether_home_holds_everything() {
        let p = Paths::resolve(Some("/tmp/th".into()), None).unwrap();
        assert_eq!(p.config, PathBuf::from("/tmp/th/config"));
        assert_eq!(p.state, PathBuf::from("/tmp/th/state"));
        assert_eq!(p.logs, PathBuf::from("/tmp/th/logs"));
        assert_eq!(
            p.namespace.as_deref(),
            Some("/tmp/th"),
            "and names the keychain namespace"
        );
    }

    #[test]
    fn an_empty_tether_home_means_the_os_directories() {
        assert_eq!(Paths::resolve(Some("".into()), None), None);
    }
}
